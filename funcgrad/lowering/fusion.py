"""Fusion planning: partition an optimised program into steps.

Elementwise work, broadcasts and index remappings (transpose, slice, pad, rev, reshape,
concatenate, iota, casts, select) are *inlined* into the loop nest of the value that
consumes them; a value is *materialised* in a buffer when it is a program output, feeds a
non-fusable step (dot, convolution, host op), is a reduction result, or is an expensive
value used more than once. Each materialised value produced by an inlinable equation
becomes one loop-nest kernel; reductions become reduction kernels whose input expression
is inlined; `dot_general` and convolutions become GEMM steps; everything else runs as a
host step with its NumPy implementation.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import core, dtypes
from ..ir import Eqn, Lit, Program, Var
from ..prims import control, elementwise as ew, indexing as ix, linalg as la
from ..prims import reductions as rd, structural as st, windows as win

INDEX_MAPS = {st.broadcast_in_dim_p, st.reshape_p, st.transpose_p, st.squeeze_p,
              st.expand_dims_p, st.rev_p, ix.slice_p, ix.pad_p, ix.concatenate_p, st.iota_p,
              ix.dynamic_slice_p, ix.gather_p, ix.dynamic_update_slice_p}
ELEMENTWISE = set(ew.lowering_exprs)
INLINABLE = INDEX_MAPS | ELEMENTWISE
REDUCTIONS = {rd.reduce_sum_p, rd.reduce_max_p, rd.reduce_min_p, rd.reduce_prod_p,
              rd.argmax_p, rd.argmin_p}
CHEAP = INDEX_MAPS | {ew.convert_element_type_p, ew.add_p, ew.sub_p, ew.mul_p, ew.neg_p,
                      ew.select_p, ew.max_p, ew.min_p, ew.stop_gradient_p, ew.eq_p, ew.ne_p,
                      ew.lt_p, ew.le_p, ew.gt_p, ew.ge_p, ew.and_p, ew.or_p, ew.not_p}
_MAX_RECOMPUTE = 8


@dataclass
class Kernel:
    """A loop-nest step computing `root` (elementwise) or reducing into it."""
    kind: str                    # "map", "reduce" or "window"
    root: Var
    eqn: Eqn                     # the root's equation
    inlined: dict[int, Eqn]      # var id -> producing equation, for inlined values
    inputs: list[Var] = field(default_factory=list)   # materialised values read


@dataclass
class Gemm:
    eqn: Eqn


@dataclass
class Conv:
    eqn: Eqn


@dataclass
class Host:
    eqn: Eqn


@dataclass
class Alias:
    """`out` shares `src`'s buffer (a reshape of a contiguous buffer)."""
    out: Var
    src: object


@dataclass
class FusionPlan:
    program: Program
    steps: list
    materialized: set[int]


def _uses(program: Program):
    uses: dict[int, list[Eqn]] = {}
    for eqn in program.eqns:
        for a in eqn.inputs:
            if isinstance(a, Var):
                uses.setdefault(a.id, []).append(eqn)
    return uses


_GEMM_DTYPES = (dtypes.float32, dtypes.float64, dtypes.complex64, dtypes.complex128)


def _gemm_ok(eqn: Eqn) -> bool:
    a = eqn.inputs[0].aval
    pet = eqn.params.get("preferred_element_type")
    if eqn.inputs[1].aval.dtype != a.dtype:
        return False
    if a.dtype in (dtypes.bfloat16, dtypes.float16):
        # 16-bit float products accumulate in float32 (JAX's rule); the result is float32
        # when preferred_element_type asks for it, else rounded to the operands' type
        return pet in (None, a.dtype, dtypes.float32)
    return a.dtype in _GEMM_DTYPES and pet in (None, a.dtype)


def _conv_ok(eqn: Eqn) -> bool:
    p = eqn.params
    a = eqn.inputs[0].aval
    pet = p.get("preferred_element_type")
    if eqn.inputs[1].aval.dtype != a.dtype:
        return False
    if a.dtype in (dtypes.bfloat16, dtypes.float16):
        ok = pet in (None, a.dtype, dtypes.float32)   # float32 accumulation, as dot
    else:
        ok = a.dtype in (dtypes.float32, dtypes.float64) and pet in (None, a.dtype)
    return ok and (p["batch_group_count"] == 1 or p["feature_group_count"] == 1)


def classify(eqn: Eqn) -> str:
    if eqn.prim in INLINABLE:
        return "inline"
    if eqn.prim in REDUCTIONS:
        return "reduce"
    if eqn.prim is win.reduce_window_p:
        return "window"
    if eqn.prim is win.pool_gather_p:
        return "pool_gather"
    if eqn.prim is win.pool_scatter_p:
        return "pool_scatter"
    if eqn.prim is ix.scatter_p:
        return "scatter"
    if eqn.prim is rd.cumsum_p:
        return "cumsum"
    if eqn.prim is la.dot_general_p and _gemm_ok(eqn):
        return "gemm"
    if eqn.prim is la.conv_general_dilated_p and _conv_ok(eqn):
        return "conv"
    return "host"


def default_lowerable(eqn: Eqn) -> bool:
    """Equations every loop lowering handles (argmax/argmin have no loop lowering yet;
    scatter's and cumsum's are serial loops, which only the C backend uses)."""
    return eqn.prim not in (rd.argmax_p, rd.argmin_p, ix.scatter_p, rd.cumsum_p)


def step_kind(step) -> str:
    """How a compiled plan step is lowered: "dot" (Gemm), "conv" (Conv), or its loop
    kernel's kind ("map", "reduce", "window", "pool_gather", "pool_scatter", "scatter",
    "cumsum"),
    with "arg" for the argmax/argmin reductions."""
    if isinstance(step, Gemm):
        return "dot"
    if isinstance(step, Conv):
        return "conv"
    if step.kind == "reduce" and step.eqn.prim in (rd.argmax_p, rd.argmin_p):
        return "arg"
    return step.kind


def plan(program: Program, lowerable=default_lowerable, materialize=frozenset()) -> FusionPlan:
    """Partition `program` (const-free, after `passes.optimize`) into steps. Equations for
    which `lowerable` is False become host steps, and their operands are materialised; so
    are the values whose ids are in `materialize`."""
    uses = _uses(program)
    producer: dict[int, Eqn] = {v.id: e for e in program.eqns for v in e.outputs}
    kinds = {id(e): classify(e) if lowerable(e) else "host" for e in program.eqns}
    outputs = {v.id for v in program.outvars if isinstance(v, Var)}
    mat: set[int] = {v.id for v in program.invars} | outputs | set(materialize)
    for eqn in program.eqns:
        k = kinds[id(eqn)]
        if k != "inline" or eqn.prim.multiple_results:
            mat.update(v.id for v in eqn.outputs)
        if k in ("gemm", "conv", "host"):
            mat.update(a.id for a in eqn.inputs if isinstance(a, Var))
        if eqn.prim is ix.dynamic_slice_p:
            mat.update(a.id for a in eqn.inputs[1:] if isinstance(a, Var))
        if eqn.prim is ix.dynamic_update_slice_p:
            mat.update(a.id for a in eqn.inputs[2:] if isinstance(a, Var))
    # Expensive values used more than once, or big recomputation trees, are materialised.
    # So is a cheap value used more than once whose inlined tree holds an expensive one:
    # each kernel that recomputed it would also recompute the expensive value, and a
    # transcendental function need not give the same bits twice (libmvec's vector variant
    # in one loop, libm's scalar one in another), which breaks the equality masks of max,
    # cummax and sort gradients (fuzz seed 20261401: a cummax of atanh values whose
    # gradient lost its mask on C).
    cost: dict[int, int] = {}
    costly: set[int] = set()       # inlined values whose tree holds a non-cheap equation
    for eqn in program.eqns:
        if kinds[id(eqn)] != "inline":
            continue
        v = eqn.outputs[0]
        c = 1 + sum(cost.get(a.id, 0) for a in eqn.inputs
                    if isinstance(a, Var) and a.id not in mat)
        cost[v.id] = c
        if eqn.prim not in CHEAP or any(isinstance(a, Var) and a.id in costly and
                                        a.id not in mat for a in eqn.inputs):
            costly.add(v.id)
        n_uses = len(uses.get(v.id, []))
        consumers = uses.get(v.id, [])
        broadcast_into = any(e.outputs and e.outputs[0].aval.size >= 8 * max(v.aval.size, 1)
                             for e in consumers)
        if c > 1 and broadcast_into:
            # A small value broadcast into a big loop: compute it once, not per element.
            mat.add(v.id)
            cost[v.id] = 0
        elif n_uses > 1 and (v.id in costly or c > _MAX_RECOMPUTE):
            mat.add(v.id)
            cost[v.id] = 0
        elif c > 64:
            mat.add(v.id)
            cost[v.id] = 0
    steps = []
    for eqn in program.eqns:
        k = kinds[id(eqn)]
        out = eqn.outputs[0] if eqn.outputs else None
        if k == "inline":
            if out.id not in mat:
                continue
            if eqn.prim is st.reshape_p and isinstance(eqn.inputs[0], Var) and \
                    eqn.inputs[0].id in mat:
                steps.append(Alias(out, eqn.inputs[0]))
                continue
            steps.append(_kernel("map", eqn, producer, mat))
        elif k in ("reduce", "window", "pool_gather", "pool_scatter", "scatter", "cumsum"):
            steps.append(_kernel(k, eqn, producer, mat))
        elif k == "gemm":
            steps.append(Gemm(eqn))
        elif k == "conv":
            steps.append(Conv(eqn))
        else:
            steps.append(Host(eqn))
    return FusionPlan(program, steps, mat)


def _kernel(kind, eqn, producer, mat) -> Kernel:
    inlined: dict[int, Eqn] = {}
    inputs: dict[int, Var] = {}
    stack = [a for a in eqn.inputs if isinstance(a, Var)]
    while stack:
        v = stack.pop()
        if v.id in mat or v.id not in producer:
            inputs[v.id] = v
            continue
        if v.id in inlined:
            continue
        e = producer[v.id]
        inlined[v.id] = e
        stack.extend(a for a in e.inputs if isinstance(a, Var))
    return Kernel(kind, eqn.outputs[0], eqn, inlined, list(inputs.values()))


def buffer_vars(step, materialized, slotted) -> list[Var]:
    """The variables a compiled step reads or writes through buffers: those materialised by
    the plan or already given a buffer (`slotted`), in operand order; values inlined into a
    kernel are not among them. (Repeats are kept; each backend names them its way.)"""
    involved = [step.eqn]
    if isinstance(step, Kernel):
        involved += list(step.inlined.values())
    out = []
    for e in involved:
        for a in list(e.inputs) + list(e.outputs):
            if isinstance(a, Var) and (a.id in materialized or a.id in slotted) and not (
                    isinstance(step, Kernel) and a.id in step.inlined):
                out.append(a)
    return out


def describe(fp: FusionPlan) -> str:
    """A readable summary of the steps (for `jit(f).lower(...)` and debugging)."""
    lines = []
    for s in fp.steps:
        if isinstance(s, Kernel):
            prims = sorted({e.prim.name for e in s.inlined.values()})
            lines.append(f"{s.kind} {s.eqn.prim.name} -> {s.root.aval.short()} "
                         f"(inlined: {', '.join(prims) or '-'})")
        elif isinstance(s, Alias):
            lines.append(f"alias {s.out.aval.short()}")
        else:
            lines.append(f"{type(s).__name__.lower()} {s.eqn.prim.name}")
    return "\n".join(lines)


del Lit, core, control
