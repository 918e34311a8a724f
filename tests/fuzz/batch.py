"""Run many fuzz entries as one function: one jit compile checks a whole batch.

`Batch` renders every entry's source into one module (exec'd once), builds the expected
results per instance, and runs the batch eagerly and under `jit` on a backend: eagerly at
instance 0, jitted at instances 0, 1 and 2 (the same jitted function at new sizes takes
the size-generic path). A failure of the whole call (an exception) is attributed to
entries by bisection; every entry's outputs are compared with its expected results.
"""
from __future__ import annotations

import collections
import dataclasses
import time
import traceback

import numpy as np

from .check import (
    Case,
    Entry,
    Mismatch,
    args_only_case,
    build_case,
    compare,
    count_checks,
    entry_source,
)
from .values import N_INSTANCES, make_input, x64_scope

HEADER = ["import ml_dtypes", "import numpy as np", "import funcgrad as fg", "import funcgrad.nn",
          "import funcgrad.numpy as fnp", "from funcgrad import lax"]


@dataclasses.dataclass
class Failure:
    """One entry disagreeing on one backend and mode."""
    index: int
    backend: str
    mode: str            # eager / jit
    inst: int
    kind: str            # value / nan / dtype / shape / grad / structure / crash / donation
    detail: str
    mismatches: list = dataclasses.field(default_factory=list)
    tb: str = ""

    def signature(self) -> tuple:
        return (self.backend, self.mode, self.kind)


def module_source(entries: list[Entry]) -> str:
    lines = list(HEADER)
    for k, e in enumerate(entries):
        lines.append("")
        lines.extend(entry_source(e, k))
    lines.append("")
    lines.append(f"ENTRIES = [{', '.join(f't_{k}' for k in range(len(entries)))}]")
    lines.append("ERRORS = {}")
    lines.append("")
    lines.append("def batch(all_args, all_aux):")
    lines.append("    # An entry that raises (while tracing, under jit) is recorded and left out,")
    lines.append("    # so one crash does not hide the other entries' results.")
    lines.append("    outs = []")
    lines.append("    for k, t in enumerate(ENTRIES):")
    lines.append("        try:")
    lines.append("            outs.append(t(all_args[k], all_aux[k]))")
    lines.append("        except Exception as e:")
    lines.append("            ERRORS[k] = (e, _tb.format_exc(limit=-6))")
    lines.append("            outs.append(None)")
    lines.append("    return outs")
    return "\n".join(lines) + "\n"


def load(src: str) -> dict:
    ns: dict = {"_tb": traceback}
    # The generated source is the program under test and its printed reproducer at once.
    exec(compile(src, "<fuzz-batch>", "exec"), ns)  # noqa: S102 -- our generated code
    return ns


def _to_fg(tree):
    if isinstance(tree, np.ndarray):
        return make_input(tree)
    if isinstance(tree, tuple):
        return tuple(_to_fg(x) for x in tree)
    if isinstance(tree, list):
        return [_to_fg(x) for x in tree]
    if isinstance(tree, dict):
        return {k: _to_fg(v) for k, v in tree.items()}
    return tree


def _to_np(tree):
    if tree is None:
        return None
    if isinstance(tree, (tuple, list)):
        return type(tree)(_to_np(x) for x in tree)
    return np.asarray(tree)


class Batch:
    """Entries of one float dtype, with their source and expected results per instance."""

    def __init__(self, entries: list[Entry], seed: int, expect: bool = True):
        self.entries = entries
        self.seed = seed
        self.expect = expect        # False: arguments only (enough to reproduce a crash)
        self.fdtype = entries[0].prog.fdtype if entries else "float32"
        self.x64 = entries[0].prog.x64 if entries else False
        self.src = module_source(entries)
        self.ns = load(self.src)
        self.cases: dict[int, list[Case]] = {}
        # What the runs compared (see check.count_checks), per (backend, mode).
        self.checks: collections.Counter = collections.Counter()
        # Seconds per phase ("oracle", "first call", "call at new sizes", "compare",
        # "compiler"): where a fuzz run's time goes (the runner sums them per backend).
        self.timings: collections.Counter = collections.Counter()

    def case(self, inst: int) -> list[Case]:
        if inst not in self.cases:
            t = time.perf_counter()
            if self.expect:
                self.cases[inst] = [build_case(e, inst, e.seed) for e in self.entries]
            else:
                self.cases[inst] = [args_only_case(e, inst) for e in self.entries]
            self.timings["oracle"] += time.perf_counter() - t
        return self.cases[inst]

    def instances(self) -> list[int]:
        """Instances worth running jitted: 0, and those where some size differs."""
        out = [0]
        for k in range(1, N_INSTANCES):
            if any(any(not e.prog.dims.pinned(d) for d in e.prog.dims.ids)
                   for e in self.entries):
                out.append(k)
        return out

    def sub(self, indices: list[int]) -> Batch:
        b = Batch([self.entries[i] for i in indices], self.seed, self.expect)
        b.cases = {inst: [cs[i] for i in indices] for inst, cs in self.cases.items()}
        return b

    # -- running -------------------------------------------------------------------------
    def _call(self, fn, cases: list[Case]):
        args = [_to_fg(c.args) for c in cases]
        aux = [_to_fg(c.aux) for c in cases]
        out = fn(args, aux)
        return _to_np(out), args

    def run(self, backend: str, mode: str, insts=None, donation: bool = True) -> list[Failure]:
        """Failures of every entry on `backend` in `mode` ('eager' or 'jit')."""
        import funcgrad as fg
        insts = insts if insts is not None else ([0] if mode == "eager" else self.instances())
        failures: list[Failure] = []
        with x64_scope(self.x64), _backend_scope(backend):
            fn = self.ns["batch"] if mode == "eager" else fg.jit(self.ns["batch"],
                                                                 backend=backend)
            last_err: dict = {}
            for n, inst in enumerate(insts):
                cases = self.case(inst)
                self.ns["ERRORS"].clear()
                t = time.perf_counter()
                cc = _compile_seconds()
                try:
                    outs, args = self._call(fn, cases)
                    raised = False
                except Exception:    # noqa: BLE001 -- attributed to entries below
                    raised = True
                self.timings["first call" if n == 0 else "call at new sizes"] += \
                    time.perf_counter() - t
                self.timings["C compiler"] += _compile_seconds() - cc
                if raised:
                    t = time.perf_counter()
                    failures.extend(self._attribute(backend, mode, inst, list(range(
                        len(self.entries)))))
                    self.timings["bisecting a failed call"] += time.perf_counter() - t
                    if mode == "jit":
                        fn = fg.jit(self.ns["batch"], backend=backend)
                    continue
                t = time.perf_counter()
                last_err.update(self.ns["ERRORS"])
                for k, (o, c) in enumerate(zip(outs, cases)):
                    if o is None and c.expect is not None:
                        err = last_err.get(k)
                        if err is not None:
                            e, tb = err
                            failures.append(Failure(k, backend, mode, inst, "crash",
                                                    f"{type(e).__name__}: {str(e)[:400]}",
                                                    tb=tb))
                        continue
                    ms = compare(o, c.expect) if c.expect is not None else []
                    if c.expect is not None:
                        count_checks(c.expect, self.checks)
                    if ms:
                        failures.append(Failure(k, backend, mode, inst, ms[0].kind,
                                                ms[0].detail, ms))
                if mode == "eager" and donation and self.expect:
                    failures.extend(self._check_donation(backend, mode, inst, args))
                self.timings["compare"] += time.perf_counter() - t
        return failures

    def _check_donation(self, backend, mode, inst, args) -> list[Failure]:
        out = []
        for k, e in enumerate(self.entries):
            # Donation happens only when the donating jit is called directly with arrays
            # (under another jit or a checkpoint it sees tracers, and JAX ignores it).
            inner = e.stack.inner
            if not inner or inner[-1][0] != "jit_donate" or e.stack.vmap or e.stack.deriv:
                continue
            for i in [inner[-1][1]]:
                x = args[k][i]
                try:
                    np.asarray(x)
                except Exception:   # noqa: BLE001, S112 -- raising is what is expected
                    continue
                out.append(Failure(k, backend, mode, inst, "donation",
                                   f"argument {i} was donated to jit(donate_argnums=({i},)) "
                                   "but is still readable afterwards (JAX deletes it)"))
        return out

    def _attribute(self, backend, mode, inst, idx: list[int]) -> list[Failure]:
        """Entries that raise on their own (bisection over the batch)."""
        import funcgrad as fg
        sub = self.sub(idx)
        fn = sub.ns["batch"] if mode == "eager" else fg.jit(sub.ns["batch"], backend=backend)
        try:
            outs, _ = sub._call(fn, sub.case(inst))
        except Exception as exc:   # noqa: BLE001 -- the finding
            if len(idx) == 1:
                tb = traceback.format_exc(limit=-6)
                return [Failure(idx[0], backend, mode, inst, "crash",
                                f"{type(exc).__name__}: {str(exc)[:400]}", tb=tb)]
            half = len(idx) // 2
            return self._attribute(backend, mode, inst, idx[:half]) + \
                self._attribute(backend, mode, inst, idx[half:])
        failures = []
        for j, (k, o, c) in enumerate(zip(idx, outs, sub.case(inst))):
            if o is None:
                e, tb = sub.ns["ERRORS"].get(j, (RuntimeError("no result"), ""))
                failures.append(Failure(k, backend, mode, inst, "crash",
                                        f"{type(e).__name__}: {str(e)[:400]}", tb=tb))
                continue
            ms = compare(o, c.expect) if c.expect is not None else []
            if ms:
                failures.append(Failure(k, backend, mode, inst, ms[0].kind, ms[0].detail, ms))
        if len(idx) == len(self.entries) and not failures:
            failures.append(Failure(-1, backend, mode, inst, "crash",
                                    "the batch raised only when run as a whole"))
        return failures


def _compile_seconds() -> float:
    """Seconds the C compiler has run in this process so far (cdsl's counter)."""
    from cdsl import compile as cc
    return float(cc.stats.get("compile_seconds", 0.0))


class _backend_scope:
    """Make `name` the default backend (eager ops and inner jits) for the block."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        import funcgrad as fg
        from funcgrad import backends
        self.prev = backends._config["backend"]
        fg.config.update("backend", self.name)

    def __exit__(self, *exc):
        import funcgrad as fg
        fg.config.update("backend", self.prev)
        return False


def timed(fn, *a, **kw):
    t = time.perf_counter()
    r = fn(*a, **kw)
    return r, time.perf_counter() - t


__all__ = ["Batch", "Failure", "Mismatch", "load", "module_source", "timed"]
