"""`jax.numpy.linalg` and `jax.scipy.linalg`: factorisations (QR, SVD, eigh, LU, Cholesky),
solves, inverses, determinants, and gradients through them. Results
that depend on LAPACK's sign or ordering choices are returned as invariants (|u|, U S Vh,
projectors), as a careful JAX program compares them."""
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jax import random


def run():
    key = random.PRNGKey(31)
    k1, k2, k3 = random.split(key, 3)
    a = random.normal(k1, (4, 4))
    spd = a @ a.T + 4.0 * jnp.eye(4)
    tall = random.normal(k2, (6, 3))
    rhs = random.normal(k3, (4, 2))

    q, r = jnp.linalg.qr(tall)
    u, s, vh = jnp.linalg.svd(tall, full_matrices=False)
    w, v = jnp.linalg.eigh(spd)
    lu_piv = jsl.lu_factor(a)
    p, l, u_lu = jsl.lu(a)
    chol = jnp.linalg.cholesky(spd)
    batch = jnp.stack([spd, 2.0 * spd])

    def logdet(m):
        return jnp.linalg.slogdet(m)[1]

    return {
        "qr_reconstruct": q @ r,
        "qr_abs_r_diag": jnp.abs(jnp.diag(r)),
        "q_orthonormal": q.T @ q,
        "singular_values": s,
        "svd_reconstruct": (u * s) @ vh,
        "svd_values_only": jnp.linalg.svd(tall, compute_uv=False),
        "eigh_values": w,
        "eigh_projector": v[:, :1] @ v[:, :1].T,
        "eigvalsh": jnp.linalg.eigvalsh(spd),
        "lu_solve": jsl.lu_solve(lu_piv, rhs),
        "lu_reconstruct": p @ l @ u_lu,
        "lu_u": u_lu,
        "solve": jnp.linalg.solve(a, rhs),
        "solve_batched": jnp.linalg.solve(batch, jnp.ones((2, 4))[..., None])[..., 0],
        "inv": jnp.linalg.inv(spd),
        "frobenius_norm": jnp.linalg.norm(a),
        "det": jnp.linalg.det(a),
        "slogdet": jnp.stack(jnp.linalg.slogdet(a)),
        "matrix_power": jnp.linalg.matrix_power(spd / 8.0, 3),
        "cholesky": chol,
        "solve_triangular": jsl.solve_triangular(chol, rhs, lower=True),
        "solve_triangular_trans": jsl.solve_triangular(chol, rhs, lower=True, trans="T"),
        "cho_solve": jsl.cho_solve(jsl.cho_factor(spd), rhs),
        "grad_logdet": jax.grad(logdet)(spd),
        "grad_det": jax.grad(jnp.linalg.det)(a),
        "grad_inv_trace": jax.grad(lambda m: jnp.trace(jnp.linalg.inv(m)))(spd),
        "grad_eigvalsh_max": jax.grad(lambda m: jnp.linalg.eigvalsh(m)[-1])(spd),
        "grad_cholesky": jax.grad(lambda m: jnp.sum(jnp.linalg.cholesky(m)))(spd),
        "grad_svd_sum": jax.grad(lambda m: jnp.sum(jnp.linalg.svd(m, compute_uv=False)))(tall),
        "grad_solve": jax.grad(lambda m: jnp.sum(jnp.linalg.solve(m, rhs)))(a),
        "jit_qr_r_abs": jnp.abs(jax.jit(jnp.linalg.qr)(tall)[1]),
    }


if __name__ == "__main__":
    print(run())
