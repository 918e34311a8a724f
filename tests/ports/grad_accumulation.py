"""A training step as larger JAX training scripts organise it: a `TrainState` NamedTuple
(step counter in int32, parameters, optimiser moments, an EMA copy of the parameters, an
RNG key), the batch split into micro-batches and the gradients accumulated with
`lax.scan` (the loss averaged over micro-batches, `jax.value_and_grad(has_aux=True)` with a
dict of metrics as aux), dropout with `random.bernoulli` and keys from `random.fold_in`
of the step and the micro-batch index, label-smoothed cross-entropy, AdamW with bias
correction from the traced step, global-norm clipping, a linear-warmup / inverse-sqrt
schedule with `jnp.minimum`, an update skipped with `lax.cond` when the gradients are not
finite, the EMA updated with `jax.tree.map` over three trees, the step `jit`-ed with
`donate_argnums`, an epoch shuffled with `random.permutation`, and evaluation with the EMA
parameters."""
import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax, random


class TrainState(NamedTuple):
    step: jnp.ndarray
    params: dict
    mu: dict
    nu: dict
    ema: dict
    key: jnp.ndarray


def init_params(key, sizes=(5, 16, 3)):
    params = []
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        k = random.fold_in(key, i)
        params.append({"w": random.normal(k, (m, n)) * jnp.sqrt(2.0 / m), "b": jnp.zeros(n)})
    return params


def forward(params, x, key=None, rate=0.0):
    h = x
    for i, layer in enumerate(params):
        h = h @ layer["w"] + layer["b"]
        if i < len(params) - 1:
            h = jax.nn.relu(h)
            if key is not None:
                keep = random.bernoulli(random.fold_in(key, i), 1.0 - rate, h.shape)
                h = jnp.where(keep, h / (1.0 - rate), 0.0)
    return h


def smoothed_loss(params, x, y, key, rate, smoothing=0.1):
    logits = forward(params, x, key, rate)
    n = logits.shape[-1]
    target = jax.nn.one_hot(y, n) * (1.0 - smoothing) + smoothing / n
    per_example = -jnp.sum(target * jax.nn.log_softmax(logits), axis=-1)
    acc = jnp.mean(jnp.argmax(logits, -1) == y)
    return jnp.mean(per_example), {"acc": acc, "max_logit": jnp.max(logits)}


def schedule(step, peak=0.05, warmup=4):
    step = step.astype(jnp.float32) + 1.0
    return peak * jnp.minimum(step / warmup, jnp.sqrt(warmup / step))


def global_norm(tree):
    return jnp.sqrt(sum(jnp.sum(jnp.square(g)) for g in jax.tree.leaves(tree)))


@functools.partial(jax.jit, donate_argnums=(0,), static_argnames=("micro", "rate"))
def train_step(state, x, y, micro=2, rate=0.2):
    step_key = random.fold_in(state.key, state.step)
    xs = x.reshape(micro, -1, x.shape[-1])
    ys = y.reshape(micro, -1)

    def accumulate(carry, inputs):
        grads_acc, loss_acc = carry
        i, xb, yb = inputs
        (loss, aux), grads = jax.value_and_grad(smoothed_loss, has_aux=True)(
            state.params, xb, yb, random.fold_in(step_key, i), rate)
        grads_acc = jax.tree.map(lambda a, g: a + g / micro, grads_acc, grads)
        return (grads_acc, loss_acc + loss / micro), aux["acc"]

    zeros = jax.tree.map(jnp.zeros_like, state.params)
    (grads, loss), accs = lax.scan(accumulate, (zeros, jnp.float32(0.0)),
                                   (jnp.arange(micro), xs, ys))
    gnorm = global_norm(grads)
    grads = jax.tree.map(lambda g: g * jnp.minimum(1.0, 1.0 / (gnorm + 1e-6)), grads)
    finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(g)) for g in jax.tree.leaves(grads)]))

    def apply(s):
        t = s.step + 1
        lr = schedule(s.step)
        mu = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, s.mu, grads)
        nu = jax.tree.map(lambda v, g: 0.99 * v + 0.01 * g * g, s.nu, grads)
        c1, c2 = 1.0 - 0.9 ** t, 1.0 - 0.99 ** t

        def upd(p, m, v):
            return p - lr * ((m / c1) / (jnp.sqrt(v / c2) + 1e-8) + 1e-2 * p)

        params = jax.tree.map(upd, s.params, mu, nu)
        ema = jax.tree.map(lambda e, p, p_old: 0.8 * e + 0.2 * p, s.ema, params, s.params)
        return s._replace(step=t, params=params, mu=mu, nu=nu, ema=ema)

    new_state = lax.cond(finite, apply, lambda s: s._replace(step=s.step + 1), state)
    return new_state, {"loss": loss, "gnorm": gnorm, "accs": accs, "finite": finite}


def run():
    key = random.PRNGKey(2024)
    kd, kp, ks = random.split(key, 3)
    x = random.normal(kd, (24, 5))
    y = (jnp.sum(x[:, :2], axis=1) > 0).astype(jnp.int32) + (x[:, 2] > 1.0)
    params = init_params(kp)
    zeros = functools.partial(jax.tree.map, jnp.zeros_like)
    state = TrainState(jnp.int32(0), params, zeros(params), zeros(params),
                       jax.tree.map(jnp.copy, params), random.fold_in(ks, 99))
    losses, norms, accs, finites = [], [], [], []
    for epoch in range(3):
        perm = random.permutation(random.fold_in(ks, epoch), 24)
        for b in range(3):
            idx = perm[b * 8:(b + 1) * 8]
            state, metrics = train_step(state, x[idx], y[idx])
            losses.append(metrics["loss"])
            norms.append(metrics["gnorm"])
            accs.append(metrics["accs"])
            finites.append(metrics["finite"])
    eval_logits = forward(state.ema, x)
    results = jax.tree.map(jnp.copy, {"step": state.step, "final_w2": state.params[1]["w"],
               "final_b1": state.params[0]["b"], "ema_b2": state.ema[1]["b"],
               "nu_b2": state.nu[1]["b"]})
    w_before = state.params[1]["w"] + 0.0
    bad_x = x[:8].at[0, 0].set(jnp.nan)
    skipped, bad_metrics = train_step(state, bad_x, y[:8], micro=4, rate=0.0)
    return {
        "losses": jnp.stack(losses),
        "grad_norms": jnp.stack(norms),
        "micro_accs": jnp.stack(accs),
        "finite": jnp.stack(finites),
        **results,
        "step_dtype": str(skipped.step.dtype),
        "skipped_step": skipped.step,
        "skipped_finite": bad_metrics["finite"],
        "skipped_same_params": jnp.array_equal(skipped.params[1]["w"], w_before),
        "eval_acc": jnp.mean(jnp.argmax(eval_logits, -1) == y),
        "eval_logits": eval_logits[:6],
        "schedule": schedule(jnp.arange(10)),
        "dropout_mask": forward(init_params(kp), x[:2], random.PRNGKey(0), 0.5),
        "permutation": random.permutation(random.fold_in(ks, 0), 24),
    }


if __name__ == "__main__":
    print(run())
