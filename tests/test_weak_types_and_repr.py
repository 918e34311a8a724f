"""JAX's weak types at the bottom of the lattice, an empty array's repr and `Array.item`'s
indices (found by the array_repr and array_scalar_access ports; the values are JAX
0.10.2's)."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp


@pytest.mark.parametrize("expr, dtype, weak", [
    # a strong bool or integer with a weak number of a higher kind: that weak type
    (lambda: fnp.arange(3) + 1.5, "float32", True),
    (lambda: fnp.arange(3, dtype=fnp.int8) + 1.5, "float32", True),
    (lambda: fnp.arange(2, dtype=fnp.uint8) + 2.0, "float32", True),
    (lambda: fnp.arange(3) * 1j, "complex64", True),
    (lambda: fnp.array([True]) + 1, "int32", True),
    (lambda: fnp.array([True]) + 1.5, "float32", True),
    (lambda: fnp.array([True]) * 1j, "complex64", True),
    (lambda: fnp.array(True) + 1, "int32", True),
    # a strong float with a weak complex: the complex type of its width, strong
    (lambda: fnp.ones(2, fnp.float16) * 1j, "complex64", False),
    (lambda: fnp.ones(2, fnp.bfloat16) * 1j, "complex64", False),
    # same kind: the strong type
    (lambda: fnp.arange(3, dtype=fnp.int8) + 1, "int8", False),
    (lambda: fnp.ones(2, fnp.float16) + 1.5, "float16", False),
    # Python bools are never weak
    (lambda: fnp.array(True), "bool", False),
    (lambda: fnp.asarray(False), "bool", False),
    (lambda: fnp.full((), False), "bool", False),
    (lambda: fnp.array(True) & True, "bool", False),
    (lambda: fnp.array(7), "int32", True),
])
def test_weak_types_follow_jax_lattice(expr, dtype, weak):
    v = expr()
    assert (str(v.dtype), v.weak_type) == (dtype, weak)


@pytest.mark.parametrize("expr, dtype, weak", [
    # `*_like` of a weak array is weak unless given a dtype (lax.full_like); JAX 0.10.2
    (lambda: fnp.zeros_like(fnp.asarray(2.0)), "float32", True),
    (lambda: fnp.zeros_like(2.0), "float32", True),
    (lambda: fnp.zeros_like(2), "int32", True),
    (lambda: fnp.zeros_like(fnp.asarray(2.0), shape=(3,)), "float32", True),
    (lambda: fnp.zeros_like(fnp.asarray(2.0), dtype=fnp.float32), "float32", False),
    (lambda: fnp.ones_like(fnp.asarray(2.0)), "float32", True),
    (lambda: fnp.empty_like(fnp.asarray(2.0)), "float32", True),
    (lambda: fnp.full_like(fnp.asarray(2.0), 3), "float32", True),
    (lambda: fnp.full_like(fnp.asarray(3), 3.5), "int32", True),
    (lambda: fnp.full_like(fnp.ones(3), 2.0), "float32", False),
    (lambda: fg.jit(fnp.zeros_like)(fnp.asarray(2.0)), "float32", True),
    # so scipy.special's functions of Python floats are weak, as JAX's
    (lambda: fg.scipy.special.xlogy(0.0, 0.0), "float32", True),
    (lambda: fg.scipy.special.xlog1py(0.0, -1.0), "float32", True),
    (lambda: fg.scipy.special.entr(2.0), "float32", True),
    (lambda: fg.scipy.special.rel_entr(1.0, 2.0), "float32", True),
    (lambda: fg.scipy.special.kl_div(1.0, 2.0), "float32", True),
])
def test_like_of_a_weak_array_is_weak(expr, dtype, weak):
    v = expr()
    assert (str(v.dtype), v.weak_type) == (dtype, weak)


@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "amax", "ptp", "nansum",
                                  "nanmax", "cumsum", "cumprod", "nancumsum", "log2", "log10",
                                  "nan_to_num"])
@pytest.mark.parametrize("jitted", [False, True])
def test_reductions_of_a_weak_array_are_strong(name, jitted):
    # JAX 0.10.2: jnp.sum(jnp.arange(3) + 1.5) is a strong float32 (and so are the others),
    # so with a float16 array it gives float32; funcgrad's were weak and gave float16
    f = getattr(fnp, name)
    f = fg.jit(f) if jitted else f
    for x in (fnp.arange(3) + 1.5, fnp.asarray(1.5)):
        assert x.weak_type
        v = f(x)
        assert (str(v.dtype), v.weak_type) == ("float32", False)
        assert (v * fnp.ones(3, fnp.float16)).dtype == fnp.float32


@pytest.mark.parametrize("name, nargs", [
    ("betaln", 2), ("comb", 2), ("digamma", 1), ("erfinv", 1), ("factorial", 1),
    ("gammainc", 2), ("gammaincc", 2), ("i0", 1), ("i0e", 1), ("i1", 1), ("i1e", 1),
    ("loggamma", 1), ("polygamma", 2), ("zeta", 2)])
def test_scipy_special_of_weak_arguments_is_weak(name, nargs):
    # JAX 0.10.2: weak exactly when the promoted arguments are (these lost the flag)
    f = getattr(fg.scipy.special, name)
    x = fnp.arange(3) * 0.25 + 0.5
    weak_args = [(fnp.asarray(2),) * nargs, (x,) * nargs]
    strong_args = (fnp.full(3, 0.5, fnp.float32),) * nargs
    if name == "polygamma":                         # (n must be an integer, in JAX too)
        weak_args[1] = (fnp.asarray(1), x)
        strong_args = (fnp.asarray(1), strong_args[1])
    for args in weak_args:
        v = f(*args)
        assert (str(v.dtype), v.weak_type) == ("float32", True)
    assert not f(*strong_args).weak_type


@pytest.mark.parametrize("call", [lambda: fg.scipy.special.ndtr(0.5),
                                  lambda: fg.scipy.special.log_ndtr(fnp.arange(3) + 0.5),
                                  lambda: fg.scipy.special.multigammaln(2.0, 3)])
def test_scipy_special_always_strong_as_jax(call):
    assert not call().weak_type


def test_multigammaln_of_dimension_zero_is_zero():
    # JAX: a sum over no terms (funcgrad raised IndexError)
    assert float(fg.scipy.special.multigammaln(2.0, 0)) == 0.0


def test_zeros_like_of_a_weak_array_defers_to_a_narrower_float():
    """It was strong float32, so adding a float16 array gave float32 (JAX: float16)."""
    v = fnp.zeros_like(fnp.asarray(2.0)) + fnp.ones(3, fnp.float16)
    assert v.dtype == fnp.float16


def test_a_weak_result_defers_to_a_narrower_float():
    """i32 + 1.5 is a weak float32, so with a float16 array it gives float16 (JAX)."""
    v = (fnp.arange(3) + 1.5) * fnp.ones(3, fnp.float16)
    assert v.dtype == fnp.float16 and not v.weak_type


def test_weak_result_under_jit_matches_eager():
    f = lambda x: x + 1.5                          # noqa: E731
    x = fnp.arange(3)
    assert fg.jit(f)(x).weak_type == f(x).weak_type is True


def test_empty_array_repr_names_its_shape():
    assert repr(fnp.zeros((0, 3))) == "Array([], shape=(0, 3), dtype=float32)"
    assert repr(fnp.array([], dtype=fnp.int32)) == "Array([], shape=(0,), dtype=int32)"
    assert repr(fnp.zeros(2)) == "Array([0., 0.], dtype=float32)"


def test_item_takes_numpy_indices():
    x = fnp.arange(12.0).reshape(3, 4)
    assert x.item(5) == 5.0 and x.item(2, 1) == 9.0 and x.item((1, 3)) == 7.0
    assert fnp.sum(x).item() == 66.0
    assert type(fnp.arange(3).item(1)) is int
    with pytest.raises(IndexError, match=r"Array.item\(20,\).*shape \(3, 4\)"):
        x.item(20)
    with pytest.raises(TypeError, match="size-1"):
        x.item()
    np.testing.assert_equal(fg.jit(lambda v: v * 2)(x).item(1, 1), 10.0)


# --- jax.dtypes (funcgrad.dtypes is what `import jax.dtypes` becomes) ----------------------

def test_dtypes_result_type_takes_jax_arguments():
    from funcgrad import dtypes
    assert dtypes.result_type(fnp.int8, 2.0) == np.float32
    assert dtypes.result_type(fnp.uint8, fnp.int8) == np.int16
    assert dtypes.result_type(fnp.float16, 1j) == np.complex64
    assert dtypes.result_type(fnp.bfloat16, fnp.float16) == np.float32
    assert dtypes.result_type(fnp.ones(2, fnp.int16), 3) == np.int16
    assert dtypes.result_type(np.float64) == np.float32               # x64 off
    assert dtypes.result_type(2.0, return_weak_type_flag=True) == (np.float32, True)
    assert dtypes.result_type(fnp.ones(2), return_weak_type_flag=True) == (np.float32, False)
    # funcgrad's own form: (dtype, weak) pairs in, (dtype, weak) out
    assert dtypes.result_type((np.dtype(np.int32), False), (np.dtype(np.float32), True)) == \
        (np.float32, True)
    with pytest.raises(ValueError, match="at least one"):
        dtypes.result_type()


def test_dtypes_canonicalize_issubdtype_scalar_type_of_finfo():
    from funcgrad import dtypes
    assert [str(dtypes.canonicalize_dtype(d)) for d in
            (np.float64, np.int64, np.uint64, np.complex128, bool, float, fnp.bfloat16)] == \
        ["float32", "int32", "uint32", "complex64", "bool", "float32", "bfloat16"]
    assert dtypes.issubdtype(fnp.bfloat16, fnp.floating)
    assert dtypes.issubdtype(fnp.int4, fnp.signedinteger)
    assert not dtypes.issubdtype(fnp.int4, fnp.floating)
    assert fnp.issubdtype is dtypes.issubdtype
    assert [dtypes.scalar_type_of(v).__name__ for v in
            (1, 2.0, True, 1j, fnp.ones((), fnp.int8))] == ["int", "float", "bool", "complex",
                                                            "int"]
    assert float(dtypes.finfo(fnp.bfloat16).eps) == 2.0 ** -7
    assert float(dtypes.finfo(fnp.float16).max) == 65504.0
