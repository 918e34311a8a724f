"""Vectorisation: the batch trace behind `vmap`, and helpers for batching rules.

A batched value carries `bdim`, the axis that holds the batch (None: not batched).
"""
from __future__ import annotations

import threading
from collections.abc import Callable

from . import core
from .core import Trace, Tracer, full_lower, new_main, safe_zip

not_mapped = None


class BatchTracer(Tracer):
    __slots__ = ("val", "bdim")

    def __init__(self, trace, val, bdim):
        self._trace = trace
        self.val = val
        self.bdim = bdim

    @property
    def aval(self):
        aval = core.get_aval(self.val)
        if self.bdim is None:
            return aval
        shape = list(aval.shape)
        del shape[self.bdim]
        return aval.update(shape=tuple(shape))

    def full_lower(self):
        if self.bdim is None:
            return full_lower(self.val)
        return self


# The axis name of the vmap whose batching rule is running: rules that batch a nested
# program (jit, checkpoint, scan, cond, while, custom derivatives) give it to the program's
# own BatchTrace, so collectives inside it reduce over the same named axis.
_rule_axis = threading.local()


def rule_axis_name():
    """The axis name of the vmap whose batching rule is running (None outside one)."""
    return getattr(_rule_axis, "name", None)


class BatchTrace(Trace):
    @property
    def axis_size(self) -> int:
        return self.main.global_data["size"]

    def pure(self, val):
        return BatchTracer(self, val, None)

    lift = pure

    def process_primitive(self, primitive, tracers, params):
        vals = [t.val for t in tracers]
        dims = [t.bdim for t in tracers]
        if all(d is None for d in dims):
            out = primitive.bind(*vals, **params)
            if primitive.multiple_results:
                return [BatchTracer(self, o, None) for o in out]
            return BatchTracer(self, out, None)
        rule = core.batch_rules.get(primitive)
        if rule is None:
            raise NotImplementedError(f"batching rule for '{primitive.name}' not implemented")
        name = self.main.global_data.get("axis_name")
        if name is None:
            out, out_dims = rule(self.axis_size, vals, dims, **params)
        else:
            outer, _rule_axis.name = rule_axis_name(), name
            try:
                out, out_dims = rule(self.axis_size, vals, dims, **params)
            finally:
                _rule_axis.name = outer
        if primitive.multiple_results:
            return [BatchTracer(self, o, d) for o, d in safe_zip(out, out_dims)]
        return BatchTracer(self, out, out_dims)


def vmap_flat(fun: Callable, axis_size: int, in_dims, args, out_dims_wanted):
    with new_main(BatchTrace, {"size": axis_size}) as main:
        trace = BatchTrace(main)
        tracers = [BatchTracer(trace, x, d) if d is not None else x
                   for x, d in safe_zip(args, in_dims)]
        outs = fun(*tracers)
        out_tracers = [core.full_raise(trace, o) for o in outs]
        vals = [t.val for t in out_tracers]
        dims = [t.bdim for t in out_tracers]
    if out_dims_wanted is None or isinstance(out_dims_wanted, int):
        out_dims_wanted = [out_dims_wanted] * len(vals)
    return [move_or_broadcast(v, d, od, axis_size)
            for v, d, od in safe_zip(vals, dims, out_dims_wanted)]


def move_or_broadcast(x, src, dst, size):
    """Move batch axis `src` of `x` to `dst`; broadcast an unbatched `x` when dst is set."""
    from .prims.structural import broadcast_in_dim, moveaxis
    if dst is None:
        if src is not None:
            raise ValueError("vmap: out_axes=None for an output that is batched "
                             "(it depends on a mapped input); use out_axes=0")
        return x
    aval = core.get_aval(x)
    nd = aval.ndim + 1 if src is None else aval.ndim
    if not -nd <= dst < nd:
        raise ValueError(f"vmap: out_axes={dst} is out of range for an output of rank {nd} "
                         f"(its batched shape has {nd} axes; use an axis in [{-nd}, {nd}))")
    dst = dst % nd
    if src is None:
        shape = list(aval.shape)
        shape.insert(dst, size)
        dims = tuple(i for i in range(nd) if i != dst)
        return broadcast_in_dim(x, tuple(shape), dims)
    return moveaxis(x, src, dst)


def bdim_at_front(x, bdim, size):
    return move_or_broadcast(x, bdim, 0, size)


def moveaxis_to_front(x, bdim):
    from .prims.structural import moveaxis
    if bdim is None or bdim == 0:
        return x
    return moveaxis(x, bdim, 0)


def vectorized_batcher(prim):
    """Batching for elementwise primitives: operands are full-shape or scalars."""
    def rule(size, vals, dims, **params):
        from .prims.structural import broadcast_in_dim
        avals = [core.get_aval(v) for v in vals]
        ranks = [a.ndim - (d is not None) for a, d in zip(avals, dims)]
        out_nd = max(ranks)
        bdims = {d for d in dims if d is not None}
        if len(bdims) == 1 and all(r == 0 if d is None else r == out_nd
                                   for d, r in zip(dims, ranks)):
            return prim.bind(*vals, **params), bdims.pop()
        out_shape = None
        for a, d, r in zip(avals, dims, ranks):
            if r == out_nd:
                s = list(a.shape)
                if d is not None:
                    del s[d]
                out_shape = tuple(s)
                break
        new_vals = []
        for v, _a, d, r in zip(vals, avals, dims, ranks):
            if d is None:
                if r > 0:
                    v = broadcast_in_dim(v, (size,) + out_shape, tuple(range(1, out_nd + 1)))
            else:
                v = moveaxis_to_front(v, d)
                if r < out_nd:
                    v = broadcast_in_dim(v, (size,) + out_shape, (0,))
            new_vals.append(v)
        return prim.bind(*new_vals, **params), 0
    core.batch_rules[prim] = rule
    return rule
