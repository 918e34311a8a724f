"""funcgrad.scipy.special: special functions as compositions of funcgrad ops (JAX's
`jax.scipy.special`). `erfc` and `gammaln` are primitives (prims/special.py: C's erfc and
lgamma); `erfinv` and `ndtri` refine a closed-form first guess by Newton/Halley steps and
carry their analytic derivative (custom_jvp), so every function here has derivatives of
every order, under jit and vmap, on every backend."""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as _dtypes
from .. import numpy as fnp
from ..api import custom_jvp
from ..nn import logsumexp as _nn_logsumexp
from ..prims import elementwise as _ew
from ..prims import special as _sp

__all__ = ["betaln", "digamma", "entr", "erf", "erfc", "erfinv", "expit", "gamma", "gammaln",
           "log_ndtr", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri",
           "softmax", "xlog1py", "xlogy"]

_SQRT2 = math.sqrt(2.0)
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _float(*xs):
    """The operands as arrays of one float dtype, broadcast together."""
    arrs = [fnp.asarray(x) for x in xs]
    dt = fnp.result_type(*arrs)
    if not fnp.issubdtype(dt, fnp.floating):
        dt = _dtypes.DEFAULT_FLOAT
    arrs = [a.astype(dt) if a.dtype != dt else a for a in arrs]
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


def betaln(a, b):
    """log|B(a, b)| = gammaln(a) + gammaln(b) - gammaln(a + b)."""
    a, b = _float(a, b)
    return gammaln(a) + gammaln(b) - gammaln(a + b)


def multigammaln(a, d):
    """Log of the multivariate gamma function of dimension `d` (an int)."""
    (a,) = _float(a)
    d = int(d)
    const = d * (d - 1) / 4 * math.log(math.pi)
    terms = [gammaln(a - j / 2) for j in range(d)]
    return const + sum(terms[1:], terms[0])


@custom_jvp
def xlogy(x, y):
    """x * log(y), 0 where x == 0 (also for y == 0)."""
    x, y = _float(x, y)
    safe_y = fnp.where(x == 0, fnp.ones_like(y), y)
    return fnp.where(x == 0, fnp.zeros_like(x), x * fnp.log(safe_y))


@xlogy.defjvp
def _xlogy_jvp(primals, tangents):
    # JAX's rule: d/dx = log(y), d/dy = x / y, also at x == 0.
    (x, y), (x_dot, y_dot) = primals, tangents
    return xlogy(x, y), x_dot * fnp.log(y) + y_dot * x / y


@custom_jvp
def xlog1py(x, y):
    """x * log1p(y), 0 where x == 0 (also for y == -1)."""
    x, y = _float(x, y)
    safe_y = fnp.where(x == 0, fnp.zeros_like(y), y)
    return fnp.where(x == 0, fnp.zeros_like(x), x * fnp.log1p(safe_y))


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


def entr(x):
    """-x log x for x > 0, 0 at 0, -inf for x < 0."""
    (x,) = _float(x)
    safe = fnp.where(x > 0, x, fnp.ones_like(x))
    return fnp.where(x > 0, -x * fnp.log(safe),
                     fnp.where(x == 0, fnp.zeros_like(x), fnp.full_like(x, -np.inf)))


def ndtr(x):
    """The standard normal CDF, 0.5 * erfc(-x / sqrt(2)) (accurate in the lower tail)."""
    (x,) = _float(x)
    return 0.5 * _sp.erfc(-x / _SQRT2)


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
    return x


def _ndtri_impl(p):
    q = fnp.minimum(p, 1.0 - p)
    ok = (q > 0) & (p <= 1)
    x = _ndtri_lower(fnp.where(ok, q, fnp.full_like(q, 0.5)))
    x = fnp.where(p > 0.5, -x, x)
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
