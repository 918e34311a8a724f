"""JAX's narrow types (float8_*, float6_*, float4_e2m1fn, int1/2/4, uint1/2/4) as funcgrad
array dtypes, and `nn.scaled_dot_general` built on them.

Casts agree with ml_dtypes bit for bit over every bit pattern of each type and over edge
float32 values (ties, overflow, NaN, subnormals); float -> narrow int saturates as XLA's
does. Arithmetic agrees with ml_dtypes' NumPy loops (each operation in float32 or int32,
rounded or wrapped back) eagerly and under `jit` on every backend; reductions and dots
add in float32 and round once. Promotion refuses every mix but bool and weak scalars,
with JAX's message. `scaled_dot_general` is checked against a NumPy re-implementation of
JAX's quantisation rule and against values recorded from JAX 0.10.2's `quantize`.

Cheap on purpose: each jit test is one program holding every case."""
from __future__ import annotations

import warnings

import ml_dtypes
import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import dtypes, io, lax, nn
from funcgrad.config import TypePromotionError

NARROW_FLOATS = sorted(dtypes.NARROW_FLOATS, key=str)
NARROW_INTS = sorted(dtypes.NARROW_INTS, key=str)
F32 = np.dtype(np.float32)


def _bits(dt) -> int:
    return dtypes.finfo(dt).bits if dtypes.is_float(dt) else dtypes.iinfo(dt).bits


def _patterns(dt) -> np.ndarray:
    """Every value of `dt`: all 2**bits bit patterns of a float, the range of an int."""
    if dt in dtypes.NARROW_FLOATS:
        return np.arange(2 ** _bits(dt), dtype=np.uint8).view(dt)
    info = dtypes.iinfo(dt)
    return np.arange(info.min, info.max + 1).astype(dt)


def _edges(dt) -> np.ndarray:
    """float32 values that probe a float format's rounding: each value, the midpoints
    between neighbours (ties to even) and the float32 values either side of them, past
    the largest value, below the smallest subnormal, inf, NaN and signed zeros."""
    vals = np.unique(_patterns(dt).astype(F32))
    vals = vals[np.isfinite(vals)]
    mids = ((vals[:-1].astype(np.float64) + vals[1:]) / 2).astype(F32)
    big = np.float32(np.max(np.abs(vals)))
    tiny = np.float32(np.min(np.abs(vals[vals != 0])))
    with np.errstate(over="ignore"):
        extra = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, big * 1.0625, big * 2,
                          -big * 4, tiny / 2, tiny / 3, -tiny * 0.75, 3e38, -1e-45], F32)
    return np.concatenate([vals, mids, np.nextafter(mids, np.float32(np.inf)),
                           np.nextafter(mids, np.float32(-np.inf)), extra])


def _int_edges() -> np.ndarray:
    return np.array([0.0, -0.0, 0.4, -0.6, 1.5, -1.5, 2.9, -3.9, 7.99, -8.5, 16.5, -300.0,
                     np.inf, -np.inf, np.nan, 3e9], F32)


def _float_to_int(x, dt) -> np.ndarray:
    """XLA's float -> int conversion: truncate, saturate at the type's range, NaN -> 0."""
    info = dtypes.iinfo(dt)
    with np.errstate(invalid="ignore"):
        out = np.clip(np.trunc(np.nan_to_num(x, nan=0.0, posinf=np.inf, neginf=-np.inf)),
                      info.min, info.max)
    return out.astype(np.int32).astype(dt)


def _same_bits(got, want, what):
    got = np.asarray(got)
    assert got.dtype == want.dtype, (what, got.dtype, want.dtype)
    width = {1: np.uint8, 2: np.uint16, 4: np.uint32}[want.dtype.itemsize]
    g, w = got.view(width).ravel(), want.view(width).ravel()
    bad = np.flatnonzero(g != w)
    assert bad.size == 0, f"{what}: at {bad[:5]} got {g[bad[:5]]}, want {w[bad[:5]]}"


def _cast_cases():
    ins, want, names = [], [], []
    for dt in NARROW_FLOATS + NARROW_INTS:
        p = _patterns(dt)
        ins.append((p, F32))
        want.append(p.astype(F32))
        names.append(f"{dt} -> float32")
        if dt in dtypes.NARROW_FLOATS:
            e = _edges(dt)
            ins.append((e, dt))
            want.append(e.astype(dt))
        else:
            e = _int_edges()
            ins.append((e, dt))
            want.append(_float_to_int(e, dt))
            wide = np.array([-9, -8, 7, 8, 15, 16, 17, -1, 300, -300], np.int32)
            ins.append((wide, dt))
            want.append(wide.astype(dt))           # int -> int wraps
            names.append(f"int32 -> {dt}")
        names.append(f"float32 -> {dt}")
    return ins, want, names


def test_casts_match_ml_dtypes_bit_for_bit_eagerly_and_under_jit(backend):
    ins, want, names = _cast_cases()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        eager = [fnp.asarray(x).astype(dt) for x, dt in ins]
        conv = [lax.convert_element_type(fnp.asarray(x), dt) for x, dt in ins]
        jitted = fg.jit(lambda *xs: [x.astype(dt) for x, (_, dt) in zip(xs, ins)])(
            *[fnp.asarray(x) for x, _ in ins])
    for e, c, j, w, name in zip(eager, conv, jitted, want, names):
        _same_bits(e, w, f"eager {name}")
        _same_bits(c, w, f"convert_element_type {name}")
        _same_bits(j, w, f"jit on {backend}: {name}")


def test_narrow_to_narrow_and_to_numpy():
    x = _patterns(dtypes.float8_e5m2)
    got = fnp.asarray(x).astype(fnp.float4_e2m1fn)
    _same_bits(got, x.astype(F32).astype(ml_dtypes.float4_e2m1fn), "e5m2 -> e2m1fn")
    # a cast chain is not folded away under jit: each cast rounds
    e = _edges(dtypes.float8_e4m3fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        chain = fg.jit(lambda v: v.astype(fnp.float8_e4m3fn).astype(np.float32))(e)
    _same_bits(chain, e.astype(ml_dtypes.float8_e4m3fn).astype(F32), "f32 -> e4m3fn -> f32")
    a = fnp.asarray(np.array([1.5, -2.0], ml_dtypes.float8_e4m3fn))
    assert a.dtype == fnp.float8_e4m3fn and np.asarray(a).dtype == np.dtype(fnp.float8_e4m3fn)
    assert "float8_e4m3fn" in repr(a) and str(a) == "[1.5 -2]"
    assert fnp.float8_e4m3fn == ml_dtypes.float8_e4m3fn and fnp.int4 == ml_dtypes.int4


def test_creation_functions():
    assert fnp.zeros(3, fnp.float8_e4m3fn).dtype == dtypes.float8_e4m3fn
    np.testing.assert_array_equal(np.asarray(fnp.ones((2,), fnp.float4_e2m1fn), F32), [1, 1])
    _same_bits(fnp.full((2,), 3.3, fnp.float8_e5m2), np.full(2, 3.3, ml_dtypes.float8_e5m2),
               "full")
    np.testing.assert_array_equal(np.asarray(fnp.arange(4, dtype=fnp.int4), np.int32),
                                  [0, 1, 2, 3])
    _same_bits(fnp.asarray([0.3, 100.0], dtype=fnp.float8_e4m3b11fnuz),
               np.array([0.3, 100.0], ml_dtypes.float8_e4m3b11fnuz), "asarray")
    # sampled in int32 and cast, as JAX: [4 0 2 3 1 2 2 3] is JAX 0.10.2's draw
    from funcgrad import random
    draw = random.randint(random.PRNGKey(0), (8,), 0, 5, dtype=fnp.int4)
    assert draw.dtype == dtypes.int4
    np.testing.assert_array_equal(np.asarray(draw, np.int32), [4, 0, 2, 3, 1, 2, 2, 3])
    assert fnp.iinfo(fnp.int4).max == 7 and fnp.iinfo(fnp.uint2).max == 3
    assert float(fnp.finfo(fnp.float8_e4m3fn).max) == 448.0
    assert fnp.issubdtype(fnp.float8_e4m3fn, fnp.floating)
    assert fnp.issubdtype(fnp.int4, fnp.signedinteger)
    assert fnp.issubdtype(fnp.uint4, fnp.unsignedinteger)
    assert not fnp.issubdtype(fnp.int4, fnp.floating)
    assert fnp.isdtype(fnp.float6_e2m3fn, "real floating")
    assert fnp.isdtype(fnp.uint1, "unsigned integer") and not fnp.isdtype(fnp.int2, "bool")


# ---------------------------------------------------------------------------------------
# Arithmetic

ARITH_FLOATS = [dtypes.float8_e4m3fn, dtypes.float8_e5m2, dtypes.float8_e4m3fnuz,
                dtypes.float6_e3m2fn, dtypes.float4_e2m1fn]
ARITH_INTS = [dtypes.int4, dtypes.uint4, dtypes.int2]


def _float_operands(dt, rng):
    vals = _patterns(dt)
    vals = vals[np.isfinite(vals.astype(F32))]
    return rng.choice(vals, 64), rng.choice(vals, 64)


def _small_operands(dt, rng):
    # values whose float32 sums and dot products are exact: the check does not depend on
    # the order of additions
    vals = _patterns(dt)
    f = vals.astype(F32)
    vals = vals[np.isfinite(f) & (np.abs(f) <= 8) & ((np.abs(f) >= 0.125) | (f == 0))]
    return rng.choice(vals, 16), rng.choice(vals, 16)


def _float_ops(x, y, s, t):
    return [x + y, x - y, x * y, x / y, fnp.maximum(x, y), fnp.minimum(x, y), -x,
            fnp.abs(x), fnp.sqrt(fnp.abs(x)), x * 2.0, x + 1, fnp.where(x < y, x, y),
            x == y, x <= y, fnp.sum(s), fnp.max(x), s @ t]


def _float_want(x, y, s, t):
    with np.errstate(all="ignore"):
        f32 = lambda v: v.astype(F32)  # noqa: E731
        dt = x.dtype
        return [x + y, x - y, x * y, x / y, np.maximum(x, y), np.minimum(x, y), -x,
                np.abs(x), np.sqrt(np.abs(x)), (f32(x) * 2).astype(dt), (f32(x) + 1).astype(dt),
                np.where(f32(x) < f32(y), x, y), f32(x) == f32(y), f32(x) <= f32(y),
                np.sum(f32(s)).astype(dt), np.max(f32(x)).astype(dt),
                np.dot(f32(s), f32(t)).astype(dt)]


def _int_operands(dt, rng):
    p = _patterns(dt)
    nonzero = p[p.astype(np.int32) != 0]
    shifts = np.arange(_bits(dt) - 1 if not dtypes.is_unsigned(dt) else _bits(dt))
    return (rng.choice(p, 32), rng.choice(nonzero, 32),
            rng.choice(shifts, 32).astype(np.int32).astype(dt))


def _int_ops(x, y, k):
    return [x + y, x - y, x * y, -x, x & y, x | y, x ^ y, ~x, x << k, x >> k,
            fnp.maximum(x, y), x < y, x // y, x % y, x + 1, fnp.sum(x), fnp.max(x)]


def _int_want(x, y, k):
    i32 = lambda v: v.astype(np.int32)  # noqa: E731
    dt = x.dtype
    signed = not dtypes.is_unsigned(dt)
    # (ml_dtypes' bitwise and max loops answer in int8/uint8: through int32, wrapped)
    return [x + y, x - y, x * y, (-i32(x)).astype(dt), (i32(x) & i32(y)).astype(dt),
            (i32(x) | i32(y)).astype(dt), (i32(x) ^ i32(y)).astype(dt),
            (~i32(x)).astype(dt), (i32(x) << i32(k)).astype(dt), (i32(x) >> i32(k)).astype(dt),
            np.maximum(i32(x), i32(y)).astype(dt), i32(x) < i32(y),
            (i32(x) // i32(y)).astype(dt), (i32(x) % i32(y)).astype(dt),
            (i32(x) + 1).astype(dt), np.sum(i32(x)).astype(np.int32 if signed else np.uint32),
            np.max(i32(x)).astype(dt)]


def _all_cases():
    rng = np.random.default_rng(7)
    cases = []
    for dt in ARITH_FLOATS:
        cases.append(("float", dt, _float_operands(dt, rng) + _small_operands(dt, rng)))
    for dt in ARITH_INTS:
        cases.append(("int", dt, _int_operands(dt, rng)))
    return cases


def _run_all(*flat):
    out, it = [], iter(flat)
    for kind, _, ops in _all_cases():
        args = [next(it) for _ in ops]
        out.append(_float_ops(*args) if kind == "float" else _int_ops(*args))
    return out


def test_arithmetic_matches_ml_dtypes_eagerly_and_under_jit(backend):
    cases = _all_cases()
    flat = [fnp.asarray(a) for _, _, ops in cases for a in ops]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        jitted = fg.jit(_run_all)(*flat)
        # eagerly too, but not on OpenCL: there each operation would be its own program
        eager = _run_all(*flat) if backend != "opencl" else jitted
    for (kind, dt, ops), e, j in zip(cases, eager, jitted):
        want = _float_want(*ops) if kind == "float" else _int_want(*ops)
        for i, (ge, gj, w) in enumerate(zip(e, j, want)):
            w = np.asarray(w)
            _same_bits(ge, w, f"eager on {backend}: {dt} op {i}")
            _same_bits(gj, w, f"jit on {backend}: {dt} op {i}")


def test_results_keep_the_narrow_type():
    x = fnp.asarray([1.0, 2.0], fnp.float8_e4m3fn)
    i = fnp.asarray([1, 2], fnp.int4)
    assert (x * 2.0).dtype == dtypes.float8_e4m3fn      # weak float scalar
    assert (x + 1).dtype == dtypes.float8_e4m3fn        # weak int scalar
    assert (i + 1).dtype == dtypes.int4
    assert (x + fnp.asarray(True)).dtype == dtypes.float8_e4m3fn   # bool sits below all
    assert (i * fnp.asarray([True, False])).dtype == dtypes.int4
    assert fnp.mean(x).dtype == dtypes.float8_e4m3fn
    assert fnp.sum(i).dtype == dtypes.int32        # small ints sum in the default int (JAX)
    assert fnp.sum(fnp.asarray([3, 3], fnp.uint4)).dtype == dtypes.uint32


@pytest.mark.parametrize("a, b, family", [
    (dtypes.float8_e4m3fn, dtypes.float32, "8-bit floats"),
    (dtypes.float8_e4m3fn, dtypes.float8_e5m2, "8-bit floats"),
    (dtypes.bfloat16, dtypes.float8_e8m0fnu, "8-bit floats"),
    (dtypes.float6_e2m3fn, dtypes.float16, "6-bit floats"),
    (dtypes.float4_e2m1fn, dtypes.int32, "4-bit floats"),
    (dtypes.int4, dtypes.int8, "1-bit, 2-bit and 4-bit integers"),
    (dtypes.int4, dtypes.uint4, "1-bit, 2-bit and 4-bit integers"),
    (dtypes.uint1, dtypes.float32, "1-bit, 2-bit and 4-bit integers"),
])
def test_no_implicit_promotion(a, b, family):
    x, y = fnp.zeros(2, a), fnp.zeros(2, b)
    for f in (lambda: x + y, lambda: fnp.promote_types(a, b), lambda: y * x,
              lambda: fg.jit(lambda u, v: u - v)(x, y)):
        with pytest.raises(TypePromotionError, match=f"{family} do not support implicit "
                                                     "promotion"):
            f()


def test_weak_scalars_of_a_wider_kind_are_refused():
    with pytest.raises(TypePromotionError, match="4-bit integers do not support"):
        fnp.asarray([1, 2], fnp.int4) + 1.5
    with pytest.raises(TypePromotionError, match="8-bit floats do not support"):
        fnp.asarray([1, 2], fnp.float8_e5m2) * 1j
    with pytest.raises(OverflowError, match="8 out of bounds for int4"):
        fnp.asarray([1, 2], fnp.int4) + 8


def test_gradients():
    x = np.array([0.3, -1.7, 3.1, 200.0], ml_dtypes.float8_e4m3fn)
    g = fg.grad(lambda v: fnp.sum((v * v).astype(np.float32)))(fnp.asarray(x))
    # the float32 cotangent rounds to float8, then d(v*v) = ct*v + v*ct, each rounded
    ct = np.ones(4, ml_dtypes.float8_e4m3fn)
    assert g.dtype == dtypes.float8_e4m3fn
    _same_bits(g, ct * x + x * ct, "grad of v*v")
    gi = fg.grad(lambda v: fnp.sum(v.astype(np.float32)), allow_int=True)(
        fnp.asarray([1, 2], fnp.int4))
    assert gi.dtype == dtypes.float0
    with pytest.raises(TypeError, match="int4"):
        fg.grad(lambda v: fnp.sum(v.astype(np.float32)))(fnp.asarray([1, 2], fnp.int4))


def test_io_refuses_narrow_types_with_the_fix(tmp_path):
    for dt, wide in ((fnp.float8_e4m3fn, "float32"), (fnp.int4, "int8"), (fnp.uint2, "uint8")):
        with pytest.raises(TypeError, match=rf"{np.dtype(dt)} \(the .npy format has no type "
                                            rf"code for it; save x.astype\({wide}\)"):
            io.save(tmp_path / "x.npz", {"w": fnp.zeros(3, dt)})


def test_onnx_export_refuses_narrow_arithmetic():
    # ONNX has float8 tensors but no arithmetic on them: ONNX Runtime refused the model
    pytest.importorskip("onnx")
    from funcgrad import export
    with pytest.raises(export.ExportError, match="convert_element_type' computes in "
                                                 "float8_e4m3fn"):
        export.to_onnx(lambda y: (y.astype(fnp.float8_e4m3fn) * 2).astype(np.float32),
                       fnp.ones(4))


# ---------------------------------------------------------------------------------------
# scaled_dot_general


def _np_quantize(x, mode, block, global_scale=None):
    """JAX's `quantize` on a (B, M, K) NumPy array, bit operations as JAX writes them:
    (quantised values, their scales' values as float32 (B, M, K // block))."""
    shape = x.shape
    x = x.reshape(shape[:-1] + (shape[-1] // block, block))
    data = ml_dtypes.float8_e4m3fn if mode == "mxfp8" else ml_dtypes.float4_e2m1fn
    top = np.asarray(ml_dtypes.finfo(data).max).astype(x.dtype)
    with np.errstate(all="ignore"):
        if mode == "mxfp8":
            s = (np.max(np.abs(x), axis=-1, keepdims=True) / top).astype(F32)
            bits = s.view(np.uint32)
            exp, mant = bits >> 23, bits & 0x7FFFFF
            up = (mant > 0) & (exp != 0xFE) & ~((exp == 0) & (mant <= 0x400000))
            code = np.where(up, exp + 1, exp).astype(np.uint8)
            div = (code.astype(np.uint32) << 23).view(F32)
            div = np.where(div == 0, F32.type(2.0 ** -127), div)
            scaled = x / div.astype(x.dtype)
            scale = code.view(ml_dtypes.float8_e8m0fnu).astype(F32)
        else:
            scale_top = np.asarray(ml_dtypes.finfo(ml_dtypes.float8_e4m3fn).max)
            x = x / global_scale
            s = np.clip(np.max(np.abs(x), axis=-1, keepdims=True) / top, 0,
                        scale_top.astype(x.dtype))
            scale = s.astype(ml_dtypes.float8_e4m3fn).astype(F32)
            scaled = x / scale
        q = np.clip(scaled, -top, top).astype(data)
    return q.reshape(shape), scale.reshape(scale.shape[:-1])


def _np_scaled_matmul(x, y, mode, gx=None, gy=None):
    """(B, M, K) x (B, N, K) -> (B, M, N) of the dequantised operands, in float64."""
    block = 32 if mode == "mxfp8" else 16
    xq, xs = _np_quantize(x, mode, block, gx)
    yq, ys = _np_quantize(y, mode, block, gy)
    xd = xq.astype(np.float64) * np.repeat(xs, block, axis=2)
    yd = yq.astype(np.float64) * np.repeat(ys, block, axis=2)
    out = np.einsum("bmk,bnk->bmn", xd, yd)
    return out * (gx[0] * gy[0]) if mode == "nvfp4" else out


# JAX 0.10.2's quantize (jax._src.cudnn.scaled_matmul_stablehlo.quantize, on CPU) of
# _RECORDED_INPUT, recorded once: the quantised values of both rows and the scales.
_MX_Q = [[-36, -36, -32, 0.0078125, -26, -22, -20, -320, -13, -10, -7.5, -4.5, -1.5, 1.5,
          4.5, 7.5, 10, 13, 16, 20, 22, 26, 28, 32, 36, 36, 40, 44, 44, 48, 52, 56],
         [-30, -28, -26, 0.005859375, -20, -18, -16, -256, -11, -8, -6, -3.75, -1.25,
          1.25, 3.75, 6, 8, 11, 13, 16, 18, 20, 24, 26, 28, 30, 32, 36, 36, 40, 44, 44]]
_MX_S = [[0.125], [1.52587890625e-05]]
_NV_Q = [[-0.5, -0.5, -0.5, 0, -0.5, -0.5, -0.5, -6, -0.0, -0.0, -0.0, -0.0, -0.0, 0, 0, 0,
          1, 1.5, 2, 2, 2, 3, 3, 3, 4, 4, 4, 4, 6, 6, 6, 6],
         [-0.5, -0.5, -0.5, 0, -0.5, -0.5, -0.0, -4, -0.0, -0.0, -0.0, -0.0, -0.0, 0, 0, 0] +
         [6] * 16]
_NV_S = [[14.0, 2.25], [0.001953125, 0.0]]


def _recorded_input():
    x = (np.arange(32, dtype=F32) - F32.type(12.5)) * F32.type(0.37)
    x[3], x[7] = 1e-3, -41.0
    return np.stack([x, x * F32.type(1e-4)])[None]


def test_quantisation_matches_values_recorded_from_jax():
    from funcgrad.nn._scaled_dot import _quantize
    x = fnp.asarray(_recorded_input())
    for cfg, q_want, s_want in (
            (nn.get_scaled_dot_general_config("mxfp8"), _MX_Q, _MX_S),
            (nn.get_scaled_dot_general_config("nvfp4", fnp.asarray([0.5], np.float32)),
             _NV_Q, _NV_S)):
        q, s = _quantize(x, cfg)
        assert q.dtype == np.dtype(cfg.data_type)
        _same_bits(q, np.array([q_want], F32).astype(cfg.data_type), f"{cfg.mode} values")
        np.testing.assert_array_equal(np.asarray(s), np.array([s_want], F32))


def _operands(rng, shape, wide=True):
    x = rng.standard_normal(shape).astype(F32)
    if wide:        # magnitudes across many binades, a zero block and a huge block
        x *= F32.type(2.0) ** rng.integers(-12, 12, shape).astype(F32)
    return x


def test_scaled_dot_general_matches_numpy_rule_both_modes_and_batched_dims():
    rng = np.random.default_rng(3)
    a = _operands(rng, (2, 64, 3))            # (batch, contract, m)
    b = _operands(rng, (5, 2, 64))            # (n, batch, contract)
    a[0, :32, 1] = 0
    a[1, 32:, 2] = 3e4
    dn = (((1,), (2,)), ((0,), (1,)))
    a3 = np.transpose(a, (0, 2, 1))           # (B, M, K)
    b3 = np.transpose(b, (1, 0, 2))           # (B, N, K)
    gs = (np.array([0.5], F32), np.array([2.0], F32))
    for mode, gx, gy in (("mxfp8", None, None), ("nvfp4", *gs)):
        cx = nn.get_scaled_dot_general_config(mode, None if gx is None else fnp.asarray(gx))
        cy = nn.get_scaled_dot_general_config(mode, None if gy is None else fnp.asarray(gy))
        out = nn.scaled_dot_general(fnp.asarray(a), fnp.asarray(b), dn, configs=[cx, cy, cx])
        want = _np_scaled_matmul(a3, b3, mode, gx, gy)
        assert out.shape == (2, 3, 5) and out.dtype == F32
        np.testing.assert_allclose(np.asarray(out), want, rtol=1e-5, atol=1e-6 * np.abs(
            want).max(), err_msg=mode)
        # not a plain dot: the quantisation error shows
        assert not np.allclose(np.asarray(out), np.einsum("bmk,bnk->bmn", a3, b3), rtol=1e-4)
    # the same as nn.scaled_matmul (JAX's) of the float8 values and float8_e8m0fnu scales
    from funcgrad.nn._scaled_dot import _quantize
    mx = nn.get_scaled_dot_general_config("mxfp8")
    (aq, as_), (bq, bs) = _quantize(fnp.asarray(a3), mx), _quantize(fnp.asarray(b3), mx)
    assert aq.dtype == dtypes.float8_e4m3fn
    by_matmul = nn.scaled_matmul(aq, bq, as_.astype(fnp.float8_e8m0fnu),
                                 bs.astype(fnp.float8_e8m0fnu))
    np.testing.assert_allclose(np.asarray(by_matmul), np.asarray(
        nn.scaled_dot_general(a, b, dn, configs=[mx] * 3)), rtol=1e-6)
    out16 = nn.scaled_dot_general(a, b, dn, preferred_element_type=fnp.bfloat16,
                                  configs=[nn.get_scaled_dot_general_config("mxfp8")] * 3)
    assert out16.dtype == dtypes.bfloat16
    _same_bits(out16, np.asarray(nn.scaled_dot_general(
        a, b, dn, configs=[nn.get_scaled_dot_general_config("mxfp8")] * 3)).astype(
        ml_dtypes.bfloat16), "bfloat16 result rounds the float32 one")


def test_scaled_dot_general_gradient_quantises_the_cotangent_and_jit_agrees():
    rng = np.random.default_rng(5)
    x = _operands(rng, (32, 64), wide=False)      # no batch axis: JAX adds and drops one
    y = _operands(rng, (64, 32), wide=False)
    ct = _operands(rng, (32, 32), wide=False)
    dn = (((1,), (0,)), ((), ()))
    mx = nn.get_scaled_dot_general_config("mxfp8")

    def f(x, y):
        out, vjp = fg.vjp(lambda u, v: nn.scaled_dot_general(u, v, dn, configs=[mx] * 3), x, y)
        return (out,) + vjp(fnp.asarray(ct))

    eager = f(fnp.asarray(x), fnp.asarray(y))
    jitted = fg.jit(f)(fnp.asarray(x), fnp.asarray(y))
    want_out = _np_scaled_matmul(x[None], y.T[None], "mxfp8")[0]
    # JAX's rule: d lhs = q(ct) . q(y^T) contracted over y's kept axis (the cotangent's
    # columns), d rhs likewise with x
    want_dx = _np_scaled_matmul(ct[None], y[None], "mxfp8")[0]
    want_dy = _np_scaled_matmul(ct.T[None], x.T[None], "mxfp8")[0].T
    for got in (eager, jitted):
        for g, w in zip(got, (want_out, want_dx, want_dy)):
            np.testing.assert_allclose(np.asarray(g), w, rtol=1e-5, atol=1e-5)


def test_nvfp4_gradient_is_a_plain_dot_with_straight_through_clipping():
    rng = np.random.default_rng(6)
    x = _operands(rng, (1, 16, 32), wide=False)
    y = _operands(rng, (1, 16, 32), wide=False)
    x[0, 0, 0] = 1e4            # beyond global_scale * 6 * 448: its gradient is dropped
    gs = fnp.asarray([0.5], np.float32)
    nv = nn.get_scaled_dot_general_config("nvfp4", gs)
    dn = (((2,), (2,)), ((0,), (0,)))
    dx, dy = fg.grad(lambda u, v: fnp.sum(nn.scaled_dot_general(u, v, dn, configs=[nv] * 3)),
                     argnums=(0, 1))(fnp.asarray(x), fnp.asarray(y))
    want_dx = np.ones((1, 16, 16), F32) @ y
    want_dx[0, 0, 0] = 0
    np.testing.assert_allclose(np.asarray(dx), want_dx, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(dy), np.ones((1, 16, 16), F32) @ x, rtol=1e-5,
                               atol=1e-6)


def test_get_scaled_dot_general_config_and_errors():
    mx = nn.get_scaled_dot_general_config("mxfp8")
    assert (mx.mode, mx.block_size, mx.data_type, mx.scale_type, mx.global_scale,
            mx.infer_only) == ("mxfp8", 32, fnp.float8_e4m3fn, fnp.float8_e8m0fnu, None, False)
    nv = nn.get_scaled_dot_general_config("nvfp4")
    assert (nv.mode, nv.block_size, nv.data_type, nv.scale_type, nv.infer_only) == \
        ("nvfp4", 16, fnp.float4_e2m1fn, fnp.float8_e4m3fn, False)
    assert nv.global_scale.dtype == F32 and nv.global_scale.shape == (1,)
    np.testing.assert_array_equal(np.asarray(nv.global_scale), [1.0])
    assert isinstance(mx, nn.BlockScaleConfig)
    with pytest.raises(ValueError, match="Unsupported mode: int8"):
        nn.get_scaled_dot_general_config("int8")
    x = fnp.ones((4, 48))
    dn = (((1,), (1,)), ((), ()))
    with pytest.raises(ValueError, match="contracting size 48 of lhs .* multiple of the mxfp8 "
                                         "block size 32"):
        nn.scaled_dot_general(x, x, dn, configs=[mx] * 3)
    with pytest.raises(ValueError, match="contracting size 4 of the cotangent in the "
                                         "gradient"):      # JAX asserts the same
        fg.grad(lambda u: fnp.sum(nn.scaled_dot_general(u, fnp.ones((4, 64)), dn,
                                                        configs=[mx] * 3)))(fnp.ones((4, 64)))
    with pytest.raises(TypeError, match="preferred_element_type .* got float64"):
        nn.scaled_dot_general(x, x, dn, preferred_element_type=np.float64, configs=[mx] * 3)
    # configs=None is lax.dot_general, as in JAX
    np.testing.assert_allclose(np.asarray(nn.scaled_dot_general(x, x, dn)), np.full((4, 4), 48))
