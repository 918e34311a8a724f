"""`jnp.pad` and `lax.pad` inside transformed code: the constant fill passed as a traced
value (an argument of a jitted function, a per-example fill under `vmap`, a (before, after)
pair per axis built from traced values), integer and bfloat16 arrays padded with a traced
fill, every statistics mode with `stat_length`, 'reflect'/'symmetric' with
`reflect_type='odd'`, 'wrap' wider than the array, 'linear_ramp' with `end_values`, padding
with `vmap` over the padded array, gradients through padded convolutions-by-hand, and
`lax.pad` with negative (cropping) and interior padding plus its gradient."""
import functools

import jax
import jax.numpy as jnp
from jax import lax


@jax.jit
def pad_with(x, fill):
    return jnp.pad(x, ((1, 2), (0, 1)), constant_values=fill)


@jax.jit
def pad_per_side(x, lo, hi):
    return jnp.pad(x, (2, 1), constant_values=(lo, hi))


@jax.jit
def pad_two(x, fill):
    return jnp.pad(x, 2, constant_values=fill)


@functools.partial(jax.jit, static_argnums=1)
def pad_mode(x, mode):
    return jnp.pad(x, ((1, 2), (2, 1)), mode=mode)


def smooth(signal, fill):
    # a 3-tap moving average with a traced boundary value
    padded = jnp.pad(signal, 1, constant_values=fill)
    return (padded[:-2] + padded[1:-1] + padded[2:]) / 3.0


def run():
    key = jax.random.PRNGKey(3)
    x = jax.random.normal(key, (3, 4))
    v = jnp.array([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0])
    i8 = jnp.array([[1, -2], [3, 4]], dtype=jnp.int8)
    bf = jnp.array([1.5, -2.0, 0.25], dtype=jnp.bfloat16)
    fills = jnp.array([-1.0, 0.0, 2.5])

    return {
        "jit_traced_fill": pad_with(x, jnp.float32(-7.0)),
        "jit_traced_fill_int8": pad_with(i8, jnp.int8(9)),
        "jit_traced_fill_bf16": pad_two(bf, jnp.bfloat16(0.5)).astype(jnp.float32),
        "jit_traced_fill_bf16_dtype": str(pad_two(bf, jnp.bfloat16(0.5)).dtype),
        "jit_per_side_fills": pad_per_side(v, jnp.float32(-1.0), jnp.float32(100.0)),
        "vmap_fill_per_example": jax.vmap(lambda row, c: jnp.pad(row, (1, 2), constant_values=c))(
            x, fills),
        "vmap_smooth_rows": jax.vmap(smooth, in_axes=(0, None))(x, jnp.float32(0.5)),
        "vmap_over_columns": jax.vmap(lambda col: jnp.pad(col, (2, 0), mode="edge"), in_axes=1,
                                      out_axes=1)(x),
        "grad_through_smooth": jax.grad(lambda s: jnp.sum(smooth(s, 1.0) ** 2))(v),
        "grad_reflect": jax.grad(lambda a: jnp.sum(jnp.pad(a, (3, 2), mode="reflect") ** 2))(v),
        "grad_wrap_2d": jax.grad(lambda a: jnp.sum(jnp.sin(pad_mode(a, "wrap"))))(x),
        "mode_mean_stat_length": jnp.pad(x, ((1, 2), (2, 1)), mode="mean",
                                         stat_length=((1, 2), (3, 1))),
        "mode_median": jnp.pad(v, 2, mode="median", stat_length=3),
        "mode_maximum_jit": pad_mode(x, "maximum"),
        "mode_minimum_int8": jnp.pad(i8, 1, mode="minimum"),
        "mode_mean_int8_rounds": jnp.pad(jnp.array([1, 2], jnp.int8), 1, mode="mean"),
        "reflect_odd": jnp.pad(v, (4, 9), mode="reflect", reflect_type="odd"),
        "symmetric_odd": jnp.pad(v[:3], (5, 2), mode="symmetric", reflect_type="odd"),
        "wrap_wider_than_array": jnp.pad(v[:3], (7, 4), mode="wrap"),
        "linear_ramp": jnp.pad(x, ((1, 2), (3, 0)), mode="linear_ramp",
                               end_values=((5, -5), (0.5, 9))),
        "constant_pairs": jnp.pad(jnp.arange(6).reshape(2, 3), ((1, 1), (2, 0)),
                                  constant_values=((7, 8), (9, 10))),
        "int8_fill_wraps": jnp.pad(jnp.array([1, 2], jnp.int8), 2, constant_values=300),
        "empty_axis_constant": jnp.pad(jnp.zeros((0, 2)), ((1, 0), (1, 1)), constant_values=4.0),
        "lax_pad_negative_interior": lax.pad(jnp.arange(6.0), -1.0, [(-2, 3, 2)]),
        "lax_pad_2d": lax.pad(x, 0.0, [(1, -1, 1), (-2, 2, 0)]),
        "lax_pad_grad": jax.grad(
            lambda a: jnp.sum(lax.pad(a, 0.0, [(-1, 2, 1)]) * jnp.arange(12.0)))(v[:6]),
    }


if __name__ == "__main__":
    print(run())
