"""How library code picks dtypes with `jax.numpy`'s own helpers (JAX's "type promotion
semantics" page): `jnp.result_type` of NumPy scalars, NumPy float64 data, dtypes, Python
types and `None` while 64-bit types are off, `jnp.promote_types` of 64-bit dtypes (which
JAX does not canonicalize), `jnp.can_cast`, `jnp.issubdtype` and `jnp.finfo` on the chosen
dtype, `jnp.full` sentinels (-1 as an unsigned all-ones value) and saturating fills, and a
small layer that casts its inputs and parameters to a computed dtype."""
import numpy as np

import jax.numpy as jnp


def promote_args(*args):
    """Cast every argument to their common dtype (the helper libraries write)."""
    dtype = jnp.result_type(*args)
    return [jnp.asarray(a, dtype) for a in args]


def dense(params, x, dtype=None):
    dtype = jnp.result_type(x, params["w"]) if dtype is None else dtype
    w, b = params["w"].astype(dtype), params["b"].astype(dtype)
    return jnp.tanh(x.astype(dtype) @ w + b)


def run():
    f16 = jnp.ones(3, jnp.float16)
    i8 = jnp.arange(3, dtype=jnp.int8)
    queries = {
        "np_f64_scalar": (np.float64(0.5),),
        "np_i64_scalar": (np.int64(3),),
        "np_f64_data": (np.linspace(0.0, 1.0, 4),),
        "f64_type": (np.float64,),
        "f64_name": ("float64",),
        "u64": (np.uint64,),
        "i8_u64": (np.int8, np.uint64),
        "c128": (np.complex128,),
        "none": (None,),
        "py_float_type": (float,),
        "py_int_type_i8": (int, jnp.int8),
        "f16_py_float": (f16, 2.0),
        "f16_np_f64": (f16, np.float64(2.0)),
        "i8_py_int": (i8, 300),
        "i8_py_float": (i8, 1.5),
        "bf16_f16": (jnp.bfloat16, jnp.float16),
        "weak_f16": (jnp.arange(3) + 1.5, f16),
    }
    out = {f"result_type_{k}": str(jnp.result_type(*v)) for k, v in queries.items()}
    pairs = {
        "f32_f64": (jnp.float32, jnp.float64), "i32_i64": (jnp.int32, jnp.int64),
        "i8_u64": (jnp.int8, jnp.uint64), "i64_u64": (jnp.int64, jnp.uint64),
        "bool_u64": (jnp.bool_, jnp.uint64), "f64_c64": (jnp.float64, jnp.complex64),
        "i64_f16": (jnp.int64, jnp.float16), "u32_i32": (jnp.uint32, jnp.int32),
        "bf16_f16": (jnp.bfloat16, jnp.float16), "i8_u8": (jnp.int8, jnp.uint8),
    }
    out.update({f"promote_{k}": str(jnp.promote_types(*v)) for k, v in pairs.items()})
    x64_data = np.array([[0.25, -1.0], [2.0, 0.5]])          # NumPy float64
    params = {"w": jnp.array([[0.5, -0.25], [0.1, 0.3]]), "b": jnp.zeros(2)}
    a, b, c = promote_args(np.float64(0.5), jnp.arange(2, dtype=jnp.int16), 3)
    dt = jnp.result_type(x64_data, np.float64(1.0))
    out.update({
        "promoted_values": jnp.stack([a * jnp.ones(2), b, c * jnp.ones(2)]),
        "promoted_dtype": str(a.dtype) + " " + str(b.dtype) + " " + str(c.dtype),
        "dense_default": dense(params, x64_data),
        "dense_f16": dense(params, x64_data, jnp.float16).astype(jnp.float32),
        "dense_dtype": str(dense(params, x64_data).dtype),
        "eps_of_result": jnp.array(jnp.finfo(dt).eps),
        "is_float": jnp.array(jnp.issubdtype(dt, jnp.floating)),
        "can_cast": jnp.array([jnp.can_cast(jnp.result_type(i8, 1), jnp.int16),
                               jnp.can_cast(jnp.promote_types(jnp.int32, jnp.int64), jnp.int32)]),
        "sum_in_result_type": jnp.sum(i8, dtype=jnp.result_type(i8, np.int64(0))),
        # all-ones sentinels and saturating fills, converted as XLA converts scalars
        "sentinel_u32": jnp.full((3,), -1, dtype=jnp.uint32),
        "sentinel_u8": jnp.full_like(jnp.zeros(2, jnp.uint8), -1),
        "fill_wraps_i8": jnp.full((2,), 200, dtype=jnp.int8),
        "fill_saturates": jnp.full((2,), 1e10, dtype=jnp.int32),
    }
    )
    return out


if __name__ == "__main__":
    print(run())
