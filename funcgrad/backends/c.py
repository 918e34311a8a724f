"""The C backend: programs are optimised, fused, lowered to cdsl, rendered as C99,
compiled through cffi (cached on disk) and run on host NumPy buffers.

An `Executable` is a sequence of segments: compiled C functions (fused loop nests and BLAS
calls) and host steps (primitives without a C lowering yet, run with their NumPy
implementation on the same buffers). Eager operations outside `jit` run with the NumPy
implementations (they are the lowering's reference); `jit` compiles.
"""
from __future__ import annotations

import itertools
import math
import os
import sys
import threading
import time
import weakref
from collections import deque

import cffi
import numpy as np

import cdsl
from cdsl import runtime

from .. import dtypes
from ..core import ArrayImpl
from ..ir import Lit, Program, Var
from ..lru import LRU
from ..lowering import cnodes as cn
from ..lowering import codegen, fusion, gemm, linalg_c, passes, sort_c, symbolic
from ..lowering import eager as _eager
from ..prims import collectives, control, fft_kernel, indexing as ix, reductions as rd
from ..prims import structural
from . import threads as _threads
from .compiled import (HostLoops, ProgramCache, SlotProgram, executable_cache_size, host_call,
                       kernel_name, lowering_settings)
from .reference import ReferenceBackend, wrap_outputs

# libgomp reads its wait policy once, when it loads: before any compiled module loads
_threads.configure_openmp()
# the FFT kernel shares a call's rows between as many threads as compiled code would use
fft_kernel.team_size = _threads.team_size


def available() -> bool:
    """Whether a working C compiler is present (without one, `c` still runs cached modules
    and the prebuilt eager kernels; see backends.GuardedCBackend)."""
    from cdsl.compile import compiler_state
    return compiler_state()[0] is not None


_C_DTYPES = {dtypes.float32, dtypes.float64, dtypes.int8, dtypes.int16, dtypes.int32,
             dtypes.int64, dtypes.uint8, dtypes.uint16, dtypes.uint32, dtypes.uint64,
             dtypes.bool_, dtypes.complex64, dtypes.complex128, dtypes.bfloat16,
             dtypes.float16}
_COMPLEX = {dtypes.complex64, dtypes.complex128}
# What compiles for complex operands: elementwise work and index maps, sum/prod/max/min and
# argmax/argmin reductions (NumPy's lexicographic order), scatters and GEMMs; windows
# (pooling) of complex values run on the host.
_COMPLEX_KINDS = ("inline", "reduce", "gemm", "scatter")


_ARG_PRIMS = (rd.argmax_p, rd.argmin_p)


def _short_rows(kernels) -> bool:
    """Whether a row group's rows are shorter than ROW_GROUP_MIN and fit
    `codegen.emit_rows_in_lanes`."""
    lead = codegen.group_lead(kernels)
    rows = [codegen.row_length(k, lead) for k in kernels]
    return all(type(m) is int and m < ROW_GROUP_MIN for m in rows) and \
        codegen.lanes_fit(kernels)

def _lone_short_rows(kernel) -> bool:
    """Whether a reduction outside any row group runs in lanes all the same (a group of
    one, `codegen.emit_rows_in_lanes`): a float32 max or min along a last axis of 3 to
    LONE_LANES_MAX, a sum along one of 5 to LONE_LANES_MAX (`codegen.lanes_fit`: at least
    16 rows, or a number known at run time). Kernel by kernel, each row ends in a
    horizontal reduction of masked lanes. Interleaved in one process at one thread, 960,000
    float32, AMD Zen 3, in lanes / kernel by kernel: max over rows of 3, 5, 10, 17: 0.50 /
    0.64, 0.26 / 0.49, 0.16 / 0.32 (JAX 0.16), 0.17 / 0.21 ms; sum over rows of 3, 5, 10,
    17: 0.44 / 0.37, 0.19 / 0.25, 0.13 / 0.25 (JAX 0.50), 0.13 / 0.16 ms; over rows of 32
    and more the kernels are faster (max over 32: 0.16 / 0.10). Only with at least
    LONE_LANES_MIN values (or a row count known only at run time): the lanes' code (a tile,
    a pass for the sign of zeros, the rows after the last tile) takes gcc longer to build
    than it saves on a small array."""
    if not (ROW_LANES and LONE_ROW_LANES) or not codegen.row_leads(kernel):
        return False
    shape = kernel.eqn.inputs[0].aval.shape
    m = shape[-1] if shape else None
    low = 5 if codegen._IDENT.get(kernel.eqn.prim) == "sum" else 3
    size = math.prod(shape) if all(type(d) is int for d in shape) else None
    return tuple(kernel.eqn.params.get("axes", ())) == (len(shape) - 1,) and \
        type(m) is int and low <= m <= LONE_LANES_MAX and \
        (size is None or size >= LONE_LANES_MIN) and _short_rows([kernel])


LONE_ROW_LANES = os.environ.get("FUNCGRAD_LONE_ROW_LANES", "1") != "0"
LONE_LANES_MAX = 24
LONE_LANES_MIN = 1 << 15

# Whether executables built from now on reduce a psum's operands in place where the buffer
# planner can place them side by side (`_InPlaceReduction`); 0 keeps the transport's
# copying path everywhere (for comparisons).
IN_PLACE_REDUCTIONS = os.environ.get("FUNCGRAD_IN_PLACE_REDUCTIONS", "1") != "0"
# Consecutive map kernels over one shape share one loop nest (`codegen.emit_map_group`);
# FUNCGRAD_MAP_GROUPS=0 lowers them one loop each (to measure the difference).
MAP_GROUPS = os.environ.get("FUNCGRAD_MAP_GROUPS", "1") != "0"
# Consecutive float32 sums over the same leading axes of one shape share one pass
# (`codegen.emit_reduce_group`); FUNCGRAD_REDUCE_GROUPS=0 lowers them one by one.
REDUCE_GROUPS = os.environ.get("FUNCGRAD_REDUCE_GROUPS", "1") != "0"
# Rows shorter than this run kernel by kernel, not in a row group: measured A/B in one
# process on the Xeon of 2026-12-01 (xent gradient and softmax, fused / unfused): rows of
# 4-32 elements 1.1-1.8x slower fused, 100-256 about even (within the noise of a loaded
# machine, either way), 512 1.05-1.1x faster, 1000-10000 1.1-1.45x faster (the fused
# loop's per-row overhead against the passes over memory it saves).
ROW_GROUP_MIN = 256
# Row groups of shorter rows (of a static length up to codegen._ROW_LANE_MAX) run 16 rows at
# a time, a row per vector lane (`codegen.emit_rows_in_lanes`); FUNCGRAD_ROW_LANES=0 lowers
# them kernel by kernel (to measure the difference).
ROW_LANES = os.environ.get("FUNCGRAD_ROW_LANES", "1") != "0"


def _c_lowerable(eqn) -> bool:
    """Whether the C lowering handles `eqn` (else it runs as a host step)."""
    own = (eqn.prim is ix.scatter_p and eqn.outputs[0].aval.dtype != dtypes.bool_) or \
        eqn.prim in _ARG_PRIMS or (eqn.prim is rd.cumsum_p and codegen.cumsum_lowerable(eqn))
    if not (fusion.default_lowerable(eqn) or own) or eqn.prim is control.const_p:
        return False
    if any(a.aval.dtype not in _C_DTYPES for a in list(eqn.inputs) + list(eqn.outputs)):
        return False
    kind = fusion.classify(eqn)
    if eqn.prim not in _ARG_PRIMS and codegen.loop_limit(eqn, kind) is not None:
        return False
    return kind in _COMPLEX_KINDS or \
        not any(a.aval.dtype in _COMPLEX for a in list(eqn.inputs) + list(eqn.outputs))


# Primitives with no loop lowering that are computed in C rather than as host steps, each
# by its module's `lower` (C text in a block) where its `lowerable(eqn)` says so.
_BLOCK_LOWERINGS = (linalg_c, sort_c)


def _host_lowering(step):
    """The module of `_BLOCK_LOWERINGS` that computes the host step `step` in C, or None
    (always None for `export.to_c`: its files need only libm)."""
    if not isinstance(step, fusion.Host) or gemm.portable():
        return None
    return next((m for m in _BLOCK_LOWERINGS if m.lowerable(step.eqn)), None)


def _c_supported(step) -> bool:
    """Loop nests and GEMMs compile; every equation in them passed `_c_lowerable` when the
    plan was made (the rest are host steps)."""
    return isinstance(step, (fusion.Kernel, fusion.Gemm, fusion.Conv))


class _Segment:
    __slots__ = ("fn", "slots", "temps", "cfn", "ptr_types", "kernels")

    def __init__(self, fn, slots, temps):
        self.fn = fn
        self.slots = slots
        self.temps = temps
        self.cfn = None
        self.ptr_types = None


class _BuiltFunction:
    """What a compiled step keeps of its C function once the module is built: the name and
    the comment that says what it computes (FUNCGRAD_PROFILE's label)."""
    __slots__ = ("name", "label")

    def __init__(self, fn):
        self.name = fn.name
        self.label = next((x.text for x in fn.body if isinstance(x, cdsl.Comment)), "")


class _InPlaceReduction:
    """A psum/pmax/pmin host step (step `step`) whose operands the buffer planner placed
    side by side in one block of memory: the block is reduced in place (no copy into a
    fused buffer) and the results are the same buffers (no copy out). The block lives in
    the arena (byte offset `arena`, and this object is its key there), or, when a result
    is a program output, is allocated with the outputs on every run (`fresh`)."""

    __slots__ = ("step", "prim", "ins", "outs", "offsets", "parts", "dtype", "shape",
                 "operands", "fresh", "arena")

    def __init__(self, step, eqn, ins, outs, slot_avals, fresh):
        self.step, self.prim, self.ins, self.outs = step, eqn.prim, ins, outs
        self.dtype = np.dtype(slot_avals[ins[0]].dtype)
        self.offsets, self.parts, total = [], [], 0     # offsets in elements
        for s in ins:
            self.offsets.append(total)
            total += int(slot_avals[s].size)
        for slots in (ins, outs):
            for s, off in zip(slots, self.offsets):
                av = slot_avals[s]
                self.parts.append((s, off, off + int(av.size), tuple(map(int, av.shape))))
        self.shape = (total,)
        self.operands = [a.aval for a in eqn.inputs]    # for error messages
        self.fresh = fresh
        self.arena = None

    def views(self, block):
        """[(slot, its view of `block`)] for the operands and the results."""
        return [(s, block[a:b].reshape(shape)) for s, a, b, shape in self.parts]


def _step_reads(step, vid) -> bool:
    """Whether a plan step reads the value `vid` (in its equation or one inlined into it)."""
    if isinstance(step, fusion.Alias):
        return isinstance(step.src, Var) and step.src.id == vid
    eqns = [step.eqn] + (list(step.inlined.values()) if isinstance(step, fusion.Kernel)
                         else [])
    return any(isinstance(a, Var) and a.id == vid for e in eqns for a in e.inputs)


def _reshaped(producer, v):
    """The Var that `v` is a reshape of, or None."""
    e = producer.get(v.id)
    if e is None or e.prim is not structural.reshape_p or not isinstance(e.inputs[0], Var):
        return None
    return e.inputs[0]


def _reads_only_elementwise(kernel, old) -> bool:
    """Whether map `kernel` reads `old` (of its root's shape) at the element it writes, and
    only there: every equation on a path from the root to a read of `old` is elementwise
    over operands of the root's shape (no broadcast, transpose, slice or reshape)."""
    shape = kernel.root.aval.shape
    if old.aval.shape != shape:
        return False
    stack, seen = [kernel.eqn], set()
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        for a in e.inputs:
            if not isinstance(a, Var) or not (
                    a.id == old.id or _reads_inlined(kernel, a.id, old.id)):
                continue
            if e.prim not in fusion.ELEMENTWISE or a.aval.shape != shape or \
                    e.outputs[0].aval.shape != shape:
                return False
            if a.id != old.id:
                stack.append(kernel.inlined[a.id])
    return True


def _reads_inlined(kernel, root, vid) -> bool:
    """Whether the tree of `kernel`'s inlined value `root` reads the value `vid`."""
    stack, seen = [root], set()
    while stack:
        r = stack.pop()
        if r in seen or r not in kernel.inlined:
            continue
        seen.add(r)
        for a in kernel.inlined[r].inputs:
            if isinstance(a, Var):
                if a.id == vid:
                    return True
                stack.append(a.id)
    return False


class Executable(SlotProgram):
    """A compiled program: `run(list of np.ndarray) -> list of np.ndarray`."""

    def __init__(self, program: Program, name: str = "f", compile: bool = True,
                 symbols: symbolic.SymbolTable | None = None, reference: Program | None = None,
                 invariant_inputs: int = 0, carries: tuple = (), nested: bool = False):
        self.name = name
        self._compile = compile
        self.extra_functions: list = []
        self.program = self.optimized = passes.optimize(program)
        # The leading inputs that keep their values over every call of the code (a scan
        # body's constants, in `_lower_scan`): GEMMs may keep work derived from them.
        self._invariant = frozenset(v.id for v in self.program.invars[:invariant_inputs])
        if symbols is None:
            # Sizes that differ from the family's first program become run-time values of
            # the generated code (see lowering/symbolic.py).
            symbols = symbolic.SymbolTable()
            if reference is not None:
                try:
                    self.program = symbolic.symbolize(self.program, reference, symbols)
                except symbolic.Mismatch:
                    symbols = symbolic.SymbolTable()
        self.symbols = symbols
        self._temp_names = itertools.count()
        # Functions take the run-time sizes only when there are any (literal-size code keeps
        # the signature, and the call, of specialised code).
        self._dims_param = cn.param("dims", dtypes.int64, const_=True) \
            if symbols.values else None
        self.plan = fusion.plan(self.program, _c_lowerable)
        self._init_slots(self.program)
        # {output var id: input slot}: carries updated in place (see `_in_place_updates`)
        self._branch_subs: dict = {}     # {id(cond eqn): its branches, updating in place}
        self._in_place_outs = self._in_place_updates(carries)
        self.slot_of.update(self._in_place_outs)
        self._in_place_outs.update(self._updates_of_temporaries())
        self._nested_code = nested
        self.alias: dict[int, int] = {}
        self.c_written: set[int] = set()
        self._thread_plan = _threads.Plan()
        self._build()

    def _dims_params(self) -> tuple:
        return (self._dims_param,) if self._dims_param is not None else ()

    def _in_place_updates(self, carries) -> dict[int, int]:
        """{output var id: input slot} for the loop carries (pairs of input and output
        positions of a loop body, `carries`) whose new value is a scatter or a
        dynamic_update_slice of the old one, where every other read of the old value comes
        in an earlier step: the update then writes into the old value's buffer, which the
        loop passes for both (a row set per trip of a `fori_loop` writes that row, not the
        whole array). An update whose values or indices read the old value in its own loop
        (`a.at[i].set(a[i - 1] + 1)`) gets them computed first: the plan is made again with
        them materialised."""
        found, extra = self._in_place_plan(carries)
        if extra:
            self.plan = fusion.plan(self.program, _c_lowerable, materialize=extra)
            found, extra = self._in_place_plan(carries)
        self._in_place_positions = frozenset(o for o, _, _ in found)
        # (an elementwise map written into its operand's buffer is lowered as any map)
        maps = {new.id: self.slot_of[old.id] for _, old, new in found
                if new.id in self._maps_in_place}
        self.slot_of.update(maps)
        return {new.id: self.slot_of[old.id] for _, old, new in found
                if new.id != old.id and new.id not in maps}

    def _value_maps(self):
        """({var id: producing equation}, {var id: how many equations read it}, {var id of
        a reshape the plan makes a view (fusion.Alias): the id of its source})."""
        prog = self.program
        producer = {v.id: e for e in prog.eqns for v in e.outputs}
        reads: dict[int, int] = {}
        for e in prog.eqns:
            for a in e.inputs:
                if isinstance(a, Var):
                    reads[a.id] = reads.get(a.id, 0) + 1
        aliases = {st.out.id: st.src.id for st in self.plan.steps
                   if isinstance(st, fusion.Alias) and isinstance(st.src, Var)}
        return producer, reads, aliases

    def _in_place_plan(self, carries):
        """([(output position, old, new)] carries that may update in place under the
        current plan (a carry passed through unchanged among them), {ids} of values to
        materialise first so that more may: the update's operands that read the old value
        in its own loop, a dynamic_update_slice's result that a reshape hands on). Reshapes
        between the carry and the update, and between the update and the new carry, are
        seen through (`a.at[:, i].set(v)` scatters into a flat view of `a`) where the plan
        makes them views of one buffer (fusion.Alias)."""
        prog, steps = self.program, self.plan.steps
        outs = [v.id for v in prog.outvars if isinstance(v, Var)]
        producer, reads, aliases = self._value_maps()
        kernels = {s.root.id: n for n, s in enumerate(steps) if isinstance(s, fusion.Kernel)}

        found, extra = [], set()
        self._maps_in_place, self._maps_alone = set(), set()
        for i, o in carries:
            old, new = prog.invars[i], prog.outvars[o]
            e = producer.get(new.id) if isinstance(new, Var) else None
            # (a map's new value may be read by later steps: it is in old's buffer by then)
            mapped = e is not None and e.prim in fusion.ELEMENTWISE
            if not isinstance(new, Var) or new.aval != old.aval or old.id in outs or \
                    outs.count(new.id) != 1 or (new.id in reads and not mapped):
                if isinstance(new, Var) and new.id == old.id:
                    found.append((o, old, new))
                continue
            if e is not None and e.prim is control.cond_p:
                # a cond whose every branch updates (or passes on) the operand in place
                subs = self._branches_in_place(e, old, new)
                q = next((n for n, s in enumerate(steps) if isinstance(s, fusion.Host) and
                          s.eqn is e), None)
                if subs is not None and q is not None and \
                        not any(_step_reads(s, old.id) for s in steps[q + 1:]) and \
                        old.id not in aliases.values():
                    self._branch_subs[id(e)] = subs
                    found.append((o, old, new))
                continue
            if e is not None and e.prim in (control.scan_p, control.while_p):
                # a loop nested in this one whose carry starts from the old value: it runs
                # in the old value's buffer (`_lower_scan`, `_lower_while`: no first copy)
                j = next(n for n, v in enumerate(e.outputs) if v.id == new.id)
                if e.prim is control.scan_p:
                    base, ncar = e.params["num_consts"], e.params["num_carry"]
                else:
                    base, ncar = e.params["cond_nconsts"] + e.params["body_nconsts"], \
                        len(e.outputs)
                q = next((n for n, s in enumerate(steps) if isinstance(s, fusion.Host) and
                          s.eqn is e), None)
                init = e.inputs[base + j] if j < ncar else None
                if q is not None and isinstance(init, Var) and init.id == old.id and \
                        sum(isinstance(a, Var) and a.id == old.id for a in e.inputs) == 1 \
                        and not any(_step_reads(s, old.id) for s in steps[q + 1:]) and \
                        old.id not in aliases.values():
                    found.append((o, old, new))
                continue
            if mapped:
                # a flat elementwise map of the old value (`y * x + c[i]`): each element
                # is read before it is written, so the map may write into old's buffer
                q = kernels.get(new.id)
                if q is not None and steps[q].kind == "map" and steps[q].eqn is e and \
                        _reads_only_elementwise(steps[q], old) and \
                        not any(_step_reads(s, old.id) for s in steps[q + 1:]) and \
                        old.id not in aliases.values():
                    self._maps_in_place.add(new.id)
                    if any(_step_reads(s, old.id) for s in steps[:q]):
                        # (not in a group with a step that reads old at other elements)
                        self._maps_alone.add(new.id)
                    found.append((o, old, new))
                continue
            # new <- reshapes <- the update's result `top`, each read once and a view
            top, ok = new, True
            while True:
                src = _reshaped(producer, top)
                if src is None or reads.get(src.id) != 1:
                    break
                if top.id not in aliases:     # (a reshape computed by a loop: a copy)
                    if getattr(producer.get(src.id), "prim", None) in (
                            ix.scatter_p, ix.dynamic_update_slice_p):
                        extra.add(src.id)     # (the update inlined into it: materialised,
                    ok = False                # the reshape is a view)
                    break
                top = src
            e = producer.get(top.id)
            if not ok or e is None or \
                    e.prim not in (ix.scatter_p, ix.dynamic_update_slice_p) or \
                    not isinstance(e.inputs[0], Var):
                continue
            q = kernels.get(top.id)
            if q is None:
                continue
            k = steps[q]
            if k.eqn is not e or not (k.kind == "scatter" or k.kind == "map"):
                continue
            # the update's operand -> reshapes -> old, each a view of old's buffer or
            # inlined into the update (which, in place, does not read its operand)
            x, olds = e.inputs[0], {old.id}
            while x.id != old.id:
                if (x.id not in aliases and x.id not in k.inlined) or reads.get(x.id) != 1:
                    break
                olds.add(x.id)
                x = _reshaped(producer, x)
                if x is None:
                    break
            if x is None or x.id != old.id:
                continue
            # old's buffer: read by no later step, and seen through no other view
            if any(any(_step_reads(s, v) for v in olds) for s in steps[q + 1:]) or \
                    any(a in olds and v not in olds for v, a in aliases.items()):
                continue
            # the update's own loop may read the old value only as its operand
            late = [a for a in e.inputs[1:] if isinstance(a, Var) and (
                a.id in olds or (a.id in k.inlined and
                                 any(_reads_inlined(k, a.id, v) for v in olds)))]
            if any(a.id in olds for a in late):
                continue
            if late:
                extra.update(a.id for a in late)
                continue
            found.append((o, old, top))
        return found, extra

    def _updates_of_temporaries(self) -> dict[int, int]:
        """{update result id: slot} for scatters and dynamic_update_slices (seen through
        reshapes, as `_in_place_plan`) of a value that a loop kernel of this program
        computed, that no step reads after the update, and that is neither an argument
        nor a result: the update writes into that value's buffer instead of a copy
        (`u.at[0, :].set(0); u.at[-1, :].set(0); ...` on a stencil's result wrote four
        copies of the grid). Their slots are assigned here, in program order, so a chain
        of updates shares one buffer."""
        prog, steps = self.program, self.plan.steps
        ins = {v.id for v in prog.invars}
        outs = {v.id for v in prog.outvars if isinstance(v, Var)}
        producer, reads, aliases = self._value_maps()
        roots = {st.root.id for st in steps if isinstance(st, fusion.Kernel)}
        found = {}
        for q, k in enumerate(steps):
            if not isinstance(k, fusion.Kernel) or k.root.id in self._in_place_outs or \
                    k.eqn.prim not in (ix.scatter_p, ix.dynamic_update_slice_p) or \
                    k.eqn.outputs[0].id != k.root.id or not isinstance(k.eqn.inputs[0], Var):
                continue
            e = k.eqn
            x, olds = e.inputs[0], set()
            while (x.id in aliases or x.id in k.inlined) and reads.get(x.id) == 1:
                src = _reshaped(producer, x)
                if src is None:
                    break
                olds.add(x.id)
                x = src
            if x.id in ins or x.id in outs or x.id not in roots or x.id in k.inlined:
                continue
            olds.add(x.id)
            if any(any(_step_reads(st, v) for v in olds) for st in steps[q + 1:]) or \
                    any(a in olds and v not in olds for v, a in aliases.items()) or \
                    any(isinstance(a, Var) and (a.id in olds or (
                        a.id in k.inlined and any(_reads_inlined(k, a.id, v) for v in olds)))
                        for a in e.inputs[1:]):
                continue
            found[k.root.id] = self.slot_of[k.root.id] = self._slot(x)
        return found

    def _branches_in_place(self, e, old, new):
        """The branches of cond `e`, lowered for this module, when `old` is one of its
        operands (once) and each branch writes its result `new` into that operand's buffer
        (`in_place_carries`); else None."""
        m = [n for n, a in enumerate(e.inputs) if isinstance(a, Var) and a.id == old.id]
        if len(m) != 1 or m[0] == 0:
            return None
        n = next(k for k, v in enumerate(e.outputs) if v.id == new.id)
        subs = []
        for b in e.params["branches"]:
            sub = self._nested(b, f"ip{len(self._branch_subs)}_{len(subs)}_", 0,
                               ((m[0] - 1, n),))
            if sub is None or n not in sub.in_place_carries():
                return None
            subs.append(sub)
        return subs

    def _into_old_note(self, steps) -> str:
        """The step comment's mark of a map that writes a carry into its old value."""
        return ", a carry written into its old value" if any(
            isinstance(k, fusion.Kernel) and k.root.id in self._maps_in_place
            for k in steps) else ""

    def _updates_in_place(self, step) -> bool:
        return isinstance(step, fusion.Kernel) and step.root.id in self._in_place_outs

    def _updates_an_argument(self, step) -> bool:
        """Whether `step` is a scatter or dynamic_update_slice of an argument of the
        program that its other operands do not read: with the argument donated, it may
        write into the argument's buffer (`codegen.emit_update_or_copy`; a replay buffer's
        or a KV cache's row set by `jit(..., donate_argnums=0)` costs the row)."""
        if self._nested_code or not isinstance(step, fusion.Kernel) or \
                not (step.kind == "scatter" or (step.kind == "map" and
                                                step.eqn.prim is ix.dynamic_update_slice_p)):
            return False
        e = step.eqn
        x = e.inputs[0]
        if not isinstance(x, Var) or x.id in step.inlined or \
                not any(x.id == v.id for v in self.program.invars) or \
                e.outputs[0].id != step.root.id or e.outputs[0].aval != x.aval:
            return False
        return not any(isinstance(a, Var) and (a.id == x.id or (
            a.id in step.inlined and _reads_inlined(step, a.id, x.id))) for a in e.inputs[1:])

    def in_place_carries(self) -> frozenset:
        """The output positions whose value stays in, or is written into, its input's
        buffer."""
        return self._in_place_positions

    def _build(self):
        functions = []
        cur_stmts, cur_slots, cur_temps = [], [], []
        cur_kernels: list = []

        def flush(attributes=""):
            nonlocal cur_stmts, cur_slots, cur_temps
            if cur_stmts:
                fname = f"{self.name}_seg{len(functions)}"
                slots = sorted(set(cur_slots))
                params = tuple(self._param(s) for s in slots) + tuple(
                    t.param for t in cur_temps) + self._dims_params()
                body = self.symbols.prologue(self._dims_param) + cur_stmts
                fn = cdsl.Function(fname, params, tuple(body), attributes=attributes)
                functions.append(fn)
                seg = _Segment(fn, slots, list(cur_temps))
                seg.kernels = list(cur_kernels)
                self.steps.append(("c", seg))
            cur_stmts, cur_slots, cur_temps = [], [], []
            cur_kernels.clear()

        def add(comment, stmts, used, temps, outs, flat=False, split=True, updates=None):
            """Append one compiled step (writing the slots of `outs`) to the segment;
            `updates`: the slot of an argument whose donation it may update in place."""
            out_slots = [self._slot(v) for v in outs]
            self.c_written.update(out_slots)
            cur_kernels.append((flat, out_slots, set(used), updates))
            cur_stmts.append(cdsl.Comment(comment))
            cur_stmts.extend(stmts)
            cur_slots.extend(used)
            cur_temps.extend(temps)
            if split and sum(_statement_count(x) for x in cur_stmts) >= _SEGMENT_BUDGET:
                flush()   # bounded functions: units can then compile concurrently

        read = _read_outside_steps(self.plan)

        def lower_group(group, bufs, used):
            members = {k.root.id for k in group}
            unread = frozenset(i for i in members if read.get(i, 0) == 0 or (
                read[i] == sum(v.id == i for k in group for v in k.inputs)))
            if isinstance(group, codegen.ReduceGroup):
                emit = codegen.emit_reduce_group
            elif codegen.is_row_group(group) and _short_rows(group):
                def emit(c, kernels, buffers):
                    return codegen.emit_rows_in_lanes(c, kernels, buffers, unread=unread)
            elif codegen.is_row_group(group):
                def emit(c, kernels, buffers):
                    return codegen.emit_rows(c, kernels, buffers, unread=unread,
                                             groups=True)
            else:
                def emit(c, kernels, buffers):
                    return codegen.emit_map_group(c, kernels, buffers, unread)
            stmts = emit(cn, group, bufs)
            if stmts is not None:
                # (not "flat" for donation: a later member may read a donated input at an
                # element an earlier member has already overwritten)
                label = codegen.row_group_label(group) + self._into_old_note(group)
                add(label, stmts, used, [], [k.root for k in group])
            return stmts is not None

        def lower_step(step):
            if isinstance(step, fusion.Alias):
                src = step.src
                if isinstance(src, Var):
                    self.slot_of[step.out.id] = self._slot(src)
                    self.alias[step.out.id] = src.id
                return
            if isinstance(step, fusion.Host) and step.eqn.prim in HostLoops.PRIMS:
                lowered = self._lower_control(step.eqn)
                if lowered is not None:
                    label, stmts, used, temps = lowered
                    add(label, stmts, used, temps, step.eqn.outputs, split=False)
                    return
            lowering = _host_lowering(step)
            if lowering is not None:
                label, stmts, used, temps = self._lower_in_block(lowering, step.eqn)
                add(label, stmts, used, temps, step.eqn.outputs)
                if _PROFILE:
                    flush()
                return
            if not _c_supported(step):
                flush()
                self._add_host_step(step.eqn)
                return
            eqn = step.eqn
            buffers, used = self._step_buffers(step)
            temps = gemm.Temps(self._temp_names)
            kind = fusion.step_kind(step)
            if self._updates_in_place(step):
                add(codegen.step_label(step, buffers) + ", in place",
                    codegen.emit_update_in_place(cn, step, buffers), used, [], eqn.outputs)
                return
            if self._updates_an_argument(step):
                add(codegen.step_label(step, buffers) + ", in place if donated",
                    codegen.emit_update_or_copy(cn, step, buffers), used, [], eqn.outputs,
                    updates=self.slot_of[eqn.inputs[0].id])
                return
            if kind == "dot":
                stmts = gemm.lower_dot(eqn, buffers, temps, self._invariant)
            elif kind == "conv":
                stmts = gemm.lower_conv(eqn, buffers, temps)
            else:
                stmts = None
                if kind == "reduce" and _lone_short_rows(step):
                    stmts = codegen.emit_rows_in_lanes(cn, [step], buffers)
                if stmts is None:
                    stmts = codegen.LOOP_KERNELS[kind](cn, step, buffers)
            # Wide convolution tiles stand alone in a function that gcc vectorises with
            # 512-bit registers (other loops keep the module's 256-bit vectors, so their
            # reductions add in the eager kernels' order).
            alone = kind == "conv" and gemm.conv_alone()
            if alone:
                flush()
            flat = isinstance(step, fusion.Kernel) and step.kind == "map" and \
                codegen._is_flat_kernel(step)
            label = codegen.step_label(step, buffers) + self._into_old_note([step])
            add(label, stmts, used, temps, eqn.outputs, flat=flat,
                split=not alone)
            if alone:
                flush(gemm.CONV_WIDE_ATTRIBUTE)
            elif _PROFILE:
                flush()

        self._each_step(lower_group, lower_step,
                        lambda st: not (self._updates_in_place(st) or
                                        self._updates_an_argument(st) or
                                        (isinstance(st, fusion.Kernel) and
                                         st.root.id in self._maps_alone)),
                        min_row=ROW_GROUP_MIN, map_groups=MAP_GROUPS,
                        reduce_groups=REDUCE_GROUPS,
                        short_rows=_short_rows if ROW_LANES else None)
        flush()
        self._set_out_slots()
        self._host_steps = any(k == "host" for k, _ in self.steps)
        self._csteps = [s for k, s in self.steps if k == "c"]
        out_ids = {v for k, v, _ in self.out_slots if k == "slot"}
        self._plan_buffers(out_ids)
        self._dims = self.symbols.array()
        self._dims_args = [_addr(self._dims)] if self._dims_param is not None else []
        # outputs that are inputs no C step writes (a carry a loop passes through, made
        # its constant): run_addrs hands back the input arrays it is given
        self._input_outs = sorted(s for s in out_ids - set(self.c_written) if s < self.n_in)
        if not out_ids <= set(self.c_written) | set(self._input_outs):
            self._host_steps = True
        functions = self.extra_functions + functions
        self.module = cdsl.Module(tuple(functions), uses_blas=None,
                                  external_helpers=runtime.symbols())
        self.lib = None
        self.parts = self._source = None
        if functions and self._compile:
            self.parts = _split_units(functions, self.extra_functions)
            # Pointer parameters are declared as intptr_t for cffi: the calling convention is
            # the same on 64-bit ABIs, and passing Python ints avoids a cast per argument.
            cdef = "\n".join(_int_declaration(f) for f in functions)
            self.lib = cdsl.load(self.source, cdef, parts=self.parts)
            for kind, seg in self.steps:
                if kind == "c":
                    seg.cfn = getattr(self.lib.lib, seg.fn.name)
                    seg.fn = _BuiltFunction(seg.fn)
            # Built, the module keeps its source, not its syntax tree: the tree was ~2/3 of
            # the Python objects a cached executable holds (900 of 1,373 for a small MLP's
            # gradient), and the cyclic garbage collector walks every one of them at each
            # full collection.
            self.module = self.parts = None

    @property
    def source(self) -> str:
        """The module's C source (rendered on first use: a loop body or branch lowered for
        another module, `compile=False`, only lends it its functions)."""
        if self._source is None:
            if self.parts is not None:
                self._source = "\n".join(self.parts)
            else:
                self._source = cdsl.render(self.module, runtime.dialect(cdsl.C99)) \
                    if self.module.functions else ""
        return self._source

    def runs_parallel(self) -> bool:
        """Whether the compiled code may open a parallel region: an OpenMP `parallel`
        pragma, or a call of the runtime library's GEMM kernels, which split over the team
        (BLAS itself runs on one thread). Code with neither runs on the calling thread
        whatever the team size, so its calls need no `threads.prepare` (0.25 us of a 3 us
        dispatch of the jitted `x + 1`)."""
        src = self.source
        return "omp parallel" in src or any(name in src for name in runtime.symbols())

    # --- control flow compiled into the module -----------------------------------------

    def _nested(self, program, tag, invariant=0, carries=()):
        """A loop body, loop condition or branch lowered for this module (its functions are
        added by `_adopt`), or None when part of it runs on the host or an output is a
        literal. `invariant`: its leading inputs keep their values over every call;
        `carries`: (input, output) positions of a loop's carries, which it may update in
        place (`Executable.in_place_carries`)."""
        sub = Executable(program, f"{self.name}_{tag}{len(self.extra_functions)}",
                         compile=False, symbols=self.symbols, invariant_inputs=invariant,
                         carries=carries, nested=True)
        if any(kind == "host" for kind, _ in sub.steps) or \
                any(kind == "lit" and np.ndim(v) != 0 for kind, v, _ in sub.out_slots):
            return None
        return sub

    def _adopt(self, sub):
        self.extra_functions.extend(sub.extra_functions)
        self.extra_functions.extend(s.fn for s in sub._csteps)

    def _inline(self, sub, temps, args, targets):
        """(setup, calls): statements running the compiled functions of `sub` in place,
        reading its input j from the pointer expression `args[j]` and writing its output j
        to `targets[j]` (copied there when it is an input or repeats another output). Its
        intermediates get scratch buffers from `temps`; `setup` runs once, before a loop:
        it clears the header of a GEMM's copy of a loop constant packed at the first call,
        since the constant's buffer may hold other values than at the last run
        (gemm._packed_gemm_once)."""
        import cdsl as C
        sub_temp, setup = {}, []
        for key in sub._arena_offsets:
            if isinstance(key, int):
                av = sub.slot_avals[key]
                sub_temp[key] = temps.new(av.shape, av.dtype)
            else:
                sub_temp[key] = temps.new(key.shape, key.dtype)
            if getattr(key, "pack_header", False):
                setup.append(C.Raw(f"*(intptr_t*){sub_temp[key].param.name} = 0;"))

        def temp_var(key):
            t = sub_temp[key]
            return C.Var(t.param.name, cn.ct(t.dtype))

        out_expr, copies, fills = {}, [], []
        for (kind, bsl, av), target in zip(sub.out_slots, targets):
            if kind == "lit":                 # a constant output (`lambda x: (x, 1.0)`)
                fills.append((target, np.asarray(bsl).item(), av))
            elif bsl >= sub.n_in and bsl in sub.c_written and bsl not in out_expr:
                out_expr[bsl] = target
            else:
                copies.append((bsl, target, sub.slot_avals[bsl].size))
        calls = []
        # (an output updated in place is its input's buffer: the caller passes one pointer)
        copies = [c for c in copies if not (c[0] < sub.n_in and isinstance(c[1], C.Var) and
                                            isinstance(args[c[0]], C.Var) and
                                            args[c[0]].name == c[1].name)]
        for seg in sub._csteps:
            call_args = [args[bsl] if bsl < sub.n_in else
                         out_expr[bsl] if bsl in out_expr else temp_var(bsl)
                         for bsl in seg.slots]
            call_args.extend(temp_var(t) for t in seg.temps)
            call_args.extend(C.Var(p.name, p.type) for p in self._dims_params())
            calls.append(C.ExprStmt(C.Call(seg.fn.name, tuple(call_args), C.void)))
        for bsl, target, count in copies:
            src = args[bsl] if bsl < sub.n_in else out_expr.get(bsl)
            if src is None:
                src = temp_var(bsl)
            z = C.Var("sc", C.i64)
            calls.append(C.For(z, C.Const(0, C.i64), cn.i64(count), (
                C.Store(target, z, C.Load(src, z, cn.ct(sub.slot_avals[bsl].dtype))),)))
        for target, value, av in fills:
            z = C.Var("sc", C.i64)
            if cn.is_bf16(av.dtype):      # stored as its bits (the target is any expression)
                value = C.Const(int(np.asarray(value, av.dtype).view(np.uint16)), C.u16)
            elif av.dtype == dtypes.float16:   # a float constant converted on the store
                value = cn.const(float(value), dtypes.float32)
            else:
                value = cn.const(value, av.dtype)
            calls.append(C.For(z, C.Const(0, C.i64), cn.i64(av.size), (
                C.Store(target, z, value),)))
        return setup, calls

    def _slot_ptr(self, slot):
        import cdsl as C
        return C.Var(self.slot_names[slot], cn.ct(self.slot_avals[slot].dtype))

    def _operands(self, inputs, temps):
        """(setup, pointer expressions) for a control-flow equation's operands: a scalar
        literal is stored into a scratch buffer first. None for another literal or a dtype
        without a C lowering."""
        import cdsl as C
        setup, ptrs = [], []
        for a in inputs:
            if a.aval.dtype not in _C_DTYPES:
                return None
            if not isinstance(a, Lit):
                ptrs.append(self._slot_ptr(self._slot(a)))
                continue
            if a.aval.shape != ():
                return None
            t = temps.new((), a.aval.dtype)
            init = getattr(a, "expr", None)     # a size-derived literal (SymLit)
            dt = a.aval.dtype
            setup.append(cn.store(t.param, cn.i64(0), cn.const(a.val.item(), dt)
                                  if init is None else cn.cast(dt, init)))
            ptrs.append(C.Var(t.param.name, cn.ct(dt)))
        return setup, ptrs

    @staticmethod
    def _copy(dst, src, size, dtype):
        z = cn.var("cz", dtypes.int64)
        return cn.for_(z, cn.i64(0), cn.i64(size),
                       [cn.store(dst, z, cn.load(cn.param(src.name, dtype), z))])

    def _lower_in_block(self, lowering, eqn):
        """(label, statements, slots used, temps) for an equation that would be a host step
        but `lowering` (`linalg_c`: factorisations calling LAPACK; `sort_c`) computes in C,
        in a block of its own."""
        import cdsl as C
        temps = gemm.Temps(self._temp_names)
        ins = [self._slot(a) for a in eqn.inputs]
        outs = [self._slot(v) for v in eqn.outputs]
        label, lines = lowering.lower(
            eqn, [self.slot_names[s] for s in ins], [self.slot_names[s] for s in outs],
            lambda shape, dtype: temps.new(shape, dtype).param.name)
        return label, [C.Block(tuple(C.Raw(x) if isinstance(x, str) else x
                                     for x in lines))], ins + outs, temps

    def _lower_control(self, eqn):
        """(label, statements, slots used, temps) for a scan, while_loop or cond whose
        bodies compile to C with no host steps, else None (it runs from Python)."""
        if eqn.prim is control.scan_p:
            lowered = self._lower_scan(eqn)
            if lowered is None:
                return None
            length = self.symbols.get(eqn.params["length"], eqn.params["length"])
            return (f"scan (length {symbolic.name_of(length)})",) + lowered
        if any(v.aval.dtype not in _C_DTYPES for v in eqn.outputs):
            return None
        if eqn.prim is control.while_p:
            lowered = self._lower_while(eqn)
            return None if lowered is None else ("while_loop",) + lowered
        if eqn.prim is control.cond_p:
            lowered = self._lower_cond(eqn)
            n = len(eqn.params["branches"])
            return None if lowered is None else (f"cond ({n} branches)",) + lowered
        return None

    def _lower_while(self, eqn):
        """A while loop in C: the condition's and the body's functions are called in turn
        until the condition is false; the carry alternates between the output buffers (A)
        and scratch ones (B), by the parity of the trip count, and ends in A."""
        import cdsl as C
        p = eqn.params
        cc, bc = p["cond_nconsts"], p["body_nconsts"]
        cond = self._nested(p["cond_program"], "wc", cc)
        ncar = len(eqn.outputs)
        body = self._nested(p["body_program"], "wb", bc,
                            tuple((bc + j, j) for j in range(ncar))) \
            if cond is not None else None
        if body is None:
            return None
        temps = gemm.Temps(self._temp_names)
        operands = self._operands(eqn.inputs, temps)
        if operands is None:
            return None
        self._adopt(cond)
        self._adopt(body)
        setup, ins = operands
        out_slots = [self._slot(v) for v in eqn.outputs]
        a_ptrs = [self._slot_ptr(sl) for sl in out_slots]
        # (a carry the body updates in place stays in A)
        in_place = body.in_place_carries()
        b_ptrs = [None if j in in_place else C.Var(
            temps.new(self.slot_avals[sl].shape, self.slot_avals[sl].dtype).param.name, a.type)
            for j, (sl, a) in enumerate(zip(out_slots, a_ptrs))]
        k = C.Var("wk", C.i64)
        even = C.BinOp("==", C.BinOp("%", k, C.Const(2, C.i64)), C.Const(0, C.i64))
        odd = C.UnOp("!", even)
        carry_in = [a if b is None else C.Select(even, a, b, a.type)
                    for a, b in zip(a_ptrs, b_ptrs)]
        carry_out = [a if b is None else C.Select(odd, a, b, a.type)
                     for a, b in zip(a_ptrs, b_ptrs)]
        flag = temps.new((), dtypes.bool_)
        csetup, ccalls = self._inline(cond, temps, ins[:cc] + carry_in,
                                      [C.Var(flag.param.name, cn.ct(dtypes.bool_))])
        bsetup, bcalls = self._inline(body, temps, ins[cc:cc + bc] + carry_in, carry_out)
        stmts = setup + csetup + bsetup
        for j, sl in enumerate(out_slots):
            av = self.slot_avals[sl]
            init = ins[cc + bc + j]
            if not (isinstance(init, C.Var) and init.name == self.slot_names[sl]):
                # (else the same buffer: a carry of the enclosing loop's)
                stmts.append(self._copy(self._param(sl), init, av.size, av.dtype))
        trip = ccalls + [C.If(C.UnOp("!", cn.load(flag.param, cn.i64(0))), (C.Break(),))] + \
            bcalls + [C.AugAssign(k, "+", C.Const(1, C.i64))]
        back = [self._copy(self._param(sl), b, self.slot_avals[sl].size,
                           self.slot_avals[sl].dtype)
                for sl, b in zip(out_slots, b_ptrs) if b is not None]
        loop = [C.Decl(k, C.Const(0, C.i64)), C.While(C.Const(1, C.i32), tuple(trip)),
                C.If(odd, tuple(back)) if back else C.Block(())]
        stmts.append(C.Block(tuple(loop)))
        used = [self._slot(a) for a in eqn.inputs if not isinstance(a, Lit)] + out_slots
        return stmts, used, temps

    def _lower_cond(self, eqn):
        """`cond`/`switch` in C: the branch the index picks (clamped to the branches, as
        JAX does) runs its functions, writing the equation's outputs."""
        import cdsl as C
        branches = eqn.params["branches"]
        subs = self._branch_subs.get(id(eqn))     # (updating an operand in place)
        for i, b in enumerate(branches if subs is None else ()):
            sub = self._nested(b, f"br{i}_", 0)
            if sub is None:
                return None
            subs = (subs or []) + [sub]
        temps = gemm.Temps(self._temp_names)
        operands = self._operands(eqn.inputs, temps)
        if operands is None:
            return None
        for sub in subs:
            self._adopt(sub)
        setup, ins = operands
        out_slots = [self._slot(v) for v in eqn.outputs]
        targets = [self._slot_ptr(sl) for sl in out_slots]
        idt = eqn.inputs[0].aval.dtype
        index = cn.load(cn.param(ins[0].name, idt), cn.i64(0))
        arms = []
        for sub in subs:
            bsetup, calls = self._inline(sub, temps, ins[1:], targets)
            arms.append(bsetup + calls)
        # if (i <= 0) b0 else if (i == 1) b1 ... else b_last: out-of-range indices clamp
        chain = tuple(arms[-1])
        for i in range(len(arms) - 2, -1, -1):
            test = C.BinOp("<=" if i == 0 else "==", index, cn.const(i, idt), C.bool_)
            chain = (C.If(test, tuple(arms[i]), chain),)
        used = [self._slot(a) for a in eqn.inputs if not isinstance(a, Lit)] + out_slots
        return setup + list(chain), used, temps

    def _lower_scan(self, eqn):
        """A scan whose body compiles to C with no host steps becomes a C loop calling the
        body's functions (compiled into this module): x_i / y_i are pointer offsets into the
        stacked arrays, the carry alternates between the output buffer and a scratch one."""
        import cdsl as C
        p = eqn.params
        nc, ncar, n, rev = p["num_consts"], p["num_carry"], p["length"], p["reverse"]
        # A literal initial carry (reverse mode's seed 1.0 of a scalar loss) is stored into
        # the carry buffer before the loop; a literal anywhere else keeps the host loop.
        if any(isinstance(a, Lit) and not (nc <= j < nc + ncar and a.aval.shape == ())
               for j, a in enumerate(eqn.inputs)):
            return None
        n = self.symbols.get(n, n)
        if any(a.aval.dtype not in _C_DTYPES for a in eqn.inputs):
            return None
        body = self._nested(p["program"], "b", nc, tuple((nc + j, j) for j in range(ncar)))
        if body is None or not body._csteps:
            return None
        self._adopt(body)
        in_slots = [None if isinstance(a, Lit) else self._slot(a) for a in eqn.inputs]
        out_slots = [self._slot(v) for v in eqn.outputs]
        used = [s for s in in_slots if s is not None] + list(out_slots)
        temps = gemm.Temps(self._temp_names)
        pv = self._slot_ptr
        in_place = body.in_place_carries()      # (these stay in A)
        carry_b = []
        for j, sl in enumerate(out_slots[:ncar]):
            av = self.slot_avals[sl]
            carry_b.append(None if j in in_place else temps.new(av.shape, av.dtype))
        k = C.Var("sk", C.i64)
        i = C.Var("si", C.i64)
        even = C.BinOp("==", C.BinOp("%", k, C.Const(2, C.i64)), C.Const(0, C.i64))
        # carry init -> buffer A (the output slot)
        stmts = []
        for j in range(ncar):
            src, dst = in_slots[nc + j], out_slots[j]
            av = self.slot_avals[dst]
            if src is not None:
                if src != dst:       # (the same buffer: a carry of the enclosing loop's)
                    stmts.append(self._copy(self._param(dst), pv(src), av.size, av.dtype))
                continue
            lit = eqn.inputs[nc + j]
            init = getattr(lit, "expr", None)     # a size-derived literal (SymLit)
            init = cn.const(lit.val.item(), av.dtype) if init is None else \
                cn.cast(av.dtype, init)
            z = C.Var("sz", C.i64)
            stmts.append(cn.for_(z, cn.i64(0), cn.i64(av.size),
                                 [cn.store(self._param(dst), z, init)]))

        def carry_ptr(j, which):
            a = pv(out_slots[j])
            if carry_b[j] is None:
                return a
            b = C.Var(carry_b[j].param.name, a.type)
            return C.Select(even if which == "in" else C.UnOp("!", even), a, b, a.type)

        args = [pv(in_slots[j]) for j in range(nc)]
        args += [carry_ptr(j, "in") for j in range(ncar)]
        for j in range(nc + ncar, len(in_slots)):
            # (the operand's own shape: its slot may be a reshape's source, of another shape,
            # e.g. the f32[36] a scatter wrote for a f32[6,2,3] cotangent; fuzz seed
            # 20261302)
            elems = math.prod(eqn.inputs[j].aval.shape[1:])
            sl = in_slots[j]
            args.append(C.BinOp("+", pv(sl), C.BinOp("*", i, cn.i64(elems)), pv(sl).type))
        targets = [carry_ptr(j, "out") for j in range(ncar)]
        for j in range(ncar, len(out_slots)):
            sl = out_slots[j]
            elems = math.prod(eqn.outputs[j].aval.shape[1:])
            targets.append(C.BinOp("+", pv(sl), C.BinOp("*", i, cn.i64(elems)), pv(sl).type))
        setup, calls = self._inline(body, temps, args, targets)
        calls = [C.Decl(i, C.BinOp("-", cn.i64(n - 1), k, C.i64) if rev else k)] + calls
        stmts = setup + stmts
        stmts.append(C.For(k, C.Const(0, C.i64), cn.i64(n), tuple(calls)))
        if n % 2 == 1:
            for j, dst in enumerate(out_slots[:ncar]):
                if carry_b[j] is None:
                    continue
                av = self.slot_avals[dst]
                stmts.append(self._copy(self._param(dst), carry_b[j].param, av.size,
                                        av.dtype))
        return stmts, used, temps

    def _plan_buffers(self, out_ids):
        """Liveness-based buffer planning: intermediates written by C steps (outputs
        excluded) share one arena; a block is reused once its value is dead. Step-local
        GEMM scratch (`temps`) lives in the arena too."""
        last_use: dict[int, int] = {}
        first_def: dict[int, int] = {}
        for i, (kind, step) in enumerate(self.steps):
            slots = step.slots if kind == "c" else [v for k, v in step[1] if k == "slot"] + \
                list(step[2])
            for sl in slots:
                first_def.setdefault(sl, i)
                last_use[sl] = i
        self._in_place = self._in_place_reductions(out_ids, last_use)
        self._fresh_blocks = [r for r in self._in_place.values() if r.fresh]
        placed = {s for r in self._in_place.values() for s in r.ins}
        temps = [s for s in sorted(self.c_written) if s not in out_ids and s not in placed]
        self._alloc = [(s, tuple(map(int, self.slot_avals[s].shape)), self.slot_avals[s].dtype,
                        int(self.slot_avals[s].size) * self.slot_avals[s].dtype.itemsize)
                       for s in sorted(self.c_written) if s in out_ids]
        free: list[tuple[int, int]] = []      # (offset, size) blocks
        live: list[tuple[int, int, int]] = []  # (last_use, offset, size)
        top = 0
        offsets: dict[object, int] = {}

        def take(nbytes):
            nonlocal top
            nbytes = max(64, (nbytes + 63) // 64 * 64)
            for j, (off, sz) in enumerate(free):
                if sz >= nbytes:
                    free[j] = (off + nbytes, sz - nbytes)
                    if free[j][1] == 0:
                        free.pop(j)
                    return off, nbytes
            off = top
            top += nbytes
            return off, nbytes

        def release_until(i):
            for item in [x for x in live if x[0] < i]:
                live.remove(item)
                free.append((item[1], item[2]))
            free.sort()

        by_def: dict[int, list] = {}
        for sl in temps:
            by_def.setdefault(first_def.get(sl, 0), []).append(sl)
        blocks_at: dict[int, list] = {}   # a block is taken when its first operand is written
        for r in self._in_place.values():
            if not r.fresh:
                blocks_at.setdefault(min(first_def[s] for s in r.ins), []).append(r)
        for i, (kind, step) in enumerate(self.steps):
            release_until(i)
            for r in blocks_at.get(i, []):
                size = r.dtype.itemsize
                off, sz = take(r.shape[0] * size)
                r.arena = offsets[r] = off
                for slots in (r.ins, r.outs):
                    for s, o in zip(slots, r.offsets):
                        offsets[s] = off + o * size
                # Live until the last use of a result (the operands end at the reduction).
                live.append((max([last_use.get(s, r.step) for s in r.outs] + [r.step]),
                             off, sz))
            for sl in by_def.get(i, []):
                av = self.slot_avals[sl]
                off, sz = take(max(1, av.size) * av.dtype.itemsize)
                offsets[sl] = off
                live.append((last_use.get(sl, i), off, sz))
            if kind == "c":
                for t in step.temps:
                    off, sz = take(max(1, int(np.prod(t.shape))) * t.dtype.itemsize)
                    offsets[t] = off
                    live.append((i, off, sz))
        self._arena_size = top
        self._arena_offsets = offsets
        self._arena = None
        # Held by the run using the shared arena; a concurrent (or re-entrant) run of the
        # same executable takes a fresh arena instead.
        self._arena_lock = threading.Lock()
        self._ptr_template = None
        self._fast_plan = None

    def _in_place_reductions(self, out_ids, last_use) -> dict:
        """{step index: _InPlaceReduction} for the psum/pmax/pmin host steps that can run
        in place: every operand a distinct buffer computed by this program's C code (not
        an input, not an output), read by nothing after the reduction, all of one dtype
        that is its own wire dtype (so not float16, bfloat16 or bool). The others keep the
        transport's copying path."""
        found = {}
        for i, (kind, step) in enumerate(self.steps):
            if not IN_PLACE_REDUCTIONS or kind != "host" or \
                    step[0].prim not in collectives.REDUCE_OPS:
                continue
            eqn, ins, outs = step
            slots = [v for k, v in ins if k == "slot"]
            if not slots or len(slots) != len(ins) or len(set(slots)) != len(slots) or \
                    len(set(outs)) != len(outs) or set(slots) & set(outs):
                continue
            dt = np.dtype(self.slot_avals[slots[0]].dtype)
            if collectives.wire_dtype(dt) != dt or any(
                    s < self.n_in or s not in self.c_written or s in out_ids or
                    last_use.get(s) != i or self.slot_avals[s].dtype != dt for s in slots):
                continue
            r = _InPlaceReduction(i, eqn, slots, list(outs), self.slot_avals,
                                  any(o in out_ids for o in outs))
            if r.shape[0]:
                found[i] = r
        return found

    @property
    def in_place_reductions(self) -> int:
        """How many reductions of this program run in place on its own buffers."""
        return len(self._in_place)

    def _new_arena(self):
        """(buffer, {slot or temp: view}, {slot or temp: address}) for one run."""
        buf = _host_bytes(max(self._arena_size, 64), "its intermediate values")
        base = _addr(buf)
        views, addrs = {}, {}
        for key, off in self._arena_offsets.items():
            if isinstance(key, int):
                av = self.slot_avals[key]
                shape, dt = av.shape, av.dtype
            else:
                shape, dt = key.shape, key.dtype
            shape = tuple(map(int, shape))
            n = int(np.prod(shape)) * np.dtype(dt).itemsize
            views[key] = buf[off:off + n].view(dt).reshape(shape)
            addrs[key] = base + off
        return buf, views, addrs

    def release_memory(self):
        """Free the shared scratch arena (a later run allocates it again); skipped while a
        run is using it (the arena then goes with the executable)."""
        if self._arena_lock.acquire(blocking=False):
            self._arena = None
            self._fast_plan = None
            self._ptr_template = None
            self._arena_lock.release()

    def _shared_arena(self):
        """The arena reused by every run that holds `_arena_lock`."""
        arena = self._arena
        if arena is None:
            with _arena_create_lock:
                arena = self._arena
                if arena is None:
                    arena = self._arena = self._new_arena()
            _live_arenas.put(id(self), self)
        return arena

    def run_addrs(self, addrs, reuse=None, inputs=None):
        """Run with inputs given by buffer address (the inputs must stay alive); returns
        fresh read-only output arrays. Raises _NeedArrays (the caller then uses `run`) when host
        steps need the arrays or another thread is running this executable. `reuse`
        {output slot: input index} (of `donation_map`, with the input arrays `inputs`):
        those outputs are written into, and are, those inputs' buffers. Outputs that are
        inputs (`_input_outs`) are the arrays of `inputs`, required then."""
        if self._host_steps or (self._input_outs and inputs is None) or \
                not self._arena_lock.acquire(blocking=False):
            raise _NeedArrays
        try:
            fast = self._fast_plan
            if fast is None:
                fast = self._fast_plan = self._make_fast_plan()
            template, csteps, out_order, layout = fast
            tok = _threads.prepare(self._thread_plan)
            ptrs = template.copy()
            ptrs[:len(addrs)] = addrs
            arrays = {}
            layout.fill(arrays, ptrs, reuse or ())
            for sl in self._input_outs:
                arrays[sl] = inputs[sl]
            if reuse:
                for sl, j in reuse.items():
                    ptrs[sl] = addrs[j]
                    arrays[sl] = inputs[j]
            for cfn, slots, targs in csteps:
                cfn(*[ptrs[s] for s in slots], *targs)
            if tok is not None:
                _threads.done(self._thread_plan, tok)
        finally:
            self._arena_lock.release()
        outs = _Outputs(arrays[s] if kind == "slot" else self._read_only(arrays, ptrs, o)
                        for kind, s, o in out_order)
        outs.addrs = [ptrs[s] if kind == "slot" else None for kind, s, _ in out_order]
        return outs

    def _read_only(self, arrays, ptrs, o):
        # (`fill` made the outputs in slots read-only already)
        a = self._output(arrays, ptrs, o)
        a.setflags(write=False)
        return a

    def _make_fast_plan(self):
        arena = self._shared_arena()
        template = [0] * len(self.slot_avals)
        for key, a in arena[2].items():
            if isinstance(key, int):
                template[key] = a
        csteps = [(st.cfn, list(st.slots), [arena[2][t] for t in st.temps] + self._dims_args)
                  for st in self._csteps]
        out_order = []
        for o in self.out_slots:
            kind, v, aval = o
            ok = kind == "slot" and any(v == s for s, _, _, _ in self._alloc) and \
                self.slot_avals[v].shape == aval.shape
            out_order.append(("slot", v, o) if ok else ("other", v, o))
        return template, csteps, out_order, _OutputLayout(self._alloc)

    def can_run_into(self) -> bool:
        """True when every output is a distinct buffer written by C code, so outputs can
        be written straight into caller-provided memory."""
        if self._host_steps:
            return False
        slots = [v for k, v, _ in self.out_slots]
        kinds = [k for k, _, _ in self.out_slots]
        return all(k == "slot" for k in kinds) and len(set(slots)) == len(slots) and \
            all(s >= self.n_in and s in self.c_written for s in slots)

    def run_into(self, in_addrs, out_addrs):
        """Run with inputs and outputs given by address (see `can_run_into`)."""
        if self._arena_lock.acquire(blocking=False):
            try:
                arena = self._shared_arena()
                ptrs = self._ptr_template
                if ptrs is None:
                    ptrs = self._ptr_template = self._slot_pointers(arena)
                self._run_into(in_addrs, out_addrs, arena, ptrs)
            finally:
                self._arena_lock.release()
        else:
            arena = self._new_arena()
            self._run_into(in_addrs, out_addrs, arena, self._slot_pointers(arena))

    def _slot_pointers(self, arena):
        ptrs = [0] * len(self.slot_avals)
        for key, a in arena[2].items():
            if isinstance(key, int):
                ptrs[key] = a
        return ptrs

    def _run_into(self, in_addrs, out_addrs, arena, template):
        tok = _threads.prepare(self._thread_plan)
        ptrs = list(template)
        ptrs[:len(in_addrs)] = in_addrs
        for (_, s, _), a in zip(self.out_slots, out_addrs):
            ptrs[s] = a
        aaddrs = arena[2]
        for step in self._csteps:
            args = [ptrs[s] for s in step.slots]
            if step.temps:
                args.extend(aaddrs[t] for t in step.temps)
            args.extend(self._dims_args)
            step.cfn(*args)
        if tok is not None:
            _threads.done(self._thread_plan, tok)

    def _output(self, arrays, ptrs, o):
        kind, v, aval = o
        if kind == "lit":
            return np.full(aval.shape, v, aval.dtype)
        arr = arrays.get(v) if isinstance(arrays, dict) else arrays[v]
        if arr is None:
            raise _NeedArrays
        return arr if arr.shape == aval.shape else arr.reshape(aval.shape)

    def donation_map(self, donate) -> dict[int, int]:
        """{output slot: input index} for donated inputs whose buffer can hold an output:
        same type, written by a C step no earlier than the input's last read, and when in
        the same step, no kernel of it reads the input after the kernel that writes the
        output, and that kernel, if it reads the input, is a flat elementwise kernel
        (reads and writes at the same index)."""
        cached = getattr(self, "_donation_cache", {})
        if donate in cached:
            return cached[donate]
        last_read: dict[int, int] = {}
        writer: dict[int, tuple[int, int]] = {}     # slot: (step, kernel within it)
        for i, (kind, step) in enumerate(self.steps):
            if kind == "c":
                for sl in step.slots:
                    last_read[sl] = i
                for q, k in enumerate(step.kernels):
                    for sl in k[1]:
                        writer[sl] = (i, q)
            else:
                for k, v in step[1]:
                    if k == "slot":
                        last_read[v] = i
        out_slots = [v for k, v, _ in self.out_slots if k == "slot"]
        mapping: dict[int, int] = {}
        # an input that is itself an output (returned unchanged, or reshaped: the same
        # slot) keeps its buffer: another output written there would overwrite it
        used_inputs: set[int] = {s for s in out_slots if s < self.n_in}
        for sl in out_slots:
            if sl in mapping or sl not in writer or sl < self.n_in:
                continue
            wi, wq = writer[sl]
            for j, d in enumerate(donate):
                if not d or j in used_inputs or j >= self.n_in:
                    continue
                if self.slot_avals[j].shape != self.slot_avals[sl].shape or \
                        self.slot_avals[j].dtype != self.slot_avals[sl].dtype:
                    continue
                lr = last_read.get(j, -1)
                if lr < wi or (lr == wi and self._reads_end_at(j, wi, wq)):
                    mapping[sl] = j
                    used_inputs.add(j)
                    break
        cached[donate] = mapping
        self._donation_cache = cached
        return mapping

    def _reads_end_at(self, slot, step_index, q):
        """Whether C step `step_index` reads `slot` only in kernels before its kernel `q`,
        or in `q` itself when that is a flat elementwise kernel: then `q` may write its
        output over `slot`. (A later kernel of the step reading `slot` would see the
        output: a map group that computes fmod(a, b) and, after it, heaviside(x, ...)
        read x after fmod had overwritten it.)"""
        kernels = self.steps[step_index][1].kernels
        flat, _, reads, updates = kernels[q]
        if updates == slot:
            # (an update of `slot` itself, which then writes the updated elements alone: no
            # other kernel of the function may read it, through another restrict pointer)
            return not any(slot in k[2] for n, k in enumerate(kernels) if n != q)
        if any(slot in k[2] for k in kernels[q + 1:]):
            return False
        return flat or slot not in reads

    def run(self, args, reuse=None):
        if _PROFILE:
            t0 = time.perf_counter()
            self._profiled_steps = 0.0
            out = self._run_unprofiled(args, reuse)
            t1 = time.perf_counter()
            _profile(f"{self.name}: run", t0, t1)
            profile_times.setdefault(f"{self.name}: python", []).append(
                max(0.0, (t1 - t0) - self._profiled_steps))
            return out
        return self._run_unprofiled(args, reuse)

    def _run_unprofiled(self, args, reuse=None):
        if self._arena_lock.acquire(blocking=False):
            try:
                return self._run(args, self._shared_arena(), reuse)
            finally:
                self._arena_lock.release()
        return self._run(args, self._new_arena(), reuse)

    def _run(self, args, arena, reuse=None):
        tok = _threads.prepare(self._thread_plan)
        arrays: list = [None] * len(self.slot_avals)
        for i, a in enumerate(args):
            arrays[i] = a
        _, views, aaddrs = arena
        for key, v in views.items():
            if isinstance(key, int):
                arrays[key] = v
        if reuse:
            for sl, j in reuse.items():
                arrays[sl] = args[j]
        for s, shape, dt, nb in self._alloc:
            if arrays[s] is None:
                arrays[s] = _outputs.empty(shape, dt, nb)
        in_place, fresh = self._in_place, {}
        for r in self._fresh_blocks:
            # Its results are program outputs: the block is allocated as outputs are.
            block = fresh[r.step] = _outputs.empty(r.shape, r.dtype,
                                                   r.shape[0] * r.dtype.itemsize)
            for sl, v in r.views(block):
                arrays[sl] = v
        for i, (kind, step) in enumerate(self.steps):
            t0 = time.perf_counter() if _PROFILE else 0.0
            if kind == "c":
                ptrs = [_addr(arrays[s]) for s in step.slots]
                ptrs.extend(aaddrs[t] for t in step.temps)
                ptrs.extend(self._dims_args)
                step.cfn(*ptrs)
                if _PROFILE:
                    self._profiled_steps += _profile(f"{step.fn.name}: {step.fn.label}", t0)
            elif i in in_place:
                # The operands lie side by side in one block, and the results are the same
                # buffers (their slots hold views of it already).
                r = in_place[i]
                collectives.reduce_in_place(r.prim, fresh[i] if r.fresh else views[r],
                                            r.operands)
                if _PROFILE:
                    self._profiled_steps += _profile(
                        f"{self.name}: host step {r.prim.name} in place", t0)
            else:
                eqn, ins, outs = step
                # A slot may hold a reshape alias of its buffer (fusion.Alias) in the source's
                # shape: host steps see each input in its own shape.
                vals = [v if k == "lit" else _as_shape(arrays[v], a.aval.shape)
                        for (k, v), a in zip(ins, eqn.inputs)]
                res = _CLoops(self.symbols).run(eqn, vals) if eqn.prim in HostLoops.PRIMS \
                    else _host_call(eqn, vals)
                for s, r in zip(outs, res):
                    # A host step may hand back one of its inputs (a while loop that never
                    # runs returns its initial value): if that lives in the arena, its block
                    # is freed after this step, so the result must not stay a view of it.
                    # Nor of a donated input whose buffer an output takes over: a later
                    # step writing that output would change the result under its readers
                    # (fuzz seed 20261503: every element NaN).
                    if isinstance(r, np.ndarray) and (
                            (self._arena_offsets and np.may_share_memory(r, arena[0])) or
                            (reuse and any(np.may_share_memory(r, args[j])
                                           for j in set(reuse.values())))):
                        r = r.copy()
                    arrays[s] = r
                if _PROFILE:
                    self._profiled_steps += _profile(
                        f"{self.name}: host step {eqn.prim.name}" + (
                            f" -> {symbolic.shape_text(eqn.outputs[0].aval)}"
                            if eqn.outputs else ""), t0)   # (a program check has none)
        if tok is not None:
            _threads.done(self._thread_plan, tok)
        out = []
        for kind, v, aval in self.out_slots:
            if kind == "lit":
                out.append(np.full(aval.shape, v, aval.dtype))
            else:
                arr = arrays[v]
                if self._arena_offsets and np.may_share_memory(arr, arena[0]):
                    arr = arr.copy()
                if arr.shape != aval.shape:
                    arr = arr.reshape(aval.shape)
                out.append(arr)
        return out


_PROFILE = os.environ.get("FUNCGRAD_PROFILE", "") not in ("", "0")
profile_times: dict[str, list] = {}


def _profile(key, t0, t1=None) -> float:
    dt = (t1 or time.perf_counter()) - t0
    profile_times.setdefault(key, []).append(dt)
    return dt


def profile_report(file=None) -> str:
    """With FUNCGRAD_PROFILE=1: a table of where the compiled programs spent their time —
    each compiled function and host step, and each program's whole run ('run') with the
    rest of its time ('python': argument handling, allocation, dispatch); the rows of one
    program add up to its 'run' row. Printed at exit."""
    rows = sorted(((sum(v), len(v), k) for k, v in profile_times.items()), reverse=True)
    lines = [f"{'total ms':>10} {'calls':>7} {'ms/call':>9}  where"]
    for total, n, k in rows:
        lines.append(f"{1e3 * total:10.2f} {n:7d} {1e3 * total / n:9.3f}  {k}")
    text = "\n".join(lines)
    if file is not None:
        print("funcgrad profile (FUNCGRAD_PROFILE=1):\n" + text, file=file)
    return text


if _PROFILE:
    import atexit
    import sys
    atexit.register(lambda: profile_times and profile_report(sys.stderr))
_arena_create_lock = threading.Lock()
class _NeedArrays(Exception):
    pass


def _read_outside_steps(plan) -> dict[int, int]:
    """{var id: how many reads} of the values the plan's steps read from memory, and of
    the program's outputs (each counted once more, so that an output is never taken for
    a value only its own group reads)."""
    counts: dict[int, int] = {}

    def add(v):
        if isinstance(v, Var):
            counts[v.id] = counts.get(v.id, 0) + 1
    for step in plan.steps:
        if isinstance(step, fusion.Kernel):
            for v in step.inputs:
                add(v)
        elif isinstance(step, fusion.Alias):
            add(step.src)
        else:
            for v in step.eqn.inputs:
                add(v)
    for v in plan.program.outvars:
        add(v)
        add(v)
    return counts


def _host_bytes(nbytes: int, what: str) -> np.ndarray:
    """`nbytes` bytes of host memory for a compiled program's `what`, or a MemoryError that
    says so (NumPy's names only a uint8 array of that many elements)."""
    try:
        return np.empty(nbytes, np.uint8)
    except MemoryError:
        raise MemoryError(f"C backend: cannot allocate {nbytes / (1 << 30):.2f} GiB for "
                          f"{what}: not enough memory. Use smaller arrays (split the batch, "
                          f"or jax.lax.map over chunks instead of vmap)") from None


class _OutputPool:
    """Recycles the memory of large output arrays once they are garbage: a fresh `np.empty`
    of tens of MB is mmap-ed and page-faults on first touch (a few ms per call), which
    dominates streaming kernels. Small outputs use np.empty directly."""

    MIN_BYTES = 1 << 20
    MAX_POOLED = 1 << 30

    def __init__(self):
        import threading
        import weakref
        self._free: dict[int, list] = {}
        self._pooled = 0
        self._lock = threading.Lock()
        self._finalize = weakref.finalize

    def empty(self, shape, dtype, nbytes):
        if nbytes < self.MIN_BYTES:
            return np.empty(shape, dtype)
        with self._lock:
            bucket = self._free.get(nbytes)
            buf = bucket.pop() if bucket else None
            if buf is not None:
                self._pooled -= nbytes
        if buf is None:
            buf = _host_bytes(nbytes, f"a {np.dtype(dtype).name}{list(shape)} result")
        # The memory goes back to the pool when `owner` dies, which is when the last array
        # viewing it dies: every view (`np.asarray(out)[:5]`) keeps `owner` alive through
        # its base chain (a view of `buf` itself would not).
        owner = _PooledMemory(buf, shape, dtype)
        arr = np.asarray(owner)
        if arr.dtype != dtype:
            # the array interface's typestr cannot name ml_dtypes' bfloat16 ('<V2'): a view
            # (whose base chain still reaches `owner`)
            arr = arr.view(dtype)
        self._finalize(owner, self._give_back, buf)
        return arr

    def _give_back(self, buf):
        with self._lock:
            if self._pooled + buf.nbytes <= self.MAX_POOLED:
                self._free.setdefault(buf.nbytes, []).append(buf)
                self._pooled += buf.nbytes


class _PooledMemory:
    """Exposes a pooled buffer as an array of `shape` and `dtype` (the base object of the
    output arrays made from it)."""

    __slots__ = ("buf", "__array_interface__", "__weakref__")

    def __init__(self, buf, shape, dtype):
        self.buf = buf
        self.__array_interface__ = {"shape": tuple(shape), "typestr": np.dtype(dtype).str,
                                    "data": (_addr(buf), False), "version": 3}


_outputs = _OutputPool()
_POOL_MIN_BYTES = _OutputPool.MIN_BYTES


class _OutputLayout:
    """Where a run's fresh output arrays come from. Small ones (more than one element, a few
    KB together) are carved from one allocation: an array's buffer address costs 1.5 us to
    read through cffi and its `np.empty` 0.5 us, and a small training step returns a dozen
    or more outputs (parameters and optimizer state). One block's address is read once and
    each output's is an offset into it (the carved views cost 0.8 us each).

    The block lives while any output carved from it lives. It holds no 0-d outputs (a loss
    kept in a list keeps only its own memory) and at most BLOCK_MAX bytes, so a
    caller who keeps one output of each step keeps at most that much more than the output.
    Everything else is allocated alone (`_OutputPool`).

    The outputs of a layout of at most RECYCLE_MAX bytes are also recycled: each unit (the
    carved block's arrays together, each array allocated alone) keeps its last SPARES
    instances, and a run takes one back when nothing but the layout refers to any of its
    arrays (no Array, view, memoryview or weak reference: the caller dropped it). The
    run then writes into those same ndarray objects, whose addresses are known, instead of
    allocating new ones: `x + 1` on 10 floats dispatches in ~1 us less. A caller who
    keeps an output keeps its unit busy, and that run allocates anew as before."""

    BLOCK_MAX = 1 << 16
    ALIGN = 64
    RECYCLE_MAX = 1 << 16
    SPARES = 2

    __slots__ = ("block", "carved", "alone", "_spares")

    def __init__(self, alloc):
        carved, alone, top = [], [], 0
        for s, shape, dt, nb in alloc:
            if nb > 0 and len(shape) > 0 and top + nb <= self.BLOCK_MAX:
                carved.append((s, shape, dt, top))
                top += (nb + self.ALIGN - 1) // self.ALIGN * self.ALIGN
            else:
                alone.append((s, shape, dt, nb))
        if len(carved) < 2:            # nothing to share
            alone, carved, top = list(alloc), [], 0
        self.block = top
        self.carved = carved
        self.alone = alone
        small = top + sum(nb for _, _, _, nb in alone) <= self.RECYCLE_MAX
        # one deque per unit: [0] the carved block's, then one per array allocated alone
        self._spares = [deque(maxlen=self.SPARES) for _ in range(1 + len(alone))] \
            if small else None

    def fill(self, arrays, ptrs, skip=()):
        """Allocate the outputs: `arrays[slot]` = a read-only array, `ptrs[slot]` = its
        address (0 for an empty one); not those allocated alone whose slots are in `skip`
        (outputs written into donated buffers)."""
        spares = self._spares
        if self.carved:
            unit = _unused_carved(spares[0]) if spares is not None else None
            if unit is None:
                blk = np.empty(self.block + self.ALIGN, np.uint8)
                base = _contiguous_addr(blk)
                shift = -base % self.ALIGN
                base += shift
                blk.setflags(write=False)         # so are the views carved from it
                # (carved from a memoryview of the block: 0.5 us a view, against 0.8 us
                # from the ndarray itself; the view's base is the memoryview, which keeps
                # the block)
                mem = memoryview(blk)
                unit = tuple((s, np.ndarray(shape, dt, mem, shift + off), base + off)
                             for s, shape, dt, off in self.carved)
            for s, a, ad in unit:
                arrays[s] = a
                ptrs[s] = ad
            if spares is not None:
                owner = unit[0][1].base
                spares[0].append((unit, owner, _OWNER_UNUSED_REFS + len(unit)))
        for i, (s, shape, dt, nb) in enumerate(self.alone, 1):
            if s in skip:
                continue
            unit = _unused(spares[i]) if spares is not None else None
            if unit is None:
                a = np.empty(shape, dt) if nb < _POOL_MIN_BYTES else \
                    _outputs.empty(shape, dt, nb)
                a.setflags(write=False)      # (0.2 us; `a.flags.writeable = False` 0.5 us)
                unit = ((s, a, _contiguous_addr(a) if nb else 0),)
            _, arrays[s], ptrs[s] = unit[0]
            if spares is not None:
                spares[i].append(unit)


_getrefcount = sys.getrefcount
_getweakrefcount = weakref.getweakrefcount


def _unused(spares):
    """The oldest of a unit's kept instances if nothing else refers to any of its arrays
    (taken out of `spares`: another thread cannot take it too), else None."""
    try:
        unit = spares.popleft()
    except IndexError:
        return None
    if not _arrays_unused(unit):
        spares.appendleft(unit)
        return None
    return unit


def _unused_carved(spares):
    """`_unused` for the carved block's unit, kept as (unit, owner, refs): NumPy makes the
    block's ndarray the base of the carved arrays, and of every view of them, so a
    caller's `np.asarray(out)[:1]` refers to the block and not to the carved array. The
    unit is unused only when the block has no other reference either (a view was
    overwritten by a later run: test_jit_dispatch's kept-output property found it)."""
    try:
        entry = spares.popleft()
    except IndexError:
        return None
    unit, owner, refs = entry
    if _getrefcount(owner) != refs or _getweakrefcount(owner) or not _arrays_unused(unit):
        spares.appendleft(entry)
        return None
    return unit


def _arrays_unused(unit) -> bool:
    """Whether nothing but the layout refers to the arrays of `unit`."""
    for _, a, _ in unit:
        if _getrefcount(a) != _UNUSED_REFS or _getweakrefcount(a):
            return False
    return True


def _references_of_an_unused_block() -> int:
    """sys.getrefcount of a carved block nothing refers to but its carved arrays, seen
    from `_unused_carved`, less the number of carved arrays (measured the way `fill`
    carves, as the interpreter and NumPy decide what refers to what)."""
    blk = np.empty(256, np.uint8)
    mem = memoryview(blk)
    unit = tuple((k, np.ndarray((4,), np.float32, mem, 64 * k), 0) for k in range(2))
    del mem, blk
    entry = (unit, unit[0][1].base, 0)
    del unit
    got = _probe_owner(entry)
    return got - 2


def _probe_owner(entry):
    unit, owner, refs = entry
    return _getrefcount(owner)


def _references_of_an_unused_output() -> int:
    """sys.getrefcount of a kept output nothing else refers to, seen from
    `_arrays_unused`'s loop (the unit's tuple, the loop variable and the argument;
    measured, as the interpreter may not count the loop variable)."""
    unit = ((0, np.empty(1), 0),)
    for _, a, _ in unit:
        return _getrefcount(a)
    return 0


_UNUSED_REFS = _references_of_an_unused_output()
_OWNER_UNUSED_REFS = _references_of_an_unused_block()


def _int_declaration(f) -> str:
    params = ", ".join(("intptr_t " if isinstance(p.type, cdsl.PtrType) else "int64_t ") +
                       p.name for p in f.params)
    return f"void {f.name}({params});"


def _as_shape(a, shape):
    return a if np.shape(a) == shape else np.reshape(a, shape)


def _sole_buffers(reuse, args, vals):
    """The part of a donation map {output slot: input index} whose input buffers no other
    array can see, so that writing an output there is invisible: the donated Array's own
    ndarray, owning its memory (not a view into another array's), referenced only by that
    Array and by `vals`, and not passed as another argument too. Anything else may hold it:
    a slice or reshape of the donated array (a NumPy view keeps its base), its host copy from
    `np.asarray`/`device_get`, a jitted function's pass-through output or closed-over
    constant, the base whose slice was donated. JAX's buffers are never shared, so there
    all of these keep their values; writing into the shared buffer changed them silently.
    Such a donation still deletes the donated Array; its output gets a buffer of its own."""
    kept = {}
    # (an array that owns its memory shares it with no other such array: only views need
    # NumPy's test, and each argument passed more than once is found by its identity; a
    # test of every pair cost 110 us a step of a state of 30 arrays)
    seen: dict[int, int] = {}
    for k in map(id, vals):        # (no loop variable left holding an array: a reference)
        seen[k] = seen.get(k, 0) + 1
    views = [(i, v) for i, v in enumerate(vals) if v.base is not None]
    for sl, j in reuse.items():
        buf = vals[j]
        if buf.base is not None or not buf.flags.owndata:
            continue
        # references: args[j]._value, vals[j], `buf` here and getrefcount's argument
        if sys.getrefcount(buf) > 4 or getattr(args[j], "_value", None) is not buf:
            continue
        if seen[id(buf)] > 1 or any(np.may_share_memory(v, buf) for i, v in views if i != j):
            continue
        kept[sl] = j
    return kept


def _contiguous(a: np.ndarray) -> np.ndarray:
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


_FFI = cffi.FFI()


def _buffer_address_reader():
    """A function reading a C-contiguous, non-empty ndarray's buffer address. cffi's
    `cast(from_buffer(a))` takes ~0.7 us when called on `_cffi_backend` with the C types
    resolved once, against ~1.3 us through `FFI`'s wrappers (which parse the type name on
    every call); a jitted call reads one or two."""
    try:
        import _cffi_backend as backend
        intptr, chars = _FFI.typeof("intptr_t"), _FFI.typeof("char[]")
        cast, from_buffer = backend.cast, backend.from_buffer
        probe = np.arange(3, dtype=np.int64)
        if int(cast(intptr, from_buffer(chars, probe, False))) == \
                probe.__array_interface__["data"][0]:
            return lambda a: int(cast(intptr, from_buffer(chars, a, False)))
    except (ImportError, AttributeError, TypeError):   # another cffi: its public API
        pass
    cast, from_buffer = _FFI.cast, _FFI.from_buffer
    return lambda a: int(cast("intptr_t", from_buffer(a)))


_contiguous_addr = _buffer_address_reader()


def _addr(a: np.ndarray) -> int:
    if not isinstance(a, np.ndarray):
        # A NumPy scalar's __array_interface__ points at a temporary copy that is freed at
        # once: two such "buffers" alias (the scan-residual bug of issue 9).
        raise TypeError(f"internal: a compiled program was handed a {type(a).__name__}, "
                        "not an ndarray; please report this")
    if a.size == 0:
        return 0
    if a.flags.c_contiguous:
        # cffi reads the buffer address in ~0.7 us; building __array_interface__'s dict
        # costs ~1.9 us, twice per jitted call (its input and its output)
        return _contiguous_addr(a)
    return a.__array_interface__["data"][0]


class _Outputs(list):
    """A runner's output arrays, with `addrs`: the buffer address of each array that the
    compiled code wrote (None where unknown). jit's fast path hands each address to the
    output's Array, so that feeding it back (a training loop's state) does not read the
    address again (1.5 us an array through cffi)."""

    __slots__ = ("addrs",)


def _host_call(eqn, vals):
    return [_contiguous(r) for r in host_call(eqn, vals, quiet=True)]


def _single_threaded_blas():
    """One thread pool owns the cores: OpenBLAS runs single-threaded inside our OpenMP
    parallel GEMM splits (two spinning pools on two cores slow each other down 3-10x)."""
    import cffi
    import importlib
    from ..prims.lapack import load_blas
    sob = load_blas(lambda: importlib.import_module("scipy_openblas32"))
    ffi = cffi.FFI()
    ffi.cdef("void scipy_openblas_set_num_threads(int);")
    libdir = sob.get_lib_dir()
    so = [f for f in os.listdir(libdir) if f.startswith("lib" + sob.get_library()) and
          ".so" in f]
    if so:
        lib = ffi.dlopen(os.path.join(libdir, so[0]))
        lib.scipy_openblas_set_num_threads(1)


# --- control flow: Python-driven loops over compiled sub-programs -----------------------

def _release(entry):
    entry[1].release_memory()


_sub_executables = ProgramCache(_release, locked=False)
# The executables that hold a scratch arena: only the most recently used keep theirs.
_live_arenas = LRU(lambda: _LIVE_ARENAS, lambda exe: exe.release_memory())
_LIVE_ARENAS = 16


class _CLoops(HostLoops):
    """scan, while_loop and cond over host arrays; a nested program of size-generic code has
    the enclosing program's run-time sizes (`symbols`)."""

    def __init__(self, symbols):
        self.symbols = symbols

    def sub_exe(self, program, name):
        symbols = self.symbols if self.symbols.values else None
        # (sharing by content only with sub-programs of the same symbol table: its sizes
        # are read through it; an entry's executable keeps the table alive)
        return _sub_executables.lookup(id(program), program, lambda: Executable(
            program, kernel_name(name), symbols=symbols),
            content=lambda: (name, None if symbols is None else id(symbols), _settings()))

    def run(self, eqn, vals):
        return super().run(eqn, [_contiguous(np.asarray(v)) for v in vals])

    truth = staticmethod(bool)

    def index(self, buf):
        return int(buf)

    stacked = staticmethod(np.empty)

    def take(self, xs, i):
        # `x[i, ...]` is a 0-d array view for a 1-D `x`; `x[i]` would be a NumPy scalar,
        # whose __array_interface__ address is that of a temporary copy freed at once, so
        # the body read whatever reused that memory (issue 9: two scalar xs aliased).
        return xs[i, ...]

    def put(self, ys, i, y):
        ys[i] = y

    def carry(self, outs):
        return [_contiguous(c) for c in outs]

    def scan(self, eqn, vals):
        exe = self.sub_exe(eqn.params["program"], "scan_body")
        if exe.can_run_into():
            return _run_scan_direct(exe, eqn, vals)
        out = super().scan(eqn, vals)
        ncar = eqn.params["num_carry"]
        return [np.asarray(c, v.aval.dtype) for c, v in zip(out[:ncar], eqn.outputs[:ncar])] \
            + out[ncar:]


def _run_scan_direct(exe, eqn, vals):
    """The scan loop over buffer addresses: x_i and y_i are slices of the stacked arrays,
    carries alternate between two buffers; no per-iteration allocation or copy."""
    p = eqn.params
    nc, ncar, n, rev = p["num_consts"], p["num_carry"], p["length"], p["reverse"]
    consts, carry0, xs = vals[:nc], vals[nc:nc + ncar], vals[nc + ncar:]
    c_avals = [v.aval for v in eqn.outputs[:ncar]]
    y_avals = [v.aval for v in eqn.outputs[ncar:]]
    bufs = [[np.array(c0, dtype=a.dtype, copy=True).reshape(a.shape),
             np.empty(a.shape, a.dtype)] for c0, a in zip(carry0, c_avals)]
    ys = [np.empty(a.shape, a.dtype) for a in y_avals]
    c_addr = [[_addr(b[0]), _addr(b[1])] for b in bufs]
    x_base = [_addr(x) for x in xs]
    x_step = [x[0].nbytes if x.shape[0] else 0 for x in xs]
    y_base = [_addr(y) for y in ys]
    y_step = [y[0].nbytes if y.shape[0] else 0 for y in ys]
    k_addr = [_addr(cv) for cv in consts]
    run = exe.run_into
    for k in range(n):
        i = n - 1 - k if rev else k
        src, dst = k % 2, 1 - k % 2
        ins = k_addr + [ca[src] for ca in c_addr] + [b + i * s for b, s in zip(x_base, x_step)]
        outs = [ca[dst] for ca in c_addr] + [b + i * s for b, s in zip(y_base, y_step)]
        run(ins, outs)
    final = n % 2
    return [b[final] for b in bufs] + ys


def _input_addr(x, keep: list) -> int:
    """The address of input `x`'s host buffer. A host array remembers it (its buffer never
    changes); another backend's array (an OpenCL buffer) is copied to the host for this
    call only: the copy goes into `keep`, which the caller holds until the call returns.
    (Remembering the copy's address read freed memory on the next call.)"""
    v = x._host_value()   # raises for a deleted (donated) array
    if x._backend is not None:
        v = np.ascontiguousarray(v)
        keep.append(v)
        return _addr(v)
    if not v.flags.c_contiguous:
        x._value = v = np.ascontiguousarray(v)
    a = x._addr = _addr(v)
    return a


_SEGMENT_BUDGET = 60


def _statement_count(node) -> int:
    body = getattr(node, "body", None)
    if isinstance(body, tuple):
        return 1 + sum(_statement_count(b) for b in body)
    return 1


def _split_units(functions, extra) -> list[str] | None:
    """Two translation units for modules big enough that compiling them concurrently on
    two cores pays off; None keeps one unit (scan drivers call their bodies, so modules
    with scan bodies stay whole)."""
    if extra or len(functions) < 2 or _threads.machine_cores() < 2:
        return None
    sizes = [_statement_count(f) for f in functions]
    if sum(sizes) < 200:
        return None
    half, acc, cut = sum(sizes) / 2, 0, len(functions) - 1
    for i, s in enumerate(sizes):
        acc += s
        if acc >= half:
            cut = max(1, min(i + 1, len(functions) - 1))
            break
    groups = [functions[:cut], functions[cut:]]
    return [cdsl.render(cdsl.Module(tuple(g), uses_blas=None,
                                    external_helpers=runtime.symbols()),
                         runtime.dialect(cdsl.C99))
            for g in groups]


def _settings() -> tuple:
    """What besides a program its executable depends on: the lowering's settings."""
    import sys
    return lowering_settings(sys.modules[__name__], codegen, fusion, gemm, passes, symbolic,
                             cn)


def _simple_runner(exe, caddr):
    """The dispatch path for the common case: one compiled function, no scratch, every
    output a fresh buffer written by it."""
    if exe._host_steps or len(exe._csteps) != 1 or exe._csteps[0].temps or \
            exe._arena_offsets:   # (no shared scratch: the runner takes no lock)
        return None
    plan = exe._make_fast_plan()
    template, csteps, out_order, layout = plan
    if any(kind != "slot" for kind, _, _ in out_order):
        return None
    cfn, slots, tail = csteps[0]
    fill = layout.fill
    order = [s for _, s, _ in out_order]
    n_c = len(caddr)
    prepare, done, plan = _threads.prepare, _threads.done, exe._thread_plan
    parallel = exe.runs_parallel()           # (otherwise the team cannot matter: not set)
    # the function's parameters are the slots in order (no scalars after them): call it
    # with the pointer list itself (0.2 us less than building the argument list)
    direct = slots == list(range(len(template))) and not tail

    def inputs(arrays):
        """A new pointer list holding the constants' and the inputs' addresses, and the host
        copies of other backends' inputs (or None), to be kept until the call returns."""
        ptrs = template.copy()
        if n_c:
            ptrs[:n_c] = caddr
        i = n_c
        keep = None
        for x in arrays:
            a = x._addr
            if a is None:
                if keep is None:
                    keep = []
                a = _input_addr(x, keep)
            ptrs[i] = a
            i += 1
        return ptrs, keep

    def execute(ptrs, tok):
        """Call the compiled function on the filled pointer list (`tok`: `prepare`'s)."""
        if direct:
            cfn(*ptrs)
        else:
            cfn(*[ptrs[s] for s in slots], *tail)
        if tok is not None:
            done(plan, tok)

    def run(arrays):
        """The outputs (a dict slot -> array) and the pointers (slot -> address)."""
        tok = prepare(plan) if parallel else None
        ptrs, keep = inputs(arrays)
        outs = {}
        fill(outs, ptrs)
        execute(ptrs, tok)
        return outs, ptrs

    def runner(arrays):
        outs, ptrs = run(arrays)
        res = _Outputs([outs[s] for s in order])
        res.addrs = [ptrs[s] for s in order]
        return res

    if len(order) == 1:
        s0 = order[0]

        def one(arrays):
            """The one output and its address."""
            outs, ptrs = run(arrays)
            return outs[s0], ptrs[s0]

        runner.one = _one_recycled(layout, inputs, execute, plan, parallel) or one
    return runner


def _one_recycled(layout, inputs, execute, plan, parallel):
    """`runner.one` for a program whose one output is allocated alone and recycled (the
    jitted `x + 1` of a dispatch benchmark): `run` and `layout.fill` in one function, 1 us
    of a 4 us call less than through them. None for other layouts. `parallel`: whether
    the code may open a parallel region (`Executable.runs_parallel`): otherwise the team
    size is not set."""
    if layout.carved or len(layout.alone) != 1 or layout._spares is None:
        return None
    (s0, shape, dt, nb), = layout.alone
    prepare = _threads.prepare
    spares = layout._spares[1]
    popleft, append, appendleft = spares.popleft, spares.append, spares.appendleft
    getrefcount, getweakrefcount, unused = _getrefcount, _getweakrefcount, _UNUSED_REFS

    def one(arrays):
        tok = prepare(plan) if parallel else None
        ptrs, keep = inputs(arrays)          # (`keep` lives until the call returns)
        # `_unused` inline: the oldest kept instance, if nothing else refers to it (popped:
        # another thread cannot take it too)
        try:
            unit = popleft()
        except IndexError:
            unit = None
        if unit is not None:
            _, out, addr = unit[0]
            if getrefcount(out) != unused or getweakrefcount(out):
                appendleft(unit)
                unit = None
        if unit is None:
            out = np.empty(shape, dt)
            out.setflags(write=False)
            addr = _contiguous_addr(out) if nb else 0
            unit = ((s0, out, addr),)
        append(unit)
        ptrs[s0] = addr
        execute(ptrs, tok)
        return out, addr

    return one


# --- loops applied eagerly ---------------------------------------------------------------

# An eager scan of at least this much work (trips x body equations), and every eager while
# loop, runs as one compiled program of that equation, as JAX compiles each primitive it
# applies eagerly; interpreted, each trip dispatched every body operation on its own (a
# 150-step scan of 15 operations: 181 ms, compiled 64 ms with the build). Shorter scans
# stay interpreted: building a program costs 30-100 ms even when its C is already in the
# disk cache, and a scan traced anew at each call (a closure) builds at each call.
EAGER_LOOP_WORK = 1000
_EAGER_LOOPS = (control.scan_p, control.while_p)
_eager_programs = LRU(lambda: 64)


def _eager_loop_work(prim, params) -> float:
    if prim is control.while_p:
        return math.inf                  # its trip count is unknown until it runs
    return params["length"] * max(1, len(params["program"].eqns))


def _one_equation_program(prim, arrays, params, out_avals):
    """A program applying `prim` once to inputs of the arrays' avals, the same object for
    the same sub-programs and avals (memoized), or None when a parameter cannot be a key."""
    from ..core import get_aval
    from ..ir import Eqn
    subs, key_params = [], []
    for k in sorted(params):
        v = params[k]
        if isinstance(v, Program):
            subs.append(v)
            v = ("program", id(v))
        key_params.append((k, v))
    avals = tuple(get_aval(a) for a in arrays)
    key = (prim.name, tuple(key_params), avals)
    try:
        hash(key)
    except TypeError:
        return None
    hit = _eager_programs.get(key)
    if hit is not None and len(hit[0]) == len(subs) and \
            all(a is b for a, b in zip(hit[0], subs)):
        return hit[1]
    invars = [Var(a) for a in avals]
    outvars = [Var(a) for a in out_avals]
    program = Program([], invars, [Eqn(prim, invars, dict(params), outvars)], outvars)
    _eager_programs.put(key, (subs, program))
    return program


class CBackend(ReferenceBackend):
    """Host-memory backend: eager ops via NumPy impls, `jit` via compiled C."""

    name = "c"

    def __init__(self):
        # id(program) -> (program, exe); an evicted executable frees its scratch arena (a
        # jit fast path that still holds it allocates a new one if it runs again).
        self._executables = ProgramCache(_release)
        self._families = LRU(executable_cache_size)      # (name, structure) -> program
        try:
            _single_threaded_blas()
        except (OSError, ImportError):
            pass

    def execute_primitive(self, prim, arrays, params, out_avals):
        if not prim.multiple_results:
            _threads.prepare()
            out = _eager.run(prim, arrays, out_avals, params)
            if out is not None:
                out.flags.writeable = False
                return ArrayImpl(out, out_avals)
        elif prim in _EAGER_LOOPS and _eager_loop_work(prim, params) >= EAGER_LOOP_WORK:
            program = _one_equation_program(prim, arrays, params, out_avals)
            if program is not None:
                return self.execute_program(program, arrays, name=prim.name)
        elif prim.name in _eager.MULTI_RESULT_KERNELS:
            _threads.prepare()
            outs = _eager.run_multi(prim, [a._host_value() for a in arrays], params)
            if outs is not None:
                return wrap_outputs(outs, out_avals, True)
        return super().execute_primitive(prim, arrays, params, out_avals)

    def executable(self, program: Program, name: str = "f") -> Executable:
        def build():
            # The first program of a family (name and structure) is compiled with literal
            # sizes; later ones against it, with the sizes that differ read at run time,
            # so they share one compiled module (lowering/symbolic.py).
            # (jit names its programs with the function's identity: api._FamilyName)
            family = (getattr(name, "family", name), symbolic.structure_key(program))
            ref = self._families.get(family)
            exe = Executable(program, kernel_name(name), reference=ref)
            if ref is None or exe.symbols.blocked:
                # A reference whose size is 0 or 1 where later programs vary cannot give
                # that size a symbol (0 and 1 shape the code): the newer program becomes
                # the family's reference, so the next size is generic.
                self._families.put(family, exe.optimized)
            return exe

        return self._executables.lookup(id(program), program, build,
                                        content=lambda: (name, _settings()))

    def clear_caches(self):
        """Forget the compiled programs held in memory (the disk cache stays)."""
        self._executables.clear()
        self._families.clear()
        _sub_executables.clear()
        _eager_programs.clear()

    def compile(self, program, name="f") -> None:
        self.executable(program, name)

    def execute_program(self, program, args, name="f", donate=()):
        exe = self.executable(program, name)
        vals = [_contiguous(a._host_value()) for a in args]
        reuse = exe.donation_map(tuple(donate)) if any(donate) else None
        if reuse:
            reuse = _sole_buffers(reuse, args, vals)
        outs = exe.run(vals, reuse)
        res = []
        for o, a in zip(outs, program.out_avals):
            if o.flags.writeable:
                o.flags.writeable = False
            res.append(ArrayImpl(o, a))
        return res

    def fast_runner(self, program, consts, name="f"):
        """A function `(list of host arrays) -> list of read-only host arrays` that runs the
        compiled program with `consts` prepended (used by jit's dispatch fast path)."""
        exe = self.executable(program, name)
        cvals = [_contiguous(np.asarray(c)) for c in consts]
        caddr = [_addr(c) for c in cvals]
        run = exe.run_addrs
        if _PROFILE:      # every step timed: through `Executable.run`
            return lambda arrays: exe.run(cvals + [_contiguous(x._host_value())
                                                   for x in arrays])
        simple = _simple_runner(exe, caddr)
        if simple is not None:
            return simple
        if exe._host_steps:
            # Host steps need the arrays (`run_addrs` would raise _NeedArrays every call).
            def host_runner(arrays):
                outs = exe.run(cvals + [_contiguous(x._host_value()) for x in arrays])
                for o in outs:
                    o.setflags(write=False)
                return outs
            return host_runner

        passed, n_c = exe._input_outs, len(cvals)     # (outputs that are inputs)

        def runner(arrays):
            addrs = list(caddr)
            keep = []                  # host copies of other backends' inputs
            for x in arrays:
                a = x._addr
                addrs.append(a if a is not None else _input_addr(x, keep))
            try:
                if passed:
                    return run(addrs, None, {s: cvals[s] if s < n_c else
                                             arrays[s - n_c]._host_value() for s in passed})
                return run(addrs)              # (its outputs are read-only)
            except _NeedArrays:
                outs = exe.run(cvals + [_contiguous(x._host_value()) for x in arrays])
            for o in outs:
                o.setflags(write=False)
            return outs

        return runner

    def donated_runner(self, program, consts, name, donate):
        """`fast_runner` for a program with donated arguments (`donate`: a flag per input,
        constants first): an output may take a donated argument's buffer, as
        `execute_program` decides (`Executable.donation_map`, `_sole_buffers`). The caller
        deletes the donated arrays."""
        exe = self.executable(program, name)
        cvals = [_contiguous(np.asarray(c)) for c in consts]
        caddr = [_addr(c) for c in cvals]
        donate = tuple(donate)
        ahead = [None] * len(cvals)

        def runner(arrays):
            keep = []                  # host copies of other backends' inputs
            addrs = caddr + [x._addr if x._addr is not None else _input_addr(x, keep)
                             for x in arrays]
            reuse, vals = exe.donation_map(donate), None
            if reuse or exe._input_outs:
                vals = cvals + [x._host_value() for x in arrays]
            if reuse:
                reuse = _sole_buffers(reuse, ahead + list(arrays), vals)
            try:
                return exe.run_addrs(addrs, reuse, vals)
            except _NeedArrays:
                outs = exe.run(cvals + [_contiguous(x._host_value()) for x in arrays], reuse)
            for o in outs:
                if o.flags.writeable:
                    o.flags.writeable = False
            return outs
        return runner

    def optimize(self, program):
        return passes.optimize(program)

    def render_source(self, program, name="f"):
        return self.executable(program, name).source

    def to_host(self, value):
        return value
