"""Reduced precision: float32 accumulation of bfloat16/float16 products and sums
(`preferred_element_type`, as JAX), their derivatives' dtypes, and
`funcgrad.mixed_precision` (policies, loss scaling, a jitted training step)."""
import numpy as np
import pytest

import funcgrad as fg
from funcgrad import lax
from funcgrad import numpy as fnp

pytestmark = pytest.mark.core

HALF = ["float16"]


def _ints(shape, seed, lo=-64, hi=65):
    return np.random.RandomState(seed).randint(lo, hi, shape).astype(np.float32)


@pytest.mark.parametrize("dtype", HALF)
def test_dot_and_sum_accumulate_in_float32(dtype):
    # Summed in 16 bits, 1 + 511 * 2**-8 stays 1 (each step rounds the 2**-8 away).
    v = np.array([1.0] + [2.0 ** -8] * 511, np.float32)
    vh, ones = fnp.asarray(v).astype(dtype), fnp.ones(512, dtype)
    exact = np.float32(1 + 511 * 2.0 ** -8)
    assert float(fnp.dot(ones, vh)) == float(exact.astype(dtype))
    assert float(lax.dot(ones, vh, preferred_element_type=np.float32)) == exact
    assert float(fnp.sum(vh)) == float(exact.astype(dtype))
    # Integer-valued operands: the float32 sums are exact, so accumulating in float32 and
    # rounding once gives exactly the exact product rounded to the 16-bit type.
    a, b = _ints((6, 64), 0), _ints((64, 5), 1)
    exact = a.astype(np.float64) @ b
    ah, bh = fnp.asarray(a).astype(dtype), fnp.asarray(b).astype(dtype)
    out = fnp.matmul(ah, bh)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.asarray(out).astype(np.float64),
                                  exact.astype(dtype).astype(np.float64))
    out32 = lax.dot_general(ah, bh, (((1,), (0,)), ((), ())), preferred_element_type="float32")
    assert out32.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(out32), exact)


@pytest.mark.parametrize("dtype", HALF)
def test_gradients_of_reduced_precision_dot_and_conv(dtype):
    """The cotangent of a 16-bit operand is 16-bit, with a float32 or a 16-bit result;
    values agree with the float32 computation within the 16-bit type's rounding."""
    rng = np.random.RandomState(0)
    a, b = rng.randn(5, 7).astype(dtype), rng.randn(7, 3).astype(dtype)
    x, w = rng.randn(2, 5, 5, 3).astype(dtype), rng.randn(3, 3, 3, 4).astype(dtype)
    dn = ("NHWC", "HWIO", "NHWC")

    def loss(a, b, x, w, pet):
        d = lax.dot(a, b, preferred_element_type=pet)
        c = lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=dn,
                                     preferred_element_type=pet)
        return fnp.sum(d.astype(np.float32) ** 2) + fnp.sum(c.astype(np.float32) ** 2)

    args32 = [np.asarray(t, np.float32) for t in (a, b, x, w)]
    want = fg.grad(loss, argnums=(0, 1, 2, 3))(*args32, None)
    eps = float(fnp.finfo(dtype).eps)
    for pet in (None, np.float32):
        got = fg.grad(loss, argnums=(0, 1, 2, 3))(a, b, x, w, pet)
        for g, r in zip(got, want):
            assert g.dtype == np.dtype(dtype)
            r = np.asarray(r)
            err = np.abs(np.asarray(g).astype(np.float32) - r).max() / np.abs(r).max()
            assert err < 4 * eps, (pet, err)


def test_preferred_element_type_errors():
    a = fnp.ones((2, 2), np.float32)
    with pytest.raises(TypeError, match="dot_general: preferred_element_type int32"):
        lax.dot(a, a, preferred_element_type=np.int32)
