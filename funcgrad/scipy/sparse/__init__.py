"""funcgrad.scipy.sparse: JAX's `jax.scipy.sparse`, which holds only `linalg` (the Krylov
solvers `cg`, `gmres` and `bicgstab`). Sparse array types (JAX's BCOO, BCSR) live in
`jax.experimental.sparse`, which funcgrad does not have."""
from __future__ import annotations

from . import linalg  # noqa: F401
