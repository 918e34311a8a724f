"""funcgrad.numpy's array creation against JAX 0.10.2: converting Python values to a
requested dtype (`array`/`asarray`) and `linspace`'s bits. The expected values were recorded
from JAX (JAX itself is never imported here)."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp

pytestmark = pytest.mark.core


# --- Python ints out of the requested dtype's range --------------------------------------

@pytest.mark.parametrize("make, value, dtype", [
    (lambda: fnp.array([-1, 2], dtype=fnp.uint8), -1, "uint8"),
    (lambda: fnp.asarray([-1, 2], dtype=fnp.uint8), -1, "uint8"),
    (lambda: fnp.array(-1, dtype=fnp.uint8), -1, "uint8"),
    (lambda: fnp.asarray(300, dtype=fnp.uint8), 300, "uint8"),
    (lambda: fnp.array([200], dtype=fnp.int8), 200, "int8"),
    (lambda: fnp.array([[1, 2], [3, 256]], dtype=fnp.uint8), 256, "uint8"),
    (lambda: fnp.array((1, -1), dtype=fnp.uint16), -1, "uint16"),
    (lambda: fnp.array([-1, 2.5], dtype=fnp.uint8), -1, "uint8"),
    (lambda: fnp.array([2 ** 32], dtype=fnp.uint32), 2 ** 32, "uint32"),
    (lambda: fnp.array([2 ** 31], dtype=fnp.int32), 2 ** 31, "int32"),
    (lambda: fnp.array([1e10], dtype=fnp.int32), 10 ** 10, "int32"),
    # the list's own dtype (int32 while x64 is off), and int64 requested without x64
    (lambda: fnp.array([1, 2 ** 31]), 2 ** 31, "int32"),
    (lambda: fnp.array([2 ** 40], dtype=fnp.int64), 2 ** 40, "int32"),
    # a list holding arrays: each Python int converts to the dtype, given or promoted
    (lambda: fnp.array([fnp.array(1), 300], dtype=fnp.uint8), 300, "uint8"),
    (lambda: fnp.array([fnp.array(1, fnp.uint8), -1]), -1, "uint8"),
    (lambda: fg.jit(lambda: fnp.array([-1], dtype=fnp.uint8))(), -1, "uint8"),
])
@pytest.mark.filterwarnings("ignore:Explicitly requested dtype int64")
def test_a_python_int_out_of_range_raises_as_in_jax(make, value, dtype):
    # JAX 0.10.2: OverflowError "Python integer -1 out of bounds for uint8" (NumPy's check
    # in np.asarray(object, dtype)); funcgrad wrapped -1 to 255.
    name = "asarray" if "asarray" in make.__code__.co_names else "array"
    with pytest.raises(OverflowError, match=rf"^{name}: Python integer {value} out of "
                                            rf"bounds for {dtype} "):
        make()


def test_a_python_int_scalar_beyond_int32_names_the_default_dtype():
    with pytest.raises(OverflowError, match=r"^array: Python int 2147483648 too large to "
                                            r"convert to int32"):
        fnp.array(2 ** 31)


def test_numpy_values_and_arrays_are_cast_not_checked():
    # JAX casts NumPy arrays and scalars, and arrays inside lists, with wraparound
    cases = [
        (fnp.array(np.array([-1, 300]), dtype=fnp.uint8), [255, 44]),
        (fnp.asarray(np.array([-1, 300]), dtype=fnp.uint8), [255, 44]),
        (fnp.array(np.int64(-1), dtype=fnp.uint8), 255),
        (fnp.array([np.int64(-1), 2], dtype=fnp.uint8), [255, 2]),
        (fnp.array([fnp.int32(-1), 2], dtype=fnp.uint8), [255, 2]),
        (fnp.array(fnp.array([-1, 300]), dtype=fnp.uint8), [255, 44]),
        (fnp.full(3, -1, dtype=fnp.uint8), [255, 255, 255]),
        (fnp.array([2 ** 32 - 1], dtype=fnp.uint32), [2 ** 32 - 1]),
        (fnp.array([-2 ** 31, 1]), [-2 ** 31, 1]),
        (fnp.array([3.7, -3.7], dtype=fnp.int32), [3, -3]),
        (fnp.array([True, 2], dtype=fnp.bool_), [True, True]),
    ]
    for got, want in cases:
        np.testing.assert_array_equal(np.asarray(got), want)
    assert fnp.array(np.array([-1, 300]), dtype=fnp.uint8).dtype == np.uint8


@pytest.mark.parametrize("dtype", [">f4", ">i4", ">f8"])
def test_a_non_native_byte_order_names_the_conversion(dtype):
    """Arrays read from big-endian files (MNIST's idx format, FITS) hold the values of a
    supported dtype in the other byte order: the error says so and how to convert (JAX
    rejects them with a generic message)."""
    x = np.arange(3, dtype=dtype)
    for call in (lambda: fnp.asarray(x), lambda: fg.jit(lambda a: a * 2)(x)):
        with pytest.raises(TypeError, match=r"non-native byte order.*newbyteorder\('='\)"):
            call()
    assert np.array_equal(fnp.asarray(x.astype(x.dtype.newbyteorder("="))), x)


def test_narrow_integers_wrap_as_in_jax():
    # ml_dtypes' int4 has no range check in NumPy's conversion: JAX gives -7 for 9
    assert int(fnp.array(9, dtype=fnp.int4)) == -7
    assert np.asarray(fnp.array([9], dtype=fnp.int4)).astype(int).tolist() == [-7]
    assert np.asarray(fnp.array([-1], dtype=fnp.uint4)).astype(int).tolist() == [15]


def test_python_ints_convert_straight_to_a_float_dtype():
    # funcgrad converted the list to int32 first: 2**31 became -2147483648.0
    x = fnp.array([1, 2 ** 31], dtype=fnp.float32)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(x), [1.0, 2.0 ** 31])


def test_a_list_of_arrays_and_python_scalars_is_strongly_typed():
    # JAX converts each element to the leaves' promoted dtype: the result is strong
    for value, dtype in (([fnp.array(1.0), 2.0], np.float32), ([fnp.array(1), 2.5], np.float32),
                         ([fnp.array(1, fnp.uint8), 3], np.uint8)):
        x = fnp.array(value)
        assert x.dtype == dtype and not x.weak_type


# --- linspace: JAX's bits ------------------------------------------------------------------
# Recorded from JAX 0.10.2 on CPU (jax.config jax_enable_x64 on, so float64 is float64): the
# values' bits, big-endian hex per element. JAX computes start * (1 - t) + stop * t with
# t = i / div in the dtype; XLA turns that into r = 1 / div, fused multiply-adds and
# constant folding (funcgrad/numpy/_creation.py, _linspace_fma). funcgrad gave 0.0 for
# linspace(-1, 1, 11, dtype=float32)[5], JAX 7.450580596923828e-09 (0x32000000).

SMALL = [   # (dtype, start, stop, num, endpoint, bits of JAX 0.10.2's values)
    ('float32', -1, 1, 11, True,
         'bf800000bf4cccccbf19999abeccccccbe4cccce320000003e4ccccf3ecccccd'
         '3f19999a3f4cccce3f800000'),
    ('float32', 0.3, 7.1, 10, False,
         '3e99999a3f7ae1473fd47ae14015c28f404147ae406ccccc408c28f540a1eb85'
         '40b7ae1440cd70a3'),
    ('float32', -2.5, 3.7, 7, True, 'c0200000bfbbbbbbbeddddd83f19999a3fd11112402aaaab406ccccd'),
    ('float32', -1, 1, 12, True,
         'bf800000bf51745cbf22e8babee8ba2fbe8ba2e8bdba2e843dba2e903e8ba2e9'
         '3ee8ba303f22e8bc3f51745e3f800000'),
    ('float32', 10, 20, 5, False, '4120000041400000416000004180000041900000'),
    ('float32', 0.3, 7.1, 2, True, '3e99999a40e33333'),
    ('float32', 0.3, 7.1, 2, False, '3e99999a406ccccd'),
    ('float32', 0.3, 7.1, 1, True, '3e99999a'),
    ('float32', 0.3, 7.1, 1, False, '3e99999a'),
    ('float32', 0.3, 7.1, 0, True, ''),
    ('float64', -1, 1, 11, True,
         'bff0000000000000bfe999999999999abfe3333333333334bfd9999999999998'
         'bfc99999999999983c800000000000003fc999999999999e3fd999999999999c'
         '3fe33333333333343fe999999999999a3ff0000000000000'),
    ('float64', 0.3, 7.1, 10, False,
         '3fd33333333333333fef5c28f5c28f5c3ffa8f5c28f5c28f4002b851eb851eb8'
         '400828f5c28f5c29400d9999999999994011851eb851eb8540143d70a3d70a3d'
         '4016f5c28f5c28f54019ae147ae147ae'),
    ('float64', -2.5, 3.7, 7, True,
         'c004000000000000bff7777777777778bfdbbbbbbbbbbbc03fe3333333333334'
         '3ffa2222222222224005555555555555400d99999999999a'),
    ('float64', -1, 1, 12, True,
         'bff0000000000000bfea2e8ba2e8ba2ebfe45d1745d1745cbfdd1745d1745d18'
         'bfd1745d1745d174bfb745d1745d17423fb745d1745d17443fd1745d1745d174'
         '3fdd1745d1745d183fe45d1745d1745e3fea2e8ba2e8ba303ff0000000000000'),
    ('float64', 10, 20, 5, False,
         '40240000000000004028000000000000402c0000000000004030000000000000'
         '4032000000000000'),
    ('float64', 0.3, 7.1, 2, True, '3fd3333333333333401c666666666666'),
    ('float64', 0.3, 7.1, 2, False, '3fd3333333333333400d999999999999'),
    ('float64', 0.3, 7.1, 1, True, '3fd3333333333333'),
    ('float64', 0.3, 7.1, 1, False, '3fd3333333333333'),
    ('float64', 0.3, 7.1, 0, True, ''),
    ('float16', -1, 1, 11, True, 'bc00ba66b8ccb668b26800003260366438cc3a663c00'),
    ('float16', 0.3, 7.1, 10, False, '34cd3bd73ea440ae420a43674461450f45bd466c'),
    ('float16', -2.5, 3.7, 7, True, 'c100bddfb6f838ca3e8641544366'),
    ('float16', -1, 1, 12, True, 'bc00ba8cb918b747b45faddc2dd0345c374439163a8a3c00'),
    ('float16', 10, 20, 5, False, '49004a004b004c004c80'),
    ('float16', 0.3, 7.1, 2, True, '34cd471a'),
    ('float16', 0.3, 7.1, 2, False, '34cd4367'),
    ('float16', 0.3, 7.1, 1, True, '34cd'),
    ('float16', 0.3, 7.1, 1, False, '34cd'),
    ('float16', 0.3, 7.1, 0, True, ''),
    ('bfloat16', -1, 1, 11, True, 'bf80bf4cbf1abeccbe4e00003e503ecc3f1a3f4c3f80'),
    ('bfloat16', 0.3, 7.1, 10, False, '3e9a3f7b3fd540164042406d408d40a240b840cd'),
    ('bfloat16', -2.5, 3.7, 7, True, 'c020bfbbbed83f1a3fd2402a406d'),
    ('bfloat16', -1, 1, 12, True, 'bf80bf52bf24bee8be8cbdbc3dc03e8c3ee83f223f523f80'),
    ('bfloat16', 10, 20, 5, False, '41204140416041804190'),
    ('bfloat16', 0.3, 7.1, 2, True, '3e9a40e3'),
    ('bfloat16', 0.3, 7.1, 2, False, '3e9a406d'),
    ('bfloat16', 0.3, 7.1, 1, True, '3e9a'),
    ('bfloat16', 0.3, 7.1, 1, False, '3e9a'),
    ('bfloat16', 0.3, 7.1, 0, True, ''),
]

LARGE = [   # (dtype, start, stop, num, endpoint, sha256 of the bytes, first 16 hex)
    ('float32', -2.5, 3.7, 40, True, '5c220c75a04d9722'),
    ('float32', -2.5, 3.7, 200, False, '1fca8fa04488531a'),
    ('float32', -2.5, 3.7, 352, False, 'e4351aeac6abc668'),
    ('float32', -2.5, 3.7, 400, True, 'd85ac575dd04ce39'),
    ('float32', 0.3, 7.1, 1000, False, '6b756aba43e68c49'),
    ('float32', -1, 1, 2001, True, '757111719cdbefbf'),
    ('float64', -2.5, 3.7, 40, True, '6fd87f2261c650ed'),
    ('float64', -2.5, 3.7, 200, False, '871403dff9106625'),
    ('float64', -2.5, 3.7, 352, False, 'ea11cf9680edca26'),
    ('float64', -2.5, 3.7, 400, True, '6203dd91c774bae7'),
    ('float64', 0.3, 7.1, 1000, False, '53c854a671c30eb9'),
    ('float64', -1, 1, 2001, True, '6f5d298072ac3913'),
]

ARRAYS = [  # (num, endpoint, axis, sha256 prefix): start [0.3, -2.5, 10], stop [7.1, 3.7, 20]
    (11, True, 0, '7456fc97c8d7f2de'),
    (11, True, 1, '8503ddb00cfd2de8'),
    (7, False, -1, 'b89e6b5f26ce6de3'),
    (200, True, 0, '1f5d185770d2da3f'),
    (200, False, 1, '63980d447cc6afb1'),
]

A_START = np.array([0.3, -2.5, 10.0], np.float32)
A_STOP = np.array([7.1, 3.7, 20.0], np.float32)


def _bits(x):
    x = np.asarray(x)
    return "".join(f"{v:0{x.dtype.itemsize * 2}x}" for v in
                   x.view(f"u{x.dtype.itemsize}").ravel())


def _digest(x):
    return hashlib.sha256(np.ascontiguousarray(np.asarray(x)).tobytes()).hexdigest()[:16]


@pytest.mark.parametrize("dtype, start, stop, num, endpoint, want", SMALL)
def test_linspace_has_jax_bits(x64, dtype, start, stop, num, endpoint, want):
    x = fnp.linspace(start, stop, num, endpoint=endpoint, dtype=getattr(fnp, dtype))
    assert x.dtype == np.dtype(getattr(fnp, dtype)) and x.shape == (num,)
    assert _bits(x) == want


@pytest.mark.parametrize("dtype, start, stop, num, endpoint, want", LARGE)
def test_linspace_has_jax_bits_in_xla_vector_loops(x64, dtype, start, stop, num, endpoint,
                                                   want):
    x = fnp.linspace(start, stop, num, endpoint=endpoint, dtype=getattr(fnp, dtype))
    assert x.shape == (num,) and _digest(x) == want


@pytest.mark.parametrize("num, endpoint, axis, want", ARRAYS)
def test_linspace_of_array_endpoints_has_jax_bits(num, endpoint, axis, want):
    x = fnp.linspace(A_START, A_STOP, num, endpoint=endpoint, axis=axis)
    assert x.dtype == np.float32 and _digest(x) == want


def test_linspace_the_brief_value():
    x = fnp.linspace(-1, 1, 11, dtype=fnp.float32)
    assert float(x[5]) == 7.450580596923828e-09


def test_linspace_under_jit_has_jax_constant_folded_bits():
    # JAX under jit folds constant endpoints without fused multiply-adds: 0.0 at [5]
    f = fg.jit(lambda: fnp.linspace(-1.0, 1.0, 11, dtype=fnp.float32))
    assert _bits(f()) == ('bf800000bf4cccccbf19999abeccccccbe4cccce000000003e4cccd03ecccccc'
                          '3f19999a3f4cccce3f800000')
    g = fg.jit(lambda: fnp.linspace(0.3, 7.1, 10, endpoint=False, dtype=fnp.float32))
    assert _bits(g()) == ('3e99999a3f7ae1483fd47ae14015c28f404147ae406ccccd408c28f540a1eb85'
                          '40b7ae1440cd70a4')


def test_linspace_step_and_degenerate_sizes():
    # retstep: (stop - start) * (1 / div) as XLA computes it (0.68, not 0.67999995);
    # NaN for num=0 and for num=1 with endpoint, stop - start for num=1 without
    _, step = fnp.linspace(0.3, 7.1, 10, endpoint=False, retstep=True)
    assert float(step) == float(np.float32(0.68))
    x, step = fnp.linspace(0.3, 7.1, 1, retstep=True)
    assert np.asarray(x).tolist() == [float(np.float32(0.3))] and np.isnan(float(step))
    _, step = fnp.linspace(0.3, 7.1, 1, endpoint=False, retstep=True)
    assert float(step) == float(np.float32(7.1) - np.float32(0.3))
    x, step = fnp.linspace(A_START, A_STOP, 0, retstep=True)
    assert x.shape == (0, 3) and step.shape == () and np.isnan(float(step))
    x, step = fnp.linspace(A_START, A_STOP, 1, retstep=True)
    assert x.shape == (1, 3) and step.shape == () and np.isnan(float(step))
    with pytest.raises(ValueError, match="number of samples, -1, must be non-negative"):
        fnp.linspace(0.0, 1.0, -1)
    assert _bits(fnp.linspace(1 + 2j, 3 - 1j, 4, dtype=fnp.complex64)) == \
        '400000003f8000003f7ffffe3fd55555b380000040155555bf80000040400000'
    assert _bits(fnp.linspace(-1, 1, 12, dtype=fnp.float16, retstep=True)[1]) == "31d1"
    assert _bits(fnp.linspace(-1, 1, 12, dtype=fnp.bfloat16, retstep=True)[1]) == "3e3a"
