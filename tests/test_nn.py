"""funcgrad.nn: activations and softmax family against NumPy (float64 references), their
stability cases (large logits, -inf, NaN-free gradients, relu'(0) = 0), and the initializers."""
import math

import numpy as np
import pytest

import funcgrad as fg
from funcgrad import nn, random
from funcgrad import numpy as fnp
from funcgrad.nn import initializers

pytestmark = pytest.mark.core

X = np.array([-30.0, -5.0, -1.5, -0.5, 0.0, 0.3, 1.0, 4.0, 30.0], np.float32)


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _np_softplus(x):
    return np.logaddexp(x, 0)


def _np_elu(x, a=1.0):
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))


_SELU_A, _SELU_S = 1.6732632423543772, 1.0507009873554805

ACTIVATIONS = [
    ("relu", nn.relu, lambda x: np.maximum(x, 0)),
    ("relu6", nn.relu6, lambda x: np.clip(x, 0, 6)),
    ("sigmoid", nn.sigmoid, _np_sigmoid),
    ("softplus", nn.softplus, _np_softplus),
    ("log_sigmoid", nn.log_sigmoid, lambda x: -_np_softplus(-x)),
    ("soft_sign", nn.soft_sign, lambda x: x / (np.abs(x) + 1)),
    ("silu", nn.silu, lambda x: x * _np_sigmoid(x)),
    ("swish", nn.swish, lambda x: x * _np_sigmoid(x)),
    ("hard_sigmoid", nn.hard_sigmoid, lambda x: np.clip(x + 3, 0, 6) / 6),
    ("gelu_tanh", nn.gelu, lambda x: 0.5 * x * (1 + np.tanh(
        math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    ("gelu_exact", lambda x: nn.gelu(x, approximate=False),
     np.vectorize(lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2))))),
    ("elu", nn.elu, _np_elu),
    ("elu_a2", lambda x: nn.elu(x, 2.0), lambda x: _np_elu(x, 2.0)),
    ("celu", lambda x: nn.celu(x, 0.5), lambda x: np.maximum(x, 0) + 0.5 * np.expm1(
        np.minimum(x, 0) / 0.5)),
    ("selu", nn.selu, lambda x: _SELU_S * _np_elu(x, _SELU_A)),
    ("leaky_relu", nn.leaky_relu, lambda x: np.where(x >= 0, x, 0.01 * x)),
    ("leaky_relu_02", lambda x: nn.leaky_relu(x, 0.2), lambda x: np.where(x >= 0, x, 0.2 * x)),
    ("hard_tanh", nn.hard_tanh, lambda x: np.clip(x, -1, 1)),
]


@pytest.mark.parametrize("name,f,ref", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_values(name, f, ref):
    out = np.asarray(f(fnp.asarray(X)))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, ref(X.astype(np.float64)), rtol=2e-6, atol=2e-7)


@pytest.mark.parametrize("name,f,ref", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_grads_finite_and_correct(name, f, ref):
    def total(x):
        return fnp.sum(f(x))
    g = np.asarray(fg.grad(total)(fnp.asarray(X)))
    assert np.all(np.isfinite(g)), g
    x64 = X.astype(np.float64)
    smooth = ~np.isin(X, [0.0, 1.0])  # kinks (relu at 0, hard_tanh at 1) checked apart
    h = 1e-6
    num = (ref(x64 + h) - ref(x64 - h)) / (2 * h)
    np.testing.assert_allclose(g[smooth], num[smooth], rtol=1e-3, atol=1e-5)


def test_relu_grad_at_zero_is_zero():
    assert float(fg.grad(nn.relu)(0.0)) == 0.0
    assert float(fg.grad(nn.relu)(2.0)) == 1.0
    assert float(fg.grad(nn.relu6)(0.0)) == 0.0
    assert float(fg.grad(nn.relu6)(6.0)) == 0.0


def test_sigmoid_softplus_extremes():
    x = fnp.asarray(np.array([-1000.0, -100.0, 100.0, 1000.0], np.float32))
    s = np.asarray(nn.sigmoid(x))
    np.testing.assert_allclose(s, [0.0, _np_sigmoid(-100.0), 1.0, 1.0], atol=1e-30)
    np.testing.assert_allclose(np.asarray(nn.softplus(x)), [0, 0, 100, 1000], atol=1e-30)
    np.testing.assert_allclose(np.asarray(nn.log_sigmoid(x)), [-1000, -100, 0, 0], atol=1e-30)
    for f in (nn.sigmoid, nn.softplus, nn.log_sigmoid, nn.elu, nn.selu, nn.celu, nn.silu):
        g = np.asarray(fg.grad(lambda v, f=f: fnp.sum(f(v)))(x))
        assert np.all(np.isfinite(g)), (f.__name__, g)


def _np_log_softmax(x, axis=-1):
    m = np.max(x, axis, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis, keepdims=True))


def test_softmax_log_softmax_vs_numpy():
    rng = np.random.RandomState(0)
    x = rng.randn(3, 5).astype(np.float32) * 3
    for axis in (-1, 0):
        ref = _np_log_softmax(x.astype(np.float64), axis)
        np.testing.assert_allclose(np.asarray(nn.log_softmax(x, axis=axis)), ref, rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(np.asarray(nn.softmax(x, axis=axis)), np.exp(ref),
                                   rtol=1e-5, atol=1e-7)


def test_softmax_large_logits():
    x = fnp.asarray(np.array([1000.0, 1000.0, -1000.0], np.float32))
    np.testing.assert_allclose(np.asarray(nn.softmax(x)), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(np.asarray(nn.log_softmax(x)),
                               [-math.log(2)] * 2 + [-2000.0 - math.log(2)],
                               rtol=1e-6)


def test_log_softmax_neg_inf_entries():
    x = fnp.asarray(np.array([0.0, -np.inf, 1.0], np.float32))
    out = np.asarray(nn.log_softmax(x))
    assert out[1] == -np.inf
    np.testing.assert_allclose(out[[0, 2]], _np_log_softmax(np.array([0.0, 1.0])), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(nn.softmax(x))[1], 0.0)
    g = np.asarray(fg.grad(lambda v: nn.log_softmax(v)[0])(x))
    assert np.all(np.isfinite(g)), g
    g = np.asarray(fg.grad(lambda v: fnp.sum(nn.softmax(v) * fnp.arange(3.0)))(x))
    assert np.all(np.isfinite(g)), g


def test_softmax_where_mask():
    x = np.array([1.0, 2.0, 3.0], np.float32)
    mask = np.array([True, False, True])
    out = np.asarray(nn.softmax(x, where=fnp.asarray(mask)))
    e = np.exp([1.0, 3.0])
    np.testing.assert_allclose(out, [e[0] / e.sum(), 0.0, e[1] / e.sum()], rtol=1e-6)


def test_logsumexp():
    rng = np.random.RandomState(1)
    x = rng.randn(2, 4).astype(np.float32)
    ref = np.log(np.sum(np.exp(x.astype(np.float64)), axis=1))
    np.testing.assert_allclose(np.asarray(nn.logsumexp(x, axis=1)), ref, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(nn.logsumexp(x)), np.log(np.exp(x).sum()), rtol=1e-6)
    out = nn.logsumexp(x, axis=1, keepdims=True)
    assert out.shape == (2, 1)
    big = fnp.asarray(np.array([1000.0, 1000.0], np.float32))
    np.testing.assert_allclose(float(nn.logsumexp(big)), 1000 + math.log(2), rtol=1e-6)
    with_inf = fnp.asarray(np.array([-np.inf, 0.0], np.float32))
    np.testing.assert_allclose(float(nn.logsumexp(with_inf)), 0.0, atol=1e-7)
    all_inf = fnp.asarray(np.array([-np.inf, -np.inf], np.float32))
    assert float(nn.logsumexp(all_inf)) == -np.inf
    g = np.asarray(fg.grad(nn.logsumexp)(with_inf))
    np.testing.assert_allclose(g, [0.0, 1.0])


def test_logsumexp_b_and_sign():
    a = np.array([0.0, 1.0, 2.0], np.float32)
    b = np.array([1.0, -2.0, 0.5], np.float32)
    s = np.sum(b * np.exp(a.astype(np.float64)))
    out, sign = nn.logsumexp(a, b=b, return_sign=True)
    np.testing.assert_allclose(float(out), np.log(abs(s)), rtol=1e-5)
    assert float(sign) == np.sign(s)
    if s < 0:
        assert np.isnan(float(nn.logsumexp(a, b=b)))
    b2 = np.array([1.0, 2.0, 0.5], np.float32)
    np.testing.assert_allclose(float(nn.logsumexp(a, b=b2)),
                               np.log(np.sum(b2 * np.exp(a.astype(np.float64)))), rtol=1e-6)


@pytest.mark.parametrize("f", [nn.log_softmax, nn.softmax, nn.logsumexp, nn.standardize,
                               nn.gelu, nn.silu, nn.glu])
def test_under_jit_and_vmap(f):
    x = np.random.RandomState(5).randn(4, 6).astype(np.float32)
    eager = np.asarray(f(x))
    np.testing.assert_allclose(np.asarray(fg.jit(f)(x)), eager, rtol=1e-5, atol=1e-6)
    if f is not nn.logsumexp:  # axis=None reduces over the batch too
        np.testing.assert_allclose(np.asarray(fg.vmap(f)(x)), eager, rtol=1e-5, atol=1e-6)


def test_one_hot():
    x = np.array([0, 2, 5, -1], np.int32)
    out = np.asarray(nn.one_hot(x, 3))
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]])
    out0 = np.asarray(nn.one_hot(x, 3, axis=0, dtype=np.int32))
    assert out0.dtype == np.int32
    np.testing.assert_array_equal(out0, out.T)
    m = np.asarray(nn.one_hot(np.array([[1, 0]]), 2))
    assert m.shape == (1, 2, 2)


def test_standardize_normalize_glu():
    rng = np.random.RandomState(2)
    x = rng.randn(3, 6).astype(np.float32)
    x64 = x.astype(np.float64)
    ref = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(np.asarray(nn.standardize(x)), ref, rtol=1e-5, atol=1e-6)
    ref0 = (x64 - x64.mean(0)) / np.sqrt(x64.var(0) + 1e-5)
    np.testing.assert_allclose(np.asarray(nn.standardize(x, axis=0)), ref0, rtol=1e-5,
                               atol=1e-6)
    with pytest.warns(DeprecationWarning):
        np.testing.assert_allclose(np.asarray(nn.normalize(x)), ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(nn.glu(x)), x64[:, :3] * _np_sigmoid(x64[:, 3:]),
                               rtol=1e-6)


# ---------------------------------------------------------------------------------------
# Initializers


def test_constant_initializers(x64):
    key = random.PRNGKey(0)
    z = initializers.zeros(key, (2, 3))
    o = initializers.ones(key, (4,), np.float64)
    c = initializers.constant(2.5)(key, (2, 2))
    # the default dtype is the default float, float64 under x64 (as JAX's)
    assert z.shape == (2, 3) and z.dtype == np.float64 and not np.any(np.asarray(z))
    assert o.dtype == np.float64 and np.all(np.asarray(o) == 1)
    assert np.all(np.asarray(c) == 2.5)


@pytest.mark.parametrize("name,make,std", [
    ("glorot_uniform", initializers.glorot_uniform, math.sqrt(2 / 500)),
    ("glorot_normal", initializers.glorot_normal, math.sqrt(2 / 500)),
    ("xavier_normal", initializers.xavier_normal, math.sqrt(2 / 500)),
    ("he_uniform", initializers.he_uniform, math.sqrt(2 / 200)),
    ("he_normal", initializers.he_normal, math.sqrt(2 / 200)),
    ("kaiming_normal", initializers.kaiming_normal, math.sqrt(2 / 200)),
    ("lecun_uniform", initializers.lecun_uniform, math.sqrt(1 / 200)),
    ("lecun_normal", initializers.lecun_normal, math.sqrt(1 / 200)),
])
def test_variance_scaling_family(name, make, std):
    w = np.asarray(make()(random.PRNGKey(1), (200, 300)))
    assert w.shape == (200, 300) and w.dtype == np.float32
    assert abs(w.mean()) < 0.05 * std * 10
    np.testing.assert_allclose(w.std(), std, rtol=0.05)
    if "uniform" in name:
        assert np.abs(w).max() <= math.sqrt(3) * std * (1 + 1e-6)
    else:
        assert np.abs(w).max() <= 2 * std / 0.87962566103423978 * (1 + 1e-5)


def test_variance_scaling_conv_fans_and_errors():
    init = initializers.variance_scaling(2.0, "fan_in", "normal")
    w = np.asarray(init(random.PRNGKey(2), (3, 3, 40, 64)))
    np.testing.assert_allclose(w.std(), math.sqrt(2.0 / (9 * 40)), rtol=0.05)
    with pytest.raises(ValueError):
        initializers.variance_scaling(1.0, "fan_bad", "normal")
    with pytest.raises(ValueError):
        initializers.glorot_normal()(random.PRNGKey(0), (5,))


def test_normal_uniform_truncated():
    key = random.PRNGKey(3)
    n = np.asarray(initializers.normal(0.5)(key, (4000,)))
    np.testing.assert_allclose(n.std(), 0.5, rtol=0.06)
    u = np.asarray(initializers.uniform(2.0)(key, (4000,)))
    assert u.min() >= 0 and u.max() < 2.0 and abs(u.mean() - 1.0) < 0.1
    t = np.asarray(initializers.truncated_normal(1.0)(key, (4000,)))
    assert np.abs(t).max() <= 2.0


def test_orthogonal():
    w = np.asarray(initializers.orthogonal()(random.PRNGKey(4), (6, 4)), np.float64)
    np.testing.assert_allclose(w.T @ w, np.eye(4), atol=1e-5)
    w = np.asarray(initializers.orthogonal(2.0)(random.PRNGKey(4), (3, 5)), np.float64)
    np.testing.assert_allclose(w @ w.T, 4 * np.eye(3), atol=1e-4)
