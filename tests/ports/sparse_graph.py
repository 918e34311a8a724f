"""Sparse models as JAX users write them: a lasso fitted by subgradient descent from zero
weights (the L1 penalty's derivative at 0), a mean-absolute-error loss on integer-valued
targets, a graph layer with max aggregation over edges by `.at[].max` (messages that tie),
edge masks combined with `+` and `*` on booleans, padded neighbour lookups with
`.at[].get(mode="fill")`, `jnp.diff` of a boolean mask, and a `fori_loop` whose trip
count can be zero."""
import jax
import jax.numpy as jnp
from jax import lax, random


def lasso_loss(w, x, y, lam):
    return jnp.mean((x @ w - y) ** 2) + lam * jnp.sum(jnp.abs(w))


def mae(w, x, y):
    return jnp.mean(jnp.abs(jnp.round(x @ w) * 0.0 + x @ w - y))


def graph_max_layer(h, senders, receivers, w):
    messages = jnp.tanh(h[senders] @ w)
    agg = jnp.full((h.shape[0], w.shape[1]), -1.0).at[receivers].max(messages)
    return jnp.sum(agg ** 2)


def repeat_apply(x, n):
    return lax.fori_loop(0, n, lambda i, acc: acc + x[i], 0.0)


def run():
    k1, k2 = random.split(random.PRNGKey(8))
    x = random.normal(k1, (10, 4))
    y = x @ jnp.array([1.5, 0.0, 0.0, -2.0])
    w = jnp.zeros(4)
    grad_at_zero = jax.grad(lasso_loss)(w, x, y, 0.1)
    for _ in range(5):
        w = w - 0.1 * jax.grad(lasso_loss)(w, x, y, 0.1)
    x_int = jnp.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    mae_grad = jax.grad(mae)(jnp.array([2.0, 3.0]), x_int, jnp.array([2.0, 3.0, 4.0]))

    h = random.normal(k2, (5, 3))
    senders = jnp.array([0, 0, 1, 2, 3, 3, 4])
    receivers = jnp.array([1, 1, 2, 2, 4, 4, 0])     # duplicated edges send equal messages
    w_msg = jnp.eye(3)
    layer_grad_h, layer_grad_w = jax.grad(graph_max_layer, argnums=(0, 3))(h, senders, receivers,
                                                                          w_msg)
    t_max = jax.jvp(lambda u: jnp.zeros(2).at[jnp.array([0, 0, 1])].max(u),
                    (jnp.array([1.0, 1.0, -1.0]),), (jnp.array([1.0, 1.0, 1.0]),))[1]

    is_self = senders == receivers
    is_dup = jnp.concatenate([jnp.array([False]), (senders[1:] == senders[:-1]) & (receivers[1:] == receivers[:-1])])
    drop = is_self + is_dup
    keep_both = (senders < 4) * (receivers > 0)
    neighbours = jnp.arange(5.0).at[jnp.array([[1, 2], [4, 7]])].get(mode="fill", fill_value=-1.0)
    return {
        "lasso_grad_at_zero": grad_at_zero,
        "lasso_w": w,
        "mae_grad": mae_grad,
        "layer_grad_h": layer_grad_h,
        "layer_grad_w": layer_grad_w,
        "scatter_max_tangent": t_max,
        "drop_mask": drop,
        "keep_mask": keep_both,
        "mask_changes": jnp.diff(keep_both),
        "neighbours": neighbours,
        "loop_zero_trips": jnp.asarray(repeat_apply(jnp.arange(3.0), 0)),
        "loop_zero_trips_raw": repeat_apply(jnp.arange(3.0), 0),
        "loop_two_trips": repeat_apply(jnp.arange(3.0), 2),
    }


if __name__ == "__main__":
    print(run())
