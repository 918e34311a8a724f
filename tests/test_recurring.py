"""`compile_when_recurring`: library functions run eagerly until their calls with one
signature have cost what building their program would (or a count), then as one compiled
call with the same values; statics key bit for bit; a function that reads a concrete value
stays eager."""
from __future__ import annotations

import time

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import _recurring, core
from conftest import count_eager


def _counting(fn):
    """fn wrapped, and a list that gets one entry per eager (untraced) run of fn."""
    eager = []

    def inner(x, scale=1.0):
        if not isinstance(x, core.Tracer):
            eager.append(1)
        return fn(x, scale)
    return inner, eager


def test_count_rule_compiles_after_the_eager_calls():
    inner, eager = _counting(lambda x, s: fnp.sin(x) * s)
    f = _recurring.compile_when_recurring(inner, eager_calls=lambda: 2)
    x = fnp.arange(4.0)
    outs = [np.asarray(f(x, 2.0)) for _ in range(5)]
    assert len(eager) == 2                       # the others ran compiled
    for o in outs[1:]:
        np.testing.assert_allclose(o, outs[0], rtol=1e-6)


def test_time_rule_compiles_once_eager_calls_cost_a_build(monkeypatch):
    monkeypatch.setattr(_recurring, "BUILD_SECONDS", 0.02)

    def slow(x, s):
        if not isinstance(x, core.Tracer):
            time.sleep(0.015)                    # a 15 ms eager call
        return x * s
    inner, eager = _counting(slow)
    f = _recurring.compile_when_recurring(inner, eager_seconds=_recurring.build_estimate)
    x = fnp.arange(3.0)
    for _ in range(6):
        f(x, 3.0)
    # build estimate 0.02 + 2 * 0.015 = 0.05 s: eager while spent < 0.05, i.e. 4 calls
    assert len(eager) == 4


def test_statics_key_bit_for_bit_and_signatures_apart():
    inner, eager = _counting(lambda x, s: x * s)
    f = _recurring.compile_when_recurring(inner, eager_calls=lambda: 0)
    x = fnp.ones(2)
    a = np.asarray(f(x, 0.0))
    b = np.asarray(f(x, -0.0))
    assert not np.signbit(a).any() and np.signbit(b).all()
    assert np.asarray(f(fnp.ones(3), 2.0)).shape == (3,)      # another signature


def test_a_function_reading_a_concrete_value_stays_eager():
    def needs_value(x, s):
        return x * s if float(x[0]) > 0 else x - s
    inner, eager = _counting(needs_value)
    f = _recurring.compile_when_recurring(inner, eager_calls=lambda: 0)
    x = fnp.ones(2)
    for _ in range(3):
        np.testing.assert_array_equal(np.asarray(f(x, 2.0)), [2.0, 2.0])
    assert len(eager) == 3


def test_under_a_trace_the_function_is_traced_as_before():
    inner, eager = _counting(lambda x, s: x * s)
    f = _recurring.compile_when_recurring(inner, eager_calls=lambda: 0)
    g = fg.grad(lambda x: fnp.sum(f(x, 3.0)))(fnp.ones(2))
    np.testing.assert_array_equal(np.asarray(g), [3.0, 3.0])
    assert fg.jit(lambda x: f(x, 2.0))(fnp.ones(2)).shape == (2,)


@pytest.mark.parametrize("method", ["linear", "lanczos3"])
def test_image_resize_compiled_matches_eager(method, monkeypatch):
    x = fnp.asarray(np.random.default_rng(0).random((6, 5, 2), np.float32))
    monkeypatch.setattr(_recurring, "BUILD_SECONDS", 1e9)         # stays eager
    eager = np.asarray(fg.image.resize(x, (9, 3, 2), method))
    monkeypatch.setattr(_recurring, "BUILD_SECONDS", 0.0)
    for _ in range(3):
        fg.image.resize(x, (9, 3, 2), method)
    compiled, ops = count_eager(lambda: np.asarray(fg.image.resize(x, (9, 3, 2), method)),
                                monkeypatch)
    assert len(ops) <= 3, ops              # one compiled call, not ~100 operations
    np.testing.assert_allclose(compiled, eager, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("fn", ["floor_divide", "remainder", "divmod"])
@pytest.mark.parametrize("dtype", ["int32", "uint8", "float32"])
def test_floor_division_compiled_is_bit_for_bit_eager(fn, dtype, monkeypatch):
    """floor_divide/remainder/divmod compile when they recur; exact arithmetic, so the
    compiled results are the eager ones bit for bit (zeros, INT_MIN, signed zeros, inf)."""
    if dtype == "float32":
        a = np.array([7.5, -7.5, 0.0, -0.0, np.inf, -3.0, 1.0, np.nan], np.float32)
        b = np.array([2.0, 2.0, -3.0, 3.0, 2.0, np.inf, 0.0, 1.0], np.float32)
    elif dtype == "int32":
        a = np.array([7, -7, 0, -2**31, -2**31, 5, -5, 3], np.int32)
        b = np.array([2, 2, -3, -1, 7, 0, -2, -3], np.int32)
    else:
        a = np.array([7, 250, 0, 3, 255, 9, 1, 0], np.uint8)
        b = np.array([2, 7, 3, 0, 255, 4, 1, 1], np.uint8)
    f = getattr(fnp, fn)
    monkeypatch.setattr(_recurring, "BUILD_SECONDS", 1e9)         # stays eager
    eager = [np.asarray(v) for v in fg.tree_util.tree_leaves(f(a, b))]
    monkeypatch.setattr(_recurring, "BUILD_SECONDS", 0.0)
    for _ in range(3):
        f(a, b)
    out, ops = count_eager(lambda: f(a, b), monkeypatch)
    assert len(ops) <= 3, ops              # one compiled call
    for e, c in zip(eager, fg.tree_util.tree_leaves(out)):
        c = np.asarray(c)
        assert e.dtype == c.dtype
        np.testing.assert_array_equal(e.view(np.uint8), c.view(np.uint8))


def test_on_opencl_the_first_call_compiles(monkeypatch):
    """Where each eager primitive is a program build (OpenCL), the first eager call runs the
    function compiled whole: a first cumulative max of 1000 values built ~100 kernels (47 s
    on PoCL) against one program."""
    from funcgrad.backends import opencl
    if not opencl.available():
        pytest.skip("no OpenCL platform")
    inner, eager = _counting(lambda x, s: fnp.sin(x) * s)
    f = _recurring.compile_when_it_pays(inner)
    x = fg.device_put(fnp.arange(4.0), fg.devices("opencl")[0])
    np.testing.assert_allclose(np.asarray(f(x, 2.0)), 2 * np.sin(np.arange(4.0)), rtol=1e-6)
    assert eager == []
    y = fg.device_put(np.linspace(-1, 1, 300, dtype=np.float32), fg.devices("opencl")[0])
    for fn, ref in ((fnp.cummax, np.maximum.accumulate), (fnp.cumprod, np.cumprod),
                    (lambda v: fg.lax.cumlogsumexp(v), np.logaddexp.accumulate)):
        out, ran = count_eager(lambda: fn(y), monkeypatch)
        assert set(ran) <= {"jit"}, ran                    # one compiled call, no scan steps
        np.testing.assert_allclose(np.asarray(out), ref(np.asarray(y)), rtol=1e-5, atol=1e-6)


def test_transforms_of_wrapped_functions_trace_them():
    """Eager `grad` and `vmap` of the library functions that compile when recurring: their
    tracers go straight to the function (a backend lookup ahead of the tracer check broke
    every one of them for a while, 2026-12-07). On the default backend: the tracer check
    comes before any backend is asked."""
    import funcgrad.scipy.special as sp
    x = np.linspace(0.5, 2.0, 5).astype(np.float32)
    for f in (fnp.cummax, fnp.cumprod, lambda v: fnp.frexp(v)[0], sp.i0e, sp.digamma,
              lambda v: fg.lax.cumlogsumexp(v), lambda v: fnp.floor_divide(v, 0.3)):
        g = fg.grad(lambda v: f(v).sum())(x)
        assert np.all(np.isfinite(np.asarray(g)))
        batched = fg.vmap(f)(np.stack([x, 2 * x]))
        np.testing.assert_allclose(np.asarray(batched[1]), np.asarray(f(2 * x)), rtol=1e-6)
