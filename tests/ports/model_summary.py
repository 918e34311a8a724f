"""Inspecting a model before training, as JAX scripts print a parameter summary: the
parameters' shapes from `jax.eval_shape` of the initialiser (no computation), a table of
names from `tree_flatten_with_path`/`keystr` with shapes, dtypes, sizes and bytes
(`math.prod`, `jnp.dtype(...).itemsize`, bfloat16 and int8 leaves included), the repr and str of
`jax.ShapeDtypeStruct` leaves (and `.update(shape=...)`) in a printed tree, parameter counts per top-level module,
`eval_shape` of the forward pass over `ShapeDtypeStruct` inputs (a batch dimension that
never gets allocated), checking that a concrete initialisation has the abstract
structure (`jax.tree.structure` equality and shape-by-shape comparison), `jax.tree.map`
between abstract and concrete trees, and the memory of an Adam state computed from the
abstract tree."""
import math

import jax
import jax.numpy as jnp
from jax import random
from jax.tree_util import keystr, tree_flatten_with_path


def init(key):
    k1, k2, k3 = random.split(key, 3)
    return {
        "embed": {"table": random.normal(k1, (50, 8)).astype(jnp.bfloat16)},
        "blocks": [{"w": random.normal(k2, (8, 8)) * 0.1, "b": jnp.zeros(8),
                    "scale_q": jnp.ones(8, jnp.int8)} for _ in range(2)],
        "head": {"w": random.normal(k3, (8, 5)) * 0.1},
    }


def forward(params, tokens):
    h = params["embed"]["table"][tokens].astype(jnp.float32)
    for blk in params["blocks"]:
        h = jnp.tanh(h @ blk["w"] + blk["b"]) * blk["scale_q"]
    return h.mean(axis=1) @ params["head"]["w"]


def run():
    key = random.PRNGKey(0)
    abstract = jax.eval_shape(init, key)
    rows = []
    for path, leaf in tree_flatten_with_path(abstract)[0]:
        size = math.prod(leaf.shape)
        rows.append(f"{keystr(path)} {leaf.shape} {leaf.dtype} {size} "
                    f"{size * jnp.dtype(leaf.dtype).itemsize}")
    per_module = {k: sum(math.prod(x.shape) for x in jax.tree.leaves(v))
                  for k, v in abstract.items()}
    batch = jax.ShapeDtypeStruct((1024, 16), jnp.int32)
    out = jax.eval_shape(forward, abstract, batch)
    concrete = init(key)
    same = jax.tree.map(lambda a, c: a.shape == c.shape and a.dtype == c.dtype,
                        abstract, concrete)
    float_leaves = [x for x in jax.tree.leaves(abstract)
                    if jnp.issubdtype(x.dtype, jnp.floating)]
    adam_bytes = 2 * sum(math.prod(x.shape) * 4 for x in float_leaves)
    return {
        "summary": "\n".join(rows),
        "head_repr": repr(abstract["head"]),
        "tree_repr": str(jax.tree.map(lambda x: x, abstract["blocks"][0])),
        "per_module": jnp.array([per_module["embed"], per_module["blocks"],
                                 per_module["head"]]),
        "total_params": jnp.array(sum(per_module.values())),
        "forward_shape": jnp.array(out.shape),
        "forward_dtype": str(out.dtype),
        "forward_repr": repr(out),
        "structure_equal": jnp.array(jax.tree.structure(abstract) ==
                                     jax.tree.structure(concrete)),
        "leaves_match": jnp.array(jax.tree.leaves(same)),
        "adam_bytes": jnp.array(adam_bytes),
        "itemsizes": jnp.array([jnp.dtype(d).itemsize for d in
                                (jnp.bfloat16, jnp.int8, jnp.float32, jnp.float16)]),
        "nbytes_concrete": jnp.array([x.nbytes for x in jax.tree.leaves(concrete)]),
        "leaf_str": str(abstract["head"]["w"]),
        "leaf_format": f"{out}",
        "updated_repr": repr(abstract["head"]["w"].update(shape=(16, 5))),
        "updated_type": type(abstract["head"]["w"].update(dtype=jnp.bfloat16)).__name__,
        "forward_concrete": forward(concrete, jnp.arange(12).reshape(3, 4) % 50),
    }


if __name__ == "__main__":
    print(run())
