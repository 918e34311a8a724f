"""Statistics of narrow and integer arrays, as JAX's NumPy docs describe their dtypes:
float16/bfloat16 `mean`/`var`/`std`/`sum`/`cumsum`/`logsumexp` (and bfloat16 `nn.softmax`)
with `dtype=`, `keepdims`, `where=` and `ddof`; the result dtypes of `mean`/`var`/`std`/`median`/`average`
of int8/uint8/bool/int16 arrays; `jnp.average` with weights along axes and `returned=True`;
NaN-aware reductions over all-NaN slices; `percentile`/`quantile`/`nanquantile` with each
`method`, `keepdims` and tuple axes."""
import jax.numpy as jnp
import numpy as np
from jax import nn
from jax.scipy.special import logsumexp


def run():
    out = {}
    base = np.array([[0.1, 2.5, -3.0, 4.25], [1e-3, 6.0, 7.5, -0.5], [3.0, -2.0, 0.0, 9.0]],
                    np.float32)
    mask = np.array([[True, False, True, True], [False, True, True, False],
                     [True, True, False, True]])
    for tag, dt in (("f16", jnp.float16), ("bf16", jnp.bfloat16)):
        x = jnp.asarray(base, dt)
        out[f"{tag}_mean"] = jnp.mean(x, axis=1)
        out[f"{tag}_mean_f32"] = jnp.mean(x, axis=0, dtype=jnp.float32)
        out[f"{tag}_mean_where"] = jnp.mean(x, axis=1, where=mask, keepdims=True)
        out[f"{tag}_var"] = jnp.var(x, axis=0)
        out[f"{tag}_var_ddof_where"] = jnp.var(x, axis=1, ddof=1, where=mask)
        out[f"{tag}_std_f32"] = jnp.std(x, dtype=jnp.float32)
        out[f"{tag}_sum_where"] = jnp.sum(x, axis=0, where=mask, keepdims=True)
        out[f"{tag}_sum_to_f32"] = jnp.sum(x, dtype=jnp.float32)
        out[f"{tag}_cumsum_f32"] = jnp.cumsum(x, axis=1, dtype=jnp.float32)
        out[f"{tag}_logsumexp"] = logsumexp(x, axis=0)
        out[f"{tag}_logsumexp_b"] = logsumexp(x, axis=1, b=jnp.asarray([0.5, 1.0, 2.0, 0.0],
                                                                       dt))
        out[f"{tag}_logsumexp_sign"] = jnp.stack(logsumexp(
            x, axis=1, b=jnp.asarray([1.0, -1.0, 1.0, -1.0], dt), return_sign=True))
    out["bf16_softmax"] = nn.softmax(jnp.asarray(base, jnp.bfloat16), axis=-1)
    out["bf16_softmax_where"] = nn.softmax(jnp.asarray(base, jnp.bfloat16), axis=-1,
                                           where=mask)
    # integer inputs: result dtypes and values
    i8 = jnp.array([[-128, 127, 5], [100, 100, 100]], jnp.int8)
    u8 = jnp.array([[250, 251, 3], [0, 255, 255]], jnp.uint8)
    i16 = jnp.array([30000, 30000, -2], jnp.int16)
    b = jnp.array([[True, False, True], [True, True, True]])
    for tag, v in (("i8", i8), ("u8", u8), ("i16", i16), ("bool", b)):
        out[f"{tag}_mean"] = jnp.mean(v, axis=-1)
        out[f"{tag}_var"] = jnp.var(v, axis=-1)
        out[f"{tag}_std"] = jnp.std(v)
        out[f"{tag}_median"] = jnp.median(v, axis=-1)
        out[f"{tag}_sum"] = jnp.sum(v, axis=-1)
        out[f"{tag}_cumsum"] = jnp.cumsum(v, axis=-1)
        out[f"{tag}_average"] = jnp.average(v, axis=-1)
        out[f"{tag}_mean_i8"] = jnp.mean(v, axis=-1, dtype=jnp.int8)
    out["i8_var_f16"] = jnp.var(i8, axis=1, dtype=jnp.float16)
    out["u8_average_int_weights"] = jnp.average(u8, axis=1, weights=jnp.array([1, 2, 1],
                                                                              jnp.uint8))
    # average with weights and returned=True
    data = jnp.arange(24.0).reshape(2, 3, 4)
    w1 = jnp.array([0.5, 1.0, 2.0])
    avg, wsum = jnp.average(data, axis=1, weights=w1, returned=True)
    out["average_axis1"] = avg
    out["average_axis1_sum"] = wsum
    w_full = jnp.linspace(0.1, 2.4, 24).reshape(2, 3, 4)
    avg, wsum = jnp.average(data, axis=(0, 2), weights=w_full, returned=True)
    out["average_tuple_axes"] = avg
    out["average_tuple_axes_sum"] = wsum
    avg, wsum = jnp.average(data, weights=w_full, returned=True, keepdims=True)
    out["average_all_keepdims"] = avg
    out["average_all_keepdims_sum"] = wsum
    avg, wsum = jnp.average(data, axis=-1, returned=True)
    out["average_unweighted_returned"] = avg
    out["average_unweighted_returned_sum"] = wsum
    # NaN-aware reductions on all-NaN slices
    nan = np.nan
    z = jnp.array([[nan, nan, nan], [1.0, nan, 3.0], [nan, -2.0, nan]])
    out["nanmean"] = jnp.nanmean(z, axis=1)
    out["nanvar"] = jnp.nanvar(z, axis=1)
    out["nanstd_ddof"] = jnp.nanstd(z, axis=1, ddof=1)
    out["nansum"] = jnp.nansum(z, axis=1)
    out["nanprod"] = jnp.nanprod(z, axis=0)
    out["nanmax"] = jnp.nanmax(z, axis=1)
    out["nanmin_keepdims"] = jnp.nanmin(z, axis=0, keepdims=True)
    out["nanmedian"] = jnp.nanmedian(z, axis=1)
    out["nanargmax_partial"] = jnp.nanargmax(z[1:], axis=1)
    out["nancumsum"] = jnp.nancumsum(z, axis=1)
    out["nancumprod"] = jnp.nancumprod(z, axis=0)
    out["nanpercentile"] = jnp.nanpercentile(z, 50.0, axis=1)
    out["nanquantile_q"] = jnp.nanquantile(z, jnp.array([0.25, 0.75]), axis=1)
    out["nanmean_f16"] = jnp.nanmean(z.astype(jnp.float16), axis=0)
    # percentile / quantile methods
    v = jnp.array([[3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.0],
                   [6.0, 5.0, 3.0, 5.0, 8.0, 9.0, 7.0]])
    q = jnp.array([0.0, 0.1, 0.33, 0.5, 0.9, 1.0])
    for method in ("linear", "lower", "higher", "midpoint", "nearest", "inverted_cdf"):
        out[f"quantile_{method}"] = jnp.quantile(v, q, axis=1, method=method)
    out["percentile_keepdims"] = jnp.percentile(v, jnp.array([25.0, 50.0]), axis=1,
                                                keepdims=True)
    out["percentile_tuple_axes"] = jnp.percentile(data, 40.0, axis=(0, 2))
    out["quantile_int_input"] = jnp.quantile(jnp.array([1, 7, 3, 4], jnp.int8), 0.4)
    out["quantile_f16"] = jnp.quantile(v.astype(jnp.float16), q, axis=1)
    out["median_keepdims_tuple"] = jnp.median(data, axis=(1, 2), keepdims=True)
    # bfloat16 results: their dtype as a string, their values widened to float32
    for key in [k for k, val in out.items() if val.dtype == jnp.bfloat16]:
        out[key + "_dtype"] = str(out[key].dtype)
        out[key] = out[key].astype(jnp.float32)
    return out


if __name__ == "__main__":
    print(run())
