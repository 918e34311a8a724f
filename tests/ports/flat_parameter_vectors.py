"""Parameters as one flat vector with `jax.flatten_util.ravel_pytree`, as optimizers written
on vectors use it: flatten a tree of mixed dtypes (the common dtype, the leaf order,
unravel back to each dtype), a flat gradient of a small network, a few steps of gradient
descent with a hand-written two-loop L-BFGS direction on the flat vector, a Hessian-vector
product through unravel, `vmap` over a batch of trees, and an empty tree."""
import jax
import jax.numpy as jnp
from jax import random
from jax.flatten_util import ravel_pytree


def init(key):
    k1, k2 = random.split(key)
    return {"w1": random.normal(k1, (3, 4)) * 0.5, "b1": jnp.zeros(4),
            "w2": random.normal(k2, (4, 1)) * 0.5, "b2": jnp.array([0.1])}


def loss(params, x, y):
    h = jnp.tanh(x @ params["w1"] + params["b1"])
    return jnp.mean((h @ params["w2"] + params["b2"] - y) ** 2)


def lbfgs_direction(g, s_hist, y_hist):
    q = g
    alphas = []
    for s, y in zip(reversed(s_hist), reversed(y_hist)):
        rho = 1.0 / jnp.dot(y, s)
        a = rho * jnp.dot(s, q)
        q = q - a * y
        alphas.append((rho, a, s, y))
    gamma = jnp.dot(s_hist[-1], y_hist[-1]) / jnp.dot(y_hist[-1], y_hist[-1]) if s_hist else 1.0
    r = gamma * q
    for rho, a, s, y in reversed(alphas):
        b = rho * jnp.dot(y, r)
        r = r + s * (a - b)
    return -r


def run():
    key = random.PRNGKey(0)
    params = init(key)
    x = random.normal(random.PRNGKey(1), (16, 3))
    y = jnp.sin(x[:, :1])

    flat, unravel = ravel_pytree(params)
    mixed = {"a": jnp.arange(3, dtype=jnp.int8), "b": (jnp.ones((2, 1), jnp.uint8), 2.5),
             "c": jnp.array([1.5, -2.0], jnp.float16)}
    mflat, munravel = ravel_pytree(mixed)
    back = munravel(mflat)
    iflat, iunravel = ravel_pytree({"i": jnp.array([1, -2], jnp.int8),
                                    "u": jnp.array([200], jnp.uint8)})

    flat_loss = jax.jit(lambda v: loss(unravel(v), x, y))
    flat_grad = jax.jit(jax.grad(lambda v: loss(unravel(v), x, y)))

    v = flat
    s_hist, y_hist, losses = [], [], []
    g = flat_grad(v)
    for _ in range(6):
        d = lbfgs_direction(g, s_hist[-3:], y_hist[-3:])
        v_new = v + 0.5 * d
        g_new = flat_grad(v_new)
        s_hist.append(v_new - v)
        y_hist.append(g_new - g)
        v, g = v_new, g_new
        losses.append(flat_loss(v))

    hvp = jax.jvp(jax.grad(lambda v: loss(unravel(v), x, y)), (flat,),
                  (jnp.ones_like(flat) / flat.size,))[1]
    tree_grad = jax.grad(loss)(params, x, y)
    batch = {"w": jnp.arange(12.0).reshape(3, 4), "b": jnp.arange(3.0)}
    batched_flat = jax.vmap(lambda t: ravel_pytree(t)[0])(batch)
    empty_flat, empty_unravel = ravel_pytree({})

    return {
        "flat": flat,
        "flat_size": jnp.array(flat.size),
        "mixed_flat": mflat,
        "mixed_dtype": str(mflat.dtype),
        "mixed_back_a": back["a"],
        "mixed_back_b0": back["b"][0],
        "mixed_back_b1": back["b"][1],
        "mixed_back_c": back["c"],
        "int_flat": iflat,
        "int_back_u": iunravel(iflat)["u"],
        "unravel_w1": unravel(flat * 2.0)["w1"],
        "flat_grad_matches_tree": jnp.max(jnp.abs(ravel_pytree(tree_grad)[0]
                                                   - flat_grad(flat))) < 1e-6,
        "losses": jnp.stack(losses),
        "final_b2": unravel(v)["b2"],
        "hvp": hvp,
        "batched_flat": batched_flat,
        "empty": empty_flat,
        "empty_dtype": str(empty_flat.dtype),
        "empty_back": jnp.array(len(empty_unravel(empty_flat))),
    }


if __name__ == "__main__":
    print(run())
