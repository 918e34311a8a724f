"""funcgrad.export.graph: programs as Graphviz graphs (make_ir results, jit(f).lower(...)
with the fused loop nests outlined, loop bodies), rendering with `dot` when installed."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax, random, stax
from funcgrad.export import graph, trace
from funcgrad.export.graph import render, to_dot, to_svg

needs_dot = pytest.mark.skipif(not graph.dot_available(), reason="Graphviz dot not installed")


def _mlp():
    init_fun, apply_fun = stax.serial(stax.Dense(8), stax.Relu, stax.Dense(3), stax.LogSoftmax)
    _, params = init_fun(random.PRNGKey(0), (-1, 5))
    return lambda x: apply_fun(params, x)


def _balanced(text):
    depth = 0
    for ch in re.sub(r'"(\\.|[^"\\])*"', "", text):
        depth += (ch == "{") - (ch == "}")
        assert depth >= 0
    return depth == 0


def test_make_ir_graph_has_every_equation_and_typed_edges():
    x = np.ones((4, 5), np.float32)
    closed = fg.make_ir(_mlp())(x)
    text = to_dot(closed)
    assert text.startswith("digraph funcgrad {") and _balanced(text)
    for eqn in closed.program.eqns:
        assert eqn.prim.name in text
    assert 'label="f32[4,8]"' in text and 'label="bool[4,8]"' in text
    assert text.count("const ") == len(closed.program.constvars)
    assert "cluster_k" not in text              # no fusion before lowering


def test_lowered_graph_outlines_fused_loop_nests():
    x = np.ones((4, 5), np.float32)
    lowered = fg.jit(_mlp(), backend="c").lower(x)
    text = to_dot(lowered)
    assert _balanced(text)
    assert "cluster_k" in text and "fused loop nest (map)" in text
    assert "fused loop nest (reduce)" in text
    gemms = re.findall(r'label="dot_general[^"]*", fillcolor="#fde68a"', text)
    assert len(gemms) == 2
    assert "jit(<lambda>).lower(...)" in text
    ref = to_dot(fg.jit(_mlp(), backend="reference").lower(x))
    assert "cluster_k" not in ref and "dot_general" in ref


def test_loop_bodies_are_drawn_inside_their_equation():
    def f(x):
        return lax.scan(lambda c, xt: (c * 0.5 + xt, c.sum()), x[0], x)[0]
    text = to_dot(fg.make_ir(f)(np.ones((6, 3), np.float32)))
    assert "cluster_loop" in text and "cluster_sub" in text
    assert 'label="program"' in text and "arg 0" in text and "result 1" in text
    assert _balanced(text)


def test_export_program_and_errors():
    ep = trace(lambda x, y: x * y + 1.0, (np.ones(3, np.float32), np.ones(3, np.float32)),
               dynamic_batch=False)
    text = to_dot(ep)
    assert 'label="x\\nf32[3]"' in text and 'label="y\\nf32[3]"' in text
    with pytest.raises(TypeError, match="make_ir"):
        to_dot("not a program")


@needs_dot
def test_render_svg_png_and_notebook_svg(tmp_path):
    x = np.ones((4, 5), np.float32)
    lowered = fg.jit(_mlp()).lower(x)
    svg = render(lowered, tmp_path / "mlp.svg")
    assert Path(svg).read_text().lstrip().startswith(("<?xml", "<svg"))
    png = render(fg.make_ir(_mlp())(x), tmp_path / "mlp.png")
    assert Path(png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    s = to_svg(lowered)
    assert "<svg" in s and "dot_general" in s


def test_without_graphviz(monkeypatch, tmp_path):
    monkeypatch.setattr(graph.shutil, "which", lambda name: None)
    closed = fg.make_ir(lambda x: fnp.sin(x))(np.ones(2, np.float32))
    assert to_svg(closed) is None
    with pytest.raises(RuntimeError, match="Graphviz"):
        render(closed, tmp_path / "x.svg")
    assert "sin" in to_dot(closed)
