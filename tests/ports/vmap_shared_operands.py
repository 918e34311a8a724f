"""`vmap` over a batch whose operations mix a batched operand with a shared (unbatched) one,
and the gradients with respect to the shared one, which must sum over the batch -- the
per-example-loss pattern of JAX's `vmap` tutorial: a `custom_vjp` and a `custom_jvp` rule
called with a shared parameter (also nested `vmap` and `in_axes=None`), `jax.custom_gradient`,
`lax.scan`/`lax.cond`/`lax.switch`/`lax.while_loop`/`lax.map` bodies that read a shared
array, gathers and scatters of a shared table at per-example indices, `dynamic_slice`/
`dynamic_update_slice` with batched starts, a shared matrix solved against per-example
right-hand sides, `jacrev` of such functions, and `custom_vjp` with pytree outputs."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax


@jax.custom_vjp
def gated(w, x):
    return jnp.tanh(w * x)


def _gated_fwd(w, x):
    y = jnp.tanh(w * x)
    return y, (w, x, y)


def _gated_bwd(res, g):
    w, x, y = res
    d = g * (1 - y ** 2)
    return d * x, d * w


gated.defvjp(_gated_fwd, _gated_bwd)


@jax.custom_jvp
def softclip(w, x):
    return w * jnp.log1p(jnp.exp(x))


@softclip.defjvp
def _softclip_jvp(primals, tangents):
    (w, x), (tw, tx) = primals, tangents
    sp = jnp.log1p(jnp.exp(x))
    return w * sp, tw * sp + w * jax.nn.sigmoid(x) * tx


@jax.custom_vjp
def two_out(w, x):
    return {"p": w * x, "q": (jnp.sin(x) * w[0],)}


def _two_out_fwd(w, x):
    return two_out(w, x), (w, x)


def _two_out_bwd(res, g):
    w, x = res
    gw = g["p"] * x + jnp.zeros_like(w).at[0].set(jnp.sum(g["q"][0] * jnp.sin(x)))
    return gw, g["p"] * w + g["q"][0] * jnp.cos(x) * w[0]


two_out.defvjp(_two_out_fwd, _two_out_bwd)


@jax.custom_gradient
def scaled_sq(w, x):
    return w * x ** 2, lambda g: (0.5 * g * x ** 2, 2.0 * g * w * x)


def run():
    out = {}
    w = jnp.array([0.7, -1.2, 0.3])
    xs = jnp.array([[1.0, 2.0, -0.5], [0.5, -1.0, 2.0], [0.1, 0.2, 0.3], [-1.5, 0.0, 1.0]])

    def per_example_sum(f):
        return lambda w: jnp.sum(jax.vmap(lambda xi: f(w, xi))(xs) ** 2)

    for name, f in (("custom_vjp", gated), ("custom_jvp", softclip),
                    ("custom_gradient", scaled_sq)):
        out[f"{name}_shared_grad"] = jax.grad(per_example_sum(f))(w)
        out[f"{name}_in_axes_none_grad"] = jax.grad(
            lambda w: jnp.sum(jax.vmap(f, in_axes=(None, 0))(w, xs)))(w)
        out[f"{name}_jacrev_shared"] = jax.jacrev(
            lambda w: jax.vmap(lambda xi: jnp.sum(f(w, xi)))(xs))(w)
        out[f"{name}_nested_vmap_grad"] = jax.grad(
            lambda w: jnp.sum(jax.vmap(jax.vmap(lambda xij: f(w[0], xij)))(xs)))(w)
        out[f"{name}_grad_x"] = jax.vmap(jax.grad(lambda xi: jnp.sum(f(w, xi))))(xs)
    g = jax.grad(lambda w: sum(jnp.sum(v) for v in jax.tree.leaves(
        jax.vmap(lambda xi: two_out(w, xi))(xs))))(w)
    out["custom_vjp_tree_out_shared_grad"] = g
    out["custom_vjp_jit_shared_grad"] = jax.jit(jax.grad(per_example_sum(gated)))(w)

    # control flow reading a shared array
    table = jnp.array([[1.0, 0.5], [-0.5, 2.0], [0.25, -1.0]])
    seqs = jnp.array([[0.1, 0.4, -0.2], [1.0, -1.0, 0.5]])

    def rnn(tbl, seq):
        def step(h, x):
            h = jnp.tanh(tbl[0] * h + tbl[1] * x + tbl[2])
            return h, h
        return jnp.sum(lax.scan(step, jnp.zeros(2), seq)[1])

    out["scan_shared_grad"] = jax.grad(lambda t: jnp.sum(jax.vmap(rnn, (None, 0))(t, seqs)))(
        table)
    out["cond_shared_grad"] = jax.grad(lambda t: jnp.sum(jax.vmap(
        lambda x: lax.cond(x > 0, lambda: jnp.sum(t * x), lambda: jnp.sum(t ** 2) * x))(
            jnp.array([1.0, -2.0, 0.5]))))(table)
    out["switch_shared_grad"] = jax.grad(lambda t: jnp.sum(jax.vmap(
        lambda i, x: lax.switch(i, [lambda: t[0] * x, lambda: t[1] ** 2, lambda: t[2] * t[0]]))(
            jnp.array([0, 2, 1, 0]), jnp.arange(4.0))))(table)
    out["map_shared_grad"] = jax.grad(lambda t: jnp.sum(lax.map(
        lambda x: jnp.sin(t @ x), jnp.array([[1.0, 2.0], [0.5, 0.5], [-1.0, 0.0]]))))(table)
    out["while_shared_fwd"] = jax.jacfwd(lambda t: jax.vmap(lambda n: lax.while_loop(
        lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * t[0, 0] + t[1, 1]), (0, 1.0))[1])(
            jnp.array([1, 3, 2])))(table)
    # gathers / scatters / dynamic slices of a shared table at per-example indices
    emb = jnp.arange(12.0).reshape(4, 3) / 4.0
    idx = jnp.array([[0, 3], [2, 2], [1, 0]])
    out["gather_shared_grad"] = jax.grad(lambda e: jnp.sum(jax.vmap(
        lambda i: jnp.sum(e[i] ** 2))(idx)))(emb)
    out["take_shared_grad"] = jax.grad(lambda e: jnp.sum(jax.vmap(
        lambda i: jnp.take(e, i, axis=0) * jnp.array([1.0, 2.0, 3.0]))(idx)))(emb)
    out["scatter_shared"] = jax.vmap(lambda i, v: emb.at[i].add(v))(idx[:, 0],
                                                                   jnp.array([1.0, 2.0, 3.0]))
    out["scatter_shared_grad"] = jax.grad(lambda e: jnp.sum(jax.vmap(
        lambda i: e.at[i].set(0.0) ** 2)(idx[:, 0])))(emb)
    out["dynamic_slice_shared_grad"] = jax.grad(lambda e: jnp.sum(jax.vmap(
        lambda s: lax.dynamic_slice(e, (s, 1), (2, 2)) ** 3)(jnp.array([0, 2, 3]))))(emb)
    out["dynamic_update_shared"] = jax.vmap(
        lambda s, u: lax.dynamic_update_slice(emb, u, (s, 0)),
        in_axes=(0, None))(jnp.array([0, 1, 3]), jnp.ones((2, 3)))
    out["dynamic_update_shared_grad"] = jax.grad(lambda u: jnp.sum(jax.vmap(
        lambda s: lax.dynamic_update_slice(emb, u * s, (s, 0)))(jnp.array([0, 1, 3])) ** 2))(
            jnp.ones((2, 3)))
    # a shared matrix against per-example right-hand sides
    a = jnp.array([[3.0, 1.0, 0.0], [1.0, 4.0, 1.0], [0.0, 1.0, 2.0]])
    out["solve_shared_grad"] = jax.grad(lambda m: jnp.sum(jax.vmap(
        lambda b: jnp.linalg.solve(m, b))(xs) ** 2))(a)
    out["cholesky_solve_shared_grad"] = jax.grad(lambda m: jnp.sum(jax.vmap(
        partial(jax.scipy.linalg.cho_solve, (jnp.linalg.cholesky(m), True)))(xs)))(a)
    return out


if __name__ == "__main__":
    print(run())
