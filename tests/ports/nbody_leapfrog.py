"""A small molecular-dynamics / N-body code as JAX-MD-style notebooks write it: pairwise
displacements by broadcasting and by `vmap(vmap(...))` of a displacement function,
periodic boundaries with the minimum-image convention (`jnp.round`) and wrapping with
`jnp.mod`, the self-pair masked with `jnp.eye` (no `fill_diagonal`), a cut and shifted
Lennard-Jones potential with `jnp.where`, forces as `-jax.grad(energy)`, a velocity
(leapfrog) integrator in `lax.fori_loop` and in `lax.scan` recording the trajectory, the
kinetic/potential/total energy along it, a softened-gravity system in 3-D integrated
under `jit`, the virial pressure, a radial distribution histogram with `jnp.histogram`,
and the gradient of the final potential energy with respect to the time step."""
import jax
import jax.numpy as jnp
from jax import lax, random

BOX = 4.5
N_SIDE = 3
R_CUT = 2.0
EPS_SOFT = 0.05


def lattice(key, jitter=0.08):
    g = (jnp.arange(N_SIDE, dtype=jnp.float32) + 0.5) * (BOX / N_SIDE)
    xx, yy = jnp.meshgrid(g, g, indexing="ij")
    pos = jnp.stack([xx.ravel(), yy.ravel()], axis=-1)
    return pos + jitter * random.normal(key, pos.shape)


def displacement(ri, rj):
    d = ri - rj
    return d - BOX * jnp.round(d / BOX)


def pair_displacements(pos):
    d = pos[:, None, :] - pos[None, :, :]
    return d - BOX * jnp.round(d / BOX)


def lj(r2, sigma=1.0, eps=1.0):
    inv6 = (sigma ** 2 / r2) ** 3
    e = 4.0 * eps * (inv6 ** 2 - inv6)
    inv6c = (sigma ** 2 / R_CUT ** 2) ** 3
    shift = 4.0 * eps * (inv6c ** 2 - inv6c)
    return jnp.where(r2 < R_CUT ** 2, e - shift, 0.0)


def lj_energy(pos):
    n = pos.shape[0]
    d = pair_displacements(pos)
    mask = 1.0 - jnp.eye(n)
    r2 = jnp.sum(d ** 2, axis=-1) + jnp.eye(n)          # keep the diagonal away from 0
    return 0.5 * jnp.sum(lj(r2) * mask)


def lj_energy_vmap(pos):
    d = jax.vmap(jax.vmap(displacement, (None, 0)), (0, None))(pos, pos)
    n = pos.shape[0]
    r2 = jnp.sum(d * d, axis=-1) + jnp.eye(n)
    return 0.5 * jnp.sum(jnp.where(jnp.eye(n, dtype=bool), 0.0, lj(r2)))


forces = jax.jit(lambda pos: -jax.grad(lj_energy)(pos))


def kinetic(vel, mass=1.0):
    return 0.5 * mass * jnp.sum(vel ** 2)


def leapfrog_step(energy_fn, dt):
    force_fn = lambda p: -jax.grad(energy_fn)(p)

    def step(state):
        pos, vel, f = state
        vel_half = vel + 0.5 * dt * f
        pos = jnp.mod(pos + dt * vel_half, BOX)
        f_new = force_fn(pos)
        vel = vel_half + 0.5 * dt * f_new
        return pos, vel, f_new

    return step, force_fn


def simulate_fori(pos, vel, dt=0.005, steps=40):
    step, force_fn = leapfrog_step(lj_energy, dt)
    state = lax.fori_loop(0, steps, lambda i, s: step(s), (pos, vel, force_fn(pos)))
    return state[0], state[1]


def simulate_scan(pos, vel, dt=0.005, steps=40):
    step, force_fn = leapfrog_step(lj_energy, dt)

    def body(state, _):
        state = step(state)
        pos, vel, _ = state
        pe = lj_energy(pos)
        ke = kinetic(vel)
        return state, jnp.stack([ke, pe, ke + pe])

    (pos, vel, _), energies = lax.scan(body, (pos, vel, force_fn(pos)), None, length=steps)
    return pos, vel, energies


def virial_pressure(pos, vel):
    n, dim = pos.shape
    f_pair = -jax.grad(lambda d: 0.5 * jnp.sum(
        lj(jnp.sum(d ** 2, -1) + jnp.eye(n)) * (1.0 - jnp.eye(n))))(pair_displacements(pos))
    w = 0.5 * jnp.sum(pair_displacements(pos) * f_pair)
    volume = BOX ** dim
    return (2.0 * kinetic(vel) + w) / (dim * volume)


def rdf(pos, bins=6):
    n = pos.shape[0]
    d = jnp.sqrt(jnp.sum(pair_displacements(pos) ** 2, axis=-1))
    iu = jnp.triu_indices(n, k=1)
    counts, edges = jnp.histogram(d[iu], bins=bins, range=(0.0, BOX / 2))
    return counts, edges


def gravity_energy(pos, masses):
    d = pos[:, None, :] - pos[None, :, :]
    r = jnp.sqrt(jnp.sum(d ** 2, axis=-1) + EPS_SOFT ** 2)
    pair = masses[:, None] * masses[None, :] / r
    return -0.5 * jnp.sum(jnp.where(jnp.eye(pos.shape[0]) > 0, 0.0, pair))


@jax.jit
def gravity_run(pos, vel, masses, dt=0.01):
    acc = lambda p: -jax.grad(gravity_energy)(p, masses) / masses[:, None]

    def body(state, _):
        p, v, a = state
        v = v + 0.5 * dt * a
        p = p + dt * v
        a = acc(p)
        v = v + 0.5 * dt * a
        e = 0.5 * jnp.sum(masses * jnp.sum(v ** 2, -1)) + gravity_energy(p, masses)
        return (p, v, a), e

    (p, v, _), es = lax.scan(body, (pos, vel, acc(pos)), jnp.arange(60))
    momentum = jnp.sum(masses[:, None] * v, axis=0)
    return p, v, es, momentum


def run():
    key = random.PRNGKey(0)
    k_pos, k_vel, k_g1, k_g2 = random.split(key, 4)
    pos0 = jnp.mod(lattice(k_pos), BOX)
    vel0 = 0.3 * random.normal(k_vel, pos0.shape)
    vel0 = vel0 - jnp.mean(vel0, axis=0)
    e_b, e_v = lj_energy(pos0), lj_energy_vmap(pos0)
    f0 = forces(pos0)
    pos_f, vel_f = jax.jit(simulate_fori)(pos0, vel0)
    pos_s, vel_s, energies = jax.jit(simulate_scan)(pos0, vel0)
    e_total0 = kinetic(vel0) + e_b
    counts, edges = rdf(pos_s)

    def final_potential(dt):
        p, v = simulate_fori(pos0, vel0, dt=dt, steps=10)
        return lj_energy(p)

    de_ddt = jax.grad(final_potential)(0.005)
    masses = jnp.array([3.0, 1.0, 0.5, 0.5, 0.2])
    gpos = random.normal(k_g1, (5, 3))
    gvel = 0.3 * random.normal(k_g2, (5, 3))
    gp, gv, ges, momentum = gravity_run(gpos, gvel, masses)
    return {
        "energy_broadcast": e_b,
        "energy_vmap": e_v,
        "forces0": f0,
        "force_sum": jnp.max(jnp.abs(jnp.sum(f0, axis=0))) < 1e-4,
        "pos_fori": pos_f,
        "vel_fori": vel_f,
        "fori_scan_same": jnp.allclose(pos_f, pos_s, atol=1e-5),
        "energies": energies[::5],
        "energy_drift_small": jnp.abs(energies[-1, 2] - e_total0) < 1e-2,
        "inside_box": jnp.all((pos_s >= 0) & (pos_s < BOX)),
        "pressure": virial_pressure(pos_s, vel_s),
        "rdf_counts": counts,
        "rdf_edges": edges,
        "dE_ddt": de_ddt,
        "gravity_pos": gp,
        "gravity_vel": gv,
        "gravity_energy": ges[::10],
        "gravity_momentum": momentum,
    }


if __name__ == "__main__":
    print(run())
