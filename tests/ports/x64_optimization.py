"""Unconstrained optimisation in double precision (`jax.enable_x64(True)`), written the
way JAX's docs build solvers from `grad`, `hessian` and `lax` loops: BFGS with a
backtracking Armijo line search in nested `lax.while_loop`s on the Rosenbrock function
(iterations to a 1e-10 gradient norm, the final point and inverse Hessian approximation),
L-BFGS's two-loop recursion over a history kept in fixed-size buffers (`lax.fori_loop`
with `.at[].set` and `jnp.roll`), Newton's method with `jax.hessian` and
`jnp.linalg.solve`, Gauss-Newton for an exponential fit using `jax.jacfwd` and
`jnp.linalg.lstsq`, conjugate gradients on an SPD system to a 1e-12 residual (the
iteration count), golden-section search for a 1-D minimum, and `vmap` of the Newton
solver over starting points."""
import jax
import jax.numpy as jnp
from jax import lax


def rosen(x):
    return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def line_search(f, x, fx, g, p):
    slope = jnp.dot(g, p)

    def cond(c):
        t, k = c
        return (f(x + t * p) > fx + 1e-4 * t * slope) & (k < 60)

    def body(c):
        t, k = c
        return 0.5 * t, k + 1
    return lax.while_loop(cond, body, (jnp.float64(1.0), 0))[0]


def bfgs(f, x0, tol=1e-10, max_iter=500):
    grad = jax.grad(f)
    n = x0.size

    def cond(c):
        x, g, h, k = c
        return (jnp.linalg.norm(g) > tol) & (k < max_iter)

    def body(c):
        x, g, h, k = c
        p = -h @ g
        t = line_search(f, x, f(x), g, p)
        s = t * p
        x_new = x + s
        g_new = grad(x_new)
        y = g_new - g
        sy = jnp.dot(s, y)
        rho = jnp.where(sy > 1e-16, 1.0 / sy, 0.0)
        eye = jnp.eye(n)
        h_new = (eye - rho * jnp.outer(s, y)) @ h @ (eye - rho * jnp.outer(y, s)) + rho * jnp.outer(
            s, s)
        return x_new, g_new, h_new, k + 1
    return lax.while_loop(cond, body, (x0, grad(x0), jnp.eye(n), 0))


def lbfgs(f, x0, m=5, iters=60):
    grad = jax.grad(f)
    n = x0.size

    def direction(g, s_hist, y_hist, count):
        def first(i, c):
            q, alphas = c
            j = m - 1 - i
            sy = jnp.dot(y_hist[j], s_hist[j])
            valid = (i < count) & (sy > 1e-30)
            rho = 1.0 / jnp.where(valid, sy, 1.0)
            a = jnp.where(valid, rho * jnp.dot(s_hist[j], q), 0.0)
            return q - a * y_hist[j], alphas.at[j].set(a)
        q, alphas = lax.fori_loop(0, m, first, (g, jnp.zeros(m)))
        yy = jnp.dot(y_hist[-1], y_hist[-1])
        gamma = jnp.where(yy > 1e-30, jnp.dot(s_hist[-1], y_hist[-1]) / jnp.where(yy > 1e-30, yy, 1.0),
                          1.0)
        r = gamma * q

        def second(j, r):
            sy = jnp.dot(y_hist[j], s_hist[j])
            valid = ((m - 1 - j) < count) & (sy > 1e-30)
            rho = 1.0 / jnp.where(valid, sy, 1.0)
            b = rho * jnp.dot(y_hist[j], r)
            return r + jnp.where(valid, (alphas[j] - b), 0.0) * s_hist[j]
        return -lax.fori_loop(0, m, second, r)

    def step(i, c):
        x, g, s_hist, y_hist, count = c
        p = direction(g, s_hist, y_hist, count)
        t = line_search(f, x, f(x), g, p)
        x_new = x + t * p
        g_new = grad(x_new)
        s_hist = jnp.roll(s_hist, -1, axis=0).at[-1].set(x_new - x)
        y_hist = jnp.roll(y_hist, -1, axis=0).at[-1].set(g_new - g)
        return x_new, g_new, s_hist, y_hist, jnp.minimum(count + 1, m)

    init = (x0, grad(x0), jnp.zeros((m, n)), jnp.zeros((m, n)), 0)
    return lax.fori_loop(0, iters, step, init)


def newton(f, x0, steps=12):
    g, h = jax.grad(f), jax.hessian(f)
    return lax.fori_loop(0, steps, lambda i, x: x - jnp.linalg.solve(h(x), g(x)), x0)


def gauss_newton(t, y, theta0, steps=15):
    def resid(theta):
        return theta[0] * jnp.exp(-theta[1] * t) + theta[2] - y

    def body(i, theta):
        jac = jax.jacfwd(resid)(theta)
        delta = jnp.linalg.lstsq(jac, -resid(theta))[0]
        return theta + delta
    theta = lax.fori_loop(0, steps, body, theta0)
    return theta, jnp.sum(resid(theta) ** 2)


def conjugate_gradient(a, b, tol=1e-12):
    def cond(c):
        x, r, p, rs, k = c
        return (jnp.sqrt(rs) > tol) & (k < 100)

    def body(c):
        x, r, p, rs, k = c
        ap = a @ p
        alpha = rs / jnp.dot(p, ap)
        x = x + alpha * p
        r = r - alpha * ap
        rs_new = jnp.dot(r, r)
        return x, r, r + rs_new / rs * p, rs_new, k + 1
    return lax.while_loop(cond, body, (jnp.zeros_like(b), b, b, jnp.dot(b, b), 0))


def golden(f, lo, hi, iters=60):
    phi = (jnp.sqrt(5.0) - 1.0) / 2.0

    def body(i, c):
        a, b = c
        x1, x2 = b - phi * (b - a), a + phi * (b - a)
        return jnp.where(f(x1) < f(x2), a, x1), jnp.where(f(x1) < f(x2), x2, b)
    a, b = lax.fori_loop(0, iters, body, (lo, hi))
    return 0.5 * (a + b)


def run():
    with jax.enable_x64(True):
        x_b, g_b, h_b, it_b = bfgs(rosen, jnp.array([-1.2, 1.0, 0.8]))
        x_l, g_l, _, _, _ = lbfgs(rosen, jnp.array([-1.2, 1.0, 0.8]), iters=80)
        quad = lambda x: jnp.sum((x - jnp.arange(3.0)) ** 4) + jnp.sum(x ** 2)
        x_n = newton(quad, jnp.zeros(3))
        starts = jnp.array([[0.5, 0.5, 0.5], [3.0, -2.0, 1.0], [-1.0, 4.0, 2.0]])
        batch = jax.vmap(lambda s: newton(quad, s))(starts)

        t = jnp.linspace(0.0, 4.0, 12)
        y = 2.5 * jnp.exp(-0.7 * t) + 0.3 + 0.01 * jnp.sin(7.0 * t)
        theta, sse = gauss_newton(t, y, jnp.array([1.0, 0.3, 0.0]))

        k = jnp.arange(6.0)
        a = jnp.exp(-jnp.abs(k[:, None] - k[None, :])) + jnp.eye(6)
        b = jnp.cos(k)
        x_cg, r_cg, _, _, it_cg = conjugate_gradient(a, b)

        xmin = golden(lambda v: jnp.cosh(v - 0.3) + 0.1 * v ** 2, -2.0, 3.0)
        return {
            "bfgs_x": x_b,
            "bfgs_iters": it_b,
            "bfgs_converged": jnp.linalg.norm(g_b) <= 1e-10,
            "bfgs_inv_hessian": h_b,
            "lbfgs_x": x_l,
            "lbfgs_grad_small": jnp.linalg.norm(g_l) < 1e-8,
            "newton_x": x_n,
            "newton_grad": jnp.max(jnp.abs(jax.grad(quad)(x_n))) < 1e-12,
            "newton_batch": batch,
            "gauss_newton": theta,
            "gauss_newton_sse": sse,
            "cg_x": x_cg,
            "cg_iters": it_cg,
            "cg_residual_small": jnp.linalg.norm(a @ x_cg - b) < 1e-11,
            "golden": xmin,
            "dtypes": " ".join(str(v.dtype) for v in (x_b, it_b, h_b, theta, it_cg, xmin)),
        }


if __name__ == "__main__":
    print(run())
