"""Gather- and scatter-heavy data code as JAX users write it: group sums, counts, maxima
and means by segment id with `.at[]` (repeated indices), `jnp.bincount(length=)`,
`jnp.searchsorted` both sides, `jnp.argsort` (stable, descending) and `lax.top_k` with
ties, `jnp.take_along_axis`, `jnp.unique(size=, fill_value=)` with inverse and counts,
boolean masks with `jnp.where`, and a k-nearest-neighbour vote under `jit` and `vmap`."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax, random


@partial(jax.jit, static_argnums=2)
def group_stats(values, ids, n_groups):
    sums = jnp.zeros(n_groups).at[ids].add(values)
    counts = jnp.bincount(ids, length=n_groups)
    maxes = jnp.full(n_groups, -jnp.inf).at[ids].max(values)
    mins = jnp.full(n_groups, jnp.inf).at[ids].min(values)
    means = jnp.where(counts > 0, sums / jnp.maximum(counts, 1), jnp.nan)
    return sums, counts, maxes, mins, means


@partial(jax.jit, static_argnames="k")
def knn_vote(train_x, train_y, query, k=3):
    d2 = jnp.sum((train_x[None, :, :] - query[:, None, :]) ** 2, axis=-1)
    _, idx = lax.top_k(-d2, k)
    votes = jax.vmap(lambda labels: jnp.bincount(labels, length=4))(train_y[idx])
    return jnp.argmax(votes, axis=1), idx


def run():
    k1, k2, k3, k4 = random.split(random.PRNGKey(5), 4)
    values = jnp.round(random.normal(k1, (17,)) * 4) / 4
    ids = random.randint(k2, (17,), 0, 5)             # group 5 stays empty
    sums, counts, maxes, mins, means = group_stats(values, ids, 6)

    edges = jnp.array([-1.0, -0.25, 0.0, 0.0, 0.5, 2.0])
    ties = jnp.array([2, 7, 2, 9, 7, 1, 7, 3])
    order = jnp.argsort(ties, stable=True)
    order_desc = jnp.argsort(ties, stable=True, descending=True)
    top_vals, top_idx = lax.top_k(ties, 4)
    uniq, inverse, ucounts = jnp.unique(ties, return_inverse=True, return_counts=True, size=6,
                                        fill_value=-1)
    matrix = random.normal(k3, (4, 7))
    col_order = jnp.argsort(matrix, axis=1)
    sorted_rows = jnp.take_along_axis(matrix, col_order, axis=1)
    ranks = jnp.zeros_like(col_order).at[jnp.arange(4)[:, None], col_order].set(
        jnp.broadcast_to(jnp.arange(7), (4, 7)))
    positive = jnp.where(matrix > 0, matrix, 0.0)
    masked_mean = jnp.sum(positive, axis=1) / jnp.sum(matrix > 0, axis=1)
    train_x = random.normal(k4, (12, 2))
    train_y = jnp.arange(12) % 4
    pred, nn_idx = knn_vote(train_x, train_y, train_x[:5] + 0.01)
    scatter_mul = jnp.ones(4).at[jnp.array([0, 1, 1, 3, 3, 3])].multiply(2.0)
    gather_grad = jax.grad(lambda v: jnp.sum(v[ids] ** 2))(jnp.arange(5.0))
    return {
        "sums": sums, "counts": counts, "maxes": maxes, "mins": mins, "means": means,
        "searchsorted_left": jnp.searchsorted(edges, values),
        "searchsorted_right": jnp.searchsorted(edges, values, side="right"),
        "digitize": jnp.digitize(values, edges),
        "argsort": order, "argsort_desc": order_desc,
        "top_k_values": top_vals, "top_k_indices": top_idx,
        "unique": uniq, "unique_inverse": inverse, "unique_counts": ucounts,
        "sorted_rows": sorted_rows, "ranks": ranks, "masked_mean": masked_mean,
        "argmax_rows": jnp.argmax(matrix, axis=1), "argmin_cols": jnp.argmin(matrix, axis=0),
        "knn_pred": pred, "knn_idx": nn_idx,
        "scatter_mul": scatter_mul,
        "gather_grad": gather_grad,
        "nonzero": jnp.nonzero(ties == 7, size=4, fill_value=-1)[0],
        "empty_bincount": jnp.bincount(jnp.zeros(0, jnp.int32), length=3),
        "empty_sum": jnp.zeros(3).at[jnp.zeros(0, jnp.int32)].add(jnp.zeros(0)),
        "lexsort": jnp.lexsort((values, ids)),
    }


if __name__ == "__main__":
    print(run())
