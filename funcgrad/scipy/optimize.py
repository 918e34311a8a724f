"""funcgrad.scipy.optimize: JAX's `jax.scipy.optimize.minimize` with its `OptimizeResults`.

Methods (case-insensitive): "BFGS", and JAX's "l-bfgs-experimental-do-not-rely-on-this"
(limited-memory BFGS; as in JAX, not for relying on). Both take the gradient of `fun` by
`grad`, need a 1-d real `x0` and find each step by JAX's line search: Algorithm 3.5 of
Nocedal & Wright (bracketing with the strong Wolfe conditions, c1 = 1e-4, c2 = 0.9, the
first trial step from the previous decrease, at most 1) with its zoom (cubic, then
quadratic interpolation, then bisection). The iterations follow JAX's step by step, so
results agree with JAX's to rounding, JAX's quirks included: `tol` is accepted and
ignored, a zoom whose bracket is given high-to-low fails at once, and the line search
gives up (status 3 or 5) where SciPy's might not. Everything runs in one `lax.while_loop`,
so `minimize` works under `jit` (with `fun` and the options static) and `vmap`; as in
JAX, it is not differentiable.

Options ("BFGS"): maxiter (default 200 * x0.size), norm (of the gradient for the stop
test, default inf), gtol (1e-5), line_search_maxiter (10). Options ("l-bfgs-..."):
maxiter, norm, maxcor (10), ftol, gtol, maxfun, maxgrad, maxls (20).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import api as _api
from .. import lax
from .. import numpy as fnp

__all__ = ["OptimizeResults", "minimize"]

_HIGHEST = lax.Precision.HIGHEST


def _dot(a, b):
    return fnp.dot(a, b, precision=_HIGHEST)


class OptimizeResults(NamedTuple):
    """What `minimize` returns. x: the solution; success: converged and no line search
    failed; status: 0 converged, 1 maxiter reached, 2 + the line search's status when it
    failed (3 zoom failed, 5 line search ran out of steps) for BFGS, and L-BFGS's codes
    (1 maxiter, 2 maxfun, 3 maxgrad, 4 progress under ftol, 5 line search failed), -1
    otherwise; fun, jac: f and its gradient at x; hess_inv: BFGS's inverse Hessian
    estimate (None for L-BFGS); nfev, njev: calls of f and of its gradient; nit:
    iterations."""
    x: object
    success: object
    status: object
    fun: object
    jac: object
    hess_inv: object
    nfev: object
    njev: object
    nit: object


# ---------------------------------------------------------------------------------------
# Line search (strong Wolfe conditions)


def _cubic_step(a, fa, fpa, b, fb, c, fc):
    """Minimiser of the cubic through (a, fa) with slope fpa there, (b, fb) and (c, fc)."""
    db, dc = b - a, c - a
    denom = (db * dc) ** 2 * (db - dc)
    rb, rc = fb - fa - fpa * db, fc - fa - fpa * dc
    p = (dc ** 2 * rb - db ** 2 * rc) / denom
    q = (-dc ** 3 * rb + db ** 3 * rc) / denom
    return a + (-q + fnp.sqrt(q * q - 3. * p * fpa)) / (3. * p)


def _quad_step(a, fa, fpa, b, fb):
    """Minimiser of the quadratic through (a, fa) with slope fpa there and (b, fb)."""
    db = b - a
    curv = (fb - fa - fpa * db) / db ** 2
    return a - fpa / (2. * curv)


def _where(pred, new, old, keys):
    return {k: fnp.where(pred, new[k], old[k]) for k in keys}


def _zoom(phi_dphi, armijo_fails, curvature_holds, lo, hi, g0, skip, dtype):
    """Zoom into the bracket between lo = (a, phi, dphi) and hi until a step satisfies
    both Wolfe conditions (or the bracket is too small, or 30 trials). With `skip`, no
    trial is made. Returns (failed, a*, phi*, dphi*, g*, evaluations)."""
    s = dict(done=fnp.asarray(False), failed=fnp.asarray(False), j=0,
             a_lo=lo[0], phi_lo=lo[1], dphi_lo=lo[2], a_hi=hi[0], phi_hi=hi[1],
             dphi_hi=hi[2], a_rec=(lo[0] + hi[0]) / 2., phi_rec=(lo[1] + hi[1]) / 2.,
             a_star=fnp.asarray(1., dtype), phi_star=lo[1], dphi_star=lo[2], g_star=g0,
             nfev=0)
    small = 1e-5 if np.finfo(dtype).bits < 64 else 1e-10

    def body(s):
        s = dict(s)
        width = s["a_hi"] - s["a_lo"]
        left = fnp.minimum(s["a_hi"], s["a_lo"])
        right = fnp.maximum(s["a_hi"], s["a_lo"])
        # As JAX's: the signed width, so a bracket given high-to-low fails here.
        s["failed"] = s["failed"] | (width <= small)
        a_cub = _cubic_step(s["a_lo"], s["phi_lo"], s["dphi_lo"], s["a_hi"], s["phi_hi"],
                            s["a_rec"], s["phi_rec"])
        cubic = (s["j"] > 0) & (a_cub > left + 0.2 * width) & (a_cub < right - 0.2 * width)
        a_quad = _quad_step(s["a_lo"], s["phi_lo"], s["dphi_lo"], s["a_hi"], s["phi_hi"])
        quad = ~cubic & (a_quad > left + 0.1 * width) & (a_quad < right - 0.1 * width)
        a_j = fnp.where(cubic, a_cub, s["a_rec"])
        a_j = fnp.where(quad, a_quad, a_j)
        a_j = fnp.where(~cubic & ~quad, (s["a_lo"] + s["a_hi"]) / 2., a_j)
        phi_j, dphi_j, g_j = phi_dphi(a_j)
        phi_j = phi_j.astype(s["phi_lo"].dtype)
        dphi_j = dphi_j.astype(s["dphi_lo"].dtype)
        g_j = g_j.astype(s["g_star"].dtype)
        s["nfev"] = s["nfev"] + 1
        j_is_hi = armijo_fails(a_j, phi_j) | (phi_j >= s["phi_lo"])
        j_is_star = curvature_holds(dphi_j) & ~j_is_hi
        lo_is_hi = (dphi_j * (s["a_hi"] - s["a_lo"]) >= 0.) & ~j_is_hi & ~j_is_star
        j_is_lo = ~j_is_hi & ~j_is_star
        s.update(_where(j_is_hi, dict(a_hi=a_j, phi_hi=phi_j, dphi_hi=dphi_j,
                                      a_rec=s["a_hi"], phi_rec=s["phi_hi"]), s,
                        ("a_hi", "phi_hi", "dphi_hi", "a_rec", "phi_rec")))
        s["done"] = s["done"] | j_is_star
        s.update(_where(j_is_star, dict(a_star=a_j, phi_star=phi_j, dphi_star=dphi_j,
                                        g_star=g_j), s,
                        ("a_star", "phi_star", "dphi_star", "g_star")))
        s.update(_where(lo_is_hi, dict(a_hi=s["a_lo"], phi_hi=s["phi_lo"],
                                       dphi_hi=s["dphi_lo"], a_rec=s["a_hi"],
                                       phi_rec=s["phi_hi"]), s,
                        ("a_hi", "phi_hi", "dphi_hi", "a_rec", "phi_rec")))
        s.update(_where(j_is_lo & ~lo_is_hi, dict(a_rec=s["a_lo"], phi_rec=s["phi_lo"]),
                        s, ("a_rec", "phi_rec")))
        s.update(_where(j_is_lo, dict(a_lo=a_j, phi_lo=phi_j, dphi_lo=dphi_j), s,
                        ("a_lo", "phi_lo", "dphi_lo")))
        s["j"] = s["j"] + 1
        s["failed"] = s["failed"] | (s["j"] >= 30)
        return s

    s = lax.while_loop(lambda s: ~s["done"] & ~skip & ~s["failed"], body, s)
    return s["failed"], s["a_star"], s["phi_star"], s["dphi_star"], s["g_star"], s["nfev"]


def _line_search(f, xk, pk, f0, g0, old_old_fval=None, c1=1e-4, c2=0.9, maxiter=20):
    """A step a along pk (a descent direction) from xk satisfying the strong Wolfe
    conditions. Returns dict(failed, a, f, g, nfev, status): status 0, 1 (zoom failed) or
    3 (maxiter trials)."""
    dtype = pk.dtype
    value_and_grad = _api.value_and_grad(f)

    def phi_dphi(t):
        t = fnp.asarray(t, dtype)
        phi, g = value_and_grad(xk + t * pk)
        return phi, fnp.real(_dot(g, pk)), g

    dphi0 = fnp.real(_dot(g0, pk))
    if old_old_fval is None:
        first = fnp.asarray(1., dtype)
    else:
        guess = 1.01 * 2 * (f0 - old_old_fval) / dphi0
        first = fnp.where(guess > 1, fnp.asarray(1., guess.dtype), guess)

    def armijo_fails(a, phi):
        return phi > f0 + c1 * a * dphi0

    def curvature_holds(dphi):
        return fnp.abs(dphi) <= -c2 * dphi0

    s = dict(done=fnp.asarray(False), failed=fnp.asarray(False), i=1,
             a_prev=fnp.asarray(0., dtype), phi_prev=f0, dphi_prev=dphi0, nfev=0,
             a_star=fnp.asarray(0., dtype), phi_star=f0, dphi_star=dphi0, g_star=g0)

    def body(s):
        s = dict(s)
        a_i = fnp.where(s["i"] == 1, first, s["a_prev"] * 2.).astype(dtype)
        phi_i, dphi_i, g_i = phi_dphi(a_i)
        s["nfev"] = s["nfev"] + 1
        zoom_up = armijo_fails(a_i, phi_i) | ((phi_i >= s["phi_prev"]) & (s["i"] > 1))
        take_i = curvature_holds(dphi_i) & ~zoom_up
        zoom_down = (dphi_i >= 0.) & ~zoom_up & ~take_i
        prev = (s["a_prev"], s["phi_prev"], s["dphi_prev"])
        here = (a_i, phi_i, dphi_i)
        keys = ("a_star", "phi_star", "dphi_star", "g_star")
        z1 = _zoom(phi_dphi, armijo_fails, curvature_holds, prev, here, g0, ~zoom_up, dtype)
        z2 = _zoom(phi_dphi, armijo_fails, curvature_holds, here, prev, g0, ~zoom_down,
                   dtype)
        s["nfev"] = s["nfev"] + z1[5] + z2[5]
        for pred, new in ((zoom_up, z1), (take_i, (None, a_i, phi_i, dphi_i, g_i)),
                          (zoom_down, z2)):
            s["done"] = s["done"] | pred
            if new[0] is not None:
                s["failed"] = s["failed"] | (pred & new[0])
            s.update(_where(pred, dict(zip(keys, new[1:5])), s, keys))
        s.update(i=s["i"] + 1, a_prev=a_i, phi_prev=phi_i, dphi_prev=dphi_i)
        return s

    s = lax.while_loop(lambda s: ~s["done"] & (s["i"] <= maxiter) & ~s["failed"], body, s)
    status = fnp.where(s["failed"], 1, fnp.where(s["i"] > maxiter, 3, 0))
    a = s["a_star"]
    if np.finfo(a.dtype).bits != 64:
        a = fnp.where(fnp.abs(a) < 1e-8, fnp.sign(a) * 1e-8, a)
    return dict(failed=s["failed"] | ~s["done"], a=a, f=s["phi_star"], g=s["g_star"],
                nfev=s["nfev"], status=status)


# ---------------------------------------------------------------------------------------
# BFGS and L-BFGS


def _bfgs(fun, x0, maxiter=None, norm=np.inf, gtol=1e-5, line_search_maxiter=10):
    if maxiter is None:
        maxiter = np.size(x0) * 200
    d = x0.shape[0]
    f0, g0 = _api.value_and_grad(fun)(x0)
    s = dict(converged=fnp.linalg.norm(g0, ord=norm) < gtol, failed=fnp.asarray(False),
             k=0, nfev=1, x=x0, f=f0, g=g0, H=fnp.eye(d, dtype=x0.dtype),
             f_before=f0 + fnp.linalg.norm(g0) / 2, ls_status=0)

    def body(s):
        s = dict(s)
        p = -_dot(s["H"], s["g"])
        ls = _line_search(fun, s["x"], p, s["f"], s["g"], s["f_before"],
                          maxiter=line_search_maxiter)
        step = ls["a"] * p
        y = ls["g"] - s["g"]
        rho = fnp.reciprocal(_dot(y, step))
        w = fnp.eye(d, dtype=rho.dtype) - rho * (step[:, None] * y[None, :])
        H = (_dot(_dot(w, s["H"]), w.T) + rho * step[:, None] * step[None, :])
        s.update(nfev=s["nfev"] + ls["nfev"], failed=ls["failed"],
                 ls_status=ls["status"], converged=fnp.linalg.norm(ls["g"], ord=norm) < gtol,
                 k=s["k"] + 1, x=s["x"] + step, f=ls["f"], g=ls["g"],
                 H=fnp.where(fnp.isfinite(rho), H, s["H"]), f_before=s["f"])
        return s

    s = lax.while_loop(lambda s: ~s["converged"] & ~s["failed"] & (s["k"] < maxiter),
                       body, s)
    status = fnp.where(s["converged"], 0, fnp.where(
        s["k"] == maxiter, 1, fnp.where(s["failed"], 2 + s["ls_status"], -1)))
    return OptimizeResults(x=s["x"], success=s["converged"] & ~s["failed"], status=status,
                           fun=s["f"], jac=s["g"], hess_inv=s["H"], nfev=s["nfev"],
                           njev=s["nfev"], nit=s["k"])


def _lbfgs(fun, x0, maxiter=None, norm=np.inf, maxcor=10, ftol=2.220446049250313e-09,
           gtol=1e-5, maxfun=None, maxgrad=None, maxls=20):
    d = len(x0)
    dtype = x0.dtype
    if maxiter is None and maxfun is None and maxgrad is None:
        maxiter = d * 200
    maxiter = np.inf if maxiter is None else maxiter
    maxfun = np.inf if maxfun is None else maxfun
    maxgrad = np.inf if maxgrad is None else maxgrad
    f0, g0 = _api.value_and_grad(fun)(x0)
    s = dict(converged=fnp.asarray(False), failed=fnp.asarray(False), k=0, nfev=1, x=x0,
             f=f0, g=g0, S=fnp.zeros((maxcor, d), dtype), Y=fnp.zeros((maxcor, d), dtype),
             rho=fnp.zeros((maxcor,), dtype), gamma=fnp.asarray(1., g0.dtype), status=0)

    def direction(s):
        """-H g by the two-loop recursion over the stored pairs (oldest first in S, Y)."""
        used = fnp.minimum(s["k"], maxcor)
        rdtype = s["rho"].dtype

        def newest_first(j, carry):
            q, alphas = carry
            i = maxcor - 1 - j
            a = s["rho"][i] * fnp.real(_dot(fnp.conj(s["S"][i]), q)).astype(rdtype)
            return q - a * fnp.conj(s["Y"][i]), alphas.at[i].set(a)

        q, alphas = lax.fori_loop(0, used, newest_first,
                                  (-fnp.conj(s["g"]), fnp.zeros_like(s["rho"])))
        q = s["gamma"] * q

        def oldest_first(j, q):
            i = maxcor - used + j
            b = s["rho"][i] * fnp.real(_dot(s["Y"][i], q)).astype(rdtype)
            return q + (alphas[i] - b) * s["S"][i]

        return lax.fori_loop(0, used, oldest_first, q)

    def push(history, new):
        return fnp.roll(history, -1, axis=0).at[-1].set(new)

    def body(s):
        s = dict(s)
        p = direction(s)
        ls = _line_search(fun, s["x"], p, s["f"], s["g"], maxiter=maxls)
        step = fnp.asarray(ls["a"]).astype(p.dtype) * p
        y = ls["g"] - s["g"]
        sy = fnp.real(_dot(y, step))
        status = fnp.asarray(0)
        status = fnp.where(s["f"] - ls["f"] < ftol, 4, status)
        status = fnp.where(s["nfev"] >= maxgrad, 3, status)
        status = fnp.where(s["nfev"] >= maxfun, 2, status)
        status = fnp.where(s["k"] >= maxiter, 1, status)
        status = fnp.where(ls["failed"], 5, status)
        converged = fnp.linalg.norm(ls["g"], ord=norm) < gtol
        s.update(converged=converged, failed=(status > 0) & ~converged, k=s["k"] + 1,
                 nfev=s["nfev"] + ls["nfev"], x=(s["x"] + step).astype(s["x"].dtype),
                 f=ls["f"].astype(s["f"].dtype), g=ls["g"].astype(s["g"].dtype),
                 S=push(s["S"], step), Y=push(s["Y"], y),
                 rho=push(s["rho"], fnp.reciprocal(sy).astype(y.dtype)),
                 gamma=(sy / fnp.real(_dot(fnp.conj(y), y))).astype(s["g"].dtype),
                 status=fnp.where(converged, 0, status))
        return s

    s = lax.while_loop(lambda s: ~s["converged"] & ~s["failed"], body, s)
    return OptimizeResults(x=s["x"], success=s["converged"] & ~s["failed"],
                           status=s["status"], fun=s["f"], jac=s["g"], hess_inv=None,
                           nfev=s["nfev"], njev=s["nfev"], nit=s["k"])


def minimize(fun, x0, args=(), *, method, tol=None, options=None):
    """Minimise `fun(x, *args)` (a real scalar) over a 1-d `x` from `x0`; JAX's
    `jax.scipy.optimize.minimize`. `method` is "BFGS" or
    "l-bfgs-experimental-do-not-rely-on-this" (any case); `options` a dict of the
    method's options (see the module docstring); `tol` is ignored, as in JAX. Returns an
    `OptimizeResults`."""
    del tol
    if options is None:
        options = {}
    if not isinstance(args, tuple):
        raise TypeError(f"args argument to funcgrad.scipy.optimize.minimize must be a "
                        f"tuple, got {args}")

    def objective(x):
        return fun(x, *args)

    x0 = fnp.asarray(x0)
    if method.lower() == "bfgs":
        return _bfgs(objective, x0, **options)
    if method.lower() == "l-bfgs-experimental-do-not-rely-on-this":
        return _lbfgs(objective, x0, **options)
    raise ValueError(f"Method {method} not recognized")
