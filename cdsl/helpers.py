"""Small inline helper functions that give the generated code NumPy's semantics where C
differs: NaN-propagating max/min (ordering -0 < +0, as JAX), integer division and remainder
defined for a zero divisor and for INT_MIN / -1 (C leaves both undefined; x86 traps),
shifts by out-of-range amounts, saturating float-to-int casts, a stable logistic. Each
helper is built as AST (so every dialect prints the same logic) on demand. `pow_c99`
builds an inline expression: pow with C99's special cases enforced whatever the (possibly
vectorised) libm does.

Complex (c64/c128, C99 `_Complex`): multiplication and division are helpers with NumPy's
formulas (C99's `*` calls `__mulsc3` for its inf/NaN rules, ~3.5x slower in a vectorised
loop, and its `/` rounds differently from NumPy's Smith division); NumPy's lexicographic
ordering, maximum/minimum and sign; expm1 and a log1p that keeps its precision near 0.
bfloat16: loads widen the bit pattern to float, every operation computes in float and
rounds back to nearest-even (NaN kept, as a quiet NaN of its sign: ml_dtypes' cast)."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import ast as A

_TYPES = A.SCALAR_TYPES


_BASES = {"clamp", "f2i", "max", "min", "idiv", "irem", "shl", "shr", "iabs", "sign",
          "logistic", "cmul", "cdiv", "clt", "cle", "cgt", "cge", "cexpm1", "clog1p",
          "cisfinite", "cexp", "bfround", "bfload", "bfstore", "hround", "hload", "hstore",
          "sgemmpk", "sgemmdk", "sgemmpack", "sgemmpk8", "sgemmpack8", "sgemmpanels",
          "sgemmpanels8", "uexp", "ulog",
          "utanh", "uabs", "tpose8", "bsel"}

# bfloat16 <-> float on bit patterns (C99 only: the OpenCL backend runs bfloat16 on the
# host). Rounding adds 0x7fff plus the lowest kept bit: round to nearest, ties to even;
# overflow carries into the exponent and gives inf, as it should.
_BF16_ROUND = (
    "uint32_t u; __builtin_memcpy(&u, &x, 4);",
    "uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;",
    "r = (x != x) ? ((u & 0x80000000u) | 0x7fc00000u) : r;")


# uexp of float64: (the least x whose exp is normal, rounded inwards; the x below which
# exp rounds to 0; the shift C; e^-C, as C text; the C types of the value and of its bits)
_UEXP = {"f64": ("-708.0", "-746.0", "40.0", f"{float(np.exp(-40.0))!r}", "double", "int64_t")}


def _uexp(name, t):
    """exp(a) of a real float (the C99 dialect renders every float exp call as this).

    glibc's vector exp (libmvec) hands each element whose result underflows (a below the
    normal range: masked attention scores of -1e9 or -inf, exp(-d*d) far out, the logistic
    of a large negative number) to its scalar routine: 4-8 ns an element against 0.3 ns
    (AMD Zen 4).

    float32 does not call libm: a = n ln2 + r (Cody-Waite: ln2 in two parts, the first
    with 9 significant bits so that n * hi is exact), e^r = 1 + r + r^2 q(r) with q of
    degree 4 fitted here (Lawson's minimax iteration, relative error 4e-9 on
    |r| <= ln2/2), scaled by 2^n as two powers of two so that subnormal results round
    once. Checked on all 2^32 inputs against the double exp
    (scripts/check_float32_helpers.py): at most 1.02 ulp with FMA and 0.99 without
    (libmvec's expf: 2.6), subnormals 0.75 ulp, every zero, inf and NaN exact; 0.34 ns an
    element in a vectorised loop of exps, as libmvec's where nothing underflows (AMD Zen
    4). Inside a reduction loop the renderer keeps libm's exp (see render.fn_name); a sum
    of exps computes its terms in a map loop of their own (codegen._terms_in_a_row).

    float64 calls libm's exp on an argument moved into the normal range: such an `a` is
    shifted by C and the result scaled by e^-C; below `floor` (where exp rounds to 0) the
    argument is 0 and the result 0 (a product that underflows takes a microcode assist).
    a + C is exact (C is a multiple of a's ulp there and the sum stays in a's binade), so
    only the product rounds. The argument is chosen by blending
    bit patterns: written as a select, gcc moves the select past the call and calls exp on
    both arguments, the raw one too. NaN fails `a < lo` and stays NaN."""
    if t.name == "f32":
        return _raw_fn(name, (("a", t),), t, _UEXP_F32)
    lo, floor, shift, scale, ct, it = _UEXP[t.name]
    nb = 4 if ct == "float" else 8
    return _raw_fn(name, (("a", t),), t, (
        f"{it} m = -({it})(a < {lo});",
        f"{ct} s = ((a < {floor}) ? -{shift} : a) + {shift};",
        f"{it} ab, sb; __builtin_memcpy(&ab, &a, {nb}); __builtin_memcpy(&sb, &s, {nb});",
        f"{it} yb = (sb & m) | (ab & ~m);",
        f"{ct} y; __builtin_memcpy(&y, &yb, {nb});",
        f"{ct} e = exp{'f' if ct == 'float' else ''}(y);",
        f"return (a < {floor}) ? 0.0 : ((a < {lo}) ? e * {scale} : e);"))


def _bsel(name, t):
    """`ok ? a : b` of two floats by blending their bit patterns. Written as a select whose
    `a` is a load (a pooling window's cell that may lie in the padding, read at a clamped
    index), gcc 12 turns the load into a masked load and then gives up vectorising the loop
    ("data ref analysis failed"): a 3 x 3 max pool with SAME padding ran scalar with
    branches, 160 ms on (32, 64, 64, 32) against JAX's 19 (AMD Zen 4)."""
    ct, it, nb = ("float", "uint32_t", 4) if t.name == "f32" else ("double", "uint64_t", 8)
    return _raw_fn(name, (("ok", A.i32), ("a", t), ("b", t)), t, (
        f"{it} ab, bb; __builtin_memcpy(&ab, &a, {nb}); __builtin_memcpy(&bb, &b, {nb});",
        f"{it} m = ({it})0 - ({it})(ok != 0);",
        f"{it} r = (ab & m) | (bb & ~m);",
        f"{ct} y; __builtin_memcpy(&y, &r, {nb});",
        "return y;"))


def _lawson(x, f, w, degree, iters):
    """Coefficients (lowest first, as float32) of the polynomial q of `degree` minimising
    max |q(x) - f| w over the points x: Lawson's iteration over weighted least squares."""
    v = np.vander(x, degree + 1, increasing=True)
    lw = np.ones_like(x)
    for _ in range(iters):
        c = np.linalg.lstsq(v * (w * lw)[:, None], f * w * lw, rcond=None)[0]
        e = np.abs((v @ c - f) * w)
        lw = lw * np.sqrt(e / e.max()) + 1e-30
        lw /= lw.max()
    return [float(x) for x in c.astype(np.float32)]


def _exp_poly_f32():
    """c2..c6 of e^r ~ 1 + r + r^2 (c2 + c3 r + ... + c6 r^4) on |r| <= ln2/2, minimax in
    relative error, as float32."""
    half = np.log(2.0) / 2
    r = np.linspace(-half, half, 20001)
    r2 = r * r
    f = np.where(r == 0, 0.5, (np.expm1(r) - r) / np.where(r == 0, 1, r2))
    w = np.maximum(r2 / np.exp(r), 1e-12)       # the weight of q's error in e^r's
    return _lawson(r, f, w, 4, 60)


# _exp_poly_f32()'s result, fixed here so that the generated source (and the compile cache
# key) does not depend on the LAPACK that fits it (tests/test_cdsl.py refits and compares)
EXP_POLY_F32 = (0.4999999403953552, 0.1666652113199234, 0.04166838899254799,
                0.00836869701743126, 0.0013814546400681138)


# ln2 in two parts as C float literals (the first with 9 significant bits, so that n * hi is
# exact for the n an exp or tanh meets), and 1 / ln2 rounded to float32
LN2_HI = "0.693359375f"
LN2_LO = f"{float(np.float32(np.log(2.0) - 0.693359375))!r}f"
NEG_LN2_LO = f"{-float(np.float32(np.log(2.0) - 0.693359375))!r}f"
INV_LN2 = f"{float(np.float32(1 / np.log(2.0)))!r}f"


def _exp_reduced_lines(fma: bool, arg: str) -> tuple:
    """C lines giving p = e^r, where `arg` = n ln2 + r with n (a float already rounded, in
    `n`) and |r| <= ln2/2: r by Cody-Waite (ln2 in two parts, the first with 9 significant
    bits so that n * hi is exact), then 1 + r + r^2 q(r) with EXP_POLY_F32; with fmaf
    (`fma`) or plain products. uexp and utanh share them (they declare r, q and p)."""
    c2, c3, c4, c5, c6 = (f"{x!r}f" for x in EXP_POLY_F32)
    lo = NEG_LN2_LO
    if fma:
        return (f"float r = fmaf(n, -{LN2_HI}, {arg});", f"r = fmaf(n, {lo}, r);",
                f"float q = fmaf({c6}, r, {c5});", f"q = fmaf(q, r, {c4});",
                f"q = fmaf(q, r, {c3});", f"q = fmaf(q, r, {c2});",
                "float p = 1.0f + fmaf(q, r * r, r);")
    return (f"float r = {arg} - n * {LN2_HI};", f"r = r + n * {lo};",
            f"float q = {c6} * r + {c5};", f"q = q * r + {c4};", f"q = q * r + {c3};",
            f"q = q * r + {c2};", "float p = 1.0f + (q * (r * r) + r);")


def _uexp_f32_lines():
    inv_ln2 = INV_LN2
    fma, plain = _exp_reduced_lines(True, "x"), _exp_reduced_lines(False, "x")
    # (below -104 the result is 0, selected at the end; x = 0 there rather than a clamp to
    # -104, whose product underflows: a microcode assist on AMD Zen 4, 1.8 against 0.7 ns
    # an element in a row of exps half of which are masked)
    # (xn, the argument n is computed from, is min(x, 88.8) with a NaN mapped to 88.8 (one
    # minps; no NaN reaches the integer conversion), x the same min keeping a NaN (the
    # other operand order), so r and p are NaN. Until 2026-12-03 xn was a select of a NaN
    # to 0 after the clamp, which gcc compiled to six compares and four blends: a
    # vectorised loop of exps in cache took 0.79 ns an element, now 0.67 (AMD Zen 3); the
    # same bits on all 2^32 inputs, NaN results included)
    return (("float x = (a < -104.0f) ? 0.0f : a;",
             "float xn = (x < 88.8f) ? x : 88.8f;          /* NaN: 88.8 */",
             "x = (x > 88.8f) ? 88.8f : x;                 /* NaN: NaN */",
             f"float n = __builtin_rintf(xn * {inv_ln2});",
             "#ifdef FP_FAST_FMAF") + fma + ("#else",) + plain + ("#endif",
             "int32_t ni = (int32_t)n, h = ni >> 1;",
             "int32_t ai = (h + 127) << 23, bi = (ni - h + 127) << 23;",
             "float af, bf; __builtin_memcpy(&af, &ai, 4); __builtin_memcpy(&bf, &bi, 4);",
             "return (a < -104.0f) ? 0.0f : p * af * bf;"))


_UEXP_F32 = _uexp_f32_lines()


def _tanh_poly_f32():
    """q0..q6 of tanh(x) ~ x + x^3 (q0 + q1 s + ... + q6 s^6), s = x^2, on |x| < 0.9,
    minimax in tanh's relative error, as float32."""
    x = np.linspace(1e-4, TANH_SMALL, 40001)
    target = (np.tanh(x) - x) / x ** 3
    w = x ** 3 / np.tanh(x)                     # the weight of q's error in tanh's
    return _lawson(x * x, target, w, 6, 100)


# Below this |x| tanh is the odd polynomial, above it 1 - 2 / (e^2|x| + 1): there that
# subtraction loses little (the result is above 0.7)
TANH_SMALL = 0.9

# _tanh_poly_f32()'s result, fixed as EXP_POLY_F32 is (tests/test_cdsl.py refits and compares)
TANH_POLY_F32 = (-0.33333322405815125, 0.13332977890968323, -0.05392930656671524,
                 0.021663561463356018, -0.008264580741524696, 0.00258270394988358,
                 -0.000455473578767851)


def _utanh_f32_lines():
    c = [f"{x!r}f" for x in TANH_POLY_F32]
    inv_ln2 = INV_LN2

    def body(fma):
        mad = (lambda a, b, d: f"fmaf({a}, {b}, {d})") if fma else \
            (lambda a, b, d: f"({a} * {b} + {d})")
        return ((f"float u = {mad(c[-1], 's', c[-2])};",)
                + tuple(f"u = {mad('u', 's', k)};" for k in reversed(c[:-2]))
                + (f"float small = {mad('u * s', 'x', 'x')};",)
                + _exp_reduced_lines(fma, "y")
                + (f"float big = 1.0f - 2.0f / {mad('p', 'e', '1.0f')};",))
    return (("float x = __builtin_fabsf(a), s = a * a;",
             f"/* |x| >= {TANH_SMALL}: e^2x = 2^n e^r, |r| <= ln2/2; above 9.5 tanh rounds",
             "   to 1 (y clamped; a NaN x takes the polynomial, which keeps it NaN) */",
             "float y = 2.0f * ((x < 9.5f) ? x : 9.5f);",
             f"float n = __builtin_rintf(y * {inv_ln2});",
             "int32_t ei = ((int32_t)n + 127) << 23;",
             "float e; __builtin_memcpy(&e, &ei, 4);",
             "#ifdef FP_FAST_FMAF") + body(True) + ("#else",) + body(False)
            + ("#endif",
               f"float t = (x >= {TANH_SMALL}f) ? big : small;",
               "return __builtin_copysignf(t, a);"))


_UTANH_F32 = _utanh_f32_lines()


def _utanh(name, t):
    """tanh(a) of a float32, without libm (the C99 dialect renders float32 tanh calls as
    this).

    glibc's vector tanhf (libmvec) cost 0.92 ns an element on AMD Zen 3 (AVX2), twice an
    expf; tanh is in every GRU, LSTM and tanh-GELU. Here |a| < 0.9 is the odd polynomial
    a + a^3 q(a^2) with q of degree 6 fitted here (Lawson's minimax, relative error 6e-9);
    above, 1 - 2 / (e^2|a| + 1) with e^2|a| as uexp_f32 computes it (n ln2 + r, the same
    polynomial; 2|a| <= 19 needs no range checks). Both are computed from |a|, one is
    selected and a's sign copied onto it (so tanh(-0) is -0), so the loop vectorises; NaN
    passes through. Checked on all 2^32 inputs against the double tanh
    (scripts/check_float32_helpers.py): at most 0.993 ulp with FMA, 1.073 without
    (libmvec's tanhf: 1.026); 0.75-0.79 ns an element in a vectorised loop against
    libmvec's 0.90-1.16 (AMD Zen 3)."""
    return _raw_fn(name, (("a", t),), t, _UTANH_F32)


# |z| of a complex64 in double: x^2 and y^2 of float32 parts are exact there and cannot
# overflow, so sqrt(x^2 + y^2) rounded to float32 is hypotf's value (glibc's hypotf works
# the same way) with no scaling; an infinite part gives inf even beside a NaN (C99's
# hypot, NumPy's abs). libm's cabsf is a call per element: 3.4 ns an element, 111 us for
# (64, 513), where this loop vectorises.
_UABS_C64 = (
    "float x = __builtin_fabsf(__real__ a), y = __builtin_fabsf(__imag__ a);",
    "double s = __builtin_sqrt((double)x * (double)x + (double)y * (double)y);",
    "return (x == __builtin_inff() || y == __builtin_inff()) ? __builtin_inff() : (float)s;")


def _log_poly_f32():
    """q0..q8 of log1p(f) ~ f + f^2 (q0 + q1 f + ... + q8 f^8) on sqrt(1/2) - 1 <= f <
    sqrt(2) - 1, minimax in log1p's relative error, as float32."""
    f = np.linspace(np.sqrt(0.5) - 1, np.sqrt(2.0) - 1, 40001)
    f = f[f != 0]
    target = (np.log1p(f) - f) / (f * f)
    w = (f * f) / np.abs(np.log1p(f))           # the weight of q's error in log1p's
    return _lawson(f, target, w, 8, 100)


# _log_poly_f32()'s result, fixed as EXP_POLY_F32 is (tests/test_cdsl.py refits and compares)
LOG_POLY_F32 = (-0.49999988079071045, 0.33333325386047363, -0.25001582503318787,
                0.20001979172229767, -0.16609081625938416, 0.14181748032569885,
                -0.1324290633201599, 0.12904800474643707, -0.07622401416301727)


def _ulog_f32_lines():
    c = [f"{x!r}f" for x in LOG_POLY_F32]
    ln2_lo = LN2_LO

    def poly(mad):         # q by Estrin's scheme: a shorter dependency chain than Horner's
        return ("float f2 = f * f, f4 = f2 * f2;",
                f"float e0 = {mad(c[1], 'f', c[0])}, e1 = {mad(c[3], 'f', c[2])};",
                f"float e2 = {mad(c[5], 'f', c[4])}, e3 = {mad(c[7], 'f', c[6])};",
                f"float g0 = {mad('e1', 'f2', 'e0')};",
                f"float g1 = {mad(mad(c[8], 'f2', 'e3'), 'f2', 'e2')};",
                f"float q = {mad('g1', 'f4', 'g0')};",
                f"float r = {mad('f2', 'q', 'k * ' + ln2_lo)};")
    return (("float x = (a < 0x1p-126f) ? a * 0x1p23f : a;    /* subnormals: scaled */",
             "float kc = (a < 0x1p-126f) ? -23.0f : 0.0f;",
             "int32_t ix; __builtin_memcpy(&ix, &x, 4);",
             "int32_t t = ix - 0x3f3504f3;           /* x = 2^k m, sqrt(1/2) <= m < sqrt(2) */",
             "int32_t im = (t & 0x007fffff) + 0x3f3504f3;",
             "float m; __builtin_memcpy(&m, &im, 4);",
             "float k = (float)(t >> 23) + kc;",
             "float f = m - 1.0f;                      /* exact */",
             "#ifdef FP_FAST_FMAF")
            + poly(lambda a, b, d: f"fmaf({a}, {b}, {d})") + ("#else",)
            + poly(lambda a, b, d: f"({a} * {b} + {d})")
            + ("#endif",
               "r = k * 0.693359375f + (f + r);        /* k * hi is exact */",
               "r = (a < INFINITY) ? r : a;            /* +inf, NaN */",
               "/* a negative gives -NaN, as glibc's logf and JAX on x86-64 (an operand of",
               "   lax.top_k or sort orders by the sign); a NaN passes through */",
               "return (a > 0.0f) ? r : ((a == 0.0f) ? -INFINITY : ((a != a) ? a : -NAN));"))


_ULOG_F32 = _ulog_f32_lines()


def _ulog(name, t):
    """log(a) of a float32, without libm (the C99 dialect renders float32 log calls as this).

    glibc's vector log (libmvec) hands every zero, negative, subnormal, inf or NaN element
    to its scalar routine: 3-6 ns an element against 0.3 (AMD Zen 4), so an entropy
    `where(p > 0, p * log(p), 0)` over probabilities half of which are 0 ran 12x slower
    than JAX's. Here a = 2^k m with sqrt(1/2) <= m < sqrt(2) (subnormals scaled by 2^23
    first), f = m - 1 exactly, log1p(f) = f + f^2 q(f) with q of degree 8 fitted here
    (Lawson's minimax, relative error 6e-9; evaluated by Estrin's scheme, whose shorter
    dependency chain an entropy's reduction loop needs), and k ln2 added in two parts
    (k * hi exact); zeros, negatives, inf and NaN are selected at the end. Checked on all
    2^32 inputs against the double log (scripts/check_float32_helpers.py): at most 1.00 ulp
    with FMA, 0.97 without (libmvec's logf: 3.9); 0.39 ns an element in a vectorised map
    whatever the input (libmvec's: 0.30 on normal inputs, 3-6 at the special ones)."""
    return _raw_fn(name, (("a", t),), t, _ULOG_F32)


def _fn(name, ty, params, body_expr):
    ps = tuple(A.Param(p, ty if not isinstance(p, tuple) else p[1]) for p in params)
    return A.Function(name, ps, (A.Return(body_expr),), ret_type=ty)


def _v(name, ty):
    return A.Var(name, ty)


def _raw_fn(name, params, ret, lines):
    return A.Function(name, tuple(A.Param(n, t) for n, t in params),
                      tuple(A.Raw(x) for x in lines), ret_type=ret)


def _bf16_helper(base, name, t):
    if base == "bfload":
        return _raw_fn(name, (("h", A.bf16),), A.f32, (
            "uint32_t u = (uint32_t)h << 16;", "float f; __builtin_memcpy(&f, &u, 4);",
            "return f;"))
    if base == "bfround":
        # from double through float, as ml_dtypes converts (a double rounding it shares)
        pre = ("float x = (float)d;",) if t.name == "f64" else ()
        params = (("d", A.f64),) if t.name == "f64" else (("x", A.f32),)
        return _raw_fn(name, params, A.f32, pre + _BF16_ROUND + (
            "float y; __builtin_memcpy(&y, &r, 4);", "return y;"))
    return _raw_fn(name, (("x", A.f32),), A.bf16, _BF16_ROUND + ("return (uint16_t)(r >> 16);",))


# float16 <-> float on bit patterns (C99 only: OpenCL runs float16 on the host here), so
# that loops vectorise (gcc 12 converts _Float16 one element at a time without
# AVX512-FP16); bit for bit the F16C conversions (checked over all 2^16 halves and 2^32
# floats): round to nearest even, subnormals through a float addition of 0.5 (whose
# rounding is the half's), overflow to inf, NaNs quiet with their payload's top bits.
_HALF_LOAD = (          # uint16_t h -> float f
    "uint32_t em = h & 0x7fffu;",
    "uint32_t fu = (em << 13) + 0x38000000u;",
    "fu = (em >= 0x7c00u) ? fu + 0x38000000u : fu;",
    "fu = (em > 0x7c00u) ? (fu | 0x00400000u) : fu;",
    "float fsub = (float)(int32_t)em * 5.9604644775390625e-8f;",
    "uint32_t fs; __builtin_memcpy(&fs, &fsub, 4);",
    "fu = (em < 0x400u) ? fs : fu;",
    "fu |= (uint32_t)(h & 0x8000u) << 16;",
    "float f; __builtin_memcpy(&f, &fu, 4);")
_HALF_STORE = (         # float x -> uint16_t h
    "uint32_t u; __builtin_memcpy(&u, &x, 4);",
    "uint32_t a = u & 0x7fffffffu;",
    "float af; __builtin_memcpy(&af, &a, 4);",
    "float sub = af + 0.5f; uint32_t s; __builtin_memcpy(&s, &sub, 4); s -= 0x3f000000u;",
    "uint32_t n = a - 0x38000000u; n = (n + 0xfffu + ((n >> 13) & 1u)) >> 13;",
    "uint32_t r = (a < 0x38800000u) ? s : n;",
    "r = (a >= 0x477ff000u) ? 0x7c00u : r;",
    "r = (a > 0x7f800000u) ? (0x7e00u | ((a >> 13) & 0x3ffu)) : r;",
    "uint16_t h = (uint16_t)(((u >> 16) & 0x8000u) | r);")


def _half_helper(base, name, t):
    if base == "hload":
        return _raw_fn(name, (("h", A.u16),), A.f32, _HALF_LOAD + ("return f;",))
    if base == "hstore":
        return _raw_fn(name, (("x", A.f32),), A.u16, _HALF_STORE + ("return h;",))
    if t.name == "f64":
        # directly from double (NumPy's cast rounds once); scalar, and rare: casts and the
        # final rounding of a double accumulator
        return _raw_fn(name, (("x", A.f64),), A.f32, ("return (float)(_Float16)x;",))
    return _raw_fn(name, (("x", A.f32),), A.f32, _HALF_STORE + _HALF_LOAD + ("return f;",))


def _re(z):
    return A.Call("real", (z,), _TYPES[z.type.real])


def _im(z):
    return A.Call("imag", (z,), _TYPES[z.type.real])


def _cplx(re, im, t):
    return A.Call("complex", (re, im), t)


def _isnan(x):
    return x.ne(x)


def _complex_order(op, a, b):
    """NumPy's lexicographic complex comparison (real parts first; a NaN imaginary part
    fails an ordering decided by the real parts)."""
    ar, ai, br, bi = _re(a), _im(a), _re(b), _im(b)
    strict = {"lt": "<", "le": "<", "gt": ">", "ge": ">"}[op]
    tie = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
    by_real = A.BinOp("&&", A.BinOp(strict, ar, br),
                      A.BinOp("&&", ai.eq(ai), bi.eq(bi), A.bool_), A.bool_)
    return A.BinOp("||", by_real, A.BinOp("&&", ar.eq(br), A.BinOp(tie, ai, bi), A.bool_),
                   A.bool_)


def _cos_apart(y, r):
    """cos(y) written as cos(y + 0): the same value for every y (cos is even, so the -0
    that + 0 turns into +0 does not matter), but not the operand of a sin(y) nearby, which
    gcc would merge with it into one scalar sincos call that keeps the loop from being
    vectorised with libmvec's variants."""
    return A.Call("cos", (A.BinOp("+", y, A.Const(0, r), r),), r)


def _complex_helper(base, name, t):
    r = _TYPES[t.real]
    a, b = _v("a", t), _v("b", t)
    ar, ai, br, bi = (_v(n, r) for n in ("ar", "ai", "br", "bi"))
    parts = (A.Decl(ar, _re(a)), A.Decl(ai, _im(a)))
    bparts = (A.Decl(br, _re(b)), A.Decl(bi, _im(b)))

    def mul(x, y):
        return A.BinOp("*", x, y, r)

    def fn(params, body, ret=t):
        return A.Function(name, tuple(A.Param(p, t) for p in params), tuple(body),
                          ret_type=ret)
    if base == "cmul":
        # the schoolbook product (NumPy's); C99's `*` adds inf/NaN recovery (__mulsc3)
        return fn(("a", "b"), parts + bparts + (A.Return(_cplx(
            mul(ar, br) - mul(ai, bi), mul(ar, bi) + mul(ai, br), t)),))
    if base == "cdiv":
        # NumPy's division: Smith's scaling by the larger part of the divisor; 0 / 0 gives
        # the parts divided by zero (inf or NaN). Both branches are computed (selects
        # vectorise; -fno-trapping-math makes the unused lane's division harmless).
        abr, abi = A.Call("fabs", (br,), r), A.Call("fabs", (bi,), r)
        one = A.Const(1, r)
        rat1, scl1 = _v("rat1", r), _v("scl1", r)
        rat2, scl2 = _v("rat2", r), _v("scl2", r)
        big_re, zero = _v("big_re", A.bool_), _v("zero", A.bool_)
        first = _cplx(mul(ar + mul(ai, rat1), scl1), mul(ai - mul(ar, rat1), scl1), t)
        second = _cplx(mul(mul(ar, rat2) + ai, scl2), mul(mul(ai, rat2) - ar, scl2), t)
        by_zero = _cplx(A.BinOp("/", ar, abr, r), A.BinOp("/", ai, abr, r), t)
        return fn(("a", "b"), parts + bparts + (
            A.Decl(big_re, abr.ge(abi)),
            A.Decl(zero, A.BinOp("&&", abr.eq(A.Const(0, r)), abi.eq(A.Const(0, r)),
                                 A.bool_)),
            A.Decl(rat1, A.BinOp("/", bi, br, r)),
            A.Decl(scl1, A.BinOp("/", one, br + mul(bi, rat1), r)),
            A.Decl(rat2, A.BinOp("/", br, bi, r)),
            A.Decl(scl2, A.BinOp("/", one, bi + mul(br, rat2), r)),
            A.Return(A.Select(big_re, A.Select(zero, by_zero, first, t), second, t))))
    if base in ("clt", "cle", "cgt", "cge"):
        return fn(("a", "b"), (A.Return(_complex_order(base[1:], a, b)),), ret=A.bool_)
    if base == "cisfinite":
        return fn(("a",), (A.Return(A.BinOp("&&", A.Call("isfinite", (_re(a),), A.i32),
                                            A.Call("isfinite", (_im(a),), A.i32),
                                            A.bool_)),), ret=A.bool_)
    if base == "cexpm1":
        # NumPy's formula: e^x cos y - 1 = expm1(x) cos y - 2 sin^2(y / 2)
        s = _v("s", r)
        re = A.BinOp("-", mul(A.Call("expm1", (ar,), r), _cos_apart(ai, r)),
                     mul(mul(A.Const(2, r), s), s), r)
        im = mul(A.Call("exp", (ar,), r), A.Call("sin", (ai,), r))
        return fn(("a",), parts + (
            A.Decl(s, A.Call("sin", (mul(ai, A.Const(0.5, r)),), r)),
            A.Return(_cplx(re, im, t))))
    if base == "cexp":
        # e^x (cos y + i sin y) from the real functions, which vectorise (libmvec); C99's
        # cexpf is a scalar call per element (~3x slower in a loop). Where e^x alone would
        # overflow (x > 80 in float, 700 in double) it is applied as two halves. A zero
        # imaginary part stays exactly zero (cexp(inf + 0i) = inf + 0i), and e^x = 0 gives
        # 0 whatever cos/sin of a non-finite y are (C99 Annex G's special values).
        e, cy, sy = _v("e", r), _v("cy", r), _v("sy", r)
        big = _v("big", A.bool_)
        limit = A.Const(80.0 if r.name == "f32" else 700.0, r)
        zero = A.Const(0, r)

        def scaled(v):
            return A.Select(big, mul(mul(e, v), e), mul(e, v), r)
        # cexp(+inf + i y) for a non-finite y is inf + i NaN (C99 G.6.3.1)
        inf_re = A.BinOp("&&", e.eq(A.Const(float("inf"), r)), _isnan(cy), A.bool_)
        re = A.Select(e.eq(zero), zero, A.Select(inf_re, e, scaled(cy), r), r)
        im = A.Select(A.BinOp("||", ai.eq(zero), e.eq(zero), A.bool_),
                      A.Select(ai.eq(zero), ai, zero, r), scaled(sy), r)
        return fn(("a",), parts + (
            A.Decl(big, ar.gt(limit)),
            A.Decl(e, A.Call("exp", (A.Select(big, mul(ar, A.Const(0.5, r)), ar, r),), r)),
            A.Decl(cy, _cos_apart(ai, r)), A.Decl(sy, A.Call("sin", (ai,), r)),
            A.Return(_cplx(re, im, t))))
    if base == "clog1p":
        # log|1 + z| = log1p(x (x + 2) + y^2) / 2 keeps the digits near z = 0 that
        # log(hypot(1 + x, y)) (NumPy's formula) loses; far from 0 (where the first could
        # overflow) the second is as good.
        x1 = _v("x1", r)
        near = A.BinOp("/", A.Call("log1p", (mul(ar, ar + A.Const(2, r)) + mul(ai, ai),), r),
                       A.Const(2, r), r)
        far = A.Call("log", (A.Call("hypot", (x1, ai), r),), r)
        small = (A.Call("fabs", (ar,), r) + A.Call("fabs", (ai,), r)).lt(A.Const(1, r))
        return fn(("a",), parts + (
            A.Decl(x1, ar + A.Const(1, r)),
            A.Return(_cplx(A.Select(small, near, far, r), A.Call("atan2", (ai, x1), r), t))))
    return None


# --- float32 GEMM kernels (C99, 512-bit and 256-bit vectors) --------------------------
#
# C[M, N] = A[M, K] @ B[K, N], swept in tiles of GEMM_MR rows x GEMM_NR columns: per k a tile
# loads one row of B's panel (4 vectors) and broadcasts GEMM_MR values of A, 20 fused
# multiply-adds into accumulators that stay in registers (20 of the 32 zmm registers). A's
# element (i, k) is A[i * sa + k * sk], so A may be stored either way round. Tile rows past
# M compute row M - 1 again and are not stored. gcc's `-ffp-contract=off` (the generated
# code's default, see cdsl.compile) would split each fused multiply-add in two: the kernels
# turn contraction on for themselves.
#
# `sgemmpk_f32` reads B packed by `sgemmpack_f32` into panels of GEMM_NR columns, k major (a
# panel's k-th row is GEMM_NR contiguous floats; columns past N are zeros, computed and not
# stored). It is for a B that stays the same over many calls (an RNN's weight in its
# per-step h @ W, packed once per loop by funcgrad's lowering; OpenBLAS repacks it on every
# call, a third of those calls' time).
#
# `sgemmpk8_f32` and `sgemmpack8_f32` are the same for CPUs with 256-bit vectors (AVX2 and
# FMA: 16 ymm registers): tiles of 6 rows x 16 columns, 12 accumulators, the panel's row in
# 2 registers and one broadcast value of A. The rows left over past the last multiple of 6
# go to tiles of 4 rows (8 accumulators, still enough to keep both FMA pipes busy), so that
# at most one row is computed twice: M = 64 runs as 10 x 6 + 4, M = 32 as 4 x 6 + 2 x 4 (in
# tiles of 6 alone, 66 and 36 rows). Its k loops are unrolled twice: as single steps, gcc
# 12 tuning for Zen 3 (-march=native) folded the 4-row tiles' loads of B into their
# multiply-adds, 8 loads per k where 2 do, and those tiles ran as slowly as tiles of 6
# (the runtime library built for x86-64-v3 did not). The two kernels' panels differ in
# width: each has a packing routine of its own, named after it, and `PACKED_TILES` pairs
# them (funcgrad's lowering takes the pair of the CPU's vector width from there, and sizes
# the packed buffer by its `nr`). The runtime library holds both at every instruction-set
# level.
#
# `sgemmdk_f32` reads B in place, row k at B + k * ldb, for N a multiple of GEMM_NR; K runs
# in blocks of kc rows, so that a block of a panel (kc x GEMM_NR floats) stays in L1, or in
# L2 where B's rows are a power of two apart, while every row tile passes over it (the tiles
# add each block's products to C). Nothing is packed: it suits the GEMMs OpenBLAS spends
# most of its time packing for (few rows of A, or a short K; see funcgrad's
# `gemm.direct_gemm_fits`).
GEMM_MR, GEMM_NR = 5, 64
# `sgemmpack_f32`'s buffer starts with a header of this many floats holding the address of
# the operand packed into it: a call with the same address returns at once (its caller
# guarantees the operand has not changed meanwhile; 0 means nothing is packed).
GEMM_PACK_HEADER = 16


class PackedTile(NamedTuple):
    """A packed-panel kernel and the routines that pack B for it: `width` floats to a
    vector register (the CPUs it is for), tiles of `mr` rows (then `mr_tail` rows for the
    rows left over, 0: `mr` throughout) by `nr` columns, `nr` also the packed panels'
    width; the k loop unrolled `unroll` times (1: as gcc likes). A buffer for B[K, N] holds
    GEMM_PACK_HEADER + ceil(N / nr) * nr * K floats. `pack` fills such a buffer unless its
    header names B already (a loop's constant weight); `panels` packs the panels of B's
    columns into P with no header and no check (a GEMM that packs its B on every call,
    each thread a share of the panels)."""
    width: int
    mr: int
    nr: int
    mr_tail: int
    unroll: int
    kernel: str
    pack: str
    panels: str

    def buffer_floats(self, n: int, k: int) -> int:
        return GEMM_PACK_HEADER + -(-n // self.nr) * self.nr * k


PACKED_TILES = (PackedTile(16, GEMM_MR, GEMM_NR, 0, 1, "sgemmpk_f32", "sgemmpack_f32",
                           "sgemmpanels_f32"),
                PackedTile(8, 6, 16, 4, 2, "sgemmpk8_f32", "sgemmpack8_f32",
                           "sgemmpanels8_f32"))
# helper base name -> (tile, which of its routines: "kernel", "pack" or "panels")
_PACKED_BASES = {getattr(t, role).split("_")[0]: (t, role) for t in PACKED_TILES
                 for role in ("kernel", "pack", "panels")}


def packed_tile(width: int):
    """The `PackedTile` for vectors of `width` floats, or None."""
    return next((t for t in PACKED_TILES if t.width == width), None)


def _gemm_tile(mr, vw, nv, direct, row, k0, k1, unroll=1):
    """The lines of one tile of `mr` rows x `nv` vectors of `vw` floats at (i0, j0): its
    accumulators, its k loop and its stores."""
    nr = vw * nv
    v_t = f"fgv{vw}"
    lines = []
    for r in range(mr):
        lines.append(f"    const float* a{r} = A + ((i0 + {r} < M) ? (i0 + {r}) : (M - 1)) * sa;")
        lines.append("    " + " ".join(f"{v_t} c{r}_{v} = {{0}};" for v in range(nv)))
        if direct:
            ld = " ".join(f"c{r}_{v} = cr[{v}];" for v in range(nv))
            lines.append(f"    if (k0 > 0 && i0 + {r} < M) {{ const {v_t}* cr = "
                         f"(const {v_t}*)(C + (i0 + {r}) * ldc + j0); {ld} }}")
    if unroll > 1:
        lines.append(f"    #pragma GCC unroll {unroll}")
    lines.append(f"    for (int64_t k = {k0}; k < {k1}; ++k) {{")
    lines.append(f"      const {v_t}* bk = (const {v_t}*)(b + k * {row});")
    lines.append("      " + " ".join(f"{v_t} b{v} = bk[{v}];" for v in range(nv)))
    for r in range(mr):
        lines.append(f"      {{ float s = a{r}[k * sk]; " +
                     " ".join(f"c{r}_{v} += s * b{v};" for v in range(nv)) + " }")
    lines.append("    }")

    def store(r, indent):
        st = " ".join(f"(({v_t}*)(cr + {vw * v}))[0] = c{r}_{v};" for v in range(nv))
        return f"{indent}if (i0 + {r} < M) {{ float* cr = C + (i0 + {r}) * ldc + j0; {st} }}"
    if direct:
        return lines + [store(r, "    ") for r in range(mr)]
    lines.append(f"    if (nc == {nr}) {{")
    lines += [store(r, "      ") for r in range(mr)]
    lines.append("    } else {")
    lines.append(f"      float t[{nr}];")
    for r in range(mr):
        st = " ".join(f"(({v_t}*)(t + {vw * v}))[0] = c{r}_{v};" for v in range(nv))
        copy = f"for (int64_t j = 0; j < nc; ++j) C[(i0 + {r}) * ldc + j0 + j] = t[j];"
        lines.append(f"      if (i0 + {r} < M) {{ {st} {copy} }}")
    return lines + ["    }"]


def _gemm_kernel(name, direct: bool, tile: PackedTile = PACKED_TILES[0]):
    mr, nr, vw, tail = tile.mr, tile.nr, tile.width, tile.mr_tail
    nv = nr // vw
    lines = [f"typedef float fgv{vw} __attribute__((vector_size({4 * vw}), aligned(4)));"]
    if tail:
        # tiles of mr rows for the first m1 rows, of `tail` rows for the rest: M % mr rows
        # left over take one or two tail tiles (or one more tile of mr rows where only
        # mr - tail or fewer of its rows would be computed twice)
        lines += [f"int64_t nt = M / {mr}, rest = M % {mr};",
                  f"if (rest > {tail}) nt += 1;",
                  f"else if (rest > 0 && rest <= {mr - tail} && nt > 0) nt -= 1;",
                  f"int64_t m1 = nt * {mr};"]
    lines.append(f"for (int64_t j0 = 0; j0 < N; j0 += {nr}) {{")
    if direct:
        lines += ["  const float* b = B + j0;",
                  "  for (int64_t k0 = 0; k0 < K; k0 += kc) {",
                  "  int64_t k1 = (K - k0 < kc) ? K : (k0 + kc);"]
        row, k0, k1 = "ldb", "k0", "k1"
    else:
        lines += ["  const float* b = Bp + j0 * K;",
                  f"  int64_t nc = (N - j0 < {nr}) ? (N - j0) : {nr};"]
        row, k0, k1 = str(nr), "0", "K"
    lines.append(f"  for (int64_t i0 = 0; i0 < {'m1' if tail else 'M'}; i0 += {mr}) {{")
    lines += _gemm_tile(mr, vw, nv, direct, row, k0, k1, tile.unroll)
    lines.append("  }")
    if tail:
        lines.append(f"  for (int64_t i0 = m1; i0 < M; i0 += {tail}) {{")
        lines += _gemm_tile(tail, vw, nv, direct, row, k0, k1, tile.unroll)
        lines.append("  }")
    lines += ["  }", "}"] if direct else ["}"]
    fp = A.PtrType(A.f32)
    b_params = (("B", fp), ("ldb", A.i64)) if direct else (("Bp", fp),)
    params = ((("M", A.i64), ("N", A.i64), ("K", A.i64), ("A", fp), ("sa", A.i64),
               ("sk", A.i64)) + b_params + (("C", fp), ("ldc", A.i64)) +
              ((("kc", A.i64),) if direct else ()))
    f = _raw_fn(name, params, A.void, lines)
    return A.Function(f.name, f.params, f.body, f.ret_type,
                      attributes='__attribute__((optimize("fp-contract=fast")))')


def _panel_lines(nr, dst):
    """The lines packing B[K, N] (element (k, j) at B[k * sbk + j * sbn]) into panels of
    `nr` columns at `dst` (the panel of column j0 at dst + j0 * K, its row k the nr floats
    at + k * nr; columns past N zeros). A B stored [K, N] (sbn == 1) is copied row by row.
    Otherwise the panel is filled in blocks of 8 k by its columns, so that the block's
    rows of the panel stay in L1 while each column gives 8 floats; a transposed B (sbk ==
    1: its columns contiguous) is transposed there in 8 x 8 blocks in registers (tpose8's
    shuffles), its last columns and last k (fewer than 8) element by element. Packing 784
    columns by 512 k of a transposed B took 275-550 us column by column (every k a cache
    line of the panel apart), 124 us in blocks of 8 k and 75-80 us with the register
    transposes, against 37 us for B stored [K, N] (AMD Zen 4, one thread)."""
    lines = [f"for (int64_t j0 = 0; j0 < N; j0 += {nr}) {{",
             f"  float* p = {dst} + j0 * K;",
             f"  int64_t nc = (N - j0 < {nr}) ? (N - j0) : {nr};",
             "  if (sbn == 1) {",
             "    for (int64_t k = 0; k < K; ++k) {",
             "      const float* src = B + k * sbk + j0;",
             f"      for (int64_t j = 0; j < nc; ++j) p[k * {nr} + j] = src[j];",
             f"      for (int64_t j = nc; j < {nr}; ++j) p[k * {nr} + j] = 0.0f;",
             "    }",
             "    continue;",
             "  }",
             "  int64_t k8 = K - K % 8, j8 = nc - nc % 8;",
             "  for (int64_t k0 = 0; k0 < K; k0 += 8) {",
             "    int64_t kn = (K - k0 < 8) ? (K - k0) : 8;",
             "    int64_t jn = (sbk == 1 && k0 < k8) ? j8 : 0;",
             "    for (int64_t j = 0; j < jn; j += 8) {",
             f"      const float* s = B + (j0 + j) * sbn + k0; float* d = p + k0 * {nr} + j;",
             f"      const int64_t rs = sbn, ds = {nr};"]
    lines += ["      " + x for x in _tpose8_lines("float")[2:]]
    lines += ["    }",
              "    for (int64_t j = jn; j < nc; ++j) {",
              "      const float* src = B + (j0 + j) * sbn + k0 * sbk;",
              f"      for (int64_t k = 0; k < kn; ++k) p[(k0 + k) * {nr} + j] = src[k * sbk];",
              "    }",
              f"    for (int64_t k = 0; k < kn; ++k) for (int64_t j = nc; j < {nr}; ++j) "
              f"p[(k0 + k) * {nr} + j] = 0.0f;",
              "  }",
              "}"]
    return _tpose8_lines("float")[:2] + lines


def _gemm_pack(name, nr=GEMM_NR, header=True):
    fp = A.PtrType(A.f32)
    params = (("N", A.i64), ("K", A.i64), ("B", fp), ("sbk", A.i64), ("sbn", A.i64),
              ("Bp" if header else "P", fp))
    if not header:
        return _raw_fn(name, params, A.void, _panel_lines(nr, "P"))
    lines = (["if (*(intptr_t*)Bp == (intptr_t)B) return;"]
             + _panel_lines(nr, f"(Bp + {GEMM_PACK_HEADER})")
             + ["*(intptr_t*)Bp = (intptr_t)B;"])
    return _raw_fn(name, params, A.void, lines)


def _tpose8(name, t):
    """tpose8_f32(s, rs, d, ds) (and _i32): the 8 x 8 block of 32-bit values whose row r
    is s[r * rs .. r * rs + 7] written transposed, its column k to d[k * ds .. k * ds + 7],
    in registers: eight unaligned vector loads, three rounds of shuffles (24), eight vector
    stores. The lanes lowerings (codegen) fill a tile of rows (element j of row l at
    j * 16 + l) with it; gcc builds that tile from scalar loads and inserts otherwise
    (argmax over (96000, 10) float32 at one thread, AMD Zen 3: 0.37 -> 0.20 ms). GCC's
    vector extensions: the C backend's own code, never `export.to_c`'s plain C99."""
    ct = "float" if t.name == "f32" else "int32_t"
    ptr = A.PtrType(t, restrict=False)
    return _raw_fn(name, (("s", ptr), ("rs", A.i64), ("d", ptr), ("ds", A.i64)), A.void,
                   _tpose8_lines(ct))


def _tpose8_lines(ct):
    """tpose8's lines (its vector types, the block's loads, shuffles and stores) over s,
    rs, d and ds; also the 8 x 8 blocks of a transposed B's panels (`_panel_lines`)."""
    rows = " ".join(f"fgt8 r{r} = *(const fgt8*)(s + {r} * rs);" for r in range(8))
    lines = [f"typedef {ct} fgt8 __attribute__((vector_size(32), aligned(4)));",
             "typedef int32_t fgm8 __attribute__((vector_size(32)));",
             rows,
             "const fgm8 p1 = {0, 8, 1, 9, 4, 12, 5, 13}, q1 = {2, 10, 3, 11, 6, 14, 7, 15};",
             "const fgm8 p2 = {0, 1, 8, 9, 4, 5, 12, 13}, q2 = {2, 3, 10, 11, 6, 7, 14, 15};",
             "const fgm8 p3 = {0, 1, 2, 3, 8, 9, 10, 11}, q3 = {4, 5, 6, 7, 12, 13, 14, 15};"]
    for a in range(4):
        lines.append(f"fgt8 t{2 * a} = __builtin_shuffle(r{2 * a}, r{2 * a + 1}, p1), "
                     f"t{2 * a + 1} = __builtin_shuffle(r{2 * a}, r{2 * a + 1}, q1);")
    for b, (x, y) in enumerate(((0, 2), (1, 3), (4, 6), (5, 7))):
        lines.append(f"fgt8 u{2 * b} = __builtin_shuffle(t{x}, t{y}, p2), "
                     f"u{2 * b + 1} = __builtin_shuffle(t{x}, t{y}, q2);")
    # u0..u3: columns (0|4), (1|5), (2|6), (3|7) of rows 0-3; u4..u7 the same of rows 4-7
    for k in range(4):
        lines.append(f"*(fgt8*)(d + {k} * ds) = __builtin_shuffle(u{k}, u{k + 4}, p3); "
                     f"*(fgt8*)(d + {k + 4} * ds) = __builtin_shuffle(u{k}, u{k + 4}, q3);")
    return lines


def _make(name: str, arg_type: str):
    parts = name.split("_")
    base = parts[0]
    if base not in _BASES or len(parts) < 2 or parts[1] not in _TYPES:
        return None
    if base == "sgemmdk":
        return _gemm_kernel(name, direct=True)
    if base in _PACKED_BASES:
        tile, role = _PACKED_BASES[base]
        if role == "kernel":
            return _gemm_kernel(name, False, tile)
        return _gemm_pack(name, tile.nr, header=role == "pack")
    if base == "tpose8":
        return _tpose8(name, _TYPES[parts[1]]) if parts[1] in ("f32", "i32") else None
    if base == "uexp":
        return _uexp(name, _TYPES[parts[1]]) if parts[1] in ("f32", "f64") else None
    if base == "ulog":
        return _ulog(name, _TYPES[parts[1]]) if parts[1] == "f32" else None
    if base == "utanh":
        return _utanh(name, _TYPES[parts[1]]) if parts[1] == "f32" else None
    if base == "uabs":
        return _raw_fn(name, (("a", A.c64),), A.f32, _UABS_C64) if parts[1] == "c64" \
            else None
    if base == "bsel":
        return _bsel(name, _TYPES[parts[1]]) if parts[1] in ("f32", "f64") else None
    if base in ("bfload", "bfround", "bfstore"):
        return _bf16_helper(base, name, _TYPES[parts[1]])
    if base in ("hround", "hload", "hstore"):
        return _half_helper(base, name, _TYPES[parts[1]])
    if _TYPES[parts[1]].is_complex:
        t = _TYPES[parts[1]]
        if base in ("max", "min"):
            # NumPy's maximum/minimum: lexicographic, a NaN in either part of `a` wins
            a, b = _v("a", t), _v("b", t)
            nan_a = A.BinOp("||", _isnan(_re(a)), _isnan(_im(a)), A.bool_)
            cond = A.BinOp("||", _complex_order("ge" if base == "max" else "le", a, b), nan_a,
                           A.bool_)
            return _fn(name, t, ("a", "b"), A.Select(cond, a, b, t))
        if base == "sign":
            # z / |z| (NumPy 2, JAX); 0 stays 0
            a = _v("a", t)
            r = _TYPES[t.real]
            m = _v("m", r)
            body = (A.Decl(m, A.Call("fabs", (a,), r)),
                    A.Return(A.Select(m.eq(A.Const(0, r)), a, _cplx(
                        A.BinOp("/", _re(a), m, r), A.BinOp("/", _im(a), m, r), t), t)))
            return A.Function(name, (A.Param("a", t),), body, ret_type=t)
        return _complex_helper(base, name, t)
    if base == "clamp":
        t = A.i64
        x, lo, hi = _v("x", t), _v("lo", t), _v("hi", t)
        return _fn(name, t, ("x", "lo", "hi"),
                   A.Select(x.lt(lo), lo, A.Select(x.gt(hi), hi, x, t), t))
    if base == "f2i":
        dst, src = _TYPES[parts[1]], _TYPES[parts[2]]
        info = np.iinfo({"i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64,
                         "u8": np.uint8, "u16": np.uint16, "u32": np.uint32,
                         "u64": np.uint64}[dst.name])
        x = _v("x", src)
        lo, hi = A.Const(float(info.min), src), A.Const(float(info.max), src)
        body = A.Select(x.ne(x), A.Const(0, dst),
                        A.Select(x.le(lo), A.Const(int(info.min), dst),
                                 A.Select(x.ge(hi), A.Const(int(info.max), dst),
                                          A.Cast(dst, x), dst), dst), dst)
        return A.Function(name, (A.Param("x", src),), (A.Return(body),), ret_type=dst)
    t = _TYPES[parts[1]]
    a, b = _v("a", t), _v("b", t)
    zero = A.Const(0, t)
    if base in ("max", "min"):
        better = a.gt(b) if base == "max" else a.lt(b)
        if not t.is_float:
            return _fn(name, t, ("a", "b"), A.Select(better, a, b, t))
        # JAX's (IEEE 754-2019 maximum/minimum): a NaN operand wins, and -0 < +0, whatever
        # the operands' order: of two equal values `a` is taken where max's `b` has its sign
        # bit set (max(-0, b) is b only when b is +0) or min's `a` has it. Commutative and
        # associative, so any order of combination (OpenCL's trees) gives the same bits.
        # gcc folds the tie away for a constant +0 `b` (ReLU's maximum(x, 0)); of two
        # arrays it vectorises, at 2.5x the plain select's time in L1 (0.034 -> 0.085 ns
        # an element, float32, AMD EPYC), which memory-bound sizes and the benchmarks'
        # workloads do not show (64x28x28x32 float32: 252 us, 250 before).
        tie = A.BinOp("&&", a.eq(b), sign_set(b if base == "max" else a, t), A.bool_)
        cond = A.BinOp("||", A.BinOp("||", better, a.ne(a), A.bool_), tie, A.bool_)
        return _fn(name, t, ("a", "b"), A.Select(cond, a, b, t))
    if base == "idiv":
        # x / 0 == 0 (NumPy's value); INT_MIN / -1 wraps to INT_MIN. C's ternary is lazy, so
        # the division never runs on those operands.
        body = A.Select(b.eq(zero), zero, A.BinOp("/", a, b, t), t)
        if t.is_signed:
            tmin = A.Const(-(1 << (t.bits - 1)), t)
            body = A.Select(A.BinOp("&&", b.eq(A.Const(-1, t)), a.eq(tmin), A.bool_), tmin,
                            body, t)
        return _fn(name, t, ("a", "b"), body)
    if base == "irem":
        # x % 0 == 0 and x % -1 == 0 (INT_MIN % -1 would trap).
        bad = b.eq(zero)
        if t.is_signed:
            bad = A.BinOp("||", bad, b.eq(A.Const(-1, t)), A.bool_)
        return _fn(name, t, ("a", "b"), A.Select(bad, zero, A.BinOp("%", a, b, t), t))
    if base in ("shl", "shr"):
        op = "<<" if base == "shl" else ">>"
        bad = b.ge(A.Const(t.bits, t))
        if t.is_signed:
            bad = A.BinOp("||", b.lt(zero), bad, A.bool_)
        return _fn(name, t, ("a", "b"), A.Select(bad, zero, A.BinOp(op, a, b, t), t))
    if base == "iabs":
        return _fn(name, t, ("a",), A.Select(a.lt(zero), A.UnOp("-", a, t), a, t))
    if base == "sign":
        one = A.Const(1, t)
        if t.is_float:
            body = A.Select(a.gt(zero), one, A.Select(a.lt(zero), A.Const(-1, t), a, t), t)
        elif t.is_signed:
            body = A.Select(a.gt(zero), one, A.Select(a.lt(zero), A.Const(-1, t), zero, t), t)
        else:
            body = A.Select(a.gt(zero), one, zero, t)
        return _fn(name, t, ("a",), body)
    if base == "logistic":
        e = A.Call("exp", (A.UnOp("-", A.Call("fabs", (a,), t), t),), t)
        ev = _v("e", t)
        one = A.Const(1, t)
        # (the numerator chosen before one division: as two quotients under a select, the
        # vectorised loop divided twice; gelu's gradient over 1M float32 at one thread,
        # 1.80 -> 1.68 ms, JAX 1.0-1.3)
        body = (A.Decl(ev, e),
                A.Return(A.BinOp("/", A.Select(a.ge(zero), one, ev, t),
                                 A.BinOp("+", one, ev, t), t)))
        return A.Function(name, (A.Param("a", t),), body, ret_type=t)
    return None


def sign_set(x, t):
    """Whether float `x` (of cdsl type `t`) has its sign bit set, as `copysign(1, x) < 0`:
    gcc 12 crashes (internal compiler error in eliminate_stmt, tree-ssa-sccvn.cc) on some
    functions where `signbit` meets a value it can fold the sign of (a max reduction of
    fabs results, fuzz seed 20261999); copysign vectorises to the same mask operations."""
    return A.Call("copysign", (A.Const(1.0, t), x), t).lt(A.Const(0, t))


def pow_c99(a, b, t, bind):
    """The expression pow(a, b) of type `t` with C99 Annex F's special cases (the JAX/XLA
    and NumPy array semantics) decided by selects, so a vectorised libm variant (glibc's
    libmvec returns NaN for pow(-inf, 0.5)) or a device libm cannot change them:
    pow(x, +-0) = 1 and pow(1, y) = 1 even for NaN; NaN otherwise propagates;
    |x| == 1 with y = +-inf gives 1; |x| < 1 (> 1) with y = -inf gives inf (0), y = +inf the
    reverse; x = +-0 or +-inf: odd integer y keeps the sign (y < 0: 1/x), any other y gives
    |x| (y < 0: 1/|x|); finite x < 0 with a finite non-integer y is NaN.

    `bind(expr)` names a value (a local variable) and returns it: the libm call is bound
    before the selects so that a vectorising compiler calls its SIMD variant
    unconditionally; a call inside a select would keep the loop scalar."""
    one, zero = A.Const(1, t), A.Const(0, t)
    inf, nan = A.Const(float("inf"), t), A.Const(float("nan"), t)

    def sel(c, x, y):
        return A.Select(c, x, y, t)

    def or_(x, y):
        return A.BinOp("||", x, y, A.bool_)

    def and_(x, y):
        return A.BinOp("&&", x, y, A.bool_)

    def recip(x):
        return A.BinOp("/", one, x, t)

    r = bind(A.Call("pow", (a, b), t))
    ax = bind(A.Call("fabs", (a,), t))
    yint = A.Call("floor", (b,), t).eq(b)
    # y is odd when y / 2 is not an integer (y * 0.5 is exact; inf / 2 counts as an integer,
    # NaN fails yint). floor vectorises; fmod would keep the loop scalar.
    half = A.BinOp("*", b, A.Const(0.5, t), t)
    yodd = and_(yint, A.Call("floor", (half,), t).ne(half))
    neg_y = b.lt(zero)
    edge = sel(yodd, sel(neg_y, recip(a), a), sel(neg_y, recip(ax), ax))
    inf_y = sel(ax.eq(one), one, sel(A.BinOp("==", ax.lt(one), neg_y, A.bool_), inf, zero))
    return sel(or_(b.eq(zero), a.eq(one)), one,
               sel(or_(a.ne(a), b.ne(b)), A.BinOp("+", a, b, t),
                   sel(or_(b.eq(inf), b.eq(A.Const(float("-inf"), t))), inf_y,
                       sel(or_(ax.eq(zero), ax.eq(inf)), edge,
                           sel(and_(a.lt(zero), A.UnOp("!", yint, A.bool_)), nan, r)))))


def build(calls, dialect) -> list:
    """Helper Functions for the (name, arg type) pairs in `calls` that name helpers, each
    after the helpers it calls (logistic calls uexp)."""
    out, seen = [], set()

    def add(fn, tname):
        fn = dialect.helper_calls.get((fn, tname), fn)
        if fn in seen:
            return
        h = _make(fn, tname)
        if h is None:
            return
        seen.add(fn)
        for dep in sorted(A.calls(h.body)):
            add(*dep)
        out.append(h)
    for fn, tname in sorted(calls):
        add(fn, tname)
    return out
