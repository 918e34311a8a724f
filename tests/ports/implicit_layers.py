"""Implicit functions and their derivatives, the way JAX's "deep implicit layers" and
custom-derivative docs write them: Kepler's equation E - e sin E = M solved by Newton in
`lax.while_loop` with a `custom_jvp` from the implicit function theorem (derivatives in M
and e, under `vmap`, `jacfwd` and `jacrev`); Lambert's W by Halley iterations with a
`custom_jvp`; a vector root with `lax.custom_root` whose `tangent_solve` builds the
Jacobian with `jax.jacobian` (with `has_aux=True`), under `jit` and `vmap`, and its forward-
and reverse-mode derivatives; a deep-equilibrium fixed point z = tanh(W z + x) with a
`custom_vjp` whose backward pass solves the adjoint fixed point (checked against
unrolled differentiation); ridge regression's hyperparameter gradient through an inner
gradient-descent solve differentiated implicitly with `custom_root` on the optimality
condition (against the closed form); and `lax.custom_linear_solve` with a
`transpose_solve` on a non-symmetric system, under `jvp`, `grad` and `vmap`."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax


@jax.custom_jvp
def kepler_E(M, e):
    def cond(c):
        E, dE, k = c
        return (jnp.abs(dE) > 1e-7) & (k < 50)

    def body(c):
        E, _, k = c
        dE = (E - e * jnp.sin(E) - M) / (1.0 - e * jnp.cos(E))
        return E - dE, dE, k + 1
    E0 = M + e * jnp.sin(M)
    return lax.while_loop(cond, body, (E0, jnp.ones_like(M), 0))[0]


@kepler_E.defjvp
def _kepler_jvp(primals, tangents):
    M, e = primals
    dM, de = tangents
    E = kepler_E(M, e)
    denom = 1.0 - e * jnp.cos(E)
    return E, (dM + jnp.sin(E) * de) / denom


@jax.custom_jvp
def lambert_w(x):
    def body(i, w):
        ew = jnp.exp(w)
        f = w * ew - x
        return w - f / (ew * (w + 1.0) - (w + 2.0) * f / (2.0 * w + 2.0))
    w0 = jnp.log1p(x)
    return lax.fori_loop(0, 20, body, w0)


@lambert_w.defjvp
def _lambert_jvp(primals, tangents):
    (x,), (dx,) = primals, tangents
    w = lambert_w(x)
    return w, dx * w / (x * (1.0 + w))


def newton_solve(f, x0):
    def body(i, x):
        return x - jnp.linalg.solve(jax.jacobian(f)(x), f(x))
    return lax.fori_loop(0, 25, body, x0)


def vector_root(p):
    def f(x):
        return jnp.array([x[0] ** 2 + x[1] ** 2 - p[0], x[0] * x[1] - p[1]])

    def solve(g, x0):
        x = newton_solve(g, x0)
        return x, jnp.sum(jnp.abs(g(x)))

    def tangent_solve(g, y):
        return jnp.linalg.solve(jax.jacobian(g)(y), y)

    return lax.custom_root(f, jnp.array([2.0, 0.5]), solve, tangent_solve, has_aux=True)


def fwd_fixed_point(f, z0):
    def body(i, z):
        return f(z)
    return lax.fori_loop(0, 60, body, z0)


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def fixed_point(f, params, x):
    return fwd_fixed_point(lambda z: f(params, x, z), jnp.zeros_like(x))


def _fp_fwd(f, params, x):
    z = fixed_point(f, params, x)
    return z, (params, x, z)


def _fp_bwd(f, res, z_bar):
    params, x, z = res
    _, vjp_z = jax.vjp(lambda zz: f(params, x, zz), z)
    _, vjp_px = jax.vjp(lambda pp, xx: f(pp, xx, z), params, x)
    u = fwd_fixed_point(lambda u: vjp_z(u)[0] + z_bar, z_bar)
    return vjp_px(u)


fixed_point.defvjp(_fp_fwd, _fp_bwd)


def deq_layer(w, x, z):
    return jnp.tanh(w @ z + x)


def ridge_inner(lam, a, y):
    def grad_obj(w):
        return a.T @ (a @ w - y) + lam * w

    def solve(g, w0):
        step = 1.0 / (jnp.linalg.norm(a, 2) ** 2 + lam)
        return lax.fori_loop(0, 500, lambda i, w: w - step * g(w), w0)

    def tangent_solve(g, y_):
        return jnp.linalg.solve(jax.jacobian(g)(y_), y_)

    return lax.custom_root(grad_obj, jnp.zeros(a.shape[1]), solve, tangent_solve)


def ridge_closed(lam, a, y):
    return jnp.linalg.solve(a.T @ a + lam * jnp.eye(a.shape[1]), a.T @ y)


def nonsym_solve(m, b):
    def matvec(x):
        return m @ x

    def solve(mv, rhs):
        return jnp.linalg.solve(m, rhs)

    def transpose_solve(vecmat, rhs):
        return jnp.linalg.solve(m.T, rhs)

    return lax.custom_linear_solve(matvec, b, solve, transpose_solve)


def run():
    M = jnp.linspace(0.1, 3.0, 6)
    e = jnp.array([0.0, 0.1, 0.3, 0.5, 0.7, 0.9])
    E = jax.vmap(kepler_E)(M, e)
    dE_dM = jax.vmap(jax.grad(kepler_E))(M, e)
    dE_de = jax.vmap(jax.grad(kepler_E, argnums=1))(M, e)
    jac_fwd = jax.jacfwd(lambda m: jax.vmap(kepler_E)(m, e))(M)

    xs = jnp.array([0.1, 1.0, jnp.e, 10.0, 100.0])
    w = jax.vmap(lambda x: lambert_w(x))(xs)
    dw = jax.vmap(jax.grad(lambert_w))(xs)
    d2w = jax.vmap(jax.grad(jax.grad(lambert_w)))(xs)

    p = jnp.array([5.0, 2.0])
    root, resid = jax.jit(vector_root)(p)
    root_jac_rev = jax.jacrev(lambda q: vector_root(q)[0])(p)
    root_jac_fwd = jax.jacfwd(lambda q: vector_root(q)[0])(p)
    batch_roots = jax.vmap(lambda q: vector_root(q)[0])(jnp.array([[5.0, 2.0], [10.0, 3.0],
                                                                  [2.5, 1.0]]))

    key_w = jnp.array([[0.3, -0.2, 0.1], [0.0, 0.25, -0.15], [0.2, 0.1, -0.3]])
    x = jnp.array([0.5, -0.4, 0.2])
    z = fixed_point(deq_layer, key_w, x)
    loss = lambda wm, xv: jnp.sum(fixed_point(deq_layer, wm, xv) ** 2)
    g_w, g_x = jax.grad(loss, argnums=(0, 1))(key_w, x)
    unrolled = lambda wm, xv: jnp.sum(fwd_fixed_point(lambda zz: deq_layer(wm, xv, zz),
                                                      jnp.zeros(3)) ** 2)
    u_w, u_x = jax.grad(unrolled, argnums=(0, 1))(key_w, x)

    a = jnp.array([[1.0, 0.5], [0.2, 1.5], [1.0, -1.0], [0.3, 0.3]])
    y = jnp.array([1.0, 2.0, 0.0, 0.5])
    val_loss = lambda lam, inner: jnp.sum((a @ inner(lam, a, y) - y + 0.1) ** 2)
    g_implicit = jax.grad(val_loss)(0.5, ridge_inner)
    g_closed = jax.grad(val_loss)(0.5, ridge_closed)

    m = jnp.array([[4.0, 1.0, 0.0], [2.0, 3.0, 1.0], [0.0, -1.0, 2.0]])
    b = jnp.array([1.0, 2.0, 3.0])
    sol = nonsym_solve(m, b)
    _, sol_dot = jax.jvp(nonsym_solve, (m, b), (jnp.eye(3), jnp.ones(3)))
    g_m, g_b = jax.grad(lambda mm, bb: jnp.sum(nonsym_solve(mm, bb) * jnp.arange(3.0)),
                        argnums=(0, 1))(m, b)
    batched = jax.vmap(nonsym_solve, in_axes=(None, 0))(m, jnp.eye(3))
    return {
        "kepler_E": E,
        "kepler_residual_small": jnp.max(jnp.abs(E - e * jnp.sin(E) - M)) < 1e-5,
        "dE_dM": dE_dM,
        "dE_de": dE_de,
        "kepler_jacfwd_diag": jnp.diagonal(jac_fwd),
        "kepler_jacfwd_offdiag_zero": jnp.all(jac_fwd - jnp.diag(jnp.diagonal(jac_fwd)) == 0),
        "lambert_w": w,
        "lambert_dw": dw,
        "lambert_d2w": d2w,
        "root": root,
        "root_resid_small": resid < 1e-4,
        "root_jac_rev": root_jac_rev,
        "root_jac_fwd": root_jac_fwd,
        "batch_roots": batch_roots,
        "deq_z": z,
        "deq_grad_w": g_w,
        "deq_grad_x": g_x,
        "deq_unrolled_w": u_w,
        "deq_unrolled_x": u_x,
        "ridge_grad_implicit": g_implicit,
        "ridge_grad_closed": g_closed,
        "linear_solve": sol,
        "linear_solve_jvp": sol_dot,
        "linear_solve_grad_m": g_m,
        "linear_solve_grad_b": g_b,
        "linear_solve_vmap": batched,
    }


if __name__ == "__main__":
    print(run())
