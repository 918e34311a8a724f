"""Registering your own pytree types, each way JAX's pytree docs show:
`register_dataclass` as a decorator (a static field from `metadata`) and called with
`data_fields=`/`meta_fields=`, `register_pytree_with_keys_class` (keys in paths),
`register_pytree_node_class`, `register_static`, NamedTuples; then `flatten_with_path` and
`keystr` (also `simple=True, separator=`), `tree.map` with `is_leaf` stopping at a custom
node, `tree.leaves_with_path`, `tree.reduce`, treedef printing, and the types through
`jit`, `grad` and `vmap`."""
import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import tree_util


class Stats(NamedTuple):
    mean: jnp.ndarray
    var: jnp.ndarray


@tree_util.register_dataclass
@dataclasses.dataclass
class Linear:
    w: jnp.ndarray
    b: jnp.ndarray
    activation: str = dataclasses.field(default="tanh", metadata=dict(static=True))

    def __call__(self, x):
        y = x @ self.w + self.b
        return jnp.tanh(y) if self.activation == "tanh" else y


@dataclasses.dataclass
class SGDState:
    lr: float
    momentum: jnp.ndarray
    count: jnp.ndarray


tree_util.register_dataclass(SGDState, data_fields=["momentum", "count"], meta_fields=["lr"])


@tree_util.register_pytree_with_keys_class
class Residual:
    def __init__(self, inner, gate):
        self.inner = inner
        self.gate = gate

    def tree_flatten_with_keys(self):
        return (((tree_util.GetAttrKey("inner"), self.inner),
                 (tree_util.GetAttrKey("gate"), self.gate)), None)

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)

    def __call__(self, x):
        return x + self.gate * self.inner(x)


@tree_util.register_pytree_node_class
class Scale:
    def __init__(self, factor, name):
        self.factor = factor
        self.name = name

    def tree_flatten(self):
        return (self.factor,), self.name

    @classmethod
    def tree_unflatten(cls, name, children):
        return cls(children[0], name)


@tree_util.register_static
class Config:
    def __init__(self, depth):
        self.depth = depth

    def __hash__(self):
        return hash(self.depth)

    def __eq__(self, other):
        return isinstance(other, Config) and other.depth == self.depth


def run():
    model = {
        "block": Residual(Linear(jnp.eye(2) * 0.5, jnp.array([0.1, -0.1])), jnp.array(0.5)),
        "head": Linear(jnp.array([[1.0], [-1.0]]), jnp.zeros(1), activation="none"),
        "scale": Scale(jnp.array(2.0), "out"),
        "stats": Stats(jnp.zeros(2), jnp.ones(2)),
        "config": Config(2),
    }
    opt = SGDState(0.1, jax.tree.map(jnp.zeros_like, model["block"]), jnp.array(0))

    flat, treedef = tree_util.tree_flatten_with_path(model)
    paths = [tree_util.keystr(p) for p, _ in flat]
    simple = [tree_util.keystr(p, simple=True, separator="/") for p, _ in flat]

    def forward(m, x):
        h = m["block"](x)
        h = (h - m["stats"].mean) / jnp.sqrt(m["stats"].var)
        return m["head"](h)[..., 0] * m["scale"].factor

    x = jnp.array([[1.0, 2.0], [-0.5, 0.25], [0.0, 1.0]])
    loss = lambda m: jnp.mean(forward(m, x) ** 2)
    grads = jax.jit(jax.grad(loss))(model)
    block_grads = grads["block"]
    momentum = jax.tree.map(lambda m, g: 0.9 * m + g, opt.momentum, block_grads)
    opt = SGDState(opt.lr, momentum, opt.count + 1)
    new_block = jax.tree.map(lambda p, m: p - opt.lr * m, model["block"], opt.momentum)

    linears = jax.tree.leaves(model, is_leaf=lambda n: isinstance(n, Linear))
    n_linear = sum(isinstance(n, Linear) for n in linears)
    norms = jax.tree.map(lambda n: jnp.sum(n.w ** 2) if isinstance(n, Linear) else None, model,
                         is_leaf=lambda n: isinstance(n, Linear))
    batched = jax.vmap(lambda lin, v: lin(v), in_axes=(Linear(0, 0, "tanh"), 0))(
        Linear(jnp.stack([jnp.eye(2), 2 * jnp.eye(2)]), jnp.ones((2, 2))), x[:2])
    return {
        "paths": " ".join(paths),
        "paths_simple": " ".join(simple),
        "num_leaves": jnp.array(treedef.num_leaves if hasattr(treedef, "num_leaves")
                                else len(flat)),
        "opt_structure": str(jax.tree.structure(opt)),
        "linear_structure": str(jax.tree.structure(model["head"])),
        "scale_structure": str(jax.tree.structure(model["scale"])),
        "opt_paths": " ".join(tree_util.keystr(p)
                              for p, _ in jax.tree.leaves_with_path(opt)),
        "forward": forward(model, x),
        "grad_w": block_grads.inner.w, "grad_gate": block_grads.gate,
        "grad_scale": grads["scale"].factor, "grad_stats_var": grads["stats"].var,
        "new_w": new_block.inner.w, "opt_count": opt.count,
        "n_linear": jnp.array(n_linear),
        "norm_head": norms["head"], "norm_block_w": norms["block"].inner,
        "total": jax.tree.reduce(lambda a, b: a + jnp.sum(b), model, 0.0),
        "batched_linear": batched,
        "static_activation": model["head"].activation + "/" + grads["head"].activation,
    }


if __name__ == "__main__":
    print(run())
