"""`jnp.apply_along_axis`, `jnp.put_along_axis` and `jnp.pad` with a traced fill, as NumPy
and JAX 0.10.2 (found by the along_axis_helpers and padding_transforms ports):

* apply_along_axis put func1d's output dimensions at the end instead of where the axis
  was (so a callable `pad` mode, which goes through it, transposed the result);
* put_along_axis rejected axis=None (the flattened array), and wrote only the first
  slice when `indices` had size 1 on another axis (NumPy/JAX broadcast it);
* pad read `constant_values` with np.asarray: a traced fill raised under jit/vmap and its
  gradient was silently 0; a (nd, 1) fill was read as one (before, after) pair."""
from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.testing import check_grads

X = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4) ** 1.5 % 7.0


def _central_diff(f, x, eps=1e-3):
    """d f / d x by central differences in float64 (f: numpy array -> scalar)."""
    x = np.asarray(x, np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (float(f(x + e)) - float(f(x - e))) / (2 * eps)
    return g


# --- apply_along_axis --------------------------------------------------------------------

# (funcgrad function, NumPy function) with 0-d, 1-d and 2-d outputs
FUNCS = {
    "scalar": (lambda r: fnp.sum(r * r), lambda r: np.sum(r * r)),
    "vector": (lambda r: fnp.stack([r.min(), r.max(), r.sum()]),
               lambda r: np.stack([r.min(), r.max(), r.sum()])),
    "shorter_vector": (lambda r: fnp.cumsum(r)[::2], lambda r: np.cumsum(r)[::2]),
    "matrix": (lambda r: fnp.outer(r, r[:2]), lambda r: np.outer(r, r[:2])),
}


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2, -3])
@pytest.mark.parametrize("kind", sorted(FUNCS))
def test_apply_along_axis_output_dims_replace_the_axis(kind, axis):
    f, nf = FUNCS[kind]
    want = np.apply_along_axis(nf, axis, X)
    got = fnp.apply_along_axis(f, axis, X)
    assert got.shape == want.shape
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
    jitted = fg.jit(lambda x: fnp.apply_along_axis(f, axis, x))(X)
    np.testing.assert_allclose(np.asarray(jitted), want, rtol=1e-6)


def test_apply_along_axis_the_reported_case():
    got = fnp.apply_along_axis(lambda r: fnp.stack([r.min(), r.max(), r.sum()]), 0,
                               fnp.arange(8.0).reshape(2, 4))
    np.testing.assert_array_equal(np.asarray(got), [[0, 1, 2, 3], [4, 5, 6, 7],
                                                    [4, 6, 8, 10]])


def test_apply_along_axis_extra_args_and_kwargs():
    def normalise(row, eps, *, power=1.0):
        return (row - row.mean()) / (row.std() + eps) ** power

    m = X[0]
    for axis in (0, 1, -2):
        want = np.apply_along_axis(normalise, axis, m, 1e-3, power=2.0)
        got = fnp.apply_along_axis(normalise, axis, m, 1e-3, power=2.0)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5)


def test_apply_along_axis_under_vmap():
    f, nf = FUNCS["vector"]
    got = fg.vmap(lambda x: fnp.apply_along_axis(f, 0, x))(X)
    want = np.stack([np.apply_along_axis(nf, 0, x) for x in X])
    assert got.shape == (2, 3, 4)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
    got = fg.vmap(lambda x: fnp.apply_along_axis(f, 1, x), in_axes=2)(X)
    want = np.stack([np.apply_along_axis(nf, 1, X[:, :, k]) for k in range(4)])
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)


def test_apply_along_axis_grad_matches_finite_differences():
    m = X[0]
    f = lambda x: fnp.sum(fnp.apply_along_axis(  # noqa: E731
        lambda r: fnp.stack([r.sum(), (r * r).sum()]), 0, x) * fnp.arange(8.0).reshape(2, 4))

    def nf(x):
        out = np.apply_along_axis(lambda r: np.stack([r.sum(), (r * r).sum()]), 0, x)
        return np.sum(out * np.arange(8.0).reshape(2, 4))

    g = fg.grad(f)(m)
    np.testing.assert_allclose(np.asarray(g), _central_diff(nf, m), rtol=1e-4, atol=1e-4)
    check_grads(lambda x: fnp.apply_along_axis(FUNCS["matrix"][0], 0, x), (m,), order=1)


def _np_mark_edges(vector, pad_width, iaxis, kwargs):
    lo, hi = pad_width
    vector[:lo] = 10.0 * (iaxis + 1) + kwargs.get("shift", 0)
    if hi:
        vector[vector.shape[0] - hi:] = -10.0 * (iaxis + 1)


def _mark_edges(vector, pad_width, iaxis, kwargs):
    lo, hi = pad_width
    vector = vector.at[:lo].set(10.0 * (iaxis + 1) + kwargs.get("shift", 0))
    return vector.at[vector.shape[0] - hi:].set(-10.0 * (iaxis + 1)) if hi else vector


@pytest.mark.parametrize("shape,pw", [((2, 3), 1), ((3, 2), ((1, 0), (0, 2))),
                                      ((2, 3, 4), ((0, 1), (2, 1), (1, 1)))])
def test_pad_with_a_callable_mode(shape, pw):
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    want = np.pad(a, pw, mode=_np_mark_edges, shift=0.5)
    got = fnp.pad(a, pw, mode=_mark_edges, shift=0.5)
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.asarray(got), want)


def test_pad_callable_mode_the_reported_case():
    got = fnp.pad(fnp.arange(6.0).reshape(2, 3), 1,
                  mode=lambda v, pw, ax, kw: v.at[:pw[0]].set(9.0))
    assert got.shape == (4, 5)


# --- put_along_axis ----------------------------------------------------------------------

def test_put_along_axis_none_flattens():
    got = fnp.put_along_axis(fnp.zeros((2, 3)), fnp.array([0, 5]), 1.0, axis=None,
                             inplace=False)
    np.testing.assert_array_equal(np.asarray(got), [[1, 0, 0], [0, 0, 1]])
    a = X[0].copy()
    np.put_along_axis(a, np.array([11, 0, 5]), np.array([7.0, 8.0, 9.0]), axis=None)
    got = fg.jit(lambda x, i, v: fnp.put_along_axis(x, i, v, axis=None, inplace=False))(
        X[0], np.array([11, 0, 5]), np.array([7.0, 8.0, 9.0], np.float32))
    np.testing.assert_array_equal(np.asarray(got), a)
    g = fg.grad(lambda v, x: fnp.sum(fnp.put_along_axis(x, fnp.array([1, 4]), v, axis=None,
                                                        inplace=False) * x))(
        fnp.array([3.0, 4.0]), fnp.arange(1.0, 7.0).reshape(2, 3))
    np.testing.assert_array_equal(np.asarray(g), [2.0, 5.0])


def test_put_along_axis_indices_broadcast_on_other_axes():
    a = X[0].copy()  # (3, 4); indices (3, 1) along axis 0 broadcast over the 4 columns
    idx = np.array([[2], [0], [1]])
    vals = np.array([[5.0], [6.0], [7.0]], np.float32)
    np.put_along_axis(a, idx, vals, axis=0)
    got = fnp.put_along_axis(X[0], idx, vals, axis=0, inplace=False)
    np.testing.assert_array_equal(np.asarray(got), a)
    b = X.copy()
    np.put_along_axis(b, np.array([[[3]]]), -1.0, axis=-1)
    got = fnp.put_along_axis(X, np.array([[[3]]]), -1.0, axis=-1, inplace=False)
    np.testing.assert_array_equal(np.asarray(got), b)


def test_put_along_axis_shape_errors():
    with pytest.raises(ValueError, match="same ndim"):
        fnp.put_along_axis(fnp.zeros((2, 3)), fnp.array([[0]]), 1.0, axis=None,
                           inplace=False)
    with pytest.raises(ValueError, match="broadcastable"):
        fnp.put_along_axis(fnp.zeros((2, 3)), fnp.array([[0], [1]]), fnp.ones(3), axis=1,
                           inplace=False)


# --- pad with a traced constant_values ---------------------------------------------------

PADS = [
    (1, 7.0),
    (((1, 2), (0, 1)), -3.0),
    ((2, 1), (-1.0, 100.0)),
    (((1, 2), (2, 1)), ((1.0, 2.0), (3.0, 4.0))),
    (((1, 0), (1, 2)), ((5.0,), (6.0,))),
    (((0, 1), (2, 0)), ((8.0, 9.0),)),
]


@pytest.mark.parametrize("pw,cv", PADS)
def test_pad_traced_fill_under_jit(backend, pw, cv):
    a = X[0]
    want = np.pad(a, pw, constant_values=cv)
    np.testing.assert_array_equal(np.asarray(fnp.pad(a, pw, constant_values=cv)), want)
    got = fg.jit(lambda x, c: fnp.pad(x, pw, constant_values=c))(
        a, fnp.asarray(np.asarray(cv, np.float32)))
    np.testing.assert_array_equal(np.asarray(got), want)
    # the fill as a nested tuple of traced scalars
    leaves = np.asarray(cv, np.float32).ravel().tolist()

    def f(x, *cs):
        it = iter(cs)
        c = np.asarray(cv, dtype=object)
        c = fg.tree.map(lambda _: next(it), c.tolist()) if c.ndim else cs[0]
        return fnp.pad(x, pw, constant_values=c)

    got = fg.jit(f)(a, *[np.float32(v) for v in leaves])
    np.testing.assert_array_equal(np.asarray(got), want)


def test_pad_traced_fill_reported_cases():
    got = fg.jit(lambda c: fnp.pad(fnp.arange(3.0), 1, constant_values=c))(7.0)
    np.testing.assert_array_equal(np.asarray(got), [7, 0, 1, 2, 7])
    got = fg.vmap(lambda r, c: fnp.pad(r, 1, constant_values=c))(fnp.ones((2, 2)),
                                                                 fnp.arange(2.0))
    np.testing.assert_array_equal(np.asarray(got), [[0, 1, 1, 0], [1, 1, 1, 1]])
    g = fg.grad(lambda c: fnp.pad(fnp.arange(3.0), 1, constant_values=c).sum())(2.0)
    assert float(g) == 2.0


def test_pad_fill_under_vmap():
    a = X[0]
    fills = np.array([-1.0, 0.0, 2.5], np.float32)
    got = fg.vmap(lambda r, c: fnp.pad(r, (1, 2), constant_values=c))(a, fills)
    want = np.stack([np.pad(r, (1, 2), constant_values=c) for r, c in zip(a, fills)])
    np.testing.assert_array_equal(np.asarray(got), want)
    # a per-side pair, batched on one side only
    got = fg.vmap(lambda r, c: fnp.pad(r, (2, 1), constant_values=(c, 100.0)))(a, fills)
    want = np.stack([np.pad(r, (2, 1), constant_values=(c, 100.0)) for r, c in zip(a, fills)])
    np.testing.assert_array_equal(np.asarray(got), want)
    # per-axis pairs batched, the array not
    cs = np.arange(12.0, dtype=np.float32).reshape(3, 2, 2)
    got = fg.vmap(lambda c: fnp.pad(a, 1, constant_values=c))(cs)
    want = np.stack([np.pad(a, 1, constant_values=c) for c in cs])
    np.testing.assert_array_equal(np.asarray(got), want)


@pytest.mark.parametrize("pw,cv", PADS)
def test_pad_grad_wrt_fill_and_array(pw, cv):
    a = X[0]
    w = np.asarray(np.sin(np.arange(np.pad(a, pw).size)).reshape(np.pad(a, pw).shape),
                   np.float32)
    c0 = np.asarray(cv, np.float32)

    def f(x, c):
        return fnp.sum(fnp.pad(x, pw, constant_values=c) ** 2 * w)

    gx, gc = fg.grad(f, argnums=(0, 1))(a, c0)
    nf_x = lambda x: np.sum(np.pad(x, pw, constant_values=cv) ** 2 * w)  # noqa: E731
    nf_c = lambda c: np.sum(np.pad(a.astype(np.float64), pw, constant_values=c) ** 2 * w)  # noqa: E731
    np.testing.assert_allclose(np.asarray(gx), _central_diff(nf_x, a), rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(np.asarray(gc), _central_diff(nf_c, c0), rtol=1e-3, atol=1e-3)
    check_grads(lambda x, c: fnp.pad(x, pw, constant_values=c), (a, c0), order=2)


def test_pad_traced_fill_narrow_dtypes():
    i8 = np.array([[1, -2], [3, 4]], np.int8)
    got = fg.jit(lambda x, c: fnp.pad(x, ((1, 2), (0, 1)), constant_values=c))(
        i8, np.int8(9))
    assert got.dtype == np.int8
    np.testing.assert_array_equal(np.asarray(got), np.pad(i8, ((1, 2), (0, 1)),
                                                          constant_values=9))
    # the fill is cast to the array's dtype (int32 300 wraps in int8, as JAX)
    got = fg.jit(lambda x, c: fnp.pad(x, 1, constant_values=c))(i8, np.int32(300))
    assert got.dtype == np.int8
    np.testing.assert_array_equal(np.asarray(got), np.pad(i8, 1, constant_values=44))
    got = fg.jit(lambda x, lo, hi: fnp.pad(x, 1, constant_values=(lo, hi)))(
        i8, np.int32(-1), np.int32(300))
    np.testing.assert_array_equal(np.asarray(got), np.pad(i8, 1, constant_values=(-1, 44)))
    bf = np.array([1.5, -2.0, 0.25], ml_dtypes.bfloat16)
    got = fg.jit(lambda x, c: fnp.pad(x, 2, constant_values=c))(bf, ml_dtypes.bfloat16(0.5))
    assert got.dtype == ml_dtypes.bfloat16
    np.testing.assert_array_equal(np.asarray(got).astype(np.float32),
                                  [0.5, 0.5, 1.5, -2.0, 0.25, 0.5, 0.5])
    # a float32 fill into a bfloat16 array is rounded to bfloat16
    got = fg.jit(lambda x, c: fnp.pad(x, (1, 0), constant_values=c))(bf, np.float32(1.0 / 3))
    assert got.dtype == ml_dtypes.bfloat16
    assert np.asarray(got)[0] == ml_dtypes.bfloat16(1.0 / 3)
    g = fg.grad(lambda c: fnp.sum(fnp.pad(fnp.asarray(bf), 2, constant_values=c)
                                  .astype(np.float32)))(np.float32(0.5))
    assert float(g) == 4.0


def test_pad_static_per_axis_fill_of_shape_nd_by_1():
    # ((5,), (6,)) on a 2-D array: 5 on both sides of axis 0, 6 on both sides of axis 1
    a = np.arange(6).reshape(2, 3)
    want = np.pad(a, 1, constant_values=((5,), (6,)))
    np.testing.assert_array_equal(np.asarray(fnp.pad(a, 1, constant_values=((5,), (6,)))),
                                  want)


def test_pad_fill_shape_errors():
    with pytest.raises(ValueError, match="unsupported shape"):
        fnp.pad(fnp.zeros((2, 2)), 1, constant_values=(1.0, 2.0, 3.0))
    with pytest.raises(ValueError, match="unsupported shape"):
        fg.jit(lambda c: fnp.pad(fnp.zeros((2, 2)), 1, constant_values=c))(fnp.zeros((3, 2)))
