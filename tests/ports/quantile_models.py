"""Quantile regression as forecasting notebooks write it in JAX: the pinball (check) loss
for several quantile levels at once, a linear model and a small MLP (`jax.nn.relu`
hidden layer, non-crossing quantiles built from `jax.nn.softplus` increments and a
`jnp.cumsum`), a monotonic crossing penalty with `jax.nn.relu`, training with
`jax.example_libraries.optimizers.adam` (and an `exponential_decay` step size) in a
`jit`-compiled step, `jax.tree_util.tree_map` over parameter dicts (weight decay, norms,
parameter counts), empirical coverage of the fitted quantiles; and the empirical side:
`jnp.quantile`/`jnp.percentile` with every `method=` (scalar and array `q`, `axis` an int,
a tuple or None, `keepdims`), weighted `inverted_cdf` quantiles, `jnp.nanquantile` and
`jnp.nanpercentile` with NaNs (an all-NaN column too), `jnp.median`/`jnp.nanmedian` of
float and int32 data, `vmap` and `jit` over the level `q`, and gradients through
`jnp.quantile` and `jnp.median` (with respect to the data and to `q`)."""
import jax
import jax.numpy as jnp
from jax import random
from jax.example_libraries import optimizers
from jax.tree_util import tree_map, tree_leaves, tree_reduce

TAUS = jnp.array([0.1, 0.5, 0.9])
METHODS = ("linear", "lower", "higher", "midpoint", "nearest", "inverted_cdf")


def make_data(key, n=64):
    kx, ke = random.split(key)
    x = random.uniform(kx, (n, 1), minval=-1.0, maxval=1.0)
    noise = random.normal(ke, (n, 1))
    y = 2.0 * x + 1.0 + (0.3 + 0.5 * (x + 1.0)) * noise
    return x, y[:, 0]


def pinball(pred, y, taus):
    err = y[:, None] - pred                                     # (n, q)
    return jnp.mean(jnp.maximum(taus * err, (taus - 1.0) * err))


def linear_init(key):
    return {"w": 0.1 * random.normal(key, (1, TAUS.shape[0])), "b": jnp.zeros(TAUS.shape[0])}


def linear_apply(params, x):
    return x @ params["w"] + params["b"]


def mlp_init(key, hidden=8):
    k1, k2, k3 = random.split(key, 3)
    return {
        "hidden": {"w": random.normal(k1, (1, hidden)) * 0.8, "b": jnp.zeros(hidden)},
        "base": {"w": random.normal(k2, (hidden, 1)) * 0.3, "b": jnp.zeros(1)},
        "gaps": {"w": random.normal(k3, (hidden, TAUS.shape[0] - 1)) * 0.3,
                 "b": jnp.full(TAUS.shape[0] - 1, -1.0)},
    }


def mlp_apply(params, x):
    h = jax.nn.relu(x @ params["hidden"]["w"] + params["hidden"]["b"])
    base = h @ params["base"]["w"] + params["base"]["b"]
    gaps = jax.nn.softplus(h @ params["gaps"]["w"] + params["gaps"]["b"])
    return jnp.concatenate([base, base + jnp.cumsum(gaps, axis=-1)], axis=-1)


def crossing_penalty(pred):
    return jnp.mean(jnp.sum(jax.nn.relu(pred[:, :-1] - pred[:, 1:]), axis=-1))


def fit(apply_fn, params, x, y, steps=60, penalty=1.0, decay=1e-3):
    opt_init, opt_update, get_params = optimizers.adam(
        optimizers.exponential_decay(0.05, decay_steps=20, decay_rate=0.7))

    def loss_fn(p):
        pred = apply_fn(p, x)
        l2 = sum(jnp.sum(w ** 2) for w in tree_leaves(p))
        return pinball(pred, y, TAUS) + penalty * crossing_penalty(pred) + decay * l2

    @jax.jit
    def step(i, state):
        p = get_params(state)
        loss, g = jax.value_and_grad(loss_fn)(p)
        g = tree_map(lambda t: jnp.clip(t, -1.0, 1.0), g)
        return opt_update(i, g, state), loss

    state = opt_init(params)
    losses = []
    for i in range(steps):
        state, loss = step(i, state)
        losses.append(loss)
    return get_params(state), jnp.stack(losses)


def run():
    key = random.PRNGKey(2024)
    k_data, k_lin, k_mlp, k_tab, k_w = random.split(key, 5)
    x, y = make_data(k_data)
    lin0 = linear_init(k_lin)
    lin, lin_losses = fit(linear_apply, lin0, x, y)
    mlp0 = mlp_init(k_mlp)
    mlp, mlp_losses = fit(mlp_apply, mlp0, x, y, steps=40)
    grid = jnp.linspace(-1.0, 1.0, 7)[:, None]
    lin_pred = linear_apply(lin, grid)
    mlp_pred = mlp_apply(mlp, grid)
    coverage = jnp.mean(y[:, None] < mlp_apply(mlp, x), axis=0)
    n_params = tree_reduce(lambda a, b: a + b, tree_map(lambda t: t.size, mlp))
    norms = tree_map(lambda t: jnp.sqrt(jnp.sum(t ** 2)), mlp)
    moved = tree_map(lambda a, b: jnp.max(jnp.abs(a - b)), mlp, mlp0)

    # the empirical side
    table = jnp.round(random.normal(k_tab, (9, 4)) * 10.0) / 4.0     # ties included
    q = jnp.array([0.0, 0.25, 0.5, 0.8, 1.0])
    out = {}
    for m in METHODS:
        out[f"quantile_{m}_axis0"] = jnp.quantile(table, q, axis=0, method=m)
        out[f"quantile_{m}_all"] = jnp.quantile(table, 0.3, method=m)
        out[f"percentile_{m}_axis1_keep"] = jnp.percentile(table, 62.5, axis=1, method=m,
                                                           keepdims=True)
    out["quantile_tuple_axis"] = jnp.quantile(table.reshape(3, 3, 4), q, axis=(0, 2),
                                              keepdims=True)
    weights = random.uniform(k_w, (9,), minval=0.1, maxval=2.0)
    out["weighted_inverted_cdf"] = jnp.quantile(table[:, 0], q, method="inverted_cdf",
                                                weights=weights)
    with_nans = table.at[jnp.array([0, 3, 4]), jnp.array([1, 1, 2])].set(jnp.nan)
    with_nans = with_nans.at[:, 3].set(jnp.nan)
    out["nanquantile_axis0"] = jnp.nanquantile(with_nans, q, axis=0)
    out["nanpercentile_nearest"] = jnp.nanpercentile(with_nans, 40.0, axis=0,
                                                     method="nearest")
    out["quantile_with_nans"] = jnp.quantile(with_nans, 0.5, axis=0)
    out["nanmedian"] = jnp.nanmedian(with_nans, axis=0)
    ints = (table * 4).astype(jnp.int32)
    out["median_int"] = jnp.median(ints, axis=0)
    out["median_int_all"] = jnp.median(ints)
    out["quantile_int_lower"] = jnp.quantile(ints, 0.35, axis=1, method="lower")
    out["median_keepdims"] = jnp.median(table, axis=1, keepdims=True)
    grad_q = jax.grad(lambda t: jnp.sum(jnp.quantile(t, jnp.array([0.2, 0.7]), axis=0)))(
        table + 0.01 * jnp.arange(36.0).reshape(9, 4))
    grad_med = jax.grad(lambda v: jnp.median(v))(y[:11])
    levels = jnp.array([0.05, 0.5, 0.93])
    out["vmap_q_linear"] = jax.vmap(lambda t: jnp.quantile(table, t, axis=0))(levels)
    out["vmap_q_nearest"] = jax.vmap(lambda t: jnp.quantile(table, t, axis=1,
                                                            method="nearest"))(levels)
    out["jit_traced_q"] = jax.jit(lambda t: jnp.percentile(y, t, method="midpoint"))(
        levels * 100.0)
    out["grad_wrt_q"] = jax.vmap(jax.grad(lambda t: jnp.quantile(y, t)))(levels)
    return {
        "lin_losses": lin_losses[::6],
        "lin_w": lin["w"],
        "lin_b": lin["b"],
        "lin_pred": lin_pred,
        "mlp_losses": mlp_losses[::4],
        "mlp_pred": mlp_pred,
        "mlp_monotone": jnp.all(jnp.diff(mlp_pred, axis=-1) >= 0),
        "coverage": coverage,
        "n_params": n_params,
        "norm_hidden_w": norms["hidden"]["w"],
        "norm_gaps_b": norms["gaps"]["b"],
        "moved_base_w": moved["base"]["w"],
        "crossing_lin": crossing_penalty(lin_pred),
        **out,
        "grad_quantile": grad_q,
        "grad_median": grad_med,
    }


if __name__ == "__main__":
    print(run())
