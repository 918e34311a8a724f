"""`lax.bitcast_convert_type`: reinterpret an array's bits as another dtype, composed from
arithmetic that every backend computes exactly (funcgrad has no bitcast primitive).

A float's bits are rebuilt from its value: the sign (including -0.0), the exponent found
with exact comparisons against powers of two (built as products of exact powers of two,
never `exp2`), and the mantissa, which is an exact integer once scaled. The other way round,
the value is rebuilt from the fields with the same exact powers of two. float16 and
bfloat16 compute in float32, which holds every one of their values and fields exactly.
Every NaN becomes the positive quiet NaN (JAX's `jnp.nan`, 0x7FC00000 in float32): its
payload and sign bit are not values arithmetic can read. Integers of the same width
convert with wraparound; a change of width splits each element into (or joins it from) a
trailing axis of the narrower type, least significant part first, as XLA does on
little-endian machines."""
from __future__ import annotations

import numpy as np

from . import dtypes as _dt


def _fnp():
    from . import numpy as fnp
    return fnp


def _unsigned(bits):
    return np.dtype(f"uint{bits}")


def _compute_float(bits):
    # float16/bfloat16 fields and values are exact in float32; float64 needs itself.
    return np.dtype(np.float64) if bits == 64 else np.dtype(np.float32)


def _pow2(e, fdt):
    """2.0**e for an int32 array e, exactly: a product of exact powers of two."""
    fnp = _fnp()
    mag = fnp.abs(e)
    up = fnp.ones(e.shape, fdt)
    down = fnp.ones(e.shape, fdt)
    nbits = 11 if fdt == np.float64 else 8
    for k in range(nbits):
        on = (mag >> k) & 1
        on = on.astype(bool)
        big = 2.0 ** (2 ** k) if 2 ** k <= 1023 else np.inf
        big = fdt.type(big if big <= float(np.finfo(fdt).max) else np.inf)     # 2**128 in float32
        up = up * fnp.where(on, big, fdt.type(1.0))
        down = down * fnp.where(on, fdt.type(0.5 ** (2 ** k)), fdt.type(1.0))
    return fnp.where(e >= 0, up, down)


def _float_info(dtype):
    info = _dt.finfo(dtype)
    nbits = np.dtype(dtype).itemsize * 8
    nmant = int(info.nmant)
    nexp = nbits - 1 - nmant
    bias = 2 ** (nexp - 1) - 1
    return nbits, nmant, nexp, bias


def _float_to_bits(x):
    """A float array -> its bits as the unsigned integer type of its width."""
    fnp = _fnp()
    nbits, nmant, nexp, bias = _float_info(x.dtype)
    cdt = _compute_float(nbits)
    udt = np.dtype(np.uint64) if nbits == 64 else np.dtype(np.uint32)
    idt = np.dtype(np.int64) if nbits == 64 else np.dtype(np.int32)
    v = x.astype(cdt)
    a = fnp.abs(v)
    neg = fnp.signbit(v)
    tiny = float(2.0 ** (1 - bias))
    normal = fnp.isfinite(a) & (a >= tiny)
    safe = fnp.where(normal, a, cdt.type(1.0))
    e = fnp.floor(fnp.log2(safe)).astype(idt)
    # log2 may round across a power of two: fix the exponent with exact comparisons.
    e = fnp.where(_pow2(e, cdt) > safe, e - 1, e)
    e = fnp.where(_pow2(e + 1, cdt) <= safe, e + 1, e)
    mant_normal = (safe / _pow2(e, cdt) - 1) * cdt.type(2.0 ** nmant)
    sub = fnp.where(normal | ~fnp.isfinite(a), cdt.type(0.0), a)
    mant_sub = sub * cdt.type(2.0 ** (bias - 1)) * cdt.type(2.0 ** nmant)
    mant = fnp.where(normal, mant_normal, mant_sub).astype(udt)
    exp_field = fnp.where(normal, (e + bias).astype(udt), udt.type(0))
    emax = udt.type(2 ** nexp - 1)
    exp_field = fnp.where(fnp.isfinite(a), exp_field, emax)
    mant = fnp.where(fnp.isnan(a), udt.type(1 << (nmant - 1)), mant)
    sign = fnp.where(neg & ~fnp.isnan(a), udt.type(1), udt.type(0))
    bits = (sign << (nbits - 1)) | (exp_field << nmant) | mant
    return bits.astype(_unsigned(nbits))


def _bits_to_float(u, dtype):
    """Unsigned integer bits -> the float `dtype` of the same width."""
    fnp = _fnp()
    nbits, nmant, nexp, bias = _float_info(dtype)
    cdt = _compute_float(nbits)
    udt = np.dtype(np.uint64) if nbits == 64 else np.dtype(np.uint32)
    idt = np.dtype(np.int64) if nbits == 64 else np.dtype(np.int32)
    u = u.astype(udt)
    sign = (u >> (nbits - 1)) & 1
    exp_field = (u >> nmant) & udt.type(2 ** nexp - 1)
    mant = (u & udt.type(2 ** nmant - 1)).astype(cdt) * cdt.type(2.0 ** -nmant)
    e = exp_field.astype(idt)
    normal = (1 + mant) * _pow2(fnp.where(e == 2 ** nexp - 1, 0, e) - bias, cdt)
    sub = mant * cdt.type(2.0 ** (1 - bias))
    v = fnp.where(e == 0, sub, normal)
    special = fnp.where(mant == 0, cdt.type(np.inf), cdt.type(np.nan))
    v = fnp.where(e == 2 ** nexp - 1, special, v)
    v = fnp.where(sign.astype(bool), -v, v)
    return v.astype(dtype)


def _to_bits(x):
    """Any array -> its bits as the unsigned integer type of its width."""
    if _dt.is_float(x.dtype):
        return _float_to_bits(x)
    return x.astype(_unsigned(np.dtype(x.dtype).itemsize * 8))


def _from_bits(u, dtype):
    if _dt.is_float(dtype):
        return _bits_to_float(u, dtype)
    return u.astype(dtype)


def bitcast_convert_type(operand, new_dtype):
    """JAX's `lax.bitcast_convert_type`: the bits of `operand` read as `new_dtype`. With a
    narrower `new_dtype` the result has a trailing axis of itemsize ratio; with a wider one
    the operand's last axis must have that size, and is consumed. See the module docstring
    for how funcgrad computes it (every NaN reads as the positive quiet NaN)."""
    fnp = _fnp()
    x = fnp.asarray(operand)
    new = np.dtype(_dt.canonicalize(new_dtype))
    for d in (x.dtype, new):
        if np.dtype(d) == np.bool_ or _dt.is_complex(d) or np.dtype(d).itemsize * 8 not in (
                8, 16, 32, 64):
            raise TypeError(f"bitcast_convert_type: funcgrad bitcasts integer and float "
                            f"types of 8 to 64 bits, got {x.dtype} -> {new}")
    if np.dtype(x.dtype) == new:
        return x
    wa, wb = np.dtype(x.dtype).itemsize * 8, new.itemsize * 8
    bits = _to_bits(x)
    if wa == wb:
        return _from_bits(bits, new)
    if wa > wb:
        parts = [((bits >> (wb * i)) & _unsigned(wa).type(2 ** wb - 1)).astype(_unsigned(wb))
                 for i in range(wa // wb)]
        return _from_bits(fnp.stack(parts, axis=-1), new)
    ratio = wb // wa
    if x.ndim == 0 or x.shape[-1] != ratio:
        raise ValueError(f"bitcast_convert_type: {x.dtype} -> {new} needs a last axis of "
                         f"size {ratio}, got shape {x.shape}")
    wide = _unsigned(wb)
    out = fnp.zeros(x.shape[:-1], wide)
    for i in range(ratio):
        out = out | (bits[..., i].astype(wide) << (wa * i))
    return _from_bits(out, new)


def _reduce_precision_bits(x, exponent_bits, mantissa_bits):
    """XLA's ReducePrecision on the bits of a float32/float64 array: round the mantissa to
    `mantissa_bits` (to nearest, ties to even), then overflow to a signed infinity and
    flush what is below the reduced type's normal range to a signed zero; NaN stays NaN."""
    fnp = _fnp()
    nbits, nmant, nexp, bias = _float_info(x.dtype)
    u = _unsigned(nbits)
    bits = _float_to_bits(x)
    if mantissa_bits < nmant:
        shift = nmant - mantissa_bits
        last = u.type(1 << shift)
        base_bias = u.type((1 << (shift - 1)) - 1)
        last_bit = (bits & last) >> u.type(shift)
        bits = (bits + last_bit + base_bias) & ~u.type((1 << shift) - 1)
    if exponent_bits < nexp:
        exp_mask = u.type(((1 << nexp) - 1) << nmant)
        sign_mask = u.type(1 << (nbits - 1))
        reduced_bias = (1 << (exponent_bits - 1)) - 1
        x_exp = bits & exp_mask
        overflow = x_exp > u.type((bias + reduced_bias) << nmant)
        underflow = x_exp <= u.type((bias - reduced_bias) << nmant)
        signed_zero = bits & sign_mask
        bits = fnp.where(overflow, signed_zero | exp_mask,
                         fnp.where(underflow, signed_zero, bits))
    out = _bits_to_float(bits, x.dtype)
    return fnp.where(fnp.isnan(x), x, out)


_REDUCE_PRECISION = {}


def reduce_precision(operand, exponent_bits, mantissa_bits):
    """JAX's `lax.reduce_precision`: `operand` rounded as if to a float type with
    `exponent_bits` and `mantissa_bits` (XLA's ReducePrecision: round to nearest even,
    overflow to infinity, values below that type's smallest normal flushed to zero), in its
    own dtype. Its derivative is the identity: JAX rounds the tangent (and cotangent) the
    same way, funcgrad passes it through unrounded (a custom_jvp tangent must be linear to
    transpose), so gradients differ from JAX's only where a cotangent is not representable
    in the reduced type."""
    from .api import custom_jvp
    fnp = _fnp()
    x = fnp.asarray(operand)
    if not _dt.is_float(x.dtype):
        raise TypeError(f"reduce_precision: a floating-point operand is required, got "
                        f"{x.dtype}")
    exponent_bits, mantissa_bits = int(exponent_bits), int(mantissa_bits)
    if exponent_bits < 1 or mantissa_bits < 0:
        raise ValueError(f"reduce_precision: exponent_bits must be at least 1 and "
                         f"mantissa_bits at least 0, got {exponent_bits}, {mantissa_bits}")
    key = (exponent_bits, mantissa_bits)
    if key not in _REDUCE_PRECISION:
        def impl(v):
            wide = v.astype(np.float64) if np.dtype(v.dtype).itemsize == 8 else v.astype(
                np.float32)
            return _reduce_precision_bits(wide, exponent_bits, mantissa_bits).astype(v.dtype)

        f = custom_jvp(impl)

        @f.defjvp
        def _jvp(primals, tangents):
            (v,), (t,) = primals, tangents
            return f(v), t
        _REDUCE_PRECISION[key] = f
    return _REDUCE_PRECISION[key](x)
