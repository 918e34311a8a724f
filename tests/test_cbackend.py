"""The C backend beyond per-primitive agreement: fusion and layouts, reductions' accuracy
and NaN semantics, control flow, pooling/conv derivatives, buffer reuse (donation), the
dispatch fast path, what `lower` shows, compile logging, the prebuilt eager kernels and
size-generic code (a new batch size reuses the compiled module)."""
from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
import types

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax, nn
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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["max", "min", "sum"])
def test_padded_windows_blend_bits_and_give_the_reference_bits(kind, dtype):
    """Pooling windows whose cells may lie in the padding choose the cell or the identity by
    blending bit patterns (cdsl.helpers' bsel: as a select, gcc turned the cell's load into
    a masked load and left a 3 x 3 SAME max pool scalar, 8x slower than JAX), in the
    forward pass and both derivative kernels; NaN, -0.0, +0.0 and infinities in the input,
    windows of stride 1 and 2, the reference backend's bits."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 9, 7, 5)).astype(dtype)
    x[0, 0, 0, :2] = np.nan
    x[1, 8, 6, :] = -0.0
    x[1, 0, 6, :] = 0.0
    x[0, 4, 3, 1] = -np.inf
    x[1, 3, 0, 2] = np.inf
    red, init = {"max": (lax.max, -np.inf), "min": (lax.min, np.inf),
                 "sum": (lax.add, 0.0)}[kind]
    for strides in ((1, 1, 1, 1), (1, 2, 2, 1)):
        def pool(x, strides=strides):
            return lax.reduce_window(x, init, red, (1, 3, 3, 1), strides, "SAME")

        def loss(x, pool=pool):
            return fnp.sum(fnp.where(fnp.isfinite(pool(x)), pool(x), 0.0) ** 2)

        with fg.config.enable_x64(dtype == np.float64):
            t = "f32" if dtype == np.float32 else "f64"
            for f in (pool, fg.grad(loss)):
                c = fg.jit(f, backend="c")
                assert f"bsel_{t}" in c.lower(x).source
                np.testing.assert_array_equal(np.asarray(c(x)),
                                              np.asarray(fg.jit(f, backend="reference")(x)))


def test_donated_buffer_is_reused_and_then_unusable():
    W = fnp.asarray(np.ones((64, 64), np.float32))
    g = arr(64, 64)
    addr = W._value.__array_interface__["data"][0]
    W2 = fg.jit(lambda W, g: W - 0.1 * g, donate_argnums=0)(W, g)
    assert W2._value.__array_interface__["data"][0] == addr
    np.testing.assert_allclose(np.asarray(W2), 1 - 0.1 * np.asarray(g), rtol=1e-6)
    with pytest.raises(RuntimeError, match="donated"):
        np.asarray(W)


def test_a_donated_buffer_another_array_sees_is_not_written():
    # A view, a host copy, a copy, a pass-through output or a closed-over constant shares
    # the donated array's NumPy buffer: the step's output was written into it (JAX's
    # buffers are never shared, so there all of these keep their values); and an array
    # passed both donated and not read the output being written (found by a JAX port)
    step = fg.jit(lambda w: w * 2.0, donate_argnums=0)

    def fresh():
        return fnp.arange(4.0) + 1.0
    w = fresh()
    kept = [w[:2], w.reshape(2, 2), np.asarray(w), fnp.copy(w), w.copy(), fnp.array(w),
            fnp.real(w), fg.jit(lambda t: t)(w)]
    out = step(w)
    np.testing.assert_array_equal(np.asarray(out), [2, 4, 6, 8])
    for k in kept:
        v = np.asarray(k).ravel()
        np.testing.assert_array_equal(v, [1, 2, 3, 4][:v.size])
    big = fresh()
    step(big[1:3])
    np.testing.assert_array_equal(np.asarray(big), [1, 2, 3, 4])
    c = fresh()
    f = fg.jit(lambda x: x + c)
    np.testing.assert_array_equal(np.asarray(f(fnp.zeros(4))), [1, 2, 3, 4])
    step(c)                       # (the fast path kept only the constant's address)
    np.testing.assert_array_equal(np.asarray(f(fnp.zeros(4))), [1, 2, 3, 4])
    a = fresh()
    g = fg.jit(lambda a, b: fnp.cumsum(a) + b[::-1] * 10, donate_argnums=0)
    np.testing.assert_array_equal(np.asarray(g(a, a)), [41, 33, 26, 20])
    # and with nothing else holding it, the buffer is reused
    w = fresh()
    addr = w._value.__array_interface__["data"][0]
    assert step(w)._value.__array_interface__["data"][0] == addr


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_eager_reductions_run_prebuilt_and_match_jit_exactly(dtype, monkeypatch):
    if dtype == np.float64:
        monkeypatch.setattr(fg.dtypes, "_x64", [True])   # (JAX's x64 mode for this case)
    from funcgrad.lowering import eager
    if eager.library() is None:
        pytest.skip("funcgrad._eager_kernels not built (pip install -e . builds it)")
    calls = []
    real = eager._run_reduce
    monkeypatch.setattr(eager, "_run_reduce", lambda *a: calls.append(a[0]) or real(*a))
    x = fnp.asarray(RNG.random((70, 3, 600)).astype(dtype))   # 126000 elements
    big = fnp.asarray(RNG.random((300, 1000)).astype(dtype))  # parallel variant
    xn = np.asarray(x).copy()
    xn[3, 1, 7] = np.nan
    xnan = fnp.asarray(xn)
    cases = [("sum", None, x), ("sum", (1, 2), x), ("sum", 0, x), ("max", -1, xnan),
             ("min", (0, 1), xnan), ("sum", 1, big), ("max", 1, big), ("mean", -1, big)]
    for name, axis, a in cases:
        f = lambda v: getattr(fnp, name)(v, axis=axis)  # noqa: E731
        e, j = np.asarray(f(a)), np.asarray(fg.jit(f)(a))
        np.testing.assert_array_equal(e, j)       # the same lowering on both paths
        want = getattr(np, name)(np.asarray(a, np.float64), axis=axis)
        np.testing.assert_allclose(e, want, rtol=1e-6 if dtype == np.float32 else 1e-12)
    assert len(calls) >= 8


_TOP_K_DTYPES = [np.float32, np.float64, np.float16, np.int32, np.int64, np.uint32,
                 np.uint64, np.int8, np.bool_]


def _top_k_case(dt, rows, n, pattern, seed):
    """Rows of `dt` that stress a selection: few distinct values (ties across the cut),
    NaNs of both signs, +-0, +-inf, and rows in ascending or descending order (the heap's
    worst case and its best)."""
    r = np.random.default_rng(seed)
    v = r.integers(-4, 5, (rows, n)).astype(np.float64) * 0.5
    if pattern == "ascending":
        v = np.sort(v, axis=-1)
    elif pattern == "descending":
        v = -np.sort(v, axis=-1)
    if np.dtype(dt).kind == "f":
        v = v.astype(dt)
        m = r.random((rows, n))
        v[m < 0.05], v[(m >= 0.05) & (m < 0.1)] = np.nan, -np.nan
        v[(m >= 0.1) & (m < 0.15)] = -0.0
        v[(m >= 0.15) & (m < 0.17)] = np.inf
        v[(m >= 0.17) & (m < 0.19)] = -np.inf
        return v
    if dt == np.bool_:
        return v > 0
    info = np.iinfo(dt)
    v = (v * 2).astype(np.int64)
    v[:, ::7] = info.max if info.max < 2 ** 62 else 2 ** 62
    return (v - v.min() + info.min if info.min == 0 else v).astype(dt)


@pytest.mark.parametrize("dt", _TOP_K_DTYPES)
def test_top_k_heap_kernel_matches_the_numpy_selection(dt):
    """lax.top_k on the C backend (eager and jit) runs the prebuilt heap kernel
    (`eager.run_top_k`); it must give the reference backend's NumPy selection bit for bit:
    XLA's total order, the lower index first among equals, every k from 1 to n, the serial
    and the parallel variant."""
    from funcgrad.lowering import eager
    from funcgrad.prims import windows
    if eager.library() is None:
        pytest.skip("funcgrad._eager_kernels not built (pip install -e . builds it)")
    cases = [(5, 40, k, p) for k in (1, 3, 20, 39, 40)
             for p in ("random", "ascending", "descending")]
    cases += [(300, 600, 7, "random"), (1, 1, 1, "random"), (2, 5000, 100, "ascending")]
    for seed, (rows, n, k, pattern) in enumerate(cases):
        v = _top_k_case(dt, rows, n, pattern, seed)
        got = eager.run_top_k(v, k)
        assert got is not None
        want = windows._top_k_np(v, k=k)
        np.testing.assert_array_equal(got[1], want[1], err_msg=f"{rows}x{n} k={k} {pattern}")
        assert got[0].dtype == v.dtype and got[1].dtype == np.int32
        assert got[0].tobytes() == want[0].tobytes()
    # through the frontend (float64 and int64 become 32-bit with x64 off, as in JAX)
    v = np.asarray(fnp.asarray(_top_k_case(dt, 4, 50, "random", 99)))
    want = windows._top_k_np(v, k=6)
    for f in (lambda a: lax.top_k(a, 6), fg.jit(lambda a: lax.top_k(a, 6))):
        vals, idx = f(v)
        np.testing.assert_array_equal(np.asarray(idx), want[1])
        assert np.asarray(vals).tobytes() == want[0].tobytes()


def test_top_k_runs_the_heap_kernel_under_jit_and_eagerly(monkeypatch):
    from funcgrad.lowering import eager
    if eager.library() is None:
        pytest.skip("funcgrad._eager_kernels not built (pip install -e . builds it)")
    calls = []
    real = eager.run_top_k
    monkeypatch.setattr(eager, "run_top_k", lambda x, k: calls.append(k) or real(x, k))
    x = RNG.normal(size=(8, 100)).astype(np.float32)
    lax.top_k(x, 3)
    fg.jit(lambda a: lax.top_k(a * 2, 4))(x)
    assert calls == [3, 4]
    # nothing to select, or no kernel: the NumPy selection
    assert eager.run_top_k(x, 0) is None and eager.run_top_k(x[:, :0], 0) is None
    monkeypatch.setattr(eager, "library", lambda: None)
    assert eager.run_top_k(x, 3) is None
    np.testing.assert_array_equal(np.asarray(lax.top_k(x, 3)[1]),
                                  np.argsort(-x, axis=1, kind="stable")[:, :3])


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 70), st.data())
def test_top_k_heap_kernel_property(rows, n, data):
    from funcgrad.lowering import eager
    from funcgrad.prims import windows
    if eager.library() is None:
        return
    k = data.draw(st.integers(1, n))
    vals = data.draw(st.lists(st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, np.inf, -np.inf,
                                               np.nan, -np.nan]),
                              min_size=rows * n, max_size=rows * n))
    v = np.array(vals, np.float32).reshape(rows, n)
    got, want = eager.run_top_k(v, k), windows._top_k_np(v, k=k)
    np.testing.assert_array_equal(got[1], want[1])
    assert got[0].tobytes() == want[0].tobytes()


def test_host_steps_get_materialised_inputs():
    # cumsum and sort have no loop lowering: their fused-away operand must still be computed.
    x = arr(6, 10)
    for f in (lambda a: fnp.cumsum(a + 1.0, axis=1), lambda a: fnp.sort(a * 2.0, axis=0)):
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


def _compile_counts():
    import cdsl.compile as cc
    return cc.stats["compiles"], cc.stats["disk_hits"]


def _reuses_module_across_batches(f, args_of, batches, rtol=1e-4, atol=1e-5):
    """f jitted on the C backend at each batch size agrees with the reference. The first
    size compiles specialised code, the second size-generic code (the batch read at run
    time); every later size reuses that module: nothing compiled, nothing read from disk."""
    jf, rf = fg.jit(f, backend="c"), fg.jit(f, backend="reference")
    for i, b in enumerate(batches):
        args = args_of(b)
        before = _compile_counts()
        out = jf(*args)
        if i >= 2:
            assert _compile_counts() == before, f"batch {b} recompiled"
        close(out, rf(*args), rtol=rtol, atol=atol)
        for leaf in fg.tree.tree_leaves(out):
            assert all(type(d) is int for d in leaf.shape)


def test_functions_of_one_name_and_structure_do_not_share_a_size_family():
    """Size-generic code is for one jitted function at several sizes: two lambdas (or two
    models' `apply_fun`) of one structure compiled one after the other each get code with
    their sizes as literals (the second was size-generic against the first: an average pool
    after a max pool ran 35% slower), while one function at a second size still shares."""
    x = arr(2, 8, 8, 3)
    fg.clear_caches()
    first = fg.jit(lambda x: lax.reduce_window(x, -np.inf, lax.max, (1, 2, 2, 1),
                                               (1, 2, 2, 1), "VALID"), backend="c")
    second = fg.jit(lambda x: lax.reduce_window(x, 0.0, lax.add, (1, 3, 3, 1),
                                                (1, 1, 1, 1), "SAME"), backend="c")
    first(x)
    assert "D0" not in second.lower(x).source
    close(second(x), fg.jit(second.__wrapped__, backend="reference")(x))
    again = fg.jit(second.__wrapped__, backend="c")     # the same function jitted anew
    assert "D0" in again.lower(arr(3, 8, 8, 3)).source


def test_ragged_batch_reuses_compiled_mlp_step():
    W1, b1, W2 = arr(12, 9) * 0.3, arr(9), arr(9, 5) * 0.3

    def loss(p, x, y):
        h = fnp.tanh(x @ p[0] + p[1])
        return fnp.mean((h @ p[2] - y) ** 2) + fnp.mean(nn.log_softmax(h, axis=-1))

    _reuses_module_across_batches(fg.value_and_grad(loss),
                                  lambda b: ((W1, b1, W2), arr(b, 12), arr(b, 5)),
                                  (33, 20, 7, 50))


def test_ragged_batch_reuses_compiled_cnn_and_rnn_steps():
    K, Wd = arr(3, 3, 1, 4) * 0.3, arr(4 * 4 * 4, 10) * 0.1

    def cnn(p, x):
        y = lax.conv_general_dilated(x, p[0], (1, 1), "SAME",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
        y = lax.reduce_window(nn.relu(y), -fnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1),
                              "VALID")
        return fnp.mean(nn.log_softmax(y.reshape(y.shape[0], -1) @ p[1]))

    _reuses_module_across_batches(fg.grad(cnn), lambda b: ((K, Wd), arr(b, 8, 8, 1)),
                                  (11, 6, 3))
    Wh, Wx = arr(6, 6) * 0.3, arr(3, 6) * 0.3

    def rnn(p, xs):
        def step(h, x):
            h = fnp.tanh(h @ p[0] + x @ p[1])
            return h, h
        h, hs = lax.scan(step, fnp.zeros((xs.shape[1], 6)), xs)
        return fnp.sum(h) + fnp.mean(hs ** 2)

    _reuses_module_across_batches(fg.grad(rnn), lambda b: ((Wh, Wx), arr(7, b, 3)),
                                  (13, 5, 8))


def test_coinciding_sizes_stay_correct():
    # At (9, 9) both sizes share one run-time symbol; at (9, 4) they split: a different
    # source (compiled separately), and correct results either way.
    f = lambda a, v: fnp.tanh(a @ v) + a.sum(axis=1) * v.mean()  # noqa: E731
    for shape in ((9, 9), (9, 4), (4, 9), (4, 4)):
        a, v = arr(*shape), arr(shape[1])
        close(*both(f, a, v))


def test_size_derived_literals_render_from_the_symbols():
    from funcgrad.core import ShapedArray
    from funcgrad.ir import Lit
    from funcgrad.lowering import symbolic
    t = symbolic.SymbolTable()
    t.dim(128, 100)                     # the batch: 128 in the first program, 100 now
    lit = lambda v, dt=np.float32: Lit(v, ShapedArray((), dt))  # noqa: E731
    # 1/(batch*5) of a mean over (batch, 5), its negation, the count itself, float64
    for ref, new, dt in ((1 / 640, 1 / 500, np.float32), (-1 / 128, -1 / 100, np.float32),
                         (640.0, 500.0, np.float32), (1 / 128, 1 / 100, np.float64)):
        assert t.literal(lit(ref, dt), lit(new, dt)) is not None, (ref, new)
    for ref, new in ((0.5, 0.5),            # unchanged: stays a literal
                     (0.3, 0.7),            # not size-derived
                     (1 / 640, 1 / 300),    # 300 = 100*3 but 640 = 128*5: cofactors differ
                     (1 / 128, -1 / 100)):
        assert t.literal(lit(ref), lit(new)) is None, (ref, new)


_generic = fg.jit(lambda a, b: (fnp.tanh(a.T @ b) * 2.0 + fnp.mean(a, axis=0)[:, None],
                                fnp.max(b[::2], axis=0) - fnp.sum(a) / a.size,
                                lax.reduce_window(b, 0.0, lax.add, (2, 1), (1, 1), "VALID")))


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 9), st.integers(1, 7), st.integers(1, 6))
def test_size_generic_code_agrees_with_numpy_at_any_size(n, k, m):
    # One jitted function called at many sizes: after the second size every call runs the
    # size-generic module with its own run-time sizes.
    a = RNG.standard_normal((n, k)).astype(np.float32)
    b = RNG.standard_normal((n, m)).astype(np.float32)
    o1, o2, o3 = _generic(a, b)
    np.testing.assert_allclose(np.asarray(o1), np.tanh(a.T @ b) * 2 + a.mean(0)[:, None],
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(o2), b[::2].max(0) - a.sum() / a.size,
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(o3), b[:-1] + b[1:], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["add", "set", "mul", "min", "max"])
def test_scatter_compiles_to_c_with_duplicates_and_out_of_bounds(mode):
    from funcgrad.prims import indexing as ix
    x, u = arr(6, 3), arr(6, 3)
    idx = fnp.asarray(np.array([[0], [2], [2], [7], [-1], [5]], np.int32))
    f = lambda x, i, u: ix.scatter(x * 1.5, i, fnp.tanh(u), (0,), mode)  # noqa: E731
    assert "/* scatter -> f32[6,3] in " in fg.jit(f).lower(x, idx, u).source
    close(*both(f, x, idx, u))


def test_gather_and_dynamic_update_slice_fuse_into_loops():
    E = arr(10, 4)
    ids = fnp.asarray(np.array([[1, 3, 3], [9, 0, 12]], np.int32))   # 12: clamped
    loss = lambda E, ids: fnp.sum(fnp.tanh(E[ids]) ** 2)  # noqa: E731
    low = fg.jit(fg.grad(loss)).lower(E, ids)
    exe = fg.backends.get_backend("c").executable(low.program, low.name)
    assert not exe._host_steps and "/* scatter" in low.source   # all of it compiled
    close(*both(fg.grad(loss), E, ids), rtol=1e-5, atol=1e-6)
    y, up = fnp.zeros((5, 4)), arr(2, 3)
    for start in (0, 3, 10, -2):   # clamped like JAX
        close(*both(lambda y, up, s: lax.dynamic_update_slice(y * 2, up + 1, (s, 1)),
                    y, up, start))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.uint8])
def test_argmax_argmin_compile_with_numpy_nan_and_tie_rules(dtype):
    x = (RNG.standard_normal((7, 5, 6)) * 5).astype(dtype)
    if dtype == np.float32:
        x[2, 1, 3] = np.nan          # the first NaN wins
        x[4, :, 0] = np.nan
        x[0, 0, :] = -np.inf
    x[1, :, 2] = x[1, 0, 2]          # ties: the first position wins
    for axis in (0, 1, 2):
        for name in ("argmax", "argmin"):
            f = lambda a: getattr(fnp, name)(a + 0, axis=axis)  # noqa: E731
            assert f"/* {name} ->" in fg.jit(f).lower(x).source
            np.testing.assert_array_equal(np.asarray(fg.jit(f)(x)),
                                          getattr(np, name)(x, axis=axis))


def test_row_fusion_of_reductions_and_their_consumers():
    x = np.array(arr(37, 300))
    x[3, 5] = np.nan
    x[7, :] = -np.inf
    x = fnp.asarray(x)

    def layer_norm(a):
        m = fnp.mean(a, axis=-1, keepdims=True)
        return (a - m) / fnp.sqrt(fnp.var(a, axis=-1, keepdims=True) + 1e-5)

    for f in (nn.log_softmax, nn.softmax, layer_norm):
        assert "rows of" in fg.jit(f).lower(x).source
        close(*both(f, x), rtol=1e-5, atol=1e-6)
    # A consumer that reads another row's reduction cannot share the row loop.
    g = lambda a: a - fnp.max(a, axis=1)[::-1][:, None]  # noqa: E731
    assert "rows of" not in fg.jit(g).lower(x).source
    close(*both(g, x))


def test_short_rows_run_in_lanes_not_row_by_row():
    """Rows shorter than c.ROW_GROUP_MIN are not fused row by row (a 1024x10 cross-entropy
    gradient ran 1.3x slower as a row group): they run 16 rows at a time, one per vector
    lane (tests/test_row_lanes.py); the answer is the same either way."""
    from funcgrad.backends import c as cb
    short = fnp.asarray(arr(64, 10))
    long_ = fnp.asarray(arr(8, cb.ROW_GROUP_MIN))
    fg.clear_caches()            # (static sizes: a second size would compile code for any)
    src = fg.jit(nn.softmax).lower(short).source
    assert "in lanes" in src and "for (int64_t r = " not in src
    fg.clear_caches()
    src = fg.jit(nn.softmax).lower(long_).source
    assert "rows of" in src and "in lanes" not in src
    close(*both(nn.softmax, short))


def test_profile_accounts_for_the_whole_run():
    """FUNCGRAD_PROFILE=1: each program's compiled functions, host steps and Python
    overhead add up to its 'run' time, and the table is printed at exit."""
    import subprocess
    import sys
    code = """
import funcgrad as fg, funcgrad.numpy as fnp
from funcgrad.backends import c as cb
f = fg.jit(lambda x: fnp.abs(fnp.fft.fft(fnp.sort(fnp.tanh(x @ x.T), axis=1))).sum())
x = fnp.ones((64, 64))
for _ in range(3):
    f(x).block_until_ready()
runs = {k[:-len(': run')]: sum(v) for k, v in cb.profile_times.items() if k.endswith(': run')}
assert runs, cb.profile_times
for name, total in runs.items():
    parts = sum(sum(v) for k, v in cb.profile_times.items()
                if k.startswith(name + ':') and not k.endswith(': run')
                or k.startswith(name + '_seg'))
    assert abs(parts - total) <= 0.05 * total + 1e-4, (name, parts, total)
assert any('host step fft' in k for k in cb.profile_times), list(cb.profile_times)
assert any('sort (stable merge)' in k for k in cb.profile_times), list(cb.profile_times)
"""
    env = dict(os.environ, FUNCGRAD_PROFILE="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.returncode == 0, out.stderr
    assert "funcgrad profile" in out.stderr and "python" in out.stderr


# Loop splitting at pad and concatenation boundaries (codegen._split_nest): every piece of
# the split loop must read the right operand, including negative and interior padding, pads
# along inner and outer axes at once, and a concatenation behind a transpose.
_pieces = fg.jit(lambda a, b, c: (
    lax.pad(a, 0.5, ((1, 2, 0), (-1, 3, 0))) * 2.0,
    fnp.concatenate([a, fnp.tanh(b)], axis=1) + 1.0,
    (lax.pad(a, 0.0, ((0, 0, 0), (0, c.shape[1] + b.shape[1], 0)))
     + lax.pad(b, 0.0, ((0, 0, 0), (a.shape[1], c.shape[1], 0)))
     + lax.pad(c, 0.0, ((0, 0, 0), (a.shape[1] + b.shape[1], 0, 0)))),
    lax.pad(b, -1.0, ((2, -1, 1), (1, 0, 0))),
    fnp.concatenate([a.T, b.T], axis=0).T - fnp.concatenate([a, b], axis=1)))


def _pieces_numpy(a, b, c):
    p1 = np.pad(a[:, 1:], ((1, 2), (0, 3)), constant_values=0.5) * 2.0
    p2 = np.concatenate([a, np.tanh(b)], axis=1) + 1.0
    p3 = np.concatenate([a, b, c], axis=1)
    inter = np.full((2 * b.shape[0] - 1, b.shape[1]), -1.0, np.float32)
    inter[::2] = b
    p4 = np.pad(inter, ((2, 0), (1, 0)), constant_values=-1.0)[:-1]
    p5 = np.zeros((a.shape[0], a.shape[1] + b.shape[1]), np.float32)
    return p1, p2, p3, p4, p5


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 6), st.integers(2, 7), st.integers(1, 9), st.integers(1, 5))
def test_split_loops_at_pads_and_concatenations_agree_with_numpy(n, ka, kb, kc):
    a = RNG.standard_normal((n, ka)).astype(np.float32)
    b = RNG.standard_normal((n, kb)).astype(np.float32)
    c = RNG.standard_normal((n, kc)).astype(np.float32)
    for got, want in zip(_pieces(a, b, c), _pieces_numpy(a, b, c)):
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6, atol=1e-6)


def test_gradient_of_split_compiles_to_branch_free_loops():
    # d/dx of split(x @ W, 3) is a sum of three pads: the loop over the gate axis is cut
    # in three and no piece clamps an index (the GRU backward's hot loop).
    x, W = arr(4, 5), arr(5, 12)

    def f(x, W):
        r, z, n = fnp.split(x @ W, 3, axis=-1)
        return fnp.sum(fnp.tanh(r) * z + n ** 2)
    g = fg.grad(f, argnums=1)
    src = fg.jit(g).lower(x, W).source
    assert "clamp_i64" not in src, src
    # (entries are sums of four products up to ~15 in size: float32 rounds each to ~1e-6,
    # so a small entry that cancels differs from the reference's by more than close's
    # default atol; that failed for some draws of the shared RNG)
    ref = fg.jit(g, backend="reference")(x, W)
    close(fg.jit(g)(x, W), ref, atol=1e-6 * float(np.abs(np.asarray(ref)).max()))


def test_a_concatenation_inside_a_pad_is_split_too():
    """A cut that shows only inside a piece (the concatenation `roll` makes, inside the
    pad's interior) splits that piece again: each piece a plain copy, no clamped index and
    no select of two loads (1024 x 1024: 1.24 ms before, JAX 1.05), and NumPy's values,
    with rolls either way and pads on either side."""
    for shift, pads in ((3, 2), (-5, ((1, 0), (0, 4))), (1, ((0, 3), (2, 1)))):
        x = arr(6, 11)
        fg.backends.get_backend("c")._families.clear()     # (literal sizes: a first program)
        f = fg.jit(lambda x: fnp.pad(fnp.roll(x, shift, axis=1), pads) * 2.0)
        src = f.lower(x).source
        assert "clamp_i64" not in src and "? vt" not in src, src
        close(f(x), np.pad(np.roll(np.asarray(x), shift, axis=1), pads) * 2.0)


# --- map groups: consecutive map kernels over one shape share one loop -------------------

def _adam(p, m, v, g):
    m2 = 0.9 * m + 0.1 * g
    v2 = 0.999 * v + 0.001 * g * g
    return p - 0.01 * m2 / (fnp.sqrt(v2) + 1e-8), m2, v2


def test_map_group_computes_an_optimizer_update_in_one_loop():
    args = [arr(64, 48) for _ in range(4)]
    args[2] = fnp.abs(args[2])
    close(*both(_adam, *args))
    src = fg.jit(_adam, backend="c").lower(*args).source
    assert "one loop for" in src
    assert src.count("for (int64_t") == 1, src


def test_map_group_member_reading_an_earlier_member_elsewhere_is_not_fused():
    # b reads a transposed: a's element (j, i) may not be computed when b needs it
    def f(x):
        a = fnp.exp(x) + 1.0
        b = a.T * 2.0 + x
        return a, b
    x = arr(32, 32)
    close(*both(f, x))
    assert "one loop for" not in fg.jit(f, backend="c").lower(x).source
    # and a member reading an earlier one shifted along a row
    def g(x):
        a = fnp.sin(x) * 3.0
        b = fnp.concatenate([a[:, 1:], a[:, :1]], axis=1) + x
        return a, b
    close(*both(g, x))
    assert "one loop for" not in fg.jit(g, backend="c").lower(x).source


def test_map_group_outputs_of_several_dtypes_and_a_scan_body():
    def f(x, y):
        return x > y, (x * y).astype(np.int32), fnp.where(x > y, x, y), x - y
    close(*both(f, arr(7, 33), arr(7, 33)))

    def cell(h, x):
        z = nn.sigmoid(x[:, :8] + h)
        n = fnp.tanh(x[:, 8:] + z * h)
        return (1 - z) * n + z * h, n * z

    def loss(h0, xs):
        h, ys = lax.scan(cell, h0, xs)
        return fnp.sum(h ** 2) + fnp.sum(ys)
    h0, xs = arr(5, 8), arr(6, 5, 16)
    close(*both(fg.value_and_grad(loss, argnums=(0, 1)), h0, xs), rtol=1e-4, atol=1e-5)


def test_map_group_with_a_donated_input_and_new_sizes():
    f = fg.jit(_adam, backend="c", donate_argnums=(0, 1, 2))
    for n in (64, 40, 1):
        p, m, v, g = (RNG.standard_normal((n, 24)).astype(np.float32) for _ in range(4))
        v = np.abs(v)
        want = fg.jit(_adam, backend="reference")(p, m, v, g)
        got = f(fnp.asarray(p), fnp.asarray(m), fnp.asarray(v), fnp.asarray(g))
        close(got, want)


def test_map_groups_can_be_turned_off():
    code = ("import funcgrad as fg, funcgrad.numpy as fnp\n"
            "f = lambda a, b: (a * 2, a + b, fnp.exp(b))\n"
            "print(fg.jit(f, backend='c').lower(fnp.ones((9, 9)), fnp.ones((9, 9))).source)")
    env = dict(os.environ, FUNCGRAD_MAP_GROUPS="0")
    off = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout
    on = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                        check=True).stdout
    assert "one loop for" in on and "one loop for" not in off


def _batch_norm_backward_sums(a, b, c):
    # the shape of a batch norm's backward pass: several sums over (N, H, W) of products
    # of the same arrays, one of them of a value another one also reads
    m = fnp.where(a > 0, b, 0.0)
    xhat = (c - fnp.mean(c, (0, 1, 2))) * 0.5
    return (fnp.sum(m, (0, 1, 2)), fnp.sum(m * xhat, (0, 1, 2)),
            fnp.sum(-m * a, (0, 1, 2)), fnp.sum(b * b, (0, 1, 2)))


@pytest.mark.parametrize("shape", [(64, 28, 28, 32), (4, 5, 6, 3), (2, 600, 5, 7)])
def test_reduce_groups_give_the_bits_of_the_sums_alone(shape, monkeypatch):
    # Consecutive float32 sums over the same leading axes run in one pass
    # (`codegen.reduce_groups`): each member's accumulation order is its own, so the
    # results are the ones each sum gives lowered alone, bit for bit, in parallel or not.
    from funcgrad.backends import c as cb
    rng = np.random.default_rng(3)
    args = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]
    f = _batch_norm_backward_sums
    src = fg.jit(f, backend="c").lower(*args).source
    assert "one pass for reduce_sum, reduce_sum" in src
    grouped = fg.jit(f, backend="c")(*args)
    generic = fg.jit(f, backend="c")
    generic(*[a[:1] for a in args])          # a second size makes the function size-generic
    assert "one pass for reduce_sum, reduce_sum" in generic.lower(*args).source
    for g, h in zip(grouped, generic(*args)):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(h))
    monkeypatch.setattr(cb, "REDUCE_GROUPS", False)
    alone = fg.jit(lambda *a: f(*a), backend="c")(*args)
    assert "one pass for" not in fg.jit(lambda *a: f(*a), backend="c").lower(*args).source
    want = fg.jit(f, backend="reference")(*args)
    for g, a, w in zip(grouped, alone, want):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(a))
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-5, atol=1e-3)


def test_a_sum_reading_an_earlier_sum_is_not_grouped_with_it():
    # A member may not read an earlier member's result: it is not computed until the
    # pass ends.
    from funcgrad.lowering import codegen
    x = np.arange(6 * 4 * 5, dtype=np.float32).reshape(6, 4, 5) / 100

    def f(a):
        s = fnp.sum(a, 0)                  # [4, 5]
        return s, fnp.sum(a * 2, 0), fnp.sum(a * s, 0)
    got = fg.jit(f, backend="c")(x)
    want = fg.jit(f, backend="reference")(x)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6)
    plan = fg.jit(f, backend="c").lower(x).source
    assert "one pass for reduce_sum, reduce_sum -> f32[4,5]" in plan   # the first two only
    assert plan.count("one pass for") == 1 and "in sum_" in plan
    assert codegen.reduce_groups([]) == {}


def test_a_long_run_of_sums_is_cut_into_passes_of_eight():
    # each member of a pass has its own stack arrays: the passes are bounded
    x = np.random.default_rng(0).standard_normal((300, 50)).astype(np.float32)
    f = lambda a: tuple(fnp.sum(a * (k + 1.0), 0) for k in range(12))  # noqa: E731
    src = fg.jit(f, backend="c").lower(x).source
    passes = [line.count("reduce_sum") for line in src.splitlines() if "one pass" in line]
    assert passes == [8, 4]
    for k, g in enumerate(fg.jit(f, backend="c")(x)):
        want = (x * np.float32(k + 1)).astype(np.float64).sum(0)
        np.testing.assert_allclose(np.asarray(g), want, rtol=1e-6, atol=1e-5)


@settings(max_examples=8, deadline=None)
@given(st.sampled_from([(1,), (2, 3), (700,), (5, 220), (1030,), (3, 700)]),
       st.sampled_from([(1,), (3,), (2, 5), (33,)]), st.integers(2, 4), st.integers(0, 9))
def test_leading_sums_grouped_or_alone_match_and_are_accurate(lead, kept, n_sums, seed):
    # Property: for any split of rows into chunks (1,030 and 2,100 rows cross the 1,024-row
    # chunk; 1 and 3 rows have no whole group of four), any number of columns and any
    # number of sums, the grouped pass gives the bits of the sums lowered alone, and each
    # is as accurate as a double accumulation of the float32 values.
    from funcgrad.backends import c as cb
    rng = np.random.default_rng(seed)
    x = (rng.integers(-3, 4, lead + kept) * 0.25 + np.log(2)).astype(np.float32)
    axes = tuple(range(len(lead)))
    scales = [np.float32(0.5 + k) for k in range(n_sums)]

    def f(a):
        return tuple(fnp.sum(a * s + k, axes) for k, s in enumerate(scales))
    grouped = fg.jit(f, backend="c")(x)
    before = cb.REDUCE_GROUPS
    try:
        cb.REDUCE_GROUPS = False
        alone = fg.jit(lambda a: f(a), backend="c")(x)
    finally:
        cb.REDUCE_GROUPS = before
    for k, (g, a) in enumerate(zip(grouped, alone)):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(a))
        terms = (x * scales[k] + np.float32(k)).astype(np.float64)
        np.testing.assert_allclose(np.asarray(g), terms.sum(axes), rtol=3e-7, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_exp_where_it_underflows(dtype, request):
    """exp below the normal range (masked attention scores, exp(-d*d) far out) is computed
    by cdsl's uexp helper, shifted into the normal range (glibc's vector exp is 15-25x
    slower there): subnormal results within 2 ulps of the exact value, zeros, and the
    special values exact; jit and eager alike, and logistic of large |x| too."""
    if dtype == "float64":
        request.getfixturevalue("x64")
    dt = np.dtype(dtype)
    lo, floor = (-87.0, -105.0) if dt == np.float32 else (-708.0, -746.0)
    top = 89.0 if dt == np.float32 else 710.0
    x = np.concatenate([np.linspace(floor - 5, lo + 5, 20001), np.linspace(lo, top, 200001),
                        [-1e9, -np.inf, np.inf, np.nan, 0.0, -0.0, lo, floor]]).astype(dt)
    exact = np.exp(x.astype(np.longdouble))
    tiny = np.finfo(dt).smallest_subnormal
    for got in (np.asarray(fg.jit(fnp.exp)(x)), np.asarray(fnp.exp(x))):
        fin = np.isfinite(x)
        ulp = np.maximum(np.spacing(exact[fin].astype(dt)).astype(np.float64), tiny)
        err = np.abs(got[fin].astype(np.float64) - exact[fin].astype(np.float64)) / ulp
        sub = exact[fin] < np.finfo(dt).tiny
        # float32: cdsl's own exp (1.02 ulp at most on all inputs); float64: libmvec's
        # (<= 4 ulps), shifted where it underflows (<= 2 ulps there)
        big = 1.1 if dt == np.float32 else 4.0
        ok = np.isfinite(exact[fin].astype(dt))
        assert err[sub].max() <= 2.0 and err[ok].max() <= big, (dtype, x[fin][err.argmax()])
        assert got[-8] == 0 and got[-7] == 0 and got[-6] == np.inf and np.isnan(got[-5])
        assert got[-4] == 1 and got[-3] == 1
    big = np.array([-200.0, -100.0, 100.0, 200.0, -np.inf, np.inf, np.nan], dt)
    s = np.asarray(fg.jit(nn.sigmoid)(big))
    np.testing.assert_array_equal(s[[2, 3, 5]], [1.0, 1.0, 1.0])
    assert s[4] == 0 and np.isnan(s[6])
    want = 1 / (1 + np.exp(-big[:2].astype(np.longdouble)))
    np.testing.assert_allclose(s[:2], want.astype(dt), rtol=1e-6, atol=3 * tiny)


def test_float32_log_everywhere():
    """float32 log is cdsl's ulog helper (glibc's vector log hands zeros, negatives,
    subnormals, inf and NaN to a scalar routine, 10-20x slower): within 1 ulp of the exact
    value over normal and subnormal inputs, the special values exact; jit and eager alike;
    inside a reduction loop too (an entropy over probabilities with zeros)."""
    tiny = np.finfo(np.float32).smallest_subnormal
    x = np.concatenate([np.geomspace(tiny, 1e-37, 3001), np.geomspace(1e-37, 3e38, 200001),
                        np.linspace(0.5, 2.0, 100001), [np.finfo(np.float32).max],
                        [0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, -tiny, 1.0]])
    x = x.astype(np.float32)
    exact = np.log(x[:-8].astype(np.longdouble))
    for got in (np.asarray(fg.jit(fnp.log, backend="c")(x)), np.asarray(fnp.log(x))):
        ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
        err = np.abs(got[:-8].astype(np.float64) - exact.astype(np.float64)) / ulp
        assert err.max() <= 1.0, x[err.argmax()]
        assert got[-8] == -np.inf and got[-7] == -np.inf and got[-6] == np.inf
        assert np.isnan(got[-5:-1]).all() and got[-1] == 0.0
    p = np.where(np.arange(1000) % 3 == 0, 0.0, np.linspace(1e-3, 1, 1000)).astype(np.float32)

    def entropy(p):
        return -fnp.sum(fnp.where(p > 0, p * fnp.log(p), 0.0))
    src = fg.jit(entropy, backend="c").lower(p).source
    # (the sum's terms are a loop of their own: test_costly_terms_of_a_sum_are_a_map_into_a_row)
    terms = src[src.index("float terms"):src.index("reduction(+")]
    assert "ulog_f32(" in terms and " logf(" not in src[src.index("void k_"):]
    want = -np.sum(np.where(p > 0, p * np.log(np.maximum(p, 1e-30).astype(np.float64)), 0))
    np.testing.assert_allclose(float(fg.jit(entropy, backend="c")(p)), want, rtol=1e-6)


def test_float32_tanh_everywhere():
    """float32 tanh is cdsl's utanh helper (glibc's vector tanhf cost twice an expf on AMD
    Zen 3): within 1 ulp of the exact value on both sides of the switch from the
    polynomial to 1 - 2 / (e^2x + 1), through the range where it rounds to 1, and on
    subnormals; -0 stays -0, +-inf give +-1, a NaN stays NaN with its sign; jit and eager
    alike, and inside a reduction loop."""
    from cdsl import helpers
    tiny = np.finfo(np.float32).smallest_subnormal
    t = helpers.TANH_SMALL
    pos = np.concatenate([np.geomspace(tiny, 1e-3, 3001), np.linspace(1e-3, 12.0, 200001),
                          np.linspace(t - 1e-3, t + 1e-3, 20001), [9.0, 9.5, 10.0, 3e38]])
    x = np.concatenate([pos, -pos, [0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan]])
    x = x.astype(np.float32)
    n = x.size - 6
    exact = np.tanh(x[:n].astype(np.longdouble))
    for got in (np.asarray(fg.jit(fnp.tanh, backend="c")(x)), np.asarray(fnp.tanh(x))):
        ulp = np.maximum(np.spacing(np.abs(exact).astype(np.float32)), tiny).astype(np.float64)
        err = np.abs(got[:n].astype(np.float64) - exact.astype(np.float64)) / ulp
        assert err.max() <= 1.0, x[err.argmax()]
        assert np.array_equal(np.signbit(got[:n]), np.signbit(x[:n]))
        assert got[n] == 0 and not np.signbit(got[n])
        assert got[n + 1] == 0 and np.signbit(got[n + 1])
        assert got[n + 2] == 1 and got[n + 3] == -1
        assert np.isnan(got[-2:]).all() and np.array_equal(np.signbit(got[-2:]),
                                                           np.signbit(x[-2:]))
    src = fg.jit(lambda v: fnp.sum(fnp.tanh(v)), backend="c").lower(x).source
    assert "= utanhv_f32(" in src and "= tanhf(" not in src
    p = pos.astype(np.float32)
    want = np.sum(np.tanh(p.astype(np.float64)))
    np.testing.assert_allclose(float(fg.jit(lambda v: fnp.sum(fnp.tanh(v)))(p)), want,
                               rtol=1e-6)


def test_float32_log_of_a_negative_is_a_negative_nan():
    """Seed 20261922: ulog gave +NaN for a negative operand where glibc's logf, NumPy, the
    reference backend and JAX on x86-64 give -NaN; `lax.top_k` (and sort) order NaNs by
    their sign, so top_k of log10 of a row with negatives picked those NaNs first on the C
    backend and last on the others. A NaN operand passes through."""
    x = np.array([-1.0, -0.5, -np.inf, -1e-45, 2.0, np.nan], np.float32)
    for f in (fnp.log, fnp.log10, fnp.log2):
        for got in (np.asarray(fg.jit(f, backend="c")(x)), np.asarray(f(fnp.asarray(x)))):
            want = np.asarray(fg.jit(f, backend="reference")(x))
            assert np.signbit(got[:4]).all() and np.isnan(got[:4]).all()
            np.testing.assert_array_equal(got[:4].view(np.uint32), want[:4].view(np.uint32))
            assert np.isnan(got[5]) and not np.signbit(got[5])
    # the finding: top_k of log10 over a row with negatives, zeros and positives
    row = np.array([[0.5, -1.0, 0.0, 2.0, -0.5, 1.0]], np.float32)
    for b in ("c", "reference"):
        _, idx = fg.jit(lambda a: lax.top_k(fnp.log10(a), 6), backend=b)(row)
        np.testing.assert_array_equal(np.asarray(idx), [[3, 5, 0, 2, 1, 4]])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_exp_inside_a_reduction_is_a_map_into_a_row(dtype, request):
    """A map's exp is cdsl's uexp helper. A sum of exps over a static row (log_softmax's,
    logsumexp's) computes its terms in a loop of their own into a stack row, where the
    helper is used too, then sums the row in the same order: glibc's vector exp hands
    every masked element (-1e9, -inf) to a scalar routine (a causal-masked log_softmax ran
    3.7x slower than JAX's). Longer rows, and rows whose length is known only at run time,
    go in pieces of codegen._EXP_ROW."""
    x = np.zeros((8, 100), np.float32)
    src = fg.jit(lambda v: nn.log_softmax(v), backend="c").lower(x).source
    assert "float terms" in src, src
    red = src[src.index("reduction(+"):]
    red = red[:red.index("}")]
    assert "exp" not in red and "terms" in red
    terms = src[src.index("float terms"):src.index("reduction(+")]
    assert "uexpv_f32(" in terms
    src = fg.jit(lambda v: fnp.exp(v) * 2.0, backend="c").lower(x).source
    body = src[src.index("#pragma omp"):]
    assert "uexpv_f32(" in body
    src = fg.jit(lambda v: nn.log_softmax(v), backend="c").lower(np.zeros((2, 5000))).source
    assert "[4096];" in src and "_lo += 4096" in src
    dt, tol = np.dtype(dtype), (1e-6 if dtype == "float32" else 1e-13)
    if dtype == "float64":
        request.getfixturevalue("x64")
    # rows of one piece, of pieces (9000 = 4096 + 4096 + 808), and of run-time lengths (a
    # jitted function called with several shapes compiles for symbolic ones)
    lsm = fg.jit(lambda a: nn.log_softmax(a), backend="c")
    lse_ = fg.jit(lambda a: nn.logsumexp(a, axis=-1), backend="c")
    for n in (100, 9000, 101, 102, 103, 9001):
        mask = np.arange(n) % 2 == 1
        for fill in (-1e9, -np.inf):
            v = np.broadcast_to(np.where(mask, fill, np.linspace(-3, 3, n)), (8, n)).astype(dt)
            lse = np.log(np.exp(v[0, ~mask].astype(np.float64)).sum())
            for f, want in ((lsm, v - lse), (lse_, np.full(8, lse))):
                got = np.asarray(f(v))
                assert got.dtype == dt
                np.testing.assert_allclose(got, want.astype(dt), rtol=tol)
    assert "dims[0]" in lsm.lower(v).source


def test_costly_terms_of_a_sum_are_a_map_into_a_row():
    """Any math-library call among a float sum's terms (an entropy's p * log(p), a sum of
    tanh) puts the terms in a loop of their own, a map with the widest vectors, then sums
    the row with the sum's fixed eight lanes (the entropy benchmark's kernel ran 1.97 ms
    in the sum's loop, 0.97 split). Cheap terms (x * x) keep one loop. The split sums in
    the same order: the jitted rows equal the eager ops' bit for bit (rows of one piece,
    of pieces past codegen._TERMS_ROW, and of run-time lengths), and zeros, negatives
    (NaN), inf and NaN give NumPy's values."""
    def ent(p):
        return -fnp.sum(fnp.where(p > 0, p * fnp.log(p), 0.0), axis=-1)

    x = np.zeros((8, 100), np.float32)
    src = fg.jit(ent, backend="c").lower(x).source
    terms = src[src.index("float terms"):src.index("reduction(+")]
    assert "ulog_f32(" in terms and "simdlen" not in terms, src
    src = fg.jit(lambda v: fnp.sum(fnp.tanh(v), axis=-1), backend="c").lower(x).source
    assert "float terms" in src
    src = fg.jit(lambda v: fnp.sum(v * v, axis=-1), backend="c").lower(x).source
    assert "terms" not in src
    rng = np.random.default_rng(3)
    f = fg.jit(ent, backend="c")
    for n in (7, 100, 4096, 4097, 9000, 101, 102):
        p = rng.random((6, n)).astype(np.float32)
        p[rng.random(p.shape) < 0.5] = 0.0
        p[1, 3], p[2, 5], p[3, 0], p[4, 1] = -0.5, np.inf, np.nan, 1e-40
        got = np.asarray(f(p))
        np.testing.assert_array_equal(got, np.asarray(ent(fnp.asarray(p))))
        with np.errstate(all="ignore"):
            want = -np.sum(np.where(p > 0, p * np.log(p), 0).astype(np.float64), axis=-1)
        np.testing.assert_allclose(got, want.astype(np.float32), rtol=2e-6, equal_nan=True)
    assert "dims[0]" in f.lower(p).source


def test_nchw_batch_statistics_sum_blocks_of_the_trailing_axes():
    """A float32 sum over interleaved axes that end the input (NCHW batch norm's mean and
    variance over (0, 2, 3)) sums each H x W block in a vectorised loop and adds its total
    to the channel's double cell: each element was added to its cell in turn, a chain of
    dependent additions (3.72 ms on (64, 64, 28, 28) against JAX's 0.49; 0.83, then 0.34
    with the block's terms added in groups of four, `_sum_in_groups`). One loop per block
    where the terms read operands of the other axes only, a loop per block axis where an
    operand varies along the block, a row of terms for costly ones, the element-wise order
    where the block is short; against NumPy in float64, products too, and eager sums
    (NumPy's, accumulated in float64) to two float32 ulps (an eager product is NumPy's, in
    float32)."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((5, 6, 7, 9)).astype(np.float32)
    x64 = x.astype(np.float64)
    ramp = np.arange(7, dtype=np.float32)[:, None]
    cases = [
        (lambda v: fnp.mean(v, axis=(0, 2, 3)), lambda v: v.mean((0, 2, 3)), 1),
        (lambda v: fnp.var(v, axis=(0, 2, 3)), lambda v: v.var((0, 2, 3)), 1),
        (lambda v: fnp.sum(v * ramp, axis=(0, 2, 3)), lambda v: (v * ramp).sum((0, 2, 3)), 1),
        (lambda v: fnp.sum(fnp.exp(v), axis=(0, 3)), lambda v: np.exp(v).sum((0, 3)), 0),
        (lambda v: fnp.sum(v, axis=(1, 3)), lambda v: v.sum((1, 3)), 0),
        (lambda v: fnp.prod(1.0 + 0.01 * v, axis=(0, 2, 3)),
         lambda v: (1.0 + 0.01 * v).prod((0, 2, 3)), 1),
    ]
    for n, (f, ref, blocked) in enumerate(cases):
        src = fg.jit(f, backend="c").lower(x).source
        assert ("rblk" in src) == bool(blocked), src
        got = np.asarray(fg.jit(f, backend="c")(x))
        np.testing.assert_allclose(got, ref(x64).astype(np.float32), rtol=2e-6, atol=1e-6)
        if n < len(cases) - 1:
            np.testing.assert_array_max_ulp(got, np.asarray(f(fnp.asarray(x))), 2)
    src = fg.jit(lambda v: fnp.sum(fnp.exp(v), axis=(0, 2, 3)), backend="c").lower(x).source
    assert "float rterms" in src
    # (a program of its own: one seen with several shapes is compiled for symbolic ones)
    src = fg.jit(lambda v: fnp.sum(ramp * v - 1.0, axis=(0, 2, 3)), backend="c").lower(
        np.zeros((2, 3, 7, 20), np.float32)).source
    assert "jb_1" in src and "jb_0 / " not in src, src


def test_cumsum_is_a_loop_with_the_hosts_bits(x64):
    """cumsum is lowered to C (it ran as a NumPy host step: along the last axis of
    (4096, 512) float32 9.9 ms, JAX 5.6; now 1.5): a running sum in double for float32,
    in the type itself otherwise (integers wrap), the same additions in the same order as
    the host's, so the same bits, for every axis and both directions; fused with its
    operand's producer; rows of run-time length; NaN and inf propagate; types without a
    C lowering (float16, bool) and long rows of running sums stay host steps."""
    from funcgrad.lowering import codegen
    rng = np.random.default_rng(4)
    base = rng.standard_normal((5, 6, 7))
    for dt in (np.float32, np.float64, np.int32, np.int64):
        x = (base * 1e3 if np.dtype(dt).kind == "i" else base).astype(dt)
        if dt == np.int32:
            x[0, 0, :] = 2 ** 31 - 5           # wraps, as NumPy's int32 cumsum does
        if dt == np.float32:
            x[1, 2, 3], x[2, 3, 1] = np.nan, np.inf
        for axis in (0, 1, 2):
            for rev in (False, True):
                f = fg.jit(lambda a: lax.cumsum(a, axis, rev), backend="c")
                assert "cumsum ->" in f.lower(x).source
                got = np.asarray(f(x))
                want = np.asarray(lax.cumsum(fnp.asarray(x), axis, rev))   # the host's
                np.testing.assert_array_equal(got, want)
                assert got.dtype == dt
    x = base.astype(np.float32)
    f = fg.jit(lambda a: fnp.cumsum(fnp.exp(a) * 2.0, axis=-1), backend="c")
    assert "fusing" in f.lower(x).source
    np.testing.assert_allclose(np.asarray(f(x)),
                               np.cumsum(np.exp(base) * 2.0, axis=-1), rtol=1e-6)
    g = fg.jit(fg.grad(lambda a: (fnp.cumsum(a, axis=1) ** 2).sum()), backend="c")(x)
    c = np.cumsum(base, axis=1)
    np.testing.assert_allclose(np.asarray(g), 2 * np.flip(np.cumsum(np.flip(c, 1), 1), 1),
                               rtol=1e-5)
    h = fg.jit(lambda a: fnp.cumsum(a, axis=-1) - 1.0, backend="c")
    for n in (7, 9, 11):                     # several shapes: compiled for symbolic ones
        y = rng.standard_normal((3, n)).astype(np.float32)
        np.testing.assert_allclose(np.asarray(h(y)), np.cumsum(y, -1) - 1, rtol=1e-5)
    assert "dims[" in h.lower(y).source and "cumsum ->" in h.lower(y).source
    for a, axis in ((x.astype(np.float16), 1), (x > 0, 1),
                    (np.zeros((2, 3, codegen._CUMSUM_ROW + 1), np.float32), 1)):
        src = fg.jit(lambda v: lax.cumsum(v, axis) * 1, backend="c").lower(a).source
        assert "cumsum ->" not in src


@pytest.mark.parametrize("backend", ["c", "opencl"])
def test_softmax_over_the_last_axis_of_nd_scores_is_one_row_kernel(backend):
    """A row group's rows may span several leading axes: a softmax over the keys of
    (batch, heads, queries, keys) attention scores is one loop over batch x heads x
    queries rows (it was six passes over memory, one kernel each; only 2-D inputs were
    fused: the attention benchmark of (8, 8, 256, 64) 9.7 -> 7.8 ms). log_softmax, a layer
    norm over the two trailing axes, leading axes of size 1, against the 2-D program of the
    same rows (the same bits) and NumPy."""
    if backend == "opencl":
        pytest.importorskip("pyopencl")
    rng = np.random.default_rng(8)

    def ln(v, axes):
        m = fnp.mean(v, axes, keepdims=True)
        return (v - m) / fnp.sqrt(fnp.var(v, axes, keepdims=True) + 1e-5)
    progs = [(lambda v: nn.softmax(v / 8.0, -1), 1), (lambda v: nn.log_softmax(v, -1), 1),
             (lambda v: ln(v, (-1,)), 1), (lambda v: ln(v, (-2, -1)), 2)]
    for shape in ((4, 3, 5, 300), (3, 7, 260), (1, 6, 300)):
        x = rng.standard_normal(shape).astype(np.float32)
        x[0, 1, ..., 3] = -np.inf
        for f, t in progs:
            jf = fg.jit(f, backend=backend)
            if shape[0] > 1:
                assert "rows of" in jf.lower(x).source
            got = np.asarray(jf(x))
            rows = x.reshape((-1,) + shape[len(shape) - t:])
            flat = np.asarray(fg.jit(f, backend=backend)(rows)).reshape(shape)
            np.testing.assert_array_equal(got, flat)
            want = np.asarray(fg.jit(f, backend="reference")(x))
            np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


def test_row_group_members_no_step_reads_stay_in_a_stack_row():
    """A float map in a row group that no step outside the group reads (an attention
    softmax's scaled scores and exps) is kept in a stack row, not written to its buffer
    (16 MB each at (8, 8, 256, 256), written out and never read). A member the program
    returns, or a later step reads (the exps the softmax gradient reuses), keeps its buffer;
    values against the reference in each case."""
    # (programs of their own: one seen with several shapes is compiled for symbolic ones)
    rng = np.random.default_rng(12)
    x = rng.standard_normal((3, 4, 300)).astype(np.float32)
    ref = fg.jit(lambda v: nn.softmax(fnp.abs(v) / 6.0, -1), backend="reference")(x)
    f = fg.jit(lambda v: nn.softmax(fnp.abs(v) / 6.0, -1), backend="c")
    src = f.lower(x).source
    assert "float lrow0[300] __attribute__((aligned(32)));" in src and \
        "div_1[" not in src[src.index("rows of"):]
    np.testing.assert_allclose(np.asarray(f(x)), np.asarray(ref), rtol=1e-6, atol=1e-7)
    both = fg.jit(lambda v: (nn.softmax(fnp.abs(v) / 6.0, -1), fnp.abs(v) / 6.0), backend="c")
    # (a stack row would leave the returned buffer unwritten)
    s, scaled = both(x)
    np.testing.assert_allclose(np.asarray(scaled), np.abs(x) / np.float32(6.0), rtol=1e-7)
    np.testing.assert_allclose(np.asarray(s), np.asarray(ref), rtol=1e-6, atol=1e-7)
    w = rng.standard_normal((3, 4, 300)).astype(np.float32)

    def loss(v):
        return (nn.softmax(fnp.abs(v) / 6.0, -1) * w).sum()
    got = fg.jit(fg.grad(loss), backend="c")(x)
    want = fg.jit(fg.grad(loss), backend="reference")(x)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-5, atol=1e-7)


def test_short_last_axes_against_the_reference():
    """Maps whose last axis has 2-7 elements, with pads, concatenations, reversals, sizes
    known only at run time, the gradient of NCHW pooling written as a reshape, and an empty
    last axis inside pad(mode="maximum"). A loop nest that unrolled such an axis inside a
    vectorised loop over the axis before it was tried and withdrawn: gcc 12.2 vectorises
    interleaved loads used under a per-lane condition into wrong values (-O1 and up with
    `omp simd`; fuzz seed 20261966, the bfloat16 program below: 2/3 of the right cube
    root in 5 of 48 elements)."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((37, 3)).astype(np.float32)
    y = rng.standard_normal((37, 2)).astype(np.float32)
    s = np.array([1.0, 2.0, 3.0], np.float32)
    cases = [lambda a, b: a * s + 1.0,
             lambda a, b: fnp.pad(b, ((1, 2), (1, 1)), constant_values=3.0) + 1.0,
             lambda a, b: fnp.concatenate([b[:, :1] * 2, b], 1) + a,
             lambda a, b: a[:, ::-1] * s - fnp.mean(a, -1, keepdims=True),
             fg.grad(lambda a, b: fnp.sum(fnp.tanh(a * s) * a[:, ::-1]))]
    for f in cases:
        for n in (37, 37, 21):          # the third call compiles for a symbolic size
            got = fg.jit(f, backend="c")(x[:n], y[:n])
            want = fg.jit(f, backend="reference")(x[:n], y[:n])
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-6,
                                       atol=1e-6)
    z = rng.standard_normal((2, 3, 6, 8)).astype(np.float32)
    g = fg.grad(lambda v: fnp.sum(fnp.tanh(v.reshape(2, 3, 3, 2, 4, 2).max(axis=(3, 5)))))
    np.testing.assert_allclose(np.asarray(fg.jit(g, backend="c")(z)),
                               np.asarray(fg.jit(g, backend="reference")(z)), rtol=1e-6,
                               atol=1e-6)
    v = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    got = fg.jit(lambda a: fnp.pad(a, ((1, 2), (3, 0)), mode="maximum"), backend="c")(v)
    np.testing.assert_array_equal(np.asarray(got), np.pad(v, ((1, 2), (3, 0)), "maximum"))
    # fuzz seed 20261966, shrunk (bfloat16 bits): tiny inputs give cbrt(0.2988) = 0.668,
    # the wrong lanes 0.445
    b16 = np.asarray([[17165, 62856, 2002], [22156, 59513, 27280], [9865, 56395, 22409],
                      [65067, 6056, 40408], [39529, 10300, 64913], [4093, 60778, 8987],
                      [3274, 63721, 54488], [23041, 20451, 47209], [259, 15025, 10908],
                      [64840, 52323, 62621], [60288, 6629, 35842], [5566, 44695, 53306],
                      [58450, 60916, 33751], [7850, 28125, 63021], [2745, 6334, 59956],
                      [1150, 48149, 42912]], np.uint16).view(ml_dtypes.bfloat16)

    def prog(x0):
        v1 = x0 * x0
        v2 = v1 + 0.25
        v3 = fnp.log1p(v2)
        v6 = fnp.arctan2(x0, 1.0)
        v8 = v3 * v3
        v9 = v8 + 0.25
        v10 = fnp.cbrt(v9)
        v11 = fnp.sign(v6)

        def step(c):
            return (c[0] + 1, fnp.cos(c[1]))
        v32 = fg.lax.while_loop(lambda c: c[0] < 2, step, (fnp.int32(0), v11))[1]
        return (v10, v32)

    def f(args, aux):
        return fg.vmap(lambda x0: prog(x0), in_axes=(1,), out_axes=-1)(*args)
    got = fg.jit(f, backend="c")((b16,), {})
    want = fg.jit(f, backend="reference")((b16,), {})
    for u, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(u, np.float64), np.asarray(w, np.float64),
                                   rtol=1e-2)


def test_a_row_of_9_to_31_elements_ends_in_masked_lanes():
    """The vectorised loop over a row of 9-31 elements (not a multiple of 8) runs to the
    next multiple of 8, its loads and stores masked past the row, where gcc finished
    each row in scalar code (a float32 tanh over rows of 10: 1.33 ms, JAX 0.71; masked
    0.56). (Integer division in a
    zero lane is safe: the division helpers give x / 0 == 0 without dividing). Values
    against the reference for dtypes, gathers, pads and gradients."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((23, 10)).astype(np.float32)
    w = rng.standard_normal(10).astype(np.float32)
    src = fg.jit(lambda a: fnp.tanh(a * w), backend="c").lower(x).source
    assert "i1 < 16" in src and "(i1 < i1_stop) ?" in src and '__asm__("" :' not in src
    # one lane masked: the limit is hidden from gcc, which splits the loop at a literal
    y = rng.standard_normal((5, 15)).astype(np.float32)
    src = fg.jit(lambda a: fnp.exp(a - a[0]), backend="c").lower(y).source
    assert "i1 < 16" in src and '__asm__("" : "+r"(i1_stop))' in src
    for n in (5, 17, 100):                  # short rows, one element past, long rows
        y = rng.standard_normal((5, n)).astype(np.float32)
        assert "_stop" not in fg.jit(lambda a: fnp.exp(a - a[0]), backend="c").lower(y).source
    for m in (5, 10, 15, 37):
        x = rng.standard_normal((23, m)).astype(np.float32)
        w = rng.standard_normal(m).astype(np.float32)
        i = rng.integers(-9, 9, (23, m)).astype(np.int32)
        d = rng.integers(1, 5, m).astype(np.int32)
        cases = [(lambda a, b: fnp.sin(a * w) + a[:, ::-1], 2e-6),
                 (lambda a, b: fnp.where(a > w, a, w * 2.0) + (b // d + b % d), 1e-6),
                 (lambda a, b: fnp.exp(a.astype(fnp.float16) * w.astype(fnp.float16)), 2e-3),
                 (lambda a, b: (a + 1j * a[::-1]) * (w + 0.5j), 1e-5),
                 (lambda a, b: fnp.take_along_axis(a, fnp.abs(b) % m, axis=1) + w, 1e-6),
                 (lambda a, b: fnp.pad(a, ((0, 0), (2, 3))) * 2.0, 1e-6),
                 (fg.grad(lambda a, b: fnp.sum(fnp.tanh(a * w) * fnp.log1p(a * a))), 1e-5)]
        for f, tol in cases:
            got = fg.jit(f, backend="c")(x, i)
            want = fg.jit(f, backend="reference")(x, i)
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=tol, atol=tol)


def _literal_source(f, x):
    """The C source of `f` at x's shape with literal sizes (a program family seen with
    several shapes is compiled for symbolic ones, so the families are forgotten first)."""
    fg.backends.get_backend("c")._families.clear()
    return fg.jit(f, backend="c").lower(x).source


def test_a_short_row_max_runs_scalar_or_masked():
    """A float max or min over a short last axis of static size, not a multiple of 8: rows
    of 2-7 run a scalar loop, rows of 9-47 a vector loop to the next multiple of 8 whose
    lanes past the row take the identity (the vectorised loop ended each row in scalar
    code and combined its lanes: max over (96000, 10) float32 1.30 ms, JAX 0.34; masked
    0.42). Bits against the reference, NaNs, infinities and signed zeros included, for
    every float type, max and min, with the softmax built on them."""
    rng = np.random.default_rng(21)
    families = fg.backends.get_backend("c")._families
    src = _literal_source(lambda a: fnp.max(a, -1), np.zeros((5, 10), np.float32))
    assert "j < 16" in src and "(j < j_stop) ? vrow : (-INFINITY)" in src
    src = _literal_source(lambda a: fnp.min(a, -1), np.zeros((5, 6), np.float32))
    assert "reduction(min:acc)" not in src.split("if (acc == 0.0f)")[0]
    for m in (1, 3, 6, 7, 9, 10, 15, 17, 23, 31, 33, 47, 48, 50):
        families.clear()
        x = rng.standard_normal((40, m)).astype(np.float32)
        x[1, m // 2] = np.nan
        x[2] = -np.inf
        x[3] = np.inf
        x[4] = -0.0
        x[5] = rng.choice(np.array([-0.0, 0.0, -1.0], np.float32), m)
        x[6] = rng.choice(np.array([-0.0, 0.0, 1.0], np.float32), m)
        x[7, -1] = 1e30
        x[8, 0] = -1e30
        x[9, -1] = np.nan
        for dt in (np.float32,) if m not in (6, 10, 47) else (
                np.float32, np.float64, np.float16, ml_dtypes.bfloat16):
            xd = x.astype(dt)
            for f in (lambda a: fnp.max(a, -1), lambda a: fnp.min(a, axis=1),
                      lambda a: nn.softmax(a[10:] * 0.5, -1)):
                got = np.asarray(fg.jit(f, backend="c")(xd)).astype(np.float64)
                want = np.asarray(fg.jit(f, backend="reference")(xd)).astype(np.float64)
                np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
                np.testing.assert_allclose(got, want, rtol=1e-6 if dt in (np.float32,
                                                                          np.float64)
                                           else 1e-2, atol=1e-7)


def test_argmax_over_the_last_axis_in_two_passes():
    """argmax/argmin along the last axis: the row's extreme, then the first position
    holding it (the first NaN where there is one), in masked lanes for rows of 5-64 and
    with an early exit for longer rows; rows of 2-4, 8 and 16 keep the serial loop; float
    and 8/16-bit rows of 5-31 but 8 and 16, and an input's own rows of 8-64 float32 or
    int32 values, run in lanes where there are at least 16 rows (the next test, and
    test_tile_shuffle.py). (The serial loop
    mispredicted its branches on random rows: argmax over (96000, 10) took 3.6 ms, JAX
    0.61.) Positions against NumPy's and the reference's with NaNs, ties, infinities,
    signed zeros and all-equal rows, for float, integer and 16-bit types."""
    rng = np.random.default_rng(23)
    families = fg.backends.get_backend("c")._families
    src = _literal_source(lambda a: fnp.argmax(a, -1), np.zeros((5, 40), np.float32))
    assert "reduction(min:bi)" in src and '__asm__("" : "+r"(j_stop))' in src
    src = _literal_source(lambda a: fnp.argmax(a, -1), np.zeros((5, 10), np.int32))
    assert "reduction(min:bi)" in src and "tval[" not in src
    src = _literal_source(lambda a: fnp.argmin(a, axis=1), np.zeros((5, 300), np.int32))
    assert "break;" in src and "reduction(min:ext)" in src
    for m in (1, 2, 4, 5, 6, 8, 10, 16, 17, 31, 64, 65, 300):
        x = rng.integers(-3, 4, (24, m)).astype(np.float32)     # ties
        x[1, m // 2] = np.nan
        x[2, :] = -np.inf
        x[3, :] = np.nan
        x[4, :] = 7.0
        x[5] = rng.choice(np.array([-0.0, 0.0, -1.0], np.float32), m)
        x[6] = rng.choice(np.array([-0.0, 0.0, 1.0], np.float32), m)
        x[7, -1] = np.inf
        x[8, 0] = -np.inf
        x[9, -1] = np.nan
        x[10, 0] = np.nan
        x[11, m - 1] = 1e30
        for dt in (np.float32,) if m not in (6, 10, 300) else (
                np.float32, np.float64, np.float16, ml_dtypes.bfloat16, np.int32, np.int8,
                np.uint16):
            xd = x.astype(dt) if np.dtype(dt).kind == "f" or dt is ml_dtypes.bfloat16 \
                else np.nan_to_num(x[:, :], nan=5, posinf=100, neginf=-100).astype(dt)
            families.clear()
            for f, npf in ((lambda a: fnp.argmax(a, -1), np.argmax),
                           (lambda a: fnp.argmin(a, axis=1), np.argmin),
                           (lambda a: fnp.argmax(a * 2, -1), lambda a, axis: np.argmax(
                               a * a.dtype.type(2), axis))):
                got = np.asarray(fg.jit(f, backend="c")(xd))
                want = np.asarray(fg.jit(f, backend="reference")(xd))
                np.testing.assert_array_equal(got, want)
                with np.errstate(over="ignore"):
                    np.testing.assert_array_equal(got, npf(xd, axis=-1))


@pytest.mark.parametrize("m", [5, 7, 10, 17, 31])
def test_argmax_over_short_rows_in_lanes(m):
    """argmax/argmin along a last axis of 5-31 (not 8 or 16), 16 rows at a time, one row
    per vector lane (rows of 10 took 0.93 ms over (96000, 10) in masked passes, 0.37 in
    lanes; JAX 0.21-0.4): positions against NumPy's and the reference's in whole tiles and
    in the rows after them, with NaNs (first, last, several, every element), ties,
    infinities, signed zeros, a fused operand and three axes, for every float type and
    8/16-bit integers."""
    rng = np.random.default_rng(m)
    families = fg.backends.get_backend("c")._families
    rows = 16 * 2 + 7
    x = rng.integers(-3, 4, (rows, m)).astype(np.float32)     # ties
    for base in (0, 16, 32):                                  # each tile and the tail
        x[base + 1, m // 2] = np.nan
        x[base + 2, :] = -np.inf
        x[base + 3, :] = np.nan
        x[base + 4, :] = 7.0
        x[base + 5] = rng.choice(np.array([-0.0, 0.0, -1.0], np.float32), m)
        x[base + 6, -1] = np.nan
    x[17, 0] = np.nan
    x[18, [1, 3]] = np.nan
    x[19, -1] = np.inf
    x[20, 0] = -np.inf
    x[21, m - 1] = 1e30
    x[22, :] = rng.standard_normal(m) * 1e3
    src = _literal_source(lambda a: fnp.argmax(a, -1), x)
    assert "tval[" in src
    for dt in (np.float32, np.float64, np.float16, ml_dtypes.bfloat16, np.int8, np.uint8,
               np.int16, np.uint16):
        with np.errstate(over="ignore"):      # (1e30 in float16: inf)
            xd = x.astype(dt) if np.dtype(dt).kind == "f" or dt is ml_dtypes.bfloat16 \
                else np.clip(np.nan_to_num(x, nan=5, posinf=100, neginf=-100), 0 if
                             np.dtype(dt).kind == "u" else -100, 100).astype(dt)
        families.clear()
        for f, npf, a in ((lambda a: fnp.argmax(a, -1), np.argmax, xd),
                          (lambda a: fnp.argmin(a, axis=-1), np.argmin, xd),
                          (lambda a: fnp.argmax(a * 2, -1), lambda a, axis: np.argmax(
                              a * a.dtype.type(2), axis), xd),
                          (lambda a: fnp.argmin(a, -1), np.argmin, xd[:36].reshape(3, 12, m))):
            got = np.asarray(fg.jit(f, backend="c")(a))
            want = np.asarray(fg.jit(f, backend="reference")(a))
            np.testing.assert_array_equal(got, want)
            with np.errstate(over="ignore"):
                np.testing.assert_array_equal(got, npf(a, axis=-1))


def test_a_reduction_whose_output_ends_in_one_is_not_unrolled():
    """A max over the middle axis of (64, 64, 1) whose fused body selects on bool values
    read from buffers: unrolled into 64 cells inside a loop of one iteration, gcc 12 took
    48 s to compile it (3-4 minutes in fuzz run 70's program); it loops over the cells
    now. Values against the reference, NaN and -inf included."""
    x = np.random.default_rng(70).standard_normal((64, 64, 1)).astype(np.float32)
    x[3, 5, 0], x[7, :, 0] = np.nan, -np.inf

    def f(x):
        m1, m2, a, b = x > 0.3, x < -0.5, x * x, fnp.sin(x) / (x + 3)
        v = fnp.where(m2, -fnp.inf, fnp.where(m1, (a * 2 + 1) * a - 0.5, b))
        return fnp.max(v, axis=1), m1, m2, a, b
    src = _literal_source(f, x)
    assert "for (int64_t i1 = 0; i1 < 64; ++i1)" in src
    for got, want in zip(fg.jit(f, backend="c")(x), fg.jit(f, backend="reference")(x)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-6)


def test_nchw_reshape_pooling_is_unrolled():
    """Pooling written PyTorch's way, `x.reshape(n, c, h//2, 2, w//2, 2).max(axis=(3, 5))`,
    reduces a short last axis: it is unrolled like the NHWC idiom's (it ran as a loop in
    input order, read-modify-writing the output: 6.0 against 0.19 ms on (64, 32, 28, 28),
    JAX 3.7). Values with NaNs and -inf, max/min/mean/sum, a window of 3 along the last
    axis, and the gradient, against NumPy."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    x[0, 0, 0, 1], x[1, 2, 3, 3], x[0, 1, 4, 4:6] = np.nan, -np.inf, -np.inf
    r = lambda v: v.reshape(2, 3, 3, 2, 3, 2)          # noqa: E731
    src = fg.jit(lambda v: r(v).max(axis=(3, 5)), backend="c").lower(x).source
    assert "max_f32(max_" not in src and "#pragma omp simd" in src
    for name in ("max", "min", "mean", "sum"):
        got = np.asarray(fg.jit(lambda v: getattr(r(v), name)(axis=(3, 5)), backend="c")(x))
        want = getattr(np, name)(r(x), axis=(3, 5))
        np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
    y = rng.standard_normal((4, 5, 9)).astype(np.float32)
    got = fg.jit(lambda v: v.reshape(4, 5, 3, 3).max(-1).reshape(4, 5, 3) * 1.0)(y)
    np.testing.assert_array_equal(np.asarray(got), y.reshape(4, 5, 3, 3).max(-1))
    got = fg.jit(lambda v: v.reshape(2, 5, 3, 3).max(axis=(0, 3)), backend="c")(y[:2])
    np.testing.assert_array_equal(np.asarray(got), y[:2].reshape(2, 5, 3, 3).max(axis=(0, 3)))
    z = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    g = fg.grad(lambda v: (r(v).max(axis=(3, 5)) ** 2).sum())(z)
    want = np.zeros_like(z)
    w6 = r(z).transpose(0, 1, 2, 4, 3, 5).reshape(2, 3, 3, 3, 4)
    first = w6.argmax(-1)
    for idx in np.ndindex(first.shape):
        a, b = divmod(int(first[idx]), 2)
        want[idx[0], idx[1], 2 * idx[2] + a, 2 * idx[3] + b] = 2 * w6[idx].max()
    np.testing.assert_allclose(np.asarray(g), want, rtol=1e-6)


def test_reduction_over_several_axes_nests_its_loops():
    """A reduction over several axes of an expression with broadcast operands loops over
    each axis (the last vectorised) instead of one flat loop whose index is divided back
    into the axes: a row's mean in `((x - m) / s).sum()` was gathered element by element
    (layer norm over 1024 x 1024: 1.42 -> 0.42 ms, JAX 0.87). Values of sums, max and min
    (with NaN) over all axes and over trailing ones against NumPy in float64; a reduction
    over no axis (found by the fuzzer when the nest first read the last reduced size)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((6, 40, 33)).astype(np.float32)

    def ln_sum(v, axis):
        m = v.mean(-1, keepdims=True)
        s = fnp.sqrt(((v - m) ** 2).mean(-1, keepdims=True) + 1e-5)
        return ((v - m) / s * 3.0).sum(axis=axis)
    xd = x.astype(np.float64)
    m = xd.mean(-1, keepdims=True)
    z = (xd - m) / np.sqrt(((xd - m) ** 2).mean(-1, keepdims=True) + 1e-5) * 3
    for axis in (None, (1, 2)):
        f = fg.jit(ln_sum, backend="c", static_argnums=1)
        src = f.lower(x, axis).source
        assert re.search(r"; j\w* < 33; \+\+j\w*\) \{", src) and " / 33)]" not in src, src
        np.testing.assert_allclose(np.asarray(f(x, axis)), z.sum(axis=axis), atol=1e-3)
    b = rng.standard_normal((40, 1)).astype(np.float32)
    y = x.copy()
    y[2, 5, 7] = np.nan
    for name in ("max", "min"):
        got = fg.jit(lambda v, w: getattr(v * w, name)(axis=(1, 2)), backend="c")(y, b)
        np.testing.assert_array_equal(np.asarray(got), getattr(np, name)(y * b, axis=(1, 2)))
    got = fg.jit(lambda v: fnp.sum(v, axis=()) * 2.0, backend="c")(x)
    np.testing.assert_array_equal(np.asarray(got), x * 2)
    g = fg.jit(fg.grad(lambda v: fnp.median(v, axis=None, keepdims=True).sum()),
               backend="c")(np.float32(-0.89))
    assert float(g) == 1.0


def test_map_group_members_no_step_reads_are_not_stored():
    """A map group's members that no step outside the group reads (and that are not
    outputs) stay in registers: random.bits' 20 Threefry rounds stored 22 arrays of 1e6
    words no step read (5.2 -> 1.4 ms). A member read by a later step, or returned, is
    still stored; the values are the reference backend's."""
    key = fg.random.PRNGKey(3)
    src = fg.jit(lambda k: fg.random.bits(k, (1000,)), backend="c").lower(key).source
    body = src[src.index("void k_"):]
    assert len(re.findall(r"\w+_\d+\[i\] =", body)) == 1, body
    for f in (lambda k: fg.random.bits(k, (1000,)),
              lambda k: fg.random.uniform(k, (4, 250))):
        np.testing.assert_array_equal(np.asarray(fg.jit(f, backend="c")(key)),
                                      np.asarray(fg.jit(f, backend="reference")(key)))
    # normal's erfinv calls log1p: libmvec's vector log1pf, which on AVX2 (AMD Zen 3)
    # differs from NumPy's by an ulp in 10 of these 999 values (equal bits with AVX-512)
    normal = lambda k: fg.random.normal(k, (999,))                   # noqa: E731
    np.testing.assert_allclose(np.asarray(fg.jit(normal, backend="c")(key)),
                               np.asarray(fg.jit(normal, backend="reference")(key)),
                               rtol=4e-7, atol=0)
    x = arr(64, 48)

    def g(v):                       # t is read by the sum after the group: kept
        t = fnp.tanh(v) * 2.0
        u = fnp.exp(t) + v
        return u * 3.0, t.sum(axis=0)
    out, ref = both(g, x)
    # (sums of 64 terms up to 2 in size: the C code adds them in another order than the
    # reference, and after cancellation the results differed by 1.1e-6 where code for any
    # size ran, a later test's order under xdist)
    close(out, ref, atol=1e-5)


def test_float32_row_sums_add_groups_of_four_terms():
    """A float32 sum along contiguous trailing axes adds four terms q apart (q: a quarter
    of the row, or of each piece of codegen._TERMS_ROW) in float32, then the group into the
    double accumulator: the one loop was bound by the double additions' latency
    (`sum(x, -1)` of (1024, 1024): 1.5x JAX's time; 0.9x now). Rows of every length mod 4,
    of several pieces, of run-time lengths, standalone and in a row group (a layer norm's
    mean), cheap and costly terms: against NumPy in float64 to float32's rounding of the
    result (the groups' float32 additions stay far inside it), jit against the eager op
    bit for bit, and a row group's sum against the same sum alone."""
    rng = np.random.default_rng(21)
    # (a program of its own: one seen with several shapes is compiled for symbolic ones)
    src = fg.jit(lambda v: fnp.sum(fnp.abs(v) * v - v, -1), backend="c").lower(
        np.zeros((3, 1000), np.float32)).source
    assert "j + 250" in src and "j + 750" in src, src
    # the NCHW mean over (2, 3) is one flat loop over the H x W block, not a loop per axis
    src = fg.jit(lambda v: fnp.mean(fnp.abs(v), (2, 3)) + 1.0, backend="c").lower(
        np.zeros((2, 3, 28, 28), np.float32)).source
    assert "j_0" not in src and "j0_0" not in src and "< 196" in src, src
    f = fg.jit(lambda v: fnp.sum(v, -1), backend="c")
    for n in (1, 2, 3, 4, 5, 7, 31, 1000, 4096, 4097, 4099, 9000):
        x = (rng.standard_normal((5, n)) * 10 ** rng.uniform(-3, 3, (5, n))).astype(
            np.float32)
        x[1] += 1e4           # cancellation against a large offset
        x[1, ::2] -= 2e4
        got = np.asarray(f(x))
        want = x.astype(np.float64).sum(-1)
        scale = np.abs(x).astype(np.float64).sum(-1)
        assert np.all(np.abs(got - want) <= 4e-7 * scale + 6e-8 * np.abs(want)), n
        np.testing.assert_array_equal(got, np.asarray(fnp.sum(fnp.asarray(x), -1)))
    # a row group's sum (the layer norm's mean) against the same sum alone
    for n in (300, 4097):
        x = rng.standard_normal((6, n)).astype(np.float32) + 3.0
        ln = fg.jit(lambda v: v - fnp.mean(v, -1, keepdims=True), backend="c")
        assert "rows of" in ln.lower(x).source
        alone = np.asarray(fg.jit(lambda v: fnp.sum(v, -1), backend="c")(x)) / np.float32(n)
        np.testing.assert_array_equal(np.asarray(ln(x)), x - alone[:, None])
    # costly terms: the row of terms summed in the same groups (jit == eager bit for bit)
    for n in (6, 1000, 5000):
        x = rng.standard_normal((4, n)).astype(np.float32)
        got = np.asarray(fg.jit(lambda v: fnp.sum(fnp.exp(v), -1), backend="c")(x))
        np.testing.assert_array_equal(got, np.asarray(fnp.sum(fnp.exp(fnp.asarray(x)), -1)))
        np.testing.assert_allclose(got, np.exp(x.astype(np.float64)).sum(-1), rtol=3e-7)


def test_max_and_min_over_leading_axes_are_exact_in_column_blocks():
    """max and min over the leading axes combine each input row into the output row in a
    vectorised loop, in column blocks the threads share once the input is big (the loop in
    input order ran on one thread): NaN propagates, max(+0, -0) is +0 and min is -0 in
    every position, integers and run-time sizes too; against NumPy."""
    rng = np.random.default_rng(22)
    for shape in ((7, 5), (3, 4, 6), (600, 1000), (64, 2, 3, 700)):
        x = rng.standard_normal(shape).astype(np.float32)
        flat = x.reshape(-1)
        flat[5] = np.nan
        x.reshape(shape[0], -1)[:, 1] = -0.0
        x.reshape(shape[0], -1)[1, 1] = 0.0      # max +0, min -0 over column 1
        x.reshape(shape[0], -1)[:, 2] = 0.0
        x.reshape(shape[0], -1)[-1, 2] = -0.0
        axes = tuple(range(len(shape) - 1)) if len(shape) > 2 else 0
        for op, ref, neg in ((fnp.max, np.max, False), (fnp.min, np.min, True)):
            got = np.asarray(fg.jit(lambda v: op(v, axes), backend="c")(x))
            np.testing.assert_array_equal(got, ref(x, axes))
            # (NumPy leaves the sign of a zero between +0 and -0 unspecified: JAX's rule)
            assert list(np.signbit(got.reshape(-1)[1:3])) == [neg, neg]
        xi = rng.integers(-1000, 1000, shape).astype(np.int32)
        np.testing.assert_array_equal(
            np.asarray(fg.jit(lambda v: fnp.max(v, axes), backend="c")(xi)), xi.max(axes))
    src = fg.jit(lambda v: fnp.max(fnp.abs(v), 0), backend="c").lower(
        np.zeros((600, 1000), np.float32)).source
    assert "b += 256" in src and "omp parallel" in src, src


def test_nchw_maps_with_per_channel_operands_merge_the_trailing_axes():
    """A map over (N, C, H, W) whose operands vary per channel (batch norm's normalisation
    and its gradient, a bias) loops over H x W as one contiguous index: the loop over W
    alone ran 28 lanes, a vector and a remainder of 12, per row (the NCHW batch-norm
    gradient of (32, 64, 28, 28): 4.07 -> 1.76 ms, JAX 2.9-3.4). An operand broadcast along
    W only, or a pad inside the trailing axes, keeps a loop per axis; values against the
    reference in each case."""
    rng = np.random.default_rng(23)
    x = rng.standard_normal((2, 3, 5, 7)).astype(np.float32)
    ch = rng.standard_normal((1, 3, 1, 1)).astype(np.float32)
    col = rng.standard_normal((1, 1, 5, 1)).astype(np.float32)
    nb = rng.standard_normal((2, 1, 1, 1)).astype(np.float32)
    cases = [
        (lambda v: fnp.tanh(v * ch + 1.0) * ch, "< 35", True),
        (lambda v: fnp.tanh(fnp.abs(v) - nb) + nb, "< 105", True),   # (C, H, W) merged
        (lambda v: fnp.tanh(v * col) + 2.0, "< 7", False),
        (lambda v: fnp.pad(fnp.abs(v), ((0, 0), (0, 0), (1, 1), (2, 2)))[:, :, 1:6, 2:9]
         * ch - 1.0, None, False),
    ]
    for f, bound, merged in cases:
        jf = fg.jit(f, backend="c")
        src = jf.lower(x).source
        # (a loop around tanh may be written in vectors: its bounds are then named first,
        # `im__lo = 0, im__hi = 35`; cdsl.vector_helpers)
        assert bool(re.search(r"\bim(__lo)? = 0", src)) == merged, src
        if bound:
            assert bound in src or f"__hi = {bound[2:]};" in src, src
        np.testing.assert_allclose(np.asarray(jf(x)),
                                   np.asarray(fg.jit(f, backend="reference")(x)),
                                   rtol=1e-6, atol=1e-6)


def test_a_grouped_sum_of_selects_beside_gathers():
    """gcc 12.2 miscompiled a float32 sum that added four terms per iteration, each a select
    on a bool read from a buffer of a quotient minus a broadcast value read back through
    `/` and `%`: NaN, or 7.7 and -15.4 for -5.9 (fuzz run 71, beside a min of the same
    quotients). Such sums added one term per iteration until the cause was found (fuzz run
    82): AVX2 gathers given a wrong mask; with gathers off (cdsl.compile.workaround_flags)
    the grouped sum is right. Values against the reference."""
    rng = np.random.default_rng(71)
    x0 = rng.standard_normal((2, 8, 1)).astype(np.float32)
    x2 = rng.standard_normal((2, 8, 8)).astype(np.float32)
    m2, w2 = rng.random((2, 8, 8)) < 0.9, rng.standard_normal((2, 8, 8)).astype(np.float32)
    m3, w3 = np.array([True, False]), rng.standard_normal(2).astype(np.float32)

    def f(x0, x2, m2, w2, m3, w3):
        b = fg.scipy.special.log_ndtr(x0) ** 2 + 0.25
        q = 1 / (x2 * x2 + 0.5)
        return (fnp.sum(fnp.where(m2, q - b, 0.0) * w2),
                fnp.sum(fnp.where(m3, fnp.cosh(fnp.min(q, axis=(1, 2))), 0.0) * w3))
    fg.backends.get_backend("c")._families.clear()
    got = fg.jit(f, backend="c")(x0, x2, m2, w2, m3, w3)
    want = fg.jit(f, backend="reference")(x0, x2, m2, w2, m3, w3)
    np.testing.assert_allclose([float(v) for v in got], [float(v) for v in want], rtol=1e-5)


def test_float64_cholesky_jvp_whose_symmetrisation_gcc_12_miscompiled():
    """The JVP of a float64 `cholesky` of 4 x 4 matrices was off by 0.096 at [3, 3] of each
    matrix on the C backend under jit, right eager and on the reference (fuzz run 95): gcc
    12.2's SLP vectoriser, with 512-bit vectors, read a wrong element in the unrolled loop of
    selects that symmetrises the tangent. Fixed by building with it off
    (cdsl.compile.SLP_OFF). Against the reference and JAX's formula's finite differences."""
    rng = np.random.default_rng(0)
    with fg.config.enable_x64(True):
        for n in (3, 4, 5, 8):
            x, v = rng.standard_normal((2, n, n)), rng.standard_normal((2, n, n))

            def f(a, n=n):
                return fnp.linalg.cholesky(a @ fnp.swapaxes(a, -1, -2) + 9.0 * fnp.eye(n))

            def g(a, f=f, v=v):
                return fg.jvp(f, (a,), (fnp.asarray(v),))
            fg.backends.get_backend("c")._families.clear()
            got = fg.jit(g, backend="c")(x)
            want = fg.jit(g, backend="reference")(x)
            for a, b in zip(got, want):
                np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)
            h = 1e-6
            fd = (np.asarray(f(x + h * v)) - np.asarray(f(x - h * v))) / (2 * h)
            np.testing.assert_allclose(np.asarray(got[1]), fd, rtol=1e-5, atol=1e-7)


def test_cummax_of_rows_whose_scan_gcc_12_miscompiled():
    """lax.cummax over rows of 25 (2 x 25 int32) gave out[0, 2] = max(x[0], x[1]) instead of
    max(x[0], x[1], x[2]) on the C backend (fuzz run 82): gcc 12.2 gave an AVX2 gather with
    a constant index a wrong mask register. Fixed by building with gathers off
    (cdsl.compile.workaround_flags; the reduced kernel is in tests/test_cdsl.py)."""
    rng = np.random.default_rng(1)
    for n in range(2, 26):
        for _ in range(3):
            x = rng.integers(-1000, 1000, (2, n)).astype(np.int32)
    fg.backends.get_backend("c")._families.clear()
    got = np.asarray(fg.jit(lambda x: lax.cummax(x, axis=-1), backend="c")(x))
    np.testing.assert_array_equal(got, np.maximum.accumulate(x, axis=-1))



def _vector_loop_programs():
    return (
        ("tanh(x) * z + exp(-x * x) * 0.5", lambda x, z: fnp.tanh(x) * z + fnp.exp(-x * x) * 0.5),
        # a loop-invariant scalar (an element of an argument) and a constant on the left
        ("exp(x * s) / (1 + exp(-x))", lambda x, z: fnp.exp(x * z[0]) / (1 + fnp.exp(-x))),
        ("tanh(x)", lambda x, z: fnp.tanh(x)),
        # a row broadcast over columns: not every load at unit stride
        ("exp(x + z[:1])", lambda x, z: fnp.exp(x.reshape(-1, 1) + z[:1])),
    )


def _vector_loop_results(f, x, z, on: bool):
    from cdsl import vector_helpers
    vector_helpers.VECTOR_LOOPS = on
    try:
        fg.clear_caches()
        jf = fg.jit(f)
        return np.asarray(jf(x, z)), jf.lower(x, z).source
    finally:
        vector_helpers.VECTOR_LOOPS = True
        fg.clear_caches()


def _same_bits(a, b):
    return (a.view(np.uint32) == b.view(np.uint32)) | (np.isnan(a) & np.isnan(b))


def test_loops_written_in_vectors_give_the_loops_bits():
    """Elementwise float32 loops around exp and tanh are written in vectors of 16 floats
    that call the helpers' AVX-512 variants (cdsl.vector_helpers.vector_body), under the
    variants' guard: they give the bits of the same loops as gcc vectorises them
    (VECTOR_LOOPS off), for lengths whose tails take 0 to 15 iterations, a loop large enough
    to run in parallel (its tail on one thread), and the special values."""
    special = np.float32([0.0, -0.0, np.inf, -np.inf, np.nan, 88.72284, -104.0, 9.5, 1e-30,
                          3e38, -3e38, 0.9])
    rng = np.random.default_rng(7)
    for n in (1, 15, 16, 17, 47, 100, 40_003):
        x = rng.standard_normal(n).astype(np.float32) * 4
        k = min(n, special.size)
        x[:k] = special[:k]
        z = rng.standard_normal(n).astype(np.float32)
        for title, f in _vector_loop_programs():
            a, src = _vector_loop_results(f, x, z, True)
            b, plain = _vector_loop_results(f, x, z, False)
            same = _same_bits(a, b)
            assert same.all(), (title, n, np.flatnonzero(~same)[:5])
            if title == "tanh(x) * z + exp(-x * x) * 0.5" and n >= 47:
                assert "_ZGVeN16v_utanhv_f32(vt" in src and "_ZGVeN16v_" not in \
                    plain.split("#endif")[-1], n


def test_loops_written_in_vectors_compile_on_both_sides_of_their_guard():
    """A module with loops written in vectors compiles on this CPU and with the other branch
    of its conditions on AVX-512 (cdsl.compile.other_branch_flags). The parallel loop's
    vector body, outlined into a function of its own, sat outside the guard: on a CPU
    without AVX-512 it called an undeclared variant and `jit(exp)` of 10^6 floats failed
    to compile (found on AMD Zen 3; every AVX-512 machine compiled only the other branch),
    and so did the prebuilt eager kernels' base and x86-64-v3 modules."""
    from cdsl import compile as cc
    rng = np.random.default_rng(3)
    for n in (100, 1_000_003):
        x, z = (rng.standard_normal(n).astype(np.float32) for _ in range(2))
        for title, f in _vector_loop_programs():
            got, src = _vector_loop_results(f, x, z, True)
            np.testing.assert_allclose(got, np.asarray(f(x, z)), rtol=2e-6, atol=1e-6,
                                       err_msg=title)
            assert "_ZGVeN16v_" in src, title
            if n > 100:        # (a parallel region, its body outlined)
                assert "__body" in src, title
            assert cc.other_branch_errors(src) == "", (title, n)


def test_loops_written_in_vectors_run_where_the_cpu_has_avx512(monkeypatch):
    """The vector loops are what runs on a CPU with AVX-512F and VL, and only there: with
    their calls swapped (tanh's variant where exp's belongs) the results change exactly
    where the CPU has them."""
    from cdsl import compile as cc, vector_helpers
    avx512 = cc.has_avx512_guard_features()
    x = np.linspace(-3, 3, 1000, dtype=np.float32)
    f = _vector_loop_programs()[0][1]
    want, _ = _vector_loop_results(f, x, x, True)
    swap = {"uexpv_f32": "utanhv_f32", "utanhv_f32": "uexpv_f32"}
    monkeypatch.setattr(vector_helpers, "vector_symbol",
                        lambda name, lanes=16: f"_ZGVeN{lanes}v_{swap[name]}")
    got, _ = _vector_loop_results(f, x, x, True)
    assert _same_bits(want, got).all() != avx512


def test_softplus_loop_is_vectorised():
    """nn.softplus, `where(x == 0, x + log 2, log1p(exp(-|x|)) + max(x, 0))`: gcc's code
    sinking moved the calls of the second arm into a branch, which the vectoriser does not
    convert, so the loop stayed scalar (223 ms over 1e7 float32 on one AMD Zen 4 core, 9.7
    vectorised). With sinking off (`cdsl.compile.SINK_OFF`) the module calls libmvec's vector
    log1p. Checked on the symbols the module imports, where the compiler is GCC on x86-64."""
    from cdsl import compile as cc
    x = np.linspace(-30, 30, 4099, dtype=np.float32)
    jf = fg.jit(nn.softplus)
    np.testing.assert_allclose(np.asarray(jf(x)), np.logaddexp(x, np.float32(0)),
                               rtol=3e-6, atol=1e-30)
    low = jf.lower(x)
    exe = fg.backends.get_backend("c").executable(low.program, low.name)
    with open(exe.lib.path, "rb") as f:
        binary = f.read()
    if cc.workaround_flags() and not any("clang" in w for w in cc.compiler_command()):
        assert cc.SINK_OFF[0] in cc.workaround_flags()
        assert re.search(rb"_ZGV[a-z]N(4|8|16)v_log1pf", binary), "the loop stayed scalar"


def test_a_result_beyond_memory_raises_a_clear_memory_error():
    # 2^50 bytes: above any machine's memory and x86-64's 2^47-byte address space (NumPy's
    # own error named "an array with shape (1125899906842624,) and data type uint8")
    f = fg.jit(lambda x: fnp.zeros((1 << 24, 1 << 24)) + x, backend="c")
    with pytest.raises(MemoryError, match=r"C backend: cannot allocate 1048576.00 GiB for "
                                          r"a float32\[16777216, 16777216\] result"):
        f(1.0)
    assert float(fg.jit(lambda x: (fnp.zeros((64, 64)) + x).sum(), backend="c")(1.0)) == 4096


def test_a_built_executable_keeps_its_source_not_its_syntax_tree(monkeypatch):
    """Built, an executable holds no C syntax tree (most of its Python objects, walked by
    every full collection of the cyclic garbage collector); its source, its steps' names
    and their profiling labels stay."""
    import cdsl
    loss = lambda w, x: fnp.sum(fnp.tanh(x @ w) ** 2)  # noqa: E731
    w, x = arr(4, 3), arr(5, 4)
    low = fg.jit(fg.grad(loss)).lower(w, x)
    exe = fg.backends.get_backend("c").executable(low.program, low.name)
    assert exe.module is None and exe._csteps
    assert "void " in exe.source and exe.runs_parallel() in (True, False)
    for step in exe._csteps:
        assert not isinstance(step.fn, cdsl.Function)
        assert step.fn.name in exe.source and step.fn.label

    def reachable_nodes(root):
        seen, stack, nodes = set(), [root], 0
        while stack:
            o = stack.pop()
            if id(o) in seen or isinstance(o, (type, types.ModuleType, types.FunctionType)):
                continue
            seen.add(id(o))
            nodes += isinstance(o, (cdsl.ast.Stmt, cdsl.ast.Function))
            stack.extend(gc.get_referents(o))
        return nodes
    assert reachable_nodes(exe) == 0
    np.testing.assert_allclose(np.asarray(fg.jit(fg.grad(loss))(w, x)),
                               np.asarray(fg.grad(loss)(w, x)), rtol=1e-5, atol=1e-6)
