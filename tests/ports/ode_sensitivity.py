"""ODE sensitivities: Lotka-Volterra integrated with a hand-written RK4 step inside
`lax.fori_loop` (static bounds, under `jit` with `static_argnums`), forward Euler for a
damped pendulum in `lax.scan` keeping the trajectory, `jax.jacfwd` and `jax.jacrev` of the
final state with respect to the parameters, `jax.hessian` of a fitting loss, and `vmap`
over initial conditions (the shape of JAX's "differentiable ODE" examples)."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax


def lotka_volterra(y, params):
    alpha, beta, delta, gamma = params
    prey, pred = y
    return jnp.array([alpha * prey - beta * prey * pred, delta * prey * pred - gamma * pred])


def rk4_step(f, y, dt, params):
    k1 = f(y, params)
    k2 = f(y + 0.5 * dt * k1, params)
    k3 = f(y + 0.5 * dt * k2, params)
    k4 = f(y + dt * k3, params)
    return y + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)


@partial(jax.jit, static_argnums=(2,))
def integrate(y0, params, n_steps, t_final=5.0):
    dt = t_final / n_steps
    return lax.fori_loop(0, n_steps, lambda i, y: rk4_step(lotka_volterra, y, dt, params), y0)


def pendulum(state, theta):
    angle, velocity = state[..., 0], state[..., 1]
    damping, length = theta
    acc = -9.81 / length * jnp.sin(angle) - damping * velocity
    return jnp.stack([velocity, acc], axis=-1)


def euler_trajectory(state0, theta, dt=0.01, n=150):
    def step(state, _):
        new = state + dt * pendulum(state, theta)
        return new, new[..., 0]
    final, angles = lax.scan(step, state0, None, length=n)
    return final, angles


def run():
    y0 = jnp.array([10.0, 5.0])
    params = jnp.array([1.1, 0.4, 0.1, 0.4])
    final = integrate(y0, params, 200)
    coarse = integrate(y0, params, 37)
    jac_fwd = jax.jacfwd(integrate, argnums=1)(y0, params, 50)
    jac_rev = jax.jacrev(integrate, argnums=(0, 1))(y0, params, 50)

    target = integrate(y0, jnp.array([1.0, 0.5, 0.12, 0.45]), 50)
    loss = lambda p: jnp.sum((integrate(y0, p, 50) - target) ** 2)
    hess = jax.hessian(loss)(params)
    grad_at_truth = jax.grad(loss)(jnp.array([1.0, 0.5, 0.12, 0.45]))

    theta = jnp.array([0.3, 1.2])
    starts = jnp.stack([jnp.linspace(0.1, 1.5, 5), jnp.zeros(5)], axis=1)
    finals, angles = jax.vmap(euler_trajectory, in_axes=(0, None), out_axes=(0, 1))(starts, theta)
    dfinal_dtheta = jax.jacfwd(lambda t: euler_trajectory(starts[2], t)[0])(theta)
    period_proxy = jax.grad(lambda t: jnp.sum(euler_trajectory(starts, t)[1] ** 2))(theta)
    return {
        "final": final,
        "coarse": coarse,
        "jac_fwd": jac_fwd,
        "jac_rev_y0": jac_rev[0],
        "jac_rev_params": jac_rev[1],
        "hessian": hess,
        "grad_at_truth": grad_at_truth,
        "pendulum_finals": finals,
        "pendulum_angles": angles[::10],
        "dfinal_dtheta": dfinal_dtheta,
        "batched_grad": period_proxy,
    }


if __name__ == "__main__":
    print(run())
