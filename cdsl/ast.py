"""The C AST: scalar types, expressions, statements, functions and modules.

Nodes are immutable and know nothing of any dialect; `cdsl.render` prints them as C99 or
OpenCL C. Expressions carry their scalar type so that the renderer can pick typed math
functions and literal suffixes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class CType:
    """A scalar type: `name` is the canonical key (f32, i64, bool, ...)."""
    name: str
    is_float: bool = False
    is_signed: bool = True
    bits: int = 32


f16 = CType("f16", True, True, 16)
f32 = CType("f32", True, True, 32)
f64 = CType("f64", True, True, 64)
i8 = CType("i8", False, True, 8)
i16 = CType("i16", False, True, 16)
i32 = CType("i32", False, True, 32)
i64 = CType("i64", False, True, 64)
u8 = CType("u8", False, False, 8)
u16 = CType("u16", False, False, 16)
u32 = CType("u32", False, False, 32)
u64 = CType("u64", False, False, 64)
bool_ = CType("bool", False, False, 8)
void = CType("void", False, False, 0)

_FROM_NUMPY = {np.dtype(np.float16): f16, np.dtype(np.float32): f32, np.dtype(np.float64): f64,
               np.dtype(np.int8): i8, np.dtype(np.int16): i16, np.dtype(np.int32): i32,
               np.dtype(np.int64): i64, np.dtype(np.uint8): u8, np.dtype(np.uint16): u16,
               np.dtype(np.uint32): u32, np.dtype(np.uint64): u64, np.dtype(np.bool_): bool_}


def ctype_from_numpy(dtype) -> CType:
    return _FROM_NUMPY[np.dtype(dtype)]


@dataclass(frozen=True)
class PtrType:
    """A pointer to `elem`; `space` is 'global', 'local' or '' (private)."""
    elem: CType
    const: bool = False
    restrict: bool = True
    space: str = "global"


# --- expressions ---------------------------------------------------------------------------


class Expr:
    """Base of expressions; arithmetic operators build nodes of the left operand's type."""

    type: CType

    def _wrap(self, other):
        if isinstance(other, Expr):
            return other
        return Const(other, self.type)

    def __add__(self, o):
        return BinOp("+", self, self._wrap(o), self.type)

    def __radd__(self, o):
        return BinOp("+", self._wrap(o), self, self.type)

    def __sub__(self, o):
        return BinOp("-", self, self._wrap(o), self.type)

    def __rsub__(self, o):
        return BinOp("-", self._wrap(o), self, self.type)

    def __mul__(self, o):
        return BinOp("*", self, self._wrap(o), self.type)

    def __rmul__(self, o):
        return BinOp("*", self._wrap(o), self, self.type)

    def __truediv__(self, o):
        return BinOp("/", self, self._wrap(o), self.type)

    def __mod__(self, o):
        return BinOp("%", self, self._wrap(o), self.type)

    def __neg__(self):
        return UnOp("-", self, self.type)

    def lt(self, o):
        return BinOp("<", self, self._wrap(o), bool_)

    def le(self, o):
        return BinOp("<=", self, self._wrap(o), bool_)

    def gt(self, o):
        return BinOp(">", self, self._wrap(o), bool_)

    def ge(self, o):
        return BinOp(">=", self, self._wrap(o), bool_)

    def eq(self, o):
        return BinOp("==", self, self._wrap(o), bool_)

    def ne(self, o):
        return BinOp("!=", self, self._wrap(o), bool_)


@dataclass(frozen=True, eq=False)
class Var(Expr):
    name: str
    type: CType


@dataclass(frozen=True, eq=False)
class Const(Expr):
    value: object
    type: CType


@dataclass(frozen=True, eq=False)
class BinOp(Expr):
    op: str
    a: Expr
    b: Expr
    type: CType


@dataclass(frozen=True, eq=False)
class UnOp(Expr):
    op: str
    a: Expr
    type: CType


@dataclass(frozen=True, eq=False)
class Call(Expr):
    """A call of a generic function name; the dialect maps it per argument type."""
    fn: str
    args: tuple
    type: CType


@dataclass(frozen=True, eq=False)
class Cast(Expr):
    type: CType
    a: Expr


@dataclass(frozen=True, eq=False)
class Select(Expr):
    cond: Expr
    a: Expr
    b: Expr
    type: CType


@dataclass(frozen=True, eq=False)
class Param:
    """A function parameter: a scalar or a pointer."""
    name: str
    type: object


@dataclass(frozen=True, eq=False)
class Load(Expr):
    ptr: Param
    index: Expr
    type: CType


@dataclass(frozen=True, eq=False)
class ParallelIndex(Expr):
    """The index of the outermost data-parallel loop (OpenCL: get_global_id(0))."""
    type: CType = i64


# --- statements ----------------------------------------------------------------------------


class Stmt:
    pass


@dataclass(frozen=True, eq=False)
class Decl(Stmt):
    var: Var
    init: Optional[Expr] = None


@dataclass(frozen=True, eq=False)
class Assign(Stmt):
    target: Var
    value: Expr


@dataclass(frozen=True, eq=False)
class Store(Stmt):
    ptr: Param
    index: Expr
    value: Expr


@dataclass(frozen=True, eq=False)
class ExprStmt(Stmt):
    expr: Expr


@dataclass(frozen=True, eq=False)
class For(Stmt):
    """`for (var = start; var < stop; var += step) body`.

    `parallel`: the outermost data-parallel loop (OpenMP in C when the trip count reaches
    `parallel_min`; the work-item index in OpenCL). `simd`: ask for vectorisation;
    `reduction`: (operator, accumulator Var) for a vectorised reduction."""
    var: Var
    start: Expr
    stop: Expr
    body: tuple
    step: int = 1
    parallel: bool = False
    simd: bool = False
    reduction: Optional[tuple] = None
    parallel_min: int = 1 << 15


@dataclass(frozen=True, eq=False)
class If(Stmt):
    cond: Expr
    then: tuple
    orelse: tuple = ()


@dataclass(frozen=True, eq=False)
class Block(Stmt):
    body: tuple


@dataclass(frozen=True, eq=False)
class Comment(Stmt):
    text: str


@dataclass(frozen=True, eq=False)
class Return(Stmt):
    value: Optional[Expr] = None


@dataclass(frozen=True, eq=False)
class Function:
    name: str
    params: tuple
    body: tuple
    kernel: bool = False
    ret: CType = void


@dataclass(frozen=True, eq=False)
class Module:
    functions: tuple
    uses_blas: bool = False
    helpers: tuple = field(default_factory=tuple)
