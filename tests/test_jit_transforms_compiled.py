"""Transforms of a jitted function applied outside jit (`grad(jit(f))`, `jacfwd`, `vjp`,
`vmap`) run compiled, as in JAX: reverse mode runs the known half of the JVP as one
compiled call and the transpose of the linear half as another (`control._jit_linearize`,
`_jit_transpose`; from the second time a program is differentiated, the first is
inlined), and the derived programs are memoized by the jitted program's identity so that
later calls reuse the compiled code. Inlining ran every operation eagerly (a
30-layer function's gradient dispatched hundreds of operations one by one). Each test
checks values against jit(grad(f)) or finite differences, and JAX's results where the
symbolic zeros of untouched inputs matter."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.backends import c as cbackend
from conftest import count_eager
from test_cbackend import close

pytestmark = pytest.mark.skipif(not cbackend.available(), reason="no C compiler")

RNG = np.random.default_rng(11)


@pytest.fixture(autouse=True)
def _c_backend():
    with fg.config.override("backend", "c"):
        yield


def arr(*shape):
    return fnp.asarray(RNG.standard_normal(shape).astype(np.float32))


@fg.jit
def deep(ws, x):
    h = x
    for i in range(30):
        h = fnp.tanh(h @ ws[i % 3] + 0.1 * i)
    return fnp.sum(h * h)


def test_grad_of_a_jitted_function_runs_compiled_and_reuses_its_programs(monkeypatch):
    ws, x = [arr(8, 8) * 0.4 for _ in range(3)], arr(4, 8)
    g = fg.grad(deep)
    first = g(ws, x)                   # the first time inlined (no programs to build)
    g(ws, x)                           # then compiled
    again, seen = count_eager(lambda: g(ws, x), monkeypatch)
    # the known half, the transpose, and a few additions of cotangents: not ~300 operations
    assert len(seen) < 40, seen
    close(first, again)      # eager and compiled arithmetic may differ in the last bits
    close(again, fg.jit(fg.grad(deep))(ws, x))
    close(again, g(ws, x), rtol=0, atol=0)
    inner = fg.backends.get_backend("c").inner
    n0 = len(inner._executables)
    g(ws, x)
    assert len(inner._executables) == n0, "a later call built new executables"


def test_grad_and_value_jacrev_and_vjp_of_jitted_functions_match_jit_of_the_transform():
    @fg.jit
    def f(p, x):
        a, b = p
        y = fnp.sin(x @ a) * b
        return fnp.sum(y ** 2), y.mean(axis=0)

    p, x = (arr(5, 3), arr(3)), arr(6, 5)
    loss = lambda p, x: f(p, x)[0]  # noqa: E731
    close(fg.grad(loss)(p, x), fg.jit(fg.grad(loss))(p, x))
    close(fg.value_and_grad(loss, argnums=(0, 1))(p, x),
          fg.jit(fg.value_and_grad(loss, argnums=(0, 1)))(p, x))
    close(fg.jacrev(lambda p: f(p, x)[1])(p), fg.jit(fg.jacrev(lambda p: f(p, x)[1]))(p))
    out, pull = fg.vjp(f, p, x)
    ct = (fnp.float32(1.5), arr(3))
    close(pull(ct), pull(ct), rtol=0, atol=0)          # the transpose is reused
    close(pull(ct), fg.jit(lambda p, x, ct: fg.vjp(f, p, x)[1](ct))(p, x, ct))


def test_inputs_without_cotangent_integer_inputs_and_outputs():
    @fg.jit
    def f(x, n, unused):
        k = n * 2                                # an integer output, and an integer input
        return fnp.sum(fnp.cos(x) * n), k, fnp.float32(3.0)

    x = arr(7)
    g = fg.grad(lambda x, u: f(x, 3, u)[0] + f(x, 3, u)[2], argnums=(0, 1))(x, arr(2))
    np.testing.assert_allclose(np.asarray(g[0]), -3 * np.sin(np.asarray(x)), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(g[1]), np.zeros(2, np.float32))


def test_symbolic_zero_of_an_undifferentiated_input_stays_zero_like_jax():
    """grad wrt x of sqrt(c) * x at c = 0: c's tangent is a symbolic zero, so sqrt's rule
    never computes 0 / (2 * sqrt(0)); JAX gives 0. Computing with the zero gave NaN."""
    @fg.jit
    def f(x, c):
        return fnp.sum(fnp.sqrt(c) * x + fnp.abs(c) * x)
    c = fnp.zeros(3)
    np.testing.assert_array_equal(np.asarray(fg.grad(f)(arr(3), c)), np.zeros(3))


def test_reverse_mode_through_a_jitted_scan_matches_finite_differences():
    @fg.jit
    def integrate(y0, theta):
        def step(y, _):
            return y + 0.05 * fnp.stack([y[1], -theta[0] * fnp.sin(y[0]) - theta[1] * y[1]]), \
                y[0]
        final, traj = lax.scan(step, y0, None, length=40)
        return fnp.sum(final ** 2) + fnp.sum(traj)

    y0, theta = fnp.asarray([0.5, 0.0]), fnp.asarray([1.2, 0.1])
    g = fg.grad(integrate, argnums=1)(y0, theta)
    close(g, fg.jit(fg.grad(integrate, argnums=1))(y0, theta))
    t = np.asarray(theta, np.float64)
    f64 = lambda th: float(integrate(y0, fnp.asarray(th, np.float32)))  # noqa: E731
    eps = 1e-2
    fd = [(f64(t + eps * e) - f64(t - eps * e)) / (2 * eps) for e in np.eye(2)]
    np.testing.assert_allclose(np.asarray(g), fd, rtol=2e-2, atol=2e-3)
    # hessian = jacfwd(jacrev): the outer JVP traces the inner reverse pass (inlined)
    h = fg.hessian(integrate, argnums=1)(y0, theta)
    close(h, fg.jit(fg.hessian(integrate, argnums=1))(y0, theta), rtol=1e-4, atol=1e-5)


def test_forward_mode_and_vmap_of_jitted_functions_reuse_their_programs():
    @fg.jit
    def f(x):
        return fnp.tanh(x) * 2.0

    x, t = arr(5), arr(5)
    close(fg.jvp(f, (x,), (t,)), fg.jit(lambda x, t: fg.jvp(f, (x,), (t,)))(x, t))
    inner = fg.backends.get_backend("c").inner
    fg.jvp(f, (x,), (t,))
    fg.vmap(f)(arr(3, 5))
    n0 = len(inner._executables)
    fg.jvp(f, (x,), (t,))
    fg.vmap(f)(arr(3, 5))
    assert len(inner._executables) == n0


def test_vmap_of_a_jitted_collective_takes_the_axis_name_of_each_vmap():
    g = fg.jit(lambda x: lax.psum(x, "i"))
    h = fg.jit(lambda x: lax.psum(x, "j"))
    x = arr(4)
    np.testing.assert_allclose(np.asarray(fg.vmap(g, axis_name="i")(x)),
                               np.full(4, float(np.sum(np.asarray(x)))), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(fg.vmap(h, axis_name="j")(x)),
                               np.full(4, float(np.sum(np.asarray(x)))), rtol=1e-6)


def test_grad_through_a_jitted_function_called_in_a_scan_body():
    """A jit call inside a scan body under grad raised 'mul is not linear in both operands
    at once' (also before this session's changes): partial evaluation put the call, primal
    results included, whole into the linear part. JAX 0.10.2: [1.9581869, 5., 1.9581867]."""
    inner = fg.jit(lambda x: fnp.tanh(x) * 2.0)
    scan_jit = fg.jit(lambda x: lax.scan(lambda c, _: (inner(c) * 0.5, c.sum()), x, None,
                                         length=4))
    loss = lambda x: fnp.sum(scan_jit(x)[0]) + fnp.sum(scan_jit(x)[1])  # noqa: E731
    x = fnp.asarray(np.linspace(-1, 1, 3, dtype=np.float32))
    want = [1.9581869, 5.0, 1.9581867]
    for _ in range(3):                        # inlined, then compiled
        np.testing.assert_allclose(np.asarray(fg.grad(loss)(x)), want, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(fg.jit(fg.grad(loss))(x)), want, rtol=1e-6)


def test_nested_jit_calls_keep_their_primal_results_known():
    """Fuzz run 20261803 #1, #2, #4 (stacks jit+jit+vjp, jit+jit+vmap+value_and_grad): the
    JVP of an outer jit holding an inner jit call split with the call whole in the linear
    part, so a primal output came back as a value being staged and the next eager
    operation raised ConcretizationTypeError."""
    inner = fg.jit(lambda x: fnp.tanh(x) * 2.0)
    outer = fg.jit(lambda x: inner(x) + fnp.max(x))
    x = arr(4, 3)
    loss = lambda x: fnp.sum(fg.vmap(outer)(x) ** 2)  # noqa: E731
    want = fg.jit(fg.grad(loss))(x)
    for _ in range(3):
        close(fg.value_and_grad(loss)(x)[1], want)
        out, pull = fg.vjp(outer, x[0])
        close(pull(fnp.ones(3)), fg.jit(lambda x: fg.vjp(outer, x)[1](fnp.ones(3)))(x[0]))


def test_forward_mode_keeps_closed_over_constants_tangents_symbolic_zeros():
    """jvp/jacfwd of a jitted function computed with a closed-over constant's zero tangent:
    sqrt(c) * x at c = 0 gave 0 * inf = NaN (also on 2de01ee). JAX 0.10.2 keeps the
    tangent a symbolic zero: jvp tangent [0.5, 0.5, 0.5], jacfwd 0.5 * I."""
    c = fnp.zeros(3)
    f = fg.jit(lambda x: fnp.sqrt(c) * x + fnp.sqrt(x))
    x, t = fnp.ones(3), fnp.ones(3)
    np.testing.assert_array_equal(np.asarray(fg.jvp(f, (x,), (t,))[1]), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(np.asarray(fg.jacfwd(f)(x)), 0.5 * np.eye(3))
    g = fg.jit(lambda x, c: fnp.sqrt(c) * x)
    np.testing.assert_array_equal(np.asarray(fg.jvp(lambda x: g(x, c), (x,), (t,))[1]),
                                  np.zeros(3))
