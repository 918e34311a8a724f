"""The C backend beyond per-primitive agreement: fusion and layouts, reductions' accuracy
and NaN semantics, control flow, pooling/conv derivatives, buffer reuse (donation), the
dispatch fast path, what `lower` shows, compile logging and the prebuilt eager kernels."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.backends import c as cbackend

pytestmark = [pytest.mark.cbackend,
              pytest.mark.skipif(not cbackend.available(), reason="no C compiler")]

RNG = np.random.default_rng(0)


def both(f, *args):
    """Results of jit(f) on the C backend and on the reference backend."""
    out = fg.jit(f, backend="c")(*args)
    ref = fg.jit(f, backend="reference")(*args)
    return out, ref


def close(a, b, rtol=1e-5, atol=1e-6):
    la, lb = fg.tree.tree_leaves(a), fg.tree.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x, np.float64), np.asarray(y, np.float64),
                                   rtol=rtol, atol=atol)


def arr(*shape, dtype=np.float32):
    return fnp.asarray(RNG.standard_normal(shape).astype(dtype))


def test_fused_chain_broadcast_transposed_and_strided_inputs():
    x, z = arr(6, 5), arr(6)
    f = lambda x, z: fnp.tanh(x.T[::2] * 2.0) + fnp.exp(-x.T[1::2][:1] ** 2) * z[None, :]  # noqa
    out, ref = both(f, x, z)
    close(out, ref)
    assert "tanh" in fg.jit(f).lower(x, z).source


def test_size_zero_and_scalars():
    close(*both(lambda x: fnp.sum(x * 2, axis=0), fnp.zeros((0, 3))))
    close(*both(lambda x: (x + 1) * x, fnp.float32(2.5)))
    close(*both(lambda x: fnp.exp(x)[1:1], arr(4)))


def test_large_float32_sum_is_accurate():
    x = RNG.random(10_000_000, dtype=np.float32)
    got = float(fg.jit(fnp.sum)(fnp.asarray(x)))
    want = float(np.sum(x, dtype=np.float64))
    assert abs(got - want) <= 1e-5 * abs(want)


def test_nan_and_inf_propagate_like_numpy():
    x = fnp.asarray(np.array([[1.0, np.nan, -np.inf], [np.inf, 0.0, -1.0]], np.float32))
    for f in (fnp.max, fnp.min, lambda a: fnp.max(a, axis=1), lambda a: fnp.exp(a) - a,
              lambda a: fnp.maximum(a, 0.5), lambda a: fnp.tanh(a) * fnp.log(fnp.abs(a))):
        out = np.asarray(fg.jit(f)(x))
        with np.errstate(all="ignore"):
            want = np.asarray(fg.jit(f, backend="reference")(x))
        np.testing.assert_array_equal(np.isnan(out), np.isnan(want))
        np.testing.assert_allclose(np.nan_to_num(out), np.nan_to_num(want), rtol=1e-6)


def test_scan_rnn_grad_matches_reference():
    W, U = arr(4, 4) * 0.3, arr(4, 4) * 0.3
    xs = arr(7, 3, 4)

    def loss(W, U):
        def step(h, x):
            h = fnp.tanh(x @ W + h @ U)
            return h, h.sum()
        h, ys = lax.scan(step, fnp.zeros((3, 4)), xs)
        return fnp.sum(h ** 2) + fnp.sum(ys)

    close(*both(fg.value_and_grad(loss, argnums=(0, 1)), W, U), rtol=1e-4, atol=1e-5)


def test_while_and_cond_on_c():
    f = lambda x: lax.while_loop(lambda c: c[0] < 5, lambda c: (c[0] + 1, c[1] * 1.5),  # noqa
                                 (0, x))[1]
    close(*both(f, arr(3)))
    g = lambda x: lax.cond(x.sum() > 0, lambda y: fnp.sin(y), lambda y: y * 3.0, x)  # noqa
    close(*both(g, arr(3)))
    close(*both(g, -fnp.abs(arr(3))))


@pytest.mark.parametrize("padding", ["VALID", "SAME"])
def test_pooling_and_conv_gradients(padding):
    x, w = arr(2, 6, 5, 3), arr(3, 3, 3, 4)
    dn = ("NHWC", "HWIO", "NHWC")

    def loss(x, w):
        h = lax.conv_general_dilated(x, w, (1, 1), padding, dimension_numbers=dn)
        h = lax.reduce_window(fnp.maximum(h, 0), -np.inf, lax.max, (1, 2, 2, 1),
                              (1, 2, 2, 1), padding)
        return fnp.sum(h ** 2)

    close(*both(fg.grad(loss, argnums=(0, 1)), x, w), rtol=1e-4, atol=1e-4)


def test_donated_buffer_is_reused_and_then_unusable():
    W = fnp.asarray(np.ones((64, 64), np.float32))
    g = arr(64, 64)
    addr = W._value.__array_interface__["data"][0]
    W2 = fg.jit(lambda W, g: W - 0.1 * g, donate_argnums=0)(W, g)
    assert W2._value.__array_interface__["data"][0] == addr
    np.testing.assert_allclose(np.asarray(W2), 1 - 0.1 * np.asarray(g), rtol=1e-6)
    with pytest.raises(RuntimeError, match="donated"):
        np.asarray(W)


def test_dispatch_fast_path_results_and_signatures():
    f = fg.jit(lambda x: x * 2 + 1)
    a, b = arr(10), arr(3, 2)
    for _ in range(3):
        close(f(a), np.asarray(a) * 2 + 1)
        close(f(b), np.asarray(b) * 2 + 1)
    assert f.trace_count == 2


def test_lower_shows_optimised_ir_and_c_source():
    low = fg.jit(lambda x: fnp.sum(fnp.exp(x) * 1.0 + 0.0)).lower(arr(8))
    assert "exp" in low.ir and "mul" not in low.ir  # x*1 and +0 are simplified away
    assert "expf" in low.source and "#pragma omp" in low.source


def test_log_compiles_prints_the_missing_signature():
    code = ("import funcgrad as fg, funcgrad.numpy as fnp\n"
            "f = fg.jit(lambda x: x + 1)\n"
            "f(fnp.ones(3)); f(fnp.ones(3)); f(fnp.ones(4))\n")
    env = dict(os.environ, FUNCGRAD_LOG_COMPILES="1")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "tracing jit" in ln]
    assert len(lines) == 2 and "f32[3]" in lines[0] and "f32[4]" in lines[1]


def test_eager_prebuilt_kernels_agree_with_jit():
    from funcgrad.lowering import eager
    if eager.library() is None:
        pytest.skip("funcgrad._eager_kernels not built (pip install -e . builds it)")
    x, y = arr(1000), arr(1000)
    for f in (lambda a, b: fnp.exp(a) * b, lambda a, b: fnp.maximum(a, b) - 2.0,
              lambda a, b: fnp.tanh(a) < b):
        close(f(x, y), fg.jit(f)(x, y))


def test_host_steps_get_materialised_inputs():
    # argmax has no loop lowering: its fused-away operand must still be computed.
    x = arr(6, 10)
    for f in (lambda a: fnp.argmax(a + 1.0, axis=1), lambda a: fnp.argmin(a * 2.0, axis=0)):
        np.testing.assert_array_equal(np.asarray(fg.jit(f)(x)),
                                      np.asarray(fg.jit(f, backend="reference")(x)))
    h = fnp.asarray(np.asarray(x).astype(np.float16))
    close(*both(lambda a: fnp.sum(fnp.exp(a * 2) + 1, axis=1), h), rtol=2e-3, atol=1e-2)


def test_scan_c_loop_with_repeated_and_passthrough_outputs():
    xs, W = arr(5, 3, 4), arr(4, 4) * 0.3

    def f(W):
        def step(h, x):
            h2 = fnp.tanh(x @ W + h)
            return h2, (h2, x, h)          # y repeats the carry, passes x and h through
        return lax.scan(step, fnp.ones((3, 4)), xs)

    out = fg.jit(f)(W)
    assert "scan (length 5)" in fg.jit(f).lower(W).source
    close(out, fg.jit(f, backend="reference")(W))
