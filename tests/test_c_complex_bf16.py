"""The C backend compiles complex64/complex128, bfloat16 and float16 (no host steps) and
agrees with the reference backend: complex elementwise chains, reductions, matmul/einsum
and casts within float tolerance; bfloat16 and float16 elementwise chains bit for bit (each
operation computed in float and rounded to nearest-even, as ml_dtypes' and NumPy's 16-bit
loops do; NaNs stay NaN), reductions, matmul and convolutions accumulating in float32 or
wider.

Cheap on purpose: each test compiles one or two programs holding many cases."""
from __future__ import annotations

import numpy as np
import pytest
from narrow_data import narrow_data

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.backends import c as cbackend
from funcgrad.backends import get_backend

ml_dtypes = pytest.importorskip("ml_dtypes")

pytestmark = [pytest.mark.cbackend,
              pytest.mark.skipif(not cbackend.available(), reason="no C compiler")]

BF16 = np.dtype(ml_dtypes.bfloat16)


def compiled(f, *args):
    """(C results, reference results, C source) of jit(f); fails if the C program has a
    host step (an equation the C lowering did not compile)."""
    lowered = fg.jit(f).lower(*args)
    exe = get_backend("c").inner.executable(lowered.program)
    host = [s[0].prim.name for kind, s in exe.steps if kind == "host"]
    assert host == [], f"host steps in the C program: {host}"
    with np.errstate(all="ignore"):
        out = [np.asarray(o) for o in fg.jit(f)(*args)]
        ref = [np.asarray(o) for o in fg.jit(f, backend="reference")(*args)]
    return out, ref, exe.source


def assert_close(out, ref, rtol, label):
    assert out.dtype == ref.dtype, (label, out.dtype, ref.dtype)
    if out.dtype.kind in "cf":
        o, r = out.astype(np.complex128), ref.astype(np.complex128)
        nan_o = np.isnan(o.real) | np.isnan(o.imag)
        nan_r = np.isnan(r.real) | np.isnan(r.imag)
        np.testing.assert_array_equal(nan_o, nan_r, err_msg=label)
        o, r = o[~nan_o], r[~nan_r]
        inf = np.isinf(r)
        np.testing.assert_array_equal(o[inf], r[inf], err_msg=label)
        scale = np.maximum(np.abs(r[~inf]), 1.0)
        err = np.abs(o[~inf] - r[~inf]) / scale
        assert err.size == 0 or err.max() <= rtol, (label, err.max())
    else:
        np.testing.assert_array_equal(out, ref, err_msg=label)


def _complex_data(dt, n=96, seed=0):
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal(n) * 1.5 + 1j * rng.standard_normal(n) * 1.5).astype(dt)
    w = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dt)
    # division and multiplication at the edges of the range: NumPy's Smith division keeps
    # (1e30 + 1e30j) / (1e30 + 1e30j) = 1 where the textbook formula overflows
    z[:6] = [1e30 + 1e30j, 1 + 1j, 0j, 1e-30 - 2e-30j, 3 - 4j, -2.5 + 0j]
    w[:6] = [1e30 + 1e30j, 0j, 0j, 1e-30 + 1e-30j, 0.5j, 1e20 - 1e20j]
    return z, w


UNARY = ("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "arcsinh",
         "arccosh", "arctanh", "arcsin", "arccos", "arctan", "expm1", "log1p", "abs", "angle",
         "conj", "real", "imag", "sign", "isfinite", "square", "reciprocal")


def _complex_chain(z, w):
    zs, ws = z[6:], w[6:]             # the transcendentals on ordinary values
    out = [z * w, z / w, z + w, z - w, -z, z == w, z != zs.sum()]
    out += [getattr(fnp, name)(zs) for name in UNARY]
    out += [zs ** 3, zs ** -2, zs ** ws, fnp.exp(zs) * ws - fnp.conj(zs) / (ws + 0.5j),
            fnp.where(fnp.real(zs) > 0, zs, ws), fnp.maximum(zs, ws), fnp.minimum(zs, ws),
            lax.complex(fnp.imag(zs), fnp.real(ws)), zs.astype(np.float32),
            fnp.abs(zs).astype(zs.dtype), fnp.arange(90).astype(zs.dtype) * zs]
    return out


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
@pytest.mark.parametrize("x64", [False, True], ids=["complex64", "complex128"])
def test_complex_elementwise_compiles_and_agrees(x64):
    with fg.config.override("enable_x64", x64):
        dt = np.complex128 if x64 else np.complex64
        z, w = _complex_data(dt)
        out, ref, src = compiled(_complex_chain, z, w)
        rtol = 1e-12 if x64 else 4e-6
        for k, (o, r) in enumerate(zip(out, ref)):
            assert_close(o, r, rtol, f"output {k}")
        # the first quotient is 1 (to rounding): Smith's scaling, no overflow to inf/NaN
        assert abs(out[1][0] - 1) < 1e-6
        suffix = "c128" if x64 else "c64"
        # NumPy's schoolbook product and Smith division (C99's `*` would call __mulsc3)
        assert f"cmul_{suffix}(" in src and f"cdiv_{suffix}(" in src
        assert f"cexp_{suffix}(" in src and ("csqrt(" if x64 else "csqrtf(") in src


def test_complex_log1p_keeps_its_precision_near_zero():
    """log1p(z) for tiny z: the real part log|1 + z| needs log1p, not log(hypot(1+x, y))
    (NumPy's formula, which returns 0 for log1p(1e-8 + 3e-9j) in complex64)."""
    mpmath = pytest.importorskip("mpmath")
    vals = [1e-8 + 3e-9j, -1e-8 + 3e-9j, 1e-20 + 0j, 3e-8 + 1e-4j, 1e-5 - 2e-6j, 0.3 + 0.4j,
            -0.5 + 0.2j, 2.0 - 1.0j, 1e20 + 1e20j, -1 + 0.5j]
    for x64 in (False, True):
        with fg.config.override("enable_x64", x64):
            dt = np.complex128 if x64 else np.complex64
            z = np.array(vals, dt)
            out = np.asarray(fg.jit(fnp.log1p)(z))
            exact = np.array([complex(mpmath.log1p(mpmath.mpc(complex(v)))) for v in z])
            rel = np.abs(out - exact) / np.abs(exact)
            assert rel.max() < (1e-14 if x64 else 2e-6), rel


@pytest.mark.filterwarnings("ignore::numpy.exceptions.ComplexWarning")
def test_complex_reductions_matmul_and_casts():
    """sum/prod/max/min/argmax (complex64 sums accumulate in complex128), matmul and einsum
    through cgemm/zgemm, scatters, and casts between complex, real and integer types: all
    compiled."""
    rng = np.random.default_rng(1)
    idx = np.array([1, 3, 1])           # a repeated index: updates combine in order
    for x64 in (False, True):
        with fg.config.override("enable_x64", x64):
            dt = np.complex128 if x64 else np.complex64
            a = (rng.standard_normal((3, 40, 30)) + 1j * rng.standard_normal((3, 40, 30)))
            b = (rng.standard_normal((3, 30, 20)) + 1j * rng.standard_normal((3, 30, 20)))
            a, b = a.astype(dt), b.astype(dt)
            r = rng.standard_normal((40, 30)).astype(np.float64 if x64 else np.float32)

            def f(a, b, r):
                return (a @ b, fnp.einsum("bij,bkj->bik", a, a), a[0].T @ a[1],
                        fnp.sum(a, axis=(0, 2)), fnp.sum(a, axis=1), fnp.mean(a),
                        fnp.prod(a[:, :3, :4], axis=2), fnp.max(a, axis=1),
                        fnp.min(a, axis=0), a[1] + r, (r * 1j).astype(np.int32),
                        a[0].astype(np.int32), a[0].astype(bool), r.astype(dt),
                        fnp.transpose(a, (2, 0, 1))[::2, :, 1:7], fnp.concatenate([a, a], 1),
                        fnp.pad(a[0], 1), a[0, 0].at[idx].add(a[1, 0, :3]),
                        a[0, 0].at[idx].mul(a[1, 0, :3]), fnp.argmax(a, axis=1))
            out, ref, src = compiled(f, a, b, r)
            for k, (o, q) in enumerate(zip(out, ref)):
                assert_close(o, q, 1e-12 if x64 else 2e-6, f"output {k}")
            assert ("zgemm" if x64 else "cgemm") in src
            exact = a.astype(np.complex128) @ b.astype(np.complex128)
            err = np.abs(out[0] - exact).max() / np.abs(exact).max()
            assert err < (1e-14 if x64 else 1e-6)


# ---------------------------------------------------------------------------------------
# bfloat16


def _narrow_data(dt):
    return narrow_data(dt, [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, -np.nan, 3.0e38,
                            -3.0e38, 1e-40, -1e-40, 9.2e-41, 1 + 2 ** -8, 1 + 3 * 2 ** -8,
                            255.5, 65504.0, 1e-3])


def _narrow_chain(x, y, f32, f64, i32):
    dt = x.dtype
    return (x * y + x, x / y - y, fnp.sqrt(fnp.abs(x)) * 2.5, fnp.exp(y) - fnp.tanh(x),
            fnp.maximum(x, y), fnp.minimum(x, y), fnp.where(x > y, x, y * y), x ** 2,
            lax.pow(fnp.abs(x), y), -x, lax.rsqrt(fnp.abs(y)), fnp.log1p(fnp.abs(x)),
            fnp.sin(x), x.astype(np.float32), x.astype(np.int32), x.astype(bool),
            f32.astype(dt), f64.astype(dt), i32.astype(dt), x < y, x == y,
            fnp.sum(x.reshape(16, 16), axis=0), fnp.max(x.reshape(16, 16), axis=1))


def _bits_equal(out, ref, label):
    assert out.dtype == ref.dtype, (label, out.dtype, ref.dtype)
    if out.dtype not in (BF16, np.float16):
        np.testing.assert_array_equal(out, ref, err_msg=label)
        return
    o, r = out.view(np.uint16), ref.view(np.uint16)
    # a NaN's sign and payload are not part of the result (glibc's vector expf and its
    # scalar expf return NaNs of different signs for a NaN input)
    both_nan = np.isnan(out.astype(np.float32)) & np.isnan(ref.astype(np.float32))
    bad = (o != r) & ~both_nan
    assert not bad.any(), (label, out[bad][:5], ref[bad][:5])


@pytest.mark.parametrize("dt", [BF16, np.dtype(np.float16)], ids=["bfloat16", "float16"])
def test_16bit_float_elementwise_chain_is_bit_exact(dt):
    data = _narrow_data(dt)
    out, ref, src = compiled(_narrow_chain, *data)
    for k, (o, r) in enumerate(zip(out, ref)):
        _bits_equal(o, r, f"output {k}")
    # per-operation rounding in float, not a float32 chain rounded once
    if dt == BF16:
        assert "bfround_f32(" in src and "bfload_bf16(" in src and "bfstore_f32(" in src
    else:
        assert "hround_f32(" in src and "_Float16" in src


@pytest.mark.parametrize("backend", ["reference", "c"])
def test_wide_values_convert_to_bfloat16_through_float32(backend):
    """float64 and 32-bit integers become bfloat16 through float32, two roundings, as XLA
    converts (JAX 0.10 gives 16777216 for int32 16842753 = 2^24 + 2^16 + 1 and for the same
    float64): ml_dtypes 0.7's own cast rounds once (16908288), which the reference followed
    until it was told otherwise."""
    v = 16842753
    with fg.config.override("enable_x64", True):
        for src in (np.array([v, -v, 2 * v + 1, 3], np.int32),
                    np.array([v, -v, 2 * v + 1, 3], np.float64)):
            out = np.asarray(fg.jit(lambda a: a.astype(BF16), backend=backend)(src))
            want = src.astype(np.float32).astype(BF16)
            assert out.dtype == BF16
            np.testing.assert_array_equal(out.view(np.uint16), want.view(np.uint16))
            assert out[0] == 2.0 ** 24 and out[1] == -(2.0 ** 24)


def test_bfloat16_reductions_and_matmul_accumulate_in_float32():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((64, 48)).astype(BF16)
    b = rng.standard_normal((48, 32)).astype(BF16)
    # 1 + 511 * 2**-8 is 3; summed in bfloat16 it would stay 1
    ones = np.array([1.0] + [2 ** -8] * 511, np.float32).reshape(2, 256).T.astype(BF16)

    def f(a, b, ones):
        dn = (((1,), (0,)), ((), ()))
        return (a @ b, lax.dot_general(a, b, dn, preferred_element_type=np.float32),
                a.T @ a[:, :5], fnp.sum(a, axis=1), fnp.sum(a, axis=0),
                fnp.sum(a.reshape(8, 8, 48), axis=(0, 2)), fnp.max(a, axis=0),
                fnp.min(a.reshape(8, 8, 48), axis=1), fnp.sum(ones), fnp.sum(ones, axis=0))
    out, ref, src = compiled(f, a, b, ones)
    assert "sgemm" in src and "bfstore_f32(" in src
    assert out[1].dtype == np.float32 and out[0].dtype == BF16
    for k, (o, r) in enumerate(zip(out, ref)):
        if o.dtype == BF16:
            # a float32 (reference) or double (C) accumulator, rounded once: the results are
            # the same bfloat16 or neighbours
            step = np.abs(o.astype(np.float32) - r.astype(np.float32))
            ulp = np.abs(r.astype(np.float32)) * 2 ** -7 + 1e-30
            assert (step <= ulp).all(), (k, o, r)
        else:
            np.testing.assert_allclose(o, r, rtol=1e-5, atol=1e-5)
    exact = a.astype(np.float32) @ b.astype(np.float32)
    np.testing.assert_array_equal(out[0].view(np.uint16), exact.astype(BF16).view(np.uint16))
    np.testing.assert_allclose(out[1], exact, rtol=1e-5, atol=1e-5)
    assert float(out[8]) == 3.0


@pytest.mark.parametrize("dt", [BF16, np.dtype(np.float16)], ids=["bfloat16", "float16"])
def test_16bit_float_convolution_and_matmul_accumulate_in_float32(dt):
    """conv_general_dilated of 16-bit float operands compiles (float32 kernel on widened
    copies) and agrees with the reference's float32 accumulation rounded once."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 9, 9, 3)).astype(dt)
    w = rng.standard_normal((3, 3, 3, 4)).astype(dt)
    dn = ("NHWC", "HWIO", "NHWC")

    def f(x, w):
        return (lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=dn),
                lax.conv_general_dilated(x, w, (2, 2), "VALID", dimension_numbers=dn,
                                         preferred_element_type=np.float32),
                x.reshape(18, 27) @ x.reshape(27, 18))
    out, ref, _ = compiled(f, x, w)
    assert out[0].dtype == dt and out[1].dtype == np.float32 and out[2].dtype == dt
    for k in (0, 2):
        step = np.abs(out[k].astype(np.float32) - ref[k].astype(np.float32))
        ulp = 2.0 ** (-7 if dt == BF16 else -10)
        assert (step <= np.abs(ref[k].astype(np.float32)) * ulp + 1e-6).all(), k
    np.testing.assert_allclose(out[1], ref[1], rtol=1e-5, atol=1e-5)


def test_large_bfloat16_output_keeps_its_dtype():
    """Regression: outputs of 1 MiB and more come from a recycled memory pool whose array
    interface cannot name bfloat16; they came back as raw 'V2' arrays."""
    x = np.ones((1024, 512), BF16)
    out = fg.jit(lambda x: x * 2)(x)
    arr = np.asarray(out)
    assert arr.dtype == BF16 and out.dtype == BF16
    assert float(arr[3, 7]) == 2.0


def test_16bit_float_sums_over_leading_axes_accumulate_in_input_order():
    """A bfloat16/float16 sum or product over non-trailing axes (a bias gradient: sum over
    N, H, W of NHWC) reads the input once, in memory order, accumulating every output cell
    in double and rounding once, instead of one strided pass over the input per output
    element (18x slower than float32 on [64,28,28,32]). Values: the double sum/product of
    the 16-bit inputs rounded once (bfloat16 through float, as ml_dtypes casts), bit for
    bit, on several axis layouts (leading, interleaved, middle, trailing for contrast)."""
    rng = np.random.default_rng(7)
    xb = rng.standard_normal((4, 3, 5, 6)).astype(BF16)
    xh = rng.standard_normal((4, 3, 5, 6)).astype(np.float16)
    pb = (rng.standard_normal((4, 3, 5, 6)) * 0.2 + 1).astype(BF16)
    layouts = [(0,), (0, 1, 2), (0, 2), (1, 2), (0, 3), (2, 3)]

    def f(xb, xh, pb):
        outs = [lax.reduce_sum(x, axes) for axes in layouts for x in (xb, xh)]
        return outs + [lax.reduce_prod(pb, (0, 2)), lax.reduce_prod(pb, (1,))]

    out, _, src = compiled(f, fnp.asarray(xb), fnp.asarray(xh), fnp.asarray(pb))

    def rounded(r, dt):
        return (r.astype(np.float32) if dt == BF16 else r).astype(dt)

    want = [rounded(np.sum(x.astype(np.float64), axis=axes), x.dtype)
            for axes in layouts for x in (xb, xh)]
    want += [rounded(np.prod(pb.astype(np.float64), axis=axes), BF16) for axes in ((0, 2), (1,))]
    labels = [f"sum {x.dtype} axes={axes}" for axes in layouts for x in (xb, xh)] + \
        ["prod bfloat16 axes=(0, 2)", "prod bfloat16 axes=(1,)"]
    for o, w, label in zip(out, want, labels):
        assert o.dtype == w.dtype and o.shape == w.shape, (label, o.dtype, o.shape)
        np.testing.assert_array_equal(o.view(np.uint16), w.view(np.uint16), err_msg=label)
    # the input-order path's scratch array (codegen._reduce_in_scratch)
    assert "racc[" in src, "16-bit sums over leading axes took the per-output loops"
