"""Fuzz ops over whole arrays: reshape/transpose/slicing/fancy indexing/`.at[]`,
concatenate/stack/pad/flip/roll/tile, dot/matmul/einsum, convolutions and pooling, sorting
and cumulative ops (see `ops.py` for the table's conventions).

Indexing follows JAX: out-of-bounds gather indices are clamped (negative ones are first
wrapped once), out-of-bounds scatter updates are dropped."""
from __future__ import annotations

import math

import numpy as np

from .generate import Builder
from .ops import (
    OpDef,
    _abs,
    _perm_draw,
    as_dtype,
    bcast,
    dims_of,
    ieee_accumulate,
    ieee_extreme,
    ieee_maximum,
    ieee_minimum,
    norm_axes,
    promote,
    register,
    types_of,
    wrap32,
)
from .program import (EPS, SUBNORMAL, Lit, acc_eps, acc_overflow, acc_subnormal, fix, growth,
                      py_literal, total_order_rank)
from .values import BOOL, I32, NP, ONE, Type, default_int, finfo, is_float, is_int, to_inexact


def _derived(b: Builder, dim: int, f) -> int:
    return b.dims.derive((dim,), f)


def _prod_dim(b: Builder, dims) -> int:
    return b.dims.derive(tuple(dims), lambda *s: int(np.prod(s)))


# ---------------------------------------------------------------------------------------
# reshape / ravel

def _factor(b: Builder, n: int, rank: int) -> list[int]:
    if rank == 0:
        return []
    if n == 0:
        out = [b.choice([0, 1, 2, 3]) for _ in range(rank)]
        out[b.integers(0, rank - 1)] = 0
        return out
    out = []
    rem = n
    for _ in range(rank - 1):
        divs = [d for d in range(1, min(rem, 64) + 1) if rem % d == 0]
        d = b.choice(divs)
        out.append(d)
        rem //= d
    out.append(rem)
    return out


def _reshape_gen(b: Builder, opname):
    x = b.pick(lambda t: True, lambda: b.any_type())
    t = b.types[x]
    b.pin(*t.dims)
    n = int(np.prod(b.dims.shape(t.dims)))
    rank = b.integers(0 if n == 1 else 1, 4)
    target = _factor(b, n, rank)
    if n > 0 and target and b.flag(0.3):
        target[b.integers(0, len(target) - 1)] = -1
    known = int(np.prod([s for s in target if s != -1])) if target else 1
    real = [n // known if s == -1 else s for s in target]
    dims = tuple(ONE if s == 1 and b.flag(0.5) else b.dims.new([s] * 3) for s in real)
    spell = b.choice(["fnp.reshape({0}, {1})", "{0}.reshape({1})"])
    b.emit(opname, (x,), {"shape": tuple(target), "spell": spell}, (t.with_(dims=dims),))


register(OpDef("reshape", _reshape_gen,
               lambda a, p, op, ctx, env: np.reshape(a[0], p["shape"]),
               lambda a, p, op, ind: p["spell"].format(a[0], py_literal(p["shape"])),
               exact=True, weight=2))


def _ravel_gen(b: Builder, opname):
    x = b.pick(lambda t: True, lambda: b.any_type())
    t = b.types[x]
    d = _prod_dim(b, t.dims)
    b.emit(opname, (x,), {"spell": b.choice(["fnp.ravel({0})", "{0}.reshape(-1)",
                                             "{0}.flatten()"])}, (t.with_(dims=(d,)),))


register(OpDef("ravel", _ravel_gen, lambda a, p, op, ctx, env: np.ravel(a[0]),
               lambda a, p, op, ind: p["spell"].format(a[0]), exact=True))


# ---------------------------------------------------------------------------------------
# transpose family

def _transpose_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank >= 2, lambda: b.any_type(min_rank=2))
    t = b.types[x]
    r = t.rank
    kind = b.choice(["perm", "T", "swap", "move"])
    if kind == "perm":
        perm = tuple(_perm_draw(b, r))
        params = {"kind": kind, "perm": perm}
    elif kind == "T":
        perm = tuple(range(r))[::-1]
        params = {"kind": kind, "perm": perm}
    elif kind == "swap":
        a1, a2 = b.axis(r), b.axis(r)
        perm = list(range(r))
        perm[a1 % r], perm[a2 % r] = perm[a2 % r], perm[a1 % r]
        params = {"kind": kind, "perm": tuple(perm), "a": (a1, a2)}
    else:
        src, dst = b.axis(r), b.axis(r)
        order = [i for i in range(r) if i != src % r]
        order.insert(dst % r, src % r)
        params = {"kind": kind, "perm": tuple(order), "a": (src, dst)}
    dims = tuple(t.dims[i] for i in params["perm"])
    b.emit(opname, (x,), params, (t.with_(dims=dims),))


def _transpose_src(a, p, op, ind):
    k = p["kind"]
    if k == "perm":
        return f"fnp.transpose({a[0]}, {py_literal(p['perm'])})"
    if k == "T":
        return f"{a[0]}.T"
    if k == "swap":
        return f"fnp.swapaxes({a[0]}, {p['a'][0]}, {p['a'][1]})"
    return f"fnp.moveaxis({a[0]}, {p['a'][0]}, {p['a'][1]})"


register(OpDef("transpose", _transpose_gen,
               lambda a, p, op, ctx, env: np.transpose(a[0], p["perm"]), _transpose_src,
               exact=True))


def _expand_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank < 4, lambda: b.any_type(max_rank=3))
    t = b.types[x]
    ax = b.integers(-(t.rank + 1), t.rank)
    dims = list(t.dims)
    dims.insert(ax % (t.rank + 1), ONE)
    b.emit(opname, (x,), {"axis": ax, "spell": b.choice(["fn", "index"])},
           (t.with_(dims=tuple(dims)),))


def _expand_src(a, p, op, ind):
    if p["spell"] == "fn":
        return f"fnp.expand_dims({a[0]}, {p['axis']})"
    r = op.types[0].rank - 1
    pos = p["axis"] % (r + 1)
    idx = [":"] * pos + ["None"]
    return f"{a[0]}[{', '.join(idx)}]" if pos < r or r == 0 else f"{a[0]}[..., None]"


register(OpDef("expand_dims", _expand_gen,
               lambda a, p, op, ctx, env: np.expand_dims(a[0], p["axis"]), _expand_src,
               exact=True))


def _squeeze_gen(b: Builder, opname):
    x = b.pick(lambda t: ONE in t.dims)
    t = b.types[x]
    ones = [i for i, d in enumerate(t.dims) if d == ONE]
    k = b.integers(1, len(ones))
    axes = tuple(sorted(ones[:k]))
    axes = tuple(a - t.rank if b.flag(0.3) else a for a in axes)
    dims = tuple(d for i, d in enumerate(t.dims) if i not in [a % t.rank for a in axes])
    b.emit(opname, (x,), {"axis": axes}, (t.with_(dims=dims),))


register(OpDef("squeeze", _squeeze_gen,
               lambda a, p, op, ctx, env: np.squeeze(a[0], p["axis"]),
               lambda a, p, op, ind: f"fnp.squeeze({a[0]}, {py_literal(p['axis'])})",
               exact=True))


def _broadcast_gen(b: Builder, opname):
    x = b.pick(lambda t: True, lambda: b.any_type(max_rank=3))
    t = b.types[x]
    if b.flag(0.5):
        y = b.pick(lambda u: u.rank >= t.rank and bcast(b, t.dims, u.dims) == u.dims)
        b.emit(opname, (x, y), {"kind": "like"}, (t.with_(dims=b.types[y].dims),))
    else:
        if t.rank >= 4:
            b.reject()
        d = b.new_dim(pinned=True, allow_zero=not b.grad)
        b.emit(opname, (x,), {"kind": "lead", "n": b.dims.size(d)},
               (t.with_(dims=(d,) + t.dims),))


def _broadcast_ref(a, p, op, ctx, env):
    shape = ctx.dims.shape(op.types[0].dims, ctx.inst)
    return np.broadcast_to(a[0], shape).copy()


def _broadcast_src(a, p, op, ind):
    if p["kind"] == "like":
        return f"fnp.broadcast_to({a[0]}, {a[1]}.shape)"
    return f"fnp.broadcast_to({a[0]}, ({p['n']},) + {a[0]}.shape)"


register(OpDef("broadcast_to", _broadcast_gen, _broadcast_ref, _broadcast_src, exact=True))


# ---------------------------------------------------------------------------------------
# Basic indexing: slices with negative steps, ints, newaxis, Ellipsis

def _slice_len(n, s):
    return len(range(*s.indices(n)))


def _getitem_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank >= 1, lambda: b.any_type(min_rank=1))
    t = b.types[x]
    items = []
    dims = []
    nd = len([1 for _ in t.dims])
    k = b.integers(1, nd)
    for i in range(k):
        d = t.dims[i]
        kind = b.choice(["slice", "slice", "int", "full", "new"])
        if kind == "new" and len(dims) < 4:
            items.append(("new",))
            dims.append(ONE)
            kind = "full"
        if kind == "int":
            b.require_nonempty([d])
            items.append(("int", b.choice([0, -1])))
            continue
        if kind == "full":
            items.append(("slice", None, None, None))
            dims.append(d)
            continue
        start = b.choice([None, 1, -1, 0, 2, -3])
        stop = b.choice([None, -1, 3, 1, -2, 0])
        step = b.choice([None, -1, 2, -2, 3, 1])
        s = slice(start, stop, step)
        items.append(("slice", start, stop, step))
        if d == ONE:
            n1 = _slice_len(1, s)
            dims.append(ONE if n1 == 1 else b.dims.new([n1] * 3))
        else:
            dims.append(_derived(b, d, lambda n, s=s: _slice_len(n, s)))
    use_ellipsis = k < nd and b.flag(0.4)
    if use_ellipsis:
        items.append(("ellipsis",))
    dims.extend(t.dims[k:])
    if len(dims) > 4:
        b.reject()
    b.emit(opname, (x,), {"items": tuple(items)}, (t.with_(dims=tuple(dims)),))


def _index_tuple(items):
    out = []
    for it in items:
        if it[0] == "new":
            out.append(None)
        elif it[0] == "int":
            out.append(it[1])
        elif it[0] == "ellipsis":
            out.append(Ellipsis)
        else:
            out.append(slice(it[1], it[2], it[3]))
    return tuple(out)


def _index_src(items):
    parts = []
    for it in items:
        if it[0] == "new":
            parts.append("None")
        elif it[0] == "int":
            parts.append(str(it[1]))
        elif it[0] == "ellipsis":
            parts.append("...")
        else:
            _, a, c, s = it
            txt = ("" if a is None else str(a)) + ":" + ("" if c is None else str(c))
            if s is not None:
                txt += f":{s}"
            parts.append(txt)
    return ", ".join(parts)


register(OpDef("getitem", _getitem_gen,
               lambda a, p, op, ctx, env: np.asarray(a[0][_index_tuple(p["items"])]),
               lambda a, p, op, ind: f"{a[0]}[{_index_src(p['items'])}]", exact=True,
               weight=3))


# Index inputs of every integer type (values.INDEX_DTYPES, Builder.index_dtype). The
# oracles read their values exactly (index_ints) and count a negative index from the end in
# exact arithmetic. JAX itself does that in the index's own type: int8(-5) on an axis of 300
# adds 300 as int8 and JAX raises an OverflowError (x[i], .at[i]) or reads element 39
# (lax.dynamic_slice, a 0-d x[i]); funcgrad widens the index first (prims/indexing.py
# `from_end`, tests/test_index_widths.py), and that is what is checked, except in
# dynamic_slice (see `_starts`). Where JAX converts an index to int32 before it uses it,
# funcgrad reads its value (`index_span`).


def index_ints(idx) -> np.ndarray:
    """Index values as exact int64 (a uint64 past 2^62 becomes 2^62: every index op here
    treats all values past the end of an axis alike)."""
    a = np.asarray(idx)
    if a.dtype == np.uint64:
        a = np.minimum(a, np.uint64(2**62))
    return a.astype(np.int64)


def index_span(use: str, dtype: str):
    """The values (inclusive limits) an index of `dtype` may take for `use`, None for all.

    Every value is drawn: funcgrad reads an index by its value whatever its type (past the
    axis is out of range: gathers clamp, fills fill, updates and segment ops drop;
    docs/porting-from-jax.md), which `index_ints` models. JAX 0.10.2 differs there: it
    converts uint32/uint64 index arrays to int32 in x[i], .at[], take_along_axis and the
    segment ops (2^32 - 1 becomes -1: x[i] clamps it to element 0, take_along_axis counts
    it from the end) and truncates 64-bit ones to their low 32 bits (int64 2^32 + 3 reads
    element 3)."""
    return None


def new_index(b: Builder, dims, bound: int, use: str, oob: bool, unique: bool = False,
              dtype: str | None = None) -> str:
    """A fresh index input of `dims` into the axis `bound` (a dim id) for `use` (see
    index_span), of a drawn integer dtype; some of its values the dtype's extremes (when
    out-of-bounds indices are allowed, `oob`)."""
    dt = dtype or b.index_dtype()
    extremes = oob and b.flag(0.4)
    return b.new_input(Type(dims, dt), style="index", kind="index", bound=bound, oob=oob,
                       unique=unique, span=index_span(use, dt), extremes=extremes)


# Fancy indexing (gather): clamped like JAX.

def _clamp_index(idx, n):
    idx = index_ints(idx)
    idx = np.where(idx < 0, idx + n, idx)
    return np.clip(idx, 0, max(n - 1, 0))


def _gather_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank >= 1, lambda: b.long_type(lambda: b.any_type(min_rank=1)))
    t = b.types[x]
    axis = b.integers(0, t.rank - 1)
    b.require_nonempty([t.dims[axis]])
    if not b.grad and b.flag(0.3):
        idx = b.pick(lambda u: u.dtype == I32 and u.rank <= 2)
    else:
        irank = b.integers(0, 2)
        idims = tuple(b.new_dim() for _ in range(irank))
        idx = new_index(b, idims, t.dims[axis], "gather" if irank else "gather0",
                        oob=not b.grad and b.flag(0.5))
    it = b.types[idx]
    dims = t.dims[:axis] + it.dims + t.dims[axis + 1:]
    if len(dims) > 4:
        b.reject()
    b.emit(opname, (x, idx), {"axis": axis}, (t.with_(dims=dims),))


def _gather_ref(a, p, op, ctx, env):
    x, idx = np.asarray(a[0]), np.asarray(a[1])
    ax = p["axis"]
    return np.take(x, _clamp_index(idx, x.shape[ax]), axis=ax)


register(OpDef("gather", _gather_gen, _gather_ref,
               lambda a, p, op, ind: f"{a[0]}[{':, ' * p['axis']}{a[1]}]", exact=True,
               weight=2))


# .at[idx].set/add/mul/min/max (scatter): out-of-bounds updates dropped like JAX.

def _scatter_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank >= 1 and (is_float(t.dtype) or not b.grad),
               lambda: b.long_type(lambda: b.any_type(min_rank=1)))
    t = b.types[x]
    method = b.choice(["set", "add", "multiply", "min", "max"] if not b.grad else
                      ["set", "add", "multiply"])
    if t.dtype == BOOL and method in ("add", "multiply"):
        b.reject()
    axis = b.integers(0, min(t.rank - 1, 1))
    if b.flag(0.3):
        sl = (b.choice([None, 1, -2]), b.choice([None, -1, 3]), b.choice([None, 2, -1]))
        idx_kind = "slice"
        s = slice(*sl)
        d = t.dims[axis]
        sel_dims = (_derived(b, d, lambda n, s=s: _slice_len(n, s)),)
        idx = None
    else:
        idx_kind = "array"
        irank = b.integers(0, 1)
        idims = tuple(b.new_dim() for _ in range(irank))
        idx = new_index(b, idims, t.dims[axis], "scatter", oob=not b.grad and b.flag(0.5),
                        unique=method == "set")
        sel_dims = idims
        sl = None
    upd_dims = t.dims[:axis] + sel_dims + t.dims[axis + 1:]
    if b.flag(0.3):
        val = Lit(b.choice([1.5, -2.0, 0.0]) if is_float(t.dtype) else
                  (True if t.dtype == BOOL else 3))
    else:
        val = b.new_input(Type(b.compat_dims(upd_dims, grow=False), t.dtype))
    args = (x, val) if idx is None else (x, val, idx)
    b.emit(opname, args, {"method": method, "axis": axis, "kind": idx_kind, "slice": sl},
           (t,))


def _scatter_src(a, p, op, ind):
    pre = ":, " * p["axis"]
    if p["kind"] == "slice":
        s0, s1, s2 = p["slice"]
        txt = ("" if s0 is None else str(s0)) + ":" + ("" if s1 is None else str(s1))
        if s2 is not None:
            txt += f":{s2}"
        sel = pre + txt
    else:
        sel = pre + a[2]
    return f"{a[0]}.at[{sel}].{p['method']}({a[1]})"


def _scatter_ref(a, p, op, ctx, env):
    x = np.array(a[0], copy=True)
    t = op.types[0]
    ax = p["axis"]
    n = x.shape[ax]
    xm = np.moveaxis(x, ax, 0)
    if p["kind"] == "slice":
        pos = np.arange(n)[slice(*p["slice"])]
    else:
        raw = index_ints(a[2])
        pos = np.where(raw < 0, raw + n, raw)
    sel_shape = np.shape(pos)
    upd_shape = x.shape[:ax] + sel_shape + x.shape[ax + 1:]
    val = np.broadcast_to(as_dtype(a[1], t.dtype), upd_shape)
    val = np.moveaxis(val, ax, 0) if len(sel_shape) == 1 else \
        (val[None] if len(sel_shape) == 0 else val)
    flat_pos = np.reshape(pos, (-1,))
    vals = np.reshape(val, (len(flat_pos),) + xm.shape[1:])
    m = p["method"]
    for i, q in enumerate(flat_pos):
        if q < 0 or q >= n:
            continue       # out of bounds: JAX drops the update
        if m == "set":
            xm[q] = vals[i]
        elif m == "add":
            xm[q] = xm[q] + vals[i]
        elif m == "multiply":
            xm[q] = xm[q] * vals[i]
        elif m == "min":
            xm[q] = ieee_minimum(xm[q], vals[i])
        else:
            xm[q] = ieee_maximum(xm[q], vals[i])
    return np.moveaxis(xm, 0, ax)


def _scatter_err(args, out, op, t, ctx):
    """An element that k updates reach is a sum (product) of k + 1 terms in the dtype, in
    any order (JAX on CPU and funcgrad add in update order, a GPU in any): for add the
    bound is (k + 1) eps (|base| + sum |updates|), which covers the cancellation in
    1.1e-07 + -1.0 + 1.0 (1.19e-07 in float32; seed 20261214); for multiply it is
    (k + 1) eps |out|, and an element is unstable (a NaN error) where some order's partial
    product leaves the dtype's normal range: the oracle multiplies in float64, where
    4.2e7 * 6.0e21 * -0.06 * 3.6e14 * 1.5e-7 is -8.5e35, but float32 in update order
    overflows at the fourth factor and gives -inf, as JAX does (seed 20261929). One update
    is a single rounding, checked as before; min/max are exact."""
    m = op.params["method"]
    if m not in ("add", "multiply"):
        return 0.0
    dt = t.dtype
    one = 4 * EPS[dt] * (np.abs(out) + _abs(args[0]))
    p = dict(op.params, method="add")
    x0 = np.zeros(np.shape(args[0]))
    k = _scatter_ref([x0, 1.0, *args[2:]], p, op, ctx, None)
    if m == "add":
        a0, a1 = (np.nan_to_num(_abs(a), nan=0.0, posinf=0.0) for a in args[:2])
        mag = _scatter_ref([a0, a1, *args[2:]], p, op, ctx, None)
        many = acc_overflow((k + 1) * EPS[dt] * mag, mag, dt, acc=dt)
    else:
        many = (k + 1) * EPS[dt] * np.abs(out)
        # the largest and the smallest partial product any order can reach: the base times
        # every factor above (below) 1 in magnitude; non-finite values count as 1 (an
        # infinite base or update gives +-inf or NaN in every order)
        a0, a1 = (np.abs(np.asarray(a, np.float64)) for a in args[:2])
        a0, a1 = (np.where(np.isfinite(a), a, 1.0) for a in (a0, a1))
        pm = dict(op.params, method="multiply")
        with np.errstate(all="ignore"):
            hi = _scatter_ref([a0, np.maximum(a1, 1.0), *args[2:]], pm, op, ctx, None)
            lo = _scatter_ref([a0, np.minimum(a1, 1.0), *args[2:]], pm, op, ctx, None)
        info = finfo(NP[dt])
        order = (k >= 2) & ((hi > float(info.max)) | ((lo > 0) & (lo < float(info.tiny))))
        with np.errstate(invalid="ignore"):
            return np.where(order, np.nan, np.where(k >= 2, np.fmax(one, many), one))
    with np.errstate(invalid="ignore"):
        return np.where(k >= 2, many, one)


register(OpDef("at", _scatter_gen, _scatter_ref, _scatter_src, err_fn=_scatter_err,
               weight=2))


# funcgrad.ops.segment_sum/max/min (jax.ops): rows whose id is outside [0, num_segments)
# are dropped, negative ones too (no wrap-around); an empty segment holds the identity.

def _segment_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank >= 1 and t.dtype != BOOL and (is_float(t.dtype) or not b.grad),
               lambda: b.any_type(min_rank=1))
    t = b.types[x]
    if t.dtype == BOOL:
        b.reject()
    kind = "sum" if b.grad else b.choice(["sum", "sum", "max", "min"])
    seg = b.new_dim(allow_zero=False, pinned=True)
    n = b.dims.all_sizes(seg)[0]
    ids = new_index(b, (t.dims[0],), seg, "segment", oob=not b.grad and b.flag(0.4))
    b.emit(opname, (x, ids), {"kind": kind, "num_segments": n},
           (t.with_(dims=(seg,) + t.dims[1:]),))


def _segment_ref(a, p, op, ctx, env):
    t = op.types[0]
    x = as_dtype(np.asarray(a[0]), t.dtype)
    ids = index_ints(a[1]).reshape(-1)
    kind, n = p["kind"], p["num_segments"]
    if kind == "sum":
        out = np.zeros((n,) + x.shape[1:], x.dtype)
    elif is_float(t.dtype):
        out = np.full((n,) + x.shape[1:], -np.inf if kind == "max" else np.inf, x.dtype)
    else:
        info = np.iinfo(NP[t.dtype])
        out = np.full((n,) + x.shape[1:], info.min if kind == "max" else info.max, x.dtype)
    keep = (ids >= 0) & (ids < n)
    if kind == "sum":
        # row by row in index order, each sum rounded to the dtype (np.add.at is unbuffered)
        np.add.at(out, ids[keep], x[keep])
    else:
        # max and min are exact and order-free: a segment at a time (row by row in Python
        # made the oracle most of a segment program's fuzzing time)
        combine = ieee_maximum if kind == "max" else ieee_minimum
        for s in np.unique(ids[keep]):
            out[s] = combine(out[s], ieee_extreme(kind, x[ids == s], axis=0))
    return fix(out, Type((), t.dtype))


def _segment_err(args, out, op, t, ctx):
    """A segment that k rows reach is a sum of k terms in the dtype (scatter-add, in any
    order): k eps times the sum of their magnitudes; max and min are exact."""
    if op.params["kind"] != "sum":
        return 0.0
    p = dict(op.params)
    a0 = np.nan_to_num(_abs(args[0]), nan=0.0, posinf=0.0)
    k = _segment_ref([np.ones(np.shape(args[0])), args[1]], p, _F64(op), ctx, None)
    mag = _segment_ref([a0, args[1]], p, _F64(op), ctx, None)
    dt = t.dtype
    return acc_overflow(np.fmax(k, 1) * EPS[dt] * mag, mag, dt, acc=dt)


class _F64:
    """`op` with a float64 result type, for the error model's auxiliary sums."""

    def __init__(self, op):
        self.types = (op.types[0].with_(dtype="float64"),)


register(OpDef("segment", _segment_gen, _segment_ref,
               lambda a, p, op, ind: (f"fg.ops.segment_{p['kind']}({a[0]}, {a[1]}, "
                                      f"num_segments={p['num_segments']})"),
               err_fn=_segment_err))


def _take_along_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank >= 1, lambda: b.long_type(lambda: b.any_type(min_rank=1)))
    t = b.types[x]
    axis = b.integers(-t.rank, t.rank - 1)
    b.require_nonempty([t.dims[axis]])
    if b.flag(0.4) and (is_float(t.dtype) or t.dtype == I32):
        idx = b.emit("argsort", (x,), {"axis": axis, "descending": b.flag(0.3)},
                     (Type(t.dims, default_int(b.x64)),))[0]
    else:
        d = b.new_dim()
        idims = tuple(d if i == axis % t.rank else dd for i, dd in enumerate(t.dims))
        idx = new_index(b, idims, t.dims[axis], "take_along_axis",
                        oob=not b.grad and b.flag(0.4))
    it = b.types[idx]
    b.emit(opname, (x, idx), {"axis": axis}, (t.with_(dims=it.dims),))


def _fill_value(dtype: str):
    """jnp.take_along_axis's default fill (mode "fill") for an out-of-bounds index: NaN,
    the smallest signed integer, True."""
    if is_float(dtype):
        return np.nan
    if dtype == BOOL:
        return True
    return int(np.iinfo(NP[dtype]).min)


def _take_along_ref(a, p, op, ctx, env):
    x, idx = np.asarray(a[0]), index_ints(a[1])
    n = x.shape[p["axis"]]
    idx = np.where(idx < 0, idx + n, idx)
    ok = (idx >= 0) & (idx < n)
    out = np.take_along_axis(x, np.where(ok, idx, 0), axis=p["axis"])
    if ok.all():
        return out
    return np.where(ok, out, _fill_value(op.types[0].dtype))


register(OpDef("take_along_axis", _take_along_gen, _take_along_ref,
               lambda a, p, op, ind: f"fnp.take_along_axis({a[0]}, {a[1]}, axis={p['axis']})",
               exact=True))


def _starts(b: Builder, t: Type, shape, static) -> tuple:
    """The start indices of lax.dynamic_slice / dynamic_update_slice: (Python ints drawn
    from `static`, ()), or (None, names) of one traced 0-d index input per axis, all of one
    integer dtype (JAX requires one type; funcgrad takes mixed ones), some of them extremes
    (uint64 2^63 + 5 read element 0 on C and OpenCL once)."""
    if not b.flag(0.35):
        return tuple(b.choice(static) for _ in shape), ()
    dt = b.index_dtype()
    info = np.iinfo(NP[dt])
    extremes = not b.grad and b.flag(0.5)
    names = []
    for d, n in zip(t.dims, shape):
        # JAX counts a negative start from the end adding the axis length converted to the
        # start's type (lax._dynamic_slice_indices): int8(-5) on an axis of 300 starts at 39
        # (300 as int8 is 44), int8(-128) at 0; funcgrad widens first. Not drawn: negative
        # starts of a signed type whose largest value is below the axis length. (JAX's eager
        # dynamic_update_slice also clamps a start in its own type, int8(126) on an axis of
        # 300 to 42 (298 as int8), where jit does not; the oracle follows jit.)
        span = (0, int(info.max)) if info.min < 0 and n > info.max else None
        names.append(b.new_input(Type((), dt), style="index", kind="index", bound=d,
                                 oob=True, span=span, extremes=extremes))
    return None, tuple(names)


def _start_values(a, p, first: int) -> list[int]:
    """The start of each axis: the static ones, or the traced ones from argument `first`."""
    if p["starts"] is not None:
        return list(p["starts"])
    return [int(index_ints(v)) for v in a[first:]]


def _starts_src(a, p, first: int) -> str:
    starts = [str(s) for s in p["starts"]] if p["starts"] is not None else list(a[first:])
    return "(" + ", ".join(starts) + ",)"


def _dyn_slice_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank >= 1, lambda: b.long_type(lambda: b.any_type(min_rank=1)))
    t = b.types[x]
    b.pin(*t.dims)
    shape = b.dims.shape(t.dims)
    sizes = tuple(b.integers(0, s) if s else 0 for s in shape)
    starts, names = _starts(b, t, shape, [0, 1, -1, 5, 100])
    dims = tuple(b.dims.new([s] * 3) for s in sizes)
    b.emit(opname, (x,) + names, {"starts": starts, "sizes": sizes}, (t.with_(dims=dims),))


def _dyn_slice_ref(a, p, op, ctx, env):
    x = np.asarray(a[0])
    # lax.dynamic_slice: a negative start counts from the end (JAX adds the dim once),
    # then each start is clamped into [0, dim - size].
    sl = []
    for st_, sz, n in zip(_start_values(a, p, 1), p["sizes"], x.shape):
        s = min(max(st_ + n if st_ < 0 else st_, 0), n - sz)
        sl.append(slice(s, s + sz))
    return x[tuple(sl)]


def _dyn_slice_src(a, p, op, ind):
    return f"lax.dynamic_slice({a[0]}, {_starts_src(a, p, 1)}, {py_literal(p['sizes'])})"


register(OpDef("dynamic_slice", _dyn_slice_gen, _dyn_slice_ref, _dyn_slice_src, exact=True))


def _dyn_update_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank >= 1, lambda: b.long_type(lambda: b.any_type(min_rank=1)))
    t = b.types[x]
    b.pin(*t.dims)
    shape = b.dims.shape(t.dims)
    sizes = tuple(b.integers(0, s) if s else 0 for s in shape)
    starts, names = _starts(b, t, shape, [0, 1, -1, 7])
    u = b.new_input(Type(tuple(b.dims.new([s] * 3) for s in sizes), t.dtype))
    b.emit(opname, (x, u) + names, {"starts": starts}, (t,))


def _dyn_update_ref(a, p, op, ctx, env):
    x = np.array(a[0], copy=True)
    u = np.asarray(a[1])
    sl = []
    for st_, sz, n in zip(_start_values(a, p, 2), u.shape, x.shape):
        s = min(max(st_ + n if st_ < 0 else st_, 0), n - sz)
        sl.append(slice(s, s + sz))
    x[tuple(sl)] = u
    return x


register(OpDef("dynamic_update_slice", _dyn_update_gen, _dyn_update_ref,
               lambda a, p, op, ind:
               f"lax.dynamic_update_slice({a[0]}, {a[1]}, {_starts_src(a, p, 2)})",
               exact=True))


# `where(arange(n) == i, v, x)` along one axis: one row of x replaced (funcgrad rewrites it
# as a scatter, lowering/mask_updates.py); no row where i is out of bounds.

def _where_row_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank >= 1 and (is_float(t.dtype) or not b.grad),
               lambda: b.long_type(lambda: b.any_type(min_rank=1)))
    t = b.types[x]
    axis = b.integers(0, t.rank - 1)
    idx = new_index(b, (), t.dims[axis], "scatter", oob=not b.grad and b.flag(0.5))
    if b.flag(0.3):
        val = Lit(b.choice([1.5, -2.0, 0.0]) if is_float(t.dtype) else
                  (True if t.dtype == BOOL else 3))
    else:
        val = b.new_input(Type(b.compat_dims(t.dims, grow=False), t.dtype))
    b.emit(opname, (x, val, idx), {"axis": axis, "rank": t.rank, "negated": b.flag(0.3),
                                   "typed": b.flag(0.5), "idx_dtype": b.types[idx].dtype},
           (t,))


def _where_row_src(a, p, op, ind):
    shape = ", ".join("-1" if d == p["axis"] else "1" for d in range(p["rank"]))
    typed = f", dtype={a[2]}.dtype" if p["typed"] else ""
    rows = f"fnp.arange({a[0]}.shape[{p['axis']}]{typed}).reshape(({shape},))"
    if p["negated"]:
        return f"fnp.where({rows} != {a[2]}, {a[0]}, {a[1]})"
    return f"fnp.where({rows} == {a[2]}, {a[1]}, {a[0]})"


def _where_row_ref(a, p, op, ctx, env):
    x = np.asarray(a[0])
    n = x.shape[p["axis"]]
    shape = [1] * x.ndim
    shape[p["axis"]] = n
    rows = np.arange(n)
    if p["typed"]:
        # arange(n, dtype=i.dtype) wraps past the dtype's range, as NumPy's cast does (an
        # int8 index of -64 matches row 192 of 300; seed 20262010). The index's declared
        # dtype, not its oracle value's: an int8 input reaches the oracle as int64 (seed
        # 20262034: an int8 -27 matched no row, where funcgrad rightly took row 229)
        dt = p.get("idx_dtype")
        rows = rows.astype(NP[dt] if dt is not None else np.asarray(a[2]).dtype)
    mask = (index_ints(rows) == index_ints(a[2])).reshape(shape)
    return np.where(mask, as_dtype(a[1], op.types[0].dtype), x).astype(x.dtype)


register(OpDef("where_row", _where_row_gen, _where_row_ref, _where_row_src, exact=True))


# ---------------------------------------------------------------------------------------
# concatenate / stack / pad / flip / roll / tile / repeat / tril

def _concat_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank >= 1 and (is_float(t.dtype) or not b.grad),
               lambda: b.any_type(min_rank=1))
    t = b.types[x]
    axis = b.integers(-t.rank, t.rank - 1)
    ax = axis % t.rank
    parts = [x]
    for _ in range(b.integers(1, 2)):
        ok = (lambda u: u.rank == t.rank and all(u.dims[i] == t.dims[i]
                                                 for i in range(t.rank) if i != ax)
              and (is_float(u.dtype) or not b.grad))
        parts.append(b.pick(ok, lambda: Type(tuple(b.new_dim() if i == ax else d
                                                    for i, d in enumerate(t.dims)),
                                              t.dtype if b.flag(0.8) else b.fdtype)))
    dt, weak = promote(types_of(b, parts), b.x64)
    d = b.dims.derive(tuple(b.types[p].dims[ax] for p in parts), lambda *s: sum(s))
    dims = tuple(d if i == ax else dd for i, dd in enumerate(t.dims))
    b.emit(opname, tuple(parts), {"axis": axis, "cdt": dt}, (Type(dims, dt, weak),))


register(OpDef("concatenate", _concat_gen,
               lambda a, p, op, ctx, env: np.concatenate([as_dtype(x, p["cdt"]) for x in a],
                                                         axis=p["axis"]),
               lambda a, p, op, ind: f"fnp.concatenate([{', '.join(a)}], axis={p['axis']})",
               exact=True))


def _stack_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank <= 3 and (is_float(t.dtype) or not b.grad),
               lambda: b.any_type(max_rank=3))
    t = b.types[x]
    parts = [x]
    for _ in range(b.integers(0, 2)):
        parts.append(b.pick(lambda u: u.dims == t.dims and (is_float(u.dtype) or not b.grad),
                            lambda: Type(t.dims, t.dtype)))
    axis = b.integers(-(t.rank + 1), t.rank)
    dt, weak = promote(types_of(b, parts), b.x64)
    d = b.dims.new([len(parts)] * 3)
    dims = list(t.dims)
    dims.insert(axis % (t.rank + 1), d)
    b.emit(opname, tuple(parts), {"axis": axis, "cdt": dt}, (Type(tuple(dims), dt, weak),))


register(OpDef("stack", _stack_gen,
               lambda a, p, op, ctx, env: np.stack([as_dtype(x, p["cdt"]) for x in a],
                                                   axis=p["axis"]),
               lambda a, p, op, ind: f"fnp.stack([{', '.join(a)}], axis={p['axis']})",
               exact=True))


def _pad_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank >= 1, lambda: b.any_type(min_rank=1))
    t = b.types[x]
    mode = b.choice(["constant", "constant", "edge", "reflect", "symmetric", "wrap", "lax"])
    widths = []
    dims = []
    for d in t.dims:
        if mode == "lax":
            lo, hi, inter = b.choice([0, 1, 2, -1]), b.choice([0, 1, -1, 3]), b.choice([0, 0, 1])
            if min(n + max(n - 1, 0) * inter + lo + hi for n in b.dims.all_sizes(d)) < 0:
                lo, hi = max(lo, 0), max(hi, 0)
            widths.append((lo, hi, inter))
            f = (lambda n, lo=lo, hi=hi, inter=inter: n + max(n - 1, 0) * inter + lo + hi)
        else:
            lo, hi = b.choice([0, 1, 2, 3]), b.choice([0, 1, 2])
            if mode != "constant":
                b.require_nonempty([d])
                b.pin(d)
                n = b.dims.size(d)
                cap = n - 1 if mode == "reflect" else n
                lo, hi = min(lo, cap), min(hi, cap)
            widths.append((lo, hi))
            f = (lambda n, lo=lo, hi=hi: n + lo + hi)
        unchanged = all(f(n) == n for n in range(70))
        dims.append(d if unchanged else b.dims.derive((d,), f))
    params = {"mode": mode, "widths": tuple(widths)}
    if mode in ("constant", "lax"):
        params["value"] = (b.choice([0.0, 1.5, -2.0]) if is_float(t.dtype) else
                           (False if t.dtype == BOOL else b.choice([0, 7])))
    b.emit(opname, (x,), params, (t.with_(dims=tuple(dims)),))


def _lax_pad_np(x, value, cfg):
    for ax, (lo, hi, inter) in enumerate(cfg):
        n = x.shape[ax]
        if inter and n > 1:
            m = n + (n - 1) * inter
            shape = list(x.shape)
            shape[ax] = m
            y = np.full(shape, value, dtype=x.dtype)
            sl = [slice(None)] * x.ndim
            sl[ax] = slice(None, None, inter + 1)
            y[tuple(sl)] = x
            x = y
        n = x.shape[ax]
        widths = [(0, 0)] * x.ndim
        widths[ax] = (max(lo, 0), max(hi, 0))
        x = np.pad(x, widths, constant_values=value)
        sl = [slice(None)] * x.ndim
        start = -lo if lo < 0 else 0
        stop = x.shape[ax] + hi if hi < 0 else x.shape[ax]
        sl[ax] = slice(start, stop)
        x = x[tuple(sl)]
    return x


def _pad_ref(a, p, op, ctx, env):
    x = np.asarray(a[0])
    if p["mode"] == "lax":
        return _lax_pad_np(x, p["value"], p["widths"])
    if p["mode"] == "constant":
        return np.pad(x, p["widths"], mode="constant", constant_values=p["value"])
    return np.pad(x, p["widths"], mode=p["mode"])


def _pad_src(a, p, op, ind):
    if p["mode"] == "lax":
        v = p["value"]
        return f"lax.pad({a[0]}, {py_literal(v)}, {py_literal(p['widths'])})"
    w = py_literal(p["widths"])
    if p["mode"] == "constant":
        return f"fnp.pad({a[0]}, {w}, constant_values={py_literal(p['value'])})"
    return f"fnp.pad({a[0]}, {w}, mode={p['mode']!r})"


register(OpDef("pad", _pad_gen, _pad_ref, _pad_src, exact=True))


def _flip_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank >= 1, lambda: b.any_type(min_rank=1))
    t = b.types[x]
    kind = b.choice(["flip", "roll", "rot90"] if t.rank >= 2 else ["flip", "roll"])
    if kind == "flip":
        axis = b.choice([None, b.axis(t.rank)])
        b.emit(opname, (x,), {"kind": kind, "axis": axis}, (t,))
    elif kind == "roll":
        axis = b.choice([None, b.axis(t.rank)])
        b.emit(opname, (x,), {"kind": kind, "axis": axis, "shift": b.choice([1, -2, 3, 0, 7])},
               (t,))
    else:
        k = b.choice([1, 2, 3, -1])
        dims = t.dims if k % 2 == 0 else (t.dims[1], t.dims[0]) + t.dims[2:]
        b.emit(opname, (x,), {"kind": kind, "k": k}, (t.with_(dims=dims),))


def _flip_ref(a, p, op, ctx, env):
    x = np.asarray(a[0])
    if p["kind"] == "flip":
        return np.flip(x, p["axis"])
    if p["kind"] == "roll":
        return np.roll(x, p["shift"], p["axis"])
    return np.rot90(x, p["k"])


def _flip_src(a, p, op, ind):
    if p["kind"] == "flip":
        return f"fnp.flip({a[0]}, {p['axis']!r})"
    if p["kind"] == "roll":
        return f"fnp.roll({a[0]}, {p['shift']}, {p['axis']!r})"
    return f"fnp.rot90({a[0]}, {p['k']})"


register(OpDef("flip", _flip_gen, _flip_ref, _flip_src, exact=True))


def _tile_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank >= 1, lambda: b.any_type(min_rank=1, max_rank=3))
    t = b.types[x]
    if b.flag(0.5):
        reps = tuple(b.choice([1, 2, 3]) for _ in range(t.rank))
        dims = tuple(d if r == 1 else b.dims.derive((d,), lambda n, r=r: n * r)
                     for d, r in zip(t.dims, reps))
        b.emit(opname, (x,), {"kind": "tile", "reps": reps}, (t.with_(dims=dims),))
    else:
        ax = b.axis(t.rank)
        r = b.choice([2, 3, 1])
        d = t.dims[ax]
        nd = d if r == 1 else b.dims.derive((d,), lambda n, r=r: n * r)
        dims = tuple(nd if i == ax % t.rank else dd for i, dd in enumerate(t.dims))
        b.emit(opname, (x,), {"kind": "repeat", "r": r, "axis": ax}, (t.with_(dims=dims),))


register(OpDef("tile", _tile_gen,
               lambda a, p, op, ctx, env: (np.tile(a[0], p["reps"]) if p["kind"] == "tile"
                                           else np.repeat(a[0], p["r"], axis=p["axis"])),
               lambda a, p, op, ind: (f"fnp.tile({a[0]}, {py_literal(p['reps'])})"
                                      if p["kind"] == "tile" else
                                      f"fnp.repeat({a[0]}, {p['r']}, axis={p['axis']})"),
               exact=True))


def _tri_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank >= 2, lambda: b.any_type(min_rank=2))
    t = b.types[x]
    b.emit(opname, (x,), {"fn": b.choice(["tril", "triu"]), "k": b.choice([0, 1, -1])}, (t,))


register(OpDef("tril", _tri_gen,
               lambda a, p, op, ctx, env: getattr(np, p["fn"])(a[0], p["k"]),
               lambda a, p, op, ind: f"fnp.{p['fn']}({a[0]}, {p['k']})", exact=True))


def _diff_gen(b: Builder, opname):
    x = b.pick(lambda t: t.rank >= 1 and t.dtype != BOOL,
               lambda: Type(b.rand_dims(min_rank=1), b.fdtype))
    t = b.types[x]
    ax = b.axis(t.rank)
    d = t.dims[ax]
    nd = _derived(b, d, lambda n: max(n - 1, 0))
    dims = tuple(nd if i == ax % t.rank else dd for i, dd in enumerate(t.dims))
    b.emit(opname, (x,), {"axis": ax}, (t.with_(dims=dims),))


register(OpDef("diff", _diff_gen,
               lambda a, p, op, ctx, env: np.diff(a[0], axis=p["axis"]),
               lambda a, p, op, ind: f"fnp.diff({a[0]}, axis={p['axis']})",
               err_fn=lambda a, out, op, t, ctx: 2 * EPS[t.dtype] * (
                   np.abs(np.asarray(a[0], np.float64)).take(range(1, a[0].shape[op.params[
                       "axis"]]), axis=op.params["axis"]) + np.abs(np.asarray(
                           a[0], np.float64)).take(range(a[0].shape[op.params["axis"]] - 1),
                                                   axis=op.params["axis"]))))


# ---------------------------------------------------------------------------------------
# Linear algebra

def _int_matmul(a, c):
    return wrap32(np.matmul(a.astype(object), c.astype(object)).astype(np.float64)
                  if False else _obj_matmul(a, c))


def _obj_matmul(a, c):
    out = np.matmul(np.asarray(a, object), np.asarray(c, object))
    return np.vectorize(lambda v: ((int(v) + 2**31) % 2**32) - 2**31, otypes=[np.int64])(out) \
        if np.size(out) else np.zeros(np.shape(out), np.int64)


def _matmul_gen(b: Builder, opname):
    kinds = [b.fdtype] if b.grad else [b.fdtype, b.fdtype, b.fdtype, I32]
    x = b.pick(lambda t: t.rank >= 1 and t.dtype in kinds,
               lambda: Type(b.rand_dims(min_rank=1), b.choice(kinds)))
    t = b.types[x]
    k = t.dims[-1]
    batch = t.dims[:-2] if t.rank >= 2 else ()
    form = b.integers(0, 3)
    if form == 0:
        ydims = (k,)
    else:
        n = b.choice([d for d in b.known_dims()] + [b.new_dim()]) if b.flag(0.5) else \
            b.new_dim()
        ybatch = b.compat_dims(batch) if form == 2 and batch else ()
        if form == 3 and t.rank == 1:
            ybatch = (b.new_dim(),)
        ydims = ybatch + (k, n)
    y = b.pick(lambda u: u.dims == ydims and u.dtype in kinds,
               lambda: Type(ydims, t.dtype if b.flag(0.8) else b.choice(kinds)))
    yd = b.types[y].dims
    xb = t.dims[:-2] if t.rank >= 2 else ()
    ybb = yd[:-2] if len(yd) >= 2 else ()
    bb = bcast(b, xb, ybb)
    if bb is None:
        b.reject()
    out = bb + (t.dims[-2:-1] if t.rank >= 2 else ()) + (yd[-1:] if len(yd) >= 2 else ())
    dt, weak = promote(types_of(b, (x, y)), b.x64)
    if dt == BOOL:
        b.reject()
    spells = ["{0} @ {1}", "fnp.matmul({0}, {1})"]
    if t.rank <= 2 and len(yd) <= 2:
        spells.append("fnp.dot({0}, {1})")
    b.emit(opname, (x, y), {"spell": b.choice(spells), "cdt": dt}, (Type(out, dt, weak),))


def _matmul_ref(a, p, op, ctx, env):
    x, y = as_dtype(a[0], p["cdt"]), as_dtype(a[1], p["cdt"])
    if is_int(p["cdt"]):
        return _obj_matmul(x, y)
    return np.matmul(x, y)


def _dot_err(k, m, out, t, count=None):
    """The error bound of a sum of `k` products whose magnitudes sum to `m` (matmul, einsum,
    tensordot, conv), accumulated in `acc_eps`'s type and rounded to `t`'s. `count`: the same
    sum over the operands' nonzero indicators (how many products of nonzero operands each
    output has), where `m` may have underflowed: float64 operands of 1e-308 have products
    below float64's range, so `m` was 0 and the bound exact, but the backends' fused
    multiply-adds round such a sum to -0.0 where NumPy's products give +0.0 (a reciprocal
    then -inf against +inf: a float64 NWC convolution, seed 20261958, long run). Such an
    output gets the subnormal spacings of `acc_subnormal`, so either sign of zero."""
    if count is not None:
        m = np.where((np.asarray(m) == 0) & (np.asarray(count) > 0),
                     float(SUBNORMAL["float64"]), m)
    return acc_overflow(growth(k) * acc_eps(t.dtype) * m + 2 * EPS[t.dtype] * np.abs(out) +
                        acc_subnormal(k, m, t.dtype), m, t.dtype)


def _nonzero(x):
    """1.0 where `x` is nonzero (NaN and infinities included), else 0.0."""
    return (np.asarray(x) != 0).astype(np.float64)


def _matmul_err(a, out, op, t, ctx):
    x, y = _abs(a[0]), _abs(a[1])
    k = x.shape[-1]
    with np.errstate(all="ignore"):
        m = np.matmul(np.nan_to_num(x, posinf=0), np.nan_to_num(y, posinf=0))
    return _dot_err(k, m, out, t, np.matmul(_nonzero(a[0]), _nonzero(a[1])))


register(OpDef("matmul", _matmul_gen, _matmul_ref,
               lambda a, p, op, ind: p["spell"].format(*a), err_fn=_matmul_err, weight=3))


_EINSUMS = ["ij,jk->ik", "i,i->", "ij->j", "ij->ji", "bij,bjk->bik", "bhqd,bhkd->bhqk",
            "ij,ij->ij", "i,j->ij", "ii->i", "ij,kj->ik", "...ij,...jk->...ik", "ijk->",
            "ij,j->i", "bi,bi->b", "ii->"]


def _einsum_gen(b: Builder, opname):
    spec = b.choice(_EINSUMS)
    ins, out = spec.split("->")
    terms = ins.split(",")
    letters = {}
    first = terms[0].replace("...", "")
    ell = "..." in terms[0]
    x = b.pick(lambda t: t.rank == len(first) + (1 if ell else 0) and is_float(t.dtype) and
               (spec not in ("ii->i", "ii->") or (t.rank == 2 and t.dims[0] == t.dims[1])),
               lambda: None if spec in ("ii->i", "ii->") else
               Type(tuple(b.new_dim() for _ in range(len(first) + (1 if ell else 0))),
                    b.fdtype)) if spec not in ("ii->i", "ii->") else None
    if spec in ("ii->i", "ii->"):
        d = b.new_dim()
        x = b.new_input(Type((d, d), b.fdtype))
    t = b.types[x]
    ldims = t.dims[1:] if ell else t.dims
    for ch, d in zip(first, ldims):
        if ch in letters and letters[ch] != d:
            b.reject()
        letters[ch] = d
    args = [x]
    ell_dims = t.dims[:1] if ell else ()
    for term in terms[1:]:
        tl = term.replace("...", "")
        dims = []
        for ch in tl:
            if ch not in letters:
                # sometimes one of the first operand's sizes: then that operand itself may
                # be picked again (`einsum('i,j->ij', v, v)`, `x @ x.T`): a one-term dot of
                # one variable with itself was wrong under jit, and no program had one
                letters[ch] = b.choice(ldims) if ldims and b.flag(0.3) else b.new_dim()
            dims.append(letters[ch])
        dims = tuple(ell_dims) + tuple(dims) if "..." in term else tuple(dims)
        args.append(b.pick(lambda u, dims=dims: u.dims == dims and is_float(u.dtype),
                           lambda dims=dims: Type(dims, b.fdtype)))
    out_dims = tuple(ell_dims if "..." in out else ()) + tuple(letters[c] for c in
                                                               out.replace("...", ""))
    dt, weak = promote(types_of(b, args), b.x64)
    b.emit(opname, tuple(args), {"spec": spec, "cdt": dt}, (Type(out_dims, dt, weak),))


def _einsum_ref(a, p, op, ctx, env):
    xs = [as_dtype(x, p["cdt"]) for x in a]
    return np.einsum(p["spec"], *xs)


def _einsum_err(a, out, op, t, ctx):
    xs = [np.nan_to_num(_abs(x), posinf=0) for x in a]
    m = np.einsum(op.params["spec"], *xs)
    ins = op.params["spec"].split("->")[0].replace("...", "")
    k = max([x.size for x in a] + [1])
    del ins
    return _dot_err(k, m, out, t, np.einsum(op.params["spec"], *[_nonzero(x) for x in a]))


register(OpDef("einsum", _einsum_gen, _einsum_ref,
               lambda a, p, op, ind: f"fnp.einsum({p['spec']!r}, {', '.join(a)})",
               err_fn=_einsum_err, weight=2))


def _tensordot_gen(b: Builder, opname):
    kind = b.choice(["outer", "inner", "tensordot1", "tensordot2", "vdot"])
    x = b.pick(lambda t: is_float(t.dtype) and t.rank >= (1 if kind != "tensordot2" else 2)
               and t.rank <= 2, lambda: Type(b.rand_dims(min_rank=1, max_rank=2), b.fdtype))
    t = b.types[x]
    if kind == "outer":
        y = b.pick(lambda u: is_float(u.dtype) and u.rank <= 2,
                   lambda: Type(b.rand_dims(min_rank=1, max_rank=2), b.fdtype))
        out = (_prod_dim(b, t.dims), _prod_dim(b, b.types[y].dims))
    elif kind == "inner":
        yd = (b.new_dim(),) * 0 + (t.dims[-1],) if b.flag(0.5) else (b.new_dim(), t.dims[-1])
        y = b.pick(lambda u: is_float(u.dtype) and u.dims == yd, lambda: Type(yd, b.fdtype))
        out = t.dims[:-1] + yd[:-1]
    elif kind == "vdot":
        y = b.pick(lambda u: is_float(u.dtype) and u.dims == t.dims,
                   lambda: Type(t.dims, b.fdtype))
        out = ()
    elif kind == "tensordot1":
        yd = (t.dims[-1], b.new_dim())
        y = b.pick(lambda u: is_float(u.dtype) and u.dims == yd, lambda: Type(yd, b.fdtype))
        out = t.dims[:-1] + yd[1:]
    else:
        yd = t.dims[-2:] + (b.new_dim(),)
        y = b.pick(lambda u: is_float(u.dtype) and u.dims == yd, lambda: Type(yd, b.fdtype))
        out = t.dims[:-2] + yd[2:]
    dt, weak = promote(types_of(b, (x, y)), b.x64)
    b.emit(opname, (x, y), {"kind": kind, "cdt": dt}, (Type(out, dt, weak),))


def _tensordot_ref(a, p, op, ctx, env):
    """The products summed in IEEE arithmetic (`np.einsum`'s own loops): NumPy's
    `tensordot` goes through BLAS, which gives 0 for 0 * NaN and 0 * inf where the
    contraction has one term (`tensordot([0.], [[nan, 1.]], axes=1)` is [0., 0.]), and
    funcgrad, JAX and `np.matmul` give NaN (fuzz run 115, seed 20262015)."""
    x, y = as_dtype(a[0], p["cdt"]), as_dtype(a[1], p["cdt"])
    k = p["kind"]
    if k == "outer":
        return np.outer(x, y)
    if k == "vdot":
        return np.einsum("i,i->", np.conj(x).ravel(), y.ravel())
    xs = "abcd"[:x.ndim]
    if k == "inner":
        ys = "efgh"[:y.ndim - 1] + xs[-1]
        return np.einsum(f"{xs},{ys}->{xs[:-1]}{ys[:-1]}", x, y)
    n = 1 if k == "tensordot1" else 2
    ys = xs[-n:] + "efgh"[:y.ndim - n]
    return np.einsum(f"{xs},{ys}->{xs[:-n]}{ys[n:]}", x, y)


def _tensordot_err(a, out, op, t, ctx):
    x = np.nan_to_num(_abs(a[0]), posinf=0)
    y = np.nan_to_num(_abs(a[1]), posinf=0)
    m = np.abs(_tensordot_ref([x, y], dict(op.params, cdt="float64"), op, ctx, None))
    count = _tensordot_ref([_nonzero(a[0]), _nonzero(a[1])], dict(op.params, cdt="float64"),
                           op, ctx, None)
    return _dot_err(max(x.size, 1), m, out, t, count)


def _tensordot_src(a, p, op, ind):
    k = p["kind"]
    if k in ("outer", "inner", "vdot"):
        return f"fnp.{k}({a[0]}, {a[1]})"
    return f"fnp.tensordot({a[0]}, {a[1]}, axes={1 if k == 'tensordot1' else 2})"


register(OpDef("tensordot", _tensordot_gen, _tensordot_ref, _tensordot_src,
               err_fn=_tensordot_err))


# ---------------------------------------------------------------------------------------
# Convolution and pooling

_CONV_DNS = {1: [("NCH", "OIH", "NCH"), ("NWC", "WIO", "NWC")],
             2: [("NCHW", "OIHW", "NCHW"), ("NHWC", "HWIO", "NHWC")]}


def _same_pads(in_sizes, eff, strides):
    pads = []
    for n, k, s in zip(in_sizes, eff, strides):
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def _conv_gen(b: Builder, opname):
    nsp = b.choice([2, 1])
    lhs_spec, rhs_spec, out_spec = b.choice(_CONV_DNS[nsp])
    groups = b.choice([1, 1, 2])
    c_in = b.choice([1, 2, 3]) * groups
    c_out = b.choice([1, 2]) * groups
    ksz = [b.choice([1, 2, 3]) for _ in range(nsp)]
    strides = tuple(b.choice([1, 1, 2]) for _ in range(nsp))
    rhs_dil = tuple(b.choice([1, 1, 2]) for _ in range(nsp))
    lhs_dil = tuple(b.choice([1, 1, 1, 2]) for _ in range(nsp))
    pad_kind = b.choice(["VALID", "SAME", "explicit"])
    if pad_kind == "SAME" and any(d > 1 for d in lhs_dil):
        pad_kind = "explicit"
    n_dim = b.new_dim(allow_zero=False)
    sp_dims = [b.new_dim(pinned=True, allow_zero=False) for _ in range(nsp)]
    cdim = b.dims.new([c_in] * 3)
    letters = {"N": n_dim, "C": cdim}
    sp_letters = [c for c in lhs_spec if c not in "NC"]
    for ch, d in zip(sp_letters, sp_dims):
        letters[ch] = d
    lhs_dims = tuple(letters[c] for c in lhs_spec)
    lhs = b.pick(lambda t: t.dims == lhs_dims and is_float(t.dtype),
                 lambda: Type(lhs_dims, b.fdtype))
    rl = {"O": b.dims.new([c_out] * 3), "I": b.dims.new([c_in // groups] * 3)}
    for ch, k in zip(sp_letters, ksz):
        rl[ch] = b.dims.new([k] * 3)
    rhs = b.new_input(Type(tuple(rl[c] for c in rhs_spec), b.fdtype))
    in_sizes = [b.dims.size(d) for d in sp_dims]
    dil_in = [(n - 1) * d + 1 if n else 0 for n, d in zip(in_sizes, lhs_dil)]
    eff = [(k - 1) * d + 1 for k, d in zip(ksz, rhs_dil)]
    if pad_kind == "VALID":
        pads = [(0, 0)] * nsp
    elif pad_kind == "SAME":
        pads = _same_pads(in_sizes, eff, strides)
    else:
        pads = [(b.choice([0, 1, 2]), b.choice([0, 1])) for _ in range(nsp)]
    out_sp = []
    for n, (lo, hi), e, s in zip(dil_in, pads, eff, strides):
        m = n + lo + hi
        out_sp.append((m - e) // s + 1 if m >= e else 0)
    if min(out_sp) <= 0:
        b.reject("empty conv output")
    ol = {"N": n_dim, "C": rl["O"]}
    for ch, o in zip(sp_letters, out_sp):
        ol[ch] = b.dims.new([o] * 3)
    out_dims = tuple(ol[c] for c in out_spec)
    params = {"strides": strides, "padding": pad_kind if pad_kind != "explicit" else
              tuple(pads), "pads": tuple(pads), "lhs_dil": lhs_dil, "rhs_dil": rhs_dil,
              "dn": (lhs_spec, rhs_spec, out_spec), "groups": groups}
    b.emit(opname, (lhs, rhs), params, (Type(out_dims, b.fdtype),))


def _to_nc(x, spec):
    sp = [i for i, c in enumerate(spec) if c not in "NCOI"]
    first = [spec.index("N") if "N" in spec else spec.index("O"),
             spec.index("C") if "C" in spec else spec.index("I")]
    return np.transpose(x, first + sp)


def _from_nc(x, spec):
    sp = [c for c in spec if c not in "NC"]
    order = ["N", "C"] + sp
    return np.transpose(x, [order.index(c) for c in spec])


def conv_np(lhs, rhs, strides, pads, lhs_dil, rhs_dil, groups):
    """N-d convolution in NC.../OI... layout (lax.conv_general_dilated's definition)."""
    nsp = lhs.ndim - 2
    if any(d > 1 for d in lhs_dil):
        shape = list(lhs.shape[:2]) + [(s - 1) * d + 1 if s else 0
                                       for s, d in zip(lhs.shape[2:], lhs_dil)]
        z = np.zeros(shape, lhs.dtype)
        z[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in lhs_dil)] = lhs
        lhs = z
    lhs = np.pad(lhs, [(0, 0), (0, 0)] + [tuple(p) for p in pads])
    ks = rhs.shape[2:]
    eff = [(k - 1) * d + 1 for k, d in zip(ks, rhs_dil)]
    out_sp = [(s - e) // st + 1 if s >= e else 0 for s, e, st in zip(lhs.shape[2:], eff,
                                                                     strides)]
    n, c = lhs.shape[:2]
    o = rhs.shape[0]
    cg, og = c // groups, o // groups
    out = np.zeros((n, o) + tuple(out_sp), np.float64)
    for kidx in np.ndindex(*ks):
        sl = tuple(slice(k * d, k * d + (m - 1) * st + 1, st)
                   for k, d, m, st in zip(kidx, rhs_dil, out_sp, strides))
        patch = lhs[(slice(None), slice(None)) + sl]
        w = rhs[(slice(None), slice(None)) + kidx]
        for g in range(groups):
            out[:, g * og:(g + 1) * og] += np.einsum(
                "nc...,oc->no...", patch[:, g * cg:(g + 1) * cg], w[g * og:(g + 1) * og])
    del nsp
    return out


def _conv_ref(a, p, op, ctx, env, absval=False):
    lhs_spec, rhs_spec, out_spec = p["dn"]
    x = np.asarray(a[0], np.float64)
    w = np.asarray(a[1], np.float64)
    if absval:
        x, w = np.nan_to_num(np.abs(x), posinf=0), np.nan_to_num(np.abs(w), posinf=0)
    x = _to_nc(x, lhs_spec)
    w = _to_nc(w, rhs_spec)
    out = conv_np(x, w, p["strides"], p["pads"], p["lhs_dil"], p["rhs_dil"], p["groups"])
    return _from_nc(out, out_spec)


def _conv_err(a, out, op, t, ctx):
    m = _conv_ref(a, op.params, op, ctx, None, absval=True)
    count = _conv_ref([_nonzero(a[0]), _nonzero(a[1])], op.params, op, ctx, None)
    return _dot_err(np.asarray(a[1]).size, m, out, t, count)


def _conv_src(a, p, op, ind):
    pad = p["padding"]
    pad_s = repr(pad) if isinstance(pad, str) else py_literal(tuple(tuple(x) for x in pad))
    return (f"lax.conv_general_dilated({a[0]}, {a[1]}, {py_literal(p['strides'])}, {pad_s}, "
            f"lhs_dilation={py_literal(p['lhs_dil'])}, rhs_dilation={py_literal(p['rhs_dil'])}"
            f", dimension_numbers={py_literal(p['dn'])}, feature_group_count={p['groups']})")


register(OpDef("conv", _conv_gen, _conv_ref, _conv_src, err_fn=_conv_err))


def _pool_gen(b: Builder, opname):
    # (a rank-0 operand too: a window of no axes is the identity; two of them in one C
    # program once declared the same accumulator twice)
    scalar_ok = b.flag(0.1)
    x = b.pick(lambda t: is_float(t.dtype) and (t.rank >= 1 or scalar_ok),
               lambda: Type(b.rand_dims(min_rank=0 if scalar_ok else 1), b.fdtype))
    t = b.types[x]
    kind = b.choice(["max", "sum", "avg", "min"])
    win, strides, pads = [], [], []
    pad_kind = b.choice(["VALID", "SAME", "explicit"])
    for d in t.dims:
        if b.flag(0.6):
            b.pin(d)
            n = b.dims.size(d)
            w = b.choice([2, 1, 3])
            s = b.choice([1, 2, w])
        else:
            w, s = 1, 1
            n = b.dims.size(d)
        win.append(w)
        strides.append(s)
    sizes0 = b.dims.shape(t.dims)
    if pad_kind == "SAME":
        pads = _same_pads(sizes0, win, strides)
    elif pad_kind == "explicit":
        # (a negative amount cuts cells off the edge, as in XLA)
        pads = [(b.choice([0, 1, -1]), b.choice([0, 1, -1])) if w > 1 else (0, 0)
                for w in win]
        pads = [(lo, hi) if n + lo + hi >= 0 else (0, 0) for n, (lo, hi) in zip(sizes0, pads)]
    else:
        pads = [(0, 0)] * t.rank
    dims = []
    for d, w, s, (lo, hi) in zip(t.dims, win, strides, pads):
        if w == 1 and s == 1 and lo == hi == 0:
            dims.append(d)
            continue
        b.pin(d)
        n = b.dims.size(d) + lo + hi
        o = (n - w) // s + 1 if n >= w else 0
        dims.append(b.dims.new([o] * 3))
    if kind in ("max", "min"):
        b.require_nonempty(list(dims))
    params = {"kind": kind, "win": tuple(win), "strides": tuple(strides),
              "padding": pad_kind if pad_kind != "explicit" else tuple(pads),
              "pads": tuple(pads)}
    b.emit(opname, (x,), params, (t.with_(dims=tuple(dims)),))


def window_np(x, kind, win, strides, pads):
    init = {"max": -np.inf, "min": np.inf, "sum": 0.0, "avg": 0.0}[kind]
    if x.ndim == 0:
        return np.asarray(x, np.float64)
    xp = np.pad(x, [(max(lo, 0), max(hi, 0)) for lo, hi in pads], constant_values=init)
    xp = xp[tuple(slice(max(-lo, 0), n - max(-hi, 0)) for (lo, hi), n in zip(pads, xp.shape))]
    out_shape = tuple((n - w) // s + 1 if n >= w else 0 for n, w, s in zip(xp.shape, win,
                                                                           strides))
    out = np.full(out_shape, init, np.float64)
    for widx in np.ndindex(*win):
        sl = tuple(slice(i, i + (o - 1) * s + 1, s) if o else slice(0, 0)
                   for i, o, s in zip(widx, out_shape, strides))
        v = xp[sl]
        if kind == "max":
            out = ieee_maximum(out, v)
        elif kind == "min":
            out = ieee_minimum(out, v)
        else:
            out = out + v
    if kind == "avg":
        out = out / float(np.prod(win))
    return out


def _pool_ref(a, p, op, ctx, env):
    return window_np(np.asarray(a[0], np.float64), p["kind"], p["win"], p["strides"],
                     p["pads"])


def _pool_err(a, out, op, t, ctx):
    if op.params["kind"] in ("max", "min"):
        return 0.0
    m = window_np(np.nan_to_num(_abs(a[0]), posinf=0), "sum", op.params["win"],
                  op.params["strides"], op.params["pads"])
    # lax.reduce_window adds in the dtype (no float32 accumulator for float16).
    k = int(np.prod(op.params["win"]))
    return acc_overflow(growth(k) * EPS[t.dtype] * m + 2 * EPS[t.dtype] * np.abs(out) +
                        acc_subnormal(k, m, t.dtype, t.dtype), m, t.dtype, acc=t.dtype)


def _pool_src(a, p, op, ind):
    k = p["kind"]
    init, fn = {"max": ("-float('inf')", "lax.max"), "min": ("float('inf')", "lax.min"),
                "sum": ("0.0", "lax.add"), "avg": ("0.0", "lax.add")}[k]
    pad = p["padding"]
    pad_s = repr(pad) if isinstance(pad, str) else py_literal(tuple(tuple(x) for x in pad))
    expr = (f"lax.reduce_window({a[0]}, {init}, {fn}, {py_literal(p['win'])}, "
            f"{py_literal(p['strides'])}, {pad_s})")
    if k == "avg":
        expr += f" / {float(np.prod(p['win']))!r}"
    return expr


register(OpDef("pool", _pool_gen, _pool_ref, _pool_src, err_fn=_pool_err))


# ---------------------------------------------------------------------------------------
# Sorting and cumulative ops

def _jax_argsort(x, axis, descending):
    x = np.asarray(x)
    if x.ndim == 0:
        return np.zeros((), np.int64)
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    # jnp.argsort(descending=True, stable=True): reverse, stable sort, reverse.
    n = x.shape[axis]
    xr = np.flip(x, axis)
    idx = np.argsort(xr, axis=axis, kind="stable")
    return np.flip(n - 1 - idx, axis)


def _sort_gen(b: Builder, opname):
    x = b.pick(lambda t: t.dtype != BOOL or opname == "sort",
               lambda: Type(b.rand_dims(min_rank=1), b.fdtype))
    t = b.types[x]
    if t.rank == 0:
        b.reject()
    axis = b.choice([b.axis(t.rank), -1, None] if opname == "sort" else [b.axis(t.rank), -1])
    desc = b.flag(0.3)
    if axis is None:
        dims = (_prod_dim(b, t.dims),)
    else:
        dims = t.dims
    out_t = t.with_(dims=dims) if opname == "sort" else Type(dims, default_int(b.x64))
    b.emit(opname, (x,), {"axis": axis, "descending": desc}, (out_t,))


def _lanes_lost(out, x, op, ctx, axis: int, flat: bool = False):
    """`out` (a sort of `x` along `axis`), NaN over every lane in which a perturbed run's
    `x` has a NaN that the base run's has not: such a NaN marks a value that lost all its
    accuracy (program.Perturb.drift), and sorting moves it to the lane's end, away from the
    positions it makes arbitrary (relu(sinc(exp2(x))) sorted, seed 23)."""
    pert = ctx.perturb
    if pert is None or x.dtype.kind != "f" or not isinstance(op.args[0], str):
        return out
    base = pert.base.get(op.args[0])
    if base is None:
        return out
    base = np.asarray(base).reshape(-1) if flat else np.asarray(base)
    if base.shape != x.shape:
        return out
    lost = np.any(np.isnan(x) & ~np.isnan(base), axis=axis, keepdims=True)
    if not lost.any():
        return out
    return np.where(lost, np.copysign(np.nan, pert.nan_sign), out)


def _lanes_anything(r, x, op, ctx, axis: int | None, out: str):
    """Bool or integer result `r` (output `out`) of a sort of this perturbed run's `x` along
    `axis` (None: flattened; top_k: the last), "anything" (Perturb.lose: one step from the
    base run's, and marked, so that a float computed from it is NaN) over every lane of `x`
    that holds a lost element (Perturb.lost_elements): such an element may take any
    position of its lane and move the others (funcgrad and JAX sort a NaN last, first for
    descending, and lax.top_k by its sign, where the float64 oracle may have a number).
    The other lanes keep their order and stay checked; `lost_in`'s whole-output step, which
    these ops took before (own_lost), unsettled them too, and a float computed from a
    stepped index kept its class: fuzz run 47, seed 20261947, finding 2 (Perturb.lose)."""
    pert = ctx.perturb if ctx is not None else None
    if pert is None or not np.size(r) or not isinstance(op.args[0], str):
        return r
    lost = pert.lost_elements(op.args[0], x)
    if lost is None:
        return r
    if axis is None:
        lost, axis = lost.reshape(-1), 0
    lanes = np.any(lost, axis=axis, keepdims=True)
    return pert.lose(r, np.broadcast_to(lanes, np.shape(r)), out)


def _ties_undefined(s, ctx, axis: int):
    """Sorted values `s` of a finite-difference run (`ctx.exact`), NaN at the positions
    holding an exact tie of distinct elements: which element's tangent such a position
    carries is the tie rule's choice (JAX's descending sort reverses ties), and a third
    value crossing the tie within the smallest step can make the position's central
    difference look smooth with the other element's slope (seed 20261908:
    sort(tanh(sqrt(x * x + 0.25)), descending=True) of x and -x, where funcgrad and JAX
    agree). The NaN leaves the position, and what is computed from it, unchecked."""
    if ctx is None or not ctx.exact or s.dtype.kind != "f" or s.shape[axis] < 2:
        return s
    with np.errstate(invalid="ignore"):
        eq = np.diff(s, axis=axis) == 0
    if not eq.any():
        return s
    pad = [(0, 0)] * s.ndim
    lo, hi = list(pad), list(pad)
    lo[axis], hi[axis] = (0, 1), (1, 0)
    tied = np.pad(eq, lo) | np.pad(eq, hi)
    return np.where(tied, np.nan, s)


def _sort_ref(a, p, op, ctx, env):
    x = np.asarray(a[0])
    axis = p["axis"]
    flat = axis is None
    if flat:
        x, axis = x.reshape(-1), 0
    s = np.sort(x, axis=axis, kind="stable")
    s = np.flip(s, axis) if p["descending"] else s
    if s.dtype.kind != "f":
        return _lanes_anything(s, a[0], op, ctx, p["axis"], op.outs[0])
    return _lanes_lost(_ties_undefined(s, ctx, axis), x, op, ctx, axis, flat)


def _order_unsettled(pert, idx, x, axis, descending, op, k=None):
    """Indices `idx` of a sort of this perturbed run's `x` along `axis` (the first `k` of
    a descending one for top_k, in XLA's total order), another element's at the positions
    whose element may go either way and that hold the base run's (Perturb.reordered)."""
    r = pert.reordered(op.args[0], x, axis, descending, total_order=k is not None)
    if r is None:
        return idx
    alt, reach, order = r
    if k is not None:
        alt, reach, order = alt[..., :k], reach[..., :k], order[..., :k]
    alt, reach, order = (np.moveaxis(v, -1, axis) for v in (alt, reach, order))
    return np.where(reach & (idx == order), alt, idx)


def _argsort_ref(a, p, op, ctx, env):
    idx = _jax_argsort(a[0], p["axis"], p["descending"])
    if ctx is not None and ctx.perturb is not None and np.ndim(a[0]):
        idx = _order_unsettled(ctx.perturb, idx, np.asarray(a[0]), p["axis"],
                               p["descending"], op)
        idx = _lanes_anything(idx, a[0], op, ctx, p["axis"], op.outs[0])
    return idx


def _sort_src(name):
    def src(a, p, op, ind):
        d = ", descending=True" if p["descending"] else ""
        return f"fnp.{name}({a[0]}, axis={p['axis']!r}{d})"
    return src


register(OpDef("sort", _sort_gen, _sort_ref, _sort_src("sort"), exact=True, weight=2,
               own_lost=True))
register(OpDef("argsort", _sort_gen, _argsort_ref, _sort_src("argsort"), exact=True,
               own_lost=True))


def _topk_gen(b: Builder, opname):
    x = b.pick(lambda t: is_float(t.dtype) and t.rank >= 1,
               lambda: Type(b.rand_dims(min_rank=1), b.fdtype))
    t = b.types[x]
    b.pin(t.dims[-1])
    n = b.dims.size(t.dims[-1])
    k = b.integers(0, n) if n else 0
    d = b.dims.new([k] * 3)
    dims = t.dims[:-1] + (d,)
    b.emit(opname, (x,), {"k": k}, (t.with_(dims=dims), Type(dims, I32)))


def _xla_total_order_desc(x):
    """lax.top_k's order along the last axis: XLA's total order, largest first (+NaN,
    +inf, ..., +0, -0, ..., -inf, -NaN), the lower index first among equal values."""
    x = np.asarray(x)
    if x.size == 0:
        return np.zeros(x.shape, np.int64)
    return np.argsort(-total_order_rank(x), axis=-1, kind="stable")


def _topk_ref(a, p, op, ctx, env):
    x = np.asarray(a[0])
    k = p["k"]
    order = _xla_total_order_desc(x)
    idx = order[..., :k]
    # with the next value: a tie across the cut decides which one is kept
    vals = _ties_undefined(np.take_along_axis(x, order[..., :k + 1], -1), ctx, -1)[..., :k]
    if vals.size:
        lost = _lanes_lost(np.zeros(x.shape[:-1] + (1,)), x, op, ctx, -1)
        vals = np.where(np.isnan(lost), lost, vals)    # the lanes that lost a value
    if ctx is not None and ctx.perturb is not None and idx.size:
        idx = _order_unsettled(ctx.perturb, idx, x, -1, True, op, k=p["k"])
        idx = _lanes_anything(idx, x, op, ctx, -1, op.outs[1])
    return vals, idx


register(OpDef("top_k", _topk_gen, _topk_ref,
               lambda a, p, op, ind: f"lax.top_k({a[0]}, {p['k']})", exact=True,
               tuple_out=True, own_lost=True))


def _cum_gen(b: Builder, opname):
    allowed = [b.fdtype] if b.grad else [b.fdtype, b.fdtype, I32, BOOL]
    if opname in ("cummax",):
        allowed = [d for d in allowed if d != BOOL]
    x = b.pick(lambda t: t.dtype in allowed and t.rank >= 1,
               lambda: Type(b.rand_dims(min_rank=1), allowed[0]))
    t = b.types[x]
    fn = b.choice(["cumsum", "cumprod", "nancumsum"] if opname == "cumsum" else
                  ["cummax", "cummin", "lax.cumsum"])
    if fn == "nancumsum" and not is_float(t.dtype):
        fn = "cumsum"
    if fn.startswith("lax.") and t.dtype == BOOL:
        b.reject()
    if fn in ("cummax", "cummin", "lax.cumsum"):
        axis = b.integers(0, t.rank - 1)
        params = {"fn": fn, "axis": axis, "reverse": b.flag(0.4)}
        dims = t.dims
    else:
        axis = b.choice([b.axis(t.rank), None])
        params = {"fn": fn, "axis": axis}
        dims = t.dims if axis is not None else \
            (_prod_dim(b, t.dims),)
    if fn in ("cumsum", "cumprod", "nancumsum") and t.dtype == BOOL:
        # jnp.cumsum/cumprod promote bool to the default int; int32 stays int32 (no
        # promote_integers, unlike jnp.sum).
        dt = default_int(b.x64)
    else:
        dt = t.dtype
    b.emit(opname, (x,), params, (Type(dims, dt, t.weak),))


def _cum_ref(a, p, op, ctx, env):
    x = np.asarray(a[0])
    fn = p["fn"]
    axis = p["axis"]
    if axis is None:
        x, axis = x.reshape(-1), 0
    if p.get("reverse"):
        x = np.flip(x, axis)
    if fn in ("cumsum", "lax.cumsum"):
        r = np.cumsum(x.astype(np.float64) if x.dtype.kind == "f" else x.astype(np.int64),
                      axis=axis)
    elif fn == "nancumsum":
        r = np.nancumsum(x, axis=axis)
    elif fn == "cumprod":
        if x.dtype.kind == "f":
            r = np.cumprod(x, axis=axis)
        else:
            xm = np.moveaxis(x.astype(np.int64), axis, 0)
            r = np.empty_like(xm)
            acc = np.ones(xm.shape[1:], np.int64)
            for i in range(xm.shape[0]):
                acc = wrap32(acc * xm[i])
                r[i] = acc
            r = np.moveaxis(r, 0, axis)
    else:
        # JAX's -0 < +0, which funcgrad follows on every path: no tie is left to chance (the
        # perturbed runs once kept the earlier of two tied zeros to flag the results that
        # depend on that sign; seed 20261937)
        r = ieee_accumulate("max" if fn == "cummax" else "min", x, axis) if x.size else x
    if p.get("reverse"):
        r = np.flip(r, axis)
    return r


def _cum_err(a, out, op, t, ctx):
    fn = op.params["fn"]
    if fn in ("cummax", "cummin"):
        return 0.0
    x = np.asarray(a[0], np.float64)
    axis = op.params["axis"]
    if axis is None:
        x, axis = x.reshape(-1), 0
    if op.params.get("reverse"):
        x = np.flip(x, axis)
    n = x.shape[axis] if x.ndim else 1
    if fn == "cumprod":
        k = np.arange(1, n + 1).reshape([-1 if i == axis % max(x.ndim, 1) else 1
                                         for i in range(x.ndim)])
        # (k factors at out's position k - 1, or counted from the end when reversed)
        kout = np.flip(k, axis) if op.params.get("reverse") else k
        err = (kout + 2) * EPS[t.dtype] * np.abs(out)
        # Partial products in another order (jnp.cumprod is an associative scan) may
        # overflow, or underflow to 0, where the sequential ones do not (see ops' prod);
        # an infinite operand times a partial product that underflowed is NaN where the
        # sequential inf * 6e-8 is inf (float16, seed 20261401).
        fin = np.where(np.isfinite(x), np.abs(x), 0.0)
        with np.errstate(all="ignore"):
            big = np.cumprod(np.maximum(fin, 1.0), axis=axis)
            small = np.cumprod(np.where(fin > 0, np.minimum(fin, 1.0), 1.0), axis=axis)
        inf_before = np.cumsum(np.isinf(x), axis=axis) > 0
        tiny = float(finfo(NP[t.dtype]).tiny)
        mag = np.where((small < tiny) & ((big > 1.0) | inf_before), np.inf, big)
        # A partial product P_j in the subnormal range is rounded to the subnormal spacing,
        # an absolute error that the later factors scale by |P_k / P_j|: a float32 row
        # (4.2e-45, -0.49, -0.35) is 0 multiplied in order and 7.3e-46 -> 1.4e-45 exactly,
        # and heaviside(0, nan) is NaN where heaviside(1.4e-45) is 1 (seed 20261970).
        with np.errstate(all="ignore"):
            p = np.abs(np.cumprod(np.where(np.isfinite(x), x, 1.0), axis=axis))
            sub = (p > 0) & (p < tiny)
            scale = np.cumsum(np.where(sub, 1.0 / np.where(sub, p, 1.0), 0.0), axis=axis)
            rounded = np.where(scale > 0, SUBNORMAL[t.dtype] * p * scale, 0.0)
        if op.params.get("reverse"):
            mag = np.flip(mag, axis)
            rounded = np.flip(rounded, axis)
        err = err + rounded.reshape(np.shape(out))
        return acc_overflow(err, mag.reshape(np.shape(out)), t.dtype, acc=t.dtype)
    r = np.cumsum(np.nan_to_num(np.abs(x), posinf=0), axis=axis)
    if op.params.get("reverse"):
        r = np.flip(r, axis)
    return acc_overflow(growth(n) * EPS[t.dtype] * r + 2 * EPS[t.dtype] * np.abs(out) +
                        acc_subnormal(n, r, t.dtype, t.dtype), r, t.dtype, acc=t.dtype)


register(OpDef("cumsum", _cum_gen, _cum_ref, lambda a, p, op, ind: (
    f"fnp.{p['fn']}({a[0]}, axis={p['axis']!r})"), err_fn=_cum_err, weight=2))
register(OpDef("cummax", _cum_gen, _cum_ref, lambda a, p, op, ind: (
    f"lax.{p['fn'].replace('lax.', '')}({a[0]}, axis={p['axis']}, reverse={p['reverse']})"),
    err_fn=_cum_err))


__all__ = ["conv_np", "dims_of", "math", "norm_axes", "to_inexact", "window_np"]
