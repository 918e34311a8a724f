"""Selects that write one row, rewritten as row updates.

`jnp.where(jnp.arange(n) == i, v, a)` (or `[:, None]` of the mask against a 2-D `a`) writes
`v` into row `i` of `a` and keeps the rest: JAX code building an array in a loop, a token
written at each step of autoregressive decoding. As a select it reads and writes the whole
array every time, in a loop n times over; XLA turns it into a dynamic update. Here it becomes
`scatter(a, [i], v_row, mode="set")`, which the C backend runs in place where nothing reads
the old `a` afterwards (a loop's carry, see backends/c.py's `_in_place_updates`): 64 trips
over a (512, 1024) float32 carry took 3.4 ms as selects (`bench/bench_loop_updates.py`'s
`where row`).

The two agree element for element: a select copies values, as a scatter does, and where `i`
names no row (negative, or n or more) neither writes anything (scatter drops updates out of
bounds; `.at[i].set` differs there, since it wraps a negative `i`). The rewrite fires only
where the select's result is an output of the program (a loop carry, a result) or the base
of another such select, since those results are written out anyway; a select read by other
code fuses into it, which a scatter would not.
"""
from __future__ import annotations

import numpy as np

from .. import core
from ..ir import Eqn, Lit, Program, Var
from ..prims import elementwise as ew
from ..prims import indexing as ix
from ..prims import structural as st


def masked_row_updates(program: Program) -> Program:
    """`program` with every select of one row (see above) replaced by a scatter."""
    producer = {v.id: e for e in program.eqns for v in e.outputs}
    uses: dict[int, list] = {}
    for e in program.eqns:
        for a in e.inputs:
            if isinstance(a, Var):
                uses.setdefault(a.id, []).append(e)
    outs = {v.id for v in program.outvars if isinstance(v, Var)}
    plans: dict[int, tuple] = {}
    # last to first: a select is rewritten if its result is an output, or every reader is a
    # rewritten select taking it as its base
    for e in reversed(program.eqns):
        if e.prim is not ew.select_p:
            continue
        plan = _plan(e, producer)
        if plan is None:
            continue
        out = e.outputs[0]
        readers = uses.get(out.id, [])
        if out.id in outs or (readers and all(
                id(r) in plans and plans[id(r)][3] is out for r in readers)):
            plans[id(e)] = plan
    if not plans:
        return program
    eqns = []
    for e in program.eqns:
        plan = plans.get(id(e))
        eqns.extend(_rewrite(e, *plan) if plan is not None else [e])
    return Program(program.constvars, program.invars, eqns, program.outvars)


_INDEX_TYPES = (np.dtype(np.int32), np.dtype(np.int64))


def _plan(sel: Eqn, producer):
    """(axis, index, the update's source (see `_row_source`), base) for a select of one
    row, or None."""
    pred, on_true, on_false = sel.inputs
    out = sel.outputs[0].aval
    dt = np.dtype(out.dtype)
    if not isinstance(pred, Var) or pred.aval.shape != out.shape or out.ndim == 0 or \
            dt.kind not in "fiu" or dt.itemsize < 4:
        return None
    if any(a.aval.dtype != dt or a.aval.shape not in ((), out.shape)
           for a in (on_true, on_false)):
        return None
    found = _row_mask(pred, producer)
    if found is None:
        return None
    axis, index, negated = found
    if out.shape[axis] < 2:
        return None
    upd, base = (on_false, on_true) if negated else (on_true, on_false)
    return axis, index, _row_source(upd, axis, producer), base


def _row_mask(v, producer):
    """(axis, index, negated) where the bool array `v` is `iota == index` along `axis`
    (`!=` where negated) for an integer scalar `index`, seen through broadcasts, expand_dims
    and reshapes that add or drop unit axes; None otherwise."""
    e = producer.get(v.id) if isinstance(v, Var) else None
    if e is None:
        return None
    if e.prim in (ew.eq_p, ew.ne_p):
        a, b = e.inputs
        for x, s in ((a, b), (b, a)):
            axis = _iota(x, producer)
            index = _scalar(s, producer)
            if axis is not None and index is not None and \
                    np.dtype(x.aval.dtype) in _INDEX_TYPES and \
                    index.aval.dtype == x.aval.dtype:
                return axis[0], index, e.prim is ew.ne_p
        return None
    return _through(e, producer, _row_mask)


def _iota(v, producer):
    """(axis,) where `v` is an integer iota along `axis` (seen through broadcasts,
    expand_dims and unit-axis reshapes), or None."""
    e = producer.get(v.id) if isinstance(v, Var) else None
    if e is None:
        return None
    if e.prim is st.iota_p:
        return (e.params["dimension"],)
    return _through(e, producer, _iota)


def _through(e, producer, inner):
    """`inner(operand)`'s result (a tuple starting with an axis of the operand) with that
    axis mapped to `e`'s output, where `e` is a broadcast_in_dim, expand_dims or reshape
    that keeps the axis whole; None otherwise."""
    if e.prim not in (st.broadcast_in_dim_p, st.expand_dims_p, st.reshape_p):
        return None
    x = e.inputs[0]
    if not isinstance(x, Var):
        return None
    found = inner(x, producer)
    if found is None:
        return None
    axis, rest = found[0], found[1:]
    shape, new = x.aval.shape, e.outputs[0].aval.shape
    if e.prim is st.broadcast_in_dim_p:
        to = e.params["broadcast_dimensions"][axis]
        return (to,) + rest if new[to] == shape[axis] else None
    if e.prim is st.expand_dims_p:
        labels = list(range(len(shape)))
        for d in e.params["dimensions"]:
            labels.insert(d, None)
        return (labels.index(axis),) + rest
    old_big = [i for i, s in enumerate(shape) if s != 1]
    new_big = [i for i, s in enumerate(new) if s != 1]
    if [shape[i] for i in old_big] != [new[i] for i in new_big] or axis not in old_big:
        return None
    return (new_big[old_big.index(axis)],) + rest


def _row_source(upd, axis, producer):
    """`upd` itself, or (operand, broadcast_dimensions) where `upd` is a broadcast that is
    the same along `axis` (its row is a smaller broadcast of the operand)."""
    e = producer.get(upd.id) if isinstance(upd, Var) else None
    if e is not None and e.prim is st.broadcast_in_dim_p and \
            axis not in e.params["broadcast_dimensions"]:
        return e.inputs[0], tuple(d - (d > axis) for d in e.params["broadcast_dimensions"])
    return upd


def _scalar(v, producer):
    """The integer scalar `v` is (a rank-0 atom, or a broadcast of one), or None."""
    if v.aval.shape == ():
        return v if np.dtype(v.aval.dtype) in _INDEX_TYPES else None
    e = producer.get(v.id) if isinstance(v, Var) else None
    if e is not None and e.prim is st.broadcast_in_dim_p and e.inputs[0].aval.shape == ():
        return _scalar(e.inputs[0], producer)
    return None


def _new(prim, ins, **params) -> Eqn:
    aval = core.shape_rules[prim](*[a.aval for a in ins], **params)
    return Eqn(prim, list(ins), params, [Var(aval)])


def _rewrite(sel: Eqn, axis, index, upd, base) -> list[Eqn]:
    out = sel.outputs[0]
    shape = out.aval.shape
    row = shape[:axis] + shape[axis + 1:]
    eqns = [_new(st.broadcast_in_dim_p, [index], shape=(1,), broadcast_dimensions=())]
    idx = eqns[-1].outputs[0]
    if isinstance(upd, tuple):
        src, dims = upd
        eqns.append(_new(st.broadcast_in_dim_p, [src], shape=row, broadcast_dimensions=dims))
    elif upd.aval.shape == ():
        eqns.append(_new(st.broadcast_in_dim_p, [upd], shape=row, broadcast_dimensions=()))
    else:
        # the row of `upd` at `index` (clamped; the scatter drops it where `index` is out of
        # bounds)
        zero = Lit(np.zeros((), index.aval.dtype), core.ShapedArray((), index.aval.dtype))
        starts = [zero] * len(shape)
        starts[axis] = index
        sizes = shape[:axis] + (1,) + shape[axis + 1:]
        eqns.append(_new(ix.dynamic_slice_p, [upd] + starts, slice_sizes=sizes))
        eqns.append(_new(st.reshape_p, [eqns[-1].outputs[0]], new_sizes=row))
    row_v = eqns[-1].outputs[0]
    if base.aval.shape == ():
        eqns.append(_new(st.broadcast_in_dim_p, [base], shape=shape, broadcast_dimensions=()))
        base = eqns[-1].outputs[0]
    eqns.append(Eqn(ix.scatter_p, [base, idx, row_v], {"axes": (axis,), "mode": "set"},
                    [out]))
    return eqns
