"""max and min order -0 < +0, as JAX (XLA) does (IEEE 754-2019 maximum/minimum), on every
backend and path: `maximum(-0., 0.)` and `maximum(0., -0.)` are +0, `minimum` of them -0,
`max([-0., 0.])` and `max([0., -0.])` +0, `min` of them -0, whatever the operands' order,
the vector lanes or the OpenMP combination order; a NaN still wins. `fmax`/`fmin` are
JAX's `where((x1 > x2) | isnan(x2), x1, x2)` (`<` for fmin): of equal values, x2.
Gradients treat -0 and +0 as equal (ties share the cotangent, as JAX's).

The expected values are the rule written out (`_max`, `_min` below), not another library;
arrays of 1000 elements with the odd zero at various positions reach the vectorised
loops (and OpenMP's lane combination), short ones the scalar paths."""
from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax, ops, stax

pytestmark = pytest.mark.usefixtures("x64")

NAN = float("nan")


def _neg(v) -> bool:
    return math.copysign(1.0, v) < 0


def _max(a, b):
    """IEEE 754-2019 maximum: NaN wins, -0 < +0."""
    a, b = float(a), float(b)
    if a != a or b != b:
        return NAN
    if a == b:
        return b if _neg(a) else a
    return a if a > b else b


def _min(a, b):
    a, b = float(a), float(b)
    if a != a or b != b:
        return NAN
    if a == b:
        return a if _neg(a) else b
    return a if a < b else b


def _fmax(a, b):
    a, b = float(a), float(b)
    return a if (a > b or b != b) else b


def _fmin(a, b):
    a, b = float(a), float(b)
    return a if (a < b or b != b) else b


def _ew(f, a, b):
    a, b = np.broadcast_arrays(np.asarray(a, np.float64), np.asarray(b, np.float64))
    return np.array([f(x, y) for x, y in zip(a.ravel(), b.ravel())]).reshape(a.shape)


def _red(f, x, axis=None, initial=None):
    x = np.asarray(x, np.float64)
    if axis is None:
        x, axis = x.reshape(-1), 0
    x = np.moveaxis(x, axis, -1)
    out = np.empty(x.shape[:-1])
    for i in np.ndindex(out.shape):
        row = list(x[i])
        out[i] = functools.reduce(f, row, initial) if initial is not None else \
            functools.reduce(f, row)
    return out


def _check(got, want):
    got = np.asarray(got).astype(np.float64)
    want = np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert np.array_equal(got, want, equal_nan=True), (got, want)
    bad = np.flatnonzero(np.signbit(got) != np.signbit(want))
    assert bad.size == 0, (f"sign of zero differs at {bad[:8]} ({bad.size} elements): got "
                           f"{got.ravel()[bad[:4]]}, want {want.ravel()[bad[:4]]}")


# Zeros of one sign with the odd one out at `pos` (vector lane boundaries, the middle, the
# end), and the opposite; and the two short orders.
_N = 1000
_POSITIONS = (0, 7, 16, 17, 500, 999)


def _arrays(dtype):
    out = [np.array([-0.0, 0.0], dtype), np.array([0.0, -0.0], dtype)]
    for pos in _POSITIONS:
        x = np.full(_N, -0.0, dtype)
        x[pos] = 0.0
        out += [x, -x]
    return out


def _ids(dtype):
    return ["short-+", "short+-"] + [f"{s}{p}" for p in _POSITIONS for s in ("neg@", "pos@")]


def _run(path, f, *args):
    """f(*args) eagerly, jitted, or jitted under vmap (two copies, the second read)."""
    args = [fnp.asarray(a) for a in args]
    if path == "eager":
        return f(*args)
    if path == "jit":
        return fg.jit(f)(*args)
    stacked = [fnp.stack([fnp.zeros_like(a), a]) for a in args]
    out = fg.jit(fg.vmap(f))(*stacked)
    return fg.tree.map(lambda o: o[1], out)


PATHS = ("eager", "jit", "vmap")
DTYPES = (np.float32, np.float64)

# (name, funcgrad function of x (and its reverse), expected from the rule)
_UNARY_CASES = {
    "maximum": (lambda x: fnp.maximum(x, x[::-1]), lambda x: _ew(_max, x, x[::-1])),
    "maximum_rev": (lambda x: fnp.maximum(x[::-1], x), lambda x: _ew(_max, x[::-1], x)),
    "minimum": (lambda x: fnp.minimum(x, x[::-1]), lambda x: _ew(_min, x, x[::-1])),
    "lax_max": (lambda x: lax.max(x, x[::-1]), lambda x: _ew(_max, x, x[::-1])),
    "lax_min": (lambda x: lax.min(x[::-1], x), lambda x: _ew(_min, x[::-1], x)),
    "fmax": (lambda x: fnp.fmax(x, x[::-1]), lambda x: _ew(_fmax, x, x[::-1])),
    "fmin": (lambda x: fnp.fmin(x, x[::-1]), lambda x: _ew(_fmin, x, x[::-1])),
    "relu": (lambda x: fg.nn.relu(x), lambda x: _ew(_max, x, 0.0)),
    "maximum_zero_first": (lambda x: fnp.maximum(0.0, x), lambda x: _ew(_max, 0.0, x)),
    "minimum_zero_first": (lambda x: fnp.minimum(-0.0, x), lambda x: _ew(_min, -0.0, x)),
    "clip": (lambda x: fnp.clip(x, -0.0, 0.0), lambda x: _ew(_min, _ew(_max, x, -0.0), 0.0)),
    "max": (lambda x: fnp.max(x), lambda x: _red(_max, x)),
    "min": (lambda x: fnp.min(x), lambda x: _red(_min, x)),
    "amax": (lambda x: fnp.amax(x), lambda x: _red(_max, x)),
    "nanmax": (lambda x: fnp.nanmax(x), lambda x: _red(_max, x)),
    "nanmin": (lambda x: fnp.nanmin(x), lambda x: _red(_min, x)),
    "ptp": (lambda x: fnp.ptp(x), lambda x: _red(_max, x) - _red(_min, x)),
    "max_initial": (lambda x: fnp.max(x, initial=-0.0), lambda x: _red(_max, x, None, -0.0)),
    "min_initial": (lambda x: fnp.min(x, initial=0.0), lambda x: _red(_min, x, None, 0.0)),
    "max_where": (lambda x: fnp.max(x, where=fnp.arange(x.size) % 3 != 1, initial=-5.0),
                  lambda x: _red(_max, x[np.arange(x.size) % 3 != 1], None, -5.0)),
    "max_axis1": (lambda x: fnp.max(x.reshape(2, -1), axis=1),
                  lambda x: _red(_max, x.reshape(2, -1), 1)),
    "max_axis0": (lambda x: fnp.max(x.reshape(2, -1), axis=0),
                  lambda x: _red(_max, x.reshape(2, -1), 0)),
    "min_axis0_long": (lambda x: fnp.min(x.reshape(-1, 2), axis=0),
                       lambda x: _red(_min, x.reshape(-1, 2), 0)),
    "max_pool_reshape": (lambda x: fnp.max(x.reshape(-1, 2, 1), axis=(1, 2)),
                         lambda x: _red(_max, x.reshape(-1, 2), 1)),
    "max_softmax_row": (lambda x: fnp.max(x.reshape(2, -1), axis=-1, keepdims=True) + x[0],
                        lambda x: _red(_max, x.reshape(2, -1), 1)[:, None] + x[0]),
    "cummax": (lambda x: lax.cummax(x), lambda x: _cum(_max, x)),
    "cummin": (lambda x: lax.cummin(x), lambda x: _cum(_min, x)),
    "cummax_reverse": (lambda x: lax.cummax(x, reverse=True),
                       lambda x: _cum(_max, x[::-1])[::-1]),
    "window_max": (lambda x: lax.reduce_window(x, -np.inf, lax.max, (2,), (1,), "VALID"),
                   lambda x: _windows(_max, x, 2, 1)),
    "window_min": (lambda x: lax.reduce_window(x, np.inf, lax.min, (3,), (2,), "VALID"),
                   lambda x: _windows(_min, x, 3, 2)),
    "window_max_big": (lambda x: lax.reduce_window(x, -np.inf, lax.max, (x.size,), (1,),
                                                   "VALID"),
                       lambda x: _windows(_max, x, x.size, 1)),
    "scatter_max": (lambda x: fnp.zeros(4, x.dtype).at[fnp.arange(x.size) % 4].max(x),
                    lambda x: _scatter(_max, np.zeros(4), x)),
    "scatter_max_neg": (lambda x: (-fnp.zeros(4, x.dtype)).at[fnp.arange(x.size) % 4].max(x),
                        lambda x: _scatter(_max, -np.zeros(4), x)),
    "scatter_min": (lambda x: (-fnp.zeros(4, x.dtype)).at[fnp.arange(x.size) % 4].min(x),
                    lambda x: _scatter(_min, -np.zeros(4), x)),
    "scatter_min_pos": (lambda x: fnp.zeros(4, x.dtype).at[fnp.arange(x.size) % 4].min(x),
                        lambda x: _scatter(_min, np.zeros(4), x)),
    "segment_max": (lambda x: ops.segment_max(x, fnp.arange(x.size) // 2, x.size // 2),
                    lambda x: _red(_max, x.reshape(-1, 2), 1)),
    "segment_min": (lambda x: ops.segment_min(x, fnp.arange(x.size) % 3, 3),
                    lambda x: np.array([_red(_min, x[k::3], None, np.inf) for k in range(3)])),
}


def _cum(f, x):
    out, acc = [], None
    for v in np.asarray(x, np.float64):
        acc = v if acc is None else f(acc, v)
        out.append(acc)
    return np.array(out)


def _windows(f, x, w, s):
    x = np.asarray(x, np.float64)
    return np.array([functools.reduce(f, x[i:i + w]) for i in range(0, x.size - w + 1, s)])


def _scatter(f, init, x):
    out = np.array(init, np.float64)
    for i, v in enumerate(np.asarray(x, np.float64)):
        out[i % 4] = f(out[i % 4], v)
    return out


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", list(_UNARY_CASES))
def test_signed_zeros(backend, name, dtype, path):
    f, want = _UNARY_CASES[name]
    for x, xid in zip(_arrays(dtype), _ids(dtype)):
        got = _run(path, f, x)
        assert np.asarray(got).dtype == np.dtype(dtype), (name, xid)
        try:
            _check(got, want(x))
        except AssertionError as e:
            raise AssertionError(f"{name} of {xid} ({path}): {e}") from None


def test_documented_values(backend):
    """JAX's answers, literally."""
    z, w = fnp.array([-0.0, 0.0]), fnp.array([0.0, -0.0])
    for run in (lambda f, *a: f(*a), lambda f, *a: fg.jit(f)(*a)):
        _check(run(fnp.maximum, z, w), [0.0, 0.0])
        _check(run(fnp.minimum, z, w), [-0.0, -0.0])
        _check(run(fnp.max, z), 0.0)
        _check(run(fnp.max, w), 0.0)
        _check(run(fnp.min, z), -0.0)
        _check(run(fnp.min, w), -0.0)
        _check(run(fnp.fmax, z, w), [0.0, -0.0])
        _check(run(fnp.fmin, z, w), [0.0, -0.0])
        _check(run(lambda a: fnp.fmax(a, fnp.array([NAN, NAN])), z), [-0.0, 0.0])
        _check(run(lambda a: fnp.maximum(a, fnp.array([NAN, -0.0])), z), [NAN, 0.0])
        _check(run(lambda a: fnp.min(fnp.concatenate([a, fnp.array([NAN])])), z), NAN)
        _check(run(lambda a: lax.cummax(a), fnp.array([-0.0, 0.0, -0.0])), [-0.0, 0.0, 0.0])


@pytest.mark.parametrize("dtype", ("float16", "bfloat16"))
@pytest.mark.parametrize("path", ("eager", "jit"))
def test_16_bit_floats(backend, dtype, path):
    import ml_dtypes  # noqa: F401 -- registers bfloat16 with NumPy
    for x in _arrays(np.float32)[:6]:
        x = fnp.asarray(x).astype(dtype)
        xs = np.asarray(x.astype(np.float32))
        for f, want in ((lambda a: fnp.maximum(a, a[::-1]), _ew(_max, xs, xs[::-1])),
                        (lambda a: fnp.minimum(a, a[::-1]), _ew(_min, xs, xs[::-1])),
                        (fnp.max, _red(_max, xs)), (fnp.min, _red(_min, xs)),
                        (lambda a: lax.reduce_window(a, -np.inf, lax.max, (2,), (1,),
                                                     "VALID"), _windows(_max, xs, 2, 1))):
            got = fg.jit(f)(x) if path == "jit" else f(x)
            assert got.dtype == np.dtype(dtype)
            _check(got, want)


def test_max_pool_layer(backend):
    """stax.MaxPool (reduce_window max over NHWC windows) on post-ReLU zeros of both signs."""
    init, apply = stax.MaxPool((2, 2), strides=(2, 2))
    x = np.full((2, 8, 8, 16), -0.0, np.float32)
    x[0, 1, 1, 3] = 0.0
    x[1, 6, 7, 15] = 0.0
    x[1, ::2, ::2, 5] = 0.0
    for data in (x, -x):
        cells = data.reshape(2, 4, 2, 4, 2, 16).transpose(0, 1, 3, 5, 2, 4).reshape(-1, 4)
        want = _red(_max, cells, 1).reshape(2, 4, 4, 16)
        for f in (lambda a: apply((), a), fg.jit(lambda a: apply((), a))):
            _check(f(fnp.asarray(data)), want)


def test_nan_still_wins(backend):
    x = np.full(_N, -0.0, np.float32)
    x[3], x[700] = 0.0, NAN
    for f in (fnp.max, fnp.min, lambda a: fnp.min(fnp.maximum(a, a[::-1])),
              lambda a: lax.cummax(a)[-1:]):
        for run in (f, fg.jit(f)):
            got = np.asarray(run(fnp.asarray(x)))
            assert np.isnan(got).all(), got


# --- gradients: -0 and +0 are equal, ties share (JAX's values) ---------------------------

@pytest.mark.parametrize("path", ("eager", "jit"))
def test_gradients(backend, path):
    wrap = (lambda f: f) if path == "eager" else fg.jit
    z, w = fnp.array([-0.0, 0.0]), fnp.array([0.0, -0.0])
    _check(wrap(fg.grad(lambda x: fnp.max(x)))(z), [0.5, 0.5])
    _check(wrap(fg.grad(lambda x: fnp.min(x)))(w), [0.5, 0.5])
    _check(wrap(fg.grad(lambda x: fnp.nanmax(x)))(fnp.array([-0.0, 0.0, NAN])), [0.5, 0.5, 0])
    g = wrap(fg.grad(lambda a, b: fnp.maximum(a, b), argnums=(0, 1)))
    _check(g(-0.0, 0.0), (0.5, 0.5))
    _check(g(0.0, -0.0), (0.5, 0.5))
    g = wrap(fg.grad(lambda a, b: fnp.minimum(a, b), argnums=(0, 1)))
    _check(g(-0.0, 0.0), (0.5, 0.5))
    # JAX's fmax is a select: of equal values the gradient goes to x2
    _check(wrap(fg.grad(lambda a, b: fnp.fmax(a, b), argnums=(0, 1)))(-0.0, 0.0), (0.0, 1.0))
    _check(wrap(fg.grad(lambda a, b: fnp.fmin(a, b), argnums=(0, 1)))(0.0, -0.0), (0.0, 1.0))
    _check(wrap(fg.grad(fg.nn.relu))(-0.0), 0.0)
    _check(wrap(fg.grad(fg.nn.relu))(0.0), 0.0)
    # max pooling's derivative: the first cell equal to the window's max (XLA's select)
    pool = wrap(fg.grad(lambda x: lax.reduce_window(x, -np.inf, lax.max, (2,), (1,),
                                                    "VALID").sum()))
    _check(pool(fnp.array([-0.0, 0.0])), [1.0, 0.0])
    _check(pool(fnp.array([0.0, -0.0])), [1.0, 0.0])
    _check(pool(fnp.array([-0.0, 0.0, -0.0])), [1.0, 1.0, 0.0])
    _check(wrap(fg.grad(lambda x: lax.cummax(x).sum()))(z), [1.5, 0.5])
    sc = wrap(fg.grad(lambda x, u: x.at[fnp.array([0, 0])].max(u).sum(), argnums=(0, 1)))
    gx, gu = sc(fnp.array([-0.0]), fnp.array([0.0, -0.0]))
    np.testing.assert_allclose(np.asarray(gx), [1 / 3], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(gu), [1 / 3, 1 / 3], rtol=1e-6)
    _check(wrap(fg.grad(lambda x: ops.segment_max(x, fnp.array([0, 0]), 1).sum()))(z),
           [0.5, 0.5])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_signbit_and_copysign_read_the_sign_of_a_nan(backend, dtype):
    # x86 arithmetic makes negative NaNs (0/0, inf - inf); JAX and NumPy read their sign.
    # funcgrad.numpy computed signbit as 1 / x < 0, False for every NaN, so copysign(1.5,
    # -nan) was +1.5 (found by the ports helper, 2026-12-07). A length of 9 reaches a
    # vector loop and its remainder (C's signbit there crashed gcc 12 on float16).
    import ml_dtypes
    dt = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
    x = np.array([-NAN, NAN, -0.0, 0.0, -2.0, 3.0, -np.inf, np.inf, -1e-30], np.float64)
    x = x.astype(dt)
    want = np.signbit(x)
    assert want[0] and not want[1]             # (the cast kept both NaNs' signs)
    f = lambda v: (fnp.signbit(v), fnp.copysign(1.5, v))
    for got_sign, got_copy in (f(x), fg.jit(f)(x)):
        np.testing.assert_array_equal(np.asarray(got_sign), want)
        np.testing.assert_array_equal(np.asarray(got_copy, np.float64),
                                      np.where(want, -1.5, 1.5))
    if backend != "opencl":      # (a device's own NaN may have either sign, as in JAX)
        inf = np.array([np.inf], dt)
        computed = fg.jit(lambda v: fnp.signbit(v - v))(inf)          # this CPU's NaN
        with np.errstate(invalid="ignore"):
            assert bool(computed[0]) == bool(np.signbit(inf - inf)[0])
