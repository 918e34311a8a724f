"""The packed-panel GEMM of scan bodies (`gemm._packed_gemm_once`, `cdsl.helpers.sgemmpk_f32`
and, on CPUs with 256-bit vectors, `sgemmpk8_f32`): a float32 GEMM whose right operand is a
loop constant packs it at the first iteration and reuses the copy. The kernels of every
tile on their own (in the runtime library, whatever this CPU is) against NumPy in float64,
every edge of their tiles; the panel width the lowering pads to and sizes its buffer by
against the one the packing routine writes; every layout through the lowering, the
repacking of a weight that changed in place between calls, and an RNN's gradients (h @ W
forward, g @ W^T in reverse), against the reference backend and float64 finite
differences."""
from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import cdsl
import funcgrad as fg
import funcgrad.numpy as fnp
from cdsl import ast as A
from cdsl import helpers, runtime
from funcgrad import dtypes, lax
from funcgrad.lowering import gemm
from funcgrad.lowering.eager import cpu_level

_TILE = gemm.packed_gemm_tile()
_PACKED = gemm.packed_gemm_fits(np.float32, 64, 128, 128)
_KERNEL = (_TILE.kernel if _TILE is not None else "sgemmpk_f32") + "("


def _calls(src, name=_KERNEL):
    """How many times the generated C calls `name` (its extern declaration left out)."""
    return sum(line.count(name) for line in src.splitlines() if "extern " not in line)


def _reference(f, *args):
    with fg.config.override("backend", "reference"):
        return f(*args)


def _assert_float32_close(got, a, b):
    """`got` is A @ B up to float32 rounding: within k * 2^-23 * (|A| @ |B|) of the float64
    product (the bound of any order of k fused multiply-adds in float32)."""
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    want = a64 @ b64
    bound = a64.shape[-1] * 2.0 ** -23 * (np.abs(a64) @ np.abs(b64)) + 1e-30
    err = np.abs(np.asarray(got, np.float64) - want)
    assert np.all(err <= bound), (err.max(), np.unravel_index(np.argmax(err - bound), err.shape))


def test_cpus_with_256_or_512_bit_vectors_run_packed():
    # x86-64-v3 (AVX2 + FMA) gets the 6 x 16 tile, x86-64-v4 the 5 x 64 one: on these the
    # checks below are not skipped
    if cpu_level() not in ("v3", "v4"):
        pytest.skip("no packed kernel for this CPU's vectors")
    if not gemm.PACKED_GEMM:
        pytest.skip("turned off (FUNCGRAD_PACKED_GEMM=0)")
    assert _PACKED
    assert _TILE == helpers.packed_tile(16 if cpu_level() == "v4" else 8)
    assert (_TILE.mr, _TILE.nr) == ((5, 64) if cpu_level() == "v4" else (6, 16))


# --- the kernels on their own ------------------------------------------------------------

def _runtime_fn(name):
    lib = runtime.library()
    return lib, getattr(lib.lib, runtime.symbols()[name])


def _pack(tile, b, trans_b, n, k):
    """B packed by `tile.pack` into a buffer of `tile.buffer_floats(n, k)` floats (the size
    the lowering gives it); returns the buffer. A guard as long again (NaN) follows it, and
    must be left alone: a routine packing wider panels than the tile's writes past the
    buffer's end."""
    lib, pack = _runtime_fn(tile.pack)
    size = tile.buffer_floats(n, k)
    buf = np.full(2 * size + 64 * (k + 1), np.nan, np.float32)
    buf[:helpers.GEMM_PACK_HEADER] = 0
    sbk, sbn = (1, k) if trans_b else (n, 1)
    pack(n, k, lib.ptr(b), sbk, sbn, lib.ptr(buf))
    assert np.isnan(buf[size:]).all(), "the packing routine wrote past the buffer"
    return buf[:size]


def _run_kernel(tile, a, trans_a, buf, m, n, k, ldc):
    """C (m x ldc, NaN beyond column n) from `tile.kernel` on A (stored transposed when
    trans_a) and the packed buffer."""
    lib, kernel = _runtime_fn(tile.kernel)
    out = np.full((m, ldc), np.nan, np.float32)
    sa, sk = (1, m) if trans_a else (k, 1)
    panels = lib.ptr(buf) + helpers.GEMM_PACK_HEADER
    kernel(m, n, k, lib.ptr(a), sa, sk, panels, lib.ptr(out), ldc)
    return out


_RAGGED = [(m, k, n) for m in (1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 17, 21, 32, 64)
           for k, n in ((1, 16), (3, 17), (29, 5), (64, 40), (8, 100))] + \
    [(64, 128, 384), (64, 384, 128), (33, 257, 129), (2, 1, 1), (7, 2, 65)]


@pytest.mark.parametrize("tile", helpers.PACKED_TILES, ids=lambda t: t.kernel)
@pytest.mark.parametrize("m,k,n", _RAGGED)
def test_each_packed_kernel_on_ragged_shapes_matches_numpy(tile, m, k, n):
    # rows not a multiple of the tile's (the 256-bit kernel's 4-row tiles for the rest), N
    # not a multiple of the panel width and below it, K = 1; both layouts of A and B. Only
    # C's n columns are written (the guard columns past them stay NaN).
    rng = np.random.default_rng(m * 10007 + k * 101 + n)
    for trans_a, trans_b in itertools.product((False, True), repeat=2):
        a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
        buf = _pack(tile, b, trans_b, n, k)
        out = _run_kernel(tile, a, trans_a, buf, m, n, k, n + 3)
        assert np.isnan(out[:, n:]).all()
        _assert_float32_close(out[:, :n], a.T if trans_a else a, b.T if trans_b else b)


@pytest.mark.parametrize("tile", helpers.PACKED_TILES, ids=lambda t: t.kernel)
def test_packing_writes_panels_of_the_tiles_width_into_the_buffer_the_lowering_sizes(tile):
    # The packing routine, the kernel and the lowering's buffer must agree on the panel
    # width: B[k, j] lies at header + (j // nr) * nr * K + k * nr + j % nr, the padding
    # columns are zeros, and nothing is written past `buffer_floats`.
    n, k = 40, 9
    b = (np.arange(k * n, dtype=np.float32).reshape(k, n) + 1)
    buf = _pack(tile, b, False, n, k)
    assert buf.size == tile.buffer_floats(n, k)
    nr, hdr = tile.nr, helpers.GEMM_PACK_HEADER
    for kk, j in itertools.product(range(k), range(-(-n // nr) * nr)):
        want = b[kk, j] if j < n else 0.0
        assert buf[hdr + (j // nr) * nr * k + kk * nr + j % nr] == want, (kk, j)
    # the generated C of both functions steps by the same width
    src = cdsl.render(A.Module((helpers._make(tile.kernel, "f32"),
                                helpers._make(tile.pack, "f32"))), cdsl.C99)
    steps = set(re.findall(r"j0 \+= (\d+)", src))
    assert steps == {str(nr)}, steps
    assert f"b + k * {nr})" in src and f"p[k * {nr} + j]" in src


def test_the_lowering_calls_the_pair_of_its_tile_on_a_buffer_of_its_panels():
    if _TILE is None:
        pytest.skip("no packed kernel for this CPU's vectors")
    m, n, k = 21, 40, 9
    temps = gemm.Temps(itertools.count())
    lp, rp, op = (temps.new(s, dtypes.float32).param_ref() for s in ((m, k), (k, n), (m, n)))
    stmts = gemm._packed_gemm_once(m, n, k, lp, k, 1, rp, n, 1, op, temps)
    (buf,) = [t for t in temps if getattr(t, "pack_header", False)]
    assert tuple(buf.shape) == (helpers.GEMM_PACK_HEADER + -(-n // _TILE.nr) * _TILE.nr * k,)
    src = cdsl.render(A.Module((A.Function("f", (), tuple(stmts)),)), cdsl.C99)
    others = [t for t in helpers.PACKED_TILES if t != _TILE]
    assert f"{_TILE.pack}(" in src and f"{_TILE.kernel}(" in src
    for t in others:
        assert f"{t.kernel}(" not in src.replace(f"{_TILE.kernel}(", "")
        assert f"{t.pack}(" not in src.replace(f"{_TILE.pack}(", "")
    assert set(runtime.HELPERS) >= {t.kernel for t in helpers.PACKED_TILES} | \
        {t.pack for t in helpers.PACKED_TILES}


# --- through the lowering ----------------------------------------------------------------

def _scan_matmul(trans_a, trans_b):
    """ys[t] = (x_t + c) @ W with x_t a scanned input (transposed when trans_a), c the carry
    (so the GEMM stays in the loop) and W a loop constant (stored transposed when
    trans_b)."""
    def f(w, xs):
        def cell(c, x):
            a = x + c
            y = (a.T if trans_a else a) @ (w.T if trans_b else w)
            return c + 0.01 * fnp.mean(y), y
        return lax.scan(cell, fnp.float32(0.0), xs)
    return f


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 23), n=st.sampled_from([32, 48, 64, 100, 128, 200]),
       k=st.integers(8, 70), trans_a=st.booleans(), trans_b=st.booleans(),
       steps=st.integers(1, 3))
def test_scan_gemm_with_a_constant_weight_matches_the_reference(m, n, k, trans_a, trans_b,
                                                                 steps):
    rng = np.random.default_rng(m * 1000 + n + k)
    w = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    xs = rng.standard_normal((steps, k, m) if trans_a else (steps, m, k)).astype(np.float32)
    f = _scan_matmul(trans_a, trans_b)
    jf = fg.jit(f, backend="c")
    got_c, got_y = jf(w, xs)
    want_c, want_y = _reference(f, w, xs)
    np.testing.assert_allclose(np.asarray(got_y), np.asarray(want_y), rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(float(got_c), float(want_c), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("trans_a,trans_b", [(False, False), (True, False), (False, True),
                                             (True, True)])
def test_each_layout_of_a_scan_gemm_runs_packed(trans_a, trans_b):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((120, 33) if trans_b else (33, 120)).astype(np.float32)
    xs = rng.standard_normal((2, 33, 17) if trans_a else (2, 17, 33)).astype(np.float32)
    f = _scan_matmul(trans_a, trans_b)
    jf = fg.jit(f, backend="c")
    if _PACKED:
        assert _calls(jf.lower(w, xs).source) >= 1
    np.testing.assert_allclose(np.asarray(jf(w, xs)[1]), np.asarray(_reference(f, w, xs)[1]),
                               rtol=2e-5, atol=2e-5)


def _scan_products(trans_w):
    """ys[t] = (h_t + c) @ W (W^T when trans_w) for a scanned h_t, the carry c staying 0 (0 *
    the sum of the products, all finite): the GEMM depends on the carry, so it stays in the
    loop, and its operand is h_t exactly."""
    def f(w, hs):
        def cell(c, h):
            y = (h + c) @ (w.T if trans_w else w)
            return c + 0.0 * fnp.sum(y), y
        return lax.scan(cell, fnp.float32(0.0), hs)[1]
    return f


# (each above the sizes that run as loop nests, `gemm.small_gemm_form`)
_RAGGED_SCAN = [(1, 512, 640), (3, 200, 120), (5, 130, 120), (7, 128, 384), (13, 31, 200),
                (21, 64, 72), (17, 200, 72), (64, 128, 384), (64, 384, 128), (32, 256, 256)]


@pytest.mark.parametrize("m,k,n", _RAGGED_SCAN)
@pytest.mark.parametrize("trans_w", [False, True], ids=["h@W", "g@W.T"])
def test_ragged_scan_gemms_run_packed_and_match_numpy(m, k, n, trans_w):
    # M not a multiple of the tile's rows, N not a multiple of the panel (below it for the
    # 512-bit kernel's 64), and the reverse pass's g @ W^T (the weight stored [n, k])
    rng = np.random.default_rng(m + 7 * k + 31 * n)
    w = rng.standard_normal((n, k) if trans_w else (k, n)).astype(np.float32)
    hs = rng.standard_normal((3, m, k)).astype(np.float32)
    jf = fg.jit(_scan_products(trans_w), backend="c")
    fits = gemm.packed_gemm_fits(np.float32, m, n, k)
    assert (_calls(jf.lower(w, hs).source) >= 1) == fits
    if _TILE is not None and _TILE.width == 8 and gemm.PACKED_GEMM:
        assert fits                       # every one of these runs packed with AVX2
    got = np.asarray(jf(w, hs))
    for t in range(3):
        _assert_float32_close(got[t], hs[t], w.T if trans_w else w)


def test_a_weight_changed_in_place_between_calls_is_packed_again():
    # The packed copy lives in the executable's scratch across calls. A NumPy argument is
    # read in place, so the same address can hold a new weight on the next call: the scan
    # clears the copy's header before every loop, and the first iteration packs again.
    rng = np.random.default_rng(0)
    w = rng.standard_normal((96, 128)).astype(np.float32)
    xs = rng.standard_normal((3, 40, 96)).astype(np.float32)
    f = _scan_matmul(False, False)
    jf = fg.jit(f, backend="c")
    if _PACKED:
        assert _calls(jf.lower(w, xs).source) >= 1
    for scale in (1.0, -2.0, 0.5):
        w *= scale                                   # same buffer, new values
        got = np.asarray(jf(w, xs)[1])
        want = np.asarray(_reference(f, w.copy(), xs)[1])
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("hidden", [37, 64, 100, 130])
def test_rnn_gradient_with_packed_weights_matches_the_reference(hidden):
    # forward h @ Wh and reverse g @ Wh^T both run packed (when they fit); the weight
    # gradient is accumulated outside the loop
    rng = np.random.default_rng(hidden)
    wh = (rng.standard_normal((hidden, hidden)) / np.sqrt(hidden)).astype(np.float32)
    wi = rng.standard_normal((5, hidden)).astype(np.float32)
    xs = rng.standard_normal((6, 21, 5)).astype(np.float32)

    def loss(wh, wi, xs):
        def cell(h, x):
            h = fnp.tanh(h @ wh + x @ wi)
            return h, h
        hs = lax.scan(cell, fnp.zeros((21, hidden)), xs)[1]
        return fnp.sum(hs ** 2)

    vg = fg.value_and_grad(loss, (0, 1))
    jvg = fg.jit(vg, backend="c")
    if _PACKED and gemm.packed_gemm_fits(np.float32, 21, hidden, hidden):
        assert _calls(jvg.lower(wh, wi, xs).source) >= 2
    got = jvg(wh, wi, xs)
    want = _reference(vg, wh, wi, xs)
    np.testing.assert_allclose(float(got[0]), float(want[0]), rtol=1e-5)
    for g, w in zip(got[1], want[1]):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-4, atol=1e-4)


def test_rnn_gradient_with_packed_weights_matches_finite_differences():
    # float64 central differences of the same loss (NumPy, no framework) along random
    # directions of Wh, against the jitted gradient that runs h @ Wh and g @ Wh^T packed
    # (hidden 120: padded to 128 columns by both tiles, 6 x 16 and 5 x 64, and within the
    # padding either allows; 48 was, on the 512-bit tile, left to OpenBLAS)
    rng = np.random.default_rng(5)
    hidden, batch, steps = 120, 32, 5
    wh = (rng.standard_normal((hidden, hidden)) / np.sqrt(hidden)).astype(np.float32)
    xs = rng.standard_normal((steps, batch, hidden)).astype(np.float32)

    def loss(wh, xs):
        def cell(h, x):
            h = fnp.tanh(h @ wh + x)
            return h, None
        return fnp.sum(lax.scan(cell, fnp.zeros((batch, hidden)), xs)[0] ** 2)

    def loss64(wh):
        h = np.zeros((batch, hidden))
        for x in xs.astype(np.float64):
            h = np.tanh(h @ wh + x)
        return np.sum(h ** 2)

    jg = fg.jit(fg.grad(loss), backend="c")
    if _PACKED:
        assert gemm.packed_gemm_fits(np.float32, batch, hidden, hidden)
        assert _calls(jg.lower(wh, xs).source) >= 2
    g = np.asarray(jg(wh, xs), np.float64)
    w64 = wh.astype(np.float64)
    for _ in range(4):
        d = rng.standard_normal(wh.shape)
        d /= np.linalg.norm(d)
        eps = 1e-4
        fd = (loss64(w64 + eps * d) - loss64(w64 - eps * d)) / (2 * eps)
        np.testing.assert_allclose(np.sum(g * d), fd, rtol=2e-4, atol=2e-4)


def test_small_gemms_outside_loops_do_not_pack_on_every_call():
    # a few rows: the direct kernel (or OpenBLAS), where packing B would cost more than the
    # kernel gains; on 256-bit CPUs no GEMM outside a loop packs (measured slower there)
    x = np.ones((64, 128), np.float32)
    w = np.ones((128, 384), np.float32)
    src = fg.jit(lambda x, w: x @ w, backend="c").lower(x, w).source
    assert all(f"{t.kernel}(" not in src and f"{t.panels}(" not in src
               for t in helpers.PACKED_TILES)
    x = np.ones((300, 64), np.float32)
    src = fg.jit(lambda x, w: x @ w, backend="c").lower(x, np.ones((64, 48), np.float32)).source
    assert all(f"{t.panels}(" not in src for t in helpers.PACKED_TILES)   # N below a panel


# --- GEMMs outside loops, B packed on every call (512-bit vectors) -------------------------

_PER_CALL = _TILE is not None and _TILE.width == 16 and gemm.PACKED_GEMM


@pytest.mark.parametrize("tile", helpers.PACKED_TILES, ids=lambda t: t.kernel)
@pytest.mark.parametrize("n,k", [(40, 9), (64, 8), (131, 17), (200, 77), (16, 3), (1, 1)])
def test_the_panels_routine_writes_what_the_packing_routine_does_without_a_header(tile, n, k):
    # both layouts of B (a transposed one in 8 x 8 register transposes, its last columns
    # and last k one by one), nothing written past the panels
    lib, panels = _runtime_fn(tile.panels)
    rng = np.random.default_rng(n * 100 + k)
    for trans_b in (False, True):
        b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
        want = _pack(tile, b, trans_b, n, k)[helpers.GEMM_PACK_HEADER:]
        buf = np.full(want.size + 64, np.nan, np.float32)
        sbk, sbn = (1, k) if trans_b else (n, 1)
        panels(n, k, lib.ptr(b), sbk, sbn, lib.ptr(buf))
        np.testing.assert_array_equal(buf[:want.size], want)
        assert np.isnan(buf[want.size:]).all()
        nr = tile.nr
        for kk, j in itertools.product(range(k), range(-(-n // nr) * nr)):
            assert want[(j // nr) * nr * k + kk * nr + j % nr] == \
                ((b.T if trans_b else b)[kk, j] if j < n else 0.0)


# (m, n, k, A transposed, B transposed): N's last panel ragged, K not a multiple of 8,
# rows not a multiple of the tile's, each layout; all past PACKED_PER_CALL_MIN
_PER_CALL_SHAPES = [(600, 250, 333, False, True), (600, 250, 333, True, True),
                    (401, 190, 77, True, False), (256, 512, 256, False, False),
                    (1024, 320, 2048, False, False), (512, 1000, 65, False, True),
                    (1021, 128, 128, True, True), (512, 64, 700, False, True)]


def _matmul(trans_a, trans_b):
    return lambda a, b: (a.T if trans_a else a) @ (b.T if trans_b else b)


def _operands(rng, m, n, k, trans_a, trans_b):
    a = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)
    return a, b


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("m,n,k,trans_a,trans_b", _PER_CALL_SHAPES)
def test_gemms_packed_on_every_call_match_numpy(m, n, k, trans_a, trans_b, threads):
    rng = np.random.default_rng(m + 7 * n + 13 * k)
    a, b = _operands(rng, m, n, k, trans_a, trans_b)
    with fg.config.override("cpu_threads", threads):
        jf = fg.jit(_matmul(trans_a, trans_b), backend="c")
        if _PER_CALL:
            src = jf.lower(a, b).source
            assert _calls(src, f"{_TILE.panels}(") == 1 and "schedule(dynamic)" in src
        got = jf(a, b)
        again = jf(a, b)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(again))
    _assert_float32_close(got, a.T if trans_a else a, b.T if trans_b else b)


def test_which_gemms_pack_on_every_call():
    if not _PER_CALL:
        pytest.skip("no 512-bit packed kernel here (or FUNCGRAD_PACKED_GEMM=0)")
    f32, N, T = np.float32, gemm.NO_TRANS, gemm.TRANS
    fits = gemm.packed_per_call_fits
    assert fits(f32, N, N, 1024, 1024, 1024) and fits(f32, T, N, 784, 512, 128)
    assert fits(f32, N, T, 1024, 1024, 1024)
    assert not fits(f32, T, N, 1024, 1024, 1024)      # A transposed, K > 512
    assert not fits(f32, N, N, 1024, 1024, 4096)      # a panel past L2
    assert not fits(f32, N, T, 128, 784, 512)         # padding and the transposed packing
    assert not fits(np.float64, N, N, 1024, 1024, 1024)
    assert not fits(f32, N, N, 16, 1024, 1024)        # a few rows
    assert not fits(f32, N, N, 64, 64, 32)            # small


def test_only_big_per_call_gemms_take_every_core_under_load():
    """A per-call GEMM of at least `BIG_TEAM_MIN` multiply-adds sizes its chunk loop by
    the big team (every usable core, even one another process keeps busy); smaller ones by
    the team. Run with a team of one and a big team of two, the big one matches NumPy."""
    if not _PER_CALL:
        pytest.skip("no 512-bit packed kernel here (or FUNCGRAD_PACKED_GEMM=0)")
    from cdsl import runtime
    from funcgrad.backends import threads as T
    big = "team_big()"
    rng = np.random.default_rng(5)
    a, b = _operands(rng, 1024, 1024, 512, False, False)      # 2^29 multiply-adds
    jf = fg.jit(_matmul(False, False), backend="c")
    src = jf.lower(a, b).source
    assert src.count(big) == 1 and f"{runtime.prefix()}{big}" in src
    small = jf.lower(a[:512], b).source                        # 2^28
    assert _calls(small, f"{_TILE.panels}(") == 1 and big not in small
    saved = (T._policy.team, T._policy.big, T._policy.fixed, T._policy.next)
    try:
        T._policy.team, T._policy.big, T._policy.fixed = 1, 2, None
        T._policy.next = float("inf")
        got = jf(a, b)
        assert (T._tls.team, T._tls.big) == (1, 2)
    finally:
        T._policy.team, T._policy.big, T._policy.fixed, T._policy.next = saved
    _assert_float32_close(got, a, b)


def test_big_gemms_on_256_bit_vectors_pick_the_packed_kernel_by_the_big_team():
    """With 256-bit vectors only a GEMM of at least BIG_TEAM_MIN multiply-adds (A not
    transposed, N whole panels) may pack per call, and only where the big team has more
    than one thread (its dynamic chunks beside a busy core); on one thread it calls
    OpenBLAS. Both paths match NumPy."""
    if _TILE is None or _TILE.width != 8 or not gemm.PACKED_GEMM:
        pytest.skip("no 256-bit packed kernel here (or FUNCGRAD_PACKED_GEMM=0)")
    from cdsl import runtime
    from funcgrad.backends import threads as T
    f32, N, Tr = np.float32, gemm.NO_TRANS, gemm.TRANS
    fits = gemm.packed_per_call_fits
    assert fits(f32, N, N, 1024, 1024, 1024) and fits(f32, N, Tr, 1024, 1024, 512)
    assert not fits(f32, N, N, 512, 512, 1024)        # below BIG_TEAM_MIN
    assert not fits(f32, Tr, N, 1024, 1024, 1024)     # A transposed
    assert not fits(f32, N, N, 1024, 1000, 1024)      # N's last panel padded
    assert not fits(f32, N, N, 128, 512, 784)         # the MLP's: OpenBLAS
    rng = np.random.default_rng(8)
    a, b = _operands(rng, 1024, 1024, 512, False, False)       # 2^29 multiply-adds
    jf = fg.jit(_matmul(False, False), backend="c")
    src = jf.lower(a, b).source
    assert f"if ({runtime.prefix()}team_big() > 1)" in src
    assert _calls(src, f"{_TILE.panels}(") == 1 and "sgemm(" in src
    saved = (T._policy.team, T._policy.big, T._policy.fixed, T._policy.next)
    try:
        for team, big in ((1, 2), (1, 1), (2, 2)):
            T._policy.team, T._policy.big, T._policy.fixed = team, big, None
            T._policy.next = float("inf")
            got = jf(a, b)
            assert (T._tls.team, T._tls.big) == (team, big)
            _assert_float32_close(got, a, b)
    finally:
        T._policy.team, T._policy.big, T._policy.fixed, T._policy.next = saved


def test_a_matmul_chains_gradient_through_per_call_packing_matches_the_reference():
    # forward x @ W1 @ W2; reverse g @ W^T (B transposed) and x^T @ g (A transposed)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((300, 200)).astype(np.float32)
    w1 = (rng.standard_normal((200, 256)) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((256, 192)) * 0.1).astype(np.float32)

    def loss(w1, w2, x):
        return fnp.sum(fnp.tanh(x @ w1) @ w2 ** 2)
    g = fg.jit(fg.grad(loss, argnums=(0, 1)), backend="c")
    if _PER_CALL:
        assert _calls(g.lower(w1, w2, x).source, f"{_TILE.panels}(") >= 2
    got = g(w1, w2, x)
    want = _reference(fg.grad(loss, argnums=(0, 1)), w1, w2, x)
    for a, b in zip(got, want):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-4, atol=2e-4)


def test_nonfinite_values_of_a_per_call_gemm_stay_in_their_rows_and_columns():
    # an inf in A meets the zeros of the last panel's padding only in columns never stored
    rng = np.random.default_rng(6)
    a, b = _operands(rng, 600, 250, 333, False, True)
    a[17, 5] = np.inf
    got = np.asarray(fg.jit(_matmul(False, True), backend="c")(a, b))
    want = a.astype(np.float64) @ b.T.astype(np.float64)
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


def test_nonfinite_values_stay_in_their_columns():
    # the padded columns of the last panel are zeros: an inf in A meets them (inf * 0 = NaN)
    # only in columns that are never stored
    # (in the last step: the carry, 0 * the products' sum, is NaN after it). 120 columns:
    # padded to 128 by both tiles (72 was, on the 512-bit tile, left to OpenBLAS)
    w = np.ones((64, 120), np.float32)
    xs = np.ones((2, 21, 64), np.float32)
    xs[1, 3, 5] = np.inf
    f = _scan_products(False)
    jf = fg.jit(f, backend="c")
    if _PACKED:
        assert gemm.packed_gemm_fits(np.float32, 21, 120, 64)
        assert _calls(jf.lower(w, xs).source) >= 1
    got = np.asarray(jf(w, xs))
    want = np.asarray(_reference(f, w, xs))
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    assert not np.isnan(got).any()


@settings(max_examples=12, deadline=None)
@given(m=st.integers(20, 700), n=st.integers(32, 600), k=st.integers(16, 600),
       trans_a=st.booleans(), trans_b=st.booleans(), threads=st.sampled_from([1, 2]))
def test_gemms_outside_loops_match_numpy_on_any_shape(m, n, k, trans_a, trans_b, threads):
    # whichever kernel the shape picks (packed on every call, direct, OpenBLAS), the same
    # float32 bound against float64
    rng = np.random.default_rng(m * 7919 + n * 31 + k)
    a, b = _operands(rng, m, n, k, trans_a, trans_b)
    with fg.config.override("cpu_threads", threads):
        got = fg.jit(_matmul(trans_a, trans_b), backend="c")(a, b)
    _assert_float32_close(got, a.T if trans_a else a, b.T if trans_b else b)
