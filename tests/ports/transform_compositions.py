"""Transforms composed with control flow and with each other, as JAX's autodiff cookbook and
`vmap` docs compose them: `jacfwd` through `lax.while_loop` and a `fori_loop` with traced
bounds, `jacrev`/`hessian` through `cond`/`switch`/`scan` (`reverse=True`, `unroll`, `length`
with `xs=None`, pytree carries), `vmap` of `cond`/`switch`/`while_loop` with batched
predicates, indices and trip counts, `vmap` with negative and pytree `in_axes`/`out_axes`,
`custom_jvp`/`custom_vjp` with `nondiff_argnums` and pytree arguments under `vmap` and `jit`
(a `bwd` returning `None` for a zero cotangent), `checkpoint` with `static_argnums` and a
policy, `linearize` and `linear_transpose`, `named_call`, and `eval_shape` of a pytree."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax


def newton_sqrt(a):
    # while_loop with a fixed trip count written as a counter: forward mode differentiates it
    def body(c):
        i, x = c
        return i + 1, 0.5 * (x + a / x)

    return lax.while_loop(lambda c: c[0] < 6, body, (0, a))[1]


def traced_fori(x, n):
    return lax.fori_loop(0, n, lambda i, v: jnp.sin(v) * (i + 1.0) + x, x)


def piecewise(x):
    return lax.cond(x[0] > 0, lambda v: jnp.sum(v ** 3), lambda v: jnp.sum(jnp.cos(v)), x)


def branchy(i, x):
    return lax.switch(i, [lambda v: v ** 2, lambda v: jnp.exp(v) - v, lambda v: jnp.sinh(v)],
                      x)


def scan_rev(x, w):
    def step(c, xi):
        c = jnp.tanh(c * w + xi)
        return c, c * xi

    c, ys = lax.scan(step, jnp.float32(0.3), x, reverse=True, unroll=2)
    return c + jnp.sum(ys ** 2)


def scan_no_xs(w):
    def step(c, _):
        h, acc = c["h"], c["acc"]
        h = jnp.sin(w @ h)
        return {"h": h, "acc": acc + h}, jnp.sum(h)

    c, ys = lax.scan(step, {"h": jnp.ones(2), "acc": jnp.zeros(2)}, None, length=4)
    return jnp.sum(c["acc"] * c["h"]) + jnp.sum(ys)


@partial(jax.custom_jvp, nondiff_argnums=(0,))
def clipped_power(p, x):
    return jnp.abs(x) ** p


@clipped_power.defjvp
def _clipped_power_jvp(p, primals, tangents):
    (x,), (t,) = primals, tangents
    y = clipped_power(p, x)
    return y, jnp.clip(p * jnp.sign(x) * jnp.abs(x) ** (p - 1), -2.0, 2.0) * t


@partial(jax.custom_vjp, nondiff_argnums=(2,))
def scaled_affine(params, x, scale):
    return scale * (params["w"] * x + params["b"])


def _sa_fwd(params, x, scale):
    return scaled_affine(params, x, scale), (params["w"], x)


def _sa_bwd(scale, res, g):
    w, x = res
    # no gradient for x (None: a zero cotangent), a damped one for the parameters
    return {"w": 0.5 * scale * g * x, "b": 0.5 * scale * g}, None


scaled_affine.defvjp(_sa_fwd, _sa_bwd)


@partial(jax.checkpoint, static_argnums=(1,),
         policy=jax.checkpoint_policies.dots_with_no_batch_dims_saveable)
def deep_block(x, depth):
    for _ in range(depth):
        x = jnp.tanh(x @ jnp.array([[0.5, -0.3], [0.2, 0.8]]) + 0.1)
    return x


def run():
    out = {}
    a = jnp.array([2.0, 9.0, 0.5])
    out["jacfwd_while"] = jax.jacfwd(newton_sqrt)(a)
    out["jvp_traced_fori"] = jax.jvp(lambda x: traced_fori(x, 3), (jnp.array([0.2, -0.4]),),
                                     (jnp.array([1.0, 0.5]),))[1]
    out["jacfwd_jit_traced_fori"] = jax.jit(jax.jacfwd(traced_fori), static_argnums=())(
        jnp.array([0.2, -0.4]), 3)
    x = jnp.array([0.5, -1.0, 2.0])
    out["hessian_cond_pos"] = jax.hessian(piecewise)(x)
    out["hessian_cond_neg"] = jax.hessian(piecewise)(-x)
    out["jacrev_switch"] = jnp.stack([jax.jacrev(branchy, argnums=1)(i, x) for i in (0, 1, 2,
                                                                                    7)])
    out["vmap_switch_grad"] = jax.vmap(jax.grad(lambda i, v: branchy(i, v) ** 2,
                                                argnums=1))(jnp.array([2, 0, 1, -4]),
                                                            jnp.array([0.3, -0.2, 1.0, 0.7]))
    out["vmap_cond_batched_pred"] = jax.vmap(piecewise)(jnp.array([[1.0, 2.0, 3.0],
                                                                  [-1.0, 0.0, 1.0]]))
    out["jacrev_vmap_cond"] = jax.jacrev(jax.vmap(piecewise))(jnp.array([[1.0, 2.0, 3.0],
                                                                         [-1.0, 0.0, 1.0]]))
    xs = jnp.linspace(-1.0, 1.0, 5)
    out["grad_scan_reverse_unroll"] = jax.grad(scan_rev)(xs, 0.7)
    out["grad_scan_reverse_w"] = jax.grad(scan_rev, argnums=1)(xs, 0.7)
    out["hessian_scan_reverse"] = jax.hessian(scan_rev)(xs, 0.7)
    w = jnp.array([[0.4, -0.6], [0.9, 0.1]])
    out["grad_scan_no_xs"] = jax.grad(scan_no_xs)(w)
    out["hessian_scan_no_xs"] = jax.hessian(scan_no_xs)(w).reshape(4, 4)
    # vmap of while_loop with per-example trip counts
    collatz = lambda n: lax.while_loop(  # noqa: E731
        lambda c: c[0] != 1, lambda c: (jnp.where(c[0] % 2 == 0, c[0] // 2, 3 * c[0] + 1),
                                        c[1] + 1), (n, 0))[1]
    out["vmap_while_steps"] = jax.vmap(collatz)(jnp.array([1, 6, 7, 27, 2]))
    # in_axes / out_axes variants
    m = jnp.arange(24.0).reshape(2, 3, 4)
    out["vmap_neg_in_axis"] = jax.vmap(jnp.sum, in_axes=-1)(m)
    out["vmap_neg_out_axis"] = jax.vmap(lambda v: jnp.outer(v, v[:2]), in_axes=1,
                                        out_axes=-1)(m[0])
    out["vmap_out_axes_tuple"] = jax.vmap(lambda v: (v * 2, v.sum()), in_axes=2,
                                          out_axes=(1, 0))(m)[0]
    tree_fn = jax.vmap(lambda p, v: {"y": p["a"] * v + p["c"][0], "z": p["c"][1] * 2},
                       in_axes=({"a": 0, "c": (None, 1)}, None),
                       out_axes={"y": 0, "z": -1})
    tr = tree_fn({"a": jnp.array([1.0, 2.0, 3.0]),
                  "c": (jnp.float32(0.5), jnp.arange(6.0).reshape(2, 3))}, jnp.float32(4.0))
    out["vmap_tree_axes_y"] = tr["y"]
    out["vmap_tree_axes_z"] = tr["z"]
    # custom derivatives under vmap/jit/grad
    vals = jnp.array([-2.0, -0.1, 0.5, 3.0])
    out["custom_jvp_nondiff_grad"] = jax.vmap(jax.grad(partial(clipped_power, 3.0)))(vals)
    out["custom_jvp_nondiff_jacfwd"] = jax.jit(jax.jacfwd(lambda v: clipped_power(0.5, v)))(
        vals)
    out["custom_jvp_hessian"] = jax.hessian(lambda v: jnp.sum(clipped_power(2.0, v)))(vals)
    params = {"w": jnp.array([1.0, -2.0]), "b": jnp.array([0.5, 0.25])}

    def sa_loss(p, xv):
        return jnp.sum(jax.vmap(lambda xi: scaled_affine(p, xi, 3.0))(xv) ** 2)

    g = jax.jit(jax.grad(sa_loss, argnums=(0, 1)))(params, jnp.array([[1.0, 2.0], [0.5,
                                                                                   -1.0]]))
    out["custom_vjp_tree_grad_w"] = g[0]["w"]
    out["custom_vjp_tree_grad_b"] = g[0]["b"]
    out["custom_vjp_none_cotangent"] = g[1]
    out["custom_vjp_vmap_of_grad"] = jax.vmap(jax.grad(lambda xi, p: jnp.sum(
        scaled_affine(p, xi, 2.0)), argnums=1), in_axes=(0, None))(
        jnp.array([[1.0, 2.0], [3.0, 4.0]]), params)["w"]
    # checkpoint with a static argument and a policy
    xc = jnp.array([[0.3, -0.7], [1.1, 0.2], [0.0, 0.5]])
    out["checkpoint_static_grad"] = jax.grad(lambda v: jnp.sum(deep_block(v, 3) ** 2))(xc)
    out["checkpoint_static_jit_grad"] = jax.jit(jax.grad(
        lambda v: jnp.sum(deep_block(v, 2) ** 3)))(xc)
    # linearize / linear_transpose
    f = lambda v: jnp.array([jnp.sin(v[0]) * v[1], v[0] * v[1] ** 2, jnp.exp(v[1])])  # noqa
    y, f_lin = jax.linearize(f, jnp.array([0.4, 1.3]))
    out["linearize_primal"] = y
    out["linearize_tangents"] = jax.vmap(f_lin)(jnp.eye(2))
    lin = lambda t: {"s": t["a"] @ jnp.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0]]),  # noqa
                     "d": 2.0 * t["b"][::-1]}
    t_fn = jax.linear_transpose(lin, {"a": jnp.zeros(2), "b": jnp.zeros(3)})
    (ct,) = t_fn({"s": jnp.array([1.0, 0.5, -1.0]), "d": jnp.array([1.0, 2.0, 3.0])})
    out["linear_transpose_a"] = ct["a"]
    out["linear_transpose_b"] = ct["b"]
    # named_call is transparent
    named = jax.named_call(lambda v: jnp.sum(jnp.tanh(v) ** 2), name="energy")
    out["named_call_grad"] = jax.jit(jax.grad(named))(vals)
    # eval_shape of a pytree-valued function
    shapes = jax.eval_shape(lambda p, v: {"h": jnp.outer(v, p["w"]), "n": jnp.sum(v > 0),
                                          "c": (v.astype(jnp.float16), jnp.arange(3))},
                            params, vals)
    out["eval_shape_tree"] = str(jax.tree.map(lambda s: (s.shape, str(s.dtype)), shapes))
    return out


if __name__ == "__main__":
    print(run())
