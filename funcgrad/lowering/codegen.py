"""Lowering rules: fusion-plan steps -> cdsl nodes (loop nests, GEMM calls).

Every value in a fused kernel is an expression of the loop indices: elementwise equations
become C operators / math calls (`prims.elementwise.lowering_exprs`), index-remapping
equations (broadcast, transpose, slice, pad, rev, reshape, concatenate, iota, dynamic
slice) rewrite the index at which their operand is evaluated. Values computed at the same
index are bound once (`let`), so a fused DAG is evaluated without recomputation.
"""
from __future__ import annotations

import itertools
import math
import os

import numpy as np

import cdsl
from cdsl.helpers import pow_c99, sign_set
from cdsl.render import C99, LIBMVEC_MATH

from .. import dtypes
from ..ir import Lit, Var
from ..prims import elementwise as ew, indexing as ix, reductions as rd, structural as st
from ..prims import windows as win
from . import cnodes
from .fusion import Kernel

# Loops with fewer iterations than this stay on one thread.
PARALLEL_MIN = 1 << 17


def strides_of(shape) -> list[int]:
    s, out = 1, []
    for d in reversed(shape):
        out.append(s)
        s *= d
    return list(reversed(out))


class Flat:
    """An index given as a linear (row-major) offset into an array of `shape`."""

    __slots__ = ("expr", "shape")

    def __init__(self, expr, shape):
        self.expr = expr
        self.shape = tuple(shape)


class KernelEmitter:
    """Builds the statements of one kernel; `c` is the cdsl node API (funcgrad.lowering.cnodes)."""

    # Whether the kernel may choose between floats by blending bit patterns (`_padded`:
    # cdsl.helpers' bsel, whose C uses __builtin_memcpy); OpenCL's emitter says no.
    bit_select = True

    def __init__(self, c, buffers, name_prefix="v", row=None, watch=()):
        self.c = c
        self.buffers = buffers          # var id -> cdsl pointer expression
        # Row fusion: buffers in `watch` may only be read at row `row` (see emit_rows; a
        # list: the row's index along each of the group's leading axes).
        self.row, self.watch, self.row_ok = row, watch, True
        # {var id: stack row}: group members kept in a row of their own (emit_rows' `local`)
        self.local = {}
        # Rows in lanes (emit_rows_in_lanes): the lane variable, with which `local` holds
        # tiles (row element j of lane l at j * _LANE_ROWS + l), and `tiles(atom)`, the tile of
        # an input read at the row (None: read in place)
        self.lane = None
        self.tiles = None
        self.stmts: list = []
        self.memo: dict = {}
        self.keep: list = []
        self.count = 0
        self.prefix = name_prefix
        # Loop splitting (see _split_nest): the index range each loop variable runs over in
        # this loop nest, when it is known at compile time, and the positions where a pad or
        # a concatenation switches between its pieces along a loop variable.
        self.ranges: dict = {}
        self.cuts: dict = {}

    # -- helpers ---------------------------------------------------------------------------

    def fresh(self, base="t"):
        self.count += 1
        return f"{self.prefix}{base}{self.count}"

    def let(self, expr, dtype):
        # Booleans are held in int32 temporaries: gcc 12 does not vectorise loops mixing
        # one-byte booleans with float selects (a ReLU mask compared or converted).
        v = self.c.var(self.fresh(), dtypes.int32 if dtype == dtypes.bool_ else dtype)
        self.stmts.append(self.c.decl(v, expr))
        return v

    def _at_row(self, idx) -> bool:
        """Whether `idx` starts with the row group's row index (the same expressions)."""
        lead = self.row if isinstance(self.row, list) else [self.row]
        return not isinstance(idx, Flat) and len(idx) >= len(lead) and \
            all(a is b for a, b in zip(idx, lead))

    def multi(self, idx):
        """A multi-index (list of int expressions) for `idx`."""
        if not isinstance(idx, Flat):
            return list(idx)
        c = self.c
        out = []
        for k, (d, s) in enumerate(zip(idx.shape, strides_of(idx.shape))):
            if type(d) is int and d == 1:
                out.append(c.i64(0))
                continue
            e = idx.expr if s == 1 else c.div(idx.expr, c.i64(s))
            out.append(c.mod(e, c.i64(d)) if k > 0 else e)
        return out

    def offset(self, idx, shape):
        c = self.c
        if isinstance(idx, Flat):
            return idx.expr
        if not shape:
            return c.i64(0)
        strides = strides_of(shape)
        e = None
        d = 0
        while d < len(idx):
            # An index split by a reshape (e/k0, (e/k1)%n1, ..., e%nm) addresses the buffer
            # at e * (the innermost stride): no div/mod in the load.
            end = _split_end(idx, shape, d)
            i, s = (idx[d].a, strides[end - 1]) if end else (idx[d], strides[d])
            d = end or d + 1
            if _const_int(i) == 0:
                continue
            term = i if s == 1 else c.mul(i, c.i64(s))
            e = term if e is None else c.add(e, term)
        return c.i64(0) if e is None else e

    def interval(self, e):
        """[lo, hi) of the integer expression `e` over this loop nest, or None when unknown
        (only loop variables with known ranges, integer literals, `+`/`-` of a literal and
        `*` by a positive literal are understood)."""
        import cdsl
        if isinstance(e, cdsl.Var):
            return self.ranges.get(e)
        k = _const_int(e)
        if k is not None:
            return k, k + 1
        if isinstance(e, cdsl.BinOp) and e.op in ("+", "-", "*"):
            a, b = self.interval(e.a), self.interval(e.b)
            if a is None or b is None:
                return None
            if e.op == "+":
                return a[0] + b[0], a[1] + b[1] - 1
            if e.op == "-":
                return a[0] - (b[1] - 1), a[1] - b[0]
            if b[1] - b[0] == 1 and b[0] > 0:
                return a[0] * b[0], (a[1] - 1) * b[0] + 1
        return None

    def note_cut(self, e, at):
        """Record that something changes where the expression `e` reaches `at`: when `e` is
        a loop variable plus a literal, the loop over it can be split there."""
        import cdsl
        off = 0
        while isinstance(e, cdsl.BinOp) and e.op in ("+", "-") and \
                _const_int(e.b) is not None:
            off += _const_int(e.b) if e.op == "+" else -_const_int(e.b)
            e = e.a
        if isinstance(e, cdsl.Var) and e in self.ranges:
            self.cuts.setdefault(e, set()).add(at - off)

    def _within(self, e, lo, hi):
        """True when `e` certainly lies in [lo, hi), False when it certainly lies outside,
        None when that is not known (then the point where it crosses is recorded)."""
        r = self.interval(e) if type(lo) is int and type(hi) is int else None
        if r is None:
            if type(lo) is int and type(hi) is int:
                self.note_cut(e, lo)
                self.note_cut(e, hi)
            return None
        if lo <= r[0] and r[1] <= hi:
            return True
        if r[1] <= lo or r[0] >= hi:
            return False
        self.note_cut(e, lo)
        self.note_cut(e, hi)
        return None

    # -- evaluating values -------------------------------------------------------------

    def value(self, atom, idx, kernel: Kernel):
        """The scalar value of `atom` at index `idx`."""
        c = self.c
        if isinstance(atom, Lit):
            expr = getattr(atom, "expr", None)   # a size-derived literal (symbolic.SymLit)
            return expr if expr is not None else c.const(atom.val.item(), atom.aval.dtype)
        if atom.aval.shape == ():
            idx = []
        key = (atom.id, _idx_key(idx))
        hit = self.memo.get(key)
        if hit is not None:
            return hit
        eqn = kernel.inlined.get(atom.id)
        if eqn is None:
            if atom.id in self.watch and not self._at_row(idx):
                self.row_ok = False
            local = self.local.get(atom.id)
            if local is None and self.tiles is not None and self._at_row(idx):
                local = self.tiles(atom)
            if local is not None:        # a row group's value kept in a row of its own
                k = len(self.row)
                off = self.offset(list(idx)[k:], atom.aval.shape[k:])
                if self.lane is not None:    # (a tile: element j of lane l at j * L + l)
                    off = c.add(c.mul(off, c.i64(_LANE_ROWS)), self.lane)
                v = c.load(local, off)
            else:
                v = c.load(self.buffers[atom.id], self.offset(idx, atom.aval.shape))
        else:
            v = self.inline(eqn, idx, kernel)
        if not _is_named(v, atom.aval.dtype):
            v = self.let(v, atom.aval.dtype)
        self.memo[key] = v
        self.keep.append(idx)
        return v

    def inline(self, eqn, idx, kernel):
        c = self.c
        p = eqn.prim
        out_aval = eqn.outputs[0].aval
        spec = ew.lowering_exprs.get(p)
        if spec is not None:
            args = [self.value(a, idx if a.aval.shape != () else [], kernel)
                    for a in eqn.inputs]
            return self.elementwise(spec, args, [a.aval for a in eqn.inputs], out_aval,
                                    eqn.params)
        x = eqn.inputs[0] if eqn.inputs else None
        if p is st.broadcast_in_dim_p:
            m = self.multi(idx)
            bd = eqn.params["broadcast_dimensions"]
            j = [m[d] if x.aval.shape[k] != 1 else c.i64(0) for k, d in enumerate(bd)]
            return self.value(x, j, kernel)
        if p is st.reshape_p:
            if not isinstance(idx, Flat):
                j = _reshape_index(c, idx, out_aval.shape, x.aval.shape)
                if j is not None:
                    return self.value(x, j, kernel)
            flat = idx if isinstance(idx, Flat) else Flat(self.offset(idx, out_aval.shape),
                                                           out_aval.shape)
            return self.value(x, Flat(flat.expr, x.aval.shape), kernel)
        if p is st.transpose_p:
            m = self.multi(idx)
            perm = eqn.params["permutation"]
            j = [None] * len(perm)
            for k, q in enumerate(perm):
                j[q] = m[k]
            return self.value(x, j, kernel)
        if p is st.squeeze_p:
            m = self.multi(idx)
            dims = eqn.params["dimensions"]
            it = iter(m)
            j = [c.i64(0) if d in dims else next(it) for d in range(x.aval.ndim)]
            return self.value(x, j, kernel)
        if p is st.expand_dims_p:
            m = self.multi(idx)
            dims = eqn.params["dimensions"]
            j = [e for d, e in enumerate(m) if d not in dims]
            return self.value(x, j, kernel)
        if p is st.rev_p:
            m = self.multi(idx)
            dims = eqn.params["dimensions"]
            j = [c.sub(c.i64(x.aval.shape[d] - 1), e) if d in dims else e
                 for d, e in enumerate(m)]
            return self.value(x, j, kernel)
        if p is ix.slice_p:
            m = self.multi(idx)
            j = [_affine(c, e, s, st_) for e, s, st_ in
                 zip(m, eqn.params["start_indices"], eqn.params["strides"])]
            return self.value(x, j, kernel)
        if p is st.iota_p:
            m = self.multi(idx)
            return c.cast(out_aval.dtype, m[eqn.params["dimension"]])
        if p is ix.pad_p:
            return self.pad(eqn, idx, kernel)
        if p is ix.concatenate_p:
            return self.concatenate(eqn, idx, kernel)
        if p is ix.dynamic_slice_p:
            m = self.multi(idx)
            sizes = eqn.params["slice_sizes"]
            j = []
            for e, s_atom, n, size in zip(m, eqn.inputs[1:], x.aval.shape, sizes):
                s = c.call("clamp_i64", [self._index_i64(s_atom, [], kernel), c.i64(0),
                                         c.i64(n - size)], dtypes.int64)
                j.append(c.add(s, e))
            return self.value(x, j, kernel)
        if p is ix.gather_p:
            return self.gather(eqn, idx, kernel)
        if p is ix.dynamic_update_slice_p:
            return self.dynamic_update_slice(eqn, idx, kernel)
        raise NotImplementedError(f"no inline lowering for {p.name}")

    def _index_i64(self, atom, at, kernel):
        """The integer value of `atom` at `at` as int64, for a clamp to follow: a uint64
        past INT64_MAX saturates there (the plain cast made 2^63 + 5 negative, and the clamp
        read element 0 where the reference reads the last)."""
        c = self.c
        v = self.value(atom, at, kernel)
        if atom.aval.dtype == dtypes.uint64:
            v = c.call("min_u64", [v, c.const(2**63 - 1, dtypes.uint64)], dtypes.uint64)
        return c.cast(dtypes.int64, v)

    def _clamped_index(self, atom, at, n, kernel):
        """The integer value of `atom` at `at`, clamped to [0, n - 1] (JAX's gather rule)."""
        c = self.c
        return c.call("clamp_i64", [self._index_i64(atom, at, kernel), c.i64(0),
                                    c.i64(max(n - 1, 0))], dtypes.int64)

    def gather(self, eqn, idx, kernel):
        """out[b..., r...] = x[i with i[axes[j]] = indices[b..., j], the other axes = r]."""
        c = self.c
        x, ind = eqn.inputs
        axes = eqn.params["axes"]
        m = self.multi(idx)
        nb = ind.aval.ndim - 1
        comps = {a: self._clamped_index(ind, m[:nb] + [c.i64(j)], x.aval.shape[a], kernel)
                 for j, a in enumerate(axes)}
        rest = iter(m[nb:])
        return self.value(x, [comps[d] if d in comps else next(rest)
                              for d in range(x.aval.ndim)], kernel)

    def dynamic_update_slice(self, eqn, idx, kernel):
        """upd where the index falls in the (clamped) update window, else x."""
        c = self.c
        x, upd, *starts = eqn.inputs
        m = self.multi(idx)
        if upd.aval.size == 0:
            return self.value(x, m, kernel)
        inside, j = None, []
        for e, s_atom, n, u in zip(m, starts, x.aval.shape, upd.aval.shape):
            s = self._clamped_index(s_atom, [], n - u + 1, kernel)
            t = c.sub(e, s)
            for cond in (c.ge(t, c.i64(0)), c.lt(t, c.i64(u))):
                inside = cond if inside is None else c.land(inside, cond)
            j.append(c.call("clamp_i64", [t, c.i64(0), c.i64(u - 1)], dtypes.int64))
        new = self.value(upd, j, kernel)
        old = self.value(x, m, kernel)
        return c.select(inside, new, old) if inside is not None else new

    def pad(self, eqn, idx, kernel):
        c = self.c
        x, pv = eqn.inputs
        m = self.multi(idx)
        valid = None
        j = []
        for e, n, (lo, _hi, it) in zip(m, x.aval.shape, eqn.params["padding_config"]):
            t = c.sub(e, c.i64(lo)) if lo else e
            step = it + 1
            if step == 1:
                inside = self._within(t, 0, n)
                if inside is False:                  # this piece of the loop is padding
                    return self.value(pv, [], kernel)
                if inside:
                    j.append(t)
                    continue
            q = c.div(t, c.i64(step)) if step != 1 else t
            conds = [c.ge(t, c.i64(0)), c.lt(q, c.i64(n))]
            if step != 1:
                conds.append(c.eq(c.mod(t, c.i64(step)), c.i64(0)))
            for cond in conds:
                valid = cond if valid is None else c.land(valid, cond)
            j.append(c.call("clamp_i64", [q, c.i64(0), c.i64(max(n - 1, 0))], dtypes.int64))
        if x.aval.size == 0:
            return self.value(pv, [], kernel)
        inner = self.value(x, j, kernel)
        padv = self.value(pv, [], kernel)
        return _padded(c, self, valid, inner, padv, x.aval.dtype) if valid is not None \
            else inner

    def concatenate(self, eqn, idx, kernel):
        c = self.c
        d = eqn.params["dimension"]
        m = self.multi(idx)
        offs = []
        o = 0
        for a in eqn.inputs:
            offs.append(o)
            o += a.aval.shape[d]
        for a, off in zip(eqn.inputs, offs):
            n = a.aval.shape[d]
            if n and self._within(m[d], off, off + n):   # this piece of the loop reads `a`
                j = list(m)
                j[d] = c.sub(m[d], c.i64(off)) if off else m[d]
                return self.value(a, j, kernel)
        out = None
        for a, off in reversed(list(zip(eqn.inputs, offs))):
            n = a.aval.shape[d]
            if n == 0:
                continue
            jd = c.call("clamp_i64", [c.sub(m[d], c.i64(off)), c.i64(0), c.i64(n - 1)],
                        dtypes.int64)
            j = list(m)
            j[d] = jd
            val = self.value(a, j, kernel)
            out = val if out is None else c.select(c.lt(m[d], c.i64(off + n)), val, out)
        return out

    def elementwise(self, spec, args, in_avals, out_aval, params):
        c = self.c
        kind = spec[0]
        dt = in_avals[0].dtype if in_avals else out_aval.dtype
        if kind == "call" and _is_complex(dt):
            return self.complex_call(spec[1], args, dt, out_aval.dtype)
        if kind == "op":
            op = spec[1]
            if len(args) == 1:
                if op == "~" and dt == dtypes.bool_:
                    return c.cast(dtypes.bool_, c.lnot(args[0]))
                return c.unop(op, args[0], out_aval.dtype)
            a, b = args
            if op == "/" and dtypes.is_int(dt):
                return c.call("idiv_" + c.type_suffix(dt), [a, b], dt)
            if op in ("<<", ">>"):
                fn = "shl_" if op == "<<" else "shr_"
                return c.call(fn + c.type_suffix(dt), [a, b], dt)
            e = c.binop(op, a, b, out_aval.dtype)
            if out_aval.dtype == dtypes.bool_ or dt in (dtypes.int8, dtypes.int16,
                                                         dtypes.uint8, dtypes.uint16):
                e = c.cast(out_aval.dtype, e)
            return e
        if kind == "call":
            fn = spec[1]
            if fn == "complex":
                return c.call("complex", args, out_aval.dtype)
            if fn in ("real", "conj"):
                return args[0]                       # of a real operand
            if fn == "imag":
                return c.const(0, out_aval.dtype)
            if fn == "fmod" and dtypes.is_int(dt):
                return c.call("irem_" + c.type_suffix(dt), args, dt)
            if fn in ("fmax_nan", "fmin_nan"):
                base = "max_" if fn == "fmax_nan" else "min_"
                return c.call(base + c.type_suffix(dt), args, dt)
            if fn == "fabs" and not dtypes.is_float(dt):
                return c.call("iabs_" + c.type_suffix(dt), args, dt)
            if fn == "isfinite":
                return c.cast(dtypes.bool_, c.call(fn, args, dt))
            if fn == "signbit":
                # sign_set, not C's signbit: vectorised over two-float vectors it crashed
                # gcc 12 ("unrecognizable insn", a float16 loop of 9), and it is any nonzero
                # int for a negative (gcc gives the bit, 0x80000000, which a cast to bool's
                # uint8 drops)
                return c.cast(dtypes.bool_, sign_set(args[0], c.ct(dt)))
            if fn == "logistic":
                return c.call("logistic_" + c.type_suffix(dt), args, dt)
            if fn == "pow":
                # C99's special cases decided by selects, not left to the (vector) libm.
                e = pow_c99(args[0], args[1], c.ct(dt), lambda e: self.let(e, dt))
                return c.narrow_round(e, dt) if c.is_narrow(dt) else e
            if fn == "rsqrt":
                return c.binop("/", c.const(1.0, dt), c.call("sqrt", args, dt), dt)
            if fn == "erf":
                return c.call("erf", args, dt)
            if fn in ("sin", "cos") and dtypes.is_float(dt):
                # Without errno, gcc rewrites sin(atan(x)) as |x| < K ? x/sqrt(x*x+1) :
                # copysign(1, x) (cos likewise), which sends a NaN to +-1 or 0. A NaN input
                # stays NaN whatever the compiler folds.
                x = self.let(args[0], dt)
                return c.select(c.ne(x, x), x, c.call(fn, [x], dt))
            return c.call(fn, args, dt)
        if kind == "select":
            return c.select(args[0], args[1], args[2])
        if kind == "convert":
            return self.convert(args[0], in_avals[0].dtype, out_aval.dtype)
        if kind == "identity":
            return args[0]
        if kind == "sign":
            return c.call("sign_" + c.type_suffix(dt), args, dt)
        if kind == "integer_pow":
            if c.is_narrow(dt):
                # the reference raises in float and rounds once (ml_dtypes' and NumPy's
                # 16-bit power loops)
                return c.narrow_round(self.integer_pow(args[0], params["y"], dtypes.float32),
                                      dt)
            return self.integer_pow(args[0], params["y"], dt)
        raise NotImplementedError(f"elementwise lowering {spec}")

    def complex_call(self, fn, args, dt, out_dt):
        """A math function of complex operands: C99 <complex.h> (rendered from the generic
        name), or a helper where NumPy's result differs or C99 has none."""
        c = self.c
        suffix = c.type_suffix(dt)
        if fn in ("fabs", "real", "imag", "arg"):
            return c.call(fn, args, out_dt)          # a real result
        if fn in ("log1p", "expm1", "exp"):
            return c.call(f"c{fn}_{suffix}", args, dt)
        if fn in ("fmax_nan", "fmin_nan"):
            return c.call(("max_" if fn == "fmax_nan" else "min_") + suffix, args, dt)
        if fn == "isfinite":
            return c.cast(dtypes.bool_, c.call("cisfinite_" + suffix, args, dtypes.bool_))
        if fn == "rsqrt":
            return c.binop("/", c.const(1.0, dt), c.call("sqrt", args, dt), dt)
        if fn in _COMPLEX_LIBM:
            return c.call(fn, args, dt)
        raise NotImplementedError(f"no C lowering of {fn} for {np.dtype(dt).name}")

    def convert(self, x, src, dst):
        c = self.c
        if src == dst:
            return x
        if dst == dtypes.bool_:
            return c.cast(dtypes.bool_, c.ne(x, c.const(0, src)))
        if _is_complex(src) and not _is_complex(dst):
            # complex -> real keeps the real part (NumPy, JAX)
            real = np.dtype(np.float32 if np.dtype(src) == np.complex64 else np.float64)
            return self.convert(c.call("real", [x], real), real, dst)
        if dtypes.is_float(src) and dtypes.is_int(dst):
            info = np.iinfo(dst)
            return c.call("f2i_" + c.type_suffix(dst) + "_" + c.type_suffix(src), [x], dst,
                          info=(int(info.min), int(info.max)))
        if dtypes.is_int(src) and dtypes.is_float(dst) and not _is_complex(dst):
            # gcc 12 -O3 with -fno-trapping-math folds (float)(int)x into trunc(x), which
            # is -0.0 for x in (-1, 0) where the integer 0 converts to +0.0 (x // int(x)
            # gave +inf for x = -0.75; seed 20261941); it also drops a `+ 0.0` after the
            # conversion, believing it cannot be -0.0. Selecting +0.0 for a zero integer
            # survives, and the loop still vectorises.
            x = self.let(x, src)
            return c.select(c.eq(x, c.const(0, src)), c.const(0.0, dst), c.cast(dst, x))
        return c.cast(dst, x)

    def integer_pow(self, x, y, dt):
        c = self.c
        if y == 0:
            return c.const(1, dt)
        neg = y < 0
        y = abs(y)
        acc = None
        base = x
        while y:
            if y & 1:
                acc = base if acc is None else self.let(c.binop("*", acc, base, dt), dt)
            y >>= 1
            if y:
                base = self.let(c.binop("*", base, base, dt), dt)
        if neg:
            return c.binop("/", c.const(1, dt), acc, dt)
        return acc


_COMPLEX_LIBM = frozenset(("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh",
                           "asin", "acos", "atan", "asinh", "acosh", "atanh", "pow", "conj"))


def step_label(step, buffers) -> str:
    """The comment above a step's code: its root operation, the type it writes, the buffer
    it writes, and the operations fused into its loop (a bias + ReLU reads
    `select_n -> f32[64,512] in b7, fusing add, broadcast_in_dim, gt`)."""
    from .symbolic import shape_text
    eqn = step.eqn
    text = f"{eqn.prim.name} -> {shape_text(eqn.outputs[0].aval)}"
    out = buffers.get(eqn.outputs[0].id)
    if isinstance(out, (cdsl.Param, cdsl.Var)):
        text += f" in {out.name}"
    fused = []
    for e in getattr(step, "inlined", {}).values():
        if e.prim.name not in fused and e.prim is not eqn.prim:
            fused.append(e.prim.name)
    if fused:
        more = len(fused) - 6
        text += ", fusing " + ", ".join(fused[:6]) + (f" and {more} more" if more > 0 else "")
    return text


def _is_named(e, dtype) -> bool:
    """Whether `e` needs no temporary of its own: a literal, or a variable already of the
    type `KernelEmitter.let` would declare (an index remap such as a broadcast or a slice
    returns its operand's variable; copying it would only add `float t2 = t1;`)."""
    import cdsl
    if isinstance(e, cdsl.Const):
        return True
    want = cnodes.ct(dtypes.int32 if dtype == dtypes.bool_ else dtype)
    return isinstance(e, cdsl.Var) and e.type == want


def _is_complex(dtype) -> bool:
    return np.dtype(dtype).kind == "c"


def _accumulator(kind, dt):
    """The type a sum or product accumulates in: float32 (and the 16-bit floats) in double,
    complex64 in complex128, so that 1e7-element sums stay within 1e-7; others in their own
    type."""
    if kind not in ("sum", "prod"):
        return dt
    if np.dtype(dt) == dtypes.float32 or _is_narrow(dt):
        return dtypes.float64
    if np.dtype(dt) == np.complex64:
        return np.dtype(np.complex128)
    return dt


def _is_narrow(dt) -> bool:
    return cnodes.is_narrow(dt)


def _vector_reduction(kind, dt):
    """The OpenMP reduction clause of an accumulation, or None: complex max/min are helper
    calls (no OpenMP operator), and a complex product's partial products would be combined
    with C's `*` (not NumPy's formula)."""
    if _is_complex(dt):
        return ("sum", None) if kind == "sum" else None
    if kind in ("sum", "prod") or not dtypes.is_float(dt):
        return (kind, None)
    return None


def _nest_vars(c, red_shape, prefix):
    """Loop variables for a reduction over several axes with a loop per axis, or None
    where one flat loop is kept (one axis, or a last axis shorter than _NEST_MIN). A loop
    per axis, the last vectorised, loads an operand broadcast along the last axis (a row's
    mean in `((x - m) / s).sum()`) once per row, where a flat loop whose index is divided
    back into the axes gathered it element by element (1024 x 1024: 1.04 ms flat, 0.14
    nested; layer norm 1.42 -> 0.42 ms, JAX 0.87)."""
    last = red_shape[-1] if red_shape else 1
    if len(red_shape) < 2 or (type(last) is int and last < _NEST_MIN):
        return None
    return [c.var(f"{prefix}_{k}", dtypes.int64) for k in range(len(red_shape))]


def _reduction_loop(c, j, n_red, nest, red_shape, inner, reduction):
    """The loop (nest) of a reduction: over j < n_red, or over each axis of red_shape with
    the `nest` variables, the innermost vectorised and carrying the reduction clause."""
    if nest is None:
        return c.for_(j, c.i64(0), c.i64(n_red), inner, simd=True, reduction=reduction)
    loop = c.for_(nest[-1], c.i64(0), c.i64(red_shape[-1]), inner, simd=True,
                  reduction=reduction)
    for k in reversed(range(len(nest) - 1)):
        loop = c.for_(nest[k], c.i64(0), c.i64(red_shape[k]), [loop])
    return loop


# A float sum whose terms call exp, log or another function of the math library (log_softmax's
# and logsumexp's sum of exps, an entropy's p * log(p)) computes its terms in a loop of their
# own into a stack row and then sums the row, in the same order (rows longer than _TERMS_ROW,
# or of a size known only at run time, in pieces of _TERMS_ROW). Two reasons:
# - The sum's loop keeps a fixed vector length (Dialect.reduction_simd_bits, 256: eight
#   float32 lanes) so that it adds in one order on every CPU; the terms' own loop is a map,
#   which takes the widest vectors, 16 float32 lanes with AVX-512. The entropy benchmark's
#   row (p * log(p), 4096 float32, Zen 5): 0.48 ns an element in the sum's loop, 0.24 split.
# - In the loop with the accumulator the C dialect keeps the library's exp (its own cost a
#   third of a row there), and glibc's vector exp hands every masked element (-1e9, -inf:
#   its result underflows) to a scalar routine, 5-6 ns each: a causal-masked log_softmax
#   ran 3.7x slower than JAX's. The separate loop is a map, where the dialect's exp has no
#   such path (AMD Zen 4, rows of 1000 in L1: 0.49 ns an element split, 0.45 fused with
#   the library's exp, 5.7 half masked).
_TERMS_ROW = 4096
# the calls that make a term costly enough for its own loop (cheap ones, fabs, floor,
# sqrt, fmax..., keep the one loop: there the extra store and load would cost more)
_COSTLY_TERMS = frozenset(LIBMVEC_MATH + ("lgamma", "tgamma"))


def _terms_in_a_row(c, stmts, v, j, n_red, acc, acc_dt, kind, red, name, groups=True):
    """The loops of `acc += v` over j < n_red with the terms stored in a row first, or None
    where the loop stays one (not a float sum, or no costly call among the terms); the row
    is summed in groups of four (`_sum_in_groups`) when `groups` says so. A short row of
    static size computes its terms in masked lanes (`_masked_tail`: log_softmax over rows
    of 10 ended each row's exps in scalar code)."""
    import cdsl
    if kind != "sum" or getattr(v.type, "name", "") not in ("f32", "f64") or \
            (type(n_red) is int and n_red <= 0) or \
            not any(isinstance(x, cdsl.Call) and x.fn in _COSTLY_TERMS
                    for x in cdsl.ast.walk((tuple(stmts), v))):
        return None
    # cdsl has no array declaration: raw C, as _reduce_in_scratch's (codegen's reductions
    # are the C backend's; OpenCL lowers its own in opencl_kernels)
    row = cdsl.Var(name, cdsl.PtrType(v.type, restrict=False, space=""))
    whole = type(n_red) is int and n_red <= _TERMS_ROW
    if whole:
        lo, hi, at = c.i64(0), c.i64(n_red), j
    else:
        lo, hi = c.var(f"{name}_lo", dtypes.int64), c.var(f"{name}_hi", dtypes.int64)
        at = c.sub(j, lo)
    body = list(stmts) + [cdsl.Store(row, at, v)]
    terms = (whole and _masked_tail(c, j, 0, n_red, body)) or \
        c.for_(j, lo, hi, body, simd=True)
    if groups and v.type.name == "f32" and np.dtype(acc_dt) == dtypes.float64:
        # float32 terms in groups of four, as `_sum_in_groups` adds them (within each piece)
        rj = c.var(f"{name}_j", dtypes.int64)
        n_here = n_red if whole else c.sub(hi, lo)
        total = _sum_in_groups(c, None, lambda jj: cdsl.Load(row, jj, v.type), [],
                               cdsl.Load(row, rj, v.type), rj, n_here, acc, acc_dt, kind, red,
                               lambda s: ([], s), piece=True)
    else:
        total = [c.for_(j, lo, hi, [c.assign(acc, _combine(
            c, kind, acc, c.cast(acc_dt, cdsl.Load(row, at, v.type)), acc_dt))],
            simd=True, reduction=red)]
    ctype = "float" if v.type.name == "f32" else "double"
    decl = cdsl.Raw(f"{ctype} {name}[{n_red if whole else _TERMS_ROW}];")
    if whole:
        return [decl, terms, *total]
    n, step = c.i64(n_red), c.i64(_TERMS_ROW)
    end = c.select(c.lt(c.add(lo, step), n), c.add(lo, step), n)
    return [decl, cdsl.For(lo, c.i64(0), n, (c.decl(hi, end), terms, *total),
                           step=_TERMS_ROW)]


def _sum_in_groups(c, em, value_at, stmts, v, j, n_red, acc, acc_dt, kind, red, hoist,
                   piece=False):
    """The loops of a float32 sum `acc += v` over j < n_red (acc a double) in groups of
    four terms, or None where the sum is not one. The row is cut into pieces of _TERMS_ROW
    (the pieces of `_terms_in_a_row`, so that both sum in one order); in a piece of m
    terms from lo, with q = m // 4, the terms lo + j, lo + j + q, lo + j + 2q and
    lo + j + 3q are added in float32, in that order, and their sum into the double
    accumulator (in the vector loop's fixed order); the piece's last m % 4 terms are added
    one by one after. A quarter of the conversions and of the dependent double additions:
    the one loop was bound by the accumulator's latency, 1.5x JAX's time on `sum(x, -1)`
    of (1024, 1024) (JAX adds in float32 alone). The error stays within a few float32
    roundings per group (three, then one), whatever n_red.

    `value_at(jj)`: the term at index jj, computed with `em` (None: no statements);
    `stmts` and `v`: the statements and value of the term at j (the tail loop's);
    `hoist(stmts)`: (statements that need no j, the rest); `piece`: n_red (an int or an
    expression) is one piece already."""
    if kind != "sum" or getattr(v.type, "name", "") != "f32" or \
            np.dtype(acc_dt) != dtypes.float64:
        return None
    static = type(n_red) is int
    if not piece and not (static and n_red <= _TERMS_ROW):
        lo, hi = c.var(f"{j.name}_lo", dtypes.int64), c.var(f"{j.name}_hi", dtypes.int64)
        n, step = c.i64(n_red), c.i64(_TERMS_ROW)
        q = c.div(c.sub(hi, lo), c.i64(4))
        start, end = lo, hi
    else:
        lo = None
        q = c.i64(n_red // 4) if static else c.div(n_red, c.i64(4))
        start = c.i64(0)
        end = n_red if isinstance(n_red, cdsl.ast.Expr) else c.i64(n_red)
    if em is not None:
        em.stmts, em.memo = [], {}     # (values computed at j belong to the tail's loop)
    first = j if lo is None else c.add(lo, j)
    parts = [value_at(first)] + [value_at(c.add(first, c.i64(u * (n_red // 4)) if
                                                lo is None and static else
                                                c.mul(q, c.i64(u)))) for u in (1, 2, 3)]
    group = parts[0]
    for p in parts[1:]:
        group = c.binop("+", group, p, dtypes.float32)
    pre, gstmts = hoist(em.stmts if em is not None else [])
    groups = c.for_(j, c.i64(0), q, gstmts + [
        c.assign(acc, c.binop("+", acc, c.cast(acc_dt, group), acc_dt))],
        simd=True, reduction=red)
    tail_start = c.i64(n_red // 4 * 4) if lo is None and static else \
        c.add(start, c.mul(q, c.i64(4)))
    tail = c.for_(j, tail_start, end, list(stmts) + [
        c.assign(acc, c.binop("+", acc, c.cast(acc_dt, v), acc_dt))])
    if lo is None:
        return pre + [groups] + ([] if static and n_red % 4 == 0 else [tail])
    stop = c.select(c.lt(c.add(lo, step), n), c.add(lo, step), n)
    return [cdsl.For(lo, c.i64(0), n, (c.decl(hi, stop), *pre, groups, tail),
                     step=_TERMS_ROW)]


def _const_int(e):
    import cdsl
    return int(e.value) if isinstance(e, cdsl.Const) and not e.type.is_float else None


def _split_end(idx, shape, d):
    """If idx[d:end] is a row-major split of one expression e over shape[d:end] (the form
    `_reshape_index` builds: e / (n1*...*nm), (e / (n2*...)) % n1, ..., e % nm), return end
    (idx[d].a is e); else 0."""
    import cdsl
    first = idx[d]
    if not (isinstance(first, cdsl.BinOp) and first.op == "/"):
        return 0
    inner, base = _const_int(first.b), first.a
    j = d + 1
    while inner is not None and inner > 1 and j < len(idx):
        n = shape[j]
        if type(n) is not int or inner % n:
            return 0
        inner //= n
        e = idx[j]
        if not (isinstance(e, cdsl.BinOp) and e.op == "%" and _const_int(e.b) == n):
            return 0
        e = e.a
        if inner > 1:
            if not (isinstance(e, cdsl.BinOp) and e.op == "/" and _const_int(e.b) == inner):
                return 0
            e = e.a
        if e is not base:
            return 0
        j += 1
    return j if inner == 1 and j > d + 1 else 0


def _reshape_index(c, idx, out_shape, in_shape):
    """The operand's multi-index of a reshape, computed group by group: runs of axes whose
    sizes multiply to the same product on both sides map to each other (a split is a div/mod
    of one index, a merge a linear combination), so an axis that both shapes keep (the
    channels of a pooling reshape) keeps its loop index and its loop stays vectorisable.
    None when a size is 0 or a run-time size would divide."""
    if 0 in out_shape or 0 in in_shape:
        return None
    od = [k for k, n in enumerate(out_shape) if n != 1]
    id_ = [k for k, n in enumerate(in_shape) if n != 1]
    res = [c.i64(0)] * len(in_shape)
    a = b = 0
    while a < len(od):
        ga, gb = [od[a]], [id_[b]]
        pa, pb = out_shape[od[a]], in_shape[id_[b]]
        a, b = a + 1, b + 1
        while pa != pb:
            if pa < pb:
                ga.append(od[a])
                pa *= out_shape[od[a]]
                a += 1
            else:
                gb.append(id_[b])
                pb *= in_shape[id_[b]]
                b += 1
        if len(ga) == 1 and len(gb) == 1:
            res[gb[0]] = idx[ga[0]]
            continue
        if any(type(in_shape[k]) is not int for k in gb[1:]):
            return None      # a run-time size as a divisor: the flat index keeps it symbolic
        lin = None
        for k in ga:
            lin = idx[k] if lin is None else c.add(c.mul(lin, c.i64(out_shape[k])), idx[k])
        inner = int(pb)
        for t, k in enumerate(gb):
            inner //= int(in_shape[k])
            e = lin if inner == 1 else c.div(lin, c.i64(inner))
            res[k] = c.mod(e, c.i64(in_shape[k])) if t > 0 else e
    return res


def _affine(c, e, start, stride):
    if stride != 1:
        e = c.mul(e, c.i64(stride))
    if start:
        e = c.add(e, c.i64(start))
    return e


def _idx_key(idx):
    if isinstance(idx, Flat):
        return ("flat", id(idx.expr))
    return tuple(id(e) for e in idx)


# ---------------------------------------------------------------------------------------
# Kernels: loop nests


def _is_flat_kernel(kernel: Kernel) -> bool:
    """True when every access in the kernel is at the root's own index (pure elementwise
    over same-shape operands, scalars, or contiguous reshapes)."""
    shape = kernel.root.aval.shape
    for e in list(kernel.inlined.values()) + [kernel.eqn]:
        if e.prim in ew.lowering_exprs:
            for a in e.inputs:
                if isinstance(a, Var) and a.aval.shape not in ((), shape) and \
                        a.aval.size != kernel.root.aval.size:
                    return False
            continue
        if e.prim is st.reshape_p:
            continue
        return False
    return True


def emit_map_kernel(c, kernel: Kernel, buffers) -> list:
    """Statements computing the materialised value `kernel.root` into its buffer: a map
    group of one (`emit_map_group`), or, for a reshape of a computed value (a Flatten of
    a ReLU), loops over the operand's shape, where its broadcasts (a bias per channel) are
    contiguous; same element order."""
    if not _loops_over_operand(kernel):
        return emit_map_group(c, [kernel], buffers)
    return _store_nest(c, kernel, buffers, kernel.eqn.inputs[0], buffers[kernel.root.id])


def _store_nest(c, kernel, buffers, x, out_ptr) -> list:
    """`out_ptr` = the value `x` (of `kernel`'s tree or a buffer), element by element in
    row-major order, as the loop nest over x's shape (`_nest`)."""
    shape = x.aval.shape
    ivars = [c.i64(0) if type(m) is int and m == 1 else c.var(f"i{d}", dtypes.int64)
             for d, m in enumerate(shape)]

    def emit(ranges):
        em = KernelEmitter(c, buffers)
        em.ranges = ranges
        val = em.value(x, ivars, kernel)
        return em, em.stmts + [c.store(out_ptr, em.offset(ivars, shape), val)]
    return _nest(c, emit, ivars, shape, x.aval.size)


def _nest(c, emit, ivars, shape, n) -> list:
    """The loop nest over `shape` (split where pads or concatenations switch pieces) of the
    point statements `emit(ranges)` builds; a scope, not a loop, for one element."""
    full = {v: (0, int(m)) for v, m in zip(ivars, shape)
            if type(m) is int and isinstance(v, cdsl.Var)}
    stmts = _split_nest(c, emit, ivars, shape, full, 0, [_MAX_PIECES], n >= PARALLEL_MIN)
    if not full and all(type(m) is int for m in shape):    # one element: a scope, not a loop
        return [cdsl.Block(tuple(stmts))]
    return stmts


# A loop nest is split into at most this many pieces (see _split_nest).
_MAX_PIECES = 16


def map_groups(steps, fusable=lambda step: True, skip=()) -> dict[int, list]:
    """{index of the first step: kernels} for runs of two or more consecutive map kernels
    over one shape that `emit_map_group` may compute in one loop nest; `skip`: indices of
    steps taken by another kind of group (a row group), which end a run."""
    groups, run = {}, []

    def close():
        if len(run) >= 2:
            groups[run[0][0]] = [k for _, k in run]

    for i, step in enumerate(steps):
        ok = i not in skip and isinstance(step, Kernel) and step.kind == "map" and \
            fusable(step) and not _loops_over_operand(step)
        if not ok or (run and step.root.aval.shape != run[0][1].root.aval.shape):
            close()
            run = []
        if ok:
            run.append((i, step))
    close()
    return groups


class ReduceGroup(list):
    """Reductions over one shape and the same leading axes, computed in one pass
    (`reduce_groups`, `emit_reduce_group`)."""


def reduce_groups(steps, fusable=lambda step: True, skip=()) -> dict[int, list]:
    """{index of the first step: ReduceGroup} for runs of two or more consecutive float32
    sums over the same leading axes of one shape, none reading another's result:
    a batch norm's backward pass sums four products of the same arrays over (N, H, W), and
    one pass reads those arrays once instead of four times. `skip`: indices of steps taken
    by another group, which end a run."""
    groups, run = {}, []

    def close():
        if len(run) >= 2:
            groups[run[0][0]] = ReduceGroup(k for _, k in run)

    def key(step):
        if not (isinstance(step, Kernel) and step.kind == "reduce" and fusable(step) and
                step.eqn.prim is rd.reduce_sum_p):
            return None
        x, axes = step.eqn.inputs[0], tuple(step.eqn.params["axes"])
        shape = x.aval.shape
        if np.dtype(step.root.aval.dtype) != dtypes.float32 or not axes or \
                axes != tuple(range(len(axes))) or len(axes) == len(shape):
            return None
        return shape, axes

    run_key, roots = None, set()
    for i, step in enumerate(steps):
        kk = None if i in skip else key(step)
        if kk is None or kk != run_key or len(run) == _GROUP_SUMS or \
                any(v.id in roots for v in step.inputs):
            close()
            run, run_key, roots = [], kk, set()
        if kk is not None:
            run.append((i, step))
            roots.add(step.root.id)
    close()
    return groups


# The most sums one pass computes: each has its own stack arrays of doubles (up to 64 KiB
# in column blocks), so a long run is cut into passes of this many.
_GROUP_SUMS = 8


def emit_reduce_group(c, kernels, buffers) -> list:
    """A ReduceGroup's sums in one pass over the rows (`_reduce_leading_in_scratch`): each
    member's values are those it gets alone."""
    dt = kernels[0].root.aval.dtype
    return _reduce_leading_in_scratch(c, list(kernels), buffers, "sum",
                                      _accumulator("sum", dt))


def _loops_over_operand(kernel: Kernel) -> bool:
    """Whether `emit_map_kernel` loops over the operand's shape rather than the root's (a
    reshape of a computed value, not flat)."""
    x = kernel.eqn.inputs[0] if kernel.eqn.inputs else None
    return kernel.eqn.prim is st.reshape_p and isinstance(x, Var) and x.aval.ndim > 1 and \
        len(kernel.root.aval.shape) > 1 and not _is_flat_kernel(kernel)


def map_group_point(c, em, kernels, buffers, idx, unread=frozenset()) -> bool:
    """Append to `em.stmts` the statements computing every member of a map group at index
    `idx` (the same index object for all) and storing it, except the members whose ids are
    in `unread` (read by no step outside the group and not an output: they live in a
    register only); False when a member reads an earlier member's value at another index.
    `em` must watch nothing else."""
    shape = kernels[0].root.aval.shape
    for n, k in enumerate(kernels):
        root, x = k.root, (k.eqn.inputs[0] if k.eqn.inputs else None)
        if k.eqn.prim is st.reshape_p and isinstance(idx, Flat) and isinstance(x, Var):
            val = em.value(x, Flat(idx.expr, x.aval.shape), k)
        else:
            val = em.inline(k.eqn, idx, k)
        if n < len(kernels) - 1 and not _is_named(val, root.aval.dtype):
            val = em.let(val, root.aval.dtype)     # (a later member may read it)
        if root.id not in unread:
            em.stmts.append(c.store(buffers[root.id], em.offset(idx, shape), val))
        # later members read this value at `idx` from its register; anywhere else, from
        # memory that may not hold it yet (`watch` makes such a read clear `row_ok`)
        em.memo[(root.id, _idx_key(idx))] = val
        em.watch.add(root.id)
    return em.row_ok


def emit_map_group(c, kernels, buffers, unread=frozenset()) -> list | None:
    """One loop nest computing the map kernels `kernels` (in order, over one shape): their
    stores share the loop, subexpressions they share are computed once, and a member that
    reads an earlier member's value at the same index takes it from the register it was
    just computed in, not back from memory (XLA's multi-output fusion: an optimizer's
    updates of m, v and the parameter; a recurrent cell's gates and the residuals its
    backward pass keeps). Members in `unread` (no step outside the group reads them) are
    not stored at all: random.bits' 20 rounds of Threefry stored 22 arrays no step read
    (1e6 draws: 5.2 ms). None when a member reads an earlier member's value at another
    index (that element may not be computed yet)."""
    shape = kernels[0].root.aval.shape
    n = kernels[0].root.aval.size
    if type(n) is int and n == 0:
        return []
    ok = [True]

    def point(em, idx):
        ok[0] = ok[0] and map_group_point(c, em, kernels, buffers, idx, unread)
        return em.stmts

    if all(_is_flat_kernel(k) for k in kernels) or len(shape) <= 1:
        one = type(n) is int and n == 1
        i = c.i64(0) if one else c.var("i", dtypes.int64)
        body = point(KernelEmitter(c, buffers, watch=set()), Flat(i, shape))
        if not ok[0]:
            return None
        if one:
            return [cdsl.Block(tuple(body))]
        return [c.for_(i, c.i64(0), c.i64(n), body, parallel=n >= PARALLEL_MIN, simd=True)]
    ivars = [c.i64(0) if type(m) is int and m == 1 else c.var(f"i{d}", dtypes.int64)
             for d, m in enumerate(shape)]
    merged = _merged_tail(c, kernels, buffers, ivars, shape, unread)
    if merged is not None:
        return merged

    def emit(ranges):
        em = KernelEmitter(c, buffers, watch=set())
        em.ranges = ranges
        return em, point(em, ivars)
    stmts = _nest(c, emit, ivars, shape, n)
    return stmts if ok[0] else None


def _merged_tail(c, kernels, buffers, ivars, shape, unread):
    """`emit_map_group`'s loop nest with its trailing axes merged into one loop, or None.
    The longest run of two or more trailing axes of static sizes whose every access reads
    them as one contiguous index (no operand broadcast along some of them only, no pad or
    concatenation cut inside them: nothing divides the merged index back into the axes).
    An NCHW map with per-channel operands (batch norm's normalisation, a bias, their
    gradients) looped over W alone: 28 float32 lanes, a vector and a remainder of 12
    per row, where H x W is one loop of 784."""
    looped = [d for d, v in enumerate(ivars) if isinstance(v, cdsl.Var)]
    for start in looped[:-1]:
        tail = range(start, len(shape))
        if any(type(shape[d]) is not int for d in tail) or \
                len([d for d in tail if d in looped]) < 2:
            continue
        m = c.var("im", dtypes.int64)
        size = math.prod(shape[start:])
        ok = [True]

        def emit(ranges, start=start, m=m, ok=ok):
            em = KernelEmitter(c, buffers, watch=set())
            em.ranges = ranges
            idx = list(ivars[:start]) + em.multi(Flat(m, shape[start:]))
            ok[0] = ok[0] and map_group_point(c, em, kernels, buffers, idx, unread)
            return em, em.stmts
        em, stmts = emit({})
        if em.cuts or any(isinstance(e, cdsl.BinOp) and e.op in ("/", "%") and
                          any(y is m for y in cdsl.ast.walk(e))
                          for st_ in stmts for e in cdsl.ast.walk(st_)):
            continue
        if not ok[0]:
            return None
        out = _nest(c, emit, list(ivars[:start]) + [m], tuple(shape[:start]) + (size,),
                    math.prod(shape))
        return out if ok[0] else None
    return None


def _split_nest(c, emit, ivars, shape, ranges, start, budget, parallel):
    """The loops over axes `start`... of a map kernel whose point statements `emit(ranges)`
    builds. Where a pad or a concatenation switches pieces along a loop (the gradient of a
    `split` is the sum of three pads; a GRU's gates are concatenated), the loop is split at
    those positions: in each piece every pad and concatenation is resolved at compile time,
    so the body has no clamped index, no bounds test and no load of a piece it does not
    need, and it vectorises. Only sizes known at compile time are split (never a run-time
    size of size-generic code)."""
    em, body = emit(ranges)
    looped = [k for k, v in enumerate(ivars) if isinstance(v, cdsl.Var)]
    last = looped[-1] if looped else -1
    for d in range(start, len(shape)):
        span = ranges.get(ivars[d])
        if span is None:
            continue
        cuts = sorted(p for p in em.cuts.get(ivars[d], ()) if span[0] < p < span[1])
        if cuts and len(cuts) < budget[0]:
            break
    else:
        d = None

    def loop(k, lo, hi, inner):
        par = k == 0 and parallel and (hi - lo) > 1
        if k == last and not par and type(lo) is int and type(hi) is int:
            masked = _masked_tail(c, ivars[k], lo, hi, inner)
            if masked is not None:
                return masked
        return c.for_(ivars[k], c.i64(lo), c.i64(hi), inner, parallel=par, simd=(k == last))

    def bounds(k):
        return ranges.get(ivars[k], (0, shape[k]))
    if d is None:
        for k in reversed([k for k in looped if k >= start]):
            body = [loop(k, *bounds(k), body)]
        return body
    budget[0] -= len(cuts)
    edges = [span[0]] + cuts + [span[1]]
    # Each piece is split again from axis d on (its loop over d comes from there): a cut
    # can show only once a piece is resolved, as a concatenation inside a pad's interior
    # (`pad(roll(x, 3, axis=1), 2)`: 1.24 ms with a select of two clamped loads per element,
    # JAX 1.05).
    body = [st for a, b in zip(edges, edges[1:])
            for st in _split_nest(c, emit, ivars, shape, {**ranges, ivars[d]: (a, b)}, d,
                                  budget, parallel)]
    for k in reversed([k for k in looped if start <= k < d]):
        body = [loop(k, *bounds(k), body)]
    return body


# A masked map row runs to a multiple of this many lanes (_masked_tail).
_LANES = 8


def _masked_tail(c, j, lo, hi, body):
    """The vectorised loop `lo <= j < hi` over a map row of 9-31 elements, not a multiple
    of _LANES, run to the next multiple with the lanes past `hi` masked, where gcc 12 ends
    each row in scalar code: a float32 tanh costs ~15x more scalar, and `tanh(x * w)` over
    (96000, 10) ran 8 lanes and 2 scalar elements, 1.33 ms (JAX 0.71); masked, 0.56. None
    (the plain loop) for rows of fewer than _LANES elements (a masked vector per row of
    2-7 cost up to 2x the scalar code for a bias and ReLU), for one element past two
    vectors (a masked vector costs more than it), for rows of 4 * _LANES or more (a masked
    tail after the whole vectors ran a bias and ReLU over rows of 50 3x slower), and where
    the body cannot be masked (`_masked_lanes`). The limit is opaque to gcc where one lane
    is masked: with a literal, gcc splits the loop there (-fsplit-loops) and leaves both
    parts scalar (rows of 15, 23 or 31: a bias and ReLU 6x slower than unmasked)."""
    n = hi - lo
    r = n % _LANES
    if n < _LANES or n >= 4 * _LANES or r == 0 or (r == 1 and n > 2 * _LANES):
        return None
    return _masked_loop(c, j, lo, hi, body, staged=_stage_row(n, j, body))


def _stage_row(n, j, body) -> bool:
    """Whether a masked map row of n elements stores through a stack row (`_masked_loop`):
    where its limit is opaque (every store masked), where the row is at most 10 long, and
    where the body reads a value of the row's own (a softmax's row maximum or sum). Measured
    on AMD Zen 3 over 960,000 float32 elements, ms staged / masked: relu(x + b) rows of 10
    0.35 / 0.54, of 15 0.45 / 0.89, of 23 0.40 / 0.83, of 31 0.41 / 1.66, but of 11 0.72 /
    0.43 and of 19-30 0.31-0.52 / 0.21-0.29; softmax rows of 13-30 (not 15 or 23) 1.56-2.00
    / 1.72-2.60, the masked form faster only at 14."""
    if n % _LANES == _LANES - 1 or n <= 10:
        return True
    return any(isinstance(e, cdsl.Load) and not _mentions(e.index, {j.name})
               for e in cdsl.ast.walk(tuple(body)))


def _masked_loop(c, j, lo, hi, body, after=None, reduction=None, opaque=False,
                 staged=False):
    """The loop `lo <= j < hi` (static bounds) run to the next multiple of _LANES with the
    lanes past `hi` masked (`_masked_lanes`), or None where `body` cannot be masked.
    `after(inside)`: statements appended to the masked body, given the lane test (a
    reduction's update, which must leave the accumulators alone on masked lanes); the loop
    carries `reduction`. The limit is opaque to gcc where one lane is masked (with a
    literal, gcc splits the loop there, -fsplit-loops, and leaves both parts scalar), or
    where `opaque` says so. `staged`: a store to consecutive elements (index `base + j`)
    writes every lane into a row on the stack, copied out after the loop, instead of a
    masked store: AMD's masked vector stores (vmaskmovps) are slow, and an exp over rows of
    10 (96000, 10) took 1.53 ms with them, 1.04 staged (Zen 3; unmasked with two scalar
    lanes, 1.11). Where gcc knows which lanes are masked and only the last vector's store
    is, the copy can cost more than the masked store (`_stage_row`)."""
    n = hi - lo
    stop = cdsl.Var(j.name + "_stop", j.type)
    stages: list | None = [] if staged else None
    masked = _masked_lanes(j, stop, body, stages, lo)
    if masked is None:
        return None
    if after is not None:
        masked += after(j.lt(stop))
    limit = [cdsl.Decl(stop, cdsl.Const(hi, j.type))]
    if opaque or n % _LANES == _LANES - 1:
        limit.append(cdsl.Raw(f'__asm__("" : "+r"({stop.name}));'))
    end = lo + -(-n // _LANES) * _LANES
    rows, copies = [], []
    t = cdsl.Var(f"{j.name}_t", j.type)
    j_at = t if lo == 0 else cdsl.BinOp("+", t, cdsl.Const(lo, j.type), j.type)

    def copy_index(e):
        return j_at if isinstance(e, cdsl.Var) and e.name == j.name else e
    for row, store in stages or ():
        rows.append(_stack_array(row.name, row.type.elem, end - lo)[0])
        at = cdsl.ast.rewrite(store.index, copy_index)
        copies.append(c.for_(t, c.i64(0), c.i64(n),
                             [cdsl.Store(store.ptr, at, cdsl.Load(row, t, row.type.elem))],
                             simd=True))
    return cdsl.Block(tuple(limit + rows + [c.for_(j, c.i64(lo), c.i64(end), masked,
                                                   simd=True, reduction=reduction)]
                            + copies))


def _consecutive(index, j) -> bool:
    """Whether `index` is j or `base + j` with base free of j."""
    if isinstance(index, cdsl.Var):
        return index.name == j.name
    if not (isinstance(index, cdsl.BinOp) and index.op == "+"):
        return False
    for a, b in ((index.a, index.b), (index.b, index.a)):
        if isinstance(a, cdsl.Var) and a.name == j.name and not _mentions(b, {j.name}):
            return True
    return False


def _mentions(e, names) -> bool:
    """Whether the expression (or statements) `e` reads a variable named in `names`."""
    return any(isinstance(x, cdsl.Var) and x.name in names for x in cdsl.ast.walk(e))


def _masked_lanes(j, stop, body, stages=None, lo=0):
    """`body` for lanes j >= stop too, or None: every load that depends on j reads only
    where j < stop (else 0), every store is made only there, and the values between are
    computed on all lanes. None where the body has other statements than declarations and
    stores, or divides integers by a value (a masked lane could hold 0). With a list
    `stages`, a store to consecutive elements of a buffer the body does not read writes
    lane j - lo of a stack row instead, and (the row, the store) is added to `stages`."""
    if not all(isinstance(s, (cdsl.Decl, cdsl.Store)) for s in body):
        return None
    for e in cdsl.ast.walk(tuple(body)):
        if isinstance(e, cdsl.BinOp) and e.op in ("/", "%") and \
                not getattr(e.type, "name", "f").startswith("f") and \
                not isinstance(e.b, cdsl.Const):
            return None
    inside = j.lt(stop)
    variant = {j.name}

    def masked(e):
        if isinstance(e, cdsl.Load) and _mentions(e.index, variant):
            zero = cdsl.Const(0.0 if e.type.name.startswith("f") else 0, e.type)
            return cdsl.Select(inside, e, zero)
        return e

    def guard(e):
        return cdsl.ast.rewrite(e, masked)

    read = {x.ptr.name for x in cdsl.ast.walk(tuple(body))
            if isinstance(x, cdsl.Load) and isinstance(x.ptr, (cdsl.Var, cdsl.Param))}
    out = []
    for s in body:
        if isinstance(s, cdsl.Store):     # (the value is computed on every lane: a call
            v = cdsl.Var(f"lane{len(out)}", s.value.type)    # in the branch stays scalar)
            out.append(cdsl.Decl(v, guard(s.value)))
            if stages is not None and _consecutive(s.index, j) and \
                    isinstance(s.ptr, (cdsl.Var, cdsl.Param)) and s.ptr.name not in read:
                row = cdsl.Var(f"{j.name}_row{len(stages)}",
                               cdsl.PtrType(s.ptr.type.elem, restrict=False, space=""))
                stages.append((row, s))
                at = j if lo == 0 else cdsl.BinOp("-", j, cdsl.Const(lo, j.type), j.type)
                out.append(cdsl.Store(row, at, v))
            else:
                out.append(cdsl.If(inside, (cdsl.Store(s.ptr, s.index, v),)))
            continue
        init = guard(s.init)
        if _mentions(init, variant):
            variant.add(s.var.name)
        out.append(cdsl.Decl(s.var, init))
    return out


_IDENT = {rd.reduce_sum_p: "sum", rd.reduce_max_p: "max", rd.reduce_min_p: "min",
          rd.reduce_prod_p: "prod"}


def loop_limit(eqn, kind) -> str | None:
    """Why the loop lowerings (C and OpenCL) cannot compute `eqn`, classified `kind` by
    `fusion.classify`, whatever its dtypes: a reduction with no monoid here, a pooling or
    window computation they lack. None when they can."""
    if kind == "reduce" and eqn.prim not in _IDENT:
        return "no device lowering"
    allowed = {"window": ("sum", "max", "min"), "pool_gather": ("max", "min"),
               "pool_scatter": ("max", "min")}.get(kind)
    if allowed is not None and eqn.params["computation"] not in allowed:
        return f"{eqn.params['computation']} window computation"
    return None


def _combine(c, kind, acc, v, dt):
    if kind == "sum":
        return c.binop("+", acc, v, dt)
    if kind == "prod":
        return c.binop("*", acc, v, dt)
    return c.call(("max_" if kind == "max" else "min_") + c.type_suffix(dt), [acc, v], dt)


def _identity(kind, dt):
    if kind == "sum":
        return 0
    if kind == "prod":
        return 1
    if _is_complex(dt):
        # the least (greatest) value of NumPy's lexicographic order
        inf = float("inf") if kind == "min" else -float("inf")
        return complex(inf, inf)
    return win.window_init(kind, dt).item()


def emit_reduce_kernel(c, kernel: Kernel, buffers) -> list:
    eqn = kernel.eqn
    kind = _IDENT[eqn.prim]
    x = eqn.inputs[0]
    in_shape = x.aval.shape
    axes = eqn.params["axes"]
    out = kernel.root
    dt = out.aval.dtype
    acc_dt = _accumulator(kind, dt)
    out_ptr = buffers[out.id]
    kept = [d for d in range(len(in_shape)) if d not in axes]
    n_out = out.aval.size
    n_red = math.prod(in_shape[a] for a in axes)
    if n_out == 0:
        return []
    ident = c.const(_identity(kind, dt), acc_dt)
    trailing = list(axes) == list(range(len(in_shape) - len(axes), len(in_shape)))
    # 16-bit floats have no buffer to accumulate in (the paths below accumulate in the output
    # buffer or in a variable of its type), and complex64 sums accumulate in complex128: a
    # variable of the accumulator type per output element, whatever the axes. (Unrolled,
    # complex max/min helpers also cost gcc seconds per reduction.) 16-bit sums and products
    # over non-trailing axes with a small output accumulate in a stack array instead
    # (`_reduce_in_scratch`): the per-output loops read the input once per output element.
    wide = _is_narrow(dt) or _is_complex(dt)
    # float32 and 16-bit sums and products over leading or interleaved axes: rows added into
    # float32 output cells one at a time lose digits (14,553 values near 0.7 summed into each
    # of 5 columns were off by 1.7e-4 relative; fuzz seed 20261215), so they accumulate in
    # double cells, each rounded once at the end; so do a few reduced cells, unrolled
    # (pooling written as a reshape and a mean), whose float32 accumulator gave other bits
    # than the eager kernel's and the size-generic program's double ones (8 cells of
    # values near 0.7: 1 ulp off in 1 of 3000 sums).
    doubled = not trailing and acc_dt != dt and kind in ("sum", "prod") and \
        not _is_complex(dt)
    if doubled and list(axes) == list(range(len(axes))):
        return _reduce_leading_in_scratch(c, [kernel], buffers, kind, acc_dt)
    # (the last axis among the reduced ones only when short: NCHW pooling written as
    # `max(x.reshape(n, c, h//2, 2, w//2, 2), axis=(3, 5))` reads pairs along it; the loop
    # in input order below took 6.0 ms on (64, 32, 28, 28), 15x the NHWC idiom, JAX 3.7)
    last_ok = len(in_shape) - 1 not in axes or (type(in_shape[-1]) is int and
                                                in_shape[-1] <= _UNROLL_LAST)
    # (nor where the output's last axis is 1: the cells' vector loop would have one
    # iteration, and gcc 12 took 48 s to compile a max over (64, 64, 1) unrolled into 64
    # cells that selected on loaded bools, 7 s over 32 cells, in if-conversion's cfg
    # cleanup; fuzz run 70 took 3-4 minutes)
    last_ok = last_ok and not (out.aval.ndim and type(out.aval.shape[-1]) is int and
                               out.aval.shape[-1] == 1)
    if not trailing and not wide and last_ok and \
            all(type(in_shape[a]) is int for a in axes) and 1 <= n_red <= _UNROLL_CELLS:
        return _reduce_unrolled(c, kernel, buffers, kind, acc_dt if doubled else None)
    if kind in ("max", "min") and not wide and list(axes) == list(range(len(axes))) and \
            len(axes) < len(in_shape):
        return _extreme_over_leading(c, kernel, buffers, kind)
    if doubled:
        if type(n_out) is int and n_out <= _SCRATCH_CELLS:
            return _reduce_in_scratch(c, kernel, buffers, kind, acc_dt)
        wide = True     # a big output over interleaved axes: one double per output element
    if trailing or wide:
        one = type(n_out) is int and n_out == 1   # one output: a scope, not a loop
        o = c.i64(0) if one else c.var("o", dtypes.int64)
        j = c.var("j", dtypes.int64)
        acc = c.var("acc", acc_dt)
        em = KernelEmitter(c, buffers)
        pre = []
        nest, red_shape = None, None

        def red_loop(inner, reduction):
            return _reduction_loop(c, j, n_red, nest, red_shape, inner, reduction)
        if trailing and _flat_input(kernel):
            def value_at(jj):
                return em.value(x, Flat(c.add(c.mul(o, c.i64(n_red)), jj), in_shape), kernel)
            v = value_at(j)
        else:
            # Outer multi-index from o (hoisted out of the inner loop), inner from j.
            kept_shape = [in_shape[d] for d in kept]
            o_idx = em.multi(Flat(o, kept_shape)) if kept_shape else []
            o_vars = []
            pre = []
            for k, e in enumerate(o_idx):
                ov = c.var(f"oi{k}", dtypes.int64)
                pre.append(c.decl(ov, e))
                o_vars.append(ov)
            red_shape = [in_shape[a] for a in sorted(axes)]
            nest = _nest_vars(c, red_shape, "j")
            if nest is not None:
                j_idx = nest
            else:
                j_idx = [j] if len(axes) == 1 else em.multi(Flat(j, red_shape))

            def value_at(jj):
                red_idx = [jj] if len(axes) == 1 else em.multi(Flat(jj, red_shape))
                kept_it, red_it = iter(o_vars), iter(red_idx if jj is not j else j_idx)
                return em.value(x, [next(red_it) if d in axes else next(kept_it)
                                    for d in range(len(in_shape))], kernel)
            v = value_at(j)
        if kind in ("max", "min") and dtypes.is_float(dt):
            # Vectorisable: an ordered max/min plus a NaN flag, combined after the loop.
            nanf = c.var("nanf", dtypes.int32)

            def update(val):
                better = c.binop(">" if kind == "max" else "<", val, acc, dtypes.bool_)
                return [c.assign(acc, c.select(better, val, acc)),
                        c.assign(nanf, c.binop("|", nanf, c.cast(dtypes.int32,
                                                                 c.ne(val, val)),
                                               dtypes.int32))]
            inner = em.stmts + update(v)
            reduction = ((kind, acc), ("or", nanf))
            loop = (nest is None and _short_row_extreme(c, j, n_red, em.stmts, v, inner,
                                                        update, ident, reduction)) or \
                red_loop(inner, reduction)
            result = c.select(c.ne(nanf, c.const(0, dtypes.int32)), c.const(np.nan, dt), acc)
            body = pre + [c.decl(acc, ident), c.decl(nanf, c.const(0, dtypes.int32)), loop,
                          _zero_sign_pass(c, kind, acc, acc_dt, em.stmts, v, red_loop, "zsf"),
                          c.store(out_ptr, o, result)]
        else:
            inner = em.stmts + [c.assign(acc, _combine(c, kind, acc, c.cast(acc_dt, v),
                                                       acc_dt))]
            red = _vector_reduction(kind, dt)
            red = (red[0], acc) if red is not None else None
            stmts = em.stmts
            loops = (nest is None and (
                _terms_in_a_row(c, stmts, v, j, n_red, acc, acc_dt, kind, red, "terms") or
                _sum_in_groups(c, em, value_at, stmts, v, j, n_red, acc, acc_dt, kind, red,
                               lambda s: ([], s)))) or [red_loop(inner, red)]
            body = pre + [c.decl(acc, ident)] + loops + [c.store(out_ptr, o, c.cast(dt, acc))]
        if one:
            return [cdsl.Block(tuple(body))]
        return [c.for_(o, c.i64(0), c.i64(n_out), body,
                       parallel=n_out * n_red >= PARALLEL_MIN and n_out > 1)]
    # General: initialise the output, then accumulate in input order (cache friendly).
    o = c.var("o", dtypes.int64)
    init = [c.for_(o, c.i64(0), c.i64(n_out), [c.store(out_ptr, o, c.cast(dt, ident))])]
    ivars = [c.var(f"i{d}", dtypes.int64) for d in range(len(in_shape))]
    em = KernelEmitter(c, buffers)
    v = em.value(x, ivars, kernel)
    out_off = em.offset([ivars[d] for d in kept], out.aval.shape)
    cur = c.load(out_ptr, out_off)
    body = em.stmts + [c.store(out_ptr, out_off, c.cast(dt, _combine(c, kind, cur, v, dt)))]
    for d in reversed(range(len(in_shape))):
        body = [c.for_(ivars[d], c.i64(0), c.i64(in_shape[d]), body)]
    return init + body


# The most output elements a float32 or 16-bit float sum over non-trailing axes accumulates
# in at once, in a stack array of doubles (32 KiB). Over leading axes a bigger output is
# summed in column blocks of this size; over interleaved axes it keeps the per-output-element
# loops.
_SCRATCH_CELLS = 4096


def _leading_view(kernel: Kernel):
    """A reduction over the leading axes seen as [rows, cols]: (its input, the input's
    shape, the number of reduced axes, their shape, the kept axes' shape, rows, cols)."""
    x = kernel.eqn.inputs[0]
    in_shape = x.aval.shape
    nr = len(kernel.eqn.params["axes"])
    red_shape, kept_shape = in_shape[:nr], in_shape[nr:]
    return (x, in_shape, nr, red_shape, kept_shape, math.prod(red_shape),
            math.prod(kept_shape))


def _reduce_leading_in_scratch(c, kernels: list, buffers, kind, acc_dt) -> list:
    """A float32 or 16-bit float sum or product over the leading axes (`sum(x, 0)`, a bias
    gradient `sum(x, (0, 1, 2))` of NHWC; sizes may be run-time values), the input seen as
    [rows, cols] (cols: the kept axes, flattened); `kernels`: one reduction, or several
    over one shape and axes computed in the same loops (`reduce_groups`).

    The rows are cut into chunks of _CHUNK_ROWS; each chunk's rows are added, in row order,
    into `acc_dt` (double) cells, and the chunks' partial results are added in chunk order
    into the result, rounded once into the output. The chunks do not depend on the thread
    count, so the bits do not either: a static reduction with enough work gives each chunk
    its own row of a stack array and runs the chunks in parallel; otherwise they run one
    after the other in column blocks of at most _SCRATCH_CELLS, in the same order. Eager's
    prebuilt leading-axis reductions are this lowering with run-time sizes: the same bits
    as jit, and a reduction computed in a group gets the bits it gets alone."""
    first = kernels[0]
    dt = first.root.aval.dtype
    _, in_shape, nr, red_shape, kept_shape, n_rows, n_cols = _leading_view(first)
    rows, cols = c.i64(n_rows), c.i64(n_cols)
    acc_ct = cnodes.ct(acc_dt)
    assert acc_ct is cdsl.f64, acc_dt
    ptr = cdsl.PtrType(acc_ct, restrict=False, space="")
    k, q, r, ch, lo, hi = (c.var(n, dtypes.int64) for n in ("k", "q", "r", "ch", "lo", "hi"))
    ident = c.const(_identity(kind, dt), acc_dt)
    chunk = c.i64(_CHUNK_ROWS)
    n_chunks = c.i64(-(-n_rows // _CHUNK_ROWS)) if type(n_rows) is int else \
        c.div(c.add(rows, c.i64(_CHUNK_ROWS - 1)), chunk)
    bounds = [c.decl(lo, c.mul(ch, chunk)),
              c.decl(hi, c.select(c.lt(c.sub(rows, lo), chunk), rows, c.add(lo, chunk)))]
    names = [""] if len(kernels) == 1 else [str(m) for m in range(len(kernels))]

    def chunk_rows(cells, col, kn) -> list:
        """The statements adding rows [lo, hi) at columns col(k), k < kn, of each member
        into its cell (cells[m](k)); members read shared values once."""
        indices = {}     # one index object per row: members' shared values hit em.memo

        def row_value(em, kern, row, typ):
            idx = indices.get(id(row))
            if idx is None:
                red_idx = [row] if nr == 1 else em.multi(Flat(row, red_shape))
                kept_idx = [col] if len(kept_shape) == 1 else em.multi(Flat(col, kept_shape))
                idx = indices[id(row)] = (row, red_idx + kept_idx)
            return c.cast(typ, em.value(kern.eqn.inputs[0], idx[1], kern))

        # Whole groups of _ROW_UNROLL rows, then the rest one row at a time. A float32 sum
        # adds a group's rows in float32, in row order, and that partial sum into the double
        # cell: a quarter of the conversions, and the error stays within a few float32
        # roundings (a group's three, then one) whatever the number of rows. Products (whose
        # float32 partial products could overflow) and 16-bit floats add each row into the
        # double cell.
        group_dt = dt if kind == "sum" and np.dtype(dt) == dtypes.float32 else acc_dt
        base = c.add(lo, c.mul(q, c.i64(_ROW_UNROLL)))
        row_u = [c.add(base, c.i64(u)) if u else base for u in range(_ROW_UNROLL)]
        em = KernelEmitter(c, buffers)
        stores = []
        for kern, cell in zip(kernels, cells):
            part = None
            for u in range(_ROW_UNROLL):
                v = row_value(em, kern, row_u[u], group_dt)
                if group_dt == acc_dt:
                    part = _combine(c, kind, cell.load if part is None else part, v, acc_dt)
                else:
                    part = v if part is None else _combine(c, kind, part, v, group_dt)
                part = em.let(part, group_dt)
            if group_dt != acc_dt:
                part = _combine(c, kind, cell.load, c.cast(acc_dt, part), acc_dt)
            stores.append(cell.store(part))
        whole = c.div(c.sub(hi, lo), c.i64(_ROW_UNROLL))
        groups = c.for_(q, c.i64(0), whole, [
            c.for_(k, c.i64(0), kn, em.stmts + stores, simd=True)])
        em = KernelEmitter(c, buffers)
        stores = [cell.store(_combine(c, kind, cell.load, row_value(em, kern, r, acc_dt),
                                      acc_dt)) for kern, cell in zip(kernels, cells)]
        rest = c.for_(r, c.add(lo, c.mul(whole, c.i64(_ROW_UNROLL))), hi, [
            c.for_(k, c.i64(0), kn, em.stmts + stores, simd=True)])
        return [c.for_(k, c.i64(0), kn, [cell.store(ident) for cell in cells]), groups, rest]

    def store_out(col, totals):
        return [c.store(buffers[kern.root.id], col, c.cast(dt, t))
                for kern, t in zip(kernels, totals)]

    static = type(n_rows) is int and type(n_cols) is int
    n_part = -(-n_rows // _CHUNK_ROWS) * n_cols if static else None
    if static and n_rows * n_cols >= PARALLEL_MIN and n_rows > _CHUNK_ROWS and \
            n_part * len(kernels) <= _PARALLEL_CELLS:
        # One row of `rpart` per chunk, the chunks in parallel; then, per column, the
        # chunks' partial results in chunk order.
        parts = [cdsl.Var(f"rpart{m}", ptr) for m in names]
        at = c.add(c.mul(ch, cols), k)
        body = bounds + chunk_rows([_Cell(p, at, acc_ct) for p in parts], k, cols)
        totals = [c.var(f"rtot{m}", acc_dt) for m in names]
        combine = c.for_(k, c.i64(0), cols, [c.decl(t, ident) for t in totals] + [
            c.for_(ch, c.i64(0), n_chunks, [
                c.assign(t, _combine(c, kind, t, cdsl.Load(p, at, acc_ct), acc_dt))
                for t, p in zip(totals, parts)])] + store_out(k, totals))
        decl = cdsl.Raw("double " + ", ".join(f"rpart{m}[{n_part}]" for m in names) + ";")
        return [cdsl.Block((decl, cdsl.For(ch, c.i64(0), n_chunks, tuple(body),
                                           parallel=True, parallel_min=2), combine))]
    # Serially: per column block, each chunk into `racc`, then added into `rtot`.
    n_cols_int = n_cols if type(n_cols) is int else None
    one_block = n_cols_int is not None and n_cols_int <= _SCRATCH_CELLS
    if one_block:       # static bounds: gcc unrolls and vectorises the short column loops
        k0, kn, col = c.i64(0), cols, k
    else:
        k0, kn = c.var("k0", dtypes.int64), c.var("kn", dtypes.int64)
        col = c.add(k0, k)
    accs = [cdsl.Var(f"racc{m}", ptr) for m in names]
    tots = [cdsl.Var(f"rtot{m}", ptr) for m in names]
    cells = [_Cell(a, k, acc_ct) for a in accs]
    size = n_cols_int if one_block else _SCRATCH_CELLS
    if one_block and type(n_rows) is int and n_rows <= _CHUNK_ROWS:
        # One chunk: its partial result is the result (0 + p and 1 * p are p).
        lo, hi = c.i64(0), rows
        body = chunk_rows(cells, col, kn) + [
            c.for_(k, c.i64(0), kn, store_out(col, [cell.load for cell in cells]))]
        decl = cdsl.Raw("double " + ", ".join(f"racc{m}[{size}]" for m in names) + ";")
        return [cdsl.Block((decl, *body))]
    tot_k = [cdsl.Load(t, k, acc_ct) for t in tots]
    body = [c.for_(k, c.i64(0), kn, [cdsl.Store(t, k, ident) for t in tots]),
            c.for_(ch, c.i64(0), n_chunks, bounds + chunk_rows(cells, col, kn) + [
                c.for_(k, c.i64(0), kn, [cdsl.Store(t, k, _combine(
                    c, kind, tk, cell.load, acc_dt)) for t, tk, cell in zip(tots, tot_k, cells)],
                       simd=True)]),
            c.for_(k, c.i64(0), kn, store_out(col, tot_k))]
    decl = cdsl.Raw("double " + ", ".join(f"racc{m}[{size}], rtot{m}[{size}]"
                                          for m in names) + ";")
    if one_block:
        return [cdsl.Block((decl, *body))]
    block, left = c.i64(_SCRATCH_CELLS), c.sub(cols, k0)
    body.insert(0, c.decl(kn, c.select(c.lt(left, block), left, block)))
    return [cdsl.Block((decl, cdsl.For(k0, c.i64(0), cols, tuple(body),
                                       step=_SCRATCH_CELLS)))]


def _extreme_over_leading(c, kernel: Kernel, buffers, kind) -> list:
    """A max or min over the leading axes (`max(x, 0)`; sizes may be run-time values), the
    input seen as [rows, cols]: the output row starts at the identity and each input row
    is combined into it, in a vectorised loop. max and min are exact whatever the order,
    NaN and signed zeros included (the helpers' rules are symmetric), so with enough work
    the threads take column blocks of _EXTREME_COLS each (the general loop in input order
    ran on one thread). (Rows combined in registers first, four at a time, would save the
    output row's loads and stores, but gcc 12 vectorises no chain of the helpers, and
    their exact select form, vectorised, took 2.4x the time of this loop.)"""
    dt = kernel.root.aval.dtype
    x, _, nr, red_shape, kept_shape, n_rows, n_cols = _leading_view(kernel)
    out = buffers[kernel.root.id]
    r, k, b, kn = (c.var(n, dtypes.int64) for n in ("r", "k", "b", "kn"))
    blocked = type(n_rows) is int and type(n_cols) is int and \
        n_rows * n_cols >= PARALLEL_MIN and n_cols > _EXTREME_COLS
    col = c.add(b, k) if blocked else k
    cols = kn if blocked else c.i64(n_cols)
    em = KernelEmitter(c, buffers)
    red_idx = [r] if nr == 1 else em.multi(Flat(r, red_shape))
    kept_idx = [col] if len(kept_shape) == 1 else em.multi(Flat(col, kept_shape))
    v = em.value(x, red_idx + kept_idx, kernel)
    rows = c.for_(r, c.i64(0), c.i64(n_rows), [c.for_(k, c.i64(0), cols, em.stmts + [
        c.store(out, col, _combine(c, kind, c.load(out, col), v, dt))], simd=True)])
    ident = c.const(_identity(kind, dt), dt)
    body = [c.for_(k, c.i64(0), cols, [c.store(out, col, ident)], simd=True), rows]
    if not blocked:
        return body
    left = c.sub(c.i64(n_cols), b)
    step = c.i64(_EXTREME_COLS)
    return [cdsl.For(b, c.i64(0), c.i64(n_cols), (
        c.decl(kn, c.select(c.lt(left, step), left, step)), *body), step=_EXTREME_COLS,
        parallel=True, parallel_min=2)]


_EXTREME_COLS = 256     # a thread's column block in `_extreme_over_leading`


class _Cell:
    """A scratch cell `ptr[index]`: `load` reads it, `store(value)` writes it."""

    def __init__(self, ptr, index, ctype):
        self.ptr, self.index = ptr, index
        self.load = cdsl.Load(ptr, index, ctype)

    def store(self, value):
        return cdsl.Store(self.ptr, self.index, value)


_ROW_UNROLL = 4
_CHUNK_ROWS = 1024          # a multiple of _ROW_UNROLL
_PARALLEL_CELLS = 1 << 14   # the most doubles of per-chunk partial results (128 KiB)


def _reduce_in_scratch(c, kernel: Kernel, buffers, kind, acc_dt) -> list:
    """A float32 or 16-bit float sum or product over interleaved axes (`sum(x, (0, 2))`)
    with a small static output: the general path's order (the input read once, in memory
    order, each element added to its output cell), but into a stack array of `acc_dt`
    (double) cells, each rounded once into the output at the end (the per-output loop reads
    the whole input once per output element, with a stride: 18x slower than float32 on
    [64,28,28,32]). Where reduced axes end the input (`sum(x, (0, 2, 3))` of NCHW), each
    block of them is summed in a vectorised loop of its own and the block's total added to
    its cell (`_scratch_blocks`); otherwise the elements are added one by one, in the
    order of the per-output loop (the reduced indices row-major)."""
    import cdsl
    eqn = kernel.eqn
    x = eqn.inputs[0]
    in_shape, axes = x.aval.shape, eqn.params["axes"]
    out = kernel.root
    dt = out.aval.dtype
    n_out = out.aval.size
    kept = [d for d in range(len(in_shape)) if d not in axes]
    acc_ct = cnodes.ct(acc_dt)
    # cdsl has no array declaration: the array is declared as raw C (the C backend only;
    # OpenCL lowers reductions in opencl_kernels), inside a block so it is scoped to this
    # step.
    scratch = cdsl.Var("racc", cdsl.PtrType(acc_ct, restrict=False, space=""))
    o = c.var("o", dtypes.int64)
    assert acc_ct is cdsl.f64, acc_dt   # float32 and 16-bit sums accumulate in double
    stmts = [cdsl.Raw(f"double racc[{n_out}];"),
             c.for_(o, c.i64(0), c.i64(n_out),
                    [cdsl.Store(scratch, o, c.const(_identity(kind, dt), acc_dt))])]
    # the reduced axes that end the input (H and W of NCHW batch statistics over (0, 2, 3))
    nd = len(in_shape)
    t = 0
    while t < nd and nd - 1 - t in axes:
        t += 1
    block_shape = list(in_shape[nd - t:])
    if t and math.prod(block_shape) >= _NEST_MIN:
        body = _scratch_blocks(c, kernel, buffers, kind, acc_dt, scratch, block_shape)
    else:
        ivars = [c.var(f"i{d}", dtypes.int64) for d in range(nd)]
        em = KernelEmitter(c, buffers)
        v = em.value(x, ivars, kernel)
        off = em.offset([ivars[d] for d in kept], out.aval.shape)
        cur = cdsl.Load(scratch, off, acc_ct)
        body = em.stmts + [cdsl.Store(scratch, off,
                                      _combine(c, kind, cur, c.cast(acc_dt, v), acc_dt))]
        for d in reversed(range(nd)):
            body = [c.for_(ivars[d], c.i64(0), c.i64(in_shape[d]), body)]
    stmts += body
    stmts.append(c.for_(o, c.i64(0), c.i64(n_out),
                        [c.store(buffers[out.id], o, c.cast(dt, cdsl.Load(scratch, o, acc_ct)))]))
    return [cdsl.Block(tuple(stmts))]


def _scratch_blocks(c, kernel: Kernel, buffers, kind, acc_dt, scratch, block_shape) -> list:
    """`_reduce_in_scratch`'s loops where the reduced axes end with `block_shape`: a loop
    nest over the other axes, in memory order, around one reduction of each block in
    `acc_dt` (the lanes of a row reduction, `_reduction_loop`; costly terms first into a
    row, `_terms_in_a_row`), whose total is added into the block's output cell. Each cell
    gets its blocks' totals in row-major order of the other reduced axes. NCHW batch
    statistics, mean and variance over (0, 2, 3) of (64, 64, 28, 28): 3.72 ms with each
    element added to its cell in turn (a chain of dependent double additions), JAX 0.49."""
    import cdsl
    eqn = kernel.eqn
    x = eqn.inputs[0]
    in_shape, axes = x.aval.shape, eqn.params["axes"]
    out = kernel.root
    dt = out.aval.dtype
    nd, t = len(in_shape), len(block_shape)
    m = math.prod(block_shape)
    kept = [d for d in range(nd) if d not in axes]
    ivars = [c.var(f"i{d}", dtypes.int64) for d in range(nd - t)]
    j = c.var("jb", dtypes.int64)
    blk = c.var("rblk", acc_dt)
    em = KernelEmitter(c, buffers)
    nest = None
    if _flat_input(kernel):
        base = em.offset(ivars, in_shape[:nd - t])

        def value_at(jj):
            return em.value(x, Flat(c.add(c.mul(base, c.i64(m)), jj), in_shape), kernel)
        v = value_at(j)
        pre, stmts = _row_invariant(em.stmts, [j], [m])
    else:
        # One loop over the block where the terms need no division of its index (operands
        # broadcast along the other axes only: the mean in a variance; em.offset reads the
        # input at the block's own index); a loop per block axis otherwise (_nest_vars)
        def value_at(jj):
            return em.value(x, ivars + em.multi(Flat(jj, block_shape)), kernel)
        v = value_at(j)
        pre, stmts = _row_invariant(em.stmts, [j], [m])
        if t > 1 and any(isinstance(e, cdsl.BinOp) and e.op in ("/", "%")
                         and any(y is j for y in cdsl.ast.walk(e)) for s in stmts
                         for e in cdsl.ast.walk(s)):
            nest = _nest_vars(c, block_shape, "jb")
            if nest is not None:
                em = KernelEmitter(c, buffers)
                v = em.value(x, ivars + nest, kernel)
                pre, stmts = _row_invariant(em.stmts, nest, block_shape)
    red = _vector_reduction(kind, dt)
    red = (red[0], blk) if red is not None else None
    inner = stmts + [c.assign(blk, _combine(c, kind, blk, c.cast(acc_dt, v), acc_dt))]
    loops = (nest is None and (
        _terms_in_a_row(c, stmts, v, j, m, blk, acc_dt, kind, red, "rterms") or
        _sum_in_groups(c, em, value_at, stmts, v, j, m, blk, acc_dt, kind, red,
                       lambda s: _row_invariant(s, [j], [m])))) or \
        [_reduction_loop(c, j, m, nest, block_shape, inner, red)]
    off = em.offset([ivars[d] for d in kept], out.aval.shape)
    cur = cdsl.Load(scratch, off, cnodes.ct(acc_dt))
    body = pre + [c.decl(blk, c.const(_identity(kind, dt), acc_dt))] + loops + \
        [cdsl.Store(scratch, off, _combine(c, kind, cur, blk, acc_dt))]
    for d in reversed(range(nd - t)):
        body = [c.for_(ivars[d], c.i64(0), c.i64(in_shape[d]), body)]
    return body


def _short_row_extreme(c, j, n_red, stmts, v, inner, update, ident, reduction):
    """The loop of a float max or min over a short row of static size that is not a
    multiple of _LANES, or None (the vectorised loop): gcc 12 ends each row's vector loop
    in scalar code and combines the lanes, which cost more than the row. Rows of fewer
    than _LANES terms run a scalar loop; rows of 9-47 run to the next multiple of _LANES
    with the lanes past the row masked (their term the identity). Max over (96000, 10)
    float32, one thread, AMD Zen 3 (AVX2): 1.30 ms vectorised, 0.42 masked (JAX 0.34); over
    (160000, 6): 2.42 vectorised, 0.45 scalar. Rows of 48 or more keep the vector loop
    (every lane tested: 3.4x slower than it at 100)."""
    if type(n_red) is not int or n_red % _LANES == 0 or n_red >= 6 * _LANES:
        return None
    if n_red < _LANES:
        return c.for_(j, c.i64(0), c.i64(n_red), inner)
    return _masked_extreme(c, j, n_red, stmts, v, update, ident, reduction)


def _masked_extreme(c, j, n, stmts, v, update, ident, reduction, opaque=False):
    """The masked loop (`_masked_loop`) of an extreme over a row of n terms: each lane's
    term `v` (computed by `stmts`) is the identity past the row, then `update(term)`."""
    row, lane = cdsl.Var("vrow", v.type), cdsl.Var("vlane", v.type)
    return _masked_loop(c, j, 0, n, list(stmts) + [cdsl.Decl(row, v)],
                        lambda inside: [cdsl.Decl(lane, c.select(inside, row, ident))] +
                        update(lane), reduction, opaque=opaque)


def _zero_winner(c, kind, v, dt):
    """(whether the term `v` is the zero that wins a max (min) whose result is a zero, that
    zero): JAX's -0 < +0, so +0 for a max, -0 for a min."""
    sign = sign_set(v, v.type)
    wins = c.land(c.eq(v, c.const(0, dt)), sign if kind == "min" else c.lnot(sign))
    return wins, c.const(0.0 if kind == "max" else -0.0, dt)


def _zero_sign_pass(c, kind, acc, acc_dt, stmts, v, loop, name):
    """The sign of a zero max (min) of floats, as JAX gives it (-0 < +0: +0 if any term is
    +0, else -0; min the reverse), after the vectorised loop: OpenMP combines its lanes'
    maxima in an unspecified order and `v > acc ? v : acc` keeps whichever zero came first.
    A second pass over the terms (`stmts` computing `v`, in `loop(body, reduction)`), run
    only where the extreme is a zero, looks for a zero of the winning sign, so the main
    loop keeps its cost (a flag updated per term in it made a row of 1000 float32 in L1
    1.3-2x slower, AMD EPYC; the pass costs one compare per row and doubles only the rows
    whose max is 0)."""
    zf = c.var(name, dtypes.int32)
    wins, win = _zero_winner(c, kind, v, acc_dt)
    scan = loop(list(stmts) + [c.assign(zf, c.binop("|", zf, c.cast(dtypes.int32, wins),
                                                    dtypes.int32))], (("or", zf),))
    fix = c.assign(acc, c.select(c.ne(zf, c.const(0, dtypes.int32)), win, acc))
    return cdsl.If(c.eq(acc, c.const(0, acc_dt)),
                   (c.decl(zf, c.const(0, dtypes.int32)), scan, fix))


def _reduce_unrolled(c, kernel: Kernel, buffers, kind, acc_dt=None) -> list:
    """A small reduction over axes that are not the last, or a short last one (max pooling
    written as `max(x.reshape(n, h//2, 2, w//2, 2, c), axis=(2, 4))`, or in NCHW over
    (3, 5)): the reduced cells unrolled, in row-major order, in the output's type or in
    `acc_dt` (a float32 sum's double), at most _UNROLL_CELLS of them, inside a loop nest
    over the output whose innermost loop is the output's last axis. Only for static
    reduced sizes: the prebuilt eager kernels are lowered once for all sizes."""
    eqn = kernel.eqn
    x = eqn.inputs[0]
    in_shape, axes = x.aval.shape, eqn.params["axes"]
    out = kernel.root
    dt = out.aval.dtype
    at = dt if acc_dt is None else acc_dt
    ovars = [c.var(f"i{d}", dtypes.int64) for d in range(out.aval.ndim)]
    em = KernelEmitter(c, buffers)
    acc = c.var("acc", at)
    for j, cell in enumerate(itertools.product(*[range(in_shape[a]) for a in axes])):
        kept, red = iter(ovars), iter(cell)
        v = em.value(x, [c.i64(next(red)) if d in axes else next(kept)
                         for d in range(len(in_shape))], kernel)
        if at != dt:
            v = c.cast(at, em.let(v, dt))
        if j == 0:
            first = v if kind in ("max", "min") else _combine(
                c, kind, c.const(_identity(kind, at), at), v, at)
            em.stmts.append(c.decl(acc, first))
        else:
            em.stmts += _combine_stmts(c, kind, acc, em.let(v, at), at)
    res = acc if at == dt else c.cast(dt, acc)
    body = em.stmts + [c.store(buffers[out.id], em.offset(ovars, out.aval.shape), res)]
    return _output_nest(c, ovars, out.aval.shape, body)


def _flat_input(kernel: Kernel) -> bool:
    x = kernel.eqn.inputs[0]
    if not isinstance(x, Var) or x.id not in kernel.inlined:
        return True
    sub = Kernel("map", x, kernel.inlined[x.id], kernel.inlined, kernel.inputs)
    return _is_flat_kernel(sub)



# ---------------------------------------------------------------------------------------
# Windows (pooling). A window of at most _UNROLL_CELLS cells is unrolled into straight-line
# code inside a loop nest over the output whose innermost loop is the output's last axis
# (the channels, in NHWC): that loop reads and writes contiguously and vectorises. Cells
# that may fall in the padding are checked only where they can (the check is decided per
# axis and window offset). Bigger windows keep a loop nest over the cells.
#
# max/min pooling's derivative picks, per window, the first cell holding the extreme value,
# NaN counting as the monoid's identity, and cell 0 when no cell beats it (all -inf or NaN):
# the reference's argmax rule (and XLA's select-and-scatter).

_UNROLL_CELLS = 64
# the longest last axis a reduction unrolled over (_reduce_unrolled) may reduce
_UNROLL_LAST = 8
# the shortest last reduced axis that gets a loop of its own when several axes are reduced
_NEST_MIN = 16


def _window_cells(p):
    """The window's cells (offset tuples, row-major), or None when it is too big to unroll."""
    wd = p["window_dimensions"]
    if math.prod(wd) > _UNROLL_CELLS:
        return None
    return list(itertools.product(*[range(w) for w in wd]))


def _cell_at(c, em, kernel, x, p, ovars, out_shape, cell):
    """x at the (static) window cell `cell` of the window at output index `ovars`: (value,
    clamped index, validity or None when the cell is always inside x)."""
    in_shape = x.aval.shape
    idx, valid = [], None
    for d, n in enumerate(in_shape):
        s, lo = p["window_strides"][d], p["padding"][d][0]
        off = cell[d] - lo
        pos = ovars[d] if s == 1 else c.mul(ovars[d], c.i64(s))
        if off > 0:
            pos = c.add(pos, c.i64(off))
        elif off < 0:
            pos = c.sub(pos, c.i64(-off))
        conds = []
        if off < 0:
            conds.append(c.ge(pos, c.i64(0)))
        if (out_shape[d] - 1) * s + off >= n:
            conds.append(c.lt(pos, c.i64(n)))
        for cond in conds:
            valid = cond if valid is None else c.land(valid, cond)
        idx.append(c.call("clamp_i64", [pos, c.i64(0), c.i64(max(n - 1, 0))], dtypes.int64)
                   if conds else pos)
    return em.value(x, idx, kernel), idx, valid


def _output_nest(c, ovars, shape, body, parallel=True, simd=True):
    n = math.prod(shape)
    nd = len(shape)
    if nd == 0:
        # a rank-0 nest: a scope of its own, not the function's (two reduce_windows of
        # scalars in one program both declared `acc`; two one-update scatters `vt1`)
        return [cdsl.Block(tuple(body))]
    for d in reversed(range(nd)):
        body = [c.for_(ovars[d], c.i64(0), c.i64(shape[d]), body,
                       parallel=(parallel and d == 0 and n * 4 >= PARALLEL_MIN and
                                 shape[0] > 1),
                       simd=simd and d == nd - 1 and nd > 1)]
    return body


def _combine_stmts(c, kind, acc, v, dt) -> list:
    """acc = combine(acc, v) as statements gcc vectorises: max/min as an ordered select then
    a NaN select (one select with `a > b || a != a` defeats gcc 12's if-conversion when the
    operands are themselves selects, e.g. a ReLU)."""
    if kind not in ("max", "min") or _is_complex(dt):
        return [c.assign(acc, _combine(c, kind, acc, v, dt))]
    out = [c.assign(acc, c.select(_better(c, kind, v, acc), v, acc))]
    if dtypes.is_float(dt):
        # -0 < +0 (JAX's max/min): of equal values v is taken where the max so far is -0,
        # or v is min's -0 (a statement of its own, as the NaN select)
        signed = sign_set(acc if kind == "max" else v, acc.type)
        out.append(c.assign(acc, c.select(c.land(c.eq(v, acc), signed), v, acc)))
        out.append(c.assign(acc, c.select(c.ne(v, v), v, acc)))
    return out


def _first_best(c, kind, v, dt):
    """The running extreme after cell 0: its value, NaN counting as the identity."""
    if not dtypes.is_float(dt):
        return v
    return c.select(c.ne(v, v), c.const(_identity(kind, dt), dt), v)


def _padded(c, em, valid, v, ident, dt):
    """`valid ? v : ident`: a window cell's value, or the identity where it lies in the
    padding; floats by blending bits (cdsl.helpers' bsel), which keeps gcc from turning the
    cell's load into a masked one that stops the loop vectorising (a 3 x 3 max pool with
    SAME padding: 160 ms scalar, against JAX's 19; its derivative 142 ms, JAX 187). Where
    the emitter `em` allows it: not on OpenCL (whose dialect has no `__builtin_memcpy`),
    nor for `export.to_c`."""
    from .gemm import portable
    if em.bit_select and dt in (dtypes.float32, dtypes.float64) and not portable():
        return c.call("bsel_" + c.type_suffix(dt), [valid, v, ident], dt)
    return c.select(valid, v, ident)


def emit_window_kernel(c, kernel: Kernel, buffers) -> list:
    """reduce_window (pooling): per output element, the window's cells combined in row-major
    order (the reference's order); cells in the padding contribute the monoid's identity."""
    eqn = kernel.eqn
    p = eqn.params
    kind = p["computation"]
    x = eqn.inputs[0]
    out = kernel.root
    dt = out.aval.dtype
    out_shape = out.aval.shape
    if out.aval.size == 0:
        return []
    cells = _window_cells(p)
    if cells is None:
        return _cell_loops_per_output(c, kernel, buffers, window_loop_stmts)
    ovars = [c.var(f"i{d}", dtypes.int64) for d in range(len(out_shape))]
    em = KernelEmitter(c, buffers)
    ident = c.const(_identity(kind, dt), dt)
    acc = c.var("acc", dt)
    for j, cell in enumerate(cells):
        v, _, valid = _cell_at(c, em, kernel, x, p, ovars, out_shape, cell)
        if valid is not None:
            v = _padded(c, em, valid, v, ident, dt)
        if j == 0:
            em.stmts.append(c.decl(acc, c.binop("+", ident, v, dt) if kind == "sum" else v))
        else:
            em.stmts += _combine_stmts(c, kind, acc, em.let(v, dt), dt)
    body = em.stmts + [c.store(buffers[out.id], em.offset(ovars, out_shape), acc)]
    return _output_nest(c, ovars, out_shape, body)


def _cell_loops_per_output(c, kernel: Kernel, buffers, cell_loop) -> list:
    """A window kernel with a big window (reduce_window, pool_gather): a loop nest over the
    output's elements whose body, `cell_loop(c, em, kernel, ovars, offset)`, loops over the
    window's cells."""
    out_shape = kernel.root.aval.shape
    ovars = [c.var(f"i{d}", dtypes.int64) for d in range(len(out_shape))]
    em = KernelEmitter(c, buffers)
    body = cell_loop(c, em, kernel, ovars, em.offset(ovars, out_shape))
    return _output_nest(c, ovars, out_shape, body, simd=False)


def window_loop_stmts(c, em, kernel: Kernel, ovars, dst) -> list:
    """reduce_window at the output multi-index `ovars`, a loop nest over the window's cells,
    stored at flat offset `dst` of the output (the C loop nest's body, and an OpenCL work
    item's)."""
    eqn = kernel.eqn
    p = eqn.params
    kind = p["computation"]
    x = eqn.inputs[0]
    out = kernel.root
    dt = out.aval.dtype
    wvars = [c.var(f"w{d}", dtypes.int64) for d in range(x.aval.ndim)]
    acc = c.var("acc", dt)
    ident = c.const(_identity(kind, dt), dt)
    v, _, _ = _window_cell(c, em, kernel, x, p, ovars, wvars, ident)
    inner = em.stmts + [c.assign(acc, _combine(c, kind, acc, v, dt))]
    em.stmts = []
    return [c.decl(acc, ident)] + _window_loops(c, p, wvars, inner) + [
        c.store(em.buffers[out.id], dst, acc)]


def _window_cell(c, em, kernel, x, p, ovars, wvars, ident):
    """The value of `x` at window cell (ovars, wvars), identity outside; and its flat offset
    into x (clamped)."""
    in_shape = x.aval.shape
    idx, valid = [], None
    for d in range(len(in_shape)):
        lo = p["padding"][d][0]
        pos = c.add(c.mul(ovars[d], c.i64(p["window_strides"][d])), wvars[d])
        if lo:
            pos = c.sub(pos, c.i64(lo))
        for cond in (c.ge(pos, c.i64(0)), c.lt(pos, c.i64(in_shape[d]))):
            valid = cond if valid is None else c.land(valid, cond)
        idx.append(c.call("clamp_i64", [pos, c.i64(0), c.i64(max(in_shape[d] - 1, 0))],
                          dtypes.int64))
    v = em.value(x, idx, kernel)
    if valid is not None:
        v = _padded(c, em, valid, v, ident, x.aval.dtype)
    return v, idx, valid


def _window_loops(c, p, wvars, inner):
    for d in reversed(range(len(wvars))):
        if p["window_dimensions"][d] == 1:
            inner = [c.decl(wvars[d], c.i64(0))] + inner
        else:
            inner = [c.for_(wvars[d], c.i64(0), c.i64(p["window_dimensions"][d]), inner)]
    return inner


def _better(c, kind, v, best):
    return c.binop(">" if kind == "max" else "<", v, best, dtypes.bool_)


def _chosen_cell(c, em, kernel, x, p, ovars, out_shape, cells, kind, dt, extra=None):
    """Statements (into em.stmts) tracking the chosen cell of the window at `ovars`; returns
    (index of the chosen cell as an int32 variable, [(index, validity) per cell], and the
    `extra(idx, valid, j, better)` results per cell)."""
    ident = c.const(_identity(kind, dt), dt)
    best = c.var("best", dt)
    sel = c.var("sel", dtypes.int32)
    where, extras = [], []
    for j, cell in enumerate(cells):
        v, idx, valid = _cell_at(c, em, kernel, x, p, ovars, out_shape, cell)
        if valid is not None:
            v = _padded(c, em, valid, v, ident, dt)
        where.append((idx, valid))
        if j == 0:
            em.stmts += [c.decl(best, _first_best(c, kind, v, dt)),
                         c.decl(sel, c.const(0, dtypes.int32))]
            better = None
        else:
            vv = em.let(v, dt)
            better = em.let(_better(c, kind, vv, best), dtypes.bool_)
            em.stmts += [c.assign(sel, c.select(better, c.const(j, dtypes.int32), sel)),
                         c.assign(best, c.select(better, vv, best))]
        if extra is not None:
            extras.append(extra(idx, valid, j, better))
    return sel, where, extras


def emit_pool_gather_kernel(c, kernel: Kernel, buffers) -> list:
    """pool_gather(t, x): per window, t at the chosen cell (0 when that cell is padding)."""
    eqn = kernel.eqn
    p = eqn.params
    t, x = eqn.inputs
    out = kernel.root
    dt = out.aval.dtype
    out_shape = out.aval.shape
    if out.aval.size == 0:
        return []
    cells = _window_cells(p)
    if cells is None:
        return _cell_loops_per_output(c, kernel, buffers, pool_gather_loop_stmts)
    ovars = [c.var(f"i{d}", dtypes.int64) for d in range(len(out_shape))]
    em = KernelEmitter(c, buffers)
    tb = c.var("tb", dt)

    def track(idx, valid, j, better):
        tv = em.value(t, idx, kernel)
        if valid is not None:
            tv = _padded(c, em, valid, tv, c.const(0, dt), dt)
        em.stmts.append(c.decl(tb, tv) if better is None else
                        c.assign(tb, c.select(better, tv, tb)))

    _chosen_cell(c, em, kernel, x, p, ovars, out_shape, cells, p["computation"],
                 x.aval.dtype, track)
    body = em.stmts + [c.store(buffers[out.id], em.offset(ovars, out_shape), tb)]
    return _output_nest(c, ovars, out_shape, body)


def pool_gather_loop_stmts(c, em, kernel: Kernel, ovars, dst) -> list:
    """pool_gather at the output multi-index `ovars`, a loop over the window's cells, stored
    at flat offset `dst` of the output. Cell 0 is chosen first (NaN counting as the
    identity), then strictly better cells: a window of only -inf/NaN picks cell 0, as the
    reference does."""
    eqn = kernel.eqn
    p = eqn.params
    t, x = eqn.inputs
    out = kernel.root
    dt = out.aval.dtype
    kind = p["computation"]
    nd = x.aval.ndim
    wvars = [c.var(f"w{d}", dtypes.int64) for d in range(nd)]
    best = c.var("best", x.aval.dtype)
    tb = c.var("tb", dt)
    ident = c.const(_identity(kind, x.aval.dtype), x.aval.dtype)
    v0, idx0, valid0 = _cell_at(c, em, kernel, x, p, ovars, out.aval.shape, (0,) * nd)
    t0 = em.value(t, idx0, kernel)
    if valid0 is not None:
        v0 = _padded(c, em, valid0, v0, ident, x.aval.dtype)
        t0 = _padded(c, em, valid0, t0, c.const(0, dt), dt)
    pre = em.stmts + [c.decl(best, _first_best(c, kind, v0, x.aval.dtype)), c.decl(tb, t0)]
    em.stmts = []
    v, idx, _ = _window_cell(c, em, kernel, x, p, ovars, wvars, ident)
    tv = em.value(t, idx, kernel)
    better = _better(c, kind, v, best)
    inner = em.stmts + [c.assign(tb, c.select(better, tv, tb)),
                        c.assign(best, c.select(better, v, best))]
    em.stmts = []
    return pre + _window_loops(c, p, wvars, inner) + [c.store(em.buffers[out.id], dst, tb)]


def emit_pool_scatter_kernel(c, kernel: Kernel, buffers) -> list:
    """pool_scatter(ct, x): each window's ct goes to its chosen cell. Windows that tile x
    exactly write every cell once (no zeroing pass); otherwise the output is zeroed and the
    windows add into it."""
    import cdsl
    eqn = kernel.eqn
    p = eqn.params
    ct, x = eqn.inputs
    out = kernel.root
    dt = out.aval.dtype
    optr = buffers[out.id]
    if out.aval.size == 0:
        return []
    wd, ws, pads = p["window_dimensions"], p["window_strides"], p["padding"]
    pshape = ct.aval.shape
    cells = _window_cells(p)
    tiles = cells is not None and all(
        w == s and pd == (0, 0) and n == o * s
        for w, s, pd, n, o in zip(wd, ws, pads, x.aval.shape, pshape))
    stmts = []
    if not tiles:
        z = c.var("z", dtypes.int64)
        stmts.append(c.for_(z, c.i64(0), c.i64(out.aval.size),
                            [c.store(optr, z, c.const(0, dt))],
                            parallel=out.aval.size >= PARALLEL_MIN, simd=True))
    if ct.aval.size == 0:
        return stmts
    if cells is None:
        return stmts + _pool_scatter_loops(c, kernel, buffers)
    nd = x.aval.ndim
    ovars = [c.var(f"i{d}", dtypes.int64) for d in range(nd)]
    em = KernelEmitter(c, buffers)
    ctv = em.value(ct, list(ovars), kernel)
    sel, where, _ = _chosen_cell(c, em, kernel, x, p, ovars, pshape, cells,
                                 p["computation"], x.aval.dtype)
    zero = c.const(0, dt)
    for j, (idx, valid) in enumerate(where):
        off = em.offset(idx, x.aval.shape)
        val = c.select(c.eq(sel, c.const(j, dtypes.int32)), ctv, zero)
        if tiles:
            em.stmts.append(c.store(optr, off, val))
            continue
        st = c.store(optr, off, c.binop("+", c.load(optr, off), val, dt))
        em.stmts.append(st if valid is None else cdsl.If(valid, (st,)))
    # Overlapping windows write the same cells: such axes are neither split over threads
    # nor vectorised. (A rank-0 operand has no axes: one window, one cell.)
    return stmts + _output_nest(c, ovars, pshape, em.stmts, parallel=wd[:1] <= ws[:1],
                                simd=wd[-1:] <= ws[-1:])


def _pool_scatter_loops(c, kernel: Kernel, buffers) -> list:
    """pool_scatter with a big window (the output already zeroed): loops over the cells."""
    p = kernel.eqn.params
    pshape = kernel.eqn.inputs[0].aval.shape
    ovars = [c.var(f"i{d}", dtypes.int64) for d in range(len(pshape))]
    body = pool_scatter_loop_stmts(c, KernelEmitter(c, buffers), kernel, ovars)
    return _output_nest(c, ovars, pshape, body,
                        parallel=p["window_dimensions"][:1] <= p["window_strides"][:1] and
                        tuple(p["padding"][:1]) in ((), ((0, 0),)), simd=False)


def pool_scatter_loop_stmts(c, em, kernel: Kernel, ovars) -> list:
    """pool_scatter of the window at multi-index `ovars` (of the cotangent) into the zeroed
    output: a loop over the window's cells finds the chosen one (cell 0 first, as in
    `pool_gather_loop_stmts`; a padding cell 0 has no position, -1), which the window's
    cotangent is added to."""
    import cdsl
    eqn = kernel.eqn
    p = eqn.params
    ct, x = eqn.inputs
    dt = kernel.root.aval.dtype
    optr = em.buffers[kernel.root.id]
    kind = p["computation"]
    nd = x.aval.ndim
    wvars = [c.var(f"w{d}", dtypes.int64) for d in range(nd)]
    best = c.var("best", x.aval.dtype)
    bpos = c.var("bpos", dtypes.int64)
    ident = c.const(_identity(kind, x.aval.dtype), x.aval.dtype)
    ctv = em.value(ct, list(ovars), kernel)
    v0, idx0, valid0 = _cell_at(c, em, kernel, x, p, ovars, ct.aval.shape, (0,) * nd)
    off0 = em.offset(idx0, x.aval.shape)
    if valid0 is not None:
        v0 = _padded(c, em, valid0, v0, ident, x.aval.dtype)
        off0 = c.select(valid0, off0, c.i64(-1))
    pre = em.stmts + [c.decl(best, _first_best(c, kind, v0, x.aval.dtype)),
                      c.decl(bpos, off0)]
    em.stmts = []
    v, idx, _ = _window_cell(c, em, kernel, x, p, ovars, wvars, ident)
    better = _better(c, kind, v, best)
    off = em.offset(idx, x.aval.shape)
    inner = em.stmts + [c.assign(bpos, c.select(better, off, bpos)),
                        c.assign(best, c.select(better, v, best))]
    em.stmts = []
    return pre + _window_loops(c, p, wvars, inner) + [
        cdsl.If(c.ge(bpos, c.i64(0)),
                (c.store(optr, bpos, c.binop("+", c.load(optr, bpos), ctv, dt)),))]


def emit_scatter_kernel(c, kernel: Kernel, buffers, copy=True) -> list:
    """scatter(x, indices, updates): copy x into the output, then apply the updates one by
    one in order (duplicate indices combine as NumPy's `ufunc.at` does); updates whose index
    is out of bounds are dropped (JAX's rule). The update loop is serial. `copy=False`: the
    output already holds x (it shares x's buffer, `emit_update_in_place`)."""
    eqn = kernel.eqn
    x, ind, upd = eqn.inputs
    axes, mode = eqn.params["axes"], eqn.params["mode"]
    out = kernel.root
    dt = out.aval.dtype
    optr = buffers[out.id]
    n = out.aval.size
    if n == 0:
        return []
    stmts = _copy_nest(c, kernel, buffers, x, optr) if copy else []
    ushape = upd.aval.shape
    if upd.aval.size == 0:
        return stmts
    uvars = [c.var(f"u{d}", dtypes.int64) for d in range(len(ushape))]
    em = KernelEmitter(c, buffers)
    nb = ind.aval.ndim - 1
    valid, comps = None, {}
    for j, a in enumerate(axes):
        q = em.let(c.cast(dtypes.int64, em.value(ind, uvars[:nb] + [c.i64(j)], kernel)),
                   dtypes.int64)
        for cond in (c.ge(q, c.i64(0)), c.lt(q, c.i64(x.aval.shape[a]))):
            valid = cond if valid is None else c.land(valid, cond)
        comps[a] = q
    rest = iter(uvars[nb:])
    off = em.offset([comps[d] if d in comps else next(rest) for d in range(x.aval.ndim)],
                    out.aval.shape)
    u = em.value(upd, uvars, kernel)
    cur = c.load(optr, off)
    if mode == "set":
        new = u
    elif mode == "add":
        new = c.binop("+", cur, u, dt)
    elif mode == "mul":
        new = c.binop("*", cur, u, dt)
    else:
        new = _combine(c, mode, cur, u, dt)
    import cdsl
    store = c.store(optr, off, new)
    body = em.stmts + [cdsl.If(valid, (store,)) if valid is not None else store]
    # (updates may hit one cell twice: no threads, no vectors; one update is a block of its
    # own, as every rank-0 nest: the gradient of `where(arange(n) == i, a, b)`, fuzz run 122)
    return stmts + _output_nest(c, uvars, ushape, body, parallel=False, simd=False)


def _copy_nest(c, kernel: Kernel, buffers, x, optr) -> list:
    """`optr` = the value `x` (its elements in order), as the loop nest over x's shape, or
    over the shape of the value `x` is an inlined reshape of: there the nest splits where a
    concatenation or pad switches pieces (`_nest`). (A flat loop over a scatter's operand
    computed a stencil's rolls with a division per element: 2.2 ms of a 1024 x 1024 step
    that JAX takes 0.8 ms for.)"""
    src = x
    while isinstance(src, Var) and src.id in kernel.inlined and \
            kernel.inlined[src.id].prim is st.reshape_p and \
            isinstance(kernel.inlined[src.id].inputs[0], Var):
        src = kernel.inlined[src.id].inputs[0]
    return _store_nest(c, kernel, buffers, src, optr)


def emit_update_in_place(c, kernel: Kernel, buffers) -> list:
    """A scatter or dynamic_update_slice whose output shares its operand's buffer (a loop
    carry updated in place, see `backends.c.Executable`): only the updated elements are
    written. The caller has made sure that nothing else reads the operand."""
    if kernel.kind == "scatter":
        return emit_scatter_kernel(c, kernel, buffers, copy=False)
    eqn = kernel.eqn
    assert eqn.prim is ix.dynamic_update_slice_p and kernel.root is eqn.outputs[0]
    x, upd, *starts = eqn.inputs
    ushape = upd.aval.shape
    if upd.aval.size == 0:
        return []
    # the window's corner, clamped so that the window fits (JAX's rule), once per call
    pre = KernelEmitter(c, buffers, name_prefix="s")
    corner = [pre.let(pre._clamped_index(s, [], n - u + 1, kernel), dtypes.int64)
              for s, n, u in zip(starts, x.aval.shape, ushape)]
    uvars = [c.var(f"u{d}", dtypes.int64) for d in range(len(ushape))]
    em = KernelEmitter(c, buffers)
    val = em.value(upd, uvars, kernel)
    off = em.offset([c.add(s, u) for s, u in zip(corner, uvars)], x.aval.shape)
    body = em.stmts + [c.store(buffers[kernel.root.id], off, val)]
    big = upd.aval.size >= PARALLEL_MIN
    for d in reversed(range(len(ushape))):
        body = [c.for_(uvars[d], c.i64(0), c.i64(ushape[d]), body,
                       parallel=big and d == 0, simd=d == len(ushape) - 1)]
    # (a scope of its own: a function may hold several such updates; fuzz seed 20261998)
    return [cdsl.Block(tuple(pre.stmts + body))]


def emit_update_or_copy(c, kernel: Kernel, buffers) -> list:
    """A scatter or dynamic_update_slice of a buffer (a program's argument): where the output
    is that buffer (the argument donated, `backends.c.Executable.donation_map`), only the
    updated elements are written (`emit_update_in_place`); else as always."""
    full = LOOP_KERNELS[kernel.kind](c, kernel, buffers)
    part = emit_update_in_place(c, kernel, buffers)
    same = cdsl.BinOp("==", buffers[kernel.root.id], buffers[kernel.eqn.inputs[0].id])
    return [cdsl.If(same, tuple(part), tuple(full))]


def emit_arg_kernel(c, kernel: Kernel, buffers) -> list:
    """argmax/argmin over one axis: per output index, the first position of the extreme
    value, or of the first NaN when there is one (NumPy's and JAX's rule)."""
    eqn = kernel.eqn
    x = eqn.inputs[0]
    axis = eqn.params["axis"]
    out = kernel.root
    in_shape, dt = x.aval.shape, x.aval.dtype
    if out.aval.size == 0:
        return []
    kind = "max" if eqn.prim is rd.argmax_p else "min"
    kept = [d for d in range(len(in_shape)) if d != axis]
    o, j = c.var("o", dtypes.int64), c.var("j", dtypes.int64)
    best, bi = c.var("best", dt), c.var("bi", dtypes.int64)
    em = KernelEmitter(c, buffers)
    pre, o_vars = [], []
    for k, e in enumerate(em.multi(Flat(o, [in_shape[d] for d in kept]))):
        ov = c.var(f"oi{k}", dtypes.int64)
        pre.append(c.decl(ov, e))
        o_vars.append(ov)
    it = iter(o_vars)
    v = em.value(x, [j if d == axis else next(it) for d in range(len(in_shape))], kernel)
    n = out.aval.size
    # (the rows themselves, where they are a buffer's: its tiles filled by transposes)
    src = buffers[x.id] if x.id not in kernel.inlined and x.id in buffers and \
        axis == len(in_shape) - 1 and _shuffle_fill_fits(dt, in_shape[axis], n) else None
    lanes = _rows_in_lanes(c, kind, em.stmts, pre, v, o, j, in_shape, axis, dt, n,
                           buffers[out.id], out.aval.dtype, src)
    start = c.i64(0)
    if lanes is not None:
        lanes, start = lanes
    two = None if lanes is not None else \
        _extreme_then_first(c, kind, em.stmts, v, j, in_shape, axis, dt)
    if two is not None:
        body = pre + two[0] + [c.store(buffers[out.id], o, c.cast(out.aval.dtype, two[1]))]
        return [c.for_(o, c.i64(0), c.i64(n), body,
                       parallel=n * in_shape[axis] >= PARALLEL_MIN and n > 1)]
    take = _better(c, kind, v, best)
    state = [c.decl(best, c.const(_identity(kind, dt), dt)), c.decl(bi, c.i64(0))]
    flags = []
    if dtypes.is_float(dt) or _is_complex(dt):
        found = c.var("found", dtypes.int32)
        state.append(c.decl(found, c.const(0, dtypes.int32)))
        first = c.eq(found, c.const(0, dtypes.int32))
        if _is_complex(dt):
            # NumPy's argmax of complex values: lexicographic, the first NaN (in either
            # part) wins
            real = dtypes.real_dtype(dt)
            re, im = c.call("real", [v], real), c.call("imag", [v], real)
            isnan = em.let(c.binop("||", c.ne(re, re), c.ne(im, im), dtypes.bool_),
                           dtypes.bool_)
        else:
            isnan = c.ne(v, v)
        take = c.binop("||", c.land(isnan, first), c.land(first, take), dtypes.bool_)
        flags = [c.assign(found, c.binop("|", found, c.cast(dtypes.int32, isnan),
                                         dtypes.int32))]
    t = em.let(take, dtypes.bool_)
    inner = em.stmts + [c.assign(bi, c.select(t, j, bi)),
                        c.assign(best, c.select(t, v, best))] + flags
    body = pre + state + [c.for_(j, c.i64(0), c.i64(in_shape[axis]), inner),
                          c.store(buffers[out.id], o, c.cast(out.aval.dtype, bi))]
    if lanes is not None:
        # (the rows after the last whole tile)
        return lanes + [c.for_(o, start, c.i64(n), body)]
    return [c.for_(o, c.i64(0), c.i64(n), body,
                   parallel=n * in_shape[axis] >= PARALLEL_MIN and n > 1)]


def _extreme_then_first(c, kind, stmts, v, j, in_shape, axis, dt):
    """argmax/argmin along the last axis in two vectorised passes, or None (the one serial
    loop): the row's extreme with a NaN flag (`emit_reduce_kernel`'s), then the first
    position holding it (the first NaN where there is one), as (statements, the position
    as an int32 expression). The serial loop carries the best value, its position and a
    NaN flag from one element to the next, which gcc 12 compiles to branches that random
    rows mispredict: argmax over (96000, 10) float32, the accuracy of a classifier, took
    3.6 ms (JAX 0.61). Measured per row length (one thread, AMD Zen 3, 960,000 float32
    elements): rows of 5-64 run both passes to a multiple of 8 with masked lanes and the
    limit hidden from gcc (rows of 10: 2.7 -> 0.85 ms; 100: 1.4 -> 0.35); longer rows
    find the position with an early exit (4096: 0.92 -> 0.10); rows of 2-4, 8 and 16 keep
    the serial loop, which gcc unrolls without branches there (0.15-0.5 ms, where two
    passes cost 0.6-3.1). Float and integer types; not complex or bool, not a size known
    only at run time, and not where the value costs a call of the math library (the
    second pass computes it again)."""
    import cdsl
    m = in_shape[axis]
    if axis != len(in_shape) - 1 or type(m) is not int or m in (8, 16) or m <= 4 or \
            m >= 2**31 or _is_complex(dt) or dt == dtypes.bool_ or \
            any(isinstance(e, cdsl.Call) and e.fn in _COSTLY_TERMS
                for e in cdsl.ast.walk((tuple(stmts), v))):
        return None
    is_float = dtypes.is_float(dt)
    ext, nanf = c.var("ext", dt), c.var("nanf", dtypes.int32)
    bi, cand = c.var("bi", dtypes.int32), c.var("cand", dtypes.int32)
    ident = c.const(_identity(kind, dt), dt)
    none, zero = c.const(m, dtypes.int32), c.const(0, dtypes.int32)

    def update(val):
        out = [c.assign(ext, c.select(_better(c, kind, val, ext), val, ext))]
        if is_float:
            out.append(c.assign(nanf, c.binop("|", nanf, c.cast(dtypes.int32, c.ne(val, val)),
                                              dtypes.int32)))
        return out

    def hit(val):
        if not is_float:
            return c.eq(val, ext)
        return c.select(c.ne(nanf, zero), c.ne(val, val), c.eq(val, ext))
    red = ((kind, ext), ("or", nanf)) if is_float else ((kind, ext),)
    row = cdsl.Var("vrow", v.type)
    state = [c.decl(ext, ident)] + ([c.decl(nanf, zero)] if is_float else []) + \
        [c.decl(bi, none)]
    if m <= _ARG_MASKED:
        first = _masked_extreme(c, j, m, stmts, v, update, ident, red, opaque=True)
        find = _masked_loop(c, j, 0, m, list(stmts) + [cdsl.Decl(row, v)],
                            lambda inside: [
                                # (`&`, not `&&`: gcc branched on it, 1.5x slower)
                                c.decl(cand, c.select(c.binop("&", inside, hit(row),
                                                              dtypes.bool_),
                                                      c.cast(dtypes.int32, j), none)),
                                c.assign(bi, c.select(c.lt(cand, bi), cand, bi))],
                            (("min", bi),), opaque=True)
        if first is None or find is None:
            return None
        loops = [first, find]
    else:
        loops = [c.for_(j, c.i64(0), c.i64(m), list(stmts) + update(v), simd=True,
                        reduction=red),
                 c.for_(j, c.i64(0), c.i64(m), list(stmts) + [
                     cdsl.If(hit(v), (c.assign(bi, c.cast(dtypes.int32, j)), cdsl.Break()))])]
    # (no position found cannot happen on a non-empty row; 0, as the serial loop gives)
    return state + loops, c.select(c.eq(bi, none), zero, bi)


# argmax/argmin rows up to this long run both passes in masked lanes (_extreme_then_first)
_ARG_MASKED = 64
# argmax/argmin rows this long run _LANE_ROWS rows at a time, one row per lane
# (`_rows_in_lanes`). Measured at one thread, AMD Zen 3 (AVX2), 960,000 float32
# elements: rows of 5-31 took 0.27-0.37 ms (before: 0.55-1.3 ms; JAX 0.21-0.4); rows of
# 2-4 and 8 were slower in lanes (0.42-0.68 against 0.2-0.4 ms), 16 and 32 the same.
# Rows that are a buffer's own, of 8 to 64 float32 or int32 values, run in lanes whatever
# their length, their tile filled by transposes (`_shuffle_fill`): 0.18-0.23 ms for
# float32 rows of 8-64 (0.31-0.53 before), 0.11-0.15 ms for int32 (0.18-0.44), AMD Zen 3.
_ARG_LANES = frozenset(range(5, 32)) - {8, 16}
_LANE_ROWS = 16


def _stack_array(name, t, size):
    """(its declaration, a pointer to it) for a C array of `size` elements of cdsl type
    `t` on the stack, aligned to 32 bytes. Without it, in a function that calls nothing
    and wrote staged rows (`_masked_loop`), gcc 12 read rsp - 0x40, 8 bytes off 16, with
    an aligned vector load (`vmovdqa`): a segmentation fault (fuzz run 74)."""
    return (cdsl.Raw(f"{C99.type_names[t.name]} {name}[{size}] __attribute__((aligned(32)));"),
            cdsl.Var(name, cdsl.PtrType(t, restrict=False, space="")))


# Tiles of rows filled by 8 x 8 transposes in registers (cdsl's `tpose8` helper) where a
# row is a contiguous run of 8 to _ROW_LANE_MAX 32-bit values; FUNCGRAD_TILE_SHUFFLE=0
# keeps gcc's element-by-element gathers, for comparison.
TILE_SHUFFLE = os.environ.get("FUNCGRAD_TILE_SHUFFLE", "1") != "0"
SHUFFLE_MIN = 1 << 15
_TPOSE_TYPES = {dtypes.float32: "tpose8_f32", dtypes.int32: "tpose8_i32"}


def _shuffle_fill_fits(dt, m, rows) -> bool:
    """Whether `_shuffle_fill` may fill a tile of `rows` rows of `m` values of `dt`: 32-bit
    values, rows of at least 8, at least SHUFFLE_MIN values in all (or a row count known
    only at run time), in the C backend's own code (GCC's vector extensions; not in
    `export.to_c`, whose output is plain C99). (Each transpose is 24 shuffles that gcc
    expands one by one: the MLP step's softmax over (128, 10), 12 transposes, added
    ~35 ms to its module's ~310 ms build and saved microseconds a call.)"""
    from .gemm import portable
    return TILE_SHUFFLE and dt in _TPOSE_TYPES and type(m) is int and \
        8 <= m <= _ROW_LANE_MAX and _big_rows(rows, m) and not portable()


def _big_rows(rows, m) -> bool:
    """Whether `rows` rows of `m` values take the lanes' code for big arrays (transposed
    tiles, a max/min without per-term flags): SHUFFLE_MIN values or more, or a row count
    known only at run time."""
    return type(rows) is not int or rows * m >= SHUFFLE_MIN


def _shuffle_fill(c, tile, rows, first, m, dt, store=False) -> list:
    """Statements filling `tile` (element j of lane l at j * _LANE_ROWS + l) with the
    _LANE_ROWS rows of `m` values at `rows` from row `first` (row r at rows[r * m]), or
    with `store`, storing the tile into those rows: per half tile of 8 rows, one 8 x 8
    transpose per 8 columns; the last one, where 8 does not divide m, takes columns m - 8
    to m - 1 and writes again some that the one before it wrote, with the same values."""
    fn = _TPOSE_TYPES[dt]
    out = []
    for h in range(0, _LANE_ROWS, 8):
        base = cdsl.BinOp("+", rows, c.mul(c.add(first, c.i64(h)), c.i64(m)), rows.type)
        for col in sorted({*range(0, m - 7, 8), m - 8}):
            mem = (cdsl.BinOp("+", base, c.i64(col), rows.type), c.i64(m))
            lanes = (cdsl.BinOp("+", tile, c.i64(col * _LANE_ROWS + h), tile.type),
                     c.i64(_LANE_ROWS))
            out.append(c.expr_stmt(cdsl.Call(fn, lanes + mem if store else mem + lanes,
                                             cdsl.void)))
    return out


def _rows_in_lanes(c, kind, stmts, pre, v, o, j, in_shape, axis, dt, n, out_ptr, out_dt,
                   src=None):
    """argmax/argmin along a short last axis, `_LANE_ROWS` rows at a time: the rows'
    values gathered into a stack tile, column by column (position j of every row in one
    vector), then one vector step per position keeps each lane's best value and its first
    position (a NaN beats everything, and then nothing beats it). Returns (the loops over
    the whole tiles, the first row after them, from which the caller's serial loop goes
    on), or None where this does not apply: a row not in `_ARG_LANES` or of a run-time
    length, complex or bool values, and 32- and 64-bit integers, whose gathered vectors
    gcc builds in general registers (rows of 10: 1.1-1.3 ms against the masked passes'
    0.46-0.66; 8- and 16-bit integers 0.35-0.41 against 2.0). Along rows of 10 the
    masked passes of `_extreme_then_first` end every row in two horizontal reductions
    (float32: 0.93 -> 0.37 ms)."""
    m = in_shape[axis]
    # (rows that are a buffer's, 8 to 64 of 32-bit values, fill the tile by transposes:
    # `src`, from the caller, where `_shuffle_fill_fits`)
    # (fewer rows than a tile: all of them would go to the caller's serial loop)
    if axis != len(in_shape) - 1 or type(m) is not int or (type(n) is int and n < _LANE_ROWS) \
            or (m not in _ARG_LANES and src is None) or \
            _is_complex(dt) or dt == dtypes.bool_ or \
            not (dtypes.is_float(dt) or np.dtype(dt).itemsize <= 2 or src is not None):
        return None
    L = _LANE_ROWS
    ctype = cnodes.ct(dt)
    tile, lane = c.var("tile", dtypes.int64), c.var("l", dtypes.int64)

    tdecl, tv = _stack_array("tval", ctype, m * L)
    bdecl, best = _stack_array("tbest", ctype, L)
    idecl, bi = _stack_array("tpos", cdsl.i32, L)
    val, take = c.var("tv", dt), c.var("take", dtypes.bool_)
    at = c.add(c.mul(j, c.i64(L)), lane)
    if src is not None:
        gather = _shuffle_fill(c, tv, src, c.mul(tile, c.i64(L)), m, dt)
    else:
        gather = [c.for_(j, c.i64(0), c.i64(m), [c.for_(lane, c.i64(0), c.i64(L), [
            c.decl(o, c.add(c.mul(tile, c.i64(L)), lane))] + list(pre) + list(stmts) +
            [cdsl.Store(tv, at, v)], simd=True)])]
    cur = cdsl.Load(best, lane, ctype)
    better = _better(c, kind, val, cur)
    if dtypes.is_float(dt):
        better = c.binop("|", better, c.binop("&", c.ne(val, val), c.eq(cur, cur),
                                             dtypes.bool_), dtypes.bool_)
    # (from the identity, position 0 included: a value no better than the identity, the
    # identity itself, leaves position 0; copying the first column in instead made gcc
    # move it through 16-byte halves and read them back as one 32-byte vector, a stalled
    # store forward per tile)
    first = c.for_(lane, c.i64(0), c.i64(L), [
        cdsl.Store(best, lane, c.const(_identity(kind, dt), dt)),
        cdsl.Store(bi, lane, c.const(0, dtypes.int32))], simd=True)
    steps = c.for_(j, c.i64(0), c.i64(m), [c.for_(lane, c.i64(0), c.i64(L), [
        c.decl(val, cdsl.Load(tv, at, ctype)), c.decl(take, better),
        cdsl.Store(best, lane, c.select(take, val, cur)),
        cdsl.Store(bi, lane, c.select(take, c.cast(dtypes.int32, j),
                                      cdsl.Load(bi, lane, cdsl.i32)))], simd=True)])
    store = c.for_(lane, c.i64(0), c.i64(L), [
        c.store(out_ptr, c.add(c.mul(tile, c.i64(L)), lane),
                c.cast(out_dt, cdsl.Load(bi, lane, cdsl.i32)))], simd=True)
    tiles = c.div(c.i64(n), c.i64(L))
    body = [tdecl, bdecl, idecl, *gather, first, steps, store]
    return [c.for_(tile, c.i64(0), tiles, body,
                   parallel=type(n) is not int or n * m >= PARALLEL_MIN)], \
        c.mul(tiles, c.i64(L))


# the longest row of running sums (the axes after a cumsum's axis) kept on the stack
_CUMSUM_ROW = 4096
_CUMSUM_TYPES = {dtypes.float32: ("double", dtypes.float64), dtypes.float64: ("double", None),
                 dtypes.int32: ("int32_t", None), dtypes.int64: ("int64_t", None)}


def cumsum_lowerable(eqn) -> bool:
    """Whether `emit_cumsum_kernel` computes this cumsum: float32/64 and int32/64 (other
    types, and rows of running sums longer than _CUMSUM_ROW or of a run-time length, run
    on the host)."""
    shape, axis = eqn.inputs[0].aval.shape, eqn.params["axis"]
    if eqn.outputs[0].aval.dtype not in _CUMSUM_TYPES:
        return False
    inner = math.prod(shape[axis + 1:])
    return axis == len(shape) - 1 or (type(inner) is int and inner <= _CUMSUM_ROW)


def emit_cumsum_kernel(c, kernel: Kernel, buffers) -> list:
    """cumsum along one axis (`reverse`: from its end), as the host's np.cumsum computes it:
    a running sum in float64 for float32 (in the type itself otherwise; integers wrap), each
    prefix rounded once into the output. The same additions in the same order, so the same
    bits as the host. Along the last axis each row is one serial loop, the rows in parallel;
    along another axis a stack row of running sums over the axes after it, updated by a
    vectorised loop per step. The host path was a separate NumPy step, single-threaded, with
    two conversions (cumsum along the last axis of (4096, 512) float32: 9.9 ms, JAX 5.6)."""
    import cdsl
    eqn = kernel.eqn
    x = eqn.inputs[0]
    axis, reverse = eqn.params["axis"], eqn.params["reverse"]
    shape = x.aval.shape
    out = kernel.root
    dt = out.aval.dtype
    ctype, wide = _CUMSUM_TYPES[dt]
    acc_dt = wide or dt
    if any(type(d) is int and d == 0 for d in shape):
        return []
    n = shape[axis]
    outer_shape, inner_shape = list(shape[:axis]), list(shape[axis + 1:])
    o, j = c.var("o", dtypes.int64), c.var("j", dtypes.int64)
    at = c.sub(c.i64(n - 1) if type(n) is int else c.sub(c.i64(n), c.i64(1)), j) \
        if reverse else j
    em = KernelEmitter(c, buffers)
    pre, o_vars = [], []
    for k, e in enumerate(em.multi(Flat(o, outer_shape)) if outer_shape else []):
        ov = c.var(f"oi{k}", dtypes.int64)
        pre.append(c.decl(ov, e))
        o_vars.append(ov)
    if not inner_shape:
        acc = c.var("acc", acc_dt)
        idx = o_vars + [at]
        v = em.value(x, idx, kernel)
        step = em.stmts + [c.assign(acc, c.binop("+", acc, c.cast(acc_dt, v), acc_dt)),
                           c.store(buffers[out.id], em.offset(idx, shape), c.cast(dt, acc))]
        body = pre + [c.decl(acc, c.const(0, acc_dt)), c.for_(j, c.i64(0), c.i64(n), step)]
    else:
        m = math.prod(inner_shape)
        k = c.var("k", dtypes.int64)
        row = cdsl.Var("crow", cdsl.PtrType(cnodes.ct(acc_dt), restrict=False, space=""))
        idx = o_vars + [at] + (em.multi(Flat(k, inner_shape)) if len(inner_shape) > 1
                               else [k])
        v = em.value(x, idx, kernel)
        total = c.binop("+", cdsl.Load(row, k, cnodes.ct(acc_dt)), c.cast(acc_dt, v), acc_dt)
        step = em.stmts + [cdsl.Store(row, k, total),
                           c.store(buffers[out.id], em.offset(idx, shape),
                                   c.cast(dt, cdsl.Load(row, k, cnodes.ct(acc_dt))))]
        body = pre + [cdsl.Raw(f"{ctype} crow[{m}];"),
                      c.for_(k, c.i64(0), c.i64(m), [cdsl.Store(row, k, c.const(0, acc_dt))],
                             simd=True),
                      c.for_(j, c.i64(0), c.i64(n), [c.for_(k, c.i64(0), c.i64(m), step,
                                                            simd=True)])]
    rows = math.prod(outer_shape)
    work = rows * n * math.prod(inner_shape)
    parallel = (type(work) is not int or work >= PARALLEL_MIN) and \
        (type(rows) is not int or rows > 1)
    return [c.for_(o, c.i64(0), c.i64(rows), body, parallel=parallel)]


# ---------------------------------------------------------------------------------------
# Row fusion: trailing-axis reductions and the maps that consume them, row by row


# The C lowering of each loop kernel kind (`fusion.step_kind`): `(c, kernel, buffers)` ->
# the step's statements.
LOOP_KERNELS = {"map": emit_map_kernel, "reduce": emit_reduce_kernel, "arg": emit_arg_kernel,
                "window": emit_window_kernel, "pool_gather": emit_pool_gather_kernel,
                "pool_scatter": emit_pool_scatter_kernel, "scatter": emit_scatter_kernel,
                "cumsum": emit_cumsum_kernel}


def row_leads(kernel: Kernel) -> set:
    """The leading axes (shape tuples) `kernel` can be computed row by row over: for a
    sum/max/min/prod reduction over the axes after them, those; for a map, any prefix of its
    shape. A row is one index along every such axis: a softmax over the last axis of
    (batch, heads, queries, keys) attention scores runs over the rows of (batch, heads,
    queries). Leads of more than one axis are static; none of fewer than 2 rows."""
    shape = tuple(kernel.root.aval.shape)
    if kernel.kind == "map":
        leads = [shape[:k] for k in range(1, len(shape) + 1)]
    elif kernel.kind == "reduce" and kernel.eqn.prim in _IDENT:
        in_shape = tuple(kernel.eqn.inputs[0].aval.shape)
        nd, axes = len(in_shape), tuple(kernel.eqn.params["axes"])
        if not 0 < len(axes) < nd or axes != tuple(range(nd - len(axes), nd)):
            return set()
        leads = [in_shape[:nd - len(axes)]]
    else:
        return set()
    out = set()
    for lead in leads:
        if len(lead) == 1:
            if not lead[0] < 2:
                out.add(lead)
        elif all(type(d) is int for d in lead) and math.prod(lead) >= 2:
            out.add(lead)
    return out


def group_lead(kernels) -> tuple:
    """The leading axes of a row group: its reductions'."""
    k = next(k for k in kernels if k.kind == "reduce")
    return next(iter(row_leads(k)))


def row_length(kernel: Kernel, lead) -> int:
    """Elements a row-group member touches per row of `lead`: its reduced operand's (a
    reduction) or its own (a map)."""
    x = kernel.eqn.inputs[0].aval if kernel.kind == "reduce" else kernel.root.aval
    return x.size // max(1, math.prod(lead))


def row_groups(steps, fusable=lambda step: True, min_row: int = 0) -> dict[int, list]:
    """{index of the first step: kernels} for runs of consecutive loop kernels over the same
    rows (`row_leads`) that contain a trailing-axis reduction (`emit_rows` fuses them when
    every value crosses from one kernel to the next within its row). `fusable(step)`:
    whether a backend computes that step in a row group (a step it cannot ends the run);
    `min_row`: the longest member row a group needs (shorter rows run faster kernel by
    kernel)."""
    groups, run, leads = {}, [], set()

    def close():
        kernels = [k for _, k in run]
        if len(run) >= 2 and any(k.kind == "reduce" for k in kernels):
            lead = group_lead(kernels)
            if lead in leads and max(row_length(k, lead) for k in kernels) >= min_row:
                groups[run[0][0]] = kernels

    for i, step in enumerate(steps):
        own = row_leads(step) if isinstance(step, Kernel) and \
            step.kind in ("map", "reduce") and fusable(step) else set()
        if not own or (run and not leads & own):
            close()
            run, leads = [], set()
        if own:
            leads = leads & own if run else own
            run.append((i, step))
    close()
    return groups


def is_row_group(kernels) -> bool:
    """Whether a group from `row_groups` or `map_groups` is a row group (it holds a
    reduction; a map group never does)."""
    return any(k.kind == "reduce" for k in kernels)


def row_group_label(kernels) -> str:
    """The comment above a row group's code: its operations and the type it writes."""
    from .symbolic import shape_text
    names = ", ".join(k.eqn.prim.name for k in kernels)
    what = "one pass for" if isinstance(kernels, ReduceGroup) else \
        "rows of" if is_row_group(kernels) else "one loop for"
    return f"{what} {names} -> {shape_text(kernels[-1].root.aval)}"


# the longest row a row-group member no other step reads keeps on the stack (elements)
_LOCAL_ROW = 8192


def emit_rows(c, kernels, buffers, parallel=None, accumulator=None,
              unread=frozenset(), groups=False, start=0, emitter=None) -> list | None:
    """One loop over rows computing `kernels` (in order) row by row: a softmax's row max,
    exp-sum and output stay in cache instead of three passes over the array. None when a
    kernel reads a value computed by an earlier one at another row (that would race).
    The row loop is parallel when `parallel` says so (None: when it holds enough work for
    threads; a device makes it one work item per row); `accumulator(kind, dtype)`: the type
    a reduction accumulates in (default `_accumulator`). A float map member in `unread` (no
    step outside the group reads it; the C backend's) is kept in a stack row instead of its
    buffer: the scaled scores and the exps of an attention softmax, 16 MB each at (8, 8,
    256, 256), were written out to memory and never read again (the attention of
    (8, 8, 256, 64) at one thread: 7.8 -> 7.5 ms). `groups`: float32 sums add their
    terms in groups of four (`_sum_in_groups`, the C backend's order; OpenCL's own
    reductions add one term at a time, and a row's sum gets the bits it gets alone).
    `start`: the first row (the rows before it are computed elsewhere). `emitter`: the
    KernelEmitter class (OpenCL's says how its dialect may compute; fuzz seed 20262001:
    a padded row's cell chosen by the C dialect's bit blend did not build on OpenCL)."""
    emitter = emitter or KernelEmitter
    row = c.var("r", dtypes.int64)
    lead = list(group_lead(kernels))
    # the row's index along each leading axis, in the split form em.offset reads back as
    # the row itself (one axis: the row)
    at = [row] if len(lead) == 1 else emitter(c, buffers).multi(Flat(row, lead))
    written: set[int] = set()
    local: dict = {}
    body = []
    work = 0
    for n, k in enumerate(kernels):
        # Each kernel's names get their own prefix: they share the row loop's scope.
        em = emitter(c, buffers, name_prefix=f"k{n}v", row=at, watch=written)
        em.local = local
        if k.kind == "map":
            shape, dt = k.root.aval.shape, k.root.aval.dtype
            m = math.prod(shape[len(at):])
            own = None
            if k.root.id in unread and dt in (dtypes.float32, dtypes.float64) and \
                    type(m) is int and 0 < m <= _LOCAL_ROW:
                decl, own = _stack_array(f"lrow{n}", cnodes.ct(dt), m)
                body.append(decl)
            body += _map_row(c, em, k, buffers, at, own)
            if own is not None:
                local[k.root.id] = own
            work = max(work, k.root.aval.size)
        else:
            body += _reduce_row(c, em, k, buffers, at, row, n, accumulator or _accumulator,
                                groups)
            work = max(work, k.eqn.inputs[0].aval.size)
        if not em.row_ok:
            return None
        written = written | {k.root.id}
    n = math.prod(lead)
    if parallel is None:
        parallel = work >= PARALLEL_MIN
    first = c.i64(start) if type(start) is int else start
    return [c.for_(row, first, c.i64(n), body, parallel=parallel)]


# A row group whose rows are shorter than the C backend's ROW_GROUP_MIN runs _LANE_ROWS rows
# at a time, one row per vector lane (`emit_rows_in_lanes`). Row by row, each member of a
# softmax over rows of 10 ran in 16 masked lanes and ended the row with a horizontal
# reduction, and the members went kernel by kernel, since fused rows were slower still
# (ROW_GROUP_MIN). In lanes every step is a full vector over 16 rows and the row's
# elements stay in stack tiles between members. Measured in a C harness (softmax of
# (96000, 10) float32, one thread, AMD Zen 3, the same bits): 1.93 ms kernel by kernel,
# 2.19 ms in lanes reading the input in place (a strided load per element and member),
# 1.45 ms with the input transposed into a tile once.
_ROW_LANE_MAX = 64
# dtypes of the inputs a tile holds (others are read in place)
_TILE_TYPES = (dtypes.float32, dtypes.int32, dtypes.bool_)


def lanes_fit(kernels) -> bool:
    """Whether `emit_rows_in_lanes` may compute this row group: float32 maps, and float32
    sums, maxima and minima of float32 values along one axis, over rows of a static
    length up to _ROW_LANE_MAX, at least _LANE_ROWS of them or a number known at run time
    (one leading axis: a program compiled for any batch size)."""
    lead = group_lead(kernels)
    if all(type(d) is int for d in lead):
        if math.prod(lead) < _LANE_ROWS:
            return False
    elif len(lead) != 1:
        return False
    for k in kernels:
        m = row_length(k, lead)
        if k.root.aval.dtype != dtypes.float32 or type(m) is not int or \
                not 0 < m <= _ROW_LANE_MAX:
            return False
        # (one reduced axis: a kernel reducing several may nest a loop per axis, whose
        # vectorised reduction adds in another order)
        if k.kind == "reduce" and (_IDENT.get(k.eqn.prim) not in ("sum", "max", "min") or
                                   k.eqn.inputs[0].aval.dtype != dtypes.float32 or
                                   len(k.eqn.params["axes"]) != 1):
            return False
        if any(_gathers_rows(e, lead) for e in k.inlined.values()):
            return False
    return True


def _gathers_rows(e, lead) -> bool:
    """Whether the inlined `e` broadcasts an operand over some of the group's leading axes
    and not others (`x[:, None, :] - y[None, :, :]`): the lanes (16 consecutive rows) would
    read it by gathers, a divide and a modulo per lane. Rows kernel by kernel read it in
    place: an RBF kernel's `exp(-sum((x[:, None] - y[None]) ** 2, -1))` over (512, 512, 32)
    took 5.2 ms in lanes, 1.46 row by row (JAX 1.81; one thread, Zen 4). A broadcast over
    all of them (a bias row) or none (a per-row value) is read as before."""
    if e.prim is not st.broadcast_in_dim_p:
        return False
    shape, nl = e.outputs[0].aval.shape, len(lead)
    if len(shape) != nl + 1 or tuple(shape[:nl]) != tuple(lead):
        return False
    src = e.inputs[0].aval.shape
    sizes = {d: src[i] for i, d in enumerate(e.params["broadcast_dimensions"])}
    held = [sizes.get(d, 1) == shape[d] for d in range(nl) if shape[d] != 1]
    return any(held) and not all(held)


def emit_rows_in_lanes(c, kernels, buffers, unread=frozenset()) -> list | None:
    """The row group `kernels` (`lanes_fit`) over tiles of _LANE_ROWS rows, one row per lane:
    each member is a loop over its row's elements around a vectorised loop over the
    lanes. An input read at the row is transposed into a stack tile once per tile; a map
    member's values stay in a tile for the members after it (and go to its buffer too
    unless nothing outside the group reads them, `unread`); a reduction accumulates in a
    stack row of lanes and stores its per-row result. The terms are computed and combined
    in the order of the kernels alone: a float32 sum adds groups of four in float32 and
    their sums in double (`_sum_in_groups`), a max or min flags NaN and settles the sign
    of a zero result (`_zero_sign_pass`). The rows after the last whole tile run row by
    row (`emit_rows`). None where a member reads a value another member computed at
    another row."""
    lead = list(group_lead(kernels))
    L, k = _LANE_ROWS, len(lead)
    static = all(type(d) is int for d in lead)
    n = math.prod(lead) if static else lead[0]
    t, lane, row = c.var("rt", dtypes.int64), c.var("rl", dtypes.int64), c.var("r", dtypes.int64)
    at = [row] if k == 1 else KernelEmitter(c, buffers).multi(Flat(row, lead))
    members = {m.root.id for m in kernels}
    decls, fills, local = [], [], {}

    def lanes(stmts, at_row=True):
        head = [c.decl(row, c.add(c.mul(t, c.i64(L)), lane))] if at_row else []
        return c.for_(lane, c.i64(0), c.i64(L), _drop_unused(head + list(stmts)), simd=True)

    def tile_of(atom):
        shape, dt = atom.aval.shape, atom.aval.dtype
        m = math.prod(shape[k:]) if all(type(d) is int for d in shape[k:]) else None
        if atom.id in members or atom.id not in buffers or dt not in _TILE_TYPES or \
                list(shape[:k]) != lead or m is None or not 1 < m <= _ROW_LANE_MAX:
            return None
        decl, tile = _stack_array(f"ltile{len(fills)}", cnodes.ct(dt), m * L)
        if _shuffle_fill_fits(dt, m, n):
            fills.extend(_shuffle_fill(c, tile, buffers[atom.id], c.mul(t, c.i64(L)), m, dt))
        else:
            jj = c.var(f"lj{len(fills)}", dtypes.int64)
            value = c.load(buffers[atom.id], c.add(c.mul(row, c.i64(m)), jj))
            fills.append(c.for_(jj, c.i64(0), c.i64(m), [
                lanes([cdsl.Store(tile, c.add(c.mul(jj, c.i64(L)), lane), value)])]))
        decls.append(decl)
        local[atom.id] = tile
        return tile

    body, written, work = [], set(), 0
    for i, kern in enumerate(kernels):
        em = KernelEmitter(c, buffers, name_prefix=f"k{i}v", row=at, watch=written)
        em.local, em.lane, em.tiles = local, lane, tile_of
        if kern.kind == "map":
            later = any(v.id == kern.root.id for m in kernels[i + 1:] for v in m.inputs)
            body += _map_in_lanes(c, em, kern, buffers, at, lanes, i, decls, local,
                                  kern.root.id not in unread, later, c.mul(t, c.i64(L)), n)
        else:
            body += _reduce_in_lanes(c, em, kern, buffers, at, row, lanes, i, decls,
                                     not _big_rows(n, row_length(kern, lead)))
        if not em.row_ok:
            return None
        written = written | {kern.root.id}
        if static:
            work = max(work, math.prod(lead) * row_length(kern, lead))
    # (rows known at run time: parallel, and the rendered `if` clause decides by the count)
    parallel = not static or work >= PARALLEL_MIN
    whole = c.i64(n // L) if static else c.div(c.i64(n), c.i64(L))
    loops = [c.for_(t, c.i64(0), whole, decls + fills + body, parallel=parallel)]
    if not static or n % L:
        tail = emit_rows(c, kernels, buffers, parallel=False, unread=unread, groups=True,
                         start=c.mul(whole, c.i64(L)))
        if tail is None:
            return None
        loops += tail
    return loops


def _map_in_lanes(c, em, kernel, buffers, at, lanes, i, decls, local, stored, later, first,
                  rows):
    """A map member of `emit_rows_in_lanes`: its values into its buffer when `stored`, and
    into a tile when a `later` member reads them; `first` is the tile's first row, `rows`
    the number of rows."""
    shape, dt = kernel.root.aval.shape, kernel.root.aval.dtype
    k = len(at)
    row_shape = shape[k:]
    js = [c.var(f"k{i}j{d}", dtypes.int64) for d in range(len(row_shape))]
    ivars = list(at) + [c.i64(0) if row_shape[d] == 1 else js[d]
                        for d in range(len(row_shape))]
    em.stmts, em.memo = [], {}
    v = em.inline(kernel.eqn, ivars, kernel)
    if not _is_named(v, dt):
        v = em.let(v, dt)
    stmts = list(em.stmts)
    m = math.prod(row_shape)
    # (a stored row of 8 or more 32-bit values goes to its buffer from the tile, by
    # transposes, rather than element by element from the lanes)
    shuffled = stored and _shuffle_fill_fits(dt, m, rows)
    if later or not stored or shuffled:
        decl, tile = _stack_array(f"lrow{i}", cnodes.ct(dt), m * _LANE_ROWS)
        decls.append(decl)
        at_tile = c.add(c.mul(em.offset(ivars[k:], row_shape), c.i64(_LANE_ROWS)), em.lane)
        stmts.append(cdsl.Store(tile, at_tile, v))
        if later:
            local[kernel.root.id] = tile
    if stored and not shuffled:
        stmts.append(c.store(buffers[kernel.root.id], em.offset(ivars, shape), v))
    loop = lanes(stmts)
    for d in reversed(range(len(row_shape))):
        if row_shape[d] != 1:
            loop = c.for_(js[d], c.i64(0), c.i64(row_shape[d]), [loop])
    out = [c.comment(f"rows of {kernel.eqn.prim.name}, in lanes"), loop]
    if shuffled:
        out += _shuffle_fill(c, tile, buffers[kernel.root.id], first, m, dt, store=True)
    return out


def _reduce_in_lanes(c, em, kernel, buffers, at, row, lanes, i, decls, small=False):
    """A reduction member of `emit_rows_in_lanes` (a float32 sum, max or min): one
    accumulator per lane, in the kernel's own order of terms; `small`: the group's arrays
    hold fewer than SHUFFLE_MIN values."""
    eqn = kernel.eqn
    kind, x, dt = _IDENT[eqn.prim], eqn.inputs[0], kernel.root.aval.dtype
    red_shape = x.aval.shape[len(at):]
    n_red = math.prod(red_shape)
    acc_dt = _accumulator(kind, dt)
    act = cnodes.ct(acc_dt)
    j = c.var(f"j{i}", dtypes.int64)
    adecl, acc = _stack_array(f"lacc{i}", act, _LANE_ROWS)
    decls.append(adecl)
    mine = cdsl.Load(acc, em.lane, act)

    def term(jj):
        idx = [jj] if len(red_shape) == 1 else em.multi(Flat(jj, red_shape))
        return em.value(x, list(at) + idx, kernel)

    def fresh():
        em.stmts, em.memo = [], {}

    init = [cdsl.Store(acc, em.lane, c.const(_identity(kind, dt), acc_dt))]
    loops = []
    if kind == "sum":
        q = n_red // 4
        if q:
            fresh()
            parts = [term(j)] + [term(c.add(j, c.i64(u * q))) for u in (1, 2, 3)]
            group = parts[0]
            for p in parts[1:]:
                group = c.binop("+", group, p, dtypes.float32)
            loops.append(c.for_(j, c.i64(0), c.i64(q), [lanes(list(em.stmts) + [
                cdsl.Store(acc, em.lane, c.binop("+", mine, c.cast(acc_dt, group), acc_dt))])]))
        if n_red % 4:
            fresh()
            v = term(j)
            loops.append(c.for_(j, c.i64(4 * q), c.i64(n_red), [lanes(list(em.stmts) + [
                cdsl.Store(acc, em.lane, c.binop("+", mine, c.cast(acc_dt, v), acc_dt))])]))
        result = c.cast(dt, mine)
    else:
        # A NaN term is taken, and then nothing beats it, so a lane's extreme ends NaN when
        # any of its terms is (its result: the kernels' NaN). The sign of a zero extreme
        # (`_zero_winner`) is settled by a second pass over the tile, run only where some
        # lane's extreme is a zero (a NaN flag and a zero flag updated per term made a max
        # over rows of 10 1.5x slower). A `small` group keeps those flags: their code
        # builds faster (the second pass added ~60 ms to the MLP step's module).
        i32 = cnodes.ct(dtypes.int32)
        zdecl, zsf = _stack_array(f"lzero{i}", i32, _LANE_ROWS)
        decls.append(zdecl)
        zero_l = cdsl.Load(zsf, em.lane, i32)
        none = c.const(0, dtypes.int32)
        init.append(cdsl.Store(zsf, em.lane, none))
        fresh()
        v = term(j)
        better = c.binop(">" if kind == "max" else "<", v, mine, dtypes.bool_)

        def flag(ptr, cond):
            return cdsl.Store(ptr, em.lane, c.binop("|", cdsl.Load(ptr, em.lane, i32),
                                                     c.cast(dtypes.int32, cond), dtypes.int32))
        if small:
            ndecl, nanf = _stack_array(f"lnan{i}", i32, _LANE_ROWS)
            decls.append(ndecl)
            init.append(cdsl.Store(nanf, em.lane, none))
            wins, win = _zero_winner(c, kind, v, dt)
            loops.append(c.for_(j, c.i64(0), c.i64(n_red), [lanes(list(em.stmts) + [
                cdsl.Store(acc, em.lane, c.select(better, v, mine)),
                flag(nanf, c.ne(v, v)), flag(zsf, wins)])]))
            is_nan = c.ne(cdsl.Load(nanf, em.lane, i32), none)
        else:
            better = c.binop("|", better, c.ne(v, v), dtypes.bool_)
            loops.append(c.for_(j, c.i64(0), c.i64(n_red), [lanes(list(em.stmts) + [
                cdsl.Store(acc, em.lane, c.select(better, v, mine))])]))
            anyz = c.var(f"lanyz{i}", dtypes.int32)
            fresh()
            v = term(j)
            wins, win = _zero_winner(c, kind, v, dt)
            zero_pass = c.for_(j, c.i64(0), c.i64(n_red), [lanes(list(em.stmts) + [
                flag(zsf, wins)])])
            loops += [c.decl(anyz, none),
                      c.for_(em.lane, c.i64(0), c.i64(_LANE_ROWS), [c.assign(anyz, c.binop(
                          "|", anyz, c.cast(dtypes.int32, c.eq(mine, c.const(0, dt))),
                          dtypes.int32))], simd=True, reduction=("or", anyz)),
                      cdsl.If(c.ne(anyz, none), (zero_pass,))]
            is_nan = c.ne(mine, mine)
        result = c.select(is_nan, c.const(np.nan, dt),
                          c.select(c.land(c.eq(mine, c.const(0, dt)), c.ne(zero_l, none)),
                                   win, mine))
    store = lanes([c.store(buffers[kernel.root.id], row, result)])
    return [c.comment(f"rows of {eqn.prim.name}, in lanes"), lanes(init, at_row=False)] + \
        loops + [store]


def _map_row(c, em, kernel, buffers, at, own=None):
    """A map member's loops over its row, storing into its buffer (or into `own`, a stack
    row: the row's part of the value)."""
    shape = kernel.root.aval.shape
    k = len(at)
    ivars = list(at) + [c.i64(0) if type(shape[d]) is int and shape[d] == 1 else
                        c.var(f"i{d}", dtypes.int64) for d in range(k, len(shape))]
    # (a reshape's operand index comes from `_reshape_index`, so a reshape that keeps the
    # rows reads its operand at row `row`)
    val = em.inline(kernel.eqn, ivars, kernel)
    looped = [d for d in range(k, len(shape)) if isinstance(ivars[d], cdsl.Var)]
    pre, stmts = _row_invariant(em.stmts, [ivars[d] for d in looped],
                                [shape[d] for d in looped])
    store = c.store(buffers[kernel.root.id], em.offset(ivars, shape), val) if own is None \
        else cdsl.Store(own, em.offset(ivars[k:], shape[k:]), val)
    body = stmts + [store]
    for d in reversed(looped):
        body = [c.for_(ivars[d], c.i64(0), c.i64(shape[d]), body, simd=(d == looped[-1]))]
    return [c.comment(f"row of {kernel.eqn.prim.name}")] + pre + body


def _row_invariant(stmts, loop_vars, extents):
    """(declarations of `stmts` that use no loop variable, the rest): the values of the row
    itself, such as an earlier member's reduction read back at the row, are read once before
    the member's loop. gcc 12 does not vectorise a loop that loads a value this row stored
    just before it (a softmax's exp loop reading the row max: "latch block not empty").
    Nothing is hoisted when a loop runs zero times or `stmts` holds more than declarations."""
    if any(type(n) is int and n == 0 for n in extents) or \
            not all(isinstance(s, cdsl.Decl) for s in stmts):
        return [], list(stmts)
    variant = {v.name for v in loop_vars}
    pre, rest = [], []
    for s in stmts:
        names = {x.name for x in cdsl.ast.walk(s.init) if isinstance(x, cdsl.Var)}
        if names & variant:
            variant.add(s.var.name)
            rest.append(s)
        else:
            pre.append(s)
    return pre, rest


def _drop_unused(stmts) -> list:
    """`stmts` without the declarations that nothing among them reads: a value of the row
    hoisted for a loop that was not emitted (`_sum_in_groups` has no tail loop when the
    row is a multiple of four), a lane loop's row index that no member reads. An exported
    file is built with -Wall -Werror, where an unused variable is an error. (Each
    statement is walked once; dropping a declaration takes back the uses it made.)"""
    stmts = list(stmts)
    uses, raw, names = {}, [], []
    for s in stmts:
        mine = []
        for x in cdsl.ast.walk(s):
            if isinstance(x, cdsl.Var):
                mine.append(x.name)
            elif isinstance(x, cdsl.Raw):
                raw.append(x.text)
        names.append(mine)
        for n in mine:
            uses[n] = uses.get(n, 0) + 1
    text = "\n".join(raw)
    dropped = set()
    while True:
        gone = [i for i, s in enumerate(stmts) if i not in dropped and
                isinstance(s, cdsl.Decl) and s.init is not None and
                uses[s.var.name] == 1 and s.var.name not in text]
        if not gone:
            return [s for i, s in enumerate(stmts) if i not in dropped]
        for i in gone:
            dropped.add(i)
            for n in names[i]:
                uses[n] -= 1


def _reduce_row(c, em, kernel, buffers, at, row, n, accumulator, groups):
    eqn = kernel.eqn
    kind = _IDENT[eqn.prim]
    x = eqn.inputs[0]
    red_shape = x.aval.shape[len(at):]
    dt = kernel.root.aval.dtype
    acc_dt = accumulator(kind, dt)
    j = c.var(f"j{n}", dtypes.int64)
    acc = c.var(f"acc{n}", acc_dt)
    # (a row of contiguous operands is one flat loop: a loop per axis ended each short last
    # axis with a horizontal add, NCHW `mean(x, (2, 3))` of (64, 64, 28, 28) 3.2x JAX)
    nest = None if _flat_input(kernel) else _nest_vars(c, red_shape, f"j{n}")
    if nest is not None:
        j_idx = nest
    else:
        j_idx = [j] if len(red_shape) == 1 else em.multi(Flat(j, red_shape))

    def value_at(jj):
        idx = [jj] if len(red_shape) == 1 else em.multi(Flat(jj, red_shape))
        return em.value(x, list(at) + idx, kernel)
    v = em.value(x, list(at) + j_idx, kernel)
    out = buffers[kernel.root.id]
    n_red = math.prod(red_shape)
    ident = c.const(_identity(kind, dt), acc_dt)
    pre, stmts = _row_invariant(em.stmts, nest or [j], list(red_shape) if nest else [n_red])
    head = [c.comment(f"row of {eqn.prim.name}")] + pre + [c.decl(acc, ident)]
    if kind in ("max", "min") and dtypes.is_float(dt):
        nanf = c.var(f"nanf{n}", dtypes.int32)
        better = c.binop(">" if kind == "max" else "<", v, acc, dtypes.bool_)
        inner = stmts + [
            c.assign(acc, c.select(better, v, acc)),
            c.assign(nanf, c.binop("|", nanf, c.cast(dtypes.int32, c.ne(v, v)), dtypes.int32))]
        result = c.select(c.ne(nanf, c.const(0, dtypes.int32)), c.const(np.nan, dt), acc)
        return head + [c.decl(nanf, c.const(0, dtypes.int32)),
                _reduction_loop(c, j, n_red, nest, red_shape, inner,
                                ((kind, acc), ("or", nanf))),
                _zero_sign_pass(c, kind, acc, acc_dt, stmts, v,
                                lambda body, red: _reduction_loop(c, j, n_red, nest, red_shape,
                                                                  body, red), f"zsf{n}"),
                c.store(out, row, result)]
    inner = stmts + [c.assign(acc, _combine(c, kind, acc, c.cast(acc_dt, v), acc_dt))]
    red = _vector_reduction(kind, dt)
    red = (red[0], acc) if red is not None else None
    loops = (nest is None and (
        _terms_in_a_row(c, stmts, v, j, n_red, acc, acc_dt, kind, red, f"terms{n}",
                        groups) or
        (groups and _sum_in_groups(c, em, value_at, stmts, v, j, n_red, acc, acc_dt, kind,
                                   red, lambda s: _row_invariant(s, [j], [n_red]))))) or \
        [_reduction_loop(c, j, n_red, nest, red_shape, inner, red)]
    return _drop_unused(head + loops + [c.store(out, row, c.cast(dt, acc))])
