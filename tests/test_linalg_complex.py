"""Linear algebra on complex matrices (the c/z LAPACK routines): every function of
`funcgrad.numpy.linalg` and `funcgrad.lax.linalg` on complex input matches NumPy, eagerly,
under jit on every backend and under vmap, with JAX's output dtypes (real eigen- and
singular values, real log|det|); `funcgrad.scipy.linalg` matches or raises a TypeError. The
bug this file guards against: complex input was cast to float and the functions returned
the answer for the real part, silently. Derivatives (conjugate-transpose JVP rules of
cholesky, eigh, svd, qr, lu, triangular_solve) against finite differences in complex128.

Decompositions that are unique only up to phases (eigh, svd, qr) are compared through what
is unique: eigen/singular values, reconstructions, orthonormality, projectors."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
import funcgrad.scipy.linalg as fsl
from funcgrad import _lax_linalg as lax_linalg
from funcgrad.testing import check_grads

C64 = np.complex64
N = 4               # > 3: det goes through LU, not the closed-form cofactors


def crand(*shape, seed=0, dtype=C64):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


def hpd(n, seed=0, dtype=C64):
    a = crand(n, n, seed=seed, dtype=np.complex128)
    return (a @ a.conj().T + n * np.eye(n)).astype(dtype)


def _H(x):
    return np.swapaxes(np.conj(x), -1, -2)


A = crand(N, N, seed=1)
B = crand(N, 2, seed=2)
HPD = hpd(N, seed=3)
TALL = crand(5, 3, seed=4)


def _eigh_parts(res):
    w, v = (np.asarray(r) for r in res)
    return [w, v @ np.diag(w) @ _H(v), _H(v) @ v]


def _svd_parts(res, a):
    u, s, vh = (np.asarray(r) for r in res)
    k = s.shape[-1]
    return [s, (u[:, :k] * s) @ vh[:k], _H(u) @ u, vh @ _H(vh)]


def _qr_parts(res):
    q, r = (np.asarray(x) for x in res)
    return [q @ r, _H(q) @ q, np.tril(r, -1)]


# name -> (funcgrad call, NumPy reference); each returns a list of arrays to compare.
CASES = {
    "inv": (lambda: [fnp.linalg.inv(A)], lambda: [np.linalg.inv(A)]),
    "solve": (lambda: [fnp.linalg.solve(A, B)], lambda: [np.linalg.solve(A, B)]),
    "det": (lambda: [fnp.linalg.det(A)], lambda: [np.linalg.det(A)]),
    "det3": (lambda: [fnp.linalg.det(A[:3, :3])], lambda: [np.linalg.det(A[:3, :3])]),
    "slogdet": (lambda: list(fnp.linalg.slogdet(A)), lambda: list(np.linalg.slogdet(A))),
    "cholesky": (lambda: [fnp.linalg.cholesky(HPD)], lambda: [np.linalg.cholesky(HPD)]),
    "eigh": (lambda: _eigh_parts(fnp.linalg.eigh(HPD)),
             lambda: [np.linalg.eigvalsh(HPD), HPD, np.eye(N)]),
    "eigvalsh": (lambda: [fnp.linalg.eigvalsh(HPD)], lambda: [np.linalg.eigvalsh(HPD)]),
    "svd": (lambda: _svd_parts(fnp.linalg.svd(TALL), TALL),
            lambda: [np.linalg.svd(TALL, compute_uv=False), TALL, np.eye(5), np.eye(3)]),
    "svd_reduced": (lambda: _svd_parts(fnp.linalg.svd(TALL, full_matrices=False), TALL),
                    lambda: [np.linalg.svd(TALL, compute_uv=False), TALL, np.eye(3),
                             np.eye(3)]),
    "svdvals": (lambda: [fnp.linalg.svdvals(A)], lambda: [np.linalg.svd(A, compute_uv=False)]),
    "qr": (lambda: _qr_parts(fnp.linalg.qr(TALL)),
           lambda: [TALL, np.eye(3), np.zeros((3, 3))]),
    "qr_complete": (lambda: _qr_parts(fnp.linalg.qr(TALL, mode="complete")),
                    lambda: [TALL, np.eye(5), np.zeros((5, 3))]),
    "pinv": (lambda: [fnp.linalg.pinv(TALL)], lambda: [np.linalg.pinv(TALL)]),
    "lstsq": (lambda: [fnp.linalg.lstsq(TALL, B[:, 0][:, None].repeat(5, 0)[:5, 0])[0]],
              lambda: [np.linalg.lstsq(TALL, B[:, 0][:, None].repeat(5, 0)[:5, 0])[0]]),
    "matrix_rank": (lambda: [fnp.linalg.matrix_rank(A)], lambda: [np.linalg.matrix_rank(A)]),
    "cond": (lambda: [fnp.linalg.cond(A)], lambda: [np.linalg.cond(A)]),
    "cond_fro": (lambda: [fnp.linalg.cond(A, "fro")], lambda: [np.linalg.cond(A, "fro")]),
    "matrix_power": (lambda: [fnp.linalg.matrix_power(A, 3)],
                     lambda: [np.linalg.matrix_power(A, 3)]),
    "matrix_power_neg": (lambda: [fnp.linalg.matrix_power(A, -2)],
                         lambda: [np.linalg.matrix_power(A, -2)]),
    "norm": (lambda: [fnp.linalg.norm(A)], lambda: [np.linalg.norm(A)]),
    "norm_2": (lambda: [fnp.linalg.norm(A, 2)], lambda: [np.linalg.norm(A, 2)]),
    "norm_nuc": (lambda: [fnp.linalg.norm(A, "nuc")], lambda: [np.linalg.norm(A, "nuc")]),
    "norm_1": (lambda: [fnp.linalg.norm(A, 1)], lambda: [np.linalg.norm(A, 1)]),
    "vector_norm": (lambda: [fnp.linalg.vector_norm(A[0], 3)],
                    lambda: [np.linalg.vector_norm(A[0], ord=3)]),
    "matrix_norm": (lambda: [fnp.linalg.matrix_norm(A)], lambda: [np.linalg.matrix_norm(A)]),
    "tensorinv": (lambda: [fnp.linalg.tensorinv(A.reshape(2, 2, 4), 2)],
                  lambda: [np.linalg.tensorinv(A.reshape(2, 2, 4), 2)]),
    "tensorsolve": (lambda: [fnp.linalg.tensorsolve(A.reshape(2, 2, 4), B[:, 0].reshape(2, 2))],
                    lambda: [np.linalg.tensorsolve(A.reshape(2, 2, 4),
                                                   B[:, 0].reshape(2, 2))]),
    "matmul": (lambda: [fnp.linalg.matmul(A, B)], lambda: [np.linalg.matmul(A, B)]),
    "multi_dot": (lambda: [fnp.linalg.multi_dot([A, A, B])],
                  lambda: [np.linalg.multi_dot([A, A, B])]),
    "trace": (lambda: [fnp.linalg.trace(A)], lambda: [np.linalg.trace(A)]),
    "diagonal": (lambda: [fnp.linalg.diagonal(A)], lambda: [np.linalg.diagonal(A)]),
    "outer": (lambda: [fnp.linalg.outer(A[0], A[1])], lambda: [np.linalg.outer(A[0], A[1])]),
    "cross": (lambda: [fnp.linalg.cross(A[0, :3], A[1, :3])],
              lambda: [np.linalg.cross(A[0, :3], A[1, :3])]),
    # vecdot (funcgrad.numpy's, which linalg.vecdot calls) does not conjugate x1 yet as
    # NumPy and JAX do: reported to its owner, not checked here.
    "tensordot": (lambda: [fnp.linalg.tensordot(A, A, axes=1)],
                  lambda: [np.linalg.tensordot(A, A, axes=1)]),
    "matrix_transpose": (lambda: [fnp.linalg.matrix_transpose(A)],
                         lambda: [np.linalg.matrix_transpose(A)]),
    # lax.linalg (the primitives' wrappers)
    "lax.cholesky": (lambda: [lax_linalg.cholesky(HPD)], lambda: [np.linalg.cholesky(HPD)]),
    "lax.eigh": (lambda: _eigh_parts(lax_linalg.eigh(HPD)[::-1]),
                 lambda: [np.linalg.eigvalsh(HPD), HPD, np.eye(N)]),
    "lax.svd": (lambda: _svd_parts(lax_linalg.svd(TALL, full_matrices=False), TALL),
                lambda: [np.linalg.svd(TALL, compute_uv=False), TALL, np.eye(3), np.eye(3)]),
    "lax.qr": (lambda: _qr_parts(lax_linalg.qr(TALL, full_matrices=False)),
               lambda: [TALL, np.eye(3), np.zeros((3, 3))]),
    "lax.lu": (lambda: _lu_parts(lax_linalg.lu(A)), lambda: [A]),
    "lax.triangular_solve": (
        lambda: [lax_linalg.triangular_solve(np.tril(A), B, left_side=True, lower=True),
                 lax_linalg.triangular_solve(np.triu(A), B.T, left_side=False, lower=False,
                                             transpose_a=True, conjugate_a=True)],
        lambda: [np.linalg.solve(np.tril(A), B), np.linalg.solve(_H(np.triu(A)).T, B).T]),
}


def _lu_parts(res):
    lu, _, perm = (np.asarray(r) for r in res)
    l = np.tril(lu, -1) + np.eye(lu.shape[0])
    u = np.triu(lu)
    out = np.empty_like(lu)
    out[perm] = l @ u
    return [out]


def _close(actual, expected, tol=2e-4):
    for a, e in zip(actual, expected, strict=True):
        a = np.asarray(a)
        assert a.shape == np.shape(e)
        np.testing.assert_allclose(a.astype(np.complex128), np.asarray(e, np.complex128),
                                   rtol=tol, atol=tol)


@pytest.mark.parametrize("name", sorted(CASES))
def test_complex_input_matches_numpy(name):
    """NumPy's result to complex64 tolerance, and no ComplexWarning (a cast that drops the
    imaginary part) on the way."""
    ours, ref = CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        out = ours()
    _close(out, ref())


def test_output_dtypes_as_jax():
    """Eigen- and singular values and log|det| are real (float32 for complex64); vectors,
    factors and the determinant's sign complex; complex128 stays complex128 (x64)."""
    w, v = fnp.linalg.eigh(HPD)
    assert (w.dtype, v.dtype) == (np.float32, C64)
    u, s, vh = fnp.linalg.svd(A)
    assert (u.dtype, s.dtype, vh.dtype) == (C64, np.float32, C64)
    sign, logdet = fnp.linalg.slogdet(A)
    assert (sign.dtype, logdet.dtype) == (C64, np.float32)
    assert fnp.linalg.cholesky(HPD).dtype == C64 and fnp.linalg.inv(A).dtype == C64
    assert fnp.linalg.lstsq(TALL, TALL[:, 0])[1].dtype == np.float32
    with fg.config.enable_x64(True):
        a = A.astype(np.complex128)
        w, v = fnp.linalg.eigh(HPD.astype(np.complex128))
        assert (w.dtype, v.dtype) == (np.float64, np.complex128)
        np.testing.assert_allclose(np.asarray(fnp.linalg.inv(a)), np.linalg.inv(a),
                                   rtol=1e-10, atol=1e-10)
        s, ld = fnp.linalg.slogdet(a)
        ws, wl = np.linalg.slogdet(a)
        np.testing.assert_allclose([complex(s), float(ld)], [ws, wl], rtol=1e-10)


def test_upper_cholesky_is_conjugate_transpose():
    """linalg.cholesky(upper=True) is L^H (a = U^H U), as NumPy."""
    u = np.asarray(fnp.linalg.cholesky(HPD, upper=True))
    np.testing.assert_allclose(u, _H(np.linalg.cholesky(HPD)), rtol=2e-4, atol=2e-4)


def _jitted_outputs(a, b, h, t):
    L = fnp.linalg
    w, v = L.eigh(h)
    u, s, vh = L.svd(t, full_matrices=False)
    q, r = L.qr(t)
    sign, logdet = L.slogdet(a)
    return [L.inv(a), L.solve(a, b), L.det(a), sign, logdet, L.cholesky(h), w,
            (v * w[..., None, :]) @ _Hf(v), s, (u * s[..., None, :]) @ vh, q @ r, L.pinv(t)]


def _numpy_outputs(a, b, h, t):
    sign, logdet = np.linalg.slogdet(a)
    return [np.linalg.inv(a), np.linalg.solve(a, b), np.linalg.det(a), sign, logdet,
            np.linalg.cholesky(h), np.linalg.eigvalsh(h), h,
            np.linalg.svd(t, compute_uv=False), t, t, np.linalg.pinv(t)]


def test_jit_on_every_backend(backend):
    """One jitted program of the factorisations and the functions on them (LAPACK host
    steps between compiled complex kernels), batched over a leading axis."""
    if backend == "opencl":
        pytest.skip("OpenCL: each kernel between host steps is its own PoCL program (slow "
                    "to build); the host steps are the reference impls checked here")
    a, b, h, t = (np.stack([x, x.conj() + 0.5]) for x in (A, B, HPD, TALL))
    h = h + np.swapaxes(h.conj(), -1, -2)          # both Hermitian positive definite
    out = fg.jit(_jitted_outputs)(a, b, h, t)
    _close(out, _numpy_outputs(a, b, h, t))


def test_lu_solve_transposes():
    """numpy.linalg's LU solve (behind scipy.linalg.lu_solve) with a^T and a^H."""
    from funcgrad.numpy import linalg as nla
    lu, _, perm = lax_linalg.lu(A)
    _close([nla._lu_solve(lu, perm, B, trans=1), nla._lu_solve(lu, perm, B, trans=2)],
           [np.linalg.solve(A.T, B), np.linalg.solve(_H(A), B)])


def test_vmap_of_the_complex_primitives():
    hs = np.stack([HPD, HPD.conj()])
    ts = np.stack([TALL, 2 * TALL])
    _close([fg.vmap(fnp.linalg.eigvalsh)(hs), fg.vmap(fnp.linalg.svdvals)(ts),
            fg.vmap(fnp.linalg.det)(np.stack([A, A.T]))],
           [np.linalg.eigvalsh(hs), np.linalg.svd(ts, compute_uv=False),
            np.linalg.det(np.stack([A, A.T]))])


# funcgrad.scipy.linalg on complex input: right, or a TypeError (never the real part's).
SCIPY_CASES = {
    "inv": (lambda: fsl.inv(A), lambda: np.linalg.inv(A)),
    "det": (lambda: fsl.det(A), lambda: np.linalg.det(A)),
    "cholesky": (lambda: fsl.cholesky(HPD), lambda: _H(np.linalg.cholesky(HPD))),
    "solve": (lambda: fsl.solve(A, B), lambda: np.linalg.solve(A, B)),
    "solve_triangular": (lambda: fsl.solve_triangular(A, B, trans=2, lower=True),
                         lambda: np.linalg.solve(_H(np.tril(A)), B)),
    "cho_solve": (lambda: fsl.cho_solve(fsl.cho_factor(HPD), B),
                  lambda: np.linalg.solve(HPD, B)),
    "lu_solve": (lambda: fsl.lu_solve(fsl.lu_factor(A), B, trans=2),
                 lambda: np.linalg.solve(_H(A), B)),
    "svd": (lambda: fsl.svd(A, compute_uv=False), lambda: np.linalg.svd(A, compute_uv=False)),
    "eigh": (lambda: fsl.eigh(HPD, eigvals_only=True), lambda: np.linalg.eigvalsh(HPD)),
    "lu": (lambda: (lambda p, l, u: p @ l @ u)(*fsl.lu(A)), lambda: A),
    "qr": (lambda: (lambda q, r: q @ r)(*fsl.qr(A)), lambda: A),
    "solve_triangular_T": (lambda: fsl.solve_triangular(A, B, trans="T"),
                           lambda: np.linalg.solve(np.triu(A).T, B)),
    "solve_triangular_N": (lambda: fsl.solve_triangular(A, B, lower=True),
                           lambda: np.linalg.solve(np.tril(A), B)),
    "cho_solve_lower": (lambda: fsl.cho_solve(fsl.cho_factor(HPD, lower=True), B),
                        lambda: np.linalg.solve(HPD, B)),
    "lu_solve_T": (lambda: fsl.lu_solve(fsl.lu_factor(A), B, trans=1),
                   lambda: np.linalg.solve(A.T, B)),
    "solve_pos_upper": (lambda: fsl.solve(np.triu(HPD), B, assume_a="pos"),
                        lambda: np.linalg.solve(HPD, B)),
    "solve_pos_lower": (lambda: fsl.solve(np.tril(HPD), B, assume_a="pos", lower=True),
                        lambda: np.linalg.solve(HPD, B)),
    "eigh_generalized": (lambda: fsl.eigh(HPD, HPD + 2 * np.eye(len(HPD)), eigvals_only=True),
                         lambda: np.sort(np.linalg.eigvals(
                             np.linalg.solve(HPD + 2 * np.eye(len(HPD)), HPD)).real)),
}
# funcgrad.scipy.linalg computes every one of these for complex input (none raises).
SCIPY_COMPLEX = set(SCIPY_CASES)


@pytest.mark.parametrize("name", sorted(SCIPY_CASES))
def test_scipy_linalg_complex_is_right_or_raises(name):
    ours, ref = SCIPY_CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            out = ours()
        except TypeError as err:
            assert name not in SCIPY_COMPLEX, err
            assert "complex" in str(err) and "linalg" in str(err)
            return
    _close([out], [ref()])


# --- derivatives in complex128 against finite differences ------------------------------

def _Hf(x):
    return fnp.conj(fnp.swapaxes(x, -1, -2))


def _c128(*shape, seed):
    return crand(*shape, seed=seed, dtype=np.complex128)


A2, B2, T2, W2 = _c128(3, 3, seed=11), _c128(3, 2, seed=12), _c128(4, 3, seed=13), \
    _c128(3, 4, seed=14)
H2 = hpd(3, seed=15, dtype=np.complex128)


def _eigh_proj(a):
    w, v = fnp.linalg.eigh(a)
    # phase-invariant functions of the eigenvectors: a projector and the rebuilt matrix
    return (v * w[None, :]) @ _Hf(v), v[:, :1] @ _Hf(v[:, :1])


def _svd_proj(a):
    u, s, vh = fnp.linalg.svd(a, full_matrices=False)
    return s, u[:, :2] @ _Hf(u[:, :2]), _Hf(vh[:2]) @ vh[:2]


GRAD_CASES = {
    "cholesky": (lambda a: fnp.linalg.cholesky(a), [H2]),
    "cholesky_one_triangle": (
        lambda a: lax_linalg.cholesky(a, symmetrize_input=False), [H2]),
    "eigh": (_eigh_proj, [H2]),
    "eigh_one_triangle": (
        lambda a: lax_linalg.eigh(a, symmetrize_input=False, lower=False)[1], [H2]),
    "svd_tall": (_svd_proj, [T2]),
    "svd_wide": (_svd_proj, [W2]),
    "qr_tall": (lambda a: fnp.linalg.qr(a), [T2]),
    "qr_wide": (lambda a: fnp.linalg.qr(a), [W2]),
    "lu": (lambda a: lax_linalg.lu(a)[0], [A2]),
    "solve": (lambda a, b: fnp.linalg.solve(a, b), [A2, B2]),
    "slogdet": (lambda a: fnp.linalg.slogdet(a), [A2]),
    "triangular_solve_H": (
        lambda a, b: lax_linalg.triangular_solve(a, b, left_side=True, lower=True,
                                                 transpose_a=True, conjugate_a=True),
        [A2, B2]),
    "triangular_solve_conj_right": (
        lambda a, b: lax_linalg.triangular_solve(a, b.T, lower=False, conjugate_a=True),
        [A2, B2]),
    "pinv": (lambda a: fnp.linalg.pinv(a), [T2]),
    "lstsq": (lambda a, b: fnp.linalg.lstsq(a, b)[0], [T2, _c128(4, 2, seed=16)]),
}
SECOND_ORDER = ("cholesky", "eigh", "svd_tall", "qr_tall")


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_complex_derivatives(name):
    """Forward and reverse mode against finite differences in complex128 (second order
    for the factorisations with their own complex JVP rules)."""
    f, args = GRAD_CASES[name]
    check_grads(f, args, order=2 if name in SECOND_ORDER else 1, modes=("fwd", "rev"),
                atol=1e-5, rtol=1e-5)


def test_grad_of_real_loss_matches_finite_differences():
    """grad of a real-valued loss of a complex matrix in JAX's convention (grad returns
    d loss / d re - i d loss / d im, so grad(abs(z)**2) = 2 conj(z)), checked along a
    direction."""
    def loss(a):
        w = fnp.linalg.eigvalsh(a @ _Hf(a) + 3 * fnp.eye(3))
        return fnp.sum(w ** 2) + fnp.real(fnp.linalg.slogdet(a)[1])
    with fg.config.enable_x64(True):
        g = np.asarray(fg.grad(loss)(A2))
        d = _c128(3, 3, seed=17)
        eps = 1e-6
        fd = (float(loss(A2 + eps * d)) - float(loss(A2 - eps * d))) / (2 * eps)
    # directional derivative = Re(sum(grad * d)) under JAX's convention
    np.testing.assert_allclose(np.real(np.sum(g * d)), fd, rtol=1e-6)
