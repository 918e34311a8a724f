"""Parallel prefix computations and batched maps as JAX's `lax` docs show them:
`lax.associative_scan` composing 2x2 affine maps (a matrix-valued, non-commutative
operator on a pytree), a segmented sum with reset flags, a running log-sum-exp with
`jnp.logaddexp`, scans along an axis and in reverse, inside `jit`, `vmap` and `grad`;
`lax.map` with `batch_size=` (evenly divisible and with a remainder) over pytrees;
`lax.switch` on pytrees with clamped indices under `vmap`; and `lax.cond` with a pytree
operand under `grad`."""
import jax
import jax.numpy as jnp
from jax import lax


def compose_affine(f, g):
    """(A, b) then (C, d): x -> C (A x + b) + d. Elements carry a leading scan axis."""
    a, b = f
    c, d = g
    return jnp.einsum("...ij,...jk->...ik", c, a), jnp.einsum("...ij,...j->...i", c, b) + d


def segmented_sum(values, resets):
    def op(x, y):
        vx, fx = x
        vy, fy = y
        return jnp.where(fy, vy, vx + vy), fx | fy
    return lax.associative_scan(op, (values, resets))[0]


@jax.jit
def running_logsumexp(x):
    return lax.associative_scan(jnp.logaddexp, x, axis=-1)


def run():
    n = 7
    t = jnp.arange(n, dtype=jnp.float32)
    mats = jnp.stack([jnp.array([[jnp.cos(0.3 * s), -jnp.sin(0.3 * s)],
                                 [jnp.sin(0.3 * s), jnp.cos(0.3 * s)]]) * 0.9 for s in t])
    shifts = jnp.stack([t * 0.1, -t * 0.2], axis=1)
    a_all, b_all = lax.associative_scan(compose_affine, (mats, shifts))
    a_rev, b_rev = lax.associative_scan(compose_affine, (mats, shifts), reverse=True)

    x0 = jnp.array([1.0, 0.5])
    def step(x, ab):
        return ab[0] @ x + ab[1], ab[0] @ x + ab[1]
    _, states = lax.scan(step, x0, (mats, shifts))

    values = jnp.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    resets = jnp.array([True, False, False, True, False, True, False, False])
    logits = jnp.sin(jnp.arange(12.0)).reshape(2, 6) * 3.0

    xs = {"a": jnp.arange(10.0).reshape(5, 2), "b": jnp.arange(5)}
    mapped = lax.map(lambda d: jnp.sum(d["a"] ** 2) + d["b"], xs, batch_size=2)
    mapped_even = lax.map(lambda d: d["a"][::-1] * d["b"], xs, batch_size=5)
    mapped_big = lax.map(lambda r: jnp.cumsum(r), xs["a"], batch_size=8)
    map_grad = jax.grad(lambda v: jnp.sum(lax.map(jnp.sin, v, batch_size=3)))(jnp.arange(7.0))

    branches = [
        lambda p: {"x": p["x"] * 2.0, "n": p["n"] + 1},
        lambda p: {"x": jnp.sin(p["x"]), "n": p["n"] * 3},
        lambda p: {"x": -p["x"], "n": p["n"] - 1},
    ]
    idx = jnp.array([-2, 0, 1, 2, 7])
    switched = jax.vmap(lambda i, p: lax.switch(i, branches, p))(
        idx, {"x": jnp.linspace(0.0, 1.0, 5), "n": jnp.arange(5)})

    def cond_loss(p):
        out = lax.cond(p["scale"] > 1.0,
                       lambda q: {"y": q["w"] * q["scale"], "z": q["scale"]},
                       lambda q: {"y": q["w"] ** 2, "z": jnp.zeros(())},
                       p)
        return jnp.sum(out["y"]) + out["z"]

    g_hi = jax.grad(cond_loss)({"w": jnp.array([1.0, -2.0]), "scale": jnp.array(3.0)})
    g_lo = jax.grad(cond_loss)({"w": jnp.array([1.0, -2.0]), "scale": jnp.array(0.5)})
    return {
        "affine_a": a_all, "affine_b": b_all, "affine_rev_a": a_rev, "affine_rev_b": b_rev,
        "affine_states": jnp.einsum("nij,j->ni", a_all, x0) + b_all,
        "scan_states": states,
        "segmented": segmented_sum(values, resets),
        "segmented_vmap": jax.vmap(segmented_sum)(jnp.stack([values, values[::-1]]),
                                                  jnp.stack([resets, resets[::-1]])),
        "running_lse": running_logsumexp(logits),
        "running_lse_grad": jax.grad(lambda v: jnp.sum(running_logsumexp(v)))(logits),
        "cummax_rev_axis0": lax.associative_scan(jnp.maximum, logits, reverse=True, axis=0),
        "mapped": mapped, "mapped_even": mapped_even, "mapped_big": mapped_big,
        "map_grad": map_grad,
        "switch_x": switched["x"], "switch_n": switched["n"],
        "cond_grad_hi_w": g_hi["w"], "cond_grad_hi_scale": g_hi["scale"],
        "cond_grad_lo_w": g_lo["w"], "cond_grad_lo_scale": g_lo["scale"],
    }


if __name__ == "__main__":
    print(run())
