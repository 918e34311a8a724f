"""LU and triangular solves of small real matrices in C (`lowering.eager`'s
`fg_lu_small_*` and `fg_trsm_small_*`, used up to `lapack.SMALL`'s sizes: 16 rows and
columns for LU, 6 for triangular solves): the same algorithms as LAPACK's without its
per-call cost (inv of 100,000 3x3 float32 matrices: 47 ms -> 3.5 ms). They are checked
against the LAPACK path on the same input (the same pivots, values to rounding), on every
size they specialise (1-4) and the general loop, on failures (NaN input, singular
matrices, zeros on the diagonal), and through the public functions under `jit`."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.lowering import eager
from funcgrad.prims import lapack

pytestmark = pytest.mark.skipif(
    eager.library() is None or not hasattr(eager.library().lib, "fg_lu_small_s"),
    reason="no eager module with the small-matrix loops (installed without a C compiler)")

RTOL = {np.float32: 2e-5, np.float64: 1e-13}


def _through_lapack(monkeypatch, fn, *args):
    with monkeypatch.context() as m:
        m.setattr(lapack, "SMALL", {"lu": 0, "trsm": 0})
        return fn(*[np.copy(a) if isinstance(a, np.ndarray) else a for a in args])


def _no_lapack(monkeypatch):
    """Make any LAPACK or cblas call fail, so a test knows the small loops ran."""
    def refuse(name, dtype):
        raise AssertionError(f"LAPACK's {name} was called for a small matrix")
    monkeypatch.setattr(lapack, "_fn", refuse)


def _close(x, y, dtype):
    scale = max(1.0, float(np.nanmax(np.abs(y))) if np.isfinite(y).any() else 1.0)
    np.testing.assert_allclose(x, y, rtol=RTOL[dtype], atol=RTOL[dtype] * scale)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(9, 1, 1), (9, 2, 2), (9, 3, 3), (9, 4, 4), (9, 5, 5),
                                   (9, 8, 8), (9, 16, 16), (1, 3, 3), (9, 3, 5), (9, 5, 3),
                                   (9, 16, 1), (9, 1, 16), (2, 3, 4, 3)])
def test_lu_of_small_matrices_matches_lapack(monkeypatch, dtype, shape):
    rng = np.random.default_rng(sum(shape))
    a = rng.standard_normal(shape).astype(dtype)
    flat = a.reshape((-1,) + shape[-2:])
    if flat.shape[0] > 3:
        flat[1] = np.nan                                 # NaN input: all NaN
        flat[2] = 0                                      # singular: zero pivots
        flat[3, :, 0] = flat[3, :, -1]                   # singular, nonzero
    ref = _through_lapack(monkeypatch, lapack.lu, a)
    _no_lapack(monkeypatch)
    lu, piv, perm = lapack.lu(a)
    assert lu.dtype == ref[0].dtype and lu.shape == ref[0].shape
    assert piv.shape == ref[1].shape and perm.shape == ref[2].shape
    # Matrix 3's last pivot is chosen among rounding errors: only P a = L U holds for it.
    keep = np.arange(flat.shape[0]) != 3
    flat_piv = piv.reshape(flat.shape[0], -1)
    np.testing.assert_array_equal(flat_piv[keep], ref[1].reshape(flat_piv.shape)[keep])
    flat_perm = perm.reshape(flat.shape[0], -1)
    np.testing.assert_array_equal(flat_perm[keep], ref[2].reshape(flat_perm.shape)[keep])
    if flat.shape[0] > 3:
        assert np.isnan(lu.reshape(flat.shape)[1]).all()
        assert (lu.reshape(flat.shape)[2] == 0).all()
    _close(lu.reshape(flat.shape)[keep], ref[0].reshape(flat.shape)[keep], dtype)
    # P a = L U for every matrix without NaN.
    m, n = shape[-2:]
    k = min(m, n)
    for x, f, p in zip(flat, lu.reshape(flat.shape), perm.reshape(-1, m)):
        if np.isnan(x).any():
            continue
        low = np.tril(f[:, :k], -1) + np.eye(m, k, dtype=dtype)
        up = np.triu(f[:k, :])
        _close(low @ up, x[p], dtype)


def test_lu_pivots_on_the_first_of_equal_magnitudes(monkeypatch):
    a = np.array([[[1., 2.], [-1., 5.]], [[0., 1.], [0., 2.]], [[2., 1.], [-4., 3.]]],
                 np.float32)
    ref = _through_lapack(monkeypatch, lapack.lu, a)
    _no_lapack(monkeypatch)
    lu, piv, perm = lapack.lu(a)
    np.testing.assert_array_equal(piv, [[0, 1], [0, 1], [1, 1]])
    np.testing.assert_array_equal(piv, ref[1])
    np.testing.assert_array_equal(lu, ref[0])          # exact in these cases
    np.testing.assert_array_equal(perm, ref[2])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 6])
def test_triangular_solves_of_small_matrices_match_lapack(monkeypatch, dtype, k):
    rng = np.random.default_rng(k)
    a = (rng.standard_normal((5, k, k)) + 4 * np.eye(k)).astype(dtype)
    for left, lower, trans, unit in itertools.product((True, False), repeat=4):
        for other in sorted({1, k, 5}):
            shape = (5, k, other) if left else (5, other, k)
            b = rng.standard_normal(shape).astype(dtype)
            ref = _through_lapack(monkeypatch, lapack.triangular_solve, a, b, left, lower,
                                  trans, unit)
            with monkeypatch.context() as mp:
                _no_lapack(mp)
                x = lapack.triangular_solve(a, b, left, lower, trans, unit)
            assert x.dtype == ref.dtype and x.shape == ref.shape
            _close(x, ref, dtype)


def test_a_zero_on_the_diagonal_gives_inf_or_nan_as_through_lapack(monkeypatch):
    a = np.eye(3, dtype=np.float32)[None].repeat(2, 0) * 2
    a[1, 1, 1] = 0
    b = np.ones((2, 3, 2), np.float32)
    ref = _through_lapack(monkeypatch, lapack.triangular_solve, a, b, True, True, False,
                          False)
    _no_lapack(monkeypatch)
    x = lapack.triangular_solve(a, b, True, True, False, False)
    np.testing.assert_array_equal(x, ref)
    assert np.isinf(x[1, 1]).all() and (x[0] == 0.5).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
def test_inv_solve_and_det_of_a_stack_of_small_matrices(dtype, n):
    rng = np.random.default_rng(n)
    a = (rng.standard_normal((300, n, n)) + 2 * np.eye(n)).astype(dtype)
    b = rng.standard_normal((300, n, 2)).astype(dtype)
    x64 = a.astype(np.float64)
    want_inv = np.linalg.inv(x64)
    want_solve = np.linalg.solve(x64, b.astype(np.float64))
    cond = np.linalg.cond(x64).max()
    tol = (1e-6 if dtype == np.float32 else 1e-14) * cond
    with fg.config.enable_x64(dtype == np.float64):
        inv = fg.jit(lambda a: fnp.linalg.inv(a))(a)
        sol = fg.jit(lambda a, b: fnp.linalg.solve(a, b))(a, b)
        det = fnp.linalg.det(a)
    assert inv.dtype == dtype and sol.dtype == dtype
    np.testing.assert_allclose(np.asarray(inv), want_inv, rtol=tol, atol=tol)
    np.testing.assert_allclose(np.asarray(sol), want_solve, rtol=tol, atol=tol)
    np.testing.assert_allclose(np.asarray(det), np.linalg.det(x64), rtol=tol)
