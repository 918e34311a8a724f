"""A small complex-valued network, as signal-processing models write them in JAX:
weights from `jax.nn.initializers.variance_scaling` with complex dtypes (uniform and
truncated-normal draws, `fan_geo_avg` and `fan_avg` modes), a modReLU-style activation
written with `jnp.abs`/`jnp.angle`, a real loss of complex outputs (`jnp.abs(...) ** 2`),
its gradients (JAX's convention: the conjugate of the Wirtinger derivative), and a few
steps of gradient descent on the complex weights."""
import jax
import jax.numpy as jnp
from jax import random
from jax.nn import initializers


def modrelu(z, b):
    mag = jnp.abs(z)
    return jnp.where(mag + b > 0, (mag + b) * jnp.exp(1j * jnp.angle(z)), 0.0 + 0.0j)


def forward(params, x):
    h = modrelu(x @ params["w1"], params["b1"])
    return h @ params["w2"]


def loss(params, x, y):
    return jnp.mean(jnp.abs(forward(params, x) - y) ** 2)


def run():
    key = random.PRNGKey(12)
    k1, k2, k3, k4 = random.split(key, 4)
    w1 = initializers.variance_scaling(1.0, "fan_geo_avg", "uniform",
                                       dtype=jnp.complex64)(k1, (4, 6))
    w2 = initializers.variance_scaling(1.0, "fan_avg", "truncated_normal",
                                       dtype=jnp.complex64)(k2, (6, 2))
    params = {"w1": w1, "w2": w2, "b1": jnp.full((6,), -0.1)}
    x = random.normal(k3, (8, 4), jnp.complex64)
    y = random.normal(k4, (8, 2), jnp.complex64)
    g = jax.grad(loss)(params, x, y)
    losses = []
    for _ in range(6):
        grads = jax.grad(loss)(params, x, y)
        params = jax.tree.map(lambda p, d: p - 0.1 * d, params, grads)
        losses.append(loss(params, x, y))
    return {
        "w1_real": w1.real,
        "w1_imag": w1.imag,
        "w1_dtype": str(w1.dtype),
        "w2_abs": jnp.abs(w2),
        "out_abs": jnp.abs(forward(params, x)),
        "grad_w1_real": g["w1"].real,
        "grad_w1_imag": g["w1"].imag,
        "grad_b1": g["b1"],
        "losses": jnp.stack(losses),
    }


if __name__ == "__main__":
    print(run())
