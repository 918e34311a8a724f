"""Lowering of `dot_general` and `conv_general_dilated` to BLAS GEMM calls.

Operands are materialised row-major buffers. A dot whose operands are laid out as
[batch, free, contract] / [batch, contract, free] (either order, via BLAS's transpose
flags) calls GEMM directly; otherwise the operand is first copied into that layout.
Convolutions are a direct register-blocked kernel of our own (no im2col matrix; see the
section below).
"""
from __future__ import annotations

import contextlib
import functools
import itertools
import math
import os
import threading

import numpy as np

from .. import dtypes
from . import cnodes as c
from .codegen import PARALLEL_MIN, _accumulator, _vector_reduction, strides_of
from .eager import cpu_info, cpu_level

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
# cblas.h's names of those values, which the generated calls use
BLAS_ENUMS = {ROW_MAJOR: "CblasRowMajor", NO_TRANS: "CblasNoTrans", TRANS: "CblasTrans"}


def _blas_enum(v):
    import cdsl
    return cdsl.Var(BLAS_ENUMS[v], cdsl.i32)


_BLAS_PREFIX = {np.dtype(np.float32): "s", np.dtype(np.float64): "d",
                np.dtype(np.complex64): "c", np.dtype(np.complex128): "z"}


def _blas_fn(dtype, name):
    return f"scipy_cblas_{_BLAS_PREFIX[np.dtype(dtype)]}{name}"


_temp_ids = itertools.count()


class Temp:
    """A scratch buffer a step needs (the C executable places it in its arena; the OpenCL
    one takes it from the device's pool for the step)."""

    def __init__(self, shape, dtype, name=None):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.param = c.param(name or f"w{next(_temp_ids)}", self.dtype)

    def param_ref(self):
        return self.param


class Temps(list):
    """The scratch buffers of one step, named from the executable's counter (`tmp0`,
    `tmp1`, ... in creation order), so that the same program always renders the same text."""

    def __init__(self, counter):
        super().__init__()
        self._counter = counter

    def new(self, shape, dtype) -> Temp:
        t = Temp(shape, dtype, f"tmp{next(self._counter)}")
        self.append(t)
        return t


def permute_copy(src_ptr, src_shape, perm, dst_ptr):
    """Statements writing `transpose(src, perm)` contiguously into dst."""
    out_shape = [src_shape[p] for p in perm]
    n = math.prod(out_shape)
    if n == 0:
        return []
    ivars = [c.var(f"p{d}", dtypes.int64) for d in range(len(out_shape))]
    sstr = strides_of(src_shape)
    src_off = None
    for k, p in enumerate(perm):
        term = c.mul(ivars[k], c.i64(sstr[p])) if sstr[p] != 1 else ivars[k]
        src_off = term if src_off is None else c.add(src_off, term)
    dstr = strides_of(out_shape)
    dst_off = None
    for k in range(len(out_shape)):
        term = c.mul(ivars[k], c.i64(dstr[k])) if dstr[k] != 1 else ivars[k]
        dst_off = term if dst_off is None else c.add(dst_off, term)
    body = [c.store(dst_ptr, dst_off, c.load(src_ptr, src_off))]
    for d in reversed(range(len(out_shape))):
        body = [c.for_(ivars[d], c.i64(0), c.i64(out_shape[d]), body,
                       parallel=(d == 0 and n >= PARALLEL_MIN and out_shape[0] > 1))]
    return body


def _ptr_expr(ptr, offset=None):
    import cdsl
    base = cdsl.Var(ptr.name, ptr.type.elem)
    if offset is None:
        return base
    return cdsl.BinOp("+", base, offset, ptr.type.elem)


# GEMMs with at least this many multiply-adds are split by rows over the OpenMP threads;
# OpenBLAS itself runs single-threaded so that one thread pool owns the cores.
GEMM_SPLIT_MIN = 1 << 20


# A GEMM on the direct kernel with more columns than rows (an RNN's weight gradients, a small
# batch's x @ W) is split by columns instead, in whole 64-column panels: each thread streams
# only its share of B, where a split by rows makes every thread read all of it. Measured on
# the Xeon of 2026-12-01 with two threads (one process, on and off alternating): the GRU
# step 0.91-0.93 of its time, the RNN 0.84-0.89, the MLP 0.98. Splitting OpenBLAS's GEMMs
# by columns too made the MLP step slower (1.04), so they keep the split by rows.
# FUNCGRAD_GEMM_COLUMN_SPLIT=0 turns it off.
COLUMN_SPLIT = os.environ.get("FUNCGRAD_GEMM_COLUMN_SPLIT", "1") != "0"


def _size(n):
    """A size as an int64 expression: a static one, or one computed at run time."""
    return c.i64(n) if isinstance(n, int) or hasattr(n, "expr") else n


def _split_over_threads(name, total, unit, body):
    """`for (gt = 0; gt < omp_get_max_threads(); ++gt)` as a parallel loop in which thread gt
    takes the share [lo, hi) of `total` items, cut in whole `unit`s (the last share ends at
    `total`); `body(lo, hi)` gives its statements, `lo` and `hi` declared as `{name}0` and
    `{name}1`."""
    import cdsl
    t = c.var("gt", dtypes.int64)
    nt = cdsl.Cast(cdsl.i64, cdsl.Call("omp_get_max_threads", (), cdsl.i32))
    units = total if unit == 1 else -(-total // unit)
    lo, hi = c.var(f"{name}0", dtypes.int64), c.var(f"{name}1", dtypes.int64)

    def bound(i):
        b = c.div(c.mul(i, c.i64(units)), nt)
        return b if unit == 1 else c.mul(b, c.i64(unit))
    end = bound(c.add(t, c.i64(1)))
    if unit != 1:
        end = c.select(c.lt(end, c.i64(total)), end, c.i64(total))
    stmts = [c.decl(lo, bound(t)), c.decl(hi, end)] + list(body(lo, hi))
    return cdsl.For(t, c.i64(0), nt, tuple(stmts), parallel=True, parallel_min=2)


def _gemm_call(dtype, ta, tb, m, n, k, a, lda, b, ldb, cc, ldc, beta=0.0):
    import cdsl
    direct = beta == 0.0 and direct_gemm_fits(dtype, ta, tb, m, n, k)
    one = _direct_gemm if direct else _gemm_one
    if m * n * k < GEMM_SPLIT_MIN or m < 16:
        return one(dtype, ta, tb, c.i64(m), n, k, a, lda, b, ldb, cc, ldc, beta)
    if COLUMN_SPLIT and direct and n > m and n >= 128:
        from cdsl.helpers import GEMM_NR
        # (the direct kernel reads B untransposed: a column offset is an element offset)
        return _split_over_threads("gn", n, GEMM_NR, lambda n0, n1: [
            one(dtype, ta, tb, c.i64(m), c.sub(n1, n0), k, a, lda,
                cdsl.BinOp("+", b, n0, b.type), ldb, cdsl.BinOp("+", cc, n0, cc.type), ldc,
                beta)])
    return _split_over_threads("gm", m, 1, lambda m0, m1: [
        one(dtype, ta, tb, c.sub(m1, m0), n, k,
            cdsl.BinOp("+", a, c.mul(m0, c.i64(lda)) if ta == NO_TRANS else m0, a.type), lda,
            b, ldb, cdsl.BinOp("+", cc, c.mul(m0, c.i64(ldc)), cc.type), ldc, beta)])


# cdsl's direct kernel (`cdsl.helpers.sgemmdk_f32`: B read in place, K in blocks) for the
# float32 GEMMs that OpenBLAS spends most of its time packing for: few rows (M <= 160), or a
# short K (<= 64) with A not transposed; B not transposed. Against OpenBLAS 0.3.34's
# SkylakeX sgemm on the Xeon of 2026-12-01, one thread, the same jitted dot in one process
# (`bench/bench_direct_gemm.py`, direct / OpenBLAS): the GRU step's 1792x128 (transposed) @
# 1792x384 0.84-0.86, 28x1792 @ 1792x384 0.80-0.84, 1792x28 @ 28x384 0.73, 64x128 @ 128x384
# 0.80-0.99, 128x784 @ 784x512 0.89-1.01, 8x256 @ 256x1024 0.59. Not picked: 2000x48
# (transposed) @ 48x1024 1.72 (a tile's values of A are a row of A apart, 8 KB: one cache
# set), and shapes where a C harness found it slower (1792x128 @ 128x384 1.03, 784x128
# transposed @ 128x512 1.12; jitted 0.90-0.93). In the GRU step (`bench`'s gru_step, one
# process, on and off alternating): 0.91-0.975 of its time. Columns past the last multiple
# of GEMM_NR go to OpenBLAS. Only where the CPU has 512-bit vectors. FUNCGRAD_DIRECT_GEMM=0
# turns it off (to measure the difference).
DIRECT_GEMM = os.environ.get("FUNCGRAD_DIRECT_GEMM", "1") != "0"
DIRECT_GEMM_MAX_M, DIRECT_GEMM_MAX_SHORT_K, DIRECT_GEMM_KC = 160, 64, 128


def direct_gemm_fits(dtype, ta, tb, m, n, k) -> bool:
    """Whether C[m, n] = op(A) @ B (B stored [k, n]) runs on the direct kernel (not in
    `export.to_c`'s plain C99: the kernel is written in GCC's vector extensions)."""
    from cdsl.helpers import GEMM_MR, GEMM_NR
    if not DIRECT_GEMM or np.dtype(dtype) != dtypes.float32 or tb != NO_TRANS or \
            _simd_width(dtype) != 16 or portable():
        return False
    if not all(isinstance(d, int) for d in (m, n, k)) or n < GEMM_NR or k < 1:
        return False
    return m >= GEMM_MR - 1 and (m <= DIRECT_GEMM_MAX_M or
                                  (k <= DIRECT_GEMM_MAX_SHORT_K and ta == NO_TRANS))


def _direct_gemm(dtype, ta, tb, m, n, k, a, lda, b, ldb, cc, ldc, beta):
    """C[m, :n] = op(A) @ B on `sgemmdk_f32` for the columns up to the last multiple of
    GEMM_NR, OpenBLAS for the rest; `m` is an expression (a thread's share of the rows)."""
    import cdsl
    from cdsl.helpers import GEMM_NR
    sa, sk = (lda, 1) if ta == NO_TRANS else (1, lda)
    kc = k if k <= 2 * DIRECT_GEMM_KC else DIRECT_GEMM_KC

    def kernel(cols):
        return c.expr_stmt(cdsl.Call("sgemmdk_f32", (m, cols, c.i64(k), a, c.i64(sa),
                                                     c.i64(sk), b, c.i64(ldb), cc,
                                                     c.i64(ldc), c.i64(kc)), cdsl.void))

    def tail(cols, rest):
        return _gemm_one(dtype, ta, tb, m, rest, k, a, lda, cdsl.BinOp("+", b, cols, b.type),
                         ldb, cdsl.BinOp("+", cc, cols, cc.type), ldc, beta)
    if isinstance(n, int):
        n_dk = n - n % GEMM_NR
        stmts = [kernel(c.i64(n_dk))]
        if n_dk < n:
            stmts.append(tail(c.i64(n_dk), n - n_dk))
        return cdsl.Block(tuple(stmts))
    # a thread's share of the columns (see _gemm_call): whole panels, and the tail with the
    # last share
    n_dk = c.var("gnd", dtypes.int64)
    return cdsl.Block((c.decl(n_dk, c.sub(n, c.mod(n, c.i64(GEMM_NR)))), kernel(n_dk),
                       cdsl.If(c.lt(n_dk, n), (tail(n_dk, c.sub(n, n_dk)),))))


# An RNN's per-step GEMMs (h @ W, and g @ W^T in reverse) multiply by a weight that stays
# the same for the whole loop. OpenBLAS repacks it on every call (a third of those calls'
# time); in a scan body, a float32 GEMM whose right operand is a loop constant runs on
# cdsl's packed-panel kernel (`cdsl.helpers.sgemmpk_f32`), on a copy of the weight packed
# at the first iteration. Measured on the Xeon of 2026-12-01, one thread, against OpenBLAS
# 0.3.34's SkylakeX sgemm (C harness, means of 300 calls, B packed once): 64x128 @ 128x384
# 55 against 80 us, 64x384 @ 384x128 55 against 77 us. Packing on every call instead made
# it slower than OpenBLAS nearly everywhere, so GEMMs outside loops stay with OpenBLAS.
# With 512-bit vectors the kernel keeps 20 of its 32 registers busy (5 x 64 tiles); with
# 256-bit ones (AVX2 and FMA, x86-64-v3) it is `sgemmpk8_f32`, 6 x 16 tiles in 15 of 16
# registers (`cdsl.helpers.PACKED_TILES`). That one, against OpenBLAS 0.3.34's Haswell
# sgemm on an AMD EPYC (Zen 3) VM, one thread (C harness, medians of 21 rounds, B packed
# once; OpenBLAS NN, and NT for the reverse pass's g @ W^T): 64x128 @ 128x384 64 against
# 75-77 us (NT 77-79), 64x384 @ 384x128 63-66 against 72-74 (NT 77-82), 64x128 @ 128x128
# 21 against 25, 16x256 @ 256x768 65 against 102-106, 32x256 @ 256x256 43 against 56,
# 128x512 @ 512x512 687-697 against 753-759, 1024x256 @ 256x256 0.96-0.99 of OpenBLAS's
# time. It lost where N is not a multiple of 16 and M is large (the last panel's padding
# computed: 256x256 @ 256x120 1.02, 1024x128 @ 128x40 1.14) or N's padding is over an
# eighth (64x256 @ 256x40 1.04), and with A stored transposed where A is large or K long
# (a tile's rows of A then lie M floats apart in every k: 512x256 1.03, K = 1024 1.10):
# `packed_gemm_fits` leaves those to OpenBLAS on such CPUs. A 4 x 24 tile (12 accumulators
# too) was as fast where N is a multiple of 24 and up to 1.15x slower on N = 128.
# FUNCGRAD_PACKED_GEMM=0 turns it off (to measure the difference).
PACKED_GEMM = os.environ.get("FUNCGRAD_PACKED_GEMM", "1") != "0"


def packed_gemm_tile():
    """The packed-panel kernel for this CPU's vectors (`cdsl.helpers.PackedTile`: its kernel
    and packing routine, and their panel width), or None where there is none. The one place
    the lowering picks it: `packed_gemm_fits` pads to its panels, `_packed_gemm_once` sizes
    the buffer by them and calls its pair of functions."""
    from cdsl.helpers import packed_tile
    return packed_tile(_simd_width(dtypes.float32))


def packed_gemm_fits(dtype, m, n, k, trans_a=False) -> bool:
    """Whether C[m, n] = A[m, k] @ B[k, n] with a loop-constant B may run packed (A stored
    [k, m] where trans_a); not in `export.to_c`'s plain C99 (GCC's vector extensions)."""
    tile = packed_gemm_tile()
    if not PACKED_GEMM or np.dtype(dtype) != dtypes.float32 or tile is None or portable():
        return False
    if not all(isinstance(d, int) for d in (m, n, k)) or n < 32 or k < 8 or m < 1:
        return False
    padded = -(-n // tile.nr) * tile.nr
    if not (4 * padded <= 5 * n and m * k * 4 <= 1 << 20 and k * tile.nr * 4 <= 1 << 19):
        return False
    if tile.width == 8:
        # 256-bit vectors: only where it measured faster than OpenBLAS (see above)
        if padded != n and (m >= 128 or 8 * padded > 9 * n):
            return False
        if trans_a and (m * k * 4 > 1 << 18 or k > 512):
            return False
    return True


def _packed_gemm_once(m, n, k, lp, sa, sk, rp, sbk, sbn, op, temps):
    """op[m, n] = A @ B on the packed-panel kernel, B packed into a scratch buffer unless
    the buffer's header says B is packed there already. The buffer is a scan body's
    scratch, which lives across the loop's iterations; `c._lower_scan` clears the header
    before the loop (the weight may have changed since the last call), so B is packed at
    the first iteration. A's element (i, k) is lp[i * sa + k * sk], B's (k, j)
    rp[k * sbk + j * sbn]."""
    import cdsl
    from cdsl.helpers import GEMM_PACK_HEADER
    tile = packed_gemm_tile()
    bp = temps.new((tile.buffer_floats(n, k),), dtypes.float32)
    bp.pack_header = True
    buf = _ptr_expr(bp.param_ref())
    panels = cdsl.BinOp("+", buf, c.i64(GEMM_PACK_HEADER), buf.type)
    pack = c.expr_stmt(cdsl.Call(tile.pack, (c.i64(n), c.i64(k), _ptr_expr(rp), c.i64(sbk),
                                             c.i64(sbn), buf), cdsl.void))
    a, cc = _ptr_expr(lp), _ptr_expr(op)

    def kernel(rows, a_ptr, c_ptr):
        return c.expr_stmt(cdsl.Call(tile.kernel, (rows, c.i64(n), c.i64(k), a_ptr,
                                                   c.i64(sa), c.i64(sk), panels, c_ptr,
                                                   c.i64(n)), cdsl.void))
    if m * n * k < GEMM_SPLIT_MIN or m < 4 * tile.mr:
        return [pack, kernel(c.i64(m), a, cc)]
    return [pack, _split_over_threads("gm", m, 1, lambda m0, m1: [
        kernel(c.sub(m1, m0), cdsl.BinOp("+", a, c.mul(m0, c.i64(sa)), a.type),
               cdsl.BinOp("+", cc, c.mul(m0, c.i64(n)), cc.type))])]


# The packed-panel kernel is also faster than OpenBLAS for float32 GEMMs outside loops on a
# CPU with 512-bit vectors, B packed on every call. AMD Zen 4 VM (2026-12-06), one thread,
# OpenBLAS 0.3.30's sgemm against `sgemmpanels_f32` + `sgemmpk_f32` (C harness, medians of
# 41 calls, time ratio): 1024^3 NN 0.94, NT 0.96, TN 1.09; 128x784 @ 784x512 NN 0.95;
# 784x128 (A transposed) @ 128x512 0.92; 512x128 (transposed) @ 128x512 0.90; 256^3 0.92;
# 64x256 @ 256x256 0.92; 200x400 @ 400x300 0.96; 512x256 @ 256x1000 0.99; 4096x256 @
# 256x256 0.97; 1024x64 @ 64x1024 0.88. With B transposed the old packing loop made it
# slower (128x512 @ (784x512)^T 1.19; `helpers._panel_lines` now transposes blocks). The
# kernel packs nothing else, so the threads share one packed B and take the output in
# chunks as they finish (`schedule(dynamic)`): a thread on a CPU that another process
# shares takes fewer, where OpenBLAS's equal shares (or this file's static split) wait for
# it. Left to OpenBLAS: A stored transposed with K > 512 (a tile's rows of A lie M floats
# apart at every k: 1024^3 TN above), K past 2048 (a panel of B no longer fits L2), small
# M or much padding in N's last panel (see _KERNEL_RATIO), and the GEMMs the direct
# kernel takes.
PACKED_PER_CALL_MIN = 1 << 18       # M * N * K at least
# Every float32 GEMM the kernel can run, whatever its size (the fuzzer's --big-forms, so
# that its small programs reach this path and its edges: a row or a column, K = 1)
PACKED_PER_CALL_ALL = False
# The threads take the output in chunks of one panel's columns by a block of rows whose
# part of A fits in L2 beside the panel (this many bytes at most), at least this many
# chunks. Cut so, the chunks cost nothing on one thread (1024^3: 256 chunks of 65 rows,
# 1.00x the time of one call, C harness); rows alone in small chunks made every chunk read
# all of packed B, which for 128x512 @ (784x512)^T is larger than L2 (two threads 13%
# slower than OpenBLAS's equal shares, jitted).
_PACKED_A_BLOCK, _PACKED_MIN_CHUNKS = 1 << 18, 16
# B's panels are packed by the threads together from this many floats on
_PACKED_PARALLEL_PACK = 1 << 18
# From this many multiply-adds on (M * N * K here; a convolution's, see _conv_tiles), a
# GEMM's or convolution's dynamic chunks go to every usable core even while another
# process keeps one busy (`For.big_team`, the thread policy's big team): the thread that
# shares a CPU takes fewer chunks, and the region waits at most for its last
# one, at worst a scheduler slice (1.5 ms on these 2-vCPU VMs) after the others finish.
# One core busy, two threads against one, jitted `x @ y` alone, float32, medians / p95 of
# 20-100 calls (AMD Zen 4 VM, 2026-12-07): 1024^3 16.0 / 18.8 against 20.0 / 20.7 ms;
# 512x1024 @ 1024x1024 8.0 / 8.3 against 10.1 / 12.4; at 2^28 (512x512 @ 512x1024) no
# gain (5.0 against 4.9), and below it the slice shows: 512^3 1.5 / 5.1 against
# 2.5 / 3.6, 128x784 @ 784x512 0.65 / 5.4 against 1.08 / 1.20. The CPU time of the
# 1024^3 call: 21.5 ms with two threads, 19.9 with one.
BIG_TEAM_MIN = 1 << 29
# Where it pays (`packed_per_call_fits`): the kernel's time over OpenBLAS's on the same
# columns (0.92-0.96 above), and packing B (37 us for 512 x 784 stored [K, N], 75 us
# transposed) in rows of the kernel's multiply-adds (0.018 ns each): a GEMM is packed
# where that estimate comes to at most _PACKED_GAIN of OpenBLAS's time. It leaves 128x512
# @ (784x512)^T to OpenBLAS (its last panel 48 columns of padding, and the transposed
# packing: 1.03-1.10x jitted, one thread).
_KERNEL_RATIO, _PACK_ROWS, _PACKED_GAIN = 0.93, {NO_TRANS: 5, TRANS: 11}, 0.98
# With 256-bit vectors (`sgemmpk8_f32`, 6 x 16 tiles) the kernel packed per call is no
# faster than OpenBLAS's Haswell sgemm on one thread, and much faster with two threads
# beside a busy core, where OpenBLAS's equal shares wait for the thread that shares its
# CPU. So on such CPUs a GEMM of at least BIG_TEAM_MIN multiply-adds (A not transposed, N
# whole panels) chooses at run time: the packed kernel where its big team has more than
# one thread, OpenBLAS on one. `python -m bench --workloads matmul --busy 0,1` (jitted
# 1024^3 float32 `x @ y`), AMD EPYC Zen 3 VM (2026-12-07), funcgrad's p50 over NumPy's in
# the same run, two runs each, before (FUNCGRAD_PACKED_GEMM=0) / after: one thread
# 1.01, 1.02 / 0.98, 0.97; two threads 0.94, 0.98 / 1.06, 1.01; two threads beside a
# spinning process 0.77, 0.85 / 0.68, 0.58 (against JAX's 0.98, 1.23 / 0.91, 0.84).
# Smaller GEMMs, A stored transposed, or N not a multiple of the panel stay with OpenBLAS
# on such CPUs (`packed_gemm_fits`' measurements: the kernel lost there).


def packed_per_call_fits(dtype, ta, tb, m, n, k) -> bool:
    """Whether C[m, n] = op(A) @ op(B) runs on the packed-panel kernel with B packed for
    this call (see above)."""
    tile = packed_gemm_tile()
    if not PACKED_GEMM or np.dtype(dtype) != dtypes.float32 or tile is None or portable():
        return False
    if not all(isinstance(d, int) for d in (m, n, k)):
        return False
    if PACKED_PER_CALL_ALL:
        return True
    if tile.width != 16 and not (m * n * k >= BIG_TEAM_MIN and ta == NO_TRANS and
                                 n % tile.nr == 0):
        # 256-bit vectors: only the GEMMs big enough for the big team, where the dynamic
        # chunks keep a second thread useful beside another process (see _KERNEL_RATIO)
        return False
    if m < 4 * tile.mr or n < 32 or k < 16 or m * n * k < PACKED_PER_CALL_MIN:
        return False
    if k * tile.nr * 4 > 1 << 19 or (ta == TRANS and k > 512):
        return False
    # the estimated time against OpenBLAS's: the kernel's, on N padded to whole panels,
    # plus the packing, worth _PACK_ROWS rows of the kernel's work
    padded = -(-n // tile.nr) * tile.nr
    return _KERNEL_RATIO * padded / n + _PACK_ROWS[tb] / m <= _PACKED_GAIN


def _packed_gemm_per_call(m, n, k, a, sa, sk, b, sbk, sbn, cc, temps):
    """C[m, n] = A @ B on the packed-panel kernel: B's panels packed into a scratch buffer
    (a parallel loop over panels), then the output in chunks of a panel's columns by a
    block of rows (whole tiles), taken by the threads as they finish. A's element (i, k)
    is a[i * sa + k * sk], B's (k, j) b[k * sbk + j * sbn]; C is contiguous."""
    import cdsl
    tile = packed_gemm_tile()
    nr, mr = tile.nr, tile.mr
    n_panels = -(-n // nr)
    panels = _ptr_expr(temps.new((n_panels * nr * k,), dtypes.float32).param_ref())
    big = m * n * k >= GEMM_SPLIT_MIN

    def offset(ptr, by):
        return cdsl.BinOp("+", ptr, by, ptr.type)

    def cols(j0):                      # the columns of the panel at column j0
        rest = c.sub(c.i64(n), j0)
        return c.select(c.lt(rest, c.i64(nr)), rest, c.i64(nr))
    j = c.var("gp", dtypes.int64)
    j0 = c.mul(j, c.i64(nr))
    pack = cdsl.For(j, c.i64(0), c.i64(n_panels), (c.expr_stmt(cdsl.Call(tile.panels, (
        cols(j0), c.i64(k), offset(b, c.mul(j0, c.i64(sbn))), c.i64(sbk), c.i64(sbn),
        offset(panels, c.mul(j0, c.i64(k)))), cdsl.void)),),
        parallel=big and n_panels * nr * k >= _PACKED_PARALLEL_PACK, parallel_min=2)

    def kernel(rows, cols, a_ptr, b_ptr, c_ptr):
        return c.expr_stmt(cdsl.Call(tile.kernel, (rows, cols, c.i64(k), a_ptr, c.i64(sa),
                                                   c.i64(sk), b_ptr, c_ptr, c.i64(n)),
                                     cdsl.void))
    if not big:
        return [pack, kernel(c.i64(m), c.i64(n), a, panels, cc)]
    # blocks of rows: as few as keep a block's part of A within _PACKED_A_BLOCK, more where
    # there would be fewer than _PACKED_MIN_CHUNKS chunks, equal up to a tile
    tiles = -(-m // mr)
    max_rows = max(mr, _PACKED_A_BLOCK // (4 * k) // mr * mr)
    blocks = min(tiles, max(-(-m // max_rows), -(-_PACKED_MIN_CHUNKS // n_panels)))
    rows = -(-tiles // blocks) * mr
    blocks = -(-m // rows)
    ch = c.var("gc", dtypes.int64)
    m0, m1, j0 = (c.var(v, dtypes.int64) for v in ("gc0", "gc1", "gcj"))
    end = c.add(m0, c.i64(rows))
    body = (c.decl(m0, c.mul(c.mod(ch, c.i64(blocks)), c.i64(rows))),
            c.decl(m1, c.select(c.lt(end, c.i64(m)), end, c.i64(m))),
            c.decl(j0, c.mul(c.div(ch, c.i64(blocks)), c.i64(nr))),
            kernel(c.sub(m1, m0), cols(j0),
                   offset(a, c.mul(m0, c.i64(sa))), offset(panels, c.mul(j0, c.i64(k))),
                   offset(cc, c.add(c.mul(m0, c.i64(n)), j0))))
    return [pack, cdsl.For(ch, c.i64(0), c.i64(blocks * n_panels), body, parallel=True,
                           parallel_min=2, schedule="dynamic",
                           big_team=m * n * k >= BIG_TEAM_MIN)]


def _gemm_one(dtype, ta, tb, m, n, k, a, lda, b, ldb, cc, ldc, beta):
    import cdsl
    complex_ = np.dtype(dtype).kind == "c"
    if complex_:
        # cgemm/zgemm take alpha and beta by pointer
        alpha_v, beta_v = c.var("galpha", dtype), c.var("gbeta", dtype)
        alpha = cdsl.UnOp("&", alpha_v, cdsl.PtrType(alpha_v.type, space=""))
        beta_e = cdsl.UnOp("&", beta_v, cdsl.PtrType(beta_v.type, space=""))
    else:
        alpha, beta_e = c.const(1.0, dtype), c.const(beta, dtype)
    args = [_blas_enum(ROW_MAJOR), _blas_enum(ta), _blas_enum(tb), m, _size(n), c.i64(k),
            alpha, a, c.i64(lda), b, c.i64(ldb), beta_e, cc, c.i64(ldc)]
    call = c.expr_stmt(cdsl.Call(_blas_fn(dtype, "gemm"), tuple(args), cdsl.void))
    if not complex_:
        return call
    return cdsl.Block((c.decl(alpha_v, c.const(1.0, dtype)), c.decl(beta_v, c.const(beta, dtype)),
                       call))


def _layout(shape, batch, contract, free_first: bool):
    """Is a buffer of `shape` [batch, free, contract] (free_first) or [batch, contract,
    free]? Returns (ok, trans, rows, cols)."""
    nd = len(shape)
    nb = len(batch)
    if tuple(batch) != tuple(range(nb)):
        return None
    free = [d for d in range(nb, nd) if d not in contract]
    csorted = sorted(contract)
    rest = list(range(nb, nd))
    if rest == free + csorted and list(contract) == csorted:
        return ("fc", math.prod(shape[d] for d in free),
                math.prod(shape[d] for d in contract))
    if rest == csorted + free and list(contract) == csorted:
        return ("cf", math.prod(shape[d] for d in free),
                math.prod(shape[d] for d in contract))
    return None


def _widen(src_ptr, n, temps: Temps, shape):
    """A float32 copy of a 16-bit float buffer (statements, temp)."""
    t = temps.new(shape, dtypes.float32)
    i = c.var("cv", dtypes.int64)
    return [c.for_(i, c.i64(0), c.i64(n), [c.store(t.param_ref(), i, c.load(src_ptr, i))],
                   parallel=n >= PARALLEL_MIN, simd=True)], t


def lower_dot(eqn, buffers, temps: Temps, invariant=frozenset()) -> list:
    """The C statements of a dot_general. `invariant`: ids of the values that stay the same
    over every call of the code being lowered (a scan body's constants, see
    `_packed_gemm_once`)."""
    lhs, rhs = eqn.inputs
    out = eqn.outputs[0]
    if lhs.aval.dtype not in (dtypes.bfloat16, dtypes.float16):
        return _lower_dot(eqn, buffers, temps, buffers[lhs.id], buffers[rhs.id],
                          buffers[out.id], rhs_invariant=rhs.id in invariant)
    # bfloat16/float16: products and sums in float32 (JAX's preferred_element_type
    # semantics; the reference computes the same in float32): widen both operands, sgemm,
    # and round the result once unless it is float32. (There is no bfloat16 GEMM in the
    # OpenBLAS wheel, and this CPU has no avx512_bf16 to write one with.)
    stmts, lt = _widen(buffers[lhs.id], lhs.aval.size, temps, lhs.aval.shape)
    more, rt = _widen(buffers[rhs.id], rhs.aval.size, temps, rhs.aval.shape)
    stmts += more
    if out.aval.dtype == dtypes.float32:
        return stmts + _lower_dot(eqn, buffers, temps, lt.param_ref(), rt.param_ref(),
                                  buffers[out.id], dtypes.float32)
    ot = temps.new(out.aval.shape, dtypes.float32)
    stmts += _lower_dot(eqn, buffers, temps, lt.param_ref(), rt.param_ref(), ot.param_ref(),
                        dtypes.float32)
    return stmts + _narrow(ot.param_ref(), buffers[out.id], out.aval.size)


def dot_operands(dimension_numbers, L, R, lp, rp, permute) -> tuple:
    """A dot_general's operands as batched matrices for one GEMM per batch entry (the C and
    OpenCL lowerings' common first step): (lp, lkind, rp, rkind, B, M, N, K). `lkind` is
    "fc" for an lhs stored [B, M, K] or "cf" for [B, K, M]; `rkind` "cf" for an rhs stored
    [B, K, N] or "fc" for [B, N, K]. An operand of `shape` (L, R) whose axes are in no such
    order is first copied transposed: `permute(ptr, shape, perm)` emits that copy and
    returns its pointer.

    Both operands flatten K in the same order: the contracting dimensions are paired in the
    lhs's order or in the rhs's, whichever leaves fewer elements to copy. (A weight
    gradient summed over time and batch, `x[b, t, f]` against `g[t, b, h]`, copies the
    small x rather than g.)"""
    (lc, rc), (lb, rb) = dimension_numbers
    nb = len(lb)
    best = None
    for key in (lc, rc):
        order = np.argsort(key, kind="stable")
        lc_s = tuple(lc[i] for i in order)
        rc_s = tuple(rc[i] for i in order)
        la = _layout(L, lb, lc_s, True)
        ra = _layout(R, rb, rc_s, False)
        cost = (0 if la else math.prod(L)) + (0 if ra else math.prod(R))
        if best is None or cost < best[0]:
            best = (cost, lc_s, rc_s, la, ra)
    _, lc_s, rc_s, la, ra = best
    if la is None:
        lfree = [d for d in range(len(L)) if d not in lc and d not in lb]
        perm = list(lb) + lfree + list(lc_s)
        lp = permute(lp, L, perm)
        L = tuple(L[p] for p in perm)
        lb, lc_s = tuple(range(nb)), tuple(range(nb + len(lfree), len(L)))
        la = _layout(L, lb, lc_s, True)
    if ra is None:
        rfree = [d for d in range(len(R)) if d not in rc and d not in rb]
        perm = list(rb) + list(rc_s) + rfree
        rp = permute(rp, R, perm)
        R = tuple(R[p] for p in perm)
        rb, rc_s = tuple(range(nb)), tuple(range(nb, nb + len(rc_s)))
        ra = _layout(R, rb, rc_s, False)
    lkind, M, K = la
    rkind, N, K2 = ra
    assert K == K2, (K, K2)
    B = math.prod(L[d] for d in range(nb)) if nb else 1
    return lp, lkind, rp, rkind, B, M, N, K


def _lower_dot(eqn, buffers, temps: Temps, lp, rp, op, dt=None, rhs_invariant=False) -> list:
    import cdsl
    lhs, rhs = eqn.inputs
    out = eqn.outputs[0]
    dt = out.aval.dtype if dt is None else dt
    stmts = []

    def permute(ptr, shape, perm):
        t = temps.new([shape[p] for p in perm], dt)
        stmts.extend(permute_copy(ptr, shape, perm, t.param_ref()))
        return t.param_ref()

    lp, lkind, rp, rkind, B, M, N, K = dot_operands(
        eqn.params["dimension_numbers"], lhs.aval.shape, rhs.aval.shape, lp, rp, permute)
    ta = NO_TRANS if lkind == "fc" else TRANS
    tb = NO_TRANS if rkind == "cf" else TRANS
    lda = K if lkind == "fc" else M
    ldb = N if rkind == "cf" else K
    if M * N == 0:
        return stmts
    if K == 0:
        i = c.var("z", dtypes.int64)
        return stmts + [c.for_(i, c.i64(0), c.i64(B * M * N), [c.store(op, i, c.const(0, dt))])]
    if not blas_fits(M, N, K):
        return stmts + _loop_gemm(dt, B, M, N, K, lp, lkind == "fc", rp, rkind == "cf", op)
    form = small_gemm_form(dt, M, N, K, lkind == "fc", rkind == "cf")
    if form is not None and not (B > 1 and small_batched_gemm_fits(dt, M, N, K)):
        return stmts + _small_gemm(form, dt, B, M, N, K, lp, lkind == "fc", rp, rkind == "cf",
                                   op)
    if B == 1:
        sa, sk = (lda, 1) if ta == NO_TRANS else (1, lda)
        sbk, sbn = (ldb, 1) if tb == NO_TRANS else (1, ldb)
        if rhs_invariant and rp is buffers[eqn.inputs[1].id] and \
                packed_gemm_fits(dt, M, N, K, trans_a=ta == TRANS):
            return stmts + _packed_gemm_once(M, N, K, lp, sa, sk, rp, sbk, sbn, op, temps)
        blas = _gemm_call(dt, ta, tb, M, N, K, _ptr_expr(lp), lda, _ptr_expr(rp), ldb,
                          _ptr_expr(op), N)
        if not direct_gemm_fits(dt, ta, tb, M, N, K) and packed_per_call_fits(dt, ta, tb, M, N, K):
            packed = _packed_gemm_per_call(M, N, K, _ptr_expr(lp), sa, sk, _ptr_expr(rp), sbk,
                                           sbn, _ptr_expr(op), temps)
            if packed_gemm_tile().width == 16:
                return stmts + packed
            # 256-bit vectors: the kernel only where the big team has more than one thread
            # (see _KERNEL_RATIO); on one, OpenBLAS
            team = cdsl.Call(cdsl.BIG_TEAM_SIZE, (), cdsl.i32)
            return stmts + [cdsl.If(c.binop(">", team, c.const(1, dtypes.int32), dtypes.bool_),
                                    tuple(packed), (blas,))]
        stmts.append(blas)
        return stmts
    if small_batched_gemm_fits(dt, M, N, K):
        return stmts + _small_batched_gemm(dt, B, M, N, K, lp, lkind == "fc", rp,
                                           rkind == "cf", op)
    bi = c.var("bi", dtypes.int64)
    call = _gemm_call(dt, ta, tb, M, N, K, _ptr_expr(lp, c.mul(bi, c.i64(M * K))), lda,
                      _ptr_expr(rp, c.mul(bi, c.i64(K * N))), ldb,
                      _ptr_expr(op, c.mul(bi, c.i64(M * N))), N)
    stmts.append(c.for_(bi, c.i64(0), c.i64(B), [call]))
    return stmts


# A GEMM this small runs as a loop nest in the kernel instead of a BLAS call. OpenBLAS's
# sgemm spends ~0.15-0.25 us per call before any arithmetic, and with one row or one column
# (a matrix-vector product: an RNN's step, a batch of one) it runs far below its GEMM rate.
# One thread, AMD Zen 3, scipy-openblas32 0.3.30 (`sgemm` / this loop nest, C harness, best
# of 30 x 1000 calls): h @ W 1x32x32 240 / 28 ns, 1x128x128 4.4 / 0.63 us, 1x512x512 77 /
# 17 us; W @ h 32x32 348 / 96 ns, 128x128 3.4 / 1.0 us; 16x64x64 1.9 / 1.5 us, 64x16x16 0.75
# / 0.50 us; even at 128x32x32 (3.7 / 3.8 us) and 64x64x64 (6.5 / 6.3 us), and slower past
# that (16x128x128 8.0 / 10.3 us), where BLAS's packing and register blocking pay.
# FUNCGRAD_SMALL_GEMM=0 turns the loops off (to measure the difference).
SMALL_GEMM = os.environ.get("FUNCGRAD_SMALL_GEMM", "1") != "0"
_SMALL_LOOP_GEMM = 1 << 16          # M * N * K at most
_SMALL_LOOP_GEMV = 1 << 18          # ... where M or N is 1
_DOT_ROWS = 4                       # rows a pass of a matrix-vector product's dots ...
_DOT_ROWS_ABOVE = 1 << 15           # ... whose matrix has more bytes than this (L1's)


def small_gemm_form(dt, M, N, K, a_fc, b_cf):
    """How a GEMM of float type `dt` and static per-entry sizes M x K @ K x N runs as a loop
    nest (`_small_gemm`), or None where it calls BLAS. "row": a row of the output at a time,
    sum_k A[i, k] * B[k, :] with the row in vector lanes (B's rows contiguous); "col": the
    same with the output's single column in the lanes (A stored [K, M]); "dot": one
    vectorised dot product over k per output element (both operands contiguous in k)."""
    if not SMALL_GEMM or dt not in (dtypes.float32, dtypes.float64) or \
            not all(type(d) is int and d >= 1 for d in (M, N, K)):
        return None
    size = M * N * K
    if size > _SMALL_LOOP_GEMM and not (min(M, N) == 1 and size <= _SMALL_LOOP_GEMV):
        return None
    a_k, a_i = a_fc or M == 1, not a_fc or K == 1        # A contiguous along k / along i
    b_j, b_k = b_cf or K == 1, not b_cf or N == 1        # B contiguous along j / along k
    if N == 1 and a_k and b_k:
        return "dot"
    if N == 1 and a_i:
        return "col"
    if b_j:
        return "row"
    if a_k and b_k and (min(M, N) == 1 or size <= _SMALL_GEMM):
        # (a dot per output element is slower than BLAS past that: x @ W.T of 16x64 @
        # 64x16 1.1 against 0.73 us; 4x32 @ 32x32 0.38 against 0.39; 1x64 @ 64x1000 5.0
        # against 27)
        return "dot"
    return None


def _small_gemm(form, dt, B, M, N, K, a, a_fc, b, b_cf, out) -> list:
    """out[bi, i, j] = sum_k A[bi, i, k] * B[bi, k, j] as the loop nest `small_gemm_form`
    chose. "row" and "col" add the products in order of k, in the operands' type (the order
    of the reference's sum); "dot" sums in vector lanes (an OpenMP simd reduction), as
    BLAS's kernels do. A stored [B, M, K] (a_fc) or [B, K, M]; B stored [B, K, N] (b_cf) or
    [B, N, K]; the batch runs in parallel where it is large."""
    bi, i, j, k = (c.var(n, dtypes.int64) for n in ("lb", "li", "lj", "lk"))
    if B == 1:
        bi = c.i64(0)

    def a_at(i_, k_):
        at = c.add(c.mul(i_, c.i64(K)), k_) if a_fc else c.add(c.mul(k_, c.i64(M)), i_)
        return c.load(a, c.add(c.mul(bi, c.i64(M * K)), at))

    def b_at(k_, j_):
        at = c.add(c.mul(k_, c.i64(N)), j_) if b_cf else c.add(c.mul(j_, c.i64(K)), k_)
        return c.load(b, c.add(c.mul(bi, c.i64(K * N)), at))

    def out_at(i_, j_):
        return c.add(c.mul(bi, c.i64(M * N)), c.add(c.mul(i_, c.i64(N)), j_))

    if form == "dot":
        red = _vector_reduction("sum", dt)

        def dots(rows, row0, col):
            # output elements (row0 + r, col) for r < rows, their dots in one pass over k
            accs = [c.var(f"lacc{r}", dt) for r in range(rows)]
            rws = [c.add(row0, c.i64(r)) if r else row0 for r in range(rows)]
            over_k = c.for_(k, c.i64(0), c.i64(K), [c.assign(a_, c.binop(
                "+", a_, c.binop("*", a_at(rw, k), b_at(k, col), dt), dt))
                for a_, rw in zip(accs, rws)], simd=True,
                reduction=tuple((red[0], a_) for a_ in accs) if rows > 1 else
                (red[0], accs[0]))
            return [c.decl(a_, c.const(0, dt)) for a_ in accs] + [over_k] + \
                [c.store(out, out_at(rw, col), a_) for a_, rw in zip(accs, rws)]
        if N == 1 and M >= 2 * _DOT_ROWS and M * K * dt.itemsize > _DOT_ROWS_ABOVE:
            # A matrix times a vector too large for the L1 cache: _DOT_ROWS rows a pass
            # share the vector's loads while the matrix streams from L2 (C harness, 128 x
            # 128: 1016 ns a row at a time, 723 four at a time; 256 x 256: 4.8 -> 2.7 us;
            # the 128-unit scan RNN's `W @ h` 1.455 -> 1.105 ms; at 64 x 64, in L1, the
            # same in the harness and slower in the RNN, 0.36 -> 0.44 ms)
            full = M - M % _DOT_ROWS
            i4 = c.var("lq", dtypes.int64)
            nest = [c.for_(i4, c.i64(0), c.i64(full // _DOT_ROWS),
                           dots(_DOT_ROWS, c.mul(i4, c.i64(_DOT_ROWS)), c.i64(0)))]
            if full < M:
                nest.append(c.for_(i, c.i64(full), c.i64(M), dots(1, i, c.i64(0))))
        else:
            nest = [c.for_(i, c.i64(0), c.i64(M), [c.for_(j, c.i64(0), c.i64(N),
                                                          dots(1, i, j))])]
    else:
        # rows r of the output, each a vector over its lanes v: o[r, v] = sum_k x(r, k) y(k, v)
        if form == "row":
            rows, lanes, r, v = M, N, i, j
            x_at, y_at, o_at = a_at, b_at, out_at
        else:                                    # one output column (N == 1), A's i in lanes
            rows, lanes, r, v = N, M, j, i
            x_at, y_at = (lambda r_, k_: b_at(k_, r_)), (lambda k_, v_: a_at(v_, k_))
            o_at = (lambda r_, v_: out_at(v_, r_))
        xk = c.var("lx", dt)
        # (0 + the first product: a sum of products that are all -0.0 is +0.0, as in BLAS
        # and NumPy, whose sums start at 0)
        first = c.for_(v, c.i64(0), c.i64(lanes), [c.store(out, o_at(r, v), c.binop(
            "+", c.const(0, dt), c.binop("*", x_at(r, c.i64(0)), y_at(c.i64(0), v), dt),
            dt))], simd=True)
        step = c.for_(v, c.i64(0), c.i64(lanes), [c.store(out, o_at(r, v), c.binop(
            "+", c.load(out, o_at(r, v)), c.binop("*", xk, y_at(k, v), dt), dt))], simd=True)
        over_k = c.for_(k, c.i64(1), c.i64(K), [c.decl(xk, x_at(r, k)), step])
        nest = [c.for_(r, c.i64(0), c.i64(rows), [first] + ([over_k] if K > 1 else []))]
    if B == 1:
        return nest
    return [c.for_(bi, c.i64(0), c.i64(B), nest, parallel=B * M * N * K >= PARALLEL_MIN)]


# A batch of GEMMs this small (M * N * K at most, each at most _SMALL_GEMM_DIM) runs as one
# loop nest: a BLAS call per batch entry costs ~0.1 us before any arithmetic.
_SMALL_GEMM = 4096
_SMALL_GEMM_DIM = 16


def small_batched_gemm_fits(dt, M, N, K) -> bool:
    """Whether a batched GEMM of float type `dt` and static per-entry sizes runs as
    `_small_batched_gemm` rather than a BLAS call per batch entry."""
    return dt in (dtypes.float32, dtypes.float64) and \
        all(type(d) is int and d <= _SMALL_GEMM_DIM for d in (M, N, K)) and \
        M * N * K <= _SMALL_GEMM


def _small_batched_gemm(dt, B, M, N, K, a, a_fc, b, b_cf, out) -> list:
    """out[bi, i, j] = sum_k A[bi, i, k] * B[bi, k, j] for a batch of small matrices, as a
    loop nest over the batch (in parallel) with the per-entry loops of literal sizes, which
    gcc unrolls. A batch of 100,000 3x3 products (rotations, per-point transforms) made
    100,000 sgemm calls: 9.6-10 ms against JAX's 1.3-1.6 (one thread, AMD Zen 3); as
    loops, ~1.1. 8x8x8 x 20,000: 3.1 ms in BLAS calls, ~0.8 as loops; 16x16x16 x 10,000:
    3.4 against ~2.1. The sum over k runs in order in the operands' type, as BLAS's does
    (float32 in float32). A stored [B, M, K] (a_fc) or [B, K, M]; B stored [B, K, N]
    (b_cf) or [B, N, K]."""
    bi, i, j, k = (c.var(n, dtypes.int64) for n in ("sb", "si", "sj", "sk"))
    acc = c.var("sacc", dt)
    a_off = c.add(c.mul(bi, c.i64(M * K)),
                  c.add(c.mul(i, c.i64(K)), k) if a_fc else c.add(c.mul(k, c.i64(M)), i))
    b_off = c.add(c.mul(bi, c.i64(K * N)),
                  c.add(c.mul(k, c.i64(N)), j) if b_cf else c.add(c.mul(j, c.i64(K)), k))
    term = c.binop("*", c.load(a, a_off), c.load(b, b_off), dt)
    over_k = c.for_(k, c.i64(0), c.i64(K), [c.assign(acc, c.binop("+", acc, term, dt))])
    out_off = c.add(c.mul(bi, c.i64(M * N)), c.add(c.mul(i, c.i64(N)), j))
    over_j = c.for_(j, c.i64(0), c.i64(N), [c.decl(acc, c.const(0, dt)), over_k,
                                            c.store(out, out_off, acc)])
    over_i = c.for_(i, c.i64(0), c.i64(M), [over_j])
    return [c.for_(bi, c.i64(0), c.i64(B), [over_i],
                   parallel=B * M * N * K >= PARALLEL_MIN)]


# BLAS's integer arguments (M, N, K and the leading dimensions) are `blasint`, which is int32
# in scipy-openblas32: a size past INT32_MAX passed there wrapped, and OpenBLAS rejected the
# call with a message on stderr and left the output unwritten (x @ w with K = 2^31 + 77 gave
# 0 for 8; with M = 2^31 + 77 on one thread every row was 0).
BLAS_INT_MAX = 2**31 - 1


def blas_fits(M, N, K) -> bool:
    """Whether a GEMM of these sizes (per batch entry) can call BLAS: every integer argument
    of the call (M, N, K, lda, ldb, ldc, each one of M, N, K; a thread's share of M or N
    is less) fits in int32."""
    return max(M, N, K) <= BLAS_INT_MAX


def _loop_gemm(dt, B, M, N, K, a, a_fc, b, b_cf, out) -> list:
    """out[bi, i, j] = sum_k A[bi, i, k] * B[bi, k, j] as a loop nest with int64 offsets, for
    the GEMMs BLAS's int32 arguments cannot describe (`blas_fits`). Such a GEMM is thin: an
    operand holds M*K or K*N elements, so a dimension past 2^31 leaves the others small, and
    one pass over the operands is all the work there is. A stored [B, M, K] (a_fc) or
    [B, K, M]; B stored [B, K, N] (b_cf) or [B, N, K]. Products and sums in
    `codegen._accumulator`'s type (float32 in double), rounded once."""
    acc_dt = _accumulator("sum", dt)
    o, bi, i, j, k = (c.var(n, dtypes.int64) for n in ("go", "gb", "gi", "gj", "gk"))
    acc = c.var("gacc", acc_dt)
    a_off = c.add(c.mul(i, c.i64(K)), k) if a_fc else c.add(c.mul(k, c.i64(M)), i)
    b_off = c.add(c.mul(k, c.i64(N)), j) if b_cf else c.add(c.mul(j, c.i64(K)), k)
    body = [c.decl(i, c.div(o, c.i64(N)) if B == 1 else c.mod(c.div(o, c.i64(N)), c.i64(M))),
            c.decl(j, c.mod(o, c.i64(N)))]
    if B > 1:
        a_off, b_off = c.add(c.mul(bi, c.i64(M * K)), a_off), c.add(c.mul(bi, c.i64(K * N)), b_off)
        body.insert(0, c.decl(bi, c.div(o, c.i64(M * N))))
    term = c.binop("*", c.cast(acc_dt, c.load(a, a_off)), c.cast(acc_dt, c.load(b, b_off)),
                   acc_dt)
    red = _vector_reduction("sum", acc_dt)
    inner = c.for_(k, c.i64(0), c.i64(K), [c.assign(acc, c.binop("+", acc, term, acc_dt))],
                   simd=red is not None, reduction=None if red is None else (red[0], acc))
    n_out = B * M * N
    body += [c.decl(acc, c.const(0, acc_dt)), inner, c.store(out, o, c.cast(dt, acc))]
    return [c.for_(o, c.i64(0), c.i64(n_out), body,
                   parallel=n_out > 1 and n_out * K >= PARALLEL_MIN)]


# ---------------------------------------------------------------------------------------
# Convolutions: a direct kernel (implicit GEMM, register-blocked)
#
# out[g, m, f] = sum_k xp[g, m, k] * w[g, k, f]: m runs over the output positions (batch and
# spatial), f over the output features of a group, k over the input features and window
# taps. With the input padded into a scratch copy when it needs to be, every operand
# address is affine in the loop indices, so the kernel reads the operands in place: no
# im2col matrix. Input dilation (the input gradient of a strided convolution) splits the
# output positions into phases, each a convolution over the taps that meet input values
# (no products with the dilation's zeros; a non-finite weight's 0 * inf = NaN is added after).
#
# A tile of MR output positions x NR features (NR = two SIMD registers) accumulates in
# registers over all k: per k step it loads NR filter values (contiguous) and MR input
# values (broadcast), then does MR*NR fused multiply-adds, as the register blocking of
# BLIS/oneDNN-style kernels does. The accumulators are vectors of features (CONV_VECTOR_TILES)
# or, in C99 for `export.to_c` and for the last features that fill no quarter register,
# scalars updated with fmaf(): unlike `acc += x*w` (a reduction the loop vectoriser would
# try to vectorise over k with in-order shuffles, 20x slower), fmaf() is not a reduction it
# recognises. gcc's SLP vectoriser, which once packed such scalars into registers, is off
# in every module (cdsl.compile.SLP_OFF). Tile rows past the end compute the last position again
# and are not stored (no remainder variants). When a tile's k sweep would stream more than
# the caches hold (the filter gradient: k runs over the whole batch), k is split into
# blocks and each block sweeps all tiles, accumulating into the output.

CONV_MR = 6                  # output positions per tile (MR*2 accumulator registers)
# With AVX-512 (x86-64-v4), a tile is MR positions x four 512-bit registers of features,
# and its function is compiled preferring 512-bit vectors (gcc's -march=native prefers
# 256 on these CPUs; the module's other loops keep that): 24 accumulators in the 32 zmm
# registers, as the GEMM kernel's 5 x 4. Per output element the products are added in the
# same order either way (bit-identical results). Measured on an Intel Xeon (two 512-bit FMA
# units) on the strided 2-D convolution forward (N=64, 32x32x32 -> 64, 3x3, stride 2):
# 12.2-13.0 -> 9.5-10.0 ms. Not on AMD Zen 4 (family 0x19), which runs a 512-bit FMA as two
# 256-bit halves: there the CNN step measured 19.3-20.4 ms wide against 18.6-19.0 ms narrow,
# and the wide tiles cost ~1 s more of gcc per CNN program (3.4 s against 2.4 s cold).
# FUNCGRAD_CONV_WIDE_TILES=1 or 0 forces them on or off.


def _wide_conv_tiles_pay() -> bool:
    info = cpu_info()
    return cpu_level() == "v4" and not (info.get("vendor_id") == "AuthenticAMD" and
                                        info.get("cpu family") == "25")


CONV_WIDE_TILES = {"1": True, "0": False}.get(os.environ.get("FUNCGRAD_CONV_WIDE_TILES", ""),
                                               None)
if CONV_WIDE_TILES is None:
    CONV_WIDE_TILES = _wide_conv_tiles_pay()
# Full tiles in vector types with explicit fused multiply-adds, on CPUs with FMA (x86-64-v3
# and up): the products and sums of the scalar fmaf() tiles, in the same order (the same
# bits); gcc compiles them about twice as fast (the CNN step's module: 1.44-1.49 s ->
# 0.71-0.80 s of gcc on Zen 4). FUNCGRAD_CONV_VECTOR_TILES=0: scalar tiles.
CONV_VECTOR_TILES = os.environ.get("FUNCGRAD_CONV_VECTOR_TILES", "1") != "0" and \
    cpu_level() in ("v3", "v4")
_portable = threading.local()


@contextlib.contextmanager
def portable_conv():
    """On this thread, lower convolutions as plain C99: scalar fmaf() tiles two vectors
    wide and no compiler attributes (`export.to_c`, whose file any C99 compiler builds
    with only libm; `portable()` tells the C backend to keep LAPACK calls and sorts as
    host steps, which the export refuses, rather than call LAPACK)."""
    _portable.on = True
    try:
        yield
    finally:
        _portable.on = False


def portable() -> bool:
    """Whether this thread is lowering for `export.to_c` (inside `portable_conv`)."""
    return getattr(_portable, "on", False)


def _conv_flags() -> tuple[bool, bool]:
    """(vector tiles, wide tiles) for the convolution being lowered."""
    if portable():
        return False, False
    return CONV_VECTOR_TILES, CONV_WIDE_TILES


def conv_alone() -> bool:
    """Whether a convolution step stands alone in a function with `CONV_WIDE_ATTRIBUTE`."""
    return _conv_flags()[1]
CONV_WIDE_ATTRIBUTE = '__attribute__((target("prefer-vector-width=512")))'
# A tile whose k sweep streams more than _CONV_BLOCK_TRIGGER operand bytes sweeps k in
# blocks of about _CONV_BLOCK_BYTES, all tiles per block (measured: 18.8 ms -> 6.7 ms for the
# filter gradient of a 3x3 32->64 convolution over 64x14x14).
_CONV_BLOCK_TRIGGER = 1 << 18
_CONV_BLOCK_BYTES = 1 << 15
# Whether an axis inside the outermost may be the one blocked (`_k_block`); False: the
# outermost, in blocks of at least one index (as before 2026-12-03; for A/B measurements).
_CONV_BLOCK_INNER = True
# Multiply-adds below which a convolution stays on one thread (a parallel region costs
# microseconds, more when a core is busy elsewhere).
CONV_PARALLEL_MIN = 1 << 21
# A convolution of BIG_TEAM_MIN multiply-adds or more takes its tiles (when not blocked
# over k) in about this many dynamic chunks, on the big team
_CONV_BIG_CHUNKS = 256


def _simd_width(dtype) -> int:
    """Elements per SIMD register of the code built with -march=native."""
    bits = {"v4": 512, "v3": 256}.get(cpu_level(), 128)
    return max(1, bits // (8 * np.dtype(dtype).itemsize))


def _vector_widths(simd: int, itemsize: int) -> tuple:
    """The lanes of the vectors a convolution tile may be written in: a whole, a half and a
    quarter SIMD register, of 128 bits at least (those the dialect has FMAs for)."""
    return tuple(w for w in (simd, simd // 2, simd // 4) if w > 1 and w * itemsize >= 16)


def _tile_width(nr: int, widths: tuple) -> int:
    """Elements per vector of a tile of `nr` features: the widest of `widths`
    (`_vector_widths`) that divides `nr`, or 1 (scalar fmaf() accumulators)."""
    return next((w for w in widths if nr % w == 0), 1)


def _feature_parts(start: int, n: int, widths: tuple) -> list:
    """(first feature, count) of the tiles after the full ones, which cover `n` features
    from `start`: a multiple of each of `widths` in turn (`_vector_widths`; empty without
    vector tiles), then the scalar rest, each part a tile of one vector width (at most
    three vectors a row). Found on an Intel Xeon, whose wide tiles are 64 features: the
    CNN's 32-feature convolutions were all remainder, one scalar tile, 39 ms for the one
    that takes 3.6 in vectors."""
    parts = []
    for width in widths:
        if n >= width:
            parts.append((start, n - n % width))
            start, n = start + parts[-1][1], n % width
    if n:
        parts.append((start, n))
    return parts


def _fma(dtype, a, b, acc):
    import cdsl
    name = "fmaf" if np.dtype(dtype) == dtypes.float32 else "fma"
    return cdsl.Call(name, (a, b, acc), c.ct(dtype))


def _lin(terms, base=None):
    """base + sum(index * stride) as an int64 expression (strides may be run-time sizes)."""
    e = None if base is None or (isinstance(base, int) and base == 0) else c.i64(base)
    for idx, stride in terms:
        if isinstance(stride, int) and stride == 0:
            continue
        t = idx if isinstance(stride, int) and stride == 1 else c.mul(idx, c.i64(stride))
        e = t if e is None else c.add(e, t)
    return c.i64(0) if e is None else e


def _zero_fill(ptr, n, dt):
    z = c.var("cz", dtypes.int64)
    return [c.for_(z, c.i64(0), c.i64(n), [c.store(ptr, z, c.const(0, dt))],
                   parallel=n >= PARALLEL_MIN, simd=True)]


def _loop_nest(vars_, extents, body, parallel_work=0, simd_inner=False):
    """Nested loops (outermost first); the outermost is parallel when the work is big."""
    for d in reversed(range(len(vars_))):
        body = [c.for_(vars_[d], c.i64(0), c.i64(extents[d]), body,
                       parallel=(d == 0 and parallel_work >= PARALLEL_MIN and extents[0] > 1),
                       simd=simd_inner and d == len(vars_) - 1)]
    return body


def _pad_copy(xptr, X, ls, span, lo_x, dst, dt):
    """dst (X's axis order, spatial extents `span`): index q of spatial axis d holds x at
    q + lo_x[d], zero where that is outside x."""
    shape = list(X)
    for d, n in enumerate(span):
        shape[ls[2 + d]] = n
    xs = strides_of(X)
    ivars = [c.var(f"cp{d}", dtypes.int64) for d in range(len(X))]
    src, valid = [], None
    for a in range(len(X)):
        if a not in ls[2:]:
            src.append((ivars[a], xs[a]))
            continue
        d = list(ls[2:]).index(a)
        lo, n = lo_x[d], X[a]
        q = c.add(ivars[a], c.i64(lo)) if lo > 0 else (
            c.sub(ivars[a], c.i64(-lo)) if lo < 0 else ivars[a])
        conds = [c.ge(q, c.i64(0))] if lo < 0 else []
        if span[d] + lo > n:
            conds.append(c.lt(q, c.i64(n)))
        for cond in conds:
            valid = cond if valid is None else c.land(valid, cond)
        src.append((c.call("clamp_i64", [q, c.i64(0), c.i64(max(n - 1, 0))], dtypes.int64)
                    if conds else q, xs[a]))
    v = c.load(xptr, _lin(src))
    if valid is not None:
        v = c.select(valid, v, c.const(0, dt))
    body = [c.store(dst, _lin(zip(ivars, strides_of(shape))), v)]
    return shape, _loop_nest(ivars, shape, body, math.prod(shape), simd_inner=True)


def _phases(o_n, k_n, s, ld, rd, lo):
    """One spatial axis of a convolution as phases: with input dilation `ld` only every
    ld-th dilated position holds an input value, so the output positions split into L
    classes o = L*j + rho, each reading a fixed subset of the taps (k = k0 + t*kstep) at
    input index j*xj + d0 + t*dstep (no multiplications by the dilation's zeros). Without
    dilation: one phase, all taps. Returns [(rho, L, J, xj, nt, k0, kstep, d0, dstep)]."""
    if ld == 1:
        return [(0, 1, o_n, s, k_n, 0, 1, -lo, rd)]
    L = ld // math.gcd(s, ld)
    out = []
    for rho in range(L):
        J = max(0, -(-(int(o_n) - rho) // L))
        if J == 0:
            continue
        taps = [k for k in range(k_n) if (rho * s + k * rd - lo) % ld == 0]
        k0 = taps[0] if taps else 0
        kstep = taps[1] - taps[0] if len(taps) > 1 else 1
        d0 = (rho * s + k0 * rd - lo) // ld
        out.append((rho, L, J, L * s // ld, len(taps), k0, kstep, d0, kstep * rd // ld))
    return out


def lower_conv(eqn, buffers, temps: Temps) -> list:
    """conv_general_dilated (any layout, padding, dilation, feature or batch groups) as a
    direct register-blocked kernel; see the section comment above. 16-bit float operands
    are widened to float32 and the float32 kernel runs (float32 accumulation, as for dot)."""
    lhs, rhs = eqn.inputs
    out = eqn.outputs[0]
    if lhs.aval.dtype not in (dtypes.bfloat16, dtypes.float16):
        return _lower_conv(eqn, buffers, temps)
    stmts, lt = _widen(buffers[lhs.id], lhs.aval.size, temps, lhs.aval.shape)
    more, rt = _widen(buffers[rhs.id], rhs.aval.size, temps, rhs.aval.shape)
    stmts += more
    wide = {lhs.id: lt.param_ref(), rhs.id: rt.param_ref(), out.id: buffers[out.id]}
    if out.aval.dtype == dtypes.float32:
        return stmts + _lower_conv(eqn, wide, temps, dtypes.float32)
    ot = temps.new(out.aval.shape, dtypes.float32)
    wide[out.id] = ot.param_ref()
    stmts += _lower_conv(eqn, wide, temps, dtypes.float32)
    return stmts + _narrow(ot.param_ref(), buffers[out.id], out.aval.size)


def _narrow(src, dst, n):
    """Stores of a float32 buffer into a 16-bit float one (each rounded to nearest-even)."""
    i = c.var("cv", dtypes.int64)
    return [c.for_(i, c.i64(0), c.i64(n), [c.store(dst, i, c.load(src, i))],
                   parallel=n >= PARALLEL_MIN, simd=True)]


def _lower_conv(eqn, buffers, temps: Temps, dt=None) -> list:
    import cdsl
    p = eqn.params
    ls, rs, os_ = p["dimension_numbers"]
    lhs, rhs = eqn.inputs
    out = eqn.outputs[0]
    dt = out.aval.dtype if dt is None else dt
    X, Wsh, O = lhs.aval.shape, rhs.aval.shape, out.aval.shape
    nsp = len(X) - 2
    xptr, wptr, optr = buffers[lhs.id], buffers[rhs.id], buffers[out.id]
    if out.aval.size == 0:
        return []
    groups = p["feature_group_count"] * p["batch_group_count"]
    F = O[os_[1]]
    Fg = F // groups
    Cg = Wsh[rs[1]]
    ksp = [Wsh[d] for d in rs[2:]]
    osp = [O[d] for d in os_[2:]]
    isp = [X[d] for d in ls[2:]]
    if Cg * math.prod(ksp) == 0:
        return _zero_fill(optr, out.aval.size, dt)
    plans = [_phases(osp[d], ksp[d], p["window_strides"][d], p["lhs_dilation"][d],
                     p["rhs_dilation"][d], p["padding"][d][0]) for d in range(nsp)]
    stmts = []
    # The input as the kernel reads it: index q of axis d holds x at q + lo_x[d], zero
    # outside x (a padded scratch copy when some read would fall outside).
    lo_x, hi_x = [], []
    for plan in plans:
        live = [ph for ph in plan if ph[4]]
        lo_x.append(min((ph[7] for ph in live), default=0))
        hi_x.append(max(((ph[2] - 1) * ph[3] + ph[7] + (ph[4] - 1) * ph[8] for ph in live),
                        default=0))
    if all(lo >= 0 and hi < n for lo, hi, n in zip(lo_x, hi_x, isp)):
        xsrc, xst = xptr, strides_of(X)
        xbase = sum(lo * xst[ls[2 + d]] for d, lo in enumerate(lo_x))
    else:
        span = [hi - lo + 1 for lo, hi in zip(lo_x, hi_x)]
        shape = list(X)
        for d, n in enumerate(span):
            shape[ls[2 + d]] = n
        t = temps.new(shape, dt)
        stmts += _pad_copy(xptr, X, ls, span, lo_x, t.param_ref(), dt)[1]
        xsrc, xst, xbase = t.param_ref(), strides_of(shape), 0
    wst, ost = strides_of(Wsh), strides_of(O)
    # The filter with its features contiguous: as given, or packed as [group, c, k..., f].
    fst = wst[rs[0]]
    if fst == 1:
        wsrc, gw, wc, wk = wptr, Fg, wst[rs[1]], [wst[d] for d in rs[2:]]
    else:
        pshape = [groups, Cg] + ksp + [Fg]
        t = temps.new(pshape, dt)
        pv = [c.var(f"wp{d}", dtypes.int64) for d in range(len(pshape))]
        src = _lin([(pv[0], Fg * fst), (pv[1], wst[rs[1]])] +
                   [(pv[2 + d], wst[rs[2 + d]]) for d in range(nsp)] + [(pv[-1], fst)])
        stmts += _loop_nest(pv, pshape, [c.store(t.param_ref(), _lin(zip(pv, strides_of(
            pshape))), c.load(wptr, src))], math.prod(pshape))
        pst = strides_of(pshape)
        wsrc, gw, wc, wk = t.param_ref(), pst[0], pst[1], pst[2:2 + nsp]
    # The output with its features contiguous (a scratch buffer, permuted after, if not).
    m_dims = [os_[0]] + list(os_[2:])
    if ost[os_[1]] == 1:
        dst, on, oo = optr, ost[os_[0]], [ost[d] for d in os_[2:]]
        permute = None
    else:
        nat = sorted(m_dims, key=lambda d: -ost[d]) + [os_[1]]
        nat_shape = [O[d] for d in nat]
        t = temps.new(nat_shape, dt)
        tst = strides_of(nat_shape)
        dst, on = t.param_ref(), tst[nat.index(os_[0])]
        oo = [tst[nat.index(d)] for d in os_[2:]]
        permute = (t.param_ref(), nat_shape, [nat.index(k) for k in range(len(O))])
    if p["feature_group_count"] > 1:
        gx = Cg * xst[ls[1]]
    elif p["batch_group_count"] > 1:
        gx = O[os_[0]] * xst[ls[0]]
    else:
        gx = 0
    phases = list(itertools.product(*plans))
    if any(ph[4] == 0 for combo in phases for ph in combo):
        stmts += _zero_fill(dst, out.aval.size, dt)     # phases no tap reaches stay zero
    xs = [xst[d] for d in ls[2:]]
    for combo in phases:
        if any(ph[4] == 0 for ph in combo):
            continue
        # Loop axes as (extent, stride in x, stride in the filter or the output).
        m_axes = [(O[os_[0]], xst[ls[0]], on)] + [
            (ph[2], ph[3] * xs[d], ph[1] * oo[d]) for d, ph in enumerate(combo)]
        k_axes = [(Cg, xst[ls[1]], wc)] + [
            (ph[4], ph[8] * xs[d], ph[6] * wk[d]) for d, ph in enumerate(combo)]
        obase = sum(ph[0] * oo[d] for d, ph in enumerate(combo))
        wbase = sum(ph[5] * wk[d] for d, ph in enumerate(combo))
        x0 = xbase + sum((ph[7] - lo_x[d]) * xs[d] for d, ph in enumerate(combo))
        m_axes = sorted([a for a in m_axes if a[0] != 1], key=lambda a: -a[2]) or m_axes[:1]
        k_axes = sorted([a for a in k_axes if a[0] != 1], key=lambda a: -a[1]) or k_axes[:1]
        if len(phases) > 1:
            stmts.append(c.comment("phase " + ", ".join(f"{ph[0]} mod {ph[1]}"
                                                        for ph in combo)))
        if groups > 1 and Fg == 1 and gx == 1 and gw == 1:
            # Depthwise (one output channel per input channel group, channels innermost):
            # vectors over the groups, the channels, instead of scalar tiles per group.
            stmts += _conv_tiles(dt, 1, m_axes, k_axes, groups, (xsrc, x0, 0),
                                 (wsrc, wbase, 0), (dst, obase, 0), depthwise=True)
            continue
        stmts += _conv_tiles(dt, groups, m_axes, k_axes, Fg, (xsrc, x0, gx),
                             (wsrc, wbase, gw), (dst, obase, Fg))
    nans = [st for combo in phases for st in _skipped_tap_nans(
        dt, combo, ksp, groups, Fg, Cg, (wsrc, gw, wc, wk), (dst, O[os_[0]], on, oo))]
    if nans:
        # Skipping the dilation's zeros also skips their products with non-finite weights
        # (NaN); those are added back only when the filter holds one (a vectorised check).
        z, i = c.var("chz", dt), c.var("chi", dtypes.int64)
        stmts += [c.decl(z, c.const(0, dt)), c.for_(
            i, c.i64(0), c.i64(math.prod(Wsh)), [c.assign(z, c.binop(
                "+", z, c.binop("*", c.const(0, dt), c.load(wsrc, i), dt), dt))],
            simd=True, reduction=("sum", z)), cdsl.If(c.ne(z, z), tuple(nans))]
    if permute is not None:
        stmts += permute_copy(permute[0], permute[1], permute[2], optr)
    return [cdsl.Block(tuple(stmts))]


def _skipped_tap_nans(dt, combo, ksp, groups, Fg, Cg, wop, oop):
    """NaN added to a phase's outputs where a tap it skips has a non-finite weight. XLA (and
    the reference) multiply every tap by the dilated, padded input, zeros included, so such
    a weight on a dilation's zero (or on padding between the input's grid points) gives
    0 * inf = NaN. A phase skips the same taps at every one of its output positions: per
    output feature, the sum of 0 * w over the skipped taps (and the input channels) is +0
    or NaN, and is added to that feature's outputs of the phase when it is NaN."""
    if np.dtype(dt).kind != "f" or all(ph[4] == ksp[d] for d, ph in enumerate(combo)):
        return []                                   # no tap skipped
    import cdsl
    (wsrc, gw, wc, wk), (dst, n_batch, on, oo) = wop, oop
    kv = [c.var(f"ch{d}", dtypes.int64) for d in range(len(ksp))]
    reads = []             # the phase reads tap k: on each axis, k = k0 + t*kstep, t < nt
    for d, (_, _, _, _, nt, k0, kstep, _, _) in enumerate(combo):
        if nt == 0:        # no tap on this axis: the phase reads none (zero-filled outputs)
            reads = []
            break
        if k0:
            reads.append(c.ge(kv[d], c.i64(k0)))
        if k0 + (nt - 1) * kstep < ksp[d] - 1:
            reads.append(c.lt(kv[d], c.i64(k0 + (nt - 1) * kstep + 1)))
        if kstep > 1:
            reads.append(c.eq(c.mod(c.sub(kv[d], c.i64(k0)), c.i64(kstep)), c.i64(0)))
    gv, fv, cv = (c.var(n, dtypes.int64) for n in ("chg", "chf", "chc"))
    s = c.var("chs", dt)
    zero_w = c.binop("*", c.const(0, dt), c.load(wsrc, _lin(
        [(gv, gw), (fv, 1), (cv, wc)] + list(zip(kv, wk)))), dt)
    acc = [c.assign(s, c.binop("+", s, zero_w, dt))]
    if reads:
        acc = [cdsl.If(c.lnot(functools.reduce(c.land, reads)), tuple(acc))]
    sum_taps = _loop_nest([cv] + kv, [Cg] + list(ksp), acc)
    mv = [c.var(f"chm{d}", dtypes.int64) for d in range(len(combo) + 1)]
    obase = c.add(c.mul(gv, c.i64(Fg)), fv)
    off = _lin([(mv[0], on)] + [(mv[1 + d], ph[1] * oo[d]) for d, ph in enumerate(combo)],
               sum(ph[0] * oo[d] for d, ph in enumerate(combo)))
    add = _loop_nest(mv, [n_batch] + [ph[2] for ph in combo], [
        c.store(dst, c.add(off, obase), c.binop("+", c.load(dst, c.add(off, obase)), s, dt))])
    body = [c.decl(s, c.const(0, dt))] + sum_taps + [cdsl.If(c.ne(s, s), tuple(add))]
    return [c.comment("NaN where a skipped tap's weight is not finite (0 * inf)")] + \
        _loop_nest([gv, fv], [groups, Fg], body)


def _k_block(k_axes, itemsize) -> tuple[int, int]:
    """(axis, block): the k axis to sweep in blocks and the block's extent. An index of k
    axis j touches about (its x stride + its w stride) elements (the axes inside it span
    less); the outermost axis whose block of at least two indices stays within
    _CONV_BLOCK_BYTES is blocked, the axes outside it loop around the blocks. (Blocking
    the outermost axis alone left the filter gradient of a 1-D convolution, whose batch
    index spans 384 KiB of input and output gradient, sweeping blocks of one batch row
    from L2: on AMD Zen 3, one thread, 23.3 ms (56 GFLOP/s) against 19.6 ms (67, the
    forward's rate) blocked on the positions.)"""
    per_index = [max(1, (abs(a[1]) + abs(a[2])) * itemsize) for a in k_axes]
    if not _CONV_BLOCK_INNER:
        return 0, max(1, _CONV_BLOCK_BYTES // per_index[0])
    for j, (n, _, _) in enumerate(k_axes):
        if n > 1 and 2 * per_index[j] <= _CONV_BLOCK_BYTES:
            return j, max(1, _CONV_BLOCK_BYTES // per_index[j])
    return 0, 1


def _conv_tiles(dt, groups, m_axes, k_axes, Fg, xop, wop, oop, depthwise=False):
    """The tile loops: groups, k blocks, (parallel) tiles of MR positions, feature tiles.
    xop, wop, oop: (pointer, base offset, group stride) of the input, filter and output.
    `depthwise`: the Fg "features" are groups of one channel each, contiguous in all three
    operands: the tile's input values are vectors over them, not broadcasts."""
    import cdsl
    (xsrc, xbase, gx), (wsrc, wbase, gw), (dst, obase, go) = xop, wop, oop
    vector, wide = _conv_flags()
    simd = _simd_width(dt)
    nr_main = (4 if wide else 2) * simd
    widths = _vector_widths(simd, np.dtype(dt).itemsize) if vector and not depthwise else ()
    mr = CONV_MR
    M = math.prod(a[0] for a in m_axes)
    K = math.prod(a[0] for a in k_axes)
    gi = c.var("cg", dtypes.int64) if groups > 1 else None
    m0 = c.var("cm", dtypes.int64)
    kvars = [c.var(f"ck{j}", dtypes.int64) for j in range(len(k_axes))]
    # k blocks when one tile's k sweep would not stay in cache: axis `jb` is swept in
    # blocks, the axes outside it loop around the blocks (and all tiles sweep each block).
    itemsize = np.dtype(dt).itemsize
    n_tiles = -(-M // mr) * -(-Fg // nr_main)
    kb, jb = None, 0
    if K * (mr + nr_main) * itemsize > _CONV_BLOCK_TRIGGER and n_tiles > 1:
        jb, block = _k_block(k_axes, itemsize)
        if block < k_axes[jb][0] or jb > 0:
            kb = c.var("ckb", dtypes.int64)
    kbn = k_axes[jb][0]
    outer_k = kvars[:jb] if kb is not None else []

    # The tile's rows: output positions m0 .. m0+MR-1 (past the end: the last position,
    # computed again and not stored), their offsets into x and into the output.
    rows, xo, oo = [], [], []
    for r in range(mr):
        q = m0 if r == 0 else c.select(c.lt(c.add(m0, c.i64(r)), c.i64(M)),
                                       c.add(m0, c.i64(r)), c.i64(M - 1))
        qv = c.var(f"cq{r}", dtypes.int64)
        rows.append(c.decl(qv, q))
        idx = []
        inner = M
        for j, (n, _, _) in enumerate(m_axes):
            inner = inner // n if n else 0
            e = qv if isinstance(inner, int) and inner == 1 else c.div(qv, c.i64(inner))
            idx.append(c.mod(e, c.i64(n)) if j > 0 else e)
        xterms = [(e, a[1]) for e, a in zip(idx, m_axes)]
        oterms = [(e, a[2]) for e, a in zip(idx, m_axes)]
        if gi is not None:
            xterms.append((gi, gx))
            oterms.append((gi, go))
        xv, ov = c.var(f"cx{r}", dtypes.int64), c.var(f"co{r}", dtypes.int64)
        rows += [c.decl(xv, _lin(xterms, xbase)), c.decl(ov, _lin(oterms, obase))]
        xo.append(xv)
        oo.append(ov)
    wb = c.var("cwb", dtypes.int64)
    rows.append(c.decl(wb, _lin([(gi, gw)] if gi is not None else [], wbase)))

    def tile(nr, f0):
        """Features f0 .. f0+nr-1 of the tile: accumulate over all k, then store. A tile
        of a multiple of a quarter SIMD register of features (not depthwise) is written
        in vectors of features (`CONV_VECTOR_TILES`, `_tile_width`), each lane a fused
        multiply-add like fmaf(): the same bits, and gcc need not pack scalar
        accumulators into vectors itself. It would not: its SLP vectoriser is off in
        every module (cdsl.compile.SLP_OFF), so a scalar tile runs scalar."""
        width = _tile_width(nr, widths)
        if width > 1:
            vt = cdsl.VecType(c.ct(dt), width)
            mkvar = lambda name: cdsl.Var(name, vt)                   # noqa: E731
            zero = cdsl.VecSplat(c.const(0, dt), vt)
            ld = lambda ptr, off: cdsl.VecLoad(ptr, off, vt)          # noqa: E731
            put = cdsl.VecStore
            madd = lambda x, b, acc: cdsl.Call(                       # noqa: E731
                "fma", (cdsl.VecSplat(x, vt), b, acc), vt)
        else:
            mkvar = lambda name: c.var(name, dt)                      # noqa: E731
            zero, ld, put = c.const(0, dt), c.load, c.store
            madd = lambda x, b, acc: _fma(dt, x, b, acc)              # noqa: E731
        ncol = nr // width

        def at(base, j):               # base + j * width
            return c.add(base, c.i64(j * width)) if j else base

        body = []
        acc = [[mkvar(f"ca{r}_{v}") for v in range(ncol)] for r in range(mr)]
        for r in range(mr):
            for v in range(ncol):
                init = zero
                if kb is not None:
                    first = functools.reduce(c.land, [c.eq(kv, c.i64(0))
                                                      for kv in outer_k + [kb]])
                    init = cdsl.Select(first, zero,
                                       ld(dst, at(c.add(oo[r], f0), v)), zero.type)
                body.append(cdsl.Decl(acc[r][v], init))
        kwv, kxv = c.var("ckw", dtypes.int64), c.var("ckx", dtypes.int64)
        inner_body = [
            c.decl(kwv, c.add(c.add(wb, f0), _lin([(kv, a[2]) for kv, a in
                                                     zip(kvars, k_axes)]))),
            c.decl(kxv, _lin([(kv, a[1]) for kv, a in zip(kvars, k_axes)]))]
        bv = [mkvar(f"cb{v}") for v in range(ncol)]
        for v in range(ncol):
            inner_body.append(cdsl.Decl(bv[v], ld(wsrc, at(kwv, v))))
        for r in range(mr):
            if depthwise:
                # one input value per (position, channel): contiguous, like the filter's
                xb = c.var(f"cv{r}", dtypes.int64)
                inner_body.append(c.decl(xb, c.add(c.add(xo[r], kxv), f0)))
                for v in range(ncol):
                    inner_body.append(cdsl.Assign(acc[r][v], madd(
                        c.load(xsrc, at(xb, v)), bv[v], acc[r][v])))
                continue
            xr = c.var(f"cv{r}", dt)
            inner_body.append(c.decl(xr, c.load(xsrc, c.add(xo[r], kxv))))
            for v in range(ncol):
                inner_body.append(cdsl.Assign(acc[r][v], madd(xr, bv[v], acc[r][v])))
        loops = inner_body
        for j in reversed(range(len(outer_k), len(k_axes))):
            lo, hi = c.i64(0), c.i64(k_axes[j][0])
            if j == jb and kb is not None:
                # (a bound in a variable: the loop condition is rendered unparenthesised)
                lo, hi = kb, c.var("ckend", dtypes.int64)
                end = c.add(kb, c.i64(block))
                body.append(c.decl(hi, c.select(c.lt(end, c.i64(kbn)), end, c.i64(kbn))))
            loops = [c.for_(kvars[j], lo, hi, loops)]
        body += loops
        for r in range(mr):
            base = c.var(f"cs{r}", dtypes.int64)
            st = [c.decl(base, c.add(oo[r], f0))] + [
                put(dst, at(base, v), acc[r][v]) for v in range(ncol)]
            body.append(cdsl.Block(tuple(st)) if r == 0 else
                        cdsl.If(c.lt(c.add(m0, c.i64(r)), c.i64(M)), tuple(st)))
        return body

    f_main = Fg - Fg % nr_main
    tile_body = list(rows)
    if f_main:
        f0 = c.var("cf", dtypes.int64)
        tile_body.append(cdsl.For(f0, c.i64(0), c.i64(f_main), tuple(tile(nr_main, f0)),
                                  step=nr_main))
    for start, n in _feature_parts(f_main, Fg - f_main, widths):
        tile_body.append(cdsl.Block(tuple(tile(n, c.i64(start)))))
    parallel = M * Fg * K * groups >= CONV_PARALLEL_MIN and M > mr

    def over_k_blocks(m_lo, m_hi):
        """The tile loop inside the loops over the outer k axes and the blocks of axis jb."""
        loop = cdsl.For(kb, c.i64(0), c.i64(kbn), (cdsl.For(
            m0, m_lo, m_hi, tuple(tile_body), step=mr),), step=block)
        for j in reversed(range(len(outer_k))):
            loop = c.for_(kvars[j], c.i64(0), c.i64(k_axes[j][0]), [loop])
        return loop

    if kb is None:
        big = parallel and M * Fg * K * groups >= BIG_TEAM_MIN
        chunk = max(1, -(-M // mr) // _CONV_BIG_CHUNKS)
        nest = [cdsl.For(m0, c.i64(0), c.i64(M), tuple(tile_body), step=mr,
                         parallel=parallel, parallel_min=2,
                         schedule=f"dynamic,{chunk}" if big else "", big_team=big)]
    elif not parallel:
        nest = [over_k_blocks(c.i64(0), c.i64(M))]
    else:
        # One parallel region, not one per k block: each thread takes a range of tiles and
        # sweeps the k blocks over it.
        t = c.var("ct", dtypes.int64)
        nt = cdsl.Cast(cdsl.i64, cdsl.Call("omp_get_max_threads", (), cdsl.i32))
        ntiles = c.i64(-(-M // mr)) if type(M) is int else \
            c.div(c.add(c.i64(M), c.i64(mr - 1)), c.i64(mr))
        lo, hi = c.var("cm0", dtypes.int64), c.var("cm1", dtypes.int64)
        hi_m = c.mul(c.div(c.mul(c.add(t, c.i64(1)), ntiles), nt), c.i64(mr))
        body = [c.decl(lo, c.mul(c.div(c.mul(t, ntiles), nt), c.i64(mr))),
                c.decl(hi, c.select(c.lt(hi_m, c.i64(M)), hi_m, c.i64(M))),
                over_k_blocks(lo, hi)]
        nest = [cdsl.For(t, c.i64(0), nt, tuple(body), parallel=True, parallel_min=2)]
    if gi is not None:
        nest = [c.for_(gi, c.i64(0), c.i64(groups), nest)]
    return nest
