"""An MLP classifier on `jax.nn`, trained with Adam written by hand over `jax.tree_util`
(the shape of JAX's "training a simple neural network" tutorial, without an optimiser
library)."""
import jax
import jax.numpy as jnp
from jax import random
from jax.tree_util import tree_leaves, tree_map


def init_mlp(key, sizes):
    params = []
    keys = random.split(key, len(sizes) - 1)
    for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:]):
        w_key, b_key = random.split(k)
        w = jax.nn.initializers.glorot_normal()(w_key, (n_in, n_out))
        b = 0.1 * random.normal(b_key, (n_out,))
        params.append({"w": w, "b": b})
    return params


def predict(params, x):
    for layer in params[:-1]:
        x = jax.nn.relu(jnp.dot(x, layer["w"]) + layer["b"])
    logits = x @ params[-1]["w"] + params[-1]["b"]
    return jax.nn.log_softmax(logits, axis=-1)


def loss_fn(params, x, y):
    one_hot = jax.nn.one_hot(y, 3)
    return -jnp.mean(jnp.sum(one_hot * predict(params, x), axis=-1))


def adam_init(params):
    return {"m": tree_map(jnp.zeros_like, params),
            "v": tree_map(jnp.zeros_like, params),
            "t": jnp.array(0)}


@jax.jit
def train_step(params, opt_state, x, y):
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
    t = opt_state["t"] + 1
    m = tree_map(lambda m, g: b1 * m + (1 - b1) * g, opt_state["m"], grads)
    v = tree_map(lambda v, g: b2 * v + (1 - b2) * g ** 2, opt_state["v"], grads)
    m_hat = tree_map(lambda m: m / (1 - b1 ** t), m)
    v_hat = tree_map(lambda v: v / (1 - b2 ** t), v)
    params = tree_map(lambda p, m, v: p - lr * m / (jnp.sqrt(v) + eps), params, m_hat, v_hat)
    return params, {"m": m, "v": v, "t": t}, loss


def make_data(key, n=96):
    centers = jnp.array([[2.0, 0.0, 0.0, 1.0], [-1.0, 2.0, 0.0, -1.0], [0.0, -2.0, 1.5, 0.0]])
    y = jnp.arange(n) % 3
    x = centers[y] + 0.8 * random.normal(key, (n, 4))
    return x, y


def run():
    data_key, init_key = random.split(random.PRNGKey(0))
    x, y = make_data(data_key)
    params = init_mlp(init_key, [4, 16, 16, 3])
    opt_state = adam_init(params)
    losses = []
    for _ in range(25):
        params, opt_state, loss = train_step(params, opt_state, x, y)
        losses.append(loss)
    accuracy = jnp.mean(jnp.argmax(predict(params, x), axis=-1) == y)
    return {
        "x_head": x[:4],
        "init_w0": init_mlp(init_key, [4, 16, 16, 3])[0]["w"],
        "losses": jnp.stack(losses),
        "accuracy": accuracy,
        "final_w2": params[2]["w"],
        "final_b1": params[1]["b"],
        "step_count": opt_state["t"],
        "n_leaves": len(tree_leaves(params)),
        "param_norm": jnp.sqrt(sum(jnp.sum(p ** 2) for p in tree_leaves(params))),
    }


if __name__ == "__main__":
    print(run())
