"""Optimisers and schedules that training code writes by hand over pytrees (the update rules
of optax's Lion, LAMB, Adafactor, Adagrad, Nesterov momentum, and a lookahead wrapper),
each as an `(init, update)` pair run a few steps under `jit` on a small regression
problem: `jnp.sign` at exactly zero (Lion), the LAMB trust ratio with zero-norm guards
(`jnp.where` on `jnp.linalg.norm`), Adafactor's factored second moments (row and column
means of g^2, an `rsqrt` of their outer product over the row mean) with update clipping
by RMS and a vector fallback for 1-D leaves, `jax.tree.map` with several trees and
`is_leaf`; and the schedules of optax written with `jnp`: piecewise-constant through
`jnp.searchsorted`, staircase exponential decay with `//`, polynomial decay with a
`jnp.clip`ped step, SGDR cosine restarts with `%`, one-cycle through `jnp.interp`, and
`jnp.piecewise` with constant and callable pieces on integer steps."""
import jax
import jax.numpy as jnp
from jax import random


def tree_zeros(p):
    return jax.tree.map(jnp.zeros_like, p)


def lion(lr=0.02, b1=0.9, b2=0.99, wd=0.01):
    def init(p):
        return tree_zeros(p)

    def update(g, m, p, step):
        u = jax.tree.map(lambda gi, mi: jnp.sign(b1 * mi + (1 - b1) * gi), g, m)
        m = jax.tree.map(lambda gi, mi: b2 * mi + (1 - b2) * gi, g, m)
        p = jax.tree.map(lambda pi, ui: pi - lr * (ui + wd * pi), p, u)
        return p, m
    return init, update


def lamb(lr=0.05, b1=0.9, b2=0.999, eps=1e-6, wd=0.01):
    def init(p):
        return tree_zeros(p), tree_zeros(p)

    def update(g, state, p, step):
        m, v = state
        t = step + 1
        m = jax.tree.map(lambda mi, gi: b1 * mi + (1 - b1) * gi, m, g)
        v = jax.tree.map(lambda vi, gi: b2 * vi + (1 - b2) * gi * gi, v, g)

        def leaf(pi, mi, vi):
            r = (mi / (1 - b1 ** t)) / (jnp.sqrt(vi / (1 - b2 ** t)) + eps) + wd * pi
            pn, rn = jnp.linalg.norm(pi), jnp.linalg.norm(r)
            trust = jnp.where((pn > 0) & (rn > 0), pn / rn, 1.0)
            return pi - lr * trust * r
        return jax.tree.map(leaf, p, m, v), (m, v)
    return init, update


def adafactor(lr=0.05, decay=0.8, eps=1e-30, clip=1.0):
    def init(p):
        def leaf(pi):
            if pi.ndim >= 2:
                return {"row": jnp.zeros(pi.shape[:-1]), "col": jnp.zeros(pi.shape[:-2] +
                                                                             pi.shape[-1:])}
            return {"v": jnp.zeros_like(pi)}
        return jax.tree.map(leaf, p)

    def update(g, state, p, step):
        beta = 1.0 - (step + 1.0) ** -decay

        def leaf(gi, si, pi):
            g2 = gi * gi + eps
            if "row" in si:
                row = beta * si["row"] + (1 - beta) * jnp.mean(g2, axis=-1)
                col = beta * si["col"] + (1 - beta) * jnp.mean(g2, axis=-2)
                row_factor = jax.lax.rsqrt(row / jnp.mean(row, axis=-1, keepdims=True))
                u = gi * row_factor[..., None] * jax.lax.rsqrt(col)[..., None, :]
                new = {"row": row, "col": col}
            else:
                v = beta * si["v"] + (1 - beta) * g2
                u = gi * jax.lax.rsqrt(v)
                new = {"v": v}
            u = u / jnp.maximum(1.0, jnp.sqrt(jnp.mean(u * u)) / clip)
            return pi - lr * u, new

        is_state = lambda s: isinstance(s, dict) and ("row" in s or "v" in s)  # noqa: E731
        out = jax.tree.map(leaf, g, state, p, is_leaf=lambda x: is_state(x))
        new_p = jax.tree.map(lambda o: o[0], out, is_leaf=lambda o: isinstance(o, tuple))
        new_s = jax.tree.map(lambda o: o[1], out, is_leaf=lambda o: isinstance(o, tuple))
        return new_p, new_s
    return init, update


def adagrad(lr=0.3, eps=1e-7):
    def init(p):
        return jax.tree.map(lambda x: jnp.full_like(x, 0.1), p)

    def update(g, acc, p, step):
        acc = jax.tree.map(lambda a, gi: a + gi * gi, acc, g)
        return jax.tree.map(lambda pi, gi, a: pi - lr * gi / (jnp.sqrt(a) + eps), p, g, acc), acc
    return init, update


def nesterov(lr=0.05, mu=0.9):
    def init(p):
        return tree_zeros(p)

    def update(g, v, p, step):
        v = jax.tree.map(lambda vi, gi: mu * vi + gi, v, g)
        return jax.tree.map(lambda pi, vi, gi: pi - lr * (gi + mu * vi), p, v, g), v
    return init, update


def lookahead(inner, sync_every=3, alpha=0.5):
    inner_init, inner_update = inner

    def init(p):
        return inner_init(p), p

    def update(g, state, p, step):
        s, slow = state
        fast, s = inner_update(g, s, p, step)
        sync = (step + 1) % sync_every == 0
        new_slow = jax.tree.map(lambda sl, f: jnp.where(sync, sl + alpha * (f - sl), sl),
                                slow, fast)
        fast = jax.tree.map(lambda f, sl: jnp.where(sync, sl, f), fast, new_slow)
        return fast, (s, new_slow)
    return init, update


def loss(p, x, y):
    pred = jnp.tanh(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
    return jnp.mean((pred[:, 0] - y) ** 2)


def train(opt, params, x, y, steps=6):
    init, update = opt

    @jax.jit
    def step_fn(p, s, t):
        lval, g = jax.value_and_grad(loss)(p, x, y)
        p, s = update(g, s, p, t)
        return p, s, lval

    s = init(params)
    losses = []
    for t in range(steps):
        params, s, lval = step_fn(params, s, jnp.int32(t))
        losses.append(lval)
    return jnp.stack(losses), params


def piecewise_constant(step, boundaries=(3, 6), values=(0.1, 0.05, 0.01)):
    return jnp.asarray(values)[jnp.searchsorted(jnp.asarray(boundaries), step, side="right")]


def staircase(step, lr=0.1, every=4, rate=0.5):
    return lr * rate ** (step // every)


def polynomial(step, lr=0.1, end=0.01, power=2.0, steps=8):
    frac = 1.0 - jnp.clip(step, 0, steps) / steps
    return (lr - end) * frac ** power + end


def sgdr(step, lr=0.1, period=4):
    return 0.5 * lr * (1 + jnp.cos(jnp.pi * (step % period) / period))


def one_cycle(step):
    return jnp.interp(step, jnp.array([0, 3, 9, 12]), jnp.array([0.01, 0.1, 0.01, 0.001]))


def piecewise(step):
    return jnp.piecewise(step, [step < 2, step >= 8],
                         [0.0, 0.05, lambda s: 0.1 * 0.5 ** (s - 8)])


def run():
    key = random.PRNGKey(12)
    k1, k2, k3 = random.split(key, 3)
    x = random.normal(k1, (16, 3))
    y = jnp.sin(x[:, 0]) - x[:, 1] * x[:, 2]
    params = {"w1": random.normal(k2, (3, 5)) * 0.5, "b1": jnp.zeros(5),
              "w2": random.normal(k3, (5, 1)) * 0.5, "b2": jnp.zeros(1)}
    results = {}
    for name, opt in [("lion", lion()), ("lamb", lamb()), ("adafactor", adafactor()),
                      ("adagrad", adagrad()), ("nesterov", nesterov()),
                      ("lookahead", lookahead(nesterov()))]:
        losses, final = train(opt, params, x, y)
        results[f"{name}_losses"] = losses
        results[f"{name}_w2"] = final["w2"][:, 0]
        results[f"{name}_b1"] = final["b1"]
    steps = jnp.arange(13)
    g0 = jax.tree.map(jnp.zeros_like, params)
    lion_zero, _ = lion()[1](g0, tree_zeros(params), params, 0)
    lamb_zero, _ = lamb()[1](g0, lamb()[0](params), jax.tree.map(jnp.zeros_like, params), 0)
    return {
        **results,
        "lion_sign_zero": lion_zero["b1"],
        "lamb_zero_norms": lamb_zero["w1"][0],
        "adafactor_state_keys": str(jax.tree.structure(adafactor()[0](params))),
        "piecewise_constant": piecewise_constant(steps),
        "staircase": staircase(steps),
        "polynomial": polynomial(steps),
        "sgdr": sgdr(steps),
        "one_cycle": one_cycle(steps),
        "jnp_piecewise": piecewise(steps),
        "jnp_piecewise_dtype": str(piecewise(steps).dtype),
        "jnp_piecewise_float": piecewise(steps.astype(jnp.float32)),
    }


if __name__ == "__main__":
    print(run())
