"""Stax: neural-net layers as `(init_fun, apply_fun)` pairs, as `jax.example_libraries.stax`.

A layer constructor returns `init_fun(rng, input_shape) -> (output_shape, params)` and
`apply_fun(params, inputs, **kwargs) -> outputs`; combinators (`serial`, `parallel`, `FanOut`,
`FanInSum`, `FanInConcat`, `shape_dependent`) build bigger layers from smaller ones. This module
owns every layer of JAX's stax with the same names, signatures and numerics (JAX's traps kept
for compatibility: see `Dropout` and `BatchNorm`), plus layers JAX's stax lacks: `Embedding`,
`LayerNorm`, `SimpleRNN`, `LSTM`, `GRU` and `MultiHeadSelfAttention`.
"""
from __future__ import annotations

import functools
import inspect
import itertools
import math

import numpy as np

from funcgrad import dtypes, lax, random
from funcgrad import numpy as fnp
from funcgrad.nn import (
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    selu,
    sigmoid,
    softmax,
    softplus,
    standardize,
)
from funcgrad.nn.initializers import glorot_normal, normal, ones, zeros

__all__ = [
    "GRU",
    "LSTM",
    "AvgPool",
    "BatchNorm",
    "Conv",
    "Conv1D",
    "Conv1DTranspose",
    "ConvTranspose",
    "Dense",
    "Dropout",
    "Elu",
    "Embedding",
    "Exp",
    "FanInConcat",
    "FanInSum",
    "FanOut",
    "Flatten",
    "Gelu",
    "GeneralConv",
    "GeneralConvTranspose",
    "Identity",
    "LayerNorm",
    "LeakyRelu",
    "LogSoftmax",
    "MaxPool",
    "MultiHeadSelfAttention",
    "Relu",
    "Selu",
    "Sigmoid",
    "SimpleRNN",
    "Softmax",
    "Softplus",
    "SumPool",
    "Tanh",
    "elementwise",
    "parallel",
    "serial",
    "shape_dependent",
]

# Default initializers (JAX's stax calls these in its signatures).
_glorot_normal = glorot_normal()
_normal = normal()
_normal_1e_6 = normal(1e-6)
_normal_1 = normal(1.0)

# Aliases kept from JAX's stax for backwards compatibility.
glorot = glorot_normal
randn = normal
logsoftmax = log_softmax


# ---------------------------------------------------------------------------------------
# Shape helpers (static: computed from Python shapes, never traced)


def _spatial(spec: str, rhs_spec: str) -> list[int]:
    """Positions in `spec` of the spatial dimensions, in the order of the kernel's spec."""
    pos = [i for i, c in enumerate(spec) if c not in "NCIO"]
    return sorted(pos, key=lambda i: rhs_spec.index(spec[i]))


def _pads(in_sizes, window, strides, padding) -> list[tuple[int, int]]:
    """Explicit (low, high) padding per dimension for 'SAME', 'VALID' or explicit pairs."""
    if not isinstance(padding, str):
        return [tuple(int(v) for v in p) for p in padding]
    if padding.upper() == "VALID":
        return [(0, 0)] * len(in_sizes)
    if padding.upper() == "SAME":
        out = []
        for n, k, s in zip(in_sizes, window, strides):
            total = max((-(-n // s) - 1) * s + k - n, 0)
            out.append((total // 2, total - total // 2))
        return out
    raise ValueError(f"unknown padding {padding!r}: use 'SAME', 'VALID' or (low, high) pairs")


def _conv_transpose_pads(kernel, strides, padding) -> list[tuple[int, int]]:
    """Padding of the dilated-input convolution that computes a transposed convolution
    (the rule of JAX's `lax._conv_transpose_padding`)."""
    if not isinstance(padding, str):
        return [tuple(int(v) for v in p) for p in padding]
    out = []
    for k, s in zip(kernel, strides):
        if padding.upper() == "SAME":
            pad_len = k + s - 2
            pad_a = k - 1 if s > k - 1 else -(-pad_len // 2)
        elif padding.upper() == "VALID":
            pad_len = k + s - 2 + max(k - s, 0)
            pad_a = k - 1
        else:
            raise ValueError(f"padding must be 'SAME' or 'VALID' or pairs, got {padding!r}")
        out.append((pad_a, pad_len - pad_a))
    return out


def _conv_out_shape(input_shape, kernel_shape, dimension_numbers, out_chan, sizes_fn):
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    lhs_sp = _spatial(lhs_spec, rhs_spec)
    rhs_sp = _spatial(rhs_spec, rhs_spec)
    out_sp = _spatial(out_spec, rhs_spec)
    sizes = sizes_fn([input_shape[i] for i in lhs_sp], [kernel_shape[i] for i in rhs_sp])
    out = [0] * len(out_spec)
    out[out_spec.index("N")] = input_shape[lhs_spec.index("N")]
    out[out_spec.index("C")] = out_chan
    for i, n in zip(out_sp, sizes):
        out[i] = n
    return tuple(out)


def _kernel_shape(dimension_numbers, out_chan, filter_shape, input_shape):
    lhs_spec, rhs_spec, _ = dimension_numbers
    it = iter(filter_shape)
    return tuple(out_chan if c == "O" else input_shape[lhs_spec.index("C")] if c == "I"
                 else next(it) for c in rhs_spec)


# ---------------------------------------------------------------------------------------
# Dense and convolutions


def Dense(out_dim, W_init=_glorot_normal, b_init=_normal):
    """Fully-connected layer: `inputs @ W + b`, W of shape (in_dim, out_dim)."""
    def init_fun(rng, input_shape):
        output_shape = tuple(input_shape[:-1]) + (out_dim,)
        k1, k2 = random.split(rng)
        return output_shape, (W_init(k1, (input_shape[-1], out_dim)), b_init(k2, (out_dim,)))

    def apply_fun(params, inputs, **kwargs):
        W, b = params
        return fnp.dot(inputs, W) + b
    return init_fun, apply_fun


def GeneralConv(dimension_numbers, out_chan, filter_shape, strides=None, padding="VALID",
                W_init=None, b_init=_normal_1e_6):
    """Convolution with layouts `dimension_numbers = (lhs_spec, rhs_spec, out_spec)`, e.g.
    ('NHWC', 'HWIO', 'NHWC'); `padding` is 'SAME', 'VALID' or (low, high) pairs."""
    _, rhs_spec, out_spec = dimension_numbers
    one = (1,) * len(filter_shape)
    strides = tuple(strides or one)
    W_init = W_init or glorot_normal(rhs_spec.index("I"), rhs_spec.index("O"))

    def init_fun(rng, input_shape):
        kernel_shape = _kernel_shape(dimension_numbers, out_chan, filter_shape, input_shape)

        def sizes(ins, ks):
            pads = _pads(ins, ks, strides, padding)
            return [(n + lo + hi - k) // s + 1 for n, k, s, (lo, hi) in zip(ins, ks, strides,
                                                                             pads)]
        output_shape = _conv_out_shape(input_shape, kernel_shape, dimension_numbers, out_chan,
                                       sizes)
        bias_shape = tuple(out_chan if c == "C" else 1 for c in out_spec)
        k1, k2 = random.split(rng)
        return output_shape, (W_init(k1, kernel_shape), b_init(k2, bias_shape))

    def apply_fun(params, inputs, **kwargs):
        W, b = params
        return lax.conv_general_dilated(inputs, W, strides, padding, one, one,
                                        dimension_numbers=dimension_numbers) + b
    return init_fun, apply_fun


Conv = functools.partial(GeneralConv, ("NHWC", "HWIO", "NHWC"))
Conv1D = functools.partial(GeneralConv, ("NHC", "HIO", "NHC"))


def GeneralConvTranspose(dimension_numbers, out_chan, filter_shape, strides=None,
                         padding="VALID", W_init=None, b_init=_normal_1e_6):
    """Transposed ("fractionally strided") convolution, as `lax.conv_transpose` with
    `transpose_kernel=False` (JAX stax's choice): the input is dilated by `strides` and
    convolved with the kernel as stored, not spatially flipped. 'SAME' multiplies each spatial
    size by its stride; 'VALID' gives `in * s + max(k - s, 0)`."""
    _, rhs_spec, out_spec = dimension_numbers
    one = (1,) * len(filter_shape)
    strides = tuple(strides or one)
    W_init = W_init or glorot_normal(rhs_spec.index("I"), rhs_spec.index("O"))

    def init_fun(rng, input_shape):
        kernel_shape = _kernel_shape(dimension_numbers, out_chan, filter_shape, input_shape)

        def sizes(ins, ks):
            pads = _conv_transpose_pads(ks, strides, padding)
            return [(n - 1) * s + 1 + lo + hi - k + 1
                    for n, k, s, (lo, hi) in zip(ins, ks, strides, pads)]
        output_shape = _conv_out_shape(input_shape, kernel_shape, dimension_numbers, out_chan,
                                       sizes)
        bias_shape = tuple(out_chan if c == "C" else 1 for c in out_spec)
        k1, k2 = random.split(rng)
        return output_shape, (W_init(k1, kernel_shape), b_init(k2, bias_shape))

    def apply_fun(params, inputs, **kwargs):
        W, b = params
        return lax.conv_transpose(inputs, W, strides, padding,
                                  dimension_numbers=dimension_numbers) + b
    return init_fun, apply_fun


Conv1DTranspose = functools.partial(GeneralConvTranspose, ("NHC", "HIO", "NHC"))
ConvTranspose = functools.partial(GeneralConvTranspose, ("NHWC", "HWIO", "NHWC"))


# ---------------------------------------------------------------------------------------
# Normalisation


def BatchNorm(axis=(0, 1, 2), epsilon=1e-5, center=True, scale=True, beta_init=zeros,
              gamma_init=ones):
    """Batch normalisation over `axis` with learned shift `beta` and scale `gamma`.

    As in JAX's stax this keeps NO running statistics: it always normalises with the
    statistics of the batch it is given, in training and at test time alike. bfloat16 and
    float16 inputs are normalised in float32 and the result rounded once to their dtype
    (JAX's stax computes the statistics in the input's dtype)."""
    axis = (axis,) if np.ndim(axis) == 0 else tuple(axis)

    def init_fun(rng, input_shape):
        shape = tuple(d for i, d in enumerate(input_shape) if i not in axis)
        k1, k2 = random.split(rng)
        beta = beta_init(k1, shape) if center else ()
        gamma = gamma_init(k2, shape) if scale else ()
        return input_shape, (beta, gamma)

    def apply_fun(params, x, **kwargs):
        beta, gamma = params
        ed = tuple(None if i in axis else slice(None) for i in range(x.ndim))
        z = standardize(_at_least_f32(x), axis, epsilon=epsilon)
        if center and scale:
            z = gamma[ed] * z + beta[ed]
        elif center:
            z = z + beta[ed]
        elif scale:
            z = gamma[ed] * z
        return _round_back(z, x)
    return init_fun, apply_fun


def _at_least_f32(x):
    """bfloat16/float16 `x` as float32: batch statistics summed in 8 or 11 bits of mantissa
    lose the small deviations a normalisation exists to magnify."""
    x = fnp.asarray(x)
    if dtypes.is_float(x.dtype) and x.dtype.itemsize < 4:
        return x.astype(dtypes.float32)
    return x


def _round_back(z, x):
    """A result computed by `_at_least_f32` back in `x`'s 16-bit dtype."""
    if dtypes.is_float(x.dtype) and x.dtype.itemsize < 4 and z.dtype != x.dtype:
        return z.astype(x.dtype)
    return z


def LayerNorm(axis=-1, epsilon=1e-5, center=True, scale=True, beta_init=zeros,
              gamma_init=ones):
    """Layer normalisation over `axis` (per example) with learned `beta` and `gamma` of the
    shape of the normalised axes; bfloat16/float16 inputs as in `BatchNorm`. Not in JAX's
    stax."""
    axes = (axis,) if np.ndim(axis) == 0 else tuple(axis)

    def init_fun(rng, input_shape):
        ax = sorted(a % len(input_shape) for a in axes)
        shape = tuple(input_shape[a] for a in ax)
        k1, k2 = random.split(rng)
        beta = beta_init(k1, shape) if center else ()
        gamma = gamma_init(k2, shape) if scale else ()
        return input_shape, (beta, gamma)

    def apply_fun(params, x, **kwargs):
        beta, gamma = params
        ax = tuple(sorted(a % x.ndim for a in axes))
        bshape = tuple(d if i in ax else 1 for i, d in enumerate(x.shape))
        z = standardize(_at_least_f32(x), ax, epsilon=epsilon)
        if scale:
            z = z * fnp.reshape(gamma, bshape)
        if center:
            z = z + fnp.reshape(beta, bshape)
        return _round_back(z, x)
    return init_fun, apply_fun


# ---------------------------------------------------------------------------------------
# Elementwise layers


def elementwise(fun, **fun_kwargs):
    """Layer applying `fun(inputs, **fun_kwargs)`; no parameters."""
    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        return fun(inputs, **fun_kwargs)
    return init_fun, apply_fun


Tanh = elementwise(fnp.tanh)
Relu = elementwise(relu)
Exp = elementwise(fnp.exp)
LogSoftmax = elementwise(log_softmax, axis=-1)
Softmax = elementwise(softmax, axis=-1)
Softplus = elementwise(softplus)
Sigmoid = elementwise(sigmoid)
Elu = elementwise(elu)
LeakyRelu = elementwise(leaky_relu)
Selu = elementwise(selu)
Gelu = elementwise(gelu)


# ---------------------------------------------------------------------------------------
# Pooling


def _reduce_window(x, kind, window, strides, padding):
    """Max or sum over windows (the pooling reduction); `padding` as in `lax.reduce_window`."""
    reduce_window = getattr(lax, "reduce_window", None)
    if reduce_window is None:
        return _reduce_window_by_slices(x, kind, window, strides, padding)
    computation = lax.max if kind == "max" else lax.add
    if "init_value" in inspect.signature(reduce_window).parameters:
        init = -np.inf if kind == "max" else 0.0
        return reduce_window(x, init, computation, window, strides, padding)
    # funcgrad's lax.reduce_window has no init_value (padding holds the monoid's identity).
    return reduce_window(x, computation, window, strides, padding)


def _reduce_window_by_slices(x, kind, window, strides, padding):
    pads = _pads(x.shape, window, strides, padding)
    if any(lo or hi for lo, hi in pads):
        fill = -np.inf if kind == "max" else 0
        x = fnp.pad(x, pads, constant_values=fill)
    out = [(n - k) // s + 1 for n, k, s in zip(x.shape, window, strides)]
    acc = None
    for offs in itertools.product(*(range(k) for k in window)):
        idx = tuple(slice(o, o + (m - 1) * s + 1, s) for o, m, s in zip(offs, out, strides))
        part = x[idx]
        acc = part if acc is None else (fnp.maximum(acc, part) if kind == "max" else acc + part)
    return acc


def _pooling_layer(kind, average=False):
    def PoolingLayer(window_shape, strides=None, padding="VALID", spec=None):
        """Pooling layer over the spatial dimensions; `spec` (e.g. 'NHWC') names the layout,
        default batch first and channels last."""
        window_shape = tuple(window_shape)
        strides = tuple(strides or (1,) * len(window_shape))
        non_spatial = (0, len(window_shape) + 1) if spec is None else (
            spec.index("N"), spec.index("C"))
        window, stride = window_shape, strides
        for i in sorted(non_spatial):
            window = window[:i] + (1,) + window[i:]
            stride = stride[:i] + (1,) + stride[i:]

        def init_fun(rng, input_shape):
            pads = _pads(input_shape, window, stride, padding)
            out_shape = tuple((n + lo + hi - k) // s + 1 for n, k, s, (lo, hi)
                              in zip(input_shape, window, stride, pads))
            return out_shape, ()

        def apply_fun(params, inputs, **kwargs):
            out = _reduce_window(inputs, kind, window, stride, padding)
            if average:
                out = out / _window_counts(inputs.shape, non_spatial, window, stride, padding,
                                           out.dtype)
            return out
        return init_fun, apply_fun
    return PoolingLayer


def _window_counts(shape, non_spatial, window, strides, padding, dtype):
    """How many real (unpadded) inputs each output window covers, as a constant array."""
    unit = tuple(1 if i in non_spatial else d for i, d in enumerate(shape))
    pads = _pads(unit, window, strides, padding)
    ones_ = np.pad(np.ones(unit, np.float64), pads)
    out = [(n - k) // s + 1 for n, k, s in zip(ones_.shape, window, strides)]
    counts = np.zeros(out)
    for offs in itertools.product(*(range(k) for k in window)):
        counts += ones_[tuple(slice(o, o + (m - 1) * s + 1, s)
                              for o, m, s in zip(offs, out, strides))]
    return fnp.asarray(counts.astype(dtype))


MaxPool = _pooling_layer("max")
SumPool = _pooling_layer("sum")
AvgPool = _pooling_layer("sum", average=True)


# ---------------------------------------------------------------------------------------
# Shape layers, fan-in/fan-out, dropout


def _flatten():
    """Flattens all but the leading (batch) dimension."""
    def init_fun(rng, input_shape):
        return (input_shape[0], math.prod(input_shape[1:])), ()

    def apply_fun(params, inputs, **kwargs):
        return fnp.reshape(inputs, (inputs.shape[0], -1))
    return init_fun, apply_fun


Flatten = _flatten()


def _identity():
    """Returns its inputs unchanged."""
    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        return inputs
    return init_fun, apply_fun


Identity = _identity()


def FanOut(num):
    """Copies its input into a list of `num` outputs."""
    def init_fun(rng, input_shape):
        return [input_shape] * num, ()

    def apply_fun(params, inputs, **kwargs):
        return [inputs] * num
    return init_fun, apply_fun


def _fan_in_sum():
    """Sums a list of inputs of equal shapes."""
    def init_fun(rng, input_shape):
        return input_shape[0], ()

    def apply_fun(params, inputs, **kwargs):
        return sum(inputs[1:], inputs[0])
    return init_fun, apply_fun


FanInSum = _fan_in_sum()


def FanInConcat(axis=-1):
    """Concatenates a list of inputs along `axis`."""
    def init_fun(rng, input_shape):
        ax = axis % len(input_shape[0])
        size = sum(shape[ax] for shape in input_shape)
        first = tuple(input_shape[0])
        return first[:ax] + (size,) + first[ax + 1:], ()

    def apply_fun(params, inputs, **kwargs):
        return fnp.concatenate(inputs, axis)
    return init_fun, apply_fun


def Dropout(rate, mode="train"):
    """Inverted dropout. JAX's traps, kept for compatibility:

    - `rate` is the KEEP probability (rate=0.9 keeps 90% of the units, scaled by 1/rate);
    - in `mode='train'` `apply_fun` must get a PRNG key as `rng=`; `mode='test'` is identity.
    """
    if mode not in ("train", "test"):
        raise ValueError("Dropout layer requires `mode` argument to be either 'train' or "
                         "'test'")

    def init_fun(rng, input_shape):
        return input_shape, ()

    def apply_fun(params, inputs, **kwargs):
        if mode == "test":
            return inputs
        rng = kwargs.get("rng", None)
        if rng is None:
            raise ValueError(
                "Dropout layer requires apply_fun to be called with a PRNG key argument: "
                "instead of `apply_fun(params, inputs)`, call `apply_fun(params, inputs, "
                "rng=key)` with `key` from `funcgrad.random.PRNGKey`.")
        keep = random.bernoulli(rng, rate, inputs.shape)
        return fnp.where(keep, inputs / rate, fnp.zeros_like(inputs))
    return init_fun, apply_fun


# ---------------------------------------------------------------------------------------
# Combinators


def serial(*layers):
    """Composes layers in sequence; `rng=` given to `apply_fun` is split across layers."""
    nlayers = len(layers)
    init_funs, apply_funs = zip(*layers)

    def init_fun(rng, input_shape):
        params = []
        for init in init_funs:
            rng, layer_rng = random.split(rng)
            input_shape, param = init(layer_rng, input_shape)
            params.append(param)
        return input_shape, params

    def apply_fun(params, inputs, **kwargs):
        rng = kwargs.pop("rng", None)
        rngs = random.split(rng, nlayers) if rng is not None else (None,) * nlayers
        for fun, param, r in zip(apply_funs, params, rngs):
            inputs = fun(param, inputs, rng=r, **kwargs)
        return inputs
    return init_fun, apply_fun


def parallel(*layers):
    """Applies layer i to input i of a sequence of inputs (often between FanOut and FanIn).

    `init_fun` returns `(output_shapes, params)` as tuples (JAX returns a `zip` that unpacks
    the same way)."""
    nlayers = len(layers)
    init_funs, apply_funs = zip(*layers)

    def init_fun(rng, input_shape):
        rngs = random.split(rng, nlayers)
        pairs = [init(r, shape) for init, r, shape in zip(init_funs, rngs, input_shape)]
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)

    def apply_fun(params, inputs, **kwargs):
        rng = kwargs.pop("rng", None)
        rngs = random.split(rng, nlayers) if rng is not None else (None,) * nlayers
        return [f(p, x, rng=r, **kwargs) for f, p, x, r in zip(apply_funs, params, inputs, rngs)]
    return init_fun, apply_fun


def shape_dependent(make_layer):
    """Delays building a layer until the input shape is known: `make_layer(input_shape)`
    returns the `(init_fun, apply_fun)` pair."""
    def init_fun(rng, input_shape):
        return make_layer(input_shape)[0](rng, input_shape)

    def apply_fun(params, inputs, **kwargs):
        return make_layer(inputs.shape)[1](params, inputs, **kwargs)
    return init_fun, apply_fun


# ---------------------------------------------------------------------------------------
# Beyond JAX's stax: embeddings, recurrent layers, attention


def Embedding(vocab_size, features, embedding_init=_normal_1):
    """Looks up integer ids in a (vocab_size, features) table: output shape
    `input_shape + (features,)`. Not in JAX's stax."""
    def init_fun(rng, input_shape):
        return tuple(input_shape) + (features,), embedding_init(rng, (vocab_size, features))

    def apply_fun(params, inputs, **kwargs):
        return fnp.take(params, fnp.asarray(inputs), axis=0)
    return init_fun, apply_fun


def _recurrent(hidden, gates, step, W_init, b_init, n_state=1, two_biases=False):
    """A recurrent layer over (batch, time, features) inputs, scanned over time.

    `step(params, state, x_proj) -> state` maps a tuple of `n_state` (batch, hidden) arrays,
    hidden state first, and the precomputed input projection of one time step."""
    def init_fun(rng, input_shape):
        batch, time, features = input_shape
        k1, k2, k3, k4 = random.split(rng, 4)
        params = (W_init(k1, (features, gates * hidden)), W_init(k2, (hidden, gates * hidden)),
                  b_init(k3, (gates * hidden,)))
        if two_biases:
            params = params + (b_init(k4, (gates * hidden,)),)
        return (batch, time, hidden), params

    def apply_fun(params, inputs, **kwargs):
        W_i, b = params[0], params[2]
        x_proj = fnp.swapaxes(fnp.dot(inputs, W_i) + b, 0, 1)
        h0 = fnp.zeros((inputs.shape[0], hidden), inputs.dtype)

        def body(state, xp):
            state = step(params, state, xp)
            return state, state[0]
        _, hs = lax.scan(body, (h0,) * n_state, x_proj)
        return fnp.swapaxes(hs, 0, 1)
    return init_fun, apply_fun


def _rnn_step(params, state, xp):
    return (fnp.tanh(xp + fnp.dot(state[0], params[1])),)


def _lstm_step(params, state, xp):
    h, c = state
    i, f, g, o = fnp.split(xp + fnp.dot(h, params[1]), 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * fnp.tanh(g)
    return sigmoid(o) * fnp.tanh(c), c


def _gru_step(params, state, xp):
    h = state[0]
    xr, xz, xn = fnp.split(xp, 3, axis=-1)
    hr, hz, hn = fnp.split(fnp.dot(h, params[1]) + params[3], 3, axis=-1)
    r = sigmoid(xr + hr)
    z = sigmoid(xz + hz)
    n = fnp.tanh(xn + r * hn)
    return ((1 - z) * n + z * h,)


def SimpleRNN(hidden, W_init=_glorot_normal, b_init=zeros):
    """Elman RNN: h_t = tanh(x_t W_i + h_{t-1} W_h + b), h_0 = 0; params (W_i, W_h, b).
    Inputs (batch, time, features) -> all hidden states (batch, time, hidden)."""
    return _recurrent(hidden, 1, _rnn_step, W_init, b_init)


def LSTM(hidden, W_init=_glorot_normal, b_init=zeros):
    """LSTM; params (W_i (F, 4H), W_h (H, 4H), b (4H,)), gate blocks in order i, f, g, o:
    c_t = σ(f) c_{t-1} + σ(i) tanh(g), h_t = σ(o) tanh(c_t), h_0 = c_0 = 0.
    Inputs (batch, time, features) -> all hidden states (batch, time, hidden)."""
    return _recurrent(hidden, 4, _lstm_step, W_init, b_init, n_state=2)


def GRU(hidden, W_init=_glorot_normal, b_init=zeros):
    """GRU (PyTorch's formulation); params (W_i (F, 3H), W_h (H, 3H), b_i, b_h), blocks r, z, n:
    n = tanh(x W_in + b_in + r * (h W_hn + b_hn)), h_t = (1 - z) n + z h_{t-1}, h_0 = 0.
    Inputs (batch, time, features) -> all hidden states (batch, time, hidden)."""
    return _recurrent(hidden, 3, _gru_step, W_init, b_init, two_biases=True)


def MultiHeadSelfAttention(num_heads, head_dim=None, causal=False, W_init=_glorot_normal,
                           b_init=zeros):
    """Multi-head scaled dot-product self-attention over (batch, seq, features) inputs.

    `head_dim` defaults to features // num_heads. Params (W_qkv (F, 3·H·D), b_qkv, W_o (H·D, F),
    b_o). `causal=True` lets position i attend only to positions <= i; `apply_fun` also takes
    an optional boolean `mask=` broadcastable to (batch, heads, seq, seq), True = attend.
    Output shape equals the input shape."""
    def init_fun(rng, input_shape):
        features = input_shape[-1]
        d = head_dim or features // num_heads
        if d < 1 or (head_dim is None and features % num_heads):
            raise ValueError(f"MultiHeadSelfAttention: features={features} is not divisible "
                             f"by num_heads={num_heads}; pass head_dim explicitly")
        inner = num_heads * d
        k1, k2, k3, k4 = random.split(rng, 4)
        params = (W_init(k1, (features, 3 * inner)), b_init(k2, (3 * inner,)),
                  W_init(k3, (inner, features)), b_init(k4, (features,)))
        return tuple(input_shape), params

    def apply_fun(params, inputs, mask=None, **kwargs):
        W_qkv, b_qkv, W_o, b_o = params
        batch, seq, _ = inputs.shape
        d = W_qkv.shape[1] // (3 * num_heads)
        qkv = fnp.reshape(fnp.dot(inputs, W_qkv) + b_qkv, (batch, seq, 3, num_heads, d))
        qkv = fnp.transpose(qkv, (2, 0, 3, 1, 4))
        q, k, v = qkv[0], qkv[1], qkv[2]
        logits = fnp.matmul(q, fnp.swapaxes(k, -1, -2)) * (1 / math.sqrt(d))
        allowed = None
        if causal:
            allowed = fnp.asarray(np.tril(np.ones((seq, seq), bool)))
        if mask is not None:
            allowed = mask if allowed is None else fnp.logical_and(allowed, mask)
        if allowed is not None:
            logits = fnp.where(allowed, logits, fnp.full_like(logits, -np.inf))
        weights = softmax(logits, axis=-1)
        out = fnp.transpose(fnp.matmul(weights, v), (0, 2, 1, 3))
        return fnp.dot(fnp.reshape(out, (batch, seq, num_heads * d)), W_o) + b_o
    return init_fun, apply_fun
