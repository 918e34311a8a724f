"""Reductions at their corners, as the NumPy API JAX follows defines them: `mean`/`var`/
`std` with `ddof` (also ddof >= n), `where=` masks (including all-False rows),
`keepdims`, several axes and negative axes; nan-aware reductions over all-NaN and empty
slices (`nanmean` gives NaN, `nansum` zero, `nanmax` NaN); `sum`/`prod` of empty arrays
and with `initial`; `cumsum`/`cumprod` dtypes for bool, int8, uint8 and float16 inputs;
`argmax`/`argmin` ties and NaNs, `keepdims` argmax; `average` with weights and
`returned=True`; `ptp`, `count_nonzero`, `any`/`all` with `where`; integer `mean`
dtypes; and `jnp.median`/`percentile` of even-length inputs."""
import warnings

import jax.numpy as jnp


def run():
    x = jnp.array([[1.0, 2.0, 3.0, 4.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 5.0, 0.0, 1.0]])
    mask = jnp.array([[True, False, True, False], [False, False, False, False],
                      [True, True, True, True]])
    nanrows = jnp.array([[jnp.nan, jnp.nan], [1.0, jnp.nan], [2.0, 3.0]])
    empty = jnp.zeros((0, 3))
    ties = jnp.array([[1, 3, 3, 0], [5, 5, 5, 5], [-2, -7, -7, 0]])
    b = jnp.array([True, False, True, True])
    i8 = jnp.array([100, 100, 100, -50], dtype=jnp.int8)
    u8 = jnp.array([200, 100, 50], dtype=jnp.uint8)
    h = jnp.array([1000.0, 2000.0, 30000.0, 40000.0], dtype=jnp.float16)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        var_ddof_big = jnp.var(x[:, :2], axis=1, ddof=2)
        nanmean_rows = jnp.nanmean(nanrows, axis=1)
        nanvar_rows = jnp.nanvar(nanrows, axis=1)
        nanmax_rows = jnp.nanmax(nanrows, axis=1)
        masked_mean = jnp.mean(x, axis=1, where=mask)
        mean_empty = jnp.mean(empty, axis=0)
    avg, wsum = jnp.average(x, axis=1, weights=jnp.array([1.0, 0.0, 2.0, 1.0]), returned=True)
    return {
        "mean_axes": jnp.mean(x, axis=(0, 1)),
        "mean_neg_axis_keepdims": jnp.mean(x, axis=-1, keepdims=True),
        "var_ddof1": jnp.var(x, axis=1, ddof=1),
        "std_ddof1": jnp.std(x, axis=0, ddof=1),
        "var_ddof_big": var_ddof_big,
        "var_where": jnp.var(x, axis=1, where=mask),
        "std_where_ddof": jnp.std(x[2], where=mask[2], ddof=1),
        "masked_mean": masked_mean,
        "sum_where": jnp.sum(x, axis=1, where=mask),
        "max_where_initial": jnp.max(x, axis=1, where=mask, initial=-10.0),
        "min_initial": jnp.min(x, axis=0, initial=0.0),
        "prod_where": jnp.prod(x, axis=1, where=mask),
        "nanmean_rows": nanmean_rows,
        "nanvar_rows": nanvar_rows,
        "nanmax_rows": nanmax_rows,
        "nansum_rows": jnp.nansum(nanrows, axis=1),
        "nanprod_rows": jnp.nanprod(nanrows, axis=1),
        "nanstd_ddof": jnp.nanstd(nanrows, axis=0, ddof=1),
        "nancumsum": jnp.nancumsum(nanrows, axis=1),
        "sum_empty": jnp.sum(empty, axis=0),
        "prod_empty": jnp.prod(empty, axis=0),
        "max_empty_initial": jnp.max(empty, axis=0, initial=-1.0),
        "mean_empty": mean_empty,
        "cumsum_bool": jnp.cumsum(b),
        "cumsum_int8": jnp.cumsum(i8),
        "cumsum_int8_dtype": jnp.cumsum(i8, dtype=jnp.int8),
        "cumsum_uint8": jnp.cumsum(u8),
        "cumprod_bool": jnp.cumprod(b),
        "cumsum_f16": jnp.cumsum(h),
        "sum_int8": jnp.sum(i8),
        "sum_uint8": jnp.sum(u8),
        "sum_bool": jnp.sum(b),
        "prod_int8": jnp.prod(i8[:2]),
        "mean_int": jnp.mean(jnp.array([1, 2, 4])),
        "mean_f16": jnp.mean(h),
        "sum_f16": jnp.sum(h),
        "var_int": jnp.var(jnp.array([1, 2, 4], dtype=jnp.int8)),
        "argmax_ties": jnp.argmax(ties, axis=1),
        "argmin_ties": jnp.argmin(ties, axis=1),
        "argmax_keepdims": jnp.argmax(ties, axis=0, keepdims=True),
        "argmax_flat": jnp.argmax(ties),
        "argmax_nan": jnp.argmax(jnp.array([1.0, jnp.nan, 3.0, jnp.nan])),
        "argmin_inf": jnp.argmin(jnp.array([jnp.inf, -jnp.inf, -jnp.inf])),
        "average_weighted": avg,
        "average_wsum": wsum,
        "average_plain": jnp.average(x),
        "ptp": jnp.ptp(x, axis=1),
        "count_nonzero": jnp.count_nonzero(ties, axis=0),
        "any_where": jnp.any(x > 2.5, axis=1, where=mask),
        "all_where": jnp.all(x > 0.5, axis=1, where=mask),
        "median_even": jnp.median(x, axis=1),
        "percentile_even": jnp.percentile(x[0], jnp.array([25.0, 50.0, 75.0])),
        "logsumexp_like": jnp.log(jnp.sum(jnp.exp(x - x.max(axis=1, keepdims=True)), axis=1))
                          + x.max(axis=1),
    }


if __name__ == "__main__":
    print(run())
