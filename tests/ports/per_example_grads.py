"""Per-example gradients with `vmap(grad(...))`: `in_axes` that broadcast the parameters,
a pytree prefix for `in_axes`, `out_axes`, and nested `vmap` (JAX's "automatic
vectorization" tutorial and the per-example-gradients recipe)."""
import jax
import jax.numpy as jnp
from jax import random


def predict(params, x):
    return jnp.tanh(x @ params["w"] + params["b"])


def loss(params, x, y):
    return jnp.sum((predict(params, x) - y) ** 2)


def run():
    k1, k2, k3, k4 = random.split(random.PRNGKey(42), 4)
    params = {"w": random.normal(k1, (5, 2)), "b": random.normal(k2, (2,))}
    xs = random.normal(k3, (8, 5))
    ys = random.normal(k4, (8, 2))

    per_example = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(params, xs, ys)
    batch_grad = jax.grad(lambda p: jnp.mean(jax.vmap(loss, in_axes=(None, 0, 0))(p, xs, ys)))(
        params)
    mean_of_per_example = jax.tree_util.tree_map(lambda g: g.mean(0), per_example)

    # A pytree prefix: the dict of parameters is not mapped, leaf by leaf.
    losses, grads = jax.jit(jax.vmap(jax.value_and_grad(loss),
                                     in_axes=({"w": None, "b": None}, 0, 0)))(params, xs, ys)

    # Examples along axis 1 of the input, gradients stacked along axis 1 of the output.
    grads_t = jax.vmap(jax.grad(loss, argnums=1), in_axes=(None, 1, 1), out_axes=1)(
        params, xs.T, ys.T)

    # Nested vmap: a pairwise squared-distance matrix.
    sqdist = jax.vmap(jax.vmap(lambda a, b: jnp.sum((a - b) ** 2), in_axes=(None, 0)),
                      in_axes=(0, None))(xs, xs[:3])

    # Jacobian of the per-example predictions.
    jac = jax.vmap(jax.jacrev(predict, argnums=1), in_axes=(None, 0))(params, xs[:2])

    grad_norms = jnp.sqrt(jnp.sum(per_example["w"] ** 2, axis=(1, 2))
                          + jnp.sum(per_example["b"] ** 2, axis=1))
    return {
        "per_example_w": per_example["w"],
        "per_example_b": per_example["b"],
        "batch_grad_w": batch_grad["w"],
        "mean_per_example_w": mean_of_per_example["w"],
        "losses": losses,
        "grads_b": grads["b"],
        "input_grads_t": grads_t,
        "sqdist": sqdist,
        "jacobian": jac,
        "grad_norms": grad_norms,
    }


if __name__ == "__main__":
    print(run())
