"""The `fft` primitive, JAX's `lax.fft(x, fft_type, fft_lengths)`: a discrete Fourier
transform over the trailing `len(fft_lengths)` axes of `x`, of one of four kinds
(`FftType`): FFT and IFFT (complex to complex, IFFT divided by the size), RFFT (real to
the non-redundant half spectrum: the last axis has `n // 2 + 1` entries) and IRFFT (its
inverse, complex to real, divided by the size).

Implementations: the `reference` backend runs NumPy's pocketfft (`numpy.fft`), the oracle
the tests compare against; every other backend runs our C kernel (`prims/fft_kernel.py`)
on the host buffers (a host step under `jit`; OpenCL stages the operands through host
memory), and NumPy where no C compiler is available. Results keep the precision of the
input: complex64 and float32 in, complex64 or float32 out.

Derivatives: the transform is linear, so its JVP applies it to the tangent, and reverse
mode uses transpose rules with JAX's conventions for complex cotangents (the cotangent of
a complex value z = x + iy is represented as ct_x - i ct_y):

- FFT and IFFT are C-linear with symmetric matrices: each is its own transpose.
- RFFT (real -> complex, the first n//2 + 1 rows of the DFT matrix F): the transpose of
  ct is Re(F^T pad(ct)) = Re(sum_k ct_k e^{-2 pi i k t / n}); written with IRFFT, which
  computes (1/N) Re(sum_k m_k Y_k e^{+2 pi i k t / n}) with the weights m (1 for the zero
  and Nyquist bins, 2 for the others), as N * IRFFT(ct / m) read at -t mod n.
- IRFFT (complex -> real): the transpose of a real ct is (m / N) conj(RFFT(ct)), and
  conj(RFFT(ct)) = RFFT(ct read at -t mod n) since ct is real.

All four are built from `fft` itself and index operations, so `grad(grad(...))` works.
"""
from __future__ import annotations

import enum
import math

import numpy as np

from .. import core, dtypes
from ..ad import deflinear
from ..batching import moveaxis_to_front
from ..core import ShapedArray, bind
from . import fft_kernel
from .elementwise import mul
from .indexing import concatenate, slice_in_dim
from .structural import rev


class FftType(enum.IntEnum):
    """The kind of transform (the values of JAX's `lax.FftType`)."""
    FFT = 0
    IFFT = 1
    RFFT = 2
    IRFFT = 3

    def __repr__(self):
        return f"FftType.{self.name}"

    __str__ = __repr__


_NAMES = {"fft": FftType.FFT, "ifft": FftType.IFFT, "rfft": FftType.RFFT,
          "irfft": FftType.IRFFT}


def canonical_fft_type(fft_type) -> FftType:
    """`fft_type` (an FftType, its integer value, or 'fft'/'ifft'/'rfft'/'irfft') as an
    FftType; anything else raises a TypeError naming the accepted values."""
    if isinstance(fft_type, FftType):
        return fft_type
    if isinstance(fft_type, enum.Enum):     # another library's FftType (JAX's): by name
        fft_type = fft_type.name
    if isinstance(fft_type, str) and fft_type.lower() in _NAMES:
        return _NAMES[fft_type.lower()]
    if isinstance(fft_type, (int, np.integer)) and not isinstance(fft_type, (bool, np.bool_)) \
            and 0 <= int(fft_type) <= 3:
        return FftType(int(fft_type))
    raise TypeError(f"fft: fft_type must be one of FftType.FFT, IFFT, RFFT, IRFFT (or "
                    f"'fft', 'ifft', 'rfft', 'irfft'), got {fft_type!r}")


# --- shape rule ------------------------------------------------------------------------

def _fft_shape(x, *, fft_type, fft_lengths):
    k = len(fft_lengths)
    desc = f"fft[{FftType(fft_type).name}, fft_lengths={fft_lengths}] of {x.dtype}{x.shape}"
    if k == 0:
        raise TypeError(f"{desc}: fft_lengths is empty; name at least one transformed axis")
    if k > x.ndim:
        raise TypeError(f"{desc}: {k} fft_lengths need an operand of rank >= {k}; pass one "
                        f"length per trailing axis to transform")
    if any(n < 1 for n in fft_lengths):
        raise ValueError(f"{desc}: every fft length must be at least 1 (a transform of "
                         "length 0 is undefined)")
    lead, trail = x.shape[:-k], x.shape[-k:]
    if fft_type in (FftType.FFT, FftType.IFFT):
        if not dtypes.is_complex(x.dtype):
            raise TypeError(f"{desc}: FFT and IFFT take a complex operand; convert a real "
                            "one with .astype(complex64) first (or use RFFT)")
        if trail != tuple(fft_lengths):
            raise TypeError(f"{desc}: the trailing axes {trail} must equal fft_lengths; pad "
                            "or slice the operand first (funcgrad.numpy.fft.fft does with n=)")
        return ShapedArray(x.shape, x.dtype)
    if fft_type == FftType.RFFT:
        if not dtypes.is_float(x.dtype) or x.dtype in (dtypes.float16, dtypes.bfloat16):
            raise TypeError(f"{desc}: RFFT takes a float32 or float64 operand; convert with "
                            ".astype(float32) first")
        if trail != tuple(fft_lengths):
            raise TypeError(f"{desc}: the trailing axes {trail} must equal fft_lengths; pad "
                            "or slice the operand first (funcgrad.numpy.fft.rfft does with n=)")
        return ShapedArray(lead + trail[:-1] + (trail[-1] // 2 + 1,),
                           dtypes.complex_dtype(x.dtype))
    if not dtypes.is_complex(x.dtype):
        raise TypeError(f"{desc}: IRFFT takes a complex operand (a half spectrum); convert "
                        "with .astype(complex64) first")
    want = tuple(fft_lengths[:-1]) + (fft_lengths[-1] // 2 + 1,)
    if trail != want:
        raise TypeError(f"{desc}: IRFFT to lengths {tuple(fft_lengths)} takes trailing axes "
                        f"{want} (the last holds n//2 + 1 coefficients), got {trail}")
    return ShapedArray(lead + tuple(fft_lengths), dtypes.real_dtype(x.dtype))


# --- implementations -------------------------------------------------------------------

def _numpy_fft(x, fft_type, fft_lengths):
    """NumPy's pocketfft, the reference semantics."""
    axes = tuple(range(x.ndim - len(fft_lengths), x.ndim))
    if fft_type == FftType.FFT:
        return np.fft.fftn(x, axes=axes)
    if fft_type == FftType.IFFT:
        return np.fft.ifftn(x, axes=axes)
    if fft_type == FftType.RFFT:
        return np.fft.rfftn(x, axes=axes)
    return np.fft.irfftn(x, s=fft_lengths, axes=axes)


def _along(f, x, axis):
    """`f` (acting on the last axis) applied along `axis`."""
    if axis == x.ndim - 1:
        return f(x)
    return np.moveaxis(f(np.moveaxis(x, axis, -1)), -1, axis)


def _kernel_fft(x, fft_type, fft_lengths):
    """The same transform with our C kernel, one axis at a time."""
    k = len(fft_lengths)
    lead_axes = range(x.ndim - k, x.ndim - 1)
    if fft_type in (FftType.FFT, FftType.IFFT):
        inv = fft_type == FftType.IFFT
        for a in range(x.ndim - k, x.ndim):
            x = _along(lambda v: fft_kernel.c2c(v, inv), x, a)
        return x
    if fft_type == FftType.RFFT:
        x = fft_kernel.r2c(x)
        for a in lead_axes:
            x = _along(lambda v: fft_kernel.c2c(v, False), x, a)
        return x
    for a in lead_axes:
        x = _along(lambda v: fft_kernel.c2c(v, True), x, a)
    return fft_kernel.c2r(x, fft_lengths[-1])


def _on_reference_backend() -> bool:
    # The backend an eager operation would run on now: the reference backend while it
    # interprets a program, else the default one. (core keeps the hook the backends
    # registered; there is no public accessor for it.)
    pick = core._backends.get("of")
    return pick is not None and pick((), fft_p).name == "reference"


def _fft_impl(x, *, fft_type, fft_lengths):
    out = _fft_shape(ShapedArray(x.shape, x.dtype), fft_type=fft_type, fft_lengths=fft_lengths)
    if x.size == 0:     # an empty batch
        return np.zeros(out.shape, out.dtype)
    if not _on_reference_backend() and fft_kernel.available():
        return _kernel_fft(x, fft_type, fft_lengths)
    return np.asarray(_numpy_fft(x, fft_type, fft_lengths), out.dtype)


# --- transposes ------------------------------------------------------------------------

def _reflect(x, k):
    """x read at index -t mod n along each of its last `k` axes."""
    for a in range(x.ndim - k, x.ndim):
        n = x.shape[a]
        if n > 1:
            x = concatenate([slice_in_dim(x, 0, 1, axis=a),
                             rev(slice_in_dim(x, 1, n, axis=a), (a,))], a)
    return x


def _half_weights(x, n, scale, mid):
    """`x` (last axis: the n//2 + 1 bins of a length-n half spectrum) times `scale`, and
    the bins that stand for two conjugate ones (all but zero and Nyquist) times `mid` more."""
    h = x.shape[-1]
    a = x.ndim - 1
    mid_end = h - 1 if n % 2 == 0 else h
    if mid_end <= 1:
        return mul(x, scale)
    parts = [mul(slice_in_dim(x, 0, 1, axis=a), scale),
             mul(slice_in_dim(x, 1, mid_end, axis=a), mid * scale)]
    if mid_end < h:
        parts.append(mul(slice_in_dim(x, mid_end, h, axis=a), scale))
    return concatenate(parts, a)


def _fft_transpose(ct, x, *, fft_type, fft_lengths):
    k = len(fft_lengths)
    total = math.prod(fft_lengths)
    if fft_type in (FftType.FFT, FftType.IFFT):
        return [fft(ct, fft_type, fft_lengths)]
    n = fft_lengths[-1]
    if fft_type == FftType.RFFT:
        # N * IRFFT(ct / m), read at -t mod n
        y = fft(_half_weights(ct, n, float(total), 0.5), FftType.IRFFT, fft_lengths)
        return [_reflect(y, k)]
    # (m / N) RFFT(ct read at -t mod n)
    y = fft(_reflect(ct, k), FftType.RFFT, fft_lengths)
    return [_half_weights(y, n, 1.0 / total, 2.0)]


# --- batching --------------------------------------------------------------------------

def _fft_batch(size, vals, dims, *, fft_type, fft_lengths):
    (x,), (d,) = vals, dims
    return bind(fft_p, moveaxis_to_front(x, d), fft_type=fft_type,
                fft_lengths=fft_lengths), 0


fft_p = core.new_primitive("fft")
core.shape_rules[fft_p] = _fft_shape
core.impl_rules[fft_p] = _fft_impl
deflinear(fft_p, _fft_transpose)
core.batch_rules[fft_p] = _fft_batch


def fft(x, fft_type, fft_lengths):
    """JAX's `lax.fft`: the transform `fft_type` over the trailing `len(fft_lengths)` axes
    of `x` (see the module docstring for the four kinds and their shapes)."""
    x = core.to_array(x)
    t = canonical_fft_type(fft_type)
    try:
        lengths = tuple(int(operator_index(n)) for n in fft_lengths)
    except TypeError:
        raise TypeError(f"fft: fft_lengths must be a sequence of integers, got "
                        f"{fft_lengths!r}") from None
    return bind(fft_p, x, fft_type=t, fft_lengths=lengths)


def operator_index(n):
    """`n` as an int, refusing floats and booleans (a length is a count)."""
    if isinstance(n, (bool, np.bool_, float, np.floating)) or not hasattr(n, "__index__"):
        raise TypeError(n)
    return n.__index__()
