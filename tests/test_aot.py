"""Ahead-of-time compilation, as JAX's `jit(f).trace(...)`, `.lower(...)`, `.compile()`:
the stages' structure, a compiled function's argument checks, and cost_analysis."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax


def test_compiled_runs_as_the_jitted_function(backend):
    def f(w, x):
        return fnp.tanh(x @ w).sum(axis=0), x.mean()
    w = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    x = np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3)
    compiled = fg.jit(f).lower(w, x).compile()
    got, want = compiled(w, x), fg.jit(f)(w, x)
    for g, e in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-6)
    assert compiled.out_tree == fg.tree_util.tree_structure((0, 0))


def test_static_arguments_are_left_out_of_the_call():
    f = fg.jit(lambda a, n: a * n, static_argnums=1)
    c = f.lower(fnp.ones(3), 2).compile()
    np.testing.assert_array_equal(np.asarray(c(fnp.ones(3))), [2.0, 2.0, 2.0])
    with pytest.raises(TypeError, match="pytree .* does not match"):
        c(fnp.ones(3), 2)
    g = fg.jit(lambda a, *, k: a + k, static_argnames="k")
    cg = g.lower(fnp.ones(2), k=5).compile()
    np.testing.assert_array_equal(np.asarray(cg(fnp.ones(2))), [6.0, 6.0])


def test_compiled_rejects_other_signatures():
    c = fg.jit(lambda a, b=1.0: a * b).lower(fnp.ones(3), b=3.0).compile()
    np.testing.assert_array_equal(np.asarray(c(fnp.ones(3), b=4.0)), [4.0] * 3)
    np.testing.assert_array_equal(np.asarray(c(np.ones(3, np.float32), b=2.0)), [2.0] * 3)
    with pytest.raises(TypeError, match="compiled with f32\\[3\\] and called with f32\\[4\\]"):
        c(fnp.ones(4), b=1.0)
    with pytest.raises(TypeError, match="called with i32\\[3\\]"):
        c(fnp.ones(3, fnp.int32), b=1.0)
    with pytest.raises(TypeError, match="pytree"):
        c([fnp.ones(3)], b=1.0)
    with pytest.raises(TypeError, match="pytree"):
        c(fnp.ones(3))


def test_compile_compiles_before_the_first_call(monkeypatch):
    from funcgrad.backends import c as cb
    built = []

    class Counting(cb.Executable):
        def __init__(self, *a, **k):
            built.append(1)
            super().__init__(*a, **k)
    monkeypatch.setattr(cb, "Executable", Counting)
    f = fg.jit(lambda a: fnp.sin(a) * 3.0 + 0.25, backend="c")
    x = np.linspace(0, 1, 7, dtype=np.float32)      # a size no other test compiles
    compiled = f.lower(x).compile()
    assert built == [1]
    np.testing.assert_allclose(np.asarray(compiled(x)), np.sin(x) * 3 + 0.25, rtol=1e-6)
    assert built == [1]


def test_stage_structure_as_jax():
    f = fg.jit(lambda a, b: {"s": a + b, "p": (a * b,)}, donate_argnums=0)
    traced = f.trace(fnp.ones(2), fnp.ones(2))
    assert isinstance(traced, fg.stages.Traced)
    assert "add" in str(traced.jaxpr)
    lowered = traced.lower()
    assert lowered.donate_argnums == (0,)
    (a0, a1), kw = lowered.args_info
    assert kw == {} and a0.donated and not a1.donated and a0.shape == (2,)
    assert lowered.in_tree == fg.tree_util.tree_structure(((0, 0), {}))
    out = lowered.out_info
    assert out["s"].shape == (2,) and out["p"][0].dtype == np.float32
    x = fnp.ones(2) + 0
    res = lowered.compile()(x, fnp.ones(2))
    assert x.is_deleted() is True                   # donated, as the jitted call would
    np.testing.assert_array_equal(np.asarray(res["s"]), [2.0, 2.0])


def test_cost_analysis_counts_products_transcendentals_and_loops():
    m, k, n = 64, 32, 16
    mm = fg.jit(lambda a, b: a @ b).lower(fnp.ones((m, k)), fnp.ones((k, n)))
    cost = mm.cost_analysis()
    assert cost["flops"] == 2 * m * n * k
    assert cost["bytes accessed"] == 4 * (m * k + k * n + m * n)
    ew = fg.jit(lambda a: fnp.tanh(a) + fnp.exp(a)).lower(fnp.ones(100)).cost_analysis()
    assert ew["transcendentals"] == 200 and ew["flops"] == 100     # (XLA's figures)
    assert ew["bytes accessed"] == 2800

    def rnn(w, xs):
        return lax.scan(lambda h, x: (fnp.tanh(h @ w + x), None), fnp.zeros(8), xs)[0]
    sc = fg.jit(rnn).lower(fnp.ones((8, 8)), fnp.ones((10, 8))).cost_analysis()
    assert sc["flops"] >= 10 * 2 * 8 * 8 and sc["transcendentals"] == 10 * 8

    conv = fg.jit(lambda x, w: lax.conv_general_dilated(
        x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")))
    cc = conv.lower(fnp.ones((2, 6, 6, 3)), fnp.ones((3, 3, 3, 5))).cost_analysis()
    # SAME padding: along each axis of 6, the 3 taps land on the input 2+3+3+3+3+2 times
    assert cc["flops"] == 2 * 2 * 5 * 3 * 16 * 16 == 15360          # (XLA's figure)
    strided = fg.jit(lambda x, w: lax.conv_general_dilated(
        x, w, (2,), [(0, 0)], rhs_dilation=(2,), dimension_numbers=("NWC", "WIO", "NWC")))
    sc = strided.lower(fnp.ones((1, 9, 2)), fnp.ones((3, 2, 4))).cost_analysis()
    assert sc["flops"] == 2 * 1 * 4 * 2 * (3 * 3)     # outputs 0, 2, 4 of taps 0, 2, 4


def test_compiled_text_and_memory():
    c = fg.jit(lambda a: a * 2, backend="c").lower(fnp.ones(4)).compile()
    assert "void" in c.as_text()
    mem = c.memory_analysis()
    assert mem.argument_size_in_bytes == 16 and mem.output_size_in_bytes == 16
    with pytest.raises(NotImplementedError, match="compiler_options"):
        fg.jit(lambda a: a).lower(fnp.ones(2)).compile({"xla_flag": 1})
