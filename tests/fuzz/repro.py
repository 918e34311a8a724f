"""Standalone Python reproducers of fuzz failures.

A reproducer is the failing entry's own source (the code that ran), its arguments as exact
NumPy literals, the call on the failing backend and mode, and an assertion that holds once
funcgrad is right: expected values come from the NumPy float64 oracle (rounded as the dtype
says), with the tolerance the fuzzer used at the reported element.
"""
from __future__ import annotations

import numpy as np

from .batch import HEADER, Failure
from .check import Case, DirExpect, Entry, ValueExpect, entry_source
from .program import np_literal

_CHECK = '''
def _leaf(tree, path):
    for i in path:
        tree = tree[i]
    return np.asarray(tree)
'''


def _tree_literal(tree) -> str:
    if isinstance(tree, np.ndarray):
        return f"fnp.asarray({np_literal(tree)})"
    if isinstance(tree, tuple):
        inner = ", ".join(_tree_literal(x) for x in tree)
        return f"({inner},)" if len(tree) == 1 else f"({inner})"
    if isinstance(tree, dict):
        return "{" + ", ".join(f"{k!r}: {_tree_literal(v)}" for k, v in tree.items()) + "}"
    return repr(tree)


def _path_of(mpath: str) -> list[int]:
    out = []
    for part in mpath.replace("out", "", 1).split("]"):
        part = part.strip("[")
        if part.isdigit():
            out.append(int(part))
    return out


def _expect_at(expect, path):
    e = expect
    for i in path:
        if isinstance(e, tuple):
            e = e[i]
    return e


def repro_source(entry: Entry, case: Case, fail: Failure) -> str:
    """A standalone script that fails (raises) while the disagreement exists."""
    lines = list(HEADER)
    lines.append("")
    if entry.prog.x64:
        lines.append("# float64 program: run with JAX's x64 mode once funcgrad has it")
        lines.append("try:")
        lines.append("    fg.config.update('jax_enable_x64', True)")
        lines.append("except (KeyError, ValueError):")
        lines.append("    pass")
    lines.append(f"fg.config.update('backend', {fail.backend!r})")
    lines.append("")
    lines.extend(entry_source(entry, 0))
    lines.append("")
    lines.append(f"args = {_tree_literal(case.args)}")
    lines.append(f"aux = {_tree_literal(case.aux)}")
    call = "t_0(args, aux)" if fail.mode == "eager" else "fg.jit(t_0)(args, aux)"
    if fail.kind == "crash":
        lines.append(f"out = {call}  # raises: {fail.detail.splitlines()[0][:200]}")
        return "\n".join(lines) + "\n"
    lines.append(f"out = {call}")
    if fail.kind == "donation":
        lines.append(f"donated = args[{entry.stack.inner[-1][1]}]")
        lines.append("try:")
        lines.append("    np.asarray(donated)")
        lines.append("except Exception:")
        lines.append("    pass")
        lines.append("else:")
        lines.append("    raise AssertionError('a donated argument is still readable')")
        return "\n".join(lines) + "\n"
    m = fail.mismatches[0] if fail.mismatches else None
    if m is None:
        return "\n".join(lines) + "\n"
    path = _path_of(m.path.split("[batch")[0])
    e = _expect_at(case.expect, path)
    lines.append(_CHECK)
    if isinstance(e, ValueExpect):
        lines.append(f"got = _leaf(out, {path!r})")
        if m.kind == "dtype":
            lines.append(f"assert got.dtype == np.dtype({e.dtype!r}), got.dtype  # JAX's dtype")
            return "\n".join(lines) + "\n"
        if m.kind == "shape":
            lines.append(f"assert got.shape == {e.value.shape!r}, got.shape")
            return "\n".join(lines) + "\n"
        lines.append(f"expected = {np_literal(np.asarray(e.value))}  # NumPy float64 oracle")
        lines.append(f"checked = {np_literal(np.asarray(e.stable))}  # stable elements")
        lines.append(f"tol = {np_literal(np.asarray(e.tol, np.float64))}")
        lines.append("g, x = got.astype(np.float64), expected.astype(np.float64)")
        lines.append("same_class = (np.isnan(g) == np.isnan(x)) & (np.isposinf(g) == "
                     "np.isposinf(x)) & (np.isneginf(g) == np.isneginf(x))")
        lines.append("close = np.where(np.isfinite(x) & np.isfinite(g), "
                     "np.abs(g - x) <= tol, True)")
        lines.append("bad = checked & ~(same_class & close)")
        lines.append("print('got', got[bad][:8], 'expected', expected[bad][:8])")
        lines.append("assert not bad.any(), np.argwhere(bad)[:5]")
    elif isinstance(e, DirExpect):
        lines.append("# <gradient, v> against float64 central differences of the oracle")
        for bi, (dirs, dc) in enumerate(zip(e.dirs, e.dcs)):
            if dc is None:
                continue
            lines.append(f"v = {_tree_literal(tuple(np.asarray(d) for d in dirs))}")
            lines.append("grads = out")
            for i in path:
                lines.append(f"grads = grads[{i}]")
            lines.append("grads = grads if isinstance(grads, (tuple, list)) else (grads,)")
            if e.batch_axis is not None:
                lines.append(f"axes = {tuple(a if a is not None else 0 for a in e.batch_axis)!r}")
                lines.append(f"grads = [np.take(np.asarray(g), {bi}, axis=a) "
                             "for g, a in zip(grads, axes)]")
            lines.append("dot = sum(float(np.sum(np.asarray(g, np.float64) * "
                         "np.asarray(d, np.float64))) for g, d in zip(grads, v))")
            lines.append(f"print('<g, v> =', dot, 'central difference =', {dc!r})")
            lines.append(f"assert abs(dot - {dc!r}) <= {_dir_tol(e, bi, m)!r}")
            break
    return "\n".join(lines) + "\n"


def _dir_tol(e: DirExpect, bi: int, m) -> float:
    txt = m.detail
    if "tolerance" in txt:
        try:
            return float(txt.split("tolerance ")[1].split(")")[0])
        except (IndexError, ValueError):
            pass
    return 1e-3 * (abs(e.dcs[bi]) + e.scale[bi])


__all__ = ["repro_source"]
