"""Parameter initializers, as `jax.nn.initializers`.

An initializer is a function `init(key, shape, dtype=None) -> Array`; the constructors here
(`normal(stddev)`, `variance_scaling(...)`, `glorot_uniform()`, ...) return one. `zeros` and
`ones` are initializers themselves, exactly as in JAX. As in JAX, dtype None means the default
float type when the initializer is called: float32, or float64 under x64.
"""
from __future__ import annotations

import math
from collections.abc import Callable as _Callable
from collections.abc import Sequence as _Sequence

import numpy as np

from funcgrad import dtypes as _dtypes
from funcgrad import numpy as fnp
from funcgrad import random

__all__ = [
    "Initializer",
    "constant",
    "delta_orthogonal",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

Initializer = _Callable[..., "fnp.ndarray"]

# stddev of a standard normal truncated to [-2, 2]: dividing by it makes the variance exact.
_TRUNC_STD = 0.87962566103423978


def _dtype(dtype) -> np.dtype:
    """The dtype an initializer draws in, decided when it is called, as JAX's: None (the
    default) is the default float (float32; float64 under x64); an explicit 64-bit dtype
    without x64 is narrowed with JAX's warning."""
    return _dtypes.DEFAULT_FLOAT_() if dtype is None else _dtypes.canonicalize(dtype)


def _shape(shape) -> tuple[int, ...]:
    return (int(shape),) if np.ndim(shape) == 0 else tuple(int(d) for d in shape)


def zeros(key, shape, dtype=None):
    """All zeros (the key is ignored)."""
    return fnp.zeros(_shape(shape), _dtype(dtype))


def ones(key, shape, dtype=None):
    """All ones (the key is ignored)."""
    return fnp.ones(_shape(shape), _dtype(dtype))


def constant(value, dtype=None) -> Initializer:
    """An initializer filling every entry with `value`."""
    def init(key, shape, dtype=dtype):
        dtype = _dtype(dtype)
        return fnp.full(_shape(shape), value, dtype)
    return init


def normal(stddev=1e-2, dtype=None) -> Initializer:
    """Normal samples with mean 0 and standard deviation `stddev`."""
    def init(key, shape, dtype=dtype):
        dtype = _dtype(dtype)
        return random.normal(key, _shape(shape), dtype) * stddev
    return init


def uniform(scale=1e-2, dtype=None) -> Initializer:
    """Uniform samples in [0, scale) (JAX's convention: not centred)."""
    def init(key, shape, dtype=dtype):
        dtype = _dtype(dtype)
        return random.uniform(key, _shape(shape), dtype) * scale
    return init


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0) -> Initializer:
    """Normal samples truncated to [lower, upper] standard deviations, scaled by `stddev`."""
    def init(key, shape, dtype=dtype):
        dtype = _dtype(dtype)
        return random.truncated_normal(key, lower, upper, _shape(shape), dtype) * stddev
    return init


def _axis_size(shape, axes) -> int:
    if isinstance(axes, int):
        return shape[axes]
    return math.prod(shape[a] for a in axes)


def _compute_fans(shape, in_axis=-2, out_axis=-1, batch_axis=()):
    # JAX refuses a 0-d or 1-d shape only with the default in_axis
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(f"Can't compute input and output sizes of a {len(shape)}-dimensional "
                         "weights tensor with default in_axis. Must be at least 2D or "
                         "specify in_axis explicitly.")
    in_size = _axis_size(shape, in_axis)
    out_size = _axis_size(shape, out_axis)
    batch_size = _axis_size(shape, batch_axis) if batch_axis != () else 1
    receptive_field = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive_field, out_size * receptive_field


def variance_scaling(scale, mode: str, distribution: str, in_axis: int | _Sequence[int] = -2,
                     out_axis: int | _Sequence[int] = -1, batch_axis: _Sequence[int] = (),
                     dtype=None) -> Initializer:
    """Samples with variance `scale / n`, n = fan_in, fan_out, their mean ("fan_avg") or
    their geometric mean ("fan_geo_avg") (`mode`).

    `distribution` is "truncated_normal", "normal" or "uniform"; fans are computed from the
    weight shape with `in_axis`/`out_axis` (the rest is the receptive field), as in JAX.
    A complex `dtype` draws JAX's complex variants: a uniform modulus-squared and phase
    ("uniform") or a modulus truncated at 2 ("truncated_normal")."""
    if mode not in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg"):
        raise ValueError(f"invalid mode for variance scaling initializer: {mode}")
    if distribution not in ("truncated_normal", "normal", "uniform"):
        raise ValueError(f"invalid distribution for variance scaling initializer: "
                         f"{distribution}")

    def init(key, shape, dtype=dtype):
        dtype = _dtype(dtype)
        shape = _shape(shape)
        fan_in, fan_out = _compute_fans(shape, in_axis, out_axis, batch_axis)
        denominator = {"fan_in": fan_in, "fan_out": fan_out,
                       "fan_avg": (fan_in + fan_out) / 2,
                       "fan_geo_avg": math.sqrt(fan_in * fan_out)}[mode]
        # in the weights' dtype, as JAX computes it: a bfloat16 scale is the square root of
        # the rounded variance, rounded (the draws differed from JAX's by an ulp)
        variance = fnp.array(scale / denominator, dtype=dtype)
        complex_ = np.issubdtype(np.dtype(dtype), np.complexfloating)
        if distribution == "truncated_normal":
            if complex_:
                stddev = fnp.sqrt(variance) / fnp.array(_COMPLEX_TRUNC_STD, dtype)
                return _complex_truncated_normal(key, 2.0, shape, dtype) * stddev
            stddev = fnp.sqrt(variance) / fnp.array(_TRUNC_STD, dtype)
            return random.truncated_normal(key, -2.0, 2.0, shape, dtype) * stddev
        if distribution == "normal":
            return random.normal(key, shape, dtype) * fnp.sqrt(variance)
        if complex_:
            return _complex_uniform(key, shape, dtype) * fnp.sqrt(variance)
        return random.uniform(key, shape, dtype, -1.0, 1.0) * fnp.sqrt(3 * variance)
    return init


# The standard deviation of a complex standard normal whose modulus is truncated at 2.
_COMPLEX_TRUNC_STD = 0.95311164380491208


def _complex_parts(key, shape, dtype):
    real = np.dtype(dtype).type(0).real.dtype
    k_modulus, k_phase = random.split(key)
    phase = (2 * np.pi) * random.uniform(k_phase, shape, real).astype(dtype)
    return random.uniform(k_modulus, shape, real), fnp.exp(1j * phase)


def _complex_uniform(key, shape, dtype):
    """Uniform on the disc of radius sqrt(2) (variance 1): modulus sqrt(2 u), uniform
    phase (JAX's draws: the modulus from the first key of a split, the phase from the
    second)."""
    u, rotation = _complex_parts(key, shape, dtype)
    return fnp.sqrt(2 * u).astype(dtype) * rotation


def _complex_truncated_normal(key, upper, shape, dtype):
    """A complex standard normal with its modulus truncated at `upper`: the modulus by
    the inverse CDF of the Rayleigh law restricted to [0, upper], uniform phase."""
    u, rotation = _complex_parts(key, shape, dtype)
    t = (1 - fnp.exp(fnp.asarray(-(upper ** 2), dtype))) * u.astype(dtype)
    return fnp.sqrt(-fnp.log(1 - t)) * rotation


def glorot_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None) -> Initializer:
    """Glorot/Xavier uniform: variance_scaling(1.0, "fan_avg", "uniform")."""
    return variance_scaling(1.0, "fan_avg", "uniform", in_axis, out_axis, batch_axis, dtype)


def glorot_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None) -> Initializer:
    """Glorot/Xavier normal: variance_scaling(1.0, "fan_avg", "truncated_normal")."""
    return variance_scaling(1.0, "fan_avg", "truncated_normal", in_axis, out_axis, batch_axis,
                            dtype)


def lecun_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None) -> Initializer:
    """LeCun uniform: variance_scaling(1.0, "fan_in", "uniform")."""
    return variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def lecun_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None) -> Initializer:
    """LeCun normal: variance_scaling(1.0, "fan_in", "truncated_normal")."""
    return variance_scaling(1.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis,
                            dtype)


def he_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None) -> Initializer:
    """He/Kaiming uniform: variance_scaling(2.0, "fan_in", "uniform")."""
    return variance_scaling(2.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def he_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None) -> Initializer:
    """He/Kaiming normal: variance_scaling(2.0, "fan_in", "truncated_normal")."""
    return variance_scaling(2.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis,
                            dtype)


xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


def orthogonal(scale=1.0, column_axis=-1, dtype=None) -> Initializer:
    """A (semi-)orthogonal matrix along `column_axis`, times `scale`.

    Deviation from JAX: the Q factor comes from modified Gram-Schmidt in funcgrad ops (the core
    has no QR); its distribution matches JAX's sign-corrected QR, the samples differ."""
    def init(key, shape, dtype=dtype):
        dtype = _dtype(dtype)
        shape = _shape(shape)
        if len(shape) < 2:
            raise ValueError("orthogonal initializer requires at least a 2D shape")
        n_cols = shape[column_axis]
        n_rows = math.prod(shape) // n_cols
        tall = (n_rows, n_cols) if n_rows >= n_cols else (n_cols, n_rows)
        a = random.normal(key, tall, dtype)
        q = _gram_schmidt(a)
        if n_rows < n_cols:
            q = q.T
        rest = tuple(d for i, d in enumerate(shape) if i != column_axis % len(shape))
        q = fnp.reshape(q, rest + (n_cols,))
        return scale * fnp.moveaxis(q, -1, column_axis)
    return init


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None) -> Initializer:
    """Delta-orthogonal convolution kernels (Xiao et al., 2018): for a 3-D, 4-D or 5-D
    kernel shape (spatial..., in, out) with in <= out, zeros except at the spatial centre,
    which holds an orthogonal (in, out) matrix times `scale`."""
    def init(key, shape, dtype=dtype):
        dtype = _dtype(dtype)
        shape = _shape(shape)
        if len(shape) not in (3, 4, 5):
            raise ValueError(f"delta_orthogonal: needs a 3-D, 4-D or 5-D kernel shape, got "
                             f"{shape}")
        if shape[-1] < shape[-2]:
            raise ValueError(f"delta_orthogonal: the input feature count ({shape[-2]}) must "
                             f"be at most the output feature count ({shape[-1]})")
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        matrix = orthogonal(scale, column_axis, dtype)(key, shape[-2:], dtype)
        return fnp.zeros(shape, dtype).at[centre].set(matrix)
    return init


def _gram_schmidt(a):
    """Orthonormal columns spanning those of the tall matrix `a` (positive R diagonal)."""
    cols = []
    for j in range(a.shape[1]):
        v = a[:, j]
        for q in cols:
            v = v - fnp.sum(q * v) * q
        cols.append(v / fnp.sqrt(fnp.sum(v * v)))
    return fnp.stack(cols, axis=1)
