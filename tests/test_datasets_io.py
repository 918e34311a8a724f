"""funcgrad.datasets (IDX reading, MNIST directory loading, digits, mini-batches) and
funcgrad.io (lossless, pickle-free save/load of pytrees, including optimizer states)."""
import collections
import gzip
import os
import struct

import numpy as np
import pytest

import funcgrad as fg
from funcgrad import core, datasets, io, random
from funcgrad import numpy as fnp
from funcgrad import optimizers as opt

pytestmark = pytest.mark.core

Pair = collections.namedtuple("Pair", ["first", "second"])

_IDX_CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C,
              np.float32: 0x0D, np.float64: 0x0E}


def _write_idx(path, array, compress=False):
    array = np.asarray(array)
    header = struct.pack(">BBBB", 0, 0, _IDX_CODES[array.dtype.type], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(payload)


@pytest.mark.parametrize("dtype", list(_IDX_CODES))
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, dtype, compress):
    data = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype) if dtype != np.uint8 else \
        np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("x.idx" + (".gz" if compress else ""))
    _write_idx(path, data, compress)
    out = datasets.load_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, data)


def test_idx_errors(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x00")
    with pytest.raises(ValueError, match="magic"):
        datasets.load_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(struct.pack(">BBBBI", 0, 0, 0x08, 1, 5) + b"\x00\x01")
    with pytest.raises(ValueError, match="bytes"):
        datasets.load_idx(short)


def test_load_mnist_from_directory(tmp_path):
    rng = np.random.RandomState(0)
    train_x = rng.randint(0, 256, (5, 28, 28)).astype(np.uint8)
    test_x = rng.randint(0, 256, (3, 28, 28)).astype(np.uint8)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", train_x, compress=True)
    _write_idx(tmp_path / "train-labels-idx1-ubyte", np.arange(5, dtype=np.uint8))
    _write_idx(tmp_path / "t10k-images-idx3-ubyte", test_x)
    _write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.array([9, 8, 7], np.uint8), True)
    (xtr, ytr), (xte, yte) = datasets.load_mnist(tmp_path, kind="fashion")
    assert xtr.shape == (5, 28, 28, 1) and xtr.dtype == np.float32
    assert ytr.dtype == np.int32 and list(yte) == [9, 8, 7]
    np.testing.assert_allclose(xte[..., 0], test_x / 255.0, rtol=1e-6)
    assert 0.0 <= xtr.min() and xtr.max() <= 1.0


def test_load_mnist_missing_files(tmp_path):
    _write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((1, 2, 2), np.uint8))
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte"):
        datasets.load_mnist(tmp_path)
    with pytest.raises(ValueError):
        datasets.load_mnist(tmp_path, kind="kmnist")


def test_load_digits():
    pytest.importorskip("sklearn")
    (xtr, ytr), (xte, yte) = datasets.load_digits()
    assert xtr.shape[1:] == (8, 8, 1) and xtr.dtype == np.float32 and ytr.dtype == np.int32
    assert len(xtr) + len(xte) == 1797 and len(yte) == round(1797 * 0.2)
    assert xtr.min() >= 0.0 and xtr.max() == 1.0 and set(np.unique(ytr)) == set(range(10))
    (xtr2, ytr2), _ = datasets.load_digits()
    np.testing.assert_array_equal(ytr, ytr2)
    np.testing.assert_array_equal(xtr, xtr2)
    (_, ytr3), _ = datasets.load_digits(seed=1)
    assert not np.array_equal(ytr, ytr3)


def test_load_digits_reads_sklearn_data_without_importing_it():
    # scikit-learn's loader would import SciPy, whose OpenBLAS thread pool then spins on a
    # core of every example that loads the digits (issue 15)
    pytest.importorskip("sklearn")
    import subprocess
    import sys
    code = ("import sys, funcgrad.datasets as d; d.load_digits(); "
            "print(sorted(m for m in ('sklearn', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", out
    from sklearn.datasets import load_digits as sk_load_digits
    sk = sk_load_digits()
    (xtr, ytr), (xte, yte) = datasets.load_digits()
    perm = np.random.RandomState(0).permutation(1797)
    n_test = round(1797 * 0.2)
    np.testing.assert_array_equal(xtr[..., 0], sk.images[perm[n_test:]] / 16.0)
    np.testing.assert_array_equal(yte, sk.target[perm[:n_test]])


def test_batches():
    x = np.arange(10, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)
    y = np.arange(10, dtype=np.int32)
    key = random.PRNGKey(0)
    got = list(datasets.batches(key, (x, y), 4))
    assert [len(b[1]) for b in got] == [4, 4, 2]
    seen = np.concatenate([b[1] for b in got])
    assert sorted(seen.tolist()) == list(range(10))
    for bx, by in got:
        np.testing.assert_array_equal(bx[:, 0], by)
    again = np.concatenate([b[1] for b in datasets.batches(key, (x, y), 4)])
    np.testing.assert_array_equal(seen, again)
    other = np.concatenate([b[1] for b in datasets.batches(random.PRNGKey(1), (x, y), 4)])
    assert not np.array_equal(seen, other)
    dropped = list(datasets.batches(key, {"x": x, "y": y}, 4, drop_last=True))
    assert len(dropped) == 2 and set(dropped[0]) == {"x", "y"}
    ordered = list(datasets.batches(key, y, 3, shuffle=False))
    np.testing.assert_array_equal(ordered[0], [0, 1, 2])
    with pytest.raises(ValueError):
        list(datasets.batches(key, (x, y[:5]), 2))


# ---------------------------------------------------------------------------------------
# io


def _assert_same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, (tuple, list)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (fg.Array, np.ndarray, np.generic)):
        assert a.dtype == b.dtype and a.shape == b.shape
        if isinstance(a, fg.Array):
            assert a.weak_type == b.weak_type
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    else:
        assert a == b or (np.isnan(a) and np.isnan(b))


def test_save_load_round_trip(tmp_path):
    tree = {
        "params": [(fnp.ones((2, 3)), fnp.zeros((3,), np.float64)), ()],
        "int": fnp.arange(4, dtype=np.int32),
        "bool": fnp.asarray(np.array([True, False])),
        "weak": core.to_array(1.5),
        "np": np.array([[1, 2]], np.int16),
        "npscalar": np.float32(0.25),
        "py": (1, 2.5, True, "name", float("inf"), None),
        "pair": Pair(fnp.ones(2), {3: "x", None: [1]}),
        "empty": {},
    }
    path = tmp_path / "tree.npz"
    io.save(path, tree)
    out = io.load(path)
    _assert_same(tree, out)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_save_load_weak_scalar(tmp_path):
    tree = (fnp.ones(3) * 2, core.to_array(3.0), core.to_array(2))
    assert tree[1].weak_type and tree[2].weak_type
    io.save(tmp_path / "w.npz", tree)
    out = io.load(tmp_path / "w.npz")
    _assert_same(tree, out)
    assert out[1].weak_type and out[2].dtype == np.int32


def test_save_load_optimizer_state(tmp_path):
    init_fun, update_fun, get_params = opt.adam(0.1)
    params = {"w": fnp.ones((2, 2)), "b": [fnp.zeros(3), fnp.ones(1)]}
    state = update_fun(0, params, init_fun(params))
    io.save(tmp_path / "opt.npz", {"step": 1, "state": state})
    loaded = io.load(tmp_path / "opt.npz")
    assert loaded["step"] == 1
    restored = loaded["state"]
    assert isinstance(restored, opt.OptimizerState)
    assert restored.tree_def == state.tree_def
    assert restored.subtree_defs == state.subtree_defs
    for a, b in zip(fg.tree.tree_leaves(state), fg.tree.tree_leaves(restored)):
        _assert_same(a, b)
    s1 = update_fun(1, params, state)
    s2 = update_fun(1, params, restored)
    for a, b in zip(fg.tree.tree_leaves(get_params(s1)), fg.tree.tree_leaves(get_params(s2))):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    sm3 = opt.sm3(0.1)
    st = sm3.init_fn({"x": fnp.ones((2, 3))})
    io.save(tmp_path / "sm3.npz", st)
    back = io.load(tmp_path / "sm3.npz")
    assert back.subtree_defs == st.subtree_defs


def test_save_overwrites_atomically_and_rejects_unsupported(tmp_path):
    path = tmp_path / "a.npz"
    io.save(path, {"x": np.ones(2)})
    io.save(path, {"x": np.zeros(3)})
    assert io.load(path)["x"].shape == (3,)
    Local = collections.namedtuple("Local", ["a"])
    with pytest.raises(TypeError, match="importable"):
        io.save(tmp_path / "b.npz", Local(1))
    with pytest.raises(TypeError):
        io.save(tmp_path / "c.npz", {"f": lambda: 0})
    with pytest.raises(TypeError):
        io.save(tmp_path / "d.npz", {(1, 2): 0})
    assert sorted(os.listdir(tmp_path)) == ["a.npz"]
    np.savez(tmp_path / "foreign.npz", x=np.ones(2))
    with pytest.raises(ValueError, match="not a funcgrad.io file"):
        io.load(tmp_path / "foreign.npz")
