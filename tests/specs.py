"""The spec table: one row per primitive and per covered `funcgrad.numpy` function.

A row says how to call the op (`fun`), what NumPy computes for it (`ref`), how many array
arguments it takes and where they live (`args`: one `Arg` per argument: float values in a
domain, integer indices, booleans), which shapes to draw (`shapes`), extra static keyword
parameters drawn per example (`params`), the dtypes to try and the derivative order to check
(0: not differentiable). `prims` names the primitives the row exercises; the coverage tests
check that every primitive is named by some row (or listed in `INDIRECT` with the reason) and
that each claimed primitive really appears in the row's traced IR.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.nn
import funcgrad.numpy as fnp
import funcgrad.scipy as fsp
from funcgrad.lax import linalg as lax_linalg
from funcgrad import lax
from funcgrad.prims import indexing as _indexing
from funcgrad.testing import broadcast_shapes
from funcgrad.testing import shapes as shapes_st

F32, F64 = np.float32, np.float64


@dataclasses.dataclass(frozen=True)
class Arg:
    """One array argument: `kind` 'float' (values in [lo, hi], optionally filtered by `ok`),
    'int' (integers in [lo, hi]) or 'bool'."""
    kind: str = "float"
    lo: float = -2.0
    hi: float = 2.0
    ok: Callable[[float], bool] | None = None


FLOAT = Arg()
POS = Arg(lo=0.3, hi=3.0)


def _away(*points, margin=0.1):
    return lambda v: all(abs(v - p) > margin for p in points)


def _frac_away(center=0.0, margin=0.1):
    """Values whose distance to the nearest `center + k` (k integer) exceeds margin."""
    return lambda v: abs(((v - center) + 0.5) % 1.0 - 0.5) > margin


NONZERO = Arg(ok=_away(0.0, margin=0.2))


@dataclasses.dataclass(frozen=True)
class Spec:
    name: str
    fun: Callable
    ref: Callable
    args: tuple = (FLOAT,)
    shapes: object = "same"          # 'same' | 'bcast' | strategy of tuples of shapes
    params: Callable | None = None   # shapes -> strategy of a kwargs dict
    dtypes: tuple = (F32, F64)
    order: int = 2
    modes: tuple = ("fwd", "rev")
    prims: tuple = ()
    prep: Callable | None = None     # post-process drawn NumPy args (e.g. make values distinct)
    rtol: float = 1e-5
    atol: float = 1e-5
    grad_tol: float | None = None
    vmap: bool = True
    check_dtype: bool = True
    min_dims: int = 0

    @property
    def nargs(self) -> int:
        return len(self.args)

    def __repr__(self):
        return f"Spec({self.name})"


# ---------------------------------------------------------------------------------------
# Helpers for rows


def _distinct(*args):
    """Replace float values by well-separated ones with the same ordering (for max/sort)."""
    out = []
    for a in args:
        if a.dtype.kind == "f" and a.size:
            ranks = np.argsort(np.argsort(a.ravel(), kind="stable"), kind="stable")
            a = (ranks * 0.37 - a.size * 0.18).reshape(a.shape).astype(a.dtype)
        out.append(a)
    return tuple(out)


def _separate(x, y):
    """Keep |x - y| away from 0 (for max/min kinks)."""
    d = np.broadcast_to(x, np.broadcast_shapes(x.shape, y.shape)) - y
    y = np.where(np.abs(d) < 0.2, y - 0.5, y).astype(y.dtype)
    return x, y


def _axis_params(shape_strategy_index=0, keepdims=True, allow_none=True, tuple_axes=True):
    def params(shps):
        nd = len(shps[shape_strategy_index])
        choices = [st.none()] if allow_none else []
        if nd:
            choices.append(st.integers(-nd, nd - 1))
            if tuple_axes:
                choices.append(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd,
                                        unique=True).map(tuple))
        if not choices:
            choices = [st.none()]
        d = {"axis": st.one_of(*choices)}
        if keepdims:
            d["keepdims"] = st.booleans()
        return st.fixed_dictionaries(d)
    return params


def _one_axis(nd_min=1):
    def params(shps):
        nd = len(shps[0])
        return st.fixed_dictionaries({"axis": st.integers(-nd, nd - 1)})
    return params


def _shapes(*options):
    return st.sampled_from(options)


def _nd(min_dims, max_dims=3, n=1):
    return shapes_st(min_dims=min_dims, max_dims=max_dims).map(lambda s: (s,) * n)


def _perm_params(shps):
    nd = len(shps[0])
    return st.fixed_dictionaries({"axes": st.permutations(range(nd)).map(tuple)})


def _np_erf(x):
    return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x


def _np_logistic(x):
    return (1 / (1 + np.exp(-x))).astype(x.dtype)


def _conv_ref(x, w, strides, padding):
    x = np.pad(x, ((0, 0), (0, 0)) + tuple(padding))
    _, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    sh, sw = strides
    oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    out = np.zeros((x.shape[0], o, oh, ow), np.result_type(x, w))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w)
    return out


def _window_ref(x, op, window, strides, padding):
    fill = {"sum": 0.0, "max": -np.inf}[op]
    xp = np.pad(x, padding, constant_values=fill)
    out_shape = tuple((s - w) // st_ + 1 for s, w, st_ in zip(xp.shape, window, strides))
    out = np.empty(out_shape, x.dtype)
    f = {"sum": np.sum, "max": np.max}[op]
    for idx in np.ndindex(*out_shape):
        sl = tuple(slice(i * s, i * s + w) for i, s, w in zip(idx, strides, window))
        out[idx] = f(xp[sl])
    return out


def _scan_cumprod_like(x):
    def body(c, xi):
        c = c * 0.5 + fnp.sin(xi)
        return c, c * xi
    carry, ys = lax.scan(body, fnp.zeros(x.shape[1:], x.dtype), x)
    return carry, ys


def _scan_ref(x):
    c = np.zeros(x.shape[1:], x.dtype)
    ys = []
    for xi in x:
        c = c * 0.5 + np.sin(xi)
        ys.append(c * xi)
    return c, np.stack(ys)


def _cond_fun(x):
    return lax.cond(fnp.sum(x) > 0, lambda v: fnp.sin(v) * 2.0, lambda v: fnp.cos(v) - v, x)


def _cond_ref(x):
    return np.sin(x) * 2.0 if np.sum(x) > 0 else np.cos(x) - x


def _while_fun(x):
    def body(s):
        i, v = s
        return i + 1, v * 0.9 + fnp.sin(v)
    return lax.while_loop(lambda s: s[0] < 3, body, (0, x))[1]


def _while_ref(x):
    for _ in range(3):
        x = x * 0.9 + np.sin(x)
    return x


@fg.custom_jvp
def _softplus_cj(x):
    return fnp.logaddexp(x, 0.0)


@_softplus_cj.defjvp
def _softplus_cj_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _softplus_cj(x), t * lax.logistic(x)


@fg.custom_vjp
def _clip_grad_cv(x):
    return fnp.sin(x) * x


def _clip_grad_fwd(x):
    return fnp.sin(x) * x, x


def _clip_grad_bwd(x, g):
    return (g * (fnp.cos(x) * x + fnp.sin(x)),)


_clip_grad_cv.defvjp(_clip_grad_fwd, _clip_grad_bwd)


def _gather_fun(x, idx):
    return _indexing.gather(x, idx, (0,))


def _scatter_fun(x, idx, upd):
    return _indexing.scatter(x, idx, upd, (0,), "add")


def _scatter_ref(x, idx, upd):
    out = x.copy()
    np.add.at(out, idx[:, 0], upd)
    return out


def _int_idx(hi):
    return Arg("int", 0, hi)


# ---------------------------------------------------------------------------------------
# The table

_unary_rows = [
    # name, fnp fun, numpy ref, arg, order, prims
    ("exp", fnp.exp, np.exp, Arg(lo=-2, hi=2), 2, ("exp",)),
    ("log", fnp.log, np.log, POS, 2, ("log",)),
    ("log1p", fnp.log1p, np.log1p, Arg(lo=-0.7, hi=2), 2, ("log1p",)),
    ("expm1", fnp.expm1, np.expm1, FLOAT, 2, ("expm1",)),
    ("sin", fnp.sin, np.sin, FLOAT, 2, ("sin",)),
    ("cos", fnp.cos, np.cos, FLOAT, 2, ("cos",)),
    ("tan", fnp.tan, np.tan, Arg(lo=-1.2, hi=1.2), 2, ("tan",)),
    ("arcsin", fnp.arcsin, np.arcsin, Arg(lo=-0.9, hi=0.9), 2, ("asin",)),
    ("arccos", fnp.arccos, np.arccos, Arg(lo=-0.9, hi=0.9), 2, ("acos",)),
    ("arctan", fnp.arctan, np.arctan, FLOAT, 2, ("atan",)),
    ("sinh", fnp.sinh, np.sinh, FLOAT, 2, ("sinh",)),
    ("cosh", fnp.cosh, np.cosh, FLOAT, 2, ("cosh",)),
    ("tanh", fnp.tanh, np.tanh, FLOAT, 2, ("tanh",)),
    ("arcsinh", fnp.arcsinh, np.arcsinh, FLOAT, 2, ("asinh",)),
    ("arccosh", fnp.arccosh, np.arccosh, Arg(lo=1.2, hi=3), 2, ("acosh",)),
    ("arctanh", fnp.arctanh, np.arctanh, Arg(lo=-0.8, hi=0.8), 2, ("atanh",)),
    ("sqrt", fnp.sqrt, np.sqrt, POS, 2, ("sqrt",)),
    ("rsqrt", lax.rsqrt, lambda x: 1 / np.sqrt(x), POS, 2, ("rsqrt",)),
    ("logistic", lax.logistic, _np_logistic, FLOAT, 2, ("logistic",)),
    ("erf", lax.erf, _np_erf, FLOAT, 2, ("erf",)),
    ("abs", fnp.abs, np.abs, NONZERO, 2, ("abs",)),
    ("negative", fnp.negative, np.negative, FLOAT, 2, ("neg",)),
    ("sign", fnp.sign, np.sign, NONZERO, 1, ("sign",)),
    ("floor", fnp.floor, np.floor, Arg(ok=_frac_away()), 1, ("floor",)),
    ("ceil", fnp.ceil, np.ceil, Arg(ok=_frac_away()), 1, ("ceil",)),
    ("round", fnp.round, np.round, Arg(ok=_frac_away(0.5)), 1, ("round",)),
    ("trunc", fnp.trunc, np.trunc, Arg(ok=_frac_away()), 1, ()),
    ("exp2", fnp.exp2, np.exp2, FLOAT, 2, ()),
    ("log2", fnp.log2, np.log2, POS, 2, ()),
    ("log10", fnp.log10, np.log10, POS, 2, ()),
    ("cbrt", fnp.cbrt, np.cbrt, POS, 2, ()),
    ("square", fnp.square, np.square, FLOAT, 2, ("integer_pow",)),
    ("reciprocal", fnp.reciprocal, np.reciprocal, NONZERO, 2, ()),
    ("deg2rad", fnp.deg2rad, np.deg2rad, FLOAT, 2, ()),
    ("rad2deg", fnp.rad2deg, np.rad2deg, FLOAT, 2, ()),
    ("sinc", fnp.sinc, np.sinc, NONZERO, 2, ()),
    ("positive", fnp.positive, np.positive, FLOAT, 2, ()),
]

ROWS: list[Spec] = [
    Spec(name, f, r, args=(a,), order=o, prims=p,
         rtol=1e-4 if name in ("tan", "sinc", "arccosh", "exp2", "erf") else 1e-5)
    for name, f, r, a, o, p in _unary_rows
]

_binary_rows = [
    ("add", fnp.add, np.add, (FLOAT, FLOAT), 2, ("add",), None),
    ("subtract", fnp.subtract, np.subtract, (FLOAT, FLOAT), 2, ("sub",), None),
    ("multiply", fnp.multiply, np.multiply, (FLOAT, FLOAT), 2, ("mul",), None),
    ("divide", fnp.divide, np.divide, (FLOAT, NONZERO), 2, ("div",), None),
    ("power", fnp.power, np.power, (POS, NONZERO), 2, ("pow",), None),
    ("maximum", fnp.maximum, np.maximum, (FLOAT, FLOAT), 1, ("max",), _separate),
    ("minimum", fnp.minimum, np.minimum, (FLOAT, FLOAT), 1, ("min",), _separate),
    ("arctan2", fnp.arctan2, np.arctan2, (NONZERO, NONZERO), 2, ("atan2",), None),
    ("hypot", fnp.hypot, np.hypot, (NONZERO, NONZERO), 2, (), None),
    ("logaddexp", fnp.logaddexp, np.logaddexp, (FLOAT, FLOAT), 2, (), None),
    ("copysign", fnp.copysign, np.copysign, (NONZERO, NONZERO), 1, (), None),
]

ROWS += [Spec(name, f, r, args=a, shapes="bcast", order=o, prims=p, prep=prep)
         for name, f, r, a, o, p, prep in _binary_rows]


def _rem_prep(x, y):
    y = np.where(np.abs(y) < 0.5, np.sign(y + 1e-3) * 0.7, y).astype(y.dtype)
    q = np.broadcast_to(x, np.broadcast_shapes(x.shape, y.shape)) / y
    frac = np.abs(q - np.round(q))
    x = np.where(frac < 0.1, x + 0.3 * np.abs(y), x).astype(x.dtype)
    return x, y


ROWS += [
    Spec("fmod", fnp.fmod, np.fmod, args=(FLOAT, FLOAT), shapes=_nd(0, n=2), order=1,
         prims=("rem",), prep=_rem_prep, rtol=1e-4, atol=1e-4),
    Spec("remainder", fnp.remainder, np.remainder, args=(FLOAT, FLOAT), shapes=_nd(0, n=2),
         order=1, prep=_rem_prep, rtol=1e-4, atol=1e-4),
    Spec("integer_pow", lambda x, y: lax.integer_pow(x, y), lambda x, y: x ** y,
         args=(NONZERO,), params=lambda s: st.fixed_dictionaries(
             {"y": st.sampled_from([-2, -1, 0, 1, 2, 3])}), prims=("integer_pow",),
         rtol=1e-4),
    Spec("floor_divide", fnp.floor_divide, np.floor_divide, args=(FLOAT, NONZERO),
         shapes="bcast", order=0, prep=lambda x, y: _rem_prep(x, y)),
]

# comparisons, logic, predicates: not differentiable
for _name, _f, _r, _p in [
        ("equal", fnp.equal, np.equal, "eq"), ("not_equal", fnp.not_equal, np.not_equal, "ne"),
        ("less", fnp.less, np.less, "lt"), ("less_equal", fnp.less_equal, np.less_equal, "le"),
        ("greater", fnp.greater, np.greater, "gt"),
        ("greater_equal", fnp.greater_equal, np.greater_equal, "ge")]:
    ROWS.append(Spec(_name, _f, _r, args=(Arg(lo=-2, hi=2), Arg(lo=-2, hi=2)),
                     shapes="bcast", order=0, prims=(_p,),
                     prep=lambda x, y: (np.round(x), np.round(y))))

_BOOL = Arg("bool")
_INT = Arg("int", -20, 20)
ROWS += [
    Spec("logical_and", fnp.logical_and, np.logical_and, args=(_BOOL, _BOOL), shapes="bcast",
         order=0, prims=("and",), dtypes=(np.bool_,)),
    Spec("logical_or", fnp.logical_or, np.logical_or, args=(_BOOL, _BOOL), shapes="bcast",
         order=0, prims=("or",), dtypes=(np.bool_,)),
    Spec("logical_xor", fnp.logical_xor, np.logical_xor, args=(_BOOL, _BOOL), shapes="bcast",
         order=0, prims=("xor",), dtypes=(np.bool_,)),
    Spec("logical_not", fnp.logical_not, np.logical_not, args=(_BOOL,), order=0,
         prims=("not",), dtypes=(np.bool_,)),
    Spec("bitwise_and", fnp.bitwise_and, np.bitwise_and, args=(_INT, _INT), shapes="bcast",
         order=0, dtypes=(np.int32,)),
    Spec("bitwise_not", fnp.bitwise_not, np.bitwise_not, args=(_INT,), order=0,
         dtypes=(np.int32,)),
    Spec("left_shift", fnp.left_shift, np.left_shift, args=(Arg("int", 0, 100), Arg("int", 0, 8)),
         shapes="bcast", order=0, prims=("shift_left",), dtypes=(np.int32,)),
    Spec("right_shift", fnp.right_shift, np.right_shift,
         args=(Arg("int", 0, 1000), Arg("int", 0, 8)), shapes="bcast", order=0,
         prims=("shift_right_logical",), dtypes=(np.int32,)),
    Spec("isfinite", fnp.isfinite, np.isfinite, order=0, prims=("is_finite",)),
    Spec("isnan", fnp.isnan, np.isnan, order=0),
    Spec("isinf", fnp.isinf, np.isinf, order=0),
    Spec("signbit", fnp.signbit, np.signbit, args=(NONZERO,), order=0, prims=("signbit",)),
    Spec("where", lambda c, x, y: fnp.where(c > 0, x, y), lambda c, x, y: np.where(c > 0, x, y),
         args=(NONZERO, FLOAT, FLOAT), shapes=broadcast_shapes(3), prims=("select",)),
    Spec("clip", lambda x: fnp.clip(x, -0.5, 1.0), lambda x: np.clip(x, -0.5, 1.0),
         args=(Arg(ok=_away(-0.5, 1.0)),), order=1),
    Spec("nan_to_num", fnp.nan_to_num, np.nan_to_num, order=2),
    Spec("heaviside", fnp.heaviside, np.heaviside, args=(NONZERO, FLOAT), shapes="bcast",
         order=0),
    # A float32 round trip: finite differences would only see rounding, so its derivative
    # is checked in test_core_transforms (test_convert_element_type_grad).
    Spec("astype", lambda x: x.astype(np.float16).astype(np.float32) * 2.0,
         lambda x: (x.astype(np.float16).astype(np.float32) * 2.0), dtypes=(F32,), order=0,
         prims=("convert_element_type",)),
    Spec("astype_int", lambda x: fnp.asarray(x).astype(np.int32),
         lambda x: x.astype(np.int32), order=0, prims=("convert_element_type",)),
    Spec("stop_gradient", lambda x: lax.stop_gradient(x) * x, lambda x: x * x, order=0,
         prims=("stop_gradient",)),
]

# reductions
ROWS += [
    Spec("sum", fnp.sum, np.sum, params=_axis_params(), prims=("reduce_sum",),
         rtol=1e-4, atol=1e-4),
    Spec("prod", fnp.prod, np.prod, args=(Arg(lo=0.5, hi=1.5),), shapes=_nd(0, 2),
         params=_axis_params(), prims=("reduce_prod",), rtol=1e-4),
    Spec("max", fnp.max, np.max, params=_axis_params(), prims=("reduce_max",), order=1,
         prep=_distinct),
    Spec("min", fnp.min, np.min, params=_axis_params(), prims=("reduce_min",), order=1,
         prep=_distinct),
    Spec("mean", fnp.mean, np.mean, params=_axis_params(), rtol=1e-4, atol=1e-5),
    Spec("var", fnp.var, np.var, params=_axis_params(), rtol=1e-4, atol=1e-4),
    # (std over a single element is sqrt(0): its derivative is nan, in JAX too)
    Spec("std", fnp.std, np.std, shapes=shapes_st(min_dims=1, min_side=2).map(lambda s: (s,)),
         params=_axis_params(allow_none=True, tuple_axes=False), prep=_distinct, rtol=1e-4,
         atol=1e-4),
    Spec("ptp", fnp.ptp, np.ptp, shapes=_nd(1), params=_one_axis(), order=1, prep=_distinct),
    Spec("any", fnp.any, np.any, args=(_BOOL,), params=_axis_params(), order=0,
         dtypes=(np.bool_,)),
    Spec("all", fnp.all, np.all, args=(_BOOL,), params=_axis_params(), order=0,
         dtypes=(np.bool_,)),
    Spec("argmax", fnp.argmax, np.argmax, shapes=_nd(1), params=_one_axis(), order=0,
         prims=("argmax",), prep=_distinct),
    Spec("argmin", fnp.argmin, np.argmin, shapes=_nd(1), params=_one_axis(), order=0,
         prims=("argmin",), prep=_distinct),
    Spec("cumsum", fnp.cumsum, np.cumsum, shapes=_nd(1), params=_one_axis(),
         prims=("cumsum",), rtol=1e-4, atol=1e-5),
    Spec("lax.cumsum_reverse", lambda x: lax.cumsum(x, 0, reverse=True),
         lambda x: np.flip(np.cumsum(np.flip(x, 0), 0), 0), shapes=_nd(1), prims=("cumsum",),
         rtol=1e-4, atol=1e-5),
    Spec("cumprod", fnp.cumprod, np.cumprod, args=(Arg(lo=0.5, hi=1.5),), shapes=_nd(1, 2),
         params=_one_axis(), rtol=1e-4),
    Spec("sort", fnp.sort, np.sort, shapes=_nd(1), params=_one_axis(), order=1,
         prims=("sort",), prep=_distinct),
    Spec("argsort", fnp.argsort, np.argsort, shapes=_nd(1), params=_one_axis(), order=0,
         prims=("sort",), prep=_distinct),
    Spec("lax.top_k", lambda x: lax.top_k(x, 1)[0], lambda x: np.max(x, -1, keepdims=True),
         shapes=_nd(1), order=1, prims=("top_k",), prep=_distinct),
    Spec("linalg.norm", fnp.linalg.norm, np.linalg.norm, args=(NONZERO,), shapes=_nd(1, 2),
         rtol=1e-4),
    Spec("linalg.norm_axis", lambda x, axis, ord: fnp.linalg.norm(x, ord=ord, axis=axis),
         lambda x, axis, ord: np.linalg.norm(x, ord=ord, axis=axis), args=(NONZERO,),
         shapes=_nd(1, 2), params=lambda s: st.fixed_dictionaries(
             {"axis": st.integers(-len(s[0]), len(s[0]) - 1),
              "ord": st.sampled_from([None, 1, 2, np.inf])}), order=1, prep=_distinct,
         rtol=1e-4),
    Spec("logsumexp", lambda x, axis: fg.nn.logsumexp(x, axis=axis),
         lambda x, axis: np.log(np.sum(np.exp(x), axis=axis)), params=_axis_params(
             keepdims=False), rtol=1e-4, atol=1e-5),
]

# shape manipulation
ROWS += [
    Spec("reshape", lambda x: fnp.reshape(x, (-1,)), lambda x: np.reshape(x, (-1,)),
         prims=("reshape",)),
    Spec("reshape_2d", lambda x: fnp.reshape(x, (2, -1)), lambda x: np.reshape(x, (2, -1)),
         shapes=_shapes(((2, 3),), ((4,),), ((2, 2, 2),), ((6, 1),))),
    Spec("ravel", fnp.ravel, np.ravel),
    Spec("transpose", fnp.transpose, np.transpose, params=_perm_params, prims=("transpose",)),
    Spec("transpose_default", fnp.transpose, np.transpose),
    Spec("swapaxes", lambda x: fnp.swapaxes(x, 0, -1), lambda x: np.swapaxes(x, 0, -1),
         shapes=_nd(1)),
    Spec("moveaxis", lambda x: fnp.moveaxis(x, 0, -1), lambda x: np.moveaxis(x, 0, -1),
         shapes=_nd(1)),
    Spec("expand_dims", fnp.expand_dims, np.expand_dims, params=lambda s: st.fixed_dictionaries(
        {"axis": st.integers(-len(s[0]) - 1, len(s[0]))}), prims=("expand_dims",)),
    Spec("squeeze", fnp.squeeze, np.squeeze,
         shapes=_shapes(((1, 3),), ((3, 1, 2),), ((1,),), ((1, 1),), ((2, 1, 1),)),
         prims=("squeeze",)),
    Spec("broadcast_to", lambda x: fnp.broadcast_to(x, (2,) + x.shape),
         lambda x: np.broadcast_to(x, (2,) + x.shape), prims=("broadcast_in_dim",)),
    Spec("flip", fnp.flip, np.flip, params=_axis_params(keepdims=False), prims=("rev",)),
    Spec("roll", lambda x: fnp.roll(x, 2, axis=0), lambda x: np.roll(x, 2, axis=0),
         shapes=_nd(1)),
    # Band-limited resampling to twice the length: RFFT, then IRFFT of the zero-padded half
    # spectrum (both kinds of the fft primitive, and both their transposes in reverse mode).
    Spec("fft_resample", lambda x, axis: fnp.fft.irfft(fnp.fft.rfft(x, axis=axis),
                                                       2 * x.shape[axis], axis),
         lambda x, axis: np.fft.irfft(np.fft.rfft(x, axis=axis), 2 * x.shape[axis], axis),
         shapes=_nd(1), params=_one_axis(), prims=("fft",)),
    Spec("tile", lambda x: fnp.tile(x, (2, 1)), lambda x: np.tile(x, (2, 1)), shapes=_nd(0, 2)),
    Spec("repeat", lambda x: fnp.repeat(x, 2, axis=0), lambda x: np.repeat(x, 2, axis=0),
         shapes=_nd(1)),
    Spec("atleast_2d", fnp.atleast_2d, np.atleast_2d),
    Spec("tril", fnp.tril, np.tril, shapes=_nd(2, 2)),
    Spec("triu", lambda x: fnp.triu(x, 1), lambda x: np.triu(x, 1), shapes=_nd(2, 2)),
    Spec("diagonal", fnp.diagonal, np.diagonal, shapes=_nd(2, 2)),
    Spec("trace", fnp.trace, np.trace, shapes=_nd(2, 2)),
    Spec("concatenate", lambda x, y: fnp.concatenate([x, y, x], axis=0),
         lambda x, y: np.concatenate([x, y, x], axis=0), args=(FLOAT, FLOAT),
         shapes=_shapes(((2, 3), (1, 3)), ((1,), (3,)), ((2, 2, 1), (3, 2, 1))),
         prims=("concatenate",)),
    Spec("stack", lambda x, y: fnp.stack([x, y], axis=-1),
         lambda x, y: np.stack([x, y], axis=-1), args=(FLOAT, FLOAT), shapes=_nd(0, n=2)),
    Spec("split", lambda x: tuple(fnp.split(x, 2, axis=0)),
         lambda x: tuple(np.split(x, 2, axis=0)),
         shapes=_shapes(((2,),), ((4, 3),), ((2, 1, 2),)), prims=("slice",)),
    Spec("pad", lambda x: fnp.pad(x, 1), lambda x: np.pad(x, 1), prims=("pad",)),
    Spec("pad_values", lambda x: fnp.pad(x, ((1, 0), (0, 2)), constant_values=3.0),
         lambda x: np.pad(x, ((1, 0), (0, 2)), constant_values=3.0), shapes=_nd(2, 2)),
    Spec("lax.pad_interior", lambda x: lax.pad(x, 0.0, ((1, -1, 1),)),
         lambda x: _pad_interior_ref(x),
         shapes=_shapes(((3,),), ((1,),), ((4,),)), prims=("pad",)),
]


def _pad_interior_ref(x):
    n = x.shape[0]
    out = np.zeros(1 + n + (n - 1), x.dtype)
    out[1::2] = x
    return out[:-1]


# indexing
_IDX = [
    (np.s_[1:], "1:"), (np.s_[::-1], "::-1"), (np.s_[::-2, None], "::-2,None"),
    (np.s_[..., 0], "...,0"), (np.s_[-1], "-1"), (np.s_[:, None, 1:3:2], ":,None,1:3:2"),
]


def _getitem_params(shps):
    ok = [i for i, _ in _IDX if _index_ok(i, shps[0])]
    return st.fixed_dictionaries({"idx": st.sampled_from(ok)})


def _index_ok(idx, shape):
    try:
        np.zeros(shape)[idx]
        return True
    except IndexError:
        return False


ROWS += [
    Spec("getitem", lambda x, idx: x[idx], lambda x, idx: x[idx], shapes=_nd(2, 3),
         params=_getitem_params, prims=("slice",)),
    Spec("getitem_intarray", lambda x, i: x[i], lambda x, i: x[i],
         args=(FLOAT, Arg("int", -3, 2)), shapes=_shapes(((3, 2), (4,)), ((3,), (2, 2)),
                                                           ((3, 1, 2), (1,))),
         prims=("gather",)),
    Spec("take", lambda x, i: fnp.take(x, i, axis=1), lambda x, i: np.take(x, i, axis=1),
         args=(FLOAT, Arg("int", 0, 1)), shapes=_shapes(((3, 2), (4,)), ((1, 2, 2), (2, 2)))),
    Spec("take_along_axis", lambda x, i: fnp.take_along_axis(x, i, axis=1),
         lambda x, i: np.take_along_axis(x, i, axis=1), args=(FLOAT, Arg("int", 0, 2)),
         shapes=_shapes(((2, 3), (2, 4)), ((1, 3), (1, 1)))),
    Spec("lax.gather", _gather_fun, lambda x, i: x[np.clip(i[..., 0], 0, x.shape[0] - 1)],
         args=(FLOAT, Arg("int", 0, 2)), shapes=_shapes(((3, 2), (4, 1)), ((3,), (2, 2, 1))),
         prims=("gather",)),
    Spec("lax.scatter_add", _scatter_fun, _scatter_ref,
         args=(FLOAT, Arg("int", 0, 2), FLOAT),
         shapes=_shapes(((3, 2), (4, 1), (4, 2)), ((3,), (2, 1), (2,))), prims=("scatter",)),
    Spec("at_set", lambda x, v: x.at[1:].set(v), lambda x, v: _np_at_set(x, v),
         args=(FLOAT, FLOAT), shapes=_shapes(((3,), ()), ((3, 2), (2,)), ((2, 2), (1, 2))),
         prims=("scatter",)),
    Spec("lax.dynamic_slice", lambda x, i: lax.dynamic_slice(x, (i, 0), (2, 2)),
         lambda x, i: _np_dynamic_slice(x, i), args=(FLOAT, Arg("int", -1, 4)),
         shapes=_shapes(((3, 2), ()), ((4, 3), ())), prims=("dynamic_slice",)),
    Spec("lax.dynamic_update_slice",
         lambda x, u, i: lax.dynamic_update_slice(x, u, (i, 0)),
         lambda x, u, i: _np_dus(x, u, i), args=(FLOAT, FLOAT, Arg("int", -1, 4)),
         shapes=_shapes(((3, 2), (2, 2), ()), ((4, 3), (1, 3), ())),
         prims=("dynamic_update_slice",)),
]


def _np_at_set(x, v):
    out = x.copy()
    out[1:] = v
    return out


def _np_dynamic_slice(x, i):
    i = i + x.shape[0] if i < 0 else i         # negative starts count from the end (JAX)
    i = int(np.clip(i, 0, x.shape[0] - 2))
    return x[i:i + 2, 0:2]


def _np_dus(x, u, i):
    out = x.copy()
    i = i + x.shape[0] if i < 0 else i
    i = int(np.clip(i, 0, x.shape[0] - u.shape[0]))
    out[i:i + u.shape[0], :u.shape[1]] = u
    return out


# linear algebra
_mm_shapes = _shapes(((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 2)), ((2, 3), (3, 4)),
                     ((2, 2, 3), (3, 1)), ((2, 1, 3), (2, 3, 2)))
ROWS += [
    Spec("matmul", fnp.matmul, np.matmul, args=(FLOAT, FLOAT), shapes=_mm_shapes,
         prims=("dot_general",), rtol=1e-4, atol=1e-5),
    Spec("dot", fnp.dot, np.dot, args=(FLOAT, FLOAT),
         shapes=_shapes(((3,), (3,)), ((2, 3), (3, 2)), ((), (2,)), ((2, 2, 3), (3,))),
         rtol=1e-4, atol=1e-5),
    Spec("einsum", lambda x, y: fnp.einsum("ij,jk->ik", x, y),
         lambda x, y: np.einsum("ij,jk->ik", x, y), args=(FLOAT, FLOAT),
         shapes=_shapes(((2, 3), (3, 4)), ((1, 2), (2, 1))), rtol=1e-4, atol=1e-5),
    Spec("einsum_batch", lambda x, y: fnp.einsum("bij,bj->bi", x, y),
         lambda x, y: np.einsum("bij,bj->bi", x, y), args=(FLOAT, FLOAT),
         shapes=_shapes(((2, 2, 3), (2, 3)),), rtol=1e-4, atol=1e-5),
    Spec("einsum_contract_all", lambda x, y: fnp.einsum("ij,kj->", x, y),
         lambda x, y: np.einsum("ij,kj->", x, y), args=(FLOAT, FLOAT),
         shapes=_shapes(((3, 3), (2, 3)), ((1, 2), (3, 2))), rtol=1e-4, atol=1e-5),
    Spec("tensordot", lambda x, y: fnp.tensordot(x, y, axes=([1, 2], [0, 1])),
         lambda x, y: np.tensordot(x, y, axes=([1, 2], [0, 1])), args=(FLOAT, FLOAT),
         shapes=_shapes(((2, 3, 2), (3, 2, 2)),), rtol=1e-4, atol=1e-5),
    Spec("outer", fnp.outer, np.outer, args=(FLOAT, FLOAT), shapes=_nd(1, 1, n=2)),
    Spec("inner", fnp.inner, np.inner, args=(FLOAT, FLOAT), shapes=_nd(1, 1, n=2),
         rtol=1e-4, atol=1e-5),
    Spec("vdot", fnp.vdot, np.vdot, args=(FLOAT, FLOAT), shapes=_nd(1, 2, n=2), rtol=1e-4,
         atol=1e-5),
    Spec("kron", fnp.kron, np.kron, args=(FLOAT, FLOAT), shapes=_nd(1, 2, n=2)),
    Spec("lax.dot_general_batch",
         lambda x, y: lax.dot_general(x, y, (((2,), (1,)), ((0,), (0,)))),
         lambda x, y: np.einsum("bij,bjk->bik", x, y), args=(FLOAT, FLOAT),
         shapes=_shapes(((2, 2, 3), (2, 3, 1)), ((1, 1, 2), (1, 2, 2))),
         prims=("dot_general",), rtol=1e-4, atol=1e-5),
    Spec("lax.conv", lambda x, w, strides, padding: lax.conv_general_dilated(
        x, w, strides, padding), _conv_ref, args=(FLOAT, FLOAT),
         shapes=_shapes(((1, 2, 4, 4), (3, 2, 2, 2)), ((2, 1, 3, 4), (2, 1, 3, 2))),
         params=lambda s: st.fixed_dictionaries({
             "strides": st.sampled_from([(1, 1), (2, 1)]),
             "padding": st.sampled_from([((0, 0), (0, 0)), ((1, 0), (1, 1))])}),
         prims=("conv_general_dilated",), rtol=1e-4, atol=1e-4, dtypes=(F32,)),
    Spec("lax.reduce_window_sum", lambda x: lax.reduce_window(
        x, 0.0, lax.add, (2, 2), (1, 2), ((0, 1), (1, 0))),
         lambda x: _window_ref(x, "sum", (2, 2), (1, 2), ((0, 1), (1, 0))),
         shapes=_nd(2, 2), prims=("reduce_window",), rtol=1e-4, atol=1e-5),
    Spec("lax.reduce_window_max", lambda x: lax.reduce_window(
        x, -np.inf, lax.max, (2, 1), (1, 1), "VALID"),
         lambda x: _window_ref(x, "max", (2, 1), (1, 1), ((0, 0), (0, 0))),
         shapes=_shapes(((2, 3),), ((4, 2),)), prims=("reduce_window",), order=1,
         prep=_distinct),
]

def _rw_max(x):
    return lax.reduce_window(x, -np.inf, lax.max, (2, 1), (1, 1), "VALID")


def _argmax_windows(x):
    """For each (2, 1) window (stride 1, VALID), the flat index of its max in x."""
    out_shape = (x.shape[0] - 1, x.shape[1])
    pos = np.empty(out_shape, np.int64)
    for i, j in np.ndindex(*out_shape):
        pos[i, j] = np.ravel_multi_index((i + int(np.argmax(x[i:i + 2, j])), j), x.shape)
    return pos


def _pool_gather_ref(x, t):
    return t.reshape(-1)[_argmax_windows(x)]


def _pool_scatter_ref(x, ct):
    acc = np.zeros(x.size, ct.dtype)
    np.add.at(acc, _argmax_windows(x).reshape(-1), ct.reshape(-1))
    return acc.reshape(x.shape)


def _distinct_first(x, *rest):
    return _distinct(x) + tuple(rest)


ROWS += [
    Spec("reduce_window_max_jvp", lambda x, t: fg.jvp(_rw_max, (x,), (t,))[1],
         _pool_gather_ref, args=(FLOAT, FLOAT), shapes=_shapes(((2, 3),) * 2, ((4, 2),) * 2),
         order=1, prims=("pool_gather",), prep=_distinct_first),
    Spec("reduce_window_max_vjp", lambda x, ct: fg.vjp(_rw_max, x)[1](ct)[0],
         _pool_scatter_ref, args=(FLOAT, FLOAT), shapes=_shapes(((2, 3), (1, 3)),
                                                               ((4, 2), (3, 2))),
         order=1, prims=("pool_scatter",), prep=_distinct_first),
]

# creation (no array arguments: forward and jit only)
ROWS += [
    Spec("arange", lambda: fnp.arange(5), lambda: np.arange(5), args=(), order=0,
         prims=("iota",), vmap=False, check_dtype=True),
    Spec("eye", lambda: fnp.eye(3, k=1), lambda: np.eye(3, k=1).astype(np.float32), args=(),
         order=0, vmap=False),
    Spec("linspace", lambda: fnp.linspace(0.0, 1.0, 5), lambda: np.linspace(0, 1, 5,
                                                                           dtype=np.float32),
         args=(), order=0, vmap=False),
]

# higher-order primitives
ROWS += [
    Spec("jit", fg.jit(lambda x: fnp.sin(x) * x), lambda x: np.sin(x) * x, prims=("jit",)),
    Spec("checkpoint", fg.checkpoint(lambda x: fnp.sin(fnp.cos(x)) * x),
         lambda x: np.sin(np.cos(x)) * x, prims=("remat",)),
    Spec("lax.scan", _scan_cumprod_like, _scan_ref, shapes=_nd(1), prims=("scan",),
         rtol=1e-4, atol=1e-5),
    Spec("lax.cond", _cond_fun, _cond_ref, args=(Arg(ok=_away(0.0, margin=0.3)),),
         shapes=_nd(0, 0), prims=("cond",)),
    Spec("lax.while_loop", _while_fun, _while_ref, modes=("fwd",), prims=("while",),
         rtol=1e-4, atol=1e-5),
    Spec("custom_jvp", _softplus_cj, lambda x: np.logaddexp(x, 0.0),
         prims=("custom_jvp_call",), rtol=1e-4),
    Spec("custom_vjp", _clip_grad_cv, lambda x: np.sin(x) * x, modes=("rev",), order=1,
         prims=("custom_vjp_call",)),
]

# factorisations on LAPACK (funcgrad.numpy.linalg, funcgrad.lax.linalg, funcgrad.scipy)
#
# Each function first maps the drawn matrix to a well-conditioned one (so the row checks
# the function, not the conditioning of random draws), in the same way for funcgrad and
# NumPy: `_well_posed` adds 10 I and reverses the rows (LU must pivot), `_spd` makes a
# positive definite matrix, `_spread` adds a diagonal 4, 8, 12, ... (descending for the
# SVD) so that eigen- and singular values are distinct and in the diagonal's order, and
# each singular/eigenvector has its dominant entry on the diagonal (which fixes its sign).


def _eye_like(xp, x):
    m, n = x.shape[-2:]
    return xp.eye(m, n, dtype=x.dtype)


def _well_posed(xp, x):
    return xp.flip(x + 10 * _eye_like(xp, x), axis=-2)


def _spd(xp, x):
    return x @ xp.swapaxes(x, -1, -2) + _eye_like(xp, x)


def _spread(xp, x, descending=False):
    m, n = x.shape[-2:]
    steps = xp.arange(n, 0, -1) if descending else xp.arange(1, n + 1)
    return 0.2 * x + xp.eye(m, n, dtype=x.dtype) * (4 * steps).astype(x.dtype)


def _sym_spread(xp, x):
    return _spread(xp, (x + xp.swapaxes(x, -1, -2)) / 2)


def _fix_signs(xp, v, diag):
    """Columns of v multiplied by the signs of `diag` (one entry per column)."""
    return v * xp.where(diag < 0, -1, 1).astype(v.dtype)[..., None, :]


def _diag(xp, x):
    return xp.diagonal(x, 0, -2, -1)


def _fg_eigh(x):
    w, v = fnp.linalg.eigh(_sym_spread(fnp, x))
    return w, _fix_signs(fnp, v, _diag(fnp, v))


def _np_eigh(x):
    w, v = np.linalg.eigh(_sym_spread(np, x))
    return w, _fix_signs(np, v, _diag(np, v))


def _fg_svd(x):
    u, s, vh = fnp.linalg.svd(_spread(fnp, x, True), full_matrices=False)
    sg = _diag(fnp, u)
    return s, _fix_signs(fnp, u, sg), fnp.swapaxes(_fix_signs(fnp, fnp.swapaxes(vh, -1, -2),
                                                               sg), -1, -2)


def _np_svd(x):
    u, s, vh = np.linalg.svd(_spread(np, x, True), full_matrices=False)
    sg = _diag(np, u)
    return s, _fix_signs(np, u, sg), np.swapaxes(_fix_signs(np, np.swapaxes(vh, -1, -2), sg),
                                                 -1, -2)


def _qr_fixed(xp, q, r):
    sg = _diag(xp, r)
    return _fix_signs(xp, q, sg), xp.swapaxes(_fix_signs(xp, xp.swapaxes(r, -1, -2), sg),
                                              -1, -2)


def _fg_qr(x):
    return _qr_fixed(fnp, *fnp.linalg.qr(_spread(fnp, x)))


def _np_qr(x):
    return _qr_fixed(np, *np.linalg.qr(_spread(np, x)))


def _np_solve(a, b):
    return np.linalg.solve(_well_posed(np, a), b)


def _np_triangular_solve(a, b, left_side, lower, transpose_a, unit_diagonal):
    a = _well_posed(np, a)[..., ::-1, :]
    tri = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        tri = tri - _diag(np, tri)[..., None] * np.eye(a.shape[-1], dtype=a.dtype) + \
            np.eye(a.shape[-1], dtype=a.dtype)
    op = np.swapaxes(tri, -1, -2) if transpose_a else tri
    if left_side:
        return np.linalg.solve(op, b)
    return np.swapaxes(np.linalg.solve(np.swapaxes(op, -1, -2), np.swapaxes(b, -1, -2)),
                       -1, -2)


def _fg_triangular_solve(a, b, left_side, lower, transpose_a, unit_diagonal):
    a = _well_posed(fnp, a)[..., ::-1, :]
    return lax_linalg.triangular_solve(a, b, left_side=left_side, lower=lower,
                                       transpose_a=transpose_a, unit_diagonal=unit_diagonal)


def _triangular_params(shps):
    return st.fixed_dictionaries({"lower": st.booleans(), "transpose_a": st.booleans(),
                                  "unit_diagonal": st.booleans()})


def _np_lu(x):
    import scipy.linalg
    x = _well_posed(np, x)
    return np.stack([scipy.linalg.lu_factor(m)[0] for m in x.reshape((-1,) + x.shape[-2:])]
                    ).reshape(x.shape)


def _np_cho_solve(a, b):
    import scipy.linalg
    return scipy.linalg.cho_solve(scipy.linalg.cho_factor(_spd(np, a), lower=True), b)


def _np_mvn_logpdf(x, mean, cov):
    import scipy.stats
    return scipy.stats.multivariate_normal.logpdf(x, mean, _spd(np, cov)).astype(x.dtype)


_sq = _shapes(((3, 3),), ((2, 3, 3),), ((1, 1),), ((4, 4),))
_rect = _shapes(((3, 3),), ((4, 2),), ((2, 4),), ((2, 3, 2),))
_solve_shapes = _shapes(((3, 3), (3,)), ((2, 3, 3), (2, 3, 2)), ((3, 3), (2, 3, 1)),
                        ((1, 1), (1,)))
_LINALG_TOL = {"rtol": 2e-4, "atol": 2e-4}

ROWS += [
    Spec("linalg.cholesky", lambda x: fnp.linalg.cholesky(_spd(fnp, x)),
         lambda x: np.linalg.cholesky(_spd(np, x)), shapes=_sq, prims=("cholesky",),
         **_LINALG_TOL),
    Spec("linalg.solve", lambda a, b: fnp.linalg.solve(_well_posed(fnp, a), b), _np_solve,
         args=(FLOAT, FLOAT), shapes=_solve_shapes, prims=("lu", "triangular_solve"),
         **_LINALG_TOL),
    Spec("linalg.inv", lambda x: fnp.linalg.inv(_well_posed(fnp, x)),
         lambda x: np.linalg.inv(_well_posed(np, x)), shapes=_sq, prims=("lu",), order=1,
         **_LINALG_TOL),
    Spec("linalg.det", lambda x: fnp.linalg.det(0.2 * _well_posed(fnp, x)),
         lambda x: np.linalg.det(0.2 * _well_posed(np, x)),
         shapes=_shapes(((4, 4),), ((2, 5, 5),), ((2, 2),), ((3, 3),), ((1, 1),)), order=1,
         **_LINALG_TOL),
    Spec("linalg.slogdet", lambda x: tuple(fnp.linalg.slogdet(_well_posed(fnp, x))),
         lambda x: tuple(np.linalg.slogdet(_well_posed(np, x))), shapes=_sq, prims=("lu",),
         order=1, **_LINALG_TOL),
    Spec("linalg.qr", _fg_qr, _np_qr, shapes=_rect, prims=("qr",), **_LINALG_TOL),
    Spec("linalg.eigh", _fg_eigh, _np_eigh, shapes=_sq, prims=("eigh",), **_LINALG_TOL),
    Spec("linalg.svd", _fg_svd, _np_svd, shapes=_rect, prims=("svd",), **_LINALG_TOL),
    Spec("linalg.pinv", lambda x: fnp.linalg.pinv(_spread(fnp, x)),
         lambda x: np.linalg.pinv(_spread(np, x)), shapes=_rect, prims=("svd",), order=1,
         **_LINALG_TOL),
    Spec("lax.linalg.triangular_solve", _fg_triangular_solve, _np_triangular_solve,
         args=(FLOAT, FLOAT),
         shapes=_shapes(((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 1)), ((1, 1), (1, 3))),
         params=lambda s: _triangular_params(s).map(lambda d: {**d, "left_side": True}),
         prims=("triangular_solve",), **_LINALG_TOL),
    Spec("lax.linalg.triangular_solve_right", _fg_triangular_solve, _np_triangular_solve,
         args=(FLOAT, FLOAT), shapes=_shapes(((3, 3), (2, 3)), ((2, 2, 2), (2, 1, 2))),
         params=lambda s: _triangular_params(s).map(lambda d: {**d, "left_side": False}),
         prims=("triangular_solve",), **_LINALG_TOL),
    Spec("lax.linalg.lu", lambda x: lax_linalg.lu(_well_posed(fnp, x))[0], _np_lu,
         shapes=_sq, prims=("lu",), **_LINALG_TOL),
    Spec("scipy.linalg.cho_solve", lambda a, b: fsp.linalg.cho_solve(
        fsp.linalg.cho_factor(_spd(fnp, a), lower=True), b), _np_cho_solve,
         args=(FLOAT, FLOAT), shapes=_shapes(((3, 3), (3,)), ((3, 3), (3, 2)), ((1, 1), (1,))),
         prims=("cholesky", "triangular_solve"), order=1, **_LINALG_TOL),
    Spec("scipy.stats.multivariate_normal.logpdf",
         lambda x, m, c: fsp.stats.multivariate_normal.logpdf(x, m, _spd(fnp, c)),
         _np_mvn_logpdf, args=(FLOAT, FLOAT, FLOAT),
         shapes=_shapes(((3,), (3,), (3, 3)), ((2, 2), (2,), (2, 2))),
         prims=("cholesky", "triangular_solve"), order=1, **_LINALG_TOL),
]


# funcgrad.scipy.special and scipy.stats.norm, against SciPy
def _scipy_ref(name):
    def ref(*args):
        import scipy.special
        import scipy.stats
        mod, _, fn = name.rpartition(".")
        f = getattr({"special": scipy.special, "norm": scipy.stats.norm}[mod], fn)
        return np.asarray(f(*args)).astype(args[0].dtype)
    return ref


def _fsp(name):
    mod, _, fn = name.rpartition(".")
    return getattr({"special": fsp.special, "norm": fsp.stats.norm}[mod], fn)


_NOT_POLE = Arg(lo=-3.0, hi=4.0, ok=_frac_away(0.0, 0.1))
_UNIT = Arg(lo=0.03, hi=0.97)
# (the rest of funcgrad.scipy, thin compositions of these, is checked in test_scipy.py)
_SPECIAL = [
    # name, args, prims, order, rtol
    ("special.erfc", (Arg(lo=-3.0, hi=5.0),), ("erfc",), 2, 1e-5),
    ("special.erfinv", (Arg(lo=-0.95, hi=0.95),), (), 1, 1e-5),
    ("special.gammaln", (_NOT_POLE,), ("lgamma",), 2, 1e-5),
    ("special.digamma", (Arg(lo=-3.0, hi=4.0, ok=_frac_away(0.0, 0.15)),), (), 1, 1e-4),
    ("special.xlogy", (FLOAT, POS), (), 2, 1e-5),
    ("special.entr", (POS,), (), 1, 1e-5),
    ("special.log_ndtr", (Arg(lo=-25.0, hi=6.0),), ("erfc",), 1, 1e-5),
    ("special.ndtri", (_UNIT,), (), 2, 1e-4),
    ("norm.logpdf", (FLOAT, FLOAT, POS), (), 1, 1e-5),
]
ROWS += [Spec(f"scipy.{name}", _fsp(name), _scipy_ref(name), args=args,
              shapes="same" if len(args) == 1 else "bcast", order=order, prims=prims,
              rtol=rtol, atol=1e-5) for name, args, prims, order, rtol in _SPECIAL]
ROWS += [
    Spec("scipy.special.logsumexp_b", lambda x, b: fsp.special.logsumexp(x, b=b, axis=-1),
         lambda x, b: _scipy_ref("special.logsumexp")(x, -1, b), args=(FLOAT, POS),
         shapes=_nd(1, 2, n=2), rtol=1e-5, atol=1e-5),
]

# complex numbers. The rows take real arrays (real and imaginary parts) and return the real
# and imaginary parts of the complex result, so the harness checks complex64 (the float32
# examples) and complex128 (the float64 ones) through the real embedding: agreement with
# NumPy, derivatives against finite differences (JAX's convention: the derivative of the
# real map), vmap, jit and every backend. The parts stay away from 0, which keeps the
# points off the branch cuts (all on the axes) of log, sqrt, the inverse functions and
# angle, and off the poles of tan/tanh.


def _ctype(x):
    return np.complex64 if np.dtype(x.dtype) == np.float32 else np.complex128


def _np_z(x, y):
    z = np.empty(np.broadcast_shapes(np.shape(x), np.shape(y)), _ctype(x))
    z.real, z.imag = x, y
    return z


def _parts(z):
    return fnp.real(z), fnp.imag(z)


def _np_parts(z):
    return np.real(z).copy(), np.imag(z).copy()


_C_UNARY = ("exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "sinh", "cosh",
            "tanh", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh",
            "reciprocal", "square", "cube", "inverse_square")


def _c_unary(xp, op):
    return {"cube": lambda z: z ** 3, "inverse_square": lambda z: xp.power(z, -2)}.get(
        op, getattr(xp, op, None))


def _c_axis(shps):
    nd = len(shps[0])
    return st.fixed_dictionaries({"axis": st.sampled_from([None] + list(range(nd)))})


def _cmax_prep(x, y):
    # Distinct real parts (the lexicographic order's first key) away from kinks.
    return _distinct(x)[0], y


CNZ = NONZERO
ROWS += [
    Spec("complex_parts", lambda x, y: _parts(lax.complex(x, y)),
         lambda x, y: (x.copy(), y.copy()), args=(FLOAT, FLOAT),
         prims=("complex", "real", "imag")),
    Spec("complex_conj",
         lambda x, y: _parts(lax.conj(lax.complex(x, y)) * lax.complex(x, y) * 1j
                             + fnp.asarray(x).astype(_ctype(x))),
         lambda x, y: _np_parts(np.conj(_np_z(x, y)) * _np_z(x, y) * 1j + x.astype(_ctype(x))),
         args=(FLOAT, FLOAT), prims=("conj", "mul", "convert_element_type")),
    Spec("complex_unary", lambda x, y, op: _parts(_c_unary(fnp, op)(lax.complex(x, y))),
         lambda x, y, op: _np_parts(_c_unary(np, op)(_np_z(x, y))), args=(CNZ, CNZ),
         params=lambda s: st.fixed_dictionaries({"op": st.sampled_from(_C_UNARY)}),
         prims=("complex",), rtol=1e-4, atol=1e-5),
    Spec("complex_abs_angle", lambda x, y: (fnp.abs(lax.complex(x, y)),
                                            fnp.angle(lax.complex(x, y))),
         lambda x, y: (np.abs(_np_z(x, y)), np.angle(_np_z(x, y))), args=(CNZ, CNZ),
         prims=("abs", "atan2"), rtol=1e-5, atol=1e-6),
    Spec("complex_power",
         lambda x, y: _parts(fnp.power(lax.complex(x, y), lax.complex(y, x) * 0.5)),
         lambda x, y: _np_parts(np.power(_np_z(x, y), _np_z(y, x) * 0.5)),
         args=(CNZ, CNZ), prims=("pow",), rtol=1e-4, atol=1e-5),
    Spec("complex_matmul",
         lambda a, b, c, d: _parts(fnp.matmul(lax.complex(a, b), lax.complex(c, d))),
         lambda a, b, c, d: _np_parts(np.matmul(_np_z(a, b), _np_z(c, d))),
         args=(FLOAT,) * 4, shapes=_shapes(((2, 3), (2, 3), (3, 2), (3, 2)),
                                           ((3,), (3,), (3, 2), (3, 2)),
                                           ((2, 2, 3), (2, 2, 3), (3,), (3,))),
         prims=("dot_general",), rtol=1e-4, atol=1e-5),
    Spec("complex_reductions",
         lambda x, y, axis: (*_parts(fnp.sum(lax.complex(x, y), axis)),
                             *_parts(fnp.prod(lax.complex(x, y), axis)),
                             *_parts(fnp.mean(lax.complex(x, y), axis))),
         lambda x, y, axis: (*_np_parts(np.sum(_np_z(x, y), axis)),
                             *_np_parts(np.prod(_np_z(x, y), axis)),
                             *_np_parts(np.mean(_np_z(x, y), axis))),
         args=(FLOAT, FLOAT), shapes=_nd(1, 2, n=2), params=_c_axis,
         prims=("reduce_sum", "reduce_prod"), rtol=1e-4, atol=1e-5),
    Spec("complex_max",
         lambda x, y, axis: (*_parts(fnp.max(lax.complex(x, y), axis)),
                             fnp.argmin(lax.complex(x, y), axis)),
         lambda x, y, axis: (*_np_parts(np.max(_np_z(x, y), axis)),
                             np.argmin(_np_z(x, y), axis)),
         args=(FLOAT, FLOAT), shapes=_nd(1, 2, n=2), params=_c_axis, prep=_cmax_prep,
         order=1, prims=("reduce_max", "argmin")),
    Spec("complex_compare_select",
         lambda x, y: (fnp.less(lax.complex(x, y), lax.complex(y, x)),
                       fnp.greater_equal(lax.complex(x, fnp.round(y)), lax.complex(x, y)),
                       fnp.equal(lax.complex(x, y), lax.complex(y, x)),
                       *_parts(fnp.where(fnp.real(lax.complex(x, y)) > 0, lax.complex(x, y),
                                         lax.conj(lax.complex(y, x))))),
         lambda x, y: (np.less(_np_z(x, y), _np_z(y, x)),
                       np.greater_equal(_np_z(x, np.round(y)), _np_z(x, y)),
                       np.equal(_np_z(x, y), _np_z(y, x)),
                       *_np_parts(np.where(x > 0, _np_z(x, y), np.conj(_np_z(y, x))))),
         args=(CNZ, CNZ), prims=("select", "lt", "eq"), order=0),
]

# bfloat16: the rows take float32 arrays, compute in bfloat16 and return float32, so the
# harness checks bfloat16 arithmetic on every backend (NumPy's reference: ml_dtypes' loops,
# which compute each operation in float32 and round once, as JAX/XLA; sums and products of
# matrices accumulate in float32 and round once, JAX's preferred_element_type semantics).
# Not differentiated here (finite differences in bfloat16 are noise); the float rows check
# the same rules in float32/float64.
BF16 = np.dtype(fnp.bfloat16)
_BF16_OPS = ("exp", "log", "tanh", "sqrt", "sin", "abs", "negative", "logistic", "add",
             "multiply", "divide", "maximum", "power", "sum", "matmul", "where")


def _bf16_op(xp, op, x, y):
    if op == "logistic":
        return 1 / (1 + xp.exp(-x))
    if op in ("log", "sqrt"):
        return getattr(xp, op)(xp.abs(x) + BF16.type(0.5))
    if op == "power":
        return xp.power(xp.abs(x) + BF16.type(0.5), y)
    if op == "where":
        return xp.where(x > y, x, y * BF16.type(2))
    if op in ("add", "multiply", "divide", "maximum"):
        return getattr(xp, op)(x, y)
    if op == "sum":
        # float32 accumulation, rounded once (NumPy's bfloat16 sum would round every add)
        return np.sum(x.astype(F32), -1).astype(BF16) if xp is np else xp.sum(x, -1)
    if op == "matmul":
        return (np.matmul(x.astype(F32), y.T.astype(F32)).astype(BF16) if xp is np
                else xp.matmul(x, y.T))
    return getattr(xp, op)(x)


ROWS += [
    Spec("bfloat16_ops",
         lambda x, y, op: _bf16_op(fnp, op, x.astype(BF16), y.astype(BF16)).astype(F32),
         lambda x, y, op: _bf16_op(np, op, x.astype(BF16), y.astype(BF16)).astype(F32),
         args=(NONZERO, NONZERO), shapes=_nd(1, 2, n=2), dtypes=(F32,), order=0,
         params=lambda s: st.fixed_dictionaries({"op": st.sampled_from(_BF16_OPS)}),
         prims=("convert_element_type",), rtol=1e-2, atol=1e-2),
]

BY_NAME = {s.name: s for s in ROWS}
assert len(BY_NAME) == len(ROWS), "duplicate spec row names"

# Primitives without a row of their own, and why they are still covered.
INDIRECT = {
    "const": "a literal-buffer equation that only appears in sub-programs produced by "
             "transforming scan/cond/while bodies (exercised by the lax.scan/lax.cond rows "
             "under grad and vmap)",
    "custom_lin": "the linear half of custom_vjp_call created by linearize; exercised by the "
                  "custom_vjp row's reverse-mode check",
    "eig": "complex results in LAPACK's order and eigenvectors defined up to a scale: "
           "tests/test_eig.py checks them against NumPy and JAX (a v = w v, multisets of "
           "eigenvalues), batched, vmapped, under jit on every backend and against finite "
           "differences",
}
for _name in ("debug_callback", "pure_callback", "io_callback"):
    INDIRECT[_name] = "a host callback: covered by tests/test_callbacks.py on every backend"
for _name in ("psum", "pmax", "pmin", "all_gather", "psum_scatter", "ppermute", "axis_index",
              "psum_start", "psum_done", "program_check"):
    INDIRECT[_name] = ("a collective over a named axis: tests/test_distributed.py checks it "
                       "against NumPy and finite differences, with vmap/jit/scan/cond, with "
                       "1, 2 and 3 processes")
