"""Block-scaled dot products: `scaled_dot_general` and `get_scaled_dot_general_config`, as
`jax.nn`'s. Each operand is quantised per block of its contracting axis to a narrow float
(mxfp8: float8_e4m3fn values with one power-of-two float8_e8m0fnu scale per 32 of them;
nvfp4: float4_e2m1fn values with one float8_e4m3fn scale per 16 and a float32 global
scale), then the dequantised operands are contracted in float32.

The quantisation follows JAX's rule (jax/_src/cudnn/scaled_matmul_stablehlo.py) step for
step, so the quantised operands are JAX's bit for bit. JAX itself only lowers the block-
scaled matmul for GPUs (cuDNN); here it is the float32 dot of the dequantised operands
(each product `q * scale` is exact in float32), which is what cuDNN computes up to the
order of its float32 sums. The gradient is JAX's custom VJP: the cotangent is quantised
with the third config and multiplied with the other operand quantised along its kept axes.
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import Any

import numpy as np

from funcgrad import api, dtypes, lax
from funcgrad import numpy as fnp

_OUT_DTYPES = (dtypes.float32, dtypes.bfloat16, dtypes.float16)


@dataclasses.dataclass(slots=True)
class BlockScaleConfig:
    """How `scaled_dot_general` quantises one operand (JAX's `BlockScaleConfig`): `mode`
    ('mxfp8' or 'nvfp4'), values per scale (`block_size`), the quantised values' dtype
    (`data_type`), the scales' dtype (`scale_type`), nvfp4's float32 `global_scale` of shape
    (1,) (None for mxfp8), and `infer_only` (kept for JAX's signature; unused, as in JAX)."""
    mode: str
    block_size: int
    data_type: Any
    scale_type: Any
    global_scale: Any
    infer_only: bool


def get_scaled_dot_general_config(mode, global_scale=None) -> BlockScaleConfig:
    """The quantisation config for `mode` (JAX's `jax.nn.get_scaled_dot_general_config`):
    'mxfp8' -> blocks of 32 float8_e4m3fn values with a float8_e8m0fnu scale; 'nvfp4' ->
    blocks of 16 float4_e2m1fn values with a float8_e4m3fn scale, `global_scale` a float32
    array of shape (1,) (default ones). Any other mode raises ValueError."""
    if mode == "nvfp4":
        one = fnp.ones((1,), dtype=np.float32)
        return BlockScaleConfig(mode="nvfp4", block_size=16, data_type=fnp.float4_e2m1fn,
                                scale_type=fnp.float8_e4m3fn,
                                global_scale=one if global_scale is None else global_scale,
                                infer_only=False)
    if mode == "mxfp8":
        return BlockScaleConfig(mode="mxfp8", block_size=32, data_type=fnp.float8_e4m3fn,
                                scale_type=fnp.float8_e8m0fnu, global_scale=None,
                                infer_only=False)
    raise ValueError(f"Unsupported mode: {mode} (get_scaled_dot_general_config takes "
                     "'mxfp8' or 'nvfp4')")


# ---------------------------------------------------------------------------------------
# Quantisation


def _normalize(x, contract, batch):
    """`x` transposed to (batch axes, kept axes, contracting axes), each group in axis
    order, and reshaped to (B, M, K) (JAX's `shape_normalization`)."""
    axes = range(x.ndim)
    b = [d for d in axes if d in batch]
    m = [d for d in axes if d not in contract and d not in batch]
    k = [d for d in axes if d in contract]
    size = lambda ds: int(np.prod([x.shape[d] for d in ds], dtype=np.int64))  # noqa: E731
    return fnp.reshape(fnp.transpose(x, b + m + k), (size(b), size(m), size(k)))


def _dot_shape(lhs_shape, rhs_shape, lhs_dn, rhs_dn):
    """dot_general's output shape: batch axes, lhs's kept axes, rhs's kept axes."""
    (lc, lb), (rc, rb) = lhs_dn, rhs_dn
    return (tuple(d for i, d in enumerate(lhs_shape) if i in lb) +
            tuple(d for i, d in enumerate(lhs_shape) if i not in lc and i not in lb) +
            tuple(d for i, d in enumerate(rhs_shape) if i not in rc and i not in rb))


def _e8m0_code(s):
    """JAX's `cast_to_e8m0_with_rounding_up` of the float32 values `s` (>= 0 or NaN): the
    biased exponent of the power of two at or above `s` (the float32 exponent, plus one
    when the mantissa is not zero, except in the top binade), 0 for `s` <= 2**-127, 1 for
    larger subnormals, 255 for inf and 0 for NaN (JAX's uint8 wraps 256 to 0)."""
    s = s.astype(np.float32)
    mant, ex = fnp.frexp(s)                      # s = mant * 2**ex, mant in [0.5, 1)
    biased = ex.astype(np.int32) + 126
    exact = mant == np.float32(0.5)
    code = fnp.where(exact | (biased == 254), biased, biased + 1)
    sub = fnp.where(s > np.float32(2.0 ** -127), 1, 0)
    code = fnp.where(s < np.float32(2.0 ** -126), sub, code)
    code = fnp.where(fnp.isinf(s), 255, code)
    return fnp.where(fnp.isnan(s), 0, code).astype(np.int32)


_TABLES: dict = {}


def _e8m0_values(dtype, near_zero) -> np.ndarray:
    """2**(e - 127) for each code e in float32 (e = 255: inf), code 0 (float32 bits 0)
    replaced by `near_zero`, as JAX's `e8m0_to_dtype`; then rounded to `dtype`."""
    key = (np.dtype(dtype), near_zero)
    table = _TABLES.get(key)
    if table is None:
        with np.errstate(over="ignore"):
            wide = np.ldexp(np.float32(1), np.arange(256, dtype=np.int32) - 127)
            wide = wide.astype(np.float32)
            wide[0] = near_zero
            table = _TABLES[key] = wide.astype(dtype)
        table.flags.writeable = False
    return table


def _quantize(x, config, what="an operand"):
    """JAX's `quantize`: `x` (B, M, K) as `config.data_type` values (B, M, K) and their
    scales' values as float32 (B, M, K // block_size)."""
    bshape, k, bs = x.shape, x.shape[-1], config.block_size
    if k < bs or k % bs:
        raise ValueError(f"scaled_dot_general: the contracting size {k} of {what} "
                         f"(normalised to {tuple(bshape)}) must be a positive multiple of "
                         f"the {config.mode} block size {bs}")
    x = fnp.reshape(x, bshape[:-1] + (k // bs, bs))
    top = np.asarray(dtypes.finfo(config.data_type).max).astype(x.dtype)

    def block_scales(v):
        return fnp.max(fnp.abs(v), axis=-1, keepdims=True) / top

    if config.mode == "mxfp8":
        if config.global_scale is not None or \
                np.dtype(config.scale_type) != dtypes.float8_e8m0fnu:
            raise ValueError("scaled_dot_general: an mxfp8 config has scale_type "
                             "float8_e8m0fnu and no global_scale")
        code = _e8m0_code(block_scales(x))
        near_zero = 2.0 ** -15 if x.dtype == dtypes.float16 else 2.0 ** -127
        divisor = fnp.take(fnp.asarray(_e8m0_values(x.dtype, near_zero)), code)
        scaled = x / divisor
        # the scale's own value: float8_e8m0fnu code e is 2**(e - 127), 255 is NaN
        scale_values = fnp.take(fnp.asarray(_e8m0_values(np.float32, 2.0 ** -127)), code)
        scale_values = fnp.where(code == 255, np.float32(np.nan), scale_values)
    elif config.mode == "nvfp4":
        gs = fnp.asarray(config.global_scale)
        if np.dtype(config.scale_type) != dtypes.float8_e4m3fn or gs.dtype != dtypes.float32:
            raise ValueError("scaled_dot_general: an nvfp4 config has scale_type "
                             "float8_e4m3fn and a float32 global_scale")
        scale_top = np.asarray(dtypes.finfo(config.scale_type).max).astype(x.dtype)
        x = x / gs
        scales = fnp.clip(block_scales(x), 0, scale_top).astype(config.scale_type)
        scale_values = scales.astype(np.float32)
        scaled = x / scale_values
    else:
        raise ValueError(f"Unrecognized mode: {config.mode}.")
    q = fnp.clip(scaled, -top, top).astype(config.data_type)
    return fnp.reshape(q, bshape), fnp.reshape(scale_values, scale_values.shape[:-1])


def _scaled_matmul(x, y, x_config, y_config, out_dtype, what=("lhs", "rhs")):
    """(B, M, K) x (B, N, K) -> (B, M, N): both quantised, then the float32 dot of the
    dequantised values, rounded once to `out_dtype`."""
    xq, xs = _quantize(x, x_config, what[0])
    yq, ys = _quantize(y, y_config, what[1])
    xd = xq.astype(np.float32) * fnp.repeat(xs, x_config.block_size, axis=2)
    yd = yq.astype(np.float32) * fnp.repeat(ys, y_config.block_size, axis=2)
    out = lax.dot_general(xd, yd, (((2,), (2,)), ((0,), (0,))),
                          preferred_element_type=np.float32)
    return out.astype(out_dtype)


# ---------------------------------------------------------------------------------------
# The operation and its VJP


def _impl(lhs, rhs, dimension_numbers, preferred_element_type, configs):
    (lc, rc), (lb, rb) = dimension_numbers
    lhs3 = _normalize(lhs, lc, lb)
    rhs3 = _normalize(rhs, rc, rb)
    nvfp4 = configs[0].mode == "nvfp4"
    out = _scaled_matmul(lhs3, rhs3, configs[0], configs[1],
                         np.float32 if nvfp4 else preferred_element_type)
    if nvfp4:
        out = out * (fnp.asarray(configs[0].global_scale) *
                     fnp.asarray(configs[1].global_scale))
        out = out.astype(preferred_element_type)
    return fnp.reshape(out, _dot_shape(lhs.shape, rhs.shape, (lc, lb), (rc, rb)))


def _transpose_lhs(g, x, y, dimension_numbers, preferred_element_type, configs,
                   swap_ans=False):
    """The cotangent of `x` in `dot_general(x, y)` (of `y` with `swap_ans`, the operands'
    roles exchanged): `g` and `y` contracted over `y`'s kept axes, both block-quantised
    (JAX's `scaled_dot_general_transpose_lhs`; nvfp4 cotangents are not quantised)."""
    (xc, yc), (xb, yb) = dimension_numbers
    x_kept = [i for i in range(x.ndim) if i not in xc and i not in xb]
    y_kept = [i for i in range(y.ndim) if i not in yc and i not in yb]
    nb = len(xb)
    ans_batch = list(range(nb))
    if swap_ans:
        ans_y = list(range(nb, nb + len(y_kept)))
    else:
        ans_y = list(range(nb + len(x_kept), nb + len(x_kept) + len(y_kept)))
    xc_by_y = [xc[i] for i in np.argsort(yc)]
    out_axes = tuple(int(a) for a in np.argsort(list(xb) + x_kept + xc_by_y))
    y3 = _normalize(y, y_kept, yb)
    g3 = _normalize(g, ans_y, ans_batch)
    if configs[0].mode != "nvfp4":
        # the gradient contracts over the other operand's kept axes: they are blocked too
        what = ("the cotangent in the gradient", "an operand's kept axes in the gradient")
        out = _scaled_matmul(g3, y3, configs[0], configs[1], preferred_element_type, what)
    else:
        out = lax.dot_general(g3, y3, (((2,), (2,)), ((0,), (0,))),
                              preferred_element_type=preferred_element_type)
    shape = _dot_shape(g.shape, y.shape, (ans_y, ans_batch), (y_kept, yb))
    return lax.transpose(fnp.reshape(out, shape), out_axes)


def _scaled_dot_fn(lhs, rhs, dimension_numbers, preferred_element_type, configs):
    return _impl(lhs, rhs, dimension_numbers, preferred_element_type, configs)


def _scaled_dot_fwd(lhs, rhs, dimension_numbers, preferred_element_type, configs):
    return _impl(lhs, rhs, dimension_numbers, preferred_element_type, configs), (lhs, rhs)


def _scaled_dot_bwd(dimension_numbers, preferred_element_type, configs, res, g):
    lhs, rhs = res
    (xc, yc), (xb, yb) = dimension_numbers
    grad_lhs = _transpose_lhs(g, lhs, rhs, dimension_numbers, preferred_element_type,
                              [configs[2], configs[1]])
    grad_rhs = _transpose_lhs(g, rhs, lhs, ((yc, xc), (yb, xb)), preferred_element_type,
                              [configs[2], configs[0]], swap_ans=True)
    if configs[2].mode == "nvfp4":
        # JAX's straight-through estimator: no gradient where quantisation clipped the input
        top = np.asarray(dtypes.finfo(configs[0].data_type).max).astype(lhs.dtype)
        scale_top = np.asarray(dtypes.finfo(configs[0].scale_type).max).astype(lhs.dtype)
        grad_lhs = fnp.where(fnp.abs(lhs) <= configs[0].global_scale * top * scale_top,
                             grad_lhs, 0)
        grad_rhs = fnp.where(fnp.abs(rhs) <= configs[1].global_scale * top * scale_top,
                             grad_rhs, 0)
    return grad_lhs, grad_rhs


_scaled_dot = api.custom_vjp(_scaled_dot_fn, nondiff_argnums=(2, 3, 4))
_scaled_dot.defvjp(_scaled_dot_fwd, _scaled_dot_bwd)


def _as_tuples(dimension_numbers):
    (lc, rc), (lb, rb) = dimension_numbers
    return (tuple(int(d) for d in lc), tuple(int(d) for d in rc)), \
        (tuple(int(d) for d in lb), tuple(int(d) for d in rb))


def scaled_dot_general(lhs, rhs, dimension_numbers, preferred_element_type=np.float32,
                       configs: list | None = None, implementation=None):
    """`lax.dot_general` of block-quantised operands (JAX's `jax.nn.scaled_dot_general`):
    `lhs` and `rhs` are quantised along their contracting axes with `configs[0]` and
    `configs[1]` (see `get_scaled_dot_general_config`; their contracting size must be a
    multiple of the block size), then contracted in float32 and returned in
    `preferred_element_type` (float32, bfloat16 or float16). The gradient quantises the
    cotangent with `configs[2]`, as JAX's custom VJP. `configs=None` is plain
    `lax.dot_general`, as in JAX; `implementation` is ignored (JAX deprecated it)."""
    if implementation is not None:
        warnings.warn("Backend selector, now ignored. The system chooses the backend "
                      "automatically.", DeprecationWarning, stacklevel=2)
    if configs is None:
        return lax.dot_general(lhs, rhs, dimension_numbers,
                               preferred_element_type=preferred_element_type)
    pet = np.dtype(preferred_element_type)
    if pet not in _OUT_DTYPES:
        raise TypeError("scaled_dot_general: only support preferred_element_type in (f32, "
                        f"bf16, f16), but got {pet}")
    if len(configs) != 3:
        raise ValueError(f"scaled_dot_general: configs holds 3 BlockScaleConfigs (lhs, rhs, "
                         f"cotangent), got {len(configs)}")
    lhs, rhs = fnp.asarray(lhs), fnp.asarray(rhs)
    dn = _as_tuples(dimension_numbers)
    (lc, rc), (lb, rb) = dn
    # No batch axis: a trailing axis of size 1 becomes one, squeezed from the result.
    if lb == ():
        lhs, lb = fnp.expand_dims(lhs, lhs.ndim), (lhs.ndim,)
    if rb == ():
        rhs, rb = fnp.expand_dims(rhs, rhs.ndim), (rhs.ndim,)
    batched = ((lc, rc), (lb, rb))
    out = _scaled_dot(lhs, rhs, batched, pet, list(configs))
    return fnp.squeeze(out, axis=0) if batched != dn else out
