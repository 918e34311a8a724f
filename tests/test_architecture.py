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


# --- one-way layers ------------------------------------------------------------------------
# Each module imports only modules of its own layer or below, at module level or inside a
# function. A lower layer learns about a higher one by registration (the backends register
# with core; primitives register their rules in core's tables), never by importing it.
LAYERS = [
    r"funcgrad\.(dtypes|config|lru|tree_util|tree|traceback_util|_version)$",  # leaves
    r"funcgrad\.core$",                                  # arrays, traces, primitives
    r"funcgrad\.(ir|ad|batching)$",                     # the IR and the transformations
    r"funcgrad\.prims(\..*)?$",                          # primitives and their rules
    r"funcgrad\.(lowering(\..*)?|_eager_build|cache(\..*)?)$",   # IR -> kernels, their cache
    r"funcgrad\.backends(\..*)?$",                       # running programs
    r"funcgrad\.(api|devices|sharding|stages|cost_analysis|_recurring|distributed(\..*)?)$",
    #                                                    (the transforms users call)
    # user-facing libraries
    r"funcgrad\.(numpy|lax|nn|random|scipy|stax|optimizers|io|datasets|debug|experimental|"
    r"testing|_lax_linalg|_lax_scatter|_lax_bitcast|_igamma|_ibeta|export|mixed_precision|image|"
    r"ad_checkpoint|typing|errors|flatten_util|"
    r"ops)(\..*)?$",
    r"funcgrad$",                                        # the package
]
# Deferred imports that go up a layer, each for a reason (not to break a cycle by accident).
UPWARD_ALLOWED = {
    # Transformation rules make zeros, sums and moved axes with primitives, and the
    # primitives are defined on top of the transformations (they register rules with them).
    ("funcgrad.ad", "funcgrad.prims.elementwise"), ("funcgrad.ad", "funcgrad.prims.reductions"),
    ("funcgrad.ad", "funcgrad.prims.structural"),
    ("funcgrad.batching", "funcgrad.prims.structural"),
    # Graphviz pictures of programs: an optional feature, loaded when first used.
    ("funcgrad.api", "funcgrad.export.graph"), ("funcgrad.ir", "funcgrad.export.graph"),
    # pure_callback(vmap_method="sequential") rolls the calls into lax.scan.
    ("funcgrad.prims.callbacks", "funcgrad.lax"),
}


def _modules():
    mods = {}
    for p in ROOT.rglob("*.py"):
        parts = list(p.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


def _layer(mod):
    for i, pat in enumerate(LAYERS):
        if re.match(pat, mod):
            return i
    return None


def _imports(mods):
    """(module, imported funcgrad module, at module level?) for every import statement."""
    import ast
    out = []

    def visit(node, mod, pkg, top):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            top = False
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            if isinstance(node, ast.ImportFrom):
                base = pkg[:len(pkg) - (node.level - 1)] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                names = [target + "." + a.name if target + "." + a.name in mods else target
                         for a in node.names]
            else:
                names = [a.name for a in node.names]
            out.extend((mod, t, top) for t in names if t in mods and t != mod)
        for child in ast.iter_child_nodes(node):
            visit(child, mod, pkg, top)

    for mod, path in mods.items():
        pkg = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        visit(ast.parse(path.read_text()), mod, pkg, True)
    return out


def test_every_module_has_a_layer():
    assert [m for m in _modules() if _layer(m) is None] == []


def test_imports_go_down_the_layers():
    imports = _imports(_modules())
    up = sorted({(m, t) for m, t, top in imports if _layer(t) > _layer(m)})
    assert [e for e in up if e not in UPWARD_ALLOWED] == [], "imports up a layer"
    # Module-level imports never go up, allowed or not.
    assert [(m, t) for m, t, top in imports if top and _layer(t) > _layer(m)] == []
    # The allowance list has no stale entries.
    assert set(up) == UPWARD_ALLOWED
