"""Saving and loading pytrees of arrays: `save(path, tree)` and `load(path)`.

One `.npz` file (a zip of `.npy` members, format "funcgrad.io/1") holds the array leaves
(`leaf_0`, `leaf_1`, ...) and, under `__funcgrad_tree__`, a JSON description of the tree: node
kinds (tuple, list, dict, None, namedtuple and registered pytree node by `module:QualName`,
optimizer state), Python scalar leaves, and per array leaf its kind (funcgrad `Array`, NumPy
array or NumPy scalar) and weak type. Writes go to a temporary file moved into place atomically.

`load` treats the file as untrusted data:

- it never imports a module and never unpickles: a type named in the file must already be in
  memory, as a namedtuple defined in an imported module or a class registered with
  `funcgrad.tree.register_pytree_node`; object arrays are refused;
- it reads only arrays of the dtypes funcgrad supports (`funcgrad.dtypes.SUPPORTED`) whose
  `.npy` header agrees with the member's size;
- limits, each a keyword argument of `load`: `max_bytes` (total uncompressed size,
  `DEFAULT_MAX_BYTES` = 4 GiB, against zip bombs), `max_arrays` (`DEFAULT_MAX_ARRAYS` =
  100,000 members) and `max_depth` (tree nesting, `DEFAULT_MAX_DEPTH` = 100); the JSON tree
  structure itself may use at most `MAX_STRUCTURE_BYTES` (64 MiB) of the byte budget;
- every problem with the file is a `LoadError` (a `ValueError`) naming the file, what is wrong
  and what to do; a missing file's error is also a `FileNotFoundError`.
"""
from __future__ import annotations

import errno
import functools
import inspect
import json
import math
import os
import reprlib
import struct
import sys
import tempfile
import types
import zipfile
import zlib

import numpy as np

from funcgrad import core, dtypes, tree

__all__ = ["DEFAULT_MAX_ARRAYS", "DEFAULT_MAX_BYTES", "DEFAULT_MAX_DEPTH", "MAX_STRUCTURE_BYTES",
           "LoadError", "load", "save"]

DEFAULT_MAX_BYTES = 4 << 30
DEFAULT_MAX_ARRAYS = 100_000
DEFAULT_MAX_DEPTH = 100
MAX_STRUCTURE_BYTES = 64 << 20

_TREE_KEY = "__funcgrad_tree__"
_FORMAT = "funcgrad.io/1"
_SCALAR_TYPES = {"bool": bool, "int": int, "float": float, "str": str}
# What JSON may hold for each scalar type (an integral float may have been written as `1`).
_SCALAR_JSON = {"bool": (bool,), "int": (int,), "float": (float, int), "str": (str,)}
_LEAF_KINDS = ("array", "ndarray", "npscalar")
_BUILTIN_NODES = (tuple, list, dict, type(None))
_READ_CHUNK = 1 << 20
_MISSING = object()

# zipfile and numpy.lib.format raise many types on crafted input (BadZipFile, EOFError,
# struct.error, NotImplementedError for unknown compression, RuntimeError for encryption,
# zlib.error, ValueError, OverflowError, ...): each means "this file cannot be read".
_READ_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
                TypeError, SyntaxError, struct.error, NotImplementedError, RuntimeError,
                zlib.error, OverflowError, IndexError, KeyError)


class LoadError(ValueError):
    """A file `funcgrad.io.load` refuses: missing, empty, truncated, not a funcgrad.io file,
    corrupt, over a limit, or naming a type that is not already loaded. The message names the
    file, the problem and the fix."""


class _MissingFileError(FileNotFoundError, LoadError):
    """`load` of a path that does not exist: both a `FileNotFoundError` and a `LoadError`."""


# ---------------------------------------------------------------------------------------
# Saving


def save(path, pytree) -> None:
    """Write `pytree` to `path` (an .npz file; no suffix is added), atomically (a temporary
    file in the same directory, renamed into place). Leaves may be funcgrad arrays, NumPy
    arrays and scalars of the dtypes funcgrad supports, and Python bool/int/float/str; nodes
    tuples, lists, dicts (keys str/int/float/bool/None), None, namedtuples, `OptimizerState`s
    and classes registered with `funcgrad.tree.register_pytree_node` (whose aux data must be
    plain Python data). Raises TypeError for anything `load` could not read back, and
    ValueError for a tree nested deeper than `DEFAULT_MAX_DEPTH`. Under `mpirun` (after
    `funcgrad.distributed.initialize()`), process 0 writes and every process returns once
    the file exists, so all of them can `load` it."""
    from .distributed.runtime import write_once
    write_once(lambda: _save(path, pytree), f"io.save({os.fspath(path)!r})")


def _save(path, pytree) -> None:
    arrays: dict[str, np.ndarray] = {}
    structure = {"format": _FORMAT, "tree": _Encoder(arrays).encode(pytree, 0)}
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


class _Encoder:
    def __init__(self, arrays: dict):
        self.arrays = arrays
        self.aux_owner = None   # the class whose aux data is being encoded, if any

    def encode(self, x, depth: int):
        from funcgrad.optimizers import JoinPoint, OptimizerState, unpack_optimizer_state
        if depth > DEFAULT_MAX_DEPTH:
            raise ValueError(f"funcgrad.io.save: the tree is nested more than "
                             f"{DEFAULT_MAX_DEPTH} levels deep, more than load reads by "
                             "default (max_depth); flatten the structure before saving")
        if x is None:
            return {"k": "none"}
        if isinstance(x, OptimizerState):
            return {"k": "optstate", "c": self.encode(unpack_optimizer_state(x), depth + 1)}
        if isinstance(x, JoinPoint):
            return {"k": "join", "c": self.encode(x.subtree, depth + 1)}
        if isinstance(x, core.Array):
            if isinstance(x, core.Tracer):
                raise TypeError("funcgrad.io.save: cannot save a traced value (inside jit/"
                                "grad/vmap); save concrete arrays outside the transform")
            return self.leaf(np.asarray(x), "array", weak=x.weak_type)
        if isinstance(x, np.ndarray):
            return self.leaf(x, "ndarray")
        if isinstance(x, np.generic):
            return self.leaf(np.asarray(x), "npscalar")
        if isinstance(x, (bool, int, float, str)):
            return {"k": "py", "t": _base_scalar_name(x), "v": x}
        if type(x) is tuple:
            return {"k": "tuple", "c": self.children(x, depth)}
        if type(x) is list:
            return {"k": "list", "c": self.children(x, depth)}
        if type(x) is dict:
            return {"k": "dict", "keys": [_encode_key(k) for k in x],
                    "c": self.children(x.values(), depth)}
        if isinstance(x, tuple) and _is_namedtuple(type(x)):
            return {"k": "namedtuple", "type": _saved_name(type(x), "namedtuple"),
                    "c": self.children(x, depth)}
        node_type = tree._registry.get(type(x))
        if node_type is not None:
            return self.registered(x, node_type, depth)
        raise TypeError(f"funcgrad.io.save: cannot serialise a {type(x).__module__}."
                        f"{type(x).__qualname__}; supported: arrays, Python/NumPy scalars, "
                        "str, None, tuple, list, dict, namedtuples, optimizer states and "
                        "classes registered with funcgrad.tree.register_pytree_node")

    def children(self, xs, depth: int) -> list:
        return [self.encode(c, depth + 1) for c in xs]

    def registered(self, x, node_type, depth: int):
        cls = type(x)
        name = _saved_name(cls, "node")
        children, aux = node_type.to_iterable(x)
        outer, self.aux_owner = self.aux_owner, cls
        try:
            aux_node = self.encode(aux, depth + 1)
        except TypeError as e:
            raise TypeError(f"funcgrad.io.save: the aux data {reprlib.repr(aux)} of {name} "
                            f"cannot be saved ({e}); aux data must be plain Python data "
                            "(None, bool, int, float, str, tuples, lists, dicts)") from e
        finally:
            self.aux_owner = outer
        return {"k": "node", "type": name, "aux": aux_node, "c": self.children(children, depth)}

    def leaf(self, value: np.ndarray, kind: str, weak: bool = False):
        if self.aux_owner is not None:
            raise TypeError(f"an array in the aux data of {self.aux_owner.__qualname__} "
                            "(arrays belong in the children)")
        problem = _dtype_problem(value.dtype)
        if problem:
            raise TypeError(f"funcgrad.io.save: cannot save an array of dtype {problem}; "
                            "convert it to a supported dtype first")
        name = f"leaf_{len(self.arrays)}"
        self.arrays[name] = value
        node = {"k": "leaf", "a": kind, "name": name}
        if weak:
            node["weak"] = True
        return node


def _base_scalar_name(x) -> str:
    for name in ("bool", "int", "float", "str"):
        if isinstance(x, _SCALAR_TYPES[name]):
            return name
    raise TypeError(type(x))


def _encode_key(k):
    if k is None:
        return {"t": "none"}
    if type(k) in (bool, int, float, str):
        return {"t": type(k).__name__, "v": k}
    raise TypeError(f"funcgrad.io.save: dict key {k!r} of type {type(k).__name__} is not "
                    "supported (use str, int, float, bool or None)")


def _saved_name(cls, kind: str) -> str:
    """`module:QualName` for `cls`, checked to lead `load` back to exactly `cls`."""
    name = f"{cls.__module__}:{cls.__qualname__}"
    found = _candidates(name, kind)
    if len(found) > 1:
        raise TypeError(f"funcgrad.io.save: the name {name} is ambiguous: {len(found)} "
                        "different loaded classes carry it; give them distinct names")
    if found != [cls]:
        raise TypeError(f"funcgrad.io.save: {cls.__qualname__} would not be found by load as "
                        f"{name}: define it at the top level of an importable module, or "
                        "register it with funcgrad.tree.register_pytree_node")
    return name


# bfloat16 and the narrow types (float8_*, int4, ...) have no .npy type code (np.save writes
# them as raw 'V2'/'V1' bytes, which load could not tell from any other void): they need
# their own field in the leaf node first.
_STORABLE = dtypes.SUPPORTED - {dtypes.bfloat16} - dtypes.NARROW


def _dtype_problem(dt: np.dtype) -> str | None:
    """None for a dtype funcgrad.io stores; otherwise a description of why not."""
    if dt == dtypes.bfloat16 or dt in dtypes.NARROW:
        wide = ("float32" if dtypes.is_float(dt) else
                "uint8" if dtypes.is_unsigned(dt) else "int8")
        return (f"{dt} (the .npy format has no type code for it; save "
                f"x.astype({wide}), which holds every {dt} value exactly)")
    return _dtype_problem_in(dt, _STORABLE)


@functools.lru_cache(maxsize=64)
def _dtype_problem_in(dt: np.dtype, supported: frozenset) -> str | None:
    # The allow-list is the dtypes funcgrad supports but ml_dtypes' (see _STORABLE). Cached
    # because a checkpoint has one header per array.
    if dt.hasobject:
        return (f"{dt} (Python objects, which would need pickle; funcgrad.io never "
                "unpickles)")
    allowed = frozenset(np.dtype(d).name for d in supported)
    if dt.fields is not None or dt.subdtype is not None or dt.name not in allowed:
        return f"{dt}; funcgrad.io stores only {', '.join(sorted(allowed))}"
    return None


# ---------------------------------------------------------------------------------------
# Finding classes without importing


def _valid_type_name(name) -> bool:
    if type(name) is not str:
        return False
    module, sep, qualname = name.partition(":")
    return (bool(sep) and all(p.isidentifier() for p in module.split("."))
            and all(p.isidentifier() or p == "<locals>" for p in qualname.split(".")))


def _loaded_object(name: str):
    """The object `module:QualName` names if its module is already imported, read from
    namespaces directly: no import, no module `__getattr__` (PEP 562), no lazy-loader or
    metaclass attribute hooks run."""
    module_name, _, qualname = name.partition(":")
    obj = sys.modules.get(module_name)
    if obj is None:
        return _MISSING
    for part in qualname.split("."):
        if not issubclass(type(obj), (types.ModuleType, type)):
            return _MISSING
        namespace = object.__getattribute__(obj, "__dict__")
        obj = namespace.get(part, _MISSING)
        if obj is _MISSING:
            return _MISSING
    return obj


def _is_namedtuple(obj) -> bool:
    if not (issubclass(type(obj), type) and issubclass(obj, tuple)):
        return False
    fields = inspect.getattr_static(obj, "_fields", None)
    return type(fields) is tuple and all(type(f) is str for f in fields)


def _is_custom_node(obj) -> bool:
    return (issubclass(type(obj), type) and obj in tree._registry
            and obj not in _BUILTIN_NODES and not _is_namedtuple(obj))


def _named_objects(name: str) -> list:
    """Everything already in memory that `name` may mean: registered pytree node classes
    carrying that name, and the object it names in an already-imported module."""
    found = [cls for cls in list(tree._registry)
             if f"{getattr(cls, '__module__', None)}:{getattr(cls, '__qualname__', None)}"
             == name]
    obj = _loaded_object(name)
    if obj is not _MISSING and not any(obj is c for c in found):
        found.append(obj)
    return found


def _candidates(name: str, kind: str) -> list:
    check = _is_namedtuple if kind == "namedtuple" else _is_custom_node
    return [obj for obj in _named_objects(name) if check(obj)]


# ---------------------------------------------------------------------------------------
# Loading


def load(path, *, max_bytes: int | None = DEFAULT_MAX_BYTES,
         max_arrays: int | None = DEFAULT_MAX_ARRAYS, max_depth: int = DEFAULT_MAX_DEPTH):
    """Read a pytree written by `save`, with the same structure, dtypes and weak types.

    Safe on untrusted files: nothing is imported or unpickled (a namedtuple or registered
    node class named in the file must already be loaded: import its module, or register it,
    before calling `load`). `max_bytes` bounds the total uncompressed size (None: no bound),
    `max_arrays` the number of arrays (None: no bound) and `max_depth` the nesting of the
    tree. Raises `LoadError` (a ValueError naming the file) for anything it cannot read."""
    path = os.fspath(path)
    _check_limit("max_bytes", max_bytes, allow_none=True)
    _check_limit("max_arrays", max_arrays, allow_none=True)
    _check_limit("max_depth", max_depth, allow_none=False)
    with _open_for_reading(path) as f:
        archive = _Archive(path, _open_zip(path, f), max_bytes, max_arrays)
        with archive.zip:
            root = archive.structure()
            decoder = _Decoder(archive, max_depth)
            try:
                return decoder.decode(root, 0, "tree")
            except RecursionError:
                raise _error(path, "the tree is nested too deeply for Python's recursion "
                                   "limit") from None


def _open_for_reading(path):
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise _MissingFileError(errno.ENOENT, "funcgrad.io.load: no such file (check the "
                                "path; save writes exactly the name it is given)",
                                path) from None


def _check_limit(name: str, value, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if type(value) is not int or value < 0:
        raise ValueError(f"funcgrad.io.load: {name} must be a non-negative int"
                         f"{' or None' if allow_none else ''}, got {value!r}")


def _short(where: str) -> str:
    """A position in the tree ("tree/0/3/aux"), shortened for messages about deep trees."""
    return where if len(where) <= 60 else f"{where[:20]}...{where[-30:]}"


def _describe(obj) -> str:
    if issubclass(type(obj), type):
        return f"the class {obj.__module__}.{obj.__qualname__}"
    return f"a {type(obj).__name__}"


def _error(path, message: str) -> LoadError:
    return LoadError(f"funcgrad.io.load: {path}: {message}")


def _open_zip(path, f) -> zipfile.ZipFile:
    size = os.fstat(f.fileno()).st_size
    if size == 0:
        raise _error(path, "the file is empty (0 bytes): it was not written completely; "
                           "save it again or fetch it again")
    head = f.read(8)
    f.seek(0)
    try:
        return zipfile.ZipFile(f)
    except _READ_ERRORS as e:
        if head.startswith(b"PK"):
            problem = (f"the zip archive is truncated or corrupt ({e}; the file is {size} "
                       "bytes): it was probably cut short by an interrupted save, copy or "
                       "download; fetch or save it again")
        elif head.startswith(b"\x93NUMPY"):
            problem = ("this is a single NumPy .npy array, not a funcgrad.io file (an .npz "
                       "zip written by funcgrad.io.save); read it with numpy.load")
        else:
            problem = ("not a zip archive: funcgrad.io files are .npz zips written by "
                       f"funcgrad.io.save (the file starts with {head!r})")
        raise _error(path, problem) from e


class _Archive:
    """The members of an opened file, checked against the limits before anything is read."""

    def __init__(self, path, zf: zipfile.ZipFile, max_bytes, max_arrays):
        self.path = path
        self.zip = zf
        infos = zf.infolist()
        if max_arrays is not None and len(infos) > max_arrays + 1:
            zf.close()
            raise _error(path, f"the file holds {len(infos)} members, more than "
                               f"max_arrays={max_arrays} arrays (+1 for the tree); pass a "
                               "larger max_arrays to load if you trust this file")
        total = sum(info.file_size for info in infos)
        if max_bytes is not None and total > max_bytes:
            zf.close()
            packed = sum(info.compress_size for info in infos)
            raise _error(path, f"the file unpacks to {total} bytes, more than "
                               f"max_bytes={max_bytes} (it holds {packed} compressed bytes; "
                               "a zip bomb if that is far smaller); pass a larger max_bytes "
                               "(or None) to load if you trust this file")
        self.max_bytes = max_bytes
        self.members = {info.filename: info for info in infos}
        self.used: set[str] = set()

    def structure(self):
        info = self.members.get(_TREE_KEY + ".npy")
        if info is None:
            names = sorted(self.members)[:5]
            raise _error(self.path, f"not a funcgrad.io file (no tree structure: no "
                                    f"{_TREE_KEY!r} member; members {names}...); a plain "
                                    "NumPy .npz is read with numpy.load")
        limit = MAX_STRUCTURE_BYTES if self.max_bytes is not None else None
        if limit is not None and info.file_size > limit:
            raise _error(self.path, f"the tree structure is {info.file_size} bytes, more "
                                    f"than {limit}; pass max_bytes=None to load if you trust "
                                    "this file")
        blob = self.read(info, "the tree structure")
        if blob.dtype != np.uint8 or blob.ndim != 1:
            raise _error(self.path, f"the tree structure member {info.filename!r} is "
                                    f"{blob.dtype}{list(blob.shape)}, not uint8 bytes of "
                                    "JSON")
        try:
            structure = json.loads(blob.tobytes().decode("utf-8"))
        except RecursionError:
            raise _error(self.path, "the tree structure's JSON is nested deeper than "
                                    "Python's recursion limit allows; the file is corrupt "
                                    "or crafted") from None
        except ValueError as e:    # bad UTF-8, bad JSON, an int of too many digits
            raise _error(self.path, f"the tree structure is not valid JSON ({e}); the "
                                    "file is corrupt") from e
        if type(structure) is not dict:
            raise _error(self.path, f"the tree structure is a JSON {type(structure).__name__},"
                                    " not an object with 'format' and 'tree'")
        fmt = structure.get("format")
        if fmt != _FORMAT:
            newer = type(fmt) is str and fmt.startswith("funcgrad.io/")
            raise _error(self.path, f"unsupported format {fmt!r}; this funcgrad reads "
                                    f"{_FORMAT!r}" + ("; the file was written by a newer "
                                                      "funcgrad: upgrade" if newer else ""))
        if "tree" not in structure:
            raise _error(self.path, "the tree structure has no 'tree' entry")
        return structure["tree"]

    def array(self, name, where: str) -> np.ndarray:
        """The array member the structure calls `name`; each may be used once."""
        if type(name) is not str or name == _TREE_KEY:
            raise _error(self.path, f"bad array name {name!r} at {where}")
        info = self.members.get(name + ".npy")
        if info is None:
            raise _error(self.path, f"the tree refers to array {name!r} (at {where}), which "
                                    "is missing from the file: it is incomplete or was "
                                    "edited")
        if name in self.used:
            raise _error(self.path, f"array {name!r} is referenced more than once (at "
                                    f"{where}); save never writes that")
        self.used.add(name)
        return self.read(info, f"array {name!r}")

    def read(self, info: zipfile.ZipInfo, what: str) -> np.ndarray:
        """One .npy member, its header checked against the dtype allow-list and the member's
        size before any memory is allocated."""
        try:
            with self.zip.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dt = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, fortran, dt = np.lib.format.read_array_header_2_0(f)
                else:
                    raise self._member_error(info, what, f".npy version {version} is not "
                                                         "supported")
                problem = _dtype_problem(dt)
                if problem:
                    raise self._member_error(info, what, f"dtype {problem}")
                available = info.file_size - f.tell()
                if not all(type(d) is int and d >= 0 for d in shape) or len(shape) > 64:
                    raise self._member_error(info, what, f"bad shape {shape}")
                nbytes = math.prod(shape) * dt.itemsize
                if nbytes != available:
                    raise self._member_error(info, what, f"its header says shape {shape} "
                                                         f"{dt} ({nbytes} bytes), but the "
                                                         f"member holds {available} bytes")
                raw = np.empty(nbytes, np.uint8)
                view = memoryview(raw)
                done = 0
                while done < nbytes:
                    n = f.readinto(view[done:done + _READ_CHUNK])
                    if not n:
                        raise EOFError(f"data ends after {done} of {nbytes} bytes")
                    done += n
        except LoadError:
            raise
        except _READ_ERRORS as e:
            raise self._member_error(info, what, f"cannot be read ({type(e).__name__}: {e}); "
                                                 "the file is corrupt or not written by "
                                                 "funcgrad.io.save") from e
        values = raw.view(dt)
        return values.reshape(shape[::-1]).transpose() if fortran else values.reshape(shape)

    def _member_error(self, info, what: str, problem: str) -> LoadError:
        return _error(self.path, f"{what} (member {info.filename!r}): {problem}")


class _Decoder:
    """Turns the JSON tree into Python values, validating every node."""

    def __init__(self, archive: _Archive, max_depth: int):
        self.archive = archive
        self.path = archive.path
        self.max_depth = max_depth
        self.classes: dict[tuple[str, str], type] = {}
        self.optstate_depth = 0      # > 0 inside an optimizer state (where joins belong)
        self.aux_depth = 0           # > 0 inside a registered node's aux data (no arrays)

    def fail(self, message: str) -> LoadError:
        return _error(self.path, message)

    def decode(self, node, depth: int, where: str):
        if depth > self.max_depth:
            raise self.fail(f"the tree is nested more than max_depth={self.max_depth} levels "
                            f"deep (at {_short(where)}); pass a larger max_depth to load if "
                            "you trust this file")
        if type(node) is not dict or type(node.get("k")) is not str:
            raise self.fail(f"malformed node at {where}: expected a JSON object with a 'k' "
                            f"kind, got {reprlib.repr(node)}")
        kind = node["k"]
        if kind == "none":
            return None
        if kind == "leaf":
            return self.leaf(node, where)
        if kind == "py":
            return self.scalar(node, where)
        if kind == "tuple":
            return tuple(self.children(node, depth, where))
        if kind == "list":
            return self.children(node, depth, where)
        if kind == "dict":
            return self.dict(node, depth, where)
        if kind == "namedtuple":
            return self.namedtuple(node, depth, where)
        if kind == "node":
            return self.registered(node, depth, where)
        if kind == "optstate":
            return self.optstate(node, depth, where)
        if kind == "join":
            if not self.optstate_depth:
                raise self.fail(f"a 'join' node (an optimizer state marker) at {where} "
                                "outside an optimizer state")
            from funcgrad.optimizers import JoinPoint
            return JoinPoint(self.decode(node.get("c"), depth + 1, where + "/c"))
        raise self.fail(f"unknown node kind {reprlib.repr(kind)} at {where}")

    def children(self, node, depth: int, where: str) -> list:
        items = node.get("c")
        if type(items) is not list:
            raise self.fail(f"the {node['k']} node at {where} has no 'c' list of children")
        out = []
        for i, child in enumerate(items):
            out.append(self.decode(child, depth + 1, f"{where}/{i}"))
        return out

    def leaf(self, node, where: str):
        kind = node.get("a")
        if kind not in _LEAF_KINDS:
            raise self.fail(f"unknown leaf kind {reprlib.repr(kind)} at {where}")
        weak = node.get("weak", False)
        if type(weak) is not bool or (weak and kind != "array"):
            raise self.fail(f"bad 'weak' flag {reprlib.repr(weak)} at {where} (only funcgrad "
                            "arrays are weakly typed)")
        if self.aux_depth:
            raise self.fail(f"an array in a registered node's aux data at {where}")
        value = self.archive.array(node.get("name"), where)
        if kind == "ndarray":
            return value
        if kind == "npscalar":
            if value.ndim:
                raise self.fail(f"the NumPy scalar at {where} is stored with shape "
                                f"{value.shape}, not as a 0-d array")
            return value[()]
        # (64-bit data becomes 32-bit when 64-bit types are off, as every input does)
        dt = dtypes.canonicalize_value(value.dtype.newbyteorder("="))
        value = np.array(value, dtype=dt, order="C")
        value.flags.writeable = False
        return core.ArrayImpl(value, core.ShapedArray(value.shape, dt, weak))

    def scalar(self, node, where: str):
        t, v = node.get("t"), node.get("v")
        allowed = _SCALAR_JSON.get(t) if type(t) is str else None
        if allowed is None:
            raise self.fail(f"unknown scalar type {reprlib.repr(t)} at {where}")
        if type(v) not in allowed:
            raise self.fail(f"the scalar at {where} is declared {t!r} but holds "
                            f"{type(v).__name__} {reprlib.repr(v)}")
        return float(v) if t == "float" else v

    def dict(self, node, depth: int, where: str):
        values = self.children(node, depth, where)
        keys = node.get("keys")
        if type(keys) is not list or len(keys) != len(values):
            count = len(keys) if type(keys) is list else "no"
            raise self.fail(f"the dict at {where} has {count} keys for {len(values)} values")
        out = {}
        for k, value in zip(keys, values):
            t = k.get("t") if type(k) is dict else None
            if t == "none":
                out[None] = value
                continue
            allowed = _SCALAR_JSON.get(t) if type(t) is str else None
            v = k.get("v") if type(k) is dict else None
            if allowed is None or type(v) not in allowed:
                raise self.fail(f"bad dict key {reprlib.repr(k)} at {where} (keys are "
                                "None, bool, int, float or str)")
            out[float(v) if t == "float" else v] = value
        return out

    def resolve(self, name, kind: str, where: str):
        """The loaded class `name` means for a `kind` node ("namedtuple" or "node")."""
        if not _valid_type_name(name):
            raise self.fail(f"malformed type name {reprlib.repr(name)} at {where} (expected "
                            "'module:QualName')")
        cached = self.classes.get((name, kind))
        if cached is not None:
            return cached
        found = _named_objects(name)
        matches = _candidates(name, kind)
        if len(matches) > 1:
            raise self.fail(f"the type name {name!r} at {where} is ambiguous: "
                            f"{len(matches)} loaded classes carry it")
        if not matches:
            module = name.partition(":")[0]
            if kind == "namedtuple" and found:
                raise self.fail(f"{name!r} at {where} names {_describe(found[0])}, which is "
                                "not a namedtuple class")
            if kind == "node" and found:
                raise self.fail(f"{name!r} at {where} names {_describe(found[0])}, which is "
                                "not a custom pytree node class: register it with "
                                "funcgrad.tree.register_pytree_node before calling load")
            raise self.fail(
                f"the file names the type {name!r} (at {where}), which is neither registered "
                "with funcgrad.tree nor defined in an already-imported module; load never "
                "imports the modules a file names (importing runs their code). If you trust "
                f"that module, `import {module}` (or register the class with "
                "funcgrad.tree.register_pytree_node) before calling load")
        self.classes[(name, kind)] = matches[0]
        return matches[0]

    def namedtuple(self, node, depth: int, where: str):
        name = node.get("type")
        cls = self.resolve(name, "namedtuple", where)
        values = self.children(node, depth, where)
        fields = inspect.getattr_static(cls, "_fields")
        if len(values) != len(fields):
            raise self.fail(f"the file gives {len(values)} values for the namedtuple {name!r} "
                            f"at {where}, but the loaded class has {len(fields)} fields "
                            f"{fields}: the class changed since the file was saved")
        try:
            return cls(*values)
        except Exception as e:    # the class's own __new__ may validate its fields
            raise self.fail(f"building {name!r} at {where} failed: {e}") from e

    def registered(self, node, depth: int, where: str):
        name = node.get("type")
        cls = self.resolve(name, "node", where)
        self.aux_depth += 1
        try:
            aux = self.decode(node.get("aux"), depth + 1, where + "/aux")
        finally:
            self.aux_depth -= 1
        values = self.children(node, depth, where)
        try:
            return tree._registry[cls].from_iterable(aux, values)
        except Exception as e:    # the registered unflatten function meets the file's data
            raise self.fail(f"unflattening {name!r} at {where} with aux data "
                            f"{reprlib.repr(aux)} failed: {type(e).__name__}: {e}") from e

    def optstate(self, node, depth: int, where: str):
        from funcgrad.optimizers import pack_optimizer_state
        self.optstate_depth += 1
        try:
            marked = self.decode(node.get("c"), depth + 1, where + "/c")
        finally:
            self.optstate_depth -= 1
        try:
            return pack_optimizer_state(marked)
        except (TypeError, ValueError) as e:
            raise self.fail(f"the optimizer state at {where} is malformed: {e}") from e
