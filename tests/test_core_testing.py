"""funcgrad.testing: check_grads accepts correct derivatives and catches wrong rules; the
hypothesis strategies draw what they promise. Also the JAX-porting test: a small program
written exactly like JAX code gives the numbers of a NumPy hand computation."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import core, lax
from funcgrad.prims import elementwise as ew
from funcgrad.testing import arrays, broadcast_shapes, check_grads, shapes

pytestmark = pytest.mark.core

X = np.array([0.3, -1.1, 2.0])


def test_core_tests_run_on_the_reference_backend():
    assert fg.default_backend() == "reference"


@pytest.mark.parametrize("f", [
    lambda x: fnp.sin(x) * fnp.exp(x),
    lambda x: fnp.sum(fnp.tanh(x) ** 3),
    lambda x: fnp.outer(x, x) @ x,
    lambda x: lax.scan(lambda c, v: (c * v + 1.0, c), 0.5, x),
], ids=["sin_exp", "tanh_cubed", "outer_matvec", "scan"])
def test_check_grads_passes_on_correct_functions(f):
    check_grads(f, (X,), order=2)
    check_grads(f, (X.astype(np.float32),), order=1, modes=("rev",))


def test_check_grads_multiple_args_and_pytrees():
    check_grads(lambda a, b: fnp.sum(a["w"] * b[0]) + b[1], ({"w": X}, (X, 2.0)), order=2)


def test_wrong_jvp_rule_is_caught(monkeypatch):
    # d/dx sin(x) claimed to be sin(x) instead of cos(x)
    def wrong(primals, tangents):
        (x,), (t,) = primals, tangents
        return ew.sin(x), ew.mul(t, ew.sin(x))

    monkeypatch.setitem(core.jvp_rules, ew.sin_p, wrong)
    with pytest.raises(AssertionError, match="jvp"):
        check_grads(fnp.sin, (X,), order=1, modes=("fwd",))
    with pytest.raises(AssertionError, match="vjp"):
        check_grads(fnp.sin, (X,), order=1, modes=("rev",))


def test_wrong_second_order_is_caught(monkeypatch):
    # first derivative right, but its own derivative wrong: cos'(x) claimed to be +sin(x)
    def wrong_cos(primals, tangents):
        (x,), (t,) = primals, tangents
        return ew.cos(x), ew.mul(t, ew.sin(x))

    monkeypatch.setitem(core.jvp_rules, ew.cos_p, wrong_cos)
    check_grads(fnp.sin, (X,), order=1)
    with pytest.raises(AssertionError, match="order 2"):
        check_grads(fnp.sin, (X,), order=2)


def test_wrong_transpose_rule_is_caught(monkeypatch):
    # the transpose of neg claimed to be the identity
    monkeypatch.setitem(core.transpose_rules, ew.neg_p, lambda ct, x: [ct])
    f = lambda x: fnp.sin(-x)
    check_grads(f, (X,), order=1, modes=("fwd",))  # forward mode does not transpose
    with pytest.raises(AssertionError, match="vjp"):
        check_grads(f, (X,), order=1, modes=("rev",))


def test_wrong_transpose_of_a_structural_rule_is_caught(monkeypatch):
    from funcgrad.prims import structural
    rule = core.transpose_rules[structural.transpose_p]

    def wrong(ct, x, *, permutation):  # forgets to invert the permutation
        return [structural.transpose(ct, permutation)]

    monkeypatch.setitem(core.transpose_rules, structural.transpose_p, wrong)
    weights = fnp.arange(8.0).reshape(2, 2, 2)

    def f(x):
        return fnp.sin(fnp.transpose(x.reshape(2, 2, 2), (1, 2, 0)) * weights)

    x = np.linspace(-1, 1, 8)
    with pytest.raises(AssertionError, match="vjp"):
        check_grads(f, (x,), order=1, modes=("rev",))
    monkeypatch.setitem(core.transpose_rules, structural.transpose_p, rule)
    check_grads(f, (x,), order=1, modes=("rev",))


def test_check_grads_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        check_grads(fnp.sin, (X,), modes=("sideways",))


@settings(max_examples=20)
@given(arrays(np.float32, shape=shapes(max_dims=2), min_value=0.1, max_value=0.9))
def test_arrays_strategy_respects_bounds(x):
    v = np.asarray(x)
    assert isinstance(x, fg.Array) and v.dtype == np.float32
    assert v.size == 0 or (v.min() >= 0.1 and v.max() <= 0.9)


@settings(max_examples=20)
@given(broadcast_shapes(3))
def test_broadcast_shapes_strategy(shps):
    assert len(shps) == 3
    np.broadcast_shapes(*shps)


# ---------------------------------------------------------------------------------------
# Porting from JAX: this block is JAX code with the imports changed.


def test_jax_style_program_matches_numpy():
    import funcgrad as jax
    import funcgrad.numpy as jnp

    def init_params(key):
        k1, k2 = jax.random.split(key)
        return {"w1": jax.random.normal(k1, (3, 4)) * 0.5, "b1": jnp.zeros(4),
                "w2": jax.random.normal(k2, (4, 2)) * 0.5, "b2": jnp.full((2,), 0.1)}

    def predict(params, x):
        h = jnp.tanh(x @ params["w1"] + params["b1"])
        return h @ params["w2"] + params["b2"]

    def loss(params, x, y):
        return jnp.mean((predict(params, x) - y) ** 2)

    params = init_params(jax.random.PRNGKey(0))
    x = jnp.asarray(np.linspace(-1, 1, 15, dtype=np.float32).reshape(5, 3))
    y = jnp.asarray(np.cos(np.arange(10, dtype=np.float32)).reshape(5, 2))

    grads = jax.jit(jax.grad(loss))(params, x, y)
    per_example = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(params, x[:, None], y[:, None])
    jac = jax.jacrev(predict, argnums=1)(params, x[0])
    new_params = jax.tree.tree_map(lambda p, g: p - 0.1 * g, params, grads)

    # NumPy by hand
    P = {k: np.asarray(v, np.float64) for k, v in params.items()}
    X_, Y_ = np.asarray(x, np.float64), np.asarray(y, np.float64)

    def np_grads(xb, yb):
        z = xb @ P["w1"] + P["b1"]
        h = np.tanh(z)
        out = h @ P["w2"] + P["b2"]
        d_out = 2 * (out - yb) / out.size
        gw2 = h.T @ d_out
        gb2 = d_out.sum(0)
        dz = (d_out @ P["w2"].T) * (1 - h ** 2)
        return {"w1": xb.T @ dz, "b1": dz.sum(0), "w2": gw2, "b2": gb2}

    want = np_grads(X_, Y_)
    for k in want:
        np.testing.assert_allclose(np.asarray(grads[k]), want[k], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(np.asarray(new_params[k]), P[k] - 0.1 * want[k],
                                   rtol=1e-4, atol=1e-6)
    for i in range(5):
        wi = np_grads(X_[i:i + 1], Y_[i:i + 1])
        for k in wi:
            np.testing.assert_allclose(np.asarray(per_example[k][i]), wi[k], rtol=1e-4,
                                       atol=1e-6)
    h0 = np.tanh(X_[0] @ P["w1"] + P["b1"])
    J = P["w2"].T @ (np.diag(1 - h0 ** 2) @ P["w1"].T)
    np.testing.assert_allclose(np.asarray(jac), J, rtol=1e-4, atol=1e-6)
    assert jac.shape == (2, 3)
