"""Entropic optimal transport as OTT-style JAX code writes it: a squared-Euclidean cost
matrix, Sinkhorn iterations in log space with `jax.scipy.special.logsumexp` (dual
potentials f and g), a `lax.while_loop` that stops once the marginal error falls under a
tolerance (its iteration count returned in the state), a fixed-count `lax.fori_loop`
variant that `jax.grad` differentiates to give the gradient of the transport cost with
respect to the point positions, the Sinkhorn divergence (debiased cost), unbalanced
weights with zero-mass points, a barycentric projection of the plan, `vmap` over a batch
of problems with different epsilons (the tolerance loop batched too, each problem
stopping after its own count), `jax.jvp` through the `while_loop` for the sensitivity of
the potentials to epsilon, and `jit` with a static iteration count."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax, random
from jax.scipy.special import logsumexp


def cost_matrix(x, y):
    return jnp.sum((x[:, None, :] - y[None, :, :]) ** 2, axis=-1)


def log_kernel_step(f, g, c, log_a, log_b, eps):
    f = eps * log_a - eps * logsumexp((g[None, :] - c) / eps, axis=1)
    g = eps * log_b - eps * logsumexp((f[:, None] - c) / eps, axis=0)
    return f, g


def plan_from_potentials(f, g, c, eps):
    return jnp.exp((f[:, None] + g[None, :] - c) / eps)


def sinkhorn_tol(c, a, b, eps, tol=1e-4, max_iter=500):
    log_a, log_b = jnp.log(a), jnp.log(b)

    def marginal_err(f, g):
        p = plan_from_potentials(f, g, c, eps)
        return jnp.sum(jnp.abs(jnp.sum(p, axis=1) - a))

    def cond(state):
        f, g, it, err = state
        return jnp.logical_and(it < max_iter, err > tol)

    def body(state):
        f, g, it, _ = state
        f, g = log_kernel_step(f, g, c, log_a, log_b, eps)
        return f, g, it + 1, marginal_err(f, g)

    init = (jnp.zeros_like(a), jnp.zeros_like(b), jnp.int32(0), jnp.float32(jnp.inf))
    f, g, it, err = lax.while_loop(cond, body, init)
    return f, g, it, err


def sinkhorn_fixed(c, a, b, eps, n_iter):
    # jnp.where keeps log(0) weights from poisoning the potentials
    log_a = jnp.where(a > 0, jnp.log(jnp.where(a > 0, a, 1.0)), -jnp.inf)
    log_b = jnp.where(b > 0, jnp.log(jnp.where(b > 0, b, 1.0)), -jnp.inf)

    def body(i, fg):
        return log_kernel_step(*fg, c, log_a, log_b, eps)

    f, g = lax.fori_loop(0, n_iter, body, (jnp.zeros_like(a), jnp.zeros_like(b)))
    return f, g


def transport_cost(x, y, a, b, eps=0.5, n_iter=30):
    c = cost_matrix(x, y)
    f, g = sinkhorn_fixed(c, a, b, eps, n_iter)
    p = plan_from_potentials(f, g, c, eps)
    return jnp.sum(p * c)


def dual_objective(x, y, a, b, eps=0.5, n_iter=30):
    c = cost_matrix(x, y)
    f, g = sinkhorn_fixed(c, a, b, eps, n_iter)
    return jnp.dot(f, a) + jnp.dot(g, b)


def sinkhorn_divergence(x, y, a, b, eps=0.5):
    return (dual_objective(x, y, a, b, eps) - 0.5 * dual_objective(x, x, a, a, eps)
            - 0.5 * dual_objective(y, y, b, b, eps))


@partial(jax.jit, static_argnames=("n_iter",))
def batched_costs(xs, ys, eps, n_iter=40):
    n, m = xs.shape[1], ys.shape[1]
    a = jnp.full((n,), 1.0 / n)
    b = jnp.full((m,), 1.0 / m)

    def one(x, y, e):
        c = cost_matrix(x, y)
        f, g = sinkhorn_fixed(c, a, b, e, n_iter)
        p = plan_from_potentials(f, g, c, e)
        return jnp.sum(p * c), jnp.argmax(p, axis=1)

    return jax.vmap(one)(xs, ys, eps)


def run():
    kx, ky, kw, kb = random.split(random.PRNGKey(11), 4)
    x = random.normal(kx, (7, 2))
    y = random.normal(ky, (6, 2)) * 0.8 + jnp.array([1.0, -0.5])
    a = jax.nn.softmax(random.normal(kw, (7,)))
    b = jnp.ones(6) / 6
    c = cost_matrix(x, y)
    f, g, iters, err = jax.jit(sinkhorn_tol)(c, a, b, 0.2)
    plan = plan_from_potentials(f, g, c, 0.2)
    f2, g2 = jax.jit(sinkhorn_fixed, static_argnums=4)(c, a, b, 0.2, 80)
    plan_fixed = plan_from_potentials(f2, g2, c, 0.2)

    cost, (gx, gy) = jax.value_and_grad(transport_cost, argnums=(0, 1))(x, y, a, b)
    grad_weights = jax.grad(dual_objective, argnums=2)(x, y, a, b)
    div = jax.jit(sinkhorn_divergence)(x, y, a, b)
    div_self = sinkhorn_divergence(x, x, a, a)

    # a few gradient-flow steps moving x towards y
    def flow_step(x, _):
        loss, gx = jax.value_and_grad(sinkhorn_divergence)(x, y, a, b)
        return x - 0.5 * gx / a[:, None], loss

    x_final, flow_losses = lax.scan(flow_step, x, None, length=5)

    # unbalanced support: two points carry no mass
    a0 = jnp.array([0.3, 0.0, 0.2, 0.0, 0.25, 0.15, 0.1])
    f0, g0 = sinkhorn_fixed(c, a0, b, 0.2, 80)
    plan0 = plan_from_potentials(f0, g0, c, 0.2)
    bary = (plan / jnp.sum(plan, axis=1, keepdims=True)) @ y

    xs = random.normal(kb, (3, 5, 2))
    ys = xs[:, ::-1] + 0.3
    bcost, bmatch = batched_costs(xs, ys, jnp.array([0.05, 0.1, 0.5]))

    # the tolerance loop batched over epsilon: each problem stops after its own count
    eps_grid = jnp.array([0.15, 0.3, 0.6, 1.2])
    fb, gb, iters_b, err_b = jax.vmap(sinkhorn_tol, in_axes=(None, None, None, 0))(
        c, a, b, eps_grid)
    # forward-mode sensitivity of the potentials to epsilon through the while_loop
    _, df_deps = jax.jvp(lambda e: sinkhorn_tol(c, a, b, e)[0], (0.5,), (1.0,))

    return {
        "cost_matrix": c,
        "while_iters": iters,
        "while_err_below_tol": err <= 1e-4,
        "plan": plan,
        "plan_row_sums": jnp.sum(plan, axis=1),
        "plan_col_sums": jnp.sum(plan, axis=0),
        "fixed_vs_tol_maxdiff_small": jnp.max(jnp.abs(plan_fixed - plan)) < 1e-3,
        "potentials_fixed": jnp.concatenate([f2, g2]),
        "transport_cost": cost,
        "grad_x": gx,
        "grad_y": gy,
        "grad_weights": grad_weights,
        "divergence": div,
        "divergence_self": div_self,
        "flow_losses": flow_losses,
        "x_final": x_final,
        "plan_zero_mass_rows": plan0[jnp.array([1, 3])],
        "plan_zero_mass_col_sums": jnp.sum(plan0, axis=0),
        "barycentric": bary,
        "batched_costs": bcost,
        "batched_match": bmatch,
        "eps_grid_iters": iters_b,
        "eps_grid_converged": err_b <= 1e-4,
        "eps_grid_f": fb,
        "eps_grid_g_sum": jnp.sum(gb, axis=1),
        "df_deps": df_deps,
    }


if __name__ == "__main__":
    print(run())
