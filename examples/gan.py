"""A generative adversarial network (two stax MLPs, non-saturating loss) learning a ring of 8
Gaussians in the plane. The discriminator is regularised with an R1 gradient penalty (the norm
of its input gradient at real data: a `grad` inside the `grad` of its loss), without which
training collapses onto a few modes for some seeds.

    python examples/gan.py [--steps 3000] [--seed 0] [--smoke]

A mode counts as covered when at least `--min-fraction` of the generated samples lie within
3 standard deviations of its centre; the script also reports the share of high-quality samples
(within 3 sigma of any centre).
"""
import numpy as np
from _common import figure, parse_args, save
from tqdm import tqdm

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn, optimizers, random, stax

N_MODES, RADIUS = 8, 2.0


def centres():
    angles = 2 * np.pi * np.arange(N_MODES) / N_MODES
    return (RADIUS * np.stack([np.cos(angles), np.sin(angles)], axis=1)).astype(np.float32)


def sample_ring(key, n, std):
    k_mode, k_noise = random.split(key)
    mode = random.randint(k_mode, (n,), 0, N_MODES)
    return fnp.asarray(centres())[mode] + std * random.normal(k_noise, (n, 2))


def mlp(hidden, out_dim):
    return stax.serial(stax.Dense(hidden), stax.LeakyRelu, stax.Dense(hidden), stax.LeakyRelu,
                       stax.Dense(out_dim))


def coverage(samples, std, min_fraction):
    dist = np.linalg.norm(samples[:, None, :] - centres()[None], axis=-1)   # (n, modes)
    near = dist < 3 * std
    per_mode = near.mean(axis=0)
    return int(np.sum(per_mode >= min_fraction)), float(near.any(axis=1).mean()), per_mode


def main():
    args = parse_args(__doc__.splitlines()[0], steps=3000, batch_size=256, lr=1e-3, std=0.05,
                      latent=16, hidden=128, min_fraction=0.02, final_lr=0.1,
                      r1=0.1)
    steps = 20 if args.smoke else args.steps
    g_init, generate = mlp(args.hidden, 2)
    d_init, discriminate = mlp(args.hidden, 1)
    key, g_key, d_key = random.split(random.PRNGKey(args.seed), 3)
    _, g_params = g_init(g_key, (-1, args.latent))
    _, d_params = d_init(d_key, (-1, 2))

    schedule = optimizers.polynomial_decay(args.lr, steps, args.lr * args.final_lr)
    g_opt_init, g_update, g_get = optimizers.adam(schedule, b1=0.5)
    d_opt_init, d_update, d_get = optimizers.adam(schedule, b1=0.5)

    def d_loss(d_params, g_params, real, z):
        fake = generate(g_params, z)
        # R1 penalty: the squared norm of D's input gradient at real data (a grad inside grad).
        input_grads = fg.grad(lambda x: fnp.sum(discriminate(d_params, x)))(real)
        r1 = fnp.mean(fnp.sum(input_grads ** 2, axis=1))
        return (fnp.mean(nn.softplus(-discriminate(d_params, real)))       # -log D(real)
                + fnp.mean(nn.softplus(discriminate(d_params, fake)))      # -log(1 - D(fake))
                + 0.5 * args.r1 * r1)

    def g_loss(g_params, d_params, z):
        return fnp.mean(nn.softplus(-discriminate(d_params, generate(g_params, z))))

    @fg.jit
    def train_step(i, g_state, d_state, key):
        k_real, k_z1, k_z2 = random.split(key, 3)
        real = sample_ring(k_real, args.batch_size, args.std)
        z = random.normal(k_z1, (args.batch_size, args.latent))
        d_value, d_grads = fg.value_and_grad(d_loss)(d_get(d_state), g_get(g_state), real, z)
        d_state = d_update(i, d_grads, d_state)
        z = random.normal(k_z2, (args.batch_size, args.latent))
        g_value, g_grads = fg.value_and_grad(g_loss)(g_get(g_state), d_get(d_state), z)
        return g_update(i, g_grads, g_state), d_state, d_value, g_value

    g_state, d_state = g_opt_init(g_params), d_opt_init(d_params)
    d_losses, g_losses = [], []
    for i in tqdm(range(steps), desc="gan", disable=args.smoke):
        key, step_key = random.split(key)
        g_state, d_state, d_value, g_value = train_step(i, g_state, d_state, step_key)
        d_losses.append(float(d_value))
        g_losses.append(float(g_value))

    key, z_key = random.split(key)
    samples = np.asarray(fg.jit(generate)(g_get(g_state),
                                           random.normal(z_key, (2000, args.latent))))
    modes, quality, per_mode = coverage(samples, args.std, args.min_fraction)
    print("share of samples near each mode:", np.array2string(per_mode, precision=3))
    print(f"high-quality samples (within 3 sigma of a mode): {quality:.3f}")
    if not args.smoke:
        fig, (ax_loss, ax_samples) = figure(2)
        ax_loss.plot(d_losses, label="discriminator", alpha=0.7)
        ax_loss.plot(g_losses, label="generator", alpha=0.7)
        ax_loss.set_xlabel("step")
        ax_loss.set_ylabel("loss")
        ax_loss.legend()
        real = np.asarray(sample_ring(random.PRNGKey(args.seed + 1), 2000, args.std))
        ax_samples.scatter(*real.T, s=2, alpha=0.3, label="data")
        ax_samples.scatter(*samples.T, s=2, alpha=0.3, label="generated")
        ax_samples.set_aspect("equal")
        ax_samples.legend(markerscale=5)
        save(fig, "gan")
    print(f"RESULT modes_covered={modes}")


if __name__ == "__main__":
    main()
