"""An Elman RNN written with `lax.scan`, run forwards and backwards (`reverse=True`) as a
bidirectional encoder, batched with `vmap` and trained a few steps with `grad` through the
scan."""
import jax
import jax.numpy as jnp
from jax import lax, random


def init_params(key, n_in, n_hidden, n_out):
    ks = random.split(key, 5)
    scale = 1.0 / jnp.sqrt(n_hidden)
    return {
        "w_xh": random.normal(ks[0], (n_in, n_hidden)) * 0.5,
        "w_hh": random.normal(ks[1], (n_hidden, n_hidden)) * scale,
        "b_h": jnp.zeros(n_hidden),
        "w_fwd": random.normal(ks[2], (n_hidden, n_out)) * scale,
        "w_bwd": random.normal(ks[3], (n_hidden, n_out)) * scale,
    }


def rnn(params, xs, reverse=False):
    def step(h, x):
        h = jnp.tanh(x @ params["w_xh"] + h @ params["w_hh"] + params["b_h"])
        return h, h

    h0 = jnp.zeros(params["w_hh"].shape[0])
    h_last, hs = lax.scan(step, h0, xs, reverse=reverse)
    return h_last, hs


def encode(params, xs):
    h_fwd, _ = rnn(params, xs)
    h_bwd, _ = rnn(params, xs, reverse=True)
    return h_fwd @ params["w_fwd"] + h_bwd @ params["w_bwd"]


def loss(params, xs_batch, targets):
    preds = jax.vmap(encode, in_axes=(None, 0))(params, xs_batch)
    return jnp.mean((preds - targets) ** 2)


@jax.jit
def sgd_step(params, xs_batch, targets):
    value, grads = jax.value_and_grad(loss)(params, xs_batch, targets)
    return jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, grads), value


def running_sum(xs):
    def step(c, x):
        c = c + x
        return c, c
    return lax.scan(step, 0.0, xs)


def run():
    k_params, k_x = random.split(random.PRNGKey(1))
    params = init_params(k_params, 3, 8, 2)
    xs_batch = random.normal(k_x, (4, 6, 3))
    targets = jnp.stack([xs_batch.sum(axis=(1, 2)), xs_batch[:, -1, 0]], axis=-1) * 0.3

    h_last, hs = rnn(params, xs_batch[0])
    h_first_rev, hs_rev = rnn(params, xs_batch[0], reverse=True)
    losses = []
    for _ in range(5):
        params, value = sgd_step(params, xs_batch, targets)
        losses.append(value)
    total, partial = running_sum(jnp.arange(1.0, 6.0))
    _, ys_none = lax.scan(lambda c, _: (c * 2.0, c), 1.0, None, length=5)
    return {
        "hs": hs,
        "h_last": h_last,
        "hs_reverse": hs_rev,
        "h_first_reverse": h_first_rev,
        "losses": jnp.stack(losses),
        "w_hh_after": params["w_hh"],
        "running_sum": partial,
        "total": total,
        "scan_without_xs": ys_none,
    }


if __name__ == "__main__":
    print(run())
