"""Linear algebra as probabilistic-model code uses it, differentiated: a Gaussian
log-likelihood through `jax.scipy.linalg.cho_factor`/`cho_solve` and `slogdet`, whitening
with `solve_triangular` (`trans=`, `lower=`, `unit_diagonal=`), a linear ODE solved with
`expm` (and its gradient), least squares with `jnp.linalg.lstsq` (residuals, rank,
singular values) and `pinv`, a weighted `jnp.polyfit` with `cov=True`, and
`jax.scipy.special.logsumexp` with `b=` and `return_sign=` for a signed mixture."""
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jax.scipy.special import logsumexp


def gaussian_loglik(params, y):
    chol_raw, mean = params
    n = y.shape[0]
    scale = jnp.tril(chol_raw) + 2.0 * jnp.eye(n)
    cov = scale @ scale.T
    c = jsl.cho_factor(cov, lower=True)
    alpha = jsl.cho_solve(c, y - mean)
    sign, logdet = jnp.linalg.slogdet(cov)
    return -0.5 * (jnp.dot(y - mean, alpha) + sign * logdet + n * jnp.log(2 * jnp.pi))


def ode_solution(a, x0, t):
    return jsl.expm(a * t) @ x0


def run():
    y = jnp.array([0.5, -1.0, 2.0])
    chol_raw = jnp.array([[0.3, 0.0, 0.0], [0.2, -0.1, 0.0], [-0.4, 0.5, 0.25]])
    mean = jnp.array([0.1, 0.0, 0.5])
    ll, (g_chol, g_mean) = jax.value_and_grad(gaussian_loglik)((chol_raw, mean), y)

    lower = jnp.tril(chol_raw) + 2.0 * jnp.eye(3)
    rhs = jnp.array([[1.0, 0.0], [2.0, 1.0], [0.0, -1.0]])
    a = jnp.array([[0.0, 1.0], [-2.0, -0.3]])
    x0 = jnp.array([1.0, 0.0])
    design = jnp.array([[1.0, 0.0], [1.0, 1.0], [1.0, 2.0], [1.0, 3.5]])
    target = jnp.array([0.9, 2.1, 2.9, 4.6])
    coef, resid, rank, sv = jnp.linalg.lstsq(design, target)
    xs = jnp.linspace(0.0, 2.0, 9)
    ys = 1.5 * xs ** 2 - xs + 0.25 + 0.05 * jnp.cos(5.0 * xs)
    p, pcov = jnp.polyfit(xs, ys, 2, w=1.0 + xs, cov=True)
    logs = jnp.array([0.5, 1.5, -0.25])
    weights = jnp.array([1.0, -0.5, 2.0])
    lse, sign = logsumexp(logs, b=weights, return_sign=True)
    neg, neg_sign = logsumexp(logs, b=-weights, return_sign=True)
    return {
        "loglik": ll, "grad_chol": g_chol, "grad_mean": g_mean,
        "whiten": jsl.solve_triangular(lower, rhs, lower=True),
        "whiten_trans": jsl.solve_triangular(lower, rhs, lower=True, trans="T"),
        "whiten_trans1": jsl.solve_triangular(lower.T, rhs[:, 0], trans=1),
        "whiten_unit": jsl.solve_triangular(lower, rhs, lower=True, unit_diagonal=True),
        "whiten_grad": jax.grad(
            lambda l: jnp.sum(jsl.solve_triangular(l, rhs, lower=True) ** 2))(lower),
        "ode": jnp.stack([ode_solution(a, x0, t) for t in (0.0, 0.5, 2.0)]),
        "ode_grad_a": jax.grad(lambda m: ode_solution(m, x0, 1.5)[0])(a),
        "expm_nilpotent": jsl.expm(jnp.array([[0.0, 2.0, 1.0], [0.0, 0.0, 3.0], [0.0, 0.0, 0.0]])),
        "lstsq_coef": coef, "lstsq_resid": resid, "lstsq_rank": rank, "lstsq_sv": sv,
        "pinv": jnp.linalg.pinv(design),
        "pinv_coef": jnp.linalg.pinv(design) @ target,
        "pinv_grad": jax.grad(lambda d: jnp.sum(jnp.linalg.pinv(d) @ target))(design),
        "polyfit": p, "polyfit_cov": pcov,
        "lse_signed": jnp.stack([lse, sign, neg, neg_sign]),
        "lse_grad": jax.grad(lambda v: logsumexp(v, b=weights ** 2))(logs),
    }


if __name__ == "__main__":
    print(run())
