"""Autoregressive decoding as JAX inference code writes it: a tiny one-layer attention
language model with a key/value cache written by `lax.dynamic_update_slice` at a traced
position, greedy decoding in `lax.while_loop` that stops early at an end token (a
per-sequence `done` mask, tokens after it padded), the same with `lax.fori_loop` and with
`lax.scan` over steps, sampling with `random.categorical` at a temperature with `fold_in`
per step, top-k and nucleus (top-p) filtering with `lax.top_k`, `jnp.sort`/`argsort`,
`cumsum` and `-inf` masking, and beam search: `top_k` over the flattened beam x vocab scores,
`//` and `%` to recover beam and token, caches reordered with `jnp.take_along_axis` and
`jnp.take`, finished beams frozen with `jnp.where`, and a length penalty."""
import jax
import jax.numpy as jnp
from jax import lax, random

VOCAB, D, MAXLEN, EOS = 7, 8, 6, 0


def init(key):
    ks = random.split(key, 5)
    return {
        "embed": random.normal(ks[0], (VOCAB, D)) * 0.8,
        "pos": random.normal(ks[1], (MAXLEN + 1, D)) * 0.3,
        "wq": random.normal(ks[2], (D, D)) / jnp.sqrt(D),
        "wkv": random.normal(ks[3], (D, 2 * D)) / jnp.sqrt(D),
        "out": random.normal(ks[4], (D, VOCAB)) * 0.9,
    }


def empty_cache(batch):
    return {"k": jnp.zeros((batch, MAXLEN + 1, D)), "v": jnp.zeros((batch, MAXLEN + 1, D))}


def step_logits(params, cache, token, t):
    """token: (batch,) int32 at position t (a traced scalar); returns logits and new cache."""
    h = params["embed"][token] + lax.dynamic_index_in_dim(params["pos"], t, keepdims=False)
    q = h @ params["wq"]
    k, v = jnp.split(h @ params["wkv"], 2, axis=-1)
    zero = jnp.zeros((), jnp.int32)
    ck = lax.dynamic_update_slice(cache["k"], k[:, None, :], (zero, t, zero))
    cv = lax.dynamic_update_slice(cache["v"], v[:, None, :], (zero, t, zero))
    scores = jnp.einsum("bd,btd->bt", q, ck) / jnp.sqrt(D)
    valid = jnp.arange(MAXLEN + 1) <= t
    scores = jnp.where(valid[None, :], scores, -jnp.inf)
    attn = jax.nn.softmax(scores, axis=-1)
    ctx = jnp.einsum("bt,btd->bd", attn, cv)
    return jnp.tanh(h + ctx) @ params["out"], {"k": ck, "v": cv}


@jax.jit
def greedy_while(params, start):
    batch = start.shape[0]

    def cond(state):
        t, _, _, done, _ = state
        return (t < MAXLEN) & ~jnp.all(done)

    def body(state):
        t, tok, cache, done, out = state
        logits, cache = step_logits(params, cache, tok, t)
        nxt = jnp.argmax(logits, axis=-1).astype(jnp.int32)
        nxt = jnp.where(done, EOS, nxt)
        out = lax.dynamic_update_slice(out, nxt[:, None], (jnp.int32(0), t))
        return t + 1, nxt, cache, done | (nxt == EOS), out

    init_state = (jnp.int32(0), start, empty_cache(batch), jnp.zeros(batch, bool),
                  jnp.full((batch, MAXLEN), -1, jnp.int32))
    t, _, _, done, out = lax.while_loop(cond, body, init_state)
    return out, t, done


def greedy_fori(params, start):
    def body(t, carry):
        tok, cache, out = carry
        logits, cache = step_logits(params, cache, tok, t)
        nxt = jnp.argmax(logits, axis=-1)
        return nxt, cache, out.at[:, t].set(nxt)

    out = jnp.zeros((start.shape[0], MAXLEN), jnp.int32)
    return lax.fori_loop(0, MAXLEN, body, (start, empty_cache(start.shape[0]), out))[2]


def sample_scan(params, start, key, temperature, top_k=None, top_p=None):
    def filt(logits):
        if top_k is not None:
            kth = lax.top_k(logits, top_k)[0][:, -1:]
            logits = jnp.where(logits < kth, -jnp.inf, logits)
        if top_p is not None:
            order = jnp.argsort(-logits, axis=-1)
            sorted_logits = jnp.take_along_axis(logits, order, axis=-1)
            cum = jnp.cumsum(jax.nn.softmax(sorted_logits, axis=-1), axis=-1)
            drop_sorted = cum - jax.nn.softmax(sorted_logits, axis=-1) > top_p
            drop = jnp.zeros_like(drop_sorted).at[jnp.arange(logits.shape[0])[:, None],
                                                  order].set(drop_sorted)
            logits = jnp.where(drop, -jnp.inf, logits)
        return logits

    def body(carry, t):
        tok, cache = carry
        logits, cache = step_logits(params, cache, tok, t)
        logits = filt(logits / temperature)
        nxt = random.categorical(random.fold_in(key, t), logits, axis=-1)
        return (nxt, cache), (nxt, jax.nn.log_softmax(logits)[jnp.arange(tok.shape[0]), nxt])

    _, (toks, logps) = lax.scan(body, (start, empty_cache(start.shape[0])),
                                jnp.arange(MAXLEN))
    return toks.T, logps.T


def beam_search(params, start_token, beams=3, alpha=0.6):
    tok = jnp.full((beams,), start_token, jnp.int32)
    scores = jnp.array([0.0] + [-jnp.inf] * (beams - 1))
    seqs = jnp.zeros((beams, MAXLEN), jnp.int32)
    finished = jnp.zeros(beams, bool)
    lengths = jnp.zeros(beams, jnp.int32)
    cache = empty_cache(beams)

    def body(t, state):
        tok, scores, seqs, finished, lengths, cache = state
        logits, cache = step_logits(params, cache, tok, t)
        logp = jax.nn.log_softmax(logits, axis=-1)
        # a finished beam can only extend with EOS at no cost
        frozen = jnp.where(jnp.arange(VOCAB) == EOS, 0.0, -jnp.inf)
        logp = jnp.where(finished[:, None], frozen[None, :], logp)
        cand = (scores[:, None] + logp).reshape(-1)
        top_scores, flat_idx = lax.top_k(cand, beams)
        parent, token = flat_idx // VOCAB, flat_idx % VOCAB
        seqs = jnp.take(seqs, parent, axis=0).at[:, t].set(token)
        cache = jax.tree.map(lambda c: jnp.take_along_axis(c, parent[:, None, None], axis=0),
                             cache)
        was_finished = finished[parent]
        lengths = jnp.where(was_finished, lengths[parent], t + 1)
        finished = was_finished | (token == EOS)
        return token, top_scores, seqs, finished, lengths, cache

    state = (tok, scores, seqs, finished, lengths, cache)
    tok, scores, seqs, finished, lengths, cache = lax.fori_loop(0, MAXLEN, body, state)
    penalty = ((5.0 + lengths) / 6.0) ** alpha
    normed = scores / penalty
    best = jnp.argmax(normed)
    return seqs, scores, normed, lengths, finished, seqs[best]


def run():
    params = init(random.PRNGKey(5))
    start = jnp.array([1, 2, 3, 4, 5, 6], jnp.int32)
    out_w, t_w, done_w = greedy_while(params, start)
    out_f = greedy_fori(params, start)
    key = random.PRNGKey(99)
    s_toks, s_logps = sample_scan(params, start, key, 0.8)
    k_toks, k_logps = sample_scan(params, start, key, 1.0, top_k=2)
    p_toks, p_logps = sample_scan(params, start, key, 1.5, top_p=0.6)
    seqs, scores, normed, lengths, finished, best = beam_search(params, 3)
    beam_jit = jax.jit(beam_search, static_argnames="beams")(params, 4, beams=2)
    first_logits, cache = step_logits(params, empty_cache(2), jnp.array([1, 2]), jnp.int32(0))
    return {
        "greedy_while": out_w,
        "greedy_steps": t_w,
        "greedy_done": done_w,
        "greedy_fori": out_f,
        "first_logits": first_logits,
        "cache_k_row0": cache["k"][0, :2],
        "sample_tokens": s_toks,
        "sample_logps": s_logps,
        "topk_tokens": k_toks,
        "topk_logps": k_logps,
        "topp_tokens": p_toks,
        "topp_logps": p_logps,
        "beam_seqs": seqs,
        "beam_scores": scores,
        "beam_normed": normed,
        "beam_lengths": lengths,
        "beam_finished": finished,
        "beam_best": best,
        "beam_jit_seqs": beam_jit[0],
        "beam_jit_scores": beam_jit[1],
    }


if __name__ == "__main__":
    print(run())
