"""Known open bugs, so that a long run is not drowned by one of them.

Each entry names the bug (as reported to the lead, with its reproducer in FINDINGS.md) and
matches a *shrunk* finding by the ops of its minimal program, its kind, backends and modes,
and optionally a substring of the failure's detail. A finding that matches is still printed
and counted, under the entry's name, instead of being reported as new. Remove an entry as
soon as its fix lands (check with the reproducer): a stale entry hides regressions.

Every entry of the previous table (host-step aliases, `x * 0.0` and `0.0 / x` folding,
INT_MIN // -1, the logaddexp-of-a-dot assertion, `x ** 0.5` at -inf, float->int casts,
fmax/fmin/hypot/median/nanmax NaN handling, empty any/all, float floor_divide, float16
mean/var, the GRU under jit(grad)) was re-checked with its reproducer on reference, C and
OpenCL and is fixed. So are the x64 index dtypes, `.at[]` of empty arrays (35813dd) and
einsum diagonals (17cf024), C's sin(atan(NaN)) and FMA-contracted softmax (tests/
test_semantics.py), the C loop-result alias and the OpenCL loop-init alias
(regressions.py), found by this fuzzer and fixed by others; fnp.exp2's precision (fixed
here); the C scan residuals under jit(grad) (issue 9: the host-driven scan loop passed
NumPy scalars as scalar rows; regressions.py and tests/test_scan_grad_regressions.py).
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Known:
    name: str
    bug: str
    ops: frozenset | None = None     # every op of the minimal program is in this set (None: any)
    needs_any: frozenset = frozenset()   # ... and one of these ops is present (if set)
    kinds: tuple = ("value", "nan", "crash", "grad", "dtype")
    backends: tuple = ("reference", "c", "opencl")
    modes: tuple = ("eager", "jit")
    detail: str = ""           # substring of the failure detail, if set
    producer: str = ""         # the op that computed the failing output, if set

    def matches(self, ops: set, kind: str, backend: str, mode: str, detail: str,
                producer: str = "") -> bool:
        return (kind in self.kinds and backend in self.backends and mode in self.modes
                and (self.ops is None or ops <= self.ops)
                and (not self.needs_any or bool(self.needs_any & ops))
                and self.detail in detail and self.producer in (producer, ""))


KNOWN: list[Known] = []


def classify(ops: set, kind: str, backend: str, mode: str, detail: str,
             producer: str = "") -> Known | None:
    """The known bug a shrunk finding matches, or None."""
    for k in KNOWN:
        if k.matches(ops, kind, backend, mode, detail, producer):
            return k
    return None


__all__ = ["KNOWN", "Known", "classify"]
