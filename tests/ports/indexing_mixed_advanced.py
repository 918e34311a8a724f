"""NumPy indexing at its corners, as JAX's "sharp bits" and NumPy's indexing guide write
it: basic and advanced indices mixed (`x[:, [0, 2], ::2, None]`), advanced indices
separated by a slice (their broadcast dimensions move to the front) or adjacent (they stay
in place), `Ellipsis` and `None` around index arrays, negative-step slices next to arrays,
boolean masks of concrete NumPy and `jnp` arrays (also 0-d `True`/`False`), 0-d index
arrays, index arrays of shape (0,), tuples of ints vs index arrays, `jnp.ix_`,
`index_exp`/`s_`, narrow and 64-bit index types, `take`/`take_along_axis` with `axis=None`
and negative axes, the same reads under `jit` (traced negative indices), `vmap` (batched
indices, `in_axes=1`, nested) and `grad` (repeated indices accumulate)."""
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

x = jnp.arange(2 * 3 * 4 * 5, dtype=jnp.float32).reshape(2, 3, 4, 5)
x3 = jnp.arange(2 * 3 * 4, dtype=jnp.float32).reshape(2, 3, 4)
v = jnp.arange(10.0)
m = jnp.arange(12).reshape(3, 4)
i01 = jnp.array([0, 1])
i10 = jnp.array([1, 0])
e0 = jnp.zeros((0,), jnp.int32)
b = np.array([True, False, True, True])


def run():
    return {
        "mixed_slice_list_step_none": x[:, [0, 2], ::2, None],
        "adv_separated": x[[0, 1], :, [1, 0]],
        "adv_separated_shape": jnp.array(x[[0, 1], :, [1, 0]].shape),
        "adv_adjacent": x[:, [0, 2], [1, 3]],
        "adv_adjacent_bcast": x[:, [[0], [2]], [1, 3]],
        "ellipsis_idx_int": x[..., i01, 1],
        "ellipsis_int_idx": x[1, ..., i10],
        "none_idx": x[None, i01],
        "none_middle_adv": x[i01, None, :, i10],
        "neg_step_then_adv": x[::-1, :, i01],
        "neg_step_slice_adv": x[:, ::-2, :, jnp.array([4, -1, 0])],
        "bool_mask_np": x[:, :, b],
        "bool_mask_2d": m[np.array(m) % 3 == 0],
        "bool_and_int": x[1, :, b, 2],
        "zero_d_index": x[jnp.array(1), :, jnp.array(2)],
        "zero_d_index_np": x[np.int32(1), np.array(2)],
        "empty_index": x[:, e0],
        "empty_index_shape": jnp.array(x[:, e0, 1:].shape),
        "tuple_index": m[(1, 2)],
        "array_index": m[jnp.array([1, 2])],
        "tuple_of_arrays": m[(jnp.array([0, 2]), jnp.array([3, 1]))],
        "list_mixed_slice": m[[0, 2], 1:3],
        "negative_idx_array": v[jnp.array([-1, -10, 3])],
        "scalar_bool_true": v[True],
        "scalar_bool_shape": jnp.array(v[False].shape),
        "np_array_index": m[np.array([2, 0]), np.array([[1], [3]])],
        "idx_2d_on_1d": v[jnp.array([[0, 9], [3, 4]])],
        "slice_negative_bounds": v[-3:-8:-2],
        "slice_oob": v[8:100],
        "slice_empty_reverse": v[2:5:-1],
        "strided_big_step": v[1::4],
        "none_ellipsis_none": m[None, ..., None],
        "ellipsis_only": m[...],
        "uint8_index": v[jnp.array([3, 255], dtype=jnp.uint8)],
        "int8_neg_index": v[jnp.array([-2, 1], dtype=jnp.int8)],
        "jit_mixed": jax.jit(lambda a, i, j: a[i, :, j])(x, i01, i10),
        "jit_ellipsis_idx": jax.jit(lambda a, i: a[..., i, ::-1])(x, jnp.array([[3], [0]])),
        "jit_dynamic_int": jax.jit(lambda a, k: a[k, -1])(m, jnp.array(-1)),
        "jit_dynamic_slice_py": jax.jit(lambda a, k: a[:, k])(x, 2),
        "vmap_index": jax.vmap(lambda r, i: r[i])(m, jnp.array([3, 0, 1])),
        "vmap_index_mixed": jax.vmap(lambda a, i: a[:, i, ::2])(x, i01),
        "vmap_index_idx_only": jax.vmap(lambda i: x[1, i, :, i])(jnp.array([0, 2, 1])),
        "vmap_sep_adv": jax.vmap(lambda a: a[[0, 2], :, [1, 3]])(x),
        "vmap_none": jax.vmap(lambda a, i: a[None, i], in_axes=(None, 0))(m, jnp.array([2, 0])),
        "grad_sep_adv": jax.grad(lambda a: jnp.sum(a[[0, 1, 0], :, [1, 0, 1]] ** 2))(x),
        "grad_repeated_ellipsis": jax.grad(lambda a: jnp.sum(a[..., jnp.array([0, 0, 3]), 2] * 3.0))(x),
        "grad_neg_step": jax.grad(lambda a: jnp.sum(a[::-3] * jnp.arange(4.0)))(v),
        "grad_bool_mask": jax.grad(lambda a: jnp.sum(a[:, :, b] ** 2))(x)[1, 2],
        "grad_none_adv": jax.grad(lambda a: jnp.sum(a[None, jnp.array([2, 2]), 1:]))(m.astype(jnp.float32)),
        "item_nested_ints": x[1][2][3],
        "index_with_tuple_list": x[(0, [1, 2])],
        "jnp_bool_mask_eager": v[v % 3 == 0],
        "jnp_bool_mask_2d_rows": m[jnp.array([True, False, True])],
        "jnp_bool_mask_full": x3[x3 > 17.0],
        "bool_mask_then_int": x3[jnp.array([False, True]), 1],
        "bool_0d_jnp": v[jnp.array(True)],
        "bool_0d_false_shape": jnp.array(m[jnp.array(False)].shape),
        "ix_grid": m[jnp.ix_(jnp.array([2, 0]), jnp.array([3, 1, 1]))],
        "int64_np_index": v[np.array([9, -2], dtype=np.int64)],
        "np_int_scalar_mixed": x3[np.int64(1), ..., np.array([0, 3])],
        "none_between_adv": x3[jnp.array([1, 0]), None, jnp.array([2, 0])],
        "adv_none_ellipsis": x3[..., None, jnp.array([[1], [2]]), :],
        "slice_int_adv_int": x3[1:, 2, jnp.array([0, 3])],
        "int_slice_adv_sep": x3[0, :, jnp.array([1, 2])],
        "adv_int_sep_shape": jnp.array(x3[jnp.array([[0, 1]]), :, 0].shape),
        "take_axis_none": jnp.take(m, jnp.array([[11, 0], [5, 13]])),
        "take_neg_axis_clip": jnp.take(x3, jnp.array([-5, 1]), axis=-2, mode="clip"),
        "take_wrap_neg": jnp.take(m, jnp.array([-5, 9]), axis=1, mode="wrap"),
        "take_along_none": jnp.take_along_axis(m, jnp.array([3, 11, 0]), axis=None),
        "take_along_bcast": jnp.take_along_axis(x3, jnp.array([[[3, 0]]]), axis=2),
        "take_along_neg": jnp.take_along_axis(m, jnp.array([[-1], [0], [-4]]), axis=1),
        "take_along_grad": jax.grad(lambda t: jnp.sum(jnp.take_along_axis(t, jnp.array([[0, 0], [2, 1], [3, 3]]), axis=1) ** 2))(m.astype(jnp.float32)),
        "put_along_add": jnp.put_along_axis(m, jnp.array([[0], [3], [1]]), -1, axis=1, inplace=False),
        "dynamic_slice_vmap_starts": jax.vmap(lambda s: lax.dynamic_slice(v, (s,), (3,)))(jnp.array([-2, 0, 8, 100])),
        "dynamic_update_vmap": jax.vmap(lambda s, u: lax.dynamic_update_slice(v, u, (s,)))(jnp.array([7, 9]), jnp.ones((2, 2))),
        "dynamic_index_vmap_axis1": jax.vmap(lambda r, i: lax.dynamic_index_in_dim(r, i, keepdims=False), in_axes=(1, 0))(m, jnp.array([2, 0, 5, -1])),
        "vmap_index_axis1_batched_idx": jax.vmap(lambda c, i: c[i], in_axes=(1, 0))(m, jnp.array([2, 0, 1, 1])),
        "vmap_bool_static_mask": jax.vmap(lambda r: r[np.array([True, False, False, True])])(m),
        "vmap_nested_index": jax.vmap(jax.vmap(lambda a, i: a[i], in_axes=(0, None)), in_axes=(None, 0))(m, jnp.array([3, 1])),
        "vmap_slice_negative": jax.vmap(lambda r: r[-3::-2])(m),
        "vmap_take_along": jax.vmap(lambda r, i: jnp.take_along_axis(r, i, axis=0))(m, jnp.array([[3, 3], [0, 1], [2, 0]])),
        "jit_bool_where_size": jax.jit(lambda t: t[jnp.nonzero(t > 4, size=4, fill_value=0)])(v),
        "jit_index_traced_neg": jax.jit(lambda t, i: t[i])(v, jnp.array([-1, -10, -11, 10])),
        "jit_index_uint": jax.jit(lambda t, i: t[i])(v, jnp.array([0, 9], jnp.uint32)),
        "jit_index_2d_traced": jax.jit(lambda t, i, j: t[i, j])(m, jnp.array([[0], [2]]), jnp.array([-1, 1])),
        "index_exp": m[jnp.index_exp[1:, ::2]],
        "s_neg": v[jnp.s_[-1:2:-3]],
        "item": jnp.array(m.item(5)),
        "flat_index": jnp.ravel(m)[jnp.array([11, 0])],
    }


if __name__ == "__main__":
    print(run())
