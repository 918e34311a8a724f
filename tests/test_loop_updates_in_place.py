"""Loop carries updated in place on the C backend (`c.Executable._in_place_updates`): a
`fori_loop`/`scan`/`while_loop` whose body returns `a.at[i].set(v)` (any scatter mode) or
`lax.dynamic_update_slice(a, v, ...)` of a carry `a` that nothing else in the body reads
writes the update into the carry's own buffer, not a fresh copy of the whole array each
trip (that copy made such loops 20-50x slower than JAX). Every case agrees with the
reference backend, bit for bit; the cases that must not be in place (the old value read
elsewhere, carries swapped, the new value used twice) are checked to stay out of place and
right."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.backends import c as cbackend
from funcgrad.backends import get_backend

pytestmark = [pytest.mark.cbackend,
              pytest.mark.skipif(not cbackend.available(), reason="no C compiler")]

RNG = np.random.default_rng(11)


def arr(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def source(f, *args):
    low = fg.jit(f, backend="c").lower(*args)
    exe = get_backend("c").executable(low.program, low.name)
    assert not exe._host_steps, [s[0].prim.name for k, s in exe.steps if k == "host"]
    return low.source


def same(f, *args, exact=True):
    """C and the reference give the same bits (`exact`; else the same values to float32
    rounding: a sum may add its terms in another order); returns the C result."""
    out = fg.jit(f, backend="c")(*args)
    ref = fg.jit(f, backend="reference")(*args)
    for x, y in zip(fg.tree.tree_leaves(out), fg.tree.tree_leaves(ref)):
        x, y = np.asarray(x), np.asarray(y)
        assert x.dtype == y.dtype and x.shape == y.shape
        if exact:
            np.testing.assert_array_equal(x, y)
        else:
            np.testing.assert_allclose(x, y, rtol=1e-6, atol=1e-6)
    return out


def in_place(f, *args) -> int:
    return source(f, *args).count(", in place */")


@pytest.mark.parametrize("n", [0, 1, 2, 7, 8])
@pytest.mark.parametrize("mode", ["set", "add", "mul", "min", "max"])
def test_fori_loop_row_updates_are_in_place_and_exact(mode, n):
    def f(x, r):
        def body(i, a):
            return getattr(a.at[i % 5], mode)(r * i.astype(np.float32) - 1.0)
        return lax.fori_loop(0, n, body, x)
    x, r = arr(6, 33), arr(33)
    out = same(f, x, r)
    want = x.copy()
    for i in range(n):
        u = r * np.float32(i) - np.float32(1)
        row = want[i % 5]
        want[i % 5] = {"set": u, "add": row + u, "mul": row * u,
                       "min": np.minimum(row, u), "max": np.maximum(row, u)}[mode]
    np.testing.assert_array_equal(np.asarray(out), want)
    if n:
        assert in_place(f, x, r) == 1


@pytest.mark.parametrize("n", [0, 3, 4])
def test_while_loop_updates_in_place_with_a_run_time_trip_count(n):
    def f(x, r, n):
        return lax.fori_loop(0, n, lambda i, a: a.at[2 * i].add(r), x)
    x, r = arr(9, 17), arr(17)
    out = same(f, x, r, n)
    want = x.copy()
    for i in range(n):
        want[2 * i] += r
    np.testing.assert_array_equal(np.asarray(out), want)
    assert in_place(f, x, r, n) == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
def test_dynamic_update_slice_windows_clamp_and_write_in_place(dtype, x64):
    def f(x, w, n):
        # starts run from negative (wrapped, as JAX does) to past the end (clamped)
        return lax.fori_loop(0, n, lambda i, a: lax.dynamic_update_slice(
            a, w + i.astype(dtype), (3 * i - 4, 6 - 2 * i)), x)
    x = (arr(10, 9) * 10).astype(dtype)
    w = (arr(3, 4) * 10).astype(dtype)
    for n in (0, 1, 5, 6):
        same(f, x, w, n)
    assert in_place(f, x, w, 5) == 1


def test_scan_carry_updated_in_place_beside_other_carries_and_outputs():
    def f(x, xs):
        def body(c, t):
            a, s = c
            a = a.at[t.astype(np.int32) % 4].set(s)
            return (a, s + t), s * 2.0
        return lax.scan(body, (x, np.float32(0.5)), xs)
    same(f, arr(4, 3), np.arange(7, dtype=np.float32))
    same(f, arr(4, 3), np.arange(6, dtype=np.float32))
    assert in_place(f, arr(4, 3), np.arange(7, dtype=np.float32)) == 1


def test_reverse_scan_and_duplicate_indices_in_one_update():
    def f(x, xs):
        def body(a, t):
            idx = fnp.array([1, 1, 3]) + t.astype(np.int32)
            return a.at[idx].add(fnp.ones(3, np.float32) * t), t
        return lax.scan(body, x, xs, reverse=True)
    same(f, arr(8), np.arange(5, dtype=np.float32))
    assert in_place(f, arr(8), np.arange(5, dtype=np.float32)) == 1


@pytest.mark.parametrize("shape", [(12,), (12, 5)])
def test_a_recurrence_reading_the_old_value_computes_the_update_first(shape):
    def recurrence(x, n):          # a[i] = a[i - 1] * 2 + 1: reads the carry twice
        return lax.fori_loop(1, n, lambda i, a: a.at[i].set(a[i - 1] * 2.0 + 1.0), x)
    x = arr(*shape)
    out = same(recurrence, x, 12)
    want = x.copy()
    for i in range(1, 12):
        want[i] = want[i - 1] * np.float32(2) + np.float32(1)
    np.testing.assert_array_equal(np.asarray(out), want)
    assert in_place(recurrence, x, 12) == 1


def test_updates_indexed_by_the_old_value_and_overlapping_windows():
    def by_argmax(x):              # the index reads the carry: computed first
        return lax.fori_loop(0, 4, lambda i, a: a.at[fnp.argmax(a)].set(-1.0 * i), x)

    def shift(x):                  # the window reads the carry where it writes
        return lax.fori_loop(0, 3, lambda i, a: lax.dynamic_update_slice(
            a, lax.dynamic_slice(a, (i,), (6,)) + 1.0, (i + 1,)), x)
    x = arr(10)
    same(by_argmax, x)
    out = same(shift, x)
    want = x.copy()
    for i in range(3):
        want[i + 1:i + 7] = want[i:i + 6] + np.float32(1)
    np.testing.assert_array_equal(np.asarray(out), want)
    assert in_place(by_argmax, x) == 1 and in_place(shift, x) == 1


def test_the_old_value_read_after_the_update_stays_out_of_place():
    def f(x):
        return lax.scan(lambda a, t: (a.at[t].set(0.0), fnp.sum(a)), x, fnp.arange(5))
    x = arr(6)
    same(f, x, exact=False)
    assert in_place(f, x) == 0


def test_swapped_carries_and_a_new_value_used_twice_stay_out_of_place():
    def swap(x, y):
        return lax.fori_loop(0, 5, lambda i, c: (c[1].at[i].set(1.0), c[0]), (x, y))

    def twice(x):
        def body(a, t):
            b = a.at[t].set(-1.0)
            return b, b[t + 1]
        return lax.scan(body, x, fnp.arange(4))
    x, y = arr(6), arr(6)
    same(swap, x, y)
    same(twice, x)
    assert in_place(swap, x, y) == 0
    assert in_place(twice, x) == 0


def test_two_carries_updated_from_each_other():
    def f(x, y):
        def body(i, c):
            a, b = c
            return a.at[i].set(b[i] + 1.0), b.at[i + 1].set(2.0)
        return lax.fori_loop(0, 5, body, (x, y))
    same(f, arr(7), arr(7))


def test_nested_loops_update_rows_then_cells_in_place():
    def f(x):
        def outer(i, a):
            row = lax.fori_loop(0, 6, lambda j, r: r.at[j].set(i * 10.0 + j), a[i])
            return a.at[i].set(row)
        return lax.fori_loop(0, 4, outer, x)
    x = arr(4, 6)
    out = same(f, x)
    np.testing.assert_array_equal(np.asarray(out),
                                  np.arange(4)[:, None] * 10.0 + np.arange(6)[None])


def test_gradient_and_vmap_through_a_loop_with_updates():
    def loss(x, r):
        a = lax.fori_loop(0, 4, lambda i, a: a.at[i].set(fnp.tanh(r * i + a[i])), x)
        return fnp.sum(a * a)
    x, r = arr(6, 5), arr(5)
    g = fg.jit(fg.grad(loss, argnums=(0, 1)), backend="c")(x, r)
    gr = fg.jit(fg.grad(loss, argnums=(0, 1)), backend="reference")(x, r)
    for a, b in zip(g, gr):       # (r's gradient sums over the trips, in either order)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=2e-5)

    def fill(x, r):
        return lax.fori_loop(0, 3, lambda i, a: a.at[i].set(r * i), x)
    same(fg.vmap(fill), arr(4, 5, 3), arr(4, 3))


def test_a_big_window_split_over_threads_gives_the_same_bits(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")

    def f(x, w, n):
        return lax.fori_loop(0, n, lambda i, a: lax.dynamic_update_slice(
            a, w * i.astype(np.float32), (i, 0, 0)), x)
    x, w = arr(6, 128, 256), arr(1, 128, 256)
    same(f, x, w, 5)
    assert in_place(f, x, w, 5) == 1


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(1, 7), cols=st.integers(1, 9), n=st.integers(0, 9),
       step=st.integers(-3, 3), mode=st.sampled_from(["set", "add", "max"]),
       dyn=st.booleans())
def test_row_updates_against_numpy(rows, cols, n, step, mode, dyn):
    x, r = arr(rows, cols), arr(cols)

    def f(x, r, n):
        def body(i, a):
            # indices past either end are dropped (JAX's scatter rule); negative ones wrap
            return getattr(a.at[step * i - 1], mode)(r + i.astype(np.float32))
        return lax.fori_loop(0, n, body, x)
    g = f if dyn else (lambda x, r, n=n: f(x, r, n))
    out = np.asarray(fg.jit(g, backend="c")(x, r, n) if dyn else fg.jit(g, backend="c")(x, r))
    want = x.copy()
    for i in range(n):
        j = step * i - 1
        if -rows <= j < rows:
            u = r + np.float32(i)
            want[j] = {"set": u, "add": want[j] + u, "max": np.maximum(want[j], u)}[mode]
    np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("n", [0, 1, 4, 5])
def test_a_carry_passed_through_unchanged_stays_in_its_buffer(n):
    def scan_sum(x):               # the matrix rides along as a carry, read every trip
        return lax.fori_loop(0, n, lambda i, c: (c[0] + c[1][i, 0], c[1]), (0.0, x))

    def while_sum(x, n):
        return lax.while_loop(lambda c: c[0] < n,
                              lambda c: (c[0] + 1, c[1] * 2.0 + c[2][c[0], 1], c[2]),
                              (0, 0.5, x))
    x = arr(6, 3)
    same(scan_sum, x)
    same(while_sum, x, n)
    if n:
        # no copy of the 18-element carry per trip (none at all: it is the scan's constant,
        # `test_a_carry_passed_through_is_read_in_place_and_returned_as_given`)
        src = source(lambda x: scan_sum(x)[0], x)
        assert src.count("< 18; ++") == 0, src
    # (the matrix is a constant of the while loop too, so neither copies it; the program
    # returns the matrix it was given, which `source` counts as a host step)
    src = source(lambda x, n: while_sum(x, n)[:2], x, n)
    assert src.count("< 18; ++") == 0, src


# --- a donated argument updated in place (jit(..., donate_argnums=...)) ------------------

def _addr(a):
    return a._value.__array_interface__["data"][0]


@pytest.mark.parametrize("mode", ["set", "add", "max"])
def test_a_donated_buffer_updated_by_a_row_keeps_its_memory(mode):
    # a replay buffer's insertion: the row alone is written, into the donated buffer
    insert = fg.jit(lambda buf, row, i: getattr(buf.at[i], mode)(row), donate_argnums=0,
                    backend="c")
    ref = fg.jit(lambda buf, row, i: getattr(buf.at[i], mode)(row), backend="reference")
    assert "in place if donated" in insert.lower(arr(50, 8), arr(8), 3).source
    want = arr(50, 8)
    buf = fnp.asarray(want.copy())
    for i in (0, 7, 49, -1, 50, 7):           # 50 is dropped, -1 counts from the end
        row = arr(8)
        addr = _addr(buf)
        new = insert(buf, row, i)
        assert _addr(new) == addr
        with pytest.raises(RuntimeError, match="donated"):
            np.asarray(buf)
        want = np.asarray(ref(want, row, i))
        np.testing.assert_array_equal(np.asarray(new), want)
        buf = new


def test_a_donated_kv_cache_takes_the_new_keys_in_place():
    def write(cache, k, pos):
        return lax.dynamic_update_slice(cache, k, (0, pos, 0))
    step = fg.jit(write, donate_argnums=0, backend="c")
    want = arr(3, 16, 5)
    cache = fnp.asarray(want.copy())
    for pos in (0, 5, 15, 14, -2, 40):       # past the end: the window is clamped in
        k = arr(3, 2, 5)
        addr = _addr(cache)
        cache = step(cache, k, pos)
        assert _addr(cache) == addr
        want = np.asarray(fg.jit(write, backend="reference")(want, k, pos))
        np.testing.assert_array_equal(np.asarray(cache), want)


def test_an_update_not_donated_or_reading_its_buffer_elsewhere_copies():
    f = fg.jit(lambda buf, row: buf.at[2].set(row), backend="c")
    buf, row = fnp.asarray(arr(6, 4)), arr(4)
    before = np.asarray(buf).copy()
    out = f(buf, row)                          # not donated: the argument keeps its values
    np.testing.assert_array_equal(np.asarray(buf), before)
    assert _addr(out) != _addr(buf)
    # the new row read from the buffer itself: its elements are read before any write
    g = fg.jit(lambda buf: buf.at[1:].set(buf[:-1] * 2.0), donate_argnums=0, backend="c")
    x = arr(6, 4)
    np.testing.assert_array_equal(
        np.asarray(g(fnp.asarray(x.copy()))),
        np.asarray(fg.jit(lambda buf: buf.at[1:].set(buf[:-1] * 2.0),
                          backend="reference")(x)))
    # read by another step after the update: the update does not overwrite it
    h = fg.jit(lambda buf, row: (buf.at[0].set(row), fnp.sum(buf)), donate_argnums=0,
               backend="c")
    out, s = h(fnp.asarray(x.copy()), row)
    np.testing.assert_allclose(float(s), float(np.sum(x)), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(out)[1:], x[1:])
    # and a buffer another array still sees is not written
    shared = fnp.asarray(x.copy())
    view = shared[:2]
    insert = fg.jit(lambda buf, row: buf.at[0].set(row), donate_argnums=0, backend="c")
    np.testing.assert_array_equal(np.asarray(insert(shared, row))[0], row)
    np.testing.assert_array_equal(np.asarray(view), x[:2])


def test_two_windows_updated_in_place_in_one_function():
    # their corners were declared in one scope: the module did not compile (fuzz seed
    # 20261998, two loops each moving a window of its carry)
    def f(x, y, i, j):
        a = lax.fori_loop(0, 2, lambda k, a: lax.dynamic_update_slice(
            a, lax.dynamic_slice(a, (i, j), (1, 2)), (k, 1)), x)
        b = lax.fori_loop(0, 3, lambda k, b: lax.dynamic_update_slice(
            b, lax.dynamic_slice(b, (j, i), (2, 1)), (1, k)), y)
        return a, b
    x, y = arr(4, 5), arr(5, 4)
    same(f, x, y, 1, 2)

    def both(x, y, i, j):          # two carries, two windows, one body function
        return lax.fori_loop(0, 3, lambda k, c: (
            lax.dynamic_update_slice(c[0], lax.dynamic_slice(c[0], (i, j), (1, 2)), (k, 1)),
            lax.dynamic_update_slice(c[1], lax.dynamic_slice(c[1], (j, i), (2, 1)), (1, k))),
            (x, y))
    same(both, x, y, 1, 2)
    assert in_place(both, x, y, 1, 2) == 2


# --- updates seen through reshapes, nested loops and conds -------------------------------

def test_column_updates_through_a_flat_view_are_in_place():
    # a.at[:, i] scatters into a reshape of `a` to one axis and reshapes back
    def cols(x, r):
        return lax.fori_loop(0, 7, lambda i, a: a.at[:, i].set(r * i.astype(np.float32)), x)

    def windows(x, w):             # a dynamic_update_slice of a reshaped carry
        return lax.fori_loop(0, 3, lambda i, a: lax.dynamic_update_slice(
            a.reshape(6, 8), w + i.astype(np.float32), (i, 2)).reshape(4, 12), x)
    x, r, w = arr(5, 9), arr(5), arr(2, 3)
    out = same(cols, x, r)
    want = x.copy()
    for i in range(7):
        want[:, i] = r * np.float32(i)
    np.testing.assert_array_equal(np.asarray(out), want)
    assert in_place(cols, x, r) == 1
    same(windows, arr(4, 12), w)
    assert in_place(windows, arr(4, 12), w) == 1


@pytest.mark.parametrize("inner", ["fori", "while", "scan"])
def test_a_nested_loop_runs_in_the_outer_carrys_buffer(inner):
    def fill(x):
        def outer(i, a):
            def cell(j, b):
                return b.at[i, j].set(i * 10.0 + j)
            if inner == "fori":
                return lax.fori_loop(0, 6, cell, a)
            if inner == "while":
                return lax.while_loop(lambda c: c[0] < 6,
                                      lambda c: (c[0] + 1, cell(c[0], c[1])), (0, a))[1]
            return lax.scan(lambda b, j: (cell(j, b), j), a, fnp.arange(6))[0]
        return lax.fori_loop(0, 4, outer, x)
    x = arr(4, 6)
    out = same(fill, x)
    np.testing.assert_array_equal(np.asarray(out),
                                  np.arange(4)[:, None] * 10.0 + np.arange(6)[None])
    # no copy of the 24-element carry inside the loops (only the argument's, once)
    assert source(fill, x).count("< 24; ++") <= 1


def test_a_nested_loop_reading_the_outer_carry_as_a_constant_copies_it():
    def f(x):
        # the inner body reads `a` (the outer carry) while its own carry, started from
        # `a`, changes: they must be two buffers
        return lax.fori_loop(0, 3, lambda i, a: lax.fori_loop(
            0, 5, lambda j, b: b.at[j].set(a[4 - j] + b[j]), a), x)
    x = arr(5)
    out = same(f, x)
    want = x.copy()
    for _ in range(3):
        a = want.copy()
        for j in range(5):
            want[j] = a[4 - j] + want[j]
    np.testing.assert_array_equal(np.asarray(out), want)


@pytest.mark.parametrize("n", [0, 1, 5, 6])
def test_a_cond_updating_or_passing_the_carry_is_in_place(n):
    def f(x, r):
        def body(i, a):
            return lax.cond(i % 3 == 0, lambda a: a.at[i].set(r * i.astype(np.float32)),
                            lambda a: a, a)
        return lax.fori_loop(0, n, body, x)

    def g(x, r):                   # switch: set, add, pass
        return lax.fori_loop(0, n, lambda i, a: lax.switch(
            i % 3, [lambda a: a.at[i].set(r), lambda a: a.at[i].add(r), lambda a: a], a), x)
    x, r = arr(7, 3), arr(3)
    out = same(f, x, r)
    want = x.copy()
    for i in range(n):
        if i % 3 == 0:
            want[i] = r * np.float32(i)
    np.testing.assert_array_equal(np.asarray(out), want)
    same(g, x, r)
    if n:
        assert in_place(f, x, r) == 1 and in_place(g, x, r) == 2


def test_a_cond_with_a_branch_that_reads_the_carry_elsewhere_stays_out_of_place():
    def f(x):
        return lax.fori_loop(0, 4, lambda i, a: lax.cond(
            i % 2 == 0, lambda a: a[::-1] * 2.0, lambda a: a.at[i].set(-1.0), a), x)

    def twice(x):                  # the operand passed twice to the cond
        return lax.fori_loop(0, 4, lambda i, a: lax.cond(
            i % 2 == 0, lambda a, b: a.at[i].set(b[0]), lambda a, b: b, a, a), x)
    x = arr(6)
    same(f, x)
    same(twice, x)
    assert in_place(f, x) == 0


# --- chains of updates of a computed value (no loop) -------------------------------------

def _stencil(np_):
    def step(u):
        un = u + 0.1 * (np_.roll(u, 1, 0) + np_.roll(u, -1, 0) + np_.roll(u, 1, 1)
                        + np_.roll(u, -1, 1) - 4 * u)
        un = un.at[0, :].set(0.0)
        un = un.at[-1, :].set(0.0)
        un = un.at[:, 0].set(0.0)
        return un.at[:, -1].set(0.0)
    return step


def test_boundary_updates_of_a_stencil_share_one_buffer():
    # the first update computes the stencil (as a loop nest split at the rolls' seams, not
    # a flat loop dividing every index); the three others write their row or column into
    # its result: 3.67 -> 0.25 ms on a 1024 x 1024 grid (JAX 0.87)
    u = arr(40, 33)
    same(_stencil(fnp), u)
    np.testing.assert_allclose(np.asarray(fg.jit(_stencil(fnp), backend="c")(u)),
                               _numpy_stencil(u),
                               rtol=1e-5, atol=1e-5)
    src = source(_stencil(fnp), u)
    assert src.count(", in place */") == 3


def _numpy_stencil(u):
    un = u + np.float32(0.1) * (np.roll(u, 1, 0) + np.roll(u, -1, 0) + np.roll(u, 1, 1)
                                + np.roll(u, -1, 1) - 4 * u)
    un[0, :] = 0
    un[-1, :] = 0
    un[:, 0] = 0
    un[:, -1] = 0
    return un


def test_updates_of_a_value_read_again_or_returned_keep_it():
    def read_after(x):
        t = x * 2.0
        return t.at[0].set(1.0), fnp.sum(t)

    def returned(x):
        t = x * 2.0
        return t, t.at[1].set(-1.0), lax.dynamic_update_slice(t, x[:2] * 0.0, (3,))

    def read_by_update(x):
        t = x * 2.0
        return t.at[0].set(t[1] + t[2])

    def argument_chain(x, w):      # the first update copies the argument, the rest do not
        return lax.dynamic_update_slice(x.at[2].add(1.0).at[5].multiply(3.0), w, (1,))
    x, w = arr(7), arr(3)
    for f in (read_after, returned, read_by_update):
        same(f, x, exact=False)       # (read_after's sum: the C order differs by an ulp)
    assert in_place(read_after, x) == 0 and in_place(returned, x) == 0
    same(argument_chain, x, w)
    assert in_place(argument_chain, x, w) == 2


def test_gradients_that_scatter_into_one_buffer_again_and_again():
    def loss(x, i, j):
        return fnp.sum(fnp.sin(x[i]) * x[j] + x[i + 1] ** 2)
    x = arr(10, 4)
    i, j = np.array([1, 3, 3, 0]), np.array([2, 2, 5, 8])
    g = fg.jit(fg.grad(loss), backend="c")(x, i, j)
    gr = fg.jit(fg.grad(loss), backend="reference")(x, i, j)
    np.testing.assert_allclose(np.asarray(g), np.asarray(gr), rtol=2e-5, atol=2e-5)


# A carry whose new value is an elementwise map of the old one (`y * x + c[i]`) is written
# into the old value's buffer: each element is read before it is written, so the loop
# needs no second buffer (a degree-7 Horner fori_loop on 1e6 floats wrote a fresh 4 MB
# each trip).

def into_old(f, *args) -> int:
    """How many steps write an array carry into its old value (a fori_loop's counter,
    `i + 1`, is one too, and not counted)."""
    return sum("a carry written into its old value */" in line and "[] in" not in line
               for line in source(f, *args).splitlines())


@pytest.mark.parametrize("n", [0, 1, 2, 7])
def test_an_elementwise_carry_is_computed_in_its_own_buffer(n):
    def horner(x, c):
        return lax.fori_loop(1, n + 1, lambda i, y: y * x + c[i], fnp.full_like(x, c[0]))
    x, c = arr(1000), arr(9)
    out = same(horner, x, c)
    want = np.full_like(x, c[0])
    for i in range(1, n + 1):
        want = want * x + c[i]
    np.testing.assert_array_equal(np.asarray(out), want)
    if n:
        assert into_old(horner, x, c) == 1


@pytest.mark.parametrize("n", [0, 3, 4])
def test_elementwise_carries_of_a_while_loop_and_a_scan(n):
    def momentum(w, g, n):         # two carries, the second reads the first's new value
        def body(i, c):
            v, w = c
            v = 0.9 * v + g * i.astype(np.float32)
            return v, w - 0.1 * v
        return lax.fori_loop(0, n, body, (fnp.zeros_like(w), w))

    def decay(x, ts):
        def body(y, t):
            y = fnp.maximum(y * t, -y) + 1.0
            return y, y[0]            # (the new value read again: in old's buffer by then)
        return lax.scan(body, x, ts, reverse=True)
    w, g = arr(5, 7), arr(5, 7)
    same(momentum, w, g, n)
    src = source(momentum, w, g, n)     # (both maps in one loop nest, both in place)
    assert "one loop for add, sub -> f32[5,7], a carry written into its old value" in src
    assert src.count("wk % 2") == 4     # (only the counter alternates between buffers)
    same(decay, arr(33), arr(n))
    if n:
        assert into_old(decay, arr(33), arr(n)) == 1


def test_a_carry_read_at_other_elements_keeps_two_buffers():
    def flipped(x):                # reads y at the mirrored element: not in place
        return lax.fori_loop(0, 5, lambda i, y: y[::-1] * 0.5 + y, x)

    def transposed(x):
        return lax.fori_loop(0, 3, lambda i, y: y.T + y * 2.0, x)

    def broadcast(x):              # reads y[0] (a broadcast) for every element
        return lax.fori_loop(0, 4, lambda i, y: y * 0.5 + y[0], x)
    for f, x in ((flipped, arr(9)), (transposed, arr(4, 4)), (broadcast, arr(6))):
        same(f, x)
        assert into_old(f, x) == 0


def test_a_carry_read_elsewhere_first_is_not_grouped_with_that_reader():
    def f(y, z):
        # z's new value reads y mirrored, y's new value is y's own map: y may be written
        # in place only after z's loop is done with it, not beside it in one loop nest
        def body(i, c):
            y, z = c
            return y * 2.0 - 1.0, y[::-1] + z
        return lax.fori_loop(0, 5, body, (y, z))
    y, z = arr(64), arr(64)
    out = same(f, y, z)
    wy, wz = y.copy(), z.copy()
    for _ in range(5):
        wy, wz = wy * np.float32(2) - np.float32(1), wy[::-1] + wz
    np.testing.assert_array_equal(np.asarray(out[0]), wy)
    np.testing.assert_array_equal(np.asarray(out[1]), wz)


def test_a_carry_read_after_its_map_keeps_two_buffers():
    def f(x):
        def body(i, c):
            y, s = c
            y2 = fnp.sin(y)
            return y2, s + fnp.sum(y) + y2[0]    # the old y read by a later reduction
        return lax.fori_loop(0, 4, body, (x, np.float32(0)))
    x = arr(50)
    same(f, x, exact=False)
    src = source(f, x)
    assert src.index("sin") < src.index("reduce_sum")    # (the sum comes after the map)
    assert into_old(f, x) == 0


@settings(max_examples=25, deadline=None)
@given(n=st.integers(0, 5), ops=st.lists(st.sampled_from(
    ["mul", "add", "square", "max", "where", "cast", "rev_other"]), min_size=1,
    max_size=4))
def test_random_elementwise_bodies_match_the_reference_bit_for_bit(n, ops):
    def f(x, w):
        def body(i, y):
            for op in ops:
                y = {"mul": lambda y: y * w,
                     "add": lambda y: y + i.astype(np.float32),
                     "square": lambda y: y * y * 0.25,
                     "max": lambda y: fnp.maximum(y, w[::-1]),
                     "where": lambda y: fnp.where(y > 0, y, -y * 0.5),
                     "cast": lambda y: (y * 8.0).astype(np.int32).astype(np.float32) * 0.75,
                     "rev_other": lambda y: y + w[::-1] * 0.5}[op](y)
            return y
        return lax.fori_loop(0, n, body, x)
    rng = np.random.default_rng(len(ops) * 7 + n)    # (the same data on a rerun)
    x, w = rng.standard_normal((2, 3, 11)).astype(np.float32)
    same(f, x, w)


# A carry the body passes on unchanged becomes one of the scan's constants
# (`scan_opt.invariant_carries_as_consts`): the loop reads it where it is instead of
# copying it into a carry buffer on every call.

def _scans(f, *args, prim="scan"):
    """The `prim` equations of `f`'s optimised program (as the C backend lowers it)."""
    from funcgrad.lowering import passes
    low = fg.jit(f, backend="c").lower(*args)
    prog = passes.optimize(low.program)
    return [e for e in prog.eqns if e.prim.name == prim]


def _skip_without_opencl(backend):
    if backend == "opencl":
        from funcgrad.backends import opencl
        if not opencl.available():
            pytest.skip("no OpenCL device")


@pytest.mark.parametrize("backend", ["c", "reference", "opencl"])
@pytest.mark.parametrize("n", [0, 1, 5])
def test_a_carry_passed_through_is_read_in_place_and_returned_as_given(backend, n):
    _skip_without_opencl(backend)

    def f(x, y):
        def body(i, c):
            s, x, t, y = c
            return s + x[i % 7, 0] * y[0], x, t * 0.5 + y[1], y
        return lax.fori_loop(0, n, body, (np.float32(0), x, y[2], y))
    x, y = arr(7, 3), arr(4)
    out = fg.jit(f, backend=backend)(x, y)
    ref = fg.jit(f, backend="reference")(x, y)
    for a, b in zip(out, ref):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(out[1]), x)   # passed through: as given
    np.testing.assert_array_equal(np.asarray(out[3]), y)
    if n and backend == "c":
        (scan,) = _scans(f, x, y)
        assert scan.params["num_carry"] == 3 and scan.params["num_consts"] == 2


def test_passed_through_carries_of_a_reverse_scan_under_grad_and_vmap():
    def f(w, xs):
        def body(c, x):
            h, w = c
            return (fnp.tanh(h * w + x), w), h.sum()
        (h, w2), ys = lax.scan(body, (fnp.zeros(3, np.float32), w), xs, reverse=True)
        return fnp.sum(h) + fnp.sum(ys) + fnp.sum(w2 * w2)
    w, xs = arr(3), arr(6, 3)
    g = fg.jit(fg.grad(f), backend="c")(w, xs)
    gr = fg.jit(fg.grad(f), backend="reference")(w, xs)
    np.testing.assert_allclose(np.asarray(g), np.asarray(gr), rtol=2e-5, atol=2e-6)
    v = fg.jit(fg.vmap(f, in_axes=(0, None)), backend="c")(arr(4, 3), xs)
    vr = fg.jit(fg.vmap(f, in_axes=(0, None)), backend="reference")(arr(4, 3) * 0 + 1, xs)
    assert np.asarray(v).shape == np.asarray(vr).shape == (4,)
    eps = 1e-3
    e = np.zeros(3, np.float32)
    e[1] = eps
    fd = (float(fg.jit(f, backend="reference")(w + e, xs)) -
          float(fg.jit(f, backend="reference")(w - e, xs))) / (2 * eps)
    np.testing.assert_allclose(float(np.asarray(g)[1]), fd, rtol=2e-2, atol=2e-3)


def test_a_literal_or_swapped_carry_stays_a_carry():
    def literal(x):                # the passed-through carry starts as a literal
        return lax.fori_loop(0, 4, lambda i, c: (c[0] + x[i], c[1]), (np.float32(0), 2.0))

    def swapped(x, y):             # each trip swaps: not passed through
        return lax.fori_loop(0, 3, lambda i, c: (c[1], c[0]), (x, y))
    x, y = arr(5), arr(5)
    same(literal, x)
    out = same(swapped, x, y)
    np.testing.assert_array_equal(np.asarray(out[0]), y)
    # (the loop's counter, then the two carries)
    assert _scans(literal, x)[0].params["num_carry"] == 3
    assert _scans(swapped, x, y)[0].params["num_carry"] == 3


# The same for a while_loop's carry: it becomes a constant of the condition and the body
# (the C loop copied it into its output buffer on every call).

def _whiles(f, *args):
    return _scans(f, *args, prim="while")


@pytest.mark.parametrize("backend", ["c", "reference", "opencl"])
@pytest.mark.parametrize("n", [0, 1, 6])
def test_a_while_carry_passed_through_is_a_constant_and_returned_as_given(backend, n):
    _skip_without_opencl(backend)

    def f(x, y, n):
        def body(c):
            k, s, x, t, y = c
            return k + 1, s + x[k % 7, 0] * y[0], x, t * 0.5 + y[1], y
        return lax.while_loop(lambda c: c[0] < n, body, (0, np.float32(0), x, y[2], y))
    x, y = arr(7, 3), arr(4)
    k, s, x2, t, y2 = fg.jit(f, backend=backend)(x, y, n)
    want_s, want_t = np.float32(0), y[2]
    for i in range(n):
        want_s = np.float32(want_s + x[i % 7, 0] * y[0])
        want_t = np.float32(want_t * np.float32(0.5) + y[1])
    assert int(k) == n
    np.testing.assert_allclose(float(s), want_s, rtol=1e-6)
    np.testing.assert_allclose(float(t), want_t, rtol=1e-6)
    np.testing.assert_array_equal(np.asarray(x2), x)        # passed through: as given
    np.testing.assert_array_equal(np.asarray(y2), y)
    if backend == "c":
        (w,) = _whiles(f, x, y, n)
        assert len(w.outputs) == 3
        assert (w.params["cond_nconsts"], w.params["body_nconsts"]) == (3, 2)   # n; x, y


def test_a_while_carry_updated_from_a_passed_through_one_leaves_the_input_alone():
    # the other carry's new value updates the passed-through array: an update of a loop
    # constant must not write into it (nor into the caller's array)
    def f(x, n):
        def body(c):
            k, acc, x = c
            return k + 1, x.at[k % 5].set(acc[k % 5] + 1.0), x
        return lax.while_loop(lambda c: c[0] < n, body, (0, x * 2, x))
    x = arr(5, 4)
    keep = x.copy()
    for backend in ("c", "reference"):
        k, acc, x2 = fg.jit(f, backend=backend)(x, 3)
        want = x * 2
        for i in range(3):
            row = want[i % 5] + 1.0
            want = x.copy()
            want[i % 5] = row
        np.testing.assert_array_equal(np.asarray(acc), want)
        np.testing.assert_array_equal(np.asarray(x2), keep)
        np.testing.assert_array_equal(x, keep)


def test_a_while_loop_whose_carries_all_pass_through_stays_a_loop():
    def f(x, y):
        return lax.while_loop(lambda c: c[0][0] > 1e30, lambda c: c, (x, y))
    x, y = arr(3), arr(2, 2)
    out = same(f, x, y)
    np.testing.assert_array_equal(np.asarray(out[0]), x)
    assert len(_whiles(f, x, y)[0].outputs) == 2


def test_a_passed_through_while_carry_under_jvp_and_vmap():
    def f(w, x, n):
        def body(c):
            k, h, w, x = c
            return k + 1, fnp.tanh(h * w + x[k]), w, x
        return lax.while_loop(lambda c: c[0] < n, body, (0, fnp.zeros(3, np.float32), w, x))[1]
    w, x = arr(3), arr(4, 3)
    p, t = fg.jvp(lambda w: fg.jit(f, backend="c")(w, x, 4), (w,), (np.ones(3, np.float32),))
    pr, tr = fg.jvp(lambda w: fg.jit(f, backend="reference")(w, x, 4), (w,),
                    (np.ones(3, np.float32),))
    np.testing.assert_allclose(np.asarray(p), np.asarray(pr), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(t), np.asarray(tr), rtol=1e-5, atol=1e-6)
    eps = 1e-3
    fd = (np.asarray(f(w + eps, x, 4)) - np.asarray(f(w - eps, x, 4))) / (2 * eps)
    np.testing.assert_allclose(np.asarray(t), fd, rtol=2e-2, atol=2e-3)
    # a predicate that differs per example (the loop runs until every example is done)
    ns = np.array([1, 4, 2], np.int32)
    v = fg.jit(fg.vmap(f, in_axes=(None, None, 0)), backend="c")(w, x, ns)
    for i, n in enumerate(ns):
        np.testing.assert_allclose(np.asarray(v[i]), np.asarray(f(w, x, int(n))), rtol=1e-6)


def test_a_while_loop_nested_in_a_scan_passes_its_array_through_both():
    # inner first: the while loop's pass-through output is the scan body's carry, which
    # then passes through the scan too
    def f(x, n):
        def outer(i, c):
            s, x = c
            _, s2, x2 = lax.while_loop(
                lambda w: w[0] < n, lambda w: (w[0] + 1, w[1] + w[2][w[0] % 5].sum() * i, w[2]),
                (0, s, x))
            return s2, x2
        return lax.fori_loop(0, 3, outer, (np.float32(0), x))
    x = arr(5, 4)
    s, x2 = same(f, x, 4, exact=False)
    want = np.float32(0)
    for i in range(3):
        for k in range(4):
            want += x[k % 5].sum() * i
    np.testing.assert_allclose(float(s), want, rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(x2), x)
    (scan,) = _scans(f, x, 4)
    assert scan.params["num_carry"] == 2          # the counter and s; x is a constant
    (w,) = [e for e in scan.params["program"].eqns if e.prim.name == "while"]
    assert len(w.outputs) == 2


def test_a_program_returning_its_input_runs_without_host_steps():
    # (a carry passed through a loop that the program returns is the program's input: the
    # executable hands the input array back instead of taking its host-step path, 4 us a
    # call slower)
    def f(x, y):
        return lax.while_loop(lambda c: c[0] < 3,
                              lambda c: (c[0] + 1, c[1] + c[2][c[0], 0], c[2]), (0, y, x))
    x, y = arr(6, 3), arr(4)
    low = fg.jit(f, backend="c").lower(x, y)
    exe = get_backend("c").executable(low.program, low.name)
    assert not exe._host_steps and exe._input_outs == [0]
    g = fg.jit(f, backend="c")
    xa, ya = fnp.asarray(x), fnp.asarray(y)
    for _ in range(3):                     # (the dispatch fast path from the second call)
        k, s, x2 = g(xa, ya)
        np.testing.assert_array_equal(np.asarray(x2), x)
        np.testing.assert_allclose(np.asarray(s), y + x[0, 0] + x[1, 0] + x[2, 0], rtol=1e-6)
    ident = fg.jit(lambda x: (x, x + 1), backend="c")
    for _ in range(3):
        a, b = ident(xa)
        np.testing.assert_array_equal(np.asarray(a), x)
        np.testing.assert_array_equal(np.asarray(b), x + 1)
    don = fg.jit(lambda x, y: (y, x * 2), backend="c", donate_argnums=0)
    for _ in range(3):
        a, b = don(fnp.asarray(x), ya)
        np.testing.assert_array_equal(np.asarray(a), y)
        np.testing.assert_array_equal(np.asarray(b), x * 2)
