"""Keys and samplers (`random.split`, `fold_in`, the common distributions), functional
updates with `.at[]`, gathers with `take_along_axis`, and `einsum` (JAX's "pseudorandom
numbers" and "the sharp bits" tutorials)."""
import jax.numpy as jnp
from jax import random


def run():
    key = random.PRNGKey(2024)
    key, sub = random.split(key)
    keys = random.split(key, 4)
    per_step = [random.fold_in(key, i) for i in range(3)]

    u = random.uniform(sub, (3, 4))
    n = random.normal(keys[0], (5,))
    r = random.randint(keys[1], (6,), 0, 10)
    perm = random.permutation(keys[2], 8)
    coin = random.bernoulli(keys[3], 0.3, (10,))
    cat = random.categorical(per_step[0], jnp.log(jnp.array([0.1, 0.2, 0.7])), shape=(12,))
    picks = random.choice(per_step[1], 5, shape=(4,), replace=False)
    bounded = random.uniform(per_step[2], (3,), minval=-2.0, maxval=3.0)
    new_style = random.normal(random.key(7), (2, 2))

    x = jnp.arange(12.0).reshape(3, 4)
    y = x.at[1, 2].set(-1.0)
    y = y.at[:, 0].add(10.0)
    y = y.at[2].multiply(0.5)
    y = y.at[0, 1:3].min(1.5)
    y = y.at[jnp.array([0, 0, 2]), jnp.array([3, 3, 1])].add(1.0)
    y = y.at[::2, -1].max(20.0)
    clipped_read = x.at[jnp.array([5])].get(mode="clip")
    dropped = x.at[jnp.array([1, 7])].set(0.0, mode="drop")

    order = jnp.argsort(u, axis=1)
    sorted_u = jnp.take_along_axis(u, order, axis=1)
    top2 = jnp.take_along_axis(u, order[:, -2:], axis=1)
    picked = jnp.take_along_axis(x, jnp.array([[0], [3], [1]]), axis=1)

    a = jnp.arange(6.0).reshape(2, 3)
    b = jnp.arange(12.0).reshape(3, 4) / 10.0
    batch = u.reshape(1, 3, 4) * jnp.array([1.0, -1.0]).reshape(2, 1, 1)
    sq = jnp.arange(9.0).reshape(3, 3)
    return {
        "key": key,
        "keys": keys,
        "fold_in": jnp.stack(per_step),
        "uniform": u,
        "normal": n,
        "randint": r,
        "permutation": perm,
        "bernoulli": coin,
        "categorical": cat,
        "choice": picks,
        "bounded_uniform": bounded,
        "typed_key_normal": new_style,
        "at_updates": y,
        "at_get_clip": clipped_read,
        "at_set_drop": dropped,
        "sorted_u": sorted_u,
        "top2": top2,
        "picked": picked,
        "einsum_matmul": jnp.einsum("ij,jk->ik", a, b),
        "einsum_batch": jnp.einsum("bij,jk->bik", batch, b.T),
        "einsum_outer": jnp.einsum("i,j->ij", a[0], a[1]),
        "einsum_trace": jnp.einsum("ii->", sq),
        "einsum_diag": jnp.einsum("ii->i", sq),
        "einsum_contract": jnp.einsum("bij,bij->b", batch, batch),
    }


if __name__ == "__main__":
    print(run())
