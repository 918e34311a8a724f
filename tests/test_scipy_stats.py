"""The distributions of funcgrad.scipy.stats added for JAX ports (bernoulli, beta, binom,
cauchy, chi2, dirichlet, expon, gamma, geom, laplace, logistic, pareto, poisson, t, uniform)
against SciPy: values in float64 inside and outside the support (-inf, 0, NaN where JAX
gives them), float32 stays float32, derivatives with respect to the parameters, and jit/vmap.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as sst

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.scipy import stats as fst
from funcgrad.testing import check_grads

pytestmark = pytest.mark.core

X = np.array([-1.5, -0.25, 0.0, 0.3, 0.5, 1.0, 1.7, 2.0, 4.5, 10.0])
Q = np.array([0.0, 1e-6, 0.05, 0.3, 0.5, 0.9, 0.999, 1.0])
K = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 5.0, 2.5, 12.0])
KI = K[K != 2.5]     # as JAX, binom and geom do not check that k is an integer (SciPy does)

# (funcgrad function, SciPy function, points, extra positional args)
CASES = [
    ("bernoulli.logpmf", sst.bernoulli.logpmf, K, (0.3,)),
    ("bernoulli.pmf", sst.bernoulli.pmf, K, (0.3,)),
    ("bernoulli.cdf", sst.bernoulli.cdf, X, (0.3,)),
    ("bernoulli.ppf", sst.bernoulli.ppf, Q[1:], (0.3,)),  # q = 0: SciPy -1, JAX 0
    ("beta.logpdf", sst.beta.logpdf, X / 2, (2.5, 1.5)),
    ("beta.pdf", sst.beta.pdf, X / 2, (0.7, 3.0)),
    ("beta.logpdf", sst.beta.logpdf, X, (2.0, 3.0, -1.0, 4.0)),
    ("binom.logpmf", sst.binom.logpmf, KI, (6, 0.35)),
    ("binom.pmf", sst.binom.pmf, KI, (10, 0.8)),
    ("cauchy.logpdf", sst.cauchy.logpdf, X, (0.5, 2.0)),
    ("cauchy.pdf", sst.cauchy.pdf, X, ()),
    ("cauchy.cdf", sst.cauchy.cdf, X, (0.5, 2.0)),
    ("cauchy.logcdf", sst.cauchy.logcdf, X, ()),
    ("cauchy.sf", sst.cauchy.sf, X, (1.0,)),
    ("cauchy.logsf", sst.cauchy.logsf, X, ()),
    ("cauchy.ppf", sst.cauchy.ppf, Q[2:-1], (0.5, 2.0)),
    ("cauchy.isf", sst.cauchy.isf, Q[2:-1], ()),
    ("chi2.logpdf", sst.chi2.logpdf, X, (3.0,)),
    ("chi2.pdf", sst.chi2.pdf, X, (4.5, 0.5, 2.0)),
    ("expon.logpdf", sst.expon.logpdf, X, ()),
    ("expon.pdf", sst.expon.pdf, X, (0.5, 2.0)),
    ("expon.cdf", sst.expon.cdf, X, (0.0, 2.0)),
    ("expon.logcdf", sst.expon.logcdf, X[3:], ()),
    ("expon.sf", sst.expon.sf, X, (0.5,)),
    ("expon.logsf", sst.expon.logsf, X, ()),
    ("expon.ppf", sst.expon.ppf, Q, (1.0, 3.0)),
    ("gamma.logpdf", sst.gamma.logpdf, X, (2.5,)),
    ("gamma.pdf", sst.gamma.pdf, X, (0.8, -1.0, 2.0)),
    ("gamma.logpdf", sst.gamma.logpdf, X, (1.0,)),
    ("geom.logpmf", sst.geom.logpmf, KI, (0.25,)),
    ("geom.pmf", sst.geom.pmf, KI, (0.6, 1)),
    ("laplace.logpdf", sst.laplace.logpdf, X, (1.0, 0.5)),
    ("laplace.pdf", sst.laplace.pdf, X, ()),
    ("laplace.cdf", sst.laplace.cdf, X, (0.5, 2.0)),
    ("logistic.logpdf", sst.logistic.logpdf, X * 30, (1.0, 2.0)),
    ("logistic.pdf", sst.logistic.pdf, X, ()),
    ("logistic.cdf", sst.logistic.cdf, X, (0.5,)),
    ("logistic.sf", sst.logistic.sf, X, ()),
    ("logistic.ppf", sst.logistic.ppf, Q[1:-1], (0.5, 2.0)),
    ("logistic.isf", sst.logistic.isf, Q[1:-1], ()),
    ("pareto.logpdf", sst.pareto.logpdf, X, (2.5,)),
    ("pareto.pdf", sst.pareto.pdf, X, (1.5, 0.5, 2.0)),
    ("pareto.cdf", sst.pareto.cdf, X, (3.0,)),
    ("pareto.logcdf", sst.pareto.logcdf, X[6:], (3.0,)),
    ("pareto.sf", sst.pareto.sf, X, (3.0,)),
    ("pareto.logsf", sst.pareto.logsf, X, (3.0,)),
    ("pareto.ppf", sst.pareto.ppf, Q, (2.0, 0.5, 1.5)),
    ("poisson.logpmf", sst.poisson.logpmf, K, (2.5,)),
    ("poisson.pmf", sst.poisson.pmf, K, (0.5, 1)),
    ("t.logpdf", sst.t.logpdf, X, (3.0,)),
    ("t.pdf", sst.t.pdf, X, (1.5, 0.5, 2.0)),
    ("uniform.logpdf", sst.uniform.logpdf, X, (0.0, 2.0)),
    ("uniform.pdf", sst.uniform.pdf, X, ()),
    ("uniform.cdf", sst.uniform.cdf, X, (-1.0, 3.0)),
    ("uniform.ppf", sst.uniform.ppf, Q, (-1.0, 3.0)),
]


def _fn(path):
    module, name = path.split(".")
    return getattr(getattr(fst, module), name)


@pytest.mark.parametrize("path, ref, points, args", CASES,
                         ids=[f"{c[0]}{c[3]}" for c in CASES])
def test_matches_scipy(path, ref, points, args, x64):
    got = np.asarray(_fn(path)(fnp.asarray(points), *args))
    with np.errstate(all="ignore"):
        want = ref(points, *args)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300, equal_nan=True,
                               err_msg=path)


@pytest.mark.parametrize("path, ref, points, args", CASES[::3],
                         ids=[f"{c[0]}{c[3]}" for c in CASES[::3]])
def test_float32_stays_float32(path, ref, points, args):
    got = _fn(path)(fnp.asarray(points.astype(np.float32)), *args)
    assert got.dtype == fnp.float32
    with np.errstate(all="ignore"):
        want = ref(points, *args)
    np.testing.assert_allclose(np.asarray(got), want, rtol=2e-5, atol=1e-6, equal_nan=True,
                               err_msg=path)


def test_cauchy_ppf_near_zero_is_jax_formula(x64):
    # tan(pi q - pi/2), as JAX: 1.5e-11 relative from SciPy at q = 1e-6 in float64; in
    # float32 -654507.56 (JAX's float32 value too) against the exact -636619.27.
    q = fnp.asarray(np.array([1e-6]))
    np.testing.assert_allclose(np.asarray(fst.cauchy.ppf(q, 0.5, 2.0)),
                               sst.cauchy.ppf(1e-6, 0.5, 2.0), rtol=1e-10)
    q32 = fnp.asarray(np.array([1e-6], np.float32))
    assert np.asarray(fst.cauchy.ppf(q32, 0.5, 2.0))[0] == np.float32(-654507.56)


def test_invalid_parameters_give_nan_as_jax(x64):
    assert np.isnan(float(fst.beta.logpdf(0.5, -1.0, 2.0)))
    assert np.isnan(float(fst.beta.logpdf(0.5, 1.0, 2.0, 0.0, -1.0)))
    assert np.isnan(float(fst.bernoulli.cdf(0.5, 1.5)))
    assert np.isnan(float(fst.bernoulli.ppf(1.5, 0.3)))
    assert float(fst.bernoulli.ppf(0.0, 0.3)) == 0.0          # SciPy: -1
    assert np.isnan(float(fst.expon.ppf(-0.1)))
    assert float(fst.binom.logpmf(0.0, 0.0, 0.3)) == 0.0       # n = 0: certain
    assert float(fst.binom.logpmf(4.0, 4.0, 1.0)) == 0.0       # p = 1: certain


def test_norm_with_a_negative_scale_is_jax_formula(x64):
    # JAX 0.10.2's norm.logpdf squares the scale: scale=-1 is scale=1 (-1.4189385 at 1.0,
    # -2.9189385 at 2.0); SciPy and funcgrad gave NaN
    got = fst.norm.logpdf(np.array([1.0, 2.0]), scale=-1.0)
    np.testing.assert_allclose(np.asarray(got), sst.norm.logpdf([1.0, 2.0]), rtol=1e-14)
    np.testing.assert_allclose(np.asarray(fst.norm.pdf(0.0, 0.5, -2.0)),
                               sst.norm.pdf(0.0, 0.5, 2.0), rtol=1e-14)
    check_grads(lambda s: fst.norm.logpdf(0.3, 0.1, s), (-1.5,), order=1)


def test_dirichlet_matches_scipy(x64):
    alpha = np.array([1.5, 2.0, 3.0])
    x = np.array([0.2, 0.3, 0.5])
    want = sst.dirichlet.logpdf(x, alpha)
    np.testing.assert_allclose(float(fst.dirichlet.logpdf(x, alpha)), want, rtol=1e-12)
    np.testing.assert_allclose(float(fst.dirichlet.logpdf(x[:2], alpha)), want, rtol=1e-12)
    np.testing.assert_allclose(float(fst.dirichlet.pdf(x, alpha)), np.exp(want), rtol=1e-12)
    # Points along the first axis; off the simplex is -inf.
    pts = np.array([[0.2, 0.6], [0.3, 0.3], [0.5, 0.2]])
    got = np.asarray(fst.dirichlet.logpdf(pts, alpha))
    np.testing.assert_allclose(got[0], want, rtol=1e-12)
    assert got[1] == -np.inf
    with pytest.raises(ValueError, match="dirichlet.logpdf: x must have 3 or 2"):
        fst.dirichlet.logpdf(np.ones(5) / 5, alpha)
    with pytest.raises(ValueError, match="alpha must be one-dimensional"):
        fst.dirichlet.logpdf(x, alpha[None])


def test_parameter_gradients(x64):
    pts = fnp.asarray(np.array([0.2, 0.7]))
    check_grads(lambda a, b: fnp.sum(fst.beta.logpdf(pts, a, b)), (2.0, 3.0), order=2)
    check_grads(lambda k, s: fnp.sum(fst.gamma.logpdf(pts * 3, k, scale=s)), (1.7, 2.0),
                order=2)
    check_grads(lambda mu: fnp.sum(fst.poisson.logpmf(fnp.arange(4.0), mu)), (2.5,), order=2)
    check_grads(lambda df, loc, s: fnp.sum(fst.t.logpdf(pts, df, loc, s)), (3.0, 0.1, 1.5),
                order=2)
    check_grads(lambda p: fnp.sum(fst.bernoulli.logpmf(fnp.array([0.0, 1.0]), p)), (0.3,),
                order=2)
    check_grads(lambda a: fst.dirichlet.logpdf(fnp.array([0.2, 0.3, 0.5]), a),
                (fnp.array([1.5, 2.0, 3.0]),), order=2)
    check_grads(lambda loc, s: fnp.sum(fst.logistic.logpdf(pts, loc, s)), (0.3, 2.0), order=2)
    check_grads(lambda loc, s: fnp.sum(fst.cauchy.logpdf(pts, loc, s)), (0.3, 2.0), order=2)


def test_gamma_gradient_is_finite_off_the_support(x64):
    g = fg.grad(lambda a: fnp.sum(fst.gamma.logpdf(fnp.array([-1.0, 2.0]), a)))(2.0)
    np.testing.assert_allclose(float(g), np.log(2.0) - float(fg.scipy.special.digamma(2.0)),
                               rtol=1e-12)


def test_under_jit_and_vmap_on_every_backend(backend):
    rates = fnp.asarray(np.array([0.5, 2.0, 4.0], np.float32))
    f = fg.jit(fg.vmap(lambda mu: fst.poisson.logpmf(fnp.arange(4.0), mu)))
    want = sst.poisson.logpmf(np.arange(4.0)[None, :], np.array([0.5, 2.0, 4.0])[:, None])
    np.testing.assert_allclose(np.asarray(f(rates)), want, rtol=2e-6)
    g = fg.jit(fg.grad(lambda a: fnp.sum(fst.beta.logpdf(fnp.array([0.2, 0.7]), a, 2.0))))
    from scipy.special import digamma
    want_g = sum(np.log(x) - digamma(3.0) + digamma(5.0) for x in (0.2, 0.7))
    np.testing.assert_allclose(float(g(3.0)), want_g, rtol=2e-6)
