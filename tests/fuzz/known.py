"""Known open bugs, so that a long run is not drowned by one of them.

Each entry names the bug (as reported to the lead) and matches a *shrunk* finding by the
ops of its minimal program, its kind and its backends. A finding that matches is still
printed and counted, under the entry's name, instead of being reported as new. Empty this
table as fixes land: an entry that no longer matches anything costs nothing.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Known:
    name: str
    bug: str
    ops: frozenset             # every op of the minimal program is in this set ...
    needs: frozenset = frozenset()   # ... and these ops are all present
    kinds: tuple = ("value", "nan", "crash", "grad", "dtype")
    backends: tuple = ("reference", "c", "opencl")
    modes: tuple = ("eager", "jit")
    detail: str = ""           # substring of the failure detail, if set

    def matches(self, ops: set, kind: str, backend: str, mode: str, detail: str) -> bool:
        return (kind in self.kinds and backend in self.backends and mode in self.modes
                and ops <= self.ops and self.needs <= ops and self.detail in detail)


_SHAPE = frozenset({"reshape", "ravel", "transpose", "expand_dims", "squeeze", "getitem",
                    "broadcast_to", "sum", "mean", "max", "min", "astype"})

KNOWN: list[Known] = [
    Known("host-step-alias", "C: host steps (cumsum/sort/median/argsort) read reshaped or "
          "keepdims aliases in their old shape under jit",
          _SHAPE | {"cumsum", "sort", "argsort", "median", "quantile", "top_k"},
          needs=frozenset(), backends=("c",), modes=("jit",), kinds=("value", "nan")),
    Known("sum-mul-zero-nan", "jit(lambda x: fnp.sum(x * 0.0)) gives 0 for NaN/Inf x",
          frozenset({"multiply", "sum", "mean", "astype"}), needs=frozenset({"multiply"}),
          backends=("c", "opencl"), modes=("jit",), kinds=("nan", "value")),
    Known("zero-div", "jit(lambda x: 0.0 / x) gives 0 where x is 0 or NaN",
          frozenset({"divide", "astype"}), needs=frozenset({"divide"}),
          backends=("c", "opencl"), modes=("jit",), kinds=("nan",)),
    Known("intmin-floordiv", "INT_MIN // -1 (and % -1) differ from JAX's wrap-around",
          frozenset({"floor_divide", "remainder", "astype"}), kinds=("value", "crash")),
    Known("logaddexp-dot-assert", "jit(lambda a, b: fnp.logaddexp(a @ b, 1.5)) of vectors "
          "asserts in lowering", frozenset({"logaddexp", "matmul", "einsum", "tensordot"}),
          needs=frozenset({"logaddexp"}), kinds=("crash",), modes=("jit",)),
    Known("pow-neg-inf", "x ** 0.5 at -inf gives NaN on C (C99/NumPy: +inf)",
          frozenset({"power", "sqrt", "astype"}), needs=frozenset({"power"}),
          backends=("c", "opencl"), kinds=("nan",)),
    Known("float-int-cast", "float->int casts of NaN/Inf/out-of-range differ eager vs jit "
          "(JAX: NaN -> 0, saturating)", frozenset({"astype"}), needs=frozenset({"astype"}),
          kinds=("value",)),
    Known("fmax-nan", "fmax/fmin propagate NaN (NumPy/JAX ignore it)",
          frozenset({"fmax", "fmin"}), kinds=("nan",)),
    Known("hypot-overflow", "hypot overflows in float32 and gives NaN for (inf, nan)",
          frozenset({"hypot"}), kinds=("nan", "value")),
    Known("median-nan", "median ignores NaN", frozenset({"median", "quantile"}),
          kinds=("nan", "value")),
    Known("empty-any-all", "any/all of empty arrays raise",
          frozenset({"any", "all"}) | _SHAPE, needs=frozenset(), kinds=("crash",),
          detail=""),
    Known("float-floordiv", "float floor_divide differs from JAX's divmod (1.0 // 0.1)",
          frozenset({"floor_divide", "astype"}), needs=frozenset({"floor_divide"}),
          kinds=("value", "nan")),
    Known("nanmax-allnan", "nanmax/nanmin of an all-NaN slice", frozenset({"nanmax", "nanmin"}),
          kinds=("value", "nan")),
    Known("f16-mean-var", "float16 mean/var overflow (JAX accumulates in float32)",
          frozenset({"mean", "var", "std", "nanmean", "nanvar", "nanstd", "sum"}),
          kinds=("value", "nan")),
    Known("gru-jit-grad", "GRU cell on lax.scan under jit(grad): KeyError in "
          "lowering/scan_opt.py", frozenset({"gru", "lstm", "scan"}), kinds=("crash",)),
]


def classify(ops: set, kind: str, backend: str, mode: str, detail: str) -> Known | None:
    for k in KNOWN:
        if k.matches(ops, kind, backend, mode, detail):
            return k
    return None


__all__ = ["KNOWN", "Known", "classify"]
