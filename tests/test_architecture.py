"""The structure below the frontend: one Backend protocol that the frontend calls without
probing (issue 10)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

import funcgrad as fg
from funcgrad.backends import Backend, get_backend

ROOT = Path(__file__).resolve().parents[1] / "funcgrad"


def test_every_backend_implements_the_protocol():
    for name in ("reference", "c", "opencl"):
        b = get_backend(name)
        assert isinstance(b, Backend), name
        assert b.name == name
        for method in ("execute_program", "execute_primitive"):
            assert getattr(type(b), method) is not getattr(Backend, method), (name, method)


def test_the_frontend_never_probes_a_backend():
    """No `hasattr(backend, ...)`: what a backend may be asked is the Backend protocol."""
    probe = re.compile(r"hasattr\(\s*(b|be|backend|self\._backend|self\.inner)\s*,")
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in ROOT.rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if probe.search(line)]
    assert hits == []


def test_protocol_defaults_for_a_host_interpreter():
    """The reference backend uses the defaults: one host device, no source, no fast path."""
    ref = get_backend("reference")
    assert fg.devices("reference")[0].platform == "reference"
    assert ref.fast_runner(None, []) is None and ref.render_source(None) is None
    lowered = fg.jit(lambda x: x * 2, backend="reference").lower(np.ones(3, np.float32))
    assert "no source is generated" in lowered.source
    assert np.asarray(fg.jit(lambda x: x * 2, backend="reference")(np.ones(3))).sum() == 6
