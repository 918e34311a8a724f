"""The node API the lowering rules use: thin constructors over `cdsl` taking NumPy dtypes,
so that rules read like the C they produce and stay independent of the dialect.

Two dtypes are not C arithmetic types as they are:
- complex64/complex128 are C99 `_Complex` values, but `*`, `/` and the orderings call
  helpers with NumPy's formulas (`cdsl.helpers`); `+ - == !=` are C's.
- bfloat16 is stored as its bit pattern (uint16) and computed in float: a load widens, a
  store rounds, and every arithmetic node of bfloat16 dtype rounds its float result to
  bfloat16 (nearest-even) at once. That is the reference's per-operation rounding (NumPy
  ufuncs on ml_dtypes arrays compute each operation in float and round it); computing a
  fused chain in float and rounding at the end would give other bits.
- float16 likewise: stored as `_Float16` (read and written as bit patterns), computed in
  float, each operation rounded to half precision (NumPy's float16 loops do the same).
"""
from __future__ import annotations

import numpy as np

import cdsl

_REDUCTION_OPS = {"sum": "+", "prod": "*", "max": "max", "min": "min", "or": "|"}

try:
    import ml_dtypes
    _BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:
    ml_dtypes, _BF16 = None, None

# Calls whose float result is already a bfloat16 value when their operands are (no rounding
# needed): sign, magnitude, rounding to integers, NaN-aware selection.
_EXACT_CALLS = frozenset(("fabs", "floor", "ceil", "rint", "trunc", "copysign", "max_f32",
                          "min_f32", "sign_f32", "isfinite"))
_ORDER_HELPERS = {"<": "clt", "<=": "cle", ">": "cgt", ">=": "cge"}


def is_bf16(dtype) -> bool:
    return _BF16 is not None and np.dtype(dtype) == _BF16


def is_narrow(dtype) -> bool:
    """A 16-bit float: computed in float, rounded after every operation."""
    return is_bf16(dtype) or np.dtype(dtype) == np.float16


def ct(dtype) -> cdsl.CType:
    """The C type values of `dtype` are computed in (the 16-bit floats: float)."""
    t = cdsl.ctype_from_numpy(np.dtype(dtype))
    return cdsl.f32 if t is cdsl.bf16 or t is cdsl.f16 else t


def storage_ct(dtype) -> cdsl.CType:
    """The C type of `dtype`'s elements in memory."""
    return cdsl.ctype_from_numpy(np.dtype(dtype))


def type_suffix(dtype) -> str:
    return ct(dtype).name


def var(name, dtype):
    return cdsl.Var(name, ct(dtype))


def const(v, dtype):
    if is_bf16(dtype):
        v = float(np.asarray(v, np.float32).astype(_BF16).astype(np.float32))
    elif np.dtype(dtype) == np.float16:
        v = float(np.asarray(v, np.float64).astype(np.float16))
    return cdsl.Const(v, ct(dtype))


def narrow_round(e, dtype):
    """`e` (a float or double expression) rounded to the nearest value of the 16-bit float
    `dtype`, as a float. bfloat16 rounds a double through float (ml_dtypes' cast), float16
    directly (NumPy's)."""
    base = "bfround" if is_bf16(dtype) else "hround"
    fn = f"{base}_f64" if e.type is cdsl.f64 else f"{base}_f32"
    if e.type not in (cdsl.f32, cdsl.f64):
        e = cdsl.Cast(cdsl.f32, e)
    return cdsl.Call(fn, (e,), cdsl.f32)


def bf16_round(e):
    """`e` (a float or double expression) rounded to the nearest bfloat16, as a float."""
    return narrow_round(e, _BF16)


def i64(v):
    """An int64 constant; a size the code reads at run time (`symbolic.Dim`) renders as its
    expression."""
    expr = getattr(v, "expr", None)
    if expr is not None:
        return expr
    return cdsl.Const(int(v), cdsl.i64)


def _int_value(e):
    return int(e.value) if isinstance(e, cdsl.Const) and not e.type.is_float else None


def _int_bin(op, a, b):
    """`a op b` on int64 index values, with the identities of literal 0 and 1 applied (and
    two literals folded) so that generated indices read as written: `i`, not `(0 * 64) + i`
    or `(j % 1) * 2`."""
    x, y = _int_value(a), _int_value(b)
    if x is not None and y is not None and op in ("+", "-", "*"):
        return cdsl.Const(x + y if op == "+" else x - y if op == "-" else x * y, cdsl.i64)
    if op == "+" and x == 0 or op == "*" and x == 1:
        return b
    if op in ("+", "-") and y == 0 or op in ("*", "/") and y == 1:
        return a
    if op == "*" and (x == 0 or y == 0) or op == "%" and y == 1:
        return cdsl.Const(0, cdsl.i64)
    return cdsl.BinOp(op, a, b, cdsl.i64)


def add(a, b):
    return _int_bin("+", a, b)


def sub(a, b):
    return _int_bin("-", a, b)


def mul(a, b):
    return _int_bin("*", a, b)


def div(a, b):
    return _int_bin("/", a, b)


def mod(a, b):
    return _int_bin("%", a, b)


def _complex_operand(a, b):
    for x in (a, b):
        t = getattr(x, "type", None)
        if isinstance(t, cdsl.CType) and t.is_complex:
            return t
    return None


def binop(op, a, b, dtype):
    t = ct(dtype)
    if t.is_complex and op in ("*", "/"):
        return cdsl.Call(("cmul_" if op == "*" else "cdiv_") + t.name, (a, b), t)
    if op in _ORDER_HELPERS:
        operand = _complex_operand(a, b)
        if operand is not None:
            return cdsl.Call(f"{_ORDER_HELPERS[op]}_{operand.name}", (a, b), cdsl.bool_)
    e = cdsl.BinOp(op, a, b, t)
    return narrow_round(e, dtype) if is_narrow(dtype) else e


def unop(op, a, dtype):
    return cdsl.UnOp(op, a, ct(dtype))


def call(name, args, dtype, info=None):
    e = cdsl.Call(name, tuple(args), ct(dtype))
    return narrow_round(e, dtype) if is_narrow(dtype) and name not in _EXACT_CALLS else e


def param(name, dtype, const_=False):
    return cdsl.Param(name, cdsl.PtrType(storage_ct(dtype), const=const_))


def load(ptr, off):
    if ptr.type.elem is cdsl.bf16:
        return cdsl.Call("bfload_bf16", (cdsl.Load(ptr, off, cdsl.bf16),), cdsl.f32)
    if ptr.type.elem is cdsl.f16:
        return cdsl.Call("hload_f16", (cdsl.Load(_half_bits(ptr), off, cdsl.u16),), cdsl.f32)
    return cdsl.Load(ptr, off, ptr.type.elem)


def _half_bits(ptr):
    """A float16 buffer read as its bit patterns: the conversions are integer operations
    that gcc vectorises (a `_Float16` load or conversion keeps the loop scalar)."""
    return cdsl.Cast(cdsl.PtrType(cdsl.u16, restrict=False, space=""), ptr)


def store(ptr, off, val):
    if ptr.type.elem is cdsl.bf16:
        # the store rounds to nearest-even itself: a rounding just before it is redundant
        if isinstance(val, cdsl.Call) and val.fn in ("bfround_f32", "bfround_f64"):
            val = val.args[0]
        val = cdsl.Call("bfstore_f32", (cast_f32(val),), cdsl.bf16)
    elif ptr.type.elem is cdsl.f16:
        if isinstance(val, cdsl.Call) and val.fn in ("hround_f32", "hround_f64"):
            val = val.args[0]
        if val.type is cdsl.f64:
            # directly from double (NumPy's cast rounds once)
            return cdsl.Store(ptr, off, cdsl.Cast(cdsl.f16, val))
        return cdsl.Store(_half_bits(ptr), off,
                          cdsl.Call("hstore_f32", (cast_f32(val),), cdsl.u16))
    return cdsl.Store(ptr, off, val)


def cast_f32(e):
    return e if getattr(e, "type", None) is cdsl.f32 else cdsl.Cast(cdsl.f32, e)


def cast(dtype, e):
    t = ct(dtype)
    if is_narrow(dtype):
        # a 16-bit float value is a float that the type holds; rounding one is the identity
        if isinstance(e, cdsl.Const) and not getattr(e.type, "is_complex", False):
            return const(e.value, dtype)
        return narrow_round(e, dtype)
    if getattr(e, "type", None) == t:
        return e
    return cdsl.Cast(t, e)


def select(c, a, b):
    return cdsl.Select(c, a, b, a.type)


def _cmp(op, a, b):
    if op in _ORDER_HELPERS:
        operand = _complex_operand(a, b)
        if operand is not None:
            return cdsl.Call(f"{_ORDER_HELPERS[op]}_{operand.name}", (a, b), cdsl.bool_)
    return cdsl.BinOp(op, a, b, cdsl.bool_)


def eq(a, b):
    return _cmp("==", a, b)


def ne(a, b):
    return _cmp("!=", a, b)


def lt(a, b):
    return _cmp("<", a, b)


def ge(a, b):
    return _cmp(">=", a, b)


def land(a, b):
    return _cmp("&&", a, b)


def lnot(a):
    return cdsl.UnOp("!", a, cdsl.bool_)


def decl(v, init=None):
    return cdsl.Decl(v, init)


def assign(v, val):
    return cdsl.Assign(v, val)


def for_(v, start, stop, body, parallel=False, simd=False, reduction=None):
    red = None
    if reduction is not None:
        pairs = reduction if isinstance(reduction[0], tuple) else (reduction,)
        ops = [(_REDUCTION_OPS.get(kind), acc) for kind, acc in pairs]
        if any(op is None for op, _ in ops):
            simd = False
        else:
            red = tuple(ops) if len(ops) > 1 else ops[0]
    # The lowering decides parallelism from the whole nest's work; the loop itself only
    # needs two iterations to split.
    return cdsl.For(v, start, stop, tuple(body), parallel=parallel, simd=simd, reduction=red,
                    parallel_min=2)


def expr_stmt(e):
    return cdsl.ExprStmt(e)


def comment(text):
    return cdsl.Comment(text)
