"""Pytrees: nested containers of leaves, flattened and rebuilt by registered node types.

Tuples, lists, dicts (sorted by key, as in JAX), None (a node with no children) and
namedtuples are pytrees out of the box; `register_pytree_node` adds more.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Hashable, Iterable

__all__ = [
    "PyTreeDef", "register_pytree_node", "register_pytree_node_class", "tree_flatten",
    "tree_unflatten", "tree_leaves", "tree_structure", "tree_map", "tree_all",
    "tree_reduce", "tree_transpose", "treedef_is_leaf", "all_leaves",
]


@dataclass(frozen=True)
class _NodeType:
    name: str
    to_iterable: Callable[[Any], tuple[Iterable[Any], Hashable]]
    from_iterable: Callable[[Hashable, Iterable[Any]], Any]


_registry: dict[type, _NodeType] = {}


def register_pytree_node(nodetype: type, flatten_func, unflatten_func) -> None:
    """Register `nodetype`: `flatten_func(x) -> (children, aux)`,
    `unflatten_func(aux, children) -> x` (JAX's signature)."""
    _registry[nodetype] = _NodeType(nodetype.__name__, flatten_func, unflatten_func)


def register_pytree_node_class(cls):
    """Class decorator: the class defines `tree_flatten()` and classmethod `tree_unflatten`."""
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def _dict_flatten(d):
    keys = sorted(d.keys())
    return [d[k] for k in keys], tuple(keys)


register_pytree_node(tuple, lambda t: (t, None), lambda _, xs: tuple(xs))
register_pytree_node(list, lambda t: (t, None), lambda _, xs: list(xs))
register_pytree_node(dict, _dict_flatten, lambda keys, xs: dict(zip(keys, xs)))
register_pytree_node(type(None), lambda _: ((), None), lambda _, xs: None)


_namedtuple_nodes: dict[type, _NodeType] = {}


def _node_type(x) -> _NodeType | None:
    cls = type(x)
    nt = _registry.get(cls)
    if nt is None and isinstance(x, tuple) and hasattr(x, "_fields"):
        nt = _namedtuple_nodes.get(cls)
        if nt is None:
            nt = _namedtuple_nodes[cls] = _NodeType(
                cls.__name__, lambda t: (tuple(t), None), lambda _, xs, cls=cls: cls(*xs))
    return nt


class PyTreeDef:
    """The structure of a pytree: node kind, aux data and child structures.

    Tree definitions built by `tree_flatten` are interned (one object per structure, when
    the aux data is hashable), so comparing and hashing them, as every `jit` call does, is
    cheap."""

    __slots__ = ("node_type", "aux", "children", "num_leaves", "_kind", "_k", "_h",
                 "_interned", "__weakref__")

    def __init__(self, node_type, aux, children: tuple[PyTreeDef, ...], kind: Hashable):
        self.node_type = node_type
        self.aux = aux
        self.children = children
        self._kind = kind
        self.num_leaves = 1 if node_type is None else sum(c.num_leaves for c in children)
        self._k = None
        self._h = None
        self._interned = False

    @property
    def num_nodes(self) -> int:
        return 1 + sum(c.num_nodes for c in self.children)

    def _key(self):
        if self._k is None:
            self._k = (self._kind, self.aux, tuple(c._key() for c in self.children))
        return self._k

    def __eq__(self, other):
        return self is other or (isinstance(other, PyTreeDef) and hash(self) == hash(other)
                                 and self._key() == other._key())

    def __hash__(self):
        if self._h is None:
            self._h = hash(self._key())
        return self._h

    def unflatten(self, leaves):
        return tree_unflatten(self, leaves)

    def __repr__(self):
        return f"PyTreeDef({self._str()})"

    def _str(self) -> str:
        if self.node_type is None:
            return "*"
        inner = ", ".join(c._str() for c in self.children)
        if self._kind is tuple:
            return f"({inner}{',' if len(self.children) == 1 else ''})"
        if self._kind is list:
            return f"[{inner}]"
        if self._kind is dict:
            return "{" + ", ".join(f"{k!r}: {c._str()}" for k, c in zip(self.aux, self.children)) + "}"
        if self._kind is type(None):
            return "None"
        return f"{self.node_type.name}({inner})"


_LEAF = PyTreeDef(None, None, (), None)
_LEAF._interned = True
_INTERNED_MAX = 1 << 16
# (kind, aux, ids of the interned children) -> PyTreeDef. Keyed by the children's ids: they
# are interned too, so they live as long as this table (which is only ever cleared whole).
_interned: dict = {}


def _node(nt: _NodeType, aux, children: tuple, kind) -> PyTreeDef:
    for c in children:
        if not c._interned:
            return PyTreeDef(nt, aux, children, kind)
    key = (kind, aux, tuple([id(c) for c in children]))
    try:
        td = _interned.get(key)
    except TypeError:                      # unhashable aux data: a private definition
        return PyTreeDef(nt, aux, children, kind)
    if td is None:
        if len(_interned) >= _INTERNED_MAX:
            _interned.clear()
        td = PyTreeDef(nt, aux, children, kind)
        td._interned = True
        td = _interned.setdefault(key, td)
    return td


_TUPLE, _LIST, _DICT, _NONE = (_registry[t] for t in (tuple, list, dict, type(None)))


def tree_flatten(tree, is_leaf: Callable[[Any], bool] | None = None):
    """Flatten `tree` into (leaves, treedef); `is_leaf` stops descent early."""
    leaves: list = []
    treedef = _flatten(tree, leaves, is_leaf)
    return leaves, treedef


def _flatten(x, leaves, is_leaf) -> PyTreeDef:
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        return _LEAF
    cls = type(x)
    if cls is tuple:
        return _node(_TUPLE, None, tuple([_flatten(c, leaves, is_leaf) for c in x]), tuple)
    if cls is list:
        return _node(_LIST, None, tuple([_flatten(c, leaves, is_leaf) for c in x]), list)
    if cls is dict:
        keys = tuple(sorted(x))
        return _node(_DICT, keys, tuple([_flatten(x[k], leaves, is_leaf) for k in keys]), dict)
    if x is None:
        return _node(_NONE, None, (), cls)
    nt = _node_type(x)
    if nt is None:
        leaves.append(x)
        return _LEAF
    children, aux = nt.to_iterable(x)
    return _node(nt, aux, tuple([_flatten(c, leaves, is_leaf) for c in children]), cls)


def tree_unflatten(treedef: PyTreeDef, leaves):
    """Rebuild a pytree of `treedef`'s structure from `leaves`."""
    if treedef.node_type is None:
        if len(leaves) != 1:
            raise ValueError(f"tree_unflatten: expected 1 leaf for a leaf structure, got "
                             f"{len(leaves)}")
        return leaves[0]
    it = iter(leaves)
    out = _unflatten(treedef, it)
    rest = list(it)
    if rest:
        raise ValueError(f"tree_unflatten: {len(rest)} leaves too many for {treedef}")
    return out


def _unflatten(td: PyTreeDef, it):
    if td.node_type is None:
        try:
            return next(it)
        except StopIteration:
            raise ValueError("tree_unflatten: too few leaves for the tree structure") from None
    kind = td._kind
    if kind is tuple:
        return tuple([_unflatten(c, it) for c in td.children])
    if kind is list:
        return [_unflatten(c, it) for c in td.children]
    return td.node_type.from_iterable(td.aux, [_unflatten(c, it) for c in td.children])


def tree_leaves(tree, is_leaf=None) -> list:
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree, is_leaf=None) -> PyTreeDef:
    return tree_flatten(tree, is_leaf)[1]


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    return treedef.node_type is None


def all_leaves(iterable) -> bool:
    return all(_node_type(x) is None for x in iterable)


def tree_map(f: Callable, tree, *rest, is_leaf=None):
    """Apply `f` leafwise over `tree` and trees `rest` of the same structure."""
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = [flatten_up_to(treedef, r, "tree_map") for r in rest]
    return treedef.unflatten([f(*xs) for xs in zip(leaves, *others)])


def flatten_up_to(treedef: PyTreeDef, tree, what: str) -> list:
    """Leaves of `tree` cut at `treedef`'s leaves (a subtree there counts as one leaf)."""
    out: list = []
    _flatten_up_to(treedef, tree, out, what, "")
    return out


def _flatten_up_to(td: PyTreeDef, x, out, what, path):
    if td.node_type is None:
        out.append(x)
        return
    nt = _node_type(x)
    if nt is None or type(x) is not td._kind:
        raise ValueError(
            f"{what}: pytree structure mismatch at {path or 'the root'}: expected "
            f"{td._str()}, got {type(x).__name__} {_short(x)}")
    children, aux = nt.to_iterable(x)
    children = list(children)
    if aux != td.aux or len(children) != len(td.children):
        raise ValueError(
            f"{what}: pytree structure mismatch at {path or 'the root'}: expected "
            f"{td._str()}, got {_short(x)}")
    keys = aux if isinstance(aux, tuple) and td._kind is dict else range(len(children))
    for k, c, sub in zip(keys, children, td.children):
        _flatten_up_to(sub, c, out, what, f"{path}[{k!r}]")


def _short(x) -> str:
    s = repr(x)
    return s if len(s) < 80 else s[:77] + "..."


def tree_all(tree) -> bool:
    return all(tree_leaves(tree))


def tree_reduce(function, tree, initializer=None):
    import functools
    leaves = tree_leaves(tree)
    if initializer is None:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef, pytree_to_transpose):
    """Turn an outer tree of inner trees into an inner tree of outer trees."""
    flat = flatten_up_to(outer_treedef, pytree_to_transpose, "tree_transpose")
    inner = [flatten_up_to(inner_treedef, t, "tree_transpose") for t in flat]
    cols = list(zip(*inner)) if inner else [() for _ in range(inner_treedef.num_leaves)]
    return inner_treedef.unflatten([outer_treedef.unflatten(c) for c in cols])
