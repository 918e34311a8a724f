"""funcgrad.lax: the primitives' direct wrappers (JAX's `jax.lax` names) and structured
control flow (`scan`, `cond`, `switch`, `while_loop`, `fori_loop`, `map`) lowered to real
loops by the compiling backends."""
from __future__ import annotations

from typing import Callable

import numpy as np

from . import core, dtypes
from .core import Array, Tracer, bind
from .ir import stage_closed
from .prims import control as _cf
from .prims.elementwise import (abs, acos, add, and_, asin, atan, atan2, ceil, convert_element_type,
                                cos, cosh, div, eq, erf, exp, expm1, floor, ge, gt, integer_pow,
                                is_finite, le, log, log1p, logistic, lt, max, min, mul, ne, neg,
                                not_, or_, pow, rem, round, rsqrt, select, shift_left,
                                shift_right_logical, sign, sin, sinh, sqrt, stop_gradient, sub,
                                tan, tanh, xor, asinh, acosh, atanh)
from .prims.indexing import (concatenate, dynamic_index_in_dim, dynamic_slice,
                             dynamic_slice_in_dim, dynamic_update_index_in_dim,
                             dynamic_update_slice, gather, pad, scatter, scatter_add, slice,
                             slice_in_dim)
from .prims.linalg import (ConvDimensionNumbers, conv, conv_dimension_numbers,
                           conv_general_dilated, conv_transpose, dot_general)
from .prims.reductions import (argmax, argmin, cumsum, reduce_max, reduce_min, reduce_prod,
                               reduce_sum)
from .prims.structural import (broadcast_in_dim, broadcast_to, expand_dims, full, iota,
                               reshape, rev, squeeze, transpose)
from .prims.linalg import conv_transpose_padding, padtype_to_pads
from .prims.windows import reduce_window, reduce_window_shape_tuple, sort
from .tree import tree_flatten, tree_leaves, tree_unflatten
from . import _lax_linalg as linalg  # noqa: E402  (jax.lax.linalg)

__all__ = [
    "abs", "acos", "add", "and_", "asin", "atan", "atan2", "ceil", "convert_element_type",
    "cos", "cosh", "div", "eq", "erf", "exp", "expm1", "floor", "ge", "gt", "integer_pow",
    "is_finite", "le", "log", "log1p", "logistic", "lt", "max", "min", "mul", "ne", "neg",
    "not_", "or_", "pow", "rem", "round", "rsqrt", "select", "shift_left",
    "shift_right_logical", "sign", "sin", "sinh", "sqrt", "stop_gradient", "sub", "tan", "tanh",
    "xor", "asinh", "acosh", "atanh", "concatenate", "dynamic_index_in_dim", "dynamic_slice",
    "dynamic_slice_in_dim", "dynamic_update_index_in_dim", "dynamic_update_slice", "gather",
    "pad", "scatter", "scatter_add", "slice", "slice_in_dim", "ConvDimensionNumbers", "conv",
    "conv_dimension_numbers", "conv_general_dilated", "conv_transpose", "dot_general",
    "argmax", "argmin", "cumsum", "reduce_max", "reduce_min", "reduce_prod", "reduce_sum",
    "broadcast_in_dim", "broadcast_to", "expand_dims", "full", "iota", "reshape", "rev",
    "squeeze", "transpose", "reduce_window", "sort", "scan", "cond", "switch", "while_loop",
    "fori_loop", "map", "dot", "batch_matmul", "square", "clamp", "broadcasted_iota",
    "select_n", "psum", "erfc", "conv_general_shape_tuple", "padtype_to_pads",
    "reduce_window_shape_tuple", "conv_transpose_padding", "associative_scan", "reciprocal",
    "exp2", "full_like", "index_in_dim", "cumprod", "cummax", "cummin", "top_k",
]


def erfc(x):
    """1 - erf(x), without cancellation for large x (asymptotic tail beyond |x| > 3)."""
    x = core.to_array(x)
    big = gt(abs(x), 3.0)
    safe = select(big, x, full(x.shape, 3.0, x.dtype))
    inv = div(1.0, mul(safe, safe))
    series = add(1.0, mul(inv, add(-0.5, mul(inv, add(0.75, mul(inv, add(-1.875,
                                                                       mul(inv, 6.5625))))))))
    tail = mul(div(exp(neg(mul(safe, safe))), mul(abs(safe), 1.7724538509055159)), series)
    tail = select(lt(x, 0.0), sub(2.0, tail), tail)
    return select(big, tail, sub(1.0, erf(x)))


def conv_general_shape_tuple(lhs_shape, rhs_shape, window_strides, padding,
                             dimension_numbers=None):
    """Output shape of `conv_general_dilated` (JAX's helper)."""
    import numpy as _np
    from .prims.linalg import _conv_shape
    dn = conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
    in_sp = [lhs_shape[d] for d in dn.lhs_spec[2:]]
    k_sp = [rhs_shape[d] for d in dn.rhs_spec[2:]]
    pads = padtype_to_pads(in_sp, k_sp, window_strides, padding)
    nsp = len(in_sp)
    out = _conv_shape(core.ShapedArray(lhs_shape, _np.float32),
                      core.ShapedArray(rhs_shape, _np.float32),
                      window_strides=tuple(window_strides), padding=pads,
                      lhs_dilation=(1,) * nsp, rhs_dilation=(1,) * nsp, dimension_numbers=dn,
                      feature_group_count=1, batch_group_count=1)
    return out.shape


def reciprocal(x):
    return div(1.0, core.to_array(x)) if not isinstance(x, Array) else div(
        full(x.shape, 1, x.dtype), x)


def exp2(x):
    return exp(mul(core.to_array(x), 0.6931471805599453))


def full_like(x, fill_value, dtype=None, shape=None):
    x = core.to_array(x)
    return full(x.shape if shape is None else shape, fill_value, dtype or x.dtype)


def index_in_dim(operand, index, axis=0, keepdims=True):
    operand = core.to_array(operand)
    n = operand.shape[axis]
    index = index % n if index < 0 else index
    out = slice_in_dim(operand, index, index + 1, 1, axis)
    return out if keepdims else squeeze(out, (axis,))


def cumprod(operand, axis=0, reverse=False):
    from . import numpy as fnp
    x = rev(operand, (axis,)) if reverse else operand
    out = fnp.cumprod(x, axis=axis)
    return rev(out, (axis,)) if reverse else out


def cummax(operand, axis=0, reverse=False):
    from . import numpy as fnp
    x = rev(operand, (axis,)) if reverse else operand
    out = fnp.cummax(x, axis=axis)
    return rev(out, (axis,)) if reverse else out


def cummin(operand, axis=0, reverse=False):
    from . import numpy as fnp
    x = rev(operand, (axis,)) if reverse else operand
    out = fnp.cummin(x, axis=axis)
    return rev(out, (axis,)) if reverse else out


def top_k(operand, k):
    """The `k` largest entries along the last axis and their indices (descending)."""
    from . import numpy as fnp
    x = core.to_array(operand)
    idx = fnp.argsort(x, axis=-1, descending=True)[..., :k]
    return fnp.take_along_axis(x, idx, axis=-1), idx


def dot(lhs, rhs, precision=None, preferred_element_type=None):
    lhs, rhs = core.to_array(lhs), core.to_array(rhs)
    return dot_general(lhs, rhs, (((lhs.ndim - 1,), (0,)), ((), ())), preferred_element_type)


def batch_matmul(lhs, rhs):
    nb = lhs.ndim - 2
    bd = tuple(range(nb))
    return dot_general(lhs, rhs, (((nb + 1,), (nb,)), (bd, bd)))


def square(x):
    return integer_pow(x, 2)


def clamp(min_, x, max_):
    return max(min(x, max_), min_)


def broadcasted_iota(dtype, shape, dimension):
    return iota(dtype, shape, dimension)


def select_n(which, *cases):
    """`cases[which]` elementwise (bool `which` picks between two cases)."""
    which = core.to_array(which)
    if len(cases) == 2 and which.dtype == dtypes.bool_:
        return select(which, cases[1], cases[0])
    out = cases[0]
    for k, c in enumerate(cases[1:], 1):
        out = select(eq(which, convert_element_type(k, which.dtype)), c, out)
    return out


def psum(x, axis_name):
    raise NotImplementedError("psum needs the distributed backend, which funcgrad does not "
                              "have yet")


# ---------------------------------------------------------------------------------------
# Control flow


def _leaf_arrays(xs):
    return [x if isinstance(x, Array) else core.to_array(x) for x in xs]


def _check_tree(what, expected_tree, got_tree, expected_avals=None, got_avals=None):
    if expected_tree != got_tree:
        raise TypeError(f"{what}: the output structure {got_tree} does not match the carry "
                        f"structure {expected_tree}")
    if expected_avals is not None:
        for a, b in zip(expected_avals, got_avals):
            if a.shape != b.shape or a.dtype != b.dtype:
                raise TypeError(f"{what}: the carry changed type from {a.str_short()} to "
                                f"{b.str_short()}; the body must return the same shapes and "
                                "dtypes it takes")


class _WeakCarryPromotion(Exception):
    """Raised while staging a loop body whose weakly-typed carry input comes out with another
    dtype: as in JAX, the loop is restaged with that carry promoted."""

    def __init__(self, dtypes):
        super().__init__("internal: weak carry promotion")
        self.dtypes = dtypes


def _check_weak_carry(in_avals, out_avals):
    promote = {}
    for i, (a, b) in enumerate(zip(in_avals, out_avals)):
        if a.weak_type and a.shape == b.shape and a.dtype != b.dtype:
            dt, weak = dtypes.result_type((a.dtype, True), (b.dtype, b.weak_type))
            if dt != a.dtype:
                promote[i] = (dt, weak)
    if promote:
        raise _WeakCarryPromotion(promote)


def _promote_carry(leaves, promote):
    return [convert_element_type(x, *promote[i]) if i in promote else x
            for i, x in enumerate(leaves)]


def scan(f: Callable, init, xs=None, length=None, reverse=False, unroll=1, _split_transpose=False):
    """`(carry, ys) = scan(f, init, xs)`: loop `carry, y = f(carry, x)` over the leading axis
    of `xs` (pytrees allowed), stacking the `y`s (JAX's `lax.scan`)."""
    carry_leaves, carry_tree = tree_flatten(init)
    carry_leaves = _leaf_arrays(carry_leaves)
    xs_leaves, xs_tree = tree_flatten(xs)
    xs_leaves = _leaf_arrays(xs_leaves)
    lengths = {x.shape[0] for x in xs_leaves if x.ndim}
    if any(x.ndim == 0 for x in xs_leaves):
        raise ValueError("scan: scanned inputs (xs) must have a leading axis, got a scalar")
    if length is not None:
        lengths.add(int(length))
    if len(lengths) > 1:
        raise ValueError(f"scan: scanned inputs and length have inconsistent leading sizes "
                         f"{sorted(lengths)}")
    if not lengths:
        raise ValueError("scan: give xs or length")
    n = lengths.pop()
    x_avals = [core.ShapedArray(x.shape[1:], x.dtype, x.weak_type) for x in xs_leaves]
    carry_avals = [x.aval for x in carry_leaves]
    store = {}

    def body(*args):
        c = tree_unflatten(carry_tree, args[:len(carry_leaves)])
        x = tree_unflatten(xs_tree, args[len(carry_leaves):])
        out = f(c, x)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError("scan: the body must return a pair (carry, y)")
        new_c, y = out
        c_leaves, c_tree = tree_flatten(new_c)
        c_leaves = _leaf_arrays(c_leaves)
        if c_tree == carry_tree:
            _check_weak_carry(carry_avals, [a.aval for a in c_leaves])
        _check_tree("scan", carry_tree, c_tree, carry_avals, [a.aval for a in c_leaves])
        c_leaves = [convert_element_type(a, b.dtype, b.weak_type) if a.weak_type != b.weak_type
                    else a for a, b in zip(c_leaves, carry_avals)]
        y_leaves, y_tree = tree_flatten(y)
        store["y_tree"] = y_tree
        return c_leaves + _leaf_arrays(y_leaves)

    try:
        prog, consts = stage_closed(body, carry_avals + x_avals)
    except _WeakCarryPromotion as e:
        carry_leaves = _promote_carry(carry_leaves, e.dtypes)
        carry_avals[:] = [x.aval for x in carry_leaves]
        prog, consts = stage_closed(body, carry_avals + x_avals)
    outs = bind(_cf.scan_p, *consts, *carry_leaves, *xs_leaves, program=prog,
                num_consts=len(consts), num_carry=len(carry_leaves), length=n,
                reverse=bool(reverse))
    nc = len(carry_leaves)
    return tree_unflatten(carry_tree, outs[:nc]), tree_unflatten(store["y_tree"], outs[nc:])


def _stage_branch(f, operands_leaves, in_tree):
    store = {}

    def fun(*args):
        out = f(*tree_unflatten(in_tree, args))
        lv, tr = tree_flatten(out)
        store["tree"] = tr
        return _leaf_arrays(lv)

    prog, consts = stage_closed(fun, [x.aval for x in operands_leaves])
    return prog, consts, store["tree"]


def switch(index, branches, *operands):
    """Apply `branches[index](*operands)`; the index is clamped (JAX's `lax.switch`)."""
    if not branches:
        raise ValueError("switch: need at least one branch")
    index = core.to_array(index)
    if index.shape != ():
        raise TypeError(f"switch: index must be a scalar, got shape {index.shape}")
    if not dtypes.is_int(index.dtype):
        raise TypeError(f"switch: index must be an integer, got {index.dtype}")
    if not isinstance(index, Tracer) and not core.dynamic_trace_active() and not any(
            isinstance(x, Tracer) for x in tree_leaves(operands)):
        i = int(np.clip(int(index), 0, len(branches) - 1))
        return branches[i](*operands)
    leaves, in_tree = tree_flatten(operands)
    leaves = _leaf_arrays(leaves)
    staged = [_stage_branch(b, leaves, in_tree) for b in branches]
    trees = [t for _, _, t in staged]
    for t in trees[1:]:
        if t != trees[0]:
            raise TypeError(f"cond/switch: branches return different structures: {trees[0]} "
                            f"vs {t}")
    # Every branch takes all branches' consts, then the operands.
    all_consts = [c for _, cs, _ in staged for c in cs]
    progs = []
    offset = 0
    for prog, cs, _ in staged:
        k = len(cs)
        progs.append(_pad_program_inputs(prog, offset, k, [core.get_aval(c) for c in all_consts]))
        offset += k
    out_avals = [p.out_avals for p in progs]
    for oa in out_avals[1:]:
        if [(a.shape, a.dtype) for a in oa] != [(a.shape, a.dtype) for a in out_avals[0]]:
            raise TypeError("cond/switch: branches must return the same shapes and dtypes, got "
                            f"{[a.str_short() for a in out_avals[0]]} and "
                            f"{[a.str_short() for a in oa]}")
    index = convert_element_type(index, dtypes.int32)
    outs = bind(_cf.cond_p, index, *all_consts, *leaves, branches=tuple(progs))
    return tree_unflatten(trees[0], outs)


def _pad_program_inputs(prog, offset, k, all_const_avals):
    """Make a branch taking [its k consts, operands] take [all consts, operands]."""
    from .ir import Program, Var
    new_invars = [Var(a) for a in all_const_avals]
    new_invars[offset:offset + k] = prog.invars[:k]
    return Program([], new_invars + prog.invars[k:], prog.eqns, prog.outvars)


def cond(pred, true_fun, false_fun=None, *operands, operand=None):
    """`true_fun(*operands) if pred else false_fun(*operands)`, staged as one primitive."""
    if operand is not None:
        operands = (operand,)
    if false_fun is None:
        raise TypeError("cond: give both true_fun and false_fun")
    pred = core.to_array(pred)
    if pred.shape != ():
        raise TypeError(f"cond: pred must be a scalar, got shape {pred.shape}; use "
                        "fnp.where for elementwise selection")
    if dtypes.is_bool(pred.dtype):
        index = convert_element_type(pred, dtypes.int32)
    else:
        index = convert_element_type(ne(pred, convert_element_type(0, pred.dtype)),
                                     dtypes.int32)
    return switch(index, [false_fun, true_fun], *operands)


def while_loop(cond_fun: Callable, body_fun: Callable, init_val):
    """`while cond_fun(val): val = body_fun(val)` as one primitive (JAX's `lax.while_loop`).
    Forward-mode differentiable; reverse mode needs `scan` (a clear error says so)."""
    leaves, tree = tree_flatten(init_val)
    leaves = _leaf_arrays(leaves)
    avals = [x.aval for x in leaves]

    def cfun(*args):
        p = cond_fun(tree_unflatten(tree, args))
        p = core.to_array(p)
        if p.shape != () or p.dtype != dtypes.bool_:
            raise TypeError(f"while_loop: cond_fun must return a boolean scalar, got "
                            f"{p.aval.str_short()}")
        return [p]

    def bfun(*args):
        out = body_fun(tree_unflatten(tree, args))
        lv, tr = tree_flatten(out)
        lv = _leaf_arrays(lv)
        if tr == tree:
            _check_weak_carry(avals, [a.aval for a in lv])
        _check_tree("while_loop", tree, tr, avals, [a.aval for a in lv])
        return [convert_element_type(a, b.dtype, b.weak_type) if a.weak_type != b.weak_type
                else a for a, b in zip(lv, avals)]

    try:
        bprog, bconsts = stage_closed(bfun, avals)
    except _WeakCarryPromotion as e:
        leaves = _promote_carry(leaves, e.dtypes)
        avals[:] = [x.aval for x in leaves]
        bprog, bconsts = stage_closed(bfun, avals)
    cprog, cconsts = stage_closed(cfun, avals)
    outs = bind(_cf.while_p, *cconsts, *bconsts, *leaves, cond_program=cprog,
                body_program=bprog, cond_nconsts=len(cconsts), body_nconsts=len(bconsts))
    return tree_unflatten(tree, outs)


def fori_loop(lower, upper, body_fun: Callable, init_val, unroll=None):
    """`for i in range(lower, upper): val = body_fun(i, val)`. With concrete bounds this is a
    `scan` (reverse-differentiable); with traced bounds a `while_loop`."""
    lo_c, up_c = core.concrete_value(lower), core.concrete_value(upper)
    static = (lo_c is not None and up_c is not None and not isinstance(lower, Tracer)
              and not isinstance(upper, Tracer))
    if static:
        lo, up = int(lo_c), int(up_c)
        idx_dtype = _index_dtype(lower, upper)

        def step(carry, _):
            i, val = carry
            return (add(i, convert_element_type(1, idx_dtype)), body_fun(i, val)), None

        if up <= lo:
            return init_val
        (_, out), _ = scan(step, (convert_element_type(lo, idx_dtype), init_val), None,
                           length=up - lo)
        return out
    idx_dtype = _index_dtype(lower, upper)
    lower = convert_element_type(lower, idx_dtype)
    upper = convert_element_type(upper, idx_dtype)

    def c(state):
        return lt(state[0], state[2])

    def b(state):
        i, val, u = state
        return add(i, convert_element_type(1, idx_dtype)), body_fun(i, val), u

    _, out, _ = while_loop(c, b, (lower, init_val, upper))
    return out


def _index_dtype(*xs):
    for x in xs:
        if isinstance(x, Array) and dtypes.is_int(x.dtype):
            return x.dtype
    return dtypes.int32


def map(f: Callable, xs, batch_size=None):
    """`stack([f(x) for x in xs])` as a scan."""
    _, ys = scan(lambda c, x: (c, f(x)), (), xs)
    return ys


def associative_scan(fn, elems, reverse=False, axis=0):
    """Inclusive prefix scan of an associative `fn` (doubling; O(n log n) work)."""
    leaves, tree = tree_flatten(elems)
    leaves = _leaf_arrays(leaves)
    if reverse:
        leaves = [rev(x, (axis,)) for x in leaves]
    n = leaves[0].shape[axis]
    k = 1
    while k < n:
        prev = [slice_in_dim(x, 0, n - k, 1, axis) for x in leaves]
        cur = [slice_in_dim(x, k, n, 1, axis) for x in leaves]
        comb = tree_leaves(fn(tree_unflatten(tree, prev), tree_unflatten(tree, cur)))
        leaves = [concatenate([slice_in_dim(x, 0, k, 1, axis), c], axis)
                  for x, c in zip(leaves, comb)]
        k *= 2
    if reverse:
        leaves = [rev(x, (axis,)) for x in leaves]
    return tree_unflatten(tree, leaves)

