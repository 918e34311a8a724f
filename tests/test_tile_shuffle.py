"""Tiles of short rows moved by 8 x 8 transposes in registers (cdsl's `tpose8` helper;
`codegen._shuffle_fill`, which stores too). The lanes lowerings hold 16 rows in a stack
tile, element j of row l at j * 16 + l; rows of 8 to 64 contiguous 32-bit values now go
into that tile, and a lanes map's stored rows out of it, by transposes of 8 x 8 blocks
(the last one overlapping the one before it where 8 does not divide the row) instead of
element by element. They give the bits of the element-by-element tiles
(FUNCGRAD_TILE_SHUFFLE=0) for every row length, partial tiles, several leading axes,
int32 tiles, NaN/inf/signed zeros, and a row count known only at run time; argmax and
argmin agree with NumPy's rules; `export.to_c` keeps to plain C99."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn
from funcgrad.backends import c as cbackend
from funcgrad.lowering import codegen

pytestmark = [pytest.mark.cbackend,
              pytest.mark.skipif(not cbackend.available(), reason="no C compiler")]


def _layer_norm(v):
    m = fnp.mean(v, -1, keepdims=True)
    return (v - m) / fnp.sqrt(fnp.var(v, -1, keepdims=True) + 1e-5)


PROGRAMS = {
    "softmax": lambda v, k: nn.softmax(v, axis=-1),
    "layer_norm": lambda v, k: _layer_norm(v),
    # an int32 operand read at the row: a tile of int32 (tpose8_i32)
    "int_tile": lambda v, k: nn.log_softmax(v * k.astype(fnp.float32), axis=-1),
    # two stored maps of one group, and a max among the outputs
    "two_maps": lambda v, k: (v * 2.0 - fnp.max(v, -1, keepdims=True), fnp.exp(v / 4.0),
                              fnp.max(v, -1)),
}


def _values(rng, shape):
    x = (3 * rng.standard_normal(shape)).astype(np.float32)
    flat = x.reshape(-1, shape[-1])
    flat[1, 0] = np.nan
    flat[2, -1] = np.inf
    flat[3, :] = -np.inf
    flat[4, ::2] = -0.0
    flat[4, 1::2] = 0.0
    flat[5, :] = 1e-40
    flat[6, -2] = 3e38
    flat[-1, 3] = np.nan                    # in the rows after the last whole tile
    return x


def _run(f, args, shuffle, monkeypatch):
    monkeypatch.setattr(codegen, "TILE_SHUFFLE", shuffle)
    monkeypatch.setattr(codegen, "SHUFFLE_MIN", 0)      # (small arrays: fast tests)
    fg.clear_caches()
    # (a new function: jit(f) of the same f shares the first wrapper's executables)
    jf = fg.jit(lambda *a: f(*a), backend="c")
    return jf.lower(*args).source, [np.asarray(o) for o in fg.tree.tree_leaves(jf(*args))]


def _same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.reshape(-1).view(np.uint8), b.reshape(-1).view(np.uint8))


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("m", [8, 9, 17, 23, 40, 63, 64])
def test_shuffled_tiles_give_the_same_bits(name, m, monkeypatch):
    rng = np.random.default_rng(m)
    shape = (16 * 3 + 5, m)
    x = _values(rng, shape)
    k = rng.integers(-3, 4, shape).astype(np.int32)
    src_on, on = _run(PROGRAMS[name], (x, k), True, monkeypatch)
    src_off, off = _run(PROGRAMS[name], (x, k), False, monkeypatch)
    assert "in lanes" in src_on and "tpose8_f32" in src_on and "tpose8" not in src_off
    if name == "int_tile":
        assert "tpose8_i32" in src_on
    for a, b in zip(on, off):
        _same_bits(a, b)
    ref = fg.jit(lambda a, b: PROGRAMS[name](a, b), backend="reference")(x, k)
    for a, b in zip(on, fg.tree.tree_leaves(ref)):
        np.testing.assert_allclose(a, np.asarray(b), rtol=2e-6, atol=1e-6)


def test_several_leading_axes_and_any_row_count(monkeypatch):
    """Rows over two leading axes; then the same jitted function at a second row count,
    which compiles code for a count known only at run time."""
    monkeypatch.setattr(codegen, "TILE_SHUFFLE", True)
    monkeypatch.setattr(codegen, "SHUFFLE_MIN", 0)
    fg.clear_caches()
    rng = np.random.default_rng(3)
    f = fg.jit(lambda v: nn.softmax(v * 1.5, axis=-1), backend="c")
    for shape in ((3, 21, 10), (53, 10), (70, 10), (17, 10)):
        x = _values(rng, shape)
        got = np.asarray(f(x))
        want = np.asarray(fg.jit(lambda v: nn.softmax(v * 1.5, axis=-1),
                                 backend="reference")(x))
        np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-7)
        assert np.isnan(got.reshape(-1, 10)[1]).all()


@pytest.mark.parametrize("m", [9, 10, 12, 17, 24, 31])
def test_argmax_from_shuffled_tiles(m, monkeypatch):
    """argmax/argmin over rows read straight from an input: NaN first, last and
    everywhere, ties, rows of -inf or +inf only, signed zeros; against NumPy and the
    element-by-element tiles."""
    rng = np.random.default_rng(m)
    x = rng.integers(-3, 4, (16 * 2 + 7, m)).astype(np.float32)
    for base in (0, 16, 32):
        x[base + 1, m // 2] = np.nan
        x[base + 2, :] = -np.inf
        x[base + 3, :] = np.inf
        x[base + 4, :] = np.nan
        x[base + 5] = rng.choice(np.array([-0.0, 0.0], np.float32), m)
        x[base + 6, -1] = np.nan
    for f, npf in ((lambda a: fnp.argmax(a, -1), np.argmax),
                   (lambda a: fnp.argmin(a, axis=-1), np.argmin)):
        src_on, on = _run(f, (x,), True, monkeypatch)
        src_off, off = _run(f, (x,), False, monkeypatch)
        assert "tpose8_f32" in src_on and "tval[" in src_off and "tpose8" not in src_off
        np.testing.assert_array_equal(on[0], off[0])
        np.testing.assert_array_equal(on[0], npf(x, axis=-1))


def test_accuracy_idiom_and_the_size_threshold():
    """mean(argmax(logits, -1) == labels) over (96000, 10), the benchmark's accuracy, with
    the default settings; a softmax over (128, 10) (an MLP step's) keeps gcc's
    element-by-element tiles, whose module builds faster (SHUFFLE_MIN), over (4096, 10)
    it takes the transposes."""
    fg.clear_caches()          # (else a shape seen before compiles code for any size)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96000, 10)).astype(np.float32)
    y = rng.integers(0, 10, 96000).astype(np.int32)
    f = fg.jit(lambda a, b: fnp.mean((fnp.argmax(a, -1) == b).astype(fnp.float32)))
    assert "tpose8_f32" in f.lower(x, y).source
    assert float(f(x, y)) == np.float32(np.mean(np.argmax(x, -1) == y))
    small = fg.jit(lambda a: nn.softmax(a, -1)).lower(x[:128]).source
    large = fg.jit(lambda a: nn.softmax(a + 1.0, -1)).lower(x[:4096]).source
    assert "in lanes" in small and "tpose8" not in small
    assert "in lanes" in large and "tpose8_f32" in large


def test_export_to_c_stays_plain_c99(tmp_path, monkeypatch):
    """The transposes are GCC vector extensions: `export.to_c` fills its tiles element by
    element."""
    from funcgrad.export import to_c
    monkeypatch.setattr(codegen, "SHUFFLE_MIN", 0)
    x = np.zeros((64, 10), np.float32)
    out = to_c(lambda v: (nn.softmax(v, axis=-1), fnp.argmax(v, -1)), x,
               directory=tmp_path, name="sm")
    text = open(out.source).read()
    assert "in lanes" in text
    assert "tpose8" not in text and "__builtin_shuffle" not in text and \
        "vector_size" not in text
