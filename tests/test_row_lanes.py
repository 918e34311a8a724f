"""Row groups over short rows run 16 rows at a time, one row per vector lane
(`codegen.emit_rows_in_lanes`): a softmax over 10 classes, a log_softmax, a layer norm.
They give the bits the kernels give one by one (FUNCGRAD_ROW_LANES=0's lowering) for NaN,
infinities, signed zeros and huge values, for row counts that leave a partial tile, for
rows over several leading axes and on two threads; the source shows which lowering ran;
and gradients through them agree with the reference backend."""
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


def _masked_softmax(v, mask):
    return nn.softmax(fnp.where(mask, v, -1e9), axis=-1)


PROGRAMS = {
    "softmax": lambda v, mask: nn.softmax(v, axis=-1),
    "log_softmax": lambda v, mask: nn.log_softmax(v / 3.0, axis=-1),
    "logsumexp": lambda v, mask: nn.logsumexp(v, axis=-1) * 2.0,
    "layer_norm": lambda v, mask: _layer_norm(v),
    "masked_softmax": _masked_softmax,
    "max_min": lambda v, mask: fnp.max(v, -1, keepdims=True) - v + fnp.min(v * v, -1,
                                                                             keepdims=True),
    # the reductions themselves among the outputs: the sign of a zero max or min, and a
    # sum with cancellation, whose bits show the order of its additions
    "extremes": lambda v, mask: (fnp.max(v, -1), fnp.min(v, -1), v - fnp.max(v, -1)[..., None]),
    "sum_of_cubes": lambda v, mask: (fnp.sum(v * v * v, -1), v * 2.0 - fnp.mean(v, -1)[..., None]),
}


def _values(rng, shape):
    x = (3 * rng.standard_normal(shape)).astype(np.float32)
    flat = x.reshape(-1, shape[-1])
    if flat.shape[0] >= 8:
        flat[1, 0] = np.nan
        flat[2, -1] = np.inf
        flat[3, :] = -np.inf
        flat[4, :] = 0.0
        flat[4, ::2] = -0.0                 # a max of zeros of both signs: +0
        flat[5, :] = -0.0                   # of -0 only: -0
        flat[6, 0] = 3e38
        flat[7, :] = 1e-40                  # subnormal
    return x


def _run(f, args, lanes, monkeypatch):
    monkeypatch.setattr(cbackend, "ROW_LANES", lanes)
    # (a new function: jit(f) of the same f shares the first wrapper's executables)
    jf = fg.jit(lambda *a: f(*a), backend="c")
    return jf.lower(*args).source, [np.asarray(o) for o in fg.tree.tree_leaves(jf(*args))]


def _same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(a.view(np.uint32), b.view(np.uint32))


_SHAPES = [(96, 10), (37, 3), (53, 17), (40, 64), (3, 21, 5)]
# (the code for big arrays differs in its tiles and its max/min: the programs with those)
_BIG = ("extremes", "max_min", "softmax", "masked_softmax")


@pytest.mark.parametrize("name,shape,big", [(n, s, False) for n in sorted(PROGRAMS)
                                            for s in _SHAPES] +
                         [(n, s, True) for n in _BIG for s in _SHAPES[:3]])
def test_lanes_give_the_kernels_bits(name, shape, big, monkeypatch):
    """`big`: code for arrays of SHUFFLE_MIN values or more (tiles by transposes, a max or
    min without per-term flags), made for these small ones by lowering the threshold."""
    if big:
        monkeypatch.setattr(codegen, "SHUFFLE_MIN", 0)
    rng = np.random.default_rng(sum(shape))
    x = _values(rng, shape)
    mask = rng.random(shape) < 0.7
    f = PROGRAMS[name]
    src_on, on = _run(f, (x, mask), True, monkeypatch)
    src_off, off = _run(f, (x, mask), False, monkeypatch)
    assert "in lanes" in src_on and "in lanes" not in src_off
    for a, b in zip(on, off):
        _same_bits(a, b)
    if name == "extremes" and shape[0] >= 8:
        # JAX's -0 < +0: a row of zeros of both signs has max +0 and min -0
        hi, lo = on[0].reshape(-1), on[1].reshape(-1)
        assert hi[4] == 0 and not np.signbit(hi[4]) and np.signbit(lo[4])
        assert np.signbit(hi[5]) and np.signbit(lo[5])


def test_which_rows_run_in_lanes(monkeypatch):
    """Rows shorter than ROW_GROUP_MIN (at least 16 of them) in lanes; longer rows one row
    at a time (`emit_rows`); fewer than 16 rows, or rows longer than _ROW_LANE_MAX, kernel by
    kernel."""
    monkeypatch.setattr(cbackend, "ROW_LANES", True)

    def source(*shape):
        fg.clear_caches()          # (else the second size compiles code for any size)
        return fg.jit(nn.softmax).lower(np.ones(shape, np.float32)).source
    assert "in lanes" in source(64, 10)
    long_rows = source(8, cbackend.ROW_GROUP_MIN)
    assert "rows of" in long_rows and "in lanes" not in long_rows
    for shape in ((8, 10), (64, codegen._ROW_LANE_MAX + 1)):
        assert "rows of" not in source(*shape)


def test_a_program_for_any_number_of_rows(monkeypatch):
    """The second batch size of a program compiles code for any (the rows a count read at
    run time): whole tiles in lanes and the rest row by row, 5 rows all in the rest."""
    rng = np.random.default_rng(9)
    xs = [_values(rng, (n, 10)) for n in (96, 37, 5, 160)]
    f = PROGRAMS["log_softmax"]
    got = {}
    for lanes in (True, False):
        monkeypatch.setattr(cbackend, "ROW_LANES", lanes)
        fg.clear_caches()
        jf = fg.jit(lambda v, m: f(v, m))
        got[lanes] = [np.asarray(jf(x, x > 0)) for x in xs]
        src = jf.lower(xs[1], xs[1] > 0).source
        assert "rl < 16" in src and "D0" in src if lanes else "in lanes" not in src
    for a, b in zip(got[True], got[False]):
        _same_bits(a, b)


def test_tiles_on_two_threads(monkeypatch):
    """Enough rows for a parallel tile loop (20,000 rows of 10): the same bits on two
    threads as on one, and as kernel by kernel."""
    x = _values(np.random.default_rng(3), (20000, 10))
    mask = np.ones(x.shape, bool)
    f = PROGRAMS["log_softmax"]
    _, off = _run(f, (x, mask), False, monkeypatch)
    for threads in (1, 2):
        fg.config.update("cpu_threads", threads)
        try:
            _, on = _run(f, (x, mask), True, monkeypatch)
        finally:
            fg.config.update("cpu_threads", None)
        _same_bits(on[0], off[0])


def test_gradients_through_lanes(monkeypatch):
    """The cross-entropy of a 10-class softmax and its gradient (whose row groups run in
    lanes too) against the reference backend."""
    monkeypatch.setattr(cbackend, "ROW_LANES", True)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((100, 10)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 100)]

    def loss(v):
        return -fnp.mean(fnp.sum(y * nn.log_softmax(v * 2.0, axis=-1), axis=-1))
    f = fg.jit(fg.value_and_grad(loss), backend="c")
    assert "in lanes" in f.lower(x).source
    (val, g), (rval, rg) = f(x), fg.jit(fg.value_and_grad(loss), backend="reference")(x)
    np.testing.assert_allclose(float(val), float(rval), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g), np.asarray(rg), rtol=1e-5, atol=1e-7)


_EDGES = {
    "int32 operand": lambda x, i, b, xt: nn.softmax(i[:, :10].astype(fnp.float32) * x[:, :10],
                                                    -1),
    "bias along the row": lambda x, i, b, xt: nn.log_softmax(x[:, :10] + b, -1),
    "reversed slice": lambda x, i, b, xt: nn.softmax(x[:, ::-1][:, 3:13], -1),
    "part of a wider row": lambda x, i, b, xt: nn.softmax(x[:, 2:8] * 2.0, -1),
    "transposed operand": lambda x, i, b, xt: nn.softmax(xt.T * 1.5, -1),
    "strided slices": lambda x, i, b, xt: nn.logsumexp(x[:, ::2], -1)[:, None] - x[:, 1::2],
    "where on int32": lambda x, i, b, xt: nn.softmax(fnp.where(i > 0, x, 0.0), -1),
}


@pytest.mark.parametrize("name", sorted(_EDGES))
def test_operands_read_through_index_maps(name, monkeypatch):
    """Operands a member reads through an index map: an int32 array, a bias broadcast
    along the row (read in place), a reversed or narrower slice of a wider row (the tile
    holds the whole row), a transposed array (not read at the row: in place), strided
    slices. The kernels' bits, and the reference's values."""
    rng = np.random.default_rng(1)
    x = (3 * rng.standard_normal((53, 16))).astype(np.float32)
    x[3, 2], x[4] = np.nan, -np.inf
    args = (x, rng.integers(-5, 5, (53, 16)).astype(np.int32),
            rng.standard_normal(10).astype(np.float32), np.ascontiguousarray(x[:, :10].T))
    f = _EDGES[name]
    src, on = _run(f, args, True, monkeypatch)
    _, off = _run(f, args, False, monkeypatch)
    assert "in lanes" in src
    for a, b in zip(on, off):
        _same_bits(a, b)
    ref = fg.jit(f, backend="reference")(*args)
    np.testing.assert_allclose(on[0], np.asarray(ref), rtol=1e-5, atol=1e-6)


LONE = {
    "max": lambda v: fnp.max(v, -1),
    "min": lambda v: fnp.min(v * 2.0, axis=-1, keepdims=True),
    "sum": lambda v: fnp.sum(v, -1),
    "sum_of_squares": lambda v: fnp.sum(v * v, -1),
}


def _run_lone(f, x, on, monkeypatch):
    monkeypatch.setattr(cbackend, "LONE_ROW_LANES", on)
    monkeypatch.setattr(cbackend, "LONE_LANES_MIN", 0)     # (small arrays: fast tests)
    fg.clear_caches()
    jf = fg.jit(lambda v: f(v), backend="c")
    return jf.lower(x).source, np.asarray(jf(x))


@pytest.mark.parametrize("name,m,big", [(n, m, False) for n in sorted(LONE)
                                        for m in (3, 4, 5, 10, 24, 25)] +
                         [(n, m, True) for n in ("max", "min") for m in (3, 10, 17, 32)])
def test_a_reduction_alone_over_short_rows(name, m, big, monkeypatch):
    """A max, min or sum outside any row group, over short rows, runs in lanes too (a
    group of one; `c._lone_short_rows`): the same bits as its kernel, NaN, infinities and
    zeros of both signs included, in whole tiles and the rows after them; rows of 3-24
    (sums: 5-24) only, where it measured faster. `big`: as for arrays of SHUFFLE_MIN
    values or more."""
    if big:
        monkeypatch.setattr(codegen, "SHUFFLE_MIN", 0)
    rng = np.random.default_rng(m)
    x = _values(rng, (16 * 3 + 5, m))
    x[9, :] = -0.0                      # zeros of one sign, then of both, in a later tile
    x[20, :] = 0.0
    x[21, ::2] = -0.0
    x[22, :] = np.nan
    x[-2, :] = -0.0
    src_on, on = _run_lone(LONE[name], x, True, monkeypatch)
    src_off, off = _run_lone(LONE[name], x, False, monkeypatch)
    kind = "sum" if name.startswith("sum") else name
    lanes = (3 if kind != "sum" else 5) <= m <= cbackend.LONE_LANES_MAX
    assert ("in lanes" in src_on) == lanes and "in lanes" not in src_off
    _same_bits(on, off)
    ref = np.asarray(fg.jit(lambda v: LONE[name](v), backend="reference")(x))
    # (a sum: the reference adds in another order)
    np.testing.assert_allclose(on, ref, rtol=1e-6, atol=1e-5 if kind == "sum" else 0)
    if kind != "sum":
        np.testing.assert_array_equal(np.signbit(on), np.signbit(ref))


def test_a_lone_max_for_any_number_of_rows(monkeypatch):
    """Code compiled for a row count known only at run time (the function's second row
    count) and rows over two leading axes."""
    monkeypatch.setattr(cbackend, "LONE_ROW_LANES", True)
    monkeypatch.setattr(cbackend, "LONE_LANES_MIN", 0)
    fg.clear_caches()
    f = fg.jit(lambda v: fnp.max(v, -1), backend="c")
    rng = np.random.default_rng(1)
    for shape in ((40, 10), (37, 10), (70, 10), (3, 19, 10)):
        x = _values(rng, shape)
        got = np.asarray(f(x))
        want = np.asarray(fg.jit(lambda v: fnp.max(v, -1), backend="reference")(x))
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


def test_a_lone_reduction_of_a_small_array_stays_a_kernel():
    """LONE_LANES_MIN: a max over (128, 10) is one kernel (its module builds faster than
    the lanes' would, and it runs in microseconds either way); over (4096, 10) in lanes."""
    fg.clear_caches()          # (else a shape seen before compiles code for any size)
    x = np.zeros((4096, 10), np.float32)
    assert "in lanes" not in fg.jit(lambda v: fnp.max(v, -1)).lower(x[:128]).source
    assert "in lanes" in fg.jit(lambda v: fnp.max(v * 2.0, -1)).lower(x).source


def test_rows_broadcast_over_some_leading_axes_stay_out_of_lanes(monkeypatch):
    """`exp(-sum((x[:, None] - y[None]) ** 2, -1))` (an RBF kernel): each row reads a row of
    x and a row of y, broadcast over one leading axis each, which 16 rows in lanes would
    gather (5.2 ms against 1.46 row by row for (512, 512, 32), JAX 1.81). Such groups run
    row by row; a row broadcast over every leading axis (a bias) stays in lanes (above)."""
    def rbf(x, y):
        return fnp.exp(-fnp.sum((x[:, None, :] - y[None, :, :]) ** 2, -1))
    rng = np.random.default_rng(2)
    x = rng.standard_normal((40, 8)).astype(np.float32)
    y = rng.standard_normal((24, 8)).astype(np.float32)
    src, (out,) = _run(rbf, (x, y), True, monkeypatch)
    assert "in lanes" not in src
    want = np.exp(-((x[:, None, :].astype(np.float64) - y[None]) ** 2).sum(-1))
    np.testing.assert_allclose(out, want, rtol=3e-5, atol=1e-30)   # (exp of sums ~30)
    # the per-row scalar and the bias forms still run in lanes
    src, _ = _run(lambda v, b: nn.softmax(v - fnp.max(v, -1, keepdims=True) + b, -1),
                  (x, y[0]), True, monkeypatch)
    assert "in lanes" in src
