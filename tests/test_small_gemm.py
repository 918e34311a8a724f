"""Small GEMMs as loop nests in the kernel (`gemm.small_gemm_form`, `gemm._small_gemm`): a
matrix-vector product or a GEMM of at most 2^16 multiply-adds runs as a vectorised loop
instead of a BLAS call, which costs more than the arithmetic at these sizes (an RNN's
32 x 32 step: 348 ns in sgemm, 96 as a loop; h @ W: 240 against 28). Every operand
layout the lowering meets (either operand transposed, a batch, a dimension of 1) is
checked against float64 NumPy, the generated C is checked to hold no BLAS call, and the
scan RNN that prompted it is checked with its gradient against the eager (BLAS) path."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.lowering import gemm

RTOL = {np.float32: 3e-5, np.float64: 1e-12}
# (130, 1, 80): a matrix-vector product past L1's size, its dots four rows a pass and two
# rows after them
SHAPES = [(1, 32, 32), (32, 1, 32), (1, 1, 17), (5, 7, 3), (3, 1, 1), (16, 64, 64),
          (7, 13, 1), (2, 300, 250), (130, 1, 80)]


def _operands(rng, M, N, K, dtype, batch, a_t, b_t):
    """A [..., M, K] and B [..., K, N] as stored arrays (A stored [K, M] when a_t, B stored
    [N, K] when b_t) and the dot_general that multiplies them."""
    bs = (batch,) if batch else ()
    a = rng.standard_normal(bs + ((K, M) if a_t else (M, K))).astype(dtype)
    b = rng.standard_normal(bs + ((N, K) if b_t else (K, N))).astype(dtype)
    nb = len(bs)
    dims = (((nb + (0 if a_t else 1),), (nb + (1 if b_t else 0),)),
            (tuple(range(nb)), tuple(range(nb))))
    return a, b, dims


def _reference(a, b, a_t, b_t):
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    if a_t:
        a64 = np.swapaxes(a64, -1, -2)
    if b_t:
        b64 = np.swapaxes(b64, -1, -2)
    return a64 @ b64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch", [0, 3])
@pytest.mark.parametrize("a_t,b_t", list(itertools.product([False, True], repeat=2)))
def test_every_layout_against_numpy(dtype, batch, a_t, b_t):
    with fg.config.enable_x64(dtype == np.float64):
        _every_shape(dtype, batch, a_t, b_t)


def _every_shape(dtype, batch, a_t, b_t):
    rng = np.random.default_rng(7)
    for M, N, K in SHAPES:
        a, b, dims = _operands(rng, M, N, K, dtype, batch, a_t, b_t)
        # (a program of the same structure with other sizes would be compiled with the sizes
        # that differ read at run time, which keeps BLAS; each shape here is its first)
        fg.backends.get_backend("c")._families.clear()
        f = fg.jit(lambda x, y, dims=dims: lax.dot_general(x, y, dims))
        got = np.asarray(f(a, b))
        want = _reference(a, b, a_t, b_t)
        assert got.dtype == dtype and got.shape == want.shape
        scale = np.abs(a).max() * np.abs(b).max() * K
        np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=RTOL[dtype] * scale,
                                   err_msg=f"{(M, N, K)} a_t={a_t} b_t={b_t}")
        form = gemm.small_gemm_form(np.dtype(dtype), M, N, K, not a_t, not b_t)
        src = f.lower(a, b).source
        small_batch = batch and gemm.small_batched_gemm_fits(np.dtype(dtype), M, N, K)
        if form is not None or small_batch:
            assert "cblas_" not in src, ((M, N, K), a_t, b_t, form)


def test_the_forms_chosen():
    f32 = np.dtype(np.float32)
    assert gemm.small_gemm_form(f32, 32, 1, 32, True, True) == "dot"     # W @ h
    assert gemm.small_gemm_form(f32, 1, 32, 32, True, True) == "row"     # h @ W
    assert gemm.small_gemm_form(f32, 32, 1, 32, False, True) == "col"    # W.T @ h
    assert gemm.small_gemm_form(f32, 4, 32, 32, True, False) == "dot"    # x @ W.T
    assert gemm.small_gemm_form(f32, 16, 16, 64, True, False) is None    # ... past 4096
    assert gemm.small_gemm_form(f32, 1, 1000, 64, True, False) == "dot"  # one row
    assert gemm.small_gemm_form(f32, 4, 32, 32, False, False) is None    # x.T @ W.T
    assert gemm.small_gemm_form(f32, 1, 512, 512, True, True) == "row"   # 2^18 with one row
    assert gemm.small_gemm_form(f32, 2, 512, 512, True, True) is None
    assert gemm.small_gemm_form(f32, 64, 64, 64, True, True) is None     # BLAS's sizes
    assert gemm.small_gemm_form(np.dtype(np.complex64), 1, 8, 8, True, True) is None
    assert gemm.small_gemm_form(np.dtype(np.int32), 1, 8, 8, True, True) is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_finite_values_reach_the_output(dtype):
    """0 * inf in a product makes NaN, and an inf row stays inf, as in BLAS and NumPy."""
    with fg.config.enable_x64(dtype == np.float64):
        _non_finite(dtype)


def _non_finite(dtype):
    for n in (16, 1):                       # "row" / "dot" / "col" forms (and one in BLAS)
        a = np.ones((4, 8), dtype)
        b = np.ones((8, n), dtype)
        a[1, 3] = np.inf
        b[3, n - 1] = 0.0
        a[2, 0] = np.nan
        with np.errstate(invalid="ignore"):
            want = a.astype(np.float64) @ b.astype(np.float64)
        for a_t, b_t in itertools.product([False, True], repeat=2):
            sa, sb = (a.T.copy() if a_t else a), (b.T.copy() if b_t else b)
            dims = (((0 if a_t else 1,), (1 if b_t else 0,)), ((), ()))
            fg.backends.get_backend("c")._families.clear()
            got = np.asarray(fg.jit(lambda x, y: lax.dot_general(x, y, dims))(sa, sb))
            np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
            np.testing.assert_array_equal(got[~np.isnan(want)], want[~np.isnan(want)])
            assert np.isinf(got[1, 0]) == (n > 1) and np.isnan(got[1, n - 1])


def test_a_sum_of_negative_zeros_is_positive_zero():
    """Products that are all -0.0 sum to +0.0, as NumPy's and BLAS's sums (which start at
    0) give, in every form; a reciprocal after it is +inf, not -inf."""
    for M, N, K in [(1, 2, 2), (2, 1, 2), (1, 1, 2), (3, 9, 4)]:
        for a_t, b_t in itertools.product([False, True], repeat=2):
            a = -np.ones((M, K), np.float32)
            b = np.zeros((K, N), np.float32)
            sa, sb = (a.T.copy() if a_t else a), (b.T.copy() if b_t else b)
            dims = (((0 if a_t else 1,), (1 if b_t else 0,)), ((), ()))
            fg.backends.get_backend("c")._families.clear()
            got = np.asarray(fg.jit(lambda x, y: 1 / lax.dot_general(x, y, dims))(sa, sb))
            assert np.all(got == np.inf), ((M, N, K), a_t, b_t, got)


def _rnn(W, xs, h_at_w):
    def step(h, x):
        h = fnp.tanh((h @ W if h_at_w else W @ h) + x)
        return h, h
    return lax.scan(step, fnp.zeros(W.shape[0], W.dtype), xs)[1].sum()


@pytest.mark.parametrize("h_at_w", [False, True])
def test_scan_rnn_and_its_gradient_match_the_eager_path(h_at_w):
    """The RNN step that prompted the loop nests: its forward value and both gradients under
    `jit` (small loops) against eager execution (BLAS calls)."""
    rng = np.random.default_rng(3)
    W = (rng.standard_normal((32, 32)) * 0.2).astype(np.float32)
    xs = rng.standard_normal((50, 32)).astype(np.float32)
    f = fg.value_and_grad(lambda W, xs: _rnn(W, xs, h_at_w), argnums=(0, 1))
    v_jit, g_jit = fg.jit(f)(W, xs)
    with fg.disable_jit():
        v_eager, g_eager = f(W, xs)
    np.testing.assert_allclose(np.asarray(v_jit), np.asarray(v_eager), rtol=1e-4)
    for gj, ge in zip(g_jit, g_eager):
        np.testing.assert_allclose(np.asarray(gj), np.asarray(ge), rtol=1e-3, atol=1e-4)
    assert "cblas_" not in fg.jit(f).lower(W, xs).source
