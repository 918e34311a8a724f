"""`jax.ops.segment_sum` / `segment_max` / `segment_min` / `segment_prod` as graph code
writes them (the GNN message-passing pattern of JAX's docs and jraph): `num_segments` with
empty segments (max is -inf, min +inf, prod 1, an integer max the dtype's minimum), ids out
of range and negative ids dropped, `indices_are_sorted=True` on sorted ids, 2-d data,
integer and boolean-derived data, segment means and a segment softmax, gradients through
segment_sum/segment_max/segment_min (ties), and `vmap` over a batch of graphs under `jit`."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import random


def segment_softmax(logits, segment_ids, num_segments):
    maxes = jax.ops.segment_max(logits, segment_ids, num_segments)
    shifted = jnp.exp(logits - maxes[segment_ids])
    denom = jax.ops.segment_sum(shifted, segment_ids, num_segments)
    return shifted / denom[segment_ids]


@partial(jax.jit, static_argnames="num_nodes")
def message_passing(node_feats, senders, receivers, weights, num_nodes):
    messages = node_feats[senders] @ weights
    scores = jnp.sum(messages * node_feats[receivers], axis=-1)
    attn = segment_softmax(scores, receivers, num_nodes)
    aggregated = jax.ops.segment_sum(attn[:, None] * messages, receivers, num_nodes)
    degree = jax.ops.segment_sum(jnp.ones_like(receivers), receivers, num_nodes)
    return jax.nn.relu(aggregated), degree, attn


def run():
    k1, k2, k3, k4 = random.split(random.PRNGKey(11), 4)
    data = jnp.array([1.5, -2.0, 3.0, 0.5, 4.0, -1.0, 2.5, 2.5])
    ids = jnp.array([0, 0, 1, 3, 3, 3, 5, 5])                # segments 2 and 4 empty
    wild = jnp.array([0, 7, 1, -1, 3, 3, 2, 9])              # 7, -1, 9 out of range
    ints = jnp.array([4, -3, 9, 2, 2, -8, 5, 1], dtype=jnp.int32)

    n_nodes, n_edges = 5, 12
    feats = random.normal(k1, (n_nodes, 3))
    senders = random.randint(k2, (n_edges,), 0, n_nodes)
    receivers = jnp.sort(random.randint(k3, (n_edges,), 0, n_nodes - 1))   # node 4 isolated
    weights = random.normal(k4, (3, 3)) * 0.5
    out, degree, attn = message_passing(feats, senders, receivers, weights, num_nodes=n_nodes)

    def loss(x):
        return jnp.sum(jax.ops.segment_max(x, ids, 6) ** 2) + jnp.sum(
            jax.ops.segment_sum(x * x, ids, 6, indices_are_sorted=True))

    ties = jnp.array([2.0, 2.0, 1.0, 3.0, 3.0, -1.0, 0.5, 0.5])
    grad_ties = jax.grad(lambda x: jnp.sum(jax.ops.segment_max(x, ids, 6)))(ties)
    grad_min = jax.grad(lambda x: jnp.sum(jax.ops.segment_min(x, ids, 6)))(ties)

    batch = random.normal(k1, (3, 8))
    batched = jax.jit(jax.vmap(lambda d: jax.ops.segment_sum(d, ids, 6)))(batch)
    batched_ids = jax.vmap(lambda i: jax.ops.segment_max(data, i, 4))(
        jnp.stack([ids % 4, (ids + 1) % 4, jnp.zeros_like(ids)]))
    table = jnp.arange(16.0).reshape(8, 2)
    counts = jax.ops.segment_sum(jnp.ones_like(data), ids, 6)
    means = jax.ops.segment_sum(data, ids, 6) / jnp.maximum(counts, 1.0)
    return {
        "sum": jax.ops.segment_sum(data, ids, num_segments=6),
        "sum_sorted": jax.ops.segment_sum(data, ids, 6, indices_are_sorted=True),
        "sum_default_segments": jax.ops.segment_sum(data, ids),
        "max": jax.ops.segment_max(data, ids, 6),
        "min": jax.ops.segment_min(data, ids, 6),
        "prod": jax.ops.segment_prod(data, ids, 6),
        "sum_wild": jax.ops.segment_sum(data, wild, 4),
        "max_wild": jax.ops.segment_max(data, wild, 4),
        "int_sum": jax.ops.segment_sum(ints, ids, 6),
        "int_max": jax.ops.segment_max(ints, ids, 6),
        "int_min": jax.ops.segment_min(ints, ids, 6),
        "int_prod": jax.ops.segment_prod(ints, ids, 6),
        "bool_count": jax.ops.segment_sum((data > 0).astype(jnp.int32), ids, 6),
        "rows_sum": jax.ops.segment_sum(table, ids, 6),
        "rows_max": jax.ops.segment_max(table, ids, 6),
        "means": means,
        "softmax": segment_softmax(data, ids, 6),
        "mp_out": out,
        "mp_degree": degree,
        "mp_attn": attn,
        "grad_loss": jax.grad(loss)(data),
        "grad_max_ties": grad_ties,
        "grad_min_ties": grad_min,
        "vmap_data": batched,
        "vmap_ids": batched_ids,
    }
