"""A discrete hidden Markov model as JAX probabilistic-programming notebooks write it:
parameters as unnormalised logits turned into log-probabilities with `jax.nn.log_softmax`,
sequences sampled with `random.categorical` inside `lax.scan` over split keys, the forward
algorithm in log space (`lax.scan` with `jax.nn.logsumexp` over a broadcast sum), the
backward pass as `scan(..., reverse=True)`, posterior marginals with `jax.nn.softmax`,
Viterbi decoding with `jnp.max`/`jnp.argmax` and a backtrace that scans the reversed
back-pointers with `jnp.take_along_axis`, one Baum-Welch EM step (expected transition
counts from pairwise posteriors, emission counts with `jax.nn.one_hot`), the gradient of
the log-likelihood with respect to the logits (`jax.value_and_grad` under `jit`), which
equals the EM statistics, `vmap` over a batch of sequences, padded sequences handled with
a length mask in the scan, and the log-likelihood compared with brute-force enumeration of
all state paths (`jnp.indices`)."""
import jax
import jax.numpy as jnp
from jax import lax, random
from jax.nn import log_softmax, logsumexp

N_STATES = 3
N_OBS = 4
T = 12


def true_params():
    trans = jnp.array([[2.0, 0.5, -1.0], [0.0, 1.5, 0.3], [-0.5, 0.2, 1.8]])
    emit = jnp.array([[1.5, 0.2, -1.0, -1.0], [-1.0, 1.0, 1.0, -0.5], [-2.0, -1.0, 0.5, 2.0]])
    init = jnp.array([0.5, 0.0, -0.5])
    return {"init": init, "trans": trans, "emit": emit}


def log_probs(params):
    return (log_softmax(params["init"]), log_softmax(params["trans"], axis=-1),
            log_softmax(params["emit"], axis=-1))


def sample(key, params, length):
    log_pi, log_a, log_b = log_probs(params)
    k0, kseq = random.split(key)
    z0 = random.categorical(k0, log_pi)

    def step(z, k):
        kz, kx = random.split(k)
        x = random.categorical(kx, log_b[z])
        z_next = random.categorical(kz, log_a[z])
        return z_next, (z, x)

    _, (zs, xs) = lax.scan(step, z0, random.split(kseq, length))
    return zs, xs


def forward(params, xs, mask=None):
    log_pi, log_a, log_b = log_probs(params)
    if mask is None:
        mask = jnp.ones(xs.shape, dtype=bool)
    alpha0 = log_pi + log_b[:, xs[0]]

    def step(alpha, inp):
        x, m = inp
        new = logsumexp(alpha[:, None] + log_a, axis=0) + log_b[:, x]
        new = jnp.where(m, new, alpha)
        return new, new

    last, alphas = lax.scan(step, alpha0, (xs[1:], mask[1:]))
    alphas = jnp.concatenate([alpha0[None], alphas])
    return logsumexp(last), alphas


def backward(params, xs):
    _, log_a, log_b = log_probs(params)

    def step(beta, x_next):
        new = logsumexp(log_a + (log_b[:, x_next] + beta)[None, :], axis=1)
        return new, new

    _, betas = lax.scan(step, jnp.zeros(N_STATES), xs[1:], reverse=True)
    return jnp.concatenate([betas, jnp.zeros((1, N_STATES))])


def posteriors(params, xs):
    ll, alphas = forward(params, xs)
    betas = backward(params, xs)
    gamma = jax.nn.softmax(alphas + betas, axis=-1)
    _, log_a, log_b = log_probs(params)
    # pairwise xi[t, i, j] = p(z_t = i, z_{t+1} = j | x)
    log_xi = (alphas[:-1, :, None] + log_a[None] + log_b[:, xs[1:]].T[:, None, :]
              + betas[1:, None, :] - ll)
    return ll, gamma, jnp.exp(log_xi)


def viterbi(params, xs):
    log_pi, log_a, log_b = log_probs(params)
    delta0 = log_pi + log_b[:, xs[0]]

    def step(delta, x):
        scores = delta[:, None] + log_a
        return jnp.max(scores, axis=0) + log_b[:, x], jnp.argmax(scores, axis=0)

    delta, pointers = lax.scan(step, delta0, xs[1:])
    last = jnp.argmax(delta)

    def back(z, ptr):
        prev = jnp.take_along_axis(ptr, z[None], axis=0)[0]
        return prev, prev

    _, path = lax.scan(back, last, pointers[::-1])
    return jnp.concatenate([path[::-1], last[None]]), jnp.max(delta)


def em_step(params, xs):
    _, gamma, xi = posteriors(params, xs)
    init = gamma[0]
    trans = xi.sum(0) / xi.sum((0, 2))[:, None]
    counts = gamma.T @ jax.nn.one_hot(xs, N_OBS)
    emit = counts / counts.sum(1, keepdims=True)
    return {"init": jnp.log(init), "trans": jnp.log(trans), "emit": jnp.log(emit)}


def brute_force_loglik(params, xs):
    log_pi, log_a, log_b = log_probs(params)
    n = xs.shape[0]
    paths = jnp.indices((N_STATES,) * n).reshape(n, -1).T          # (3**n, n)
    lp = log_pi[paths[:, 0]] + jnp.sum(log_a[paths[:, :-1], paths[:, 1:]], axis=1)
    lp = lp + jnp.sum(log_b[paths, xs[None, :]], axis=1)
    return logsumexp(lp)


def run():
    params = true_params()
    key = random.PRNGKey(42)
    zs, xs = sample(key, params, T)
    ll, alphas = forward(params, xs)
    betas = backward(params, xs)
    ll2, gamma, xi = posteriors(params, xs)
    path, best = viterbi(params, xs)

    # a mis-specified starting point, a few EM steps
    start = jax.tree_util.tree_map(lambda p: 0.3 * p, params)
    ll_em = []
    p = start
    for _ in range(3):
        ll_em.append(forward(p, xs)[0])
        p = em_step(p, xs)
    ll_em.append(forward(p, xs)[0])

    # gradient of log-likelihood w.r.t. the logits: for init, expected counts minus probs
    vg = jax.jit(jax.value_and_grad(lambda q: forward(q, xs)[0]))
    val, g = vg(start)
    _, g_gamma, _ = posteriors(start, xs)
    init_check = g_gamma[0] - jax.nn.softmax(start["init"])

    # a batch of sequences, and padding
    keys = random.split(random.PRNGKey(7), 5)
    zb, xb = jax.vmap(lambda k: sample(k, params, T))(keys)
    batch_ll = jax.vmap(lambda x: forward(params, x)[0])(xb)
    batch_paths = jax.vmap(lambda x: viterbi(params, x)[0])(xb)
    lengths = jnp.array([12, 9, 5, 12, 1])
    mask = jnp.arange(T)[None, :] < lengths[:, None]
    padded = jnp.where(mask, xb, 0)
    masked_ll = jax.vmap(lambda x, m: forward(params, x, m)[0])(padded, mask)
    truncated_ll = jnp.stack([forward(params, xb[2, :5])[0], forward(params, xb[4, :1])[0]])

    short = xs[:6]
    return {
        "states": zs,
        "observations": xs,
        "loglik": ll,
        "loglik_posteriors": ll2,
        "log_alpha_last": alphas[-1],
        "log_beta_first": betas[0],
        "gamma": gamma,
        "gamma_row_sums": gamma.sum(-1),
        "xi_sum": xi.sum(0),
        "viterbi_path": path,
        "viterbi_logp": best,
        "viterbi_accuracy": jnp.mean(path == zs),
        "map_vs_viterbi": jnp.argmax(gamma, axis=1),
        "em_logliks": jnp.stack(ll_em),
        "em_trans": jnp.exp(p["trans"]),
        "grad_value": val,
        "grad_init": g["init"],
        "grad_trans": g["trans"],
        "grad_emit": g["emit"],
        "grad_init_vs_posterior": init_check,
        "batch_obs": xb,
        "batch_loglik": batch_ll,
        "batch_viterbi": batch_paths,
        "masked_loglik": masked_ll,
        "truncated_loglik": truncated_ll,
        "brute_vs_forward": jnp.stack([brute_force_loglik(params, short),
                                       forward(params, short)[0]]),
    }


if __name__ == "__main__":
    print(run())
