"""Proximal policy optimisation as JAX RL code writes the update (PureJaxRL-style): a batch of
rollout data (rewards, values, done flags, log-probabilities of the behaviour policy),
generalised advantage estimation with a reverse `lax.scan` that resets at episode ends,
advantage normalisation, an actor-critic MLP with a categorical policy
(`jax.nn.log_softmax`, `take_along_axis` for the taken actions, the entropy), the
clipped surrogate objective (`jnp.clip` of the ratio, `jnp.minimum`), the clipped value
loss, the approximate KL and clip fraction as aux outputs of
`jax.value_and_grad(has_aux=True)`, several epochs of shuffled minibatches
(`random.permutation` then `reshape`) in nested `lax.scan`s, and the whole update under
`jit`."""
import jax
import jax.numpy as jnp
from jax import lax, random

OBS, ACTIONS, T = 4, 3, 16


def init(key):
    k1, k2, k3 = random.split(key, 3)
    return {"w": random.normal(k1, (OBS, 16)) * 0.5, "b": jnp.zeros(16),
            "pi": random.normal(k2, (16, ACTIONS)) * 0.1, "v": random.normal(k3, (16,)) * 0.1}


def apply(p, obs):
    h = jnp.tanh(obs @ p["w"] + p["b"])
    return h @ p["pi"], h @ p["v"]


def gae(rewards, values, dones, last_value, gamma=0.99, lam=0.95):
    def step(carry, xs):
        next_adv, next_value = carry
        r, v, d = xs
        delta = r + gamma * next_value * (1 - d) - v
        adv = delta + gamma * lam * (1 - d) * next_adv
        return (adv, v), adv

    _, adv = lax.scan(step, (0.0, last_value), (rewards, values, dones), reverse=True)
    return adv, adv + values


def ppo_loss(p, batch, clip=0.2, vf_coef=0.5, ent_coef=0.01):
    logits, value = apply(p, batch["obs"])
    logp_all = jax.nn.log_softmax(logits)
    logp = jnp.take_along_axis(logp_all, batch["action"][:, None], axis=-1)[:, 0]
    ratio = jnp.exp(logp - batch["logp"])
    adv = (batch["adv"] - batch["adv"].mean()) / (batch["adv"].std() + 1e-8)
    surrogate = jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - clip, 1 + clip) * adv)
    v_clipped = batch["value"] + jnp.clip(value - batch["value"], -clip, clip)
    v_loss = 0.5 * jnp.maximum((value - batch["ret"]) ** 2,
                               (v_clipped - batch["ret"]) ** 2).mean()
    entropy = -jnp.sum(jnp.exp(logp_all) * logp_all, axis=-1).mean()
    loss = -surrogate.mean() + vf_coef * v_loss - ent_coef * entropy
    aux = {"approx_kl": jnp.mean(0.5 * (logp - batch["logp"]) ** 2),
           "clip_frac": jnp.mean(jnp.abs(ratio - 1) > clip), "entropy": entropy,
           "v_loss": v_loss}
    return loss, aux


@jax.jit
def update(p, rollout, key, lr=0.05, epochs=3, minibatches=4):
    adv, ret = gae(rollout["reward"], rollout["value"], rollout["done"],
                   rollout["last_value"])
    data = {k: rollout[k] for k in ("obs", "action", "logp", "value")}
    data.update(adv=adv, ret=ret)

    def epoch(p, k):
        perm = random.permutation(k, T)
        shuffled = jax.tree.map(lambda x: x[perm].reshape((minibatches, -1) + x.shape[1:]),
                                data)

        def minibatch(p, mb):
            (loss, aux), g = jax.value_and_grad(ppo_loss, has_aux=True)(p, mb)
            return jax.tree.map(lambda a, b: a - lr * b, p, g), (loss, aux)

        return lax.scan(minibatch, p, shuffled)

    p, (losses, aux) = lax.scan(epoch, p, random.split(key, epochs))
    return p, losses, aux, adv, ret


def run():
    key = random.PRNGKey(42)
    kp, ko, ka, kr, kd, ku = random.split(key, 6)
    p = init(kp)
    obs = random.normal(ko, (T, OBS))
    logits, values = apply(p, obs)
    actions = random.categorical(ka, logits)
    logp = jnp.take_along_axis(jax.nn.log_softmax(logits), actions[:, None], axis=-1)[:, 0]
    rollout = {"obs": obs, "action": actions, "logp": logp, "value": values,
               "reward": random.uniform(kr, (T,)) * (actions == 1),
               "done": (random.uniform(kd, (T,)) < 0.15).astype(jnp.float32),
               "last_value": jnp.float32(0.3)}
    new_p, losses, aux, adv, ret = update(p, rollout, ku)
    new_logits, _ = apply(new_p, obs)
    return {
        "advantages": adv,
        "returns": ret,
        "done": rollout["done"],
        "losses": losses,
        "approx_kl": aux["approx_kl"],
        "clip_frac": aux["clip_frac"],
        "entropy": aux["entropy"],
        "v_loss": aux["v_loss"],
        "first_loss": ppo_loss(p, {**{k: rollout[k] for k in ("obs", "action", "logp",
                                                               "value")},
                                   "adv": adv, "ret": ret})[0],
        "new_pi": new_p["pi"],
        "new_v": new_p["v"],
        "new_probs": jax.nn.softmax(new_logits)[:6],
    }


if __name__ == "__main__":
    print(run())
