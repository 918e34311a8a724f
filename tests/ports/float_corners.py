"""Elementwise floating-point functions at the IEEE corners numerical code meets, and the
dtypes `jnp.where`/`lax.select_n`/`jnp.clip`/`jnp.select` give with mixed operands
under JAX's default x64-off mode: signed zeros, infinities and NaNs through `arctan2`,
`copysign`, `signbit`, `fmax`/`fmin` against `maximum`/`minimum`, `nextafter`, `spacing`,
`frexp`/`ldexp`, `modf`, `round(decimals=)`, `nan_to_num` with custom values, `isclose`/
`array_equal(equal_nan=)`, `float_power`, `heaviside`, `sinc` and its gradient at 0,
`hypot`, `logaddexp`/`logaddexp2` with infinities, `cbrt` of negatives, `lax.integer_pow`,
`lax.reduce_precision` to bfloat16/float16 widths, `remainder`/`fmod` on floats, and
`clip` with NaN bounds and `min > max`."""
import jax
import jax.numpy as jnp
from jax import lax


def run():
    z = jnp.array([0.0, -0.0])
    inf, nan = jnp.inf, jnp.nan
    a = jnp.array([0.0, -0.0, 0.0, -0.0, 1.0, -1.0, inf, -inf])
    b = jnp.array([0.0, 0.0, -0.0, -0.0, -inf, inf, inf, -inf])
    u = jnp.array([1.5, -2.5, 0.5, nan, inf, -0.0, 3.0])
    v = jnp.array([nan, 1.0, -0.5, 2.0, nan, 0.0, -3.0])
    mant, expo = jnp.frexp(jnp.array([0.0, 1.0, -3.0, 0.1, 1e30, inf]))
    frac, whole = jnp.modf(jnp.array([-2.5, 2.5, -0.0, inf, -inf]))
    i8 = jnp.array([-5, 0, 7], dtype=jnp.int8)
    u8 = jnp.array([0, 100, 250], dtype=jnp.uint8)
    f16 = jnp.array([0.1, 2.0, 70000.0], dtype=jnp.float16)
    bf = jnp.array([1.0, 3.0, -7.5], dtype=jnp.bfloat16)
    cond = jnp.array([True, False, True])
    return {
        "arctan2_signed_zeros": jnp.arctan2(a, b),
        "copysign": jnp.copysign(jnp.array([1.0, 2.0, 0.0, inf]), jnp.array([-0.0, 0.0, -1.0,
                                                                                nan])),
        "signbit": jnp.signbit(jnp.array([0.0, -0.0, -1.0, nan, -inf])),
        "reciprocal_zeros": 1.0 / z,
        "fmax": jnp.fmax(u, v),
        "fmin": jnp.fmin(u, v),
        "maximum": jnp.maximum(u, v),
        "minimum": jnp.minimum(u, v),
        "nextafter": jnp.nextafter(jnp.array([1.0, 1.0, 0.0, -0.0, inf]),
                                   jnp.array([2.0, 0.0, 1.0, -1.0, 0.0])),
        "spacing": jnp.spacing(jnp.array([1.0, -1.0, 1e10, 0.5])),
        "frexp_mantissa": mant,
        "frexp_exponent": expo,
        "ldexp": jnp.ldexp(jnp.array([1.0, 0.75, -3.0, 1.0]), jnp.array([3, -2, 10, 200])),
        "modf_frac": frac,
        "modf_whole": whole,
        "round_decimals": jnp.round(jnp.array([1.2345, -2.5551, 125.0, 0.5, 1.5]), 2),
        "round_negative_decimals": jnp.round(jnp.array([125.0, 135.0, -1250.0]), -1),
        "nan_to_num": jnp.nan_to_num(jnp.array([nan, inf, -inf, 1.0]), nan=-1.0,
                                     posinf=1e3, neginf=-1e3),
        "nan_to_num_default": jnp.nan_to_num(jnp.array([nan, inf, -inf])),
        "isclose": jnp.isclose(jnp.array([1.0, nan, inf, 1e-9, 1.0]),
                               jnp.array([1.0 + 1e-6, nan, inf, 0.0, 1.1])),
        "isclose_equal_nan": jnp.isclose(jnp.array([nan, 1.0]), jnp.array([nan, 1.0]),
                                         equal_nan=True),
        "array_equal_nan": jnp.array([jnp.array_equal(u, u), jnp.array_equal(u, u,
                                                                             equal_nan=True)]),
        "float_power": jnp.float_power(jnp.array([2.0, -2.0, 0.0, 4.0]),
                                       jnp.array([-1.0, 3.0, 0.0, 0.5])),
        "power_int_neg_base": jnp.power(jnp.array([-2, 3, 0]), jnp.array([3, 2, 0])),
        "heaviside": jnp.heaviside(jnp.array([-1.0, 0.0, 2.0, nan]), 0.5),
        "sinc": jnp.sinc(jnp.array([0.0, 0.5, 1.0, -2.5])),
        "sinc_grad": jax.vmap(jax.grad(jnp.sinc))(jnp.array([0.0, 0.5, 1.0])),
        "sinc_grad2_zero": jax.grad(jax.grad(jnp.sinc))(0.0),
        "hypot": jnp.hypot(jnp.array([3.0, inf, nan, 1e30]), jnp.array([4.0, nan, inf, 1e30])),
        "logaddexp": jnp.logaddexp(jnp.array([-inf, inf, -inf, 0.0]),
                                   jnp.array([-inf, inf, 1.0, 1000.0])),
        "logaddexp2": jnp.logaddexp2(jnp.array([-inf, 1.0, 3.0]), jnp.array([-inf, 1.0, 0.0])),
        "logaddexp_grad": jax.grad(lambda x: jnp.logaddexp(x, -jnp.inf))(0.5),
        "cbrt": jnp.cbrt(jnp.array([-27.0, -0.0, 8.0, -inf])),
        "integer_pow": lax.integer_pow(jnp.array([-2.0, 0.5, 0.0]), -3),
        "integer_pow_grad": jax.grad(lambda x: lax.integer_pow(x, 3))(-2.0),
        "reduce_precision_bf16": lax.reduce_precision(jnp.array([1.0 + 2 ** -9, 3.14159265,
                                                                 1e-40, 3e38]),
                                                      exponent_bits=8, mantissa_bits=7),
        "reduce_precision_f16": lax.reduce_precision(jnp.array([1.0 + 2 ** -12, 70000.0,
                                                                1e-6]),
                                                     exponent_bits=5, mantissa_bits=10),
        "remainder": jnp.remainder(jnp.array([5.5, -5.5, 5.5, -0.0, inf]),
                                   jnp.array([2.0, 2.0, -2.0, 3.0, 2.0])),
        "fmod": jnp.fmod(jnp.array([5.5, -5.5, 5.5, 1.0]), jnp.array([2.0, 2.0, -2.0, 0.0])),
        "clip_nan_bound": jnp.clip(jnp.array([1.0, 5.0, nan]), 2.0, jnp.nan),
        "clip_min_gt_max": jnp.clip(jnp.arange(5.0), 3.0, 1.0),
        "clip_int_float_bounds": jnp.clip(jnp.array([1, 5, 9]), 2.5, 7.5),
        "clip_uint8": jnp.clip(u8, 10, 200),
        "where_int8_weak_float": jnp.where(cond, i8, 1.5),
        "where_int8_weak_int": jnp.where(cond, i8, 300),
        "where_f16_f32": jnp.where(cond, f16, jnp.float32(2.0)),
        "where_bf16_f16": jnp.where(cond, bf, f16),
        "where_uint8_int8": jnp.where(cond, u8, i8),
        "where_bool_int": jnp.where(cond, True, jnp.array([5, 6, 7])),
        "select_n_f16": lax.select_n(cond, f16, f16 * 2),
        "select_bool_weak": jnp.select([i8 < 0, i8 > 0], [i8, 2 * i8], default=-1),
        "select_float_default": jnp.select([cond], [f16], default=jnp.nan),
        "weak_sum_dtype": jnp.array([jnp.result_type(i8, 2.0) == jnp.float32,
                                     jnp.result_type(u8, -1) == jnp.uint8,
                                     jnp.result_type(f16, 1j) == jnp.complex64]),
        "mean_f16": jnp.mean(f16),
        "f16_overflow": f16 * 2,
        "bf16_div": (bf / 3).astype(jnp.float32),
        "bf16_div_dtype": str((bf / 3).dtype),
        "int_true_divide": jnp.array([7, -7]) / 2,
        "int8_true_divide": i8 / i8[2],
        "floor_divide_float": jnp.array([7.0, -7.0, 7.0, -0.0]) // jnp.array([2.0, 2.0, -0.0,
                                                                             3.0]),
    }


if __name__ == "__main__":
    print(run())
