"""Pytree functions under `jax.tree`'s short names (`map`, `leaves`, `structure`, ...).

The implementation, and JAX's `jax.tree_util` names, are in `funcgrad.tree_util`. The long
names (`tree_map`, `tree_flatten`, `register_pytree_node`, ...) stay importable from here:
funcgrad's modules and older user code use them.
"""
from __future__ import annotations

import dataclasses

from .tree_util import (  # noqa: F401  (funcgrad's own long names, see the docstring)
    PyTreeDef, _registry, all_leaves, register_pytree_node,
    register_pytree_node_class, tree_all, tree_flatten, tree_leaves, tree_map, tree_reduce,
    tree_structure, tree_transpose, tree_unflatten, treedef_is_leaf)
from .tree_util import _cut_at as flatten_up_to  # noqa: F401
from .tree_util import tree_all as all  # JAX's names shadow builtins in this module
from .tree_util import tree_broadcast as broadcast
from .tree_util import tree_flatten as flatten
from .tree_util import tree_flatten_with_path as flatten_with_path
from .tree_util import tree_leaves as leaves
from .tree_util import tree_leaves_with_path as leaves_with_path
from .tree_util import tree_map as map
from .tree_util import tree_map_with_path as map_with_path
from .tree_util import tree_reduce as reduce
from .tree_util import tree_reduce_associative as reduce_associative
from .tree_util import tree_structure as structure
from .tree_util import tree_transpose as transpose
from .tree_util import tree_unflatten as unflatten

__all__ = [
    "all", "broadcast", "flatten", "flatten_with_path", "leaves", "leaves_with_path", "map",
    "map_with_path", "reduce", "reduce_associative", "static", "structure", "transpose",
    "unflatten",
]


def static(**kwargs):
    """A dataclass field marked static (`dataclasses.field` arguments): with
    `tree_util.register_dataclass`, its value is aux data of the tree definition rather
    than a leaf."""
    metadata = {"static": True, **(kwargs.pop("metadata", None) or {})}
    return dataclasses.field(metadata=metadata, **kwargs)
