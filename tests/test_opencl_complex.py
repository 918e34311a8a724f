"""The OpenCL backend compiles complex64 (`float2`), complex128 (`double2`, on devices with
cl_khr_fp64), bfloat16 (`ushort`) and float16 (vload_half/vstore_half_rte), the 16-bit
floats computed in float and rounded to nearest-even after every operation, into its
elementwise, reduction and structural kernels, with no host steps, and agrees with the
reference backend: complex chains within float tolerance, 16-bit chains bit for bit. What it
does not compile (complex window and convolution kernels) runs as a host step with its
reason recorded.

Cheap on purpose: each test builds one program holding many cases (a PoCL build costs tens
of seconds of CPU)."""
from __future__ import annotations

import types
import warnings

import numpy as np
import pytest
from narrow_data import narrow_data

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.backends import get_backend

opencl = pytest.importorskip("opencl")
ml_dtypes = pytest.importorskip("ml_dtypes")

pytestmark = [pytest.mark.opencl,
              pytest.mark.skipif(not opencl.available(), reason="no OpenCL platform")]

BF16 = np.dtype(ml_dtypes.bfloat16)


def compiled(f, *args):
    """(OpenCL results, reference results, OpenCL source) of jit(f); fails if the OpenCL
    program has a host step (an equation no kernel computes)."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        lowered = fg.jit(f).lower(*args)
        exe = get_backend("opencl").executable(lowered.program)
        assert exe.host_reasons == [], f"host steps in the OpenCL program: {exe.host_reasons}"
        out = fg.jit(f, backend="opencl")(*args)
        assert all(o.backend == "opencl" for o in out)
        out = [np.asarray(o) for o in out]
        ref = [np.asarray(o) for o in fg.jit(f, backend="reference")(*args)]
    return out, ref, exe.source


def assert_close(out, ref, rtol, label):
    """Equal dtypes, NaNs and infinities where the reference has them, else |out - ref|
    <= rtol * max(|ref|, 1)."""
    assert out.dtype == ref.dtype, (label, out.dtype, ref.dtype)
    if out.dtype.kind not in "cf":
        np.testing.assert_array_equal(out, ref, err_msg=label)
        return
    o, r = out.astype(np.complex128), ref.astype(np.complex128)
    nan_o, nan_r = np.isnan(o.real) | np.isnan(o.imag), np.isnan(r.real) | np.isnan(r.imag)
    np.testing.assert_array_equal(nan_o, nan_r, err_msg=label)
    o, r = o[~nan_o], r[~nan_r]
    inf = np.isinf(r)
    np.testing.assert_array_equal(o[inf], r[inf], err_msg=label)
    err = np.abs(o[~inf] - r[~inf]) / np.maximum(np.abs(r[~inf]), 1.0)
    assert err.size == 0 or err.max() <= rtol, (label, err.max())


UNARY = ("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "arcsinh",
         "arccosh", "arctanh", "arcsin", "arccos", "arctan", "expm1", "log1p", "sign",
         "square", "reciprocal", "conj")
REAL_UNARY = ("abs", "angle", "real", "imag")


def _complex_data(dt, seed=0):
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal(64) * 1.5 + 1j * rng.standard_normal(64) * 1.5).astype(dt)
    w = (rng.standard_normal(64) + 1j * rng.standard_normal(64)).astype(dt)
    # products and quotients at the edges: Smith's division keeps (1e30 + 1e30j) /
    # (1e30 + 1e30j) = 1 where the textbook formula overflows; 0 / 0 is NaN
    z[:6] = [1e30 + 1e30j, 1 + 1j, 0j, 1e-30 - 2e-30j, 3 - 4j, -2.5 + 0j]
    w[:6] = [1e30 + 1e30j, 0j, 0j, 1e-30 + 1e-30j, 0.5j, 1e20 - 1e20j]
    m = (rng.standard_normal((4, 6, 5)) + 1j * rng.standard_normal((4, 6, 5))).astype(dt)
    r = rng.standard_normal((6, 5)).astype(np.float32)
    return z, w, m, r


def _complex_program(z, w, m, r):
    """Elementwise functions (stacked: one kernel), arithmetic, comparisons, select, casts,
    reductions and structural ops of complex values."""
    zs, ws = z[6:], w[6:]                 # the transcendentals on ordinary values
    rr = r.astype(m.real.dtype)
    return (z * w, z / w, z + w - z * 0.5, -z, z == w, z != zs.sum(),
            fnp.stack([getattr(fnp, n)(zs) for n in UNARY]),
            fnp.stack([getattr(fnp, n)(zs) for n in REAL_UNARY]), fnp.isfinite(z / w),
            zs ** 3, zs ** -2, zs ** ws, fnp.exp(zs) * ws - fnp.conj(zs) / (ws + 0.5j),
            fnp.where(fnp.real(zs) > 0, zs, ws), fnp.maximum(zs, ws), fnp.minimum(zs, ws),
            lax.complex(fnp.imag(zs), fnp.real(ws)), zs.astype(np.float32),
            fnp.abs(zs).astype(zs.dtype), fnp.arange(58).astype(zs.dtype) * zs,
            zs.astype(np.int32), zs.astype(bool),
            fnp.sum(m), fnp.sum(m, axis=(0, 2)), fnp.sum(m, axis=1), fnp.mean(m, axis=0),
            fnp.prod(m[:, :3, :4], axis=2), fnp.max(m, axis=1), fnp.min(m, axis=0),
            m[1] + rr, rr.astype(m.dtype) * 1j, fnp.transpose(m, (2, 0, 1))[::2, :, 1:4],
            fnp.concatenate([m, m[:, :2]], 1), fnp.pad(m[0], 1),
            fnp.broadcast_to(m[0, 0], (3, 5)), m @ fnp.swapaxes(m, 1, 2),
            fnp.einsum("bij,bik->jk", m, m))


def _complex_program_small(z, w, m, r):
    """The double-precision helpers and accumulations of `_complex_program` (the kernels
    themselves are the same for both widths; fewer of them build faster)."""
    zs, ws = z[6:], w[6:]
    return (z * w, z / w, fnp.stack([getattr(fnp, n)(zs) for n in UNARY]),
            fnp.stack([getattr(fnp, n)(zs) for n in REAL_UNARY]), zs ** ws,
            fnp.where(fnp.real(zs) > 0, zs, ws), fnp.sum(m, axis=1), fnp.max(m, axis=1),
            m[1] + r.astype(m.real.dtype), m[0].T @ m[1])


@pytest.mark.parametrize("x64", [False, True], ids=["complex64", "complex128"])
def test_complex_kernels_compile_and_agree(x64):
    dev = opencl.default_device()
    if x64 and not dev.has_fp64:
        pytest.skip("device lacks cl_khr_fp64 (complex128 arrays need it, as float64)")
    with fg.config.override("enable_x64", x64):
        dt = np.complex128 if x64 else np.complex64
        f = _complex_program_small if x64 else _complex_program
        out, ref, src = compiled(f, *_complex_data(dt))
    rtol = 1e-12 if x64 else 4e-6
    for k, (o, r) in enumerate(zip(out, ref)):
        assert_close(o, r, rtol, f"output {k}")
    assert abs(out[1][0] - 1) < 1e-6           # Smith's scaling: no overflow to inf/NaN
    t = "double2" if x64 else "float2"
    assert f"__global {t}*" in src and f"cmul_c{128 if x64 else 64}(" in src
    if not x64:
        # complex64 sums accumulate in complex128 where the device has fp64
        assert ("convert_double2(" in src) == dev.has_fp64


def _narrow_data(dt):
    x, y, f32, f64, i32 = narrow_data(dt, [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan,
                                           3.0e38, -3.0e38, 1e-40, -1e-40, 9.2e-41,
                                           1 + 2 ** -8, 1 + 3 * 2 ** -8, 255.5, 1e-3])
    ones = np.array([1.0] + [2 ** -8] * 511, np.float32).reshape(2, 256).T.astype(dt)
    return x, y, f32, f64, i32, ones


def _narrow_program(x, y, f32, f64, i32, ones):
    m, dt = x.reshape(16, 16), x.dtype
    return (x * y + x, x / y - y, fnp.sqrt(fnp.abs(x)) * 2.5, fnp.maximum(x, y),
            fnp.minimum(x, y), fnp.where(x > y, x, y * y), x ** 2, -x, fnp.abs(y),
            lax.rsqrt(fnp.abs(y)), fnp.floor(x * 0.3), x.astype(np.float32),
            x.astype(np.int32), x.astype(bool), f32.astype(dt), f64.astype(dt),
            i32.astype(dt), x < y, x == y, fnp.transpose(m)[::3, 1:9], fnp.pad(m, 1),
            fnp.concatenate([m, m[:4]]), fnp.max(m, axis=1), fnp.min(m, axis=0),
            lax.reduce_window(m, -np.inf, lax.max, (3, 3), (2, 2), "SAME"),
            lax.reduce_window(m, np.inf, lax.min, (2, 2), (1, 1), "VALID"),
            fnp.sum(ones), fnp.sum(ones, axis=0), fnp.sum(m, axis=1),
            fnp.exp(y) - fnp.tanh(x), fnp.log1p(fnp.abs(x)), fnp.sin(x),
            # products of widened copies summed in float32, rounded once (or not: JAX's
            # preferred_element_type)
            lax.conv_general_dilated(x[16:].reshape(1, 6, 8, 5), y[16:106].reshape(3, 3, 5, 2),
                                     (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")),
            x[16:].reshape(15, 16) @ y[16:].reshape(16, 15),
            lax.dot_general(x[16:].reshape(15, 16), y[16:].reshape(15, 16),
                            (((1,), (1,)), ((), ())), preferred_element_type=np.float32))


N_INEXACT = 9      # the trailing outputs of _narrow_program compared within a 16-bit ulp


def _buffers_hold_bfloat16() -> bool:
    try:
        opencl.default_device().check_dtype(BF16)
    except opencl.OpenCLDtypeError:
        return False
    return True


@pytest.mark.parametrize("dt", [BF16, np.dtype(np.float16)], ids=["bfloat16", "float16"])
def test_16bit_float_kernels_compile_and_are_bit_exact(dt):
    """bfloat16 (ushort) and float16 (vload_half/vstore_half_rte: no cl_khr_fp16 needed)
    computed in float and rounded to nearest-even after every operation, as ml_dtypes'
    and NumPy's float16 loops do."""
    if dt == BF16 and not _buffers_hold_bfloat16():
        pytest.skip("the opencl runtime refuses bfloat16 buffers (Device.check_dtype)")
    out, ref, src = compiled(_narrow_program, *_narrow_data(dt))
    n_exact = len(out) - N_INEXACT
    for k, (o, r) in enumerate(zip(out, ref)):
        assert o.dtype == r.dtype, (k, o.dtype, r.dtype)
        if k < n_exact:
            o16, r16 = o.view(np.uint16) if o.dtype == dt else o, \
                r.view(np.uint16) if r.dtype == dt else r
            if o.dtype == dt:
                # a NaN's sign and payload are not part of the result
                nan = np.isnan(o.astype(np.float32)) & np.isnan(r.astype(np.float32))
                o16, r16 = o16[~nan], r16[~nan]
            np.testing.assert_array_equal(o16, r16, err_msg=f"output {k}")
        else:
            # sums accumulate in float32 (reference) or double (OpenCL with fp64), rounded
            # once, products in float32 in another order; transcendentals come from the
            # device's libm (a few float ulps, which may move a result to the neighbouring
            # 16-bit float): equal or neighbours
            of, rf = o.astype(np.float32), r.astype(np.float32)
            np.testing.assert_array_equal(np.isnan(of), np.isnan(rf), err_msg=f"output {k}")
            ulp = 2.0 ** (-7 if dt == BF16 else -10)
            with np.errstate(invalid="ignore"):          # inf - inf
                ok = np.isnan(rf) | (of == rf) | (np.abs(of - rf) <= np.abs(rf) * ulp)
            assert ok.all(), (k, o[~ok][:5], r[~ok][:5])
    # 1 + 511 * 2**-8 = 2.99609375: a float16, 3 in bfloat16 (summed in the 16-bit type it
    # would stay 1)
    assert float(out[n_exact]) == float(np.float32(2.99609375).astype(dt))
    assert out[-2].dtype == dt and out[-1].dtype == np.float32
    if dt == BF16:
        assert "__global ushort*" in src and "ocl_bfround_f32(" in src
    else:
        assert "vstore_half_rte(" in src and "ocl_hround_f32(" in src and "cl_khr_fp16" not in src


def test_what_does_not_compile_is_a_host_step_with_its_reason():
    """complex reduce_window has no device kernel; complex128 needs cl_khr_fp64. No program
    is built: a program of host steps only has no kernels."""
    from funcgrad.backends import opencl as ob
    x = np.arange(12).reshape(3, 4).astype(np.complex64) * (1 + 1j)

    def f(x):
        return lax.reduce_window(x, 0j, lax.add, (2, 2), (1, 1), "VALID")
    exe = get_backend("opencl").executable(fg.jit(f).lower(x).program)
    assert exe.source == ""
    assert exe.host_reasons == [("reduce_window", "complex64 has no OpenCL window kernel")]
    np.testing.assert_array_equal(np.asarray(fg.jit(f, backend="opencl")(x)),
                                  np.asarray(fg.jit(f, backend="reference")(x)))

    bare = types.SimpleNamespace(has_fp64=False, has_fp16=False)
    full = types.SimpleNamespace(has_fp64=True, has_fp16=True)
    assert np.dtype(np.complex128) not in ob._kernel_dtypes(bare)
    assert {np.dtype(np.complex128), np.dtype(np.complex64), BF16} <= \
        ob._kernel_dtypes(full)
    with fg.config.override("enable_x64", True):
        eqn = fg.jit(fnp.exp).lower(np.ones(3, np.complex128)).program.eqns[0]
    assert ob._device_lowerable(eqn, ob._kernel_dtypes(full))
    assert not ob._device_lowerable(eqn, ob._kernel_dtypes(bare))
    assert ob._unsupported_dtype([eqn], "map", ob._kernel_dtypes(bare)) == \
        "complex128 needs cl_khr_fp64, which the device lacks"


def test_pocl_builds_skip_the_binary_cache():
    """On PoCL a new program's binary is not written to funcgrad's cache: PoCL caches its
    kernels itself, and asking it for the binary compiled every kernel a second time."""
    dev = opencl.default_device()
    opencl.reset_build_stats()
    z = np.array([1 + 2j, -0.5j], np.complex64)
    out = fg.jit(lambda z: fnp.cosh(z) * 3 - 1j, backend="opencl")(z)
    np.testing.assert_allclose(np.asarray(out), np.cosh(z) * 3 - 1j, rtol=1e-5)
    stats = opencl.build_stats()
    assert stats.get("source_builds", 0) + stats.get("memo_hits", 0) >= 1, stats
    if "portable computing language" in dev.platform_name.lower():
        assert stats.get("cache_writes", 0) == 0, stats
