"""Small datasets and a mini-batch iterator, all local (nothing is ever downloaded).

`load_digits` uses the 8x8 digits bundled with scikit-learn; `load_idx` reads IDX files (the
MNIST format) and `load_mnist` reads MNIST or Fashion-MNIST from a directory holding the four
standard files; `batches` iterates over mini-batches shuffled by a `funcgrad.random` key.
Loaders return NumPy arrays: images float32 in [0, 1] shaped (n, height, width, 1), labels int32.
"""
from __future__ import annotations

import gzip
import os
from collections.abc import Iterator

import numpy as np

from funcgrad.tree import tree_flatten, tree_unflatten

__all__ = ["batches", "load_digits", "load_idx", "load_mnist"]


def load_digits(test_fraction: float = 0.2, seed: int = 0):
    """scikit-learn's bundled 8x8 digits (1797 images), split deterministically by `seed`.

    Returns `((train_images, train_labels), (test_images, test_labels))`: images float32 in
    [0, 1] shaped (n, 8, 8, 1), labels int32 in 0..9."""
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction}")
    pixels, target = _bundled_digits()
    images = (pixels.reshape(-1, 8, 8) / 16.0).astype(np.float32)[..., None]
    labels = target.astype(np.int32)
    perm = np.random.RandomState(seed).permutation(len(labels))
    n_test = round(len(labels) * test_fraction)
    test, train = perm[:n_test], perm[n_test:]
    return (images[train], labels[train]), (images[test], labels[test])


def _bundled_digits():
    """(pixels (1797, 64), labels) from scikit-learn's `datasets/data/digits.csv.gz`, read
    directly as its own `load_digits` reads it: importing scikit-learn would import SciPy,
    whose OpenBLAS starts a thread pool that spins on a core (issue 15), and take a second.
    Falls back to scikit-learn's loader if the file is not where it is in its wheels."""
    import importlib.util
    try:
        spec = importlib.util.find_spec("sklearn")
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise ImportError("load_digits needs scikit-learn (pip install scikit-learn); it uses "
                          "the copy of the digits bundled with it, no download")
    path = os.path.join(os.path.dirname(spec.origin or ""), "datasets", "data",
                        "digits.csv.gz")
    if os.path.isfile(path):
        data = np.loadtxt(path, delimiter=",")
        return data[:, :-1], data[:, -1]
    from sklearn.datasets import load_digits as sk_load_digits
    digits = sk_load_digits()
    return digits.data, digits.target


_IDX_TYPES = {
    0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}


def load_idx(path) -> np.ndarray:
    """Read an IDX file (plain or gzip-compressed, detected from its content) into a NumPy
    array of native byte order; element types ubyte, byte, short, int, float and double."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file (bad magic number)")
    type_code, ndim = raw[2], raw[3]
    if type_code not in _IDX_TYPES:
        raise ValueError(f"{path}: unknown IDX element type 0x{type_code:02x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = _IDX_TYPES[type_code]
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != count * dtype.itemsize:
        raise ValueError(f"{path}: IDX data holds {len(raw) - header} bytes, shape {shape} "
                         f"of {dtype.name} needs {count * dtype.itemsize}")
    data = np.frombuffer(raw, dtype, count, header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


_MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte",
}
_MNIST_SOURCES = {
    "mnist": "http://yann.lecun.com/exdb/mnist/ (or a mirror)",
    "fashion": "https://github.com/zalandoresearch/fashion-mnist (data/fashion)",
}


def load_mnist(directory, kind: str = "mnist"):
    """MNIST or Fashion-MNIST (`kind='fashion'`) from the four standard IDX files in
    `directory` (each plain or with a `.gz` suffix). Never downloads.

    Returns `((train_images, train_labels), (test_images, test_labels))`: images float32 in
    [0, 1] shaped (n, 28, 28, 1), labels int32."""
    if kind not in _MNIST_SOURCES:
        raise ValueError(f"kind must be 'mnist' or 'fashion', got {kind!r}")
    paths, missing = {}, []
    for key, name in _MNIST_FILES.items():
        for candidate in (name, name + ".gz"):
            if os.path.exists(os.path.join(directory, candidate)):
                paths[key] = os.path.join(directory, candidate)
                break
        else:
            missing.append(name)
    if missing:
        raise FileNotFoundError(
            f"load_mnist(kind={kind!r}): missing in {os.fspath(directory)!r}: "
            f"{', '.join(missing)} (with or without .gz). funcgrad does not download data: "
            f"get the files from {_MNIST_SOURCES[kind]} and put them there.")
    arrays = {key: load_idx(p) for key, p in paths.items()}

    def images(a):
        return (a.astype(np.float32) / 255.0)[..., None]
    return ((images(arrays["train_images"]), arrays["train_labels"].astype(np.int32)),
            (images(arrays["test_images"]), arrays["test_labels"].astype(np.int32)))


def _permutation(key, n: int) -> np.ndarray:
    from funcgrad import random
    perm = getattr(random, "permutation", None)
    if perm is not None:
        return np.asarray(perm(key, n))
    # Fallback while the core lacks random.permutation: NumPy seeded from the key's bits.
    seed = np.asarray(key).astype(np.uint32).ravel().tolist()
    return np.random.default_rng(seed).permutation(n)


def batches(key, arrays, batch_size: int, shuffle: bool = True,
            drop_last: bool = False, by_process: bool | None = None) -> Iterator:
    """Iterate over mini-batches of `arrays` (one array or a pytree of arrays sharing the
    leading dimension), each of the same structure. With `shuffle`, the order is a permutation
    drawn from the `funcgrad.random` key `key` (pass a new key each epoch); the last short
    batch is kept unless `drop_last`. Batches are NumPy arrays.

    Under `mpirun` (after `funcgrad.distributed.initialize()` with several processes, or with
    `by_process=True`), `batch_size` is the global batch: every process draws the same
    order and yields its own slice of each global batch (`distributed.shard`), so N
    processes together see exactly the batches one process would."""
    leaves, treedef = tree_flatten(arrays)
    leaves = [np.asarray(a) for a in leaves]
    if not leaves:
        raise ValueError("batches: no arrays given")
    n = leaves[0].shape[0]
    if any(a.shape[0] != n for a in leaves):
        raise ValueError(f"batches: arrays disagree on the leading dimension: "
                         f"{[a.shape for a in leaves]}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    from .distributed import runtime
    if by_process is None:
        by_process = runtime.process_count() > 1
    procs = runtime.process_count() if by_process else 1
    if by_process and batch_size % procs:
        raise ValueError(f"batches: a global batch of {batch_size} does not split evenly over "
                         f"{procs} processes; use a multiple of {procs}")
    order = _permutation(key, n) if shuffle else np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        batch = tree_unflatten(treedef, [a[idx] for a in leaves])
        if by_process:
            from .distributed import shard
            batch = shard(batch, even=False)
        yield batch
