"""`jax.dtypes` as library code (flax-style modules) calls it to pick computation dtypes:
`canonicalize_dtype` of 64-bit and Python types under x64-off, `result_type` of dtypes,
arrays and weak Python scalars, `issubdtype` with bfloat16, `scalar_type_of`, `finfo`/
`iinfo`, and `float0`."""
import numpy as np

import jax
import jax.numpy as jnp


def run():
    return {
        "canonical": " ".join(str(jax.dtypes.canonicalize_dtype(d)) for d in
                              (np.float64, np.int64, np.uint64, np.complex128, bool, float,
                               jnp.bfloat16)),
        "result_types": " ".join(str(jax.dtypes.result_type(*a)) for a in
                                 ((jnp.int8, 2.0), (jnp.uint8, jnp.int8), (jnp.float16, 1j),
                                  (jnp.bfloat16, jnp.float16), (jnp.ones(2, jnp.int16), 3))),
        "issubdtype": jnp.array([jax.dtypes.issubdtype(jnp.bfloat16, jnp.floating),
                                 jax.dtypes.issubdtype(jnp.int4, jnp.signedinteger)]),
        "scalar_type_of": " ".join(jax.dtypes.scalar_type_of(v).__name__ for v in
                                   (1, 2.0, True, 1j, jnp.ones((), jnp.int8))),
        "finfo": jnp.array([jax.dtypes.finfo(jnp.bfloat16).eps,
                            jax.dtypes.finfo(jnp.float16).max]),
        "iinfo": jnp.array([jax.dtypes.iinfo(jnp.int16).min, jax.dtypes.iinfo(jnp.uint8).max]),
        "float0": str(jax.dtypes.float0),
    }


if __name__ == "__main__":
    print(run())
