"""Array creation and NumPy's ufunc methods as `jax.numpy` offers them: `linspace` with
array endpoints, `axis=`, `endpoint=False` and `retstep=True`, `geomspace` with negative
endpoints, `logspace` with `base`, `meshgrid(sparse=True, indexing="ij")`, `eye` with `k`
and `M`, `diag`/`diagonal` with offsets and axes, `triu`/`tril` of a stack, `*_like` with
`shape=` and `dtype=`, `jnp.array` of mixed Python lists (and their dtypes), `frombuffer`,
`asarray` of NumPy scalars and of nested tuples; and the ufunc methods `reduce` (with
`axis` tuples, `keepdims`, `initial`, `where`), `accumulate`, `outer`, `at` (with
`inplace=False`) and `reduceat`, on `add`, `multiply`, `maximum`, `logical_or`,
`bitwise_xor`, `negative` and a `jnp.frompyfunc` ufunc, with the `.at[]` methods that
mirror `ufunc.at` (`subtract`, `apply`, `divide`, `power`)."""
import numpy as np

import jax.numpy as jnp


def run():
    xs, step = jnp.linspace(jnp.array([0.0, 1.0]), jnp.array([1.0, -1.0]), 5, endpoint=False,
                            retstep=True, axis=1)
    gx, gy = jnp.meshgrid(jnp.arange(3), jnp.arange(2), sparse=True, indexing="ij")
    stack = jnp.arange(18.0).reshape(2, 3, 3)
    m = jnp.arange(12).reshape(3, 4)
    clip_add = jnp.frompyfunc(lambda a, b: jnp.minimum(a + b, 10), nin=2, nout=1, identity=0)
    return {
        "linspace_axis": xs,
        "linspace_step": step,
        "linspace_int": jnp.linspace(0, 10, 4, dtype=jnp.int32),
        "geomspace_neg": jnp.geomspace(-1000.0, -1.0, 4),
        "geomspace_endpoint": jnp.geomspace(1.0, 16.0, 4, endpoint=False),
        "logspace_base": jnp.logspace(0.0, 3.0, 4, base=2.0),
        "meshgrid_sparse": gx * 10 + gy,
        "meshgrid_shapes": jnp.array([gx.shape, gy.shape]),
        "eye_k_m": jnp.eye(3, 5, k=2, dtype=jnp.int8),
        "eye_k_neg": jnp.eye(4, k=-1),
        "identity_bool": jnp.identity(2, dtype=bool),
        "diag_k": jnp.diag(jnp.array([1, 2]), k=-1),
        "diag_extract": jnp.diag(m, k=1),
        "diagonal_axes": jnp.diagonal(stack, offset=1, axis1=0, axis2=2),
        "triu_stack": jnp.triu(stack, k=-1),
        "tril_stack": jnp.tril(stack, k=1)[1],
        "full_like_shape": jnp.full_like(m, 2.5, shape=(2, 2)),
        "zeros_like_dtype": jnp.zeros_like(m, dtype=jnp.float16),
        "ones_like_bool": jnp.ones_like(jnp.array([True]), shape=3),
        "array_mixed_float": jnp.array([1, 2.5, True]),
        "array_mixed_int": jnp.array([True, 2, 3]),
        "array_nested_tuple": jnp.array(((1, 2), (3, 4)), dtype=jnp.float32),
        "asarray_np_scalar": jnp.asarray(np.float64(0.1)),
        "asarray_np_int8": jnp.asarray(np.int8(-3)) * 100,
        "frombuffer": jnp.frombuffer(np.arange(4, dtype=np.int16).tobytes(), dtype=jnp.int16),
        "add_reduce_axes": jnp.add.reduce(stack, axis=(0, 2)),
        "add_reduce_keepdims": jnp.add.reduce(m, axis=1, keepdims=True),
        "multiply_reduce_initial": jnp.multiply.reduce(jnp.array([2.0, 3.0]), initial=10.0),
        "maximum_reduce_where": jnp.maximum.reduce(m, axis=1, initial=-1,
                                                   where=m % 3 == 0),
        "logical_or_reduce": jnp.logical_or.reduce(m > 9, axis=0),
        "bitwise_xor_reduce": jnp.bitwise_xor.reduce(m, axis=0),
        "add_accumulate": jnp.add.accumulate(m, axis=1),
        "multiply_accumulate": jnp.multiply.accumulate(jnp.array([1.0, 2.0, 3.0, 0.5])),
        "maximum_accumulate": jnp.maximum.accumulate(jnp.array([3, 1, 4, 1, 5, 9, 2, 6])),
        "subtract_outer": jnp.subtract.outer(jnp.arange(3), jnp.arange(4)),
        "multiply_outer_2d": jnp.array(jnp.multiply.outer(jnp.ones((2, 1)),
                                                          jnp.arange(3.0)).shape),
        "add_at": jnp.add.at(jnp.zeros(5), jnp.array([0, 1, 1, 4]), 1.0, inplace=False),
        "maximum_at": jnp.maximum.at(jnp.zeros(4), jnp.array([2, 2, 3]),
                                     jnp.array([5.0, -1.0, 2.0]), inplace=False),
        "add_reduceat": jnp.add.reduceat(jnp.arange(8), jnp.array([0, 4, 1, 5])),
        "negative_at": jnp.negative.at(jnp.arange(4), jnp.array([0, 0, 2]), inplace=False),
        "at_subtract": jnp.arange(5.0).at[jnp.array([1, 1, 3])].subtract(2.0),
        "at_apply": jnp.arange(5.0).at[jnp.array([1, 1, 7])].apply(lambda v: v * 10 + 1),
        "at_divide_int": jnp.arange(5).at[1].divide(2),
        "at_power_repeated": jnp.arange(5.0).at[jnp.array([2, 2])].power(2.0),
        "frompyfunc_reduce": clip_add.reduce(jnp.array([3, 4, 5, 6])),
        "frompyfunc_accumulate": clip_add.accumulate(jnp.array([3, 4, 5, 6])),
        "frompyfunc_outer": clip_add.outer(jnp.array([1, 8]), jnp.array([1, 2, 3])),
    }


if __name__ == "__main__":
    print(run())
