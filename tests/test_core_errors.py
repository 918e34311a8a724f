"""What a user sees when things go wrong: each error names the operation, the shapes or
dtypes involved, and what to do instead."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

pytestmark = pytest.mark.core


def test_shape_mismatch_names_op_and_shapes():
    with pytest.raises((TypeError, ValueError)) as e:
        fnp.ones((2, 3)) + fnp.ones((4,))
    msg = str(e.value)
    assert "add" in msg and "(2, 3)" in msg and "(4,)" in msg
    with pytest.raises((TypeError, ValueError)) as e:
        fnp.ones((2, 3)) @ fnp.ones((2, 3))
    msg = str(e.value)
    assert "matmul" in msg or "dot" in msg
    assert "(2, 3)" in msg
    with pytest.raises((TypeError, ValueError)) as e:
        fg.jit(lambda a, b: a * b)(fnp.ones(3), fnp.ones(2))
    assert "mul" in str(e.value) and "(3,)" in str(e.value) and "(2,)" in str(e.value)
    with pytest.raises((TypeError, ValueError)) as e:
        fnp.reshape(fnp.ones(6), (4, 2))
    assert "reshape" in str(e.value) and "6" in str(e.value)
    with pytest.raises((TypeError, ValueError)) as e:
        fnp.concatenate([fnp.ones((2, 3)), fnp.ones((2, 4))], axis=0)
    assert "concatenate" in str(e.value)


def test_python_if_on_traced_value_under_jit():
    def f(x):
        if x > 0:
            return x
        return -x

    with pytest.raises(fg.ConcretizationTypeError) as e:
        fg.jit(f)(1.0)
    msg = str(e.value)
    assert "lax.cond" in msg and "static_argnums" in msg and "bool" in msg
    assert isinstance(e.value, TypeError)
    # the suggested fixes work
    assert float(fg.jit(f, static_argnums=0)(-2.0)) == 2.0
    assert float(fg.jit(lambda x: lax.cond(x > 0, lambda v: v, lambda v: -v, x))(-2.0)) == 2.0
    # under grad (no jit) Python control flow on values is fine, as in JAX
    assert float(fg.grad(f)(-3.0)) == -1.0


@pytest.mark.parametrize("conv", [int, float, bool])
def test_concrete_conversions_under_jit(conv):
    with pytest.raises(fg.ConcretizationTypeError) as e:
        fg.jit(lambda x: conv(x) * x)(fnp.asarray(1.0))
    msg = str(e.value)
    assert f"{conv.__name__}()" in msg and "lax.cond" in msg
    with pytest.raises(fg.ConcretizationTypeError):
        fg.vmap(lambda x: conv(x) * x)(fnp.ones(2))


def test_numpy_conversion_under_jit():
    # JAX's class for it: TracerArrayConversionError (a TypeError, not a concretization one)
    with pytest.raises(fg.errors.TracerArrayConversionError, match="np.asarray"):
        fg.jit(lambda x: np.asarray(x) * 2)(fnp.ones(2))


def test_grad_of_integer_input():
    with pytest.raises(TypeError) as e:
        fg.grad(lambda x: fnp.sum(x * 2.0))(fnp.arange(3))
    msg = str(e.value)
    assert "int32" in msg and ("float" in msg) and "argument 0" in msg
    with pytest.raises(TypeError, match="int32"):
        fg.grad(lambda x, y: x * y, argnums=1)(1.0, 2)
    with pytest.raises(TypeError, match="int"):
        fg.jacrev(lambda x: x * 2)(fnp.arange(3))
    # allowed when not differentiated
    assert float(fg.grad(lambda x, n: x * n)(2.0, 3)) == 3.0


def test_grad_of_non_scalar_output():
    with pytest.raises(TypeError) as e:
        fg.grad(lambda x: x * 2)(fnp.ones(3))
    msg = str(e.value)
    assert "scalar" in msg and "(3,)" in msg and ("jacrev" in msg or "vjp" in msg)
    with pytest.raises(TypeError, match="float"):
        fg.grad(lambda x: fnp.sum(x > 0))(fnp.ones(3))


_leaked = []


def test_leaked_tracer_is_detected_when_used():
    @fg.jit
    def f(x):
        _leaked.append(x)
        return x * 2

    f(fnp.ones(2))
    with pytest.raises(fg.UnexpectedTracerError) as e:
        _leaked[0] + 1.0
    msg = str(e.value)
    assert "escaped" in msg.lower() or "leak" in msg.lower()
    assert "f32[2]" in msg
    with pytest.raises(fg.UnexpectedTracerError):
        fg.jit(lambda y: y * _leaked[0])(fnp.ones(2))
    _leaked.clear()

    def g(x):
        _leaked.append(x)
        return fnp.sum(x ** 2)

    fg.grad(g)(fnp.ones(2))
    with pytest.raises(fg.UnexpectedTracerError):
        fnp.sin(_leaked[0])
    _leaked.clear()


def test_vmap_inconsistent_axis_sizes_names_them():
    with pytest.raises(ValueError) as e:
        fg.vmap(lambda a, b: a + b)(fnp.ones((3, 2)), fnp.ones((4, 2)))
    msg = str(e.value)
    assert "inconsistent sizes" in msg and "3" in msg and "4" in msg
    assert "(3, 2)" in msg and "(4, 2)" in msg
    with pytest.raises(ValueError, match="axis 2"):
        fg.vmap(lambda a: a, in_axes=2)(fnp.ones((3, 2)))


def test_vmap_in_axes_structure_mismatch_says_which():
    with pytest.raises(ValueError) as e:
        fg.vmap(lambda a, b: a, in_axes=(0, None, 0))(fnp.ones(3), fnp.ones(3))
    assert "in_axes" in str(e.value) and "3" in str(e.value) and "2" in str(e.value)
    with pytest.raises(ValueError) as e:
        fg.vmap(lambda d: d["a"], in_axes=({"a": 0, "c": 0},))({"a": fnp.ones(3),
                                                                "b": fnp.ones(3)})
    msg = str(e.value)
    assert "in_axes" in msg and ("'c'" in msg or "c" in msg)
    with pytest.raises(ValueError, match="in_axes"):
        fg.vmap(lambda t: t[0], in_axes=((0, 0),))((fnp.ones(3), fnp.ones(3), fnp.ones(3)))


def test_in_place_write_points_to_at():
    x = fnp.ones(3)
    with pytest.raises(TypeError, match=r"x\.at\[idx\]\.set"):
        x[0] = 2.0
    with pytest.raises(TypeError, match=r"\.at"):
        fg.jit(lambda v: v.__setitem__(0, 1.0))(x)


def test_dtype_errors_name_dtypes():
    with pytest.raises(TypeError) as e:
        lax.add(fnp.ones(2, np.float32), fnp.ones(2, np.int32))
    assert "float32" in str(e.value) and "int32" in str(e.value)
    with pytest.raises(TypeError, match="integer"):
        fnp.bitwise_and(fnp.ones(2), fnp.ones(2))


def test_control_flow_errors():
    with pytest.raises(TypeError, match="carry"):
        lax.scan(lambda c, x: (c.astype(np.int32), x), 0.0, fnp.ones(3))
    with pytest.raises(TypeError, match="branches"):
        fg.jit(lambda p, x: lax.cond(p, lambda v: v, lambda v: v[:1], x))(True, fnp.ones(2))
    with pytest.raises(TypeError, match="boolean scalar"):
        lax.while_loop(lambda v: v, lambda v: v, fnp.ones(2))
    with pytest.raises(ValueError, match="inconsistent"):
        lax.scan(lambda c, x: (c, x[0] + x[1]), 0.0, (fnp.ones(3), fnp.ones(4)))


@pytest.mark.parametrize("make", [lambda n: fnp.zeros(n), lambda n: fnp.ones((n, 2)),
                                  lambda n: fnp.full((2, n), 1.0)],
                         ids=["zeros", "ones", "full"])
def test_traced_shape_is_a_concretization_error(make):
    with pytest.raises(fg.ConcretizationTypeError, match="static_argnums"):
        fg.jit(make)(3)
    assert fg.jit(make, static_argnums=0)(3).size == 3 * (1 if make(1).ndim == 1 else 2)


# --- messages found wanting while writing docs/errors.md -----------------------------------

def test_bad_config_values_name_the_option_and_their_source(monkeypatch):
    with pytest.raises(ValueError, match=r"option 'debug_nans' \(config.update\('jax_debug_nans'"):
        fg.config.update("jax_debug_nans", "perhaps")
    monkeypatch.setenv("FUNCGRAD_LOG_COMPILES", "maybe")
    with pytest.raises(ValueError, match="environment variable FUNCGRAD_LOG_COMPILES"):
        fg.config.read("log_compiles")


def test_jax_platform_names_in_the_environment(monkeypatch):
    from funcgrad.backends import default_backend_name
    monkeypatch.setenv("FUNCGRAD_BACKEND", "cpu")
    with fg.config.override("backend", None):     # (the tests' own choice set aside)
        assert default_backend_name() == "c"
    monkeypatch.setenv("FUNCGRAD_BACKEND", "tpu")
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        with fg.config.override("backend", None):
            default_backend_name()


def test_deleted_and_donated_arrays_say_which():
    x = fnp.ones(3)
    x.delete()
    with pytest.raises(RuntimeError, match=r"was deleted \(Array.delete\(\)\)"):
        x + 1
    y = fnp.ones(3)
    fg.jit(lambda a: a * 2, donate_argnums=0)(y)
    with pytest.raises(RuntimeError, match="was donated .donate_argnums of a jitted"):
        y + 1


def test_unknown_static_argnames_are_refused():
    with pytest.raises(ValueError, match="static_argnames names 'b'"):
        fg.jit(lambda a: a, static_argnames=("b",))
    assert fg.jit(lambda a, **kw: a, static_argnames=("b",))(1.0, b=2) == 1.0


def test_eager_cond_checks_every_branch():
    from funcgrad import lax
    with pytest.raises(TypeError, match="same shapes and dtypes"):
        lax.cond(fnp.array(True), lambda x: x, lambda x: x[:2], fnp.ones(3))


def test_operand_errors_name_the_operation_and_the_given_shapes():
    with pytest.raises(ValueError, match=r"shapes \(3,\) and \(4,\)"):
        fnp.ones(3) @ fnp.ones(4)
    with pytest.raises(TypeError, match=r"add: operands must be arrays or numbers, got "
                                        r"\(Array, str\)"):
        fnp.ones(3) + "a"


def test_fallback_warnings_point_at_the_callers_line():
    import warnings
    from funcgrad.cache import warn_fallback
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        warn_fallback(("test-stacklevel", id(w)), "a test warning")
    assert w and w[0].filename == __file__


def test_lax_scalar_that_would_change_value_raises():
    """lax.lt(bool_array, 2) compared with True under jit/vmap (found by the program
    fuzzer: a cond's bool predicate compared with 2 gave False). A Python scalar takes the
    array's dtype only where that keeps its value; JAX refuses any mix."""
    b = np.array([True, False])
    for f in (fg.jit(lambda b: lax.lt(b, 2)), fg.vmap(lambda b: lax.lt(b, 2))):
        with pytest.raises(TypeError, match=r"lax.lt: the Python scalar 2 is not representable"):
            f(b)
    with pytest.raises(TypeError, match="2.5 is not representable in int32"):
        fg.jit(lambda i: lax.add(i, 2.5))(np.array([1, 2], np.int32))
    np.testing.assert_array_equal(fg.jit(lambda b: lax.lt(b, 1))(b), [False, True])
    np.testing.assert_allclose(fg.jit(lambda x: lax.add(x, 0.1))(np.ones(2, np.float32)), 1.1)


def test_jax_errors_classes_and_hierarchy():
    # JAX 0.10.2's jax.errors: a ported `except jax.errors.X` needs funcgrad.errors.X (it
    # was missing), raised where JAX raises it, with JAX's bases
    err = fg.errors
    assert issubclass(err.TracerBoolConversionError, err.ConcretizationTypeError)
    assert issubclass(err.ConcretizationTypeError, TypeError)
    assert issubclass(err.TracerIntegerConversionError, TypeError)
    assert not issubclass(err.TracerIntegerConversionError, err.ConcretizationTypeError)
    assert issubclass(err.TracerArrayConversionError, TypeError)
    assert issubclass(err.NonConcreteBooleanIndexError, IndexError)
    assert issubclass(err.UnexpectedTracerError, TypeError)
    assert err.ConcretizationTypeError is fg.ConcretizationTypeError
    x = fnp.array([1.0, -2.0, 3.0])
    with pytest.raises(err.TracerBoolConversionError):
        fg.jit(lambda v: v if v > 0 else -v)(1.0)
    with pytest.raises(err.TracerIntegerConversionError):
        fg.jit(lambda n: sum(range(n)))(4)
    with pytest.raises(err.TracerArrayConversionError):
        fg.jit(lambda v: np.sin(np.asarray(v)))(x)
    with pytest.raises(err.ConcretizationTypeError):
        fg.jit(lambda v: int(v))(2.0)
    with pytest.raises(err.NonConcreteBooleanIndexError):
        fg.jit(lambda v: v[v > 0])(x)
    with pytest.raises(err.NonConcreteBooleanIndexError):
        fg.vmap(lambda v: v[v > 0])(fnp.ones((2, 3)))


def test_boolean_mask_under_grad_is_concrete():
    # JAX indexes with a mask computed from grad's or jvp's tracers (their values are
    # known); funcgrad raised
    x = fnp.array([1.0, -2.0, 3.0])
    np.testing.assert_array_equal(fg.grad(lambda v: v[v > 0].sum())(x), [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(fg.jacfwd(lambda v: v[v > 0])(x),
                                  [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def test_errors_jax_raises_as_another_class():
    # JAX 0.10.2's classes: ValueError for reverse mode through while_loop and an unhashable
    # static argument, TypeError for x + y, concatenate and matmul shape mismatches and a
    # negative dimension (funcgrad's NumPy-style ValueError is kept as a second base),
    # ValueError for einsum label sizes (funcgrad reached dot_general's TypeError)
    with pytest.raises(ValueError, match="while_loop"):
        fg.grad(lambda v: lax.while_loop(lambda c: c < 10.0, lambda c: c * 2.0, v))(1.5)
    for error in (TypeError, ValueError):
        with pytest.raises(error, match="hashable"):
            fg.jit(lambda v, s: v * len(s), static_argnums=1)(1.0, [1, 2])
        with pytest.raises(error, match="broadcast"):
            fnp.ones(3) + fnp.ones(4)
        with pytest.raises(error, match="number of dimensions"):
            fnp.concatenate([fnp.ones(3), fnp.ones((2, 2))])
        with pytest.raises(error, match="core dimension"):
            fnp.ones(3) @ fnp.ones((4, 2))
        with pytest.raises(error, match="negative dimensions"):
            fnp.zeros((2, -1))
    with pytest.raises(ValueError, match="size of label 'i' for operand 1 \\(3\\)"):
        fnp.einsum("i,i->", fnp.ones(3), fnp.ones(4))
    np.testing.assert_array_equal(fnp.einsum("ij,j->i", fnp.ones((2, 1)), fnp.ones(1)), [1, 1])


def test_misused_apis_raise_a_class_jax_raises():
    # JAX 0.10.2: TypeError for grad's argnums past the arguments, reshape with two -1s
    # and moveaxis with repeated axes; ValueError for jnp.squeeze of a non-unit axis and
    # None as an array; NotImplementedError for an unknown pad mode. funcgrad raised the
    # other class of the pair (now both, where NumPy's convention differs from JAX's).
    x = fnp.arange(6.0)
    m = x.reshape(2, 3)
    cases = [
        (TypeError, lambda: fg.grad(lambda a, b: a * b, argnums=2)(1.0, 2.0), "argnums"),
        (TypeError, lambda: x.reshape(-1, -1), "one unknown dimension"),
        (TypeError, lambda: fnp.moveaxis(m, (0, 0), (1, 0)), "repeated axis"),
        (ValueError, lambda: fnp.squeeze(m, axis=0), "cannot squeeze axis 0"),
        (ValueError, lambda: fnp.asarray(None), "None is not a valid value"),
        (ValueError, lambda: fnp.array([1.0, None]), "None is not a valid value"),
        (NotImplementedError, lambda: fnp.pad(x, 1, mode="mirror"), "'mirror'"),
    ]
    for error, make, message in cases:
        with pytest.raises(error, match=message):
            make()
