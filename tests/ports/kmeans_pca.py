"""Clustering and dimensionality reduction as JAX users write them: pairwise distances by
broadcasting (cdist-style, and the expanded ||x||^2 - 2 x.y + ||y||^2 form), k-means with
`lax.fori_loop` and one-hot centroid updates, cluster assignment with `argmin`, the
inertia's gradient, PCA via `jnp.linalg.svd` of centred data (components sign-fixed the
way scikit-learn does, explained variance ratios), whitening, and reconstruction error
with a varying number of components."""
import jax
import jax.numpy as jnp
from jax import lax, random


def pairwise_sq_dists(x, y):
    return jnp.sum((x[:, None, :] - y[None, :, :]) ** 2, axis=-1)


def pairwise_sq_dists_expanded(x, y):
    xx = jnp.sum(x * x, axis=1)[:, None]
    yy = jnp.sum(y * y, axis=1)[None, :]
    return jnp.maximum(xx - 2.0 * x @ y.T + yy, 0.0)


def cdist(x, y, p=2.0):
    return jnp.sum(jnp.abs(x[:, None, :] - y[None, :, :]) ** p, axis=-1) ** (1.0 / p)


@jax.jit
def kmeans_step(centroids, x):
    d = pairwise_sq_dists(x, centroids)
    assign = jnp.argmin(d, axis=1)
    onehot = jax.nn.one_hot(assign, centroids.shape[0])
    counts = onehot.sum(axis=0)
    sums = onehot.T @ x
    new = jnp.where(counts[:, None] > 0, sums / jnp.maximum(counts, 1.0)[:, None], centroids)
    return new, assign


def kmeans(x, k, key, iters=10):
    init = x[random.choice(key, x.shape[0], (k,), replace=False)]

    def body(_, c):
        return kmeans_step(c, x)[0]

    centroids = lax.fori_loop(0, iters, body, init)
    _, assign = kmeans_step(centroids, x)
    inertia = jnp.sum(jnp.min(pairwise_sq_dists(x, centroids), axis=1))
    return centroids, assign, inertia


def pca(x, n_components):
    mean = x.mean(axis=0)
    xc = x - mean
    u, s, vt = jnp.linalg.svd(xc, full_matrices=False)
    # make the output deterministic: the largest |entry| of each u column is positive
    signs = jnp.sign(u[jnp.argmax(jnp.abs(u), axis=0), jnp.arange(u.shape[1])])
    u = u * signs
    vt = vt * signs[:, None]
    var = s ** 2 / (x.shape[0] - 1)
    ratio = var / var.sum()
    comps = vt[:n_components]
    scores = xc @ comps.T
    return comps, scores, ratio, mean, s


def run():
    key = random.PRNGKey(0)
    k1, k2, k3, k4 = random.split(key, 4)
    centers = jnp.array([[0.0, 0.0], [4.0, 4.0], [-4.0, 3.0]])
    pts = jnp.concatenate([c + 0.6 * random.normal(k, (20, 2))
                           for c, k in zip(centers, random.split(k1, 3))])
    centroids, assign, inertia = kmeans(pts, 3, k2)
    order = jnp.argsort(centroids[:, 0])

    a = random.normal(k3, (5, 3))
    b = random.normal(k4, (4, 3))
    d_direct = pairwise_sq_dists(a, b)
    d_expanded = pairwise_sq_dists_expanded(a, b)

    # correlated 4-d data living mostly on a 2-d plane
    z = random.normal(random.fold_in(key, 1), (50, 2))
    mix = jnp.array([[2.0, 0.5, 0.0, 1.0], [0.0, 1.0, 3.0, -1.0]])
    data = z @ mix + 0.05 * random.normal(random.fold_in(key, 2), (50, 4))
    comps, scores, ratio, mean, s = pca(data, 2)
    recon = scores @ comps + mean
    errs = jnp.stack([jnp.mean((data - ((data - mean) @ pca(data, k)[0].T @ pca(data, k)[0]
                                        + mean)) ** 2) for k in (1, 2, 3)])
    white = scores / jnp.sqrt(ratio[:2] * jnp.sum(s ** 2) / (data.shape[0] - 1))
    inertia_grad = jax.grad(
        lambda c: jnp.sum(jnp.min(pairwise_sq_dists(pts, c), axis=1)))(centroids + 0.25)
    return {
        "centroids_sorted": centroids[order],
        "cluster_sizes": jnp.bincount(assign, length=3)[order],
        "inertia": inertia,
        "d_direct": d_direct,
        "d_expanded": d_expanded,
        "cdist_l1": cdist(a, b, 1.0),
        "cdist_l2": cdist(a, b),
        "self_dist_diag": jnp.diagonal(pairwise_sq_dists_expanded(a, a)),
        "nearest": jnp.argmin(d_direct, axis=1),
        "explained_ratio": ratio,
        "singular_values": s,
        "components": comps,
        "scores_head": scores[:5],
        "recon_err": jnp.mean((recon - data) ** 2),
        "recon_errs_k": errs,
        "white_cov": jnp.cov(white.T),
        "inertia_grad": inertia_grad[order],
    }


if __name__ == "__main__":
    print(run())
