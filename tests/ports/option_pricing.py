"""European and American option pricing as quant-finance notebooks write it in JAX:
Black-Scholes calls and puts with `jax.scipy.stats.norm.cdf`/`pdf`, the greeks by
automatic differentiation (delta and vega with `jax.grad(argnums=...)`, gamma with
`jax.hessian`, all first-order greeks at once with `jax.jacfwd` over a parameter vector,
theta by `grad` in the maturity) checked against the closed forms, `vmap` over a strike
ladder and `jnp.vectorize` over a grid, put-call parity, implied volatility by Newton's
method in `lax.while_loop` (vega from `grad`, iteration count out as int32, `vmap` over
quotes), Monte Carlo prices with `random.normal` and antithetic variates, log-normal paths
by `jnp.cumsum`/`jnp.exp` (and the same with `jnp.cumprod` of gross returns), an Asian
(arithmetic-average) call and a down-and-out barrier with `jnp.any`/`jnp.min` over paths,
pathwise Monte Carlo delta by `grad` through the simulation, and a Cox-Ross-Rubinstein
binomial tree for European and American puts as `lax.fori_loop` over a fixed-size array of
node values with `jnp.roll`, a mask of live nodes and `jnp.maximum` for early exercise,
and the early-exercise premium as a function of the strike."""
import jax
import jax.numpy as jnp
from jax import lax, random
from jax.scipy.stats import norm

S0, K, R, SIGMA, TAU = 100.0, 105.0, 0.03, 0.25, 0.75


def d1_d2(s, k, r, sigma, tau):
    d1 = (jnp.log(s / k) + (r + 0.5 * sigma ** 2) * tau) / (sigma * jnp.sqrt(tau))
    return d1, d1 - sigma * jnp.sqrt(tau)


def bs_call(s, k, r, sigma, tau):
    d1, d2 = d1_d2(s, k, r, sigma, tau)
    return s * norm.cdf(d1) - k * jnp.exp(-r * tau) * norm.cdf(d2)


def bs_put(s, k, r, sigma, tau):
    d1, d2 = d1_d2(s, k, r, sigma, tau)
    return k * jnp.exp(-r * tau) * norm.cdf(-d2) - s * norm.cdf(-d1)


def closed_form_greeks(s, k, r, sigma, tau):
    d1, d2 = d1_d2(s, k, r, sigma, tau)
    delta = norm.cdf(d1)
    gamma = norm.pdf(d1) / (s * sigma * jnp.sqrt(tau))
    vega = s * norm.pdf(d1) * jnp.sqrt(tau)
    theta = (-s * norm.pdf(d1) * sigma / (2 * jnp.sqrt(tau))
             - r * k * jnp.exp(-r * tau) * norm.cdf(d2))
    return jnp.stack([delta, gamma, vega, theta])


def implied_vol(price, s, k, r, tau, sigma0=0.5, tol=1e-6, max_iter=50):
    vega_fn = jax.grad(bs_call, argnums=3)

    def cond(state):
        sigma, step, i = state
        return (jnp.abs(step) > tol) & (i < max_iter)

    def body(state):
        sigma, _, i = state
        step = (bs_call(s, k, r, sigma, tau) - price) / vega_fn(s, k, r, sigma, tau)
        return jnp.clip(sigma - step, 1e-3, 5.0), step, i + 1

    sigma, _, n = lax.while_loop(cond, body, (jnp.float32(sigma0), jnp.float32(1.0), 0))
    return sigma, n


def simulate_terminal(key, s, r, sigma, tau, n):
    z = random.normal(key, (n,))
    z = jnp.concatenate([z, -z])                      # antithetic pairs
    return s * jnp.exp((r - 0.5 * sigma ** 2) * tau + sigma * jnp.sqrt(tau) * z)


def mc_call(s, key, k=K, r=R, sigma=SIGMA, tau=TAU, n=2048):
    st = simulate_terminal(key, s, r, sigma, tau, n)
    return jnp.exp(-r * tau) * jnp.mean(jnp.maximum(st - k, 0.0))


def simulate_paths(key, s, r, sigma, tau, n_paths, n_steps):
    dt = tau / n_steps
    z = random.normal(key, (n_paths, n_steps))
    log_inc = (r - 0.5 * sigma ** 2) * dt + sigma * jnp.sqrt(dt) * z
    return s * jnp.exp(jnp.cumsum(log_inc, axis=1)), s * jnp.cumprod(jnp.exp(log_inc), axis=1)


def binomial_put(s, k, r, sigma, tau, n_steps, american):
    dt = tau / n_steps
    u = jnp.exp(sigma * jnp.sqrt(dt))
    d = 1.0 / u
    p = (jnp.exp(r * dt) - d) / (u - d)
    disc = jnp.exp(-r * dt)
    j = jnp.arange(n_steps + 1)
    # node j at step i: s * u**j * d**(i - j); values for j > i are ignored
    terminal = jnp.maximum(k - s * u ** j * d ** (n_steps - j), 0.0)

    def body(t, values):
        i = n_steps - 1 - t
        up = jnp.roll(values, -1)
        cont = disc * (p * up + (1 - p) * values)
        spot = s * u ** j * d ** (i - j)
        exercise = jnp.maximum(k - spot, 0.0)
        new = jnp.where(american, jnp.maximum(cont, exercise), cont)
        return jnp.where(j <= i, new, 0.0)

    values = lax.fori_loop(0, n_steps, body, terminal)
    return values[0]


def run():
    price_c = bs_call(S0, K, R, SIGMA, TAU)
    price_p = bs_put(S0, K, R, SIGMA, TAU)
    parity = price_c - price_p - (S0 - K * jnp.exp(-R * TAU))

    delta = jax.grad(bs_call, argnums=0)(S0, K, R, SIGMA, TAU)
    gamma = jax.hessian(bs_call, argnums=0)(S0, K, R, SIGMA, TAU)
    vega = jax.grad(bs_call, argnums=3)(S0, K, R, SIGMA, TAU)
    theta = -jax.grad(bs_call, argnums=4)(S0, K, R, SIGMA, TAU)
    ad_greeks = jnp.stack([delta, gamma, vega, theta])
    exact_greeks = closed_form_greeks(S0, K, R, SIGMA, TAU)
    # all first-order sensitivities of the put at once
    jac_put = jax.jacfwd(lambda v: bs_put(*v))(jnp.array([S0, K, R, SIGMA, TAU]))

    strikes = jnp.linspace(80.0, 120.0, 9)
    ladder = jax.vmap(bs_call, in_axes=(None, 0, None, None, None))(S0, strikes, R, SIGMA, TAU)
    ladder_delta = jax.vmap(jax.grad(bs_call), in_axes=(None, 0, None, None, None))(
        S0, strikes, R, SIGMA, TAU)
    ladder_gamma = jax.vmap(jax.grad(jax.grad(bs_call)), (None, 0, None, None, None))(
        S0, strikes, R, SIGMA, TAU)
    grid_fn = jnp.vectorize(lambda s, sig: bs_call(s, K, R, sig, TAU))
    grid = grid_fn(jnp.array([90.0, 100.0, 110.0])[:, None], jnp.array([0.1, 0.2, 0.4]))

    vols = jnp.array([0.15, 0.25, 0.4, 0.8])
    quotes = jax.vmap(lambda v: bs_call(S0, K, R, v, TAU))(vols)
    iv, iters = jax.jit(jax.vmap(lambda q: implied_vol(q, S0, K, R, TAU)))(quotes)

    key = random.PRNGKey(2024)
    k_mc, k_paths = random.split(key)
    mc = jax.jit(mc_call)(S0, k_mc)
    mc_delta = jax.grad(mc_call)(S0, k_mc)
    st = simulate_terminal(k_mc, S0, R, SIGMA, TAU, 2048)
    mc_stderr = jnp.std(jnp.maximum(st - K, 0.0)) / jnp.sqrt(st.shape[0])

    paths, paths_prod = simulate_paths(k_paths, S0, R, SIGMA, TAU, 512, 16)
    disc = jnp.exp(-R * TAU)
    asian = disc * jnp.mean(jnp.maximum(jnp.mean(paths, axis=1) - K, 0.0))
    barrier_alive = ~jnp.any(paths < 85.0, axis=1)
    barrier = disc * jnp.mean(jnp.where(barrier_alive, jnp.maximum(paths[:, -1] - K, 0.0), 0.0))
    cum_agree = jnp.allclose(paths, paths_prod, rtol=1e-4)

    euro_tree = binomial_put(S0, K, R, SIGMA, TAU, 64, False)
    amer_tree = binomial_put(S0, K, R, SIGMA, TAU, 64, True)
    premium = jax.vmap(lambda k: binomial_put(S0, k, R, SIGMA, TAU, 64, True)
                       - binomial_put(S0, k, R, SIGMA, TAU, 64, False))(
        jnp.array([90.0, 105.0, 130.0]))
    tree_delta = jax.grad(binomial_put)(S0, K, R, SIGMA, TAU, 64, True)

    return {
        "call": price_c,
        "put": price_p,
        "parity_residual": jnp.abs(parity) < 1e-3,
        "ad_greeks": ad_greeks,
        "exact_greeks": exact_greeks,
        "put_jacobian": jac_put,
        "ladder": ladder,
        "ladder_delta": ladder_delta,
        "ladder_gamma": ladder_gamma,
        "vectorized_grid": grid,
        "implied_vol": iv,
        "implied_vol_iters": iters,
        "mc_call": mc,
        "mc_delta": mc_delta,
        "mc_stderr": mc_stderr,
        "path_means": jnp.mean(paths, axis=0),
        "asian_call": asian,
        "barrier_call": barrier,
        "barrier_survival": jnp.mean(barrier_alive),
        "min_path_min": jnp.min(paths),
        "cumsum_cumprod_agree": cum_agree,
        "tree_prices": jnp.stack([euro_tree, amer_tree]),
        "early_exercise_premium": premium,
        "tree_delta": tree_delta,
    }


if __name__ == "__main__":
    print(run())
