"""`jax.numpy.linalg` and `jax.scipy.linalg` at the corners numerical code reaches:
`lstsq` on a rank-deficient system (rank, singular values, the residuals JAX leaves
empty) and with `rcond`, `pinv` with `rtol` and `hermitian=True`, `matrix_rank` with
`tol`, `slogdet`/`det` of singular matrices and `det`'s gradient there, `matrix_power`
with negative and zero exponents, `solve` with a batch of matrices and a vector or a
batch of vectors, `cholesky(upper=True)`, `eigh(UPLO="U")` and `symmetrize_input=False`,
`svd(compute_uv=False)` and its gradient, `jax.scipy.linalg` `expm` and its gradient,
`lu_factor`/`lu_solve` with `trans`, `lu` permutations, `cho_factor`/`cho_solve`,
`solve_triangular` with `trans`, `unit_diagonal` and a batch, `solve(assume_a="pos")`,
`inv` of a batch, `toeplitz`, `block_diag`, `null_space`-style SVD thresholds, and
`jnp.linalg.cond` for `p` in (None, 1, "fro")."""
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jax import random


def run():
    key = random.PRNGKey(4)
    k1, k2, k3 = random.split(key, 3)
    a = random.normal(k1, (5, 3))
    deficient = jnp.concatenate([a[:, :2], (a[:, 0] + a[:, 1])[:, None]], axis=1)
    b = random.normal(k2, (5,))
    spd = a.T @ a + 0.5 * jnp.eye(3)
    m = jnp.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]])
    upper_only = jnp.triu(m) + jnp.tril(jnp.full((3, 3), 100.0), -1)
    batch = random.normal(k3, (2, 3, 3)) + 3.0 * jnp.eye(3)
    x, res, rank, sv = jnp.linalg.lstsq(deficient, b)
    x_full, res_full, rank_full, _ = jnp.linalg.lstsq(a, b)
    x_rcond, _, rank_rcond, _ = jnp.linalg.lstsq(a, b, rcond=0.5)
    lu, piv = jsl.lu_factor(m)
    p, l, u = jsl.lu(jnp.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 10.0]]))
    c, low = jsl.cho_factor(spd, lower=True)
    tri = jnp.triu(m)
    singular = jnp.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    sign, logdet = jnp.linalg.slogdet(singular)
    ev_u, _ = jnp.linalg.eigh(upper_only, UPLO="U")
    ev_l, _ = jnp.linalg.eigh(upper_only, UPLO="L", symmetrize_input=False)
    return {
        "lstsq_x": x,
        "lstsq_residuals_shape": jnp.array(res.shape),
        "lstsq_rank": rank,
        "lstsq_sv": sv,
        "lstsq_full_x": x_full,
        "lstsq_full_res": res_full,
        "lstsq_full_rank": rank_full,
        "lstsq_rcond": x_rcond,
        "lstsq_rcond_rank": rank_rcond,
        "pinv_rtol": jnp.linalg.pinv(deficient, rtol=1e-3) @ b,
        "pinv_hermitian": jnp.linalg.pinv(spd, hermitian=True),
        "matrix_rank": jnp.array([jnp.linalg.matrix_rank(deficient),
                                  jnp.linalg.matrix_rank(a, tol=1.5)]),
        "slogdet_singular": jnp.stack([sign, logdet]),
        "det_singular": jnp.linalg.det(singular),
        "det_grad_singular": jax.grad(jnp.linalg.det)(singular),
        "det_grad_rank2": jax.grad(jnp.linalg.det)(jnp.array([[1.0, 2.0], [2.0, 4.0]])),
        "matrix_power_neg": jnp.linalg.matrix_power(m, -2),
        "matrix_power_zero": jnp.linalg.matrix_power(m, 0),
        "matrix_power_int": jnp.linalg.matrix_power(jnp.array([[1, 1], [1, 0]]), 10),
        "solve_batch_vector": jnp.linalg.solve(batch, jnp.array([1.0, 2.0, 3.0])),
        "solve_batch_vectors": jnp.linalg.solve(batch, jnp.array([[1.0, 2.0, 3.0],
                                                                  [0.0, 1.0, 0.0]])[..., None]
                                                )[..., 0],
        "cholesky_upper": jnp.linalg.cholesky(spd, upper=True),
        "cholesky_not_pd": jnp.linalg.cholesky(-spd),
        "cholesky_not_pd_upper": jnp.linalg.cholesky(-spd, upper=True),
        "eigh_uplo_u": ev_u,
        "eigh_no_symmetrize": ev_l,
        "svdvals": jnp.linalg.svd(a, compute_uv=False),
        "svdvals_grad": jax.grad(lambda z: jnp.sum(jnp.linalg.svd(z, compute_uv=False)))(a),
        "expm": jsl.expm(m / 4),
        "expm_grad": jax.grad(lambda z: jnp.trace(jsl.expm(z)))(m / 4),
        "expm_nilpotent": jsl.expm(jnp.array([[0.0, 1.0], [0.0, 0.0]])),
        "lu_factor_lu": lu,
        "lu_factor_piv": piv,
        "lu_solve": jsl.lu_solve((lu, piv), jnp.array([1.0, 0.0, 2.0])),
        "lu_solve_trans": jsl.lu_solve((lu, piv), jnp.array([1.0, 0.0, 2.0]), trans=1),
        "lu_p": p,
        "lu_lu": jnp.stack([l, u]),
        "cho_solve": jsl.cho_solve((c, low), jnp.array([1.0, 2.0, 3.0])),
        "solve_triangular_trans": jsl.solve_triangular(tri, jnp.array([1.0, 2.0, 3.0]),
                                                       trans="T"),
        "solve_triangular_unit": jsl.solve_triangular(tri, jnp.array([1.0, 2.0, 3.0]),
                                                      unit_diagonal=True),
        "solve_triangular_batch": jsl.solve_triangular(jnp.tril(batch), jnp.ones((2, 3, 1)),
                                                       lower=True)[..., 0],
        "solve_pos": jsl.solve(spd, jnp.array([1.0, -1.0, 2.0]), assume_a="pos"),
        "inv_batch": jnp.linalg.inv(batch),
        "toeplitz": jsl.toeplitz(jnp.array([1.0, 2.0, 3.0]), jnp.array([1.0, 5.0, 6.0, 7.0])),
        "toeplitz_sym": jsl.toeplitz(jnp.array([4, 1, 0])),
        "block_diag": jsl.block_diag(jnp.ones((1, 2)), 2 * jnp.eye(2), 3.0),
        "cond": jnp.array([jnp.linalg.cond(m), jnp.linalg.cond(m, 1),
                           jnp.linalg.cond(m, "fro")]),
    }


if __name__ == "__main__":
    print(run())
