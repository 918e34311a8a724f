"""funcgrad.random's samplers built from the basic ones as JAX builds them (binomial,
multinomial, geometric, weibull_min, rayleigh, maxwell, double_sided_maxwell, wald,
triangular, ball, f, generalized_normal) and key_dtype: distributions against closed forms
(moments with tolerances from the sample size and the sample's own higher moments; a
Kolmogorov-Smirnov distance where the CDF is closed-form), shapes and dtypes, determinism
per key, jit == eager, vmap over keys, and gradients where JAX's are defined."""
from __future__ import annotations

import math

import numpy as np
import pytest

import funcgrad as fg
from funcgrad import random
from funcgrad.testing import check_grads

pytestmark = pytest.mark.core

N = 4000
KEY = random.PRNGKey(11)


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _norm_cdf(x):
    return 0.5 * (1.0 + _erf(np.asarray(x) / math.sqrt(2.0)))


def _check_moments(x, mean, var):
    """Sample mean and variance within 5 standard errors (of the mean: sqrt(var / n); of
    the variance: sqrt((m4 - s**4) / n) from the sample's own fourth moment)."""
    x = np.asarray(x, np.float64)
    n = x.size
    m = x.mean()
    assert abs(m - mean) <= 5 * math.sqrt(var / n), (m, mean)
    if var is not None:
        s2 = x.var()
        m4 = np.mean((x - m) ** 4)
        assert abs(s2 - var) <= 5 * math.sqrt(max(m4 - s2 ** 2, 0.0) / n), (s2, var)


def _check_ks(x, cdf):
    """The Kolmogorov-Smirnov distance from the closed-form CDF below the 0.1% critical
    value 1.95 / sqrt(n)."""
    x = np.sort(np.asarray(x, np.float64))
    n = x.size
    c = cdf(x)
    d = max(np.max(np.arange(1, n + 1) / n - c), np.max(c - np.arange(n) / n))
    assert d < 1.95 / math.sqrt(n), d


def _reference_jit(fn):
    """`fn` jitted on the reference backend: the rejection loops of binomial/multinomial
    run there as whole-array NumPy steps, far faster than eager op-by-op dispatch (eager
    results are compared with jitted ones in test_rejection_samplers_under_jit_and_vmap)."""
    return fg.jit(fn, backend="reference")


def test_rayleigh():
    s = 2.0
    x = random.rayleigh(KEY, s, (N,))
    assert x.shape == (N,) and x.dtype == np.float32
    _check_ks(x, lambda v: 1 - np.exp(-v ** 2 / (2 * s * s)))
    _check_moments(x, s * math.sqrt(math.pi / 2), (4 - math.pi) / 2 * s * s)
    scales = np.array([1.0, 3.0], np.float32)
    assert random.rayleigh(KEY, scales).shape == (2,)
    with pytest.raises(ValueError, match="rayleigh"):
        random.rayleigh(KEY, scales, (3,))


def test_maxwell_and_double_sided():
    x = random.maxwell(KEY, (N,))
    cdf = lambda v: _erf(v / math.sqrt(2)) - math.sqrt(2 / math.pi) * v * np.exp(-v * v / 2)  # noqa: E731
    _check_ks(x, cdf)
    _check_moments(x, 2 * math.sqrt(2 / math.pi), 3 - 8 / math.pi)
    loc, scale = 1.0, 2.0
    y = np.asarray(random.double_sided_maxwell(KEY, loc, scale, (N,)))
    assert y.shape == (N,)
    _check_ks(y, lambda v: 0.5 + 0.5 * np.sign(v - loc) * cdf(np.abs(v - loc) / scale))
    _check_moments(y, loc, 3 * scale * scale)
    # JAX's shape rule: shape + the parameters' broadcast shape, an empty shape meaning the
    # parameters' shape (so it appears twice).
    assert random.double_sided_maxwell(KEY, np.zeros(3), 1.0, (5,)).shape == (5, 3)
    assert random.double_sided_maxwell(KEY, np.zeros(3), 1.0).shape == (3, 3)


def test_weibull_min():
    lam, k = 2.0, 1.5
    x = random.weibull_min(KEY, lam, k, (N,))
    _check_ks(x, lambda v: 1 - np.exp(-(v / lam) ** k))
    g1, g2 = math.gamma(1 + 1 / k), math.gamma(1 + 2 / k)
    _check_moments(x, lam * g1, lam * lam * (g2 - g1 * g1))


def test_wald():
    mu = 2.0
    x = random.wald(KEY, mu, (N,))
    # Inverse Gaussian with shape parameter 1.
    cdf = lambda v: (_norm_cdf(np.sqrt(1 / v) * (v / mu - 1))  # noqa: E731
                     + math.exp(2 / mu) * _norm_cdf(-np.sqrt(1 / v) * (v / mu + 1)))
    _check_ks(x, cdf)
    _check_moments(x, mu, mu ** 3)


def test_triangular():
    a, c, b = 0.0, 1.0, 3.0
    x = random.triangular(KEY, a, c, b, (N,))
    cdf = lambda v: np.where(v <= c, (v - a) ** 2 / ((b - a) * (c - a)),  # noqa: E731
                             1 - (b - v) ** 2 / ((b - a) * (b - c)))
    _check_ks(x, cdf)
    _check_moments(x, (a + b + c) / 3, (a * a + b * b + c * c - a * b - a * c - b * c) / 18)
    assert np.all((np.asarray(x) >= a) & (np.asarray(x) <= b))


def test_f_and_generalized_normal():
    d1, d2 = 6.0, 20.0
    x = _reference_jit(lambda k: random.f(k, d1, d2, (N,)))(KEY)
    assert x.dtype == np.float32 and x.shape == (N,)
    var = 2 * d2 * d2 * (d1 + d2 - 2) / (d1 * (d2 - 2) ** 2 * (d2 - 4))
    _check_moments(x, d2 / (d2 - 2), var)
    # p = 1 is the Laplace distribution (p = 3 / 2 under jit below).
    g = random.generalized_normal(KEY, 1.0, (N,))
    _check_moments(g, 0.0, 2.0)
    _check_ks(g, lambda v: np.where(v < 0, 0.5 * np.exp(v), 1 - 0.5 * np.exp(-v)))


def test_ball():
    x = np.asarray(_reference_jit(lambda k: random.ball(k, 3, 2, (N,)))(KEY))
    assert x.shape == (N, 3)
    r = np.linalg.norm(x, axis=-1)
    assert np.all(r <= 1.0 + 1e-6)
    _check_ks(r, lambda v: np.clip(v, 0, 1) ** 3)        # uniform in the 3-ball
    y = np.asarray(_reference_jit(lambda k: random.ball(k, 2, 1, (N,)))(KEY))
    s = np.abs(y).sum(-1)
    assert np.all(s <= 1.0 + 1e-6)
    _check_ks(s, lambda v: np.clip(v, 0, 1) ** 2)        # uniform in the 2-d l1 ball
    with pytest.raises(fg.core.ConcretizationTypeError, match="ball"):
        fg.jit(lambda d: random.ball(KEY, d))(3)


def test_geometric():
    p = 0.3
    x = np.asarray(random.geometric(KEY, p, (N,)))
    assert x.dtype == np.int32 and x.min() >= 1
    _check_moments(x, 1 / p, (1 - p) / p ** 2)
    # Discrete CDF at the integers: P(X <= k) = 1 - (1 - p)**k.
    ks = np.arange(1, 15)
    emp = np.array([(x <= k).mean() for k in ks])
    assert np.max(np.abs(emp - (1 - (1 - p) ** ks))) < 1.95 / math.sqrt(N)
    assert random.geometric(KEY, p, (3,), dtype=np.int16).dtype == np.int16


def _binom_cdf(n, p, ks):
    pmf = [math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in range(n + 1)]
    c = np.cumsum(pmf)
    return np.array([c[min(int(k), n)] if k >= 0 else 0.0 for k in ks])


@pytest.mark.parametrize("n,p", [(20, 0.2), (200, 0.3), (200, 0.85)])
def test_binomial(n, p):
    # Inversion (n p <= 10), BTRS, and BTRS through the p > 1/2 symmetry.
    x = np.asarray(_reference_jit(lambda k: random.binomial(k, float(n), p, (N,)))(KEY))
    assert x.dtype == np.float32
    assert np.all(x == np.round(x)) and x.min() >= 0 and x.max() <= n
    _check_moments(x, n * p, n * p * (1 - p))
    ks = np.arange(0, n + 1)
    emp = np.searchsorted(np.sort(x), ks, side="right") / N
    assert np.max(np.abs(emp - _binom_cdf(n, p, ks))) < 1.95 / math.sqrt(N)


def test_binomial_edges_and_broadcast():
    n = np.array([0.0, -1.0, np.nan, np.inf, 5.0, 5.0, 5.0, 7.0, 3.7], np.float32)
    p = np.array([0.5, 0.5, 0.5, 0.5, 0.0, 1.0, 1.5, np.nan, 1.0], np.float32)
    out = np.asarray(random.binomial(KEY, n, p))
    # JAX's values: an infinite count gives inf
    np.testing.assert_array_equal(out, [0, np.nan, np.nan, np.inf, 0, 5, np.nan, np.nan, 3])
    assert random.binomial(KEY, np.full((2, 1), 10.0), np.array([0.1, 0.5, 0.9]),
                           (4, 2, 3)).shape == (4, 2, 3)


def test_multinomial():
    p = np.array([0.2, 0.3, 0.5], np.float32)
    n = 50.0
    x = np.asarray(_reference_jit(lambda k: random.multinomial(k, n, p, shape=(N,)))(KEY))
    assert x.shape == (N, 3) and x.dtype == np.float32
    np.testing.assert_array_equal(x.sum(-1), n)
    for i in range(3):
        _check_moments(x[:, i], n * p[i], n * p[i] * (1 - p[i]))
    # Batched probabilities; a zero-probability category is never drawn.
    pb = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], np.float32)
    y = np.asarray(random.multinomial(KEY, np.array([4.0, 6.0]), pb))
    assert y.shape == (2, 3)
    np.testing.assert_array_equal(y[:, 2], [0, 6])
    np.testing.assert_array_equal(y.sum(-1), [4, 6])


def test_key_dtype_and_impl_arguments():
    kd = random.key_dtype()
    assert kd == random.key(0).dtype and str(kd) == "key<fry>"
    assert random.key_dtype("threefry2x32") == kd
    k = random.key(3, dtype=kd)
    np.testing.assert_array_equal(random.key_data(k), random.PRNGKey(3, impl="threefry2x32"))
    w = random.wrap_key_data(random.key_data(k), dtype=kd)
    assert bool(w == k)
    with pytest.raises(ValueError, match="threefry2x32"):
        random.key_dtype("rbg")
    with pytest.raises(ValueError, match="threefry2x32"):
        random.PRNGKey(0, impl="unsafe_rbg")


def _all_cheap(k):
    return (random.rayleigh(k, 2.0, (6,)), random.maxwell(k, (6,)),
            random.double_sided_maxwell(k, 1.0, 2.0, (6,)), random.weibull_min(k, 2.0, 1.5, (6,)),
            random.wald(k, 2.0, (6,)), random.triangular(k, 0.0, 1.0, 3.0, (6,)),
            random.geometric(k, 0.3, (6,)))


def test_determinism_jit_vmap_typed_keys():
    a = _all_cheap(KEY)
    b = _all_cheap(random.PRNGKey(11))
    c = _all_cheap(random.PRNGKey(12))
    typed = _all_cheap(random.wrap_key_data(KEY))
    jitted = fg.jit(_all_cheap)(KEY)
    for x, y, z, t, j in zip(a, b, c, typed, jitted):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(x, t)
        assert not np.array_equal(x, z)
        np.testing.assert_allclose(j, x, rtol=2e-6, atol=1e-6)
    keys = random.split(KEY, 3)
    vm = fg.vmap(lambda k: random.rayleigh(k, 2.0, (4,)))(keys)
    np.testing.assert_array_equal(vm, np.stack([random.rayleigh(k, 2.0, (4,)) for k in keys]))


def test_rejection_samplers_under_jit_and_vmap():
    # The jitted program runs on the reference backend: what is checked is tracing the
    # while loops and the scan, not C compilation (slow for these programs).
    def draw(k):
        return (random.binomial(k, np.array([20.0, 200.0]), 0.3, (3, 2)),
                random.generalized_normal(k, 1.5, (N,)))

    eager = draw(KEY)
    jitted = fg.jit(draw, backend="reference")(KEY)
    np.testing.assert_array_equal(jitted[0], eager[0])
    np.testing.assert_allclose(jitted[1], eager[1], rtol=1e-5)
    _check_moments(eager[1], 0.0, math.gamma(3 / 1.5) / math.gamma(1 / 1.5))
    keys = random.split(KEY, 2)
    vm = fg.vmap(lambda k: random.binomial(k, 30.0, 0.5, (3,)))(keys)
    np.testing.assert_array_equal(vm, np.stack([random.binomial(k, 30.0, 0.5, (3,))
                                                for k in keys]))


def test_gradients():
    k = random.PRNGKey(5)
    check_grads(lambda s: random.rayleigh(k, s, (4,)), (2.0,), order=1)
    check_grads(lambda lam, c: random.weibull_min(k, lam, c, (4,)), (2.0, 1.5), order=1)
    check_grads(lambda m: random.wald(k, m, (4,)), (2.0,), order=1)
    check_grads(lambda a, c, b: random.triangular(k, a, c, b, (4,)), (0.0, 1.0, 3.0),
                order=1)
    check_grads(lambda loc, s: random.double_sided_maxwell(k, loc, s, (4,)), (1.0, 2.0),
                order=1)
    # Linear in the scale: d/ds sum(rayleigh(k, s)) = sum(rayleigh(k, 1)).
    g = fg.grad(lambda s: random.rayleigh(k, s, (8,)).sum())(3.0)
    np.testing.assert_allclose(g, np.asarray(random.rayleigh(k, 1.0, (8,))).sum(), rtol=1e-5)


def test_dtypes():
    assert random.rayleigh(KEY, 1.0, (3,), dtype=np.float16).dtype == np.float16
    assert random.triangular(KEY, 0.0, 0.5, 1.0, (3,), np.float16).dtype == np.float16
    with fg.enable_x64():
        for x in (random.weibull_min(KEY, 1.0, 2.0, (3,)), random.wald(KEY, 1.0, (3,)),
                  random.maxwell(KEY, (3,)), random.binomial(KEY, 5.0, 0.5, (3,))):
            assert x.dtype == np.float64
        assert random.geometric(KEY, 0.5, (3,)).dtype == np.int64
    with pytest.raises(ValueError, match="float dtype"):
        random.rayleigh(KEY, 1.0, (3,), dtype=np.int32)
    with pytest.raises(TypeError, match="integer dtype"):
        random.geometric(KEY, 0.5, (3,), dtype=np.float32)
