"""funcgrad.scipy.signal: JAX's `jax.scipy.signal` convolutions and `detrend`, built from
funcgrad's public ops: `convolve`/`correlate` (N-d) and `convolve2d`/`correlate2d` on
`lax.conv_general_dilated`, `fftconvolve` (and `method="fft"`) on `numpy.fft`'s real or
complex N-d transforms, `detrend` by a closed-form least-squares line per segment.

JAX's rules hold: both operands are promoted together and then to a float type (integer
and bool inputs compute in float32, or in float64 for 64-bit integers under x64), complex
inputs stay complex, `mode` is `"full"`, `"same"` (centred, `in1`'s shape) or `"valid"`;
the direct method needs one operand at least as large as the other in every dimension
(and swaps them when `in2` is the larger one), and zero-size operands raise. Everything
works under `jit`, `vmap` and `grad`; `bp`, `axes`, `mode` and the shapes are static.

`stft`, `csd` and `welch` follow SciPy's spectral helper as JAX does (a window given by
name comes from SciPy's `get_window`, as in JAX), and `istft` inverts `stft`.
"""
from __future__ import annotations

import operator

import numpy as np

from .. import dtypes as _dtypes
from .. import lax
from .. import numpy as fnp
from ..numpy import fft as _fft

__all__ = ["convolve", "convolve2d", "correlate", "correlate2d", "csd", "detrend", "fftconvolve",
           "istft", "stft", "welch"]

_MODES = ("full", "same", "valid")
_METHODS = ("auto", "direct", "fft")


def _check_mode(name, mode):
    if mode not in _MODES:
        raise ValueError(f"{name}: mode must be one of {list(_MODES)}, got mode={mode!r}")


def _check_method(name, method):
    if method not in _METHODS:
        raise ValueError(f"{name}: got method={method!r}; expected 'auto', 'fft', or "
                         "'direct' ('auto' uses the direct method, as in JAX)")


def _promote(name, in1, in2):
    """Both operands as arrays of one inexact dtype (JAX's promote_dtypes_inexact)."""
    try:
        in1, in2 = fnp.asarray(in1), fnp.asarray(in2)
    except TypeError as e:
        raise TypeError(f"{name}: in1 and in2 must be arrays: {e}") from None
    dt = _dtypes.to_inexact(fnp.result_type(in1, in2))
    return lax.convert_element_type(in1, dt), lax.convert_element_type(in2, dt)


def _check_same_ndim(name, in1, in2):
    if in1.ndim != in2.ndim:
        raise ValueError(f"{name}: in1 and in2 must have the same number of dimensions, got "
                         f"shapes {in1.shape} and {in2.shape}; add axes of length 1 (e.g. "
                         "in2[None]) to the one with fewer")


def _direct(name, in1, in2, mode, precision, same_start=None):
    """The convolution of two promoted arrays of one ndim, on `conv_general_dilated`.
    `same_start(d2)` is where mode "same" starts in the full result along an axis where
    in2 has length d2 (default: (d2 - 1) // 2, SciPy's centring)."""
    if in1.ndim == 0:
        return in1 * in2
    s1, s2 = in1.shape, in2.shape
    if 0 in s1 or 0 in s2:
        raise ValueError(f"{name}: zero-size arrays are not supported, got shapes {s1} and "
                         f"{s2}")
    in1_larger = all(a >= b for a, b in zip(s1, s2))
    in2_larger = all(a <= b for a, b in zip(s1, s2))
    if not (in1_larger or in2_larger):
        raise ValueError(f"{name}: one input must be at least as large as the other in every "
                         f"dimension, got shapes {s1} and {s2} (fftconvolve accepts these in "
                         "modes 'full' and 'same')")
    # The larger operand slides under the smaller one (the kernel); the convolution
    # commutes, so which one is which only changes the cost.
    lhs, rhs = (in1, in2) if in1_larger else (in2, in1)
    lo_hi, cut = [], []
    for d1, d2, n, k in zip(s1, s2, lhs.shape, rhs.shape):
        # the window [start, start + size) of the full convolution that `mode` keeps
        if mode == "full":
            start, size = 0, d1 + d2 - 1
        elif mode == "same":
            start, size = ((d2 - 1) // 2 if same_start is None else same_start(d2)), d1
        else:
            start, size = k - 1, n - k + 1
        # conv_general_dilated correlates: output j is full convolution index
        # j + (k - 1) - lo; negative padding is applied by slicing afterwards.
        lo = k - 1 - start
        hi = start + size - n
        plo, phi = max(lo, 0), max(hi, 0)
        lo_hi.append((plo, phi))
        cut.append(slice(plo - lo, plo - lo + size))
    out = lax.conv_general_dilated(lhs[None, None], fnp.flip(rhs)[None, None],
                                   (1,) * lhs.ndim, lo_hi, precision=precision)
    return out[0, 0][tuple(cut)]


def convolve(in1, in2, mode="full", method="auto", precision=None):
    """The N-d convolution of `in1` and `in2` (of one ndim), as `scipy.signal.convolve`:
    `mode` "full" (every overlap), "same" (centred, `in1`'s shape) or "valid" (full
    overlaps only). `method` "auto" and "direct" use `lax.conv_general_dilated` (with
    `precision`), "fft" uses `fftconvolve`. Integer and bool inputs give float32."""
    _check_method("convolve", method)
    _check_mode("convolve", mode)
    in1, in2 = _promote("convolve", in1, in2)
    _check_same_ndim("convolve", in1, in2)
    if method == "fft":
        return fftconvolve(in1, in2, mode=mode)
    return _direct("convolve", in1, in2, mode, precision)


def correlate(in1, in2, mode="full", method="auto", precision=None):
    """The N-d cross-correlation of `in1` and `in2` (of one ndim), as
    `scipy.signal.correlate`: the convolution of `in1` with `in2` reversed along every axis
    and conjugated; `mode`, `method` and `precision` as in `convolve`."""
    _check_method("correlate", method)
    _check_mode("correlate", mode)
    in1, in2 = _promote("correlate", in1, in2)
    _check_same_ndim("correlate", in1, in2)
    in2 = fnp.flip(fnp.conj(in2))
    if method == "fft":
        return fftconvolve(in1, in2, mode=mode)
    return _direct("correlate", in1, in2, mode, precision)


def _check_2d(name, in1, in2, boundary, fillvalue):
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(f"{name}: only boundary='fill' with fillvalue=0 is "
                                  f"supported (as in JAX), got boundary={boundary!r}, "
                                  f"fillvalue={fillvalue!r}; pad in1 with numpy.pad first "
                                  "for other boundaries")
    in1, in2 = fnp.asarray(in1), fnp.asarray(in2)
    if in1.ndim != 2 or in2.ndim != 2:
        raise ValueError(f"{name}: only 2-dimensional inputs are supported, got shapes "
                         f"{in1.shape} and {in2.shape}; use convolve/correlate for N-d")
    return in1, in2


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0, precision=None):
    """The 2-d convolution of matrices `in1` and `in2`, as `scipy.signal.convolve2d`, with
    JAX's limits: only `boundary="fill"` with `fillvalue=0` (others raise
    NotImplementedError); `mode` and `precision` as in `convolve`."""
    in1, in2 = _check_2d("convolve2d", in1, in2, boundary, fillvalue)
    _check_mode("convolve2d", mode)
    in1, in2 = _promote("convolve2d", in1, in2)
    return _direct("convolve2d", in1, in2, mode, precision)


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0, precision=None):
    """The 2-d cross-correlation of matrices `in1` and `in2`, as
    `scipy.signal.correlate2d` (in2 reversed and conjugated, then convolved), with
    `convolve2d`'s limits. As SciPy's and JAX's, and unlike `correlate`, mode "same" keeps
    the window that starts at in2.shape // 2 of the full result (not (in2.shape - 1) // 2),
    and mode "valid" with a complex in2 larger than in1 gives the conjugate of the
    correlation."""
    in1, in2 = _check_2d("correlate2d", in1, in2, boundary, fillvalue)
    _check_mode("correlate2d", mode)
    in1, in2 = _promote("correlate2d", in1, in2)
    out = _direct("correlate2d", in1, fnp.flip(fnp.conj(in2)), mode, precision,
                  same_start=lambda d2: d2 // 2)
    if mode == "valid" and in1.shape != in2.shape and \
            all(a <= b for a, b in zip(in1.shape, in2.shape)):
        # SciPy's (and JAX's) correlate2d correlates in2 with in1 when in2 is the larger
        # operand, which gives the conjugate of the correlation for complex inputs.
        out = fnp.conj(out)
    return out


def _fft_axes(in1, in2, axes):
    ndim = in1.ndim
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, (int, np.integer)):
        axes = (axes,)
    out = []
    for a in axes:
        a = operator.index(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim, "fftconvolve")
        a %= ndim
        if a not in out:
            out.append(a)
    return tuple(sorted(out))


def fftconvolve(in1, in2, mode="full", axes=None):
    """The N-d convolution of `in1` and `in2` (of one ndim) through FFTs, as
    `scipy.signal.fftconvolve`, along `axes` (all by default; an int or a sequence). On the
    other axes the operands must have equal lengths (JAX maps over them; SciPy would
    broadcast). `mode` as in `convolve`; "valid" needs one operand at least as large as the
    other along `axes`. float16/bfloat16 raise, as JAX's real FFT does."""
    in1, in2 = _promote("fftconvolve", in1, in2)
    if in1.ndim != in2.ndim:
        raise ValueError(f"fftconvolve: in1 and in2 should have the same dimensionality, got "
                         f"shapes {in1.shape} and {in2.shape}")
    if mode not in _MODES:
        raise ValueError(f"fftconvolve: mode must be one of ['same', 'full', 'valid'], got "
                         f"mode={mode!r}")
    if in1.dtype not in (np.float32, np.float64, np.complex64, np.complex128):
        raise ValueError(f"fftconvolve: the FFT needs float32 or float64 inputs, got "
                         f"{in1.dtype}; cast them with .astype('float32')")
    if in1.ndim == 0:
        return in1 * in2
    axes = _fft_axes(in1, in2, axes)
    others = [a for a in range(in1.ndim) if a not in axes]
    if any(in1.shape[a] != in2.shape[a] for a in others):
        raise ValueError(f"fftconvolve: in1 and in2 must have the same length on the axes "
                         f"not convolved (mapped axes must have same shape), got "
                         f"in1.shape={in1.shape}, in2.shape={in2.shape}, axes={axes}")
    s1 = [in1.shape[a] for a in axes]
    s2 = [in2.shape[a] for a in axes]
    if mode == "valid" and not (all(a >= b for a, b in zip(s1, s2))
                                or all(a <= b for a, b in zip(s1, s2))):
        raise ValueError(f"fftconvolve: for 'valid' mode, one input must be at least as large "
                         f"as the other in every dimension of axes={axes}, got shapes "
                         f"{in1.shape} and {in2.shape}")
    full = [a + b - 1 for a, b in zip(s1, s2)]
    keep = {"full": full, "same": s1, "valid": [abs(a - b) + 1 for a, b in zip(s1, s2)]}[mode]
    if any(n < 0 for n in full):
        raise ValueError(f"fftconvolve: both inputs are empty along an axis of axes={axes}, "
                         f"got shapes {in1.shape} and {in2.shape}")
    if any(k > n for k, n in zip(keep, full)):
        # JAX's slice of the full result fails the same way
        raise TypeError(f"fftconvolve: mode {mode!r} keeps {tuple(keep)} of a full result "
                        f"{tuple(full)} for an empty input, got shapes {in1.shape} and "
                        f"{in2.shape}")
    if 0 in s1 or 0 in s2:
        # the empty operand is all zero padding: so is the result (as JAX's)
        shape = list(in1.shape)
        for a, n in zip(axes, full):
            shape[a] = n
        out = fnp.zeros(shape, in1.dtype)
    elif _dtypes.is_complex(in1.dtype):
        out = _fft.ifftn(_fft.fftn(in1, s=full, axes=axes) * _fft.fftn(in2, s=full, axes=axes),
                         s=full, axes=axes)
    else:
        out = _fft.irfftn(_fft.rfftn(in1, s=full, axes=axes)
                          * _fft.rfftn(in2, s=full, axes=axes), s=full, axes=axes)
    out = out.astype(in1.dtype)
    if mode == "full":
        return out
    idx = [slice(None)] * out.ndim
    for a, n, k in zip(axes, full, keep):
        start = (n - k) // 2
        idx[a] = slice(start, start + k)
    return out[tuple(idx)]


def detrend(data, axis=-1, type="linear", bp=0, overwrite_data=None):
    """`data` less its trend along `axis`, as `scipy.signal.detrend`: with `type="linear"`
    ("l" is not accepted, as in JAX) the least-squares line of each segment between the
    breakpoints `bp` (concrete integers in [0, n]), with "constant" the mean. Integer and
    bool data give float32; complex data fits complex lines. Unlike JAX, float16 data and
    empty axes are accepted (JAX raises)."""
    if overwrite_data is not None:
        raise NotImplementedError("detrend: overwrite_data is not supported (arrays are "
                                  "immutable); leave it None")
    if type not in ("linear", "constant"):
        raise ValueError(f"detrend: trend type must be 'linear' or 'constant', got "
                         f"type={type!r}")
    x = fnp.asarray(data)
    x = lax.convert_element_type(x, _dtypes.to_inexact(x.dtype))
    ax = operator.index(axis)
    if not -x.ndim <= ax < x.ndim:
        raise np.exceptions.AxisError(ax, x.ndim, "detrend")
    ax %= x.ndim
    if type == "constant":
        return x - fnp.mean(x, axis=ax, keepdims=True)
    n = x.shape[ax]
    try:
        bps = np.asarray(bp)
    except Exception as e:      # a traced array
        raise TypeError(f"detrend: bp must be concrete integers (not traced values): {e}") \
            from None
    if bps.size and not np.issubdtype(bps.dtype, np.integer):
        raise TypeError(f"detrend: breakpoints must be integers, got bp={bp!r}")
    bps = bps.astype(np.int64).ravel()
    if np.any(bps < 0) or np.any(bps > n):
        raise ValueError(f"detrend: breakpoints must be non-negative and at most the length "
                         f"of data along axis {axis} ({n}), got bp={bp!r}")
    if n == 0:
        return x
    edges = np.unique(np.concatenate([[0], bps, [n]]))
    x = fnp.moveaxis(x, ax, -1)
    real = _dtypes.real_dtype(x.dtype)
    parts = []
    for a, b in zip(edges[:-1], edges[1:]):
        seg = x[..., int(a):int(b)]
        m = int(b - a)
        centred = seg - fnp.mean(seg, axis=-1, keepdims=True)
        if m > 1:
            t = np.arange(m) - (m - 1) / 2.0
            t_arr = fnp.asarray(t.astype(real))
            slope = fnp.sum(centred * t_arr, axis=-1, keepdims=True) / \
                np.asarray((m * (m * m - 1)) / 12.0, real)
            centred = centred - slope * t_arr
        parts.append(centred)
    out = parts[0] if len(parts) == 1 else fnp.concatenate(parts, axis=-1)
    return fnp.moveaxis(out, -1, ax)


# ---------------------------------------------------------------------------------------
# Spectral analysis: stft, csd, welch (SciPy's _spectral_helper, as JAX follows it)

_BOUNDARIES = ("even", "odd", "constant", "zeros", None)


def _extend(name, x, n, how):
    """x extended by n samples at both ends of its last axis: zeros, the edge value
    ('constant'), a mirror image about the edge ('even') or its negation about the edge
    value ('odd')."""
    if n < 1:
        return x
    if how == "zeros":
        pad = fnp.zeros(x.shape[:-1] + (n,), x.dtype)
        return fnp.concatenate([pad, x, pad], axis=-1)
    if how == "constant":
        first = fnp.repeat(x[..., :1], n, axis=-1)
        last = fnp.repeat(x[..., -1:], n, axis=-1)
        return fnp.concatenate([first, x, last], axis=-1)
    if n > x.shape[-1] - 1:
        raise ValueError(f"{name}: the {how!r} boundary extension needs nperseg // 2 = {n} "
                         f"< the signal's length {x.shape[-1]}; use boundary='zeros' or a "
                         "shorter nperseg")
    left = fnp.flip(x[..., 1:n + 1], axis=-1)
    right = fnp.flip(x[..., -n - 1:-1], axis=-1)
    if how == "odd":
        left = 2 * x[..., :1] - left
        right = 2 * x[..., -1:] - right
    return fnp.concatenate([left, x, right], axis=-1)


def _overlap(name, noverlap, nperseg):
    """(noverlap, the step between segments): half a segment by default; an overlap of a
    whole segment or more raises."""
    noverlap = nperseg // 2 if noverlap is None else int(noverlap)
    if noverlap >= nperseg:
        raise ValueError(f"{name}: noverlap must be less than nperseg, got noverlap="
                         f"{noverlap}, nperseg={nperseg}")
    return noverlap, nperseg - noverlap


def _window(name, window, nperseg, length):
    """(window as a NumPy float64 array, nperseg): a window name or (name, parameter)
    tuple goes to scipy.signal.get_window (as in JAX, which needs SciPy for these), an array
    is used as it is."""
    if isinstance(window, (str, tuple)):
        if nperseg is None:
            nperseg = 256
        nperseg = operator.index(nperseg)
        if nperseg < 1:
            raise ValueError(f"{name}: nperseg must be a positive integer, got {nperseg}")
        if nperseg > length:
            import warnings
            warnings.warn(f"{name}: nperseg={nperseg} is greater than the input length "
                          f"{length}, using nperseg={length}", stacklevel=3)
            nperseg = length
        try:
            from scipy.signal import get_window
        except ImportError:
            raise ImportError(f"{name}: a window given by name ({window!r}) needs SciPy's "
                              "get_window, as in JAX; install scipy or pass the window as "
                              "an array") from None
        return np.asarray(get_window(window, nperseg), np.float64), nperseg
    try:
        win = np.asarray(window, np.float64)
    except Exception as e:      # a traced array
        raise TypeError(f"{name}: the window must be a name or a concrete array: {e}") \
            from None
    if win.ndim != 1:
        raise ValueError(f"{name}: window must be 1-D, got shape {win.shape}")
    if length < win.shape[0]:
        raise ValueError(f"{name}: window is longer than input signal ({win.shape[0]} > "
                         f"{length})")
    if nperseg is None:
        nperseg = win.shape[0]
    elif nperseg != win.shape[0]:
        raise ValueError(f"{name}: value specified for nperseg ({nperseg}) is different from "
                         f"length of window ({win.shape[0]})")
    return win, int(nperseg)


def _spectral(name, x, y, fs, window, nperseg, noverlap, nfft, detrend_type,
              return_onesided, scaling, axis, mode, boundary=None, padded=False):
    """(freqs, times, result): the windowed segments' transforms (mode 'stft') or their
    cross-spectral densities per segment (mode 'psd', frequencies before segments)."""
    if boundary not in _BOUNDARIES:
        raise ValueError(f"{name}: unknown boundary option {boundary!r}, must be one of: "
                         f"{list(_BOUNDARIES)}")
    if scaling not in ("density", "spectrum"):
        raise ValueError(f"{name}: unknown scaling {scaling!r}; use 'density' or "
                         "'spectrum'")
    same = y is None
    x = fnp.asarray(x)
    y = x if same else fnp.asarray(y)
    axis = operator.index(axis)
    if not -x.ndim <= axis < x.ndim:
        raise np.exceptions.AxisError(axis, x.ndim, name)
    out_dt = fnp.result_type(x, np.complex64) if same else \
        fnp.result_type(x, y, np.complex64)
    real_dt = _dtypes.real_dtype(out_dt)
    if not same:
        if x.ndim != y.ndim:
            raise ValueError(f"{name}: x and y must have the same rank, got shapes {x.shape} "
                             f"and {y.shape}")
        xs, ys = list(x.shape), list(y.shape)
        xs[axis] = ys[axis] = 1
        try:
            batch = np.broadcast_shapes(tuple(xs), tuple(ys))
        except ValueError:
            raise ValueError(f"{name}: x {x.shape} and y {y.shape} cannot be broadcast "
                             f"together (the axis {axis} apart)") from None
        bx, by = list(batch), list(batch)
        bx[axis], by[axis] = x.shape[axis], y.shape[axis]
        x, y = fnp.broadcast_to(x, bx), fnp.broadcast_to(y, by)
    if x.size == 0:
        empty = fnp.zeros(x.shape, real_dt)
        return empty, empty, fnp.zeros(x.shape, out_dt)
    x = fnp.moveaxis(x, axis, -1)
    if not same:
        y = fnp.moveaxis(y, axis, -1)
        n = max(x.shape[-1], y.shape[-1])
        x = fnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])])
        y = fnp.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, n - y.shape[-1])])
    win, nperseg = _window(name, window, nperseg, x.shape[-1])
    if nfft is None:
        nfft = nperseg
    elif nfft < nperseg:
        raise ValueError(f"{name}: nfft must be greater than or equal to nperseg, got "
                         f"nfft={nfft}, nperseg={nperseg}")
    nfft = int(nfft)
    noverlap, nstep = _overlap(name, noverlap, nperseg)
    if boundary is not None:
        x = _extend(name, x, nperseg // 2, boundary)
        if not same:
            y = _extend(name, y, nperseg // 2, boundary)
    if padded:
        nadd = (-(x.shape[-1] - nperseg) % nstep) % nperseg
        x = fnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, nadd)])
        if not same:
            y = fnp.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, nadd)])
    if detrend_type is False or detrend_type is None:
        def detrend_fn(d):
            return d
    elif callable(detrend_type):
        detrend_fn = detrend_type
    elif isinstance(detrend_type, str) and detrend_type in ("linear", "constant"):
        def detrend_fn(d):
            return detrend(d, axis=-1, type=detrend_type)
    else:
        raise ValueError(f"{name}: unsupported detrend type {detrend_type!r}; use "
                         "'constant', 'linear', False or a function")
    if scaling == "density":
        scale = 1.0 / (fs * float(np.sum(win * win)))
    else:
        scale = 1.0 / float(np.sum(win)) ** 2
    if mode == "stft":
        scale = scale ** 0.5
    onesided = bool(return_onesided)
    if onesided and (_dtypes.is_complex(x.dtype) or not same and _dtypes.is_complex(y.dtype)):
        import warnings
        warnings.warn(f"{name}: input data is complex, switching to return_onesided=False",
                      stacklevel=3)
        onesided = False
    nseg = (x.shape[-1] - noverlap) // nstep
    index = np.arange(nseg)[:, None] * nstep + np.arange(nperseg)[None, :]
    win_arr = fnp.asarray(win.astype(real_dt))

    def transform(d):
        if onesided and d.dtype in (np.float16, _dtypes.bfloat16):
            raise ValueError(f"{name}: the real FFT needs float32 or float64 data (as JAX's), "
                             f"got {d.dtype}; cast it with .astype('float32')")
        segs = detrend_fn(d[..., index]) * win_arr
        if onesided:
            return _fft.rfft(fnp.real(segs), n=nfft, axis=-1)
        return _fft.fft(segs, n=nfft, axis=-1)

    result = transform(x)
    if not same:
        result = fnp.conj(result) * transform(y)
    elif mode == "psd":
        result = fnp.conj(result) * result
    result = result * scale
    if onesided and mode == "psd":
        stop = result.shape[-1] - (0 if nfft % 2 else 1)
        double = np.ones(result.shape[-1])
        double[1:stop] = 2.0
        result = result * fnp.asarray(double.astype(real_dt))
    freqs = (np.fft.rfftfreq(nfft) if onesided else np.fft.fftfreq(nfft))
    freqs = fnp.asarray(freqs.astype(real_dt)) * fnp.asarray(fs, dtype=real_dt)
    times = np.arange(nperseg / 2, x.shape[-1] - nperseg / 2 + 1, nstep)
    if boundary is not None:
        times = times - nperseg / 2
    times = fnp.asarray(times.astype(real_dt)) / fnp.asarray(fs, dtype=real_dt)
    result = result.astype(out_dt)
    if same and mode != "stft":
        result = fnp.real(result)
    # frequencies where the data's axis was, segments last
    return freqs, times, fnp.moveaxis(result, -1, axis - 1 if axis < 0 else axis)


def stft(x, fs=1.0, window="hann", nperseg=256, noverlap=None, nfft=None, detrend=False,
         return_onesided=True, boundary="zeros", padded=True, axis=-1):
    """The short-time Fourier transform of `x` along `axis`, as `scipy.signal.stft`:
    `(f, t, Zxx)` with Zxx[..., f, t] the transform of the `window`-weighted segment t
    (`nperseg` samples, `noverlap` of them shared with the previous one, nperseg // 2 by
    default), scaled by 1/sum(window). `boundary` extends the signal by nperseg // 2
    samples at both ends ('zeros', 'even', 'odd', 'constant' or None), `padded` pads it
    with zeros to a whole number of segments. A window name needs SciPy (as in JAX).
    Complex `x` gives two-sided spectra."""
    return _spectral("stft", x, None, fs, window, nperseg, noverlap, nfft, detrend,
                     return_onesided, "spectrum", axis, "stft", boundary, padded)


def _median_bias(n):
    k = np.arange(1, (n - 1) // 2 + 1)
    return 1 + np.sum(1.0 / (2 * k + 1) - 1.0 / (2 * k))


def csd(x, y, fs=1.0, window="hann", nperseg=None, noverlap=None, nfft=None,
        detrend="constant", return_onesided=True, scaling="density", axis=-1,
        average="mean"):
    """The cross power spectral density of `x` and `y` along `axis` by Welch's method, as
    `scipy.signal.csd`: `(f, Pxy)`, the mean (or bias-corrected median, `average`) over
    the windowed, `detrend`ed segments of conj(X) * Y, scaled to a density (`scaling=
    'density'`, V**2/Hz) or a power spectrum ('spectrum', V**2). `y=None` gives the real
    power spectral density of `x`. x and y have one rank and broadcast but along `axis`,
    where the shorter one is padded with zeros."""
    return _csd("csd", x, y, fs, window, nperseg, noverlap, nfft, detrend, return_onesided,
                scaling, axis, average)


def _csd(name, x, y, fs, window, nperseg, noverlap, nfft, detrend, return_onesided, scaling,
         axis, average):
    freqs, _, pxy = _spectral(name, x, y, fs, window, nperseg, noverlap, nfft, detrend,
                              return_onesided, scaling, axis, "psd")
    if pxy.ndim >= 2 and pxy.size > 0:
        if pxy.shape[-1] > 1:
            # checked only where there is something to average, as in JAX
            if average not in ("mean", "median"):
                raise ValueError(f'{name}: average must be "median" or "mean", got '
                                 f'{average!r}')
            if average == "median":
                bias = _median_bias(pxy.shape[-1])
                if _dtypes.is_complex(pxy.dtype):
                    med = fnp.median(fnp.real(pxy), axis=-1) + \
                        1j * fnp.median(fnp.imag(pxy), axis=-1)
                else:
                    med = fnp.median(pxy, axis=-1)
                pxy = (med / bias).astype(pxy.dtype)
            else:
                pxy = fnp.mean(pxy, axis=-1)
        else:
            pxy = pxy[..., 0]
    return freqs, pxy


def welch(x, fs=1.0, window="hann", nperseg=None, noverlap=None, nfft=None,
          detrend="constant", return_onesided=True, scaling="density", axis=-1,
          average="mean"):
    """The power spectral density of `x` along `axis` by Welch's method, as
    `scipy.signal.welch`: `csd(x, None, ...)`, real."""
    freqs, pxx = _csd("welch", x, None, fs, window, nperseg, noverlap, nfft, detrend,
                      return_onesided, scaling, axis, average)
    return freqs, fnp.real(pxx)


def istft(Zxx, fs=1.0, window="hann", nperseg=None, noverlap=None, nfft=None,
          input_onesided=True, boundary=True, time_axis=-1, freq_axis=-2):
    """The inverse short-time Fourier transform, as `scipy.signal.istft`: `(t, x)`, the
    signal whose `stft` (with the same `window`, `nperseg`, `noverlap`, `nfft`) is `Zxx`,
    by weighted overlap-add of the segments' inverse FFTs (real ones for
    `input_onesided`), without the nperseg // 2 samples `stft`'s boundary added when
    `boundary`. As SciPy's and JAX's, `t` counts the samples of the result's first axis.
    Unlike JAX, `noverlap=0` means no overlap (JAX reads it as the default) and an odd
    `nperseg` with one-sided input works (JAX raises TypeError)."""
    z = fnp.asarray(Zxx)
    if z.ndim < 2:
        raise ValueError(f"istft: input stft must be at least 2d, got shape {z.shape}")
    t_ax = operator.index(time_axis) % z.ndim
    f_ax = operator.index(freq_axis) % z.ndim
    if t_ax == f_ax:
        raise ValueError(f"istft: must specify differing time and frequency axes, got "
                         f"time_axis={time_axis}, freq_axis={freq_axis}")
    nseg = z.shape[t_ax]
    n_default = 2 * (z.shape[f_ax] - 1) if input_onesided else z.shape[f_ax]
    if nperseg is None:
        nperseg = n_default
    else:
        nperseg = operator.index(nperseg)
        if nperseg < 1:
            raise ValueError(f"istft: nperseg must be a positive integer, got {nperseg}")
    if nfft is None:
        nfft = nperseg if input_onesided and nperseg == n_default + 1 else n_default
    elif nfft < nperseg:
        raise ValueError(f"istft: FFT length ({nfft}) must be longer than nperseg "
                         f"({nperseg})")
    nfft = int(nfft)
    noverlap, nstep = _overlap("istft", noverlap, nperseg)
    # frequencies and segments last
    z = fnp.moveaxis(z, (f_ax, t_ax), (-2, -1))
    if not _dtypes.is_complex(z.dtype):
        z = z.astype(fnp.result_type(z, np.complex64))
    if input_onesided:
        segs = _fft.irfft(z, n=nfft, axis=-2)[..., :nperseg, :]
    else:
        segs = _fft.ifft(z, n=nfft, axis=-2)[..., :nperseg, :]
    if isinstance(window, (str, tuple)):
        try:
            from scipy.signal import get_window
        except ImportError:
            raise ImportError(f"istft: a window given by name ({window!r}) needs SciPy's "
                              "get_window, as in JAX; install scipy or pass the window as "
                              "an array") from None
        win = np.asarray(get_window(window, nperseg), np.float64)
    else:
        win = np.asarray(window, np.float64)
        if win.ndim != 1:
            raise ValueError(f"istft: window must be 1-D, got shape {win.shape}")
        if win.shape[0] != nperseg:
            raise ValueError(f"istft: window must have length of nperseg = {nperseg}, got "
                             f"{win.shape[0]}")
    real = _dtypes.real_dtype(segs.dtype)
    # undo stft's 1/sum(window), then weight each segment by the window again
    weighted = segs * fnp.asarray((win * win.sum()).astype(real))[:, None]
    length = nperseg + (nseg - 1) * nstep
    index = (np.arange(nseg)[:, None] * nstep + np.arange(nperseg)[None, :]).ravel()
    contrib = fnp.swapaxes(weighted, -1, -2).reshape(weighted.shape[:-2] + (-1,))
    x = fnp.zeros(weighted.shape[:-2] + (length,), segs.dtype).at[..., index].add(contrib)
    norm = np.zeros(length)
    np.add.at(norm, index, np.tile(win * win, nseg))
    if boundary:
        half = nperseg // 2
        x = x[..., half:length - half]
        norm = norm[half:length - half]
    x = x / fnp.asarray(np.where(norm > 1e-10, norm, 1.0).astype(real))
    if input_onesided:
        x = fnp.real(x)
    if x.ndim > 1 and t_ax != z.ndim - 1:
        x = fnp.moveaxis(x, -1, t_ax - 1 if f_ax < t_ax else t_ax)
    times = fnp.asarray(np.arange(x.shape[0]).astype(real)) / fnp.asarray(fs, dtype=real)
    return times, x
