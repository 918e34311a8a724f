"""Normalizing flows as JAX density-estimation tutorials write them: a RealNVP stack of
affine coupling layers (alternating binary masks, a small tanh MLP giving scale and shift,
the log-scale squashed with `tanh`), its forward and inverse passes, log-det-Jacobians as
the sum of the log-scales checked against `jnp.linalg.slogdet` of `jax.jacfwd` of the map
(vmapped over points), the negative log-likelihood of 2-d "two moons"-like data under a
standard normal base, `jax.value_and_grad` of it with a few Adam steps written by hand
over the parameter pytree, a planar flow with the invertibility reparameterisation of u
(`jax.nn.softplus`) and its log-det, sampling by pushing `jax.random` normals through the
inverse, and `jit` over the training step."""
import jax
import jax.numpy as jnp
from jax import random
from jax.scipy.stats import norm

DIM = 2
HIDDEN = 8


def init_mlp(key, sizes):
    params = []
    keys = random.split(key, len(sizes) - 1)
    for k, (m, n) in zip(keys, zip(sizes[:-1], sizes[1:])):
        w = random.normal(k, (m, n)) * jnp.sqrt(1.0 / m)
        params.append({"w": w, "b": jnp.zeros(n)})
    return params


def mlp(params, x):
    for layer in params[:-1]:
        x = jnp.tanh(x @ layer["w"] + layer["b"])
    last = params[-1]
    return x @ last["w"] + last["b"]


def init_realnvp(key, n_layers=4):
    keys = random.split(key, n_layers)
    layers = []
    for i, k in enumerate(keys):
        mask = jnp.arange(DIM) % 2 == i % 2
        net = init_mlp(k, [DIM, HIDDEN, HIDDEN, 2 * DIM])
        layers.append({"net": net, "mask": mask.astype(jnp.float32)})
    return layers


def coupling_forward(layer, x):
    mask = layer["mask"]
    out = mlp(layer["net"], x * mask)
    log_s, t = jnp.split(out, 2, axis=-1)
    log_s = jnp.tanh(log_s) * (1 - mask)
    t = t * (1 - mask)
    y = x * mask + (1 - mask) * (x * jnp.exp(log_s) + t)
    return y, jnp.sum(log_s, axis=-1)


def coupling_inverse(layer, y):
    mask = layer["mask"]
    out = mlp(layer["net"], y * mask)
    log_s, t = jnp.split(out, 2, axis=-1)
    log_s = jnp.tanh(log_s) * (1 - mask)
    t = t * (1 - mask)
    x = y * mask + (1 - mask) * (y - t) * jnp.exp(-log_s)
    return x, -jnp.sum(log_s, axis=-1)


def realnvp_forward(layers, x):
    logdet = jnp.zeros(x.shape[:-1])
    for layer in layers:
        x, ld = coupling_forward(layer, x)
        logdet = logdet + ld
    return x, logdet


def realnvp_inverse(layers, z):
    logdet = jnp.zeros(z.shape[:-1])
    for layer in reversed(layers):
        z, ld = coupling_inverse(layer, z)
        logdet = logdet + ld
    return z, logdet


def log_prob(layers, x):
    z, logdet = realnvp_forward(layers, x)
    return jnp.sum(norm.logpdf(z), axis=-1) + logdet


def nll(layers, x):
    return -jnp.mean(log_prob(layers, x))


# planar flow f(z) = z + u_hat * tanh(w.z + b)
def planar_params(key):
    k1, k2 = random.split(key)
    return {"u": random.normal(k1, (DIM,)), "w": random.normal(k2, (DIM,)),
            "b": jnp.array(0.1)}


def planar_forward(p, z):
    w, u, b = p["w"], p["u"], p["b"]
    wu = jnp.dot(w, u)
    u_hat = u + (-1.0 + jax.nn.softplus(wu) - wu) * w / jnp.sum(w ** 2)
    a = jnp.dot(z, w) + b
    h = jnp.tanh(a)
    y = z + u_hat * h[..., None]
    psi = (1 - h ** 2)[..., None] * w
    logdet = jnp.log(jnp.abs(1 + psi @ u_hat))
    return y, logdet


def make_moons(key, n):
    k1, k2, k3 = random.split(key, 3)
    t = random.uniform(k1, (n,), minval=0.0, maxval=jnp.pi)
    which = random.bernoulli(k2, 0.5, (n,))
    upper = jnp.stack([jnp.cos(t), jnp.sin(t)], axis=1)
    lower = jnp.stack([1 - jnp.cos(t), 0.5 - jnp.sin(t)], axis=1)
    pts = jnp.where(which[:, None], upper, lower)
    return pts + 0.08 * random.normal(k3, (n, 2)), which


def adam_init(params):
    zeros = jax.tree.map(jnp.zeros_like, params)
    return {"m": zeros, "v": zeros, "t": 0}


def adam_update(grads, state, params, lr=1e-2, b1=0.9, b2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g ** 2, state["v"], grads)
    m_hat = jax.tree.map(lambda m: m / (1 - b1 ** t), m)
    v_hat = jax.tree.map(lambda v: v / (1 - b2 ** t), v)
    params = jax.tree.map(lambda p, mh, vh: p - lr * mh / (jnp.sqrt(vh) + eps), params,
                          m_hat, v_hat)
    return params, {"m": m, "v": v, "t": t}


def run():
    key = random.PRNGKey(42)
    k_data, k_flow, k_planar, k_sample = random.split(key, 4)
    data, which = make_moons(k_data, 64)
    layers = init_realnvp(k_flow)

    z, logdet = realnvp_forward(layers, data)
    x_back, logdet_inv = realnvp_inverse(layers, z)

    def single(x):
        return realnvp_forward(layers, x)[0]

    jac = jax.vmap(jax.jacfwd(single))(data[:5])
    sign, logabsdet = jnp.linalg.slogdet(jac)

    # train only the networks; the masks stay fixed
    nets = [layer["net"] for layer in layers]
    masks = [layer["mask"] for layer in layers]

    def loss_fn(nets, x):
        return nll([{"net": n, "mask": m} for n, m in zip(nets, masks)], x)

    @jax.jit
    def step(nets, opt_state, x):
        loss, grads = jax.value_and_grad(loss_fn)(nets, x)
        nets, opt_state = adam_update(grads, opt_state, nets)
        return nets, opt_state, loss

    loss0, grads0 = jax.value_and_grad(loss_fn)(nets, data)
    opt_state = adam_init(nets)
    losses = []
    for _ in range(6):
        nets, opt_state, loss = step(nets, opt_state, data)
        losses.append(loss)
    trained = [{"net": n, "mask": m} for n, m in zip(nets, masks)]
    grad_norm = jnp.sqrt(sum(jnp.sum(g ** 2) for g in jax.tree.leaves(grads0)))

    eps_samples = random.normal(k_sample, (6, DIM))
    samples, _ = realnvp_inverse(trained, eps_samples)

    pp = planar_params(k_planar)
    py, pld = planar_forward(pp, data[:6])
    pjac = jax.vmap(jax.jacfwd(lambda z: planar_forward(pp, z)[0]))(data[:6])
    _, p_slog = jnp.linalg.slogdet(pjac)
    planar_nll = -jnp.mean(jnp.sum(norm.logpdf(py), axis=-1) + pld)
    planar_grad = jax.grad(lambda p: -jnp.mean(
        jnp.sum(norm.logpdf(planar_forward(p, data)[0]), axis=-1)
        + planar_forward(p, data)[1]))(pp)

    return {
        "data_head": data[:6],
        "which_count": jnp.sum(which.astype(jnp.int32)),
        "z_head": z[:6],
        "logdet_head": logdet[:6],
        "roundtrip_err_small": jnp.max(jnp.abs(x_back - data)) < 1e-4,
        "logdet_inverse_cancels": jnp.max(jnp.abs(logdet + logdet_inv)) < 1e-5,
        "jac": jac,
        "slogdet_sign": sign,
        "slogdet_logabs": logabsdet,
        "slogdet_matches": jnp.allclose(logabsdet, logdet[:5], atol=1e-5),
        "loss0": loss0,
        "grad_norm0": grad_norm,
        "grad_first_w": grads0[0][0]["w"],
        "train_losses": jnp.stack(losses),
        "adam_t": jnp.asarray(opt_state["t"]),
        "trained_last_b": nets[-1][-1]["b"],
        "samples": samples,
        "planar_y": py,
        "planar_logdet": pld,
        "planar_slogdet": p_slog,
        "planar_nll": planar_nll,
        "planar_grad_u": planar_grad["u"],
        "planar_grad_w": planar_grad["w"],
        "planar_grad_b": planar_grad["b"],
    }


if __name__ == "__main__":
    print(run())
