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

from funcgrad import lax
from funcgrad import numpy as fnp
from funcgrad.nn import initializers

__all__ = [
    "celu",
    "elu",
    "gelu",
    "glu",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "initializers",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "logsumexp",
    "normalize",
    "one_hot",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_sign",
    "softmax",
    "softplus",
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
    """max(x, 0); its derivative at 0 is 0, as in JAX."""
    x = fnp.asarray(x)
    return fnp.where(x > 0, x, fnp.zeros_like(x))


def relu6(x):
    """min(max(x, 0), 6); derivative 0 at both kinks, as in JAX."""
    x = fnp.asarray(x)
    return fnp.where(x > 0, fnp.where(x < 6, x, fnp.full_like(x, 6)), fnp.zeros_like(x))


def sigmoid(x):
    """The logistic function 1 / (1 + exp(-x)), finite with finite gradients for every x."""
    x = fnp.asarray(x)
    e = fnp.exp(-_abs(x))
    return fnp.where(x >= 0, fnp.ones_like(e), e) / (1 + e)


def hard_sigmoid(x):
    """relu6(x + 3) / 6."""
    return relu6(fnp.asarray(x) + 3) / 6


def softplus(x):
    """log(1 + exp(x)), computed without overflow."""
    x = fnp.asarray(x)
    return relu(x) + fnp.log1p(fnp.exp(-_abs(x)))


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
    if approximate:
        # 0.5 * (1 + tanh(u)) == sigmoid(2u), without the cancellation for very negative x.
        c = 2 * math.sqrt(2 / math.pi)
        return x * sigmoid(c * (x + 0.044715 * (x * x * x)))
    return 0.5 * x * _erfc(x * (-1 / math.sqrt(2)))


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    x = fnp.asarray(x)
    safe_x = fnp.where(x > 0, fnp.zeros_like(x), x)
    return fnp.where(x > 0, x, alpha * fnp.expm1(safe_x))


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: max(x, 0) + alpha * expm1(min(x, 0) / alpha)."""
    x = fnp.asarray(x)
    safe_x = fnp.where(x > 0, fnp.zeros_like(x), x)
    return fnp.where(x > 0, x, alpha * fnp.expm1(safe_x / alpha))


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
    m = fnp.max(x, axis=axis, keepdims=True)
    m = fnp.where(fnp.isfinite(m), m, fnp.zeros_like(m))
    return lax.stop_gradient(m)


def softmax(x, axis=-1, where=None):
    """exp(x) / sum(exp(x)) over `axis`; entries masked out by `where` get 0."""
    x = _masked(fnp.asarray(x), where, -np.inf)
    unnormalized = fnp.exp(x - _safe_max(x, axis))
    out = unnormalized / fnp.sum(unnormalized, axis=axis, keepdims=True)
    return _masked(out, where, 0)


def log_softmax(x, axis=-1, where=None):
    """x - logsumexp(x) over `axis`; `-inf` inputs give `-inf` (not NaN)."""
    x = _masked(fnp.asarray(x), where, -np.inf)
    shifted = x - _safe_max(x, axis)
    out = shifted - fnp.log(fnp.sum(fnp.exp(shifted), axis=axis, keepdims=True))
    return _masked(out, where, -np.inf)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """log(sum(b * exp(a))) over `axis`, stable for large values and `-inf` entries.

    With `return_sign=True` returns `(log|sum|, sign(sum))`; otherwise a negative sum gives NaN,
    as in `jax.nn.logsumexp`."""
    a = _masked(fnp.asarray(a), where, -np.inf)
    if b is not None:
        b = fnp.asarray(b)
        a, b = fnp.broadcast_arrays(a, b)
        b = _masked(b, where, 0)
    amax = _safe_max(a, axis)
    exp_a = fnp.exp(a - amax)
    if b is not None:
        exp_a = exp_a * b
    sumexp = fnp.sum(exp_a, axis=axis, keepdims=True)
    sign = fnp.sign(sumexp)
    out = fnp.log(fnp.abs(sumexp)) + amax
    if not keepdims:
        out = fnp.squeeze(out, axis=axis)
        sign = fnp.squeeze(sign, axis=axis)
    if return_sign:
        return out, sign
    if b is not None:
        out = fnp.where(sign < 0, fnp.full_like(out, np.nan), out)
    return out


def one_hot(x, num_classes, *, dtype=np.float32, axis=-1):
    """One-hot encode integer `x` with `num_classes` classes along a new axis `axis`.

    Out-of-range values (negative or >= num_classes) encode as all zeros, as in JAX."""
    x = fnp.asarray(x)
    out_ndim = x.ndim + 1
    pos = axis % out_ndim
    lhs = fnp.expand_dims(x, pos)
    rhs_shape = [1] * out_ndim
    rhs_shape[pos] = num_classes
    rhs = fnp.reshape(fnp.arange(num_classes, dtype=x.dtype), tuple(rhs_shape))
    return (lhs == rhs).astype(dtype)


def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5, where=None):
    """(x - mean) / sqrt(variance + epsilon), statistics over `axis` unless given."""
    x = fnp.asarray(x)
    if mean is None:
        mean = fnp.mean(x, axis=axis, keepdims=True, where=where) if where is not None \
            else fnp.mean(x, axis=axis, keepdims=True)
    if variance is None:
        centred = fnp.square(x - mean)
        variance = fnp.mean(centred, axis=axis, keepdims=True, where=where) \
            if where is not None else fnp.mean(centred, axis=axis, keepdims=True)
    return (x - mean) / fnp.sqrt(variance + epsilon)


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
