"""`jax.lax` at the level JAX's `lax` reference documents it: `lax.gather` and
`lax.scatter`/`scatter_add`/`scatter_mul`/`scatter_min`/`scatter_max` with explicit
`GatherDimensionNumbers`/`ScatterDimensionNumbers` (row gathers, element gathers with
`operand_batching_dims`, window slices), each `GatherScatterMode` on out-of-bounds
indices, duplicate indices, `lax.argmax`/`argmin` with `index_dtype`, `lax.round` with
each `rounding_method`, `lax.squeeze`/`collapse`/`transpose`/`expand_dims`,
`lax.batch_matmul`, the `lax.reduce_*` family on booleans and integers,
`lax.approx_max_k`/`approx_min_k`, and `lax.linalg` `qr`/`eigh`/`cholesky`/
`triangular_solve`."""
import jax.numpy as jnp
from jax import lax


def run():
    operand = jnp.arange(20.0).reshape(4, 5)
    rows = jnp.array([[2], [0], [5], [-1]])            # 5 and -1 out of bounds
    row_dnums = lax.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
                                           start_index_map=(0,))
    points = jnp.array([[0, 1], [3, 4], [2, 7], [1, 0]])   # (2, 7) out of bounds
    point_dnums = lax.GatherDimensionNumbers(offset_dims=(), collapsed_slice_dims=(0, 1),
                                             start_index_map=(0, 1))
    window_dnums = lax.GatherDimensionNumbers(offset_dims=(1, 2), collapsed_slice_dims=(),
                                              start_index_map=(0, 1))
    corners = jnp.array([[0, 0], [2, 3], [3, 4]])
    batched_op = jnp.arange(24.0).reshape(2, 3, 4)
    batch_idx = jnp.array([[1], [3]])
    batch_dnums = lax.GatherDimensionNumbers(
        offset_dims=(1,), collapsed_slice_dims=(2,), start_index_map=(2,),
        operand_batching_dims=(0,), start_indices_batching_dims=(0,))

    upd_dnums = lax.ScatterDimensionNumbers(update_window_dims=(1,),
                                            inserted_window_dims=(0,),
                                            scatter_dims_to_operand_dims=(0,))
    dup_rows = jnp.array([[1], [1], [3], [9]])
    updates = jnp.arange(1.0, 21.0).reshape(4, 5)
    elem_dnums = lax.ScatterDimensionNumbers(update_window_dims=(),
                                             inserted_window_dims=(0, 1),
                                             scatter_dims_to_operand_dims=(0, 1))
    elem_updates = jnp.array([10.0, 20.0, 30.0, 40.0])
    modes = lax.GatherScatterMode
    scores = jnp.array([[3.0, 1.0, 3.0, -2.0], [0.5, 7.0, 7.0, 7.0]])
    halves = jnp.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5])
    flags = jnp.array([[True, False, True], [True, True, True]])
    ints = jnp.array([[6, 3, 5], [12, 10, 9]], dtype=jnp.int32)
    spd = jnp.array([[4.0, 2.0, 0.6], [2.0, 5.0, 1.0], [0.6, 1.0, 3.0]])
    q, r = lax.linalg.qr(jnp.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), full_matrices=False)
    evecs, evals = lax.linalg.eigh(spd)
    chol = lax.linalg.cholesky(spd)
    rhs = jnp.array([[1.0, 0.0], [2.0, 1.0], [3.0, -1.0]])
    big = jnp.array([[0.1, 0.9, 0.4, 0.7, 0.2], [5.0, 1.0, 3.0, 4.0, 2.0]])
    return {
        "gather_rows_clip": lax.gather(operand, rows, row_dnums, slice_sizes=(1, 5),
                                       mode=modes.CLIP),
        "gather_rows_fill": lax.gather(operand, rows, row_dnums, slice_sizes=(1, 5),
                                       mode=modes.FILL_OR_DROP, fill_value=-1.0),
        "gather_rows_fill_default": lax.gather(operand, rows, row_dnums, slice_sizes=(1, 5),
                                               mode="fill"),
        "gather_points": lax.gather(operand, points, point_dnums, slice_sizes=(1, 1),
                                    mode="clip"),
        "gather_points_fill": lax.gather(operand, points, point_dnums, slice_sizes=(1, 1),
                                         mode="fill", fill_value=99.0),
        "gather_windows": lax.gather(operand, corners, window_dnums, slice_sizes=(2, 2),
                                     mode="clip"),
        "gather_batched": lax.gather(batched_op, batch_idx, batch_dnums, slice_sizes=(1, 3, 1),
                                     mode="clip"),
        "scatter_add_dups": lax.scatter_add(jnp.zeros((4, 5)), dup_rows, updates, upd_dnums,
                                            mode=modes.FILL_OR_DROP),
        "scatter_add_clip": lax.scatter_add(jnp.zeros((4, 5)), dup_rows, updates, upd_dnums,
                                            mode=modes.CLIP),
        "scatter_set": lax.scatter(jnp.zeros((4, 5)), jnp.array([[2], [0]]), updates[:2],
                                   upd_dnums, mode="drop", unique_indices=True),
        "scatter_mul": lax.scatter_mul(jnp.ones((4, 5)) * 2, dup_rows, updates, upd_dnums,
                                       mode="drop"),
        "scatter_min": lax.scatter_min(operand, points, elem_updates, elem_dnums, mode="drop"),
        "scatter_max": lax.scatter_max(operand, points, elem_updates, elem_dnums, mode="drop"),
        "scatter_elem_sorted": lax.scatter_add(operand, jnp.array([[0, 0], [0, 0], [1, 2]]),
                                               elem_updates[:3], elem_dnums, mode="drop",
                                               indices_are_sorted=True),
        "argmax_i8": lax.argmax(scores, 1, index_dtype=jnp.int8),
        "argmin_i32": lax.argmin(scores, 0, index_dtype=jnp.int32),
        "round_away": lax.round(halves, lax.RoundingMethod.AWAY_FROM_ZERO),
        "round_even": lax.round(halves, lax.RoundingMethod.TO_NEAREST_EVEN),
        "round_default": lax.round(halves),
        "squeeze": lax.squeeze(jnp.ones((1, 3, 1, 2)), (0, 2)).shape,
        "collapse": lax.collapse(jnp.arange(24).reshape(2, 3, 4), 1, 3),
        "transpose": lax.transpose(jnp.arange(6).reshape(1, 2, 3), (2, 0, 1)),
        "expand_dims": lax.expand_dims(jnp.arange(3), (0, 2)).shape,
        "batch_matmul": lax.batch_matmul(jnp.arange(12.0).reshape(2, 2, 3),
                                         jnp.arange(12.0).reshape(2, 3, 2)),
        "reduce_and": lax.reduce_and(flags, (1,)),
        "reduce_or": lax.reduce_or(flags, (0,)),
        "reduce_xor": lax.reduce_xor(ints, (1,)),
        "reduce_and_int": lax.reduce_and(ints, (0,)),
        "reduce_max": lax.reduce_max(ints, (0, 1)),
        "reduce_min": lax.reduce_min(scores, (1,)),
        "reduce_prod": lax.reduce_prod(ints, (1,)),
        "approx_max_k_vals": lax.approx_max_k(big, 2)[0],
        "approx_max_k_idx": lax.approx_max_k(big, 2)[1],
        "approx_min_k_vals": lax.approx_min_k(big, 3)[0],
        "qr_q": jnp.abs(q),
        "qr_r": jnp.abs(r),
        "eigh_vals": evals,
        "eigh_recon": evecs @ jnp.diag(evals) @ evecs.T,
        "cholesky": chol,
        "tri_solve_left": lax.linalg.triangular_solve(chol, rhs, left_side=True, lower=True),
        "tri_solve_trans": lax.linalg.triangular_solve(chol, rhs.T, left_side=False,
                                                       lower=True, transpose_a=True),
    }
