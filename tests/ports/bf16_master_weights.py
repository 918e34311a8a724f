"""Mixed-precision training as JAX users write it by hand: bfloat16 compute with a
float32 master copy of the parameters, float16 with a dynamic loss scale (scale up after
good steps, halve and skip on non-finite gradients, checked with `jnp.isfinite` over the
tree), `jnp.finfo` of the narrow types, `astype` round trips, weak-typed Python scalars
against bfloat16/float16/int8/uint8 arrays, `jnp.result_type` and `jnp.promote_types`,
and the x64-off defaults."""
import jax
import jax.numpy as jnp
from jax import random


def init(key):
    k1, k2 = random.split(key)
    return {"w1": random.normal(k1, (4, 8)) * 0.5, "b1": jnp.zeros(8),
            "w2": random.normal(k2, (8, 1)) * 0.5, "b2": jnp.zeros(1)}


def cast(tree, dtype):
    return jax.tree.map(lambda p: p.astype(dtype), tree)


def forward(params, x):
    h = jnp.tanh(x @ params["w1"] + params["b1"])
    return (h @ params["w2"] + params["b2"])[:, 0]


def loss_fn(params_half, x, y, scale):
    pred = forward(params_half, x.astype(params_half["w1"].dtype))
    loss = jnp.mean((pred.astype(jnp.float32) - y) ** 2)
    return loss * scale, loss


def all_finite(tree):
    return jnp.all(jnp.array([jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(tree)]))


@jax.jit
def bf16_step(master, x, y):
    grads, loss = jax.grad(loss_fn, has_aux=True)(cast(master, jnp.bfloat16), x, y, 1.0)
    grads = cast(grads, jnp.float32)
    master = jax.tree.map(lambda p, g: p - 0.1 * g, master, grads)
    return master, loss


@jax.jit
def f16_step(master, scale, good_steps, x, y):
    grads, loss = jax.grad(loss_fn, has_aux=True)(cast(master, jnp.float16), x, y, scale)
    grads = jax.tree.map(lambda g: g.astype(jnp.float32) / scale, grads)
    finite = all_finite(grads)
    new_master = jax.tree.map(lambda p, g: jnp.where(finite, p - 0.1 * g, p), master, grads)
    grow = good_steps >= 2
    scale = jnp.where(finite, jnp.where(grow, scale * 2.0, scale), scale / 2.0)
    good_steps = jnp.where(finite, jnp.where(grow, 0, good_steps + 1), 0)
    return new_master, scale, good_steps, loss, finite


def run():
    key = random.PRNGKey(7)
    kx, kp = random.split(key)
    x = random.normal(kx, (16, 4))
    y = jnp.sin(x[:, 0]) + 0.5 * x[:, 1]
    master = init(kp)
    bf_losses = []
    m = master
    for _ in range(5):
        m, loss = bf16_step(m, x, y)
        bf_losses.append(loss)
    m16, scale, good = master, jnp.float32(2.0 ** 15), jnp.int32(0)
    scales, finites, f16_losses = [], [], []
    for _ in range(6):
        m16, scale, good, loss, finite = f16_step(m16, scale, good, x, y)
        scales.append(scale)
        finites.append(finite)
        f16_losses.append(loss)
    bf = jnp.array([1.0, 1.00390625, 3.14159, 65504.0, 1e-3], dtype=jnp.bfloat16)
    h = jnp.array([1.0, 1.00390625, 3.14159, 65504.0, 1e-3], dtype=jnp.float16)
    i8 = jnp.array([120, -120, 5], dtype=jnp.int8)
    img = jnp.array([[0, 128, 255]], dtype=jnp.uint8)
    fb, fh = jnp.finfo(jnp.bfloat16), jnp.finfo(jnp.float16)
    return {
        "bf16_losses": jnp.stack(bf_losses),
        "bf16_loss_dtype": str(bf_losses[0].dtype),
        "bf16_master_w2": m["w2"][:, 0],
        "bf16_master_dtype": str(m["w1"].dtype),
        "f16_losses": jnp.stack(f16_losses),
        "f16_scales": jnp.stack(scales),
        "f16_finite": jnp.stack(finites),
        "f16_master_b1": m16["b1"],
        "bf16_values": bf.astype(jnp.float32),
        "f16_values": h.astype(jnp.float32),
        "bf16_roundtrip": jnp.float32(1.1).astype(jnp.bfloat16).astype(jnp.float32),
        "bf16_times_2": (bf * 2).astype(jnp.float32),
        "bf16_times_2_dtype": str((bf * 2).dtype),
        "bf16_plus_f16_dtype": str((bf + h).dtype),
        "bf16_plus_f16": (bf + h),
        "f16_overflow": h * 2.0,
        "f16_sum": jnp.sum(h),
        "bf16_sum": jnp.sum(bf).astype(jnp.float32),
        "bf16_mean_dtype": str(jnp.mean(bf).dtype),
        "f16_dot": jnp.dot(h[:3], h[:3]),
        "int8_plus_1": i8 + 1,
        "int8_plus_1_dtype": str((i8 + 1).dtype),
        "int8_times_float": i8 * 0.5,
        "int8_times_float_dtype": str((i8 * 0.5).dtype),
        "uint8_plus_1": img + 1,
        "uint8_plus_1_0": img + 1.0,
        "uint8_plus_1_0_dtype": str((img + 1.0).dtype),
        "uint8_div_255_dtype": str((img / 255).dtype),
        "uint8_minus_int32": img - jnp.int32(1),
        "int8_plus_uint8_dtype": str((i8 + img[0]).dtype),
        "finfo_bf16": jnp.array([fb.eps, fb.max, fb.tiny, fb.min], dtype=jnp.float32),
        "finfo_bits": jnp.array([fb.bits, fh.bits, fb.nmant, fh.nmant, fb.nexp, fh.nexp]),
        "finfo_f16": jnp.array([fh.eps, fh.resolution, fh.smallest_subnormal],
                               dtype=jnp.float32),
        "result_type": str(jnp.result_type(jnp.bfloat16, jnp.float16)) + " "
                       + str(jnp.result_type(jnp.int8, jnp.uint8)) + " "
                       + str(jnp.result_type(jnp.int16, 1.0)) + " "
                       + str(jnp.promote_types(jnp.uint32, jnp.int32)),
        "default_dtypes": " ".join(str(jnp.asarray(v).dtype) for v in (1, 1.0, True, 1j)),
        "arange_float": jnp.arange(0.0, 1.0, 0.25),
        "float64_request": str(jnp.zeros(2, dtype=jnp.float32).dtype),
        "nextafter_f16": jnp.nextafter(jnp.float16(1.0), jnp.float16(2.0)).astype(jnp.float32),
        "f16_nan_to_num": jnp.nan_to_num(jnp.array([jnp.inf, -jnp.inf, jnp.nan],
                                                   dtype=jnp.float16)),
        "bf16_grad": jax.grad(lambda v: jnp.sum(jnp.sin(v) * v))(bf[:3]).astype(jnp.float32),
        "bf16_grad_dtype": str(jax.grad(lambda v: jnp.sum(v * v))(bf[:3]).dtype),
        "f16_softmax": jax.nn.softmax(h[:3] / 4.0),
    }


if __name__ == "__main__":
    print(run())
