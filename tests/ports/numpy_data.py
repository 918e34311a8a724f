"""Data handling with `jax.numpy` as NumPy users write it: quantiles, histograms, binning
(`digitize`, `searchsorted`, `bincount(length=)`), `interp`, weighted statistics,
covariance, NaN-aware reductions, padding modes, and the static-size forms that work
under `jit` (`unique(size=)`, `nonzero(size=)`, `where(size=)`)."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import random


@partial(jax.jit, static_argnames="size")
def first_positions(x, size):
    (idx,) = jnp.nonzero(x > 0.5, size=size, fill_value=-1)
    return idx


@jax.jit
def label_counts(labels):
    values, counts = jnp.unique(labels, return_counts=True, size=6, fill_value=-1)
    return values, counts, jnp.bincount(labels, length=6)


def run():
    k1, k2, k3 = random.split(random.PRNGKey(99), 3)
    x = random.normal(k1, (40,))
    w = random.uniform(k2, (40,))
    labels = random.randint(k3, (25,), 0, 5)
    table = jnp.stack([x[:10], x[10:20] * 2.0 + x[:10], -x[20:30]])
    with_nan = x[:8].at[jnp.array([1, 5])].set(jnp.nan)
    edges = jnp.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    hist, hist_edges = jnp.histogram(x, bins=5, range=(-2.5, 2.5))
    values, counts, bins = label_counts(labels)
    grid_x, grid_y = jnp.meshgrid(jnp.arange(3.0), jnp.arange(2.0))
    return {
        "quantiles": jnp.quantile(x, jnp.array([0.1, 0.5, 0.9])),
        "percentile": jnp.percentile(x, 75.0),
        "median": jnp.median(table, axis=1),
        "histogram": hist,
        "histogram_edges": hist_edges,
        "digitize": jnp.digitize(x[:10], edges),
        "searchsorted": jnp.searchsorted(edges, jnp.array([-3.0, 0.0, 0.5, 5.0]), side="right"),
        "interp": jnp.interp(jnp.array([-1.5, 0.25, 3.0]), edges, edges ** 2),
        "weighted_average": jnp.average(x, weights=w),
        "average_returned": jnp.stack(jnp.average(table, axis=1, weights=w[:10], returned=True)),
        "cov": jnp.cov(table),
        "corrcoef": jnp.corrcoef(table),
        "nanmean": jnp.nanmean(with_nan),
        "nanstd": jnp.nanstd(with_nan),
        "nanmax": jnp.nanmax(with_nan),
        "std_ddof": jnp.std(table, axis=1, ddof=1),
        "unique_values": values,
        "unique_counts": counts,
        "bincount": bins,
        "nonzero_size": first_positions(x, 8),
        "where_size": jnp.where(labels == 3, size=4, fill_value=99)[0],
        "argsort_stable": jnp.argsort(labels, stable=True),
        "pad_reflect": jnp.pad(jnp.arange(4.0), (2, 3), mode="reflect"),
        "pad_edge": jnp.pad(jnp.arange(4.0).reshape(2, 2), 1, mode="edge"),
        "convolve": jnp.convolve(jnp.array([1.0, 2.0, 3.0]), jnp.array([0.0, 1.0, 0.5])),
        "diff": jnp.diff(x[:6], n=2),
        "cumprod": jnp.cumprod(jnp.array([1.0, 2.0, 3.0, 0.5])),
        "meshgrid": grid_x * 10 + grid_y,
        "kron": jnp.kron(jnp.eye(2), jnp.array([[1.0, 2.0], [3.0, 4.0]])),
        "roll_flip": jnp.stack([jnp.roll(jnp.arange(5.0), 2), jnp.flip(jnp.arange(5.0))]),
        "triu": jnp.triu(jnp.ones((3, 3)), k=1),
        "tril_indices": jnp.stack(jnp.tril_indices(3)),
        "floor_mod": jnp.stack([jnp.floor_divide(jnp.array([-7, 7]), 2),
                                jnp.mod(jnp.array([-7, 7]), 3)]),
        "round_half_even": jnp.round(jnp.array([0.5, 1.5, 2.5, -0.5])),
        "isclose": jnp.isclose(jnp.array([1.0, 1.0001, jnp.nan]), jnp.array([1.0, 1.0, jnp.nan])),
        "polyval": jnp.polyval(jnp.array([1.0, -2.0, 0.5]), jnp.array([0.0, 1.0, 2.0])),
        "outer": jnp.outer(jnp.arange(3.0), jnp.arange(2.0)),
        "clip": jnp.clip(x[:6], -0.5, 0.5),
        "argmax_ties": jnp.argmax(jnp.array([1.0, 3.0, 3.0, 2.0])),
    }


if __name__ == "__main__":
    print(run())
