"""Calibrating raw sensor readings, as embedded and instrument code written with
`jax.numpy` handles narrow integer and half-precision data: int16 ADC counts and uint8
pixel codes converted with `astype`, a calibration curve fitted by least squares on a
Vandermonde matrix built from float32 readings (`jnp.vander` with and without
`increasing=`, `jnp.linalg.lstsq`, `polyval`), a lookup table applied with `jnp.interp`
(float32 and float16 queries, `left`/`right`), integer deadbands and saturation with
`jnp.clip` on int16, offsets removed with `jnp.median`, norms of integer and float
residual vectors (`jnp.linalg.norm` with `ord=` and `axis=`), moving sums with
`jnp.convolve` on int16, counts above thresholds with `count_nonzero(axis=)`, float16
accumulation with `cumsum(dtype=)`, and the dtypes each step gives."""
import jax.numpy as jnp
from jax import random


def run():
    key = random.PRNGKey(3)
    k1, k2 = random.split(key)
    raw = (2048 + 600 * random.normal(k1, (6, 8))).astype(jnp.int16)
    pixel = random.randint(k2, (16,), 0, 256).astype(jnp.uint8)

    volts_ref = jnp.linspace(0.0, 3.3, 8)
    counts_ref = jnp.array([12, 610, 1190, 1802, 2395, 2980, 3601, 4090], jnp.int16)
    c = counts_ref.astype(jnp.float32) / 4096.0
    design = jnp.vander(c, 3)
    design_inc = jnp.vander(c, 3, increasing=True)
    coef, resid, rank, sv = jnp.linalg.lstsq(design, volts_ref)
    volts = jnp.polyval(coef, raw.astype(jnp.float32) / 4096.0)

    lut_x = jnp.array([0.0, 64.0, 128.0, 192.0, 255.0])
    lut_y = jnp.array([0.0, 0.1, 0.35, 0.7, 1.0])
    lin = jnp.interp(pixel.astype(jnp.float32), lut_x, lut_y)
    lin16 = jnp.interp(pixel[:6].astype(jnp.float16), lut_x.astype(jnp.float16),
                       lut_y.astype(jnp.float16))
    clipped_lut = jnp.interp(jnp.array([-10.0, 300.0, 100.0]), lut_x, lut_y, left=-1.0,
                             right=2.0)

    offset = jnp.median(raw, axis=1, keepdims=True)
    centred = raw - offset.astype(jnp.int16)
    deadband = jnp.where(jnp.abs(centred) < 100, jnp.int16(0), centred)
    saturated = jnp.clip(raw, 1500, 2600)
    moving = jnp.convolve(raw[0], jnp.ones(3, jnp.int16), mode="valid")
    halves = (raw.astype(jnp.float16) / 4096).astype(jnp.float16)
    return {
        "raw": raw,
        "pixel": pixel,
        "design": design,
        "design_increasing": design_inc,
        "cal_coef": coef,
        "cal_rank": rank,
        "cal_sv": sv,
        "volts": volts[0],
        "lut": lin,
        "lut_f16": lin16.astype(jnp.float32),
        "lut_clipped": clipped_lut,
        "offset": offset,
        "centred": centred,
        "deadband": deadband,
        "saturated": saturated[:2],
        "moving": moving,
        "norm_fro_int": jnp.linalg.norm(centred),
        "norm_rows_int": jnp.linalg.norm(centred, axis=1),
        "norm_l1_int": jnp.linalg.norm(centred[0], ord=1),
        "norm_inf_float": jnp.linalg.norm(volts, ord=jnp.inf, axis=0),
        "above": jnp.count_nonzero(raw > 2500, axis=1),
        "cumsum_f16": jnp.cumsum(halves[0], dtype=jnp.float32),
        "vander_int16_codes": jnp.vander(pixel[:4].astype(jnp.int16), 3),
        "vander_uint8": jnp.vander(pixel[:4], 2),
        "vector_norm_l1_int": jnp.linalg.vector_norm(centred[0], ord=1),
        "vector_norm_inf_int": jnp.linalg.vector_norm(centred, ord=jnp.inf, axis=1),
        "lut_f16_int_table": jnp.interp(pixel[:6].astype(jnp.float16), jnp.array([0, 64, 128, 192, 255]),
                                        jnp.array([0, 10, 35, 70, 100])),
        "dtypes": " ".join(str(a.dtype) for a in (
            raw, pixel, design, coef, rank, volts, lin, lin16, offset, centred, deadband,
            saturated, moving, halves, jnp.linalg.norm(centred), jnp.count_nonzero(raw > 2500),
            jnp.mean(raw), jnp.sum(pixel), jnp.cumsum(pixel), pixel.astype(jnp.int16) - 300)),
    }


if __name__ == "__main__":
    print(run())
