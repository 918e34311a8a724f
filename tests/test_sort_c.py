"""`sort` compiled into C programs (`lowering.sort_c`): no host step left, and the order
of the host step (NumPy's stable argsort / lexsort) bit for bit: ties kept in place, NaN
last, -0.0 equal to 0.0, several keys, every axis, payload operands of other dtypes, rows
shorter and longer than the insertion-sorted runs, and what users build on it."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.backends import c as cbackend
from funcgrad.lowering import sort_c
from test_linalg_c import _check

pytestmark = [pytest.mark.cbackend,
              pytest.mark.skipif(not cbackend.available(), reason="no C compiler")]


def _same(f, *args, label="sort (stable merge)"):
    """No host step, `label` in the source, the reference backend's bits."""
    _check(f, args, label, 0.0)


def _values(rng, shape, dtype):
    """Few distinct values (many ties), with NaN, -0.0 and 0.0 among the floats."""
    if np.dtype(dtype) == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    v = rng.integers(-4, 5, shape).astype(dtype)
    if np.dtype(dtype).kind == "f":
        pick = rng.random(shape)
        v[pick < 0.15] = np.nan
        v[(pick >= 0.15) & (pick < 0.3)] = -0.0
        v = v + (rng.random(shape) < 0.5) * rng.standard_normal(shape).astype(dtype)
    return v


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 200), st.integers(1, 3), st.integers(0, 2),
       st.sampled_from([np.float32, np.float64, np.int32, np.uint8, np.int64, np.bool_]),
       st.integers(0, 2**32 - 1))
def test_sort_and_argsort_match_the_host_step(n, rows, axis_pick, dtype, seed):
    rng = np.random.default_rng(seed)
    shape = [rows, n, 2]
    axis = axis_pick % 3
    x = _values(rng, shape, dtype)
    _same(lambda x: (fnp.sort(x, axis=axis), fnp.argsort(x, axis=axis, stable=True)), x)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 90), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_several_keys_and_payloads(n, nkeys, seed):
    rng = np.random.default_rng(seed)
    k0 = _values(rng, (3, n), np.float32)
    k1 = rng.integers(0, 3, (3, n)).astype(np.int32)
    k2 = _values(rng, (3, n), np.float64)
    payload = rng.standard_normal((3, n)).astype(np.float32)
    ops = (k0, k1, k2)[:nkeys] + (payload, np.arange(3 * n, dtype=np.int64).reshape(3, n))
    with fg.config.enable_x64(True):
        _same(lambda *ops: lax.sort(ops, dimension=1, num_keys=nkeys), *ops)


@pytest.mark.parametrize("shape,axis", [((37, 1000), 1), ((37, 1000), 0), ((3, 20000), 1),
                                        ((5, 700, 11), 1)])
def test_sorts_split_over_threads_keep_the_order(shape, axis):
    """Sorts big enough to split their rows into shares, each with its own scratch, run by
    two threads (forced): rows that do not divide evenly, fewer rows than shares, rows
    strided in memory; ties, NaN and -0.0 in place, keys and payloads, as the host step."""
    rng = np.random.default_rng(5)
    x = _values(rng, shape, np.float32)
    pay = rng.integers(0, 1 << 30, shape).astype(np.int32)
    low = fg.jit(lambda x: fnp.sort(x, axis=axis)).lower(x)
    assert "#pragma omp parallel" in low.source
    with fg.config.override("cpu_threads", 2):
        _same(lambda x: (fnp.sort(x, axis=axis), fnp.argsort(x, axis=axis, stable=True)), x)
        _same(lambda x, p: lax.sort((x, p), dimension=axis, num_keys=1), x, pay)


def test_what_users_build_on_sort():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((33, 101)).astype(np.float32)
    _same(lambda x: fnp.median(x, axis=1), x)
    _same(lambda x: fnp.quantile(x, 0.25, axis=0), x)
    _same(lambda x: fnp.unique(x.astype(fnp.int32) % 7, size=7, fill_value=-1),
          (x * 5).astype(np.float32))
    _same(lambda x: fg.random.permutation(fg.random.PRNGKey(0), x), x)


def test_a_loop_whose_body_sorts_compiles_whole():
    x = np.random.default_rng(4).standard_normal(50).astype(np.float32)

    def f(x):
        def body(i, v):
            return fnp.sort(v * -1.0 + i)
        return lax.fori_loop(0, 5, body, x)
    _same(f, x)


def test_sorts_that_keep_the_host_step():
    """float16, bfloat16 and complex keys, and rows past MAX_ROW, are not lowered here."""
    for dt in (fnp.float16, fnp.bfloat16, fnp.complex64):
        low = fg.jit(lambda x: fnp.sort(x)).lower(np.zeros(5, np.float32).astype(dt))
        assert not any(sort_c.lowerable(e) for e in low.program.eqns)
    low = fg.jit(lambda x: fnp.sort(x)).lower(np.zeros(sort_c.MAX_ROW + 1, np.float32))
    assert not any(sort_c.lowerable(e) for e in low.program.eqns)
    x = np.array([3, 1, 2], np.float16)
    np.testing.assert_array_equal(np.asarray(fg.jit(fnp.sort)(x)), np.sort(x))
