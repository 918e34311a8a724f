"""Linear recurrent layers (S4D/LRU/Mamba-style state-space models) as JAX implementations
write them: a diagonal complex recurrence h_t = lambda * h_{t-1} + B u_t computed with
`lax.associative_scan` over (a, b) pairs of complex64 arrays and checked against the
sequential `lax.scan`, the eigenvalues parameterised as `exp(-exp(nu) + i theta)` with the
gradient of a real loss with respect to the real parameters (through `jnp.real`,
`jnp.abs`, complex multiplication and `jnp.exp` of a complex argument), a normalisation
`sqrt(1 - |lambda|^2)`, the recurrence run backwards (`reverse=True`) for a bidirectional
layer, batched with `vmap`, an input-dependent (selective) decay from `jax.nn.softplus`
with the same scan, `lax.cumlogsumexp` for a log-space cumulative normaliser and its
reverse gradient, `lax.cummax` with its gradient, and a dict-valued associative operator."""
import jax
import jax.numpy as jnp
from jax import lax, random

T, N, D = 8, 3, 2


def init(key):
    k1, k2, k3, k4 = random.split(key, 4)
    return {"nu": jnp.log(-jnp.log(random.uniform(k1, (N,), minval=0.8, maxval=0.99))),
            "theta": random.uniform(k2, (N,), maxval=jnp.pi),
            "b_re": random.normal(k3, (D, N)) / jnp.sqrt(2 * D),
            "b_im": random.normal(k4, (D, N)) / jnp.sqrt(2 * D),
            "c": random.normal(k4, (N, D)) * 0.5}


def eigenvalues(p):
    return jnp.exp(-jnp.exp(p["nu"]) + 1j * p["theta"])


def combine(e1, e2):
    a1, b1 = e1
    a2, b2 = e2
    return a1 * a2, a2 * b1 + b2


def lru_parallel(p, u, reverse=False):
    lam = eigenvalues(p)
    gamma = jnp.sqrt(1.0 - jnp.abs(lam) ** 2)
    bu = (u @ (p["b_re"] + 1j * p["b_im"])) * gamma
    a = jnp.broadcast_to(lam, bu.shape)
    _, h = lax.associative_scan(combine, (a, bu), reverse=reverse)
    return jnp.real(h) @ p["c"], h


def lru_sequential(p, u):
    lam = eigenvalues(p)
    gamma = jnp.sqrt(1.0 - jnp.abs(lam) ** 2)
    bu = (u @ (p["b_re"] + 1j * p["b_im"])) * gamma

    def step(h, x):
        h = lam * h + x
        return h, h

    return lax.scan(step, jnp.zeros(N, jnp.complex64), bu)[1]


def selective(u, w):
    decay = -jax.nn.softplus(u @ w)                     # (T, N), input dependent

    def step(h, xs):
        d, x = xs
        h = jnp.exp(d) * h + x
        return h, h

    return lax.scan(step, jnp.zeros(N), (decay, jnp.tanh(u @ w)))[1]


def run():
    key = random.PRNGKey(60)
    kp, ku, kw = random.split(key, 3)
    p = init(kp)
    u = random.normal(ku, (T, D))
    y, h = lru_parallel(p, u)
    h_seq = lru_sequential(p, u)
    y_rev, _ = lru_parallel(p, u, reverse=True)
    grads = jax.grad(lambda q: jnp.sum(lru_parallel(q, u)[0] ** 2))(p)
    batch = random.normal(kw, (3, T, D))
    w = random.normal(kw, (D, N))
    scores = random.normal(ku, (T, 3))
    return {
        "y": y,
        "h_abs": jnp.abs(h),
        "h_dtype": str(h.dtype),
        "matches_scan": jnp.allclose(h, h_seq, atol=1e-5),
        "y_reverse": y_rev,
        "grad_nu": grads["nu"],
        "grad_theta": grads["theta"],
        "grad_b_im": grads["b_im"],
        "grad_c": grads["c"],
        "batched": jax.vmap(lambda x: lru_parallel(p, x)[0])(batch)[:, -1],
        "selective": selective(u, w),
        "selective_grad_w": jax.grad(lambda ww: jnp.sum(selective(u, ww)[-1]))(w),
        "cumlogsumexp": lax.cumlogsumexp(scores, axis=0),
        "cumlogsumexp_rev_grad": jax.grad(lambda s: jnp.sum(lax.cumlogsumexp(
            s, axis=0, reverse=True)))(scores),
        "cummax_grad": jax.grad(lambda s: jnp.sum(lax.cummax(s, axis=0)))(scores),
        "dict_scan": lax.associative_scan(
            lambda a, b: {"s": a["s"] + b["s"], "p": a["p"] * b["p"]},
            {"s": jnp.arange(5.0), "p": jnp.arange(1.0, 6.0)})["p"],
        "int_scan_reverse": lax.associative_scan(jnp.add, jnp.arange(9), reverse=True),
    }


if __name__ == "__main__":
    print(run())
