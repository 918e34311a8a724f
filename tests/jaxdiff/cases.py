"""The case tables: about 3,700 calls of funcgrad.numpy, lax, nn and scipy.special on edge
values (zeros of both signs, infinities, NaN, the ends of the integer types, float16 and
bool) and on weakly typed operands, each written once against a namespace `M` that is JAX's or funcgrad's (see
harness.py). `build(sections, x64)` gives the cases of the chosen sections; x64 adds the
64-bit operand types to the promotion section."""
from __future__ import annotations

import numpy as np

from .harness import Case

f32 = np.float32
FE = np.array([0., -0., np.inf, -np.inf, np.nan, 1., -1., 1e38, 3e38, -3e38,
               0.5, -0.5, 1.5, 2.5, -2.5, 100., -100., 1e-7, 3.1415927, 0.9999999, 1e-30, 88.8, -104., 1e20], f32)
FE64 = FE.astype(np.float64)
I32 = np.array([0, -1, 1, 7, -7, 2, -2, 31, 32, -2147483648, 2147483647], np.int32)
I8 = np.array([0, -1, 1, 127, -128, 5, -5, 7, 8], np.int8)
U8 = np.array([0, 1, 255, 128, 7, 8, 2], np.uint8)
I16 = np.array([0, -1, 1, 32767, -32768, 3, -3], np.int16)
U32 = np.array([0, 1, 4294967295, 2147483648, 7], np.uint32)
BB = np.array([True, False, True], bool)
F16 = np.array([0, -0., np.inf, np.nan, 1, -1, 65504, 6e-8, 0.5, 2.5, -2.5, 1e-3], np.float16)
I64 = np.array([0, -1, 1, 7, -7, 2**62, -2**63, 2**63 - 1], np.int64)
F2 = np.array([[1., -2., 3.], [np.nan, 0.5, -0.]], f32)


def fn(path):
    """The case calling M.np.<name> or M.<module>.<name> with the case's arguments."""
    mod, name = path.split(".") if "." in path else ("np", path)
    return lambda M, *a: getattr(getattr(M, mod), name)(*a)


# Function names by section and operand kind.
UNARY_F = """abs absolute negative positive sign sqrt cbrt exp exp2 expm1 log log2 log10 log1p sin cos tan
arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh floor ceil trunc rint round square reciprocal
deg2rad rad2deg degrees radians isnan isinf isfinite isposinf isneginf signbit logical_not sinc i0 fabs
frexp modf nan_to_num spacing conj real imag angle iscomplex isreal acos asin atan acosh asinh atanh
sort argsort cumsum cumprod nancumsum nancumprod ravel flatnonzero""".split()
UNARY_I = """abs negative positive sign square invert bitwise_not bitwise_invert logical_not isnan isfinite
floor ceil trunc rint round reciprocal sqrt exp sin bitwise_count cumsum cumprod
deg2rad isposinf signbit conj real imag nan_to_num""".split()
LAXU = """abs neg sign floor ceil round is_finite exp exp2 log log1p expm1 tanh logistic sin cos tan asin acos atan
sinh cosh asinh acosh atanh lgamma digamma erf erfc erf_inv bessel_i0e bessel_i1e sqrt rsqrt cbrt square
reciprocal integer_pow""".split()
LAXU_I = "abs neg sign bitwise_not clz population_count square".split()
SPU = "erf erfc erfinv gammaln digamma expit logit log_ndtr ndtr ndtri i0 i0e i1 i1e entr gamma sinc".split()
NNU = """relu relu6 sigmoid softplus soft_sign silu swish log_sigmoid leaky_relu hard_sigmoid hard_silu hard_swish
hard_tanh elu celu selu gelu glu tanh sparse_plus sparse_sigmoid squareplus mish identity softmax log_softmax
standardize logsumexp""".split()



def _unary(case, x64):
    """funcgrad.numpy's elementwise functions of one float, integer or bool array."""
    for n in UNARY_F:
        case(f"np.{n}(f32)", fn(n), FE)
        if n in ("round",):
            case("np.round(f32,1)", lambda M, x: M.np.round(x, 1), FE)
            case("np.round(f32,-1)", lambda M, x: M.np.round(x, -1), FE)
            case("np.round(f32,2)", lambda M, x: M.np.round(x, 2), np.array([1.005, 2.675, -0.125, 0.125, 1e30], f32))
    for n in UNARY_F[:40]:
        case(f"np.{n}(f16)", fn(n), F16)
    for n in UNARY_I:
        for arr, tn in [(I32, "i32"), (I8, "i8"), (U8, "u8"), (I16, "i16"), (BB, "bool"), (U32, "u32")]:
            case(f"np.{n}({tn})", fn(n), arr)


def _lax(case, x64):
    """lax's elementwise functions of one array."""
    for n in LAXU:
        if n == "integer_pow":
            for p in (0, 1, 2, 3, -1, -2, 5):
                case(f"lax.integer_pow(f32,{p})", lambda M, x, p=p: M.lax.integer_pow(x, p), FE)
                if p >= 0:
                    case(f"lax.integer_pow(i32,{p})", lambda M, x, p=p: M.lax.integer_pow(x, p), I32)
            continue
        case(f"lax.{n}(f32)", fn("lax." + n), FE)
        if n in ("round",):
            case("lax.round(f32,TO_NEAREST_EVEN)", lambda M, x: M.lax.round(x, M.lax.RoundingMethod.TO_NEAREST_EVEN), FE)
    for n in LAXU_I:
        for arr, tn in [(I32, "i32"), (I8, "i8"), (U8, "u8"), (U32, "u32")]:
            case(f"lax.{n}({tn})", fn("lax." + n), arr)


def _special(case, x64):
    """scipy.special's functions of one array."""
    for n in SPU:
        case(f"sp.{n}(f32)", fn("sp." + n), FE)
        case(f"sp.{n}(i32)", fn("sp." + n), np.array([0, 1, -1, 2, 5], np.int32))


def _nn(case, x64):
    """nn's activations, softmaxes and one_hot."""
    for n in NNU:
        case(f"nn.{n}(f32)", fn("nn." + n), FE)
        case(f"nn.{n}(f2)", fn("nn." + n), F2)
        case(f"nn.{n}(i32)", fn("nn." + n), np.array([0, 1, -1, 2, 5, -5], np.int32))
    case("nn.gelu(approx=False)", lambda M, x: M.nn.gelu(x, approximate=False), FE)
    case("nn.gelu(approx=True)", lambda M, x: M.nn.gelu(x, approximate=True), FE)
    case("nn.softmax -inf row", lambda M, x: M.nn.softmax(x, axis=-1),
         np.array([[-np.inf, -np.inf, -np.inf], [0, -np.inf, 1], [np.inf, 0, 1], [np.inf, np.inf, 0]], f32))
    case("nn.log_softmax -inf row", lambda M, x: M.nn.log_softmax(x, axis=-1),
         np.array([[-np.inf, -np.inf, -np.inf], [0, -np.inf, 1], [np.inf, 0, 1]], f32))
    case("nn.logsumexp -inf row", lambda M, x: M.nn.logsumexp(x, axis=-1),
         np.array([[-np.inf, -np.inf, -np.inf], [0, -np.inf, 1], [np.inf, 0, 1], [np.inf, -np.inf, 0]], f32))
    case("sp.logsumexp -inf row", lambda M, x: M.sp.logsumexp(x, axis=-1),
         np.array([[-np.inf, -np.inf, -np.inf], [0, -np.inf, 1], [np.inf, 0, 1], [np.inf, -np.inf, 0]], f32))
    case("sp.logsumexp b", lambda M, x, b: M.sp.logsumexp(x, axis=-1, b=b),
         np.array([[0., 1, 2], [0, -np.inf, 1]], f32), np.array([[1., -1, 0], [0, 2, 1]], f32))
    case("sp.logsumexp b return_sign", lambda M, x, b: M.sp.logsumexp(x, axis=-1, b=b, return_sign=True),
         np.array([[0., 1, 2], [0, -np.inf, 1], [1, 1, 1]], f32), np.array([[1., -1, 0], [0, 2, 1], [1, -1, 0]], f32))
    case("sp.logsumexp keepdims", lambda M, x: M.sp.logsumexp(x, axis=0, keepdims=True), F2)
    for n in ("softmax", "log_softmax"):
        case(f"nn.{n} where", lambda M, x, w, n=n: getattr(M.nn, n)(x, axis=-1, where=w),
             np.array([[1., 2, 3], [4, 5, 6]], f32), np.array([[True, False, True], [False, False, False]]))
    for nc in (3, 0):
        case(f"nn.one_hot oob nc={nc}", lambda M, x, nc=nc: M.nn.one_hot(x, nc), np.array([0, 1, 2, 3, -1, -4], np.int32))
    case("nn.one_hot float idx", lambda M, x: M.nn.one_hot(x, 3), np.array([0., 1.5, 2., -1.], f32))
    case("nn.one_hot dtype int", lambda M, x: M.nn.one_hot(x, 3, dtype=M.np.int32), np.array([0, 2, 5], np.int32))
    case("nn.one_hot axis0", lambda M, x: M.nn.one_hot(x, 3, axis=0), np.array([[0, 2], [1, 7]], np.int32))
    case("nn.glu axis0", lambda M, x: M.nn.glu(x, axis=0), np.arange(8, dtype=f32).reshape(4, 2))
    case("nn.leaky_relu slope", lambda M, x: M.nn.leaky_relu(x, 0.3), FE)
    case("nn.elu alpha", lambda M, x: M.nn.elu(x, 2.0), FE)
    case("nn.celu alpha", lambda M, x: M.nn.celu(x, 0.5), FE)
    case("nn.standardize", lambda M, x: M.nn.standardize(x, axis=-1), np.array([[1., 2, 3], [5, 5, 5]], f32))

# ---------------- binary ----------------
BIN = """add subtract multiply divide true_divide floor_divide remainder mod fmod power float_power maximum minimum
fmax fmin arctan2 hypot copysign nextafter logaddexp logaddexp2 heaviside equal not_equal less less_equal greater
greater_equal logical_and logical_or logical_xor divmod atan2 pow""".split()
BIN_I = """add subtract multiply divide true_divide floor_divide remainder mod fmod maximum minimum bitwise_and
bitwise_or bitwise_xor left_shift right_shift gcd lcm divmod equal less logical_and logical_xor power
bitwise_left_shift bitwise_right_shift fmax copysign arctan2 heaviside ldexp""".split()
LAXB = "add sub mul div rem pow max min atan2 nextafter eq ne lt le gt ge".split()
LAXB_I = "add sub mul div rem max min shift_left shift_right_arithmetic shift_right_logical bitwise_and bitwise_or bitwise_xor".split()
SPB = "xlogy xlog1py gammainc gammaincc betaln zeta polygamma kl_div rel_entr".split()



def _binary(case, x64):
    """Binary functions over the outer product of edge values; special functions of two or three arguments."""
    a, b = FE.reshape(-1, 1), FE.reshape(1, -1)
    for n in BIN:
        case(f"np.{n}(f32 outer)", fn(n), a, b)
    ai, bi = I32.reshape(-1, 1), I32.reshape(1, -1)
    for n in BIN_I:
        if n == "ldexp":
            case("np.ldexp(f32,i32)", fn(n), a, bi)
            continue
        if n in ("gcd", "lcm"):
            g = I32[I32 != -2147483648]
            case(f"np.{n}(i32 outer)", fn(n), g.reshape(-1, 1), g.reshape(1, -1))
        else:
            case(f"np.{n}(i32 outer)", fn(n), ai, bi)
        if n not in ("gcd", "lcm"):
            case(f"np.{n}(i8 outer)", fn(n), I8.reshape(-1, 1), I8.reshape(1, -1))
        case(f"np.{n}(u8 outer)", fn(n), U8.reshape(-1, 1), U8.reshape(1, -1))
        case(f"np.{n}(u32 outer)", fn(n), U32.reshape(-1, 1), U32.reshape(1, -1))
        case(f"np.{n}(bool outer)", fn(n), BB.reshape(-1, 1), BB.reshape(1, -1))
    for n in LAXB:
        case(f"lax.{n}(f32 outer)", fn("lax." + n), np.broadcast_to(a, (len(FE), len(FE))).copy(), np.broadcast_to(b, (len(FE), len(FE))).copy())
    for n in LAXB_I:
        for arr, tn in [(I32, "i32"), (I8, "i8"), (U8, "u8"), (U32, "u32")]:
            A = np.broadcast_to(arr.reshape(-1, 1), (len(arr), len(arr))).copy()
            B = A.T.copy()
            case(f"lax.{n}({tn} outer)", fn("lax." + n), A, B)
    for n in SPB:
        xs = np.array([0., 1., 2., 0.5, -1., np.inf, np.nan, 1e-30, 10.], f32)
        case(f"sp.{n}(outer)", fn("sp." + n), xs.reshape(-1, 1), xs.reshape(1, -1))
    case("sp.polygamma(int n)", lambda M, n, x: M.sp.polygamma(n, x), np.array([0, 1, 2, 3], np.int32).reshape(-1, 1), np.array([0.5, 1., -1.5, 10.], f32))
    case("sp.beta", lambda M, x, y: M.sp.beta(x, y), np.array([1., 2., 0.5, 30.], f32), np.array([1., 3., 0.5, 40.], f32))
    case("sp.betainc", lambda M, a, b, x: M.sp.betainc(a, b, x), np.array([1., 2., 0.5, 3.], f32), np.array([1., 3., 0.5, 2.], f32), np.array([0., 0.3, 1., 0.7], f32))
    case("sp.multigammaln", lambda M, x: M.sp.multigammaln(x, 3), np.array([2., 3.5, 10.], f32))
    case("sp.factorial", lambda M, x: M.sp.factorial(x), np.array([0., 1., 5., 10., -1., 2.5], f32))
    case("sp.xlogy(0,0)", lambda M: M.sp.xlogy(0., 0.))
    case("sp.xlog1py(0,-1)", lambda M: M.sp.xlog1py(0., -1.))


def _promote(case, x64):
    """Mixed dtypes and Python scalars: the promotion lattice and weak types."""
    # mixed dtype & weak type promotion
    vals = {"i8": I8[:3], "u8": U8[:3], "i16": I16[:3], "i32": I32[:3], "f16": F16[:3], "f32": FE[:3],
            "bool": BB, "u32": U32[:3]}
    if x64:
        vals["f64"] = FE64[:3]
        vals["i64"] = I64[:3]
    pys = {"int": 3, "float": 2.5, "bool": True, "bigint": 300, "neg": -1, "complex": 1 + 2j}
    for k1, v1 in vals.items():
        for k2, v2 in vals.items():
            case(f"np.add({k1},{k2})", fn("add"), v1, v2[:3])
        for kp, p in pys.items():
            case(f"np.add({k1},py{kp})", lambda M, x, p=p: M.np.add(x, p), v1)
            case(f"py{kp}*{k1}", lambda M, x, p=p: p * M.np.asarray(x), v1)
            case(f"np.maximum({k1},py{kp})", lambda M, x, p=p: M.np.maximum(x, p), v1)
            case(f"np.true_divide({k1},py{kp})", lambda M, x, p=p: M.np.true_divide(x, p), v1)
            case(f"np.where(c,{k1},py{kp})", lambda M, x, p=p: M.np.where(M.np.asarray([True, False, True]), x, p), v1)
        case(f"np.power({k1},2)", lambda M, x: M.np.power(x, 2), v1)
        case(f"np.power({k1},2.)", lambda M, x: M.np.power(x, 2.), v1)
        case(f"{k1} ** 2", lambda M, x: M.np.asarray(x) ** 2, v1)
        case(f"{k1} / {k1}", lambda M, x: M.np.asarray(x) / M.np.asarray(x), v1)
        case(f"{k1} // 2", lambda M, x: M.np.asarray(x) // 2, v1)
        case(f"{k1} % -2", lambda M, x: M.np.asarray(x) % -2, v1)
        case(f"-{k1}", lambda M, x: -M.np.asarray(x), v1)
        case(f"~{k1}", lambda M, x: ~M.np.asarray(x), v1)
        case(f"abs({k1})", lambda M, x: abs(M.np.asarray(x)), v1)
        case(f"{k1}<<1", lambda M, x: M.np.asarray(x) << 1, v1)
        case(f"lax.add({k1},py)", lambda M, x: M.lax.add(x, 2), v1)
        case(f"lax.mul(py,{k1})", lambda M, x: M.lax.mul(2.5, x), v1)
    for kp, p in pys.items():
        for kq, q in pys.items():
            case(f"np.add(py{kp},py{kq})", lambda M, p=p, q=q: M.np.add(p, q))
            case(f"np.multiply(asarray py{kp},py{kq})", lambda M, p=p, q=q: M.np.multiply(M.np.asarray(p), q))


def _intops(case, x64):
    """Integer edge cases: wrapping, division by zero, shifts past the width."""
    case("np.add(u8, 256)", lambda M, x: M.np.add(x, 256), U8)
    case("np.add(i8, -129)", lambda M, x: M.np.add(x, -129), I8)
    case("np.add(u8, -1)", lambda M, x: M.np.add(x, -1), U8)
    case("np.add(u32, -1)", lambda M, x: M.np.add(x, -1), U32)
    case("np.add(i32, 2**31)", lambda M, x: M.np.add(x, 2 ** 31), I32)
    case("np.add(f16, 1e5)", lambda M, x: M.np.add(x, 1e5), F16)
    case("np.multiply(bool, bool)", lambda M, x: M.np.multiply(x, x), BB)
    case("bool + bool", lambda M, x: M.np.asarray(x) + M.np.asarray(x), BB)
    case("bool - bool", lambda M, x: M.np.subtract(x, x), BB)
    case("np.float32(2)+2.5 py", lambda M: M.np.float32(2) + 2.5)
    case("np.int8(2)*300", lambda M: M.np.int8(2) * 300)
    case("np.asarray(2)+py", lambda M: M.np.asarray(2) + 2.5)
    case("np.asarray(2.0)*u8", lambda M, x: M.np.asarray(2.0) * x, U8)
    case("np.full weak", lambda M: M.np.full((2,), 3) + M.np.uint8(1))
    case("np.zeros_like int + py float", lambda M, x: M.np.zeros_like(x) + 1.5, I32)
    case("int div by zero", lambda M, x, y: (x // y, x % y, M.lax.div(x, y), M.lax.rem(x, y)),
         np.array([5, -5, 0, -2147483648, 7], np.int32), np.array([0, 0, 0, -1, -1], np.int32))
    case("u8 div by zero", lambda M, x, y: (x // y, x % y, M.lax.div(x, y), M.lax.rem(x, y), M.np.fmod(x, y)),
         np.array([5, 0, 255], np.uint8), np.array([0, 0, 0], np.uint8))
    case("i32 divmod neg", lambda M, x, y: M.np.divmod(x, y), np.array([7, -7, 7, -7, 0, -1], np.int32), np.array([2, 2, -2, -2, -3, 3], np.int32))
    case("f32 divmod neg", lambda M, x, y: M.np.divmod(x, y), np.array([7, -7, 7, -7, 0, -0., 5, 1e-45], f32), np.array([2, 2, -2, -2, -3, 3, np.inf, -1], f32))
    case("shift by >= width i32", lambda M, x, s: (x << s, x >> s, M.lax.shift_right_logical(x, s), M.lax.shift_left(x, s)),
         np.array([1, -1, 5, -8, 7, 7], np.int32), np.array([31, 31, 32, 33, -1, 100], np.int32))
    case("shift by >= width u8", lambda M, x, s: (x << s, x >> s, M.lax.shift_right_logical(x, s)),
         np.array([1, 255, 5, 128], np.uint8), np.array([7, 8, 9, 200], np.uint8))
    case("shift i8 by big", lambda M, x, s: (M.np.left_shift(x, s), M.np.right_shift(x, s)),
         np.array([1, -1, 5, -128], np.int8), np.array([7, 8, 9, 127], np.int8))

# ---------------- reductions ----------------
R2 = np.array([[1., -2., 3., 0.5], [np.nan, 0.5, -0., 4.], [2., 2., -np.inf, 1.]], f32)
R2n = np.array([[1., -2., 3., 0.5], [7., 0.5, -0., 4.], [2., 2., -1., 1.]], f32)
RI = np.array([[1, -2, 3, 0], [2147483647, 1, -1, 4], [2, 2, -2147483648, 1]], np.int32)
RB = np.array([[True, False, True, True], [False, False, True, False], [True, True, True, True]])
RU8 = np.array([[200, 100, 3, 0], [255, 1, 1, 4], [2, 2, 128, 1]], np.uint8)
W = np.array([[True, False, True, True], [False, False, False, False], [True, True, False, True]])
REDS = """sum prod mean max min amax amin argmax argmin all any var std nansum nanprod nanmean nanmax nanmin
nanargmax nanargmin nanvar nanstd median nanmedian ptp count_nonzero average""".split()


def _reduce(case, x64):
    """Reductions: every axis, keepdims, where=, dtype=, empty and overflowing inputs."""
    for n in REDS:
        for arr, tn in [(R2, "f32nan"), (R2n, "f32"), (RI, "i32"), (RB, "bool"), (RU8, "u8")]:
            for ax in (None, 0, 1, -1, (0, 1)):
                if n in ("argmax", "argmin", "nanargmax", "nanargmin", "average") and isinstance(ax, tuple):
                    continue
                case(f"np.{n}({tn},axis={ax})", lambda M, x, ax=ax, n=n: getattr(M.np, n)(x, axis=ax), arr)
            if tn in ("bool", "u8", "f32") and n not in ("sum", "prod", "mean", "var", "max"):
                continue
            if n not in ("argmax", "argmin", "nanargmax", "nanargmin", "average", "count_nonzero", "median", "nanmedian"):
                case(f"np.{n}({tn},axis=1,keepdims)", lambda M, x, n=n: getattr(M.np, n)(x, axis=1, keepdims=True), arr)
                case(f"np.{n}({tn},where)", lambda M, x, w, n=n: getattr(M.np, n)(x, axis=1, where=w), arr, W)
                case(f"np.{n}({tn},where,None)", lambda M, x, w, n=n: getattr(M.np, n)(x, where=w), arr, W)
            if n in ("argmax", "argmin", "nanargmax", "nanargmin"):
                case(f"np.{n}({tn},axis=1,keepdims)", lambda M, x, n=n: getattr(M.np, n)(x, axis=1, keepdims=True), arr)
            if n in ("sum", "prod", "mean", "nansum", "nanmean", "var", "std", "nanvar", "cumsum"):
                for dt in ("int8", "float16", "int32", "bool"):
                    case(f"np.{n}({tn},dtype={dt})", lambda M, x, n=n, dt=dt: getattr(M.np, n)(x, axis=0, dtype=getattr(M.np, dt)), arr)
        case(f"np.{n}(empty)", lambda M, x, n=n: getattr(M.np, n)(x), np.zeros((0,), f32))
        case(f"np.{n}(empty,axis0 of (0,3))", lambda M, x, n=n: getattr(M.np, n)(x, axis=0), np.zeros((0, 3), f32))
        case(f"np.{n}(scalar)", lambda M, x, n=n: getattr(M.np, n)(x), np.float32(2.5))
        case(f"np.{n}(int8 overflow)", lambda M, x, n=n: getattr(M.np, n)(x), np.array([100, 100, 100], np.int8))
        case(f"np.{n}(f16)", lambda M, x, n=n: getattr(M.np, n)(x), np.array([60000, 60000, 1, 2], np.float16))
    for dd in (0, 1, 2, 3, 4, 5):
        for n in ("var", "std", "nanvar", "nanstd"):
            case(f"np.{n}(ddof={dd})", lambda M, x, n=n, dd=dd: getattr(M.np, n)(x, axis=1, ddof=dd), R2)
    case("np.var(correction=1)", lambda M, x: M.np.var(x, correction=1), R2n)
    case("np.average weights", lambda M, x, w: M.np.average(x, axis=1, weights=w), R2n, np.array([1., 2., 0., 1.], f32))
    case("np.average weights returned", lambda M, x, w: M.np.average(x, axis=1, weights=w, returned=True), R2n, np.array([1., 2., 0., 1.], f32))
    case("np.average weights int", lambda M, x, w: M.np.average(x, axis=1, weights=w), RI, np.array([1, 2, 0, 1], np.int32))
    case("np.average weights zero-sum", lambda M, x, w: M.np.average(x, axis=1, weights=w), R2n, np.array([1., -1., 0., 0.], f32))
    case("np.mean(int)", lambda M, x: M.np.mean(x), np.array([2147483647, 2147483647], np.int32))
    case("np.sum bool", lambda M, x: M.np.sum(x), RB)
    case("np.sum u8", lambda M, x: M.np.sum(x), RU8)
    case("np.sum i8", lambda M, x: M.np.sum(x), np.array([100, 100], np.int8))
    case("np.prod i8", lambda M, x: M.np.prod(x), np.array([100, 100], np.int8))
    case("np.max initial", lambda M, x: M.np.max(x, axis=1, initial=2.5), R2n)
    case("np.max initial where", lambda M, x, w: M.np.max(x, axis=1, initial=-10., where=w), R2n, W)
    case("np.sum initial", lambda M, x: M.np.sum(x, axis=1, initial=10), RI)
    case("np.max empty initial", lambda M, x: M.np.max(x, initial=3.), np.zeros((0,), f32))
    case("np.max -0 vs 0", lambda M, x: (M.np.max(x), M.np.min(x)), np.array([-0., 0.], f32))
    case("np.max 0 vs -0", lambda M, x: (M.np.max(x), M.np.min(x)), np.array([0., -0.], f32))
    case("np.argmax ties nan", lambda M, x: (M.np.argmax(x), M.np.argmin(x), M.np.nanargmax(x), M.np.nanargmin(x)), np.array([1., np.nan, 3., 3., np.nan, -1., -1.], f32))
    case("np.argmax -0/0", lambda M, x: (M.np.argmax(x), M.np.argmin(x)), np.array([-0., 0., -0.], f32))
    case("np.argmax inf", lambda M, x: (M.np.argmax(x), M.np.argmin(x)), np.array([-np.inf, np.inf, np.inf, -np.inf], f32))
    case("np.nanargmax allnan", lambda M, x: M.np.nanargmax(x), np.array([np.nan, np.nan], f32))
    case("np.argmax bool", lambda M, x: (M.np.argmax(x, axis=1), M.np.argmin(x, axis=1)), RB)
    case("lax.argmax", lambda M, x: M.lax.argmax(x, 1, M.np.int32), R2)
    case("lax.argmin", lambda M, x: M.lax.argmin(x, 0, M.np.int32), R2)
    case("lax.reduce_max", lambda M, x: M.lax.reduce_max(x, (1,)), R2)
    case("lax.reduce_min", lambda M, x: M.lax.reduce_min(x, (0,)), R2)
    case("lax.reduce_sum", lambda M, x: M.lax.reduce_sum(x, (0, 1)), RI)
    case("lax.reduce_prod", lambda M, x: M.lax.reduce_prod(x, (1,)), RI)
    case("lax.reduce_and", lambda M, x: M.lax.reduce_and(x, (1,)), RB)
    case("lax.reduce_or", lambda M, x: M.lax.reduce_or(x, (1,)), RI)
    case("lax.reduce_xor", lambda M, x: M.lax.reduce_xor(x, (1,)), RI)
    case("lax.reduce add", lambda M, x: M.lax.reduce(x, 0., M.lax.add, (1,)), R2n)
    case("lax.reduce max init", lambda M, x: M.lax.reduce(x, 2., M.lax.max, (1,)), R2n)
    case("lax.reduce_precision", lambda M, x: M.lax.reduce_precision(x, 5, 10), FE)
    case("lax.reduce_precision bf16", lambda M, x: M.lax.reduce_precision(x, 8, 7), FE)
    case("np.all/any float nan", lambda M, x: (M.np.all(x), M.np.any(x)), np.array([np.nan, 0.], f32))



def _cum(case, x64):
    """Cumulative functions, diff, trapezoid."""
    for n in ("cumsum", "cumprod", "nancumsum", "nancumprod", "cumulative_sum", "cumulative_prod"):
        for arr, tn in [(R2, "f32nan"), (RI, "i32"), (RB, "bool"), (RU8, "u8")]:
            for ax in (0, 1, -1):
                case(f"np.{n}({tn},axis={ax})", lambda M, x, n=n, ax=ax: getattr(M.np, n)(x, axis=ax), arr)
            case(f"np.{n}({tn},axis=None)", lambda M, x, n=n: getattr(M.np, n)(x.ravel()) if n.startswith("cumulative") else getattr(M.np, n)(x), arr)
            for dt in ("int8", "float16", "int32", "float32", "bool"):
                case(f"np.{n}({tn},dtype={dt})", lambda M, x, n=n, dt=dt: getattr(M.np, n)(x, axis=0, dtype=getattr(M.np, dt)), arr)
        if n.startswith("cumulative"):
            case(f"np.{n} include_initial", lambda M, x, n=n: getattr(M.np, n)(x, axis=1, include_initial=True), R2n)
    for n in ("cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp"):
        for arr, tn in [(R2, "f32nan"), (RI, "i32"), (RU8, "u8"), (RB, "bool")]:
            for rev in (False, True):
                case(f"lax.{n}({tn},rev={rev})", lambda M, x, n=n, rev=rev: getattr(M.lax, n)(x, axis=1, reverse=rev), arr)
    case("lax.cumlogsumexp -inf", lambda M, x: M.lax.cumlogsumexp(x, axis=0), np.array([-np.inf, -np.inf, 0., np.inf, 1.], f32))
    case("lax.cummax nan", lambda M, x: (M.lax.cummax(x, axis=0), M.lax.cummin(x, axis=0)), np.array([1., np.nan, 3., -0., 0., -1.], f32))
    case("np.diff", lambda M, x: (M.np.diff(x), M.np.diff(x, n=2, axis=0), M.np.diff(x, prepend=0.)), R2n)
    case("np.diff bool", lambda M, x: M.np.diff(x), RB)
    case("np.diff u8", lambda M, x: M.np.diff(x), RU8)
    case("np.ediff1d", lambda M, x: M.np.ediff1d(x, to_begin=-1, to_end=[5, 6]), R2n)
    case("np.cumsum f16 overflow", lambda M, x: M.np.cumsum(x), np.array([60000, 60000, -60000], np.float16))
    case("np.cumsum i8 overflow", lambda M, x: M.np.cumsum(x), np.array([100, 100, -100], np.int8))
    case("np.cumsum u8 default dtype", lambda M, x: M.np.cumsum(x), np.array([200, 100], np.uint8))
    case("np.trapezoid", lambda M, x: M.np.trapezoid(x, dx=0.5, axis=1), R2n)

# ---------------- sorting ----------------
SN = np.array([3., np.nan, -0., 0., 1., -np.inf, np.inf, np.nan, 1., -1., 0., -0.], f32)


def _sort(case, x64):
    """Sorting, searching, top_k, unique, partition."""
    for arr, tn in [(SN, "f32sn"), (I32, "i32"), (U8, "u8"), (BB, "bool"), (I8, "i8"), (F16, "f16")]:
        case(f"np.sort({tn})", lambda M, x: M.np.sort(x), arr)
        case(f"np.sort({tn},desc)", lambda M, x: M.np.sort(x, descending=True), arr)
        case(f"np.argsort({tn})", lambda M, x: M.np.argsort(x), arr)
        case(f"np.argsort({tn},stable)", lambda M, x: M.np.argsort(x, stable=True), arr)
        case(f"np.argsort({tn},desc)", lambda M, x: M.np.argsort(x, descending=True), arr)
        case(f"np.argsort({tn},desc,stable)", lambda M, x: M.np.argsort(x, descending=True, stable=True), arr)
        case(f"lax.sort({tn})", lambda M, x: M.lax.sort(x), arr)
        case(f"lax.sort_key_val({tn})", lambda M, x: M.lax.sort_key_val(x, M.np.arange(x.shape[0])), arr)
        case(f"lax.top_k({tn})", lambda M, x: M.lax.top_k(x, 4), arr)
        case(f"np.unique({tn})", lambda M, x: M.np.unique(x), arr, jit=False)
        case(f"np.unique({tn},all)", lambda M, x: M.np.unique(x, return_index=True, return_inverse=True, return_counts=True), arr, jit=False)
        case(f"np.unique({tn},size)", lambda M, x: M.np.unique(x, size=12, fill_value=0), arr)
        case(f"np.unique({tn},equal_nan=False)", lambda M, x: M.np.unique(x, equal_nan=False), arr, jit=False)
        case(f"np.partition({tn})", lambda M, x: M.np.sort(M.np.partition(x, 3)[:3]), arr)
        case(f"np.argpartition({tn})", lambda M, x: M.np.sort(x[M.np.argpartition(x, 3)[:3]]), arr)
        case(f"np.searchsorted({tn})", lambda M, x, v: (M.np.searchsorted(M.np.sort(x), v), M.np.searchsorted(M.np.sort(x), v, side="right")), arr, arr)
        case(f"np.lexsort({tn})", lambda M, x: M.np.lexsort((x, x[::-1])), arr)
        case(f"np.sort({tn},2d,axis=0)", lambda M, x: M.np.sort(x.reshape(2, -1), axis=0), arr)
        case(f"np.sort({tn},2d,axis=None)", lambda M, x: M.np.sort(x.reshape(2, -1), axis=None), arr)
    case("lax.top_k nan", lambda M, x: M.lax.top_k(x, 5), np.array([1., np.nan, 3., np.inf, -np.nan, 2.], f32))
    case("lax.sort multi operand", lambda M, x, y: M.lax.sort((x, y), num_keys=1), SN, np.arange(12, dtype=np.int32))
    case("lax.sort multi keys", lambda M, x, y: M.lax.sort((x, y), num_keys=2), np.array([1., 1., 0., 0.], f32), np.array([3, 2, 1, 0], np.int32))
    case("lax.sort is_stable dim0", lambda M, x: M.lax.sort(x, dimension=0, is_stable=True), R2)
    case("np.searchsorted nan", lambda M, x, v: M.np.searchsorted(x, v), np.array([0., 1., 2., np.nan], f32), np.array([np.nan, -np.inf, 1., 5.], f32))
    case("np.searchsorted method", lambda M, x, v: [M.np.searchsorted(x, v, method=m) for m in ("scan", "scan_unrolled", "sort", "compare_all")], np.array([0., 1., 1., 2., np.nan], f32), np.array([np.nan, 1., 5., -0.], f32))
    case("np.searchsorted sorter", lambda M, x, v, s: M.np.searchsorted(x, v, sorter=s), np.array([3., 1., 2.], f32), np.array([2.5, 0.], f32), np.array([1, 2, 0], np.int32))
    case("np.digitize", lambda M, x, b: (M.np.digitize(x, b), M.np.digitize(x, b, right=True)), np.array([-1., 0., 0.5, 1., 2., np.nan], f32), np.array([0., 1., 2.], f32))
    case("np.digitize decreasing", lambda M, x, b: M.np.digitize(x, b), np.array([-1., 0., 0.5, 1., 2.], f32), np.array([2., 1., 0.], f32))
    case("np.sort_complex", lambda M, x: M.np.sort_complex(x), np.array([3, 1, 2], np.int32))
    case("np.sort complex", lambda M, x: M.np.sort(x), np.array([1 + 2j, 1 - 1j, np.nan + 0j, 0 + np.nan * 1j, -1 + 0j], np.complex64))
    case("np.argsort complex", lambda M, x: M.np.argsort(x), np.array([1 + 2j, 1 - 1j, 0 + 5j, -1 + 0j], np.complex64))
    case("np.max complex", lambda M, x: (M.np.max(x), M.np.argmax(x)), np.array([1 + 2j, 1 - 1j, 0 + 5j, -1 + 0j], np.complex64))
    case("np.maximum complex", lambda M, x, y: M.np.maximum(x, y), np.array([1 + 2j, 1 - 1j, 0 + 5j], np.complex64), np.array([1 + 1j, 1 + 1j, 0 + 5j], np.complex64))



def _misc(case, x64):
    """clip, rounding, casts, where/select."""
    # clip
    case("np.clip f32", lambda M, x: M.np.clip(x, -1., 2.), FE)
    case("np.clip min>max", lambda M, x: M.np.clip(x, 2., -1.), FE)
    case("np.clip nan bounds", lambda M, x: M.np.clip(x, np.nan, 1.), FE)
    case("np.clip None", lambda M, x: M.np.clip(x, None, 1.), FE)
    case("np.clip int with float bounds", lambda M, x: M.np.clip(x, -1.5, 2.5), I32)
    case("np.clip u8 neg bound", lambda M, x: M.np.clip(x, -1, 200), U8)
    case("np.clip i8 big bound", lambda M, x: M.np.clip(x, -1000, 1000), I8)
    case("np.clip array bounds", lambda M, x, lo, hi: M.np.clip(x, lo, hi), F2, np.array([0., 0., 5.], f32), np.array([1., -1., 4.], f32))
    case("lax.clamp", lambda M, x: M.lax.clamp(f32(-1.), x, f32(2.)), FE)
    case("lax.clamp min>max", lambda M, x: M.lax.clamp(f32(2.), x, f32(-1.)), FE)
    case("lax.clamp i32", lambda M, x: M.lax.clamp(np.int32(-1), x, np.int32(5)), I32)
    case("np.clip min= max= kw", lambda M, x: M.np.clip(x, min=0., max=1.), FE)
    # rounding
    case("np.round half", lambda M, x: (M.np.round(x), M.np.rint(x), M.np.around(x)), np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 8388609., -0.], f32))
    case("np.round decimals int", lambda M, x: (M.np.round(x, -1), M.np.round(x, -2), M.np.round(x, 1)), np.array([15, 25, -15, -25, 149, 150, 2147483647], np.int32))
    case("np.round decimals u8", lambda M, x: M.np.round(x, -1), np.array([15, 25, 255, 254, 5], np.uint8))
    case("np.round decimals f16", lambda M, x: M.np.round(x, 2), np.array([1.005, 0.125, 65504, -2.675], np.float16))
    case("lax.round away", lambda M, x: M.lax.round(x, M.lax.RoundingMethod.AWAY_FROM_ZERO), np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, -0.], f32))
    # casting
    case("astype f32->i32 in range", lambda M, x: x.astype(M.np.int32), np.array([1.9, -1.9, 0.5, -0.5, 2147483520., -2147483648.], f32))
    case("astype f32->u8 in range", lambda M, x: M.np.asarray(x).astype(M.np.uint8), np.array([1.9, 0.5, 255., 254.9], f32))
    case("astype f32->bool", lambda M, x: M.np.asarray(x).astype(bool), FE)
    case("astype i32->bool", lambda M, x: M.np.asarray(x).astype(bool), I32)
    case("astype i32->i8 wrap", lambda M, x: M.np.asarray(x).astype(M.np.int8), I32)
    case("astype i32->u8 wrap", lambda M, x: M.np.asarray(x).astype(M.np.uint8), I32)
    case("astype u32->i32 wrap", lambda M, x: M.np.asarray(x).astype(M.np.int32), U32)
    case("astype i32->f16", lambda M, x: M.np.asarray(x).astype(M.np.float16), I32)
    case("astype f32->f16 overflow", lambda M, x: M.np.asarray(x).astype(M.np.float16), FE)
    case("astype f32->bf16", lambda M, x: M.np.asarray(x).astype(M.np.bfloat16).astype(M.np.float32), FE)
    case("astype i32->f32 rounding", lambda M, x: M.np.asarray(x).astype(M.np.float32), np.array([16777217, 2147483647, -2147483647, 33554435], np.int32))
    case("astype bool->f32", lambda M, x: M.np.asarray(x).astype(M.np.float32), BB)
    case("astype c64->f32", lambda M, x: M.np.asarray(x).astype(M.np.float32), np.array([1 + 2j, -3j], np.complex64))
    case("lax.convert_element_type f32->i8 in range", lambda M, x: M.lax.convert_element_type(x, M.np.int8), np.array([1.9, -1.9, 127., -128.], f32))
    case("lax.convert_element_type i32->bool", lambda M, x: M.lax.convert_element_type(x, M.np.bool_), I32)
    case("lax.convert_element_type f32->bool", lambda M, x: M.lax.convert_element_type(x, M.np.bool_), FE)
    case("lax.bitcast f32->i32", lambda M, x: M.lax.bitcast_convert_type(x, M.np.int32), FE[FE == FE])
    case("lax.bitcast f32->u8", lambda M, x: M.lax.bitcast_convert_type(x, M.np.uint8), np.array([1., -2.], f32))
    case("lax.bitcast u8->f32", lambda M, x: M.lax.bitcast_convert_type(x, M.np.float32), np.array([[0, 0, 128, 63], [0, 0, 0, 192]], np.uint8))
    case("np.asarray py int big", lambda M: M.np.asarray(2 ** 31 - 1) + 1)
    case("np.array float64 list", lambda M: M.np.array([1.5, 2.5]))
    case("np.array int list", lambda M: M.np.array([1, 2**31 - 1]))
    case("np.array bool/int mix", lambda M: M.np.array([True, 2, 3.5]))
    case("np.array dtype=int8 from float", lambda M: M.np.array([1.7, -1.7], dtype=M.np.int8))
    case("np.array u8 from neg", lambda M: M.np.asarray(np.array([-1, 256]), dtype=M.np.uint8))
    case("np.float32(py)", lambda M: M.np.float32(3e39))
    case("np.int32(float)", lambda M: M.np.int32(2.7))
    case("np.uint8(300)", lambda M: M.np.uint8(300))
    case("np.result_type", lambda M: [str(M.np.result_type(*a)) for a in [(M.np.int8, M.np.uint8), (M.np.int32, M.np.float16), (M.np.uint32, M.np.int32), (M.np.bool_, 1.0), (M.np.int8, 1), (M.np.uint64, M.np.int64), (M.np.float16, M.np.bfloat16), (M.np.int16, M.np.float16), (M.np.uint8, 1.0), (M.np.complex64, M.np.float64)]], jit=False)  # strings: not arrays under jit
    case("np.promote_types", lambda M: [str(M.np.promote_types(a, b)) for a, b in [("int8", "uint8"), ("int64", "uint64"), ("float16", "bfloat16"), ("uint32", "int8"), ("bool", "int8")]], jit=False)  # strings: not arrays under jit
    case("np.can_cast", lambda M: [M.np.can_cast(a, b) for a, b in [("int8", "uint8"), ("float32", "int32"), ("int32", "float32")]], jit=False)
    # where / select
    C = np.array([True, False, True, False, True])
    case("np.where 3arg", lambda M, c, x, y: M.np.where(c, x, y), C, FE[:5], I32[:5])
    case("np.where py scalars", lambda M, c: M.np.where(c, 1, 2.5), C)
    case("np.where py int both", lambda M, c: M.np.where(c, 1, 2), C)
    case("np.where bool,u8", lambda M, c, y: M.np.where(c, True, y), C, U8[:5])
    case("np.where float cond", lambda M, c, x: M.np.where(c, x, -x), FE[:5], FE[5:10])
    case("np.where 1arg", lambda M, c: M.np.where(c), FE, jit=False)
    case("np.where size", lambda M, c: M.np.where(c, size=6, fill_value=-1), FE[:8])
    case("np.nonzero size", lambda M, c: M.np.nonzero(c, size=3), F2)
    case("np.nonzero size fill", lambda M, c: M.np.nonzero(c, size=8, fill_value=(9, -9)), F2)
    case("np.argwhere size", lambda M, c: M.np.argwhere(c, size=8, fill_value=7), F2)
    case("lax.select", lambda M, c, x, y: M.lax.select(c, x, y), C, FE[:5], FE[5:10])
    case("lax.select_n", lambda M, c, x, y, z: M.lax.select_n(c, x, y, z), np.array([0, 1, 2, 1, 0], np.int32), FE[:5], FE[5:10], FE[10:15])
    case("lax.select_n bool", lambda M, c, x, y: M.lax.select_n(c, x, y), C, FE[:5], FE[5:10])
    case("np.select", lambda M, x: M.np.select([x > 1, x < 0], [x, -x], default=99.), FE)
    case("np.select int default", lambda M, x: M.np.select([x > 1, x < 0], [x, -x], default=99), I32)
    case("np.piecewise", lambda M, x: M.np.piecewise(x, [x < 0, x >= 1], [lambda v: -v, lambda v: v * 2, 7.]), np.array([-2., 0.5, 1., 3.], f32))
    case("np.choose", lambda M, i: M.np.choose(i, [np.arange(4), np.arange(4) * 10]), np.array([0, 1, 1, 0], np.int32))
    case("np.choose clip", lambda M, i: M.np.choose(i, [np.arange(4), np.arange(4) * 10], mode="clip"), np.array([0, 5, -1, 0], np.int32))
    case("np.choose wrap", lambda M, i: M.np.choose(i, [np.arange(4), np.arange(4) * 10], mode="wrap"), np.array([0, 5, -1, 0], np.int32))


def _index(case, x64):
    """take, indexing, dynamic slices, .at[] modes, gather and scatter."""
    # take / take_along_axis / indexing
    X = np.arange(12, dtype=f32).reshape(3, 4) + 0.5
    XI = np.arange(12, dtype=np.int32).reshape(3, 4)
    IDX = np.array([0, 2, -1, -4, 3, 4, 100, -100], np.int32)
    # mode="promise_in_bounds" is left out: out-of-range indices give unspecified values there
    for mode in (None, "fill", "clip", "wrap"):
        case(f"np.take mode={mode}", lambda M, x, i, mode=mode: M.np.take(x, i, axis=1, mode=mode), X, IDX)
        case(f"np.take int mode={mode}", lambda M, x, i, mode=mode: M.np.take(x, i, axis=1, mode=mode), XI, IDX)
        case(f"np.take flat mode={mode}", lambda M, x, i, mode=mode: M.np.take(x, i, mode=mode), X, IDX)
        case(f"np.take_along_axis mode={mode}", lambda M, x, i, mode=mode: M.np.take_along_axis(x, i, axis=1, mode=mode), X, np.array([[0, -1], [4, -5], [2, 100]], np.int32))
        case(f"np.take bool mode={mode}", lambda M, x, i, mode=mode: M.np.take(x, i, mode=mode), BB, np.array([0, 5, -5], np.int32))
        case(f"np.take u8 mode={mode}", lambda M, x, i, mode=mode: M.np.take(x, i, mode=mode), U8, np.array([0, 10, -10], np.int32))
    case("np.take fill_value", lambda M, x, i: M.np.take(x, i, axis=1, mode="fill", fill_value=-7.), X, IDX)
    case("np.take unique_indices", lambda M, x, i: M.np.take(x, i, axis=0, unique_indices=True, indices_are_sorted=True), X, np.array([0, 2], np.int32))
    case("np.take_along_axis axis None", lambda M, x, i: M.np.take_along_axis(x, i, axis=None), X, np.array([0, 11, -1, 12], np.int32))
    case("index neg", lambda M, x: (x[-1], x[:, -1], x[-3, -4]), X)
    case("index oob static", lambda M, x: x[5], X)
    case("index oob traced", lambda M, x, i: x[i], X, np.int32(5))
    case("index oob traced neg", lambda M, x, i: x[i], X, np.int32(-7))
    case("index arr oob", lambda M, x, i: x[i], X, np.array([0, 3, -4, 100], np.int32))
    case("index arr oob 2d", lambda M, x, i, j: x[i, j], X, np.array([0, 3, -4, 100], np.int32), np.array([-1, 4, 5, -100], np.int32))
    case("index bool mask static", lambda M, x: M.np.asarray(x)[np.array([True, False, True])], X, jit=False)
    case("index slice steps", lambda M, x: (x[::-1, ::2], x[1:100], x[-100:2, ::-3], x[None, ..., None, 1]), X)
    case("index u8 index", lambda M, x, i: x[i], X, np.array([0, 2, 255], np.uint8))
    case("index i8 neg index", lambda M, x, i: x[i], X, np.array([0, -1, -3, -128], np.int8))
    case("index bool scalar", lambda M, x: M.np.asarray(x)[True], X, jit=False)
    case("index float32 arr", lambda M, x, i: x[i], X, np.array([1.], f32))
    case("index ellipsis int arrays", lambda M, x, i: x[..., i], X, np.array([[0, 1], [-1, 2]], np.int32))
    case("index mixed adv separated", lambda M, x, i: x.reshape(3, 2, 2)[i, :, i], X, np.array([0, 1], np.int32))
    case("lax.dynamic_slice clamp", lambda M, x, i: M.lax.dynamic_slice(x, (i, i), (2, 2)), X, np.int32(5))
    case("lax.dynamic_slice neg", lambda M, x, i: M.lax.dynamic_slice(x, (i, i), (2, 2)), X, np.int32(-1))
    case("lax.dynamic_update_slice clamp", lambda M, x, i: M.lax.dynamic_update_slice(x, M.np.ones((2, 2), M.np.float32), (i, i)), X, np.int32(5))
    case("lax.dynamic_update_slice neg", lambda M, x, i: M.lax.dynamic_update_slice(x, M.np.ones((2, 2), M.np.float32), (i, i)), X, np.int32(-2))
    case("lax.dynamic_index_in_dim", lambda M, x, i: M.lax.dynamic_index_in_dim(x, i, axis=1, keepdims=False), X, np.int32(-1))
    case("lax.dynamic_slice_in_dim", lambda M, x, i: M.lax.dynamic_slice_in_dim(x, i, 3, axis=1), X, np.int32(3))
    case("lax.index_in_dim", lambda M, x: M.lax.index_in_dim(x, -1, axis=0), X)
    case("lax.slice", lambda M, x: M.lax.slice(x, (0, 1), (3, 4), (2, 2)), X)
    # .at modes
    AI = np.array([0, 2, -1, 3, 4, -5, 100, 2], np.int32)
    for op in ("get", "set", "add", "multiply", "min", "max", "subtract", "divide", "power", "apply"):
        for mode in (None, "drop", "clip", "fill"):
            for tag, dt in (("", f32), (" int", np.int32)):
                def g(M, x, i, op=op, mode=mode, dt=dt):
                    r = M.np.asarray(x).at[i]
                    kw = {} if mode is None else {"mode": mode}
                    if op == "get":
                        return r.get(**kw)
                    if op == "apply":
                        return r.apply(lambda v: v * 2 + 1, **kw)
                    if dt is np.int32 and op in ("divide", "power"):
                        return getattr(r, op)(2, **kw)
                    return getattr(r, op)(M.np.asarray(np.arange(1, 9), dt), **kw)
                case(f".at[].{op}{tag} mode={mode}", g, np.arange(4, dtype=dt) + 1, AI)
    case(".at get fill_value", lambda M, x, i: M.np.asarray(x).at[i].get(mode="fill", fill_value=-1.), np.arange(4, dtype=f32), AI)
    case(".at get fill int default", lambda M, x, i: M.np.asarray(x).at[i].get(mode="fill"), np.arange(4, dtype=np.int32), AI)
    case(".at get fill u8 default", lambda M, x, i: M.np.asarray(x).at[i].get(mode="fill"), np.arange(4, dtype=np.uint8), AI)
    case(".at get fill bool default", lambda M, x, i: M.np.asarray(x).at[i].get(mode="fill"), np.array([True, False, True, True]), AI)
    case(".at set dup", lambda M, x, i: M.np.asarray(x).at[i].set(M.np.asarray([1., 2., 3.])), np.zeros(3, f32), np.array([1, 1, 1], np.int32))
    case(".at add weak float into int", lambda M, x: M.np.asarray(x).at[0].add(1.7), np.arange(4, dtype=np.int32))
    case(".at set float into int", lambda M, x: M.np.asarray(x).at[0].set(-1.7), np.arange(4, dtype=np.int32))
    case(".at set float into u8", lambda M, x: M.np.asarray(x).at[0].set(-1), np.arange(4, dtype=np.uint8))
    case(".at multiply int", lambda M, x: M.np.asarray(x).at[1].multiply(2.5), np.arange(4, dtype=np.int32))
    case(".at slice set", lambda M, x: M.np.asarray(x).at[1:10:2].set(9.), np.arange(6, dtype=f32))
    case(".at 2d set oob", lambda M, x: M.np.asarray(x).at[5, 0].set(9.), X)
    case(".at 2d add neg", lambda M, x: M.np.asarray(x).at[-1, -2].add(9.), X)
    case(".at bool mask set", lambda M, x: M.np.asarray(x).at[M.np.asarray(x) > 3].set(0.), X)
    case(".at min nan", lambda M, x: M.np.asarray(x).at[0].min(np.nan), np.arange(3, dtype=f32))
    case(".at max into nan", lambda M, x: M.np.asarray(x).at[0].max(1.), np.array([np.nan, 1.], f32))
    # scatter lax
    case("lax.scatter_add oob", lambda M, x, i: M.lax.scatter_add(x, i.reshape(-1, 1), M.np.ones(i.shape, M.np.float32),
         M.lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,))), np.zeros(4, f32), AI)
    case("lax.gather clip default", lambda M, x, i: M.lax.gather(x, i.reshape(-1, 1),
         M.lax.GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,)), slice_sizes=(1,)), np.arange(4, dtype=f32), AI)
    case("lax.gather fill", lambda M, x, i: M.lax.gather(x, i.reshape(-1, 1),
         M.lax.GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,)), slice_sizes=(1,), mode="fill"), np.arange(4, dtype=f32), AI)
    case("lax.gather fill int", lambda M, x, i: M.lax.gather(x, i.reshape(-1, 1),
         M.lax.GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,)), slice_sizes=(1,), mode="fill"), np.arange(4, dtype=np.int32), AI)



def _construct(case, x64):
    """Construction and shape functions, arange/linspace, pad, set ops, interp, polynomials."""
    X = np.arange(12, dtype=f32).reshape(3, 4) + 0.5
    case("concatenate mixed", lambda M, a, b: M.np.concatenate([a, b]), FE[:3], I32[:3])
    case("concatenate u8 i8", lambda M, a, b: M.np.concatenate([a, b]), U8[:3], I8[:3])
    case("concatenate bool int", lambda M, a, b: M.np.concatenate([a, b]), BB, I8[:3])
    case("concatenate axis None", lambda M, a: M.np.concatenate([a, a], axis=None), X)
    case("concatenate dtype", lambda M, a: M.np.concatenate([a, a], dtype=M.np.int32), X)
    case("concatenate py list", lambda M, a: M.np.concatenate([a, [1, 2, 3, 4]]), X[0])
    case("stack axis -1", lambda M, a, b: M.np.stack([a, b], axis=-1), X, X)
    case("stack mixed", lambda M, a, b: M.np.stack([a, b]), U8[:3], I16[:3])
    case("hstack/vstack/dstack", lambda M, a: (M.np.hstack([a, a]), M.np.vstack([a, a]), M.np.dstack([a, a]), M.np.column_stack([a, a])), FE[:3])
    case("block", lambda M, a: M.np.block([[a, a], [a, a]]), X)
    case("append", lambda M, a: (M.np.append(a, 1), M.np.append(a, a, axis=0)), X)
    case("insert/delete", lambda M, a: (M.np.insert(a, 1, 9.), M.np.delete(a, 1, axis=1), M.np.insert(a, -1, 7., axis=0)), X)
    case("split", lambda M, a: (M.np.split(a, 2, axis=1), M.np.array_split(a, 3, axis=1), M.np.split(a, [1, 10], axis=1)), X)
    for mode in ("constant", "edge", "reflect", "symmetric", "wrap", "linear_ramp", "maximum", "minimum", "mean", "median", "empty"):
        if mode == "empty":     # unspecified values: the shape only (Python ints, not under jit)
            case("pad empty", lambda M, a: M.np.pad(a, 1, mode="empty").shape, X, jit=False)
        else:
            case(f"pad {mode}", lambda M, a, mode=mode: M.np.pad(a, ((1, 2), (3, 0)), mode=mode), X)
        if mode != "empty":
            case(f"pad {mode} int", lambda M, a, mode=mode: M.np.pad(a, ((1, 2), (5, 6)), mode=mode), np.arange(12, dtype=np.int32).reshape(3, 4))
        if mode != "empty":
            case(f"pad {mode} u8 big", lambda M, a, mode=mode: M.np.pad(a, 7, mode=mode), np.array([1, 200, 3], np.uint8))
    case("pad constant value", lambda M, a: M.np.pad(a, 1, constant_values=((1.5, 2), (3, 4))), X)
    case("pad constant float into int", lambda M, a: M.np.pad(a, 1, constant_values=2.7), np.arange(4, dtype=np.int32))
    case("pad reflect odd", lambda M, a: (M.np.pad(a, 3, mode="reflect", reflect_type="odd"), M.np.pad(a, 3, mode="symmetric", reflect_type="odd")), np.array([1., 2., 4.], f32))
    case("pad linear_ramp end", lambda M, a: M.np.pad(a, 3, mode="linear_ramp", end_values=10), np.array([1, 2, 4], np.int32))
    case("pad stat_length", lambda M, a: M.np.pad(a, 2, mode="mean", stat_length=2), np.array([1, 2, 4, 8], np.int32))
    case("pad size-1 reflect", lambda M, a: M.np.pad(a, 3, mode="reflect"), np.array([5.], f32))
    case("lax.pad negative", lambda M, a: M.lax.pad(a, f32(0), ((1, -1, 1), (-1, 2, 0))), X)
    # arange / linspace
    for args in [(5,), (1, 5), (0., 1., 0.1), (5, 1, -1), (0, 10, 3), (1., 2.5), (0, 5, 0.5), (-3,), (2**31 - 3, 2**31 - 1), (0.1, 0.4, 0.1)]:
        case(f"arange{args}", lambda M, args=args: M.np.arange(*args))
    case("arange dtype u8", lambda M: M.np.arange(250, 260, dtype=M.np.uint8), jit=True)
    case("arange dtype f16", lambda M: M.np.arange(0, 1, 0.25, dtype=M.np.float16))
    case("arange dtype int float step", lambda M: M.np.arange(0, 3, 0.5, dtype=M.np.int32))
    case("arange bool", lambda M: M.np.arange(True))
    for kw in [dict(num=5), dict(num=5, endpoint=False), dict(num=1), dict(num=0), dict(num=4, retstep=True), dict(num=4, dtype="int32"), dict(num=7, dtype="int32", endpoint=False)]:
        case(f"linspace(0,10,{kw})", lambda M, kw=kw: M.np.linspace(0, 10, **kw))
        case(f"linspace(-1.5,2.5,{kw})", lambda M, kw=kw: M.np.linspace(-1.5, 2.5, **kw))
    case("linspace int neg dtype", lambda M: M.np.linspace(-5, 2, 4, dtype=M.np.int32))
    case("linspace array endpoints", lambda M, a, b: M.np.linspace(a, b, 3, axis=1), np.array([0., 1.], f32), np.array([1., -1.], f32))
    case("linspace int array", lambda M, a: M.np.linspace(a, 10, 3), np.int32(1))
    case("logspace", lambda M: (M.np.logspace(0, 3, 4), M.np.logspace(0, 3, 4, base=2.), M.np.geomspace(1, 1000, 4), M.np.geomspace(-1, -1000, 4)))
    case("logspace int", lambda M: M.np.logspace(0, 3, 4, dtype=M.np.int32))
    case("geomspace int", lambda M: M.np.geomspace(1, 1000, 4, dtype=M.np.int32))
    case("eye/tri", lambda M: (M.np.eye(3, 4, k=1), M.np.tri(3, 2, -1), M.np.identity(2, dtype=M.np.int8), M.np.eye(2, dtype=bool)))
    case("tril/triu", lambda M, a: (M.np.tril(a, -1), M.np.triu(a, 1), M.np.tril(a, 5)), X)
    case("full/zeros dtypes", lambda M: (M.np.full((2,), 3), M.np.full((2,), 3.5), M.np.full((2,), True), M.np.zeros(2), M.np.ones(2, int), M.np.full((2,), 2**31 - 1), M.np.empty(2).dtype.name, M.np.full((2,), 3, dtype=M.np.uint8)), jit=False)  # strings: not arrays under jit
    case("full_like dtypes", lambda M, a: (M.np.full_like(a, 2.7), M.np.zeros_like(a, dtype=float), M.np.ones_like(a, shape=(3,))), I32)
    case("full_like bool", lambda M, a: M.np.full_like(a, 2), BB)
    case("indices/meshgrid", lambda M: (M.np.indices((2, 3)), M.np.meshgrid(M.np.arange(2), M.np.arange(3)), M.np.meshgrid(M.np.arange(2), M.np.arange(3), indexing="ij", sparse=True)))
    case("repeat/tile", lambda M, a: (M.np.repeat(a, 2), M.np.repeat(a, 2, axis=0), M.np.tile(a, (2, 1)), M.np.repeat(a, np.array([0, 1, 2]), axis=0, total_repeat_length=3)), X)
    case("roll", lambda M, a: (M.np.roll(a, 5), M.np.roll(a, -1, axis=1), M.np.roll(a, (1, 2), axis=(0, 1))), X)
    case("roll traced shift", lambda M, a, s: M.np.roll(a, s, axis=1), X, np.int32(-5))
    case("rot90/flip", lambda M, a: (M.np.rot90(a), M.np.rot90(a, -3), M.np.flip(a), M.np.fliplr(a), M.np.flipud(a)), X)
    case("moveaxis/swapaxes", lambda M, a: (M.np.moveaxis(a, 0, -1), M.np.swapaxes(a, 0, 1), M.np.transpose(a.reshape(3, 2, 2), (2, 0, 1))), X)
    case("reshape -1 order F", lambda M, a: (M.np.reshape(a, (-1, 3)), M.np.reshape(a, (2, -1), order="F"), M.np.ravel(a, order="F")), X)
    case("squeeze/expand", lambda M, a: (M.np.expand_dims(a, (0, -1)), M.np.squeeze(a[None])), X)
    case("broadcast_to/arrays", lambda M, a: (M.np.broadcast_to(a, (2, 4)), M.np.broadcast_arrays(a, a[:1, None])), FE[:4])
    case("diag/diagonal/trace", lambda M, a: (M.np.diag(a), M.np.diag(a, 1), M.np.diagonal(a, -1), M.np.trace(a), M.np.trace(a, 1), M.np.diag(a[0], -1)), X)
    case("trace int dtype", lambda M, a: (M.np.trace(a), M.np.trace(a, dtype=M.np.int8)), np.full((3, 3), 100, np.int8))
    case("atleast", lambda M, a: (M.np.atleast_1d(a), M.np.atleast_2d(a), M.np.atleast_3d(a)), np.float32(1.))
    case("histogram", lambda M, a: M.np.histogram(a, bins=4, range=(0, 4)), np.array([0., 0.5, 1., 3.99, 4., 4.1, -1., 2.], f32))
    case("histogram density", lambda M, a: M.np.histogram(a, bins=3, density=True), np.array([0., 0.5, 1., 3.99, 4., 2.], f32))
    case("bincount", lambda M, a: (M.np.bincount(a, length=5), M.np.bincount(a, weights=a * 1.5, length=5)), np.array([0, 1, 1, 3, 7, -1], np.int32))
    case("bincount minlength", lambda M, a: M.np.bincount(a, minlength=3, length=6), np.array([0, 1, 1, 3], np.int32))
    case("unravel/ravel_multi_index", lambda M, i: (M.np.unravel_index(i, (3, 4)), M.np.ravel_multi_index((i % 3, i % 4), (3, 4))), np.array([0, 5, 11, 13, -1], np.int32))
    case("ravel_multi_index clip/wrap", lambda M, i: (M.np.ravel_multi_index((i, i), (3, 4), mode="clip"), M.np.ravel_multi_index((i, i), (3, 4), mode="wrap")), np.array([0, 5, -1, 2], np.int32))
    case("interp", lambda M, x, xp, fp: (M.np.interp(x, xp, fp), M.np.interp(x, xp, fp, left=-1, right=99), M.np.interp(x, xp, fp, period=3.)), np.array([-1., 0., 0.5, 2., 3., np.nan, np.inf], f32), np.array([0., 1., 2.], f32), np.array([10., 20., 0.], f32))
    case("polyval/polyfit-like", lambda M, c, x: (M.np.polyval(c, x), M.np.polyadd(c, c[:2]), M.np.polymul(c, c), M.np.polyder(c), M.np.polyint(c)), np.array([1., -2., 3.], f32), np.array([0., 1., 2.5], f32))
    case("convolve/correlate", lambda M, a, b: (M.np.convolve(a, b), M.np.convolve(a, b, mode="same"), M.np.convolve(a, b, mode="valid"), M.np.correlate(a, b, mode="full"), M.np.correlate(a, b)), np.array([1., 2., 3., 4.], f32), np.array([0., 1., 0.5], f32))
    case("convolve int", lambda M, a, b: M.np.convolve(a, b), np.array([1, 2, 3], np.int32), np.array([0, 1, 5], np.int32))
    case("convolve bool", lambda M, a, b: M.np.convolve(a, b), BB, BB)
    case("outer/inner/cross/kron", lambda M, a, b: (M.np.outer(a, b), M.np.inner(a, b), M.np.cross(a, b), M.np.kron(a, b), M.np.vdot(a, b)), np.array([1., 2., 3.], f32), np.array([0., -1., 5.], f32))
    case("cross 2d", lambda M, a, b: M.np.cross(a, b), np.array([1., 2.], f32), np.array([0., -1.], f32))
    case("isclose/allclose", lambda M, a, b: (M.np.isclose(a, b), M.np.isclose(a, b, equal_nan=True), M.np.allclose(a, b), M.np.array_equal(a, b), M.np.array_equal(a, b, equal_nan=True), M.np.array_equiv(a, b)), FE, FE * (1 + 1e-6))
    case("isclose int", lambda M, a, b: M.np.isclose(a, b), I32, I32 + 1)
    case("gcd/lcm neg", lambda M, a, b: (M.np.gcd(a, b), M.np.lcm(a, b)), np.array([-12, 0, 0, 7, -2147483647], np.int32), np.array([18, 0, -5, -21, 2], np.int32))
    case("nan_to_num kw", lambda M, a: M.np.nan_to_num(a, nan=-1., posinf=5., neginf=-5.), FE)
    case("nan_to_num f16", lambda M, a: M.np.nan_to_num(a), F16)
    case("unwrap", lambda M, a: M.np.unwrap(a), np.array([0., 3., 6.5, -3., 0.1], f32))
    case("packbits/unpackbits", lambda M, a: (M.np.packbits(a), M.np.unpackbits(M.np.packbits(a)), M.np.packbits(a, bitorder="little")), np.array([1, 0, 1, 1, 0, 0, 0, 1, 1, 1], np.uint8))
    case("extract/compress", lambda M, a: M.np.compress(np.array([True, False, True]), a, axis=0), X, jit=False)
    case("compress size", lambda M, a: M.np.compress(np.array([True, False, True]), a, axis=0, size=3, fill_value=-1), X)
    case("setdiff/intersect/union size", lambda M, a, b: (M.np.union1d(a, b, size=8, fill_value=0), M.np.intersect1d(a, b, size=3, fill_value=-1), M.np.setdiff1d(a, b, size=3, fill_value=-1), M.np.isin(a, b), M.np.setxor1d(a, b, size=5, fill_value=0)), np.array([1, 2, 3, 3, 5], np.int32), np.array([3, 4, 5, 7], np.int32))
    case("isin nan", lambda M, a, b: M.np.isin(a, b), np.array([np.nan, 1., -0.], f32), np.array([np.nan, 0.], f32))
    case("frombuffer-ish copysign int", lambda M, a, b: M.np.copysign(a, b), I32, -I32)
    case("float_power int", lambda M, a, b: M.np.float_power(a, b), np.array([2, -2, 0, 3], np.int32), np.array([3, -1, -1, 0], np.int32))
    case("power int neg exp", lambda M, a, b: M.np.power(a, b), np.array([2, -2, 1, -1, 0, 3], np.int32), np.array([-1, -1, -2, -3, 0, 2], np.int32))
    case("power int 0**neg", lambda M, a, b: M.np.power(a, b), np.array([0], np.int32), np.array([-1], np.int32))
    case("ldexp/frexp", lambda M, a, b: (M.np.ldexp(a, b),), np.array([1., 1., 3., -0., np.inf, 1e-30], f32), np.array([127, 128, -149, 3, -1, -100], np.int32))
    case("heaviside", lambda M, a: M.np.heaviside(a, 0.5), FE)
    case("sinc int", lambda M, a: M.np.sinc(a), np.array([0, 1, 2], np.int32))
    case("i0 int", lambda M, a: M.np.i0(a), np.array([0, 1, 2], np.int32))
    case("angle/real/imag complex", lambda M, a: (M.np.angle(a), M.np.angle(a, deg=True), M.np.real(a), M.np.imag(a), M.np.abs(a), M.np.conj(a)), np.array([1 + 1j, -1 + 0j, -1 - 0j, 0j, np.inf + 1j], np.complex64))
    case("angle real", lambda M, a: M.np.angle(a), FE)
    case("complex math", lambda M, a: (M.np.sqrt(a), M.np.exp(a), M.np.log(a), M.np.sin(a), M.np.tanh(a), M.np.arctan(a), M.np.sign(a), M.np.reciprocal(a), M.np.square(a)), np.array([1 + 1j, -1 + 0j, -4 - 0j, 3j, 0.5 - 2j], np.complex64))



def _dot(case, x64):
    """Matrix products, einsum, linalg."""
    A = np.array([[1, 2, 3], [4, 5, 6]], np.int32)
    B = np.array([[1, -1], [2, 0], [-3, 7]], np.int32)
    for tn, dt in [("i32", np.int32), ("i8", np.int8), ("u8", np.uint8), ("bool", bool), ("i16", np.int16), ("f16", np.float16)]:
        a, b = A.astype(dt), B.astype(dt)
        case(f"matmul {tn}", lambda M, a, b: M.np.matmul(a, b), a, b)
        case(f"dot {tn}", lambda M, a, b: M.np.dot(a, b), a, b)
        case(f"@ {tn}", lambda M, a, b: M.np.asarray(a) @ b, a, b)
        case(f"einsum {tn}", lambda M, a, b: M.np.einsum("ij,jk->ik", a, b), a, b)
        case(f"einsum sum {tn}", lambda M, a: M.np.einsum("ij->", a), a)
        case(f"tensordot {tn}", lambda M, a, b: M.np.tensordot(a, b, axes=1), a, b)
        case(f"lax.dot {tn}", lambda M, a, b: M.lax.dot(a, b), a, b)
        case(f"vdot {tn}", lambda M, a, b: M.np.vdot(a, b.T), a, b)
        case(f"inner {tn}", lambda M, a: M.np.inner(a, a), a)
    case("matmul i8 overflow", lambda M, a, b: M.np.matmul(a, b), np.full((2, 4), 100, np.int8), np.full((4, 2), 100, np.int8))
    case("matmul u8 overflow", lambda M, a, b: M.np.matmul(a, b), np.full((2, 4), 200, np.uint8), np.full((4, 2), 200, np.uint8))
    case("matmul i8*f32", lambda M, a, b: M.np.matmul(a, b), A.astype(np.int8), B.astype(f32))
    case("matmul u8*i8", lambda M, a, b: M.np.matmul(a, b), A.astype(np.uint8), B.astype(np.int8))
    case("matmul preferred", lambda M, a, b: M.np.matmul(a, b, preferred_element_type=M.np.int32), np.full((2, 4), 100, np.int8), np.full((4, 2), 100, np.int8))
    case("dot preferred f32", lambda M, a, b: M.lax.dot(a, b, preferred_element_type=M.np.float32), np.full((2, 4), 100, np.int8), np.full((4, 2), 100, np.int8))
    case("dot_general batch", lambda M, a, b: M.lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,)))), np.arange(24, dtype=f32).reshape(2, 3, 4), np.arange(40, dtype=f32).reshape(2, 4, 5))
    case("matmul 1d 1d", lambda M, a: M.np.matmul(a, a), np.arange(3, dtype=np.int32))
    case("matmul batch broadcast", lambda M, a, b: M.np.matmul(a, b), np.ones((2, 1, 3, 4), f32), np.ones((5, 4, 2), f32))
    case("matmul nan/inf", lambda M, a, b: M.np.matmul(a, b), np.array([[np.inf, 0.], [np.nan, 1.]], f32), np.array([[0., 1.], [1., 0.]], f32))
    case("matmul inf*0 separate", lambda M, a, b: M.np.dot(a, b), np.array([np.inf, 1.], f32), np.array([0., 1.], f32))
    case("einsum various", lambda M, a, b: (M.np.einsum("ij,ij->i", a, a), M.np.einsum("ii", a[:2, :2]), M.np.einsum("ij->ji", a), M.np.einsum("i,j->ij", a[0], a[1]), M.np.einsum("...j,jk", a, b), M.np.einsum("ij,jk,kl->il", a, b, a)), A.astype(f32), B.astype(f32))
    case("einsum int mixed", lambda M, a, b: M.np.einsum("ij,jk->ik", a, b), A.astype(np.int8), B.astype(np.uint8))
    case("einsum bool mixed shapes", lambda M, a, b: M.np.einsum("ij,jk->ik", a, b), A.astype(bool), B.astype(bool))
    case("einsum preferred", lambda M, a, b: M.np.einsum("ij,jk->ik", a, b, preferred_element_type=M.np.float32), A.astype(np.int8), B.astype(np.int8))
    case("einsum repeated idx diag", lambda M, a: M.np.einsum("iij->j", a), np.arange(12, dtype=np.int32).reshape(2, 2, 3))
    case("einsum sum over bool", lambda M, a: M.np.einsum("i->", a), BB)
    case("linalg.norm", lambda M, a: (M.np.linalg.norm(a), M.np.linalg.norm(a, ord=1), M.np.linalg.norm(a, ord=np.inf, axis=1), M.np.linalg.norm(a, ord=-np.inf, axis=0), M.np.linalg.norm(a, ord=0, axis=1), M.np.linalg.norm(a, "fro")), np.array([[1., -2., 3.], [0., 4., -0.5]], f32))
    case("linalg.norm int", lambda M, a: M.np.linalg.norm(a), A)
    case("linalg.det/inv", lambda M, a: (M.np.linalg.det(a), M.np.linalg.inv(a), M.np.linalg.slogdet(a)), np.array([[2., 1.], [1., 3.]], f32))
    case("linalg.det singular", lambda M, a: (M.np.linalg.det(a), M.np.linalg.slogdet(a)), np.array([[1., 2.], [2., 4.]], f32))



def _stats(case, x64):
    """Quantiles, medians, nan-reductions, var/cov, and special functions on their edges."""
    Q = np.array([[3., 1., 4., 1., 5.], [9., 2., 6., np.nan, 3.]], f32)
    Qn = np.array([[3., 1., 4., 1., 5.], [9., 2., 6., 5., 3.]], f32)
    QI = np.array([[3, 1, 4, 1, 5], [9, 2, 6, 5, 3]], np.int32)
    for meth in ("linear", "lower", "higher", "midpoint", "nearest", "inverted_cdf", "averaged_inverted_cdf", "closest_observation", "interpolated_inverted_cdf", "hazen", "weibull", "median_unbiased", "normal_unbiased"):
        case(f"quantile {meth}", lambda M, x, meth=meth: M.np.quantile(x, M.np.asarray([0., 0.1, 0.25, 0.5, 0.9, 1.]), axis=1, method=meth), Qn)
        case(f"quantile int {meth}", lambda M, x, meth=meth: M.np.quantile(x, 0.4, axis=1, method=meth), QI)
        case(f"percentile {meth}", lambda M, x, meth=meth: M.np.percentile(x, 40., axis=None, method=meth), Qn)
        case(f"nanquantile {meth}", lambda M, x, meth=meth: M.np.nanquantile(x, 0.3, axis=1, method=meth), Q)
        case(f"quantile nan {meth}", lambda M, x, meth=meth: M.np.quantile(x, 0.3, axis=1, method=meth), Q)
    case("quantile keepdims", lambda M, x: M.np.quantile(x, M.np.asarray([0.2, 0.7]), axis=1, keepdims=True), Qn)
    case("quantile q oob", lambda M, x: M.np.quantile(x, 1.5), Qn)
    case("quantile q int", lambda M, x: M.np.quantile(x, 1), QI)
    case("percentile q>100", lambda M, x: M.np.percentile(x, 150.), Qn)
    case("median int", lambda M, x: (M.np.median(x), M.np.median(x, axis=1, keepdims=True)), QI)
    case("median bool", lambda M, x: M.np.median(x), BB)
    case("median nan", lambda M, x: (M.np.median(x, axis=1), M.np.nanmedian(x, axis=1)), Q)
    case("median empty", lambda M, x: M.np.median(x), np.zeros((0,), f32))
    case("nanmean all nan", lambda M, x: (M.np.nanmean(x), M.np.nanvar(x), M.np.nanstd(x), M.np.nanmax(x), M.np.nanmin(x), M.np.nansum(x), M.np.nanprod(x), M.np.nanmedian(x)), np.array([np.nan, np.nan], f32))
    case("nanmean int", lambda M, x: (M.np.nanmean(x), M.np.nanvar(x), M.np.nansum(x), M.np.nanmax(x)), QI)
    case("nanmax inf", lambda M, x: (M.np.nanmax(x), M.np.nanmin(x)), np.array([np.nan, -np.inf, np.nan], f32))
    case("nanmean where", lambda M, x, w: M.np.nanmean(x, axis=1, where=w), Q, np.array([[True, False, True, True, False], [True, True, True, True, False]]))
    case("var complex", lambda M, x: (M.np.var(x), M.np.std(x), M.np.mean(x)), np.array([1 + 1j, 2 - 1j, 0j], np.complex64))
    case("var int", lambda M, x: (M.np.var(x), M.np.std(x, ddof=1), M.np.var(x, dtype=M.np.float16)), QI)
    case("var bool", lambda M, x: (M.np.var(x), M.np.mean(x)), BB)
    case("var u8", lambda M, x: (M.np.var(x), M.np.mean(x)), U8)
    case("var f16", lambda M, x: (M.np.var(x), M.np.mean(x), M.np.std(x)), np.array([60000, 60000, 1], np.float16))
    case("mean f16 overflow", lambda M, x: (M.np.mean(x), M.np.sum(x)), np.array([60000, 60000], np.float16))
    case("corrcoef/cov", lambda M, x: (M.np.cov(x), M.np.corrcoef(x), M.np.cov(x, ddof=0), M.np.cov(x, rowvar=False)), Qn)
    case("cov int", lambda M, x: M.np.cov(x), QI)
    case("cov weights", lambda M, x, f, a: M.np.cov(x, fweights=f, aweights=a), Qn, np.array([1, 2, 1, 1, 3], np.int32), np.array([0.5, 1., 1., 2., 1.], f32))
    case("ptp int overflow", lambda M, x: M.np.ptp(x), np.array([-128, 127], np.int8))
    case("count_nonzero dtype", lambda M, x: M.np.count_nonzero(x, axis=0), F2)
    case("sp.logsumexp int", lambda M, x: M.sp.logsumexp(x), QI)
    case("sp.softmax", lambda M, x: M.sp.softmax(x, axis=1), Q)
    case("sp.log_softmax", lambda M, x: M.sp.log_softmax(x, axis=1), Q)
    case("sp.entr/kl", lambda M, x, y: (M.sp.entr(x), M.sp.kl_div(x, y), M.sp.rel_entr(x, y)), np.array([0., 1., -1., 0.5, np.inf], f32), np.array([0., 0., 1., 2., 1.], f32))
    case("sp.xlogy/xlog1py", lambda M, x, y: (M.sp.xlogy(x, y), M.sp.xlog1py(x, y)), np.array([0., 0., 0., 1., np.nan, 0.], f32), np.array([0., -1., np.nan, 0., 0., np.inf], f32))
    case("sp.gammaincc edge", lambda M, a, x: (M.sp.gammainc(a, x), M.sp.gammaincc(a, x)), np.array([0., 1., 1., -1., 2., np.inf, 1.], f32), np.array([1., 0., np.inf, 1., -1., 1., np.nan], f32))
    case("sp.zeta edge", lambda M, s, q: M.sp.zeta(s, q), np.array([1., 2., 0.5, 2., 3., 2.], f32), np.array([1., 1., 1., 0., -1., -1.5], f32))
    case("sp.polygamma edge", lambda M, n, x: M.sp.polygamma(n, x), np.array([0., 1., 2., 1.5, -1.], f32), np.array([0., 0., -1., 1., 1.], f32))
    case("sp.betaln edge", lambda M, a, b: M.sp.betaln(a, b), np.array([0., 1., -0.5, 1e10], f32), np.array([1., 0., 1., 1e10], f32))
    case("sp.gamma neg", lambda M, x: (M.sp.gamma(x), M.sp.gammasgn(x) if hasattr(M.sp, "gammasgn") else 0), np.array([-0.5, -1.5, -1., 0., -0., 171., 35., -2.5], f32))
    case("sp.logit edge", lambda M, x: M.sp.logit(x), np.array([0., 1., 0.5, -0.1, 1.1], f32))
    case("sp.ndtri edge", lambda M, x: M.sp.ndtri(x), np.array([0., 1., 0.5, -0.1, 1.1, 1e-30, 0.975], f32))
    case("sp.erfinv edge", lambda M, x: M.sp.erfinv(x), np.array([-1., 1., 0.999999, -0., 1.5], f32))
    case("sp.bessel_jn-ish i0e neg", lambda M, x: (M.sp.i0e(x), M.sp.i1e(x), M.sp.i0(x), M.sp.i1(x)), np.array([-5., -100., 1e4, 30., 100., 1e38], f32))



def _weak(case, x64):
    """Weak types of results for weakly typed operands: a weak float32 array
    (`arange(3) * 0.25 + 0.5`), a 0-d weak int and Python numbers. A weak result defers to
    a narrower float it meets (float16, bfloat16), so a wrong flag is a wrong dtype later
    (funcgrad's weak `sum` made `sum(w) * float16 array` float16, JAX's float32)."""
    def wf(M):
        return M.np.arange(3) * 0.25 + 0.5

    # (flatnonzero's shape depends on the values: it raises under jit, in JAX too)
    for n in [u for u in UNARY_F if u != "flatnonzero"] + [r for r in REDS if r not in UNARY_F]:
        case(f"weak np.{n}", lambda M, n=n: getattr(M.np, n)(wf(M)))
        case(f"py np.{n}", lambda M, n=n: getattr(M.np, n)(0.5))
    for n in UNARY_I:
        case(f"weak np.{n}(int)", lambda M, n=n: getattr(M.np, n)(M.np.asarray(2)))
    for n in BIN:
        case(f"weak np.{n}", lambda M, n=n: getattr(M.np, n)(wf(M), wf(M)))
        case(f"py np.{n}", lambda M, n=n: getattr(M.np, n)(0.5, 2))
    for n in SPU:
        case(f"weak sp.{n}", lambda M, n=n: getattr(M.sp, n)(wf(M)))
        case(f"py sp.{n}", lambda M, n=n: getattr(M.sp, n)(0.5))
    for n in SPB:
        if n == "polygamma":                   # (an integer order)
            case("weak sp.polygamma", lambda M: M.sp.polygamma(M.np.asarray(1), wf(M)))
            continue
        case(f"weak sp.{n}", lambda M, n=n: getattr(M.sp, n)(wf(M), wf(M)))
        case(f"py sp.{n}", lambda M, n=n: getattr(M.sp, n)(0.5, 2.0))
    for n in NNU:
        case(f"weak nn.{n}", lambda M, n=n: getattr(M.nn, n)(wf(M)))


SECTIONS = {
    "unary": _unary, "lax": _lax, "special": _special, "nn": _nn, "binary": _binary,
    "promote": _promote, "intops": _intops, "reduce": _reduce, "cum": _cum, "sort": _sort,
    "misc": _misc, "index": _index, "construct": _construct, "dot": _dot, "stats": _stats,
    "weak": _weak,
}


def build(sections=None, x64: bool = False) -> list[Case]:
    """The cases of `sections` (names of SECTIONS; all when None), in table order."""
    cases: list[Case] = []
    seen: set[str] = set()
    for sname, table in SECTIONS.items():
        if sections is not None and sname not in sections:
            continue

        def case(name, f, *args, jit=True, _s=sname):
            assert name not in seen, f"two cases named {name!r}"
            seen.add(name)
            cases.append(Case(_s, name, f, args, jit))
        table(case, x64)
    return cases
