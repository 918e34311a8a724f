"""Elementwise primitives: arithmetic, transcendental math, comparisons, logic, `select`
and dtype conversion. Operands have equal shapes, or are scalars broadcast to the others
(funcgrad.numpy broadcasts explicitly before binding).

Each primitive's block registers its shape rule, NumPy impl, JVP/transpose and batching
rule, and its C expression (`lowering_exprs`: cdsl generic function or operator name).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .. import core, dtypes
from ..ad import deflinear, defjvp, defjvp2, defzero_jvp, is_undefined, unbroadcast_scalar
from ..batching import vectorized_batcher
from ..core import ShapedArray, bind

# prim -> how the C/OpenCL lowering builds its expression: ("op", "+"), ("call", "exp"), …
lowering_exprs: dict[core.Primitive, tuple] = {}

_FLOAT = "float"
_INEXACT = "inexact"     # float or complex: the functions NumPy defines on complex numbers
_COMPLEX = "complex"
_ORDERED = "ordered"     # not complex: lax's order comparisons (JAX's `_ordered`)
_NUM = "number"
_INT = "int"
_ANY = "any"
_BOOLINT = "boolint"


_KIND_TESTS = {
    _FLOAT: dtypes.is_float,
    _INEXACT: dtypes.is_inexact,
    _COMPLEX: dtypes.is_complex,
    _ORDERED: lambda dt: not dtypes.is_complex(dt),
    _NUM: lambda dt: not dtypes.is_bool(dt),
    _INT: dtypes.is_int,
    _ANY: lambda dt: True,
    _BOOLINT: lambda dt: dtypes.is_int(dt) or dtypes.is_bool(dt),
}
_kind_ok: dict = {}      # (kind, dtype) -> bool: every eager operation checks its operands


def _check_kind(name, dtype, kind):
    key = (kind, dtype)
    ok = _kind_ok.get(key)
    if ok is None:
        ok = _kind_ok[key] = bool(_KIND_TESTS[kind](dtype))
    if not ok:
        want = {_FLOAT: "floating point", _INEXACT: "floating point or complex",
                _COMPLEX: "complex", _ORDERED: "ordered (non-complex; compare the real parts "
                "or use funcgrad.numpy's lexicographic comparison)",
                _NUM: "numeric (non-bool)", _INT: "integer", _BOOLINT: "integer or bool"}[kind]
        raise TypeError(f"{name} requires {want} operands, got {dtype}")


def elementwise_shape(name, avals, kind=_ANY, out_dtype=None):
    shapes = [a.shape for a in avals if a.shape != ()]
    shape = shapes[0] if shapes else ()
    for s in shapes[1:]:
        if s != shape:
            raise TypeError(f"{name}: operand shapes must be equal (or scalar), got "
                            f"{', '.join(str(a.shape) for a in avals)}")
    dts = {a.dtype for a in avals}
    if len(dts) > 1:
        raise TypeError(f"{name}: operand dtypes must be equal, got "
                        f"{', '.join(str(a.dtype) for a in avals)}; cast with .astype first")
    dt = avals[0].dtype
    _check_kind(name, dt, kind)
    weak = all(a.weak_type for a in avals)
    return ShapedArray(shape, dt if out_dtype is None else out_dtype,
                       weak and out_dtype is None)


def _std(name, impl, nargs, kind, lower, out_dtype=None):
    p = core.new_primitive(name)
    core.shape_rules[p] = lambda *avals, **_: elementwise_shape(name, avals, kind, out_dtype)
    core.impl_rules[p] = impl
    vectorized_batcher(p)
    lowering_exprs[p] = lower
    return p


def _as_operands(*args, op: str = "lax"):
    """Arrays for the operands; Python scalars take the dtype of the first array.

    JAX's lax functions refuse mixed dtypes outright; funcgrad lets a Python scalar take
    the array's dtype, but only where that keeps its value (a float rounds to a float
    dtype): `lax.lt(bool_array, 2)` would otherwise compare with True, silently. A NumPy
    array is an array here, with its own (canonical) dtype, as it is once traced: eagerly,
    `lax.add(np.ones(3, np.float32), 2)` raised where jit accepted it."""
    dt = None
    for a in args:
        if isinstance(a, core.Array):
            dt = a.dtype
            break
        if type(a) is np.ndarray:
            dt = dtypes.canonicalize_value(a.dtype)
            break
    out = []
    for a in args:
        if isinstance(a, core.Array):
            out.append(a)
            continue
        if type(a) is np.ndarray:
            out.append(core.to_array(a))       # its own dtype, not the other operand's
            continue
        arr = core.to_array(a, dt)
        if dt is not None and isinstance(a, (bool, int, float)) and not dtypes.is_inexact(dt) \
                and arr._value.item() != a:
            raise TypeError(
                f"lax.{op}: the Python scalar {a!r} is not representable in {dt}, the other "
                f"operand's dtype (lax functions do not promote; it would become "
                f"{arr._value.item()!r}). Convert explicitly "
                f"(lax.convert_element_type(x, ...)) or use funcgrad.numpy, which promotes")
        out.append(arr)
    return out


def _unary(name, impl, kind=_FLOAT, lower=None):
    p = _std(name, impl, 1, kind, lower or ("call", name))
    return p, (lambda x: bind(p, *_as_operands(x, op=name)))


def _binary(name, impl, kind=_NUM, lower=None, out_dtype=None):
    p = _std(name, impl, 2, kind, lower, out_dtype)
    return p, (lambda x, y: bind(p, *_as_operands(x, y, op=name)))


def _erf_np(x):
    return np.vectorize(math.erf, otypes=[x.dtype])(x) if x.size else x.copy()


def _logistic_np(x):
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


# --- arithmetic ------------------------------------------------------------------------

neg_p, neg = _unary("neg", np.negative, _NUM, ("op", "-"))
core.jvp_rules[neg_p] = lambda p, t: (neg(p[0]), neg(t[0]))
core.transpose_rules[neg_p] = lambda ct, x: [neg(ct)]

add_p, add = _binary("add", np.add, _NUM, ("op", "+"))
core.jvp_rules[add_p] = lambda p, t: (add(*p), add(*t))
core.transpose_rules[add_p] = lambda ct, x, y: [
    unbroadcast_scalar(x.aval, ct) if is_undefined(x) else None,
    unbroadcast_scalar(y.aval, ct) if is_undefined(y) else None]

sub_p, sub = _binary("sub", np.subtract, _NUM, ("op", "-"))
core.jvp_rules[sub_p] = lambda p, t: (sub(*p), sub(*t))
core.transpose_rules[sub_p] = lambda ct, x, y: [
    unbroadcast_scalar(x.aval, ct) if is_undefined(x) else None,
    unbroadcast_scalar(y.aval, neg(ct)) if is_undefined(y) else None]

mul_p, mul = _binary("mul", np.multiply, _NUM, ("op", "*"))
defjvp(mul_p, lambda g, x, y: mul(g, y), lambda g, x, y: mul(x, g))


def _mul_transpose(ct, x, y):
    if is_undefined(x) and is_undefined(y):
        raise NotImplementedError("mul is not linear in both operands at once")
    if is_undefined(x):
        return [unbroadcast_scalar(x.aval, mul(ct, y)), None]
    return [None, unbroadcast_scalar(y.aval, mul(x, ct))]


core.transpose_rules[mul_p] = _mul_transpose


def _int_div_np(x, y):
    """Truncating integer division, exact for every int64 (never through float64), with the
    values the C/OpenCL helpers give where C is undefined: x / 0 == 0 (NumPy's value) and
    INT_MIN / -1 == INT_MIN (two's-complement wrap, as JAX/XLA)."""
    zero = y == 0
    neg1 = (y == -1) if not dtypes.is_unsigned(x.dtype) else np.zeros(np.shape(y), bool)
    safe = np.where(zero | neg1, 1, y).astype(x.dtype)
    with np.errstate(all="ignore"):
        # x - fmod(x, y) is an exact multiple of y, so the floor division below is exact.
        q = np.floor_divide(x - np.fmod(x, safe), safe)
        q = np.where(neg1, np.negative(x), q)
    return np.where(zero, 0, q).astype(x.dtype)


def _div_np(x, y):
    if dtypes.is_int(x.dtype):
        return _int_div_np(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(x, y)


div_p, div = _binary("div", _div_np, _NUM, ("op", "/"))
defjvp2(div_p, lambda g, ans, x, y: div(g, y), lambda g, ans, x, y: mul(neg(g), div(ans, y)))
core.transpose_rules[div_p] = lambda ct, x, y: [unbroadcast_scalar(x.aval, div(ct, y)), None]


def _rem_np(x, y):
    if dtypes.is_int(x.dtype):
        # x % 0 == 0 (NumPy's and JAX's value); x % -1 == 0 (INT_MIN % -1 traps in C).
        bad = (y == 0) | ((y == -1) if not dtypes.is_unsigned(x.dtype) else False)
        return np.fmod(x, np.where(bad, 1, y).astype(x.dtype)).astype(x.dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.fmod(x, y)


rem_p, rem = _binary("rem", _rem_np, _NUM, ("call", "fmod"))
defjvp2(rem_p, lambda g, ans, x, y: g if g.shape == ans.shape else mul(g, ones_like_op(ans)),
        lambda g, ans, x, y: mul(neg(g), trunc_op(div(x, y))))


def _pow_np(x, y):
    """C99 `pow` (Annex F), which JAX/XLA follows; the C/OpenCL helper `fpow` decides the
    same special cases. NumPy's own scalar-exponent fast paths (x ** 0.5 as sqrt, giving
    NaN at -inf) are not used: the special cases are set explicitly below. Complex powers
    are NumPy's (C99's cpow: the principal branch)."""
    if dtypes.is_complex(x.dtype):
        with np.errstate(all="ignore"):
            return np.power(x, y).astype(x.dtype)
    shape = np.broadcast_shapes(x.shape, y.shape)
    a = np.broadcast_to(x, shape)
    b = np.broadcast_to(y, shape)
    with np.errstate(all="ignore"):
        r = np.power(np.atleast_1d(a), np.atleast_1d(b)).reshape(shape)
        ax = np.abs(a)
        yint = np.floor(b) == b
        yodd = yint & (np.floor(b * 0.5) != b * 0.5)
        neg_y = b < 0
        edge = np.where(yodd, np.where(neg_y, 1 / a, a), np.where(neg_y, 1 / ax, ax))
        inf_y = np.where(ax == 1, 1, np.where((ax < 1) == neg_y, np.inf, 0))
        out = np.where((a < 0) & ~yint, np.nan, r)
        out = np.where((ax == 0) | (ax == np.inf), edge, out)
        out = np.where(np.isinf(b), inf_y, out)
        out = np.where(np.isnan(a) | np.isnan(b), a + b, out)
        out = np.where((b == 0) | (a == 1), 1, out)
    return out.astype(x.dtype)


pow_p, pow = _binary("pow", _pow_np, _INEXACT, ("call", "pow"))


def _pow_jvp_x(g, x, y):
    # JAX's rule for a floating exponent: y * x ** (y - 1) (nan at x = y = 0, as in JAX)
    return mul(g, mul(y, pow(x, sub(y, 1.0))))


def _pow_jvp_y(g, x, y):
    # JAX's rule: log of x with 0 replaced by 1, times x ** y (so 0 for 0 ** y with y > 0,
    # and nan = 0 * inf with y < 0, as in JAX)
    safe_x = select(eq(x, 0.0), 1.0, x)
    return mul(g, mul(log(safe_x), pow(x, y)))


def select(pred, on_true, on_false):
    on_true, on_false = _as_operands(on_true, on_false)
    return bind(select_p, pred, on_true, on_false)


defjvp(pow_p, _pow_jvp_x, _pow_jvp_y)

integer_pow_p = core.new_primitive("integer_pow")


def _integer_pow_shape(x, *, y):
    if y < 0 and not dtypes.is_inexact(x.dtype):
        raise TypeError(f"integer_pow: integers cannot be raised to negative powers, got "
                        f"integer_pow({x.dtype.name}{list(x.shape)}, {y}); cast the base to a "
                        f"float type first")
    return elementwise_shape("integer_pow", [x], _NUM)


def _integer_pow_np(x, *, y):
    """x ** y by repeated squaring over the bits of |y| (1 / that for y < 0), in the
    products the compiled backends make (`codegen.integer_pow`), as JAX's integer_pow does:
    16-bit floats in float32, rounded once at the end. (np.power(x, y) converted y to x's
    float type: (-1.0) ** 16777217 was 1.0 in float32.)"""
    dt = x.dtype
    v = x.astype(np.float32) if dt in (dtypes.float16, dtypes.bfloat16) else np.asarray(x)
    if y == 0:
        return np.ones_like(x)
    # (-y: this module's `abs` is the primitive; y may be past int32, 2**40 or 2**100)
    n, acc, base = -y if y < 0 else y, None, v
    with np.errstate(all="ignore"):
        while n:
            if n & 1:
                acc = base if acc is None else acc * base
            n >>= 1
            if n:
                base = base * base
        if y < 0:
            acc = np.ones_like(acc) / acc
    return np.asarray(acc).astype(dt)


core.shape_rules[integer_pow_p] = _integer_pow_shape
core.impl_rules[integer_pow_p] = _integer_pow_np
vectorized_batcher(integer_pow_p)
lowering_exprs[integer_pow_p] = ("integer_pow",)


def integer_pow(x, y: int):
    return bind(integer_pow_p, _as_operands(x)[0], y=int(y))


def _integer_pow_jvp(g, x, *, y):
    if y == 0:
        return mul(g, 0.0)
    return mul(g, mul(float(y) if dtypes.is_inexact(x.dtype) else y, integer_pow(x, y - 1)))


defjvp(integer_pow_p, _integer_pow_jvp)


def _balanced_eq(x, z, y):
    one = ones_like_op(z)
    return div(select(eq(x, z), one, zeros_like_op(z)),
               select(eq(y, z), add(one, one), one))


# NumPy's maximum/minimum of a -0 and a +0 returns the second operand (the C backend's
# loops, some SIMD instruction sets and OpenMP's lane combination the first, or either).
# JAX (XLA) orders -0 < +0 in max and min, as IEEE 754-2019's maximum/minimum do, whatever
# the operands' order; a NaN still wins. The NumPy implementations below (the reference
# backend, the fallbacks) fix up the zeros NumPy returns; complex numbers keep NumPy's
# lexicographic order.


def _zero_fix(dt) -> bool:
    return dtypes.is_float(dt)


def np_maximum(a, b):
    """`np.maximum` with -0 < +0: of two zeros, +0 unless both are -0 (their sum)."""
    r = np.maximum(a, b)
    if _zero_fix(r.dtype):
        zeros = (a == 0) & (b == 0)
        if zeros.any():
            r = np.where(zeros, a + b, r)
    return r


def np_minimum(a, b):
    """`np.minimum` with -0 < +0: of two zeros, -0 unless both are +0 (-(-a + -b))."""
    r = np.minimum(a, b)
    if _zero_fix(r.dtype):
        zeros = (a == 0) & (b == 0)
        if zeros.any():
            r = np.where(zeros, -(np.negative(a) + np.negative(b)), r)
    return r


def zero_sign_fix(kind, r, hit):
    """`r` (max or min results, NumPy's sign for a zero) with a zero result replaced by
    +0 (max) or -0 (min) where `hit`: some zero combined into it had that sign (the zeros'
    max is +0 unless all are -0; their min -0 unless all are +0)."""
    fix = (r == 0) & hit
    if not np.any(fix):
        return r
    return np.where(fix, np.asarray(0.0 if kind == "max" else -0.0, r.dtype), r)


def winning_zeros(kind, x):
    """Where `x` is the zero max (+0) or min (-0) prefers."""
    return (x == 0) & (np.signbit(x) == (kind == "min"))


def np_reduce_extreme(kind, x, axis, initial=None):
    """np.max / np.min over `axis` with -0 < +0 (`initial` as NumPy's)."""
    f = np.max if kind == "max" else np.min
    r = np.asarray(f(x, axis=axis) if initial is None else f(x, axis=axis, initial=initial))
    if _zero_fix(r.dtype) and x.size:
        r = zero_sign_fix(kind, r, np.any(winning_zeros(kind, x), axis=axis))
    return r.astype(x.dtype, copy=False)


max_p, max = _binary("max", np_maximum, _ANY, ("call", "fmax_nan"))
defjvp2(max_p, lambda g, ans, x, y: mul(g, _balanced_eq(x, ans, y)),
        lambda g, ans, x, y: mul(g, _balanced_eq(y, ans, x)))

min_p, min = _binary("min", np_minimum, _ANY, ("call", "fmin_nan"))
defjvp2(min_p, lambda g, ans, x, y: mul(g, _balanced_eq(x, ans, y)),
        lambda g, ans, x, y: mul(g, _balanced_eq(y, ans, x)))

atan2_p, atan2 = _binary("atan2", np.arctan2, _FLOAT, ("call", "atan2"))
defjvp(atan2_p, lambda g, x, y: mul(g, div(y, add(mul(x, x), mul(y, y)))),
       lambda g, x, y: mul(g, div(neg(x), add(mul(x, x), mul(y, y)))))

# --- transcendental and rounding -------------------------------------------------------


def _np_unary(f):
    def impl(x):
        with np.errstate(all="ignore"):
            return f(x)
    return impl


exp_p, exp = _unary("exp", _np_unary(np.exp), _INEXACT)
defjvp2(exp_p, lambda g, ans, x: mul(g, ans))

log_p, log = _unary("log", _np_unary(np.log), _INEXACT)
defjvp(log_p, lambda g, x: div(g, x))


def _log1p_np(x):
    if not dtypes.is_complex(x.dtype):
        with np.errstate(all="ignore"):
            return np.log1p(x)
    # NumPy's complex log1p is log(1 + z), which loses the real part near 0 (log1p(1e-8 +
    # 3e-9j) in complex64 has real part 0). XLA's formula, as the C lowering computes it:
    # Re = log1p(x (x + 2) + y^2) / 2 where |x| + |y| < 1, else log|1 + z|; Im = atan2(y, 1 + x).
    re, im = x.real, x.imag
    with np.errstate(all="ignore"):
        small = np.abs(re) + np.abs(im) < 1
        near = 0.5 * np.log1p(re * (re + 2) + im * im)
        far = np.log(np.hypot(1 + re, im))
        out = np.empty(x.shape, x.dtype)
        out.real = np.where(small, near, far)
        out.imag = np.arctan2(im, 1 + re)
    return out


log1p_p, log1p = _unary("log1p", _log1p_np, _INEXACT)
defjvp(log1p_p, lambda g, x: div(g, add(x, 1.0)))

expm1_p, expm1 = _unary("expm1", _np_unary(np.expm1), _INEXACT)
defjvp2(expm1_p, lambda g, ans, x: mul(g, add(ans, 1.0)))

sin_p, sin = _unary("sin", _np_unary(np.sin), _INEXACT)
defjvp(sin_p, lambda g, x: mul(g, cos(x)))

cos_p, cos = _unary("cos", _np_unary(np.cos), _INEXACT)
defjvp(cos_p, lambda g, x: neg(mul(g, sin(x))))

tan_p, tan = _unary("tan", _np_unary(np.tan), _INEXACT)
defjvp2(tan_p, lambda g, ans, x: mul(g, add(1.0, mul(ans, ans))))

asin_p, asin = _unary("asin", _np_unary(np.arcsin), _INEXACT)
defjvp(asin_p, lambda g, x: mul(g, rsqrt(sub(1.0, mul(x, x)))))

acos_p, acos = _unary("acos", _np_unary(np.arccos), _INEXACT)
defjvp(acos_p, lambda g, x: neg(mul(g, rsqrt(sub(1.0, mul(x, x))))))

atan_p, atan = _unary("atan", _np_unary(np.arctan), _INEXACT)
defjvp(atan_p, lambda g, x: div(g, add(1.0, mul(x, x))))

sinh_p, sinh = _unary("sinh", _np_unary(np.sinh), _INEXACT)
defjvp(sinh_p, lambda g, x: mul(g, cosh(x)))

cosh_p, cosh = _unary("cosh", _np_unary(np.cosh), _INEXACT)
defjvp(cosh_p, lambda g, x: mul(g, sinh(x)))

asinh_p, asinh = _unary("asinh", _np_unary(np.arcsinh), _INEXACT)


def _asinh_jvp(g, x):
    if dtypes.is_complex(x.dtype):
        return mul(g, rsqrt(add(mul(x, x), 1.0)))
    # JAX's rsqrt(x^2 + 1), but 1/|x| where x^2 + 1 overflows (|x| > 1.8e19 in float32):
    # there JAX's is 0, for ~1/|x| (the fuzzer, run 91); 0 at |x| = inf, NaN at NaN
    return mul(g, _rsqrt_or_inverse(add(mul(x, x), 1.0), abs(x)))


def _rsqrt_or_inverse(p, a):
    """rsqrt(p), or 1/a where p (x^2 -+ 1, a = |x|) overflowed: arcsinh's and arccosh's
    derivatives. 1/a is taken of 1 where p is finite, so that its own derivative (the
    second derivative, at a = 0) is not NaN where it is not used."""
    fits = is_finite(p)
    return select(fits, rsqrt(p), div(1.0, select(fits, 1.0, a)))


defjvp(asinh_p, _asinh_jvp)

acosh_p, acosh = _unary("acosh", _np_unary(np.arccosh), _INEXACT)


def _acosh_jvp(g, x):
    if dtypes.is_complex(x.dtype):
        # 1/sqrt(z^2 - 1) takes the other branch where Re z < 0; acosh's principal branch
        # has derivative 1/(sqrt(z - 1) sqrt(z + 1)) (equal for real z > 1).
        return div(g, mul(sqrt(sub(x, 1.0)), sqrt(add(x, 1.0))))
    # x^2 - 1 as (|x| - 1)(|x| + 1): the precision x*x - 1 loses near 1 is kept, and at
    # x = -1 it is +0 (so +inf, as JAX's), where (x - 1)(x + 1) was -0 (-inf). Where the
    # product overflows (|x| > 1.8e19 in float32) 1/|x|: JAX's rsqrt of it is 0 there
    # (arccosh(cosh(c)^2 + 1.25) in a scan lost its gradient at every step past the
    # overflow; the fuzzer, run 91); 0 at |x| = inf
    a = abs(x)
    return mul(g, _rsqrt_or_inverse(mul(sub(a, 1.0), add(a, 1.0)), a))


defjvp(acosh_p, _acosh_jvp)

atanh_p, atanh = _unary("atanh", _np_unary(np.arctanh), _INEXACT)
defjvp(atanh_p, lambda g, x: mul(div(1.0, add(1.0, x)), div(g, sub(1.0, x))))  # JAX's form

tanh_p, tanh = _unary("tanh", _np_unary(np.tanh), _INEXACT)
# JAX's form, (g + g*ans) * (1 - ans): 1 - ans is exact near saturation where 1 - ans*ans
# cancels, and a bfloat16/float16 gradient rounds as JAX's does.
defjvp2(tanh_p, lambda g, ans, x: mul(add(g, mul(g, ans)), sub(1.0, ans)))

logistic_p, logistic = _unary("logistic", _logistic_np)
defjvp2(logistic_p, lambda g, ans, x: mul(g, mul(ans, sub(1.0, ans))))

sqrt_p, sqrt = _unary("sqrt", _np_unary(np.sqrt), _INEXACT)
defjvp2(sqrt_p, lambda g, ans, x: div(mul(g, 0.5), ans))

rsqrt_p, rsqrt = _unary("rsqrt", _np_unary(lambda x: (1 / np.sqrt(x)).astype(x.dtype)),
                        _INEXACT)
defjvp2(rsqrt_p, lambda g, ans, x: mul(g, mul(-0.5, div(ans, x))))

erf_p, erf = _unary("erf", _erf_np)
defjvp(erf_p, lambda g, x: mul(g, mul(2 / math.sqrt(math.pi), exp(neg(mul(x, x))))))

abs_p = _std("abs", np.abs, 1, _NUM, ("call", "fabs"))
# |z| of a complex z is real: complex64 -> float32, as in NumPy and JAX.
core.shape_rules[abs_p] = lambda x: elementwise_shape("abs", [x], _NUM).update(
    dtype=dtypes.real_dtype(x.dtype))


def abs(x):
    return bind(abs_p, *_as_operands(x, op="abs"))


def _abs_jvp(g, ans, x):
    if dtypes.is_complex(x.dtype):
        # d|z| = Re(conj(z) dz) / |z|, and 0 at z = 0 (JAX's rule).
        safe = select(eq(ans, 0.0), ones_like_op(ans), ans)
        return real(mul(g, div(conj(x), complex(safe, zeros_like_op(safe)))))
    # JAX's rule: +g where x >= 0 (at +0.0 and -0.0 too: the derivative an L1 penalty on
    # weights that start at zero gets), -g elsewhere (NaN included)
    return select(ge(x, zeros_like_op(x)), g, neg(g))


defjvp2(abs_p, _abs_jvp)


def _sign_np(x):
    # sign(-0.0) is -0.0 and sign(NaN) NaN, as JAX/XLA (NumPy gives +0.0 for -0.0).
    if dtypes.is_float(x.dtype):
        return np.where(x == 0, x, np.sign(x)).astype(x.dtype)
    if dtypes.is_complex(x.dtype):
        # z / |z| (0 at 0), as JAX and NumPy 2.
        with np.errstate(all="ignore"):
            return np.where(x == 0, 0, x / np.abs(x)).astype(x.dtype)
    return np.sign(x)


sign_p, sign = _unary("sign", _sign_np, _NUM, ("sign",))
defzero_jvp(sign_p)

floor_p, floor = _unary("floor", np.floor)
defzero_jvp(floor_p)

ceil_p, ceil = _unary("ceil", np.ceil)
defzero_jvp(ceil_p)

round_p, round = _unary("round", np.rint, _FLOAT, ("call", "rint"))
defzero_jvp(round_p)

is_finite_p = _std("is_finite", np.isfinite, 1, _FLOAT, ("call", "isfinite"),
                   out_dtype=dtypes.bool_)
defzero_jvp(is_finite_p)


def is_finite(x):
    return bind(is_finite_p, _as_operands(x)[0])


# The sign bit of a float, NaN's included (x86's arithmetic makes negative NaNs: 0/0, inf -
# inf). Arithmetic cannot read it: `1 / x < 0` is False for every NaN, so funcgrad.numpy's
# signbit and copysign, built that way, said +1 for -NaN where JAX and NumPy say -1.
signbit_p = _std("signbit", np.signbit, 1, _FLOAT, ("call", "signbit"), out_dtype=dtypes.bool_)
defzero_jvp(signbit_p)


def signbit(x):
    return bind(signbit_p, _as_operands(x)[0])


# --- complex parts ---------------------------------------------------------------------
# `real`, `imag`, `conj` and `complex` are R-linear; reverse mode transposes them as linear
# maps, without conjugating (JAX's convention: vjp is the plain transpose, see api.grad).

real_p = core.new_primitive("real")
core.shape_rules[real_p] = lambda x: elementwise_shape("real", [x], _COMPLEX).update(
    dtype=dtypes.real_dtype(x.dtype))
core.impl_rules[real_p] = lambda x: np.real(x).copy()
vectorized_batcher(real_p)
lowering_exprs[real_p] = ("call", "real")


def real(x):
    """The real part of a complex array (JAX: `lax.real`)."""
    return bind(real_p, *_as_operands(x, op="real"))


imag_p = core.new_primitive("imag")
core.shape_rules[imag_p] = lambda x: elementwise_shape("imag", [x], _COMPLEX).update(
    dtype=dtypes.real_dtype(x.dtype))
core.impl_rules[imag_p] = lambda x: np.imag(x).copy()
vectorized_batcher(imag_p)
lowering_exprs[imag_p] = ("call", "imag")


def imag(x):
    """The imaginary part of a complex array (JAX: `lax.imag`)."""
    return bind(imag_p, *_as_operands(x, op="imag"))


conj_p = _std("conj", np.conjugate, 1, _COMPLEX, ("call", "conj"))


def conj(x):
    """The complex conjugate (JAX: `lax.conj`; a real array is made complex first, as
    lax.conj does)."""
    (x,) = _as_operands(x, op="conj")
    if not dtypes.is_complex(x.dtype):
        x = convert_element_type(x, dtypes.complex_dtype(x.dtype))
    return bind(conj_p, x)


complex_p = core.new_primitive("complex")


def _complex_shape(x, y):
    out = elementwise_shape("complex", [x, y], _FLOAT)
    if out.dtype not in (dtypes.float32, dtypes.float64):
        raise TypeError(f"complex: operands must be float32 or float64 (the parts of "
                        f"complex64/complex128), got {out.dtype}; cast with .astype first")
    return out.update(dtype=dtypes.complex_dtype(out.dtype))


def _complex_np(x, y):
    out = np.empty(np.broadcast_shapes(x.shape, y.shape), dtypes.complex_dtype(x.dtype))
    out.real, out.imag = x, y
    return out


core.shape_rules[complex_p] = _complex_shape
core.impl_rules[complex_p] = _complex_np
vectorized_batcher(complex_p)
lowering_exprs[complex_p] = ("call", "complex")


def complex(x, y):
    """`x + i y` from its real parts (JAX: `lax.complex`): float32 -> complex64, float64 ->
    complex128."""
    return bind(complex_p, *_as_operands(x, y, op="complex"))


def _real_transpose(ct, x):
    return [complex(ct, zeros_like_op(ct))]


def _imag_transpose(ct, x):
    return [complex(zeros_like_op(ct), neg(ct))]


def _complex_transpose(ct, x, y):
    return [unbroadcast_scalar(x.aval, real(ct)) if is_undefined(x) else None,
            unbroadcast_scalar(y.aval, neg(imag(ct))) if is_undefined(y) else None]


deflinear(real_p, _real_transpose)
deflinear(imag_p, _imag_transpose)
deflinear(conj_p, lambda ct, x: [conj(ct)])
deflinear(complex_p, _complex_transpose)


def trunc_op(x):
    return select(lt(x, 0.0), ceil(x), floor(x))


def ones_like_op(x):
    from .structural import full
    return full(x.shape, 1, x.dtype)


def zeros_like_op(x):
    from .structural import full
    return full(x.shape, 0, x.dtype)


# --- comparisons and logic -------------------------------------------------------------


def _cmp(name, impl, op, kind=_ANY):
    p = _std(name, impl, 2, kind, ("op", op), out_dtype=dtypes.bool_)
    defzero_jvp(p)
    return p, (lambda x, y: bind(p, *_as_operands(x, y, op=name)))


eq_p, eq = _cmp("eq", np.equal, "==")
ne_p, ne = _cmp("ne", np.not_equal, "!=")
# Complex numbers are not ordered: lax's order comparisons refuse them, as JAX's do
# (funcgrad.numpy.less compares them lexicographically, as NumPy and jnp.less).
lt_p, lt = _cmp("lt", np.less, "<", _ORDERED)
le_p, le = _cmp("le", np.less_equal, "<=", _ORDERED)
gt_p, gt = _cmp("gt", np.greater, ">", _ORDERED)
ge_p, ge = _cmp("ge", np.greater_equal, ">=", _ORDERED)


def _logic(name, impl, op, nargs=2, kind=_BOOLINT):
    p = _std(name, impl, nargs, kind, ("op", op))
    defzero_jvp(p)
    return p, (lambda *xs: bind(p, *_as_operands(*xs, op=name)))


and_p, and_ = _logic("and", np.bitwise_and, "&")
or_p, or_ = _logic("or", np.bitwise_or, "|")
xor_p, xor = _logic("xor", np.bitwise_xor, "^")
not_p, not_ = _logic("not", lambda x: np.logical_not(x) if x.dtype == np.bool_
                     else np.invert(x), "~", 1)


def _shift_impl(f):
    def impl(x, y):
        bits = x.dtype.itemsize * 8
        big = (y < 0) | (y >= bits)
        out = f(x, np.where(big, 0, y).astype(x.dtype))
        return np.where(big, 0, out).astype(x.dtype)
    return impl


# Integers only, as JAX's: on booleans the reference shifted NumPy's bools (True << True
# is True) and C its ints truncated to bool, and the two disagreed.
shift_left_p, shift_left = _logic("shift_left", _shift_impl(np.left_shift), "<<", kind=_INT)
shift_right_logical_p, shift_right_logical = _logic(
    "shift_right_logical", _shift_impl(np.right_shift), ">>", kind=_INT)

# --- select and conversion -------------------------------------------------------------

select_p = core.new_primitive("select")


def _select_shape(pred, t, f):
    if pred.dtype != dtypes.bool_:
        raise TypeError(f"select: predicate must be bool, got {pred.dtype}")
    out = elementwise_shape("select", [t, f])
    if pred.shape not in ((), out.shape) and out.shape != ():
        raise TypeError(f"select: predicate shape {pred.shape} must be scalar or equal to the "
                        f"branch shape {out.shape}")
    if out.shape == () and pred.shape != ():
        return out.update(shape=pred.shape)
    return out


core.shape_rules[select_p] = _select_shape
core.impl_rules[select_p] = lambda p, t, f: np.where(p, t, f).astype(
    np.result_type(t.dtype, f.dtype))
vectorized_batcher(select_p)
lowering_exprs[select_p] = ("select",)


def _select_jvp(primals, tangents):
    p, t, f = primals
    _, tt, tf = tangents
    return select(p, t, f), select(p, tt, tf)


def _select_transpose(ct, p, t, f):
    zeros = zeros_like_op(ct)
    return [None,
            unbroadcast_scalar(t.aval, select(p, ct, zeros)) if is_undefined(t) else None,
            unbroadcast_scalar(f.aval, select(p, zeros, ct)) if is_undefined(f) else None]


core.jvp_rules[select_p] = _select_jvp
core.transpose_rules[select_p] = _select_transpose

convert_element_type_p = core.new_primitive("convert_element_type")
core.shape_rules[convert_element_type_p] = lambda x, *, new_dtype, weak_type: ShapedArray(
    x.shape, new_dtype, weak_type)


def _convert_np(x, *, new_dtype, weak_type):
    """Float -> integer casts saturate, as XLA on CPU (and the C/OpenCL helper `f2i`):
    truncate toward zero; NaN -> 0; +inf and values above the range -> the type's max;
    -inf and values below it -> the type's min (0 for unsigned types)."""
    new_dtype = np.dtype(new_dtype)
    if dtypes.is_float(x.dtype) and dtypes.is_int(new_dtype):
        info = np.iinfo(new_dtype)
        # 2**(bits-1) (2**bits unsigned) is the first value above the range; in the source
        # float type it is exact (or inf, which no finite value reaches).
        with np.errstate(all="ignore"):
            top = x.dtype.type(2.0 ** (info.bits - (1 if info.min < 0 else 0)))
            lo = x.dtype.type(info.min)
            inside = (x > lo) & (x < top)
            out = np.where(inside, x, 0).astype(new_dtype)
            out = np.where(x >= top, info.max, out)
            out = np.where(x <= lo, info.min, out)
        return out.astype(new_dtype)
    if dtypes.is_complex(x.dtype) and not dtypes.is_complex(new_dtype):
        # The real part, silently: the public convert_element_type warned already.
        return _convert_np(np.real(x).copy(), new_dtype=new_dtype, weak_type=weak_type)
    if new_dtype == dtypes.bfloat16 and x.dtype.itemsize > 2 and x.dtype != np.float32:
        # XLA converts a float64 or a 32/64-bit integer to bfloat16 through float32 (two
        # roundings: int32 16842753 -> 16842752.0 -> 16777216), as JAX gives and the C
        # backend computes; ml_dtypes >= 0.7 rounds such a cast once (16908288)
        return x.astype(np.float32).astype(new_dtype)
    return x.astype(new_dtype)


core.impl_rules[convert_element_type_p] = _convert_np
vectorized_batcher(convert_element_type_p)
lowering_exprs[convert_element_type_p] = ("convert",)


def convert_element_type(x, new_dtype, weak_type=False):
    """Cast `x` to `new_dtype` (JAX: `lax.convert_element_type`). Integer <-> integer casts
    wrap (two's complement); float -> float casts round to nearest; float -> integer casts
    truncate toward zero and saturate, as XLA on CPU, on every backend: NaN -> 0, +inf and
    values above the range -> the type's max, -inf and values below it -> the type's min
    (0 for unsigned types); anything -> bool is `x != 0` (NaN -> True). Complex -> real
    keeps the real part and warns (NumPy's ComplexWarning, as JAX)."""
    x = core.to_array(x)
    new_dtype = dtypes.canonicalize(new_dtype)
    if x.dtype == new_dtype and x.weak_type == weak_type:
        return x
    if dtypes.is_complex(x.dtype) and dtypes.is_bool(new_dtype):
        # nonzero in either part (JAX); the cast primitive would keep the real part only
        return ne(x, core.to_array(np.zeros((), x.dtype)))
    if dtypes.is_complex(x.dtype) and not dtypes.is_complex(new_dtype):
        warnings.warn("Casting complex values to real discards the imaginary part",
                      np.exceptions.ComplexWarning, stacklevel=2)
    return bind(convert_element_type_p, x, new_dtype=new_dtype, weak_type=bool(weak_type))


def with_weak_type(x, weak: bool):
    """`x` (same dtype) weakly typed or not: JAX's reductions return strong results and
    its elementwise functions follow their operands' flag, where a composition's internal
    casts and constants may have set or dropped it."""
    x = core.to_array(x)
    return convert_element_type(x, x.dtype, weak_type=weak)


def _convert_jvp(primals, tangents, *, new_dtype, weak_type):
    (x,), (t,) = primals, tangents
    out = _convert(x, new_dtype, weak_type)
    if dtypes.is_inexact(x.dtype) and dtypes.is_inexact(new_dtype):
        return out, _convert(t, new_dtype, weak_type)
    return out, zeros_like_op(out)


def _convert(x, new_dtype, weak_type):
    # The primitive without the public function's complex -> real warning: a derivative
    # rule taking the real part of a complex tangent or cotangent means it.
    if x.dtype == new_dtype and x.weak_type == weak_type:
        return x
    return bind(convert_element_type_p, x, new_dtype=new_dtype, weak_type=bool(weak_type))


def _convert_transpose(ct, x, *, new_dtype, weak_type):
    return [_convert(ct, x.aval.dtype, x.aval.weak_type)]


core.jvp_rules[convert_element_type_p] = _convert_jvp
core.transpose_rules[convert_element_type_p] = _convert_transpose

stop_gradient_p = _std("stop_gradient", lambda x: x, 1, _ANY, ("identity",))


def _stop_gradient_jvp(primals, tangents):
    return stop_gradient(primals[0]), zeros_like_op(primals[0])


# its output's tangent is a symbolic zero, as in JAX: what it feeds is not differentiated
# (a custom_jvp rule downstream is not called: random.gamma of a stop_gradient parameter)
_stop_gradient_jvp.zero_tangent = True
core.jvp_rules[stop_gradient_p] = _stop_gradient_jvp


def stop_gradient(x):
    """Identity whose derivative is zero (JAX: `lax.stop_gradient`), mapped over pytrees."""
    from ..tree import tree_map
    return tree_map(lambda a: bind(stop_gradient_p, core.to_array(a)), x)

