"""Edge values of funcgrad.scipy.special (and funcgrad.numpy's i0 and lcm) where a three-way
sweep against jax.scipy.special and scipy.special found funcgrad wrong: each checked against
SciPy computed in float64 and rounded to the dtype under test, eagerly and under jit on
every backend (on OpenCL under jit only, see conftest.checks_eager), and the derivatives of
the formulas that changed."""
from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
import scipy.special as ss
from conftest import checks_eager

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.scipy import special as fs
from funcgrad.testing import check_grads

F32, F64 = np.float32, np.float64
inf, nan = np.inf, np.nan
TINY32 = float(np.finfo(F32).smallest_subnormal)     # 1.4e-45


def _ref(name, cols, dt):
    """scipy.special.<name> at the columns `cols` (rounded to dt first), in float64,
    rounded to dt."""
    args = [np.asarray(c, dt).astype(F64) for c in cols]
    with np.errstate(all="ignore"):
        return getattr(ss, name)(*args).astype(dt)


def _run(fn, cols, dt):
    """fn at the columns, eagerly (not on OpenCL: conftest.checks_eager) and under jit, as
    float64 arrays."""
    args = [np.asarray(c, dt) for c in cols]
    jitted = np.asarray(fg.jit(fn)(*args), F64)
    if not checks_eager():
        return (jitted,)
    return np.asarray(fn(*args), F64), jitted


def _check(name, cells, dt, rtol, atol=0.0, fn=None):
    """fs.<name> (or `fn`) at `cells` (tuples of arguments) equals SciPy's value, eagerly
    and under jit (NaN where SciPy's is NaN; infinities exactly)."""
    cols = list(zip(*cells))
    want = _ref(name, cols, dt).astype(F64)
    for got in _run(fn or getattr(fs, name), cols, dt):
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=name)


# 1. gammaincc for tiny a: 1 - P kept only P's rounding (negative values)
def test_gammaincc_tiny_a(backend):
    cells = [(1e-7, 1.0), (1e-30, 1.0), (1e-3, 1e-4), (0.2, 0.01), (0.5, 0.3), (0.9, 1.05),
             (1e-7, 0.5), (1e-20, 1.1)]
    _check("gammaincc", cells, F32, rtol=2e-6)      # was -2.4e-7 at (1e-7, 1), for 2.2e-8
    _check("gammainc", cells, F32, rtol=2e-6)
    _check("gammainc", [(TINY32, 1.0), (TINY32, 0.5)], F32, rtol=2e-7)   # was 0, for 1
    with fg.config.enable_x64(True):
        _check("gammaincc", cells, F64, rtol=1e-13)  # was -2.4e-15 at (1e-30, 1)
        _check("gammainc", cells, F64, rtol=1e-13)


# 2. gammainc / gammaincc at a = inf (NaN, for 0 and 1) and huge x (NaN, for 1 and 0)
def test_gammainc_infinite_a_and_huge_x(backend):
    cells = [(inf, 0.0), (inf, 0.5), (inf, 1.0), (inf, 100.0), (inf, 3e38), (1.0, 1e20),
             (1.0, 1e38), (2.5, 3e38), (1e-30, 1e20), (700.0, 1e20), (1e20, 1e38)]
    for name in ("gammainc", "gammaincc"):
        _check(name, cells, F32, rtol=0)
        with fg.config.enable_x64(True):
            _check(name, cells + [(1.0, 1e300), (1e200, 1e300)], F64, rtol=0)


def test_gammainc_large_a_near_x(backend):
    # a log x - x - lgamma(a) is a difference of numbers near a log a: float32 lost 2e-4 at
    # a = x = 700 and 1e-3 at 1e4 (now from Stirling's series, as a log(x/a) + a - x + ...)
    cells = [(700.0, 700.0), (1e3, 1e3), (1e4, 1e4), (1e4, 1.02e4), (1e4, 9.8e3),
             (12.328467, 0.016060049), (20.805676, 150.0)]
    # from a = 1000 near x = a, Temme's expansion: the series needs ~sqrt(a) terms there
    # (a = x = 1e6 gave 1.31 in float32 and 0.477 in float64, for 0.5; 1e20 NaN)
    cells += [(1e5, 1e5), (1e6, 1e6), (1e6, 1.001e6), (1e6, 0.999e6), (1e3, 1.3e3),
              (1e3, 0.7e3), (1e20, 1e20), (1e38, 1e38), (3e38, 3e38)]
    _check("gammainc", cells, F32, rtol=2e-5)         # (float32's exp(lp), lp ~ -72)
    _check("gammaincc", cells, F32, rtol=2e-5, atol=1e-30)
    with fg.config.enable_x64(True):
        _check("gammainc", cells, F64, rtol=1e-13)
        _check("gammaincc", cells, F64, rtol=1e-13)


def test_gammainc_is_nan_where_its_loop_runs_out(monkeypatch):
    # never a wrong number: an element whose series or fraction has not converged when the
    # loop stops is NaN (with 30 iterations: a = 500 near x, where ~200 are needed)
    from funcgrad import _igamma
    monkeypatch.setattr(_igamma, "MAX_ITERATIONS", 30)
    a = fnp.array([500.0, 500.0, 2.0], F32)
    x = fnp.array([500.0, 480.0, 1.5], F32)
    ok, series, s, ds, lp, lp1 = _igamma._parts(a, x)
    assert np.isnan(np.asarray(s)[:2]).all() and np.isfinite(np.asarray(s)[2])


def test_gammainc_gradients_at_the_new_branches():
    # Q's small-a series and the Stirling prefactor change values only: the derivatives
    # (custom_jvp rules) stay finite and right
    # (and in Temme's region, from a = 1000, by forward mode through the expansion)
    with fg.config.enable_x64(True):
        for a, x in [(1e-3, 0.5), (0.3, 1.05), (700.0, 700.0), (1e3, 1e3), (1e3, 1.2e3),
                     (1e6, 0.999e6)]:
            h = 1e-6 * a
            g = fg.grad(fs.gammaincc, argnums=(0, 1))(a, x)
            fd_a = (ss.gammaincc(a + h, x) - ss.gammaincc(a - h, x)) / (2 * h)
            fd_x = (ss.gammaincc(a, x + h) - ss.gammaincc(a, x - h)) / (2 * h)
            np.testing.assert_allclose([float(v) for v in g], [fd_a, fd_x], rtol=1e-5)
            # the implicit derivative of a Gamma(a) sample: -(dP/da) / (dP/dx)
            np.testing.assert_allclose(float(fg.lax.random_gamma_grad(a, x)), -fd_a / fd_x,
                                       rtol=1e-5)
        check_grads(fs.gammainc, (1e3, 1.01e3), order=2, modes=("fwd", "rev"), rtol=1e-4)


# 3. kl_div: NaN operands gave inf; x / y under- and overflowed
def test_kl_div_nan_and_extreme_ratios(backend):
    cells = [(nan, 1.0), (1.0, nan), (0.0, nan), (nan, 0.0), (nan, nan), (inf, nan),
             (1e-7, 3e38), (1e-30, 1e38), (TINY32, 2.0), (1e20, 1e-30), (1.0, TINY32),
             (0.5, 0.25), (0.0, 2.0), (-1.0, 2.0), (3.0, 3.0)]
    _check("kl_div", cells, F32, rtol=2e-6)
    with fg.config.enable_x64(True):
        _check("kl_div", cells, F64, rtol=1e-14)
        # (SciPy's own x / y overflows and underflows here: inf and -inf)
        got = fs.kl_div(np.array([1e300, 1e-300]), np.array([1e-300, 1e300]))
        np.testing.assert_allclose(np.asarray(got), [1e300 * 600 * np.log(10) - 1e300, 1e300],
                                   rtol=1e-14)


# 4. rel_entr: x / y under- and overflowed, or kept few digits as a subnormal
def test_rel_entr_extreme_ratios(backend):
    cells = [(1e-30, 1e38), (1e-7, 1e38), (1e-7, 3e38), (1e20, 1e-30), (1.0, TINY32),
             (700.0, TINY32), (TINY32, 2.0), (TINY32, 1e20), (0.5, 0.25), (1.0, 1.0),
             (0.999, 1.001), (0.0, 1.0), (1.0, 0.0), (nan, 1.0), (1.0, nan)]
    _check("rel_entr", cells, F32, rtol=2e-6, atol=3e-45)
    with fg.config.enable_x64(True):
        _check("rel_entr", cells + [(5e-324, 2.0)], F64, rtol=1e-14, atol=1e-322)
        # (SciPy's own x / y overflows and underflows here: inf and -inf)
        got = fs.rel_entr(np.array([1e300, 1e-300]), np.array([1e-300, 1e300]))
        np.testing.assert_allclose(np.asarray(got), [1e300 * 600 * np.log(10),
                                                     -1e-300 * 600 * np.log(10)], rtol=1e-14)


def test_rel_entr_and_kl_div_gradients_in_both_forms():
    # log(x / y) where x / y is a normal float, log x - log y elsewhere: d/dx = log(x/y) + 1,
    # d/dy = -x / y (kl_div: log(x/y) and 1 - x/y), finite in both forms
    with fg.config.enable_x64(True):
        for x, y in [(0.5, 0.25), (1e-300, 1e300), (1e300, 1e-300), (2.0, 5e-324)]:
            gx, gy = fg.grad(fs.rel_entr, argnums=(0, 1))(x, y)
            np.testing.assert_allclose(float(gx), np.log(x) - np.log(y) + 1, rtol=1e-13)
            with np.errstate(over="ignore"):
                want_gy = -np.exp(np.log(x) - np.log(y))        # -inf at y = 5e-324
            np.testing.assert_allclose(float(gy), want_gy, rtol=1e-13)
            kx, _ = fg.grad(fs.kl_div, argnums=(0, 1))(x, y)
            np.testing.assert_allclose(float(kx), np.log(x) - np.log(y), rtol=1e-13)


# 5. betaln and beta: NaN for large arguments, 0 where gammaln(b) - gammaln(a + b) cancels
BETA_CELLS = [(1e38, 1.5), (1.5, 1e38), (0.0, 1e38), (1.0, 1e20), (2.0, 1e38), (1e38, 3e38),
              (1e38, 1e38), (1e38, -2.5), (-0.5, 1e20), (1e-7, 1e38), (TINY32, 1e38),
              (100.0, 1e20), (10.0, 700.0), (30.0, 30.0), (12.5, 10.0), (9.5, 10.5),
              (0.5, 2.5), (3.0, 4.0), (inf, 1.0), (inf, 0.0), (-1.0, 1.0), (1.0, -1.0),
              (-100.0, 10.0), (30.0, -104.0), (-2.5, 2.0), (0.5, -2.5), (-0.5, -0.5),
              (-1.0, 0.5), (-1.0, 3.0), (0.0, 0.0), (nan, 1.0), (-2.5, 1.5)]


def test_betaln_large_and_pole_arguments(backend):
    _check("betaln", BETA_CELLS, F32, rtol=2e-6, atol=2e-6)
    with fg.config.enable_x64(True):
        _check("betaln", BETA_CELLS + [(1.0, 1e300), (1e-300, 1e200)], F64, rtol=1e-13,
               atol=1e-14)
        # B(a, a) ~ sqrt(2 pi) a^(2a - 1) / (2a)^(2a - 1/2) (SciPy's lgam difference is
        # 1.7e-13 off here)
        a = 1e300
        np.testing.assert_allclose(float(fs.betaln(a, a)),
                                   -2 * a * np.log(2) + 0.5 * np.log(np.pi / a), rtol=1e-15)


def test_beta_large_and_pole_arguments(backend):
    cells = [c for c in BETA_CELLS if c != (0.0, 0.0)] + [(-100.0, 2.0), (2.0, inf),
                                                          (inf, 10.0), (700.0, inf),
                                                          (inf, 1e38), (3e38, inf)]
    _check("beta", cells, F32, rtol=1e-5)
    with fg.config.enable_x64(True):
        # (SciPy's exp(lgam(10) + lgam(700) - lgam(710)) is 1.1e-12 off at (10, 700): mpmath
        # gives 1.2050058460734381e-23)
        _check("beta", [c for c in cells if c != (10.0, 700.0)], F64, rtol=1e-12)
        np.testing.assert_allclose(float(fs.beta(10.0, 700.0)), 1.2050058460734381e-23,
                                   rtol=1e-14)


def test_betaln_gradients_in_each_branch():
    # d betaln / da = digamma(a) - digamma(a + b), in the Stirling, one-large and plain
    # branches, and no NaN from the branches not taken
    with fg.config.enable_x64(True):
        for a, b in [(1.5, 1e6), (1e6, 1.5), (30.0, 50.0), (0.5, 2.5), (-0.5, 20.0),
                     (2.0, 1e20)]:
            ga, gb = fg.grad(fs.betaln, argnums=(0, 1))(a, b)
            # (the digamma difference itself keeps ~1e-15 absolute)
            np.testing.assert_allclose(float(ga), ss.digamma(a) - ss.digamma(a + b),
                                       rtol=1e-9, atol=1e-14)
            np.testing.assert_allclose(float(gb), ss.digamma(b) - ss.digamma(a + b),
                                       rtol=1e-9, atol=1e-14)
        check_grads(fs.betaln, (3.0, 40.0), order=2, modes=("fwd", "rev"))
        check_grads(fs.beta, (2.5, 12.0), order=1, modes=("rev",))


# 6. boxcox / boxcox1p: a subnormal lambda, and x**lambda overflowing before the division
def test_boxcox_tiny_and_huge_lambda(backend):
    cells = [(2.0, TINY32), (0.5, TINY32), (1e38, TINY32), (1e-30, TINY32), (2.0, -TINY32),
             (2.0, 0.0), (0.0, 0.0), (1.0, 5.0), (2.5, 100.0), (0.5, -120.0), (2.0, 0.5),
             (2.0, 1e-7), (-1.0, 0.5)]
    _check("boxcox", cells, F32, rtol=1e-5)     # (exp of lmbda log x ~ 83 in float32)
    _check("boxcox1p", [(x - 1.0, lm) for x, lm in cells if x != 1e38], F32, rtol=1e-5)
    with fg.config.enable_x64(True):
        _check("boxcox", cells + [(2.0, 5e-324), (2.5, 700.0)], F64, rtol=1e-13)


def test_boxcox_derivatives_near_lambda_zero():
    # d/dlambda at lambda -> 0 is log(x)^2 / 2, d/dx 1/x: the small-lambda branch keeps them
    with fg.config.enable_x64(True):
        for lm in (0.0, 5e-324, 1e-310, 1e-3):
            gx, gl = fg.grad(fs.boxcox, argnums=(0, 1))(2.0, lm)
            np.testing.assert_allclose(float(gl), np.log(2.0) ** 2 / 2, rtol=2e-3)
            np.testing.assert_allclose(float(gx), 2.0 ** (lm - 1), rtol=1e-12)
        gx, gl = fg.grad(fs.boxcox, argnums=(0, 1))(2.5, 700.0)
        want = (2.5 ** 700 * np.log(2.5) * 700 - (2.5 ** 700 - 1)) / 700 ** 2
        np.testing.assert_allclose(float(gl), want, rtol=1e-12)
        np.testing.assert_allclose(float(gx), 2.5 ** 699, rtol=1e-12)


# 7. i0 and i1: exp(|x|) overflowed before the product with i0e
def test_i0_i1_do_not_overflow_early(backend):
    cells = [(88.8,), (-88.8,), (89.0,), (50.0,), (3.0,), (0.0,), (-3.0,)]
    _check("i0", cells, F32, rtol=2e-6)
    _check("i1", cells, F32, rtol=2e-6)
    g = fg.grad(fs.i0)(F32(88.0))             # I0' = I1
    np.testing.assert_allclose(float(g), ss.i1(88.0), rtol=2e-5)


# 8. numpy's i0: 2 pi x overflowed float32 (NaN at 1e38, for inf)
def test_numpy_i0_at_huge_arguments(backend):
    x = np.array([1e38, -3e38, 3.4e38, 88.8, 5.0], F32)
    want = np.array([inf, inf, inf, ss.i0(F64(F32(88.8))), ss.i0(5.0)])
    for got in _run(fnp.i0, [x], F32):
        np.testing.assert_allclose(got, want, rtol=2e-6)


# 9. numpy's lcm: the product wraps in the dtype, as NumPy's and JAX's
def test_numpy_lcm_wraps_as_numpy(backend):
    for dt, a, b in [(np.int32, [2, -2, 0, 12, 46341], [2147483647, 3, 0, 18, 46349]),
                     (np.int8, [-128, -128, 100], [1, 3, 3]), (np.uint8, [200], [3])]:
        a, b = np.array(a, dt), np.array(b, dt)
        for got in (fnp.lcm(a, b), fg.jit(fnp.lcm)(a, b)):
            np.testing.assert_array_equal(np.asarray(got), np.lcm(a, b))


# 10. the NaN cells with clear limits: poch, comb, zeta
def test_poch_large_and_pole_arguments(backend):
    cells = [(100.0, 2.5), (30.0, 10.0), (1e38, -1.0), (1e20, 0.5), (700.0, -2.5),
             (88.8, 10.0), (inf, -1.0), (inf, 0.0), (inf, 2.0), (0.0, 2.0), (-1.0, 0.5),
             (-1.0, 1.0), (-1.0, -1.0), (-100.0, 10.0), (-104.0, 2.0), (0.0, -1.0),
             (TINY32, TINY32), (3.0, 2.0), (10.0, -9.5), (0.5, -2.5), (2.5, -2.5)]
    _check("poch", cells, F32, rtol=1e-5)
    # z a pole, m not an integer: 0, also where z + m rounds back to the pole
    np.testing.assert_array_equal(np.asarray(fs.poch(F32(-1.0), np.array([1e-30, 0.5], F32))),
                                  [0.0, 0.0])
    with fg.config.enable_x64(True):
        _check("poch", cells + [(1e300, 1.0)], F64, rtol=1e-12)
        check_grads(fs.poch, (12.0, 2.5), order=1, modes=("rev",))
        g = fg.grad(fs.poch)(30.0, 2.5)     # d/dz = poch (digamma(z + m) - digamma(z))
        np.testing.assert_allclose(float(g), ss.poch(30.0, 2.5) * (ss.digamma(32.5)
                                                                   - ss.digamma(30.0)),
                                   rtol=1e-10)


def test_poch_where_z_plus_m_rounds_onto_a_pole(backend):
    # z + m == m in the dtype, m a negative integer, z not: Gamma(z + m) / Gamma(z) is
    # finite, (-1)^m / (1 - z)_(-m) (was inf); z a positive integer stays inf
    cells = [(1e-8, -2.0), (1e-30, -1.0), (1e-30, -5.0), (-1e-30, -3.0), (1e-20, -40.0),
             (-3e-8, -7.0), (2.0, -3.0), (3.0, -3.0), (1e-8, -2.5)]
    _check("poch", cells, F32, rtol=1e-6)
    with fg.config.enable_x64(True):
        # (only cells whose z + m rounds onto the pole in float64 too: near a pole the
        # gammalns' reflection loses digits, in JAX as here)
        cells64 = [c for c in cells if c[0] + c[1] == c[1] or c[0] == int(c[0])]
        _check("poch", cells64 + [(1e-17, -2.0), (1e-300, -30.0)], F64, rtol=1e-13)


def test_comb_large_arguments(backend):
    cells = [(inf, 0.0), (1e38, 0.0), (1e38, 1.0), (1e38, 1e38), (1e38, 0.5), (3e38, 1e-7),
             (700.0, 0.5), (5.0, 2.0), (30.0, 12.0), (10.0, 11.0), (4.0, 4.0)]
    _check("comb", cells, F32, rtol=1e-5)
    with fg.config.enable_x64(True):
        _check("comb", cells + [(1e300, 1.0), (1e300, 1e300)], F64, rtol=1e-12)
        g = fg.grad(fs.comb, argnums=1)(40.0, 12.5)   # d/dk: digamma(N-k+1) - digamma(k+1)
        want = ss.comb(40.0, 12.5) * (ss.digamma(28.5) - ss.digamma(13.5))
        np.testing.assert_allclose(float(g), want, rtol=1e-10)


def test_zeta_large_order(backend):
    # the rising product of the Bernoulli terms overflowed (inf * 0 = NaN at x = 700)
    cells = [(700.0, 1.0), (700.0, 0.999), (700.0, 1.001), (700.0, 2.0), (100.0, 1.0),
             (1e38, 1.0), (1e38, TINY32), (inf, 1.0), (3.0, inf), (2.0, 1.5)]
    _check("zeta", cells, F32, rtol=2e-6)
    with fg.config.enable_x64(True):
        _check("zeta", cells, F64, rtol=1e-13)
    # sum_k (k + 2)^-inf = 0 (SciPy's Euler-Maclaurin gives 0 * inf = NaN here, but 0 at
    # q = 1e20)
    np.testing.assert_array_equal(np.asarray(fs.zeta(F32(inf), np.array([2.0, 1e20], F32))),
                                  [0.0, 0.0])


def test_ndtri_near_one_half(backend):
    # the tail iteration's rounding near 1/2 is absolute: ndtri(0.5) was -1.9e-18 in
    # float64, ndtri(0.5 + 1.2e-7) 5% off in float32
    cells = [(0.5,), (0.5 + 1.2e-7,), (0.5 - 6e-8,), (0.3,), (0.74,), (0.26,), (1e-10,)]
    _check("ndtri", cells, F32, rtol=2e-6)
    with fg.config.enable_x64(True):
        _check("ndtri", cells + [(0.5 + 1e-12,)], F64, rtol=1e-14)


def test_ndtri_of_subnormal_probabilities(backend):
    # ndtr(x) - q keeps no more digits than a subnormal q has: float64 ndtri(5e-324) was
    # -38.46774, 8.7e-6 off the exact -38.4674056171443 (SciPy's; fuzz seed 20261943)
    _check("ndtri", [(1e-45,), (1e-43,), (1e-40,), (1.2e-38,)], F32, rtol=2e-7)
    with fg.config.enable_x64(True):
        _check("ndtri", [(5e-324,), (1e-320,), (3e-315,), (1e-310,), (2.3e-308,)], F64,
               rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16])
def test_log_ndtr_of_narrow_floats_past_ndtrs_underflow(dtype):
    """The fuzzer (seed 424243): float16 log_ndtr(-5.8) was -inf, where the answer,
    -18.66, fits float16; ndtr itself underflows float16 from about -5.3. The narrow
    floats are computed in float32 and rounded once."""
    x = np.array([-5.8, -7.0, -9.5, -2.0, 3.0], dtype)
    got = np.asarray(fs.log_ndtr(x))
    assert got.dtype == np.dtype(dtype)
    want = ss.log_ndtr(x.astype(np.float64)).astype(dtype)
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-2)
    jitted = np.asarray(fg.jit(fs.log_ndtr)(x))
    np.testing.assert_array_equal(jitted.astype(np.float64), got.astype(np.float64))


# 11. the scaled Bessel functions of 16-bit floats: the power series' (x/2)^2k overflowed
# float16 below |x| = 12 (fuzz run 46: i0e(float16(-11.945)) was inf for 0.1167)
@pytest.mark.parametrize("dt", [np.float16, ml_dtypes.bfloat16])
def test_bessel_functions_of_16_bit_floats(backend, dt):
    x = np.linspace(-20, 20, 801).astype(dt)
    for name in ("i0e", "i1e", "i0", "i1"):
        want = getattr(ss, name)(x.astype(F64))
        ok = np.abs(want) < 6e4
        for f in (getattr(fs, name), fg.jit(getattr(fs, name))):
            got = np.asarray(f(x)).astype(F64)
            np.testing.assert_allclose(got[ok], want[ok], rtol=float(ml_dtypes.finfo(dt).eps),
                                       atol=0, err_msg=f"{name} {dt.__name__}")


# 12. the scaled Bessel functions in float64: the asymptotic series, taken from |x| = 12
# with 16 terms, stops at a term of 3e-11 there (its terms shrink only until k ~ 2x):
# i1e(-12.32) was -0.1100981914874 for -0.1100981914783 on every backend (the fuzzer,
# seed 20261947). float64 switches at 20 with 26 terms.
def test_bessel_functions_of_float64_past_the_series(backend):
    with fg.config.enable_x64(True):
        x = np.concatenate([np.linspace(-60, 60, 4801), [-12.321583671388979, 1e-300, 700.0]])
        for name in ("i0e", "i1e", "i0", "i1"):
            want = getattr(ss, name)(x)
            ok = np.isfinite(want) & (want != 0)
            for f in (getattr(fs, name), fg.jit(getattr(fs, name))):
                got = np.asarray(f(x))
                assert got.dtype == F64
                np.testing.assert_allclose(got[ok], want[ok], rtol=4e-15, atol=0,
                                           err_msg=name)


# 13. lgamma past float64's range: Python's math.lgamma, the reference backend's, raises
# OverflowError above ~2.6e305 where C's lgamma gives +inf (the fuzzer, seed 20261949:
# lax.lgamma of an input holding 1.8e308 crashed on reference eager)
def test_lgamma_whose_value_overflows_is_plus_infinity(backend):
    with fg.config.enable_x64(True):
        x = np.array([1.7976931348623157e308, 1e306, 2.55e305, -1e306, -np.inf, 3.0])
        want = np.array([np.inf, np.inf, ss.gammaln(2.55e305), np.inf, np.inf, np.log(2.0)])
        for f in (fg.lax.lgamma, fg.jit(fg.lax.lgamma), fs.gammaln):
            got = np.asarray(f(x))
            np.testing.assert_allclose(got, want, rtol=1e-13)
        x32 = np.array([3e38, 1e37, 2.0], np.float32)
        got = np.asarray(fg.lax.lgamma(x32))
        assert got.dtype == np.float32 and np.isinf(got[:2]).all() and got[2] == 0.0


# 14. hypot's derivatives where |x1| == |x2|: it took the larger and the smaller magnitude
# with max and min, whose derivative at a tie gives each operand half of each tangent, so
# the difference of the tangents was lost and the second derivative there was 0 (-0.55 by
# finite differences at (1, 1); a hypothesis test of every primitive's gradients found it).
# JAX's jnp.hypot, written the same way, has the same zero.
def test_hypot_second_derivative_where_the_magnitudes_tie(backend):
    with fg.config.enable_x64(True):
        for a, b in ((1.0, 1.0), (2.5, -2.5), (-3.0, 3.0), (1.0, 2.0)):
            args = [np.float64(a), np.float64(b)]
            check_grads(fnp.hypot, args, order=2, modes=("fwd", "rev"), atol=1e-5, rtol=1e-5)
            h = fg.jit(fg.hessian(fnp.hypot, argnums=(0, 1)))(*args)
            r = np.hypot(a, b) ** 3
            want = [[b * b / r, -a * b / r], [-a * b / r, a * a / r]]
            np.testing.assert_allclose(np.asarray(h, np.float64), want, rtol=1e-12)
