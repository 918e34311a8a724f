"""Cellular automata and lattice models on a grid, as JAX demos write them with
convolutions: Conway's Game of Life with the neighbour count from
`lax.conv_general_dilated` on a wrapped (`jnp.pad(mode="wrap")`) board, the same count
from `jnp.roll` and from `jax.scipy.signal`-free `lax.conv` with "SAME" padding, a glider
stepped with `lax.fori_loop`; a 2-D Ising model with checkerboard Metropolis updates
(`jnp.indices` parity, `random.uniform` per sweep, `lax.scan` over sweeps) and its
magnetisation and energy; heat diffusion with a depthwise 3x3 stencil
(`feature_group_count`) on two channels; and `lax.reduce_window` sums as a box filter."""
import jax
import jax.numpy as jnp
from jax import lax, random

KERNEL = jnp.array([[1.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 1.0]])


def neighbours_conv(board):
    padded = jnp.pad(board.astype(jnp.float32), 1, mode="wrap")
    out = lax.conv_general_dilated(padded[None, None], KERNEL[None, None], (1, 1), "VALID")
    return out[0, 0].astype(jnp.int32)


def neighbours_roll(board):
    total = jnp.zeros_like(board, dtype=jnp.int32)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                total = total + jnp.roll(board, (dy, dx), axis=(0, 1)).astype(jnp.int32)
    return total


def life_step(board):
    n = neighbours_conv(board)
    return (n == 3) | (board & (n == 2))


def ising_sweep(spins, key, beta):
    ii, jj = jnp.indices(spins.shape)
    parity = (ii + jj) % 2
    for color, k in zip((0, 1), random.split(key)):
        nb = (jnp.roll(spins, 1, 0) + jnp.roll(spins, -1, 0) + jnp.roll(spins, 1, 1)
              + jnp.roll(spins, -1, 1))
        delta_e = 2.0 * spins * nb
        accept = random.uniform(k, spins.shape) < jnp.exp(-beta * delta_e)
        spins = jnp.where((parity == color) & accept, -spins, spins)
    return spins


def ising_energy(spins):
    return -jnp.mean(spins * (jnp.roll(spins, 1, 0) + jnp.roll(spins, 1, 1)))


def run():
    board = jnp.zeros((8, 8), dtype=bool)
    glider = jnp.array([[0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype=bool)
    board = board.at[1:4, 1:4].set(glider)
    key = random.PRNGKey(5)
    soup = random.bernoulli(key, 0.35, (10, 10))
    after4 = lax.fori_loop(0, 4, lambda i, b: life_step(b), board)
    after20 = lax.fori_loop(0, 20, lambda i, b: life_step(b), soup)
    same_pad = lax.conv(soup.astype(jnp.float32)[None, None], KERNEL[None, None], (1, 1),
                        "SAME")[0, 0]

    spins0 = jnp.where(random.bernoulli(random.PRNGKey(1), 0.5, (12, 12)), 1.0, -1.0)

    def sweep(s, k):
        s = ising_sweep(s, k, 0.6)
        return s, (jnp.mean(s), ising_energy(s))

    spins, (mag, energy) = lax.scan(sweep, spins0, random.split(random.PRNGKey(2), 30))
    hot = jax.jit(lambda s, k: ising_sweep(s, k, 0.1))(spins0, random.PRNGKey(4))

    field = jnp.zeros((1, 2, 9, 9)).at[0, 0, 4, 4].set(1.0).at[0, 1, 0, 0].set(2.0)
    stencil = jnp.array([[0.0, 0.2, 0.0], [0.2, 0.2, 0.2], [0.0, 0.2, 0.0]])
    w = jnp.stack([stencil, stencil * 0.5])[:, None]

    def diffuse(f, _):
        f = lax.conv_general_dilated(f, w, (1, 1), ((1, 1), (1, 1)), feature_group_count=2)
        return f, jnp.sum(f, axis=(0, 2, 3))

    heat, mass = lax.scan(diffuse, field, None, length=6)
    box = lax.reduce_window(jnp.arange(25.0).reshape(5, 5), 0.0, lax.add, (3, 3), (1, 1),
                            "SAME") / 9.0
    return {
        "glider_after4": after4.astype(jnp.int32),
        "glider_moved": jnp.array_equal(jnp.roll(board, (1, 1), axis=(0, 1)), after4),
        "neighbours_agree": jnp.array_equal(neighbours_conv(soup), neighbours_roll(soup)),
        "soup_after20": after20,
        "soup_population": jnp.sum(after20),
        "same_pad_counts": same_pad,
        "ising_spins": spins,
        "ising_magnetisation": mag,
        "ising_energy": energy,
        "ising_hot": hot,
        "heat": heat[0, 0],
        "heat_channel1": heat[0, 1, :3, :3],
        "heat_mass": mass,
        "box_filter": box,
    }


if __name__ == "__main__":
    print(run())
