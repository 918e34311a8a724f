"""The packed-panel GEMM of scan bodies (`gemm._packed_gemm_once`, `cdsl.helpers.sgemmpk_f32`):
a float32 GEMM whose right operand is a loop constant packs it at the first iteration and
reuses the copy, on CPUs with 512-bit vectors. Every layout, every edge of the 5x64 tile,
the repacking of a weight that changed in place between calls, and gradients, against the
reference backend."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.lowering import gemm

_PACKED = gemm.packed_gemm_fits(np.float32, 64, 128, 128)


def _reference(f, *args):
    with fg.config.override("backend", "reference"):
        return f(*args)


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
        assert "sgemmpk_f32(" in jf.lower(w, xs).source
    np.testing.assert_allclose(np.asarray(jf(w, xs)[1]), np.asarray(_reference(f, w, xs)[1]),
                               rtol=2e-5, atol=2e-5)


def test_a_weight_changed_in_place_between_calls_is_packed_again():
    # The packed copy lives in the executable's scratch across calls. A NumPy argument is
    # read in place, so the same address can hold a new weight on the next call: the scan
    # clears the copy's header before every loop, and the first iteration packs again.
    rng = np.random.default_rng(0)
    w = rng.standard_normal((96, 128)).astype(np.float32)
    xs = rng.standard_normal((3, 40, 96)).astype(np.float32)
    f = _scan_matmul(False, False)
    jf = fg.jit(f, backend="c")
    for scale in (1.0, -2.0, 0.5):
        w *= scale                                   # same buffer, new values
        got = np.asarray(jf(w, xs)[1])
        want = np.asarray(_reference(f, w.copy(), xs)[1])
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("hidden", [37, 64, 130])
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
        assert jvg.lower(wh, wi, xs).source.count("sgemmpk_f32(") >= 2
    got = jvg(wh, wi, xs)
    want = _reference(vg, wh, wi, xs)
    np.testing.assert_allclose(float(got[0]), float(want[0]), rtol=1e-5)
    for g, w in zip(got[1], want[1]):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-4, atol=1e-4)


def test_gemms_outside_loops_stay_with_blas():
    # packing on every call measured slower than OpenBLAS nearly everywhere
    x = np.ones((64, 128), np.float32)
    w = np.ones((128, 384), np.float32)
    assert "sgemmpk_f32(" not in fg.jit(lambda x, w: x @ w, backend="c").lower(x, w).source


def test_nonfinite_values_stay_in_their_columns():
    # the padded columns of the last panel are zeros: an inf in A meets them (inf * 0 = NaN)
    # only in columns that are never stored
    w = np.ones((16, 40), np.float32)
    xs = np.ones((2, 7, 16), np.float32)
    xs[0, 3, 5] = np.inf
    f = _scan_matmul(False, False)
    got = np.asarray(fg.jit(f, backend="c")(w, xs)[1])
    want = np.asarray(_reference(f, w, xs)[1])
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
    assert not np.isnan(got).any()
