"""Forward and reverse mode through indexed reads and writes, as JAX's autodiff cookbook
checks a function: `jacfwd` against `jacrev`, `hessian`, `vmap` of `grad`, and `grad` at
inputs with ties, for gathers with repeated indices, `.at[].add`/`.set` (repeated
indices: only the update that lands has a derivative)/`.multiply`/`.min`/`.max`,
`take_along_axis`, `sort` and `argsort`-driven gathers, `segment_sum`/`segment_max`,
`dynamic_slice`/`dynamic_update_slice`, masks with `where`, gathers from `cumsum`/
`cumprod`, an elementwise `max` of a vector and its reverse, and products of gathered
rows."""
import jax
import jax.numpy as jnp
from jax import lax
from jax.ops import segment_max, segment_sum

v = jnp.array([0.5, -1.0, 2.0, 3.0, -0.25, 1.5])
idx = jnp.array([4, 0, 4, 2])
seg = jnp.array([0, 0, 1, 2, 2, 2])


def f_gather(x):
    return x[idx] * x[::-1][:4]


def f_scatter_add(x):
    return jnp.zeros(5).at[jnp.array([1, 1, 3, 0, 3, 4])].add(x * x)


def f_scatter_set_dup(x):
    return jnp.ones(4).at[jnp.array([2, 2, 0, 1, 3, 3])].set(x ** 3)


def f_scatter_mul(x):
    return x.at[jnp.array([0, 2, 5])].multiply(jnp.array([2.0, -1.0, 3.0])) * x


def f_scatter_min(x):
    return jnp.full(3, 1.0).at[jnp.array([0, 0, 1, 1, 2, 2])].min(x)


def f_scatter_max(x):
    return x.at[jnp.array([1, 1, 4])].max(jnp.array([0.0, 2.5, -1.0]))


def f_take_along(x):
    y = x.reshape(2, 3)
    return jnp.take_along_axis(y, jnp.array([[2, 0], [1, 1]]), axis=1).ravel() ** 2


def f_sort(x):
    return jnp.sort(x) * jnp.arange(6.0)


def f_argsort_gather(x):
    return x[jnp.argsort(-x)][:3] ** 2


def f_segment(x):
    return jnp.concatenate([segment_sum(x ** 2, seg, num_segments=4), segment_max(x, seg, num_segments=3)])


def f_dyn(x):
    return lax.dynamic_update_slice(x, lax.dynamic_slice(x, (3,), (2,)) * 2.0, (4,))


def f_where_mask(x):
    return jnp.where(x > 0, x, 0.1 * x) * x[jnp.array([5, 5, 5, 0, 0, 0])]


def f_cumsum_idx(x):
    return jnp.cumsum(x)[jnp.array([5, 2])] * jnp.cumprod(x)[jnp.array([3, 1])]


def f_max_ties(x):
    return jnp.max(jnp.stack([x, x[::-1]]), axis=0)


def f_matrix_rows(x):
    y = x.reshape(2, 3)
    return (y[:, jnp.array([0, 0])] @ y[jnp.array([1, 0])]).ravel()


def sum_sq(f):
    return lambda x: jnp.sum(f(x) ** 2)


FUNCS = {"gather": f_gather, "scatter_add": f_scatter_add, "scatter_set_dup": f_scatter_set_dup,
         "scatter_mul": f_scatter_mul, "scatter_min": f_scatter_min, "scatter_max": f_scatter_max,
         "take_along": f_take_along, "sort": f_sort, "argsort_gather": f_argsort_gather,
         "segment": f_segment, "dyn": f_dyn, "where_mask": f_where_mask, "cumsum_idx": f_cumsum_idx,
         "max_ties": f_max_ties, "matrix_rows": f_matrix_rows}


def run():
    vt = jnp.array([1.0, 2.0, 2.0, 3.0, 1.0, 2.0])    # ties
    batch = jnp.stack([v, v[::-1] * 2.0, -v])
    out = {}
    for name, fn in FUNCS.items():
        out[f"jacfwd_{name}"] = jax.jacfwd(fn)(v)
        out[f"jacrev_{name}"] = jax.jacrev(fn)(v)
        out[f"hessian_{name}"] = jax.hessian(sum_sq(fn))(v)
        out[f"vmap_grad_{name}"] = jax.vmap(jax.grad(sum_sq(fn)))(batch)
        out[f"grad_ties_{name}"] = jax.grad(sum_sq(fn))(vt)
    return out


if __name__ == "__main__":
    print(run())
