"""A tiny policy-gradient (REINFORCE) loop as reinforcement-learning tutorials write it in
JAX: a softmax policy over 4 actions on a 5-state chain, episodes rolled out with
`lax.scan` drawing actions with `random.categorical` (and `random.split` per step),
discounted returns by a reverse `scan`, a baseline under `lax.stop_gradient`, an entropy
bonus from `jax.nn.log_softmax`, `jax.value_and_grad(has_aux=True)` under `jit`, a batch of
episodes with `vmap` over keys, and a hand-written Adam over the parameter dict; plus
epsilon-greedy action choice with `jnp.where` and `random.randint`, and a
`random.choice` replay-buffer sample."""
import jax
import jax.numpy as jnp
from jax import lax, random

N_STATES, N_ACTIONS, HORIZON, GAMMA = 5, 4, 12, 0.9
MOVES = jnp.array([-1, 1, 0, 2])


def env_step(state, action):
    nxt = jnp.clip(state + MOVES[action], 0, N_STATES - 1)
    reward = jnp.where(nxt == N_STATES - 1, 1.0, -0.05) - 0.02 * (action == 3)
    return nxt, reward


def policy_logits(params, state):
    h = jnp.tanh(params["w1"][state] + params["b1"])
    return h @ params["w2"] + params["b2"]


def rollout(params, key):
    def step(carry, k):
        state = carry
        logits = policy_logits(params, state)
        action = random.categorical(k, logits)
        nxt, reward = env_step(state, action)
        return nxt, (state, action, reward)

    _, (states, actions, rewards) = lax.scan(step, jnp.int32(0), random.split(key, HORIZON))
    return states, actions, rewards


def discounted_returns(rewards):
    def step(acc, r):
        acc = r + GAMMA * acc
        return acc, acc

    _, rets = lax.scan(step, 0.0, rewards, reverse=True)
    return rets


def loss_fn(params, key):
    keys = random.split(key, 8)
    states, actions, rewards = jax.vmap(rollout, in_axes=(None, 0))(params, keys)
    rets = jax.vmap(discounted_returns)(rewards)
    baseline = lax.stop_gradient(jnp.mean(rets, axis=0))
    logp_all = jax.nn.log_softmax(policy_logits(params, states), axis=-1)
    logp = jnp.take_along_axis(logp_all, actions[..., None], axis=-1)[..., 0]
    entropy = -jnp.sum(jnp.exp(logp_all) * logp_all, axis=-1)
    pg = -jnp.mean(logp * (rets - baseline))
    loss = pg - 0.01 * jnp.mean(entropy)
    return loss, {"return": jnp.mean(rets[:, 0]), "entropy": jnp.mean(entropy)}


def adam_update(params, grads, state, lr=0.05, b1=0.9, b2=0.999, eps=1e-8):
    m, v, t = state
    t = t + 1
    m = jax.tree.map(lambda m_, g: b1 * m_ + (1 - b1) * g, m, grads)
    v = jax.tree.map(lambda v_, g: b2 * v_ + (1 - b2) * g * g, v, grads)
    mhat = jax.tree.map(lambda m_: m_ / (1 - b1 ** t), m)
    vhat = jax.tree.map(lambda v_: v_ / (1 - b2 ** t), v)
    params = jax.tree.map(lambda p, a, b: p - lr * a / (jnp.sqrt(b) + eps), params, mhat,
                          vhat)
    return params, (m, v, t)


def epsilon_greedy(key, q_values, eps):
    k1, k2 = random.split(key)
    explore = random.uniform(k1, q_values.shape[:-1]) < eps
    random_action = random.randint(k2, q_values.shape[:-1], 0, q_values.shape[-1])
    return jnp.where(explore, random_action, jnp.argmax(q_values, axis=-1))


def run():
    key = random.PRNGKey(42)
    k_init, k_train = random.split(key)
    k1, k2 = random.split(k_init)
    params = {"w1": 0.5 * random.normal(k1, (N_STATES, 8)), "b1": jnp.zeros(8),
              "w2": 0.5 * random.normal(k2, (8, N_ACTIONS)), "b2": jnp.zeros(N_ACTIONS)}
    states, actions, rewards = rollout(params, random.PRNGKey(0))
    step_fn = jax.jit(jax.value_and_grad(loss_fn, has_aux=True))
    (loss0, aux0), grads0 = step_fn(params, random.PRNGKey(1))
    opt = (jax.tree.map(jnp.zeros_like, params), jax.tree.map(jnp.zeros_like, params), 0)
    returns = []
    for i in range(12):
        (_, aux), grads = step_fn(params, random.fold_in(k_train, i))
        params, opt = adam_update(params, grads, opt)
        returns.append(aux["return"])
    q = random.normal(random.PRNGKey(7), (6, N_ACTIONS))
    buffer = jnp.arange(100) * 3
    return {
        "rollout_states": states,
        "rollout_actions": actions,
        "rollout_rewards": rewards,
        "returns": discounted_returns(rewards),
        "loss0": loss0,
        "aux0_return": aux0["return"],
        "aux0_entropy": aux0["entropy"],
        "grad_w2": grads0["w2"],
        "grad_b1": grads0["b1"],
        "train_returns": jnp.stack(returns),
        "final_w2": params["w2"],
        "final_policy": jax.nn.softmax(jax.vmap(lambda s: policy_logits(params, s))(
            jnp.arange(N_STATES))),
        "eps_greedy": epsilon_greedy(random.PRNGKey(9), q, 0.3),
        "replay_sample": random.choice(random.PRNGKey(10), buffer, (5,), replace=False),
    }


if __name__ == "__main__":
    print(run())
