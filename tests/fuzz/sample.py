"""Deterministic samples of fuzz entries (for tests that need fixed programs)."""
from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, seed as hseed, settings
from hypothesis import strategies as st

from .check import Entry, stacks
from .generate import programs
from .values import F32


def sample_entries(seed: int, n: int, mode: str = "value", fdtype: str = F32,
                   with_op: str | None = None, examples: int = 12) -> list[Entry]:
    """`n` entries drawn by hypothesis with a fixed seed (the largest of a few examples:
    hypothesis's first examples are deliberately tiny). With `with_op`, entries containing
    that op come first."""
    found: list[list[Entry]] = []

    @st.composite
    def entry(draw):
        p = draw(programs(fdtype, False, mode))
        return Entry(p, draw(stacks(p, mode)), draw(st.integers(0, 2**20)))

    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(st.lists(entry(), min_size=n, max_size=n))
    def grab(es):
        found.append(es)

    grab()
    best = max(found, key=lambda es: sum(e.prog.size() for e in es))
    if with_op is not None:
        pool = [e for es in found for e in es]
        best = sorted(pool, key=lambda e: (with_op not in e.prog.op_names(), -e.prog.size()))[:n]
    return best


__all__ = ["sample_entries"]
