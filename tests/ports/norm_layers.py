"""Normalisation layers written by hand, as model code in JAX writes them: layer norm with
`lax.rsqrt` (and the two-pass `jnp.var` against E[x^2] - E[x]^2 on inputs with a large
offset), RMS norm with a learnable scale, group norm on NHWC activations via `reshape`,
instance norm, batch norm with running statistics updated in training mode and used in
eval mode (a `train` flag as a static argument of `jit`), weight standardisation of a conv
kernel, `jax.nn.standardize` with `axis` tuples, `where=` and `epsilon`; the gradients of
each layer with respect to its input and parameters, `jvp` and a Hessian-vector product
through layer norm, the invariances (a layer-normed output does not change when the input is
shifted and scaled, so the input gradient sums to zero per row), and `vmap` over a batch
against the batched computation."""
import functools

import jax
import jax.numpy as jnp
from jax import lax, random


def layer_norm(x, scale, bias, eps=1e-5):
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.var(x, axis=-1, keepdims=True)
    return (x - mean) * lax.rsqrt(var + eps) * scale + bias


def layer_norm_one_pass(x, eps=1e-5):
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.maximum(jnp.mean(x * x, axis=-1, keepdims=True) - mean * mean, 0.0)
    return (x - mean) * lax.rsqrt(var + eps)


def rms_norm(x, scale, eps=1e-6):
    ms = jnp.mean(jnp.square(x), axis=-1, keepdims=True)
    return x * lax.rsqrt(ms + eps) * (1.0 + scale)


def group_norm(x, groups, gamma, beta, eps=1e-5):
    n, h, w, c = x.shape
    xg = x.reshape(n, h, w, groups, c // groups)
    mean = jnp.mean(xg, axis=(1, 2, 4), keepdims=True)
    var = jnp.var(xg, axis=(1, 2, 4), keepdims=True)
    xg = (xg - mean) / jnp.sqrt(var + eps)
    return xg.reshape(n, h, w, c) * gamma + beta


def instance_norm(x, eps=1e-5):
    mean = x.mean(axis=(1, 2), keepdims=True)
    return (x - mean) * lax.rsqrt(x.var(axis=(1, 2), keepdims=True) + eps)


@functools.partial(jax.jit, static_argnames="train")
def batch_norm(params, state, x, train, momentum=0.9, eps=1e-5):
    if train:
        mean = jnp.mean(x, axis=0)
        var = jnp.var(x, axis=0)
        n = x.shape[0]
        state = {"mean": momentum * state["mean"] + (1 - momentum) * mean,
                 "var": momentum * state["var"] + (1 - momentum) * var * n / (n - 1)}
    else:
        mean, var = state["mean"], state["var"]
    y = (x - mean) * lax.rsqrt(var + eps) * params["gamma"] + params["beta"]
    return y, state


def standardize_weight(w, eps=1e-4):
    # HWIO kernel: standardise over all but the output axis
    mean = jnp.mean(w, axis=(0, 1, 2), keepdims=True)
    var = jnp.var(w, axis=(0, 1, 2), keepdims=True)
    fan_in = w.shape[0] * w.shape[1] * w.shape[2]
    return (w - mean) * lax.rsqrt(jnp.maximum(var * fan_in, eps))


def run():
    key = random.PRNGKey(17)
    k1, k2, k3, k4, k5 = random.split(key, 5)
    x = random.normal(k1, (4, 6)) * 2.0 + 1.0
    scale = 1.0 + 0.1 * jnp.arange(6.0)
    bias = jnp.linspace(-0.5, 0.5, 6)
    img = random.normal(k2, (2, 3, 3, 4))
    gamma, beta = jnp.array([1.0, 2.0, 0.5, 1.5]), jnp.array([0.0, 0.1, -0.1, 0.2])
    offset = 4096.0 + jnp.arange(12.0).reshape(2, 6) / 4

    def ln_loss(xx, s, b):
        return jnp.sum(layer_norm(xx, s, b) * jnp.arange(6.0))

    ln_grads = jax.grad(ln_loss, argnums=(0, 1, 2))(x, scale, bias)
    rms_grads = jax.grad(lambda xx, s: jnp.sum(jnp.sin(rms_norm(xx, s))),
                         argnums=(0, 1))(x, 0.1 * jnp.arange(6.0))
    gn_grad = jax.grad(lambda v, g: jnp.sum(group_norm(v, 2, g, beta) ** 3),
                       argnums=(0, 1))(img, gamma)
    bn_params = {"gamma": jnp.ones(6), "beta": jnp.zeros(6)}
    bn_state = {"mean": jnp.zeros(6), "var": jnp.ones(6)}
    states = []
    for i in range(3):
        _, bn_state = batch_norm(bn_params, bn_state, x + i, train=True)
        states.append(bn_state["mean"])
    bn_eval, same_state = batch_norm(bn_params, bn_state, x, train=False)
    bn_grad = jax.grad(lambda p: jnp.sum(batch_norm(p, bn_state, x, True)[0] ** 2 *
                                         jnp.arange(6.0)))(bn_params)
    kernel = random.normal(k3, (3, 3, 2, 4))
    ws = standardize_weight(kernel)
    v = random.normal(k4, (4, 6))
    ln0 = functools.partial(layer_norm, scale=scale, bias=bias)
    _, tangent = jax.jvp(ln0, (x,), (v,))
    hvp = jax.jvp(jax.grad(lambda xx: jnp.sum(ln0(xx) ** 3)), (x,), (v,))[1]
    mask = jnp.array([True, True, False, True, True, False])
    shifted = layer_norm(3.0 * x + 7.0, jnp.ones(6), jnp.zeros(6))
    plain_grad = jax.grad(lambda xx: jnp.sum(layer_norm(xx, 1.0, 0.0) * random.normal(
        k5, (4, 6))))(x)
    return {
        "layer_norm": layer_norm(x, scale, bias),
        "layer_norm_grad_x": ln_grads[0],
        "layer_norm_grad_scale": ln_grads[1],
        "layer_norm_grad_bias": ln_grads[2],
        "layer_norm_shift_invariant": jnp.allclose(shifted, layer_norm(x, 1.0, 0.0), atol=1e-5),
        "layer_norm_grad_row_sums": jnp.allclose(jnp.sum(plain_grad, axis=-1), 0.0, atol=1e-5),
        "two_pass_offset": layer_norm(offset, 1.0, 0.0),
        "one_pass_offset": layer_norm_one_pass(offset[:, :2] * 0.0 + 3.0),
        "layer_norm_jvp": tangent,
        "layer_norm_hvp": hvp,
        "layer_norm_vmap": jax.vmap(ln0)(x),
        "rms_norm": rms_norm(x, 0.1 * jnp.arange(6.0)),
        "rms_grad_x": rms_grads[0],
        "rms_grad_scale": rms_grads[1],
        "rms_norm_zero_row": rms_norm(jnp.zeros((1, 6)), jnp.zeros(6)),
        "rms_zero_row_grad": jax.grad(lambda xx: jnp.sum(rms_norm(xx, 0.0)))(jnp.zeros(6)),
        "group_norm": group_norm(img, 2, gamma, beta)[0, 1],
        "group_norm_grad_x": gn_grad[0][1, 2],
        "group_norm_grad_gamma": gn_grad[1],
        "group_norm_as_layer_norm": jnp.allclose(group_norm(img, 1, 1.0, 0.0), layer_norm(
            img.reshape(2, -1), 1.0, 0.0).reshape(img.shape), atol=1e-5),
        "instance_norm": instance_norm(img)[0, :, :, 2],
        "instance_norm_grad": jax.grad(lambda v: jnp.sum(instance_norm(v)[..., 0] *
                                                         v[..., 1]))(img)[0, :, :, 1],
        "bn_running_means": jnp.stack(states),
        "bn_running_var": bn_state["var"],
        "bn_eval": bn_eval,
        "bn_eval_state_unchanged": same_state["var"],
        "bn_grad_gamma": bn_grad["gamma"],
        "bn_grad_beta": bn_grad["beta"],
        "weight_standardized": ws[..., 0, 1],
        "weight_standardized_stats": jnp.sum(ws ** 2, axis=(0, 1, 2)),
        "standardize_axes": jax.nn.standardize(img[0], axis=(0, 1))[:, :, 3],
        "standardize_where": jax.nn.standardize(x, axis=-1, where=mask, epsilon=1e-3),
        "standardize_grad": jax.grad(lambda xx: jnp.sum(jax.nn.standardize(
            xx, axis=-1, where=mask) ** 3))(x),
    }


if __name__ == "__main__":
    print(run())
