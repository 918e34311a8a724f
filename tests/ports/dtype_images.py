"""Dtype handling as image and quantisation code writes it: uint8 images normalised to
float and back (`astype`, `clip`, `round`), reductions of small integer types (`sum`,
`mean`, `cumsum` and their result dtypes), int8/int16/uint8 arithmetic that wraps, mixed
Python int/float scalars with weak types, float16 compute and `finfo`/`iinfo`,
round-half-to-even, `floor_divide`, `%`, `fmod` and `divmod` on negatives, shifts and
bitwise ops, and a symmetric int8 quantiser with its straight-through gradient."""
import jax
import jax.numpy as jnp
from jax import lax, random


def normalize(images):
    x = images.astype(jnp.float32) / 255.0
    mean = x.mean(axis=(0, 1, 2))
    std = x.std(axis=(0, 1, 2))
    return (x - mean) / std


def to_uint8(x):
    return jnp.clip(jnp.round(x * 255.0), 0, 255).astype(jnp.uint8)


def quantize(x, bits=8):
    qmax = 2 ** (bits - 1) - 1
    scale = jnp.max(jnp.abs(x)) / qmax
    q = jnp.clip(jnp.round(x / scale), -qmax, qmax).astype(jnp.int8)
    return q, scale


def fake_quant(x):
    q, scale = quantize(x)
    return x + lax.stop_gradient(q.astype(jnp.float32) * scale - x)


def run():
    key = random.PRNGKey(1)
    images = random.randint(key, (2, 3, 5, 3), 0, 256).astype(jnp.uint8)
    a8 = jnp.array([100, 127, -128, -7, 50], dtype=jnp.int8)
    u8 = jnp.array([250, 3, 128, 0, 255], dtype=jnp.uint8)
    i16 = jnp.array([30000, -30000, 1234, -1, 7], dtype=jnp.int16)
    neg = jnp.array([-7, -6, -1, 0, 5, 7])
    h = jnp.array([-2.0, -1.25, -0.5, 0.0, 0.3, 1.1, 2.0], dtype=jnp.float16)
    x = random.normal(random.fold_in(key, 2), (6,))
    q, scale = quantize(x)
    return {
        "normalized": normalize(images)[0, 0],
        "roundtrip": to_uint8(images.astype(jnp.float32) / 255.0)[1, 2],
        "sum_uint8": jnp.sum(images, axis=(1, 2, 3)),
        "sum_uint8_keep": jnp.sum(images, axis=0, dtype=jnp.uint8)[0, 0],
        "mean_uint8": jnp.mean(images, axis=(0, 3)),
        "max_uint8": images.max(axis=(1, 2)),
        "cumsum_int8": jnp.cumsum(a8),
        "int8_wrap": a8 + a8,
        "int8_times_scalar": a8 * 3,
        "int8_plus_float": a8 + 0.5,
        "uint8_minus": u8 - jnp.uint8(10),
        "uint8_neg": -u8,
        "int16_wrap": i16 * 2,
        "int16_shift": i16 >> 3,
        "uint8_shift": u8 >> 1,
        "left_shift": jnp.left_shift(a8, 1),
        "bitwise": (u8 & 0x0F) | (u8 ^ 0xF0),
        "invert": ~a8,
        "floor_divide": neg // 3,
        "mod": neg % 3,
        "mod_negdiv": neg % -4,
        "fmod": jnp.fmod(neg, 3),
        "divmod_float": jnp.stack(jnp.divmod(neg.astype(jnp.float32) + 0.5, 2.0)),
        "true_divide": neg / 4,
        "int_pow": neg ** 2,
        "round_half_even": jnp.round(jnp.array([0.5, 1.5, 2.5, -0.5, -1.5, 2.675]), 0),
        "round_2": jnp.round(jnp.array([2.675, -1.005, 0.125]), 2),
        "float_to_int": jnp.array([-1.7, -0.2, 0.9, 2.5]).astype(jnp.int32),
        "float_to_uint8": jnp.array([0.0, 1.9, 200.7, 255.0]).astype(jnp.uint8),
        "f16_compute": jnp.exp(h) * h + 1,
        "f16_sum": jnp.sum(h * h),
        "f16_mean": jnp.mean(h),
        "f16_times_python_float": h * 3.3,
        "f16_plus_int": h + jnp.int32(2),
        "finfo_f16": jnp.array([jnp.finfo(jnp.float16).eps, jnp.finfo(jnp.float16).max,
                                jnp.finfo(jnp.float16).tiny], dtype=jnp.float32),
        "finfo_f32": jnp.array([jnp.finfo(jnp.float32).eps, jnp.finfo(jnp.float32).max]),
        "iinfo": jnp.array([jnp.iinfo(jnp.int8).min, jnp.iinfo(jnp.int16).max,
                            jnp.iinfo(jnp.uint8).max]),
        "python_scalars": jnp.arange(4) * 2.5 + 1,
        "int_div_python": jnp.arange(5) // 2 + jnp.arange(5) % 2,
        "quantized": q,
        "scale": scale,
        "fake_quant_grad": jax.grad(lambda v: jnp.sum(fake_quant(v) ** 2))(x),
        "bool_sum": jnp.sum(images > 128),
        "bool_arith": (images[0, 0, 0] > 100) + (images[0, 0, 0] > 200),
        "uint32_wrap": jnp.array([4294967295, 1], dtype=jnp.uint32) + jnp.uint32(1),
        "int32_overflow": jnp.array([2147483647], dtype=jnp.int32) + 1,
        "abs_int8_min": jnp.abs(jnp.array([-128, -3], dtype=jnp.int8)),
        "empty_sum": jnp.sum(jnp.zeros((0, 3), jnp.uint8), axis=0),
        "empty_max": jnp.max(jnp.zeros((0, 3)), axis=0, initial=-1.0),
    }


if __name__ == "__main__":
    print(run())
