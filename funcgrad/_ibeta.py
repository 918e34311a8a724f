"""The regularized incomplete beta function I_x(a, b) (`scipy.special.betainc`,
`lax.betainc`), with JAX's values at the edges and derivatives in all three arguments.

The method is the continued fraction of Numerical Recipes' `betacf` (modified Lentz), on x
when x < (a + 1) / (a + b + 2) and on 1 - x with a and b swapped otherwise (I_x(a, b) =
1 - I_{1-x}(b, a)), run in a `lax.while_loop` (chunks of `_igamma.CHUNK` steps compiled as
one loop) until every element has converged; float32 at least. The derivatives in a and b
differentiate the fraction's recurrences term by term, carried beside them in the loop (JAX
raises for them); the derivative in x is the density x^(a-1) (1-x)^(b-1) / B(a, b)."""
from __future__ import annotations

import numpy as np

from . import lax
from . import numpy as fnp
from ._igamma import CHUNK, MAX_ITERATIONS, float_operands
from .api import custom_jvp, jit

__all__ = ["betainc"]


def _fraction(a, b, x):
    """Lentz's evaluation of betacf(a, b, x) and its derivatives in a and b."""
    dt = a.dtype
    eps = float(np.finfo(dt).eps) / 2
    tiny = float(np.finfo(dt).tiny) * 1e3

    def guard(v):
        return fnp.where(fnp.abs(v) < tiny, tiny, v)

    def step(aa, daa, dbb, st):
        # one Lentz update with coefficient aa (daa, dbb: its derivatives in a and b)
        c, d, h, dca, dda, dha, dcb, ddb, dhb = st
        dtmp = 1 + aa * d
        okd = fnp.abs(dtmp) >= tiny
        dtmp = guard(dtmp)
        cn = 1 + aa / c
        okc = fnp.abs(cn) >= tiny
        cn = guard(cn)
        dn = 1 / dtmp
        out = [cn, dn, h * dn * cn]
        for d_aa, dc, dd, dh in ((daa, dca, dda, dha), (dbb, dcb, ddb, dhb)):
            ddt = fnp.where(okd, d_aa * d + aa * dd, 0.0)
            dcn = fnp.where(okc, d_aa / c - aa * dc / (c * c), 0.0)
            ddn = -ddt * dn * dn
            out += [dcn, ddn, dh * dn * cn + h * (ddn * cn + dn * dcn)]
        return tuple(out)     # c, d, h, dc/da, dd/da, dh/da, dc/db, dd/db, dh/db

    def body(st):
        m, state, done = st
        mm = m.astype(dt) + 1
        m2 = 2 * mm
        # even step: aa = m (b - m) x / ((a - 1 + 2m) (a + 2m))
        p, q = a - 1 + m2, a + m2
        aa = mm * (b - mm) * x / (p * q)
        s1 = step(aa, -aa * (1 / p + 1 / q), mm * x / (p * q), state)
        # odd step: aa = -(a + m) (a + b + m) x / ((a + 2m) (a + 1 + 2m))
        r, u = a + mm, a + b + mm
        v = a + 1 + m2
        aa = -r * u * x / (q * v)
        s2 = step(aa, aa * (1 / r + 1 / u - 1 / q - 1 / v), aa / u, s1)
        h0, h1 = state[2], s2[2]
        conv = (fnp.abs(h1 - h0) <= eps * fnp.abs(h1)) & \
            (fnp.abs(s2[5] - state[5]) <= eps * fnp.abs(s2[5])) & \
            (fnp.abs(s2[8] - state[8]) <= eps * fnp.abs(s2[8]))
        new = tuple(fnp.where(done, o, n) for o, n in zip(state, s2))
        return m + 1, new, done | conv

    def chunk(st):
        return lax.fori_loop(0, CHUNK, lambda i, s: body(s), st)

    def cond(st):
        return (st[0] < MAX_ITERATIONS) & fnp.any(~st[2])

    qab, qap = a + b, a + 1
    dtmp = guard(1 - qab * x / qap)
    d = 1 / dtmp
    dda = (x * (1 - b) / (qap * qap)) * d * d       # -(d dtmp/da) / dtmp^2
    ddb = (x / qap) * d * d
    one, zero = fnp.ones_like(a), fnp.zeros_like(a)
    init = (fnp.zeros((), np.int32), (one, d, d, zero, dda, dda, zero, ddb, ddb),
            fnp.zeros(a.shape, bool))
    _, (_, _, h, _, _, dha, _, _, dhb), _ = lax.while_loop(cond, chunk, init)
    return h, dha, dhb


def _parts(a, b, x):
    """(ok, I, dI/da, dI/db) on the interior 0 < x < 1, a, b > 0 finite."""
    ok = (a > 0) & (b > 0) & (x > 0) & (x < 1) & fnp.isfinite(a) & fnp.isfinite(b)
    a1, b1 = fnp.where(ok, a, 1.0), fnp.where(ok, b, 1.0)
    x1 = fnp.where(ok, x, 0.5)
    swap = x1 > (a1 + 1) / (a1 + b1 + 2)
    aa, bb = fnp.where(swap, b1, a1), fnp.where(swap, a1, b1)
    xx = fnp.where(swap, 1 - x1, x1)
    h, dha, dhb = _fraction(aa, bb, xx)
    psi_ab = lax.digamma(aa + bb)
    lfront = aa * fnp.log(xx) + bb * fnp.log1p(-xx) - (
        lax.lgamma(aa) + lax.lgamma(bb) - lax.lgamma(aa + bb))
    front = fnp.exp(lfront)
    j = front * h / aa
    dja = j * (fnp.log(xx) - lax.digamma(aa) + psi_ab - 1 / aa) + front / aa * dha
    djb = j * (fnp.log1p(-xx) - lax.digamma(bb) + psi_ab) + front / aa * dhb
    i = fnp.where(swap, 1 - j, j)
    dia = fnp.where(swap, -djb, dja)
    dib = fnp.where(swap, -dja, djb)
    return ok, i, dia, dib


@jit
def _value(a, b, x):
    ok, i, _, _ = _parts(a, b, x)
    nan = fnp.isnan(a) | fnp.isnan(b) | fnp.isnan(x) | (a < 0) | (b < 0) | (x < 0) | \
        (x > 1) | ((a == 0) & (b == 0)) | ((a == np.inf) & (b == np.inf))
    # the edges, in JAX's (and SciPy's) order: x = 0 gives 0, x = 1 gives 1, then a = 0
    # gives 1, b = 0 gives 0, a = inf gives 0, b = inf gives 1
    edge = fnp.where(x == 0, 0.0, fnp.where(x == 1, 1.0, fnp.where(
        a == 0, 1.0, fnp.where(b == 0, 0.0, fnp.where(a == np.inf, 0.0, 1.0)))))
    return fnp.where(nan, np.nan, fnp.where(ok, i, edge))


@jit
def _grads(a, b, x):
    ok, _, dia, dib = _parts(a, b, x)
    a1, b1 = fnp.where(ok, a, 1.0), fnp.where(ok, b, 1.0)
    x1 = fnp.where(ok, x, 0.5)
    dix = fnp.exp((a1 - 1) * fnp.log(x1) + (b1 - 1) * fnp.log1p(-x1) -
                  (lax.lgamma(a1) + lax.lgamma(b1) - lax.lgamma(a1 + b1)))
    return (fnp.where(ok, dia, 0.0), fnp.where(ok, dib, 0.0), fnp.where(ok, dix, 0.0))


@custom_jvp
def _betainc(a, b, x):
    return _value(a, b, x)


@_betainc.defjvp
def _betainc_jvp(primals, tangents):
    da, db, dx = _grads(*primals)
    ta, tb, tx = tangents
    return _betainc(*primals), da * ta + db * tb + dx * tx


def betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b), differentiable in a, b and x."""
    a, b, x, dt = float_operands("betainc", a, b, x)
    return _betainc(a, b, x).astype(dt)
