"""Linear algebra primitives: `dot_general` and `conv_general_dilated`.

Both are bilinear: their JVPs apply them to one tangent at a time, and their transpose
rules are again dot products / convolutions (as in JAX's lax.py / convolution.py).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import core, dtypes
from ..ad import defjvp, is_undefined
from ..batching import bdim_at_front, moveaxis_to_front
from ..core import ShapedArray, bind
from .structural import reshape, rev, transpose

# --- dot_general -----------------------------------------------------------------------

dot_general_p = core.new_primitive("dot_general")


def _dot_general_shape(lhs, rhs, *, dimension_numbers, preferred_element_type=None):
    (lc, rc), (lb, rb) = dimension_numbers
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise TypeError(f"dot_general: dimension numbers {dimension_numbers} are unbalanced")
    for a, b in zip(lc, rc):
        if lhs.shape[a] != rhs.shape[b]:
            raise TypeError(f"dot_general: contracting dimensions differ: lhs {lhs.shape} axis "
                            f"{a} vs rhs {rhs.shape} axis {b}")
    for a, b in zip(lb, rb):
        if lhs.shape[a] != rhs.shape[b]:
            raise TypeError(f"dot_general: batch dimensions differ: lhs {lhs.shape} axis {a} "
                            f"vs rhs {rhs.shape} axis {b}")
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"dot_general: operand dtypes differ ({lhs.dtype}, {rhs.dtype})")
    lfree = [i for i in range(lhs.ndim) if i not in lc and i not in lb]
    rfree = [i for i in range(rhs.ndim) if i not in rc and i not in rb]
    shape = ([lhs.shape[i] for i in lb] + [lhs.shape[i] for i in lfree] +
             [rhs.shape[i] for i in rfree])
    dt = lhs.dtype if preferred_element_type is None else preferred_element_type
    return ShapedArray(shape, dt, lhs.weak_type and rhs.weak_type)


def _dot_general_np(lhs, rhs, *, dimension_numbers, preferred_element_type=None):
    (lc, rc), (lb, rb) = dimension_numbers
    lfree = [i for i in range(lhs.ndim) if i not in lc and i not in lb]
    rfree = [i for i in range(rhs.ndim) if i not in rc and i not in rb]
    lt = np.transpose(lhs, list(lb) + lfree + list(lc))
    rt = np.transpose(rhs, list(rb) + list(rc) + rfree)
    bshape = [lhs.shape[i] for i in lb]
    nb, nk = int(np.prod(bshape)), int(np.prod([lhs.shape[i] for i in lc]))
    nl = int(np.prod([lhs.shape[i] for i in lfree]))
    nr = int(np.prod([rhs.shape[i] for i in rfree]))
    acc = np.float64 if dtypes.is_float(lhs.dtype) and lhs.dtype != np.float64 else None
    a = lt.reshape(nb, nl, nk)
    b = rt.reshape(nb, nk, nr)
    if acc is not None:
        a, b = a.astype(acc), b.astype(acc)
    out = np.matmul(a, b)
    dt = lhs.dtype if preferred_element_type is None else preferred_element_type
    return out.reshape(bshape + [lhs.shape[i] for i in lfree] +
                       [rhs.shape[i] for i in rfree]).astype(dt)


def _ranges_like(*xs):
    start = 0
    for x in xs:
        yield list(range(start, start + len(x)))
        start += len(x)


def _remaining(n, *removed):
    rm = set().union(*map(set, removed))
    return [i for i in range(n) if i not in rm]


def _dot_transpose_lhs(ct, x_aval, y, *, dimension_numbers, preferred_element_type=None,
                       swap_ans=False):
    (xc, yc), (xb, yb) = dimension_numbers
    x_ndim = x_aval.ndim
    y_ndim = core.get_aval(y).ndim
    x_kept = _remaining(x_ndim, xc, xb)
    y_kept = _remaining(y_ndim, yc, yb)
    if swap_ans:
        ans_batch, ans_y, _ = _ranges_like(xb, y_kept, x_kept)
    else:
        ans_batch, _, ans_y = _ranges_like(xb, x_kept, y_kept)
    dims = ((tuple(ans_y), tuple(y_kept)), (tuple(ans_batch), tuple(yb)))
    xc_sorted_by_y = [xc[i] for i in np.argsort(yc)]
    out_axes = np.argsort(list(xb) + x_kept + xc_sorted_by_y)
    res = dot_general(ct, y, dims, preferred_element_type)
    res = transpose(res, tuple(int(a) for a in out_axes))
    if res.dtype != x_aval.dtype:
        from .elementwise import convert_element_type
        res = convert_element_type(res, x_aval.dtype)
    return res


def _dot_general_transpose(ct, lhs, rhs, *, dimension_numbers, preferred_element_type=None):
    (lc, rc), (lb, rb) = dimension_numbers
    if is_undefined(lhs):
        return [_dot_transpose_lhs(ct, lhs.aval, rhs, dimension_numbers=dimension_numbers,
                                   preferred_element_type=preferred_element_type), None]
    swapped = ((rc, lc), (rb, lb))
    return [None, _dot_transpose_lhs(ct, rhs.aval, lhs, dimension_numbers=swapped,
                                     preferred_element_type=preferred_element_type,
                                     swap_ans=True)]


def _dot_general_batch(size, vals, dims, *, dimension_numbers, preferred_element_type=None):
    lhs, rhs = vals
    dl, dr = dims
    (lc, rc), (lb, rb) = dimension_numbers
    shift = lambda ax: tuple(a + 1 for a in ax)  # noqa: E731
    if dl is not None and dr is not None:
        lhs, rhs = moveaxis_to_front(lhs, dl), moveaxis_to_front(rhs, dr)
        dn = ((shift(lc), shift(rc)), ((0,) + shift(lb), (0,) + shift(rb)))
        return dot_general(lhs, rhs, dn, preferred_element_type), 0
    if dl is not None:
        lhs = moveaxis_to_front(lhs, dl)
        dn = ((shift(lc), rc), (shift(lb), rb))
        return dot_general(lhs, rhs, dn, preferred_element_type), len(lb)
    rhs = moveaxis_to_front(rhs, dr)
    dn = ((lc, shift(rc)), (lb, shift(rb)))
    lfree = core.get_aval(lhs).ndim - len(lc) - len(lb)
    return dot_general(lhs, rhs, dn, preferred_element_type), len(lb) + lfree


core.shape_rules[dot_general_p] = _dot_general_shape
core.impl_rules[dot_general_p] = _dot_general_np
defjvp(dot_general_p,
       lambda g, x, y, **p: dot_general(g, y, p["dimension_numbers"],
                                        p.get("preferred_element_type")),
       lambda g, x, y, **p: dot_general(x, g, p["dimension_numbers"],
                                        p.get("preferred_element_type")))
core.transpose_rules[dot_general_p] = _dot_general_transpose
core.batch_rules[dot_general_p] = _dot_general_batch


def dot_general(lhs, rhs, dimension_numbers, preferred_element_type=None):
    lhs, rhs = core.to_array(lhs), core.to_array(rhs)
    (lc, rc), (lb, rb) = dimension_numbers
    dn = ((tuple(int(i) for i in lc), tuple(int(i) for i in rc)),
          (tuple(int(i) for i in lb), tuple(int(i) for i in rb)))
    pet = None if preferred_element_type is None else np.dtype(preferred_element_type)
    if pet is not None and pet == lhs.dtype:
        pet = None
    return bind(dot_general_p, lhs, rhs, dimension_numbers=dn, preferred_element_type=pet)


# --- conv_general_dilated --------------------------------------------------------------


class ConvDimensionNumbers(NamedTuple):
    """Axis orders: lhs (batch, feature, spatial...), rhs (out feature, in feature,
    spatial...), out (batch, feature, spatial...)."""
    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers) -> ConvDimensionNumbers:
    """Accepts None (NCHW/OIHW/NCHW), a ConvDimensionNumbers, or strings like
    ('NHWC', 'HWIO', 'NHWC') as in JAX."""
    nd = len(lhs_shape)
    if dimension_numbers is None:
        iota = tuple(range(nd))
        return ConvDimensionNumbers(iota, iota, iota)
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        return dimension_numbers
    lhs_s, rhs_s, out_s = dimension_numbers
    if not all(isinstance(s, str) for s in dimension_numbers):
        return ConvDimensionNumbers(*map(tuple, dimension_numbers))
    spatial = [c for c in rhs_s if c not in "IO"]
    lhs_spec = (lhs_s.index("N"), lhs_s.index("C")) + tuple(
        lhs_s.index(c) for c in sorted(set(lhs_s) - set("NC"), key=lambda c: rhs_s.index(c)
                                       if c in rhs_s else 0))
    rhs_spec = (rhs_s.index("O"), rhs_s.index("I")) + tuple(rhs_s.index(c) for c in spatial)
    out_spec = (out_s.index("N"), out_s.index("C")) + tuple(
        out_s.index(c) for c in sorted(set(out_s) - set("NC"), key=lambda c: rhs_s.index(c)
                                       if c in rhs_s else 0))
    if len(lhs_s) != nd or len(rhs_s) != len(rhs_shape):
        raise TypeError(f"conv: dimension_numbers {dimension_numbers} do not match operand "
                        f"ranks {lhs_shape}, {rhs_shape}")
    return ConvDimensionNumbers(lhs_spec, rhs_spec, out_spec)


def _dilate_shape(shape, dilation):
    return tuple(0 if s == 0 else 1 + d * (s - 1) for s, d in zip(shape, dilation))


def padtype_to_pads(in_shape, window_shape, window_strides, padding):
    """'SAME' / 'VALID' / explicit pairs -> explicit (lo, hi) pairs."""
    if isinstance(padding, str):
        mode = padding.upper()
        if mode == "VALID":
            return tuple((0, 0) for _ in in_shape)
        if mode in ("SAME", "SAME_LOWER"):
            out = [-(-s // st) for s, st in zip(in_shape, window_strides)]
            pads = [max((o - 1) * st + w - s, 0) for o, st, w, s in
                    zip(out, window_strides, window_shape, in_shape)]
            if mode == "SAME":
                return tuple((p // 2, p - p // 2) for p in pads)
            return tuple((p - p // 2, p // 2) for p in pads)
        raise ValueError(f"unknown padding {padding!r}: use 'SAME', 'VALID' or (lo, hi) pairs")
    return tuple((int(lo), int(hi)) for lo, hi in padding)


conv_general_dilated_p = core.new_primitive("conv_general_dilated")


def _conv_shape(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
                dimension_numbers, feature_group_count, batch_group_count):
    ls, rs, os_ = dimension_numbers
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"conv_general_dilated: dtypes differ ({lhs.dtype}, {rhs.dtype})")
    if lhs.ndim != rhs.ndim:
        raise TypeError(f"conv_general_dilated: lhs {lhs.shape} and rhs {rhs.shape} ranks differ")
    n, c = lhs.shape[ls[0]], lhs.shape[ls[1]]
    o, i = rhs.shape[rs[0]], rhs.shape[rs[1]]
    G, B = feature_group_count, batch_group_count
    if c != i * G:
        raise TypeError(f"conv_general_dilated: lhs feature dim {c} must equal rhs input feature "
                        f"dim {i} times feature_group_count {G} (lhs {lhs.shape}, rhs "
                        f"{rhs.shape})")
    if o % G or o % B or n % B:
        raise TypeError(f"conv_general_dilated: output features {o} / batch {n} not divisible "
                        f"by the group counts ({G}, {B})")
    in_sp = _dilate_shape([lhs.shape[d] for d in ls[2:]], lhs_dilation)
    k_sp = _dilate_shape([rhs.shape[d] for d in rs[2:]], rhs_dilation)
    out_sp = []
    for s, k, (lo, hi), st in zip(in_sp, k_sp, padding, window_strides):
        span = s + lo + hi - k
        out_sp.append(0 if span < 0 else span // st + 1)
    shape = [0] * lhs.ndim
    shape[os_[0]] = n // B
    shape[os_[1]] = o
    for d, s in zip(os_[2:], out_sp):
        shape[d] = s
    return ShapedArray(shape, lhs.dtype, False)


def _conv_np(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
             dimension_numbers, feature_group_count, batch_group_count):
    ls, rs, os_ = dimension_numbers
    x = np.transpose(lhs, ls).astype(np.float64)
    w = np.transpose(rhs, rs).astype(np.float64)
    nsp = x.ndim - 2
    if any(d > 1 for d in lhs_dilation):
        sp = _dilate_shape(x.shape[2:], lhs_dilation)
        xd = np.zeros(x.shape[:2] + sp)
        xd[(np.s_[:], np.s_[:]) + tuple(np.s_[::d] for d in lhs_dilation)] = x
        x = xd
    if any(d > 1 for d in rhs_dilation):
        sp = _dilate_shape(w.shape[2:], rhs_dilation)
        wd = np.zeros(w.shape[:2] + sp)
        wd[(np.s_[:], np.s_[:]) + tuple(np.s_[::d] for d in rhs_dilation)] = w
        w = wd
    pads = [(0, 0), (0, 0)] + [(max(lo, 0), max(hi, 0)) for lo, hi in padding]
    x = np.pad(x, pads)
    crop = (np.s_[:], np.s_[:]) + tuple(np.s_[max(-lo, 0):x.shape[2 + j] - max(-hi, 0)]
                                        for j, (lo, hi) in enumerate(padding))
    x = x[crop]
    G, B = feature_group_count, batch_group_count
    N, C = x.shape[:2]
    O = w.shape[0]
    ksp = w.shape[2:]
    out_sp = tuple(max(0, (s - k) // st + 1) if s >= k else 0
                   for s, k, st in zip(x.shape[2:], ksp, window_strides))
    if 0 in out_sp or N == 0 or O == 0:
        out = np.zeros((N // B, O) + out_sp)
    else:
        win = np.lib.stride_tricks.sliding_window_view(x, ksp, axis=tuple(range(2, 2 + nsp)))
        win = win[(np.s_[:], np.s_[:]) + tuple(np.s_[::st] for st in window_strides)]
        # win: (N, C, *out_sp, *ksp)
        if B > 1:
            winb = win.reshape((B, N // B) + win.shape[1:])
            wb = w.reshape((B, O // B) + w.shape[1:])
            sp_axes = "".join("xyzuvw"[:nsp])
            k_axes = "".join("klmnop"[:nsp])
            out = np.einsum(f"gnc{sp_axes}{k_axes},goc{k_axes}->gno{sp_axes}", winb, wb)
            out = np.moveaxis(out, 0, 1).reshape((N // B, O) + out_sp)
        else:
            wing = win.reshape((N, G, C // G) + win.shape[2:])
            wg = w.reshape((G, O // G) + w.shape[1:])
            sp_axes = "".join("xyzuvw"[:nsp])
            k_axes = "".join("klmnop"[:nsp])
            out = np.einsum(f"ngc{sp_axes}{k_axes},goc{k_axes}->ngo{sp_axes}", wing, wg)
            out = out.reshape((N, O) + out_sp)
    return np.transpose(out, np.argsort(os_)).astype(lhs.dtype)


def _conv_spec_transpose(spec):
    return (spec[1], spec[0]) + tuple(spec[2:])


def _reshape_axis_out_of(src, size1, x):
    shape = list(x.shape)
    size2 = shape[src] // size1
    shape[src:src + 1] = [size1, size2]
    return reshape(x, shape)


def _reshape_axis_into(src, dst, x):
    perm = [i for i in range(x.ndim) if i != src]
    perm.insert(dst, src)
    new_shape = list(np.delete(np.array(x.shape), src))
    new_shape[dst] *= x.shape[src]
    return reshape(x, new_shape, perm)


def _conv_vjp_lhs_padding(in_shape, window_dims, window_strides, out_shape, padding,
                          lhs_dilation, rhs_dilation):
    lhs_d = _dilate_shape(in_shape, lhs_dilation)
    rhs_d = _dilate_shape(window_dims, rhs_dilation)
    out_d = _dilate_shape(out_shape, window_strides)
    before = [r - lo - 1 for r, (lo, _) in zip(rhs_d, padding)]
    after = [ld + r - 1 - od - b for ld, r, od, b in zip(lhs_d, rhs_d, out_d, before)]
    return tuple(zip(before, after))


def _conv_vjp_rhs_padding(in_shape, window_dims, window_strides, out_shape, padding,
                          lhs_dilation, rhs_dilation):
    if not in_shape:
        return ()
    lhs_d = _dilate_shape(in_shape, lhs_dilation)
    rhs_d = _dilate_shape(window_dims, rhs_dilation)
    out_d = _dilate_shape(out_shape, window_strides)
    los = [lo for lo, _ in padding]
    from_lhs = [o - ld for o, ld in zip(out_d, lhs_d)]
    from_rhs = [r - lo - 1 for r, lo in zip(rhs_d, los)]
    return tuple((lo, a + b) for lo, a, b in zip(los, from_lhs, from_rhs))


def _conv_transpose_lhs(g, lhs_aval, rhs, *, window_strides, padding, lhs_dilation,
                        rhs_dilation, dimension_numbers, feature_group_count,
                        batch_group_count):
    ls, rs, os_ = dimension_numbers
    G, B = feature_group_count, batch_group_count
    t_rs = _conv_spec_transpose(rs)
    if G > 1:
        rhs = _reshape_axis_out_of(rs[0], G, rhs)
        rhs = _reshape_axis_into(rs[0], rs[1], rhs)
    elif B > 1:
        rhs = _reshape_axis_out_of(rs[0], B, rhs)
        rhs = _reshape_axis_into(rs[0], rs[1], rhs)
        G = B
    trans_dn = ConvDimensionNumbers(os_, t_rs, ls)
    rhs_shape = core.get_aval(rhs).shape
    pads = _conv_vjp_lhs_padding(
        [lhs_aval.shape[d] for d in ls[2:]], [rhs_shape[d] for d in rs[2:]], window_strides,
        [g.shape[d] for d in os_[2:]], padding, lhs_dilation, rhs_dilation)
    out = conv_general_dilated(g, rev(rhs, tuple(rs[2:])), lhs_dilation, pads, window_strides,
                               rhs_dilation, trans_dn, G, 1)
    if B > 1:
        out = _reshape_axis_out_of(ls[1], B, out)
        out = _reshape_axis_into(ls[1], ls[0], out)
    return out


def _conv_transpose_rhs(g, lhs, rhs_aval, *, window_strides, padding, lhs_dilation,
                        rhs_dilation, dimension_numbers, feature_group_count,
                        batch_group_count):
    ls, rs, os_ = dimension_numbers
    G, B = feature_group_count, batch_group_count
    lhs_t, rhs_t, out_t = map(_conv_spec_transpose, dimension_numbers)
    if B > 1:
        G, B = B, 1
    elif G > 1:
        G, B = 1, G
    trans_dn = ConvDimensionNumbers(lhs_t, out_t, rhs_t)
    lhs_shape = core.get_aval(lhs).shape
    pads = _conv_vjp_rhs_padding(
        [lhs_shape[d] for d in ls[2:]], [rhs_aval.shape[d] for d in rs[2:]], window_strides,
        [g.shape[d] for d in os_[2:]], padding, lhs_dilation, rhs_dilation)
    return conv_general_dilated(lhs, g, rhs_dilation, pads, lhs_dilation, window_strides,
                                trans_dn, G, B)


def _conv_transpose(ct, lhs, rhs, **params):
    if is_undefined(lhs):
        return [_conv_transpose_lhs(ct, lhs.aval, rhs, **params), None]
    return [None, _conv_transpose_rhs(ct, lhs, rhs.aval, **params)]


def _conv_batch(size, vals, dims, *, window_strides, padding, lhs_dilation, rhs_dilation,
                dimension_numbers, feature_group_count, batch_group_count):
    lhs, rhs = vals
    dl, dr = dims
    ls, rs, os_ = dimension_numbers
    G, B = feature_group_count, batch_group_count
    params = dict(window_strides=window_strides, padding=padding, lhs_dilation=lhs_dilation,
                  rhs_dilation=rhs_dilation, dimension_numbers=dimension_numbers)
    if dl is not None and dr is None and B == 1:
        # Fold the vmap axis into the conv batch axis.
        new_lhs = _reshape_axis_into(dl, ls[0], lhs)
        out = conv_general_dilated_p.bind(new_lhs, rhs, feature_group_count=G,
                                          batch_group_count=1, **params)
        return _reshape_axis_out_of(os_[0], size, out), os_[0]
    if dl is None and dr is not None and G == 1 and B == 1:
        # Fold the vmap axis into the output features.
        new_rhs = _reshape_axis_into(dr, rs[0], rhs)
        out = conv_general_dilated_p.bind(lhs, new_rhs, feature_group_count=1,
                                          batch_group_count=1, **params)
        return _reshape_axis_out_of(os_[1], size, out), os_[1]
    if dl is not None and dr is not None and G == 1 and B == 1:
        # Fold the vmap axis into the features: a grouped conv with one group per example.
        new_lhs = _reshape_axis_into(dl, ls[1], lhs)
        new_rhs = _reshape_axis_into(dr, rs[0], rhs)
        out = conv_general_dilated_p.bind(new_lhs, new_rhs, feature_group_count=size,
                                          batch_group_count=1, **params)
        return _reshape_axis_out_of(os_[1], size, out), os_[1]
    # Grouped convolutions with both operands batched: one convolution per example.
    lhs = bdim_at_front(lhs, dl, size)
    rhs = bdim_at_front(rhs, dr, size)
    from .indexing import concatenate
    from .structural import expand_dims
    outs = [conv_general_dilated_p.bind(_index0(lhs, b), _index0(rhs, b), feature_group_count=G,
                                        batch_group_count=B, **params) for b in range(size)]
    return concatenate([expand_dims(o, (0,)) for o in outs], 0), 0


def _index0(x, b):
    from .indexing import slice_in_dim
    from .structural import squeeze
    return squeeze(slice_in_dim(x, b, b + 1, 1, 0), (0,))


core.shape_rules[conv_general_dilated_p] = _conv_shape
core.impl_rules[conv_general_dilated_p] = _conv_np
defjvp(conv_general_dilated_p,
       lambda g, lhs, rhs, **p: conv_general_dilated_p.bind(g, rhs, **p),
       lambda g, lhs, rhs, **p: conv_general_dilated_p.bind(lhs, g, **p))
core.transpose_rules[conv_general_dilated_p] = _conv_transpose
core.batch_rules[conv_general_dilated_p] = _conv_batch


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None,
                         rhs_dilation=None, dimension_numbers=None, feature_group_count=1,
                         batch_group_count=1, precision=None, preferred_element_type=None):
    """General N-d convolution (JAX's `lax.conv_general_dilated`)."""
    lhs, rhs = core.to_array(lhs), core.to_array(rhs)
    dn = conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    nsp = lhs.ndim - 2
    lhs_dilation = (1,) * nsp if lhs_dilation is None else tuple(int(d) for d in lhs_dilation)
    rhs_dilation = (1,) * nsp if rhs_dilation is None else tuple(int(d) for d in rhs_dilation)
    window_strides = tuple(int(s) for s in window_strides)
    if isinstance(padding, str):
        if any(d != 1 for d in lhs_dilation) and padding.upper() != "VALID":
            raise ValueError("conv_general_dilated: string padding with lhs_dilation is not "
                             "supported; give explicit (lo, hi) pairs")
        in_sp = [lhs.shape[d] for d in dn.lhs_spec[2:]]
        k_sp = _dilate_shape([rhs.shape[d] for d in dn.rhs_spec[2:]], rhs_dilation)
        padding = padtype_to_pads(in_sp, k_sp, window_strides, padding)
    else:
        padding = tuple((int(lo), int(hi)) for lo, hi in padding)
    return bind(conv_general_dilated_p, lhs, rhs, window_strides=window_strides,
                padding=padding, lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
                dimension_numbers=dn, feature_group_count=int(feature_group_count),
                batch_group_count=int(batch_group_count))


def conv(lhs, rhs, window_strides, padding):
    """NCHW / OIHW convolution (JAX's `lax.conv`)."""
    return conv_general_dilated(lhs, rhs, window_strides, padding)


def conv_transpose_padding(k, s, padding):
    """Explicit padding of a transposed convolution (JAX's `_conv_transpose_padding`)."""
    if padding == "SAME":
        pad_len = k + s - 2
        if s > k - 1:
            pad_a = k - 1
        else:
            pad_a = int(np.ceil(pad_len / 2))
    elif padding == "VALID":
        pad_len = k + s - 2 + max(k - s, 0)
        pad_a = k - 1
    else:
        raise ValueError("padding mode must be 'SAME' or 'VALID'")
    return pad_a, pad_len - pad_a


def conv_transpose(lhs, rhs, strides, padding, rhs_dilation=None, dimension_numbers=None,
                   transpose_kernel=False):
    """Transposed convolution (JAX's `lax.conv_transpose`): the gradient of a strided conv."""
    lhs, rhs = core.to_array(lhs), core.to_array(rhs)
    dn = conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    k_sdims = [rhs.shape[d] for d in dn.rhs_spec[2:]]
    nsp = len(k_sdims)
    rhs_dilation = (1,) * nsp if rhs_dilation is None else tuple(rhs_dilation)
    eff_k = _dilate_shape(k_sdims, rhs_dilation)
    if isinstance(padding, str):
        pads = [conv_transpose_padding(k, s, padding) for k, s in zip(eff_k, strides)]
    else:
        pads = padding
    if transpose_kernel:
        rhs = rev(rhs, tuple(dn.rhs_spec[2:]))
        perm = list(range(rhs.ndim))
        perm[dn.rhs_spec[0]], perm[dn.rhs_spec[1]] = perm[dn.rhs_spec[1]], perm[dn.rhs_spec[0]]
        rhs = transpose(rhs, perm)
    return conv_general_dilated(lhs, rhs, (1,) * nsp, pads, strides, rhs_dilation, dn)
