"""Gated recurrent networks as sequence-model code writes them in JAX: an LSTM cell (fused
gate matrix split with `jnp.split`, forget-gate bias of 1) and a GRU cell run with
`lax.scan` over time-major inputs, variable-length batches where padded steps keep the
carry (`jnp.where` on a `t < length` mask) and emit zeros, the final state gathered per
sequence, a bidirectional encoder whose backward pass reverses only the valid part of
each row (`jnp.take_along_axis` with per-row reversed indices), truncated backpropagation
through time (chunks of the sequence with `lax.stop_gradient` on the carried state between
chunks, the gradients summed over chunks), gradient clipping by value (`jnp.clip`) and by
global norm, a character-level next-token loss, a few SGD steps under `jit`, and the
gradient's dependence on the truncation (the first chunk's inputs get gradient only from
their own chunk)."""
import jax
import jax.numpy as jnp
from jax import lax, random

D_IN, D_H, VOCAB = 3, 5, 4


def init(key):
    ks = random.split(key, 6)
    s = 1.0 / jnp.sqrt(D_H)
    return {
        "lstm_w": random.uniform(ks[0], (D_IN + D_H, 4 * D_H), minval=-s, maxval=s),
        "lstm_b": jnp.zeros(4 * D_H).at[D_H:2 * D_H].set(1.0),
        "gru_wx": random.uniform(ks[1], (D_IN, 3 * D_H), minval=-s, maxval=s),
        "gru_wh": random.uniform(ks[2], (D_H, 3 * D_H), minval=-s, maxval=s),
        "gru_b": jnp.zeros(3 * D_H),
        "embed": random.normal(ks[3], (VOCAB, D_IN)),
        "out": random.normal(ks[4], (D_H, VOCAB)) * 0.5,
    }


def lstm_cell(p, carry, x):
    h, c = carry
    z = jnp.concatenate([x, h], axis=-1) @ p["lstm_w"] + p["lstm_b"]
    i, f, g, o = jnp.split(z, 4, axis=-1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    h = jax.nn.sigmoid(o) * jnp.tanh(c)
    return h, c


def gru_cell(p, h, x):
    xr, xz, xn = jnp.split(x @ p["gru_wx"] + p["gru_b"], 3, axis=-1)
    hr, hz, hn = jnp.split(h @ p["gru_wh"], 3, axis=-1)
    r = jax.nn.sigmoid(xr + hr)
    z = jax.nn.sigmoid(xz + hz)
    n = jnp.tanh(xn + r * hn)
    return (1 - z) * n + z * h


def run_lstm(p, xs, lengths, carry=None):
    """xs: (T, B, D_IN) time-major."""
    batch = xs.shape[1]
    if carry is None:
        carry = (jnp.zeros((batch, D_H)), jnp.zeros((batch, D_H)))

    def step(carry, inp):
        t, x = inp
        new = lstm_cell(p, carry, x)
        live = (t < lengths)[:, None]
        carry = jax.tree.map(lambda n, o: jnp.where(live, n, o), new, carry)
        return carry, jnp.where(live, new[0], 0.0)

    return lax.scan(step, carry, (jnp.arange(xs.shape[0]), xs))


def run_gru(p, xs, lengths):
    def step(h, inp):
        t, x = inp
        new = gru_cell(p, h, x)
        live = (t < lengths)[:, None]
        return jnp.where(live, new, h), jnp.where(live, new, 0.0)

    return lax.scan(step, jnp.zeros((xs.shape[1], D_H)), (jnp.arange(xs.shape[0]), xs))


def reverse_valid(xs, lengths):
    """Reverse each batch column's first `length` steps; xs: (T, B, D)."""
    t = jnp.arange(xs.shape[0])[:, None]
    idx = jnp.where(t < lengths[None, :], lengths[None, :] - 1 - t, t)
    return jnp.take_along_axis(xs, idx[:, :, None], axis=0)


def bidirectional(p, xs, lengths):
    (_, _), fwd = run_lstm(p, xs, lengths)
    _, bwd = run_gru(p, reverse_valid(xs, lengths), lengths)
    return jnp.concatenate([fwd, reverse_valid(bwd, lengths)], axis=-1)


def lm_loss_tbptt(p, tokens, chunk=3):
    """tokens: (B, T+1); truncated BPTT over chunks of `chunk` steps."""
    xs = p["embed"][tokens[:, :-1]].swapaxes(0, 1)
    ys = tokens[:, 1:].T
    t_total, batch = ys.shape
    lengths = jnp.full((batch,), t_total)
    carry = (jnp.zeros((batch, D_H)), jnp.zeros((batch, D_H)))
    total = 0.0
    for start in range(0, t_total, chunk):
        carry = jax.tree.map(lax.stop_gradient, carry)
        carry, hs = run_lstm(p, xs[start:start + chunk], lengths - start, carry)
        logp = jax.nn.log_softmax(hs @ p["out"])
        total = total + -jnp.sum(jnp.take_along_axis(logp, ys[start:start + chunk, :, None],
                                                     axis=-1))
    return total / (t_total * batch)


def lm_loss_full(p, tokens):
    return lm_loss_tbptt(p, tokens, chunk=tokens.shape[1])


def run():
    key = random.PRNGKey(101)
    kp, kx, kt = random.split(key, 3)
    p = init(kp)
    xs = random.normal(kx, (6, 3, D_IN))
    lengths = jnp.array([6, 4, 1])
    (h_final, c_final), hs = run_lstm(p, xs, lengths)
    g_final, g_hs = run_gru(p, xs, lengths)
    bi = bidirectional(p, xs, lengths)
    tokens = random.randint(kt, (2, 8), 0, VOCAB)
    g_tbptt = jax.grad(lm_loss_tbptt)(p, tokens)
    g_full = jax.grad(lm_loss_full)(p, tokens)
    g_inputs = jax.grad(lambda x: jnp.sum(run_lstm(p, x, lengths)[0][0]))(xs)

    @jax.jit
    def sgd(p, tokens):
        loss, g = jax.value_and_grad(lm_loss_tbptt)(p, tokens)
        g = jax.tree.map(lambda a: jnp.clip(a, -0.5, 0.5), g)
        norm = jnp.sqrt(sum(jnp.sum(a * a) for a in jax.tree.leaves(g)))
        g = jax.tree.map(lambda a: a * jnp.minimum(1.0, 1.0 / norm), g)
        return jax.tree.map(lambda a, b: a - 0.5 * b, p, g), loss, norm

    losses, norms = [], []
    q = p
    for _ in range(4):
        q, loss, norm = sgd(q, tokens)
        losses.append(loss)
        norms.append(norm)
    return {
        "lstm_h_final": h_final,
        "lstm_c_final": c_final,
        "lstm_hs_t5": hs[5],
        "lstm_padded_zero": jnp.all(hs[1:, 2] == 0.0),
        "gru_final": g_final,
        "gru_hs_t3": g_hs[3],
        "reverse_valid": reverse_valid(jnp.arange(18.0).reshape(6, 3, 1), lengths)[:, :, 0],
        "bidirectional_t0": bi[0],
        "bidirectional_t3": bi[3],
        "grad_inputs_t": jnp.sum(jnp.abs(g_inputs), axis=(1, 2)),
        "grad_inputs_beyond_length": g_inputs[1:, 2],
        "loss_tbptt": lm_loss_tbptt(p, tokens),
        "loss_full": lm_loss_full(p, tokens),
        "grad_tbptt_w": g_tbptt["lstm_w"][:, :4],
        "grad_full_w": g_full["lstm_w"][:, :4],
        "grad_tbptt_embed": g_tbptt["embed"],
        "grad_full_out": g_full["out"],
        "sgd_losses": jnp.stack(losses),
        "sgd_norms": jnp.stack(norms),
        "sgd_final_b": q["lstm_b"],
    }


if __name__ == "__main__":
    print(run())
