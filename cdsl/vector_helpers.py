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

from . import ast as A
from . import helpers

GUARD = ("#if defined(__GNUC__) && !defined(__clang__) && defined(_OPENMP) && "
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
    lines = [GUARD]
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


# --- loops written in vectors --------------------------------------------------------------
#
# gcc vectorises a loop calling the variants above through their SIMD declarations, but the
# calls cost their spills: every vector register is the caller's to save, and gcc keeps the
# loop's live values on the stack around each call. A loop whose body is a few float32
# operations around such calls (an activation, the elementwise benchmark's
# `tanh(x) * z + exp(-x * x) * 0.5`) is therefore written here in vectors of LANES floats
# that call the 16-lane variants directly, which gcc inlines (`vector_body`): 0.65 against
# 0.79 ns an element over 1e7 floats on one AMD Zen 4 core, the same bits. The renderer
# puts that loop under GUARD beside the scalar one, which every other compiler takes.

LANES = 16
VECTOR = A.VecType(A.f32, LANES)
# False: every loop as gcc vectorises it (a setting for comparisons)
VECTOR_LOOPS = True


class _Scalar(Exception):
    """The body has something the vector form does not write: the loop stays as it is."""


def vector_symbol(name: str, lanes: int = LANES) -> str:
    """The symbol of the `lanes`-lane variant of the call-site name `name` (`uexpv_f32`)."""
    return f"_ZGVeN{lanes}v_{name}"


def _mentions(x, name: str) -> bool:
    return _names_any(x, (name,))


def _names_any(x, names) -> bool:
    """Whether the expression `x` names a variable or parameter in `names`."""
    return any(isinstance(n, (A.Var, A.Param)) and n.name in names for n in A.walk(x))


def _unit_stride(index, var: str) -> bool:
    """True where `index` is `var` or `var` plus (or plus by) an expression free of `var`:
    LANES iterations read LANES consecutive elements; False where `index` is free of
    `var`; otherwise the loop stays scalar."""
    if not _mentions(index, var):
        return False
    if isinstance(index, A.Var) and index.name == var:
        return True
    if isinstance(index, A.BinOp) and index.op == "+":
        for a, b in ((index.a, index.b), (index.b, index.a)):
            if isinstance(a, A.Var) and a.name == var and not _mentions(b, var):
                return True
    raise _Scalar


def _is_f32(t) -> bool:
    return isinstance(t, A.CType) and t.name == "f32"


def _vector(x, var, env, calls, seen):
    """(expression, whether it is a vector): `x` over LANES iterations, the loop-invariant
    parts kept scalar (gcc broadcasts a scalar operand of a vector operation)."""
    if isinstance(x, A.Const):
        if not _is_f32(x.type):
            raise _Scalar
        return x, False
    if isinstance(x, (A.Var, A.Param)):
        if x.name in env:
            return env[x.name], True
        if x.name == var or not _is_f32(x.type):
            raise _Scalar
        return x, False
    if isinstance(x, A.Load):
        if not _is_f32(x.type):
            raise _Scalar
        if _names_any(x.index, env):
            raise _Scalar
        if _unit_stride(x.index, var):
            return A.VecLoad(x.ptr, x.index, VECTOR), True
        return x, False
    if not _is_f32(x.type):
        raise _Scalar
    if isinstance(x, A.BinOp) and x.op in ("+", "-", "*", "/"):
        (a, av), (b, bv) = (_vector(y, var, env, calls, seen) for y in (x.a, x.b))
        if not (_is_f32(x.a.type) and _is_f32(x.b.type)):
            raise _Scalar
        return (A.BinOp(x.op, a, b, VECTOR), True) if av or bv else (x, False)
    if isinstance(x, A.UnOp) and x.op == "-":
        a, av = _vector(x.a, var, env, calls, seen)
        return (A.UnOp("-", a, VECTOR), True) if av else (x, False)
    if isinstance(x, A.Call) and x.fn in calls and len(x.args) == 1 and \
            _is_f32(x.args[0].type):
        a, av = _vector(x.args[0], var, env, calls, seen)
        if not av:
            return x, False
        seen.append(x.fn)
        return A.Call(vector_symbol(calls[x.fn]), (a,), VECTOR), True
    raise _Scalar


def _statements(body, var, env, calls, seen) -> list:
    out = []
    for st in body:
        if isinstance(st, A.Comment):
            out.append(st)
        elif isinstance(st, A.Block):
            out.append(A.Block(tuple(_statements(st.body, var, dict(env), calls, seen))))
        elif isinstance(st, A.Decl):
            if st.init is None or not _is_f32(st.var.type) or st.var.name == var:
                raise _Scalar
            e, v = _vector(st.init, var, env, calls, seen)
            if v:
                env[st.var.name] = A.Var(st.var.name, VECTOR)
                out.append(A.Decl(env[st.var.name], e))
            else:
                env.pop(st.var.name, None)
                out.append(st)
        elif isinstance(st, (A.Store, A.Assign)):
            if isinstance(st, A.Assign):
                if not isinstance(st.target, A.Load):
                    raise _Scalar
                ptr, index, value = st.target.ptr, st.target.index, st.value
            else:
                ptr, index, value = st.ptr, st.index, st.value
            pt = ptr.type
            if not (isinstance(pt, A.PtrType) and _is_f32(pt.elem) and _is_f32(value.type)):
                raise _Scalar
            if _names_any(index, env):
                raise _Scalar
            if not _unit_stride(index, var):
                raise _Scalar          # (a store to one element at every iteration)
            e, v = _vector(value, var, env, calls, seen)
            if not v:
                raise _Scalar
            out.append(A.VecStore(ptr, index, e))
        else:
            raise _Scalar
    return out


def vector_body(loop: A.For, calls: dict) -> tuple | None:
    """The body of the loop `loop` over LANES iterations from its variable's value on, in
    vectors of LANES floats, or None where it is not written so. `calls` maps the generic
    names of the functions with variants (`exp`) to their call-site names (`uexpv_f32`).
    Written so: a body of float32 declarations and stores at unit stride in the loop's
    variable, of float32 `+ - * /`, negation, loads at unit stride (or loop-invariant),
    loop-invariant values and calls of those functions, at least one such call (without
    one gcc vectorises the loop as well itself). Every operation is the scalar body's, in
    its order and type, so that each lane gets the scalar loop's bits."""
    if not VECTOR_LOOPS or loop.step != 1 or loop.reduction is not None:
        return None
    seen: list = []
    try:
        body = _statements(loop.body, loop.var.name, {}, calls, seen)
    except _Scalar:
        return None
    return tuple(body) if seen else None
