"""Lowering rules for data-parallel devices: fusion-plan steps -> OpenCL-style kernels.

The C lowering (`codegen`, `gemm`) emits loop nests whose outermost loop is split over
threads and BLAS calls. A device needs every loop nest as its own entry point with a 1-D
(or, for the tiled matmul, 3-D) index space, so the rules here emit one `Launch` per
kernel: a `cdsl.Function(kernel=True)` plus its global/local sizes and the buffers it
reads and writes. Values are computed with the same `codegen.KernelEmitter` (the same
elementwise, broadcast, slice, pad, ... rules), indexed by one flat work-item index
decomposed into a multi-index. Nothing here imports pyopencl; rendering with
`cdsl.OPENCL` and launching are the backend's job.

- map kernels: one work item per output element;
- reductions: one work item per output element with a sequential inner loop, or, for few
  outputs and a long reduction, a work-group tree reduction in local memory (partials)
  followed by a small combine kernel;
- reduce_window / pool_gather: one work item per output element; pool_scatter: zero the
  output, then one work item per window position along the dimensions whose windows do
  not overlap (the others run sequentially inside the work item, so no two work items
  write the same cell);
- dot_general: operands not laid out as [batch, M, K] / [batch, K, M] and
  [batch, K, N] / [batch, N, K] are first copied by a permute kernel, then a tiled matmul
  (variant "tiled", for GPUs: TS x TS work-groups, A and B tiles in local memory, RB x RB
  outputs per work item). CPU devices emulate local memory and spill values that live
  across barriers, so there variant "vec" packs B into contiguous panels and each
  single-work-item group keeps an MR x NR block of the output in OpenCL vector registers
  (float16 / double8), the shape of a BLAS micro-kernel; variant "rows" (each work item
  keeps 8 rows of one output column, the driver vectorises across work items) remains
  for integer dtypes;
- convolution: an im2col kernel, a weight-packing kernel, the same matmul (batched over the
  groups of a feature- or batch-grouped convolution), and a permute kernel when the output
  layout is not [N, spatial..., C];
- complex64/complex128 and the 16-bit floats: see "complex and bfloat16 in OpenCL C" at the
  end (`render`); complex matmuls take the "rows" kernel, 16-bit matmuls and convolutions
  multiply float32 copies and round once.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field

import numpy as np

import cdsl

from .. import dtypes
from ..ir import Var
from . import cnodes as c
from . import codegen
from .codegen import Flat, strides_of
from .codegen import KernelEmitter as _CEmitter
from .fusion import Kernel
from .gemm import Temp, dot_operands


class KernelEmitter(_CEmitter):
    """codegen's emitter without the C dialect's bit-pattern blends (`codegen._padded`)."""

    bit_select = False


def vec_type(dtype, width: int) -> cdsl.CType:
    """The OpenCL vector type of `width` lanes of `dtype` (float16, double8, ...) as a
    cdsl type; `DIALECT` prints it."""
    base = c.ct(dtype)
    return cdsl.CType(f"{base.name}x{width}", base.is_float, base.is_signed, base.bits * width)


# cdsl has scalar types only; OpenCL C's vector types enter as extra entries of the
# dialect's type map (the dialect is data), so the vector kernels below stay cdsl AST.
# `DIALECT` (at the end of this module) adds them, and complex and bfloat16, to cdsl.OPENCL.
_VECTOR_TYPES = {f"{t}x{w}": f"{name}{w}" for t, name in cdsl.OPENCL.type_names.items()
                 if t not in ("void", "bool", "f16") for w in (2, 4, 8, 16)}


@dataclass
class Launch:
    """One kernel launch: `fn` with pointer params named as in `buffers`/temps, and any
    `__local` pointer params listed in `local` (name -> bytes)."""
    fn: cdsl.Function
    global_size: tuple
    local_size: tuple | None = None
    local: dict = field(default_factory=dict)

    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.fn.params]


def _gid(axis: int = 0):
    return cdsl.Cast(cdsl.i64, cdsl.Call("get_global_id", (cdsl.Const(axis, cdsl.u32),),
                                         cdsl.u64))


def _lid(axis: int = 0):
    return cdsl.Cast(cdsl.i64, cdsl.Call("get_local_id", (cdsl.Const(axis, cdsl.u32),),
                                         cdsl.u64))


def _group_id(axis: int = 0):
    return cdsl.Cast(cdsl.i64, cdsl.Call("get_group_id", (cdsl.Const(axis, cdsl.u32),),
                                         cdsl.u64))


def _barrier():
    return cdsl.ExprStmt(cdsl.Call("barrier", (cdsl.Var("CLK_LOCAL_MEM_FENCE", cdsl.u32),),
                                   cdsl.void))


def _local_param(name, dtype):
    return cdsl.Param(name, cdsl.PtrType(c.ct(dtype), space="local", restrict=False))


def _params_of(body) -> list:
    """Params referenced in `body` (global buffers, and the scan step `SCAN_STEP` of a scan
    body's kernels), in first-use order."""
    seen, out = set(), []
    for node in cdsl.ast.walk(tuple(body)):
        if isinstance(node, cdsl.Param) and node.name not in seen:
            seen.add(node.name)
            out.append(node)
    return out


# A scan body's kernels run once per step with the step's index as this argument: they read
# x_i and write y_i at its offset into the stacked arrays (`scan_slice`).
SCAN_STEP = cdsl.Param("scan_i", cdsl.i64)


def scan_slice(name, dtype, size):
    """Step `SCAN_STEP`'s slice (of `size` elements) of a scan's stacked input or output,
    the buffer parameter `name`: a pointer the kernels index like any buffer."""
    ptr = c.param(name, dtype)
    return cdsl.BinOp("+", ptr, c.mul(SCAN_STEP, c.i64(size)), ptr.type)


class Namer:
    """Unique kernel names within one program."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.n = 0

    def __call__(self, what: str) -> str:
        self.n += 1
        return f"{self.prefix}_{self.n}_{what}"


def _flat_kernel(name, n, body_of_i, extra_params=()):
    """A kernel with one work item per flat index i < n; `body_of_i(i)` -> statements."""
    i = c.var("i", dtypes.int64)
    body = [c.for_(i, c.i64(0), c.i64(n), body_of_i(i), parallel=True)]
    params = tuple(_params_of(body)) + tuple(extra_params)
    return Launch(cdsl.Function(name, params, tuple(body), kernel=True), (int(n),))


def _decl_multi(em, flat_expr, shape, prefix):
    """Declare the multi-index of `flat_expr` over `shape` as variables."""
    decls, vars_ = [], []
    for k, e in enumerate(em.multi(Flat(flat_expr, shape)) if shape else []):
        v = c.var(f"{prefix}{k}", dtypes.int64)
        decls.append(c.decl(v, e))
        vars_.append(v)
    return decls, vars_


# ---------------------------------------------------------------------------------------
# map, reduce, window kernels


def map_kernel(kernel: Kernel, buffers, name) -> list[Launch]:
    root = kernel.root
    shape, n = root.aval.shape, root.aval.size
    if n == 0:
        return []
    out_ptr = buffers[root.id]

    def body(i):
        em = KernelEmitter(c, buffers)
        if kernel.eqn.prim.name == "reshape":
            x = kernel.eqn.inputs[0]
            val = em.value(x, Flat(i, x.aval.shape), kernel)
        else:
            val = em.inline(kernel.eqn, Flat(i, shape), kernel)
        return em.stmts + [c.store(out_ptr, i, val)]

    return [_flat_kernel(name("map"), n, body)]


def map_group_kernel(kernels: list[Kernel], buffers, name) -> list[Launch] | None:
    """A map group (`codegen.map_groups`: consecutive maps over one shape) as one kernel,
    each work item computing every member at its index (`codegen.map_group_point`): one
    launch instead of one per member. None when a member reads an earlier member's value
    at another index."""
    n = kernels[0].root.aval.size
    if n == 0:
        return []
    ok = []

    def body(i):
        em = KernelEmitter(c, buffers, watch=set())
        ok.append(codegen.map_group_point(c, em, kernels, buffers,
                                          Flat(i, kernels[0].root.aval.shape)))
        return em.stmts

    launch = _flat_kernel(name("maps"), n, body)
    return [launch] if all(ok) else None


def _acc_dtype(kind, dt, fp64: bool):
    """Sums and products of float32 and the 16-bit floats accumulate in double, complex64
    in complex128 (where the device has fp64; as the C backend); bfloat16 and float16
    max/min in float (bfloat16 has no arithmetic type of its own)."""
    if kind in ("sum", "prod") and fp64:
        if dt in (dtypes.float16, dtypes.float32) or c.is_bf16(dt):
            return dtypes.float64
        if dt == np.complex64:
            return np.dtype(np.complex128)
    if dt == dtypes.float16 or c.is_bf16(dt):
        return dtypes.float32
    return dt


def _reduce_value(kernel, em, o_expr, j_expr):
    """The reduced operand's value at output index `o_expr`, reduction index `j_expr`, and
    the statements declaring the output multi-index (hoistable out of the inner loop)."""
    eqn = kernel.eqn
    x = eqn.inputs[0]
    in_shape = x.aval.shape
    axes = list(eqn.params["axes"])
    kept = [d for d in range(len(in_shape)) if d not in axes]
    n_red = int(np.prod([in_shape[a] for a in axes])) if axes else 1
    trailing = axes == list(range(len(in_shape) - len(axes), len(in_shape)))
    leading = axes == list(range(len(axes)))
    if (trailing or leading) and codegen._flat_input(kernel):
        n_out = int(np.prod([in_shape[d] for d in kept])) if kept else 1
        if trailing:
            return [], (lambda j: em.value(x, Flat(c.add(c.mul(o_expr, c.i64(n_red)), j),
                                                    in_shape), kernel))
        return [], (lambda j: em.value(x, Flat(c.add(c.mul(j, c.i64(n_out)), o_expr),
                                                in_shape), kernel))
    pre, o_vars = _decl_multi(em, o_expr, [in_shape[d] for d in kept], "oi")
    red_shape = [in_shape[a] for a in axes]

    def value(j):
        j_idx = [j] if len(axes) == 1 else em.multi(Flat(j, red_shape))
        idx = [None] * len(in_shape)
        for d, e in zip(kept, o_vars):
            idx[d] = e
        for a, e in zip(axes, j_idx):
            idx[a] = e
        return em.value(x, idx, kernel)

    return pre, value


def split_reduction(n_out, n_red) -> bool:
    """Whether a reduction to `n_out` values of `n_red` cells each is split over several
    work items per output (few outputs, long reductions) rather than one work item each."""
    return n_out <= 64 and n_red >= 8192


def reduce_kernel(kernel: Kernel, buffers, name, fp64=True, wg_size=256,
                  local_tree=True) -> tuple:
    """Launches and temps for a reduction step. Few outputs of long reductions are split
    over work items: with `local_tree` (GPUs) a work-group tree in local memory, else
    (CPU devices, where barriers are costly) chunks reduced sequentially, then combined."""
    eqn = kernel.eqn
    kind = codegen._IDENT[eqn.prim]
    x = eqn.inputs[0]
    out = kernel.root
    dt = out.aval.dtype
    acc_dt = _acc_dtype(kind, dt, fp64)
    axes = eqn.params["axes"]
    n_out = out.aval.size
    n_red = int(np.prod([x.aval.shape[a] for a in axes])) if axes else 1
    out_ptr = buffers[out.id]
    if n_out == 0:
        return [], []
    ident = c.const(codegen._identity(kind, dt), acc_dt)

    def combine(a, b):
        return codegen._combine(c, kind, a, b, acc_dt)

    if split_reduction(n_out, n_red) and not local_tree:
        return _chunk_reduce(kernel, buffers, name, acc_dt, ident, combine, n_out, n_red)
    if split_reduction(n_out, n_red) and wg_size >= 2:
        return _tree_reduce(kernel, buffers, name, kind, acc_dt, ident, combine, n_out,
                            n_red, wg_size)

    def body(o):
        em = KernelEmitter(c, buffers)
        pre, value = _reduce_value(kernel, em, o, None)
        j = c.var("j", dtypes.int64)
        acc = c.var("acc", acc_dt)
        em.stmts = []
        v = value(j)
        inner = em.stmts + [c.assign(acc, combine(acc, c.cast(acc_dt, v)))]
        return pre + [c.decl(acc, ident), c.for_(j, c.i64(0), c.i64(n_red), inner),
                      c.store(out_ptr, o, c.cast(dt, acc))]

    return [_flat_kernel(name("reduce"), n_out, body)], []


def _chunk_reduce(kernel, buffers, name, acc_dt, ident, combine, n_out, n_red,
                  items=256, min_chunk=1024):
    """Work item (g, o) reduces chunk g of output o's reduction (o varies fastest, so
    neighbouring work items read neighbouring cells when the reduced axes lead); a second
    kernel combines the chunks."""
    dt = kernel.root.aval.dtype
    groups = max(1, min(-(-items // n_out), n_red // min_chunk))
    chunk = -(-n_red // groups)
    part = Temp((groups * n_out,), acc_dt)
    v = lambda n_: c.var(n_, dtypes.int64)
    o, g, j, stop = v("o"), v("g"), v("j"), v("stop")
    acc = c.var("acc", acc_dt)

    def body(f):
        em = KernelEmitter(c, buffers)
        pre, value = _reduce_value(kernel, em, o, None)
        em.stmts = []
        val = value(j)
        inner = em.stmts + [c.assign(acc, combine(acc, c.cast(acc_dt, val)))]
        end = c.mul(c.add(g, c.i64(1)), c.i64(chunk))
        return [c.decl(g, c.div(f, c.i64(n_out))), c.decl(o, c.mod(f, c.i64(n_out)))] + pre + [
            c.decl(stop, c.select(c.lt(end, c.i64(n_red)), end, c.i64(n_red))),
            c.decl(acc, ident),
            cdsl.For(j, c.mul(g, c.i64(chunk)), stop, tuple(inner)),
            c.store(part.param, f, acc)]

    out_ptr = buffers[kernel.root.id]

    def combine_body(oo):
        q = v("q")
        a2 = c.var("acc", acc_dt)
        return [c.decl(a2, ident),
                c.for_(q, c.i64(0), c.i64(groups), [
                    c.assign(a2, combine(a2, c.load(part.param,
                                                    c.add(c.mul(q, c.i64(n_out)), oo))))]),
                c.store(out_ptr, oo, c.cast(dt, a2))]

    return [_flat_kernel(name("reduce_chunks"), groups * n_out, body),
            _flat_kernel(name("reduce_combine"), n_out, combine_body)], [part]


def _tree_reduce(kernel, buffers, name, kind, acc_dt, ident, combine, n_out, n_red, wg):
    dt = kernel.root.aval.dtype
    groups = max(1, min(64, -(-n_red // (wg * 16))))
    part = Temp((n_out * groups,), acc_dt)
    scratch = _local_param("scratch", acc_dt)
    lid, grp = c.var("lid", dtypes.int64), c.var("grp", dtypes.int64)
    o, g = c.var("o", dtypes.int64), c.var("g", dtypes.int64)
    j = c.var("j", dtypes.int64)
    acc = c.var("acc", acc_dt)
    em = KernelEmitter(c, buffers)
    pre, value = _reduce_value(kernel, em, o, None)
    em.stmts = []
    v = value(j)
    inner = em.stmts + [c.assign(acc, combine(acc, c.cast(acc_dt, v)))]
    body = [c.decl(lid, _lid()), c.decl(grp, _group_id()),
            c.decl(o, c.div(grp, c.i64(groups))), c.decl(g, c.mod(grp, c.i64(groups)))]
    body += pre + [c.decl(acc, ident),
                   cdsl.For(j, c.add(c.mul(g, c.i64(wg)), lid), c.i64(n_red), tuple(inner),
                            step=groups * wg),
                   c.store(scratch, lid, acc), _barrier()]
    s = wg // 2
    while s >= 1:
        other = c.load(scratch, c.add(lid, c.i64(s)))
        body.append(cdsl.If(c.lt(lid, c.i64(s)),
                            (c.store(scratch, lid, combine(c.load(scratch, lid), other)),)))
        body.append(_barrier())
        s //= 2
    body.append(cdsl.If(c.eq(lid, c.i64(0)),
                        (c.store(part.param, grp, c.load(scratch, c.i64(0))),)))
    params = tuple(_params_of(body))
    params = tuple(p for p in params if p.name != "scratch") + (scratch,)
    k1 = Launch(cdsl.Function(name("reduce_tree"), params, tuple(body), kernel=True),
                (n_out * groups * wg,), (wg,),
                {"scratch": wg * np.dtype(acc_dt).itemsize})
    out_ptr = buffers[kernel.root.id]

    def combine_body(oo):
        q = c.var("q", dtypes.int64)
        a2 = c.var("acc", acc_dt)
        return [c.decl(a2, ident),
                c.for_(q, c.i64(0), c.i64(groups),
                       [c.assign(a2, combine(a2, c.load(part.param,
                                                        c.add(c.mul(oo, c.i64(groups)), q))))]),
                c.store(out_ptr, oo, c.cast(dt, a2))]

    k2 = _flat_kernel(name("reduce_combine"), n_out, combine_body)
    return [k1, k2], [part]


def window_kernel(kernel: Kernel, buffers, name) -> list[Launch]:
    """reduce_window: one work item per output element (or row of channels), looping over
    the window's cells as the C lowering does (`codegen.window_loop_stmts`)."""
    p = kernel.eqn.params
    out = kernel.root
    if out.aval.size == 0:
        return []
    nd = out.aval.ndim
    shape = out.aval.shape
    # A trailing dimension outside the window (NHWC channels) becomes a loop inside the
    # work item, so the compiler vectorises along it with plain index arithmetic.
    inner = shape[-1] if (nd >= 2 and shape[-1] > 1 and p["window_dimensions"][-1] == 1 and
                          p["window_strides"][-1] == 1 and
                          tuple(p["padding"][-1]) == (0, 0)) else 1

    def body(o):
        em = KernelEmitter(c, buffers)
        cv = c.var("ci", dtypes.int64)
        if inner > 1:
            pre, ovars = _decl_multi(em, o, shape[:-1], "oi")
            ovars = ovars + [cv]
            flat = c.add(c.mul(o, c.i64(inner)), cv)
        else:
            pre, ovars = _decl_multi(em, o, shape, "oi")
            flat = o
        stmts = codegen.window_loop_stmts(c, em, kernel, ovars, flat)
        if inner > 1:
            stmts = [c.for_(cv, c.i64(0), c.i64(inner), stmts)]
        return pre + stmts

    return [_flat_kernel(name("window"), out.aval.size // inner, body)]


def pool_gather_kernel(kernel: Kernel, buffers, name) -> list[Launch]:
    """pool_gather: one work item per output element (`codegen.pool_gather_loop_stmts`)."""
    out = kernel.root
    if out.aval.size == 0:
        return []

    def body(o):
        em = KernelEmitter(c, buffers)
        pre, ovars = _decl_multi(em, o, out.aval.shape, "oi")
        return pre + codegen.pool_gather_loop_stmts(c, em, kernel, ovars, o)

    return [_flat_kernel(name("pool_gather"), out.aval.size, body)]


def pool_scatter_kernel(kernel: Kernel, buffers, name) -> list[Launch]:
    """pool_scatter: zero the output, then one work item per window position along the
    dimensions whose windows do not overlap; the others loop inside the work item
    (`codegen.pool_scatter_loop_stmts` per window), so no two work items write one cell."""
    p = kernel.eqn.params
    ct, x = kernel.eqn.inputs
    out = kernel.root
    dt = out.aval.dtype
    optr = buffers[out.id]
    if out.aval.size == 0:
        return []
    launches = [_flat_kernel(name("zero"), out.aval.size,
                             lambda i: [c.store(optr, i, c.const(0, dt))])]
    if ct.aval.size == 0:
        return launches
    pshape = ct.aval.shape
    nd = x.aval.ndim
    safe = [d for d in range(nd) if p["window_dimensions"][d] <= p["window_strides"][d]
            and tuple(p["padding"][d]) == (0, 0)]
    seq = [d for d in range(nd) if d not in safe]
    # As in window_kernel: a trailing dimension outside the window loops inside the item.
    last = nd - 1
    chan_loop = last in safe and nd >= 2 and pshape[last] > 1 and \
        p["window_dimensions"][last] == 1 and p["window_strides"][last] == 1
    par = [d for d in safe if not (chan_loop and d == last)]
    n_par = int(np.prod([pshape[d] for d in par])) if par else 1

    def body(g):
        em = KernelEmitter(c, buffers)
        pre, svars = _decl_multi(em, g, [pshape[d] for d in par], "oi")
        ovars = [None] * nd
        for d, v in zip(par, svars):
            ovars[d] = v
        for d in seq:
            ovars[d] = c.var(f"os{d}", dtypes.int64)
        if chan_loop:
            ovars[last] = c.var("ci", dtypes.int64)
        stmts = codegen.pool_scatter_loop_stmts(c, em, kernel, ovars)
        for d in reversed(seq):
            stmts = [c.for_(ovars[d], c.i64(0), c.i64(pshape[d]), stmts)]
        if chan_loop:
            stmts = [c.for_(ovars[last], c.i64(0), c.i64(pshape[last]), stmts)]
        return pre + stmts

    launches.append(_flat_kernel(name("pool_scatter"), n_par, body))
    return launches


def row_group_kernel(kernels: list[Kernel], buffers, name, fp64=True) -> list[Launch] | None:
    """A row group (`codegen.row_groups`: a softmax's max, exp, sum and normalisation over
    the same rows) as one kernel with one work item per row, running the C lowering's
    per-row loops of each member in turn (`codegen.emit_rows`); None when a member reads
    another row of a value the group computes."""
    stmts = codegen.emit_rows(c, kernels, buffers, parallel=True,
                              accumulator=lambda kind, dt: _acc_dtype(kind, dt, fp64),
                              emitter=KernelEmitter)
    if stmts is None:
        return None
    rows = math.prod(codegen.group_lead(kernels))
    fn = cdsl.Function(name("rows"), tuple(_params_of(stmts)), tuple(stmts), kernel=True)
    return [Launch(fn, (int(rows),))]


def row_fusable(kernel: Kernel) -> bool:
    """Whether a map or reduction may join a row group on a device: not a reduction that
    `reduce_kernel` splits over work items (few long rows: one work item per row would
    leave the device idle)."""
    if kernel.kind != "reduce":
        return True
    n_out = kernel.root.aval.size
    # (the reduction's length: a 0-d operand, reduced over no axis, has length 1)
    return not split_reduction(n_out, kernel.eqn.inputs[0].aval.size // max(1, n_out))


def copy_kernel(dst, src, n, name) -> list[Launch]:
    """A kernel copying `n` elements from pointer `src` to pointer `dst`."""
    if n == 0:
        return []
    return [_flat_kernel(name("copy"), n, lambda i: [c.store(dst, i, c.load(src, i))])]


# The device lowering of the loop kernel kinds that need no device parameters
# (`fusion.step_kind`; reductions take the work-group size): `(kernel, buffers, namer)` ->
# launches.
LOOP_KERNELS = {"map": map_kernel, "window": window_kernel,
                "pool_gather": pool_gather_kernel, "pool_scatter": pool_scatter_kernel}


# ---------------------------------------------------------------------------------------
# permute copies, GEMM and convolution


def permute_kernel(src, src_shape, perm, dst, name) -> list[Launch]:
    """A kernel writing `transpose(src, perm)` contiguously into `dst`."""
    out_shape = [src_shape[q] for q in perm]
    n = int(np.prod(out_shape))
    if n == 0:
        return []
    sstr = strides_of(src_shape)

    def body(i):
        em = KernelEmitter(c, {})
        pre, ivars = _decl_multi(em, i, out_shape, "p")
        off = None
        for k, q in enumerate(perm):
            term = c.mul(ivars[k], c.i64(sstr[q])) if sstr[q] != 1 else ivars[k]
            off = term if off is None else c.add(off, term)
        return pre + [c.store(dst, i, c.load(src, off if off is not None else c.i64(0)))]

    return [_flat_kernel(name("permute"), n, body)]


def matmul_kernel(name, dt, B, M, N, K, a, a_fc, b, b_cf, out, ts, rb=None,
                  local_mem=1 << 15) -> Launch:
    """out[b, m, n] = sum_k A[b, m, k] * B[b, k, n]; A stored [B, M, K] (a_fc) or
    [B, K, M]; B stored [B, K, N] (b_cf) or [B, N, K].

    Work-groups of TS x TS work items compute (TS*RB) x (TS*RB) blocks of `out`: each work
    item accumulates RB x RB outputs in registers (rows lr + r*TS, columns lc + c*TS, so
    neighbouring work items touch neighbouring columns), reading K in steps of TS through
    an A tile [TS*RB, TS] and a B tile [TS, TS*RB] in local memory."""
    item = np.dtype(dt).itemsize
    if rb is None:
        rb = 4 if min(M, N) >= 4 * 4 * ts else 2 if min(M, N) >= 2 * 2 * ts else 1
    while rb > 1 and 2 * rb * ts * ts * item > local_mem:
        rb //= 2
    tb = ts * rb                     # block edge
    As, Bs = _local_param("As", dt), _local_param("Bs", dt)
    v = lambda n_: c.var(n_, dtypes.int64)
    lc, lr, bi, row0, col0, lf = v("lc"), v("lr"), v("bi"), v("row0"), v("col0"), v("lf")
    t, kk, e, tr, tk = v("t"), v("kk"), v("e"), v("tr"), v("tk")
    zero = c.const(0, dt)
    accs = [[c.var(f"acc{r}_{q}", dt) for q in range(rb)] for r in range(rb)]
    ar = [c.var(f"a{r}", dt) for r in range(rb)]
    br = [c.var(f"b{q}", dt) for q in range(rb)]
    a_base, b_base = c.mul(bi, c.i64(M * K)), c.mul(bi, c.i64(K * N))

    def a_at(m, k):
        return c.load(a, c.add(a_base, c.add(c.mul(m, c.i64(K)), k) if a_fc
                               else c.add(c.mul(k, c.i64(M)), m)))

    def b_at(k, n):
        return c.load(b, c.add(b_base, c.add(c.mul(k, c.i64(N)), n) if b_cf
                               else c.add(c.mul(n, c.i64(K)), k)))

    tile = []
    for q in range(rb):
        # A tile element e = lf + q*TS*TS: row e / TS, column e % TS.
        gm, gk = c.add(row0, c.div(e, c.i64(ts))), c.add(t, c.mod(e, c.i64(ts)))
        tile.append(cdsl.Block((
            c.decl(e, c.add(lf, c.i64(q * ts * ts))), c.decl(tr, gm), c.decl(tk, gk),
            c.store(As, e, c.select(c.land(c.lt(tr, c.i64(M)), c.lt(tk, c.i64(K))),
                                    a_at(tr, tk), zero)))))
        gk2, gn = c.add(t, c.div(e, c.i64(tb))), c.add(col0, c.mod(e, c.i64(tb)))
        tile.append(cdsl.Block((
            c.decl(e, c.add(lf, c.i64(q * ts * ts))), c.decl(tk, gk2), c.decl(tr, gn),
            c.store(Bs, e, c.select(c.land(c.lt(tk, c.i64(K)), c.lt(tr, c.i64(N))),
                                    b_at(tk, tr), zero)))))
    tile.append(_barrier())
    inner = [c.decl(ar[r], c.load(As, c.add(c.mul(c.add(lr, c.i64(r * ts)), c.i64(ts)), kk)))
             for r in range(rb)]
    inner += [c.decl(br[q], c.load(Bs, c.add(c.mul(kk, c.i64(tb)), c.add(lc, c.i64(q * ts)))))
              for q in range(rb)]
    inner += [c.assign(accs[r][q], c.binop("+", accs[r][q],
                                           c.binop("*", ar[r], br[q], dt), dt))
              for r in range(rb) for q in range(rb)]
    tile.append(c.for_(kk, c.i64(0), c.i64(ts), inner))
    tile.append(_barrier())
    body = [c.decl(lc, _lid(0)), c.decl(lr, _lid(1)), c.decl(bi, _gid(2)),
            c.decl(col0, c.mul(_group_id(0), c.i64(tb))),
            c.decl(row0, c.mul(_group_id(1), c.i64(tb))),
            c.decl(lf, c.add(c.mul(lr, c.i64(ts)), lc))]
    body += [c.decl(accs[r][q], zero) for r in range(rb) for q in range(rb)]
    body.append(cdsl.For(t, c.i64(0), c.i64(K), tuple(tile), step=ts))
    for r in range(rb):
        for q in range(rb):
            m_ = c.add(row0, c.add(lr, c.i64(r * ts)))
            n_ = c.add(col0, c.add(lc, c.i64(q * ts)))
            body.append(cdsl.If(c.land(c.lt(m_, c.i64(M)), c.lt(n_, c.i64(N))), (
                c.store(out, c.add(c.mul(bi, c.i64(M * N)),
                                   c.add(c.mul(m_, c.i64(N)), n_)), accs[r][q]),)))
    params = tuple(p for p in _params_of(body)
                   if getattr(p.type, "space", None) != "local") + (As, Bs)
    nbytes = tb * ts * item

    def groups(n):
        return -(-n // tb) * ts

    return Launch(cdsl.Function(name(f"matmul{rb}"), params, tuple(body), kernel=True),
                  (groups(N), groups(M), B), (ts, ts, 1), {"As": nbytes, "Bs": nbytes})


def matmul_rows_kernel(name, dt, B, M, N, K, a, a_fc, b, b_cf, out, rm=8) -> Launch:
    """The same product without local memory or barriers, for CPU devices (PoCL): work
    item (n, i, b) accumulates out[b, i*RM : i*RM + RM, n] in registers, so neighbouring
    work items read neighbouring columns of B (the driver vectorises across them) and each
    loaded B element feeds RM multiply-adds."""
    rm = max(1, min(rm, M))
    v = lambda n_: c.var(n_, dtypes.int64)
    n, i, bi, k, m0 = v("n"), v("i"), v("bi"), v("k"), v("m0")
    zero = c.const(0, dt)
    accs = [c.var(f"acc{r}", dt) for r in range(rm)]
    bv = c.var("bv", dt)
    a_base, b_base = c.mul(bi, c.i64(M * K)), c.mul(bi, c.i64(K * N))

    def a_at(m):
        m = c.call("clamp_i64", [m, c.i64(0), c.i64(M - 1)], dtypes.int64)
        return c.load(a, c.add(a_base, c.add(c.mul(m, c.i64(K)), k) if a_fc
                               else c.add(c.mul(k, c.i64(M)), m)))

    b_off = c.add(b_base, c.add(c.mul(k, c.i64(N)), n) if b_cf
                  else c.add(c.mul(n, c.i64(K)), k))
    inner = [c.decl(bv, c.load(b, b_off))]
    inner += [c.assign(accs[r], c.binop("+", accs[r], c.binop(
        "*", a_at(c.add(m0, c.i64(r))), bv, dt), dt)) for r in range(rm)]
    body = [c.decl(n, _gid(0)), c.decl(i, _gid(1)), c.decl(bi, _gid(2)),
            c.decl(m0, c.mul(i, c.i64(rm)))]
    body += [c.decl(acc, zero) for acc in accs]
    body.append(cdsl.If(c.lt(n, c.i64(N)), (
        c.for_(k, c.i64(0), c.i64(K), inner),
        *[cdsl.If(c.lt(c.add(m0, c.i64(r)), c.i64(M)), (
            c.store(out, c.add(c.mul(bi, c.i64(M * N)),
                               c.add(c.mul(c.add(m0, c.i64(r)), c.i64(N)), n)), accs[r]),))
          for r in range(rm)])))
    params = tuple(_params_of(body))
    return Launch(cdsl.Function(name("matmul_rows"), params, tuple(body), kernel=True),
                  (N, -(-M // rm), B), None)


def _vcall(fn, args, ty):
    return cdsl.Call(fn, tuple(args), ty)


def matmul_vec_kernels(name, dt, B, M, N, K, a, a_fc, b_source, out, width=16, mr=None,
                       nv=None, units=1, b_rows=None, registers=32,
                       k_inner_source=False) -> tuple:
    """(launches, temps) of the same product for CPU devices (PoCL), with explicit vector
    types instead of work-item vectorisation.

    B is read as vectors of W lanes: straight from `b_rows` (B stored [B, K, N]) when N is
    a multiple of NR = NV*W, else from panels Bp[b, j, k, 0:NR] (zero-padded past N) that a
    pack kernel writes (looping over k inside a work item when `k_inner_source`: B stored
    [B, N, K]); `b_source(bi, k)` gives the statements and the function
    n -> B[bi, k, n] it reads through (a plain matrix, or the weights of a convolution
    gathered in place). Then each work item (one per
    work-group: no barriers, no local memory) owns panel j and a run of `tiles` row blocks
    of MR rows; per row block it keeps MR x NV vectors of W lanes in registers, adding
    A[m, k] (broadcast) * B[b, k, panel j] for every k. When N is not a multiple of W the
    result goes to a padded scratch matrix and a copy kernel writes `out`."""
    # Accumulators plus the B vectors must fit the vector registers: 6 x 4 or 8 x 2 of
    # AVX-512's 32, 6 x 2 of AVX2's 16.
    wide = registers >= 32
    if nv is None:
        nv = 4 if wide and N > 2 * width else max(1, min(2, -(-N // width)))
    if mr is None:
        mr = 8 if wide and nv <= 2 else 6
    w, nr = width, nv * width
    vt = vec_type(dt, w)
    npan = -(-N // nr)
    tiles_m = -(-M // mr)
    tiles = max(1, min(8, (tiles_m * npan * B) // (16 * max(1, units))))
    tiles = min(tiles, tiles_m)
    v = lambda n_: c.var(n_, dtypes.int64)
    zero = c.const(0, dt)
    temps, launches = [], []

    r, k, jn, bi, n = v("r"), v("k"), v("jn"), v("bi"), v("n")
    if b_rows is not None and N % nr == 0:
        bptr, ldb, b_off = b_rows, N, c.add(c.mul(bi, c.i64(K * N)), c.mul(jn, c.i64(nr)))
    else:
        bp = Temp((B * npan * K * nr,), dt)
        temps.append(bp)
        bptr, ldb = bp.param, nr
        b_off = c.mul(c.add(c.mul(bi, c.i64(npan)), jn), c.i64(K * nr))

        def pack(i_):
            t = v("t")
            pre, b_at = b_source(bi, k)
            return [c.decl(k, c.mod(i_, c.i64(K))), c.decl(t, c.div(i_, c.i64(K))),
                    c.decl(jn, c.mod(t, c.i64(npan))), c.decl(bi, c.div(t, c.i64(npan)))] + \
                list(pre) + [c.for_(r, c.i64(0), c.i64(nr), [
                    c.decl(n, c.add(c.mul(jn, c.i64(nr)), r)),
                    c.store(bp.param, c.add(c.mul(i_, c.i64(nr)), r),
                            c.select(c.lt(n, c.i64(N)), b_at(n), zero))])]

        def pack_k_inner(i_):
            # B stored [B, N, K]: one work item per column n reads its row of K in order.
            t, nn = v("t"), v("nn")
            decls = [c.decl(r, c.mod(i_, c.i64(nr))), c.decl(t, c.div(i_, c.i64(nr))),
                     c.decl(jn, c.mod(t, c.i64(npan))), c.decl(bi, c.div(t, c.i64(npan))),
                     c.decl(n, c.add(c.mul(jn, c.i64(nr)), r)),
                     c.decl(nn, c.select(c.lt(n, c.i64(N)), n, c.i64(N - 1)))]
            pre, b_at = b_source(bi, k)
            dst = c.add(c.mul(c.add(c.mul(t, c.i64(K)), k), c.i64(nr)), r)
            return decls + list(pre) + [c.for_(k, c.i64(0), c.i64(K), [
                c.store(bp.param, dst, c.select(c.lt(n, c.i64(N)), b_at(nn), zero))])]

        if k_inner_source:
            launches.append(_flat_kernel(name("pack_b"), B * npan * nr, pack_k_inner))
        else:
            launches.append(_flat_kernel(name("pack_b"), B * npan * K, pack))

    if N % w == 0:
        target, ldo = out, N
    else:
        ldo = -(-N // w) * w
        cp = Temp((B * M * ldo,), dt)
        temps.append(cp)
        target = cp.param
    ib, t, m0, bbase = v("ib"), v("t"), v("m0"), v("bbase")
    rows = [v(f"ar{q}") for q in range(mr)]
    accs = [[cdsl.Var(f"acc{q}_{p}", vt) for p in range(nv)] for q in range(mr)]
    bvec = [cdsl.Var(f"bv{p}", vt) for p in range(nv)]
    aval = c.var("av", dt)
    vzero = cdsl.Cast(vt, zero)
    a_step = c.i64(1) if a_fc else c.i64(M)
    inner = [c.decl(bvec[p], _vcall(f"vload{w}", (c.i64(0), cdsl.BinOp(
        "+", bptr, c.add(bbase, c.add(c.mul(k, c.i64(ldb)), c.i64(p * w))), bptr.type)),
        vt)) for p in range(nv)]
    for q in range(mr):
        inner.append(c.decl(aval, c.load(a, c.add(rows[q], c.mul(k, a_step))))
                     if q == 0 else c.assign(aval, c.load(a, c.add(rows[q],
                                                                     c.mul(k, a_step)))))
        bcast = cdsl.Cast(vt, aval)
        inner += [c.assign(accs[q][p], _vcall("fma", (bcast, bvec[p], accs[q][p]), vt))
                  for p in range(nv)]
    tile = []
    for q in range(mr):
        row = c.call("clamp_i64", [c.add(m0, c.i64(q)), c.i64(0), c.i64(M - 1)], dtypes.int64)
        tile.append(c.decl(rows[q], c.add(c.mul(bi, c.i64(M * K)),
                                           c.mul(row, c.i64(K)) if a_fc else row)))
    tile += [c.decl(accs[q][p], vzero) for q in range(mr) for p in range(nv)]
    tile.append(c.for_(k, c.i64(0), c.i64(K), inner))
    n0 = c.mul(jn, c.i64(nr))
    for q in range(mr):
        stores = []
        for p in range(nv):
            off = c.add(c.add(c.mul(bi, c.i64(M * ldo)),
                              c.mul(c.add(m0, c.i64(q)), c.i64(ldo))), c.add(n0, c.i64(p * w)))
            st = cdsl.ExprStmt(_vcall(f"vstore{w}", (accs[q][p], c.i64(0), cdsl.BinOp(
                "+", target, off, target.type)), cdsl.void))
            stores.append(st if p == 0 else cdsl.If(
                c.lt(c.add(n0, c.i64(p * w)), c.i64(ldo)), (st,)))
        tile.append(cdsl.If(c.lt(c.add(m0, c.i64(q)), c.i64(M)), tuple(stores)) if q else
                    cdsl.Block(tuple(stores)))
    body = [c.decl(jn, _gid(0)), c.decl(ib, _gid(1)), c.decl(bi, _gid(2)),
            c.decl(bbase, b_off),
            c.for_(t, c.i64(0), c.i64(tiles), [
                c.decl(m0, c.mul(c.add(c.mul(ib, c.i64(tiles)), t), c.i64(mr))),
                cdsl.If(c.lt(m0, c.i64(M)), tuple(tile))])]
    params = tuple(_params_of(body))
    launches.append(Launch(cdsl.Function(name(f"matmul_vec{mr}x{nr}"), params, tuple(body),
                                         kernel=True),
                           (npan, -(-tiles_m // tiles), B), (1, 1, 1)))
    if target is not out:
        def copy(i_):
            row, col = v("row"), v("col")
            return [c.decl(row, c.div(i_, c.i64(N))), c.decl(col, c.mod(i_, c.i64(N))),
                    c.store(out, i_, c.load(target, c.add(c.mul(row, c.i64(ldo)), col)))]
        launches.append(_flat_kernel(name("unpad"), B * M * N, copy))
    return launches, temps


@dataclass(frozen=True)
class MatmulConfig:
    """How a device multiplies: `variant` "tiled" (local-memory tiles of edge `ts`, for
    GPUs), "vec" (vector-type register blocks of `width` lanes, for CPU devices) or "rows"
    (work-item vectorisation by the driver); `units` = compute units."""
    variant: str = "tiled"
    ts: int = 16
    local_mem: int = 1 << 15
    width: int = 16
    units: int = 1


def _vec_ok(cfg, dt) -> bool:
    return cfg.variant == "vec" and np.dtype(dt) in (np.float32, np.float64)


def _matrix_source(b, b_cf, K, N):
    def source(bi, k):
        def at(n):
            return c.load(b, c.add(c.mul(bi, c.i64(K * N)), c.add(c.mul(k, c.i64(N)), n)
                                   if b_cf else c.add(c.mul(n, c.i64(K)), k)))
        return [], at
    return source


def _matmul(cfg, name, dt, B, M, N, K, a, a_fc, b, b_cf, out, b_source=None) -> tuple:
    if _vec_ok(cfg, dt):
        width = cfg.width if np.dtype(dt) == np.float32 else max(2, cfg.width // 2)
        return matmul_vec_kernels(name, dt, B, M, N, K, a, a_fc,
                                  b_source or _matrix_source(b, b_cf, K, N), out,
                                  width=width, units=cfg.units,
                                  registers=32 if cfg.width >= 16 else 16,
                                  k_inner_source=b_source is None and not b_cf,
                                  b_rows=b if b_source is None and b_cf else None)
    if cfg.variant in ("rows", "vec"):
        return [matmul_rows_kernel(name, dt, B, M, N, K, a, a_fc, b, b_cf, out)], []
    return [matmul_kernel(name, dt, B, M, N, K, a, a_fc, b, b_cf, out, cfg.ts,
                          local_mem=cfg.local_mem)], []


def dot_kernels(eqn, buffers, name, cfg: MatmulConfig) -> tuple:
    """(launches, temps) for a dot_general Gemm step."""
    lhs, rhs = eqn.inputs
    out = eqn.outputs[0]
    dt = out.aval.dtype
    L, R = lhs.aval.shape, rhs.aval.shape
    lp, rp = buffers[lhs.id], buffers[rhs.id]
    launches, temps = [], []
    rounded = None
    if c.is_narrow(lhs.aval.dtype):
        # 16-bit float operands: widened copies multiplied in float32 (JAX's accumulation
        # type), the result rounded once to the output's type unless it is float32
        dt = np.dtype(np.float32)
        wide = []
        for src, shape in ((lp, L), (rp, R)):
            tmp = Temp(shape, dt)
            temps.append(tmp)
            launches.append(_flat_kernel(name("widen"), int(np.prod(shape)),
                                         lambda i, s=src, t=tmp: [c.store(t.param, i,
                                                                          c.load(s, i))]))
            wide.append(tmp.param)
        lp, rp = wide
        if out.aval.dtype != dt:
            rounded = Temp(out.aval.shape, dt)
            temps.append(rounded)

    def permute(ptr, shape, perm):
        tmp = Temp([shape[q] for q in perm], dt)
        temps.append(tmp)
        launches.extend(permute_kernel(ptr, shape, perm, tmp.param, name))
        return tmp.param

    lp, lkind, rp, rkind, Bn, M, N, K = dot_operands(eqn.params["dimension_numbers"], L, R,
                                                     lp, rp, permute)
    op = buffers[out.id]
    if Bn * M * N == 0:
        return launches, temps
    if K == 0:
        launches.append(_flat_kernel(name("zero"), Bn * M * N,
                                     lambda i: [c.store(op, i, c.const(0, out.aval.dtype))]))
        return launches, temps
    if rounded is not None:
        launches_after = [_flat_kernel(name("round"), Bn * M * N, lambda i: [
            c.store(op, i, c.load(rounded.param, i))])]
        op = rounded.param
    else:
        launches_after = []
    if np.dtype(dt).kind == "c":
        # complex: the work-item kernel, its products and sums the complex helpers
        cfg = dataclasses.replace(cfg, variant="rows")
    mm, mm_temps = _matmul(cfg, name, dt, Bn, M, N, K, lp, lkind == "fc", rp, rkind == "cf",
                           op)
    return launches + mm + launches_after, temps + mm_temps


def conv_kernels(eqn, buffers, name, cfg: MatmulConfig) -> tuple:
    """(launches, temps) for a convolution: im2col, weight packing, matmul, permute.

    With G = feature_group_count * batch_group_count > 1 the convolution is G independent
    ones, run as one batched matmul over the groups: out[g, m, f] = sum_k P[g, m, k] *
    W[g, k, f], m over the output positions (batch and spatial), f over the Fg output
    features of group g, k over its input features and the window taps. Group g reads input
    channels g*Cg .. (feature groups) or input batch entries g*N .. (batch groups) and
    filter rows g*Fg ..; its output features are channels g*Fg .. of the result."""
    p = eqn.params
    ls, rs, os_ = p["dimension_numbers"]
    lhs, rhs = eqn.inputs
    out = eqn.outputs[0]
    dt = out.aval.dtype
    # 16-bit float operands: the patches and weights are gathered into float32 copies and
    # multiplied in float32 (JAX's accumulation type); a 16-bit result is rounded once, by
    # the final permute's store
    narrow_out = c.is_narrow(dt)
    if c.is_narrow(lhs.aval.dtype):
        dt = np.dtype(np.float32)
    X, W, O = lhs.aval.shape, rhs.aval.shape, out.aval.shape
    nsp = len(X) - 2
    fgc, bgc = p["feature_group_count"], p["batch_group_count"]
    G = fgc * bgc
    # N: the output batch (a batch group's share of the input's); Cg: input features per
    # group, the filter's input-feature extent.
    N, Cg = O[os_[0]], W[rs[1]]
    OC = W[rs[0]]
    Fg = OC // G
    ksp = [W[d] for d in rs[2:]]
    osp = [O[d] for d in os_[2:]]
    isp = [X[d] for d in ls[2:]]
    strides, pads = p["window_strides"], p["padding"]
    ldil, rdil = p["lhs_dilation"], p["rhs_dilation"]
    rows = N * int(np.prod(osp))
    cols = Cg * int(np.prod(ksp))
    xs, ws = strides_of(X), strides_of(W)
    xp, wp, op = buffers[lhs.id], buffers[rhs.id], buffers[out.id]
    if rows == 0 or OC == 0:
        return [], []
    if cols == 0:
        return [_flat_kernel(name("zero"), out.aval.size,
                             lambda i: [c.store(op, i, c.const(0, out.aval.dtype))])], []
    # Where group g starts in the input: its channels (feature groups) or its batch entries
    # (batch groups; jax orders the input batch group-major).
    gx = Cg * xs[ls[1]] if fgc > 1 else (N * xs[ls[0]] if bgc > 1 else 0)
    launches, temps = [], []
    # Column order: (k..., c) for channel-minor inputs (NHWC), else (c, k...).
    channel_minor = ls[1] == len(X) - 1
    col_shape = (list(ksp) + [Cg]) if channel_minor else ([Cg] + list(ksp))
    P = Temp((G, rows, cols), dt)
    temps.append(P)

    def col_vars(em, col_expr):
        pre, cv = _decl_multi(em, col_expr, col_shape, "kc")
        if channel_minor:
            return pre, cv[-1], cv[:-1]
        return pre, cv[0], cv[1:]

    inner = col_shape[-1]
    n_outer = cols // inner

    def im2col(i):
        em = KernelEmitter(c, {})
        gr, row, co, j = (c.var(n_, dtypes.int64) for n_ in ("gr", "row", "co", "j"))
        per_group = i if G == 1 else c.mod(i, c.i64(rows * n_outer))
        pre = [c.decl(gr, c.div(i, c.i64(rows * n_outer)))] if G > 1 else []
        pre += [c.decl(row, c.div(per_group, c.i64(n_outer))),
                c.decl(co, c.mod(i, c.i64(n_outer)))]
        d1, rv = _decl_multi(em, row, [N] + list(osp), "r")
        d2, cv = _decl_multi(em, co, col_shape[:-1], "kc")
        cv = cv + [j]
        ch, kvars = (cv[-1], cv[:-1]) if channel_minor else (cv[0], cv[1:])
        n_v, ovars = rv[0], rv[1:]
        valid = None
        xoff = c.add(c.mul(n_v, c.i64(xs[ls[0]])), c.mul(ch, c.i64(xs[ls[1]])))
        if G > 1:
            xoff = c.add(xoff, c.mul(gr, c.i64(gx)))
        for d in range(nsp):
            pos = c.sub(c.add(c.mul(ovars[d], c.i64(strides[d])),
                              c.mul(kvars[d], c.i64(rdil[d]))), c.i64(pads[d][0]))
            q = c.div(pos, c.i64(ldil[d])) if ldil[d] != 1 else pos
            conds = [c.ge(pos, c.i64(0)), c.lt(q, c.i64(isp[d]))]
            if ldil[d] != 1:
                conds.append(c.eq(c.mod(pos, c.i64(ldil[d])), c.i64(0)))
            for cond in conds:
                valid = cond if valid is None else c.land(valid, cond)
            qc = c.call("clamp_i64", [q, c.i64(0), c.i64(max(isp[d] - 1, 0))], dtypes.int64)
            xoff = c.add(xoff, c.mul(qc, c.i64(xs[ls[2 + d]])))
        val = c.select(valid, c.load(xp, xoff), c.const(0, dt)) if valid is not None \
            else c.load(xp, xoff)
        grow = c.add(c.mul(gr, c.i64(rows)), row) if G > 1 else row
        dst = c.add(c.add(c.mul(grow, c.i64(cols)), c.mul(co, c.i64(inner))), j)
        return pre + d1 + d2 + [c.for_(j, c.i64(0), c.i64(inner), [c.store(P.param, dst, val)])]

    launches.append(_flat_kernel(name("im2col"), G * rows * n_outer, im2col))

    def weights(col, gr):
        """Declarations of `col`'s multi-index, and f -> W[gr*Fg + f, col] (as packed)."""
        d2, ch, kvars = col_vars(KernelEmitter(c, {}), col)

        def at(f):
            oc = c.add(c.mul(gr, c.i64(Fg)), f) if G > 1 else f
            woff = c.add(c.mul(oc, c.i64(ws[rs[0]])), c.mul(ch, c.i64(ws[rs[1]])))
            for d in range(nsp):
                woff = c.add(woff, c.mul(kvars[d], c.i64(ws[rs[2 + d]])))
            return c.load(wp, woff)
        return d2, at

    if _vec_ok(cfg, dt):
        Wm = None

        def b_source(bi, k):
            return weights(k, bi)
    else:
        b_source = None
        Wm = Temp((G, cols, Fg), dt)
        temps.append(Wm)

        def pack(i):
            gr, col, f = (c.var(n_, dtypes.int64) for n_ in ("gr", "col", "f"))
            d2, at = weights(col, gr)
            return [c.decl(gr, c.div(i, c.i64(cols * Fg))),
                    c.decl(col, c.div(c.mod(i, c.i64(cols * Fg)), c.i64(Fg))),
                    c.decl(f, c.mod(i, c.i64(Fg)))] + d2 + [c.store(Wm.param, i, at(f))]

        launches.append(_flat_kernel(name("pack"), G * cols * Fg, pack))
    # The matmul writes [G, N, spatial..., Fg]; the output wants [N, spatial..., C] in its
    # own axis order with C = (G, Fg). With one group and the output channel-minor that is
    # the output itself; else a permute kernel writes the output from a scratch matrix.
    natural = [os_[0]] + list(os_[2:]) + [os_[1]]
    if G == 1 and natural == list(range(len(O))) and not narrow_out:
        target = op
    else:
        T = Temp((G, rows, Fg), dt)
        temps.append(T)
        target = T.param
    mm, mm_temps = _matmul(cfg, name, dt, G, rows, Fg, cols, P.param, True,
                           Wm.param if Wm is not None else None, True, target, b_source)
    launches += mm
    temps += mm_temps
    if target is not op:
        # Axes of the scratch: 0 the group, 1 the batch, 2.. spatial, last the feature.
        # The output with its feature axis split into (group, feature) is a transpose of it.
        src_axis = {os_[0]: [1], os_[1]: [0, nsp + 2]}
        for d in range(nsp):
            src_axis[os_[2 + d]] = [2 + d]
        perm = [q for dd in range(len(O)) for q in src_axis[dd]]
        launches += permute_kernel(target, [G, N] + osp + [Fg], perm, op, name)
    return launches, temps


del Var


# ---------------------------------------------------------------------------------------
# complex and bfloat16 in OpenCL C
#
# The lowering (cnodes, codegen, cdsl.helpers) builds complex values as C99 `_Complex` and
# bfloat16 as a uint16 bit pattern computed in float. OpenCL C has neither `_Complex` nor
# <complex.h> nor memcpy, so before rendering, `opencl_module` rewrites the few nodes whose
# C99 meaning differs in OpenCL C, and `render` prepends OpenCL implementations of what the
# C backend gets from libm/<complex.h>:
# - complex64/complex128 are `float2`/`double2` (x the real part, y the imaginary part).
#   `+ -` and unary `-` are OpenCL's componentwise vector operators; `* /` and the
#   orderings already are helper calls (cmul/cdiv/clt..., printed from the same AST as
#   for C: NumPy's schoolbook product and Smith division); `== !=` (a vector compare in
#   OpenCL) become helpers; a complex constant, a cast from a real (OpenCL's cast would
#   broadcast it to both lanes) and a cast between widths (`convert_double2`) are spelled
#   out. The <complex.h> functions are `ocl_<fn>_<type>` helpers below.
# - bfloat16 loads, stores and roundings are `as_uint`/`as_float` bit operations with the
#   C helpers' round-to-nearest-even (bit-exact with ml_dtypes).

_CPLX_FNS = ("exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "asin",
             "acos", "atan", "asinh", "acosh", "atanh", "pow", "fabs", "arg", "real", "imag",
             "conj")
_FP64_PRAGMA = "#pragma OPENCL EXTENSION cl_khr_fp64 : enable"


def _complex_math_names() -> dict:
    out = {}
    for tname in ("c64", "c128"):
        for fn in _CPLX_FNS:
            name = {"fabs": "abs", "real": "re", "imag": "im"}.get(fn, fn)
            out[(fn, tname)] = f"ocl_{name}_{tname}"
    # complex(re, im): an OpenCL vector literal of the two parts
    out[("complex", "f32")] = "(float2)"
    out[("complex", "f64")] = "(double2)"
    return out


DIALECT = dataclasses.replace(
    cdsl.OPENCL,
    type_names={**cdsl.OPENCL.type_names, **_VECTOR_TYPES, "c64": "float2", "c128": "double2",
                "bf16": "ushort"},
    math_names={**cdsl.OPENCL.math_names, **_complex_math_names()},
    # float16 is storage only (vload_half/vstore_half_rte): no cl_khr_fp16 pragma
    type_pragmas={**{k: v for k, v in cdsl.OPENCL.type_pragmas.items() if k != "f16"},
                  "c128": _FP64_PRAGMA})

# One complex type's helpers; T the vector type, R its part, S the cdsl type name, F the
# float-literal suffix, BIG where tanh's e^(-2|x|) term drops below half an ulp.
_COMPLEX_TEMPLATE = """\
inline R ocl_re_S(T z) { return z.x; }
inline R ocl_im_S(T z) { return z.y; }
inline T ocl_conj_S(T z) { return (T)(z.x, -z.y); }
inline R ocl_abs_S(T z) { return hypot(z.x, z.y); }
inline R ocl_arg_S(T z) { return atan2(z.y, z.x); }
inline int ocl_eq_S(T a, T b) { return a.x == b.x && a.y == b.y; }
inline int ocl_ne_S(T a, T b) { return a.x != b.x || a.y != b.y; }
inline T ocl_mul_S(T a, T b) { return (T)(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
inline T ocl_div_S(T a, T b) {
    /* Smith's division, as NumPy (and cdsl's cdiv helper) */
    R abr = fabs(b.x), abi = fabs(b.y);
    if (abr >= abi) {
        if (abr == 0 && abi == 0) return (T)(a.x / abr, a.y / abr);
        R rat = b.y / b.x, scl = 1.0F / (b.x + b.y * rat);
        return (T)((a.x + a.y * rat) * scl, (a.y - a.x * rat) * scl);
    }
    R rat = b.x / b.y, scl = 1.0F / (b.y + b.x * rat);
    return (T)((a.x * rat + a.y) * scl, (a.y * rat - a.x) * scl);
}
inline T ocl_exp_S(T z) {
    /* e^x (cos y + i sin y); halves of e^x where it alone would overflow; a zero
       imaginary part stays exact, e^x = 0 gives 0 (C99 Annex G) */
    int big = z.x > BIG2;
    R e = exp(big ? z.x * 0.5F : z.x);
    R c = cos(z.y), s = sin(z.y);
    R re = big ? e * c * e : e * c;
    R im = big ? e * s * e : e * s;
    if (e == 0) return (T)(0, 0);
    if (isinf(e) && isnan(c)) re = e;
    return (T)(re, z.y == 0 ? z.y : im);
}
inline T ocl_log_S(T z) { return (T)(log(hypot(z.x, z.y)), atan2(z.y, z.x)); }
inline T ocl_log1p_S(T z) {
    /* log|1 + z| as log1p(x (x + 2) + y^2) / 2 near 0 (cdsl's clog1p) */
    R x1 = z.x + 1;
    R re = (fabs(z.x) + fabs(z.y) < 1) ? log1p(z.x * (z.x + 2) + z.y * z.y) * 0.5F
                                        : log(hypot(x1, z.y));
    return (T)(re, atan2(z.y, x1));
}
inline T ocl_sqrt_S(T z) {
    R ax = fabs(z.x), ay = fabs(z.y);
    if (ax == 0 && ay == 0) return (T)(0, z.y);
    if (isinf(ay)) return (T)(INFINITY, z.y);
    if (isnan(z.x)) return (T)(z.x, z.x);
    if (isinf(z.x)) return z.x > 0 ? (T)(z.x, isnan(z.y) ? z.y : copysign((R)0, z.y))
                                   : (T)(isnan(z.y) ? z.y : (R)0, copysign(ax, z.y));
    /* t = sqrt((|x| + |z|) / 2) without overflow for huge parts */
    R scale = (ax > BIGSQ || ay > BIGSQ) ? 0.25F : 1;
    R t = sqrt((ax * scale + hypot(ax * scale, ay * scale)) * 0.5F);
    if (scale != 1) t *= 2;
    if (z.x >= 0) return (T)(t, z.y / (2 * t));
    return (T)(ay / (2 * t), copysign(t, z.y));
}
inline T ocl_sin_S(T z) { return (T)(sin(z.x) * cosh(z.y), cos(z.x) * sinh(z.y)); }
inline T ocl_cos_S(T z) { return (T)(cos(z.x) * cosh(z.y), -(sin(z.x) * sinh(z.y))); }
inline T ocl_sinh_S(T z) { return (T)(sinh(z.x) * cos(z.y), cosh(z.x) * sin(z.y)); }
inline T ocl_cosh_S(T z) { return (T)(cosh(z.x) * cos(z.y), sinh(z.x) * sin(z.y)); }
inline T ocl_tanh_S(T z) {
    /* Kahan's formula; for large |x| the real part is +-1 and the imaginary part
       4 sin y cos y e^(-2|x|) */
    if (fabs(z.x) > BIG) {
        R e = exp(-2 * fabs(z.x));
        return (T)(copysign((R)1, z.x), 4 * sin(z.y) * cos(z.y) * e);
    }
    R t = tan(z.y), b = 1 + t * t, s = sinh(z.x), rho = sqrt(1 + s * s);
    R d = 1 + b * s * s;
    return (T)(b * rho * s / d, t / d);
}
inline T ocl_tan_S(T z) { T w = ocl_tanh_S((T)(-z.y, z.x)); return (T)(w.y, -w.x); }
inline T ocl_asinh_S(T z) {
    /* asinh(w) = log1p(w + w^2 / (sqrt(w^2 + 1) + 1)) for w = +-z with Re w >= 0 (no
       cancellation; asinh is odd) */
    R sg = signbit(z.x) ? -1 : 1;
    T w = z * sg;
    T w2 = ocl_mul_S(w, w);
    T r = ocl_sqrt_S(w2 + (T)(1, 0));
    T u = w + ocl_div_S(w2, r + (T)(1, 0));
    return ocl_log1p_S(u) * sg;
}
inline T ocl_asin_S(T z) { T w = ocl_asinh_S((T)(-z.y, z.x)); return (T)(w.y, -w.x); }
inline T ocl_acos_S(T z) {
    T a = ocl_asin_S(z);
    return (T)(PI_2 - a.x, -a.y);
}
inline T ocl_acosh_S(T z) {
    return ocl_log_S(z + ocl_mul_S(ocl_sqrt_S(z + (T)(1, 0)), ocl_sqrt_S(z - (T)(1, 0))));
}
inline T ocl_atanh_S(T z) { return (ocl_log1p_S(z) - ocl_log1p_S(-z)) * 0.5F; }
inline T ocl_atan_S(T z) { T w = ocl_atanh_S((T)(-z.y, z.x)); return (T)(w.y, -w.x); }
inline T ocl_pow_S(T a, T b) {
    /* NumPy's: b = 0 gives 1, 0^b is 0 for real b > 0 (NaN for other b), small integer
       powers by repeated multiplication, else exp(b log a) */
    if (b.x == 0 && b.y == 0) return (T)(1, 0);
    if (a.x == 0 && a.y == 0) {
        if (b.x > 0 && b.y == 0) return (T)(0, 0);
        return (T)(NAN, NAN);
    }
    if (b.y == 0 && b.x == rint(b.x) && fabs(b.x) < 100) {
        int n = (int)fabs(b.x);
        T acc = (T)(1, 0), base = a;
        while (n) {
            if (n & 1) acc = ocl_mul_S(acc, base);
            n >>= 1;
            if (n) base = ocl_mul_S(base, base);
        }
        return b.x < 0 ? ocl_div_S((T)(1, 0), acc) : acc;
    }
    return ocl_exp_S(ocl_mul_S(b, ocl_log_S(a)));
}
"""

_COMPLEX_PARAMS = {
    "c64": {"T": "float2", "R": "float", "S": "c64", "F": "f", "BIG2": "80.0f",
            "BIG": "9.0f", "BIGSQ": "1e37f", "PI_2": "1.57079632679489662f"},
    "c128": {"T": "double2", "R": "double", "S": "c128", "F": "", "BIG2": "700.0",
             "BIG": "22.0", "BIGSQ": "1e307", "PI_2": "1.57079632679489662"},
}

_BF16_HELPERS = {
    "ocl_bfload": "inline float ocl_bfload(ushort h) { return as_float((uint)h << 16); }",
    "ocl_bfbits": """\
inline uint ocl_bfbits(float x) {
    /* round to nearest even (the carry of an overflow gives inf); NaN stays a quiet NaN
       of its sign (ml_dtypes' cast) */
    uint u = as_uint(x);
    uint r = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    return (x != x) ? ((u & 0x80000000u) | 0x7fc00000u) : r;
}""",
    "ocl_bfround_f32": "inline float ocl_bfround_f32(float x) { return as_float(ocl_bfbits(x)); }",
    "ocl_bfround_f64": "inline float ocl_bfround_f64(double d) "
                       "{ return as_float(ocl_bfbits((float)d)); }",
    "ocl_bfstore": "inline ushort ocl_bfstore(float x) { return (ushort)(ocl_bfbits(x) >> 16); }",
}
_HALF_HELPERS = {
    # through a private half with vstore_half_rte / vload_half (core OpenCL C: no
    # cl_khr_fp16 needed), rounding to nearest-even as NumPy's float16 casts
    "ocl_hround_f32": "inline float ocl_hround_f32(float x) { ushort h; "
                      "vstore_half_rte(x, 0, (__private half*)&h); "
                      "return vload_half(0, (__private const half*)&h); }",
    "ocl_hround_f64": "inline float ocl_hround_f64(double x) { ushort h; "
                      "vstore_half_rte(x, 0, (__private half*)&h); "
                      "return vload_half(0, (__private const half*)&h); }",
}
# tanh that reaches +-1: PoCL's float tanh returns 0.99999994 for every x >= 9.011, where
# the correctly rounded value is 1 (within OpenCL's 5-ulp bound, but the derivative
# 1 - tanh(x)^2 then is 1.2e-7 instead of 0, times sec^2 of a tan near pi/2 in a fuzzed
# program: a wrong gradient; seed 88). Past the point where e^(-2|x|) is below half an ulp
# of 1, the result is +-1 exactly.
#
# NaN guards: PoCL (Debian's, with its LLVM) folds a call of these builtins on a NaN that is
# known at compile time into nothing, and drops the store of its result, so the output
# keeps whatever the pooled buffer held (measured one kernel per builtin: exp, exp2, expm1,
# sinh, tanh, ceil, floor, trunc, rint and round, float and double). Such a NaN arises
# where a reduction over a zero-length axis folds to 0 / 0: a vmapped program's
# `ceil(nanmean(empty))` gave stale integers instead of NaN (fuzz seed 20261943). A NaN
# argument is returned as it is (every one of them returns it), and the builtin is only
# called on the other arguments.
_NAN_GUARDED = ("exp", "exp2", "expm1", "sinh", "ceil", "floor", "trunc", "rint", "round")
_TANH_HELPERS = {
    "ocl_tanh_f32": "inline float ocl_tanh_f32(float x) "
                    "{ return isnan(x) ? x : fabs(x) >= 9.011f ? copysign(1.0f, x) : tanh(x); }",
    "ocl_tanh_f64": "inline double ocl_tanh_f64(double x) "
                    "{ return isnan(x) ? x : fabs(x) >= 19.07 ? copysign(1.0, x) : tanh(x); }",
}
_NAN_HELPERS = {
    f"ocl_nan_{fn}_{t}": f"inline {c} ocl_nan_{fn}_{t}({c} x) {{ return isnan(x) ? x : {fn}(x); }}"
    for fn in _NAN_GUARDED for t, c in (("f32", "float"), ("f64", "double"))}

_NARROW_RENAME = {"bfload_bf16": "ocl_bfload", "bfround_f32": "ocl_bfround_f32",
                  "bfround_f64": "ocl_bfround_f64", "bfstore_f32": "ocl_bfstore",
                  "hround_f32": "ocl_hround_f32", "hround_f64": "ocl_hround_f64"}


def _complex_source(tname: str) -> str:
    src = _COMPLEX_TEMPLATE
    p = _COMPLEX_PARAMS[tname]
    # literal suffixes first (1.0F, 0.5F, 0.25F), then the names (longest first)
    src = re.sub(r"(\d)F\b", lambda m: m.group(1) + p["F"], src)
    for key in ("BIGSQ", "BIG2", "BIG", "PI_2"):
        src = src.replace(key, p[key])
    return re.sub(r"\b([TRS])\b|_S\b", lambda m: ("_" + p["S"]) if m.group(0) == "_S"
                  else p[m.group(1)], src)


def _is_cplx(t) -> bool:
    return isinstance(t, cdsl.CType) and t.is_complex


def _part(t):
    return cdsl.ast.SCALAR_TYPES[t.real]


def _make_complex(re, t, im=None):
    r = _part(t)
    if getattr(re, "type", None) != r:
        re = cdsl.Cast(r, re)
    return cdsl.Call("complex", (re, im if im is not None else cdsl.Const(0, r)), t)


def _to_complex(e, t):
    """`e` (complex or real) as a value of complex type `t`."""
    et = e.type
    if et == t:
        return e
    if _is_cplx(et):
        return cdsl.Call("convert_double2" if t.name == "c128" else "convert_float2", (e,), t)
    if et is cdsl.bool_ or not et.is_float:
        e = cdsl.Cast(_part(t), e)
    return _make_complex(e, t)


def _rewrite_expr(x):
    """One node (its children already rewritten) in its OpenCL form."""
    if isinstance(x, cdsl.Const) and _is_cplx(x.type):
        v, r = complex(x.value), _part(x.type)
        return _make_complex(cdsl.Const(v.real, r), x.type, cdsl.Const(v.imag, r))
    if isinstance(x, cdsl.Cast):
        src = x.a.type
        if _is_cplx(x.type):
            return _to_complex(x.a, x.type)
        if _is_cplx(src):
            if x.type is cdsl.bool_:
                return cdsl.Cast(cdsl.bool_, cdsl.Call(
                    f"ocl_ne_{src.name}", (x.a, _make_complex(cdsl.Const(0, _part(src)), src)),
                    cdsl.i32))
            re = cdsl.Call("real", (x.a,), _part(src))
            return re if x.type == re.type else cdsl.Cast(x.type, re)
        return x
    if isinstance(x, cdsl.BinOp):
        ta, tb = x.a.type, x.b.type
        if not (_is_cplx(ta) or _is_cplx(tb)):
            return x
        if x.op in ("==", "!="):
            t = cdsl.ast.promote(ta, tb)
            fn = f"ocl_{'eq' if x.op == '==' else 'ne'}_{t.name}"
            return cdsl.Call(fn, (_to_complex(x.a, t), _to_complex(x.b, t)), cdsl.i32)
        if x.op in ("+", "-", "*", "/"):
            t = x.type if _is_cplx(x.type) else cdsl.ast.promote(ta, tb)
            a, b = _to_complex(x.a, t), _to_complex(x.b, t)
            if x.op in ("*", "/"):
                return cdsl.Call(("cmul_" if x.op == "*" else "cdiv_") + t.name, (a, b), t)
            if a is x.a and b is x.b:
                return x
            return cdsl.BinOp(x.op, a, b, t)
        raise NotImplementedError(f"OpenCL lowering: operator {x.op} on complex operands")
    if isinstance(x, cdsl.Call) and x.fn == "tanh" and x.type in (cdsl.f32, cdsl.f64):
        return cdsl.Call(f"ocl_tanh_{x.type.name}", x.args, x.type)
    if isinstance(x, cdsl.Call) and x.fn in _NAN_GUARDED and x.type in (cdsl.f32, cdsl.f64) \
            and len(x.args) == 1 and x.args[0].type == x.type:
        return cdsl.Call(f"ocl_nan_{x.fn}_{x.type.name}", x.args, x.type)
    if isinstance(x, cdsl.Call) and x.fn in _NARROW_RENAME:
        return cdsl.Call(_NARROW_RENAME[x.fn], x.args, x.type)
    if isinstance(x, cdsl.Load) and x.type is cdsl.f16:
        # float16 is storage only (computed in float): vload_half needs no cl_khr_fp16
        return cdsl.Call("vload_half", (x.index, x.ptr), cdsl.f32)
    if isinstance(x, cdsl.Call) and x.fn == "hload_f16" and isinstance(x.args[0], cdsl.Load):
        # the C lowering reads a float16 buffer as its bits and converts them
        return cdsl.Call("vload_half", (x.args[0].index, _half_ptr(x.args[0].ptr)), cdsl.f32)
    return x


def _half_ptr(ptr):
    """The float16 buffer under the C lowering's bit-pattern view of it."""
    return ptr.a if isinstance(ptr, cdsl.Cast) else ptr


def _rewrite_stmt(st):
    """One statement (its expressions already rewritten) in its OpenCL form."""
    half_bits = isinstance(st, cdsl.Store) and isinstance(st.value, cdsl.Call) and \
        st.value.fn == "hstore_f32"
    if half_bits or (isinstance(st, cdsl.Store) and st.ptr.type.elem is cdsl.f16):
        val = st.value.args[0] if half_bits else (
            st.value.a if isinstance(st.value, cdsl.Cast) else st.value)
        if val.type not in (cdsl.f32, cdsl.f64):
            val = cdsl.Cast(cdsl.f32, val)
        # rounded to nearest-even from float or double (NumPy's casts)
        return cdsl.ExprStmt(cdsl.Call("vstore_half_rte", (val, st.index, _half_ptr(st.ptr)),
                                       cdsl.void))
    return st


def _rewrite(node):
    """`node` with every expression in its OpenCL form (the node itself if unchanged)."""
    if isinstance(node, tuple):
        new = tuple(_rewrite(n) for n in node)
        return node if all(a is b for a, b in zip(new, node)) else new
    if not dataclasses.is_dataclass(node) or isinstance(node, (cdsl.CType, cdsl.PtrType)):
        return node
    changes = {}
    for f in dataclasses.fields(node):
        v = getattr(node, f.name)
        if isinstance(v, tuple) or (dataclasses.is_dataclass(v) and
                                    not isinstance(v, (cdsl.CType, cdsl.PtrType))):
            nv = _rewrite(v)
            if nv is not v:
                changes[f.name] = nv
    if changes:
        node = dataclasses.replace(node, **changes)
    if isinstance(node, cdsl.ast.Expr):
        return _rewrite_expr(node)
    return _rewrite_stmt(node) if isinstance(node, cdsl.ast.Stmt) else node


def opencl_module(module: cdsl.Module) -> cdsl.Module:
    """`module` with complex and bfloat16 nodes spelled as OpenCL C needs them."""
    return cdsl.Module(tuple(_rewrite(f) for f in module.functions), module.includes,
                       module.uses_blas)


def _add_helpers(pre: list, helpers: dict, calls) -> None:
    """Appends to the preamble `pre` the helpers the kernels call (with the fp64 pragma
    first for a double one)."""
    for n, text in helpers.items():
        if n in calls:
            if n.endswith("f64") and _FP64_PRAGMA not in pre:
                pre.insert(0, _FP64_PRAGMA)
            pre.extend(text.splitlines())


def render(module: cdsl.Module, rounded_div_sqrt: bool = True) -> tuple[str, tuple]:
    """(OpenCL C source, build options) of a module of kernels; `rounded_div_sqrt`: the
    device can divide and take square roots correctly rounded in float."""
    module = opencl_module(module)
    calls, used = cdsl.ast.calls_and_types(module.functions)
    calls = {fn for fn, _ in calls}
    pre = []
    for tname in ("c64", "c128"):
        if tname in used:
            if tname == "c128":
                pre.append(_FP64_PRAGMA)
            pre.extend(_complex_source(tname).splitlines())
    bf = [n for n in _BF16_HELPERS if n in calls]
    if bf:
        if "ocl_bfround_f64" in calls and _FP64_PRAGMA not in pre:
            pre.insert(0, _FP64_PRAGMA)
        for n in ["ocl_bfbits"] + bf:
            pre.extend(_BF16_HELPERS[n].splitlines())
    _add_helpers(pre, _TANH_HELPERS, calls)
    _add_helpers(pre, _HALF_HELPERS, calls)
    # Division and sqrt correctly rounded: float results then rounded to bfloat16 must be
    # the ones the host's libm gives (OpenCL allows 2.5-3 ulp by default). (Decided before
    # the NaN guards join the preamble: they need no such rounding.)
    options = ("-cl-fp32-correctly-rounded-divide-sqrt",) if pre and rounded_div_sqrt else ()
    _add_helpers(pre, _NAN_HELPERS, calls)
    dialect = dataclasses.replace(DIALECT, preamble=tuple(pre)) if pre else DIALECT
    return cdsl.render(module, dialect), options
