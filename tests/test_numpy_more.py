"""funcgrad.numpy's JAX-coverage additions (issue 11): set routines, order statistics,
polynomials, indexing modes, JAX's extra parameters, and the names added for JAX 0.10's
jax.numpy. Checked against NumPy where NumPy has the function (hypothesis draws the
inputs), and against small values recorded from JAX 0.10.2 where JAX's rule differs from
NumPy's (padding with `size=`, out-of-bounds gathers); JAX itself is never imported."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import funcgrad as fg
import funcgrad.numpy as fnp

pytestmark = pytest.mark.core


def same(got, want, rtol=1e-5, atol=1e-6, dtype=True):
    """`got` (a funcgrad array, or a tuple of them) equals `want`: shape, dtype (unless
    `dtype` is False) and values (NaN == NaN)."""
    if isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)) and len(got) == len(want), (got, want)
        for g, w in zip(got, want):
            same(g, w, rtol, atol, dtype)
        return
    g, w = np.asarray(got), np.asarray(want)
    assert g.shape == w.shape, (g.shape, w.shape, g, w)
    if dtype:
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
    if g.dtype.kind in "biu":
        np.testing.assert_array_equal(g, w)
    else:
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, equal_nan=True)


def quiet(f, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*args, **kwargs)


small_ints = hnp.arrays(np.int32, hnp.array_shapes(min_dims=1, max_dims=2, max_side=6),
                        elements=st.integers(-3, 3))
floats_nan = hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                        elements=st.one_of(st.floats(-4, 4, width=32), st.just(np.nan)))


# ---------------------------------------------------------------------------------------
# Set routines


@given(small_ints)
def test_unique_matches_numpy(x):
    want = np.unique(x, return_index=True, return_inverse=True, return_counts=True)
    got = fnp.unique(x, return_index=True, return_inverse=True, return_counts=True)
    same(got[0], want[0])
    same(got[1], want[1], dtype=False)
    same(got[2], want[2].reshape(x.shape), dtype=False)
    same(got[3], want[3], dtype=False)
    if x.ndim == 2:
        for ax in (0, 1):
            w = np.unique(x, return_index=True, return_inverse=True, return_counts=True,
                          axis=ax)
            g = fnp.unique(x, return_index=True, return_inverse=True, return_counts=True,
                           axis=ax)
            for a, b in zip(g, w):
                same(a, b.ravel() if b.ndim == 1 else b, dtype=False)


def test_unique_nan_and_array_api_variants():
    x = np.array([1.0, np.nan, 2.0, np.nan, 1.0], np.float32)
    same(fnp.unique(x), np.array([1.0, 2.0, np.nan], np.float32))
    same(fnp.unique(x, equal_nan=False), np.array([1.0, 2.0, np.nan, np.nan], np.float32))
    r = fnp.unique_all(x)
    assert r._fields == ("values", "indices", "inverse_indices", "counts")
    same(r.values, np.array([1, 2, np.nan, np.nan], np.float32))
    same(r.counts, np.array([2, 1, 1, 1], np.int32))
    same(r.indices, np.array([0, 2, 1, 3], np.int32))
    y = np.array([[3, 4], [1, 3], [1, 9]])
    inv = fnp.unique_inverse(y)
    same(inv.values[inv.inverse_indices], y.astype(np.int32))
    same(fnp.unique_counts(y).counts, np.array([2, 2, 1, 1], np.int32))
    same(fnp.unique_values(y), np.array([1, 3, 4, 9], np.int32))


def test_unique_with_size_pads_as_jax():
    # Values recorded from JAX 0.10.2: padding repeats the smallest value, its index, and
    # counts 0; fill_value replaces the padded values only.
    x = np.array([3, 4, 1, 3, 1])
    f = fg.jit(lambda v: fnp.unique(v, return_index=True, return_inverse=True,
                                    return_counts=True, size=5))
    same(f(x), (np.array([1, 3, 4, 1, 1], np.int32), np.array([2, 0, 1, 2, 2], np.int32),
                np.array([1, 2, 0, 1, 0], np.int32), np.array([2, 2, 1, 0, 0], np.int32)))
    same(fnp.unique(x, size=2), np.array([1, 3], np.int32))
    same(fnp.unique(x, size=5, fill_value=0), np.array([1, 3, 4, 0, 0], np.int32))
    same(fg.jit(lambda v: fnp.unique_counts(v, size=4))(x).counts,
         np.array([2, 2, 1, 0], np.int32))
    with pytest.raises(fg.core.ConcretizationTypeError, match="size="):
        fg.jit(fnp.unique)(x)
    with pytest.raises(ValueError, match="fill_value"):
        fnp.unique(np.zeros(0), size=2)


set_pairs = st.tuples(hnp.arrays(np.int32, st.integers(0, 7), elements=st.integers(0, 6)),
                      hnp.arrays(np.int32, st.integers(0, 7), elements=st.integers(0, 6)))


@given(set_pairs)
def test_two_set_routines_match_numpy(pair):
    a, b = pair
    for name in ("union1d", "intersect1d", "setdiff1d", "setxor1d"):
        want = getattr(np, name)(a, b)
        same(getattr(fnp, name)(a, b), want, dtype=False)
        size = len(want) + 2
        got = fg.jit(lambda u, v, n=name, k=size: getattr(fnp, n)(u, v, size=k,
                                                                fill_value=-1))(a, b)
        same(got, np.concatenate([want, [-1, -1]]), dtype=False)
    want = np.intersect1d(a, b, return_indices=True)
    same(fnp.intersect1d(a, b, return_indices=True), want, dtype=False)


def test_set_routines_default_fill_and_nan():
    a, b = np.array([1, 2, 3, 2, 5]), np.array([2, 5, 7, 5])
    # JAX's defaults: the smallest result (intersect1d, setxor1d, union1d), 0 (setdiff1d);
    # padded intersect1d indices are the input sizes.
    same(fnp.intersect1d(a, b, size=4), np.array([2, 5, 2, 2], np.int32))
    same(fnp.setxor1d(a, b, size=5), np.array([1, 3, 7, 1, 1], np.int32))
    same(fnp.setdiff1d(a, b, size=3), np.array([1, 3, 0], np.int32))
    same(fnp.union1d(a, b, size=6), np.array([1, 2, 3, 5, 7, 1], np.int32))
    same(fnp.intersect1d(a, b, return_indices=True, size=3),
         (np.array([2, 5, 2], np.int32), np.array([1, 4, 5], np.int32),
          np.array([0, 1, 4], np.int32)))
    same(fnp.intersect1d(np.array([4, 1]), np.array([7, 8]), size=2), np.zeros(2, np.int32))
    x, y = np.array([1.0, np.nan, 3.0]), np.array([np.nan, 3.0, 4.0])
    for name in ("union1d", "intersect1d", "setdiff1d", "setxor1d"):
        same(getattr(fnp, name)(x, y), getattr(np, name)(x, y).astype(np.float32))


def test_nonzero_family_size_and_fill_value():
    x = np.array([[0, 1, 0], [2, 0, 3]])
    same(fnp.nonzero(x, size=5, fill_value=-1), (np.array([0, 1, 1, -1, -1], np.int32),
                                                 np.array([1, 0, 2, -1, -1], np.int32)))
    same(fnp.nonzero(x, size=4, fill_value=(7, 8)), (np.array([0, 1, 1, 7], np.int32),
                                                     np.array([1, 0, 2, 8], np.int32)))
    same(fnp.nonzero(x, size=0), (np.zeros(0, np.int32), np.zeros(0, np.int32)))
    same(fnp.argwhere(x, size=4, fill_value=9),
         np.array([[0, 1], [1, 0], [1, 2], [9, 9]], np.int32))
    same(fnp.flatnonzero(x, size=4, fill_value=-2), np.array([1, 3, 5, -2], np.int32))
    same(fg.jit(lambda c: fnp.where(c, size=2))(x > 0)[1], np.array([1, 0], np.int32))
    same(fnp.argwhere(np.array(3)).shape, (1, 0), dtype=False)
    with pytest.raises(ValueError, match="one-argument form"):
        fnp.where(x > 0, x, 0, size=3)


def test_compress_extract_with_size():
    a = np.arange(12.0).reshape(3, 4)
    same(fnp.compress([0, 1, 1, 0], a, axis=1), np.compress([0, 1, 1, 0], a, 1).astype(
        np.float32))
    same(fnp.compress([1, 0], a, axis=0), np.compress([1, 0], a, 0).astype(np.float32))
    same(fg.jit(lambda c: fnp.compress(c, a, axis=0, size=3, fill_value=-1))(
        np.array([True, False, True])),
        np.array([[0, 1, 2, 3], [8, 9, 10, 11], [-1, -1, -1, -1]], np.float32))
    same(fg.jit(lambda c: fnp.extract(c, a, size=3))(a > 4), np.array([5, 6, 7], np.float32))
    with pytest.raises(ValueError, match="1-D"):
        fnp.compress(np.ones((2, 2)), a)


# ---------------------------------------------------------------------------------------
# Order statistics


@given(floats_nan, st.sampled_from(["linear", "lower", "higher", "midpoint"]),
       st.booleans())
def test_quantile_family_matches_numpy(x, method, keepdims):
    q = np.array([0.0, 0.3, 0.5, 1.0])
    axes = [None, 0, -1] + ([(0, x.ndim - 1)] if x.ndim > 1 else [])
    for axis in axes:
        for name in ("quantile", "nanquantile"):
            want = quiet(getattr(np, name), x, q, axis=axis, method=method, keepdims=keepdims)
            got = getattr(fnp, name)(x, q, axis=axis, method=method, keepdims=keepdims)
            same(got, want.astype(np.float32), rtol=1e-5, atol=1e-5)
        same(fnp.nanpercentile(x, 30.0, axis=axis, method=method, keepdims=keepdims),
             quiet(np.nanpercentile, x, 30.0, axis=axis, method=method,
                   keepdims=keepdims).astype(np.float32), rtol=1e-5, atol=1e-5)
        same(fnp.nanmedian(x, axis=axis, keepdims=keepdims),
             quiet(np.nanmedian, x, axis=axis, keepdims=keepdims).astype(np.float32))


def test_quantile_nearest_weights_and_traced_q():
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    # JAX's "nearest": the lower value unless past the half-way point (NumPy rounds to even).
    same(fnp.quantile(x, [0.5, 1 / 6, 0.51], method="nearest"),
         np.array([2.0, 1.0, 3.0], np.float32))
    w = np.array([1.0, 3.0, 0.5, 2.0])
    for q in (0.1, 0.4, 0.75):
        same(fnp.quantile(x, q, method="inverted_cdf", weights=w),
             np.quantile(x, q, method="inverted_cdf", weights=w).astype(np.float32))
    m = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    same(fnp.quantile(m, 0.5, axis=1, method="inverted_cdf", weights=w),
         np.quantile(m, 0.5, axis=1, method="inverted_cdf", weights=w).astype(np.float32))
    with pytest.raises(NotImplementedError, match="inverted_cdf"):
        fnp.quantile(x, 0.5, weights=w)
    f = fg.jit(lambda v, q: fnp.quantile(v, q, axis=1))
    same(f(m, np.array([0.25, 0.5], np.float32)),
         np.quantile(m, [0.25, 0.5], axis=1).astype(np.float32))
    g = fg.grad(lambda v: fnp.quantile(v, 0.3))(np.arange(5.0, dtype=np.float32))
    same(g, np.array([0, 0.8, 0.2, 0, 0], np.float32))
    same(fnp.percentile(m, 100, method="lower"), np.float32(11.0))
    with pytest.raises(ValueError, match=r"q must lie in \[0, 1\]"):
        fnp.quantile(x, 1.5)


def test_var_std_where_correction_mean():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4)).astype(np.float32)
    w = rng.uniform(size=(3, 4)) > 0.3
    for kw in [dict(axis=0, where=w), dict(where=w, ddof=1, keepdims=True),
               dict(axis=1, ddof=1)]:
        same(fnp.var(x, **kw), np.var(x, **kw), rtol=1e-5)
        same(fnp.std(x, **kw), np.std(x, **kw), rtol=1e-5)
    same(fnp.var(x, axis=1, correction=1.5), np.var(x, axis=1, ddof=1.5), rtol=1e-5)
    m = x.mean(1, keepdims=True) + 1
    same(fnp.std(x, axis=1, mean=m), np.std(x, axis=1, mean=m), rtol=1e-5)
    same(fnp.var(x, axis=0, ddof=3), np.full(4, np.nan, np.float32))   # JAX: NaN, no inf
    with pytest.raises(ValueError, match="ddof and correction"):
        fnp.var(x, ddof=1, correction=1)


def test_nan_reductions_take_initial_and_where():
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan], [2, 5, -1]], np.float32)
    w = np.array([[True, True, False], [True, True, True], [False, True, True]])
    same(fnp.nanmax(x, axis=1, initial=2.0), np.array([3, 2, 5], np.float32))
    same(fnp.nanmin(x, axis=1), quiet(np.nanmin, x, axis=1))
    same(fnp.nansum(x, axis=1, initial=1, where=w), np.nansum(x, axis=1, initial=1, where=w))
    same(fnp.nanprod(x, axis=0, where=w, keepdims=True),
         np.nanprod(x, axis=0, where=w, keepdims=True))
    same(fnp.nanmean(x, axis=1, where=w), quiet(np.nanmean, x, axis=1, where=w))
    same(fnp.nanvar(x, axis=1, ddof=1), quiet(np.nanvar, x, axis=1, ddof=1), rtol=1e-5)
    same(fnp.nanstd(x, axis=0, keepdims=True), quiet(np.nanstd, x, axis=0, keepdims=True))
    same(fnp.nanargmax(x, axis=1, keepdims=True), np.array([[2], [-1], [1]], np.int32))
    same(fnp.nancumsum(np.array([1, 2], np.int8), dtype=np.float32),
         np.array([1, 3], np.float32))
    same(fnp.any(x > 2, axis=1, where=w), np.any(x > 2, axis=1, where=w))
    same(fnp.all(x > 0, axis=0, where=w), np.all(x > 0, axis=0, where=w))


def test_sum_prod_promote_integers(x64):
    for dt, want in [(np.int8, np.int64), (np.uint16, np.uint64), (np.bool_, np.int64),
                     (np.int32, np.int64), (np.float16, np.float16)]:
        x = np.ones(3, dt)
        assert fnp.sum(x).dtype == want and fnp.prod(x).dtype == want
        assert fnp.sum(x, promote_integers=False).dtype == (np.int32 if dt == np.bool_
                                                            else dt)
    assert fnp.cumsum(np.ones(3, bool)).dtype == np.int64


# ---------------------------------------------------------------------------------------
# Indexing modes


def test_take_modes_as_jax():
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    idx = np.array([0, 13, -1, -20])
    same(fnp.take(x, idx), np.array([0, np.nan, 11, np.nan], np.float32))
    same(fnp.take(x, idx, mode="clip"), np.array([0, 11, 0, 0], np.float32))
    same(fnp.take(x, idx, mode="wrap"), np.take(x, idx, mode="wrap"))
    same(fnp.take(x, idx, mode="fill", fill_value=-1), np.array([0, -1, 11, -1], np.float32))
    same(fnp.take(np.arange(5), np.array([7, -1])), np.array([-2 ** 31, 4], np.int32))
    same(fnp.take(np.arange(5, dtype=np.uint8), np.array([7])), np.array([255], np.uint8))
    same(fnp.take(np.array([True, False]), np.array([7, 1])), np.array([True, False]))
    same(fnp.take(x, np.array([[0, 3], [-1, 9]]), axis=1)[0],
         np.array([[0, 3], [3, np.nan]], np.float32))
    ix = np.array([[0, 5, -1, -7]])
    same(fnp.take_along_axis(x, ix, axis=1)[0], np.array([0, np.nan, 3, np.nan], np.float32))
    same(fnp.take_along_axis(x, ix, axis=1, mode="clip")[1], np.array([4, 7, 7, 4],
                                                                       np.float32))
    same(fnp.take_along_axis(x, ix, axis=1, mode="fill", fill_value=-9)[2],
         np.array([8, -9, 11, -9], np.float32))
    same(fnp.take_along_axis(x, ix, 1, mode="clip", wrap_negative_indices=False)[0],
         np.array([0, 3, 0, 0], np.float32))
    same(fnp.take_along_axis(np.arange(5), np.array([1, 0]), axis=None),
         np.array([1, 0], np.int32))
    with pytest.raises(NotImplementedError, match="raise"):
        fnp.take(x, idx, mode="raise")
    g = fg.grad(lambda v: fnp.sum(fnp.take(v, np.array([0, 7, 1]), mode="fill",
                                           fill_value=0.0)))(np.ones(3, np.float32))
    same(g, np.array([1, 1, 0], np.float32))


def test_choose_ravel_multi_index_delete_searchsorted():
    ch = [np.arange(4), 10 + np.arange(4), 20 + np.zeros((2, 4), np.int64)]
    same(fnp.choose(np.array([0, 1, 2, 1]), ch),
         np.choose(np.array([0, 1, 2, 1]), ch).astype(np.int32))
    for mode in ("wrap", "clip"):
        same(fnp.choose(np.array([0, 4, -1, 1]), ch[:2], mode=mode),
             np.choose(np.array([0, 4, -1, 1]), ch[:2], mode=mode).astype(np.int32))
    with pytest.raises(ValueError, match="invalid entry"):
        fnp.choose(np.array([0, 3]), ch[:2])
    mi = (np.array([1, 5]), np.array([0, -3]))
    for mode in ("wrap", "clip"):
        for order in ("C", "F"):
            same(fnp.ravel_multi_index(mi, (3, 4), mode=mode, order=order),
                 np.ravel_multi_index(mi, (3, 4), mode=mode, order=order), dtype=False)
    with pytest.raises(fg.core.ConcretizationTypeError, match="mode='wrap'"):
        fg.jit(lambda i: fnp.ravel_multi_index((i, i), (3, 4)))(np.array([1]))
    a = np.arange(12).reshape(3, 4)
    for obj, ax in [(1, 0), ([0, 2], 1), (slice(1, 3), 1), (np.array([True, False, True]), 0),
                    (-1, None)]:
        same(fnp.delete(a, obj, ax), np.delete(a, obj, ax), dtype=False)
    same(fg.jit(lambda i: fnp.delete(a, i, 1, assume_unique_indices=True))(np.array([3, 0])),
         np.delete(a, [3, 0], 1), dtype=False)
    v = np.array([3, 1, 2])
    same(fnp.searchsorted(v, np.array([2, 0, 5]), sorter=np.array([1, 2, 0])),
         np.searchsorted(v, np.array([2, 0, 5]), sorter=np.array([1, 2, 0])), dtype=False)
    x = np.array([0.0, 1.0, 1.5, 2.0, 3.0, 4.5, -1])
    for bins in (np.array([0.0, 1, 2, 3]), np.array([3.0, 2, 1, 0])):
        for right in (False, True):
            same(fnp.digitize(x, bins, right), np.digitize(x, bins, right), dtype=False)


# ---------------------------------------------------------------------------------------
# Polynomials


def test_polynomial_arithmetic_matches_numpy():
    f = np.array([2.0, -1.0, 0.5, 3.0])
    i = np.array([1, 2, 3])
    same(fnp.polyadd(i, np.array([3])), np.polyadd(i, [3]).astype(np.int32))
    same(fnp.polysub(np.array([1, 2]), np.array([3, 4, 5])), np.array([-3, -3, -3], np.int32))
    same(fnp.polymul(i, f), np.polymul(i, f), dtype=False)
    same(fnp.polymul(np.array([0, 0, 1.0]), np.array([0, 2, 3.0]), trim_leading_zeros=True),
         np.array([2.0, 3.0], np.float32))
    for u, v in [(f, np.array([1.0, 1])), (np.array([1.0, 2, 3]), np.array([2.0, 1, 1, 4]))]:
        q, r = fnp.polydiv(u, v)
        nq, nr = np.polydiv(u, v)
        same(q, nq, dtype=False)
        same(r[-len(nr):], nr, dtype=False, atol=1e-5)
    # JAX trims an all-zero remainder to nothing (NumPy keeps one zero).
    same(fnp.polydiv(np.array([1.0, 3, 3, 1]), np.array([1.0, 1]),
                     trim_leading_zeros=True)[1], np.zeros(0, np.float32))
    for m in range(5):
        same(fnp.polyder(f, m), np.polyder(f, m) if m < 4 else np.zeros(0), dtype=False)
    assert fnp.polyder(i).dtype == np.float32
    for m, k in [(1, None), (2, None), (2, [1, 2]), (3, 5.0)]:
        same(fnp.polyint(f, m, k), np.polyint(f, m, 0 if k is None else k), dtype=False)
    for p, x in [(i, np.array([1, 2])), (f, np.linspace(-1, 1, 5)),
                 (np.arange(40.0) / 40, np.linspace(-1, 1, 7))]:
        same(fnp.polyval(p, x), np.polyval(p, x), dtype=False, rtol=1e-5)
    same(fnp.polyval(np.ones((3, 2)), np.array([1.0, 2.0])), np.array([3.0, 7.0], np.float32))
    same(fnp.poly(np.array([1, 2, 3])), np.poly([1, 2, 3]), dtype=False)
    same(fnp.poly(2.0), np.array([1.0, -2.0], np.float32))
    # a matrix's characteristic polynomial, from its (complex) eigenvalues
    same(fnp.poly(np.eye(2)), np.array([1, -2, 1], np.complex64), atol=1e-6)
    for t in ("fb", "f", "b"):
        same(fnp.trim_zeros(np.array([0, 0, 1, 2, 0, 3, 0, 0]), t),
             np.trim_zeros(np.array([0, 0, 1, 2, 0, 3, 0, 0]), t), dtype=False)


def test_polyfit_matches_numpy():
    x = np.linspace(0, 3, 10)
    y = np.stack([x ** 2 - 1, np.sin(x)], 1)
    same(fnp.polyfit(x, y[:, 0], 2), np.polyfit(x, y[:, 0], 2), dtype=False, atol=1e-4)
    same(fnp.polyfit(x, y, 3), np.polyfit(x, y, 3), dtype=False, atol=1e-4, rtol=1e-4)
    w = np.linspace(1, 2, 10)
    same(fnp.polyfit(x, y[:, 1], 2, w=w), np.polyfit(x, y[:, 1], 2, w=w), dtype=False,
         atol=1e-4, rtol=1e-4)
    _, cov = fnp.polyfit(x, y[:, 1], 2, cov=True)
    _, ncov = np.polyfit(x, y[:, 1], 2, cov=True)
    same(cov, ncov, dtype=False, rtol=1e-3, atol=1e-5)
    _, res, rank, _, _ = fnp.polyfit(x, y, 2, full=True)
    np_full = np.polyfit(x, y, 2, full=True)
    same(res, np_full[1], dtype=False, rtol=1e-3, atol=1e-5)
    assert int(rank) == np_full[2]
    g = fg.grad(lambda v: fnp.polyfit(np.arange(5.0), v, 1)[0])(np.arange(5.0) ** 2)
    same(g, np.array([-0.2, -0.1, 0, 0.1, 0.2], np.float32), atol=1e-6)


# ---------------------------------------------------------------------------------------
# JAX's parameters on existing functions


def test_convolve_same_with_even_kernels_and_correlate_longer_v():
    # Regression: mode="same" with an even-length kernel was shifted by one.
    rng = np.random.default_rng(1)
    for n, m in [(4, 4), (6, 2), (7, 4), (3, 5), (2, 6)]:
        a = rng.normal(size=n).astype(np.float32)
        v = rng.normal(size=m).astype(np.float32)
        for mode in ("full", "same", "valid"):
            same(fnp.convolve(a, v, mode), np.convolve(a, v, mode), atol=1e-5)
            same(fnp.correlate(a, v, mode), np.correlate(a, v, mode), atol=1e-5)
    out = fnp.convolve(np.array([1, 2, 3]), np.array([0, 1, 2]),
                       preferred_element_type=np.float32, precision="highest")
    same(out, np.array([0, 1, 4, 7, 6], np.float32))


def test_dot_family_preferred_element_type():
    a = np.arange(6, dtype=np.int8).reshape(2, 3)
    b = np.arange(6, dtype=np.int8).reshape(3, 2)
    for f in (fnp.dot, fnp.matmul):
        out = f(a, b, preferred_element_type=np.int32, precision=fg.lax.Precision.HIGHEST)
        same(out, a.astype(np.int32) @ b.astype(np.int32))
    same(fnp.tensordot(a, b.T, 2, preferred_element_type=np.float32), np.float32(50))
    assert fnp.vdot(a, a, preferred_element_type="int32").dtype == np.int32
    assert fnp.inner(a, a, precision="highest").dtype == np.int8
    same(fnp.vecdot(a, a, axis=0, preferred_element_type=np.int32),
         np.array([9, 17, 29], np.int32))


def test_diff_interp_cross_cov_meshgrid():
    a = np.arange(12.0).reshape(3, 4) ** 2
    for kw in [dict(prepend=0), dict(append=np.ones((3, 2))),
               dict(n=2, axis=0, prepend=-1, append=np.zeros((1, 4)))]:
        same(fnp.diff(a, **kw), np.diff(a, **kw), dtype=False)
    xp, fp = np.array([0.0, 1, 2.5, 4]), np.array([1.0, 3, 2, 0])
    x = np.linspace(-1, 5, 13)
    same(fnp.interp(x, xp, fp, left=-5, right=7), np.interp(x, xp, fp, -5, 7), dtype=False)
    same(fnp.interp(np.array([-1.0, 5.0]), xp, fp, left="extrapolate", right="extrapolate"),
         np.array([-1.0, -2.0 / 1.5], np.float32), rtol=1e-5)
    xp2, fp2 = np.array([190, -190, 350, -350.0]), np.array([5, 10, 3, 4.0])
    x2 = np.array([-180, -170, -185, 185, -10, -5, 0, 365.0])
    same(fnp.interp(x2, xp2, fp2, period=360), np.interp(x2, xp2, fp2, period=360),
         dtype=False, rtol=1e-5)
    rng = np.random.default_rng(1)
    for sa, sb, kw in [((4, 3), (3,), {}), ((2,), (3,), {}), ((5, 2), (5, 2), {}),
                       ((3, 4), (3, 4), dict(axis=0)),
                       ((3, 2, 4), (2, 3, 1), dict(axisa=0, axisb=1, axisc=1))]:
        u, v = rng.normal(size=sa).astype(np.float32), rng.normal(size=sb).astype(np.float32)
        same(fnp.cross(u, v, **kw), quiet(np.cross, u, v, **kw), atol=1e-5)
    m = rng.normal(size=(3, 6))
    fw, aw = rng.integers(1, 4, 6), rng.uniform(size=6)
    for kw in [dict(fweights=fw), dict(aweights=aw), dict(fweights=fw, aweights=aw, ddof=0)]:
        same(fnp.cov(m, **kw), np.cov(m, **kw), dtype=False, rtol=1e-4)
    for ix in ("xy", "ij"):
        got = fnp.meshgrid(np.arange(3), np.arange(4.0), sparse=True, indexing=ix)
        want = np.meshgrid(np.arange(3), np.arange(4.0), sparse=True, indexing=ix)
        same(got, [w.astype(g.dtype) for g, w in zip(got, want)])


def test_argsort_descending_is_stable_with_nan_first():
    x = np.array([3.0, 1.0, np.nan, 3.0, 1.0, -0.0, 0.0], np.float32)
    same(fnp.argsort(x, descending=True), np.array([2, 0, 3, 1, 4, 5, 6], np.int32))
    same(fnp.argsort(np.array([2, 0, 1, 2, 0], np.uint8), descending=True),
         np.array([0, 3, 2, 1, 4], np.int32))
    assert fnp.argsort(x, dtype=np.int16).dtype == np.int16


def test_array_asarray_clip_isscalar_signatures():
    same(fnp.array([1, 2], np.float32, True, "K", 2), np.array([[1, 2]], np.float32))
    same(fnp.asarray([1, 2], None, "C"), np.array([1, 2], np.int32))
    with pytest.raises(NotImplementedError, match="order"):
        fnp.asarray([1], order="F")
    same(fnp.clip(np.arange(5), 1, 3), np.array([1, 1, 2, 3, 3], np.int32))
    same(fnp.clip(np.arange(5), max=2), np.array([0, 1, 2, 2, 2], np.int32))
    assert fnp.isscalar(np.float32(1)) and fnp.isscalar(np.array(1.0))
    assert fnp.isscalar(fnp.asarray(1.0)) and not fnp.isscalar(fnp.ones(2))
    same(fnp.angle(np.array([-1.0, 2.0, -0.0]), deg=True), np.array([180, 0, 180],
                                                                    np.float32))


# ---------------------------------------------------------------------------------------
# Regressions reported by the fuzzer and the ports (tests/ports)


def test_index_results_use_the_default_int_under_x64(x64):
    i = fnp.asarray(np.array([1, 3, 2], np.int32))
    for got in (fnp.argmax(i), fnp.argmin(i, axis=0, keepdims=True), fnp.argsort(i),
                fnp.count_nonzero(i), fnp.nanargmax(np.array([1.0, np.nan])), fnp.sum(i)):
        assert got.dtype == np.int64
    assert fnp.cumsum(i).dtype == np.int32       # JAX: cumsum keeps int32


def test_at_update_of_an_empty_array_drops_the_updates():
    x = fnp.zeros((0,))
    idx = fnp.asarray(np.array([0, 0], np.int32))
    assert x.at[idx].add(fnp.ones(2)).shape == (0,)
    assert x.at[idx].set(fnp.ones(2)).shape == (0,)


def test_matrix_spectral_norms_and_lstsq_vector_residual():
    a = np.array([[3.0, 0.0], [4.0, 5.0]], np.float32)
    same(fnp.linalg.norm(a, ord=2), np.float32(np.linalg.norm(a, 2)), rtol=1e-6)
    same(fnp.linalg.norm(a, ord=-2), np.float32(np.linalg.norm(a, -2)), rtol=1e-6)
    same(fnp.linalg.norm(a, ord="nuc"), np.float32(np.linalg.norm(a, "nuc")), rtol=1e-6)
    b = np.arange(18.0, dtype=np.float32).reshape(2, 3, 3) ** 1.5
    same(fnp.linalg.norm(b, 2, axis=(0, 2), keepdims=True),
         np.linalg.norm(b, 2, axis=(0, 2), keepdims=True), rtol=1e-5)
    r = fnp.linalg.lstsq(np.ones((6, 3), np.float32) + np.eye(6, 3, dtype=np.float32),
                         np.arange(6.0, dtype=np.float32))[1]
    assert r.shape == (1,)


def test_einsum_diagonals():
    a = np.arange(9.0, dtype=np.float32).reshape(3, 3)
    cases = [("ii->", (a,)), ("ii->i", (a,)), ("ii", (a,)),
             ("iji->j", (np.arange(27.0, dtype=np.float32).reshape(3, 3, 3),)),
             ("jiij->ij", (np.arange(16.0, dtype=np.float32).reshape(2, 2, 2, 2),)),
             ("ii,ij->j", (a, a)),
             ("iij->j", (np.arange(18.0, dtype=np.float32).reshape(3, 3, 2),))]
    for sub, ops in cases:
        same(fnp.einsum(sub, *ops), np.einsum(sub, *ops))
    same(fg.grad(lambda x: fnp.einsum("ii->", x))(a), np.eye(3, dtype=np.float32))
    with pytest.raises(ValueError, match="repeated"):
        fnp.einsum("ii->i", np.ones((2, 3)))


# ---------------------------------------------------------------------------------------
# Diagonals, partial sorts, finite differences


def test_partition_and_argpartition_as_jax():
    x = np.array([[4, 1, 3, 1, 0, 2, 4]])
    # JAX's order (recorded from JAX 0.10.2): the kth + 1 smallest ascending, then the
    # rest descending (values) / in index order (indices).
    same(fnp.partition(x, 2), np.array([[0, 1, 1, 4, 4, 3, 2]], np.int32))
    same(fnp.argpartition(x, 2), np.array([[4, 1, 3, 0, 2, 5, 6]], np.int32))
    same(fnp.partition(np.array([3, 0, 2, 0], np.uint8), 1), np.array([0, 0, 3, 2], np.uint8))
    rng = np.random.default_rng(0)
    xf = rng.normal(size=(4, 6)).astype(np.float32)
    for k in (0, 2, 3):
        p = np.asarray(fnp.partition(xf, k, axis=0))
        ip = np.asarray(fnp.argpartition(xf, k, axis=0))
        np.testing.assert_array_equal(p[k], np.sort(xf, axis=0)[k])
        assert (p[:k] <= p[k]).all() and (p[k + 1:] >= p[k]).all()
        q = np.take_along_axis(xf, ip, axis=0)
        np.testing.assert_array_equal(q[:k + 1], p[:k + 1])
        np.testing.assert_array_equal(np.sort(q[k + 1:], axis=0), np.sort(p[k + 1:], axis=0))


def test_diagflat_fill_diagonal_diag_indices_from():
    for k in (0, 1, -2):
        same(fnp.diagflat(np.arange(4.0).reshape(2, 2), k),
             np.diagflat(np.arange(4.0).reshape(2, 2), k).astype(np.float32))
    for shape, val, wrap in [((3, 4), 5.0, False), ((4, 3), np.array([1.0, 2.0]), False),
                             ((7, 3), 5.0, True), ((3, 3, 3), 7.0, False)]:
        want = np.zeros(shape, np.float32)
        np.fill_diagonal(want, val, wrap=wrap)
        same(fnp.fill_diagonal(np.zeros(shape, np.float32), val, wrap, inplace=False), want)
    with pytest.raises(NotImplementedError, match="inplace=False"):
        fnp.fill_diagonal(np.zeros((2, 2)), 1.0)
    same(fnp.diag_indices_from(np.ones((3, 3))), np.diag_indices_from(np.ones((3, 3))),
         dtype=False)


def test_gradient_matches_numpy():
    y = np.arange(20.0).reshape(4, 5) ** 2
    xs = (np.array([0, 1, 3, 7.0]), np.array([0, 0.5, 1, 2, 4.0]))
    for args, kw in [((), {}), ((2.0,), {}), ((), {"axis": 1}), (xs, {}),
                     ((), {"edge_order": 2}), (xs, {"edge_order": 2})]:
        same(fnp.gradient(y, *args, **kw), np.gradient(y, *args, **kw), dtype=False,
             rtol=1e-5)


def test_linalg_array_api_signatures():
    L = fnp.linalg
    a = np.arange(6, dtype=np.int8).reshape(2, 3)
    b = a.T.copy()
    same(L.matmul(a, b, preferred_element_type=np.int32), a.astype(np.int32) @ b)
    same(L.tensordot(a, b, axes=1, precision="highest"), np.tensordot(a, b, 1).astype(np.int8))
    same(L.vecdot(a, a, axis=0, preferred_element_type=np.int32),
         np.array([9, 17, 29], np.int32))
    m = np.arange(9.0, dtype=np.float32).reshape(3, 3)
    same(L.trace(m, offset=1, dtype=np.int32), np.int32(6))
    same(L.multi_dot([m, m, m], precision="highest"), m @ m @ m)
    s = m + m.T
    assert int(L.matrix_rank(s, hermitian=True)) == np.linalg.matrix_rank(s, hermitian=True)


def test_small_helpers_and_type_names():
    same(fnp.bitwise_count(np.array([-3, 7, 0], np.int32)), np.array([2, 3, 0], np.uint8))
    same(fnp.bitwise_count(np.array([255], np.uint8)), np.array([8], np.uint8))
    same(fnp.imag(np.array([1, 2])), np.zeros(2, np.int32))
    assert bool(fnp.array_equiv(np.array([1, 2]), np.array([[1, 2], [1, 2]])))
    assert not bool(fnp.array_equiv(np.array([1, 2]), np.array([1, 2, 3])))
    assert fnp.isdtype(np.float32, "real floating") and not fnp.isdtype(np.int8, "bool")
    assert fnp.iterable([1]) and not fnp.iterable(3)
    assert fnp.s_[1:2] == slice(1, 2) and fnp.index_exp[1] == (1,)
    assert fnp.single is fnp.float32 and fnp.double is fnp.float64 and fnp.int_ is fnp.int64
    assert fnp.single == np.float32 and fnp.double == np.float64 and fnp.int_ == np.int64
    same(fnp.zeros(2, fnp.single), np.zeros(2, np.float32))


@pytest.mark.parametrize("name", ["bartlett", "blackman", "hamming", "hanning"])
def test_windows_match_numpy(name):
    for m in (0, 1, 2, 5, 8):
        same(getattr(fnp, name)(m), getattr(np, name)(m).astype(np.float32), atol=1e-6)
