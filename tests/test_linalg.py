"""Linear algebra on LAPACK: the factorisation primitives (cholesky, triangular_solve, lu,
qr, eigh, svd), `funcgrad.numpy.linalg`, `funcgrad.lax.linalg` (`funcgrad._lax_linalg`) and
`funcgrad.scipy.linalg` against NumPy/SciPy, on every backend, eager and under jit, batched,
float32 and float64; derivatives (forward and reverse, second order) at matrices where LU
pivots; singular and non-positive-definite input (NaN/inf, never an exception).

The spec rows in specs.py cover the generic properties (vmap vs loop, jit vs eager) on
well-conditioned matrices; these tests cover what those cannot: pivoting, failures,
factorisation identities and the options of each function."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla

import funcgrad as fg
import funcgrad.numpy as fnp
import funcgrad.scipy as fsp
from funcgrad import _lax_linalg as lax_linalg
from funcgrad.prims import lapack
from funcgrad.prims import linalg as la
from funcgrad.testing import check_grads

F32, F64 = np.float32, np.float64


@pytest.fixture(autouse=True)
def _float64_enabled(x64):
    """Most checks here compare in float64 (and check_grads differentiates in float64):
    every test runs with 64-bit dtypes enabled; float32 cases pass float32 arrays."""
    yield
TOL = {F32: {"rtol": 2e-4, "atol": 2e-4}, F64: {"rtol": 1e-9, "atol": 1e-9}}


def rand(*shape, seed=0, dtype=F64):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def spd(*shape, seed=0, dtype=F64):
    a = rand(*shape, seed=seed, dtype=F64)
    out = a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])
    return out.astype(dtype)


def close(actual, expected, dtype=F64, **kw):
    tol = {**TOL[np.dtype(dtype).type], **kw}
    np.testing.assert_allclose(np.asarray(actual, F64), np.asarray(expected, F64), **tol)


def per_matrix(f, *arrays):
    """NumPy reference over the leading axes of stacked matrices."""
    batch = arrays[0].shape[:-2]
    outs = [f(*(a[idx] for a in arrays)) for idx in np.ndindex(*batch)]
    return np.array(outs).reshape(batch + np.shape(outs[0]))


# --- the LAPACK binding -----------------------------------------------------------------

@pytest.mark.core
@pytest.mark.parametrize("dtype", [F32, F64])
@pytest.mark.parametrize("shape", [(4, 4), (2, 5, 3), (3, 2, 6), (1, 1), (0, 3, 3)])
def test_lapack_lu_matches_scipy(dtype, shape):
    a = rand(*shape, seed=1, dtype=dtype)
    lu, piv, perm = lapack.lu(a)
    m, n = shape[-2:]
    k = min(m, n)
    assert lu.dtype == dtype and piv.dtype == perm.dtype == np.int32
    assert piv.shape == shape[:-2] + (k,) and perm.shape == shape[:-2] + (m,)
    if a.size:
        close(lu, per_matrix(lambda x: sla.lu_factor(x)[0], a.astype(F64)), dtype)
        np.testing.assert_array_equal(piv, per_matrix(lambda x: sla.lu_factor(x)[1], a))
    l_ = np.tril(lu[..., :, :k], -1) + np.eye(m, k)
    u = np.triu(lu[..., :k, :])
    close(l_ @ u, np.take_along_axis(a, perm[..., :, None].astype(np.intp), -2), dtype)


@pytest.mark.core
@pytest.mark.parametrize("dtype", [F32, F64])
def test_lapack_factorisations_reconstruct(dtype):
    a = rand(2, 5, 3, seed=2, dtype=dtype)
    for full in (True, False):
        for x in (a, np.swapaxes(a, -1, -2).copy()):
            q, r = lapack.qr(x, full)
            m, n = x.shape[-2:]
            c = m if full else min(m, n)
            assert q.shape == x.shape[:-2] + (m, c) and r.shape == x.shape[:-2] + (c, n)
            close(q @ r, x, dtype)
            close(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(c), q.shape[:-2] +
                                                                (c, c)), dtype)
            assert np.all(np.tril(r, -1) == 0)
            s, u, vt = lapack.svd(x, full, True)
            k = min(m, n)
            close((u[..., :, :k] * s[..., None, :]) @ vt[..., :k, :], x, dtype)
            close(s, np.linalg.svd(x.astype(F64), compute_uv=False), dtype)
            (s2,) = lapack.svd(x, full, False)
            close(s2, s, dtype)
    h = spd(3, 4, 4, seed=3, dtype=dtype)
    v, w = lapack.eigh(h, True)
    close(w, np.linalg.eigvalsh(h.astype(F64)), dtype)
    close(h @ v, v * w[..., None, :], dtype, atol=1e-3 if dtype == F32 else 1e-9)
    L = lapack.cholesky(h)
    close(L, np.linalg.cholesky(h.astype(F64)), dtype)


@pytest.mark.core
def test_lapack_failures_give_nan_not_exceptions():
    h = spd(3, 3, 3, seed=4)
    h[1] = -h[1]                                     # not positive definite
    L = lapack.cholesky(h)
    # JAX: NaN on and below the diagonal, zeros above (the lower triangle of all NaN)
    assert np.all(np.isnan(L[1][np.tril_indices(3)])) and np.all(np.triu(L[1], 1) == 0)
    assert np.all(np.isfinite(L[[0, 2]]))
    bad = np.array([[np.nan, 1.0], [1.0, 2.0]])
    assert np.all(np.isnan(lapack.lu(bad)[0]))
    assert all(np.all(np.isnan(o)) for o in lapack.svd(bad, False, True))
    assert all(np.all(np.isnan(o)) for o in lapack.eigh(bad, True))
    assert all(np.all(np.isnan(o)) for o in lapack.qr(bad, False))
    x = lapack.triangular_solve(np.zeros((2, 2)), np.ones((2, 1)), True, True, False, False)
    assert not np.any(np.isfinite(x))
    with pytest.raises(TypeError, match="float32 or float64"):
        lapack.cholesky(np.eye(2, dtype=np.float16))


# --- numpy.linalg on every backend, eager and under jit ---------------------------------

def _linalg_outputs(a, b, h, w, names=None):
    """Every numpy.linalg function (or those in `names`) on square a [2, 4, 4], rhs
    b [2, 4, 3], SPD h [2, 4, 4] and wide w [3, 5]."""
    L = fnp.linalg
    wt = fnp.swapaxes(w, 0, 1)

    def eigh_rebuilt():
        ev, evec = L.eigh(h)
        return evec @ (ev[..., :, None] * fnp.swapaxes(evec, -1, -2))

    def qr_rebuilt(x, mode):
        q, r = L.qr(x, mode=mode)
        return q @ r

    def svd_rebuilt():
        u, s, vh = L.svd(w, full_matrices=False)
        return (u * s) @ vh

    fns = {
        "solve": lambda: L.solve(a, b), "solve_vec": lambda: L.solve(a, b[0, :, 0]),
        "inv": lambda: L.inv(a), "det": lambda: L.det(a), "det3": lambda: L.det(a[:, :3, :3]),
        "sign": lambda: L.slogdet(a)[0], "logdet": lambda: L.slogdet(a)[1],
        "cholesky": lambda: L.cholesky(h), "cholesky_upper": lambda: L.cholesky(h, upper=True),
        "q@r": lambda: qr_rebuilt(w, "reduced"), "r": lambda: fnp.abs(L.qr(w)[1]),
        "qc@rc": lambda: qr_rebuilt(a, "complete"), "s": lambda: L.svd(w)[1],
        "u*s@vh": svd_rebuilt, "eigvals": lambda: L.eigh(h)[0], "eigh": eigh_rebuilt,
        "eigvalsh": lambda: L.eigvalsh(h), "svdvals": lambda: L.svdvals(a),
        "lstsq": lambda: L.lstsq(wt, wt[:, :2] + 1.0)[0],
        "resid": lambda: L.lstsq(wt, wt[:, :2] + 1.0)[1], "pinv": lambda: L.pinv(w),
        "matrix_power": lambda: L.matrix_power(a, -2),
        "matrix_power3": lambda: L.matrix_power(a, 3), "rank": lambda: L.matrix_rank(w),
        "cond": lambda: L.cond(a), "cond1": lambda: L.cond(a, 1),
        "tensorinv": lambda: L.tensorinv(fnp.reshape(a[0], (2, 2, 4)), ind=2),
        "tensorsolve": lambda: L.tensorsolve(fnp.reshape(a[0], (2, 2, 2, 2)),
                                             b[0, :, 0].reshape(2, 2)),
    }
    return {k: f() for k, f in fns.items() if names is None or k in names}


def _numpy_outputs(a, b, h, w):
    L = np.linalg
    sign, logdet = L.slogdet(a)
    r = L.qr(w)[1]
    s = L.svd(w, compute_uv=False)
    ev = L.eigvalsh(h)
    wt = w.T
    x = L.lstsq(wt, wt[:, :2] + 1.0, rcond=None)[0]
    return {
        "solve": L.solve(a, b), "solve_vec": L.solve(a, b[0, :, 0]), "inv": L.inv(a),
        "det": L.det(a), "det3": L.det(a[:, :3, :3]), "sign": sign, "logdet": logdet,
        "cholesky": L.cholesky(h), "cholesky_upper": np.swapaxes(L.cholesky(h), -1, -2),
        "q@r": w, "r": np.abs(r), "qc@rc": a, "s": s, "u*s@vh": w, "eigvals": ev, "eigh": h,
        "eigvalsh": ev, "svdvals": L.svd(a, compute_uv=False), "lstsq": x,
        "resid": np.sum((wt @ x - (wt[:, :2] + 1.0)) ** 2, axis=0),
        "pinv": L.pinv(w), "matrix_power": L.matrix_power(a, -2),
        "matrix_power3": L.matrix_power(a, 3), "rank": L.matrix_rank(w), "cond": L.cond(a),
        "cond1": L.cond(a, 1), "tensorinv": L.tensorinv(a[0].reshape(2, 2, 4), ind=2),
        "tensorsolve": L.tensorsolve(a[0].reshape(2, 2, 2, 2), b[0, :, 0].reshape(2, 2)),
    }


# OpenCL builds a program per kernel, which is slow on PoCL the first time: there, the
# primitives' host steps and a few compositions are checked (under jit and eagerly).
_OPENCL_JIT = ("solve", "det", "sign", "logdet", "cholesky", "q@r", "s", "u*s@vh", "eigvals")
_OPENCL_EAGER = ("solve", "cholesky")


def _check_linalg_functions(dtype, backend):
    a, b, h, w = (rand(2, 4, 4, seed=5), rand(2, 4, 3, seed=6), spd(2, 4, 4, seed=7),
                  rand(3, 5, seed=8))
    ref = _numpy_outputs(a, b, h, w)
    args = [fnp.asarray(v.astype(dtype)) for v in (a, b, h, w)]

    if backend == "opencl":
        eager = _linalg_outputs(*args, names=_OPENCL_EAGER)
        jitted = fg.jit(lambda *xs: _linalg_outputs(*xs, names=_OPENCL_JIT))(*args)
    else:
        eager = _linalg_outputs(*args)
        jitted = fg.jit(_linalg_outputs)(*args)
    for name, want in ref.items():
        for mode, outs in (("eager", eager), ("jit", jitted)):
            if name not in outs:
                continue
            got = outs[name]
            assert np.asarray(got).dtype.kind == np.asarray(want).dtype.kind or name == "rank"
            if np.asarray(got).dtype.kind == "f":
                assert np.asarray(got).dtype == dtype, (name, mode)
            tol = {"cond": 1e-3, "cond1": 1e-3, "matrix_power3": 1e-3}.get(name)
            extra = {"rtol": tol} if tol and dtype == F32 else {}
            try:
                close(got, want, dtype, **extra)
            except AssertionError as err:
                raise AssertionError(f"{name} ({mode}, {np.dtype(dtype).name})") from err


def test_linalg_functions_float32(backend):
    _check_linalg_functions(F32, backend)


def test_linalg_functions_float64(backend, x64):
    if backend == "opencl":
        pytest.skip("float64 on OpenCL: the spec rows' backend checks cover it (PoCL builds "
                    "are slow)")
    _check_linalg_functions(F64, backend)


def test_integer_matrices_are_promoted():
    a = np.array([[2, 1], [1, 3]], np.int32)
    out = fnp.linalg.inv(a)
    assert out.dtype == np.float32        # JAX's to_inexact: int32 -> float32 even in x64
    close(out, np.linalg.inv(a), F32)
    assert fnp.linalg.matrix_power(a, 2).dtype == np.int32
    close(fnp.linalg.det(a), 5.0, F32)


# --- singular and non-positive-definite input: NaN/inf, no exception ---------------------

def _failures(sing, notpd, tri):
    L = fnp.linalg
    return {"solve": L.solve(sing, fnp.ones(3, sing.dtype)), "inv": L.inv(sing),
            "det": L.det(sing), "det4": L.det(fnp.pad(sing, ((0, 1), (0, 1)))),
            "slogdet": L.slogdet(sing), "cholesky": L.cholesky(notpd),
            "tri": lax_linalg.triangular_solve(tri, fnp.ones((3, 1), tri.dtype),
                                               left_side=True, lower=True)}


def test_singular_and_not_positive_definite(backend):
    sing = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]], F32)
    notpd = np.stack([np.eye(3, dtype=F32), -np.eye(3, dtype=F32)])
    tri = np.tril(np.ones((3, 3), F32)) - np.diag([0, 1, 0]).astype(F32)
    modes = [fg.jit(_failures)(sing, notpd, tri)]
    if backend != "opencl":                    # (eager: many small PoCL builds)
        modes.append(_failures(sing, notpd, tri))
    for out in modes:
        assert not np.all(np.isfinite(np.asarray(out["solve"])))
        assert not np.all(np.isfinite(np.asarray(out["inv"])))
        assert float(out["det"]) == 0.0 and abs(float(out["det4"])) < 1e-6
        sign, logdet = out["slogdet"]
        assert float(sign) == 0.0 and float(logdet) == -np.inf
        chol = np.asarray(out["cholesky"])
        close(chol[0], np.eye(3), F32)
        # only the failing matrix: NaN on and below the diagonal, zero above (JAX's)
        assert np.all(np.isnan(chol[1][np.tril_indices(3)]))
        assert np.all(chol[1][np.triu_indices(3, 1)] == 0)
        assert not np.all(np.isfinite(np.asarray(out["tri"])))


def test_slogdet_sign_of_a_singular_matrix_is_plus_zero():
    # JAX's sign is +0.0; funcgrad's was -0.0 for this one (a product with the -1 of a
    # pivot swap), found by the JAX differential suite
    a = np.array([[1.0, 2.0], [2.0, 4.0]], F32)
    for sign in (fnp.linalg.slogdet(a)[0], fg.jit(fnp.linalg.slogdet)(a)[0]):
        assert float(sign) == 0.0 and not np.signbit(np.asarray(sign))


# --- derivatives at matrices where LU pivots -----------------------------------------------

@pytest.mark.core
@pytest.mark.parametrize("fun", [
    lambda a, b: fnp.linalg.solve(a, b),
    lambda a, b: fnp.linalg.inv(a) @ b,
    lambda a, b: fnp.linalg.det(a) * b[0, 0],
    lambda a, b: fnp.linalg.slogdet(a)[1] + b[0, 0],
    lambda a, b: fsp.linalg.lu_solve(fsp.linalg.lu_factor(a), b, trans=1),
    lambda a, b: fsp.linalg.lu(a)[1] @ b,
], ids=["solve", "inv", "det_lu", "slogdet", "lu_solve_T", "scipy_lu"])
def test_grads_through_pivoting_lu(fun):
    a, b = rand(4, 4, seed=9), rand(4, 2, seed=10)
    assert np.any(lapack.lu(a)[2] != np.arange(4))          # this LU pivots
    check_grads(fun, [a, b], order=2, atol=1e-5, rtol=1e-5)


@pytest.mark.core
@pytest.mark.parametrize("shape", [(3, 3), (5, 3), (3, 5)])
def test_grads_of_qr_svd_eigh(shape):
    a = rand(*shape, seed=11)
    check_grads(lambda x: fnp.linalg.qr(x), [a], order=2, atol=1e-5, rtol=1e-5)
    check_grads(lambda x: fnp.linalg.svd(x, full_matrices=False), [a], order=2, atol=1e-5,
                rtol=1e-5)
    check_grads(lambda x: fnp.linalg.svdvals(x), [a], order=2, atol=1e-5, rtol=1e-5)
    if shape[0] <= shape[1]:
        check_grads(lambda x: fnp.linalg.qr(x, mode="complete"), [a], order=1)
    h = a[:3, :3] + a[:3, :3].T
    check_grads(lambda x: fnp.linalg.eigh(x), [h], order=2, atol=1e-5, rtol=1e-5)


@pytest.mark.core
def test_primitive_jvps_match_their_impls():
    """The primitives read one triangle (cholesky, eigh with lower=False,
    triangular_solve): their derivatives are those of what they compute, also for
    non-symmetric input and perturbations."""
    h = spd(3, 3, seed=12) + np.triu(rand(3, 3, seed=13), 1)
    check_grads(la.cholesky, [h], order=2, atol=1e-5, rtol=1e-5)
    check_grads(lambda x: la.eigh(x, lower=False), [h], order=1, atol=1e-5, rtol=1e-5)
    a = rand(3, 3, seed=14) + 4 * np.eye(3)
    for unit in (False, True):
        check_grads(lambda a, b, unit=unit: la.triangular_solve(
            a, b, left_side=True, lower=False, unit_diagonal=unit),
            [a, rand(3, 2, seed=15)], order=2, atol=1e-5, rtol=1e-5)
    for shape in [(3, 3), (4, 2), (2, 4)]:
        check_grads(lambda x: la.lu(x)[0], [rand(*shape, seed=16)], order=2, atol=1e-5,
                    rtol=1e-5)


@pytest.mark.core
def test_hessian_of_logdet_and_pinv_derivative():
    a = rand(3, 3, seed=17) + 3 * np.eye(3)
    hess = fg.hessian(lambda x: fnp.linalg.slogdet(x)[1])(a)
    ainv = np.linalg.inv(a)
    # d2 log|det A| [E_ij, E_kl] = -(A^-1)_li (A^-1)_jk
    close(hess, -np.einsum("li,jk->ijkl", ainv, ainv), atol=1e-8)
    assert fg.jacfwd(fg.jacrev(fnp.linalg.det))(a).shape == (3, 3, 3, 3)
    # pinv's derivative is the analytic one: finite even at repeated singular values
    # (identity-like), where the derivative through the SVD is not.
    w = np.eye(3, 4)
    check_grads(fnp.linalg.pinv, [w], order=2, atol=1e-5, rtol=1e-5)
    # det's closed forms (n <= 3) have derivatives at singular matrices (the adjugate).
    sing = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]])
    adj = np.array(fg.grad(fnp.linalg.det)(sing))
    close(adj, np.array([[-2.0, -2.0, 2.0], [1.0, 1.0, -1.0], [0.0, 0.0, 0.0]]))


# --- vmap ---------------------------------------------------------------------------------

@pytest.mark.core
def test_vmap_of_factorisations_and_their_gradients():
    a, b = rand(3, 4, 4, seed=18), rand(4, 2, seed=19)
    out = fg.vmap(fnp.linalg.solve, in_axes=(0, None))(a, b)
    close(out, np.linalg.solve(a, b))
    out = fg.vmap(fnp.linalg.solve, in_axes=(None, 0))(a[0], np.stack([b, 2 * b]))
    close(out, np.linalg.solve(a[0], np.stack([b, 2 * b])))
    h = np.moveaxis(spd(2, 3, 3, seed=20), 0, 2)             # batch on the last axis
    out = fg.vmap(fnp.linalg.cholesky, in_axes=2, out_axes=1)(h)
    close(np.moveaxis(out, 1, 0), np.linalg.cholesky(np.moveaxis(h, 2, 0)))
    g = fg.vmap(fg.grad(lambda x: fnp.linalg.slogdet(x)[1]))(a)
    close(g, np.swapaxes(np.linalg.inv(a), -1, -2))
    jac = fg.vmap(fg.jacrev(lambda x: fnp.linalg.eigvalsh(x)))(a + np.swapaxes(a, -1, -2))
    assert jac.shape == (3, 4, 4, 4)


# --- lax.linalg ---------------------------------------------------------------------------

@pytest.mark.core
def test_lax_linalg_api():
    a = rand(2, 5, 4, seed=21)
    _, piv, perm = lax_linalg.lu(a)
    np.testing.assert_array_equal(lax_linalg.lu_pivots_to_permutation(piv, 5), perm)
    np.testing.assert_array_equal(fg.vmap(lambda p: lax_linalg.lu_pivots_to_permutation(
        p, 5))(piv), perm)
    u, s, vh = lax_linalg.svd(a, full_matrices=False)
    close((u * s[..., None, :]) @ vh, a)
    s12 = lax_linalg.svd(a, compute_uv=False, subset_by_index=(1, 3))
    close(s12, s[..., 1:3])
    h = spd(4, 4, seed=22)
    v, w = lax_linalg.eigh(h, subset_by_index=(2, 4))
    close(w, np.linalg.eigvalsh(h)[2:])
    assert v.shape == (4, 2)
    # symmetrize_input=False reads one triangle only.
    hu = h + np.triu(np.full((4, 4), 7.0), 1)          # garbage above the diagonal
    close(lax_linalg.cholesky(hu, symmetrize_input=False), np.linalg.cholesky(h))
    # A vector right-hand side (one axis fewer than a).
    t = np.tril(rand(3, 3, seed=23)) + 3 * np.eye(3)
    bv = rand(3, seed=24)
    close(lax_linalg.triangular_solve(t, bv, left_side=True, lower=True),
          np.linalg.solve(t, bv))
    close(lax_linalg.triangular_solve(t, bv, left_side=False, lower=True),
          np.linalg.solve(t.T, bv))
    q, r = lax_linalg.qr(a, full_matrices=False)
    close(q @ r, a)


@pytest.mark.core
def test_errors_name_the_operation_and_fix():
    with pytest.raises(ValueError, match=r"linalg.solve: expected square matrices.*\(3, 4\)"):
        fnp.linalg.solve(np.ones((3, 4)), np.ones(3))
    with pytest.raises(ValueError, match="cholesky"):
        fnp.linalg.cholesky(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"linalg.solve: a .* b needs 3 rows"):
        fnp.linalg.solve(np.eye(3), np.ones(4))
    with pytest.raises(TypeError, match=r"cholesky: expected float32 or float64.*float16"):
        la.cholesky(fnp.asarray(np.eye(2, dtype=np.float16)))
    with pytest.raises(TypeError, match=r"triangular_solve: .* must have equal batch"):
        la.triangular_solve(fnp.eye(3), fnp.ones((2, 2)), left_side=True)
    with pytest.raises(TypeError, match=r"lstsq: a must be a matrix"):
        fnp.linalg.lstsq(np.ones((2, 3, 3)), np.ones((2, 3)))
    with pytest.raises(NotImplementedError, match="full_matrices=True.*full_matrices=False"):
        fg.jacfwd(lambda x: fnp.linalg.qr(x, mode="complete"))(rand(4, 2))
    with pytest.raises(NotImplementedError, match="full_matrices=False"):
        fg.grad(lambda x: fnp.sum(fnp.linalg.svd(x)[0]))(rand(4, 2))
    with pytest.raises(TypeError, match="exponent must be an integer"):
        fnp.linalg.matrix_power(np.eye(2), 1.5)
    with pytest.raises(ValueError, match="mode 'raw'"):
        fnp.linalg.qr(np.eye(2), mode="raw")


# --- scipy.linalg ---------------------------------------------------------------------------

@pytest.mark.core
@pytest.mark.parametrize("dtype", [F32, F64])
def test_scipy_linalg_against_scipy(dtype, x64):
    a, b = rand(4, 4, seed=25, dtype=dtype), rand(4, 2, seed=26, dtype=dtype)
    h = spd(4, 4, seed=27, dtype=dtype)
    L = np.linalg.cholesky(h.astype(F64))
    S = fsp.linalg
    for trans in (0, 1, "T"):
        for lower, t in ((True, L), (False, L.T)):
            for unit in (False, True):
                close(S.solve_triangular(t.astype(dtype), b, trans=trans, lower=lower,
                                         unit_diagonal=unit),
                      sla.solve_triangular(t, b, trans=trans, lower=lower,
                                           unit_diagonal=unit), dtype)
    close(S.solve_triangular(L.astype(dtype), b[:, 0], lower=True),
          sla.solve_triangular(L, b[:, 0], lower=True), dtype)
    for lower in (True, False):
        c = S.cho_factor(h, lower=lower)
        close(c[0], sla.cholesky(h, lower=lower), dtype)
        close(S.cho_solve(c, b), sla.cho_solve(sla.cho_factor(h, lower=lower), b), dtype)
        close(S.cholesky(h, lower=lower), sla.cholesky(h, lower=lower), dtype)
    for shape in [(4, 4), (5, 3), (3, 5)]:
        x = rand(*shape, seed=28, dtype=dtype)
        for got, want in zip(S.lu(x), sla.lu(x.astype(F64))):
            close(got, want, dtype)
        for got, want in zip(S.lu(x, permute_l=True), sla.lu(x.astype(F64), permute_l=True)):
            close(got, want, dtype)
    lu, piv = S.lu_factor(a)
    np.testing.assert_array_equal(piv, sla.lu_factor(a)[1])
    for trans in (0, 1, 2):
        close(S.lu_solve((lu, piv), b, trans=trans), sla.lu_solve(sla.lu_factor(a), b,
                                                                   trans=trans), dtype)
    close(S.solve(a, b), sla.solve(a, b), dtype)
    close(S.solve(h, b, assume_a="pos"), sla.solve(h, b, assume_a="pos"), dtype)
    close(S.solve(np.triu(h), b, assume_a="pos", lower=False), sla.solve(h, b), dtype)
    close(S.inv(a), sla.inv(a), dtype)
    close(S.det(a), sla.det(a), dtype)
    q, r = S.qr(a[:, :3])
    assert q.shape == (4, 4) and r.shape == (4, 3)
    close(q @ r, a[:, :3], dtype)
    assert S.qr(a, mode="economic")[0].shape == (4, 4)
    (r_only,) = S.qr(a[:, :3], mode="r")
    close(np.abs(r_only), np.abs(sla.qr(a[:, :3], mode="r")[0]), dtype)
    close(S.svd(a, compute_uv=False), sla.svd(a, compute_uv=False), dtype)
    w, v = S.eigh(h)
    close(w, sla.eigh(h)[0], dtype)
    bpd = spd(4, 4, seed=29, dtype=dtype)
    sym = (a + a.T) / 2
    w, v = S.eigh(sym, bpd)
    w_ref, v_ref = sla.eigh(sym.astype(F64), bpd.astype(F64))
    close(w, w_ref, dtype, atol=1e-3 if dtype == F32 else 1e-9)
    close(np.abs(v), np.abs(v_ref), dtype, atol=1e-3 if dtype == F32 else 1e-9)
    close(S.eigh(sym, bpd, eigvals_only=True), w_ref, dtype,
          atol=1e-3 if dtype == F32 else 1e-9)
    close(S.block_diag(np.ones((2, 2)), 3.0, np.arange(3.0)),
          sla.block_diag(np.ones((2, 2)), 3.0, np.arange(3.0)))


@pytest.mark.core
def test_scipy_linalg_batched_and_differentiable():
    h = spd(2, 3, 3, seed=30)
    b = rand(2, 3, seed=31)
    c = fsp.linalg.cho_factor(h, lower=True)
    close(fsp.linalg.cho_solve(c, b[..., None])[..., 0], np.linalg.solve(h, b[..., None])[
        ..., 0])
    check_grads(lambda h, b: fsp.linalg.cho_solve(fsp.linalg.cho_factor(h), b), [h[0], b[0]],
                order=2, atol=1e-5, rtol=1e-5)
    t = np.triu(rand(3, 3, seed=32)) + 3 * np.eye(3)
    check_grads(lambda t, b: fsp.linalg.solve_triangular(t, b, trans=1), [t, b[0]],
                order=2, atol=1e-5, rtol=1e-5)


def _loss(a, h):
    L = fnp.linalg
    return (fnp.sum(L.solve(a, h) ** 2) + fnp.sum(L.slogdet(a)[1]) + fnp.sum(L.cholesky(h)) +
            fnp.sum(L.eigvalsh(h) ** 2) + fnp.sum(L.svd(a, full_matrices=False)[1]) +
            fnp.sum(L.qr(a)[1] ** 2))


def _small_loss(a, h):
    return fnp.sum(fnp.linalg.solve(a, h) ** 2) + fnp.sum(fnp.linalg.cholesky(h))


def test_jit_grad_on_every_backend(backend):
    a, h = rand(2, 3, 3, seed=33, dtype=F32), spd(2, 3, 3, seed=34, dtype=F32)
    # (On OpenCL each kernel between host steps is its own program, slow to build on PoCL
    # the first time: a smaller loss there.)
    loss = _small_loss if backend == "opencl" else _loss
    want = fg.jit(fg.grad(loss, argnums=(0, 1)), backend="reference")(a, h)
    got = fg.jit(fg.grad(loss, argnums=(0, 1)))(a, h)
    for g, w in zip(got, want):
        assert g.dtype == F32
        close(g, w, F32, rtol=1e-3, atol=1e-3)
