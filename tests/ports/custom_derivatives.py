"""Custom derivative rules: `custom_vjp` for gradient clipping, for a norm that is safe at
zero, and for a fixed-point solver differentiated implicitly (with `nondiff_argnums`),
`custom_jvp` for a numerically stable log1pexp; used under `jit`, `vmap` and `grad` (JAX's
"custom derivative rules" tutorial)."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax


@jax.custom_vjp
def clip_gradient(lo, hi, x):
    return x


def clip_gradient_fwd(lo, hi, x):
    return x, (lo, hi)


def clip_gradient_bwd(res, g):
    lo, hi = res
    return None, None, jnp.clip(g, lo, hi)


clip_gradient.defvjp(clip_gradient_fwd, clip_gradient_bwd)


@jax.custom_vjp
def safe_norm(x):
    return jnp.sqrt(jnp.sum(x ** 2))


def safe_norm_fwd(x):
    n = safe_norm(x)
    return n, (x, n)


def safe_norm_bwd(res, g):
    x, n = res
    return (g * jnp.where(n > 0, x / jnp.where(n > 0, n, 1.0), 0.0),)


safe_norm.defvjp(safe_norm_fwd, safe_norm_bwd)


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def fixed_point(f, a, x_guess):
    def cond_fun(carry):
        x_prev, x = carry
        return jnp.abs(x_prev - x) > 1e-6

    def body_fun(carry):
        _, x = carry
        return x, f(a, x)

    _, x_star = lax.while_loop(cond_fun, body_fun, (x_guess, f(a, x_guess)))
    return x_star


def fixed_point_fwd(f, a, x_init):
    x_star = fixed_point(f, a, x_init)
    return x_star, (a, x_star)


def fixed_point_rev(f, res, x_star_bar):
    a, x_star = res
    _, vjp_a = jax.vjp(lambda a: f(a, x_star), a)
    _, vjp_x = jax.vjp(lambda x: f(a, x), x_star)
    # The adjoint solves w = x_star_bar + w df/dx (here a scalar: divide).
    (dfdx,) = vjp_x(1.0)
    (a_bar,) = vjp_a(x_star_bar / (1.0 - dfdx))
    return a_bar, jnp.zeros_like(x_star)


fixed_point.defvjp(fixed_point_fwd, fixed_point_rev)


@jax.custom_jvp
def log1pexp(x):
    return jnp.log1p(jnp.exp(x))


@log1pexp.defjvp
def log1pexp_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return log1pexp(x), x_dot * jax.nn.sigmoid(x)


def newton_sqrt_map(a, x):
    return 0.5 * (x + a / x)


def run():
    xs = jnp.array([-3.0, -0.5, 0.0, 0.5, 3.0])
    clipped = jax.vmap(jax.grad(lambda x: clip_gradient(-1.0, 1.0, 4.0 * x ** 2)))(xs)
    sqrt_of_2 = jax.jit(fixed_point, static_argnums=0)(newton_sqrt_map, 2.0, 1.0)
    d_sqrt = jax.grad(fixed_point, argnums=1)(newton_sqrt_map, 2.0, 1.0)
    d_sqrt_batch = jax.vmap(jax.grad(lambda a: fixed_point(newton_sqrt_map, a, 1.0)))(
        jnp.array([1.0, 4.0, 9.0]))
    big = jnp.array([-50.0, -1.0, 0.0, 1.0, 50.0, 200.0])
    return {
        "clipped_grads": clipped,
        "safe_norm_grad_zero": jax.grad(safe_norm)(jnp.zeros(3)),
        "safe_norm_grad": jax.jit(jax.grad(safe_norm))(jnp.array([3.0, 4.0])),
        "safe_norm_value": safe_norm(jnp.array([3.0, 4.0])),
        "sqrt_2": sqrt_of_2,
        "d_sqrt_2": d_sqrt,
        "d_sqrt_batch": d_sqrt_batch,
        "log1pexp": log1pexp(big),
        "log1pexp_grad": jax.vmap(jax.grad(log1pexp))(big),
        "log1pexp_second": jax.vmap(jax.grad(jax.grad(log1pexp)))(big[:4]),
        "log1pexp_jvp": jax.jvp(log1pexp, (big,), (jnp.ones_like(big),))[1],
    }


if __name__ == "__main__":
    print(run())
