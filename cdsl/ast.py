"""The C AST: scalar and pointer types, expressions, statements, functions and modules.

Nodes are immutable and know nothing of any dialect; `cdsl.render` prints them as C99 or
OpenCL C. Expressions carry their type so that the renderer can pick typed math functions
and literal suffixes. Expression nodes compare by identity (`eq=False`): `==` on nodes is
never overloaded; build comparisons with `.eq()`, `.lt()`, ... instead.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class CType:
    """A scalar type: `name` is the canonical key (f32, i64, bool, ...). Complex types (c64,
    c128: C99 `_Complex`) have `is_complex` and `bits` of the whole value; `real` names the
    type of one part. bf16 is a storage type (a uint16 bit pattern) that loads and stores
    convert; its values are computed in float (see `cdsl.helpers`)."""
    name: str
    is_float: bool = False
    is_signed: bool = True
    bits: int = 32
    is_complex: bool = False
    real: str = ""

    def ptr(self, const: bool = False, restrict: bool = True,
            space: str = "global") -> PtrType:
        return PtrType(self, const=const, restrict=restrict, space=space)


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
c64 = CType("c64", False, True, 64, is_complex=True, real="f32")
c128 = CType("c128", False, True, 128, is_complex=True, real="f64")
bf16 = CType("bf16", False, False, 16)

SCALAR_TYPES = {t.name: t for t in (f16, f32, f64, i8, i16, i32, i64, u8, u16, u32, u64,
                                    bool_, c64, c128, bf16)}

_FROM_NUMPY = {np.dtype(np.float16): f16, np.dtype(np.float32): f32, np.dtype(np.float64): f64,
               np.dtype(np.int8): i8, np.dtype(np.int16): i16, np.dtype(np.int32): i32,
               np.dtype(np.int64): i64, np.dtype(np.uint8): u8, np.dtype(np.uint16): u16,
               np.dtype(np.uint32): u32, np.dtype(np.uint64): u64, np.dtype(np.bool_): bool_,
               np.dtype(np.complex64): c64, np.dtype(np.complex128): c128}
try:
    import ml_dtypes
except ImportError:     # bfloat16 is optional: without ml_dtypes there is no such dtype
    ml_dtypes = None
if ml_dtypes is not None:
    _FROM_NUMPY[np.dtype(ml_dtypes.bfloat16)] = bf16


def ctype_from_numpy(dtype) -> CType:
    """The scalar CType of a NumPy dtype (bool is stored as one byte)."""
    try:
        return _FROM_NUMPY[np.dtype(dtype)]
    except KeyError:
        raise TypeError(f"cdsl has no C type for dtype {np.dtype(dtype)}") from None


@dataclass(frozen=True)
class PtrType:
    """A pointer to `elem`; `space` is 'global', 'local' or '' (private)."""
    elem: CType
    const: bool = False
    restrict: bool = True
    space: str = "global"


@dataclass(frozen=True)
class VecType:
    """A SIMD vector of `lanes` values of the scalar type `elem` (C99 only: GCC's vector
    extension). Arithmetic on vectors is per lane, and a scalar operand is broadcast to every
    lane; `VecLoad` and `VecStore` move one vector from or to `lanes` consecutive elements at
    any alignment, and `VecSplat` makes one from a scalar. `Call("fma", (a, b, c), vtype)`
    is a * b + c with one rounding per lane (on x86 with FMA: C99 renders the instruction's
    builtin; `-ffp-contract=off` keeps `a * b + c` itself in two roundings)."""
    elem: CType
    lanes: int

    @property
    def name(self) -> str:
        return f"{self.elem.name}x{self.lanes}"


AnyType = CType | PtrType | VecType

COMPARISONS = frozenset(("<", "<=", ">", ">=", "==", "!="))
LOGICAL = frozenset(("&&", "||"))
ARITHMETIC = frozenset(("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"))
BINARY_OPS = COMPARISONS | LOGICAL | ARITHMETIC
UNARY_OPS = frozenset(("-", "+", "!", "~", "&"))


def promote(a: AnyType, b: AnyType) -> AnyType:
    """The usual arithmetic result type of two operand types (float wins, then width)."""
    if isinstance(a, (PtrType, VecType)):
        return a
    if isinstance(b, (PtrType, VecType)):
        return b
    if a.is_complex or b.is_complex:
        if a.is_complex and b.is_complex:
            return a if a.bits >= b.bits else b
        cplx, other = (a, b) if a.is_complex else (b, a)
        return c128 if other.name == "f64" else cplx
    if a.is_float != b.is_float:
        return a if a.is_float else b
    if a.bits != b.bits:
        return a if a.bits > b.bits else b
    if a == bool_:
        return b
    return a if not a.is_signed or b.is_signed else b


def as_expr(v, like: AnyType | None = None) -> Expr:
    """`v` if it is an Expr, else a Const of `like`'s type (Python ints: i64, floats: f64)."""
    if isinstance(v, Expr):
        return v
    if isinstance(v, (bool, np.bool_)):
        return Const(bool(v), bool_)
    if like is not None and isinstance(like, CType):
        if isinstance(v, (float, np.floating)) and not like.is_float:
            return Const(float(v), f64)
        return Const(v, like)
    if isinstance(v, (int, np.integer)):
        return Const(int(v), i64)
    if isinstance(v, (float, np.floating)):
        return Const(float(v), f64)
    raise TypeError(f"cannot make a C expression of {v!r}")


def _set(node, name, value):
    object.__setattr__(node, name, value)


class Expr:
    """Base of expressions. Arithmetic and bitwise operators build BinOp/UnOp nodes; Python
    numbers on either side become constants of the other operand's type. Comparisons are
    methods (`lt le gt ge eq ne`) because `==` keeps its identity meaning."""

    type: AnyType

    def _bin(self, op, o, swap=False):
        o = as_expr(o, self.type)
        return BinOp(op, o, self) if swap else BinOp(op, self, o)

    def __add__(self, o):
        return self._bin("+", o)

    def __radd__(self, o):
        return self._bin("+", o, True)

    def __sub__(self, o):
        return self._bin("-", o)

    def __rsub__(self, o):
        return self._bin("-", o, True)

    def __mul__(self, o):
        return self._bin("*", o)

    def __rmul__(self, o):
        return self._bin("*", o, True)

    def __truediv__(self, o):
        return self._bin("/", o)

    def __rtruediv__(self, o):
        return self._bin("/", o, True)

    def __mod__(self, o):
        return self._bin("%", o)

    def __rmod__(self, o):
        return self._bin("%", o, True)

    def __and__(self, o):
        return self._bin("&", o)

    def __rand__(self, o):
        return self._bin("&", o, True)

    def __or__(self, o):
        return self._bin("|", o)

    def __ror__(self, o):
        return self._bin("|", o, True)

    def __xor__(self, o):
        return self._bin("^", o)

    def __rxor__(self, o):
        return self._bin("^", o, True)

    def __lshift__(self, o):
        return self._bin("<<", o)

    def __rshift__(self, o):
        return self._bin(">>", o)

    def __neg__(self):
        return UnOp("-", self)

    def __invert__(self):
        return UnOp("~", self)

    def __getitem__(self, index):
        if not isinstance(self.type, PtrType):
            raise TypeError(f"cannot index a non-pointer expression of type {self.type}")
        return Load(self, as_expr(index, i64))

    def lt(self, o):
        return self._bin("<", o)

    def le(self, o):
        return self._bin("<=", o)

    def gt(self, o):
        return self._bin(">", o)

    def ge(self, o):
        return self._bin(">=", o)

    def eq(self, o):
        return self._bin("==", o)

    def ne(self, o):
        return self._bin("!=", o)

    def and_(self, o):
        return self._bin("&&", o)

    def or_(self, o):
        return self._bin("||", o)

    def not_(self):
        return UnOp("!", self)

    def cast(self, ty: CType):
        return Cast(ty, self)


@dataclass(frozen=True, eq=False)
class Var(Expr):
    """A named local variable (or pointer-typed name)."""
    name: str
    type: AnyType


@dataclass(frozen=True, eq=False)
class Param(Expr):
    """A function parameter: a scalar or a pointer; usable as an expression."""
    name: str
    type: AnyType


@dataclass(frozen=True, eq=False)
class Const(Expr):
    """A literal; floats render exactly (round-trip) with the type's suffix."""
    value: object
    type: CType


@dataclass(frozen=True, eq=False)
class BinOp(Expr):
    """`a op b`; `type` defaults to bool for comparisons/logic, else the promoted type."""
    op: str
    a: Expr
    b: Expr
    type: AnyType | None = None

    def __post_init__(self):
        if self.op not in BINARY_OPS:
            raise ValueError(f"unknown binary operator {self.op!r}")
        if self.type is None:
            if self.op in COMPARISONS or self.op in LOGICAL:
                _set(self, "type", bool_)
            elif self.op in ("<<", ">>"):
                _set(self, "type", self.a.type)
            else:
                _set(self, "type", promote(self.a.type, self.b.type))


@dataclass(frozen=True, eq=False)
class UnOp(Expr):
    """`op a` for op in - + ! ~ and & (the address of a variable: BLAS's complex scalars are
    passed by pointer)."""
    op: str
    a: Expr
    type: AnyType | None = None

    def __post_init__(self):
        if self.op not in UNARY_OPS:
            raise ValueError(f"unknown unary operator {self.op!r}")
        if self.type is None:
            _set(self, "type", bool_ if self.op == "!" else self.a.type)


# A call of this name, `Call(BIG_TEAM_SIZE, (), i32)`, is the thread count of the loops
# marked `For.big_team` (the dialect's `team_size_big`, else its `team_size`, else OpenMP's
# `omp_get_max_threads`): code that picks a path by the team those loops will get.
BIG_TEAM_SIZE = "omp_get_max_threads_big"


@dataclass(frozen=True, eq=False)
class Call(Expr):
    """A call of a generic function name (`exp`, `fmax`, ...); the dialect maps it to the
    typed name by the first argument's type. `type` defaults to that argument's type."""
    fn: str
    args: tuple
    type: AnyType | None = None

    def __post_init__(self):
        _set(self, "args", tuple(self.args))
        if self.type is None:
            if not self.args:
                raise ValueError(f"Call({self.fn!r}) without arguments needs a type")
            _set(self, "type", self.args[0].type)


@dataclass(frozen=True, eq=False)
class Cast(Expr):
    """`(type)a`."""
    type: CType
    a: Expr


@dataclass(frozen=True, eq=False)
class Select(Expr):
    """`cond ? a : b`; `type` defaults to a's."""
    cond: Expr
    a: Expr
    b: Expr
    type: AnyType | None = None

    def __post_init__(self):
        if self.type is None:
            _set(self, "type", self.a.type)


@dataclass(frozen=True, eq=False)
class Load(Expr):
    """`ptr[index]`, also the target of Assign (a store)."""
    ptr: Expr
    index: Expr
    type: CType | None = None

    def __post_init__(self):
        if self.type is None:
            pt = self.ptr.type
            if not isinstance(pt, PtrType):
                raise TypeError(f"Load from non-pointer {self.ptr!r}")
            _set(self, "type", pt.elem)


@dataclass(frozen=True, eq=False)
class VecLoad(Expr):
    """The vector of `type.lanes` elements at `ptr[index]`, `ptr[index + 1]`, ..."""
    ptr: Expr
    index: Expr
    type: VecType


@dataclass(frozen=True, eq=False)
class VecSplat(Expr):
    """A vector with the scalar `a` in every lane."""
    a: Expr
    type: VecType


@dataclass(frozen=True, eq=False)
class ParallelIndex(Expr):
    """The work-item index of the outermost data-parallel loop (OpenCL: get_global_id(0))."""
    type: CType = i64


# --- statements ----------------------------------------------------------------------------


class Stmt:
    """Base of statements."""


def _tuple(node, name):
    v = getattr(node, name)
    if isinstance(v, Stmt):
        v = (v,)
    _set(node, name, tuple(v))


@dataclass(frozen=True, eq=False)
class Decl(Stmt):
    """`type var = init;`"""
    var: Var
    init: Expr | None = None


@dataclass(frozen=True, eq=False)
class Assign(Stmt):
    """`target = value;` where target is a Var or a Load (a store)."""
    target: Expr
    value: Expr


@dataclass(frozen=True, eq=False)
class AugAssign(Stmt):
    """`target op= value;`"""
    target: Expr
    op: str
    value: Expr

    def __post_init__(self):
        if self.op not in ARITHMETIC:
            raise ValueError(f"unknown compound assignment operator {self.op!r}=")


@dataclass(frozen=True, eq=False)
class Store(Stmt):
    """`ptr[index] = value;` (same as Assign(Load(ptr, index), value))."""
    ptr: Expr
    index: Expr
    value: Expr


@dataclass(frozen=True, eq=False)
class VecStore(Stmt):
    """`ptr[index + i] = value[i]` for every lane i of the vector `value`."""
    ptr: Expr
    index: Expr
    value: Expr


@dataclass(frozen=True, eq=False)
class ExprStmt(Stmt):
    expr: Expr


@dataclass(frozen=True, eq=False)
class For(Stmt):
    """`for (var = start; var < stop; var += step) body`.

    `parallel`: the outermost data-parallel loop. C: `#pragma omp parallel for` with an
    `if(trip count >= parallel_min)` clause (statically small loops get no pragma); OpenCL:
    `var = start + get_global_id(0) * step; if (var < stop) body`. Parallel loops nested in
    a parallel loop render as plain loops. `simd`: ask for vectorisation. `reduction`:
    (operator, accumulator Var) for a vectorised/parallel reduction (C only). `schedule`:
    OpenMP's schedule clause of a parallel loop ("dynamic": each thread takes the next
    iteration when it finishes one, so a thread on a CPU shared with another process
    takes fewer), "" for the default (static: equal shares). `big_team`: a parallel loop
    whose team is the dialect's `team_size_big` (the runtime library's `team_big`: every
    usable core, even one another process keeps busy), for dynamically scheduled loops with
    work enough that a slowed thread costs at most its last iteration."""
    var: Var
    start: Expr
    stop: Expr
    body: tuple
    step: int = 1
    parallel: bool = False
    simd: bool = False
    reduction: tuple | None = None
    parallel_min: int = 1 << 15
    schedule: str = ""
    big_team: bool = False

    def __post_init__(self):
        _set(self, "start", as_expr(self.start, self.var.type))
        _set(self, "stop", as_expr(self.stop, self.var.type))
        _tuple(self, "body")


@dataclass(frozen=True, eq=False)
class If(Stmt):
    """`if (cond) { then } else { else_ }`."""
    cond: Expr
    then: tuple
    else_: tuple = ()

    def __post_init__(self):
        _tuple(self, "then")
        _tuple(self, "else_")


@dataclass(frozen=True, eq=False)
class While(Stmt):
    """`while (cond) { body }`; a loop of run-time trip count (OpenMP never splits it)."""
    cond: Expr
    body: tuple

    def __post_init__(self):
        _tuple(self, "body")


@dataclass(frozen=True, eq=False)
class Break(Stmt):
    """`break;`: leaves the innermost `For` or `While`."""


@dataclass(frozen=True, eq=False)
class Block(Stmt):
    """`{ body }` (a scope)."""
    body: tuple

    def __post_init__(self):
        _tuple(self, "body")


@dataclass(frozen=True, eq=False)
class Comment(Stmt):
    text: str


@dataclass(frozen=True, eq=False)
class Return(Stmt):
    value: Expr | None = None


@dataclass(frozen=True, eq=False)
class Raw(Stmt):
    """Verbatim text, one statement; an escape hatch that bypasses the dialect."""
    text: str


@dataclass(frozen=True, eq=False)
class Function:
    """A function; `kernel=True` marks an entry point (OpenCL `__kernel`); `attributes`,
    when given, is printed before it (a C compiler's `__attribute__((...))`)."""
    name: str
    params: tuple
    body: tuple
    ret_type: CType = void
    kernel: bool = False
    attributes: str = ""

    def __post_init__(self):
        _set(self, "params", tuple(self.params))
        _tuple(self, "body")


@dataclass(frozen=True, eq=False)
class Module:
    """A translation unit: functions plus extra `includes` (header names, e.g. "cblas.h");
    `uses_blas` adds the dialect's BLAS include (None: where the rendered code names a BLAS
    function, the dialect's `blas_marker`). `external_helpers`: (helper name, symbol)
    pairs of helpers defined in a library the module is loaded with (`cdsl.runtime`): the
    module declares them under that symbol and calls them there instead of defining its
    own copy."""
    functions: tuple
    includes: tuple = field(default_factory=tuple)
    uses_blas: bool | None = False
    external_helpers: tuple = field(default_factory=tuple)

    def __post_init__(self):
        fs = self.functions
        _set(self, "functions", (fs,) if isinstance(fs, Function) else tuple(fs))
        _set(self, "includes", tuple(self.includes))
        eh = self.external_helpers
        _set(self, "external_helpers", tuple(sorted(eh.items() if isinstance(eh, dict)
                                                    else eh)))


_NODE_FIELDS: dict = {}


def _node_fields(cls) -> tuple | None:
    """The dataclass field names of `cls` (None for a class that is not a node)."""
    try:
        return _NODE_FIELDS[cls]
    except KeyError:
        f = getattr(cls, "__dataclass_fields__", None)
        f = _NODE_FIELDS[cls] = tuple(f) if f is not None else None
        return f


def walk(node):
    """Every AST node and type under `node` (tuples/lists are walked), parents first.
    (An explicit stack: the lowering walks statement trees millions of times, and nested
    generators cost a frame per level per node.)"""
    stack = [node]
    pop, push, fields_of = stack.pop, stack.extend, _node_fields
    while stack:
        n = pop()
        fields = fields_of(type(n))
        if fields is None:
            if isinstance(n, (tuple, list)):
                push(reversed(n))
            continue
        yield n
        if fields:
            push(reversed([getattr(n, f) for f in fields]))


def rewrite(expr, fn):
    """`expr` with `fn` applied to every expression under it, children first: `fn(e)`
    returns the replacement of `e` (itself to keep it). Nodes whose children are all kept
    are returned as they are, not copied."""
    fields = _node_fields(type(expr))
    if not fields or not isinstance(expr, Expr):
        return expr
    kids = {f: rewrite(getattr(expr, f), fn) for f in fields
            if isinstance(getattr(expr, f), Expr)}
    if any(v is not getattr(expr, f) for f, v in kids.items()):
        expr = dataclasses.replace(expr, **kids)
    return fn(expr)


def calls(node) -> set:
    """(generic function name, first argument's type name) of every Call under `node`."""
    return calls_and_types(node)[0]


def types_used(node) -> set:
    """Names of the scalar types that occur under `node` (pointer and vector element types
    included), and the VecTypes themselves."""
    return calls_and_types(node)[1]


def calls_and_types(node) -> tuple[set, set]:
    """(`calls(node)`, `types_used(node)`) in one walk: rendering a module needs both, and
    walking a large module is a visible part of a jit's compile time. (A walk of its own:
    it skips the fields that hold no node, and does not descend into types.)"""
    calls_out, types_out = set(), set()
    stack = [node]
    pop, push, children_of = stack.pop, stack.append, _child_fields
    while stack:
        n = pop()
        t = type(n)
        if t is tuple or t is list:
            stack.extend(n)
            continue
        if t is CType:
            types_out.add(n.name)
            continue
        if t is PtrType:
            push(n.elem)
            continue
        if t is VecType:
            types_out.add(n)
            push(n.elem)
            continue
        fields = children_of.get(t)
        if fields is None:
            fields = _learn_child_fields(t)
            if fields is None:            # not a node (a name, a number, None)
                continue
        if t is Call:
            ty = n.args[0].type if n.args else n.type
            calls_out.add((n.fn, "ptr" if isinstance(ty, PtrType) else ty.name))
        for f in fields:
            v = getattr(n, f)
            if v is not None:
                push(v)
    return calls_out, types_out


_child_fields: dict = {}
# fields annotated with these hold no node (names, flags, sizes, operators)
_LEAF_ANNOTATIONS = frozenset(("str", "bool", "int", "float"))


def _learn_child_fields(cls) -> tuple | None:
    """The fields of node class `cls` that may hold a node or a type (None: not a node)."""
    fields = getattr(cls, "__dataclass_fields__", None)
    if fields is None or isinstance(cls, type) and issubclass(cls, (str, int, float)):
        return None
    kids = tuple(name for name, f in fields.items()
                 if not (isinstance(f.type, str) and f.type in _LEAF_ANNOTATIONS))
    _child_fields[cls] = kids
    return kids
