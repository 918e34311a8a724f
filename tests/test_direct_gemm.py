"""The direct GEMM kernel (`gemm.direct_gemm_fits`, `cdsl.helpers.sgemmdk_f32`): float32
GEMMs with few rows or a short K read B in place, K in blocks, on CPUs with 512-bit vectors;
the columns past the last multiple of 64 go to OpenBLAS. Shapes on both sides of every
block and tile edge, both layouts of A, batched, split over threads, and non-finite values,
against float64 NumPy within the worst-case rounding bound of a float32 dot product."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import funcgrad as fg
from funcgrad.backends import get_backend
from funcgrad.lowering import gemm

_AVX512 = gemm._simd_width(np.float32) == 16
EPS32 = float(np.finfo(np.float32).eps)


def _matmul(trans_a, batched):
    if batched:
        return (lambda x, w: fg.numpy.swapaxes(x, 1, 2) @ w) if trans_a else (lambda x, w: x @ w)
    return (lambda x, w: x.T @ w) if trans_a else (lambda x, w: x @ w)


def _operands(rng, m, n, k, trans_a, batch):
    lead = (batch,) if batch else ()
    x = rng.standard_normal(lead + ((k, m) if trans_a else (m, k))).astype(np.float32)
    w = rng.standard_normal(lead + (k, n)).astype(np.float32)
    return x, w


def _check(got, x, w, trans_a, k):
    a = x.astype(np.float64)
    a = np.swapaxes(a, -1, -2) if trans_a else a
    want = a @ w.astype(np.float64)
    # |fl(a . b) - a . b| <= k * u * (|a| . |b|) (with fused multiply-adds); the float32 output
    # adds half an ulp of the result.
    bound = 2 * k * EPS32 * (np.abs(a) @ np.abs(w.astype(np.float64))) + EPS32 * np.abs(want)
    err = np.abs(np.asarray(got, np.float64) - want)
    assert (err <= bound).all(), (err.max(), np.unravel_index(np.argmax(err - bound), err.shape))


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 200), n=st.sampled_from([63, 64, 65, 100, 128, 200, 320]),
       k=st.sampled_from([1, 2, 5, 28, 64, 65, 127, 128, 255, 256, 257, 300, 600]),
       trans_a=st.booleans(), batch=st.sampled_from([0, 0, 2]))
def test_gemm_matches_numpy_on_whichever_kernel_it_runs(m, n, k, trans_a, batch):
    rng = np.random.default_rng(m * 7919 + n * 31 + k)
    x, w = _operands(rng, m, n, k, trans_a, batch)
    # each example its own static shapes: after a few shapes of one function the jit
    # compiles code for any size (`api._families`), whose GEMMs are never loop nests
    fg.clear_caches()
    f = fg.jit(_matmul(trans_a, batch), backend="c")
    direct = "sgemmdk_f32(" in f.lower(x, w).source
    # (a GEMM small enough for a loop nest never calls a kernel, `small_gemm_form` and, in a
    # batch, `small_batched_gemm_fits`: 4 x 1 @ 1 x 64 failed this on AVX-512 CPUs when the
    # check left them out)
    loop_nest = gemm.small_gemm_form(np.float32, m, n, k, not trans_a, True) is not None or \
        (batch > 1 and gemm.small_batched_gemm_fits(np.float32, m, n, k))
    assert direct == (_AVX512 and not loop_nest and gemm.direct_gemm_fits(
        np.float32, gemm.TRANS if trans_a else gemm.NO_TRANS, gemm.NO_TRANS, m, n, k))
    _check(f(x, w), x, w, trans_a, k)


@pytest.mark.parametrize("m,n,k,trans_a", [(28, 384, 1792, False), (1792, 100, 28, False),
                                           (128, 384, 1792, True), (4, 128, 160, True)])
def test_the_gemms_it_was_made_for_run_direct(m, n, k, trans_a):
    # an RNN's input-weight gradient (few rows, a long K), its input projection (a short K,
    # with a 36-column tail for OpenBLAS), its hidden-weight gradient (A transposed), and a
    # GEMM just past the loop nests' size (`gemm.small_gemm_form`)
    rng = np.random.default_rng(0)
    x, w = _operands(rng, m, n, k, trans_a, 0)
    f = fg.jit(_matmul(trans_a, False), backend="c")
    if _AVX512:
        src = f.lower(x, w).source
        assert "sgemmdk_f32(" in src
        if "gn0" not in src:        # unsplit: OpenBLAS only for a tail of columns
            assert ("scipy_cblas_sgemm(" in src) == (n % 64 != 0)
    _check(f(x, w), x, w, trans_a, k)


def test_gemms_where_blas_measured_faster_stay_with_blas():
    # where OpenBLAS measured as fast or faster (784x128 transposed @ 128x512: 1.12x slower
    # on the direct kernel), and where B is stored transposed
    x = np.ones((128, 784), np.float32)
    w = np.ones((128, 512), np.float32)
    assert "sgemmdk_f32(" not in fg.jit(lambda x, w: x.T @ w, backend="c").lower(x, w).source
    # a short K with A transposed and many rows: 1.29x slower (2000x48 @ 48x1024)
    x, w = np.ones((48, 2000), np.float32), np.ones((48, 1024), np.float32)
    assert "sgemmdk_f32(" not in fg.jit(lambda x, w: x.T @ w, backend="c").lower(x, w).source
    assert "sgemmdk_f32(" not in fg.jit(lambda x, w: x.T @ w.T,
                                        backend="c").lower(x, w.T.copy()).source


def test_a_gemm_split_over_threads_matches_numpy():
    # m * n * k past GEMM_SPLIT_MIN: each OpenMP thread takes a share of the rows (of A's
    # columns when A is transposed), the last share shorter than a tile
    rng = np.random.default_rng(3)
    for trans_a in (False, True):
        x, w = _operands(rng, 123, 192, 700, trans_a, 0)
        with fg.config.override("cpu_threads", 2):
            got = fg.jit(_matmul(trans_a, False), backend="c")(x, w)
        _check(got, x, w, trans_a, 700)


@pytest.mark.parametrize("m,n,k,trans_a,trans_b", [
    (128, 512, 784, False, False), (100, 1000, 300, True, False), (40, 777, 90, False, True),
    (128, 500, 512, False, True), (130, 200, 64, True, False), (17, 129, 600, False, False)])
def test_a_gemm_split_over_threads_by_columns_matches_numpy(m, n, k, trans_a, trans_b):
    # more columns than rows on the direct kernel: each thread takes whole 64-column panels
    # of B, the last one with the columns past the last panel (on OpenBLAS the rows are
    # split: B stored transposed here)
    rng = np.random.default_rng(m + n + k)
    x = rng.standard_normal((k, m) if trans_a else (m, k)).astype(np.float32)
    w = rng.standard_normal((n, k) if trans_b else (k, n)).astype(np.float32)

    def f(x, w):
        return (x.T if trans_a else x) @ (w.T if trans_b else w)
    with fg.config.override("cpu_threads", 2):
        jf = fg.jit(f, backend="c")
        if m * n * k >= gemm.GEMM_SPLIT_MIN and m >= 16 and _AVX512:
            direct = gemm.direct_gemm_fits(np.float32, gemm.TRANS if trans_a else
                                           gemm.NO_TRANS, gemm.TRANS if trans_b else
                                           gemm.NO_TRANS, m, n, k)
            assert ("gn0" in jf.lower(x, w).source) == direct
        got = jf(x, w)
    _check(got, x, w.T if trans_b else w, trans_a, k)


def test_nonfinite_values_stay_in_their_rows():
    # a tile past the last row computes row M - 1 again and does not store it; the k blocks
    # add into C, so a NaN or inf reaches exactly the rows (and only those) it should
    rng = np.random.default_rng(4)
    for trans_a in (False, True):
        x, w = _operands(rng, 23, 128, 300, trans_a, 0)
        x_rows = x.T if trans_a else x                 # a view: writes reach x
        x_rows[22, 5] = np.inf
        x_rows[7, 290] = np.nan
        got = np.asarray(fg.jit(_matmul(trans_a, False), backend="c")(x, w))
        a = x.astype(np.float64).T if trans_a else x.astype(np.float64)
        want = a @ w.astype(np.float64)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        assert np.isfinite(np.delete(got, [7, 22], axis=0)).all()


def test_the_switch_turns_it_off(monkeypatch):
    x = np.ones((28, 1792), np.float32)
    w = np.ones((1792, 384), np.float32)
    be = get_backend("c")
    monkeypatch.setattr(gemm, "DIRECT_GEMM", False)
    be._families.clear()
    be._executables.clear()
    try:
        assert "sgemmdk_f32(" not in fg.jit(lambda x, w: x @ w, backend="c").lower(x, w).source
    finally:
        be._families.clear()
        be._executables.clear()


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 17), n=st.integers(1, 17), k=st.integers(1, 17),
       batch=st.sampled_from([2, 7, 300]), layout=st.sampled_from(["nn", "tn", "nt", "tt"]),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_small_batched_gemms_run_as_one_loop_nest(m, n, k, batch, layout, dtype):
    """A batch of small GEMMs (each size at most 16, m * n * k at most 4096) runs as one
    loop nest, not a BLAS call per batch entry (100,000 3x3 products: 9.6 ms in sgemm
    calls, JAX 1.3-1.6; ~1.1 as loops). Every operand layout, both float types, against
    float64 NumPy within the rounding bound of a dot product."""
    rng = np.random.default_rng(m * 10007 + n * 101 + k * 7 + batch)
    x = rng.standard_normal((batch,) + ((k, m) if layout[0] == "t" else (m, k))).astype(dtype)
    w = rng.standard_normal((batch,) + ((n, k) if layout[1] == "t" else (k, n))).astype(dtype)
    sw = fg.numpy.swapaxes

    def f(a, b):
        return (sw(a, 1, 2) if layout[0] == "t" else a) @ (sw(b, 1, 2) if layout[1] == "t"
                                                           else b)
    get_backend("c")._families.clear()      # (literal sizes: see test_the_switch...)
    with fg.config.enable_x64(True):
        src = fg.jit(f, backend="c").lower(x, w).source
        got = fg.jit(f, backend="c")(x, w)
    assert got.dtype == dtype
    got = np.asarray(got, np.float64)
    small = gemm.small_batched_gemm_fits(np.dtype(dtype), m, n, k)
    assert small == (max(m, n, k) <= 16 and m * n * k <= 4096)
    # (sizes past those that fit `small_gemm_form`'s loops instead)
    loops = small or gemm.small_gemm_form(np.dtype(dtype), m, n, k, layout[0] == "n",
                                          layout[1] == "n") is not None
    assert ("gemm(" not in src) == loops, src
    a = x.astype(np.float64)
    b = w.astype(np.float64)
    a = np.swapaxes(a, 1, 2) if layout[0] == "t" else a
    b = np.swapaxes(b, 1, 2) if layout[1] == "t" else b
    eps = float(np.finfo(dtype).eps)
    bound = 2 * k * eps * (np.abs(a) @ np.abs(b)) + eps * np.abs(a @ b)
    assert (np.abs(got - a @ b) <= bound).all()


def test_small_batched_gemm_gradients_and_a_run_time_batch():
    """The gradient of a batched 3x3 product (its transposes take the other layouts) and the
    product at a second batch size (compiled for a run-time batch), against the
    reference."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((50, 3, 3)).astype(np.float32)
    v = rng.standard_normal((50, 3)).astype(np.float32)

    def loss(a, v):
        return fg.numpy.sum(fg.numpy.tanh(fg.numpy.einsum("nij,nj->ni", a, v) +
                                          (a @ a[:, :, :1])[..., 0]))
    for n in (50, 50, 31):
        for f in (fg.grad(loss, argnums=(0, 1)), lambda a, v: a @ fg.numpy.swapaxes(a, 1, 2)):
            got = fg.jit(f, backend="c")(a[:n], v[:n])
            want = fg.jit(f, backend="reference")(a[:n], v[:n])
            for g, w in zip(fg.tree_util.tree_leaves(got), fg.tree_util.tree_leaves(want)):
                np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=2e-5, atol=2e-5)
