"""AVX-512 variants of the float32 exp and tanh helpers, called from vectorised loops.

gcc vectorises a loop that calls a `static inline` helper (cdsl.helpers' uexp_f32,
utanh_f32) by inlining it and widening every statement. What it cannot do from C is use
AVX-512's `vscalefps`, p * 2^n in one instruction with overflow, underflow and
subnormal results rounded once: uexp_f32 builds 2^n from bits in two halves, so that a
subnormal result rounds once, nine integer and float instructions; utanh_f32 builds e^2|x|
with three. On AMD Zen 4 a vectorised loop is bound by its count of vector instructions
(each 512-bit one takes two of the four 256-bit pipes), so those instructions are a third
of an exp's time.

So each helper `h` here has a companion `hv` that the C99 dialect's call sites name
(`Dialect.vector_helpers`):
- where the compiler is GCC with OpenMP and the target has AVX-512F and VL, `hv` is
  declared `omp declare simd` for 16, 8 and 4 lanes and `const`: a vectorised loop calls
  `_ZGVeN16v_hv`, `_ZGVeN8v_hv` or `_ZGVeN4v_hv` (the names of OpenMP's x86-64 vector ABI
  for AVX-512; a loop whose other types make gcc take 8 or 4 floats a step would otherwise
  stay scalar),
  defined here with intrinsics, and a loop left scalar calls `hv`, the helper itself. All
  are `static` (their symbols are the module's own; `used` keeps what gcc sees no caller
  of, `asm` gives the scalar one the declared name);
- anywhere else `#define hv h`: the helper, inlined as before.

Each vector variant takes the scalar helper's operations (its FMA path) in the same order
and gives the same bits on every input (tests/test_cdsl.py compares them over a sweep;
scripts/check_float32_helpers.py over all 2^32 floats), so a value never depends on
whether its loop was vectorised. A call costs what its spills cost: the constants live in
the callee, and an elementwise `tanh(x) * z + exp(-x * x) * 0.5` over 2^15 floats in cache
took 0.69 ns an element against 0.79-0.85 inlined (AMD Zen 4); a loop of exps alone 0.20
against 0.32."""
from __future__ import annotations

from . import helpers

_GUARD = ("#if defined(__GNUC__) && !defined(__clang__) && defined(_OPENMP) && "
          "defined(__AVX512F__) && defined(__AVX512VL__)")

# helper -> the name call sites use
CALL_NAMES = {"uexp_f32": "uexpv_f32", "utanh_f32": "utanhv_f32"}


def _f(x) -> str:
    return f"{float(x)!r}f"


def _exp_body(p: str, v: str) -> list:
    """Statements giving e^x as p * 2^n (p, n declared) from the clamped `x`, as
    helpers._exp_reduced_lines(True, "x") does."""
    c2, c3, c4, c5, c6 = (f"{p}_set1_ps({_f(c)})" for c in helpers.EXP_POLY_F32)
    return [f"{v} n = {p}_roundscale_ps({p}_mul_ps(x, {p}_set1_ps({helpers.INV_LN2})), 4);",
            f"{v} r = {p}_fmadd_ps(n, {p}_set1_ps(-{helpers.LN2_HI}), x);",
            f"r = {p}_fmadd_ps(n, {p}_set1_ps({helpers.NEG_LN2_LO}), r);",
            f"{v} q = {p}_fmadd_ps({c6}, r, {c5});",
            f"q = {p}_fmadd_ps(q, r, {c4});",
            f"q = {p}_fmadd_ps(q, r, {c3});",
            f"q = {p}_fmadd_ps(q, r, {c2});",
            f"{v} p = {p}_add_ps({p}_set1_ps(1.0f), {p}_fmadd_ps(q, {p}_mul_ps(r, r), r));"]


def _uexp(p: str, v: str) -> list:
    # x in [-150, 88.8]: below -104 e^x rounds to 0 as uexp_f32's select gives it, above
    # 88.8 to inf; vmaxps/vminps return their second operand where either is NaN, so a
    # NaN stays NaN
    return ([f"{v} x = {p}_min_ps({p}_set1_ps(88.8f), {p}_max_ps({p}_set1_ps(-150.0f), a));"]
            + _exp_body(p, v) + [f"return {p}_scalef_ps(p, n);"])


def _utanh(p: str, v: str) -> list:
    c = [f"{p}_set1_ps({_f(x)})" for x in helpers.TANH_POLY_F32]
    lines = [f"const {v} sign = {p}_set1_ps(-0.0f), one = {p}_set1_ps(1.0f);",
             f"{v} ax = {p}_andnot_ps(sign, a), s = {p}_mul_ps(a, a);",
             # (x < 9.5) ? x : 9.5, a NaN giving 9.5, as utanh_f32's
             f"{v} x = {p}_mul_ps({p}_set1_ps(2.0f), {p}_min_ps(ax, {p}_set1_ps(9.5f)));"]
    lines += _exp_body(p, v)
    lines += [f"{v} e = {p}_scalef_ps(one, n);",
              f"{v} u = {p}_fmadd_ps({c[-1]}, s, {c[-2]});"]
    lines += [f"u = {p}_fmadd_ps(u, s, {k});" for k in reversed(c[:-2])]
    lines += [f"{v} small = {p}_fmadd_ps({p}_mul_ps(u, s), ax, ax);",
              f"{v} big = {p}_sub_ps(one, {p}_div_ps({p}_set1_ps(2.0f), "
              f"{p}_fmadd_ps(p, e, one)));",
              f"{v} t = {p}_mask_blend_ps({p}_cmp_ps_mask(ax, "
              f"{p}_set1_ps({helpers.TANH_SMALL}f), _CMP_GE_OQ), small, big);",
              f"return {p}_or_ps({p}_and_ps(sign, a), {p}_andnot_ps(sign, t));"]
    return lines


_BODIES = {"uexp_f32": _uexp, "utanh_f32": _utanh}


def companion(helper: str) -> tuple:
    """The C lines after `helper`'s definition that define CALL_NAMES[helper]."""
    name, body = CALL_NAMES[helper], _BODIES[helper]
    lines = [_GUARD, "#include <immintrin.h>",
             "#pragma omp declare simd notinbranch simdlen(16)",
             "#pragma omp declare simd notinbranch simdlen(8)",
             "#pragma omp declare simd notinbranch simdlen(4)",
             f"__attribute__((const, nothrow)) float {name}(float);",
             f'static float {name}_scalar(float) __asm__("{name}");',
             f"static __attribute__((used)) float {name}_scalar(float a) "
             f"{{ return {helper}(a); }}"]
    for lanes, p, v in ((16, "_mm512", "__m512"), (8, "_mm256", "__m256"), (4, "_mm", "__m128")):
        lines.append(f"static __attribute__((used)) {v} _ZGVeN{lanes}v_{name}({v} a) {{")
        lines.extend("    " + x for x in body(p, v))
        lines.append("}")
    lines += ["#else", f"#define {name} {helper}", "#endif"]
    return tuple(lines)
