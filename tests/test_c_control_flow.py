"""`while_loop`, `cond`/`switch` and `scan` compiled into C control flow on the C backend
(`c.Executable._lower_control`): the loop or branch is C code calling its bodies' functions
in the same module, with no Python between trips. Each case checks that the program
compiled whole (no host step) and agrees with the reference backend; the loops run odd and
even trip counts (the carry alternates between two buffers), zero trips, literal and
pass-through carries, nested control flow, GEMMs on loop constants, narrow and complex
dtypes, vmap's batched predicates and size-generic code."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.backends import c as cbackend
from funcgrad.backends import get_backend

pytestmark = [pytest.mark.cbackend,
              pytest.mark.skipif(not cbackend.available(), reason="no C compiler")]

RNG = np.random.default_rng(7)


def arr(*shape, dtype=np.float32):
    return fnp.asarray(RNG.standard_normal(shape).astype(dtype))


def compiled_whole(f, *args, label="while_loop"):
    """Asserts that jit(f)(*args) on C has no host step and its source has `label`."""
    low = fg.jit(f, backend="c").lower(*args)
    exe = get_backend("c").executable(low.program, low.name)
    assert not exe._host_steps, [s[0].prim.name for k, s in exe.steps if k == "host"]
    assert f"/* {label}" in low.source, low.source[:2000]


def agree(f, *args, rtol=1e-6, atol=1e-6, label="while_loop"):
    compiled_whole(f, *args, label=label)
    out = fg.jit(f, backend="c")(*args)
    ref = fg.jit(f, backend="reference")(*args)
    lo, lr = fg.tree.tree_leaves(out), fg.tree.tree_leaves(ref)
    assert len(lo) == len(lr)
    for x, y in zip(lo, lr):
        assert np.asarray(x).dtype == np.asarray(y).dtype and np.shape(x) == np.shape(y)
        np.testing.assert_allclose(np.asarray(x, np.complex128 if np.iscomplexobj(x)
                                              else np.float64),
                                   np.asarray(y, np.complex128 if np.iscomplexobj(y)
                                              else np.float64), rtol=rtol, atol=atol)
    return out


@pytest.mark.parametrize("n", [0, 1, 2, 7, 8])
def test_counting_loop_odd_even_and_zero_trips(n):
    def f(x, n):
        return lax.while_loop(lambda c: c[0] < n,
                              lambda c: (c[0] + 1, c[1] * 1.5 + 1.0, c[2] - c[1]),
                              (0, x, x * 2))
    x = arr(3, 4)
    out = agree(f, x, n)
    assert int(out[0]) == n


def test_newton_iteration_with_closed_over_constants_and_a_tolerance():
    a = fnp.asarray(np.linspace(1, 50, 33, dtype=np.float32))

    def sqrt_newton(a):
        def cond(s):
            x, i = s
            return (fnp.max(fnp.abs(x * x - a)) > 1e-4 * fnp.max(a)) & (i < 50)

        def body(s):
            x, i = s
            return 0.5 * (x + a / x), i + 1
        return lax.while_loop(cond, body, (a, 0))
    x, i = agree(sqrt_newton, a)
    np.testing.assert_allclose(np.asarray(x), np.sqrt(np.asarray(a)), rtol=1e-4)
    assert 0 < int(i) < 50


def test_predicate_carried_in_the_state_and_swapped_carries():
    def f(x):
        def body(c):
            i, a, b, go = c
            return i + 1, b, a + 1.0, i + 1 < 5      # swaps a and b; the predicate is carried
        return lax.while_loop(lambda c: c[3], body, (0, x, -x, True))
    agree(f, arr(5))


def test_body_returning_an_input_unchanged_and_a_repeated_output():
    def f(x, y):
        def body(c):
            i, a, b, d = c
            s = a + b
            return i + 1, s, b, s             # b passes through; s is returned twice
        return lax.while_loop(lambda c: c[0] < 3, body, (0, x, y, x))
    agree(f, arr(2, 3), arr(2, 3))


@pytest.mark.parametrize("dtype", ["int8", "uint16", "float16", "bfloat16", "complex64",
                                   "float64", "bool"])
def test_carry_dtypes(dtype):
    def f(x):
        if dtype == "bool":
            body = lambda c: (c[0] + 1, ~c[1])   # noqa: E731
        else:
            body = lambda c: (c[0] + 1, c[1] * 2 + c[1])   # noqa: E731
        return lax.while_loop(lambda c: c[0] < 3, body, (0, x))
    if dtype == "bool":
        x = fnp.asarray(np.array([True, False, True]))
    elif dtype == "complex64":
        x = fnp.asarray(np.array([1 + 2j, -0.5j], np.complex64))
    elif dtype != "float64":
        x = fnp.asarray(np.array([1, 2, 3], np.float32)).astype(dtype)
    with fg.config.override("jax_enable_x64", dtype == "float64"):
        if dtype == "float64":
            x = fnp.asarray(np.array([1.5, -2.0]))
        agree(f, x)


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "int32", "complex64"])
def test_constant_outputs_of_bodies_and_branches(dtype):
    """A branch or body returning a literal (`lambda x: (x * 2, 1.0)`) stores it."""
    one = np.asarray(1.5 if dtype != "int32" else 3, dtype=np.dtype(dtype) if dtype not in
                     ("bfloat16",) else np.float32)

    def f(p, x):
        a = lax.cond(p, lambda v: (v * 2, fnp.asarray(one, dtype)),
                     lambda v: (v, fnp.asarray(one, dtype) * 2), x)
        b = lax.while_loop(lambda c: c[0] < 3,
                           lambda c: (c[0] + 1, fnp.asarray(one, dtype)), (0, x[0]))
        return a, b
    x = fnp.asarray(np.array([1, 2, 3], np.float32)).astype(dtype)
    for p in (True, False):
        agree(f, fnp.asarray(p), x, label="cond (2 branches)")


def test_gemm_on_a_loop_constant_in_the_body_sees_new_values_each_call():
    """A body GEMM may pack a loop constant once per run (its header is cleared before the
    loop): a second call with another matrix must not reuse the first call's packing."""
    def f(W, h):
        return lax.while_loop(lambda c: c[0] < 4,
                              lambda c: (c[0] + 1, fnp.tanh(c[1] @ W)), (0, h))[1]
    h = arr(16, 64)
    for _ in range(2):
        W = arr(64, 64) * 0.2
        agree(f, W, h, rtol=1e-5, atol=1e-6)


def test_nested_while_in_scan_scan_in_while_and_while_in_while():
    def inner(x):
        return lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 0.5 + 1),
                              (0, x))[1]

    def while_in_scan(xs):
        return lax.scan(lambda h, x: (h + inner(x), inner(h)), fnp.zeros(4), xs)

    def scan_in_while(x):
        def body(c):
            i, h = c
            h, _ = lax.scan(lambda a, b: (a * 0.9 + b, a), h, fnp.ones((3, 4)))
            return i + 1, h
        return lax.while_loop(lambda c: c[0] < 2, body, (0, x))

    def while_in_while(x):
        def body(c):
            i, h = c
            return i + 1, inner(h) + i.astype(h.dtype)
        return lax.while_loop(lambda c: c[0] < 3, body, (0, x))
    agree(while_in_scan, arr(5, 4), label="scan")
    agree(scan_in_while, arr(4))
    agree(while_in_while, arr(4))


def test_cond_and_switch_compile_and_clamp_the_index_like_jax():
    def sw(i, x):
        return lax.switch(i, [lambda v: v + 1.0, lambda v: fnp.sin(v) * 2.0,
                              lambda v: v], x)     # the last branch returns its operand
    x = arr(3, 5)
    for i in (-7, 0, 1, 2, 3, 100):
        out = agree(sw, fnp.asarray(np.int32(i)), x, label="cond (3 branches)")
        want = [lambda v: v + 1.0, lambda v: np.sin(v) * 2.0, lambda v: v][min(max(i, 0), 2)]
        np.testing.assert_allclose(np.asarray(out), want(np.asarray(x)), rtol=1e-6)

    def cnd(p, x, y):
        return lax.cond(p, lambda a, b: (a @ b, a.sum()), lambda a, b: (a * 0.0, 1.0), x, y)
    for p in (True, False):
        agree(cnd, fnp.asarray(p), arr(4, 4), arr(4, 4), rtol=1e-5,
              label="cond (2 branches)")


def test_cond_inside_a_scan_keeps_the_scan_a_c_loop():
    """A cond in a scan body used to make Python drive the whole scan, trip by trip."""
    def f(xs):
        def step(h, x):
            h = lax.cond(fnp.sum(x) > 0, lambda a: a * 0.5 + x, lambda a: a - x, h)
            return h, h.sum()
        return lax.scan(step, fnp.zeros(6), xs)
    agree(f, arr(9, 6), label="scan")
    assert "cond (2 branches)" in fg.jit(f).lower(arr(9, 6)).source


def test_vmapped_while_loop_with_a_batched_predicate():
    def collatz_steps(n):
        def body(c):
            k, m = c
            return k + 1, fnp.where(m % 2 == 0, m // 2, 3 * m + 1)
        return lax.while_loop(lambda c: c[1] != 1, body, (0, n))[0]
    ns = fnp.asarray(np.array([1, 2, 3, 6, 7, 27], np.int32))
    out = agree(fg.vmap(collatz_steps), ns)
    np.testing.assert_array_equal(np.asarray(out), [0, 1, 7, 8, 16, 111])


def test_forward_mode_through_a_compiled_while_loop():
    def f(x):
        return lax.while_loop(lambda c: c[0] < 4, lambda c: (c[0] + 1, fnp.sin(c[1]) * 1.1),
                              (0, x))[1]
    x, t = arr(6), arr(6)
    agree(lambda x, t: fg.jvp(f, (x,), (t,)), x, t)


def test_size_generic_code_reuses_the_loop_at_a_new_batch_size():
    def f(x):
        return lax.while_loop(lambda c: fnp.max(fnp.abs(c[1])) > 1.0,
                              lambda c: (c[0] + 1, c[1] * 0.5), (0, x))
    g = fg.jit(f)
    for n in (64, 50, 37):
        x = arr(n, 8) * 10
        i, y = g(x)
        ref = fg.jit(f, backend="reference")(x)
        assert int(i) == int(ref[0])
        np.testing.assert_allclose(np.asarray(y), np.asarray(ref[1]), rtol=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 12), st.floats(-3, 3, width=32), st.integers(1, 3))
def test_while_matches_a_python_loop(limit, x0, step):
    def f(x, limit):
        return lax.while_loop(lambda c: c[0] < limit,
                              lambda c: (c[0] + step, c[1] * 0.75 + c[0].astype(c[1].dtype)),
                              (0, x))
    i, y = fg.jit(f)(fnp.float32(x0), limit)
    k, v = 0, np.float32(x0)
    while k < limit:
        k, v = k + step, np.float32(v * np.float32(0.75) + np.float32(k))
    assert int(i) == k
    np.testing.assert_allclose(float(y), float(v), rtol=1e-6, atol=1e-6)


def test_eager_loops_run_as_one_compiled_program(monkeypatch):
    """Outside jit, a while loop and a long scan run as one compiled program of the
    equation (as JAX compiles eagerly applied primitives), not trip by trip with each body
    operation dispatched on its own; results equal the reference backend's."""
    from funcgrad import core
    seen = []
    orig = core.EvalTrace.process_primitive

    def spy(self, primitive, tracers, params):
        seen.append(primitive.name)
        return orig(self, primitive, tracers, params)

    x = arr(16)

    def loops(x):
        w = lax.while_loop(lambda c: c[0] < 40, lambda c: (c[0] + 1, fnp.sin(c[1]) + 0.5),
                           (0, x))
        s = lax.scan(lambda h, _: (fnp.tanh(h * 1.1 + 0.2), h.sum()), x, None, length=400)
        return w, s

    with fg.config.override("backend", "c"):
        loops(x)
        monkeypatch.setattr(core.EvalTrace, "process_primitive", spy)
        out = loops(x)
        monkeypatch.undo()
    assert seen.count("while") == 1 and seen.count("scan") == 1
    assert len(seen) < 20, seen           # interpreted: 40 + 400 trips of every body operation
    with fg.config.override("backend", "reference"):
        ref = loops(x)
    for a, b in zip(fg.tree.tree_leaves(out), fg.tree.tree_leaves(ref)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-6)
