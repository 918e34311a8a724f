"""Differentiable image warping as spatial-transformer tutorials write it in JAX: an affine
sampling grid from `jnp.meshgrid` of `jnp.linspace` in normalised coordinates, bilinear
sampling with `jnp.floor`, `jnp.clip`-ed corner indices and advanced indexing (zero
padding outside the image through a validity mask), the same sampler through `jnp.take`
on a flattened image, the transformer under `vmap` over a batch of images and affine
parameters, gradients of a reconstruction loss with respect to the affine parameters and
to the image, a few gradient steps recovering a rotation, `jax.scipy.ndimage.
map_coordinates` with order 0 and 1 in every mode (coordinates out of the image, at
half-integers) and its gradients, `jnp.take` with `mode="fill"` and `"clip"`, and
`jax.image.resize` with several methods (with and without antialiasing) and its gradient."""
import jax
import jax.numpy as jnp
from jax import random
from jax.scipy import ndimage

H, W, C = 6, 7, 2


def affine_grid(theta, h, w):
    xs = jnp.linspace(-1.0, 1.0, w)
    ys = jnp.linspace(-1.0, 1.0, h)
    gx, gy = jnp.meshgrid(xs, ys)                                # (h, w), xy indexing
    coords = jnp.stack([gx, gy, jnp.ones_like(gx)], axis=-1)     # (h, w, 3)
    src = jnp.einsum("ij,hwj->hwi", theta, coords)               # (h, w, 2)
    x = (src[..., 0] + 1.0) * (w - 1) / 2.0
    y = (src[..., 1] + 1.0) * (h - 1) / 2.0
    return x, y


def bilinear_sample(img, x, y):
    h, w = img.shape[:2]
    x0 = jnp.floor(x).astype(jnp.int32)
    y0 = jnp.floor(y).astype(jnp.int32)
    x1, y1 = x0 + 1, y0 + 1
    wa = ((x1 - x) * (y1 - y))[..., None]
    wb = ((x1 - x) * (y - y0))[..., None]
    wc = ((x - x0) * (y1 - y))[..., None]
    wd = ((x - x0) * (y - y0))[..., None]

    def pixel(yi, xi):
        valid = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
        v = img[jnp.clip(yi, 0, h - 1), jnp.clip(xi, 0, w - 1)]
        return jnp.where(valid[..., None], v, 0.0)

    return (wa * pixel(y0, x0) + wb * pixel(y1, x0) + wc * pixel(y0, x1)
            + wd * pixel(y1, x1))


def bilinear_take(img, x, y):
    """Edge-clamped bilinear sampling through jnp.take on the flattened image."""
    h, w, c = img.shape
    flat = img.reshape(h * w, c)
    x = jnp.clip(x, 0.0, w - 1.0)
    y = jnp.clip(y, 0.0, h - 1.0)
    x0 = jnp.clip(jnp.floor(x), 0, w - 2).astype(jnp.int32)
    y0 = jnp.clip(jnp.floor(y), 0, h - 2).astype(jnp.int32)
    fx, fy = (x - x0)[..., None], (y - y0)[..., None]

    def at(yi, xi):
        return jnp.take(flat, (yi * w + xi).ravel(), axis=0).reshape(x.shape + (c,))

    top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
    bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
    return top * (1 - fy) + bottom * fy


def transformer(img, theta):
    x, y = affine_grid(theta, img.shape[0], img.shape[1])
    return bilinear_sample(img, x, y)


def rotation(angle, scale=1.0, tx=0.0, ty=0.0):
    c, s = jnp.cos(angle) * scale, jnp.sin(angle) * scale
    return jnp.array([[c, -s, tx], [s, c, ty]])


def run():
    key = random.PRNGKey(5)
    k_img, k_theta, k_coord = random.split(key, 3)
    yy, xx = jnp.meshgrid(jnp.arange(H), jnp.arange(W), indexing="ij")
    base = jnp.stack([jnp.sin(0.9 * xx) + 0.5 * yy, jnp.cos(0.7 * yy - 0.3 * xx)], axis=-1)
    imgs = base[None] + 0.1 * random.normal(k_img, (3, H, W, C))
    thetas = jnp.stack([rotation(0.3, 0.9, 0.1, -0.05), rotation(-0.45, 1.1, -0.2, 0.15),
                        rotation(0.1, 1.3, 0.0, 0.0)])
    thetas = thetas + 0.01 * random.normal(k_theta, thetas.shape)
    warped = jax.jit(jax.vmap(transformer))(imgs, thetas)
    x, y = affine_grid(thetas[0], H, W)
    valid = (x >= 0) & (x <= W - 1) & (y >= 0) & (y <= H - 1)

    target = warped

    def loss(theta, img, tgt):
        return jnp.mean((transformer(img, theta) - tgt) ** 2)

    start = jnp.broadcast_to(rotation(0.2, 1.0, 0.05, 0.0), thetas.shape)
    batch_loss = lambda th, im: jnp.mean(jax.vmap(loss)(th, im, target))
    g_theta, g_img = jax.grad(batch_loss, argnums=(0, 1))(start, imgs)

    @jax.jit
    def fit_step(th):
        l, g = jax.value_and_grad(batch_loss)(th, imgs)
        return th - 0.5 * g, l

    th = start
    losses = []
    for _ in range(6):
        th, l = fit_step(th)
        losses.append(l)

    # map_coordinates: one channel, coordinates off the image and at half-integers
    chan = imgs[0, ..., 0]
    rows = jnp.array([-1.5, -0.5, 0.0, 0.5, 2.25, 4.5, 5.0, 5.5, 6.7, 8.0])
    cols = jnp.array([-2.0, 0.5, 6.5, 3.3, 1.5, 7.25, -0.75, 2.5, 6.0, 9.5])
    mapped = {}
    for order in (0, 1):
        for mode in ("constant", "nearest", "wrap", "mirror", "reflect"):
            mapped[f"map_o{order}_{mode}"] = ndimage.map_coordinates(
                chan, [rows, cols], order=order, mode=mode, cval=-1.0)
    pts = random.uniform(k_coord, (2, 8), minval=-0.5, maxval=5.5)
    mc = lambda im, p: jnp.sum(ndimage.map_coordinates(im, [p[0], p[1]], order=1,
                                                       mode="nearest") ** 2)
    g_mc_img, g_mc_pts = jax.grad(mc, argnums=(0, 1))(chan, pts)
    mc_vs_bilinear = ndimage.map_coordinates(chan, [y, x], order=1, mode="constant")

    idx = jnp.array([0, 5, 41, 42, -1, 100])
    flat = imgs[0].reshape(-1, C)
    resized = {
        f"resize_{m}": jax.image.resize(imgs[0], (9, 4, C), method=m)
        for m in ("nearest", "linear", "cubic", "lanczos3")
    }
    resized["resize_linear_noaa"] = jax.image.resize(imgs[0], (3, 4, C), "linear",
                                                     antialias=False)
    resized["resize_linear_aa"] = jax.image.resize(imgs[0], (3, 4, C), "linear")
    g_resize = jax.grad(lambda im: jnp.sum(jax.image.resize(im, (4, 10, C), "cubic")
                                           * base[:4, :, :1].repeat(2, axis=1)[:, :10]))(
        imgs[0])
    return {
        "warped": warped,
        "grid_x": x,
        "grid_y": y,
        "valid": valid,
        "take_sampler": bilinear_take(imgs[1], x, y),
        "g_theta": g_theta,
        "g_img": g_img[1],
        "fit_losses": jnp.stack(losses),
        "fit_theta": th,
        **mapped,
        "g_mc_img": g_mc_img,
        "g_mc_pts": g_mc_pts,
        "mc_vs_bilinear": jnp.max(jnp.abs(mc_vs_bilinear - warped[0, ..., 0])) < 1e-5,
        "take_fill": jnp.take(flat, idx, axis=0),
        "take_clip": jnp.take(flat, idx, axis=0, mode="clip"),
        **resized,
        "g_resize": g_resize,
    }


if __name__ == "__main__":
    print(run())
