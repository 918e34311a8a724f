"""A differentiable physics simulation: three bodies under gravity in 2-D, integrated with
velocity Verlet inside `lax.scan`, energy tracked along the trajectory, and the gradient of
the final position with respect to the initial velocities; plus a damped pendulum batched
over initial angles with `vmap`."""
import jax
import jax.numpy as jnp
from jax import lax

G, SOFTENING = 1.0, 0.1


def accelerations(pos, masses):
    diff = pos[None, :, :] - pos[:, None, :]
    dist2 = jnp.sum(diff ** 2, axis=-1) + SOFTENING ** 2
    inv_d3 = dist2 ** -1.5 * (1.0 - jnp.eye(pos.shape[0]))
    return G * jnp.sum(diff * (inv_d3 * masses[None, :])[:, :, None], axis=1)


def energy(pos, vel, masses):
    kinetic = 0.5 * jnp.sum(masses * jnp.sum(vel ** 2, axis=-1))
    diff = pos[None, :, :] - pos[:, None, :]
    dist = jnp.sqrt(jnp.sum(diff ** 2, axis=-1) + SOFTENING ** 2)
    pair = masses[:, None] * masses[None, :] / dist * (1.0 - jnp.eye(pos.shape[0]))
    return kinetic - 0.5 * G * jnp.sum(pair)


def simulate(pos, vel, masses, dt=0.01, steps=100):
    def step(state, _):
        pos, vel, acc = state
        pos = pos + vel * dt + 0.5 * acc * dt ** 2
        new_acc = accelerations(pos, masses)
        vel = vel + 0.5 * (acc + new_acc) * dt
        return (pos, vel, new_acc), energy(pos, vel, masses)

    (pos, vel, _), energies = lax.scan(step, (pos, vel, accelerations(pos, masses)), None,
                                       length=steps)
    return pos, vel, energies


def pendulum(theta0, damping=0.2, dt=0.05, steps=60):
    def step(state, _):
        theta, omega = state
        omega = omega + dt * (-9.81 * jnp.sin(theta) - damping * omega)
        theta = theta + dt * omega
        return (theta, omega), theta

    return lax.scan(step, (theta0, 0.0), xs=None, length=steps)[1]


def run():
    masses = jnp.array([1.0, 0.5, 0.8])
    pos0 = jnp.array([[0.0, 0.0], [1.0, 0.0], [-0.5, 0.8]])
    vel0 = jnp.array([[0.0, -0.2], [0.0, 0.9], [-0.6, -0.3]])
    pos, vel, energies = jax.jit(simulate)(pos0, vel0, masses)

    def final_x_of_body_1(v):
        return simulate(pos0, v, masses, steps=40)[0][1, 0]

    sens = jax.jit(jax.grad(final_x_of_body_1))(vel0)
    thetas = jax.vmap(pendulum)(jnp.array([0.1, 1.0, 2.5]))
    return {
        "final_pos": pos,
        "final_vel": vel,
        "energies": energies[::10],
        "energy_drift": energies[-1] - energy(pos0, vel0, masses),
        "sensitivity": sens,
        "pendulum": thetas[:, ::6],
    }


if __name__ == "__main__":
    print(run())
