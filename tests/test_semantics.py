"""Values funcgrad must get right on every backend (issue 9, "never silently wrong"):
special values (NaN, +-inf, signed zeros, subnormals, integer extremes, empty arrays) through
elementwise ops and reductions, eager and under `jit`, against NumPy -- or against JAX's
documented semantics where the two differ (listed in each test's docstring)."""
from __future__ import annotations

import functools
import math
import os
import warnings

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.tree import tree_map

NAN, INF = np.nan, np.inf


@pytest.fixture(params=["eager", "jit"])
def mode(request):
    return request.param


def run(mode, f, *args):
    """f(*args) eagerly or jitted; NumPy results (pytrees of arrays)."""
    g = f if mode == "eager" else fg.jit(f)
    out = g(*[fnp.asarray(a) for a in args])
    return tree_map(np.asarray, out)


def assert_same(got, want, rtol=0.0, zero_sign=True, err="", atol=0.0):
    """Same dtype and shape; NaN where NaN; equal (within rtol, atol for finite values);
    zeros of the same sign when `zero_sign`."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, f"{err}: dtype {got.dtype}, want {want.dtype}"
    assert got.shape == want.shape, f"{err}: shape {got.shape}, want {want.shape}"
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(got, want, err_msg=err)
        return
    g, w = got.astype(np.float64), want.astype(np.float64)
    ok = (np.isnan(g) & np.isnan(w)) | (g == w)
    if rtol or atol:
        # One ulp apart counts as close, also across the overflow threshold (max vs inf).
        with np.errstate(all="ignore"):
            ok |= got == np.nextafter(want, got)
    if rtol or atol:
        fin = np.isfinite(g) & np.isfinite(w)
        ok |= fin & (np.abs(g - w) <= rtol * np.abs(w) + atol)
    if zero_sign:
        ok &= ~((g == 0) & (w == 0) & (np.signbit(g) != np.signbit(w)))
    bad = np.flatnonzero(~ok.ravel())
    assert bad.size == 0, (f"{err}: {bad.size} of {ok.size} differ; first at flat index "
                           f"{bad[:5].tolist()}: got {g.ravel()[bad[:5]]}, want "
                           f"{w.ravel()[bad[:5]]}")


def composite(backend, mode):
    """Skip eager mode on OpenCL for a test of composite functions: eager OpenCL compiles
    one kernel per primitive (seconds each on PoCL, cold in CI) from the same lowering rules
    jit uses; the primitives whose rules changed run eagerly there in
    test_changed_primitives_eager."""
    if backend == "opencl" and mode == "eager":
        pytest.skip("composite: its primitives run eagerly on OpenCL in "
                    "test_changed_primitives_eager")


def special_floats(dtype):
    fi = np.finfo(dtype)
    return np.array([NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -2.5, 3.0, -3.0,
                     0.1, 7.0, -7.5, 100.0, float(fi.smallest_subnormal),
                     -float(fi.smallest_subnormal), float(fi.tiny), float(fi.max),
                     -float(fi.max)], dtype)


def pairs(v):
    a, b = np.meshgrid(v, v, indexing="ij")
    return a.ravel(), b.ravel()


def quiet(f, *args):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return f(*args)


# ---------------------------------------------------------------------------------------
# NaN-ignoring max/min, hypot


def test_fmax_fmin_ignore_nan(backend, mode, x64):
    """fmax/fmin return the other operand where one is NaN (NaN only when both are)."""
    composite(backend, mode)
    a, b = pairs(special_floats(np.float32))
    c, d = pairs(special_floats(np.float64))
    got = run(mode, lambda x, y, z, w: (fnp.fmax(x, y), fnp.fmin(x, y), fnp.fmax(z, w),
                                        fnp.fmin(z, w)), a, b, c, d)
    assert_same(got[0], np.fmax(a, b), zero_sign=False, err="fmax")
    assert_same(got[1], np.fmin(a, b), zero_sign=False, err="fmin")
    assert_same(got[2], np.fmax(c, d), zero_sign=False, err="fmax float64")
    assert_same(got[3], np.fmin(c, d), zero_sign=False, err="fmin float64")
    assert not np.isnan(got[0][np.isnan(a) & ~np.isnan(b)]).any()


def test_add_and_multiply_of_booleans_are_logical(backend, mode):
    """NumPy and JAX: bool + bool is logical or, bool * bool logical and, both bool (a JAX
    port's `mask_a + mask_b` and `(x > lo) * (x < hi)` raised TypeError); a Python int makes
    it int32; subtracting booleans is a TypeError, as in both."""
    a = np.array([True, False, True, False])
    b = np.array([True, True, False, False])
    got = run(mode, lambda x, y: (x + y, x * y, fnp.add(x, True), fnp.multiply(x, y),
                                  x * 1), a, b)
    for g, want in zip(got, (a | b, a & b, np.ones(4, bool), a & b, a.astype(np.int32))):
        assert g.dtype == want.dtype, (g.dtype, want.dtype)
        np.testing.assert_array_equal(g, want)
    with pytest.raises(TypeError, match="sub"):
        run(mode, lambda x, y: x - y, a, b)


def _hypot_inputs(dtype):
    a, b = pairs(special_floats(dtype))
    big = np.finfo(dtype).max / 4
    a = np.concatenate([a, np.array([3e19, big, 3e-30, 0.0], dtype)])
    b = np.concatenate([b, np.array([4e19, big, 4e-30, 0.0], dtype)])
    return a, b


def test_hypot_no_overflow_and_inf_beats_nan(backend, mode, x64):
    """hypot is scaled (no overflow of the squares: float32 3e19, 4e19 gives 5e19) and is
    inf for (inf, NaN) as C99/NumPy."""
    composite(backend, mode)
    (a, b), (c, d) = _hypot_inputs(np.float32), _hypot_inputs(np.float64)
    got = run(mode, lambda x, y, z, w: (fnp.hypot(x, y), fnp.hypot(z, w)), a, b, c, d)
    assert_same(got[0], quiet(np.hypot, a, b), rtol=4 * np.finfo(np.float32).eps, err="f32")
    assert_same(got[1], quiet(np.hypot, c, d), rtol=4 * np.finfo(np.float64).eps, err="f64")


# ---------------------------------------------------------------------------------------
# median / quantile


def test_median_propagates_nan_and_keeps_float32(backend, mode, x64):
    """median is NaN for a slice with a NaN (NumPy and JAX); float32 stays float32 (JAX) and
    integers give the default float type (JAX)."""
    composite(backend, mode)
    x = np.arange(10, dtype=np.float32)
    y = np.array([[1, NAN, 3], [4, 2, 9], [INF, 1, -INF]], np.float32)
    z = np.array([[1.0, INF], [3.0, 5.0]], np.float64)
    i = np.array([3, 1, 2, 10], np.int32)
    got = run(mode, lambda v, w, u, k: (
        fnp.median(v.reshape(5, 2), axis=1), fnp.median(w, axis=1), fnp.median(w),
        fnp.quantile(w, 0.25, axis=1), fnp.median(u, axis=1), fnp.median(k)), x, y, z, i)
    assert_same(got[0], np.median(x.reshape(5, 2), axis=1), err="median axis=1")
    assert_same(got[1], quiet(np.median, y, 1), err="median with NaN")
    assert_same(got[2], np.float32(NAN), err="median of all")
    assert_same(got[3], quiet(np.quantile, y, 0.25, 1).astype(np.float32), err="quantile")
    assert_same(got[4], np.median(z, axis=1), err="median with inf")
    # int32 gives float32 even in x64 mode (JAX's to_inexact; int64 gives the default float)
    assert_same(got[5], np.float32(2.5), err="median of int32")


# ---------------------------------------------------------------------------------------
# Empty reductions


def test_reductions_of_empty_arrays(backend, mode):
    """any/all of nothing are False/True, sum/prod 0/1, max/min with initial= give it."""
    composite(backend, mode)
    e = np.zeros((0,), np.float32)
    e2 = np.zeros((3, 0), np.float32)
    got = run(mode, lambda x, y: (fnp.any(x), fnp.all(x), fnp.sum(x), fnp.prod(x),
                                  fnp.any(y, axis=1), fnp.all(y, axis=1),
                                  fnp.max(x, initial=-2.0), fnp.min(y, axis=1, initial=5.0)),
              e, e2)
    want = (np.False_, np.True_, np.float32(0), np.float32(1), np.zeros(3, bool),
            np.ones(3, bool), np.float32(-2), np.full(3, 5, np.float32))
    for k, (g, w) in enumerate(zip(got, want)):
        assert_same(g, w, err=f"output {k}")


@pytest.mark.core
@pytest.mark.parametrize("name", ["max", "min", "amax", "nanmax", "ptp", "argmax"])
def test_max_of_empty_raises_clearly(name):
    """As NumPy and JAX: a max/min over an empty axis without initial= has no value."""
    with pytest.raises(ValueError, match="zero-size|empty"):
        getattr(fnp, name)(fnp.zeros((2, 0)), axis=1)
    with pytest.raises(ValueError, match="zero-size|empty"):
        fg.jit(lambda x: getattr(fnp, name)(x))(fnp.zeros((0,)))


# ---------------------------------------------------------------------------------------
# floor_divide / remainder / divmod


def test_float_floor_divide_remainder_divmod_match_numpy(backend, mode, x64):
    """Python's semantics, from fmod as NumPy computes them: 1.0 // 0.1 == 9.0 (not
    floor(1.0 / 0.1) == 10.0), inf // 2 is NaN, -1 % inf is inf, zero results signed as
    NumPy; JAX follows NumPy here."""
    composite(backend, mode)
    ins = []
    for dtype in (np.float32, np.float64):
        a, b = pairs(special_floats(dtype))
        ins.append(np.concatenate([a, np.array([1.0, 5.0, -5.0, 0.7], dtype)]))
        ins.append(np.concatenate([b, np.array([0.1, 0.3, 0.3, -0.1], dtype)]))
    got = run(mode, lambda x, y, z, w: ((x // y, x % y, fnp.divmod(x, y)),
                                        (z // w, z % w, fnp.divmod(z, w))), *ins)
    for (a, b), out in zip((ins[:2], ins[2:]), got):
        want_q, want_r = quiet(np.floor_divide, a, b), quiet(np.remainder, a, b)
        err = str(a.dtype)
        assert_same(out[0], want_q, err=f"floor_divide {err}")
        assert_same(out[1], want_r, err=f"remainder {err}")
        assert_same(out[2][0], want_q, err=f"divmod quotient {err}")
        assert_same(out[2][1], want_r, err=f"divmod remainder {err}")
        assert out[0][-4] == 9.0


def _trunc_div(x, y):
    """C's truncating division in Python ints; 0 for a zero divisor."""
    if y == 0:
        return 0
    q = abs(x) // abs(y)
    return -q if (x < 0) != (y < 0) else q


def _wrap(v, dtype):
    """`v` wrapped (two's complement) into `dtype`."""
    info = np.iinfo(dtype)
    span = 1 << info.bits
    return (v - info.min) % span + info.min


def test_remainder_gradient_at_exact_multiples(backend, mode):
    """d(x % y)/dx = 1 and d(x % y)/dy = -(x // y) (JAX's rule), also where x is an exact
    multiple of y (the signed-zero fix-ups must not zero it); x // y has zero derivative."""
    composite(backend, mode)
    x = np.array([0.0, 3.0, 5.5, -2.0, 7.0, -6.0], np.float32)
    y = np.array([3.0, 3.0, 2.0, 3.0, -2.0, -3.0], np.float32)

    def grads(a, b):
        gm = fg.grad(lambda u, v: fnp.sum(u % v), argnums=(0, 1))(a, b)
        gq = fg.grad(lambda u, v: fnp.sum(fnp.divmod(u, v)[0]), argnums=(0, 1))(a, b)
        return gm, gq

    (gx, gy), (qx, qy) = run(mode, grads, x, y)
    assert_same(gx, np.ones_like(x), err="d/dx")
    assert_same(gy, -np.floor_divide(x, y), zero_sign=False, err="d/dy")
    assert_same(qx, np.zeros_like(x), zero_sign=False, err="d(x // y)/dx")
    assert_same(qy, np.zeros_like(x), zero_sign=False, err="d(x // y)/dy")


INT_TYPES = (np.int32, np.int64, np.int8, np.uint8)


def _int_pairs(dtype):
    info = np.iinfo(dtype)
    base = [0, 1, -1, 2, -2, 7, -7, info.min, info.max, info.min + 1]
    a, b = pairs(np.array([x for x in base if info.min <= x <= info.max], dtype))
    if dtype == np.int64:
        # Above 2**53, where a division through float64 would round.
        a = np.concatenate([a, np.array([2 ** 62 + 1, -(2 ** 62) - 3, 2 ** 53 + 1], dtype)])
        b = np.concatenate([b, np.array([3, 7, 1], dtype)])
    return a, b


_TRAP_PROBE = """
import numpy as np, funcgrad as fg
from funcgrad import lax
a = np.full(4096, np.iinfo(np.int32).min, np.int32)
b = np.full(4096, -1, np.int32)
z = np.zeros(4096, np.int32)
outs = [np.asarray(f(a, y)) for f in (fg.jit(lambda x, y: (x // y, x % y, lax.div(x, y),
                                                             lax.rem(x, y))),
                                       lambda x, y: (lax.div(x, y), lax.rem(x, y)))
        for y in (b, z)]
print([int(o[0]) for out in outs for o in out])
"""


def test_int_min_by_minus_one_and_zero_do_not_trap(backend):
    """INT_MIN / -1 and x / 0 in C kill the process with SIGFPE on x86 (it did, for arrays
    of 1000 elements, jit and eager); run in a subprocess so a trap is a clean failure."""
    import subprocess
    import sys
    env = dict(os.environ, FUNCGRAD_BACKEND=backend)
    r = subprocess.run([sys.executable, "-c", _TRAP_PROBE], capture_output=True, text=True,
                       env=env, timeout=600, check=False)
    assert r.returncode == 0, f"exit {r.returncode} (SIGFPE is -8): {r.stderr[-2000:]}"
    mn = np.iinfo(np.int32).min
    assert r.stdout.split("\n")[-2] == str([mn, 0, mn, 0, 0, 0, 0, 0,
                                              mn, 0, 0, 0]), r.stdout


def test_integer_division_extremes_and_zero(backend, mode, x64):
    """INT_MIN // -1 wraps to INT_MIN and INT_MIN % -1 is 0 (C traps on both); x // 0 and
    x % 0 are 0 (NumPy's values; JAX's % gives 0 too, its // an implementation-defined
    value), on every path: //, %, divmod, fmod, lax.div, lax.rem; int64 is exact."""
    composite(backend, mode)
    ins = [v for dt in INT_TYPES for v in _int_pairs(dt)]

    def f(*xs):
        return [(x // y, x % y, fnp.divmod(x, y)[1], fnp.fmod(x, y), lax.div(x, y),
                 lax.rem(x, y)) for x, y in zip(xs[::2], xs[1::2])]

    for dtype, (a, b), got in zip(INT_TYPES, zip(ins[::2], ins[1::2]), run(mode, f, *ins)):
        with np.errstate(all="ignore"):
            want_q, want_r, want_f = np.floor_divide(a, b), np.remainder(a, b), np.fmod(a, b)
        trunc = np.array([_wrap(_trunc_div(x, y), dtype)
                          for x, y in zip(a.tolist(), b.tolist())], dtype)
        err = np.dtype(dtype).name
        assert_same(got[0], want_q, err=f"floor_divide {err}")
        assert_same(got[1], want_r, err=f"remainder {err}")
        assert_same(got[2], want_r, err=f"divmod {err}")
        assert_same(got[3], want_f, err=f"fmod {err}")
        assert_same(got[4], trunc, err=f"lax.div {err}")
        assert_same(got[5], want_f, err=f"lax.rem {err}")
        info = np.iinfo(dtype)
        if info.min < 0:
            k = np.flatnonzero((a == info.min) & (b == -1))[0]
            assert got[0][k] == info.min and got[1][k] == 0 and got[4][k] == info.min


# ---------------------------------------------------------------------------------------
# nan-aware reductions, float16 statistics


def test_nanmax_nanmin_of_all_nan_slices(backend, mode):
    """All-NaN slices give NaN (NumPy and JAX), not -inf/inf; nanargmax gives -1 there (JAX;
    NumPy raises)."""
    composite(backend, mode)
    x = np.array([[NAN, NAN, NAN], [1.0, NAN, -2.0], [INF, NAN, 0.0]], np.float32)
    m = np.array([[True, False, True], [False, False, True]])
    got = run(mode, lambda v, b: (fnp.nanmax(v, axis=1), fnp.nanmin(v, axis=1), fnp.nanmax(v),
                                  fnp.nanargmax(v, axis=1), fnp.nanargmin(v, axis=1),
                                  fnp.nanmean(b, axis=1), fnp.median(v[:0], axis=0)), x, m)
    assert_same(got[0], np.array([NAN, 1.0, INF], np.float32), err="nanmax")
    assert_same(got[1], np.array([NAN, -2.0, 0.0], np.float32), err="nanmin")
    assert_same(got[2], np.float32(INF), err="nanmax all")
    np.testing.assert_array_equal(got[3], [-1, 0, 0])
    np.testing.assert_array_equal(got[4], [-1, 2, 2])
    # nanmean of bools averages them (it summed them); the median of nothing is NaN (NumPy).
    assert_same(got[5], np.array([2 / 3, 1 / 3], np.float32), rtol=1e-6, err="nanmean bool")
    assert_same(got[6], np.full(3, NAN, np.float32), err="median of an empty axis")


def test_float16_mean_var_std_do_not_overflow(backend, mode):
    """float16 statistics accumulate in float32 and round back to float16 (as JAX); a float16
    sum of 100 x 60000 would be inf. The standard deviation is the root of the rounded
    variance, as in JAX."""
    composite(backend, mode)
    x = np.full(100, 60000, np.float16)
    rng = np.random.default_rng(0)
    y = (rng.standard_normal((4, 300)) * 1000).astype(np.float16)
    got = run(mode, lambda a, b: (fnp.mean(a), fnp.var(a), fnp.std(a),
                                  fnp.sum(fnp.ones(5000, fnp.float16)),
                                  fnp.mean(b, axis=1), fnp.std(b, axis=1)), x, y)
    assert_same(got[0], np.float16(60000), err="mean")
    assert_same(got[1], np.float16(0), err="var")
    assert_same(got[2], np.float16(0), err="std")
    assert_same(got[3], np.float16(5000), err="sum (a float16 running sum stalls at 2048)")
    y32 = y.astype(np.float32)
    assert_same(got[4], y32.mean(axis=1).astype(np.float16), rtol=1e-3, err="mean rows")
    # jnp.std is lax.sqrt(jnp.var(...)) on the float16 variance: ~1e6 here, inf in float16,
    # so JAX 0.10 gives inf (checked with JAX); only bfloat16 holds it
    assert_same(got[5], np.sqrt(y32.var(axis=1).astype(np.float16)), err="std rows")


# ---------------------------------------------------------------------------------------
# Shapes and axes


@pytest.mark.core
@pytest.mark.parametrize("make", [
    lambda: fnp.zeros((2.5, 3)), lambda: fnp.ones((2, 3.0)), lambda: fnp.empty(2.5),
    lambda: fnp.full((2.5,), 1.0), lambda: fnp.full((2.0,), 1.0, fnp.float32),
    lambda: fnp.zeros_like(fnp.ones(3), shape=(1.5,)), lambda: fnp.ones(3).reshape(1.5, 2),
    lambda: fnp.reshape(fnp.ones(6), (2.0, 3)), lambda: fnp.broadcast_to(fnp.ones(3), (2.5, 3)),
    lambda: lax.broadcast_in_dim(fnp.ones(3), (2.0, 3), (1,)), lambda: fnp.zeros("3"),
    lambda: fnp.linspace(0, 1, 2.5), lambda: fnp.split(fnp.ones(4), [1.5]),
    lambda: fnp.split(fnp.ones(4), 2.0), lambda: fnp.pad(fnp.ones(4), 1.5),
    lambda: fnp.roll(fnp.ones(4), 1.5), lambda: fnp.ones(4)[0:2.5],
    lambda: lax.slice(fnp.ones(4), (0.5,), (2,)), lambda: lax.dynamic_slice(fnp.ones(4), (0,),
                                                                            (1.5,)),
], ids=["zeros", "ones", "empty", "full", "full_dtype", "zeros_like", "method_reshape",
        "reshape", "broadcast_to", "broadcast_in_dim", "string", "linspace", "split_indices",
        "split_sections", "pad", "roll", "slice_bound", "lax_slice", "dynamic_slice"])
def test_non_integer_dimensions_raise(make):
    """NumPy and JAX refuse float sizes, indices and counts; funcgrad used to truncate
    (2.5, 3) to (2, 3)."""
    with pytest.raises(TypeError, match="integer"):
        make()


@pytest.mark.core
@pytest.mark.parametrize("call", [
    lambda: fnp.concatenate([fnp.ones(2), fnp.ones(2)], axis=1),
    lambda: fnp.concatenate([fnp.ones(2), fnp.ones(2)], axis=-2),
    lambda: fnp.stack([fnp.ones(2), fnp.ones(2)], axis=3),
    lambda: fnp.sort(fnp.ones((2, 2)), axis=3), lambda: fnp.argsort(fnp.ones(2), axis=1),
    lambda: fnp.cumsum(fnp.ones(2), axis=1), lambda: fnp.cumprod(fnp.ones(2), axis=-2),
    lambda: fnp.flip(fnp.ones(2), axis=1), lambda: fnp.take(fnp.ones(2), 0, axis=1),
    lambda: fnp.take_along_axis(fnp.ones(2), fnp.zeros(2, fnp.int32), axis=1),
    lambda: fnp.sum(fnp.ones(2), axis=1), lambda: fnp.max(fnp.ones(2), axis=2),
    lambda: fnp.argmax(fnp.ones(2), axis=1), lambda: fnp.diff(fnp.ones(3), axis=1),
    lambda: fnp.swapaxes(fnp.ones((2, 2)), 0, 2), lambda: fnp.moveaxis(fnp.ones(2), 0, 1),
    lambda: fnp.roll(fnp.ones(2), 1, axis=1), lambda: fnp.repeat(fnp.ones(2), 2, axis=1),
    lambda: fnp.split(fnp.ones(4), 2, axis=1), lambda: fnp.median(fnp.ones(3), axis=1),
    lambda: fnp.expand_dims(fnp.ones(2), 3), lambda: fnp.squeeze(fnp.ones((1, 2)), 2),
    lambda: fnp.cummax(fnp.ones(2), axis=1), lambda: fnp.tensordot(fnp.ones(2), fnp.ones(2),
                                                                   ((1,), (0,))),
    lambda: fnp.transpose(fnp.ones((2, 2)), (0, 2)), lambda: fnp.mean(fnp.ones(2), axis=-3),
], ids=lambda c: "")
def test_out_of_range_axis_raises(call):
    """Every axis argument is checked (NumPy's AxisError, a ValueError), instead of being
    reduced modulo the rank."""
    with pytest.raises(ValueError, match="out of bounds"):
        call()


@pytest.mark.core
def test_out_of_range_axis_raises_under_jit():
    with pytest.raises(ValueError, match="concatenate: axis 1 is out of bounds"):
        fg.jit(lambda a: fnp.concatenate([a, a], axis=1))(fnp.ones(2))
    with pytest.raises(TypeError, match="integer"):
        fnp.sum(fnp.ones(2), axis=0.5)


# ---------------------------------------------------------------------------------------
# pow


def _c99_pow(x, y, dtype):
    """C99 Annex F pow, via Python's math.pow (which raises where C returns NaN or inf)."""
    x, y = float(x), float(y)
    if y == 0 or x == 1:
        return 1.0
    if math.isnan(x) or math.isnan(y):
        return NAN
    try:
        r = math.pow(x, y)
    except ValueError:
        if x == 0:     # 0 ** negative: +-inf
            odd = y == math.floor(y) and abs(math.fmod(y, 2)) == 1
            return math.copysign(INF, x) if odd else INF
        return NAN     # negative ** non-integer
    except OverflowError:
        odd = y == math.floor(y) and abs(math.fmod(y, 2)) == 1
        return -INF if x < 0 and odd else INF
    return float(np.asarray(r, np.float64).astype(dtype))


def test_pow_c99_special_cases(backend, mode, x64):
    """pow follows C99 Annex F everywhere (JAX/XLA do; NumPy's array loop does, its scalar
    fast path for x ** 0.5 does not): pow(-inf, 0.5) = inf, pow(x, 0) = 1 and pow(1, y) = 1
    even for NaN, pow(-1, +-inf) = 1, negative ** non-integer = NaN, signed zeros and
    infinities for odd integer exponents."""
    ins = []
    for dtype in (np.float32, np.float64):
        xs = np.array([NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.7,
                       float(np.finfo(dtype).smallest_subnormal)], dtype)
        ys = np.array([NAN, INF, -INF, 0.0, -0.0, 0.5, -0.5, 1.0, 2.0, 3.0, -1.0, -2.0, -3.0,
                       0.3, 1e10, -1e10], dtype)
        ins.extend(m.ravel() for m in np.meshgrid(xs, ys, indexing="ij"))

    def f(x, y, z, w):
        return [(p ** q, lax.pow(p, q), p ** 0.5, p ** -0.5) for p, q in ((x, y), (z, w))]

    for (a, b), got in zip((ins[:2], ins[2:]), run(mode, f, *ins)):
        dtype = a.dtype
        want = np.array([_c99_pow(x, y, dtype) for x, y in zip(a, b)], dtype)
        rtol = 4 * np.finfo(dtype).eps
        assert_same(got[0], want, rtol=rtol, err=f"x ** y {dtype}")
        assert_same(got[1], want, rtol=rtol, err=f"lax.pow {dtype}")
        assert_same(got[2], np.array([_c99_pow(x, 0.5, dtype) for x in a], dtype), rtol=rtol,
                    err=f"x ** 0.5 (scalar exponent) {dtype}")
        assert_same(got[3], np.array([_c99_pow(x, -0.5, dtype) for x in a], dtype), rtol=rtol,
                    err=f"x ** -0.5 (scalar exponent) {dtype}")


def test_integer_powers_keep_special_values(backend, mode):
    """x ** 2, x ** 3, x ** -1, x ** 0 (integer_pow: repeated multiplication, as JAX) agree
    with pow at +-inf, NaN and signed zeros."""
    composite(backend, mode)
    x = special_floats(np.float32)
    got = run(mode, lambda v: (v ** 2, v ** 3, v ** -1, v ** 0, fnp.square(v)), x)
    for k, p in enumerate((2, 3, -1, 0)):
        want = np.array([_c99_pow(v, p, np.float32) for v in x], np.float32)
        assert_same(got[k], want, rtol=1e-6, err=f"x ** {p}")
    assert_same(got[4], quiet(np.square, x), err="square")


@pytest.mark.core
def test_integer_to_negative_integer_power_raises():
    with pytest.raises(ValueError, match="negative integer powers"):
        fnp.power(fnp.arange(3), -1)
    # lax.integer_pow raises as JAX's does (the reference gave INT_MIN for 0 ** -1 and the
    # C backend 0)
    with pytest.raises(TypeError, match=r"integers cannot be raised to negative powers.*"
                                        r"int32\[3\], -2"):
        lax.integer_pow(np.array([0, 1, 2], np.int32), -2)


def _squaring(x, y):
    """JAX's integer_pow, as its definition reads: the squarings x, x^2, x^4, ... in x's
    float type, the ones at the set bits of |y| multiplied from the lowest bit up (and 1
    over that product for y < 0)."""
    n = abs(y)
    with np.errstate(all="ignore"):
        squares = [x]
        for _ in range(n.bit_length() - 1):
            squares.append(squares[-1] * squares[-1])
        acc = functools.reduce(np.multiply, [sq for k, sq in enumerate(squares) if n >> k & 1])
        return np.float32(1) / acc if y < 0 else acc


@pytest.mark.parametrize("y", [5, 64, 101, 16777217, 2 ** 31 - 1, -3, -16777217])
def test_integer_power_with_a_large_odd_exponent(backend, mode, y):
    """x ** y (integer_pow) multiplies by repeated squaring on every backend, eagerly and
    under jit, as JAX does. The reference (and so every eager call) used np.power(x, y),
    which converts y to x's float type: 16777217 and 2^31 - 1 became even, so
    (-1.0) ** 16777217 was 1.0, and the magnitudes were pow's, not the squarings'."""
    composite(backend, mode)
    x = np.array([1.0000001, 0.9999999, -1.0, -1.0000001, 2.0, -2.0, -0.5, 0.0, -0.0,
                  np.inf, -np.inf, np.nan], np.float32)
    want = _squaring(x, y)
    got = run(mode, lambda v: lax.integer_pow(v, y), x)
    assert_same(got, want, err=f"integer_pow(x, {y})")
    if y % 2:                  # an odd power of a negative number is negative
        assert np.signbit(got[[2, 3, 5]]).all(), got


# ---------------------------------------------------------------------------------------
# Found by a differential run against JAX 0.10 (2026-12-03): clamp, arithmetic shifts of
# unsigned integers, scaled Bessel functions at huge arguments


def test_clamp_is_max_then_min_as_jax_defines_it(backend, mode):
    """lax.clamp(lo, x, hi) = min(max(x, lo), hi): where lo > hi the result is hi. funcgrad
    applied the bounds the other way round (max(min(x, hi), lo)) and gave lo there."""
    composite(backend, mode)
    x = np.array([NAN, 0.0, 5.0, -INF, INF, 1.5], np.float32)
    for lo, hi in [(2.0, -1.0), (-1.0, 2.0), (NAN, 2.0)]:
        want = np.minimum(np.maximum(x, np.float32(lo)), np.float32(hi))
        got = run(mode, lambda v, lo=lo, hi=hi: lax.clamp(np.float32(lo), v, np.float32(hi)), x)
        assert_same(got, want, err=f"clamp({lo}, x, {hi})")


def test_clamp_derivative_is_jax_s_with_none_at_a_tie(mode):
    """JAX differentiates clamp(lo, x, hi) as x where lo < x < hi, lo where x < lo < hi, hi
    where hi < x: at a tie nobody gets it (relu6-style clamp(0, x, 6) has derivative 0 at
    0 and 6). As a min/max composition funcgrad gave a tie half to each."""
    v = np.array([-1.0, 0.0, 1.0, 2.0, 3.0], np.float32)
    lo, x, hi = (a.ravel() for a in np.meshgrid(v, v, v, indexing="ij"))
    f = fg.vmap(fg.grad(lambda a, b, c: lax.clamp(a, b, c), argnums=(0, 1, 2)))
    got = (fg.jit(f) if mode == "jit" else f)(lo, x, hi)
    want = [((x < lo) & (lo < hi)), ((lo < x) & (x < hi)), (hi < x)]
    for name, g, w in zip(("min", "x", "max"), got, want):
        assert_same(np.asarray(g), w.astype(np.float32), err=f"d clamp / d {name}")
    assert_same(run(mode, lambda a, b, c: lax.clamp(a, b, c), lo, x, hi),
                np.minimum(np.maximum(x, lo), hi))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32])
def test_shift_right_arithmetic_of_unsigned_integers_shifts_their_signed_bits(backend, mode,
                                                                              dtype):
    """JAX shifts an unsigned integer arithmetically as the signed type of its width: the
    top bit fills (uint8 255 >> 1 is 255, 128 >> 1 is 192, 128 >> 8 is 255). funcgrad shifted
    it logically (127, 64, 0)."""
    composite(backend, mode)
    bits = np.iinfo(dtype).bits
    top = 1 << (bits - 1)
    x = np.array([2 * top - 1, top, top, 7, top + 5, 0, 1], dtype)
    y = np.array([1, 1, bits, 200, 3, bits + 1, 0], dtype)
    signed = np.dtype(f"int{bits}")
    want = (x.view(signed) >> np.minimum(y, bits - 1).astype(signed)).view(dtype)
    assert want[:3].tolist() == [2 * top - 1, top | (top >> 1), 2 * top - 1]
    got = run(mode, lax.shift_right_arithmetic, x, y)
    assert_same(got, want, err=f"shift_right_arithmetic of {np.dtype(dtype).name}")


def test_scaled_bessel_functions_at_huge_arguments(backend, mode):
    """i0e(x) and |i1e(x)| tend to 1 / sqrt(2 pi |x|): 4e-20 at 1e38. funcgrad computed
    sqrt(2 pi x), which overflows float32 from 5.4e37, and gave 0; i0 and i1 there were NaN
    (exp(|x|) * 0) where JAX gives +-inf."""
    from funcgrad.scipy import special
    composite(backend, mode)
    x = np.array([1e38, -3e38, 1e20, -6e37], np.float32)
    scale = 1.0 / np.sqrt(2 * np.pi * np.abs(x.astype(np.float64)))
    assert_same(run(mode, special.i0e, x), scale.astype(np.float32), rtol=1e-6, err="i0e")
    assert_same(run(mode, special.i1e, x), (np.sign(x) * scale).astype(np.float32),
                rtol=1e-6, err="i1e")
    assert_same(run(mode, special.i0, x[[0, 1, 3]]), np.array([INF, INF, INF], np.float32),
                err="i0")
    assert_same(run(mode, special.i1, x[[0, 1, 3]]), np.array([INF, -INF, -INF], np.float32),
                err="i1")


def test_lax_with_a_numpy_array_and_a_python_scalar_is_the_same_eager_and_jitted():
    """A Python scalar takes the other operand's dtype in funcgrad's lax functions (a
    documented leniency). Jitted, a NumPy array argument is a traced array and so gave it
    its dtype; eagerly it was not an array, and `lax.add(np.float32 array, 2)` raised."""
    x = np.array([1.0, -2.5], np.float32)
    for f in (lambda v: lax.add(v, 2), lambda v: lax.mul(3, v), lambda v: lax.max(v, 0)):
        eager, jitted = np.asarray(f(x)), np.asarray(fg.jit(f)(x))
        assert_same(eager, jitted)
        assert eager.dtype == np.float32
    for f in (lambda v: lax.add(v, np.array([1, 2], np.int32)),):
        for g in (f, fg.jit(f)):
            with pytest.raises(TypeError, match="dtypes must be equal"):
                g(x)


def test_lax_shifts_refuse_booleans_as_jax_does():
    """lax.shift_left on booleans gave [True, True] eagerly (NumPy's bools) and
    [False, True] under jit (C's ints truncated to bool) for [T, T] << [T, F]. JAX accepts
    integers only; funcgrad.numpy's shifts take booleans as int32, as jnp's."""
    b, c = np.array([True, True]), np.array([True, False])
    for f in (lax.shift_left, lax.shift_right_logical, lax.shift_right_arithmetic):
        for g in (f, fg.jit(f)):
            with pytest.raises(TypeError, match="integer"):
                g(b, c)
    assert_same(np.asarray(fnp.left_shift(b, c)), np.array([2, 1], np.int32))
    assert_same(np.asarray(fg.jit(fnp.left_shift)(b, c)), np.array([2, 1], np.int32))


# ---------------------------------------------------------------------------------------
# float -> int casts


def _saturate(x, dtype):
    info = np.iinfo(dtype)
    if math.isnan(x):
        return 0
    if math.isinf(x):
        return info.max if x > 0 else info.min
    return min(max(math.trunc(x), info.min), info.max)


CAST_VALUES = [NAN, INF, -INF, 0.0, -0.0, 2.7, -2.7, 0.9, -0.9, 127.5, -128.5, 255.9, 256.0,
               -1.0, 3e9, -3e9, 2.0 ** 31, -(2.0 ** 31), 2.0 ** 31 - 128, 2.0 ** 32, 1e19,
               -1e19, 2.0 ** 63, 65504.0]
CAST_DST = (np.int32, np.int8, np.uint8, np.int16, np.uint32, np.int64)


def _check_casts(got, srcs, dsts):
    for k, (src, dst) in enumerate((s, d) for s in srcs for d in dsts):
        x = np.array(CAST_VALUES, src)
        want = np.array([_saturate(float(v), dst) for v in x]).astype(dst)
        assert_same(got[k], want, err=f"{np.dtype(src)} -> {np.dtype(dst)}")


def test_float_to_int_casts_saturate_everywhere(backend, mode, x64):
    """One semantics for eager and jit on every backend, XLA's on CPU: truncate toward
    zero, NaN -> 0, +inf/too large -> max, -inf/too small -> min (0 for unsigned)."""
    composite(backend, mode)
    srcs = (np.float32, np.float64, np.float16)
    got = run(mode, lambda *xs: [x.astype(d) for x in xs for d in CAST_DST],
              *[np.array(CAST_VALUES, s) for s in srcs])
    _check_casts(got, srcs, CAST_DST)


# ---------------------------------------------------------------------------------------
# dot of vectors feeding a broadcasting op


@pytest.mark.parametrize("n", [0, 1, 3])
def test_logaddexp_of_vector_dot(backend, mode, n, x64):
    """jit(lambda a, b: logaddexp(a @ b, 1.5)) of two vectors is a scalar (it raised
    'impl produced shape (1, 1), expected ()' on the C backend)."""
    composite(backend, mode)
    if backend == "opencl":
        pytest.skip("the failure was the C backend's; OpenCL's dot has its own tests and its "
                    "GEMM kernels take long to build on PoCL")
    dts = [(np.float32, np.float32), (np.float64, np.int32), (np.int32, np.int32)]
    ins = [v for da, db in dts for v in (np.arange(n).astype(da), (np.arange(n) + 1).astype(db))]
    got = run(mode, lambda *xs: [fnp.logaddexp(x @ y, 1.5) for x, y in zip(xs[::2], xs[1::2])],
              *ins)
    for g, a, b in zip(got, ins[::2], ins[1::2]):
        want = np.logaddexp(a.astype(np.float64) @ b.astype(np.float64), 1.5)
        assert g.shape == ()
        np.testing.assert_allclose(g, want, rtol=1e-6)


# ---------------------------------------------------------------------------------------
# Found by sweeping the elementwise ops over special values


def test_elementwise_special_values_match_numpy(backend, mode):
    """sign(NaN) is NaN; round is half-to-even; arctan2 keeps signed zeros; logaddexp of
    infinities; clip with NaN gives NaN; heaviside(NaN, .) is NaN; cbrt(-0.0) is -0.0;
    logaddexp2 keeps float32; spacing at 0, subnormals, powers of two and inf."""
    composite(backend, mode)
    x = special_floats(np.float32)
    a, b = pairs(np.array([NAN, INF, -INF, 0.0, -0.0, 1.0, -2.0], np.float32))
    r = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 3.5, -2.5, 0.49999997], np.float32)
    # cbrt, logaddexp2 and spacing are composites of primitives checked on OpenCL elsewhere;
    # their bigger programs build slowly on PoCL.
    more = backend != "opencl"
    got = run(mode, lambda v, p, q, w: (
        fnp.sign(v), fnp.round(w), fnp.arctan2(p, q), fnp.logaddexp(p, q),
        fnp.clip(v, -1.0, 1.0), fnp.heaviside(p, q)) + ((
            fnp.cbrt(v), fnp.logaddexp2(p, q), fnp.spacing(v)) if more else ()), x, a, b, r)
    want_sign = np.where(x == 0, x, np.sign(x))   # JAX keeps -0.0 (NumPy gives +0.0)
    assert_same(got[0], want_sign, err="sign")
    assert_same(got[1], np.round(r), err="round")
    assert_same(got[2], np.arctan2(a, b), rtol=1e-6, err="arctan2")
    assert_same(got[3], quiet(np.logaddexp, a, b), rtol=1e-6, err="logaddexp")
    assert_same(got[4], np.clip(x, -1.0, 1.0), zero_sign=False, err="clip")
    assert_same(got[5], np.heaviside(a, b), err="heaviside")
    if not more:
        return
    assert_same(got[6], np.cbrt(x), rtol=1e-6, err="cbrt")
    assert_same(got[7], quiet(np.logaddexp2, a, b), rtol=1e-6, err="logaddexp2")
    fin = np.isfinite(x)
    assert_same(got[8][fin], np.spacing(x)[fin], err="spacing")
    assert np.isnan(got[8][~fin]).all()


def test_integer_bit_ops_and_gcd(backend, mode):
    """right_shift is arithmetic on signed integers (NumPy and JAX), shifts of the bit width
    or more fill with the sign; gcd of INT_MIN is positive."""
    composite(backend, mode)
    v = np.array([-1, -8, 8, 7, 0, np.iinfo(np.int32).min, np.iinfo(np.int32).max], np.int32)
    s = np.array([0, 1, 2, 31, 32, 40, -1], np.int32)
    # gcd unrolls 2 * bits Euclid steps: int8 keeps the program small.
    a, b = pairs(np.array([-1, -8, 8, 7, 0, -128, 127, -127, 12, -18], np.int8))
    sa, sb = (m.ravel() for m in np.meshgrid(v, s, indexing="ij"))
    # gcd is a composite of remainders (an unrolled loop: slow to build on PoCL); its fix is
    # backend-independent, so OpenCL checks the shifts only.
    with_gcd = backend != "opencl"
    got = run(mode, lambda p, q, x, y: (fnp.right_shift(x, y),
                                        fnp.gcd(p, q) if with_gcd else p), a, b, sa, sb)
    want_shift = np.array([x >> y if 0 <= y < 32 else (-1 if x < 0 else 0)
                           for x, y in zip(sa.tolist(), sb.tolist())], np.int32)
    assert_same(got[0], want_shift, err="right_shift")
    if with_gcd:
        assert_same(got[1], np.gcd(a, b), err="gcd")
    u = np.array([0x80, 0xFF, 1], np.uint8)
    assert_same(run(mode, lambda x: x >> 1, u), u >> 1, err="uint8 >>")


# ---------------------------------------------------------------------------------------
# The primitives whose lowering or reference changed, eagerly on every backend (the C
# backend's prebuilt eager kernels and OpenCL's per-primitive kernels included)


def test_changed_primitives_eager(backend):
    """pow, integer div/rem, float -> int convert, sign, and max/min reductions over an
    empty axis, one primitive at a time, agree with the semantics above."""
    x = np.array([NAN, INF, -INF, 0.0, -0.0, 1.0, -1.0, 0.5, -2.0, 3.7], np.float32)
    y = np.array([0.5, 0.5, 0.5, -1.0, -1.0, NAN, INF, -INF, 3.0, 0.0], np.float32)
    p = np.asarray(lax.pow(fnp.asarray(x), fnp.asarray(y)))
    assert_same(p, np.array([_c99_pow(a, b, np.float32) for a, b in zip(x, y)], np.float32),
                rtol=1e-6, err="pow")
    h = np.asarray(fnp.asarray(x) ** 0.5)
    assert_same(h, np.array([_c99_pow(a, 0.5, np.float32) for a in x], np.float32), rtol=1e-6,
                err="x ** 0.5")
    for dtype in (np.int32, np.int8):
        a, b = _int_pairs(dtype)
        d = np.asarray(lax.div(fnp.asarray(a), fnp.asarray(b)))
        r = np.asarray(lax.rem(fnp.asarray(a), fnp.asarray(b)))
        trunc = np.array([_wrap(_trunc_div(u, v), dtype) for u, v in zip(a.tolist(),
                                                                         b.tolist())], dtype)
        assert_same(d, trunc, err=f"lax.div {np.dtype(dtype)}")
        assert_same(r, quiet(np.fmod, a, b), err=f"lax.rem {np.dtype(dtype)}")
    srcs, dsts = (np.float32,), (np.int32, np.uint8)
    _check_casts([np.asarray(fnp.asarray(np.array(CAST_VALUES, s)).astype(d))
                  for s in srcs for d in dsts], srcs, dsts)
    assert_same(np.asarray(lax.sign(fnp.asarray(x))), np.where(x == 0, x, np.sign(x)),
                err="sign")
    e = fnp.zeros((3, 0), fnp.float32)
    assert_same(np.asarray(lax.reduce_max(e, (1,))), np.full(3, -INF, np.float32),
                err="reduce_max of empty")
    assert_same(np.asarray(lax.reduce_min(e.astype(bool), (1,))), np.ones(3, bool),
                err="reduce_min of empty bool")


# ---------------------------------------------------------------------------------------
# A hypothesis sweep: every float op below at once (one program per backend, so each drawn
# example costs no compile), on arrays mixing special values and arbitrary float32s


_SPECIALS32 = special_floats(np.float32).tolist()

UNARY_SWEEP = {
    "negative": np.negative, "absolute": np.absolute, "floor": np.floor, "ceil": np.ceil,
    "rint": np.rint, "trunc": np.trunc, "sqrt": np.sqrt, "exp": np.exp, "expm1": np.expm1,
    "log": np.log, "log1p": np.log1p, "sin": np.sin, "cos": np.cos, "tanh": np.tanh,
    "arctan": np.arctan, "arcsinh": np.arcsinh, "sinh": np.sinh, "cosh": np.cosh,
    "cbrt": np.cbrt, "square": np.square, "reciprocal": np.reciprocal,
    "isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite, "signbit": np.signbit,
    "sign": lambda x: np.where(x == 0, x, np.sign(x)),   # JAX keeps -0.0
}
BINARY_SWEEP = {
    "add": np.add, "subtract": np.subtract, "multiply": np.multiply, "divide": np.divide,
    "maximum": np.maximum, "minimum": np.minimum, "fmax": np.fmax, "fmin": np.fmin,
    "arctan2": np.arctan2, "hypot": np.hypot, "floor_divide": np.floor_divide,
    "remainder": np.remainder, "fmod": np.fmod, "logaddexp": np.logaddexp,
    "copysign": np.copysign, "heaviside": np.heaviside, "equal": np.equal, "less": np.less,
    "power": lambda x, y: np.array([_c99_pow(a, b, x.dtype) for a, b in zip(x, y)], x.dtype),
}
# Exact IEEE results (zero signs included); the others are libm-accurate to a few ulps.
EXACT = {"negative", "absolute", "floor", "ceil", "rint", "trunc", "sqrt", "square", "add",
         "subtract", "multiply", "divide", "floor_divide", "remainder", "fmod", "copysign",
         "heaviside", "equal", "less", "isnan", "isinf", "isfinite", "signbit", "sign",
         "fmax", "fmin", "maximum", "minimum", "reciprocal"}
# maximum/minimum of +0.0 and -0.0 may return either zero (JAX leaves it to XLA).
ANY_ZERO = {"maximum", "minimum", "fmax", "fmin"}


# OpenCL (PoCL builds each kernel slowly) sweeps the primitives that call the device's libm
# or round; the composites have their own tests on every backend and the plain IEEE
# operations (+ - * /, comparisons) are the same C expressions as on the C backend.
OPENCL_SWEEP = {"floor", "ceil", "rint", "trunc", "sqrt", "exp", "expm1", "log", "log1p",
                "sin", "cos", "tanh", "arctan", "arcsinh", "sinh", "cosh", "sign", "arctan2",
                "fmod", "power", "maximum", "minimum"}


def _sweep(x, y, names):
    out = {n: getattr(fnp, n)(x) for n in UNARY_SWEEP if n in names}
    out.update({n: getattr(fnp, n)(x, y) for n in BINARY_SWEEP if n in names})
    return out


_sweep_jit = fg.jit(_sweep, static_argnums=2)


def test_special_value_sweep(backend, mode):
    """Property: on arrays of special values (NaN, +-inf, +-0, subnormals, float32 max) and
    arbitrary float32s, every op in the tables equals NumPy (JAX's choice where noted)."""
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
    composite(backend, mode)
    # NaN with its sign bit set is left out: signbit/copysign read a NaN as positive (there
    # is no bitcast primitive yet; NumPy and JAX read the bit).
    values = st.one_of(st.sampled_from(_SPECIALS32), st.floats(width=32, allow_nan=False))
    arrays = hnp.arrays(np.float32, 24, elements=values)

    names = frozenset(n for n in list(UNARY_SWEEP) + list(BINARY_SWEEP)
                      if backend != "opencl" or n in OPENCL_SWEEP)
    scale = float(os.environ.get("FUNCGRAD_HYPOTHESIS_SCALE", "1"))

    # FUNCGRAD_HYPOTHESIS_SCALE=30 searches deeper, as in test_core_primitives.
    @settings(max_examples=max(1, int(10 * scale)))
    @given(arrays, arrays)
    def check(x, y):
        f = _sweep if mode == "eager" else _sweep_jit
        got = tree_map(np.asarray, f(fnp.asarray(x), fnp.asarray(y), names))
        for name, ref in list(UNARY_SWEEP.items()) + list(BINARY_SWEEP.items()):
            if name not in names:
                continue
            args = (x,) if name in UNARY_SWEEP else (x, y)
            want = np.asarray(quiet(ref, *args))
            if want.dtype == np.float64:
                want = want.astype(np.float32)
            exact = name in EXACT
            # libm functions are a few ulps off at most; near zero an ulp is a subnormal's
            # (PoCL's log1p(1e-45) is 0).
            assert_same(got[name], want, rtol=0 if exact else 8e-6,
                        atol=0 if exact else float(np.finfo(np.float32).smallest_subnormal),
                        zero_sign=name not in ANY_ZERO, err=name)

    check()


def test_median_of_integers_is_the_default_float():
    assert fnp.median(fnp.array([3, 1, 2, 10], fnp.int32)).dtype == np.float32


def test_trig_of_atan_keeps_nan(backend):
    """gcc without errno rewrites sin(atan(x)) as |x| < K ? x/sqrt(x*x+1) : copysign(1, x)
    (cos likewise), which sent NaN to +-1 and 0 on C; NumPy and JAX give NaN."""
    x = np.array([NAN, -NAN, INF, -INF, 1e30, -2.0, 0.0, 0.5], np.float32)
    f = fg.jit(lambda x: (fnp.sin(fnp.arctan(x)), fnp.cos(fnp.arctan(x))), backend=backend)
    got_s, got_c = (np.asarray(v) for v in f(x))
    with np.errstate(all="ignore"):
        want_s, want_c = np.sin(np.arctan(x)), np.cos(np.arctan(x))
    assert_same(got_s, want_s, rtol=1e-6, atol=1e-7, zero_sign=False, err="sin(atan(x))")
    assert_same(got_c, want_c, rtol=1e-6, atol=1e-7, zero_sign=False, err="cos(atan(x))")


def test_softmax_of_large_scaled_values_is_finite(backend):
    """Attention scores s = (q . k) * c, then softmax: with FMA contraction the product was
    rounded in max(s) but not in s - max(s), so the difference at the max was not 0 and
    exp() overflowed (NaN out of softmax on C; found by the program fuzzer)."""
    rng = np.random.default_rng(0)
    q = (rng.standard_normal((5, 1, 8)) * 1e36).astype(np.float32)
    k = rng.standard_normal((5, 7, 8)).astype(np.float32)
    v = rng.standard_normal((5, 7, 8)).astype(np.float32)

    def attend(q, k, v):
        scores = fnp.einsum("btd,bsd->bts", q, k) * 0.35355339059327373
        return (fnp.einsum("bts,bsd->btd", fg.nn.softmax(scores, axis=-1), v),
                fg.nn.logsumexp(scores, axis=-1))
    out, lse = (np.asarray(a) for a in fg.jit(attend, backend=backend)(q, k, v))
    s64 = np.einsum("btd,bsd->bts", q.astype(np.float64), k) * 0.35355339059327373
    p64 = np.exp(s64 - s64.max(-1, keepdims=True))
    p64 /= p64.sum(-1, keepdims=True)
    assert np.isfinite(out).all() and np.isfinite(lse).all(), (out, lse)
    np.testing.assert_allclose(out, np.einsum("bts,bsd->btd", p64, v), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(lse, s64.max(-1), rtol=1e-5)


def test_conv_rhs_dilation_skips_the_holes(backend):
    """A dilated kernel reads every d-th input: the inputs between its taps take no part
    (as in XLA), so an inf there leaves the output finite. The reference convolution
    inserted zeros into the kernel and multiplied that inf by 0 (NaN; found by the program
    fuzzer, seed 41)."""
    x = np.ones((1, 1, 1, 5), np.float32)
    x[0, 0, 0, 1] = np.inf
    w = np.ones((1, 1, 1, 2), np.float32)
    dn = ("NCHW", "OIHW", "NCHW")
    f = lambda x, w: lax.conv_general_dilated(x, w, (1, 1), ((0, 0), (0, 0)),
                                              rhs_dilation=(1, 2), dimension_numbers=dn)
    want = np.array([2.0, np.inf, 2.0], np.float32).reshape(1, 1, 1, 3)
    assert_same(np.asarray(fg.jit(f, backend=backend)(x, w)), want, err="conv rhs_dilation")
    if backend == "reference":
        assert_same(np.asarray(f(fnp.asarray(x), fnp.asarray(w))), want, err="eager conv")


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_sort_and_searchsorted_put_nan_last(backend, mode, dtype):
    """JAX (lax.sort): NaN values sort to the end; searchsorted follows the same order, so
    a NaN query lands before the first NaN ("left") or after the last ("right"). Found by
    the fuzzer's bfloat16 programs: NumPy's sort of an ml_dtypes bfloat16 array holding a
    NaN returned it unsorted on every backend, and searchsorted put NaN queries at 0 for
    every float dtype."""
    import ml_dtypes
    dt = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
    x = np.array([1.0, NAN, -2.0, 0.5, NAN, 3.0, -INF], dt)
    srt, arg, lex = run(mode, lambda a: (fnp.sort(a), fnp.argsort(a), fnp.lexsort([a])), x)
    want = np.array([-INF, -2.0, 0.5, 1.0, 3.0, NAN, NAN], dt)
    np.testing.assert_array_equal(srt.astype(np.float32), want.astype(np.float32))
    np.testing.assert_array_equal(arg, [6, 2, 3, 0, 5, 1, 4])
    np.testing.assert_array_equal(lex, [6, 2, 3, 0, 5, 1, 4])
    a = np.array([1.0, 2.0, 3.0, NAN, NAN], dt)
    v = np.array([2.5, NAN, -INF, 3.0], dt)
    left, right = run(mode, lambda a, v: (fnp.searchsorted(a, v),
                                          fnp.searchsorted(a, v, side="right")), a, v)
    np.testing.assert_array_equal(left, [2, 3, 0, 2])
    np.testing.assert_array_equal(right, [2, 5, 0, 3])


def test_signed_overflow_wraps_under_jit(backend, mode):
    """int32 arithmetic wraps (JAX, NumPy). Generated C and OpenCL C left signed overflow
    undefined, and gcc -O3 / PoCL's clang folded on it: sign(-x) of INT_MIN gave 1,
    `-x < 0` and `abs(x) < 0` False, `x + 1 < x` False at INT_MAX (found by the fuzzer)."""
    x = np.array([-2**31, 5, -3, 0, 2**31 - 1], np.int32)
    got = run(mode, lambda x: (fnp.sign(-x), -x < 0, fnp.abs(x) < 0, x + 1 < x,
                               (x * 2) // 2 == x, x - 1 > x), x)
    with np.errstate(over="ignore"):
        want = (np.sign(-x), -x < 0, np.abs(x) < 0, x + 1 < x, (x * 2) // 2 == x, x - 1 > x)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_float16_std_is_the_root_of_the_rounded_variance(backend, mode):
    """jnp.std / jnp.nanstd are lax.sqrt of jnp.var / jnp.nanvar, whose float16 result is
    rounded to float16: a variance above 65504 is inf, so is its root (JAX). funcgrad's std
    took the root in float32 (finite) while its nanstd overflowed; the fuzzer caught the
    two disagreeing."""
    x = np.array([3000.0, -3000.0, 60000.0, 1.0], np.float16)
    small = np.array([1.0, 2.0, 4.0, 8.0], np.float16)
    got = run(mode, lambda a, b: (fnp.std(a), fnp.nanstd(a), fnp.std(b), fnp.nanstd(b)),
              x, small)
    want_small = np.float16(np.sqrt(np.float16(np.var(small.astype(np.float32)))))
    assert np.isinf(got[0]) and np.isinf(got[1])
    assert got[2] == want_small and got[3] == want_small and got[2].dtype == np.float16


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_any_over_middle_axes(backend, mode, dtype):
    """any() over the middle axes of a [17, 8, 4, 5] array with negative and zero values:
    gcc 12 -O3 -fwrapv vectorised the compiled reduction wrongly (every result False).
    Found by the fuzzer (an attention output fed to any)."""
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((17, 8, 4, 5)) * 1e-3).astype(dtype)
    x[x > 0] = 0
    got = run(mode, lambda a: (fnp.any(a, axis=(1, 2), keepdims=True), fnp.any(a, axis=1),
                               fnp.all(a, axis=(1, 2))), x)
    want = (np.any(x, axis=(1, 2), keepdims=True), np.any(x, axis=1), np.all(x, axis=(1, 2)))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_pow_derivatives_at_zero_follow_jax(backend, mode):
    """JAX 0.10's pow JVP (values recorded from JAX): d(x ** y)/dx = y * x ** (y - 1) and
    d/dy = log(x with 0 -> 1) * x ** y, so 0 for 0 ** y with y > 0, and nan = 0 * inf where
    the rule multiplies by an infinity. And a constant base has no tangent at all: the JVP
    of `0 ** y` is 0 for 0 < y < 1 too (it was nan there in eager mode, 0 * inf from the
    base's zero tangent through the x rule; found by the fuzzer, seed 77), nan for y < 0
    as in JAX."""
    composite(backend, mode)
    x = np.array([0.0, 0.0, 0.0, 0.0, 2.0], np.float32)
    y = np.array([0.5, -0.5, 0.0, 2.0, 0.5], np.float32)
    gx, gy = run(mode, lambda a, b: fg.grad(lambda u, v: fnp.sum(u ** v), argnums=(0, 1))(a, b),
                 x, y)
    nan, inf = np.nan, np.inf
    assert_same(gx, np.array([inf, -inf, nan, 0.0, 0.35355338], np.float32), rtol=1e-6,
                zero_sign=False, err="d(x ** y)/dx")
    assert_same(gy, np.array([0.0, nan, 0.0, 0.0, 0.98025810], np.float32), rtol=1e-6,
                zero_sign=False, err="d(x ** y)/dy")
    ys = np.array([0.968, 0.5, 1.077, -0.19], np.float32)
    t = run(mode, lambda v: fg.jvp(lambda u: 0 ** u, (v,), (fnp.ones_like(v),))[1], ys)
    assert_same(t, np.array([0.0, 0.0, 0.0, np.nan], np.float32), zero_sign=False,
                err="jvp of 0 ** y")


@pytest.mark.parametrize("backend", ["reference", "c"])
def test_quantile_landing_on_an_infinity_is_nan(backend):
    """jnp.quantile's linear method is low * (1 - w) + high * w also where the position is
    integral, so a quantile that lands exactly on -inf/+inf is NaN (-inf * 1 + -inf * 0),
    as in NumPy; between an infinity and a finite value it is that infinity. funcgrad
    picked the end value instead (fuzz seed 123)."""
    x = np.array([0.0, 0.5676715, -1.4e-45, -0.2946, -0.28845, -np.inf, -0.70994], np.float32)
    q = np.array([0.0, 0.1, 0.5, 1.0], np.float32)
    got = np.asarray(fg.jit(lambda v: fnp.quantile(v, q), backend=backend)(x))
    assert np.isnan(got[0]) and got[1] == -np.inf and np.isfinite(got[2:]).all()
    y = np.array([1.0, np.inf, 2.0], np.float32)
    got = np.asarray(fg.jit(lambda v: fnp.quantile(v, q), backend=backend)(y))
    np.testing.assert_allclose(got[:3], [1.0, 1.2, 2.0], rtol=1e-6)
    assert np.isnan(got[3])
    assert float(fnp.median(y)) == 2.0   # midpoint of equal neighbours: no 0 weight


@pytest.mark.parametrize("backend", ["reference", "c"])
def test_cumsum_of_float32_does_not_drift(backend):
    """A float32 running sum of 72,000 values near 1.7 drifted (each addition to a sum
    near 60,000 rounded the same way; 0.04% in fuzz seed 456): cumsum now accumulates
    float32 (and the 16-bit floats, complex64) in float64, as funcgrad's sums do, so each
    element is the correctly rounded running sum (JAX's prefix scan: within ~log2(n) ulps)."""
    x = np.linspace(1.55, 1.75, 72000).astype(np.float32)
    exact = np.cumsum(x.astype(np.float64)).astype(np.float32)
    for rev in (False, True):
        got = np.asarray(fg.jit(lambda v: lax.cumsum(v, reverse=rev), backend=backend)(x))
        want = np.cumsum(x[::-1].astype(np.float64))[::-1].astype(np.float32) if rev \
            else exact
        np.testing.assert_array_equal(got, want)
    h = np.full(3000, 0.1, np.float16)
    np.testing.assert_allclose(np.asarray(fnp.cumsum(h)).astype(np.float64)[-1], 3000 * 0.1,
                               rtol=1e-3)


@pytest.mark.parametrize("backend", ["reference", "c"])
def test_cumsum_over_a_leading_axis_adds_by_rows(backend):
    """A cumsum over an axis with long rows behind it adds whole rows (NumPy's accumulate
    walks such an axis column by column: (1024, 1024) over axis 0 took 17.5 ms, JAX 10):
    the same additions in the same order, so the values are NumPy's float64 running sums,
    forwards and reversed, for floats and ints, and its transpose (the gradient) too."""
    rng = np.random.default_rng(3)
    for shape, axis in (((300, 512), 0), ((3, 40, 300), 1), ((2, 5, 2, 256), 2)):
        for dt in (np.float32, np.int32):
            x = (rng.standard_normal(shape) * 3).astype(dt)
            acc = np.float64 if dt == np.float32 else np.int32
            for rev in (False, True):
                f = fg.jit(lambda v: lax.cumsum(v, axis, reverse=rev), backend=backend)
                xs = np.flip(x, axis) if rev else x
                want = np.cumsum(xs.astype(acc), axis=axis)
                want = (np.flip(want, axis) if rev else want).astype(dt)
                np.testing.assert_array_equal(np.asarray(f(x)), want)
    x = rng.standard_normal((300, 512)).astype(np.float32)
    g = fg.grad(lambda v: (lax.cumsum(v, 0) * x).sum())(x)
    want = np.flip(np.cumsum(np.flip(x.astype(np.float64), 0), 0), 0).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(g), want)


@pytest.mark.parametrize("backend", ["reference", "c"])
def test_searchsorted_in_a_long_array_is_a_binary_search(backend):
    """searchsorted in more than 32 values searches by bisection (it compared every query
    with every value: 1e6 queries in 1000 values took 84 ms, JAX 27-37); the insertion
    points are NumPy's for sorted arrays with ties, +-inf and NaN queries, NaNs at the end
    (JAX's order), both sides, every length around powers of two, under jit and vmap."""
    rng = np.random.default_rng(11)
    for n in (31, 32, 33, 64, 65, 1000, 1024):
        a = np.sort(np.round(rng.standard_normal(n) * 4, 1)).astype(np.float32)
        a[-3:] = np.nan
        v = np.concatenate([np.round(rng.standard_normal(300) * 5, 1), a[:-3:7],
                            [np.nan, np.inf, -np.inf, a[0], a[-4]]]).astype(np.float32)
        for side in ("left", "right"):
            f = fg.jit(lambda a, v: fnp.searchsorted(a, v, side=side), backend=backend)
            want = np.searchsorted(a, v, side=side)
            # NumPy's NaN order is JAX's: a NaN query goes before the first NaN (left) or
            # after the last (right)
            np.testing.assert_array_equal(np.asarray(f(a, v)), want)
    a = np.sort(rng.standard_normal((3, 200)).astype(np.float32), axis=1)
    v = rng.standard_normal((3, 50)).astype(np.float32)
    got = fg.jit(fg.vmap(fnp.searchsorted), backend=backend)(a, v)
    np.testing.assert_array_equal(np.asarray(got),
                                  [np.searchsorted(a[i], v[i]) for i in range(3)])


def test_searchsorted_bisection_agrees_with_numpy_at_every_length():
    """The bisection carries one index whose window halves (rounded up) each step, a step
    sequence fixed by the length: every length's sequence (33 to 3000 here) gives NumPy's
    insertion points, for integers with runs of ties and for floats with NaN at the end,
    queries below, inside and above the values, both sides."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=25, deadline=None)
    @given(st.integers(33, 3000), st.sampled_from([np.int32, np.float32]),
           st.sampled_from(["left", "right"]), st.integers(0, 2**32 - 1))
    def check(n, dtype, side, seed):
        rng = np.random.default_rng(seed)
        a = np.sort(rng.integers(-n // 4, n // 4, n)).astype(dtype)
        v = rng.integers(-n // 3, n // 3, 200).astype(dtype)
        if dtype == np.float32:
            a[-(seed % 3):] = np.nan if seed % 3 else a[-1]
            v = np.concatenate([v, [np.nan, np.inf, -np.inf]]).astype(dtype)
        fg.backends.get_backend("c")._families.clear()
        got = fg.jit(lambda a, v: fnp.searchsorted(a, v, side=side))(a, v)
        np.testing.assert_array_equal(np.asarray(got), np.searchsorted(a, v, side=side))
    check()


def test_an_integer_zero_converts_to_plus_zero_after_a_float_truncation(backend):
    """Seed 20261941: gcc -O3 -fno-trapping-math compiled (float)(int32_t)x as trunc(x),
    -0.0 for x in (-1, 0), so on the C backend x // x.astype(int32) was +inf for negative
    x (a division by -0.0), and -0.75 -> int -> float had its sign bit set."""
    for n in (3, 17, 1000):
        x = np.linspace(-0.99, 0.5, n).astype(np.float32)
        back = np.asarray(fg.jit(lambda v: v.astype(fnp.int32).astype(fnp.float32),
                                 backend=backend)(x))
        assert not np.signbit(back).any()
        np.testing.assert_array_equal(back, x.astype(np.int32).astype(np.float32))
        with np.errstate(divide="ignore", invalid="ignore"):
            want = x // x.astype(np.int32).astype(np.float32)
        got = np.asarray(fg.jit(lambda v: v // v.astype(fnp.int32), backend=backend)(x))
        np.testing.assert_array_equal(got, want)
