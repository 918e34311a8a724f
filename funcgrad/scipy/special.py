"""funcgrad.scipy.special: special functions as compositions of funcgrad ops (JAX's
`jax.scipy.special`). `erfc` and `gammaln` are primitives (prims/special.py: C's erfc and
lgamma); `erfinv` and `ndtri` refine a closed-form first guess by Newton/Halley steps and
carry their analytic derivative (custom_jvp), so every function here has derivatives of
every order, under jit and vmap, on every backend."""
from __future__ import annotations

import functools
import math

import numpy as np

from .. import dtypes as _dtypes
from .._recurring import compile_when_it_pays
from .. import numpy as fnp
from .._ibeta import betainc
from .._igamma import _HALF_LOG_2PI, _STIRLING_MIN, _stirling_corr, gammainc, gammaincc
from ..api import custom_jvp
from ..core import Tracer
from ..nn import logsumexp as _nn_logsumexp
from ..prims import elementwise as _ew
from ..prims import special as _sp

__all__ = ["beta", "betainc", "betaln", "boxcox", "boxcox1p", "comb", "digamma", "entr",
           "erf", "erfc", "erfinv", "expit", "factorial", "gamma", "gammainc", "gammaincc",
           "gammaln", "gammasgn", "i0", "i0e", "i1", "i1e", "kl_div", "log_ndtr", "log_softmax",
           "loggamma", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "poch",
           "polygamma", "rel_entr", "softmax", "xlog1py", "xlogy", "zeta"]

_SQRT2 = math.sqrt(2.0)
_SQRTH = 0.5 * math.sqrt(2.0)     # sqrt(1/2), as cephes' SQRTH and JAX's half_sqrt_2
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _float(*xs):
    """The operands as arrays of one float dtype, broadcast together; weakly typed where
    their promoted type is (JAX's promote_args_inexact: `xlogy(2, 3.0)` and
    `xlogy(int32 array, 3.0)` are weak float32)."""
    arrs = [fnp.asarray(x) for x in xs]
    dt, weak = _dtypes.result_type(*arrs, return_weak_type_flag=True)
    if not fnp.issubdtype(dt, fnp.floating):
        dt = _dtypes.DEFAULT_FLOAT if _dtypes.is_complex(dt) else _dtypes.to_inexact(dt)
    arrs = [_ew.convert_element_type(a, dt, weak_type=weak) if a.dtype != dt else a
            for a in arrs]
    if len(arrs) > 1:
        arrs = fnp.broadcast_arrays(*arrs)
    return arrs


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """log(sum(b * exp(a))) over `axis`, stable for large values and -inf entries; with
    `return_sign=True` returns (log|sum|, sign(sum)), else a negative sum gives NaN."""
    return _nn_logsumexp(a, axis=axis, b=b, keepdims=keepdims, return_sign=return_sign,
                         where=where)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) over `axis`."""
    from .. import nn
    return nn.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """x - logsumexp(x) over `axis`."""
    from .. import nn
    return nn.log_softmax(x, axis=axis)


def erf(x):
    """The error function."""
    (x,) = _float(x)
    return _ew.erf(x)


def erfc(x):
    """1 - erf(x), accurate where that difference is tiny (C's erfc)."""
    (x,) = _float(x)
    return _sp.erfc(x)


def gammaln(x):
    """log|Gamma(x)| (C's lgamma); +inf at the poles 0, -1, -2, ..."""
    (x,) = _float(x)
    return _sp.lgamma(x)


def digamma(x):
    """psi(x), the derivative of log Gamma(x); NaN at the negative integers."""
    (x,) = _float(x)
    return _sp.digamma(x)


def gamma(x):
    """Gamma(x) = sign * exp(gammaln(x)) (the sign alternates between the negative poles;
    NaN at the negative integers, +-inf at +-0)."""
    (x,) = _float(x)
    fl = fnp.floor(x)
    sign = fnp.where((x > 0) | (fl % 2 == 0), 1.0, -1.0).astype(x.dtype)
    out = sign * fnp.exp(gammaln(x))
    out = fnp.where((x < 0) & (x == fl), fnp.nan, out)
    return fnp.where(x == 0, 1 / x, out)          # +inf at +0, -inf at -0 (as SciPy)


# Stirling's series: gammaln(x) = (x - 1/2) log x - x + log(2 pi) / 2 + corr(x), corr from
# funcgrad._igamma (_stirling_corr), which shares it with the incomplete gamma function.
def _gammaln_diff(x, d):
    """gammaln(x + d) - gammaln(x) for x >= 10 and x + d >= 10 (x = inf allowed).

    The two gammalns grow like x log x while their difference is about d log x, so
    subtracting them keeps only the digits left over (gammaln(1e20 + 1) - gammaln(1e20)
    was 0 in float32; gammaln itself overflows float32 from 4e36). Stirling's series gives
    the difference directly: (x + d - 1/2) log1p(d / x) + d (log x - 1) + corr(x + d) -
    corr(x), the first product split so that x + d is never multiplied (it may overflow).
    At x = inf: 0 for d = 0, else +-inf with the sign of d."""
    fin = x < np.inf
    xs = fnp.where(fin, x, _STIRLING_MIN)
    ds = fnp.where(fin, d, 0.0)
    l1p = fnp.log1p(ds / xs)
    out = (xs * l1p + (ds - 0.5) * l1p + ds * (fnp.log(xs) - 1)
           + _stirling_corr(xs + ds) - _stirling_corr(xs))
    at_inf = fnp.where(d == 0, 0.0, fnp.where(d > 0, np.inf, -np.inf)).astype(x.dtype)
    return fnp.where(fin, out, at_inf)


def _gammaln_ratio(z, m):
    """gammaln(z + m) - gammaln(z): _gammaln_diff where z and z + m are 10 or more, the
    two gammalns elsewhere; each branch sees safe operands where it is not taken."""
    big = (z >= _STIRLING_MIN) & (z + m >= _STIRLING_MIN)
    zb, mb = fnp.where(big, z, _STIRLING_MIN), fnp.where(big, m, 0.0)
    zs, ms = fnp.where(big, 1.0, z), fnp.where(big, 0.0, m)
    return fnp.where(big, _gammaln_diff(zb, mb), gammaln(zs + ms) - gammaln(zs))


def _gamma_pole(x):
    """Whether x is a pole of Gamma: 0 or a negative integer (-inf included)."""
    return (x <= 0) & (x == fnp.floor(x))


def _is_odd(n):
    """Whether the integer-valued float n is odd."""
    return fnp.mod(n, 2.0) == 1


def _betaln_stirling(big, small):
    """log B(small, big) for big >= small >= 10 from Stirling's series for all three
    gammalns: small log(small / big) - log(small) / 2 - (big + small - 1/2) log1p(small /
    big) + log(2 pi) / 2 + corr(small) + corr(big) - corr(big + small). No term overflows
    where the result does not (betaln(1e38, 3e38) = -2.2e38 in float32, whose gammalns
    are inf), and none cancels catastrophically."""
    r = small / big
    l1p = fnp.log1p(r)
    return (small * fnp.log(r) - 0.5 * fnp.log(small) - big * l1p - (small - 0.5) * l1p
            + _HALF_LOG_2PI + _stirling_corr(small) + _stirling_corr(big)
            - _stirling_corr(big + small))


def _betaln_parts(a, b):
    """(log|B(a, b)|, sign of B(a, b)) for real a, b (SciPy's betaln and beta).

    - Where one of a, b is a pole of Gamma and the other a positive integer n with
      1 - pole - n >= 1, Gamma(pole) / Gamma(pole + n) is a ratio of two poles with a
      finite limit: B(pole, n) = (-1)^n B(1 - pole - n, n) (the reflection formula on both
      Gammas; betaln(-1, 1) = 0, beta(-1, 1) = -1). Other poles give +inf.
    - Both >= 10: _betaln_stirling.
    - max >= 10 and a + b >= 10: gammaln(min) - _gammaln_diff(max, min) (gammaln(max) -
      gammaln(max + min) is where the naive sum loses everything: betaln(1, 1e20) was 0).
    - Otherwise the sum gammaln(a) + gammaln(b) - gammaln(a + b), whose terms are small.
    Each branch sees safe operands where it is not taken, so its derivatives stay finite.
    """
    pole_a, pole_b = _gamma_pole(a), _gamma_pole(b)
    swap = pole_b & ~pole_a
    p, q = fnp.where(swap, b, a), fnp.where(swap, a, b)    # p: the pole, if either is one
    ratio = (pole_a | pole_b) & (q > 0) & (q == fnp.floor(q)) & (1 - p - q >= 1)
    a = fnp.where(ratio, 1 - p - q, a)
    b = fnp.where(ratio, q, b)
    pole = (pole_a | pole_b) & ~ratio & ~fnp.isnan(q)

    big, small = fnp.maximum(a, b), fnp.minimum(a, b)
    both_big = (small >= _STIRLING_MIN) & (big < np.inf)    # (big = inf: _gammaln_diff's)
    one_big = ~both_big & (big >= _STIRLING_MIN) & (big + small >= _STIRLING_MIN)
    plain = ~(both_big | one_big)
    ten = fnp.full_like(a, _STIRLING_MIN)
    v_both = _betaln_stirling(fnp.where(both_big, big, ten), fnp.where(both_big, small, ten))
    s1 = fnp.where(one_big, small, 1.0)
    v_one = gammaln(s1) - _gammaln_diff(fnp.where(one_big, big, ten), s1)
    a0, b0 = fnp.where(plain, a, 1.0), fnp.where(plain, b, 1.0)
    v_plain = gammaln(a0) + gammaln(b0) - gammaln(a0 + b0)
    out = fnp.where(both_big, v_both, fnp.where(one_big, v_one, v_plain))
    # B(inf, b) = 0 for finite b > 0 (gammaln(b) - inf, but gammaln(b) overflows float32
    # from b = 4e36: inf - inf)
    out = fnp.where((big == np.inf) & (small > 0) & (small < np.inf), -np.inf, out)
    out = fnp.where(pole, np.inf, out).astype(a.dtype)

    # the sign: Gamma(a + b) at a pole makes B zero, signed by Gamma(a) Gamma(b)
    sgn_ab = fnp.where(_gamma_pole(a + b), 1.0, gammasgn(a + b))
    sign = gammasgn(a) * gammasgn(b) * sgn_ab
    sign = fnp.where(ratio, fnp.where(_is_odd(q), -1.0, 1.0), sign)
    sign = fnp.where(pole, 1.0, sign).astype(a.dtype)
    return out, sign


def betaln(a, b):
    """log|B(a, b)| = gammaln(a) + gammaln(b) - gammaln(a + b), from Stirling's series
    where an argument is 10 or more (accurate for large and very unequal arguments), with
    SciPy's values at the poles of Gamma (see _betaln_parts)."""
    a, b = _float(a, b)
    return _betaln_parts(a, b)[0]


def _real(name, *xs):
    for x in xs:
        dt = fnp.asarray(x).dtype
        if _dtypes.is_complex(dt):
            raise ValueError(f"special.{name}: complex arguments are not supported (as in "
                             f"JAX), got {dt}; pass real arrays")
    return _float(*xs)


def gammasgn(x):
    """The sign of Gamma(x): 1 for x > 0 and +0, -1 for -0 and for negative x whose floor
    is odd, NaN at the negative integers and NaN (as JAX and SciPy)."""
    (x,) = _real("gammasgn", x)
    fl = fnp.floor(x)
    neg = x < 0
    minus = (neg & (fl % 2 != 0)) | ((x == 0) & fnp.signbit(x))
    out = fnp.where(minus, -1.0, 1.0).astype(x.dtype)
    return fnp.where((neg & (x == fl)) | fnp.isnan(x), fnp.nan, out).astype(x.dtype)


def loggamma(x):
    """log Gamma(x) for real x > 0 (gammaln there), NaN for x <= 0 (SciPy's real loggamma,
    as JAX's; complex arguments are not supported yet)."""
    (x,) = _real("loggamma", x)
    return fnp.where(x > 0, gammaln(x), fnp.nan).astype(x.dtype)


def beta(a, b):
    """The Beta function B(a, b) = Gamma(a) Gamma(b) / Gamma(a + b): exp(betaln(a, b))
    with the sign of the three Gammas (negative arguments allowed; 0 where only a + b is
    a pole, SciPy's limits where a pole of Gamma(a) or Gamma(b) meets one of
    Gamma(a + b))."""
    a, b = _real("beta", a, b)
    out, sign = _betaln_parts(a, b)
    return sign * fnp.exp(out)


def poch(z, m):
    """The rising factorial (z)_m = Gamma(z + m) / Gamma(z) (SciPy's values): 1 where
    m == 0; 0 where only z is a pole of Gamma, inf where only z + m is; where both are
    (m an integer), the limit (-1)^m (1 - z - m)_m (the reflection formula: poch(-1, 1) =
    -1); where z + m only rounds onto a pole (m an integer, z not), (-1)^m / (1 - z)_(-m)
    (poch(1e-8, -2) = 0.5 in float32, not inf). Elsewhere sign * exp(gammaln(z + m) -
    gammaln(z)), the difference from Stirling's series where z and z + m are 10 or more
    (gamma(z + m) / gamma(z) was inf / inf = NaN from z = 35 in float32)."""
    z, m = _real("poch", z, m)
    w = z + m
    pole_z = _gamma_pole(z) & fnp.isfinite(z)
    pole_w = _gamma_pole(w) & fnp.isfinite(w)
    # (both poles only for an integer m: z + m rounds to z in poch(-1, 1e-30), which is 0)
    both = pole_z & pole_w & (m == fnp.floor(m))
    zero = pole_z & ~both
    # z + m rounded onto a pole (poch(1e-8, -2) in float32): by the reflection formula
    # (z)_m = (-1)^m / (1 - z)_(-m) for an integer m, whose operands are not poles
    integer_m = m == fnp.floor(m)
    rounded = pole_w & ~pole_z & integer_m & (z != fnp.floor(z))
    infinite = pole_w & ~pole_z & ~rounded
    z = fnp.where(both, 1 - w, z)
    w = z + m
    log_ratio = _gammaln_ratio(z, m)
    sign = fnp.where(both, fnp.where(_is_odd(m), -1.0, 1.0), gammasgn(w) * gammasgn(z))
    out = sign * fnp.exp(log_ratio)
    z_r, n_r = fnp.where(rounded, 1 - z, 1.0), fnp.where(rounded, -m, 0.0)
    out_r = fnp.where(_is_odd(m), -1.0, 1.0) * fnp.exp(-_gammaln_ratio(z_r, n_r))
    out = fnp.where(rounded, out_r, out)
    out = fnp.where(zero, 0.0, fnp.where(infinite, np.inf, out))
    return fnp.where(m == 0, 1.0, out).astype(z.dtype)


def _boxcox(log_x, lmbda):
    """(x**lmbda - 1) / lmbda from log_x = log(x), as expm1(lmbda log_x) / lmbda except:
    - where |lmbda log_x| is below the smallest normal float (lmbda == 0, x == 1, or
      lmbda subnormal), log_x + lmbda log_x**2 / 2: the product has lost its digits as a
      subnormal (boxcox(2, 1.4e-45) was 1.0, not log 2), and the second term (zero in
      value) keeps the derivative in lmbda, log_x**2 / 2;
    - where lmbda log_x > log(max float), sign(lmbda) exp(lmbda log_x - log|lmbda|): x**lmbda
      overflows before the division brings it back (boxcox(2.5, 100) = 6.2e37 in float32,
      was inf)."""
    fi = np.finfo(lmbda.dtype)
    y = lmbda * log_x
    tiny = (lmbda == 0) | (fnp.abs(y) < float(fi.tiny))
    huge = y > math.log(float(fi.max))
    mid = ~(tiny | huge)
    lam_t = fnp.where(tiny, lmbda, 0.0)
    log_t = fnp.where(tiny & fnp.isfinite(log_x), log_x, 0.0)
    small_v = log_x + lam_t * (log_t * log_t * 0.5)
    lam_h = fnp.where(huge, lmbda, 1.0)
    huge_v = fnp.sign(lam_h) * fnp.exp(fnp.where(huge, y, 0.0) - fnp.log(fnp.abs(lam_h)))
    lam_m = fnp.where(mid, lmbda, 1.0)
    mid_v = fnp.expm1(lam_m * fnp.where(mid, log_x, 0.0)) / lam_m
    return fnp.where(tiny, small_v, fnp.where(huge, huge_v, mid_v))


def boxcox(x, lmbda):
    """The Box-Cox transform (x**lmbda - 1) / lmbda, log(x) for lmbda == 0, computed as
    expm1(lmbda * log(x)) / lmbda (accurate for small lmbda; SciPy's and JAX's; see
    _boxcox for the tiny and huge products)."""
    x, lmbda = _real("boxcox", x, lmbda)
    return _boxcox(fnp.log(x), lmbda)


def boxcox1p(x, lmbda):
    """The Box-Cox transform of 1 + x: expm1(lmbda * log1p(x)) / lmbda, log1p(x) for
    lmbda == 0."""
    x, lmbda = _real("boxcox1p", x, lmbda)
    return _boxcox(fnp.log1p(x), lmbda)


def comb(N, k, *, repetition=False):
    """The number of combinations of `N` things taken `k` at a time, exp(gammaln(N + 1) -
    gammaln(k + 1) - gammaln(N - k + 1)) (floats, not exact), 0 outside 0 <= k <= N; with
    `repetition`, comb(N + k - 1, k) and 1 for k == 0 and N >= 0 (SciPy's and JAX's
    `comb` with exact=False)."""
    N, k = _real("comb", N, k)
    if repetition:
        return fnp.where((k == 0) & (N >= 0), fnp.ones_like(N), comb(N + k - 1, k))
    inside = (N >= 0) & (k >= 0) & (k <= N)
    n_safe = fnp.where(inside, N, fnp.zeros_like(N))
    k_safe = fnp.where(inside, k, fnp.zeros_like(k))
    # comb(N, k) = comb(N, N - k): with k the smaller, gammaln(N + 1) - gammaln(N - k + 1)
    # is a gammaln difference at a large argument (Stirling's, see _gammaln_diff) wherever
    # N - k + 1 >= 10; as three gammalns, comb(1e38, 1) was inf - inf = NaN in float32.
    k_safe = fnp.minimum(k_safe, n_safe - k_safe)
    log_num = _gammaln_ratio(n_safe - k_safe + 1, k_safe)
    out = fnp.exp(log_num - gammaln(k_safe + 1))
    return fnp.where(inside, out, fnp.zeros_like(out))


def multigammaln(a, d):
    """Log of the multivariate gamma function of dimension `d` (an int)."""
    (a,) = _float(a)
    d = int(d)
    const = d * (d - 1) / 4 * math.log(math.pi)
    terms = [gammaln(a - j / 2) for j in range(d)]
    # (d <= 0: no terms, as JAX's sum over an empty range; it raised IndexError)
    return const + sum(terms[1:], terms[0]) if terms else fnp.full_like(a, const)


@custom_jvp
def xlogy(x, y):
    """x * log(y), 0 where x == 0 (also for y == 0); NaN where y is NaN (SciPy and JAX)."""
    x, y = _float(x, y)
    safe_y = fnp.where(x == 0, fnp.ones_like(y), y)
    out = fnp.where(x == 0, fnp.zeros_like(x), x * fnp.log(safe_y))
    return fnp.where(fnp.isnan(y), y, out)


@xlogy.defjvp
def _xlogy_jvp(primals, tangents):
    # JAX's rule: d/dx = log(y), d/dy = x / y, also at x == 0.
    (x, y), (x_dot, y_dot) = primals, tangents
    return xlogy(x, y), x_dot * fnp.log(y) + y_dot * x / y


@custom_jvp
def xlog1py(x, y):
    """x * log1p(y), 0 where x == 0 (also for y == -1); NaN where y is NaN."""
    x, y = _float(x, y)
    safe_y = fnp.where(x == 0, fnp.zeros_like(y), y)
    out = fnp.where(x == 0, fnp.zeros_like(x), x * fnp.log1p(safe_y))
    return fnp.where(fnp.isnan(y), y, out)


@xlog1py.defjvp
def _xlog1py_jvp(primals, tangents):
    (x, y), (x_dot, y_dot) = primals, tangents
    return xlog1py(x, y), x_dot * fnp.log1p(y) + y_dot * x / (1 + y)


def expit(x):
    """The logistic sigmoid 1 / (1 + exp(-x))."""
    (x,) = _float(x)
    return _ew.logistic(x)


def logit(p):
    """log(p / (1 - p)), the inverse of expit (-inf at 0, inf at 1)."""
    (p,) = _float(p)
    return fnp.log(p) - fnp.log1p(-p)


@custom_jvp
def _xlogx(x):
    safe = fnp.where(x > 0, x, fnp.ones_like(x))
    return fnp.where(x > 0, x * fnp.log(safe), fnp.where(x == 0, fnp.zeros_like(x), x))


@_xlogx.defjvp
def _xlogx_jvp(primals, tangents):
    # d(x log x)/dx = 1 + log x: -inf at 0, as JAX (entr's derivative there is +inf)
    (x,), (t,) = primals, tangents
    return _xlogx(x), t * (1 + fnp.log(x))


def entr(x):
    """-x log x for x > 0, 0 at 0, -inf for x < 0, NaN at NaN; the derivative is
    -(1 + log x), +inf at 0 (JAX's)."""
    (x,) = _float(x)
    return fnp.where(x < 0, fnp.full_like(x, -np.inf), -_xlogx(x))


def ndtr(x):
    """The standard normal CDF, 0.5 * erfc(-x * sqrt(1/2)) (accurate in the lower tail).
    The argument is a product, as SciPy's (cephes) and JAX's: its rounding sets the
    result's relative error in the lower tail, about x^2 ulps (2e-13 at x = -36 in
    float64), and a quotient rounded differently gave values 4e-13 from theirs (the
    fuzzer, seed 20261961)."""
    (x,) = _float(x)
    return 0.5 * _sp.erfc(-(x * _SQRTH))


# log(1 + sum_k (-1)^k (2k-1)!! / x^2k): the asymptotic series of log_ndtr's lower tail.
_LOG_NDTR_TERMS = 8


def _log_ndtr_tail(x):
    inv_x2 = 1 / (x * x)
    term = fnp.ones_like(x)
    total = fnp.ones_like(x)
    for k in range(1, _LOG_NDTR_TERMS + 1):
        term = -term * (2 * k - 1) * inv_x2
        total = total + term
    return -0.5 * x * x - fnp.log(-x) - 0.5 * math.log(2 * math.pi) + fnp.log(total)


def log_ndtr(x):
    """log(ndtr(x)), accurate in both tails: log1p(-ndtr(-x)) above 0, the asymptotic
    series below -20 (float64) / -10 (float32), log(ndtr(x)) between."""
    (x,) = _float(x)
    if x.dtype in (np.dtype(fnp.bfloat16), np.dtype(fnp.float16)):
        # in float32, rounded once: ndtr underflows float16 from x = -5.3, where the
        # log, -16, is well inside its range (log_ndtr(-5.8) was -inf for -18.66)
        return log_ndtr(x.astype(np.float32)).astype(x.dtype)
    lower = -20.0 if x.dtype == np.float64 else -10.0
    # Each branch sees an argument inside its own range, so that the branches not taken
    # have finite derivatives (a where() would turn their NaN/inf into NaN gradients).
    # (where() and not clip(): clip's derivative is 1/2 at its bounds.)
    hi_side, lo_side = x > 0, x < lower
    x_hi = fnp.where(hi_side, x, fnp.ones_like(x))
    x_mid = fnp.where(hi_side | lo_side, fnp.full_like(x, -1.0), x)
    x_lo = fnp.where(lo_side, x, fnp.full_like(x, lower - 1.0))
    hi = fnp.log1p(-0.5 * _sp.erfc(x_hi / _SQRT2))
    mid = fnp.log(0.5 * _sp.erfc(-x_mid / _SQRT2))
    lo = _log_ndtr_tail(x_lo)
    return fnp.where(hi_side, hi, fnp.where(lo_side, lo, mid))


# Abramowitz & Stegun 26.2.23: a first guess for the lower-tail normal quantile, |error|
# < 4.5e-4, refined below by Halley steps.
_AS_NUM = (2.515517, 0.802853, 0.010328)
_AS_DEN = (1.432788, 0.189269, 0.001308)
_HALLEY_STEPS = 3
_SUBNORMAL_STEPS = 3


def _ndtri_lower(q):
    """The quantile x <= 0 of q in (0, 0.5]."""
    t = fnp.sqrt(-2.0 * fnp.log(q))
    num = _AS_NUM[0] + t * (_AS_NUM[1] + t * _AS_NUM[2])
    den = 1.0 + t * (_AS_DEN[0] + t * (_AS_DEN[1] + t * _AS_DEN[2]))
    x = num / den - t
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    for _ in range(_HALLEY_STEPS):
        e = ndtr(x) - q
        # u = e / pdf(x), in log space: pdf(x) underflows long before e does.
        u = fnp.sign(e) * fnp.exp(fnp.log(fnp.abs(e)) + 0.5 * x * x + half_log_2pi)
        u = fnp.where(fnp.isfinite(u), u, fnp.zeros_like(u))
        x = x - u / (1.0 + 0.5 * x * u)
    # A subnormal q has fewer digits than x needs, and so has ndtr(x) - q: Newton steps on
    # log ndtr(x) = log q instead (float64 ndtri(5e-324) was 8.7e-6 off SciPy's and the
    # exact -38.4674056171443; fuzz seed 20261943)
    sub = q < float(np.finfo(q.dtype).tiny)
    if not isinstance(sub, Tracer) and not bool(fnp.any(sub)):
        return x
    log_q = fnp.log(fnp.where(sub, q, 0.5))
    for _ in range(_SUBNORMAL_STEPS):
        lp = log_ndtr(x)
        step = (lp - log_q) * fnp.exp(lp + 0.5 * x * x + half_log_2pi)
        x = fnp.where(sub & fnp.isfinite(step), x - step, x)
    return x


# Newton steps on ndtr(x) - p = erf(x / sqrt 2) / 2 - (p - 1/2) in the centre.
_NDTRI_CENTRE = 0.25
_NDTRI_CENTRE_STEPS = 2


def _ndtri_centre(x, p):
    """Refines the quantile x of p for |p - 1/2| < 1/4. The tail iteration solves
    ndtr(x) = q, whose rounding near 1/2 is absolute (ndtri(0.5 + 1.2e-7) was 5% off in
    float32; ndtri(0.5) was -1.9e-18); here p - 1/2 is exact (Sterbenz) and
    erf(x / sqrt 2) keeps its relative precision near 0, so x does too. ndtri(1/2) = 0
    exactly."""
    d = p - 0.5
    for _ in range(_NDTRI_CENTRE_STEPS):
        f = 0.5 * _ew.erf(x / _SQRT2) - d
        x = x - f * _SQRT_2PI * fnp.exp(0.5 * x * x)
    return fnp.where(d == 0, 0.0, x)


def _ndtri_impl(p):
    q = fnp.minimum(p, 1.0 - p)
    ok = (q > 0) & (p <= 1)
    x = _ndtri_lower(fnp.where(ok, q, fnp.full_like(q, 0.5)))
    x = fnp.where(p > 0.5, -x, x)
    centre = fnp.abs(p - 0.5) < _NDTRI_CENTRE
    x = fnp.where(centre, _ndtri_centre(x, fnp.where(centre, p, 0.5)), x)
    edge = fnp.where(p == 0, -np.inf, fnp.where(p == 1, np.inf, np.nan)).astype(p.dtype)
    return fnp.where(ok, x, edge)


@custom_jvp
def _ndtri(p):
    return _ndtri_impl(p)


@_ndtri.defjvp
def _ndtri_jvp(primals, tangents):
    (p,), (p_dot,) = primals, tangents
    x = _ndtri(p)
    return x, p_dot * _SQRT_2PI * fnp.exp(0.5 * x * x)


def ndtri(p):
    """The standard normal quantile (inverse of ndtr): -inf at 0, inf at 1, NaN outside
    [0, 1]."""
    (p,) = _float(p)
    return _ndtri(p)


def _erfinv_impl(y):
    if y.dtype in (np.dtype(fnp.bfloat16), np.dtype(fnp.float16)):
        # XLA computes the narrow floats in float32 and rounds once
        return _erfinv_impl(y.astype(np.float32)).astype(y.dtype)
    a = fnp.abs(y)
    ok = a < 1
    a_safe = fnp.where(ok, a, fnp.zeros_like(a))
    x = -_ndtri_impl((1.0 - a_safe) / 2) / _SQRT2
    # Below 1/2, (1 - a) / 2 has lost a's low digits: Newton steps on erf restore them.
    two_over_sqrt_pi = 2 / math.sqrt(math.pi)
    for _ in range(2):
        step = (_ew.erf(x) - a_safe) / (two_over_sqrt_pi * fnp.exp(-x * x))
        x = fnp.where(a_safe < 0.5, x - step, x)
    x = fnp.where(y < 0, -x, x)
    edge = fnp.where(y == 1, np.inf, fnp.where(y == -1, -np.inf, np.nan)).astype(y.dtype)
    return fnp.where(ok, x, edge)


@custom_jvp
def _erfinv(y):
    return _erfinv_impl(y)


@_erfinv.defjvp
def _erfinv_jvp(primals, tangents):
    (y,), (y_dot,) = primals, tangents
    x = _erfinv(y)
    return x, y_dot * (math.sqrt(math.pi) / 2) * fnp.exp(x * x)


def erfinv(y):
    """The inverse error function: inf at 1, -inf at -1, NaN outside [-1, 1]."""
    (y,) = _float(y)
    return _erfinv(y)


def _xlog_ratio(x, y):
    """x log(x / y) for x > 0 and y > 0. log(x / y) is the accurate form near x = y, but
    x / y can overflow (1e20 / 1e-30 in float32), underflow to 0 (1e-30 / 1e38 gave
    -inf) or keep few digits as a subnormal (1e-7 / 1e38: 0.3% off); where it is not a
    normal finite number, log(x) - log(y) instead. Within a factor 2, log1p((x - y) / y)
    (x - y is exact there; log(0.999 / 1.001) lost 1e-5 in float32). Each form sees
    operands that keep its derivatives finite where it is not taken."""
    fi = np.finfo(x.dtype)
    r = x / y
    direct = (r >= float(fi.tiny)) & (r <= float(fi.max))
    near = (r >= 0.5) & (r <= 2.0)
    far = direct & ~near
    one = fnp.ones_like(x)
    xn, yn = fnp.where(near, x, one), fnp.where(near, y, one)
    xd, yd = fnp.where(far, x, one), fnp.where(far, y, one)
    xs, ys = fnp.where(direct, one, x), fnp.where(direct, one, y)
    log_r = fnp.where(near, fnp.log1p((xn - yn) / yn),
                      fnp.where(far, fnp.log(xd / yd), fnp.log(xs) - fnp.log(ys)))
    return x * log_r


def rel_entr(p, q):
    """Elementwise relative entropy: p log(p / q) for p > 0 and q > 0, 0 for p = 0 and
    q >= 0, inf otherwise; NaN where p or q is (SciPy's cases; JAX gives inf there)."""
    p, q = _float(p, q)
    both = (p > 0) & (q > 0)
    ps, qs = fnp.where(both, p, 1.0), fnp.where(both, q, 1.0)
    out = fnp.where(both, _xlog_ratio(ps, qs), np.inf)
    out = fnp.where((p == 0) & (q >= 0), 0.0, out)
    return fnp.where(fnp.isnan(p) | fnp.isnan(q), np.nan, out)


def kl_div(p, q):
    """Elementwise Kullback-Leibler divergence term: p log(p / q) - p + q for p > 0 and
    q > 0, q for p = 0 and q >= 0, inf otherwise; NaN where p or q is (SciPy's and JAX's
    cases; at an infinite argument SciPy's, where JAX's rel_entr(p, q) - p + q is NaN). At
    p = 0 the value is q - p, so that the derivatives there are JAX's: -1 and 1 (a
    training loss against targets with zero probabilities had d/dp 0)."""
    p, q = _float(p, q)
    both = (p > 0) & (q > 0)
    ps, qs = fnp.where(both, p, 1.0), fnp.where(both, q, 1.0)
    out = fnp.where(both, _xlog_ratio(ps, qs) - ps + qs, np.inf)
    out = fnp.where((p == 0) & (q >= 0), q - p, out)
    return fnp.where(fnp.isnan(p) | fnp.isnan(q), np.nan, out)


def factorial(n, exact=False):
    """n! as exp(gammaln(n + 1)) (0 for n < 0), as JAX; `exact=True` raises, as in JAX."""
    if exact:
        raise NotImplementedError("factorial with exact=True (as JAX)")
    (n,) = _float(n)
    return fnp.where(n < 0, 0.0, fnp.exp(gammaln(n + 1))).astype(n.dtype)


# Euler-Maclaurin for the Hurwitz zeta function: sum the first _ZETA_N terms, then the
# integral, half the next term and the Bernoulli corrections B_2j / (2j)! * s (s+1) ...
_ZETA_N = 10
_ZETA_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510)


def _zeta_corrections(s, a):
    """The Bernoulli terms of Euler-Maclaurin, sum_j B_2j / (2j)! s (s+1) ... (s+2j-2)
    a**(-s-2j+1), each term from the last by (s+2j-1)/a (s+2j)/a: the rising product and
    the power apart overflow and underflow together for large s (zeta(700, 1) was
    inf * 0 = NaN in float32). Where a**(-s-1) underflows to 0 the terms are negligible
    (and s may be inf): 0."""
    a_pow = fnp.power(a, -s - 1)
    gone = a_pow == 0
    s = fnp.where(gone, 2.0, s)
    term = s * fnp.where(gone, 1.0, a_pow)       # s a**(-s-1)
    total = fnp.zeros_like(term)
    fact = 1.0                                   # (2j)!
    for j, b in enumerate(_ZETA_BERNOULLI, start=1):
        fact *= (2 * j - 1) * (2 * j)
        total = total + (b / fact) * term
        term = term * ((s + 2 * j - 1) / a) * ((s + 2 * j) / a)
    return fnp.where(gone, 0.0, total)


def zeta(x, q=None):
    """The Hurwitz zeta function sum_{k >= 0} (k + q)**-x (JAX's `zeta`; the Riemann zeta,
    q=None, raises as in JAX), by Euler-Maclaurin summation after 10 terms: relative error
    about 1e-14 for x > 1, q > 0. inf at x = 1, NaN for x < 1; for q <= 0: inf at the
    integers, and NaN unless x is an integer."""
    if q is None:
        raise NotImplementedError("Riemann zeta function not implemented; pass q != None to "
                                  "compute the Hurwitz Zeta function.")
    x, q = _float(x, q)
    bad_q = (q <= 0) & (q == fnp.floor(q))
    qs = fnp.where(bad_q, 1.0, q)
    xs = fnp.where(x > 1, x, 2.0)
    total = fnp.zeros_like(qs)
    for k in range(_ZETA_N):
        total = total + fnp.power(qs + k, -xs)
    a = qs + _ZETA_N
    total = total + fnp.power(a, 1 - xs) / (xs - 1) + 0.5 * fnp.power(a, -xs)
    total = total + _zeta_corrections(xs, a)
    out = fnp.where(x == 1, np.inf, fnp.where(x > 1, total, np.nan))
    out = fnp.where((q <= 0) & (x != fnp.floor(x)), np.nan, out)
    return fnp.where(bad_q & (x > 1), np.inf, out).astype(x.dtype)


def polygamma(n, x):
    """The n-th derivative of digamma: digamma for n = 0, else
    (-1)**(n+1) n! zeta(n + 1, x) (JAX's `polygamma`; n must have an integer dtype)."""
    n_arr = fnp.asarray(n)
    if not np.issubdtype(n_arr.dtype, np.integer):
        raise ValueError(f"Argument `n` to polygamma must be of integer type. Got dtype "
                         f"{n_arr.dtype}.")
    n, x = _float(n_arr, x)
    if np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError("polygamma does not support complex-valued inputs.")
    sign = fnp.where(fnp.mod(n, 2) == 0, -1.0, 1.0)
    higher = sign * fnp.exp(gammaln(n + 1)) * zeta(n + 1, x)
    return fnp.where(n == 0, digamma(x), higher).astype(x.dtype)


def _bessel_series(x, order, terms=40):
    """sum_k (x/2)**(2k + order) / (k! (k + order)!) for order 0 or 1 (the modified Bessel
    function I_order), every term positive for x >= 0."""
    h = x * x * 0.25
    term = fnp.ones_like(x) if order == 0 else x * 0.5
    total = term
    for k in range(1, terms):
        term = term * h / (k * (k + order))
        total = total + term
    return total


def _bessel_asymptotic_e(ax, order, terms=16):
    """exp(-x) I_order(x) ~ 1/sqrt(2 pi x) sum_k (-1)^k prod_j (4 v^2 - (2j-1)^2) /
    (k! (8x)^k), for large x."""
    inv = 1.0 / (8.0 * ax)
    term = fnp.ones_like(ax)
    total = term
    mu = 4.0 * order * order
    for k in range(1, terms):
        term = term * (-(mu - (2 * k - 1) ** 2)) * inv / k
        total = total + term
    # (sqrt(2 pi) sqrt(x): 2 pi x overflows float32 from x = 5.4e37, and i0e(1e38) was 0)
    return total / (math.sqrt(2 * math.pi) * fnp.sqrt(ax))


# Where the scaled Bessel functions switch from the power series to the asymptotic one,
# and how many terms each takes, by dtype: (switch, series terms, asymptotic terms). The
# asymptotic series diverges; at x its terms shrink until k ~ 2x, and the term after the
# last one taken is the error: 16 terms at x = 12 leave 3e-11, enough for float32 but
# 1e5 float64 ulps (i1e(-12.32) was -0.1100981914874 for -0.1100981914783, all backends;
# found by the fuzzer, seed 20261947). For float64 the switch moves to 20, where 26
# asymptotic terms leave 1e-17 and 44 series terms (all positive) less: against SciPy over
# [-60, 60] in steps of 0.001, i0e and i1e are now within 1.7e-15 and 2.1e-15 (the
# series' own rounding, as below 12 before), were 1.2e-10.
_BESSEL_TERMS = {np.dtype(np.float32): (12.0, 40, 16), np.dtype(np.float64): (20.0, 44, 26)}


def _bessel_scaled(x, order):
    """exp(-|x|) I_order(|x|) for order 0 or 1: the power series up to the dtype's
    switch, the asymptotic series above (_BESSEL_TERMS)."""
    switch, n_series, n_asym = _BESSEL_TERMS.get(np.dtype(x.dtype),
                                                 _BESSEL_TERMS[np.dtype(np.float64)])
    ax = fnp.abs(x)
    small = ax <= switch
    xs = fnp.where(small, ax, 0.0)
    xl = fnp.where(small, 2 * switch, ax)
    return fnp.where(small, _bessel_series(xs, order, n_series) * fnp.exp(-xs),
                     _bessel_asymptotic_e(xl, order, n_asym))


def i0e(x):
    """exp(-|x|) I0(x), the exponentially scaled modified Bessel function of order 0: its
    power series below |x| = 12 (20 in float64), the asymptotic series above."""
    (x,) = _float(x)
    if x.dtype in (np.dtype(fnp.bfloat16), np.dtype(fnp.float16)):
        # in float32, rounded once: the series' powers (x/2)^2k overflow float16 below
        # |x| = 12 (i0e(float16(-11.945)) was inf for 0.1167; fuzz run 46)
        return i0e(x.astype(np.float32)).astype(x.dtype)
    return _bessel_scaled(x, 0).astype(x.dtype)


def i1e(x):
    """exp(-|x|) I1(x), the exponentially scaled modified Bessel function of order 1 (odd
    in x): its power series below |x| = 12 (20 in float64), the asymptotic series above."""
    (x,) = _float(x)
    if x.dtype in (np.dtype(fnp.bfloat16), np.dtype(fnp.float16)):
        return i1e(x.astype(np.float32)).astype(x.dtype)      # (as i0e's)
    out = _bessel_scaled(x, 1)
    return fnp.where(x < 0, -out, out).astype(x.dtype)


def _unscale(x, scaled):
    """exp(|x|) * scaled, as exp(|x|/2) * (exp(|x|/2) * scaled): exp(|x|) overflows before
    the product does (i0(88.8) = 1.56e37 in float32 was inf). (At x = +-inf this is
    inf * 0 = NaN, as SciPy's, JAX's and NumPy's.)"""
    half = fnp.exp(fnp.abs(x) * 0.5)
    return half * (half * scaled)


def i0(x):
    """I0(x), the modified Bessel function of order 0: exp(|x|) i0e(x) (see _unscale)."""
    (x,) = _float(x)
    if x.dtype in (np.dtype(fnp.bfloat16), np.dtype(fnp.float16)):
        return i0(x.astype(np.float32)).astype(x.dtype)      # (rounded once, as i0e's)
    return _unscale(x, i0e(x)).astype(x.dtype)


def i1(x):
    """I1(x), the modified Bessel function of order 1: exp(|x|) i1e(x) (see _unscale)."""
    (x,) = _float(x)
    if x.dtype in (np.dtype(fnp.bfloat16), np.dtype(fnp.float16)):
        return i1(x.astype(np.float32)).astype(x.dtype)      # (rounded once, as i0e's)
    return _unscale(x, i1e(x)).astype(x.dtype)


# --- weak types as JAX's -------------------------------------------------------------------

# JAX's results of these are weakly typed exactly when the promoted arguments are (Python
# numbers, weak arrays), as its elementwise functions; funcgrad's compositions lost the flag
# in their internal selects and casts (a weak digamma(2.5) * a float16 array gave float32,
# JAX float16). ndtr, log_ndtr and multigammaln are always strongly typed in JAX 0.10.
_WEAK_AS_ARGUMENTS = ("betaln", "comb", "digamma", "erfinv", "factorial", "gammainc",
                      "gammaincc", "i0", "i0e", "i1", "i1e", "loggamma", "polygamma", "zeta")
_ALWAYS_STRONG = ("ndtr", "log_ndtr", "multigammaln")


def _typed_as_jax(fn, strong):
    @functools.wraps(fn)
    def typed(*args, **kwargs):
        out = fn(*args, **kwargs)
        if not hasattr(out, "weak_type"):          # factorial(n, exact=True): a Python int
            return out
        weak = not strong and _dtypes.result_type(
            *[a for a in args if a is not None], return_weak_type_flag=True)[1]
        return _ew.with_weak_type(out, weak)
    return typed


# Functions of 40-270 primitives, which JAX jits: eagerly, they compile once repeating them
# pays, and at once on OpenCL (where each eager primitive would be a kernel build).
_COMPILED_WHEN_IT_PAYS = ("beta", "betaln", "boxcox", "boxcox1p", "comb", "digamma", "i0",
                          "i0e", "i1", "i1e", "kl_div", "log_ndtr", "poch", "rel_entr", "zeta")
for _name in _COMPILED_WHEN_IT_PAYS:
    globals()[_name] = compile_when_it_pays(globals()[_name])
for _name in _WEAK_AS_ARGUMENTS + _ALWAYS_STRONG:
    globals()[_name] = _typed_as_jax(globals()[_name], _name in _ALWAYS_STRONG)
del _name
