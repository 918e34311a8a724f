"""On-device data augmentation as JAX input pipelines write it, one key per example from
`random.split` and `vmap` over the batch: random crops of a padded image with
`lax.dynamic_slice` at `random.randint` offsets, horizontal flips chosen with
`random.bernoulli` and `jnp.where` over `image[:, ::-1]`, mixup with `random.beta`
weights and a `random.permutation` partner (labels mixed as one-hot vectors), CutMix with a
box from `random.uniform` turned into a mask by broadcasting `arange` comparisons and the
label weight from the box area, random erasing with `lax.dynamic_update_slice` of a
constant patch, brightness/contrast jitter clipped with `jnp.clip`, uint8 images converted
with `astype` and back with rounding and saturation, per-channel normalisation, random
90-degree rotations with `jnp.rot90` selected by `lax.switch`, `jax.image.resize` for a
random-scale zoom, and the whole pipeline under `jit`."""
import jax
import jax.numpy as jnp
from jax import lax, random

H = W = 6
C = 3


def random_crop(key, img, pad=2):
    padded = jnp.pad(img, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
    ky, kx = random.split(key)
    y = random.randint(ky, (), 0, 2 * pad + 1)
    x = random.randint(kx, (), 0, 2 * pad + 1)
    return lax.dynamic_slice(padded, (y, x, 0), (H, W, C)), jnp.stack([y, x])


def random_flip(key, img):
    flip = random.bernoulli(key, 0.5)
    return jnp.where(flip, img[:, ::-1], img), flip


def mixup(key, images, onehot, alpha=0.4):
    kl, kp = random.split(key)
    lam = random.beta(kl, alpha, alpha, (images.shape[0],))
    perm = random.permutation(kp, images.shape[0])
    mixed = lam[:, None, None, None] * images + (1 - lam)[:, None, None, None] * images[perm]
    labels = lam[:, None] * onehot + (1 - lam)[:, None] * onehot[perm]
    return mixed, labels, lam, perm


def cutmix(key, images, onehot):
    kb, kp, kl = random.split(key, 3)
    lam = random.uniform(kl, (), minval=0.3, maxval=0.7)
    cut = jnp.sqrt(1.0 - lam)
    ch, cw = (cut * H).astype(jnp.int32), (cut * W).astype(jnp.int32)
    cy, cx = random.randint(kb, (2,), 0, jnp.array([H, W]))
    y0, y1 = jnp.clip(cy - ch // 2, 0, H), jnp.clip(cy + ch // 2, 0, H)
    x0, x1 = jnp.clip(cx - cw // 2, 0, W), jnp.clip(cx + cw // 2, 0, W)
    rows, cols = jnp.arange(H)[:, None], jnp.arange(W)[None, :]
    box = (rows >= y0) & (rows < y1) & (cols >= x0) & (cols < x1)
    perm = random.permutation(kp, images.shape[0])
    mixed = jnp.where(box[None, :, :, None], images[perm], images)
    area = jnp.mean(box.astype(jnp.float32))
    return mixed, (1 - area) * onehot + area * onehot[perm], box


def random_erase(key, img, size=2, value=0.5):
    k1, k2 = random.split(key)
    y = random.randint(k1, (), 0, H - size + 1)
    x = random.randint(k2, (), 0, W - size + 1)
    return lax.dynamic_update_slice(img, jnp.full((size, size, C), value), (y, x, 0))


def color_jitter(key, img):
    kb, kc = random.split(key)
    b = random.uniform(kb, (), minval=-0.2, maxval=0.2)
    c = random.uniform(kc, (), minval=0.8, maxval=1.2)
    mean = jnp.mean(img, axis=(0, 1), keepdims=True)
    return jnp.clip((img - mean) * c + mean + b, 0.0, 1.0)


def random_rot90(key, img):
    k = random.randint(key, (), 0, 4)
    branches = [lambda x, r=r: jnp.rot90(x, r, axes=(0, 1)) for r in range(4)]
    return lax.switch(k, branches, img), k


def random_zoom(key, img):
    scale = random.uniform(key, (), minval=1.0, maxval=1.5)
    big = jax.image.resize(img, (2 * H, 2 * W, C), method="linear")
    off = ((2 * H - H * scale) / 2).astype(jnp.int32)
    return lax.dynamic_slice(big, (off, off, 0), (H, W, C)), scale


@jax.jit
def augment_batch(key, images_u8, labels):
    n = images_u8.shape[0]
    images = images_u8.astype(jnp.float32) / 255.0
    keys = random.split(key, 6)
    per_ex = lambda k: random.split(k, n)  # noqa: E731
    images, offsets = jax.vmap(random_crop)(per_ex(keys[0]), images)
    images, flips = jax.vmap(random_flip)(per_ex(keys[1]), images)
    images = jax.vmap(color_jitter)(per_ex(keys[2]), images)
    onehot = jax.nn.one_hot(labels, 4)
    images, mixed_labels, lam, perm = mixup(keys[3], images, onehot)
    images = jax.vmap(random_erase)(per_ex(keys[4]), images)
    mean = jnp.array([0.5, 0.45, 0.4])
    std = jnp.array([0.25, 0.2, 0.3])
    normed = (images - mean) / std
    back_u8 = jnp.clip(jnp.round(images * 255.0), 0, 255).astype(jnp.uint8)
    return normed, mixed_labels, offsets, flips, lam, perm, back_u8


def run():
    key = random.PRNGKey(2718)
    kimg, kaug, kcut, krot, kzoom = random.split(key, 5)
    images_u8 = random.randint(kimg, (4, H, W, C), 0, 256).astype(jnp.uint8)
    labels = jnp.array([0, 3, 1, 3])
    normed, mixed_labels, offsets, flips, lam, perm, back_u8 = augment_batch(
        kaug, images_u8, labels)
    images = images_u8.astype(jnp.float32) / 255.0
    cut_images, cut_labels, box = cutmix(kcut, images, jax.nn.one_hot(labels, 4))
    rotated, ks = jax.vmap(random_rot90)(random.split(krot, 4), images)
    zoomed, scale = random_zoom(kzoom, images[0])
    return {
        "normed_0": normed[0, :, :, 0],
        "normed_sum": jnp.sum(normed, axis=(1, 2, 3)),
        "mixed_labels": mixed_labels,
        "offsets": offsets,
        "flips": flips,
        "mixup_lam": lam,
        "mixup_perm": perm,
        "back_u8": back_u8[1, :, :, 2],
        "back_u8_dtype": str(back_u8.dtype),
        "cutmix_labels": cut_labels,
        "cutmix_box": box,
        "cutmix_images": cut_images[2, :, :, 1],
        "rot_ks": ks,
        "rotated": rotated[:, 0, :, 0],
        "zoom_scale": scale,
        "zoomed": zoomed[:, :, 1],
        "u8_to_float_dtype": str((images_u8 / 255).dtype),
        "u8_saturate": jnp.clip(jnp.array([-3.2, 0.4, 254.5, 255.5, 300.0]), 0, 255).astype(
            jnp.uint8),
        "u8_mean": jnp.mean(images_u8, axis=(1, 2)),
    }


if __name__ == "__main__":
    print(run())
