"""A fuzz program as data, its Python source, and its NumPy oracle.

A `Program` is a list of `Op`s over named values. It is rendered as Python source that calls
funcgrad (`render`), and that exact source is what runs, so a printed program is its own
reproducer. The oracle (`evaluate`) interprets the same ops with each op's NumPy
implementation in float64, rounding every float result to the op's dtype (and wrapping
every integer result), which is how a correctly rounded implementation of the program's
dtype behaves. With a `Perturb` it also adds, after every op, a random error of the size an
accurate implementation may make (a few ulps, or a summation error bound): the spread of a
few perturbed runs is how sensitive each output is, and it sets the comparison tolerance.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from .values import (HALF, NP, Dims, Type, finfo, gen_values, index_values, is_float, is_int,
                     kind)

INT_MIN, INT_MAX = -2**31, 2**31 - 1
MAX_INPUT_ELEMENTS = 1 << 24


@dataclasses.dataclass
class Lit:
    """A Python scalar written into the source (weakly typed, as in JAX), or passed as the
    program's scalar argument `param` (static under `jit(static_argnums=...)`)."""
    value: Any
    param: str | None = None

    def src(self) -> str:
        if self.param is not None:
            return self.param
        text = py_literal(self.value)
        # `-1 ** x` is -(1 ** x) in Python: a negative literal operand needs parentheses.
        return f"({text})" if text.startswith("-") else text


@dataclasses.dataclass
class Input:
    """An array argument: values drawn from `style` with `seed`, or indices of the type's
    integer dtype into an axis of length `bound` (a dim id) when `kind == 'index'`, within
    `span` (inclusive limits, None: the dtype's range), some of them the dtype's extremes
    with `extremes` (values.index_values)."""
    name: str
    type: Type
    style: str
    seed: int
    kind: str = "array"
    bound: int | None = None
    oob: bool = False
    unique: bool = False
    span: tuple | None = None
    extremes: bool = False

    def index_draw(self, dims: Dims, inst: int, seed: int) -> np.ndarray:
        """This index input's values at instance `inst`, drawn with `seed`."""
        return index_values(dims.shape(self.type.dims, inst), dims.size(self.bound, inst),
                            seed, inst, self.oob, self.unique, self.type.dtype, self.span,
                            self.extremes)

    def values(self, dims: Dims, inst: int) -> np.ndarray:
        shape = dims.shape(self.type.dims, inst)
        if math.prod(shape) > MAX_INPUT_ELEMENTS:
            # (the generator keeps programs far below this; a bug there must not take the
            # machine's memory: the OOM killer ended a run at 24 GB)
            raise OracleError(f"input {self.name} of shape {shape} is too large")
        if self.kind == "index":
            return self.index_draw(dims, inst, self.seed)
        if self.kind == "nonzero":
            v = gen_values(shape, self.type.dtype, self.style, self.seed, inst)
            return np.where(v == 0, 3, v).astype(v.dtype)
        return gen_values(shape, self.type.dtype, self.style, self.seed, inst)


@dataclasses.dataclass
class Op:
    name: str
    args: tuple            # value names (str) or Lit
    params: dict
    outs: tuple            # names
    types: tuple           # Type per out


@dataclasses.dataclass
class Program:
    """Ops over `inputs` (and, for a body, its formal `args`); returns `outputs`."""
    name: str
    inputs: list
    ops: list
    outputs: list
    dims: Dims
    fdtype: str
    x64: bool = False
    args: list = dataclasses.field(default_factory=list)   # body formals: (name, Type)
    types: dict = dataclasses.field(default_factory=dict)  # name -> Type

    def op_names(self) -> set:
        names = set()
        for op in self.ops:
            names.add(op.name)
            for sub in sub_programs(op):
                names |= sub.op_names()
        return names

    def size(self) -> int:
        return sum(1 + sum(sub.size() for sub in sub_programs(op)) for op in self.ops)

    def scalar_params(self) -> list:
        """(name, value) of every literal passed as a scalar argument."""
        out = []
        for op in self.ops:
            out.extend((a.param, a.value) for a in op.args
                       if isinstance(a, Lit) and a.param is not None)
            for sub in sub_programs(op):
                out.extend(sub.scalar_params())
        return out


def sub_programs(op: Op) -> list:
    subs = []
    for v in op.params.values():
        if isinstance(v, Program):
            subs.append(v)
        elif isinstance(v, tuple) and v and all(isinstance(x, Program) for x in v):
            subs.extend(v)
    return subs


def free_names(op: Op) -> set:
    """Every value name `op` reads: its arguments and what its bodies read (closures)."""
    names = {a for a in op.args if isinstance(a, str)}
    for sub in sub_programs(op):
        names.update(sub.outputs)
        for o in sub.ops:
            names |= free_names(o)
    return names


def slice_program(prog: Program, keep: list[int]) -> Program:
    """`prog` returning only its outputs `keep`, without the ops and inputs they do not
    need (a reduction step after shrinking)."""
    outputs = [prog.outputs[j] for j in keep]
    needed = set(outputs)
    ops = []
    for op in reversed(prog.ops):
        if any(o in needed for o in op.outs):
            ops.append(op)
            needed |= free_names(op)
    ops.reverse()
    inputs = [i for i in prog.inputs if i.name in needed]
    return dataclasses.replace(prog, inputs=inputs, ops=ops, outputs=outputs)


def py_literal(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return repr(bool(v))
    if isinstance(v, (int, np.integer)):
        return repr(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        if math.isnan(f):
            return "float('nan')"
        if math.isinf(f):
            return "float('inf')" if f > 0 else "-float('inf')"
        return repr(f)
    if isinstance(v, tuple):
        inner = ", ".join(py_literal(x) for x in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    if v is None:
        return "None"
    if isinstance(v, str):
        return repr(v)
    raise TypeError(f"no literal for {v!r}")


def np_literal(a: np.ndarray) -> str:
    """Exact standalone source for a NumPy array."""
    a = np.asarray(a)
    dt = "ml_dtypes.bfloat16" if a.dtype == NP["bfloat16"] else f"np.{a.dtype.name}"
    if a.size > 48:
        return (f"np.frombuffer(bytes.fromhex('{a.tobytes().hex()}'), dtype={dt})"
                f".reshape({py_literal(tuple(int(s) for s in a.shape))})")
    if kind(a.dtype) == "f":
        def fmt(x):
            x = float(x)
            if math.isnan(x):
                return "np.nan"
            if math.isinf(x):
                return "np.inf" if x > 0 else "-np.inf"
            return repr(x)
    elif a.dtype.kind == "b":
        def fmt(x):
            return repr(bool(x))
    else:
        def fmt(x):
            return repr(int(x))
    if a.ndim == 0:
        return f"np.array({fmt(a[()])}, dtype={dt})"
    if a.size == 0:
        return f"np.zeros({py_literal(tuple(int(s) for s in a.shape))}, dtype={dt})"

    def nest(x):
        if x.ndim == 1:
            return "[" + ", ".join(fmt(v) for v in x) + "]"
        return "[" + ", ".join(nest(s) for s in x) + "]"
    return f"np.array({nest(a)}, dtype={dt})"


# ---------------------------------------------------------------------------------------
# Rendering

def render(prog: Program, indent: str = "") -> list[str]:
    """Source lines of `def <name>(<inputs>): ... return (<outputs>,)`."""
    from .ops import OPS
    formals = [i.name for i in prog.inputs] + [a for a, _ in prog.args] + \
        ([n for n, _ in prog.scalar_params()] if not prog.args else [])
    lines = [f"{indent}def {prog.name}({', '.join(formals)}):"]
    body = indent + "    "
    for op in prog.ops:
        spec = OPS[op.name]
        args = [a.src() if isinstance(a, Lit) else a for a in op.args]
        pre, expr = spec.source(args, op.params, op, body)
        lines.extend(pre)
        lhs = ", ".join(op.outs) + ("," if len(op.outs) == 1 and spec.tuple_out else "")
        lines.append(f"{body}{lhs} = {expr}")
    outs = ", ".join(prog.outputs)
    lines.append(f"{body}return ({outs},)" if prog.outputs else f"{body}return ()")
    return lines


# ---------------------------------------------------------------------------------------
# The oracle

EPS = {"float16": 2.0 ** -10, "bfloat16": 2.0 ** -7, "float32": 2.0 ** -23,
       "float64": 2.0 ** -52}
TINY = {name: float(finfo(NP[name]).tiny) for name in EPS}
# The spacing of the subnormals: an op's ulps of error are at least this many absolute
# (a relative error model alone rounds every perturbation of a subnormal result away, and
# deg2rad(x) in float16, x times float16(pi/180), 1 ulp from the correctly rounded value
# below 2^-14, looked exact; seed 20261601).
SUBNORMAL = {name: float(finfo(NP[name]).smallest_subnormal) for name in EPS}


def acc_eps(dtype: str) -> float:
    """Rounding unit of accumulations: float16 sums and products accumulate in float32 (as
    JAX's reductions and XLA's CPU dots do)."""
    return EPS["float32"] if dtype in HALF else EPS[dtype]


def growth(n: int) -> float:
    """Error growth of an n-term sum relative to sum(|x|): pairwise log2(n) plus slack for
    blocked/sequential orders."""
    return 2.0 + math.log2(max(n, 1)) + math.sqrt(max(n, 1)) / 4.0


def acc_subnormal(k: int, mag, dtype: str, acc: str | None = None):
    """The error of an accumulation of `k` terms beyond its relative bound, where the sum of
    the terms' magnitudes `mag` is nonzero: a product or partial sum in the subnormal range
    is rounded to the accumulator's subnormal spacing, a relative error up to 1, and the
    result to its own type's. A float32 convolution's output of -2.5876e-41 was -2.5878e-41
    (1 spacing, 1.4e-45) in another order, and a matmul by 1.7e26 after it moved 1.2e-15
    by 2e-19, 3,000 times its tolerance (seed 20261947, long run)."""
    acc = acc or ("float32" if dtype in HALF else dtype)
    return np.where(np.asarray(mag) > 0, k * SUBNORMAL[acc] + SUBNORMAL[dtype], 0.0)


def acc_overflow(err, mag, dtype: str, acc: str | None = None):
    """`err`, or NaN where `mag` (the sum of the magnitudes of an accumulation's terms)
    exceeds the accumulator's range. The oracle sums in float64, but a float32 sum whose
    partial sums pass the largest float32 may give +-inf or NaN (inf - inf) depending on
    the order, so any class is possible there: a NaN error makes the perturbed runs NaN
    there, which marks the element (and what depends on it) unstable. float16 sums and
    products accumulate in float32 (JAX's reductions and dots) unless `acc` says
    otherwise."""
    acc = acc or ("float32" if dtype in HALF else dtype)
    with np.errstate(invalid="ignore"):
        return np.where(np.asarray(mag) > float(finfo(NP[acc]).max), np.nan, err)


# Set while the oracle runs in exact mode (float64 throughout, for finite differences):
# then no float value is rounded to a narrower dtype, operands included.
_EXACT = [False]


def fix(value, t: Type) -> np.ndarray:
    """Round a float64 result to `t`'s float dtype, or wrap an integer result to its
    integer dtype; returns the oracle representation (float64 / int64 / bool)."""
    a = np.asarray(value)
    if is_float(t.dtype):
        if _EXACT[0] or t.dtype == "float64":
            return a.astype(np.float64)
        if a.dtype.kind in "fiub" and a.dtype != np.float64:
            a = a.astype(np.float64)
        # float64 -> dtype: the overflow to inf is the rounding we model
        with np.errstate(over="ignore", invalid="ignore"):
            return a.astype(NP[t.dtype]).astype(np.float64)
    if t.dtype == "bool":
        return a.astype(bool)
    if is_int(t.dtype):
        if a.dtype.kind == "f":
            raise AssertionError("fuzz oracle: integer op produced floats")
        bits = 32 if t.dtype == "int32" else 64
        a = a.astype(np.int64)
        if bits == 32:
            a = ((a - INT_MIN) % (1 << 32)) + INT_MIN
        return a.astype(np.int64)
    with np.errstate(over="ignore", invalid="ignore"):
        return a.astype(np.float64).astype(NP[t.dtype]).astype(np.float64)


def to_oracle(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    if kind(a.dtype) == "f":
        return a.astype(np.float64)
    if a.dtype == np.uint64:
        # (an index input's: its values past 2^63 do not fit int64; the index ops' oracles
        # read them through ops_array.index_ints)
        return a.copy()
    if a.dtype.kind in "iu":
        return a.astype(np.int64)
    return a.astype(bool)


# Elementwise ops whose result is bool or integer (exact) from float operands; see
# Perturb.lost_in.
ELEMENTWISE_TO_EXACT = frozenset({"less", "less_equal", "greater", "greater_equal", "equal",
                                  "not_equal", "isfinite", "isinf", "isnan", "signbit",
                                  "astype"})
# Ops whose float result drops or replaces a NaN operand: where the operand's NaN marks a
# value that lost all accuracy, their result there is itself unknown (NaN in the run).
NAN_CONSUMERS_ELEMENTWISE = frozenset({"nan_to_num", "fmax", "fmin"})
# Elementwise ops (filled by ops.py's unary and binary families): a lost operand element
# makes only the same output element unknown.
ELEMENTWISE_OPS: set = set()
NAN_CONSUMERS = NAN_CONSUMERS_ELEMENTWISE | {"nansum", "nanmax", "nanmin", "nanmean",
                                             "nanvar", "nanstd", "nanmedian", "nanquantile"}


def total_order_rank(x) -> np.ndarray:
    """Dense ranks of `x`'s elements (equal values, equal ranks) in XLA's total order, the
    order of lax.top_k and lax.sort: -NaN < -inf < ... < -0 < +0 < ... < +inf < +NaN."""
    x = np.asarray(x, np.float64)
    flat = x.reshape(-1)
    nan = np.isnan(flat)
    cls = np.where(nan, np.where(np.signbit(flat), 0, 2), 1)
    val = np.where(nan, 0.0, flat)
    zero_sign = (flat == 0) & ~np.signbit(flat)          # +0 above -0
    order = np.lexsort((zero_sign, val, cls))
    keys = np.stack([cls, val, zero_sign])[:, order]
    new = np.concatenate([[False], (keys[:, 1:] != keys[:, :-1]).any(axis=0)])
    rank = np.empty(flat.shape, np.int64)
    rank[order] = np.cumsum(new)
    return rank.reshape(x.shape)


def nan_consumer(op) -> bool:
    """Whether `op` skips NaN operands, so that a lost ("anything") operand element would
    not show as NaN in its result: the NAN_CONSUMERS, and `cumsum` drawn as `nancumsum`
    (fixed seed 20261130: gelu(-8.657) moved by its error model and lost, then
    nancumsum read the NaN as 0 and the output looked exact)."""
    return op.name in NAN_CONSUMERS or (op.name == "cumsum" and
                                        op.params.get("fn") == "nancumsum")


class Perturb:
    """Random per-op errors for one perturbed oracle run.

    The sign of a NaN is not meaningful (XLA does not define it, and funcgrad's backends
    differ): every NaN an op produces gets sign `nan_sign` in this run, and consecutive
    runs use opposite signs, so whatever depends on a NaN's sign (signbit, copysign) is
    unstable and not compared."""

    def __init__(self, seed: int, nan_sign: float = 1.0, base: dict | None = None,
                 sign: float | None = None):
        self.rng = np.random.default_rng(seed)
        self.nan_sign = nan_sign
        self.base = base or {}
        # None: every element errs in a random direction; +1 / -1: every op errs the same
        # way (an extreme corner of the error box, which three random runs rarely reach:
        # ceil(rad2deg(x)) of a value 1 ulp from an integer); ("bit", k): the n-th op to
        # err does so downwards where bit k of n is set, upwards elsewhere. Bit 0 makes
        # consecutive ops err in opposite directions, the corner where an op's error adds
        # to that of an operand it subtracts (x - tanh(x): in the same-sign corners they
        # cancel, and so they did in all three random runs for 1 of 64 elements, whose
        # vectorised tanh was 1.5 ulps off; seed 20261601). With bits 0..K any two ops err
        # in opposite directions in at least one corner, wherever they sit in the program:
        # bit 0 alone missed a pair an even number of ops apart, whose errors cancelled
        # there and in the same-sign corners (float16 log10 of the row maximum, then
        # x2 - it; seed 20261926).
        self.sign = sign
        self._calls = 0
        # each float value's own error bound in this run (the op's rounding error, without
        # what its operands carried in), for `err_of`
        self.errs: dict[str, np.ndarray] = {}
        # where each bool or integer value of this run is "anything" (`lose`): the NaN of
        # a value that has no NaN, for `lost_elements`
        self.anything: dict[str, np.ndarray] = {}

    def err_of(self, name, shape) -> np.ndarray:
        """Value `name`'s own error bound in this run, broadcast to `shape` (0 where there is
        none or it is not finite: a literal, an input, an exact op, "anything"). The
        perturbed runs move a value by it in a few directions, and may all miss where it
        matters: the two halves of p0 * 1 + p1 * (-1) with p0 == p1 err the same way in
        the same-sign runs and in half the random ones, and where they do the exact 0
        stays 0, though an accurate implementation may leave a residue there (seed
        20261922's attention output, counted by count_nonzero)."""
        e = self.errs.get(name) if isinstance(name, str) else None
        if e is None:
            return np.zeros(shape)
        e = np.asarray(e, np.float64)
        if np.size(e) != 1 and e.shape != tuple(shape):
            return np.zeros(shape)
        return np.broadcast_to(np.where(np.isfinite(e), e, 0.0), shape)

    def drift(self, name: str, out: np.ndarray) -> np.ndarray:
        """`out` (value `name` of this perturbed run), NaN where it moved from the base run's
        value by more than a quarter of that value's size. Such a value has no accurate
        digit left (an accumulation in float16 fed to sin, a difference of nearly equal
        numbers): what is computed from it downstream (a floor, a comparison, a sort) is
        arbitrary too, and three perturbed runs can miss that when the function between is
        not monotonic. A NaN makes every element that depends on it unstable."""
        b = self.base.get(name)
        if b is None or np.shape(b) != out.shape or out.dtype.kind != "f" or not out.size:
            return out
        with np.errstate(invalid="ignore", over="ignore"):
            lost = np.isfinite(b) & np.isfinite(out) & (np.abs(out - b) > 0.25 * np.abs(b))
        if not lost.any():
            return out
        return np.where(lost, np.copysign(np.nan, self.nan_sign), out)

    def lost_elements(self, name, a) -> np.ndarray | None:
        """Where this run's value `a` (named `name`) is lost, as a mask of its shape: a
        float's NaN where the base run's value is a number, or a number where it is NaN
        (see `lost_in`); a bool's or integer's "anything" mark (`lose`). None where none
        is (or without a base value for a float)."""
        if not isinstance(name, str):
            return None
        a = np.asarray(a)
        if a.dtype.kind in "biu":
            m = self.anything.get(name)
            return m if m is not None and m.shape == a.shape and m.any() else None
        b = self.base.get(name)
        if b is None or a.dtype.kind != "f" or np.shape(b) != a.shape:
            return None
        lost = np.isnan(a) != np.isnan(np.asarray(b, np.float64))
        return lost if lost.any() else None

    def lost_in(self, op, args, floats: bool = True) -> np.ndarray | bool | None:
        """Where this perturbed run's arguments of `op` are lost (`lost_elements`): a float
        holding a NaN that the base run's does not (a value that lost all accuracy, or
        "any result"), or a number where the base run's holds a NaN ("any result" at a
        base NaN, which `apply` makes 0.0, or a NaN the errors moved away), or a bool or
        integer marked "anything"; as a mask broadcast to the op's output for elementwise
        ops (and for take_along_axis where only its index is lost: the index has the
        output's shape) and True (all of it) for the others; None where there is none
        (`floats=False`: the bool and integer arguments only). A comparison of such a NaN
        is False, which may equal the base run's result and look stable (rint(cos(rad2deg(x)))
        sorted, compared with <=, seed 88): `unsettle` makes the non-float results there
        differ from it. The number standing for "anything" may map back to the base run's
        NaN downstream (log2(x1 - floor(0.0)) with x1 < 0 is NaN, as is
        log2(x1 - floor(NaN)): a GRU whose float32 gates overflow, with C's FMA dot giving
        -inf, then h = -1 and 0.0; seed 1515), so it is lost there too."""
        masks = {}
        for k, (name, a) in enumerate(zip(op.args, args)):
            if not floats and np.asarray(a).dtype.kind == "f":
                continue
            lost = self.lost_elements(name, a)
            if lost is not None:
                masks[k] = lost
        if not masks:
            return None
        if op.name == "take_along_axis" and list(masks) == [1]:
            return masks[1]
        if op.name not in ELEMENTWISE_TO_EXACT and op.name not in NAN_CONSUMERS_ELEMENTWISE \
                and op.name not in ELEMENTWISE_OPS:
            return True
        out = None
        for m in masks.values():
            out = m if out is None else out | m
        return out

    def within_reach(self, op, args, base_args) -> np.ndarray | None:
        """Where comparison `op` of this run's operands `args` may go either way, as a mask
        of its output; `base_args` are the base run's operands (both converted to the dtype
        compared; None without a base value: inside a loop body). An accurate
        implementation may give each operand anywhere in its error interval, so where the
        operands' perturbations |a - a_base| + |b - b_base| reach their base distance
        |a_base - b_base| the intervals overlap and the result is not determined. The
        perturbed operands alone do not show it for `==` and `!=`, whose result changes
        only where they land exactly on each other: x == hypot(x, 0.1) in float16, where
        JAX's hypot gives x (2.671875) and the correctly rounded 2.673828 is 1 ulp away,
        stayed False in every run, so funcgrad's True (JAX's too) was reported (seed
        20261214); nor for `<=` at an exact tie of operands that err the same way in the
        runs where every op errs alike. Exactly computed operands (inputs, exact ops) do
        not move, so their comparisons stay checked, as does a value compared with
        itself."""
        if base_args is None or any(b is None for b in base_args):
            return None
        if len(op.args) == 2 and isinstance(op.args[0], str) and op.args[0] == op.args[1]:
            return None
        a, b = (np.asarray(x).astype(np.float64) for x in args)
        a0, b0 = (np.asarray(x).astype(np.float64) for x in base_args)
        if a.shape != a0.shape or b.shape != b0.shape:
            return None
        with np.errstate(invalid="ignore", over="ignore"):
            # A move to or from an infinity (65504 + 2 ulps in float16) is no measure of
            # the interval's other side, and is compared as it is: no reach of its own.
            moved = np.where(np.isfinite(a) & np.isfinite(a0), np.abs(a - a0), 0.0) + \
                np.where(np.isfinite(b) & np.isfinite(b0), np.abs(b - b0), 0.0)
            # or the operands' own error bounds, which the perturbed runs may all have
            # missed (see err_of)
            own = self.err_of(op.args[0], a0.shape) + self.err_of(op.args[1], b0.shape)
            moved = np.maximum(moved, own)
            reach = (moved > 0) & (moved >= np.abs(a0 - b0))
        return reach if reach.any() else None

    def order_within_reach(self, name, x, axis: int | None, nan_low: bool = False,
                           total_order: bool = False) -> np.ndarray | None:
        """Where the order of this run's `x` (value `name`) along `axis` (None: flattened)
        may go either way, as a mask over the positions of a stable ascending sort of each
        lane (`x`'s shape, or flat); None where nothing may (or without a base value).
        Two elements whose moves from the base run reach their base distance (the rule of
        `within_reach`) may come in either order, and so may every sorted position
        between them; where one of them is the lane's maximum, argmax may go either way.
        The perturbed values alone rarely show it: argmax and argsort of hypot(x, 0.1) at
        two float16 values 1 ulp apart were checked for 11 of 40 seeds. Values that did
        not move (inputs, exact ops) keep their order, and equal ones the tie rule (first
        occurrence, stable sort); a NaN, an infinity and a move to or from one reach
        nothing (NaNs sort last; `nan_low`: first, as nanargmax skips them; `total_order`:
        by sign, as in lax.top_k, see total_order_rank). A position's
        mask depends only on the sorted values, so it is the same for every element of a
        run of equal values and a descending sort's is this one reversed."""
        b = self.base.get(name) if isinstance(name, str) else None
        x = np.asarray(x)
        if b is None or x.dtype.kind != "f" or np.shape(b) != x.shape or not x.size or \
                x.ndim == 0:
            return None
        x, x0 = x.astype(np.float64), np.asarray(b, np.float64)
        if axis is None:
            x, x0, axis = x.reshape(-1), x0.reshape(-1), 0
        if nan_low:
            x, x0 = (np.where(np.isnan(v), -np.inf, v) for v in (x, x0))
        x, x0 = np.moveaxis(x, axis, -1), np.moveaxis(x0, axis, -1)
        with np.errstate(invalid="ignore", over="ignore"):
            m = np.where(np.isfinite(x) & np.isfinite(x0), np.abs(x - x0), 0.0)
            if not (m > 0).any():
                return None
            order = np.argsort(total_order_rank(x0) if total_order else x0, axis=-1,
                               kind="stable")
            s0, m = np.take_along_axis(x0, order, -1), np.take_along_axis(m, order, -1)
            hi, lo = s0 + m, s0 - m         # NaN for a NaN: never reaches
            moved = m > 0
            # The cut between sorted positions c and c + 1 is crossed where some a <= c and
            # b > c reach: hi[a] >= lo[b], one of them moved (two unmoved equal values are
            # an exact tie). Position p may change where a cut next to it is crossed.
            hi_all = np.fmax.accumulate(hi, axis=-1)[..., :-1]
            hi_mv = np.fmax.accumulate(np.where(moved, hi, np.nan), axis=-1)[..., :-1]
            lo_all = np.flip(np.fmin.accumulate(np.flip(lo, -1), axis=-1), -1)[..., 1:]
            lo_mv = np.flip(np.fmin.accumulate(np.flip(np.where(moved, lo, np.nan), -1),
                                               axis=-1), -1)[..., 1:]
            cut = (hi_mv >= lo_all) | (hi_all >= lo_mv)
        if not cut.any():
            return None
        pos = np.zeros(s0.shape, bool)
        pos[..., :-1] |= cut
        pos[..., 1:] |= cut
        return np.moveaxis(pos, -1, axis)

    def reordered(self, name, x, axis: int | None, descending: bool, nan_low: bool = False,
                  total_order: bool = False):
        """(alt, reach, order) for a sort of this run's `x` along `axis` (None: flattened), lanes
        on the last axis, in output order (ascending stable; `descending`: JAX's reverse,
        stable sort, reverse): `reach` as in `order_within_reach`, and `alt` the base
        run's order rotated by one within each run of positions that may go either way,
        so that each such position holds another element of that run: one whose order it
        may take (argmax's alternative is the runner-up within reach), and `order` the base
        run's order itself (`alt` elsewhere). The caller puts `alt` only where this run's
        result is the base run's: where it moved already, it shows that by itself (a NaN
        whose sign this run changed moves every other element of a lax.top_k lane, and
        `alt`, rotated from the base run's order, put an index back in the base run's
        place; seed 20261937). An index that
        differs by a permutation, not `unsettle`'s step, keeps what is computed from it
        near the base run's (take_along_axis of a tie takes its twin). None where nothing
        may go either way."""
        reach = self.order_within_reach(name, x, axis, nan_low, total_order)
        if reach is None:
            return None
        x0 = np.asarray(self.base[name], np.float64)
        if axis is None:
            x0, axis = x0.reshape(-1), 0
        if nan_low:
            x0 = np.where(np.isnan(x0), -np.inf, x0)
        x0, reach = np.moveaxis(x0, axis, -1), np.moveaxis(reach, axis, -1)
        key = total_order_rank(x0) if total_order else x0
        if descending:
            n = x0.shape[-1]
            order = n - 1 - np.flip(np.argsort(np.flip(key, -1), axis=-1, kind="stable"), -1)
            reach = np.flip(reach, -1)
        else:
            order = np.argsort(key, axis=-1, kind="stable")
        pos = np.arange(reach.shape[-1])
        prev = np.concatenate([np.zeros(reach.shape[:-1] + (1,), bool), reach[..., :-1]], -1)
        start = np.maximum.accumulate(np.where(reach & ~prev, pos, 0), axis=-1)
        nxt = np.concatenate([reach[..., 1:], np.zeros(reach.shape[:-1] + (1,), bool)], -1)
        src = np.where(nxt, np.minimum(pos + 1, pos[-1]), start)
        alt = np.where(reach, np.take_along_axis(order, src, -1), order)
        return alt, reach, order

    def unsettle(self, v: np.ndarray, lost, name: str | None = None) -> np.ndarray:
        """`v` (a bool or integer result, value `name`) changed where `lost`, so that the
        element differs from the base run's and is unstable (not compared): the base run's
        bool negated, its integer moved one step towards 0 (0 to -1). What this run
        computed from the lost NaN is arbitrary and may be one step from the base run's
        value, so it is not the starting point (top_k of a lane of NaNs gave indices 0..4,
        unsettled to -1..3, and the base run's index 3 at position 3 looked stable; seed
        789). Without a base value (inside a loop body): bool to the run's NaN sign
        (consecutive runs alternate it, so one of them differs from the base run), an
        integer one step from this run's value."""
        v = np.asarray(v)
        lost = np.broadcast_to(lost, v.shape) if np.ndim(lost) else np.full(v.shape, bool(lost))
        b = self.base.get(name) if name is not None else None
        start = v
        if b is not None and np.shape(b) == v.shape and np.asarray(b).dtype == v.dtype:
            start = np.asarray(b)
            if v.dtype == bool:
                return np.where(lost, ~start, v)
        elif v.dtype == bool:
            return np.where(lost, self.nan_sign > 0, v)
        # one step towards 0 (0 to -1): a valid index stays valid (NumPy wraps -1), which
        # +1 did not (index 9 of an axis of 9 broke the oracle's take_along_axis; seed 456)
        return np.where(lost, np.where(start > 0, start - 1, np.where(start < 0, start + 1, -1)),
                        v)

    def lose(self, v: np.ndarray, lost, name: str | None = None) -> np.ndarray:
        """`unsettle`, for a bool or integer result that is "anything" where `lost` (an
        element computed from a lost operand, not one of two alternatives as a comparison
        within reach is), recorded (`anything`) where `lost` is a mask, so that what is
        computed from it is lost too (`lost_in`): a float result there is NaN. A one-step
        index alone kept the class of a float computed from it: fuzz run 47, seed
        20261947, finding 2, log10(argsort(v5, descending=True)) of an einsum whose float32
        sums may overflow (a lane of v5 that is [inf, -inf, inf, inf, -inf] in float64,
        [inf, nan, inf, inf, nan] in funcgrad and JAX): the base run's index 3 at a
        position, stepped to 2, gave log10 0.30 against 0.48, both finite and "close"
        (chaotic), and funcgrad's index 0 there, log10 -inf, was reported. A whole-output
        `lost` (True, an op that is not elementwise) is not recorded: that would leave
        everything computed from the output unchecked for one lost element."""
        v = self.unsettle(v, lost, name)
        if name is not None and np.ndim(lost):
            m = np.broadcast_to(lost, np.shape(v))
            if m.any():
                self.anything[name] = m.copy()
        return v

    def apply(self, out: np.ndarray, err, name: str | None = None) -> np.ndarray:
        if not out.size:
            return out
        err = np.asarray(err, np.float64)
        if isinstance(self.sign, tuple):            # ("bit", k)
            sign = -1.0 if (self._calls >> self.sign[1]) & 1 else 1.0
            self._calls += 1
        elif self.sign is not None:
            sign = self.sign
        else:
            sign = self.rng.integers(0, 2, size=out.shape, dtype=np.int8) * 2.0 - 1.0
        with np.errstate(invalid="ignore", over="ignore"):
            if np.isfinite(err).all() and np.isfinite(out).all():
                # the common case, without the masks below (the oracle's hot path)
                return out + sign * err
        err = np.broadcast_to(err, out.shape)
        with np.errstate(invalid="ignore", over="ignore"):
            bump = np.where(np.isfinite(err) & np.isfinite(out), sign * err, 0.0)
            # In the random runs each NaN takes its own sign: XLA leaves it undefined, and
            # one array may hold both (the C backend's vectorised acos gives -NaN, its
            # scalar tail +NaN; lax.top_k orders NaNs by their sign and put the last
            # element first, where the oracle, with one sign per run, saw an order that no
            # run changed; seed 20261924)
            nan = np.copysign(np.nan, self.nan_sign * (sign if self.sign is None else 1.0))
            # A NaN error means "any result is possible here" (see acc_overflow): the
            # perturbed value takes another class than the base value (NaN, or an infinity
            # of the run's NaN sign where the base value is itself a NaN from inf - inf or
            # sin(-inf)), so the element is unstable. An infinity, not 0: it sorts where a
            # NaN of that sign would in lax.top_k (0 sorted below the lane's values like
            # the base run's -NaN, and a NaN sin(sin(-inf)) that funcgrad's reference
            # backend makes +NaN, first, looked stable at the end; fuzz seed 777001).
            # The class is the base run's: a NaN that only reached this perturbed run from
            # an input that was itself 'anything' must stay NaN (0 would look stable).
            b = self.base.get(name) if name is not None else None
            base_nan = np.isnan(b) if b is not None and np.shape(b) == out.shape and \
                np.asarray(b).dtype.kind == "f" else np.isnan(out)
            anything = np.where(base_nan, np.copysign(np.inf, nan), nan)
            return np.where(np.isnan(err), anything, np.where(np.isnan(out), nan, out + bump))


def _propagated_nan_err(spec, args, v, op, t, ctx, err):
    """`err` with 0 where it is NaN only because the value itself is NaN (an error bound
    proportional to |value|), so that the NaN propagates as a NaN. A NaN error otherwise
    means "any result possible" (acc_overflow), which Perturb.apply turns into another
    class than the base run's; without a base value (inside a loop body) a propagated NaN
    then became 0.0 and looked stable: cosh(|NaN|) in a fori_loop body, NaN in every
    perturbed run from an overflowing attention score, came out 0.0 against the base
    run's 1.0 (seed 88), so funcgrad's (and JAX's) NaN was reported."""
    v = np.asarray(v)
    if v.dtype.kind != "f" or not np.isnan(v).any():
        return err
    e = np.asarray(err, np.float64)
    if not np.isnan(e).any():
        return err
    alt = np.asarray(spec.err(args, np.where(np.isnan(v), 0.0, v), op, t, ctx), np.float64)
    e, alt = np.broadcast_arrays(e, alt)
    if alt.shape != v.shape:
        return err
    return np.where(np.isnan(v) & np.isnan(e) & ~np.isnan(alt), 0.0, e)


class Ctx:
    """Per-run oracle state: instance, perturbation, and whether any intermediate was
    non-finite (JAX's gradients may then be NaN where finite differences are not)."""

    def __init__(self, dims: Dims, inst: int, perturb: Perturb | None, exact: bool = False):
        self.dims = dims
        self.inst = inst
        self.perturb = perturb
        self.exact = exact            # float64 throughout (for finite differences)
        self.nonfinite = False
        # (program, {name: mask}): its values set to NaN where the mask is set, to see which
        # outputs they reach (check.overflow_reach)
        self.poison: tuple | None = None
        # a finite-difference run's base run values (top level), for the control flow
        # decisions it must share with them (ops_control.differs_from_base)
        self.base: dict | None = None

    def round(self, value, t: Type) -> np.ndarray:
        if self.exact and is_float(t.dtype):
            return np.asarray(value, np.float64)
        return fix(value, t)


class OracleError(Exception):
    """The oracle itself failed (a generator bug, not a funcgrad finding)."""


def evaluate(prog: Program, env: dict, ctx: Ctx) -> list:
    """Run `prog` with NumPy; `env` maps input/formal names to oracle arrays. Returns the
    outputs (oracle representation) and leaves every value in `env`."""
    from .ops import OPS
    prev = _EXACT[0]
    _EXACT[0] = ctx.exact
    try:
        return _evaluate(prog, env, ctx, OPS)
    finally:
        _EXACT[0] = prev


def _evaluate(prog: Program, env: dict, ctx: Ctx, OPS) -> list:
    raw: dict = {}
    for op in prog.ops:
        spec = OPS[op.name]
        args = [a.value if isinstance(a, Lit) else env[a] for a in op.args]
        if ctx.perturb is not None:
            for name in op.outs:        # (a loop body's value of the previous step)
                ctx.perturb.anything.pop(name, None)
        with np.errstate(all="ignore"):
            try:
                res = spec.ref(args, op.params, op, ctx, env)
            except (OracleError, AssertionError):
                raise
            except Exception as e:
                raise OracleError(f"oracle of {op.name} failed: {type(e).__name__}: {e}") \
                    from e
            outs = res if spec.tuple_out else (res,)
            if len(outs) != len(op.outs):
                raise OracleError(f"oracle of {op.name}: {len(outs)} outputs, "
                                  f"{len(op.outs)} expected")
            if spec.singular is not None and spec.singular(args, outs):
                ctx.nonfinite = True
            lost = ctx.perturb.lost_in(op, args) if ctx.perturb is not None else None
            # the bool and integer operands marked "anything" (Perturb.lose), where known
            # element by element: a float computed from them is NaN there
            anything = ctx.perturb.lost_in(op, args, floats=False) if lost is not None \
                else None
            for name, t, v in zip(op.outs, op.types, outs):
                v = ctx.round(v, t)
                if lost is not None and not is_float(t.dtype):
                    if not spec.own_lost:
                        v = ctx.perturb.lose(v, lost, name)
                elif lost is not None and nan_consumer(op):
                    # nan_to_num of an "anything" (seed 123: an einsum whose float32
                    # accumulation may overflow) is anything too, not -2.0
                    v = np.where(np.broadcast_to(lost, np.shape(v)), np.nan, v)
                elif lost is not None and is_float(t.dtype):
                    if np.ndim(anything):
                        v = np.where(np.broadcast_to(anything, np.shape(v)), np.nan, v)
                    # The lost operand's NaN would equal a NaN the base run computed from
                    # its value (pow(-4.6e-13, 1e-40): the product that underflows to -0.0
                    # in float32 in one order; seed 456): another class there instead.
                    b = ctx.perturb.base.get(name)
                    if b is not None and np.shape(b) == np.shape(v):
                        m = np.broadcast_to(lost, np.shape(v)) & np.isnan(np.asarray(b)) & \
                            np.isnan(v)
                        v = np.where(m, 0.0, v)
                if ctx.perturb is not None and is_float(t.dtype):
                    err = 0.0 if spec.exact else spec.err(args, v, op, t, ctx)
                    err = _propagated_nan_err(spec, args, v, op, t, ctx, err)
                    ctx.perturb.errs[name] = err
                    v = ctx.round(ctx.perturb.apply(v, err, name), t)
                    if name in prog.outputs:
                        # the output itself keeps its value: a chaotic output is still
                        # checked for gross errors (check.value_expect)
                        raw[name] = v
                    v = ctx.perturb.drift(name, v)
                want = ctx.dims.shape(t.dims, ctx.inst)
                if v.shape != want:
                    raise OracleError(f"oracle of {op.name}: shape {v.shape}, type says "
                                      f"{want}")
                if is_float(t.dtype) and not np.all(np.isfinite(v)):
                    ctx.nonfinite = True
                if ctx.poison is not None and ctx.poison[0] is prog and name in ctx.poison[1]:
                    v = np.where(ctx.poison[1][name], np.nan, v)
                env[name] = v
    return [raw.get(o, env[o]) for o in prog.outputs]


def input_values(prog: Program, inst: int) -> dict:
    return {i.name: i.values(prog.dims, inst) for i in prog.inputs}
