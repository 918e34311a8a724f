"""funcgrad.stax: every layer's output shape and numerics against direct NumPy computations
(convolution loops, pooling, normalisation, recurrent steps, attention), and the combinators."""
import math

import numpy as np
import pytest

import funcgrad as fg
from funcgrad import numpy as fnp
from funcgrad import random, stax

pytestmark = pytest.mark.core

KEY = random.PRNGKey(0)


def _init(layer, shape, key=KEY):
    out_shape, params = layer[0](key, shape)
    return tuple(out_shape) if isinstance(out_shape, (tuple, list)) and out_shape and \
        isinstance(out_shape[0], int) else out_shape, params


def _np(tree):
    return fg.tree.tree_map(lambda a: np.asarray(a, np.float64), tree)


def _rand(*shape, seed=0):
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)


def test_dense():
    layer = stax.Dense(4)
    shape, (W, b) = _init(layer, (3, 5))
    assert shape == (3, 4) and W.shape == (5, 4) and b.shape == (4,)
    x = _rand(3, 5)
    out = layer[1]((W, b), x)
    np.testing.assert_allclose(np.asarray(out), x @ np.asarray(W) + np.asarray(b), rtol=1e-5,
                               atol=1e-6)


def _np_conv2d(x, w, strides, pads):
    """Direct NHWC x HWIO convolution (cross-correlation) with explicit padding."""
    xp = np.pad(x.astype(np.float64), ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw = w.shape[:2]
    oh = (xp.shape[1] - kh) // strides[0] + 1
    ow = (xp.shape[2] - kw) // strides[1] + 1
    out = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * strides[0]:i * strides[0] + kh, j * strides[1]:j * strides[1] + kw]
            out[:, i, j] = np.einsum("nhwc,hwco->no", patch, w)
    return out


@pytest.mark.parametrize("hw,k,strides,padding,pads", [
    ((5, 6), (3, 3), (1, 1), "VALID", ((0, 0), (0, 0))),
    ((5, 6), (3, 2), (2, 2), "VALID", ((0, 0), (0, 0))),
    ((5, 6), (3, 3), (1, 1), "SAME", ((1, 1), (1, 1))),
    ((5, 6), (3, 3), (2, 2), "SAME", ((1, 1), (0, 1))),
    ((6, 5), (2, 4), (2, 3), "SAME", ((0, 0), (1, 1))),
    ((4, 4), (3, 3), (1, 2), ((2, 0), (1, 1)), ((2, 0), (1, 1))),
])
def test_conv_vs_numpy(hw, k, strides, padding, pads):
    layer = stax.Conv(3, k, strides, padding)
    shape, (W, b) = _init(layer, (2,) + hw + (2,))
    assert W.shape == k + (2, 3) and b.shape == (1, 1, 1, 3)
    x = _rand(2, *hw, 2)
    ref = _np_conv2d(x, np.asarray(W, np.float64), strides, pads) + np.asarray(b)
    assert shape == ref.shape
    out = layer[1]((W, b), x)
    assert out.shape == ref.shape
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-4, atol=1e-5)


def test_conv1d_and_general_conv_nchw():
    layer = stax.Conv1D(4, (3,), padding="SAME")
    shape, (W, b) = _init(layer, (2, 7, 3))
    x = _rand(2, 7, 3)
    ref = _np_conv2d(x[:, :, None], np.asarray(W)[:, None], (1, 1), ((1, 1), (0, 0)))[:, :, 0]
    assert shape == (2, 7, 4)
    np.testing.assert_allclose(np.asarray(layer[1]((W, b), x)), ref + np.asarray(b), rtol=1e-4,
                               atol=1e-5)
    layer = stax.GeneralConv(("NCHW", "OIHW", "NCHW"), 3, (2, 2))
    shape, (W, b) = _init(layer, (1, 2, 4, 4))
    assert shape == (1, 3, 3, 3) and W.shape == (3, 2, 2, 2) and b.shape == (1, 3, 1, 1)
    x = _rand(1, 2, 4, 4)
    ref = _np_conv2d(x.transpose(0, 2, 3, 1), np.asarray(W).transpose(2, 3, 1, 0), (1, 1),
                     ((0, 0), (0, 0))).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(np.asarray(layer[1]((W, b), x)), ref + np.asarray(b),
                               rtol=1e-4, atol=1e-5)


def _np_conv_transpose_1d(x, w, s, pad_a, out_len):
    """Scatter form of JAX's conv_transpose (no kernel flip): out[i*s + pad_a - k] += x[i] w[k]."""
    out = np.zeros((x.shape[0], out_len, w.shape[2]))
    for i in range(x.shape[1]):
        for k in range(w.shape[0]):
            o = i * s + pad_a - k
            if 0 <= o < out_len:
                out[:, o] += x[:, i] @ w[k]
    return out


@pytest.mark.parametrize("n,k,s,padding,out_len,pad_a", [
    (4, 3, 2, "VALID", 9, 2),
    (4, 3, 2, "SAME", 8, 2),
    (5, 2, 1, "VALID", 6, 1),
    (3, 4, 3, "SAME", 9, 3),
    (3, 2, 3, "VALID", 9, 1),
])
def test_conv1d_transpose_vs_numpy(n, k, s, padding, out_len, pad_a):
    layer = stax.Conv1DTranspose(2, (k,), (s,), padding)
    shape, (W, b) = _init(layer, (2, n, 3))
    assert shape == (2, out_len, 2) and W.shape == (k, 3, 2)
    x = _rand(2, n, 3)
    ref = _np_conv_transpose_1d(x.astype(np.float64), np.asarray(W, np.float64), s, pad_a,
                                out_len) + np.asarray(b)
    np.testing.assert_allclose(np.asarray(layer[1]((W, b), x)), ref, rtol=1e-4, atol=1e-5)


def test_conv_transpose_2d_shape_and_separable_case():
    layer = stax.ConvTranspose(2, (3, 2), (2, 1), "SAME")
    shape, (W, b) = _init(layer, (1, 3, 4, 1))
    assert shape == (1, 6, 4, 2)
    out = layer[1]((W, b), _rand(1, 3, 4, 1))
    assert out.shape == (1, 6, 4, 2)
    # A 1x1 input correlated with the unflipped kernel gives the kernel reversed.
    layer = stax.ConvTranspose(1, (2, 2), (1, 1), "VALID")
    shape, (W, b) = _init(layer, (1, 1, 1, 1))
    out = np.asarray(layer[1]((W, fnp.zeros_like(b)), np.ones((1, 1, 1, 1), np.float32)))
    np.testing.assert_allclose(out[0, :, :, 0], np.asarray(W)[::-1, ::-1, 0, 0], rtol=1e-6)


def _np_pool(x, window, strides, pads, kind):
    fill = -np.inf if kind == "max" else 0.0
    xp = np.pad(x.astype(np.float64), ((0, 0), pads[0], pads[1], (0, 0)), constant_values=fill)
    ones = np.pad(np.ones(x.shape[1:3]), pads)
    oh = (xp.shape[1] - window[0]) // strides[0] + 1
    ow = (xp.shape[2] - window[1]) // strides[1] + 1
    out = np.zeros((x.shape[0], oh, ow, x.shape[3]))
    for i in range(oh):
        for j in range(ow):
            sl = (slice(i * strides[0], i * strides[0] + window[0]),
                  slice(j * strides[1], j * strides[1] + window[1]))
            patch = xp[:, sl[0], sl[1]]
            if kind == "max":
                out[:, i, j] = patch.max(axis=(1, 2))
            elif kind == "sum":
                out[:, i, j] = patch.sum(axis=(1, 2))
            else:
                out[:, i, j] = patch.sum(axis=(1, 2)) / ones[sl].sum()
    return out


@pytest.mark.parametrize("kind,layer_fn", [("max", stax.MaxPool), ("sum", stax.SumPool),
                                           ("avg", stax.AvgPool)])
@pytest.mark.parametrize("window,strides,padding,pads", [
    ((2, 2), None, "VALID", ((0, 0), (0, 0))),
    ((2, 2), (2, 2), "VALID", ((0, 0), (0, 0))),
    ((3, 3), (2, 2), "SAME", ((1, 1), (0, 1))),
    ((2, 3), (1, 2), "SAME", ((0, 1), (0, 1))),
])
def test_pooling_vs_numpy(kind, layer_fn, window, strides, padding, pads):
    layer = layer_fn(window, strides, padding)
    x = _rand(2, 5, 4, 3)
    ref = _np_pool(x, window, strides or (1, 1), pads, kind)
    shape, params = _init(layer, x.shape)
    assert shape == ref.shape and params == ()
    np.testing.assert_allclose(np.asarray(layer[1](params, x)), ref, rtol=1e-5, atol=1e-6)


def test_pooling_nchw_spec():
    layer = stax.MaxPool((2, 2), spec="NCHW")
    x = _rand(1, 3, 4, 4)
    shape, _ = _init(layer, x.shape)
    assert shape == (1, 3, 3, 3)
    ref = _np_pool(x.transpose(0, 2, 3, 1), (2, 2), (1, 1), ((0, 0), (0, 0)), "max")
    np.testing.assert_allclose(np.asarray(layer[1]((), x)), ref.transpose(0, 3, 1, 2))


def test_batchnorm_uses_batch_statistics():
    layer = stax.BatchNorm(axis=(0, 1, 2))
    x = _rand(4, 3, 3, 2) * 3 + 1
    shape, (beta, gamma) = _init(layer, x.shape)
    assert shape == x.shape and beta.shape == (2,) and gamma.shape == (2,)
    beta, gamma = fnp.asarray([0.5, -1.0]), fnp.asarray([2.0, 3.0])
    x64 = x.astype(np.float64)
    z = (x64 - x64.mean((0, 1, 2))) / np.sqrt(x64.var((0, 1, 2)) + 1e-5)
    out = layer[1]((beta, gamma), x)
    np.testing.assert_allclose(np.asarray(out), z * [2.0, 3.0] + [0.5, -1.0], rtol=1e-4,
                               atol=1e-5)
    layer = stax.BatchNorm(axis=0, center=False, scale=False)
    shape, params = _init(layer, (5, 3))
    assert params == ((), ())
    y = _rand(5, 3)
    np.testing.assert_allclose(np.asarray(layer[1](params, y)),
                               (y - y.mean(0)) / np.sqrt(y.var(0) + 1e-5), rtol=1e-4, atol=1e-5)


def test_layernorm():
    layer = stax.LayerNorm()
    x = _rand(2, 3, 4)
    shape, (beta, gamma) = _init(layer, x.shape)
    assert shape == x.shape and beta.shape == (4,) and gamma.shape == (4,)
    g, b = _rand(4, seed=1), _rand(4, seed=2)
    x64 = x.astype(np.float64)
    z = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(np.asarray(layer[1]((b, g), x)), z * g + b, rtol=1e-4, atol=1e-5)
    layer = stax.LayerNorm(axis=(1, 2), center=False)
    shape, (beta, gamma) = _init(layer, x.shape)
    assert beta == () and gamma.shape == (3, 4)
    z = (x64 - x64.mean((1, 2), keepdims=True)) / np.sqrt(x64.var((1, 2), keepdims=True) + 1e-5)
    np.testing.assert_allclose(np.asarray(layer[1]((beta, gamma), x)), z, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("layer,ref", [
    (stax.Tanh, np.tanh), (stax.Relu, lambda x: np.maximum(x, 0)), (stax.Exp, np.exp),
    (stax.Sigmoid, lambda x: 1 / (1 + np.exp(-x))), (stax.Softplus, lambda x: np.logaddexp(x, 0)),
    (stax.Elu, lambda x: np.where(x > 0, x, np.expm1(x))),
    (stax.LeakyRelu, lambda x: np.where(x >= 0, x, 0.01 * x)),
    (stax.Softmax, lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    (stax.LogSoftmax, lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True))),
    (stax.Selu, lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(
        x))),
    (stax.Gelu, lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (
        x + 0.044715 * x ** 3)))),
])
def test_elementwise_layers(layer, ref):
    x = _rand(2, 5)
    shape, params = _init(layer, x.shape)
    assert shape == (2, 5) and params == ()
    np.testing.assert_allclose(np.asarray(layer[1](params, x)), ref(x.astype(np.float64)),
                               rtol=1e-5, atol=1e-6)


def test_flatten_identity_fan():
    x = _rand(2, 3, 4)
    shape, _ = _init(stax.Flatten, x.shape)
    assert shape == (2, 12)
    np.testing.assert_array_equal(np.asarray(stax.Flatten[1]((), x)), x.reshape(2, 12))
    assert _init(stax.Identity, x.shape)[0] == x.shape
    np.testing.assert_array_equal(np.asarray(stax.Identity[1]((), x)), x)
    shapes, _ = stax.FanOut(3)[0](KEY, (2, 4))
    assert shapes == [(2, 4)] * 3
    assert len(stax.FanOut(3)[1]((), x)) == 3
    assert stax.FanInSum[0](KEY, [(2, 4), (2, 4)])[0] == (2, 4)
    np.testing.assert_allclose(np.asarray(stax.FanInSum[1]((), [x, 2 * x, x])), 4 * x)
    cat = stax.FanInConcat(axis=1)
    assert cat[0](KEY, [(2, 3, 4), (2, 5, 4)])[0] == (2, 8, 4)
    y = _rand(2, 5, 4, seed=1)
    np.testing.assert_array_equal(np.asarray(cat[1]((), [x, y])), np.concatenate([x, y], 1))


def test_serial_parallel_shape_dependent():
    net = stax.serial(stax.Dense(8), stax.Relu, stax.Dense(3), stax.LogSoftmax)
    shape, params = net[0](KEY, (5, 4))
    assert shape == (5, 3) and len(params) == 4
    x = _rand(5, 4)
    (W1, b1), _, (W2, b2), _ = _np(params)
    h = np.maximum(x @ W1 + b1, 0) @ W2 + b2
    ref = h - np.log(np.exp(h).sum(-1, keepdims=True))
    np.testing.assert_allclose(np.asarray(net[1](params, x)), ref, rtol=1e-4, atol=1e-5)

    block = stax.serial(stax.FanOut(2), stax.parallel(stax.Dense(4), stax.Identity),
                        stax.FanInSum)
    shape, params = block[0](KEY, (3, 4))
    assert shape == (3, 4)
    (W, b), _ = _np(params[1])
    x = _rand(3, 4)
    np.testing.assert_allclose(np.asarray(block[1](params, x)), x @ W + b + x, rtol=1e-5,
                               atol=1e-6)

    layer = stax.shape_dependent(lambda s: stax.Dense(s[-1] * 2))
    shape, (W, b) = layer[0](KEY, (2, 3))
    assert shape == (2, 6) and W.shape == (3, 6)
    assert layer[1]((W, b), _rand(2, 3)).shape == (2, 6)


def test_dropout_traps():
    x = fnp.ones((200, 50))
    train = stax.Dropout(0.8)
    with pytest.raises(ValueError, match="PRNG key"):
        train[1]((), x)
    out = np.asarray(train[1]((), x, rng=random.PRNGKey(1)))
    kept = out != 0
    # rate is the KEEP probability (JAX's convention), survivors scaled by 1/rate.
    np.testing.assert_allclose(out[kept], 1 / 0.8, rtol=1e-6)
    assert abs(kept.mean() - 0.8) < 0.03
    test = stax.Dropout(0.8, mode="test")
    np.testing.assert_array_equal(np.asarray(test[1]((), x)), np.asarray(x))
    with pytest.raises(ValueError):
        stax.Dropout(0.5, mode="eval")
    net = stax.serial(stax.Dense(4), stax.Dropout(0.5))
    _, params = net[0](KEY, (3, 2))
    assert net[1](params, _rand(3, 2), rng=random.PRNGKey(2)).shape == (3, 4)


def test_embedding():
    layer = stax.Embedding(10, 3)
    shape, table = layer[0](KEY, (2, 4))
    assert shape == (2, 4, 3) and table.shape == (10, 3)
    ids = np.array([[0, 9, 3, 3], [1, 2, 0, 5]], np.int32)
    np.testing.assert_array_equal(np.asarray(layer[1](table, ids)), np.asarray(table)[ids])


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _run_np_rnn(step, x, hidden, n_state):
    state = tuple(np.zeros((x.shape[0], hidden)) for _ in range(n_state))
    hs = []
    for t in range(x.shape[1]):
        state = step(state, x[:, t])
        hs.append(state[0])
    return np.stack(hs, 1)


def test_simple_rnn_vs_numpy():
    layer = stax.SimpleRNN(5)
    x = _rand(2, 4, 3)
    shape, params = _init(layer, x.shape)
    assert shape == (2, 4, 5)
    Wi, Wh, b = _np(params)
    ref = _run_np_rnn(lambda s, xt: (np.tanh(xt @ Wi + s[0] @ Wh + b),), x, 5, 1)
    np.testing.assert_allclose(np.asarray(layer[1](params, x)), ref, rtol=1e-4, atol=1e-5)


def test_lstm_vs_numpy():
    layer = stax.LSTM(3)
    x = _rand(2, 5, 4)
    shape, params = _init(layer, x.shape)
    assert shape == (2, 5, 3)
    Wi, Wh, b = _np(params)
    assert Wi.shape == (4, 12) and Wh.shape == (3, 12) and b.shape == (12,)
    b = np.random.RandomState(3).randn(12)
    params = (params[0], params[1], fnp.asarray(b.astype(np.float32)))

    def step(state, xt):
        h, c = state
        i, f, g, o = np.split(xt @ Wi + h @ Wh + b, 4, axis=-1)
        c = _sig(f) * c + _sig(i) * np.tanh(g)
        return _sig(o) * np.tanh(c), c
    ref = _run_np_rnn(step, x, 3, 2)
    np.testing.assert_allclose(np.asarray(layer[1](params, x)), ref, rtol=1e-4, atol=1e-5)


def test_gru_vs_numpy():
    layer = stax.GRU(3)
    x = _rand(2, 4, 2)
    shape, params = _init(layer, x.shape)
    assert shape == (2, 4, 3) and len(params) == 4
    Wi, Wh, _, _ = _np(params)
    bi, bh = _rand(9, seed=4), _rand(9, seed=5)
    params = (params[0], params[1], bi, bh)

    def step(state, xt):
        h = state[0]
        xr, xz, xn = np.split(xt @ Wi + bi, 3, axis=-1)
        hr, hz, hn = np.split(h @ Wh + bh, 3, axis=-1)
        r, z = _sig(xr + hr), _sig(xz + hz)
        n = np.tanh(xn + r * hn)
        return ((1 - z) * n + z * h,)
    ref = _run_np_rnn(step, x, 3, 1)
    np.testing.assert_allclose(np.asarray(layer[1](params, x)), ref, rtol=1e-4, atol=1e-5)


def _np_attention(x, params, heads, causal):
    Wqkv, bqkv, Wo, bo = params
    B, S, _ = x.shape
    d = Wqkv.shape[1] // (3 * heads)
    qkv = (x @ Wqkv + bqkv).reshape(B, S, 3, heads, d)
    out = np.zeros((B, S, heads, d))
    for bi in range(B):
        for h in range(heads):
            q, k, v = qkv[bi, :, 0, h], qkv[bi, :, 1, h], qkv[bi, :, 2, h]
            logits = q @ k.T / math.sqrt(d)
            if causal:
                logits = np.where(np.tril(np.ones((S, S), bool)), logits, -np.inf)
            w = np.exp(logits - logits.max(-1, keepdims=True))
            w /= w.sum(-1, keepdims=True)
            out[bi, :, h] = w @ v
    return out.reshape(B, S, heads * d) @ Wo + bo


@pytest.mark.parametrize("causal", [False, True])
def test_attention_vs_numpy(causal):
    layer = stax.MultiHeadSelfAttention(2, causal=causal)
    x = _rand(2, 5, 6)
    shape, params = _init(layer, x.shape)
    assert shape == (2, 5, 6)
    assert params[0].shape == (6, 18) and params[2].shape == (6, 6)
    params = (params[0], _rand(18, seed=6), params[2], _rand(6, seed=7))
    ref = _np_attention(x.astype(np.float64), _np(params), 2, causal)
    np.testing.assert_allclose(np.asarray(layer[1](params, x)), ref, rtol=1e-4, atol=1e-5)
    if causal:
        x2 = x.copy()
        x2[:, -1] += 1.0
        out1, out2 = np.asarray(layer[1](params, x)), np.asarray(layer[1](params, x2))
        np.testing.assert_allclose(out1[:, :-1], out2[:, :-1], rtol=1e-6, atol=1e-6)


def test_attention_head_dim_and_errors():
    layer = stax.MultiHeadSelfAttention(3, head_dim=2)
    shape, params = _init(layer, (1, 4, 5))
    assert shape == (1, 4, 5) and params[0].shape == (5, 18) and params[2].shape == (6, 5)
    assert layer[1](params, _rand(1, 4, 5)).shape == (1, 4, 5)
    with pytest.raises(ValueError):
        stax.MultiHeadSelfAttention(2)[0](KEY, (1, 4, 5))


def test_grad_through_convnet_is_finite():
    net = stax.serial(stax.Conv(4, (3, 3), padding="SAME"), stax.BatchNorm(), stax.Relu,
                      stax.MaxPool((2, 2), (2, 2)), stax.AvgPool((2, 2), padding="SAME"),
                      stax.Flatten, stax.Dense(3), stax.LogSoftmax)
    _, params = net[0](KEY, (2, 6, 6, 1))
    x = _rand(2, 6, 6, 1)

    def loss(p):
        return -fnp.mean(net[1](p, x)[:, 0])
    grads = fg.grad(loss)(params)
    for g in fg.tree.tree_leaves(grads):
        assert np.all(np.isfinite(np.asarray(g)))
    val_jit = fg.jit(loss)(params)
    np.testing.assert_allclose(float(val_jit), float(loss(params)), rtol=1e-5)


def test_grad_through_recurrent_attention_stack_is_finite():
    net = stax.serial(stax.LSTM(4), stax.MultiHeadSelfAttention(2, causal=True),
                      stax.LayerNorm(), stax.GRU(2))
    _, params = net[0](KEY, (2, 3, 4))
    x = _rand(2, 3, 4)
    grads = fg.grad(lambda p: fnp.sum(net[1](p, x) ** 2))(params)
    for g in fg.tree.tree_leaves(grads):
        assert np.all(np.isfinite(np.asarray(g)))


@pytest.mark.parametrize("layer", [stax.SimpleRNN(3), stax.LSTM(3), stax.GRU(3)],
                         ids=["rnn", "lstm", "gru"])
def test_grad_through_recurrent_layers_matches_numerical(layer):
    x = _rand(2, 3, 4)
    _, params = layer[0](KEY, x.shape)

    def loss(p):
        return fnp.sum(layer[1](p, x) ** 2)
    grads = fg.grad(loss)(params)
    W_i = np.asarray(params[0], np.float64)
    direction = np.random.RandomState(8).randn(*W_i.shape)
    eps = 1e-3

    def at(delta):
        return float(loss((fnp.asarray((W_i + delta).astype(np.float32)),) + tuple(params[1:])))
    numerical = (at(eps * direction) - at(-eps * direction)) / (2 * eps)
    analytic = float(np.sum(np.asarray(grads[0]) * direction))
    np.testing.assert_allclose(analytic, numerical, rtol=2e-2, atol=1e-3)


@pytest.mark.parametrize("layer,shape", [
    (stax.LSTM(3), (2, 4, 3)), (stax.MultiHeadSelfAttention(2, causal=True), (2, 4, 6)),
    (stax.serial(stax.Conv(2, (2, 2)), stax.AvgPool((2, 2), padding="SAME")), (2, 4, 4, 1)),
])
def test_jit_and_vmap_agree_with_eager(layer, shape):
    _, params = layer[0](KEY, shape)
    x = _rand(*shape)
    eager = np.asarray(layer[1](params, x))
    np.testing.assert_allclose(np.asarray(fg.jit(layer[1])(params, x)), eager, rtol=1e-5,
                               atol=1e-6)
    per_example = fg.vmap(lambda xi: layer[1](params, xi[None])[0])(x)
    np.testing.assert_allclose(np.asarray(per_example), eager, rtol=1e-5, atol=1e-6)
