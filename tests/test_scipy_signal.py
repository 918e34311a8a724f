"""funcgrad.scipy.signal (convolutions, detrend, stft/csd/welch), .integrate, .ndimage and
.interpolate against JAX 0.10 and SciPy: dtypes, shapes and exception types against JAX
for every mode, shape pair and dtype with 64-bit types off and on (through jax.eval_shape:
a compiled JAX call costs ~0.1 s, so JAX computes values only for the cases where it is
its own reference), float64 values against SciPy (which JAX follows elsewhere); even/odd/
1-element lengths, a second operand longer than the first, integer/bool/float16/complex
inputs; jit, vmap and derivatives (against finite differences and JAX's); hypothesis
properties; error messages."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.integrate as si
import scipy.interpolate as sip
import scipy.ndimage as snd
import scipy.signal as ss
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.scipy import integrate as fi
from funcgrad.scipy import interpolate as fip
from funcgrad.scipy import ndimage as fnd
from funcgrad.scipy import signal as fs
from funcgrad.testing import check_grads

from conftest import x64_both

pytestmark = pytest.mark.core

MODES = ("full", "same", "valid")
# (in1 shape, in2 shape): odd/even lengths, 1-element operands, in2 longer than in1, 0-d,
# N-d, shapes neither of which is the larger (the direct method raises), empty operands.
SHAPES = [((5,), (3,)), ((5,), (4,)), ((4,), (3,)), ((4,), (4,)), ((1,), (1,)), ((1,), (3,)),
          ((2,), (5,)), ((3,), (6,)), ((3,), (1,)), ((6, 5), (2, 3)), ((2, 3), (6, 5)),
          ((3, 4), (3, 4)), ((2, 2), (3, 3)), ((2, 3), (3, 3)), ((4, 5, 3), (2, 2, 2)),
          ((2, 2, 2), (3, 4, 5)), ((), ()), ((3, 2), (2, 3)), ((0,), (2,)), ((2,), (0,))]
SHAPES_2D = [s for s in SHAPES if len(s[0]) == 2]


def _run(f):
    """(dtype name, value as a NumPy array) or (exception type, message)."""
    try:
        out = f()
    except Exception as e:  # noqa: BLE001 -- the exception is what is compared
        return type(e), str(e)
    return str(out.dtype), np.asarray(out)


def jax_spec(jax, f, *arrays):
    """(dtype name, shape) of JAX's `f(*arrays)` traced abstractly (`jax.eval_shape`: no XLA
    compile, so hundreds of cases stay fast), or (exception type, message)."""
    try:
        out = jax.eval_shape(f, *[jax.ShapeDtypeStruct(np.shape(a), np.asarray(a).dtype)
                                  for a in arrays])
    except Exception as e:  # noqa: BLE001 -- the exception is what is compared
        return type(e), str(e)
    return str(out.dtype), out.shape


def assert_spec_like_jax(got, want, what=""):
    """funcgrad's result (`_run`) has the dtype and shape of JAX's (`jax_spec`), or both
    raised exceptions of one type."""
    if isinstance(want[0], type):
        assert isinstance(got[0], type) and issubclass(got[0], want[0]), \
            f"{what}: JAX raised {want[0].__name__}({want[1]!r}), funcgrad gave {got}"
        return
    assert not isinstance(got[0], type), f"{what}: funcgrad raised {got[0].__name__}: {got[1]}"
    assert (got[0], got[1].shape) == (want[0], want[1]), f"{what}: {got[0]}{got[1].shape}, " \
        f"JAX {want[0]}{want[1]}"


def assert_like_jax(got, want, rtol=1e-5, atol=1e-5, what=""):
    """Same dtype, shape and values (within tolerances), or exceptions of one type (funcgrad's
    may be a subclass: NumPy's AxisError for JAX's ValueError/IndexError)."""
    if isinstance(want[0], type):
        assert isinstance(got[0], type) and issubclass(got[0], want[0]), \
            f"{what}: JAX raised {want[0].__name__}({want[1]!r}), funcgrad gave {got}"
        return
    assert not isinstance(got[0], type), f"{what}: funcgrad raised {got[0].__name__}: {got[1]}"
    assert got[0] == want[0], f"{what}: dtype {got[0]}, JAX {want[0]}"
    assert got[1].shape == want[1].shape, f"{what}: shape {got[1].shape}, JAX {want[1].shape}"
    np.testing.assert_allclose(got[1].astype(complex), want[1].astype(complex), rtol=rtol,
                               atol=atol, err_msg=what, equal_nan=True)


def _operands(rng, a, b, dtype):
    x, y = rng.normal(size=a), rng.normal(size=b)
    if np.dtype(dtype).kind == "c":
        x, y = x + 1j * rng.normal(size=a), y + 1j * rng.normal(size=b)
    return x.astype(dtype), y.astype(dtype)


# ---------------------------------------------------------------------------------------
# signal: convolve, correlate, convolve2d, correlate2d, fftconvolve


CONV_NAMES = ["convolve", "correlate", "fftconvolve", "convolve2d", "correlate2d"]


@pytest.mark.parametrize("name", CONV_NAMES)
def test_convolution_shapes_dtypes_and_errors_match_jax(jax, name):
    """Every shape pair, mode and method: funcgrad's result has JAX's dtype and shape, or
    raises JAX's exception type (direct method on shapes neither of which is the larger,
    empty operands, ...)."""
    import jax.scipy.signal as js
    rng = np.random.default_rng(0)
    methods = ("auto", "direct", "fft") if name in ("convolve", "correlate") else (None,)
    shapes = SHAPES_2D if name.endswith("2d") else SHAPES
    for (a, b), dtype, mode, method in itertools.product(shapes, ("float32", "complex64"),
                                                         MODES, methods):
        x, y = _operands(rng, a, b, dtype)
        kw = {"mode": mode} if method is None else {"mode": mode, "method": method}
        want = jax_spec(jax, lambda p, q: getattr(js, name)(p, q, **kw), x, y)
        got = _run(lambda: getattr(fs, name)(fnp.asarray(x), fnp.asarray(y), **kw))
        assert_spec_like_jax(got, want, what=f"{name}{a}{b} {dtype} {kw}")


# (name, in1 shape, in2 shape, mode, dtype, method): where the values come from JAX itself
# (SciPy checks the rest, which JAX matches): even lengths, in2 longer, 1-element, N-d,
# complex, the FFT path, and correlate2d's own centring and conjugation.
JAX_VALUE_CASES = [
    ("convolve", (5,), (4,), "same", "float32", "auto"),
    ("convolve", (2, 3), (6, 5), "valid", "complex64", "auto"),
    ("convolve", (1,), (3,), "full", "float32", "fft"),
    ("correlate", (2,), (5,), "valid", "complex64", "auto"),
    ("correlate", (4, 5, 3), (2, 2, 2), "same", "float32", "fft"),
    ("fftconvolve", (3,), (6,), "same", "complex64", None),
    ("fftconvolve", (0,), (2,), "full", "float32", None),
    ("convolve2d", (6, 5), (2, 3), "same", "float32", None),
    ("correlate2d", (6, 5), (2, 3), "same", "complex64", None),
    ("correlate2d", (2, 3), (3, 3), "valid", "complex64", None),
]


def test_convolution_values_match_jax(jax):
    import jax.scipy.signal as js
    rng = np.random.default_rng(1)
    for name, a, b, mode, dtype, method in JAX_VALUE_CASES:
        x, y = _operands(rng, a, b, dtype)
        kw = {"mode": mode} if method is None else {"mode": mode, "method": method}
        want = _run(lambda: jax.jit(lambda p, q: getattr(js, name)(p, q, **kw))(x, y))
        got = _run(lambda: getattr(fs, name)(fnp.asarray(x), fnp.asarray(y), **kw))
        assert_like_jax(got, want, rtol=1e-4, atol=1e-4, what=f"{name}{a}{b} {dtype} {kw}")


@pytest.mark.parametrize("name", CONV_NAMES)
def test_convolutions_match_scipy_float64(name, x64):
    rng = np.random.default_rng(1)
    shapes = [s for s in (SHAPES_2D if name.endswith("2d") else SHAPES)
              if s[0] and 0 not in s[0] + s[1]]
    for (a, b), dtype, mode in itertools.product(shapes, ("float64", "complex128"), MODES):
        x, y = _operands(rng, a, b, dtype)
        try:
            want = getattr(ss, name)(x, y, mode=mode)
        except ValueError:
            # SciPy's "same" accepts shapes neither of which is the larger; JAX's (and
            # funcgrad's) direct methods do not
            assert mode != "valid" or name == "fftconvolve" or not _one_larger(a, b)
            continue
        if not _one_larger(a, b) and not name == "fftconvolve":
            continue
        got = getattr(fs, name)(fnp.asarray(x), fnp.asarray(y), mode=mode)
        assert got.dtype == want.dtype and got.shape == want.shape, (name, a, b, mode)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-10, atol=1e-10,
                                   err_msg=f"{name}{a}{b} {mode}")


def _one_larger(a, b):
    return all(p >= q for p, q in zip(a, b)) or all(p <= q for p, q in zip(a, b))


DTYPES = ["bool", "int8", "uint8", "int32", "float16", "bfloat16", "float32", "complex64"]
DTYPES_64 = ["bool", "int8", "int32", "int64", "float16", "float32", "float64", "complex64",
             "complex128"]


@pytest.mark.parametrize("on", [False, True], ids=["x32", "x64"])
def test_convolution_dtypes_match_jax(jax, on):
    """The promotion of every pair of input dtypes (integers and bool compute in float32,
    64-bit integers in the default float; float16 stays float16; the FFT rejects 16-bit
    floats)."""
    import jax.scipy.signal as js
    x = np.array([[1, 0, 1], [1, 1, 0]])
    y = np.array([[1, 1], [0, 1]])
    with x64_both(jax, on):
        for d1, d2 in itertools.product(DTYPES_64 if on else DTYPES, repeat=2):
            a, b = fnp.asarray(x, d1), fnp.asarray(y, d2)
            for name in ("convolve", "fftconvolve") if d1 != d2 else CONV_NAMES:
                want = jax_spec(jax, getattr(js, name), np.asarray(a), np.asarray(b))
                got = _run(lambda: getattr(fs, name)(a, b))
                assert_spec_like_jax(got, want, what=f"{name} {d1} {d2}")
                if not isinstance(got[0], type):
                    np.testing.assert_allclose(
                        got[1].astype(complex),
                        getattr(ss, name)(x.astype(float), y.astype(float)), atol=1e-6)


def test_fftconvolve_axes_match_jax_and_scipy(jax):
    import jax.scipy.signal as js
    rng = np.random.default_rng(2)
    for (a, b), axes, mode in itertools.product(
            [((3, 7), (3, 2)), ((3, 2), (3, 5)), ((4, 6, 2), (4, 3, 2)), ((2, 5), (1, 2))],
            [0, 1, -1, (1,), [0, 1], (1, 1), (), 2], MODES):
        x, y = _operands(rng, a, b, "float32")
        want = jax_spec(jax, lambda p, q: js.fftconvolve(p, q, mode, axes=axes), x, y)
        got = _run(lambda: fs.fftconvolve(fnp.asarray(x), fnp.asarray(y), mode, axes=axes))
        assert_spec_like_jax(got, want, what=f"{a}{b} {axes} {mode}")
        if not isinstance(want[0], type) and axes not in ((), (1, 1)):
            np.testing.assert_allclose(got[1], ss.fftconvolve(x, y, mode, axes=axes),
                                       rtol=1e-4, atol=1e-4)
    x, y = _operands(rng, (4, 6, 2), (4, 3, 2), "float32")
    assert_like_jax(_run(lambda: fs.fftconvolve(x, y, "same", axes=(1, -1))),
                    _run(lambda: jax.jit(lambda p, q: js.fftconvolve(p, q, "same", axes=(1, -1)))(
                        x, y)),
                    rtol=1e-4, atol=1e-4)


def test_convolutions_under_jit_vmap_and_grad(jax):
    import jax.scipy.signal as js
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 7)).astype(np.float32)
    y = rng.normal(size=(3, 4)).astype(np.float32)
    for name, mode in [("convolve", "full"), ("correlate", "same"), ("fftconvolve", "valid")]:
        def f(a, b):
            return getattr(fs, name)(a, b, mode=mode)

        def jf(a, b):
            return getattr(js, name)(a, b, mode=mode)

        np.testing.assert_allclose(fg.vmap(f)(x, y), jax.jit(jax.vmap(jf))(x, y), rtol=1e-4,
                                   atol=1e-5)
        np.testing.assert_allclose(fg.vmap(f, in_axes=(None, 0))(x[0], y),
                                   jax.jit(jax.vmap(jf, in_axes=(None, 0)))(x[0], y), rtol=1e-4,
                                   atol=1e-5)
        got = fg.grad(lambda a, b: (f(a, b) ** 2).sum(), argnums=(0, 1))(x[0], y[0])
        want = jax.jit(jax.grad(lambda a, b: (jf(a, b) ** 2).sum(), argnums=(0, 1)))(x[0], y[0])
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
    # one compiled program per function family (compiles are the slow part)
    f = fg.jit(fg.vmap(lambda a, b: fs.convolve(a, b, mode="same")))
    want = jax.jit(jax.vmap(lambda a, b: js.convolve(a, b, "same")))(x, y)
    np.testing.assert_allclose(f(x, y), want, rtol=1e-4, atol=1e-5)
    f = fg.jit(lambda a, b: fs.fftconvolve(a, b, mode="valid", axes=1))
    np.testing.assert_allclose(f(x, y), js.fftconvolve(x, y, mode="valid", axes=1), rtol=1e-4,
                               atol=1e-5)
    f = fg.jit(lambda a, b: fs.correlate2d(a, b, mode="same"))
    np.testing.assert_allclose(f(x, y), js.correlate2d(x, y, mode="same"), rtol=1e-4,
                               atol=1e-5)


def test_convolution_gradients_against_finite_differences():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=6), rng.normal(size=3)
    for mode in MODES:
        check_grads(lambda a, b: fs.convolve(a, b, mode=mode), (x, y), order=2)
        check_grads(lambda a, b: fs.correlate(a, b, mode=mode), (y, x), order=1)
        check_grads(lambda a, b: fs.fftconvolve(a, b, mode=mode), (x, y), order=1)
    xc = x + 1j * rng.normal(size=6)
    check_grads(lambda a, b: fs.correlate(a, b, mode="same"), (xc, y), order=1)
    m, k = rng.normal(size=(4, 5)), rng.normal(size=(2, 3))
    check_grads(lambda a, b: fs.convolve2d(a, b, mode="same"), (m, k), order=1)
    check_grads(lambda a, b: fs.correlate2d(a, b, mode="valid"), (m, k), order=1)
    check_grads(lambda a, b: fs.fftconvolve(a, b, axes=1), (m[:2], k), order=1)


@settings(max_examples=20, deadline=None)
@given(n1=st.integers(1, 9), n2=st.integers(1, 9), mode=st.sampled_from(MODES),
       seed=st.integers(0, 2**16))
def test_hypothesis_convolution_identities(n1, n2, mode, seed):
    """convolve commutes in mode "full"; fftconvolve equals convolve; correlate is convolve
    with the second operand reversed and conjugated; all three equal NumPy's 1-d ones."""
    rng = np.random.default_rng(seed)
    x = (rng.normal(size=n1) + 1j * rng.normal(size=n1)).astype(np.complex64)
    y = (rng.normal(size=n2) + 1j * rng.normal(size=n2)).astype(np.complex64)
    direct = np.asarray(fs.convolve(x, y, mode=mode))
    np.testing.assert_allclose(fs.fftconvolve(x, y, mode=mode), direct, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(fs.convolve(x, y, mode=mode, method="fft"), direct, rtol=1e-4,
                               atol=1e-4)
    np.testing.assert_allclose(fs.correlate(x, y, mode=mode),
                               fs.convolve(x, np.conj(y[::-1]), mode=mode), rtol=1e-5,
                               atol=1e-5)
    if mode == "full":
        np.testing.assert_allclose(fs.convolve(y, x), direct, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(direct, np.convolve(x, y), rtol=1e-4, atol=1e-4)
    if mode == "valid":
        np.testing.assert_allclose(direct, np.convolve(x, y, "valid"), rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------------------------------
# signal.detrend


@pytest.mark.parametrize("on", [False, True], ids=["x32", "x64"])
def test_detrend_matches_jax(jax, on):
    import jax.scipy.signal as js
    rng = np.random.default_rng(5)
    with x64_both(jax, on):
        cases = list(itertools.product([(7,), (1,), (4, 6)], [-1, 0], ["linear", "constant"],
                                       [0, 3, [2, 4], np.array([4, 1]), [0, 7], [2, 2]],
                                       ["float32"]))
        cases += [((7,), -1, kind, [3], dt) for kind in ("linear", "constant")
                  for dt in ("int32", "bool", "complex64", "float16")
                  + (("int64", "float64") if on else ())]
        for shape, axis, kind, bp, dtype in cases:
            if np.max(bp) > shape[axis]:
                continue
            x = (rng.normal(size=shape) * 4).astype(dtype)
            want = jax_spec(jax, lambda d: js.detrend(d, axis=axis, type=kind, bp=bp), x)
            got = _run(lambda: fs.detrend(fnp.asarray(x), axis=axis, type=kind, bp=bp))
            assert_spec_like_jax(got, want, what=f"{shape} {axis} {kind} {bp} {dtype}")
        # values: complex data, repeated and unsorted breakpoints, an inner axis
        x = (rng.normal(size=(3, 7)) + 1j * rng.normal(size=(3, 7))).astype(np.complex64)
        for axis, bp in [(-1, [5, 2, 2]), (0, 1)]:
            assert_like_jax(_run(lambda: fs.detrend(x, axis=axis, bp=bp)),
                            _run(lambda: jax.jit(lambda d: js.detrend(d, axis=axis, bp=bp))(x)),
                            rtol=1e-4, atol=1e-4, what=f"{axis} {bp}")


def test_detrend_matches_scipy_float64_and_extends_jax(x64):
    rng = np.random.default_rng(6)
    for shape, axis, kind, bp in itertools.product([(9,), (5, 8)], [-1, 0],
                                                   ["linear", "constant"], [0, [3], [1, 4]]):
        if np.max(bp) > shape[axis]:
            continue
        x = rng.normal(size=shape) + np.arange(shape[axis]).reshape(
            (-1,) + (1,) * (len(shape) - 1 - axis % len(shape)))
        np.testing.assert_allclose(fs.detrend(x, axis=axis, type=kind, bp=bp),
                                   ss.detrend(x, axis=axis, type=kind, bp=bp), atol=1e-12)
    # where JAX raises (its lstsq has no float16; an empty axis divides by zero)
    x16 = fs.detrend(np.array([1.0, 3.0, 2.0, 6.0], np.float16))
    assert x16.dtype == np.float16
    np.testing.assert_allclose(x16, ss.detrend(np.array([1.0, 3.0, 2.0, 6.0])), atol=2e-3)
    assert fs.detrend(np.zeros((2, 0))).shape == (2, 0)


def test_detrend_under_jit_vmap_and_grad():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 8))
    want = ss.detrend(x, bp=[3])
    np.testing.assert_allclose(fg.jit(lambda a: fs.detrend(a, bp=[3]))(x.astype(np.float32)),
                               want, atol=1e-5)
    np.testing.assert_allclose(fg.vmap(lambda a: fs.detrend(a, bp=[3]))(x.astype(np.float32)),
                               want, atol=1e-5)
    check_grads(lambda a: fs.detrend(a, bp=[2, 5]), (x[0],), order=2)
    check_grads(lambda a: fs.detrend(a, axis=0, type="constant"), (x,), order=1)


# ---------------------------------------------------------------------------------------
# signal.stft, csd, welch

SPECTRAL_KWARGS = [
    {"nperseg": 16}, {}, {"nperseg": 15, "noverlap": 4, "nfft": 20},
    {"nperseg": 16, "window": "hamming", "detrend": "linear"},
    {"nperseg": 16, "return_onesided": False}, {"nperseg": 16, "fs": 100.0, "detrend": False},
    {"window": np.hanning(10)}, {"nperseg": 16, "window": ("tukey", 0.25)},
    {"nperseg": 8, "noverlap": 7}, {"nperseg": 64}]
STFT_EXTRA = [{}, {"boundary": None, "padded": False}, {"boundary": "even"},
              {"boundary": "odd", "padded": False}, {"boundary": "constant"}]


def _spectral_cases(few=False):
    for kw in SPECTRAL_KWARGS[:3] if few else SPECTRAL_KWARGS:
        for extra in ({"scaling": "spectrum"}, {"average": "median"}, {}):
            yield "welch", {**kw, **extra}
        yield "csd", kw
        for extra in STFT_EXTRA:
            yield "stft", {"nperseg": 256, **kw, **extra}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("on", [False, True], ids=["x32", "x64"])
def test_spectral_shapes_dtypes_and_errors_match_jax(jax, on):
    """stft, csd and welch for every option set on real, integer, complex and float16 data
    (the real FFT rejects float16, as JAX's), in JAX's dtypes and shapes."""
    import jax.scipy.signal as js
    rng = np.random.default_rng(13)
    x, y = rng.normal(size=50) * 5, rng.normal(size=50) * 5
    with x64_both(jax, on):
        for dt in ["float32", "int32", "complex64"] + (["float64"] if on else ["float16"]):
            a = (x + 1j * y if dt == "complex64" else x).astype(dt)
            b = (y - 1j * x if dt == "complex64" else y).astype(dt)
            for name, kw in _spectral_cases(few=dt != "float32"):
                if dt == "float16" and kw.get("detrend") == "linear":
                    continue        # JAX's lstsq has no float16; funcgrad's detrend does
                args = (a, b) if name == "csd" else (a,)
                want = jax_spec(jax, lambda *v: getattr(js, name)(*v, **kw)[-1], *args)
                got = _run(lambda: getattr(fs, name)(*args, **kw)[-1])
                assert_spec_like_jax(got, want, what=f"{name} {dt} {kw}")
        x3 = rng.normal(size=(3, 40, 2)).astype(np.float32)
        y3 = rng.normal(size=(1, 33, 2)).astype(np.float32)
        for axis, (name, args) in itertools.product(
                (1, -2), [("stft", (x3,)), ("welch", (x3,)), ("csd", (x3, y3)),
                          ("csd", (x3, y3[0]))]):
            want = jax_spec(jax, lambda *v: getattr(js, name)(*v, nperseg=8, axis=axis)[-1],
                            *args)
            got = _run(lambda: getattr(fs, name)(*args, nperseg=8, axis=axis)[-1])
            assert_spec_like_jax(got, want, what=f"{name} {axis}")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_spectral_values_match_scipy_float64(x64):
    rng = np.random.default_rng(14)
    x, y = rng.normal(size=50), rng.normal(size=50)
    for dt in ("float64", "complex128"):
        a = (x + 1j * y if dt == "complex128" else x).astype(dt)
        b = (y - 1j * x if dt == "complex128" else y).astype(dt)
        for name, kw in _spectral_cases():
            args = (a, b) if name == "csd" else (a,)
            try:
                want = getattr(ss, name)(*args, **kw)
            except ValueError:          # nperseg=256 with a window of 10
                with pytest.raises(ValueError):
                    getattr(fs, name)(*args, **kw)
                continue
            got = getattr(fs, name)(*args, **kw)
            for g, w in zip(got, want):
                np.testing.assert_allclose(np.asarray(g), w, rtol=1e-9, atol=1e-12,
                                           err_msg=f"{name} {dt} {kw}")
    x3, y3 = rng.normal(size=(3, 40, 2)), rng.normal(size=(3, 33, 2))
    for g, w in zip(fs.csd(x3, y3, nperseg=8, axis=1, average="median"),
                    ss.csd(x3, y3, nperseg=8, axis=1, average="median")):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-9, atol=1e-12)


def test_spectral_values_jit_vmap_and_grad_match_jax(jax):
    import jax.scipy.signal as js
    rng = np.random.default_rng(15)
    x = rng.normal(size=(3, 40)).astype(np.float32)
    for name, kw in [("stft", {"nperseg": 8, "boundary": "odd"}),
                     ("welch", {"nperseg": 8, "average": "median", "detrend": "linear"})]:
        want = jax.jit(jax.vmap(lambda a: getattr(js, name)(a, **kw)[-1]))(x)
        np.testing.assert_allclose(fg.vmap(lambda a: getattr(fs, name)(a, **kw)[-1])(x), want,
                                   rtol=1e-4, atol=1e-5, err_msg=name)
    np.testing.assert_allclose(fg.jit(lambda a: fs.csd(a[0], a[1], nperseg=8)[1])(x),
                               js.csd(x[0], x[1], nperseg=8)[1], rtol=1e-4, atol=1e-6)
    got = fg.grad(lambda a, b: fnp.abs(fs.csd(a, b, nperseg=8)[1]).sum(), (0, 1))(x[0], x[1])
    want = jax.jit(jax.grad(lambda a, b: jax.numpy.abs(js.csd(a, b, nperseg=8)[1]).sum(),
                            (0, 1)))(x[0], x[1])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-5)
    check_grads(lambda a: fs.welch(a, nperseg=8, detrend="linear")[1], (x[0],), order=1)
    check_grads(lambda a: fs.stft(a, nperseg=8, boundary="even")[2], (x[0],), order=1)


ISTFT_CASES = [({}, {}), ({}, {"boundary": False}),
               ({"nperseg": 15, "nfft": 20, "window": "hamming", "noverlap": 5},
                {"nperseg": 15, "nfft": 20, "window": "hamming", "noverlap": 5}),
               ({"return_onesided": False}, {"input_onesided": False}),
               ({"window": np.hanning(16)}, {"window": np.hanning(16), "fs": 10.0}),
               ({"nperseg": 15}, {"nperseg": 15}),          # JAX raises TypeError here
               ({"noverlap": 0}, {"noverlap": 0})]          # JAX reads 0 as the default


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_istft_inverts_stft_and_matches_jax_and_scipy(jax, x64):
    import jax.scipy.signal as js
    rng = np.random.default_rng(16)
    x = rng.normal(size=(3, 50))
    for i, (fwd, inv) in enumerate(ISTFT_CASES):
        fwd = {"nperseg": 16, **fwd}
        inv = {"nperseg": 16, **inv} if "nperseg" not in inv and "window" not in inv else inv
        data = x + 1j * x[::-1] if fwd.get("return_onesided") is False else x
        z = ss.stft(data, **fwd)[2]
        t, got = fs.istft(z, **inv)
        for g, w in zip((t, got), ss.istft(z, **inv)):
            np.testing.assert_allclose(np.asarray(g), w, rtol=1e-9, atol=1e-12,
                                       err_msg=f"{fwd} {inv}")
        if inv.get("boundary", True) and inv.get("noverlap") != 0:
            # stft's padding is zeros: x comes back (not where the window is 0 unoverlapped)
            np.testing.assert_allclose(np.asarray(got)[..., :50], data, atol=1e-10)
        if i < 5:
            z32 = z.astype(np.complex64)
            for axes in ({}, {"time_axis": 0, "freq_axis": -1}):
                zz = np.moveaxis(z32, -1, 0) if axes else z32
                want = jax_spec(jax, lambda v: js.istft(v, **inv, **axes)[1], zz)
                assert_spec_like_jax(_run(lambda: fs.istft(zz, **inv, **axes)[1]), want,
                                     what=f"{inv} {axes}")
    z = ss.stft(x[0].astype(np.float32), nperseg=16)[2].astype(np.complex64)
    assert_spec_like_jax(_run(lambda: fs.istft(np.abs(z).astype(np.int32))[1]),
                         jax_spec(jax, lambda v: js.istft(v)[1], np.abs(z).astype(np.int32)))


def test_istft_under_jit_vmap_and_grad(jax):
    import jax.scipy.signal as js
    rng = np.random.default_rng(17)
    z = ss.stft(rng.normal(size=(2, 40)), nperseg=8)[2].astype(np.complex64)
    want = jax.jit(jax.vmap(lambda v: js.istft(v, nperseg=8)[1]))(z)
    np.testing.assert_allclose(fg.jit(fg.vmap(lambda v: fs.istft(v, nperseg=8)[1]))(z), want,
                               rtol=1e-4, atol=1e-5)
    got = fg.grad(lambda v: (fs.istft(v, nperseg=8)[1] ** 2).sum())(z[0])
    want = jax.jit(jax.grad(lambda v: (js.istft(v, nperseg=8)[1] ** 2).sum()))(z[0])
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    check_grads(lambda v: fs.istft(v, nperseg=8, boundary=False)[1], (z[0],), order=1)


# ---------------------------------------------------------------------------------------
# integrate.trapezoid


@pytest.mark.parametrize("on", [False, True], ids=["x32", "x64"])
def test_trapezoid_matches_jax_and_scipy(jax, on):
    import jax.numpy as jnp
    import jax.scipy.integrate as ji
    rng = np.random.default_rng(8)
    cases = [((5,), None, 1.0, -1), ((5,), (5,), 1.0, -1), ((3, 4), (4,), 1.0, -1),
             ((3, 4), (3,), 1.0, 0), ((3, 4), (3, 4), 1.0, 0), ((3, 4), None, 0.5, 0),
             ((3, 4), None, np.array([1.0, 2.0, 3.0]), 1), ((1,), None, 1.0, -1),
             ((4,), None, 2, -1)]
    with x64_both(jax, on):
        for (ys, xs, dx, axis), dy, dxt in itertools.product(
                cases, ["int32", "bool", "float16", "float32", "complex64"],
                ["int32", "float32"]):
            y = (rng.normal(size=ys) * 3).astype(dy)
            x = None if xs is None else np.cumsum(rng.uniform(0.5, 3, size=xs),
                                                  axis=axis if len(xs) > 1 else 0).astype(dxt)
            if x is None:
                want = jax_spec(jax, lambda p: ji.trapezoid(p, dx=dx, axis=axis), y)
            else:
                want = jax_spec(jax, lambda p, q: ji.trapezoid(p, q, axis=axis), y, x)
            got = _run(lambda: fi.trapezoid(fnp.asarray(y), None if x is None
                                            else fnp.asarray(x), dx=dx, axis=axis))
            assert_spec_like_jax(got, want, what=f"{ys} {xs} {dy} {dxt}")
            if on and dy in ("float32", "int32") and dxt == "float32":
                np.testing.assert_allclose(got[1], si.trapezoid(y, x, dx=dx, axis=axis),
                                           rtol=1e-5)
    y = rng.normal(size=(2, 5)).astype(np.float32)
    assert_like_jax(_run(lambda: fi.trapezoid(y, np.arange(5.0) ** 1.5)),
                    _run(lambda: ji.trapezoid(jnp.asarray(y), jnp.arange(5.0) ** 1.5)))
    check_grads(lambda y, x: fi.trapezoid(y, x), (rng.normal(size=5), np.arange(5.0) ** 1.5),
                order=2)
    np.testing.assert_allclose(fg.vmap(fi.trapezoid)(np.ones((2, 3), np.float32)), [2.0, 2.0])


# ---------------------------------------------------------------------------------------
# ndimage.map_coordinates

ND_MODES = ("constant", "nearest", "mirror", "wrap", "reflect")


def _coords(rng, shape, dtype):
    cs = [np.concatenate([np.arange(-2 * n - 1, 2 * n + 2, 0.5),
                          rng.uniform(-2 * n, 3 * n, size=15)]) for n in shape]
    m = min(len(c) for c in cs)
    return [c[:m].astype(dtype) for c in cs]


@pytest.mark.parametrize("on", [False, True], ids=["x32", "x64"])
def test_map_coordinates_dtypes_and_shapes_match_jax(jax, on):
    """The result keeps the input's dtype whatever the coordinates' dtype, for every order
    and mode, 1-d to 3-d inputs, coordinates broadcast together."""
    import jax.scipy.ndimage as jnd
    rng = np.random.default_rng(9)
    with x64_both(jax, on):
        cases = list(itertools.product(
            [(4, 3)], ["uint8", "int32", "bool", "float16", "float32", "complex64"],
            ["int32", "float16", "float32"] + (["int64", "float64"] if on else [])))
        cases += [((5,), "float32", "float32"), ((3, 2, 2), "int32", "float32")]
        for shape, idt, cdt in cases:
            x = (rng.normal(size=shape) * 50).astype(idt)
            coords = _coords(rng, shape, cdt)
            coords[0] = coords[0][:, None]          # broadcasts against the others
            combos = itertools.product((0, 1), ND_MODES) if idt == "float32" else \
                [(0, "constant"), (1, "constant"), (1, "wrap")]
            for order, mode in combos:
                want = jax_spec(jax, lambda a, *c: jnd.map_coordinates(a, c, order, mode), x,
                                *coords)
                got = _run(lambda: fnd.map_coordinates(x, coords, order, mode))
                assert_spec_like_jax(got, want, what=f"{shape} {idt} {cdt} {order} {mode}")


def test_map_coordinates_values_match_jax(jax):
    """Every order and mode at half-integer coordinates (where rounding and mirroring turn:
    order 0 rounds half away from zero, so -0.5 is outside in mode "constant") and random
    ones far outside; integer and boolean inputs; an axis of length 1."""
    import jax.scipy.ndimage as jnd
    rng = np.random.default_rng(10)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    coords = _coords(rng, x.shape, "float32")
    for order, mode in itertools.product((0, 1), ND_MODES):
        assert_like_jax(_run(lambda: fnd.map_coordinates(x, coords, order, mode, 1.5)),
                        _run(lambda: jax.jit(lambda a, c: jnd.map_coordinates(
                            a, c, order, mode, 1.5))(x, coords)),
                        rtol=1e-5, atol=1e-5, what=f"{order} {mode}")
    for x, mode in [((rng.normal(size=(1, 4)) * 50).astype(np.int32), "reflect"),
                    (np.array([200, 3, 100, 255], np.uint8), "constant"),
                    (np.array([True, False, False, True]), "mirror")]:
        coords = _coords(rng, x.shape, "float32")
        want = _run(lambda: jax.jit(lambda a, c: jnd.map_coordinates(a, c, 1, mode, 7))(
            x, coords))
        got = _run(lambda: fnd.map_coordinates(x, coords, 1, mode, 7))
        # JAX's fused multiply-adds can land a hair off an exact .5 that IEEE arithmetic
        # gives, so a rounded integer may differ by one
        assert_like_jax(got, want, rtol=0, atol=1, what=f"{x.dtype} {mode}")


def test_map_coordinates_matches_scipy_where_the_modes_agree(x64):
    """JAX's "wrap" and (for order 1) "constant" are SciPy's "grid-wrap" and
    "grid-constant"; "nearest", "mirror" and "reflect" are SciPy's own."""
    rng = np.random.default_rng(10)
    x = rng.normal(size=(5, 4))
    coords = [rng.uniform(-7, 11, size=50), rng.uniform(-6, 9, size=50)]
    for order, mode in itertools.product((0, 1), ND_MODES):
        sp_mode = {"wrap": "grid-wrap", "constant": "grid-constant"}.get(mode, mode)
        want = snd.map_coordinates(x, coords, order=order, mode=sp_mode, cval=-2.0)
        got = fnd.map_coordinates(x, coords, order=order, mode=mode, cval=-2.0)
        np.testing.assert_allclose(got, want, atol=1e-12, err_msg=f"{order} {mode}")


def test_map_coordinates_under_jit_vmap_and_grad(jax):
    import jax.scipy.ndimage as jnd
    x = (np.arange(12.0).reshape(3, 4) ** 1.5).astype(np.float32)
    c0 = np.array([0.5, 1.25, 2.0, -0.5, 2.5, 1.3], np.float32)
    c1 = np.array([0.1, 1.5, 3.0, 2.2, 0.7, 3.5], np.float32)
    for order, mode in [(1, "constant"), (0, "reflect")]:
        got = fg.grad(lambda a, p, q: fnd.map_coordinates(a, [p, q], order, mode, 0.5).sum(),
                      argnums=(0, 1, 2))(x, c0, c1)
        want = jax.jit(jax.grad(lambda a, p, q: jnd.map_coordinates(
            a, [p, q], order, mode, 0.5).sum(), argnums=(0, 1, 2)))(x, c0, c1)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4, err_msg=f"{order} {mode}")
    f = fg.jit(fg.vmap(lambda a, p, cv: fnd.map_coordinates(a, [p, c1], 1, "reflect", cv),
                       in_axes=(0, 0, None)))
    want = jax.jit(jax.vmap(lambda a, p: jnd.map_coordinates(a, [p, c1], 1, "reflect")))(
        np.stack([x, -x]), np.stack([c0, c0[::-1]]))
    np.testing.assert_allclose(f(np.stack([x, -x]), np.stack([c0, c0[::-1]]), 0.0), want,
                               rtol=1e-5)
    # a traced cval (JAX needs it static)
    np.testing.assert_allclose(fg.jit(lambda cv: fnd.map_coordinates(
        x[0], [[-3.0, 1.0]], 0, cval=cv))(2.5), [2.5, x[0, 1]])
    # finite differences away from the kinks at integer coordinates
    check_grads(lambda a, p, q: fnd.map_coordinates(a, [p, q], 1, "mirror"),
                (x, c0 + 0.05, c1 + 0.05), order=1)


# ---------------------------------------------------------------------------------------
# interpolate.RegularGridInterpolator


def _grid_case(rng, gshape, trailing, pd, vd, qd):
    pts = [np.cumsum(rng.integers(1, 4, size=n)).astype(pd) for n in gshape]
    vals = (rng.normal(size=gshape + trailing) * 10).astype(vd)
    q = np.stack([rng.uniform(p[0] - 1, p[-1] + 1, size=10) for p in pts], -1)
    knots = np.stack([p[np.arange(3) % len(p)] for p in pts], -1)      # on grid points
    return pts, vals, np.concatenate([q, knots]).astype(qd)


@pytest.mark.parametrize("on", [False, True], ids=["x32", "x64"])
def test_regular_grid_interpolator_matches_jax(jax, on):
    """Values and dtypes for every method and fill_value (NaN, None = extrapolate, a
    number), trailing value axes, an axis of length 1, and the dtypes of grid, values and
    query points (the linear result takes the query's and grid's type into account, the
    nearest one only the values')."""
    from jax.scipy.interpolate import RegularGridInterpolator as JR
    rng = np.random.default_rng(11)
    fl = ["float32", "float64"] if on else ["float32"]
    with x64_both(jax, on):
        cases = [(g, "float32", "float32", "float32", fill) for g in
                 [((2,), (2,)), ((3, 2, 4), ()), ((1, 3), ())]
                 for fill in (np.nan, None, -3)]
        grid_query = [("int32", "int32"), ("int32", "float16"), ("float32", "float32")] + (
            [("float64", "int32"), ("int32", "float64")] if on else [])
        cases += [(((4, 3), ()), pd, vd, qd, np.nan) for (pd, qd), vd in itertools.product(
            grid_query, ["int32", "float16", "complex64", *fl])]
        for (gshape, trailing), pd, vd, qd, fill in cases:
            pts, vals, q = _grid_case(rng, gshape, trailing, pd, vd, qd)
            for method in ("linear", "nearest"):
                want = jax_spec(jax, lambda v, qq, *g: JR(g, v, method, fill_value=fill)(qq),
                                vals, q, *pts)
                got = _run(lambda: fip.RegularGridInterpolator(
                    tuple(fnp.asarray(p) for p in pts), fnp.asarray(vals), method,
                    fill_value=fill)(fnp.asarray(q)))
                assert_spec_like_jax(got, want,
                                     what=f"{gshape}{trailing} {pd} {vd} {qd} {method} {fill}")
    # values: at grid points, nearest's ties, extrapolation, an axis of length 1, an
    # integer grid and values
    for gshape, pd, vd in [((4, 3), "int32", "float32"), ((1, 3), "float32", "int32")]:
        pts, vals, q = _grid_case(rng, gshape, (), pd, vd, "float32")
        q = np.concatenate([q, (q[:-1] + q[1:]) / 2])
        for method in ("linear", "nearest"):
            want = _run(lambda: jax.jit(lambda g, v, qq: JR(g, v, method, fill_value=None)(qq))(
                tuple(pts), vals, q))
            got = _run(lambda: fip.RegularGridInterpolator(pts, vals, method,
                                                           fill_value=None)(q))
            assert_like_jax(got, want, rtol=1e-5, atol=1e-5, what=f"{gshape} {method}")


def test_regular_grid_interpolator_matches_scipy(x64):
    rng = np.random.default_rng(12)
    pts = (np.array([0.0, 1.0, 2.5, 4.0]), np.array([-1.0, 0.0, 3.0]), np.array([1.0, 2.0]))
    vals = rng.normal(size=(4, 3, 2))
    q = np.stack([rng.uniform(-1, 5, 40), rng.uniform(-2, 4, 40), rng.uniform(0.5, 2.5, 40)],
                 -1)
    for method, fill in itertools.product(("linear", "nearest"), (np.nan, None, 7.0)):
        want = sip.RegularGridInterpolator(pts, vals, method, bounds_error=False,
                                           fill_value=fill)(q)
        got = fip.RegularGridInterpolator(pts, vals, method, fill_value=fill)(q)
        np.testing.assert_allclose(got, want, atol=1e-12, err_msg=f"{method} {fill}")
    # query forms: a tuple of arrays, one point as a 1-d array, a 1-d grid's list of points
    r = fip.RegularGridInterpolator(pts[:2], vals[..., 0])
    np.testing.assert_allclose(r((q[:5, 0], q[:5, 1])), r(q[:5, :2]))
    assert r(np.array([0.5, 0.5])).shape == (1,)
    r1 = fip.RegularGridInterpolator(pts[:1], vals[:, 0, 0])
    assert r1(np.array([0.5, 1.5, 3.0])).shape == (3,)
    assert fip.RegularGridInterpolator(pts, vals)(q, method="nearest").shape == (40,)


def test_regular_grid_interpolator_is_a_pytree_under_jit_vmap_and_grad(jax):
    from jax.scipy.interpolate import RegularGridInterpolator as JR
    pts = (np.array([0.0, 1.0, 3.0], np.float32), np.array([1.0, 2.0, 4.0, 5.0], np.float32))
    vals = (np.arange(12.0).reshape(3, 4) ** 1.3).astype(np.float32)
    q = np.array([[0.5, 1.5], [1.0, 2.0], [3.0, 5.0], [2.0, 3.0], [-1.0, 2.0], [0.0, 1.0]],
                 np.float32)
    r, jr = fip.RegularGridInterpolator(pts, vals), JR(pts, vals)
    jr_q = jax.jit(lambda r, q: r(q))(jr, q)
    leaves, tree = fg.tree_util.tree_flatten(r)
    assert len(leaves) == 4 and str(tree) == str(jax.tree_util.tree_structure(jr))
    assert fg.tree_util.tree_structure(fip.RegularGridInterpolator(pts, vals, fill_value=None)
                                       ).num_leaves == 3
    r2 = fg.tree_util.tree_unflatten(tree, [leaf * 2 for leaf in leaves])
    np.testing.assert_allclose(r2(q * 2)[:4], 2 * r(q)[:4], rtol=1e-6)
    np.testing.assert_allclose(fg.jit(lambda r, q: r(q))(r, q), jr_q, rtol=1e-6)
    batched = fg.tree_util.tree_map(lambda leaf: fnp.stack([leaf, leaf]), r)
    np.testing.assert_allclose(fg.vmap(lambda r: r(q))(batched)[1], jr_q, rtol=1e-6)
    np.testing.assert_allclose(fg.vmap(lambda v: fip.RegularGridInterpolator(pts, v)(q))(
        np.stack([vals, -vals]))[1], -np.asarray(jr_q), rtol=1e-6)
    for fill in (np.nan, None):     # at grid points the cell to the left is used, as JAX's
        got = fg.grad(lambda v, q: fnp.nansum(
            fip.RegularGridInterpolator(pts, v, fill_value=fill)(q) ** 2), (0, 1))(vals, q)
        want = jax.jit(jax.grad(lambda v, q: jax.numpy.nansum(
            JR(pts, v, fill_value=fill)(q) ** 2), (0, 1)))(vals, q)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
    check_grads(lambda v, q: fip.RegularGridInterpolator(pts, v)(q), (vals, q[:2] + 0.1),
                order=1)


# ---------------------------------------------------------------------------------------
# errors: JAX's exception types, with the function, the offending values and a fix named

ERRORS = [
    (lambda: fs.convolve(np.ones(3), np.ones((2, 2))), ValueError,
     r"convolve: .*same number of dimensions.*\(3,\) and \(2, 2\)"),
    (lambda: fs.convolve(np.ones(3), np.ones(2), mode="foo"), ValueError,
     r"convolve: mode must be one of \['full', 'same', 'valid'\], got mode='foo'"),
    (lambda: fs.correlate(np.ones(3), np.ones(2), method="foo"), ValueError,
     r"correlate: got method='foo'"),
    (lambda: fs.convolve(np.ones(0), np.ones(2)), ValueError, r"convolve: zero-size.*\(0,\)"),
    (lambda: fs.convolve(np.ones((3, 2)), np.ones((2, 3))), ValueError,
     r"at least as large.*\(3, 2\) and \(2, 3\).*fftconvolve"),
    (lambda: fs.convolve2d(np.ones(3), np.ones(2)), ValueError,
     r"convolve2d: only 2-dimensional.*\(3,\)"),
    (lambda: fs.correlate2d(np.ones((3, 3)), np.ones((2, 2)), boundary="wrap"),
     NotImplementedError, r"correlate2d: only boundary='fill'.*boundary='wrap'.*numpy.pad"),
    (lambda: fs.convolve2d(np.ones((3, 3)), np.ones((2, 2)), fillvalue=1),
     NotImplementedError, r"fillvalue=1"),
    (lambda: fs.fftconvolve(np.ones((3, 4)), np.ones((2, 2)), axes=1), ValueError,
     r"fftconvolve: .*same length on the axes not convolved.*axes=\(1,\)"),
    (lambda: fs.fftconvolve(np.ones((3, 4)), np.ones((2, 2)), axes=2), ValueError,
     r"fftconvolve: axis 2 is out of bounds"),
    (lambda: fs.fftconvolve(np.ones(3), np.ones(2), mode="x"), ValueError,
     r"fftconvolve: mode must be one of"),
    (lambda: fs.fftconvolve(np.ones(3, np.float16), np.ones(2, np.float16)), ValueError,
     r"fftconvolve: .*float16.*astype"),
    (lambda: fs.detrend(np.ones(3), type="quad"), ValueError, r"detrend: .*got type='quad'"),
    (lambda: fs.detrend(np.ones(3), bp=[5]), ValueError, r"detrend: breakpoints.*\(3\).*\[5\]"),
    (lambda: fs.detrend(np.ones(3), bp=[1.5]), TypeError, r"detrend: .*integers"),
    (lambda: fs.detrend(np.ones(3), axis=1), IndexError, r"detrend: axis 1 is out of bounds"),
    (lambda: fs.detrend(np.ones(3), overwrite_data=True), NotImplementedError,
     r"detrend: overwrite_data"),
    (lambda: fg.jit(lambda b: fs.detrend(np.ones(4), bp=b))(np.array([2])), TypeError,
     r"detrend: bp must be concrete"),
    (lambda: fs.welch(np.ones(50), nperseg=16, scaling="x"), ValueError,
     r"welch: unknown scaling 'x'"),
    (lambda: fs.csd(np.ones(50), np.ones(50), nperseg=16, average="x"), ValueError,
     r'csd: average must be "median" or "mean", got \'x\''),
    (lambda: fs.stft(np.ones(50), nperseg=16, boundary="x"), ValueError,
     r"stft: unknown boundary option 'x'"),
    (lambda: fs.stft(np.ones(50), nperseg=16, noverlap=16), ValueError,
     r"noverlap must be less than nperseg.*16"),
    (lambda: fs.welch(np.ones(50), nperseg=16, nfft=8), ValueError,
     r"nfft must be greater than or equal to nperseg.*nfft=8"),
    (lambda: fs.welch(np.ones(50), window=np.ones(8), nperseg=16), ValueError,
     r"nperseg \(16\) is different from length of window \(8\)"),
    (lambda: fs.welch(np.ones(50), window=np.ones((2, 2))), ValueError,
     r"window must be 1-D.*\(2, 2\)"),
    (lambda: fs.welch(np.ones(50), detrend=True), ValueError,
     r"welch: unsupported detrend type True"),
    (lambda: fs.csd(np.ones((2, 50)), np.ones(50)), ValueError, r"csd: .*same rank"),
    (lambda: fs.welch(np.ones(50, np.float16), nperseg=16), ValueError,
     r"welch: the real FFT needs float32.*float16"),
    (lambda: fs.istft(np.ones(9)), ValueError, r"istft: input stft must be at least 2d.*\(9,\)"),
    (lambda: fs.istft(np.ones((9, 4)), time_axis=1, freq_axis=-1), ValueError,
     r"istft: must specify differing time and frequency axes"),
    (lambda: fs.istft(np.ones((9, 4)), window=np.ones(8)), ValueError,
     r"istft: window must have length of nperseg = 16, got 8"),
    (lambda: fs.istft(np.ones((9, 4)), nfft=8), ValueError,
     r"istft: FFT length \(8\) must be longer than nperseg \(16\)"),
    (lambda: fnd.map_coordinates(np.ones(3), [np.ones(2)], order=3), NotImplementedError,
     r"map_coordinates: order must be 0 .* or 1 .*order=3"),
    (lambda: fnd.map_coordinates(np.ones(3), [np.ones(2)], 1, mode="grid-wrap"),
     NotImplementedError, r"map_coordinates: mode 'grid-wrap'.*'wrap'"),
    (lambda: fnd.map_coordinates(np.ones((3, 3)), [np.ones(2)], 1), ValueError,
     r"map_coordinates: .*input.ndim = 2.*\(3, 3\).*got 1"),
    (lambda: fnd.map_coordinates(np.ones(3), [np.ones(2, np.complex64)], 1), TypeError,
     r"map_coordinates: coordinates must be real.*complex64"),
    (lambda: fnd.map_coordinates(np.ones(0), [np.ones(2)], 1), TypeError,
     r"map_coordinates: .*\(0,\)"),
    (lambda: fip.RegularGridInterpolator([np.arange(3.0)], np.ones(3), "cubic"), ValueError,
     r"RegularGridInterpolator: method 'cubic' is not defined"),
    (lambda: fip.RegularGridInterpolator([np.arange(3.0)], np.ones(3), bounds_error=True),
     NotImplementedError, r"bounds_error=True.*fill_value"),
    (lambda: fip.RegularGridInterpolator([np.arange(3.0)], np.ones(3), fill_value=1j),
     ValueError, r"fill_value must be either None or of a type compatible.*complex"),
    (lambda: fip.RegularGridInterpolator([np.arange(3.0)], np.ones(4)), ValueError,
     r"3 points in dimension 0, but values has 4"),
    (lambda: fip.RegularGridInterpolator([np.arange(3.0)], np.ones(3))(np.ones((2, 2))),
     ValueError, r"sample points xi have dimension 2 .*has dimension 1"),
    (lambda: fip.RegularGridInterpolator([np.arange(3.0)], np.ones(3))(1.0), IndexError,
     r"got a scalar"),
]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors(i):
    f, exc, pattern = ERRORS[i]
    with pytest.raises(exc, match=pattern):
        f()


def test_submodules_are_wired_as_in_jax():
    import funcgrad.scipy.signal
    from funcgrad.scipy import integrate, interpolate, ndimage, signal
    assert fg.scipy.signal.convolve is funcgrad.scipy.signal.convolve is signal.convolve
    assert integrate.trapezoid and ndimage.map_coordinates
    assert interpolate.RegularGridInterpolator is fip.RegularGridInterpolator


def test_signatures_are_jax(jax):
    import inspect

    import jax.scipy.integrate as ji
    import jax.scipy.interpolate as jip
    import jax.scipy.ndimage as jnd
    import jax.scipy.signal as js
    for ours, theirs in [(fs, js), (fi, ji), (fnd, jnd)]:
        for name in ours.__all__:
            p = [(q.name, q.kind, q.default) for q in
                 inspect.signature(getattr(ours, name)).parameters.values()]
            w = [(q.name, q.kind, q.default) for q in
                 inspect.signature(getattr(theirs, name)).parameters.values()]
            assert [a[:2] for a in p] == [a[:2] for a in w], name
            assert [a[2] for a in p] == [a[2] for a in w], name
    for meth in ("__init__", "__call__"):
        p = inspect.signature(getattr(fip.RegularGridInterpolator, meth)).parameters
        w = inspect.signature(getattr(jip.RegularGridInterpolator, meth)).parameters
        assert list(p) == list(w), meth
        for name in p:
            a, b = p[name].default, w[name].default
            assert a == b or (isinstance(a, float) and np.isnan(a) and np.isnan(b)), name
