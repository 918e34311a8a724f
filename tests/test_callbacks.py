"""Host callbacks: `debug.print`/`debug.callback`, `pure_callback`, `io_callback`, against
JAX's documented behaviour (printed per iteration, per batch element, once under grad; never
dropped, merged or hoisted by the optimiser), on every backend."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.experimental import io_callback

pytestmark = pytest.mark.core


def _lines(capsys):
    return capsys.readouterr().out.splitlines()


# ---------------------------------------------------------------------------------------
# debug.print: formatting (eager)


def test_print_formats_like_str_format(capsys):
    x = fnp.arange(3.0)
    fg.debug.print("x={x}", x=x)
    fg.debug.print("{} and {:.2f}", fnp.int32(3), fnp.float32(2.0))
    fg.debug.print("{a} {b}", a="text", b=(1, 2))
    fg.debug.print("plain", skip_format_check=True)
    fg.debug.print("no fields", 1, 2, skip_format_check=True)
    fg.debug.print(ordered=True)("two-call {}", 5)
    # Numbers in a container are arrays by then, as in JAX (a tuple prints their reprs).
    assert _lines(capsys) == [
        "x=[0. 1. 2.]", "3 and 2.00",
        "text (Array(1, dtype=int32, weak_type=True), Array(2, dtype=int32, weak_type=True))",
        "plain", "no fields 1 2", "two-call 5"]


def test_print_uses_numpy_print_options_of_the_call(capsys):
    with np.printoptions(precision=2):
        fg.debug.print("{}", fnp.array([1 / 3, 2 / 3]))
    assert _lines(capsys) == ["[0.33 0.67]"]


def test_print_format_errors_are_raised_at_trace_time():
    with pytest.raises(ValueError, match="unused positional"):
        fg.debug.print("no field", 1)
    with pytest.raises(ValueError, match="f-string"):
        fg.debug.print("x", x=1)
    with pytest.raises(TypeError, match="two-call"):
        fg.debug.print(None, 1)
    with pytest.raises(TypeError, match="format must be a string"):
        fg.debug.print(3)


# ---------------------------------------------------------------------------------------
# debug.print under transforms, every backend


def test_print_under_jit_vmap_grad(backend, capsys):
    x = fnp.arange(3.0)
    fg.jit(lambda v: fg.debug.print("jit {}", v))(x)
    fg.vmap(lambda v: fg.debug.print("vmap {}", v))(x)
    fg.jit(fg.vmap(lambda v, w: fg.debug.print("jv {} {}", v, w), in_axes=(0, None)))(x, 7)

    def sq(v):
        fg.debug.print("g {}", v)
        return v * v

    assert float(fg.grad(sq)(3.0)) == 6.0
    assert float(fg.jit(fg.grad(sq))(2.0)) == 4.0
    assert float(fg.jvp(sq, (1.5,), (1.0,))[1]) == 3.0
    assert _lines(capsys) == [
        "jit [0. 1. 2.]", "vmap 0.0", "vmap 1.0", "vmap 2.0",
        "jv 0.0 7", "jv 1.0 7", "jv 2.0 7", "g 3.0", "g 2.0", "g 1.5"]


def _step(c, x):
    fg.debug.print("it {} {}", c, x)
    return c + x, None


def test_print_every_iteration_of_loops(backend, capsys):
    xs = fnp.arange(3.0)
    lax.scan(_step, 0.0, xs)
    fg.jit(lambda xs: lax.scan(_step, 0.0, xs))(xs)
    it = ["it 0.0 0.0", "it 0.0 1.0", "it 1.0 2.0"]
    assert _lines(capsys) == it + it

    g = fg.jit(fg.grad(lambda xs: lax.scan(_step, 0.0, xs)[0]))(xs)
    np.testing.assert_allclose(np.asarray(g), [1.0, 1.0, 1.0])
    assert _lines(capsys) == it              # the primal loop prints, once

    def body(c):
        fg.debug.print("w {}", c)
        return c + 1

    fg.jit(lambda: lax.while_loop(lambda c: c < 3, body, 0))()
    fg.jit(lambda p: lax.cond(p, lambda: fg.debug.print("true"),
                              lambda: fg.debug.print("false")))(False)
    lax.fori_loop(0, 2, lambda i, c: (fg.debug.print("fori {}", i), c)[1], 0.0)
    assert _lines(capsys) == ["w 0", "w 1", "w 2", "false", "fori 0", "fori 1"]


def test_print_is_never_dropped_merged_or_hoisted(backend, capsys):
    xs = fnp.arange(6.0).reshape(2, 3)

    def unused_loop(xs):
        lax.scan(_step, 0.0, xs[:, 0])      # outputs unused: only its prints matter
        return xs

    fg.jit(unused_loop)(xs)
    assert _lines(capsys) == ["it 0.0 0.0", "it 0.0 3.0"]

    def twice(v):
        fg.debug.print("twice {}", v[0])
        fg.debug.print("twice {}", v[0])
        return v

    fg.jit(twice)(fnp.ones(2))
    assert _lines(capsys) == ["twice 1.0", "twice 1.0"]

    inner = fg.jit(lambda v: (fg.debug.print("inner {}", v), v)[1])
    fg.jit(lambda v: inner(v) + inner(v))(1.0)
    assert _lines(capsys) == ["inner 1.0", "inner 1.0"]

    # A loop-invariant print next to a matmul that scan hoisting moves out of the loop.
    w = fnp.ones((3, 3))

    def body(c, xt):
        fg.debug.print("invariant {}", w[0, 0])
        fg.debug.print("x {}", xt[0])
        return c + (xt @ w).sum(), None

    fg.jit(lambda xs: lax.scan(body, 0.0, xs))(xs)
    assert _lines(capsys) == ["invariant 1.0", "x 0.0", "invariant 1.0", "x 3.0"]


def test_effects_in_the_ir():
    from funcgrad import ir
    from funcgrad.lowering import passes

    def f(v):
        fg.debug.print("a {}", v)
        fg.debug.print("a {}", v)
        lax.scan(_step, 0.0, fnp.ones(2))
        return v

    prog = fg.make_ir(f)(1.0).program
    cb = [e for e in prog.eqns if e.prim.name == "debug_callback"]
    loops = [e for e in prog.eqns if e.prim.name == "scan"]
    assert len(cb) == 2 and len(loops) == 1
    assert all(ir.has_effects(e) for e in cb + loops)
    opt = passes.optimize(prog)
    names = [e.prim.name for e in opt.eqns]
    assert names.count("debug_callback") == 2 and names.count("scan") == 1


# ---------------------------------------------------------------------------------------
# debug.callback


def test_callback_gets_funcgrad_arrays_and_static_values(backend):
    seen = []

    def record(a, b, tag, scale=None):
        seen.append((type(a), np.asarray(a).tolist(), np.asarray(b).tolist(), tag, scale))

    x = fnp.arange(2.0)
    fg.debug.callback(record, x, 1, "eager", scale=2.0)
    fg.jit(lambda v: fg.debug.callback(record, v, 1, "jit", scale=2.0))(x)
    fg.debug.callback(ordered=True)(record, x, 3, "two-call")
    assert [s[1:] for s in seen] == [([0.0, 1.0], 1, "eager", 2.0),
                                     ([0.0, 1.0], 1, "jit", 2.0),
                                     ([0.0, 1.0], 3, "two-call", None)]
    assert all(issubclass(s[0], fg.Array) for s in seen)
    assert isinstance(seen[0][4], fg.Array)        # numbers become arrays, as in JAX
    with pytest.raises(TypeError, match="callable"):
        fg.debug.callback(3, x)


def test_staged_callbacks_see_strong_arrays_as_jax(backend, capsys):
    # JAX's callback values inside jit are plain arrays: printing a pytree of them shows no
    # weak_type=True, though the traced argument (a Python float) is weak; eagerly the
    # weak type stays (JAX 0.10.2's output). funcgrad printed weak_type=True under jit.
    with fg.config.override("backend", backend):
        fg.jit(lambda y: fg.debug.print("{t}", t={"a": y, "b": 2}))(2.0)
        fg.debug.print("{t}", t={"a": 2.0})
        seen = []
        fg.jit(lambda y: fg.debug.callback(lambda v: seen.append(v), y * 2))(
            fnp.arange(2) + 1.5)
        fg.effects_barrier()
    assert _lines(capsys) == ["{'a': Array(2., dtype=float32), 'b': Array(2, dtype=int32)}",
                              "{'a': Array(2., dtype=float32, weak_type=True)}"]
    assert not seen[0].weak_type and np.asarray(seen[0]).tolist() == [3.0, 5.0]


def test_log_goes_to_the_logger(caplog):
    import logging
    with caplog.at_level(logging.INFO, logger="funcgrad.debug"):
        fg.jit(lambda v: fg.debug.log("logged {}", v))(2.0)
    assert [r.getMessage() for r in caplog.records] == ["logged 2.0"]


# ---------------------------------------------------------------------------------------
# pure_callback and io_callback


def _np_sin(x):
    return np.sin(np.asarray(x))


def test_pure_callback_eager_jit_and_pytrees(backend):
    x = fnp.linspace(0.0, 1.0, 5)
    spec = fg.ShapeDtypeStruct(x.shape, x.dtype)
    np.testing.assert_allclose(np.asarray(fg.pure_callback(_np_sin, spec, x)), np.sin(x),
                               rtol=1e-6)
    out = fg.jit(lambda v: fg.pure_callback(_np_sin, spec, v) * 2)(x)
    np.testing.assert_allclose(np.asarray(out), 2 * np.sin(x), rtol=1e-6)

    def both(a, b=None):
        return {"sum": np.asarray(a) + np.asarray(b), "n": np.int32(a.shape[0])}

    res = fg.jit(lambda v: fg.pure_callback(
        both, {"sum": spec, "n": fg.ShapeDtypeStruct((), np.int32)}, v, b=v))(x)
    np.testing.assert_allclose(np.asarray(res["sum"]), 2 * np.asarray(x))
    assert int(res["n"]) == 5 and res["n"].dtype == np.int32


def test_pure_callback_result_checks():
    spec = fg.ShapeDtypeStruct((3,), np.float32)
    with pytest.raises(TypeError, match=r"shape \(4,\).*f32\[3\]"):
        fg.pure_callback(lambda a: np.zeros(4, np.float32), spec, fnp.ones(3))
    with pytest.raises(TypeError, match="dtype float32.*declares int32"):
        fg.pure_callback(lambda a: np.zeros(3, np.float32),
                         fg.ShapeDtypeStruct((3,), np.int32), fnp.ones(3))
    with pytest.raises(TypeError, match="returned 2"):
        fg.pure_callback(lambda a: (a, a), spec, fnp.ones(3))
    with pytest.raises(ValueError, match="vmap_method"):
        fg.pure_callback(lambda a: a, spec, fnp.ones(3), vmap_method="vectorized")
    # A float64 result for a float32 declaration is converted, as JAX does.
    out = fg.pure_callback(lambda a: np.ones(3), spec, fnp.ones(3))
    assert out.dtype == np.float32


def test_pure_callback_vmap_methods():
    calls = []

    def add(a, b):
        calls.append((np.shape(a), np.shape(b)))
        return np.asarray(a) + np.asarray(b)

    def f(method):
        return lambda v, w: fg.pure_callback(add, fg.ShapeDtypeStruct((), np.float32), v, w,
                                             vmap_method=method)

    x = fnp.arange(3.0)
    for method, shapes in [("sequential", [((), ())] * 3),
                           ("sequential_unrolled", [((), ())] * 3),
                           ("expand_dims", [((3,), (1,))]),
                           ("broadcast_all", [((3,), (3,))]),
                           ("legacy_vectorized", [((3,), ())])]:
        calls.clear()
        out = fg.vmap(f(method), in_axes=(0, None))(x, 2.0)
        np.testing.assert_allclose(np.asarray(out), [2.0, 3.0, 4.0])
        assert calls == shapes, method
    with pytest.raises(NotImplementedError, match="vmap_method"):
        fg.vmap(f(None), in_axes=(0, None))(x, 2.0)


def test_pure_callback_is_not_differentiable_but_custom_jvp_works():
    spec = fg.ShapeDtypeStruct((), np.float32)
    with pytest.raises(ValueError, match="custom_jvp"):
        fg.grad(lambda v: fg.pure_callback(_np_sin, spec, v))(1.0)

    @fg.custom_jvp
    def sin(v):
        return fg.pure_callback(_np_sin, spec, v)

    @sin.defjvp
    def sin_jvp(primals, tangents):
        (v,), (t,) = primals, tangents
        return sin(v), fnp.cos(v) * t

    np.testing.assert_allclose(float(fg.grad(sin)(0.5)), np.cos(0.5), rtol=1e-6)
    np.testing.assert_allclose(float(fg.jit(fg.grad(sin))(0.5)), np.cos(0.5), rtol=1e-6)


def test_io_callback_runs_even_when_unused(backend):
    log = []
    spec = fg.ShapeDtypeStruct((), np.float32)

    def record(a):
        log.append(float(np.asarray(a)))
        return np.float32(0)

    def f(v):
        io_callback(record, spec, v)        # result unused: still called
        return v + 1

    assert float(fg.jit(f)(1.0)) == 2.0
    out = fg.jit(fg.vmap(lambda v: io_callback(lambda a: np.asarray(a) * 2, spec, v)))(
        fnp.arange(3.0))
    np.testing.assert_allclose(np.asarray(out), [0.0, 2.0, 4.0])
    assert log == [1.0]
    with pytest.raises(ValueError, match="ordered"):
        fg.vmap(lambda v: io_callback(record, spec, v, ordered=True))(fnp.arange(2.0))
    with pytest.raises(ValueError, match="not differentiable"):
        fg.grad(lambda v: io_callback(record, spec, v))(1.0)


# ---------------------------------------------------------------------------------------
# breakpoint


def test_breakpoint_sees_runtime_values(monkeypatch, capsys):
    import io

    def f(x):
        y = fnp.sin(x) * 0 + x + 1
        fg.debug.breakpoint()
        return y

    monkeypatch.setattr("sys.stdin", io.StringIO("p y\nx * 10\nnot_a_name\nc\n"))
    fg.jit(f)(2.0)
    out = capsys.readouterr().out
    assert "Array(3., dtype=float32" in out and "Array(20., dtype=float32" in out
    assert "NameError" in out

    monkeypatch.setattr("sys.stdin", io.StringIO("p x\nc\np x\nc\n"))
    fg.vmap(f)(fnp.arange(2.0))                      # once per batch element
    out = capsys.readouterr().out
    assert out.count("Entering fgdb") == 2 and "Array(1., dtype=float32)" in out

    def outer(v):
        z = v * 3
        return inner(z)

    def inner(w):
        fg.debug.breakpoint(num_frames=2)
        return w

    monkeypatch.setattr("sys.stdin", io.StringIO("u\np z\nw\nc\n"))
    fg.jit(outer)(1.0)
    out = capsys.readouterr().out
    assert "Array(3., dtype=float32" in out and "outer()" in out and "inner()" in out

    monkeypatch.setattr("sys.stdin", io.StringIO("q\n"))
    with pytest.raises(KeyboardInterrupt):
        f(1.0)


def test_pure_callback_refuses_64_bit_results_while_x64_is_off():
    if "enable_x64" not in fg.config.options or fg.config.read("jax_enable_x64"):
        pytest.skip("needs JAX's x64 switch, off")
    with pytest.raises(ValueError, match="64-bit"):
        fg.pure_callback(lambda a: a, fg.ShapeDtypeStruct((3,), np.float64), fnp.ones(3))
