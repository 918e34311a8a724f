"""The 2-D Ising model on a 16x16 torus as statistical-physics notebooks write it in JAX:
int8 spins initialised with `random.choice` (one run all up, set with `.at[].set`),
neighbour sums by `jnp.roll` along both axes, checkerboard Metropolis sweeps (a parity
mask from `jnp.indices`, acceptance with `random.uniform` against `jnp.exp(-beta * dE)`,
flips by `jnp.where`, dtype kept with `astype`) inside `lax.fori_loop` with keys from
`random.fold_in`, observables (magnetisation, energy per spin) stored per sweep with
`.at[i].set` and the burn-in sliced off, a temperature sweep with `vmap` over temperatures,
initial lattices and `random.split` keys under `jit`, the susceptibility and heat capacity
from `jnp.var`, the spin-spin correlation function two ways (by `jnp.fft.fft2`/`ifft2`
and by rolls, averaged over both axes), a `jnp.histogram` of the magnetisation samples,
domain statistics of a 1-D cut with `jnp.diff`, `jnp.cumsum` and
`jnp.unique(size=..., fill_value=..., return_counts=True)`, and `jnp.bincount` of local
neighbour sums."""
import jax
import jax.numpy as jnp
from jax import lax, random

L = 16
J = 1.0


def neighbour_sum(spins):
    s = spins.astype(jnp.int32)
    return (jnp.roll(s, 1, axis=0) + jnp.roll(s, -1, axis=0)
            + jnp.roll(s, 1, axis=1) + jnp.roll(s, -1, axis=1))


def energy(spins):
    s = spins.astype(jnp.float32)
    return -J * jnp.sum(s * (jnp.roll(s, 1, axis=0) + jnp.roll(s, 1, axis=1))) / spins.size


def magnetisation(spins):
    return jnp.mean(spins.astype(jnp.float32))


def checkerboard():
    i, j = jnp.indices((L, L))
    return (i + j) % 2 == 0


def half_sweep(spins, key, beta, color):
    d_e = 2.0 * J * spins.astype(jnp.float32) * neighbour_sum(spins)
    accept = random.uniform(key, spins.shape) < jnp.exp(-beta * d_e)
    flip = accept & color
    return jnp.where(flip, -spins, spins).astype(spins.dtype)


def sweep(spins, key, beta):
    k1, k2 = random.split(key)
    mask = checkerboard()
    spins = half_sweep(spins, k1, beta, mask)
    return half_sweep(spins, k2, beta, ~mask)


def simulate(key, temperature, spins, n_eq=16, n_samples=24):
    """`n_eq + n_samples` sweeps in one `fori_loop`; observables of every sweep are stored
    and the first `n_eq` (burn-in) dropped."""
    beta = 1.0 / temperature
    n = n_eq + n_samples
    init = (spins, jnp.zeros(n), jnp.zeros(n))

    def body(i, state):
        s, ms, es = state
        s = sweep(s, random.fold_in(key, i), beta)
        return s, ms.at[i].set(magnetisation(s)), es.at[i].set(energy(s))

    spins, ms, es = lax.fori_loop(0, n, body, init)
    return spins, ms[n_eq:], es[n_eq:]


def correlation_fft(spins):
    s = spins.astype(jnp.float32)
    f = jnp.fft.fft2(s)
    corr = jnp.fft.ifft2(f * jnp.conj(f)).real / s.size
    return (corr[0, : L // 2] + corr[: L // 2, 0]) / 2


def correlation_roll(spins):
    s = spins.astype(jnp.float32)
    return jnp.stack([(jnp.mean(s * jnp.roll(s, r, axis=1))
                       + jnp.mean(s * jnp.roll(s, r, axis=0))) / 2 for r in range(L // 2)])


def domain_lengths(row):
    # lengths of runs of equal spins along a (non-periodic) row
    boundaries = jnp.concatenate([jnp.array([True]), jnp.diff(row) != 0])
    labels = jnp.cumsum(boundaries) - 1
    ids, counts = jnp.unique(labels, size=L, fill_value=-1, return_counts=True)
    return ids, counts


def run():
    key = random.PRNGKey(11)
    k_init, k_run = random.split(key)
    temps = jnp.array([0.5, 1.5, 2.0, 2.27, 3.0, 4.0])
    n_t = temps.shape[0]
    inits = random.choice(k_init, jnp.array([-1, 1], dtype=jnp.int8), (n_t, L, L))
    inits = inits.at[0].set(1)                  # the coldest run starts in the ground state
    sweep_fn = jax.jit(jax.vmap(simulate))
    finals, ms, es = sweep_fn(random.split(k_run, n_t), temps, inits)

    abs_m = jnp.mean(jnp.abs(ms), axis=1)
    e_mean = jnp.mean(es, axis=1)
    chi = L * L * jnp.var(jnp.abs(ms), axis=1) / temps
    heat = L * L * jnp.var(es, axis=1) / temps ** 2

    ground = finals[0]
    cold = finals[1]
    hot = finals[-1]
    corr_fft_hot = correlation_fft(hot)
    corr_roll_hot = correlation_roll(hot)
    hist, edges = jnp.histogram(ms[1:].ravel(), bins=8, range=(-1.0, 1.0))

    ns = neighbour_sum(hot)
    local_hist = jnp.bincount(((ns + 4) // 2).ravel(), length=5)

    ids, counts = domain_lengths(hot[3])
    single = sweep(hot, random.PRNGKey(1), jnp.float32(1.0 / 3.0))

    return {
        "final_spins_hot": hot,
        "final_dtype_is_int8": jnp.array(finals.dtype == jnp.int8),
        "magnetisation_traces": ms,
        "energy_traces": es,
        "abs_magnetisation": abs_m,
        "mean_energy": e_mean,
        "susceptibility": chi,
        "heat_capacity": heat,
        "cold_energy": energy(cold),
        "corr_fft_hot": corr_fft_hot,
        "corr_roll_hot": corr_roll_hot,
        "hist_counts": hist,
        "hist_edges": edges,
        "ground_state_energy": energy(ground),
        "ground_state_flips": jnp.sum(ground != 1),
        "neighbour_sum_hist": local_hist,
        "domain_ids": ids,
        "domain_lengths": counts,
        "single_sweep_flips": jnp.sum(single != hot),
        "single_sweep_dtype": str(single.dtype),
    }


if __name__ == "__main__":
    print(run())
