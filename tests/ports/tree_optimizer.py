"""Optimisers written over pytrees with `jax.tree_util`: momentum SGD and RMSProp as
`(init, update)` pairs over any parameter tree, a custom pytree node for the model's
layers (`register_pytree_node_class`), global-norm clipping with `tree_reduce`, and
`tree_flatten`/`tree_unflatten`/`tree_structure`."""
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import random
from jax.tree_util import (
    register_pytree_node_class,
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_reduce,
    tree_structure,
    tree_unflatten,
)


@register_pytree_node_class
class Linear:
    def __init__(self, w, b):
        self.w = w
        self.b = b

    def __call__(self, x):
        return x @ self.w + self.b

    def tree_flatten(self):
        return (self.w, self.b), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)


class MomentumState(NamedTuple):
    velocity: object


class RMSPropState(NamedTuple):
    mean_square: object
    count: jnp.ndarray


def momentum(lr=0.05, beta=0.9):
    def init(params):
        return MomentumState(tree_map(jnp.zeros_like, params))

    def update(grads, state, params):
        velocity = tree_map(lambda v, g: beta * v + g, state.velocity, grads)
        return tree_map(lambda p, v: p - lr * v, params, velocity), MomentumState(velocity)

    return init, update


def rmsprop(lr=0.01, decay=0.9, eps=1e-6):
    def init(params):
        return RMSPropState(tree_map(jnp.zeros_like, params), jnp.zeros([], jnp.int32))

    def update(grads, state, params):
        ms = tree_map(lambda s, g: decay * s + (1 - decay) * g * g, state.mean_square, grads)
        new = tree_map(lambda p, g, s: p - lr * g / (jnp.sqrt(s) + eps), params, grads, ms)
        return new, RMSPropState(ms, state.count + 1)

    return init, update


def clip_by_global_norm(grads, max_norm):
    norm = jnp.sqrt(tree_reduce(lambda acc, g: acc + jnp.sum(g ** 2), grads, 0.0))
    scale = jnp.minimum(1.0, max_norm / norm)
    return tree_map(lambda g: g * scale, grads), norm


def model(params, x):
    h = jnp.tanh(params["hidden"](x))
    return params["out"](h)[:, 0]


def loss(params, x, y):
    return jnp.mean((model(params, x) - y) ** 2)


def train(optimiser, params, x, y, steps=20):
    init, update = optimiser

    @jax.jit
    def step(params, state):
        value, grads = jax.value_and_grad(loss)(params, x, y)
        grads, norm = clip_by_global_norm(grads, 1.0)
        params, state = update(grads, state, params)
        return params, state, value, norm

    state = init(params)
    values, norms = [], []
    for _ in range(steps):
        params, state, value, norm = step(params, state)
        values.append(value)
        norms.append(norm)
    return params, state, jnp.stack(values), jnp.stack(norms)


def run():
    ks = random.split(random.PRNGKey(4), 4)
    params = {"hidden": Linear(random.normal(ks[0], (2, 8)) * 0.5, jnp.zeros(8)),
              "out": Linear(random.normal(ks[1], (8, 1)) * 0.5, jnp.zeros(1))}
    x = random.uniform(ks[2], (32, 2), minval=-1.0, maxval=1.0)
    y = jnp.sin(3.0 * x[:, 0]) * x[:, 1] + 0.05 * random.normal(ks[3], (32,))

    leaves, treedef = tree_flatten(params)
    rebuilt = tree_unflatten(treedef, [leaf * 2.0 for leaf in leaves])
    p_mom, _, loss_mom, norm_mom = train(momentum(), params, x, y)
    p_rms, s_rms, loss_rms, _ = train(rmsprop(), params, x, y)
    return {
        "n_leaves": len(leaves),
        "leaf_shapes": jnp.array([leaf.size for leaf in leaves]),
        "same_structure": tree_structure(rebuilt) == treedef,
        "rebuilt_out_w": rebuilt["out"].w[:, 0],
        "momentum_losses": loss_mom,
        "momentum_grad_norms": norm_mom,
        "momentum_hidden_w": p_mom["hidden"].w,
        "rmsprop_losses": loss_rms,
        "rmsprop_out_b": p_rms["out"].b,
        "rmsprop_count": s_rms.count,
        "rmsprop_state_leaves": len(tree_leaves(s_rms)),
    }


if __name__ == "__main__":
    print(run())
