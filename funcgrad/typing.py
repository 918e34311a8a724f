"""JAX's `jax.typing`: the annotations library code writes for its inputs.

`ArrayLike` is what funcgrad's functions accept as an array (a funcgrad `Array`, a NumPy
array or scalar, a Python bool/int/float/complex), `DTypeLike` what they accept as a
dtype (a NumPy dtype, a scalar type such as `funcgrad.numpy.float32`, a name such as
"float32", or an object with a `dtype` attribute). Both are for static type checkers and
`typing.get_args`, as JAX's; `isinstance` checks use `funcgrad.Array`."""
from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from .core import Array

__all__ = ["ArrayLike", "DTypeLike"]


class _SupportsDType(Protocol):
    @property
    def dtype(self) -> np.dtype: ...


ArrayLike = Array | np.ndarray | np.bool_ | np.number | bool | int | float | complex

DTypeLike = str | type[Any] | np.dtype | _SupportsDType
