"""The JAX differential suite in CI (tests/jaxdiff/): a representative subset of the case
tables, run on JAX and on funcgrad (eagerly and under jit) with 64-bit types off and on,
fails on any difference not in the registry of known ones (tests/jaxdiff/known.py).
`python -m tests.jaxdiff [--x64]` runs all of them (a few minutes).

Registry entries whose cases all ran here without the difference they describe are
reported with a warning (not a failure); the CLI lists every stale entry of a full run."""
from __future__ import annotations

import re
import warnings

import pytest

pytest.importorskip("jax")

from jaxdiff import cases as case_tables
from jaxdiff.harness import Case, Diff, namespaces, run_case, x64_scope
from jaxdiff.known import SUSPECTED, Known
from jaxdiff.run import classify

# The subset: every STRIDE-th case of each section (all of the small sections), starting
# at an offset that differs with x64 so the two runs see different cases.
STRIDE = {"reduce": 60, "promote": 30, "cum": 24, "unary": 10, "binary": 10, "index": 10,
          "construct": 10, "sort": 10, "nn": 8, "stats": 8, "dot": 8, "lax": 4, "misc": 4,
          "special": 2, "intops": 2, "weak": 4}
X64_SECTIONS = ("special", "intops", "promote", "misc")


def _subset(section: str, x64: bool) -> list[Case]:
    """The section's cases run here: a stride through the table, less the cases of suspected
    funcgrad bugs (known.SUSPECTED: reported by the CLI, not registered)."""
    cases = [c for c in case_tables.build([section], x64=x64)
             if not any(re.fullmatch(p, c.name) for p in SUSPECTED)]
    step = STRIDE.get(section, 1)
    return cases[(1 if x64 and step > 1 else 0)::step]


PARAMS = ([pytest.param(s, False, id=f"{s}") for s in case_tables.SECTIONS]
          + [pytest.param(s, True, id=f"{s}-x64") for s in X64_SECTIONS])


@pytest.fixture(scope="module")
def libs():
    return namespaces()


def _stale_here(report, ran: list[Case], section: str, x64: bool):
    """Stale entries all of whose cases ran (an entry for cases the subset skipped is not
    stale here)."""
    every = case_tables.build([section], x64=x64)
    ran_names = {c.name for c in ran}
    out = []
    for e in report.stale:
        names = [c.name for c in every if re.fullmatch(e.cases, c.name)]
        if names and all(n in ran_names for n in names):
            out.append(e)
    return out


@pytest.mark.parametrize("section,x64", PARAMS)
def test_no_new_differences_from_jax(libs, section, x64):
    J, F = libs
    ran = _subset(section, x64)
    with x64_scope(x64):
        diffs = [d for c in ran for d in run_case(J, F, c)[0]]
    report = classify(diffs, ran, x64, jit=True)
    for e in _stale_here(report, ran, section, x64):
        warnings.warn(f"stale jaxdiff registry entry: {e.label()}", stacklevel=1)
    assert not report.new, (
        f"{len(report.new)} difference(s) from JAX not in tests/jaxdiff/known.py "
        f"(section {section}, x64={x64}; rerun: python -m tests.jaxdiff --sections "
        f"{section}{' --x64' if x64 else ''}):\n"
        + "\n".join(d.describe() for d in report.new))


def test_x64_scope_restores_both_libraries():
    import jax

    import funcgrad as fg
    before = (bool(jax.config.jax_enable_x64), bool(fg.config.read("jax_enable_x64")))
    with x64_scope(not before[0]):
        assert bool(jax.config.jax_enable_x64) is not before[0]
        assert bool(fg.config.read("jax_enable_x64")) is not before[0]
    assert (bool(jax.config.jax_enable_x64), bool(fg.config.read("jax_enable_x64"))) == before


def test_a_registry_entry_that_matches_nothing_is_reported_stale():
    cases = [Case("unary", "np.abs(f32)", None, ()), Case("unary", "np.exp(f32)", None, ())]
    used = Known(r"np\.exp\(f32\)", "maxrel", "accuracy", "matches the diff below")
    stale = Known(r"np\.abs\(f32\)", "signed-zero", "undocumented", "matches no diff")
    elsewhere = Known(r"np\.sin\(f32\)", "maxrel", "accuracy", "its case did not run")
    jit_only = Known(r"np\.abs\(f32\)", "values", "harness", "a jit entry", against="jit")
    diff = Diff("np.exp(f32)", "unary", "jax", "maxrel", None, "1")
    report = classify([diff], cases, x64=False, jit=False,
                      registry=[used, stale, elsewhere, jit_only])
    assert not report.new and report.known == [(diff, used)]
    assert report.stale == [stale]       # not `elsewhere` (not run), not `jit_only` (no jit)
    report = classify([], cases, x64=False, jit=True, registry=[used, jit_only])
    assert report.stale == [used, jit_only]
