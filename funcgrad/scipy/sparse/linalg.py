"""funcgrad.scipy.sparse.linalg: JAX's Krylov solvers for A x = b, `cg` (A Hermitian
positive definite), `bicgstab` and `gmres` (any A), with JAX's signatures and numerics.

`A` (and the preconditioner `M`, which approximates A^{-1}) is a function x -> A x, a
square 2-d array, or an object with `@`; `b` and `x0` are one array or a pytree of arrays
(the unknown is every leaf together), and A must map a pytree shaped as `b` to one shaped
as `b`. Iteration stops when norm(r) <= max(tol * norm(b), atol), or after `maxiter`
steps (default 10 * size of b; gmres counts restarts). As JAX's, `cg` and `bicgstab`
return `(x, None)` and `gmres` returns `(x, info)` with info an int32 0, or -1 when x
holds a NaN; a solve that did not converge is not reported.

Each solve runs as one `lax.while_loop` inside `lax.custom_linear_solve`, so it works
under `jit` and `vmap`, and derivatives (with respect to `b` and to the arrays `A`
closes over) come from a second solve with the transposed operator, never from
differentiating the iterations; they are as accurate as that solve.
"""
from __future__ import annotations

import functools
import operator

import numpy as np

from ... import lax
from ... import numpy as fnp
from ... import tree_util as _tu
from .. import linalg as _sla

__all__ = ["bicgstab", "cg", "gmres"]

_HIGHEST = lax.Precision.HIGHEST


# ---------------------------------------------------------------------------------------
# Pytree vector arithmetic: a vector is a pytree of arrays.

def _dot(a, b):
    return fnp.dot(a, b, precision=_HIGHEST)


def _re_inner(x, y):
    """Re <x, y> summed over leaves (the real and imaginary parts paired, cross terms
    dropped): for the z^H M z of a positive definite M, which is real."""
    total = 0
    for a, b in zip(_tu.tree_leaves(x), _tu.tree_leaves(y)):
        part = fnp.vdot(fnp.real(a), fnp.real(b), precision=_HIGHEST)
        if fnp.iscomplexobj(a) or fnp.iscomplexobj(b):
            part = part + fnp.vdot(fnp.imag(a), fnp.imag(b), precision=_HIGHEST)
        total = total + part
    return total


def _inner(x, y):
    """<x, y> = sum over leaves of conj(x) . y."""
    total = 0
    for a, b in zip(_tu.tree_leaves(x), _tu.tree_leaves(y)):
        total = total + fnp.vdot(a, b, precision=_HIGHEST)
    return total


def _norm(x):
    return fnp.sqrt(_re_inner(x, x))


def _scale(c, x):
    return _tu.tree_map(lambda a: c * a, x)


def _plus(x, y):
    return _tu.tree_map(operator.add, x, y)


def _minus(x, y):
    return _tu.tree_map(operator.sub, x, y)


def _select(pred, x, y):
    return _tu.tree_map(lambda a, b: fnp.where(pred, a, b), x, y)


def _leaf_dtype(x):
    return fnp.result_type(*_tu.tree_leaves(x))


def _identity(x):
    return x


def _as_operator(f):
    """A function x -> f x for `f` a function, a square matrix or an object with `@`."""
    if callable(f):
        return f
    if isinstance(f, (np.ndarray, fnp.ndarray)):
        if f.ndim != 2 or f.shape[0] != f.shape[1]:
            raise ValueError(f"linear operator must be a square matrix, but has shape: "
                             f"{f.shape}")
        return functools.partial(_dot, f)
    if hasattr(f, "__matmul__"):
        shape = getattr(f, "shape", None)
        if shape is not None and (len(shape) != 2 or shape[0] != shape[1]):
            raise ValueError(f"linear operator must be a square matrix, but has shape: "
                             f"{shape}")
        return functools.partial(operator.matmul, f)
    raise TypeError(f"linear operator must be either a function or ndarray: {f}")


def _prepare(b, x0, M):
    b = _tu.tree_map(fnp.asarray, b)
    x0 = _tu.tree_map(fnp.zeros_like, b) if x0 is None else _tu.tree_map(fnp.asarray, x0)
    if _tu.tree_structure(x0) != _tu.tree_structure(b):
        raise ValueError(f"x0 and b must have matching tree structure: "
                         f"{_tu.tree_structure(x0)} vs {_tu.tree_structure(b)}")
    return b, x0, _identity if M is None else _as_operator(M)


def _size(b):
    return sum(int(np.size(leaf)) for leaf in _tu.tree_leaves(b))


# ---------------------------------------------------------------------------------------
# Conjugate gradient and BiCGSTAB


def _cg_loop(A, b, x0, *, tol, atol, maxiter, M):
    """Preconditioned CG; stops when |r|^2 (r^H M r without a preconditioner) <=
    max(tol^2 |b|^2, atol^2)."""
    bound = fnp.maximum(fnp.square(tol) * _re_inner(b, b), fnp.square(atol))
    r = _minus(b, A(x0))
    z = M(r)
    dtype = _leaf_dtype(z)
    rz = _re_inner(r, z).astype(dtype)
    plain = M is _identity

    def keep_going(state):
        _, r, rz, _, k = state
        size = fnp.real(rz) if plain else _re_inner(r, r)
        return (size > bound) & (k < maxiter)

    def step(state):
        x, r, rz, p, k = state
        Ap = A(p)
        alpha = rz / _re_inner(p, Ap).astype(dtype)
        x = _plus(x, _scale(alpha, p))
        r = _minus(r, _scale(alpha, Ap))
        z = M(r)
        rz_new = _re_inner(r, z).astype(dtype)
        p = _plus(z, _scale(rz_new / rz, p))
        return x, r, rz_new, p, k + 1

    return lax.while_loop(keep_going, step, (x0, r, rz, z, 0))[0]


def _bicgstab_loop(A, b, x0, *, tol, atol, maxiter, M):
    """Preconditioned BiCGSTAB with the shadow residual r0; stops on convergence, after
    maxiter steps, or on a breakdown (rho, alpha or omega zero)."""
    bound = fnp.maximum(fnp.square(tol) * _re_inner(b, b), fnp.square(atol))
    r0 = _minus(b, A(x0))
    one = fnp.asarray(1, _leaf_dtype(b))

    def keep_going(state):
        r, k = state[1], state[-1]
        return (_re_inner(r, r) > bound) & (k < maxiter) & (k >= 0)

    def step(state):
        x, r, alpha, omega, rho, p, v, k = state
        rho_new = _inner(r0, r)
        beta = rho_new / rho * alpha / omega
        p = _plus(r, _scale(beta, _minus(p, _scale(omega, v))))
        p_hat = M(p)
        v = A(p_hat)
        alpha = rho_new / _inner(r0, v)
        s = _minus(r, _scale(alpha, v))
        half_done = _re_inner(s, s) < bound
        s_hat = M(s)
        t = A(s_hat)
        omega = _inner(t, s) / _inner(t, t)
        x_half = _plus(x, _scale(alpha, p_hat))
        x = _select(half_done, x_half, _plus(x, _plus(_scale(alpha, p_hat),
                                                      _scale(omega, s_hat))))
        r = _select(half_done, s, _minus(s, _scale(omega, t)))
        k = fnp.where((omega == 0) | (alpha == 0), -11, k + 1)
        k = fnp.where(rho_new == 0, -10, k)
        return x, r, alpha, omega, rho_new, p, v, k

    return lax.while_loop(keep_going, step, (x0, r0, one, one, one, r0, r0, 0))[0]


def _krylov(loop, A, b, x0, tol, atol, maxiter, M, hermitian):
    b, x0, M = _prepare(b, x0, M)
    A = _as_operator(A)
    shapes_b = [np.shape(leaf) for leaf in _tu.tree_leaves(b)]
    shapes_x0 = [np.shape(leaf) for leaf in _tu.tree_leaves(x0)]
    if shapes_b != shapes_x0:
        raise ValueError(f"arrays in x0 and b must have matching shapes: {shapes_x0} vs "
                         f"{shapes_b}")
    if maxiter is None:
        maxiter = 10 * _size(b)
    solve = functools.partial(loop, x0=x0, tol=tol, atol=atol, maxiter=maxiter, M=M)
    # A real Hermitian positive definite operator is symmetric: its transpose solve is
    # the solve itself.
    symmetric = hermitian and not any(fnp.iscomplexobj(leaf)
                                      for leaf in _tu.tree_leaves(b))
    x = lax.custom_linear_solve(A, b, solve=solve, transpose_solve=solve,
                                symmetric=symmetric)
    return x, None


def cg(A, b, x0=None, *, tol=1e-5, atol=0.0, maxiter=None, M=None):
    """Solve A x = b by (preconditioned) conjugate gradients, A Hermitian positive
    definite; JAX's `jax.scipy.sparse.linalg.cg`, numerically SciPy's `cg` with its
    non-legacy tolerance (stop at norm(r) <= max(tol * norm(b), atol)). Returns
    `(x, None)`, x shaped as `b`. Derivatives solve with A again (A^T for complex b)."""
    return _krylov(_cg_loop, A, b, x0, tol, atol, maxiter, M, hermitian=True)


def bicgstab(A, b, x0=None, *, tol=1e-5, atol=0.0, maxiter=None, M=None):
    """Solve A x = b, A any nonsingular operator, by the stabilised bi-conjugate gradient
    method; JAX's `jax.scipy.sparse.linalg.bicgstab`. Stops at norm(r) <= max(tol *
    norm(b), atol), after `maxiter` steps, or on a breakdown (x is then the last iterate).
    Returns `(x, None)`. Derivatives solve with A^T by BiCGSTAB."""
    return _krylov(_bicgstab_loop, A, b, x0, tol, atol, maxiter, M, hermitian=False)


# ---------------------------------------------------------------------------------------
# GMRES


def _normalize(x, thresh=None):
    """(x / norm(x), norm(x)), or (0, 0) where norm(x) <= thresh (default: the dtype's
    epsilon)."""
    norm = _norm(x)
    dtype = _leaf_dtype(x)
    if thresh is None:
        thresh = fnp.finfo(norm.dtype).eps
    thresh = fnp.real(fnp.asarray(thresh).astype(dtype))
    big = norm > thresh
    norm_c = norm.astype(dtype)
    unit = _tu.tree_map(lambda a: fnp.where(big, a / norm_c, fnp.zeros((), a.dtype)), x)
    return unit, fnp.where(big, norm, fnp.zeros((), norm.dtype))


def _arnoldi_step(k, A, M, V, H):
    """Extend the Krylov basis V (columns on each leaf's last axis) by the part of
    M A V[:, k] orthogonal to it (one classical Gram-Schmidt pass, as JAX's), writing its
    projections into row k of H. Breakdown (an invariant subspace): the new vector's norm
    is under eps times its norm before orthogonalising."""
    dtype = _leaf_dtype(V)
    eps = fnp.finfo(dtype).eps
    w = M(A(_tu.tree_map(lambda X: X[..., k], V)))
    _, w_norm = _normalize(w)
    h = 0
    for X, y in zip(_tu.tree_leaves(V), _tu.tree_leaves(w)):
        flat = fnp.reshape(X, (-1, X.shape[-1]))
        h = h + _dot(fnp.conj(flat).T, fnp.reshape(y, (-1,)))
    w = _minus(w, _tu.tree_map(lambda X: _dot(X, h), V))
    unit, new_norm = _normalize(w, thresh=eps * w_norm)
    V = _tu.tree_map(lambda X, u: X.at[..., k + 1].set(u), V, unit)
    h = h.at[k + 1].set(new_norm.astype(dtype))
    return V, H.at[k, :].set(h), new_norm == 0


def _basis(unit_residual, restart):
    return _tu.tree_map(
        lambda a: fnp.pad(a[..., None], ((0, 0),) * a.ndim + ((0, restart),)), unit_residual)


def _rotate(v, i, c, s):
    """Apply the Givens rotation (c, s) to entries i, i + 1 of v."""
    a, b = v[i], v[i + 1]
    return v.at[i].set(fnp.conj(c) * a - fnp.conj(s) * b).at[i + 1].set(s * a + c * b)


def _givens(a, b):
    """(c, s) of the rotation that zeroes b in (a, b)."""
    b_zero = fnp.abs(b) == 0
    swap = fnp.abs(a) < fnp.abs(b)
    t = -fnp.where(swap, a, b) / fnp.where(swap, b, a)
    r = lax.rsqrt(1 + fnp.abs(t) ** 2).astype(t.dtype)
    c = fnp.where(b_zero, 1, fnp.where(swap, r * t, r))
    s = fnp.where(b_zero, 0, fnp.where(swap, r, r * t))
    return c, s


def _cycle_incremental(A, b, x, unit_residual, residual_norm, ptol, restart, M):
    """One restart cycle, the Hessenberg matrix QR-factored by Givens rotations as it
    grows, so the residual norm is known each step and the cycle stops at ptol."""
    V = _basis(unit_residual, restart)
    dtype = _leaf_dtype(b)
    R = fnp.eye(restart, restart + 1, dtype=dtype)
    rotations = fnp.zeros((restart, 2), dtype=dtype)
    g = fnp.zeros(restart + 1, dtype=dtype).at[0].set(residual_norm.astype(dtype))

    def keep_going(state):
        k, err = state[0], state[1]
        return (k < restart) & (err > ptol)

    def step(state):
        k, _, V, R, g, rotations = state
        V, H, _ = _arnoldi_step(k, A, M, V, R)
        row = lax.fori_loop(0, k, lambda i, v: _rotate(v, i, rotations[i, 0],
                                                       rotations[i, 1]), H[k, :])
        c, s = _givens(row[k], row[k + 1])
        rotations = rotations.at[k, 0].set(c).at[k, 1].set(s)
        R = R.at[k, :].set(_rotate(row, k, c, s))
        g = _rotate(g, k, c, s)
        return k + 1, fnp.abs(g[k + 1]), V, R, g, rotations

    _, _, V, R, g, _ = lax.while_loop(keep_going, step,
                                      (0, residual_norm, V, R, g, rotations))
    y = _sla.solve_triangular(R[:, :-1].T, g[:-1])
    return _finish_cycle(A, b, x, V, y, M)


def _cycle_batched(A, b, x, unit_residual, residual_norm, ptol, restart, M):
    """One restart cycle: the whole Arnoldi basis (unless it breaks down), then the small
    least-squares problem min |H^T y - beta e1| through its normal equations."""
    del ptol
    V = _basis(unit_residual, restart)
    dtype = _leaf_dtype(b)
    H = fnp.eye(restart, restart + 1, dtype=dtype)

    def keep_going(state):
        return (state[3] < restart) & ~state[2]

    def step(state):
        V, H, _, k = state
        V, H, broke = _arnoldi_step(k, A, M, V, H)
        return V, H, broke, k + 1

    V, H, _, _ = lax.while_loop(keep_going, step, (V, H, fnp.asarray(False), 0))
    g = fnp.zeros(restart + 1, dtype=dtype).at[0].set(residual_norm.astype(dtype))
    Ht = H.T
    normal = _dot(fnp.conj(Ht).T, Ht)
    y = _sla.solve(normal, _dot(fnp.conj(Ht).T, g), assume_a="pos")
    return _finish_cycle(A, b, x, V, y, M)


def _finish_cycle(A, b, x, V, y, M):
    x = _plus(x, _tu.tree_map(lambda X: _dot(X[..., :-1], y), V))
    unit, norm = _normalize(M(_minus(b, A(x))))
    return x, unit, norm


def _gmres_loop(A, b, x0, atol, ptol, restart, maxiter, M, cycle):
    unit, norm = _normalize(M(_minus(b, A(x0))))

    def keep_going(state):
        return (state[1] < maxiter) & (state[3] > atol)

    def step(state):
        x, k, unit, norm = state
        x, unit, norm = cycle(A, b, x, unit, norm, ptol, restart, M)
        return x, k + 1, unit, norm

    return lax.while_loop(keep_going, step, (x0, 0, unit, norm))[0]


def gmres(A, b, x0=None, *, tol=1e-5, atol=0.0, restart=20, maxiter=None, M=None,
          solve_method="batched"):
    """Solve A x = b, A any nonsingular operator, by restarted GMRES; JAX's
    `jax.scipy.sparse.linalg.gmres`. Each cycle builds a Krylov basis of `restart`
    vectors (at most the size of b) and takes the least-squares solution in it;
    `maxiter` bounds the number of cycles (default 10 * size of b). `solve_method`
    "batched" solves the small least-squares problem at the end of a cycle,
    "incremental" keeps a QR factorisation by Givens rotations and ends a cycle early
    once the preconditioned residual is small enough. Returns `(x, info)`, info 0, or -1
    when x holds a NaN."""
    b, x0, M = _prepare(b, x0, M)
    A = _as_operator(A)
    size = _size(b)
    if maxiter is None:
        maxiter = 10 * size
    restart = min(restart, size)
    b_norm = _norm(b)
    atol = fnp.maximum(tol * b_norm, atol)
    ptol = _norm(M(b)) * fnp.minimum(1.0, atol / b_norm)
    if solve_method == "incremental":
        cycle = _cycle_incremental
    elif solve_method == "batched":
        cycle = _cycle_batched
    else:
        raise ValueError(f"invalid solve_method {solve_method}, must be either "
                         "'incremental' or 'batched'")

    def solve(op, rhs):
        return _gmres_loop(op, rhs, x0, atol, ptol, restart, maxiter, M, cycle)

    x = lax.custom_linear_solve(A, b, solve=solve, transpose_solve=solve)
    info = fnp.where(fnp.isnan(_norm(x)), -1, 0)
    return x, info
