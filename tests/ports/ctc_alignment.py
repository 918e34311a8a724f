"""Sequence losses computed by dynamic programming in log space, as speech and alignment
code writes them in JAX: the CTC loss (labels interleaved with blanks, the alpha recursion
in `lax.scan` with `jnp.logaddexp` over a large negative stand-in for log 0 (and over
`-inf`, whose gradient is NaN), repeated labels forbidding the skip
transition, padded label and logit lengths masked per example, `vmap` over a batch) and its
gradient with respect to the logits (which must match softmax minus the posterior
occupancy), Viterbi decoding of a small HMM (max-product in `scan`, back-pointers with
`argmax`, the best path traced back with a reverse `scan`), the HMM forward algorithm with
`logsumexp`, a soft-DTW distance with a smoothed minimum (`-gamma * logsumexp(-x / gamma)`)
over anti-diagonals in `fori_loop` with `.at[].set` and its gradient, and CTC greedy
decoding (collapse repeats with `jnp.diff`-style masks, drop blanks, compact with a stable
`argsort`)."""
import jax
import jax.numpy as jnp
from jax import lax, random
from jax.scipy.special import logsumexp

NEG_INF = -1e30


def ctc_loss(logits, logit_len, labels, label_len, blank=0, neg=NEG_INF):
    """logits: (T, K); labels: (L,) padded; returns -log p(labels | logits)."""
    t_max, _ = logits.shape
    l_max = labels.shape[0]
    logp = jax.nn.log_softmax(logits, axis=-1)
    ext = jnp.full((2 * l_max + 1,), blank).at[1::2].set(labels)
    s = jnp.arange(2 * l_max + 1)
    valid_s = s < 2 * label_len + 1
    prev2 = jnp.concatenate([jnp.array([blank, blank]), ext[:-2]])
    can_skip = (ext != blank) & (ext != prev2) & (s >= 2)
    alpha0 = jnp.full((2 * l_max + 1,), neg)
    alpha0 = alpha0.at[0].set(logp[0, blank]).at[1].set(
        jnp.where(label_len > 0, logp[0, ext[1]], neg))

    def step(alpha, t):
        a1 = jnp.concatenate([jnp.array([neg]), alpha[:-1]])
        a2 = jnp.concatenate([jnp.array([neg, neg]), alpha[:-2]])
        a2 = jnp.where(can_skip, a2, neg)
        new = jnp.logaddexp(jnp.logaddexp(alpha, a1), a2) + logp[t, ext]
        new = jnp.where(valid_s, new, neg)
        new = jnp.where(t < logit_len, new, alpha)
        return new, None

    alpha, _ = lax.scan(step, alpha0, jnp.arange(1, t_max))
    end = 2 * label_len
    last = jnp.logaddexp(alpha[end], jnp.where(label_len > 0, alpha[end - 1], neg))
    return -last


def ctc_greedy(logits, blank=0):
    best = jnp.argmax(logits, axis=-1)
    prev = jnp.concatenate([jnp.array([-1]), best[:-1]])
    keep = (best != prev) & (best != blank)
    order = jnp.argsort(~keep, stable=True)
    return jnp.where(jnp.sort(~keep), -1, best[order]), jnp.sum(keep)


def viterbi(log_init, log_trans, log_emit, obs):
    def fwd(delta, o):
        scores = delta[:, None] + log_trans
        return jnp.max(scores, axis=0) + log_emit[:, o], jnp.argmax(scores, axis=0)

    delta0 = log_init + log_emit[:, obs[0]]
    delta, back = lax.scan(fwd, delta0, obs[1:])
    last = jnp.argmax(delta)

    def bwd(state, bp):
        prev = bp[state]
        return prev, state

    first, path = lax.scan(bwd, last, back, reverse=True)
    return jnp.concatenate([first[None], path]), jnp.max(delta)


def hmm_forward(log_init, log_trans, log_emit, obs):
    def step(a, o):
        a = logsumexp(a[:, None] + log_trans, axis=0) + log_emit[:, o]
        return a, logsumexp(a)

    a0 = log_init + log_emit[:, obs[0]]
    a, running = lax.scan(step, a0, obs[1:])
    return logsumexp(a), running


def soft_min(a, b, c, gamma):
    return -gamma * logsumexp(jnp.stack([a, b, c]) / -gamma, axis=0)


def soft_dtw(x, y, gamma=0.1):
    cost = jnp.sum((x[:, None, :] - y[None, :, :]) ** 2, axis=-1)
    n, m = cost.shape
    r = jnp.full((n + 1, m + 1), 1e10).at[0, 0].set(0.0)

    def row(i, r):
        def col(j, r):
            val = cost[i - 1, j - 1] + soft_min(r[i - 1, j - 1], r[i - 1, j], r[i, j - 1], gamma)
            return r.at[i, j].set(val)
        return lax.fori_loop(1, m + 1, col, r)

    r = lax.fori_loop(1, n + 1, row, r)
    return r[n, m]


def run():
    key = random.PRNGKey(9)
    k1, k2, k3, k4 = random.split(key, 4)
    logits = random.normal(k1, (3, 8, 5)) * 2.0
    labels = jnp.array([[1, 2, 2, 0], [3, 1, 4, 2], [4, 0, 0, 0]])
    label_len = jnp.array([3, 4, 1])
    logit_len = jnp.array([8, 8, 5])
    batched = jax.vmap(ctc_loss)
    losses = batched(logits, logit_len, labels, label_len)
    grads = jax.grad(lambda lg: jnp.sum(batched(lg, logit_len, labels, label_len)))(logits)
    single = ctc_loss(logits[0], 8, labels[0], 3)
    log_trans = jnp.log(jnp.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]]))
    log_emit = jnp.log(jnp.array([[0.6, 0.3, 0.1], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]]))
    log_init = jnp.log(jnp.array([0.5, 0.3, 0.2]))
    obs = jnp.array([0, 0, 2, 2, 1, 2, 0, 1])
    path, best = viterbi(log_init, log_trans, log_emit, obs)
    total, running = hmm_forward(log_init, log_trans, log_emit, obs)
    xs = random.normal(k2, (5, 2))
    ys = jnp.cumsum(random.normal(k3, (4, 2)) * 0.5, axis=0)
    sdtw, sdtw_grad = jax.value_and_grad(soft_dtw)(xs, ys)
    greedy_logits = random.normal(k4, (10, 4)).at[jnp.array([0, 1, 4, 5]), 2].add(5.0)
    decoded, n_decoded = ctc_greedy(greedy_logits)
    return {
        "ctc_losses": losses,
        "ctc_single": single,
        "ctc_grad_0": grads[0],
        "ctc_grad_2_padded_steps": grads[2, 4:],
        "ctc_grad_row_sums": jnp.allclose(jnp.sum(grads, axis=-1), 0.0, atol=1e-5),
        "ctc_inf_grad_nan_rows": jnp.any(jnp.isnan(jax.grad(lambda lg: ctc_loss(
            lg, 8, labels[0], 3, neg=-jnp.inf))(logits[0])), axis=-1),
        "ctc_impossible": ctc_loss(logits[0, :2], 2, jnp.array([1, 1, 1, 0]), 3),
        "ctc_empty_label": ctc_loss(logits[1], 8, jnp.zeros(4, jnp.int32), 0),
        "ctc_jit": jax.jit(ctc_loss)(logits[1], 6, labels[1], 2),
        "viterbi_path": path,
        "viterbi_score": best,
        "hmm_loglik": total,
        "hmm_running": running,
        "hmm_grad_trans": jax.grad(lambda lt: hmm_forward(log_init, lt, log_emit, obs)[0])(
            log_trans),
        "soft_dtw": sdtw,
        "soft_dtw_grad": sdtw_grad,
        "ctc_greedy": decoded,
        "ctc_greedy_count": n_decoded,
        "neg_inf_const": jnp.logaddexp(NEG_INF, -jnp.inf),
    }


if __name__ == "__main__":
    print(run())
