"""Saving and loading pytrees of arrays: `save(path, tree)` and `load(path)`.

One `.npz` file holds the array leaves (`leaf_0`, `leaf_1`, ...) and, under `__funcgrad_tree__`,
a JSON description of the tree: node kinds (tuple, list, dict, None, namedtuple by importable
qualified name, optimizer state), Python scalar leaves, and per array leaf its kind (funcgrad
`Array`, NumPy array or NumPy scalar) and weak type. Loading never unpickles anything and only
instantiates namedtuple classes; writes go to a temporary file moved into place atomically.
"""
from __future__ import annotations

import importlib
import json
import os
import tempfile

import numpy as np

from funcgrad import core, dtypes

__all__ = ["load", "save"]

_TREE_KEY = "__funcgrad_tree__"
_FORMAT = "funcgrad.io/1"
_SCALAR_TYPES = {"bool": bool, "int": int, "float": float, "str": str}


def save(path, pytree) -> None:
    """Write `pytree` to `path` (an .npz file; no suffix is added). Leaves may be funcgrad
    arrays, NumPy arrays and scalars, Python bool/int/float/str; nodes tuples, lists, dicts
    (keys str/int/float/bool/None), None, importable namedtuples and `OptimizerState`s."""
    arrays: dict[str, np.ndarray] = {}
    structure = {"format": _FORMAT, "tree": _encode(pytree, arrays)}
    blob = json.dumps(structure, allow_nan=True).encode("utf-8")
    arrays[_TREE_KEY] = np.frombuffer(blob, np.uint8)
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load(path):
    """Read a pytree written by `save`, with the same structure, dtypes and weak types."""
    with np.load(os.fspath(path), allow_pickle=False) as data:
        if _TREE_KEY not in data.files:
            raise ValueError(f"{os.fspath(path)}: not a funcgrad.io file (no tree structure)")
        structure = json.loads(data[_TREE_KEY].tobytes().decode("utf-8"))
        if structure.get("format") != _FORMAT:
            raise ValueError(f"{os.fspath(path)}: unsupported format {structure.get('format')!r}")
        return _decode(structure["tree"], data)


# ---------------------------------------------------------------------------------------
# Encoding


def _encode(x, arrays):
    from funcgrad.optimizers import JoinPoint, OptimizerState, unpack_optimizer_state
    if x is None:
        return {"k": "none"}
    if isinstance(x, OptimizerState):
        return {"k": "optstate", "c": _encode(unpack_optimizer_state(x), arrays)}
    if isinstance(x, JoinPoint):
        return {"k": "join", "c": _encode(x.subtree, arrays)}
    if isinstance(x, core.Array):
        if isinstance(x, core.Tracer):
            raise TypeError("funcgrad.io.save: cannot save a traced value (inside jit/grad/"
                            "vmap); save concrete arrays outside the transform")
        return _leaf(np.asarray(x), arrays, "array", weak=x.weak_type)
    if isinstance(x, np.ndarray):
        return _leaf(x, arrays, "ndarray")
    if isinstance(x, np.generic):
        return _leaf(np.asarray(x), arrays, "npscalar")
    if isinstance(x, (bool, int, float, str)):
        return {"k": "py", "t": _base_scalar_name(x), "v": x}
    if type(x) is tuple:
        return {"k": "tuple", "c": [_encode(c, arrays) for c in x]}
    if type(x) is list:
        return {"k": "list", "c": [_encode(c, arrays) for c in x]}
    if type(x) is dict:
        return {"k": "dict", "keys": [_encode_key(k) for k in x],
                "c": [_encode(v, arrays) for v in x.values()]}
    if isinstance(x, tuple) and hasattr(type(x), "_fields"):
        return {"k": "namedtuple", "type": _qualified_name(type(x)),
                "c": [_encode(c, arrays) for c in x]}
    raise TypeError(f"funcgrad.io.save: cannot serialise a {type(x).__module__}."
                    f"{type(x).__qualname__}; supported: arrays, Python/NumPy scalars, "
                    "str, None, tuple, list, dict, namedtuples and optimizer states")


def _base_scalar_name(x) -> str:
    for name in ("bool", "int", "float", "str"):
        if isinstance(x, _SCALAR_TYPES[name]):
            return name
    raise TypeError(type(x))


def _leaf(value: np.ndarray, arrays, kind: str, weak: bool = False):
    if value.dtype.hasobject:
        raise TypeError("funcgrad.io.save: object arrays are not supported")
    name = f"leaf_{len(arrays)}"
    arrays[name] = value
    node = {"k": "leaf", "a": kind, "name": name}
    if weak:
        node["weak"] = True
    return node


def _encode_key(k):
    if k is None:
        return {"t": "none"}
    if type(k) in (bool, int, float, str):
        return {"t": type(k).__name__, "v": k}
    raise TypeError(f"funcgrad.io.save: dict key {k!r} of type {type(k).__name__} is not "
                    "supported (use str, int, float, bool or None)")


def _qualified_name(cls) -> str:
    name = f"{cls.__module__}:{cls.__qualname__}"
    if _resolve(name) is not cls:
        raise TypeError(f"funcgrad.io.save: namedtuple {cls.__qualname__} is not importable "
                        f"as {name} (define it at module level to save it)")
    return name


def _resolve(name: str):
    module, _, qualname = name.partition(":")
    try:
        obj = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        return None
    return obj


# ---------------------------------------------------------------------------------------
# Decoding


def _decode(node, data):
    kind = node["k"]
    if kind == "none":
        return None
    if kind == "leaf":
        return _decode_leaf(node, data)
    if kind == "py":
        return _SCALAR_TYPES[node["t"]](node["v"])
    if kind in ("tuple", "list"):
        children = [_decode(c, data) for c in node["c"]]
        return tuple(children) if kind == "tuple" else children
    if kind == "dict":
        return {_decode_key(k): _decode(c, data) for k, c in zip(node["keys"], node["c"])}
    if kind == "namedtuple":
        cls = _resolve(node["type"])
        if not (isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")):
            raise ValueError(f"funcgrad.io.load: {node['type']} is not an importable "
                             "namedtuple class")
        return cls(*[_decode(c, data) for c in node["c"]])
    if kind == "optstate":
        from funcgrad.optimizers import pack_optimizer_state
        return pack_optimizer_state(_decode(node["c"], data))
    if kind == "join":
        from funcgrad.optimizers import JoinPoint
        return JoinPoint(_decode(node["c"], data))
    raise ValueError(f"funcgrad.io.load: unknown node kind {kind!r}")


def _decode_leaf(node, data):
    value = data[node["name"]]
    if node["a"] == "ndarray":
        return value
    if node["a"] == "npscalar":
        return value[()]
    value = np.array(value, dtype=dtypes.canonicalize(value.dtype), order="C")
    value.flags.writeable = False
    aval = core.ShapedArray(value.shape, value.dtype, node.get("weak", False))
    return core.ArrayImpl(value, aval)


def _decode_key(k):
    if k["t"] == "none":
        return None
    return _SCALAR_TYPES[k["t"]](k["v"])
