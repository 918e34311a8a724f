"""A variational autoencoder on binary 6x6 images: an MLP encoder to a Gaussian posterior,
the reparameterisation trick with `random.normal`, a Bernoulli decoder, the ELBO, and a few
jitted SGD steps with fresh noise each step from `random.fold_in`."""
import jax
import jax.numpy as jnp
from jax import random


def dense_init(key, n_in, n_out):
    return {"w": random.normal(key, (n_in, n_out)) * jnp.sqrt(2.0 / n_in),
            "b": jnp.zeros(n_out)}


def init_vae(key, n_pixels=36, n_hidden=16, n_latent=2):
    ks = random.split(key, 5)
    return {
        "enc": dense_init(ks[0], n_pixels, n_hidden),
        "enc_mean": dense_init(ks[1], n_hidden, n_latent),
        "enc_logvar": dense_init(ks[2], n_hidden, n_latent),
        "dec_hidden": dense_init(ks[3], n_latent, n_hidden),
        "dec_out": dense_init(ks[4], n_hidden, n_pixels),
    }


def dense(p, x):
    return x @ p["w"] + p["b"]


def encode(params, x):
    h = jax.nn.softplus(dense(params["enc"], x))
    return dense(params["enc_mean"], h), dense(params["enc_logvar"], h)


def decode(params, z):
    return dense(params["dec_out"], jax.nn.softplus(dense(params["dec_hidden"], z)))


def elbo(params, x, key):
    mean, logvar = encode(params, x)
    eps = random.normal(key, mean.shape)
    z = mean + jnp.exp(0.5 * logvar) * eps
    logits = decode(params, z)
    log_lik = -jnp.sum(jax.nn.softplus(-logits) * x + jax.nn.softplus(logits) * (1 - x),
                       axis=-1)
    kl = -0.5 * jnp.sum(1 + logvar - mean ** 2 - jnp.exp(logvar), axis=-1)
    return jnp.mean(log_lik - kl), jnp.mean(kl)


@jax.jit
def train_step(params, x, key):
    (value, kl), grads = jax.value_and_grad(lambda p: elbo(p, x, key), has_aux=True)(params)
    params = jax.tree_util.tree_map(lambda p, g: p + 0.02 * g, params, grads)
    return params, value, kl


def make_images(key, n=32):
    # Two prototypes (a bar and a cross) with 10% of the pixels flipped.
    bar = jnp.zeros((6, 6)).at[:, 2:4].set(1.0).reshape(-1)
    cross = jnp.eye(6).at[::-1].add(jnp.eye(6)).clip(0, 1).reshape(-1)
    protos = jnp.stack([bar, cross])
    k1, k2 = random.split(key)
    which = random.bernoulli(k1, 0.5, (n,)).astype(jnp.int32)
    flips = random.bernoulli(k2, 0.1, (n, 36))
    return jnp.where(flips, 1.0 - protos[which], protos[which])


def run():
    k_data, k_init, k_train = random.split(random.PRNGKey(3), 3)
    images = make_images(k_data)
    params = init_vae(k_init)
    elbos, kls = [], []
    for step in range(15):
        params, value, kl = train_step(params, images, random.fold_in(k_train, step))
        elbos.append(value)
        kls.append(kl)
    mean, logvar = encode(params, images[:4])
    recon = jax.nn.sigmoid(decode(params, mean))
    return {
        "images_row_sums": images.sum(axis=1),
        "elbos": jnp.stack(elbos),
        "kls": jnp.stack(kls),
        "latent_mean": mean,
        "latent_logvar": logvar,
        "reconstruction": recon,
        "dec_out_w": params["dec_out"]["w"][:, :6],
    }


if __name__ == "__main__":
    print(run())
