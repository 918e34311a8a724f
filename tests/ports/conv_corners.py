"""Convolutions at the corners image and audio models reach, as `jax.lax` documents them:
`conv_general_dilated` with `lhs_dilation` (a transposed convolution), `rhs_dilation`
(atrous), asymmetric and negative padding, `feature_group_count` (depthwise and grouped),
`batch_group_count`, NCHW/OIHW and NHWC/HWIO and NWC 1-D dimension numbers, strides larger
than the kernel, `lax.conv_transpose` with `transpose_kernel=True`, padding as strings
("SAME", "SAME_LOWER", "VALID"), 3-D convolutions, `preferred_element_type` with int8
inputs, and gradients with respect to inputs and kernels of dilated, strided and grouped
convolutions."""
import jax
import jax.numpy as jnp
from jax import lax, random


def run():
    key = random.PRNGKey(13)
    k1, k2, k3, k4, k5 = random.split(key, 5)
    x = random.normal(k1, (2, 4, 7, 6))          # NCHW
    w = random.normal(k2, (6, 2, 3, 3))          # OIHW, groups of 2 input channels
    xh = jnp.transpose(x, (0, 2, 3, 1))          # NHWC
    wh = random.normal(k3, (3, 2, 4, 5))         # HWIO
    x1 = random.normal(k4, (1, 16, 3))           # NWC
    w1 = random.normal(k5, (4, 3, 2))            # WIO
    dn = ("NCHW", "OIHW", "NCHW")
    dnh = ("NHWC", "HWIO", "NHWC")

    def grouped(xx, ww):
        return lax.conv_general_dilated(xx, ww, (2, 1), ((1, 2), (0, 1)), rhs_dilation=(1, 2),
                                        dimension_numbers=dn, feature_group_count=2)

    def transposed(xx, ww):
        return lax.conv_general_dilated(xx, ww, (1, 1), ((2, 2), (1, 1)), lhs_dilation=(2, 2),
                                        dimension_numbers=dnh)

    x3 = jnp.arange(2 * 5 * 5 * 4 * 1.0).reshape(1, 5, 5, 4, 2) / 50.0
    w3 = jnp.ones((2, 2, 2, 2, 3)) / 8.0
    xi = (jnp.arange(2 * 9 * 2) % 7 - 3).astype(jnp.int8).reshape(2, 9, 2)
    wi = (jnp.arange(3 * 2 * 2) % 5 - 2).astype(jnp.int8).reshape(3, 2, 2)
    return {
        "grouped_dilated": grouped(x, w),
        "depthwise": lax.conv_general_dilated(xh, jnp.ones((3, 3, 1, 4)) * jnp.arange(4.0),
                                              (1, 1), "SAME", dimension_numbers=dnh,
                                              feature_group_count=4)[0, :, :, 3],
        "batch_group": lax.conv_general_dilated(x, random.normal(k5, (4, 4, 2, 2)), (1, 1),
                                                "VALID", dimension_numbers=dn,
                                                batch_group_count=2)[:, :, 0],
        "transposed_lhs_dilation": transposed(xh, wh)[0, :, :, 0],
        "negative_padding": lax.conv_general_dilated(x, w[:, :1].repeat(4, axis=1), (1, 1),
                                                     ((-1, 1), (2, -2)),
                                                     dimension_numbers=dn)[1, 0],
        "stride_gt_kernel": lax.conv_general_dilated(xh, wh, (3, 4), "VALID",
                                                     dimension_numbers=dnh)[..., 1],
        "same_lower": lax.conv_general_dilated(x1, w1, (2,), "SAME_LOWER",
                                               dimension_numbers=("NWC", "WIO", "NWC")),
        "same_1d": lax.conv_general_dilated(x1, w1, (2,), "SAME",
                                            dimension_numbers=("NWC", "WIO", "NWC")),
        "conv_transpose": lax.conv_transpose(xh, random.normal(k4, (3, 2, 5, 4)), (2, 2),
                                             "SAME", dimension_numbers=dnh,
                                             transpose_kernel=True)[0, :, :, 1],
        "conv_transpose_valid": lax.conv_transpose(x1, w1, (3,), "VALID",
                                                   dimension_numbers=("NWC", "WIO", "NWC")),
        "conv3d": lax.conv_general_dilated(x3, w3, (1, 2, 1), "SAME",
                                           dimension_numbers=("NDHWC", "DHWIO", "NDHWC"))[0,
                                                                                          2],
        "int8_preferred": lax.conv_general_dilated(xi, wi, (1,), "SAME",
                                                   dimension_numbers=("NWC", "WIO", "NWC"),
                                                   preferred_element_type=jnp.int32),
        "grad_x_grouped": jax.grad(lambda a: jnp.sum(grouped(a, w) ** 2))(x)[0, 1],
        "grad_w_grouped": jax.grad(lambda b: jnp.sum(grouped(x, b) ** 2))(w)[:, 0],
        "grad_x_transposed": jax.grad(lambda a: jnp.sum(jnp.sin(transposed(a, wh))))(xh)[1, :,
                                                                                        :, 0],
        "grad_w_transposed": jax.grad(lambda b: jnp.sum(jnp.sin(transposed(xh, b))))(wh)[...,
                                                                                        0],
        "grad_w_stride": jax.grad(lambda b: jnp.sum(lax.conv_general_dilated(
            xh, b, (3, 4), "VALID", dimension_numbers=dnh) ** 2))(wh)[:, :, 0, 0],
    }


if __name__ == "__main__":
    print(run())
