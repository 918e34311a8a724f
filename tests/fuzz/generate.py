"""Hypothesis strategies for fuzz programs.

`Builder` holds a program under construction: the pool of typed values, the dim table and the
draws. Each op's generator (`ops.py`) draws its operands from the pool (or makes a fresh
input of a compatible type) and its parameters, then emits itself. Every choice is a
hypothesis draw, so a failing program shrinks: ops are deleted, operands become the most
recent value, sizes move to the front of `values.SIZES`, styles to plain values.
"""
from __future__ import annotations

import itertools
import os

import numpy as np
from hypothesis import strategies as st

from .program import Input, Lit, Op, Program, sub_programs
from .values import (
    BIG_SIZES,
    BOOL,
    BOOL_STYLES,
    FLOAT_STYLES,
    GRAD_STYLE,
    I32,
    INDEX_DTYPES,
    INDEX_DTYPES_X64,
    INT_STYLES,
    LONG_SIZES,
    N_INSTANCES,
    ONE,
    SIZES,
    Dims,
    Type,
    is_float,
)

MAX_NUMEL = 1 << 16
MAX_NUMEL_BIG = 90_000
MAX_DEPTH = 2


_INTS: dict = {}


def _ints(lo: int, hi: int):
    s = _INTS.get((lo, hi))
    if s is None:
        s = _INTS[(lo, hi)] = st.integers(lo, hi)
    return s


class Reject(Exception):
    """This op cannot be generated here; the builder moves on to the next op."""


FLOAT_LITS = (0.5, 2.0, -1.5, 1.0, 3.0, 0.0, -0.25, 0.1, 7.0, 100.0, 1e-3)
SPECIAL_LITS = (float("nan"), float("inf"), -float("inf"), -0.0, 1e30, 65504.0, 1e-40)
INT_LITS = (2, 1, 3, 0, -1, 5, -7, 31, 2**31 - 1, -2**31)


class Builder:
    """One program (or body) under construction."""

    def __init__(self, draw, fdtype: str, x64: bool, mode: str, dims: Dims | None = None,
                 counter=None, depth: int = 0, parent: Builder | None = None,
                 allow_big: bool = True):
        self._draw = draw
        self.fdtype = fdtype
        self.x64 = x64
        self.mode = mode            # "value" or "grad" (smooth ops, generic values)
        self.dims = dims if dims is not None else Dims()
        self.counter = counter if counter is not None else itertools.count()
        self.depth = depth
        self.parent = parent
        self.pool: list[str] = []
        self.types: dict[str, Type] = parent.types if parent is not None else {}
        self.inputs: list[Input] = parent.inputs if parent is not None else []
        self.ops: list[Op] = []
        self.used: set[str] = set()
        self.allow_big = allow_big and parent is None
        self.has_big = False
        self.only = None            # restricts the op menu (see programs)

    # -- draws ---------------------------------------------------------------------------
    # Strategies are cached: building and validating a new strategy object for every draw
    # costs more than the draw itself.
    def draw(self, strategy):
        return self._draw(strategy)

    def choice(self, seq):
        seq = seq if isinstance(seq, (list, tuple)) else list(seq)
        return seq[self.integers(0, len(seq) - 1)] if len(seq) > 1 else seq[0]

    def integers(self, lo: int, hi: int) -> int:
        return self._draw(_ints(lo, hi))

    def flag(self, p_true: float = 0.5) -> bool:
        # A weighted boolean that shrinks to False.
        return self._draw(_ints(0, 99)) >= round(100 * (1 - p_true))

    def reject(self, why: str = ""):
        raise Reject(why)

    @property
    def grad(self) -> bool:
        return self.mode == "grad"

    def fresh(self, prefix: str = "v") -> str:
        return f"{prefix}{next(self.counter)}"

    # -- dims and types ------------------------------------------------------------------
    def new_dim(self, allow_zero: bool = True, pinned: bool = False, big: bool = False) -> int:
        sizes = SIZES if allow_zero and not self.grad else tuple(s for s in SIZES if s)
        if big and self.allow_big and not self.has_big and self.flag(0.04):
            s = self.choice(BIG_SIZES)
            self.has_big = True
            return self.dims.new([s] * N_INSTANCES)
        s0 = self.choice(sizes)
        if pinned or self.flag(0.3):
            return self.dims.new([s0] * N_INSTANCES)
        rest = [self.choice(sizes) for _ in range(N_INSTANCES - 1)]
        return self.dims.new([s0] + rest)

    def known_dims(self) -> list[int]:
        return [d for d in self.dims.ids if d != ONE]

    def rand_dims(self, rank: int | None = None, min_rank: int = 0, max_rank: int = 4) -> tuple:
        if rank is None:
            rank = self.integers(min_rank, max_rank)
        out = []
        known = self.known_dims()
        for _ in range(rank):
            how = self.integers(0, 3) if known else 3
            if how in (0, 1):
                out.append(self.choice(known))
            elif how == 2:
                out.append(ONE)
            else:
                d = self.new_dim(big=True)
                out.append(d)
                known = self.known_dims()
        dims = tuple(out)
        self.check_numel(dims)
        return dims

    def check_numel(self, dims) -> None:
        lim = MAX_NUMEL_BIG if self.has_big else MAX_NUMEL
        if self.dims.numel(dims) > lim:
            self.reject("too many elements")

    def require_nonempty(self, dims) -> None:
        """Reductions without an identity need non-empty axes in every instance (a size
        cannot be changed afterwards: derived dims were computed from it)."""
        for d in dims:
            if min(self.dims.all_sizes(d)) == 0:
                self.reject("empty axis")

    def pin(self, *dims) -> None:
        self.dims.pin(*dims)

    def compat_dims(self, dims, grow: bool = True) -> tuple:
        """A random shape that broadcasts with `dims` (trailing-aligned); with `grow` it may
        have one more (leading, size 1) axis."""
        drop = self.integers(0, len(dims)) if dims and self.flag(0.4) else 0
        out = []
        for d in dims[drop:]:
            out.append(ONE if self.flag(0.25) else d)
        if grow and self.flag(0.1) and len(out) < 4:
            out.insert(0, ONE)
        return tuple(out)

    # -- values --------------------------------------------------------------------------
    def new_input(self, t: Type, style: str | None = None, kind: str = "array",
                  bound: int | None = None, oob: bool = False, unique: bool = False,
                  span: tuple | None = None, extremes: bool = False) -> str:
        root = self._root()
        if style is None:
            style = self.default_style(t.dtype)
        name = self.fresh("x")
        seed = self.integers(0, 2**16)
        inp = Input(name, t.with_(weak=False), style, seed, kind, bound, oob, unique, span,
                    extremes)
        root.inputs.append(inp)
        root.types[name] = inp.type
        if kind == "index" and t.dtype != I32:
            # only the op it was made for reads an index input of another integer type
            # (values.INDEX_DTYPES): the other ops' type rules know int32 alone
            return name
        # An input made while generating a body is still an argument of the whole program.
        root.pool.append(name)
        if self is not root:
            self.pool.append(name)
        return name

    def index_dtype(self) -> str:
        """The integer dtype of a new index input: int32 (what a draw shrinks to) or any
        other (values.INDEX_DTYPES; the 64-bit ones with 64-bit types on)."""
        if not self.flag(0.6):
            return I32
        return self.choice([d for d in (INDEX_DTYPES_X64 if self.x64 else INDEX_DTYPES)
                            if d != I32])

    def long_type(self, make) -> Type:
        """`make()`, or (sometimes) a fresh type of rank 1 or 2 with an axis longer than
        int8 or uint8 can index (values.LONG_SIZES) for an index op's operand."""
        if not self.flag(0.2):
            return make()
        d = self.dims.new([self.choice(LONG_SIZES)] * N_INSTANCES)
        dims = (d,) if self.flag(0.5) else self.choice([(d, self.new_dim()),
                                                        (self.new_dim(), d)])
        self.check_numel(dims)
        return Type(dims, self.choice(self.value_dtypes()))

    def default_style(self, dtype: str) -> str:
        if dtype == BOOL:
            return self.choice(BOOL_STYLES)
        if dtype == I32:
            return self.choice(INT_STYLES)
        if self.grad:
            return GRAD_STYLE
        return self.choice(FLOAT_STYLES)

    def _root(self) -> Builder:
        b = self
        while b.parent is not None:
            b = b.parent
        return b

    def visible(self) -> list[str]:
        """Values this builder may use: its own and (for a body) the enclosing ones."""
        if self.parent is None:
            return list(self.pool)
        return self.parent.visible_before_child() + [v for v in self.pool
                                                     if v not in self.parent.pool]

    def visible_before_child(self) -> list[str]:
        return self.visible()

    def pick(self, pred=lambda t: True, make=None) -> str:
        """An operand: index 0 is the most recent matching value; the last choice (or no
        candidate) makes a fresh input with `make()`'s type."""
        cands = [v for v in reversed(self.visible()) if pred(self.types[v])]
        if make is None and not cands:
            self.reject("no operand")
        hi = len(cands) if make is not None else len(cands) - 1
        i = self.integers(0, hi) if hi > 0 else 0
        if i < len(cands):
            name = cands[i]
        else:
            t = make()
            if not pred(t):
                self.reject("fresh input does not fit")
            name = self.new_input(t)
        return name

    def any_type(self, dtypes=None, min_rank: int = 0, max_rank: int = 4) -> Type:
        dtypes = dtypes or self.value_dtypes()
        return Type(self.rand_dims(min_rank=min_rank, max_rank=max_rank), self.choice(dtypes))

    def value_dtypes(self) -> tuple:
        if self.grad:
            return (self.fdtype,)
        return (self.fdtype, self.fdtype, self.fdtype, I32, BOOL)

    def pick_float(self, min_rank: int = 0, allow_int: bool = True) -> str:
        ok = (lambda t: (is_float(t.dtype) or (allow_int and not self.grad
                                                and t.dtype == I32))
              and t.rank >= min_rank)
        return self.pick(ok, lambda: Type(self.rand_dims(min_rank=min_rank), self.fdtype))

    def lit_float(self) -> Lit:
        if not self.grad and self.flag(0.15):
            return Lit(self.choice(SPECIAL_LITS))
        return Lit(self.choice(FLOAT_LITS))

    def lit_int(self) -> Lit:
        return Lit(self.choice(INT_LITS))

    def axis(self, rank: int) -> int:
        return self.integers(-rank, rank - 1)

    def emit(self, name: str, args, params: dict, types) -> list[str]:
        for t in types:
            self.check_numel(t.dims)
        outs = tuple(self.fresh() for _ in types)
        for a in args:
            if isinstance(a, str):
                self.used.add(a)
                b = self.parent
                while b is not None:
                    b.used.add(a)
                    b = b.parent
        self.ops.append(Op(name, tuple(args), dict(params), outs, tuple(types)))
        for o, t in zip(outs, types):
            self.types[o] = t
            self.pool.append(o)
        return list(outs)

    # -- bodies --------------------------------------------------------------------------
    def child(self) -> Builder:
        return Builder(self._draw, self.fdtype, self.x64, self.mode, self.dims, self.counter,
                       self.depth + 1, parent=self)

    def sinks(self) -> list[str]:
        produced = [o for op in self.ops for o in op.outs]
        return [o for o in produced if o not in self.used]


def _boost() -> dict:
    """{op name: weight factor} from FUNCGRAD_FUZZ_BOOST ('while_loop:6,cond:4'), set by
    `python -m tests.fuzz --boost`."""
    out = {}
    for part in os.environ.get("FUNCGRAD_FUZZ_BOOST", "").split(","):
        name, _, k = part.strip().partition(":")
        if name:
            out[name] = int(k or 4)
    return out


def op_menu(mode: str, depth: int, only=None) -> list[str]:
    from .ops import OPS
    boost = _boost()
    unknown = set(boost) - set(OPS)
    if unknown:
        raise ValueError(f"FUNCGRAD_FUZZ_BOOST names unknown ops {sorted(unknown)}")
    menu = []
    for name, spec in OPS.items():
        if only is not None and name not in only:
            continue
        if mode == "grad" and not spec.grad_ok:
            continue
        if spec.control and depth >= MAX_DEPTH:
            continue
        menu.extend([name] * (spec.weight * boost.get(name, 1)))
    return menu


def fill(b: Builder, n_ops: int) -> None:
    """Generate `n_ops` ops into `b` (rejected choices are skipped)."""
    from .ops import OPS
    menu = op_menu(b.mode, b.depth, b._root().only)
    for _ in range(n_ops):
        name = b.choice(menu)
        try:
            OPS[name].gen(b, name)
        except Reject:
            continue


@st.composite
def programs(draw, fdtype: str, x64: bool, mode: str, name: str = "prog",
             min_ops: int = 2, max_ops: int = 20, only=None):
    """A program of `min_ops`..`max_ops` ops over float dtype `fdtype` (drawn from the ops
    named in `only`, when given)."""
    b = Builder(draw, fdtype, x64, mode)
    b.only = only
    n = draw(_ints(min_ops, max_ops))
    fill(b, n)
    outs = b.sinks()
    if mode == "grad":
        outs = [o for o in outs if is_float(b.types[o].dtype)]
    if not outs:
        produced = [o for op in b.ops for o in op.outs]
        if mode == "grad":
            produced = [o for o in produced if is_float(b.types[o].dtype)]
        if not produced:
            from hypothesis import reject
            reject()
        outs = produced[-1:]
    # Pinning a dim after a value's type was checked (check_numel) makes the value as large
    # as the product of its dims' largest sizes: an input of 1.6e9 elements (12 GB, and the
    # fuzz process killed by the OOM killer) while shrinking a seed-99 finding.
    lim = MAX_NUMEL_BIG if b.has_big else MAX_NUMEL
    if any(b.dims.numel(t.dims) > 4 * lim for t in b.types.values()):
        from hypothesis import reject
        reject()
    prog = Program(name, list(b.inputs), b.ops, outs, b.dims, fdtype, x64,
                   types=dict(b.types))
    _scalar_params(b, prog)
    _drop_unused_inputs(prog)
    return prog


_PARAM_OPS = None


def _scalar_params(b: Builder, prog: Program) -> None:
    """Turn some literals into scalar arguments of the program: Python scalars passed to a
    jitted function are traced as weakly typed values (or are static with
    `static_argnums`), and must behave exactly like the literal."""
    global _PARAM_OPS
    if _PARAM_OPS is None:
        from .ops import _BINARY, _INT_ONLY
        _PARAM_OPS = set(_BINARY) | set(_INT_ONLY) | {"where", "at"}
    k = 0

    def visit(p: Program):
        nonlocal k
        for op in p.ops:
            if op.name in _PARAM_OPS and not str(op.params.get("spell", "")).startswith("lax."):
                for a in op.args:
                    if isinstance(a, Lit) and a.param is None and b.flag(0.15):
                        a.param = f"s{k}"
                        k += 1
            for sub in sub_programs(op):
                visit(sub)
    visit(prog)


def _drop_unused_inputs(prog: Program) -> None:
    used = set(prog.outputs)

    def collect(p):
        for op in p.ops:
            used.update(a for a in op.args if isinstance(a, str))
            for v in sub_programs(op):
                collect(v)
                used.update(v.outputs)
    collect(prog)
    prog.inputs = [i for i in prog.inputs if i.name in used]


def numpy_seed(draw) -> int:
    return draw(st.integers(0, 2**31 - 1))


__all__ = ["Builder", "Reject", "fill", "np", "numpy_seed", "programs"]
