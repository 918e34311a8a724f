"""Differentiable sorting and ranking as learning-to-rank code writes it in JAX: hard ranks
from a double `jnp.argsort` (ties broken by position with `stable=True`, and descending),
`jnp.sort` of score matrices along each axis, `jnp.lexsort` of (relevance, query id),
`lax.sort` of several operands with `num_keys`, soft ranks from pairwise sigmoids with a
temperature, a soft Spearman correlation, DCG/NDCG@k with `jnp.take_along_axis` and
`lax.top_k`, a ListNet softmax cross-entropy and a pairwise hinge loss with their
gradients through the soft ranks (`jax.grad`, `vmap` over queries, `jit`), NaN scores
masked before sorting, and a soft top-k mask."""
import jax
import jax.numpy as jnp
from jax import lax, random


def hard_ranks(x, descending=False):
    order = jnp.argsort(x, stable=True, descending=descending)
    return jnp.argsort(order, stable=True)


def soft_ranks(x, temperature=0.1):
    diff = x[:, None] - x[None, :]                 # (n, n): x_i - x_j
    return 0.5 + jnp.sum(jax.nn.sigmoid(diff / temperature), axis=1)


def soft_spearman(x, y, temperature=0.1):
    rx = soft_ranks(x, temperature)
    ry = soft_ranks(y, temperature)
    rx = rx - jnp.mean(rx)
    ry = ry - jnp.mean(ry)
    return jnp.sum(rx * ry) / (jnp.linalg.norm(rx) * jnp.linalg.norm(ry))


def dcg_at_k(scores, relevance, k):
    _, idx = lax.top_k(scores, k)
    gains = jnp.take_along_axis(relevance, idx, axis=-1)
    discounts = 1.0 / jnp.log2(jnp.arange(k) + 2.0)
    return jnp.sum((2.0 ** gains - 1.0) * discounts, axis=-1)


def ndcg_at_k(scores, relevance, k):
    ideal = dcg_at_k(relevance, relevance, k)
    return jnp.where(ideal > 0, dcg_at_k(scores, relevance, k) / jnp.where(ideal > 0, ideal, 1.0),
                     0.0)


def soft_ndcg(scores, relevance, temperature=0.5):
    ranks = soft_ranks(-scores, temperature)       # rank 1 = largest score
    gains = 2.0 ** relevance - 1.0
    dcg = jnp.sum(gains / jnp.log2(1.0 + ranks), axis=-1)
    ideal_order = jnp.sort(relevance, axis=-1, descending=True)
    idcg = jnp.sum((2.0 ** ideal_order - 1.0) / jnp.log2(jnp.arange(relevance.shape[-1]) + 2.0))
    return dcg / idcg


def listnet_loss(scores, relevance):
    target = jax.nn.softmax(relevance)
    return -jnp.sum(target * jax.nn.log_softmax(scores))


def pairwise_hinge(scores, relevance, margin=1.0):
    better = relevance[:, None] > relevance[None, :]
    viol = jax.nn.relu(margin - (scores[:, None] - scores[None, :]))
    return jnp.sum(jnp.where(better, viol, 0.0)) / jnp.maximum(jnp.sum(better), 1)


def soft_topk_mask(x, k, temperature=0.1):
    # a threshold between the k-th and (k+1)-th largest values
    srt = jnp.sort(x, descending=True)
    thresh = 0.5 * (srt[k - 1] + srt[k])
    return jax.nn.sigmoid((x - thresh) / temperature)


def run():
    key = random.PRNGKey(5)
    k1, k2, k3 = random.split(key, 3)
    ties = jnp.array([3.0, 1.0, 3.0, 2.0, 1.0, 3.0, 0.5, 2.0])
    ints = jnp.array([4, 2, 4, 1, 2, 4, 0, 3], dtype=jnp.int32)
    scores = random.normal(k1, (4, 8))
    relevance = random.randint(k2, (4, 8), 0, 4).astype(jnp.float32)
    qid = jnp.array([2, 0, 1, 0, 2, 1, 0, 2])
    rel_flat = jnp.array([1, 3, 0, 3, 2, 2, 1, 0])
    doc_scores = jnp.array([0.3, -1.0, 2.0, 0.5, 0.5, 1.5, -0.2, 0.0])

    # lexsort: last key is primary -> group by query, then by descending relevance
    lex = jnp.lexsort((-rel_flat, qid))
    # lax.sort with three operands, two keys: (qid, -score) sort, doc index carried
    sorted_q, sorted_neg_score, carried = lax.sort(
        (qid, -doc_scores, jnp.arange(8)), num_keys=2)
    s_q, s_r = lax.sort((qid, rel_flat), num_keys=1, is_stable=True)

    nan_scores = scores[0].at[jnp.array([1, 5])].set(jnp.nan)
    masked = jnp.where(jnp.isnan(nan_scores), -jnp.inf, nan_scores)

    y = scores[1] + 0.3 * random.normal(k3, (8,))
    spearman_grad = jax.grad(soft_spearman)(scores[1], y)

    batched_ndcg = jax.jit(jax.vmap(ndcg_at_k, in_axes=(0, 0, None)), static_argnums=2)
    soft_ndcg_batch = jax.vmap(soft_ndcg)(scores, relevance)

    @jax.jit
    def loss_and_grads(s, r):
        def total(s):
            ln = jnp.mean(jax.vmap(listnet_loss)(s, r))
            ph = jnp.mean(jax.vmap(pairwise_hinge)(s, r))
            sn = jnp.mean(jax.vmap(soft_ndcg)(s, r))
            return ln + ph - sn, (ln, ph, sn)
        return jax.value_and_grad(total, has_aux=True)(s)

    (total, (ln, ph, sn)), g = loss_and_grads(scores, relevance)

    # a few gradient steps on the scores of one query
    s = scores[2]
    for _ in range(5):
        s = s - 0.5 * jax.grad(lambda s: -soft_ndcg(s, relevance[2]))(s)

    return {
        "argsort_ties_stable": jnp.argsort(ties, stable=True),
        "argsort_ties_desc": jnp.argsort(ties, stable=True, descending=True),
        "argsort_int_desc": jnp.argsort(ints, stable=True, descending=True),
        "hard_ranks": hard_ranks(ties),
        "hard_ranks_desc": hard_ranks(ties, descending=True),
        "sort_axis0": jnp.sort(scores, axis=0),
        "sort_axis1": jnp.sort(scores, axis=-1),
        "argsort_axis0": jnp.argsort(scores, axis=0),
        "sort_int_desc": jnp.sort(ints, descending=True),
        "lexsort": lex,
        "lax_sort_q": sorted_q,
        "lax_sort_neg_score": sorted_neg_score,
        "lax_sort_carried": carried,
        "lax_sort_stable_rel": s_r,
        "lax_sort_stable_q": s_q,
        "nan_sort": jnp.sort(nan_scores),
        "nan_argsort": jnp.argsort(nan_scores),
        "nan_argsort_desc": jnp.argsort(nan_scores, descending=True),
        "masked_top3": lax.top_k(masked, 3)[1],
        "nan_top3_vals": lax.top_k(nan_scores, 3)[0],
        "nan_top3_idx": lax.top_k(nan_scores, 3)[1],
        "soft_ranks_ties": soft_ranks(ties),
        "soft_ranks_cold": soft_ranks(ties, 0.01),
        "soft_ranks_rows": jax.vmap(soft_ranks)(scores),
        "soft_spearman": soft_spearman(scores[1], y),
        "spearman_grad": spearman_grad,
        "hard_spearman_ranks": hard_ranks(y).astype(jnp.float32),
        "ndcg_at_3": batched_ndcg(scores, relevance, 3),
        "ndcg_at_8": batched_ndcg(scores, relevance, 8),
        "ndcg_zero_relevance": ndcg_at_k(scores[0], jnp.zeros(8), 3),
        "soft_ndcg": soft_ndcg_batch,
        "total_loss": total,
        "listnet": ln,
        "hinge": ph,
        "grad_scores": g,
        "improved_scores": s,
        "soft_ndcg_after": soft_ndcg(s, relevance[2]),
        "soft_topk_mask": soft_topk_mask(scores[3], 3),
        "topk_mask_grad": jax.grad(lambda x: jnp.sum(soft_topk_mask(x, 3) * x))(scores[3]),
        "searchsorted_ranks": jnp.searchsorted(jnp.sort(ties), ties, side="right"),
    }


if __name__ == "__main__":
    print(run())
