"""Neural-network functions, as `jax.nn`: activations, softmax and friends, `one_hot`,
`standardize`, and the parameter initializers in `funcgrad.nn.initializers`.

Everything here is a traced composition of `funcgrad.numpy` / `funcgrad.lax` operations, so it
works under `grad`, `vmap` and `jit` on every backend. Piecewise functions use the double-`where`
trick so that the branch not taken never produces an inf or NaN that would leak into gradients.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from funcgrad import dtypes as _dt
from funcgrad import lax
from funcgrad import numpy as fnp
from funcgrad.numpy import _dtypes
from funcgrad.nn import initializers
from funcgrad.nn._scaled_dot import (
    BlockScaleConfig,
    get_scaled_dot_general_config,
    scaled_dot_general,
)

__all__ = [
    "BlockScaleConfig",
    "celu",
    "dot_product_attention",
    "elu",
    "gelu",
    "get_scaled_dot_general_config",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "identity",
    "initializers",
    "leaky_relu",
    "log1mexp",
    "log_sigmoid",
    "log_softmax",
    "logmeanexp",
    "logsumexp",
    "mish",
    "normalize",
    "one_hot",
    "relu",
    "relu6",
    "scaled_dot_general",
    "scaled_matmul",
    "selu",
    "sigmoid",
    "silu",
    "soft_sign",
    "softmax",
    "softplus",
    "sparse_plus",
    "sparse_sigmoid",
    "squareplus",
    "standardize",
    "swish",
    "tanh",
]

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _abs(x):
    # |x| written with `where` so its derivative at 0 is +1, matching the `x >= 0` branches below.
    return fnp.where(x >= 0, x, -x)


def relu(x):
    """max(x, 0); its derivative at 0 is 0 and NaN stays NaN, as in JAX."""
    x = fnp.asarray(x)
    return fnp.where(x <= 0, fnp.zeros_like(x), x)


def relu6(x):
    """min(max(x, 0), 6); derivative 0 at both kinks, NaN stays NaN, as in JAX. Integer
    and boolean inputs give (weakly typed) floats, as JAX's min(max(x, 0), 6.) does."""
    x = fnp.asarray(x)
    if not fnp.issubdtype(x.dtype, fnp.inexact):
        return fnp.minimum(fnp.maximum(x, 0), 6.0)
    return fnp.where(x <= 0, fnp.zeros_like(x), fnp.where(x >= 6, fnp.full_like(x, 6), x))


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)), finite with finite gradients for every x.

    One primitive, `lax.logistic`, as in JAX: its derivative is s * (1 - s) from the
    output alone, so a recurrent cell's forward pass keeps one residual per gate instead
    of the five intermediates of an exp/where/divide composition (the GRU step of issue
    15). Integers are promoted to float, as by `exp`."""
    (x,) = _dtypes._promote("sigmoid", x, to_float=True)
    return lax.logistic(x)


def hard_sigmoid(x):
    """relu6(x + 3) / 6."""
    return relu6(fnp.asarray(x) + 3) / 6


def softplus(x):
    """log(1 + exp(x)) = logaddexp(x, 0), computed without overflow; its derivative is
    sigmoid(x) everywhere (0.5 at 0, as JAX: no kink from a relu/abs split)."""
    x = fnp.asarray(x)
    # a weak 0, as JAX's logaddexp(x, 0): bool with it is a weak int, hence a weak float
    return fnp.logaddexp(x, 0)


def log_sigmoid(x):
    """log(sigmoid(x)) = -softplus(-x), accurate for large |x|."""
    return -softplus(-fnp.asarray(x))


def soft_sign(x):
    """x / (|x| + 1)."""
    x = fnp.asarray(x)
    return x / (fnp.abs(x) + 1)


def silu(x):
    """x * sigmoid(x) (also called swish)."""
    x = fnp.asarray(x)
    return x * sigmoid(x)


swish = silu


def hard_silu(x):
    """x * hard_sigmoid(x) (also called hard_swish)."""
    x = fnp.asarray(x)
    return x * hard_sigmoid(x)


hard_swish = hard_silu


def tanh(x):
    """Hyperbolic tangent."""
    return fnp.tanh(x)


def _erfc(x):
    erfc = getattr(lax, "erfc", None)
    if erfc is not None:
        return erfc(x)
    # Fallback while the core has no erfc: Numerical Recipes' erfcc (relative error < 1.2e-7).
    z = _abs(x)
    t = 1 / (1 + 0.5 * z)
    coeffs = (-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
              -1.13520398, 1.48851587, -0.82215223, 0.17087277)
    poly = coeffs[-1]
    for c in reversed(coeffs[:-1]):
        poly = c + t * poly
    ans = t * fnp.exp(-z * z + poly)
    return fnp.where(x >= 0, ans, 2 - ans)


def gelu(x, approximate: bool = True):
    """Gaussian error linear unit; `approximate=True` (JAX's default) uses the tanh form."""
    x = fnp.asarray(x)
    if not fnp.issubdtype(x.dtype, fnp.inexact):
        x = x.astype(_dt.to_inexact(x.dtype))      # JAX: int32 -> float32, strong
    if approximate:
        # 0.5 * (1 + tanh(u)) == sigmoid(2u), without the cancellation for very negative x.
        c = 2 * math.sqrt(2 / math.pi)
        return x * sigmoid(c * (x + 0.044715 * (x * x * x)))
    return 0.5 * x * _erfc(x * (-1 / math.sqrt(2)))


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise. An integer or bool `x` gives a weakly
    typed default float (float64 under x64), as JAX's where(x > 0, 0., x)."""
    x = fnp.asarray(x)
    # a weak 0.: an integer x with it is a weak float, as in JAX
    safe_x = fnp.where(x > 0, 0.0, x)
    return fnp.where(x > 0, x, alpha * fnp.expm1(safe_x))


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: max(x, 0) + alpha * expm1(min(x, 0) / alpha)."""
    # JAX's formula, whose ties give celu(-0.0) = +0.0
    x = fnp.asarray(x)
    return fnp.maximum(x, 0.0) + alpha * fnp.expm1(fnp.minimum(x, 0.0) / alpha)


def selu(x):
    """Scaled ELU with the self-normalising constants of Klambauer et al. (2017)."""
    return _SELU_SCALE * elu(x, _SELU_ALPHA)


def leaky_relu(x, negative_slope=1e-2):
    """x for x >= 0, negative_slope * x otherwise."""
    x = fnp.asarray(x)
    return fnp.where(x >= 0, x, negative_slope * x)


def hard_tanh(x):
    """x clipped to [-1, 1]."""
    x = fnp.asarray(x)
    return fnp.where(x > 1, fnp.ones_like(x), fnp.where(x < -1, -fnp.ones_like(x), x))


def _masked(x, where, fill):
    if where is None:
        return x
    return fnp.where(where, x, fnp.full_like(x, fill))


def _safe_max(x, axis):
    """max over `axis` (keepdims), replaced by 0 where not finite, outside the gradient."""
    # initial=-inf: an empty reduction is -inf (a logsumexp of nothing is log 0, as JAX)
    m = fnp.max(x, axis=axis, keepdims=True, initial=-np.inf)
    m = fnp.where(fnp.isfinite(m), m, fnp.zeros_like(m))
    return lax.stop_gradient(m)


def _shift_max(x, axis):
    """max over `axis` (keepdims), outside the gradient. Unlike `_safe_max` a +inf max is
    kept: as in JAX, a slice with a +inf entry gives NaN everywhere (inf - inf), not 0s and
    a NaN (fuzz finding; a -inf or NaN max gives NaN either way)."""
    axes = (axis,) if isinstance(axis, int) else tuple(range(x.ndim)) if axis is None else axis
    if any(x.shape[a] == 0 for a in axes):      # an empty axis: -inf (JAX's initial), and
        m = fnp.max(x, axis=axis, keepdims=True, initial=-np.inf)      # an empty softmax
    else:
        m = fnp.max(x, axis=axis, keepdims=True)
    return lax.stop_gradient(m)


def softmax(x, axis=-1, where=None):
    """exp(x) / sum(exp(x)) over `axis`; entries masked out by `where` get 0. A slice with a
    +inf entry gives NaN (JAX's rule)."""
    x = _masked(fnp.asarray(x), where, -np.inf)
    unnormalized = fnp.exp(x - _shift_max(x, axis))
    out = unnormalized / fnp.sum(unnormalized, axis=axis, keepdims=True)
    return _masked(out, where, 0)


def log_softmax(x, axis=-1, where=None):
    """x - logsumexp(x) over `axis`; `-inf` inputs give `-inf` (not NaN)."""
    x = _masked(fnp.asarray(x), where, -np.inf)
    shifted = x - _shift_max(x, axis)
    out = shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=axis, keepdims=True))
    return _masked(out, where, -np.inf)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """log(sum(b * exp(a))) over `axis`, stable for large values and `-inf` entries.

    With `return_sign=True` returns `(log|sum|, sign(sum))`; otherwise a negative sum gives NaN,
    as in `jax.nn.logsumexp`."""
    # JAX's promote_args_inexact: int32 -> float32 (a weak Python int -> a weak float)
    if b is None:
        (a,) = _dtypes._promote("logsumexp", a, to_float=True)
    else:
        a, b = _dtypes._promote("logsumexp", a, b, to_float=True)
    a = _masked(a, where, -np.inf)
    if b is not None:
        a, b = fnp.broadcast_arrays(a, b)
        b = _masked(b, where, 0)
        # a term with weight 0 is left out, as JAX's: an infinite `a` there gave 0 * inf
        # (NaN) in the sum, and its derivative is 0 (found by a sweep against JAX)
        a = fnp.where(b != 0, a, -np.inf)
    # complex: shifted by the largest real part, and the log of the complex sum (its phase
    # kept), as JAX's; it took log|sum|, so the imaginary part was the shift's alone
    cplx = _dt.is_complex(a.dtype)
    amax = _safe_max(fnp.real(a) if cplx else a, axis)
    exp_a = fnp.exp(a - amax)
    if b is not None:
        exp_a = exp_a * b
    sumexp = fnp.sum(exp_a, axis=axis, keepdims=True)
    sign = fnp.sign(sumexp)
    out = (fnp.log(sumexp) if cplx and not return_sign else fnp.log(fnp.abs(sumexp))) + amax
    if not keepdims:
        out = fnp.squeeze(out, axis=axis)
        sign = fnp.squeeze(sign, axis=axis)
    if return_sign:
        return out, sign
    if b is not None and not cplx:
        out = fnp.where(sign < 0, fnp.full_like(out, np.nan), out)
    return out


def one_hot(x, num_classes, *, dtype=None, axis=-1):
    """One-hot encode integer `x` with `num_classes` classes along a new axis `axis`, in
    `dtype` (default: the default float dtype).

    Out-of-range values (negative or >= num_classes) encode as all zeros, as in JAX."""
    x = fnp.asarray(x)
    if dtype is None:
        dtype = fnp.zeros(()).dtype
    out_ndim = x.ndim + 1
    pos = axis % out_ndim
    lhs = fnp.expand_dims(x, pos)
    rhs_shape = [1] * out_ndim
    rhs_shape[pos] = num_classes
    rhs = fnp.reshape(fnp.arange(num_classes, dtype=x.dtype), tuple(rhs_shape))
    return (lhs == rhs).astype(dtype)


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None, *,
                algorithm="stable"):
    """(x - mean) / sqrt(variance + epsilon), statistics over `axis` unless given.

    `algorithm="stable"` computes the variance as mean((x - mean)^2); `"fast"` as
    mean(x^2) - mean^2 (one pass, clipped at 0), as in JAX."""
    x = fnp.asarray(x)
    if algorithm not in ("stable", "fast"):
        raise ValueError(f"standardize: unknown algorithm {algorithm!r}; expected 'fast' or "
                         "'stable'")
    kw = {} if where is None else {"where": where}
    if mean is None:
        mean = fnp.mean(x, axis=axis, keepdims=True, **kw)
    if variance is None:
        if algorithm == "stable":
            variance = fnp.mean(fnp.square(x - mean), axis=axis, keepdims=True, **kw)
        else:
            variance = fnp.mean(fnp.square(x), axis=axis, keepdims=True, **kw) - \
                fnp.square(mean)
            variance = fnp.maximum(variance, fnp.zeros_like(variance))
    return (x - mean) * lax.rsqrt(variance + epsilon)


def normalize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None):
    """Deprecated alias of `standardize` (as in JAX)."""
    warnings.warn("funcgrad.nn.normalize is deprecated; use funcgrad.nn.standardize",
                  DeprecationWarning, stacklevel=2)
    return standardize(x, axis, mean, variance, epsilon, where)


def glu(x, axis=-1):
    """Gated linear unit: split `x` in two halves a, b along `axis`; a * sigmoid(b)."""
    x = fnp.asarray(x)
    size = x.shape[axis]
    if size % 2:
        raise ValueError(f"glu: axis {axis} of shape {x.shape} must have even size")
    a, b = fnp.split(x, 2, axis=axis)
    return a * sigmoid(b)


def identity(x):
    """x itself (as an array)."""
    return fnp.asarray(x)


def mish(x):
    """x * tanh(softplus(x)) (Misra, 2019)."""
    x = fnp.asarray(x)
    return x * fnp.tanh(softplus(x))


def squareplus(x, b=4):
    """(x + sqrt(x^2 + b)) / 2: a smooth, algebraic approximation of relu (So, 2021)."""
    x = fnp.asarray(x)
    return (x + fnp.sqrt(fnp.square(x) + b)) / 2


def sparse_plus(x):
    """0 for x <= -1, (x + 1)^2 / 4 for -1 < x < 1, x for x >= 1 (sparsemax's softplus)."""
    x = fnp.asarray(x)
    # weak float constants, as JAX's: an integer x gives a weak default float
    inside = fnp.square(x + 1.0) / 4
    return fnp.where(x <= -1, 0.0, fnp.where(x >= 1, x, inside))


def sparse_sigmoid(x):
    """The derivative of `sparse_plus`: 0 for x <= -1, (x + 1) / 2 between, 1 for x >= 1."""
    # JAX's formula: at x = +-1 clip's tie rule gives the derivative 0.25 (a select gave 0);
    # weak float constants, so that an integer x gives a weak default float
    return 0.5 * fnp.clip(fnp.asarray(x) + 1.0, 0.0, 2.0)


def log1mexp(x):
    """log(1 - exp(-x)) for x >= 0, accurate at both ends (log1p(-exp(-x)) above log 2,
    log(-expm1(-x)) below, Maechler 2012); -inf at 0, NaN below 0, as in JAX."""
    x = fnp.asarray(x)
    big = x > math.log(2)
    # Each branch sees a safe argument so that the untaken one cannot make a NaN gradient.
    x_big = fnp.where(big, x, fnp.ones_like(x))
    x_small = fnp.where(big, fnp.ones_like(x), x)
    return fnp.where(big, fnp.log1p(-fnp.exp(-x_big)), fnp.log(-fnp.expm1(-x_small)))


def logmeanexp(x, axis=None, where=None, keepdims=False):
    """log(mean(exp(x))) over `axis` (entries where `where` is False left out), stable for
    large values."""
    x = fnp.asarray(x)
    lse = logsumexp(x, axis=axis, keepdims=keepdims, where=where)
    if where is None:
        count = fnp.ones_like(x)
    else:
        count = fnp.broadcast_to(fnp.asarray(where), x.shape).astype(x.dtype)
    n = fnp.sum(count, axis=axis, keepdims=keepdims)
    return lse - fnp.log(n)


def _ensure_4d(t):
    t = fnp.asarray(t)
    if t.ndim < 4:
        t = fnp.reshape(t, (1,) * (4 - t.ndim) + t.shape)
    return t


def dot_product_attention(query, key, value, bias=None, mask=None, *, scale=None,
                          is_causal=False, query_seq_lengths=None,
                          key_value_seq_lengths=None, local_window_size=None,
                          implementation=None, return_residual=False):
    """Scaled dot-product attention, as `jax.nn.dot_product_attention`:
    softmax(q k^T * scale + bias, masked) v.

    Shapes (B batch, T/S query/key length, N query heads, K key/value heads, H head size):
    `query` (B, T, N, H), `key` and `value` (B, S, K, H), where N is a multiple of K
    (grouped-query attention); the batch axis may be left out. `bias` and a boolean `mask`
    (True = attend) broadcast to (B, N, T, S). `scale` defaults to 1/sqrt(H); `is_causal`
    masks future keys; `query_seq_lengths`/`key_value_seq_lengths` (B,) mask padding;
    `local_window_size` (left, right) or an int keeps keys within that distance. Masked
    logits get a large negative value (rows masked entirely average the values, as in
    JAX). The softmax runs in float32. `return_residual=True` also returns the logsumexp
    of the logits, (B, T, N). `implementation` may be None or "xla" (the same computation
    here); "cudnn" is not available."""
    if implementation not in (None, "xla"):
        raise ValueError(f"dot_product_attention: implementation {implementation!r} is not "
                         "available in funcgrad; use None (or 'xla')")
    out_shape = fnp.asarray(query).shape
    q, k, v = _ensure_4d(query), _ensure_4d(key), _ensure_4d(value)
    B, S, K, H = k.shape
    if v.shape != k.shape or q.ndim != 4 or q.shape[0] != B or q.shape[3] != H:
        raise ValueError(f"dot_product_attention: query {q.shape}, key {k.shape} and value "
                         f"{v.shape} must be (B, T, N, H), (B, S, K, H) and (B, S, K, H)")
    if k.dtype != v.dtype or q.dtype != k.dtype:
        raise ValueError(f"dot_product_attention: query, key and value must have one dtype, "
                         f"got {q.dtype}, {k.dtype}, {v.dtype}")
    T, N = q.shape[1], q.shape[2]
    if N % K:
        raise ValueError(f"dot_product_attention: the number of query heads ({N}) must be a "
                         f"multiple of the number of key/value heads ({K})")
    G = N // K
    scale = 1.0 / math.sqrt(H) if scale is None else scale
    logits_dtype = np.promote_types(q.dtype, np.float32)
    # Query heads grouped per key/value head: (B, T, K, G, H). The logits of bfloat16 or
    # float16 inputs accumulate in float32 and stay there (JAX's preferred_element_type),
    # never rounded to the input type.
    qg = fnp.reshape(q, (B, T, K, G, H))
    logits = fnp.einsum("BTKGH,BSKH->BKGTS", qg, k, preferred_element_type=logits_dtype)
    logits = logits * fnp.asarray(scale, logits_dtype)
    if bias is not None:
        logits = (logits + _grouped(_ensure_4d(bias), B, K, G, T, S, "bias")).astype(
            logits_dtype)
    keep = None
    if mask is not None:
        m = _ensure_4d(mask)
        if m.dtype != np.bool_:
            raise ValueError(f"dot_product_attention: mask must be boolean, got {m.dtype}")
        keep = _grouped(m, B, K, G, T, S, "mask")
    if is_causal:
        keep = _and(keep, fnp.tril(fnp.ones((T, S), dtype=bool)))
    if local_window_size is not None:
        left, right = (local_window_size, local_window_size) \
            if isinstance(local_window_size, int) else local_window_size
        qpos = fnp.arange(T)[:, None]
        kpos = fnp.arange(S)[None, :]
        keep = _and(keep, (qpos <= kpos + left) & (qpos >= kpos - right))
    if query_seq_lengths is not None:
        qlen = fnp.asarray(query_seq_lengths)
        keep = _and(keep, (fnp.arange(T)[None, :] < qlen[:, None])[:, None, None, :, None])
    if key_value_seq_lengths is not None:
        kvlen = fnp.asarray(key_value_seq_lengths)
        keep = _and(keep, (fnp.arange(S)[None, :] < kvlen[:, None])[:, None, None, None, :])
    if keep is not None:
        big_negative = -0.7 * min(float(np.finfo(logits_dtype).max),
                                  float(np.finfo(np.float32).max))
        logits = fnp.where(keep, logits, fnp.asarray(big_negative, logits_dtype))
    logits32 = logits.astype(np.float32)
    probs = softmax(logits32, axis=-1).astype(k.dtype)
    encoded = fnp.einsum("BKGTS,BSKH->BTKGH", probs, v)
    if query_seq_lengths is not None:
        valid = fnp.arange(T)[None, :] < fnp.asarray(query_seq_lengths)[:, None]
        encoded = encoded * valid[:, :, None, None, None].astype(encoded.dtype)
    encoded = fnp.reshape(encoded, out_shape)
    if return_residual:
        lse = logsumexp(logits32, axis=-1).astype(k.dtype)             # (B, K, G, T)
        lse = fnp.reshape(fnp.transpose(lse, (0, 3, 1, 2)), (B, T, N))
        return encoded, lax.stop_gradient(lse)
    return encoded


def _and(keep, m):
    return m if keep is None else fnp.logical_and(keep, m)


def _grouped(t, B, K, G, T, S, what):
    """A (B or 1, N or 1, T or 1, S or 1) bias/mask as (B or 1, K, G, T, S)-broadcastable."""
    tb, tn, tt, ts = t.shape
    if tb not in (1, B) or tt not in (1, T) or ts not in (1, S) or tn not in (1, K * G):
        raise ValueError(f"dot_product_attention: {what} of shape {t.shape} does not "
                         f"broadcast to (B, N, T, S) = ({B}, {K * G}, {T}, {S})")
    if tn == 1:
        return fnp.reshape(t, (tb, 1, 1, tt, ts))
    return fnp.reshape(t, (tb, K, G, tt, ts))


def scaled_matmul(lhs, rhs, lhs_scales, rhs_scales, preferred_element_type=np.float32):
    """Block-scaled batched matmul, as `jax.nn.scaled_matmul`: `lhs` (B, M, K) and `rhs`
    (B, N, K) are multiplied block-wise by `lhs_scales` (B, M, K // block) and `rhs_scales`
    (B, N, K // block) along the contracting axis, then contracted: out (B, M, N) =
    sum_k lhs[b, m, k] lhs_scale[b, m, k // block] rhs[b, n, k] rhs_scale[b, n, k // block],
    in `preferred_element_type`."""
    lhs, rhs = fnp.asarray(lhs), fnp.asarray(rhs)
    ls, rs = fnp.asarray(lhs_scales), fnp.asarray(rhs_scales)
    if lhs.ndim != 3 or rhs.ndim != 3 or ls.ndim != 3 or rs.ndim != 3 or \
            lhs.shape[2] != rhs.shape[2] or lhs.shape[0] != rhs.shape[0]:
        raise ValueError(f"scaled_matmul: expected lhs (B, M, K), rhs (B, N, K) and 3-D "
                         f"scales, got {lhs.shape}, {rhs.shape}, {ls.shape}, {rs.shape}")
    kdim = lhs.shape[2]
    for name, x, sc in (("lhs", lhs, ls), ("rhs", rhs, rs)):
        if sc.shape[:2] != x.shape[:2] or sc.shape[2] == 0 or kdim % sc.shape[2]:
            raise ValueError(f"scaled_matmul: {name}_scales {sc.shape} must be "
                             f"{x.shape[:2] + ('K // block',)} with K = {kdim} a multiple of "
                             "its last axis")
    out_dt = np.dtype(preferred_element_type)
    a = lhs.astype(out_dt) * fnp.repeat(ls.astype(out_dt), kdim // ls.shape[2], axis=2)
    b = rhs.astype(out_dt) * fnp.repeat(rs.astype(out_dt), kdim // rs.shape[2], axis=2)
    return fnp.einsum("bmk,bnk->bmn", a, b)
