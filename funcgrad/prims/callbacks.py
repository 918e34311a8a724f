"""Host callbacks: primitives that call a Python function on the host while a program runs.

- `debug_callback`: calls `callback(*args)` for its effect (printing, logging) and returns
  nothing. It is *effectful* (`ir.effectful`): dead-code elimination, common-subexpression
  elimination and loop hoisting never drop, merge or move it, so it runs wherever the
  program reaches it (every iteration of a loop body). Under `vmap` it runs once per batch
  element, under `jvp`/`grad` once on the primal values, as JAX's `debug_callback`.
- `pure_callback`: computes arrays of declared shapes and dtypes with a Python function. It
  is pure: it may be dropped when its results are unused. Not differentiable (JAX's
  rule: wrap it in `custom_jvp`/`custom_vjp`); `vmap` follows its `vmap_method`.
- `io_callback`: like `pure_callback` but effectful (never dropped or merged).

None has a C or OpenCL lowering: the compiling backends run them as host steps, and a loop
whose body holds one runs as a host loop over the compiled body.
"""
from __future__ import annotations

import numpy as np

from .. import core, dtypes, ir
from ..core import ArrayImpl, ShapedArray, bind
from . import control

VMAP_METHODS = ("sequential", "sequential_unrolled", "expand_dims", "broadcast_all",
                "legacy_vectorized")


class DebugEffect:
    """The effect of a `debug_callback` (the `effect` parameter of its equations)."""

    def __repr__(self):
        return "Debug"

    def __eq__(self, other):
        return type(other) is type(self)

    def __hash__(self):
        return hash(type(self))


class OrderedDebugEffect(DebugEffect):
    """The effect of an `ordered=True` debug callback. funcgrad runs every program's host
    steps in program order, so ordered and unordered callbacks behave the same."""

    def __repr__(self):
        return "OrderedDebug"


def _host_arrays(args):
    """Host copies of the operands, shaped from their values (a compiled program family
    may describe sizes symbolically)."""
    out = []
    for a in args:
        v = a._host_value() if isinstance(a, ArrayImpl) else np.asarray(a)
        out.append(ArrayImpl(v, ShapedArray(v.shape, v.dtype, core.get_aval(a).weak_type)))
    return out


def _unbatch(x, d, i):
    """Element `i` of batched operand `x` (batch axis `d`); unbatched operands as they are."""
    if d is None:
        return x
    from .indexing import slice_in_dim
    from .structural import squeeze
    return squeeze(slice_in_dim(x, i, i + 1, 1, d), (d,))


# ---------------------------------------------------------------------------------------
# debug_callback

debug_callback_p = core.new_primitive("debug_callback", multiple_results=True)
core.shape_rules[debug_callback_p] = lambda *avals, callback, effect: []


def _debug_callback_impl(*args, callback, effect):
    callback(*_host_arrays(args))
    return []


def _debug_callback_jvp(primals, tangents, *, callback, effect):
    # The callback sees the primal values only, once.
    return bind(debug_callback_p, *primals, callback=callback, effect=effect), []


def _debug_callback_batch(size, vals, dims, *, callback, effect):
    # Once per batch element, in order, with the unbatched operands as they are (JAX's rule).
    for i in range(size):
        bind(debug_callback_p, *[_unbatch(x, d, i) for x, d in zip(vals, dims)],
             callback=callback, effect=effect)
    return [], []


control.array_impls[debug_callback_p] = _debug_callback_impl
core.jvp_rules[debug_callback_p] = _debug_callback_jvp
core.batch_rules[debug_callback_p] = _debug_callback_batch
ir.effectful.add(debug_callback_p)


def debug_callback(callback, *args, effect=None):
    """Call `callback(*args)` (funcgrad arrays on the host) when the program runs; args are
    arrays (flat). Returns nothing."""
    args = [a if isinstance(a, core.Array) else core.to_array(a) for a in args]
    bind(debug_callback_p, *args, callback=callback,
         effect=DebugEffect() if effect is None else effect)


# ---------------------------------------------------------------------------------------
# pure_callback and io_callback


def _check_results(what, callback, results, result_avals):
    """The callback's results as host arrays of the declared shapes and dtypes."""
    if len(results) != len(result_avals):
        raise TypeError(f"{what}: the callback {_name(callback)} returned {len(results)} "
                        f"array(s), but result_shape_dtypes declares {len(result_avals)}")
    out = []
    for i, (r, a) in enumerate(zip(results, result_avals)):
        v = np.asarray(r)
        if v.shape != a.shape:
            raise TypeError(f"{what}: result {i} of the callback {_name(callback)} has shape "
                            f"{v.shape}, but result_shape_dtypes declares {a.short()}; "
                            "return arrays of the declared shapes")
        if v.dtype != a.dtype:
            if _canonical(v.dtype) != a.dtype and not np.can_cast(v.dtype, a.dtype,
                                                                   casting="same_kind"):
                raise TypeError(f"{what}: result {i} of the callback {_name(callback)} has "
                                f"dtype {v.dtype}, but result_shape_dtypes declares "
                                f"{a.dtype}; return arrays of the declared dtypes")
        # A copy: the callback may keep and later modify the array it returned.
        v = np.array(v, dtype=a.dtype, order="C", copy=True)
        v.flags.writeable = False
        out.append(ArrayImpl(v, a))
    return out


def _canonical(dt):
    """The dtype funcgrad uses for `dt` (32-bit while 64-bit types are off), quietly: a
    callback's float64 result for a float32 declaration is converted, as in JAX."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dtypes.canonicalize(dt)


def _name(f) -> str:
    return getattr(f, "__name__", type(f).__name__)


pure_callback_p = core.new_primitive("pure_callback", multiple_results=True)
core.shape_rules[pure_callback_p] = lambda *avals, callback, result_avals, vmap_method: list(
    result_avals)


def _pure_callback_impl(*args, callback, result_avals, vmap_method):
    return _check_results("pure_callback", callback, callback(*_host_arrays(args)),
                          result_avals)


def _pure_callback_jvp(primals, tangents, **params):
    raise ValueError("pure_callback: pure callbacks are not differentiable (funcgrad cannot "
                     "see inside the Python function). To differentiate through one, wrap it "
                     "in a function decorated with funcgrad.custom_jvp (or custom_vjp) and "
                     "give its derivative rule.")


def _batched_avals(size, result_avals):
    return tuple(ShapedArray((size,) + a.shape, a.dtype, a.weak_type) for a in result_avals)


def _pure_callback_batch(size, vals, dims, *, callback, result_avals, vmap_method):
    from ..batching import moveaxis_to_front
    if vmap_method is None:
        raise NotImplementedError(
            "pure_callback under vmap needs vmap_method: one of 'sequential', "
            "'sequential_unrolled', 'expand_dims', 'broadcast_all' or 'legacy_vectorized' "
            "(JAX 0.10 requires it too)")
    vals = [moveaxis_to_front(x, d) for x, d in zip(vals, dims)]
    batched = [d is not None for d in dims]
    if vmap_method in ("sequential", "sequential_unrolled"):
        outs = _sequential(pure_callback_p, size, vals, batched, vmap_method == "sequential",
                           callback=callback, result_avals=result_avals,
                           vmap_method=vmap_method)
    else:
        if vmap_method in ("expand_dims", "broadcast_all"):
            from .structural import broadcast_in_dim
            n = size if vmap_method == "broadcast_all" else 1
            vals = [x if b else broadcast_in_dim(x, (n,) + core.get_aval(x).shape,
                                                 tuple(range(1, core.get_aval(x).ndim + 1)))
                    for x, b in zip(vals, batched)]
        outs = bind(pure_callback_p, *vals, callback=callback,
                    result_avals=_batched_avals(size, result_avals), vmap_method=vmap_method)
    return outs, [0] * len(outs)


def _sequential(prim, size, vals, batched, rolled, **params):
    """Bind `prim` once per batch element (a scan when `rolled`, else unrolled) and stack the
    results along a new leading axis."""
    from .indexing import concatenate
    from .structural import broadcast_in_dim
    if rolled:
        from .. import lax
        fixed = [x for x, b in zip(vals, batched) if not b]
        mapped = [x for x, b in zip(vals, batched) if b]

        def body(carry, xs):
            it_f, it_m = iter(fixed), iter(xs)
            args = [next(it_m) if b else next(it_f) for b in batched]
            return carry, list(bind(prim, *args, **params))

        _, ys = lax.scan(body, (), mapped, length=size)
        return list(ys)
    rows = [bind(prim, *[_unbatch(x, 0 if b else None, i) for x, b in zip(vals, batched)],
                 **params) for i in range(size)]
    n_out = len(params["result_avals"])
    outs = []
    for k in range(n_out):
        parts = [broadcast_in_dim(r[k], (1,) + core.get_aval(r[k]).shape,
                                  tuple(range(1, core.get_aval(r[k]).ndim + 1))) for r in rows]
        outs.append(concatenate(parts, 0))
    return outs


control.array_impls[pure_callback_p] = _pure_callback_impl
core.jvp_rules[pure_callback_p] = _pure_callback_jvp
core.batch_rules[pure_callback_p] = _pure_callback_batch


io_callback_p = core.new_primitive("io_callback", multiple_results=True)
core.shape_rules[io_callback_p] = lambda *avals, callback, result_avals, ordered: list(
    result_avals)


def _io_callback_impl(*args, callback, result_avals, ordered):
    return _check_results("io_callback", callback, callback(*_host_arrays(args)),
                          result_avals)


def _io_callback_jvp(primals, tangents, **params):
    raise ValueError("io_callback: IO callbacks are not differentiable; wrap the function "
                     "in funcgrad.custom_jvp (or custom_vjp) to give it a derivative rule.")


def _io_callback_batch(size, vals, dims, *, callback, result_avals, ordered):
    from ..batching import moveaxis_to_front
    if ordered:
        raise ValueError("io_callback: an ordered IO callback cannot be vmapped (its calls "
                         "would have no defined order); pass ordered=False")
    vals = [moveaxis_to_front(x, d) for x, d in zip(vals, dims)]
    outs = _sequential(io_callback_p, size, vals, [d is not None for d in dims], True,
                       callback=callback, result_avals=result_avals, ordered=ordered)
    return outs, [0] * len(outs)


control.array_impls[io_callback_p] = _io_callback_impl
core.jvp_rules[io_callback_p] = _io_callback_jvp
core.batch_rules[io_callback_p] = _io_callback_batch
ir.effectful.add(io_callback_p)


# ---------------------------------------------------------------------------------------
# User-facing wrappers (pytrees in, pytrees out)


def _result_avals(what, result_shape_dtypes):
    from ..tree_util import tree_flatten
    leaves, tree = tree_flatten(result_shape_dtypes)
    avals = []
    for x in leaves:
        if not (hasattr(x, "shape") and hasattr(x, "dtype")):
            raise TypeError(f"{what}: result_shape_dtypes leaves need .shape and .dtype "
                            f"(e.g. funcgrad.ShapeDtypeStruct), got {type(x).__name__}")
        dt = np.dtype(x.dtype)
        if _canonical(dt) != dt:
            raise ValueError(f"{what}: result_shape_dtypes cannot specify {dt} while 64-bit "
                             "types are disabled (enable them with "
                             "funcgrad.config.update('jax_enable_x64', True))")
        avals.append(ShapedArray(tuple(x.shape), dt))
    return tuple(avals), tree


class _FlatResultCallback:
    """Calls `fn(*args, **kwargs)` rebuilt from flat operands and returns the flat leaves of
    its result."""

    def __init__(self, fn, in_tree):
        self.fn = fn
        self.in_tree = in_tree
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)

    def __call__(self, *flat):
        from ..tree_util import tree_leaves, tree_unflatten
        args, kwargs = tree_unflatten(self.in_tree, list(flat))
        return tree_leaves(self.fn(*args, **kwargs))


def _flat_operands(what, args, kwargs):
    from ..tree_util import tree_flatten
    leaves, in_tree = tree_flatten((args, kwargs))
    ops = []
    for x in leaves:
        try:
            ops.append(x if isinstance(x, core.Array) else core.to_array(x))
        except (TypeError, ValueError):
            raise TypeError(f"{what}: arguments must be arrays or numbers (pytrees of them), "
                            f"got {type(x).__name__}; bind other values with "
                            "functools.partial") from None
    return ops, in_tree


def pure_callback(callback, result_shape_dtypes, *args, sharding=None, vmap_method=None,
                  **kwargs):
    """Call the pure Python function `callback(*args, **kwargs)` on the host and return its
    result, a pytree of arrays matching `result_shape_dtypes` (leaves with `.shape` and
    `.dtype`), as JAX's `jax.pure_callback`. Works eagerly and under `jit`; under `vmap`,
    `vmap_method` says how: "sequential" (one call per element), "sequential_unrolled",
    "expand_dims" (unbatched arguments get a leading axis of size 1), "broadcast_all"
    (they are broadcast to the batch size) or "legacy_vectorized". Not differentiable: use
    `custom_jvp`/`custom_vjp`. The call may be skipped when its result is unused.
    `sharding` is accepted for JAX compatibility (funcgrad has one device)."""
    if vmap_method not in VMAP_METHODS + (None,):
        raise ValueError(f"pure_callback: vmap_method must be one of {list(VMAP_METHODS)} or "
                         f"None, got {vmap_method!r}")
    from ..tree_util import tree_unflatten
    avals, out_tree = _result_avals("pure_callback", result_shape_dtypes)
    ops, in_tree = _flat_operands("pure_callback", args, kwargs)
    outs = bind(pure_callback_p, *ops, callback=_FlatResultCallback(callback, in_tree),
                result_avals=avals, vmap_method=vmap_method)
    return tree_unflatten(out_tree, outs)


def io_callback(callback, result_shape_dtypes, *args, sharding=None, ordered=False,
                **kwargs):
    """Call the impure Python function `callback(*args, **kwargs)` on the host and return its
    result (a pytree matching `result_shape_dtypes`), as JAX's
    `jax.experimental.io_callback`: never skipped or merged, run every time the program
    reaches it. Under `vmap` it is called once per element (not with `ordered=True`).
    Not differentiable."""
    from ..tree_util import tree_unflatten
    avals, out_tree = _result_avals("io_callback", result_shape_dtypes)
    ops, in_tree = _flat_operands("io_callback", args, kwargs)
    outs = bind(io_callback_p, *ops, callback=_FlatResultCallback(callback, in_tree),
                result_avals=avals, ordered=bool(ordered))
    return tree_unflatten(out_tree, outs)
