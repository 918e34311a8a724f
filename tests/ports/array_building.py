"""Building and reshaping arrays the NumPy way, as data-preparation code written for
`jax.numpy` does: `jnp.r_`/`jnp.c_` with slices, strings and scalars, `mgrid`/`ogrid`
with real and complex steps, `ix_` open meshes, advanced indices separated by a slice (the
broadcast axes move to the front), `unravel_index`/`ravel_multi_index` with `mode=`,
`tril_indices`/`triu_indices_from`/`diag_indices`, `insert`/`delete`/`append` along axes,
`split`/`array_split` unevenly, `block`, `apply_along_axis`/`apply_over_axes`, `choose`
with `mode=`, `select`, `piecewise`, `extract(size=)`, `compress`, `repeat` with
`total_repeat_length`, `resize`, `rot90`, `roll` over several axes, `trim_zeros`,
`fill_diagonal(inplace=False)`, `vander`, `tri`, and the set operations (`intersect1d`
with `return_indices`, `setdiff1d`/`union1d`/`setxor1d` with `size=`, `isin(invert=)`,
`unique` along an axis and `unique_all`)."""
import jax.numpy as jnp


def run():
    x = jnp.arange(24).reshape(2, 3, 4)
    m = jnp.arange(12.0).reshape(3, 4)
    gx, gy = jnp.mgrid[0:2:3j, -1:1:0.5]
    ox, oy = jnp.ogrid[0:3, 0:2]
    parts = jnp.array_split(jnp.arange(7), 3)
    a = jnp.array([5, 1, 3, 3, 7, 9, 1])
    b = jnp.array([3, 4, 1, 8])
    common, ia, ib = jnp.intersect1d(a, b, return_indices=True)
    rows = jnp.array([[1, 0, 1], [2, 2, 2], [1, 0, 1]])
    uniq_all = jnp.unique_all(jnp.array([3, 1, 3, 2, 1, 3]))
    return {
        "r_slices": jnp.r_[0:3, 10, jnp.array([7, 8]), -1:1:3j],
        "r_axis_string": jnp.r_["0,2", jnp.array([1, 2]), jnp.array([3, 4])],
        "r_axis1": jnp.r_["1,2,0", jnp.array([1, 2, 3]), jnp.array([4, 5, 6])],
        "c_": jnp.c_[jnp.array([1, 2, 3]), jnp.array([4, 5, 6])],
        "c_scalar": jnp.c_[jnp.array([[1, 2]]), 0, 0, jnp.array([[9]])],
        "mgrid_x": gx,
        "mgrid_y": gy,
        "ogrid": ox + 10 * oy,
        "ix_": m[jnp.ix_(jnp.array([0, 2]), jnp.array([3, 1]))],
        "adv_sep_slice": x[jnp.array([0, 1]), :, jnp.array([2, 3])],
        "adv_adjacent": x[:, jnp.array([0, 2]), jnp.array([1, 3])],
        "adv_newaxis_ellipsis": x[None, ..., jnp.array([0, 0, 3])].shape[0] + jnp.zeros(1),
        "adv_bool_int": m[jnp.array([True, False, True]), jnp.array([1, 3])],
        "unravel": jnp.stack(jnp.unravel_index(jnp.array([0, 5, 11, 23]), (2, 3, 4))),
        "unravel_negative": jnp.stack(jnp.unravel_index(jnp.array([-1]), (3, 4))),
        "ravel_multi_clip": jnp.ravel_multi_index((jnp.array([0, 2, 5]), jnp.array([3, -1, 1])),
                                                  (3, 4), mode="clip"),
        "ravel_multi_wrap": jnp.ravel_multi_index((jnp.array([0, 2, 5]), jnp.array([3, -1, 1])),
                                                  (3, 4), mode="wrap"),
        "tril_indices": jnp.stack(jnp.tril_indices(4, k=-1)),
        "triu_indices_from": jnp.stack(jnp.triu_indices_from(m, k=1)),
        "diag_indices": m[jnp.diag_indices(3)],
        "insert_axis0": jnp.insert(m, 1, jnp.array([-1.0, -2.0, -3.0, -4.0]), axis=0),
        "insert_flat": jnp.insert(jnp.arange(5), jnp.array([1, 3, 3]), jnp.array([9, 8, 7])),
        "insert_axis1_scalar": jnp.insert(m, 2, 0.5, axis=1),
        "delete": jnp.delete(m, jnp.array([0, 2]), axis=1),
        "delete_slice": jnp.delete(jnp.arange(10), slice(1, 8, 3)),
        "append": jnp.append(m, jnp.ones((1, 4)), axis=0),
        "append_flat": jnp.append(jnp.array([1, 2]), jnp.array([[3], [4]])),
        "array_split_0": parts[0],
        "array_split_2": parts[2],
        "split_indices": jnp.split(jnp.arange(10), [2, 5, 5])[1],
        "split_last_empty": jnp.split(jnp.arange(10), [2, 5, 5])[2],
        "block": jnp.block([[jnp.eye(2), jnp.zeros((2, 1))], [jnp.ones((1, 2)), 5.0]]),
        "apply_along_axis": jnp.apply_along_axis(lambda r: r[::-1].cumsum(), 1, m),
        "apply_along_axis_scalar": jnp.apply_along_axis(jnp.max, 0, m),
        "apply_over_axes": jnp.apply_over_axes(jnp.sum, x, [0, 2]),
        "choose_clip": jnp.choose(jnp.array([0, 3, 1, -1]),
                                  [jnp.arange(4), 10 + jnp.arange(4), 20 + jnp.arange(4)],
                                  mode="clip"),
        "choose_wrap": jnp.choose(jnp.array([0, 3, 1, -1]),
                                  [jnp.arange(4), 10 + jnp.arange(4), 20 + jnp.arange(4)],
                                  mode="wrap"),
        "select": jnp.select([m < 3, m > 8], [m, -m], default=0.5),
        "piecewise": jnp.piecewise(jnp.linspace(-2.0, 2.0, 9),
                                   [jnp.linspace(-2.0, 2.0, 9) < 0,
                                    jnp.linspace(-2.0, 2.0, 9) > 1],
                                   [lambda t: -t, 7.0, lambda t: t * t]),
        "extract_size": jnp.extract(m > 4, m, size=10, fill_value=-1.0),
        "compress": jnp.compress(jnp.array([True, False, True]), m, axis=0),
        "compress_short": jnp.compress(jnp.array([False, True]), m, axis=1),
        "repeat_total": jnp.repeat(jnp.array([1, 2, 3]), jnp.array([2, 0, 3]),
                                   total_repeat_length=7),
        "repeat_total_short": jnp.repeat(jnp.array([1, 2, 3]), jnp.array([2, 0, 3]),
                                         total_repeat_length=4),
        "repeat_axis": jnp.repeat(m[:2], 2, axis=1),
        "resize_larger": jnp.resize(jnp.array([[1, 2], [3, 4]]), (3, 3)),
        "rot90": jnp.rot90(m, k=3),
        "rot90_axes": jnp.rot90(x, 1, axes=(1, 2))[1],
        "roll_multi": jnp.roll(m, (1, -1), axis=(0, 1)),
        "roll_flat": jnp.roll(m, 5),
        "trim_zeros": jnp.trim_zeros(jnp.array([0, 0, 3, 0, 4, 0])),
        "trim_zeros_front": jnp.trim_zeros(jnp.array([0, 0, 3, 0, 4, 0]), "f"),
        "fill_diagonal": jnp.fill_diagonal(jnp.zeros((3, 5)), jnp.array([1.0, 2.0]),
                                           wrap=False, inplace=False),
        "vander": jnp.vander(jnp.array([1.0, 2.0, 3.0]), 4, increasing=True),
        "tri": jnp.tri(3, 4, k=1, dtype=jnp.int32),
        "intersect_common": common,
        "intersect_ia": ia,
        "intersect_ib": ib,
        "setdiff1d_size": jnp.setdiff1d(a, b, size=5, fill_value=-1),
        "union1d": jnp.union1d(a, b),
        "union1d_size": jnp.union1d(a, b, size=9, fill_value=0),
        "setxor1d": jnp.setxor1d(a, b),
        "isin_invert": jnp.isin(a, b, invert=True),
        "unique_axis0": jnp.unique(rows, axis=0),
        "unique_axis1_counts": jnp.unique(rows, axis=1, return_counts=True)[1],
        "unique_all_values": uniq_all.values,
        "unique_all_indices": uniq_all.indices,
        "unique_all_inverse": uniq_all.inverse_indices,
        "unique_all_counts": uniq_all.counts,
        "unique_counts": jnp.unique_counts(jnp.array([2.0, jnp.nan, 2.0, jnp.nan])).counts,
        "unique_nan": jnp.unique(jnp.array([2.0, jnp.nan, 2.0, jnp.nan])),
        "unique_nan_unequal": jnp.unique(jnp.array([2.0, jnp.nan, 2.0, jnp.nan]),
                                         equal_nan=False),
    }


if __name__ == "__main__":
    print(run())
