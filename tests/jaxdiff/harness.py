"""Calling one case on JAX and on funcgrad and comparing the results.

A case is a function `f(M, *args)` written once against a namespace `M` (`M.np`, `M.lax`,
`M.nn`, `M.sp`, `M.jit`) that is either JAX's or funcgrad's. It runs three times: on JAX
eagerly, on funcgrad eagerly, and (unless the case says otherwise) on funcgrad under
`jit` with the NumPy arguments (arrays and scalars) traced. JAX eager is compared with
funcgrad eager ("jax" differences), funcgrad eager with funcgrad jit ("jit" differences).
JAX runs eagerly only: where funcgrad's jit raises as JAX's would, the registry says so.

Each output is checked for each kind of difference (one Diff per kind and output):

- `raise-diff`: one side raised, the other returned;
- `n-outputs`, `dtype`, `shape` (the values are not compared then), `weak_type`;
- `nan-mismatch`, `signed-zero`, `inf-mismatch`, `maxrel`: floating values (NaNs in
  different places, zeros of different signs, infinities against finite values or of
  the other sign, a relative difference over the dtype's tolerance);
- `values`: integer or bool values differ (no tolerance).

Value differences keep the elements that differ (`Diff.a`, `Diff.b`: the first side's and
the second side's values, as float64 or complex128), so the registry of known differences
(known.py) can say which values it expects to differ.
"""
from __future__ import annotations

import contextlib
import dataclasses
import types
import warnings

import numpy as np

import funcgrad as fg
import funcgrad.lax
import funcgrad.nn
import funcgrad.numpy as fnp
import funcgrad.scipy.special

# Relative tolerances per dtype: a few ulps of float32, JAX's and funcgrad's
# transcendentals being different (equally good) approximations.
RTOL = {"float16": 2e-3, "bfloat16": 1e-2, "float32": 2e-6, "complex64": 2e-6,
        "float64": 1e-13, "complex128": 1e-13}


def namespaces():
    """(JAX's namespace, funcgrad's namespace). Imports JAX."""
    import jax
    import jax.nn
    import jax.numpy as jnp
    import jax.scipy.special
    J = types.SimpleNamespace(np=jnp, lax=jax.lax, nn=jax.nn, sp=jax.scipy.special,
                              jit=jax.jit, name="jax")
    F = types.SimpleNamespace(np=fnp, lax=funcgrad.lax, nn=funcgrad.nn,
                              sp=funcgrad.scipy.special, jit=fg.jit, name="funcgrad")
    return J, F


@contextlib.contextmanager
def x64_scope(on: bool):
    """64-bit types on (or off) in both libraries for the block, restored afterwards."""
    import jax
    prev = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", bool(on))
    try:
        with fg.config.enable_x64(bool(on)):
            yield
    finally:
        jax.config.update("jax_enable_x64", prev)


@dataclasses.dataclass(frozen=True)
class Case:
    section: str
    name: str
    f: object
    args: tuple
    jit: bool = True


@dataclasses.dataclass
class Out:
    """One output leaf: its value as a NumPy array and its weak_type flag (None where the
    result is not an array, "py" for a Python scalar)."""
    value: object
    weak: object


@dataclasses.dataclass
class Run:
    ok: bool
    outs: list | None = None      # list[Out] when ok
    error: str = ""               # "TypeName: first line" when not ok


@dataclasses.dataclass
class Diff:
    case: str
    section: str
    against: str                  # "jax": JAX vs funcgrad; "jit": funcgrad eager vs jit
    kind: str
    output: int | None            # the output leaf, for cases with several
    detail: str
    a: np.ndarray | None = None   # differing elements, first side (JAX, or eager)
    b: np.ndarray | None = None   # the same elements, second side (funcgrad, or jit)
    runs: tuple = ()              # the two Runs compared
    dtype: str = ""               # the output's dtype (the first side's)
    idx: np.ndarray | None = None  # flat positions of the differing elements in the output
    args: tuple = ()              # the case's arguments

    def describe(self) -> str:
        out = f"[{self.output}] " if self.output is not None else ""
        return f"{self.case}  ({self.against}: {out}{self.kind}: {self.detail})"


def _leaves(x):
    if isinstance(x, dict):
        return [leaf for k in sorted(x) for leaf in _leaves(x[k])]
    if isinstance(x, (tuple, list)):      # namedtuples too
        return [leaf for e in x for leaf in _leaves(e)]
    return [x]


def _to_out(x) -> Out:
    if isinstance(x, (bool, int, float, complex)):
        return Out(np.asarray(x), "py")
    if isinstance(x, str):
        return Out(np.asarray(x), None)
    return Out(np.asarray(x), getattr(x, "weak_type", None))


def call(M, case: Case, jit: bool = False) -> Run:
    """Run `case` on namespace M, eagerly (NumPy arguments converted with M.np.asarray)
    or under M.jit (the NumPy arrays and scalars traced, the other arguments closed over)."""
    args = case.args
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if jit:
                idx = [i for i, a in enumerate(args) if isinstance(a, (np.ndarray, np.generic))]

                def traced(*arrays):
                    full = list(args)
                    for i, v in zip(idx, arrays):
                        full[i] = v
                    return case.f(M, *full)
                out = M.jit(traced)(*[args[i] for i in idx])
            else:
                full = [M.np.asarray(a) if isinstance(a, (np.ndarray, np.generic)) else a
                        for a in args]
                out = case.f(M, *full)
            return Run(True, [_to_out(leaf) for leaf in _leaves(out)])
    except Exception as e:  # any exception is a result to compare
        return Run(False, error=type(e).__name__ + ": " + str(e).split("\n")[0][:150])


def _is_float(dt) -> bool:
    return dt.kind == "f" or dt.name == "bfloat16"


def _compare_leaf(x: Out, y: Out) -> list[tuple]:
    """(kind, detail, a, b, idx) of every kind of difference between two leaves: a dtype or
    shape difference alone, otherwise the weak type and each kind of value difference,
    each with the elements it concerns."""
    av, bv = x.value, y.value
    if av.dtype != bv.dtype:
        return [("dtype", f"{av.dtype} vs {bv.dtype}", None, None, None)]
    if av.shape != bv.shape:
        return [("shape", f"{av.shape} vs {bv.shape}", None, None, None)]
    out = []
    if x.weak not in (None, "py") and y.weak not in (None, "py") and x.weak != y.weak:
        out.append(("weak_type", f"{x.weak} vs {y.weak}", None, None, None))
    if not (_is_float(av.dtype) or av.dtype.kind == "c"):
        if av.dtype.kind in "US":
            if not np.array_equal(av, bv):
                out.append(("values", "strings differ", None, None, None))
            return out
        ne = (av != bv).ravel()
        if ne.any():
            out.append(("values", f"{int(ne.sum())} of {av.size} differ",
                        av.ravel()[ne].astype(np.float64), bv.ravel()[ne].astype(np.float64),
                        np.flatnonzero(ne)))
        return out
    wide = np.complex128 if av.dtype.kind == "c" else np.float64
    a, b = av.astype(wide).ravel(), bv.astype(wide).ravel()
    na, nb = np.isnan(a), np.isnan(b)
    m = na != nb
    if m.any():
        out.append(("nan-mismatch", f"{int(m.sum())} of {a.size}", a[m], b[m], np.flatnonzero(m)))
    pos = np.flatnonzero(~na & ~nb)
    a, b = a[pos], b[pos]
    if av.dtype.kind != "c":
        z = (a == 0) & (b == 0) & (np.signbit(a) != np.signbit(b))
        if z.any():
            out.append(("signed-zero", f"{int(z.sum())} of {av.size}", a[z], b[z], pos[z]))
    equal = a == b
    finite = np.isfinite(a) & np.isfinite(b)
    m = ~equal & ~finite
    if m.any():
        out.append(("inf-mismatch", f"{int(m.sum())} of {av.size}", a[m], b[m], pos[m]))
    m = ~equal & finite
    if m.any():
        err = np.abs(a[m] - b[m]) / np.maximum(np.abs(a[m]), np.abs(b[m]))
        bad = err > RTOL.get(av.dtype.name, 0.0)
        if bad.any():
            out.append(("maxrel", f"{err.max():.3g} at {int(bad.sum())} of {av.size}",
                        a[m][bad], b[m][bad], pos[m][bad]))
    return out


def compare(case: Case, against: str, r1: Run, r2: Run) -> list[Diff]:
    """Every difference between two runs of a case (r1: JAX or funcgrad eager; r2:
    funcgrad eager or jit)."""
    def diff(kind, detail, output=None, a=None, b=None, dtype="", idx=None):
        return Diff(case.name, case.section, against, kind, output, detail, a, b, (r1, r2),
                    dtype, idx, case.args)

    if r1.ok != r2.ok:
        return [diff("raise-diff", f"{'ok' if r1.ok else 'raise'} vs {'ok' if r2.ok else 'raise'}")]
    if not r1.ok:
        return []
    if len(r1.outs) != len(r2.outs):
        return [diff("n-outputs", f"{len(r1.outs)} vs {len(r2.outs)}")]
    several = len(r1.outs) > 1
    return [diff(k, detail, i if several else None, a, b, x.value.dtype.name, idx)
            for i, (x, y) in enumerate(zip(r1.outs, r2.outs))
            for k, detail, a, b, idx in _compare_leaf(x, y)]


def run_case(J, F, case: Case, jit: bool = True) -> tuple[list[Diff], dict]:
    """The differences of one case and its three runs ({"jax", "fg", "fgjit"})."""
    rj, rf = call(J, case), call(F, case)
    runs = {"jax": rj, "fg": rf}
    diffs = compare(case, "jax", rj, rf)
    if jit and case.jit:
        rfj = call(F, case, jit=True)
        runs["fgjit"] = rfj
        diffs += compare(case, "jit", rf, rfj)
    return diffs, runs


def show(run: Run, limit: int = 24) -> str:
    """A one-line rendering of a run's outputs."""
    if not run.ok:
        return "RAISE " + run.error
    parts = []
    for o in run.outs:
        v = o.value
        flat = np.array2string(v.ravel()[:limit], precision=8, max_line_width=10**6,
                               threshold=10**6)
        more = " ..." if v.size > limit else ""
        weak = "w" if o.weak is True else ""
        parts.append(f"{v.dtype}{list(v.shape)}{weak}:{flat}{more}")
    return " | ".join(parts)
