"""funcgrad.export.to_onnx: every example model family and a hypothesis sample of primitive
programs run in onnxruntime with funcgrad's outputs, at the traced batch size and at
another one (dynamic batch); primitives with their parameters (convolutions, pooling,
gathers, scans, loops, branches); clear errors for what cannot be exported.

The small stax models defined here (`MODELS`) are shared with test_export_c.py."""
from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax, nn, random, stax
from funcgrad.export import ExportError, to_onnx

RTOL, ATOL = 1e-4, 2e-5


# ---------------------------------------------------------------------------------------
# The example model families, small


def _rng(seed=0):
    return np.random.default_rng(seed)


def _normal(*shape, seed=0):
    return _rng(seed).normal(size=shape).astype(np.float32)


def _last_step():
    def init_fun(rng, input_shape):
        return (input_shape[0], input_shape[2]), ()

    def apply_fun(params, inputs, **kwargs):
        return inputs[:, -1]
    return init_fun, apply_fun


def _positional_embedding():
    def init_fun(rng, input_shape):
        return input_shape, random.normal(rng, tuple(input_shape[1:]))

    def apply_fun(params, inputs, **kwargs):
        return inputs + params
    return init_fun, apply_fun


def _residual(*layers):
    return stax.serial(stax.FanOut(2), stax.parallel(stax.Identity, stax.serial(*layers)),
                       stax.FanInSum)


def _transformer_block(heads, mlp_dim):
    def make(input_shape):
        features = input_shape[-1]
        return stax.serial(
            _residual(stax.LayerNorm(), stax.MultiHeadSelfAttention(heads)),
            _residual(stax.LayerNorm(), stax.Dense(mlp_dim), stax.Gelu, stax.Dense(features)))
    return stax.shape_dependent(make)


def _conv_block(c):
    return [stax.Conv(c, (3, 3), padding="SAME"), stax.BatchNorm(), stax.Relu]


def _digits(batch, seed):
    return _rng(seed).uniform(0, 1, size=(batch, 8, 8, 1)).astype(np.float32)


def _tokens(batch, seed):
    return _rng(seed).integers(0, 10, size=(batch, 6)).astype(np.int32)


# name -> (layers, input shape for init, example input maker)
_ZOO = {
    "mlp": (lambda: stax.serial(stax.Flatten, stax.Dense(32), stax.Relu, stax.Dense(32),
                                stax.Relu, stax.Dense(10), stax.LogSoftmax),
            (-1, 8, 8, 1), _digits),
    "cnn": (lambda: stax.serial(*_conv_block(4), *_conv_block(4),
                                stax.MaxPool((2, 2), strides=(2, 2)), *_conv_block(8),
                                stax.MaxPool((2, 2), strides=(2, 2)), stax.Flatten,
                                stax.Dropout(0.7, mode="test"), stax.Dense(10),
                                stax.LogSoftmax),
            (-1, 8, 8, 1), _digits),
    "gru": (lambda: stax.serial(stax.GRU(16), _last_step(), stax.Dense(10), stax.LogSoftmax),
            (-1, 8, 8), lambda b, s: _digits(b, s)[..., 0]),
    "lstm": (lambda: stax.serial(stax.LSTM(16), _last_step(), stax.Dense(10),
                                 stax.LogSoftmax),
             (-1, 8, 8), lambda b, s: _digits(b, s)[..., 0]),
    "transformer": (lambda: stax.serial(stax.Embedding(10, 16), _positional_embedding(),
                                        _transformer_block(2, 32), stax.LayerNorm(),
                                        stax.Dense(10), stax.LogSoftmax),
                    (-1, 6), _tokens),
    "autoencoder": (lambda: stax.serial(
        stax.serial(stax.Dense(32), stax.Relu, stax.Dense(32), stax.Relu, stax.Dense(4)),
        stax.serial(stax.Dense(32), stax.Relu, stax.Dense(32), stax.Relu, stax.Dense(64),
                    stax.Sigmoid)),
        (-1, 64), lambda b, s: _digits(b, s).reshape(b, 64)),
    "gan_generator": (lambda: stax.serial(stax.Dense(32), stax.LeakyRelu, stax.Dense(32),
                                          stax.LeakyRelu, stax.Dense(2)),
                      (-1, 16), lambda b, s: _normal(b, 16, seed=s)),
}


def make_model(name):
    """(predict function closing over random parameters, example-input maker)."""
    layers, shape, inputs = _ZOO[name]
    init_fun, apply_fun = layers()
    _, params = init_fun(random.PRNGKey(0), shape)

    def predict(x):
        return apply_fun(params, x)
    predict.__name__ = name
    return predict, inputs


MODELS = sorted(_ZOO)


# ---------------------------------------------------------------------------------------
# Helpers


def _session(model):
    ort = pytest.importorskip("onnxruntime")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


def _export(f, *args, **kw):
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    model = to_onnx(f, *args, **kw)
    onnx.checker.check_model(model)
    assert model.opset_import[0].version >= 17
    return model


def _run(model, *args):
    sess = _session(model)
    return sess.run(None, {f"in{k}": np.asarray(a) for k, a in enumerate(args)})


def _reference(f, *args, backend="reference"):
    """funcgrad's outputs: the NumPy reference backend (the semantic oracle, no compile) for
    single primitives, the default backend (what users run) for the models."""
    out = fg.jit(f, backend=backend)(*args)
    leaves = fg.tree_util.tree_leaves(out)
    return [np.asarray(o) for o in leaves]


def _assert_same(got, want, rtol=RTOL, atol=ATOL):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape, (g.shape, w.shape)
        assert g.dtype == w.dtype, (g.dtype, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def _check_batches(f, make, batches=(4, 7), backend="reference", **kw):
    """Export at the first batch size; onnxruntime equals funcgrad at every one."""
    model = _export(f, make(batches[0], 0), **kw)
    for k, b in enumerate(batches):
        x = make(b, k + 1)
        _assert_same(_run(model, x), _reference(f, x, backend=backend))
    return model


# ---------------------------------------------------------------------------------------
# Example models


@pytest.mark.parametrize("name", MODELS)
def test_models_match_at_two_batch_sizes(name):
    f, make = make_model(name)
    model = _check_batches(f, make, batches=(4, 9), backend=None)
    inp = model.graph.input[0].type.tensor_type.shape.dim
    assert inp[0].dim_param == "batch"
    # Parameters are initializers, not inputs.
    assert [i.name for i in model.graph.input] == ["in0"]
    assert len(model.graph.initializer) >= 2


def test_batch_one_export_runs_at_other_sizes():
    f, make = make_model("cnn")
    _check_batches(f, make, batches=(1, 5), backend=None)


def test_static_batch_keeps_the_shapes(tmp_path):
    onnx = pytest.importorskip("onnx")
    f, make = make_model("mlp")
    path = tmp_path / "mlp.onnx"
    model = _export(f, make(3, 0), dynamic_batch=False, path=path)
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [3, 8, 8, 1]
    assert onnx.load(str(path)).SerializeToString() == model.SerializeToString()
    x = make(3, 1)
    _assert_same(_run(model, x), _reference(f, x))


def test_batch_norm_in_inference_form():
    """stax.BatchNorm normalises with the batch's statistics, and that is what is exported
    (a batch-norm model's output depends on the whole batch). An inference function
    normalises with fixed statistics instead: then each example's output is its own."""
    rng = _rng(3)
    w = rng.normal(size=(3, 3, 1, 4)).astype(np.float32)
    mean, var = rng.normal(size=4).astype(np.float32), rng.uniform(0.5, 2, 4).astype(np.float32)
    gamma, beta = rng.normal(size=4).astype(np.float32), rng.normal(size=4).astype(np.float32)

    def infer(x):
        y = lax.conv_general_dilated(x, w, (1, 1), "SAME",
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
        y = gamma * (y - mean) * lax.rsqrt(var + 1e-5) + beta
        return fnp.max(nn.relu(y), axis=(1, 2))

    model = _check_batches(infer, _digits, batches=(8, 3))
    x = _digits(8, 5)
    full = _run(model, x)[0]
    one = _run(model, x[2:3])[0]
    np.testing.assert_allclose(one[0], full[2], rtol=1e-5, atol=1e-6)


def test_pytree_inputs_outputs_and_unbatched_argument():
    w = _normal(5, 3)

    def f(x, extra):
        return {"y": x @ w + extra["bias"], "n": fnp.sum(x * x, axis=1)}

    x, bias = _normal(4, 5), _normal(3, seed=1)
    model = _export(f, x, {"bias": bias}, dynamic_batch=(0,))
    assert [i.name for i in model.graph.input] == ["in0", "in1"]
    assert model.graph.input[0].doc_string == "x"
    for b in (4, 2):
        xb = _normal(b, 5, seed=b)
        _assert_same(_run(model, xb, bias), _reference(f, xb, {"bias": bias}))


def test_python_scalar_argument():
    def f(x, t):
        return x * t + 1.0

    model = _export(f, _normal(3, 2), 2.0)
    x = _normal(5, 2, seed=1)
    got = _run(model, x, np.asarray(0.5, np.float32))
    _assert_same(got, _reference(f, x, np.float32(0.5)))


# ---------------------------------------------------------------------------------------
# Primitives with parameters


def _conv_case(dn, strides, padding, rhs_dil, groups, lhs_dil=(1, 1)):
    lhs_spec, rhs_spec, _ = dn
    c_in, c_out = 4, 6
    wshape = {"OIHW": (c_out, c_in // groups, 3, 2), "HWIO": (3, 2, c_in // groups, c_out)}[
        rhs_spec]
    w = _normal(*wshape, seed=2)

    def f(x):
        return lax.conv_general_dilated(x, w, strides, padding, lhs_dilation=lhs_dil,
                                        rhs_dilation=rhs_dil, dimension_numbers=dn,
                                        feature_group_count=groups)

    def make(b, s):
        shape = (b, c_in, 9, 8) if lhs_spec == "NCHW" else (b, 9, 8, c_in)
        return _normal(*shape, seed=s)
    return f, make


@pytest.mark.parametrize("dn,strides,padding,rhs_dil,groups,lhs_dil", [
    (("NCHW", "OIHW", "NCHW"), (1, 1), "VALID", (1, 1), 1, (1, 1)),
    (("NHWC", "HWIO", "NHWC"), (2, 1), "SAME", (1, 1), 1, (1, 1)),
    (("NCHW", "OIHW", "NCHW"), (2, 2), ((1, 2), (0, 1)), (2, 1), 2, (1, 1)),
    (("NHWC", "HWIO", "NCHW"), (1, 2), ((2, -1), (1, 1)), (1, 2), 2, (1, 1)),
    (("NHWC", "HWIO", "NHWC"), (1, 1), ((1, 1), (2, 1)), (1, 1), 1, (2, 2)),
])
def test_convolutions(dn, strides, padding, rhs_dil, groups, lhs_dil):
    f, make = _conv_case(dn, strides, padding, rhs_dil, groups, lhs_dil)
    _check_batches(f, make, batches=(2, 3))


@pytest.mark.parametrize("layer", [
    lambda: stax.MaxPool((2, 2), strides=(2, 2)),
    lambda: stax.MaxPool((3, 2), strides=(1, 2), padding="SAME"),
    lambda: stax.AvgPool((2, 3), strides=(2, 1)),
    lambda: stax.SumPool((3, 3), padding="SAME"),
    lambda: stax.ConvTranspose(3, (3, 3), strides=(2, 2), padding="SAME"),
])
def test_pooling_and_transposed_conv_layers(layer):
    init_fun, apply_fun = stax.serial(layer(), stax.Tanh)
    _, params = init_fun(random.PRNGKey(1), (-1, 6, 7, 2))
    _check_batches(lambda x: apply_fun(params, x),
                   lambda b, s: _normal(b, 6, 7, 2, seed=s), batches=(2, 3))


def test_min_pooling_and_windows_over_other_axes():
    def f(x):
        a = lax.reduce_window(x, np.inf, lax.min, (1, 2, 1), (1, 1, 1), "VALID")
        b = lax.reduce_window(x, -np.inf, lax.max, (1, 2, 3), (1, 1, 2), "SAME")
        return a, b
    _check_batches(f, lambda b, s: _normal(b, 5, 6, seed=s), batches=(3, 4))


_ACTIVATIONS = ("celu", "elu", "gelu", "glu", "hard_sigmoid", "hard_silu", "hard_swish",
                "hard_tanh", "identity", "leaky_relu", "log_sigmoid", "log_softmax",
                "logmeanexp", "logsumexp", "mish", "relu", "relu6", "selu", "sigmoid", "silu",
                "soft_sign", "softmax", "softplus", "sparse_plus", "sparse_sigmoid",
                "squareplus", "standardize", "swish", "tanh")


def test_activations_softmax_and_attention():
    """Every activation of funcgrad.nn, softmax and friends, attention, one_hot."""
    def f(x):
        outs = [getattr(nn, name)(x) for name in _ACTIVATIONS]
        outs += [nn.gelu(x, approximate=False), nn.log1mexp(fnp.abs(x) + 0.1),
                 nn.one_hot(fnp.argmax(x, axis=1), 12)]
        q = x.reshape(x.shape[0], 2, 3, 2)
        outs += [nn.dot_product_attention(q, q, q),
                 nn.dot_product_attention(q, q, q, is_causal=True)]
        return outs
    _check_batches(f, lambda b, s: _normal(b, 12, seed=s), batches=(3, 5))


def test_indexing_gathers_and_slices():
    table = fnp.asarray(_normal(10, 4, seed=3))

    def f(x, idx):
        emb = table[idx]                                        # embedding gather
        picked = fnp.take_along_axis(x, idx[:, :2] % 5, axis=1)
        dyn = lax.dynamic_slice(x, (1, idx[0, 0] % 3), (2, 2))
        upd = lax.dynamic_update_slice(x, fnp.ones((1, 2), x.dtype), (0, idx[0, 1] % 4))
        scat = x.at[:, idx[0, 0] % 5].add(1.0)
        dropped = x.at[:, idx[0, 1] + 3].set(7.0)        # out of bounds for some: dropped
        return (emb, picked, dyn, upd, scat, dropped, x[:, 1:4:2], x[:, ::-1], x.T,
                fnp.pad(x, ((0, 0), (2, 1))), lax.pad(x, 0.5, ((0, 0, 0), (-1, 2, 1))),
                fnp.concatenate([x, 2 * x], axis=1), x.reshape(-1))

    def make(b, s):
        return (_normal(b, 5, seed=s), _rng(s).integers(0, 10, size=(b, 3)).astype(np.int32))
    model = _export(f, *make(4, 0))
    for b in (4, 6):
        args = make(b, b)
        _assert_same(_run(model, *args), _reference(f, *args))


def test_reductions_sort_and_integer_ops():
    def f(x, n):
        xs = fnp.sort(x, axis=1)
        return (fnp.sum(x, 1), fnp.max(x, 0), fnp.min(x, 1), fnp.prod(x, 1), fnp.mean(x),
                fnp.argmax(x, 1), fnp.argmin(x, 0), fnp.cumsum(x, 1), xs,
                lax.cumsum(x, 1, reverse=True), n // 3, n % 3, -n, n > 2, (n > 2) & (n < 7),
                x.astype(np.int32), n.astype(np.float32) / 2, fnp.clip(x, -0.5, 0.5),
                fnp.expm1(x), fnp.log1p(fnp.abs(x)), fnp.arctan2(x, x + 0.5), fnp.round(x * 3),
                fnp.remainder(x, 0.7), fnp.where(x > 0, x, 0.1 * x), fnp.any(x > 1, axis=1))

    def make(b, s):
        return _normal(b, 5, seed=s), _rng(s).integers(-9, 9, size=(b, 5)).astype(np.int32)
    model = _export(f, *make(4, 0))
    for b in (4, 3):
        args = make(b, b)
        _assert_same(_run(model, *args), _reference(f, *args))


def test_control_flow_scan_while_and_switch():
    w = _normal(4, 4, seed=4) * 0.5

    def f(x, k):
        def step(h, xt):
            h = fnp.tanh(h @ w + xt)
            return h, h.sum(1)
        h, ys = lax.scan(step, fnp.zeros_like(x[:, 0]), fnp.swapaxes(x, 0, 1))
        h2, ys2 = lax.scan(step, h, fnp.swapaxes(x, 0, 1), reverse=True)
        n = lax.while_loop(lambda c: c[0] < 5.0, lambda c: (c[0] + 1.5, c[1] * 1.1),
                           (fnp.zeros((), x.dtype), h2))
        s = lax.switch(k, [lambda a: a + 1, lambda a: a * 2, lambda a: -a], h2)
        c = lax.fori_loop(0, 3, lambda i, a: a + i, h)
        return h, ys, ys2, n[0], n[1], s, c

    model = _export(f, _normal(3, 5, 4), np.int32(0))
    for k in (0, 1, 2, 7, -1):
        for b in (3, 2):
            xb = _normal(b, 5, 4, seed=b)
            _assert_same(_run(model, xb, np.asarray(k, np.int32)),
                         _reference(f, xb, np.int32(k)))


def test_sizes_and_literals_that_follow_the_batch():
    """A scan over the batch axis (its length is the batch), an index computed from
    x.shape[0], a mean over the batch (its 1/n), reshapes that merge and split it."""
    def f(x):
        c, ys = lax.scan(lambda c, xt: (c + xt.sum(), c * xt), 0.0, x)
        last = lax.dynamic_slice(x, (x.shape[0] - 2, 0), (2, 3))
        merged = x.reshape(-1)[None] * 2
        split = x.reshape(x.shape[0], 3, 1).transpose(1, 0, 2).reshape(3, -1)
        return c, ys, last, fnp.mean(x, axis=0), merged, split, fnp.cumsum(x, 0)
    _check_batches(f, lambda b, s: _normal(b, 3, seed=s), batches=(4, 7))
    _check_batches(f, lambda b, s: _normal(b, 3, seed=s), batches=(2, 9))


def test_opset_18_bitwise():
    def f(n):
        return n & 6, n | 1, n ^ 3, ~n
    n = _rng(1).integers(-9, 9, size=(4, 3)).astype(np.int32)
    with pytest.raises(ExportError, match="opset 18"):
        to_onnx(f, n)
    model = _export(f, n, opset=18)
    _assert_same(_run(model, n), _reference(f, n))


def test_shifts():
    def f(n, u, s):
        su = s.astype(np.uint32)
        return (lax.shift_left(n, s), lax.shift_right_logical(n, s), lax.shift_left(u, su),
                lax.shift_right_logical(u, su))
    rng = _rng(2)
    n = rng.integers(-2 ** 31, 2 ** 31 - 1, size=(3, 8)).astype(np.int32)
    u = n.view(np.uint32)
    s = np.tile(np.array([-1, 0, 1, 5, 17, 31, 32, 40], np.int32), (3, 1))
    model = _export(f, n, u, s)
    _assert_same(_run(model, n, u, s), _reference(f, n, u, s))


# ---------------------------------------------------------------------------------------
# Hypothesis: chains of primitive operations


def _ops():
    w = _normal(6, 3, seed=9)
    return [
        ("tanh", fnp.tanh), ("exp", lambda x: fnp.exp(fnp.clip(x, -5, 5))),
        ("log", lambda x: fnp.log(fnp.abs(x) + 1)), ("sqrt", lambda x: fnp.sqrt(fnp.abs(x))),
        ("sin", fnp.sin), ("sigmoid", nn.sigmoid), ("erf", lax.erf), ("abs", fnp.abs),
        ("neg", lambda x: -x), ("floor", fnp.floor), ("sign", fnp.sign),
        ("rsqrt", lambda x: lax.rsqrt(fnp.abs(x) + 1)), ("relu", nn.relu),
        ("softplus", nn.softplus), ("cube", lambda x: x ** 3),
        ("pow", lambda x: fnp.power(fnp.abs(x), 1.5)), ("affine", lambda x: 2 * x + 1),
        ("div", lambda x: x / (fnp.abs(x) + 1)), ("max", lambda x: fnp.maximum(x, 0.1)),
        ("select", lambda x: fnp.where(x > 0, x, -0.5 * x)),
        ("softmax", lambda x: nn.softmax(x, axis=-1)),
        ("log_softmax", lambda x: nn.log_softmax(x, axis=-1)),
        ("sum", lambda x: fnp.sum(x, axis=1, keepdims=True)),
        ("maxred", lambda x: fnp.max(x, axis=1, keepdims=True)),
        ("mean0", lambda x: x - fnp.mean(x, axis=0)),
        ("standardize", lambda x: nn.standardize(x, axis=-1)),
        ("concat", lambda x: fnp.concatenate([x, x[:, :1]], axis=1)),
        ("stride", lambda x: x[:, ::2]), ("flip", lambda x: x[:, ::-1]),
        ("pad", lambda x: fnp.pad(x, ((0, 0), (1, 0)))), ("cumsum", lambda x: fnp.cumsum(x, 1)),
        ("sort", lambda x: fnp.sort(x, axis=1)),
        ("cast", lambda x: (x * 4).astype(np.int32).astype(np.float32)),
        ("transpose", lambda x: fnp.transpose(fnp.transpose(x) * 2)),
        ("matmul", lambda x: fnp.pad(x, ((0, 0), (0, max(0, 6 - x.shape[1]))))[:, :6] @ w),
        ("reshape", lambda x: x.reshape(x.shape[0], -1, 1).sum(-1)),
        ("argmax", lambda x: fnp.argmax(x, axis=1)[:, None].astype(np.float32)),
    ]


_OPS = _ops()


@given(ops=st.lists(st.sampled_from(range(len(_OPS))), min_size=1, max_size=3),
       n=st.integers(1, 6), b0=st.integers(1, 5), b1=st.integers(1, 6),
       seed=st.integers(0, 1000))
def test_hypothesis_primitive_programs(ops, n, b0, b1, seed):
    chain = [_OPS[k][1] for k in ops]

    def f(x):
        for g in chain:
            x = g(x)
        return x
    f.__name__ = "+".join(_OPS[k][0] for k in ops)
    model = _export(f, _normal(b0, n, seed=seed))
    for b in (b0, b1):
        x = _normal(b, n, seed=seed + b)
        _assert_same(_run(model, x), _reference(f, x, backend="reference"),
                     rtol=2e-4, atol=5e-5)


# ---------------------------------------------------------------------------------------
# Errors


def test_unsupported_primitive_names_it_and_the_equation():
    pytest.importorskip("onnx")

    def f(x):
        return fnp.linalg.cholesky(x @ x.T + 3 * fnp.eye(x.shape[0]))
    with pytest.raises(ExportError) as e:
        to_onnx(f, _normal(3, 3), dynamic_batch=False)
    msg = str(e.value)
    assert "'cholesky'" in msg and "f32[3,3]" in msg and "Supported primitives" in msg


def test_callback_is_unsupported():
    pytest.importorskip("onnx")

    def f(x):
        return fg.pure_callback(lambda a: np.sin(a), fg.ShapeDtypeStruct(x.shape, x.dtype), x)
    with pytest.raises(ExportError, match="pure_callback"):
        to_onnx(f, _normal(2, 3))


def test_structure_that_depends_on_the_batch_is_refused():
    pytest.importorskip("onnx")

    def f(x):
        return fnp.tanh(x) if x.shape[0] > 4 else fnp.sin(x)
    with pytest.raises(ExportError, match="dynamic_batch=False"):
        to_onnx(f, _normal(4, 3))
    model = _export(f, _normal(4, 3), dynamic_batch=False)
    x = _normal(4, 3, seed=1)
    _assert_same(_run(model, x), _reference(f, x))


def test_non_affine_size_is_refused():
    pytest.importorskip("onnx")
    with pytest.raises(ExportError, match=r"a \* batch \+ c"):
        to_onnx(lambda x: x[: x.shape[0] // 2], _normal(4, 3))


def test_constant_built_from_the_batch_is_refused():
    pytest.importorskip("onnx")

    def f(x):
        return x * np.arange(x.shape[0], dtype=np.float32)[:, None]
    with pytest.raises(ExportError, match="changes with the batch size"):
        to_onnx(f, _normal(4, 3))


def test_bad_inputs_are_refused():
    pytest.importorskip("onnx")
    with pytest.raises(ExportError, match="input x is a str"):
        to_onnx(lambda x: x, "hello")
    with pytest.raises(ExportError, match="leading sizes differ"):
        to_onnx(lambda x, y: x + y[:2], _normal(2, 3), _normal(3, 3))
    with pytest.raises(ExportError, match="give example arguments"):
        to_onnx(lambda: 1.0)
    with pytest.raises(ExportError, match="opset"):
        to_onnx(lambda x: x, _normal(2), opset=13)


def test_command_line(tmp_path, monkeypatch, capsys):
    onnx = pytest.importorskip("onnx")
    from funcgrad import io
    from funcgrad.export.__main__ import main
    (tmp_path / "tiny_model.py").write_text(
        "from funcgrad import stax\n"
        "init_fun, apply_fun = stax.serial(stax.Dense(5), stax.Relu, stax.Dense(2))\n"
        "def predict(params, x):\n"
        "    return apply_fun(params, x)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    tiny = importlib.import_module("tiny_model")
    _, params = tiny.init_fun(random.PRNGKey(0), (-1, 3))
    io.save(str(tmp_path / "p.npz"), params)
    out = tmp_path / "m.onnx"
    assert main(["tiny_model:predict", "--params", "p.npz", "--input", "2,3",
                 "--onnx", str(out)]) == 0
    model = onnx.load(str(out))
    x = _normal(6, 3)
    _assert_same(_run(model, x), _reference(lambda x: tiny.predict(params, x), x))
    dot = tmp_path / "m.dot"
    assert main([os.path.join(str(tmp_path), "tiny_model.py") + ":predict", "--params",
                 "p.npz", "--input", "2,3", "--dot", str(dot)]) == 0
    assert "dot_general" in dot.read_text()
    assert main(["tiny_model:predict", "--input", "2,3"]) == 2       # nothing to write
    with pytest.raises(SystemExit):
        main(["tiny_model:predict", "--input", "2,x", "--onnx", str(out)])
    assert "expected a shape" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "funcgrad.io" in capsys.readouterr().out
