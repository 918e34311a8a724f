"""Image resampling with `jax.image`, as its documentation describes it: `resize` up and
down with each method (nearest, linear/bilinear, cubic/bicubic, lanczos3, lanczos5) with
and without `antialias`, resizing only some axes of an NHWC batch, integer images,
`scale_and_translate` with a scale and translation per axis, and the gradient of a
downsampling loss with respect to the image."""
import jax
from jax import image
import jax.numpy as jnp
from jax import random


def run():
    key = random.PRNGKey(8)
    img = random.uniform(key, (6, 8))
    small = jnp.arange(12.0).reshape(3, 4)
    batch = random.normal(random.fold_in(key, 1), (2, 5, 5, 3))
    sig = jnp.array([0.0, 1.0, 0.0, 2.0, 4.0, 1.0, 0.0, 3.0])
    out = {}
    for method in ("nearest", "linear", "cubic", "lanczos3", "lanczos5"):
        out[f"up_{method}"] = image.resize(small, (5, 7), method=method)
        out[f"down_{method}"] = image.resize(img, (3, 3), method=method)
        out[f"down_noaa_{method}"] = image.resize(img, (3, 5), method=method,
                                                      antialias=False)
    out.update({
        "bilinear_alias": image.resize(small, (6, 8), method="bilinear"),
        "bicubic_1d": image.resize(sig, (13,), method="bicubic"),
        "nearest_1d_down": image.resize(sig, (3,), method="nearest"),
        "batch_hw": image.resize(batch, (2, 3, 7, 3), method="linear")[0, :, :, 0],
        "int_image": image.resize(jnp.array([[0, 100], [200, 50]], dtype=jnp.int32),
                                      (3, 3), method="linear"),
        "uint8_image": image.resize(jnp.array([[0, 255], [128, 64]], dtype=jnp.uint8),
                                        (4, 4), method="cubic"),
        "scale_translate": image.scale_and_translate(
            small, (5, 6), (0, 1), jnp.array([1.5, 1.25]), jnp.array([0.5, -0.25]),
            method="linear"),
        "scale_translate_aa": image.scale_and_translate(
            img, (3, 4), (0, 1), jnp.array([0.5, 0.5]), jnp.array([0.0, 0.0]),
            method="lanczos3", antialias=True),
        "resize_grad": jax.grad(lambda im: jnp.sum(image.resize(im, (3, 4), "linear") ** 2))(
            img),
        "resize_grad_cubic": jax.grad(
            lambda s: jnp.sum(image.resize(s, (13,), "cubic") * jnp.arange(13.0)))(sig),
    })
    return out


if __name__ == "__main__":
    print(run())
