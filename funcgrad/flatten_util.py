"""`jax.flatten_util`: a pytree of arrays as one flat vector, and back.

`ravel_pytree(tree)` returns `(flat, unravel)`: `flat` is every leaf raveled and joined in
the tree's leaf order, converted to the leaves' common dtype (JAX's promotion of their
dtypes: an int32 and a float32 leaf give float32, int8 and uint8 give int16; an empty tree
gives an empty float32 vector), and `unravel(v)` splits a vector of that size and dtype
back into the tree, each part reshaped and converted to its leaf's dtype. As in JAX, a
tree whose leaves share one dtype unravels a vector of any dtype (its parts keep that
dtype: unravelling int32 gives int32 leaves); a tree of mixed dtypes needs the flat dtype
(TypeError otherwise). Both work under
`jit`, `vmap` and `grad` (the conversions are differentiable where the leaves are floats),
so optimizers written on flat vectors (L-BFGS, Newton-CG) run on any tree of parameters."""
from __future__ import annotations

import numpy as np

from . import dtypes as _dtypes
from . import numpy as _fnp
from .tree_util import tree_flatten, tree_unflatten

__all__ = ["ravel_pytree"]


def ravel_pytree(pytree):
    """`(flat, unravel)` for `pytree` (see the module docstring)."""
    leaves, treedef = tree_flatten(pytree)
    flat, unravel_leaves = _ravel_leaves(leaves)
    return flat, lambda v: tree_unflatten(treedef, unravel_leaves(v))


def _ravel_leaves(leaves):
    if not leaves:
        return _fnp.zeros(0, _fnp.float32), lambda v: []
    arrays = [_fnp.asarray(x) for x in leaves]
    from_dtypes = [np.dtype(a.dtype) for a in arrays]
    to_dtype = _dtypes.result_type(*from_dtypes)
    shapes = [a.shape for a in arrays]
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    total = sum(sizes)
    flat = _fnp.concatenate([_fnp.ravel(a).astype(to_dtype) for a in arrays])

    uniform = all(dt == to_dtype for dt in from_dtypes)

    def unravel(v):
        v = _fnp.asarray(v)
        if not uniform and np.dtype(v.dtype) != to_dtype:
            raise TypeError(f"ravel_pytree's unravel: given an array of dtype {v.dtype}, but "
                            f"the flattened tree's dtype is {to_dtype} (its leaves' dtypes "
                            f"differ, so each is restored from it); convert it with "
                            f".astype({to_dtype.name!r})")
        if v.shape != (total,):
            raise ValueError(f"ravel_pytree's unravel: given an array of shape {v.shape}, but "
                             f"the flattened tree has shape ({total},)")
        out, start = [], 0
        for shape, size, dt in zip(shapes, sizes, from_dtypes):
            part = _fnp.reshape(v[start:start + size], shape)
            out.append(part if dt == to_dtype else part.astype(dt))
            start += size
        return out

    return flat, unravel
