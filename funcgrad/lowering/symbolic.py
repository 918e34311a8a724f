"""Size-generic C: array sizes the generated code reads at run time.

The first program of a family (one jitted function, one structure) is compiled with every
size a literal, as fast as specialised code gets. When another program of the family
arrives whose sizes differ (a ragged last batch, a test at a new shape), it is walked in
parallel with that first one, and each size that differs between the two becomes a `Dim`:
an `int` with the new program's value, so every lowering decision (fusion, thresholds,
layouts) is taken on the real sizes as before, that also carries a C expression (`D0`, or
`D0*D1` after arithmetic). `cnodes.i64` renders a `Dim` as its expression and each
generated function starts with `int64_t D0 = dims[0];`. Sizes that did not change stay
literals, so the channels of a CNN keep their unrolled inner loops while the batch is a
run-time value. Symbols are keyed by (first value, new value) and numbered in order of
first appearance: batch 100 and batch 37 of the same model render to the same text and
`cdsl.load` finds the module compiled for the first of them.

Why this is correct whatever the sizes: an executable runs its own rendered source with
its own size table, so the code behaves exactly as if the sizes were literals; two
executables share a compiled module only when their sources are identical text. Values
that lose their symbol (through `//`, NumPy, `int()`) are rendered as literals, which is
always safe and at worst prevents sharing. The reference program only chooses which sizes
become symbols. A `Dim` never leaves the lowering: results carry the caller's avals.

Float literals that differ between the two programs and equal k * (a product of symbols)
or its reciprocal in both, with the same integer k (the `1/n` of a mean over the batch),
are rendered from the symbols too, as `(float)(D0*k)` / `(float)(1.0/(double)(D0*k))`,
which round exactly as NumPy rounds the literal.
"""
from __future__ import annotations

import math

import numpy as np

import cdsl

from ..core import ShapedArray
from ..ir import ClosedProgram, Eqn, Lit, Program, Var


class Dim(int):
    """A size: its int value for decisions, `expr` (a cdsl expression) for the code."""

    def __new__(cls, value: int, expr):
        self = super().__new__(cls, value)
        self.expr = expr
        return self

    def __add__(self, other):
        if not isinstance(other, int):
            return int(self) + other
        if other == 0:
            return self
        return Dim(int(self) + int(other), _binop("+", self.expr, _expr(other)))

    def __radd__(self, other):
        if not isinstance(other, int):
            return other + int(self)
        if other == 0:
            return self
        return Dim(int(other) + int(self), _binop("+", _expr(other), self.expr))

    def __sub__(self, other):
        if not isinstance(other, int):
            return int(self) - other
        if other == 0:
            return self
        return Dim(int(self) - int(other), _binop("-", self.expr, _expr(other)))

    def __rsub__(self, other):
        if not isinstance(other, int):
            return other - int(self)
        return Dim(int(other) - int(self), _binop("-", _expr(other), self.expr))

    def __mul__(self, other):
        if not isinstance(other, int):
            return int(self) * other
        if other == 1:
            return self
        if other == 0:
            return 0
        return Dim(int(self) * int(other), _binop("*", self.expr, _expr(other)))

    def __rmul__(self, other):
        if not isinstance(other, int):
            return other * int(self)
        if other == 1:
            return self
        if other == 0:
            return 0
        return Dim(int(other) * int(self), _binop("*", _expr(other), self.expr))

    def __reduce__(self):
        return (int, (int(self),))


def _expr(v):
    return v.expr if isinstance(v, Dim) else cdsl.Const(int(v), cdsl.i64)


def _binop(op, a, b):
    return cdsl.BinOp(op, a, b, cdsl.i64)


def name_of(d) -> str:
    """A size as the code sees it: `D3`, `D3*D5`, or the literal."""
    if isinstance(d, Dim):
        return cdsl.render(d.expr)
    return str(int(d))


def shape_text(aval) -> str:
    """`f32[D0,784]`: an aval for comments in generated code (no run-time sizes in the
    text, so comments do not prevent sharing)."""
    from .. import dtypes
    return f"{dtypes.short_name(aval.dtype)}[{','.join(name_of(d) for d in aval.shape)}]"


class SymAval(ShapedArray):
    """A ShapedArray whose dims may be `Dim`s (equal and hashing as their values)."""

    __slots__ = ()

    def __init__(self, shape, dtype, weak_type=False):
        super().__init__(shape, dtype, weak_type)
        self.shape = tuple(shape)

    size = property(lambda self: math.prod(self.shape))


class SymbolTable:
    """Sizes that differ from the reference program -> `Dim`s, keyed by (reference value,
    value) and numbered in order of first appearance."""

    def __init__(self):
        self.dims: dict[tuple[int, int], Dim] = {}
        self.values: list[int] = []
        self.refs: list[int] = []
        self.blocked = 0   # sizes that vary but stay literals because the reference's is 0/1

    def dim(self, ref: int, n: int):
        ref, n = int(ref), int(n)
        if ref == n or n < 2 or ref < 2:
            if ref < 2 <= n:
                self.blocked += 1
            return n      # 0 and 1 shape the code (empty, broadcast): they stay literals
        d = self.dims.get((ref, n))
        if d is None:
            d = Dim(n, cdsl.Var(f"D{len(self.values)}", cdsl.i64))
            self.dims[(ref, n)] = d
            self.values.append(n)
            self.refs.append(ref)
        return d

    def aval(self, ref: ShapedArray, aval: ShapedArray) -> ShapedArray:
        if ref.shape == aval.shape:
            return aval
        return SymAval(tuple(self.dim(r, d) for r, d in zip(ref.shape, aval.shape)),
                       aval.dtype, aval.weak_type)

    def get(self, n: int, default=None):
        """The symbol whose value is n (the first one), else default."""
        for (_, v), d in self.dims.items():
            if v == n:
                return d
        return default

    def array(self) -> np.ndarray:
        return np.array(self.values or [0], np.int64)

    def prologue(self, dims_param) -> list:
        """`int64_t Dk = dims[k];` for every symbol (the start of each generated function)."""
        return [cdsl.Decl(cdsl.Var(f"D{k}", cdsl.i64),
                          cdsl.Load(dims_param, cdsl.Const(k, cdsl.i64), cdsl.i64))
                for k in range(len(self.values))]

    def product(self, ref_n: int, n: int):
        """A `Dim` equal to n that is k * (one to three symbols), with the same k and
        the symbols' reference values giving ref_n; None when there is none."""
        syms = list(self.dims.items())
        combos = [(r, v, d) for (r, v), d in syms]
        for i, ((r1, v1), d1) in enumerate(syms):
            for (r2, v2), d2 in syms[i:]:
                combos.append((r1 * r2, v1 * v2, d1 * d2))
                for (r3, v3), d3 in syms[i:]:
                    combos.append((r1 * r2 * r3, v1 * v2 * v3, d1 * d2 * d3))
        for r, v, d in combos:
            if n % v == 0 and ref_n % r == 0 and n // v == ref_n // r:
                return d * (n // v)
        return None

    def literal(self, ref: Lit, lit: Lit):
        """A float literal that differs from the reference's rendered from the symbols
        (see the module docstring); None to keep it a literal."""
        if lit.val.shape != () or lit.val.dtype.kind != "f" or ref.val.dtype != lit.val.dtype \
                or ref.val == lit.val or not self.dims:
            return None
        v, rv = float(lit.val), float(ref.val)
        if (v < 0) != (rv < 0) or v == 0 or rv == 0:
            return None
        neg, a, ra = v < 0, abs(v), abs(rv)
        ct = cdsl.ctype_from_numpy(lit.val.dtype)
        expr = None
        if a.is_integer() and ra.is_integer():
            d = self.product(int(ra), int(a))
            if d is not None and np.asarray(int(a), lit.val.dtype) == abs(lit.val):
                expr = cdsl.Cast(ct, _expr(d))
        elif a < 1 and ra < 1:
            n, rn = round(1.0 / a), round(1.0 / ra)
            d = self.product(rn, n)
            if d is not None and np.asarray(1.0 / n, lit.val.dtype) == abs(lit.val):
                expr = cdsl.BinOp("/", cdsl.Const(1.0, cdsl.f64), cdsl.Cast(cdsl.f64, _expr(d)),
                                  cdsl.f64)
                if ct != cdsl.f64:
                    expr = cdsl.Cast(ct, expr)
        if expr is not None and neg:
            expr = cdsl.UnOp("-", expr, ct)
        return expr


class SymLit(Lit):
    """A literal with the expression that renders it (see `SymbolTable.literal`)."""

    __slots__ = ("expr",)


class Mismatch(Exception):
    """The program and its reference differ in structure: no symbols."""


def symbolize(program: Program, reference: Program, table: SymbolTable) -> Program:
    """A copy of `program` whose sizes that differ from `reference` (walked in parallel,
    nested programs included) are `Dim`s of `table`. Raises Mismatch when the two programs
    do not have the same structure."""
    env: dict[int, Var] = {}

    def binders(vs, rvs):
        if len(vs) != len(rvs):
            raise Mismatch
        out = []
        for v, r in zip(vs, rvs):
            if v.aval.ndim != r.aval.ndim or v.aval.dtype != r.aval.dtype:
                raise Mismatch
            nv = Var(table.aval(r.aval, v.aval))
            env[v.id] = nv
            out.append(nv)
        return out

    def atoms(xs, rxs):
        if len(xs) != len(rxs):
            raise Mismatch
        out = []
        for a, r in zip(xs, rxs):
            if isinstance(a, Lit) != isinstance(r, Lit):
                raise Mismatch
            if isinstance(a, Lit):
                expr = table.literal(r, a)
                if expr is not None:
                    s = SymLit(a.val, a.aval)
                    s.expr = expr
                    a = s
                out.append(a)
            else:
                out.append(env[a.id])
        return out

    constvars = binders(program.constvars, reference.constvars)
    invars = binders(program.invars, reference.invars)
    if len(program.eqns) != len(reference.eqns):
        raise Mismatch
    eqns = []
    for e, r in zip(program.eqns, reference.eqns):
        if e.prim is not r.prim or e.params.keys() != r.params.keys():
            raise Mismatch
        ins = atoms(e.inputs, r.inputs)
        params = {k: _param(v, r.params[k], table) for k, v in e.params.items()}
        outs = binders(e.outputs, r.outputs)
        eqns.append(Eqn(e.prim, ins, params, outs))
    return Program(constvars, invars, eqns, atoms(program.outvars, reference.outvars))


def _param(v, r, table):
    if isinstance(v, Program):
        if not isinstance(r, Program):
            raise Mismatch
        return symbolize(v, r, table)
    if isinstance(v, ClosedProgram):
        if not isinstance(r, ClosedProgram):
            raise Mismatch
        return ClosedProgram(symbolize(v.program, r.program, table), v.consts)
    if isinstance(v, (tuple, list)) and v and all(
            isinstance(p, (Program, ClosedProgram)) for p in v):
        if not isinstance(r, (tuple, list)) or len(r) != len(v):
            raise Mismatch
        return type(v)(_param(p, q, table) for p, q in zip(v, r))
    return v


def structure_key(program: Program) -> tuple:
    """Programs with different keys cannot be symbolised against each other."""
    return (len(program.eqns), tuple(e.prim.name for e in program.eqns),
            tuple((v.aval.ndim, v.aval.dtype) for v in program.invars),
            tuple((v.aval.ndim, v.aval.dtype) for v in program.outvars))
