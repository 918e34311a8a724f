"""Rematerialisation and a hand-written Adam over a custom pytree: `jax.checkpoint` around
each residual block (also with `static_argnums` and as `jax.remat`), `lax.stop_gradient`
for a target network and a straight-through estimator, Adam state built with
`jax.tree_util.tree_map` over a `register_pytree_node_class` model with static aux data,
`tree_leaves`, `tree_structure`, and a jitted training loop in `lax.scan`."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax, random
from jax.tree_util import register_pytree_node_class, tree_leaves, tree_map, tree_structure


@register_pytree_node_class
class Block:
    def __init__(self, w, b, activation="tanh"):
        self.w, self.b, self.activation = w, b, activation

    def tree_flatten(self):
        return (self.w, self.b), self.activation

    @classmethod
    def tree_unflatten(cls, activation, children):
        return cls(*children, activation=activation)


def block_apply(block, x):
    act = {"tanh": jnp.tanh, "gelu": jax.nn.gelu}[block.activation]
    return x + act(x @ block.w + block.b)


def model(blocks, x, remat=True):
    for block in blocks:
        x = (jax.checkpoint(block_apply) if remat else block_apply)(block, x)
    return x


def loss(blocks, x, y):
    pred = model(blocks, x)
    target = lax.stop_gradient(0.9 * y + 0.1 * pred)   # a moving target, not differentiated
    return jnp.mean((pred - target) ** 2)


def adam_init(params):
    return tree_map(jnp.zeros_like, params), tree_map(jnp.zeros_like, params), 0


def adam_update(params, grads, state, lr=0.05, b1=0.9, b2=0.999, eps=1e-8):
    m, v, t = state
    t = t + 1
    m = tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, grads)
    v = tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, grads)
    update = lambda p, m, v: p - lr * (m / (1 - b1 ** t)) / (jnp.sqrt(v / (1 - b2 ** t)) + eps)
    return tree_map(update, params, m, v), (m, v, t)


@jax.jit
def train(params, x, y):
    def step(carry, _):
        params, state = carry
        l, g = jax.value_and_grad(loss)(params, x, y)
        params, state = adam_update(params, g, state)
        return (params, state), l
    (params, state), losses = lax.scan(step, (params, adam_init(params)), None, length=25)
    return params, state[2], losses


@partial(jax.checkpoint, static_argnums=(1,))
def power_layer(x, n):
    for _ in range(n):
        x = jnp.sin(x) * x
    return x


def run():
    keys = random.split(random.PRNGKey(11), 6)
    blocks = [Block(random.normal(keys[i], (5, 5)) * 0.3, jnp.zeros(5), act)
              for i, act in enumerate(["tanh", "gelu", "tanh"])]
    x = random.normal(keys[4], (9, 5))
    y = jnp.roll(x, 1, axis=1)
    g_remat = jax.grad(loss)(blocks, x, y)
    g_plain = jax.grad(lambda b: jnp.mean((model(b, x, remat=False) - lax.stop_gradient(
        0.9 * y + 0.1 * model(b, x, remat=False))) ** 2))(blocks)
    trained, steps, losses = train(blocks, x, y)
    ste = jax.grad(lambda z: jnp.sum(z + lax.stop_gradient(jnp.round(z) - z)) ** 2)(x[0])
    return {
        "structure": str(tree_structure(blocks)),
        "n_leaves": jnp.array(len(tree_leaves(blocks))),
        "grad_remat_w0": g_remat[0].w,
        "grad_remat_b1": g_remat[1].b,
        "grad_plain_w2": g_plain[2].w,
        "losses": losses,
        "steps": jnp.array(steps),
        "trained_w1": trained[1].w,
        "trained_activation": trained[1].activation,
        "straight_through": ste,
        "remat_static": jax.grad(lambda x: jnp.sum(power_layer(x, 3)))(x[1]),
        "remat_alias": jax.jacfwd(jax.remat(lambda x: jnp.tanh(x) ** 2))(x[2]),
    }


if __name__ == "__main__":
    print(run())
