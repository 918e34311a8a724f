"""A program traced anew but equal to one compiled before shares its executable
(`ir.fingerprint`, `ProgramCache`): an eager loop's body, a function jitted again at each
call. Programs that differ in anything that changes a result (a literal's value or bits, a
weak type, a parameter, a sub-program, a constant array's bytes, a callback) must not."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import ir, lax


def _program(f, *args):
    return fg.make_jaxpr(f)(*args).program


def _builds(backend_name, fn):
    """How many executables `fn()` built (missed both by identity and by content)."""
    be = fg.backends.get_backend(backend_name)
    before_len, before_hits = be._executables.evictions + len(be._executables), \
        be._executables.content_hits
    fn()
    added = be._executables.evictions + len(be._executables) - before_len
    return added - (be._executables.content_hits - before_hits)


def test_retraced_program_has_the_same_fingerprint():
    def f(x):
        return lax.while_loop(lambda c: c[0] < 10,
                              lambda c: (c[0] + 1, c[1] * 0.5 + fnp.sin(c[1])), (0, x))
    x = fnp.ones(3)
    assert ir.fingerprint(_program(f, x)) == ir.fingerprint(_program(f, x))


@pytest.mark.parametrize("g", [
    lambda x: x + 2.0,                               # another literal
    lambda x: x + (-0.0),                            # the same value, other bits
    lambda x: x * 1.0,                               # another primitive
    lambda x: fnp.sum(x, axis=0, keepdims=True),     # another parameter
    lambda x: x + np.array([0.0, 1.0, 0.0], np.float32),   # a constant array
])
def test_a_different_program_has_another_fingerprint(g):
    x = fnp.ones(3)
    base = ir.fingerprint(_program(lambda x: x + 0.0, x))
    assert base is not None
    assert ir.fingerprint(_program(g, x)) != base


def test_avals_and_weak_types_are_part_of_the_fingerprint():
    f = lambda x: x * 2                                 # noqa: E731
    assert ir.fingerprint(_program(f, fnp.ones(3))) != ir.fingerprint(_program(f, fnp.ones(4)))
    assert ir.fingerprint(_program(f, fnp.ones(3))) != \
        ir.fingerprint(_program(f, fnp.ones(3, fnp.int32)))
    assert ir.fingerprint(_program(f, 1.0)) != ir.fingerprint(_program(f, np.float32(1.0)))


def test_sub_programs_are_part_of_the_fingerprint():
    def loop(body):
        return lambda x: lax.fori_loop(0, 3, body, x)
    x = fnp.ones(3)
    a = ir.fingerprint(_program(loop(lambda i, c: c * 2.0), x))
    b = ir.fingerprint(_program(loop(lambda i, c: c * 3.0), x))
    assert a is not None and a != b


def test_nan_payloads_and_signed_zeros_key_apart():
    assert ir._print_value(0.0) != ir._print_value(-0.0)
    assert ir._print_value(float("nan")) == ir._print_value(float("nan"))
    q = np.frombuffer(np.uint64(0x7FF8000000000001).tobytes(), np.float64)[0]
    assert ir._print_value(float(q)) != ir._print_value(float("nan"))


def test_an_unknown_unhashable_parameter_gives_no_fingerprint():
    class Odd:
        __hash__ = None

        def __eq__(self, other):
            return True                   # would make every two programs "equal"
    p = _program(lambda x: x + 1, fnp.ones(2))
    eqn = p.eqns[0]
    q = ir.Program(p.constvars, p.invars,
                   [ir.Eqn(eqn.prim, eqn.inputs, dict(eqn.params, odd=Odd()), eqn.outputs)],
                   p.outvars)
    assert ir.fingerprint(q) is None


def test_a_function_jitted_again_builds_once():
    def make():
        return fg.jit(lambda x: fnp.tanh(x) * 3.0 + 1.0)
    x = fnp.arange(5.0)
    want = np.tanh(np.arange(5.0, dtype=np.float32)) * 3 + 1
    np.testing.assert_allclose(make()(x), want, rtol=1e-6)
    assert _builds("c", lambda: np.testing.assert_allclose(make()(x), want, rtol=1e-6)) == 0


def test_an_eager_while_loop_builds_once():
    def run(x):
        return lax.while_loop(lambda c: c[0] < 50, lambda c: (c[0] + 1, c[1] * 0.9), (0, x))
    x = fnp.ones(4)
    run(x)
    out = None

    def again():
        nonlocal out
        out = run(x)
    n = _builds("c", again)
    assert n == 0
    np.testing.assert_allclose(out[1], np.full(4, 0.9 ** 50, np.float32), rtol=1e-5)


def test_twins_with_other_callbacks_each_call_their_own():
    seen = []

    def traced(tag):
        def f(x):
            fg.debug.callback(lambda v: seen.append((tag, float(v[0]))), x)
            return x + 1
        return fg.jit(f)

    x = fnp.ones(2)
    fg.block_until_ready(traced("a")(x))
    fg.block_until_ready(traced("b")(x))
    fg.effects_barrier()
    assert [t for t, _ in seen] == ["a", "b"]


@pytest.mark.parametrize("name", ["c", "opencl"])
def test_twins_differing_in_a_constant_give_their_own_results(name):
    """Each fresh jit of `x * c + k` (equal programs but for the literals) is right."""
    try:
        fg.backends.get_backend(name)
    except Exception as e:  # noqa: BLE001 -- any reason the backend cannot start
        pytest.skip(f"backend {name} unavailable: {e}")
    x = np.linspace(-1, 1, 7).astype(np.float32)

    @settings(max_examples=25, deadline=None)
    @given(c=st.floats(-4, 4, width=32), k=st.integers(0, 3))
    def check(c, k):
        f = fg.jit(lambda v: v * np.float32(c) + k, backend=name)
        np.testing.assert_array_equal(np.asarray(f(x)), x * np.float32(c) + np.float32(k))
    check()


def test_programs_built_under_other_lowering_settings_are_not_shared():
    """A lowering setting (a module constant: a test's threshold, FUNCGRAD_PROFILE) is part
    of the key by content: the distributed in-place reduction test toggles one. (Set by
    hand: the suite's monkeypatch of a lowering module forgets every executable, see
    conftest, which would hide the key.)"""
    from funcgrad.backends import c as cb

    def make():
        return fg.jit(lambda x: fnp.sum(x * 2.0) + fnp.max(x))
    x = fnp.arange(6.0)
    make()(x)
    saved = cb.REDUCE_GROUPS
    try:
        cb.REDUCE_GROUPS = not saved
        assert _builds("c", lambda: make()(x)) == 1
    finally:
        cb.REDUCE_GROUPS = saved
    assert _builds("c", lambda: make()(x)) == 0
