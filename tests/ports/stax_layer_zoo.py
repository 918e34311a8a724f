"""The layers of `jax.example_libraries.stax` one by one, as its module docstring builds
networks from them: `GeneralConv` with several dimension numbers (channels first, a kernel
whose spatial dimensions are listed W before H, an output layout different from the input's),
explicit and 'SAME' padding with strides, `Conv1DTranspose`/`ConvTranspose`/
`GeneralConvTranspose`, `MaxPool`/`SumPool`/`AvgPool` with padding, strides and a `spec`,
`BatchNorm` over different axes with `center`/`scale` off, `Dropout` (whose `rate` is the keep
probability), `FanOut`/`parallel`/`FanInConcat`/`FanInSum`, `shape_dependent`, `Identity`,
`Flatten` and every elementwise layer. Each layer's `init_fun` output shape, its parameters
from a fixed key, and its `apply_fun` output are compared, and a gradient through a small
encoder-decoder."""
import jax
import jax.numpy as jnp
from jax import random
from jax.example_libraries import stax
from jax.example_libraries.stax import (
    AvgPool,
    BatchNorm,
    Conv,
    Conv1DTranspose,
    ConvTranspose,
    Dense,
    Dropout,
    Elu,
    Exp,
    FanInConcat,
    FanInSum,
    FanOut,
    Flatten,
    Gelu,
    GeneralConv,
    GeneralConvTranspose,
    Identity,
    LeakyRelu,
    LogSoftmax,
    MaxPool,
    Relu,
    Selu,
    Sigmoid,
    Softmax,
    Softplus,
    SumPool,
    Tanh,
)


def flat(tree):
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return jnp.zeros((0,), jnp.float32)
    return jnp.concatenate([jnp.ravel(v) for v in leaves])


def check(out, name, layer, x, key, **kwargs):
    init_fun, apply_fun = layer
    shape, params = init_fun(key, x.shape)
    y = apply_fun(params, x, **kwargs)
    out[f"{name}_shape"] = jnp.array(shape, jnp.int32)
    out[f"{name}_params"] = flat(params)
    out[f"{name}_out"] = y
    return params, y


def run():
    keys = random.split(random.PRNGKey(3), 24)
    nhwc = random.normal(keys[0], (2, 6, 5, 3))
    nchw = jnp.transpose(nhwc, (0, 3, 1, 2))
    out = {}
    # convolutions with unusual layouts
    check(out, "conv_nchw_same", GeneralConv(("NCHW", "OIHW", "NCHW"), 4, (3, 2),
                                             strides=(2, 1), padding="SAME"), nchw, keys[1])
    check(out, "conv_whio", GeneralConv(("NHWC", "WHIO", "NHWC"), 2, (2, 3), strides=(1, 2)),
          nhwc, keys[2])
    check(out, "conv_to_nchw", GeneralConv(("NHWC", "HWIO", "NCHW"), 3, (2, 2),
                                           padding=((1, 0), (0, 2))), nhwc, keys[3])
    check(out, "conv_hwio_stride", Conv(5, (3, 3), strides=(2, 2), padding="SAME"), nhwc,
          keys[4])
    # transposed convolutions
    seq = random.normal(keys[5], (2, 5, 3))
    check(out, "conv1d_t_same", Conv1DTranspose(4, (3,), strides=(2,), padding="SAME"), seq,
          keys[6])
    check(out, "conv1d_t_valid", Conv1DTranspose(2, (4,), strides=(3,)), seq, keys[7])
    check(out, "conv_t_valid", ConvTranspose(2, (3, 2), strides=(2, 1)), nhwc, keys[8])
    check(out, "conv_t_same", ConvTranspose(3, (2, 2), strides=(2, 2), padding="SAME"), nhwc,
          keys[9])
    check(out, "conv_t_nchw", GeneralConvTranspose(("NCHW", "OIHW", "NCHW"), 2, (3, 3),
                                                   strides=(1, 2), padding="SAME"), nchw,
          keys[10])
    # pooling
    check(out, "maxpool_same", MaxPool((2, 2), strides=(2, 1), padding="SAME"), nhwc, keys[0])
    check(out, "avgpool_same", AvgPool((3, 3), strides=(2, 2), padding="SAME"), nhwc, keys[0])
    check(out, "avgpool_valid", AvgPool((2, 3)), nhwc, keys[0])
    check(out, "sumpool_nchw", SumPool((2, 2), strides=(1, 2), spec="NCHW"), nchw, keys[0])
    check(out, "avgpool_nchw_same", AvgPool((3, 2), padding="SAME", spec="NCHW"), nchw,
          keys[0])
    check(out, "maxpool_1d", MaxPool((2,), strides=(2,), padding="SAME"), seq, keys[0])
    # batch norm variants
    check(out, "bn_default", BatchNorm(), nhwc, keys[11])
    check(out, "bn_axis0", BatchNorm(axis=0, beta_init=jax.nn.initializers.normal(0.5),
                                     gamma_init=jax.nn.initializers.uniform(2.0)),
          nhwc[:, :, 0, 0], keys[12])
    check(out, "bn_no_center", BatchNorm(axis=(0, 2), center=False,
                                         gamma_init=jax.nn.initializers.normal(1.0)),
          nhwc, keys[13])
    check(out, "bn_no_scale", BatchNorm(axis=(0, 1), scale=False,
                                        beta_init=jax.nn.initializers.normal(1.0)),
          seq, keys[14])
    check(out, "bn_neither", BatchNorm(axis=(0, 1, 2, 3), center=False, scale=False),
          nhwc, keys[15])
    # dropout: rate is the probability of keeping a unit
    drop = Dropout(0.75)
    check(out, "dropout_train", drop, nhwc[0, :, :, 0], keys[0], rng=keys[16])
    check(out, "dropout_test", Dropout(0.5, mode="test"), nhwc[0, :, :, 0], keys[0],
          rng=keys[16])
    # combinators
    x = random.normal(keys[17], (4, 6))
    block = stax.serial(FanOut(3), stax.parallel(Dense(5), Identity, stax.serial(Relu,
                                                                               Dense(2))),
                        FanInConcat(axis=-1))
    check(out, "fan_concat", block, x, keys[18])
    res = stax.serial(FanOut(2), stax.parallel(stax.serial(Dense(6), Tanh), Identity),
                      FanInSum)
    check(out, "fan_sum_residual", res, x, keys[19])
    concat0 = stax.serial(FanOut(2), stax.parallel(Identity, Exp), FanInConcat(axis=0))
    check(out, "fan_concat_axis0", concat0, x, keys[19])
    dyn = stax.shape_dependent(lambda shape: Dense(shape[-1] * 2))
    check(out, "shape_dependent", dyn, x, keys[20])
    check(out, "flatten", stax.serial(Conv(2, (2, 2)), Flatten, Dense(3)), nhwc, keys[21])
    # every elementwise layer
    z = jnp.linspace(-3.0, 3.0, 12).reshape(3, 4)
    for name, layer in [("tanh", Tanh), ("relu", Relu), ("exp", Exp), ("logsoftmax",
                        LogSoftmax), ("softmax", Softmax), ("softplus", Softplus),
                        ("sigmoid", Sigmoid), ("elu", Elu), ("leaky_relu", LeakyRelu),
                        ("selu", Selu), ("gelu", Gelu),
                        ("custom", stax.elementwise(jax.nn.leaky_relu, negative_slope=0.3))]:
        out[f"act_{name}"] = layer[1]((), z)
    # a small encoder-decoder with a gradient through transposed convolutions and pooling
    init_fun, apply_fun = stax.serial(
        Conv(4, (3, 3), padding="SAME"), Relu, MaxPool((2, 2), strides=(2, 2)),
        ConvTranspose(3, (2, 2), strides=(2, 2)), Gelu, AvgPool((2, 2), padding="SAME"))
    img = random.normal(keys[22], (2, 4, 6, 3))
    shape, params = init_fun(keys[23], img.shape)

    def recon_loss(params):
        return jnp.mean((apply_fun(params, img) - img) ** 2)

    out["autoencoder_shape"] = jnp.array(shape, jnp.int32)
    out["autoencoder_loss"] = recon_loss(params)
    out["autoencoder_grad"] = flat(jax.grad(recon_loss)(params))
    out["autoencoder_jit"] = jax.jit(apply_fun)(params, img)
    return out


if __name__ == "__main__":
    print(run())
