"""funcgrad.distributed: data-parallel training over MPI (mpi4py), one process per worker.

    mpirun -n 4 python train.py        # one machine
    mpirun -n 8 -f hosts python train.py   # several (MPICH's hostfile; Open MPI: --hostfile)

```python
from funcgrad import distributed, lax
distributed.initialize()                       # a world of one without a launcher
params = distributed.broadcast(params, root=0) # the same start everywhere
step = distributed.spmd(lambda p, x, y: lax.pmean(grad(loss)(p, x, y), "batch"))
for xb, yb in batches:
    x, y = distributed.shard((xb, yb))         # this process's part of the global batch
    grads = step(params, x, y)                 # one fused allreduce per step
```

Runtime: `initialize`, `shutdown`, `is_initialized`, `process_index`, `process_count`,
`barrier`. Inside jit: `spmd` (collectives `lax.psum`, `pmean`, `pmax`, `pmin`,
`all_gather`, `psum_scatter`, `ppermute`, `axis_index` over its axis name, also exported
here). Outside jit: `allreduce`, `allgather`, `broadcast`, `shard`. Errors:
`DistributedError`, `CollectiveTimeoutError`, `ProgramMismatchError`. See
docs/distributed.md.
"""
from __future__ import annotations

import numpy as np

from ..core import Array, ArrayImpl, ShapedArray, Tracer
from ..prims.collectives import (
    DistributedError,
    all_gather,
    axis_index,
    axis_size,
    pmax,
    pmean,
    pmin,
    ppermute,
    psum,
    psum_scatter,
)
from ..tree_util import tree_flatten, tree_unflatten
from .runtime import (
    CollectiveTimeoutError,
    ProgramMismatchError,
    barrier,
    initialize,
    is_initialized,
    launched_by_mpi,
    process_count,
    process_index,
    shutdown,
)
from .spmd import Spmd, fuse_psums, schedule_psums, spmd

__all__ = [
    "CollectiveTimeoutError",
    "DistributedError",
    "ProgramMismatchError",
    "Spmd",
    "all_gather",
    "allgather",
    "allreduce",
    "axis_index",
    "axis_size",
    "barrier",
    "broadcast",
    "fuse_psums",
    "initialize",
    "is_initialized",
    "launched_by_mpi",
    "pmax",
    "pmean",
    "pmin",
    "ppermute",
    "process_count",
    "process_index",
    "psum",
    "psum_scatter",
    "schedule_psums",
    "shard",
    "shutdown",
    "spmd",
]

_OPS = ("sum", "mean", "max", "min")


def _host_leaves(tree, what):
    leaves, treedef = tree_flatten(tree)
    vals = []
    for x in leaves:
        if isinstance(x, Tracer):
            raise TypeError(f"distributed.{what} runs outside jit, on concrete arrays; inside "
                            "a jitted function use lax.psum/pmean/... over the axis name of "
                            "distributed.spmd instead")
        vals.append(np.asarray(x))
    return leaves, treedef, vals


def _rewrap(leaves, treedef, vals):
    """Results in the types given: funcgrad arrays stay funcgrad arrays (on the host),
    anything else comes back as NumPy arrays."""
    out = []
    for x, v in zip(leaves, vals):
        if isinstance(x, Array):
            v = np.asarray(v)
            v.flags.writeable = False
            out.append(ArrayImpl(v, ShapedArray(v.shape, v.dtype, x.weak_type)))
        else:
            out.append(v)
    return tree_unflatten(treedef, out)


def _signature(what, vals, extra="") -> str:
    return what + extra + "(" + ", ".join(f"{v.dtype.name}{list(v.shape)}" for v in vals) + ")"


def allreduce(tree, op: str = "sum"):
    """Reduce every leaf of `tree` elementwise over the processes (`op`: "sum", "mean",
    "max" or "min") outside jit, in one allreduce per dtype (mpi4jax's `allreduce`, for a
    pytree). Every process gets the result; "mean" of integers gives floats. The processes
    must pass the same structure, shapes and dtypes (checked first)."""
    from .runtime import require
    if op not in _OPS:
        raise ValueError(f"allreduce: op must be one of {_OPS}, got {op!r}")
    world = require("distributed.allreduce")
    leaves, treedef, vals = _host_leaves(tree, "allreduce")
    if not vals:
        return tree
    if op == "sum" and any(v.dtype == np.bool_ for v in vals):
        raise TypeError("allreduce: cannot sum booleans; convert them (e.g. to int32) first")
    world.check_signature("distributed.allreduce", _signature(op, vals, str(treedef)))
    outs = world.allreduce(vals, "sum" if op == "mean" else op)
    if op == "mean":
        outs = [(o / world.size).astype(o.dtype if np.issubdtype(o.dtype, np.floating)
                                        else np.float32) for o in outs]
    return _rewrap(leaves, treedef, outs)


def allgather(tree):
    """Every process's value of each leaf of `tree`, stacked along a new leading axis in
    process order, outside jit (JAX: `multihost_utils.process_allgather`)."""
    from .runtime import require
    world = require("distributed.allgather")
    leaves, treedef, vals = _host_leaves(tree, "allgather")
    world.check_signature("distributed.allgather", _signature("gather", vals, str(treedef)))
    outs = [world.allgather(np.asarray(v, order="C")) for v in vals]   # (0-d stays 0-d)
    return _rewrap(leaves, treedef, outs)


def broadcast(tree, root: int = 0):
    """Process `root`'s value of every leaf of `tree`, on every process (e.g. parameters
    initialised on process 0). The other processes pass arrays of the same shapes and
    dtypes (their values are ignored)."""
    from .runtime import require
    world = require("distributed.broadcast")
    if not 0 <= root < world.size:
        raise ValueError(f"broadcast: root={root} is not a process index (the world has "
                         f"{world.size} processes)")
    leaves, treedef, vals = _host_leaves(tree, "broadcast")
    if not vals:
        return tree
    world.check_signature("distributed.broadcast",
                          _signature("broadcast", vals, f"{treedef} root={root}"))
    return _rewrap(leaves, treedef, world.broadcast(vals, root))


def shard(global_batch, axis: int = 0, *, even: bool = True):
    """This process's part of `global_batch` (a pytree of arrays sharing the length of
    `axis`): process i of n gets the i-th of n consecutive slices. With `even` (default) the
    length must be a multiple of n, so every process runs the same shapes and N processes
    see exactly the batch one process would; `even=False` allows slices that differ by one
    (NumPy's array_split). Works before `initialize()` (as a world of one)."""
    n, i = process_count(), process_index()
    leaves, treedef = tree_flatten(global_batch)
    if not leaves:
        return global_batch
    lengths = {np.shape(x)[axis] for x in leaves}
    if len(lengths) != 1:
        raise ValueError(f"shard: the leaves disagree on the length of axis {axis}: "
                         f"{[np.shape(x) for x in leaves]}")
    m = lengths.pop()
    if even and m % n:
        raise ValueError(f"shard: a global batch of {m} rows does not split evenly over {n} "
                         "processes; use a batch size divisible by the process count (with "
                         "drop_last=True for the ragged end), or even=False")
    start, stop = i * m // n, (i + 1) * m // n
    if not even:
        base, extra = divmod(m, n)
        start = i * base + min(i, extra)
        stop = start + base + (i < extra)
    out = []
    for x in leaves:
        index = [slice(None)] * np.ndim(x)
        index[axis] = slice(start, stop)
        out.append(x[tuple(index)])
    return tree_unflatten(treedef, out)
