"""Integer quantisation as inference and quantisation-aware-training code writes it in JAX:
symmetric int8 per-tensor and per-channel (`jnp.max(jnp.abs(...), axis, keepdims=True)`)
scales, `jnp.round` (half to even) then `jnp.clip` then `astype(jnp.int8)`, values exactly
at +-127.5 and at the clip edges, asymmetric uint8 with a zero point, int8 x int8 matrix
products accumulated in int32 with `lax.dot_general(preferred_element_type=...)`,
`jnp.matmul(preferred_element_type=...)` and `jnp.einsum(preferred_element_type=...)`,
rescaling the int32 accumulator, fake quantisation with a straight-through estimator
(`x + lax.stop_gradient(q - x)`) and its gradient, a learned step size (LSQ-style) with its
gradient, stochastic rounding with `random.uniform`, packing two int4 values per uint8
byte with shifts and masks (and unpacking with sign extension), `jnp.iinfo` bounds, and
integer arithmetic of the quantised tensors (int8 sums widening to int32, `astype` wrap-
around of in-range integer casts)."""
import jax
import jax.numpy as jnp
from jax import lax, random


def quantize_sym(x, axis=None, bits=8):
    qmax = 2 ** (bits - 1) - 1
    amax = jnp.max(jnp.abs(x), axis=axis, keepdims=axis is not None)
    scale = jnp.where(amax == 0, 1.0, amax / qmax)
    q = jnp.clip(jnp.round(x / scale), -qmax - 1, qmax).astype(jnp.int8)
    return q, scale


def quantize_asym(x):
    lo, hi = jnp.minimum(jnp.min(x), 0.0), jnp.maximum(jnp.max(x), 0.0)
    scale = (hi - lo) / 255.0
    zero_point = jnp.clip(jnp.round(-lo / scale), 0, 255).astype(jnp.uint8)
    q = jnp.clip(jnp.round(x / scale) + zero_point, 0, 255).astype(jnp.uint8)
    return q, scale, zero_point


def dequantize_asym(q, scale, zero_point):
    return (q.astype(jnp.int32) - zero_point.astype(jnp.int32)).astype(jnp.float32) * scale


def fake_quant_ste(x, scale):
    q = jnp.clip(jnp.round(x / scale), -128, 127) * scale
    return x + lax.stop_gradient(q - x)


def lsq_quant(x, step, qmin=-8, qmax=7):
    g = 1.0 / jnp.sqrt(x.size * qmax)
    s = step * g + lax.stop_gradient(step - step * g)   # gradient scaled by g
    v = jnp.clip(x / s, qmin, qmax)
    v = v + lax.stop_gradient(jnp.round(v) - v)
    return v * s


def stochastic_round(key, x):
    floor = jnp.floor(x)
    return floor + (random.uniform(key, x.shape) < (x - floor)).astype(x.dtype)


def pack_int4(a, b):
    a_bits = a.astype(jnp.uint8) & 0x0F
    b_bits = b.astype(jnp.uint8) & 0x0F
    return (a_bits | (b_bits << 4)).astype(jnp.uint8)


def unpack_int4(packed):
    lo = (packed & 0x0F).astype(jnp.int8)
    hi = (packed >> 4).astype(jnp.int8)
    sign_extend = lambda v: jnp.where(v >= 8, v - 16, v).astype(jnp.int8)  # noqa: E731
    return sign_extend(lo), sign_extend(hi)


def run():
    key = random.PRNGKey(8)
    k1, k2, k3 = random.split(key, 3)
    w = random.normal(k1, (6, 5))
    x = random.normal(k2, (4, 6)) * 3.0
    edges = jnp.array([-128.6, -127.5, -126.5, -0.5, 0.5, 1.5, 2.5, 126.5, 127.4, 127.5,
                       300.0])
    q_tensor, s_tensor = quantize_sym(w)
    q_chan, s_chan = quantize_sym(w, axis=0)
    qx, sx = quantize_sym(x, axis=1)
    acc = lax.dot_general(qx, q_chan, (((1,), (0,)), ((), ())),
                          preferred_element_type=jnp.int32)
    acc_mm = jnp.matmul(qx, q_chan, preferred_element_type=jnp.int32)
    acc_es = jnp.einsum("ij,jk->ik", qx, q_chan, preferred_element_type=jnp.int32)
    y_int = acc.astype(jnp.float32) * sx * s_chan
    qa, sa, zp = quantize_asym(x)
    ste_grad = jax.grad(lambda v: jnp.sum(fake_quant_ste(v, 0.5) ** 2))(edges / 100.0)
    lsq_val, lsq_grads = jax.value_and_grad(
        lambda v, s: jnp.sum(lsq_quant(v, s) * jnp.arange(6.0)), argnums=(0, 1))(x[0], 0.4)
    sr = stochastic_round(k3, jnp.full((64,), 2.25))
    a4 = jnp.array([-8, -1, 0, 3, 7, -5], jnp.int8)
    b4 = jnp.array([7, 0, -8, -3, 1, 2], jnp.int8)
    packed = pack_int4(a4, b4)
    ua, ub = unpack_int4(packed)
    i8 = jnp.array([127, -128, 100, -100], jnp.int8)
    return {
        "round_edges": jnp.round(edges),
        "clip_cast_edges": jnp.clip(jnp.round(edges), -128, 127).astype(jnp.int8),
        "q_tensor": q_tensor,
        "s_tensor": s_tensor,
        "q_chan": q_chan,
        "s_chan": s_chan,
        "dequant_err_tensor": jnp.max(jnp.abs(q_tensor * s_tensor - w)),
        "dequant_chan_dtype": str((q_chan * s_chan).dtype),
        "acc": acc,
        "acc_dtype": str(acc.dtype),
        "acc_matmul": acc_mm,
        "acc_einsum": acc_es,
        "acc_plain_dtype": str(jnp.matmul(qx, q_chan).dtype),
        "acc_plain": jnp.matmul(qx, q_chan),
        "y_int": y_int,
        "y_float": x @ w,
        "asym_q": qa,
        "asym_scale": sa,
        "asym_zero_point": zp,
        "asym_dequant": dequantize_asym(qa, sa, zp),
        "ste": fake_quant_ste(edges / 100.0, 0.5),
        "ste_grad": ste_grad,
        "lsq_val": lsq_val,
        "lsq_grad_x": lsq_grads[0],
        "lsq_grad_step": lsq_grads[1],
        "stochastic_round_mean": jnp.mean(sr),
        "stochastic_round_values": sr[:16],
        "packed": packed,
        "unpacked_a": ua,
        "unpacked_b": ub,
        "iinfo": jnp.array([jnp.iinfo(jnp.int8).min, jnp.iinfo(jnp.int8).max,
                            jnp.iinfo(jnp.uint8).max, jnp.iinfo(jnp.int16).min]),
        "int8_sum": jnp.sum(i8),
        "int8_sum_dtype": str(jnp.sum(i8).dtype),
        "int8_add_wraps": i8 + i8,
        "int8_to_uint8": i8.astype(jnp.uint8),
        "int32_to_int8_wraps": jnp.array([200, -200, 256, 383], jnp.int32).astype(jnp.int8),
        "uint8_mean": jnp.mean(qa, axis=1),
        "int8_abs_min": jnp.abs(jnp.array([-128, -127], jnp.int8)),
        "int8_times_scale_dtype": str((q_tensor * 0.5).dtype),
        "int8_div_int8": jnp.array([7, -7], jnp.int8) // jnp.array([2, 2], jnp.int8),
        "int8_true_div_dtype": str((q_tensor / q_tensor.max()).dtype),
    }


if __name__ == "__main__":
    print(run())
