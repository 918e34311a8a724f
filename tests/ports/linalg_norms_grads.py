"""Matrix calculus with `jax.numpy.linalg` beyond the basic factorisations: gradients of
`slogdet` on a matrix with negative determinant, of eigenvector-based losses from `eigh`
(a projector onto the top eigenspace), of `qr` and `svd` through invariants, of
`matrix_power` and `multi_dot`; `jnp.linalg.norm` for every `ord` on vectors and matrices
with `axis` and `keepdims`, `vector_norm`/`matrix_norm`, the gradient of a norm at zero (the
sharp bit) and its `jnp.where` fix, `cond`, `matrix_rank`, `svdvals`, `tensorsolve`,
`tensorinv`, `cross`, `kron`, `vecdot`, `outer`, and `trace` with `offset`."""
import jax
import jax.numpy as jnp
from jax import random


def top_projector(m):
    w, v = jnp.linalg.eigh(m)
    top = v[:, -2:]
    return top @ top.T


def safe_norm(x):
    is_zero = jnp.all(x == 0)
    x_safe = jnp.where(is_zero, jnp.ones_like(x), x)
    return jnp.where(is_zero, 0.0, jnp.linalg.norm(x_safe))


def run():
    key = random.PRNGKey(5)
    k1, k2, k3 = random.split(key, 3)
    a = random.normal(k1, (4, 4))
    spd = a @ a.T + 4 * jnp.eye(4)
    neg = a.at[0].multiply(-1.0)
    b = random.normal(k2, (4, 3))
    v = jnp.array([3.0, -4.0, 0.0, 1.0])
    batch = random.normal(k3, (2, 3, 3))
    t = random.normal(k3, (2, 3, 6)) + jnp.eye(6).reshape(2, 3, 6)
    sign, logabs = jnp.linalg.slogdet(neg)
    return {
        "slogdet_neg": jnp.array([sign, logabs]),
        "slogdet_grad": jax.grad(lambda m: jnp.linalg.slogdet(m)[1])(neg),
        "det_grad_neg": jax.grad(jnp.linalg.det)(neg),
        "eigh_projector_grad": jax.grad(lambda m: jnp.sum(top_projector(m) * (b @ b.T)))(spd),
        "qr_r_diag_grad": jax.grad(lambda m: jnp.sum(jnp.abs(jnp.diag(jnp.linalg.qr(m)[1]))))(
            b),
        "qr_projector_grad": jax.grad(lambda m: jnp.trace(
            jnp.linalg.qr(m)[0] @ jnp.linalg.qr(m)[0].T @ spd))(b),
        "svd_lowrank_grad": jax.grad(lambda m: jnp.sum(
            (lambda u, s, vt: (u[:, :1] * s[:1]) @ vt[:1])(*jnp.linalg.svd(m, False)) ** 2))(b),
        "nuclear_grad": jax.grad(lambda m: jnp.linalg.norm(m, "nuc"))(b),
        "spectral_grad": jax.grad(lambda m: jnp.linalg.norm(m, 2))(b),
        "matrix_power": jnp.linalg.matrix_power(a / 2, 3),
        "matrix_power_neg": jnp.linalg.matrix_power(spd, -2),
        "matrix_power_grad": jax.grad(lambda m: jnp.sum(jnp.linalg.matrix_power(m, 3)))(a / 2),
        "multi_dot": jnp.linalg.multi_dot([a, b, b.T, a]),
        "vec_norms": jnp.stack([jnp.linalg.norm(v, o) for o in (None, 1, 2, jnp.inf, -jnp.inf,
                                                               0, 3, -1)]),
        "mat_norms": jnp.stack([jnp.linalg.norm(b, o) for o in (None, "fro", "nuc", 1, -1, 2,
                                                               -2, jnp.inf, -jnp.inf)]),
        "norm_axis": jnp.linalg.norm(b, axis=0),
        "norm_axis_keep": jnp.linalg.norm(b, ord=1, axis=1, keepdims=True),
        "norm_batch_matrix": jnp.linalg.norm(batch, ord="fro", axis=(1, 2)),
        "vector_norm": jnp.linalg.vector_norm(b, ord=3, axis=None),
        "matrix_norm": jnp.linalg.matrix_norm(batch, ord=jnp.inf),
        "norm_grad_at_zero": jax.grad(jnp.linalg.norm)(jnp.zeros(3)),
        "safe_norm_grad": jax.grad(safe_norm)(jnp.zeros(3)),
        "norm_grad": jax.grad(jnp.linalg.norm)(v),
        "norm_inf_grad": jax.grad(lambda u: jnp.linalg.norm(u, jnp.inf))(v),
        "cond": jnp.array([jnp.linalg.cond(spd), jnp.linalg.cond(spd, "fro"),
                           jnp.linalg.cond(spd, 1)]),
        "matrix_rank": jnp.array([jnp.linalg.matrix_rank(b @ b.T),
                                  jnp.linalg.matrix_rank(jnp.ones((3, 3)))]),
        "svdvals": jnp.linalg.svdvals(batch),
        "tensorsolve": jnp.linalg.tensorsolve(t.reshape(6, 2, 3), jnp.arange(6.0)),
        "tensorinv": jnp.linalg.tensorinv(t.reshape(6, 2, 3), ind=1)[:, :, :2],
        "cross": jnp.cross(b[:3].T, a[:3, :3]),
        "kron": jnp.kron(jnp.eye(2), jnp.array([[1.0, 2.0], [3.0, 4.0]])),
        "vecdot": jnp.linalg.vecdot(b, b, axis=0),
        "outer": jnp.linalg.outer(v[:2], v),
        "trace_offset": jnp.array([jnp.trace(a, offset=1), jnp.trace(a, offset=-2)]),
        "diagonal_offset": jnp.linalg.diagonal(batch, offset=1),
        "pinv_grad": jax.grad(lambda m: jnp.sum(jnp.linalg.pinv(m)))(b),
        "inv_batch": jnp.linalg.inv(batch + 3 * jnp.eye(3)),
        "solve_batch_vec": jnp.linalg.solve(batch + 3 * jnp.eye(3), jnp.ones((2, 3, 1)))[..., 0],
    }


if __name__ == "__main__":
    print(run())
