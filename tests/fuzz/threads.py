"""Calling jitted fuzz programs from many threads at once.

Every entry's jitted function is called by `n_threads` threads released together by a
barrier: first *cold* (the first call of each function traces and compiles it, in all
threads at once), then *warm* (cached executables, several rounds). Every result is compared
with the entry's expected results like a single-threaded call. An entry that disagrees is
then run once more by a single thread (a fresh `jit`), and each problem says whether it
happens there too (a wrong backend result or oracle, not a race) or only under threads.
"""
from __future__ import annotations

import threading
import traceback

from .batch import Batch, _backend_scope, _to_fg, _to_np
from .check import compare
from .values import x64_scope


def run_threads(batch: Batch, backend: str, n_threads: int = 8, warm_rounds: int = 3) -> list:
    """Problems (strings) seen when `batch`'s entries run from `n_threads` threads."""
    import funcgrad as fg
    cases = batch.case(0)
    problems: list[tuple[int | None, str]] = []   # (entry, what went wrong)
    lock = threading.Lock()
    # the x64 switch is global (funcgrad.config.update), so the threads see it too
    with x64_scope(batch.x64), _backend_scope(backend):
        # Every call gets its own argument arrays (_to_fg), so donation is safe here.
        fns = [fg.jit(batch.ns[f"t_{k}"], backend=backend) for k in range(len(batch.entries))]

        def worker(tid: int, barrier: threading.Barrier, phase: str):
            order = list(range(len(fns)))
            order = order[tid % len(order):] + order[:tid % len(order)] if order else order
            try:
                barrier.wait()
                for k in order:
                    c = cases[k]
                    out = fns[k](_to_fg(c.args), _to_fg(c.aux))
                    ms = compare(_to_np(out), c.expect)
                    if ms:
                        with lock:
                            problems.append((k, f"{phase} thread {tid} entry {k}: "
                                                f"{ms[0].detail}"))
            except Exception:   # noqa: BLE001 -- every exception is a finding here
                with lock:
                    problems.append((None, f"{phase} thread {tid}: "
                                           f"{traceback.format_exc(limit=-4)}"))

        for phase, rounds in (("cold", 1), ("warm", warm_rounds)):
            for _ in range(rounds):
                barrier = threading.Barrier(n_threads)
                ts = [threading.Thread(target=worker, args=(i, barrier, phase))
                      for i in range(n_threads)]
                for t in ts:
                    t.start()
                for t in ts:
                    t.join()
        alone = _single_threaded(batch, backend, cases, {k for k, _ in problems if k is not None})
    return [p if k is None else f"{p} [{alone[k]}]" for k, p in problems]


def _single_threaded(batch: Batch, backend: str, cases, entries: set) -> dict:
    """{entry: whether a single-threaded call of a fresh jit of it disagrees too}."""
    import funcgrad as fg
    out = {}
    for k in sorted(entries):
        try:
            res = fg.jit(batch.ns[f"t_{k}"], backend=backend)(_to_fg(cases[k].args),
                                                               _to_fg(cases[k].aux))
            wrong = bool(compare(_to_np(res), cases[k].expect))
        except Exception:   # noqa: BLE001 -- raising alone counts as disagreeing alone
            wrong = True
        out[k] = ("also single-threaded: not a race" if wrong else
                  "only under threads")
    return out


__all__ = ["run_threads"]
