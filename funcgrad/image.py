"""`funcgrad.image`: JAX's `jax.image` (`resize`, `scale_and_translate`, `ResizeMethod`).

The algorithm is JAX's (jax/_src/image/scale.py): each spatial dimension is resampled by
a dense (input size x output size) weight matrix built from the method's kernel (triangle,
Keys cubic, OpenCV's cubic for 'cubic-pytorch', Lanczos of radius 3 or 5, or box areas),
stretched by 1/scale when antialiasing a downsample, normalised to sum to one, and zero
for samples that fall outside the input (or, for 'cubic-pytorch' without antialiasing,
with the edges repeated). 'nearest' gathers the pixel whose centre is nearest (ties
downwards). Integer images are resampled in float32, as in JAX (nearest keeps the dtype).
"""
from __future__ import annotations

import enum
import math
from collections.abc import Sequence

import numpy as np

from . import numpy as fnp
from ._recurring import compile_when_it_pays

__all__ = ["ResizeMethod", "resize", "scale_and_translate"]


class ResizeMethod(enum.Enum):
    """Image resize method (JAX's names and values)."""
    NEAREST = 0
    LINEAR = 1
    LANCZOS3 = 2
    LANCZOS5 = 3
    CUBIC = 4
    CUBIC_PYTORCH = 5
    AREA = 6

    @staticmethod
    def from_string(s: str):
        if s == "nearest":
            return ResizeMethod.NEAREST
        if s in ("linear", "bilinear", "trilinear", "triangle"):
            return ResizeMethod.LINEAR
        if s == "lanczos3":
            return ResizeMethod.LANCZOS3
        if s == "lanczos5":
            return ResizeMethod.LANCZOS5
        if s in ("cubic", "bicubic", "tricubic"):
            return ResizeMethod.CUBIC
        if s in ("cubic-pytorch", "bicubic-pytorch"):
            return ResizeMethod.CUBIC_PYTORCH
        if s == "area":
            return ResizeMethod.AREA
        raise ValueError(f'Unknown resize method "{s}"')


def _lanczos(radius):
    def kernel(x):
        y = radius * fnp.sin(np.pi * x) * fnp.sin(np.pi * x / radius)
        out = fnp.where(x > 1e-3, y / fnp.where(x != 0, np.pi ** 2 * x ** 2, 1), 1)
        return fnp.where(x > radius, 0.0, out)
    return kernel


def _keys_cubic(x):
    out = ((1.5 * x - 2.5) * x) * x + 1.0
    out = fnp.where(x >= 1.0, ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0, out)
    return fnp.where(x >= 2.0, 0.0, out)


def _opencv_cubic(x):
    a = -0.75
    out = ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    out = fnp.where(x >= 1.0, ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a, out)
    return fnp.where(x >= 2.0, 0.0, out)


def _triangle(x):
    return fnp.maximum(0, 1 - fnp.abs(x))


_AREA = object()
_KERNELS = {
    ResizeMethod.LINEAR: (1, _triangle),
    ResizeMethod.LANCZOS3: (3, _lanczos(3.0)),
    ResizeMethod.LANCZOS5: (5, _lanczos(5.0)),
    ResizeMethod.CUBIC: (2, _keys_cubic),
    ResizeMethod.CUBIC_PYTORCH: (2, _opencv_cubic),
    ResizeMethod.AREA: (1, _AREA),
}
_EPS = 1000.0 * float(np.finfo(np.float32).eps)


def _weight_mat(input_size, output_size, scale, translation, kernel, antialias,
                edge_padding, radius):
    """JAX's compute_weight_mat: the (input_size, output_size) resampling weights."""
    dtype = fnp.result_type(scale, translation)
    scale = fnp.asarray(scale, dtype)
    translation = fnp.asarray(translation, dtype)
    inv_scale = 1.0 / scale
    kernel_scale = fnp.maximum(inv_scale, 1.0) if antialias else 1.0
    sample_f = ((fnp.arange(output_size, dtype=dtype) + 0.5) * inv_scale
                - translation * inv_scale - 0.5)
    if edge_padding:
        if antialias:
            k = math.ceil(radius * max(1.0 / float(scale), 1.0))
        else:
            k = radius
    else:
        k = 0
    expanded = fnp.arange(-k, input_size + k, dtype=dtype)
    if kernel is _AREA:
        left_out = fnp.arange(output_size, dtype=dtype) * inv_scale - translation * inv_scale
        right_out = left_out + inv_scale
        left_in = fnp.arange(input_size, dtype=dtype)
        right_in = left_in + 1.0
        weights = fnp.maximum(0.0, fnp.minimum(right_out[None, :], right_in[:, None])
                              - fnp.maximum(left_out[None, :], left_in[:, None]))
    else:
        weights = kernel(fnp.abs(sample_f[None, :] - expanded[:, None]) / kernel_scale)
    if edge_padding:
        clamped = fnp.clip(expanded.astype(fnp.int32), 0, input_size - 1)
        cols = fnp.broadcast_to(fnp.arange(output_size)[None, :],
                                (expanded.shape[0], output_size))
        mat = fnp.zeros((input_size, output_size), dtype).at[clamped[:, None], cols].add(
            weights)
        total = fnp.sum(mat, axis=0, keepdims=True)
        return fnp.where(fnp.abs(total) > _EPS, mat / fnp.where(total != 0, total, 1), 0)
    total = fnp.sum(weights, axis=0, keepdims=True)
    weights = fnp.where(fnp.abs(total) > _EPS, weights / fnp.where(total != 0, total, 1), 0)
    inside = (sample_f >= -0.5) & (sample_f <= input_size - 0.5)
    return fnp.where(inside[None, :], weights, 0)


def _scale_and_translate(x, shape, spatial_dims, scale, translation, kernel, antialias,
                         edge_padding=False, radius=None):
    for i, d in enumerate(spatial_dims):
        d = d % x.ndim
        w = _weight_mat(x.shape[d], shape[d], scale[i], translation[i], kernel, antialias,
                        edge_padding, radius).astype(x.dtype)
        x = fnp.moveaxis(fnp.tensordot(x, w, axes=([d], [0])), -1, d)
    return x


def _inexact(x):
    x = fnp.asarray(x)
    if not fnp.issubdtype(x.dtype, fnp.inexact):
        x = x.astype(fnp.float32)
    return x


def _method(method):
    if isinstance(method, str):
        return ResizeMethod.from_string(method)
    if not isinstance(method, ResizeMethod):
        raise TypeError(f"image: method must be a string or a ResizeMethod, got {method!r}")
    return method


def _shape(shape, image):
    shape = tuple(int(s) for s in shape)
    if len(shape) != image.ndim:
        raise ValueError(f"shape must have length equal to the number of dimensions of x;  "
                         f"{shape} vs {image.shape}")
    return shape


def scale_and_translate(image, shape: Sequence[int], spatial_dims: Sequence[int], scale,
                        translation, method, antialias: bool = True, precision=None):
    """JAX's `jax.image.scale_and_translate`: resample `image` to `shape`, mapping input
    location x of each of `spatial_dims` to x * scale + translation (half-centred pixels;
    samples outside the input are zero). 'nearest' is not supported, as in JAX.
    `precision` is accepted and ignored (funcgrad's float32 contractions are exact
    float32)."""
    image = fnp.asarray(image)
    shape = _shape(shape, image)
    method = _method(method)
    if method == ResizeMethod.NEAREST:
        raise ValueError("Nearest neighbor resampling is not currently supported for "
                         "scale_and_translate.")
    if method == ResizeMethod.CUBIC_PYTORCH and antialias:
        method = ResizeMethod.CUBIC
    radius, kernel = _KERNELS[method]
    image = _inexact(image)
    scale, translation = _inexact(scale), _inexact(translation)
    dt = fnp.result_type(scale, translation)
    scale, translation = scale.astype(dt), translation.astype(dt)
    spatial_dims = tuple(spatial_dims)
    if len(spatial_dims) != scale.shape[0] or len(spatial_dims) != translation.shape[0]:
        raise ValueError("scale_and_translate: scale and translation need one entry per "
                         "spatial dimension")
    return _scale_and_translate(image, shape, spatial_dims, [scale[i] for i in
                                                             range(len(spatial_dims))],
                                [translation[i] for i in range(len(spatial_dims))], kernel,
                                antialias, method == ResizeMethod.CUBIC_PYTORCH and
                                not antialias, radius)


def _resize_nearest(x, shape):
    for d in range(x.ndim):
        m, n = x.shape[d], shape[d]
        if m == n:
            continue
        offsets = np.floor((np.arange(n, dtype=np.float32) + np.float32(0.5))
                           * np.float32(m) / np.float32(n)).astype(np.int32)
        index = [slice(None)] * x.ndim
        index[d] = fnp.asarray(offsets)
        x = x[tuple(index)]
    return x


def resize(image, shape: Sequence[int], method, antialias: bool = True, precision=None):
    """JAX's `jax.image.resize`: `image` resampled to `shape` with `method` ('nearest',
    'linear'/'bilinear'/'trilinear'/'triangle', 'cubic'/'bicubic'/'tricubic',
    'cubic-pytorch', 'lanczos3', 'lanczos5', 'area', or a `ResizeMethod`). With
    `antialias` (the default) downsampling widens the kernel by the scale factor, as
    JAX's. Dimensions whose size does not change are left alone; integer images give
    float32 (except with 'nearest')."""
    image = fnp.asarray(image)
    shape = _shape(shape, image)
    method = _method(method)
    if method == ResizeMethod.NEAREST:
        return _resize_nearest(image, shape)
    image = _inexact(image)
    spatial_dims = tuple(i for i in range(len(shape)) if image.shape[i] != shape[i])
    if method == ResizeMethod.CUBIC_PYTORCH and antialias:
        method = ResizeMethod.CUBIC
    radius, kernel = _KERNELS[method]
    scale = [1.0 if shape[d] == 0 else shape[d] / image.shape[d] for d in spatial_dims]
    return _scale_and_translate(image, shape, spatial_dims, scale, [0.0] * len(spatial_dims),
                                kernel, antialias,
                                method == ResizeMethod.CUBIC_PYTORCH and not antialias,
                                radius)


# As JAX jits these: one compiled call per signature once its eager calls have cost what
# building the program does (a resize is a few hundred eager operations).
resize = compile_when_it_pays(resize)
scale_and_translate = compile_when_it_pays(scale_and_translate)
