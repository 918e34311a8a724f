"""Fuzz ops of dense linear algebra on stacks of square matrices: `fnp.linalg.inv`, `solve`
(vector and matrix right-hand sides, broadcast batch axes), `det`, `slogdet` and
`cholesky` (see `ops.py` for the table's conventions), float32 and float64 only (JAX's CPU
LAPACK has no 16-bit routines). Matrices are 1-8 square mostly, 9-20 sometimes (funcgrad's C
loops for n <= 4, LU up to 16 and triangular solves up to 6, LAPACK beyond), with 0-2
batch axes, some of size 1 or 0.

Conditioning. An operand from the pool can be any matrix, so the op's source shifts it:
`x + c * P` with `c = alpha * n * max|x| + 1` per matrix (computed in the source from `x`,
so it holds for every value the program produces) and `P` the identity, a cyclic shift of
its rows or its flip. With alpha >= 1 each row and column is strictly diagonally dominant
at P's entry; alpha = 2 bounds cond_2 by about 3. `P` off the identity makes partial
pivoting swap rows (and det's parity count), which a dominant diagonal alone never does.
Cholesky factors `x @ x^T + (alpha * n * max|x|^2 + 1) * I` (cond_2 <= 1 + n / alpha).

Error model (norm-wise, per matrix; the fuzzer's perturbed runs add it to each element
with random signs and compare with 4x or more their spread, check.spread_factor).
An LU with partial pivoting solves (A + dA) x = b with |dA| <= g |L||U|, g = 3n eps
(Higham, Accuracy and Stability, Thm 9.4), each column of a matrix right-hand side with
its own dA; gradual underflow adds up to n SUBNORMAL per entry. We take
  ||dA||_2 <= 2 g ||L||U|||_2 + 3 n^2 SUBNORMAL (+ 2 eps max|A| for the shift's own
  rounding, which a fused multiply-add may change),
with ||L||U||| from a float64 LU of the same matrix and 2x headroom for the computed
factors and blocked orders. Then, exactly (not to first order), with eta = ||A^-1|| ||dA||:
  inv / solve: |x_ij - x^_ij| <= ||x_j - x^_j||_2 <= eta / (1 - eta) ||x_j||_2
                                  + ||A^-1|| n^2 SUBNORMAL (the solves' underflow),
  det:  |det(A + dA) - det(A)| <= prod(s_i + ||dA||) - prod(s_i) (Ipsen and Rehman 2008;
        s the singular values: also at a singular A), plus n eps |det| for the product of
        U's diagonal; n <= 3 is a closed-form expansion in funcgrad and JAX alike, off by
        at most 2 (n + 1) eps per(|A|) (the permanent),
  slogdet: log|det| off by -log(1 - d / |det|) (d: det's bound) plus the logs' and the
        sum's rounding, 2 (n + 2) eps (sum |log|u_ii|| + |log|det||); the sign is exact
        while d < |det| / 2 (it shares that bound: one error model serves both outputs),
  cholesky: ||L^ - L||_F <= 2 cond_2(S) ||L||_2 ||dS||_F / ||S||_2 / (1 - ...) (Sun's
        perturbation bound, Higham Thm 10.8, 2x headroom), dS the matmul's
        (n + 2) eps |x||x^T|, the factorisation's (n + 2) eps |L||L^T| and the shift's
        rounding; entries above the diagonal are exact zeros.
eps is the dtype's plus float64's: the float64 reference (NumPy's LAPACK) errs by the
same model. eta >= 1/2 (the linear model says nothing), a product of U's diagonal
whose partial products may over- or underflow in some order, or a bound past the dtype's
range makes a matrix's outputs "anything" (err NaN: not compared).

Non-finite and singular matrices, as JAX 0.10 gives them (checked there): a NaN anywhere
in the operand makes the shift c NaN and every output of that matrix NaN (inv, solve, det,
cholesky's lower triangle; its upper triangle stays 0); a NaN in a column of b makes that
solution column NaN; an infinity (or a shift that overflows) is "anything", since where
the inf/NaN lands depends on the order of operations. slogdet's sign of a NaN matrix is
+-1 in JAX (not NaN): "anything" there too. det and slogdet also take unshifted operands
(value mode only): any matrix, the bound above covering singular ones, and matrices with
a zeroed row or column, exactly singular in any order: det +-0 (the sign of zero depends
on the formula), slogdet (+-0, -inf). inv and solve of exactly singular matrices are left
out: JAX's inf/NaN pattern there depends on the pivot order and rounding. Cholesky's
negated variant (-S, negative definite) fails at the first pivot: NaN on and below the
diagonal, 0 above (JAX's and funcgrad's). Matrices of size 0 are left out (max|x| of no
elements has no value to shift by).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from .generate import Builder
from .ops import OpDef, register
from .program import EPS, SUBNORMAL, TINY, fix
from .values import F32, F64, N_INSTANCES, NP, ONE, Type, finfo

_SMALL_N = (1, 2, 3, 4, 5, 6, 7, 8)
_LARGE_N = (9, 12, 16, 17, 20)
_BATCH_SIZES = (2, 1, 3, 0, 4, 5)
_PERMS = ("eye", "roll", "flip")


def _dtypes(b: Builder) -> tuple:
    return (F32, F64) if b.x64 else (F32,)


def _fits(b: Builder, d: int, hi: int) -> bool:
    sizes = b.dims.all_sizes(d)
    return min(sizes) >= 1 and max(sizes) <= hi


def _matrix_dim(b: Builder) -> int:
    s0 = b.choice(_LARGE_N if b.flag(0.15) else _SMALL_N)
    if b.flag(0.4):
        return b.dims.new([s0] * N_INSTANCES)
    rest = [b.choice(_LARGE_N if b.flag(0.1) else _SMALL_N) for _ in range(N_INSTANCES - 1)]
    return b.dims.new([s0] + rest)


def _batch_dims(b: Builder) -> tuple:
    out = []
    for _ in range(b.choice([0, 0, 1, 1, 2])):
        small = [d for d in b.known_dims() if max(b.dims.all_sizes(d)) <= 5]
        how = b.integers(0, 2)
        if how == 0:
            out.append(ONE)
        elif how == 1 and small:
            out.append(b.choice(small))
        else:
            sizes = [s for s in _BATCH_SIZES if s or not b.grad]
            out.append(b.dims.new([b.choice(sizes) for _ in range(N_INSTANCES)]))
    return tuple(out)


def _square(b: Builder) -> str:
    """A stack of square float32/float64 matrices of size 1..20 from the pool, or a fresh
    one."""
    if b.fdtype not in _dtypes(b):
        b.reject("linalg: float32/float64 only")
    dts = _dtypes(b)

    def ok(t):
        return (t.dtype in dts and 2 <= t.rank <= 4 and t.dims[-1] == t.dims[-2] and
                _fits(b, t.dims[-1], 20))

    def make():
        n = _matrix_dim(b)
        return Type(_batch_dims(b) + (n, n), b.fdtype)
    x = b.pick(ok, make)
    b.check_numel(b.types[x].dims)
    return x


def _form(b: Builder, raw_ok: bool) -> dict:
    """How the op's source turns its operand into the matrix it factorises."""
    if raw_ok and not b.grad and b.flag(0.3):
        if b.flag(0.5):
            return {"form": "raw"}
        return {"form": "zero", "axis": b.choice(["row", "col"]), "at": b.choice([0, -1])}
    alpha = b.choice([2, 1, 0.25] if not b.grad else [2, 1])
    perm = b.choice(_PERMS)
    return {"form": "shift", "alpha": alpha, "perm": perm,
            "k": b.choice([1, -1, 2]) if perm == "roll" else 0}


# ---------------------------------------------------------------------------------------
# The operand: source and oracle

def _eye_src(x: str, p: dict) -> str:
    eye = f"fnp.eye({x}.shape[-1], dtype={x}.dtype)"
    if p["perm"] == "roll":
        return f"fnp.roll({eye}, {p['k']}, axis=0)"
    if p["perm"] == "flip":
        return f"fnp.flip({eye}, axis=0)"
    return eye


def _max_src(x: str, square: bool = False) -> str:
    m = f"fnp.max(fnp.abs({x}), axis=(-2, -1), keepdims=True)"
    return f"{m} ** 2" if square else m


def _operand_src(x: str, p: dict) -> str:
    if p["form"] == "raw":
        return x
    if p["form"] == "zero":
        idx = f"..., {p['at']}, :" if p["axis"] == "row" else f"..., :, {p['at']}"
        return f"{x}.at[{idx}].set(0.0)"
    c = f"({_max_src(x)} * ({p['alpha']!r} * {x}.shape[-1]) + 1.0)"
    return f"{x} + {c} * {_eye_src(x, p)}"


def _eye(n: int, p: dict) -> np.ndarray:
    e = np.eye(n)
    if p["perm"] == "roll":
        return np.roll(e, p["k"], axis=0)
    if p["perm"] == "flip":
        return np.flip(e, axis=0)
    return e


def _rnd(v, dtype: str) -> np.ndarray:
    return fix(v, Type((), dtype))


def _max_abs(x: np.ndarray) -> np.ndarray:
    """max|x| over the last two axes, NaN where the matrix holds one (as fnp.max)."""
    return np.max(np.abs(x), axis=(-2, -1), keepdims=True)


def _operand(x, p: dict, dtype: str):
    """The matrix the op's source builds from `x`, rounded as the source computes it, and
    its shift c (None when unshifted)."""
    x = np.asarray(x, np.float64)
    if p["form"] == "raw":
        return x, None
    if p["form"] == "zero":
        a = x.copy()
        if p["axis"] == "row":
            a[..., p["at"], :] = 0.0
        else:
            a[..., :, p["at"]] = 0.0
        return a, None
    n = x.shape[-1]
    c = _rnd(_rnd(_max_abs(x) * (p["alpha"] * n), dtype) + 1.0, dtype)
    with np.errstate(invalid="ignore"):
        return _rnd(x + c * _eye(n, p), dtype), c


# ---------------------------------------------------------------------------------------
# Shared parts of the error model

def _lu(a: np.ndarray):
    """Float64 LU with partial pivoting of finite matrices `a` [..., n, n]: (L, U)."""
    a = np.array(a, np.float64)
    n = a.shape[-1]
    rows = np.arange(n)
    for k in range(n):
        p = k + np.argmax(np.abs(a[..., k:, k]), axis=-1)
        order = np.broadcast_to(rows, a.shape[:-1]).copy()
        order[..., k] = p
        np.put_along_axis(order, p[..., None], k, axis=-1)
        a = np.take_along_axis(a, order[..., None], axis=-2)
        piv = a[..., k, k]
        with np.errstate(all="ignore"):
            lk = np.where(piv[..., None] != 0, a[..., k + 1:, k] / piv[..., None], 0.0)
        a[..., k + 1:, k] = lk
        a[..., k + 1:, k + 1:] -= lk[..., :, None] * a[..., k, None, k + 1:]
    return np.tril(a, -1) + np.eye(n), np.triu(a)


def _svals(a: np.ndarray) -> np.ndarray:
    """Singular values of each matrix (descending), inf for a matrix with a non-finite
    entry. Each is scaled by a power of 2 first: LAPACK's SVD does not converge on
    entries near float64's largest value."""
    if a.shape[-1] == 0:
        return np.zeros(a.shape[:-1])
    fin = np.all(np.isfinite(a), axis=(-2, -1))
    mx = np.max(np.abs(np.where(fin[..., None, None], a, 0.0)), axis=(-2, -1))
    scale = np.exp2(np.floor(np.log2(np.where(mx > 0, mx, 1.0))))[..., None, None]
    sv = np.linalg.svd(np.where(fin[..., None, None], a, 0.0) / scale, compute_uv=False)
    with np.errstate(over="ignore"):
        return np.where(fin[..., None], sv * scale[..., 0], np.inf)


def _norm2(a: np.ndarray) -> np.ndarray:
    if a.shape[-1] == 0:
        return np.zeros(a.shape[:-2])
    return _svals(a)[..., 0]


def _eps(dtype: str) -> float:
    return EPS[dtype] + EPS[F64]


class _Mat:
    """What the error model needs of each matrix of a stack: finite (no NaN or inf), NaN,
    its singular values, float64 LU, and the backward error bound ||dA||_2."""

    def __init__(self, a: np.ndarray, c, dtype: str):
        n = a.shape[-1]
        self.n = n
        # every output NaN: a NaN without an infinity (an infinity, or inf - inf, makes
        # the pattern depend on the order of operations: "anything")
        self.nan = np.any(np.isnan(a), axis=(-2, -1)) & ~np.any(np.isinf(a), axis=(-2, -1))
        self.finite = np.all(np.isfinite(a), axis=(-2, -1))
        fa = np.where(self.finite[..., None, None], a, 0.0)
        self.a = fa
        self.sv = _svals(fa)
        self.L, self.U = _lu(fa)
        with np.errstate(all="ignore"):
            lu = _norm2(np.abs(self.L) @ np.abs(self.U))
        self.lu = lu
        eps = _eps(dtype)
        sub = SUBNORMAL[dtype]
        da = 2 * 3 * n * eps * lu + 3 * n * n * sub
        if c is not None:
            da = da + 2 * EPS[dtype] * np.max(np.abs(fa), axis=(-2, -1))
        self.da = da
        with np.errstate(divide="ignore"):
            self.inv_norm = 1.0 / self.sv[..., -1]
        big = float(finfo(NP[dtype]).max) / 4
        self.overflow = ~(lu < big)
        # no product of n - 1 entries (a cofactor's) and no entry of the LU overflows: a
        # zero row or column then stays an exact zero (inf * 0 would make it NaN)
        mx = np.max(np.abs(fa), axis=(-2, -1)) if n else np.zeros(a.shape[:-2])
        with np.errstate(over="ignore"):
            self.tame = ~self.overflow & (math.factorial(n) * mx ** max(n - 1, 1) < big)


def _x_bound(m: _Mat, x: np.ndarray, dtype: str) -> np.ndarray:
    """The bound on each element of the solutions x [..., n, k] (columns) of A x = b."""
    n = m.n
    with np.errstate(all="ignore"):
        eta = m.inv_norm * m.da
        good = m.finite & (eta < 0.5) & ~m.overflow
        col = np.sqrt(np.sum(np.where(np.isfinite(x), x, 0.0) ** 2, axis=-2, keepdims=True))
        e = (eta / (1 - eta))[..., None, None] * col + \
            (m.inv_norm * n * n * SUBNORMAL[dtype])[..., None, None] + SUBNORMAL[dtype]
        e = np.where(good[..., None, None], e, np.nan)
        e = np.where(m.nan[..., None, None], 0.0, e)
        big = float(finfo(NP[dtype]).max) / 4
        return np.where(col * m.lu[..., None, None] < big, e, np.nan)


# ---------------------------------------------------------------------------------------
# inv and solve

def _inv_gen(b: Builder, opname):
    x = _square(b)
    t = b.types[x]
    b.emit(opname, (x,), _form(b, raw_ok=False), (Type(t.dims, t.dtype),))


def _safe_solve(a: np.ndarray, rhs: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """np.linalg.solve of the matrices where `ok` (the others get the identity: their
    results are overwritten)."""
    n = a.shape[-1]
    a = np.where(ok[..., None, None], a, np.eye(n))
    rhs = np.where(ok[..., None, None], rhs, 0.0)
    return np.linalg.solve(a, rhs)


def _usable(m: _Mat) -> np.ndarray:
    return m.finite & (m.sv[..., -1] > 0) if m.n else m.finite


def _inv_ref(args, p, op, ctx, env):
    dt = op.types[0].dtype
    a, c = _operand(args[0], p, dt)
    m = _Mat(a, c, dt)
    ok = _usable(m)
    eye = np.broadcast_to(np.eye(m.n), a.shape)
    with np.errstate(all="ignore"):
        out = _safe_solve(a, eye, ok)
    return np.where(ok[..., None, None], out, np.nan)


def _inv_err(args, out, op, t, ctx):
    a, c = _operand(args[0], op.params, t.dtype)
    return _x_bound(_Mat(a, c, t.dtype), np.asarray(out, np.float64), t.dtype)


def _solve_gen(b: Builder, opname):
    x = _square(b)
    t = b.types[x]
    n = t.dims[-1]
    batch = t.dims[:-2]
    if b.flag(0.3):
        rdims = (n,)
        out = batch + (n,)
    else:
        k = b.dims.new([b.choice((1, 2, 3, 5, 8, 0) if not b.grad else (1, 2, 3, 5))
                        for _ in range(N_INSTANCES)]) if b.flag(0.8) else ONE
        rb = b.compat_dims(batch, grow=False) if batch else ()
        rdims = rb + (n, k)
        out = _bcast(batch, rb) + (n, k)
    y = b.pick(lambda u: u.dims == rdims and u.dtype == t.dtype, lambda: Type(rdims, t.dtype))
    b.emit(opname, (x, y), _form(b, raw_ok=False), (Type(out, t.dtype),))


def _bcast(d1: tuple, d2: tuple) -> tuple:
    n = max(len(d1), len(d2))
    a = (ONE,) * (n - len(d1)) + tuple(d1)
    c = (ONE,) * (n - len(d2)) + tuple(d2)
    return tuple(x if y == ONE else y for x, y in zip(a, c))


def _solve_parts(args, p, dtype):
    """The operand matrix, its shift, and b as a stack of matrices broadcast with it."""
    a, c = _operand(args[0], p, dtype)
    rhs = np.asarray(args[1], np.float64)
    vector = rhs.ndim == 1
    r = rhs[:, None] if vector else rhs
    batch = np.broadcast_shapes(a.shape[:-2], r.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    c = np.broadcast_to(c, batch + (1, 1)) if c is not None else None
    r = np.broadcast_to(r, batch + r.shape[-2:])
    return a, c, r, vector


def _solve_ref(args, p, op, ctx, env):
    dt = op.types[0].dtype
    a, c, r, vector = _solve_parts(args, p, dt)
    m = _Mat(a, c, dt)
    ok = _usable(m)
    with np.errstate(all="ignore"):
        out = _safe_solve(a, np.where(np.isfinite(r), r, 0.0), ok)
    # a NaN in a column of b: that whole column is NaN (every step of both triangular
    # solves reads it); an infinity is "anything" (_solve_err)
    out = np.where(np.any(np.isnan(r), axis=-2, keepdims=True), np.nan, out)
    out = np.where(ok[..., None, None], out, np.nan)
    return out[..., 0] if vector else out


def _solve_err(args, out, op, t, ctx):
    a, c, r, vector = _solve_parts(args, op.params, t.dtype)
    x = np.asarray(out, np.float64)
    x = x[..., None] if vector else x
    m = _Mat(a, c, t.dtype)
    e = _x_bound(m, x, t.dtype)
    col_nan = np.any(np.isnan(r), axis=-2, keepdims=True)
    col_inf = np.any(np.isinf(r), axis=-2, keepdims=True) & ~col_nan
    e = np.where(col_inf & m.finite[..., None, None], np.nan, e)
    e = np.where(col_nan & m.finite[..., None, None], 0.0, e)
    return e[..., 0] if vector else e


register(OpDef("inv", _inv_gen, _inv_ref,
               lambda a, p, op, ind: f"fnp.linalg.inv({_operand_src(a[0], p)})",
               err_fn=_inv_err))
register(OpDef("solve", _solve_gen, _solve_ref,
               lambda a, p, op, ind: f"fnp.linalg.solve({_operand_src(a[0], p)}, {a[1]})",
               err_fn=_solve_err))


# ---------------------------------------------------------------------------------------
# det and slogdet

def _det_gen(b: Builder, opname):
    x = _square(b)
    t = b.types[x]
    out = Type(t.dims[:-2], t.dtype)
    b.emit(opname, (x,), _form(b, raw_ok=True), (out, out) if opname == "slogdet" else (out,))


def _zero_line(a: np.ndarray) -> np.ndarray:
    """Matrices with an all-zero row or column: an exact zero pivot in any LU (the zeros
    stay zeros through elimination) and an exact 0 in any cofactor expansion."""
    z = a == 0
    return np.any(np.all(z, axis=-1), axis=-1) | np.any(np.all(z, axis=-2), axis=-1)


def _exact_zero(m: _Mat) -> np.ndarray:
    """Matrices whose det is an exact +-0 in any order: a zero row or column, and no
    overflow that could make inf * 0 of it (a float32 7x7 with entries of 3.4e38 and a
    zeroed column gave NaN; fuzz seed 777001)."""
    return m.finite & m.tame & _zero_line(m.a)


def _permanent_abs(a: np.ndarray) -> np.ndarray:
    """per(|a|) of each matrix (n <= 3): the sum of the magnitudes of the det's terms."""
    n = a.shape[-1]
    x = np.abs(a)
    out = np.zeros(a.shape[:-2])
    for perm in itertools.permutations(range(n)):
        term = np.ones(a.shape[:-2])
        for i, j in enumerate(perm):
            term = term * x[..., i, j]
        out = out + term
    return out


def _ipsen(sv: np.ndarray, e) -> np.ndarray:
    """prod(s + e) - prod(s) (Ipsen and Rehman's bound on |det(A + E) - det(A)| for
    ||E||_2 <= e), without cancelling where e << s."""
    e = np.asarray(e, np.float64)[..., None]
    with np.errstate(all="ignore"):
        pos = np.all(sv > 0, axis=-1)
        rel = np.expm1(np.sum(np.log1p(e / np.where(sv > 0, sv, 1.0)), axis=-1))
        direct = np.prod(sv + e, axis=-1) - np.prod(sv, axis=-1)
        return np.where(pos, rel * np.prod(sv, axis=-1), direct)


def _det_bound(a, c, dtype: str, closed_form: bool):
    """(bound on |det^ - det|, per matrix: NaN where anything is possible; the _Mat)."""
    m = _Mat(a, c, dtype)
    n = m.n
    eps, sub = EPS[dtype], SUBNORMAL[dtype]
    top = float(finfo(NP[dtype]).max) / 4
    with np.errstate(all="ignore"):
        det = np.prod(m.sv, axis=-1)
        if closed_form and n <= 3:
            # funcgrad's nested cofactors and JAX's sum of n! products; an underflowing
            # product of two entries is off by a subnormal spacing, then scaled by the third
            per = _permanent_abs(m.a)
            mx = np.max(np.abs(m.a), axis=(-2, -1)) if n else np.zeros(a.shape[:-2])
            e = (2 * (n + 1) * eps * per + 8 * sub * (1 + mx) ** max(n - 2, 0) +
                 _ipsen(m.sv, 2 * 3 * n * EPS[F64] * m.lu))
            e = np.where((per < top) & m.tame, e, np.nan)
        else:
            d = np.abs(np.diagonal(m.U, axis1=-2, axis2=-1))
            nz = d > 0
            big = np.prod(np.where(nz, np.maximum(d, 1.0), 1.0), axis=-1)
            small = np.prod(np.where(nz, np.minimum(d, 1.0), 1.0), axis=-1)
            # a partial product of U's diagonal lies between `small` and `big` in any order
            risky = (big > top) | ((small < TINY[dtype]) & (big > 1.0))
            e = _ipsen(m.sv, m.da) + n * eps * det + (n + 1) * sub
            e = np.where(risky | m.overflow, np.nan, e)
        e = e + sub
        e = np.where(m.finite, e, np.nan)
        e = np.where(_exact_zero(m), sub, e)
        e = np.where(m.nan, 0.0, e)
    return e, m


def _det_ref(args, p, op, ctx, env):
    dt = op.types[0].dtype
    a, c = _operand(args[0], p, dt)
    m = _Mat(a, c, dt)
    d = np.linalg.det(m.a) if m.n else np.ones(a.shape[:-2])
    d = np.where(_exact_zero(m), 0.0, d)
    return np.where(m.finite, d, np.nan)


def _det_err(args, out, op, t, ctx):
    a, c = _operand(args[0], op.params, t.dtype)
    e, _ = _det_bound(a, c, t.dtype, closed_form=True)
    big = float(finfo(NP[t.dtype]).max) / 4
    with np.errstate(invalid="ignore"):
        return np.where(np.abs(np.asarray(out, np.float64)) + e < big, e, np.nan)


def _slogdet_ref(args, p, op, ctx, env):
    dt = op.types[0].dtype
    a, c = _operand(args[0], p, dt)
    m = _Mat(a, c, dt)
    sign, logabs = np.linalg.slogdet(m.a)
    zero = _exact_zero(m)
    sign = np.where(m.finite, np.where(zero, 0.0, sign), np.nan)
    logabs = np.where(m.finite, np.where(zero, -np.inf, logabs), np.nan)
    return sign, logabs


def _slogdet_err(args, out, op, t, ctx):
    """One bound for both outputs (err_fn does not say which it is given): log|det|'s,
    which also keeps the sign +-1 in its place, checked, while it is small."""
    a, c = _operand(args[0], op.params, t.dtype)
    e, m = _det_bound(a, c, t.dtype, closed_form=False)
    n = m.n
    with np.errstate(all="ignore"):
        det = np.prod(m.sv, axis=-1)
        rel = e / det
        logs = np.sum(np.abs(np.log(np.abs(np.diagonal(m.U, axis1=-2, axis2=-1)))), axis=-1)
        err = -np.log1p(-rel) + 2 * (n + 2) * EPS[t.dtype] * (logs + np.abs(np.log(det)))
        err = np.where(rel < 0.5, err, np.nan)
    zero = _exact_zero(m)
    # a NaN matrix's sign is +-1 in JAX, NaN in funcgrad: anything, for both outputs
    return np.where(zero, SUBNORMAL[t.dtype], np.where(m.finite, err, np.nan))


register(OpDef("det", _det_gen, _det_ref,
               lambda a, p, op, ind: f"fnp.linalg.det({_operand_src(a[0], p)})",
               err_fn=_det_err))
register(OpDef("slogdet", _det_gen, _slogdet_ref,
               lambda a, p, op, ind: f"fnp.linalg.slogdet({_operand_src(a[0], p)})",
               err_fn=_slogdet_err, tuple_out=True))


# ---------------------------------------------------------------------------------------
# cholesky

def _chol_gen(b: Builder, opname):
    x = _square(b)
    t = b.types[x]
    p = {"alpha": b.choice([2, 1, 0.25]), "neg": not b.grad and b.flag(0.1),
         "upper": b.flag(0.3)}
    b.emit(opname, (x,), p, (Type(t.dims, t.dtype),))


def _chol_src(a, p, op, ind):
    x = a[0]
    s = (f"{x} @ fnp.swapaxes({x}, -1, -2) + ({_max_src(x, square=True)} * "
         f"({p['alpha']!r} * {x}.shape[-1]) + 1.0) * fnp.eye({x}.shape[-1], dtype={x}.dtype)")
    if p["neg"]:
        s = f"-({s})"
    return f"fnp.linalg.cholesky({s}{', upper=True' if p['upper'] else ''})"


def _spd(x, p, dtype):
    """(S as the source computes it, x's |x||x|^T, the shift c)."""
    x = np.asarray(x, np.float64)
    n = x.shape[-1]
    mx = _max_abs(x)
    c = _rnd(_rnd(_rnd(mx * mx, dtype) * (p["alpha"] * n), dtype) + 1.0, dtype)
    xt = np.swapaxes(x, -1, -2)
    with np.errstate(all="ignore"):
        s = _rnd(_rnd(x @ xt, dtype) + c * np.eye(n), dtype)
        ax = np.abs(np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0))
        absprod = ax @ np.swapaxes(ax, -1, -2)
    return (-s if p["neg"] else s), absprod, c


def _chol_ref(args, p, op, ctx, env):
    dt = op.types[0].dtype
    s, _, _ = _spd(args[0], p, dt)
    n = s.shape[-1]
    ok = np.all(np.isfinite(s), axis=(-2, -1)) & (not p["neg"])
    L = np.linalg.cholesky(np.where(ok[..., None, None], s, np.eye(n)))
    # a failed factorisation (not positive definite, or NaN): NaN on and below the
    # diagonal, zeros above (JAX's jnp.where over the lower triangle; funcgrad's too)
    fail = np.tril(np.full((n, n), np.nan))
    L = np.where(ok[..., None, None], L, fail)
    return np.swapaxes(L, -1, -2) if p["upper"] else L


def _chol_err(args, out, op, t, ctx):
    p = op.params
    s, absprod, c = _spd(args[0], p, t.dtype)
    n = s.shape[-1]
    eps = _eps(t.dtype)
    ok = np.all(np.isfinite(s), axis=(-2, -1))
    fs = np.where(ok[..., None, None], s, np.eye(n))
    sv = _svals(fs)
    L = np.linalg.cholesky(fs) if not p["neg"] else np.zeros_like(fs)
    aL = np.abs(L)
    with np.errstate(all="ignore"):
        fro = np.sqrt(np.sum(absprod ** 2, axis=(-2, -1)))
        lfro = np.sqrt(np.sum((aL @ np.swapaxes(aL, -1, -2)) ** 2, axis=(-2, -1)))
        ds = ((n + 2) * eps * (fro + lfro) + 2 * EPS[t.dtype] * np.abs(c[..., 0, 0]) *
              math.sqrt(n) + EPS[t.dtype] * np.sqrt(np.sum(fs ** 2, axis=(-2, -1))) +
              3 * n * n * SUBNORMAL[t.dtype])
        kappa = sv[..., 0] / sv[..., -1]
        rel = 2 * kappa * ds / sv[..., 0]
        e = rel * np.sqrt(sv[..., 0]) / (1 - rel) + SUBNORMAL[t.dtype]
        good = ok & (rel < 0.5) & (sv[..., 0] < float(finfo(NP[t.dtype]).max) / 4)
        e = np.where(good, e, np.nan)
    # every output exact where the factorisation fails: x holds a NaN (so does every
    # entry of S, through the shift), or S is negated
    failed = np.isnan(_max_abs(np.asarray(args[0], np.float64)))[..., 0, 0] | p["neg"]
    e = np.where(failed, 0.0, e)[..., None, None]
    tri = np.triu(np.ones((n, n))) if p["upper"] else np.tril(np.ones((n, n)))
    return e * tri


register(OpDef("cholesky", _chol_gen, _chol_ref, _chol_src, err_fn=_chol_err))
