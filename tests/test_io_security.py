"""funcgrad.io.load on untrusted files: it never imports or unpickles anything, bounds the
memory and recursion a file can make it use, and turns every malformed file into one
`funcgrad.io.LoadError` that names the file. Also: round trips of every supported leaf and
node kind, and files written by the first version of `save` still load."""
import base64
import collections
import importlib
import importlib.util
import io as pyio
import json
import math
import os
import pathlib
import sys
import typing
import urllib.parse
import uuid
import zipfile
import zlib

import numpy as np
import pytest

import funcgrad as fg
from funcgrad import core, dtypes, io, tree
from funcgrad import numpy as fnp
from funcgrad import optimizers as opt

pytestmark = pytest.mark.core

FORMAT = "funcgrad.io/1"
TREE = "__funcgrad_tree__"

Point = collections.namedtuple("Point", ["x", "y"])


class Outer:
    class Inner(typing.NamedTuple):
        """Nested: found through the qualified name `Outer.Inner`."""
        a: object
        b: object


class Labelled(Point):
    """A namedtuple subclass: `_fields` is inherited, not in the class's own namespace."""

    def norm(self):
        return math.hypot(self.x, self.y)


@tree.register_pytree_node_class
class Scaled:
    """A registered (non-namedtuple) pytree node with static aux data."""

    def __init__(self, value, scale, name):
        self.value, self.scale, self.name = value, scale, name

    def tree_flatten(self):
        return (self.value,), (self.scale, self.name)

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(children[0], *aux)


# ---------------------------------------------------------------------------------------
# Helpers that write files the way an attacker (or a broken disk) would


def _npy(array, allow_pickle=False) -> bytes:
    buf = pyio.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(array), allow_pickle=allow_pickle)
    return buf.getvalue()


def _npy_raw(header: str, data: bytes) -> bytes:
    """A version 1.0 .npy member with a hand-written header (which numpy would never write)."""
    header = header + " " * (-(len(header) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + data


def _tree_bytes(structure) -> bytes:
    blob = structure if isinstance(structure, bytes) else json.dumps(structure).encode()
    return _npy(np.frombuffer(blob, np.uint8))


def _write(path, structure, members=None, compression=zipfile.ZIP_STORED):
    """A zip with the tree member (`structure`: JSON-able or raw bytes) and `members`
    (name -> ndarray or raw .npy bytes)."""
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, value in (members or {}).items():
            zf.writestr(name + ".npy", value if isinstance(value, bytes) else _npy(value))
        if structure is not None:
            zf.writestr(TREE + ".npy", _tree_bytes(structure))
    return path


def _file(tree_node):
    return {"format": FORMAT, "tree": tree_node}


def _leaf(name="leaf_0", kind="ndarray"):
    return {"k": "leaf", "a": kind, "name": name}


def _py(value, t="int"):
    return {"k": "py", "t": t, "v": value}


def _load_error(path, *patterns, **kwargs):
    """Load `path`, expecting a LoadError whose message names the file and each pattern."""
    with pytest.raises(io.LoadError) as info:
        io.load(path, **kwargs)
    message = str(info.value)
    assert str(path) in message, message
    for pattern in patterns:
        assert pattern in message, (pattern, message)
    return info.value


def _same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (fg.Array, np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape
        if isinstance(a, fg.Array):
            assert a.weak_type == b.weak_type
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    elif isinstance(a, Scaled):
        _same(a.value, b.value)
        assert (a.scale, a.name) == (b.scale, b.name)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


# ---------------------------------------------------------------------------------------
# load never imports: the code-execution hole of issue 9


def _module_file(directory, name, body):
    path = pathlib.Path(directory) / f"{name}.py"
    path.write_text(body)
    return path


@pytest.mark.parametrize("effect", ["marker", "exit"])
def test_load_never_imports_a_module_named_in_the_file(tmp_path, monkeypatch, effect):
    # A module beside a downloaded checkpoint (or a project's setup.py) on sys.path: naming
    # it in the file used to import it, running its top-level code during load.
    name = f"fg_io_evil_{uuid.uuid4().hex}"
    marker = tmp_path / "imported"
    side_effect = (f"pathlib.Path({str(marker)!r}).write_text('ran')" if effect == "marker"
                   else "raise SystemExit(3)")
    _module_file(tmp_path, name, "import collections, pathlib\n"
                                 f"{side_effect}\n"
                                 "P = collections.namedtuple('P', ['a'])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = _write(tmp_path / "ckpt.npz", _file({"k": "namedtuple", "type": f"{name}:P",
                                                "c": [_py(1)]}))
    try:
        _load_error(path, f"{name}:P", f"import {name}", "never imports")
        assert not marker.exists() and name not in sys.modules
        if effect == "marker":
            # Once the user imports the module, the class resolves.
            module = importlib.import_module(name)
            assert marker.exists()
            out = io.load(path)
            assert type(out) is module.P and out == (1,)
    finally:
        sys.modules.pop(name, None)


def test_load_never_imports_a_submodule_or_its_package(tmp_path, monkeypatch):
    pkg = f"fg_io_pkg_{uuid.uuid4().hex}"
    (tmp_path / pkg).mkdir()
    marker = tmp_path / "ran"
    touch = f"import pathlib\npathlib.Path({str(marker)!r}).write_text(__name__)\n"
    (tmp_path / pkg / "__init__.py").write_text(touch)
    (tmp_path / pkg / "sub.py").write_text(
        touch + "import collections\nP = collections.namedtuple('P', ['a'])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = _write(tmp_path / "ckpt.npz", _file({"k": "namedtuple", "type": f"{pkg}.sub:P",
                                                "c": [_py(1)]}))
    try:
        _load_error(path, f"{pkg}.sub:P")
        assert not marker.exists()
        importlib.import_module(pkg)           # the package, but not its submodule
        assert marker.read_text() == pkg
        _load_error(path, f"{pkg}.sub:P")
        assert f"{pkg}.sub" not in sys.modules and marker.read_text() == pkg
    finally:
        for mod in (pkg, f"{pkg}.sub"):
            sys.modules.pop(mod, None)


def test_load_does_not_call_module_getattr_hooks(tmp_path, monkeypatch):
    # A PEP 562 __getattr__ may import or build anything; load only reads module namespaces.
    name = f"fg_io_hook_{uuid.uuid4().hex}"
    _module_file(tmp_path, name, "import collections\ncalls = []\n"
                                 "def __getattr__(attr):\n"
                                 "    calls.append(attr)\n"
                                 "    return collections.namedtuple(attr, ['a'])\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(name)
    try:
        path = _write(tmp_path / "ckpt.npz", _file({"k": "namedtuple", "type": f"{name}:Lazy",
                                                    "c": [_py(1)]}))
        _load_error(path, f"{name}:Lazy")
        assert module.calls == []
    finally:
        sys.modules.pop(name, None)


def test_load_does_not_trigger_lazy_loaders(tmp_path):
    # importlib.util.LazyLoader puts a module in sys.modules whose first attribute access
    # runs its code: load must not touch it through normal attribute access.
    name = f"fg_io_lazy_{uuid.uuid4().hex}"
    marker = tmp_path / "ran"
    source = _module_file(tmp_path, name,
                          f"import collections, pathlib\n"
                          f"pathlib.Path({str(marker)!r}).write_text('ran')\n"
                          "P = collections.namedtuple('P', ['a'])\n")
    spec = importlib.util.spec_from_file_location(name, source)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    try:
        path = _write(tmp_path / "ckpt.npz", _file({"k": "namedtuple", "type": f"{name}:P",
                                                    "c": [_py(1)]}))
        _load_error(path, f"{name}:P")
        assert not marker.exists()
    finally:
        sys.modules.pop(name, None)


@pytest.mark.parametrize("name, reason", [
    ("builtins:tuple", "not a namedtuple"),
    ("collections:OrderedDict", "not a namedtuple"),
    ("os:system", "not a namedtuple"),
    ("os:path", "not a namedtuple"),
    ("builtins:type", "not a namedtuple"),
    # a fixed name: pytest-xdist's workers must collect the same test ids
    ("no_such_module_fg_io_never_imported_3f2a9c:P", "never imports"),
    ("collections:NoSuchName", "never imports"),
    ("collections", "malformed"),
    (":P", "malformed"),
    ("collections:", "malformed"),
    ("collections:a..b", "malformed"),
    (7, "malformed"),
])
def test_load_refuses_types_that_are_not_loaded_namedtuples(tmp_path, name, reason):
    path = _write(tmp_path / "t.npz", _file({"k": "namedtuple", "type": name,
                                             "c": [_py(1)]}))
    _load_error(path, reason, repr(name))


def test_registered_node_kind_needs_a_registered_class(tmp_path):
    # Scaled is registered; Labelled and dict are real classes but not registered custom
    # nodes, so a file cannot make load call them with arbitrary aux data.
    good = {"k": "node", "type": f"{Scaled.__module__}:Scaled",
            "aux": {"k": "tuple", "c": [_py(2.0, "float"), _py("w", "str")]},
            "c": [_py(1)]}
    out = io.load(_write(tmp_path / "a.npz", _file(good)))
    assert type(out) is Scaled and (out.value, out.scale, out.name) == (1, 2.0, "w")
    for name in (f"{Labelled.__module__}:Labelled", "builtins:dict", "builtins:list"):
        bad = dict(good, type=name)
        _load_error(_write(tmp_path / "b.npz", _file(bad)), repr(name), "register")


def test_registered_node_aux_may_not_hold_arrays(tmp_path):
    node = {"k": "node", "type": f"{Scaled.__module__}:Scaled",
            "aux": {"k": "tuple", "c": [_leaf(), _py("w", "str")]}, "c": [_py(1)]}
    path = _write(tmp_path / "a.npz", _file(node), {"leaf_0": np.ones(2)})
    _load_error(path, "aux")


def test_ambiguous_type_names_are_refused(tmp_path):
    def make():
        return collections.namedtuple("Twin", ["a"])

    twins = [make(), make()]
    name = f"{twins[0].__module__}:{twins[0].__qualname__}"
    path = _write(tmp_path / "a.npz", _file({"k": "namedtuple", "type": name,
                                             "c": [_py(1)]}))
    tree.register_pytree_node(twins[0], lambda t: (tuple(t), None), lambda _, xs: xs)
    try:
        assert type(io.load(path)) is twins[0]
        tree.register_pytree_node(twins[1], lambda t: (tuple(t), None), lambda _, xs: xs)
        _load_error(path, "ambiguous")
    finally:
        for cls in twins:
            tree._registry.pop(cls, None)


def test_registered_node_unflatten_failure_is_a_load_error(tmp_path):
    node = {"k": "node", "type": f"{Scaled.__module__}:Scaled",
            "aux": {"k": "tuple", "c": [_py(2.0, "float")]}, "c": [_py(1)]}
    _load_error(_write(tmp_path / "a.npz", _file(node)), "Scaled")


def test_namedtuple_field_count_must_match_the_class(tmp_path):
    node = {"k": "namedtuple", "type": f"{Point.__module__}:Point", "c": [_py(1)]}
    _load_error(_write(tmp_path / "a.npz", _file(node)), "Point", "2 fields", "1")


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    marker = tmp_path / "unpickled"

    class Boom:
        def __reduce__(self):
            return (pathlib.Path.touch, (marker,))

    array = np.empty(1, dtype=object)
    array[0] = Boom()
    path = _write(tmp_path / "p.npz", _file(_leaf()), {"leaf_0": _npy(array, allow_pickle=True)})
    _load_error(path, "leaf_0", "object")
    assert not marker.exists()
    # A whole-file pickle (what np.save of an object writes) is not a zip either.
    raw = tmp_path / "pickle.npz"
    raw.write_bytes(_npy(array, allow_pickle=True))
    _load_error(raw, "numpy.load")
    assert not marker.exists()


# ---------------------------------------------------------------------------------------
# Malformed files: one clear error naming the file


def test_missing_file(tmp_path):
    path = tmp_path / "nope.npz"
    err = _load_error(path, "no such file")
    assert isinstance(err, FileNotFoundError) and err.filename == str(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.npz"
    path.write_bytes(b"")
    _load_error(path, "empty")


def test_truncated_file(tmp_path):
    path = tmp_path / "t.npz"
    io.save(path, {"w": np.arange(1000.0)})
    data = path.read_bytes()
    for cut in (len(data) // 2, len(data) - 10, 40):
        path.write_bytes(data[:cut])
        _load_error(path, "truncated")


@pytest.mark.parametrize("content, hint", [
    (b"hello, this is not a checkpoint", "not a zip"),
    (b"\x89PNG\r\n\x1a\n" + bytes(64), "not a zip"),
    (_npy(np.ones(3)), "numpy.load"),
], ids=["text", "png", "npy"])
def test_not_a_zip_file(tmp_path, content, hint):
    path = tmp_path / "x.npz"
    path.write_bytes(content)
    _load_error(path, hint)


def test_zip_without_structure(tmp_path):
    path = tmp_path / "foreign.npz"
    np.savez(path, x=np.ones(2))
    _load_error(path, "not a funcgrad.io file")


@pytest.mark.parametrize("blob, hint", [
    (b"{not json", "JSON"),
    (b"\xff\xfe\x00", "JSON"),
    (b"[1, 2]", "format"),
    (b'"funcgrad.io/1"', "format"),
    (json.dumps({"format": FORMAT}).encode(), "tree"),
    (b'{"format": "funcgrad.io/1", "tree": {"k": "py", "t": "int", "v": 1' + b"0" * 5000
     + b"}}", "JSON"),
], ids=["syntax", "utf8", "list", "string", "no-tree", "huge-int"])
def test_bad_structure_json(tmp_path, blob, hint):
    _load_error(_write(tmp_path / "j.npz", blob), hint)


def test_structure_member_must_be_bytes(tmp_path):
    path = tmp_path / "s.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(TREE + ".npy", _npy(np.zeros((2, 2), np.float32)))
    _load_error(path, TREE, "uint8")


@pytest.mark.parametrize("version", ["funcgrad.io/2", None, 1])
def test_wrong_format_version(tmp_path, version):
    path = _write(tmp_path / "v.npz", {"format": version, "tree": {"k": "none"}})
    _load_error(path, repr(version), FORMAT)


def test_structure_referencing_missing_arrays(tmp_path):
    path = _write(tmp_path / "m.npz", _file({"k": "list", "c": [_leaf("leaf_0"),
                                                                _leaf("leaf_7")]}),
                  {"leaf_0": np.ones(2)})
    _load_error(path, "'leaf_7'", "missing")
    for name in (TREE, 3, None, "../leaf_0"):
        bad = _write(tmp_path / "n.npz", _file(_leaf(name)), {"leaf_0": np.ones(2)})
        _load_error(bad, repr(name))


def test_an_array_referenced_twice_is_refused(tmp_path):
    # Otherwise one big member could be materialised any number of times.
    path = _write(tmp_path / "d.npz", _file({"k": "list", "c": [_leaf(), _leaf()]}),
                  {"leaf_0": np.ones(2)})
    _load_error(path, "'leaf_0'", "more than once")


@pytest.mark.parametrize("node, hint", [
    ({"k": "exec", "c": []}, "'exec'"),
    ({"c": []}, "node"),
    ([1, 2], "node"),
    ({"k": "tuple", "c": {"a": 1}}, "'c'"),
    ({"k": "leaf", "a": "pickle", "name": "leaf_0"}, "'pickle'"),
    ({"k": "leaf", "a": "npscalar", "name": "leaf_0"}, "0-d"),
    ({"k": "leaf", "a": "ndarray", "name": "leaf_0", "weak": True}, "weak"),
    (_py("12"), "'int'"),
    (_py(True), "'int'"),
    (_py(1, "float"), None),          # an integral float written as 1 is still a float
    (_py(1, "complex"), "'complex'"),
    (_py(1.5, "bool"), "'bool'"),
    ({"k": "dict", "keys": [{"t": "str", "v": "a"}], "c": []}, "keys"),
    ({"k": "dict", "keys": [{"t": "list", "v": [1]}], "c": [_py(1)]}, "key"),
    ({"k": "join", "c": {"k": "none"}}, "optimizer"),
    ({"k": "optstate", "c": {"k": "list", "c": [_py(1)]}}, "optimizer"),
])
def test_malformed_nodes(tmp_path, node, hint):
    path = _write(tmp_path / "n.npz", _file(node), {"leaf_0": np.ones(2)})
    if hint is None:
        out = io.load(path)
        assert type(out) is float and out == 1.0
    else:
        _load_error(path, hint)


def test_too_deep(tmp_path):
    def nested(depth):
        return ('{"k": "tuple", "c": [' * depth + '{"k": "none"}' + "]}" * depth).encode()

    def wrap(tree_json):
        return b'{"format": "funcgrad.io/1", "tree": ' + tree_json + b"}"

    # Deeper than the default limit (but shallow enough for json): refused by the decoder.
    path = _write(tmp_path / "a.npz", wrap(nested(io.DEFAULT_MAX_DEPTH + 1)))
    _load_error(path, "nested", "max_depth")
    deep = io.load(path, max_depth=io.DEFAULT_MAX_DEPTH + 1)
    for _ in range(io.DEFAULT_MAX_DEPTH + 1):
        assert type(deep) is tuple and len(deep) == 1
        deep = deep[0]
    assert deep is None
    # Far deeper than Python's recursion limit: still a LoadError, never a RecursionError.
    for blob in (nested(50_000), b"[" * 100_000 + b"]" * 100_000):
        path = _write(tmp_path / "b.npz", wrap(blob))
        _load_error(path, "nested", max_depth=10**9)
    path = _write(tmp_path / "c.npz", _file({"k": "tuple", "c": [{"k": "tuple", "c": []}]}))
    _load_error(path, "max_depth", max_depth=0)
    assert io.load(path, max_depth=1) == ((),)


def test_too_big_zip_bomb(tmp_path):
    # 8 MiB of zeros deflate to a few KiB: the limit is on the uncompressed size.
    path = _write(tmp_path / "bomb.npz", _file(_leaf()),
                  {"leaf_0": np.zeros(8 << 20, np.uint8)}, compression=zipfile.ZIP_DEFLATED)
    assert path.stat().st_size < 64 << 10
    _load_error(path, "max_bytes", str(1 << 20), max_bytes=1 << 20)
    assert io.load(path).shape == (8 << 20,)
    assert io.load(path, max_bytes=None).shape == (8 << 20,)
    assert io.DEFAULT_MAX_BYTES >= 1 << 30


def test_header_cannot_claim_more_data_than_the_member_holds(tmp_path):
    # The old loader trusted the .npy header and allocated 8 TiB before reading.
    huge = _npy_raw("{'descr': '<f8', 'fortran_order': False, 'shape': (1099511627776,), }",
                    bytes(8))
    path = _write(tmp_path / "h.npz", _file(_leaf()), {"leaf_0": huge})
    _load_error(path, "leaf_0", "shape")


@pytest.mark.parametrize("header, data, hint", [
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", bytes(8), "shape"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", bytes(16), "shape"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", bytes(16), "shape"),
    ("{'descr': '<f8', 'fortran_order': 0, 'shape': (1,), }", bytes(8), "leaf_0"),
    ("{'descr': '<f8', 'shape': (1,), }", bytes(8), "leaf_0"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (2.5,), }", bytes(8), "leaf_0"),
    ("{'descr': __import__('os'), 'fortran_order': False, 'shape': (1,), }", bytes(8),
     "leaf_0"),
    ("{'descr': '<f8', 'fortran_order': False, 'shape': (1, True), }", bytes(8), "shape"),
], ids=["negative", "short", "long", "order", "no-order", "float-dim", "code", "bool-dim"])
def test_bad_npy_headers(tmp_path, header, data, hint):
    path = _write(tmp_path / "h.npz", _file(_leaf()), {"leaf_0": _npy_raw(header, data)})
    _load_error(path, hint)


def test_bfloat16_is_refused_with_a_fix(tmp_path):
    x = fnp.ones(2, fnp.bfloat16)
    with pytest.raises(TypeError, match=r"bfloat16 .*astype\(float32\)"):
        io.save(tmp_path / "b.npz", {"a": x})
    assert not (tmp_path / "b.npz").exists()


@pytest.mark.parametrize("array", [
    np.ones(2, np.clongdouble), np.array(["abc"]), np.array([b"ab"]),
    np.array(["2020-01-01"], "datetime64[D]"), np.zeros(2, [("a", "<f4"), ("b", "<i4")]),
    np.zeros(2, "V4"),
], ids=lambda a: str(a.dtype))
def test_dtypes_outside_the_allow_list_are_refused(tmp_path, array):
    path = _write(tmp_path / "d.npz", _file(_leaf()), {"leaf_0": array})
    _load_error(path, "leaf_0", "dtype")
    with pytest.raises(TypeError, match="dtype"):
        io.save(tmp_path / "s.npz", {"a": array})
    assert not (tmp_path / "s.npz").exists()


def test_npy_versions_other_than_1_and_2_are_refused(tmp_path):
    member = bytearray(_npy(np.ones(2)))
    member[6:8] = b"\x03\x00"
    path = _write(tmp_path / "v.npz", _file(_leaf()), {"leaf_0": bytes(member)})
    _load_error(path, "leaf_0", "(3, 0)")


def test_member_not_an_npy_array(tmp_path):
    path = _write(tmp_path / "x.npz", _file(_leaf()), {"leaf_0": b"plain bytes, no magic"})
    _load_error(path, "leaf_0")


def test_structure_size_limit(tmp_path, monkeypatch):
    path = tmp_path / "s.npz"
    io.save(path, {"name": "x" * 4096})
    monkeypatch.setattr(io, "MAX_STRUCTURE_BYTES", 1024)
    _load_error(path, "tree structure", "1024")
    assert io.load(path, max_bytes=None) == {"name": "x" * 4096}


@pytest.mark.parametrize("kwargs", [
    {"max_bytes": -1}, {"max_bytes": 1.5}, {"max_arrays": True}, {"max_depth": None},
    {"max_depth": "9"},
])
def test_limit_arguments_are_checked(tmp_path, kwargs):
    path = tmp_path / "a.npz"
    io.save(path, [1])
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        io.load(path, **kwargs)


def test_too_many_members(tmp_path):
    path = tmp_path / "many.npz"
    io.save(path, [np.ones(1)] * 5)
    _load_error(path, "max_arrays", max_arrays=4)
    assert len(io.load(path, max_arrays=5)) == 5


def _patch_central_directory(path, member, offset, value: bytes):
    data = bytearray(path.read_bytes())
    name = (member + ".npy").encode()
    start = 0
    while True:
        start = data.index(b"PK\x01\x02", start)
        name_len = int.from_bytes(data[start + 28:start + 30], "little")
        if data[start + 46:start + 46 + name_len] == name:
            data[start + offset:start + offset + len(value)] = value
            path.write_bytes(bytes(data))
            return
        start += 4


@pytest.mark.parametrize("offset, value, hint", [
    (10, (99).to_bytes(2, "little"), "compression"),   # an unsupported method
    (8, (1).to_bytes(2, "little"), "encrypted"),        # the encryption flag
], ids=["method", "encrypted"])
def test_unreadable_members(tmp_path, offset, value, hint):
    path = tmp_path / "z.npz"
    io.save(path, {"w": np.arange(4.0)})
    _patch_central_directory(path, "leaf_0", offset, value)
    _load_error(path, "leaf_0", hint)


def test_corrupt_member_data(tmp_path):
    path = tmp_path / "c.npz"
    io.save(path, {"w": np.full(64, 7.0)})
    data = bytearray(path.read_bytes())
    at = data.index(np.full(8, 7.0).tobytes())
    data[at + 3] ^= 0xFF
    path.write_bytes(bytes(data))
    _load_error(path, "leaf_0", "CRC")


# ---------------------------------------------------------------------------------------
# Round trips and compatibility


def _all_leaves():
    leaves = {}
    # (bfloat16 and the narrow types are refused with their own message: the .npy format
    # has no type code for them)
    for dt in sorted(dtypes.SUPPORTED - {dtypes.bfloat16} - dtypes.NARROW, key=str):
        values = np.arange(-3, 3).astype(dt).reshape(2, 3) if dt != np.bool_ else \
            np.array([[True, False, True], [False, False, True]])
        leaves[f"array_{dt}"] = fnp.asarray(values)
        leaves[f"ndarray_{dt}"] = values
        leaves[f"swapped_{dt}"] = values.astype(dt.newbyteorder("S"))
        leaves[f"fortran_{dt}"] = np.asfortranarray(values)
        leaves[f"empty_{dt}"] = np.zeros((0, 4), dt)
        leaves[f"npscalar_{dt}"] = values.reshape(-1)[1]
        leaves[f"zero_d_{dt}"] = np.asarray(values.reshape(-1)[2])
    return leaves


def test_round_trip_every_dtype_and_layout(tmp_path):
    leaves = _all_leaves()
    path = tmp_path / "all.npz"
    io.save(path, leaves)
    out = io.load(path)
    _same(leaves, out)
    assert out["fortran_float32"].flags.f_contiguous
    assert out["swapped_float32"].dtype.byteorder != "="
    assert out["ndarray_int8"].flags.writeable


def test_round_trip_nested_namedtuples_and_registered_nodes(tmp_path):
    def local_tree():
        Local = collections.namedtuple("Local", ["p", "q"])
        return Local

    Local = local_tree()
    tree.register_pytree_node(Local, lambda t: (tuple(t), None), lambda _, xs: Local(*xs))
    try:
        value = [
            Point(fnp.ones((2, 2)), {"inner": Outer.Inner(None, [1, 2.5, True, "s"])}),
            Labelled(3.0, 4.0),
            Local(Point(1, 2), ()),
            Scaled(fnp.zeros(3), 0.5, "layer"),
            {None: None, 1: [], 2.5: {}, False: (), "nan": float("nan"), "inf": -math.inf},
            urllib.parse.urlsplit("https://example.org/x"),
        ]
        path = tmp_path / "nt.npz"
        io.save(path, value)
        out = io.load(path)
        _same(value, out)
        assert out[1].norm() == 5.0
    finally:
        tree._registry.pop(Local, None)
    # Unregistered, the local class can no longer be found (and is not importable).
    with pytest.raises(io.LoadError, match="Local"):
        io.load(path)


def test_save_refuses_what_load_would_refuse(tmp_path):
    def local_class():
        return collections.namedtuple("Hidden", ["a"])

    with pytest.raises(TypeError, match="Hidden"):
        io.save(tmp_path / "a.npz", local_class()(1))
    twins = [local_class(), local_class()]
    for cls in twins:
        tree.register_pytree_node(cls, lambda t: (tuple(t), None), lambda _, xs: xs)
    try:
        with pytest.raises(TypeError, match="ambiguous"):
            io.save(tmp_path / "b.npz", twins[0](1))
    finally:
        for cls in twins:
            tree._registry.pop(cls, None)
    with pytest.raises(TypeError, match="aux"):
        io.save(tmp_path / "c.npz", Scaled(1.0, np.ones(2), "x"))
    deep = None
    for _ in range(io.DEFAULT_MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(ValueError, match="max_depth"):
        io.save(tmp_path / "d.npz", deep)
    assert sorted(os.listdir(tmp_path)) == []


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "a.npz"
    io.save(path, {"x": np.ones(2)})
    before = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        io.save(path, {"x": np.zeros(3)})
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["a.npz"]


def test_optimizer_state_round_trip(tmp_path):
    init_fun, update_fun, _ = opt.adam(0.1)
    params = {"w": fnp.ones((2, 2)), "b": [fnp.zeros(3)]}
    state = update_fun(0, params, init_fun(params))
    io.save(tmp_path / "o.npz", state)
    back = io.load(tmp_path / "o.npz")
    assert back.tree_def == state.tree_def and back.subtree_defs == state.subtree_defs
    for a, b in zip(tree.tree_leaves(state), tree.tree_leaves(back)):
        _same(a, b)


# Written by the first version of funcgrad.io.save (before load was hardened), compressed
# with zlib: Arrays (weak and strong), big-endian and Fortran-order NumPy arrays, a NumPy
# scalar, Python scalars, dicts with every key type, a stdlib namedtuple
# (urllib.parse.SplitResult) and a momentum optimizer state.
_OLD_FILE = """
eNrNWMtrE0EYnzStlVpF0YJ6WiMalTTm2ReixYOo9RFfB5GwTJONrt3srrub2hALpZbSkyBeetSriAf1D/Cg4EHFg0ePoogg
gmcfM5udZGZ3tsmaKt10m87M9+v3+8033+x8m5sIdw+C+rUL3H35s/e3c/WBbUCRYElMxFW9GgKbwZJjR77vnbl0Onc5BKZB
LVqUzIIRHROih0qZaEyIljTDMqAqakZRwv3HoGJKqN+8BnUJtfclY0Jqf0yYFf766gNg7gii8TzHaHj44ONJj4ZkMA1yexpS
sc4UIA1hxKEb3ayGPVs/5T0aUkTDgmO3sBpx6FSBHYfnR1j+O36IRz380wHX0Uib66jjGNRZvHNpeLv1+26PhkygGByWU/8t
F0Kgi+W/+9XnXx7+WcJ/0bFbXIn/rUqSx/+iUXGlgZDuMAh9IBzq7uphFdz4sOmZR8EQUTDv2M2vvIpS/y0LRlj2Ox+/P+5h
P/xPcnh1csC1/qO3n3jXz8ga5u/aQ89+AQc8/EcJ/2XHbnk1+HeeAM4eZD/PxtEPuufQfX+c1TTzdO92omlD49mWWNuivBcr
6uv0tzdE1AASJYqlilq4asCiaBmSJIpE3rn1dQj5DrJneeUlEh0uu75aBHkpQysyJkQI5bisHUxGYkIEU0cDtcgUHi7KBQv3
TklVE7Wv1CI2yrQM3DuN/9ahActmZDYmcAZvSnDKZ6g0lPEZUXU/SH1yfGFmASrQ8BnWqz4Dtjb+kKkrsuUzpul+I1JZt5Cz
PGoX6pNmz6Uim/ZcMn0oEXAfxA1oGLCKWyosS2RUTNS9tGueRI4DAVK4x47TmGChJ2QgcNqPnFrkAzJBAVlfAAm3GzFEIayK
rkjuSddtL3bYZNUiYUs2UZRBSdFgwyQVz3KNJjVNITbsFFJGzFLFfFv7O6GWZFW2qk1LVVMlJsA+CUrpSjcXaR3daHK18QXl
/aeQ1oXcCogJHTLOoveb/3zLeaszbmlm06f/HZ7vYmMtWFXdXi0VQ1HkyTjawExp7AJO9fOSWVFW4kt7uWZZutmajDQDy8hx
XDOutjY+CNtQ19qkwKhHO5VpQauRB+3v7ZN+27p3d7uuyarLATf52thUhoPteCNYbBOxikRGA269CZsJTYbrme3M+yTLCkme
b9rgz2xuItQ1GGZfhyw5hSp9mJkL4d/NlyNuHH4Fwce9ILgkD4fL/gXnUM3ilkKAegngxuFym+/veBegim83Dpe4fH/9YUAV
vG4cLi0XneKRxb0muCwPhwu6eadkY3F3ugFV3rlxuJTi8zzVA6jCyo3DJYyPvnWAKmjcOFw6LDvnaJc+ghvl4fDxnOA2MLj7
vYA+rLuB+AiMT7X4HmCAFdTDPRDnJnrWYZN+9HmEorxxC279AXUgpN0=
"""


def test_files_written_before_hardening_still_load(tmp_path):
    path = tmp_path / "old.npz"
    path.write_bytes(zlib.decompress(base64.b64decode("".join(_OLD_FILE.split()))))
    out = io.load(path)
    _same(out["params"], [fnp.asarray(np.array([[1.0, -2.0]], np.float32)),
                          fnp.asarray(np.array([3, 4], np.int32))])
    _same(out["weak"], core.to_array(1.5))
    _same(out["f64"], fnp.asarray(np.array([0.25], np.float64)))
    _same(out["np"], np.array([[1, 2]], ">i2"))
    _same(out["fortran"], np.asfortranarray(np.arange(6, dtype=np.uint8).reshape(2, 3)))
    _same(out["npscalar"], np.float16(0.5))
    _same(out["py"], (1, 2.5, True, "name", float("inf"), None))
    _same(out["keys"], {3: "int key", None: [1], 2.5: "float", True: "bool"})
    _same(out["split"], urllib.parse.urlsplit("https://example.org/a?b#c"))
    _same(out["empty"], ((), [], {}))
    assert isinstance(out["opt"], opt.OptimizerState)
    _, update, get = opt.momentum(0.1, 0.9)
    params = get(out["opt"])
    np.testing.assert_array_equal(np.asarray(params["w"]),
                                  np.arange(6, dtype=np.float32).reshape(2, 3))
    update(0, params, out["opt"])
