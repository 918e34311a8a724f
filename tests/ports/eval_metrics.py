"""Evaluation metrics as JAX training loops compute them on device, with ties on purpose
(scores rounded to a grid): ROC AUC from a stable descending `argsort`, `cumsum` of true
and false positives and `jnp.trapezoid`, average precision, top-k accuracy with
`lax.top_k` and with `argsort` (which break ties differently), a confusion matrix
accumulated with `.at[].add` on repeated index pairs, precision/recall/F1 per class with
`jnp.where` guards against empty classes, the expected calibration error from
`jnp.digitize` bins and `jax.ops.segment_sum`, `jnp.histogram` with counts, explicit edges
and `density=True`, percentiles with each `method`, `jnp.unique(size=, return_counts=True)`,
`jnp.corrcoef`, `jnp.average` with weights, `jnp.nanmean` over classes with no examples,
and the metrics batched over several model checkpoints with `vmap` under `jit`."""
import jax
import jax.numpy as jnp
from jax import lax, random


def roc_auc(scores, labels):
    order = jnp.argsort(scores, descending=True, stable=True)
    lab = labels[order]
    tps = jnp.concatenate([jnp.zeros(1), jnp.cumsum(lab)])
    fps = jnp.concatenate([jnp.zeros(1), jnp.cumsum(1 - lab)])
    return jnp.trapezoid(tps / tps[-1], fps / fps[-1])


def average_precision(scores, labels):
    order = jnp.argsort(-scores, stable=True)
    lab = labels[order]
    precision = jnp.cumsum(lab) / jnp.arange(1, lab.shape[0] + 1)
    return jnp.sum(precision * lab) / jnp.maximum(jnp.sum(lab), 1)


def per_class(pred, y, num_classes):
    cm = jnp.zeros((num_classes, num_classes), jnp.int32).at[y, pred].add(1)
    tp = jnp.diagonal(cm)
    predicted = jnp.sum(cm, axis=0)
    actual = jnp.sum(cm, axis=1)
    precision = jnp.where(predicted > 0, tp / jnp.maximum(predicted, 1), 0.0)
    recall = jnp.where(actual > 0, tp / jnp.maximum(actual, 1), jnp.nan)
    f1 = jnp.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    return cm, precision, recall, f1


def ece(conf, correct, bins=5):
    edges = jnp.linspace(0.0, 1.0, bins + 1)
    idx = jnp.clip(jnp.digitize(conf, edges[1:-1]), 0, bins - 1)
    count = jax.ops.segment_sum(jnp.ones_like(conf), idx, bins)
    acc = jax.ops.segment_sum(correct.astype(jnp.float32), idx, bins)
    cs = jax.ops.segment_sum(conf, idx, bins)
    return jnp.sum(jnp.abs(acc - cs)) / conf.shape[0], count


def run():
    key = random.PRNGKey(8)
    k1, k2, k3, k4 = random.split(key, 4)
    scores = jnp.round(random.uniform(k1, (24,)) * 5) / 5
    labels = random.bernoulli(k2, 0.5, (24,)).astype(jnp.int32)
    logits = jnp.round(random.normal(k3, (12, 5)) * 2) / 2
    y = random.randint(k4, (12,), 0, 4)            # class 4 never occurs
    probs = jax.nn.softmax(logits)
    pred = jnp.argmax(logits, axis=-1)
    cm, precision, recall, f1 = per_class(pred, y, 5)
    conf = jnp.max(probs, axis=-1)
    ece_val, bin_counts = ece(conf, pred == y)
    checkpoints = jnp.stack([logits, logits * 0.5 + 0.25, -logits])

    @jax.jit
    def batch_metrics(all_logits):
        def one(lg):
            p = jnp.argmax(lg, axis=-1)
            top2 = jnp.any(lax.top_k(lg, 2)[1] == y[:, None], axis=-1)
            return jnp.stack([jnp.mean(p == y), jnp.mean(top2),
                              -jnp.mean(jax.nn.log_softmax(lg)[jnp.arange(12), y])])
        return jax.vmap(one)(all_logits)

    return {
        "auc": roc_auc(scores, labels),
        "average_precision": average_precision(scores, labels),
        "argsort_desc": jnp.argsort(scores, descending=True),
        "argsort_desc_stable": jnp.argsort(scores, descending=True, stable=True),
        "argsort_neg": jnp.argsort(-scores),
        "top_k_idx": lax.top_k(logits, 3)[1],
        "argsort_top2": jnp.argsort(logits, axis=-1)[:, -2:],
        "argmax_ties": pred,
        "top2_acc_lax": jnp.mean(jnp.any(lax.top_k(logits, 2)[1] == y[:, None], axis=-1)),
        "top2_acc_argsort": jnp.mean(jnp.any(jnp.argsort(logits, axis=-1)[:, -2:]
                                             == y[:, None], axis=-1)),
        "confusion": cm,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "macro_f1_nan": jnp.nanmean(jnp.where(jnp.isnan(recall), jnp.nan, f1)),
        "ece": ece_val,
        "ece_bin_counts": bin_counts,
        "hist": jnp.histogram(scores, bins=4, range=(0.0, 1.0))[0],
        "hist_edges": jnp.histogram(scores, bins=jnp.array([0.0, 0.3, 0.5, 1.0]))[0],
        "hist_density": jnp.histogram(scores, bins=5, density=True)[0],
        "percentiles": jnp.stack([jnp.percentile(scores, 30.0, method=m) for m in
                                  ("linear", "lower", "higher", "nearest", "midpoint")]),
        "quantile_nearest": jnp.quantile(jnp.arange(4.0), jnp.array([0.5, 0.25, 0.75]),
                                         method="nearest"),
        "unique_counts": jnp.stack(jnp.unique(y, return_counts=True, size=5, fill_value=-1)),
        "corrcoef_row": jnp.corrcoef(logits[:4])[1],
        "weighted_average": jnp.average(logits, axis=0, weights=jnp.arange(12.0)),
        "checkpoint_metrics": batch_metrics(checkpoints),
    }


if __name__ == "__main__":
    print(run())
