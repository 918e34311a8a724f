"""Tracing is per thread; the in-memory caches are bounded; a family whose first call had a
size-1 dimension becomes size-generic (issue 9)."""
from __future__ import annotations

import threading

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import core


def _run_threads(n, work):
    errors = []

    def wrap(i):
        try:
            work(i)
        except BaseException as e:  # noqa: BLE001 -- reported below
            errors.append(e)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def test_cold_jitted_training_step_from_8_threads(backend):
    def loss(w, x, y):
        return fnp.mean((fnp.tanh(x @ w) - y) ** 2)

    @fg.jit
    def step(w, x, y):
        return w - 0.1 * fg.grad(loss)(w, x, y)

    barrier = threading.Barrier(8)
    shapes = 1 if backend == "opencl" else 3    # (PoCL kernel builds take seconds)

    def work(i):
        rng = np.random.default_rng(i % 3)
        w = rng.standard_normal((8, 3)).astype(np.float32)
        x = rng.standard_normal((16 + i % shapes, 8)).astype(np.float32)
        y = rng.standard_normal((16 + i % shapes, 3)).astype(np.float32)
        want = w - 0.1 * _np_grad(w, x, y)
        barrier.wait()
        for _ in range(4):
            got = step(fnp.asarray(w), fnp.asarray(x), fnp.asarray(y))
            np.testing.assert_allclose(np.asarray(got), want, rtol=2e-5, atol=2e-6)

    _run_threads(8, work)


def _np_grad(w, x, y):
    t = np.tanh(x @ w)
    return x.T @ (2 * (t - y) * (1 - t * t)) / t.size


def test_eager_ops_in_other_threads_are_not_captured():
    """While one thread traces, another thread's eager operations stay eager."""
    inside, release = threading.Event(), threading.Event()

    def slow(x):
        inside.set()
        release.wait(10)
        return x * 2.0

    f = fg.jit(slow, backend="reference")
    t = threading.Thread(target=lambda: f(fnp.ones(3)))
    t.start()
    assert inside.wait(10)
    try:
        y = fnp.sin(fnp.ones(3)) + 1.0
        assert type(y) is core.ArrayImpl
        assert not core.tracing()
    finally:
        release.set()
        t.join()


def test_tracer_crossing_threads_is_reported():
    box = {}

    def leak(x):
        box["t"] = x
        return x

    fg.jit(leak, backend="reference")(fnp.ones(2))
    errors = []

    def use():
        try:
            box["t"] + 1.0
        except core.UnexpectedTracerError as e:
            errors.append(e)

    th = threading.Thread(target=use)
    th.start()
    th.join()
    assert errors and "escaped tracer" in str(errors[0])


def test_one_executable_run_from_many_threads_at_once():
    """A compiled program with scratch buffers, run concurrently: each run gets a private
    arena when the shared one is busy."""
    f = fg.jit(lambda x: fnp.tanh(x @ x.T).sum(axis=1) * fnp.exp(-x.mean()), backend="c")
    xs = [np.random.default_rng(i).standard_normal((64, 32)).astype(np.float32)
          for i in range(8)]
    wants = [np.asarray(fg.jit(f.fun, backend="reference")(fnp.asarray(x))) for x in xs]
    f(fnp.asarray(xs[0]))

    def work(i):
        for _ in range(30):
            np.testing.assert_allclose(np.asarray(f(fnp.asarray(xs[i]))), wants[i],
                                       rtol=2e-5, atol=1e-5)

    _run_threads(8, work)


# --- bounded caches -----------------------------------------------------------------------

def test_jit_cache_is_bounded_and_configurable():
    f = fg.jit(lambda x: x + 1.0, backend="reference")
    fg.config.update("jit_cache_size", 5)
    try:
        for n in range(1, 20):
            f(fnp.ones(n))
        assert len(f._cache) == 5
        assert len(f._fast) <= 10
        assert f.trace_count == 19
        f(fnp.ones(19))                        # most recent: still cached
        assert f.trace_count == 19
        f(fnp.ones(1))                         # evicted: traced again
        assert f.trace_count == 20
    finally:
        fg.config.update("jit_cache_size", None)
    with pytest.raises(ValueError, match="positive integer"):
        fg.config.update("jit_cache_size", 0)
    with pytest.raises(KeyError, match="unknown option"):
        fg.config.update("no_such_option", 1)


def test_backend_executables_are_bounded():
    from funcgrad.backends import c as cb
    be = fg.backends.get_backend("c")
    fg.config.update("executable_cache_size", 4)
    try:
        f = fg.jit(lambda x: fnp.exp(x).sum(), backend="c")
        for n in range(2, 14):
            f(fnp.ones(n))
        assert len(be._executables) <= 4
        assert len(cb._live_arenas) <= cb._LIVE_ARENAS
    finally:
        fg.config.update("executable_cache_size", None)


@pytest.mark.parametrize("first", [1, 0])
def test_family_with_degenerate_first_size_becomes_generic(first, monkeypatch):
    """Called first at batch 1 (or 0), then at 2, 3, 4, ...: from the fourth size on no new
    C source is generated (the second program became the family's reference, so the batch
    is a run-time size)."""
    import cdsl
    sources = []
    real = cdsl.load
    monkeypatch.setattr(cdsl, "load", lambda src, *a, **k: sources.append(src) or
                        real(src, *a, **k))

    @fg.jit
    def f(x, w):
        return fnp.tanh(x @ w).sum(axis=1) + x[:, 0]

    w = fnp.ones((6, 3))
    for n in [first, 2, 3]:
        f(fnp.full((n, 6), 0.1), w)
    known = set(sources)
    for n in range(4, 12):
        got = f(fnp.full((n, 6), 0.1), w)
        np.testing.assert_allclose(np.asarray(got), np.tanh(np.full((n, 3), 0.6)).sum(1) + 0.1,
                                   rtol=1e-5)
    assert set(sources) == known, "a later size generated new C code"
