"""A classifier built with `jax.example_libraries.stax` and trained with
`jax.example_libraries.optimizers.adam` (JAX's example-libraries MNIST example, on a small
synthetic problem)."""
import jax
import jax.numpy as jnp
from jax import random
from jax.example_libraries import optimizers, stax
from jax.example_libraries.stax import Dense, LogSoftmax, Relu, Tanh


def make_data(key, n=64):
    x = random.normal(key, (n, 5))
    y = (x[:, 0] * x[:, 1] > 0).astype(jnp.int32) + (x[:, 2] > 1.0).astype(jnp.int32)
    return x, y


def run():
    k_data, k_init = random.split(random.PRNGKey(21))
    x, y = make_data(k_data)
    init_fun, predict = stax.serial(Dense(16), Relu, Dense(16), Tanh, Dense(3), LogSoftmax)
    out_shape, params = init_fun(k_init, (-1, 5))

    def loss(params, batch):
        inputs, targets = batch
        return -jnp.mean(jnp.sum(predict(params, inputs) * jax.nn.one_hot(targets, 3), axis=1))

    opt_init, opt_update, get_params = optimizers.adam(step_size=0.01)

    @jax.jit
    def update(i, opt_state, batch):
        params = get_params(opt_state)
        value, grads = jax.value_and_grad(loss)(params, batch)
        return opt_update(i, grads, opt_state), value

    opt_state = opt_init(params)
    losses = []
    for i in range(30):
        opt_state, value = update(i, opt_state, (x, y))
        losses.append(value)
    trained = get_params(opt_state)
    accuracy = jnp.mean(jnp.argmax(predict(trained, x), axis=1) == y)
    return {
        "labels": y,
        "out_shape": jnp.array(out_shape[1:]),
        "init_w0": params[0][0],
        "init_b4": params[4][1],
        "losses": jnp.stack(losses),
        "accuracy": accuracy,
        "trained_w4": trained[4][0],
    }


if __name__ == "__main__":
    print(run())
