"""Double-precision linear algebra, special functions and FFTs, as scientific code uses
them with `jax.enable_x64(True)`: ill-conditioned Hilbert systems solved with
`jnp.linalg.solve`, `inv` against the exact `invhilbert`, `det`/`slogdet` of tiny
determinants, `eigh` of the 1-D Laplacian against its exact eigenvalues, `svd`, `qr`,
`cholesky` + `cho_solve`, `lu_factor`/`lu_solve`, `expm` of a rotation generator,
`lstsq`; special functions where float32 would underflow or lose every digit (`erfc`,
`log_ndtr`, `ndtri`, `gammaln`, `digamma`, `polygamma`, `zeta`, `i0e`/`i1e`, `xlogy`,
`logsumexp`, `gammainc`, `betainc`, `expit`/`logit`), `jnp.fft` in complex128 (`rfft`/
`irfft`, `fft2`, spectral differentiation), float64 gradients and Hessians, and the dtypes
each of them returns."""
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import jax.scipy.special as sp
from jax import random


def hilbert(n):
    i = jnp.arange(n, dtype=jnp.float64)
    return 1.0 / (i[:, None] + i[None, :] + 1.0)


def laplacian(n):
    return 2.0 * jnp.eye(n) - jnp.eye(n, k=1) - jnp.eye(n, k=-1)


def run():
    with jax.enable_x64(True):
        h = hilbert(6)
        x_true = jnp.arange(1.0, 7.0)
        b = h @ x_true
        x = jnp.linalg.solve(h, b)
        h_inv = jnp.linalg.inv(h)
        sign, logdet = jnp.linalg.slogdet(h)

        lap = laplacian(7)
        evals, evecs = jnp.linalg.eigh(lap)
        k = jnp.arange(1, 8)
        exact = 2.0 - 2.0 * jnp.cos(k * jnp.pi / 8.0)
        s = jnp.linalg.svd(h, compute_uv=False)
        q, r = jnp.linalg.qr(h[:, :4])
        c, low = jsl.cho_factor(lap)
        lu_piv = jsl.lu_factor(h)
        theta = 0.3
        gen = jnp.array([[0.0, -theta], [theta, 0.0]])
        rot = jsl.expm(gen)
        a_ls = jnp.stack([jnp.ones(8), jnp.arange(8.0), jnp.arange(8.0) ** 2], axis=1)
        y_ls = 1.0 + 0.5 * jnp.arange(8.0) - 0.25 * jnp.arange(8.0) ** 2
        coef, resid, rank, sv = jnp.linalg.lstsq(a_ls, y_ls)

        z = jnp.array([5.0, 10.0, 20.0, 26.0])
        t = jnp.linspace(0.0, 2.0 * jnp.pi, 16, endpoint=False)
        f = jnp.sin(3.0 * t) + 0.5 * jnp.cos(t)
        spec = jnp.fft.rfft(f)
        kk = jnp.fft.rfftfreq(16, d=1.0 / 16)
        df = jnp.fft.irfft(1j * kk * spec, n=16)
        grid = jnp.outer(jnp.sin(t), jnp.cos(2.0 * t))
        f2 = jnp.fft.fft2(grid)

        gam = random.gamma(random.PRNGKey(3), jnp.array([0.5, 2.5, 40.0]))
        return {
            "solve": x,
            "solve_err": jnp.max(jnp.abs(x - x_true)) < 1e-8,
            "inv": h_inv,
            "inv_exact": jsl.invhilbert(6),
            "det": jnp.linalg.det(h),
            "slogdet": jnp.stack([sign, logdet]),
            "cond": jnp.linalg.cond(h),
            "eigh": evals,
            "eigh_err": jnp.max(jnp.abs(evals - exact)) < 1e-12,
            "eigvec_abs_first": jnp.abs(evecs[:, 0]),
            "svd": s,
            "qr_r_abs": jnp.abs(r),
            "qr_orth": jnp.max(jnp.abs(q.T @ q - jnp.eye(4))) < 1e-14,
            "cho_solve": jsl.cho_solve((c, low), jnp.ones(7)),
            "lu_solve": jsl.lu_solve(lu_piv, b),
            "lu_solve_t": jsl.lu_solve(lu_piv, b, trans=1),
            "expm": rot,
            "expm_vs_exact": jnp.abs(rot[1, 0] - jnp.sin(theta)) < 1e-15,
            "lstsq": coef,
            "lstsq_rank": rank,
            "lstsq_sv": sv,
            "matrix_rank": jnp.linalg.matrix_rank(h),
            "erfc": sp.erfc(z),
            "log_ndtr": sp.log_ndtr(jnp.array([-40.0, -10.0, 0.0, 8.0])),
            "ndtr_tail": sp.ndtr(jnp.array([-30.0, -9.0, 9.0])),
            "ndtri": sp.ndtri(jnp.array([1e-100, 1e-20, 0.5, 1.0 - 1e-12])),
            "gammaln": sp.gammaln(jnp.array([0.5, 1e-8, 171.5, 1e6])),
            "gamma_big": sp.gamma(jnp.array([100.0, 170.5])),
            "digamma": sp.digamma(jnp.array([1.4616321449683623, 1e-6, 100.0])),
            "polygamma": sp.polygamma(jnp.array([1, 2, 3]), jnp.array([0.5, 0.5, 10.0])),
            "zeta": sp.zeta(jnp.array([2.0, 3.0, 50.0]), 1.0),
            "i0e_i1e": jnp.stack([sp.i0e(jnp.array([0.1, 50.0, 1e4])),
                                  sp.i1e(jnp.array([0.1, 50.0, 1e4]))]),
            "xlogy": sp.xlogy(jnp.array([0.0, 1e-300, 2.0]), jnp.array([0.0, 1e-300, 1e300])),
            "logsumexp": sp.logsumexp(jnp.array([-1000.0, -1000.0, -1001.0])),
            "gammainc": sp.gammainc(jnp.array([0.5, 5.0, 100.0]), jnp.array([1e-10, 5.0, 90.0])),
            "gammaincc_tail": sp.gammaincc(jnp.array([2.0]), jnp.array([200.0])),
            "betainc": sp.betainc(jnp.array([0.5, 2.0, 50.0]), jnp.array([0.5, 3.0, 50.0]),
                                  jnp.array([1e-8, 0.3, 0.45])),
            "expit_logit": jnp.stack([sp.expit(jnp.array([-700.0, 36.0, 40.0])),
                                      sp.logit(jnp.array([1e-300, 0.5, 1.0 - 1e-15]))]),
            "rfft_re": spec.real,
            "rfft_im": spec.imag,
            "spectral_derivative": df,
            "derivative_err": jnp.max(jnp.abs(df - (3.0 * jnp.cos(3.0 * t) - 0.5 * jnp.sin(t))))
            < 1e-12,
            "fft2_abs": jnp.abs(f2[:3, :3]),
            "gamma_samples": gam,
            "grad_logdet": jax.grad(lambda m: jnp.linalg.slogdet(m)[1])(lap[:3, :3]),
            "hessian_lse": jax.hessian(sp.logsumexp)(jnp.array([0.1, -0.2, 0.3])),
            "grad_gammaln": jax.grad(lambda v: jnp.sum(sp.gammaln(v)))(jnp.array([0.5, 10.0])),
            "dtypes": " ".join(str(v.dtype) for v in (
                x, evals, s, rot, coef, rank, spec, df, f2, sp.erfc(z), gam,
                jnp.fft.fftfreq(4), jsl.lu_factor(h)[1])),
        }


if __name__ == "__main__":
    print(run())
