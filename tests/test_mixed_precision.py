"""Reduced precision: float32 accumulation of bfloat16/float16 products and sums
(`preferred_element_type`, as JAX), their derivatives' dtypes, and
`funcgrad.mixed_precision` (policies, loss scaling, a jitted training step)."""
import numpy as np
import pytest

import funcgrad as fg
from funcgrad import lax
from funcgrad import numpy as fnp

pytestmark = pytest.mark.core

HALF = ["bfloat16", "float16"]


def _ints(shape, seed, lo=-64, hi=65):
    return np.random.RandomState(seed).randint(lo, hi, shape).astype(np.float32)


@pytest.mark.parametrize("dtype", HALF)
def test_dot_and_sum_accumulate_in_float32(dtype):
    # Summed in 16 bits, 1 + 511 * 2**-8 stays 1 (each step rounds the 2**-8 away).
    v = np.array([1.0] + [2.0 ** -8] * 511, np.float32)
    vh, ones = fnp.asarray(v).astype(dtype), fnp.ones(512, dtype)
    exact = np.float32(1 + 511 * 2.0 ** -8)
    assert float(fnp.dot(ones, vh)) == float(exact.astype(dtype))
    assert float(lax.dot(ones, vh, preferred_element_type=np.float32)) == exact
    assert float(fnp.sum(vh)) == float(exact.astype(dtype))
    # Integer-valued operands: the float32 sums are exact, so accumulating in float32 and
    # rounding once gives exactly the exact product rounded to the 16-bit type.
    a, b = _ints((6, 64), 0), _ints((64, 5), 1)
    exact = a.astype(np.float64) @ b
    ah, bh = fnp.asarray(a).astype(dtype), fnp.asarray(b).astype(dtype)
    out = fnp.matmul(ah, bh)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(np.asarray(out).astype(np.float64),
                                  exact.astype(dtype).astype(np.float64))
    out32 = lax.dot_general(ah, bh, (((1,), (0,)), ((), ())), preferred_element_type="float32")
    assert out32.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(out32), exact)


@pytest.mark.parametrize("dtype", HALF)
def test_gradients_of_reduced_precision_dot_and_conv(dtype):
    """The cotangent of a 16-bit operand is 16-bit, with a float32 or a 16-bit result;
    values agree with the float32 computation within the 16-bit type's rounding."""
    rng = np.random.RandomState(0)
    a, b = rng.randn(5, 7).astype(dtype), rng.randn(7, 3).astype(dtype)
    x, w = rng.randn(2, 5, 5, 3).astype(dtype), rng.randn(3, 3, 3, 4).astype(dtype)
    dn = ("NHWC", "HWIO", "NHWC")

    def loss(a, b, x, w, pet):
        d = lax.dot(a, b, preferred_element_type=pet)
        c = lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=dn,
                                     preferred_element_type=pet)
        return fnp.sum(d.astype(np.float32) ** 2) + fnp.sum(c.astype(np.float32) ** 2)

    args32 = [np.asarray(t, np.float32) for t in (a, b, x, w)]
    want = fg.grad(loss, argnums=(0, 1, 2, 3))(*args32, None)
    eps = float(fnp.finfo(dtype).eps)
    for pet in (None, np.float32):
        got = fg.grad(loss, argnums=(0, 1, 2, 3))(a, b, x, w, pet)
        for g, r in zip(got, want):
            assert g.dtype == np.dtype(dtype)
            r = np.asarray(r)
            err = np.abs(np.asarray(g).astype(np.float32) - r).max() / np.abs(r).max()
            assert err < 4 * eps, (pet, err)
    # vmap keeps the primitive's parameter: one example at a time equals the whole batch.
    from funcgrad.prims import linalg
    conv32 = lambda x: linalg.conv_general_dilated(  # noqa: E731
        x, w, (1, 1), "SAME", dimension_numbers=dn, preferred_element_type=np.float32)
    per_example = fg.vmap(lambda xi: conv32(xi[None])[0])(x)
    assert per_example.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(per_example), np.asarray(conv32(x)))


def test_preferred_element_type_errors():
    a = fnp.ones((2, 2), np.float32)
    with pytest.raises(TypeError, match="dot_general: preferred_element_type int32"):
        lax.dot(a, a, preferred_element_type=np.int32)


def test_sum_and_batchnorm_statistics_of_bfloat16():
    """Regression: bfloat16 sums accumulated in bfloat16, and stax.BatchNorm computed its
    statistics in the input's dtype (a bfloat16 mean of values near 100 is off by up to
    0.25, a whole standard deviation here)."""
    from funcgrad import random, stax
    v = fnp.asarray(np.array([1.0] + [2.0 ** -8] * 511, np.float32)).astype(fnp.bfloat16)
    assert float(fnp.sum(v)) == 3.0 and float(lax.reduce_sum(v, (0,))) == 3.0
    x = 100 + 0.3 * np.random.RandomState(0).randn(8, 3, 3, 2)
    xb = fnp.asarray(x.astype(np.float32)).astype(fnp.bfloat16)
    for layer in (stax.BatchNorm(), stax.LayerNorm(axis=(1, 2, 3))):
        init, apply = layer
        _, params = init(random.PRNGKey(0), x.shape)
        want = np.asarray(apply(params, np.asarray(xb).astype(np.float32)))
        got = apply(params, xb)
        assert got.dtype == fnp.bfloat16
        assert np.abs(np.asarray(got).astype(np.float32) - want).max() < 0.02


# ---------------------------------------------------------------------------------------
# funcgrad.mixed_precision

mp = fg.mixed_precision


def test_policies_cast_floating_leaves_of_pytrees():
    p = mp.get_policy("params=float32,compute=bfloat16,output=float32")
    assert p == mp.get_policy("p=f32,c=bf16,o=f32") == mp.Policy("float32", fnp.bfloat16,
                                                                  np.float32)
    assert str(p) == "p=f32,c=bf16,o=f32"
    assert mp.get_policy("half") == mp.Policy(*[np.float16] * 3)
    assert mp.get_policy("c=f16") == mp.Policy(np.float32, np.float16, np.float32)
    key = fg.random.PRNGKey(0)
    tree = {"w": fnp.ones((2, 2)), "host": np.ones(3), "ids": np.arange(3), "lr": 0.5,
            "key": key, "nested": [fnp.zeros(2, np.float16), fnp.ones(2, np.int32)]}
    out = p.cast_to_compute(tree)
    assert out["w"].dtype == fnp.bfloat16 and isinstance(out["w"], fg.Array)
    assert out["host"].dtype == fnp.bfloat16 and isinstance(out["host"], np.ndarray)
    assert out["ids"] is tree["ids"] and out["lr"] == 0.5 and out["key"] is key
    assert out["nested"][0].dtype == fnp.bfloat16 and out["nested"][1] is tree["nested"][1]
    back = p.cast_to_param(out)
    assert back["w"].dtype == np.float32 and back["nested"][0].dtype == np.float32
    assert p.with_output_dtype("bf16").output_dtype == fnp.bfloat16
    for bad in ("p=f32,c=fp8", "compute", "x=f32", "p=f32,params=f16", ""):
        with pytest.raises(ValueError, match="get_policy"):
            mp.get_policy(bad)
    with pytest.raises(ValueError, match="floating-point"):
        mp.Policy(np.float32, np.int32, np.float32)


def test_wrapped_stax_model_computes_in_bfloat16_with_float32_gradients():
    from funcgrad import random, stax
    policy = mp.get_policy("p=f32,c=bf16,o=f32")
    seen = []

    def spy(x):
        seen.append(x.dtype)
        return x
    init, apply = policy.wrap_layer(stax.serial(stax.Dense(4), stax.elementwise(spy),
                                                stax.Relu, stax.Dense(2)))
    _, params = init(random.PRNGKey(0), (3, 5))
    assert all(leaf.dtype == np.float32 for leaf in fg.tree.leaves(params))
    x = np.random.RandomState(0).randn(3, 5).astype(np.float32)
    out = apply(params, x)
    assert out.dtype == np.float32 and seen == [fnp.bfloat16]
    grads = fg.grad(lambda p: fnp.sum(apply(p, x) ** 2))(params)
    assert all(g.dtype == np.float32 for g in fg.tree.leaves(grads))


def test_loss_scale_dynamics():
    s = mp.DynamicLossScale(2.0 ** 10, period=3, factor=2, min_loss_scale=2.0 ** 8)
    history = []
    for finite in (True, True, True, True, False, True, False, False, False):
        s = s.adjust(np.bool_(finite))
        history.append((float(s.loss_scale), int(s.counter)))
    assert history == [(1024, 1), (1024, 2), (2048, 0), (2048, 1), (1024, 0), (1024, 1),
                       (512, 0), (256, 0), (256, 0)]
    assert s.loss_scale.dtype == np.float32 and s.counter.dtype == np.int32
    # Growing past float32's range keeps the scale.
    top = mp.DynamicLossScale(2.0 ** 127, counter=0, period=1).adjust(True)
    assert float(top.loss_scale) == 2.0 ** 127
    # scale/unscale multiply floating leaves only, computing in float32.
    st = mp.StaticLossScale(2.0 ** 12)
    g = {"a": fnp.asarray([3.0], np.float16), "n": np.arange(2)}
    assert float(st.scale(g)["a"][0]) == 3 * 2.0 ** 12 and st.scale(g)["n"] is g["n"]
    assert st.unscale(st.scale(g))["a"].dtype == np.float16
    assert float(st.unscale(st.scale(g))["a"][0]) == 3.0
    # 3 * 2**15 overflows float16: the step is then skipped (all_finite is False).
    assert not bool(mp.all_finite(mp.StaticLossScale(2.0 ** 15).scale(g)))
    noop = mp.NoOpLossScale()
    assert noop.scale(g) is g and noop.unscale(g) is g and noop.adjust(False) is noop
    leaves, tdef = fg.tree.flatten(s)
    assert len(leaves) == 2 and fg.tree.unflatten(tdef, leaves).period == 3
    for bad in (dict(loss_scale=0.0), dict(period=0), dict(factor=1)):
        with pytest.raises(ValueError, match="DynamicLossScale"):
            mp.DynamicLossScale(**bad)
    assert bool(mp.all_finite({"a": g, "f": 1.0}))
    assert not bool(mp.all_finite([fnp.ones(2), fnp.asarray([0.0, np.nan])]))
    assert not bool(mp.all_finite([np.array([np.inf], np.float16)]))
    with pytest.raises(ValueError, match="select_tree: the two trees differ"):
        mp.select_tree(True, (1.0, 2.0), [1.0, 2.0])


def test_jitted_step_with_dynamic_loss_scale_skips_non_finite_gradients():
    from funcgrad import optimizers
    policy = mp.get_policy("p=f32,c=f16,o=f32")
    opt_init, opt_update, get_params = optimizers.sgd(0.1)

    def loss(params, x):
        w, b = policy.cast_to_compute(params)
        return policy.cast_to_output(fnp.mean((fnp.dot(x.astype(w.dtype), w) + b) ** 2))

    @fg.jit
    def step(i, opt_state, scale, x):
        params = get_params(opt_state)
        grads = fg.grad(lambda p: scale.scale(loss(p, x)))(params)
        grads = scale.unscale(grads)
        finite = mp.all_finite(grads)
        new_state = mp.select_tree(finite, opt_update(i, grads, opt_state), opt_state)
        return new_state, scale.adjust(finite), finite

    params = (np.full((3, 1), 0.5, np.float32), np.zeros(1, np.float32))
    state, scale = opt_init(params), mp.DynamicLossScale(2.0 ** 4, period=2)
    x = np.ones((4, 3), np.float32)
    bad = x.copy()
    bad[1, 2] = np.inf
    seen = []
    for i, batch in enumerate((x, bad, x, x)):
        before = get_params(state)[0]
        state, scale, finite = step(i, state, scale, batch)
        changed = not np.array_equal(np.asarray(get_params(state)[0]), np.asarray(before))
        seen.append((bool(finite), changed, float(scale.loss_scale), int(scale.counter)))
    assert seen == [(True, True, 16.0, 1), (False, False, 8.0, 0), (True, True, 8.0, 1),
                    (True, True, 16.0, 0)]
    assert get_params(state)[0].dtype == np.float32


def test_float16_loss_scaling_prevents_gradient_underflow():
    """d loss / d w = 2**-12 * 2**-14 = 2**-26 is below float16's smallest subnormal
    (2**-24): computed in float16 it flushes to zero unless the loss is scaled first."""
    policy = mp.get_policy("p=f32,c=f16,o=f32")

    def loss(w):
        h = policy.cast_to_compute(w) * np.float16(2.0 ** -12)
        return policy.cast_to_output(fnp.sum(h * np.float16(2.0 ** -14)))

    w = fnp.ones(4, np.float32)
    assert np.all(np.asarray(fg.grad(loss)(w)) == 0)
    scale = mp.StaticLossScale(2.0 ** 15)
    g = scale.unscale(fg.grad(lambda w: scale.scale(loss(w)))(w))
    assert g.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(g), np.full(4, 2.0 ** -26, np.float32))


@pytest.mark.parametrize("precision", ["bfloat16", "float16"])
def test_cnn_example_trains_under_a_mixed_precision_policy(precision, monkeypatch):
    """examples/cnn.py --precision: two jitted steps of its (narrow) network on the reference
    backend; the subprocess smoke run of the example stays float32 to keep the suite short."""
    import os
    from funcgrad import optimizers, random
    monkeypatch.syspath_prepend(os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "examples"))
    import cnn
    opt_init, opt_update, get_params = optimizers.adam(1e-2)
    policy, init_fun, train_step, predict, loss_scale = cnn.make_training(
        precision, 2, opt_update, get_params)
    assert policy.compute_dtype == np.dtype(precision)
    _, params = init_fun(random.PRNGKey(0), (-1, 8, 8, 1))
    rng = np.random.RandomState(0)
    x, y = rng.rand(8, 8, 8, 1).astype(np.float32), rng.randint(0, 10, 8)
    state, losses = (opt_init(params), loss_scale), []
    for i in range(2):
        state, value = train_step(i, state, x, y, random.PRNGKey(0))   # one dropout mask
        losses.append(float(value))
    assert np.all(np.isfinite(losses)) and losses[1] < losses[0], losses
    assert all(p.dtype == np.float32 for p in fg.tree.leaves(get_params(state[0])))
    if precision == "float16":
        assert int(state[1].counter) == 2 and float(state[1].loss_scale) == 2.0 ** 15
    assert predict(get_params(state[0]), x).dtype == np.float32
