"""`funcgrad.ops` (JAX's `jax.ops`): segment sums, products, maxima and minima, against a
NumPy oracle (`ufunc.at` over the in-range ids) and JAX 0.10.2's results, on every test
backend, eagerly and under jit."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import ops

_UFUNC = {"sum": (np.add, 0.0), "prod": (np.multiply, 1.0), "max": (np.maximum, -np.inf),
          "min": (np.minimum, np.inf)}


def _oracle(kind, data, ids, n):
    ufunc, init = _UFUNC[kind]
    out = np.full((n,) + data.shape[1:], init, np.float64)
    keep = (ids >= 0) & (ids < n)
    ufunc.at(out, ids[keep], data[keep].astype(np.float64))
    return out


@settings(max_examples=40, deadline=None)
@given(rows=st.integers(0, 9), n=st.integers(0, 5), cols=st.integers(1, 3),
       kind=st.sampled_from(sorted(_UFUNC)), seed=st.integers(0, 2 ** 16), jit=st.booleans())
def test_segment_reductions_match_numpy(rows, n, cols, kind, seed, jit):
    rng = np.random.default_rng(seed)
    data = rng.integers(-3, 4, (rows, cols)).astype(np.float32)
    ids = rng.integers(-2, n + 2, rows).astype(np.int32)     # some out of range
    f = getattr(ops, f"segment_{kind}")
    g = (lambda d, i: f(d, i, num_segments=n))
    got = np.asarray((fg.jit(g) if jit else g)(data, ids))
    np.testing.assert_array_equal(got, _oracle(kind, data, ids, n))


def test_segments_as_jax_gives_them(backend):
    # JAX 0.10.2's results for the same calls
    data = np.arange(12, dtype=np.float32).reshape(6, 2) - 4
    ids = np.array([0, 2, 2, -1, 5, 0])
    ints = np.array([3, -7, 2, 9, 1, 4], np.int32)
    with fg.config.override("backend", backend):
        for jit in (False, True):
            w = fg.jit if jit else (lambda f, **k: f)
            got = w(lambda d, i, k: (ops.segment_sum(d, i, 4), ops.segment_max(d, i, 4),
                                     ops.segment_prod(d, i, 4), ops.segment_min(k, i, 4),
                                     ops.segment_sum(d, i, 4, mode="clip")))(data, ids, ints)
            got = [np.asarray(g).tolist() for g in got]
            assert got[0] == [[2, 4], [0, 0], [-2, 0], [0, 0]]
            assert got[1] == [[6, 7], [-np.inf, -np.inf], [0, 1], [-np.inf, -np.inf]]
            assert got[2] == [[-24, -21], [1, 1], [0, -1], [1, 1]]
            assert got[3] == [3, 2147483647, -7, 2147483647]
            assert got[4] == [[4, 7], [0, 0], [-2, 0], [4, 5]]
        # without num_segments, from concrete ids; a tie's gradient shared, as JAX's
        got = ops.segment_sum(data, np.array([0, 1, 1, 2, 2, 2]))
        np.testing.assert_array_equal(np.asarray(got), [[-4, -3], [-2, 0], [12, 15]])
        g = fg.grad(lambda d: ops.segment_max(d, np.array([0, 0, 1, 1, 1, 2]), 3).sum())(
            np.array([1., 1., 3., 2., 3., 0.], np.float32))
        np.testing.assert_array_equal(np.asarray(g), [0.5, 0.5, 0.5, 0, 0.5, 1])


def test_segment_errors_name_the_operation():
    with pytest.raises(ValueError, match="segment_sum: num_segments is required under jit"):
        fg.jit(lambda d, i: ops.segment_sum(d, i))(np.ones(3), np.zeros(3, np.int32))
    with pytest.raises(TypeError, match="segment_max: segment_ids must be integers"):
        ops.segment_max(np.ones(3), np.zeros(3), 2)
    with pytest.raises(TypeError, match="one entry per row"):
        ops.segment_min(np.ones((3, 2)), np.zeros(2, np.int32), 2)
    assert fnp.asarray(ops.segment_prod(np.ones((0, 2)), np.zeros(0, np.int32), 2)).tolist() \
        == [[1, 1], [1, 1]]
