"""`spmd`: one program, every process its own data (JAX's `shard_map` view of a process
group, without a mesh), and the pass that fuses its gradient reductions.

`spmd(f, axis_name="batch")` is `jit(f)` with `axis_name` bound to the process group while
`f` is traced: inside it, `lax.psum/pmean/...(x, "batch")` combine the processes' values.
For more than one process the traced program is rewritten before it is compiled:
- `fuse_psums`: independent `psum`s over the same axis become one multi-operand `psum` (one
  allreduce for a whole gradient pytree even when the user reduces leaf by leaf), placed
  where its first result is needed;
- `schedule_psums` (with `overlap_bytes` > 0): that psum is split into buckets of operands
  in the order the backward pass computes them; each bucket's reduction starts
  (`psum_start`, a non-blocking MPI allreduce on the host buffers) as soon as its gradients
  exist and is waited for (`psum_done`) where the results are needed, so it overlaps the
  rest of the backward pass;
- a `program_check` equation goes first: it starts comparing a digest of the program (its
  IR text and input types) across processes, and the first collective finishes the
  comparison, so processes that traced different programs stop with an error naming the
  difference instead of exchanging mismatched buffers.
"""
from __future__ import annotations

import functools
import os

import numpy as np

from .. import core, ir
from ..api import jit
from ..core import Tracer
from ..ir import Eqn, Program, Var
from ..prims import collectives
from ..tree_util import tree_flatten, tree_unflatten
from . import runtime


def _has_effects(eqn: Eqn) -> bool:
    """Whether `eqn` has an effect: an effectful primitive, or one in a sub-program."""
    if eqn.prim in ir.effectful:
        return True
    for value in eqn.params.values():
        for p in value if isinstance(value, (tuple, list)) else (value,):
            p = getattr(p, "program", p)
            if isinstance(p, Program) and any(_has_effects(e) for e in p.eqns):
                return True
    return False


def fuse_psums(program: Program) -> Program:
    """Merge `psum` equations over the same axis whose operands do not depend on one
    another into one `psum` of all their operands, placed just before the first equation
    that needs one of its results (equations that depend on a pending psum wait with it;
    effectful equations keep their order). Sub-programs are left as they are."""
    out: list[Eqn] = []
    group: list[Eqn] = []
    deferred: list[Eqn] = []
    pending: set[int] = set()          # vars produced by `group` and `deferred`

    def flush():
        if len(group) == 1:
            out.append(group[0])
        elif group:
            out.append(Eqn(collectives.psum_p, [a for e in group for a in e.inputs],
                           {"axis_name": group[0].params["axis_name"]},
                           [v for e in group for v in e.outputs]))
        out.extend(deferred)
        group.clear()
        deferred.clear()
        pending.clear()

    for eqn in program.eqns:
        depends = any(isinstance(a, Var) and a.id in pending for a in eqn.inputs)
        if eqn.prim is collectives.psum_p:
            if depends or (group and group[0].params["axis_name"] !=
                           eqn.params["axis_name"]):
                flush()
            group.append(eqn)
            pending.update(v.id for v in eqn.outputs)
        elif _has_effects(eqn):
            flush()
            out.append(eqn)
        elif depends:
            deferred.append(eqn)
            pending.update(v.id for v in eqn.outputs)
        else:
            out.append(eqn)
    flush()
    return Program(program.constvars, program.invars, out, program.outvars)


def schedule_psums(program: Program, bucket_bytes: int) -> Program:
    """Split every `psum` into buckets of operands, in the order the program computes them
    (at most `bucket_bytes` each, closing a bucket once it reaches the bound), and start
    each bucket's reduction (`psum_start`) right after its last operand is computed; the
    `psum_done`s stay where the psum was. The gradient of the last layers, computed first
    by the backward pass, is then reduced while the earlier layers' gradients are still
    being computed. A psum whose single bucket could not start earlier stays as it is."""
    produced_at: dict[int, int] = {}
    for k, eqn in enumerate(program.eqns):
        for v in eqn.outputs:
            produced_at[v.id] = k
    starts: dict[int, list[Eqn]] = {}
    replaced: dict[int, list[Eqn]] = {}
    for k, eqn in enumerate(program.eqns):
        if eqn.prim is not collectives.psum_p:
            continue
        ready = [produced_at.get(a.id, -1) if isinstance(a, Var) else -1 for a in eqn.inputs]
        order = sorted(range(len(eqn.inputs)), key=lambda i: ready[i])
        buckets, current, size = [], [], 0
        for i in order:
            current.append(i)
            size += eqn.inputs[i].aval.size * eqn.inputs[i].aval.dtype.itemsize
            if size >= bucket_bytes:
                buckets.append(current)
                current, size = [], 0
        if current:
            buckets.append(current)
        if len(buckets) == 1 and max(ready) == k - 1:
            continue
        axis = eqn.params["axis_name"]
        dones = []
        for bucket in buckets:
            ins = [eqn.inputs[i] for i in bucket]
            token = Var(core.ShapedArray((), np.int32))
            at = max(ready[i] for i in bucket)
            starts.setdefault(at, []).append(
                Eqn(collectives.psum_start_p, ins, {"axis_name": axis}, [token]))
            dones.append(Eqn(collectives.psum_done_p, [token, *ins], {"axis_name": axis},
                             [eqn.outputs[i] for i in bucket]))
        replaced[k] = dones
    if not replaced:
        return program
    eqns = list(starts.get(-1, []))
    for k, eqn in enumerate(program.eqns):
        eqns.extend(replaced.get(k, [eqn]))
        eqns.extend(starts.get(k, []))
    return Program(program.constvars, program.invars, eqns, program.outvars)


# Off by default: MPI implementations progress a posted non-blocking allreduce only inside
# MPI calls (or with a progress thread, which needs a spare core), and on the 2-core
# development machine starting the reduction early made the MLP step slower (9.6 ms
# instead of 7.0 ms at 2 processes); see docs/distributed.md.
OVERLAP_ENV = "FUNCGRAD_DISTRIBUTED_OVERLAP_BYTES"
OVERLAP_BYTES = int(os.environ.get(OVERLAP_ENV, "0"))


class Spmd:
    """A function run by every process on its own arguments, jit-compiled, with its axis
    name bound to the process group (see `spmd`)."""

    def __init__(self, fun, axis_name, static_argnums=(), static_argnames=(),
                 donate_argnums=(), donate_argnames=(), backend=None, fuse=True,
                 overlap_bytes=OVERLAP_BYTES):
        collectives._check_name(axis_name, "spmd")
        self.fun = fun
        self.axis_name = axis_name
        self.fuse = fuse
        self.overlap_bytes = int(overlap_bytes)
        self.__name__ = getattr(fun, "__name__", type(fun).__name__)
        functools.update_wrapper(self, fun)

        def staged(*args, **kwargs):
            return self._staged(*args, **kwargs)

        # jit reads static_argnames/donate_argnames from the user's signature.
        functools.update_wrapper(staged, fun)
        self._jitted = jit(staged, static_argnums=static_argnums,
                           static_argnames=static_argnames, donate_argnums=donate_argnums,
                           donate_argnames=donate_argnames, backend=backend)

    def __call__(self, *args, **kwargs):
        runtime.require(f"spmd({self.__name__})")
        with collectives.process_axis(self.axis_name):
            return self._jitted(*args, **kwargs)

    def lower(self, *args, **kwargs):
        """The compiled program for these arguments (`jit(...).lower`): `.ir`, `.source`."""
        runtime.require(f"spmd({self.__name__}).lower")
        with collectives.process_axis(self.axis_name):
            return self._jitted.lower(*args, **kwargs)

    def clear_cache(self):
        self._jitted.clear_cache()

    @property
    def trace_count(self) -> int:
        return self._jitted.trace_count

    def _staged(self, *args, **kwargs):
        """Traced by jit: the user's function, rewritten for the process group."""
        world = runtime.require(f"spmd({self.__name__})")
        if world.size == 1:
            return self.fun(*args, **kwargs)   # the collectives resolve while tracing
        leaves, tree = tree_flatten((args, kwargs))
        dyn = [i for i, x in enumerate(leaves) if isinstance(x, Tracer)]
        store = {}

        def flat(*xs):
            full = list(leaves)
            for i, x in zip(dyn, xs):
                full[i] = x
            a, k = tree_unflatten(tree, full)
            out_leaves, out_tree = tree_flatten(self.fun(*a, **k))
            store["tree"] = out_tree
            return [x if isinstance(x, core.Array) else core.to_array(x) for x in out_leaves]

        avals = [leaves[i].aval for i in dyn]
        program, consts = ir.trace_to_program(flat, avals)
        if self.fuse:
            program = fuse_psums(program)
        if self.overlap_bytes > 0:
            program = schedule_psums(program, self.overlap_bytes)
        statics = [repr(x) for i, x in enumerate(leaves) if i not in dyn]
        signature = "(" + ", ".join(a.short() for a in avals) + ")"
        if statics:
            signature += " static " + ", ".join(statics)
        info = collectives.ProgramInfo(f"spmd({self.__name__})", signature,
                                       ir.pp_program(program))
        core.bind(collectives.program_check_p, info=info)
        outs = ir.eval_program(program, consts, [leaves[i] for i in dyn])
        return tree_unflatten(store["tree"], outs)


def spmd(fun=None, axis_name="batch", *, static_argnums=(), static_argnames=(),
         donate_argnums=(), donate_argnames=(), backend=None, fuse=True,
         overlap_bytes=None):
    """Run `fun` on every process with that process's own arguments, jit-compiled, with
    `axis_name` bound to the process group: inside, `lax.psum/pmean/pmax/pmin/all_gather/
    psum_scatter/ppermute/axis_index(x, axis_name)` combine the processes' values. Each
    process passes its local arguments (no leading device axis; JAX's `shard_map` over all
    processes). A data-parallel step is
    `spmd(lambda p, x, y: lax.pmean(grad(loss)(p, x, y), "batch"))`, and the same code runs
    unchanged with one process. The jit options are `jit`'s; `fuse=False` keeps separate
    psums as written; with `overlap_bytes` > 0 the reduction of a psum's operands starts
    in buckets of that many bytes as soon as they are computed, overlapping the rest of
    the program (default 0, or FUNCGRAD_DISTRIBUTED_OVERLAP_BYTES: one reduction where the
    psum is; overlap pays only where MPI progresses messages in the background). Needs
    `funcgrad.distributed.initialize()`. Usable as a decorator
    (`@spmd` or `@spmd(axis_name=...)`)."""
    opts = {"static_argnums": static_argnums, "static_argnames": static_argnames,
            "donate_argnums": donate_argnums, "donate_argnames": donate_argnames,
            "backend": backend, "fuse": fuse,
            "overlap_bytes": OVERLAP_BYTES if overlap_bytes is None else overlap_bytes}
    if fun is None:
        return lambda f: Spmd(f, axis_name, **opts)
    return Spmd(fun, axis_name, **opts)
