"""Running cases and sorting their differences into known (registry entries) and new."""
from __future__ import annotations

import dataclasses

from . import cases as case_tables
from .harness import Diff, namespaces, run_case, x64_scope
from .known import KNOWN, Known


@dataclasses.dataclass
class Report:
    n_cases: int
    new: list[Diff]
    known: list[tuple[Diff, Known]]
    stale: list[Known]           # entries that apply to the cases run but matched nothing


def classify(diffs: list[Diff], cases, x64: bool, jit: bool, registry=KNOWN) -> Report:
    new, known, used = [], [], set()
    for d in diffs:
        entry = next((e for e in registry if e.matches(d, x64)), None)
        if entry is None:
            new.append(d)
        else:
            known.append((d, entry))
            used.add(id(entry))
    stale = [e for e in registry
             if id(e) not in used and e.applies(cases, x64, jit)]
    return Report(len(cases), new, known, stale)


def run(sections=None, x64: bool = False, jit: bool = True, select=None,
        registry=KNOWN) -> Report:
    """Run the cases of `sections` (all when None; `select(case)` narrows them) with
    64-bit types on or off, and classify their differences."""
    J, F = namespaces()
    with x64_scope(x64):
        cases = case_tables.build(sections, x64=x64)
        if select is not None:
            cases = [c for c in cases if select(c)]
        diffs = []
        for c in cases:
            diffs += run_case(J, F, c, jit=jit)[0]
    return classify(diffs, cases, x64, jit, registry)
