"""JAX's `jax.ad_checkpoint`: `checkpoint_name`, which tags a value for the
`checkpoint_policies` that select intermediates by name, and `checkpoint_policies`.

funcgrad's `checkpoint` recomputes every intermediate whatever the policy (see
`funcgrad.checkpoint_policies`), so a name never changes what a program computes:
`checkpoint_name` returns its argument (host values as arrays), as JAX's does at run time."""
from __future__ import annotations

from . import core as _core
from .ad import checkpoint_policies
from .tree_util import tree_leaves as _tree_leaves
from .tree_util import tree_map as _tree_map

__all__ = ["checkpoint_name", "checkpoint_policies"]


def checkpoint_name(x, name):
    """`x` (an array or a pytree of arrays), unchanged, named `name` for a checkpoint
    policy such as `checkpoint_policies.save_only_these_names(name)` (JAX's
    `jax.ad_checkpoint.checkpoint_name`)."""
    if not isinstance(name, str):
        raise TypeError(f"checkpoint_name: name must be a string, got {type(name).__name__}")
    # host leaves come back as arrays, as from JAX's (its name primitive converts them);
    # a tree of arrays comes back as it is
    host = _core.HOST_VALUE_TYPES
    if not any(isinstance(v, host) for v in _tree_leaves(x)):
        return x
    return _tree_map(lambda v: _core.to_array(v) if isinstance(v, host) else v, x)
