"""The regularized incomplete gamma functions (funcgrad/_igamma.py): scipy.special's
gammainc/gammaincc, lax.igamma/igammac/igamma_grad_a/random_gamma_grad, the gamma, chi2 and
poisson cdfs, and the implicit reparameterisation gradient of random.gamma, checked
against SciPy (float64), finite differences, and values JAX 0.10.2 gives."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.special as ss
import scipy.stats as sst
from hypothesis import given, settings, strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.scipy import special as fs
from funcgrad.scipy import stats as fst
from funcgrad.testing import check_grads

F32, F64 = np.float32, np.float64


_PQ = fg.jit(lambda a, x: (fs.gammainc(a, x), fs.gammaincc(a, x)))


@settings(max_examples=60, deadline=None)
@given(a=st.floats(1e-3, 300.0), x=st.floats(0.0, 400.0))
def test_gammainc_matches_scipy_in_float64(a, x):
    with fg.config.enable_x64(True):
        p, q = (float(v) for v in _PQ(np.float64(a), np.float64(x)))
    # the prefactor exp(a log x - x - lgamma(a)) loses ~ eps * (a log x + x) relatively
    tol = 1e-14 * (10 + a + abs(a * np.log(max(x, 1e-300))) + x)
    assert abs(p - ss.gammainc(a, x)) <= tol + 1e-13 * ss.gammainc(a, x)
    assert abs(q - ss.gammaincc(a, x)) <= tol + 1e-13 * ss.gammaincc(a, x)


def test_gammainc_float32_on_a_grid():
    a = np.geomspace(1e-3, 100, 23).astype(F32)
    x = np.geomspace(1e-4, 150, 29).astype(F32)
    A, X = np.meshgrid(a, x)
    p, q = _PQ(A, X)
    assert p.dtype == F32 and q.dtype == F32
    ref_p = ss.gammainc(A.astype(F64), X.astype(F64))
    ref_q = ss.gammaincc(A.astype(F64), X.astype(F64))
    tol = 4e-7 * (10 + A + np.abs(A * np.log(X)) + X)
    np.testing.assert_array_less(np.abs(np.asarray(p, F64) - ref_p), tol * ref_p + 1e-37)
    # Q = 1 - P where the series gives P (x <= max(1, a)): an absolute error of a few eps
    # there (as Cephes and JAX)
    np.testing.assert_array_less(np.abs(np.asarray(q, F64) - ref_q), tol * ref_q + 1e-6)


def test_gammaincc_float32_for_tiny_a_is_relatively_accurate():
    # Q on the continued fraction (x > 1, x > a) for a down to 1e-38, and its x-derivative.
    # The fraction's value used to be taken after its derivative converged too, and went on
    # drifting meanwhile: gammaincc(1e-30, 10) was 1.3e-5 off and the worst of these points
    # 1e-4; the prefactor's exp(lgamma)-sized exponent cost a few units of 1e-6 more.
    rng = np.random.default_rng(7)
    a = (10.0 ** rng.uniform(-38, -0.1, 600)).astype(F32)
    x = (10.0 ** rng.uniform(0.05, 1.8, 600)).astype(F32)
    normal = ss.gammaincc(a.astype(F64), x.astype(F64)) > 1e-36     # (not subnormal: the
    a, x = a[normal], x[normal]                                       # digits are there)
    assert len(a) > 300
    q = np.asarray(fs.gammaincc(a, x), F64)
    ref = ss.gammaincc(a.astype(F64), x.astype(F64))
    np.testing.assert_array_less(np.abs(q - ref), 1e-5 * ref)
    assert np.quantile(np.abs(q - ref) / ref, 0.9) < 3e-6
    assert abs(float(fs.gammaincc(F32(1e-30), F32(10))) / 4.156969e-36 - 1) < 1e-6
    dq = np.asarray(fg.vmap(fg.grad(lambda x_, a_: fs.gammaincc(a_, x_)))(x, a), F64)
    ref_dq = -np.exp((a.astype(F64) - 1) * np.log(x.astype(F64)) - x.astype(F64)
                     - ss.gammaln(a.astype(F64)))
    np.testing.assert_array_less(np.abs(dq - ref_dq), 1e-5 * np.abs(ref_dq))


def test_edges_are_jax_s():
    # JAX 0.10.2: jax.scipy.special.gammainc / gammaincc at these (a, x), except at
    # a = inf: SciPy's limits P = 0, Q = 1 for finite x (JAX gives NaN from x = 1, 0 and 1
    # below), NaN at x = inf
    a = np.array([0.0, -1.0, 1.0, 1.0, 2.0, np.nan, 1.0, 0.0, np.inf, 2.0, np.inf], F32)
    x = np.array([1.0, 1.0, 0.0, -1.0, np.inf, 1.0, np.nan, 0.0, 1.0, 0.0, np.inf], F32)
    nan = np.nan
    np.testing.assert_array_equal(np.asarray(fs.gammainc(a, x)),
                                  [1, nan, 0, nan, 1, nan, nan, nan, 0, 0, nan])
    np.testing.assert_array_equal(np.asarray(fs.gammaincc(a, x)),
                                  [0, nan, 1, nan, 0, nan, nan, nan, 1, 1, nan])
    # dtypes: integers promote to the default float, float16 stays float16
    assert fs.gammainc(2, 1).dtype == F32
    assert fs.gammainc(fnp.float16(2), fnp.float16(1)).dtype == fnp.float16
    with pytest.raises(TypeError, match="gammainc: complex"):
        fs.gammainc(1 + 1j, 2.0)


def test_derivatives_are_jax_s_and_match_finite_differences():
    # JAX 0.10.2: grad(gammainc, argnums=(0, 1)) at (2, 3) and (2, 0.5), grad(gammaincc)
    g = fg.grad(fs.gammainc, argnums=(0, 1))
    np.testing.assert_allclose([float(v) for v in g(2.0, 3.0)], [-0.19742535, 0.14936121],
                               rtol=2e-6)
    np.testing.assert_allclose([float(v) for v in g(2.0, 0.5)], [-0.15103424, 0.30326533],
                               rtol=2e-6)
    gq = fg.grad(fs.gammaincc, argnums=(0, 1))(2.0, 3.0)
    np.testing.assert_allclose([float(v) for v in gq], [0.19742535, -0.14936121], rtol=2e-6)
    np.testing.assert_allclose(float(lax.igamma_grad_a(2.0, 1.5)), -0.31348864, rtol=2e-6)
    # both branches (series: x <= max(1, a); continued fraction), first and second order
    # (JAX raises for second derivatives: igamma_grad_a has no rule there)
    for a, x in [(0.3, 0.2), (2.0, 3.0), (40.0, 35.0)]:
        check_grads(fs.gammainc, (a, x), order=2, modes=("fwd", "rev"), atol=1e-6, rtol=1e-5)
    check_grads(fs.gammaincc, (0.8, 4.0), order=1, modes=("rev",), atol=1e-6, rtol=1e-5)


def test_random_gamma_grad_is_the_derivative_of_the_inverse_cdf(x64):
    # x(a) = P^-1(a, u) at a fixed u: dx/da by central differences of SciPy's inverse
    for a, u in [(0.05, 0.3), (0.7, 0.9), (2.0, 0.5), (9.0, 0.01), (60.0, 0.8)]:
        x = ss.gammaincinv(a, u)
        h = 1e-6 * a
        fd = (ss.gammaincinv(a + h, u) - ss.gammaincinv(a - h, u)) / (2 * h)
        got = float(lax.random_gamma_grad(np.float64(a), np.float64(x)))
        np.testing.assert_allclose(got, fd, rtol=1e-6)


def test_gamma_draws_are_differentiable_in_their_shape_as_in_jax():
    # JAX 0.10.2 (PRNGKey(0), three draws): the draws, grad of their sum in a at 2.0 and
    # 0.3, loggamma's and beta's, and jvp's tangents
    k = fg.random.PRNGKey(0)
    np.testing.assert_allclose(np.asarray(fg.random.gamma(k, 2.0, (3,))),
                               [1.5897877, 1.7599413, 1.1290071], rtol=1e-6)
    cases = [(lambda a: fg.random.gamma(k, a, (3,)).sum(), 2.0, 2.7869484),
             (lambda a: fg.random.gamma(k, a, (3,)).sum(), 0.3, 4.746428),
             (lambda a: fg.random.loggamma(k, a, (3,)).sum(), 2.0, 1.8973668),
             (lambda a: fg.random.beta(k, a, 3.0, (3,)).sum(), 2.0, 0.43384522)]
    for f, a, want in cases:
        np.testing.assert_allclose(float(fg.grad(f)(a)), want, rtol=2e-5)
    np.testing.assert_allclose(float(fg.jit(fg.grad(cases[0][0]))(2.0)), 2.7869484, rtol=2e-5)
    _, t = fg.jvp(lambda a: fg.random.gamma(k, a, (3,)), (2.0,), (1.0,))
    np.testing.assert_allclose(np.asarray(t), [0.9656762, 1.0179105, 0.8033617], rtol=2e-5)
    # dirichlet draws from loggamma: differentiable too, its draws still sum to 1
    g = fg.grad(lambda a: fg.random.dirichlet(k, fnp.stack([a, 2 * a, 3.0]))[0])(1.5)
    assert np.isfinite(float(g))
    # under vmap over the shape parameter, each lane its own derivative
    per = fg.vmap(fg.grad(lambda a: fg.random.gamma(k, a)))(fnp.array([0.5, 2.0, 9.0]))
    one = [float(fg.grad(lambda a: fg.random.gamma(k, a))(a)) for a in (0.5, 2.0, 9.0)]
    np.testing.assert_allclose(np.asarray(per), one, rtol=1e-5)


def test_cdfs_match_scipy(x64):
    x = np.linspace(-1.0, 12.0, 27)
    for ours, ref in [(fst.gamma.cdf(x, 2.5, 0.1, 1.5), sst.gamma.cdf(x, 2.5, 0.1, 1.5)),
                      (fst.gamma.sf(x, 0.7), sst.gamma.sf(x, 0.7)),
                      (fst.gamma.logcdf(x, 3.0), sst.gamma.logcdf(x, 3.0)),
                      (fst.gamma.logsf(x, 3.0), sst.gamma.logsf(x, 3.0)),
                      (fst.chi2.cdf(x, 3.0), sst.chi2.cdf(x, 3.0)),
                      (fst.chi2.sf(x, 5.0, 0.5, 2.0), sst.chi2.sf(x, 5.0, 0.5, 2.0)),
                      (fst.chi2.logcdf(x, 4.0), sst.chi2.logcdf(x, 4.0)),
                      (fst.chi2.logsf(x, 4.0), sst.chi2.logsf(x, 4.0)),
                      (fst.poisson.cdf(np.floor(x * 2) / 2, 3.0), sst.poisson.cdf(
                          np.floor(x * 2) / 2, 3.0))]:
        np.testing.assert_allclose(np.asarray(ours), ref, rtol=1e-12, atol=1e-300)


def test_on_every_backend(backend):
    # both branches (series: x <= max(1, a); continued fraction), float32, jitted
    a = np.array([0.05, 0.5, 2.0, 2.0, 7.5, 30.0, 0.8, 60.0], F32)
    x = np.array([0.01, 0.3, 1.5, 3.0, 20.0, 25.0, 4.0, 65.0], F32)
    p, q, g = fg.jit(lambda a, x: (fs.gammainc(a, x), fs.gammaincc(a, x),
                                   lax.random_gamma_grad(a, x)))(a, x)
    a64, x64_ = a.astype(F64), x.astype(F64)
    np.testing.assert_allclose(np.asarray(p, F64), ss.gammainc(a64, x64_), rtol=5e-5)
    np.testing.assert_allclose(np.asarray(q, F64), ss.gammaincc(a64, x64_), rtol=5e-5,
                               atol=1e-6)
    u = ss.gammainc(a64, x64_)
    h = 1e-6 * a64
    fd = (ss.gammaincinv(a64 + h, u) - ss.gammaincinv(a64 - h, u)) / (2 * h)
    np.testing.assert_allclose(np.asarray(g, F64), fd, rtol=2e-4)


# --- the regularized incomplete beta function (funcgrad/_ibeta.py) --------------------------

_I = fg.jit(fs.betainc)


@settings(max_examples=40, deadline=None)
@given(a=st.floats(1e-3, 200.0), b=st.floats(1e-3, 200.0), x=st.floats(0.0, 1.0))
def test_betainc_matches_scipy_in_float64(a, b, x):
    with fg.config.enable_x64(True):
        got = float(_I(np.float64(a), np.float64(b), np.float64(x)))
    want = ss.betainc(a, b, x)
    lx = abs(np.log(x)) if 0 < x else 0.0
    l1x = abs(np.log1p(-x)) if x < 1 else 0.0
    tol = 1e-14 * (10 + a + b + a * lx + b * l1x)
    assert abs(got - want) <= tol * max(want, 1 - want, 1e-300) + 1e-300


def test_betainc_edges_and_derivatives():
    # JAX 0.10.2 (= SciPy) at the edges of the domain
    nan = np.nan
    a = np.array([0, 0, 2, 0, 2, 2, np.inf, 2, 1e-30, -1, 2], F32)
    b = np.array([0, 1, 0, 1, 0, 3, 1, np.inf, 1, 1, nan], F32)
    x = np.array([0.5, 0, 1, 1, 0, -0.1, 0.5, 0.5, 0.5, 0.5, 0.5], F32)
    np.testing.assert_array_equal(np.asarray(fs.betainc(a, b, x)),
                                  [nan, 0, 1, 1, 0, nan, 0, 1, 1, nan, nan])
    np.testing.assert_allclose(float(fs.betainc(2.0, 3.0, 0.4)), 0.5248004, rtol=1e-6)  # JAX
    # dI/dx as JAX (1.7280011); in a and b (JAX raises) against SciPy's central differences
    g = fg.grad(fs.betainc, argnums=(0, 1, 2))
    for a, b, x in [(2.0, 3.0, 0.4), (5.0, 0.5, 0.9), (0.3, 7.0, 0.02)]:
        h = 1e-6
        fd = [(ss.betainc(a + h, b, x) - ss.betainc(a - h, b, x)) / (2 * h),
              (ss.betainc(a, b + h, x) - ss.betainc(a, b - h, x)) / (2 * h),
              (ss.betainc(a, b, x + h) - ss.betainc(a, b, x - h)) / (2 * h)]
        np.testing.assert_allclose([float(v) for v in g(a, b, x)], fd, rtol=2e-5)
    check_grads(fs.betainc, (2.0, 3.0, 0.4), order=1, modes=("rev",), atol=1e-7, rtol=1e-6)


def test_beta_cdfs_and_betainc_on_every_backend(backend):
    x = np.linspace(-0.1, 1.1, 13).astype(F32)
    a = np.array([0.3, 2.0, 5.0, 40.0] * 3 + [1.0], F32)
    b = np.array([0.7, 3.0, 0.5, 30.0] * 3 + [1.0], F32)
    cdf, sf = fg.jit(lambda x, a, b: (fst.beta.cdf(x, a, b), fst.beta.sf(x, a, b)))(x, a, b)
    np.testing.assert_allclose(np.asarray(cdf, F64), sst.beta.cdf(x, a, b), rtol=2e-5,
                               atol=2e-7)
    np.testing.assert_allclose(np.asarray(sf, F64), sst.beta.sf(x, a, b), rtol=2e-5,
                               atol=2e-7)
