"""Probability densities from `jax.scipy.stats` and special functions from
`jax.scipy.special` in small Bayesian computations: a Beta-Bernoulli posterior, a robust
Student-t regression fitted by gradient descent, log densities and their parameter
gradients (digamma through `beta.logpdf`), and the special functions they rest on."""
import jax
import jax.numpy as jnp
from jax import random
from jax.scipy import special, stats


def beta_bernoulli(flips, a0=2.0, b0=2.0):
    heads = jnp.sum(flips)
    a, b = a0 + heads, b0 + flips.shape[0] - heads
    grid = jnp.linspace(0.05, 0.95, 7)
    log_prior = stats.beta.logpdf(grid, a0, b0)
    log_lik = jnp.sum(stats.bernoulli.logpmf(flips[:, None], grid[None, :]), axis=0)
    log_post = log_prior + log_lik
    return a, b, stats.beta.pdf(grid, a, b), jnp.exp(log_post - special.logsumexp(log_post))


def robust_fit(x, y, df=3.0, steps=40):
    def loss(params):
        pred = params[0] + params[1] * x
        return -jnp.mean(stats.t.logpdf(y, df, loc=pred, scale=jnp.exp(params[2])))

    step = jax.jit(lambda p: p - 0.3 * jax.grad(loss)(p))
    params = jnp.zeros(3)
    for _ in range(steps):
        params = step(params)
    return params, loss(params)


def run():
    k_flip, k_noise, k_out = random.split(random.PRNGKey(55), 3)
    flips = random.bernoulli(k_flip, 0.7, (20,)).astype(jnp.float32)
    a, b, post_pdf, grid_post = beta_bernoulli(flips)

    x = jnp.linspace(-2.0, 2.0, 30)
    y = 1.0 + 0.5 * x + 0.1 * random.normal(k_noise, (30,))
    y = y.at[::7].add(5.0 * random.cauchy(k_out, (5,)))
    params, fit_loss = robust_fit(x, y)

    pts = jnp.array([0.1, 0.5, 1.5, 3.0])
    alpha_grad = jax.grad(lambda a: jnp.sum(stats.beta.logpdf(jnp.array([0.2, 0.7]), a, 2.0)))
    shape_grad = jax.grad(lambda k: jnp.sum(stats.gamma.logpdf(pts, k, scale=2.0)))
    return {
        "flips": flips,
        "posterior_ab": jnp.stack([a, b]),
        "posterior_pdf": post_pdf,
        "grid_posterior": grid_post,
        "robust_params": params,
        "robust_loss": fit_loss,
        "gamma_logpdf": stats.gamma.logpdf(pts, 2.5, loc=0.0, scale=0.5),
        "expon": jnp.stack([stats.expon.logpdf(pts, scale=2.0), stats.expon.cdf(pts)]),
        "uniform": jnp.stack([stats.uniform.logpdf(pts, 0.0, 2.0), stats.uniform.cdf(pts, 0, 2)]),
        "laplace": jnp.stack([stats.laplace.logpdf(pts, 1.0, 0.5), stats.laplace.cdf(pts)]),
        "logistic": jnp.stack([stats.logistic.logpdf(pts), stats.logistic.cdf(pts)]),
        "cauchy": jnp.stack([stats.cauchy.logpdf(pts, 0.5, 2.0), stats.cauchy.cdf(pts)]),
        "t_pdf": stats.t.pdf(pts, 4.0),
        "dirichlet": stats.dirichlet.logpdf(jnp.array([0.2, 0.3, 0.5]), jnp.array([1.5, 2.0, 3.0])),
        "mvn": stats.multivariate_normal.logpdf(jnp.array([[0.5, -0.2], [1.0, 1.0]]),
                                                jnp.zeros(2), jnp.array([[2.0, 0.3], [0.3, 1.0]])),
        "norm_logcdf": stats.norm.logcdf(jnp.array([-10.0, -1.0, 0.0, 3.0])),
        "beta_alpha_grad": alpha_grad(3.0),
        "gamma_shape_grad": shape_grad(1.7),
        "digamma": special.digamma(jnp.array([0.5, 1.0, 4.5])),
        "betaln": special.betaln(jnp.array([0.5, 2.0]), jnp.array([3.0, 2.0])),
        "erf_family": jnp.stack([special.erf(pts), special.erfc(pts), special.erfinv(pts / 4.0)]),
        "ndtri": special.ndtri(jnp.array([0.01, 0.5, 0.9])),
        "log_ndtr": special.log_ndtr(jnp.array([-20.0, -2.0, 2.0])),
        "expit_logit": jnp.stack([special.expit(pts), special.logit(pts / 4.0)]),
        "xlog1py_entr": jnp.stack([special.xlog1py(pts, pts), special.entr(pts / 4.0)]),
        "gammaln": special.gammaln(jnp.array([0.5, 3.0, 10.5])),
        "multigammaln": special.multigammaln(jnp.array(3.5), 3),
    }


if __name__ == "__main__":
    print(run())
