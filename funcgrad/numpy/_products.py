"""funcgrad.numpy's products: `dot`, `vdot`, `inner`, `outer`, `matmul`, `tensordot`,
`einsum`, `kron`, `cross`, `convolve` and `correlate`."""

from __future__ import annotations

import builtins
import string as _string

import numpy as _np

from .. import dtypes as _dt
from ..core import TypeOrValueError
from ..prims import linalg as _la
from ..prims import reductions as _rd
from ..prims import structural as _st

__all__ = [
    "convolve", "correlate", "cross", "dot", "einsum", "inner", "kron", "matmul", "outer",
    "tensordot", "vdot",
]


def _pet(preferred_element_type):
    """A `preferred_element_type` argument as a dtype funcgrad uses (None stays None)."""
    if preferred_element_type is None:
        return None
    return _dt.canonicalize(preferred_element_type)


def _scalar_product(x, y, pet):
    out = multiply(x, y)
    return out if pet is None else astype(out, pet)


def dot(a, b, *, precision=None, preferred_element_type=None):
    """NumPy's `dot`: scalars multiply; otherwise the last axis of `a` contracts with the
    second-to-last of `b` (its only axis when 1-D). `precision` is accepted (funcgrad
    computes in the operands' precision); `preferred_element_type` is the result's dtype
    (accumulating in it, as JAX)."""
    x, y = _promote_dtypes_only([a, b], "dot")
    pet = _pet(preferred_element_type)
    if x.ndim == 0 or y.ndim == 0:
        return _scalar_product(x, y, pet)
    if y.ndim == 1:
        return _la.dot_general(x, y, (((x.ndim - 1,), (0,)), ((), ())), pet)
    return _la.dot_general(x, y, (((x.ndim - 1,), (y.ndim - 2,)), ((), ())), pet)


def vdot(a, b, *, precision=None, preferred_element_type=None):
    """The dot product of the flattened arrays, `a` conjugated first when complex (NumPy's
    and JAX's `vdot`; `precision`/`preferred_element_type` as in `dot`)."""
    return dot(conj(ravel(a)), ravel(b), preferred_element_type=preferred_element_type)


def inner(a, b, *, precision=None, preferred_element_type=None):
    """Contraction of the last axes of `a` and `b` (`precision`/`preferred_element_type`
    as in `dot`)."""
    x, y = _promote_dtypes_only([a, b], "inner")
    pet = _pet(preferred_element_type)
    if x.ndim == 0 or y.ndim == 0:
        return _scalar_product(x, y, pet)
    return _la.dot_general(x, y, (((x.ndim - 1,), (y.ndim - 1,)), ((), ())), pet)


def outer(a, b):
    x, y = _promote_dtypes_only([ravel(a), ravel(b)], "outer")
    return multiply(x[:, None], y[None, :])


def matmul(a, b, *, precision=None, preferred_element_type=None):
    """NumPy's `matmul` (`@`): batched matrix products with broadcast batch axes; 1-D
    operands are promoted to a row/column and squeezed back. `precision`/
    `preferred_element_type` as in `dot`."""
    x, y = _promote_dtypes_only([a, b], "matmul")
    pet = _pet(preferred_element_type)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError("matmul: input operands must have at least one dimension (use * for "
                         "scalars)")
    x1 = x.ndim == 1
    y1 = y.ndim == 1
    shapes = (x.shape, y.shape)
    if (x1 and y.ndim <= 2) or (y1 and x.ndim <= 2):
        # a vector with a vector or a matrix: one contraction, no reshapes
        if x.shape[-1] != y.shape[0 if y1 else -2]:
            raise TypeOrValueError(f"matmul: input operand 1 has a mismatch in its core "
                                   f"dimension "
                             f"0, with gufunc signature (n?,k),(k,m?)->(n?,m?) (size "
                             f"{y.shape[0 if y1 else -2]} is different from {x.shape[-1]}); "
                             f"shapes {shapes[0]} and {shapes[1]}")
        return _la.dot_general(x, y, (((x.ndim - 1,), (0,)), ((), ())), pet)
    if x1:
        x = reshape(x, (1, x.shape[0]))
    if y1:
        y = reshape(y, (y.shape[0], 1))
    if x.shape[-1] != y.shape[-2]:
        raise TypeOrValueError(f"matmul: input operand 1 has a mismatch in its core "
                               f"dimension 0, "
                         f"with gufunc signature (n?,k),(k,m?)->(n?,m?) (size {y.shape[-2]} "
                         f"is different from {x.shape[-1]}); shapes {shapes[0]} and "
                         f"{shapes[1]}")
    batch = _np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    nb = len(batch)
    if x.shape[:-2] != batch:
        if x.ndim == 2:
            out = _la.dot_general(x, y, (((1,), (y.ndim - 2,)), ((), ())), pet)
            # (n, *ybatch, m) -> (*ybatch, n, m)
            out = moveaxis(out, 0, -2)
            return _squeeze_mm(out, x1, y1)
        x = broadcast_to(x, batch + x.shape[-2:])
    if y.shape[:-2] != batch:
        if y.ndim == 2:
            out = _la.dot_general(x, y, (((x.ndim - 1,), (0,)), ((), ())), pet)
            return _squeeze_mm(out, x1, y1)
        y = broadcast_to(y, batch + y.shape[-2:])
    bd = tuple(range(nb))
    out = _la.dot_general(x, y, (((nb + 1,), (nb,)), (bd, bd)), pet)
    return _squeeze_mm(out, x1, y1)


def _squeeze_mm(out, x1, y1):
    if x1 and y1:
        return reshape(out, out.shape[:-2])
    if x1:
        return squeeze(out, -2)
    if y1:
        return squeeze(out, -1)
    return out


def tensordot(a, b, axes=2, *, precision=None, preferred_element_type=None):
    """Contraction of the last `axes` axes of `a` with the first of `b`, or of the axes
    listed in `axes = (a_axes, b_axes)`. `precision`/`preferred_element_type` as in
    `dot`."""
    x, y = _promote_dtypes_only([a, b], "tensordot")
    if isinstance(axes, (int, _np.integer)):
        ax = (tuple(range(x.ndim - axes, x.ndim)), tuple(range(axes)))
    else:
        a_ax, b_ax = axes
        a_ax = (a_ax,) if isinstance(a_ax, int) else tuple(a_ax)
        b_ax = (b_ax,) if isinstance(b_ax, int) else tuple(b_ax)
        ax = (tuple(_axis(i, x.ndim, "tensordot") for i in a_ax),
              tuple(_axis(i, y.ndim, "tensordot") for i in b_ax))
    return _la.dot_general(x, y, (ax, ((), ())), _pet(preferred_element_type))


_EINSUM_SYMBOLS = _string.ascii_lowercase + _string.ascii_uppercase


def _einsum_sublists(args):
    """NumPy's sublist form (operand, sublist, operand, sublist, ..., [output sublist]) ->
    (subscripts, operands): integer labels in [0, 52) name a..z, A..Z as in NumPy."""
    def spec(sub):
        out = []
        for v in sub:
            if v is Ellipsis:
                out.append("...")
            elif isinstance(v, (int, _np.integer)) and 0 <= int(v) < len(_EINSUM_SYMBOLS):
                out.append(_EINSUM_SYMBOLS[int(v)])
            else:
                raise TypeError(f"einsum: sublist labels must be integers in [0, 52) or "
                                f"Ellipsis, got {v!r}")
        return "".join(out)

    operands = list(args[0::2][:len(args) // 2])
    subs = [spec(sub) for sub in args[1::2][:len(args) // 2]]
    subscripts = ",".join(subs)
    if len(args) % 2:
        subscripts += "->" + spec(args[-1])
    return subscripts, tuple(operands)


def einsum(subscripts, *operands, optimize=None, precision=None, preferred_element_type=None):
    """Einstein summation via pairwise `dot_general` contractions. `preferred_element_type`
    is the result's dtype and the accumulation's (JAX): bfloat16/float16 operands with a
    float32 one contract in float32 inside dot_general, other operands are converted to it
    first; `optimize` and `precision` are accepted (funcgrad picks its own order and
    computes in the operands' precision). The operands may also be given in NumPy's
    sublist form, `einsum(a, [0, 1], b, [1, 2], [0, 2])` (`...` as `Ellipsis`)."""
    if not isinstance(subscripts, str):
        subscripts, operands = _einsum_sublists((subscripts,) + operands)
    ops = _promote_dtypes_only(operands, "einsum")
    pet = _pet(preferred_element_type)
    pair_pet = None
    if pet is not None:
        if len(ops) >= 2 and ops[0].dtype in _HALF and pet == _dt.float32:
            pair_pet = pet       # no float32 copies of the operands (the point of bf16)
        else:
            ops = [astype(o, pet) for o in ops]
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        ins, out = subscripts.split("->")
    else:
        ins, out = subscripts, None
    in_specs = ins.split(",")
    if len(in_specs) != len(ops):
        raise ValueError(f"einsum: {len(in_specs)} operand specs for {len(ops)} operands")
    letters = [c for c in _string.ascii_letters if c not in subscripts]
    specs = []
    for spec, op in zip(in_specs, ops):
        if "..." in spec:
            n_ell = op.ndim - (len(spec) - 3)
            spec = spec.replace("...", "".join(letters[len(letters) - n_ell:]))
        if len(spec) != op.ndim:
            raise ValueError(f"einsum: spec {spec!r} does not match operand of shape {op.shape}")
        specs.append(spec)
    sizes = _einsum_sizes(subscripts, specs, ops, letters)
    if out is None:
        counts = {}
        for s in specs:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        ell = "".join(c for c in letters if builtins.any(c in s for s in specs))
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    elif "..." in out:
        ell = "".join(c for c in letters if builtins.any(c in s for s in specs))
        out = out.replace("...", ell)
    ops = [_einsum_diag(op, s) for op, s in zip(ops, specs)]
    specs = ["".join(dict.fromkeys(s)) for s in specs]
    # Broadcasting (NumPy's and JAX's): an axis of size 1 whose label has another size
    # elsewhere is squeezed, the operand then being constant along that label; what is left
    # of every label has one size, and the dot_general contractions below need no other case.
    ops, specs = zip(*[_einsum_squeeze_broadcast(op, s, sizes) for op, s in zip(ops, specs)])
    ops, specs = list(ops), list(specs)
    if pair_pet is not None and not builtins.all(
            c in out or builtins.any(c in t for j, t in enumerate(specs) if j != i)
            for i, sp in enumerate(specs) for c in sp):
        # An index summed within one operand would be summed in its 16-bit dtype (and
        # rounded) before any contraction: convert first instead, as without pair_pet.
        ops, pair_pet = [astype(o, pet) for o in ops], None
    cur, cur_spec = ops[0], specs[0]
    rest = list(zip(ops[1:], specs[1:]))
    cur, cur_spec = _einsum_sum_unneeded(cur, cur_spec, [s for _, s in rest] + [out])
    for k, (op, spec) in enumerate(rest):
        others = [s for j, (_, s) in enumerate(rest) if j != k] + [out]
        op, spec = _einsum_sum_unneeded(op, spec, [cur_spec] + others)
        cur, cur_spec = _einsum_pair(cur, cur_spec, op, spec, others, pair_pet)
    cur, cur_spec = _einsum_sum_unneeded(cur, cur_spec, [out])
    if pair_pet is not None and cur.dtype != pair_pet:
        cur = astype(cur, pair_pet)
    for c in out:
        if c not in cur_spec:
            cur = _st.broadcast_in_dim(cur, cur.shape + (sizes[c],), tuple(range(cur.ndim)))
            cur_spec += c
    return transpose(cur, [cur_spec.index(c) for c in out])


def _einsum_sizes(subscripts, specs, ops, letters):
    """Each label's size: a label's sizes must agree, or be 1 (broadcast against the other
    size, as NumPy and JAX do); the error names the label and both operands' shapes."""
    ell = set(letters)
    sizes, first = {}, {}
    for i, (spec, op) in enumerate(zip(specs, ops)):
        for c, n in zip(spec, op.shape):
            if c not in sizes or sizes[c] == 1:
                sizes[c], first[c] = n, i
            elif n not in (1, sizes[c]) and first[c] != i:   # within one: _einsum_diag's
                j = first[c]
                name = "'...'" if c in ell else repr(c)
                where = (f" (ellipsis dimension {len(letters) - letters.index(c)} from the "
                         f"right)" if c in ell else "")
                raise ValueError(
                    f"einsum: size of label {name} for operand {i} ({sizes[c]}) does not "
                    f"match previous terms ({n}): subscripts {subscripts!r}, label {name}"
                    f"{where} has size {sizes[c]} in operand {j} of shape {ops[j].shape} and "
                    f"size {n} in operand {i} of shape {op.shape}; sizes must agree or one "
                    f"be 1")
    return sizes


def _einsum_squeeze_broadcast(op, spec, sizes):
    """`op` without its axes of size 1 whose label has another size (they broadcast)."""
    axes = tuple(k for k, c in enumerate(spec) if op.shape[k] == 1 and sizes[c] != 1)
    if not axes:
        return op, spec
    return _st.squeeze(op, axes), "".join(c for k, c in enumerate(spec) if k not in axes)


def _einsum_diag(op, spec):
    """`op` with each index repeated in `spec` reduced to its diagonal ('ii->i'), axes in
    the order of the indices' first occurrence."""
    if len(set(spec)) == len(spec):
        return op
    target = "".join(dict.fromkeys(spec))
    cur = spec
    while len(set(cur)) != len(cur):
        c = next(ch for ch in cur if cur.count(ch) > 1)
        p0 = cur.index(c)
        p1 = cur.index(c, p0 + 1)
        if op.shape[p0] != op.shape[p1]:
            raise ValueError(f"einsum: index {c!r} repeated in {spec!r} has sizes "
                             f"{op.shape[p0]} and {op.shape[p1]}")
        op = diagonal(op, 0, p0, p1)
        cur = "".join(ch for i, ch in enumerate(cur) if i not in (p0, p1)) + c
    return transpose(op, [cur.index(ch) for ch in target])


def _einsum_sum_unneeded(op, spec, others):
    keep = set("".join(others))
    axes = tuple(i for i, c in enumerate(spec) if c not in keep)
    if axes:
        op = _rd.reduce_sum(op, axes)
        spec = "".join(c for c in spec if c in keep)
    return op, spec


def _einsum_pair(a, sa, b, sb, others, pet=None):
    if pet is not None and a.dtype != b.dtype:
        # a is float32 from an earlier contraction: the rest contracts in float32
        a, b = astype(a, pet), astype(b, pet)
    later = set("".join(others))
    batch = [c for c in sa if c in sb and c in later]
    contract = [c for c in sa if c in sb and c not in later]
    dn = ((tuple(sa.index(c) for c in contract), tuple(sb.index(c) for c in contract)),
          (tuple(sa.index(c) for c in batch), tuple(sb.index(c) for c in batch)))
    out = _la.dot_general(a, b, dn, pet)
    spec = "".join(batch) + "".join(c for c in sa if c not in batch and c not in contract) + \
        "".join(c for c in sb if c not in batch and c not in contract)
    return out, spec


def kron(a, b):
    x, y = _promote_dtypes_only([a, b], "kron")
    nd = builtins.max(x.ndim, y.ndim)
    x = reshape(x, (1,) * (nd - x.ndim) + x.shape)
    y = reshape(y, (1,) * (nd - y.ndim) + y.shape)
    prod_ = multiply(expand_dims(x, tuple(range(1, 2 * nd, 2))),
                     expand_dims(y, tuple(range(0, 2 * nd, 2))))
    return reshape(prod_, tuple(s * t for s, t in zip(x.shape, y.shape)))


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """Cross product of 2- or 3-vectors along `axisa` of `a` and `axisb` of `b` (both
    `axis` when given), broadcast over the other axes, with the vectors along `axisc` of
    the result; two 2-vectors give the z component only (NumPy's rules)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    x, y = _arr(a), _arr(b)
    x = moveaxis(x, _axis(axisa, x.ndim, "cross"), -1)
    y = moveaxis(y, _axis(axisb, y.ndim, "cross"), -1)
    if x.shape[-1] not in (2, 3) or y.shape[-1] not in (2, 3):
        raise ValueError(f"cross: incompatible dimensions for cross product (dimension must "
                         f"be 2 or 3), got vectors of length {x.shape[-1]} and {y.shape[-1]}")
    x, y = _promote_dtypes_only([x, y])
    x0, x1 = x[..., 0], x[..., 1]
    y0, y1 = y[..., 0], y[..., 1]
    z = x0 * y1 - x1 * y0
    if x.shape[-1] == 2 and y.shape[-1] == 2:
        return z
    x2 = x[..., 2] if x.shape[-1] == 3 else zeros_like(x0)
    y2 = y[..., 2] if y.shape[-1] == 3 else zeros_like(y0)
    out = stack(broadcast_arrays(x1 * y2 - x2 * y1, x2 * y0 - x0 * y2, z), -1)
    return moveaxis(out, -1, _axis(axisc, out.ndim, "cross"))


def convolve(a, v, mode="full", *, precision=None, preferred_element_type=None):
    """Discrete linear convolution of two 1-D arrays (`mode`: full, same or valid);
    integer input is computed in float32, as JAX. `precision` is accepted (funcgrad computes
    in the operands' precision); `preferred_element_type` is the result's dtype."""
    a, v = _promote_dtypes_only([a, v])
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError(f"convolve: a and v must be 1-D, got shapes {a.shape} and {v.shape}")
    if a.shape[0] == 0 or v.shape[0] == 0:
        raise ValueError("convolve: inputs cannot be empty")
    if not _dt.is_inexact(a.dtype):
        dt = _dt.to_inexact(a.dtype)
        a, v = astype(a, dt), astype(v, dt)
    if v.shape[0] > a.shape[0]:
        a, v = v, a
    n, m = a.shape[0], v.shape[0]
    lhs = reshape(a, (1, 1, n))
    rhs = reshape(flip(v), (1, 1, m))
    if mode == "full":
        pads = [(m - 1, m - 1)]
    elif mode == "same":
        pads = [(m // 2, m - 1 - m // 2)]
    elif mode == "valid":
        pads = [(0, 0)]
    else:
        raise ValueError(f"convolve: unknown mode {mode!r}")
    out = reshape(_la.conv_general_dilated(lhs, rhs, (1,), pads), (-1,))
    if preferred_element_type is not None:
        out = astype(out, preferred_element_type)
    return out


def correlate(a, v, mode="valid", *, precision=None, preferred_element_type=None):
    """Cross-correlation of two 1-D arrays (NumPy's `correlate`: `mode` valid, same or
    full; a complex `v` is conjugated); arguments as in `convolve`."""
    a, v = _arr(a), _arr(v)
    # c[k] = sum_n a[n + k] * conj(v[n]): NumPy and JAX conjugate v.
    if _dt.is_complex(v.dtype):
        v = conj(v)
    if a.ndim == 1 and v.ndim == 1 and v.shape[0] > a.shape[0]:
        # NumPy: with v longer than a, the result is the reversed correlation of (v, a).
        return flip(convolve(v, flip(a), mode, preferred_element_type=preferred_element_type))
    return convolve(a, flip(v), mode, preferred_element_type=preferred_element_type)


# The families call one another: each imports the others' names after its own
# definitions, so that they load in any order.
from ._dtypes import _HALF, _promote_dtypes_only, astype  # noqa: E402
from ._creation import _arr, _axis, diagonal, zeros_like  # noqa: E402
from ._elementwise import conj, multiply  # noqa: E402
from ._shape import (  # noqa: E402
    broadcast_arrays, broadcast_to, expand_dims, flip, moveaxis, ravel, reshape, squeeze, stack,
    transpose,
)
