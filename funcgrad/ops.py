"""Segment reductions (JAX's `jax.ops`): `out[s]` reduces the rows of `data` whose
`segment_ids` entry is `s`, as a graph network sums or takes the maximum of the messages
arriving at each node.

As in JAX: an id outside [0, num_segments) drops its row (`mode` None, 'drop' or 'fill';
'clip' clamps it into range instead); a segment no row reaches holds the reduction's
identity (0, 1, -inf / the smallest integer for max, +inf / the largest for min);
`num_segments` must be a static int under `jit` (without it, the ids' maximum + 1 is read
from concrete ids). `indices_are_sorted`, `unique_indices` and `bucket_size` are accepted
and change nothing."""
from __future__ import annotations

import numpy as np

from . import core, dtypes
from . import numpy as fnp
from ._lax_scatter import GatherScatterMode as _Mode
from .prims import indexing as _ix

__all__ = ["segment_max", "segment_min", "segment_prod", "segment_sum"]


def _identity(kind, dtype):
    if kind == "sum":
        return 0
    if kind == "prod":
        return 1
    dtype = np.dtype(dtype)
    if dtypes.is_bool(dtype):
        return kind == "min"
    if dtypes.is_int(dtype):
        info = dtypes.iinfo(dtype)
        return info.min if kind == "max" else info.max
    return -np.inf if kind == "max" else np.inf


def _segment(kind, data, segment_ids, num_segments, mode, name):
    data = fnp.asarray(data)
    ids = fnp.asarray(segment_ids)
    if not dtypes.is_int(ids.dtype):
        raise TypeError(f"{name}: segment_ids must be integers, got {ids.dtype}")
    if data.ndim == 0 or ids.shape != data.shape[:ids.ndim] or ids.ndim != 1:
        raise TypeError(f"{name}: segment_ids must be one-dimensional with one entry per "
                        f"row of data (data {data.shape}, segment_ids {ids.shape})")
    if num_segments is None:
        concrete = core.concrete_value(ids)
        if concrete is None:
            raise ValueError(f"{name}: num_segments is required under jit (the number of "
                             f"segments fixes the result's shape); pass it as a static int")
        num_segments = int(np.max(concrete)) + 1 if concrete.size else 0
    num_segments = int(num_segments)
    if num_segments < 0:
        raise ValueError(f"{name}: num_segments must be >= 0, got {num_segments}")
    m = _Mode.from_any(mode) if mode is not None else _Mode.FILL_OR_DROP
    # in a type that holds num_segments: int8 ids of 300 segments moved -5 to "300" in int8
    # (44) and added its row there; uint64 2^64 - 1 became -1, then 300
    ids = _ix.signed_index(ids, num_segments, name)
    if m is _Mode.CLIP:
        ids = fnp.clip(ids, 0, max(num_segments - 1, 0))
    else:
        # negative ids are out of range (JAX does not count them from the end): move them
        # past the last segment, where the scatter drops them
        ids = fnp.where(ids < 0, num_segments, ids)
    out = fnp.full((num_segments,) + data.shape[1:], _identity(kind, data.dtype), data.dtype)
    at = out.at[ids]
    method = {"sum": at.add, "prod": at.multiply, "max": at.max, "min": at.min}[kind]
    return method(data, mode="drop")


def segment_sum(data, segment_ids, num_segments=None, indices_are_sorted=False,
                unique_indices=False, bucket_size=None, mode=None):
    """Sum of the rows of `data` in each segment (0 for an empty one)."""
    return _segment("sum", data, segment_ids, num_segments, mode, "segment_sum")


def segment_prod(data, segment_ids, num_segments=None, indices_are_sorted=False,
                 unique_indices=False, bucket_size=None, mode=None):
    """Product of the rows of `data` in each segment (1 for an empty one)."""
    return _segment("prod", data, segment_ids, num_segments, mode, "segment_prod")


def segment_max(data, segment_ids, num_segments=None, indices_are_sorted=False,
                unique_indices=False, bucket_size=None, mode=None):
    """Maximum of the rows of `data` in each segment (-inf, or the smallest integer, for an
    empty one)."""
    return _segment("max", data, segment_ids, num_segments, mode, "segment_max")


def segment_min(data, segment_ids, num_segments=None, indices_are_sorted=False,
                unique_indices=False, bucket_size=None, mode=None):
    """Minimum of the rows of `data` in each segment (+inf, or the largest integer, for an
    empty one)."""
    return _segment("min", data, segment_ids, num_segments, mode, "segment_min")
