"""Classical hypothesis tests written with `jax.numpy` and `jax.scipy`, as statistics code
ports them from SciPy: Welch's two-sample t test with the p-value from the regularised
incomplete beta function (`betainc`), a chi-square goodness-of-fit test (`stats.chi2.sf`
and `gammaincc`), the Kolmogorov-Smirnov statistic from empirical CDFs (`searchsorted`
with both sides), average ranks with ties (double `argsort`, `unique(return_inverse=,
return_counts=, size=)` and `segment_sum`), the Mann-Whitney U and Spearman correlation
from them, Fisher's exact test from hypergeometric probabilities (`gammaln`), an exact
binomial test (`stats.binom.pmf`), a bootstrap confidence interval (`random.randint`
resampling under `vmap`, `percentile`), a permutation test (`random.permutation` over
`vmap`ped keys), and Benjamini-Hochberg adjusted p-values (`argsort`, a reversed
`lax.cummin`, scatter back with `.at[].set`)."""
import jax
import jax.numpy as jnp
import jax.scipy.special as sp
import jax.scipy.stats as stats
from jax import lax, random


def t_sf(t, df):
    x = df / (df + t ** 2)
    return 0.5 * sp.betainc(df / 2.0, 0.5, x)


def welch(a, b):
    va, vb = jnp.var(a, ddof=1) / a.size, jnp.var(b, ddof=1) / b.size
    t = (jnp.mean(a) - jnp.mean(b)) / jnp.sqrt(va + vb)
    df = (va + vb) ** 2 / (va ** 2 / (a.size - 1) + vb ** 2 / (b.size - 1))
    return t, df, 2.0 * t_sf(jnp.abs(t), df)


def average_ranks(x):
    n = x.size
    vals, inv, counts = jnp.unique(x, return_inverse=True, return_counts=True, size=n,
                                   fill_value=jnp.inf)
    order_rank = jnp.argsort(jnp.argsort(x, stable=True), stable=True) + 1.0
    sums = jax.ops.segment_sum(order_rank, inv.ravel(), num_segments=n)
    return (sums / jnp.maximum(counts, 1))[inv.ravel()]


def ks_stat(a, b):
    both = jnp.sort(jnp.concatenate([a, b]))
    cdf_a = jnp.searchsorted(jnp.sort(a), both, side="right") / a.size
    cdf_b = jnp.searchsorted(jnp.sort(b), both, side="right") / b.size
    left_a = jnp.searchsorted(jnp.sort(a), both, side="left") / a.size
    return jnp.max(jnp.abs(cdf_a - cdf_b)), jnp.sum(cdf_a - left_a)


def log_hypergeom(k, n_a, n_b, n_draw):
    def log_comb(n, r):
        return sp.gammaln(n + 1.0) - sp.gammaln(r + 1.0) - sp.gammaln(n - r + 1.0)
    return log_comb(n_a, k) + log_comb(n_b, n_draw - k) - log_comb(n_a + n_b, n_draw)


def fisher_exact(table):
    (a, b), (c, d) = table
    n_a, n_b, n_draw = a + b, c + d, a + c
    ks = jnp.arange(0.0, 30.0)
    valid = (ks <= n_a) & (ks <= n_draw) & (n_draw - ks <= n_b)
    probs = jnp.where(valid, jnp.exp(log_hypergeom(ks, n_a, n_b, n_draw)), 0.0)
    p_obs = jnp.exp(log_hypergeom(a, n_a, n_b, n_draw))
    return jnp.sum(jnp.where(probs <= p_obs * (1 + 1e-6), probs, 0.0)), jnp.sum(probs)


def benjamini_hochberg(p):
    m = p.size
    order = jnp.argsort(p)
    scaled = p[order] * m / jnp.arange(1, m + 1)
    adj = jnp.minimum(lax.cummin(scaled, reverse=True), 1.0)
    return jnp.zeros_like(p).at[order].set(adj)


def run():
    key = random.PRNGKey(42)
    ka, kb, kboot, kperm = random.split(key, 4)
    a = 10.0 + 2.0 * random.normal(ka, (15,))
    b = 11.5 + 3.0 * random.normal(kb, (12,))
    t, df, p_t = welch(a, b)

    observed = jnp.array([18.0, 22.0, 29.0, 31.0])
    expected = jnp.full(4, observed.sum() / 4)
    chi2 = jnp.sum((observed - expected) ** 2 / expected)
    p_chi2 = stats.chi2.sf(chi2, 3)

    d, ties = ks_stat(a, b)
    scores = jnp.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 5.0, 3.0, 5.0])
    ranks = average_ranks(scores)
    ranks_ab = average_ranks(jnp.concatenate([jnp.round(a), jnp.round(b)]))
    u = jnp.sum(ranks_ab[:15]) - 15 * 16 / 2
    rx = average_ranks(a[:12])
    ry = average_ranks(b)
    spearman = jnp.corrcoef(rx, ry)[0, 1]

    p_fisher, total = fisher_exact(jnp.array([[8.0, 2.0], [1.0, 5.0]]))
    k = jnp.arange(21)
    pmf = stats.binom.pmf(k, 20, 0.3)
    p_binom = jnp.sum(jnp.where(pmf <= stats.binom.pmf(11, 20, 0.3) * (1 + 1e-6), pmf, 0.0))

    def boot_mean(kk):
        idx = random.randint(kk, (a.size,), 0, a.size)
        return jnp.mean(a[idx])
    boots = jax.vmap(boot_mean)(random.split(kboot, 200))
    ci = jnp.percentile(boots, jnp.array([2.5, 97.5]))

    pooled = jnp.concatenate([a, b])
    observed_diff = jnp.mean(a) - jnp.mean(b)

    def perm_diff(kk):
        s = random.permutation(kk, pooled)
        return jnp.mean(s[:15]) - jnp.mean(s[15:])
    diffs = jax.vmap(perm_diff)(random.split(kperm, 300))
    p_perm = jnp.mean(jnp.abs(diffs) >= jnp.abs(observed_diff))

    pvals = jnp.array([0.01, 0.04, 0.03, 0.20, 0.001, 0.5, 0.04])
    return {
        "welch": jnp.stack([t, df, p_t]),
        "t_sf_table": t_sf(jnp.array([0.0, 1.0, 2.0, 5.0]), jnp.array([1.0, 5.0, 10.0, 30.0])),
        "chi2": jnp.stack([chi2, p_chi2, sp.gammaincc(1.5, chi2 / 2.0)]),
        "ks": jnp.stack([d, ties]),
        "ranks": ranks,
        "mann_whitney_u": u,
        "spearman": spearman,
        "fisher": jnp.stack([p_fisher, total]),
        "binom_test": p_binom,
        "boot_ci": ci,
        "boot_mean": jnp.mean(boots),
        "perm_p": p_perm,
        "perm_diffs": diffs[:8],
        "bh": benjamini_hochberg(pvals),
        "bh_reject": benjamini_hochberg(pvals) < 0.05,
    }


if __name__ == "__main__":
    print(run())
