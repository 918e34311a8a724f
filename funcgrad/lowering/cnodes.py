"""The node API the lowering rules use: thin constructors over `cdsl` taking NumPy dtypes,
so that rules read like the C they produce and stay independent of the dialect."""
from __future__ import annotations

import numpy as np

import cdsl

_REDUCTION_OPS = {"sum": "+", "prod": "*", "max": "max", "min": "min", "or": "|"}


def ct(dtype) -> cdsl.CType:
    return cdsl.ctype_from_numpy(np.dtype(dtype))


def type_suffix(dtype) -> str:
    return ct(dtype).name


def var(name, dtype):
    return cdsl.Var(name, ct(dtype))


def const(v, dtype):
    return cdsl.Const(v, ct(dtype))


def i64(v):
    """An int64 constant; a size the code reads at run time (`symbolic.Dim`) renders as its
    expression."""
    expr = getattr(v, "expr", None)
    if expr is not None:
        return expr
    return cdsl.Const(int(v), cdsl.i64)


def _int_bin(op, a, b):
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


def binop(op, a, b, dtype):
    return cdsl.BinOp(op, a, b, ct(dtype))


def unop(op, a, dtype):
    return cdsl.UnOp(op, a, ct(dtype))


def call(name, args, dtype, info=None):
    return cdsl.Call(name, tuple(args), ct(dtype))


def param(name, dtype, const_=False):
    return cdsl.Param(name, cdsl.PtrType(ct(dtype), const=const_))


def load(ptr, off):
    return cdsl.Load(ptr, off, ptr.type.elem)


def store(ptr, off, val):
    return cdsl.Store(ptr, off, val)


def cast(dtype, e):
    t = ct(dtype)
    if getattr(e, "type", None) == t:
        return e
    return cdsl.Cast(t, e)


def select(c, a, b):
    return cdsl.Select(c, a, b, a.type)


def _cmp(op, a, b):
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
