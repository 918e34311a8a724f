"""Pictures of the computation: a program as a Graphviz graph.

`to_dot(x)` takes what `make_ir(f)(*args)` returns (a `ClosedProgram`), what
`jit(f).lower(*args)` returns (a `Lowered`: its optimised program, with the loop nests the
C backend fuses outlined as clusters), a `Program` or an `ExportProgram`, and returns DOT
text: one node per equation (its primitive and short parameters, literal operands inline),
inputs, captured constants and outputs as rounded nodes, and one edge per value labelled
with its shape and dtype. Loop bodies and branches are drawn inside their equation's
cluster. `render(x, "f.svg")` runs Graphviz's `dot` (svg, png, pdf, ...), and `to_svg(x)`
gives SVG text for notebooks (None when `dot` is not installed).
"""
from __future__ import annotations

import itertools
import os
import shutil
import subprocess

from ..ir import ClosedProgram, Lit, Program, Var, sub_programs

_MAX_PARAM = 40
_COLORS = {"input": "#dbeafe", "const": "#e5e7eb", "output": "#dcfce7", "gemm": "#fde68a",
           "conv": "#fde68a", "host": "#fecaca", "eqn": "#ffffff", "loop": "#ede9fe"}


def _quote(s: str) -> str:
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _param_text(k, v) -> str | None:
    if v is None:
        return None
    if isinstance(v, (Program, ClosedProgram)) or callable(v) and not isinstance(v, type):
        return None
    if isinstance(v, (tuple, list)) and v and all(isinstance(p, (Program, ClosedProgram))
                                                  for p in v):
        return None
    s = f"{k}={v}"
    if len(s) > _MAX_PARAM:
        s = s[:_MAX_PARAM - 3] + "..."
    return s


class _Dot:
    def __init__(self, title):
        self.lines = ["digraph funcgrad {", "  rankdir=TB;",
                      '  graph [fontname="Helvetica", fontsize=11, labelloc=t];',
                      ('  node [fontname="Helvetica", fontsize=10, shape=box, style=filled, '
                       'fillcolor="#ffffff"];'),
                      '  edge [fontname="Helvetica", fontsize=8, color="#555555"];']
        if title:
            self.lines.append(f"  label={_quote(title)};")
        self.edges: list[str] = []      # written after every node and cluster
        self.ids = itertools.count()
        self.clusters = itertools.count()

    def new_id(self, prefix="n") -> str:
        return f"{prefix}{next(self.ids)}"

    def node(self, out, nid, label, kind, shape=None, indent="  "):
        extra = ""
        if shape:
            extra = f", shape={shape}"
        if kind in ("input", "const", "output"):
            extra += ', style="rounded,filled"'
        out.append(f"{indent}{nid} [label={_quote(label)}, fillcolor={_quote(_COLORS[kind])}"
                   f"{extra}];")

    def edge(self, src, dst, label, style=None):
        st = f", style={style}" if style else ""
        self.edges.append(f"  {src} -> {dst} [label={_quote(label)}{st}];")


def _program_of(x):
    """(program, number of leading invars that are constants, kernel plan or None,
    title) for anything `to_dot` accepts."""
    from ..api import Lowered
    from .program import ExportProgram
    if isinstance(x, ExportProgram):
        return x.program, x.n_consts, None, x.name, [p.path for p in x.inputs]
    if isinstance(x, Lowered):
        prog = x.optimized_program()
        plan = _kernel_plan(x, prog)
        return prog, len(x.consts), plan, f"jit({x.name}).lower(...)", None
    if isinstance(x, ClosedProgram):
        p = x.program
        prog = Program([], list(p.constvars) + list(p.invars), p.eqns, p.outvars)
        return prog, len(p.constvars), None, None, None
    if isinstance(x, Program):
        prog = Program([], list(x.constvars) + list(x.invars), x.eqns, x.outvars)
        return prog, len(x.constvars), None, None, None
    raise TypeError(f"to_dot: expected what make_ir(f)(...) or jit(f).lower(...) returns, "
                    f"got {type(x).__name__}")


def _kernel_plan(lowered, prog):
    """{eqn id: (kernel number, kind)} of the C backend's fusion plan, when the lowered
    function runs on a backend that fuses (c, opencl)."""
    try:
        name = lowered._backend().name
    except (ValueError, ImportError, RuntimeError):     # no such backend here
        return None
    if name not in ("c", "opencl"):
        return None
    from ..backends.c import _c_lowerable
    from ..lowering import fusion
    plan = fusion.plan(prog, _c_lowerable)
    out = {}
    for k, step in enumerate(plan.steps):
        if isinstance(step, fusion.Kernel):
            members = [step.eqn] + list(step.inlined.values())
            for e in members:
                first = out.setdefault(id(e), (k, step.kind, [0]))
                first[2][0] += 1       # an inlined value recomputed by several loop nests
        elif isinstance(step, fusion.Gemm):
            out.setdefault(id(step.eqn), (k, "gemm", [1]))
        elif isinstance(step, fusion.Conv):
            out.setdefault(id(step.eqn), (k, "conv", [1]))
        elif isinstance(step, fusion.Host):
            out.setdefault(id(step.eqn), (k, "host", [1]))
    return out


def to_dot(x, *, title=None) -> str:
    """The computation of `x` (a `make_ir` result, a `jit(f).lower(...)` result, a
    `Program` or an `ExportProgram`) as Graphviz DOT text."""
    prog, nconst, plan, default_title, in_paths = _program_of(x)
    dot = _Dot(title if title is not None else default_title)
    sources: dict[int, str] = {}
    for k, v in enumerate(prog.invars):
        nid = dot.new_id("in")
        if k < nconst:
            dot.node(dot.lines, nid, f"const {k}\n{v.aval.short()}", "const")
        else:
            j = k - nconst
            name = in_paths[j] if in_paths and j < len(in_paths) else f"in{j}"
            dot.node(dot.lines, nid, f"{name}\n{v.aval.short()}", "input", shape="box")
        sources[v.id] = nid
    _emit_eqns(dot, prog, sources, plan)
    for k, v in enumerate(prog.outvars):
        nid = dot.new_id("out")
        dot.node(dot.lines, nid, f"out{k}\n{v.aval.short()}", "output")
        if isinstance(v, Var) and v.id in sources:
            dot.edge(sources[v.id], nid, v.aval.short())
    if plan is not None:
        dot.lines.append('  legend [shape=plaintext, style="", label="dashed boxes: loop nests '
                         'the C backend fuses; yellow: GEMM / convolution; red: host step"];')
    dot.lines.extend(dot.edges)
    dot.lines.append("}")
    return "\n".join(dot.lines) + "\n"


def _eqn_label(eqn) -> str:
    parts = [eqn.prim.name]
    lits = [f"{a.val.item()!r}" for a in eqn.inputs if isinstance(a, Lit)]
    if lits:
        parts[0] += " (" + ", ".join(lits) + ")"
    for k, v in eqn.params.items():
        t = _param_text(k, v)
        if t:
            parts.append(t)
    return "\n".join(parts)


def _emit_eqns(dot, prog, sources, plan, indent="  "):
    clusters: dict[int, list] = {}
    kinds: dict[int, str] = {}
    for eqn in prog.eqns:
        nid = dot.new_id("e")
        info = plan.get(id(eqn)) if plan else None
        kind = "eqn"
        if info is not None and info[1] in ("gemm", "conv", "host"):
            kind = info[1]
        subs = sub_programs(eqn)
        target = dot.lines
        if info is not None and info[1] not in ("gemm", "conv", "host"):
            target = clusters.setdefault(info[0], [])
            kinds[info[0]] = info[1]
        if subs:
            cid = next(dot.clusters)
            target.append(f"{indent}subgraph cluster_loop{cid} {{")
            target.append(f"{indent}  label={_quote(eqn.prim.name)}; style=filled; "
                          f"fillcolor={_quote(_COLORS['loop'])}; color=\"#7c3aed\";")
            dot.node(target, nid, _eqn_label(eqn), "loop", indent=indent + "  ")
            for name, sub in subs:
                _emit_sub(dot, target, name, sub, indent + "  ")
            target.append(f"{indent}}}")
        else:
            label = _eqn_label(eqn)
            if info is not None and info[2][0] > 1:
                label += f"\n(recomputed in {info[2][0]} loop nests)"
            dot.node(target, nid, label, kind, indent=indent)
        for a in eqn.inputs:
            if isinstance(a, Var) and a.id in sources:
                dot.edge(sources[a.id], nid, a.aval.short())
        for v in eqn.outputs:
            sources[v.id] = nid
    for k, body in clusters.items():
        dot.lines.append(f"{indent}subgraph cluster_k{k} {{")
        dot.lines.append(f"{indent}  label={_quote(f'fused loop nest ({kinds[k]})')}; "
                         'style=dashed; color="#2563eb"; fontcolor="#2563eb";')
        dot.lines.extend(body)
        dot.lines.append(f"{indent}}}")


def _emit_sub(dot, target, name, sub, indent):
    """A loop body or branch, drawn inside its equation's cluster."""
    cid = next(dot.clusters)
    sources: dict[int, str] = {}
    target.append(f"{indent}subgraph cluster_sub{cid} {{")
    target.append(f"{indent}  label={_quote(name)}; style=dashed; color=\"#7c3aed\";")
    saved = dot.lines, dot.edges
    dot.lines, dot.edges = target, []
    for k, v in enumerate(list(sub.constvars) + list(sub.invars)):
        nid = dot.new_id("b")
        dot.node(target, nid, f"arg {k}\n{v.aval.short()}", "input", indent=indent + "  ")
        sources[v.id] = nid
    _emit_eqns(dot, Program([], list(sub.constvars) + list(sub.invars), sub.eqns,
                            sub.outvars), sources, None, indent + "  ")
    for k, v in enumerate(sub.outvars):
        nid = dot.new_id("r")
        dot.node(target, nid, f"result {k}\n{v.aval.short()}", "output",
                 indent=indent + "  ")
        if isinstance(v, Var) and v.id in sources:
            dot.edge(sources[v.id], nid, v.aval.short())
    target.extend(dot.edges)
    dot.lines, dot.edges = saved
    target.append(f"{indent}}}")


def dot_available() -> bool:
    """Whether Graphviz's `dot` program is on the PATH."""
    return shutil.which("dot") is not None


def render(x, path, *, title=None) -> str:
    """Draw `x` (see `to_dot`) into `path` with Graphviz; the format is the extension
    (svg, png, pdf, ...). Returns the path."""
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "svg"
    data = _run_dot(to_dot(x, title=title), fmt)
    with open(path, "wb") as fh:
        fh.write(data)
    return path


def to_svg(x, *, title=None) -> str | None:
    """SVG text of `x`'s graph, or None when Graphviz is not installed (what a notebook's
    `_repr_svg_` returns)."""
    if not dot_available():
        return None
    return _run_dot(to_dot(x, title=title), "svg").decode("utf-8")


def _run_dot(text: str, fmt: str) -> bytes:
    exe = shutil.which("dot")
    if exe is None:
        raise RuntimeError("drawing the graph needs Graphviz's `dot` program, which is not on "
                           "the PATH: install it (apt-get install graphviz, brew install "
                           "graphviz, conda install graphviz), or use to_dot() for the text")
    proc = subprocess.run([exe, f"-T{fmt}"], input=text.encode("utf-8"), capture_output=True,
                          timeout=120, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"Graphviz dot -T{fmt} failed: "
                           f"{proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout
