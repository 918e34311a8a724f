"""Working with pytrees (JAX's "working with pytrees" tutorial): `jax.tree.map` over several
trees and with `is_leaf`, paths and `keystr`, `tree_transpose`, custom nodes with keys and
dataclasses, None as an empty subtree, and pytrees through `jit`, `vmap` and `grad`."""
import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import tree_util


class Point(NamedTuple):
    x: jnp.ndarray
    y: jnp.ndarray


@tree_util.register_dataclass
@dataclasses.dataclass
class Layer:
    weight: jnp.ndarray
    bias: jnp.ndarray
    name: str = dataclasses.field(metadata={"static": True}, default="dense")


class Box:
    def __init__(self, lo, hi):
        self.lo = lo
        self.hi = hi


tree_util.register_pytree_with_keys(
    Box,
    lambda b: (((tree_util.GetAttrKey("lo"), b.lo), (tree_util.GetAttrKey("hi"), b.hi)), None),
    lambda _, children: Box(*children),
)


def run():
    params = {
        "layers": [Layer(jnp.ones((2, 3)), jnp.zeros(3)), Layer(jnp.full((3, 1), 0.5), jnp.ones(1))],
        "point": Point(jnp.array(1.0), jnp.array([2.0, 3.0])),
        "box": Box(jnp.array(-1.0), jnp.array(1.0)),
        "unused": None,
    }
    leaves, treedef = jax.tree.flatten(params)
    doubled = jax.tree.map(lambda p: 2 * p, params)
    summed = jax.tree.map(lambda a, b: a + b, params, doubled)
    paths = [tree_util.keystr(path) for path, _ in tree_util.tree_flatten_with_path(params)[0]]
    with_paths = jax.tree_util.tree_map_with_path(
        lambda path, leaf: jnp.sum(leaf) * len(path), params)
    points = [Point(jnp.array(float(i)), jnp.array([i, -i], dtype=jnp.float32)) for i in range(3)]
    transposed = tree_util.tree_transpose(
        tree_util.tree_structure([0, 0, 0]), tree_util.tree_structure(Point(0, 0)), points)
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *points)
    pairs = jax.tree.map(lambda p: (p, p + 1), {"a": jnp.array(1.0), "b": jnp.array(2.0)})
    firsts = jax.tree.map(lambda p: p[0], pairs, is_leaf=lambda n: isinstance(n, tuple))

    def loss(params, x):
        h = x
        for layer in params["layers"]:
            h = jnp.tanh(h @ layer.weight + layer.bias)
        return jnp.sum(h * params["point"].y[0]) + params["box"].hi * params["point"].x

    grads = jax.jit(jax.grad(loss))(params, jnp.array([[0.5, -0.5]]))
    batched = jax.vmap(lambda p: p.x * p.y)(stacked)
    total = jax.tree.reduce(lambda a, b: a + jnp.sum(b), params, 0.0)
    return {
        "n_leaves": len(leaves),
        "num_nodes": treedef.num_nodes,
        "paths": "\n".join(paths),
        "treedef_leaves_match": treedef.num_leaves == len(leaves),
        "summed_layer0_weight": summed["layers"][0].weight,
        "summed_box_hi": summed["box"].hi,
        "with_paths": jnp.stack(jax.tree.leaves(with_paths)),
        "transposed_x": jnp.stack(transposed.x),
        "stacked_y": stacked.y,
        "firsts": jnp.stack([firsts["a"], firsts["b"]]),
        "grad_layer0_weight": grads["layers"][0].weight,
        "grad_layer1_bias": grads["layers"][1].bias,
        "grad_point_x": grads["point"].x,
        "grad_box_hi": grads["box"].hi,
        "grad_layer_name": grads["layers"][1].name,
        "grad_unused_is_none": grads["unused"] is None,
        "vmap_namedtuple": batched,
        "tree_reduce": total,
        "all_positive": jax.tree.all(jax.tree.map(lambda p: bool(jnp.all(p >= -1)), params)),
        "structure_str": str(jax.tree.structure(Point(1, {"a": 2, "b": None}))),
    }


if __name__ == "__main__":
    print(run())
