"""funcgrad.random against JAX 0.10: every case recorded by scripts/record_jax_random.py
(tests/data/jax_random.json; JAX itself is never imported here) replayed on every backend,
eagerly and under jit/vmap; plus what recorded numbers cannot show: typed keys through the
transforms, errors, the exact multiply-add behind `uniform`, nextafter, and the moments of
every distribution on 100k samples."""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from fractions import Fraction

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import config, random

pytestmark = pytest.mark.core

DATA = os.path.join(os.path.dirname(__file__), "data", "jax_random.json")

# Bit for bit: the bit-level algorithms, and integer results that depend on floats only
# through comparisons no recorded case puts within an ulp of a boundary.
EXACT = {"PRNGKey", "key_data", "split", "fold_in", "bits", "uniform", "randint", "bernoulli",
         "rademacher", "permutation", "choice", "categorical", "poisson"}
# Through XLA's own log/log1p/exp/erf/tan/pow (not correctly rounded): (ulps, rtol, atol).
# truncated_normal's tails magnify an ulp of erf(bound) (d erfinv/du ~ exp(x^2)); gamma-
# based samplers raise uniforms to 1/alpha; orthogonal/multivariate_normal add LAPACK's
# rounding (QR, Cholesky) to normal's.
CLOSE = {
    "normal": (4, 0, 0), "lognormal": (4, 0, 0), "exponential": (4, 0, 0),
    "laplace": (4, 0, 0), "cauchy": (4, 0, 0), "pareto": (4, 0, 0), "logistic": (32, 0, 0),
    "gumbel": (8, 0, 2e-6), "truncated_normal": (4, 2e-4, 0),
    "multivariate_normal": (8, 1e-5, 1e-5), "orthogonal": (8, 1e-5, 1e-6),
    "gamma": (16, 2e-5, 1e-30), "loggamma": (16, 2e-5, 1e-6), "beta": (16, 2e-5, 1e-30),
    "dirichlet": (16, 2e-5, 1e-30), "t": (16, 2e-5, 0), "chisquare": (16, 2e-5, 0),
}
HEAVY = {"gamma", "loggamma", "beta", "dirichlet", "t", "chisquare", "poisson"}


@functools.cache
def _data():
    with open(DATA) as f:
        return json.load(f)


def _cases():
    return _data()["cases"]


def _decode(v):
    if isinstance(v, dict):
        if "array" in v:
            return fnp.asarray(np.asarray(v["array"], v["dtype"]))
        if "scalar" in v:
            return np.asarray(v["scalar"], v["dtype"])[()]
        if "dtype" in v:
            return np.dtype(v["dtype"])
        if "tuple" in v:
            return tuple(v["tuple"])
        if "pytype" in v:
            return {"float": float, "int": int}[v["pytype"]]
        return {k: _decode(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_decode(x) for x in v]
    return v


def _derive_key(spec):
    if spec is None:
        return None
    k = random.PRNGKey(spec["seed"]) if "seed" in spec else random.key(spec["typed"])
    for step in spec["path"]:
        k = random.split(k, step[1])[step[2]] if step[0] == "split" else \
            random.fold_in(k, step[1])
    return k



def _call(case, key, transform=None):
    """Run `case` with funcgrad; `transform` wraps the sampling function (jit)."""
    args = _decode(case["args"])
    kwargs = _decode(case["kwargs"])
    fn = case["fn"]
    if fn == "PRNGKey":
        # Seeding depends on jax_enable_x64; both rules are recorded.
        return random._seed_key_data(args[0], case["x64"])
    if fn == "key_data":
        return random.key_data(key)
    f = getattr(random, fn)

    def sample(k):
        return f(k, *args, **kwargs)

    if "vmap" in case:
        one = sample

        def sample(k):
            return fg.vmap(one)(random.split(k, case["vmap"]))

    if transform is not None:
        sample = transform(sample)
    return sample(key)


def _check(case, out):
    rec = case["jax"]
    fn = case["fn"]
    typed = isinstance(out, random.KeyArray)
    assert typed == rec.get("typed_key", False), f"{case['id']}: typed key mismatch"
    a = np.asarray(random.key_data(out) if typed else out)
    assert str(a.dtype) == rec["dtype"], f"{case['id']}: dtype {a.dtype} != {rec['dtype']}"
    assert list(a.shape) == rec["shape"], f"{case['id']}: shape {a.shape} != {rec['shape']}"
    flat = a.reshape(-1)
    if "values" in rec:
        ref = np.asarray(rec["values"], rec["dtype"])
    else:
        if fn in EXACT:
            digest = hashlib.sha256(np.ascontiguousarray(flat).tobytes()).hexdigest()
            assert digest == rec["sha256"], f"{case['id']}: bits differ from JAX's"
        flat = flat[np.asarray(rec["sample_index"])]
        ref = np.asarray(rec["sample"], rec["dtype"])
    if fn in EXACT:
        np.testing.assert_array_equal(flat, ref, err_msg=f"{case['id']} differs from JAX")
        return
    ulps, rtol, atol = CLOSE[fn]
    got = flat.astype(np.float64)
    want = ref.astype(np.float64)
    tol = ulps * np.spacing(np.abs(ref)).astype(np.float64) + rtol * np.abs(want) + atol
    bad = ~((np.abs(got - want) <= tol) | (np.isnan(got) & np.isnan(want)) | (got == want))
    assert not bad.any(), (f"{case['id']}: {bad.sum()} of {bad.size} values beyond "
                           f"{ulps} ulps (+rtol {rtol}, atol {atol}) from JAX's; first "
                           f"{got[bad][:3]} vs {want[bad][:3]}")


def _case_ids():
    return [c["id"] for c in _cases()]


def _case(cid):
    return next(c for c in _cases() if c["id"] == cid)


def _replay(case, transform=None):
    """Replay `case` in the x64 mode JAX recorded it in."""
    with config.enable_x64(bool(case["x64"])):
        _replay_in_mode(case, transform)


def _replay_in_mode(case, transform):
    if "error" in case["jax"]:
        with pytest.raises((TypeError, ValueError, OverflowError)):
            _call(case, _derive_key(case["key"]), transform)
        return
    _check(case, _call(case, _derive_key(case["key"]), transform))


# --- the recorded cases ------------------------------------------------------------------

def test_recording_is_jax_010_default_threefry():
    d = _data()
    assert d["jax_version"].startswith("0.10.")
    assert d["threefry_partitionable"] and d["default_prng_impl"] == "threefry2x32"
    fns = {c["fn"] for c in d["cases"]}
    assert {"split", "fold_in", "bits", "uniform", "normal", "randint", "bernoulli",
            "categorical", "permutation", "choice", "truncated_normal", "gumbel", "gamma",
            "beta", "dirichlet", "poisson", "exponential", "laplace", "logistic", "cauchy",
            "lognormal", "t", "multivariate_normal", "orthogonal", "rademacher"} <= fns
    assert set(fns) <= EXACT | set(CLOSE), sorted(fns - EXACT - set(CLOSE))


@pytest.mark.parametrize("cid", _case_ids())
def test_eager_matches_jax(cid, request):
    """Every recorded case, eagerly, on the reference backend."""
    _replay(_case(cid))


def test_c_backend_matches_jax_eagerly(backend, request):
    """The cases of the non-rejection samplers, eagerly, on the C backend's prebuilt kernels
    (OpenCL builds a kernel per operation: it is checked under jit only)."""
    if backend != "c":
        pytest.skip("the C backend's eager kernels")
    request.getfixturevalue("x64")
    ran = 0
    for case in _cases():
        big = "sha256" in case["jax"] and case["id"] not in ("bits-6", "uniform-27", "normal-6")
        if case["fn"] not in HEAVY and not big:
            _replay(case)
            ran += 1
    assert ran > 200


# Under jit: cases that exercise distinct code (Threefry and the counter layout, both fma
# emulations, erfinv, randint's integer reductions, permutation's sort, Gumbel top-k).
# Compiling is what costs, OpenCL's most (~10 s a program on PoCL), so it gets one draw
# through Threefry and the float32 fma (the fma tests below cover both emulations there).
JIT_CASES = ("split-6", "bits-13", "uniform-25", "uniform-28", "uniform-39", "normal-4",
             "randint-13", "permutation-5", "choice-9", "truncated_normal-2")
OPENCL_JIT_CASES = ("uniform-25",)
HEAVY_JIT_CASES = ("loggamma-2", "poisson-3")


def test_jit_matches_jax(backend, request):
    request.getfixturevalue("x64")
    for cid in (OPENCL_JIT_CASES if backend == "opencl" else JIT_CASES):
        _replay(_case(cid), fg.jit)


def test_rejection_samplers_match_jax_under_jit(backend):
    if backend == "opencl":
        pytest.skip("host-driven loops over OpenCL kernels: slow to build; C covers them")
    for cid in HEAVY_JIT_CASES:
        _replay(_case(cid), fg.jit)


# --- keys --------------------------------------------------------------------------------

def test_typed_keys_through_jit_vmap_and_scan():
    k = random.key(3)
    assert isinstance(k, random.KeyArray) and k.shape == () and str(k.dtype) == "key<fry>"
    ks = random.split(k, 4)
    assert isinstance(ks, random.KeyArray) and ks.shape == (4,) and len(ks) == 4
    np.testing.assert_array_equal(np.asarray(random.key_data(ks)),
                                  np.asarray(random.split(random.PRNGKey(3), 4)))
    legacy = np.asarray(random.normal(random.PRNGKey(3), (5,)))
    np.testing.assert_array_equal(np.asarray(random.normal(k, (5,))), legacy)
    np.testing.assert_array_equal(np.asarray(fg.jit(lambda kk: random.normal(kk, (5,)))(k)),
                                  legacy)
    out = fg.jit(lambda kk: random.split(kk, 3))(k)
    assert isinstance(out, random.KeyArray) and out.shape == (3,)
    per_key = np.stack([np.asarray(random.uniform(kk, (2,))) for kk in ks])
    np.testing.assert_array_equal(
        np.asarray(fg.vmap(lambda kk: random.uniform(kk, (2,)))(ks)), per_key)

    def step(carry, _):
        carry, sub = random.split(carry)
        return carry, random.uniform(sub)

    _, draws = fg.lax.scan(step, k, None, length=3)
    kk, want = k, []
    for _ in range(3):
        kk, sub = random.split(kk)
        want.append(float(random.uniform(sub)))
    np.testing.assert_array_equal(np.asarray(draws), np.asarray(want, np.float32))
    assert bool(random.wrap_key_data(random.key_data(k)) == k)
    assert bool(ks[1] != ks[2]) and ks[1:3].shape == (2,) and ks.reshape(2, 2).shape == (2, 2)
    assert random.key_impl(k) == "threefry2x32"


def test_keys_as_jit_arguments_and_traced_seed():
    f = fg.jit(lambda s: random.uniform(random.PRNGKey(s), (3,)))
    np.testing.assert_array_equal(np.asarray(f(7)),
                                  np.asarray(random.uniform(random.PRNGKey(7), (3,))))
    g = fg.jit(lambda k, i: random.normal(random.fold_in(k, i), (2,)))
    np.testing.assert_array_equal(np.asarray(g(random.PRNGKey(1), 5)),
                                  np.asarray(random.normal(random.fold_in(random.PRNGKey(1),
                                                                          5), (2,))))


@pytest.mark.parametrize("bad, err, words", [
    (np.zeros(2, np.int32), TypeError, "uint32"),
    (np.zeros(3, np.uint32), TypeError, "(..., 2)"),
    ("seed", TypeError, "PRNG key"),
    (np.zeros((4, 2), np.uint32), ValueError, "vmap"),
])
def test_bad_keys_are_named(bad, err, words):
    with pytest.raises(err, match="random.normal") as e:
        random.normal(bad, (2,))
    assert words in str(e.value)


def test_bad_arguments_are_named():
    k = random.PRNGKey(0)
    with pytest.raises(TypeError, match="shape"):
        random.uniform(k, (2.0,))
    with pytest.raises(ValueError, match="negative"):
        random.normal(k, (-1,))
    with pytest.raises(ValueError, match="float dtype"):
        random.uniform(k, (2,), np.int32)
    with pytest.raises(TypeError, match="integer dtype"):
        random.randint(k, (2,), 0, 3, np.float32)
    with pytest.raises(ValueError, match="unsigned"):
        random.bits(k, (2,), np.int32)
    with pytest.raises(ValueError, match="broadcast"):
        random.uniform(k, (3,), minval=np.zeros(4, np.float32))
    with pytest.raises(TypeError, match="floating"):
        random.bernoulli(k, 1)
    with pytest.raises(TypeError, match="sequence"):
        random.choice(k, 5, 3)
    with pytest.raises(ValueError, match="larger sample"):
        random.choice(k, 3, (4,), replace=False)
    with pytest.raises(TypeError, match="scalar"):
        random.PRNGKey(np.zeros(2, np.int32))
    with pytest.raises(TypeError, match="integer"):
        random.PRNGKey(1.5)
    with pytest.raises(OverflowError, match="uint32"):
        random.fold_in(k, -1)
    with pytest.raises(ValueError, match="threefry2x32"):
        random.key(0, impl="rbg")


def test_seeding_rules_of_both_x64_modes():
    cases = {(-1, False): [0, 0xFFFFFFFF], (-1, True): [0xFFFFFFFF, 0xFFFFFFFF],
             (2 ** 40 + 5, False): [0, 5], (2 ** 40 + 5, True): [256, 5],
             (2 ** 32, True): [1, 0], (np.int32(-7), True): [0, 2 ** 32 - 7]}
    for (s, x64), want in cases.items():
        np.testing.assert_array_equal(np.asarray(random._seed_key_data(s, x64)),
                                      np.asarray(want, np.uint32))


# --- the exact arithmetic behind uniform -------------------------------------------------

def _exact_fma(a, b, c, dt):
    out = [float(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z)))
           for x, y, z in zip(a, b, c)]
    return np.asarray(out, np.float64).astype(dt)


def _fma_operands(dt, n=4000, seed=0):
    """Random triples plus the hard ones: exact midpoints of dt and sums that cancel."""
    rng = np.random.default_rng(seed)
    a = rng.uniform(-3, 3, n).astype(dt)
    b = rng.uniform(-3, 3, n).astype(dt)
    c = rng.uniform(-3, 3, n).astype(dt)
    c[: n // 4] = (-a[: n // 4].astype(np.float64) * b[: n // 4]).astype(dt)
    nm = np.finfo(dt).nmant
    # a*b = 1 + 2**-(nm+1) (a midpoint) plus a tiny c that decides the rounding.
    k = n // 8
    a[-k:] = 1 + 2.0 ** -(nm + 1) * 2
    b[-k:] = 0.5
    c[-k:] = rng.choice([-1.0, 1.0], k) * 2.0 ** -(2 * nm + 4)
    return a, b, c


@pytest.mark.parametrize("dt,wide", [(np.float32, False), (np.float32, True),
                                     (np.float64, True)])
def test_fma_is_correctly_rounded_on_every_backend(dt, wide, backend, request):
    """float32 through float64 with x64 on, by Dekker's split with it off; float64 by
    Dekker's split."""
    if wide:
        request.getfixturevalue("x64")
    a, b, c = _fma_operands(dt)
    want = _exact_fma(a, b, c, dt)
    args = [fnp.asarray(v) for v in (a, b, c)]
    if backend != "opencl":   # OpenCL: one kernel build, under jit
        np.testing.assert_array_equal(np.asarray(random._fma(*args)), want)
    np.testing.assert_array_equal(np.asarray(fg.jit(random._fma)(*args)), want)


def test_uniform_range_draws_round_once_like_xla(backend):
    """u * (hi - lo) + lo as one rounding, eagerly and under jit, with traced bounds too
    (then the fast path for power-of-two spans cannot be taken)."""
    if backend == "opencl":
        pytest.skip("OpenCL: test_jit_matches_jax and the fma test cover it")
    k = random.PRNGKey(5)
    lo, hi = np.float32(-1.3), np.float32(2.6)
    u = np.asarray(random.uniform(k, (5000,))).astype(np.float64)
    want = np.maximum(lo, (u * np.float64(hi - lo) + lo).astype(np.float32))
    np.testing.assert_array_equal(np.asarray(random.uniform(k, (5000,), minval=lo, maxval=hi)),
                                  want)
    traced = fg.jit(lambda kk, a, b: random.uniform(kk, (5000,), minval=a, maxval=b))
    np.testing.assert_array_equal(np.asarray(traced(k, lo, hi)), want)


def test_nextafter_matches_numpy(backend, x64):
    if backend == "opencl":
        pytest.skip("plain arithmetic whose fused form is proven equal; C and reference cover it")
    for dt in (np.float32, np.float64):
        fi = np.finfo(dt)
        x = np.concatenate([np.random.default_rng(1).normal(size=300) * 10.0 ** np.arange(-6, 6,
                                                                                         0.04),
                            [0.0, -0.0, fi.tiny, -fi.tiny, fi.smallest_subnormal, fi.max,
                             -fi.max, 1.0, -1.0, 2.0, 0.5, -np.inf, np.inf, fi.tiny * 3]])
        x = x.astype(dt)
        for up, target in ((True, np.inf), (False, -np.inf)):
            got = np.asarray(fg.jit(lambda v, up=up: random._next_toward(v, up))(fnp.asarray(x)))
            want = np.nextafter(x, dt(target))
            np.testing.assert_array_equal(got, want)


# --- eager, jit and vmap agree -----------------------------------------------------------

def test_vmap_and_jit_equal_the_loop(backend):
    """Bit-level samplers give the same bits eagerly, under vmap and under jit(vmap); the
    ones through log/exp agree within an ulp or two (a compiled loop may fuse a polynomial's
    multiply-adds or call a vectorised log that eager kernels do not)."""
    if backend == "opencl":
        pytest.skip("compiles a program per sampler: C and reference cover it")
    keys = random.split(random.PRNGKey(9), 3)
    for f, ulps in ((lambda k: random.uniform(k, (4,), minval=-1.3, maxval=2.6), 0),
                    (lambda k: random.randint(k, (4,), -5, 9), 0),
                    (lambda k: random.permutation(k, 6), 0),
                    (lambda k: random.normal(k, (4,)), 4),
                    (lambda k: random.gamma(k, 1.5, (2,)), 8)):
        if backend == "c" and ulps == 8:
            continue    # compiling nested while loops: the reference backend covers it
        loop = np.stack([np.asarray(f(k)) for k in keys])
        for out in (fg.vmap(f)(keys), fg.jit(fg.vmap(f))(keys)):
            out = np.asarray(out)
            if ulps == 0:
                np.testing.assert_array_equal(out, loop)
            else:
                np.testing.assert_array_max_ulp(out, loop, maxulp=ulps)


def test_normal_under_jit_is_one_compiled_program(backend):
    if backend != "c":
        pytest.skip("the C backend's compiled program")
    f = fg.jit(lambda k: random.normal(k, (64, 3)))
    ir = str(fg.make_ir(lambda k: random.normal(k, (64, 3)))(random.PRNGKey(0)))
    assert "while" not in ir and "sort" not in ir
    np.testing.assert_array_max_ulp(np.asarray(f(random.PRNGKey(0))),
                                    np.asarray(random.normal(random.PRNGKey(0), (64, 3))), 4)


# --- statistics of every distribution (100k samples) -------------------------------------

N = 100_000


def _moments(x):
    x = np.asarray(x, np.float64)
    return x.mean(), x.var()


def _close(got, want, tol):
    assert abs(got - want) <= tol, (got, want, tol)


@pytest.mark.parametrize("name, sample, mean, var", [
    ("exponential", lambda k: random.exponential(k, (N,)), 1.0, 1.0),
    ("laplace", lambda k: random.laplace(k, (N,)), 0.0, 2.0),
    ("logistic", lambda k: random.logistic(k, (N,)), 0.0, math.pi ** 2 / 3),
    ("lognormal", lambda k: random.lognormal(k, 0.5, (N,)), math.exp(0.125),
     (math.exp(0.25) - 1) * math.exp(0.25)),
    ("gamma", lambda k: random.gamma(k, 2.5, (N,)), 2.5, 2.5),
    ("gamma_small_a", lambda k: random.gamma(k, 0.3, (N,)), 0.3, 0.3),
    ("beta", lambda k: random.beta(k, 2.0, 3.0, (N,)), 0.4, 0.04),
    ("t", lambda k: random.t(k, 5.0, (N,)), 0.0, 5.0 / 3.0),
    ("poisson_knuth", lambda k: random.poisson(k, 3.5, (N,)), 3.5, 3.5),
    ("poisson_rejection", lambda k: random.poisson(k, 40.0, (N,)), 40.0, 40.0),
    ("rademacher", lambda k: random.rademacher(k, (N,)), 0.0, 1.0),
    ("chisquare", lambda k: random.chisquare(k, 4.0, (N,)), 4.0, 8.0),
])
def test_distribution_moments(name, sample, mean, var):
    x = np.asarray(sample(random.PRNGKey(2024)))
    assert x.shape == (N,) and np.all(np.isfinite(x))
    m, v = _moments(x)
    # 6 standard errors of the mean and (roughly, heavy tails aside) of the variance.
    _close(m, mean, 6 * math.sqrt(var / N))
    _close(v, var, 0.05 * var + 6 * var * math.sqrt(2 / N))


def test_cauchy_quantiles_and_dirichlet_mean():
    c = np.asarray(random.cauchy(random.PRNGKey(1), (N,)))
    np.testing.assert_allclose(np.percentile(c, [25, 50, 75]), [-1, 0, 1], atol=0.03)
    alpha = np.array([1.0, 2.0, 3.0], np.float32)
    d = np.asarray(random.dirichlet(random.PRNGKey(2), alpha, (N // 4,)))
    np.testing.assert_allclose(d.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(d.mean(0), alpha / alpha.sum(), atol=0.005)


def test_multivariate_normal_and_orthogonal():
    cov = np.array([[2.0, 0.3, -0.4], [0.3, 1.0, 0.2], [-0.4, 0.2, 0.7]], np.float32)
    mean = np.array([1.0, -2.0, 0.5], np.float32)
    x = np.asarray(random.multivariate_normal(random.PRNGKey(3), mean, cov, (N,)))
    np.testing.assert_allclose(x.mean(0), mean, atol=0.03)
    np.testing.assert_allclose(np.cov(x.T), cov, atol=0.03)
    q = np.asarray(random.orthogonal(random.PRNGKey(4), 5, (200,)))
    np.testing.assert_allclose(q @ np.swapaxes(q, -1, -2), np.broadcast_to(np.eye(5), q.shape),
                               atol=2e-6)
    # Haar: the mean of the matrices is 0 (E[q_ij] = 0).
    assert np.abs(q.mean(0)).max() < 0.15


def test_float16_uniform_with_bounds_rounds_each_operation_as_jax():
    """XLA computes float16 `u * (maxval - minval) + minval` operation by operation (each
    rounded to float16), as for bfloat16; funcgrad fused it into one rounding, so float16
    draws with bounds (and truncated_normal, built on them) differed from JAX's in the last
    bits. Recorded from jax 0.10.2 (float16 bit patterns)."""
    import funcgrad.numpy as fnp
    u = random.uniform(random.PRNGKey(3), (8,), fnp.float16, -0.5, 0.75)
    np.testing.assert_array_equal(np.asarray(u).view(np.uint16),
                                  [46519, 45778, 46849, 45088, 14190, 10464, 14708, 44720])
    t = random.truncated_normal(random.PRNGKey(3), -2.0, 2.0, (8,), fnp.float16)
    np.testing.assert_array_equal(np.asarray(t).view(np.uint16),
                                  [48249, 47515, 48613, 47118, 14752, 45397, 15811, 46918])


def test_bfloat16_draws_match_jax():
    """bfloat16 uniform draws use JAX's 8 random bits for a type with fewer than 8 mantissa
    bits (recorded from jax 0.10.2: jax.random.uniform(PRNGKey(3), (8,), bfloat16) and
    jax.random.gumbel(PRNGKey(5), (6,), bfloat16)); they raised before."""
    import funcgrad.numpy as fnp
    u = random.uniform(random.PRNGKey(3), (8,), dtype=fnp.bfloat16)
    assert u.dtype == fnp.bfloat16
    np.testing.assert_array_equal(
        np.asarray(u).astype(np.float32),
        [0.4921875, 0.765625, 0.8671875, 0.1875, 0.6796875, 0.390625, 0.1171875, 0.1796875])
    g = random.gumbel(random.PRNGKey(5), (6,), dtype=fnp.bfloat16)
    np.testing.assert_array_equal(
        np.asarray(g).astype(np.float32),
        [0.43359375, 0.060302734375, 0.5546875, 1.3203125, -0.515625, 2.15625])
    for draw in (random.normal, random.truncated_normal, random.exponential):
        args = (-1.0, 1.0) if draw is random.truncated_normal else ()
        x = draw(random.PRNGKey(0), *args, shape=(256,), dtype=fnp.bfloat16)
        assert x.dtype == fnp.bfloat16 and np.isfinite(np.asarray(x).astype(np.float32)).all()
