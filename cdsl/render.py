"""One renderer for the C AST; the dialect (C99 or OpenCL C) is data.

`render(module, dialect)` prints a whole translation unit: preamble, the helper functions
the module calls, then its functions. Helpers (NaN-propagating max/min, integer division
that is defined for zero, clamped float-to-int conversion, ...) are themselves built as AST
nodes by `cdsl.helpers`, so both dialects print the same logic.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import ast as A

# libmvec (glibc >= 2.35) provides AVX-512 variants of these for float and double.
_SIMD_MATH = ("exp", "log", "sin", "cos", "tan", "tanh", "pow", "log1p", "expm1", "asin",
              "acos", "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "atan2", "erf",
              "exp2", "log2", "log10", "cbrt", "hypot")
_UNARY_MATH = ("exp", "log", "sin", "cos", "tan", "tanh", "log1p", "expm1", "asin", "acos",
               "atan", "sinh", "cosh", "asinh", "acosh", "atanh", "erf", "exp2", "log2",
               "log10", "cbrt", "sqrt", "floor", "ceil", "rint", "fabs", "trunc")
_BINARY_MATH = ("pow", "atan2", "fmod", "hypot", "fmax", "fmin")


@dataclass(frozen=True)
class Dialect:
    name: str
    type_names: dict
    kernel_qualifier: str
    global_qualifier: str
    local_qualifier: str
    function_qualifier: str           # for helpers
    float_math_suffix: str            # C: "f" (expf); OpenCL: "" (overloaded)
    parallel: str                     # "openmp" or "global_id"
    preamble: tuple = field(default_factory=tuple)
    simd_declarations: bool = False
    size_type: str = "int64_t"
    isnan_name: str = "isnan"


C99 = Dialect(
    name="c99",
    type_names={"f16": "_Float16", "f32": "float", "f64": "double", "i8": "int8_t",
                "i16": "int16_t", "i32": "int32_t", "i64": "int64_t", "u8": "uint8_t",
                "u16": "uint16_t", "u32": "uint32_t", "u64": "uint64_t", "bool": "uint8_t",
                "void": "void"},
    kernel_qualifier="",
    global_qualifier="",
    local_qualifier="",
    function_qualifier="static inline",
    float_math_suffix="f",
    parallel="openmp",
    preamble=("#include <math.h>", "#include <stdint.h>", "#include <stddef.h>",
              "#include <omp.h>"),
    simd_declarations=True,
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
    float_math_suffix="",
    parallel="global_id",
    preamble=(),
    simd_declarations=False,
    size_type="long",
)


class _Printer:
    def __init__(self, dialect: Dialect):
        self.d = dialect
        self.lines: list[str] = []
        self.parallel_var = None

    def t(self, ty) -> str:
        if isinstance(ty, A.PtrType):
            q = []
            if ty.space == "global" and self.d.global_qualifier:
                q.append(self.d.global_qualifier)
            if ty.space == "local" and self.d.local_qualifier:
                q.append(self.d.local_qualifier)
            if ty.const:
                q.append("const")
            q.append(self.t(ty.elem) + "*")
            if ty.restrict:
                q.append("restrict")
            return " ".join(q)
        return self.d.type_names[ty.name]

    # -- expressions ------------------------------------------------------------------

    def e(self, x: A.Expr) -> str:
        if isinstance(x, A.Var):
            return x.name
        if isinstance(x, A.Const):
            return self.const(x.value, x.type)
        if isinstance(x, A.BinOp):
            return f"({self.e(x.a)} {x.op} {self.e(x.b)})"
        if isinstance(x, A.UnOp):
            return f"({x.op}{self.e(x.a)})"
        if isinstance(x, A.Cast):
            return f"(({self.t(x.type)}){self.e(x.a)})"
        if isinstance(x, A.Select):
            return f"({self.e(x.cond)} ? {self.e(x.a)} : {self.e(x.b)})"
        if isinstance(x, A.Load):
            return f"{x.ptr.name}[{self.e(x.index)}]"
        if isinstance(x, A.Call):
            return f"{self.fn_name(x)}({', '.join(self.e(a) for a in x.args)})"
        if isinstance(x, A.ParallelIndex):
            return "get_global_id(0)"
        raise TypeError(f"cannot render {type(x).__name__}")

    def fn_name(self, call: A.Call) -> str:
        fn = call.fn
        arg_t = call.args[0].type if call.args else call.type
        if fn in _UNARY_MATH or fn in _BINARY_MATH:
            if arg_t.name == "f32" and self.d.float_math_suffix:
                return fn + self.d.float_math_suffix
            return fn
        if fn == "isfinite" or fn == "isnan":
            return fn
        return fn

    def const(self, v, ty: A.CType) -> str:
        if ty.is_float:
            v = float(v)
            if math.isnan(v):
                return "NAN" if ty.name != "f64" else "((double)NAN)"
            if math.isinf(v):
                s = "INFINITY" if v > 0 else "(-INFINITY)"
                return s if ty.name != "f64" else f"((double){s})"
            r = repr(v)
            if "e" not in r and "." not in r and "inf" not in r:
                r += ".0"
            if ty.name == "f32":
                return f"{r}f"
            if ty.name == "f16":
                return f"(({self.t(ty)}){r}f)"
            return r
        if ty.name == "bool":
            return "1" if v else "0"
        v = int(v)
        if ty.name in ("i64",):
            return f"((int64_t){v}LL)" if self.d.name == "c99" and abs(v) >= 2**31 else (
                f"{v}L" if self.d.name == "opencl" and abs(v) >= 2**31 else str(v))
        if ty.name in ("u64",):
            return f"{v}ULL" if self.d.name == "c99" else f"{v}UL"
        if ty.name == "u32":
            return f"{v}u"
        if ty.name == "i32" and v == -2**31:
            return "(-2147483647 - 1)"
        return str(v)

    # -- statements -------------------------------------------------------------------

    def s(self, st, ind: int):
        pad = "    " * ind
        out = self.lines
        if isinstance(st, A.Decl):
            init = f" = {self.e(st.init)}" if st.init is not None else ""
            out.append(f"{pad}{self.t(st.var.type)} {st.var.name}{init};")
        elif isinstance(st, A.Assign):
            out.append(f"{pad}{st.target.name} = {self.e(st.value)};")
        elif isinstance(st, A.Store):
            out.append(f"{pad}{st.ptr.name}[{self.e(st.index)}] = {self.e(st.value)};")
        elif isinstance(st, A.ExprStmt):
            out.append(f"{pad}{self.e(st.expr)};")
        elif isinstance(st, A.Comment):
            out.append(f"{pad}/* {st.text} */")
        elif isinstance(st, A.Return):
            out.append(f"{pad}return{' ' + self.e(st.value) if st.value is not None else ''};")
        elif isinstance(st, A.Block):
            out.append(f"{pad}{{")
            for b in st.body:
                self.s(b, ind + 1)
            out.append(f"{pad}}}")
        elif isinstance(st, A.If):
            out.append(f"{pad}if ({self.e(st.cond)}) {{")
            for b in st.then:
                self.s(b, ind + 1)
            if st.orelse:
                out.append(f"{pad}}} else {{")
                for b in st.orelse:
                    self.s(b, ind + 1)
            out.append(f"{pad}}}")
        elif isinstance(st, A.For):
            self.for_(st, ind)
        else:
            raise TypeError(f"cannot render {type(st).__name__}")

    def for_(self, st: A.For, ind: int):
        pad = "    " * ind
        v = st.var.name
        vt = self.t(st.var.type)
        if st.parallel and self.d.parallel == "global_id":
            self.lines.append(f"{pad}{vt} {v} = ({vt})get_global_id(0) + {self.e(st.start)};")
            self.lines.append(f"{pad}if ({v} < {self.e(st.stop)}) {{")
            for b in st.body:
                self.s(b, ind + 1)
            self.lines.append(f"{pad}}}")
            return
        if self.d.parallel == "openmp":
            red = ""
            if st.reduction is not None:
                op, acc = st.reduction
                red = f" reduction({op}:{acc.name})"
            if st.parallel:
                simd = " simd" if st.simd else ""
                self.lines.append(f"{pad}#pragma omp parallel for{simd}{red} "
                                  f"if(({self.e(st.stop)}) - ({self.e(st.start)}) >= "
                                  f"{st.parallel_min})")
            elif st.simd:
                self.lines.append(f"{pad}#pragma omp simd{red}")
        step = f"{v} += {st.step}" if st.step != 1 else f"++{v}"
        self.lines.append(f"{pad}for ({vt} {v} = {self.e(st.start)}; {v} < "
                          f"{self.e(st.stop)}; {step}) {{")
        for b in st.body:
            self.s(b, ind + 1)
        self.lines.append(f"{pad}}}")

    def function(self, f: A.Function, helper: bool = False):
        params = ", ".join(f"{self.t(p.type)} {p.name}" for p in f.params)
        if helper:
            q = self.d.function_qualifier + " "
        elif f.kernel:
            q = (self.d.kernel_qualifier + " ") if self.d.kernel_qualifier else ""
        else:
            q = ""
        self.lines.append(f"{q}{self.t(f.ret)} {f.name}({params}) {{")
        for st in f.body:
            self.s(st, 1)
        self.lines.append("}")


def _calls(node, acc: set):
    """Collect (fn, arg type) of every Call under `node`."""
    if isinstance(node, A.Call):
        acc.add((node.fn, node.args[0].type.name if node.args else node.type.name))
    if isinstance(node, (list, tuple)):
        for x in node:
            _calls(x, acc)
        return acc
    if hasattr(node, "__dataclass_fields__"):
        for name in node.__dataclass_fields__:
            v = getattr(node, name)
            if isinstance(v, (A.Expr, A.Stmt, tuple, list, A.Function)):
                _calls(v, acc)
    return acc


def _types_used(node, acc: set):
    if isinstance(node, A.CType):
        acc.add(node.name)
        return acc
    if isinstance(node, (list, tuple)):
        for x in node:
            _types_used(x, acc)
        return acc
    if hasattr(node, "__dataclass_fields__"):
        for name in node.__dataclass_fields__:
            _types_used(getattr(node, name), acc)
    return acc


def render(node, dialect: Dialect = C99) -> str:
    """Render a Module, Function, statement or expression in `dialect`."""
    from . import helpers
    p = _Printer(dialect)
    if isinstance(node, A.Expr):
        return p.e(node)
    if isinstance(node, A.Stmt):
        p.s(node, 0)
        return "\n".join(p.lines)
    if isinstance(node, A.Function):
        node = A.Module((node,))
    lines = list(dialect.preamble)
    used_types = _types_used(node.functions, set())
    if dialect.name == "opencl" and "f64" in used_types:
        lines.append("#pragma OPENCL EXTENSION cl_khr_fp64 : enable")
    if dialect.name == "opencl" and "f16" in used_types:
        lines.append("#pragma OPENCL EXTENSION cl_khr_fp16 : enable")
    if node.uses_blas and dialect.name == "c99":
        lines.append('#include "cblas.h"')
    calls = _calls(node.functions, set())
    if dialect.simd_declarations:
        decls = []
        for fn, tname in sorted(calls):
            if fn in _SIMD_MATH and tname in ("f32", "f64"):
                ct = "float" if tname == "f32" else "double"
                name = fn + ("f" if tname == "f32" else "")
                nargs = 2 if fn in _BINARY_MATH else 1
                args = ", ".join([ct] * nargs)
                decls.append("#pragma omp declare simd notinbranch")
                decls.append(f"{ct} {name}({args});")
        lines.extend(decls)
    lines.append("")
    hfuncs = helpers.build(calls, dialect)
    for hf in hfuncs:
        p.lines = []
        p.function(hf, helper=True)
        lines.extend(p.lines)
    for f in node.functions:
        p.lines = []
        p.function(f)
        lines.append("")
        lines.extend(p.lines)
    return "\n".join(lines) + "\n"


def declaration(f: A.Function, dialect: Dialect = C99) -> str:
    """The C prototype of `f` (for cffi's cdef)."""
    p = _Printer(dialect)
    params = ", ".join(f"{p.t(x.type).replace(' restrict', '')} {x.name}" for x in f.params)
    return f"{p.t(f.ret)} {f.name}({params});"
