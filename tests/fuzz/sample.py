"""Deterministic samples of fuzz entries (for tests that need fixed programs)."""
from __future__ import annotations

import functools

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hseed
from hypothesis import strategies as st

from .check import Entry, stacks
from .generate import programs
from .values import F32


@functools.cache
def _sample(seed: int, n: int, mode: str, fdtype: str, only, examples: int) -> tuple:
    found: list[list[Entry]] = []

    @st.composite
    def entry(draw):
        p = draw(programs(fdtype, False, mode, only=only))
        return Entry(p, draw(stacks(p, mode)), draw(st.integers(0, 2**20)))

    @settings(max_examples=examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @hseed(seed)
    @given(st.lists(entry(), min_size=n, max_size=n))
    def grab(es):
        found.append(es)

    grab()
    return tuple(max(found, key=lambda es: sum(e.prog.size() for e in es)))


def sample_entries(seed: int, n: int, mode: str = "value", fdtype: str = F32,
                   only: tuple | None = None, examples: int = 6) -> list[Entry]:
    """`n` entries drawn by hypothesis with a fixed seed (the largest of a few examples:
    hypothesis's first examples are deliberately tiny), with ops from `only` when given.
    Samples are memoised: callers must not modify them."""
    return list(_sample(seed, n, mode, fdtype, only, examples))


__all__ = ["sample_entries"]
