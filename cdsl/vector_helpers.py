"""AVX-512 variants of the float32 exp and tanh helpers, called from vectorised loops.

gcc vectorises a loop that calls a `static inline` helper (cdsl.helpers' uexp_f32,
utanh_f32) by inlining it and widening every statement. What it cannot do from C is use
AVX-512's `vscalefps`, p * 2^n in one instruction with overflow, underflow and
subnormal results rounded once: uexp_f32 builds 2^n from bits in two halves, so that a
subnormal result rounds once, nine integer and float instructions; utanh_f32 builds e^2|x|
with three. A vectorised loop of these on AMD Zen 4 runs at about the rate its vector
instructions can issue (512-bit ones take two of the four 256-bit pipes), so those
instructions cost a third of an exp's time.

So each helper `h` here has a companion `hv` that the C99 dialect's call sites name
(`Dialect.vector_helpers`):
- where the compiler is GCC with OpenMP and the target has AVX-512F and VL, `hv` is
  declared `omp declare simd` for 16, 8 and 4 lanes and `const`. A vectorised loop calls
  `_ZGVeN16v_hv`, `_ZGVeN8v_hv` or `_ZGVeN4v_hv` (the names of OpenMP's x86-64 vector ABI
  for AVX-512), defined here with GCC's vector types and builtins (no <immintrin.h>,
  whose parsing cost 0.18 s a module); with only 16 lanes a loop whose other types make
  gcc take 8 or 4 floats a step would stay scalar. A loop left scalar calls `hv`, the
  helper itself. All are `static` (the symbols are the module's own; `used` keeps
  what gcc sees no caller of, `asm` gives the scalar one the declared name);
- anywhere else `#define hv h`: the helper, inlined as before.

Each vector variant takes the scalar helper's operations (its FMA path) in the same order
and gives the same bits on every input (tests/test_cdsl.py compares them over a sweep;
scripts/check_float32_helpers.py over all 2^32 floats), so a value never depends on
whether its loop was vectorised. A call costs its spills (every vector register is the
caller's to save): a loop of exps alone over 2^15 floats in cache took 0.20 ns an element
against 0.32 inlined (AMD Zen 4), but the elementwise `tanh(x) * z + exp(-x * x) * 0.5`
0.69 against 0.79 only when its two inputs lie at different offsets modulo 4 KiB, and
0.84 against 0.86 when they and the output lie at the same offset, as NumPy's large
arrays do (the same loop written all in intrinsics: 0.64 either way)."""
from __future__ import annotations

from typing import NamedTuple

from . import helpers

_GUARD = ("#if defined(__GNUC__) && !defined(__clang__) && defined(_OPENMP) && "
          "defined(__AVX512F__) && defined(__AVX512VL__)")

# helper -> the name call sites use
CALL_NAMES = {"uexp_f32": "uexpv_f32", "utanh_f32": "utanhv_f32"}


class _Width(NamedTuple):
    """One vector width: its GCC vector types and the builtins (those <immintrin.h>'s
    intrinsics expand to; written out, the header's ~0.2 s of parsing stays out of every
    module's compile) for the instructions plain operators do not give."""
    lanes: int
    min: str
    max: str
    rint: str          # vrndscaleps in the current rounding mode (rintf)
    scalef: str
    fma: str
    ge: str            # a mask: a >= b, ordered and quiet (_CMP_GE_OQ = 29)
    blend: str         # where mask: b, else a

    @property
    def v(self):
        return f"fgv{self.lanes}sf"

    @property
    def i(self):
        return f"fgv{self.lanes}si"


_WIDTHS = (
    _Width(16, "__builtin_ia32_minps512_mask({a}, {b}, {a}, (uint16_t)-1, 4)",
           "__builtin_ia32_maxps512_mask({a}, {b}, {a}, (uint16_t)-1, 4)",
           "__builtin_ia32_rndscaleps_mask({a}, 4, {a}, (uint16_t)-1, 4)",
           "__builtin_ia32_scalefps512_mask({a}, {b}, {a}, (uint16_t)-1, 4)",
           "__builtin_ia32_vfmaddps512_mask({a}, {b}, {c}, (uint16_t)-1, 4)",
           "__builtin_ia32_cmpps512_mask({a}, {b}, 29, (uint16_t)-1, 4)",
           "__builtin_ia32_blendmps_512_mask({a}, {b}, {m})"),
    _Width(8, "__builtin_ia32_minps256({a}, {b})", "__builtin_ia32_maxps256({a}, {b})",
           "__builtin_ia32_rndscaleps_256_mask({a}, 4, {a}, (uint8_t)-1)",
           "__builtin_ia32_scalefps256_mask({a}, {b}, {a}, (uint8_t)-1)",
           "__builtin_ia32_vfmaddps256({a}, {b}, {c})",
           "__builtin_ia32_cmpps256_mask({a}, {b}, 29, (uint8_t)-1)",
           "__builtin_ia32_blendmps_256_mask({a}, {b}, {m})"),
    _Width(4, "__builtin_ia32_minps({a}, {b})", "__builtin_ia32_maxps({a}, {b})",
           "__builtin_ia32_rndscaleps_128_mask({a}, 4, {a}, (uint8_t)-1)",
           "__builtin_ia32_scalefps128_mask({a}, {b}, {a}, (uint8_t)-1)",
           "__builtin_ia32_vfmaddps({a}, {b}, {c})",
           "__builtin_ia32_cmpps128_mask({a}, {b}, 29, (uint8_t)-1)",
           "__builtin_ia32_blendmps_128_mask({a}, {b}, {m})"))


def _c(w: _Width, x) -> str:
    """A vector of the float constant x (not -0.0: the zero vector plus x)."""
    return f"(({w.v}){{}} + {x if isinstance(x, str) else f'{float(x)!r}f'})"


def _exp_body(w: _Width) -> list:
    """Statements giving e^x as p * 2^n (p, n declared) from the clamped `x`, as
    helpers._exp_reduced_lines(True, "x") does."""
    c2, c3, c4, c5, c6 = (_c(w, c) for c in helpers.EXP_POLY_F32)
    v = w.v
    return [f"{v} xl = x * {helpers.INV_LN2};",
            f"{v} n = {w.rint.format(a='xl')};",
            f"{v} r = {w.fma.format(a='n', b=_c(w, '-' + helpers.LN2_HI), c='x')};",
            f"r = {w.fma.format(a='n', b=_c(w, helpers.NEG_LN2_LO), c='r')};",
            f"{v} q = {w.fma.format(a=c6, b='r', c=c5)};",
            f"q = {w.fma.format(a='q', b='r', c=c4)};",
            f"q = {w.fma.format(a='q', b='r', c=c3)};",
            f"q = {w.fma.format(a='q', b='r', c=c2)};",
            f"{v} p = 1.0f + {w.fma.format(a='q', b='r * r', c='r')};"]


def _uexp(w: _Width) -> list:
    # x in [-150, 88.8]: below -104 e^x rounds to 0 as uexp_f32's select gives it, above
    # 88.8 to inf; vmaxps/vminps return their second operand where either is NaN, so a
    # NaN stays NaN
    hi = w.min.format(a=_c(w, 88.8), b=w.max.format(a=_c(w, -150.0), b="a"))
    return ([f"{w.v} x = {hi};"] + _exp_body(w)
            + [f"return {w.scalef.format(a='p', b='n')};"])


def _utanh(w: _Width) -> list:
    c = [_c(w, x) for x in helpers.TANH_POLY_F32]
    v, i = w.v, w.i
    lines = [f"{v} ax = ({v})(({i})a & 0x7fffffff), s = a * a;",
             # (x < 9.5) ? x : 9.5, a NaN giving 9.5, as utanh_f32's
             f"{v} x = 2.0f * {w.min.format(a='ax', b=_c(w, 9.5))};"]
    lines += _exp_body(w)
    lines += [f"{v} e = {w.scalef.format(a=_c(w, 1.0), b='n')};",
              f"{v} u = {w.fma.format(a=c[-1], b='s', c=c[-2])};"]
    lines += [f"u = {w.fma.format(a='u', b='s', c=k)};" for k in reversed(c[:-2])]
    ge = w.ge.format(a="ax", b=_c(w, helpers.TANH_SMALL))
    lines += [f"{v} small = {w.fma.format(a='u * s', b='ax', c='ax')};",
              f"{v} big = 1.0f - 2.0f / {w.fma.format(a='p', b='e', c=_c(w, 1.0))};",
              f"{v} t = {w.blend.format(a='small', b='big', m=ge)};",
              f"return ({v})((({i})a & (int32_t)0x80000000) | (({i})t & 0x7fffffff));"]
    return lines


_BODIES = {"uexp_f32": _uexp, "utanh_f32": _utanh}


def companion(helper: str) -> tuple:
    """The C lines after `helper`'s definition that define CALL_NAMES[helper]."""
    name, body = CALL_NAMES[helper], _BODIES[helper]
    lines = [_GUARD]
    for w in _WIDTHS:              # (a typedef repeated alike is valid C11)
        lines.append(f"typedef float {w.v} __attribute__((vector_size({4 * w.lanes})));")
        lines.append(f"typedef int32_t {w.i} __attribute__((vector_size({4 * w.lanes})));")
    lines += ["#pragma omp declare simd notinbranch simdlen(16)",
             "#pragma omp declare simd notinbranch simdlen(8)",
             "#pragma omp declare simd notinbranch simdlen(4)",
             f"__attribute__((const, nothrow)) float {name}(float);",
             f'static float {name}_scalar(float) __asm__("{name}");',
             f"static __attribute__((used)) float {name}_scalar(float a) "
             f"{{ return {helper}(a); }}"]
    for w in _WIDTHS:
        lines.append(f"static __attribute__((used)) {w.v} _ZGVeN{w.lanes}v_{name}({w.v} a) {{")
        lines.extend("    " + x for x in body(w))
        lines.append("}")
    lines += ["#else", f"#define {name} {helper}", "#endif"]
    return tuple(lines)
