"""One renderer for the C AST; the dialect (C99 or OpenCL C) is data.

`render(node, dialect)` prints a whole translation unit for a Module or Function (preamble,
the helper functions it calls, then its functions), or a single statement or expression.
Everything that differs between C99 and OpenCL C is a field of `Dialect`; the printer
consults fields and never tests which dialect it has. Helpers (NaN-propagating max/min,
integer division defined for zero, ...) are AST built by `cdsl.helpers`, so both dialects
print the same logic. Output is deterministic: golden files diff it.
"""
from __future__ import annotations

import math
import platform
import re
from dataclasses import dataclass, field

import numpy as np

from . import ast as A
from . import helpers, vector_helpers

UNARY_MATH = ("exp", "log", "sin", "cos", "tan", "tanh", "log1p", "expm1", "asin", "acos",
              "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "erf", "erfc", "exp2", "log2",
              "log10", "cbrt", "sqrt", "floor", "ceil", "rint", "round", "fabs", "trunc",
              "lgamma", "tgamma")
BINARY_MATH = ("pow", "atan2", "fmod", "hypot", "fmax", "fmin", "copysign", "nextafter")

# glibc's libmvec (2.35+) has SIMD variants of these for float and double; declaring them
# `omp declare simd` lets gcc call them from vectorised loops without -ffast-math.
LIBMVEC_MATH = ("exp", "log", "sin", "cos", "tan", "tanh", "pow", "log1p", "expm1", "asin",
                "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "atan2", "erf",
                "erfc", "exp2", "log2", "log10", "cbrt", "hypot")

_PRECISE = {"f32": np.float32, "f16": np.float16}

# Functions whose Dialect.helper_calls helper is not used inside a reduction loop (see
# _Printer.fn_name)
_LIBRARY_IN_REDUCTIONS = frozenset({"exp"})

# Generic names of the C99 <complex.h> functions: a Call of one of these with a complex
# first argument renders as the complex function (exp -> cexpf / cexp). fabs is the
# magnitude (cabs, a real result), arg the phase angle.
COMPLEX_MATH = {"exp": "cexp", "log": "clog", "sqrt": "csqrt", "sin": "csin", "cos": "ccos",
                "tan": "ctan", "sinh": "csinh", "cosh": "ccosh", "tanh": "ctanh",
                "asin": "casin", "acos": "cacos", "atan": "catan", "asinh": "casinh",
                "acosh": "cacosh", "atanh": "catanh", "pow": "cpow", "fabs": "cabs",
                "arg": "carg", "real": "creal", "imag": "cimag", "conj": "conj"}
# Lines a translation unit needs when it uses a complex type. <complex.h> defines the
# macros `complex` and `I`, which generated names must stay free to use.
_COMPLEX_PREAMBLE = ("#include <complex.h>", "#undef complex", "#undef I")


@dataclass(frozen=True)
class Dialect:
    """Everything that differs between the C-family languages cdsl prints.

    parallel_loop: "openmp" (a `#pragma omp parallel for` loop) or "work_item" (the loop
    variable is `parallel_index`, guarded by `if (i < stop)`). parallel_work: with OpenMP,
    the least work (statements executed, `loop_work`) a parallel loop must hold to fork
    threads; smaller loops run on one thread, decided when rendering for constant trip
    counts and by the `if(...)` clause at run time otherwise. math_suffix: per scalar type,
    the suffix of typed libm names (C: expf); math_names: explicit (fn, type) overrides.
    type_pragmas: a line, or lines, added when a type is used (OpenCL fp64, <complex.h>).
    simd_math: functions declared `omp declare simd` when called with a type in
    simd_math_types."""
    name: str
    type_names: dict = field(hash=False)
    kernel_qualifier: str = ""
    global_qualifier: str = ""
    local_qualifier: str = ""
    function_qualifier: str = "static inline"
    restrict_keyword: str = "restrict"
    math_suffix: dict = field(default_factory=dict, hash=False)
    math_names: dict = field(default_factory=dict, hash=False)
    # (fn, type) -> the cdsl.helpers helper every such call renders as (C99: exp and log,
    # whose vector libm is slow where exp underflows and at log's zeros and subnormals)
    helper_calls: dict = field(default_factory=dict, hash=False)
    # helper -> the name its calls render as, defined after it by
    # cdsl.vector_helpers.companion (an AVX-512 variant for vectorised loops)
    vector_helpers: dict = field(default_factory=dict, hash=False)
    parallel_loop: str = "openmp"
    parallel_index: str = ""
    parallel_work: int = 0
    preamble: tuple = ()
    type_pragmas: dict = field(default_factory=dict, hash=False)
    simd_math: tuple = ()
    simd_math_types: dict = field(default_factory=dict, hash=False)
    blas_include: str = ""
    blas_marker: str = ""      # text in code that calls BLAS (Module.uses_blas None)
    include_format: str = '#include "{}"'
    int_suffix: dict = field(default_factory=dict, hash=False)
    float_literal: dict = field(default_factory=dict, hash=False)
    special_float: dict = field(default_factory=dict, hash=False)
    # signed type -> (its unsigned type, the conversion back): +, -, * and unary - of these
    # types are rendered through the unsigned type, where overflow wraps (signed overflow
    # is undefined in C and OpenCL C, and gcc and PoCL's clang folded on it: sign(-x) of
    # INT_MIN gave 1, `x + 1 < x` false). Only int32: 64-bit arithmetic is mostly index
    # arithmetic, which never overflows and which the compilers must keep free to
    # vectorise (int64 values that overflow stay undefined).
    wrap_signed: dict = field(default_factory=dict, hash=False)
    # A SIMD vector type (`ast.VecType`): its name and the typedef that declares it (both
    # formatted with name, elem, size and align); "" where the dialect has none.
    vector_name: str = ""
    vector_typedef: str = ""
    # (element type, vector bits) -> a fused multiply-add of three such vectors a * b + c,
    # one rounding per lane (`Call("fma", (a, b, c))` of a VecType), formatted with a, b, c
    vector_fma: dict = field(default_factory=dict, hash=False)
    # With OpenMP: the name of a C function `int name(void)` giving the thread count of
    # every parallel loop (a `num_threads(name())` clause), also rendered for
    # `omp_get_max_threads()` (the count a GEMM splits its work into), and declared in the
    # preamble; "" for OpenMP's own default, the calling thread's team size (its ICV,
    # which omp_set_num_threads sets and every library sharing libgomp reads)
    team_size: str = ""
    # With `team_size`: the function sizing the loops marked `For.big_team` instead
    # (declared beside it); "": those loops take `team_size` too
    team_size_big: str = ""
    # With OpenMP: the name of a C function `void name(void)` that every thread of a
    # parallel loop's team calls as the region starts (the runtime library's `spread`,
    # which moves a worker the kernel woke onto the forking thread's CPU to another); the
    # loop then renders as `#pragma omp parallel` around `#pragma omp for ... nowait`,
    # its bounds computed before the fork. "": one combined `parallel for`.
    region_start: str = ""
    # With `region_start`: the name of a C function `void name(int *done)` that every
    # thread calls after its share of the loop, with a counter the region shares (0 at the
    # fork): the runtime library's `finish`, where the forking thread waits for its
    # workers instead of in libgomp's barrier, which sleeps; "": none
    region_end: str = ""
    # The vector width (bits) of a loop that sums or multiplies floats (`For.reduction`,
    # `simd`), given as its `simdlen`, so that the order in which it adds does not depend
    # on the width the C compiler prefers on this CPU (0: the compiler's choice)
    reduction_simd_bits: int = 0
    # With `region_start`: render each parallel region's loop body as a call to a function
    # of its own (`static inline`, always inlined) that takes the pointers it uses as
    # parameters, restrict-qualified as declared. gcc passes a region's variables to the
    # outlined thread function in a struct, which drops `restrict`: a short row loop that
    # gcc unrolled completely (a softmax's division over rows of 10, 16 masked lanes) was
    # then left scalar, a load after every store, 1.0 ms over (96000, 10) against 0.2
    # with the qualifiers back; an inlined function's restrict parameters keep them.
    outline_regions: bool = False


C99 = Dialect(
    name="c99",
    type_names={"f16": "_Float16", "f32": "float", "f64": "double", "i8": "int8_t",
                "i16": "int16_t", "i32": "int32_t", "i64": "int64_t", "u8": "uint8_t",
                "u16": "uint16_t", "u32": "uint32_t", "u64": "uint64_t", "bool": "uint8_t",
                "void": "void", "c64": "float _Complex", "c128": "double _Complex",
                "bf16": "uint16_t"},
    function_qualifier="static inline",
    math_suffix={"f32": "f"},
    helper_calls={("exp", "f32"): "uexp_f32", ("exp", "f64"): "uexp_f64",
                  ("log", "f32"): "ulog_f32", ("tanh", "f32"): "utanh_f32",
                  ("fabs", "c64"): "uabs_c64"},
    vector_helpers=vector_helpers.CALL_NAMES,
    parallel_loop="openmp",
    # Waking a sleeping OpenMP team and joining it costs ~5-30 us; below ~64k statements
    # (~10-30 us of vectorised work) a second thread does not pay for it.
    parallel_work=1 << 16,
    preamble=("#include <math.h>", "#include <stdint.h>", "#include <stddef.h>",
              "#include <omp.h>"),
    simd_math=LIBMVEC_MATH,
    simd_math_types={"f32": "float", "f64": "double"},
    type_pragmas={"c64": _COMPLEX_PREAMBLE, "c128": _COMPLEX_PREAMBLE},
    blas_include='#include "cblas.h"',
    blas_marker="cblas_",
    int_suffix={"i64": "LL", "u64": "ULL", "u32": "u"},
    # (uint32_t -> int32_t keeps the bits: implementation-defined in C99, defined by gcc)
    wrap_signed={"i32": ("uint32_t", "(int32_t)")},
    float_literal={"f32": "{}f", "f64": "{}", "f16": "((_Float16){}f)"},
    special_float={"f32": "{}", "f16": "((_Float16){})", "f64": "((double){})"},
    # GCC's vector extension; aligned to one element, so that a vector moves to or from
    # any element of an array (unaligned loads and stores)
    # gcc's -march=native prefers 256-bit vectors on the Intel AVX-512 CPUs it knows, which
    # is how the prebuilt eager kernels are built; gcc 12.2 on AMD Zen 4 (taken for a Zen 3
    # with AVX-512) has no preference and vectorised a float64 sum with 512-bit registers,
    # 1 ulp from the eager kernel's. Other loops keep the wider vectors (the elementwise
    # benchmark on Zen 4: 8.9-11.6 ms with them, 11.5-19 ms with -mprefer-vector-width=256).
    reduction_simd_bits=256 if platform.machine().lower() in ("x86_64", "amd64") else 0,
    vector_name="fgv_{name}",
    vector_typedef="typedef {elem} {vname} __attribute__((vector_size({size}), "
                   "aligned({align})));",
    # x86's FMA instructions through gcc's builtins (those of <immintrin.h>'s
    # _mm*_fmadd_ps/pd, without parsing the header): always fused, where contracting
    # `a * b + c` is left to gcc's heuristics (its Zen tuning keeps 256-bit
    # multiply-add chains unfused); the 512-bit ones take a full mask and the current
    # rounding mode (4)
    vector_fma={
        ("f32", 128): "__builtin_ia32_vfmaddps({a}, {b}, {c})",
        ("f32", 256): "__builtin_ia32_vfmaddps256({a}, {b}, {c})",
        ("f32", 512): "__builtin_ia32_vfmaddps512_mask({a}, {b}, {c}, (uint16_t)-1, 4)",
        ("f64", 128): "__builtin_ia32_vfmaddpd({a}, {b}, {c})",
        ("f64", 256): "__builtin_ia32_vfmaddpd256({a}, {b}, {c})",
        ("f64", 512): "__builtin_ia32_vfmaddpd512_mask({a}, {b}, {c}, (uint8_t)-1, 4)"},
)

OPENCL = Dialect(
    name="opencl",
    type_names={"f16": "half", "f32": "float", "f64": "double", "i8": "char", "i16": "short",
                "i32": "int", "i64": "long", "u8": "uchar", "u16": "ushort", "u32": "uint",
                "u64": "ulong", "bool": "uchar", "void": "void"},
    kernel_qualifier="__kernel",
    global_qualifier="__global",
    local_qualifier="__local",
    function_qualifier="inline",
    parallel_loop="work_item",
    parallel_index="get_global_id(0)",
    type_pragmas={"f64": "#pragma OPENCL EXTENSION cl_khr_fp64 : enable",
                  "f16": "#pragma OPENCL EXTENSION cl_khr_fp16 : enable"},
    int_suffix={"i64": "L", "u64": "UL", "u32": "u"},
    wrap_signed={"i32": ("uint", "as_int")},
    float_literal={"f32": "{}f", "f64": "{}", "f16": "((half){}f)"},
    special_float={"f32": "{}", "f16": "((half){})", "f64": "((double){})"},
)


def _int_literal(v: int, ty: A.CType, d: Dialect) -> str:
    suffix = d.int_suffix.get(ty.name, "")
    if ty.is_signed and v == -(1 << (ty.bits - 1)) and ty.bits >= 32:
        return f"(-{-v - 1}{suffix} - 1)"
    if ty.name == "i64" and -(1 << 31) <= v < (1 << 31):
        return str(v)
    return f"{v}{suffix}"


def _float_text(v: float, ty: A.CType) -> str:
    # Shortest text that round-trips in the literal's own precision.
    ftype = _PRECISE.get(ty.name)
    r = str(ftype(v)) if ftype is not None else repr(float(v))
    if "e" not in r and "." not in r:
        r += ".0"
    return r


class _Printer:
    def __init__(self, dialect: Dialect, renames=None):
        self.d = dialect
        self.lines: list[str] = []
        self.parallel_depth = 0
        self.reduction_depth = 0
        # {name: rendered type} of the variables in scope, innermost last (`outline`)
        self.scopes: list[dict] = [{}]
        # the functions made of parallel regions' bodies (`outline`), rendered before the
        # function that calls them
        self.outlined: list[str] = []
        self.function_name = ""
        self.renames = renames or {}
        # Inside a region of `region_loop` with a `team_size`: the variable holding the
        # forking thread's team size, which `omp_get_max_threads()` renders as there
        self.region_team = ""
        # The preprocessor condition the lines being rendered sit under (`vector_helpers.
        # GUARD` inside a loop written in vectors), or "": a function outlined from them
        # is defined under the same condition, since what it calls may exist only there
        self.condition = ""

    def t(self, ty) -> str:
        if isinstance(ty, A.PtrType):
            q = []
            space = {"global": self.d.global_qualifier,
                     "local": self.d.local_qualifier}.get(ty.space, "")
            if space:
                q.append(space)
            if ty.const:
                q.append("const")
            q.append(self.t(ty.elem) + "*")
            if ty.restrict and self.d.restrict_keyword:
                q.append(self.d.restrict_keyword)
            return " ".join(q)
        if isinstance(ty, A.VecType):
            if not self.d.vector_name:
                raise TypeError(f"dialect {self.d.name} has no vector types ({ty.name})")
            return self.d.vector_name.format(name=ty.name)
        return self.d.type_names[ty.name]

    # -- expressions ------------------------------------------------------------------

    def e(self, x: A.Expr, top: bool = False) -> str:
        s = self._e(x)
        if top and s.startswith("(") and _balanced_outer(s):
            return s[1:-1]
        return s

    def _e(self, x: A.Expr) -> str:
        if isinstance(x, (A.Var, A.Param)):
            return x.name
        if isinstance(x, A.Const):
            return self.const(x.value, x.type)
        if isinstance(x, A.BinOp):
            wrap = self._wrap(x, (x.a, x.b), ("+", "-", "*"))
            if wrap is not None:
                u, cast = wrap
                return f"{cast}(({u}){self.e(x.a)} {x.op} ({u}){self.e(x.b)})"
            return f"({self.e(x.a)} {x.op} {self.e(x.b)})"
        if isinstance(x, A.UnOp):
            wrap = self._wrap(x, (x.a,), ("-",))
            if wrap is not None:
                u, cast = wrap
                return f"{cast}(-({u}){self.e(x.a)})"
            inner = self.e(x.a)
            if inner[:1] in ("-", "+"):      # `-` of a negative literal: not `--1.5f`
                inner = f"({inner})"
            return f"({x.op}{inner})"
        if isinstance(x, A.Cast):
            return f"(({self.t(x.type)}){self.e(x.a)})"
        if isinstance(x, A.Select):
            return f"({self.e(x.cond)} ? {self.e(x.a)} : {self.e(x.b)})"
        if isinstance(x, A.Load):
            return f"{self.e(x.ptr)}[{self.e(x.index, top=True)}]"
        if isinstance(x, A.VecLoad):
            return f"(*(const {self.t(x.type)}*)({self.e(x.ptr)} + {self.e(x.index)}))"
        if isinstance(x, A.VecSplat):
            if isinstance(x.a, A.Const) and x.a.value == 0 and not (
                    x.a.type.is_float and math.copysign(1.0, x.a.value) < 0):
                return f"(({self.t(x.type)}){{0}})"
            if not isinstance(x.a, (A.Var, A.Param, A.Const)):
                raise TypeError("VecSplat of an expression: declare it in a variable first")
            lanes = ", ".join([self.e(x.a)] * x.type.lanes)
            return f"(({self.t(x.type)}){{{lanes}}})"
        if isinstance(x, A.Call):
            if isinstance(x.type, A.VecType):
                return self.vector_call(x)
            if self.region_team and x.fn == "omp_get_max_threads" and self.d.team_size:
                return self.region_team
            args = ", ".join(self.e(a, top=True) for a in x.args)
            return f"{self.fn_name(x)}({args})"
        if isinstance(x, A.ParallelIndex):
            if not self.d.parallel_index:
                raise ValueError(f"dialect {self.d.name} has no work-item index")
            return f"(({self.t(x.type)}){self.d.parallel_index})"
        raise TypeError(f"cannot render {type(x).__name__}")

    def vector_call(self, x: A.Call) -> str:
        vt = x.type
        if x.fn.startswith("_ZGV") and len(x.args) == 1:    # (vector_helpers.vector_symbol)
            return f"{x.fn}({self.e(x.args[0], top=True)})"
        form = self.d.vector_fma.get((vt.elem.name, vt.lanes * vt.elem.bits)) \
            if x.fn == "fma" and len(x.args) == 3 else None
        if form is None:
            raise TypeError(f"dialect {self.d.name} has no {x.fn} of {vt.name} vectors")
        a, b, c = (self.e(v, top=True) for v in x.args)
        return form.format(a=a, b=b, c=c)

    def _wrap(self, x, operands, ops):
        """(unsigned type, reinterpret function) when `x` is signed arithmetic this dialect
        wraps (`Dialect.wrap_signed`), else None."""
        if x.op not in ops or not self.d.wrap_signed:
            return None
        name = getattr(x.type, "name", "")
        spec = self.d.wrap_signed.get(name)
        if spec is None or any(getattr(o.type, "name", "") != name for o in operands):
            return None
        return spec

    def fn_name(self, call: A.Call) -> str:
        if call.fn in self.renames:
            return self.renames[call.fn]
        if call.fn == "omp_get_max_threads" and self.d.team_size:
            return self.d.team_size
        if call.fn == A.BIG_TEAM_SIZE:
            return self.d.team_size_big or self.d.team_size or "omp_get_max_threads"
        arg_t = call.args[0].type if call.args else call.type
        tname = getattr(arg_t, "name", "")
        # (inside a reduction loop exp stays the library's: there the helper cost a third of
        # a row's time, log_softmax's sum of exps 2.8 -> 3.9 ms on AMD Zen 4; log's helper
        # stays, an entropy's sum of p * log(p) meets the zeros it is there for)
        helper = self.d.helper_calls.get((call.fn, tname))
        if self.reduction_depth and call.fn in _LIBRARY_IN_REDUCTIONS:
            helper = None
        override = helper or self.d.math_names.get((call.fn, tname))
        if override is not None:
            return self.d.vector_helpers.get(override, override)
        if getattr(arg_t, "is_complex", False) and call.fn in COMPLEX_MATH:
            return COMPLEX_MATH[call.fn] + self.d.math_suffix.get(arg_t.real, "")
        if call.fn == "complex":
            # a complex value from its two parts; exact even for inf/NaN parts, unlike
            # re + im * I
            return "__builtin_complex"
        if call.fn in UNARY_MATH or call.fn in BINARY_MATH:
            return call.fn + self.d.math_suffix.get(tname, "")
        return call.fn

    def const(self, v, ty: A.CType) -> str:
        if ty.is_complex:
            v = complex(v)
            part = A.SCALAR_TYPES[ty.real]
            return (f"__builtin_complex({self.const(v.real, part)}, "
                    f"{self.const(v.imag, part)})")
        if ty.is_float:
            v = float(v)
            if math.isnan(v):
                return self.d.special_float[ty.name].format("NAN")
            if math.isinf(v):
                s = "INFINITY" if v > 0 else "(-INFINITY)"
                return self.d.special_float[ty.name].format(s)
            return self.d.float_literal[ty.name].format(_float_text(v, ty))
        if ty.name == "bool":
            return "1" if v else "0"
        return _int_literal(int(v), ty, self.d)

    # -- statements -------------------------------------------------------------------

    def body(self, stmts, ind: int):
        self.scopes.append({})
        for b in stmts:
            self.s(b, ind)
        self.scopes.pop()

    def s(self, st, ind: int):
        pad = "    " * ind
        out = self.lines
        if isinstance(st, A.Decl):
            init = f" = {self.e(st.init, top=True)}" if st.init is not None else ""
            out.append(f"{pad}{self.t(st.var.type)} {st.var.name}{init};")
            self.scopes[-1][st.var.name] = self.t(st.var.type)
        elif isinstance(st, A.Assign):
            out.append(f"{pad}{self.e(st.target)} = {self.e(st.value, top=True)};")
        elif isinstance(st, A.AugAssign):
            out.append(f"{pad}{self.e(st.target)} {st.op}= {self.e(st.value, top=True)};")
        elif isinstance(st, A.Store):
            out.append(f"{pad}{self.e(st.ptr)}[{self.e(st.index, top=True)}] = "
                       f"{self.e(st.value, top=True)};")
        elif isinstance(st, A.VecStore):
            out.append(f"{pad}*({self.t(st.value.type)}*)({self.e(st.ptr)} + "
                       f"{self.e(st.index)}) = {self.e(st.value, top=True)};")
        elif isinstance(st, A.ExprStmt):
            out.append(f"{pad}{self.e(st.expr, top=True)};")
        elif isinstance(st, A.Comment):
            out.append(f"{pad}/* {st.text.replace('*/', '* /')} */")
        elif isinstance(st, A.Raw):
            out.append(f"{pad}{st.text}")
            self.scopes[-1].update(_raw_declarations(st.text, self.d))
        elif isinstance(st, A.Return):
            val = "" if st.value is None else " " + self.e(st.value, top=True)
            out.append(f"{pad}return{val};")
        elif isinstance(st, A.Block):
            self.braced("", st.body, ind)
        elif isinstance(st, A.If):
            out.append(f"{pad}if ({self.e(st.cond, top=True)}) {{")
            self.body(st.then, ind + 1)
            if st.else_:
                out.append(f"{pad}}} else {{")
                self.body(st.else_, ind + 1)
            out.append(f"{pad}}}")
        elif isinstance(st, A.For):
            self.for_(st, ind)
        elif isinstance(st, A.While):
            self.braced(f"while ({self.e(st.cond, top=True)}) ", st.body, ind)
        elif isinstance(st, A.Break):
            out.append(f"{pad}break;")
        else:
            raise TypeError(f"cannot render {type(st).__name__}")

    def braced(self, head: str, body, ind: int):
        """`head{`, the statements of `body` one level in, `}`."""
        pad = "    " * ind
        self.lines.append(f"{pad}{head}{{")
        self.body(body, ind + 1)
        self.lines.append(f"{pad}}}")

    def for_(self, st: A.For, ind: int):
        outermost_parallel = st.parallel and self.parallel_depth == 0
        if outermost_parallel and self.d.parallel_loop == "work_item":
            return self.work_item_loop(st, ind)
        pad = "    " * ind
        red = ""
        if st.reduction is not None:
            pairs = st.reduction if isinstance(st.reduction[0], tuple) else (st.reduction,)
            red = "".join(f" reduction({op}:{acc.name})" for op, acc in pairs)
            if st.simd and self.d.reduction_simd_bits and any(
                    op in ("+", "*") and (acc.type.is_float or acc.type.is_complex)
                    for op, acc in pairs):
                red += f" simdlen({_simdlen(st, self.d.reduction_simd_bits)})"
        if self.d.parallel_loop == "openmp":
            trip = _static_trip(st)
            min_trip = st.parallel_min
            # (only an outermost parallel loop can fork: a nested loop's work is not needed,
            # and computing it at every level would walk deep nests quadratically)
            inner = loop_work(st.body) if self.d.parallel_work and outermost_parallel \
                else None
            if inner:
                # the whole nest must hold parallel_work, not just the outer loop
                min_trip = max(min_trip, -(-self.d.parallel_work // inner))
            go_parallel = outermost_parallel and (trip is None or trip >= min_trip)
            if go_parallel:
                simd = " simd" if st.simd else ""
                if st.schedule:
                    simd += f" schedule({st.schedule})"
                def guard():
                    if trip is not None:
                        return ""
                    span = st.stop if _is_zero(st.start) else st.stop - st.start
                    return f" if({self.e(span)} >= {min_trip})"
                team = f" num_threads({self.team_fn(st)}())" if self.d.team_size else ""
                if self.d.region_start:
                    return self.region_loop(st, ind, f"{simd}{red}", guard)
                self.lines.append(f"{pad}#pragma omp parallel for{simd}{red}{guard()}{team}")
            elif st.simd:
                body = self.vector_loop(st)
                if body is not None:
                    return self.serial_vector_loop(st, body, ind)
                self.lines.append(f"{pad}#pragma omp simd{red}")
        self.loop(st, ind, *self.bounds(st))

    def vector_loop(self, st: A.For):
        """`vector_helpers.vector_body` of the loop `st` where this dialect calls the
        helpers' vector variants and `st` is a simd loop outside any reduction, else None."""
        if not (self.d.vector_helpers and st.simd and self.d.parallel_loop == "openmp"
                and self.reduction_depth == 0 and st.reduction is None):
            return None
        trip = _static_trip(st)
        if trip is not None and trip < vector_helpers.LANES:
            return None                # (a short row: gcc's masked or narrower vectors)
        calls = {fn: self.d.vector_helpers[h] for (fn, t), h in self.d.helper_calls.items()
                 if t == "f32" and h in self.d.vector_helpers}
        return vector_helpers.vector_body(st, calls)

    def serial_vector_loop(self, st: A.For, body: tuple, ind: int):
        """The loop `st` (not parallel) in steps of vector_helpers.LANES iterations, `body`
        (its vector form), then the iterations left over, under vector_helpers.GUARD;
        elsewhere as it is."""
        pad, inner, lanes = "    " * ind, "    " * (ind + 1), vector_helpers.LANES
        v, vt = st.var.name, self.t(st.var.type)
        start, stop = self.bounds(st)
        self.lines.append(f"{pad}{{")
        self.lines.append(f"{inner}const {vt} {v}__lo = {start}, {v}__hi = {stop};")
        self.scopes.append({f"{v}__lo": f"const {vt}", f"{v}__hi": f"const {vt}"})
        self.lines.append(vector_helpers.GUARD)
        self.lines.append(f"{inner}const {vt} {v}__vn = {v}__lo + ({v}__hi - {v}__lo) / "
                          f"{lanes} * {lanes};")
        self.loop(A.For(st.var, st.start, st.stop, body, step=lanes), ind + 1, f"{v}__lo",
                  f"{v}__vn")
        self.lines.append(f"{inner}#pragma omp simd")
        self.loop(st, ind + 1, f"{v}__vn", f"{v}__hi")
        self.lines.append("#else")
        self.lines.append(f"{inner}#pragma omp simd")
        self.loop(st, ind + 1, f"{v}__lo", f"{v}__hi")
        self.lines.append("#endif")
        self.scopes.pop()
        self.lines.append(f"{pad}}}")

    def bounds(self, st: A.For) -> tuple[str, str]:
        """A loop's start and stop, rendered (a conditional stop keeps its parentheses:
        `<` binds more tightly than `?:`)."""
        return (self.e(st.start, top=True),
                self.e(st.stop, top=not isinstance(st.stop, A.Select)))

    def loop(self, st: A.For, ind: int, start: str, stop: str, outline: bool = False):
        """`for (v = start; v < stop; ...) { body }` at indentation `ind`."""
        pad, v, vt = "    " * ind, st.var.name, self.t(st.var.type)
        step = f"++{v}" if st.step == 1 else f"{v} += {st.step}"
        self.lines.append(f"{pad}for ({vt} {v} = {start}; {v} < {stop}; {step}) {{")
        self.parallel_depth += int(st.parallel)
        self.reduction_depth += int(st.reduction is not None)
        self.scopes.append({v: vt})
        call = self.outline(st) if outline else None
        if call is not None:
            self.lines.append(f"{pad}    {call}")
        else:
            self.body(st.body, ind + 1)
        self.scopes.pop()
        self.reduction_depth -= int(st.reduction is not None)
        self.parallel_depth -= int(st.parallel)
        self.lines.append(f"{pad}}}")

    def outline(self, st: A.For) -> str | None:
        """The body of the parallel loop `st` rendered as a function of its own
        (`Dialect.outline_regions`), added to `outlined`; returns the call that replaces
        it, or None (the body is then rendered in place) where a call could not do what
        the body does: it assigns a variable declared outside it or takes its address,
        leaves the loop (`break` at its level, `return`), or has raw text naming an outer
        variable. The function's parameters are the outer variables the body names, with
        their declared types (pointers restrict where declared so)."""
        saved, self.lines = self.lines, []
        self.body(st.body, 2)
        lines, self.lines = self.lines, saved
        words = set(_WORD.findall("\n".join(lines)))
        free: dict[str, str] = {}
        for scope in self.scopes:
            free.update(scope)
        free = {name: ty for name, ty in free.items() if name in words}
        if self.region_team and self.region_team in words:
            free[self.region_team] = "const int"
        if not free or not _callable_body(st.body, set(free)):
            return None
        name = f"{self.function_name}__body{len(self.outlined)}"
        params = ", ".join(f"{ty} {n}" for n, ty in sorted(free.items()))
        text = ([f"static inline __attribute__((always_inline)) void {name}({params}) {{",
                 "    {"] + lines + ["    }", "}"])
        if self.condition:
            text = [self.condition] + text + ["#endif"]
        self.outlined.append("\n".join(text + [""]))
        return f"{name}({', '.join(sorted(free))});"

    def team_fn(self, st: A.For) -> str:
        """The dialect's function sizing the team of the parallel loop `st`."""
        return self.d.team_size_big if st.big_team and self.d.team_size_big \
            else self.d.team_size

    def region_loop(self, st: A.For, ind: int, for_clauses: str, guard):
        """An outermost parallel loop as a parallel region whose threads first call the
        dialect's `region_start`, then share the loop (`omp for`); `guard()` renders its
        `if` clause. The bounds and, with a `team_size`, the team size are computed once,
        before the fork, and the region's `omp_get_max_threads()` (the count a GEMM splits
        its work into) is that value: the team-size function is per thread, and a
        worker's own answer is libgomp's default, not the forking thread's team. A GEMM
        split over `omp_get_max_threads()` parts in which the workers computed their
        shares from another count than the forking thread left rows unwritten or wrote
        past the output: NaNs from a matmul after `torch.set_num_threads(3)` (which sets
        libgomp's default) with a team of two, a crash with `FUNCGRAD_NUM_THREADS=2` on
        one CPU."""
        pad, inner = "    " * ind, "    " * (ind + 1)
        v, vt = st.var.name, self.t(st.var.type)
        self.lines.append(f"{pad}{{")
        team = ""
        if self.d.team_size:
            self.lines.append(f"{inner}const int {v}__team = {self.team_fn(st)}();")
            team = f" num_threads({v}__team)"
        outer, self.region_team = self.region_team, f"{v}__team" if team else ""
        start, stop = self.bounds(st)
        self.lines.append(f"{inner}const {vt} {v}__lo = {start}, {v}__hi = {stop};")
        if self.d.region_end:
            self.lines.append(f"{inner}int {v}__done = 0;")
        self.scopes.append({f"{v}__lo": f"const {vt}", f"{v}__hi": f"const {vt}"})
        self.lines.append(f"{inner}#pragma omp parallel{guard()}{team}")
        self.lines.append(f"{inner}{{")
        self.lines.append(f"{inner}    {self.d.region_start}();")
        outline = self.d.outline_regions and st.reduction is None
        body = self.vector_loop(st)
        if body is not None:
            # the loop in blocks of vector_helpers.LANES iterations, its vector form; the
            # iterations left over on one thread (`single nowait`: the region's end waits)
            lanes, ivt = vector_helpers.LANES, st.var.type
            b = A.Var(f"{v}__b", ivt)
            lo = A.Var(f"{v}__lo", ivt)
            first = A.Decl(A.Var(v, ivt), A.BinOp("+", lo, A.BinOp("*", b, A.Const(lanes, ivt))))
            sched = f" schedule({st.schedule})" if st.schedule else ""
            self.lines.append(vector_helpers.GUARD)
            saved_condition, self.condition = self.condition, vector_helpers.GUARD
            self.lines.append(f"{inner}    #pragma omp for{sched} nowait")
            self.loop(A.For(b, 0, 1, (first,) + body, parallel=True), ind + 2, "0",
                      f"({v}__hi - {v}__lo) / {lanes}", outline=outline)
            self.lines.append(f"{inner}    #pragma omp single nowait")
            self.loop(st, ind + 2, f"{v}__lo + ({v}__hi - {v}__lo) / {lanes} * {lanes}",
                      f"{v}__hi", outline=outline)
            self.condition = saved_condition
            self.lines.append("#else")
        # (`nowait`: the region's end is the barrier; the reduction is complete after it)
        self.lines.append(f"{inner}    #pragma omp for{for_clauses} nowait")
        self.loop(st, ind + 2, f"{v}__lo", f"{v}__hi", outline=outline)
        if body is not None:
            self.lines.append("#endif")
        self.scopes.pop()
        self.region_team = outer
        if self.d.region_end:
            self.lines.append(f"{inner}    {self.d.region_end}(&{v}__done);")
        self.lines.append(f"{inner}}}")
        self.lines.append(f"{pad}}}")

    def work_item_loop(self, st: A.For, ind: int):
        if st.reduction is not None:
            raise ValueError(f"a parallel reduction loop over {st.var.name} has no "
                             f"{self.d.name} work-item form; reduce within a work item")
        pad = "    " * ind
        v, vt = st.var.name, self.t(st.var.type)
        idx = f"({vt}){self.d.parallel_index}"
        if st.step != 1:
            idx = f"{idx} * {st.step}"
        start = self.e(st.start, top=True)
        if start != "0":
            idx = f"{start} + {idx}"
        self.lines.append(f"{pad}{vt} {v} = {idx};")
        stop = self.e(st.stop, top=not isinstance(st.stop, A.Select))
        self.lines.append(f"{pad}if ({v} < {stop}) {{")
        self.parallel_depth += 1
        self.body(st.body, ind + 1)
        self.parallel_depth -= 1
        self.lines.append(f"{pad}}}")

    def params(self, f: A.Function) -> str:
        return ", ".join(f"{self.t(p.type)} {p.name}" for p in f.params) or "void"

    def function(self, f: A.Function, helper: bool = False):
        params = self.params(f)
        if helper:
            q = self.d.function_qualifier
        elif f.kernel:
            q = self.d.kernel_qualifier
        else:
            q = ""
        q = q + " " if q else ""
        if f.attributes:
            q = f.attributes + " " + q
        self.lines.append(f"{q}{self.t(f.ret_type)} {f.name}({params}) {{")
        self.scopes, self.function_name = [{p.name: self.t(p.type) for p in f.params}], f.name
        self.body(f.body, 1)
        self.lines.append("}")


_WORD = re.compile(r"[A-Za-z_]\w*")
_RAW_DECLARATION = re.compile(r"\s*(const\s+)?([A-Za-z_]\w*)\s+([^;{}]*);\s*")
_DECLARATOR = re.compile(r"\s*([A-Za-z_]\w*)\s*(\[[^\]]*\])?\s*"
                         r"(__attribute__\s*\(\(\w+(\(\w*\))?\)\))?\s*(=[^()]*)?")


def _raw_declarations(text: str, dialect: Dialect) -> dict:
    """{name: type} of the variables a raw statement declares (`double racc[8], rtot[8];`
    gives `double*` for each: an array is passed as a pointer to its first element), or
    {} where it is not a declaration of one of the dialect's types."""
    m = _RAW_DECLARATION.fullmatch(text)
    if m is None or m.group(2) not in dialect.type_names.values():
        return {}
    out = {}
    for part in m.group(3).split(","):
        d = _DECLARATOR.fullmatch(part)
        if d is None:
            return {}
        out[d.group(1)] = f"{m.group(1) or ''}{m.group(2)}{'*' if d.group(2) else ''}"
    return out


def _callable_body(body, outer: set) -> bool:
    """Whether the statements `body` of a loop can become a function taking the variables
    `outer` by value: they assign none of them nor take their address, have no `return`,
    no `break` outside a loop nested in them, and no raw text naming one of them."""
    def ok(stmts, nested):
        for st in stmts:
            if isinstance(st, A.Return) or (isinstance(st, A.Break) and not nested):
                return False
            if isinstance(st, A.Raw) and outer & set(_WORD.findall(st.text)):
                return False
            if isinstance(st, (A.Assign, A.AugAssign)) and isinstance(st.target, A.Var) \
                    and st.target.name in outer:
                return False
            if isinstance(st, A.For) and not ok(st.body, True):
                return False
            if isinstance(st, A.While) and not ok(st.body, True):
                return False
            if isinstance(st, A.If) and not (ok(st.then, nested) and ok(st.else_, nested)):
                return False
            if isinstance(st, A.Block) and not ok(st.body, nested):
                return False
        return True
    for e in A.walk(tuple(body)):
        if isinstance(e, A.UnOp) and e.op == "&" and isinstance(e.a, A.Var) and \
                e.a.name in outer:
            return False
    return ok(body, False)


def _simdlen(st: A.For, bits: int) -> int:
    """Iterations per vector of a float sum or product loop: `bits` over the narrowest
    value type in it (as gcc sizes vectors; indices and truth values not counted)."""
    widths = [A.SCALAR_TYPES[t].bits for t in A.types_used(st)
              if isinstance(t, str) and t not in ("i64", "u64", "bool", "void")]
    return max(1, bits // min(widths, default=64))


def _balanced_outer(s: str) -> bool:
    depth = 0
    for i, ch in enumerate(s):
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and i < len(s) - 1:
            return False
    return True


def _is_zero(e) -> bool:
    return isinstance(e, A.Const) and not e.type.is_float and int(e.value) == 0


def _static_trip(st: A.For):
    if isinstance(st.start, A.Const) and isinstance(st.stop, A.Const):
        return max(0, -(-(int(st.stop.value) - int(st.start.value)) // st.step))
    return None


# Calls that cost about as much as an arithmetic statement; any other call (BLAS, LAPACK,
# a function of the module) is of unknown, possibly large, work.
_CHEAP_CALLS = frozenset(UNARY_MATH + BINARY_MATH + (
    "isnan", "isinf", "isfinite", "signbit", "fma", "omp_get_max_threads",
    "omp_get_thread_num", "omp_get_num_threads"))
_CHEAP_HELPERS = frozenset(("clamp", "f2i", "max", "min", "idiv", "irem", "shl", "shr", "iabs",
                            "sign", "logistic", "cmul", "cdiv", "clt", "cle", "cgt", "cge",
                            "cisfinite", "cexp", "bfround", "bfload", "bfstore",
                            "hround", "hload", "hstore", "uexp", "ulog",
                            "utanh", "uabs", "tpose8", "bsel"))
# helpers that each do the work of many statements: what one call counts for in loop_work
# (tpose8: the 64 element copies of the loop it replaces)
_HELPER_WORK = {"tpose8": 64}


def _cheap_call(fn: str) -> bool:
    # cdsl.helpers' inline helpers are named <base>_<type>; one missing here only loses
    # the threshold (treated as unknown work), never correctness
    return fn in _CHEAP_CALLS or fn.split("_")[0] in _CHEAP_HELPERS


_RAW_LOOP = re.compile(r"\b(for|while|do)\b")


def loop_work(body) -> int | None:
    """Statements one pass over `body` executes, with loops of constant trip count
    multiplied out: the work the OpenMP threshold compares. None when unknown (a loop of
    run-time length, or a call that is not cheap arithmetic), so the caller keeps its own
    threshold."""
    total = 0
    for st in body:
        if isinstance(st, A.Comment):
            continue
        if isinstance(st, A.For):
            trip, inner = _static_trip(st), loop_work(st.body)
            if trip is None or inner is None:
                return None
            total += trip * inner
        elif isinstance(st, A.If):
            a, b = loop_work(st.then), loop_work(st.else_)
            if a is None or b is None:
                return None
            total += 1 + max(a, b)
        elif isinstance(st, A.While):
            return None
        elif isinstance(st, A.Raw) and _RAW_LOOP.search(st.text):
            return None         # a loop written as text: its length is unknown here
        elif isinstance(st, A.Block):
            inner = loop_work(st.body)
            if inner is None:
                return None
            total += inner
        else:
            calls = [c for c in A.walk(st) if isinstance(c, A.Call)]
            if any(not _cheap_call(c.fn) for c in calls):
                return None
            total += max([1] + [_HELPER_WORK.get(c.fn.split("_")[0], 1) for c in calls])
    return total


def _simd_declarations(calls, d: Dialect) -> list:
    out = []
    for fn, tname in sorted(calls):
        ctype = d.simd_math_types.get(tname)
        if fn in d.simd_math and ctype is not None:
            nargs = 2 if fn in BINARY_MATH else 1
            name = d.math_names.get((fn, tname), fn + d.math_suffix.get(tname, ""))
            out.append("#pragma omp declare simd notinbranch")
            out.append(f"{ctype} {name}({', '.join([ctype] * nargs)});")
    return out


def render(node, dialect: Dialect = C99) -> str:
    """Render a Module or Function as a translation unit in `dialect`, or a statement or
    expression as text."""
    p = _Printer(dialect, dict(node.external_helpers)
                 if isinstance(node, A.Module) else None)
    if isinstance(node, A.Expr):
        return p.e(node, top=True)
    if isinstance(node, A.Stmt):
        p.s(node, 0)
        return "\n".join(p.lines)
    if isinstance(node, A.Function):
        node = A.Module((node,))
    if not isinstance(node, A.Module):
        raise TypeError(f"cannot render {type(node).__name__}")
    lines = list(dialect.preamble)
    calls, used = A.calls_and_types(node.functions)
    for _tname, pragma in sorted(dialect.type_pragmas.items()):
        if _tname not in used:
            continue
        for line in (pragma,) if isinstance(pragma, str) else pragma:
            if line not in lines:
                lines.append(line)
    if dialect.vector_helpers and any(dialect.helper_calls.get(call)
                                      in dialect.vector_helpers for call in calls):
        used = used | {vector_helpers.VECTOR}       # (loops written in vectors may use it)
    for vt in sorted((t for t in used if isinstance(t, A.VecType)), key=lambda t: t.name):
        if not dialect.vector_typedef:
            raise TypeError(f"dialect {dialect.name} has no vector types ({vt.name})")
        size = vt.lanes * vt.elem.bits // 8
        lines.append(dialect.vector_typedef.format(
            name=vt.name, vname=p.t(vt), elem=p.t(vt.elem), size=size,
            align=vt.elem.bits // 8))
    blas_at = len(lines)
    lines.extend(dialect.include_format.format(h) for h in node.includes)
    if dialect.team_size and dialect.parallel_loop == "openmp":
        lines.append(f"int {dialect.team_size}(void);")
        if dialect.team_size_big:
            lines.append(f"int {dialect.team_size_big}(void);")
    if dialect.region_start and dialect.parallel_loop == "openmp":
        lines.append(f"void {dialect.region_start}(void);")
    if dialect.region_end and dialect.parallel_loop == "openmp":
        lines.append(f"void {dialect.region_end}(int *);")
    helper_fns = helpers.build(calls, dialect)
    # the math functions helpers call are declared SIMD too: inlined into a loop, they
    # vectorise like direct calls
    lines.extend(_simd_declarations(calls | A.calls(helper_fns), dialect))
    for hf in helper_fns:
        p.lines = []
        if hf.name in p.renames:       # defined in a library the module is linked with
            p.lines.append(f"extern {p.t(hf.ret_type)} {p.renames[hf.name]}({p.params(hf)});")
        else:
            p.function(hf, helper=True)
        if hf.name in dialect.vector_helpers:
            p.lines.extend(vector_helpers.companion(hf.name))
        lines.append("")
        lines.extend(p.lines)
    body_at = len(lines)
    for f in node.functions:
        p.lines, p.outlined = [], []
        p.function(f)
        lines.append("")
        lines.extend(p.outlined)
        lines.extend(p.lines)
    if dialect.blas_include and (node.uses_blas or node.uses_blas is None and any(
            dialect.blas_marker in line for line in lines[body_at:])):
        # (None: only where the code calls BLAS: the header and linking the library cost a
        # small module ~20% of its build)
        lines.insert(blas_at, dialect.blas_include)
    return "\n".join(lines) + "\n"


_CFFI_TYPES = {"f16": "uint16_t", "bool": "uint8_t", "bf16": "uint16_t"}


def declaration(f: A.Function, dialect: Dialect = C99) -> str:
    """The C prototype of `f` in the form cffi's `cdef` accepts (no restrict, no _Float16)."""
    names = dict(dialect.type_names, **_CFFI_TYPES)
    plain = Dialect(name="cdef", type_names=names, restrict_keyword="")
    p = _Printer(plain)
    params = ", ".join(f"{p.t(x.type)} {x.name}" for x in f.params) or "void"
    return f"{p.t(f.ret_type)} {f.name}({params});"


def declarations(module: A.Module, dialect: Dialect = C99) -> str:
    """cffi `cdef` text for every non-helper function of `module`."""
    return "\n".join(declaration(f, dialect) for f in module.functions)
