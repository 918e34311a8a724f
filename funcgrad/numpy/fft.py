"""funcgrad.numpy.fft: NumPy's / jax.numpy's discrete Fourier transforms, built on the `fft`
primitive (`lax.fft`, `prims/fft.py`), so they are differentiable, batch under `vmap` and
run under `jit` on every backend.

Semantics follow `numpy.fft` and `jax.numpy.fft`: `n` / `s` crop or zero-pad the input
along the transformed axes, `axis` / `axes` pick them, and `norm` is "backward" (the
default: forward unscaled, inverse divided by n), "ortho" (both by sqrt(n)) or "forward"
(forward divided by n). As in JAX, results keep the input's precision: float32 and
complex64 in, complex64 out (NumPy always computes in double precision); integer input is
transformed in JAX's `to_inexact` float (float32 up to 32 bits) and its complex type.
"""
from __future__ import annotations

import math
import operator

import numpy as _np

from .. import dtypes as _dtypes
from .. import numpy as fnp
from ..prims import fft as _fft
from ..prims import indexing as _ix
from ..prims.elementwise import convert_element_type as _convert

__all__ = ["fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn",
           "ifftn", "rfftn", "irfftn", "hfft", "ihfft", "fftfreq", "rfftfreq", "fftshift",
           "ifftshift"]

_NORMS = (None, "backward", "ortho", "forward")


def _check_norm(name, norm):
    if norm not in _NORMS:
        raise ValueError(f'{name}: invalid norm value {norm!r}; should be "backward", '
                         '"ortho" or "forward"')


def _scale(x, name, norm, size, inverse):
    """Applies `norm` to a transform computed with the "backward" convention."""
    _check_norm(name, norm)
    if norm == "ortho":
        f = math.sqrt(size) if inverse else 1.0 / math.sqrt(size)
    elif norm == "forward":
        f = float(size) if inverse else 1.0 / size
    else:
        return x
    return x * f


def _swap(norm):
    return {None: "forward", "backward": "forward", "forward": "backward"}.get(norm, norm)


def _as_complex(name, a):
    x = fnp.asarray(a)
    if _dtypes.is_complex(x.dtype):
        return x
    dt = _dtypes.complex_dtype(_dtypes.to_inexact(x.dtype))   # int32 -> complex64 (JAX)
    return _convert(x, dt)


def _as_real(name, a):
    x = fnp.asarray(a)
    if _dtypes.is_complex(x.dtype):
        raise TypeError(f"{name}: takes a real array, got {x.dtype}{x.shape}; take "
                        "funcgrad.numpy.real(x) first, or use fft for complex input")
    if x.dtype in (_dtypes.float32, _dtypes.float64):
        return x
    dt = _dtypes.to_inexact(x.dtype) if not _dtypes.is_float(x.dtype) else _dtypes.float32
    return _convert(x, dt)


def _length(name, v, what):
    try:
        if isinstance(v, (bool, float, _np.floating)):
            raise TypeError
        v = operator.index(v)
    except TypeError:
        raise TypeError(f"{name}: {what} must be an integer, got {v!r}") from None
    if v < 1:
        raise ValueError(f"{name}: invalid number of data points ({v}) specified; {what} "
                         "must be at least 1")
    return v


def _axes(name, x, axes, s):
    """The normalised axes and lengths (None: keep) of an n-dimensional transform, with
    NumPy's defaults: `s` without `axes` means the last len(s) axes; neither, all axes."""
    if axes is None:
        axes = tuple(range(-len(s), 0)) if s is not None else tuple(range(x.ndim))
    elif isinstance(axes, int):
        axes = (axes,)
    out = []
    for a in axes:
        a = operator.index(a)
        if not -x.ndim <= a < x.ndim:
            raise _np.exceptions.AxisError(a, x.ndim, name)
        out.append(a % x.ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axes {tuple(axes)}; name each axis once")
    if s is not None:
        s = tuple(s)
        if len(s) != len(out):
            raise ValueError(f"{name}: shape s={s} and axes={tuple(axes)} must have the "
                             "same length")
        s = tuple(_length(name, v, "each entry of s") for v in s)
    return tuple(out), s


def _fit(x, axis, n):
    """`x` cropped or zero-padded to length `n` along `axis`."""
    m = x.shape[axis]
    if n < m:
        return _ix.slice_in_dim(x, 0, n, axis=axis)
    if n > m:
        cfg = [(0, 0, 0)] * x.ndim
        cfg[axis] = (0, n - m, 0)
        return _ix.pad(x, 0, cfg)
    return x


def _apply(x, axes, fft_type, lengths):
    """lax.fft over `axes` (in that order), moved to the end and back."""
    k = len(axes)
    trailing = tuple(range(x.ndim - k, x.ndim))
    y = fnp.moveaxis(x, axes, trailing)
    y = _fft.fft(y, fft_type, lengths)
    return fnp.moveaxis(y, trailing, axes)


def _c2c(name, a, s, axes, norm, inverse):
    _check_norm(name, norm)
    x = _as_complex(name, a)
    axes, s = _axes(name, x, axes, s)
    if not axes:
        return x
    if s is not None:
        for ax, n in zip(axes, s):
            x = _fit(x, ax, n)
    lengths = tuple(x.shape[ax] for ax in axes)
    if 0 in lengths:
        return x    # JAX: an empty axis transforms to an empty array (NumPy raises)
    t = _fft.FftType.IFFT if inverse else _fft.FftType.FFT
    return _scale(_apply(x, axes, t, lengths), name, norm, math.prod(lengths), inverse)


def _r2c(name, a, s, axes, norm):
    _check_norm(name, norm)
    x = _as_real(name, a)
    axes, s = _axes(name, x, axes, s)
    if not axes:
        raise ValueError(f"{name}: needs at least one axis to transform")
    if s is not None:
        for ax, n in zip(axes, s):
            x = _fit(x, ax, n)
    lengths = tuple(x.shape[ax] for ax in axes)
    if 0 in lengths:
        raise ValueError(f"{name}: invalid number of data points (0) specified")
    y = _apply(x, axes, _fft.FftType.RFFT, lengths)
    return _scale(y, name, norm, math.prod(lengths), False)


def _c2r(name, a, s, axes, norm):
    _check_norm(name, norm)
    x = _as_complex(name, a)
    axes, s = _axes(name, x, axes, s)
    if not axes:
        raise ValueError(f"{name}: needs at least one axis to transform")
    if s is None:
        s = tuple(x.shape[ax] for ax in axes[:-1]) + (2 * (x.shape[axes[-1]] - 1),)
        if s[-1] < 1:
            raise ValueError(f"{name}: invalid number of data points ({s[-1]}): the last "
                             f"axis has {x.shape[axes[-1]]} coefficients; pass n (or s)")
    for ax, n in zip(axes[:-1], s[:-1]):
        x = _fit(x, ax, n)
    x = _fit(x, axes[-1], s[-1] // 2 + 1)
    y = _apply(x, axes, _fft.FftType.IRFFT, s)
    return _scale(y, name, norm, math.prod(s), True)


def _one(n, axis):
    return (None if n is None else (n,)), (axis,)


def fft(a, n=None, axis=-1, norm=None):
    """The 1-D discrete Fourier transform along `axis` (numpy.fft.fft)."""
    s, axes = _one(n, axis)
    return _c2c("fft", a, s, axes, norm, False)


def ifft(a, n=None, axis=-1, norm=None):
    """The inverse of `fft` (numpy.fft.ifft)."""
    s, axes = _one(n, axis)
    return _c2c("ifft", a, s, axes, norm, True)


def rfft(a, n=None, axis=-1, norm=None):
    """The 1-D transform of real input: the n//2 + 1 non-negative frequency terms
    (numpy.fft.rfft)."""
    s, axes = _one(n, axis)
    return _r2c("rfft", a, s, axes, norm)


def irfft(a, n=None, axis=-1, norm=None):
    """The inverse of `rfft`: a real array of length `n` (default 2 * (m - 1) for m input
    coefficients) along `axis` (numpy.fft.irfft)."""
    s, axes = _one(n, axis)
    return _c2r("irfft", a, s, axes, norm)


def hfft(a, n=None, axis=-1, norm=None):
    """The transform of a Hermitian-symmetric signal given by its first half: a real
    spectrum of length `n` (numpy.fft.hfft: irfft of conj(a), scaled the other way)."""
    s, axes = _one(n, axis)
    # irfft(conj(a)) is irfft(a) read at -t mod n (its output is real).
    y = _c2r("hfft", a, s, axes, _swap(norm))
    return _reflect(y, axes[0] % y.ndim)


def ihfft(a, n=None, axis=-1, norm=None):
    """The inverse of `hfft` (numpy.fft.ihfft: conj(rfft(a)), scaled the other way)."""
    x = _as_real("ihfft", a)
    ax = _axes("ihfft", x, (axis,), None)[0][0]
    if n is not None:
        x = _fit(x, ax, _length("ihfft", n, "n"))
    # conj(rfft(x)) is rfft of x read at -t mod n (x is real).
    return _r2c("ihfft", _reflect(x, ax), None, (ax,), _swap(norm))


def _reflect(x, axis):
    """x read at index -t mod n along `axis`."""
    return fnp.roll(fnp.flip(x, axis), 1, axis)


def fft2(a, s=None, axes=(-2, -1), norm=None):
    """The 2-D transform over `axes` (numpy.fft.fft2)."""
    return _c2c("fft2", a, s, axes, norm, False)


def ifft2(a, s=None, axes=(-2, -1), norm=None):
    """The inverse of `fft2` (numpy.fft.ifft2)."""
    return _c2c("ifft2", a, s, axes, norm, True)


def rfft2(a, s=None, axes=(-2, -1), norm=None):
    """The 2-D transform of real input (numpy.fft.rfft2)."""
    return _r2c("rfft2", a, s, axes, norm)


def irfft2(a, s=None, axes=(-2, -1), norm=None):
    """The inverse of `rfft2` (numpy.fft.irfft2)."""
    return _c2r("irfft2", a, s, axes, norm)


def fftn(a, s=None, axes=None, norm=None):
    """The N-D transform over `axes` (default: all, or the last len(s)) (numpy.fft.fftn)."""
    return _c2c("fftn", a, s, axes, norm, False)


def ifftn(a, s=None, axes=None, norm=None):
    """The inverse of `fftn` (numpy.fft.ifftn)."""
    return _c2c("ifftn", a, s, axes, norm, True)


def rfftn(a, s=None, axes=None, norm=None):
    """The N-D transform of real input; the last axis holds the non-negative frequencies
    (numpy.fft.rfftn)."""
    return _r2c("rfftn", a, s, axes, norm)


def irfftn(a, s=None, axes=None, norm=None):
    """The inverse of `rfftn` (numpy.fft.irfftn)."""
    return _c2r("irfftn", a, s, axes, norm)


def fftfreq(n, d=1.0, *, dtype=None, device=None):
    """The sample frequencies of an `fft` of length `n` with sample spacing `d`:
    [0, 1, ..., (n-1)//2, -(n//2), ..., -1] / (d * n) (numpy.fft.fftfreq)."""
    n = _length("fftfreq", n, "n")
    k = _np.concatenate([_np.arange(0, (n - 1) // 2 + 1), _np.arange(-(n // 2), 0)])
    return _freq(k, n, d, dtype)


def rfftfreq(n, d=1.0, *, dtype=None, device=None):
    """The sample frequencies of an `rfft` of length `n`: [0, 1, ..., n//2] / (d * n)
    (numpy.fft.rfftfreq)."""
    n = _length("rfftfreq", n, "n")
    return _freq(_np.arange(0, n // 2 + 1), n, d, dtype)


def _freq(k, n, d, dtype):
    dt = _dtypes.DEFAULT_FLOAT_() if dtype is None else _dtypes.canonicalize(dtype)
    ks = fnp.asarray(k.astype(dt))
    return ks / (fnp.asarray(d, dt) * n) if not isinstance(d, (int, float)) else \
        ks * (1.0 / (d * n))


def fftshift(x, axes=None):
    """`x` with the zero-frequency term moved to the centre of `axes` (default all)
    (numpy.fft.fftshift)."""
    x = fnp.asarray(x)
    axes = tuple(range(x.ndim)) if axes is None else (axes,) if isinstance(axes, int) \
        else tuple(axes)
    return fnp.roll(x, tuple(x.shape[a] // 2 for a in axes), axes) if axes else x


def ifftshift(x, axes=None):
    """The inverse of `fftshift` (numpy.fft.ifftshift)."""
    x = fnp.asarray(x)
    axes = tuple(range(x.ndim)) if axes is None else (axes,) if isinstance(axes, int) \
        else tuple(axes)
    return fnp.roll(x, tuple(-(x.shape[a] // 2) for a in axes), axes) if axes else x
