"""Integer arithmetic as JAX defines it (the "sharp bits" and type promotion pages):
`//` and `%` round toward negative infinity while `jnp.fmod` and `lax.rem` follow the
dividend's sign, `jnp.divmod`, integer division by zero, int8/uint8/int16 overflow
wrapping around, `abs` and negation of the most negative integer, bitwise and/or/xor/not,
`left_shift` past the width, `right_shift` of negatives, `jnp.bitwise_count`, weak-type
promotion of Python scalars with int8/uint16/float16/bfloat16 arrays, mixed signed and
unsigned promotion, `jnp.iinfo`/`jnp.finfo` fields, and `astype` wrapping and saturation
between integer widths."""
import jax.numpy as jnp
from jax import lax


def run():
    a = jnp.array([7, -7, 7, -7, 0, 5, -1], dtype=jnp.int32)
    b = jnp.array([2, 2, -2, -2, 3, -5, 4], dtype=jnp.int32)
    i8 = jnp.array([100, 127, -128, -100, 3], dtype=jnp.int8)
    u8 = jnp.array([250, 3, 0, 128, 255], dtype=jnp.uint8)
    i16 = jnp.array([30000, -30000, 12345], dtype=jnp.int16)
    u16 = jnp.array([1, 60000, 65535], dtype=jnp.uint16)
    f16 = jnp.array([1.5, -2.25, 60000.0], dtype=jnp.float16)
    bits = jnp.array([0b1011, -1, 0, 2 ** 30, -2 ** 31], dtype=jnp.int32)
    q, r = jnp.divmod(a, b)
    fa = jnp.array([7.5, -7.5, 7.5, -7.5, -0.0])
    fb = jnp.array([2.0, 2.0, -2.0, -2.0, 3.0])
    ii8 = jnp.iinfo(jnp.int8)
    iu16 = jnp.iinfo(jnp.uint16)
    f16i = jnp.finfo(jnp.float16)
    bfi = jnp.finfo(jnp.bfloat16)
    f32i = jnp.finfo(jnp.float32)
    return {
        "floordiv": a // b,
        "remainder": a % b,
        "jnp_remainder": jnp.remainder(a, b),
        "fmod": jnp.fmod(a, b),
        "lax_rem": lax.rem(a, b),
        "lax_div": lax.div(a, b),
        "divmod_q": q,
        "divmod_r": r,
        "true_divide": a / b,
        "float_floordiv": fa // fb,
        "float_mod": fa % fb,
        "float_fmod": jnp.fmod(fa, fb),
        "float_divmod_q": jnp.divmod(fa, fb)[0],
        "int8_add_wrap": i8 + jnp.int8(100),
        "int8_mul_wrap": i8 * jnp.int8(3),
        "int8_neg": -i8,
        "int8_abs": jnp.abs(i8),
        "int8_sum": jnp.sum(i8),
        "int8_sum_dtype": jnp.sum(i8, dtype=jnp.int8),
        "uint8_sub_wrap": u8 - jnp.uint8(5),
        "uint8_add_scalar": u8 + 10,
        "uint8_neg": -u8,
        "uint8_mul": u8 * 2,
        "uint8_cumsum": jnp.cumsum(u8),
        "int16_add": i16 + i16,
        "int32_min_abs": jnp.abs(jnp.array([-2 ** 31, -5], dtype=jnp.int32)),
        "int32_overflow": jnp.array([2 ** 31 - 1], dtype=jnp.int32) + 1,
        "bit_and": bits & 0b110,
        "bit_or": bits | 0b100,
        "bit_xor": bits ^ -1,
        "bit_not": ~bits,
        "bit_not_u8": ~u8,
        "bit_not_bool": ~jnp.array([True, False]),
        "lshift": jnp.left_shift(jnp.int32(1), jnp.array([0, 1, 30, 31, 32, 40])),
        "lshift_i8": jnp.left_shift(jnp.array([1, 3, -1], dtype=jnp.int8), 6),
        "rshift": jnp.right_shift(jnp.array([-16, -1, 16, 7]), jnp.array([2, 5, 2, 40])),
        "rshift_u8": jnp.right_shift(u8, 3),
        "bitwise_count": jnp.bitwise_count(bits),
        "gcd": jnp.gcd(jnp.array([12, -18, 0, 7]), jnp.array([8, 12, 5, 0])),
        "lcm": jnp.lcm(jnp.array([4, -6, 0, 7]), jnp.array([6, 4, 5, 3])),
        "promote_i8_int": (i8 + 1).dtype == jnp.int8,
        "promote_i8_float": i8 * 1.5,
        "promote_u16_int": u16 + 2,
        "promote_u16_i8": u16 + jnp.array([1, 1, 1], dtype=jnp.int8),
        "promote_u8_i8": u8[:3] + jnp.array([1, -1, 1], dtype=jnp.int8),
        "promote_f16_scalar": f16 * 2.0,
        "promote_f16_int": f16 + jnp.array([1, 2, 3], dtype=jnp.int32),
        "promote_bf16_f16": jnp.array([1.5], dtype=jnp.bfloat16) + jnp.array([1.5],
                                                                             dtype=jnp.float16),
        "promote_u32_i32": jnp.array([1], dtype=jnp.uint32) + jnp.array([-1]),
        "promote_bool_int": jnp.array([True, False]) + jnp.array([1, 1], dtype=jnp.int8),
        "f16_overflow": f16 * f16,
        "iinfo_int8": jnp.array([ii8.min, ii8.max, ii8.bits]),
        "iinfo_uint16": jnp.array([iu16.min, iu16.max, iu16.bits]),
        "finfo_f16": jnp.array([f16i.eps, f16i.max, f16i.tiny, f16i.resolution],
                               dtype=jnp.float32),
        "finfo_bf16": jnp.array([bfi.eps, bfi.max, bfi.tiny], dtype=jnp.float32),
        "finfo_f32": jnp.array([f32i.eps, f32i.max, f32i.tiny, f32i.smallest_subnormal]),
        "finfo_bits": jnp.array([f16i.bits, f16i.nmant, f16i.nexp, bfi.nmant, f32i.precision]),
        "astype_wrap_i8": jnp.array([200, 300, -129, 1000]).astype(jnp.int8),
        "astype_wrap_u8": jnp.array([-1, 256, 257, -255]).astype(jnp.uint8),
        "astype_u16_i16": u16.astype(jnp.int16),
        "astype_float_int": jnp.array([2.7, -2.7, 0.5, -0.5]).astype(jnp.int32),
        "astype_bool": jnp.array([0, 3, -1]).astype(bool),
        "clip_int": jnp.clip(jnp.array([-5, 0, 5, 10]), 0, 7),
        "sign_int": jnp.sign(jnp.array([-3, 0, 4], dtype=jnp.int8)),
        "power_int": jnp.array([2, 3, -2]) ** 3,
        "power_int_wrap": jnp.array([2, 3], dtype=jnp.int8) ** 7,
        "integer_pow": lax.integer_pow(jnp.array([3, -2], dtype=jnp.int16), 5),
        "iota_mod": jnp.arange(-6, 6) % 4,
    }


if __name__ == "__main__":
    print(run())
