"""funcgrad.numpy's array creation against JAX 0.10.2: converting Python values to a
requested dtype (`array`/`asarray`) and `linspace`'s bits. The expected values were recorded
from JAX (JAX itself is never imported here)."""
from __future__ import annotations

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
