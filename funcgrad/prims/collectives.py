"""Collective primitives over named axes: `psum`, `pmax`, `pmin` (and `pmean` on top of
`psum`), `all_gather`, `psum_scatter`, `ppermute`, `axis_index`, plus `program_check`, the
equation `funcgrad.distributed.spmd` puts first in every program it compiles.

A named axis is bound in one of two ways, and the innermost binding of a name wins:
- `vmap(f, axis_name=name)`: the collective combines the members of the vmapped axis. It
  is computed at that vmap's level by the named-axis rules below (`_NAMED`), as JAX batches
  collectives: `psum` is a sum over the batch dimension, `axis_index` an iota, and so on.
- `funcgrad.distributed.spmd(f, axis_name=name)`: the axis is the process group. The
  collective stays an IR equation whose implementation calls MPI on the host buffers (the
  C and OpenCL backends run it as a host step). The transport is registered by
  `funcgrad.distributed` through `set_transport` (prims sit below that package and do not
  import it). In a world of one process the collectives are resolved while tracing (psum is
  the identity, all_gather adds an axis of size one, ...), so no equation is left.

Differentiation follows pmap's semantics (JAX's `shard_map` with `check_vma=False`): every
value belongs to one member, and `grad` on a member differentiates the *sum over members* of
their outputs. Hence the transpose of `psum` is `psum`, of `all_gather` `psum_scatter` and
back, of `ppermute` the inverse permutation. `grad(lambda p: pmean(loss(p)))` therefore
gives each member its local gradient; data-parallel training averages gradients with
`pmean(grad(loss)(...))`. The derivative of `pmax`/`pmin` goes to the members holding the
extreme, shared equally on ties (as `reduce_max`).

Deviations from JAX: `axis_index_groups` is not supported; `all_gather`, `psum_scatter`,
`ppermute` and `axis_index` take one axis name (psum/pmax/pmin take several).
"""
from __future__ import annotations

import hashlib
import re
import threading
from contextlib import contextmanager

import numpy as np

from .. import core, dtypes, ir
from ..batching import BatchTrace, BatchTracer, moveaxis_to_front, rule_axis_name
from ..core import Array, ShapedArray
from ..tree_util import tree_flatten, tree_unflatten
from .elementwise import convert_element_type, div, eq, mul, select
from .indexing import gather
from .reductions import reduce_max, reduce_min, reduce_sum
from .structural import broadcast_in_dim, full, iota, moveaxis, reshape, squeeze


class DistributedError(RuntimeError):
    """Base of funcgrad.distributed's errors (misuse of collectives, timeouts, programs that
    differ between processes)."""


# ---------------------------------------------------------------------------------------
# The transport (set by funcgrad.distributed)

_transport_slot: list = [None]


def set_transport(transport) -> None:
    """Register the object that runs collectives over the process group (None: none).
    It has `rank`, `size`, `allreduce(arrays, op)`, `allreduce_in_place(buf, op, operands)`,
    `allgather(x)`, `reduce_scatter(x, op)`, `ppermute(x, perm)` and `check_program(info)`;
    see funcgrad.distributed.runtime."""
    _transport_slot[0] = transport


def transport(what: str):
    """The registered transport, or a clear error naming `what` needed it."""
    t = _transport_slot[0]
    if t is None:
        raise DistributedError(
            f"{what} runs over the process group, but funcgrad.distributed is not "
            "initialized in this process: call funcgrad.distributed.initialize() first (it "
            "reads the MPI world, or makes a world of one process without an MPI launcher)")
    return t


# ---------------------------------------------------------------------------------------
# Axis names and their bindings


class _ProcessAxes(threading.local):
    def __init__(self):
        self.bound: list[tuple[object, int]] = []   # (name, trace-stack depth when bound)


_process_axes = _ProcessAxes()


def _check_name(name, what):
    if name is None or isinstance(name, (list, dict, set)):
        raise TypeError(f"{what}: an axis name must be a hashable value such as a string, "
                        f"got {name!r}")
    try:
        hash(name)
    except TypeError:
        raise TypeError(f"{what}: an axis name must be hashable, got {name!r}") from None


@contextmanager
def process_axis(name):
    """Bind the axis `name` to the process group while the body runs (used by
    `funcgrad.distributed.spmd` around tracing and running its function)."""
    _check_name(name, "spmd")
    _process_axes.bound.append((name, len(core._state.stack)))
    try:
        yield
    finally:
        _process_axes.bound.pop()


def _vmap_main(name):
    for main in reversed(core._state.stack):
        gd = main.global_data
        if main.trace_type is BatchTrace and isinstance(gd, dict) and \
                gd.get("axis_name") == name:
            return main
    return None


def bound_axis_names() -> list:
    """The axis names bound here, outermost first: spmd's process axes, then vmaps'."""
    return _bound_names()


def _bound_names() -> list:
    names = [n for n, _ in _process_axes.bound]
    for main in core._state.stack:
        gd = main.global_data
        if main.trace_type is BatchTrace and isinstance(gd, dict) and \
                gd.get("axis_name") is not None:
            names.append(gd["axis_name"])
    return names


def _resolve(name, what, strict: bool):
    """The innermost binding of `name`: a vmap's MainTrace, or None for the process group.
    An unbound name is an error when `strict` (a user's call); the rules re-binding a
    collective (`strict=False`) take it for the process group."""
    main = _vmap_main(name)
    depth = max((d for n, d in _process_axes.bound if n == name), default=None)
    if main is not None and (depth is None or main.level >= depth):
        return main
    if depth is None and strict:
        bound = _bound_names()
        raise NameError(
            f"{what}: unbound axis name {name!r}. Collectives reduce over a named axis bound "
            "by funcgrad.distributed.spmd(f, axis_name=...) (the processes) or by "
            "funcgrad.vmap(f, axis_name=...) (a vmapped axis); "
            + (f"the names bound here are {bound}" if bound else "no axis name is bound here"))
    return None


def axis_size(axis_name) -> int:
    """The size of the named axis (product over a tuple of names): the vmapped axis's size,
    or the number of processes (JAX: `lax.axis_size`)."""
    names = axis_name if isinstance(axis_name, tuple) else (axis_name,)
    n = 1
    for name in names:
        _check_name(name, "axis_size")
        main = _resolve(name, "axis_size", strict=True)
        n *= main.global_data["size"] if main is not None else \
            transport(f"axis_size({name!r})").size
    return n


def _size_of(main, what) -> int:
    return main.global_data["size"] if main is not None else transport(what).size


# ---------------------------------------------------------------------------------------
# Binding


class CollectivePrimitive(core.Primitive):
    """A collective: `bind` routes it to the binding of its axis name (`bind_collective`),
    so rules that re-bind it (`prim.bind`) reach the right vmap or the process group."""

    def bind(self, *args, **params):
        return bind_collective(self, *args, **params)


def _new_primitive(name, multiple_results=False) -> CollectivePrimitive:
    if name in core.all_primitives:
        raise ValueError(f"primitive {name} defined twice")
    p = CollectivePrimitive(name, multiple_results)
    core.all_primitives[name] = p
    return p


def bind_collective(prim, *args, axis_name, strict=False, **params):
    """Bind collective `prim` over `axis_name`: at the level of the vmap that binds the name
    once no trace above it holds an operand, otherwise through the ordinary `bind` (traces
    above re-bind it through their rules; the process group's binding is below every trace).
    In a world of one process the process-group collective is resolved now."""
    args = [a if isinstance(a, Array) else core.to_array(a) for a in args]
    main = _resolve(axis_name, f"lax.{_USER_NAME.get(prim, prim.name)}", strict)
    if main is not None:
        top = core.find_top_trace(args)
        level = top.main.level if top.main is not None else -1
        if level <= main.level:
            return _bind_at_vmap(prim, main, args, axis_name, params)
        # Inside a program staged within that vmap (jit, checkpoint, a control-flow body):
        # the collective is staged as an equation naming the axis, and reduces when the
        # vmap batches the program (its BatchTrace carries the same axis name).
    elif _SINGLE.get(prim) is not None:
        t = _transport_slot[0]
        if t is not None and t.size == 1:
            return _SINGLE[prim](*args, **params)
    return core.bind(prim, *args, axis_name=axis_name, **params)


def _bind_at_vmap(prim, main, args, axis_name, params):
    trace = BatchTrace(main)
    tracers = [core.full_raise(trace, a) for a in args]
    vals = [t.val for t in tracers]
    dims = [t.bdim for t in tracers]
    outs, out_dims = _NAMED[prim](main.global_data["size"], vals, dims, **params)
    if not prim.multiple_results:
        outs, out_dims = [outs], [out_dims]
    res = [core.full_lower(BatchTracer(trace, o, d)) if d is not None else o
           for o, d in zip(outs, out_dims)]
    return res if prim.multiple_results else res[0]


_NAMED: dict = {}      # prim -> rule(size, vals, dims, **params) at the vmap binding the name
_SINGLE: dict = {}     # prim -> the collective over a process group of one
_USER_NAME: dict = {}  # prim -> the lax function users call


# ---------------------------------------------------------------------------------------
# psum / pmax / pmin: several operands, reduced in one collective

_REDUCERS = {"psum": "sum", "pmax": "max", "pmin": "min"}


def _reduce_shape(*avals, axis_name):
    return list(avals)


def _make_reducer(name):
    p = _new_primitive(name, multiple_results=True)
    op = _REDUCERS[name]
    core.shape_rules[p] = _reduce_shape
    core.impl_rules[p] = lambda *xs, axis_name: transport(f"lax.{name}").allreduce(
        list(xs), op)
    _USER_NAME[p] = name
    # Over a vmap axis or another process collective's batch: the reduction applies to each
    # element of the batch (the batch dimension stays where it is).
    core.batch_rules[p] = lambda size, vals, dims, *, axis_name: (
        p.bind(*vals, axis_name=axis_name), list(dims))
    _SINGLE[p] = lambda *xs: list(xs)
    return p


psum_p = _make_reducer("psum")
pmax_p = _make_reducer("pmax")
pmin_p = _make_reducer("pmin")

# The reductions a compiled program may run in place on its own buffers, and their MPI op.
REDUCE_OPS = {psum_p: "sum", pmax_p: "max", pmin_p: "min"}
_WIRE: dict = {}


def wire_dtype(dt) -> np.dtype:
    """The dtype values of `dt` travel and are reduced as (MPI has no float16, bfloat16 or
    bool arithmetic: they go as float32 and uint8)."""
    dt = np.dtype(dt)
    wire = _WIRE.get(dt)
    if wire is None:
        wire = dt
        if dt == np.bool_:
            wire = np.dtype(np.uint8)
        elif dt.name in ("bfloat16", "float16"):
            wire = np.dtype(np.float32)
        _WIRE[dt] = wire
    return wire


def reduce_in_place(prim, buf, operands) -> None:
    """Run reduction `prim` (a key of REDUCE_OPS) in place on `buf`, a contiguous 1-d
    buffer of a wire dtype holding its operands side by side: afterwards `buf` holds the
    results. The C backend calls this where its buffer planner placed the operands of a
    psum/pmax/pmin in one block of its memory (no copy in, no copy out); `operands` (their
    avals or arrays) only name them in error messages."""
    transport(f"lax.{prim.name}").allreduce_in_place(buf, REDUCE_OPS[prim], operands)


def _psum_named(size, vals, dims):
    outs = []
    for x, d in zip(vals, dims):
        outs.append(mul(x, _scalar(size, x)) if d is None else reduce_sum(x, (d,)))
    return outs, [None] * len(outs)


def _scalar(v, x):
    return full((), v, core.get_aval(x).dtype)


def _chooser_named(reduce):
    def rule(size, vals, dims):
        outs = [x if d is None else reduce(x, (d,)) for x, d in zip(vals, dims)]
        return outs, [None] * len(outs)
    return rule


_NAMED[psum_p] = _psum_named
_NAMED[pmax_p] = _chooser_named(reduce_max)
_NAMED[pmin_p] = _chooser_named(reduce_min)


def _psum_jvp(primals, tangents, *, axis_name):
    return psum_p.bind(*primals, axis_name=axis_name), psum_p.bind(*tangents,
                                                                     axis_name=axis_name)


def _psum_transpose(cts, *xs, axis_name):
    from ..ad import is_undefined
    lin = [i for i, x in enumerate(xs) if is_undefined(x)]
    out = [None] * len(xs)
    if lin:
        reduced = psum_p.bind(*[cts[i] for i in lin], axis_name=axis_name)
        for i, r in zip(lin, reduced):
            out[i] = r
    return out


core.jvp_rules[psum_p] = _psum_jvp
core.transpose_rules[psum_p] = _psum_transpose


def _chooser_jvp(prim):
    def rule(primals, tangents, *, axis_name):
        ans = prim.bind(*primals, axis_name=axis_name)
        floats = [i for i, x in enumerate(primals) if dtypes.is_float(core.get_aval(x).dtype)]
        t_out = [full(core.get_aval(a).shape, 0, core.get_aval(a).dtype) for a in ans]
        if floats:
            locs = [convert_element_type(eq(primals[i], ans[i]), core.get_aval(ans[i]).dtype)
                    for i in floats]
            # The tie counts are primal values and the picked tangents linear ones: two
            # collectives (one holding both would make the counts look linear to AD).
            counts = psum_p.bind(*locs, axis_name=axis_name)
            picked = psum_p.bind(*[mul(tangents[i], loc) for i, loc in zip(floats, locs)],
                                 axis_name=axis_name)
            for k, i in enumerate(floats):
                t_out[i] = div(picked[k], counts[k])
        return ans, t_out
    core.jvp_rules[prim] = rule


_chooser_jvp(pmax_p)
_chooser_jvp(pmin_p)


# psum_start / psum_done: a psum split in two so that the reduction of gradients that are
# ready early overlaps with the rest of the backward pass (spmd's `schedule_psums` puts the
# start right after the operands are computed and the done where the results are needed).
# `psum_done(token, *xs)` means `psum(*xs)`: the operands are inputs of both halves, which
# keeps their buffers alive and unchanged while the reduction is in flight, and lets the
# rules below treat the pair as a psum. The token is the transport's handle.

psum_start_p = _new_primitive("psum_start")
_USER_NAME[psum_start_p] = "psum"
core.shape_rules[psum_start_p] = lambda *avals, axis_name: ShapedArray((), dtypes.int32)
core.impl_rules[psum_start_p] = lambda *xs, axis_name: np.asarray(
    transport("lax.psum").allreduce_start(list(xs), "sum"), np.int32)
core.jvp_rules[psum_start_p] = lambda primals, tangents, **p: (
    psum_start_p.bind(*primals, **p), full((), 0, dtypes.int32))
# Batched operands: nothing is started; the matching psum_done reduces them itself.
core.batch_rules[psum_start_p] = lambda size, vals, dims, **p: (full((), -1, dtypes.int32),
                                                                None)

psum_done_p = _new_primitive("psum_done", multiple_results=True)
_USER_NAME[psum_done_p] = "psum"
core.shape_rules[psum_done_p] = lambda token, *avals, axis_name: list(avals)


def _psum_done_impl(token, *xs, axis_name):
    return transport("lax.psum").allreduce_finish(int(token))


def _psum_done_batch(size, vals, dims, *, axis_name):
    return psum_p.bind(*vals[1:], axis_name=axis_name), list(dims[1:])


core.impl_rules[psum_done_p] = _psum_done_impl
core.jvp_rules[psum_done_p] = lambda primals, tangents, *, axis_name: (
    psum_done_p.bind(*primals, axis_name=axis_name),
    psum_p.bind(*tangents[1:], axis_name=axis_name))
core.batch_rules[psum_done_p] = _psum_done_batch


# ---------------------------------------------------------------------------------------
# all_gather

all_gather_p = _new_primitive("all_gather")
_USER_NAME[all_gather_p] = "all_gather"


def _all_gather_shape(x, *, axis_name, axis, tiled, axis_size):
    if tiled:
        if not 0 <= axis < max(x.ndim, 1) or x.ndim == 0:
            raise TypeError(f"all_gather: tiled gather needs an existing axis, got axis={axis} "
                            f"for an operand of shape {x.shape}")
        shape = list(x.shape)
        shape[axis] *= axis_size
    else:
        if not 0 <= axis <= x.ndim:
            raise TypeError(f"all_gather: axis={axis} is out of range for an operand of "
                            f"shape {x.shape} (the new axis goes in [0, {x.ndim}])")
        shape = list(x.shape)
        shape.insert(axis, axis_size)
    return ShapedArray(tuple(shape), x.dtype, x.weak_type)


def _stacked_to_gathered(g, axis, tiled):
    """(members, *shape) -> the all_gather result (new axis at `axis`, or tiled into it)."""
    g = np.moveaxis(g, 0, axis)
    if tiled:
        shape = list(g.shape)
        shape[axis:axis + 2] = [shape[axis] * shape[axis + 1]]
        g = g.reshape(shape)
    return np.ascontiguousarray(g)


def _c_order(x) -> np.ndarray:
    """`x` in C order, its shape kept (np.ascontiguousarray makes a 0-d array 1-d: a
    scalar's all_gather was (n, 1), its ppermute (1,))."""
    return np.asarray(x, order="C")


def _all_gather_impl(x, *, axis_name, axis, tiled, axis_size):
    g = transport("lax.all_gather").allgather(_c_order(x))
    return _stacked_to_gathered(g, axis, tiled)


def _gathered(stacked, axis, tiled):
    """funcgrad ops: (members, *shape) -> the all_gather result."""
    g = moveaxis(stacked, 0, axis)
    if tiled:
        shape = list(g.shape)
        shape[axis:axis + 2] = [shape[axis] * shape[axis + 1]]
        g = reshape(g, tuple(shape))
    return g


def _all_gather_named(size, vals, dims, *, axis, tiled, axis_size):
    (x,), (d,) = vals, dims
    if d is None:
        shape = core.get_aval(x).shape
        x = broadcast_in_dim(x, (size,) + shape, tuple(range(1, len(shape) + 1)))
    else:
        x = moveaxis_to_front(x, d)
    return _gathered(x, axis, tiled), None


def _all_gather_batch(size, vals, dims, *, axis_name, axis, tiled, axis_size):
    (x,), (d,) = vals, dims
    x = moveaxis_to_front(x, d)
    return all_gather_p.bind(x, axis_name=axis_name, axis=axis + 1, tiled=tiled,
                             axis_size=axis_size), 0


def _all_gather_single(x, *, axis, tiled, axis_size):
    from .structural import expand_dims
    return x if tiled else expand_dims(x, (axis,))


core.shape_rules[all_gather_p] = _all_gather_shape
core.impl_rules[all_gather_p] = _all_gather_impl
core.jvp_rules[all_gather_p] = lambda primals, tangents, **p: (
    all_gather_p.bind(*primals, **p), all_gather_p.bind(*tangents, **p))
core.transpose_rules[all_gather_p] = lambda ct, x, *, axis_name, axis, tiled, axis_size: [
    psum_scatter_p.bind(ct, axis_name=axis_name, scatter_dimension=axis, tiled=tiled,
                        axis_size=axis_size)]
core.batch_rules[all_gather_p] = _all_gather_batch
_NAMED[all_gather_p] = _all_gather_named
_SINGLE[all_gather_p] = _all_gather_single


# ---------------------------------------------------------------------------------------
# psum_scatter (reduce-scatter)

psum_scatter_p = _new_primitive("psum_scatter")
_USER_NAME[psum_scatter_p] = "psum_scatter"


def _psum_scatter_shape(x, *, axis_name, scatter_dimension, tiled, axis_size):
    s = scatter_dimension
    if not 0 <= s < x.ndim:
        raise TypeError(f"psum_scatter: scatter_dimension={s} is out of range for an operand "
                        f"of shape {x.shape}")
    shape = list(x.shape)
    if tiled:
        if shape[s] % axis_size:
            raise TypeError(f"psum_scatter: dimension {s} of shape {x.shape} ({shape[s]}) is "
                            f"not a multiple of the axis size {axis_size} (tiled=True splits "
                            "it into equal blocks)")
        shape[s] //= axis_size
    else:
        if shape[s] != axis_size:
            raise TypeError(f"psum_scatter: dimension {s} of shape {x.shape} must equal the "
                            f"axis size {axis_size} (or pass tiled=True to split it into "
                            "blocks)")
        del shape[s]
    return ShapedArray(tuple(shape), x.dtype, x.weak_type)


def _psum_scatter_impl(x, *, axis_name, scatter_dimension, tiled, axis_size):
    s = scatter_dimension
    blocks = np.moveaxis(x, s, 0)
    lead = blocks.shape[0]
    blocks = np.ascontiguousarray(blocks).reshape(
        (axis_size, lead // axis_size) + blocks.shape[1:])
    mine = transport("lax.psum_scatter").reduce_scatter(
        blocks.reshape(axis_size, -1), "sum").reshape(blocks.shape[1:])
    if not tiled:
        return _c_order(mine[0])
    return _c_order(np.moveaxis(mine, 0, s))


def _psum_scatter_named(size, vals, dims, *, scatter_dimension, tiled, axis_size):
    (x,), (d,) = vals, dims
    summed = mul(x, _scalar(size, x)) if d is None else reduce_sum(x, (d,))
    s = scatter_dimension
    if tiled:
        shape = list(core.get_aval(summed).shape)
        shape[s:s + 1] = [size, shape[s] // size]
        summed = reshape(summed, tuple(shape))
    # Member i holds index i of the scattered axis: that axis is the batch dimension.
    return summed, s


def _psum_scatter_batch(size, vals, dims, *, axis_name, scatter_dimension, tiled, axis_size):
    (x,), (d,) = vals, dims
    x = moveaxis_to_front(x, d)
    return psum_scatter_p.bind(x, axis_name=axis_name, scatter_dimension=scatter_dimension + 1,
                               tiled=tiled, axis_size=axis_size), 0


def _psum_scatter_single(x, *, scatter_dimension, tiled, axis_size):
    return x if tiled else squeeze(x, (scatter_dimension,))


core.shape_rules[psum_scatter_p] = _psum_scatter_shape
core.impl_rules[psum_scatter_p] = _psum_scatter_impl
core.jvp_rules[psum_scatter_p] = lambda primals, tangents, **p: (
    psum_scatter_p.bind(*primals, **p), psum_scatter_p.bind(*tangents, **p))
core.transpose_rules[psum_scatter_p] = (
    lambda ct, x, *, axis_name, scatter_dimension, tiled, axis_size: [
        all_gather_p.bind(ct, axis_name=axis_name, axis=scatter_dimension, tiled=tiled,
                          axis_size=axis_size)])
core.batch_rules[psum_scatter_p] = _psum_scatter_batch
_NAMED[psum_scatter_p] = _psum_scatter_named
_SINGLE[psum_scatter_p] = _psum_scatter_single


# ---------------------------------------------------------------------------------------
# ppermute

ppermute_p = _new_primitive("ppermute")
_USER_NAME[ppermute_p] = "ppermute"


def _check_perm(perm, size, what="ppermute"):
    srcs = [s for s, _ in perm]
    dsts = [d for _, d in perm]
    bad = [p for p in perm if not (0 <= p[0] < size and 0 <= p[1] < size)]
    if bad:
        raise ValueError(f"{what}: the pairs {bad} name members outside the axis of size "
                         f"{size} (indices go from 0 to {size - 1})")
    if len(set(srcs)) != len(srcs) or len(set(dsts)) != len(dsts):
        raise ValueError(f"{what}: perm={list(perm)} is not a permutation: each member may "
                         "send once and receive once")


def _ppermute_impl(x, *, axis_name, perm):
    return transport("lax.ppermute").ppermute(_c_order(x), perm)


def _ppermute_named(size, vals, dims, *, perm):
    (x,), (d,) = vals, dims
    aval = core.get_aval(x)
    if d is None:
        x = broadcast_in_dim(x, (size,) + aval.shape, tuple(range(1, aval.ndim + 1)))
    else:
        x = moveaxis_to_front(x, d)
    src_of = np.zeros((size, 1), np.int32)
    received = np.zeros((size,), bool)
    for s, t in perm:
        src_of[t, 0] = s
        received[t] = True
    moved = gather(x, core.to_array(src_of), (0,))
    shape = core.get_aval(moved).shape
    keep = broadcast_in_dim(core.to_array(received), shape, (0,))
    return select(keep, moved, full(shape, 0, core.get_aval(moved).dtype)), 0


def _ppermute_single(x, *, perm):
    return x if (0, 0) in perm else full(core.get_aval(x).shape, 0, core.get_aval(x).dtype)


def _inverse(perm):
    return tuple((d, s) for s, d in perm)


core.shape_rules[ppermute_p] = lambda x, *, axis_name, perm: x
core.impl_rules[ppermute_p] = _ppermute_impl
core.jvp_rules[ppermute_p] = lambda primals, tangents, **p: (
    ppermute_p.bind(*primals, **p), ppermute_p.bind(*tangents, **p))
core.transpose_rules[ppermute_p] = lambda ct, x, *, axis_name, perm: [
    ppermute_p.bind(ct, axis_name=axis_name, perm=_inverse(perm))]
core.batch_rules[ppermute_p] = lambda size, vals, dims, *, axis_name, perm: (
    ppermute_p.bind(*vals, axis_name=axis_name, perm=perm), dims[0])
_NAMED[ppermute_p] = _ppermute_named
_SINGLE[ppermute_p] = _ppermute_single


# ---------------------------------------------------------------------------------------
# axis_index

axis_index_p = _new_primitive("axis_index")
_USER_NAME[axis_index_p] = "axis_index"
core.shape_rules[axis_index_p] = lambda *, axis_name: ShapedArray((), dtypes.int32)
core.impl_rules[axis_index_p] = lambda *, axis_name: np.asarray(
    transport("lax.axis_index").rank, np.int32)
core.jvp_rules[axis_index_p] = lambda primals, tangents, **p: (
    axis_index_p.bind(**p), full((), 0, dtypes.int32))   # an integer: a zero tangent
# It has no operands, so no batch trace ever holds one; the rule is there for completeness.
core.batch_rules[axis_index_p] = lambda size, vals, dims, **p: (axis_index_p.bind(**p), None)
_NAMED[axis_index_p] = lambda size, vals, dims: (iota(dtypes.int32, size), 0)
_SINGLE[axis_index_p] = lambda: full((), 0, dtypes.int32)


def _named_when_bound_here(prim, rule):
    """The batching rule of a collective: at the vmap that binds its axis name (a nested
    program batched by that vmap's rule, see batching.rule_axis_name) it reduces over the
    batch axis; at any other vmap it is re-bound for the vmap or process group that binds
    the name."""
    def batch(size, vals, dims, **params):
        if rule_axis_name() is not None and rule_axis_name() == params.get("axis_name"):
            rest = {k: v for k, v in params.items() if k != "axis_name"}
            return _NAMED[prim](size, vals, dims, **rest)
        return rule(size, vals, dims, **params)
    return batch


for _p in _NAMED:
    core.batch_rules[_p] = _named_when_bound_here(_p, core.batch_rules[_p])


# ---------------------------------------------------------------------------------------
# program_check: the start of every program spmd compiles for more than one process


class ProgramInfo:
    """What a program check compares between processes: the digest of the program (its IR
    text and input types), and the text itself to name the difference on a mismatch."""

    __slots__ = ("digest", "name", "signature", "text")

    def __init__(self, name: str, signature: str, text: str):
        self.name = name
        # Object addresses differ between processes: they are left out.
        self.signature = _ADDRESS.sub("", signature)
        self.text = _ADDRESS.sub("", text)
        self.digest = hashlib.sha256(
            (self.signature + "\n" + self.text).encode()).hexdigest()

    def __repr__(self):
        return f"<{self.name} {self.digest[:12]}>"


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

program_check_p = core.new_primitive("program_check", multiple_results=True)
core.shape_rules[program_check_p] = lambda *, info: []


def _program_check_impl(*, info):
    transport(f"spmd({info.name})").check_program(info)
    return []


core.impl_rules[program_check_p] = _program_check_impl
core.jvp_rules[program_check_p] = lambda primals, tangents, *, info: (
    core.bind(program_check_p, info=info), [])
core.batch_rules[program_check_p] = lambda size, vals, dims, *, info: (
    core.bind(program_check_p, info=info), [])
# Never dropped, merged or moved: it must run once per run of the program, before the
# first collective.
ir.effectful.add(program_check_p)


# ---------------------------------------------------------------------------------------
# The user's functions (JAX's `jax.lax` signatures)


def _names(axis_name, what) -> tuple:
    names = axis_name if isinstance(axis_name, tuple) else (axis_name,)
    if not names:
        raise ValueError(f"{what}: axis_name is an empty tuple")
    for n in names:
        _check_name(n, what)
    return names


def _one_name(axis_name, what):
    names = _names(axis_name, what)
    if len(names) != 1:
        raise NotImplementedError(f"{what}: one axis name at a time (got {axis_name!r}); "
                                  "funcgrad does not combine several axes here")
    return names[0]


def _no_groups(axis_index_groups, what):
    if axis_index_groups is not None:
        raise NotImplementedError(f"{what}: axis_index_groups is not supported by funcgrad "
                                  "(collectives span the whole axis)")


def _leaves(x, what):
    leaves, tree = tree_flatten(x)
    for leaf in leaves:
        if not isinstance(leaf, (Array, np.ndarray, np.generic, bool, int, float, complex)):
            raise TypeError(f"{what}: expected arrays or numbers (a pytree of them), got "
                            f"{type(leaf).__name__}")
    return leaves, tree


def _reduce(prim, x, axis_name, what, scale_constants):
    names = _names(axis_name, what)
    for n in names:
        _resolve(n, what, strict=True)
    leaves, tree = _leaves(x, what)
    out = list(leaves)
    idx = []
    for i, leaf in enumerate(leaves):
        if isinstance(leaf, (bool, int, float, complex)) and not isinstance(leaf, Array):
            # A Python number is the same on every member: psum(1, axis) is the axis size,
            # computed now, as in JAX.
            out[i] = leaf * axis_size(names) if scale_constants else leaf
            continue
        arr = leaf if isinstance(leaf, Array) else core.to_array(leaf)
        if prim is psum_p and arr.dtype == dtypes.bool_:
            # a count of the members where it holds, in int32 (JAX's psum of booleans)
            from .elementwise import convert_element_type
            arr = convert_element_type(arr, dtypes.int32)
        out[i] = arr
        idx.append(i)
    if idx:
        vals = [out[i] for i in idx]
        for n in names:
            vals = bind_collective(prim, *vals, axis_name=n, strict=True)
        for i, v in zip(idx, vals):
            out[i] = v
    return tree_unflatten(tree, out)


def psum(x, axis_name, *, axis_index_groups=None):
    """Sum `x` (a pytree of arrays) over the named axis: every member gets the total. All
    leaves go into one collective (one fused allreduce over the processes). A Python number
    is multiplied by the axis size (`psum(1, name)` is the size)."""
    _no_groups(axis_index_groups, "psum")
    return _reduce(psum_p, x, axis_name, "psum", True)


def pmean(x, axis_name, *, axis_index_groups=None):
    """The mean of `x` (a pytree) over the named axis: `psum(x) / axis_size` (integers give
    floats, as JAX's true division)."""
    _no_groups(axis_index_groups, "pmean")
    n = axis_size(_names(axis_name, "pmean"))
    summed = psum(x, axis_name)
    leaves, tree = tree_flatten(summed)
    out = []
    for leaf in leaves:
        if isinstance(leaf, Array):
            if not dtypes.is_float(leaf.dtype):
                leaf = convert_element_type(leaf, dtypes.DEFAULT_FLOAT)
            out.append(div(leaf, _scalar(n, leaf)))
        else:
            out.append(leaf / n)
    return tree_unflatten(tree, out)


def pmax(x, axis_name, *, axis_index_groups=None):
    """The elementwise maximum of `x` (a pytree) over the named axis."""
    _no_groups(axis_index_groups, "pmax")
    return _reduce(pmax_p, x, axis_name, "pmax", False)


def pmin(x, axis_name, *, axis_index_groups=None):
    """The elementwise minimum of `x` (a pytree) over the named axis."""
    _no_groups(axis_index_groups, "pmin")
    return _reduce(pmin_p, x, axis_name, "pmin", False)


def _per_leaf(x, what, fn):
    leaves, tree = _leaves(x, what)
    return tree_unflatten(tree, [fn(leaf if isinstance(leaf, Array) else core.to_array(leaf))
                                 for leaf in leaves])


def all_gather(x, axis_name, *, axis_index_groups=None, axis=0, tiled=False):
    """Gather `x` (a pytree) from every member of the named axis: a new axis of length
    axis_size at position `axis` (member i's value at index i), or with `tiled` the values
    concatenated along the existing axis `axis`."""
    _no_groups(axis_index_groups, "all_gather")
    name = _one_name(axis_name, "all_gather")
    main = _resolve(name, "all_gather", strict=True)
    size = _size_of(main, f"all_gather over {name!r}")

    def one(leaf):
        ax = int(axis)
        if ax < 0:
            ax += leaf.ndim + (0 if tiled else 1)
        params = {"axis": ax, "tiled": bool(tiled), "axis_size": size}
        _all_gather_shape(leaf.aval, axis_name=name, **params)     # checked for every binding
        return bind_collective(all_gather_p, leaf, axis_name=name, strict=True, **params)
    return _per_leaf(x, "all_gather", one)


def psum_scatter(x, axis_name, *, scatter_dimension=0, axis_index_groups=None, tiled=False):
    """Sum `x` (a pytree) over the named axis and give member i the i-th slice of the sum
    along `scatter_dimension` (whose length must be the axis size), or with `tiled` the
    i-th of axis_size equal blocks (JAX's reduce-scatter)."""
    _no_groups(axis_index_groups, "psum_scatter")
    name = _one_name(axis_name, "psum_scatter")
    main = _resolve(name, "psum_scatter", strict=True)
    size = _size_of(main, f"psum_scatter over {name!r}")

    def one(leaf):
        s = int(scatter_dimension)
        if s < 0:
            s += leaf.ndim
        params = {"scatter_dimension": s, "tiled": bool(tiled), "axis_size": size}
        _psum_scatter_shape(leaf.aval, axis_name=name, **params)
        return bind_collective(psum_scatter_p, leaf, axis_name=name, strict=True, **params)
    return _per_leaf(x, "psum_scatter", one)


def ppermute(x, axis_name, perm):
    """Send `x` (a pytree) along the pairs `(source, destination)` of `perm`: member d gets
    the value of the member s with (s, d) in perm, and zeros when no pair ends at d."""
    name = _one_name(axis_name, "ppermute")
    main = _resolve(name, "ppermute", strict=True)
    try:
        perm = tuple((int(s), int(d)) for s, d in perm)
    except (TypeError, ValueError):
        raise TypeError(f"ppermute: perm must be a sequence of (source, destination) integer "
                        f"pairs, got {perm!r}") from None
    _check_perm(perm, _size_of(main, f"ppermute over {name!r}"))
    return _per_leaf(x, "ppermute", lambda leaf: bind_collective(
        ppermute_p, leaf, axis_name=name, strict=True, perm=perm))


def axis_index(axis_name):
    """This member's index along the named axis (int32): the process index under spmd, the
    batch position under vmap."""
    name = _one_name(axis_name, "axis_index")
    return bind_collective(axis_index_p, axis_name=name, strict=True)


__all__ = [
    "DistributedError",
    "all_gather",
    "axis_index",
    "axis_size",
    "pmax",
    "pmean",
    "pmin",
    "ppermute",
    "process_axis",
    "psum",
    "psum_scatter",
]
