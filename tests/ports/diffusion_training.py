"""A denoising diffusion model as JAX diffusion tutorials write it, on 2-D points: linear
and cosine noise schedules (`jnp.cumprod` of alphas, `jnp.clip` of betas), per-example
timesteps from `random.randint` gathered from the schedule with `jnp.take`, the forward
process q(x_t | x_0) with `random.normal` noise, sinusoidal timestep embeddings, an MLP
denoiser trained on the epsilon loss and on the v-prediction loss with a min-SNR weight
(`jnp.minimum` of the SNR over its clip), a few jitted Adam-free SGD steps with keys from
`fold_in`, DDPM ancestral sampling in `lax.fori_loop` running t from T-1 down to 0 (no noise
added at t = 0 via `jnp.where`), deterministic DDIM sampling over a strided subset of steps
with `lax.scan`, classifier-free guidance mixing conditional and unconditional predictions
(the class dropped with `random.bernoulli` during training), and the per-timestep loss
profile under `vmap`."""
import jax
import jax.numpy as jnp
from jax import lax, random

T = 20


def linear_schedule(t_steps=T):
    betas = jnp.linspace(1e-3, 0.2, t_steps)
    alphas_bar = jnp.cumprod(1.0 - betas)
    return betas, alphas_bar


def cosine_schedule(t_steps=T, s=0.008):
    steps = jnp.arange(t_steps + 1) / t_steps
    f = jnp.cos((steps + s) / (1 + s) * jnp.pi / 2) ** 2
    alphas_bar = f / f[0]
    betas = jnp.clip(1.0 - alphas_bar[1:] / alphas_bar[:-1], 0.0, 0.999)
    return betas, jnp.cumprod(1.0 - betas)


def time_embedding(t, dim=6):
    half = dim // 2
    freqs = jnp.exp(-jnp.log(1000.0) * jnp.arange(half) / half)
    args = t.astype(jnp.float32)[..., None] * freqs
    return jnp.concatenate([jnp.sin(args), jnp.cos(args)], axis=-1)


def init(key, num_classes=3):
    k1, k2, k3, k4 = random.split(key, 4)
    return {"w1": random.normal(k1, (2 + 6 + 4, 16)) * 0.3, "b1": jnp.zeros(16),
            "w2": random.normal(k2, (16, 2)) * 0.3, "b2": jnp.zeros(2),
            "cls": random.normal(k3, (num_classes + 1, 4)) * 0.5,
            "skip": random.normal(k4, (2, 2)) * 0.1}


def denoiser(p, x, t, c):
    h = jnp.concatenate([x, time_embedding(t), p["cls"][c]], axis=-1)
    h = jax.nn.silu(h @ p["w1"] + p["b1"])
    return h @ p["w2"] + p["b2"] + x @ p["skip"]


def q_sample(alphas_bar, x0, t, noise):
    ab = jnp.take(alphas_bar, t)[:, None]
    return jnp.sqrt(ab) * x0 + jnp.sqrt(1.0 - ab) * noise


def eps_loss(p, alphas_bar, x0, c, key):
    kt, kn, kd = random.split(key, 3)
    t = random.randint(kt, (x0.shape[0],), 0, T)
    noise = random.normal(kn, x0.shape)
    drop = random.bernoulli(kd, 0.2, c.shape)
    c = jnp.where(drop, 3, c)
    pred = denoiser(p, q_sample(alphas_bar, x0, t, noise), t, c)
    return jnp.mean((pred - noise) ** 2)


def v_loss(p, alphas_bar, x0, c, key, gamma=5.0):
    kt, kn = random.split(key)
    t = random.randint(kt, (x0.shape[0],), 0, T)
    noise = random.normal(kn, x0.shape)
    ab = alphas_bar[t][:, None]
    xt = jnp.sqrt(ab) * x0 + jnp.sqrt(1 - ab) * noise
    v = jnp.sqrt(ab) * noise - jnp.sqrt(1 - ab) * x0
    snr = ab[:, 0] / (1 - ab[:, 0])
    weight = jnp.minimum(snr, gamma) / (snr + 1)
    return jnp.mean(weight * jnp.sum((denoiser(p, xt, t, c) - v) ** 2, axis=-1))


def guided_eps(p, x, t, c, w):
    cond = denoiser(p, x, t, c)
    uncond = denoiser(p, x, t, jnp.full_like(c, 3))
    return (1 + w) * cond - w * uncond


def ddpm_sample(p, betas, alphas_bar, key, c, w=1.0):
    alphas = 1.0 - betas
    x = random.normal(key, (c.shape[0], 2))

    def body(i, x):
        t = T - 1 - i
        tt = jnp.full(c.shape, t)
        eps = guided_eps(p, x, tt, c, w)
        mean = (x - betas[t] / jnp.sqrt(1 - alphas_bar[t]) * eps) / jnp.sqrt(alphas[t])
        z = random.normal(random.fold_in(key, t), x.shape)
        return mean + jnp.where(t > 0, jnp.sqrt(betas[t]), 0.0) * z

    return lax.fori_loop(0, T, body, x)


def ddim_sample(p, alphas_bar, key, c, stride=4):
    ts = jnp.arange(T - 1, -1, -stride)
    prev = jnp.concatenate([ts[1:], jnp.array([-1])])
    x = random.normal(key, (c.shape[0], 2))

    def step(x, tp):
        t, t_prev = tp
        ab = alphas_bar[t]
        ab_prev = jnp.where(t_prev >= 0, alphas_bar[jnp.maximum(t_prev, 0)], 1.0)
        eps = denoiser(p, x, jnp.full(c.shape, t), c)
        x0 = (x - jnp.sqrt(1 - ab) * eps) / jnp.sqrt(ab)
        return jnp.sqrt(ab_prev) * x0 + jnp.sqrt(1 - ab_prev) * eps, x0

    return lax.scan(step, x, (ts, prev))


def run():
    key = random.PRNGKey(1234)
    kd, kc, kp, ks = random.split(key, 4)
    c = random.randint(kc, (24,), 0, 3)
    centers = jnp.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    x0 = centers[c] + 0.3 * random.normal(kd, (24, 2))
    betas, alphas_bar = linear_schedule()
    cb, cab = cosine_schedule()
    p = init(kp)

    @jax.jit
    def step(p, k):
        l1, g1 = jax.value_and_grad(eps_loss)(p, alphas_bar, x0, c, k)
        l2, g2 = jax.value_and_grad(v_loss)(p, cab, x0, c, random.fold_in(k, 1))
        p = jax.tree.map(lambda a, b, d: a - 0.05 * b - 0.02 * d, p, g1, g2)
        return p, jnp.stack([l1, l2])

    losses = []
    for i in range(5):
        p, lv = step(p, random.fold_in(ks, i))
        losses.append(lv)
    cls = jnp.array([0, 1, 2, 0])
    samples = jax.jit(ddpm_sample)(p, betas, alphas_bar, random.fold_in(key, 7), cls)
    ddim_x, ddim_x0 = ddim_sample(p, alphas_bar, random.fold_in(key, 8), cls)
    per_t = jax.vmap(lambda t: jnp.mean((denoiser(p, q_sample(
        alphas_bar, x0[:4], jnp.full((4,), t), jnp.ones((4, 2))), jnp.full((4,), t),
        c[:4]) - 1.0) ** 2))(jnp.arange(0, T, 5))
    return {
        "alphas_bar": alphas_bar,
        "cosine_betas": cb,
        "cosine_alphas_bar": cab,
        "time_embedding": time_embedding(jnp.array([0, 7, 19])),
        "q_sample": q_sample(alphas_bar, x0[:3], jnp.array([0, 10, 19]), jnp.ones((3, 2))),
        "losses": jnp.stack(losses),
        "final_w2": p["w2"],
        "final_cls": p["cls"],
        "ddpm_samples": samples,
        "ddim_x": ddim_x,
        "ddim_x0_traj": ddim_x0[:, 0],
        "guided": guided_eps(p, x0[:3], jnp.array([3, 9, 15]), c[:3], 2.0),
        "per_t_loss": per_t,
    }


if __name__ == "__main__":
    print(run())
