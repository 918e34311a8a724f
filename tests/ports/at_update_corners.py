"""Functional updates with `.at[...]` at their corners, as JAX's `jax.numpy.ndarray.at`
documentation and the "sharp bits" tutorial use them: `set`/`add`/`multiply`/`divide`/
`power`/`subtract`/`min`/`max`/`apply`/`get` with advanced indices separated by a slice
(their dimensions move to the front, updates must follow), adjacent ones, negative-step
slices, `Ellipsis`, `None`, boolean masks, `jnp.ix_`, 0-d and empty index arrays,
repeated indices (`add`/`multiply`/`min`/`max` accumulate; `set` keeps one of them),
`mode="drop"`/`"clip"`/`"fill"`, bool/int8/uint32/bfloat16/float16 operands (wrap-around,
NaN and -0.0 in `min`/`max`), float updates of integer arrays (JAX promotes, scatters and
casts back, with a FutureWarning), the same under `jit` and `vmap`, and gradients: of
`set` with repeated indices (only the update that lands counts, in `.at[].set`,
`jnp.put`, `put_along_axis` and `lax.scatter`), of `add`/`multiply`/`min`/`max` and of
the operand."""
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

x = jnp.arange(2 * 3 * 4, dtype=jnp.float32).reshape(2, 3, 4)
v = jnp.arange(8.0)
m = jnp.arange(12).reshape(3, 4)
i01 = jnp.array([0, 1])
b = np.array([True, False, True, False])
i = jnp.array([0, 0, 2, 2, 2])
SET_DN = lax.ScatterDimensionNumbers(update_window_dims=(), inserted_window_dims=(0,),
                                     scatter_dims_to_operand_dims=(0,))


def run():
    return {
        "set_sep_adv": x.at[[0, 1], :, [1, 0]].set(-1.0),
        "set_sep_adv_vals": x.at[[0, 1], :, [1, 0]].set(jnp.array([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0]])),
        "set_adj_adv_vals": x.at[:, [0, 2], [1, 3]].set(jnp.array([100.0, 200.0])),
        "add_neg_step": v.at[::-2].add(jnp.arange(4.0)),
        "set_neg_step_2d": m.at[::-1, 1::2].set(jnp.array([[1, 2], [3, 4], [5, 6]])),
        "mul_ellipsis": x.at[..., 1].multiply(jnp.array([2.0, 3.0, 4.0])),
        "set_none": v.at[None, 2:4].set(jnp.array([[7.0, 9.0]])),
        "set_ellipsis_idx": x.at[..., jnp.array([3, 3, 0])].set(jnp.array([1.0, 2.0, 3.0])),
        "add_ellipsis_idx_dup": x.at[..., jnp.array([3, 3, 0])].add(jnp.array([1.0, 2.0, 3.0])),
        "add_dup_2d": m.at[jnp.array([0, 0, 2]), jnp.array([1, 1, 1])].add(jnp.array([5, 6, 7])),
        "add_dup_rows_slice": m.at[jnp.array([1, 1]), 1:3].add(jnp.array([[1, 2], [10, 20]])),
        "min_dup_neg": v.at[jnp.array([-1, 7, -1])].min(jnp.array([3.0, -2.0, 5.0])),
        "max_bcast_row": m.at[1].max(jnp.array([5, 0, 9, 1])),
        "set_bool_np": m.at[:, b].set(-7),
        "add_bool_np_vals": m.at[:, b].add(jnp.array([[1, 2], [3, 4], [5, 6]])),
        "get_sep_adv": x.at[[0, 1], :, [1, 0]].get(),
        "get_fill_sep": x.at[[0, 5], :, [1, 0]].get(mode="fill", fill_value=-3.0),
        "get_neg_step_mixed": x.at[::-1, jnp.array([2, 0])].get(),
        "set_empty_idx": v.at[jnp.zeros((0,), jnp.int32)].set(5.0),
        "add_0d_idx": v.at[jnp.array(3)].add(10.0),
        "set_scalar_bcast_rows": m.at[jnp.array([[0], [2]]), jnp.array([1, 3])].set(jnp.array([[-1], [-2]])),
        "apply_sq": v.at[jnp.array([1, 1, 5])].apply(lambda t: t * t),
        "set_int_from_float": m.at[0].set(2.7),
        "add_uint8_wrap": jnp.array([250, 3], jnp.uint8).at[jnp.array([0, 0])].add(jnp.uint8(4)),
        "set_drop_sep": x.at[[0, 2], :, [1, 9]].set(0.0, mode="drop"),
        "add_clip_neg": v.at[jnp.array([-20, 20])].add(1.0, mode="clip"),
        "mul_dup_int": m.at[jnp.array([1, 1, 1]), 0].multiply(jnp.array([2, 3, -1])),
        "divide_power": v.at[2:5].divide(2.0).at[jnp.array([0, 7])].power(2.0),
        "jit_set_mixed": jax.jit(lambda a, i, u: a.at[i, :, ::-1].set(u))(x, i01, jnp.arange(24.0).reshape(2, 3, 4)),
        "jit_add_dyn_int": jax.jit(lambda a, k: a.at[k, ..., k].add(100.0))(x, jnp.array(-1)),
        "vmap_set": jax.vmap(lambda r, i, u: r.at[i].set(u))(m.astype(jnp.float32), jnp.array([3, 0, 3]), jnp.array([9.0, 8.0, 7.0])),
        "vmap_add_dup": jax.vmap(lambda i: jnp.zeros(4).at[i].add(1.0))(jnp.array([[0, 0, 3], [1, 2, 1]])),
        "vmap_add_shared_idx": jax.vmap(lambda r: r.at[jnp.array([2, 2, 0])].add(jnp.array([1.0, 2.0, 3.0])))(m.astype(jnp.float32)),
        "vmap_in_axes1": jax.vmap(lambda c, u: c.at[::-1].add(u), in_axes=(1, 0), out_axes=1)(m.astype(jnp.float32), jnp.ones((4, 3))),
        "grad_set_sep_adv_operand": jax.grad(lambda a: jnp.sum(a.at[[0, 1], :, [1, 0]].set(0.0) ** 2))(x),
        "grad_set_vals_dup": jax.grad(lambda u: jnp.sum(v.at[jnp.array([1, 1, 4])].set(u) * v))(jnp.array([1.0, 2.0, 3.0])),
        "grad_add_dup_vals": jax.grad(lambda u: jnp.sum(v.at[jnp.array([1, 1, 4])].add(u) ** 2))(jnp.array([1.0, 2.0, 3.0])),
        "grad_mul_dup_operand": jax.grad(lambda o: jnp.sum(o.at[jnp.array([0, 0, 2])].multiply(jnp.array([2.0, 3.0, 5.0])) ** 2))(jnp.array([1.0, 2.0, 3.0, 4.0])),
        "grad_min_ties": jax.grad(lambda u: jnp.sum(jnp.full(3, 2.0).at[jnp.array([0, 0, 1])].min(u)))(jnp.array([1.0, 1.0, 2.0])),
        "grad_max_operand_ties": jax.grad(lambda o: jnp.sum(o.at[jnp.array([0, 1])].max(jnp.array([1.0, 5.0]))))(jnp.array([1.0, 2.0, 3.0])),
        "grad_get_neg_step": jax.grad(lambda a: jnp.sum(a.at[::-1, jnp.array([2, 2])].get() * jnp.arange(4.0)))(x),
        "grad_vmap_add": jax.grad(lambda u: jnp.sum(jax.vmap(lambda r, w: r.at[jnp.array([1, 1])].add(w))(m.astype(jnp.float32), u) ** 2))(jnp.ones((3, 2))),
        "at_get_bool_np": m.at[np.array([True, False, True])].get(),
        "at_set_jnp_bool_eager": v.at[v > 6].set(-1.0),
        "at_add_jnp_bool_2d": m.at[m % 2 == 0].add(100),
        "at_set_tuple_idx": m.at[(1, 2)].set(-5),
        "at_set_ix": m.at[jnp.ix_(jnp.array([0, 2]), jnp.array([1, 3]))].set(jnp.array([[1, 2], [3, 4]])),
        "at_set_none_adv": x.at[None, 1, jnp.array([0, 2])].set(jnp.full((1, 2, 4), -1.0)),
        "at_add_2d_idx_bcast": v.at[jnp.array([[1, 2], [2, 3]])].add(jnp.array([10.0, 20.0])),
        "at_set_neg_step_adv": x.at[::-1, jnp.array([0, 0])].set(jnp.arange(16.0).reshape(2, 2, 4)),
        "at_get_fill_neg": v.at[jnp.array([-1, -11, 10])].get(mode="fill", fill_value=7.0),
        "at_set_bool_0d_jnp": v.at[jnp.array(True)].set(3.0),
        "at_min_int8": jnp.array([10, -10, 5], jnp.int8).at[jnp.array([0, 2, 2])].min(jnp.array([-128, 7, 4], jnp.int8)),
        "at_sub": v.at[jnp.array([0, 0])].subtract(1.5),
        "at_add_bool_scalar": v.at[True].add(3.0),
        "bool_at_min": jnp.ones(3, bool).at[i].min(jnp.array([True, False, True, True, True])),
        "bool_at_max": jnp.zeros(3, bool).at[i].max(jnp.array([True, False, False, False, False])),
        "int8_at_mul_overflow": jnp.full(3, 3, jnp.int8).at[i].multiply(jnp.int8(11)),
        "int8_at_add_overflow": jnp.full(3, 100, jnp.int8).at[i].add(jnp.int8(100)),
        "uint32_at_max": jnp.zeros(3, jnp.uint32).at[i].max(jnp.array([4294967295, 1, 2, 3, 4], jnp.uint32)),
        "bf16_at_add": jnp.zeros(3, jnp.bfloat16).at[i].add(jnp.array([256.0, 1.0, 1.0, 1.0, 1.0], jnp.bfloat16)).astype(jnp.float32),
        "f16_at_add_overflow": jnp.zeros(3, jnp.float16).at[i].add(jnp.array([60000.0, 60000.0, 1.0, 1.0, 1.0], jnp.float16)).astype(jnp.float32),
        "at_add_float_to_int": jnp.zeros(3, jnp.int32).at[i].add(1.7),
        "at_set_weak_keep": jnp.zeros(3, jnp.float16).at[1].set(70000.0).astype(jnp.float32),
        "at_mul_nan": jnp.ones(3).at[i].multiply(jnp.array([jnp.nan, 2.0, 0.0, jnp.inf, 1.0])),
        "at_min_nan": jnp.zeros(3).at[i].min(jnp.array([jnp.nan, -1.0, 1.0, -0.0, 2.0])),
        "at_max_nan": jnp.zeros(3).at[i].max(jnp.array([-1.0, jnp.nan, -0.0, -1.0, -2.0])),
        "at_max_neg0": jnp.full(3, -0.0).at[i].max(jnp.array([0.0, -0.0, -0.0, -0.0, -0.0])),
        "put_dup_grad": jax.grad(lambda u: jnp.sum(jnp.put(jnp.zeros(5), jnp.array([1, 1, 4]), u, inplace=False) * (jnp.arange(5.0) + 1)))(jnp.array([1.0, 2.0, 3.0])),
        "put_along_dup_grad": jax.grad(lambda u: jnp.sum(jnp.put_along_axis(jnp.zeros(5), jnp.array([1, 1, 4]), u, axis=0, inplace=False) * (jnp.arange(5.0) + 1)))(jnp.array([1.0, 2.0, 3.0])),
        "lax_scatter_dup_grad": jax.grad(lambda u: jnp.sum(lax.scatter(jnp.zeros(5), jnp.array([[1], [1], [4]]), u, SET_DN) * (jnp.arange(5.0) + 1)))(jnp.array([1.0, 2.0, 3.0])),
        "set_dup_rows_grad": jax.grad(lambda u: jnp.sum(jnp.zeros((3, 2)).at[jnp.array([0, 0])].set(u) * 2.0))(jnp.ones((2, 2))),
        "set_dup_operand_grad": jax.grad(lambda o: jnp.sum(o.at[jnp.array([1, 1, 4])].set(jnp.array([1.0, 2.0, 3.0])) * (jnp.arange(5.0) + 1)))(jnp.zeros(5)),
        "set_dup_jacfwd": jax.jacfwd(lambda u: v.at[jnp.array([1, 1])].set(u))(jnp.array([1.0, 2.0])),
        "set_dup_jacrev": jax.jacrev(lambda u: v.at[jnp.array([1, 1])].set(u))(jnp.array([1.0, 2.0])),
        "add_float_updates_int_dup": jnp.zeros(3, jnp.int32).at[jnp.array([1, 1])].add(jnp.array([0.6, 0.6])),
        "mul_float_updates_int_dup": jnp.ones(3, jnp.int32).at[jnp.array([0, 0, 2, 2, 2])].multiply(1.5),
    }


if __name__ == "__main__":
    print(run())
