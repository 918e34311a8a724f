"""`jax.scipy.special` and `jax.scipy.linalg` at the extremes statistics and numerical
code reach: `log_ndtr`/`ndtr`/`ndtri` in the tails and their gradients, `logsumexp` with
zero and negative weights `b` (a zero sum with `return_sign=True`), all `-inf` rows, `+inf`
and tuple axes; `xlogy`/`xlog1py`/`entr`/`rel_entr`/`kl_div` at 0 and infinity;
`gammaln`/`gammasgn`/`gamma` at poles, negatives and overflow, `digamma`/`polygamma`/`zeta`
(with `q`) on negatives, `betaln` of large arguments, `poch`, `i0e`/`i1e` far out, `logit`/
`expit` gradients, `boxcox`/`boxcox1p`, `comb`, `factorial`; `norm.logsf`/`logcdf` far in
the tails; and `jax.scipy.linalg`: `solve_triangular` with `trans`/`unit_diagonal` (reading
only its triangle), `cholesky`/`cho_factor` reading only the triangle they are asked for
(as SciPy's do), `cho_solve` and its gradient, `lu_solve` with `trans=2`, `lu` with
`permute_l` and rectangular inputs, `qr` modes, `eigh(eigvals_only=True, lower=False)`,
`svd` shapes, `expm` of a large rotation, with `upper_triangular=True` and batched,
`det`/`inv`/`solve` with `assume_a`, `block_diag` of mixed ranks, `toeplitz`/`hankel`."""
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jax.scipy import special, stats

t = jnp.array([-40.0, -10.0, -1.0, 0.0, 1.0, 10.0, 40.0])
p = jnp.array([0.0, 1e-30, 1e-7, 0.5, 1.0 - 1e-7, 1.0])
a = jnp.array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.2], [0.5, -0.2, 2.0]])
rhs = jnp.array([[1.0, 0.0], [2.0, 1.0], [-1.0, 3.0]])


def run():
    return {
        "log_ndtr_tails": special.log_ndtr(t),
        "log_ndtr_grad_tails": jax.vmap(jax.grad(special.log_ndtr))(t),
        "ndtr_grad": jax.vmap(jax.grad(special.ndtr))(t),
        "ndtri_edges": special.ndtri(p),
        "ndtri_outside": special.ndtri(jnp.array([-0.5, 1.5, jnp.nan])),
        "ndtri_grad": jax.vmap(jax.grad(special.ndtri))(jnp.array([1e-6, 0.1, 0.5, 0.999])),
        "lse_b_zero": special.logsumexp(jnp.array([1.0, 2.0, 3.0]), b=jnp.array([0.0, 1.0, 0.0])),
        "lse_b_all_zero": special.logsumexp(jnp.array([1.0, 2.0]), b=jnp.array([0.0, 0.0])),
        "lse_sign_neg": jnp.stack(special.logsumexp(jnp.array([1.0, 2.0]), b=jnp.array([1.0, -2.0]), return_sign=True)),
        "lse_sign_zero_sum": jnp.stack(special.logsumexp(jnp.array([0.0, 0.0]), b=jnp.array([1.0, -1.0]), return_sign=True)),
        "lse_all_neginf": special.logsumexp(jnp.full((2, 3), -jnp.inf), axis=1),
        "lse_posinf": special.logsumexp(jnp.array([jnp.inf, 1.0, -jnp.inf])),
        "lse_b_bcast_axis": special.logsumexp(jnp.arange(6.0).reshape(2, 3), axis=0, b=jnp.array([[1.0], [2.0]]), keepdims=True),
        "lse_axis_tuple": special.logsumexp(jnp.arange(24.0).reshape(2, 3, 4) / 10, axis=(0, 2)),
        "lse_grad_b": jax.grad(lambda b: special.logsumexp(jnp.array([0.0, 1.0, 2.0]), b=b))(jnp.array([1.0, 0.5, 2.0])),
        "lse_grad_b_zero": jax.grad(lambda x: special.logsumexp(x, b=jnp.array([0.0, 1.0, 1.0])))(jnp.array([5.0, 1.0, 2.0])),
        "xlogy_edges": special.xlogy(jnp.array([0.0, 0.0, 0.0, 1.0, -1.0, 0.0]), jnp.array([0.0, -1.0, jnp.inf, 0.0, 2.0, jnp.nan])),
        "xlog1py_edges": special.xlog1py(jnp.array([0.0, 0.0, 1.0, 2.0]), jnp.array([-1.0, -2.0, -1.0, 1e-8])),
        "xlogy_grad_zero": jax.grad(lambda x, y: special.xlogy(x, y), argnums=(0, 1))(0.0, 0.0),
        "xlogy_grad": jnp.stack(jax.grad(lambda x, y: special.xlogy(x, y), argnums=(0, 1))(2.0, 3.0)),
        "entr_edges": special.entr(jnp.array([-1.0, 0.0, 1.0, jnp.inf, 0.5])),
        "gammaln_large": special.gammaln(jnp.array([1e10, 1e20, 3e38, 0.5, 1e-30])),
        "gammaln_neg_noninteger": special.gammaln(jnp.array([-0.5, -1.5, -2.5, -100.5, -0.0])),
        "gammaln_poles": special.gammaln(jnp.array([0.0, -1.0, -2.0])),
        "gammasgn": special.gammasgn(jnp.array([-0.5, -1.5, -2.5, 0.5, -1.0, 0.0, -0.0])),
        "gamma_neg": special.gamma(jnp.array([-0.5, -1.5, 171.0, 172.0, -170.5])),
        "digamma_large": special.digamma(jnp.array([1e10, 1e-10, -1e-10, -0.5, -10.5, 30.0])),
        "polygamma_orders": special.polygamma(jnp.array([0, 1, 2, 3, 4]), jnp.array([0.5, 0.5, 2.0, 10.0, 1e-3])),
        "polygamma_neg_x": special.polygamma(jnp.array([1, 2, 3]), jnp.array([-0.5, -1.5, -2.25])),
        "zeta_q": special.zeta(jnp.array([2.0, 3.0, 1.5, 1.0, 0.5, 10.0]), jnp.array([1.0, 2.0, 0.5, 1.0, 1.0, 3.0])),
        "zeta_q_neg": special.zeta(jnp.array([2.0, 3.0, 4.0]), jnp.array([-0.5, -1.5, 0.0])),
        "betaln_large": special.betaln(jnp.array([1e5, 0.5, 1e-5, 200.0]), jnp.array([1e5, 1e6, 1e-5, 0.001])),
        "beta_fn": special.beta(jnp.array([0.5, 2.0, 30.0]), jnp.array([0.5, 3.0, 40.0])),
        "multigammaln": special.multigammaln(jnp.array([2.5, 10.0]), 3),
        "poch": special.poch(jnp.array([1.0, 2.5, -1.5, 0.0]), jnp.array([3.0, 0.5, 2.0, 2.0])),
        "i0e_i1e_large": jnp.stack([special.i0e(jnp.array([0.0, 1e-5, 50.0, 1e4, -1e4])), special.i1e(jnp.array([0.0, 1e-5, 50.0, 1e4, -1e4]))]),
        "logit_edges": special.logit(jnp.array([0.0, 1.0, 0.5, -0.1, 1e-30])),
        "expit_grad_extreme": jax.vmap(jax.grad(special.expit))(jnp.array([-100.0, -20.0, 0.0, 20.0, 100.0])),
        "logit_grad": jax.vmap(jax.grad(special.logit))(jnp.array([1e-6, 0.5, 0.999])),
        "erfc_large": special.erfc(jnp.array([-10.0, 5.0, 9.0, 10.0, 27.0])),
        "softmax_neg_inf_row": special.softmax(jnp.array([[-jnp.inf, 0.0, 1.0], [2.0, 2.0, -jnp.inf]]), axis=1),
        "log_softmax_axis0": special.log_softmax(jnp.array([[1.0, 2.0], [3.0, -jnp.inf]]), axis=0),
        "rel_entr_edges": special.rel_entr(jnp.array([0.0, 0.0, 1.0, 1.0, -1.0]), jnp.array([0.0, 1.0, 0.0, 2.0, 1.0])),
        "kl_div_edges": special.kl_div(jnp.array([0.0, 0.0, 1.0, 1.0]), jnp.array([0.0, 1.0, 0.0, 2.0])),
        "boxcox": special.boxcox(jnp.array([1.0, 2.0, 0.5, 0.0]), jnp.array([0.0, 0.5, -1.0, 2.0])),
        "boxcox1p": special.boxcox1p(jnp.array([0.0, 1e-8, 1.0, -1.0]), jnp.array([0.0, 1e-5, 2.0, 0.5])),
        "comb": special.comb(jnp.array([5.0, 10.0, 3.0, 30.0]), jnp.array([2.0, 0.0, 5.0, 15.0])),
        "factorial_neg": special.factorial(jnp.array([-1.0, 0.0, 3.0, 3.5, 20.0])),
        "gammainc_edges": special.gammainc(jnp.array([0.0, 1.0, 1.0, 1e-3, 100.0]), jnp.array([1.0, 0.0, jnp.inf, 1e-3, 100.0])),
        "norm_logsf_tail": stats.norm.logsf(jnp.array([-40.0, 0.0, 10.0, 40.0])),
        "norm_logcdf_grad": jax.vmap(jax.grad(stats.norm.logcdf))(jnp.array([-40.0, -5.0, 0.0, 5.0])),
        "solve_tri_lower_trans": jsl.solve_triangular(jnp.tril(a), rhs, lower=True, trans=1),
        "solve_tri_upper_trans2": jsl.solve_triangular(jnp.triu(a), rhs, lower=False, trans="C"),
        "solve_tri_unit_upper_vec": jsl.solve_triangular(jnp.triu(a), rhs[:, 0], unit_diagonal=True),
        "solve_tri_ignores_other_half": jsl.solve_triangular(a, rhs, lower=True),
        "solve_tri_grad": jax.grad(lambda m: jnp.sum(jsl.solve_triangular(m, rhs, lower=True, trans="T") ** 2))(jnp.tril(a)),
        "cholesky_reads_upper": jsl.cholesky(jnp.triu(a)),
        "cholesky_lower_reads_lower": jsl.cholesky(jnp.tril(a), lower=True),
        "cho_solve_upper_only": jsl.cho_solve(jsl.cho_factor(jnp.triu(a)), rhs),
        "cho_factor_lower": jsl.cho_factor(a, lower=True)[0],
        "cho_solve_lower_vec": jsl.cho_solve(jsl.cho_factor(a, lower=True), rhs[:, 1]),
        # along symmetric matrices (s + s.T): the gradient w.r.t. one entry of a triangle
        # is a convention (docs/porting-from-jax.md, "Cholesky")
        "cho_solve_grad": jax.grad(
            lambda s: jnp.sum(jsl.cho_solve(jsl.cho_factor(s + s.T), rhs)))(a / 2),
        "lu_factor_solve_trans2": jsl.lu_solve(jsl.lu_factor(a - 2.0 * jnp.eye(3)), rhs, trans=2),
        "lu_permute_l": jsl.lu(jnp.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]]), permute_l=True)[0],
        "lu_rect": jsl.lu(jnp.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]]))[2],
        "qr_mode_r": jnp.abs(jsl.qr(jnp.array([[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]]), mode="r")[0]),
        "qr_economic_shape": jnp.array(jsl.qr(jnp.ones((4, 2)) + jnp.eye(4, 2), mode="economic")[0].shape),
        "qr_full_shape": jnp.array(jsl.qr(jnp.ones((4, 2)) + jnp.eye(4, 2))[0].shape),
        "eigh_eigvals_only": jsl.eigh(a, eigvals_only=True),
        "eigh_lower_false": jsl.eigh(jnp.triu(a) + 5.0 * jnp.tril(jnp.ones((3, 3)), -1), lower=False, eigvals_only=True),
        "svd_uv_false": jsl.svd(a, compute_uv=False),
        "svd_full_shapes": jnp.array(jsl.svd(jnp.ones((4, 2)) + jnp.eye(4, 2), full_matrices=False)[0].shape),
        "expm_big_norm": jsl.expm(jnp.array([[0.0, 6.0], [-6.0, 0.0]])),
        "expm_upper_tri": jsl.expm(jnp.array([[1.0, 2.0, 3.0], [0.0, 1.0, 4.0], [0.0, 0.0, 1.0]]), upper_triangular=True),
        "expm_batch": jsl.expm(jnp.stack([a / 4, -a / 4])),
        "det_scipy_batch": jsl.det(jnp.stack([a, jnp.ones((3, 3))])),
        "inv_scipy": jsl.inv(a),
        "solve_sym": jsl.solve(a, rhs, assume_a="sym"),
        "solve_lower_flag": jsl.solve(jnp.tril(a) + jnp.tril(a, -1).T, rhs, lower=True, assume_a="pos"),
        "block_diag_mixed": jsl.block_diag(jnp.array([[1.0, 2.0]]), jnp.array(3.0), jnp.array([[4.0], [5.0]])),
        "toeplitz_r": jsl.toeplitz(jnp.array([1.0, 2.0, 3.0]), jnp.array([9.0, 4.0, 5.0, 6.0])),
        "hankel_r": jsl.hankel(jnp.array([1, 2, 3]), jnp.array([7, 4, 5])),
    }


if __name__ == "__main__":
    print(run())
