"""Lowering of `dot_general` and `conv_general_dilated` to BLAS GEMM calls.

Operands are materialised row-major buffers. A dot whose operands are laid out as
[batch, free, contract] / [batch, contract, free] (either order, via BLAS's transpose
flags) calls GEMM directly; otherwise the operand is first copied into that layout.
Convolutions are im2col + GEMM (one GEMM over all batch rows).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .. import dtypes
from . import cnodes as c
from .codegen import PARALLEL_MIN, strides_of

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112


def _blas_fn(dtype, name):
    return f"scipy_cblas_{'s' if np.dtype(dtype) == dtypes.float32 else 'd'}{name}"


_temp_ids = itertools.count()


class Temp:
    """A scratch buffer a GEMM lowering needs (allocated per call by the executable)."""

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


def _gemm_call(dtype, ta, tb, m, n, k, a, lda, b, ldb, cc, ldc, beta=0.0):
    import cdsl
    if m * n * k < GEMM_SPLIT_MIN or m < 16:
        return _gemm_one(dtype, ta, tb, c.i64(m), n, k, a, lda, b, ldb, cc, ldc, beta)
    t = c.var("gt", dtypes.int64)
    nt = cdsl.Cast(cdsl.i64, cdsl.Call("omp_get_max_threads", (), cdsl.i32))
    m0 = c.var("gm0", dtypes.int64)
    m1 = c.var("gm1", dtypes.int64)
    rows = c.sub(m1, m0)
    a_off = c.mul(m0, c.i64(lda)) if ta == NO_TRANS else m0
    body = [c.decl(m0, c.div(c.mul(t, c.i64(m)), nt)),
            c.decl(m1, c.div(c.mul(c.add(t, c.i64(1)), c.i64(m)), nt)),
            _gemm_one(dtype, ta, tb, rows, n, k, cdsl.BinOp("+", a, a_off, a.type), lda, b,
                      ldb, cdsl.BinOp("+", cc, c.mul(m0, c.i64(ldc)), cc.type), ldc, beta)]
    return cdsl.For(t, c.i64(0), nt, tuple(body), parallel=True, parallel_min=2)


def _gemm_one(dtype, ta, tb, m, n, k, a, lda, b, ldb, cc, ldc, beta):
    import cdsl
    args = [c.i64(ROW_MAJOR), c.i64(ta), c.i64(tb), m, c.i64(n), c.i64(k),
            c.const(1.0, dtype), a, c.i64(lda), b, c.i64(ldb), c.const(beta, dtype), cc,
            c.i64(ldc)]
    return c.expr_stmt(cdsl.Call(_blas_fn(dtype, "gemm"), tuple(args), cdsl.void))


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


def lower_dot(eqn, buffers, temps: Temps) -> list:
    (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
    lhs, rhs = eqn.inputs
    out = eqn.outputs[0]
    dt = out.aval.dtype
    stmts = []
    L, R = lhs.aval.shape, rhs.aval.shape
    nb = len(lb)
    # Pair contract dims in lhs order so both sides flatten K the same way.
    order = np.argsort(lc)
    lc_s = tuple(lc[i] for i in order)
    rc_s = tuple(rc[i] for i in order)
    lp, rp = buffers[lhs.id], buffers[rhs.id]
    la = _layout(L, lb, lc_s, True)
    if la is None or (list(rc_s) != sorted(rc_s)):
        lfree = [d for d in range(len(L)) if d not in lc and d not in lb]
        perm = list(lb) + lfree + list(lc_s)
        t = temps.new([L[p] for p in perm], dt)
        stmts += permute_copy(lp, L, perm, t.param_ref())
        lp = t.param_ref()
        L = t.shape
        lb, lc_s = tuple(range(nb)), tuple(range(nb + len(lfree), len(L)))
        la = _layout(L, lb, lc_s, True)
    ra = _layout(R, rb, rc_s, False)
    if ra is None:
        rfree = [d for d in range(len(R)) if d not in rc and d not in rb]
        perm = list(rb) + list(rc_s) + rfree
        t = temps.new([R[p] for p in perm], dt)
        stmts += permute_copy(rp, R, perm, t.param_ref())
        rp = t.param_ref()
        R = t.shape
        rb, rc_s = tuple(range(nb)), tuple(range(nb, nb + len(rc_s)))
        ra = _layout(R, rb, rc_s, False)
    lkind, M, K = la
    rkind, N, K2 = ra
    assert K == K2, (K, K2)
    B = math.prod(L[d] for d in range(nb)) if nb else 1
    ta = NO_TRANS if lkind == "fc" else TRANS
    tb = NO_TRANS if rkind == "cf" else TRANS
    lda = K if lkind == "fc" else M
    ldb = N if rkind == "cf" else K
    op = buffers[out.id]
    if M * N == 0:
        return stmts
    if K == 0:
        i = c.var("z", dtypes.int64)
        return stmts + [c.for_(i, c.i64(0), c.i64(B * M * N), [c.store(op, i, c.const(0, dt))])]
    if B == 1:
        stmts.append(_gemm_call(dt, ta, tb, M, N, K, _ptr_expr(lp), lda, _ptr_expr(rp), ldb,
                                _ptr_expr(op), N))
        return stmts
    bi = c.var("bi", dtypes.int64)
    call = _gemm_call(dt, ta, tb, M, N, K, _ptr_expr(lp, c.mul(bi, c.i64(M * K))), lda,
                      _ptr_expr(rp, c.mul(bi, c.i64(K * N))), ldb,
                      _ptr_expr(op, c.mul(bi, c.i64(M * N))), N)
    stmts.append(c.for_(bi, c.i64(0), c.i64(B), [call]))
    return stmts


def lower_conv(eqn, buffers, temps: Temps) -> list:
    """im2col + GEMM for feature_group_count == batch_group_count == 1."""
    p = eqn.params
    ls, rs, os_ = p["dimension_numbers"]
    lhs, rhs = eqn.inputs
    out = eqn.outputs[0]
    dt = out.aval.dtype
    X, W, O = lhs.aval.shape, rhs.aval.shape, out.aval.shape
    nsp = len(X) - 2
    N, C = X[ls[0]], X[ls[1]]
    OC = W[rs[0]]
    ksp = [W[d] for d in rs[2:]]
    osp = [O[d] for d in os_[2:]]
    isp = [X[d] for d in ls[2:]]
    strides, pads = p["window_strides"], p["padding"]
    ldil, rdil = p["lhs_dilation"], p["rhs_dilation"]
    rows = N * math.prod(osp)
    kk = math.prod(ksp)
    cols = C * kk
    stmts = []
    if rows == 0 or OC == 0:
        return stmts
    xs = strides_of(X)
    ws = strides_of(W)
    xp, wp, op = buffers[lhs.id], buffers[rhs.id], buffers[out.id]
    # Patches P[rows, cols]: row = (n, o...), col = (c, k...).
    P = temps.new((rows, cols), dt)
    pp = P.param_ref()
    n_v = c.var("n", dtypes.int64)
    ch = c.var("ch", dtypes.int64)
    ovars = [c.var(f"o{d}", dtypes.int64) for d in range(nsp)]
    kvars = [c.var(f"k{d}", dtypes.int64) for d in range(nsp)]
    row = n_v
    for d in range(nsp):
        row = c.add(c.mul(row, c.i64(osp[d])), ovars[d])
    # Column order (c, k...) suits channel-major inputs; (k..., c) channel-minor (NHWC),
    # so that the innermost loop reads and writes contiguously.
    channel_minor = ls[1] == len(X) - 1
    if channel_minor:
        col = kvars[0] if nsp else None
        for d in range(1, nsp):
            col = c.add(c.mul(col, c.i64(ksp[d])), kvars[d])
        col = ch if col is None else c.add(c.mul(col, c.i64(C)), ch)
    else:
        col = ch
        for d in range(nsp):
            col = c.add(c.mul(col, c.i64(ksp[d])), kvars[d])
    valid = None
    xoff = c.add(c.mul(n_v, c.i64(xs[ls[0]])), c.mul(ch, c.i64(xs[ls[1]])))
    for d in range(nsp):
        # position in the dilated, padded input
        pos = c.sub(c.add(c.mul(ovars[d], c.i64(strides[d])), c.mul(kvars[d], c.i64(rdil[d]))),
                    c.i64(pads[d][0]))
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
    body = [c.store(pp, c.add(c.mul(row, c.i64(cols)), col), val)]
    if channel_minor:
        inner_loops = [(ch, C)] + [(kvars[d], ksp[d]) for d in reversed(range(nsp))]
    else:
        inner_loops = [(kvars[d], ksp[d]) for d in reversed(range(nsp))] + [(ch, C)]
    loops = inner_loops + [(ovars[d], osp[d]) for d in reversed(range(nsp))] + [(n_v, N)]
    for i, (v, n) in enumerate(loops):
        last = i == len(loops) - 1
        body = [c.for_(v, c.i64(0), c.i64(n), body,
                       parallel=last and rows * cols >= PARALLEL_MIN and n > 1)]
    stmts += body
    # Packed weights Wm[cols, OC] with col = (c, k...).
    Wm = temps.new((cols, OC), dt)
    wmp = Wm.param_ref()
    oc = c.var("oc", dtypes.int64)
    woff = c.add(c.mul(oc, c.i64(ws[rs[0]])), c.mul(ch, c.i64(ws[rs[1]])))
    for d in range(nsp):
        woff = c.add(woff, c.mul(kvars[d], c.i64(ws[rs[2 + d]])))
    wbody = [c.store(wmp, c.add(c.mul(col, c.i64(OC)), oc), c.load(wp, woff))]
    for v, n in [(oc, OC)] + inner_loops:
        wbody = [c.for_(v, c.i64(0), c.i64(n), wbody)]
    stmts += wbody
    # GEMM into [rows, OC] = (n, o..., oc); permute to the output layout if needed.
    natural = [os_[0]] + list(os_[2:]) + [os_[1]]
    if natural == list(range(len(O))):
        target = op
    else:
        T = temps.new((rows, OC), dt)
        target = T.param_ref()
    stmts.append(_gemm_call(dt, NO_TRANS, NO_TRANS, rows, OC, cols, _ptr_expr(pp), cols,
                            _ptr_expr(wmp), OC, _ptr_expr(target), OC))
    if target is not op:
        nat_shape = [N] + osp + [OC]
        # out[perm] = nat: out dim os_[0]=n, os_[1]=oc, os_[2+d]=o_d
        perm = [0] * len(O)
        for k, dd in enumerate(natural):
            perm[dd] = k
        stmts += permute_copy(target, nat_shape, perm, op)
    return stmts

