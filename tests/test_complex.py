"""complex64/complex128 and bfloat16 in the frontend: creation, JAX's promotion lattice,
the functions NumPy defines on complex numbers against NumPy (eager, jit on every backend,
vmap), JAX's derivative conventions (plain-transpose vjp, `holomorphic=True`) against finite
differences, and the errors JAX raises. The spec table (tests/specs.py, `complex_*` rows)
covers the same functions through the real embedding with hypothesis."""
from __future__ import annotations

import warnings

import ml_dtypes
import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.testing import check_grads

rng = np.random.default_rng(0)
BF16 = np.dtype(ml_dtypes.bfloat16)


def _z(shape, dtype=np.complex128, scale=1.0):
    return ((rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * scale).astype(dtype)


def _close(a, b, rtol=1e-5, atol=1e-6):
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------
# Creation and promotion


@pytest.mark.core
def test_creation():
    assert fnp.ones(3, dtype="complex64").dtype == np.complex64
    assert fnp.zeros((2,), fnp.complex64).dtype == np.complex64
    assert fnp.asarray(np.array([1 + 2j])).dtype == np.complex64        # x64 off: narrowed
    assert fnp.array([1j]).dtype == np.complex64
    with pytest.warns(UserWarning, match="complex128 is not available"):
        assert fnp.ones(2, dtype=np.complex128).dtype == np.complex64
    x = fnp.asarray(1j)
    assert x.dtype == np.complex64 and x.weak_type                      # a weak Python complex
    assert complex(fnp.asarray(np.complex64(1 + 2j))) == 1 + 2j
    assert fnp.ones(2, fnp.bfloat16).dtype == BF16
    assert fnp.finfo(fnp.bfloat16).bits == 16 and fnp.finfo(fnp.complex64).dtype == np.float32
    with fg.config.enable_x64(True):
        assert fnp.array([1j]).dtype == np.complex128
        assert fnp.asarray(np.array([1 + 2j])).dtype == np.complex128
        assert fnp.ones(2, dtype=complex).dtype == np.complex128
    assert fnp.ones(2, dtype=complex).dtype == np.complex64


# JAX's promotion table (docs: "Type promotion semantics") for the pairs involving the new
# dtypes; "i*", "f*", "c*" are weak Python scalars.
_PROMOTION = [
    ("f4", "c8", "c8"), ("f8", "c8", "c16"), ("f2", "c8", "c8"), ("bf", "c8", "c8"),
    ("c8", "c16", "c16"), ("i4", "c8", "c8"), ("u1", "c16", "c16"), ("b1", "c8", "c8"),
    ("bf", "f2", "f4"), ("bf", "f4", "f4"), ("bf", "f8", "f8"), ("i4", "bf", "bf"),
    ("u8", "bf", "bf"), ("b1", "bf", "bf"), ("i8", "bf", "bf"),
    ("c8", "i*", "c8"), ("c8", "f*", "c8"), ("c8", "c*", "c8"), ("c16", "c*", "c16"),
    ("f4", "c*", "c8"), ("f8", "c*", "c16"), ("bf", "c*", "c8"), ("f2", "c*", "c8"),
    ("bf", "f*", "bf"), ("bf", "i*", "bf"),
]
_CODES = {"b1": np.bool_, "u1": np.uint8, "u8": np.uint64, "i4": np.int32, "i8": np.int64,
          "bf": BF16, "f2": np.float16, "f4": np.float32, "f8": np.float64,
          "c8": np.complex64, "c16": np.complex128, "i*": 1, "f*": 1.0, "c*": 1j}


@pytest.mark.core
def test_promotion_table_x64():
    with fg.config.enable_x64(True):
        for a, b, want in _PROMOTION:
            for x, y in ((a, b), (b, a)):
                ops = [_CODES[c] if c.endswith("*") else fnp.ones((), _CODES[c])
                       for c in (x, y)]
                got = fnp.result_type(*ops)
                assert got == np.dtype(_CODES[want]), (x, y, got, want)
                assert (ops[0] * ops[1] if not all(c.endswith("*") for c in (x, y))
                        else fnp.asarray(0)).dtype in (got, np.int64)
                if not (x.endswith("*") or y.endswith("*")):
                    assert fnp.promote_types(_CODES[x], _CODES[y]) == got


@pytest.mark.core
def test_weak_complex_scalars_keep_the_array_precision():
    x = fnp.ones(3, fnp.complex64)
    assert (x * 1j).dtype == np.complex64 and (x + 2.0).dtype == np.complex64
    assert (fnp.ones(3) * 1j).dtype == np.complex64
    assert (fnp.ones(3, fnp.bfloat16) * 1j).dtype == np.complex64
    assert (fnp.arange(3) * 1j).dtype == np.complex64
    with fg.config.enable_x64(True):
        assert (x * 1j).dtype == np.complex64                  # weak: never widens
        assert (fnp.ones(3, np.float32) * 1j).dtype == np.complex64
        assert (fnp.ones(3) * 1j).dtype == np.complex128       # float64 default
        assert (fnp.arange(3) * 1j).dtype == np.complex128     # int + c* -> default complex
    _close(fnp.asarray(np.float32([1, 2])) * (2 + 1j), np.complex64([2 + 1j, 4 + 2j]))


@pytest.mark.core
def test_casts():
    z = fnp.asarray(np.complex64([1.5 + 2j, -3 - 1j]))
    with pytest.warns(np.exceptions.ComplexWarning, match="discards the imaginary part"):
        r = z.astype(np.float32)
    _close(r, np.float32([1.5, -3]))
    with pytest.warns(np.exceptions.ComplexWarning):
        _close(z.astype(np.int32), np.int32([1, -3]))
    _close(fnp.asarray(np.float32([1, 2])).astype(np.complex64), np.complex64([1, 2]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                # no warning inside derivative rules
        g = fg.grad(lambda x: fnp.real(fnp.exp(x.astype(np.complex64) * 1j)))(1.0)
    np.testing.assert_allclose(g, -np.sin(1.0), rtol=1e-6)
    b = fnp.asarray(np.float32([1.1, 2.7])).astype(fnp.bfloat16)
    assert b.dtype == BF16
    _close(b.astype(np.float32), np.float32([1.1, 2.7]).astype(BF16).astype(np.float32))


# ---------------------------------------------------------------------------------------
# Values against NumPy


_UNARY = ["exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh",
          "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "abs", "angle",
          "conj", "real", "imag", "sign", "square", "reciprocal", "negative", "isfinite",
          "isnan", "isinf", "iscomplex", "isreal"]
_BINARY = ["add", "subtract", "multiply", "divide", "power", "equal", "not_equal", "less",
           "less_equal", "greater", "greater_equal", "maximum", "minimum"]


def _all_functions(xp, z, w):
    """Every complex function as one program (one compilation per backend and dtype)."""
    out = [getattr(xp, n)(z) for n in _UNARY]
    out += [getattr(xp, n)(z, w) for n in _BINARY]
    out += [xp.sum(z, 0), xp.prod(z, 1), xp.mean(z), xp.max(z, 0), xp.min(z), xp.argmax(z, 1),
            xp.argmin(z, 0), xp.cumsum(z, 1), xp.var(z), z @ w.T, xp.einsum("ij,kj->ik", z, w),
            xp.tensordot(z, w, ([1], [1])), xp.vdot(z, w), xp.kron(z[0], w[1]),
            xp.where(xp.real(z) > 0, z, w), z ** 3, xp.power(z, -2), z * 1j + 2.0,
            xp.round(z * 4), xp.sort(z, 1), xp.linalg.norm(z)]
    return out


@pytest.mark.core
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_functions_match_numpy(dtype):
    z = _z((3, 4), dtype)
    w = _z((3, 4), dtype)
    z[0, 0] = z[1, 0] = 1.25 + 0.5j           # ties for the lexicographic max/argmax/sort
    w[0, 0] = 1.25 - 0.5j
    tol = dict(rtol=2e-5, atol=1e-6) if dtype == np.complex64 else dict(rtol=1e-12, atol=1e-13)
    with fg.config.enable_x64(dtype == np.complex128), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        got = _all_functions(fnp, fnp.asarray(z), fnp.asarray(w))
        jitted = fg.jit(lambda a, b: _all_functions(fnp, a, b))(z, w)
        want = _all_functions(np, z, w)
    names = _UNARY + _BINARY + [f"extra{i}" for i in range(len(want))]
    for name, g, j, e in zip(names, got, jitted, want):
        e = np.asarray(e)
        if e.dtype == np.int64:
            e = e.astype(np.int32 if dtype == np.complex64 else np.int64)
        assert np.asarray(g).dtype == e.dtype, (name, np.asarray(g).dtype, e.dtype)
        np.testing.assert_allclose(np.asarray(g), e, err_msg=name, **tol)
        np.testing.assert_allclose(np.asarray(j), np.asarray(g), err_msg=f"jit {name}", **tol)


@pytest.mark.core
def test_array_attributes_and_predicates():
    z = np.complex64([1 + 2j, 3 + 0j])
    a = fnp.asarray(z)
    _close(a.real, z.real)
    _close(a.imag, z.imag)
    _close(a.conj(), z.conj())
    _close(a.conjugate(), z.conj())
    _close(fnp.asarray(np.float32([1, 2])).imag, np.float32([0, 0]))
    assert fnp.iscomplexobj(a) and not fnp.isrealobj(a)
    assert fnp.isrealobj(np.ones(2)) and not fnp.iscomplexobj(np.ones(2))
    _close(fnp.iscomplex(a), np.iscomplex(z))
    _close(fnp.isreal(a), np.isreal(z))
    _close(fnp.real_if_close(np.complex64([1 + 1e-9j])), np.float32([1]))
    _close(fnp.real_if_close(a), z)
    _close(fnp.sort_complex(np.int32([3, 1, 2])), np.complex64([1, 2, 3]))
    _close(fnp.nan_to_num(np.complex64([np.nan + 1j * np.inf])),
           np.nan_to_num(np.complex64([np.nan + 1j * np.inf])))
    with pytest.raises(TypeError, match="concrete"):
        fg.jit(fnp.real_if_close)(z)


@pytest.mark.core
def test_errors_as_jax():
    z = fnp.asarray(np.complex64([1 + 2j]))
    with pytest.raises(TypeError, match="lt requires ordered"):
        lax.lt(z, z)
    for name in ("floor", "ceil", "trunc", "cbrt", "signbit", "isposinf", "isneginf"):
        with pytest.raises(TypeError, match=f"{name}: not defined for complex"):
            getattr(fnp, name)(z)
    for name in ("fmod", "remainder", "floor_divide", "hypot", "copysign", "heaviside"):
        with pytest.raises(TypeError, match=f"{name}: not defined for complex"):
            getattr(fnp, name)(z, z)
    with pytest.raises(TypeError, match="real requires complex"):
        lax.real(fnp.ones(2))
    with pytest.raises(TypeError, match="complex: operands must be float32 or float64"):
        lax.complex(fnp.ones(2, fnp.float16), fnp.ones(2, fnp.float16))
    with pytest.raises(TypeError, match="floating point"):
        lax.logistic(z)


# ---------------------------------------------------------------------------------------
# Backends and vmap


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_backends_match_numpy(backend, dtype):
    """One program of complex functions and their gradient on each backend (C and OpenCL
    run equations whose dtype they do not compile as host steps)."""
    z, w = _z((2, 3), dtype), _z((2, 3), dtype)

    def f(a, b):
        s = fnp.exp(a) * b + fnp.sqrt(a) - fnp.conj(b) / (a + 2.0)
        return (s, fnp.abs(s), fnp.angle(a), fnp.sum(a * b, 0), a @ b.T, fnp.real(s) > 0,
                fg.grad(lambda x: fnp.sum(fnp.abs(fnp.sin(x) * b) ** 2))(a))

    with fg.config.enable_x64(dtype == np.complex128):
        got = fg.jit(f)(z, w)
        want = fg.jit(f, backend="reference")(z, w)
    tol = 2e-5 if dtype == np.complex64 else 1e-12
    for g, e in zip(got, want):
        assert np.asarray(g).dtype == np.asarray(e).dtype
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=tol, atol=tol)
    s = np.exp(z) * w + np.sqrt(z) - np.conj(w) / (z + 2.0)
    np.testing.assert_allclose(np.asarray(got[0]), s, rtol=tol, atol=tol)


@pytest.mark.core
def test_vmap_matches_loop():
    zs = _z((3, 4))
    f = lambda z: (fnp.exp(z) * fnp.conj(z), fnp.abs(z), fnp.sum(z))  # noqa: E731
    g = fg.grad(lambda z: fnp.sum(fnp.abs(fnp.log(z)) ** 2))
    with fg.config.enable_x64(True):
        out = fg.vmap(f)(zs)
        gv = fg.vmap(g)(zs)
        for i in range(3):
            for o, e in zip(out, f(zs[i])):
                _close(o[i], e, rtol=1e-12, atol=1e-13)
            _close(gv[i], g(zs[i]), rtol=1e-12, atol=1e-13)


# ---------------------------------------------------------------------------------------
# Derivatives: JAX's conventions


@pytest.mark.core
def test_grad_convention_values(x64):
    z = np.complex128(0.3 + 0.7j)
    _close(fg.grad(lambda z: (z * fnp.conj(z)).real)(z), 2 * np.conj(z))
    _close(fg.grad(fnp.abs)(np.complex128(3 + 4j)), np.complex128(0.6 - 0.8j))
    _close(fg.grad(fnp.real)(z), np.complex128(1))
    _close(fg.grad(fnp.imag)(z), np.complex128(-1j))
    # grad = df/dx - i df/dy for real f(x + iy): angle = atan2(y, x)
    r2 = abs(z) ** 2
    _close(fg.grad(fnp.angle)(z), np.complex128(-z.imag / r2 - 1j * z.real / r2))
    assert fg.grad(lambda z: fnp.abs(z))(3 + 4j).dtype == np.complex128   # a Python complex
    # holomorphic: the complex derivative
    _close(fg.grad(fnp.sin, holomorphic=True)(z), np.cos(z))
    v, g = fg.value_and_grad(lambda z: z ** 3, holomorphic=True)(z)
    _close(v, z ** 3)
    _close(g, 3 * z ** 2)
    zs = _z((3,))
    _close(fg.jacfwd(fnp.exp, holomorphic=True)(zs), np.diag(np.exp(zs)))
    _close(fg.jacrev(fnp.exp, holomorphic=True)(zs), np.diag(np.exp(zs)))
    _close(fg.hessian(lambda z: fnp.sum(z ** 3), holomorphic=True)(zs), np.diag(6 * zs))
    # jacrev of a real function of complex inputs: one gradient per output (JAX allows it)
    _close(fg.jacrev(fnp.abs)(zs), np.diag(np.conj(zs) / np.abs(zs)))
    # jvp and vjp of a holomorphic function: multiplication by f'(z), no conjugation
    t = _z((3,))
    _close(fg.jvp(fnp.exp, (zs,), (t,))[1], np.exp(zs) * t)
    _close(fg.vjp(fnp.exp, zs)[1](t)[0], np.exp(zs) * t)


@pytest.mark.core
def test_derivative_errors_as_jax():
    z = fnp.asarray(np.complex64([1 + 2j]))
    with pytest.raises(TypeError, match="grad.* requires real-valued outputs.*holomorphic=True"):
        fg.grad(lambda z: fnp.sum(fnp.sin(z)))(z)
    with pytest.raises(TypeError, match="holomorphic=True requires inputs with complex"):
        fg.grad(fnp.sin, holomorphic=True)(1.0)
    with pytest.raises(TypeError, match="holomorphic=True requires outputs with complex"):
        fg.grad(lambda z: fnp.abs(z).sum(), holomorphic=True)(z)
    with pytest.raises(TypeError, match="jacfwd requires real-valued inputs"):
        fg.jacfwd(fnp.abs)(z)
    with pytest.raises(TypeError, match="jacfwd with holomorphic=True requires outputs"):
        fg.jacfwd(fnp.abs, holomorphic=True)(z)
    with pytest.raises(TypeError, match="jacrev requires real-valued outputs"):
        fg.jacrev(fnp.exp)(z)


def _many(z, w):
    """The complex functions whose derivatives are checked, as one function."""
    return (fnp.exp(z) * w, fnp.log(z), fnp.log1p(z), fnp.expm1(z), fnp.sqrt(z), fnp.sin(z),
            fnp.cos(z), fnp.tan(z), fnp.sinh(z), fnp.cosh(z), fnp.tanh(z), fnp.arcsinh(z),
            fnp.arccosh(z), fnp.arctanh(z * 0.5), fnp.arcsin(z * 0.5), fnp.power(z, w),
            fnp.abs(z), fnp.angle(z), fnp.conj(z) * w, fnp.real(z), fnp.imag(w), z / w,
            fnp.sum(z * w), fnp.prod(z), fnp.mean(w), fnp.max(z), z @ w, fnp.var(z),
            fnp.einsum("i,i->", z, w), fnp.kron(z, w), fnp.linalg.norm(z), z ** -2)


@pytest.mark.core
def test_check_grads_complex128_order2():
    # Parts away from 0 keep every point off the branch cuts (all on the axes).
    z = np.array([0.7 + 0.4j, -0.6 + 0.9j, 1.3 - 0.5j])
    w = np.array([0.5 - 0.8j, 1.1 + 0.3j, -0.4 - 0.7j])
    check_grads(_many, (z, w), order=2, modes=("fwd", "rev"))


@pytest.mark.core
def test_check_grads_catches_a_wrong_complex_rule(monkeypatch):
    from funcgrad import core
    from funcgrad.prims import elementwise as ew
    z = np.array([0.7 + 0.4j, -0.6 + 0.9j])
    f = lambda z: fnp.conj(z) * fnp.exp(z)  # noqa: E731
    check_grads(f, (z,), order=1)
    # Transposing conj as the identity (forgetting that it is only R-linear) is caught.
    monkeypatch.setitem(core.transpose_rules, ew.conj_p, lambda ct, x: [ct])
    with pytest.raises(AssertionError, match="vjp check failed"):
        check_grads(f, (z,), order=1, modes=("rev",))


@pytest.mark.core
def test_numerical_jvp_is_complex():
    from funcgrad.testing import numerical_jvp
    z = np.array([0.3 + 0.2j])
    t = np.array([0.5 - 1j])
    with fg.config.enable_x64(True):
        d = numerical_jvp(fnp.exp, (fnp.asarray(z),), (fnp.asarray(t),))
    np.testing.assert_allclose(d, np.exp(z) * t, rtol=1e-8)


@pytest.mark.core
def test_prod_derivatives_at_several_zeros(x64):
    """Regression: reduce_prod's JVP took the product of the others as ans / x with special
    cases for one zero, so its own derivative vanished where two or more factors are zero
    (the Hessian of x0 x1 x2 at (0, 0, 2) came out all zeros; found by the complex spec row
    at z = 0). The exclusive products from both sides are exact there."""
    h = fg.hessian(lambda x: fnp.prod(x))(np.array([0.0, 0.0, 2.0]))
    _close(h, np.array([[0.0, 2, 0], [2, 0, 0], [0, 0, 0]]))
    check_grads(lambda x: fnp.prod(x, 1), (np.array([[0.0, 0, 3], [0, 1.5, 2]]),), order=2)
    check_grads(fnp.prod, (np.array([0j, 0j, 1 + 1j]),), order=2)


@pytest.mark.core
def test_log1p_keeps_the_real_part_near_zero():
    # NumPy's complex log1p is log(1 + z): its real part is 0 here in complex64.
    got = complex(fnp.log1p(np.complex64(1e-8 + 3e-9j)))
    np.testing.assert_allclose(got.real, 1e-8, rtol=1e-6)
    np.testing.assert_allclose(got.imag, 3e-9, rtol=1e-6)


@pytest.mark.core
def test_bfloat16_reductions_accumulate_in_float32():
    x = np.array([1] + [2.0 ** -8] * 511, BF16)      # summed in bfloat16, 1 + 2**-8 stays 1
    for f, want in ((fnp.sum, 3.0), (fnp.mean, 3.0 / 512)):
        r = f(x)
        assert r.dtype == BF16
        np.testing.assert_allclose(float(r), want, rtol=1e-2)
    assert fnp.var(x).dtype == BF16
    y = rng.uniform(0.5, 1.5, 64).astype(BF16)       # the product rounded once, as sum
    want = np.prod(y.astype(np.float32)).astype(BF16)
    assert fnp.prod(y).dtype == BF16 and fnp.prod(y) == want
    assert fg.jit(fnp.prod)(y) == want


@pytest.mark.core
def test_conv_preferred_element_type_accumulates_without_rounding():
    x = rng.standard_normal((1, 2, 5, 5)).astype(BF16)
    w = rng.standard_normal((3, 2, 3, 3)).astype(BF16)
    exact = lax.conv_general_dilated(x.astype(np.float32), w.astype(np.float32), (1, 1), "SAME")
    for out in (lax.conv_general_dilated(x, w, (1, 1), "SAME", preferred_element_type=np.float32),
                lax.conv(x, w, (1, 1), "SAME", preferred_element_type=np.float32)):
        assert out.dtype == np.float32
        np.testing.assert_allclose(np.asarray(out), np.asarray(exact), rtol=1e-5, atol=1e-5)
    # conv_transpose's default layout is channels-last (JAX's): name this one
    dn = ("NCHW", "OIHW", "NCHW")
    t = lax.conv_transpose(x, w, (2, 2), "SAME", dimension_numbers=dn,
                           preferred_element_type=np.float32)
    t_exact = lax.conv_transpose(x.astype(np.float32), w.astype(np.float32), (2, 2), "SAME",
                                 dimension_numbers=dn)
    assert t.dtype == np.float32
    np.testing.assert_allclose(np.asarray(t), np.asarray(t_exact), rtol=1e-5, atol=1e-5)


@pytest.mark.core
def test_bfloat16_is_a_floating_type():
    # NumPy's own issubdtype/isdtype do not know ml_dtypes' types; JAX's do.
    assert fnp.issubdtype(fnp.bfloat16, fnp.floating)
    assert fnp.issubdtype(np.dtype(fnp.bfloat16), fnp.inexact)
    assert not fnp.issubdtype(fnp.bfloat16, fnp.integer)
    assert fnp.issubdtype(fnp.complex64, fnp.complexfloating)
    assert fnp.isdtype(fnp.bfloat16, "real floating")
    assert not fnp.isdtype(fnp.bfloat16, ("integral", "complex floating"))
    assert fnp.isdtype(fnp.complex64, "complex floating")


@pytest.mark.core
def test_bfloat16_einsum_accumulates_in_preferred_type():
    a = rng.standard_normal((4, 5)).astype(BF16)
    b = rng.standard_normal((5, 3)).astype(BF16)
    c = rng.standard_normal((3, 2)).astype(BF16)
    f32 = [x.astype(np.float32) for x in (a, b, c)]
    for sub, ops, ref in (("ij,jk->ik", (a, b), f32[:2]), ("ij,jk,kl->il", (a, b, c), f32),
                          ("ij,jk->", (a, b), f32[:2])):
        out = fnp.einsum(sub, *ops, preferred_element_type=np.float32)
        assert out.dtype == np.float32
        np.testing.assert_allclose(np.asarray(out), np.einsum(sub, *ref), rtol=1e-5, atol=1e-5)
    # a contraction of bfloat16 operands runs in float32 inside dot_general: no widened
    # copies of the operands
    ir = str(fg.make_ir(lambda x, y: fnp.einsum("ij,jk->ik", x, y,
                                                preferred_element_type=np.float32))(a, b))
    assert "convert_element_type" not in ir and "preferred_element_type=float32" in ir


@pytest.mark.core
def test_statistics_and_ranges_of_complex_values():
    """Found by the lead's sweep of funcgrad.numpy on complex input (they dropped the
    imaginary part or ignored conjugation)."""
    z, w = _z((3, 4), np.complex64), _z((3, 4), np.complex64)
    tol = dict(rtol=1e-4, atol=1e-5)
    _close(fnp.vecdot(z, w), np.vecdot(z, w), **tol)
    _close(fnp.cov(z), np.cov(z).astype(np.complex64), **tol)
    _close(fnp.corrcoef(z), np.corrcoef(z).astype(np.complex64), **tol)
    _close(fnp.gradient(z[0]), np.gradient(z[0]), **tol)
    _close(fnp.nanvar(z), np.nanvar(z), **tol)
    _close(fnp.nanstd(z, axis=0), np.nanstd(z, axis=0), **tol)
    _close(fnp.linspace(0, 1 + 2j, 5), np.linspace(0, 1 + 2j, 5).astype(np.complex64))
    _close(fnp.logspace(0, 2j, 3), np.logspace(0, 2j, 3).astype(np.complex64), **tol)
    _close(fnp.geomspace(1j, 1000j, 4), np.geomspace(1j, 1000j, 4).astype(np.complex64), **tol)
    for name in ("median", "nanmedian", "histogram", "histogram_bin_edges"):
        with pytest.raises(TypeError, match="complex"):
            getattr(fnp, name)(z)


@pytest.mark.core
def test_geomspace_and_linspace_real_edge_cases():
    _close(fnp.geomspace(-1.0, -4.0, 3), np.float32([-1, -2, -4]), rtol=1e-6)
    _close(fnp.geomspace(2.0, 32.0, 5), np.float32([2, 4, 8, 16, 32]), rtol=1e-6)
    assert np.isnan(np.asarray(fnp.geomspace(-1.0, 4.0, 3))[1])      # mixed signs (NumPy)
    _close(fnp.linspace(0, 10, 5, dtype=np.int32), np.linspace(0, 10, 5, dtype=np.int32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")        # data, not an explicit float64 request
        assert fnp.linspace(np.zeros(2), 1.0, 3).dtype == np.float32
        assert fnp.geomspace(np.ones(2), 8.0, 4).dtype == np.float32


def test_complex_to_bool_is_nonzero_in_either_part():
    # JAX 0.10.2: astype(bool), logical_not/and/or/xor and extract of complex values test
    # both parts (0.5j is True); funcgrad kept the real part (0.5j was False), warning
    z = fnp.array([1 + 2j, -0.0 - 1j, 0j, 0.5j, 2 + 0j], dtype=fnp.complex64)
    w = fnp.array([0j, 1j, 0j, 1 + 0j, 0j], dtype=fnp.complex64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.asarray(z.astype(bool)).tolist() == [True, True, False, True, True]
        assert np.asarray(fg.jit(lambda a: a.astype(bool))(z)).tolist() == \
            [True, True, False, True, True]
        assert np.asarray(fnp.logical_not(z)).tolist() == [False, False, True, False, False]
        assert np.asarray(fnp.logical_and(z, w)).tolist() == [False, True, False, True, False]
        assert np.asarray(fnp.logical_xor(z, w)).tolist() == [True, False, False, False, True]
        assert np.asarray(fnp.extract(z, fnp.arange(5), size=5)).tolist() == [0, 1, 3, 4, 0]
        assert np.asarray(lax.convert_element_type(z, bool)).tolist() == \
            [True, True, False, True, True]


def test_complex64_abs_is_correctly_rounded_without_a_libm_call():
    """|z| of complex64 is computed in double in a loop that vectorises (libm's cabsf was a
    call per element: (64, 513) took 111 us, now 36): sqrt(x^2 + y^2) of the float32 parts
    is exact in double up to its last rounding, so the result is within half an ulp of the
    true magnitude over float32's whole range (no overflow of x^2, subnormal parts), and an
    infinite part gives inf even beside a NaN, as C99's hypot and NumPy's abs do."""
    rng = np.random.default_rng(5)
    n = 200_000
    mag = 10.0 ** rng.uniform(-45, 38.5, (2, n))
    re = (mag[0] * rng.choice([-1, 1], n)).astype(np.float32)
    im = (mag[1] * rng.choice([-1, 1], n)).astype(np.float32)
    z = re.astype(np.complex64)
    z.imag = im
    f = fg.jit(fnp.abs, backend="c")
    assert "cabsf(" not in f.lower(z).source
    got = np.asarray(f(z)).astype(np.float64)
    exact = np.hypot(re.astype(np.float64), im.astype(np.float64))
    finite = exact < np.finfo(np.float32).max
    spacing = np.spacing(exact.astype(np.float32)).astype(np.float64)
    assert np.all(np.abs(got - exact)[finite] <= 0.5 * spacing[finite] * (1 + 1e-6))
    assert np.all(np.isinf(got[~finite]))
    sp = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4e38, -1.0], np.float32)
    a, b = np.meshgrid(sp, sp)
    w = a.ravel().astype(np.complex64)
    w.imag = b.ravel()
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(np.asarray(f(w)), np.abs(w))
