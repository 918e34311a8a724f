"""More of jax.numpy's names, as compositions of funcgrad.numpy's functions: index tricks
(`r_`, `c_`, `mgrid`, `ogrid`, `mask_indices`), bit packing (`packbits`, `unpackbits`),
functional updates (`place`, `put`, `piecewise`), multi-dimensional histograms, signal
helpers (`unwrap`, `kaiser`, `i0`, `nextafter`), and thin host-side helpers JAX takes from
NumPy (printing options, `array_repr`/`array_str`, `einsum_path`, `frombuffer`,
`fromstring`, `from_dlpack`, `save`/`savez`/`load` without pickling)."""
from __future__ import annotations

import builtins
import math
import operator

import numpy as _np

from .. import dtypes as _dt
from .._recurring import compile_when_it_pays
from .. import numpy as _fnp
from ..core import Array, Tracer
from ._dtypes import _promote
from ._creation import _axis
from ._elementwise import _no_complex

ComplexWarning = _np.exceptions.ComplexWarning
complexfloating = _np.complexfloating
get_printoptions = _np.get_printoptions
printoptions = _np.printoptions


def set_printoptions(*args, **kwargs):
    """NumPy's `set_printoptions` (funcgrad arrays print through NumPy)."""
    return _np.set_printoptions(*args, **kwargs)


# ---------------------------------------------------------------------------------------
# Index tricks


def _static(v, what):
    if isinstance(v, Tracer):
        raise TypeError(f"{what}: slice bounds and steps must be concrete (static) values, "
                        f"got a traced value")
    return v.item() if isinstance(v, (Array, _np.ndarray, _np.generic)) else v


def _slice_values(s: slice, what):
    """The 1-D array a slice denotes in r_/mgrid/ogrid: arange(start, stop, step), or with
    an imaginary step `nj` linspace(start, stop, n) (endpoint included), as NumPy."""
    start, stop, step = (_static(v, what) for v in (s.start, s.stop, s.step))
    start = 0 if start is None else start
    step = 1 if step is None else step
    if isinstance(step, complex):
        return _fnp.linspace(start, stop, int(abs(step)), endpoint=True)
    if stop is None:
        raise ValueError(f"{what}: a slice needs a stop value, got {s}")
    return _fnp.arange(start, stop, step)


class _AxisConcatenator:
    """NumPy's `r_` / `c_`: concatenate slices (as ranges), scalars and arrays along an
    axis. A leading string "axis", "axis,ndmin" or "axis,ndmin,trans1d" sets the axis, the
    minimum rank every piece is raised to, and where a raised piece's own axes go."""

    def __init__(self, name, axis, ndmin, trans1d):
        self._name, self._axis, self._ndmin, self._trans1d = name, axis, ndmin, trans1d

    def __getitem__(self, key):
        items = key if isinstance(key, tuple) else (key,)
        axis, ndmin, trans1d = self._axis, self._ndmin, self._trans1d
        if items and isinstance(items[0], str):
            directive, items = items[0], items[1:]
            if directive in ("r", "c"):
                raise NotImplementedError(f"{self._name}: the matrix directives 'r' and 'c' "
                                          "are not supported (funcgrad has no matrix type; "
                                          "JAX has none either)")
            try:
                parts = [int(p) for p in directive.split(",")]
            except ValueError:
                raise ValueError(f"{self._name}: could not understand the directive "
                                 f"{directive!r} (expected 'axis[,ndmin[,trans1d]]')") from None
            if len(parts) > 3:
                raise ValueError(f"{self._name}: directive {directive!r} has more than 3 "
                                 "fields")
            axis, ndmin, trans1d = (parts + [ndmin, trans1d][len(parts) - 1:])[:3]
        pieces = []
        for item in items:
            if isinstance(item, slice):
                arr = _slice_values(item, self._name)
            elif isinstance(item, str):
                raise ValueError(f"{self._name}: a string directive must come first, got "
                                 f"{item!r} later")
            else:
                arr = _fnp.asarray(item)
            pieces.append(self._raise_rank(arr, ndmin, trans1d))
        if not pieces:
            return _fnp.zeros((0,))
        return _fnp.concatenate(pieces, axis=axis)

    @staticmethod
    def _raise_rank(arr, ndmin, trans1d):
        nd = arr.ndim
        if nd == 0:
            arr = _fnp.reshape(arr, (1,))
            nd = 1
        if nd >= ndmin:
            return arr
        arr = _fnp.reshape(arr, (1,) * (ndmin - nd) + arr.shape)
        if trans1d == -1:
            return arr
        # NumPy: the piece's own axes start at position trans1d (counted from the end when
        # negative), the new unit axes fill the rest.
        k2 = ndmin - nd
        k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
        order = list(range(ndmin))
        return _fnp.transpose(arr, order[:k1] + order[k2:] + order[k1:k2])

    def __len__(self):
        return 0


r_ = _AxisConcatenator("r_", 0, 1, -1)
c_ = _AxisConcatenator("c_", -1, 2, 0)


class _Grid:
    """NumPy's `mgrid` (dense) / `ogrid` (open, broadcastable) over slices; an imaginary
    step `nj` means n points with the stop included."""

    def __init__(self, name, sparse):
        self._name, self._sparse = name, sparse

    def __getitem__(self, key):
        if isinstance(key, slice):
            return _slice_values(key, self._name)
        if not isinstance(key, tuple) or not builtins.all(isinstance(k, slice) for k in key):
            raise TypeError(f"{self._name}: index with slices, e.g. {self._name}[0:5, 0:1:3j], "
                            f"got {key!r}")
        axes = [_slice_values(k, self._name) for k in key]
        dt = _fnp.result_type(*axes) if axes else _dt.DEFAULT_INT_()
        axes = [a.astype(dt) for a in axes]
        grids = _fnp.meshgrid(*axes, indexing="ij", sparse=self._sparse)
        return list(grids) if self._sparse else _fnp.stack(grids)


mgrid = _Grid("mgrid", sparse=False)
ogrid = _Grid("ogrid", sparse=True)


def mask_indices(n, mask_func, k=0, *, size=None):
    """The (row, column) indices where `mask_func(ones((n, n)), k)` is nonzero (e.g.
    `mask_func=triu`); `size` as in `nonzero`, for use under jit."""
    n = operator.index(n)
    rows, cols = _fnp.nonzero(mask_func(_fnp.ones((n, n), _dt.int32), k), size=size)
    return rows, cols


# ---------------------------------------------------------------------------------------
# Bits


def _bit_axis(a, axis, name):
    if axis is None:
        return _fnp.ravel(a), 0
    return a, _axis(axis, a.ndim, name)


def _bit_weights(bitorder, name):
    if bitorder not in ("big", "little"):
        raise ValueError(f"{name}: bitorder must be 'big' or 'little', got {bitorder!r}")
    w = 2 ** _np.arange(8)
    return w[::-1] if bitorder == "big" else w


def packbits(a, axis=None, bitorder="big"):
    """Booleans / integers (nonzero = 1) packed 8 to a uint8 along `axis` (flattened when
    None), zero-padded to a multiple of 8; `bitorder` 'big' puts the first element in the
    most significant bit."""
    a = _fnp.asarray(a)
    if not (_dt.is_int(a.dtype) or _dt.is_bool(a.dtype)):
        raise TypeError(f"packbits: expected an integer or boolean array, got {a.dtype}")
    w = _bit_weights(bitorder, "packbits")
    a, axis = _bit_axis(a, axis, "packbits")
    bits = _fnp.moveaxis(_fnp.not_equal(a, 0).astype(_dt.uint8), axis, -1)
    n = bits.shape[-1]
    pad = -n % 8
    if pad:
        bits = _fnp.pad(bits, [(0, 0)] * (bits.ndim - 1) + [(0, pad)])
    bits = _fnp.reshape(bits, bits.shape[:-1] + ((n + pad) // 8, 8))
    packed = _fnp.sum(bits * _fnp.asarray(w.astype(_np.uint8)), axis=-1, dtype=_dt.uint8)
    return _fnp.moveaxis(packed, -1, axis)


def unpackbits(a, axis=None, count=None, bitorder="big"):
    """The bits of a uint8 array as a uint8 array of 0/1, 8 per element along `axis`
    (flattened when None); `count` keeps that many (negative: drops that many from the end;
    more than there are: zero-padded)."""
    a = _fnp.asarray(a)
    if a.dtype != _dt.uint8:
        raise TypeError(f"unpackbits: expected an array of uint8, got {a.dtype}")
    w = _bit_weights(bitorder, "unpackbits")
    shifts = _fnp.asarray(_np.log2(w).astype(_np.uint8))
    a, axis = _bit_axis(a, axis, "unpackbits")
    x = _fnp.moveaxis(a, axis, -1)
    bits = _fnp.bitwise_and(_fnp.right_shift(x[..., None], shifts), _np.uint8(1))
    bits = _fnp.reshape(bits, x.shape[:-1] + (x.shape[-1] * 8,))
    if count is not None:
        count = operator.index(count)
        n = bits.shape[-1]
        keep = count if count >= 0 else builtins.max(n + count, 0)
        if keep > n:
            bits = _fnp.pad(bits, [(0, 0)] * (bits.ndim - 1) + [(0, keep - n)])
        else:
            bits = bits[..., :keep]
    return _fnp.moveaxis(bits, -1, axis)


# ---------------------------------------------------------------------------------------
# Functional updates


def _wrap_values(v, n):
    """`v` (flattened) repeated or cut to length n, as NumPy's put/place cycle the values."""
    v = _fnp.ravel(v)
    if v.shape[0] == n:
        return v
    return _fnp.take(v, _fnp.asarray(_np.arange(n, dtype=_np.int32) % v.shape[0]))


def place(arr, mask, vals, *, inplace=True):
    """`arr` with the positions where `mask` is true set, in row-major order, to `vals`
    (cycled when shorter). JAX requires `inplace=False` (arrays are immutable) and so does
    funcgrad."""
    if inplace:
        raise ValueError("place: funcgrad arrays are immutable; pass inplace=False and use "
                         "the returned array (as in JAX)")
    data = _fnp.asarray(arr)
    m = _fnp.ravel(_fnp.asarray(mask))
    v = _fnp.asarray(vals).astype(data.dtype)
    if m.shape[0] != data.size:
        raise ValueError(f"place: mask of shape {_np.shape(mask)} must have as many elements "
                         f"as arr of shape {data.shape}")
    if v.size == 0:
        raise ValueError("place: vals is empty (cannot insert from an empty array)")
    n = data.size
    (idx,) = _fnp.nonzero(m, size=n, fill_value=n)
    out = _fnp.ravel(data).at[idx].set(_wrap_values(v, n), mode="drop")
    return _fnp.reshape(out, data.shape)


def put(a, ind, v, mode=None, *, inplace=True):
    """`a` with its flat positions `ind` set to `v` (cycled or cut to len(ind)). JAX
    requires `inplace=False` and so does funcgrad. `mode`: None (JAX's default) counts
    negative indices from the end and clips the rest, 'clip' clips them, 'wrap' wraps
    them; 'raise' is not supported (as in JAX: a traced index cannot raise)."""
    if inplace:
        raise ValueError("put: funcgrad arrays are immutable; pass inplace=False and use "
                         "the returned array (as in JAX)")
    arr = _fnp.asarray(a)
    idx = _fnp.ravel(_fnp.asarray(ind))
    vals = _fnp.ravel(_fnp.asarray(v)).astype(arr.dtype)
    if not _dt.is_int(idx.dtype):
        raise TypeError(f"put: indices must be integers, got {idx.dtype}")
    if arr.size == 0 or idx.size == 0 or vals.size == 0:
        return arr
    n = arr.size
    if mode is None:
        # JAX's default: negative indices count from the end, then the rest out of range
        # are clipped (put([7, -8]) of 6 elements writes 5 and 0; funcgrad dropped them)
        idx = _fnp.clip(_fnp.where(idx < 0, idx + n, idx), 0, n - 1)
        scatter_mode = "drop"
    elif mode == "clip":
        idx, scatter_mode = _fnp.clip(idx, 0, n - 1), "drop"
    elif mode == "wrap":
        idx, scatter_mode = _fnp.mod(idx, n), "drop"
    elif mode == "raise":
        raise NotImplementedError("put: mode='raise' is not supported (as in JAX); use "
                                  "mode=None (drop), 'clip' or 'wrap'")
    else:
        raise ValueError(f"put: mode must be None, 'clip', 'wrap' or 'raise', got {mode!r}")
    out = _fnp.ravel(arr).at[idx].set(_wrap_values(vals, idx.shape[0]), mode=scatter_mode)
    return _fnp.reshape(out, arr.shape)


def piecewise(x, condlist, funclist, *args, **kw):
    """`funclist[i]` applied where `condlist[i]` holds (later conditions win), a trailing
    extra entry where none holds (else 0). Entries are functions, called as
    f(x, *args, **kw) elementwise (JAX applies them per element; funcgrad evaluates each on
    the whole array and selects, the same for elementwise functions), or constants. The
    result has x's dtype."""
    x = _fnp.asarray(x)
    conds = [_fnp.asarray(c) for c in (condlist if isinstance(condlist, (list, tuple))
                                        else ([condlist] if _np.ndim(condlist) == x.ndim
                                              else list(condlist)))]
    nc, nf = len(conds), len(funclist)
    if nf == nc + 1:
        default, funcs = funclist[-1], list(funclist[:-1])
    elif nf == nc:
        default, funcs = 0, list(funclist)
    else:
        raise ValueError(f"piecewise: funclist must have len(condlist) ({nc}) or "
                         f"len(condlist) + 1 entries, got {nf}")

    def value(f):
        out = f(x, *args, **kw) if callable(f) else f
        return _fnp.broadcast_to(_fnp.asarray(out).astype(x.dtype), x.shape)

    out = value(default)
    for c, f in zip(conds, funcs):
        if c.dtype != _dt.bool_:
            c = _fnp.not_equal(c, 0)
        out = _fnp.where(_fnp.broadcast_to(c, x.shape), value(f), out)
    return out


# ---------------------------------------------------------------------------------------
# Histograms


def histogram_bin_edges(a, bins=10, range=None, weights=None):  # noqa: A002
    """The bin edges `histogram` uses: `bins + 1` evenly spaced edges over `range` (the
    data's min and max by default, widened by 1/2 each way when they are equal), or `bins`
    itself when it is an array of edges. `weights` is accepted and unused, as NumPy."""
    x = _fnp.ravel(_fnp.asarray(a))
    _no_complex("histogram_bin_edges", x)
    dt = _dt.to_inexact(x.dtype)
    if _np.ndim(bins) == 1:
        return _fnp.asarray(bins).astype(dt)
    nb = operator.index(bins)
    if nb < 1:
        raise ValueError(f"histogram_bin_edges: bins must be positive, got {nb}")
    if range is None:
        if x.size == 0:
            lo, hi = _fnp.asarray(0.0, dt), _fnp.asarray(1.0, dt)
        else:
            lo, hi = _fnp.min(x).astype(dt), _fnp.max(x).astype(dt)
    else:
        lo, hi = (_fnp.asarray(v, dt) for v in range)
    equal = _fnp.equal(lo, hi)
    lo = _fnp.where(equal, lo - 0.5, lo)
    hi = _fnp.where(equal, hi + 0.5, hi)
    return _fnp.linspace(lo, hi, nb + 1, dtype=dt)


def histogramdd(sample, bins=10, range=None, weights=None, density=None):  # noqa: A002
    """The D-dimensional histogram of `sample` (N points of shape (N, D)): counts (weights
    summed when given) of shape (nbins_1, ..., nbins_D), and the list of the D edge arrays.
    Each bin holds [edge_i, edge_i+1), the last also its right edge; points outside are not
    counted. `density` divides by the total and the bin volumes. Counts without weights are
    of the default int type (int32; int64 under x64), as JAX's (NumPy's are floats)."""
    s = _fnp.asarray(sample)
    _no_complex("histogramdd", s)
    # the sample and the weights promote to one inexact type together, as in JAX (int32
    # points with float16 weights bin as float16)
    dt = _dt.to_inexact(_fnp.result_type(s) if weights is None
                        else _fnp.result_type(s, _fnp.asarray(weights)))
    s = s.astype(dt)
    if s.ndim == 1:
        s = s[:, None]
    if s.ndim != 2:
        raise ValueError(f"histogramdd: sample must have shape (N, D), got {s.shape}")
    n, d = s.shape
    per_dim_bins = list(bins) if isinstance(bins, (list, tuple)) else [bins] * d
    per_dim_range = list(range) if range is not None else [None] * d
    if len(per_dim_bins) != d or len(per_dim_range) != d:
        raise ValueError(f"histogramdd: bins and range need one entry per dimension ({d})")
    flat_idx = None
    edges, sizes = [], []
    for i in builtins.range(d):
        col = s[:, i]
        e = histogram_bin_edges(col, per_dim_bins[i], per_dim_range[i])
        idx = _fnp.searchsorted(e, col, side="right")
        idx = _fnp.where(_fnp.equal(col, e[-1]), idx - 1, idx)
        nb = e.shape[0] + 1             # with one outlier bin at each end
        flat_idx = idx if flat_idx is None else flat_idx * nb + idx
        edges.append(e)
        sizes.append(nb)
    # Without weights the counts are integers of the default type (JAX counts with
    # bincount: int32, int64 under x64).
    if weights is None:
        w = _fnp.ones((n,), _dt.DEFAULT_INT_())
    else:
        w = _fnp.ravel(_fnp.asarray(weights)).astype(dt)
    total = int(math.prod(sizes))
    hist = _fnp.zeros((total,), w.dtype).at[flat_idx].add(w)
    hist = _fnp.reshape(hist, tuple(sizes))[(slice(1, -1),) * d]
    if density:
        hist = hist.astype(dt)
        hist = hist / _fnp.sum(hist)
        for i, e in enumerate(edges):
            shape = [1] * d
            shape[i] = e.shape[0] - 1
            hist = hist / _fnp.reshape(_fnp.diff(e), tuple(shape))
    return hist, edges


def histogram2d(x, y, bins=10, range=None, weights=None, density=None):  # noqa: A002
    """The 2-D histogram of points (x[i], y[i]): counts of shape (nx, ny), x edges, y
    edges. `bins`: an int or an edge array for both axes, or a pair of them."""
    try:
        nbins = len(bins)
    except TypeError:
        nbins = 1
    if nbins not in (1, 2):
        bins = [bins, bins]
    sample = _fnp.stack([_fnp.ravel(_fnp.asarray(x)), _fnp.ravel(_fnp.asarray(y))], axis=1)
    hist, edges = histogramdd(sample, bins, range, weights, density)
    return hist, edges[0], edges[1]


# ---------------------------------------------------------------------------------------
# Signal helpers and special values


def unwrap(p, discont=None, axis=-1, period=2 * math.pi):
    """`p` with jumps between neighbours along `axis` larger than `discont` (default
    period / 2) replaced by their remainder modulo `period` (NumPy's algorithm, including
    its tie rule: a jump of exactly -period/2 after a positive one stays +period/2).
    Differentiable in `p`. `p` and `period` promote together, as in JAX: integer input
    with an integer period stays integer (the half period rounded down)."""
    x = _fnp.asarray(p)
    dt = _fnp.result_type(x, period)
    if _dt.is_complex(dt):
        raise ValueError("jnp.unwrap does not support complex inputs.")
    if _dt.is_bool(dt):
        dt = _dt.DEFAULT_INT_()
    x = x.astype(dt)
    axis = _axis(axis, x.ndim, "unwrap")
    if x.shape[axis] == 0:
        return x
    dd = _fnp.diff(x, axis=axis)
    discont = period / 2 if discont is None else discont
    high = period // 2 if _dt.is_int(dt) else period / 2
    low = -high
    ddmod = _fnp.mod(dd - low, period) + low
    ddmod = _fnp.where(_fnp.logical_and(_fnp.equal(ddmod, low), dd > 0), high, ddmod)
    correct = _fnp.where(_fnp.abs(dd) < discont, _fnp.zeros_like(dd), ddmod - dd)
    first = _fnp.take(x, _fnp.asarray([0]), axis=axis)
    rest = _fnp.take(x, _fnp.asarray(_np.arange(1, x.shape[axis])), axis=axis)
    return _fnp.concatenate([first, rest + _fnp.cumsum(correct, axis=axis)], axis=axis)


# The modified Bessel function I0: the power series sum_k (x^2/4)^k / (k!)^2 up to
# |x| = 20 (positive terms: accurate to a few ulps; 60 terms reach float64 precision there),
# the asymptotic series e^x / sqrt(2 pi x) sum_k a_k / x^k above it (its 24th term at
# |x| = 20 is 3e-17 of the sum; at 15 it would be 3e-14). The series is summed term by
# term, each term from the last (t_k = t_(k-1) * y / k^2), not by Horner's rule in y: the
# reverse-mode cotangents of Horner's partial sums are powers of y, which overflow float32
# (y^59 at y = 6) and turn the gradient into inf * 0 = NaN.
_BESSEL_SWITCH = 20.0
_SERIES_TERMS = 60
_ASYMPTOTIC_TERMS = 24


def _i0_asymptotic_coeffs():
    """a_k = prod_{j <= k} (2j - 1)^2 / (k! 8^k), the coefficients of I0's asymptotic
    series (all positive)."""
    out, a = [], 1.0
    for k in builtins.range(_ASYMPTOTIC_TERMS):
        out.append(a)
        a *= (2 * k + 1) ** 2 / ((k + 1) * 8.0)
    return out


_ASYMPTOTIC_I0 = _i0_asymptotic_coeffs()


def _bessel_i0(x):
    """I0(x) for real float x. Each branch sees a clamped argument (the other branch's
    inputs replaced by a harmless one), so neither overflows into the derivative of the
    branch not taken."""
    ax = _fnp.abs(x)
    small = ax <= _BESSEL_SWITCH
    xs = _fnp.where(small, ax, _fnp.zeros_like(ax))
    y = xs * xs * 0.25
    term = _fnp.ones_like(y)
    series = term
    for k in builtins.range(1, _SERIES_TERMS):
        term = term * y * (1.0 / (k * k))
        series = series + term
    xl = _fnp.where(small, _fnp.full_like(ax, 2 * _BESSEL_SWITCH), ax)
    z = 1.0 / xl
    acc = _fnp.zeros_like(z) + _ASYMPTOTIC_I0[-1]
    for c in _ASYMPTOTIC_I0[-2::-1]:
        acc = acc * z + c
    # (sqrt(2 pi) sqrt(x): 2 pi x overflows float32 from x = 5.4e37, and i0(1e38) was NaN)
    asym = acc / (math.sqrt(2 * math.pi) * _fnp.sqrt(xl))
    # e^x split in two factors so that e^(x/2) * (e^(x/2) * s) stays finite where it can.
    half = _fnp.exp(xl * 0.5)
    return _fnp.where(small, series, half * (half * asym))


def i0(x):
    """The modified Bessel function of the first kind of order 0, elementwise (float
    result). Differentiable: its derivative is I1 (as JAX's rule), here the derivative of
    the series that computes it."""
    x = _fnp.asarray(x)
    if not _dt.is_float(x.dtype):
        x = x.astype(_dt.DEFAULT_FLOAT_() if _dt.is_complex(x.dtype) else
                     _dt.to_inexact(x.dtype))
    return _bessel_i0(x)


i0 = compile_when_it_pays(i0)      # (~240 primitives, jitted in JAX: as scipy.special's)


def kaiser(M, beta):
    """The Kaiser window of M points with shape parameter `beta`:
    I0(beta * sqrt(1 - (2n / (M - 1) - 1)**2)) / I0(beta), in the default float type."""
    M = operator.index(M)
    dt = _dt.DEFAULT_FLOAT_()
    if M < 1:
        return _fnp.zeros((0,), dt)
    if M == 1:
        return _fnp.ones((1,), dt)
    n = _fnp.arange(M, dtype=dt)
    alpha = (M - 1) / 2.0
    r = (n - alpha) / alpha
    b = _fnp.asarray(beta).astype(dt)
    return i0(b * _fnp.sqrt(_fnp.maximum(1 - r * r, 0.0))) / i0(b)


def _step_up(x):
    """The next float above x (x not NaN), from arithmetic alone: x + |x| * (2**-p +
    2**(1-2p)) moves a normal x by more than half and less than one and a half of the gap
    above it, so it rounds to the neighbour; near zero the step is the smallest subnormal."""
    fi = _np.finfo(x.dtype)
    p = fi.nmant + 1
    c = 2.0 ** -p + 2.0 ** (1 - 2 * p)
    step = _fnp.where(_fnp.abs(x) < float(fi.tiny),
                      _fnp.full_like(x, float(fi.smallest_subnormal)), _fnp.abs(x) * c)
    out = x + step
    return _fnp.where(_fnp.equal(x, -_np.inf), _fnp.full_like(x, -float(fi.max)), out)


def nextafter(x, y, /):
    """The next float after x in the direction of y, elementwise (y where x == y, NaN where
    either is NaN)."""
    a, b = _promote("nextafter", x, y, to_float=True)
    a, b = _fnp.broadcast_arrays(a, b)
    up = _step_up(a)
    down = -_step_up(-a)
    out = _fnp.where(b > a, up, down)
    out = _fnp.where(_fnp.equal(a, b), b, out)
    return _fnp.where(_fnp.logical_or(_fnp.isnan(a), _fnp.isnan(b)),
                      _fnp.full_like(a, _np.nan), out)


def apply_over_axes(func, a, axes):
    """`func(a, axis)` applied for each axis in turn, each result kept at `a`'s rank (a
    reduced axis comes back as length 1), as NumPy."""
    x = _fnp.asarray(a)
    for axis in ([axes] if _np.ndim(axes) == 0 else list(axes)):
        ax = axis + x.ndim if axis < 0 else axis
        res = func(x, ax)
        if res.ndim != x.ndim:
            res = _fnp.expand_dims(res, ax)
            if res.ndim != x.ndim:
                raise ValueError("apply_over_axes: function is not returning an array of "
                                 "the correct shape")
        x = res
    return x


# ---------------------------------------------------------------------------------------
# Host-side helpers (NumPy's, on funcgrad arrays)


def _host(arr, name):
    if isinstance(arr, Tracer):
        raise TypeError(f"{name}: needs a concrete array, got a traced value (call it "
                        "outside jit/vmap/grad)")
    return _np.asarray(arr)


def array_repr(arr, max_line_width=None, precision=None, suppress_small=None):
    """The repr of an array, `Array([...], dtype=...)`, with NumPy's formatting options."""
    text = _np.array_repr(_host(arr, "array_repr"), max_line_width, precision,
                          suppress_small)
    body = text[len("array"):] if text.startswith("array") else "(" + text + ")"
    if "dtype=" not in body:
        body = body[:-1] + f", dtype={_host(arr, 'array_repr').dtype})"
    return "Array" + body


def array_str(a, max_line_width=None, precision=None, suppress_small=None):
    """The str of an array (its values, NumPy's formatting options)."""
    return _np.array_str(_host(a, "array_str"), max_line_width, precision, suppress_small)


def einsum_path(subscripts, /, *operands, optimize="greedy"):
    """The contraction order `einsum` would use for operands of these shapes, as
    (path, description): path is a list of operand-index tuples (without NumPy's leading
    'einsum_path' marker, as JAX's opt_einsum path), the description NumPy's printable
    report. Only shapes and dtypes matter, so traced operands are fine."""
    if optimize is True:
        optimize = "greedy"
    elif optimize is False:
        raise ValueError("einsum_path: optimize=False asks for no path; pass 'greedy', "
                         "'optimal' or an explicit path")
    stand_ins = [_np.broadcast_to(_np.zeros((), _np.dtype(o.dtype) if hasattr(o, "dtype")
                                            else _np.float32), _np.shape(o))
                 for o in operands]
    path, info = _np.einsum_path(subscripts, *stand_ins, optimize=optimize)
    return [tuple(p) for p in path[1:]], info


def from_dlpack(x, /, *, device=None, copy=None):
    """An array from any object with the DLPack protocol (`__dlpack__`); the data is
    copied into a funcgrad array (JAX's own `device` / `copy` are accepted)."""
    if isinstance(x, Array):
        return x
    return _fnp.asarray(_np.from_dlpack(x))


def frombuffer(buffer, dtype=float, count=-1, offset=0):
    """A 1-D array from the bytes of `buffer`, read as `dtype` (NumPy's `frombuffer`; then
    converted as any NumPy input, so float64 data is float32 unless x64 is on)."""
    return _fnp.asarray(_np.frombuffer(buffer, dtype=dtype, count=count, offset=offset))


def fromstring(string, dtype=float, count=-1, *, sep):
    """A 1-D array from numbers in a text string separated by `sep` (NumPy's
    `fromstring`)."""
    return _fnp.asarray(_np.fromstring(string, dtype=dtype, count=count, sep=sep))


def save(file, arr, allow_pickle=True):
    """Save an array to a .npy file (NumPy's format). The array is numeric, so no pickling
    ever happens whatever `allow_pickle` says."""
    _np.save(file, _host(arr, "save"), allow_pickle=False)


def savez(file, *args, allow_pickle=True, **kwds):
    """Save arrays to an uncompressed .npz file (NumPy's format), never pickling."""
    _np.savez(file, *[_host(a, "savez") for a in args], allow_pickle=False,
              **{k: _host(v, "savez") for k, v in kwds.items()})


def load(file, *args, **kwargs):
    """Load a .npy file as a funcgrad array, or a .npz file as NumPy's lazy mapping of
    arrays (NumPy's `load` arguments). Never unpickles: `allow_pickle=True` is refused
    (unpickling runs arbitrary code)."""
    kwargs.update(zip(("mmap_mode", "allow_pickle", "fix_imports", "encoding"), args))
    if kwargs.get("allow_pickle"):
        raise ValueError("load: funcgrad never loads pickled data (allow_pickle=True); "
                         "save plain numeric arrays instead")
    kwargs["allow_pickle"] = False
    out = _np.load(file, **kwargs)
    return _fnp.asarray(out) if isinstance(out, _np.ndarray) else out
