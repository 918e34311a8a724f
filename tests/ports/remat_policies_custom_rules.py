"""Rematerialisation policies and custom rules as JAX's `jax.checkpoint` and custom
derivative docs write them: every `jax.checkpoint_policies` policy (`nothing_saveable`,
`everything_saveable`, `dots_saveable`, `dots_with_no_batch_dims_saveable`,
`save_only_these_names`, `save_anything_except_these_names`, `save_from_both_policies`)
on a block with `checkpoint_name`, `jax.remat` with `static_argnums`, `custom_jvp` taking a
function through `nondiff_argnums`, `custom_vjp` with a static clipping bound, `defjvps`
with one rule per argument, `custom_gradient`, and `linearize`/`jacfwd`/`jacrev` with
`has_aux`."""
from functools import partial

import jax
import jax.numpy as jnp
from jax.ad_checkpoint import checkpoint_name


def block(params, x):
    h = checkpoint_name(jnp.sin(x) @ params["w1"], "hidden")
    h = checkpoint_name(jnp.tanh(h), "act")
    return jnp.einsum("bi,bij->bj", h, params["w2"])


@partial(jax.custom_jvp, nondiff_argnums=(0,))
def apply_fn(f, x):
    return f(x)


@apply_fn.defjvp
def apply_fn_jvp(f, primals, tangents):
    x, = primals
    t, = tangents
    # Pretend the derivative is known to be 2 * f'(x) (a deliberately custom rule).
    y, dy = jax.jvp(f, (x,), (t,))
    return y, 2.0 * dy


@partial(jax.custom_vjp, nondiff_argnums=(1,))
def clip_gradient(x, bound):
    return x


def clip_fwd(x, bound):
    return x, None


def clip_bwd(bound, _, g):
    return (jnp.clip(g, -bound, bound),)


clip_gradient.defvjp(clip_fwd, clip_bwd)


@jax.custom_jvp
def scaled_product(x, y):
    return x * y


scaled_product.defjvps(lambda tx, ans, x, y: tx * y, lambda ty, ans, x, y: 10.0 * ty * x)


@jax.custom_gradient
def noisy_identity(x):
    return x, lambda g: (0.5 * g,)


def run():
    params = {"w1": jnp.arange(6.0).reshape(3, 2) * 0.1,
              "w2": jnp.arange(16.0).reshape(2, 2, 4) * 0.05}
    x = jnp.linspace(-1.0, 1.0, 6).reshape(2, 3)
    policies = {
        "nothing": jax.checkpoint_policies.nothing_saveable,
        "everything": jax.checkpoint_policies.everything_saveable,
        "dots": jax.checkpoint_policies.dots_saveable,
        "dots_no_batch": jax.checkpoint_policies.dots_with_no_batch_dims_saveable,
        "only_hidden": jax.checkpoint_policies.save_only_these_names("hidden"),
        "except_act": jax.checkpoint_policies.save_anything_except_these_names("act"),
        "both": jax.checkpoint_policies.save_from_both_policies(
            jax.checkpoint_policies.dots_saveable,
            jax.checkpoint_policies.save_only_these_names("act")),
    }
    out = {}
    for name, policy in policies.items():
        loss = lambda p: jnp.sum(jax.checkpoint(block, policy=policy)(p, x) ** 2)
        grads = jax.jit(jax.grad(loss))(params)
        out[f"{name}_w1"] = grads["w1"]
        out[f"{name}_w2"] = grads["w2"]

    power = jax.remat(lambda v, n: jnp.sum(v ** n), static_argnums=(1,))
    out["remat_static"] = jax.grad(power)(jnp.array([1.0, 2.0]), 3)
    out["custom_fn_arg"] = jax.vmap(jax.grad(lambda v: apply_fn(jnp.sin, v)))(jnp.arange(3.0))
    out["custom_fn_value"] = apply_fn(jnp.cos, jnp.array([0.0, 1.0]))
    out["clip"] = jax.grad(lambda v: jnp.sum(clip_gradient(v, 0.5) * jnp.array([1.0, -3.0])))(
        jnp.array([1.0, 2.0]))
    out["clip_jit"] = jax.jit(jax.grad(lambda v: 4.0 * clip_gradient(v, 0.25)))(1.0)
    out["defjvps"] = jnp.stack(jax.grad(scaled_product, argnums=(0, 1))(2.0, 3.0))
    out["custom_gradient"] = jax.grad(lambda v: jnp.sum(noisy_identity(v) ** 2))(
        jnp.array([1.0, -2.0]))

    def model(v):
        y = jnp.sin(v) * v
        return {"y": y, "total": jnp.sum(y)}, {"max": jnp.max(y), "n": v.shape[0]}

    v = jnp.array([0.3, -1.2, 2.0])
    primal, f_jvp, aux = jax.linearize(model, v, has_aux=True)
    tangent = f_jvp(jnp.array([1.0, 0.0, -1.0]))
    jf, aux_f = jax.jacfwd(model, has_aux=True)(v)
    jr, aux_r = jax.jacrev(model, has_aux=True)(v)
    out.update({
        "lin_y": primal["y"], "lin_t_y": tangent["y"], "lin_t_total": tangent["total"],
        "lin_aux": jnp.stack([aux["max"], aux["n"]]),
        "jacfwd_y": jf["y"], "jacfwd_total": jf["total"], "jacfwd_aux": aux_f["max"],
        "jacrev_y": jr["y"], "jacrev_total": jr["total"], "jacrev_aux_n": jnp.array(aux_r["n"]),
    })
    return out


if __name__ == "__main__":
    print(run())
