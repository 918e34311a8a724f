"""Gradients through `lax.scan` under `jit`, checked on every backend against float64 NumPy.

Issue 9: on the C backend, a scan whose body cannot write its outputs straight into the
caller's buffers (a carry passed through unchanged, a literal carry such as the 1.0 seed of
reverse mode) runs a Python loop over the compiled body. That loop handed the body the
rows `x[i]` of 1-D scanned inputs, which are NumPy scalars: their addresses are those of
temporary copies freed at once, so two scalar inputs of one iteration could share an
address and the body read garbage (grad 8.0 instead of 0.033, with no error).
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import _test_backends

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

# The bug was in the C backend's host-driven scan loop; OpenCL (whose kernels take seconds
# to build on PoCL) runs the reproducer only, the variants run on reference and C.
_HOST_BACKENDS = [b for b in ("reference", "c") if b in _test_backends()]


def _dlog1p_sq_chain(c0: float, n: int, reverse_order=False) -> tuple[float, float]:
    """(c_n, d c_n / d c0) for c <- log1p(c*c) applied n times, in float64."""
    c, d = float(c0), 1.0
    for _ in range(n):
        d *= 2 * c / (1 + c * c)
        c = np.log1p(c * c)
    return c, d


@pytest.fixture(params=_HOST_BACKENDS)
def host_backend(request):
    """The reference and C backends (where available), passed to `jit` explicitly."""
    return request.param


def _close(got, want, rtol=2e-5, atol=1e-7):
    np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=rtol, atol=atol)


def test_grad_scan_with_unused_stacked_output_of_second_argument(backend):
    # The reproducer: the stacked sin(w) is unused, so d/dw is zero, and the reverse
    # scan carries an f32[2] zero passthrough and the literal seed 1.0.
    def f(c0, w):
        return lax.scan(lambda c, _: (fnp.log1p(c * c), fnp.sin(w)), c0, None, length=3)[0]

    g = fg.jit(fg.grad(f, argnums=(0, 1)), backend=backend)(np.float32(0.5),
                                                            np.ones(2, np.float32))
    _close(g[0], _dlog1p_sq_chain(0.5, 3)[1])
    _close(g[1], np.zeros(2))


def test_grad_reverse_scan_with_unused_stacked_output(host_backend):
    def f(c0, w):
        return lax.scan(lambda c, _: (fnp.log1p(c * c), fnp.cos(w) * c), c0, None,
                        length=4, reverse=True)[0]

    g = fg.jit(fg.grad(f, argnums=(0, 1)), backend=host_backend)(np.float32(0.7),
                                                            np.full(3, 0.3, np.float32))
    _close(g[0], _dlog1p_sq_chain(0.7, 4)[1])
    _close(g[1], np.zeros(3))


def test_grad_scan_over_xs_with_unused_output_of_other_argument(host_backend):
    # Two 1-D scanned inputs (scalar rows), a used carry that depends on both and on `a`,
    # and a stacked output of `w` that the loss ignores.
    xs = np.array([0.5, -1.0, 2.0, 0.25], np.float32)
    ys = np.array([1.5, 2.0, 0.5, 3.0], np.float32)

    def f(c0, a, w):
        def body(c, xy):
            x, y = xy
            return c * x / y + a * fnp.sin(c), fnp.tanh(w) * x
        return lax.scan(body, c0, (fnp.asarray(xs), fnp.asarray(ys)))[0]

    def f64(c0, a):
        c, dc0, da = c0, 1.0, 0.0
        for x, y in zip(xs.astype(np.float64), ys.astype(np.float64)):
            dc = x / y + a * np.cos(c)
            dc0, da = dc0 * dc, da * dc + np.sin(c)
            c = c * x / y + a * np.sin(c)
        return dc0, da

    args = (np.float32(0.8), np.float32(0.6), np.full(2, 0.4, np.float32))
    g = fg.jit(fg.grad(f, argnums=(0, 1, 2)), backend=host_backend)(*args)
    want_c0, want_a = f64(0.8, 0.6)
    _close(g[0], want_c0, rtol=1e-4)
    _close(g[1], want_a, rtol=1e-4)
    _close(g[2], np.zeros(2))


def test_vmap_grad_scan_with_unused_stacked_output(host_backend):
    def f(c0, w):
        return lax.scan(lambda c, _: (fnp.log1p(c * c), fnp.sin(w)), c0, None, length=3)[0]

    c0s = np.array([0.5, -0.3, 1.2], np.float32)
    ws = np.ones((3, 2), np.float32)
    g = fg.jit(fg.vmap(fg.grad(f, argnums=(0, 1))), backend=host_backend)(c0s, ws)
    _close(g[0], [_dlog1p_sq_chain(c, 3)[1] for c in c0s.astype(np.float64)])
    _close(g[1], np.zeros((3, 2)))


def test_scan_with_literal_carry_and_scalar_xs_forward(host_backend):
    # The same host-driven loop without differentiation: a literal initial carry (traced
    # as a constant under jit) and two 1-D scanned inputs whose rows are scalars.
    def f(a, b):
        def body(c, ab):
            x, y = ab
            return (c[0] + x / y, c[1]), c[0] * y
        (s, t), ys = lax.scan(body, (fnp.float32(1.0), fnp.zeros(2)), (a, b))
        return s, t, ys

    a = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    b = np.array([2.0, 4.0, 8.0, 16.0], np.float32)
    s, t, ys = fg.jit(f, backend=host_backend)(a, b)
    acc = 1.0 + np.cumsum(a.astype(np.float64) / b)
    _close(s, acc[-1])
    _close(t, np.zeros(2))
    _close(ys, np.concatenate([[1.0], acc[:-1]]) * b)


def test_host_driven_scan_loop_with_scalar_rows(host_backend):
    # A host callback in the body keeps the scan a Python loop over the compiled body on C:
    # the loop itself hands each iteration its rows of the two 1-D scanned inputs.
    seen = []

    def f(a, b):
        def body(c, ab):
            x, y = ab
            fg.debug.callback(lambda v: seen.append(float(v)), x)
            return c + x / y, x * y - c
        return lax.scan(body, fnp.float32(0.5), (a, b))

    a = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    b = np.array([2.0, 4.0, 8.0, 16.0], np.float32)
    c, ys = fg.jit(f, backend=host_backend)(a, b)
    acc = 0.5 + np.concatenate([[0.0], np.cumsum(a.astype(np.float64) / b)])
    _close(c, acc[-1])
    _close(ys, a.astype(np.float64) * b - acc[:-1])
    assert seen == [1.0, 2.0, 3.0, 4.0]



def test_literal_initial_carry_compiles_into_the_c_loop():
    # Reverse mode seeds a scalar carry with the literal 1.0: that scan is a C loop too
    # (the carry buffer is filled with the literal), not a Python loop over the body.
    if "c" not in _test_backends():
        pytest.skip("the C backend is not available here")

    def f(c0, w):
        return lax.scan(lambda c, _: (fnp.log1p(c * c), fnp.sin(w)), c0, None, length=3)[0]

    args = (np.float32(0.5), np.ones(2, np.float32))
    lowered = fg.jit(fg.grad(f, argnums=(0, 1)), backend="c").lower(*args)
    assert lowered.source.count("/* scan (length 3) */") == 2, lowered.source
    assert "= 1.0f;" in lowered.source
