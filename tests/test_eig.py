"""The general (non-symmetric) eigendecomposition: the `eig` primitive on LAPACK's geev
(`prims/lapack.py`, `prims/linalg.py`), `funcgrad.lax.linalg.eig`,
`funcgrad.numpy.linalg.eig`/`eigvals`, and `funcgrad.numpy.roots`/`poly` built on it.

Eigenvalues are compared with NumPy's as multisets (the order is LAPACK's); eigenvectors,
defined up to a complex scale, by a v = w v (left ones by u^H a = w u^H), unit norm and a
real largest component, and against JAX's own output where JAX is installed (same
routine, same scaling). Derivatives against finite differences (`check_grads`), NaN input,
batching, vmap, and jit on every backend."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.prims import lapack
from funcgrad.testing import check_grads

from conftest import x64_both

C64, C128 = np.complex64, np.complex128


def rand(*shape, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def same_multiset(actual, expected, tol):
    """The eigenvalues of each matrix equal as multisets (matched by least distance)."""
    n = np.shape(actual)[-1]
    assert np.shape(expected)[-1] == n
    if n == 0:
        return
    actual = np.asarray(actual).reshape(-1, n)
    expected = np.asarray(expected).reshape(actual.shape)
    for a, e in zip(actual, expected):
        cost = np.abs(a[:, None] - e[None, :])
        rows, cols = linear_sum_assignment(cost)
        assert cost[rows, cols].max() <= tol * max(1.0, np.abs(e).max()), (a, e)


def check_vectors(a, w, v, tol, left=False):
    """Columns of v: eigenvectors of the matrices of a for the eigenvalues w (right:
    a v = v diag(w); left: v^H a = diag(w) v^H), of unit 2-norm, largest component real."""
    a, w, v = (np.asarray(x, C128) for x in (a, w, v))
    if left:
        resid = np.conj(np.swapaxes(v, -1, -2)) @ a - w[..., :, None] * np.conj(
            np.swapaxes(v, -1, -2))
    else:
        resid = a @ v - v * w[..., None, :]
    scale = max(1.0, np.abs(a).max())
    assert np.abs(resid).max() <= tol * scale
    np.testing.assert_allclose(np.linalg.norm(v, axis=-2), 1, atol=tol)
    big = np.take_along_axis(v, np.abs(v).argmax(-2)[..., None, :], -2)
    np.testing.assert_allclose(big.imag, 0, atol=tol)


# --- values against NumPy ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_eig_matches_numpy(dtype):
    a = rand(2, 5, 5, seed=1, dtype=dtype)
    w, vl, vr = lax.linalg.eig(a)
    assert w.dtype == vl.dtype == vr.dtype == C64
    assert w.shape == (2, 5) and vl.shape == vr.shape == (2, 5, 5)
    same_multiset(w, np.linalg.eigvals(a.astype(C128)), 1e-5)
    check_vectors(a, w, vr, 2e-5)
    check_vectors(a, w, vl, 2e-5, left=True)
    res = fnp.linalg.eig(a)
    assert type(res).__name__ == "EigResult" and res._fields == ("eigenvalues",
                                                                 "eigenvectors")
    np.testing.assert_array_equal(res.eigenvalues, w)
    np.testing.assert_array_equal(res.eigenvectors, vr)
    np.testing.assert_array_equal(fnp.linalg.eigvals(a), w)


def test_float64_and_complex128_under_x64(x64):
    for dtype in (np.float64, np.complex128):
        a = rand(6, 6, seed=2, dtype=dtype)
        w, v = fnp.linalg.eig(a)
        assert w.dtype == v.dtype == C128
        same_multiset(w, np.linalg.eigvals(a), 1e-12)
        check_vectors(a, w, v, 1e-12)
    # integers become the default float: float64 here, float32 without x64
    assert fnp.linalg.eigvals(np.array([[1, 2], [3, 4]])).dtype == C128


def test_integer_input_is_promoted():
    w = fnp.linalg.eigvals(np.array([[1, 2], [3, 4]], np.int32))
    assert w.dtype == C64
    same_multiset(w, np.linalg.eigvals([[1.0, 2.0], [3.0, 4.0]]), 1e-6)


def test_real_matrix_with_conjugate_pairs():
    # a rotation by 90 degrees (+-i) and a scaled rotation (2 +- 3i) around a real 5
    a = np.zeros((5, 5))
    a[:2, :2] = [[0, -1], [1, 0]]
    a[2:4, 2:4] = [[2, -3], [3, 2]]
    a[4, 4] = 5
    q = np.linalg.qr(rand(5, 5, seed=3, dtype=np.float64))[0]
    a = (q @ a @ q.T).astype(np.float32)
    w, vl, vr = lax.linalg.eig(a)
    same_multiset(w, [1j, -1j, 2 + 3j, 2 - 3j, 5], 1e-5)
    check_vectors(a, w, vr, 2e-5)
    check_vectors(a, w, vl, 2e-5, left=True)
    w, vr = np.asarray(w), np.asarray(vr)
    # conjugate eigenvalues have conjugate eigenvectors (LAPACK's packed pair, unpacked)
    for j in np.flatnonzero(w.imag > 0):
        assert w[j + 1] == np.conj(w[j])
        np.testing.assert_array_equal(vr[:, j + 1], np.conj(vr[:, j]))


def test_lapack_binding_options():
    a = rand(3, 4, 4, seed=4, dtype=np.float32)
    w, vl, vr = lapack.geev(a)
    np.testing.assert_array_equal(lapack.geev(a, False, False)[0], w)
    w1, vl1 = lapack.geev(a, True, False)
    w2, vr2 = lapack.geev(a, False, True)
    np.testing.assert_array_equal(vl1, vl)
    np.testing.assert_array_equal(vr2, vr)
    assert [x.shape for x in lapack.geev(np.zeros((2, 0, 0), np.float64))] == \
        [(2, 0), (2, 0, 0), (2, 0, 0)]
    assert lapack.geev(np.zeros((0, 3, 3), np.float32), False, True)[1].shape == (0, 3, 3)
    with pytest.raises(TypeError, match="float32"):
        lapack.geev(np.eye(2, dtype=np.int32))


# --- against JAX -------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
def test_matches_jax(jax, dtype):
    a = rand(2, 4, 4, seed=5, dtype=dtype)
    for left, right in [(True, True), (False, False)]:
        kw = dict(compute_left_eigenvectors=left, compute_right_eigenvectors=right)
        ours = lax.linalg.eig(a, **kw)
        theirs = jax.lax.linalg.eig(a, **kw)
        assert isinstance(ours, list) and len(ours) == len(theirs) == 1 + left + right
        for o, t in zip(ours, theirs):
            assert o.dtype == t.dtype and o.shape == t.shape
            np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fnp.linalg.eig(a).eigenvectors,
                               jax.numpy.linalg.eig(a).eigenvectors, rtol=1e-5, atol=1e-5)


def test_matches_jax_float64(jax):
    a = rand(5, 5, seed=6, dtype=np.float64)
    with x64_both(jax, True):
        ours = lax.linalg.eig(a)
        theirs = jax.lax.linalg.eig(a)
        for o, t in zip(ours, theirs):
            assert o.dtype == t.dtype == C128
            np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-12, atol=1e-12)


def test_eigvec_jvp_matches_jax(jax):
    a, t = rand(4, 4, seed=7), rand(4, 4, seed=8)
    kw = dict(enable_eigvec_derivs=True)
    ours = fg.jvp(lambda x: lax.linalg.eig(x, **kw), (a,), (t,))
    # (jitted: JAX's eager jvp compiles each of the rule's operations, seconds in all)
    theirs = jax.jit(lambda x, t: jax.jvp(lambda y: jax.lax.linalg.eig(y, **kw), (x,),
                                          (t,)))(a, t)
    for o, t_ in zip(jax.tree.leaves(list(ours)), jax.tree.leaves(theirs)):
        np.testing.assert_allclose(np.asarray(o), np.asarray(t_), rtol=1e-4, atol=1e-4)


# --- batches, vmap, jit ------------------------------------------------------------------

def test_batches_and_vmap():
    a = rand(2, 3, 4, 4, seed=9)
    w, vl, vr = lax.linalg.eig(a)
    for idx in np.ndindex(2, 3):
        w1, vl1, vr1 = lax.linalg.eig(a[idx])
        np.testing.assert_array_equal(w[idx], w1)
        np.testing.assert_array_equal(vl[idx], vl1)
        np.testing.assert_array_equal(vr[idx], vr1)
    vw, vvl, vvr = fg.vmap(lax.linalg.eig, in_axes=1)(a)
    np.testing.assert_array_equal(vw, np.swapaxes(np.asarray(w), 0, 1))
    np.testing.assert_array_equal(vvr, np.swapaxes(np.asarray(vr), 0, 1))
    ev = fg.vmap(fg.vmap(fnp.linalg.eigvals))(a)
    np.testing.assert_array_equal(ev, w)


def test_jit_on_every_backend(backend):
    a = rand(2, 4, 4, seed=10)
    a[1, 0, 0] = np.nan
    w, vl, vr = (np.asarray(x) for x in lax.linalg.eig(a))
    f = fg.jit(lambda x: (lax.linalg.eig(x * 1.0), fnp.linalg.eigvals(x)))
    (jw, jvl, jvr), jev = f(a)
    np.testing.assert_allclose(jw, w, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jvl, vl, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jvr, vr, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(jev, w, rtol=1e-6, atol=1e-6)
    assert np.isnan(jw[1].real).all() and np.isfinite(jw[0]).all()
    if backend == "opencl":
        return                    # (each kernel builds slowly on PoCL: one call is enough)
    g = fg.jit(fg.grad(lambda x: fnp.sum(fnp.real(fnp.linalg.eigvals(x) ** 2))))(a[0])
    # d/da sum(w^2) = d/da trace(a @ a) = 2 a^T
    np.testing.assert_allclose(g, 2 * a[0].T, rtol=1e-4, atol=1e-4)


# --- derivatives -------------------------------------------------------------------------

def test_eigenvalue_grads():
    a = rand(4, 4, seed=11, dtype=np.float64)          # one real pair, two real eigenvalues
    assert (np.abs(np.linalg.eigvals(a).imag) > 0.1).any()
    check_grads(fnp.linalg.eigvals, [a], order=1, atol=1e-5, rtol=1e-5)
    check_grads(fnp.linalg.eigvals, [rand(3, 3, seed=12, dtype=C128)], order=1, atol=1e-5,
                rtol=1e-5)
    # The eigenvalues' rule computes eigenvectors, whose derivatives a second order needs:
    # NotImplementedError (as JAX) unless opted in.
    with pytest.raises(NotImplementedError, match="enable_eigvec_derivs"):
        fg.hessian(lambda x: fnp.sum(fnp.real(fnp.linalg.eigvals(x))))(a)
    values = lambda x: lax.linalg.eig(x, compute_left_eigenvectors=False,   # noqa: E731
                                      compute_right_eigenvectors=False,
                                      enable_eigvec_derivs=True)
    check_grads(values, [a], order=2, atol=1e-5, rtol=1e-5)


def test_eigenvector_derivs():
    a = rand(4, 4, seed=11, dtype=np.float64)
    c = rand(3, 3, seed=13, dtype=C128)

    def eig(left, right):
        return lambda x: lax.linalg.eig(x, compute_left_eigenvectors=left,
                                        compute_right_eigenvectors=right,
                                        enable_eigvec_derivs=True)
    check_grads(eig(False, True), [a], order=2, atol=1e-5, rtol=1e-5)
    check_grads(eig(True, True), [a], order=1, atol=1e-5, rtol=1e-5)
    check_grads(eig(True, False), [c], order=1, atol=1e-5, rtol=1e-5)
    # without the opt-in, as JAX: NotImplementedError naming it
    for f in (lambda x: lax.linalg.eig(x)[2], lambda x: fnp.linalg.eig(x).eigenvectors):
        with pytest.raises(NotImplementedError, match="enable_eigvec_derivs=True"):
            fg.jvp(f, (a,), (a,))
        with pytest.raises(NotImplementedError, match="enable_eigvec_derivs=True"):
            fg.grad(lambda x: fnp.sum(fnp.abs(f(x))))(a)


# --- failures and errors -----------------------------------------------------------------

def test_nan_and_inf_input_give_nan():
    a = rand(3, 3, 3, seed=14)
    a[0, 1, 1] = np.nan
    a[2, 0, 2] = np.inf
    w, vl, vr = (np.asarray(x) for x in lax.linalg.eig(a))
    for x in (w, vl, vr):
        assert np.isnan(x[0].real).all() and np.isnan(x[0].imag).all()
        assert np.isnan(x[2].real).all() and np.isnan(x[2].imag).all()
        assert np.isfinite(x[1]).all()
    assert np.isnan(np.asarray(fnp.linalg.eigvals(a[0]))).all()


def test_errors_and_options():
    with pytest.raises(ValueError, match="square"):
        lax.linalg.eig(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="square"):
        fnp.linalg.eigvals(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError):
        fnp.linalg.eig(np.ones(3, np.float32))
    impl = lax.linalg.EigImplementation
    assert {e.name for e in impl} == {"CUSOLVER", "MAGMA", "LAPACK"}
    a = rand(3, 3, seed=15)
    np.testing.assert_array_equal(lax.linalg.eig(a, implementation=impl.LAPACK)[0],
                                  lax.linalg.eig(a)[0])
    with pytest.raises(ValueError, match="LAPACK"):
        lax.linalg.eig(a, implementation=impl.MAGMA)
    with pytest.warns(DeprecationWarning, match="use_magma"):
        lax.linalg.eig(a, use_magma=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(ValueError, match="LAPACK"):
            lax.linalg.eig(a, use_magma=True)
    w = lax.linalg.eig(np.zeros((0, 0), np.float32))
    assert [x.shape for x in w] == [(0,), (0, 0), (0, 0)] and w[0].dtype == C64


# --- roots and poly ----------------------------------------------------------------------

ROOTS_CASES = [
    [1.0, -6.0, 11.0, -6.0],               # 1, 2, 3
    [1.0, 0.0, 1.0],                       # +-i
    [2.0, 3.0, -1.0, 5.0, 0.5],
    [0.0, 0.0, 1.0, 2.0, 0.0],             # leading and trailing zeros
    [1.0, 0.0, 0.0],                       # a double zero root
    [0.0, 0.0, 0.0, 4.0],                  # no roots
    [3.0],
]


@pytest.mark.parametrize("p", ROOTS_CASES, ids=range(len(ROOTS_CASES)))
def test_roots_matches_numpy(p):
    p = np.array(p, np.float32)
    r = fnp.roots(p)
    assert r.dtype == C64
    expected = np.roots(p.astype(np.float64))
    assert r.shape == expected.shape
    same_multiset(r, expected, 1e-4)


def test_roots_strip_zeros_false_and_jit():
    p = np.array([0.0, 0.0, 1.0, 2.0, 0.0], np.float32)
    r = np.asarray(fnp.roots(p, strip_zeros=False))
    # one NaN root per leading zero, last; the others are NumPy's
    assert r.shape == (4,) and np.isnan(r[2:]).all() and np.isfinite(r[:2]).all()
    same_multiset(r[:2], np.roots(p), 1e-5)
    jitted = fg.jit(lambda q: fnp.roots(q, strip_zeros=False))
    np.testing.assert_array_equal(jitted(p), r)
    q = np.array([1.0, -3.0, 2.0], np.float32)
    same_multiset(jitted(q), [1.0, 2.0], 1e-5)
    assert np.isnan(np.asarray(jitted(np.zeros(3, np.float32)))).all()
    assert fnp.roots(np.zeros(3, np.float32)).shape == (0,)
    assert fnp.roots(np.float32(2.0)).shape == (0,)
    with pytest.raises(fg.errors.ConcretizationTypeError, match="strip_zeros=False"):
        fg.jit(fnp.roots)(q)
    with pytest.raises(ValueError, match="rank-1"):
        fnp.roots(np.ones((2, 2)))


def test_roots_match_jax(jax):
    # strip_zeros=False: the roots and the NaNs in JAX's places (strip_zeros=True is
    # NumPy's, above)
    p = np.array([0.0, 0.0, 1.0, 2.0, 0.0], np.float32)
    ours = np.asarray(fnp.roots(p, strip_zeros=False))
    theirs = np.asarray(jax.numpy.roots(p, strip_zeros=False))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_poly_of_a_matrix():
    m = np.array([[2, 1, 5], [3, 4, 7], [1, 3, 5]])
    c = fnp.poly(m)
    assert c.dtype == C64
    np.testing.assert_allclose(c, np.poly(m), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(fnp.poly(np.eye(2)), [1, -2, 1], atol=1e-6)
    with pytest.raises(ValueError, match="square"):
        fnp.poly(np.zeros((0, 0)))
    # poly and roots invert each other
    p = np.array([1.0, -2.0, 0.5, 3.0], np.float32)
    np.testing.assert_allclose(fnp.poly(fnp.roots(p)), p, rtol=1e-4, atol=1e-4)
