"""Public transforms with pytree wrappers: grad, value_and_grad, vjp, jvp, linearize,
jacfwd, jacrev, hessian, vmap, jit, make_ir, custom_jvp, custom_vjp, checkpoint."""
from __future__ import annotations

import contextlib
import functools
import inspect
import math
import sys
import threading
from collections.abc import Callable, Sequence
from typing import NamedTuple

import numpy as np

from . import ad, config, core, dtypes
from .ad import check_float_input, check_output_dtype
from .batching import vmap_flat
from .core import Array, ArrayImpl, Tracer, bind
from .config import _generation as _config_generation
from .lru import LRU
from . import traceback_util
from .traceback_util import api_boundary
from .ir import (ClosedProgram, Lit, Program, Var, eval_program, hoist_consts,
                 trace_to_program)
from .prims import collectives, control
from .prims.elementwise import convert_element_type as _ew_convert
from .tree import (flatten_up_to, tree_flatten, tree_leaves, tree_map, tree_unflatten)
from .tree_util import is_tree_node as _is_tree_node


def _fun_name(f) -> str:
    return getattr(f, "__name__", type(f).__name__)


class _FamilyName(str):
    """A jitted function's name as the backends get it, with `family`: the name and the
    function's code object, which the C backend keys its size-generic families by (see
    `lowering.symbolic`: a program compiled against another of its family reads the sizes
    that differ at run time). Keyed by the name alone, two functions of one name and one
    structure shared a family: `jit(lambda x: max pool)` then `jit(lambda x: avg pool)`
    compiled the second with its output size a run-time value, 35% slower (13.5 ms against
    10.0, AMD Zen 4), and so would two stax models' `apply_fun`s of one layout."""

    family: object


def _family_name(fun, name: str) -> _FamilyName:
    code = getattr(getattr(fun, "__func__", fun), "__code__", None)
    out = _FamilyName(name)
    out.family = name if code is None else (name, code)
    return out


def _argnums_tuple(argnums, nargs, fname):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise core.TypeOrValueError(      # JAX: TypeError
                f"{fname}: argnums {argnums} out of range for a function called with {nargs} "
                "positional arguments")
    return tuple(a % nargs for a in nums), single


def _as_leaf_array(x, fname):
    if isinstance(x, Array):
        return x
    if isinstance(x, core.HOST_VALUE_TYPES):
        return core.to_array(x)
    raise TypeError(f"{fname}: argument leaves must be arrays or scalars, got "
                    f"{type(x).__name__}: {x!r:.80}")


# ---------------------------------------------------------------------------------------
# jvp / linearize / vjp


def _aux(store):
    """The auxiliary output recorded during a transform, as plain values: a tracer of the
    transform's own (finished) JVP trace is replaced by its primal, as JAX returns aux."""
    def strip(x):
        while isinstance(x, ad.JVPTracer) and not core.main_is_live(x._trace.main):
            x = x.primal
        return x
    return tree_map(strip, store["aux"])


def _flat_output_fun(fun, p_tree, has_aux, store):
    """`fun` over the flat leaves of its arguments, returning flat outputs; the output tree
    (and aux, with `has_aux`) land in `store`."""
    def flat_fun(*args):
        out = fun(*tree_unflatten(p_tree, args))
        if has_aux:
            out, store["aux"] = out
        leaves, tree = tree_flatten(out)
        store["tree"] = tree
        return leaves
    return flat_fun


def _is_float0(x) -> bool:
    return isinstance(x, np.ndarray) and x.dtype == dtypes.float0


def _float0_zeros(aval) -> np.ndarray:
    """The tangent/cotangent of an integer or boolean value, as JAX gives it: a NumPy array of
    JAX's `float0` dtype (no values), of the value's shape."""
    return np.zeros(aval.shape, dtypes.float0)


def _needs_float0(aval) -> bool:
    return not (dtypes.is_float(aval.dtype) or np.issubdtype(aval.dtype, np.complexfloating))


def _int_cotangents(grads, primal_avals) -> list:
    """The cotangents of integer and boolean primals as JAX returns them: `float0` zeros.
    Only where the result leaves every transform: inside `jit`, `vmap` or an outer
    derivative the zeros keep the primal's dtype, because a `float0` array cannot be an
    operand or output of a funcgrad program (a deviation from JAX, where `float0` is a
    dtype of its IR: `jit(grad(f, allow_int=True))` gives integer zeros here)."""
    if core.tracing() or any(isinstance(g, Tracer) for g in grads):
        return list(grads)
    return [_float0_zeros(a) if _needs_float0(a) else g for g, a in zip(grads, primal_avals)]


@api_boundary
def jvp(fun: Callable, primals, tangents, has_aux=False):
    """Forward mode: `(fun(*primals), J(primals) @ tangents)`. The tangent of an integer or
    boolean primal may be a `float0` array (JAX's convention: `np.zeros(shape,
    funcgrad.float0)`); it stands for zero."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError("jvp: primals and tangents must be tuples or lists (of the arguments)")
    if len(primals) != len(tangents):
        raise TypeError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    p_flat, p_tree = tree_flatten(tuple(primals))
    t_flat, t_tree = tree_flatten(tuple(tangents))
    if p_tree != t_tree:
        raise TypeError(f"jvp: primal and tangent structures differ: {p_tree} vs {t_tree}")
    p_flat = [_as_leaf_array(p, "jvp") for p in p_flat]
    for i, (p, t) in enumerate(zip(p_flat, t_flat)):
        if _is_float0(t):
            if not _needs_float0(p.aval):
                raise TypeError(f"jvp: a float0 tangent is only for integer or boolean "
                                f"primals; primal {i} is {p.dtype}: pass a {p.dtype} tangent")
            if t.shape != p.shape:
                raise ValueError(f"jvp: primal shape {p.shape} and tangent shape {t.shape} "
                                 "differ")
            t_flat[i] = ad.zeros_like_aval(p.aval)
    t_flat = [_as_leaf_array(t, "jvp") for t in t_flat]
    for p, t in zip(p_flat, t_flat):
        if p.shape != t.shape:
            raise ValueError(f"jvp: primal shape {p.shape} and tangent shape {t.shape} differ")
        if p.dtype != t.dtype:
            t_dt = t.dtype
            if dtypes.is_inexact(p.dtype) and t.weak_type:
                continue
            raise TypeError(f"jvp: primal dtype {p.dtype} and tangent dtype {t_dt} differ")
    t_flat = [t if t.dtype == p.dtype else t.astype(p.dtype) for p, t in zip(p_flat, t_flat)]
    store = {}
    flat_fun = _flat_output_fun(fun, p_tree, has_aux, store)

    po, to = ad.jvp_flat(flat_fun, p_flat, t_flat)
    out = (tree_unflatten(store["tree"], po), tree_unflatten(store["tree"], to))
    return out + (_aux(store),) if has_aux else out


@api_boundary
def linearize(fun: Callable, *primals, has_aux=False):
    """`(fun(*primals), f_jvp)` (and `aux` with `has_aux`) where `f_jvp(*tangents)`
    evaluates the linearization."""
    p_flat, p_tree = tree_flatten(primals)
    p_flat = [_as_leaf_array(p, "linearize") for p in p_flat]
    store = {}
    flat_fun = _flat_output_fun(fun, p_tree, has_aux, store)

    po, program, consts = ad.linearize_flat(flat_fun, p_flat)

    def f_jvp(*tangents):
        t_flat = flatten_up_to(p_tree, tangents, "linearize: tangents")
        outs = eval_program(program, consts, [core.to_array(t) for t in t_flat])
        return tree_unflatten(store["tree"], outs)

    out = tree_unflatten(store["tree"], po)
    return (out, f_jvp, _aux(store)) if has_aux else (out, f_jvp)


@api_boundary
def vjp(fun: Callable, *primals, has_aux=False, reduce_axes=()):
    """`(fun(*primals), f_vjp)` where `f_vjp(ct)` pulls a cotangent back to the primals.
    As in JAX, the cotangent of an integer or boolean primal is a `float0` array (NumPy,
    `funcgrad.float0`), and an integer output's cotangent may be given as one.
    `reduce_axes` is JAX's deprecated argument: only its default `()` is accepted (JAX 0.10
    raises NotImplementedError for any other value too)."""
    if reduce_axes:
        raise NotImplementedError(f"vjp(reduce_axes={reduce_axes!r}): reduce_axes is "
                                  "deprecated in JAX and not supported; sum the cotangent "
                                  "over the axis (lax.psum) inside the function instead")
    p_flat, p_tree = tree_flatten(primals)
    p_flat = [_as_leaf_array(p, "vjp") for p in p_flat]
    store = {}
    flat_fun = _flat_output_fun(fun, p_tree, has_aux, store)

    po, f_vjp_flat = ad.vjp_flat(flat_fun, p_flat)
    out_tree = store["tree"]
    out_avals = [core.get_aval(o) for o in po]

    def f_vjp(ct):
        ct_flat = flatten_up_to(out_tree, ct, "vjp: cotangent")
        cts = []
        for c, a in zip(ct_flat, out_avals):
            if _is_float0(c) and _needs_float0(a) and c.shape == a.shape:
                c = ad.zeros_like_aval(a)
            c = core.to_array(c)
            if c.shape != a.shape:
                raise ValueError(f"vjp: cotangent shape {c.shape} does not match the output "
                                 f"shape {a.shape}")
            if c.dtype != a.dtype:
                c = c.astype(a.dtype)
            cts.append(c)
        grads = _int_cotangents(f_vjp_flat(cts), [p.aval for p in p_flat])
        return tuple(tree_unflatten(p_tree, grads))

    out = tree_unflatten(out_tree, po)
    return (out, f_vjp, _aux(store)) if has_aux else (out, f_vjp)


# ---------------------------------------------------------------------------------------
# grad


def _no_reduce_axes(name, reduce_axes=()):
    """JAX's `reduce_axes` argument: accepted with its default value only."""
    if reduce_axes:
        raise NotImplementedError(f"{name}(reduce_axes={reduce_axes!r}): not supported (JAX "
                                  "deprecated it too); reduce inside the function instead")


def value_and_grad(fun: Callable, argnums=0, has_aux=False, holomorphic=False,
                   allow_int=False, reduce_axes=()):
    """`(fun(*args), gradient of fun w.r.t. args[argnums])`; fun must return a float scalar.
    With `allow_int`, integer and boolean arguments may be differentiated: their gradient is
    a NumPy array of zeros of dtype `funcgrad.float0`, as in JAX.

    Complex inputs follow JAX's convention: the gradient is the cotangent reverse mode
    gives for the output cotangent 1.0, without conjugation, so for a real-valued f of
    z = x + iy it is df/dx - i df/dy (the conjugate of the steepest-ascent direction:
    `grad(lambda z: abs(z) ** 2)(z) == 2 * conj(z)`). With `holomorphic=True` the inputs
    and the output are complex and the gradient is the complex derivative f'(z)."""
    fname = _fun_name(fun)
    _no_reduce_axes("value_and_grad", reduce_axes)

    @api_boundary
    @functools.wraps(fun)
    def vg(*args, **kwargs):
        nums, single = _argnums_tuple(argnums, len(args), "grad")
        diff_args = [args[i] for i in nums]
        d_flat, d_tree = tree_flatten(tuple(diff_args))
        d_flat = [_as_leaf_array(x, "grad") for x in d_flat]
        for i, x in enumerate(d_flat):
            if holomorphic or not allow_int or dtypes.is_inexact(x.dtype):
                check_float_input(x.aval, f"grad({fname})", nums[0] if single else i,
                                  holomorphic=holomorphic, allow_complex=True)
        store = {}

        def flat_fun(*leaves):
            new_args = list(args)
            for i, a in zip(nums, tree_unflatten(d_tree, leaves)):
                new_args[i] = a
            out = fun(*new_args, **kwargs)
            if has_aux:
                if not (isinstance(out, tuple) and len(out) == 2):
                    raise TypeError(f"grad({fname}) with has_aux=True: the function must "
                                    "return a pair (output, aux)")
                out, aux = out
                store["aux"] = aux
            out = core.to_array(out) if not isinstance(out, Array) else out
            if out.shape != ():
                raise TypeError(f"grad({fname}) requires a scalar output, got shape {out.shape};"
                                " reduce it (e.g. .sum()) or use jacrev/vjp")
            check_output_dtype(out.aval, f"grad({fname})", holomorphic)
            store["out"] = out
            return [out]

        (value,), f_vjp = ad.vjp_flat(flat_fun, d_flat)
        g = f_vjp([core.to_array(np.ones((), core.get_aval(value).dtype))])
        # (allow_int: an integer or boolean argument's gradient is float0 zeros, as JAX's)
        g = _int_cotangents(g, [x.aval for x in d_flat])
        # as JAX's: the gradient of a weakly typed argument (a Python float) is weakly typed,
        # so it does not widen what it is mixed with (float16 * grad(f)(2.0) is float16)
        g = [_ew_convert(gi, gi.dtype, weak_type=True)
             if x.aval.weak_type and isinstance(gi, Array) and not gi.weak_type
             and dtypes.is_inexact(gi.dtype) else gi for gi, x in zip(g, d_flat)]
        g_tree = tree_unflatten(d_tree, g)
        g_out = g_tree[0] if single else tuple(g_tree)
        if has_aux:
            return (value, _aux(store)), g_out
        return value, g_out

    return vg


def grad(fun: Callable, argnums=0, has_aux=False, holomorphic=False, allow_int=False,
         reduce_axes=()):
    """The gradient of a scalar float function w.r.t. `args[argnums]` (pytrees allowed);
    complex inputs and `holomorphic=True` as in `value_and_grad`."""
    _no_reduce_axes("grad", reduce_axes)
    vg = value_and_grad(fun, argnums, has_aux, holomorphic=holomorphic, allow_int=allow_int)

    @api_boundary
    @functools.wraps(fun)
    def g(*args, **kwargs):
        (val, grads) = vg(*args, **kwargs)
        if has_aux:
            return grads, val[1]
        return grads

    return g


# ---------------------------------------------------------------------------------------
# Jacobians


def _std_basis(leaves):
    """Identity matrices laid out per leaf: each leaf gets shape (N, *leaf.shape)."""
    sizes = [x.size for x in leaves]
    n = sum(sizes)
    out, offset = [], 0
    for x, s in zip(leaves, sizes):
        eye = np.zeros((n, s), dtype=x.dtype)
        eye[offset:offset + s, :] = np.eye(s, dtype=x.dtype)
        out.append(core.to_array(eye.reshape((n,) + x.shape)))
        offset += s
    return out, n


def jacfwd(fun: Callable, argnums=0, has_aux=False, holomorphic=False):
    """Jacobian by forward mode (vmapped jvp): output shape `out.shape + in.shape`. Inputs
    are real floats, or complex with `holomorphic=True` (then the outputs must be complex
    too, and the Jacobian holds the complex derivatives), as in JAX."""
    @api_boundary
    def jacfun(*args):
        nums, single = _argnums_tuple(argnums, len(args), "jacfwd")
        dyn = tuple(args[i] for i in nums)
        d_flat, d_tree = tree_flatten(dyn)
        d_flat = [_as_leaf_array(x, "jacfwd") for x in d_flat]
        for i, x in enumerate(d_flat):
            check_float_input(x.aval, "jacfwd", i, holomorphic=holomorphic)
        basis, n = _std_basis(d_flat)
        store = {}

        f_flat = _flat_argfun(fun, args, nums, d_tree, has_aux, store)

        def push(*t):
            return ad.jvp_flat(f_flat, d_flat, list(t))[1]

        outs_t = _vmap_out_last(push, n, basis)
        primal_out = f_flat(*d_flat)
        if holomorphic:
            for o in primal_out:
                check_output_dtype(o.aval, "jacfwd", True)
        res = []
        for o, jt in zip(primal_out, outs_t):
            # jt: (*out.shape, n) -> split n over the input leaves
            parts, off = [], 0
            for x in d_flat:
                from .prims.structural import reshape
                from .prims.indexing import slice_in_dim
                piece = slice_in_dim(jt, off, off + x.size, 1, jt.ndim - 1)
                parts.append(reshape(piece, o.shape + x.shape))
                off += x.size
            per_arg = tree_unflatten(d_tree, parts)
            res.append(per_arg[0] if single else tuple(per_arg))
        jac = tree_unflatten(store["tree"], res)
        return (jac, _aux(store)) if has_aux else jac

    return jacfun


def _flat_argfun(fun, args, nums, d_tree, has_aux, store):
    """`fun` as a function of the flat leaves of `args[nums]`; records the output tree (and
    aux) in `store`."""
    def f_flat(*leaves):
        new_args = list(args)
        for i, a in zip(nums, tree_unflatten(d_tree, leaves)):
            new_args[i] = a
        out = fun(*new_args)
        if has_aux:
            out, store["aux"] = out
        lv, tr = tree_flatten(out)
        store["tree"] = tr
        return [core.to_array(x) for x in lv]
    return f_flat


def _vmap_out_last(f, n, basis):
    outs = vmap_flat(f, n, [0] * len(basis), basis, 0)
    from .prims.structural import moveaxis
    return [moveaxis(o, 0, -1) for o in outs]


def jacrev(fun: Callable, argnums=0, has_aux=False, holomorphic=False, allow_int=False):
    """Jacobian by reverse mode (vmapped vjp): output shape `out.shape + in.shape`. Outputs
    are real floats (inputs may be complex: JAX's gradient convention, see `grad`), or
    inputs and outputs are complex with `holomorphic=True`, as in JAX."""
    if allow_int:
        raise NotImplementedError("jacrev(allow_int=True) is not supported; differentiate "
                                  "with respect to float arguments only")
    @api_boundary
    def jacfun(*args):
        nums, single = _argnums_tuple(argnums, len(args), "jacrev")
        dyn = tuple(args[i] for i in nums)
        d_flat, d_tree = tree_flatten(dyn)
        d_flat = [_as_leaf_array(x, "jacrev") for x in d_flat]
        for i, x in enumerate(d_flat):
            check_float_input(x.aval, "jacrev", i, holomorphic=holomorphic,
                              allow_complex=True)
        store = {}

        f_flat = _flat_argfun(fun, args, nums, d_tree, has_aux, store)

        outs, f_vjp = ad.vjp_flat(f_flat, d_flat)
        for o in outs:
            check_output_dtype(o.aval, "jacrev", holomorphic)
        basis, n = _std_basis(outs)

        def pull(*ct):
            return f_vjp(list(ct))

        rows = vmap_flat(pull, n, [0] * len(basis), basis, [0] * len(d_flat))
        res = []
        off = 0
        from .prims.indexing import slice_in_dim
        from .prims.structural import reshape
        for o in outs:
            parts = []
            for x, r in zip(d_flat, rows):
                piece = slice_in_dim(r, off, off + o.size, 1, 0)
                parts.append(reshape(piece, o.shape + x.shape))
            off += o.size
            per_arg = tree_unflatten(d_tree, parts)
            res.append(per_arg[0] if single else tuple(per_arg))
        jac = tree_unflatten(store["tree"], res)
        return (jac, _aux(store)) if has_aux else jac

    return jacfun


def hessian(fun: Callable, argnums=0, has_aux=False, holomorphic=False):
    """Hessian as forward-over-reverse: `jacfwd(jacrev(fun))` (`holomorphic` passed to
    both, as in JAX)."""
    return jacfwd(jacrev(fun, argnums, has_aux=has_aux, holomorphic=holomorphic), argnums,
                  has_aux=has_aux, holomorphic=holomorphic)


# ---------------------------------------------------------------------------------------
# vmap


def _mapped_size(leaves, dims, paths):
    sizes = {}
    for x, d, p in zip(leaves, dims, paths):
        if d is None:
            continue
        nd = np.ndim(x) if not isinstance(x, Array) else x.ndim
        if not -nd <= d < nd:
            raise ValueError(f"vmap was requested to map its argument along axis {d}, which "
                             f"implies that its rank should be at least {d + 1 if d >= 0 else -d}"
                             f", but is only {nd} (its shape is {np.shape(x)}) [{p}]")
        sizes.setdefault(np.shape(x)[d], []).append((p, np.shape(x), d))
    if len(sizes) > 1:
        lines = "\n".join(f"  {p} of shape {s} mapped along axis {d}: size {sz}"
                          for sz, items in sizes.items() for p, s, d in items)
        raise ValueError(f"vmap got inconsistent sizes for array axes to be mapped:\n{lines}")
    if not sizes:
        return None
    return next(iter(sizes))


def vmap(fun: Callable, in_axes=0, out_axes=0, axis_name=None, axis_size=None,
         spmd_axis_name=None, sum_match=False):
    """Vectorise `fun` over a leading (or `in_axes`) axis of its arguments (JAX's
    signature; `axis_name` names the mapped axis for collectives such as `lax.psum`).
    `out_axes=None` is for outputs that do not depend on a mapped input; with
    `sum_match=True` an output that does is summed over the mapped axis instead (JAX's
    meaning: the result is what the sum of the per-example outputs would be)."""
    fname = _fun_name(fun)
    if not isinstance(sum_match, (bool, np.bool_)):
        raise TypeError(f"vmap({fname}): sum_match must be a bool, got {sum_match!r}")
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)

    @api_boundary
    @functools.wraps(fun)
    def batched(*args, **kwargs):
        if isinstance(in_axes, tuple) and len(in_axes) != len(args):
            raise ValueError(f"vmap({fname}): in_axes has {len(in_axes)} entries but the "
                             f"function was called with {len(args)} positional arguments")
        a_flat, a_tree = tree_flatten(args)
        k_flat, k_tree = tree_flatten(kwargs)
        try:
            dims_tree = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
            dims = _broadcast_prefix(dims_tree, args, "vmap in_axes")
        except ValueError as e:
            raise ValueError(f"vmap({fname}): in_axes {in_axes!r} does not match the structure "
                             f"of the arguments: {e}") from None
        dims = dims + [0] * len(k_flat)
        leaves = a_flat + k_flat
        paths = [f"argument leaf {i}" for i in range(len(a_flat))] + [
            f"keyword leaf {i}" for i in range(len(k_flat))]
        size = _mapped_size(leaves, dims, paths)
        if size is None:
            if axis_size is None:
                raise ValueError(f"vmap({fname}) must have at least one non-None value in "
                                 "in_axes (or pass axis_size)")
            size = axis_size
        # As JAX: an unmapped leaf reaches `fun` as it was passed (a Python int stays an
        # int, usable as a shape); only mapped leaves become Arrays.
        leaves = [core.to_array(x) if d is not None and not isinstance(x, Array) else x
                  for x, d in zip(leaves, dims)]
        dims = [None if d is None else d % leaves[i].ndim for i, d in enumerate(dims)]
        store = {}

        def flat_fun(*xs):
            a = tree_unflatten(a_tree, xs[:len(a_flat)])
            k = tree_unflatten(k_tree, xs[len(a_flat):])
            out = fun(*a, **k)
            lv, tr = tree_flatten(out)
            store["tree"] = tr
            store["n"] = len(lv)
            return lv

        def out_dims_fun(outs_tree):
            return _broadcast_prefix(out_axes, outs_tree, "vmap out_axes")

        outs = _vmap_with_out_axes(flat_fun, size, dims, leaves, store, out_dims_fun,
                                   axis_name, sum_match)
        return tree_unflatten(store["tree"], outs)

    return batched


def _vmap_with_out_axes(flat_fun, size, dims, leaves, store, out_dims_fun, axis_name=None,
                        sum_match=False):
    from .batching import BatchTrace, BatchTracer, move_or_broadcast
    from .prims.reductions import reduce_sum
    with core.new_main(BatchTrace, {"size": size, "axis_name": axis_name}) as main:
        trace = BatchTrace(main)
        tracers = [BatchTracer(trace, x, d) if d is not None else x
                   for x, d in zip(leaves, dims)]
        given = flat_fun(*tracers)
        outs = [core.full_raise(trace, o) for o in given]
        skeleton = tree_unflatten(store["tree"], [0] * len(outs))
        want = out_dims_fun(skeleton)
        res = []
        for o, t, d in zip(given, outs, want):
            if d is None and t.bdim is None and not (
                    isinstance(o, core.Tracer) and o._trace.main is main):
                res.append(o)        # never met the mapped axis: returned as given (JAX)
            elif d is None and t.bdim is not None and sum_match:
                res.append(reduce_sum(t.val, (t.bdim,)))
            else:
                res.append(move_or_broadcast(t.val, t.bdim, d, size))
        return res


def _broadcast_prefix(prefix, tree, what):
    """Leaves of `prefix` broadcast over the leaves of `tree` (a prefix tree)."""
    leaves = []
    p_flat, p_tree = tree_flatten(prefix, is_leaf=lambda x: x is None)
    subtrees = flatten_up_to(p_tree, tree, what)
    for p, sub in zip(p_flat, subtrees):
        n = len(tree_leaves(sub))
        if p is not None and not isinstance(p, int):
            raise TypeError(f"{what} leaves must be ints or None, got {p!r}")
        leaves.extend([p] * n)
    return leaves


# ---------------------------------------------------------------------------------------
# jit


class _HashableStatic:
    __slots__ = ("val", "h")

    def __init__(self, val, what):
        try:
            self.h = hash(val)
        except TypeError:
            raise core.TypeOrValueError(         # JAX: ValueError; Python: TypeError
                f"{what} must be hashable to be a static argument of jit, got "
                f"{type(val).__name__}: {val!r:.80}. Make it a tuple, or pass it as a traced "
                "(array) argument instead.") from None
        self.val = val

    def __hash__(self):
        return self.h

    def __eq__(self, other):
        return isinstance(other, _HashableStatic) and type(self.val) is type(other.val) and \
            bool(self.val == other.val)


class ArgInfo(NamedTuple):
    """One argument of a lowered or compiled function: its abstract value and whether it
    is donated (JAX's `jax.stages.ArgInfo`)."""

    aval: core.ShapedArray
    donated: bool

    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)


class _Stage:
    """What `Traced`, `Lowered` and `Compiled` share: the traced program of one signature
    and its argument and result structure."""

    def __init__(self, program, consts, backend, name, in_tree=None, out_tree=None,
                 donate=(), donate_argnums=()):
        self.program = program
        self.consts = consts
        self.backend = backend
        self.name = name
        self.in_tree = in_tree
        self.out_tree = out_tree
        self._donate = tuple(donate)
        self.donate_argnums = tuple(donate_argnums)

    @property
    def in_avals(self):
        """The arguments' abstract values, as the (args, kwargs) pytree."""
        return tree_unflatten(self.in_tree, list(self.program.in_avals[len(self.consts):]))

    @property
    def args_info(self):
        """An ArgInfo per argument, as the (args, kwargs) pytree."""
        flags = self._donate[len(self.consts):] or (False,) * self.in_tree.num_leaves
        return tree_unflatten(self.in_tree, [
            ArgInfo(a, bool(d))
            for a, d in zip(self.program.in_avals[len(self.consts):], flags)])

    @property
    def out_info(self):
        """A ShapeDtypeStruct per result, as the result's pytree."""
        return tree_unflatten(self.out_tree, [
            ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type)
            for a in self.program.out_avals])

    def _backend(self):
        from .backends import get_backend
        return get_backend(self.backend)

    def cost_analysis(self) -> dict:
        """An estimate of the flops, transcendentals and bytes the program computes and
        moves (`funcgrad.cost_analysis`: how each is counted)."""
        from .cost_analysis import cost_analysis
        return cost_analysis(self._backend().optimize(self.program))


class Traced(_Stage):
    """What `jit(f).trace(*args)` returns: the program traced for one signature."""

    @property
    def jaxpr(self) -> ClosedProgram:
        return ClosedProgram(self.program, list(self.consts))

    fun_name = property(lambda self: self.name)
    out_avals = property(lambda self: tree_unflatten(self.out_tree,
                                                     list(self.program.out_avals)))

    def lower(self) -> Lowered:
        return Lowered(self.program, self.consts, self.backend, self.name, self.in_tree,
                       self.out_tree, self._donate, self.donate_argnums)


class Lowered(_Stage):
    """What `jit(f).lower(*args)` returns: the traced and optimised IR, and the generated
    source where the backend produces one. `compile()` compiles it ahead of time."""

    @property
    def ir(self) -> str:
        return str(self.optimized_program())

    def optimized_program(self):
        return self._backend().optimize(self.program)

    def as_text(self) -> str:
        return self.ir

    def compiler_ir(self, dialect=None):
        """The optimised program (funcgrad's IR; JAX returns an MLIR module)."""
        return self.optimized_program()

    def compile(self, compiler_options=None) -> Compiled:
        """Compile the program now (a first call then runs without compiling) and return
        the Compiled function, which takes the non-static arguments of this signature."""
        if compiler_options:
            raise NotImplementedError("Lowered.compile: compiler_options are XLA's; funcgrad "
                                      "takes none")
        self._backend().compile(self.program, self.name)
        return Compiled(self.program, self.consts, self.backend, self.name, self.in_tree,
                        self.out_tree, self._donate, self.donate_argnums)

    @property
    def source(self) -> str:
        b = self._backend()
        src = b.render_source(self.program, self.name)
        if src is None:
            return f"(the {b.name} backend interprets the IR; no source is generated)"
        return src

    c_source = source

    def to_dot(self, **kwargs) -> str:
        """The program as Graphviz DOT text (`funcgrad.export.to_dot`)."""
        from .export.graph import to_dot
        return to_dot(self, **kwargs)

    def render(self, path, **kwargs) -> str:
        """Draw the program with Graphviz into `path` (.svg, .png, .pdf)."""
        from .export.graph import render
        return render(self, path, **kwargs)

    def _repr_svg_(self):
        from .export.graph import to_svg
        return to_svg(self)


class Compiled(_Stage):
    """What `jit(f).lower(*args).compile()` returns: the program compiled for one
    signature. It is called with that signature's arguments, static ones left out (as in
    JAX); other shapes, dtypes or pytree structures raise TypeError."""

    def __call__(self, *args, **kwargs):
        what = f"Compiled({self.name})"
        leaves, tree = tree_flatten((args, kwargs))
        if tree != self.in_tree:
            raise TypeError(
                f"{what}: the arguments' pytree {tree} does not match the one it was "
                f"compiled for, {self.in_tree} (a compiled function takes the non-static "
                "arguments of the lowering, in the same structure)")
        leaves = [_as_leaf_array(x, what) for x in leaves]
        want = self.program.in_avals[len(self.consts):]
        bad = [f"argument {i} compiled with {w.short()} and called with "
               f"{x.aval.short()}" for i, (x, w) in enumerate(zip(leaves, want))
               if x.aval.shape != w.shape or x.aval.dtype != w.dtype]
        if bad:
            raise TypeError(f"{what}: the argument types differ from those it was compiled "
                            f"for: {'; '.join(bad)} (lower and compile again for these, or "
                            "call the jitted function, which compiles per signature)")
        return _run_program(self.program, self.consts, self.out_tree, self._donate, leaves,
                            self.name, self.backend)

    def as_text(self) -> str:
        """The generated source (C or OpenCL C), or the IR where the backend interprets."""
        src = self._backend().render_source(self.program, self.name)
        return src if src is not None else str(self._backend().optimize(self.program))

    def memory_analysis(self):
        """The bytes of the arguments and results (a namespace with JAX's field names)."""
        import types

        from .cost_analysis import nbytes
        return types.SimpleNamespace(
            argument_size_in_bytes=nbytes(self.program.in_avals),
            output_size_in_bytes=nbytes(self.program.out_avals),
            alias_size_in_bytes=0, generated_code_size_in_bytes=0)


def _run_program(program, consts, out_tree, donate, leaves, name, backend):
    """Run a traced program on argument leaves (jit's slow path and `Compiled`): the
    donated arguments become unusable, an output that is a donated input itself takes its
    buffer over as a new array (as in JAX)."""
    outs = bind(control.jit_p, *consts, *leaves, program=program, name=name,
                backend=backend, donate=donate)
    if any(donate):
        donated = [x for x, d in zip(list(consts) + leaves, donate)
                   if d and isinstance(x, ArrayImpl)]
        outs = [ArrayImpl(o._value, o.aval, o._backend)
                if any(o is x for x in donated) else o for o in outs]
        for x in donated:
            x.delete("donated")
    return tree_unflatten(out_tree, outs)


_SCALAR_SIGNATURES = {float: "f", int: "i", bool: "b"}


def _leaf_signature(x, leaves):
    """The fast-path signature of one argument (appending its leaves), or None."""
    t = type(x)
    if t is ArrayImpl:
        leaves.append(x)
        # a device array's signature names its backend: the runner of a program compiled
        # for host arrays must not take it as one
        return x.aval if x._backend is None else (x._backend, x.aval)
    if t is np.ndarray:
        leaves.append(x)
        return (x.dtype, x.shape)
    s = _SCALAR_SIGNATURES.get(t)
    if s is not None:
        leaves.append(x)
        return s
    if isinstance(x, np.generic):            # a NumPy scalar: typed by its dtype
        leaves.append(x)
        return ("np", x.dtype)
    if t is tuple or t is list or t is dict or _is_tree_node(t):
        # (a registered node too: an optimizer's state, a namedtuple, a dataclass)
        sub, tree = tree_flatten(x)
        sigs = []
        for leaf in sub:
            if type(leaf) is ArrayImpl:         # the common leaf, without a call
                leaves.append(leaf)
                sigs.append(leaf.aval if leaf._backend is None else (leaf._backend, leaf.aval))
                continue
            sig = _leaf_signature(leaf, leaves)
            if sig is None:
                return None
            sigs.append(sig)
        return (tree, tuple(sigs))
    return None


# Outputs of more bytes than this are not remembered for `_feedback` (flattening is cheap
# beside the step that makes them, and remembering them would keep them alive).
_FEEDBACK_BYTES = 1 << 20


def _feedback(out_tree, out_avals, owner):
    """The outputs a training loop feeds back: for each top-level child of a tuple of
    outputs that holds only immutable containers (tuples, namedtuples, None) and arrays,
    `(index, first leaf, end leaf, the signature _leaf_signature gives it)`; None when there
    is none, or when the outputs are large. Such a child passed to the next call is
    recognised by identity, and its leaves are those of the output (a tuple cannot have
    changed since; a list or dict could have, and is flattened again)."""
    if out_tree.node_type is None or out_tree._kind is not tuple:
        return None
    if sum(a.size * a.dtype.itemsize for a in out_avals) > _FEEDBACK_BYTES:
        return None
    out, lo = [], 0
    for i, child in enumerate(out_tree.children):
        n = child.num_leaves
        if child.node_type is not None and n and _immutable_tree(child):
            sigs = tuple(a if owner is None else (owner, a) for a in out_avals[lo:lo + n])
            out.append((i, lo, lo + n, (child, sigs)))
        lo += n
    return out or None


_canonical_aval = core.canonical_aval


def _canonical_key(k):
    """`k` (a fast-path key: nested tuples) with its avals made canonical."""
    if type(k) is tuple:
        return tuple([_canonical_key(x) for x in k])
    return _canonical_aval(k)


def _immutable_tree(td) -> bool:
    if td.node_type is None:
        return True
    kind = td._kind
    ok = kind is tuple or kind is type(None) or (
        isinstance(kind, type) and issubclass(kind, tuple))
    return ok and all(_immutable_tree(c) for c in td.children)


def _leaf_converters(leaves, program):
    """Per leaf, the conversion of a NumPy array or Python scalar to the host array the
    compiled program reads (None for leaves that already are); None when no leaf needs one.
    A NumPy array the program returns unchanged is copied (funcgrad arrays are immutable,
    the caller's NumPy array is not)."""
    if all(type(x) is ArrayImpl for x in leaves):
        return None
    invars = program.invars[len(program.invars) - len(leaves):]
    passthrough = {v.id for v in program.outvars if isinstance(v, Var)}
    out = []
    for x, v in zip(leaves, invars):
        aval = _canonical_aval(v.aval)       # (found by identity in _SCALAR_ARRAYS' keys)
        if type(x) is ArrayImpl:
            out.append(_same)
        elif type(x) is np.ndarray:
            copy = v.id in passthrough
            out.append(functools.partial(_from_numpy, aval=aval, copy=copy))
        else:
            out.append(functools.partial(_from_scalar, aval=aval))
    return out


def _same(x):
    return x


def _donated_runner(backend, program, consts, name, donate, leaves):
    """The backend's runner of a program with donated arguments (`donated_runner`: it may
    write outputs into their buffers), when every donated leaf is a host array (a NumPy
    array or a scalar passed there has no buffer to give); else None (the slow path)."""
    make = getattr(backend, "donated_runner", None)
    flags = donate[len(consts):]
    if make is None or len(flags) != len(leaves) or any(
            d and (type(x) is not ArrayImpl or x._backend is not None)
            for x, d in zip(leaves, flags)):
        return None
    return make(program, consts, name, donate)


def _from_numpy(x, aval, copy):
    if copy:
        v = np.array(x, aval.dtype, order="C", copy=True)
    elif x.dtype == aval.dtype and x.flags.c_contiguous:
        v = x                            # (np.ascontiguousarray's call alone costs more)
    else:
        v = np.asarray(x, aval.dtype, order="C")   # (ascontiguousarray makes 0-d 1-d)
    return ArrayImpl(v, aval)


# Python scalars converted for the fast path, by (type, value, sign, aval): a scalar is
# immutable, and so is its array, which keeps the buffer address the C backend reads
# once. Bounded; cleared when full (a step counter fills it with fresh values).
_SCALAR_ARRAYS: dict = {}
_SCALAR_ARRAYS_MAX = 256


def _from_scalar(x, aval):
    if isinstance(x, (complex, np.complexfloating)):
        return ArrayImpl(np.asarray(x, aval.dtype), aval)   # (signed zeros in two parts)
    # the sign tells 0.0 from -0.0, which are equal as keys
    key = (type(x), x, math.copysign(1.0, x) if isinstance(x, (float, np.floating)) else 0,
           aval)
    a = _SCALAR_ARRAYS.get(key)
    if a is None:
        if len(_SCALAR_ARRAYS) >= _SCALAR_ARRAYS_MAX:
            _SCALAR_ARRAYS.clear()
        a = _SCALAR_ARRAYS[key] = ArrayImpl(np.asarray(x, aval.dtype), aval)
    return a


def _jit_mode():
    if config.read("disable_jit"):
        return "disabled"
    if core.debug_checks_on():
        return "debug"
    return None


def _check_argnums(sig, argnums, what, fname):
    """JAX's check at `jit` time: every index names a positional parameter of `fun` (when
    its signature is known and it takes no *args)."""
    for a in argnums:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"jit({fname}): {what} must be ints, got {a!r}")
    if sig is None:
        return
    kinds = [p.kind for p in sig.parameters.values()]
    if inspect.Parameter.VAR_POSITIONAL in kinds:
        return
    n = sum(k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
            for k in kinds)
    for a in argnums:
        if not -n <= a < n:
            raise ValueError(f"jit({fname}): {what}={tuple(argnums)} refers to argument {a}, "
                             f"but the function takes {n} positional argument(s)")


def _jit_cache_size() -> int:
    return config.read("jit_cache_size")


class Jitted:
    """A jit-compiled function: traced once per input signature, run by the backend."""

    def __init__(self, fun, static_argnums=(), static_argnames=(), donate_argnums=(),
                 backend=None, donate_argnames=()):
        self.fun = fun
        self.__name__ = _fun_name(fun)
        self._family_name = _family_name(fun, self.__name__)
        self.__doc__ = getattr(fun, "__doc__", None)
        self.__wrapped__ = fun
        if isinstance(static_argnums, int):
            static_argnums = (static_argnums,)
        if isinstance(static_argnames, str):
            static_argnames = (static_argnames,)
        if isinstance(donate_argnums, int):
            donate_argnums = (donate_argnums,)
        self.static_argnums = tuple(static_argnums)
        self.static_argnames = tuple(static_argnames)
        self.donate_argnums = tuple(donate_argnums)
        self.backend = backend
        # Traced programs per input signature (least recently used dropped beyond
        # config.jit_cache_size), and the dispatch fast path's direct runners.
        self._cache = LRU(_jit_cache_size)
        self._fast: dict = {}
        # The last fast-path call's outputs that can come back as arguments (`_feedback`)
        self._fed: list = []
        self._fast_gen = config.generation()
        # (a list: `jit(f)` again for the same f shares it with the traces it guards)
        self._cleared = [_cleared[0]]
        self._mode = _jit_mode()
        self._static_positions: dict[int, frozenset] = {}
        self._trace_lock = threading.RLock()
        self.trace_count = 0
        try:
            self._sig = inspect.signature(fun)
        except (TypeError, ValueError):
            self._sig = None
        _check_argnums(self._sig, self.static_argnums, "static_argnums", self.__name__)
        _check_argnums(self._sig, self.donate_argnums, "donate_argnums", self.__name__)
        if self.static_argnames and self._sig is not None:
            params = list(self._sig.parameters)
            takes_kwargs = any(p.kind is inspect.Parameter.VAR_KEYWORD
                               for p in self._sig.parameters.values())
            for name in self.static_argnames:
                if name not in params and not takes_kwargs:
                    raise ValueError(f"jit({self.__name__}): static_argnames names {name!r}, "
                                     f"which is not a parameter of the function ({params})")
                if name in params:
                    idx = params.index(name)
                    if idx not in self.static_argnums:
                        self.static_argnums += (idx,)
        if self.static_argnums and self._sig is not None:
            # a static position passed by keyword is static too (JAX infers the names from
            # the signature)
            params = list(self._sig.parameters.values())
            for i in self.static_argnums:
                if 0 <= i < len(params) and params[i].kind is \
                        inspect.Parameter.POSITIONAL_OR_KEYWORD and params[i].name not in \
                        self.static_argnames:
                    self.static_argnames += (params[i].name,)
        if isinstance(donate_argnames, str):
            donate_argnames = (donate_argnames,)
        for name in donate_argnames:
            params = list(self._sig.parameters) if self._sig is not None else []
            if name not in params:
                raise ValueError(f"jit({self.__name__}): donate_argnames names {name!r}, which "
                                 f"is not a parameter of the function ({params})")
            idx = params.index(name)
            if idx not in self.donate_argnums:
                self.donate_argnums += (idx,)

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return functools.partial(self, obj)

    def _split(self, args, kwargs):
        nargs = len(args)
        static_nums = tuple(a % nargs for a in self.static_argnums if -nargs <= a < nargs)
        statics = tuple(_HashableStatic(args[i], f"argument {i} of {self.__name__}")
                        for i in static_nums)
        static_kw = tuple(sorted((k, _HashableStatic(v, f"argument {k!r} of {self.__name__}"))
                                 for k, v in kwargs.items() if k in self.static_argnames))
        dyn_args = tuple(a for i, a in enumerate(args) if i not in static_nums)
        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        return static_nums, statics, static_kw, dyn_args, dyn_kwargs

    def _prepare(self, args, kwargs, abstract=False):
        static_nums, statics, static_kw, dyn_args, dyn_kwargs = self._split(args, kwargs)
        leaves, in_tree = tree_flatten((dyn_args, dyn_kwargs))
        if abstract:        # trace/lower/eval_shape: ShapeDtypeStructs stand for arrays
            leaves = [x if isinstance(x, core.ShapedArray) else
                      _as_leaf_array(x, f"jit({self.__name__})") for x in leaves]
            avals = tuple(core.ShapedArray(x.shape, x.dtype, x.weak_type)
                          if isinstance(x, core.ShapedArray) else x.aval for x in leaves)
        else:
            leaves = [_as_leaf_array(x, f"jit({self.__name__})") for x in leaves]
            avals = tuple(x.aval for x in leaves)
        # (the x64 switch changes what the function traces to: Python scalars' dtypes,
        # creation defaults)
        # (so do the axis names bound around a traced call: collectives inside resolve them)
        axes = tuple(collectives.bound_axis_names()) if core.tracing() else ()
        # (and the options JAX keys jit on: numpy rank/dtype promotion, matmul precision)
        key = (in_tree, avals, static_nums, statics, static_kw, self.backend,
               dtypes.x64_enabled(), axes, config.trace_context())
        return key, leaves, in_tree, static_nums, dyn_args

    def _trace(self, key, args, kwargs, in_tree, static_nums, avals):
        self.trace_count += 1
        if config.read("log_compiles"):
            print(f"funcgrad: tracing jit({self.__name__}) for signature "
                  f"{[a.short() + ('~weak' if a.weak_type else '') for a in avals]}"
                  f" static={[s.val for s in key[3]]}", file=sys.stderr)
        nargs = len(args)
        store = {}

        def flat_fun(*leaves):
            dyn_args, dyn_kwargs = tree_unflatten(in_tree, leaves)
            it = iter(dyn_args)
            full_args = [args[i] if i in static_nums else next(it) for i in range(nargs)]
            kw = dict(dyn_kwargs)
            kw.update({k: v for k, v in kwargs.items() if k in self.static_argnames})
            out = self.fun(*full_args, **kw)
            out_leaves, out_tree = tree_flatten(out)
            store["tree"] = out_tree
            return [core.to_array(o) if not isinstance(o, Array) else o for o in out_leaves]

        program, consts = trace_to_program(flat_fun, avals)
        program = hoist_consts(program)
        if config.read("enable_checks"):
            check_program(program, f"jit({self.__name__})")
        return program, consts, store["tree"]

    def _donate_flags(self, static_nums, nargs, in_tree, nconsts, kwargs):
        dyn_positions = [i for i in range(nargs) if i not in static_nums]
        flags = []
        dyn_args_tree = in_tree.children[0]
        for pos, sub in zip(dyn_positions, dyn_args_tree.children):
            flags.extend([pos in self.donate_argnums] * sub.num_leaves)
        # an argument passed by keyword is donated when its position is (JAX resolves
        # donate_argnums and donate_argnames through the signature either way)
        params = list(self._sig.parameters) if self._sig is not None else []
        for name in sorted(k for k in kwargs if k not in self.static_argnames):
            pos = params.index(name) if name in params else -1
            flags.extend([pos in self.donate_argnums] * len(tree_leaves(kwargs[name])))
        return (False,) * nconsts + tuple(flags)

    def _lookup(self, args, kwargs, abstract=False):
        if self._cleared[0] != _cleared[0]:
            self.clear_cache()               # (funcgrad.clear_caches)
        key, leaves, in_tree, static_nums, _ = self._prepare(args, kwargs, abstract)
        entry = self._cache.get(key)
        if entry is None:
            # One thread traces a signature while the others wait for its program (so they
            # share one compilation too); re-entrant for a function that calls itself.
            with self._trace_lock:
                entry = self._cache.get(key)
                if entry is None:
                    program, consts, out_tree = self._trace(key, args, kwargs, in_tree,
                                                            static_nums, key[1])
                    # Arrays the function closes over, held as arrays of their own: the
                    # caller deleting or donating one must not change (or free) the
                    # program's constant, which JAX embeds in its executable
                    consts = [c._new_handle() if isinstance(c, ArrayImpl) else c
                              for c in consts]
                    donate = self._donate_flags(static_nums, len(args), in_tree, len(consts),
                                                kwargs)
                    entry = (program, consts, out_tree, donate)
                    if not any(isinstance(c, Tracer) for c in consts):
                        self._cache.put(key, entry)
        return entry, leaves

    def __call__(self, *args, **kwargs):
        state = core._state              # (core.tracing() and config.generation(), inline:
        if not state.stack and state.dynamic is None:   # 0.1 us of a 3 us dispatch)
            if self._fast_gen != _config_generation[0]:
                self._fast.clear()           # the default backend (or a flag) changed
                self._fed.clear()
                self._fast_gen = config.generation()
                self._mode = _jit_mode()
            if self._mode is not None:
                return self._call_special(args, kwargs)
            if not kwargs:
                if len(args) == 1:       # (without the comprehension: 0.3 us less)
                    x = args[0]
                    key = None if type(x) is not ArrayImpl else \
                        (x.aval,) if x._backend is None else ((x._backend, x.aval),)
                else:
                    key = tuple([x.aval if x._backend is None else (x._backend, x.aval)
                                 for x in args if type(x) is ArrayImpl])
                    if len(key) != len(args):
                        key = None
                if key is not None:
                    hit = self._fast.get(key)
                    if hit is not None:
                        return hit(args)
            sig = self._signature(args, kwargs)
            if sig is not None:
                hit = self._fast.get(sig[0])
                if hit is not None:
                    return hit(sig[1])
        if traceback_util.entered():
            return self._call_slow(args, kwargs)
        with traceback_util.boundary():
            try:
                return self._call_slow(args, kwargs)
            except Exception as e:
                tb = traceback_util.filtered(e)
                if tb is None:
                    raise
                raise e.with_traceback(tb)   # noqa: B904 (the same exception, a shorter traceback; this line is the one funcgrad frame left)

    def _call_special(self, args, kwargs):
        """`disable_jit` (run `fun` eagerly) and `debug_nans`/`debug_infs` (check the
        outputs; on a nan, run `fun` eagerly to name the operation, as JAX does)."""
        if self._mode == "disabled":
            return self.fun(*args, **kwargs)
        out = self._call_slow(args, kwargs)
        try:
            core.check_finite(tree_leaves(out), f"jit({self.__name__})")
        except FloatingPointError as e:
            with config.override("disable_jit", True):
                self.fun(*args, **kwargs)      # raises at the operation, if it is eager-visible
            raise FloatingPointError(
                f"{e}. Because debug_nans/debug_infs is set, the function was also run "
                "without jit to find the operation, but it produced no invalid value there "
                "(the compiled code computes it differently, e.g. fused or reordered)") from None
        return out

    def _signature(self, args, kwargs):
        """(key, leaves) of a call whose leaves are host arrays, NumPy arrays or Python
        scalars: the key identifies the traced program as `_prepare`'s does (static values
        included), the leaves are in `_prepare`'s order. None: take the slow path."""
        nargs = len(args)
        statics = self._static_positions.get(nargs)
        if statics is None:
            statics = self._static_positions[nargs] = frozenset(
                a % nargs for a in self.static_argnums if -nargs <= a < nargs)
        leaves: list = []
        parts = []
        fed = self._fed
        for i, a in enumerate(args):
            if i in statics:
                parts.append((type(a), a))
            else:
                if fed:
                    # an output of the last call fed back in (a training loop's state):
                    # its leaves and signature are known, without flattening it again
                    hit = next((f for f in fed if f[0] is a), None)
                    if hit is not None:
                        leaves.extend(hit[2])
                        parts.append(hit[1])
                        continue
                sig = _leaf_signature(a, leaves)
                if sig is None:
                    return None
                parts.append(sig)
        if kwargs:
            for k in sorted(kwargs):
                v = kwargs[k]
                if k in self.static_argnames:
                    parts.append((k, type(v), v))
                else:
                    sig = _leaf_signature(v, leaves)
                    if sig is None:
                        return None
                    parts.append((k, sig))
        key = (nargs, tuple(parts))
        try:
            hash(key)
        except TypeError:
            return None                      # an unhashable static: the slow path says so
        return key, leaves

    def _call_slow(self, args, kwargs):
        (program, consts, out_tree, donate), leaves = self._lookup(args, kwargs)
        out = _run_program(program, consts, out_tree, donate, leaves, self._family_name,
                           self.backend)
        self._maybe_fast_path(args, kwargs, program, consts, out_tree, donate)
        return out

    def _maybe_fast_path(self, args, kwargs, program, consts, out_tree, donate):
        """Remember a direct route to the compiled executable for this signature: a later
        call with the same signature (`_signature`) skips tracing machinery and `bind`."""
        if core.tracing():
            return
        if any(isinstance(c, Tracer) for c in consts):
            return
        sig = self._signature(args, kwargs)
        if sig is None:
            return
        key, leaves = sig
        from .backends import default_backend_name, get_backend
        name = self.backend or default_backend_name()
        backend = get_backend(name)
        if any(donate):
            runner = _donated_runner(backend, program, consts, self._family_name, donate,
                                     leaves)
        else:
            runner = backend.fast_runner(program, consts, self._family_name)
        if runner is None:
            return
        convert = _leaf_converters(leaves, program)
        # the outputs' avals, and those in the key, are canonical objects: a state fed back
        # is then looked up by identity, not by 12 calls of ShapedArray.__eq__ (~5 us)
        out_avals = [_canonical_aval(a) for a in program.out_avals]
        key = _canonical_key(key)
        owner = None if backend.host_arrays else backend
        single = out_tree.num_leaves == 1 and out_tree.node_type is None
        one = getattr(runner, "one", None)
        gone = [i for i, d in enumerate(donate[len(consts):]) if d]    # (donated leaves)
        if not gone and convert is None and single and one is not None:
            aval0 = out_avals[0]

            def call(leaves, one=one, aval0=aval0):
                value, addr = one(leaves)
                out = ArrayImpl(value, aval0, owner)
                out._addr = addr       # (fed back in, `x = f(x)`, it is not looked up)
                return out
        elif not gone and convert is None and single:
            aval0 = out_avals[0]

            def call(leaves, runner=runner, aval0=aval0):
                return ArrayImpl(runner(leaves)[0], aval0, owner)
        elif not gone and single:
            aval0 = out_avals[0]

            def call(leaves, runner=runner, aval0=aval0):
                return ArrayImpl(runner([f(x) for f, x in zip(convert, leaves)])[0], aval0,
                                 owner)
        else:
            feedback = _feedback(out_tree, out_avals, owner)
            fed = self._fed      # (the list, not `self`: jit(f) wrappers share this path)

            def call(leaves, runner=runner, out_tree=out_tree, out_avals=out_avals):
                if convert is not None:
                    leaves = [f(x) for f, x in zip(convert, leaves)]
                outs = runner(leaves)
                # (as `_run_program`: the donated arrays become unusable; an output that is
                # a donated input's buffer is a new array)
                for i in gone:
                    leaves[i].delete("donated")
                arrays = [ArrayImpl(o, a, owner) for o, a in zip(outs, out_avals)]
                addrs = getattr(outs, "addrs", None)
                if addrs is not None and owner is None:
                    # the buffer addresses the C runner wrote: an output fed back in (a
                    # training loop's state) is not looked up again
                    for arr, ad in zip(arrays, addrs):
                        arr._addr = ad
                out = tree_unflatten(out_tree, arrays)
                if feedback is not None:
                    fed[:] = [(out[i], sig, arrays[lo:hi]) for i, lo, hi, sig in feedback]
                return out

        fast = self._fast
        if len(fast) >= 2 * _jit_cache_size():
            # Bounded like the trace cache (oldest first): a dropped entry only costs a trip
            # through the slow path, which puts it back.
            for k in list(fast)[:len(fast) // 2]:
                fast.pop(k, None)
        fast[key] = call
        if not kwargs and all(type(x) is ArrayImpl for x in args):
            fast[_canonical_key(tuple(x.aval if x._backend is None else (x._backend, x.aval)
                                      for x in args))] = call

    def trace(self, *args, **kwargs) -> Traced:
        """The program traced for these arguments' signature (JAX's AOT `trace`)."""
        return self._stage(Traced, args, kwargs)

    def lower(self, *args, **kwargs) -> Lowered:
        """The program for these arguments' signature, optimised and rendered by the backend;
        `.compile()` compiles it ahead of time."""
        return self._stage(Lowered, args, kwargs)

    def _stage(self, cls, args, kwargs):
        (program, consts, out_tree, donate), leaves = self._lookup(args, kwargs, True)
        in_tree = self._prepare(args, kwargs, True)[2]
        nargs = len(args)
        static = {a % nargs for a in self.static_argnums if -nargs <= a < nargs}
        donated = tuple(i for i in self.donate_argnums if i not in static)
        return cls(program, consts, self.backend, self._family_name, in_tree, out_tree, donate,
                   donated)

    def eval_shape(self, *args, **kwargs):
        """The ShapeDtypeStructs this function returns for these arguments (arrays,
        scalars or ShapeDtypeStructs), from its traced program."""
        (program, consts, out_tree, donate), _ = self._lookup(args, kwargs, True)
        return tree_unflatten(out_tree, [ShapeDtypeStruct(a.shape, a.dtype,
                                                          weak_type=a.weak_type)
                                         for a in program.out_avals])

    def clear_cache(self):
        """Forget this function's traced programs and dispatch paths: its next call traces
        again (JAX's `Wrapped.clear_cache`)."""
        self._cache.clear()
        self._fast.clear()
        self._fed.clear()
        self._cleared[0] = _cleared[0]


# Bumped by `clear_jit_caches` (funcgrad.clear_caches): a jitted function that sees it
# changed (`_lookup`) forgets its traces. (The dispatch fast path, which does not look up
# traces, drops its runners when the config generation changes, bumped at the same time.)
_cleared = [0]


def clear_jit_caches() -> None:
    """Make every jitted function (and `jit(f)` again of a function already wrapped) trace
    again at its next call, as `jax.clear_caches()` does."""
    _cleared[0] += 1
    _config_generation[0] += 1


def jit(fun: Callable | None = None, in_shardings=None, out_shardings=None, *,
        static_argnums=None, static_argnames=None, donate_argnums=None, donate_argnames=None,
        keep_unused=False, device=None, backend=None, inline=False, abstracted_axes=None,
        compiler_options=None):
    """Compile `fun` for the backend; retraced only for a new input signature (JAX's
    signature). `static_argnums/static_argnames` are hashed into the signature,
    `donate_argnums/donate_argnames` let outputs reuse the inputs' buffers (a donated array
    cannot be used afterwards), `backend` ("c", "reference", "opencl") or `device` (a
    `Device`) choose where it runs. `inline` and `keep_unused` are accepted: nested jitted
    functions are always inlined into the enclosing program, and unused inputs cost
    nothing. Shardings and `abstracted_axes` are not supported (one device per process)."""
    for name, value in (("in_shardings", in_shardings), ("out_shardings", out_shardings),
                        ("abstracted_axes", abstracted_axes)):
        if value is not None:
            raise NotImplementedError(f"jit: {name} is not supported by funcgrad (one device "
                                      "per process; see funcgrad.distributed for several)")
    if device is not None:
        backend = getattr(device, "platform", device)
    opts = dict(static_argnums=_as_tuple(static_argnums),
                static_argnames=_as_tuple(static_argnames),
                donate_argnums=_as_tuple(donate_argnums),
                donate_argnames=_as_tuple(donate_argnames), backend=backend)
    if fun is None:
        return lambda f: _shared_jitted(f, opts)
    return _shared_jitted(fun, opts)


# jit(f) called again for the same function and options (`jit(step)(params)` inside a
# training loop) shares the first wrapper's traced programs and dispatch paths, as JAX's
# cache is keyed on the function: a new wrapper object, no new trace. Keyed on the
# function's identity (not its __eq__), for as long as the function lives: what is kept
# (the wrapper's state less the function) does not refer to the function, so it does not
# keep it alive.
_shared: dict[int, tuple] = {}
_shared_lock = threading.RLock()    # (a weakref callback may run inside, in GC)
_NOT_SHARED = ("fun", "__wrapped__", "trace_count")


def _shared_jitted(fun, opts) -> Jitted:
    import weakref
    okey = tuple(sorted(opts.items()))
    with _shared_lock:
        hit = _shared.get(id(fun))
        state = hit[1].get(okey) if hit is not None and hit[0]() is fun else None
    if state is not None:
        twin = object.__new__(Jitted)
        twin.__dict__.update(state)          # (the caches are the same objects)
        twin.fun = twin.__wrapped__ = fun
        twin.trace_count = 0
        return twin
    jitted = Jitted(fun, **opts)
    key = id(fun)
    try:
        ref = weakref.ref(fun, lambda _: _forget_shared(key))
        hash(okey)
    except TypeError:
        return jitted               # (not weakly referenceable, or unhashable options)
    state = {k: v for k, v in jitted.__dict__.items() if k not in _NOT_SHARED}
    with _shared_lock:
        hit = _shared.get(key)
        if hit is None or hit[0]() is not fun:
            hit = _shared[key] = (ref, {})
        hit[1].setdefault(okey, state)
    return jitted


def _forget_shared(key: int) -> None:
    lock, shared = _shared_lock, _shared
    if lock is None or shared is None:
        return                   # (interpreter shutdown: the module's globals are gone)
    with lock:
        hit = shared.get(key)
        if hit is not None and hit[0]() is None:
            del shared[key]


def _as_tuple(x) -> tuple:
    if x is None:
        return ()
    if isinstance(x, (int, str)):
        return (x,)
    return tuple(x)


def _axis_env_names(axis_env) -> list:
    """The names of `make_jaxpr`'s `axis_env` (pairs `(name, size)`), validated."""
    if axis_env is None:
        return []
    try:
        pairs = [tuple(p) for p in axis_env]
    except TypeError:
        raise TypeError(f"make_jaxpr: axis_env must be a sequence of (axis_name, size) "
                        f"pairs, got {axis_env!r}") from None
    names = []
    for p in pairs:
        if len(p) != 2 or not isinstance(p[1], (int, np.integer)) or \
                isinstance(p[1], bool) or p[1] < 1:
            raise ValueError(f"make_jaxpr: each axis_env entry must be a pair (axis_name, size) "
                             f"with a positive integer size, got {p!r}")
        names.append(p[0])
    return names


def make_ir(fun: Callable, static_argnums=(), axis_env=None, return_shape=False):
    """`make_ir(f)(*args)` returns the traced IR program of `f` (JAX's `make_jaxpr`, with its
    signature). `axis_env` (pairs `(axis_name, size)`) binds axis names for collectives
    (`lax.psum(x, 'i')`) as a `pmap` or `spmd` around the function would: they are staged
    into the program as equations naming the axis. (The sizes are validated; a
    collective's result shape does not depend on them, and `lax.axis_size` of such a name
    is not available while tracing.) With `return_shape=True` the result is a pair
    `(program, shapes)`, `shapes` being the output pytree with a `ShapeDtypeStruct` per leaf.
    With the config option `jax_enable_checks`, the program's invariants are checked."""
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    axis_names = _axis_env_names(axis_env)

    @api_boundary
    def wrapped(*args, **kwargs):
        static = set(a % len(args) for a in static_argnums) if args else set()
        dyn = [a for i, a in enumerate(args) if i not in static]
        leaves, in_tree = tree_flatten((tuple(dyn), kwargs))
        # (ShapeDtypeStructs too, as JAX's make_jaxpr takes them: nothing is computed)
        avals = [_abstract_leaf(x, "make_ir") for x in leaves]
        store = {}

        def flat_fun(*xs):
            d, kw = tree_unflatten(in_tree, xs)
            it = iter(d)
            full = [args[i] if i in static else next(it) for i in range(len(args))]
            out = fun(*full, **kw)
            out_leaves, store["tree"] = tree_flatten(out)
            return [core.to_array(o) if not isinstance(o, Array) else o for o in out_leaves]

        with contextlib.ExitStack() as stack:
            for name in axis_names:
                stack.enter_context(collectives.process_axis(name))
            program, consts = trace_to_program(flat_fun, avals)
        if config.read("enable_checks"):
            check_program(program, f"make_jaxpr({_fun_name(fun)})")
        closed = ClosedProgram(program, consts)
        if return_shape:
            shapes = [ShapeDtypeStruct(a.shape, a.dtype, weak_type=a.weak_type)
                      for a in program.out_avals]
            return closed, tree_unflatten(store["tree"], shapes)
        return closed

    return wrapped


# ---------------------------------------------------------------------------------------
# jax_enable_checks: the invariants of a traced program


def check_program(program, what: str = "program") -> None:
    """Check the invariants of a traced program (on with the config option
    `jax_enable_checks`): every variable is defined once, before it is used; each
    equation's outputs have the types its primitive's shape rule gives for its inputs;
    programs nested in parameters (control flow, jit, checkpoint) are checked too. An
    AssertionError names the equation: it is a bug in funcgrad (or in a user-defined rule)."""
    defined: set[int] = set()

    def define(v, where):
        if not isinstance(v, Var):
            raise AssertionError(f"{what}: {where} binds {v!r}, which is not a variable")
        if v.id in defined:
            raise AssertionError(f"{what}: variable {v!r} is defined twice ({where})")
        defined.add(v.id)

    def use(a, where):
        if isinstance(a, Var):
            if a.id not in defined:
                raise AssertionError(f"{what}: {where} uses {a!r} before it is defined")
        elif not isinstance(a, Lit):
            raise AssertionError(f"{what}: {where} has an operand {a!r} that is neither a "
                                 "variable nor a literal")

    for v in list(program.constvars) + list(program.invars):
        define(v, "the program's inputs")
    for k, eqn in enumerate(program.eqns):
        where = f"equation {k} ({eqn.prim.name})"
        for a in eqn.inputs:
            use(a, where)
        rule = core.shape_rules.get(eqn.prim)
        if rule is not None:
            want = rule(*[a.aval for a in eqn.inputs], **eqn.params)
            want = list(want) if eqn.prim.multiple_results else [want]
            if len(want) != len(eqn.outputs):
                raise AssertionError(f"{what}: {where} has {len(eqn.outputs)} outputs, but its "
                                     f"shape rule gives {len(want)}")
            for v, w in zip(eqn.outputs, want):
                if (tuple(v.aval.shape), np.dtype(v.aval.dtype)) != \
                        (tuple(w.shape), np.dtype(w.dtype)):
                    raise AssertionError(f"{what}: {where} outputs {v.aval.short()}, but "
                                         f"its shape rule gives {w.short()}")
        for p, val in eqn.params.items():
            for sub in (val if isinstance(val, (tuple, list)) else (val,)):
                if isinstance(sub, ClosedProgram):
                    sub = sub.program
                if isinstance(sub, Program):
                    check_program(sub, f"{what} / {where} parameter {p}")
        for v in eqn.outputs:
            define(v, where)
    for a in program.outvars:
        use(a, "the program's outputs")


class ShapeDtypeStruct(core.ShapedArray):
    """A shape and a dtype (JAX's `jax.ShapeDtypeStruct`): declares the results of
    `pure_callback`, the arguments of `eval_shape` and `linear_transpose`. `sharding` is
    accepted for JAX compatibility (funcgrad has no multi-device sharding)."""

    __slots__ = ("sharding",)

    def __init__(self, shape, dtype, *, sharding=None, weak_type: bool = False):
        super().__init__(shape, dtype, weak_type)
        self.sharding = sharding

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name}" + \
            (", weak_type=True)" if self.weak_type else ")")

    __str__ = __repr__          # (JAX prints the same; a ShapedArray prints float32[2,3])

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object (a ShapeDtypeStruct of shape ())")
        return self.shape[0]

    def update(self, shape=None, dtype=None, weak_type=None, sharding=None):
        """A ShapeDtypeStruct with the given fields replaced (JAX's)."""
        return ShapeDtypeStruct(self.shape if shape is None else shape,
                                self.dtype if dtype is None else dtype,
                                weak_type=self.weak_type if weak_type is None else weak_type,
                                sharding=self.sharding if sharding is None else sharding)


def _abstract_leaf(x, name):
    """The aval `eval_shape` traces for one argument leaf: a ShapeDtypeStruct/ShapedArray
    (or anything with `shape` and `dtype`) as it is, an array or scalar by its type."""
    if isinstance(x, core.ShapedArray):
        return core.ShapedArray(x.shape, dtypes.canonicalize_value(x.dtype), x.weak_type)
    if isinstance(x, (Array, Tracer)):
        return core.ShapedArray(x.shape, x.dtype, x.weak_type)
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return core.ShapedArray(tuple(x.shape), dtypes.canonicalize_value(x.dtype))
    try:
        return core.get_aval(core.to_array(x))
    except TypeError as e:
        raise TypeError(f"{name}: argument leaves must be arrays, scalars or "
                        f"ShapeDtypeStructs, got {type(x).__name__}") from e


def eval_shape(fun, *args, **kwargs):
    """The shapes and dtypes `fun(*args, **kwargs)` would return, as a pytree of
    `ShapeDtypeStruct`s, without computing anything (JAX's `eval_shape`): `fun` is traced
    once on abstract values; argument leaves may be arrays, scalars, or
    `ShapeDtypeStruct`s (anything with `shape` and `dtype`)."""
    name = _fun_name(fun)
    leaves, in_tree = tree_flatten((args, kwargs))
    avals = [_abstract_leaf(x, f"eval_shape({name})") for x in leaves]
    store = {}

    def flat(*xs):
        a, kw = tree_unflatten(in_tree, list(xs))
        out_leaves, store["tree"] = tree_flatten(fun(*a, **kw))
        return [core.to_array(o) for o in out_leaves]

    program, _ = trace_to_program(flat, avals)
    return tree_unflatten(store["tree"], [ShapeDtypeStruct(a.shape, a.dtype,
                                                           weak_type=a.weak_type)
                                          for a in program.out_avals])


# ---------------------------------------------------------------------------------------
# custom derivatives and checkpoint


def _is_eager(leaves) -> bool:
    return not core.dynamic_trace_active() and not any(isinstance(x, Tracer) for x in leaves)


def _eager_leaves(leaves) -> list:
    """Host leaves (NumPy arrays and scalars, Python numbers) as funcgrad arrays; others
    (arrays, and whatever else a wrapper passes through) as they are."""
    return [core.to_array(x) if isinstance(x, core.HOST_VALUE_TYPES) else x for x in leaves]


@functools.lru_cache(maxsize=1024)
def _signature_of(fun):
    """(the signature of `fun` or None, its count of positional parameters), memoised: a
    custom rule's function is called once per use (an eager relu, every trace)."""
    try:
        sig = inspect.signature(fun)
    except (TypeError, ValueError):
        return None, 0
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sig, sum(p.kind in kinds for p in sig.parameters.values())


def _resolve_kwargs(fun, args, kwargs, kind):
    """`args` and `kwargs` as positional arguments of `fun`, its defaults filled in (as JAX's
    custom_jvp/custom_vjp bind keyword arguments through the signature); `kind` names the
    wrapper in errors."""
    try:
        sig, npos = _signature_of(fun)
    except TypeError:           # (an unhashable callable: not memoised)
        sig, npos = _signature_of.__wrapped__(fun)
    if not kwargs and len(args) >= npos:
        return args             # (every parameter given positionally: nothing to bind)
    what = f"{kind} {_fun_name(fun)}"
    if sig is None:
        if kwargs:
            raise TypeError(f"{what}: keyword arguments need a function with an inspectable "
                            f"signature; pass them positionally") from None
        return args
    try:
        ba = sig.bind(*args, **kwargs)
    except TypeError as err:
        raise TypeError(f"{what}: {err}") from None
    ba.apply_defaults()
    if ba.kwargs:
        raise TypeError(f"{what}: keyword arguments {sorted(ba.kwargs)} could not be resolved "
                        "to positions (keyword-only parameters are not supported, as in JAX)")
    return ba.args


class _StagedCall:
    """The parts every custom-derivative wrapper needs: the differentiable leaves, how to
    rebuild the full argument list, and `fun` staged into a const-hoisted program."""

    def __init__(self, fun, nondiff_argnums, args):
        nd = set(nondiff_argnums)
        self.static = [args[i] for i in nondiff_argnums]
        dyn = tuple(a for i, a in enumerate(args) if i not in nd)
        leaves, self.in_tree = tree_flatten(dyn)
        self.eager = _is_eager(leaves)
        self._args, self._nd = args, nd
        if self.eager:
            # called on host values: `fun` sees them as arrays, as under a transform (NumPy
            # float64 computed in float32, a Python float a weak float32, `.at` available)
            self.eager_args = self.rebuild(tree_unflatten(self.in_tree,
                                                          _eager_leaves(leaves)))
            return
        self.leaves = [_as_leaf_array(x, _fun_name(fun)) for x in leaves]
        store = {}

        def flat_fun(*xs):
            out = fun(*self.rebuild(tree_unflatten(self.in_tree, xs)))
            lv, tr = tree_flatten(out)
            store["tree"] = tr
            return [core.to_array(o) for o in lv]

        program, self.consts = trace_to_program(flat_fun, [x.aval for x in self.leaves])
        self.program = hoist_consts(program)
        self.out_tree = store["tree"]

    def rebuild(self, dyn):
        it = iter(dyn)
        return [self._args[i] if i in self._nd else next(it) for i in range(len(self._args))]


class custom_jvp:
    """A function with a user-defined JVP rule (JAX's `custom_jvp`)."""

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp = None

    def defjvp(self, jvp: Callable, symbolic_zeros=False):
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps):
        def jvp(primals, tangents):
            out = self(*primals)
            t = None
            for rule, p_t in zip(jvps, tangents):
                if rule is None:
                    continue
                c = rule(p_t, out, *primals)
                t = c if t is None else tree_map(lambda a, b: a + b, t, c)
            return out, t
        self.jvp = jvp

    @api_boundary
    def __call__(self, *args, **kwargs):
        if self.jvp is None:
            raise AttributeError(f"custom_jvp function {_fun_name(self.fun)} has no JVP rule; "
                                 "define one with @f.defjvp")
        args = _resolve_kwargs(self.fun, args, kwargs, "custom_jvp")
        sc = _StagedCall(self.fun, self.nondiff_argnums, args)
        if sc.eager:
            return self.fun(*sc.eager_args)
        static, in_tree, out_tree = sc.static, sc.in_tree, sc.out_tree
        user_jvp = self.jvp

        def flat_jvp(primals, tangents):
            p = tree_unflatten(in_tree, primals)
            t = tree_unflatten(in_tree, tangents)
            out, t_out = user_jvp(*static, p, t)
            o_leaves = [core.to_array(o) for o in tree_leaves(out)]
            t_leaves = flatten_up_to(out_tree, t_out, "custom_jvp rule tangent output")
            t_leaves = [core.to_array(t) if t is not None else ad.zeros_like(o)
                        for t, o in zip(t_leaves, o_leaves)]
            t_leaves = [t.astype(o.dtype) if t.dtype != o.dtype else t
                        for t, o in zip(t_leaves, o_leaves)]
            return o_leaves, t_leaves

        outs = bind(control.custom_jvp_call_p, *sc.consts, *sc.leaves, program=sc.program,
                    jvp=flat_jvp, num_consts=len(sc.consts))
        return tree_unflatten(out_tree, outs)


class custom_vjp:
    """A function with a user-defined VJP (JAX's `custom_vjp`): `f.defvjp(fwd, bwd)`."""

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd: Callable, bwd: Callable):
        self.fwd, self.bwd = fwd, bwd

    @api_boundary
    def __call__(self, *args, **kwargs):
        if self.fwd is None:
            raise AttributeError(f"custom_vjp function {_fun_name(self.fun)} has no VJP; "
                                 "define one with f.defvjp(fwd, bwd)")
        args = _resolve_kwargs(self.fun, args, kwargs, "custom_vjp")
        sc = _StagedCall(self.fun, self.nondiff_argnums, args)
        if sc.eager:
            return self.fun(*sc.eager_args)
        static, in_tree, out_tree, rebuild = sc.static, sc.in_tree, sc.out_tree, sc.rebuild
        leaves = sc.leaves
        fwd, bwd = self.fwd, self.bwd
        res_store = {}

        def flat_fwd(primals):
            out, res = fwd(*rebuild(tree_unflatten(in_tree, primals)))
            r_leaves, r_tree = tree_flatten(res)
            res_store["tree"] = r_tree
            o_leaves = flatten_up_to(out_tree, out, "custom_vjp fwd output")
            return [core.to_array(o) for o in o_leaves], [core.to_array(r) for r in r_leaves]

        in_avals = [x.aval for x in leaves]

        def flat_bwd(res, cts):
            r = tree_unflatten(res_store["tree"], res)
            ct = tree_unflatten(out_tree, cts)
            cts_in = bwd(*static, r, ct)
            if isinstance(cts_in, list):        # (JAX takes a list as the tuple)
                cts_in = tuple(cts_in)
            if not isinstance(cts_in, tuple):
                raise TypeError(f"custom_vjp bwd of {_fun_name(self.fun)} must return a tuple "
                                f"with one cotangent per differentiable argument, got "
                                f"{type(cts_in).__name__}")
            c_leaves = flatten_up_to(in_tree, cts_in, "custom_vjp bwd output")
            out = []
            for c, a in zip(c_leaves, in_avals):
                c = ad.zeros_like_aval(a) if c is None else core.to_array(c)
                out.append(c.astype(a.dtype) if c.dtype != a.dtype else c)
            return out

        outs = bind(control.custom_vjp_call_p, *sc.consts, *leaves, program=sc.program,
                    fwd=flat_fwd, bwd=flat_bwd, num_consts=len(sc.consts))
        return tree_unflatten(out_tree, outs)


class _Unset:
    """The default of an argument JAX deprecated: any value passed explicitly is refused."""

    def __repr__(self):
        return "<unset>"


_UNSET = _Unset()


def _static_positions(fun, static_argnums, static_argnames, what):
    """`static_argnums` as a tuple of ints and `static_argnames` as a tuple of strings, each
    name also giving its position where `fun`'s signature has it (as `jit` does)."""
    if isinstance(static_argnums, (int, np.integer)) and not isinstance(static_argnums, bool):
        static_argnums = (static_argnums,)
    nums = tuple(static_argnums)
    for a in nums:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"{what}: static_argnums must be an int or a tuple of ints, got "
                            f"{static_argnums!r}")
    names = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
    for n in names:
        if not isinstance(n, str):
            raise TypeError(f"{what}: static_argnames must be a string or strings, got "
                            f"{static_argnames!r}")
    try:
        params = inspect.signature(fun).parameters
    except (TypeError, ValueError):
        params = {}
    positional = [n for n, p in params.items()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    for n in names:
        if params and n not in params and not takes_kwargs:
            raise ValueError(f"{what}: static_argnames names {n!r}, which is not a parameter "
                             f"of the function ({list(params)})")
        if n in positional and positional.index(n) not in nums:
            nums += (positional.index(n),)
    return nums, names


def checkpoint(fun: Callable, prevent_cse=True, policy=None, static_argnums=(),
               static_argnames=(), concrete=_UNSET):
    """Rematerialise `fun`'s intermediates in the backward pass instead of storing them
    (JAX's `checkpoint`/`remat`). `static_argnums`/`static_argnames` mark arguments that are
    not traced, as `jit`'s do: their Python values reach `fun` (for Python control flow on
    them), keyword arguments named in `static_argnames` included. `prevent_cse` (a bool or
    tuple of bools) and `policy` are accepted: funcgrad recomputes every intermediate (JAX's
    default policy) and its IR passes never merge the recomputation into the forward pass.
    `concrete` was removed in JAX 0.10: passing it raises NotImplementedError, as there."""
    fname = f"checkpoint({_fun_name(fun)})"
    if concrete is not _UNSET:
        raise NotImplementedError(f"{fname}: the `concrete` option was deprecated in JAX 0.8.2 "
                                  "and removed in JAX 0.10; mark the arguments Python control "
                                  "flow depends on with static_argnums/static_argnames instead")
    if isinstance(prevent_cse, list):
        prevent_cse = tuple(prevent_cse)
    if not isinstance(prevent_cse, (bool, tuple)):
        raise TypeError(f"{fname}: prevent_cse must be a bool or a tuple of bools, got "
                        f"{type(prevent_cse).__name__}")
    if policy is not None and not callable(policy):
        raise TypeError(f"{fname}: policy must be a callable (a checkpoint policy) or None, "
                        f"got {policy!r}")
    nums, names = _static_positions(fun, static_argnums, static_argnames, fname)
    given = _static_positions(fun, static_argnums, (), fname)[0]

    @api_boundary
    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        nargs = len(args)
        for a in given:
            if not -nargs <= a < nargs:
                raise ValueError(f"{fname}: static_argnums={given} refers to argument {a}, but "
                                 f"the function was called with {nargs} positional "
                                 "argument(s)")
        # (a position derived from static_argnames may be passed by keyword instead)
        static = {a % nargs for a in nums if -nargs <= a < nargs}
        dyn_args = tuple(a for i, a in enumerate(args) if i not in static)
        static_kw = {k: v for k, v in kwargs.items() if k in names}
        dyn_kw = {k: v for k, v in kwargs.items() if k not in names}
        leaves, in_tree = tree_flatten((dyn_args, dyn_kw))
        if _is_eager(leaves):
            # host values reach `fun` as arrays, as they do under a transform
            d_args, d_kw = tree_unflatten(in_tree, _eager_leaves(leaves))
            it = iter(d_args)
            full = [args[i] if i in static else next(it) for i in range(nargs)]
            return fun(*full, **d_kw, **static_kw)
        leaves = [_as_leaf_array(x, fname) for x in leaves]
        store = {}

        def flat_fun(*xs):
            d_args, d_kw = tree_unflatten(in_tree, xs)
            it = iter(d_args)
            full = [args[i] if i in static else next(it) for i in range(nargs)]
            out = fun(*full, **d_kw, **static_kw)
            lv, tr = tree_flatten(out)
            store["tree"] = tr
            return [core.to_array(o) for o in lv]

        program, consts = trace_to_program(flat_fun, [x.aval for x in leaves])
        outs = bind(control.remat_p, *consts, *leaves, program=hoist_consts(program))
        return tree_unflatten(store["tree"], outs)

    return wrapped


remat = checkpoint


def block_until_ready(x):
    """Wait until every array leaf of `x` is computed; returns `x` (JAX's
    `block_until_ready`)."""
    if isinstance(x, Array):
        x.block_until_ready()
        return x
    _wait_all(x)
    return x


def _wait_all(x) -> None:
    # Called every training step on the parameters: lists, tuples and dicts are walked
    # directly (the order of waiting does not matter), other nodes through tree_leaves.
    cls = type(x)
    if cls is list or cls is tuple or isinstance(x, tuple):
        # (a namedtuple, such as an optimizer's state, too: waiting on each of its items
        # waits on every leaf whatever its pytree registration hides as aux data)
        for c in x:
            _wait_all(c)
    elif cls is dict:
        for c in x.values():
            _wait_all(c)
    elif isinstance(x, Array):
        if x._needs_wait():
            x.block_until_ready()
    elif x is not None:
        for leaf in tree_leaves(x):
            if isinstance(leaf, Array) and leaf._needs_wait():
                leaf.block_until_ready()

