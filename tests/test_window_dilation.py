"""`lax.reduce_window` with base and window dilation (XLA's ReduceWindow semantics), built
from pad, slice and select: against a NumPy oracle written from XLA's definition, on every
test backend eagerly and under jit, with derivatives against finite differences and JAX's
choice of the tangent at ties."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from conftest import _test_backends
from hypothesis import given, settings, strategies as st

import funcgrad as fg
from funcgrad import lax
from funcgrad.testing import check_grads

_OPS = {"add": (lax.add, 0.0, np.sum), "max": (lax.max, -np.inf, np.max),
        "min": (lax.min, np.inf, np.min)}


def _oracle(x, comp, win, strides, padding, base, wdil):
    """XLA: dilate the operand with the identity, pad it (JAX computes 'SAME' pads from the
    operand's own shape and the dilated window), reduce every dilated window."""
    _, init, red = _OPS[comp]
    span = [(w - 1) * r + 1 for w, r in zip(win, wdil)]
    if isinstance(padding, str):
        pads = []
        for n, sp, s in zip(x.shape, span, strides):
            if padding == "VALID":
                pads.append((0, 0))
            else:
                total = max((-(-n // s) - 1) * s + sp - n, 0)
                pads.append((total // 2, total - total // 2))
    else:
        pads = list(padding)
    xd = np.full([(n - 1) * b + 1 if n else 0 for n, b in zip(x.shape, base)], init, x.dtype)
    xd[tuple(np.s_[::b] for b in base)] = x
    xp = np.pad(xd, pads, constant_values=init)
    out_shape = [max((n - sp) // s + 1, 0) for n, sp, s in zip(xp.shape, span, strides)]
    out = np.full(out_shape, init, x.dtype)
    for idx in itertools.product(*[range(n) for n in out_shape]):
        cells = [xp[tuple(i * s + j * r for i, s, j, r in zip(idx, strides, js, wdil))]
                 for js in itertools.product(*[range(w) for w in win])]
        out[idx] = red(cells)
    return out


@st.composite
def _cases(draw):
    nd = draw(st.integers(1, 2))
    shape = tuple(draw(st.integers(1, 6)) for _ in range(nd))
    win = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    strides = tuple(draw(st.integers(1, 2)) for _ in range(nd))
    base = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    wdil = tuple(draw(st.integers(1, 3)) for _ in range(nd))
    padding = draw(st.one_of(st.sampled_from(["VALID", "SAME"]), st.tuples(
        *[st.tuples(st.integers(0, 2), st.integers(0, 2)) for _ in range(nd)])))
    comp = draw(st.sampled_from(sorted(_OPS)))
    return shape, win, strides, base, wdil, padding, comp


def _run(case, x, backend, jit):
    shape, win, strides, base, wdil, padding, comp = case
    op, init, _ = _OPS[comp]

    def f(x):
        return lax.reduce_window(x, init, op, win, strides, padding, base_dilation=base,
                                 window_dilation=wdil)
    with fg.config.override("backend", backend):
        return np.asarray((fg.jit(f) if jit else f)(x))


def _check(case, seed, backend, jit):
    shape, win, strides, base, wdil, padding, comp = case
    x = np.random.default_rng(seed).integers(-4, 5, shape).astype(np.float32)  # with ties
    want = _oracle(x, comp, win, strides, padding, base, wdil)
    got = _run(case, x, backend, jit)
    assert got.shape == want.shape and got.dtype == want.dtype, (backend, got.shape)
    np.testing.assert_array_equal(got, want)


@settings(max_examples=60, deadline=None)
@given(case=_cases(), seed=st.integers(0, 2 ** 16), jit=st.booleans())
def test_dilated_reduce_window_matches_xlas_definition(case, seed, jit):
    # the frontend builds it from primitives: the reference backend runs the property, the
    # compiled backends the cases below
    _check(case, seed, "reference", jit)


@pytest.mark.parametrize("backend", _test_backends())
@pytest.mark.parametrize("case", [
    ((6, 5), (2, 3), (1, 2), (2, 1), (1, 2), "SAME", "max"),
    ((5, 4), (3, 2), (2, 1), (1, 3), (2, 1), ((1, 2), (0, 1)), "min"),
    ((7,), (3,), (2,), (3,), (2,), "VALID", "add")])
def test_dilated_reduce_window_on_each_backend(case, backend):
    _check(case, 7, backend, jit=True)


@pytest.mark.parametrize("comp", sorted(_OPS))
def test_dilated_reduce_window_derivatives(comp):
    op, init, _ = _OPS[comp]
    x = np.random.default_rng(1).permutation(35).reshape(5, 7).astype(np.float32) / 7  # no ties

    def f(x):
        return lax.reduce_window(x, init, op, (2, 3), (1, 2), "SAME", base_dilation=(2, 1),
                                 window_dilation=(1, 2))
    check_grads(f, (x,), order=1, modes=("fwd", "rev"))


def test_a_tie_gives_the_tangent_to_the_first_element_of_the_window_as_jax_does():
    # JAX 0.10.2: jvp of reduce_window max, window 3 dilated by 2, over [1, 3, 3, 0, 3, 2, -1, 5]
    # with tangent [1..8] gives [3, 2, 3, 8] (the windows' first maximum); 'SAME' min with
    # base dilation 2 gives [1..7]. Elementwise max would split a tie's tangent in halves.
    x = np.array([1., 3., 3., 0., 3., 2., -1., 5.], np.float32)
    t = np.arange(1, 9, dtype=np.float32)
    y, ty = fg.jvp(lambda x: lax.reduce_window(x, -np.inf, lax.max, (3,), (1,), "VALID",
                                               window_dilation=(2,)), (x,), (t,))
    np.testing.assert_array_equal(np.asarray(y), [3, 3, 3, 5])
    np.testing.assert_array_equal(np.asarray(ty), [3, 2, 3, 8])
    y, ty = fg.jvp(lambda x: lax.reduce_window(x, np.inf, lax.min, (2,), (2,), "SAME",
                                               base_dilation=(2,)), (x,), (t,))
    np.testing.assert_array_equal(np.asarray(y), [1, 3, 3, 0, 3, 2, -1])
    np.testing.assert_array_equal(np.asarray(ty), np.arange(1, 8))


def test_a_nan_in_a_dilated_window_wins():
    # windows (0, NaN), (1, 1), (NaN, -1): a NaN first and last in its window
    x = np.array([0., 1., np.nan, 1., -1.], np.float32)
    for comp in ("max", "min"):
        op, init, _ = _OPS[comp]
        got = np.asarray(lax.reduce_window(x, init, op, (2,), (1,), "VALID",
                                           window_dilation=(2,)))
        np.testing.assert_array_equal(np.isnan(got), [True, False, True])


def test_positional_dilations_and_integer_operands():
    # JAX's positional order: ..., padding, base_dilation, window_dilation
    x = np.arange(12, dtype=np.int32).reshape(3, 4)
    got = lax.reduce_window(x, 0, lax.add, (2, 2), (1, 1), "VALID", (1, 1), (2, 1))
    np.testing.assert_array_equal(np.asarray(got), [[18, 22, 26]])
    got = lax.reduce_window(x, np.iinfo(np.int32).min, lax.max, (2, 2), (1, 1), "SAME",
                            (2, 1), (1, 2))
    assert got.dtype == np.int32
    np.testing.assert_array_equal(np.asarray(got), [[1, 2, 3, 2], [5, 6, 7, 6], [5, 6, 7, 6],
                                                    [9, 10, 11, 10], [9, 10, 11, 10]])


def test_a_bad_dilation_names_the_operation():
    with pytest.raises(TypeError, match="reduce_window: base_dilation"):
        lax.reduce_window(np.ones(4, np.float32), 0.0, lax.add, (2,), (1,), "VALID",
                          base_dilation=(0,))
