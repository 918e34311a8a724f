"""Losses of representation learning and distillation, written by hand as JAX training code
writes them (no optax): L2-normalised embeddings (`jnp.linalg.norm` with `keepdims`, an
`eps` in a `jnp.maximum`), the CLIP loss with a learnable log temperature (its gradient
included), SimCLR's NT-Xent with the self-similarity masked to `-inf` by `jnp.where`
(`logsumexp` and its gradient, where the masked entries get exactly zero), InfoNCE with
`jax.nn.log_softmax(where=...)`, a triplet loss with batch-hard mining (`jnp.max`/`jnp.min`
over masked distances), a margin ranking hinge, label-smoothed cross-entropy against
`optax`-style integer labels and one-hot targets, focal loss from `jax.nn.log_sigmoid`,
sigmoid binary cross-entropy with logits at large |logits|, the knowledge-distillation KL
at a temperature, Huber and cosine-embedding losses, and gradients of each with respect to
the embeddings."""
import jax
import jax.numpy as jnp
from jax import random


def l2_normalize(x, axis=-1, eps=1e-12):
    return x / jnp.maximum(jnp.linalg.norm(x, axis=axis, keepdims=True), eps)


def clip_loss(img, txt, log_temp):
    img, txt = l2_normalize(img), l2_normalize(txt)
    logits = img @ txt.T * jnp.exp(log_temp)
    labels = jnp.arange(img.shape[0])
    li = -jnp.mean(jax.nn.log_softmax(logits, axis=1)[labels, labels])
    lt = -jnp.mean(jax.nn.log_softmax(logits, axis=0)[labels, labels])
    return 0.5 * (li + lt)


def nt_xent(z1, z2, temperature=0.5):
    z = l2_normalize(jnp.concatenate([z1, z2], axis=0))
    n = z1.shape[0]
    sim = z @ z.T / temperature
    eye = jnp.eye(2 * n, dtype=bool)
    sim = jnp.where(eye, -jnp.inf, sim)
    pos = jnp.concatenate([jnp.arange(n, 2 * n), jnp.arange(n)])
    return jnp.mean(jax.nn.logsumexp(sim, axis=1) - sim[jnp.arange(2 * n), pos])


def info_nce_where(q, k):
    logits = l2_normalize(q) @ l2_normalize(k).T / 0.1
    mask = jnp.ones_like(logits, dtype=bool).at[0, 1].set(False).at[2, 0].set(False)
    logp = jax.nn.log_softmax(logits, axis=-1, where=mask)
    return -jnp.mean(jnp.diagonal(logp))


def pairwise_sq_dist(x):
    sq = jnp.sum(x * x, axis=-1)
    return jnp.maximum(sq[:, None] - 2.0 * x @ x.T + sq[None, :], 0.0)


def batch_hard_triplet(emb, labels, margin=0.5):
    d = jnp.sqrt(pairwise_sq_dist(emb) + 1e-12)
    same = labels[:, None] == labels[None, :]
    not_self = ~jnp.eye(labels.shape[0], dtype=bool)
    hardest_pos = jnp.max(jnp.where(same & not_self, d, 0.0), axis=1)
    hardest_neg = jnp.min(jnp.where(same, jnp.inf, d), axis=1)
    return jnp.mean(jax.nn.relu(hardest_pos - hardest_neg + margin)), hardest_pos, hardest_neg


def label_smoothed_ce(logits, labels, smoothing=0.1):
    n = logits.shape[-1]
    targets = jax.nn.one_hot(labels, n) * (1 - smoothing) + smoothing / n
    return -jnp.sum(targets * jax.nn.log_softmax(logits), axis=-1)


def focal_loss(logits, targets, gamma=2.0, alpha=0.25):
    p = jax.nn.sigmoid(logits)
    ce = -(targets * jax.nn.log_sigmoid(logits) + (1 - targets) * jax.nn.log_sigmoid(-logits))
    p_t = p * targets + (1 - p) * (1 - targets)
    a_t = alpha * targets + (1 - alpha) * (1 - targets)
    return a_t * (1 - p_t) ** gamma * ce


def sigmoid_bce(logits, targets):
    return jnp.maximum(logits, 0) - logits * targets + jnp.log1p(jnp.exp(-jnp.abs(logits)))


def distill_kl(student, teacher, t=4.0):
    p_t = jax.nn.softmax(teacher / t)
    return t * t * jnp.sum(p_t * (jax.nn.log_softmax(teacher / t)
                                  - jax.nn.log_softmax(student / t)), axis=-1)


def huber(pred, target, delta=1.0):
    err = jnp.abs(pred - target)
    return jnp.where(err <= delta, 0.5 * err ** 2, delta * (err - 0.5 * delta))


def cosine_embedding(a, b, y, margin=0.2):
    cos = jnp.sum(l2_normalize(a) * l2_normalize(b), -1)
    return jnp.where(y > 0, 1 - cos, jnp.maximum(0.0, cos - margin))


def run():
    key = random.PRNGKey(3)
    k1, k2, k3, k4, k5 = random.split(key, 5)
    img = random.normal(k1, (5, 6))
    txt = img + 0.5 * random.normal(k2, (5, 6))
    z2 = img + 0.3 * random.normal(k3, (5, 6))
    labels = jnp.array([0, 1, 0, 2, 1, 2])
    emb = random.normal(k4, (6, 3))
    logits = random.normal(k5, (4, 5)) * 3.0
    cls = jnp.array([1, 0, 4, 3])
    big = jnp.array([-100.0, -20.0, -1.0, 0.0, 1.0, 20.0, 100.0])
    tgt = jnp.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    log_temp = jnp.log(1 / 0.07)
    clip_val, clip_grads = jax.value_and_grad(clip_loss, argnums=(0, 1, 2))(img, txt, log_temp)
    nt_val, nt_grad = jax.value_and_grad(nt_xent)(img, z2)
    zero = jnp.zeros((2, 6)).at[0, 0].set(1.0)
    triplet, hp, hn = batch_hard_triplet(emb, labels)
    return {
        "clip_loss": clip_val,
        "clip_grad_img": clip_grads[0],
        "clip_grad_txt": clip_grads[1][0],
        "clip_grad_log_temp": clip_grads[2],
        "nt_xent": nt_val,
        "nt_xent_grad": nt_grad,
        "nt_xent_lse_grad_masked": jax.grad(lambda s: jnp.sum(jax.nn.logsumexp(
            jnp.where(jnp.eye(3, dtype=bool), -jnp.inf, s), axis=1)))(jnp.ones((3, 3))),
        "info_nce_where": info_nce_where(img, txt),
        "info_nce_where_grad": jax.grad(info_nce_where)(img, txt)[:3],
        "normalize_zero_row": l2_normalize(zero),
        "normalize_zero_grad": jax.grad(lambda v: jnp.sum(l2_normalize(v)[0]))(zero),
        "triplet": triplet,
        "hardest_pos": hp,
        "hardest_neg": hn,
        "triplet_grad": jax.grad(lambda e: batch_hard_triplet(e, labels)[0])(emb),
        "margin_rank": jnp.mean(jax.nn.relu(0.3 - (img[:, 0] - txt[:, 0]))),
        "smoothed_ce": label_smoothed_ce(logits, cls),
        "smoothed_ce_grad": jax.grad(lambda lg: jnp.mean(label_smoothed_ce(lg, cls)))(logits),
        "smoothed_ce_out_of_range": label_smoothed_ce(logits, jnp.array([5, -1, 0, 2])),
        "focal": focal_loss(big, tgt),
        "focal_grad": jax.vmap(jax.grad(focal_loss))(big, tgt),
        "bce": sigmoid_bce(big, tgt),
        "bce_grad": jax.vmap(jax.grad(sigmoid_bce))(big, tgt),
        "bce_log_sigmoid": -(tgt * jax.nn.log_sigmoid(big) + (1 - tgt) * jax.nn.log_sigmoid(-big)),
        "distill": distill_kl(logits, logits[::-1]),
        "distill_grad": jax.grad(lambda s: jnp.mean(distill_kl(s, logits[::-1])))(logits),
        "distill_self": distill_kl(logits, logits),
        "huber": huber(big / 50.0, jnp.zeros(7)),
        "huber_grad": jax.vmap(jax.grad(huber))(jnp.array([-2.0, -1.0, 0.0, 1.0, 2.0]),
                                                jnp.zeros(5)),
        "cosine_embedding": cosine_embedding(img, txt, jnp.array([1, -1, 1, -1, -1])),
        "cosine_embedding_grad": jax.grad(lambda a: jnp.sum(cosine_embedding(
            a, txt, jnp.array([1, -1, 1, -1, -1]))))(img)[1],
    }


if __name__ == "__main__":
    print(run())
