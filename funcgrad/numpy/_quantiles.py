"""Order statistics: `quantile`, `percentile`, `median` and their NaN-ignoring variants, as
JAX computes them (sort along the reduced axes, then gather at q * (n - 1)), traceable with
array `q` and per-slice counts, so they work under jit, vmap and grad."""
from __future__ import annotations

import numpy as _np

from .. import dtypes as _dt
from .. import numpy as _fnp
from ..core import Tracer
from ._creation import _axis, _check_out
from ._reductions import _axes

_METHODS = ("linear", "lower", "higher", "midpoint", "nearest", "inverted_cdf")


def _check_q(q, name, scale):
    if isinstance(q, Tracer):
        return
    qs = _np.asarray(q, _np.float64)
    if qs.ndim > 1:
        raise ValueError(f"{name}: q must be a scalar or 1-D, got shape {qs.shape}")
    if _np.any((qs < 0) | (qs > scale)):
        raise ValueError(f"{name}: q must lie in [0, {scale}], got {q}")


def _quantile(a, q, axis, method, keepdims, squash_nans, weights, name):
    if method not in _METHODS:
        raise ValueError(f"{name}: method must be one of {', '.join(_METHODS)}; got "
                         f"{method!r}")
    x = _fnp.asarray(a)
    if _dt.is_complex(x.dtype):
        raise TypeError(f"{name}: complex input ({x.dtype}) is not supported, as in JAX "
                        "(the order of complex numbers is a convention); take real(x) or "
                        "abs(x) first")
    if not _dt.is_float(x.dtype):
        x = x.astype(_dt.to_inexact(x.dtype))
    out_dt = x.dtype
    # float16/bfloat16 are interpolated in float32 and rounded back (JAX's q is float32).
    cdt = _dt.float32 if out_dt in (_dt.float16, _dt.bfloat16) else out_dt
    x = x.astype(cdt)
    q = _fnp.asarray(q)
    if q.ndim > 1:
        raise ValueError(f"{name}: q must be a scalar or 1-D, got shape {q.shape}")
    q = q.astype(cdt)
    if weights is not None:
        if method != "inverted_cdf":
            raise NotImplementedError(f"{name}: method {method!r} does not take weights; "
                                      "only method='inverted_cdf' does")
        w = _fnp.asarray(weights).astype(cdt)
        if w.shape != x.shape:
            if axis is None:
                raise ValueError(f"{name}: weights {w.shape} must have the shape of a "
                                 f"{x.shape} when axis is None")
            ax = axis if isinstance(axis, (tuple, list)) else (axis,)
            ax = [_axis(i, x.ndim, name) for i in ax]
            if w.shape != tuple(x.shape[i] for i in ax):
                raise ValueError(f"{name}: weights {w.shape} must have the shape of a "
                                 f"{x.shape} or of its reduced axes "
                                 f"{tuple(x.shape[i] for i in ax)}")
            order = sorted(range(len(ax)), key=lambda k: ax[k])
            w = _fnp.transpose(w, order)
            w = _fnp.expand_dims(w, tuple(i for i in range(x.ndim) if i not in ax))
            w = _fnp.broadcast_to(w, x.shape)
    else:
        w = None
    axes = _axes(axis, x.ndim, name)
    other = [i for i in range(x.ndim) if i not in axes]
    other_shape = tuple(x.shape[i] for i in other)
    keep_shape = tuple(1 if i in axes else s for i, s in enumerate(x.shape))
    n = int(_np.prod([x.shape[i] for i in axes], dtype=_np.int64))
    xt = _fnp.reshape(_fnp.transpose(x, other + list(axes)), other_shape + (n,))
    qb = _fnp.reshape(q, q.shape + (1,) * len(other_shape))
    res_shape = q.shape + other_shape
    if n == 0:
        # An empty slice has no quantile: NaN (NumPy warns, JAX gives NaN).
        res = _fnp.full(res_shape, _np.nan, cdt)
        return _finish(res, q, keep_shape, keepdims, out_dt)
    nan_data = _fnp.isnan(xt)
    if w is None:
        s = _fnp.sort(xt, axis=-1)
        ws = None
    else:
        wt = _fnp.reshape(_fnp.transpose(w, other + list(axes)), other_shape + (n,))
        perm = _fnp.argsort(xt, axis=-1)
        s = _fnp.take_along_axis(xt, perm, axis=-1)
        ws = _fnp.take_along_axis(wt, perm, axis=-1)
    if squash_nans:
        count = _fnp.sum(_fnp.logical_not(nan_data), axis=-1).astype(cdt)
    else:
        count = _fnp.full(other_shape, n, cdt)
    sb = _fnp.broadcast_to(s, q.shape + s.shape)

    def at(idx):
        idx = _fnp.broadcast_to(idx, res_shape).astype(_dt.int32)
        return _fnp.take_along_axis(sb, idx[..., None], axis=-1)[..., 0]

    if method == "inverted_cdf":
        wv = _fnp.ones_like(s) if ws is None else ws
        bad = _fnp.logical_or(wv < 0, _fnp.isnan(wv))
        snan = _fnp.isnan(s)
        clean = _fnp.where(_fnp.logical_or(bad, snan), _fnp.zeros_like(wv), wv)
        cw = _fnp.cumsum(clean, axis=-1)
        target = qb * cw[..., -1]
        idx = _fnp.sum((_fnp.broadcast_to(cw, q.shape + cw.shape) < target[..., None]),
                       axis=-1)
        idx = _fnp.clip(idx, 0, _fnp.maximum(count - 1, 0).astype(_dt.int32))
        res = at(idx)
        if squash_nans:
            force = _fnp.logical_or(_fnp.any(bad, axis=-1), count == 0)
        else:
            force = _fnp.logical_or(_fnp.any(bad, axis=-1), _fnp.any(nan_data, axis=-1))
        res = _fnp.where(force, _fnp.full_like(res, _np.nan), res)
        return _finish(res, q, keep_shape, keepdims, out_dt)
    pos = qb * (count - 1)
    lo = _fnp.floor(pos)
    hi = _fnp.ceil(pos)
    hw = pos - lo
    lw = 1 - hw
    top = _fnp.maximum(count - 1, 0)
    lo_v = at(_fnp.clip(lo, 0, top))
    hi_v = at(_fnp.clip(hi, 0, top))
    if method == "linear":
        # JAX's (and NumPy's) weighted sum, also where pos is integral: a quantile that
        # lands exactly on an infinite value is NaN there (-inf * 1 + -inf * 0), as
        # jnp.quantile gives (fuzz seed 123)
        res = lo_v * lw + hi_v * hw
    elif method == "lower":
        res = lo_v
    elif method == "higher":
        res = hi_v
    elif method == "nearest":
        res = _fnp.where(_fnp.broadcast_to(hw <= 0.5, res_shape), lo_v, hi_v)
    else:
        res = (lo_v + hi_v) * 0.5
    if not squash_nans:
        res = _fnp.where(_fnp.any(nan_data, axis=-1), _fnp.full_like(res, _np.nan), res)
    return _finish(res, q, keep_shape, keepdims, out_dt)


def _finish(res, q, keep_shape, keepdims, out_dt):
    if keepdims:
        res = _fnp.reshape(res, q.shape + keep_shape)
    return res.astype(out_dt)


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
             keepdims=False, *, weights=None):
    """The `q`-th quantiles (q in [0, 1], a scalar or 1-D; q's axis comes first in the
    result) of `a` over `axis` (an int, a tuple, or None for all). `method`: linear, lower,
    higher, midpoint, nearest (the lower value unless past the half-way point, as JAX) or
    inverted_cdf (the only one taking `weights`, shaped like `a` or like its reduced
    axes). A slice holding NaN gives NaN; float input keeps its dtype, integers give JAX's
    `to_inexact` float (float32 for int32, even under x64)."""
    _check_out("quantile", out)
    _check_q(q, "quantile", 1)
    return _quantile(a, q, axis, method, keepdims, False, weights, "quantile")


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=False, *, weights=None):
    """`quantile` ignoring NaNs (NaN only for an all-NaN slice)."""
    _check_out("nanquantile", out)
    _check_q(q, "nanquantile", 1)
    return _quantile(a, q, axis, method, keepdims, True, weights, "nanquantile")


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None):
    """`quantile` with q in percent ([0, 100])."""
    _check_out("percentile", out)
    _check_q(q, "percentile", 100)
    return _quantile(a, _fnp.asarray(q) / 100.0, axis, method, keepdims, False, weights,
                     "percentile")


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                  keepdims=False, *, weights=None):
    """`percentile` ignoring NaNs."""
    _check_out("nanpercentile", out)
    _check_q(q, "nanpercentile", 100)
    return _quantile(a, _fnp.asarray(q) / 100.0, axis, method, keepdims, True, weights,
                     "nanpercentile")


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """The median over `axis`: the middle element, or the mean of the two middle ones
    (also at +-inf); NaN for a slice holding NaN or an empty one; float input keeps its
    dtype, integers give JAX's `to_inexact` float (float32 for int32, even under x64)."""
    _check_out("median", out)
    return _quantile(a, 0.5, axis, "midpoint", keepdims, False, None, "median")


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """`median` ignoring NaNs (NaN only for an all-NaN slice)."""
    _check_out("nanmedian", out)
    return _quantile(a, 0.5, axis, "midpoint", keepdims, True, None, "nanmedian")


__all__ = ["median", "nanmedian", "nanpercentile", "nanquantile", "percentile", "quantile"]
