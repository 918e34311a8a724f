"""Window and ordering primitives: `reduce_window` (sum/max/min pooling) and `sort`."""
from __future__ import annotations

import itertools

import ml_dtypes
import numpy as np

from .. import core, dtypes
from ..ad import defzero_jvp, zeros_like
from ..batching import bdim_at_front
from ..core import ShapedArray, bind
from .indexing import concatenate, gather, pad, slice
from .linalg import _conv_vjp_lhs_padding, padtype_to_pads
from .structural import broadcast_in_dim, expand_dims, full, iota, reshape

reduce_window_p = core.new_primitive("reduce_window")
_COMPUTATIONS = ("sum", "max", "min")


def window_init(computation, dtype):
    dtype = np.dtype(dtype)
    if computation == "sum":
        return np.zeros((), dtype)
    big = np.inf if dtypes.is_float(dtype) else (
        np.iinfo(dtype).max if dtypes.is_int(dtype) else True)
    small = -np.inf if dtypes.is_float(dtype) else (
        np.iinfo(dtype).min if dtypes.is_int(dtype) else False)
    return np.asarray(small if computation == "max" else big, dtype)


def reduce_window_shape_tuple(operand_shape, window_dimensions, window_strides, padding,
                              base_dilation=None, window_dilation=None):
    """Output shape of `reduce_window` (JAX's helper of the same name)."""
    if isinstance(padding, str):
        padding = padtype_to_pads(operand_shape, window_dimensions, window_strides, padding)
    return tuple(0 if d + lo + hi - w < 0 else (d + lo + hi - w) // s + 1
                 for d, w, s, (lo, hi) in zip(operand_shape, window_dimensions, window_strides,
                                               padding))


def _rw_shape(x, *, computation, window_dimensions, window_strides, padding):
    if computation not in _COMPUTATIONS:
        raise TypeError(f"reduce_window: computation must be one of {_COMPUTATIONS}")
    if not (len(window_dimensions) == len(window_strides) == len(padding) == x.ndim):
        raise TypeError(f"reduce_window: window {window_dimensions}, strides {window_strides} "
                        f"and padding {padding} must each have one entry per dim of {x.shape}")
    shape = []
    for d, w, s, (lo, hi) in zip(x.shape, window_dimensions, window_strides, padding):
        span = d + lo + hi - w
        if w < 1 or s < 1:
            raise TypeError(f"reduce_window: window {window_dimensions} / strides "
                            f"{window_strides} must be positive")
        shape.append(0 if span < 0 else span // s + 1)
    return ShapedArray(shape, x.dtype, x.weak_type)


def _pad_signed(x, padding, value=0):
    """`x` padded with `value` by (lo, hi) per axis, a negative amount cutting cells off
    (XLA's and JAX's padding; np.pad rejects negative amounts, and an empty list of them
    for a rank-0 `x`)."""
    if not padding:
        return x
    x = np.pad(x, [(max(lo, 0), max(hi, 0)) for lo, hi in padding], constant_values=value)
    return x[tuple(np.s_[max(-lo, 0):n - max(-hi, 0)] for (lo, hi), n in
                   zip(padding, x.shape))]


def _rw_np(x, *, computation, window_dimensions, window_strides, padding):
    init = window_init(computation, x.dtype)
    xp = _pad_signed(x, padding, init)
    out_shape = _rw_shape(ShapedArray(x.shape, x.dtype), computation=computation,
                          window_dimensions=window_dimensions, window_strides=window_strides,
                          padding=padding).shape
    if 0 in out_shape:
        return np.zeros(out_shape, x.dtype)
    win = np.lib.stride_tricks.sliding_window_view(xp, window_dimensions)
    win = win[tuple(np.s_[::s] for s in window_strides)]
    win = win[tuple(np.s_[:n] for n in out_shape)]
    axes = tuple(range(x.ndim, 2 * x.ndim))
    if computation == "sum":
        return np.sum(win, axis=axes).astype(x.dtype)
    from .elementwise import np_reduce_extreme
    return np_reduce_extreme(computation, win, axes)


def _window_slices(xp, out_shape, window_dimensions, window_strides):
    for k in itertools.product(*[range(w) for w in window_dimensions]):
        limit = [kk + (n - 1) * s + 1 if n else kk for kk, n, s in
                 zip(k, out_shape, window_strides)]
        yield slice(xp, k, limit, window_strides)


def _rw_jvp(primals, tangents, *, computation, window_dimensions, window_strides, padding):
    (x,), (t,) = primals, tangents
    params = dict(computation=computation, window_dimensions=window_dimensions,
                  window_strides=window_strides, padding=padding)
    out = reduce_window_p.bind(x, **params)
    if computation == "sum":
        return out, reduce_window_p.bind(t, **params)
    if not dtypes.is_float(x.dtype):
        return out, full(out.shape, 0, out.dtype)
    return out, pool_gather_p.bind(t, x, **params)


def _rw_transpose(ct, x, *, computation, window_dimensions, window_strides, padding):
    if computation != "sum":
        raise NotImplementedError(f"reduce_window {computation} is not linear")
    in_shape = x.aval.shape
    if tuple(window_dimensions) == tuple(window_strides) and \
            all(type(d) is int for d in in_shape + tuple(ct.shape)):
        return [_tiled_windows_transpose(ct, in_shape, window_strides, padding)]
    ones = (1,) * len(in_shape)
    pads = _conv_vjp_lhs_padding(in_shape, window_dimensions, window_strides, ct.shape,
                                 padding, ones, ones)
    cfg = tuple((lo, hi, s - 1) for (lo, hi), s in zip(pads, window_strides))
    padded = pad(ct, full((), 0, ct.dtype), cfg)
    return [reduce_window_p.bind(padded, computation="sum",
                                 window_dimensions=window_dimensions, window_strides=ones,
                                 padding=tuple((0, 0) for _ in in_shape))]


def _tiled_windows_transpose(ct, in_shape, window_strides, padding):
    """The transpose of a window sum whose windows tile the padded operand (window ==
    stride: average pooling, 2 x 2 windows 2 apart): each cell of the operand is in at most
    one window, window p // s for padded position p, so it gets that window's cotangent;
    cells past the last window get 0. `ct` repeated s times along each axis and cut to the
    operand's cells: a broadcast, where the general rule's window sum over the dilated
    cotangent computed every window position, found one nonzero term by division and
    remainder tests, and evaluated a fused cotangent once per term (NCHW average pooling's
    gradient: 1.3x JAX's time)."""
    n = len(in_shape)
    wide = tuple(d for k, s in zip(ct.shape, window_strides) for d in (k, s))
    rep = broadcast_in_dim(ct, wide, tuple(range(0, 2 * n, 2)))
    rep = reshape(rep, tuple(k * s for k, s in zip(ct.shape, window_strides)))
    cfg = tuple((-lo, d + lo - k * s, 0) for d, (lo, _), k, s in
                zip(in_shape, padding, ct.shape, window_strides))
    return pad(rep, full((), 0, ct.dtype), cfg)


def _rw_batch(size, vals, dims, *, computation, window_dimensions, window_strides, padding):
    (x,), (d,) = vals, dims
    ins = lambda t, v: t[:d] + (v,) + t[d:]  # noqa: E731
    return reduce_window_p.bind(x, computation=computation,
                                window_dimensions=ins(window_dimensions, 1),
                                window_strides=ins(window_strides, 1),
                                padding=ins(padding, (0, 0))), d


# --- pool_gather / pool_scatter: the derivative of max/min pooling ------------------------
# pool_gather(t, x) picks, in each window, t at the first position where x attains the
# window's max (min); pool_scatter(ct, x) is its transpose: each window's cotangent goes to
# that position. Both are linear in their first operand; x only selects (JAX:
# select_and_gather_add / select_and_scatter_add).

pool_gather_p = core.new_primitive("pool_gather")
pool_scatter_p = core.new_primitive("pool_scatter")


def _pool_positions(x, computation, window_dimensions, window_strides, padding):
    """Flat (into padded x) index of the chosen cell of every window, shape = out shape."""
    init = window_init(computation, x.dtype)
    xp = _pad_signed(x, padding, init)
    out_shape = _rw_shape(ShapedArray(x.shape, x.dtype), computation=computation,
                          window_dimensions=window_dimensions, window_strides=window_strides,
                          padding=padding).shape
    win = np.lib.stride_tricks.sliding_window_view(xp, window_dimensions)
    win = win[tuple(np.s_[::s] for s in window_strides)]
    win = win[tuple(np.s_[:n] for n in out_shape)]
    flat = win.reshape(out_shape + (-1,))
    pick = (np.argmax if computation == "max" else np.argmin)(
        np.where(np.isnan(flat), -np.inf if computation == "max" else np.inf, flat), axis=-1)
    wpos = np.unravel_index(pick, window_dimensions)
    starts = np.indices(out_shape)
    coords = [starts[d] * window_strides[d] + wpos[d] for d in range(x.ndim)]
    return xp.shape, np.ravel_multi_index(coords, xp.shape) if x.ndim else pick


def _pool_gather_np(t, x, *, computation, window_dimensions, window_strides, padding):
    pshape, pos = _pool_positions(x, computation, window_dimensions, window_strides, padding)
    tp = _pad_signed(t, padding)
    return tp.reshape(-1)[pos].astype(t.dtype)


def _pool_scatter_np(ct, x, *, computation, window_dimensions, window_strides, padding):
    pshape, pos = _pool_positions(x, computation, window_dimensions, window_strides, padding)
    acc = np.zeros(int(np.prod(pshape)), ct.dtype)
    np.add.at(acc, pos.reshape(-1), ct.reshape(-1))
    return _pad_signed(acc.reshape(pshape), [(-lo, -hi) for lo, hi in padding])


def _pool_gather_shape(t, x, **params):
    if t.shape != x.shape or t.dtype != x.dtype:
        raise TypeError(f"pool_gather: operands {t.short()} and {x.short()} differ")
    return _rw_shape(t, **params)


def _pool_scatter_shape(ct, x, **params):
    want = _rw_shape(x, **params)
    if ct.shape != want.shape:
        raise TypeError(f"pool_scatter: cotangent {ct.short()} must be {want.short()}")
    return x.update(weak_type=False)


def _pool_batch(prim):
    def rule(size, vals, dims, *, computation, window_dimensions, window_strides, padding):
        a, x = vals
        a = bdim_at_front(a, dims[0], size)
        x = bdim_at_front(x, dims[1], size)
        return prim.bind(a, x, computation=computation,
                         window_dimensions=(1,) + tuple(window_dimensions),
                         window_strides=(1,) + tuple(window_strides),
                         padding=((0, 0),) + tuple(padding)), 0
    core.batch_rules[prim] = rule


def _pool_linear_jvp(prim):
    def rule(primals, tangents, **params):
        return prim.bind(primals[0], primals[1], **params), prim.bind(tangents[0], primals[1],
                                                                      **params)
    core.jvp_rules[prim] = rule


core.shape_rules[pool_gather_p] = _pool_gather_shape
core.impl_rules[pool_gather_p] = _pool_gather_np
_pool_linear_jvp(pool_gather_p)
core.transpose_rules[pool_gather_p] = lambda ct, t, x, **p: [pool_scatter_p.bind(ct, x, **p),
                                                             None]
_pool_batch(pool_gather_p)

core.shape_rules[pool_scatter_p] = _pool_scatter_shape
core.impl_rules[pool_scatter_p] = _pool_scatter_np
_pool_linear_jvp(pool_scatter_p)
core.transpose_rules[pool_scatter_p] = lambda ct, c, x, **p: [pool_gather_p.bind(ct, x, **p),
                                                              None]
_pool_batch(pool_scatter_p)


core.shape_rules[reduce_window_p] = _rw_shape
core.impl_rules[reduce_window_p] = _rw_np
core.jvp_rules[reduce_window_p] = _rw_jvp
core.transpose_rules[reduce_window_p] = _rw_transpose
core.batch_rules[reduce_window_p] = _rw_batch


def reduce_window(operand, *args, **kwargs):
    """Pooling: reduce each window of `operand` with `computation` in {'sum', 'max', 'min'}
    (or `lax.add`/`lax.max`/`lax.min`). Two call forms: `reduce_window(operand,
    computation, window_dimensions, window_strides, padding)` and JAX's
    `reduce_window(operand, init_value, computation, window_dimensions, window_strides,
    padding)`, which also takes JAX's `base_dilation` and `window_dilation` (positionally
    after `padding`, or by name). `padding` is 'SAME', 'VALID' or (lo, hi) pairs; padded cells
    hold the identity (the init value). In the JAX form, `operand` may be a pytree of
    arrays with a matching pytree of init values, `computation(acc, x)` any associative and
    commutative function of such pytrees, and `init_value` any scalar: it starts every
    window's reduction, as in XLA."""
    operands = x = operand
    x = x if isinstance(x, (tuple, list, dict)) else core.to_array(x)
    names = ("computation", "window_dimensions", "window_strides", "padding")
    dilations = {}
    if args and not (isinstance(args[0], str) or callable(args[0])) or "init_value" in kwargs:
        init = kwargs.pop("init_value") if "init_value" in kwargs else args[0]
        args = args[1:]
        if len(args) > 4:
            names += ("base_dilation", "window_dilation")
        for k, v in zip(names[4:], args[4:]):
            kwargs[k] = v
        args = args[:4]
        for k in ("base_dilation", "window_dilation"):
            d = kwargs.pop(k, None)
            if d is not None:
                dilations[k] = tuple(int(v) for v in d)
    else:
        init = None
    vals = dict(zip(names, args))
    vals.update(kwargs)
    computation = vals["computation"]
    window_dimensions, window_strides = vals["window_dimensions"], vals["window_strides"]
    padding = vals["padding"]
    if len(args) > 4:
        raise TypeError("reduce_window: too many positional arguments")
    if init is not None and _needs_generic(operands, init, computation):
        return _generic_reduce_window(operands, init, computation, window_dimensions,
                                      window_strides, padding, **dilations)
    if any(v != 1 for d in dilations.values() for v in d):
        return _dilated_reduce_window(x, computation, window_dimensions, window_strides,
                                      padding, init, **dilations)
    return _reduce_window(x, computation, window_dimensions, window_strides, padding, init)


def _needs_generic(operands, init, computation):
    """Whether JAX's reduce_window(operand, init_value, computation, ...) needs the general
    evaluation: a pytree of operands, a computation other than add/max/min, or an init
    value other than the computation's identity."""
    from . import elementwise as ew
    if isinstance(operands, (tuple, list, dict)):
        return True
    name = {ew.add: "sum", ew.max: "max", ew.min: "min"}.get(computation, computation) \
        if callable(computation) else computation
    if name not in _COMPUTATIONS:
        return True
    if isinstance(init, core.Tracer):
        return True
    got = np.asarray(init)
    dtype = core.to_array(operands).dtype
    return got.shape != () or got.astype(dtype) != window_init(name, dtype)


def _generic_reduce_window(operands, init, computation, window_dimensions, window_strides,
                           padding, base_dilation=None, window_dilation=None):
    """XLA's ReduceWindow for any computation (JAX's `lax.reduce_window` with a custom
    function, several operands, or an init value that is not an identity): the operands
    are dilated and padded with the init values, and each output starts from the init values
    and combines the window's elements in window order with `computation(acc, x)` (XLA's
    contract: associative and commutative, so the order does not change the result)."""
    from .. import tree_util
    from . import elementwise as ew
    ops, tree = tree_util.tree_flatten(operands)
    inits, init_tree = tree_util.tree_flatten(init)
    if tree != init_tree:
        raise TypeError(f"reduce_window: operands {tree} and init_values {init_tree} have "
                        "different structures")
    ops = [core.to_array(o) for o in ops]
    if any(o.shape != ops[0].shape for o in ops):
        raise TypeError(f"reduce_window: operands must share a shape, got "
                        f"{[o.shape for o in ops]}")
    inits = [ew.convert_element_type(core.to_array(i), o.dtype) for i, o in zip(inits, ops)]
    if any(i.shape != () for i in inits):
        raise TypeError("reduce_window: init values must be scalars")
    nd = ops[0].ndim
    window_dimensions = tuple(int(w) for w in window_dimensions)
    window_strides = tuple(int(v) for v in window_strides)
    base_dilation = tuple(base_dilation or (1,) * nd)
    window_dilation = tuple(window_dilation or (1,) * nd)
    if not (len(window_dimensions) == len(window_strides) == len(base_dilation) ==
            len(window_dilation) == nd):
        raise TypeError(f"reduce_window: window_dimensions {window_dimensions}, strides "
                        f"{window_strides} and dilations must have one entry per dim of "
                        f"{ops[0].shape}")
    span = tuple((w - 1) * r + 1 for w, r in zip(window_dimensions, window_dilation))
    if isinstance(padding, str):
        padding = padtype_to_pads(ops[0].shape, span, window_strides, padding)
    cfg = [(int(lo), int(hi), d - 1) for (lo, hi), d in zip(padding, base_dilation)]
    # XLA's CPU backend skips the padding and the holes of a base dilation (they do not
    # enter the computation: reduce_window(x, 2.0, lax.mul, ...) multiplies the init in
    # once per window), so the cells added here are masked out
    present = pad(full(ops[0].shape, True, np.dtype(bool)), full((), False, np.dtype(bool)),
                  cfg)
    ops = [pad(o, i, cfg) for o, i in zip(ops, inits)]
    out_shape = reduce_window_shape_tuple(ops[0].shape, span, window_strides, ((0, 0),) * nd)
    acc = [full(out_shape, i, o.dtype) for i, o in zip(inits, ops)]
    if 0 in out_shape:
        return tree_util.tree_unflatten(tree, acc)
    masked = any(lo or hi or d > 1 for lo, hi, d in cfg)
    for k in itertools.product(*[range(w) for w in window_dimensions]):
        start = [kk * r for kk, r in zip(k, window_dilation)]
        limit = [st + (n - 1) * sd + 1 for st, n, sd in zip(start, out_shape, window_strides)]
        vs = [slice(o, start, limit, window_strides) for o in ops]
        out = computation(tree_util.tree_unflatten(tree, acc),
                          tree_util.tree_unflatten(tree, vs))
        new = [core.to_array(a) for a in tree_util.tree_leaves(out)]
        if masked:
            keep = slice(present, start, limit, window_strides)
            new = [ew.select(keep, n_, a) for n_, a in zip(new, acc)]
        acc = new
    return tree_util.tree_unflatten(tree, acc)


def _dilated_reduce_window(x, computation, window_dimensions, window_strides, padding, init,
                           base_dilation=None, window_dilation=None):
    """`reduce_window` with JAX's base and window dilation, from primitives that have every
    rule: a base dilation is `pad`'s interior padding with the identity (padding applies
    after it, as in XLA; 'SAME' pads for the operand's own shape, as JAX computes them); a
    dilated window reduces the strided slices of its elements in
    window order, keeping the first maximum (minimum) as XLA's select does, so a gradient
    goes to the element JAX's goes to (a NaN wins, as in `lax.max`)."""
    from . import elementwise as ew
    nd = x.ndim
    base_dilation = base_dilation or (1,) * nd
    window_dilation = window_dilation or (1,) * nd
    window_dimensions = tuple(int(w) for w in window_dimensions)
    window_strides = tuple(int(s) for s in window_strides)
    if not (len(base_dilation) == len(window_dilation) == len(window_dimensions) ==
            len(window_strides) == nd) or min(base_dilation + window_dilation, default=1) < 1:
        raise TypeError(f"reduce_window: base_dilation {base_dilation} and window_dilation "
                        f"{window_dilation} must each have one positive entry per dim of "
                        f"{x.shape}")
    if callable(computation):
        computation = {ew.add: "sum", ew.max: "max", ew.min: "min"}.get(computation, computation)
    if computation not in _COMPUTATIONS:
        raise TypeError("reduce_window: computation must be lax.add, lax.max or lax.min")
    identity = window_init(computation, x.dtype)
    span = tuple((w - 1) * r + 1 for w, r in zip(window_dimensions, window_dilation))
    if isinstance(padding, str):
        # JAX's rule: the operand's own shape (not the dilated one), the dilated window
        padding = padtype_to_pads(x.shape, span, window_strides, padding)
    if any(d != 1 for d in base_dilation):
        x = pad(x, identity, [(0, 0, d - 1) for d in base_dilation])
    if all(r == 1 for r in window_dilation):
        return _reduce_window(x, computation, window_dimensions, window_strides, padding, init)
    # validates init (and returns an empty result for an empty window set below)
    _reduce_window(x, computation, (1,) * nd, (1,) * nd, ((0, 0),) * nd, init)
    x = pad(x, identity, [(int(lo), int(hi), 0) for lo, hi in padding])
    out_shape = reduce_window_shape_tuple(x.shape, span, window_strides, ((0, 0),) * nd)
    if 0 in out_shape:
        return full(out_shape, identity, x.dtype)
    acc = None
    for k in itertools.product(*[range(w) for w in window_dimensions]):
        start = [kk * r for kk, r in zip(k, window_dilation)]
        limit = [st + (n - 1) * s + 1 for st, n, s in zip(start, out_shape, window_strides)]
        v = slice(x, start, limit, window_strides)
        if acc is None:
            acc = v
        elif computation == "sum":
            acc = ew.add(acc, v)
        else:
            better = ew.gt(v, acc) if computation == "max" else ew.lt(v, acc)
            if dtypes.is_float(x.dtype) or dtypes.is_complex(x.dtype):
                better = ew.or_(better, ew.ne(v, v))
            acc = ew.select(better, v, acc)
    return acc


def _reduce_window(x, computation, window_dimensions, window_strides, padding, init):
    if callable(computation):
        from . import elementwise as ew
        computation = {ew.add: "sum", ew.max: "max", ew.min: "min"}.get(computation)
        if computation is None:
            raise TypeError("reduce_window: computation must be lax.add, lax.max or lax.min")
    if init is not None:
        want = window_init(computation, x.dtype)
        got = np.asarray(init if not isinstance(init, core.Array) else np.asarray(init))
        if got.shape != () or got.astype(x.dtype) != want:
            raise NotImplementedError(
                f"reduce_window: init_value {got} for '{computation}' is not supported; only "
                f"the identity ({want}) is (use it, then combine with the init yourself)")
    window_dimensions = tuple(int(w) for w in window_dimensions)
    window_strides = tuple(int(s) for s in window_strides)
    if isinstance(padding, str):
        padding = padtype_to_pads(x.shape, window_dimensions, window_strides, padding)
    padding = tuple((int(lo), int(hi)) for lo, hi in padding)
    return bind(reduce_window_p, x, computation=computation,
                window_dimensions=window_dimensions, window_strides=window_strides,
                padding=padding)


# --- sort ------------------------------------------------------------------------------

sort_p = core.new_primitive("sort", multiple_results=True)


def _sort_shape(*xs, dimension, num_keys):
    if not xs or any(x.shape != xs[0].shape for x in xs):
        raise TypeError(f"sort: operands must share a shape, got {[x.shape for x in xs]}")
    if not 0 <= dimension < max(xs[0].ndim, 1):
        raise TypeError(f"sort: dimension {dimension} out of range for {xs[0].shape}")
    if not 1 <= num_keys <= len(xs):
        raise TypeError(f"sort: num_keys {num_keys} invalid for {len(xs)} operands")
    return list(xs)


def _sort_key(k):
    """`k` as NumPy can order it. NumPy's sort of ml_dtypes' arrays (bfloat16, the float8
    and int4 families) compares through the dtype's own compare function, which is not an
    ordering once a NaN is present: `np.sort` of bfloat16 [1, nan, -2] returned it as it
    was. Their values widen exactly to float32 (int32), whose sort puts NaNs last."""
    if k.dtype.kind != "V":
        return k
    try:
        ml_dtypes.finfo(k.dtype)
    except ValueError:
        return k.astype(np.int32)
    return k.astype(np.float32)


def _sort_np(*xs, dimension, num_keys):
    if xs[0].ndim == 0 or xs[0].size == 0:      # (nothing to order: lexsort's rows are empty)
        return list(xs)
    keys = [_sort_key(k) for k in xs[:num_keys]]
    if num_keys == 1:
        perm = np.argsort(keys[0], axis=dimension, kind="stable")
    else:
        moved = [np.moveaxis(k, dimension, -1) for k in keys]
        flat = [m.reshape(-1, m.shape[-1]) for m in moved]
        rows = [np.lexsort(tuple(f[r] for f in reversed(flat))) for r in range(flat[0].shape[0])]
        perm = np.moveaxis(np.stack(rows).reshape(moved[0].shape), -1, dimension)
    return [np.take_along_axis(x, perm, axis=dimension) for x in xs]


def take_along_axis_prim(x, perm, axis):
    """The elements of `x` at the positions `perm` along `axis` (`perm` has x's shape, or
    another length along `axis`)."""
    shape = perm.shape
    idx_dt = perm.dtype
    comps = []
    for d in range(len(shape)):
        comps.append(perm if d == axis else iota(idx_dt, shape, d))
    idx = concatenate([expand_dims(c, (-1,)) for c in comps], len(shape))
    return gather(x, idx, tuple(range(len(shape))))


def _sort_jvp(primals, tangents, *, dimension, num_keys):
    shape = primals[0].shape
    it = iota(dtypes.int32, shape, dimension) if shape else None
    if it is None:
        return list(primals), list(tangents)
    outs = sort_p.bind(*primals, it, dimension=dimension, num_keys=num_keys)
    perm = outs[-1]
    return outs[:-1], [take_along_axis_prim(t, perm, dimension) for t in tangents]


def _sort_batch(size, vals, dims, *, dimension, num_keys):
    xs = [bdim_at_front(x, d, size) for x, d in zip(vals, dims)]
    outs = sort_p.bind(*xs, dimension=dimension + 1, num_keys=num_keys)
    return outs, [0] * len(outs)


core.shape_rules[sort_p] = _sort_shape
core.impl_rules[sort_p] = _sort_np
core.jvp_rules[sort_p] = _sort_jvp
core.batch_rules[sort_p] = _sort_batch


# --- top_k -----------------------------------------------------------------------------

top_k_p = core.new_primitive("top_k", multiple_results=True)


def _top_k_shape(x, *, k):
    if x.ndim < 1 or not 0 <= k <= x.shape[-1]:
        raise TypeError(f"top_k: k={k} must be in [0, {x.shape[-1] if x.ndim else 0}] "
                        f"for the last axis of shape {x.shape}")
    if x.shape[-1] - 1 > np.iinfo(np.int32).max:
        # (its indices are int32, as JAX's are: past 2^31 they wrapped negative)
        raise ValueError(f"top_k: the last axis of shape {x.shape} has indices beyond int32, "
                         "the type of top_k's indices; take the top k of slices of at most "
                         "2^31 elements and combine them, or use argsort")
    shape = tuple(x.shape[:-1]) + (k,)
    return [ShapedArray(shape, x.dtype, x.weak_type), ShapedArray(shape, dtypes.int32)]


def total_order_key(x):
    """Integers whose order is XLA's total order of `x`'s values, the order of its TopK:
    -NaN < -inf < ... < -0 < +0 < ... < +inf < +NaN (floats by their bits), ints and bools
    as they are. int32 for types of at most 32 bits, int64 for the others (uint32 and
    uint64 shifted by 2^31 and 2^63)."""
    x = np.asarray(x)
    if x.dtype.kind == "V" or x.dtype == np.float16:
        x = x.astype(np.float32)          # ml_dtypes' and half floats widen exactly
    if x.dtype.kind == "f":
        it, top = (np.int32, 31) if x.itemsize == 4 else (np.int64, 63)
        bits = x.view(it)
        return bits ^ ((bits >> top) & it((1 << top) - 1))
    if x.dtype == np.uint64:
        return (x ^ np.uint64(1 << 63)).view(np.int64)
    if x.dtype == np.uint32:
        return (x ^ np.uint32(1 << 31)).view(np.int32)
    return x.astype(np.int32 if x.itemsize <= 4 else np.int64)


def _top_k_np(x, *, k):
    """The k largest along the last axis in XLA's total order, the lower index first among
    equal values. In linear time (a full sort of 1024 rows of 1024 took 64 ms against
    XLA's 5): np.partition finds each row's k-th largest key, and the k entries at or
    above it (the first ones by index among those equal to it) are sorted stably by key."""
    x = np.asarray(x)
    n = x.shape[-1]
    lead = x.shape[:-1]
    key = total_order_key(x).reshape(-1, n) if n else np.zeros((0, 0), np.int32)
    rows_n = key.shape[0]
    if k == 0 or n == 0 or rows_n == 0:
        idx = np.zeros(lead + (k,), np.int64)
    elif 4 * k >= n:
        idx = np.argsort(~key, axis=-1, kind="stable")[:, :k].reshape(lead + (k,))
    else:
        kth = np.partition(key, n - k, axis=-1)[:, n - k:n - k + 1]
        sel = key >= kth
        if np.count_nonzero(sel) > rows_n * k:
            # ties at the k-th: of the entries equal to it, the first ones (by index) that
            # make up k; those above it number fewer than k
            eq = key == kth
            need = k - np.count_nonzero(key > kth, axis=-1, keepdims=True)
            sel &= ~eq | (np.cumsum(eq, axis=-1) <= need)
        cols = np.nonzero(sel)[1].reshape(rows_n, k)      # k a row, by index
        order = np.argsort(~np.take_along_axis(key, cols, -1), axis=-1, kind="stable")
        idx = np.take_along_axis(cols, order, -1).reshape(lead + (k,))
    return [np.take_along_axis(x, idx, axis=-1), idx.astype(np.int32)]


def _top_k_jvp(primals, tangents, *, k):
    (x,), (t,) = primals, tangents
    vals, idx = top_k_p.bind(x, k=k)
    return [vals, idx], [take_along_axis_prim(t, idx, x.ndim - 1), zeros_like(idx)]


def _top_k_batch(size, vals, dims, *, k):
    (x,), (d,) = vals, dims
    outs = top_k_p.bind(bdim_at_front(x, d, size), k=k)
    return outs, [0, 0]


core.shape_rules[top_k_p] = _top_k_shape
core.impl_rules[top_k_p] = _top_k_np
core.jvp_rules[top_k_p] = _top_k_jvp
core.batch_rules[top_k_p] = _top_k_batch


def top_k(x, k):
    """The `k` largest entries along the last axis, in XLA's total order (+NaN first, -NaN
    last, +0 before -0), and their indices (int32; the lower index first among equal
    values)."""
    return tuple(bind(top_k_p, core.to_array(x), k=int(k)))


def sort(operand, dimension=-1, is_stable=True, num_keys=1):
    """Sort along `dimension`; a sequence of operands is sorted by the first `num_keys`."""
    single = isinstance(operand, core.Array) or not isinstance(operand, (list, tuple))
    ops = [core.to_array(operand)] if single else [core.to_array(o) for o in operand]
    nd = ops[0].ndim
    dim = dimension % nd if nd else 0
    outs = bind(sort_p, *ops, dimension=dim, num_keys=int(num_keys))
    return outs[0] if single else tuple(outs)


del defzero_jvp
