"""Data-dependent shapes made static the way JAX's docs teach (the "sharp bits" on dynamic
shapes): `jnp.nonzero` / `jnp.argwhere` / `jnp.flatnonzero` / `jnp.where(cond)` with `size=`
and `fill_value=` (too few and too many hits), `jnp.unique` / `union1d` / `intersect1d` /
`setdiff1d` / `setxor1d` with `size=` and `fill_value=` (including NaN and empty inputs),
`jnp.extract(size=)`, `jnp.compress`, `jnp.mask_indices`, `jnp.tril_indices_from` with an
offset, and a masked top-k selection under `jit` and `vmap`."""
from functools import partial

import jax
import jax.numpy as jnp


@partial(jax.jit, static_argnames="k")
def first_k_positive(x, k):
    (idx,) = jnp.nonzero(x > 0, size=k, fill_value=-1)
    vals = jnp.where(idx >= 0, x[idx], 0.0)
    return idx, vals


def run():
    x = jnp.array([0.0, 2.5, -1.0, 0.0, 3.0, -0.5, 4.0, 0.0])
    grid = jnp.array([[0, 3, 0], [1, 0, 0], [0, 0, 7], [2, 0, 5]])
    rows, cols = jnp.nonzero(grid, size=7, fill_value=(-1, -2))
    a = jnp.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3])
    b = jnp.array([2, 7, 1, 8, 2, 8])
    with_nan = jnp.array([1.0, jnp.nan, 2.0, jnp.nan, 1.0])
    empty = jnp.zeros((0,), dtype=jnp.int32)
    uniq, uidx, uinv, ucnt = jnp.unique(a, return_index=True, return_inverse=True,
                                        return_counts=True, size=9, fill_value=0)
    inter, ia, ib = jnp.intersect1d(a, b, return_indices=True, size=4, fill_value=-1)
    batch = jnp.stack([x, -x, jnp.roll(x, 3)])
    vidx, vvals = jax.vmap(lambda r: first_k_positive(r, k=3))(batch)
    mat = jnp.arange(16).reshape(4, 4)
    return {
        "nonzero_fill_rows": rows,
        "nonzero_fill_cols": cols,
        "nonzero_truncated": jnp.nonzero(x, size=2)[0],
        "nonzero_default_fill": jnp.nonzero(x, size=6)[0],
        "argwhere": jnp.argwhere(grid, size=6, fill_value=-1),
        "argwhere_exact": jnp.argwhere(grid > 2, size=3),
        "flatnonzero": jnp.flatnonzero(grid, size=7, fill_value=99),
        "where_one_arg": jnp.where(x < 0, size=4, fill_value=-7)[0],
        "unique_sized": uniq,
        "unique_index": uidx,
        "unique_inverse": uinv,
        "unique_counts": ucnt,
        "unique_default_fill": jnp.unique(a, size=9),
        "unique_small_size": jnp.unique(a, size=3),
        "unique_nan": jnp.unique(with_nan, size=4, fill_value=-1.0),
        "unique_nan_equal_false": jnp.unique(with_nan, equal_nan=False, size=5, fill_value=0.0),
        "union": jnp.union1d(a, b, size=12, fill_value=-1),
        "union_default_fill": jnp.union1d(a, b, size=12),
        "intersect": inter,
        "intersect_ia": ia,
        "intersect_ib": ib,
        "setdiff": jnp.setdiff1d(a, b, size=7, fill_value=0),
        "setdiff_default_fill": jnp.setdiff1d(a, b, size=7),
        "setxor": jnp.setxor1d(a, b, size=10, fill_value=-3),
        "setdiff_empty": jnp.setdiff1d(empty, b, size=3, fill_value=5),
        "union_empty": jnp.union1d(empty, b, size=6, fill_value=0),
        "extract": jnp.extract(grid > 0, grid, size=6, fill_value=-9),
        "compress": jnp.compress(jnp.array([True, False, True]), grid, axis=1),
        "mask_indices_upper": jnp.mask_indices(4, jnp.triu, 1)[1],
        "tril_from": jnp.tril_indices_from(mat, k=-1)[1],
        "triu_from": jnp.triu_indices_from(mat, k=2)[0],
        "first_k": first_k_positive(x, k=5)[0],
        "first_k_vals": first_k_positive(x, k=5)[1],
        "vmap_idx": vidx,
        "vmap_vals": vvals,
        "isin_invert": jnp.isin(a, b, invert=True),
        "isin_unique": jnp.isin(jnp.array([1, 2, 3]), jnp.array([3, 1]), assume_unique=True),
    }
