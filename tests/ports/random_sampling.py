"""Sampling with `jax.random` the way JAX's documentation uses it: typed keys
(`random.key`, `key_data`, `wrap_key_data`) and raw keys, `split` into several, `fold_in`
per step, `permutation` of an int and along an axis, `choice` with and without replacement
and with probabilities, dropout with `bernoulli`, `truncated_normal`, `gumbel`,
`categorical` with a batch of logits, `randint` with odd ranges, `bits`, `orthogonal`-free
initialisers (`glorot_uniform`, `lecun_normal`) and sampling under `vmap` over keys."""
import jax
import jax.numpy as jnp
from jax import random


def dropout(key, x, rate):
    keep = random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0.0)


def run():
    key = random.key(2024)
    raw = random.PRNGKey(7)
    k = random.split(key, 5)
    xs = jnp.arange(20.0).reshape(4, 5)
    step_keys = jax.vmap(lambda i: random.key_data(random.fold_in(key, i)))(jnp.arange(3))
    logits = jnp.log(jnp.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25], [0.0, 0.0, 1.0]]) + 1e-9)
    p = jnp.array([0.05, 0.1, 0.15, 0.2, 0.5])
    init_glorot = jax.nn.initializers.glorot_uniform()
    init_lecun = jax.nn.initializers.lecun_normal()
    return {
        "key_data": random.key_data(key),
        "split_data": random.key_data(k),
        "split_raw": random.split(raw, 3),
        "fold_in": step_keys,
        "wrapped": random.uniform(random.wrap_key_data(random.key_data(k[0])), (3,)),
        "uniform": random.uniform(k[0], (2, 3), minval=-2.0, maxval=3.0),
        "normal": random.normal(k[1], (7,)),
        "permutation_int": random.permutation(k[2], 9),
        "permutation_axis1": random.permutation(k[3], xs, axis=1),
        "permutation_independent": random.permutation(k[3], xs, axis=1, independent=True),
        "shuffle_rows": random.permutation(raw, xs),
        "choice": random.choice(k[4], 10, (6,)),
        "choice_no_replace": random.choice(k[4], 10, (6,), replace=False),
        "choice_p": random.choice(raw, 5, (8,), p=p),
        "choice_p_no_replace": random.choice(raw, jnp.arange(5) * 10, (3,), replace=False, p=p),
        "choice_axis1": random.choice(k[2], xs, (2,), axis=1, replace=False),
        "dropout": dropout(k[1], xs, 0.3),
        "bernoulli_p": random.bernoulli(raw, jnp.array([0.0, 0.3, 0.9, 1.0])),
        "truncated_normal": random.truncated_normal(k[0], -1.0, 2.0, (6,)),
        "truncated_normal_bounds": random.truncated_normal(raw, jnp.array([-3.0, 0.0, 1.5]),
                                                           jnp.array([-2.0, 0.5, 4.0])),
        "gumbel": random.gumbel(k[2], (5,)),
        "categorical": random.categorical(k[3], logits),
        "categorical_shape": random.categorical(k[4], logits[0], shape=(10,)),
        "categorical_axis0": random.categorical(raw, logits, axis=0),
        "randint": random.randint(k[0], (8,), -3, 17),
        "randint_uint8": random.randint(k[1], (6,), 0, 255, dtype=jnp.uint8),
        "bits": random.bits(k[2], (4,)),
        "bits_uint8": random.bits(k[2], (4,), dtype=jnp.uint8),
        "exponential": random.exponential(raw, (4,)),
        "laplace": random.laplace(k[3], (4,)),
        "rademacher": random.rademacher(k[4], (6,)),
        "glorot": init_glorot(k[0], (3, 4)),
        "lecun": init_lecun(raw, (2, 5)),
        "vmap_keys": jax.vmap(lambda kk: random.normal(kk, (2,)))(k),
        "ball": random.ball(raw, 3, shape=(2,)),
    }


if __name__ == "__main__":
    print(run())
