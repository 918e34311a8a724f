"""An estimate of what a program computes and moves: `jit(f).lower(x).cost_analysis()`.

JAX returns XLA's estimate, a dict with "flops", "transcendentals" and "bytes accessed";
this counts the same quantities on funcgrad's IR:

- flops: 2·M·N·K for a matrix product (2 per multiply-add, as XLA counts); for a
  convolution, 2 per multiply-add of the kernel taps that land on the input (not on its
  padding); one per element for the other arithmetic (elementwise operations and
  reductions); index remappings (reshape, transpose, slice, gather, ...) cost none;
- transcendentals: one per element of exp, log, tanh, logistic, sin, pow, erf, ...
  (counted here, not in flops, as XLA does);
- bytes accessed: the bytes every operation reads and writes, counted as if nothing were
  fused (the compiled code fuses elementwise chains, so it moves less).

A scan counts its body `length` times; a while loop's trip count is not known before it
runs, so its body and condition count once; a cond counts its most expensive branch.
"""
from __future__ import annotations

import math

from .ir import Lit, Program, sub_programs

_TRANSCENDENTAL = frozenset((
    "exp", "exp2", "expm1", "log", "log1p", "sin", "cos", "tan", "tanh", "logistic", "asin",
    "acos", "atan", "atan2", "sinh", "cosh", "asinh", "acosh", "atanh", "erf", "erfc",
    "erf_inv", "lgamma", "digamma", "pow", "sqrt", "rsqrt", "cbrt", "igamma", "igammac",
    "betainc", "bessel_i0e", "bessel_i1e"))
# Operations that only move or index values.
_FREE = frozenset((
    "broadcast_in_dim", "reshape", "transpose", "squeeze", "expand_dims", "rev", "slice",
    "pad", "concatenate", "iota", "dynamic_slice", "dynamic_update_slice", "gather",
    "convert_element_type", "stop_gradient", "copy", "bitcast_convert_type", "select_n",
    "real", "imag", "conj", "device_put"))


def nbytes(avals) -> int:
    """The bytes of arrays of these abstract values."""
    return sum(math.prod(a.shape) * a.dtype.itemsize for a in avals)


def _eqn_flops(eqn) -> tuple[float, float]:
    name = eqn.prim.name
    out = eqn.outputs[0].aval if eqn.outputs else None
    size = math.prod(out.shape) if out is not None else 0
    if name == "dot_general":
        (lc, _), _ = eqn.params["dimension_numbers"]
        lhs = eqn.inputs[0].aval
        k = math.prod(lhs.shape[d] for d in lc)
        return 2.0 * size * k, 0.0
    if name == "conv_general_dilated":
        return _conv_flops(eqn), 0.0
    if name in _FREE:
        return 0.0, 0.0
    if name.startswith(("reduce_", "cum", "arg")) or name in ("sort", "top_k"):
        n = float(math.prod(eqn.inputs[0].aval.shape))
        return n, 0.0
    total = float(sum(math.prod(v.aval.shape) for v in eqn.outputs))
    return (0.0, total) if name in _TRANSCENDENTAL else (total, 0.0)


def _conv_flops(eqn) -> float:
    """2 per multiply-add of the taps that land on the input (not on padding, nor between
    the elements of a dilated input), as XLA counts."""
    p = eqn.params
    lhs, rhs = eqn.inputs[0].aval, eqn.inputs[1].aval
    out = eqn.outputs[0].aval
    dn = p["dimension_numbers"]
    valid = 1
    for i, (ld, rd_, od) in enumerate(zip(dn.lhs_spec[2:], dn.rhs_spec[2:], dn.out_spec[2:])):
        n, k, m = lhs.shape[ld], rhs.shape[rd_], out.shape[od]
        stride, (lo, _) = p["window_strides"][i], p["padding"][i]
        ldil, rdil = p["lhs_dilation"][i], p["rhs_dilation"][i]
        span = (n - 1) * ldil
        valid *= sum(1 for o in range(m) for t in range(k)
                     if 0 <= o * stride - lo + t * rdil <= span
                     and (o * stride - lo + t * rdil) % ldil == 0)
    return 2.0 * out.shape[dn.out_spec[0]] * out.shape[dn.out_spec[1]] * \
        rhs.shape[dn.rhs_spec[1]] * valid


def _cost(program: Program) -> tuple[float, float, float]:
    flops = trans = moved = 0.0
    for eqn in program.eqns:
        subs = sub_programs(eqn)
        if subs:
            costs = [_cost(p) for _, p in subs]
            name = eqn.prim.name
            if name == "scan":
                n = eqn.params["length"]
                f, t, b = (sum(c[i] for c in costs) * n for i in range(3))
            elif name in ("cond", "switch"):
                f, t, b = max(costs)
            else:
                f, t, b = (sum(c[i] for c in costs) for i in range(3))
            flops, trans, moved = flops + f, trans + t, moved + b
            continue
        f, t = _eqn_flops(eqn)
        flops += f
        trans += t
        moved += nbytes(v.aval for v in eqn.inputs if not isinstance(v, Lit)) + \
            nbytes(v.aval for v in eqn.outputs)
    return flops, trans, moved


def cost_analysis(program: Program) -> dict[str, float]:
    """{"flops", "transcendentals", "bytes accessed"} of `program` (see the module)."""
    flops, trans, moved = _cost(program)
    return {"flops": flops, "transcendentals": trans, "bytes accessed": moved}
