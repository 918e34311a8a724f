"""`where(arange(n) == i, v, a)` as a row update (`lowering.mask_updates`): the rewrite
fires on the forms JAX code writes (a mask along any axis, `!=`, the index on either side,
a scalar, a row or a whole array as the new value), agrees with NumPy's `where` bit for
bit for every index, in bounds or not, on every backend, and stays out of the way where
the select fuses into a reader. In a loop the carry is then updated in place."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.lowering import passes
from funcgrad.lowering.mask_updates import masked_row_updates

RNG = np.random.default_rng(5)


def prims(f, *args):
    return [e.prim.name for e in fg.jit(f, backend="c").lower(*args).optimized_program().eqns]


def bits(x):
    x = np.asarray(x)
    return x.view(np.int32 if x.itemsize == 4 else np.int64) if x.dtype.kind == "f" else x


def where_row(a, i, v, axis=0):
    """NumPy's `where(iota == i, v, a)` along `axis` of `a` (v broadcast)."""
    shape = [1] * a.ndim
    shape[axis] = a.shape[axis]
    return np.where(np.arange(a.shape[axis]).reshape(shape) == i, v, a)


FORMS = {
    # name: (function of (a, i, v), kind of v)
    "1-D scalar": (lambda a, i, v: fnp.where(fnp.arange(a.shape[0]) == i, v, a), "scalar"),
    "rows [:, None]": (lambda a, i, v: fnp.where((fnp.arange(a.shape[0]) == i)[:, None], v, a),
                       "row"),
    "index first": (lambda a, i, v: fnp.where((i == fnp.arange(a.shape[0]))[:, None], v, a),
                    "row"),
    "not equal": (lambda a, i, v: fnp.where((fnp.arange(a.shape[0]) != i)[:, None], a, v),
                  "row"),
    "columns [None, :]": (lambda a, i, v: fnp.where(fnp.arange(a.shape[1])[None, :] == i,
                                                    v[:, None], a), "column"),
    "whole array": (lambda a, i, v: fnp.where((fnp.arange(a.shape[0]) == i)[:, None], v, a),
                    "full"),
    "2-D iota": (lambda a, i, v: fnp.where(lax.broadcasted_iota(np.int32, a.shape, 0) == i, v,
                                           a), "full"),
}


def _value(kind, a):
    if kind == "scalar":
        return np.float32(2.5)
    if kind == "row":
        return RNG.standard_normal(a.shape[1]).astype(a.dtype)
    if kind == "column":
        return RNG.standard_normal(a.shape[0]).astype(a.dtype)
    return RNG.standard_normal(a.shape).astype(a.dtype)


def _expected(name, a, i, v):
    if name == "columns [None, :]":
        return where_row(a, i, v[:, None], axis=1)
    return where_row(a, i, v)          # ("not equal": v where the row is i, as for ==)


@pytest.mark.parametrize("name", list(FORMS))
def test_the_forms_become_scatters_and_agree_for_every_index(name, backend):
    f, kind = FORMS[name]
    a = RNG.standard_normal((7,) if name == "1-D scalar" else (7, 5)).astype(np.float32)
    v = _value(kind, a)
    assert "scatter" in prims(f, a, 0, v) and "select" not in prims(f, a, 0, v), \
        prims(f, a, 0, v)
    jf = fg.jit(f)
    for i in (-8, -1, 0, 3, 4, 6, 7, 100):
        np.testing.assert_array_equal(bits(jf(a, i, v)), bits(_expected(name, a, i, v)))


def test_a_select_read_by_other_code_stays_a_select():
    # summed: the select fuses into the sum, which a scatter would not
    def f(a, i, v):
        return fnp.sum(fnp.where((fnp.arange(a.shape[0]) == i)[:, None], v, a))
    a, v = np.ones((6, 4), np.float32), np.full(4, 3.0, np.float32)
    assert "select" in prims(f, a, 2, v) and "scatter" not in prims(f, a, 2, v)
    assert float(fg.jit(f)(a, 2, v)) == 6 * 4 + 2 * 4


def test_a_chain_of_row_selects_becomes_a_chain_of_scatters():
    def f(a, i, j, v):
        rows = fnp.arange(a.shape[0])[:, None]
        return fnp.where(rows == j, -v, fnp.where(rows == i, v, a))
    a, v = RNG.standard_normal((6, 3)).astype(np.float32), np.ones(3, np.float32)
    assert prims(f, a, 1, 2, v).count("scatter") == 2
    for i, j in ((1, 2), (2, 2), (-1, 5), (6, 0)):
        want = where_row(where_row(a, i, v), j, -v)
        np.testing.assert_array_equal(fg.jit(f)(a, i, j, v), want)


def test_not_rewritten_where_the_mask_is_not_one_row():
    a, v = np.zeros((6, 4), np.float32), np.ones(4, np.float32)
    cases = {
        "float iota": lambda a, i, v: fnp.where((fnp.arange(6.0) == i)[:, None], v, a),
        "less than": lambda a, i, v: fnp.where((fnp.arange(6) < i)[:, None], v, a),
        "array index": lambda a, i, v: fnp.where((fnp.arange(6) == fnp.arange(6) * i)[:, None],
                                                 v, a),
        "bool values": lambda a, i, v: fnp.where((fnp.arange(6) == i)[:, None], v > 0, a > 0),
    }
    for name, f in cases.items():
        ps = prims(f, a, 2, v)
        assert "scatter" not in ps, (name, ps)


def test_a_loop_filling_rows_by_where_updates_its_carry_in_place():
    from funcgrad.backends import c as cbackend
    if not cbackend.available():
        pytest.skip("no C compiler")

    def f(x, r):
        return lax.fori_loop(0, 9, lambda i, a: fnp.where(
            (fnp.arange(a.shape[0]) == i)[:, None], r * i, a), x)
    x, r = RNG.standard_normal((12, 8)).astype(np.float32), np.ones(8, np.float32)
    low = fg.jit(f, backend="c").lower(x, r)
    assert low.source.count(", in place */") >= 1, low.source
    want = x.copy()
    want[:9] = np.arange(9, dtype=np.float32)[:, None]
    np.testing.assert_array_equal(fg.jit(f, backend="c")(x, r), want)
    np.testing.assert_array_equal(fg.jit(f, backend="reference")(x, r), want)


def test_the_pass_leaves_programs_without_such_selects_alone():
    prog = fg.make_jaxpr(lambda a, b: fnp.where(a > b, a, b))(np.ones(3), np.zeros(3)).program
    assert masked_row_updates(prog) is prog
    assert "select" in str(passes.optimize(prog))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 9), m=st.integers(1, 5), axis=st.integers(0, 1),
       i=st.integers(-12, 12), negated=st.booleans(), dtype=st.sampled_from(
           [np.float32, np.int32, np.uint32]), special=st.booleans())
def test_hypothesis_row_selects_match_numpy_bit_for_bit(n, m, axis, i, negated, dtype,
                                                        special):
    shape = (n, m) if axis == 0 else (m, n)
    a = (RNG.standard_normal(shape) * 5).astype(dtype)
    v = (RNG.standard_normal(shape) * 5).astype(dtype)
    if special and dtype == np.float32:
        v.flat[0], a.flat[-1] = np.nan, -0.0          # payloads and signs copied as they are
        v.flat[-1] = -0.0

    def f(a, i, v):
        k = fnp.arange(a.shape[axis])
        k = k[:, None] if axis == 0 else k[None, :]
        return fnp.where(k != i, a, v) if negated else fnp.where(k == i, v, a)
    got = fg.jit(f)(a, i, v)
    assert "scatter" in prims(f, a, i, v)
    want = where_row(a, i, v, axis=axis)
    np.testing.assert_array_equal(bits(got), bits(want))
