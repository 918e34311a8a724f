"""The `jax.lax` operations JAX's documentation reaches for beyond control flow: dynamic
slicing and updates, `top_k`, `associative_scan`, cumulative reductions, `lax.map`,
`dot_general` with batch dimensions, `sort` with several operands, `pad` with interior
padding, `reduce`, `select`/`clamp`, and `jax.checkpoint` with `jax.tree_util.Partial`."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax
from jax.tree_util import Partial


@jax.jit
def window_sums(x, starts):
    return jax.vmap(lambda s: jnp.sum(lax.dynamic_slice(x, (s, 0), (2, 3))))(starts)


@partial(jax.jit, static_argnums=1)
def top_values(x, k):
    values, indices = lax.top_k(x, k)
    return values, indices


def mlp_layer(w, x):
    return jnp.tanh(x @ w)


def deep(ws, x):
    for w in ws:
        x = jax.checkpoint(mlp_layer)(w, x)
    return jnp.sum(x ** 2)


def apply(f, x):
    return f(x)


def run():
    x = jnp.arange(24.0).reshape(4, 6) / 7.0
    updated = lax.dynamic_update_slice(x, jnp.full((2, 2), -1.0), (1, 3))
    row = lax.dynamic_slice_in_dim(x, 2, 1, axis=0)
    index_clamped = lax.dynamic_slice(x, (3, 5), (2, 2))  # starts clamp into range
    vals, idx = top_values(jnp.array([3.0, 1.0, 4.0, 1.5, 9.0, 2.6]), 3)
    prefix = lax.associative_scan(jnp.add, jnp.arange(1.0, 9.0))
    prefix_max = lax.associative_scan(jnp.maximum, jnp.array([2.0, 1.0, 5.0, 3.0, 7.0, 0.0]))
    a = jnp.arange(24.0).reshape(2, 3, 4)
    b = jnp.arange(40.0).reshape(2, 4, 5) / 10.0
    batched = lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,))))
    keys = jnp.array([3, 1, 2, 1])
    sorted_keys, sorted_vals = lax.sort((keys, jnp.array([10.0, 20.0, 30.0, 40.0])), num_keys=1)
    padded = lax.pad(jnp.array([1.0, 2.0, 3.0]), 0.0, [(1, 2, 1)])
    reduced = lax.reduce(x, -jnp.inf, lax.max, (1,))
    mapped = lax.map(lambda r: jnp.sum(jnp.sin(r)), x)
    ws = [jnp.eye(3) * 0.5 + 0.1 * i for i in range(3)]
    remat_grad = jax.grad(deep)(ws, jnp.array([1.0, -1.0, 0.5]))
    scaled = Partial(jnp.multiply, 3.0)
    return {
        "window_sums": window_sums(x, jnp.array([0, 1, 2])),
        "dynamic_update_slice": updated,
        "dynamic_slice_in_dim": row,
        "clamped_slice": index_clamped,
        "top_k_values": vals,
        "top_k_indices": idx,
        "cumsum_scan": prefix,
        "cummax_scan": prefix_max,
        "cumsum": lax.cumsum(jnp.arange(5.0), reverse=True),
        "cummax": lax.cummax(jnp.array([1, 3, 2, 5, 4])),
        "cumprod": lax.cumprod(jnp.array([1.0, 2.0, 0.5, 4.0])),
        "dot_general_batch": batched,
        "sorted_keys": sorted_keys,
        "sorted_values": sorted_vals,
        "pad_interior": padded,
        "reduce_max": reduced,
        "lax_map": mapped,
        "select": lax.select(x > 1.0, x, -x),
        "clamp": lax.clamp(0.5, x, 2.0),
        "integer_pow": lax.integer_pow(x[0], 3),
        "rsqrt": lax.rsqrt(x[1]),
        "remat_grad_0": remat_grad[0],
        "remat_grad_2": remat_grad[2],
        "partial_jit": jax.jit(apply)(scaled, jnp.arange(3.0)),
        "stop_gradient": jax.grad(lambda x: x * lax.stop_gradient(x) ** 2)(3.0),
        "iota": lax.iota(jnp.int32, 5),
        "broadcast_in_dim": lax.broadcast_in_dim(jnp.array([1.0, 2.0]), (3, 2), (1,)),
        "rev": lax.rev(x[:2], (0, 1)),
        "slice_strided": lax.slice(x, (0, 1), (4, 6), (2, 2)),
        "concatenate": lax.concatenate([x[:1], x[3:]], 0),
    }


if __name__ == "__main__":
    print(run())
