"""Curvature of a small network's loss, as second-order optimisation and sharpness papers
compute it in JAX: Hessian-vector products three ways (forward-over-reverse `jvp` of
`grad`, reverse-over-reverse `grad` of a dot product, reverse-over-forward `grad` of a
`jvp`) over a dict of parameters flattened by hand (`tree_flatten`, `ravel`, `jnp.split`
at `np.cumsum` offsets, `tree_unflatten`), the full
`jax.hessian` of the flat loss checked against them, the top Hessian eigenvalue by power
iteration in `lax.fori_loop` under `jit`, Hutchinson's trace estimator with
`random.rademacher` and `vmap` over probe vectors, Gauss-Newton-vector products from
`jax.linearize` of the network and `jax.linear_transpose` of its linearisation (and
`vjp`), the diagonal of the empirical Fisher from per-example gradients, a damped Gauss-Newton
step solved by conjugate gradients in `while_loop` with the Gauss-Newton product as a
function, `jax.hessian` of the loss with respect to a dict (the nested result structure),
and `jax.jacfwd` of the network output with respect to its input."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax, random


def cg(matvec, b, tol=1e-5, maxiter=100):
    def cond(state):
        k, _, r, _, _ = state
        return (k < maxiter) & (jnp.linalg.norm(r) > tol * jnp.linalg.norm(b))

    def body(state):
        k, x, r, p, rs = state
        ap = matvec(p)
        alpha = rs / jnp.vdot(p, ap)
        x, r = x + alpha * p, r - alpha * ap
        rs_new = jnp.vdot(r, r)
        return k + 1, x, r, r + (rs_new / rs) * p, rs_new

    k, x, *_ = lax.while_loop(cond, body, (0, jnp.zeros_like(b), b, b, jnp.vdot(b, b)))
    return x, k


def ravel_pytree(tree):
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    shapes = [leaf.shape for leaf in leaves]
    offsets = np.cumsum([leaf.size for leaf in leaves])[:-1]
    flat = jnp.concatenate([jnp.ravel(leaf) for leaf in leaves])

    def unravel(vec):
        parts = jnp.split(vec, offsets)
        return jax.tree_util.tree_unflatten(
            treedef, [part.reshape(shape) for part, shape in zip(parts, shapes)])

    return flat, unravel


def init(key):
    k1, k2 = random.split(key)
    return {"w1": random.normal(k1, (3, 4)) * 0.6, "b1": jnp.full((4,), 0.1),
            "w2": random.normal(k2, (4, 2)) * 0.6}


def net(params, x):
    return jnp.tanh(x @ params["w1"] + params["b1"]) @ params["w2"]


def loss(params, x, y):
    return 0.5 * jnp.mean(jnp.sum((net(params, x) - y) ** 2, axis=-1))


def run():
    key = random.PRNGKey(31)
    kp, kx, ky, kv, kh = random.split(key, 5)
    params = init(kp)
    x = random.normal(kx, (10, 3))
    y = random.normal(ky, (10, 2))
    flat, unravel = ravel_pytree(params)
    f = lambda p: loss(unravel(p), x, y)  # noqa: E731
    n = flat.shape[0]
    v = random.normal(kv, (n,))

    hvp_fwd_rev = jax.jvp(jax.grad(f), (flat,), (v,))[1]
    hvp_rev_rev = jax.grad(lambda p: jnp.vdot(jax.grad(f)(p), v))(flat)
    hvp_rev_fwd = jax.grad(lambda p: jax.jvp(f, (p,), (v,))[1])(flat)
    hess = jax.hessian(f)(flat)

    @jax.jit
    def top_eig(p, v0):
        hvp = lambda u: jax.jvp(jax.grad(f), (p,), (u,))[1]  # noqa: E731

        def body(_, u):
            w = hvp(u)
            return w / jnp.linalg.norm(w)

        u = lax.fori_loop(0, 100, body, v0 / jnp.linalg.norm(v0))
        return jnp.vdot(u, hvp(u))

    probes = random.rademacher(kh, (64, n), dtype=jnp.float32)
    hvps = jax.vmap(lambda z: jax.jvp(jax.grad(f), (flat,), (z,))[1])(probes)
    hutchinson = jnp.mean(jnp.sum(probes * hvps, axis=-1))

    # Gauss-Newton: J^T H_out J v with the output Hessian of 0.5||.||^2/N
    net_flat = lambda p: net(unravel(p), x)  # noqa: E731
    out, jvp_lin = jax.linearize(net_flat, flat)
    jt = jax.linear_transpose(jvp_lin, flat)
    ggn_v = jt(jvp_lin(v) / x.shape[0])[0]
    _, vjp_fn = jax.vjp(net_flat, flat)
    ggn_v_vjp = vjp_fn(jvp_lin(v) / x.shape[0])[0]

    per_ex = jax.vmap(jax.grad(lambda p, xi, yi: loss(unravel(p), xi[None], yi[None])),
                      in_axes=(None, 0, 0))(flat, x, y)
    fisher_diag = jnp.mean(per_ex ** 2, axis=0)

    g = jax.grad(f)(flat)
    damping = 0.1
    ggn_mv = lambda u: jt(jvp_lin(u) / x.shape[0])[0] + damping * u  # noqa: E731
    newton_dir, cg_iters = cg(ggn_mv, g)
    jac = jax.jacrev(net_flat)(flat).reshape(-1, n)
    newton_dir_direct = jnp.linalg.solve(jac.T @ jac / x.shape[0] + damping * jnp.eye(n), g)
    hess_tree = jax.hessian(loss)(params, x, y)
    jac_x = jax.jacfwd(functools.partial(net, params))(x[:2])
    eigs = jnp.linalg.eigvalsh(hess)
    return {
        "n_params": jnp.array(n),
        "hvp_fwd_rev": hvp_fwd_rev,
        "hvp_agree": jnp.array([jnp.allclose(hvp_fwd_rev, hvp_rev_rev, atol=1e-5),
                                jnp.allclose(hvp_fwd_rev, hvp_rev_fwd, atol=1e-5),
                                jnp.allclose(hvp_fwd_rev, hess @ v, atol=1e-5)]),
        "hess_diag": jnp.diagonal(hess),
        "hess_symmetric": jnp.allclose(hess, hess.T, atol=1e-6),
        "hess_row3": hess[3],
        "top_eig": top_eig(flat, v),
        "top_eig_eigh": eigs[-1],
        "trace": jnp.trace(hess),
        "hutchinson": hutchinson,
        "net_out": out[:3],
        "ggn_v": ggn_v,
        "ggn_agree": jnp.allclose(ggn_v, ggn_v_vjp, atol=1e-6),
        "fisher_diag": fisher_diag,
        "newton_dir": newton_dir,
        "newton_agree": jnp.allclose(newton_dir, newton_dir_direct, atol=1e-3),
        "cg_converged": cg_iters < 100,
        "hess_tree_keys": str(jax.tree.structure(hess_tree)),
        "hess_w2_w2": hess_tree["w2"]["w2"][1, 0],
        "hess_b1_w1_shape": jnp.array(hess_tree["b1"]["w1"].shape),
        "hess_b1_w1": hess_tree["b1"]["w1"][2],
        "jac_x_shape": jnp.array(jac_x.shape),
        "jac_x": jac_x[1, :, 1, :],
    }


if __name__ == "__main__":
    print(run())
