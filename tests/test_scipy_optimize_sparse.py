"""funcgrad.scipy.sparse.linalg (cg, gmres, bicgstab), funcgrad.scipy.optimize.minimize
(BFGS, L-BFGS) and the stats additions (rankdata, mode, multinomial, poisson.entropy)
against JAX 0.10 and SciPy: values (the iterates themselves, through small maxiter),
dtypes and shapes with 64-bit types off and on, pytrees, preconditioners, derivatives
(against JAX's and finite differences), jit and vmap, error types and messages."""
from __future__ import annotations


import numpy as np
import pytest
import scipy.sparse.linalg as ssl
import scipy.stats as sst

import funcgrad as fg
import funcgrad.numpy as fnp
import funcgrad.scipy.sparse.linalg as fsl
from funcgrad.scipy import stats as fst
from funcgrad.scipy.optimize import OptimizeResults, minimize
from funcgrad.testing import check_grads

from conftest import x64_both

pytestmark = pytest.mark.core


class _Leaf:
    """An array's dtype name, shape and values (a pytree leaf)."""

    def __init__(self, a):
        self.dtype, self.shape, self.value = str(np.asarray(a).dtype), np.shape(a), np.asarray(a)

    def __repr__(self):
        return f"{self.dtype}{list(self.shape)} {self.value}"


def _outcome(f):
    """The result as a pytree of _Leaf, or (exception type, message)."""
    try:
        out = f()
    except Exception as e:  # noqa: BLE001 -- the exception is what is compared
        return type(e), str(e)
    if out is None:
        return None
    return fg.tree_util.tree_map(_Leaf, tuple(out) if isinstance(out, tuple) else out)


def _assert_same(ours, theirs, rtol=1e-6, atol=1e-6):
    if isinstance(theirs, tuple) and len(theirs) == 2 and isinstance(theirs[0], type):
        assert isinstance(ours, tuple) and isinstance(ours[0], type), ours
        assert issubclass(ours[0], theirs[0]), (ours, theirs)
        return
    assert (fg.tree_util.tree_structure(ours) == fg.tree_util.tree_structure(theirs)), (
        ours, theirs)
    for o, t in zip(fg.tree_util.tree_leaves(ours), fg.tree_util.tree_leaves(theirs)):
        assert (o.dtype, o.shape) == (t.dtype, t.shape), (o, t)
        np.testing.assert_allclose(o.value, t.value, rtol=rtol, atol=atol, equal_nan=True)


# ---------------------------------------------------------------------------------------
# sparse.linalg

N = 6
_rng = np.random.default_rng(0)
_B = _rng.normal(size=(N, N))
SPD = _B @ _B.T + N * np.eye(N)
NONSYM = _B + N * np.eye(N)
RHS = _rng.normal(size=N)
SOLVERS = [("cg", {}), ("bicgstab", {}), ("gmres", {}),
           ("gmres", {"solve_method": "incremental"}), ("gmres", {"restart": 2})]


def _matrix(name):
    return SPD if name == "cg" else NONSYM


def _solve(lib, name, A, b, **kw):
    return getattr(lib, name)(A, b, **kw)


@pytest.mark.parametrize("name,kw,x64", [s + (False,) for s in SOLVERS[:4]]
                         + [SOLVERS[0] + (True,), SOLVERS[3] + (True,)])
def test_solver_iterates_match_jax(jax, name, kw, x64):
    """The iterate after two steps (two CG/BiCGSTAB steps, two GMRES restart cycles) from
    x0, with a preconditioner (float32) or without (float64), against JAX's; the
    converged solution against NumPy's."""
    jsl = pytest.importorskip("jax.scipy.sparse.linalg")
    dt = np.float64 if x64 else np.float32
    A, b = _matrix(name).astype(dt), RHS.astype(dt)
    M = None if x64 else np.diag(1 / np.diag(A)).astype(dt)
    v = dict(kw, maxiter=2, M=M, x0=np.linspace(-1, 1, N).astype(dt),
             restart=2 if name == "gmres" else None)
    if name != "gmres":
        del v["restart"]
    tol = 1e-12 if x64 else 2e-5
    with x64_both(jax, x64):
        ours = _outcome(lambda: _solve(fsl, name, fnp.asarray(A), fnp.asarray(b), **v))
        theirs = _outcome(lambda: _solve(jsl, name, jax.numpy.asarray(A),
                                         jax.numpy.asarray(b), **v))
        _assert_same(ours, theirs, rtol=tol, atol=tol)
        x, _ = _solve(fsl, name, fnp.asarray(A), fnp.asarray(b), tol=1e-10 if x64 else 1e-6,
                      **kw)
    assert x.dtype == dt
    np.testing.assert_allclose(np.asarray(x), np.linalg.solve(A, b), rtol=0,
                               atol=1e-9 if x64 else 1e-4)


@pytest.mark.parametrize("name", ["cg", "bicgstab"])
def test_cg_bicgstab_match_scipy_step_by_step(name):
    """Float64 iterates equal SciPy's (JAX's tolerance is SciPy's non-legacy one)."""
    A = _matrix(name)
    for k in (1, 2, 3, 50):
        with fg.config.enable_x64(True):
            ours = np.asarray(getattr(fsl, name)(fnp.asarray(A), fnp.asarray(RHS),
                                                 maxiter=k, atol=0.0)[0])
        theirs = getattr(ssl, name)(A, RHS, maxiter=k, rtol=1e-5, atol=0.0)[0]
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_solvers_complex_pytree_and_operator_kinds(jax):
    jsl = pytest.importorskip("jax.scipy.sparse.linalg")
    rng = np.random.default_rng(1)
    Ac = (NONSYM + 1j * rng.normal(size=(N, N))).astype(np.complex64)
    Hc = (Ac @ Ac.conj().T + N * np.eye(N)).astype(np.complex64)
    bc = (RHS + 1j * rng.normal(size=N)).astype(np.complex64)
    for name, kw in SOLVERS[:2]:
        A = Hc if name == "cg" else Ac
        ours = _outcome(lambda: _solve(fsl, name, fnp.asarray(A), fnp.asarray(bc), **kw))
        theirs = _outcome(lambda: _solve(jsl, name, jax.numpy.asarray(A),
                                         jax.numpy.asarray(bc), **kw))
        _assert_same(ours, theirs, rtol=1e-4, atol=1e-5)

    # A pytree unknown (dict of a vector and a matrix), A as a function; x0 a pytree.
    A = SPD.astype(np.float32)
    b = RHS.astype(np.float32)

    def op(np_):
        def apply(v):
            y = np_.asarray(A) @ np_.concatenate([v["u"], v["w"].ravel()])
            return {"u": y[:2], "w": y[2:].reshape(2, 2)}
        return apply

    tree_b = {"u": b[:2], "w": b[2:].reshape(2, 2)}
    tree_x0 = {"u": np.ones(2, np.float32), "w": np.zeros((2, 2), np.float32)}
    for name, kw in (SOLVERS[3],):
        ours = _outcome(lambda: _solve(fsl, name, op(fnp), tree_b, x0=tree_x0, **kw))
        theirs = _outcome(lambda: _solve(jsl, name, op(jax.numpy), tree_b, x0=tree_x0, **kw))
        _assert_same(ours, theirs, rtol=2e-5, atol=2e-5)

    class Op:
        """An operator known only by `@` and its shape."""
        shape = (N, N)

        def __matmul__(self, v):
            return fnp.asarray(A) @ v

    x, info = fsl.cg(Op(), b)
    assert info is None
    np.testing.assert_allclose(np.asarray(x), np.linalg.solve(A, b), atol=1e-4)


def test_solver_derivatives(jax):
    """Implicit derivatives (a second solve) w.r.t. b and the matrix A closes over:
    against JAX's and against finite differences in float64."""
    jsl = pytest.importorskip("jax.scipy.sparse.linalg")
    for name, kw in (SOLVERS[0], SOLVERS[1], SOLVERS[3]):
        A, b = _matrix(name).astype(np.float32), RHS.astype(np.float32)
        if name == "gmres":
            check_grads(lambda A, b: fsl.gmres(lambda v: A @ v, b, tol=1e-12, **kw)[0],
                        (_matrix(name), RHS), order=1, modes=("fwd", "rev"), atol=1e-5,
                        rtol=1e-5)
            continue

        def loss(lib, np_):
            def f(A, b):
                x = getattr(lib, name)(lambda v: A @ v, b, tol=1e-7, **kw)[0]
                return np_.sum(x ** 2 * np_.arange(1.0, N + 1))
            return f

        ours = fg.grad(loss(fsl, fnp), argnums=(0, 1))(fnp.asarray(A), fnp.asarray(b))
        theirs = jax.grad(loss(jsl, jax.numpy), argnums=(0, 1))(A, b)
        for o, t in zip(ours, theirs):
            np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=1e-4, atol=1e-6)


def test_solvers_jit_vmap():
    A = fnp.asarray(NONSYM.astype(np.float32))
    bs = np.stack([RHS, 2 * RHS + 1, -RHS]).astype(np.float32)
    for name, kw in SOLVERS:
        A_ = fnp.asarray(_matrix(name).astype(np.float32)) if name == "cg" else A
        eager = np.stack([np.asarray(_solve(fsl, name, A_, fnp.asarray(b), **kw)[0])
                          for b in bs])
        batched = fg.vmap(lambda b: _solve(fsl, name, A_, b, **kw)[0])(fnp.asarray(bs))
        jitted = fg.jit(lambda b: _solve(fsl, name, A_, b, **kw)[0])(fnp.asarray(bs[1]))
        np.testing.assert_allclose(np.asarray(batched), eager, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.asarray(jitted), eager[1], rtol=1e-5, atol=1e-5)
        if name == "cg":
            # A batch of matrices too, and derivatives of the batched solve under jit.
            As = np.stack([SPD, 2 * SPD, SPD + np.eye(N)]).astype(np.float32)
            xs = fg.vmap(lambda A, b: fsl.cg(A, b)[0])(fnp.asarray(As), fnp.asarray(bs))
            np.testing.assert_allclose(np.asarray(xs), np.linalg.solve(
                As, bs[..., None])[..., 0], rtol=1e-4, atol=1e-5)
            g = fg.jit(fg.vmap(fg.grad(lambda b: fnp.sum(fsl.cg(A_, b)[0]))))(fnp.asarray(bs))
            np.testing.assert_allclose(np.asarray(g), np.broadcast_to(np.linalg.solve(
                SPD.astype(np.float32), np.ones(N)), (3, N)), rtol=1e-4, atol=1e-5)
        if name == "gmres":
            info = fg.jit(lambda b: _solve(fsl, name, A_, b, **kw)[1])(fnp.asarray(bs[0]))
            assert str(info.dtype) == "int32" and int(info) == 0


@pytest.mark.parametrize("case", [
    lambda L, np_: L.cg(np.zeros((2, 3)), np.zeros(2)),
    lambda L, np_: L.gmres(np.zeros((2, 3)), np.zeros(2)),
    lambda L, np_: L.cg(np_.zeros(3), np.zeros(3)),
    lambda L, np_: L.bicgstab(3, np.zeros(2)),
    lambda L, np_: L.cg(np.eye(2), np.zeros(2), x0=np.zeros(3)),
    lambda L, np_: L.bicgstab(np.eye(2), [np.zeros(2)], x0=(np.zeros(2),)),
    lambda L, np_: L.gmres(np.eye(2), [np.ones(2)], x0=(np.ones(2),)),
    lambda L, np_: L.gmres(np.eye(2), np.ones(2), solve_method="qr"),
])
def test_solver_errors_match_jax(jax, case):
    jsl = pytest.importorskip("jax.scipy.sparse.linalg")
    ours, theirs = _outcome(lambda: case(fsl, fnp)), _outcome(lambda: case(jsl, jax.numpy))
    assert isinstance(theirs[0], type) and ours[0] is theirs[0], (ours, theirs)
    assert ours[1] == theirs[1]


# ---------------------------------------------------------------------------------------
# optimize.minimize


def rosen(np_):
    return lambda x: np_.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def quad(np_):
    return lambda x: np_.sum((x - 1.5) ** 2 * np_.arange(1, x.shape[0] + 1))


_X = np.random.default_rng(1).normal(size=(20, 3))
_Y = (_X[:, 0] + 0.5 * _X[:, 1] > 0).astype(np.float64)


def logreg(np_):
    def f(w, X, y):
        z = (2 * y - 1) * (X @ w)
        return np_.mean(np_.log1p(np_.exp(-z))) + 0.01 * np_.sum(w ** 2)
    return f


BFGS_NAME = "l-bfgs-experimental-do-not-rely-on-this"
# (name, problem, x0, compared in float32, in float64): long float32 runs part from
# JAX's by rounding in a late line search, so float32 compares the shorter runs only.
PROBLEMS = [("rosen", rosen, [-1.2, 1.0, 0.5], True, True),
            ("quad", quad, [0.0] * 4, True, False),
            ("logreg", logreg, [0.0] * 3, False, True)]


@pytest.mark.parametrize("method", ["BFGS", BFGS_NAME])
@pytest.mark.parametrize("x64", [False, True])
def test_minimize_matches_jax(jax, method, x64):
    """Every field of OptimizeResults: values, dtypes (status and counts are int32, int64
    under x64), the number of iterations and evaluations, the status."""
    dt = np.float64 if x64 else np.float32
    jmin = pytest.importorskip("jax.scipy.optimize").minimize
    with x64_both(jax, x64):
        for pname, problem, x0, f32, f64 in PROBLEMS:
            if not (f64 if x64 else f32):
                continue
            args = (_X.astype(dt), _Y.astype(dt)) if pname == "logreg" else ()
            x0 = np.asarray(x0, dt)
            ours = minimize(problem(fnp), fnp.asarray(x0), args, method=method)
            theirs = jax.jit(lambda x: jmin(problem(jax.numpy), x, args, method=method))(x0)
            assert isinstance(ours, OptimizeResults) and ours._fields == theirs._fields
            tol = 1e-10 if x64 else 5e-5
            for field, o, t in zip(ours._fields, ours, theirs):
                if t is None:
                    assert o is None
                    continue
                assert str(np.asarray(o).dtype) == str(np.asarray(t).dtype), field
                assert np.shape(o) == np.shape(t), field
                if not x64 and (field == "hess_inv" or pname == "rosen" and field == "jac"):
                    continue  # rounding-sensitive in float32: checked under x64
                np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=tol, atol=tol,
                                           err_msg=f"{pname} {field}")


def test_minimize_reaches_scipy_minimum():
    import scipy.optimize as so
    x0 = np.zeros(3)
    with fg.config.enable_x64(True):
        r = minimize(logreg(fnp), fnp.asarray(x0), (_X, _Y), method="BFGS",
                     options={"gtol": 1e-9})
    assert bool(r.success) and int(r.status) == 0
    ref = so.minimize(logreg(np), x0, (_X, _Y), method="BFGS", options={"gtol": 1e-9})
    np.testing.assert_allclose(np.asarray(r.x), ref.x, atol=1e-6)
    np.testing.assert_allclose(float(r.fun), ref.fun, rtol=1e-12)


def test_minimize_jit_vmap_options():
    x0s = fnp.asarray(np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]], np.float32))
    eager = [minimize(quad(fnp), x, method="BFGS") for x in x0s]
    jitted = fg.jit(lambda x: minimize(quad(fnp), x, method="BFGS"))(x0s[1])
    batched = fg.vmap(lambda x: minimize(quad(fnp), x, method="BFGS"))(x0s)
    for field in OptimizeResults._fields:
        np.testing.assert_allclose(np.asarray(getattr(jitted, field)),
                                   np.asarray(getattr(eager[1], field)), rtol=1e-6)
        np.testing.assert_allclose(np.asarray(getattr(batched, field)),
                                   np.stack([np.asarray(getattr(e, field)) for e in eager]),
                                   rtol=1e-6, atol=1e-7)
    r = minimize(rosen(fnp), fnp.asarray([-1.2, 1.0]), method="bfgs", options={"maxiter": 2})
    assert int(r.nit) == 2 and int(r.status) == 1 and not bool(r.success)


def test_minimize_errors(jax):
    jmin = pytest.importorskip("jax.scipy.optimize").minimize
    cases = [lambda m, np_: m(quad(np_), np_.zeros(2), method="Nelder-Mead"),
             lambda m, np_: m(quad(np_), np_.zeros(2), method="BFGS", options={"xtol": 1}),
             lambda m, np_: m(lambda x, a: quad(np_)(x) * a, np_.zeros(2), [2.0],
                              method="BFGS"),
             lambda m, np_: m(quad(np_), np_.zeros(3, np_.int32), method="BFGS"),
             lambda m, np_: m(quad(np_), np_.zeros(()), method="BFGS")]
    for case in cases:
        ours, theirs = _outcome(lambda: case(minimize, fnp)), _outcome(
            lambda: case(jmin, jax.numpy))
        assert isinstance(theirs[0], type) and ours[0] is theirs[0], (ours, theirs)
    with pytest.raises(TypeError, match="must be a tuple"):
        minimize(quad(fnp), fnp.zeros(2), 2.0, method="BFGS")


# ---------------------------------------------------------------------------------------
# stats: rankdata, mode, multinomial, poisson.entropy

_D = np.random.default_rng(2).integers(0, 4, size=(3, 4, 5)).astype(np.float32)
_DN = _D.copy()
_DN[1, 2, 3] = np.nan
ARRAYS = [_D, _DN, _D.astype(np.int32), _D > 1, np.zeros((0,), np.float32),
          np.float32(3), np.zeros((2, 0), np.float32)]
AXES = [None, 0, 1, -1, 2, 3]


def _jax_spec(jax, f, a):
    """(dtype, shape) of JAX's f(a) traced abstractly (no compile), or the error type."""
    try:
        out = jax.eval_shape(f, jax.ShapeDtypeStruct(np.shape(a), np.asarray(a).dtype))
    except Exception as e:  # noqa: BLE001 -- the exception is what is compared
        return type(e)
    return [(str(o.dtype), o.shape) for o in jax.tree.leaves(out)]


def _our_spec(f, a):
    try:
        out = f(a)
    except Exception as e:  # noqa: BLE001 -- the exception is what is compared
        return type(e)
    return [(str(o.dtype), o.shape) for o in fg.tree_util.tree_leaves(out)]


@pytest.mark.parametrize("x64", [False, True])
def test_rankdata_mode_specs_match_jax(jax, x64):
    """dtypes, shapes and error types for every method/axis/keepdims on float, NaN, int,
    bool, empty and 0-d inputs; values of NaN, empty and complex cases against JAX's."""
    js = jax.scipy.stats
    with x64_both(jax, x64):
        for a in ARRAYS[:4] if x64 else ARRAYS:  # under x64: the dtypes
            for axis in AXES[:3] if x64 else AXES:
                fns = [(lambda L, m=m, axis=axis: lambda x: L.rankdata(x, m, axis=axis))
                       for m in ("average", "min", "max", "dense", "ordinal")]
                fns += [(lambda L, k=k, axis=axis: lambda x: L.mode(x, axis, keepdims=k))
                        for k in (False, True)]
                for make in fns:
                    ours, theirs = _our_spec(make(fst), a), _jax_spec(jax, make(js), a)
                    if isinstance(theirs, type):
                        assert isinstance(ours, type) and issubclass(ours, theirs)
                    else:
                        assert ours == theirs, (a.shape, a.dtype, axis)
        if x64:
            return
        for f in (lambda L: L.rankdata(_DN, axis=1), lambda L: L.mode(_DN, 2),
                  lambda L: L.mode(np.array([np.nan, np.nan, 1.0, 1.0, 2.0]))):
            _assert_same(_outcome(lambda: f(fst)), _outcome(lambda: f(js)))
    # JAX's answers: NaN and a float 0 count for an empty slice; complex values.
    m = fst.mode(np.zeros((2, 0), np.float32), 1)
    assert np.isnan(np.asarray(m.mode)).all() and m.count.dtype == np.float32
    m = fst.mode(np.array([2, 1 + 1j, 2, 1 + 1j], np.complex64))
    assert complex(m.mode) == 1 + 1j and int(m.count) == 2


def test_rankdata_mode_match_scipy():
    data = np.random.default_rng(3).integers(0, 5, size=(6, 7)).astype(np.float64)
    with fg.config.enable_x64(True):
        for a in (_D, _D.astype(np.int32), _D > 1, _DN):
            for method in ("average", "min", "max", "dense", "ordinal"):
                for axis in (None, 0, 1, 2):
                    np.testing.assert_array_equal(
                        np.asarray(fst.rankdata(a, method, axis=axis)),
                        sst.rankdata(a, method, axis=axis))
            for axis in (None, 0, 2):
                if a is not _DN and a.dtype != bool:
                    ours, ref = fst.mode(a, axis=axis), sst.mode(a, axis=axis)
                    np.testing.assert_array_equal(np.asarray(ours.mode), ref.mode)
                    np.testing.assert_array_equal(np.asarray(ours.count), ref.count)
        for method in ("average", "min", "max", "dense", "ordinal"):
            for axis in (None, 0, 1):
                np.testing.assert_array_equal(
                    np.asarray(fst.rankdata(data, method, axis=axis)),
                    sst.rankdata(data, method, axis=axis))
        for axis in (0, 1, None):
            ours, ref = fst.mode(data, axis=axis), sst.mode(data, axis=axis)
            np.testing.assert_array_equal(np.asarray(ours.mode), ref.mode)
            np.testing.assert_array_equal(np.asarray(ours.count), ref.count)
    # jit and vmap
    x = fnp.asarray(data.astype(np.float32))
    np.testing.assert_array_equal(np.asarray(fg.jit(lambda x: fst.rankdata(x, axis=1))(x)),
                                  sst.rankdata(data, axis=1))
    np.testing.assert_array_equal(np.asarray(fg.vmap(lambda r: fst.mode(r).mode)(x)),
                                  sst.mode(data, axis=1).mode)


@pytest.mark.parametrize("case", [
    lambda s: s.rankdata(_D, "first"),
    lambda s: s.rankdata(_D, nan_policy="omit"),
    lambda s: s.rankdata(_D, nan_policy="raise"),
    lambda s: s.rankdata(_D, nan_policy="skip"),
    lambda s: s.mode(_D, nan_policy="omit"),
    lambda s: s.mode(_D, nan_policy="bogus"),
])
def test_rankdata_mode_errors(jax, case):
    ours, theirs = _outcome(lambda: case(fst)), _outcome(lambda: case(jax.scipy.stats))
    assert isinstance(theirs[0], type) and ours[0] is theirs[0], (ours, theirs)


def test_multinomial(jax):
    js = jax.scipy.stats
    p = np.array([0.2, 0.3, 0.5], np.float32)
    cases = [(np.array([1, 2, 3]), 6, p), (np.array([1, 2, 3]), 5, p),
             (np.array([0, 0, 4]), 4, p.astype(np.float64)), (np.array([1, 2]), 3,
                                                              np.array([1, 3])),
             (np.array([1.0, 2, 3]), 6, p), (np.array([1, 2, 3]), 6.0, p)]
    for x, n, pp in cases:
        _assert_same(_outcome(lambda: fst.multinomial.logpmf(x, n, pp)),
                     _outcome(lambda: js.multinomial.logpmf(x, n, pp)), rtol=2e-6)
    with x64_both(jax, True):
        for x, n, pp in cases:
            f = lambda L, x=x, n=n: lambda q: L.multinomial.pmf(x, n, q)  # noqa: E731
            assert _our_spec(f(fst), pp) == _jax_spec(jax, f(js), pp)
    # Batched counts: each row against n (SciPy's; JAX 0.10 sums all rows).
    xs = np.array([[1, 2, 3], [0, 6, 0], [1, 1, 1]])
    p = np.array([0.2, 0.3, 0.5])
    np.testing.assert_allclose(np.asarray(fst.multinomial.logpmf(xs, 6, p)),
                               sst.multinomial.logpmf(xs, 6, p), rtol=1e-5)
    check_grads(lambda q: fst.multinomial.logpmf(np.array([1, 2, 3]), 6, q),
                (np.array([0.2, 0.3, 0.5]),), order=1)


def test_poisson_entropy(jax):
    mu = np.array([0.0, 0.5, 3.0, 9.5, 10.0, 42.0, 99.0, 100.0, 700.0])
    with x64_both(jax, True):
        ours = np.asarray(fst.poisson.entropy(mu))
        theirs = np.asarray(jax.scipy.stats.poisson.entropy(mu))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(ours[1:], sst.poisson.entropy(mu[1:]), rtol=1e-5)
    f32 = fst.poisson.entropy(mu.astype(np.float32))
    assert f32.dtype == np.float32
    np.testing.assert_allclose(np.asarray(f32)[1:], sst.poisson.entropy(mu[1:]), rtol=2e-5)
    assert np.isnan(float(fst.poisson.entropy(-1.0)))
    assert fst.poisson.entropy(np.float32(2.0), np.zeros((2, 3))).shape == (2, 3)
    assert fst.poisson.entropy(3).dtype == np.float32
    check_grads(fst.poisson.entropy, (np.array([0.7, 4.3, 30.3, 150.0]),), order=1,
                rtol=1e-5)
