"""Embedding tables as language and recommender models use them in JAX: token lookups with
`table[ids]`, `jnp.take(..., axis=0)` in each `mode` ("fill" with a `fill_value`, "clip",
"wrap") for out-of-vocabulary ids (too large and too negative), `take_along_axis` with a
mode, a padding id masked out of the mean and out of the gradient, the hashing trick with
`%` for unknown ids, an embedding bag (sum/mean/max per bag) from offsets with
`jax.ops.segment_sum`/`segment_max` and `jnp.repeat(total_repeat_length=)`, a tied
input/output embedding whose logits come from `einsum` against the table, sinusoidal and
learned position embeddings, gradients of the table with repeated ids (accumulated) and
with fill-mode ids (dropped), a sparse SGD update of only the looked-up rows with
`.at[ids].add`, `jax.nn.one_hot(...) @ table` as the dense equivalent, and lookups under
`vmap` and `jit`."""
import jax
import jax.numpy as jnp
from jax import random

VOCAB, DIM, PAD = 10, 4, 0


def sinusoidal(length, dim):
    pos = jnp.arange(length)[:, None].astype(jnp.float32)
    i = jnp.arange(0, dim, 2).astype(jnp.float32)
    angle = pos / jnp.power(10000.0, i / dim)
    pe = jnp.zeros((length, dim))
    return pe.at[:, 0::2].set(jnp.sin(angle)).at[:, 1::2].set(jnp.cos(angle))


def masked_mean_embed(table, ids):
    emb = table[ids]
    mask = (ids != PAD)[..., None]
    return jnp.sum(emb * mask, axis=1) / jnp.maximum(jnp.sum(mask, axis=1), 1)


def embedding_bag(table, flat_ids, offsets, num_bags):
    lengths = jnp.diff(jnp.append(offsets, flat_ids.shape[0]))
    bag_ids = jnp.repeat(jnp.arange(num_bags), lengths, total_repeat_length=flat_ids.shape[0])
    emb = jnp.take(table, flat_ids, axis=0)
    sums = jax.ops.segment_sum(emb, bag_ids, num_segments=num_bags)
    maxes = jax.ops.segment_max(emb, bag_ids, num_segments=num_bags)
    means = sums / jnp.maximum(lengths, 1)[:, None]
    return sums, means, maxes, bag_ids


def tied_lm_loss(table, ids):
    h = jnp.tanh(table[ids[:, :-1]] + sinusoidal(ids.shape[1] - 1, DIM))
    logits = jnp.einsum("btd,vd->btv", h, table)
    logp = jax.nn.log_softmax(logits)
    tgt = ids[:, 1:]
    nll = -jnp.take_along_axis(logp, tgt[..., None], axis=-1)[..., 0]
    mask = tgt != PAD
    return jnp.sum(nll * mask) / jnp.sum(mask)


def run():
    key = random.PRNGKey(4)
    table = random.normal(key, (VOCAB, DIM))
    ids = jnp.array([[3, 1, 4, 1, 0], [5, 9, 2, 0, 0]])
    oov = jnp.array([2, 10, 13, -1, -11])
    flat_ids = jnp.array([1, 2, 3, 4, 4, 7, 9])
    offsets = jnp.array([0, 2, 2, 5])
    sums, means, maxes, bag_ids = embedding_bag(table, flat_ids, offsets, 4)
    grad_table = jax.grad(lambda t: jnp.sum(masked_mean_embed(t, ids) ** 2))(table)
    lm_loss, lm_grad = jax.value_and_grad(tied_lm_loss)(table, ids)
    fill_grad = jax.grad(lambda t: jnp.sum(jnp.take(t, oov, axis=0, mode="fill",
                                                    fill_value=0.0)))(table)
    rows = ids.reshape(-1)
    row_grads = jax.grad(lambda e: jnp.sum(jnp.sin(e)))(table[rows])
    sparse_updated = table.at[rows].add(-0.1 * row_grads)
    dense = jax.nn.one_hot(ids, VOCAB) @ table
    learned_pos = random.normal(random.fold_in(key, 1), (8, DIM)) * 0.1
    positions = jnp.array([[0, 1, 2, 3, 4], [0, 1, 2, 7, 9]])
    scores = jnp.arange(12.0).reshape(3, 4)
    pick = jnp.array([[0, 5], [-1, 2], [3, -6]])
    return {
        "lookup": table[ids][1],
        "take_fill": jnp.take(table, oov, axis=0, mode="fill", fill_value=-1.0),
        "take_fill_default": jnp.take(table, oov, axis=0),
        "take_clip": jnp.take(table, oov, axis=0, mode="clip"),
        "take_wrap": jnp.take(table, oov, axis=0, mode="wrap"),
        "take_int_fill": jnp.take(jnp.arange(VOCAB), oov),
        "take_along_fill": jnp.take_along_axis(scores, pick, axis=1, mode="fill"),
        "take_along_clip": jnp.take_along_axis(scores, pick, axis=1, mode="clip"),
        "hashed": table[oov % VOCAB],
        "masked_mean": masked_mean_embed(table, ids),
        "masked_mean_grad": grad_table,
        "bag_ids": bag_ids,
        "bag_sum": sums,
        "bag_mean": means,
        "bag_max": maxes,
        "tied_lm_loss": lm_loss,
        "tied_lm_grad": lm_grad,
        "fill_grad": fill_grad,
        "repeat_grad": jax.grad(lambda t: jnp.sum(t[jnp.array([1, 1, 1, 2])]))(table),
        "sparse_update": sparse_updated,
        "one_hot_dense": dense[0],
        "one_hot_oob": jax.nn.one_hot(oov, VOCAB) @ table,
        "sinusoidal": sinusoidal(6, DIM),
        "learned_pos_clip": jnp.take(learned_pos, positions, axis=0, mode="clip")[1],
        "vmap_take": jax.vmap(lambda i: jnp.take(table, i, axis=0, mode="fill",
                                                 fill_value=0.0))(oov.reshape(5, 1))[:, 0],
        "jit_take_wrap": jax.jit(lambda t, i: jnp.take(t, i, axis=1, mode="wrap"))(
            table, jnp.array([-1, 4, 9])),
    }


if __name__ == "__main__":
    print(run())
