"""Mixed-precision training: a dtype `Policy` (parameters, computation, outputs) and loss
scaling, with the names DeepMind's `jmp` library made familiar to JAX users.

The usual recipe keeps parameters and optimizer state in float32, computes in bfloat16 or
float16 and returns float32 outputs (`get_policy("p=f32,c=bf16,o=f32")`). bfloat16 has
float32's exponent range and needs nothing more. float16 gradients underflow below 2**-24, so
the loss is multiplied by a large scale before differentiating and the gradients divided by
it afterwards; `DynamicLossScale` adapts the scale as PyTorch's `GradScaler` does: it grows
by `factor` after `period` steps with finite gradients, and a step with an inf or NaN
gradient is skipped (`select_tree(all_finite(grads), new, old)`) and shrinks it.

Everything here is a pure function of pytrees: the loss scales are pytrees whose arrays are
their children, so they pass through `jit`, `grad` and `lax.scan` like any other state.
"""
from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np

from funcgrad import dtypes, lax
from funcgrad import numpy as fnp
from funcgrad.core import Array
from funcgrad.tree import register_pytree_node, tree_flatten, tree_leaves, tree_map

__all__ = [
    "DynamicLossScale",
    "NoOpLossScale",
    "Policy",
    "StaticLossScale",
    "all_finite",
    "cast_to_full",
    "cast_to_half",
    "get_policy",
    "select_tree",
]


# ---------------------------------------------------------------------------------------
# Casting pytrees


def _is_floating(x) -> bool:
    return isinstance(x, (Array, np.ndarray, np.generic)) and dtypes.is_float(x.dtype)


def _cast_leaf(x, dtype: np.dtype):
    if not _is_floating(x) or x.dtype == dtype:
        return x
    if isinstance(x, Array):
        return lax.convert_element_type(x, dtype)
    return np.asarray(x).astype(dtype)      # host data stays a NumPy array


def _cast_floating_to(tree, dtype):
    """`tree` with every floating-point array leaf cast to `dtype`; integer, boolean and
    non-array leaves (Python scalars, PRNG keys, ...) are left as they are."""
    dtype = np.dtype(dtype)
    return tree_map(lambda x: _cast_leaf(x, dtype), tree)


def cast_to_full(tree):
    """Every floating-point array leaf of `tree` as float32."""
    return _cast_floating_to(tree, dtypes.float32)


def cast_to_half(tree):
    """Every floating-point array leaf of `tree` as float16."""
    return _cast_floating_to(tree, dtypes.float16)


# ---------------------------------------------------------------------------------------
# Policies

_DTYPE_NAMES = {
    "float32": dtypes.float32, "f32": dtypes.float32, "full": dtypes.float32,
    "single": dtypes.float32,
    "bfloat16": dtypes.bfloat16, "bf16": dtypes.bfloat16,
    "float16": dtypes.float16, "f16": dtypes.float16, "half": dtypes.float16,
    "float64": dtypes.float64, "f64": dtypes.float64, "double": dtypes.float64,
}
_POLICY_KEYS = {"params": "param_dtype", "param": "param_dtype", "p": "param_dtype",
                "compute": "compute_dtype", "c": "compute_dtype",
                "output": "output_dtype", "o": "output_dtype"}


def _float_dtype(dtype, what: str) -> np.dtype:
    if isinstance(dtype, str) and dtype.strip().lower() in _DTYPE_NAMES:
        dtype = _DTYPE_NAMES[dtype.strip().lower()]
    try:
        dt = dtypes.canonicalize(dtype)
    except TypeError as e:
        raise ValueError(f"Policy: {what} {dtype!r} is not a dtype: {e}") from None
    if not dtypes.is_float(dt):
        raise ValueError(f"Policy: {what} must be a floating-point dtype (float32, bfloat16, "
                         f"float16, float64), got {dt}")
    return dt


@dataclasses.dataclass(frozen=True)
class Policy:
    """Which dtype parameters are kept in, computations run in, and outputs are returned
    in. Only floating-point leaves are cast: integer inputs, labels and PRNG keys pass
    through. A policy is a static (hashable) value, not a pytree."""
    param_dtype: Any
    compute_dtype: Any
    output_dtype: Any

    def __post_init__(self):
        for field in ("param_dtype", "compute_dtype", "output_dtype"):
            object.__setattr__(self, field, _float_dtype(getattr(self, field), field))

    def cast_to_param(self, tree):
        """`tree`'s floating-point leaves in `param_dtype`."""
        return _cast_floating_to(tree, self.param_dtype)

    def cast_to_compute(self, tree):
        """`tree`'s floating-point leaves in `compute_dtype`."""
        return _cast_floating_to(tree, self.compute_dtype)

    def cast_to_output(self, tree):
        """`tree`'s floating-point leaves in `output_dtype`."""
        return _cast_floating_to(tree, self.output_dtype)

    def with_output_dtype(self, output_dtype) -> Policy:
        """This policy with another output dtype."""
        return dataclasses.replace(self, output_dtype=output_dtype)

    def wrap(self, apply_fun):
        """`apply_fun(params, inputs, **kwargs)` (a stax `apply_fun`, or any function of
        that shape) run under this policy: params and inputs cast to `compute_dtype`, the
        outputs to `output_dtype`. Differentiating through the casts gives gradients in
        the dtype the params were passed in (float32 params: float32 gradients)."""
        @functools.wraps(apply_fun)
        def wrapped(params, inputs, **kwargs):
            out = apply_fun(self.cast_to_compute(params), self.cast_to_compute(inputs),
                            **kwargs)
            return self.cast_to_output(out)
        return wrapped

    def wrap_layer(self, layer):
        """A stax layer `(init_fun, apply_fun)` under this policy: `init_fun` returns params
        in `param_dtype`, `apply_fun` is `wrap(apply_fun)`."""
        init_fun, apply_fun = layer

        @functools.wraps(init_fun)
        def init(rng, input_shape):
            output_shape, params = init_fun(rng, input_shape)
            return output_shape, self.cast_to_param(params)
        return init, self.wrap(apply_fun)

    def __str__(self):
        return (f"p={dtypes.short_name(self.param_dtype)},"
                f"c={dtypes.short_name(self.compute_dtype)},"
                f"o={dtypes.short_name(self.output_dtype)}")


def get_policy(spec: str) -> Policy:
    """A policy from a string: `"params=float32,compute=bfloat16,output=float32"`, the short
    form `"p=f32,c=bf16,o=f32"`, or one dtype name for all three (`"bfloat16"`). Dtype
    names: float32/f32/full/single, bfloat16/bf16, float16/f16/half, float64/f64/double.
    A role left out is float32."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"get_policy: expected a string like 'p=f32,c=bf16,o=f32', got "
                         f"{spec!r}")
    if "=" not in spec:
        dt = _parse_name(spec, spec)
        return Policy(dt, dt, dt)
    chosen = {}
    for part in spec.split(","):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in _POLICY_KEYS:
            raise ValueError(f"get_policy: cannot read {part.strip()!r} in {spec!r}; expected "
                             "params=DTYPE, compute=DTYPE, output=DTYPE (or p=, c=, o=)")
        field = _POLICY_KEYS[key]
        if field in chosen:
            raise ValueError(f"get_policy: {field} is given twice in {spec!r}")
        chosen[field] = _parse_name(value, spec)
    return Policy(**{f: chosen.get(f, dtypes.float32)
                     for f in ("param_dtype", "compute_dtype", "output_dtype")})


def _parse_name(name: str, spec: str) -> np.dtype:
    dt = _DTYPE_NAMES.get(name.strip().lower())
    if dt is None:
        raise ValueError(f"get_policy: unknown dtype name {name.strip()!r} in {spec!r}; "
                         f"known: {', '.join(sorted(_DTYPE_NAMES))}")
    return dt


# ---------------------------------------------------------------------------------------
# Tree utilities for skipping steps


def all_finite(tree) -> Array:
    """A boolean scalar: True when no floating-point leaf of `tree` holds an inf or NaN."""
    leaves = [fnp.all(fnp.isfinite(x)) for x in tree_leaves(tree)
              if _is_floating(x) or isinstance(x, float)]
    if not leaves:
        return fnp.asarray(True)
    return fnp.all(fnp.stack(leaves))


def select_tree(pred, on_true, on_false):
    """`on_true` where the boolean scalar `pred` holds, else `on_false`, leaf by leaf (both
    trees must have one structure): under `jit`, the way to skip an update."""
    pred = fnp.asarray(pred)
    if pred.shape != () or pred.dtype != np.bool_:
        raise ValueError(f"select_tree: pred must be a boolean scalar, got {pred.dtype}"
                         f"{list(pred.shape)}")
    leaves_t, tree_t = tree_flatten(on_true)
    leaves_f, tree_f = tree_flatten(on_false)
    if tree_t != tree_f:
        raise ValueError(f"select_tree: the two trees differ in structure: {tree_t} vs "
                         f"{tree_f}")
    return tree_t.unflatten([fnp.where(pred, a, b) for a, b in zip(leaves_t, leaves_f)])


# ---------------------------------------------------------------------------------------
# Loss scaling


def _scale_leaf(x, factor):
    """`x * factor` computed in at least float32 and returned in `x`'s dtype."""
    if not _is_floating(x):
        return x
    x = fnp.asarray(x)
    wide = dtypes.promote_strong(x.dtype, dtypes.float32)
    y = lax.convert_element_type(x, wide) * lax.convert_element_type(factor, wide)
    return y if y.dtype == x.dtype else lax.convert_element_type(y, x.dtype)


def _as_scalar(value, dtype, what):
    """A Python or NumPy scalar as a 0-d array of `dtype` (checked positive and finite);
    arrays and tracers are kept as they are."""
    if isinstance(value, (bool, int, float, np.generic)) or (
            isinstance(value, np.ndarray) and value.ndim == 0):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{what} must be a positive finite number, got {value}")
        return fnp.asarray(value, dtype)
    return value


class NoOpLossScale:
    """No loss scaling (float32 or bfloat16 training): `scale` and `unscale` return their
    argument; `loss_scale` is 1."""

    @property
    def loss_scale(self):
        """1: nothing is scaled."""
        return 1

    def scale(self, tree):
        """`tree` itself."""
        return tree

    def unscale(self, tree):
        """`tree` itself."""
        return tree

    def adjust(self, grads_finite) -> NoOpLossScale:
        """This loss scale: it never changes."""
        return self

    def __repr__(self):
        return "NoOpLossScale()"


register_pytree_node(NoOpLossScale, lambda s: ((), None), lambda aux, children: NoOpLossScale())


class StaticLossScale:
    """A fixed loss scale: `scale(loss)` multiplies by it, `unscale(grads)` divides by it
    (in at least float32, returning each leaf's dtype)."""

    def __init__(self, loss_scale):
        self.loss_scale = _as_scalar(loss_scale, dtypes.float32,
                                     f"{type(self).__name__}: loss_scale")

    def scale(self, tree):
        """Every floating-point leaf of `tree` (the loss) times the loss scale."""
        return tree_map(lambda x: _scale_leaf(x, self.loss_scale), tree)

    def unscale(self, tree):
        """Every floating-point leaf of `tree` (the gradients) divided by the loss scale."""
        inv = 1.0 / fnp.asarray(self.loss_scale, dtypes.float32)
        return tree_map(lambda x: _scale_leaf(x, inv), tree)

    def adjust(self, grads_finite) -> StaticLossScale:
        """This loss scale: a static scale never changes."""
        return self

    def __repr__(self):
        return f"StaticLossScale({self.loss_scale})"


def _rebuild(cls, **fields):
    """An instance from its fields as they are: pytree unflattening must accept any leaves
    (tracers, placeholders, zeros), so it skips `__init__`'s checks and conversions."""
    obj = cls.__new__(cls)
    obj.__dict__.update(fields)
    return obj


register_pytree_node(StaticLossScale, lambda s: ((s.loss_scale,), None),
                     lambda aux, children: _rebuild(StaticLossScale, loss_scale=children[0]))


class DynamicLossScale(StaticLossScale):
    """A loss scale that adapts, as PyTorch's `GradScaler`: `adjust(grads_finite)` returns
    the next state. With finite gradients `counter` counts up, and the `period`-th finite
    step in a row multiplies the scale by `factor` (unless that overflows) and restarts the
    count; with an inf or NaN gradient the scale is divided by `factor` (not below
    `min_loss_scale`) and the count restarts. The caller skips that step's update with
    `select_tree`. `loss_scale` (float32) and `counter` (int32) are the pytree's children;
    `period`, `factor` and `min_loss_scale` are static."""

    def __init__(self, loss_scale=2.0 ** 15, counter=0, period=2000, factor=2,
                 min_loss_scale=1.0):
        super().__init__(loss_scale)
        if isinstance(counter, (int, np.integer)):
            counter = fnp.asarray(counter, dtypes.int32)
        self.counter = counter
        if int(period) < 1:
            raise ValueError(f"DynamicLossScale: period must be >= 1, got {period}")
        if not factor > 1:
            raise ValueError(f"DynamicLossScale: factor must be > 1, got {factor}")
        if not min_loss_scale > 0:
            raise ValueError(f"DynamicLossScale: min_loss_scale must be > 0, got "
                             f"{min_loss_scale}")
        self.period, self.factor, self.min_loss_scale = int(period), factor, min_loss_scale

    def adjust(self, grads_finite) -> DynamicLossScale:
        """The state after a step whose gradients were finite (`grads_finite` True) or not;
        a traceable function of the arrays, so it runs inside `jit`."""
        finite = fnp.asarray(grads_finite)
        scale = fnp.asarray(self.loss_scale, dtypes.float32)
        grown = scale * self.factor
        grown = fnp.where(fnp.isfinite(grown), grown, scale)
        on_finite = fnp.where(self.counter == self.period - 1, grown, scale)
        on_overflow = fnp.maximum(scale / self.factor,
                                  fnp.asarray(self.min_loss_scale, dtypes.float32))
        counter = fnp.where(finite, (self.counter + 1) % self.period, 0)
        return DynamicLossScale(fnp.where(finite, on_finite, on_overflow),
                                counter.astype(dtypes.int32), self.period, self.factor,
                                self.min_loss_scale)

    def __repr__(self):
        return (f"DynamicLossScale(loss_scale={self.loss_scale}, counter={self.counter}, "
                f"period={self.period}, factor={self.factor}, "
                f"min_loss_scale={self.min_loss_scale})")


register_pytree_node(
    DynamicLossScale,
    lambda s: ((s.loss_scale, s.counter), (s.period, s.factor, s.min_loss_scale)),
    lambda aux, children: _rebuild(DynamicLossScale, loss_scale=children[0],
                                   counter=children[1], period=aux[0], factor=aux[1],
                                   min_loss_scale=aux[2]))
