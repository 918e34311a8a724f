"""Small inline helper functions that give the generated code NumPy's semantics where C
differs: NaN-propagating max/min, integer division and remainder defined for a zero
divisor and for INT_MIN / -1 (C leaves both undefined; x86 traps), shifts by out-of-range
amounts, saturating float-to-int casts, a stable logistic. Each helper is built as AST (so
every dialect prints the same logic) on demand. `pow_c99` builds an inline expression: pow
with C99's special cases enforced whatever the (possibly vectorised) libm does."""
from __future__ import annotations

import numpy as np

from . import ast as A

_TYPES = A.SCALAR_TYPES


_BASES = {"clamp", "f2i", "max", "min", "idiv", "irem", "shl", "shr", "iabs", "sign",
          "logistic"}


def _fn(name, ty, params, body_expr):
    ps = tuple(A.Param(p, ty if not isinstance(p, tuple) else p[1]) for p in params)
    return A.Function(name, ps, (A.Return(body_expr),), ret_type=ty)


def _v(name, ty):
    return A.Var(name, ty)


def _make(name: str, arg_type: str):
    parts = name.split("_")
    base = parts[0]
    if base not in _BASES or len(parts) < 2 or parts[1] not in _TYPES:
        return None
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
    if base == "max":
        cond = A.BinOp("||", a.gt(b), a.ne(a), A.bool_) if t.is_float else a.gt(b)
        return _fn(name, t, ("a", "b"), A.Select(cond, a, b, t))
    if base == "min":
        cond = A.BinOp("||", a.lt(b), a.ne(a), A.bool_) if t.is_float else a.lt(b)
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
        body = (A.Decl(ev, e),
                A.Return(A.Select(a.ge(zero), A.BinOp("/", one, A.BinOp("+", one, ev, t), t),
                                  A.BinOp("/", ev, A.BinOp("+", one, ev, t), t), t)))
        return A.Function(name, (A.Param("a", t),), body, ret_type=t)
    return None


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
    """Helper Functions for the (name, arg type) pairs in `calls` that name helpers."""
    out, seen = [], set()
    pending = sorted(calls)
    while pending:
        fn, tname = pending.pop(0)
        if fn in seen:
            continue
        h = _make(fn, tname)
        if h is None:
            continue
        seen.add(fn)
        for dep in sorted(A.calls(h.body)):
            if dep[0] not in seen:
                pending.append(dep)
        out.append(h)
    # Helpers call only math functions, never each other, so any order compiles.
    return out
