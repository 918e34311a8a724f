"""funcgrad.numpy's elementwise functions with NumPy broadcasting: arithmetic, comparisons,
powers, exponentials and logarithms, trigonometry, rounding, bitwise and logical
operations, floating-point classification, complex parts, `clip`, and the comparisons of
whole arrays (`isclose`, `allclose`, `array_equal`)."""

from __future__ import annotations

import math as _math

import numpy as _np

from .. import core as _core
from .. import dtypes as _dt
from .._recurring import compile_when_it_pays
from ..prims import elementwise as _ew
from ..prims import structural as _st

__all__ = [
    "abs", "absolute", "acos", "acosh", "add", "allclose", "angle", "arccos", "arccosh",
    "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "around", "array_equal", "asin",
    "asinh", "atan", "atanh", "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "cbrt",
    "ceil", "clip", "conj", "conjugate", "copysign", "cos", "cosh", "deg2rad", "degrees",
    "divide", "divmod", "equal", "exp", "exp2", "expm1", "fabs", "fix", "float_power", "floor",
    "floor_divide", "fmax", "fmin", "fmod", "greater", "greater_equal", "heaviside", "hypot",
    "imag", "invert", "isclose", "isfinite", "isinf", "isnan", "isneginf", "isposinf",
    "left_shift", "less", "less_equal", "log", "log10", "log1p", "log2", "logaddexp",
    "logical_and", "logical_not", "logical_or", "logical_xor", "maximum", "minimum", "mod",
    "multiply", "nan_to_num", "negative", "not_equal", "positive", "pow", "power", "rad2deg",
    "radians", "real", "reciprocal", "remainder", "right_shift", "rint", "round", "sign",
    "signbit", "sin", "sinc", "sinh", "sqrt", "square", "subtract", "tan", "tanh",
    "true_divide", "trunc",
]


def _binary(name, prim_fn, kind="num", to_float=False, on_bool=None):
    """`on_bool`: the primitive for boolean operands (NumPy's and JAX's add of booleans is
    logical or, multiply logical and)."""
    def f(x1, x2):
        a, b = _promote(name, x1, x2, to_float=to_float)
        if kind == "int" and not (_dt.is_int(a.dtype) or _dt.is_bool(a.dtype)):
            raise TypeError(f"{name}: only integer and boolean arrays are supported, got "
                            f"{a.dtype}")
        if on_bool is not None and _dt.is_bool(a.dtype):
            return on_bool(a, b)
        return prim_fn(a, b)
    f.__name__ = name
    f.__doc__ = f"Elementwise `{name}` with NumPy broadcasting (funcgrad)."
    return f


def _unary_float(name, prim_fn):
    def f(x):
        (a,) = _promote(name, x, to_float=True)
        return prim_fn(a)
    f.__name__ = name
    f.__doc__ = f"Elementwise `{name}` (integers are promoted to float32)."
    return f


add = _binary("add", _ew.add, on_bool=_ew.or_)
subtract = _binary("subtract", _ew.sub)
multiply = _binary("multiply", _ew.mul, on_bool=_ew.and_)
true_divide = divide = _binary("divide", _ew.div, to_float=True)
arctan2 = _binary("arctan2", _ew.atan2, to_float=True)
maximum = _binary("maximum", _ew.max)
minimum = _binary("minimum", _ew.min)
bitwise_and = _binary("bitwise_and", _ew.and_, "int")
bitwise_or = _binary("bitwise_or", _ew.or_, "int")
bitwise_xor = _binary("bitwise_xor", _ew.xor, "int")
_left_shift = _binary("left_shift", _ew.shift_left, "int")
_right_shift_logical = _binary("right_shift", _ew.shift_right_logical, "int")


def _shift_operands(name, x1, x2):
    """The operands of a shift, promoted together; booleans shift as int32 (JAX's
    promote_args_numeric: True << True is 2, an int32; the shift primitives have no boolean
    form)."""
    a, b = _promote(name, x1, x2)
    if _dt.is_bool(a.dtype):
        a, b = astype(a, _dt.int32), astype(b, _dt.int32)
    return a, b


def left_shift(x1, x2):
    """`x1 << x2`; a shift by a negative amount or by the bit width or more gives 0."""
    return _left_shift(*_shift_operands("left_shift", x1, x2))


def right_shift(x1, x2):
    """`x1 >> x2`: arithmetic (sign-filling) for signed integers, as NumPy and JAX; a shift
    by a negative amount or by the bit width or more gives 0, or -1 for negative x1."""
    a, b = _shift_operands("right_shift", x1, x2)
    if _dt.is_unsigned(a.dtype) or not _dt.is_int(a.dtype):
        return _right_shift_logical(a, b)
    neg = _ew.lt(a, 0)
    # For a < 0, ~a >= 0 shifts logically and ~(~a >> n) fills with ones.
    shifted = _ew.shift_right_logical(where(neg, _ew.not_(a), a), b)
    return where(neg, _ew.not_(shifted), shifted)
equal = _binary("equal", _ew.eq)
not_equal = _binary("not_equal", _ew.ne)


def _order_cmp(name, prim_fn):
    def f(x1, x2):
        a, b = _promote(name, x1, x2)
        if _dt.is_complex(a.dtype):
            # Lexicographic on (real, imag), as NumPy and jnp.
            ra, rb = _ew.real(a), _ew.real(b)
            return _ew.select(_ew.eq(ra, rb), prim_fn(_ew.imag(a), _ew.imag(b)),
                              prim_fn(ra, rb))
        return prim_fn(a, b)
    f.__name__ = name
    f.__doc__ = (f"Elementwise `{name}` with NumPy broadcasting; complex numbers compare "
                 "lexicographically (real part first), as in NumPy and JAX.")
    return f


less = _order_cmp("less", _ew.lt)
less_equal = _order_cmp("less_equal", _ew.le)
greater = _order_cmp("greater", _ew.gt)
greater_equal = _order_cmp("greater_equal", _ew.ge)

exp = _unary_float("exp", _ew.exp)
log = _unary_float("log", _ew.log)
log1p = _unary_float("log1p", _ew.log1p)
expm1 = _unary_float("expm1", _ew.expm1)
sin = _unary_float("sin", _ew.sin)
cos = _unary_float("cos", _ew.cos)
tan = _unary_float("tan", _ew.tan)
arcsin = asin = _unary_float("arcsin", _ew.asin)
arccos = acos = _unary_float("arccos", _ew.acos)
arctan = atan = _unary_float("arctan", _ew.atan)
sinh = _unary_float("sinh", _ew.sinh)
cosh = _unary_float("cosh", _ew.cosh)
tanh = _unary_float("tanh", _ew.tanh)
arcsinh = asinh = _unary_float("arcsinh", _ew.asinh)
arccosh = acosh = _unary_float("arccosh", _ew.acosh)
arctanh = atanh = _unary_float("arctanh", _ew.atanh)
sqrt = _unary_float("sqrt", _ew.sqrt)


def rint(x):
    """Rounds to the nearest integer, halves to even; an integer or bool `x` is converted to
    the default float (float64 under x64, strong), as JAX's rint (not `dtypes.to_inexact`'s
    float32)."""
    (a,) = _promote("rint", x)
    if not _dt.is_inexact(a.dtype):
        return _ew.convert_element_type(a, _dt.DEFAULT_FLOAT_(), False)
    if _dt.is_complex(a.dtype):     # each part rounded, as JAX's (and NumPy's)
        return _ew.complex(_ew.round(_ew.real(a)), _ew.round(_ew.imag(a)))
    return _ew.round(a)


def exp2(x):
    """2 ** x, as C99's pow(2, x): exact powers of two, within an ulp elsewhere
    (exp(x * ln 2) was ~30 ulps off for |x| ~ 100: the product's rounding is amplified)."""
    (a,) = _promote("exp2", x, to_float=True)
    return _ew.pow(2.0, a)


def log2(x):
    (a,) = _promote("log2", x, to_float=True)
    # (ln 2 as a strong constant of a's type: JAX's log2 and log10 are strongly typed
    # for weak input)
    return _ew.div(_ew.log(a), _st.full((), _math.log(2.0), a.dtype))


def log10(x):
    """log(x) * (1 / ln 10), as JAX's (the product, not log(x) / ln 10: its float64 values
    are closer, log10(2.0) and log10(1000.0) correctly rounded, and they are JAX's bits, on
    which an integer geomspace's truncation depends)."""
    (a,) = _promote("log10", x, to_float=True)
    if _dt.is_complex(a.dtype):
        return _ew.div(_ew.log(a), _st.full((), _math.log(10.0), a.dtype))
    return _ew.mul(_ew.log(a), _st.full((), 0.4342944819032518, a.dtype))


def logaddexp(x1, x2):
    a, b = _promote("logaddexp", x1, x2, to_float=True)
    if _dt.is_complex(a.dtype):
        return _logaddexp_complex(a, b)
    return _logaddexp(a, b)


def _logaddexp_complex(a, b):
    """log(exp(a) + exp(b)) of complex values, as JAX's: the operand with the larger real
    part (max's lexicographic order) is factored out, log(exp(a) + exp(b)) =
    m + log1p(exp(a + b - 2m)), and the imaginary part is wrapped into [-pi, pi]."""
    amax = _ew.max(a, b)
    out = _ew.add(amax, _ew.log1p(_ew.exp(_ew.sub(_ew.add(a, b), _ew.mul(amax, 2.0)))))
    im = _ew.imag(out)
    rem = _ew.rem(_ew.add(im, _math.pi), 2 * _math.pi)
    rem = _ew.select(_ew.lt(rem, 0.0), _ew.add(rem, 2 * _math.pi), rem)
    return _ew.complex(_ew.real(out), _ew.sub(rem, _math.pi))


def _logaddexp_impl(a, b):
    amax = _ew.max(a, b)
    out = _ew.add(_ew.log1p(_ew.exp(_ew.neg(_ew.abs(_ew.sub(a, b))))), amax)
    return where(_ew.eq(a, b), _ew.add(a, _math.log(2.0)), out)


def _logaddexp_jvp(primals, tangents):
    # As in JAX: the primal's max/abs/where are kinked where a == b, the derivative
    # (softmax weights) is smooth there.
    a, b = primals
    ta, tb = tangents
    out = _logaddexp(a, b)
    finite = _ew.is_finite(out)
    safe_out = where(finite, out, 0.0)
    wa = _ew.exp(_ew.sub(where(finite, a, 0.0), safe_out))
    wb = _ew.exp(_ew.sub(where(finite, b, 0.0), safe_out))
    # An infinite result: +inf follows the infinite operand (half each when both are:
    # logaddexp(inf, 1) moves with a alone); -inf (both operands -inf) and NaN have no
    # derivative: NaN, as JAX gives at (-inf, -inf). Both weights were 1 there.
    pos = _ew.eq(out, _np.inf)
    a_inf, b_inf = _ew.eq(a, _np.inf), _ew.eq(b, _np.inf)
    both = _ew.and_(a_inf, b_inf)
    wa = where(pos, where(both, 0.5, where(a_inf, 1.0, 0.0)), where(finite, wa, _np.nan))
    wb = where(pos, where(both, 0.5, where(b_inf, 1.0, 0.0)), where(finite, wb, _np.nan))
    return out, _ew.add(_ew.mul(ta, wa.astype(ta.dtype)), _ew.mul(tb, wb.astype(tb.dtype)))


def _make_logaddexp():
    from ..api import custom_jvp
    f = custom_jvp(_logaddexp_impl)
    f.defjvp(_logaddexp_jvp)
    return f


_logaddexp = _make_logaddexp()


def cbrt(x):
    """The real cube root (odd: cbrt(-8) = -2, cbrt(-0.0) = -0.0)."""
    (a,) = _promote("cbrt", x, to_float=True)
    _no_complex("cbrt", a)
    return _cbrt(a)


def _cbrt_jvp(primals, tangents):
    # JAX's rule, g / 3 * cbrt(x)^-2: +inf at 0 (the composition below gave 0 * inf = NaN)
    (a,), (g,) = primals, tangents
    y = _cbrt(a)
    return y, _ew.mul(g, _ew.mul(_ew.integer_pow(y, -2), 1.0 / 3.0))


def _cbrt_impl(a):
    w = astype(a, _dt.float32) if a.dtype in _HALF else a
    ax = _ew.abs(w)
    y = _ew.pow(ax, 1.0 / 3.0)
    # pow with a rounded 1/3 is off by |ln x| * eps (1e-6 relative at float32's extremes);
    # one Newton step y <- (2y + x/y^2) / 3 restores full precision (and the derivative).
    ok = _ew.and_(_ew.gt(y, 0.0), _ew.lt(y, _np.inf))
    safe = _ew.select(ok, y, ones_like(y))
    newton = _ew.div(_ew.add(_ew.mul(safe, 2.0), _ew.div(ax, _ew.mul(safe, safe))), 3.0)
    out = _ew.mul(_ew.sign(w), _ew.select(ok, newton, y))
    return out if out.dtype == a.dtype else astype(out, a.dtype)


def _make_cbrt():
    from ..api import custom_jvp
    f = custom_jvp(_cbrt_impl)
    f.defjvp(_cbrt_jvp)
    return f


_cbrt = _make_cbrt()


def _numeric(a):
    """A boolean array as int32, whether or not 64-bit types are on (JAX's
    promote_dtypes_numeric: `dtypes.to_numeric_dtype` takes bool to int32, not to the
    default integer)."""
    return a.astype(_dt.int32) if _dt.is_bool(a.dtype) else a


def square(x):
    (a,) = _promote("square", x)
    return _ew.integer_pow(_numeric(a), 2)


def reciprocal(x):
    (a,) = _promote("reciprocal", x, to_float=True)
    return _ew.div(ones_like(a), a)


def negative(x):
    (a,) = _promote("negative", x)
    if a.dtype == _dt.bool_:
        raise TypeError("negative: boolean negation is not supported, use logical_not")
    return _ew.neg(a)


def positive(x):
    return _arr(x)


def absolute(x):
    (a,) = _promote("absolute", x)
    if _dt.is_unsigned(a.dtype) or _dt.is_bool(a.dtype):
        return a
    return _ew.abs(a)


abs = absolute


def fabs(x):
    """|x| as a floating-point array (integers and bools become a float, float32 up to
    32 bits (JAX's `to_inexact`), as NumPy's and JAX's fabs); complex arrays raise TypeError."""
    (a,) = _promote("fabs", x, to_float=True)
    if _dt.is_complex(a.dtype):
        raise TypeError(f"fabs: complex arrays are not supported (as in NumPy and JAX), got "
                        f"{a.dtype}; use absolute")
    return _ew.abs(a)


def sign(x):
    (a,) = _promote("sign", x)
    return _ew.sign(a)


def _no_complex(name, a):
    if _dt.is_complex(a.dtype):
        raise TypeError(f"{name}: not defined for complex input ({a.dtype}), as in NumPy; "
                        f"apply it to the real and imaginary parts (real(x), imag(x))")


def floor(x):
    (a,) = _promote("floor", x)
    _no_complex("floor", a)
    return a if not _dt.is_float(a.dtype) else _ew.floor(a)


def ceil(x):
    (a,) = _promote("ceil", x)
    _no_complex("ceil", a)
    return a if not _dt.is_float(a.dtype) else _ew.ceil(a)


def trunc(x):
    (a,) = _promote("trunc", x)
    _no_complex("trunc", a)
    return a if not _dt.is_float(a.dtype) else _ew.trunc_op(a)


fix = trunc


def round(a, decimals=0):
    (x,) = _promote("round", a)
    if _dt.is_complex(x.dtype):
        # The real and imaginary parts rounded separately (NumPy, JAX).
        return _ew.complex(round(_ew.real(x), decimals), round(_ew.imag(x), decimals))
    if not _dt.is_float(x.dtype):
        if int(decimals) < 0:
            # NumPy rounds to tens, hundreds, ...; JAX raises: returning x unchanged was
            # silently wrong
            raise NotImplementedError(
                f"round: integer arrays ({x.dtype}) with decimals={decimals} < 0 are not "
                f"supported (as in JAX); round a float copy: "
                f"fnp.round(x.astype(fnp.float32), {decimals}).astype(x.dtype)")
        return x
    if decimals == 0:
        return _ew.round(x)
    if decimals > _np.log10(float(_dt.finfo(x.dtype).max)):
        return x                   # beyond the type's precision: a no-op (JAX; the scaling
        #                            overflowed to inf: round(float32 1.5, 39) was inf)
    f = 10.0 ** decimals
    if x.dtype == _dt.float16:
        # scaled in float32 and rounded back once, as JAX's (round(65504, 2) of float16 is
        # 65504 there; scaled in float16, as NumPy does, it overflowed to inf)
        y = _ew.convert_element_type(x, _dt.float32)
        return _ew.convert_element_type(_ew.div(_ew.round(_ew.mul(y, f)), f), x.dtype)
    return _ew.div(_ew.round(_ew.mul(x, f)), f)


around = round


def power(x1, x2):
    if isinstance(x2, (int, _np.integer)):
        # a concrete integer exponent (anything operator.index takes: a Python int or bool,
        # a NumPy integer) is JAX's integer_pow: the base's dtype, never promoted with the
        # exponent's (uint8 ** np.int8(3) is uint8)
        x2 = int(x2)
        (a,) = _promote("power", x1)
        a = _numeric(a)
        if x2 >= 0 or _dt.is_inexact(a.dtype):
            return _ew.integer_pow(a, x2)
    else:
        a, b = _promote("power", x1, x2)
        a, b = _numeric(a), _numeric(b)
    # a concrete negative integer exponent (a Python int or a NumPy integer, as JAX reads
    # both) of an integer base; int ** np.int32(-1) gave wrapped values
    if isinstance(x2, int) and x2 < 0 and not _dt.is_inexact(a.dtype):
        raise _core.TypeOrValueError(                           # (JAX: TypeError)
            f"power: integers to negative integer powers are not allowed "
            f"({a.dtype} ** {x2!r}); cast the base to a float type first")
    if _dt.is_inexact(a.dtype):
        return _ew.pow(a, b)
    # Integer power by repeated squaring over the bits of a non-negative exponent.
    out = ones_like(a)
    base = a
    for _ in range(a.dtype.itemsize * 8):
        out = where(_ew.ne(_ew.and_(b, ones_like(b)), 0), _ew.mul(out, base), out)
        b = _ew.shift_right_logical(b, ones_like(b))
        base = _ew.mul(base, base)
    return out


pow = power


def float_power(x1, x2):
    a, b = _promote("float_power", x1, x2, to_float=True)
    return _ew.pow(a, b)


def _float_divmod_impl(a, b):
    """Python's (and NumPy's) float floor division and remainder, derived from the exact
    fmod: div = (a - fmod(a, b)) / b snapped to an integer, the remainder takes b's sign.
    So 1.0 // 0.1 is 9.0 (floor(1.0 / 0.1) would be 10.0), inf // 2 is NaN, -1.0 % inf is
    inf; zero results carry NumPy's signs. For b == 0: a / b and fmod(a, 0) = NaN."""
    mod = _ew.rem(a, b)
    div = _ew.div(_ew.sub(a, mod), b)
    fix = _ew.and_(_ew.ne(mod, 0.0), _ew.ne(_ew.lt(b, 0.0), _ew.lt(mod, 0.0)))
    mod = _ew.select(fix, _ew.add(mod, b), mod)
    div = _ew.select(fix, _ew.sub(div, 1.0), div)
    # A zero remainder has b's sign: sign(b) * 0.0 (b != 0 here; b == 0 is replaced below).
    mod = _ew.select(_ew.eq(mod, 0.0), _ew.mul(_ew.sign(b), 0.0), mod)
    fl = _ew.floor(div)
    fl = _ew.select(_ew.gt(_ew.sub(div, fl), 0.5), _ew.add(fl, 1.0), fl)
    quot = _ew.div(a, b)
    # A zero quotient has the sign of a / b, which is finite whenever div is zero.
    fl = _ew.select(_ew.eq(div, 0.0), _ew.mul(quot, 0.0), fl)
    b_zero = _ew.eq(b, 0.0)
    return _ew.select(b_zero, quot, fl), _ew.select(b_zero, _ew.rem(a, b), mod)


def _float_divmod_jvp(primals, tangents):
    # As JAX: the quotient is piecewise constant; d(a % b) = da - (a // b) db. Written out so
    # that the zero-sign fix-ups of the primal do not zero the derivative at exact multiples.
    a, b = primals
    ta, tb = tangents
    q, m = _float_divmod(a, b)
    return (q, m), (zeros_like(q), _ew.sub(ta, _ew.mul(q, tb)))


def _make_float_divmod():
    from ..api import custom_jvp
    f = custom_jvp(_float_divmod_impl)
    f.defjvp(_float_divmod_jvp)
    return f


_float_divmod = _make_float_divmod()


def _int_floor_divmod(a, b):
    """Floor division and remainder of integers. Division by zero gives 0 for both (NumPy's
    values; JAX's `%` gives 0 too, its `//` an XLA-defined value); INT_MIN // -1 wraps to
    INT_MIN and INT_MIN % -1 is 0, as NumPy and JAX."""
    q = _ew.div(a, b)
    r = _ew.rem(a, b)
    if _dt.is_unsigned(a.dtype):
        return q, r
    adjust = _ew.and_(_ew.ne(r, 0), _ew.ne(_ew.lt(r, 0), _ew.lt(b, 0)))
    return where(adjust, _ew.sub(q, 1), q), where(adjust, _ew.add(r, b), r)


def floor_divide(x1, x2):
    """`x1 // x2` rounded toward -inf, consistent with `remainder` (Python's semantics)."""
    a, b = _promote("floor_divide", x1, x2)
    _no_complex("floor_divide", a)
    if _dt.is_bool(a.dtype):
        # As JAX (bools are promoted to int32 for arithmetic, under x64 too).
        a, b = _numeric(a), _numeric(b)
    if _dt.is_float(a.dtype):
        return _float_divmod(a, b)[0]
    return _int_floor_divmod(a, b)[0]


def remainder(x1, x2):
    """`x1 % x2` with the sign of x2 (Python's semantics; `fmod` keeps x1's sign)."""
    a, b = _promote("remainder", x1, x2)
    _no_complex("remainder", a)
    if _dt.is_bool(a.dtype):
        # As JAX (bools are promoted to int32 for arithmetic, under x64 too).
        a, b = _numeric(a), _numeric(b)
    if _dt.is_float(a.dtype):
        return _float_divmod(a, b)[1]
    return _int_floor_divmod(a, b)[1]


mod = remainder


def fmod(x1, x2):
    """C's fmod: the remainder of truncating division, with x1's sign (integers: x % 0 is
    0)."""
    a, b = _promote("fmod", x1, x2)
    _no_complex("fmod", a)
    if _dt.is_bool(a.dtype):
        # As JAX (bools are promoted to int32 for arithmetic, under x64 too).
        a, b = _numeric(a), _numeric(b)
    return _ew.rem(a, b)


def divmod(x1, x2):
    """`(x1 // x2, x1 % x2)`, computed together."""
    a, b = _promote("divmod", x1, x2)
    _no_complex("divmod", a)
    if _dt.is_bool(a.dtype):
        # As JAX (bools are promoted to int32 for arithmetic, under x64 too).
        a, b = _numeric(a), _numeric(b)
    if _dt.is_float(a.dtype):
        return _float_divmod(a, b)
    return _int_floor_divmod(a, b)


def fmax(x1, x2):
    """Elementwise maximum ignoring NaN: NaN only where both are NaN (NumPy/JAX `fmax`).
    JAX's formula, `where((x1 > x2) | isnan(x2), x1, x2)`: of equal values (-0 and +0
    among them) x2, unlike `maximum`'s -0 < +0, and its gradient goes to x2 alone."""
    a, b = _promote("fmax", x1, x2)
    if not _dt.is_inexact(a.dtype):
        return _ew.max(a, b)
    if _dt.is_complex(a.dtype):
        return _ew.select(_ew.ne(b, b), a, _ew.select(_ew.ne(a, a), b, _ew.max(a, b)))
    return _ew.select(_ew.or_(_ew.gt(a, b), _ew.ne(b, b)), a, b)


def fmin(x1, x2):
    """Elementwise minimum ignoring NaN: NaN only where both are NaN (NumPy/JAX `fmin`);
    JAX's `where((x1 < x2) | isnan(x2), x1, x2)`, x2 of equal values (see `fmax`)."""
    a, b = _promote("fmin", x1, x2)
    if not _dt.is_inexact(a.dtype):
        return _ew.min(a, b)
    if _dt.is_complex(a.dtype):
        return _ew.select(_ew.ne(b, b), a, _ew.select(_ew.ne(a, a), b, _ew.min(a, b)))
    return _ew.select(_ew.or_(_ew.lt(a, b), _ew.ne(b, b)), a, b)


def hypot(x1, x2):
    """sqrt(x1**2 + x2**2) without overflow or underflow in the squares (scaled by the
    larger magnitude); inf when either is infinite, even if the other is NaN (C99)."""
    a, b = _promote("hypot", x1, x2, to_float=True)
    _no_complex("hypot", a)
    a, b = _ew.abs(a), _ew.abs(b)
    # a select, not max/min: at a tie max's derivative splits the tangent evenly between
    # its operands, which loses (da - db) and made the second derivative at |x1| == |x2|
    # zero (-0.55 by finite differences at (1, 1)); the select keeps a smooth branch. At
    # the origin, a corner, max/min's even split gives JAX's gradient (0.5, 0.5).
    hi, lo = _ew.max(a, b), _ew.min(a, b)
    first = _ew.or_(_ew.ge(a, b), _ew.ne(a, a))
    origin = _ew.eq(hi, 0.0)
    big = _ew.select(origin, hi, _ew.select(first, a, b))
    small = _ew.select(origin, lo, _ew.select(first, b, a))
    safe = _ew.select(_ew.eq(big, 0.0), ones_like(big), big)
    ratio = _ew.div(small, safe)
    out = _ew.mul(big, _ew.sqrt(_ew.add(_ew.mul(ratio, ratio), 1.0)))
    either_inf = _ew.or_(_ew.eq(a, _np.inf), _ew.eq(b, _np.inf))
    return _ew.select(either_inf, full_like(out, _np.inf), out)


def deg2rad(x):
    return multiply(_promote("deg2rad", x, to_float=True)[0], _np.pi / 180)


def rad2deg(x):
    return multiply(_promote("rad2deg", x, to_float=True)[0], 180 / _np.pi)


radians, degrees = deg2rad, rad2deg


def sinc(x):
    # sin(pi x) / (pi x), and for |pi x| < 0.5 its Maclaurin polynomial in (pi x)^2: the
    # quotient's derivative cancels to noise near 0 in float32 (0.0 at x = 1e-5, where it
    # is -(pi^2 / 3) x; JAX's is -0.0061 there and -inf from 1e-30 to 1e-20). Each branch
    # is fed a safe value where the other one is taken, so its derivative there is finite
    # (0 * finite).
    (a,) = _promote("sinc", x, to_float=True)
    pix = _ew.mul(a, _np.pi)
    small = _ew.lt(_ew.abs(pix), 0.5)
    safe = where(small, ones_like(a), pix)
    near = where(small, pix, zeros_like(a))
    z = _ew.mul(near, near)
    # sum_k (-z)^k / (2k + 1)! through k = 7: the next term is below 5e-20 (float64 too)
    coef = [(-1.0) ** k / _math.factorial(2 * k + 1) for k in range(8)]
    poly = coef[-1]
    for c in reversed(coef[:-1]):
        poly = _ew.add(_ew.mul(z, poly), c)
    return where(small, poly, _ew.div(_ew.sin(safe), safe))


def logical_and(x1, x2):
    a, b = _promote("logical_and", asarray(x1).astype(bool), asarray(x2).astype(bool))
    return _ew.and_(a, b)


def logical_or(x1, x2):
    a, b = _promote("logical_or", asarray(x1).astype(bool), asarray(x2).astype(bool))
    return _ew.or_(a, b)


def logical_xor(x1, x2):
    a, b = _promote("logical_xor", asarray(x1).astype(bool), asarray(x2).astype(bool))
    return _ew.xor(a, b)


def logical_not(x):
    return _ew.not_(asarray(x).astype(bool))


def bitwise_not(x):
    a = _arr(x)
    if not (_dt.is_int(a.dtype) or _dt.is_bool(a.dtype)):
        raise TypeError(f"bitwise_not: only integer and boolean arrays, got {a.dtype}")
    return _ew.not_(a)


invert = bitwise_not


def isfinite(x):
    a = _arr(x)
    if _dt.is_complex(a.dtype):
        return _ew.and_(_ew.is_finite(_ew.real(a)), _ew.is_finite(_ew.imag(a)))
    if not _dt.is_float(a.dtype):
        return full(a.shape, True, _dt.bool_)
    return _ew.is_finite(a)


def isnan(x):
    a = _arr(x)
    if not _dt.is_inexact(a.dtype):
        return full(a.shape, False, _dt.bool_)
    return _ew.ne(a, a)


def isinf(x):
    a = _arr(x)
    if _dt.is_complex(a.dtype):
        return _ew.or_(isinf(_ew.real(a)), isinf(_ew.imag(a)))
    if not _dt.is_float(a.dtype):
        return full(a.shape, False, _dt.bool_)
    return _ew.eq(_ew.abs(a), _np.inf)


def isposinf(x):
    a = _arr(x)
    _no_complex("isposinf", a)
    return _ew.eq(a, _np.inf) if _dt.is_float(a.dtype) else full(a.shape, False, _dt.bool_)


def isneginf(x):
    a = _arr(x)
    _no_complex("isneginf", a)
    return _ew.eq(a, -_np.inf) if _dt.is_float(a.dtype) else full(a.shape, False, _dt.bool_)


def signbit(x):
    a = _arr(x)
    _no_complex("signbit", a)
    if _dt.is_float(a.dtype):
        return _ew.signbit(a)                    # (-0.0 and -NaN included)
    return _ew.lt(a, 0)


def copysign(x1, x2):
    a, b = _promote("copysign", x1, x2, to_float=True)
    _no_complex("copysign", a)
    return where(signbit(b), _ew.neg(_ew.abs(a)), _ew.abs(a))


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    a = _arr(x)
    if _dt.is_complex(a.dtype):
        # The real and imaginary parts separately (NumPy).
        return _ew.complex(nan_to_num(_ew.real(a), copy, nan, posinf, neginf),
                           nan_to_num(_ew.imag(a), copy, nan, posinf, neginf))
    if not _dt.is_float(a.dtype):
        return a
    info = _dt.finfo(a.dtype)
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    a = _ew.with_weak_type(a, False)           # JAX's result is strongly typed
    a = where(isnan(a), full_like(a, nan), a)
    a = where(isposinf(a), full_like(a, posinf), a)
    return where(isneginf(a), full_like(a, neginf), a)


def clip(arr=None, /, min=None, max=None):
    """`arr` limited to [min, max] elementwise (either bound may be None)."""
    if arr is None:
        raise ValueError("clip: give the array to clip as the first argument")
    a_min, a_max = min, max
    x = _arr(arr)
    if a_min is not None:
        x = maximum(x, a_min)
    if a_max is not None:
        x = minimum(x, a_max)
    return x


def heaviside(x1, x2):
    a, b = _promote("heaviside", x1, x2, to_float=True)
    _no_complex("heaviside", a)
    out = where(_ew.lt(a, 0.0), zeros_like(a), where(_ew.gt(a, 0.0), ones_like(a), b))
    return where(_ew.ne(a, a), a, out)


def real(val):
    """The real part (a new Array of the same values for real input, as JAX's)."""
    x = _arr(val)
    return _ew.real(x) if _dt.is_complex(x.dtype) else _handle(x)


def imag(val):
    """The imaginary part (zeros of the input's dtype for real input)."""
    x = _arr(val)
    return _ew.imag(x) if _dt.is_complex(x.dtype) else zeros_like(x)


def conj(x, /):
    """The complex conjugate (a new Array of the same values for real input, as JAX's)."""
    a = _arr(x)
    return _ew.conj(a) if _dt.is_complex(a.dtype) else _handle(a)


conjugate = conj


def angle(z, deg=False):
    """The argument of `z`, atan2(imag(z), real(z)): for real input pi where the sign bit is
    set (-0.0 included), else 0; NaN stays NaN. In degrees when `deg`."""
    (x,) = _promote("angle", z)
    if not _dt.is_inexact(x.dtype):
        # JAX's angle takes integers and bools to the default float (float64 under x64),
        # not to `dtypes.to_inexact`'s float32
        x = _ew.convert_element_type(x, _dt.DEFAULT_FLOAT_(), x.weak_type)
    if _dt.is_complex(x.dtype):
        out = arctan2(_ew.imag(x), _ew.real(x))
    else:
        out = arctan2(zeros_like(x), x)
    return rad2deg(out) if deg else out


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|a - b| <= atol + rtol * |b| elementwise, or a == b (equal infinities); NaN is close
    to NaN only when `equal_nan`. Compared in the operands' inexact type (integers and bools
    as JAX's `to_inexact` float), as JAX and NumPy: int32 1000000 and 1000001 are close. Only a
    finite `b` can be within the tolerance (an infinite one equals or is not close)."""
    x, y = _promote("isclose", a, b, to_float=True)
    close = logical_and(isfinite(y), less_equal(absolute(subtract(x, y)),
                                                add(atol, multiply(rtol, absolute(y)))))
    close = logical_or(close, equal(x, y))
    if equal_nan:
        close = logical_or(close, logical_and(isnan(x), isnan(y)))
    return close


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Whether every pair of `a` and `b` is close (`isclose`)."""
    return all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1, a2, equal_nan=False):
    x, y = _arr(a1), _arr(a2)
    if x.shape != y.shape:
        return asarray(False)
    eq_ = equal(x, y)
    if equal_nan:
        eq_ = logical_or(eq_, logical_and(isnan(x), isnan(y)))
    return all(eq_)


# The families call one another: each imports the others' names after its own
# definitions, so that they load in any order.
from ._dtypes import _HALF, _promote, astype  # noqa: E402
from ._creation import _arr, _handle, asarray, full, full_like, ones_like, zeros_like  # noqa: E402
from ._reductions import all  # noqa: E402
from ._indexing import where  # noqa: E402


# Integer and float floor division are 10-20 operations eagerly (one compiled call in JAX,
# whose jax.numpy functions are jitted); exact either way, so they compile once their eager
# calls with a signature have cost what building would (`_recurring`).
floor_divide = compile_when_it_pays(floor_divide)
remainder = mod = compile_when_it_pays(remainder)
divmod = compile_when_it_pays(divmod)   # noqa: A001 (NumPy's name)
