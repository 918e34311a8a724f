"""Differentiation APIs over pytrees, as JAX's autodiff cookbook and custom-derivative
docs use them: `grad` with `argnums` tuples over dicts and tuples, `allow_int=True` (a
float0 gradient), `value_and_grad(has_aux=True, argnums=1)`, `jacfwd`/`jacrev` with dict
inputs and outputs (the nested result structure), `hessian` of a dict, `jvp` and `vjp`
with pytrees and `has_aux`, `custom_vjp` with `nondiff_argnums` and pytree residuals under
`vmap` and `jit`, `custom_jvp` with `defjvps`, `jax.checkpoint` with
`save_only_these_names` and `checkpoint_name`, `lax.custom_root` and
`lax.custom_linear_solve` differentiated implicitly, `linear_transpose`, and
`stop_gradient` on a subtree."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax
from jax.ad_checkpoint import checkpoint_name


def model(params, x):
    h = jnp.tanh(params["w"] @ x + params["b"])
    return {"out": jnp.sum(h ** 2), "mean": jnp.mean(h)}


@partial(jax.custom_vjp, nondiff_argnums=(0,))
def scaled_norm(scale, tree):
    return scale * jnp.sqrt(sum(jnp.sum(v ** 2) for v in jax.tree.leaves(tree)))


def scaled_norm_fwd(scale, tree):
    n = jnp.sqrt(sum(jnp.sum(v ** 2) for v in jax.tree.leaves(tree)))
    return scale * n, (tree, n)


def scaled_norm_bwd(scale, res, g):
    tree, n = res
    return (jax.tree.map(lambda v: g * scale * v / n, tree),)


scaled_norm.defvjp(scaled_norm_fwd, scaled_norm_bwd)


@jax.custom_jvp
def soft_clip(x, lo):
    return lo + jax.nn.softplus(x - lo)


soft_clip.defjvps(lambda t, ans, x, lo: t * jax.nn.sigmoid(x - lo),
                  lambda t, ans, x, lo: t * (1.0 - jax.nn.sigmoid(x - lo)))


def sqrt_root(a):
    def f(x):
        return x * x - a

    def solve(g, y0):
        def body(_, x):
            return x - g(x) / (2 * x)
        return lax.fori_loop(0, 20, body, y0)

    def tangent_solve(g, y):
        return y / g(1.0)

    return lax.custom_root(f, 1.0, solve, tangent_solve)


def spd_solve(m, b):
    def matvec(x):
        return m @ x

    def solve(mv, rhs):
        return jnp.linalg.solve(m, rhs)

    return lax.custom_linear_solve(matvec, b, solve, symmetric=True)


def block(x, w):
    h = checkpoint_name(jnp.sin(x @ w), "hidden")
    return jnp.sum(jnp.cos(h) * h)


def run():
    params = {"w": jnp.array([[0.5, -0.2], [0.1, 0.3], [0.0, 1.0]]), "b": jnp.array([0.1, 0.0,
                                                                                   -0.1])}
    x = jnp.array([1.0, 2.0])
    g_pw, g_x = jax.grad(lambda p, v: model(p, v)["out"], argnums=(0, 1))(params, x)
    g_int = jax.grad(lambda v, n: v * n, argnums=(0, 1), allow_int=True)(2.0, 3)
    (val, aux), g1 = jax.value_and_grad(lambda p, v: (model(p, v)["out"], model(p, v)["mean"]),
                                        argnums=1, has_aux=True)(params, x)
    jf = jax.jacfwd(model)(params, x)
    jr = jax.jacrev(model, argnums=1)(params, x)
    hess = jax.hessian(lambda p: model(p, x)["out"])(params)
    primal, tangent = jax.jvp(model, (params, x), (jax.tree.map(jnp.ones_like, params),
                                                   jnp.zeros(2)))
    out, vjp_fn, aux2 = jax.vjp(lambda v: (model(params, v), v.sum()), x, has_aux=True)
    (ct_x,) = vjp_fn({"out": 1.0, "mean": 2.0})
    tree = {"a": jnp.array([3.0, 4.0]), "b": (jnp.array(12.0),)}
    g_norm = jax.grad(partial(scaled_norm, 2.0))(tree)
    batched = jax.vmap(lambda t: scaled_norm(0.5, t))({"a": jnp.ones((3, 2)), "b": (
        jnp.arange(3.0),)})
    jit_grad = jax.jit(jax.grad(lambda t: scaled_norm(3.0, t)))(tree)
    remat = jax.checkpoint(block, policy=jax.checkpoint_policies.save_only_these_names(
        "hidden"))
    w = jnp.array([[0.3, -0.1], [0.2, 0.4]])
    m = jnp.array([[4.0, 1.0], [1.0, 3.0]])
    lin = jax.linear_transpose(lambda v: {"s": jnp.sum(v), "d": v * 2.0}, x)
    return {
        "grad_w": g_pw["w"],
        "grad_b": g_pw["b"],
        "grad_x": g_x,
        "grad_float": g_int[0],
        "grad_int_dtype": str(g_int[1].dtype),
        "value_aux": jnp.stack([val, aux]),
        "value_and_grad_x": g1,
        "jacfwd_out_w": jf["out"]["w"],
        "jacfwd_mean_b": jf["mean"]["b"],
        "jacrev_out_x": jr["out"],
        "jacrev_structure": str(jax.tree.structure(jr)),
        "hessian_ww": hess["w"]["w"].reshape(6, 6),
        "hessian_wb": hess["w"]["b"],
        "hessian_structure": str(jax.tree.structure(hess)),
        "jvp_primal": primal["out"],
        "jvp_tangent": jnp.stack([tangent["out"], tangent["mean"]]),
        "vjp_ct": ct_x,
        "vjp_aux": aux2,
        "custom_vjp_grad_a": g_norm["a"],
        "custom_vjp_grad_b": g_norm["b"][0],
        "custom_vjp_vmap": batched,
        "custom_vjp_jit_grad": jit_grad["a"],
        "custom_jvp_defjvps": jnp.stack(jax.grad(soft_clip, argnums=(0, 1))(0.3, 1.0)),
        "custom_jvp_vmap": jax.vmap(jax.grad(soft_clip))(jnp.array([-1.0, 0.0, 2.0]),
                                                         jnp.zeros(3)),
        "checkpoint_names_grad": jax.grad(remat, argnums=1)(x, w),
        "custom_root": sqrt_root(2.0),
        "custom_root_grad": jax.grad(sqrt_root)(2.0),
        "custom_linear_solve": spd_solve(m, x),
        "custom_linear_solve_grad": jax.grad(lambda mm: jnp.sum(spd_solve(mm, x) ** 2))(m),
        "linear_transpose": lin({"s": 1.0, "d": jnp.array([1.0, -1.0])})[0],
        "stop_gradient_subtree": jax.grad(lambda p: model({"w": p["w"], "b": lax.stop_gradient(
            p["b"])}, x)["out"])(params)["b"],
    }


if __name__ == "__main__":
    print(run())
