"""Differentially private SGD: per-example gradients with `vmap(grad)`, each clipped to an
L2 norm bound over the whole parameter tree, summed, noised with `random.normal` per leaf
and averaged (the recipe of JAX's differentially-private SGD example)."""
import jax
import jax.numpy as jnp
from jax import random
from jax.tree_util import tree_flatten, tree_map, tree_unflatten

L2_CLIP, NOISE_MULTIPLIER, LR = 0.5, 0.8, 0.2


def loss(params, x, y):
    logit = jnp.dot(x, params["w"]) + params["b"]
    return jnp.logaddexp(0.0, logit) - y * logit


def clipped_grad(params, x, y):
    grads = jax.grad(loss)(params, x, y)
    leaves, treedef = tree_flatten(grads)
    total_norm = jnp.linalg.norm(jnp.array([jnp.linalg.norm(g.ravel()) for g in leaves]))
    divisor = jnp.maximum(total_norm / L2_CLIP, 1.0)
    return tree_unflatten(treedef, [g / divisor for g in leaves]), total_norm


@jax.jit
def private_step(params, xs, ys, key):
    clipped, norms = jax.vmap(clipped_grad, in_axes=(None, 0, 0))(params, xs, ys)
    summed = tree_map(lambda g: g.sum(axis=0), clipped)
    leaves, treedef = tree_flatten(summed)
    keys = random.split(key, len(leaves))
    noised = [g + L2_CLIP * NOISE_MULTIPLIER * random.normal(k, g.shape)
              for g, k in zip(leaves, keys)]
    mean_grad = tree_map(lambda g: g / xs.shape[0], tree_unflatten(treedef, noised))
    return tree_map(lambda p, g: p - LR * g, params, mean_grad), norms


def run():
    k_x, k_noise = random.split(random.PRNGKey(17))
    xs = random.normal(k_x, (16, 4))
    ys = (xs[:, 0] - xs[:, 2] > 0).astype(jnp.float32)
    params = {"w": jnp.zeros(4), "b": jnp.zeros(())}
    norm_history, losses = [], []
    for step in range(10):
        params, norms = private_step(params, xs, ys, random.fold_in(k_noise, step))
        norm_history.append(norms)
        losses.append(jnp.mean(jax.vmap(loss, in_axes=(None, 0, 0))(params, xs, ys)))
    return {
        "labels": ys,
        "first_norms": norm_history[0],
        "last_norms": norm_history[-1],
        "losses": jnp.stack(losses),
        "w": params["w"],
        "b": params["b"],
    }


if __name__ == "__main__":
    print(run())
