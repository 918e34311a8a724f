"""The regularized incomplete gamma functions and their derivatives: `scipy.special.gammainc`
(P) and `gammaincc` (Q = 1 - P), `lax.igamma`, `lax.igammac`, `lax.igamma_grad_a` and
`lax.random_gamma_grad` (the implicit reparameterisation gradient of a Gamma(a, 1) sample,
which `random.gamma` uses), with JAX's values at the edges.

The method is the one Cephes' `igam`/`igamc` and XLA use: where x <= 1 or x <= a, P from its
power series x^a e^-x / Gamma(a + 1) * sum_n x^n / ((a + 1) ... (a + n)); elsewhere Q from
its continued fraction. Both run in a `lax.while_loop` until every element has converged
(at most MAX_ITERATIONS terms), in float32 for float16/bfloat16 arguments, jitted (an eager
call compiles once per shape and dtype, as JAX's primitive does). The derivative in `a`
differentiates the same recurrences term by term (carried beside them in the loop);
the derivative in x is the density x^(a-1) e^-x / Gamma(a). Both are `custom_jvp` rules,
so `grad`, `jvp` and `vmap` compose with them; second derivatives work in every order of
modes (JAX raises for them), third derivatives in forward mode.

The series and the fraction share the prefactor exp(a log x - x - lgamma(a)); for large a
its exponent is a difference of large numbers, so float32 results lose digits there (at
a = 1000 about 3e-4 relative error, as JAX's)."""
from __future__ import annotations

import numpy as np

from . import dtypes, lax
from . import numpy as fnp
from .api import custom_jvp, jit, jvp

__all__ = ["gammainc", "gammaincc", "igamma_grad_a", "random_gamma_grad"]

MAX_ITERATIONS = 2000
CHUNK = 16


def float_operands(name, *xs):
    """(*xs, result dtype): JAX's promotion, integers to the default float, broadcast
    together; the work is in float32 at least (also used by funcgrad._ibeta)."""
    xs = [fnp.asarray(x) for x in xs]
    dt = fnp.result_type(*xs)
    if fnp.issubdtype(dt, fnp.complexfloating):
        raise TypeError(f"{name}: complex arguments are not supported (got "
                        f"{', '.join(str(x.dtype) for x in xs)}); pass real floating-point "
                        "values")
    if not fnp.issubdtype(dt, fnp.floating):
        dt = dtypes.to_inexact(dt)
    work = dt if np.dtype(dt).itemsize >= 4 else np.dtype(np.float32)
    return (*fnp.broadcast_arrays(*[x.astype(work) for x in xs]), dt)


def _parts(a, x):
    """Per element: whether the series is used (else the continued fraction), its sum
    `s` and the sum's derivative in a `ds`, and the log-prefactor a log x - x - lgamma(a).
    P = exp(lp) s / a on the series, Q = exp(lp) s on the fraction."""
    dt = a.dtype
    eps = float(np.finfo(dt).eps) / 2
    big = 1.0 / eps
    series = (x <= 1) | (x <= a)
    # (safe operands where an element takes the other branch or is an edge case: its loop
    # must converge, and what it computes is discarded)
    ok = (a > 0) & (x > 0) & fnp.isfinite(a) & fnp.isfinite(x)
    a_s = fnp.where(ok & series, a, 1.0)
    x_s = fnp.where(ok & series, x, 0.5)
    a_f = fnp.where(ok & ~series, a, 1.0)
    x_f = fnp.where(ok & ~series, x, 2.0)
    zero = fnp.zeros_like(a)

    # the series: r = a + n, c = prod x / r, s = 1 + sum c; dc, ds their derivatives in a
    def s_cond(st):
        return (st[0] < MAX_ITERATIONS) & fnp.any(~st[6])

    def s_body(st):
        n, r, c, dc, s, ds, done = st
        r2 = r + 1
        c2 = c * x_s / r2
        dc2 = dc * x_s / r2 - c2 / r2
        s2 = s + c2
        ds2 = ds + dc2
        # (the derivative's terms converge more slowly than the value's: wait for both)
        conv = (fnp.abs(c2) <= eps * fnp.abs(s2)) & (fnp.abs(dc2) <= eps * fnp.abs(ds2))
        keep = done
        return (n + 1, fnp.where(keep, r, r2), fnp.where(keep, c, c2),
                fnp.where(keep, dc, dc2), fnp.where(keep, s, s2), fnp.where(keep, ds, ds2),
                done | conv)

    one = fnp.ones_like(a)
    _, _, _, _, s_ser, ds_ser, _ = lax.while_loop(
        s_cond, _chunked(s_body), (0, a_s, one, zero, one, zero, ~(ok & series)))

    # the continued fraction (Cephes igamc), with the derivatives of its recurrences
    def f_cond(st):
        return (st[0] < MAX_ITERATIONS) & fnp.any(~st[-1])

    def f_body(st):
        (n, y, z, c, pkm2, qkm2, pkm1, qkm1, dpkm2, dqkm2, dpkm1, dqkm1, ans, dans,
         done) = st
        c2, y2, z2 = c + 1, y + 1, z + 2
        yc = y2 * c2
        pk = pkm1 * z2 - pkm2 * yc
        qk = qkm1 * z2 - qkm2 * yc
        # y = 1 - a + c and z = x + 2 - a + 2c: both move by -1 with a
        dpk = dpkm1 * z2 - pkm1 - dpkm2 * yc + pkm2 * c2
        dqk = dqkm1 * z2 - qkm1 - dqkm2 * yc + qkm2 * c2
        nz = qk != 0
        qs = fnp.where(nz, qk, 1.0)
        r = pk / qs
        dr = (dpk - r * dqk) / qs
        conv = nz & (fnp.abs(ans - r) <= eps * fnp.abs(r)) & \
            (fnp.abs(dans - dr) <= eps * fnp.abs(dr))
        ans2 = fnp.where(nz, r, ans)
        dans2 = fnp.where(nz, dr, dans)
        scale = fnp.where(fnp.abs(pk) > big, eps, 1.0)
        new = (y2, z2, c2, pkm1 * scale, qkm1 * scale, pk * scale, qk * scale,
               dpkm1 * scale, dqkm1 * scale, dpk * scale, dqk * scale, ans2, dans2)
        old = (y, z, c, pkm2, qkm2, pkm1, qkm1, dpkm2, dqkm2, dpkm1, dqkm1, ans, dans)
        return (n + 1,) + tuple(fnp.where(done, o, v) for o, v in zip(old, new)) + \
            (done | conv,)

    y0 = 1 - a_f
    z0 = x_f + y0 + 1
    init = (0, y0, z0, zero, one, x_f, x_f + 1, z0 * x_f, zero, zero, zero, -x_f,
            (x_f + 1) / (z0 * x_f), -(x_f + 1) / (z0 * x_f) * (-x_f) / (z0 * x_f),
            ~(ok & ~series))
    out = lax.while_loop(f_cond, _chunked(f_body), init)
    s_frac, ds_frac = out[-3], out[-2]
    xs, a1 = fnp.where(ok, x, 1.0), fnp.where(ok, a, 1.0)
    lp = fnp.where(ok, a1 * fnp.log(xs) - xs - lax.lgamma(a1), 0.0)
    s = fnp.where(series, s_ser, s_frac)
    ds = fnp.where(series, ds_ser, ds_frac)
    return ok, series, s, ds, lp


def _chunked(body):
    """`body` CHUNK times per trip of the while loop: a `fori_loop` with static bounds
    compiles into one C loop, where each trip of a while loop is a call from Python
    (~0.3 ms); an element that has converged stays put (`body` keeps its state)."""
    def run(st):
        return lax.fori_loop(0, CHUNK, lambda i, st: body(st), st)
    return run


@jit
def _p_impl(a, x):
    ok, series, s, _, lp = _parts(a, x)
    e = fnp.exp(lp)
    p = fnp.where(series, e * s / fnp.where(ok, a, 1.0), 1 - e * s)
    return _edges(a, x, ok, p, lower=True)


def _edges(a, x, ok, v, lower):
    """JAX's values where the iteration does not apply: NaN for a < 0, x < 0, NaN or
    a = inf; x = 0 gives P = 0, x = inf P = 1; a = 0 gives P = 1 for x > 0."""
    nan = (a < 0) | (x < 0) | fnp.isnan(a) | fnp.isnan(x) | (a == np.inf) | \
        ((a == 0) & (x == 0))
    p_edge = fnp.where(x == 0, 0.0, 1.0)         # x = 0, x = inf, or a = 0 with x > 0
    edge = p_edge if lower else 1 - p_edge
    return fnp.where(nan, np.nan, fnp.where(ok, v, edge))


@custom_jvp
def _dp_da(a, x):
    return _dp_da_impl(a, x)


@_dp_da.defjvp
def _dp_da_jvp(primals, tangents):
    # d2P/da2 by forward mode through the recurrences (evaluated on the primal values, so
    # reverse mode over this rule works: grad of grad), d2P/(da dx) in closed form.
    # (The loops stop once the value and first derivative converge; the second derivative
    # carries a few more units of rounding.)
    a, x = primals
    ta, tx = tangents
    v, d2a = jvp(lambda a: _dp_da_impl(a, x), (a,), (fnp.ones_like(a),))
    ok, a1, xs = _interior(a, x)
    d2ax = fnp.where(ok, _dp_dx(a, x) * (fnp.log(xs) - lax.digamma(a1)), 0.0)
    return v, d2a * ta + d2ax * tx


def _da_terms(a, x):
    """(ok, series, lp, t): dP/da = exp(lp) t / a on the series and -exp(lp) t on the
    fraction; the prefactor exp(lp) is left out (it cancels in random_gamma_grad)."""
    ok, series, s, ds, lp = _parts(a, x)
    a1 = fnp.where(ok, a, 1.0)
    lx = fnp.log(fnp.where(ok, x, 1.0))
    psi = lax.digamma(a1)
    t = fnp.where(series, s * (lx - psi - 1 / a1) + ds, ds + s * (lx - psi))
    return ok, series, lp, t


@jit
def _dp_da_impl(a, x):
    """dP/da (zero at the edges)."""
    ok, series, lp, t = _da_terms(a, x)
    e = fnp.exp(lp)
    return fnp.where(ok, fnp.where(series, e / fnp.where(ok, a, 1.0) * t, -e * t), 0.0)


def _interior(a, x):
    """(ok, a, x) with 1 in place of both outside a > 0, 0 < x < inf (where the derivatives'
    formulas hold; the edges take their values from a `where`)."""
    ok = (a > 0) & (x > 0) & fnp.isfinite(x)
    return ok, fnp.where(ok, a, 1.0), fnp.where(ok, x, 1.0)


def _dp_dx(a, x):
    """dP/dx = x^(a-1) e^-x / Gamma(a) (zero at x = 0 for a > 1, as JAX)."""
    ok, a1, xs = _interior(a, x)
    return fnp.where(ok, fnp.exp((a1 - 1) * fnp.log(xs) - xs - lax.lgamma(a1)), 0.0)


@custom_jvp
def _igamma(a, x):
    return _p_impl(a, x)


@_igamma.defjvp
def _igamma_jvp(primals, tangents):
    a, x = primals
    ta, tx = tangents
    p = _igamma(a, x)
    return p, _dp_da(a, x) * ta + _dp_dx(a, x) * tx


@jit
def _q_impl(a, x):
    ok, series, s, _, lp = _parts(a, x)
    e = fnp.exp(lp)
    q = fnp.where(series, 1 - e * s / fnp.where(ok, a, 1.0), e * s)
    return _edges(a, x, ok, q, lower=False)


@custom_jvp
def _igammac(a, x):
    return _q_impl(a, x)


@_igammac.defjvp
def _igammac_jvp(primals, tangents):
    a, x = primals
    ta, tx = tangents
    q = _igammac(a, x)
    return q, -(_dp_da(a, x) * ta + _dp_dx(a, x) * tx)


def gammainc(a, x):
    """The regularized lower incomplete gamma function P(a, x) (`scipy.special.gammainc`,
    `lax.igamma`), differentiable in both arguments."""
    a, x, dt = float_operands("gammainc", a, x)
    return _igamma(a, x).astype(dt)


def gammaincc(a, x):
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x)
    (`scipy.special.gammaincc`, `lax.igammac`)."""
    a, x, dt = float_operands("gammaincc", a, x)
    return _igammac(a, x).astype(dt)


def igamma_grad_a(a, x):
    """dP(a, x)/da (`lax.igamma_grad_a`)."""
    a, x, dt = float_operands("igamma_grad_a", a, x)
    return _dp_da(a, x).astype(dt)


def random_gamma_grad(a, x):
    """The derivative of a Gamma(a, 1) sample `x` in `a` at fixed CDF value (implicit
    reparameterisation: -(dP/da) / (dP/dx), `lax.random_gamma_grad`). The prefactor
    cancels in the ratio, so it stays finite where the density underflows."""
    a, x, dt = float_operands("random_gamma_grad", a, x)
    return _gamma_grad_impl(a, x).astype(dt)


@jit
def _gamma_grad_impl(a, x):
    ok, series, _, t = _da_terms(a, x)
    a1, xs = fnp.where(ok, a, 1.0), fnp.where(ok, x, 1.0)
    g = fnp.where(series, -xs / a1 * t, xs * t)
    return fnp.where(ok, g, fnp.where(x == 0, 0.0, np.nan))
