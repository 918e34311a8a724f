"""Linear algebra primitives: `dot_general` and `conv_general_dilated`, and the
factorisations on LAPACK: `cholesky`, `triangular_solve`, `lu`, `qr`, `eigh`, `svd`, and
the general (non-symmetric) eigendecomposition `eig`.

The first two are bilinear: their JVPs apply them to one tangent at a time, and their
transpose rules are again dot products / convolutions (as in JAX's lax.py /
convolution.py). `triangular_solve` is linear in its right-hand side; the factorisations
have JVP rules only (reverse mode transposes them).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .. import core, dtypes
from ..ad import defjvp, defjvp2, is_undefined, zeros_like
from ..batching import bdim_at_front, moveaxis_to_front
from ..core import ShapedArray, bind
from .elementwise import abs as abs_
from .elementwise import (add, conj, convert_element_type, div, eq, ge, imag, le, mul, neg,
                          real, select, sub)
from .elementwise import complex as complex_
from . import lapack
from .indexing import concatenate, pad
from .indexing import slice as slice_
from .reductions import argmax, reduce_sum
from .structural import broadcast_in_dim, broadcast_to, full, iota, reshape, rev, transpose

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


def _accumulation_dtype(in_dtype, out_dtype):
    """The dtype the reference sums products in: float32 for bfloat16/float16 operands (the
    products are exact in it; XLA's CPU backend does the same) unless float64 is asked
    for, float64 for float32 (the oracle's margin), None (the operands') otherwise."""
    if not dtypes.is_float(in_dtype) or in_dtype == np.float64:
        return None
    if in_dtype.itemsize == 2 and out_dtype != np.float64:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _dot_general_np(lhs, rhs, *, dimension_numbers, preferred_element_type=None):
    (lc, rc), (lb, rb) = dimension_numbers
    lfree = [i for i in range(lhs.ndim) if i not in lc and i not in lb]
    rfree = [i for i in range(rhs.ndim) if i not in rc and i not in rb]
    dt = lhs.dtype if preferred_element_type is None else preferred_element_type
    lt = np.transpose(lhs, list(lb) + lfree + list(lc))
    rt = np.transpose(rhs, list(rb) + list(rc) + rfree)
    bshape = [lhs.shape[i] for i in lb]
    nb, nk = math.prod(bshape), math.prod([lhs.shape[i] for i in lc])
    nl = math.prod([lhs.shape[i] for i in lfree])
    nr = math.prod([rhs.shape[i] for i in rfree])
    a = lt.reshape(nb, nl, nk)
    b = rt.reshape(nb, nk, nr)
    acc = _accumulation_dtype(lhs.dtype, dt)
    if acc is not None:
        a, b = a.astype(acc), b.astype(acc)
    out = np.matmul(a, b)
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
    ct, y = _common_dtype(ct, y)
    res = dot_general(ct, y, dims)
    res = transpose(res, tuple(int(a) for a in out_axes))
    if res.dtype != x_aval.dtype:
        # With preferred_element_type (bfloat16 operands, float32 result) the cotangent is
        # float32: the operand's cotangent is computed in it and rounded once to bfloat16.
        res = convert_element_type(res, x_aval.dtype)
    return res


def _common_dtype(ct, y):
    """`ct` and `y` in one dtype, the wider (a float32 cotangent of a product of
    bfloat16 operands meets a bfloat16 operand; widening loses nothing)."""
    ct_dt, y_dt = core.get_aval(ct).dtype, core.get_aval(y).dtype
    if ct_dt == y_dt:
        return ct, y
    common = dtypes.promote_strong(ct_dt, y_dt)
    return convert_element_type(ct, common), convert_element_type(y, common)


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
    shift = lambda ax: tuple(a + 1 for a in ax)
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
    pet = _preferred("dot_general", lhs.dtype, preferred_element_type)
    if pet is not None and not (dtypes.is_float(lhs.dtype) or dtypes.is_complex(lhs.dtype)):
        # integer (or boolean) operands with a wider result type: JAX multiplies and sums
        # in that type (int8 [1, 2] . [100, 100] with int32 is 300, not int8's 44)
        lhs, rhs = convert_element_type(lhs, pet), convert_element_type(rhs, pet)
        pet = None
    if (lhs.ndim == 0 or rhs.ndim == 0) and not any(dn[0] + dn[1]):
        # A product with a scalar (the transpose of a 1-D dot with a scalar cotangent, the
        # seed of `grad` a literal under jit): an elementwise product, whose result is the
        # other operand's shape, as dot_general's would be.
        if pet is not None:
            lhs, rhs = convert_element_type(lhs, pet), convert_element_type(rhs, pet)
        elif lhs.dtype != rhs.dtype:
            common = dtypes.promote_strong(lhs.dtype, rhs.dtype)
            lhs, rhs = convert_element_type(lhs, common), convert_element_type(rhs, common)
        return mul(lhs, rhs)
    return bind(dot_general_p, lhs, rhs, dimension_numbers=dn, preferred_element_type=pet)


def _preferred(name, in_dtype, preferred_element_type):
    """`preferred_element_type` checked against the operands' dtype; None when it is
    theirs."""
    if preferred_element_type is None:
        return None
    pet = dtypes.canonicalize(preferred_element_type, explicit=False)
    if pet == in_dtype:
        return None
    if dtypes.is_float(in_dtype) and not (dtypes.is_float(pet) or dtypes.is_complex(pet)):
        raise TypeError(f"{name}: preferred_element_type {pet} is not a floating type but the "
                        f"operands are {in_dtype}; the result of floating operands accumulates "
                        "in a floating type (pass e.g. preferred_element_type=float32)")
    return pet


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
        raise core.ValueOrRuntimeError(f"unknown padding {padding!r}: use 'SAME', 'VALID' or "
                                       f"(lo, hi) pairs")
    return tuple((int(lo), int(hi)) for lo, hi in padding)


conv_general_dilated_p = core.new_primitive("conv_general_dilated")


def _conv_shape(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
                dimension_numbers, feature_group_count, batch_group_count,
                preferred_element_type=None):
    ls, rs, os_ = dimension_numbers
    if lhs.dtype != rhs.dtype:
        raise TypeError(f"conv_general_dilated: dtypes differ ({lhs.dtype}, {rhs.dtype})")
    if lhs.ndim != rhs.ndim:
        raise TypeError(f"conv_general_dilated: lhs {lhs.shape} and rhs {rhs.shape} ranks differ")
    n, c = lhs.shape[ls[0]], lhs.shape[ls[1]]
    o, i = rhs.shape[rs[0]], rhs.shape[rs[1]]
    G, B = feature_group_count, batch_group_count
    if c != i * G:
        raise core.TypeOrValueError(                            # (JAX: ValueError)
            f"conv_general_dilated: lhs feature dim {c} must equal rhs input feature "
            f"dim {i} times feature_group_count {G} (lhs {lhs.shape}, rhs {rhs.shape})")
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
    dt = lhs.dtype if preferred_element_type is None else preferred_element_type
    # (weakly typed when both operands are and no result type is asked for, as JAX's)
    return ShapedArray(shape, dt, lhs.weak_type and rhs.weak_type and
                       preferred_element_type is None)


def _conv_np(lhs, rhs, *, window_strides, padding, lhs_dilation, rhs_dilation,
             dimension_numbers, feature_group_count, batch_group_count,
             preferred_element_type=None):
    ls, rs, os_ = dimension_numbers
    dt = lhs.dtype if preferred_element_type is None else preferred_element_type
    acc = _accumulation_dtype(lhs.dtype, dt) or np.result_type(lhs.dtype, np.float64)
    x = np.transpose(lhs, ls).astype(acc)
    w = np.transpose(rhs, rs).astype(acc)
    nsp = x.ndim - 2
    if any(d > 1 for d in lhs_dilation):
        sp = _dilate_shape(x.shape[2:], lhs_dilation)
        xd = np.zeros(x.shape[:2] + sp, acc)
        xd[(np.s_[:], np.s_[:]) + tuple(np.s_[::d] for d in lhs_dilation)] = x
        x = xd
    pads = [(0, 0), (0, 0)] + [(max(lo, 0), max(hi, 0)) for lo, hi in padding]
    x = np.pad(x, pads)
    crop = (np.s_[:], np.s_[:]) + tuple(np.s_[max(-lo, 0):x.shape[2 + j] - max(-hi, 0)]
                                        for j, (lo, hi) in enumerate(padding))
    x = x[crop]
    G, B = feature_group_count, batch_group_count
    N, C = x.shape[:2]
    O = w.shape[0]
    # The kernel's dilation picks every d-th element of a wider window: inserting zeros
    # into the kernel instead multiplied an inf input between the taps by 0 (NaN).
    # (an empty kernel axis spans nothing: a filter gradient whose cotangent is empty,
    # VALID with a window wider than the input, gave a negative window, and NumPy raised)
    ksp = tuple((k - 1) * d + 1 if k else 0 for k, d in zip(w.shape[2:], rhs_dilation))
    out_sp = tuple(max(0, (s - k) // st + 1) if s >= k else 0
                   for s, k, st in zip(x.shape[2:], ksp, window_strides))
    if 0 in out_sp or 0 in ksp or N == 0 or O == 0:
        out = np.zeros((N // B, O) + out_sp, acc)
    else:
        win = np.lib.stride_tricks.sliding_window_view(x, ksp, axis=tuple(range(2, 2 + nsp)))
        win = win[(np.s_[:], np.s_[:]) + tuple(np.s_[::st] for st in window_strides)
                  + tuple(np.s_[::d] for d in rhs_dilation)]
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
    return np.transpose(out, np.argsort(os_)).astype(dt)


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


def _conv_transpose(ct, lhs, rhs, *, preferred_element_type=None, **params):
    # As for dot_general: a cotangent wider than the operands (preferred_element_type)
    # meets the other operand in the wider dtype and the result is rounded once.
    if is_undefined(lhs):
        ct, rhs = _common_dtype(ct, rhs)
        res = _conv_transpose_lhs(ct, lhs.aval, rhs, **params)
        return [_as_dtype(res, lhs.aval.dtype), None]
    ct, lhs = _common_dtype(ct, lhs)
    res = _conv_transpose_rhs(ct, lhs, rhs.aval, **params)
    return [None, _as_dtype(res, rhs.aval.dtype)]


def _as_dtype(x, dtype):
    return x if x.dtype == dtype else convert_element_type(x, dtype)


def _conv_batch(size, vals, dims, *, window_strides, padding, lhs_dilation, rhs_dilation,
                dimension_numbers, feature_group_count, batch_group_count,
                preferred_element_type=None):
    lhs, rhs = vals
    dl, dr = dims
    ls, rs, os_ = dimension_numbers
    G, B = feature_group_count, batch_group_count
    params = {"window_strides": window_strides, "padding": padding,
              "lhs_dilation": lhs_dilation, "rhs_dilation": rhs_dilation,
              "dimension_numbers": dimension_numbers}
    if preferred_element_type is not None:
        params["preferred_element_type"] = preferred_element_type
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
    """General N-d convolution (JAX's `lax.conv_general_dilated`). `preferred_element_type`
    is the result's dtype and the accumulation's: bfloat16/float16 operands always
    accumulate in float32 and, without it, round the result once to their dtype."""
    lhs, rhs = core.to_array(lhs), core.to_array(rhs)
    pet = _preferred("conv_general_dilated", lhs.dtype, preferred_element_type)
    if pet is not None and lhs.dtype in (dtypes.float32, dtypes.float64):
        # Widening float32/float64 operands is exact, and narrowing rounds the float32/64
        # result: both are plain converts around a convolution the backends compile.
        if pet.itemsize > lhs.dtype.itemsize:
            lhs, rhs = convert_element_type(lhs, pet), convert_element_type(rhs, pet)
            return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation,
                                        rhs_dilation, dimension_numbers, feature_group_count,
                                        batch_group_count)
        out = conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation,
                                   rhs_dilation, dimension_numbers, feature_group_count,
                                   batch_group_count)
        return convert_element_type(out, pet)
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
    # The parameter is left out when unused, so programs without it print as before.
    extra = {} if pet is None else {"preferred_element_type": pet}
    return bind(conv_general_dilated_p, lhs, rhs, window_strides=window_strides,
                padding=padding, lhs_dilation=lhs_dilation, rhs_dilation=rhs_dilation,
                dimension_numbers=dn, feature_group_count=int(feature_group_count),
                batch_group_count=int(batch_group_count), **extra)


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
                   transpose_kernel=False, preferred_element_type=None):
    """Transposed convolution (JAX's `lax.conv_transpose`): the gradient of a strided conv
    (`preferred_element_type` as in `conv_general_dilated`). Without `dimension_numbers`
    the layout is channels-last, as JAX's default here (NHC/HIO, NHWC/HWIO, NHWDC/HWDIO),
    unlike conv_general_dilated's NCH/OIH."""
    lhs, rhs = core.to_array(lhs), core.to_array(rhs)
    if dimension_numbers is None:
        if lhs.ndim != rhs.ndim or not 2 <= lhs.ndim <= 5:
            raise ValueError(f"conv_transpose: no default dimension_numbers for operands of "
                             f"ranks {lhs.ndim} and {rhs.ndim}")
        dimension_numbers = {2: ("NC", "IO", "NC"), 3: ("NHC", "HIO", "NHC"),
                             4: ("NHWC", "HWIO", "NHWC"),
                             5: ("NHWDC", "HWDIO", "NHWDC")}[lhs.ndim]
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
    return conv_general_dilated(lhs, rhs, (1,) * nsp, pads, strides, rhs_dilation, dn,
                                preferred_element_type=preferred_element_type)


# ======================================================================================
# Factorisations on LAPACK: cholesky, triangular_solve, lu, qr, eigh, svd, eig.
#
# Each takes a stack of matrices `[..., m, n]` (float32 / float64 / complex64 / complex128)
# and factors every matrix of the stack (batching moves the vmapped axis to the front).
# Complex matrices: eigh and svd give real eigen-/singular values, and the JVP rules use
# the conjugate transpose `_H` where the real rules use the transpose (as JAX's). The
# reference impls call LAPACK through cffi (prims/lapack.py); the C and OpenCL backends run
# them as host steps with those impls. Failures give NaN, never an exception, as in JAX.
# JVP rules follow JAX's (jax/_src/lax/linalg.py), written with primitives so that they
# differentiate again.
# ======================================================================================


def _check_matrix(name, x, square=False):
    if x.ndim < 2:
        raise TypeError(f"{name}: expected a matrix or a stack of matrices [..., m, n], got "
                        f"shape {x.shape}")
    if square and x.shape[-1] != x.shape[-2]:
        raise TypeError(f"{name}: expected square matrices [..., n, n], got shape {x.shape}")
    if x.dtype not in (dtypes.float32, dtypes.float64, dtypes.complex64, dtypes.complex128):
        raise TypeError(f"{name}: expected float32 or float64 (or complex64 / complex128) "
                        f"matrices, got {x.dtype}; convert with .astype(float32) first")


def _mT(x):
    """Swap the last two axes."""
    nd = x.ndim
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _conj(x):
    """conj(x) for complex x; real x unchanged (lax.conj would make it complex)."""
    return conj(x) if dtypes.is_complex(x.dtype) else x


def _H(x):
    """The conjugate transpose of the last two axes (the transpose for real x)."""
    return _mT(_conj(x))


def _as(x, dtype):
    """x (real) converted to `dtype` (the matrices' dtype, possibly complex)."""
    return x if x.dtype == dtype else convert_element_type(x, dtype)


def _mm(x, y):
    """Matrix product over equal leading (batch) axes."""
    nd = x.ndim
    batch = tuple(range(nd - 2))
    return dot_general(x, y, (((nd - 1,), (nd - 2,)), (batch, batch)))


def _tri_mask(shape, k, lower):
    """Boolean [..., m, n]: j - i <= k (lower) or j - i >= k (upper)."""
    rows = iota(dtypes.int32, shape, len(shape) - 2)
    cols = iota(dtypes.int32, shape, len(shape) - 1)
    shifted = add(rows, full(shape, k, dtypes.int32))
    return ge(shifted, cols) if lower else le(shifted, cols)


def _tril(x, k=0):
    return select(_tri_mask(x.shape, k, True), x, full(x.shape, 0, x.dtype))


def _triu(x, k=0):
    return select(_tri_mask(x.shape, k, False), x, full(x.shape, 0, x.dtype))


def _eye(shape, dtype):
    """Identity matrices of `shape` [..., m, n] (ones where row == column)."""
    nd = len(shape)
    return convert_element_type(eq(iota(dtypes.int32, shape, nd - 2),
                                   iota(dtypes.int32, shape, nd - 1)), dtype)


def _diag_part(x):
    """The diagonals [..., min(m, n)] of the matrices of x."""
    k = min(x.shape[-2:])
    x = slice_(x, (0,) * x.ndim, x.shape[:-2] + (k, k))
    return reduce_sum(mul(x, _eye(x.shape, x.dtype)), (x.ndim - 1,))


def _row(v, n):
    """[..., k] -> [..., n, k]: `v` repeated along a new second-to-last axis of size n."""
    shape = v.shape[:-1] + (n, v.shape[-1])
    return broadcast_in_dim(v, shape, tuple(range(v.ndim - 1)) + (v.ndim,))


def _col(v, m):
    """[..., k] -> [..., k, m]: `v` repeated along a new last axis of size m."""
    shape = v.shape + (m,)
    return broadcast_in_dim(v, shape, tuple(range(v.ndim)))


def _sym_from_triangle(x, lower):
    """The symmetric (complex: Hermitian) matrix whose `lower` (upper) triangle is that of
    x: what a routine that reads only one triangle sees (complex routines read only the
    real part of the diagonal)."""
    if dtypes.is_complex(x.dtype):
        strict = _tril(x, -1) if lower else _triu(x, 1)
        diag = mul(_eye(x.shape, x.dtype), _as(real(x), x.dtype))
        return add(add(strict, _H(strict)), diag)
    if lower:
        return add(_tril(x), _mT(_tril(x, -1)))
    return add(_triu(x), _mT(_triu(x, 1)))


def _front_batch(size, vals, dims):
    """The operands with the vmapped axis first (broadcast where absent): the
    factorisations take leading batch axes natively."""
    return [bdim_at_front(v, d, size) for v, d in zip(vals, dims)]


# --- cholesky --------------------------------------------------------------------------

cholesky_p = core.new_primitive("cholesky")


def _cholesky_shape(x):
    _check_matrix("cholesky", x, square=True)
    return ShapedArray(x.shape, x.dtype, False)


def _cholesky_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    L = cholesky_p.bind(x)
    # The factorisation reads the lower triangle only, so the tangent it sees is the
    # symmetric matrix built from the tangent's lower triangle (JAX assumes a symmetric
    # tangent; its wrapper symmetrises the input, as ours does).
    sigma_dot = _sym_from_triangle(x_dot, True)
    # L_dot = L phi(L^-1 sigma_dot L^-H), phi = lower triangle with the diagonal halved
    # (Murray 2016, arXiv:1602.07527).
    tmp = triangular_solve(L, sigma_dot, left_side=False, lower=True, transpose_a=True,
                           conjugate_a=True)
    tmp = triangular_solve(L, tmp, left_side=True, lower=True)
    half_diag = sub(full(x.shape, 1, x.dtype),
                    mul(_eye(x.shape, x.dtype), full(x.shape, 0.5, x.dtype)))
    return L, _mm(L, mul(_tril(tmp), half_diag))


def _cholesky_batch(size, vals, dims):
    (x,) = _front_batch(size, vals, dims)
    return cholesky_p.bind(x), 0


core.shape_rules[cholesky_p] = _cholesky_shape
core.impl_rules[cholesky_p] = lambda x: lapack.cholesky(x)
core.jvp_rules[cholesky_p] = _cholesky_jvp
core.batch_rules[cholesky_p] = _cholesky_batch


def cholesky(x):
    """Lower Cholesky factor of each matrix of `x` [..., n, n], reading only its lower
    triangle (the primitive: no symmetrisation). A matrix that is not positive definite
    gives NaN on and below the diagonal and zeros above, as in JAX."""
    return bind(cholesky_p, core.to_array(x))


# --- triangular_solve ------------------------------------------------------------------

triangular_solve_p = core.new_primitive("triangular_solve")


def _triangular_solve_shape(a, b, *, left_side, lower, transpose_a, unit_diagonal):
    _check_matrix("triangular_solve", a, square=True)
    if b.ndim != a.ndim:
        raise TypeError(f"triangular_solve: a {a.shape} and b {b.shape} must have the same "
                        "rank (equal batch axes)")
    if b.dtype != a.dtype:
        raise TypeError(f"triangular_solve: dtypes differ (a {a.dtype}, b {b.dtype})")
    m = a.shape[-1]
    k = b.shape[-2] if left_side else b.shape[-1]
    if a.shape[:-2] != b.shape[:-2] or k != m:
        side = "b.shape[-2]" if left_side else "b.shape[-1]"
        raise TypeError(f"triangular_solve: a {a.shape} and b {b.shape} must have equal batch "
                        f"axes and {side} == {m} (left_side={left_side})")
    return ShapedArray(b.shape, b.dtype, False)


def _triangular_solve_np(a, b, *, left_side, lower, transpose_a, unit_diagonal):
    return lapack.triangular_solve(a, b, left_side, lower, transpose_a, unit_diagonal)


def _triangular_solve_jvp_a(g_a, ans, a, b, *, left_side, lower, transpose_a,
                            unit_diagonal):
    k = 1 if unit_diagonal else 0
    # Only the triangle the solve reads carries a tangent.
    g_a = _tril(g_a, -k) if lower else _triu(g_a, k)
    g_a = neg(g_a)
    g_a = _mT(g_a) if transpose_a else g_a

    def a_inverse(rhs):
        return triangular_solve(a, rhs, left_side=left_side, lower=lower,
                                transpose_a=transpose_a, unit_diagonal=unit_diagonal)

    m, n = b.shape[-2:]
    # dX = -op(A)^-1 dop(A) X (left) or -X dop(A) op(A)^-1 (right), in the cheaper order.
    if left_side:
        return a_inverse(_mm(g_a, ans)) if m > n else _mm(a_inverse(g_a), ans)
    return a_inverse(_mm(ans, g_a)) if m < n else _mm(ans, a_inverse(g_a))


def _triangular_solve_jvp_b(g_b, ans, a, b, **params):
    return triangular_solve_p.bind(a, g_b, **params)


def _triangular_solve_transpose(ct, a, b, *, left_side, lower, transpose_a, unit_diagonal):
    if is_undefined(a):
        raise NotImplementedError("triangular_solve is not linear in its matrix operand a")
    return [None, triangular_solve(a, ct, left_side=left_side, lower=lower,
                                   transpose_a=not transpose_a, unit_diagonal=unit_diagonal)]


def _triangular_solve_batch(size, vals, dims, **params):
    a, b = _front_batch(size, vals, dims)
    return triangular_solve_p.bind(a, b, **params), 0


core.shape_rules[triangular_solve_p] = _triangular_solve_shape
core.impl_rules[triangular_solve_p] = _triangular_solve_np
defjvp2(triangular_solve_p, _triangular_solve_jvp_a, _triangular_solve_jvp_b)
core.transpose_rules[triangular_solve_p] = _triangular_solve_transpose
core.batch_rules[triangular_solve_p] = _triangular_solve_batch


def triangular_solve(a, b, *, left_side=False, lower=False, transpose_a=False,
                     conjugate_a=False, unit_diagonal=False):
    """Solve op(a) @ x = b (`left_side`) or x @ op(a) = b for x, with a [..., m, m]
    triangular (only its `lower` or upper triangle is read; its diagonal is taken as ones
    with `unit_diagonal`) and op(a) = a.T with `transpose_a` (JAX's
    `lax.linalg.triangular_solve`; `conjugate_a` conjugates a complex a, so op(a) = a^H
    with both, and is a no-op on real matrices). The batch axes of a and b must be equal.
    A zero on the diagonal gives inf/NaN, no exception."""
    a, b = core.to_array(a), core.to_array(b)
    if conjugate_a:
        # The primitive solves with a or a.T; conj is a separate (differentiable) primitive.
        a = _conj(a)
    return bind(triangular_solve_p, a, b, left_side=bool(left_side), lower=bool(lower),
                transpose_a=bool(transpose_a), unit_diagonal=bool(unit_diagonal))


# --- lu --------------------------------------------------------------------------------

lu_p = core.new_primitive("lu", multiple_results=True)


def _lu_shape(x):
    _check_matrix("lu", x)
    m, n = x.shape[-2:]
    batch = x.shape[:-2]
    return [ShapedArray(x.shape, x.dtype, False),
            ShapedArray(batch + (min(m, n),), dtypes.int32, False),
            ShapedArray(batch + (m,), dtypes.int32, False)]


def _permutation_matrix(perm, dtype):
    """[..., m] row order -> [..., m, m] matrix P with (P @ a) = a[..., perm, :]."""
    m = perm.shape[-1]
    shape = perm.shape + (m,)
    return convert_element_type(eq(_col(perm, m), iota(dtypes.int32, shape, len(shape) - 1)),
                                dtype)


def _lu_jvp(primals, tangents):
    (a,), (a_dot,) = primals, tangents
    lu, pivots, perm = lu_p.bind(a)
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.shape[:-2]
    nb = len(batch)
    dt = a.dtype
    x = _mm(_permutation_matrix(perm, dt), a_dot)
    zero = full((), 0, dt)
    # L: [m, m] unit lower (the first k columns from lu, then the identity's); U: [n, n]
    # upper (the first k rows from lu, then the identity's), so both are invertible.
    l_k = _tril(slice_(lu, (0,) * (nb + 2), batch + (m, k)), -1)
    l = add(pad(l_k, zero, [(0, 0, 0)] * nb + [(0, 0, 0), (0, m - k, 0)]),
            _eye(batch + (m, m), dt))
    u_k = _triu(slice_(lu, (0,) * (nb + 2), batch + (k, n)))
    u_eye = pad(_eye((n - k, n - k), dt), zero, [(k, 0, 0), (k, 0, 0)])
    u = add(pad(u_k, zero, [(0, 0, 0)] * nb + [(0, n - k, 0), (0, 0, 0)]),
            broadcast_to(u_eye, batch + (n, n)))
    la = triangular_solve(l, x, left_side=True, lower=True, unit_diagonal=True)
    lau = triangular_solve(u, la, left_side=False, lower=False)
    l_dot = _mm(l, _tril(lau, -1))
    u_dot = _mm(_triu(lau), u)
    return [lu, pivots, perm], [add(l_dot, u_dot), zeros_like(pivots), zeros_like(perm)]


def _lu_batch(size, vals, dims):
    (x,) = _front_batch(size, vals, dims)
    return lu_p.bind(x), [0, 0, 0]


core.shape_rules[lu_p] = _lu_shape
core.impl_rules[lu_p] = lambda x: list(lapack.lu(x))
core.jvp_rules[lu_p] = _lu_jvp
core.batch_rules[lu_p] = _lu_batch


def lu(x):
    """LU decomposition with partial pivoting of each matrix of `x` [..., m, n] (JAX's
    `lax.linalg.lu`): returns `(lu, pivots, permutation)` with unit-lower L below the
    diagonal of `lu` and U on and above it, `pivots` [..., min(m, n)] (int32: row i was
    swapped with row pivots[i]) and `permutation` [..., m] (int32) with
    `x[..., permutation, :] == L @ U`. A singular matrix gives a zero on U's diagonal (no
    exception, as in JAX)."""
    return tuple(bind(lu_p, core.to_array(x)))


# --- qr --------------------------------------------------------------------------------

qr_p = core.new_primitive("qr", multiple_results=True)


def _qr_shape(x, *, full_matrices):
    _check_matrix("qr", x)
    m, n = x.shape[-2:]
    c = m if full_matrices else min(m, n)
    batch = x.shape[:-2]
    return [ShapedArray(batch + (m, c), x.dtype, False),
            ShapedArray(batch + (c, n), x.dtype, False)]


def _qr_jvp_square_or_tall(q, r, dx):
    """(dq, dr) of x = q r for m >= n with q [m, n] (Walter & Lehmann 2018, as in JAX)."""
    dx_rinv = triangular_solve(r, dx, left_side=False, lower=False)     # dx r^-1
    qt_dx_rinv = _mm(_H(q), dx_rinv)
    low = _tril(qt_dx_rinv, -1)
    do = sub(low, _H(low))                                               # skew-Hermitian
    if dtypes.is_complex(q.dtype):
        # LAPACK's r has a real diagonal, so do's diagonal is the imaginary part of
        # q^H dx r^-1's (JAX's correction for complex input).
        i_imag = mul(_as(imag(qt_dx_rinv), q.dtype), full((), 1j, q.dtype))
        do = add(do, mul(_eye(do.shape, do.dtype), i_imag))
    dq = add(_mm(q, sub(do, qt_dx_rinv)), dx_rinv)
    dr = _mm(sub(qt_dx_rinv, do), r)
    return dq, dr


def _qr_jvp(primals, tangents, *, full_matrices):
    (x,), (dx,) = primals, tangents
    q, r = qr_p.bind(x, full_matrices=full_matrices)
    m, n = x.shape[-2:]
    if full_matrices and m > n:
        raise NotImplementedError(
            f"qr: the derivative with full_matrices=True is defined only for square or wide "
            f"matrices (got {x.shape}: the last {m - n} columns of q are not unique); use "
            "full_matrices=False (mode='reduced')")
    if m >= n:
        dq, dr = _qr_jvp_square_or_tall(q, r, dx)
        return [q, r], [dq, dr]
    # Wide: x = [x1 x2] with x1 = q r1 square; r2 = q^T x2, so dr2 = q^T (dx2 - dq r2).
    start = (0,) * x.ndim
    r1 = slice_(r, start, r.shape[:-1] + (m,))
    r2 = slice_(r, start[:-1] + (m,), r.shape)
    dx1 = slice_(dx, start, dx.shape[:-1] + (m,))
    dx2 = slice_(dx, start[:-1] + (m,), dx.shape)
    dq, dr1 = _qr_jvp_square_or_tall(q, r1, dx1)
    dr2 = _mm(_H(q), sub(dx2, _mm(dq, r2)))
    return [q, r], [dq, concatenate([dr1, dr2], x.ndim - 1)]


def _qr_batch(size, vals, dims, *, full_matrices):
    (x,) = _front_batch(size, vals, dims)
    return qr_p.bind(x, full_matrices=full_matrices), [0, 0]


core.shape_rules[qr_p] = _qr_shape
core.impl_rules[qr_p] = lambda x, *, full_matrices: list(lapack.qr(x, full_matrices))
core.jvp_rules[qr_p] = _qr_jvp
core.batch_rules[qr_p] = _qr_batch


def qr(x, *, full_matrices=True):
    """QR decomposition of each matrix of `x` [..., m, n] (JAX's `lax.linalg.qr`): q
    [..., m, m] and r [..., m, n] with `full_matrices`, else q [..., m, k] and r [..., k, n]
    (k = min(m, n)). Derivatives need full_matrices=False unless m <= n."""
    return tuple(bind(qr_p, core.to_array(x), full_matrices=bool(full_matrices)))


# --- eigh ------------------------------------------------------------------------------

eigh_p = core.new_primitive("eigh", multiple_results=True)


def _eigh_shape(x, *, lower):
    _check_matrix("eigh", x, square=True)
    return [ShapedArray(x.shape, x.dtype, False),
            ShapedArray(x.shape[:-1], dtypes.real_dtype(x.dtype), False)]


def _eigh_jvp(primals, tangents, *, lower):
    (x,), (x_dot,) = primals, tangents
    v, w = eigh_p.bind(x, lower=lower)
    n = x.shape[-1]
    # As for cholesky: the tangent the routine sees is the symmetric one from its triangle.
    a_dot = _sym_from_triangle(x_dot, lower)
    eye = _eye(x.shape, x.dtype)
    # F[i, j] = 1 / (w[j] - w[i]) off the diagonal, 0 on it (inf for repeated eigenvalues,
    # as in JAX: eigenvectors of a repeated eigenvalue are not differentiable).
    wc = _as(w, x.dtype)
    diffs = sub(_row(wc, n), _col(wc, n))
    f = sub(div(full(x.shape, 1, x.dtype), add(eye, diffs)), eye)
    vt_adot_v = _mm(_mm(_H(v), a_dot), v)
    dv = _mm(v, mul(f, vt_adot_v))
    dw = _diag_part(vt_adot_v)
    if dtypes.is_complex(dw.dtype):
        dw = real(dw)             # real eigenvalues (v^H a_dot v is Hermitian)
    return [v, w], [dv, dw]


def _eigh_batch(size, vals, dims, *, lower):
    (x,) = _front_batch(size, vals, dims)
    return eigh_p.bind(x, lower=lower), [0, 0]


core.shape_rules[eigh_p] = _eigh_shape
core.impl_rules[eigh_p] = lambda x, *, lower: list(lapack.eigh(x, lower))
core.jvp_rules[eigh_p] = _eigh_jvp
core.batch_rules[eigh_p] = _eigh_batch


def eigh(x, *, lower=True):
    """Eigendecomposition of each symmetric matrix of `x` [..., n, n], reading its `lower`
    (or upper) triangle only: `(v, w)` with eigenvectors as the columns of v and the
    eigenvalues w ascending (the primitive; JAX's `lax.linalg.eigh` symmetrises first)."""
    return tuple(bind(eigh_p, core.to_array(x), lower=bool(lower)))


# --- svd -------------------------------------------------------------------------------

svd_p = core.new_primitive("svd", multiple_results=True)


def _svd_shape(x, *, full_matrices, compute_uv):
    _check_matrix("svd", x)
    m, n = x.shape[-2:]
    k = min(m, n)
    batch = x.shape[:-2]
    s = ShapedArray(batch + (k,), dtypes.real_dtype(x.dtype), False)
    if not compute_uv:
        return [s]
    uc, vr = (m, n) if full_matrices else (k, k)
    return [s, ShapedArray(batch + (m, uc), x.dtype, False),
            ShapedArray(batch + (vr, n), x.dtype, False)]


def _svd_jvp(primals, tangents, *, full_matrices, compute_uv):
    (a,), (da,) = primals, tangents
    m, n = a.shape[-2:]
    if compute_uv and full_matrices and m != n:
        raise NotImplementedError(
            f"svd: the derivative of u and vt with full_matrices=True is defined only for "
            f"square matrices (got {a.shape}: the extra singular vectors are not unique); "
            "use full_matrices=False")
    s, u, vt = svd_p.bind(a, full_matrices=False, compute_uv=True)
    k = min(m, n)
    v = _H(vt)
    ds_mat = _mm(_mm(_H(u), da), v)                       # [k, k]
    ds = _diag_part(ds_mat)
    if dtypes.is_complex(ds.dtype):
        ds = real(ds)                                     # real singular values
    if not compute_uv:
        return [s], [ds]
    kk = a.shape[:-2] + (k, k)
    sc = _as(s, a.dtype)
    s_row, s_col = _row(sc, k), _col(sc, k)
    eye = _eye(kk, a.dtype)
    # F[i, j] = 1 / (s_j^2 - s_i^2) off the diagonal, 0 on it.
    s_diffs = mul(add(s_row, s_col), sub(s_row, s_col))
    one = full(kk, 1, a.dtype)
    f = sub(div(one, add(s_diffs, eye)), eye)
    dss = mul(s_row, ds_mat)                              # dS S
    sds = mul(s_col, ds_mat)                              # S dS
    zero_s = eq(s, full(s.shape, 0, s.dtype))
    s_inv = select(zero_s, full(s.shape, 0, s.dtype),
                   div(full(s.shape, 1, s.dtype), select(zero_s, full(s.shape, 1, s.dtype), s)))
    half = full(kk, 0.5, a.dtype)
    # (for complex matrices this diagonal term fixes the phase of the singular vectors as
    # JAX does)
    dudv_diag = mul(mul(half, sub(ds_mat, _H(ds_mat))), mul(eye, _row(_as(s_inv, a.dtype), k)))
    du = _mm(u, add(mul(f, add(dss, _H(dss))), dudv_diag))
    dv = _mm(v, mul(f, add(sds, _H(sds))))
    if m > n:
        dav = _mm(da, v)
        du = add(du, div(sub(dav, _mm(u, _mm(_H(u), dav))), _row(sc, m)))
    if n > m:
        dau = _mm(_H(da), u)
        dv = add(dv, div(sub(dau, _mm(v, _mm(vt, dau))), _row(sc, n)))
    return [s, u, vt], [ds, du, _H(dv)]


def _svd_batch(size, vals, dims, **params):
    (x,) = _front_batch(size, vals, dims)
    outs = svd_p.bind(x, **params)
    return outs, [0] * len(outs)


core.shape_rules[svd_p] = _svd_shape
core.impl_rules[svd_p] = lambda x, *, full_matrices, compute_uv: list(
    lapack.svd(x, full_matrices, compute_uv))
core.jvp_rules[svd_p] = _svd_jvp
core.batch_rules[svd_p] = _svd_batch


def svd(x, *, full_matrices=True, compute_uv=True):
    """Singular value decomposition of each matrix of `x` [..., m, n]: `[s]` or
    `[s, u, vt]` with s [..., k] descending (k = min(m, n)), u [..., m, m or k] and
    vt [..., n or k, n] (`full_matrices`). Non-convergence gives NaN."""
    return bind(svd_p, core.to_array(x), full_matrices=bool(full_matrices),
                compute_uv=bool(compute_uv))


# --- eig -------------------------------------------------------------------------------
# The general eigendecomposition (LAPACK's geev): complex eigenvalues w and, optionally,
# left (u^H a = w u^H) and right (a v = w v) eigenvectors as columns, each of unit 2-norm
# with its largest component real; complex64 results for float32/complex64 matrices,
# complex128 for float64/complex128, as in JAX. Eigenvalues come in LAPACK's order (no
# sorting). Derivatives: of the eigenvalues always; of the eigenvectors only with
# `enable_eigvec_derivs` (JAX's opt-in: they are defined only for distinct eigenvalues and
# eigenvectors whose largest component is unique, which cannot be checked statically).

eig_p = core.new_primitive("eig", multiple_results=True)


def _eig_shape(x, *, compute_left_eigenvectors, compute_right_eigenvectors,
               enable_eigvec_derivs):
    _check_matrix("eig", x, square=True)
    dt = dtypes.complex_dtype(x.dtype)
    count = int(compute_left_eigenvectors) + int(compute_right_eigenvectors)
    return [ShapedArray(x.shape[:-1], dt, False)] + \
        [ShapedArray(x.shape, dt, False) for _ in range(count)]


def _eig_np(x, *, compute_left_eigenvectors, compute_right_eigenvectors,
            enable_eigvec_derivs):
    return lapack.geev(x, compute_left_eigenvectors, compute_right_eigenvectors)


def _solve(a, b):
    """a^-1 b for square a [..., n, n] and b [..., n, k] by LU with partial pivoting (the
    tangent rules' solves: primitives throughout, so they differentiate again, and linear
    in b, so reverse mode transposes them)."""
    lu_, _, perm = lu(a)
    pb = _mm(_permutation_matrix(perm, a.dtype), b)
    y = triangular_solve(lu_, pb, left_side=True, lower=True, unit_diagonal=True)
    return triangular_solve(lu_, y, left_side=True, lower=False)


def _eig_vec_jvp(w, v, da):
    """(dw, dv) for eigenvalues w [..., n] and eigenvectors v [..., n, n] (columns) of a,
    along da (the complex tangent of a): non-degenerate perturbation theory (JAX's rule;
    Giles 2008, sec. 3.1). With P = v^-1 da v, dw = diag(P) and the eigenvector equation
    gives dv_j = u_j + c_j v_j, u = v (F * P), F[i, j] = 1 / (w_j - w_i) off the diagonal
    and 0 on it; LAPACK's scaling (unit 2-norm, the largest component, in row k_j, real)
    fixes c_j = -Re(v_j^H u_j) - i Im(u_kj,j) / v_kj,j."""
    n = w.shape[-1]
    nd = v.ndim
    dt = v.dtype
    eye = _eye(v.shape, dt)
    f = sub(div(full(v.shape, 1, dt), add(eye, sub(_row(w, n), _col(w, n)))), eye)
    p = _mm(_solve(v, da), v)
    dw = _diag_part(p)
    u = _mm(v, mul(f, p))
    k = argmax(abs_(v), nd - 2, dtypes.int32)                       # [..., n]: row k_j
    mask = convert_element_type(eq(iota(dtypes.int32, v.shape, nd - 2), _row(k, n)), dt)
    rows = (nd - 2,)
    c_re = neg(real(reduce_sum(mul(conj(v), u), rows)))
    c_im = neg(div(imag(reduce_sum(mul(mask, u), rows)), real(reduce_sum(mul(mask, v), rows))))
    return dw, add(u, mul(v, _row(complex_(c_re, c_im), n)))


def _eig_jvp(primals, tangents, *, compute_left_eigenvectors, compute_right_eigenvectors,
             enable_eigvec_derivs):
    (a,), (da,) = primals, tangents
    vectors = compute_left_eigenvectors or compute_right_eigenvectors
    if vectors and not enable_eigvec_derivs:
        raise NotImplementedError(
            "eig: derivatives of non-symmetric eigenvectors are valid only under "
            "assumptions on the input that cannot be checked (all eigenvalues distinct, and "
            "no eigenvector with two components tied for the largest magnitude). Pass "
            "enable_eigvec_derivs=True to lax.linalg.eig to opt in, or differentiate only "
            "the eigenvalues (linalg.eigvals, or compute_left_eigenvectors=False and "
            "compute_right_eigenvectors=False); see https://github.com/jax-ml/jax/issues/2748")
    outs = eig_p.bind(a, compute_left_eigenvectors=compute_left_eigenvectors,
                      compute_right_eigenvectors=True,
                      enable_eigvec_derivs=enable_eigvec_derivs)
    w, vr = outs[0], outs[-1]
    if a.shape[-1] == 0:
        primal_out = [w] + list(outs[1:-1]) + ([vr] if compute_right_eigenvectors else [])
        return primal_out, [zeros_like(o) for o in primal_out]
    da = _as(da, vr.dtype)
    if not vectors:
        # dw_i = (vr^-1 da vr)[i, i]
        return [w], [reduce_sum(mul(_solve(vr, da), _mT(vr)), (a.ndim - 1,))]
    dw, dvr = _eig_vec_jvp(w, vr, da)
    primal_out, tangent_out = [w], [dw]
    if compute_left_eigenvectors:
        # The left eigenvectors are the right ones of a^H, for the eigenvalues conj(w).
        _, dvl = _eig_vec_jvp(conj(w), outs[1], _H(da))
        primal_out.append(outs[1])
        tangent_out.append(dvl)
    if compute_right_eigenvectors:
        primal_out.append(vr)
        tangent_out.append(dvr)
    return primal_out, tangent_out


def _eig_batch(size, vals, dims, **params):
    (x,) = _front_batch(size, vals, dims)
    outs = eig_p.bind(x, **params)
    return outs, [0] * len(outs)


core.shape_rules[eig_p] = _eig_shape
core.impl_rules[eig_p] = _eig_np
core.jvp_rules[eig_p] = _eig_jvp
core.batch_rules[eig_p] = _eig_batch


def eig(x, *, compute_left_eigenvectors=True, compute_right_eigenvectors=True,
        enable_eigvec_derivs=False):
    """General eigendecomposition of each square matrix of `x` [..., n, n] (the primitive
    behind JAX's `lax.linalg.eig`): `[w]`, then the left eigenvectors (if asked for), then
    the right ones (if asked for), complex. A matrix holding NaN or inf, or one whose
    iteration does not converge, gives NaN, no exception."""
    return list(bind(eig_p, core.to_array(x),
                     compute_left_eigenvectors=bool(compute_left_eigenvectors),
                     compute_right_eigenvectors=bool(compute_right_eigenvectors),
                     enable_eigvec_derivs=bool(enable_eigvec_derivs)))
