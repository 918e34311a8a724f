"""Special-function primitives that need the C library's accuracy: `erfc` (erf's
complement, accurate where 1 - erf(x) rounds to 0, which the normal distribution's tails
need) and `lgamma` (log|Gamma(x)|). Both are elementwise and lower to C's / OpenCL C's
`erfc` and `lgamma`. `digamma`, lgamma's derivative, is a composition (recurrence plus
asymptotic series) so that it differentiates again.
"""
from __future__ import annotations

import math

import numpy as np

from ..ad import defjvp
from . import elementwise as ew
from .structural import full

# --- erfc ------------------------------------------------------------------------------


def _erfc_np(x):
    return np.vectorize(math.erfc, otypes=[x.dtype])(x) if x.size else x.copy()


erfc_p, erfc = ew._unary("erfc", _erfc_np)
defjvp(erfc_p, lambda g, x: ew.mul(g, ew.mul(-2 / math.sqrt(math.pi),
                                             ew.exp(ew.neg(ew.mul(x, x))))))


# --- lgamma ----------------------------------------------------------------------------


def _lgamma_one(v):
    try:
        return math.lgamma(v)
    except ValueError:          # a pole (0, -1, -2, ...): +inf, as C's lgamma
        return math.inf
    except OverflowError:       # |x| above ~2.6e305: the value passes float64's largest,
        return math.inf         # +inf as C's lgamma (Python raised; fuzzer, seed 20261949)


def _lgamma_np(x):
    return np.vectorize(_lgamma_one, otypes=[x.dtype])(x) if x.size else x.copy()


lgamma_p, lgamma = ew._unary("lgamma", _lgamma_np)
defjvp(lgamma_p, lambda g, x: ew.mul(g, digamma(x)))


# Coefficients B_2k / (2k) of the asymptotic series psi(y) ~ log y - 1/(2y) - sum c_k / y^2k
_PSI_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12,
               -3617 / 8160)
# y + 8 >= 8.5: the first term left out, (B_18 / 18) / 8.5^18, is 6e-17
_PSI_SHIFT = 8


def digamma(x):
    """psi(x) = d/dx log Gamma(x): the reflection psi(x) = psi(1 - x) - pi cot(pi x) for
    x < 1/2, the recurrence psi(y) = psi(y + 8) - sum_k 1 / (y + k), then the asymptotic
    series at y + 8 >= 8.5 to the B_16 term (its truncation error is below 1e-16; six terms
    after y + 6 left 3e-13, beyond float64's rounding: seed 424243). NaN at the negative
    integers,
    -inf at +0 (as SciPy)."""
    reflect = ew.lt(x, 0.5)
    y = ew.select(reflect, ew.sub(1.0, x), x)
    shift = ew.div(1.0, y)
    for k in range(1, _PSI_SHIFT):
        shift = ew.add(shift, ew.div(1.0, ew.add(y, float(k))))
    z = ew.add(y, float(_PSI_SHIFT))
    inv_z2 = ew.div(1.0, ew.mul(z, z))
    series = ew.mul(inv_z2, _PSI_SERIES[-1])
    for c in reversed(_PSI_SERIES[:-1]):
        series = ew.mul(inv_z2, ew.add(series, c))
    psi = ew.sub(ew.sub(ew.sub(ew.log(z), ew.div(0.5, z)), series), shift)
    # The reflection term only where it is used, so that its derivative stays finite
    # elsewhere (a select passes NaN tangents from the untaken side through 0 * NaN).
    xr = ew.select(reflect, x, 0.25)
    # pi / tan(pi x) has period 1: reducing x by the nearest integer first (exactly) keeps
    # the argument accurate next to the poles; cos / sin rather than 1 / tan keeps the
    # higher derivatives finite where tan is infinite (half-integers).
    xr = ew.mul(ew.sub(xr, ew.round(xr)), math.pi)
    cot = ew.div(ew.cos(xr), ew.sin(xr))
    psi = ew.select(reflect, ew.sub(psi, ew.mul(cot, math.pi)), psi)
    # Constants, not functions of x, at the poles: their cotangents are then zero rather
    # than 0 * NaN.
    negative_integer = ew.and_(ew.eq(x, ew.floor(x)), ew.lt(x, 0.0))
    psi = ew.select(negative_integer, full(x.shape, math.nan, x.dtype), psi)
    # -1/x is -inf at +0 and +inf at -0 (SciPy's values).
    return ew.select(ew.eq(x, 0.0), ew.div(-1.0, ew.stop_gradient(x)), psi)
