"""LU, Cholesky, triangular solves, QR, eigh and SVD compiled into C programs
(`lowering.linalg_c`): a jitted program with them has no host step left, and gives the
bits the host step (the reference backend's `prims/lapack.py`) gives, on every path: the
unblocked small loops and LAPACK, every triangular-solve flag, batches, float32 and
float64, NaN input, singular and indefinite matrices, and what `solve`, `inv`, `slogdet`
and `cho_solve` build from them."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.backends import c as cbackend
from funcgrad.backends import get_backend
from funcgrad.lowering import linalg_c

pytestmark = [pytest.mark.cbackend,
              pytest.mark.skipif(not cbackend.available(), reason="no C compiler")]

RNG = np.random.default_rng(11)


def _same(f, *args, label, rtol=0.0):
    """jit(f) on C: no host step, `label` in its source, and bit-equal to the reference
    (within `rtol` where a reduction or a GEMM follows: C and NumPy add in other orders).
    float64 arguments run with x64 on."""
    if any(np.asarray(x).dtype == np.float64 for x in args):
        with fg.config.enable_x64(True):
            return _check(f, args, label, rtol)
    return _check(f, args, label, rtol)


def _check(f, args, label, rtol):
    low = fg.jit(f, backend="c").lower(*args)
    exe = get_backend("c").executable(low.program, low.name)
    assert not exe._host_steps, [s[0].prim.name for k, s in exe.steps if k == "host"]
    assert label in low.source
    out = fg.tree.tree_leaves(fg.jit(f, backend="c")(*args))
    ref = fg.tree.tree_leaves(fg.jit(f, backend="reference")(*args))
    assert len(out) == len(ref)
    for x, y in zip(out, ref):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        if rtol:
            np.testing.assert_allclose(x, y, rtol=rtol)
        else:
            np.testing.assert_array_equal(x, y)


def _general(shape, dtype):
    return RNG.standard_normal(shape).astype(dtype)


def _spd(batch, n, dtype):
    a = RNG.standard_normal(batch + (n, n))
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 7), (16, 16), (2, 4, 4), (17, 17),
                                   (40, 24), (24, 40), (3, 33, 33)])
def test_lu_matches_the_host_step(shape, dtype):
    how = "unblocked" if max(shape[-2:]) <= 16 else "getrf"
    t = "float" if dtype == np.float32 else "double"
    batch = int(np.prod(shape[:-2]))
    _same(lambda a: lax.linalg.lu(a), _general(shape, dtype),
          label=f"lu ({how}) of {batch} x ({shape[-2]}, {shape[-1]}) {t}")


@pytest.mark.parametrize("n", [4, 30])
def test_lu_of_nan_and_singular_matrices(n):
    a = _general((3, n, n), np.float32)
    a[0, 1, 2] = np.nan                    # LAPACKE rejects it: an all-NaN factor
    a[1, :, 0] = 0                         # exactly singular: a zero pivot, no error
    a[2, 3] = a[2, 1]
    _same(lambda a: lax.linalg.lu(a), a, label="lu (")
    lu, piv, perm = fg.jit(lambda a: lax.linalg.lu(a), backend="c")(a)
    assert np.isnan(np.asarray(lu)[0]).all()
    np.testing.assert_array_equal(np.asarray(piv)[0], np.arange(n))


@pytest.mark.parametrize("k,other", [(3, 1), (3, 5), (6, 6), (7, 1), (20, 9)])
@pytest.mark.parametrize("left,lower,trans,unit",
                         list(itertools.product([True, False], repeat=4)))
def test_triangular_solve_matches_the_host_step(k, other, left, lower, trans, unit):
    a = _general((2, k, k), np.float32) + 4 * np.eye(k, dtype=np.float32)
    b = _general((2, k, other) if left else (2, other, k), np.float32)
    how = "substitution" if k <= 6 else "trsm"
    _same(lambda a, b: lax.linalg.triangular_solve(a, b, left_side=left, lower=lower,
                                                   transpose_a=trans, unit_diagonal=unit),
          a, b, label=f"triangular_solve ({how})")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_many_small_matrices_split_over_threads_give_the_same_bits(dtype):
    """A batch of small matrices big enough to fill a parallel region (the LU's and the
    solves' loop over matrices), run by a team of two threads (forced: the automatic
    team may be one on a busy machine): each matrix's result is the host step's, NaN and
    singular matrices among them, in any place of the batch the threads share."""
    a = _general((6000, 3, 3), dtype) + 4 * np.eye(3, dtype=dtype)
    a[17, 1, 2] = np.nan
    a[4001, :, 0] = 0
    a[5999, 2] = a[5999, 0]
    b = _general((6000, 3, 2), dtype)
    t = "float" if dtype == np.float32 else "double"
    low = fg.jit(lambda a, b: fnp.linalg.solve(a, b), backend="c").lower(a, b)
    assert low.source.count("#pragma omp parallel") >= 3, low.source
    with fg.config.override("cpu_threads", 2):
        _same(lambda a: lax.linalg.lu(a), a, label=f"lu (unblocked) of 6000 x (3, 3) {t}")
        _same(lambda a, b: fnp.linalg.solve(a, b), a, b,
              label=f"triangular_solve (substitution) of 6000 x (3, 2) {t}")
        _same(fnp.linalg.inv, a, label="triangular_solve (substitution)")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lapack_per_matrix_in_shares_over_threads_gives_the_same_bits(dtype):
    """Batches that call LAPACK or BLAS once per matrix, big enough to split into shares
    (each with its own scratch: getrf's pivots, geqrf's copy, gesdd's copy), run by two
    threads (forced): every matrix as the host step, NaN and failing matrices among them,
    batches that do not divide evenly into the shares."""
    t = "float" if dtype == np.float32 else "double"
    a = _general((23, 20, 20), dtype)
    a[5, 3, 3] = np.nan
    spd = _spd((47,), 20, dtype)
    spd[46] = -spd[46]                      # not positive definite: NaN
    sq = _general((71, 8, 8), dtype)
    sq[70, 0, 0] = np.nan
    tri = np.tril(_general((330, 9, 9), dtype)) + 9 * np.eye(9, dtype=dtype)
    rhs = _general((330, 9, 5), dtype)
    cases = [(lambda a: lax.linalg.lu(a), (a,), f"lu (getrf) of 23 x (20, 20) {t}"),
             (fnp.linalg.cholesky, (spd,), f"cholesky (potrf) of 47 x (20, 20) {t}"),
             (lambda x: fnp.linalg.qr(x), (sq,), f"qr (geqrf, orgqr) of 71 x (8, 8) {t}"),
             (lambda x: fnp.linalg.eigh(x + np.swapaxes(x, -1, -2)), (sq,),
              f"eigh (syevd) of 71 x (8, 8) {t}"),
             (lambda x: fnp.linalg.svd(x), (sq,), f"svd (gesdd) of 71 x (8, 8) {t}"),
             (lambda a, b: lax.linalg.triangular_solve(a, b, left_side=True, lower=True),
              (tri, rhs), f"triangular_solve (trsm) of 330 x (9, 5) {t}")]
    for f, args, label in cases:
        low = fg.jit(f, backend="c").lower(*args)
        assert "#pragma omp parallel" in low.source, label
        with fg.config.override("cpu_threads", 2):
            _same(f, *args, label=label)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch,n", [((), 1), ((), 5), ((), 32), ((3,), 20)])
def test_cholesky_matches_the_host_step(batch, n, dtype):
    t = "float" if dtype == np.float32 else "double"
    _same(lambda a: lax.linalg.cholesky(a, symmetrize_input=False), _spd(batch, n, dtype),
          label=f"cholesky (potrf) of {int(np.prod(batch))} x ({n}, {n}) {t}")


def test_cholesky_of_an_indefinite_matrix_is_nan_below_and_zero_above():
    a = _spd((2,), 6, np.float32)
    a[1] = -a[1]
    _same(lambda a: lax.linalg.cholesky(a, symmetrize_input=False), a,
          label="cholesky (potrf)")
    out = np.asarray(fg.jit(lambda a: lax.linalg.cholesky(a, symmetrize_input=False))(a))
    assert np.isnan(out[1][np.tril_indices(6)]).all() and not np.triu(out[1], 1).any()
    assert np.isfinite(out[0]).all()


@pytest.mark.parametrize("n", [3, 12, 32])
def test_what_users_build_from_them(n):
    a = _spd((), n, np.float32)
    b = _general((n, 4), np.float32)
    _same(lambda a, b: fnp.linalg.solve(a, b), a, b, label="lu (")
    _same(lambda a: fnp.linalg.inv(a), a, label="lu (")
    _same(lambda a: fnp.linalg.slogdet(a), a, label="lu (", rtol=1e-6)
    _same(lambda a, b: fg.scipy.linalg.cho_solve(fg.scipy.linalg.cho_factor(a), b), a, b,
          label="cholesky (potrf)")
    x = np.asarray(fg.jit(lambda a, b: fnp.linalg.solve(a, b))(a, b), np.float64)
    np.testing.assert_allclose(a.astype(np.float64) @ x, b, rtol=1e-3, atol=1e-3)


def test_a_scan_with_a_solve_compiles_whole():
    """A loop body with a solve was a host step, so the loop ran from Python."""
    a = _spd((), 8, np.float32)

    def f(a, x0):
        def step(x, _):
            x = fnp.linalg.solve(a, x) + 0.5
            return x, x.sum()
        return lax.scan(step, x0, None, length=20)
    _same(f, a, _general((8,), np.float32), label="scan (", rtol=1e-6)


def test_gradients_through_the_compiled_factorisations():
    a = _spd((), 10, np.float64)
    b = _general((10,), np.float64)

    def loss(a, b):
        return (fnp.linalg.solve(a, b) ** 2).sum() + fnp.linalg.slogdet(a)[1]
    _same(fg.grad(loss, argnums=(0, 1)), a, b, label="lu (", rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(40, 20), (20, 40), (3, 6, 6), (1, 1)])
@pytest.mark.parametrize("full", [False, True])
def test_qr_matches_the_host_step(shape, full, dtype):
    _same(lambda a: fnp.linalg.qr(a, mode="complete" if full else "reduced"),
          _general(shape, dtype), label="qr (geqrf, orgqr)")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("batch,n", [((), 1), ((), 32), ((2,), 9)])
@pytest.mark.parametrize("lower", [True, False])
def test_eigh_matches_the_host_step(batch, n, lower, dtype):
    a = _general(batch + (n, n), dtype)
    _same(lambda a: lax.linalg.eigh(a, lower=lower, symmetrize_input=False), a,
          label="eigh (syevd)")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(40, 20), (20, 40), (2, 7, 7), (1, 5)])
@pytest.mark.parametrize("full,uv", [(False, True), (True, True), (False, False)])
def test_svd_matches_the_host_step(shape, full, uv, dtype):
    _same(lambda a: fnp.linalg.svd(a, full_matrices=full, compute_uv=uv),
          _general(shape, dtype), label="svd (gesdd)")


def test_nan_input_makes_qr_eigh_and_svd_nan():
    a = _general((2, 6, 6), np.float32)
    a[1, 2, 3] = a[1, 3, 2] = np.nan       # (eigh reads one triangle)
    for f in (lambda a: fnp.linalg.qr(a), lambda a: lax.linalg.eigh(a, symmetrize_input=False),
              lambda a: fnp.linalg.svd(a)):
        _same(f, a, label=" (")
        outs = fg.tree.tree_leaves(fg.jit(f)(a))
        assert all(np.isnan(np.asarray(o)[1]).all() for o in outs)
        assert all(np.isfinite(np.asarray(o)[0]).all() for o in outs)


def test_export_to_c_keeps_refusing_them(tmp_path):
    """`export.to_c` writes files that need only libm: no LAPACK calls, so a factorisation
    has no C form there, as before."""
    from funcgrad.export import ExportError, to_c
    with pytest.raises(ExportError, match="'cholesky' has no C lowering"):
        to_c(lambda a: lax.linalg.cholesky(a, symmetrize_input=False), _spd((), 4, np.float32),
             directory=tmp_path, name="chol")


def test_size_generic_programs_and_complex_matrices_keep_the_host_step():
    z = (_general((4, 4), np.float32) + 1j * _general((4, 4), np.float32)).astype(np.complex64)
    low = fg.jit(lambda a: lax.linalg.lu(a)[0], backend="c").lower(z)
    assert not any(linalg_c.lowerable(e) for e in low.program.eqns)
    np.testing.assert_allclose(np.asarray(fg.jit(lambda a: fnp.linalg.inv(a))(z)) @ z,
                               np.eye(4), atol=1e-4)
