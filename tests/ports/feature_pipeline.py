"""A feature-engineering pipeline as data-science code writes it with `jax.numpy`:
per-image norms over the spatial axes with `jnp.linalg.vector_norm(axis=(1, 2))`,
new and dropped ids with `setdiff1d(assume_unique=True)` (order kept) and
`intersect1d`, a ragged batch flattened with `repeat(total_repeat_length=)`, a design
matrix assembled with `jnp.block` from blocks and scalars, boolean indicator features
squared and raised to powers, `fabs` of integer deltas, clipped counts through
`jax.nn.relu6`, counts simulated with float16 `random.binomial`, `ufunc` reductions
(`jnp.add.reduce`, `jnp.maximum.accumulate`), and `.at[].divide` normalisation."""
import jax
import jax.numpy as jnp
from jax import random


def run():
    key = random.PRNGKey(31)
    k1, k2 = random.split(key)
    images = random.uniform(k1, (4, 5, 5, 3))
    old_ids = jnp.array([17, 4, 9, 23, 11])
    new_ids = jnp.array([4, 30, 11, 2])
    lengths = jnp.array([2, 0, 3, 1])
    values = jnp.arange(4.0) * 10.0
    flags = jnp.array([True, False, True, True])
    counts = jnp.array([3, -2, 9, 6])
    design = jnp.block([[jnp.ones((2, 1)), jnp.arange(4.0).reshape(2, 2)],
                        [0.0, jnp.array([[5.0, 6.0]])]])
    sims = random.binomial(k2, 12.0, 0.4, (6,), jnp.float16)
    totals = jnp.array([4, 0, 6, 2])
    return {
        "image_norms": jnp.linalg.vector_norm(images, axis=(1, 2)),
        "image_norms_keep": jnp.linalg.vector_norm(images, ord=1, axis=(1, 2),
                                                   keepdims=True)[:, 0, 0],
        "dropped_ids": jnp.setdiff1d(old_ids, new_ids, assume_unique=True),
        "added_ids": jnp.setdiff1d(new_ids, old_ids, assume_unique=True, size=3,
                                   fill_value=-1),
        "kept_ids": jnp.intersect1d(old_ids, new_ids),
        "ragged": jnp.repeat(values, lengths, total_repeat_length=8),
        "design": design,
        "flags_squared": jnp.square(flags),
        "flags_power": jnp.power(flags, 3),
        "abs_delta": jnp.fabs(jnp.diff(counts)),
        "clipped_counts": jax.nn.relu6(counts),
        "binomial_f16": sims,
        "binomial_dtype": str(sims.dtype),
        "add_reduce": jnp.add.reduce(images[0, :, :, 0], axis=1),
        "running_max": jnp.maximum.accumulate(counts),
        "normalised": jnp.arange(4).at[jnp.array([1, 3])].divide(totals[jnp.array([0, 2])]),
    }


if __name__ == "__main__":
    print(run())
