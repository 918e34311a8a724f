"""funcgrad.optimizers: the first two steps of every optimizer against hand-written NumPy
updates, on a pytree of parameters; schedules; l2_norm/clip_grads; state (un)packing."""
import math

import numpy as np
import pytest

import funcgrad as fg
from funcgrad import numpy as fnp
from funcgrad import optimizers as opt

pytestmark = pytest.mark.core

P0 = {"w": np.array([[0.5, -1.0, 2.0], [0.0, 1.5, -0.25]], np.float32),
      "b": np.array([0.1, -0.2, 0.3], np.float32)}
G1 = {"w": np.array([[0.2, -0.1, 0.0], [1.0, -2.0, 0.5]], np.float32),
      "b": np.array([0.3, 0.0, -0.4], np.float32)}
G2 = {"w": np.array([[-0.5, 0.4, 0.0], [0.1, 0.3, -0.2]], np.float32),
      "b": np.array([0.2, 0.0, 0.1], np.float32)}


def _sgd(lr):
    def init(x):
        return [x]

    def step(i, g, s):
        s[0] = s[0] - lr * g
    return init, step


def _momentum(lr, mass, nesterov=False):
    def init(x):
        return [x, np.zeros_like(x)]

    def step(i, g, s):
        s[1] = mass * s[1] + g
        s[0] = s[0] - lr * (mass * s[1] + g if nesterov else s[1])
    return init, step


def _adagrad(lr, momentum=0.9):
    def init(x):
        return [x, np.zeros_like(x), np.zeros_like(x)]

    def step(i, g, s):
        s[1] = s[1] + g * g
        inv = np.where(s[1] > 0, 1 / np.sqrt(np.where(s[1] > 0, s[1], 1)), 0)
        s[2] = (1 - momentum) * g * inv + momentum * s[2]
        s[0] = s[0] - lr * s[2]
    return init, step


def _rmsprop(lr, gamma=0.9, eps=1e-8):
    def init(x):
        return [x, np.zeros_like(x)]

    def step(i, g, s):
        s[1] = gamma * s[1] + (1 - gamma) * g * g
        s[0] = s[0] - lr * g / np.sqrt(s[1] + eps)
    return init, step


def _rmsprop_momentum(lr, gamma=0.9, eps=1e-8, momentum=0.9):
    def init(x):
        return [x, np.zeros_like(x), np.zeros_like(x)]

    def step(i, g, s):
        s[1] = gamma * s[1] + (1 - gamma) * g * g
        s[2] = momentum * s[2] + lr * g / np.sqrt(s[1] + eps)
        s[0] = s[0] - s[2]
    return init, step


def _adam(lr, b1=0.9, b2=0.999, eps=1e-8):
    def init(x):
        return [x, np.zeros_like(x), np.zeros_like(x)]

    def step(i, g, s):
        s[1] = (1 - b1) * g + b1 * s[1]
        s[2] = (1 - b2) * g * g + b2 * s[2]
        mhat = s[1] / (1 - b1 ** (i + 1))
        vhat = s[2] / (1 - b2 ** (i + 1))
        s[0] = s[0] - lr * mhat / (np.sqrt(vhat) + eps)
    return init, step


def _adamax(lr, b1=0.9, b2=0.999, eps=1e-8):
    def init(x):
        return [x, np.zeros_like(x), np.zeros_like(x)]

    def step(i, g, s):
        s[1] = (1 - b1) * g + b1 * s[1]
        s[2] = np.maximum(b2 * s[2], np.abs(g))
        s[0] = s[0] - lr / (1 - b1 ** (i + 1)) * s[1] / (s[2] + eps)
    return init, step


def _sm3(lr, momentum=0.9):
    def init(x):
        return [x, np.zeros_like(x), [np.zeros(d) for d in x.shape]]

    def step(i, g, s):
        nd = g.ndim
        vs = [v.reshape([-1 if a == j else 1 for a in range(nd)]) for j, v in enumerate(s[2])]
        accum = vs[0]
        for v in vs[1:]:
            accum = np.minimum(accum, v)
        accum = accum + g * g
        inv = np.where(accum > 0, 1 / np.sqrt(np.where(accum > 0, accum, 1)), 0)
        s[1] = (1 - momentum) * g * inv + momentum * s[1]
        s[0] = s[0] - lr * s[1]
        s[2] = [accum.max(axis=tuple(a for a in range(nd) if a != j)) for j in range(nd)]
    return init, step


CASES = [
    ("sgd", opt.sgd(0.1), _sgd(0.1)),
    ("momentum", opt.momentum(0.1, 0.9), _momentum(0.1, 0.9)),
    ("nesterov", opt.nesterov(0.1, 0.8), _momentum(0.1, 0.8, nesterov=True)),
    ("adagrad", opt.adagrad(0.1), _adagrad(0.1)),
    ("adagrad_m0", opt.adagrad(0.1, momentum=0.0), _adagrad(0.1, 0.0)),
    ("rmsprop", opt.rmsprop(0.01), _rmsprop(0.01)),
    ("rmsprop_momentum", opt.rmsprop_momentum(0.01, gamma=0.8, momentum=0.5),
     _rmsprop_momentum(0.01, gamma=0.8, momentum=0.5)),
    ("adam", opt.adam(0.01), _adam(0.01)),
    ("adam_b", opt.adam(0.05, b1=0.5, b2=0.9, eps=1e-3), _adam(0.05, 0.5, 0.9, 1e-3)),
    ("adamax", opt.adamax(0.02), _adamax(0.02)),
    ("sm3", opt.sm3(0.1), _sm3(0.1)),
]


@pytest.mark.parametrize("name,optimizer,ref", CASES, ids=[c[0] for c in CASES])
def test_first_two_steps(name, optimizer, ref):
    init_fun, update_fun, get_params = optimizer
    state = init_fun({k: fnp.asarray(v) for k, v in P0.items()})
    ref_init, ref_step = ref
    ref_states = {k: ref_init(v.astype(np.float64)) for k, v in P0.items()}
    for i, grads in enumerate([G1, G2]):
        state = update_fun(i, {k: fnp.asarray(v) for k, v in grads.items()}, state)
        for k in P0:
            ref_step(i, grads[k].astype(np.float64), ref_states[k])
        params = get_params(state)
        assert set(params) == {"w", "b"}
        for k, p0 in P0.items():
            assert params[k].shape == p0.shape and params[k].dtype == np.float32
            np.testing.assert_allclose(np.asarray(params[k]), ref_states[k][0], rtol=1e-5,
                                       atol=1e-6, err_msg=f"{name} step {i} leaf {k}")


def test_get_params_of_init_is_identity_and_state_is_pytree():
    init_fun, _, get_params = opt.adam(0.1)
    state = init_fun(P0)
    assert isinstance(state, opt.OptimizerState)
    back = get_params(state)
    for k, p0 in P0.items():
        np.testing.assert_array_equal(np.asarray(back[k]), p0)
    leaves = fg.tree.tree_leaves(state)
    assert len(leaves) == 6
    mapped = fg.tree.tree_map(lambda x: x, state)
    assert mapped.tree_def == state.tree_def


def test_update_under_jit_with_traced_step():
    init_fun, update_fun, _ = opt.adam(0.01)
    state = init_fun({k: fnp.asarray(v) for k, v in P0.items()})
    eager = update_fun(1, G1, update_fun(0, G1, state))
    step = fg.jit(update_fun)
    jitted = step(1, G1, step(0, G1, state))
    for a, b in zip(fg.tree.tree_leaves(eager), fg.tree.tree_leaves(jitted)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)


def test_mismatched_grad_tree_raises():
    init_fun, update_fun, _ = opt.sgd(0.1)
    state = init_fun(P0)
    with pytest.raises(TypeError, match="did not match"):
        update_fun(0, {"w": G1["w"]}, state)


def test_scalar_param_sm3_and_schedule_step_size():
    init_fun, update_fun, get_params = opt.sm3(0.5, momentum=0.0)
    state = update_fun(0, fnp.asarray(2.0), init_fun(fnp.asarray(1.0)))
    out = get_params(state)
    assert out.shape == ()
    np.testing.assert_allclose(float(out), 1.0 - 0.5 * 2.0 / 2.0)
    init_fun, update_fun, get_params = opt.sgd(lambda i: 0.1 * (i + 1))
    state = init_fun(fnp.asarray(1.0))
    state = update_fun(0, 1.0, state)
    state = update_fun(1, 1.0, state)
    np.testing.assert_allclose(float(get_params(state)), 1.0 - 0.1 - 0.2, rtol=1e-6)


def test_schedules():
    for i in (0, 3, 10):
        assert float(opt.constant(0.3)(i)) == pytest.approx(0.3)
        assert float(opt.exponential_decay(0.1, 5, 0.5)(i)) == pytest.approx(0.1 * 0.5 ** (i / 5))
        assert float(opt.inverse_time_decay(0.1, 5, 2.0)(i)) == pytest.approx(
            0.1 / (1 + 2.0 * i / 5))
        assert float(opt.inverse_time_decay(0.1, 5, 2.0, staircase=True)(i)) == pytest.approx(
            0.1 / (1 + 2.0 * math.floor(i / 5)))
        expected = (1 - min(i, 8) / 8) ** 2 * (0.1 - 0.01) + 0.01
        assert float(opt.polynomial_decay(0.1, 8, 0.01, power=2.0)(i)) == pytest.approx(
            expected, rel=1e-5)
    pc = opt.piecewise_constant([2, 5], [1.0, 0.5, 0.1])
    assert [float(pc(i)) for i in (0, 2, 3, 5, 6, 100)] == pytest.approx(
        [1.0, 1.0, 0.5, 0.5, 0.1, 0.1])
    with pytest.raises(ValueError):
        opt.piecewise_constant([1, 2], [1.0, 2.0])
    assert opt.make_schedule(0.5)(7) == 0.5
    f = opt.polynomial_decay(1.0, 4, 0.0)
    assert opt.make_schedule(f) is f
    with pytest.raises(TypeError):
        opt.make_schedule(np.array([1.0, 2.0]))


def test_schedule_under_jit():
    pc = opt.piecewise_constant([2, 5], [1.0, 0.5, 0.1])
    np.testing.assert_allclose(float(fg.jit(pc)(3)), 0.5)
    ed = opt.exponential_decay(0.1, 5, 0.5)
    np.testing.assert_allclose(float(fg.jit(ed)(5)), 0.05, rtol=1e-6)


def test_l2_norm_and_clip_grads():
    tree = {"a": np.array([3.0, 0.0], np.float32), "b": (np.array([[4.0]], np.float32),)}
    assert float(opt.l2_norm(tree)) == pytest.approx(5.0)
    clipped = opt.clip_grads(tree, 1.0)
    np.testing.assert_allclose(np.asarray(clipped["a"]), [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(clipped["b"][0]), [[0.8]], rtol=1e-6)
    same = opt.clip_grads(tree, 10.0)
    np.testing.assert_allclose(np.asarray(same["a"]), [3.0, 0.0])


def test_pack_unpack_round_trip():
    init_fun, update_fun, _ = opt.momentum(0.1, 0.9)
    state = update_fun(0, G1, init_fun(P0))
    marked = opt.unpack_optimizer_state(state)
    assert isinstance(marked["w"], opt.JoinPoint)
    assert len(marked["w"].subtree) == 2
    packed = opt.pack_optimizer_state(marked)
    assert packed.tree_def == state.tree_def and packed.subtree_defs == state.subtree_defs
    for a, b in zip(fg.tree.tree_leaves(packed), fg.tree.tree_leaves(state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(TypeError):
        opt.pack_optimizer_state({"w": 1.0})
