"""Ranges and grids as numerical code builds them: `jnp.arange` with float steps (the
length NumPy's ceil((stop - start) / step) gives, 0.1 steps included), negative steps,
empty ranges, integer and float mixes and explicit dtypes; `linspace` with integer dtypes
(floored), `endpoint=False`, `retstep`, array endpoints and `axis`; `logspace` with a base
and negative exponents; `geomspace` with negative endpoints; `meshgrid` in both indexings
and with `sparse=True`; `mgrid`/`ogrid` with step counts (`5j`); `jnp.indices`,
`jnp.fromfunction`, `eye` with `k` and `M`, `tri`, `diag`/`diagflat` with offsets and
`vander` in both orders."""
import jax.numpy as jnp


def run():
    grid_x, grid_y = jnp.meshgrid(jnp.arange(3), jnp.linspace(0.0, 1.0, 4))
    ij_x, ij_y = jnp.meshgrid(jnp.arange(3), jnp.arange(2), indexing="ij")
    sparse_x, sparse_y = jnp.meshgrid(jnp.arange(3.0), jnp.arange(4.0), sparse=True)
    values, step = jnp.linspace(2.0, 3.0, 5, retstep=True)
    values_open, step_open = jnp.linspace(2.0, 3.0, 5, endpoint=False, retstep=True)
    return {
        "arange_int": jnp.arange(5),
        "arange_float_step": jnp.arange(0, 1, 0.1),
        "arange_float_step_len": jnp.arange(0, 1, 0.1).shape[0],
        "arange_third": jnp.arange(1.0, 2.0, 1 / 3),
        "arange_neg": jnp.arange(5, -3, -2),
        "arange_neg_float": jnp.arange(1.0, -1.0, -0.25),
        "arange_empty": jnp.arange(3, 1),
        "arange_float_start": jnp.arange(2.5),
        "arange_int_dtype": jnp.arange(0, 10, 3, dtype=jnp.int16),
        "arange_float_args_int_dtype": jnp.arange(0.5, 4.7, 1.1, dtype=jnp.int32),
        "arange_uint8": jnp.arange(250, 256, dtype=jnp.uint8),
        "arange_bf16": jnp.arange(0, 2, 0.25, dtype=jnp.bfloat16).astype(jnp.float32),
        "arange_f16": jnp.arange(-1, 1, 0.3, dtype=jnp.float16),
        "linspace_int": jnp.linspace(-7, 10, 6, dtype=jnp.int32),
        "linspace_int_neg": jnp.linspace(0, -10, 4, dtype=jnp.int32),
        "linspace_values": values,
        "linspace_step": step,
        "linspace_open": values_open,
        "linspace_open_step": step_open,
        "linspace_axis": jnp.linspace(jnp.array([0.0, 10.0]), jnp.array([1.0, 20.0]), 3,
                                      axis=1),
        "linspace_one": jnp.linspace(4.0, 5.0, 1),
        "logspace": jnp.logspace(-2, 2, 5),
        "logspace_base2": jnp.logspace(0, 8, 9, base=2.0),
        "logspace_open": jnp.logspace(1, 3, 4, endpoint=False),
        "geomspace": jnp.geomspace(1, 1000, 4),
        "geomspace_neg": jnp.geomspace(-1000, -1, 4),
        "geomspace_open": jnp.geomspace(2, 32, 4, endpoint=False),
        "meshgrid_x": grid_x,
        "meshgrid_y": grid_y,
        "meshgrid_ij_x": ij_x,
        "meshgrid_ij_y": ij_y,
        "sparse_x": sparse_x,
        "sparse_y": sparse_y,
        "mgrid": jnp.mgrid[0:3, 0:4:2],
        "mgrid_count": jnp.mgrid[-1:1:5j],
        "mgrid_float": jnp.mgrid[0:1:0.25],
        "ogrid_rows": jnp.ogrid[0:3, 0:2][0],
        "ogrid_cols": jnp.ogrid[0:3, 0:2][1],
        "indices": jnp.indices((2, 3)),
        "indices_sparse": jnp.indices((2, 3), sparse=True)[1],
        "fromfunction": jnp.fromfunction(lambda i, j: i * 10 + j, (3, 4), dtype=jnp.int32),
        "fromfunction_float": jnp.fromfunction(lambda i, j: i / (j + 1), (2, 3)),
        "eye_k": jnp.eye(3, 5, k=2),
        "eye_neg_k": jnp.eye(4, k=-1, dtype=jnp.int32),
        "identity_bool": jnp.identity(3, dtype=bool),
        "tri": jnp.tri(3, 4, k=1),
        "tri_int": jnp.tri(4, dtype=jnp.int8),
        "diag_offset": jnp.diag(jnp.array([1, 2, 3]), k=-1),
        "diag_extract": jnp.diag(jnp.arange(12).reshape(3, 4), k=1),
        "diagflat": jnp.diagflat(jnp.array([[1, 2], [3, 4]]), k=1),
        "vander": jnp.vander(jnp.array([1.0, 2.0, 3.0]), 4),
        "vander_increasing": jnp.vander(jnp.array([2, 3, 5]), increasing=True),
        "full_like_dtype": jnp.full_like(jnp.arange(3), 2.7, dtype=jnp.float32),
        "full_like_int": jnp.full_like(jnp.arange(3), 2.7),
        "zeros_like_shape": jnp.zeros_like(jnp.ones((2, 3)), shape=(4,)),
        "ones_like_bool": jnp.ones_like(jnp.array([1.5, 2.5]), dtype=bool),
    }
