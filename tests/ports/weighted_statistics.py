"""Descriptive statistics as data-analysis code computes them with `jax.numpy`: `cov`
with `rowvar=False`, `bias`, `ddof`, frequency weights `fweights` and reliability weights
`aweights`, `corrcoef` of rows and columns, `average` with weights along an axis and
`returned=True`, `histogram` with explicit edges, `range=`, `density=True` and weights,
`histogram_bin_edges`, `histogramdd`, `quantile`/`percentile` with every `method` and
tuple axes with `keepdims`, `nanpercentile`, `median` along axes, weighted `bincount`,
`digitize` with decreasing bins, `ptp`, and z-scores with `std(ddof=1)`."""
import jax.numpy as jnp
from jax import random


def run():
    key = random.PRNGKey(17)
    data = random.normal(key, (30, 3)) * jnp.array([1.0, 2.0, 0.5]) + jnp.array([0.0, 1.0,
                                                                                 -1.0])
    fw = (jnp.arange(30) % 3 + 1)
    aw = jnp.linspace(0.1, 1.0, 30)
    vals = data[:, 0]
    cube = data[:24].reshape(2, 3, 4, 3)[..., 0]
    with_nan = vals.at[jnp.array([2, 5])].set(jnp.nan)
    hist, edges = jnp.histogram(vals, bins=jnp.array([-3.0, -1.0, 0.0, 0.5, 3.0]),
                                weights=aw)
    dens, _ = jnp.histogram(vals, bins=6, range=(-2.0, 2.0), density=True)
    hdd, _ = jnp.histogramdd(data[:, :2], bins=(3, 2), range=((-2, 2), (-3, 5)))
    avg, wsum = jnp.average(data, axis=0, weights=aw, returned=True)
    methods = ("linear", "lower", "higher", "midpoint", "nearest")
    return {
        "cov_rowvar": jnp.cov(data, rowvar=False),
        "cov_bias": jnp.cov(data.T, bias=True),
        "cov_ddof": jnp.cov(data.T, ddof=0),
        "cov_fweights": jnp.cov(data.T, fweights=fw),
        "cov_aweights": jnp.cov(data.T, aweights=aw),
        "cov_both": jnp.cov(data.T, fweights=fw, aweights=aw),
        "corrcoef": jnp.corrcoef(data, rowvar=False),
        "corrcoef_xy": jnp.corrcoef(data[:, 0], data[:, 1]),
        "average": avg,
        "average_sum": wsum,
        "hist_weights": hist,
        "hist_edges": edges,
        "hist_density": dens,
        "bin_edges": jnp.histogram_bin_edges(vals, bins=4),
        "histogramdd": hdd,
        "quantiles": jnp.stack([jnp.quantile(vals, jnp.array([0.1, 0.5, 0.93]), method=m)
                                for m in methods]),
        "percentile_axes": jnp.percentile(cube, 40.0, axis=(0, 2), keepdims=True),
        "nanpercentile": jnp.nanpercentile(with_nan, jnp.array([25.0, 75.0])),
        "median_axis": jnp.median(cube, axis=1),
        "bincount_weights": jnp.bincount(fw, weights=aw, length=5),
        "digitize_decreasing": jnp.digitize(jnp.array([-2.0, 0.0, 0.2, 5.0]),
                                            jnp.array([3.0, 0.5, 0.0, -1.0])),
        "ptp": jnp.ptp(data, axis=0),
        "zscores": ((data - data.mean(axis=0)) / data.std(axis=0, ddof=1))[:5],
    }


if __name__ == "__main__":
    print(run())
