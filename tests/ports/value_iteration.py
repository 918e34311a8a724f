"""Tabular reinforcement learning on a 4x4 gridworld as RL course notebooks write it in JAX:
the transition tensor P[s, a, s'] built with `.at[].set` / `.at[].add` and `jnp.where`
(walls, a slippery move that splits its probability, absorbing goal and pit), Bellman
backups with `jnp.einsum`, `jnp.max` and `jnp.argmax` over actions (soft backups with
`jax.nn.logsumexp`/`softmax` and `jnp.max` under `where=` masks of allowed actions), value
iteration in `lax.while_loop` until the sup-norm change is below a tolerance (the
iteration count comes back as an int32), policy evaluation by a linear solve, `vmap` of
value iteration over several discount factors, tabular Q-learning with epsilon-greedy
rollouts (`random.bernoulli` to explore, `random.categorical` for the random action and
for the slippery dynamics, -inf logits for impossible moves) in `lax.scan` over steps and
episodes, and greedy-policy agreement with the planned policy."""
import jax
import jax.numpy as jnp
from jax import lax, random

ROWS, COLS = 4, 4
N_S, N_A = ROWS * COLS, 4
GOAL, PIT = 15, 10
WALLS = (5, 7)
SLIP = 0.2
MOVES = jnp.array([[-1, 0], [0, 1], [1, 0], [0, -1]], dtype=jnp.int32)  # up right down left


def build_mdp():
    states = jnp.arange(N_S)
    r, c = states // COLS, states % COLS
    P = jnp.zeros((N_S, N_A, N_S), dtype=jnp.float32)
    wall = jnp.zeros(N_S, dtype=bool).at[jnp.array(WALLS)].set(True)
    terminal = (states == GOAL) | (states == PIT)

    def target(a):
        nr = jnp.clip(r + MOVES[a, 0], 0, ROWS - 1)
        nc = jnp.clip(c + MOVES[a, 1], 0, COLS - 1)
        nxt = nr * COLS + nc
        nxt = jnp.where(wall[nxt], states, nxt)          # bump into a wall: stay
        return jnp.where(terminal, states, nxt)          # absorbing

    for a in range(N_A):
        main = target(a)
        left, right = target((a + 3) % N_A), target((a + 1) % N_A)
        P = P.at[states, a, main].add(1.0 - SLIP)
        P = P.at[states, a, left].add(SLIP / 2)
        P = P.at[states, a, right].add(SLIP / 2)
    # walls are never occupied: make them self-loops
    P = P.at[jnp.array(WALLS)].set(0.0)
    P = P.at[jnp.array(WALLS), :, jnp.array(WALLS)].set(1.0)
    R = jnp.full((N_S, N_A), -0.04)
    R = jnp.where(terminal[:, None], 0.0, R)
    into_goal = P[:, :, GOAL] * 1.0 - P[:, :, PIT] * 1.0
    R = R + jnp.where(terminal[:, None], 0.0, into_goal)
    return P, R, terminal


def bellman(P, R, V, gamma):
    Q = R + gamma * jnp.einsum("sat,t->sa", P, V)
    return Q


def value_iteration(P, R, gamma, tol=1e-5, max_iter=500):
    def cond(state):
        V, delta, i = state
        return (delta > tol) & (i < max_iter)

    def body(state):
        V, _, i = state
        V_new = jnp.max(bellman(P, R, V, gamma), axis=1)
        return V_new, jnp.max(jnp.abs(V_new - V)), i + 1

    V0 = jnp.zeros(N_S)
    V, delta, iters = lax.while_loop(cond, body, (V0, jnp.inf, 0))
    Q = bellman(P, R, V, gamma)
    return V, jnp.argmax(Q, axis=1), iters, delta


def soft_value_iteration(P, R, gamma, temperature=0.1, iters=60):
    """Entropy-regularised backups, with some actions forbidden in some states."""
    allowed = jnp.ones((N_S, N_A), dtype=bool).at[jnp.arange(0, N_S, 3), 3].set(False)

    def body(i, V):
        Q = bellman(P, R, V, gamma)
        return temperature * jax.nn.logsumexp(Q / temperature, axis=1, where=allowed)

    V = lax.fori_loop(0, iters, body, jnp.zeros(N_S))
    Q = bellman(P, R, V, gamma)
    pi = jax.nn.softmax(Q / temperature, axis=1, where=allowed)
    hard = jnp.max(Q, axis=1, where=allowed, initial=-jnp.inf)
    return V, jnp.where(allowed, pi, 0.0), hard


def policy_evaluation(P, R, policy, gamma):
    P_pi = P[jnp.arange(N_S), policy]                   # (S, S)
    R_pi = jnp.take_along_axis(R, policy[:, None], axis=1)[:, 0]
    return jnp.linalg.solve(jnp.eye(N_S) - gamma * P_pi, R_pi)


def env_step(P, R, key, s, a):
    nxt = random.categorical(key, jnp.log(P[s, a]))      # impossible moves: -inf logits
    return nxt, R[s, a]


def q_learning(P, R, terminal, key, episodes=30, horizon=20, alpha=0.3, gamma=0.95,
               eps=0.2):
    def episode(Q, ep_key):
        def step(carry, k):
            Q, s, done = carry
            k_explore, k_act, k_env = random.split(k, 3)
            explore = random.bernoulli(k_explore, eps)
            a_rand = random.categorical(k_act, jnp.zeros(N_A))
            a = jnp.where(explore, a_rand, jnp.argmax(Q[s]))
            s2, r = env_step(P, R, k_env, s, a)
            target = r + gamma * jnp.max(Q[s2]) * (1.0 - terminal[s2])
            upd = jnp.where(done, 0.0, alpha * (target - Q[s, a]))
            Q = Q.at[s, a].add(upd)
            done = done | terminal[s2]
            return (Q, s2, done), (s, a, jnp.where(done, 0.0, r), explore)

        start = jnp.int32(0)
        (Q, s_end, done), traj = lax.scan(step, (Q, start, False), random.split(ep_key, horizon))
        return Q, (s_end, done, jnp.sum(traj[2]), jnp.sum(traj[3].astype(jnp.int32)))

    Q0 = jnp.zeros((N_S, N_A))
    Q, stats = lax.scan(episode, Q0, random.split(key, episodes))
    return Q, stats


def run():
    P, R, terminal = build_mdp()
    V, policy, iters, delta = jax.jit(value_iteration)(P, R, 0.95)
    V_eval = policy_evaluation(P, R, policy, 0.95)
    gammas = jnp.array([0.5, 0.8, 0.9, 0.99])
    Vs, policies, iters_g, _ = jax.vmap(value_iteration, in_axes=(None, None, 0))(P, R, gammas)
    Q, (s_end, done, ep_return, n_explore) = jax.jit(q_learning)(
        P, R, terminal, random.PRNGKey(3))
    V_soft, pi_soft, hard = jax.jit(soft_value_iteration)(P, R, 0.9)
    greedy = jnp.argmax(Q, axis=1)
    visited = jnp.any(Q != 0.0, axis=1)
    agree = jnp.sum((greedy == policy) & visited)
    return {
        "P_row_sums": jnp.sum(P, axis=-1),
        "P_state_4": P[4],
        "R": R,
        "V": V,
        "policy": policy,
        "iters": iters,
        "final_delta_small": delta <= 1e-5,
        "V_eval_close": jnp.max(jnp.abs(V_eval - V)) < 1e-3,
        "V_eval": V_eval,
        "V_gammas": Vs[:, ::3],
        "policy_gammas": policies,
        "iters_gammas": iters_g,
        "Q": Q,
        "episode_end": s_end,
        "episode_done": done,
        "episode_return": ep_return,
        "episode_explore": n_explore,
        "greedy_agree": agree,
        "V_soft": V_soft,
        "pi_soft": pi_soft[::2],
        "hard_masked_max": hard,
    }


if __name__ == "__main__":
    print(run())
