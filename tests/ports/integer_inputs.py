"""NumPy-API functions fed integer, unsigned and boolean arrays, as data-processing code
feeds them counts, pixel values and masks: the dtypes JAX gives (float32 for `mean`,
`modf`, `trapezoid`, `median`, `percentile` and the transcendental functions; int32/uint32
for `sum`, `prod` and `cumulative_sum` of narrow integers, while `cumsum` and
`cumulative_prod` keep the input's), and values where adding in a narrow type would wrap
(uint8 pixel sums, a trapezoid over uint8 samples), `unique`/`bincount`/`take` of uint32
ids, `sign`/`abs` of unsigned values, `floor`/`ceil`/`round` of integers, `sqrt`/`exp` of
bools, and `diff` of bools."""
import jax.numpy as jnp
import numpy as np


def run():
    pixels = jnp.asarray(np.array([[0, 3, 200, 255], [17, 128, 250, 1]], np.uint8))
    ids = jnp.asarray(np.array([40000, 7, 1, 7, 0], np.uint32))
    counts = jnp.array([-3, 0, 2, 7], dtype=jnp.int8)
    mask = jnp.array([True, False, True, True])
    frac, whole = jnp.modf(counts)
    return {
        "sum_u8": jnp.sum(pixels, axis=1),
        "prod_i8": jnp.prod(counts + 1),
        "mean_u8": jnp.mean(pixels),
        "median_u8": jnp.median(pixels, axis=1),
        "percentile_i8": jnp.percentile(counts, 30),
        "var_bool": jnp.var(mask),
        "cumsum_u8": jnp.cumsum(pixels, axis=1),
        "cumulative_sum_u8": jnp.cumulative_sum(pixels, axis=1),
        "cumulative_sum_i8": jnp.cumulative_sum(counts, include_initial=True),
        "cumulative_prod_i8": jnp.cumulative_prod(counts),
        "cumsum_bool": jnp.cumsum(mask),
        "trapezoid_u8": jnp.trapezoid(pixels, axis=1),
        "trapezoid_bool": jnp.trapezoid(mask),
        "trapezoid_x_int": jnp.trapezoid(pixels[0], x=jnp.array([0, 1, 3, 4])),
        "modf_frac": frac,
        "modf_whole": whole,
        "unique_u32": jnp.unique(ids),
        "unique_u32_counts": jnp.unique(ids, return_counts=True)[1],
        "bincount_u8": jnp.bincount(pixels[1], length=256)[250],
        "take_u32_fill": jnp.take(ids, jnp.array([0, 9, -1])),
        "take_u8_fill": jnp.take(pixels, jnp.array([3, 12])),
        "sign_u8": jnp.sign(pixels[0]),
        "abs_i8": jnp.abs(counts),
        "floor_i8": jnp.floor(counts),
        "ceil_u8": jnp.ceil(pixels[0]),
        "round_i8": jnp.round(counts),
        "sqrt_bool": jnp.sqrt(mask),
        "exp_u8": jnp.exp(pixels[0] / 255),
        "diff_bool": jnp.diff(mask),
        "diff_u8": jnp.diff(pixels, axis=1),
        "true_divide_i8": counts / 2,
        "floor_divide_u8": pixels[0] // 7,
        "remainder_i8": counts % 3,
        "power_u8": jnp.power(pixels[0], 2),
        "average_u8": jnp.average(pixels, axis=1, weights=jnp.array([1, 2, 3, 4])),
        "argmax_u8": jnp.argmax(pixels, axis=1),
        "clip_u8": jnp.clip(pixels[0], 10, 250),
        "where_mix": jnp.where(mask, counts, pixels[0]),
        "interp_int": jnp.interp(jnp.array([0, 1, 2]), jnp.array([0, 2]), jnp.array([10, 20])),
    }
