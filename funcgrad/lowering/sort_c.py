"""`sort` (and so argsort, `jnp.sort`, top-k by sorting, median, unique) as C statements
inside a compiled program: a stable merge sort of each row's positions by its keys, then
every operand gathered by that order.

Without it a sort is a host step: the program leaves C for NumPy's `argsort` and
`take_along_axis` on every call (15-40 us of Python before any sorting), and a loop whose
body sorts runs from Python. The order is the host step's (`prims/windows._sort_np`):
stable, keys compared in turn (the first decides, as `np.lexsort` with the keys
reversed), NaN after every number and equal to another NaN, -0.0 equal to 0.0. Keys and
operands of the plain C types only (float32/64, the integers, bool); float16, bfloat16 and
complex keep the host step, as do shapes that are not static, empty ones, and rows longer
than `MAX_ROW`.
"""
from __future__ import annotations

import math

import numpy as np

import cdsl

from ..ir import Lit
from ..prims import windows as win

PRIMS = frozenset((win.sort_p,))
_C = {np.dtype(np.float32): "float", np.dtype(np.float64): "double",
      np.dtype(np.int8): "int8_t", np.dtype(np.int16): "int16_t",
      np.dtype(np.int32): "int32_t", np.dtype(np.int64): "int64_t",
      np.dtype(np.uint8): "uint8_t", np.dtype(np.uint16): "uint16_t",
      np.dtype(np.uint32): "uint32_t", np.dtype(np.uint64): "uint64_t",
      np.dtype(np.bool_): "uint8_t"}
# Runs of this many positions are put in order by insertion first, then merged pairwise.
RUN = 16
# Rows longer than this keep the host step: there the call's overhead is lost in the sort,
# and NumPy's timsort was as fast or faster (one thread, AMD Zen 3: 1e6 float32 143 ms on
# the host, 148 here; 1e6 int32 argsort 72 against 80; a sorted 1e5 row 0.27 ms against
# 0.84), while 1e4 values took 0.83-1.00 ms either way, and 100 values 28-30 us on the
# host against 11-21 here.
MAX_ROW = 1 << 16
# The rows are sorted in this many shares (at most), each with its own scratch, which the
# team's threads split between them when the sort has PARALLEL_SORT_MIN elements or more:
# 2048 rows of 1024 float32 took 116 ms with one thread and with two when one loop sorted
# every row in one scratch row (AMD Zen 4).
SHARES = 16
PARALLEL_SORT_MIN = 1 << 15


def lowerable(eqn) -> bool:
    if eqn.prim not in PRIMS or any(isinstance(a, Lit) for a in eqn.inputs):
        return False
    shape = eqn.inputs[0].aval.shape
    return len(shape) >= 1 and all(isinstance(d, (int, np.integer)) for d in shape) and \
        math.prod(shape) > 0 and shape[eqn.params["dimension"]] <= MAX_ROW and \
        all(np.dtype(a.aval.dtype) in _C for a in eqn.inputs)


def _compare(keys, dtypes_, a, b, out):
    """Lines setting `out` to whether position `a` comes strictly before position `b`
    (element offsets `base + a * inner`)."""
    lines = []
    for j, (k, dt) in enumerate(zip(keys, dtypes_)):
        t = _C[dt]
        pre = "    " * j
        lines.append(f"{pre}{{ {t} ka = {k}[base + ({a}) * inner], kb = {k}[base + ({b}) * inner];")
        if dt.kind == "f":
            # NaN last: a before b when b is NaN and a is not
            before = "(ka < kb || (kb != kb && ka == ka))"
            after = "(kb < ka || (ka != ka && kb == kb))"
        else:
            before, after = "(ka < kb)", "(kb < ka)"
        if j == len(keys) - 1:
            lines.append(f"{pre}  {out} = {before};")
        else:       # equal in this key: the next one decides
            lines.append(f"{pre}  if {before} {out} = 1; else if {after} {out} = 0; else")
    lines.append("}" * len(keys))
    return lines


def lower(eqn, ins, outs, temp):
    """(label, [the loop over the shares of the rows]) computing `eqn` from the pointer
    names `ins` into `outs`; `temp(shape, dtype)` gives the name of a scratch buffer."""
    shape = tuple(int(d) for d in eqn.inputs[0].aval.shape)
    d = eqn.params["dimension"]
    nk = eqn.params["num_keys"]
    n = shape[d]
    outer, inner = math.prod(shape[:d]), math.prod(shape[d + 1:])
    dts = [np.dtype(a.aval.dtype) for a in eqn.inputs]
    rows = outer * inner
    shares = min(SHARES, rows) if rows * n >= PARALLEL_SORT_MIN else 1
    ia, ib = temp((shares, n), np.int64), temp((shares, n), np.int64)
    keys = ins[:nk]
    body = [f"int64_t o = rr / {inner}, i = rr % {inner};",
            f"int64_t base = o * {n * inner} + i;",
            f"int64_t *ix = {ia} + sh * {n}, *iy = {ib} + sh * {n};",
            f"for (int64_t j = 0; j < {n}; ++j) ix[j] = j;",
            # insertion sort of each run: a position moves left past strictly greater ones
            f"for (int64_t s = 0; s < {n}; s += {RUN}) {{",
            f"    int64_t e = s + {RUN} < {n} ? s + {RUN} : {n};",
            "    for (int64_t p = s + 1; p < e; ++p) {",
            "        int64_t v = ix[p], q = p;",
            "        while (q > s) {",
            "            int64_t u = ix[q - 1]; int lt;",
            *("            " + x for x in _compare(keys, dts[:nk], "v", "u", "lt")),
            "            if (!lt) break;",
            "            ix[q] = u; --q;",
            "        }",
            "        ix[q] = v;",
            "    }",
            "}",
            # merges: the right run's head goes first only when strictly before the left's
            f"for (int64_t w = {RUN}; w < {n}; w *= 2) {{",
            f"    for (int64_t s = 0; s < {n}; s += 2 * w) {{",
            f"        int64_t m = s + w < {n} ? s + w : {n};",
            f"        int64_t e = s + 2 * w < {n} ? s + 2 * w : {n};",
            "        int64_t p = s, q = m, r = s;",
            # runs already in order (the left's last not after the right's first) are
            # copied: a sorted or nearly sorted row costs one pass per merge level
            "        if (m < e) {",
            "            int64_t u = ix[m - 1], v = ix[m]; int lt;",
            *("            " + x for x in _compare(keys, dts[:nk], "v", "u", "lt")),
            "            if (!lt) { while (p < e) iy[r++] = ix[p++]; continue; }",
            "        }",
            "        while (p < m && q < e) {",
            "            int64_t u = ix[p], v = ix[q]; int lt;",
            *("            " + x for x in _compare(keys, dts[:nk], "v", "u", "lt")),
            "            if (lt) { iy[r++] = v; ++q; } else { iy[r++] = u; ++p; }",
            "        }",
            "        while (p < m) iy[r++] = ix[p++];",
            "        while (q < e) iy[r++] = ix[q++];",
            "    }",
            "    { int64_t *sw = ix; ix = iy; iy = sw; }",
            "}"]
    for src, dst in zip(ins, outs):
        body.append(f"for (int64_t j = 0; j < {n}; ++j) "
                    f"{dst}[base + j * inner] = {src}[base + ix[j] * inner];")
    share = [f"const int64_t inner = {inner};",
             f"const int64_t r0 = sh * {rows} / {shares}, r1 = (sh + 1) * {rows} / {shares};",
             "for (int64_t rr = r0; rr < r1; ++rr) {",
             *("    " + x for x in body),
             "}"]
    sh = cdsl.Var("sh", cdsl.i64)
    loop = cdsl.For(sh, 0, shares, tuple(cdsl.Raw(x) for x in share),
                    parallel=shares > 1, parallel_min=2)
    what = "keys" if nk > 1 else "key"
    return (f"sort (stable merge) of {rows} rows of {n}, {nk} {what}, "
            f"{len(ins)} operands", [loop])
