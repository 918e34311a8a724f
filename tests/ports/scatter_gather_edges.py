"""Indexed reads and updates at their edges, as JAX's "sharp bits" and `.at` documentation
describe them: out-of-bounds gathers clamp by default, `mode='fill'` with a fill value,
`mode='clip'` and `mode='drop'` for updates, duplicate indices in `.at[].set` (one of them
wins), `.add`/`.mul`/`.min`/`.max` accumulating over duplicates, negative indices, boolean
and slice indices mixed with arrays, `jnp.take` with each mode, `lax.dynamic_slice` and
`dynamic_update_slice` clamping their starts, `lax.dynamic_index_in_dim`, and gradients
through duplicate-index gathers and scatters."""
import jax
import jax.numpy as jnp
from jax import lax


def run():
    x = jnp.arange(10.0)
    m = jnp.arange(20.0).reshape(4, 5)
    idx = jnp.array([1, 3, 3, 12, -1, -11])
    dup = jnp.array([0, 2, 2, 2, 4])
    vals = jnp.array([10.0, 20.0, 30.0, 40.0, 50.0])
    ints = jnp.arange(6, dtype=jnp.int32)

    def gather_sum(v):
        return jnp.sum(v[jnp.array([0, 0, 0, 2, 5])] ** 2)

    def scatter_loss(u):
        return jnp.sum(jnp.zeros(5).at[dup].add(u) ** 2)

    return {
        "get_default_oob": x[jnp.array([2, 10, -1, -10, 100])],
        "get_clip": x.at[idx].get(mode="clip"),
        "get_fill": x.at[idx].get(mode="fill", fill_value=-1.0),
        "get_fill_nan": x.at[jnp.array([0, 10])].get(mode="fill"),
        "get_fill_int": ints.at[jnp.array([0, 6, -7])].get(mode="fill"),
        "get_2d_fill": m.at[jnp.array([0, 4]), jnp.array([4, 0])].get(mode="fill",
                                                                     fill_value=0.0),
        "set_drop": x.at[idx].set(-5.0, mode="drop"),
        "set_clip": x.at[jnp.array([12, -20])].set(jnp.array([7.0, 8.0]), mode="clip"),
        "set_default_oob": x.at[jnp.array([0, 15])].set(99.0),
        "set_unique_dup_last": x.at[jnp.array([4, 4])].set(jnp.array([1.0, 1.0])),
        "add_dup": jnp.zeros(5).at[dup].add(vals),
        "add_dup_drop": jnp.zeros(5).at[jnp.array([0, 5, 5, -1])].add(1.0, mode="drop"),
        "mul_dup": jnp.ones(5).at[dup].multiply(jnp.array([2.0, 3.0, 4.0, 5.0, 6.0])),
        "min_dup": jnp.full(5, 25.0).at[dup].min(vals),
        "max_dup": jnp.zeros(5).at[dup].max(vals),
        "int_add_dup": ints.at[jnp.array([1, 1, 1, 5])].add(7),
        "int_max_dup": ints.at[jnp.array([0, 0])].max(jnp.array([-3, 4])),
        "bool_set": jnp.zeros(6, bool).at[jnp.array([1, 4, 4])].set(True),
        "neg_index_add": x.at[-3:].add(1.0),
        "mixed_index_set": m.at[1:3, jnp.array([0, 4])].set(-1.0),
        "mask_index_set": x.at[x > 6.0].set(0.0),
        "row_add_dup": m.at[jnp.array([0, 0, 3])].add(jnp.ones(5)),
        "take_default": jnp.take(x, jnp.array([0, 9, 10, -1, -12])),
        "take_clip": jnp.take(x, jnp.array([0, 9, 10, -1, -12]), mode="clip"),
        "take_wrap": jnp.take(x, jnp.array([0, 9, 10, -1, -12]), mode="wrap"),
        "take_fill": jnp.take(x, jnp.array([3, 10, -11]), mode="fill", fill_value=-2.0),
        "take_axis1": jnp.take(m, jnp.array([0, 7, -1]), axis=1, mode="clip"),
        "take_along_fill": jnp.take_along_axis(m, jnp.array([[0], [5], [-1], [2]]), axis=1,
                                               mode="fill", fill_value=-9.0),
        "dslice_clamped": lax.dynamic_slice(m, (3, 3), (2, 3)),
        "dslice_negative": lax.dynamic_slice(x, (-4,), (3,)),
        "dslice_in_dim": lax.dynamic_slice_in_dim(x, 8, 4),
        "dupdate_clamped": lax.dynamic_update_slice(x, jnp.array([-1.0, -2.0, -3.0]), (9,)),
        "dupdate_2d": lax.dynamic_update_slice(m, -jnp.ones((2, 2)), (-1, 4)),
        "dindex": lax.dynamic_index_in_dim(m, 7, axis=0, keepdims=False),
        "gather_dup_grad": jax.grad(gather_sum)(jnp.arange(6.0)),
        "scatter_dup_grad": jax.grad(scatter_loss)(vals / 10.0),
        "set_dup_grad": jax.grad(
            lambda u: jnp.sum(jnp.zeros(3).at[jnp.array([0, 2])].set(u) * jnp.array([1.0, 2.0, 3.0])))(
                jnp.array([1.0, 1.0])),
        "clip_get_grad": jax.grad(
            lambda v: jnp.sum(v.at[jnp.array([-5, 2, 40])].get(mode="clip")))(jnp.arange(4.0)),
        "dslice_grad": jax.grad(lambda v: jnp.sum(lax.dynamic_slice(v, (8,), (4,)) ** 2))(x),
    }


if __name__ == "__main__":
    print(run())
