"""Causal multi-head self-attention written head by head: a mask from `jnp.tril`, heads
mapped with `jax.vmap` over a middle axis (`in_axes`/`out_axes` other than 0),
`jax.nn.softmax(where=...)` against `jnp.where(mask, x, -jnp.inf)`, padding masks that
leave whole rows empty, layer norm, and `jax.value_and_grad(..., has_aux=True)` of a
next-token loss under `jit`."""
import jax
import jax.numpy as jnp
from jax import random


def layer_norm(x, gamma, beta, eps=1e-5):
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.var(x, axis=-1, keepdims=True)
    return gamma * (x - mean) * jax.lax.rsqrt(var + eps) + beta


def head(q, k, v, mask):
    # q, k, v: (T, d); one head.
    scores = jnp.einsum("td,sd->ts", q, k) / jnp.sqrt(q.shape[-1])
    weights = jax.nn.softmax(scores, axis=-1, where=mask)
    return jnp.einsum("ts,sd->td", weights, v), weights


def attention(params, x, mask):
    T, D = x.shape
    h = layer_norm(x, params["gamma"], params["beta"])
    q = jnp.einsum("td,dhk->thk", h, params["wq"])   # (T, H, dk): heads on axis 1
    k = jnp.einsum("td,dhk->thk", h, params["wk"])
    v = jnp.einsum("td,dhk->thk", h, params["wv"])
    out, weights = jax.vmap(head, in_axes=(1, 1, 1, None), out_axes=(1, 0))(q, k, v, mask)
    return x + jnp.einsum("thk,hkd->td", out, params["wo"]), weights


def loss_fn(params, x, targets, mask):
    y, weights = attention(params, x, mask)
    logits = y @ params["unembed"]
    logp = jax.nn.log_softmax(logits, axis=-1)
    nll = -jnp.take_along_axis(logp, targets[:, None], axis=-1).squeeze(-1)
    return jnp.mean(nll), (weights, logits)


def init(key, D=6, H=3, dk=2, V=5):
    ks = random.split(key, 5)
    n = lambda k, s: random.normal(k, s) / jnp.sqrt(s[0])
    return {"wq": n(ks[0], (D, H, dk)), "wk": n(ks[1], (D, H, dk)), "wv": n(ks[2], (D, H, dk)),
            "wo": n(ks[3], (H, dk, D)), "unembed": n(ks[4], (D, V)),
            "gamma": jnp.ones(D), "beta": jnp.zeros(D)}


def run():
    key = random.PRNGKey(3)
    params = init(key)
    T = 7
    x = random.normal(random.fold_in(key, 1), (T, 6))
    targets = random.randint(random.fold_in(key, 2), (T,), 0, 5)
    causal = jnp.tril(jnp.ones((T, T), dtype=bool))
    (loss, (weights, logits)), grads = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))(
        params, x, targets, causal)

    # The same scores masked by hand with -inf, and a key-padding mask with an empty row.
    scores = x @ x.T / jnp.sqrt(6.0)
    manual = jax.nn.softmax(jnp.where(causal, scores, -jnp.inf), axis=-1)
    padding = causal & (jnp.arange(T) < 5)[None, :] & (jnp.arange(T) > 0)[:, None]
    padded = jax.nn.softmax(scores, axis=-1, where=padding)
    padded_grad = jax.grad(lambda s: jnp.sum(jax.nn.softmax(s, where=padding) * s))(scores)
    # Batched over sequences of length 1 and 4 with vmap.
    batch = random.normal(random.fold_in(key, 3), (2, 4, 6))
    y4, _ = jax.vmap(attention, in_axes=(None, 0, None))(params, batch, jnp.tril(jnp.ones((4, 4), bool)))
    y1, w1 = attention(params, x[:1], jnp.ones((1, 1), bool))
    return {
        "loss": loss,
        "weights": weights,
        "logits": logits,
        "grad_wq": grads["wq"],
        "grad_wo": grads["wo"],
        "grad_gamma": grads["gamma"],
        "grad_beta": grads["beta"],
        "manual_mask": manual,
        "padded_softmax": padded,
        "padded_grad": padded_grad,
        "batched": y4,
        "length_one": y1,
        "length_one_weights": w1,
    }


if __name__ == "__main__":
    print(run())
