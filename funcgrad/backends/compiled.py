"""What the compiling backends (`c` and `opencl`) share above their code generators.

- `SlotProgram`, the base of both `Executable` classes: a slot (buffer index) per value of
  the optimised program, the first `n_in` its inputs; the buffer parameters of a compiled
  step; host steps, recorded as `("host", (eqn, ins, outs))`; the output slots.
- `ProgramCache`: compiled executables by program identity, bounded by the
  `executable_cache_size` option (the backends' caches and their sub-program caches).
- `host_call`: a host step's NumPy implementation on host values.
- `HostLoops`: `scan`, `while_loop` and `cond` run from Python over compiled
  sub-programs; a backend says how its buffers are read, sliced and stacked.
"""
from __future__ import annotations

import contextlib
import threading

import numpy as np

from .. import config, ir
from ..core import ArrayImpl, ShapedArray
from ..ir import Lit, Program, Var
from ..lowering import cnodes as cn
from ..lowering import codegen, fusion
from ..lowering import eager as _eager
from ..lru import LRU
from ..prims import control
from .reference import run_impl


def kernel_name(name: str) -> str:
    """The generated code's name for a program called `name` (an identifier prefix)."""
    s = "".join(ch if ch.isalnum() else "_" for ch in name)
    return "k_" + s[:40]


# --- executables ------------------------------------------------------------------------

# Short buffer names for the primitives with long ones (the others keep theirs).
_SHORT = {"dot_general": "dot", "conv_general_dilated": "conv", "reduce_sum": "sum",
          "reduce_max": "max", "reduce_min": "min", "reduce_prod": "prod",
          "broadcast_in_dim": "bcast", "convert_element_type": "cvt", "dynamic_slice": "dslice",
          "dynamic_update_slice": "dupdate", "reduce_window": "window",
          "select_and_scatter_add": "pool_grad", "transpose": "perm"}


class SlotProgram:
    """Slot bookkeeping of a compiled program (the base of the C and OpenCL executables)."""

    def _init_slots(self, program: Program) -> None:
        self.slot_of: dict[int, int] = {}
        self.slot_avals: list[ShapedArray] = []
        self.slot_names: list[str] = []
        self._producer = {v.id: e.prim.name for e in program.eqns for v in e.outputs}
        for v in program.invars:
            self.slot_of[v.id] = self._new_slot(v.aval, "in")
        self.n_in = len(program.invars)
        self.steps: list = []

    def _new_slot(self, aval, base: str = "t") -> int:
        self.slot_avals.append(aval)
        s = len(self.slot_avals) - 1
        # "<what computes it>_<slot>": the underscore keeps it apart from every libm and
        # OpenCL built-in name (log_2, not log2)
        self.slot_names.append(f"{base}_{s}")
        return s

    def _slot(self, var: Var) -> int:
        s = self.slot_of.get(var.id)
        if s is None:
            prim = self._producer.get(var.id, "t")
            s = self._new_slot(var.aval, _SHORT.get(prim, prim))
            self.slot_of[var.id] = s
        return s

    def _param(self, slot: int):
        """The pointer parameter through which generated code reaches `slot`'s buffer,
        named after the value it holds: `in_0` for the first input, `dot_6` for the slot
        of a dot_general's result, `t_9` for a value the program did not compute itself."""
        return cn.param(self.slot_names[slot], self.slot_avals[slot].dtype)

    def _step_buffers(self, step):
        """{var id: pointer parameter} for the buffers a compiled step reads or writes, and
        their slots."""
        buffers, used = {}, []
        for a in fusion.buffer_vars(step, self.plan.materialized, self.slot_of):
            s = self._slot(a)
            buffers[a.id] = self._param(s)
            used.append(s)
        return buffers, used

    def _each_step(self, lower_group, lower_step, fusable=lambda step: True,
                   min_row: int = 0, map_groups: bool = False,
                   reduce_groups: bool = False, short_rows=None) -> None:
        """Lower the plan's steps in order: a row group (`codegen.row_groups`, over the
        steps `fusable` accepts), with `map_groups` a run of map kernels over one shape
        (`codegen.map_groups`), and with `reduce_groups` a run of sums over the same leading
        axes (`codegen.reduce_groups`) by `lower_group(kernels, buffers, used)`, which
        returns whether it lowered it (else its members go one by one), every other step
        by `lower_step(step)`; `min_row`: see `codegen.row_groups`; `short_rows(kernels)`:
        whether a row group of shorter rows is lowered as a group too."""
        groups = codegen.row_groups(self.plan.steps, fusable, min_row)

        def taken():
            return {i + k for i, g in groups.items() for k in range(len(g))}
        if short_rows is not None and min_row:
            taken_now = taken()
            for i, g in codegen.row_groups(self.plan.steps, fusable).items():
                if not taken_now & set(range(i, i + len(g))) and short_rows(g):
                    groups[i] = g
        if map_groups:
            groups.update(codegen.map_groups(self.plan.steps, fusable, taken()))
        if reduce_groups:
            groups.update(codegen.reduce_groups(self.plan.steps, fusable, taken()))
        after = 0   # the first step not lowered with a group
        for si, step in enumerate(self.plan.steps):
            if si < after:
                continue
            group = groups.get(si)
            if group is not None and lower_group(group, *self._group_buffers(group)):
                after = si + len(group)
                continue
            lower_step(step)

    def _group_buffers(self, steps):
        """`_step_buffers` of several steps computed together (a row group)."""
        buffers, used = {}, []
        for step in steps:
            b, u = self._step_buffers(step)
            buffers.update(b)
            used += u
        return buffers, used

    def _add_host_step(self, eqn) -> None:
        """Record `eqn` as a host step: its inputs as ("lit", value) or ("slot", slot)."""
        ins = [("lit", a.val) if isinstance(a, Lit) else ("slot", self._slot(a))
               for a in eqn.inputs]
        outs = [self._slot(v) for v in eqn.outputs]
        self.steps.append(("host", (eqn, ins, outs)))

    def _set_out_slots(self) -> None:
        """`out_slots`: ("lit", value, aval) or ("slot", slot, aval) per program output."""
        self.out_slots = []
        for v in self.program.outvars:
            if isinstance(v, Lit):
                self.out_slots.append(("lit", v.val, v.aval))
            else:
                self.out_slots.append(("slot", self._slot(v), v.aval))


def executable_cache_size() -> int:
    return config.read("executable_cache_size")


def lowering_settings(*modules) -> tuple:
    """The module-level settings (NAME or _NAME constants: numbers, flags, strings) of the
    lowering `modules`: part of the key by content (`ProgramCache`), so a program built
    under other settings (a test's monkeypatched threshold, FUNCGRAD_PROFILE) is not
    shared."""
    out = []
    for m in modules:
        names = vars(m)
        for k in _setting_names(m.__name__, names):
            v = names.get(k)
            if type(v) in (bool, int, float, str):
                out.append((m.__name__, k, v))
    return tuple(out)


_SETTING_NAMES: dict = {}


def _setting_names(module: str, names: dict) -> tuple:
    """The upper-case names among a module's `names`, found once per module and set of
    names (a new attribute changes the count and finds them again): scanning every name
    took ~1.5 ms of each executable built (seven modules of a few hundred names)."""
    memo = _SETTING_NAMES.get(module)
    if memo is None or memo[0] != len(names):
        found = tuple(k for k in names
                      if k.lstrip("_")[:1].isupper() and k.lstrip("_").isupper())
        memo = _SETTING_NAMES[module] = (len(names), found)
    return memo[1]


class ProgramCache(LRU):
    """Executables by key (`id(program)`, with the device for OpenCL), each entry holding
    its program so that a recycled id never hits. `on_evict(entry)` sees evicted
    `(program, executable)` entries; with `locked`, one thread builds a missing executable
    while the others wait for it.

    A program missing by identity is looked up by content (`ir.fingerprint`): a program
    traced anew but equal to one built before (an eager loop's body, a function jitted
    again at each call, a derivative rebuilt) shares its executable, which saves the
    whole lowering (30-100 ms for a small program even when its C is in the disk cache)."""

    def __init__(self, on_evict=None, locked: bool = True):
        super().__init__(executable_cache_size, on_evict)
        self._build_lock = threading.Lock() if locked else None
        self._by_content = LRU(executable_cache_size)   # (extra, fingerprint) -> entry
        self.content_hits = 0

    def lookup(self, key, program, build, content=tuple):
        """The executable cached for `program` under `key`, else `build()`'s, cached.
        `content()`: what besides the program the executable depends on (a kernel name, a
        device, the lowering's settings), for the lookup by fingerprint (called on a miss
        only)."""
        hit = self.get(key)
        if hit is not None and hit[0] is program:
            return hit[1]
        if self._build_lock is None:
            return self._miss(key, program, build, content)
        with self._build_lock:
            hit = self.get(key)
            if hit is not None and hit[0] is program:
                return hit[1]    # built by another thread meanwhile
            return self._miss(key, program, build, content)

    def _miss(self, key, program, build, content):
        printed = ir.fingerprint(program)
        ckey = None if printed is None else (content(), printed)
        twin = None if ckey is None else self._by_content.get(ckey)
        if twin is not None:
            self.content_hits += 1
            exe = twin[1]
        else:
            exe = build()
            if ckey is not None:
                self._by_content.put(ckey, (program, exe))
        self.put(key, (program, exe))
        return exe

    def clear(self) -> None:
        super().clear()
        self._by_content.clear()


# --- host steps -------------------------------------------------------------------------


def host_call(eqn, vals, quiet: bool = False) -> list[np.ndarray]:
    """Run host step `eqn` on host values `vals`: its NumPy implementation (with `quiet`,
    floating-point warnings silenced), or for a control-flow primitive its array
    implementation. Returns arrays of the outputs' dtypes."""
    if eqn.prim in control.array_impls:
        arrs = [ArrayImpl(np.asarray(v), a.aval) for v, a in zip(vals, eqn.inputs)]
        res = control.array_impls[eqn.prim](*arrs, **eqn.params)
        return [np.asarray(r) for r in res]
    out = _eager.run_multi(eqn.prim, vals, eqn.params) if eqn.prim.multiple_results \
        else None
    if out is None:
        with np.errstate(all="ignore") if quiet else contextlib.nullcontext():
            out = run_impl(eqn.prim, [np.asarray(v) for v in vals], eqn.params,
                           [v.aval.dtype for v in eqn.outputs])
    outs = out if eqn.prim.multiple_results else [out]
    return [np.asarray(o, v.aval.dtype) for o, v in zip(outs, eqn.outputs)]


class HostLoops:
    """`scan`, `while_loop` and `cond` as Python loops over compiled sub-programs. A backend
    subclasses it with how its buffers are made and moved; `run(eqn, vals)` runs one
    equation whose primitive is in `PRIMS`."""

    PRIMS = frozenset((control.scan_p, control.while_p, control.cond_p))

    def sub_exe(self, program: Program, name: str):
        """The executable of a loop body, loop condition or branch."""
        raise NotImplementedError

    def truth(self, buf) -> bool:
        """The value of a scalar buffer as a Python bool."""
        raise NotImplementedError

    def index(self, buf) -> int:
        """The value of a scalar buffer as a Python int."""
        raise NotImplementedError

    def stacked(self, shape, dtype):
        """A new buffer for a scan's stacked outputs."""
        raise NotImplementedError

    def take(self, xs, i):
        """Step i's slice of a scan's stacked input `xs`."""
        raise NotImplementedError

    def put(self, ys, i, y) -> None:
        """Store step i's output `y` into the stacked outputs `ys`."""
        raise NotImplementedError

    def carry(self, outs) -> list:
        """A loop body's outputs as the next iteration's carry."""
        return list(outs)

    def run(self, eqn, vals) -> list:
        if eqn.prim is control.scan_p:
            return self.scan(eqn, vals)
        if eqn.prim is control.while_p:
            return self.while_loop(eqn, vals)
        return self.cond(eqn, vals)

    def scan(self, eqn, vals) -> list:
        p = eqn.params
        nc, ncar, n, rev = p["num_consts"], p["num_carry"], p["length"], p["reverse"]
        exe = self.sub_exe(p["program"], "scan_body")
        consts, carry, xs = vals[:nc], vals[nc:nc + ncar], vals[nc + ncar:]
        ys = [self.stacked((n,) + a.shape, a.dtype) for a in p["program"].out_avals[ncar:]]
        for k in range(n):
            i = n - 1 - k if rev else k
            outs = exe.run(consts + carry + [self.take(x, i) for x in xs])
            carry = outs[:ncar]
            for yb, y in zip(ys, outs[ncar:]):
                self.put(yb, i, y)
        return list(carry) + ys

    def while_loop(self, eqn, vals) -> list:
        p = eqn.params
        cc, bc = p["cond_nconsts"], p["body_nconsts"]
        cexe = self.sub_exe(p["cond_program"], "while_cond")
        bexe = self.sub_exe(p["body_program"], "while_body")
        cconsts, bconsts, carry = vals[:cc], vals[cc:cc + bc], vals[cc + bc:]
        while self.truth(cexe.run(cconsts + carry)[0]):
            carry = self.carry(bexe.run(bconsts + carry))
        return list(carry)

    def cond(self, eqn, vals) -> list:
        branches = eqn.params["branches"]
        i = int(np.clip(self.index(vals[0]), 0, len(branches) - 1))
        return self.sub_exe(branches[i], f"branch{i}").run(list(vals[1:]))


__all__ = ["HostLoops", "ProgramCache", "SlotProgram", "executable_cache_size",
           "host_call", "kernel_name"]
