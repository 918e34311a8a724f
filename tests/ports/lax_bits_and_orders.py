"""`jax.lax` and integer/float elementwise operations at their corners, as JAX's `lax`
reference documents them: `reduce_precision` to float8/bfloat16/float16 widths,
`bitcast_convert_type` (and `Array.view`) between types of different widths (a trailing
axis appears or disappears), `nextafter` at signed zeros, infinities and NaN,
`cumlogsumexp`/`cummax`/`cummin`/`cumprod` with `reverse=True` and their gradients,
`lax.reduce` with a custom computation over a tuple of operands (an argmax) and several
axes, `clamp` with scalar and array bounds, `select_n` with three cases, `sort` with
`num_keys=2` and `is_stable`, negative dimensions in `expand_dims`/`squeeze`, `rev`,
`pad` with negative and interior padding (and its gradient), shifts by the bit width or
more, `clz`/`population_count`, both `RoundingMethod`s, `rem`/`div` signs,
`convert_element_type` saturation, `approx_max_k`/`top_k` ties, `dot_general` with
`preferred_element_type`, and sorting, rounding, division and bit operations on
bool/int8/uint8/int16 data, `segment_max`/`segment_min` of empty segments,
`scipy.special` on float16/bfloat16/int inputs."""
import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy import special

f = jnp.array([1.0, -2.5, 3.14159, 65504.0, 1e-8, -0.0, 70000.0, 1.00390625])
fz = jnp.array([0.0, -0.0, 1.0, -1.0, jnp.inf, -jnp.inf, 3.4028235e38, 1e-45])
ints = jnp.array([0, 1, -1, 255, 256, 2**31 - 1, -2**31, 12345], dtype=jnp.int32)
c = jnp.array([[3.0, -1.0, 2.0, 0.5], [0.0, 4.0, -3.0, 1.0]])


def argmax_reduce(vals, idx):
    def comp(a, b):
        av, ai = a
        bv, bi = b
        pick = (av > bv) | ((av == bv) & (ai < bi))
        return lax.select(pick, av, bv), lax.select(pick, ai, bi)
    return lax.reduce((vals, idx), (-jnp.inf, jnp.int32(2**31 - 1)), comp, (1,))


def run():
    return {
        "reduce_precision_e5m2": lax.reduce_precision(f, exponent_bits=5, mantissa_bits=2),
        "reduce_precision_bf16": lax.reduce_precision(f, exponent_bits=8, mantissa_bits=7),
        "reduce_precision_f16": lax.reduce_precision(f, exponent_bits=5, mantissa_bits=10),
        "reduce_precision_e4m3": lax.reduce_precision(f, exponent_bits=4, mantissa_bits=3),
        "bitcast_f32_u8": lax.bitcast_convert_type(f[:3], jnp.uint8),
        "bitcast_u8_f32": lax.bitcast_convert_type(jnp.arange(8, dtype=jnp.uint8).reshape(2, 4) * 17, jnp.float32),
        "bitcast_i32_i16": lax.bitcast_convert_type(ints, jnp.int16),
        "bitcast_i16_i32": lax.bitcast_convert_type(jnp.array([[1, -1], [-32768, 7]], jnp.int16), jnp.int32),
        "bitcast_f32_bf16": lax.bitcast_convert_type(f[:2], jnp.bfloat16).astype(jnp.float32),
        "bitcast_f16_u16": lax.bitcast_convert_type(jnp.array([1.0, -2.0, 65504.0], jnp.float16), jnp.uint16),
        "bitcast_i32_f32": lax.bitcast_convert_type(jnp.array([1065353216, -1082130432, 1], jnp.int32), jnp.float32),
        "bitcast_u8x2_f16": lax.bitcast_convert_type(jnp.array([[0, 60], [0, 188]], jnp.uint8), jnp.float16).astype(jnp.float32),
        "view_f32_i32": f[:4].view(jnp.int32),
        "view_u8_u16": jnp.arange(6, dtype=jnp.uint8).view(jnp.uint16),
        "nextafter_up": lax.nextafter(fz, jnp.full_like(fz, jnp.inf)),
        "nextafter_down": lax.nextafter(fz, jnp.full_like(fz, -jnp.inf)),
        "nextafter_zero_target": lax.nextafter(fz, jnp.zeros_like(fz)),
        "nextafter_f16": jnp.nextafter(jnp.array([0.0, 1.0, 65504.0], jnp.float16), jnp.array([1.0, 2.0, jnp.inf], jnp.float16)).astype(jnp.float32),
        "nextafter_nan": jnp.nextafter(jnp.array([jnp.nan, 1.0]), jnp.array([1.0, jnp.nan])),
        "cumlogsumexp_rev": lax.cumlogsumexp(c, axis=1, reverse=True),
        "cumlogsumexp_inf": lax.cumlogsumexp(jnp.array([-jnp.inf, 0.0, -jnp.inf, jnp.inf, 1.0])),
        "cummax_rev": lax.cummax(c, axis=0, reverse=True),
        "cummin_rev_int": lax.cummin(jnp.array([5, 3, 7, 1, 9], jnp.int8), reverse=True),
        "cumprod_rev": lax.cumprod(c, axis=1, reverse=True),
        "cumsum_rev_grad": jax.grad(lambda t: jnp.sum(lax.cumsum(t, reverse=True) ** 2))(f[:4]),
        "cummax_grad_ties": jax.grad(lambda t: jnp.sum(lax.cummax(t)))(jnp.array([1.0, 3.0, 3.0, 2.0, 4.0])),
        "cumlogsumexp_grad": jax.grad(lambda t: jnp.sum(lax.cumlogsumexp(t, reverse=True)))(jnp.array([0.5, -1.0, 2.0])),
        "reduce_argmax_vals": argmax_reduce(c, lax.broadcasted_iota(jnp.int32, c.shape, 1))[0],
        "reduce_argmax_idx": argmax_reduce(jnp.array([[1.0, 5.0, 5.0], [2.0, 2.0, 0.0]]), lax.broadcasted_iota(jnp.int32, (2, 3), 1))[1],
        "reduce_multi_axes": lax.reduce(jnp.arange(24.0).reshape(2, 3, 4), 1.0, lax.mul, (0, 2)),
        "reduce_lambda_max": lax.reduce(c, -jnp.inf, lambda a, b: jnp.maximum(a, b), (0,)),
        "clamp_scalar_bounds": lax.clamp(-1.0, c, 2.0),
        "clamp_array_bounds": lax.clamp(jnp.zeros_like(c), c, jnp.full_like(c, 1.5)),
        "clamp_int": lax.clamp(jnp.int32(-3), ints, jnp.int32(300)),
        "clamp_grad": jax.grad(lambda t: jnp.sum(lax.clamp(-1.0, t, 2.0)))(jnp.array([-1.0, 0.0, 2.0, 3.0])),
        "select_n_three": lax.select_n(jnp.array([0, 1, 2, 1], jnp.int32), jnp.zeros(4), jnp.ones(4), jnp.full(4, 2.0)),
        "select_n_bool": lax.select_n(jnp.array([True, False]), jnp.array([1, 2]), jnp.array([3, 4])),
        "select_n_scalar_pred": lax.select_n(jnp.int32(2), c[0], c[1], -c[0]),
        "select_n_grad": jax.grad(lambda t: jnp.sum(lax.select_n(jnp.array([2, 0, 1]), t, 2 * t, 3 * t)))(jnp.ones(3)),
        "sort_two_keys": lax.sort((jnp.array([2, 1, 2, 1, 0]), jnp.array([5.0, 3.0, 1.0, 3.0, 9.0]), jnp.arange(5)), num_keys=2)[2],
        "sort_stable_vals": lax.sort((jnp.array([1, 0, 1, 0, 1]), jnp.arange(5)), num_keys=1, is_stable=True)[1],
        "sort_dim0": lax.sort(c, dimension=0),
        "sort_nan_neg0": lax.sort(jnp.array([0.0, -0.0, jnp.nan, -jnp.inf, 1.0, -jnp.nan])),
        "sort_key_val_2d": lax.sort_key_val(c, jnp.arange(8).reshape(2, 4), dimension=1)[1],
        "expand_dims_neg": jnp.array(lax.expand_dims(c, (-1, 0)).shape),
        "expand_dims_neg2": jnp.array(lax.expand_dims(c, (-2, -4)).shape),
        "squeeze_neg": jnp.array(lax.squeeze(jnp.ones((1, 3, 1, 2)), (-2, 0)).shape),
        "jnp_expand_dims_tuple": jnp.array(jnp.expand_dims(c, (0, -1, 2)).shape),
        "rev_multi": lax.rev(jnp.arange(12).reshape(2, 3, 2), (0, 2)),
        "pad_negative": lax.pad(jnp.arange(1.0, 6.0), 0.0, ((-2, 1, 0),)),
        "pad_neg_interior": lax.pad(jnp.arange(1.0, 6.0), -1.0, ((-1, -2, 2),)),
        "pad_2d_mixed": lax.pad(jnp.arange(6.0).reshape(2, 3), 9.0, ((1, -1, 1), (-1, 2, 1))),
        "pad_grad": jax.grad(lambda t: jnp.sum(lax.pad(t, 0.0, ((-1, 2, 1),)) * jnp.arange(8.0)))(jnp.arange(1.0, 5.0)),
        "shift_left_over": lax.shift_left(jnp.array([1, 1, 1, -1], jnp.int32), jnp.array([0, 31, 32, 40], jnp.int32)),
        "shift_right_arith_over": lax.shift_right_arithmetic(jnp.array([-8, -8, 8, 8], jnp.int32), jnp.array([1, 33, 32, -1], jnp.int32)),
        "shift_right_logical_over": lax.shift_right_logical(jnp.array([-8, -8, 255, 8], jnp.int32), jnp.array([1, 32, 4, 100], jnp.int32)),
        "shift_u8": lax.shift_left(jnp.array([1, 200, 3], jnp.uint8), jnp.array([7, 1, 8], jnp.uint8)),
        "clz": lax.clz(ints),
        "clz_u8": lax.clz(jnp.array([0, 1, 128, 15], jnp.uint8)),
        "popcount_i8": lax.population_count(jnp.array([-1, -128, 0, 127], jnp.int8)),
        "round_away": lax.round(jnp.array([0.5, 1.5, 2.5, -0.5, -2.5, 3.7])),
        "round_even": lax.round(jnp.array([0.5, 1.5, 2.5, -0.5, -2.5, 3.7]), lax.RoundingMethod.TO_NEAREST_EVEN),
        "rem_float_signs": lax.rem(jnp.array([5.0, -5.0, 5.0, -5.0]), jnp.array([3.0, 3.0, -3.0, -3.0])),
        "rem_int_signs": lax.rem(jnp.array([5, -5, 5, -5]), jnp.array([3, 3, -3, -3])),
        "div_int_trunc": lax.div(jnp.array([7, -7, 7, -7]), jnp.array([2, 2, -2, -2])),
        "integer_pow_neg": lax.integer_pow(jnp.array([2.0, -0.5, 4.0]), -3),
        "integer_pow_grad0": jax.grad(lambda t: lax.integer_pow(t, 0))(3.0),
        "convert_f_to_int_sat": lax.convert_element_type(jnp.array([3e9, -3e9, 2.7, -2.7, jnp.nan]), jnp.int32),
        "convert_f_to_u8": lax.convert_element_type(jnp.array([300.0, -1.0, 255.9, 1.5]), jnp.uint8),
        "convert_i_to_u8": lax.convert_element_type(jnp.array([300, -1, 255]), jnp.uint8),
        "convert_to_bool": lax.convert_element_type(jnp.array([0.0, -0.0, 0.1, jnp.nan]), jnp.bool_),
        "approx_max_k": lax.approx_max_k(jnp.array([[1.0, 9.0, 3.0, 7.0, 5.0]]), 3, recall_target=0.95)[0],
        "approx_min_k_idx": lax.approx_min_k(jnp.array([4.0, 1.0, 3.0, 0.5, 8.0]), 2)[1],
        "top_k_ties": lax.top_k(jnp.array([1.0, 3.0, 3.0, 2.0, 3.0]), 3)[1],
        "iota_dim": lax.broadcasted_iota(jnp.int8, (2, 3), 1),
        "dot_general_batch_contract": lax.dot_general(jnp.arange(24.0).reshape(2, 3, 4), jnp.arange(8.0).reshape(2, 4), (((2,), (1,)), ((0,), (0,)))),
        "dot_general_int8_pref": lax.dot_general(jnp.array([[100, 100]], jnp.int8), jnp.array([[2], [1]], jnp.int8), (((1,), (0,)), ((), ())), preferred_element_type=jnp.int32),
        "atan2_zeros": lax.atan2(jnp.array([0.0, -0.0, 0.0, -0.0]), jnp.array([0.0, 0.0, -0.0, -0.0])),
        "sign_zeros_nan": lax.sign(jnp.array([-0.0, 0.0, jnp.nan, -3.0])),
        "exp2_int_like": lax.exp2(jnp.array([-150.0, -126.0, 127.0, 128.0, 0.5])),
        "logistic_extremes": lax.logistic(jnp.array([-100.0, -20.0, 0.0, 20.0, 100.0])),
        "erf_inv_edges": lax.erf_inv(jnp.array([-1.0, 1.0, 0.0, 1.5, 0.999999])),
        "is_finite": lax.is_finite(fz),
        "collapse": jnp.array(lax.collapse(jnp.ones((2, 3, 4, 5)), 1, 3).shape),
        "slice_in_dim_neg": lax.slice_in_dim(jnp.arange(10), -4, None, stride=2),
        "index_in_dim_neg": lax.index_in_dim(c, -1, axis=1, keepdims=True),
        "segment_max_empty": jax.ops.segment_max(jnp.array([1.0, 2.0]), jnp.array([0, 2]), num_segments=3),
        "segment_min_int_empty": jax.ops.segment_min(jnp.array([1, 2]), jnp.array([0, 2]), num_segments=3),
        "segment_prod_bool": jax.ops.segment_prod(jnp.array([2.0, 3.0, 4.0]), jnp.array([1, 1, 5]), num_segments=3),
        "segment_sum_neg_ids": jax.ops.segment_sum(jnp.array([1.0, 2.0, 3.0]), jnp.array([-1, 0, 3]), num_segments=3),
        "segment_sum_bucket": jax.ops.segment_sum(jnp.arange(6.0), jnp.array([0, 0, 1, 1, 2, 2]), num_segments=3, bucket_size=2),
        "segment_max_grad_ties": jax.grad(lambda t: jnp.sum(jax.ops.segment_max(t, jnp.array([0, 0, 1]), num_segments=2)))(jnp.array([2.0, 2.0, 1.0])),
        "gammaln_f16": special.gammaln(jnp.array([0.5, 10.0, 100.0], jnp.float16)).astype(jnp.float32),
        "gammaln_f16_dtype": str(special.gammaln(jnp.array([0.5], jnp.float16)).dtype),
        "logsumexp_bf16": special.logsumexp(jnp.array([100.0, 100.0, 99.0], jnp.bfloat16)).astype(jnp.float32),
        "erf_bf16": special.erf(jnp.array([0.1, 1.0, 3.0], jnp.bfloat16)).astype(jnp.float32),
        "xlogy_int": special.xlogy(jnp.array([0, 2]), jnp.array([0, 3])),
        "digamma_int": special.digamma(jnp.array([1, 2, 5])),
        "logit_int_dtype": str(special.logit(jnp.array([0, 1])).dtype),
        "lax_max_int_mixed": lax.max(jnp.int8(-5), jnp.int8(3)),
        "lax_cumsum_bool": lax.cumsum(jnp.array([True, True, False]).astype(jnp.int8)),
        "cumsum_bool_dtype": jnp.cumsum(jnp.array([True, True, True])),
        "cumprod_u8": jnp.cumprod(jnp.array([200, 2, 3], jnp.uint8)),
        "cumsum_u8_dtype_arg": jnp.cumsum(jnp.array([200, 100], jnp.uint8), dtype=jnp.uint8),
        "sort_bool": jnp.sort(jnp.array([True, False, True])),
        "argsort_stable_desc": jnp.argsort(jnp.array([1, 3, 1, 3, 2]), stable=True, descending=True),
        "argsort_desc_nan": jnp.argsort(jnp.array([1.0, jnp.nan, 3.0, jnp.nan]), descending=True),
        "sort_desc_neg0": jnp.sort(jnp.array([0.0, -0.0, -1.0, 0.0]), descending=True),
        "argsort_u8": jnp.argsort(jnp.array([255, 0, 128], jnp.uint8)),
        "lexsort_3": jnp.lexsort((jnp.array([1, 0, 1, 0]), jnp.array([2, 2, 1, 1]), jnp.array([0, 0, 0, 0]))),
        "searchsorted_nan_right": jnp.searchsorted(jnp.array([1.0, 2.0, jnp.nan]), jnp.array([jnp.nan, 2.0, 5.0]), side="right"),
        "unique_neg0": jnp.unique(jnp.array([0.0, -0.0, 1.0])),
        "round_f16_decimals": jnp.round(jnp.array([1.125, 2.675], jnp.float16), 2).astype(jnp.float32),
        "around_neg_dec_float": jnp.around(jnp.array([1250.0, 1350.0, -1250.0]), -2),
        "floor_divide_int_neg": jnp.floor_divide(jnp.array([-7, 7, -7, -128], jnp.int8), jnp.array([2, -2, -2, -1], jnp.int8)),
        "remainder_int_neg": jnp.remainder(jnp.array([-7, 7, -7], jnp.int8), jnp.array([2, -2, -2], jnp.int8)),
        "fmod_int": jnp.fmod(jnp.array([-7, 7], jnp.int32), jnp.array([2, -2], jnp.int32)),
        "abs_int_min": jnp.abs(jnp.array([-128, -1], jnp.int8)),
        "negative_uint": jnp.negative(jnp.array([1, 0], jnp.uint8)),
        "sign_uint": jnp.sign(jnp.array([0, 5], jnp.uint8)),
        "power_int_neg_exp": jnp.power(jnp.array([1, -1, 2]), jnp.array([-1, -3, -2])),
        "left_shift_big": jnp.left_shift(jnp.array([1, 1], jnp.int8), jnp.array([7, 8], jnp.int8)),
        "right_shift_neg": jnp.right_shift(jnp.array([-128, -1], jnp.int8), jnp.array([7, 9], jnp.int8)),
        "bitwise_count": jnp.bitwise_count(jnp.array([-1, 255, 0], jnp.int16)),
        "gcd_neg": jnp.gcd(jnp.array([-12, 0, 7]), jnp.array([18, -5, 0])),
        "lcm_neg": jnp.lcm(jnp.array([-4, 0, 6]), jnp.array([6, 5, -4])),
        "isclose_inf": jnp.isclose(jnp.array([jnp.inf, jnp.nan, 1.0]), jnp.array([jnp.inf, jnp.nan, 1.0 + 1e-6]), equal_nan=True),
        "trunc_int": jnp.trunc(jnp.array([-3, 4])),
        "spacing_f16": jnp.spacing(jnp.array([1.0, 1000.0], jnp.float16)).astype(jnp.float32),
    }


if __name__ == "__main__":
    print(run())
