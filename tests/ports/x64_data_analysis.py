"""Data analysis in double precision, as scientific scripts run it with
`jax.enable_x64(True)`: integer counts and indices (int64 in x64 mode) from `histogram`,
`histogram2d`, `histogramdd`, `bincount(length=)`, `digitize`, `searchsorted`,
`unique(size=, return_inverse=, return_counts=)`, `argsort`, `nonzero(size=)`; summary
statistics of int64 and float64 columns (`mean`, `var(ddof=)`, `median`, `quantile` with
each `method`, `nanmean`/`nanstd`/`nanpercentile`, `cov`/`corrcoef`, `average` with
weights); a polynomial trend by `polyfit` on a time axis (and `polyval`), the
design matrix from `vander` and its rank, norms of integer and float vectors
(`jnp.linalg.norm`, `vector_norm`), `interp` of tabulated data, cumulative sums of int32
columns (`cumsum`, `cumulative_sum(include_initial=)`) and the dtypes JAX gives for each."""
import jax
import jax.numpy as jnp
from jax import random


def run():
    with jax.enable_x64(True):
        key = random.PRNGKey(7)
        k1, k2, k3 = random.split(key, 3)
        temp = 15.0 + 8.0 * random.normal(k1, (40,))
        rain = jnp.exp(random.normal(k2, (40,)))
        days = jnp.arange(40)
        station = random.randint(k3, (40,), 0, 5)
        counts32 = (jnp.arange(12, dtype=jnp.int32) * 7919) % 23

        hist, edges = jnp.histogram(temp, bins=6, range=(-5.0, 35.0))
        h2, xe, ye = jnp.histogram2d(temp, rain, bins=(4, 3))
        hdd, _ = jnp.histogramdd(jnp.stack([temp, rain], axis=1), bins=(3, 2))
        per_station = jnp.bincount(station, length=5)
        rain_station = jnp.bincount(station, weights=rain, length=5)
        bands = jnp.digitize(temp, jnp.array([0.0, 10.0, 20.0, 30.0]))
        sorted_t = jnp.sort(temp)
        pos = jnp.searchsorted(sorted_t, jnp.array([0.0, 15.0, 30.0]), side="right")
        uniq, inv, cnt = jnp.unique(station, size=5, fill_value=-1, return_inverse=True,
                                    return_counts=True)
        hot = jnp.nonzero(temp > 25.0, size=6, fill_value=-1)[0]

        gaps = temp.at[jnp.array([3, 17, 29])].set(jnp.nan)
        coef = jnp.polyfit(days.astype(float), temp, 1)
        trend = jnp.polyval(coef, days[::8])
        v = jnp.vander(jnp.arange(6), 3)
        v32 = jnp.vander(jnp.arange(6, dtype=jnp.int32), 3, increasing=True)
        table_x = jnp.array([0, 10, 20, 30, 40])
        table_y = jnp.array([1.0, 1.5, 1.2, 2.0, 2.5])
        q = jnp.array([0.1, 0.5, 0.9])
        return {
            "hist": hist,
            "hist_edges": edges,
            "hist2d": h2,
            "hist2d_x_edges": xe,
            "histdd": hdd,
            "per_station": per_station,
            "rain_station": rain_station,
            "bands": bands[:12],
            "searchsorted": pos,
            "unique": uniq,
            "unique_inverse": inv[:10],
            "unique_counts": cnt,
            "hot_days": hot,
            "argsort": jnp.argsort(temp[:10]),
            "mean_int": jnp.mean(days),
            "var_ddof": jnp.var(temp, ddof=1),
            "median": jnp.median(temp),
            "quantiles": jnp.stack([jnp.quantile(temp, q, method=m) for m in (
                "linear", "lower", "higher", "nearest", "midpoint")]),
            "nanmean": jnp.nanmean(gaps),
            "nanstd": jnp.nanstd(gaps),
            "nanpercentile": jnp.nanpercentile(gaps, jnp.array([5.0, 95.0])),
            "cov": jnp.cov(temp, rain),
            "corrcoef": jnp.corrcoef(temp, rain)[0, 1],
            "average_w": jnp.average(temp, weights=rain),
            "polyfit": coef,
            "trend": trend,
            "vander_int64": v,
            "vander_int32_sum": jnp.sum(v32),
            "vander_int32": v32,
            "vander_rank": jnp.linalg.matrix_rank(v.astype(float)),
            "vector_norm_int": jnp.linalg.vector_norm(days[:5]),
            "vector_norm_int_ord1": jnp.linalg.vector_norm(days[:5], ord=1),
            "vander_cond": jnp.linalg.cond(v.astype(float)),
            "norm_int": jnp.linalg.norm(days[:5]),
            "norm_float": jnp.linalg.norm(temp[:5], ord=1),
            "vector_norm_float": jnp.linalg.vector_norm(temp[:5]),
            "interp_table": jnp.interp(jnp.array([-5.0, 5.0, 25.0, 45.0]), table_x, table_y),
            "cumsum_int32": jnp.cumsum(counts32),
            "cumulative_sum_int32": jnp.cumulative_sum(counts32, include_initial=True),
            "sum_int32": jnp.sum(counts32),
            "dtypes": " ".join(str(a.dtype) for a in (
                temp, days, station, hist, edges, h2, hdd, per_station, rain_station, bands, pos,
                uniq, inv, cnt, hot, jnp.argsort(temp), jnp.mean(days), coef, v,
                jnp.linalg.norm(days[:5]), jnp.interp(temp, table_x, table_y),
                jnp.cumsum(counts32), jnp.cumulative_sum(counts32), jnp.sum(counts32),
                jnp.argmax(temp), jnp.count_nonzero(temp > 0))),
        }


if __name__ == "__main__":
    print(run())
