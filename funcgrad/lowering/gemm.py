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


# ---------------------------------------------------------------------------------------
# Convolutions: a direct kernel (implicit GEMM, register-blocked)
#
# out[g, m, f] = sum_k xp[g, m, k] * w[g, k, f]: m runs over the output positions (batch and
# spatial), f over the output features of a group, k over the input features and window
# taps. With the input padded (and dilated) into a scratch copy when it needs to be, every
# operand address is affine in the loop indices, so the kernel reads the operands in place:
# no im2col matrix. A tile of MR output positions x NR features (NR = two SIMD registers)
# accumulates in registers over all k: per k step it loads NR filter values (contiguous)
# and MR input values (broadcast), then does MR*NR fused multiply-adds. The accumulators are
# scalars updated with fmaf(), which gcc's SLP vectoriser packs into registers; unlike
# `acc += x*w` (a reduction the loop vectoriser would try to vectorise over k with
# in-order shuffles), fmaf() is not a reduction it recognises. When the k loop's operands
# do not fit in cache (the filter gradient: k runs over the whole batch), k is split into
# blocks and each block sweeps all tiles, accumulating into the output.

CONV_MR = 6                  # output positions per tile (MR*2 accumulator registers)
_CONV_BLOCK_BYTES = 1 << 18  # operand bytes one k block may stream per tile


def _simd_width(dtype) -> int:
    """Elements per SIMD register of the code built with -march=native."""
    from .eager import cpu_level
    bits = {"v4": 512, "v3": 256}.get(cpu_level(), 128)
    return max(1, bits // (8 * np.dtype(dtype).itemsize))


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


def _pad_copy(xptr, X, ls, span, pads, ldil, dst, dt):
    """dst (X's axis order, spatial extents `span`) = x padded with zeros and dilated."""
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
        lo, ld, n = pads[d][0], ldil[d], X[a]
        q = c.sub(ivars[a], c.i64(lo)) if lo else ivars[a]
        conds = [c.ge(q, c.i64(0))] if lo > 0 else []
        qd = q
        if ld != 1:
            conds.append(c.eq(c.mod(q, c.i64(ld)), c.i64(0)))
            qd = c.div(q, c.i64(ld))
        if lo > 0 or ld != 1 or span[d] - lo > n:
            conds.append(c.lt(qd, c.i64(n)))
        for cond in conds:
            valid = cond if valid is None else c.land(valid, cond)
        src.append((c.call("clamp_i64", [qd, c.i64(0), c.i64(max(n - 1, 0))], dtypes.int64)
                    if conds else qd, xs[a]))
    v = c.load(xptr, _lin(src))
    if valid is not None:
        v = c.select(valid, v, c.const(0, dt))
    body = [c.store(dst, _lin(zip(ivars, strides_of(shape))), v)]
    return shape, _loop_nest(ivars, shape, body, math.prod(shape), simd_inner=True)


def lower_conv(eqn, buffers, temps: Temps) -> list:
    """conv_general_dilated (any layout, padding, dilation, feature or batch groups) as a
    direct register-blocked kernel; see the section comment above."""
    import cdsl
    p = eqn.params
    ls, rs, os_ = p["dimension_numbers"]
    lhs, rhs = eqn.inputs
    out = eqn.outputs[0]
    dt = out.aval.dtype
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
    wstr, pads = p["window_strides"], p["padding"]
    ldil, rdil = p["lhs_dilation"], p["rhs_dilation"]
    stmts = []
    # The input as the kernel reads it: positions o*stride + k*rhs_dilation, all in range.
    span = [(o - 1) * s + (k - 1) * r + 1 for o, k, s, r in zip(osp, ksp, wstr, rdil)]
    if all(ld == 1 and lo <= 0 and n - lo <= i
           for ld, (lo, _), n, i in zip(ldil, pads, span, isp)):
        xsrc, xst = xptr, strides_of(X)
        xbase = sum(-lo * xst[ls[2 + d]] for d, (lo, _) in enumerate(pads))
    else:
        shape = list(X)
        for d, n in enumerate(span):
            shape[ls[2 + d]] = n
        t = temps.new(shape, dt)
        _, copy = _pad_copy(xptr, X, ls, span, pads, ldil, t.param_ref(), dt)
        stmts += copy
        xsrc, xst, xbase = t.param_ref(), strides_of(shape), 0
    wst, ost = strides_of(Wsh), strides_of(O)
    # Loop axes as (extent, stride in x, stride in w or out).
    m_axes = [(O[os_[0]], xst[ls[0]], ost[os_[0]])] + [
        (osp[d], wstr[d] * xst[ls[2 + d]], ost[os_[2 + d]]) for d in range(nsp)]
    k_axes = [(Cg, xst[ls[1]], wst[rs[1]])] + [
        (ksp[d], rdil[d] * xst[ls[2 + d]], wst[rs[2 + d]]) for d in range(nsp)]
    if p["feature_group_count"] > 1:
        gx = Cg * xst[ls[1]]
    elif p["batch_group_count"] > 1:
        gx = O[os_[0]] * xst[ls[0]]
    else:
        gx = 0
    m_order = sorted(range(len(m_axes)), key=lambda i: -m_axes[i][2])
    m_axes = [m_axes[i] for i in m_order]
    k_axes = sorted([a for a in k_axes if a[0] != 1], key=lambda a: -a[1]) or [k_axes[0]]
    # The filter with its features contiguous (packed when they are not).
    fst = wst[rs[0]]
    if fst == 1:
        wsrc, gw = wptr, Fg
    else:
        kext = [a[0] for a in k_axes]
        pshape = [groups] + kext + [Fg]
        t = temps.new(pshape, dt)
        pv = [c.var(f"wp{d}", dtypes.int64) for d in range(len(pshape))]
        src = _lin([(pv[0], Fg * fst)] + [(pv[1 + j], a[2]) for j, a in enumerate(k_axes)] +
                   [(pv[-1], fst)])
        stmts += _loop_nest(pv, pshape, [c.store(t.param_ref(), _lin(zip(pv, strides_of(
            pshape))), c.load(wptr, src))], math.prod(pshape))
        pst = strides_of(pshape)
        k_axes = [(a[0], a[1], pst[1 + j]) for j, a in enumerate(k_axes)]
        wsrc, gw = t.param_ref(), pst[0]
    # The output with its features contiguous (a scratch buffer, permuted after, if not).
    if ost[os_[1]] == 1:
        dst, go = optr, Fg
        permute = None
    else:
        m_dims = [os_[0]] + list(os_[2:])
        nat = [m_dims[i] for i in m_order] + [os_[1]]
        nat_shape = [O[d] for d in nat]
        t = temps.new(nat_shape, dt)
        tst = strides_of(nat_shape)
        m_axes = [(a[0], a[1], tst[j]) for j, a in enumerate(m_axes)]
        dst, go = t.param_ref(), Fg
        permute = (t.param_ref(), nat_shape, [nat.index(k) for k in range(len(O))])
    m_axes = [a for a in m_axes if a[0] != 1] or m_axes[:1]
    stmts += _conv_tiles(dt, groups, m_axes, k_axes, Fg, xsrc, xbase, gx, wsrc, gw, dst, go)
    if permute is not None:
        stmts += permute_copy(permute[0], permute[1], permute[2], optr)
    return [cdsl.Block(tuple(stmts))]


def _conv_tiles(dt, groups, m_axes, k_axes, Fg, xsrc, xbase, gx, wsrc, gw, dst, go):
    """The tile loops: groups, k blocks, (parallel) tiles of MR positions, feature tiles."""
    import cdsl
    vw = _simd_width(dt)
    nr_main = 2 * vw
    mr = CONV_MR
    M = math.prod(a[0] for a in m_axes)
    K = math.prod(a[0] for a in k_axes)
    gi = c.var("cg", dtypes.int64) if groups > 1 else None
    m0 = c.var("cm", dtypes.int64)
    # k blocks over the outermost k axis when one tile's k sweep would not stay in cache.
    itemsize = np.dtype(dt).itemsize
    per_k = (mr + nr_main) * itemsize
    n_tiles = -(-M // mr) * -(-Fg // nr_main)
    kb = None
    k0n = k_axes[0][0]
    block = k0n
    if K * per_k > _CONV_BLOCK_BYTES and n_tiles > 1 and k0n > 1:
        # A block of the outermost k axis touches about (its x stride + its w stride)
        # elements per index; all tiles then sweep it while it stays in L2.
        per_index = (abs(k_axes[0][1]) + abs(k_axes[0][2])) * itemsize
        block = max(1, _CONV_BLOCK_BYTES // max(per_index, 1))
        if block < k0n:
            kb = c.var("ckb", dtypes.int64)
    kvars = [c.var(f"ck{j}", dtypes.int64) for j in range(len(k_axes))]

    def tile(nr, f0):
        body = []
        xo, oo = [], []
        for r in range(mr):
            q = m0 if r == 0 else c.select(c.lt(c.add(m0, c.i64(r)), c.i64(M)),
                                           c.add(m0, c.i64(r)), c.i64(M - 1))
            qv = c.var(f"cq{r}", dtypes.int64)
            body.append(c.decl(qv, q))
            idx = []
            inner = M
            for j, (n, _, _) in enumerate(m_axes):
                inner = inner // n if n else 0
                e = c.div(qv, c.i64(inner)) if not (isinstance(inner, int) and inner == 1) \
                    else qv
                if j > 0:
                    e = c.mod(e, c.i64(n))
                idx.append(e)
            xv, ov = c.var(f"cx{r}", dtypes.int64), c.var(f"co{r}", dtypes.int64)
            xterms = [(e, a[1]) for e, a in zip(idx, m_axes)]
            oterms = [(e, a[2]) for e, a in zip(idx, m_axes)]
            if gi is not None:
                xterms.append((gi, gx))
                oterms.append((gi, go))
            body.append(c.decl(xv, _lin(xterms, xbase)))
            body.append(c.decl(ov, c.add(_lin(oterms), f0)))
            xo.append(xv)
            oo.append(ov)
        acc = [[c.var(f"ca{r}_{v}", dt) for v in range(nr)] for r in range(mr)]
        for r in range(mr):
            for v in range(nr):
                init = c.const(0, dt)
                if kb is not None:
                    init = c.select(c.eq(kb, c.i64(0)), init,
                                    c.load(dst, c.add(oo[r], c.i64(v))))
                body.append(c.decl(acc[r][v], init))
        wb = c.var("cwb", dtypes.int64)
        body.append(c.decl(wb, c.mul(gi, c.i64(gw)) if gi is not None else c.i64(0)))
        kx = _lin([(kv, a[1]) for kv, a in zip(kvars, k_axes)])
        kw = c.add(c.add(wb, f0), _lin([(kv, a[2]) for kv, a in zip(kvars, k_axes)]))
        inner_body = []
        bv = [c.var(f"cb{v}", dt) for v in range(nr)]
        kwv = c.var("ckw", dtypes.int64)
        kxv = c.var("ckx", dtypes.int64)
        inner_body.append(c.decl(kwv, kw))
        inner_body.append(c.decl(kxv, kx))
        for v in range(nr):
            inner_body.append(c.decl(bv[v], c.load(wsrc, c.add(kwv, c.i64(v)) if v else kwv)))
        for r in range(mr):
            xr = c.var(f"cv{r}", dt)
            inner_body.append(c.decl(xr, c.load(xsrc, c.add(xo[r], kxv))))
            for v in range(nr):
                inner_body.append(c.assign(acc[r][v], _fma(dt, xr, bv[v], acc[r][v])))
        loops = inner_body
        for j in reversed(range(len(k_axes))):
            lo, hi = c.i64(0), c.i64(k_axes[j][0])
            if j == 0 and kb is not None:
                # (a bound in a variable: the loop condition is rendered unparenthesised)
                lo, hi = kb, c.var("ckend", dtypes.int64)
                end = c.add(kb, c.i64(block))
                body.append(c.decl(hi, c.select(c.lt(end, c.i64(k0n)), end, c.i64(k0n))))
            loops = [c.for_(kvars[j], lo, hi, loops)]
        body += loops
        for r in range(mr):
            st = [c.store(dst, c.add(oo[r], c.i64(v)) if v else oo[r], acc[r][v])
                  for v in range(nr)]
            if r == 0:
                body += st
            else:
                body.append(cdsl.If(c.lt(c.add(m0, c.i64(r)), c.i64(M)), tuple(st)))
        return body

    f_main = Fg - Fg % nr_main
    tile_body = []
    if f_main:
        f0 = c.var("cf", dtypes.int64)
        tile_body.append(cdsl.For(f0, c.i64(0), c.i64(f_main), tuple(tile(nr_main, f0)),
                                  step=nr_main))
    if Fg % nr_main:
        tile_body.append(cdsl.Block(tuple(tile(Fg % nr_main, c.i64(f_main)))))
    work = M * Fg * K * groups
    nest = [cdsl.For(m0, c.i64(0), c.i64(M), tuple(tile_body), step=mr,
                     parallel=work >= PARALLEL_MIN and M > mr, parallel_min=2)]
    if kb is not None:
        nest = [cdsl.For(kb, c.i64(0), c.i64(k0n), tuple(nest), step=block)]
    if gi is not None:
        nest = [c.for_(gi, c.i64(0), c.i64(groups), nest)]
    return nest
