"""Batching rules as `jax.vmap` users meet them: batched indices into unbatched arrays
(gathers, `.at[].set/add`, `dynamic_slice`, `dynamic_update_slice`), `in_axes` negative and
`None`, `out_axes=-1`, `axis_size` with no mapped input, nested `vmap` over both axes,
`vmap` of `lax.scan`, `sort`/`argsort`/`searchsorted`/`top_k`/`cumsum` per row, `einsum`
with a trace, a diagonal and ellipses, size-1 and zero-length axes, and `jnp.vectorize`
with a gufunc signature."""
import jax
import jax.numpy as jnp
from jax import lax, random


def running_mean(xs):
    def step(carry, x):
        total, n = carry
        return (total + x, n + 1), (total + x) / (n + 1)
    return lax.scan(step, (0.0, 0.0), xs)[1]


def window(x, start):
    return lax.dynamic_slice(x, (start,), (3,))


def run():
    k1, k2 = random.split(random.PRNGKey(4))
    table = random.normal(k1, (6, 4))
    rows = random.normal(k2, (5, 7))
    idx = jnp.array([3, 0, 5, 5, 1])
    gathered = jax.vmap(lambda i: table[i])(idx)
    gathered_cols = jax.vmap(lambda t, i: t[i], in_axes=(1, 0))(table, jnp.array([1, 5, 2, 0]))
    onehot = jax.vmap(lambda i: jnp.zeros(6).at[i].set(1.0))(idx)
    hist = jax.vmap(lambda i, v: jnp.zeros(4).at[i].add(v))(
        jnp.array([[0, 0, 3], [1, 2, 1]]), jnp.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]))
    windows = jax.vmap(window, in_axes=(None, 0))(jnp.arange(10.0), jnp.array([0, 4, 8, -1]))
    upd = jax.vmap(lambda r, s: lax.dynamic_update_slice(r, jnp.ones(2), (s,)))(
        rows, jnp.array([0, 2, 5, 6, 3]))
    outer = jax.vmap(jax.vmap(lambda a, b: a * b + a, in_axes=(None, 0)), in_axes=(0, None))(
        jnp.arange(3.0), jnp.arange(4.0))
    last_axis = jax.vmap(jnp.sum, in_axes=-1, out_axes=-1)(rows.reshape(5, 7, 1))
    moved = jax.vmap(lambda r: r * 2, in_axes=0, out_axes=-1)(rows[:, :3])
    sized = jax.vmap(lambda: jnp.arange(3.0), axis_size=4)()
    sized_key = jax.vmap(lambda x, k: x + k, in_axes=(None, 0))(1.0, jnp.arange(3.0))
    scanned = jax.vmap(running_mean)(rows)
    scanned_t = jax.vmap(running_mean, in_axes=1, out_axes=1)(rows)
    edges = jnp.linspace(-2.0, 2.0, 5)
    a = jnp.arange(27.0).reshape(3, 3, 3)
    square = jnp.arange(16.0).reshape(4, 4)
    poly = jnp.vectorize(lambda c, x: jnp.polyval(c, x), signature="(n),()->()")
    return {
        "gathered": gathered, "gathered_cols": gathered_cols, "onehot": onehot, "hist": hist,
        "windows": windows, "dynamic_update": upd, "outer": outer,
        "last_axis": last_axis, "out_axes_last": moved, "axis_size": sized,
        "broadcast_scalar": sized_key, "scan_rows": scanned, "scan_cols": scanned_t,
        "sorted": jax.vmap(jnp.sort)(rows), "argsort": jax.vmap(jnp.argsort)(rows),
        "searchsorted": jax.vmap(lambda r: jnp.searchsorted(edges, r))(rows),
        "top2": jax.vmap(lambda r: lax.top_k(r, 2)[1])(rows),
        "cumsum_rows": jax.vmap(jnp.cumsum, in_axes=1, out_axes=1)(rows),
        "trace": jnp.einsum("ii", square), "diagonal": jnp.einsum("ii->i", square),
        "batched_trace": jnp.einsum("bii->b", a),
        "ellipsis": jnp.einsum("...ij,...jk->...ik", a, a),
        "outer_einsum": jnp.einsum("i,j->ij", jnp.arange(3.0), jnp.arange(2.0)),
        "size_one": jnp.einsum("ij,jk->ik", rows[:, :1], jnp.ones((1, 2))),
        "zero_length": jax.vmap(jnp.sum)(jnp.zeros((3, 0))),
        "empty_batch": jax.vmap(lambda r: r * 2)(jnp.zeros((0, 4))),
        "vectorize_poly": poly(jnp.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]]),
                               jnp.array([[3.0], [0.5]])),
        "grad_of_vmap_gather": jax.grad(lambda t: jnp.sum(jax.vmap(lambda i: t[i])(idx) ** 2))(
            table),
    }


if __name__ == "__main__":
    print(run())
