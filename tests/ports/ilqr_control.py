"""Iterative LQR swing-up of a cart-pole as trajectory-optimisation notebooks write it in
JAX: continuous dynamics integrated with a hand-written RK4 step, linearised along the
trajectory with `jax.jacfwd` (A and B at once with `argnums=(0, 1)`, batched over time with
`vmap`), a non-quadratic running and terminal cost whose derivatives come from `jax.grad`
and `jax.hessian` (of the cost of the stacked state-control vector, split into blocks),
the backward Riccati pass in `lax.scan(..., reverse=True)` solving for the gains with
`jnp.linalg.solve` (checked against `jnp.linalg.inv` and against
`jax.scipy.linalg.cho_factor`/`cho_solve`), the forward rollout in `lax.scan` with controls
limited by `jnp.clip`, a backtracking line search in `lax.while_loop`, and the iterations
in `lax.fori_loop` under `jit` (costs recorded with `.at[i].set`), and one more step run
eagerly for the final gains."""
import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.linalg import cho_factor, cho_solve

DT, T = 0.05, 24
NX, NU = 4, 1
U_MAX = 6.0
M_CART, M_POLE, LEN, G = 1.0, 0.2, 0.5, 9.81
X_GOAL = jnp.array([0.0, jnp.pi, 0.0, 0.0])
Q_DIAG = jnp.array([0.5, 1.0, 0.05, 0.05])


def cartpole(x, u):
    """x = (position, angle, velocity, angular velocity); angle 0 hangs down."""
    _, th, v, w = x
    f = u[0]
    s, c = jnp.sin(th), jnp.cos(th)
    den = M_CART + M_POLE * s ** 2
    acc = (f + M_POLE * s * (LEN * w ** 2 + G * c)) / den
    alpha = (-f * c - M_POLE * LEN * w ** 2 * c * s - (M_CART + M_POLE) * G * s) / (LEN * den)
    return jnp.array([v, w, acc, alpha])


def rk4(x, u):
    k1 = cartpole(x, u)
    k2 = cartpole(x + 0.5 * DT * k1, u)
    k3 = cartpole(x + 0.5 * DT * k2, u)
    k4 = cartpole(x + DT * k3, u)
    return x + DT / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)


def running_cost(x, u):
    dx = x - X_GOAL
    swing = 1.0 - jnp.cos(x[1] - jnp.pi)
    return 0.01 * (jnp.sum(Q_DIAG * dx ** 2) + swing) + 0.005 * jnp.sum(u ** 2)


def terminal_cost(x):
    dx = x - X_GOAL
    return 10.0 * jnp.sum(Q_DIAG * dx ** 2) + 5.0 * (1.0 - jnp.cos(x[1] - jnp.pi))


def rollout(x0, us):
    def step(x, u):
        return rk4(x, u), x
    x_final, xs = lax.scan(step, x0, us)
    return jnp.concatenate([xs, x_final[None]])


def total_cost(xs, us):
    return jnp.sum(jax.vmap(running_cost)(xs[:-1], us)) + terminal_cost(xs[-1])


def quadratize(xs, us):
    def stage(x, u):
        z = jnp.concatenate([x, u])
        split = lambda z: running_cost(z[:NX], z[NX:])
        g = jax.grad(split)(z)
        h = jax.hessian(split)(z)
        return g[:NX], g[NX:], h[:NX, :NX], h[NX:, NX:], h[NX:, :NX]
    return jax.vmap(stage)(xs[:-1], us)


def backward_pass(xs, us, reg=1e-3):
    A, B = jax.vmap(jax.jacfwd(rk4, argnums=(0, 1)))(xs[:-1], us)
    lx, lu, lxx, luu, lux = quadratize(xs, us)
    v_x = jax.grad(terminal_cost)(xs[-1])
    v_xx = jax.hessian(terminal_cost)(xs[-1])

    def step(carry, stage):
        v_x, v_xx = carry
        a, b, lx, lu, lxx, luu, lux = stage
        q_x = lx + a.T @ v_x
        q_u = lu + b.T @ v_x
        q_xx = lxx + a.T @ v_xx @ a
        q_uu = luu + b.T @ v_xx @ b + reg * jnp.eye(NU)
        q_ux = lux + b.T @ v_xx @ a
        k = -jnp.linalg.solve(q_uu, q_u)
        K = -jnp.linalg.solve(q_uu, q_ux)
        v_x = q_x + K.T @ q_uu @ k + K.T @ q_u + q_ux.T @ k
        v_xx = q_xx + K.T @ q_uu @ K + K.T @ q_ux + q_ux.T @ K
        v_xx = 0.5 * (v_xx + v_xx.T)
        return (v_x, v_xx), (k, K, q_uu, q_u, q_ux)

    _, (k, K, q_uu, q_u, q_ux) = lax.scan(step, (v_x, v_xx), (A, B, lx, lu, lxx, luu, lux),
                                          reverse=True)
    return k, K, (A, B), (q_uu, q_u, q_ux)


def forward_pass(x0, xs, us, k, K, alpha):
    def step(x, inputs):
        x_ref, u_ref, k_t, K_t = inputs
        u = jnp.clip(u_ref + alpha * k_t + K_t @ (x - x_ref), -U_MAX, U_MAX)
        return rk4(x, u), (x, u)
    x_final, (new_xs, new_us) = lax.scan(step, x0, (xs[:-1], us, k, K))
    new_xs = jnp.concatenate([new_xs, x_final[None]])
    return new_xs, new_us


def ilqr_step(x0, xs, us, cost):
    k, K, _, _ = backward_pass(xs, us)

    def cond(state):
        alpha, _, _, new_cost, tries = state
        return (new_cost >= cost) & (tries < 8)

    def body(state):
        alpha, _, _, _, tries = state
        alpha = jnp.where(tries == 0, 1.0, alpha * 0.5)
        new_xs, new_us = forward_pass(x0, xs, us, k, K, alpha)
        return alpha, new_xs, new_us, total_cost(new_xs, new_us), tries + 1

    alpha, new_xs, new_us, new_cost, tries = lax.while_loop(
        cond, body, (jnp.float32(1.0), xs, us, jnp.inf, 0))
    accept = new_cost < cost
    xs = jnp.where(accept, new_xs, xs)
    us = jnp.where(accept, new_us, us)
    return xs, us, jnp.minimum(new_cost, cost), alpha, tries, K


@jax.jit
def ilqr(x0, us, iters=6):
    xs = rollout(x0, us)
    cost0 = cost = total_cost(xs, us)

    def body(i, state):
        xs, us, cost, costs, alphas, tries = state
        xs, us, cost, alpha, n, _ = ilqr_step(x0, xs, us, cost)
        return (xs, us, cost, costs.at[i].set(cost), alphas.at[i].set(alpha),
                tries.at[i].set(n))

    init = (xs, us, cost, jnp.zeros(iters), jnp.zeros(iters), jnp.zeros(iters, jnp.int32))
    xs, us, cost, costs, alphas, tries = lax.fori_loop(0, iters, body, init)
    return xs, us, jnp.concatenate([cost0[None], costs]), alphas, tries


def run():
    x0 = jnp.array([0.0, 0.1, 0.0, 0.0])
    t = jnp.arange(T) * DT
    us0 = (2.0 * jnp.sin(4.0 * t))[:, None].astype(jnp.float32)
    xs0 = rollout(x0, us0)
    cost0 = total_cost(xs0, us0)
    k, K, (A, B), (q_uu, q_u, q_ux) = backward_pass(xs0, us0)
    K_inv = -jnp.linalg.inv(q_uu) @ q_ux
    K_cho = -jax.vmap(lambda a, b: cho_solve(cho_factor(a), b))(q_uu, q_ux)
    xs, us, costs, alphas, tries = ilqr(x0, us0)
    _, _, _, _, _, K_last = ilqr_step(x0, xs, us, costs[-1])
    return {
        "xs0": xs0[::4],
        "cost0": cost0,
        "A0": A[0],
        "B0": B[0],
        "B_last": B[-1],
        "k_ff": k[:, 0],
        "K0": K[0],
        "K_mid": K[T // 2],
        "K_inv_close": jnp.allclose(K, K_inv, rtol=1e-4, atol=1e-5),
        "K_cho_close": jnp.allclose(K, K_cho, rtol=1e-4, atol=1e-5),
        "q_uu": q_uu[::3, 0, 0],
        "costs": costs,
        "costs_decrease": jnp.all(jnp.diff(costs[1:]) <= 0),
        "alphas": alphas,
        "line_search_tries": tries,
        "final_states": xs[::3],
        "final_controls": us[:, 0],
        "controls_within_limits": jnp.all(jnp.abs(us) <= U_MAX),
        "final_K0": K_last[0],
    }


if __name__ == "__main__":
    print(run())
