"""funcgrad.numpy against JAX's semantics where a differential run against JAX 0.10 found
them apart: integer overflow in `average` and `isclose`, `mean`/`var`/`nanmean`/`nanvar`
with an explicit `dtype=`, shifts of booleans, and the index type of `nonzero` and its
relatives under x64. Each test runs eagerly and under `jit`, on every backend where the
functions lower to several primitives. The expected values are literals (JAX's outputs) or
NumPy's where NumPy agrees with JAX; JAX itself is not imported (CI does not install it)."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.tree import tree_map


@pytest.fixture(params=["eager", "jit"])
def mode(request):
    return request.param


def run(mode, f, *args):
    """f(*args) eagerly or jitted; NumPy results (pytrees of arrays)."""
    g = f if mode == "eager" else fg.jit(f)
    return tree_map(np.asarray, g(*[fnp.asarray(a) for a in args]))


def composite(backend, mode):
    """Eager OpenCL compiles one kernel per primitive (seconds each on PoCL): these
    compositions run there under jit only, as in test_semantics."""
    if backend == "opencl" and mode == "eager":
        pytest.skip("composite: eager OpenCL compiles each primitive on its own")


def same(got, want, err=""):
    """Same dtype, shape and values (NaN where NaN)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, f"{err}: dtype {got.dtype}, want {want.dtype}"
    assert got.shape == want.shape, f"{err}: shape {got.shape}, want {want.shape}"
    np.testing.assert_array_equal(got, want, err_msg=err)


I32_MAX = np.iinfo(np.int32).max


def test_average_with_integer_weights_does_not_wrap(backend, mode):
    """JAX promotes values and weights to their inexact type before multiplying them
    (int32 max * 1 + ... no longer wraps to -5.4e8); the returned weight sum is float too."""
    composite(backend, mode)
    x = np.array([I32_MAX, 1, 4], np.int32)
    w = np.array([1, 2, 1], np.int32)
    avg, wsum = run(mode, lambda a, b: fnp.average(a, weights=b, returned=True), x, w)
    want = np.average(x.astype(np.float32), weights=w.astype(np.float32))
    same(avg, np.float32(want), "average")
    assert avg > 5e8
    same(wsum, np.float32(4), "sum of weights")
    # 1-d weights along an axis, bool weights
    x2 = np.array([[I32_MAX, 1], [4, 6]], np.int32)
    got = run(mode, lambda a, b, c: (fnp.average(a, axis=0, weights=b),
                                     fnp.average(c, weights=np.array([True, False, True]))),
              x2, np.array([1, 1], np.int32), np.array([1, 2, 4], np.int32))
    same(got[0], np.average(x2.astype(np.float32), axis=0, weights=[1.0, 1.0]).astype(
        np.float32), "average along axis 0")
    same(got[1], np.float32(2.5), "bool weights")


def test_mean_var_std_with_an_integer_dtype(backend, mode):
    """JAX's mean with dtype=int8 sums in int8 and divides (truncating) by an int8 count;
    its var with an integer dtype divides as integers and its final NaN where (count <= 0)
    makes the result the default float; std with an integer dtype is a ValueError. Before,
    these raised 'div: operand dtypes must be equal'. An int32 mean sums in float (no
    wraparound of two int32 maxima)."""
    composite(backend, mode)
    i = np.array([1, 2, 4], np.int32)
    f = np.array([1.5, 2.5, 4.0], np.float32)
    got = run(mode, lambda a, b, c: (
        fnp.mean(a, dtype=fnp.int8), fnp.mean(a, dtype=fnp.int32),
        fnp.mean(a, dtype=fnp.int8, where=np.array([True, False, True])),
        fnp.var(a, dtype=fnp.int8), fnp.var(a, dtype=fnp.int32), fnp.var(b, dtype=fnp.int32),
        fnp.var(a, dtype=fnp.int32, ddof=3), fnp.mean(c)),
        i, f, np.array([I32_MAX, I32_MAX], np.int32))
    want = (np.int8(2), np.int32(2), np.int8(2), np.float32(1), np.float32(1), np.float32(1),
            np.float32(np.nan), np.float32(I32_MAX))
    for k, (g, w) in enumerate(zip(got, want)):
        same(g, w, f"output {k}")
    with pytest.raises(ValueError, match="inexact"):
        run(mode, lambda a: fnp.std(a, dtype=fnp.int32), i)


def test_isclose_of_integers_compares_in_float(backend, mode):
    """JAX and NumPy compare integers in float (1000000 and 1000001 are within rtol; it
    was exact equality); an infinite b is close only to the same infinity (-inf and inf
    were 'close', |a - b| = inf <= inf)."""
    composite(backend, mode)
    a = np.array([1000000, 5, 0], np.int32)
    b = np.array([1000001, 6, 0], np.int32)
    c = np.array([-np.inf, 1.0, np.inf, np.inf, np.nan], np.float32)
    d = np.array([np.inf, np.inf, np.inf, 1.0, np.nan], np.float32)
    got = run(mode, lambda x, y, u, v: (
        fnp.isclose(x, y), fnp.allclose(x[:1], y[0]), fnp.allclose(x, y), fnp.isclose(u, v),
        fnp.isclose(u, v, equal_nan=True), fnp.isclose(x != 0, y != 0)), a, b, c, d)
    same(got[0], np.isclose(a, b), "int32")
    same(got[1], np.True_, "allclose")
    same(got[2], np.False_, "allclose, one apart")
    same(got[3], np.isclose(c, d), "infinities")
    same(got[4], np.isclose(c, d, equal_nan=True), "infinities, equal_nan")
    same(got[5], np.array([True, True, True]), "bool")


@pytest.mark.parametrize("name", ["left_shift", "bitwise_left_shift", "right_shift",
                                  "bitwise_right_shift"])
def test_shifts_of_booleans_are_int32(backend, mode, name):
    """JAX shifts booleans as int32 (promote_args_numeric): True << True is 2, True >> True
    0. Eager gave bool [True, True] and jit bool [False, True]."""
    a = np.array([True, True, False])
    b = np.array([True, False, True])
    got = run(mode, getattr(fnp, name), a, b)
    ia, ib = a.astype(np.int32), b.astype(np.int32)
    want = (ia << ib) if "left" in name else (ia >> ib)
    same(got, want, name)
    same(run(mode, lambda x, y: x << y, a, b), ia << ib, "<<")


def test_nonzero_family_returns_the_default_int_under_x64(backend, mode, x64):
    """Under x64 JAX's nonzero, where(c), argwhere and flatnonzero give int64 indices (the
    default integer type; they were int32), and nonzero with size= and fill_value= works
    (it raised 'lt: operand dtypes must be equal, got int32, int64')."""
    composite(backend, mode)
    x = np.array([[0.0, 1.0], [2.0, 0.0]], np.float32)
    got = run(mode, lambda v: (fnp.nonzero(v, size=3, fill_value=-1),
                               fnp.where(v, size=3, fill_value=-1),
                               fnp.argwhere(v, size=3, fill_value=-1),
                               fnp.flatnonzero(v, size=3, fill_value=-1),
                               fnp.nonzero(v, size=1)), x)
    rows, cols = np.array([0, 1, -1], np.int64), np.array([1, 0, -1], np.int64)
    for k in (0, 1):
        same(got[k][0], rows, f"output {k} rows")
        same(got[k][1], cols, f"output {k} cols")
    same(got[2], np.stack([rows, cols], -1), "argwhere")
    same(got[3], np.array([1, 2, -1], np.int64), "flatnonzero")
    same(got[4][0], np.array([0], np.int64), "size=1")
    if mode == "eager":
        for r, w in zip(fnp.nonzero(x), np.nonzero(x)):
            same(r, w.astype(np.int64), "nonzero without size")
        same(fnp.where(x)[1], np.nonzero(x)[1].astype(np.int64), "where(c)")
        same(fnp.argwhere(x), np.argwhere(x).astype(np.int64), "argwhere without size")
        same(fnp.flatnonzero(x), np.flatnonzero(x).astype(np.int64), "flatnonzero")


def test_nanmean_nanvar_honour_dtype(backend, mode):
    """nanmean/nanvar compute in `dtype` when given (JAX): nanmean([1.5, nan, 2.5],
    dtype=int8) is int8 1 (the int8 sum 3 over the count 2), nanvar of [1.5, nan, 4.5] as
    int8 (the NaN cast to 0, then no NaN left: [1, 0, 4]) is int8 3; they were float32.
    nanstd with an integer dtype raises, as JAX's square root of an integer does."""
    composite(backend, mode)
    got = run(mode, lambda a, b, c: (
        fnp.nanmean(a, dtype=fnp.int8), fnp.nanvar(b, dtype=fnp.int8),
        fnp.nanmean(c, dtype=fnp.int8), fnp.nanvar(c, dtype=fnp.int32),
        fnp.nanmean(a, dtype=fnp.float16), fnp.nansum(a, dtype=fnp.int8)),
        np.array([1.5, np.nan, 2.5], np.float32), np.array([1.5, np.nan, 4.5], np.float32),
        np.array([1, 2, 4], np.int32))
    want = (np.int8(1), np.int8(3), np.int8(2), np.int32(1), np.float16(2), np.int8(3))
    for k, (g, w) in enumerate(zip(got, want)):
        same(g, w, f"output {k}")
    with pytest.raises(TypeError, match="inexact"):
        run(mode, lambda a: fnp.nanstd(a, dtype=fnp.int8), np.array([1.5, np.nan]))


def _dtypes_and_values(got, want, rtol=1e-6):
    """Each result has the dtype named in `want` ({name: (dtype, value)}) and its value."""
    for name, (dt, value) in want.items():
        g = np.asarray(got[name])
        assert g.dtype == np.dtype(dt), f"{name}: dtype {g.dtype}, want {dt}"
        np.testing.assert_allclose(g, np.asarray(value, np.float64), rtol=rtol,
                                   err_msg=name)


def _int_to_float_ops(x, y):
    import funcgrad.nn as fnn
    import funcgrad.scipy.special as fss
    return {
        "divide": x / y, "true_divide": fnp.true_divide(x, 2), "sqrt": fnp.sqrt(x),
        "exp": fnp.exp(x), "arctan2": fnp.arctan2(x, y), "hypot": fnp.hypot(x, y),
        "mean": fnp.mean(x), "var": fnp.var(x), "std": fnp.std(x),
        "median": fnp.median(x), "quantile": fnp.quantile(x, 0.25),
        "percentile": fnp.percentile(x, 25), "nanmean": fnp.nanmean(x),
        "average": fnp.average(x, weights=y), "cov": fnp.cov(x),
        "linspace": fnp.linspace(x[0], x[-1], 3), "erf": fss.erf(x),
        "logsumexp": fnn.logsumexp(x), "sigmoid": fnn.sigmoid(x),
    }


def _int_to_float_want(dt):
    x, y = np.array([1, 4, 2, 3], np.float64), np.array([2, 1, 1, 2], np.float64)
    from math import erf
    lse = np.log(np.sum(np.exp(x)))
    vals = {
        "divide": x / y, "true_divide": x / 2, "sqrt": np.sqrt(x), "exp": np.exp(x),
        "arctan2": np.arctan2(x, y), "hypot": np.hypot(x, y), "mean": 2.5,
        "var": np.var(x), "std": np.std(x), "median": 2.5,
        "quantile": np.quantile(x, 0.25), "percentile": np.percentile(x, 25),
        "nanmean": 2.5, "average": np.average(x, weights=y), "cov": np.cov(x),
        "linspace": [1.0, 2.0, 3.0], "erf": [erf(v) for v in x], "logsumexp": lse,
        "sigmoid": 1 / (1 + np.exp(-x)),
    }
    return {k: (dt, v) for k, v in vals.items()}


@pytest.mark.parametrize("int_dtype", [np.int32, np.int8, np.uint8, np.uint32, np.bool_])
def test_narrow_ints_become_float32_under_x64(backend, mode, x64, int_dtype):
    """JAX's to_inexact rule: under x64 an integer or bool of 32 bits or fewer computes
    as float32, not the default float64 (int32 / int32, sqrt, mean, var, median,
    quantile, average, cov, linspace, scipy.special, nn: they gave float64)."""
    composite(backend, mode)
    x, y = np.array([1, 4, 2, 3]), np.array([2, 1, 1, 2])
    if int_dtype is np.bool_:
        x, y = np.array([1, 0, 1, 1]), np.array([1, 1, 1, 1])
    x, y = x.astype(int_dtype), y.astype(int_dtype)
    got = run(mode, _int_to_float_ops, x, y)
    if int_dtype is np.bool_:
        # bool / 2: bool with a weak Python int is a weak int64, hence float64 (JAX)
        assert got.pop("true_divide").dtype == np.float64
        for name, g in got.items():
            assert g.dtype == np.float32, f"{name}: dtype {g.dtype}, want float32"
    else:
        _dtypes_and_values(got, _int_to_float_want(np.float32))


def test_int64_becomes_float64_under_x64(backend, mode, x64):
    """int64 (and a Python int, int64 under x64) still computes in the default float."""
    composite(backend, mode)
    x, y = np.array([1, 4, 2, 3], np.int64), np.array([2, 1, 1, 2], np.int64)
    got = run(mode, _int_to_float_ops, x, y)
    _dtypes_and_values(got, _int_to_float_want(np.float64), rtol=1e-12)
    r = fnp.sqrt(2)
    assert r.dtype == np.float64 and r.weak_type, (r.dtype, r.weak_type)
    r = fnp.sqrt(True)                     # a Python bool is strong (bool), as in JAX
    assert r.dtype == np.float32 and not r.weak_type, (r.dtype, r.weak_type)
    assert fnp.linspace(0, 4, 3).dtype == np.float64
    assert fnp.angle(np.int32(3)).dtype == np.float64      # JAX's angle: the default float


def test_ints_become_float32_without_x64(backend, mode):
    """Without x64 every integer input still computes as float32."""
    composite(backend, mode)
    for dt in (np.int32, np.uint8, np.int64):
        x, y = np.array([1, 4, 2, 3], dt), np.array([2, 1, 1, 2], dt)
        got = run(mode, _int_to_float_ops, x, y)
        _dtypes_and_values(got, _int_to_float_want(np.float32))


# --- found by the JAX differential suite (tests/jaxdiff) ------------------------------------

def test_cumprod_with_dtype_bool_is_a_running_and():
    x = np.array([[1, 0], [2, 3]], np.int32)
    want = np.cumprod(x, axis=0, dtype=bool)          # JAX's too
    for f in (fnp.cumprod, fnp.nancumprod, fnp.cumulative_prod):
        got = f(x, axis=0, dtype=bool)
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(np.asarray(got), want)
        np.testing.assert_array_equal(
            np.asarray(fg.jit(lambda v, f=f: f(v, axis=0, dtype=bool))(x)), want)


def test_fmod_of_bools_computes_in_the_default_integer_type():
    b = np.array([True, False, True])
    for got in (fnp.fmod(b, ~b), fg.jit(fnp.fmod)(b, ~b), fnp.fmod(b, True)):
        assert got.dtype == np.int32
    np.testing.assert_array_equal(np.asarray(fnp.fmod(b, True)), [0, 0, 0])


def test_roll_by_a_traced_shift():
    a = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    f = fg.jit(lambda a, s: fnp.roll(a, s, axis=1))
    for s in (-5, 0, 3, 7):
        np.testing.assert_array_equal(np.asarray(f(a, np.int32(s))), np.roll(a, s, axis=1))
    g = fg.jit(lambda a, s: fnp.roll(a, s, axis=(0, 1)))
    np.testing.assert_array_equal(np.asarray(g(a, np.array([1, -2], np.int32))),
                                  np.roll(a, (1, -2), axis=(0, 1)))
    np.testing.assert_array_equal(np.asarray(fg.jit(fnp.roll)(a, np.int32(5))), np.roll(a, 5))
    # its derivative moves the cotangent back
    w = np.arange(3.0, dtype=np.float32)[:, None]
    d = fg.grad(lambda a, s: fnp.sum(fnp.roll(a, s, axis=0) * w))(a, np.int32(1))
    np.testing.assert_array_equal(np.asarray(d), np.roll(np.broadcast_to(w, a.shape), -1, 0))
    with pytest.raises(TypeError, match="roll"):
        fg.jit(lambda a, s: fnp.roll(a, s, axis=1))(a, np.float32(1.0))


# --- x64 dtypes JAX gives apart from the to_inexact rule (tests/jaxdiff SUSPECTED) ---------

_INT_AND_BOOL = [np.int32, np.int8, np.uint8, np.int16, np.uint32, np.bool_]


@pytest.mark.parametrize("int_dtype", _INT_AND_BOOL)
def test_rint_of_integers_gives_the_default_float(mode, x64, int_dtype):
    """JAX's rint converts an integer or bool to the default float (float64 under x64,
    strong), not to to_inexact's float32."""
    x = np.array([0, 1, 1, 0]).astype(int_dtype)
    got = run(mode, fnp.rint, x)
    same(got, x.astype(np.float64), "rint")
    r = fnp.rint(3)                          # a weak int: a strong float64, as JAX
    assert r.dtype == np.float64 and not r.weak_type, (r.dtype, r.weak_type)


def test_rint_of_integers_without_x64_is_float32(mode):
    got = run(mode, fnp.rint, np.array([1, -2, 3], np.int32))
    same(got, np.array([1.0, -2.0, 3.0], np.float32), "rint")


_ACTIVATIONS_OF_INT = {   # JAX 0.10's values for [0, 1, -1, 2, 5, -5]
    "elu": [0.0, 1.0, -0.6321205588285577, 2.0, 5.0, -0.9932620530009145],
    "selu": [0.0, 1.0507009873554805, -1.1113307378125625, 2.101401974710961,
             5.253504936777402, -1.7462533606696203],
    "sparse_plus": [0.25, 1.0, 0.0, 2.0, 5.0, 0.0],
    "sparse_sigmoid": [0.5, 1.0, 0.0, 1.0, 1.0, 0.0],
}


@pytest.mark.parametrize("name", sorted(_ACTIVATIONS_OF_INT))
@pytest.mark.parametrize("use_x64", [False, True])
def test_activations_of_int32_give_a_weak_default_float(mode, name, use_x64):
    """JAX's elu/selu/sparse_plus/sparse_sigmoid meet an int32 x with Python floats: a weakly
    typed default float (float64 under x64, float32 without), not to_inexact's float32."""
    import funcgrad.nn as fnn
    f = getattr(fnn, name)
    x = np.array([0, 1, -1, 2, 5, -5], np.int32)
    want_dt = np.float64 if use_x64 else np.float32
    with fg.config.enable_x64(use_x64):
        r = (f if mode == "eager" else fg.jit(f))(fnp.asarray(x))
        assert r.dtype == want_dt, (name, r.dtype)
        if mode == "eager":
            assert r.weak_type, name
        np.testing.assert_allclose(np.asarray(r), _ACTIVATIONS_OF_INT[name],
                                   rtol=1e-12 if use_x64 else 1e-6)
        # a float32 input stays float32, strongly typed
        r = f(fnp.asarray(x.astype(np.float32)))
        assert r.dtype == np.float32 and not r.weak_type, (name, r.dtype)


@pytest.mark.parametrize("use_x64", [False, True])
def test_integer_arithmetic_of_bools_is_int32(mode, use_x64):
    """JAX's promote_dtypes_numeric takes bool to int32 whether or not x64 is on (not to
    the default integer): square, floor_divide, remainder, mod, divmod, power, fmod of
    bools and bool ** 2 give int32; bool * 2 (a weak Python int) stays the default int."""
    a = np.array([True, False, True])
    b = np.array([[True], [False]])
    ops = {
        "square": (lambda x, y: fnp.square(x), [1, 0, 1]),
        "floor_divide": (lambda x, y: fnp.floor_divide(x, y[0]), [1, 0, 1]),
        "remainder": (lambda x, y: fnp.remainder(x, y[0]), [0, 0, 0]),
        "mod": (lambda x, y: fnp.mod(x, y[0]), [0, 0, 0]),
        "divmod": (lambda x, y: fnp.divmod(x, y[0])[0], [1, 0, 1]),
        "divmod_r": (lambda x, y: fnp.divmod(x, y[0])[1], [0, 0, 0]),
        "power": (lambda x, y: fnp.power(x, y), [[1, 0, 1], [1, 1, 1]]),
        "fmod": (lambda x, y: fnp.fmod(x, y[0]), [0, 0, 0]),
        "power2": (lambda x, y: fnp.power(x, 2), [1, 0, 1]),
        "pow_op": (lambda x, y: x ** 2, [1, 0, 1]),
    }
    with fg.config.enable_x64(use_x64):
        for name, (f, want) in ops.items():
            got = run(mode, f, a, b)
            same(got, np.array(want, np.int32), name)
        assert (fnp.asarray(a) * 2).dtype == (np.int64 if use_x64 else np.int32)


@pytest.mark.parametrize("use_x64", [False, True])
def test_index_and_default_dtypes_under_x64(mode, use_x64):
    """JAX 0.10's dtypes: lexsort, bincount (without weights) and indices give the default
    integer (int64 under x64); ravel_multi_index the indices' type with a weak int (int32
    indices give int32, int8 ones int8); tri float32 without dtype even under x64 (eye and
    identity the default float)."""
    di = np.int64 if use_x64 else np.int32
    df = np.float64 if use_x64 else np.float32
    k1, k2 = np.array([3, 1, 2, 1], np.int32), np.array([0, 1, 0, 0], np.int32)
    cases = {
        "lexsort": (lambda: fnp.lexsort((fnp.asarray(k1), fnp.asarray(k2))),
                    np.lexsort((k1, k2)).astype(di)),
        "bincount": (lambda: fnp.bincount(fnp.asarray(k1), length=5),
                     np.array([0, 2, 1, 1, 0], di)),
        "indices": (lambda: fnp.indices((2, 3)), np.indices((2, 3)).astype(di)),
        "indices sparse": (lambda: fnp.indices((2, 3), sparse=True)[1],
                           np.arange(3, dtype=di)[None, :]),
        "ravel_multi_index i32": (
            lambda: fnp.ravel_multi_index((fnp.asarray(k1), fnp.asarray(k2)), (4, 2),
                                          mode="clip"),
            np.array([6, 3, 4, 2], np.int32)),
        "ravel_multi_index i8": (
            lambda: fnp.ravel_multi_index((fnp.asarray(k1.astype(np.int8)),
                                           fnp.asarray(k2.astype(np.int8))), (4, 2),
                                          mode="wrap"),
            np.array([6, 3, 4, 2], np.int8)),
        "tri": (lambda: fnp.tri(2, 3), np.tri(2, 3, dtype=np.float32)),
        "eye": (lambda: fnp.eye(2), np.eye(2, dtype=df)),
    }
    with fg.config.enable_x64(use_x64):
        for name, (f, want) in cases.items():
            got = np.asarray(f() if mode == "eager" else fg.jit(f)())
            same(got, want, name)
        assert fnp.bincount(np.array([0, 1, 1])).dtype == di          # concrete length
        assert fnp.lexsort([fnp.asarray(1)]).dtype == di              # 0-d keys: 0


@pytest.mark.parametrize("use_x64", [False, True])
def test_integer_linspace_logspace_geomspace_compute_in_the_dtypes_inexact_type(mode,
                                                                                use_x64):
    """With an integer dtype JAX's linspace, logspace and geomspace compute in that dtype's
    inexact type (float32 for int32 under x64 too), whatever the endpoints' types; under
    x64 funcgrad took Python ints to float64, and geomspace(1, 1000, 4, dtype=int32)
    truncated float64's 9.999999999999998 to 9 (JAX's and NumPy's: 10)."""
    i32 = np.int32
    cases = {
        "geomspace": (lambda: fnp.geomspace(1, 1000, 4, dtype=i32), [1, 10, 100, 1000]),
        "geomspace 2..512": (lambda: fnp.geomspace(2, 512, 5, dtype=i32), [2, 8, 31, 127, 512]),
        "geomspace neg": (lambda: fnp.geomspace(-1, -1000, 4, dtype=i32),
                          [-1, -10, -100, -1000]),
        "linspace": (lambda: fnp.linspace(0, 100000001, 3, dtype=i32),
                     [0, 50000000, 100000000]),
        "linspace step": (lambda: fnp.linspace(0, 10, 7, dtype=i32), [0, 1, 3, 5, 6, 8, 10]),
        "logspace": (lambda: fnp.logspace(0, 9.0000001, 2, dtype=i32), [1, 1000000000]),
    }
    with fg.config.enable_x64(use_x64):
        for name, (f, want) in cases.items():
            got = f() if mode == "eager" else fg.jit(f)()
            same(got, np.array(want, i32), name)
        _, step = fnp.linspace(0, 10, 7, dtype=i32, retstep=True)
        assert step.dtype == np.float32 and float(step) == 1.6666667461395264


def test_int64_geomspace_and_float64_log10_under_x64(x64):
    """log10 is log(x) * (1 / ln 10), as JAX's (float64 log10(2.0) and log10(1000.0) come
    out correctly rounded; log(x) / ln 10 gave 0.30102999566398114 and powers of ten just
    below the integers). An int64 geomspace computes in float64: NumPy's [1, 10, 100, 1000]
    (JAX 0.10's jitted float64 powers give [1, 9, 99, 1000])."""
    assert float(fnp.log10(np.float64(2.0))) == 0.3010299956639812
    assert float(fnp.log10(np.float64(1000.0))) == 3.0
    same(fnp.geomspace(1, 1000, 4, dtype=np.int64), np.array([1, 10, 100, 1000], np.int64),
         "geomspace int64")
    same(fnp.geomspace(2, 512, 3, dtype=np.int64), np.array([2, 32, 512], np.int64),
         "geomspace int64 2..512")
