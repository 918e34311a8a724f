"""Double-precision time integration, as scientific JAX code runs it with 64-bit types on
(`jax.enable_x64(True)` around the computation): a Kepler orbit with classical RK4 inside
`lax.fori_loop` under `jit` (float64 state, conserved energy and angular momentum), the
same orbit with velocity Verlet in `lax.scan` (the trajectory kept), a convergence study
of both schemes (errors that only float64 resolves, observed orders from `jnp.log2`),
Richardson extrapolation, an adaptive RK45-style step controller in `lax.while_loop`
(accepted/rejected step counts as int64), a stiff linear ODE with backward Euler through
`jnp.linalg.solve`, the gradient of the final energy with respect to the initial velocity
(`jax.grad` in float64), and the dtypes JAX gives in x64 mode (the loop index, Python
scalars, `arange`/`linspace`/`zeros`)."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax


def kepler(state):
    q, p = state[:2], state[2:]
    r = jnp.sqrt(jnp.sum(q ** 2))
    return jnp.concatenate([p, -q / r ** 3])


def energy(state):
    q, p = state[:2], state[2:]
    return 0.5 * jnp.sum(p ** 2) - 1.0 / jnp.sqrt(jnp.sum(q ** 2))


def ang_mom(state):
    return state[0] * state[3] - state[1] * state[2]


def rk4_step(f, y, dt):
    k1 = f(y)
    k2 = f(y + 0.5 * dt * k1)
    k3 = f(y + 0.5 * dt * k2)
    k4 = f(y + dt * k3)
    return y + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


@partial(jax.jit, static_argnums=(1,))
def rk4(y0, n, t_final):
    dt = t_final / n
    return lax.fori_loop(0, n, lambda i, y: rk4_step(kepler, y, dt), y0)


def verlet(y0, n, t_final):
    dt = t_final / n

    def step(carry, _):
        q, p = carry
        a = kepler(jnp.concatenate([q, p]))[2:]
        p_half = p + 0.5 * dt * a
        q_new = q + dt * p_half
        a_new = kepler(jnp.concatenate([q_new, p_half]))[2:]
        p_new = p_half + 0.5 * dt * a_new
        return (q_new, p_new), jnp.concatenate([q_new, p_new])

    (q, p), traj = lax.scan(step, (y0[:2], y0[2:]), None, length=n)
    return jnp.concatenate([q, p]), traj


def rk45_adaptive(y0, t_final, tol):
    """Embedded RK4(5)-style control with step doubling: one step of h against two of h/2."""
    def cond(carry):
        t, y, h, acc, rej = carry
        return t < t_final

    def body(carry):
        t, y, h, acc, rej = carry
        h = jnp.minimum(h, t_final - t)
        big = rk4_step(kepler, y, h)
        half = rk4_step(kepler, rk4_step(kepler, y, 0.5 * h), 0.5 * h)
        err = jnp.max(jnp.abs(big - half)) / 15.0
        ok = err <= tol
        t_new = jnp.where(ok, t + h, t)
        y_new = jnp.where(ok, half + (half - big) / 15.0, y)
        factor = jnp.clip(0.9 * (tol / jnp.maximum(err, 1e-300)) ** 0.2, 0.2, 5.0)
        return (t_new, y_new, h * factor, acc + ok.astype(jnp.int64),
                rej + (~ok).astype(jnp.int64))

    init = (jnp.float64(0.0), y0, jnp.float64(0.1), jnp.int64(0), jnp.int64(0))
    return lax.while_loop(cond, body, init)


def backward_euler(a, y0, dt, n):
    eye = jnp.eye(a.shape[0], dtype=a.dtype)
    m = eye - dt * a
    return lax.fori_loop(0, n, lambda i, y: jnp.linalg.solve(m, y), y0)


def run():
    with jax.enable_x64(True):
        ecc = 0.5
        y0 = jnp.array([1.0 - ecc, 0.0, 0.0, jnp.sqrt((1.0 + ecc) / (1.0 - ecc))])
        period = 2.0 * jnp.pi
        final_rk4 = rk4(y0, 400, period)
        final_verlet, traj = verlet(y0, 400, period)

        ns = (50, 100, 200, 400)
        rk4_err = jnp.stack([jnp.max(jnp.abs(rk4(y0, n, period) - y0)) for n in ns])
        verlet_err = jnp.stack([jnp.max(jnp.abs(verlet(y0, n, period)[0] - y0)) for n in ns])
        rk4_order = jnp.log2(rk4_err[:-1] / rk4_err[1:])
        verlet_order = jnp.log2(verlet_err[:-1] / verlet_err[1:])
        coarse, fine = rk4(y0, 20, 1.0), rk4(y0, 40, 1.0)
        richardson = fine + (fine - coarse) / 15.0
        exact_ref = rk4(y0, 3200, 1.0)

        t_end, y_end, h_end, accepted, rejected = rk45_adaptive(y0, period, 1e-9)

        a = jnp.array([[-1000.0, 1.0], [0.0, -0.5]])
        stiff = backward_euler(a, jnp.array([1.0, 1.0]), 0.1, 20)

        de_dv = jax.grad(lambda v: energy(rk4(y0.at[3].set(v), 200, 3.0)))(y0[3])
        dfinal_dy0 = jax.jacfwd(lambda y: rk4(y, 100, 1.0))(y0)

        i_dtype = lax.fori_loop(0, 3, lambda i, c: c + i, 0)
        return {
            "final_rk4": final_rk4,
            "final_verlet": final_verlet,
            "verlet_traj_x": traj[::40, 0],
            "energy_drift_verlet": jnp.max(jnp.abs(jax.vmap(energy)(traj) - energy(y0))),
            "ang_mom_verlet": jax.vmap(ang_mom)(traj[::80]),
            "energy_rk4": energy(final_rk4),
            "rk4_err": rk4_err,
            "verlet_err": verlet_err,
            "rk4_order": rk4_order,
            "verlet_order": verlet_order,
            "richardson_err": jnp.max(jnp.abs(richardson - exact_ref)),
            "fine_err": jnp.max(jnp.abs(fine - exact_ref)),
            "adaptive_t": t_end,
            "adaptive_y": y_end,
            "adaptive_h": h_end,
            "adaptive_steps": jnp.stack([accepted, rejected]),
            "stiff": stiff,
            "de_dv": de_dv,
            "dfinal_dy0": dfinal_dy0,
            "dtypes": " ".join(str(x.dtype) for x in (
                final_rk4, accepted, jnp.asarray(i_dtype), jnp.arange(3), jnp.linspace(0, 1, 3),
                jnp.zeros(2), jnp.asarray(1.5), jnp.asarray(2), jnp.ones(2, jnp.float32) * 2.0,
                jnp.arange(3, dtype=jnp.int32) + 1, jnp.arange(3, dtype=jnp.uint32) + jnp.int32(1),
                jnp.sum(jnp.arange(3, dtype=jnp.int32)), jnp.mean(jnp.arange(3)),
                jnp.float32(1.0) + jnp.float64(1.0))),
        }


if __name__ == "__main__":
    print(run())
