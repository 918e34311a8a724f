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

import math

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


def _parts(a, x, skip_negligible=True):
    """Per element: whether the series is used (else the continued fraction), its sum
    `s` and the sum's derivative in a `ds`, and the log-prefactors lp = a log x - x -
    lgamma(a) and lp1 = lp - log a (see _log_prefactors): P = exp(lp1) s on the series,
    Q = exp(lp) s on the fraction. `s` is NaN where the loop did not converge, and 0 where
    the prefactor underflows (with `skip_negligible`; random_gamma_grad, where the
    prefactor cancels, needs the sums there)."""
    dt = a.dtype
    eps = float(np.finfo(dt).eps) / 2
    big = 1.0 / eps
    series = (x <= 1) | (x <= a)
    ok = (a > 0) & (x > 0) & fnp.isfinite(a) & fnp.isfinite(x)
    a1, x1 = fnp.where(ok, a, 1.0), fnp.where(ok, x, 1.0)
    lp, lp1 = _log_prefactors(a1, x1)
    # Where the prefactor underflows, so does the result's series or fraction part (the
    # series sum is below a + 1, the fraction below 1): the loop is skipped and its sum
    # is 0 (for x = 1e20 the fraction's recurrences overflowed to NaN).
    log_tiny = math.log(float(np.finfo(dt).smallest_subnormal))
    gone = (fnp.where(series, lp1 + fnp.log1p(a1), lp) < log_tiny) & skip_negligible
    live = ok & ~gone & ~_temme_region(a1, x1)
    # (safe operands where an element takes the other branch or is an edge case: its loop
    # must converge, and what it computes is discarded)
    a_s = fnp.where(live & series, a, 1.0)
    x_s = fnp.where(live & series, x, 0.5)
    a_f = fnp.where(live & ~series, a, 1.0)
    x_f = fnp.where(live & ~series, x, 2.0)
    zero = fnp.zeros_like(a)

    # the series: r = a + n, c = prod x / r, s = 1 + sum c; dc, ds their derivatives in a
    def s_cond(st):
        return (st[0] < MAX_ITERATIONS) & fnp.any(~st[6])

    def s_body(st):
        n, r, c, dc, s, ds, done, vdone = st
        r2 = r + 1
        c2 = c * x_s / r2
        dc2 = dc * x_s / r2 - c2 / r2
        s2 = s + c2
        ds2 = ds + dc2
        # (the derivative's terms converge more slowly than the value's: wait for both)
        vconv = fnp.abs(c2) <= eps * fnp.abs(s2)
        conv = vconv & (fnp.abs(dc2) <= eps * fnp.abs(ds2))
        keep = done
        return (n + 1, fnp.where(keep, r, r2), fnp.where(keep, c, c2),
                fnp.where(keep, dc, dc2), fnp.where(keep, s, s2), fnp.where(keep, ds, ds2),
                done | conv, vdone | (vconv & ~keep))

    one = fnp.ones_like(a)
    idle = ~(live & series)
    _, _, _, _, s_ser, ds_ser, _, conv_ser = lax.while_loop(
        s_cond, _chunked(s_body), (0, a_s, one, zero, one, zero, idle, idle))

    # the continued fraction (Cephes igamc), with the derivatives of its recurrences
    def f_cond(st):
        return (st[0] < MAX_ITERATIONS) & fnp.any(~st[-2])

    def f_body(st):
        (n, y, z, c, pkm2, qkm2, pkm1, qkm1, dpkm2, dqkm2, dpkm1, dqkm1, ans, dans, val,
         done, vdone) = st
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
        vconv = nz & (fnp.abs(ans - r) <= eps * fnp.abs(r))
        conv = vconv & (fnp.abs(dans - dr) <= eps * fnp.abs(dr))
        ans2 = fnp.where(nz, r, ans)
        dans2 = fnp.where(nz, dr, dans)
        scale = fnp.where(fnp.abs(pk) > big, eps, 1.0)
        new = (y2, z2, c2, pkm1 * scale, qkm1 * scale, pk * scale, qk * scale,
               dpkm1 * scale, dqkm1 * scale, dpk * scale, dqk * scale, ans2, dans2)
        old = (y, z, c, pkm2, qkm2, pkm1, qkm1, dpkm2, dqkm2, dpkm1, dqkm1, ans, dans)
        # the value is the fraction's at its first convergence: the loop may go on for the
        # derivative, and in float32 the recurrences' rounding then drifts it
        # (gammaincc(1e-30, 10) by 1.3e-5)
        val2 = fnp.where(vdone, val, ans2)
        return (n + 1,) + tuple(fnp.where(done, o, v) for o, v in zip(old, new)) + \
            (val2, done | conv, vdone | (vconv & ~done))

    y0 = 1 - a_f
    z0 = x_f + y0 + 1
    init = (0, y0, z0, zero, one, x_f, x_f + 1, z0 * x_f, zero, zero, zero, -x_f,
            (x_f + 1) / (z0 * x_f), -(x_f + 1) / (z0 * x_f) * (-x_f) / (z0 * x_f),
            (x_f + 1) / (z0 * x_f), ~(live & ~series), ~(live & ~series))
    out = lax.while_loop(f_cond, _chunked(f_body), init)
    # (the frozen value carries the final iterate's derivatives: the value's first
    # convergence comes before its derivative's, whose forward-mode tangent the second
    # derivative in a reads; val - ans is exact, the two being within a factor 2)
    ans_frac = out[-5]
    s_frac = ans_frac + lax.stop_gradient(out[-3] - ans_frac)
    ds_frac, conv_frac = out[-4], out[-1]
    s = fnp.where(series, s_ser, s_frac)
    ds = fnp.where(series, ds_ser, ds_frac)
    # an element whose value did not converge in MAX_ITERATIONS terms has no answer (a = x
    # = 1e6 gave 1.31 in float32, 0.477 in float64, for 0.5): NaN, never a wrong number.
    # (The loops also wait for the derivative, which may not get there where it is ~0.)
    lost = live & ~fnp.where(series, conv_ser, conv_frac)
    s = fnp.where(gone, 0.0, fnp.where(lost, np.nan, s))
    ds = fnp.where(gone, 0.0, fnp.where(lost, np.nan, ds))
    return ok, series, s, ds, fnp.where(ok, lp, 0.0), fnp.where(ok, lp1, 0.0)


# Stirling's series: lgamma(a) = (a - 1/2) log a - a + log(2 pi) / 2 + corr(a), corr(a) =
# sum_k B_2k / (2k (2k - 1) a^(2k - 1)), seven terms within 1e-16 from a = 10.
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156)
_STIRLING_MIN = 10.0
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _stirling_corr(a):
    """lgamma(a) less its Stirling approximation (a - 1/2) log a - a + log(2 pi) / 2, for
    a >= 10 (0 at a = inf); also scipy.special's betaln/poch/comb at large arguments."""
    inv = 1 / a
    inv2 = inv * inv
    acc = _STIRLING[-1]
    for c in _STIRLING[-2::-1]:
        acc = acc * inv2 + c
    return acc * inv


def _log1pmx_t2(t):
    """(log(1 + t) - t) / t^2 for |t| <= 1/2, smooth through t = 0 (-1/2 there): with
    u = t / (2 + t), log(1 + t) = 2 atanh(u) = 2 (u + u^3/3 + u^5/5 + ...) and
    t - 2u = t^2 / (2 + t), so log(1 + t) - t = 2 u^3 (1/3 + u^2/5 + ...) - t^2 / (2 + t)
    and the quotient is 2 t (1/3 + u^2/5 + ...) / (2 + t)^3 - 1 / (2 + t); |u| <= 1/3
    here, where 18 terms reach 1e-18. (The direct difference cancels near t = 0.)"""
    u = t / (2 + t)
    u2 = u * u
    acc = fnp.zeros_like(u)
    for k in range(37, 1, -2):
        acc = acc * u2 + 1.0 / k
    d = 2 + t
    return 2 * t * acc / (d * d * d) - 1 / d


def _log_prefactors(a, x):
    """(log(x^a e^-x / Gamma(a)), log(x^a e^-x / Gamma(a + 1))) for a > 0, x > 0 finite.

    Below a = 10 from lgamma directly (Gamma(a + 1) keeps a subnormal a's prefactor
    finite: gammainc(1.4e-45, 1) was 0, for 1). From a = 10 from Stirling's series, as
    a log(x / a) + a - x + log(a) / 2 - log(2 pi) / 2 - corr(a): a log x - x - lgamma(a)
    is a difference of numbers near a log a which keeps few digits (float32 gammainc(700,
    700) was 2e-4 off, gammainc(1e4, 1e4) 1e-3)."""
    small = a < _STIRLING_MIN
    a_s = fnp.where(small, a, 1.0)
    base = a_s * fnp.log(x) - x
    lp_small, lp1_small = base - lax.lgamma(a_s), base - lax.lgamma(a_s + 1)
    a_l = fnp.where(small, _STIRLING_MIN, a)
    x_l = fnp.where(small, _STIRLING_MIN, x)
    log_a = fnp.log(a_l)
    # a log(x / a) + a - x = a (log1p(t) - t), t = (x - a) / a: from _log1pmx_t2 within a
    # factor 1.5 of a, where the terms cancel (x - a is exact there), directly further out
    # (where x - a's rounding would cost log1p(t) its digits: x << a)
    t = (x_l - a_l) / a_l
    near = fnp.abs(t) <= 0.5
    x_far = fnp.where(near, 2 * a_l, x_l)
    t_near = fnp.where(near, t, 0.0)
    a_log = fnp.where(near, a_l * t_near * t_near * _log1pmx_t2(t_near),
                      a_l * fnp.log(x_far / a_l) + (a_l - x_far))
    core = a_log - _HALF_LOG_2PI - _stirling_corr(a_l)
    lp_large, lp1_large = core + 0.5 * log_a, core - 0.5 * log_a
    return fnp.where(small, lp_small, lp_large), fnp.where(small, lp1_small, lp1_large)


def _exp_lp(a, lp, lp1):
    """exp(lp) = x^a e^-x / Gamma(a), as exp(lp1) * a below a = 1. There -lgamma(a) ~ log(1/a)
    is large (69 at a = 1e-30) and its rounding in the sum lp is an absolute error of the
    exponent, a relative error of the result; lp1 = a log x - x - lgamma(a + 1) has no such
    term. (float32 gammaincc at 4,000 points a = 10^U(-38, 0.5), x = 10^U(-1, 2): 99th
    percentile relative error 5.3e-6 with exp(lp), 1.9e-6 with this; its x-derivative 7.0e-6
    and 2.3e-6.)"""
    return fnp.where(a < 1, fnp.exp(lp1) * a, fnp.exp(lp))


def _chunked(body):
    """`body` CHUNK times per trip of the while loop: a `fori_loop` with static bounds
    compiles into one C loop, where each trip of a while loop is a call from Python
    (~0.3 ms); an element that has converged stays put (`body` keeps its state)."""
    def run(st):
        return lax.fori_loop(0, CHUNK, lambda i, st: body(st), st)
    return run


# Temme's uniform asymptotic expansion (DLMF 8.12) for large a and x near a, where the series
# and the fraction need ~sqrt(a) terms: with lambda = x / a and eta^2 / 2 = lambda - 1 -
# log(lambda) (eta of the sign of lambda - 1),
#     Q(a, x) = erfc(eta sqrt(a/2)) / 2 + R,   P(a, x) = erfc(-eta sqrt(a/2)) / 2 - R,
#     R = exp(-a eta^2 / 2) / sqrt(2 pi a) sum_k c_k(eta) a^-k,
# c_0 = 1 / (lambda - 1) - 1 / eta, c_k = c_(k-1)'(eta) / eta + (-1)^k g_k / (lambda - 1), g_k
# the coefficients of Stirling's series Gamma(a) ~ sqrt(2 pi / a) (a / e)^a sum_k g_k a^-k.
# The rows below are the Taylor coefficients of c_0 ... c_4 in eta, computed exactly (in
# rationals, lambda(eta) by Lagrange inversion) and rounded: c_0(0) = -1/3, c_1(0) = -1/540,
# c_2(0) = 25/6048. From a = 1000 with |x - a| <= 0.3 a (|eta| <= 0.33), the terms left out
# are below 1e-17 of the result; outside that band the series or fraction converge in a few
# hundred terms.
_TEMME_COEFFS = (
    (-0.3333333333333333, 0.08333333333333333, -0.014814814814814815,
     0.0011574074074074073, 0.0003527336860670194, -0.0001787551440329218,
     3.919263178522438e-05, -2.185448510679992e-06, -1.85406221071516e-06,
     8.296711340953087e-07, -1.7665952736826078e-07, 6.707853543401498e-09,
     1.0261809784240309e-08, -4.382036018453353e-09, 9.14769958223679e-10,
     -2.5514193994946248e-11, -5.830772132550426e-11, 2.4361948020667415e-11,
     -5.0276692801141755e-12, 1.1004392031956135e-13, 3.371763262400985e-13,
     -1.392388722418162e-13, 2.8534893807047445e-14, -5.139111834242572e-16,
     -1.9752288294349442e-15),
    (-0.001851851851851852, -0.003472222222222222, 0.0026455026455026454,
     -0.0009902263374485596, 0.00020576131687242798, -4.018775720164609e-07,
     -1.8098550334489977e-05, 7.64916091608111e-06, -1.6120900894563446e-06,
     4.647127802807434e-09, 1.378633446915721e-07, -5.752545603517705e-08,
     1.1951628599778148e-08, -1.7543241719747647e-11, -1.0091543710600413e-09,
     4.162792991842583e-10, -8.56390702649298e-11, 6.067215101604758e-14,
     7.1624989648114856e-12, -2.933186643771437e-12, 5.996696365683689e-13,
     -2.1671786527323313e-16, -4.978339972369262e-14, 2.0291628823713425e-14,
     -4.13125571381061e-15),
    (0.004133597883597883, -0.0026813271604938273, 0.0007716049382716049,
     2.0093878600823047e-06, -0.0001073665322636516, 5.2923448829120125e-05,
     -1.2760635188618728e-05, 3.423578734096138e-08, 1.3721957309062934e-06,
     -6.298992138380055e-07, 1.4280614206064242e-07, -2.0477098421990866e-10,
     -1.409252991086752e-08, 6.228974084922022e-09, -1.3670488396617114e-09,
     9.428356159014678e-13, 1.2872252400089318e-10, -5.5645956134363323e-11,
     1.197593554636698e-11, -4.1689782251838634e-15, -1.0940640427884595e-12,
     4.662239946390136e-13, -9.905105763906907e-14, 1.8931876768373515e-17,
     8.859221872591127e-15),
    (0.0006494341563786008, 0.00022947209362139917, -0.0004691894943952557,
     0.00026772063206283885, -7.561801671883977e-05, -2.396505113867297e-07,
     1.1082654115347302e-05, -5.6749528269915965e-06, 1.4230900732435883e-06,
     -2.7861080291528143e-11, -1.6958404091930278e-07, 8.099464905388083e-08,
     -1.9111168485973655e-08, 2.3928620439808118e-12, 2.0620131815488797e-09,
     -9.460496661855133e-10, 2.1541049775774907e-10, -1.388823336813903e-14,
     -2.1894761681963938e-11, 9.790998951171684e-12, -2.178219188018096e-12,
     6.208819573407901e-17, 2.126978363279737e-13, -9.344688791517433e-14,
     2.045367122678285e-14),
    (-0.0008618882909167117, 0.0007840392217200666, -0.0002990724803031902,
     -1.4638452578843418e-06, 6.641498215465122e-05, -3.968365047179435e-05,
     1.1375726970678419e-05, 2.507497226237533e-10, -1.6954149536558305e-06,
     8.907507532205309e-07, -2.292934834000805e-07, 2.956794137544049e-11,
     2.8865829742708783e-08, -1.4189739437803219e-08, 3.4463580499464896e-09,
     -2.3024517174528067e-13, -3.9409233028046403e-10, 1.86023389685045e-10,
     -4.356323005056618e-11, 1.278600101629623e-15, 4.67927502665792e-12,
     -2.149246470613483e-12, 4.908815614809652e-13, -6.33859148489156e-18,
     -5.045332069080094e-14),
)
_TEMME_MIN_A = 1000.0
_TEMME_MAX_T = 0.3


def _temme_region(a, x):
    """Where _temme replaces the series and the fraction."""
    return (a >= _TEMME_MIN_A) & (fnp.abs(x - a) <= _TEMME_MAX_T * a)


def _temme(a, x):
    """(P, Q) from Temme's expansion (see above), for a and x in _temme_region. eta is
    t sqrt(-2 log1pmx(t) / t^2) with t = (x - a) / a, smooth through x = a (the derivative
    in a, taken through this function, is finite there)."""
    t = (x - a) / a
    q = _log1pmx_t2(t)                        # (log(lambda) - (lambda - 1)) / t^2
    eta = t * fnp.sqrt(-2 * q)
    inv_a = 1 / a
    total = fnp.zeros_like(a)
    for row in _TEMME_COEFFS[::-1]:
        acc = fnp.zeros_like(a) + row[-1]
        for c in row[-2::-1]:
            acc = acc * eta + c
        total = total * inv_a + acc
    # (sqrt(2 pi) sqrt(a): 2 pi a overflows float32 from a = 5.4e37)
    r = fnp.exp(a * t * t * q) / (np.sqrt(2 * np.pi) * fnp.sqrt(a)) * total
    u = eta * fnp.sqrt(0.5 * a)
    return 0.5 * lax.erfc(-u) - r, 0.5 * lax.erfc(u) + r


def _temme_p(a, x):
    return _temme(a, x)[0]


def _temme_inputs(a, x):
    """(region, a, x) with 1000 in place of both outside the region (safe operands: the
    expansion there is computed and discarded)."""
    region = _temme_region(a, x)
    return region, fnp.where(region, a, _TEMME_MIN_A), fnp.where(region, x, _TEMME_MIN_A)


@jit
def _p_impl(a, x):
    ok, series, s, _, lp, lp1 = _parts(a, x)
    p = fnp.where(series, fnp.exp(lp1) * s, 1 - _exp_lp(a, lp, lp1) * s)
    # (1 < x <= 1.1: 1 - Q from Q's series is closer than the fraction's 1 - Q there)
    small = ok & ~series & _q_small_a(a, x)
    p = fnp.where(small, 1 - _q_series(fnp.where(small, a, 0.5), fnp.where(small, x, 0.5)),
                  p)
    region, a_t, x_t = _temme_inputs(a, x)
    p = fnp.where(ok & region, _temme(a_t, x_t)[0], p)
    return _edges(a, x, ok, p, lower=True)


def _edges(a, x, ok, v, lower):
    """The values where the iteration does not apply: NaN for a < 0, x < 0, NaN, and
    a = x = 0 or a = x = inf; x = 0 gives P = 0, x = inf P = 1; a = 0 gives P = 1 for
    x > 0, a = inf P = 0 for finite x (SciPy's limits; JAX's P(inf, x) is NaN from
    x = 1)."""
    nan = (a < 0) | (x < 0) | fnp.isnan(a) | fnp.isnan(x) | \
        ((a == 0) & (x == 0)) | ((a == np.inf) & (x == np.inf))
    # x = 0 or a = inf: P = 0; x = inf, or a = 0 with x > 0: P = 1
    p_edge = fnp.where((x == 0) | (a == np.inf), 0.0, 1.0)
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


def _da_terms(a, x, skip_negligible=True):
    """(ok, series, e, t): dP/da = e t on the series and -e t on the fraction, where e is
    exp(lp1) on the series and exp(lp) (`_exp_lp`) on the fraction; the prefactor is left
    out of t (it cancels in random_gamma_grad, which reads only `t`)."""
    ok, series, s, ds, lp, lp1 = _parts(a, x, skip_negligible)
    a1 = fnp.where(ok, a, 1.0)
    lx = fnp.log(fnp.where(ok, x, 1.0))
    # (on the series -digamma(a) - 1/a is -digamma(a + 1): written as the difference it
    # cancelled for small a, digamma(1e-8) being -1e8 - 0.58 (float32 dP/da at a = 1e-8,
    # x = 1 was 7.2 for -0.22))
    psi = lax.digamma(fnp.where(series, a1 + 1, a1))
    t = fnp.where(series, s * (lx - psi) + ds, ds + s * (lx - psi))
    return ok, series, fnp.where(series, fnp.exp(lp1), _exp_lp(a1, lp, lp1)), t


@jit
def _dp_da_impl(a, x):
    """dP/da (zero at the edges)."""
    ok, series, e, t = _da_terms(a, x)
    region, a_t, x_t = _temme_inputs(a, x)
    d = fnp.where(ok & region, _temme_dp_da(a_t, x_t), fnp.where(series, e * t, -e * t))
    return fnp.where(ok, d, 0.0)


def _temme_dp_da(a, x):
    """dP/da in _temme_region, by forward mode through the expansion."""
    return jvp(lambda a: _temme_p(a, x), (a,), (fnp.ones_like(a),))[1]


def _interior(a, x):
    """(ok, a, x) with 1 in place of both outside a > 0, 0 < x < inf (where the derivatives'
    formulas hold; the edges take their values from a `where`)."""
    ok = (a > 0) & (x > 0) & fnp.isfinite(x)
    return ok, fnp.where(ok, a, 1.0), fnp.where(ok, x, 1.0)


def _dp_dx(a, x):
    """dP/dx = x^(a-1) e^-x / Gamma(a) (zero at x = 0 for a > 1, as JAX), from the
    log-prefactor of _log_prefactors (accurate for large a)."""
    ok, a1, xs = _interior(a, x)
    lp, lp1 = _log_prefactors(a1, xs)
    lx = fnp.log(xs)
    return fnp.where(ok, _exp_lp(a1, lp - lx, lp1 - lx), 0.0)


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
    ok, series, s, _, lp, lp1 = _parts(a, x)
    q = fnp.where(series, 1 - fnp.exp(lp1) * s, _exp_lp(a, lp, lp1) * s)
    small = ok & _q_small_a(a, x)
    q = fnp.where(small, _q_series(fnp.where(small, a, 0.5), fnp.where(small, x, 0.5)), q)
    region, a_t, x_t = _temme_inputs(a, x)
    q = fnp.where(ok & region, _temme(a_t, x_t)[1], q)
    return _edges(a, x, ok, q, lower=False)


def _q_small_a(a, x):
    """Where Q = 1 - P cancels: x <= 1.1 with a small against x (a <= -0.4 / log x up to
    x = 1/2, a <= 1.1 x above; the bounds SciPy's igamc uses). There P is within O(a) of
    1, and 1 - P kept only its rounding (gammaincc(1e-7, 1) was -2.4e-7 in float32, for
    2.2e-8)."""
    bound = fnp.where(x <= 0.5, -0.4 / fnp.log(fnp.minimum(x, 0.5)), 1.1 * x)
    return (x <= 1.1) & (a <= bound)


# lgamma(1 + a) = -gamma a + sum_k>=2 (-1)^k zeta(k) a^k / k (|a| < 1): 24 terms for |a| <= 0.2
_EULER_GAMMA = 0.5772156649015329
_LGAMMA1P_TERMS = 24
_LGAMMA1P_TAYLOR = 0.2
_Q_SERIES_TERMS = 20             # x <= 1.1: 1.1^20 / 20! < 3e-18


def _zeta_int(k, n=40):
    """The Riemann zeta function at the integer k >= 2 in Python floats: the first n terms,
    then the Euler-Maclaurin tail n^(1-k) / (k - 1) - n^-k / 2 + k n^(-k-1) / 12 - k (k+1)
    (k+2) n^(-k-3) / 720 (below 1e-17 at n = 40)."""
    head = math.fsum(j ** -k for j in range(1, n))
    tail = (n ** (1 - k) / (k - 1) + 0.5 * n ** -k + k * n ** (-k - 1) / 12
            - k * (k + 1) * (k + 2) * n ** (-k - 3) / 720)
    return head + tail


_LGAMMA1P_COEFFS = tuple((-1) ** k * _zeta_int(k) / k for k in range(2, _LGAMMA1P_TERMS + 2))


def _lgamma1p(a):
    """lgamma(1 + a), accurate for small a (1 + a rounds a's low digits away): its Taylor
    series below |a| = 0.2, lgamma(1 + a) above."""
    near = fnp.abs(a) <= _LGAMMA1P_TAYLOR
    an = fnp.where(near, a, 0.0)
    acc = fnp.zeros_like(an)
    for c in _LGAMMA1P_COEFFS[::-1]:
        acc = (acc + c) * an
    near_v = (acc - _EULER_GAMMA) * an
    return fnp.where(near, near_v, lax.lgamma(fnp.where(near, 1.0, a) + 1))


def _q_series(a, x):
    """Q(a, x) for small a and x <= 1.1, without forming 1 - P: with the series of the
    lower incomplete gamma, gamma(a, x) = sum_n>=0 (-x)^n x^a / (n! (a + n)),
    Q = 1 - x^a / Gamma(a + 1) - x^a / Gamma(a) sum_n>=1 (-x)^n / (n! (a + n)), and the
    first difference is -expm1(a log x - lgamma(1 + a)) (DLMF 8.7.3). (x^a / Gamma(a) as
    a x^a / Gamma(a + 1): lgamma(a) ~ -log a carries an absolute rounding error that
    exp() makes relative.)"""
    fac = fnp.ones_like(x)
    total = fnp.zeros_like(x)
    for n in range(1, _Q_SERIES_TERMS + 1):
        fac = fac * (-x / n)
        total = total + fac / (a + n)
    log_ratio = a * fnp.log(x) - _lgamma1p(a)          # log(x^a / Gamma(a + 1))
    return -fnp.expm1(log_ratio) - a * fnp.exp(log_ratio) * total


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
    ok, series, _, t = _da_terms(a, x, skip_negligible=False)
    a1, xs = fnp.where(ok, a, 1.0), fnp.where(ok, x, 1.0)
    g = fnp.where(series, -xs / a1 * t, xs * t)
    # in Temme's region: -(dP/da) / (dP/dx), the density from the log-prefactor
    region, a_t, x_t = _temme_inputs(a1, xs)
    g_t = -_temme_dp_da(a_t, x_t) * x_t / fnp.exp(_log_prefactors(a_t, x_t)[0])
    g = fnp.where(region, g_t, g)
    return fnp.where(ok, g, fnp.where(x == 0, 0.0, np.nan))
