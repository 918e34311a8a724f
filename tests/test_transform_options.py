"""JAX's options of the transforms: has_aux everywhere returns plain values, jit's
donate_argnames/inline/keep_unused/device, linearize(has_aux), vmap(axis_name)."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import core


def _plain(tree):
    for leaf in fg.tree.tree_leaves(tree):
        assert not isinstance(leaf, core.Tracer), f"aux leaked a tracer: {leaf!r}"


def _f(x):
    return fnp.sum(x ** 2), {"double": x * 2, "n": 3}


def test_aux_outputs_are_plain_values():
    x = fnp.arange(3.0)
    out, aux = fg.grad(_f, has_aux=True)(x)
    _plain(aux)
    np.testing.assert_array_equal(np.asarray(aux["double"]), [0, 2, 4])
    (v, aux), g = fg.value_and_grad(_f, has_aux=True)(x)
    _plain(aux)
    _, _, aux = fg.vjp(_f, x, has_aux=True)
    _plain(aux)
    _, _, aux = fg.jvp(_f, (x,), (x,), has_aux=True)
    _plain(aux)
    _, f_jvp, aux = fg.linearize(_f, x, has_aux=True)
    _plain(aux)
    np.testing.assert_allclose(float(f_jvp(fnp.ones(3))), 6.0)
    _, aux = fg.jacrev(_f, has_aux=True)(x)
    _plain(aux)
    _, aux = fg.jacfwd(_f, has_aux=True)(x)
    _plain(aux)
    g, aux = fg.jit(fg.grad(_f, has_aux=True))(x)
    _plain(aux)
    inner = fg.grad(lambda x: (fnp.sum(x ** 3), x), has_aux=True)
    gg, aux = fg.grad(lambda x: (fnp.sum(inner(x)[0]), inner(x)[1]), has_aux=True)(x)
    _plain(aux)
    np.testing.assert_allclose(np.asarray(gg), 6 * np.arange(3.0))


def test_jit_options():
    f = fg.jit(lambda x, y: x + y, donate_argnames="x")
    a = fnp.ones(3)
    f(a, fnp.ones(3))
    assert a.is_deleted()
    with pytest.raises(ValueError, match="donate_argnames names 'z'"):
        fg.jit(lambda x: x, donate_argnames="z")
    assert float(fg.jit(lambda x: x + 1, inline=True, keep_unused=True)(1.0)) == 2.0
    ref = fg.jit(lambda x: x * 2, device=fg.devices("reference")[0])
    assert ref(fnp.ones(2)).backend == "reference"
    with pytest.raises(NotImplementedError, match="in_shardings"):
        fg.jit(lambda x: x, in_shardings=object())
    g = fg.jit(static_argnums=1)(lambda x, n: x * n)
    assert float(g(fnp.ones(()), 4)) == 4.0


def test_vmap_accepts_axis_name():
    y = fg.vmap(lambda x: x * 2, axis_name="batch")(fnp.ones((2, 3)))
    assert y.shape == (2, 3)


def test_disable_jit_runs_the_function_eagerly():
    seen = []

    @fg.jit
    def f(x):
        seen.append(type(x))
        return x + 1

    f(fnp.ones(2))
    with fg.config.override("jax_disable_jit", True):
        f(fnp.ones(2))
        f(fnp.ones(2))
    assert seen[0] is not core.ArrayImpl and seen[1:] == [core.ArrayImpl, core.ArrayImpl]
    f(fnp.ones(2))
    assert len(seen) == 3          # compiled again: no retrace


def test_debug_nans_names_the_operation(backend):
    f = fg.jit(lambda x: fnp.exp(x) * fnp.log(x - 2.0))
    assert np.isnan(np.asarray(f(fnp.ones(2)))).all()
    with fg.config.override("debug_nans", True):
        with pytest.raises(FloatingPointError, match="invalid value \\(nan\\) encountered in log"):
            f(fnp.ones(2))
        with pytest.raises(FloatingPointError, match="in sqrt"):
            fnp.sqrt(fnp.array([-1.0]))
        np.testing.assert_allclose(np.asarray(f(fnp.full(2, 3.0))), np.exp(3.0) * 0.0)
    with fg.config.override("debug_infs", True):
        with pytest.raises(FloatingPointError, match="\\(inf\\)"):
            fg.jit(lambda x: 1.0 / x)(fnp.zeros(1))
    assert np.isnan(np.asarray(f(fnp.ones(2)))).all()
