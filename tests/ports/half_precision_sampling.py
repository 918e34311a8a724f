"""Sampling and initialising directly in float16 and bfloat16, as mixed-precision training
code does (JAX's `jax.random` and `jax.nn.initializers` docs): `random.uniform` with
`minval`/`maxval` in each half type, `truncated_normal` and `normal` in float16, the
`lecun_normal`/`glorot_uniform`/`he_normal`/`truncated_normal` initialisers with a float16
`dtype`, a bfloat16 dropout mask, Gumbel-max sampling of float16 logits, and a float16
`uniform` inside `jit` and `vmap` over keys."""
import jax
import jax.numpy as jnp
from jax import random
from jax.nn import initializers


def dropout(key, x, rate):
    keep = random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))


@jax.jit
def noisy_sample(key, logits):
    # Gumbel-max: argmax(logits + Gumbel noise) is a categorical sample.
    u = random.uniform(key, logits.shape, logits.dtype, minval=1e-3, maxval=1.0)
    return jnp.argmax(logits - jnp.log(-jnp.log(u)), axis=-1)


def run():
    key = random.PRNGKey(3)
    k = random.split(key, 10)
    out = {}
    for name, dt in (("f16", jnp.float16), ("bf16", jnp.bfloat16)):
        out[f"{name}_uniform_bounds"] = random.uniform(k[0], (16,), dt, minval=-0.5, maxval=0.75)
        out[f"{name}_uniform_narrow"] = random.uniform(k[1], (16,), dt, minval=0.1, maxval=0.3)
        out[f"{name}_uniform_wide"] = random.uniform(k[2], (4, 4), dt, -3.0, 7.0)
        out[f"{name}_uniform_arrays"] = random.uniform(
            k[3], (2, 4), dt, minval=jnp.array([-1.0, 0.0, 1.0, 2.0], dt), maxval=jnp.array(5.0, dt))
    out["f16_truncated_normal"] = random.truncated_normal(k[4], -2.0, 2.0, (12,), jnp.float16)
    out["f16_truncated_normal_1s"] = random.truncated_normal(k[5], -1.0, 1.0, (3, 4), jnp.float16)
    out["f16_normal"] = random.normal(k[6], (12,), jnp.float16)
    out["f16_lecun"] = initializers.lecun_normal()(k[7], (6, 3), jnp.float16)
    out["f16_glorot"] = initializers.glorot_uniform()(k[7], (4, 5), jnp.float16)
    out["f16_he"] = initializers.he_normal()(k[8], (3, 3, 2, 4), jnp.float16)
    out["f16_trunc_init"] = initializers.truncated_normal(0.02)(k[8], (8,), jnp.float16)
    out["f16_uniform_init"] = initializers.uniform(0.5)(k[9], (8,), jnp.float16)
    x = jnp.linspace(-1.0, 1.0, 12, dtype=jnp.bfloat16).reshape(3, 4)
    out["bf16_dropout"] = dropout(k[9], x, 0.25)
    logits = jnp.log(jnp.array([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25]], jnp.float16))
    out["gumbel_max"] = jax.vmap(noisy_sample, in_axes=(0, None))(random.split(k[0], 6), logits)
    out["f16_vmap_keys"] = jax.vmap(
        lambda kk: random.uniform(kk, (3,), jnp.float16, -2.0, 2.0))(random.split(k[1], 4))
    # bfloat16 results are recorded as float32 (exact: every bfloat16 is a float32).
    return {k: v.astype(jnp.float32) if v.dtype == jnp.bfloat16 else v for k, v in out.items()}


if __name__ == "__main__":
    print(run())
