"""`unroll` in `lax.scan` and `lax.fori_loop` (JAX's meaning): the body's trips written out
k at a time in a scan over n // k trips, the rest written out beside it, all of them for
`unroll=True`; the results are those of the rolled loop, bit for bit, forwards and in
reverse, under `grad` and `vmap`. Written out, elementwise trips fuse into one pass
(`bench/bench_idiom_survey.py`'s Horner loop). Until 2026-12-07 `unroll` was accepted and
ignored."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

RNG = np.random.default_rng(3)


def body(c, x):
    a, b = c
    return (a * 0.5 + x, b + fnp.sum(x)), {"y": a * x, "s": fnp.max(a)}


def run(unroll, reverse, xs, jit=True):
    init = (np.ones(3, np.float32), np.float32(0.0))

    def f(init, xs):
        return lax.scan(body, init, xs, reverse=reverse, unroll=unroll)
    return (fg.jit(f) if jit else f)(init, xs)


def assert_same(a, b):
    la, lb = fg.tree.tree_leaves(a), fg.tree.tree_leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def scans(f, *args):
    return [e for e in fg.make_jaxpr(f)(*args).eqns if e.prim.name == "scan"]


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("unroll", [2, 3, 4, 7, 10, True])
def test_unrolled_scans_give_the_rolled_results(unroll, reverse):
    xs = RNG.standard_normal((7, 3)).astype(np.float32)
    assert_same(run(unroll, reverse, xs), run(1, reverse, xs))
    assert_same(run(unroll, reverse, xs, jit=False), run(1, reverse, xs))


def test_the_program_has_the_trips_asked_for():
    xs = np.ones((7, 3), np.float32)

    def f(u):
        return lambda init, xs: lax.scan(body, init, xs, unroll=u)
    init = (np.ones(3, np.float32), np.float32(0.0))
    assert [e.params["length"] for e in scans(f(1), init, xs)] == [7]
    assert [e.params["length"] for e in scans(f(False), init, xs)] == [7]
    assert [e.params["length"] for e in scans(f(3), init, xs)] == [2]   # + 1 written out
    assert scans(f(True), init, xs) == [] and scans(f(7), init, xs) == []
    loop = scans(lambda c: lax.fori_loop(0, 8, lambda i, c: c * 2 + i, c, unroll=True), 1.0)
    assert loop == []


def test_an_unrolled_fori_loop_fuses_its_elementwise_trips():
    def horner(x):
        return lax.fori_loop(0, 8, lambda i, acc: acc * x + (i + 1.0), fnp.zeros_like(x),
                             unroll=True)
    x = RNG.standard_normal(1000).astype(np.float32)
    want = np.zeros_like(x)
    for i in range(8):
        want = want * x + np.float32(i + 1)
    np.testing.assert_array_equal(fg.jit(horner)(x), want)
    src = fg.jit(horner, backend="c").lower(x).source
    assert "scan" not in src


def test_grad_and_vmap_of_an_unrolled_scan():
    xs = RNG.standard_normal((5, 3)).astype(np.float32)

    def loss(w, u):
        c, ys = lax.scan(lambda c, x: (fnp.tanh(c * w + x), c.sum()), fnp.zeros(3), xs,
                         unroll=u)
        return fnp.sum(c) + fnp.sum(ys)
    w = np.float32(0.7)
    g1, g2 = fg.grad(loss)(w, 1), fg.grad(loss)(w, 2)
    np.testing.assert_allclose(g2, g1, rtol=1e-6)
    ws = np.linspace(0.1, 0.9, 4).astype(np.float32)
    np.testing.assert_allclose(fg.vmap(lambda w: loss(w, True))(ws),
                               fg.vmap(lambda w: loss(w, 1))(ws), rtol=1e-6)


def test_bad_unroll_values_are_errors():
    with pytest.raises(ValueError, match="unroll must be a non-negative int"):
        lax.scan(lambda c, x: (c, x), 0.0, np.ones(3), unroll=-1)
    with pytest.raises(ValueError, match="needs static loop bounds"):
        fg.jit(lambda n: lax.fori_loop(0, n, lambda i, c: c + 1, 0, unroll=2))(3)
    # a rolled loop with traced bounds still takes unroll=1 (JAX's default spelling), and
    # True, which JAX lets through (its test is `unroll != 1`)
    for u in (1, True):
        assert int(fg.jit(lambda n: lax.fori_loop(0, n, lambda i, c: c + i, 0, unroll=u))(5)) == 10


def test_unroll_zero_unrolls_the_whole_scan_as_in_jax():
    def f(x, u):
        return lax.scan(lambda c, x: (c * 0.5 + x, c), 0.0, x, unroll=u)
    x = np.arange(5, dtype=np.float32)
    for a, b in zip(fg.jit(lambda x: f(x, 0))(x), f(x, 1)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


def test_no_trips_and_length_only_scans():
    c, ys = lax.scan(lambda c, _: (c + 1, c), 0, None, length=5, unroll=2)
    assert int(c) == 5 and list(np.asarray(ys)) == [0, 1, 2, 3, 4]
    c, ys = lax.scan(lambda c, x: (c + x, c), 0.0, np.zeros((0,), np.float32), unroll=True)
    assert float(c) == 0.0 and np.asarray(ys).shape == (0,)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 9), unroll=st.one_of(st.integers(1, 12), st.booleans()),
       reverse=st.booleans())
def test_hypothesis_any_unroll_matches_the_rolled_scan(n, unroll, reverse):
    xs = RNG.standard_normal((n, 3)).astype(np.float32)
    assert_same(run(unroll, reverse, xs), run(1, reverse, xs))
