"""A small convolutional network written with `lax.conv_general_dilated` (NHWC/HWIO
dimension numbers, padding, strides) and `lax.reduce_window` max pooling, with the
gradient of its loss; plus `jax.nn.initializers.he_normal` and `lax.conv` in NCHW."""
import jax
import jax.numpy as jnp
from jax import lax, random


def conv(x, w, stride=1, padding="SAME"):
    return lax.conv_general_dilated(x, w, window_strides=(stride, stride), padding=padding,
                                    dimension_numbers=("NHWC", "HWIO", "NHWC"))


def max_pool(x):
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def init(key):
    k1, k2, k3 = random.split(key, 3)
    he = jax.nn.initializers.he_normal()
    return {"c1": he(k1, (3, 3, 1, 4)), "c2": he(k2, (3, 3, 4, 8)),
            "dense": he(k3, (2 * 2 * 8, 2))}


def forward(params, x):
    x = jax.nn.relu(conv(x, params["c1"]))
    x = max_pool(x)
    x = jax.nn.relu(conv(x, params["c2"], padding=((1, 1), (1, 1))))
    x = max_pool(x)
    return x.reshape(x.shape[0], -1) @ params["dense"]


def loss(params, x, y):
    logits = forward(params, x)
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))


def run():
    k_init, k_x = random.split(random.PRNGKey(9))
    params = init(k_init)
    x = random.uniform(k_x, (4, 8, 8, 1))
    y = jnp.array([0, 1, 1, 0])
    logits = jax.jit(forward)(params, x)
    value, grads = jax.jit(jax.value_and_grad(loss))(params, x, y)
    nchw = lax.conv(jnp.transpose(x, (0, 3, 1, 2)), jnp.transpose(params["c1"], (3, 2, 0, 1)),
                    (2, 2), "VALID")
    avg = lax.reduce_window(x, 0.0, lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID") / 4.0
    return {
        "logits": logits,
        "loss": value,
        "grad_c1": grads["c1"][:, :, 0, :],
        "grad_dense": grads["dense"],
        "conv_nchw": nchw[0, :, 1],
        "avg_pool": avg[0, :, :, 0],
    }


if __name__ == "__main__":
    print(run())
