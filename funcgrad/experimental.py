"""`jax.experimental` names that funcgrad has: `io_callback` (an impure host callback that
is never dropped, merged or reordered; see `funcgrad.prims.callbacks`)."""
from __future__ import annotations

from .prims.callbacks import io_callback

__all__ = ["io_callback"]
