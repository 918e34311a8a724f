"""funcgrad.scipy.special and funcgrad.scipy.stats against SciPy: values on grids that
reach the tails (float32 and float64), the edge values (poles, 0, 1, out of range), the
derivatives (JAX's rules for xlogy/xlog1py, analytic ones for erfinv/ndtri, digamma as
gammaln's), and the C/OpenCL lowering of the `erfc` and `lgamma` primitives."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.special as ss
import scipy.stats as sst

import funcgrad as fg
import funcgrad.scipy.special as fs
from funcgrad.scipy import stats as fst
from funcgrad.testing import check_grads

pytestmark = pytest.mark.core
F32, F64 = np.float32, np.float64


@pytest.fixture(autouse=True)
def _float64_enabled(x64):
    """Most checks here compare in float64 (and check_grads differentiates in float64):
    every test runs with 64-bit dtypes enabled; float32 cases pass float32 arrays."""
    yield
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rel_err(got, want, floor=1.0):
    got, want = np.asarray(got, F64), np.asarray(want, F64)
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    with np.errstate(invalid="ignore"):
        err = np.abs(got - want) / np.maximum(np.abs(want), floor)
    return float(np.max(np.where(same, 0.0, err)))


# name, funcgrad, scipy, grid, float64 bound, float32 bound (relative, or absolute below 1)
GRIDS = [
    ("erf", fs.erf, ss.erf, np.linspace(-6, 6, 241), 1e-15, 1e-6),
    ("erfc", fs.erfc, ss.erfc, np.linspace(-6, 26, 321), 1e-14, 1e-6),
    ("gammaln", fs.gammaln, ss.gammaln,
     np.concatenate([np.linspace(-7.5, 40, 476), [1e-30, 1e5, 1e15]]), 1e-13, 2e-6),
    ("digamma", fs.digamma, ss.digamma,
     np.concatenate([np.linspace(-5.45, 30, 355), [1e-8, 1e6]]), 1e-11, 5e-6),
    ("gamma", fs.gamma, ss.gamma, np.linspace(-4.5, 20, 246), 1e-13, 2e-5),
    ("expit", fs.expit, ss.expit, np.linspace(-40, 40, 161), 1e-15, 1e-6),
    ("logit", fs.logit, ss.logit, np.linspace(0.001, 0.999, 199), 1e-14, 1e-6),
    ("entr", fs.entr, ss.entr, np.linspace(0, 5, 101), 1e-15, 1e-6),
    ("ndtr", fs.ndtr, ss.ndtr, np.linspace(-37, 9, 461), 1e-13, 1e-6),
    ("log_ndtr", fs.log_ndtr, ss.log_ndtr, np.linspace(-60, 40, 1001), 1e-13, 1e-6),
    ("ndtri", fs.ndtri, ss.ndtri,
     np.concatenate([np.logspace(-300, -1, 300), np.linspace(0.02, 0.98, 97),
                     1 - np.logspace(-15, -1, 50)]), 1e-13, None),
    ("erfinv", fs.erfinv, ss.erfinv,
     np.concatenate([np.linspace(-0.999, 0.999, 201), [1e-20, -1e-12, 1 - 1e-15]]), 1e-13,
     2e-6),
]


@pytest.mark.parametrize("name,f,ref,grid,tol64,tol32", GRIDS, ids=[g[0] for g in GRIDS])
def test_special_matches_scipy(name, f, ref, grid, tol64, tol32, x64):
    want = ref(grid)
    got = f(grid.astype(F64))
    assert got.dtype == F64
    assert rel_err(got, want) < tol64, name
    x32 = grid.astype(F32)
    if tol32 is not None:
        got32 = f(x32)
        assert got32.dtype == F32
        keep = np.abs(x32) < 1e30
        assert rel_err(np.asarray(got32)[keep], ref(x32.astype(F64))[keep]) < tol32, name


def test_ndtri_float32_is_accurate_in_the_lower_tail():
    p = np.logspace(-37, -1, 200).astype(F32)
    got = np.asarray(fs.ndtri(p), F64)
    assert rel_err(got, ss.ndtri(p.astype(F64)), floor=1e-30) < 1e-5


def test_edge_values():
    nan, inf = np.nan, np.inf
    same = np.testing.assert_array_equal
    same(fs.gammaln(np.array([0.0, -1.0, -2.0], F32)), [inf, inf, inf])
    same(fs.digamma(np.array([0.0, -0.0, -1.0, -3.0])), ss.digamma([0.0, -0.0, -1.0, -3.0]))
    same(fs.gamma(np.array([0.0, -0.0, -1.0])), [inf, -inf, nan])
    same(fs.erfinv(np.array([1.0, -1.0, 1.5, -2.0, nan])), [inf, -inf, nan, nan, nan])
    same(fs.ndtri(np.array([0.0, 1.0, -0.1, 1.1, nan])), [-inf, inf, nan, nan, nan])
    same(fs.logit(np.array([0.0, 1.0])), [-inf, inf])
    same(fs.entr(np.array([-1.0, 0.0])), [-inf, 0.0])
    same(fs.xlogy(np.array([0.0, 0.0]), np.array([0.0, -1.0])), [0.0, 0.0])
    same(fs.xlog1py(np.array([0.0]), np.array([-1.0])), [0.0])
    same(fs.log_ndtr(np.array([-inf, inf])), [-inf, 0.0])
    assert fs.erf(np.arange(3)).dtype == np.float64   # integers -> the default float (x64 on)


def test_logsumexp_and_softmax():
    a = np.random.default_rng(0).standard_normal((3, 4))
    b = np.random.default_rng(1).uniform(-1, 1, (3, 4))
    for axis in (None, 0, -1):
        for keepdims in (False, True):
            np.testing.assert_allclose(fs.logsumexp(a, axis=axis, keepdims=keepdims),
                                       ss.logsumexp(a, axis=axis, keepdims=keepdims),
                                       rtol=1e-12)
    out, sign = fs.logsumexp(a, axis=1, b=b, return_sign=True)
    want, want_sign = ss.logsumexp(a, axis=1, b=b, return_sign=True)
    np.testing.assert_allclose(out, want, rtol=1e-12)
    np.testing.assert_array_equal(sign, want_sign)
    np.testing.assert_allclose(fs.logsumexp(np.array([-np.inf, -np.inf])), -np.inf)
    np.testing.assert_allclose(fs.softmax(a, axis=0), ss.softmax(a, axis=0), rtol=1e-12)
    np.testing.assert_allclose(fs.log_softmax(a), ss.log_softmax(a, axis=-1), rtol=1e-12)
    np.testing.assert_allclose(fs.betaln(np.array([0.5, 3.0]), 2.5), ss.betaln([0.5, 3.0],
                                                                               2.5), rtol=1e-12)
    np.testing.assert_allclose(fs.multigammaln(np.array([2.5, 7.0]), 3),
                               ss.multigammaln(np.array([2.5, 7.0]), 3), rtol=1e-12)



def test_digamma_is_accurate_to_float64_rounding():
    """The fuzzer's special-function run (seed 424243): digamma(x) in float64 was off by
    3e-13 (1.6e-13 relative at x near 1.2, the asymptotic series' truncation after six
    terms at y + 6). With eight terms at y + 8 it is within a few ulps for x > 0."""
    x = np.linspace(0.01, 30, 3001)
    got = np.asarray(fs.digamma(x))
    assert got.dtype == np.float64
    want = ss.digamma(x)
    assert np.max(np.abs(got - want) / (np.abs(want) + 1)) < 1e-14

def test_derivatives():
    x = np.array([0.3, 1.7, 4.0, -2.5])
    # gammaln' = digamma, digamma' = trigamma, through the lgamma primitive's JVP.
    np.testing.assert_allclose(fg.vmap(fg.grad(fs.gammaln))(x), ss.digamma(x), rtol=1e-11)
    np.testing.assert_allclose(fg.vmap(fg.grad(fg.grad(fs.gammaln)))(x), ss.polygamma(1, x),
                               rtol=1e-9)
    check_grads(fs.digamma, [x], order=2, atol=1e-6, rtol=1e-6)
    # The analytic derivatives of the inverses, to second order.
    p = np.array([1e-6, 0.2, 0.5, 0.93])
    np.testing.assert_allclose(fg.vmap(fg.grad(fs.ndtri))(p),
                               1 / sst.norm.pdf(ss.ndtri(p)), rtol=1e-10)
    check_grads(fs.ndtri, [p[1:]], order=2, atol=1e-6, rtol=1e-6)
    check_grads(fs.erfinv, [np.array([-0.7, 0.01, 0.9])], order=2, atol=1e-6, rtol=1e-6)
    # log_ndtr's derivative in the far tail: pdf / cdf, with both tiny.
    z = np.array([-35.0, -19.0, -21.0, 3.0])
    np.testing.assert_allclose(fg.vmap(fg.grad(fs.log_ndtr))(z),
                               np.exp(sst.norm.logpdf(z) - sst.norm.logcdf(z)), rtol=1e-9)
    # xlogy / xlog1py use JAX's rule: d/dx = log(y) also at x == 0.
    gx, gy = fg.grad(fs.xlogy, argnums=(0, 1))(0.0, 2.0)
    assert float(gx) == pytest.approx(np.log(2.0)) and float(gy) == 0.0
    gx, gy = fg.grad(fs.xlog1py, argnums=(0, 1))(0.0, 2.0)
    assert float(gx) == pytest.approx(np.log(3.0)) and float(gy) == 0.0
    check_grads(fs.xlog1py, [np.array([0.5, 2.0]), np.array([0.3, 1.5])], order=2)
    check_grads(fs.logit, [np.array([0.1, 0.6])], order=2)
    check_grads(lambda a, b: fs.logsumexp(a, b=b, axis=0),
                [np.array([[0.1, 2.0], [1.0, -1.0]]), np.array([[1.0, 0.5], [2.0, 1.0]])],
                order=2)


def test_norm_matches_scipy():
    x = np.linspace(-8, 8, 33)
    loc, scale = np.array([[0.0], [1.5]]), np.array([[1.0], [0.5]])
    for name in ("pdf", "logpdf", "cdf", "logcdf", "sf", "logsf"):
        got = getattr(fst.norm, name)(x, loc, scale)
        want = getattr(sst.norm, name)(x, loc, scale)
        assert got.shape == (2, 33)
        assert rel_err(got, want) < 1e-12, name
    q = np.linspace(0.001, 0.999, 41)
    for name in ("ppf", "isf"):
        got = getattr(fst.norm, name)(q, loc, scale)
        assert rel_err(got, getattr(sst.norm, name)(q, loc, scale)) < 1e-12, name
    np.testing.assert_allclose(fst.norm.logpdf(np.float32(0.5)), sst.norm.logpdf(0.5),
                               rtol=1e-6)
    check_grads(lambda x, m, s: fst.norm.logcdf(x, m, s),
                [np.array([-3.0, 0.2]), np.array([0.5, -0.1]), np.array([1.2, 0.7])], order=2)


def test_multivariate_normal_matches_scipy():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 3))
    cov = a @ a.T + np.eye(3)
    mean = rng.standard_normal(3)
    x = rng.standard_normal((5, 3))
    want = sst.multivariate_normal.logpdf(x, mean, cov)
    np.testing.assert_allclose(fst.multivariate_normal.logpdf(x, mean, cov), want, rtol=1e-12)
    np.testing.assert_allclose(fst.multivariate_normal.pdf(x, mean, cov), np.exp(want),
                               rtol=1e-12)
    # batched covariances, scalar covariance, scalar mean
    covs = np.stack([cov, 2 * cov])
    got = fst.multivariate_normal.logpdf(x[:2], mean, covs)
    np.testing.assert_allclose(got, [sst.multivariate_normal.logpdf(x[i], mean, covs[i])
                                     for i in range(2)], rtol=1e-12)
    np.testing.assert_allclose(fst.multivariate_normal.logpdf(x, mean, 2.0),
                               sst.multivariate_normal.logpdf(x, mean, 2.0 * np.eye(3)),
                               rtol=1e-12)
    np.testing.assert_allclose(fst.multivariate_normal.logpdf(x[:, 0], 0.5, 2.0),
                               sst.norm.logpdf(x[:, 0], 0.5, np.sqrt(2.0)), rtol=1e-12)
    # a covariance that is not positive definite: NaN, no exception
    assert np.isnan(float(fst.multivariate_normal.logpdf(x[0], mean, -cov)))
    check_grads(lambda x, m, c: fst.multivariate_normal.logpdf(x, m, c @ c.T + np.eye(3)),
                [x[0], mean, a], order=2, atol=1e-6, rtol=1e-6)
    with pytest.raises(ValueError, match="multivariate_normal.logpdf: cov"):
        fst.multivariate_normal.logpdf(x, mean, np.eye(2))


@pytest.mark.parametrize("dtype", [F32, F64])
def test_special_on_every_backend(backend, dtype, x64):
    x = np.linspace(-4.6, 7.3, 23).astype(dtype)
    p = np.linspace(0.01, 0.99, 23).astype(dtype)

    def f(x, p):
        return (fs.erfc(x), fs.gammaln(x), fs.digamma(x), fs.log_ndtr(x * 5), fs.ndtri(p),
                fs.erfinv(2 * p - 1), fs.xlogy(x, p), fst.norm.logcdf(x, 0.5, 2.0))

    ref = fg.jit(f, backend="reference")(x, p)
    modes = [("jit", fg.jit(f)(x, p))]
    if backend != "opencl":                    # (eager: many small PoCL builds)
        modes.append(("eager", f(x, p)))
    for mode, out in modes:
        for k, (o, r) in enumerate(zip(out, ref)):
            assert o.dtype == dtype
            np.testing.assert_allclose(np.asarray(o, F64), np.asarray(r, F64),
                                       rtol=2e-5 if dtype == F32 else 1e-12,
                                       atol=2e-5 if dtype == F32 else 1e-12,
                                       err_msg=f"output {k} ({mode})")


def test_erfc_and_lgamma_lower_to_c():
    """Imported before the lowering (as funcgrad imports its primitives), the special
    primitives are elementwise kernels in C, not host steps."""
    pytest.importorskip("cffi")
    code = (
        "import funcgrad, funcgrad.scipy.special as fs, numpy as np\n"
        "funcgrad.config.update('jax_enable_x64', True)\n"
        "from funcgrad import backends\n"
        "if not backends._c_importable(): raise SystemExit(0)\n"
        "from funcgrad.backends import c\n"
        "if not c.available(): raise SystemExit(0)\n"
        "f = funcgrad.jit(lambda x: fs.erfc(x) * fs.gammaln(x + 3.0), backend='c')\n"
        "x = np.linspace(-2, 2, 7)\n"
        "low = f.lower(x)\n"
        "exe = backends.get_backend('c').executable(low.program, low.name)\n"
        "assert not exe._host_steps, 'host steps'\n"
        "assert 'erfc(' in low.source and 'lgamma(' in low.source, low.source\n"
        "import scipy.special as ss\n"
        "np.testing.assert_allclose(f(x), ss.erfc(x) * ss.gammaln(x + 3), rtol=1e-13)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       check=False, env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stderr[-3000:]


# --- scipy.linalg.expm and the structured matrices (JAX 0.10.2's values) ---------------

def test_expm_matches_jax():
    from funcgrad.scipy import linalg as sl
    rot = np.array([[0.0, 1.0], [-1.0, 0.0]], np.float32)
    np.testing.assert_allclose(np.asarray(sl.expm(rot)),
                               [[np.cos(1), np.sin(1)], [-np.sin(1), np.cos(1)]], rtol=1e-6)
    big = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [0.5, 0.0, 0.2]], np.float32) * 4
    np.testing.assert_allclose(np.asarray(sl.expm(big)),
                               [[566.09216, 415.74496, 818.9606],
                                [204.74008, 150.3471, 296.03314],
                                [185.83228, 136.4934, 268.7604]], rtol=2e-6)
    # past max_squarings: NaN, as JAX
    assert np.isnan(np.asarray(sl.expm(np.diag([1e3, 1.0]).astype(np.float32)))).all()
    np.testing.assert_allclose(np.asarray(sl.expm(np.array([[1.0, 2.0], [0.0, 3.0]], np.float32),
                                                  upper_triangular=True)),
                               [[2.7182817, 17.367258], [0.0, 20.085543]], rtol=1e-6)
    batched = sl.expm(np.stack([rot, 2 * rot]))
    assert batched.shape == (2, 2, 2)
    np.testing.assert_allclose(np.asarray(batched[1]), np.asarray(sl.expm(2 * rot)), rtol=1e-6)
    g = fg.grad(lambda m: sl.expm(m).sum())(0.5 * rot + 0.1)
    np.testing.assert_allclose(np.asarray(g), [[1.0813309, 0.62251], [1.7199639, 1.0813308]],
                               rtol=2e-6)
    np.testing.assert_allclose(np.asarray(fg.jit(sl.expm)(rot)), np.asarray(sl.expm(rot)),
                               rtol=1e-6)
    z = sl.expm(np.array([[0.0, 1j], [1j, 0.0]], np.complex64))
    np.testing.assert_allclose(np.asarray(z), [[np.cos(1), 1j * np.sin(1)],
                                               [1j * np.sin(1), np.cos(1)]], rtol=1e-6)


def test_toeplitz_hankel_circulant():
    from funcgrad.scipy import linalg as sl
    assert np.asarray(sl.toeplitz(fg.numpy.array([1, 2, 3]))).tolist() == \
        [[1, 2, 3], [2, 1, 2], [3, 2, 1]]
    t = sl.toeplitz(fg.numpy.array([1.0, 2.0, 3.0]), fg.numpy.array([9.0, -2.0]))
    assert np.asarray(t).tolist() == [[1, -2], [2, 1], [3, 2]]
    np.testing.assert_array_equal(np.asarray(sl.toeplitz(fg.numpy.array([1 + 1j, 2.0]))),
                                  [[1 + 1j, 2], [2, 1 + 1j]])
    assert np.asarray(sl.toeplitz(fg.numpy.array([[1, 2, 3], [4, 5, 6]]))).shape == (2, 3, 3)
    assert np.asarray(sl.hankel(fg.numpy.array([1, 2, 3]))).tolist() == \
        [[1, 2, 3], [2, 3, 0], [3, 0, 0]]
    h = sl.hankel(fg.numpy.array([1, 2, 3]), fg.numpy.array([999, 4, 5, 6]))
    assert np.asarray(h).tolist() == [[1, 2, 3, 4], [2, 3, 4, 5], [3, 4, 5, 6]]
    assert np.asarray(sl.circulant(fg.numpy.array([1, 2, 3]))).tolist() == \
        [[1, 3, 2], [2, 1, 3], [3, 2, 1]]
