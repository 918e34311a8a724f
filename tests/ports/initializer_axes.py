"""`jax.nn.initializers` with the axis arguments JAX's docs describe for convolution and
attention kernels: `variance_scaling` in every mode and distribution with tuple and negative
`in_axis`/`out_axis` and a `batch_axis`, 1-D and 3-D shapes, float16/bfloat16 `dtype`,
`orthogonal` with `column_axis` on wide, tall and batched shapes, `delta_orthogonal` on 3-D
and 5-D kernels, and the `lecun`/`he`/`glorot` variants given axes."""
import jax.numpy as jnp
from jax import random
from jax.nn import initializers


def run():
    keys = random.split(random.PRNGKey(11), 32)
    out = {}
    k = iter(keys)
    for mode in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg"):
        for dist in ("normal", "truncated_normal", "uniform"):
            init = initializers.variance_scaling(0.7, mode, dist, in_axis=(0, 1), out_axis=-1,
                                                 batch_axis=2)
            out[f"vs_{mode}_{dist}"] = init(next(k), (3, 2, 2, 5))
    out["vs_1d"] = initializers.variance_scaling(1.0, "fan_avg", "uniform", in_axis=0,
                                                 out_axis=())(next(k), (7,))
    out["vs_neg_axes"] = initializers.variance_scaling(2.0, "fan_in", "normal", in_axis=-3,
                                                       out_axis=0)(next(k), (4, 3, 2))
    out["vs_f16"] = initializers.variance_scaling(1.0, "fan_out", "truncated_normal",
                                                  dtype=jnp.float16)(next(k), (3, 4))
    out["vs_bf16"] = initializers.variance_scaling(1.0, "fan_in", "uniform")(
        next(k), (5, 2), jnp.bfloat16).astype(jnp.float32)
    out["orth_wide"] = initializers.orthogonal()(next(k), (3, 5))
    out["orth_tall_col0"] = initializers.orthogonal(scale=0.5, column_axis=0)(next(k), (3, 6))
    out["orth_batched_col1"] = initializers.orthogonal(column_axis=1)(next(k), (2, 4, 3))
    out["delta_orth_3d"] = initializers.delta_orthogonal()(next(k), (3, 2, 4))
    out["delta_orth_5d"] = initializers.delta_orthogonal(scale=2.0, column_axis=-1)(
        next(k), (3, 1, 3, 3, 3))
    out["lecun_normal_axes"] = initializers.lecun_normal(in_axis=(1, 2), out_axis=0)(
        next(k), (4, 2, 3))
    out["he_uniform_batch"] = initializers.he_uniform(in_axis=-2, out_axis=-1, batch_axis=0)(
        next(k), (2, 3, 4))
    out["glorot_normal_axes"] = initializers.glorot_normal(in_axis=0, out_axis=(1, 2))(
        next(k), (5, 2, 3))
    out["glorot_uniform_bf16"] = initializers.glorot_uniform(dtype=jnp.bfloat16)(
        next(k), (3, 3)).astype(jnp.float32)
    out["he_normal_f16"] = initializers.he_normal()(next(k), (2, 2, 3, 4), jnp.float16)
    return out


if __name__ == "__main__":
    print(run())
