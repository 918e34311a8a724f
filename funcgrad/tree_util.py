"""Pytrees, as `jax.tree_util`: nested containers of leaves, flattened into a list of leaves
and a `PyTreeDef`, and rebuilt from them.

Tuples, lists, dicts (sorted by key, as in JAX), OrderedDicts (in their order),
defaultdicts, None (a node with no children) and namedtuples are pytrees out of the box;
`register_pytree_node`, `register_pytree_with_keys`, `register_pytree_node_class`,
`register_dataclass` and `register_static` add more. Every
node also names its children with *keys* (`SequenceKey`, `DictKey`, `GetAttrKey`,
`FlattenedIndexKey`), which `tree_flatten_with_path` and `tree_map_with_path` report and
`keystr` prints. `funcgrad.tree` holds the same functions under `jax.tree`'s short names.
"""
from __future__ import annotations

import collections as _collections
import dataclasses
import functools
from collections.abc import Callable as _Callable
from collections.abc import Hashable as _Hashable
from collections.abc import Iterable as _Iterable
from typing import Any as _Any

__all__ = [
    "DictKey", "FlattenedIndexKey", "GetAttrKey", "KeyPath", "Partial", "PyTreeDef",
    "SequenceKey", "all_leaves", "flatten_one_level", "flatten_one_level_with_keys",
    "is_tree_node", "keystr", "register_dataclass", "register_pytree_node",
    "register_pytree_node_class", "register_pytree_with_keys",
    "register_pytree_with_keys_class", "register_static", "tree_all", "tree_broadcast",
    "tree_flatten", "tree_flatten_with_path", "tree_leaves", "tree_leaves_with_path",
    "tree_map", "tree_map_with_path", "tree_reduce", "tree_reduce_associative",
    "tree_structure", "tree_transpose", "tree_unflatten", "treedef_children",
    "treedef_is_leaf", "treedef_tuple",
]


# ---------------------------------------------------------------------------------------
# Keys: how a node names its children


@dataclasses.dataclass(frozen=True)
class SequenceKey:
    """The child at position `idx` of a tuple or list."""
    idx: int

    def __str__(self):
        return f"[{self.idx!r}]"


@dataclasses.dataclass(frozen=True)
class DictKey:
    """The child under `key` of a dict."""
    key: _Hashable

    def __str__(self):
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    """The child in attribute `name` (namedtuples, dataclasses)."""
    name: str

    def __str__(self):
        return f".{self.name}"


@dataclasses.dataclass(frozen=True)
class FlattenedIndexKey:
    """The `key`-th child of a node registered without key names."""
    key: int

    def __str__(self):
        return f"[<flat index {self.key}>]"


KeyPath = tuple   # a tuple of keys, from the root down (JAX: tuple[KeyEntry, ...])


def keystr(keys, *, simple: bool = False, separator: str = "") -> str:
    """A key path as text: `"['a'][0].x"`, or with `simple=True` the bare keys joined by
    `separator` (`keystr(path, simple=True, separator="/")` gives `"a/0/x"`)."""
    if simple:
        return separator.join(str(_bare_key(k)) for k in keys)
    return separator.join(str(k) for k in keys)


def _bare_key(k):
    if isinstance(k, SequenceKey):
        return k.idx
    if isinstance(k, DictKey):
        return k.key
    if isinstance(k, GetAttrKey):
        return k.name
    if isinstance(k, FlattenedIndexKey):
        return k.key
    return k


# ---------------------------------------------------------------------------------------
# The registry


@dataclasses.dataclass(frozen=True)
class _NodeType:
    name: str
    to_iterable: _Callable[[_Any], tuple[_Iterable[_Any], _Hashable]]
    from_iterable: _Callable[[_Hashable, _Iterable[_Any]], _Any]
    # x -> (((key, child), ...), aux); None: children are named FlattenedIndexKey(i).
    to_keyed: _Callable | None = None


_registry: dict[type, _NodeType] = {}


def register_pytree_node(nodetype: type, flatten_func, unflatten_func,
                         flatten_with_keys_func=None) -> None:
    """Register `nodetype`: `flatten_func(x) -> (children, aux)`,
    `unflatten_func(aux, children) -> x`, and optionally `flatten_with_keys_func(x) ->
    (((key, child), ...), aux)` (JAX's signature)."""
    _registry[nodetype] = _NodeType(nodetype.__name__, flatten_func, unflatten_func,
                                    flatten_with_keys_func)


def register_pytree_with_keys(nodetype: type, flatten_with_keys, unflatten_func,
                              flatten_func=None) -> None:
    """Register `nodetype` from a flatten function that names its children:
    `flatten_with_keys(x) -> (((key, child), ...), aux)`."""
    if flatten_func is None:
        def flatten_func(x):
            keyed, aux = flatten_with_keys(x)
            return [c for _, c in keyed], aux
    register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys)


def register_pytree_node_class(cls):
    """Class decorator: the class defines `tree_flatten()` and classmethod `tree_unflatten`."""
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def register_pytree_with_keys_class(cls):
    """Class decorator: the class defines `tree_flatten_with_keys()` (and optionally
    `tree_flatten()`) and classmethod `tree_unflatten`."""
    flatten = (lambda x: x.tree_flatten()) if hasattr(cls, "tree_flatten") else None
    register_pytree_with_keys(cls, lambda x: x.tree_flatten_with_keys(), cls.tree_unflatten,
                              flatten)
    return cls


def register_dataclass(nodetype=None, data_fields=None, meta_fields=None, drop_fields=()):
    """Register a dataclass: `data_fields` are children, `meta_fields` static aux data
    (hashable), `drop_fields` neither. Without field lists, fields whose metadata has
    `static=True` (see `funcgrad.tree.static`) are meta, the other init fields data.
    Usable as a decorator."""
    if nodetype is None:
        return functools.partial(register_dataclass, data_fields=data_fields,
                                 meta_fields=meta_fields, drop_fields=drop_fields)
    if data_fields is None and meta_fields is None:
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError(f"register_dataclass: {nodetype.__name__} is not a dataclass; "
                            "pass data_fields and meta_fields")
        fields = [f for f in dataclasses.fields(nodetype) if f.init and
                  f.name not in drop_fields]
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
        data_fields = [f.name for f in fields if not f.metadata.get("static", False)]
    elif data_fields is None or meta_fields is None:
        raise TypeError("register_dataclass: give both data_fields and meta_fields, or "
                        "neither (then they come from the dataclass fields)")
    data_fields, meta_fields = tuple(data_fields), tuple(meta_fields)
    if dataclasses.is_dataclass(nodetype):
        init = {f.name for f in dataclasses.fields(nodetype) if f.init}
        given = set(data_fields) | set(meta_fields) | set(drop_fields)
        if init - given:
            raise ValueError(f"register_dataclass: {nodetype.__name__}'s init fields "
                             f"{sorted(init - given)} are in neither data_fields, "
                             "meta_fields nor drop_fields")

    def flatten(x):
        return [getattr(x, n) for n in data_fields], tuple(getattr(x, n) for n in meta_fields)

    def flatten_with_keys(x):
        return ([(GetAttrKey(n), getattr(x, n)) for n in data_fields],
                tuple(getattr(x, n) for n in meta_fields))

    def unflatten(aux, children):
        kwargs = dict(zip(meta_fields, aux))
        kwargs.update(zip(data_fields, children))
        return nodetype(**kwargs)

    register_pytree_node(nodetype, flatten, unflatten, flatten_with_keys)
    return nodetype


def register_static(cls):
    """Register `cls` as a node without children: its instances are static values that
    live in the tree definition (so they must be hashable) rather than leaves."""
    register_pytree_node(cls, lambda x: ((), x), lambda aux, _: aux)
    return cls


def _dict_flatten(d):
    keys = sorted(d.keys())
    return [d[k] for k in keys], tuple(keys)


def _seq_keys(t):
    return [(SequenceKey(i), c) for i, c in enumerate(t)], None


def _dict_keys(d):
    keys = sorted(d.keys())
    return [(DictKey(k), d[k]) for k in keys], tuple(keys)


register_pytree_node(tuple, lambda t: (t, None), lambda _, xs: tuple(xs), _seq_keys)
register_pytree_node(list, lambda t: (t, None), lambda _, xs: list(xs), _seq_keys)
register_pytree_node(dict, _dict_flatten, lambda keys, xs: dict(zip(keys, xs)), _dict_keys)
register_pytree_node(type(None), lambda _: ((), None), lambda _, xs: None,
                     lambda _: ((), None))
# As in JAX: an OrderedDict keeps its keys' order, a defaultdict sorts them as a dict does
# and keeps its default_factory in the tree definition.
register_pytree_node(
    _collections.OrderedDict, lambda d: (list(d.values()), tuple(d.keys())),
    lambda keys, xs: _collections.OrderedDict(zip(keys, xs)),
    lambda d: ([(DictKey(k), v) for k, v in d.items()], tuple(d.keys())))
register_pytree_node(
    _collections.defaultdict,
    lambda d: (_dict_flatten(d)[0], (d.default_factory, _dict_flatten(d)[1])),
    lambda aux, xs: _collections.defaultdict(aux[0], zip(aux[1], xs)),
    lambda d: (_dict_keys(d)[0], (d.default_factory, _dict_keys(d)[1])))


_namedtuple_nodes: dict[type, _NodeType] = {}


def _is_namedtuple_type(cls) -> bool:
    return isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")


def _node_type(x) -> _NodeType | None:
    cls = type(x)
    nt = _registry.get(cls)
    if nt is None and isinstance(x, tuple) and hasattr(x, "_fields"):
        nt = _namedtuple_nodes.get(cls)
        if nt is None:
            nt = _namedtuple_nodes[cls] = _NodeType(
                cls.__name__, lambda t: (tuple(t), None), lambda _, xs, cls=cls: cls(*xs),
                lambda t: ([(GetAttrKey(f), c) for f, c in zip(t._fields, t)], None))
    return nt


def _keyed_children(nt: _NodeType, x):
    """((key, child), ...), aux of node `x`."""
    if nt.to_keyed is not None:
        keyed, aux = nt.to_keyed(x)
        return list(keyed), aux
    children, aux = nt.to_iterable(x)
    return [(FlattenedIndexKey(i), c) for i, c in enumerate(children)], aux


def is_tree_node(typ) -> bool:
    """Whether instances of type `typ` are pytree nodes (not leaves)."""
    return typ in _registry or _is_namedtuple_type(typ)


# ---------------------------------------------------------------------------------------
# Tree definitions


class _Children(tuple):
    """A node's child structures: a tuple (the attribute `treedef.children` funcgrad's code
    reads) that, called, returns them as a list (JAX's method `treedef.children()`)."""

    __slots__ = ()

    def __call__(self) -> list:
        return list(self)


class PyTreeDef:
    """The structure of a pytree: node kind, aux data and child structures.

    Tree definitions built by `tree_flatten` are interned (one object per structure, when
    the aux data is hashable), so comparing and hashing them, as every `jit` call does, is
    cheap."""

    __slots__ = (
        "__weakref__",
        "_h",
        "_interned",
        "_k",
        "_kind",
        "aux",
        "children",
        "node_type",
        "num_leaves",
    )

    def __init__(self, node_type, aux, children: tuple[PyTreeDef, ...], kind: _Hashable):
        self.node_type = node_type
        self.aux = aux
        self.children = _Children(children)
        self._kind = kind
        self.num_leaves = 1 if node_type is None else sum(c.num_leaves for c in children)
        self._k = None
        self._h = None
        self._interned = False

    @property
    def num_nodes(self) -> int:
        return 1 + sum(c.num_nodes for c in self.children)

    def node_data(self):
        """(node type, aux data) of the root; None for a leaf. A dict's aux data is its
        sorted keys as a list, as JAX's."""
        if self.node_type is None:
            return None
        if self._kind is dict:
            return dict, list(self.aux)
        return self._kind, self.aux

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
        """The pytree of this structure with `leaves` (JAX: `treedef.unflatten`)."""
        return tree_unflatten(self, leaves)

    def flatten_up_to(self, xs) -> list:
        """The subtrees of `xs` at this structure's leaves."""
        return _cut_at(self, xs, "flatten_up_to")

    def compose(self, inner: PyTreeDef) -> PyTreeDef:
        """This structure with every leaf replaced by `inner`."""
        if self.node_type is None:
            return inner
        return _node(self.node_type, self.aux, tuple(c.compose(inner) for c in self.children),
                     self._kind)

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
            return "{" + ", ".join(f"{k!r}: {c._str()}"
                                   for k, c in zip(self.aux, self.children)) + "}"
        if self._kind is type(None):
            return "None"
        if _is_namedtuple_type(self._kind):
            return f"CustomNode(namedtuple[{self.node_type.name}], [{inner}])"
        return f"CustomNode({self.node_type.name}[{self.aux}], [{inner}])"


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


# ---------------------------------------------------------------------------------------
# Flattening and rebuilding


def tree_flatten(tree, is_leaf: _Callable[[_Any], bool] | None = None):
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
        leaves = list(leaves) if not isinstance(leaves, (list, tuple)) else leaves
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
    """The leaves of `tree`, left to right (dicts in sorted key order)."""
    leaves: list = []
    _collect(tree, leaves, is_leaf)
    return leaves


def _collect(x, leaves, is_leaf) -> None:
    # _flatten's walk without building the tree definition (a third of the cost of a
    # per-step `block_until_ready(params)`)
    if is_leaf is not None and is_leaf(x):
        leaves.append(x)
        return
    cls = type(x)
    if cls is tuple or cls is list:
        for c in x:
            _collect(c, leaves, is_leaf)
    elif cls is dict:
        for k in sorted(x):
            _collect(x[k], leaves, is_leaf)
    elif x is not None:
        nt = _node_type(x)
        if nt is None:
            leaves.append(x)
        else:
            for c in nt.to_iterable(x)[0]:
                _collect(c, leaves, is_leaf)


def tree_structure(tree, is_leaf=None) -> PyTreeDef:
    """The `PyTreeDef` of `tree`."""
    return tree_flatten(tree, is_leaf)[1]


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    """Whether `treedef` has a single node, as JAX's: a leaf, and also an empty container
    (None, [], (), {}), which has no children."""
    return treedef.num_nodes == 1


def treedef_children(treedef: PyTreeDef) -> list[PyTreeDef]:
    """The tree definitions of `treedef`'s root's children."""
    return treedef.children()


def treedef_tuple(treedefs) -> PyTreeDef:
    """The tree definition of a tuple whose children have the structures `treedefs`."""
    return _node(_TUPLE, None, tuple(treedefs), tuple)


def all_leaves(iterable, is_leaf=None) -> bool:
    """Whether every element of `iterable` is a leaf (JAX's semantics with `is_leaf`: the
    elements must be exactly the leaves of the list they form)."""
    if is_leaf is None:
        return all(x is not None and _node_type(x) is None for x in iterable)
    items = list(iterable)
    leaves = tree_leaves(items, is_leaf)
    return len(leaves) == len(items) and all(a is b for a, b in zip(leaves, items))


def flatten_one_level(tree):
    """(children, aux data) of the root node of `tree`; a ValueError for a leaf."""
    nt = _node_type(tree)
    if nt is None:
        raise ValueError(f"flatten_one_level: can't flatten a leaf of type "
                         f"{type(tree).__name__}")
    children, aux = nt.to_iterable(tree)
    return tuple(children), aux


def flatten_one_level_with_keys(tree):
    """(((key, child), ...), aux data) of the root node of `tree`."""
    nt = _node_type(tree)
    if nt is None:
        raise ValueError(f"flatten_one_level_with_keys: can't flatten a leaf of type "
                         f"{type(tree).__name__}")
    keyed, aux = _keyed_children(nt, tree)
    return tuple(keyed), aux


def tree_map(f: _Callable, tree, *rest, is_leaf=None):
    """Apply `f` leafwise over `tree` and trees `rest` of the same structure."""
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = [_cut_at(treedef, r, "tree_map") for r in rest]
    return treedef.unflatten([f(*xs) for xs in zip(leaves, *others)])


def _cut_at(treedef: PyTreeDef, tree, what: str) -> list:
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


def tree_all(tree, *, is_leaf=None) -> bool:
    """Whether every leaf of `tree` is truthy."""
    return all(tree_leaves(tree, is_leaf))


_NO_INIT = object()


def tree_reduce(function, tree, initializer=_NO_INIT, is_leaf=None):
    """`functools.reduce(function, leaves[, initializer])` over the leaves of `tree`."""
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _NO_INIT:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_reduce_associative(operation, tree, *, identity=_NO_INIT, is_leaf=None):
    """Reduce the leaves of `tree` with an associative `operation`, pairwise (a balanced
    tree of calls); `identity` is the result for a tree without leaves."""
    items = tree_leaves(tree, is_leaf)
    if not items:
        if identity is _NO_INIT:
            raise TypeError("tree_reduce_associative: the tree has no leaves; give identity=")
        return identity
    while len(items) > 1:
        pairs = [operation(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
        if len(items) % 2:
            pairs.append(items[-1])
        items = pairs
    return items[0]


def tree_transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None,
                   pytree_to_transpose):
    """Turn an outer tree of inner trees into an inner tree of outer trees (`inner_treedef`
    None: the structure of the first inner tree)."""
    flat = _cut_at(outer_treedef, pytree_to_transpose, "tree_transpose")
    if inner_treedef is None:
        if not flat:
            raise ValueError("tree_transpose: inner_treedef=None needs a non-empty outer tree")
        inner_treedef = tree_structure(flat[0])
    inner = [_cut_at(inner_treedef, t, "tree_transpose") for t in flat]
    cols = list(zip(*inner)) if inner else [() for _ in range(inner_treedef.num_leaves)]
    return inner_treedef.unflatten([outer_treedef.unflatten(c) for c in cols])


def tree_broadcast(prefix_tree, full_tree, is_leaf=None):
    """`prefix_tree` with each of its leaves repeated over the matching subtree of
    `full_tree` (the result has `full_tree`'s structure)."""
    prefix_leaves, prefix_def = tree_flatten(prefix_tree, is_leaf)
    subtrees = _cut_at(prefix_def, full_tree, "tree_broadcast")
    full = [tree_map(lambda _, v=leaf: v, sub, is_leaf=is_leaf)
            for leaf, sub in zip(prefix_leaves, subtrees)]
    return prefix_def.unflatten(full)


# ---------------------------------------------------------------------------------------
# Key paths


def tree_flatten_with_path(tree, is_leaf=None, is_leaf_takes_path=False):
    """([(key path, leaf), ...], treedef): the leaves of `tree` with the keys that lead to
    them. With `is_leaf_takes_path=True`, `is_leaf` is called as `is_leaf(path, x)`."""
    pairs: list = []
    _flatten_with_path(tree, (), pairs, is_leaf, is_leaf_takes_path)
    return pairs, tree_structure(tree, _path_free_is_leaf(tree, pairs, is_leaf,
                                                          is_leaf_takes_path))


def _path_free_is_leaf(tree, pairs, is_leaf, takes_path):
    if is_leaf is None:
        return None
    if not takes_path:
        return is_leaf
    stopped = {id(x) for _, x in pairs}
    return lambda x: id(x) in stopped and _node_type(x) is not None


def _flatten_with_path(x, path, out, is_leaf, takes_path):
    if is_leaf is not None and (is_leaf(path, x) if takes_path else is_leaf(x)):
        out.append((path, x))
        return
    nt = _node_type(x)
    if nt is None:
        out.append((path, x))
        return
    keyed, _ = _keyed_children(nt, x)
    for k, c in keyed:
        _flatten_with_path(c, path + (k,), out, is_leaf, takes_path)


def tree_leaves_with_path(tree, is_leaf=None, is_leaf_takes_path=False) -> list:
    """[(key path, leaf), ...] of `tree`."""
    return tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)[0]


def tree_map_with_path(f: _Callable, tree, *rest, is_leaf=None, is_leaf_takes_path=False):
    """Apply `f(path, leaf, *others)` leafwise over `tree` and trees `rest` of the same
    structure."""
    pairs, treedef = tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)
    others = [_cut_at(treedef, r, "tree_map_with_path") for r in rest]
    return treedef.unflatten([f(p, x, *xs) for (p, x), *xs in zip(pairs, *others)])


# ---------------------------------------------------------------------------------------
# Partial


class Partial(functools.partial):
    """`functools.partial` that is a pytree: the bound arguments are its children and the
    function is static, so a `Partial` can be passed to and returned from transformed
    functions (JAX's `tree_util.Partial`)."""

    def __new__(cls, func, *args, **kw):
        if isinstance(func, functools.partial):
            # functools.partial would merge a partial's arguments into this one's; boxing it
            # keeps exactly `args`/`kw` as the children (the inner partial stays static).
            inner = func
            return super().__new__(cls, _PartialBox(inner), *args, **kw)
        return super().__new__(cls, func, *args, **kw)


class _PartialBox:
    """A `functools.partial` held as one static callable (equal and hashed as the partial)."""

    __slots__ = ("inner",)

    def __init__(self, inner):
        self.inner = inner

    def __call__(self, *args, **kw):
        return self.inner(*args, **kw)

    def __eq__(self, other):
        return isinstance(other, _PartialBox) and self.inner == other.inner

    def __hash__(self):
        return hash(self.inner)


register_pytree_node(
    Partial,
    lambda p: ((p.args, p.keywords), p.func),
    lambda func, xs: Partial(func, *xs[0], **xs[1]),
    lambda p: (((GetAttrKey("args"), p.args), (GetAttrKey("keywords"), p.keywords)), p.func))
