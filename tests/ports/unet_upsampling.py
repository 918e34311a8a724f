"""A tiny U-Net for binary segmentation as image-segmentation tutorials write it in JAX
(NHWC): `lax.conv_general_dilated` with padding "SAME" and with explicit pads, a dilated
convolution (`rhs_dilation`), a depthwise convolution (`feature_group_count`),
downsampling by `lax.reduce_window` max pooling and by average pooling (`lax.add` window
sums), upsampling by `lax.conv_transpose` (stride 2, "SAME" and "VALID"), by
`jax.image.resize` ("nearest" and "bilinear") and by `jnp.repeat`, skip connections
concatenated on the channel axis, a sigmoid segmentation head, a soft dice loss with its
gradient with respect to every parameter (`jax.grad` over a dict pytree, reduced with
`jax.tree.map`/`jax.tree.leaves`), `vmap` of the one-image network compared with the
batched call, and a few eager SGD steps (`jax.tree.map`)."""
import jax
import jax.numpy as jnp
from jax import lax, random

B, S, C_IN = 2, 8, 2
DN = ("NHWC", "HWIO", "NHWC")


def init(key):
    ks = random.split(key, 7)
    he = jax.nn.initializers.he_normal()
    return {
        "enc1": {"w": he(ks[0], (3, 3, C_IN, 4)), "b": jnp.zeros(4)},
        "enc2": {"w": he(ks[1], (3, 3, 4, 8)), "b": jnp.full(8, 0.01)},
        "dil": {"w": he(ks[2], (3, 3, 8, 8)), "b": jnp.zeros(8)},
        "depthwise": {"w": he(ks[3], (3, 3, 1, 8)), "b": jnp.zeros(8)},
        "up": {"w": he(ks[4], (2, 2, 8, 8)), "b": jnp.zeros(8)},
        "dec2": {"w": he(ks[5], (3, 3, 16, 4)), "b": jnp.zeros(4)},
        "head": {"w": he(ks[6], (1, 1, 8, 1)), "b": jnp.zeros(1)},
    }


def conv(p, x, padding="SAME", **kw):
    y = lax.conv_general_dilated(x, p["w"], window_strides=(1, 1), padding=padding,
                                 dimension_numbers=DN, **kw)
    return y + p["b"]


def max_pool(x):
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")


def avg_pool(x):
    summed = lax.reduce_window(x, 0.0, lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    return summed / 4.0


def upsample_transpose(p, x, padding="SAME"):
    y = lax.conv_transpose(x, p["w"], strides=(2, 2), padding=padding, dimension_numbers=DN)
    return y + p["b"]


def unet(params, x, up_method="bilinear"):
    e1 = jax.nn.relu(conv(params["enc1"], x))                                # (B, 8, 8, 4)
    d1 = max_pool(e1)                                                        # (B, 4, 4, 4)
    e2 = jax.nn.relu(conv(params["enc2"], d1, padding=((1, 1), (1, 1))))     # (B, 4, 4, 8)
    e2 = e2 + jax.nn.relu(conv(params["dil"], e2, padding=((2, 2), (2, 2)),
                               rhs_dilation=(2, 2)))
    d2 = avg_pool(e2)                                                        # (B, 2, 2, 8)
    mid = jax.nn.relu(conv(params["depthwise"], d2, feature_group_count=8))
    u2 = upsample_transpose(params["up"], mid)                               # (B, 4, 4, 8)
    u2 = jnp.concatenate([u2, e2], axis=-1)                                  # (B, 4, 4, 16)
    u2 = jax.nn.relu(conv(params["dec2"], u2))                               # (B, 4, 4, 4)
    b = u2.shape[0]
    u1 = jax.image.resize(u2, (b, S, S, 4), method=up_method)               # (B, 8, 8, 4)
    u1 = jnp.concatenate([u1, e1], axis=-1)                                  # (B, 8, 8, 8)
    return jax.nn.sigmoid(conv(params["head"], u1))[..., 0]


def unet_one(params, image):
    return unet(params, image[None])[0]


def dice_loss(params, images, masks, eps=1.0):
    probs = unet(params, images)
    inter = jnp.sum(probs * masks, axis=(1, 2))
    total = jnp.sum(probs, axis=(1, 2)) + jnp.sum(masks, axis=(1, 2))
    return 1.0 - jnp.mean((2.0 * inter + eps) / (total + eps))


def make_data(key):
    yy, xx = jnp.meshgrid(jnp.arange(S), jnp.arange(S), indexing="ij")
    centers = jnp.array([[2.5, 3.0], [5.0, 4.5]])
    radius = jnp.array([2.2, 1.8])
    d2 = (yy[None] - centers[:, 0, None, None]) ** 2 + (xx[None] - centers[:, 1, None, None]) ** 2
    masks = (d2 <= radius[:, None, None] ** 2).astype(jnp.float32)
    noise = 0.3 * random.normal(key, (B, S, S, C_IN))
    images = jnp.stack([masks, 1.0 - masks], axis=-1) + noise
    return images, masks


def sgd_steps(params, images, masks, steps=3, lr=0.5):
    losses = []
    for _ in range(steps):
        loss, g = jax.value_and_grad(dice_loss)(params, images, masks)
        params = jax.tree.map(lambda p, gi: p - lr * gi, params, g)
        losses.append(loss)
    return params, jnp.stack(losses)


def run():
    k_init, k_data, k_small = random.split(random.PRNGKey(7), 3)
    params = init(k_init)
    images, masks = make_data(k_data)
    probs = jax.jit(unet)(params, images)
    probs_nearest = unet(params, images, up_method="nearest")
    probs_vmap = jax.vmap(unet_one, in_axes=(None, 0))(params, images)
    loss, grads = jax.value_and_grad(dice_loss)(params, images, masks)
    grad_norm = jnp.sqrt(sum(jnp.sum(g ** 2) for g in jax.tree.leaves(grads)))
    new_params, sgd_losses = sgd_steps(params, images, masks)

    small = random.normal(k_small, (1, 3, 3, 8))
    t_same = upsample_transpose(params["up"], small, "SAME")
    t_valid = upsample_transpose(params["up"], small, "VALID")
    t_explicit = lax.conv_transpose(small, params["up"]["w"], (2, 2), ((1, 0), (0, 1)),
                                    dimension_numbers=DN)
    near = jax.image.resize(small, (1, 6, 6, 8), "nearest")
    rep = jnp.repeat(jnp.repeat(small, 2, axis=1), 2, axis=2)
    bil = jax.image.resize(small, (1, 6, 6, 8), "bilinear")
    odd_pool = lax.reduce_window(small, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "SAME")
    return {
        "masks_area": jnp.sum(masks, axis=(1, 2)),
        "probs": probs[0],
        "probs_nearest": probs_nearest[1],
        "vmap_matches": jnp.allclose(probs, probs_vmap, atol=1e-6),
        "probs_vmap": probs_vmap[1],
        "loss": loss,
        "grad_enc1_w": grads["enc1"]["w"][:, :, 0, :],
        "grad_dil_w": grads["dil"]["w"][1, :, :, 0],
        "grad_depthwise_w": grads["depthwise"]["w"][..., 0, :],
        "grad_up_w": grads["up"]["w"][..., 0],
        "grad_dec2_b": grads["dec2"]["b"],
        "grad_head": grads["head"]["w"].ravel(),
        "grad_norm": grad_norm,
        "sgd_losses": sgd_losses,
        "sgd_loss_after": dice_loss(new_params, images, masks),
        "transpose_same": t_same[0, ..., 0],
        "transpose_valid_shape": jnp.array(t_valid.shape),
        "transpose_valid": t_valid[0, ..., 1],
        "transpose_explicit": t_explicit[0, ..., 2],
        "nearest_is_repeat": jnp.array_equal(near, rep),
        "bilinear_up": bil[0, ..., 3],
        "max_pool_same": odd_pool[0, ..., 0],
        "avg_pool": avg_pool(images)[1, ..., 0],
    }


if __name__ == "__main__":
    print(run())
