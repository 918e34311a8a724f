"""A pre-LayerNorm transformer block: multi-head causal self-attention written with
`einsum`, a GELU MLP, residual connections, then a next-token loss and its gradient."""
import jax
import jax.numpy as jnp
from jax import random

D_MODEL, N_HEADS, D_FF, VOCAB = 16, 4, 32, 11


def layer_norm(x, scale, bias, eps=1e-5):
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.var(x, axis=-1, keepdims=True)
    return (x - mean) * jax.lax.rsqrt(var + eps) * scale + bias


def init(key):
    ks = random.split(key, 7)
    init_w = jax.nn.initializers.normal(stddev=0.2)
    return {
        "embed": init_w(ks[0], (VOCAB, D_MODEL)),
        "pos": init_w(ks[1], (8, D_MODEL)),
        "qkv": init_w(ks[2], (D_MODEL, 3 * D_MODEL)),
        "proj": init_w(ks[3], (D_MODEL, D_MODEL)),
        "ff1": init_w(ks[4], (D_MODEL, D_FF)),
        "ff2": init_w(ks[5], (D_FF, D_MODEL)),
        "ln1": (jnp.ones(D_MODEL), jnp.zeros(D_MODEL)),
        "ln2": (jnp.ones(D_MODEL), jnp.zeros(D_MODEL)),
        "out": init_w(ks[6], (D_MODEL, VOCAB)),
    }


def attention(params, x):
    t = x.shape[0]
    q, k, v = jnp.split(x @ params["qkv"], 3, axis=-1)
    heads = lambda a: a.reshape(t, N_HEADS, D_MODEL // N_HEADS)
    q, k, v = heads(q), heads(k), heads(v)
    logits = jnp.einsum("qhd,khd->hqk", q, k) / jnp.sqrt(D_MODEL // N_HEADS)
    mask = jnp.tril(jnp.ones((t, t), dtype=bool))
    logits = jnp.where(mask, logits, -jnp.inf)
    weights = jax.nn.softmax(logits, axis=-1)
    out = jnp.einsum("hqk,khd->qhd", weights, v).reshape(t, D_MODEL)
    return out @ params["proj"], weights


def block(params, x):
    attn, weights = attention(params, layer_norm(x, *params["ln1"]))
    x = x + attn
    h = jax.nn.gelu(layer_norm(x, *params["ln2"]) @ params["ff1"])
    return x + h @ params["ff2"], weights


def logits_fn(params, tokens):
    x = params["embed"][tokens] + params["pos"][: tokens.shape[0]]
    x, weights = block(params, x)
    return x @ params["out"], weights


def loss_fn(params, tokens):
    logits, _ = logits_fn(params, tokens[:-1])
    log_probs = jax.nn.log_softmax(logits)
    targets = tokens[1:]
    return -jnp.mean(jnp.take_along_axis(log_probs, targets[:, None], axis=-1))


def run():
    k_init, k_tok = random.split(random.PRNGKey(11))
    params = init(k_init)
    tokens = random.randint(k_tok, (3, 8), 0, VOCAB)
    logits, weights = logits_fn(params, tokens[0])
    batch_loss = jax.jit(lambda p, t: jnp.mean(jax.vmap(loss_fn, in_axes=(None, 0))(p, t)))
    value, grads = jax.value_and_grad(lambda p: batch_loss(p, tokens))(params)
    grads_jit = jax.jit(jax.grad(lambda p, t: batch_loss(p, t)))(params, tokens)
    return {
        "tokens": tokens,
        "logits": logits,
        "attention_weights": weights[1],
        "loss": value,
        "grad_qkv": grads["qkv"][:, :8],
        "grad_ln1_scale": grads["ln1"][0],
        "grad_embed_jit": grads_jit["embed"],
        "grad_gelu_ff1": grads["ff1"][:4],
    }


if __name__ == "__main__":
    print(run())
