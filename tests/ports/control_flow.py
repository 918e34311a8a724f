"""Structured control flow under `jit` (`while_loop`, `fori_loop`, `cond`, `switch`) with
`one_hot`, linear algebra, `logsumexp`, `debug.print`, `block_until_ready`, `device_get` and
`jax.tree.map` (JAX's "control flow and logical operators with JIT")."""
import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy.special import logsumexp


@jax.jit
def sqrt_newton(a):
    def cond_fun(state):
        x, i = state
        return (jnp.abs(x * x - a) > 1e-6) & (i < 50)

    def body_fun(state):
        x, i = state
        return 0.5 * (x + a / x), i + 1

    return lax.while_loop(cond_fun, body_fun, (a, 0))


@jax.jit
def power_iteration(m):
    def body(i, v):
        v = m @ v
        return v / jnp.linalg.norm(v)

    v = lax.fori_loop(0, 30, body, jnp.ones(m.shape[0]))
    return v @ m @ v, v


@jax.jit
def piecewise(x, branch):
    y = lax.cond(x > 0, lambda x: x ** 2, lambda x: -x, x)
    z = lax.switch(branch, [jnp.sin, jnp.cos, lambda x: x * 3.0], y)
    jax.debug.print("branch {b} gives {z}", b=branch, z=branch * 10)
    return y, z


@jax.jit
def classify(logits, labels):
    one_hot = jax.nn.one_hot(labels, logits.shape[-1])
    log_probs = logits - logsumexp(logits, axis=-1, keepdims=True)
    return -jnp.sum(one_hot * log_probs, axis=-1), jax.nn.logsumexp(logits, axis=-1)


def collatz_steps(n):
    def body(state):
        n, steps = state
        n = lax.cond(n % 2 == 0, lambda n: n // 2, lambda n: 3 * n + 1, n)
        return n, steps + 1

    return lax.while_loop(lambda s: s[0] != 1, body, (n, 0))[1]


def run():
    root, iters = sqrt_newton(jnp.float32(10.0))
    m = jnp.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    eigval, eigvec = power_iteration(m)
    ys, zs = [], []
    for branch, x in [(0, 1.5), (1, -2.0), (2, 0.5)]:
        y, z = piecewise(x, branch)
        ys.append(y)
        zs.append(z)
    logits = jnp.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]])
    nll, lse = classify(logits, jnp.array([0, 2]))
    results = {"root": root, "m_inverse": jnp.linalg.inv(m), "det": jnp.linalg.det(m),
               "solve": jnp.linalg.solve(m, jnp.array([1.0, 2.0, 3.0])),
               "eigvalsh": jnp.linalg.eigvalsh(m)}
    results = jax.tree.map(lambda v: v * 1.0, results)
    results = jax.block_until_ready(results)
    host = jax.device_get({"nll": nll, "lse": lse})
    jax.effects_barrier()
    return {
        **results,
        "iterations": iters,
        "power_eigval": eigval,
        "power_eigvec": eigvec,
        "cond_out": jnp.stack(ys),
        "switch_out": jnp.stack(zs),
        "nll": host["nll"],
        "lse": host["lse"],
        "host_is_numpy": type(host["nll"]).__module__ == "numpy",
        "collatz_27": jax.jit(collatz_steps)(27),
        "tree_leaves_sum": sum(jax.tree.leaves(jax.tree.map(jnp.sum, results))),
    }


if __name__ == "__main__":
    print(run())
