"""The functions a half-precision model runs, computed in bfloat16 and float16 as mixed-
precision code calls them (no casts to float32 in between): `jax.nn` activations (`gelu`
both forms, `silu`, `softplus`, `sigmoid`, `log_sigmoid`, `elu`, `mish`, `tanh`),
`softmax`/`log_softmax`, `logsumexp`, a layer norm with `jnp.mean`/`jnp.var`/`rsqrt`,
`jnp.linalg.norm`, `erf`/`erfc`, `exp`/`log`/`log1p`/`expm1`, `sqrt`/`cbrt`, `sin`/`cos`,
`arctan2`, `power` with float exponents, `jnp.round`, cumulative sums, `jnp.mean` with
`dtype=`, `jnp.dot`/`matmul` and `einsum` of half inputs, and a gradient in bfloat16."""
import jax
import jax.numpy as jnp
from jax.scipy.special import erf, erfc, logsumexp


def layer_norm(x, eps=1e-5):
    mu = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.var(x, axis=-1, keepdims=True)
    return (x - mu) * jax.lax.rsqrt(var + eps)


def per_dtype(dt):
    x = jnp.linspace(-4.0, 4.0, 17).astype(dt)
    m = (jnp.arange(24.0).reshape(4, 6) / 5.0 - 2.0).astype(dt)
    pos = jnp.linspace(0.05, 6.0, 9).astype(dt)
    f32 = jnp.float32
    return {
        "gelu_tanh": jax.nn.gelu(x),
        "gelu_exact": jax.nn.gelu(x, approximate=False),
        "silu": jax.nn.silu(x),
        "softplus": jax.nn.softplus(x),
        "sigmoid": jax.nn.sigmoid(x),
        "log_sigmoid": jax.nn.log_sigmoid(x),
        "elu": jax.nn.elu(x),
        "mish": jax.nn.mish(x),
        "tanh": jnp.tanh(x),
        "softmax": jax.nn.softmax(m, axis=-1),
        "log_softmax": jax.nn.log_softmax(m, axis=-1),
        "logsumexp": logsumexp(m, axis=-1),
        "layer_norm": layer_norm(m),
        "norm": jnp.linalg.norm(m, axis=-1),
        "erf": erf(x),
        "erfc": erfc(x),
        "exp": jnp.exp(x),
        "log": jnp.log(pos),
        "log1p": jnp.log1p(pos),
        "expm1": jnp.expm1(x),
        "sqrt": jnp.sqrt(pos),
        "cbrt": jnp.cbrt(x),
        "sin": jnp.sin(x),
        "cos": jnp.cos(x),
        "arctan2": jnp.arctan2(x, x[::-1]),
        "power": jnp.power(pos, jnp.asarray(1.7, dt)),
        "round": jnp.round(x * 3.3),
        "cumsum": jnp.cumsum(x),
        "mean_f32": jnp.mean(m, axis=0, dtype=f32),
        "matmul": m @ m.T,
        "einsum": jnp.einsum("ij,kj->ik", m, m[:2]),
        "grad_gelu": jax.vmap(jax.grad(jax.nn.gelu))(x),
        "grad_layer_norm": jax.grad(lambda a: jnp.sum(layer_norm(a) * a))(m),
    }


def run():
    out = {}
    for dt, tag in ((jnp.bfloat16, "bf16"), (jnp.float16, "f16")):
        for k, v in per_dtype(dt).items():
            out[f"{tag}_{k}"] = v.astype(jnp.float32)
            if k in ("softmax", "mean_f32", "matmul", "grad_gelu"):
                out[f"{tag}_{k}_dtype"] = str(v.dtype)
    return out


if __name__ == "__main__":
    print(run())
