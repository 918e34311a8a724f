"""Regularisers that differentiate through gradients, as GAN and robustness code writes them
in JAX: the WGAN-GP gradient penalty (the critic's input gradient per example with
`vmap(grad)` at points interpolated with `random.uniform`, its norm's distance from 1, then
the gradient of that penalty with respect to the critic's parameters: double backprop
through `jnp.linalg.norm`), the R1 penalty on real data, spectral normalisation by power
iteration with `lax.stop_gradient` on the singular vectors (and the gradient through the
normalised weight), an input-gradient saliency map and its `jax.jacrev` counterpart,
FGSM and a few PGD steps (`jnp.sign` of the input gradient, `jnp.clip` to an epsilon ball),
a Lipschitz estimate from the Jacobian's spectral norm (`jnp.linalg.norm(ord=2)`), the
non-saturating GAN losses with `jax.nn.softplus`, one alternating generator/critic step
under `jit`, and the L1 penalty's gradient at exactly zero weights."""
import jax
import jax.numpy as jnp
from jax import lax, random


def init(key):
    k1, k2, k3 = random.split(key, 3)
    critic = {"w1": random.normal(k1, (3, 8)) * 0.5, "b1": jnp.zeros(8),
              "w2": random.normal(k2, (8, 1)) * 0.5}
    gen = {"w": random.normal(k3, (2, 3)) * 0.7, "b": jnp.array([0.5, -0.5, 0.0])}
    return critic, gen


def critic_fn(p, x):
    return (jax.nn.leaky_relu(x @ p["w1"] + p["b1"], 0.2) @ p["w2"])[..., 0]


def generator(p, z):
    return jnp.tanh(z @ p["w"] + p["b"]) * 2.0


def gradient_penalty(p, real, fake, key):
    eps = random.uniform(key, (real.shape[0], 1))
    mid = eps * real + (1 - eps) * fake
    grads = jax.vmap(jax.grad(critic_fn, argnums=1), in_axes=(None, 0))(p, mid)
    norms = jnp.linalg.norm(grads, axis=-1)
    return jnp.mean((norms - 1.0) ** 2), norms


def r1_penalty(p, real):
    g = jax.grad(lambda x: jnp.sum(critic_fn(p, x)))(real)
    return 0.5 * jnp.mean(jnp.sum(g * g, axis=-1))


def spectral_normalize(w, u, iters=3):
    def body(_, u):
        v = w.T @ u
        v = v / (jnp.linalg.norm(v) + 1e-12)
        u = w @ v
        return u / (jnp.linalg.norm(u) + 1e-12)

    u = lax.stop_gradient(lax.fori_loop(0, iters, body, u))
    v = lax.stop_gradient(w.T @ u / (jnp.linalg.norm(w.T @ u) + 1e-12))
    sigma = u @ w @ v
    return w / sigma, sigma, u


def fgsm(p, x, y, eps):
    g = jax.grad(lambda xx: jnp.mean((critic_fn(p, xx) - y) ** 2))(x)
    return x + eps * jnp.sign(g), g


def pgd(p, x, y, eps=0.3, step=0.1, iters=4):
    def body(_, xa):
        g = jax.grad(lambda xx: jnp.mean((critic_fn(p, xx) - y) ** 2))(xa)
        xa = xa + step * jnp.sign(g)
        return x + jnp.clip(xa - x, -eps, eps)
    return lax.fori_loop(0, iters, body, x)


def run():
    key = random.PRNGKey(77)
    kp, kr, kz, kgp, ku = random.split(key, 5)
    critic, gen = init(kp)
    real = random.normal(kr, (6, 3)) + jnp.array([1.0, 0.0, -1.0])
    z = random.normal(kz, (6, 2))
    fake = generator(gen, z)
    (gp, norms) = gradient_penalty(critic, real, fake, kgp)
    gp_grad = jax.grad(lambda p: gradient_penalty(p, real, fake, kgp)[0])(critic)
    r1 = r1_penalty(critic, real)
    r1_grad = jax.grad(r1_penalty)(critic, real)
    w = critic["w1"]
    u0 = random.normal(ku, (3,))
    w_sn, sigma, u = spectral_normalize(w, u0, iters=30)
    sn_grad = jax.grad(lambda ww: jnp.sum(spectral_normalize(ww, u0)[0] ** 3))(w)
    saliency = jax.grad(lambda x: jnp.sum(critic_fn(critic, x)))(real)
    jac = jax.jacrev(critic_fn, argnums=1)(critic, real[:2])
    y = jnp.zeros(6)
    adv, fgsm_grad = fgsm(critic, real, y, 0.1)
    pgd_x = pgd(critic, real, y)
    jac_lin = jax.jacfwd(lambda x: jax.nn.leaky_relu(x @ critic["w1"] + critic["b1"], 0.2))(
        real[0])

    @jax.jit
    def gan_step(c, g, z, real, key):
        def d_loss(c):
            f = generator(g, z)
            loss = jnp.mean(jax.nn.softplus(critic_fn(c, f))) + jnp.mean(
                jax.nn.softplus(-critic_fn(c, real)))
            return loss + 10.0 * gradient_penalty(c, real, f, key)[0]

        def g_loss(g):
            return jnp.mean(jax.nn.softplus(-critic_fn(c, generator(g, z))))

        dl, dg = jax.value_and_grad(d_loss)(c)
        c = jax.tree.map(lambda a, b: a - 0.05 * b, c, dg)
        gl, gg = jax.value_and_grad(g_loss)(g)
        g = jax.tree.map(lambda a, b: a - 0.05 * b, g, gg)
        return c, g, jnp.stack([dl, gl])

    c, g, losses = critic, gen, []
    for i in range(4):
        c, g, lv = gan_step(c, g, z, real, random.fold_in(key, i))
        losses.append(lv)
    l1_at_zero = jax.grad(lambda t: jnp.sum(jnp.abs(t)))(jnp.array([0.0, -0.0, 1.0, -2.0]))
    return {
        "fake": fake,
        "gp": gp,
        "gp_norms": norms,
        "gp_grad_w1": gp_grad["w1"],
        "gp_grad_w2": gp_grad["w2"][:, 0],
        "gp_grad_b1": gp_grad["b1"],
        "r1": r1,
        "r1_grad_w1": r1_grad["w1"],
        "sigma": sigma,
        "sigma_svd": jnp.linalg.svd(w, compute_uv=False)[0],
        "sigma_norm2": jnp.linalg.norm(w, ord=2),
        "sn_top_singular": jnp.linalg.norm(w_sn, ord=2),
        "sn_u_abs": jnp.abs(u),
        "sn_grad": sn_grad,
        "saliency": saliency,
        "jac": jac,
        "fgsm": adv,
        "fgsm_grad_sign": jnp.sign(fgsm_grad),
        "pgd": pgd_x,
        "pgd_within_ball": jnp.all(jnp.abs(pgd_x - real) <= 0.3 + 1e-6),
        "lipschitz_local": jnp.linalg.norm(jac_lin, ord=2),
        "gan_losses": jnp.stack(losses),
        "gan_final_gen_w": g["w"],
        "gan_final_critic_w2": c["w2"][:, 0],
        "l1_grad_at_zero": l1_at_zero,
    }


if __name__ == "__main__":
    print(run())
