"""The registry of known differences between funcgrad and JAX 0.10 on the case tables.

Each entry names the cases it covers (a regular expression matched against the whole case
name), the kind of difference (see harness.py), which comparison ("jax": JAX against
funcgrad eager; "jit": funcgrad eager against funcgrad jit), optionally x64 on or off only,
and optionally a test of the differing values (`values`). Its `category` says why the
difference is accepted:

- `documented`: a deliberate deviation in docs/porting-from-jax.md (the reason names the
  section);
- `jax-flushes-subnormals`: JAX on the CPU flushes subnormal results to zero (documented
  in "Subnormal numbers"); the `values` test checks that each differing element is a zero in
  JAX and a subnormal in funcgrad (or follows from one);
- `int-div-by-zero`: XLA's implementation-defined integer division by zero (documented in
  "Integer division by zero");
- `jax-bug`: JAX 0.10 is wrong (the reason says how);
- `jax-rejects`: JAX raises for an input funcgrad accepts (funcgrad is more permissive);
- `funcgrad-rejects`: funcgrad raises where JAX returns;
- `accuracy`: both are approximations within a few ulps, past the harness's tolerance;
- `undocumented`: a known, deliberate-looking difference not (yet) in the porting guide;
- `harness`: an artefact of the harness (a function whose results are not arrays under jit).
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import numpy as np

CATEGORIES = ("documented", "jax-flushes-subnormals", "int-div-by-zero", "jax-bug",
              "jax-rejects", "funcgrad-rejects", "accuracy", "undocumented", "harness")


@dataclasses.dataclass(frozen=True)
class Known:
    cases: str                       # regular expression, matched against the whole name
    kind: str                        # difference kind(s), "|"-separated
    category: str
    reason: str
    against: str = "jax"
    x64: bool | None = None          # only with 64-bit types on (True) or off (False)
    values: Callable | None = None   # values(diff) -> bool: the differing elements expected

    def __post_init__(self):
        assert self.category in CATEGORIES, self.category
        assert self.against in ("jax", "jit"), self.against

    def matches(self, d, x64: bool) -> bool:
        if self.x64 is not None and self.x64 != x64:
            return False
        if d.against != self.against or d.kind not in self.kind.split("|"):
            return False
        if not re.fullmatch(self.cases, d.case):
            return False
        return self.values is None or bool(self.values(d))

    def applies(self, cases, x64: bool, jit: bool) -> bool:
        """Whether a run of `cases` could show this difference."""
        if self.x64 is not None and self.x64 != x64:
            return False
        if self.against == "jit" and not jit:
            return False
        return any(re.fullmatch(self.cases, c.name) and (c.jit or self.against == "jax")
                   for c in cases)

    def label(self) -> str:
        x = "" if self.x64 is None else f" x64={self.x64}"
        return f"{self.cases!r} {self.kind} ({self.against}{x}): {self.category}: {self.reason}"


# ---- tests of the differing values ----------------------------------------------------

def _tiny(d):
    return {"float16": 6.104e-05, "bfloat16": 1.1754944e-38, "float32": 1.1754944e-38,
            "float64": 2.2250738585072014e-308, "complex64": 1.1754944e-38,
            "complex128": 2.2250738585072014e-308}[d.dtype]


def flushed(d) -> bool:
    """Every differing element is zero in JAX and a nonzero subnormal in funcgrad."""
    a, b = d.a, d.b
    return a is not None and bool(np.all((a == 0) & (b != 0) & (np.abs(b) < _tiny(d))))


def _same(x, v) -> bool:
    """x is v, NaN matching NaN and a zero matching only the zero of its sign."""
    if np.isnan(v):
        return bool(np.isnan(x))
    return bool(x == v and np.signbit(x) == np.signbit(v))


def jax_gives(*vals):
    """Every differing element is one of `vals` on the first side (JAX's, or eager's)."""
    def test(d):
        return d.a is not None and all(any(_same(x, v) for v in vals) for x in d.a)
    return test


def fg_gives(*vals):
    """Every differing element is one of `vals` on the second side (funcgrad's, or jit's)."""
    def test(d):
        return d.b is not None and all(any(_same(y, v) for v in vals) for y in d.b)
    return test


def pairs(*expected):
    """Every differing element is one of the (first side, second side) pairs; float32
    literals are compared after rounding to the output's dtype."""
    def test(d):
        if d.a is None:
            return False
        dt = np.dtype(d.dtype) if d.dtype else np.float64
        exp = [(np.asarray(p, dt).astype(np.float64), np.asarray(q, dt).astype(np.float64))
               for p, q in expected]
        return all(any(_same(x, p) and _same(y, q) for p, q in exp) for x, y in zip(d.a, d.b))
    return test


def abs_within(tol):
    """Every differing element differs by at most `tol` (an absolute error near a zero of
    the function, where the relative one is large)."""
    def test(d):
        return d.a is not None and bool(np.all(np.abs(d.a - d.b) <= tol))
    return test


def on_inputs(test):
    """test(*inputs) holds for the inputs of every differing element (elementwise cases: the
    NumPy arguments broadcast together, the output having their shape)."""
    def check(d):
        if d.idx is None:
            return False
        arrays = np.broadcast_arrays(*[np.asarray(a) for a in d.args
                                       if isinstance(a, (np.ndarray, np.generic))])
        return all(test(*(x.ravel()[i] for x in arrays)) for i in d.idx)
    return check


def scipy_agrees(name: str, rtol: float = 2e-6):
    """At every differing element funcgrad's value is scipy.special.<name> of the inputs in
    float64, rounded to the output's dtype (NaN for NaN, within rtol): JAX's is the one
    that differs from SciPy's."""
    def check(d):
        import scipy.special
        if d.idx is None or d.b is None:
            return False
        arrays = np.broadcast_arrays(*[np.asarray(a, np.float64) for a in d.args
                                       if isinstance(a, (np.ndarray, np.generic))])
        with np.errstate(all="ignore"):
            ref = getattr(scipy.special, name)(*arrays).ravel()[d.idx]
            ref = ref.astype(d.dtype or np.float64).astype(np.float64)
            ok = (np.isnan(ref) & np.isnan(d.b)) | (ref == d.b) | (
                np.abs(ref - d.b) <= rtol * np.abs(ref))
        return bool(np.all(ok))
    return check


def both(*tests):
    return lambda d: all(t(d) for t in tests)


INF, NAN = float("inf"), float("nan")
f32 = np.float32
PORTING = "docs/porting-from-jax.md"
FLUSH = f'JAX on the CPU flushes subnormal results to zero ({PORTING}, "Subnormal numbers")'
DIV0 = (f'integer division by zero: funcgrad gives 0, JAX -1, x or -2 '
        f'({PORTING}, "Integer division by zero")')
FLOORSIGN = (f'a zero remainder has the divisor\'s sign and a zero quotient the sign of x / y, as '
             f'NumPy\'s; JAX\'s come from fmod ({PORTING}, "Signs of zero in % and //")')
JIT_TOO = "JAX's jit raises too (the harness runs JAX eagerly only)"

KNOWN: list[Known] = [
    # ---- JAX flushes subnormals ---------------------------------------------------------
    Known(r"(np\.(exp|reciprocal|sinc|power|float_power|pow|arctan2|atan2|logaddexp)"
          r"|lax\.(exp|logistic|reciprocal|pow|atan2)|sp\.expit"
          r"|nn\.(sigmoid|softplus|silu|swish|log_sigmoid|mish))\((f32|f32 outer)\)"
          r"|lax\.integer_pow\(f32,-1\)|ldexp/frexp",
          "maxrel", "jax-flushes-subnormals", FLUSH, values=flushed),
    Known(r"np\.arcsin\(f16\)", "maxrel", "jax-flushes-subnormals",
          FLUSH + " (the float16 input 6e-8 is subnormal)", values=flushed),
    Known(r"(np\.(divide|true_divide)|lax\.div)\(f32 outer\)", "maxrel|nan-mismatch",
          "jax-flushes-subnormals",
          "XLA's CPU divides by multiplying with 1/y, which flushes to zero for |y| > 8.5e37: "
          "1e38 / 1e38 is 0.0 and inf / 1e38 NaN in JAX (" + FLUSH + ")",
          values=on_inputs(lambda x, y: abs(y) > 8.5e37)),
    Known(r"np\.(floor_divide|divmod)\(f32 outer\)", "maxrel", "jax-flushes-subnormals",
          "floor division divides through 1/y, which flushes for |y| > 8.5e37: 3e38 // 1e38 is "
          "0.0 in JAX (" + FLUSH + ")", values=on_inputs(lambda x, y: abs(y) > 8.5e37)),
    Known(r"f32 divmod neg", "maxrel", "jax-flushes-subnormals",
          FLUSH + ": it reads the dividend 1e-45 as 0, so divmod(1e-45, -1.0) is (-0.0, 1e-45); "
          "funcgrad's (-1.0, -1.0) is NumPy's", values=pairs((-0.0, -1.0), (1e-45, -1.0))),

    # ---- integer division by zero -------------------------------------------------------
    Known(r"(np\.(floor_divide|divmod)|lax\.(div|rem))\((i32|i8|u8|u32|bool) outer\)"
          r"|np\.fmod\(bool outer\)|(int|u8) div by zero", "values", "int-div-by-zero", DIV0,
          values=on_inputs(lambda x, y: y == 0)),

    # ---- other documented deviations ----------------------------------------------------
    Known(r"np\.(floor_divide|remainder|mod|divmod)\(f32 outer\)|f(16|32|64) (//|%) -?2"
          r"|f32 divmod neg", "signed-zero", "documented", FLOORSIGN),
    Known(r"(sp|lax)\.digamma\((f32|i32)\)", "nan-mismatch", "documented",
          f'digamma(+0.0) is -inf and digamma(-0.0) +inf, as SciPy\'s; JAX 0.10: NaN ({PORTING}, '
          f'"Where JAX 0.10\'s code and its documentation disagree")',
          values=both(jax_gives(NAN), fg_gives(INF, -INF))),
    Known(r"np\.power\((i32|i8|u8|u32) outer\)", "values", "documented",
          f'integer powers that overflow wrap as NumPy\'s; JAX squares over the low 6 bits of y '
          f'only ({PORTING}, "Integer powers that overflow")'),
    Known(r"index oob static|\.at 2d set oob", "raise-diff", "documented",
          f'a Python int index out of range raises IndexError, as in NumPy; JAX clamps or drops '
          f'({PORTING}, "Out-of-range indices")'),
    Known(r"nn\.gelu\((f32|i32)\)|nn\.gelu\(approx=True\)", "maxrel", "documented",
          f'gelu\'s tanh form is x * sigmoid(2u), without the cancellation in JAX\'s '
          f'0.5 * (1 + tanh(u)): gelu(-5) is -0.0 in JAX, -2.3e-7 in funcgrad '
          f'({PORTING}, "Dtypes")',
          values=on_inputs(lambda x: x <= -2.5)),
    Known(r"np\.flatnonzero\(f32\)", "raise-diff", "documented",
          f'nonzero needs size= under jit ({PORTING}, "Pure functions and tracing"); ' + JIT_TOO,
          against="jit"),
    Known(r"np\.choose|unravel/ravel_multi_index", "raise-diff", "documented",
          "mode='raise' needs concrete indices under jit (docs/errors.md, "
          "ConcretizationTypeError); " + JIT_TOO, against="jit"),
    Known(r"\.at bool mask set", "raise-diff", "documented",
          "a boolean mask needs concrete values under jit (NonConcreteBooleanIndexError); "
          + JIT_TOO, against="jit"),

    # ---- JAX is wrong (SciPy, NumPy and funcgrad agree) ---------------------------------
    Known(r"(np|sp)\.i0\(f32\)|sp\.i1\(f32\)", "inf-mismatch", "jax-bug",
          "JAX's i0/i1(88.8) overflow to inf (exp(|x|) * i0e(x) in float32); the values, "
          "1.56e37 and 1.55e37, fit float32",
          values=both(jax_gives(INF, -INF), on_inputs(lambda x: abs(x) == f32(88.8)))),
    Known(r"sp\.zeta\(outer\)", "nan-mismatch", "jax-bug",
          "JAX's zeta(s, q) is NaN for s = inf or q = inf (the limits are 0, 1 or inf) and inf "
          "at (0, 0) and (0, -1) (SciPy: NaN); funcgrad's are SciPy's but for zeta(inf, q > 1), "
          "the limit 0 (SciPy: NaN)",
          values=on_inputs(lambda s, q: s == 0 or s == INF or q == INF)),
    Known(r"sp\.(gammainc|gammaincc|betaln|kl_div|rel_entr)\(outer\)", "nan-mismatch",
          "jax-bug", "JAX 0.10 differs from SciPy at the edges (an infinite or zero argument, a "
          "NaN q in rel_entr); funcgrad's is SciPy's", values=lambda d: scipy_agrees(
              d.case[3:d.case.index("(")])(d)),
    Known(r"sp\.entr/kl", "nan-mismatch", "jax-bug",
          "JAX's rel_entr(inf, 1) is NaN; SciPy's and funcgrad's inf", values=pairs((NAN, INF))),
    Known(r"sp\.gammaincc edge", "nan-mismatch", "jax-bug",
          "JAX's gammainc/gammaincc(inf, 1) are NaN; SciPy's and funcgrad's 0 and 1",
          values=on_inputs(lambda a, x: a == INF)),
    Known(r"sp\.zeta edge", "nan-mismatch", "jax-bug",
          "JAX's zeta(3, -1) is NaN; SciPy's and funcgrad's inf (a pole of the Hurwitz zeta)",
          values=pairs((NAN, INF))),
    Known(r"np\.partition\((i32|i8)\)|np\.argpartition\((i32|i8)\)", "values", "jax-bug",
          "JAX partitions through top_k of -x, and -INT_MIN overflows: the smallest value "
          "(-2**31, -128) is left out of the k smallest"),
    Known(r"np\.n?a?n?median\(empty.*\)|median empty", "raise-diff", "jax-bug",
          "JAX's median of an empty array raises (a gather out of range); NumPy's and funcgrad's "
          "is NaN"),
    Known(r"quantile q int", "raise-diff", "jax-bug",
          "JAX's quantile of int32 values with an integer q raises in floor(); NumPy and "
          "funcgrad take it"),
    Known(r"np\.true_divide\(bool,pyneg\)", "signed-zero", "jax-bug",
          "JAX's False / -1 is +0.0 though its 0.0 / -1 is -0.0; funcgrad's is -0.0 (IEEE)",
          values=pairs((0.0, -0.0))),
    Known(r"np\.exp2\(f32\)|lax\.exp2\(f32\)", "maxrel", "accuracy",
          "JAX's exp2 is off by 4e-6 relative at |x| = 100, 104 (2**100 is exact in float32 and "
          "in funcgrad)", values=on_inputs(lambda x: abs(x) >= 100)),

    # ---- accuracy: both approximate, JAX's further from SciPy -------------------------
    Known(r"sp\.gammaln\((f32|i32)\)|lax\.lgamma\(f32\)", "maxrel", "accuracy",
          "JAX's lgamma has an absolute error of ~5e-7 near its zeros 1 and 2 (lgamma(1) is "
          "4.8e-7 there); funcgrad's is SciPy's", values=scipy_agrees("gammaln")),
    Known(r"sp\.digamma\(f32\)|lax\.digamma\(f32\)", "maxrel", "accuracy",
          "digamma(-0.5) and digamma(1.5) are 0.0365, next to its zero at 1.4616: both libraries "
          "are a few float32 ulps of 1 off (funcgrad 4e-7, JAX 1e-7), 1e-5 relative",
          values=both(abs_within(1e-6), on_inputs(lambda x: x in (-0.5, 1.5)))),
    Known(r"sp\.log_ndtr\(f32\)", "maxrel", "accuracy",
          "JAX's log_ndtr is off by 3.5e-5 relative at x = 3.14; funcgrad's is SciPy's",
          values=scipy_agrees("log_ndtr")),
    Known(r"sp\.(gammainc|gammaincc)\(outer\)", "maxrel", "accuracy",
          "JAX's regularized incomplete gamma is off by up to 3e-6 relative (and flushes "
          "gammaincc(1e-30, x) to 0); funcgrad's is SciPy's",
          values=lambda d: scipy_agrees(d.case[3:d.case.index("(")], 1e-5)(d)),
    Known(r"sp\.betaln\(outer\)", "maxrel", "accuracy",
          "JAX's betaln(1, 1) is 9.5e-7, not 0; funcgrad's is SciPy's",
          values=scipy_agrees("betaln")),
    Known(r"sp\.beta|sp\.factorial|sp\.gamma neg", "maxrel", "accuracy",
          "JAX computes beta, factorial and gamma through exp(lgamma), 3e-6..8e-6 relative off "
          "(factorial(10) is 3628812); funcgrad's are within float32 rounding of SciPy's"),
    Known(r"np\.logaddexp2\(f32 outer\)", "maxrel", "accuracy",
          "JAX's logaddexp2(-1, -1) is -1.06e-8, not 0 (log2 of 2**-1 + 2**-1 rounded)",
          values=pairs((-1.0601922895148164e-08, 0.0))),
    Known(r"np\.(mean|nanmean|average)\(i32,axis=(None|\(0, 1\))\)", "maxrel", "accuracy",
          "the int32 values 2**31 - 1 and -2**31 cancel in a float32 sum whose result depends "
          "on the order of the additions (exact mean 0.833: JAX 0.083, funcgrad 0.917)"),
    Known(r"np\.nanvar\((f32nan|i32),dtype=int32\)", "values", "accuracy",
          "a variance of 4.8e8 computed in float32 and cast to int32: a float32 ulp (32) apart",
          x64=False),
    Known(r"cov weights", "maxrel", "accuracy",
          "float32 rounding of a weighted covariance (eager and jit round differently too)"),
    Known(r"cov weights", "maxrel", "accuracy",
          "float32 rounding of a weighted covariance: eager and jit contract differently",
          against="jit"),

    # ---- JAX rejects what funcgrad takes --------------------------------------------------
    Known(r"sp\.(log_ndtr|ndtr|ndtri)\(i32\)|nn\.(sigmoid|silu|swish|glu)\(i32\)", "raise-diff",
          "jax-rejects", "JAX takes float arrays only; funcgrad computes integers as float32 "
          "(to_inexact), as its other special functions and activations do"),
    Known(r"np\.round\(bool\)", "raise-diff", "jax-rejects",
          "JAX's round raises for bool ('not inexact'); funcgrad returns the bools, as NumPy"),
    Known(r"lax\.abs\((u8|u32)\)", "raise-diff", "jax-rejects",
          "JAX's lax.abs takes signed types only; funcgrad's is the identity on unsigned ones"),
    Known(r"lax\.(add|mul)\(.*,py\)|lax\.mul\(py,.*\)", "raise-diff", "jax-rejects",
          "JAX's lax.add(x, 2) with an int32 literal raises for int8/uint8/int16/uint32/float "
          "arrays ('requires arguments to have the same dtypes'); funcgrad takes the Python "
          "scalar as weakly typed"),
    Known(r"lax\.(cumsum|cumprod|cummax|cummin)\(bool,rev=(True|False)\)", "raise-diff",
          "jax-rejects", "JAX's lax cumulative reductions take numbers only; funcgrad's take bool"),
    Known(r"np\.ediff1d|concatenate py list", "raise-diff", "jax-rejects",
          "JAX takes arrays only, not Python lists (to_end=[5, 6], concatenate([a, [1, 2]])); "
          "funcgrad converts lists, as NumPy"),
    Known(r"split", "raise-diff", "jax-rejects",
          "JAX's split raises for split points past the end ([1, 10] of 4 columns); NumPy and "
          "funcgrad give an empty last piece"),
    Known(r"np\.max complex", "raise-diff", "jax-rejects",
          "JAX's max of complex numbers raises; funcgrad orders them lexicographically, as NumPy"),
    Known(r"np\.take_along_axis mode=wrap", "raise-diff", "jax-rejects",
          "JAX's take_along_axis has no mode='wrap'; funcgrad's wraps, as take's does"),
    Known(r"arange bool", "raise-diff", "jax-rejects",
          "JAX's arange(True) raises (iota of bool); funcgrad gives [False], as NumPy"),

    Known(r"lax\.reduce max init", "raise-diff", "jax-rejects",
          "with x64, JAX's lax.reduce of float32 with the Python float init 2.0 raises (a "
          "float64 init value); funcgrad takes the scalar as weakly typed", x64=True),
    Known(r"(quantile|quantile int|percentile|nanquantile|quantile nan) inverted_cdf",
          "raise-diff", "jax-bug", "with x64, JAX's method='inverted_cdf' raises inside "
          "(lax.mul of float64 and float32); funcgrad returns NumPy's values", x64=True),

    # ---- funcgrad rejects what JAX takes --------------------------------------------------
    Known(r"quantile q oob|percentile q>100", "raise-diff", "funcgrad-rejects",
          "q outside [0, 1] (percentile outside [0, 100]) raises ValueError, as in NumPy; JAX "
          "returns a clipped or extrapolated value"),

    # ---- signs of zero (docs/porting-from-jax.md, "Other signs of zero") ----------------
    Known(r"sp\.erfinv\(f32\)|sp\.erfinv edge|lax\.erf_inv\(f32\)|sp\.i1e?\(f32\)"
          r"|lax\.bessel_i1e\(f32\)", "signed-zero", "documented",
          "erfinv, i1 and i1e of -0.0 are +0.0 in funcgrad, as in SciPy; JAX keeps the sign",
          values=pairs((-0.0, 0.0))),
    Known(r"np\.spacing\(f32\)", "maxrel", "documented",
          "spacing(-0.0) is +1.4e-45 in funcgrad, as in NumPy; JAX -1.4e-45",
          values=pairs((-1.401298464324817e-45, 1.401298464324817e-45))),
    # ---- weak types (the "weak" section) --------------------------------------------------
    Known(r"(weak|py) np\.(equal|not_equal|less|less_equal|greater|greater_equal"
          r"|logical_(and|or|xor|not)|isnan|isfinite|iscomplex|isreal)(\(int\))?",
          "weak_type", "documented",
          "comparisons and predicates of weak operands: JAX's bool is weakly typed, funcgrad's "
          "strong; bool is the bottom of the lattice, so no promotion differs "
          "(docs/porting-from-jax.md, Dtypes)"),
    Known(r"weak sp\.(gammaln|betaln)", "maxrel", "accuracy",
          "JAX's gammaln(1.0) is 4.8e-7 and betaln(1.0, 1.0) 9.5e-7; SciPy's and funcgrad's 0",
          x64=False),
    # ---- undocumented, deliberate-looking differences ------------------------------------
    Known(r"(weak|py) np\.modf", "weak_type", "undocumented",
          "modf's parts of weak input are weakly typed in JAX, strong in funcgrad"),
    Known(r"weak (np\.(deg2rad|degrees|rad2deg|radians|heaviside|hypot|logaddexp2|sinc)"
          r"|nn\.gelu|sp\.(kl_div|logit|rel_entr))|py np\.angle", "weak_type", "undocumented",
          "JAX's result is strongly typed for a weak array (its code multiplies by typed "
          "constants) though weak for a Python number (angle: the reverse); funcgrad's "
          "follows the operands in both"),
    Known(r"np\.(partition|argpartition)\(f16\)", "signed-zero", "undocumented",
          "which of the tied zeros (+0.0, -0.0) is among the 3 smallest is unspecified",
          values=pairs((-0.0, 0.0))),
    Known(r"np\.cumsum f16 overflow", "inf-mismatch", "documented",
          "float16 cumsum adds in float32 and rounds each partial sum once: [6e4, 6e4, -6e4] "
          "gives [6e4, inf, 6e4]; JAX and NumPy round each partial sum, [6e4, inf, inf] "
          "(docs/porting-from-jax.md, Dtypes)"),
]

# Differences that look like funcgrad bugs. They are not registered (the CLI reports them as
# new) and tests/test_jax_differential.py leaves their cases out of its subset until fixed.
SUSPECTED: dict = {}
