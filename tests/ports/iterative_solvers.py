"""Iterative numerical methods under `jit`: Newton's method and bisection in
`lax.while_loop` with a convergence test (batched with `vmap`, so the loop runs until the
slowest element converges), power iteration checked against `eigh`, conjugate gradients
on an SPD system, `lax.switch` and `lax.cond` under `vmap`, batched `cholesky` +
`solve_triangular` (left/right, transposed) and `slogdet` on batches, `qr` in "r" and
"complete" modes, `pinv`, `eigvalsh` gradients, and `jax.scipy.linalg.block_diag`."""
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jax import lax, random


def newton(f, x0, tol=1e-6, max_iter=50):
    df = jax.grad(f)

    def cond(state):
        x, step, i = state
        return (jnp.abs(step) > tol) & (i < max_iter)

    def body(state):
        x, _, i = state
        step = f(x) / df(x)
        return x - step, step, i + 1

    x, _, iters = lax.while_loop(cond, body, (x0, jnp.array(1.0), 0))
    return x, iters


def bisect(f, lo, hi, tol=1e-5):
    def body(state):
        lo, hi = state
        mid = 0.5 * (lo + hi)
        go_left = jnp.sign(f(mid)) == jnp.sign(f(hi))
        return jnp.where(go_left, lo, mid), jnp.where(go_left, mid, hi)
    return lax.while_loop(lambda s: s[1] - s[0] > tol, body, (lo, hi))


def power_iteration(a, n_iter=100):
    def body(i, v):
        w = a @ v
        return w / jnp.linalg.norm(w)
    v = lax.fori_loop(0, n_iter, body, jnp.ones(a.shape[0]) / jnp.sqrt(a.shape[0]))
    return v @ a @ v, jnp.abs(v)


def conjugate_gradient(a, b, tol=1e-6):
    def cond(s):
        return (jnp.linalg.norm(s[1]) > tol) & (s[3] < 2 * b.shape[0])

    def body(s):
        x, r, p, k = s
        alpha = (r @ r) / (p @ a @ p)
        x, r_new = x + alpha * p, r - alpha * (a @ p)
        return x, r_new, r_new + (r_new @ r_new) / (r @ r) * p, k + 1
    x, _, _, k = lax.while_loop(cond, body, (jnp.zeros_like(b), b, b, 0))
    return x, k


def piecewise(i, x):
    branches = [lambda x: x ** 2, lambda x: jnp.sin(x), lambda x: -x]
    return lax.switch(i, branches, x)


def run():
    key = random.PRNGKey(9)
    m = random.normal(key, (3, 5, 5))
    spd = m @ jnp.swapaxes(m, -1, -2) + 5 * jnp.eye(5)
    b = random.normal(random.fold_in(key, 1), (3, 5, 2))
    chol = jnp.linalg.cholesky(spd)
    y = jsl.solve_triangular(chol, b, lower=True)
    x = jsl.solve_triangular(chol, y, lower=True, trans="T")
    sign, logdet = jnp.linalg.slogdet(spd)
    eig, _ = power_iteration(spd[0])
    roots, iters = jax.jit(jax.vmap(lambda c: newton(lambda x: x ** 3 - c, 1.0)))(
        jnp.array([2.0, 27.0, 0.5, 1000.0]))
    lo, hi = jax.jit(bisect, static_argnums=0)(jnp.cos, 0.0, 3.0)
    cg, cg_steps = jax.jit(conjugate_gradient)(spd[1], b[1, :, 0])
    r_only = jnp.linalg.qr(m[0, :, :3], mode="r")
    q_full, r_full = jnp.linalg.qr(m[0, :, :3], mode="complete")
    return {
        "solve_via_cholesky": x,
        "solve_direct": jnp.linalg.solve(spd, b),
        "right_solve": jsl.solve_triangular(chol[0], jnp.eye(5)[:, :2], lower=True, trans=1),
        "slogdet_sign": sign,
        "logdet": logdet,
        "power_eig": eig,
        "eigh_max": jnp.linalg.eigvalsh(spd[0])[-1],
        "newton_roots": roots,
        "newton_iters": iters,
        "bisect": jnp.stack([lo, hi]),
        "cg": cg,
        "cg_steps": cg_steps,
        "switch_vmap": jax.vmap(piecewise)(jnp.array([0, 1, 2, 5, -1]), jnp.arange(5.0)),
        "switch_grad": jax.vmap(jax.grad(piecewise, argnums=1))(jnp.array([0, 1, 2]),
                                                               jnp.ones(3)),
        "cond_vmap": jax.vmap(lambda p, x: lax.cond(p, jnp.exp, jnp.log1p, x))(
            jnp.array([True, False, True]), jnp.array([0.5, 1.5, -1.0])),
        "qr_r_abs": jnp.abs(r_only),
        "qr_complete_proj": q_full @ q_full.T,
        "qr_complete_r_abs": jnp.abs(r_full),
        "pinv": jnp.linalg.pinv(m[0, :3, :]),
        "eigvalsh_grad": jax.grad(lambda a: jnp.linalg.eigvalsh(a)[-1])(spd[2]),
        "logdet_grad": jax.grad(lambda a: jnp.linalg.slogdet(a)[1])(spd[1]),
        "block_diag": jsl.block_diag(jnp.ones((1, 2)), 2 * jnp.eye(2), jnp.array([[3.0]])),
    }


if __name__ == "__main__":
    print(run())
