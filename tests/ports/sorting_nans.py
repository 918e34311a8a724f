"""Sorting and searching beyond the basics: `jnp.sort`/`argsort` along each axis with NaNs
and infinities (NaNs last), `descending=True` and `stable`, `jnp.partition` and
`jnp.argpartition` (compared through what they guarantee), `lax.top_k` of rows with NaNs,
`jnp.lexsort` of several keys, `jnp.searchsorted` with `side` and `method`, sorting
complex numbers, `jnp.unique` with `size=`/`fill_value=`/`return_index`, `nanargmax`,
`nanmedian`, `nanquantile` with each `method`, `jnp.sort_complex`, and a median filter's
gradient."""
import jax
import jax.numpy as jnp
from jax import lax, random


def median_filter(x, width=3):
    pad = width // 2
    xp = jnp.pad(x, pad, mode="edge")
    windows = jnp.stack([xp[i:i + x.shape[0]] for i in range(width)], axis=1)
    return jnp.sort(windows, axis=1)[:, pad]


def run():
    key = random.PRNGKey(3)
    m = random.normal(key, (4, 6))
    m = m.at[0, 2].set(jnp.nan).at[2, 0].set(jnp.inf).at[3, 5].set(-jnp.inf)
    m = m.at[1, 4].set(jnp.nan)
    v = jnp.array([3.0, jnp.nan, -1.0, 2.0, jnp.nan, -jnp.inf, 2.0, 0.0])
    ints = jnp.array([5, 1, 4, 1, 5, 9, 2, 6, 5, 3])
    part = jnp.partition(ints, 3)
    apart = jnp.argpartition(ints, 3)
    grid = jnp.array([0.0, 1.0, 1.0, 2.5, 4.0])
    q = jnp.array([-1.0, 0.0, 1.0, 1.5, 4.0, 9.0])
    key1 = jnp.array([1, 1, 0, 0, 2, 1])
    key2 = jnp.array([3, 1, 2, 2, 0, 1])
    cx = jnp.array([1 + 2j, 1 - 1j, -3 + 0j, 1 + 0j])
    vals, idx = lax.top_k(jnp.where(jnp.isnan(m), -jnp.inf, m), 3)
    uv, ui, uinv, uc = jnp.unique(jnp.array([3, 1, 3, 7, 1, 1]), size=5, fill_value=-1,
                                  return_index=True, return_inverse=True, return_counts=True)
    sig = jnp.sin(jnp.linspace(0.0, 3.0, 9)) + jnp.array([0, 0, 1.0, 0, 0, -1.0, 0, 0, 0])
    return {
        "sort_axis1": jnp.sort(m, axis=1),
        "sort_axis0": jnp.sort(m, axis=0),
        "sort_none": jnp.sort(m, axis=None)[:8],
        "argsort_nan": jnp.argsort(v),
        "argsort_desc": jnp.argsort(v, descending=True),
        "argsort_desc_stable": jnp.argsort(jnp.array([2, 1, 2, 3, 1]), descending=True,
                                           stable=True),
        "sort_desc": jnp.sort(v, descending=True),
        "partition_kth": part[3],
        "partition_low_ok": jnp.all(part[:3] <= part[3]),
        "partition_high_ok": jnp.all(part[4:] >= part[3]),
        "argpartition_kth": ints[apart[3]],
        "argpartition_sorted_low": jnp.sort(ints[apart[:3]]),
        "argpartition_axis": jnp.sort(jnp.take_along_axis(
            m[2:], jnp.argpartition(m[2:], 2, axis=1), axis=1)[:, :2], axis=1),
        "top_k_vals": vals,
        "top_k_idx": idx,
        "lexsort": jnp.lexsort((key2, key1)),
        "lexsort_axis0": jnp.lexsort(jnp.stack([key2, key1])),
        "ss_left": jnp.searchsorted(grid, q),
        "ss_right": jnp.searchsorted(grid, q, side="right"),
        "ss_scan": jnp.searchsorted(grid, q, side="right", method="scan"),
        "ss_sort": jnp.searchsorted(grid, q, method="sort"),
        "ss_compare_all": jnp.searchsorted(grid, q, side="left", method="compare_all"),
        "ss_nan": jnp.searchsorted(jnp.array([0.0, 1.0, jnp.nan]), jnp.array([jnp.nan, 0.5])),
        "sort_complex_re": jnp.real(jnp.sort(cx)),
        "sort_complex_im": jnp.imag(jnp.sort(cx)),
        "unique": uv,
        "unique_index": ui,
        "unique_inverse": uinv,
        "unique_counts": uc,
        "unique_nan": jnp.unique(jnp.array([jnp.nan, 1.0, jnp.nan, 0.0])),
        "nanargmax": jnp.nanargmax(m, axis=1),
        "nanargmin": jnp.nanargmin(v),
        "argmax_nan": jnp.argmax(m, axis=1),
        "max_nan": jnp.max(m, axis=1),
        "nanmax": jnp.nanmax(m, axis=1),
        "nanmedian": jnp.nanmedian(m, axis=1),
        "median_nan": jnp.median(m, axis=1),
        "nanquantile_linear": jnp.nanquantile(v, jnp.array([0.1, 0.5, 0.9])),
        "quantile_methods": jnp.stack([jnp.quantile(ints, 0.3, method=meth) for meth in
                                       ("linear", "lower", "higher", "nearest", "midpoint")]),
        "nanpercentile": jnp.nanpercentile(m, 50.0, axis=0),
        "median_filter": median_filter(sig),
        "median_filter_grad": jax.grad(lambda s: jnp.sum(median_filter(s) ** 2))(sig),
        "sort_grad": jax.grad(lambda u: jnp.sum(jnp.sort(u)[:3] * jnp.array([1.0, 2.0, 3.0])))(
            jnp.array([0.5, -1.0, 2.0, 0.1])),
        "msort": jnp.sort(jnp.array([[3, 1], [2, 4], [1, 0]]), axis=0),
        "count_nonzero_sorted": jnp.count_nonzero(jnp.diff(jnp.sort(ints)) > 0),
    }


if __name__ == "__main__":
    print(run())
