"""`repr` of arrays as notebooks echo them: every common dtype (bool, int8, uint8, int32,
float16, bfloat16, float32, complex64), 0-d arrays from Python scalars and from
reductions (weakly typed or not), empty arrays (NumPy adds their shape), 3-D arrays,
long arrays summarised with `...`, and the same inside `jnp.printoptions`."""
import jax.numpy as jnp


def run():
    f32 = jnp.array([[0.1, -2.5, 3.0], [1e-4, 1e5, jnp.nan]])
    arrays = {
        "bool": jnp.array([True, False, True]),
        "int8": jnp.array([-128, 0, 127], dtype=jnp.int8),
        "uint8": jnp.arange(3, dtype=jnp.uint8),
        "int32": jnp.arange(-3, 3).reshape(2, 3),
        "float16": jnp.array([0.1, 1.5, -70000.0], dtype=jnp.float16),
        "bfloat16": jnp.array([0.1, 1.5, 3.0], dtype=jnp.bfloat16),
        "float32": f32,
        "complex64": jnp.array([1 + 2j, -0.5j]),
        "scalar_f": jnp.float32(3.25) * jnp.ones(()),
        "scalar_i": jnp.sum(jnp.arange(4)),
        "scalar_b": jnp.array(True),
        "scalar_b_full": jnp.full((), False),
        "python_float": jnp.asarray(2.0),
        "python_int": jnp.array(7),
        "empty": jnp.zeros((0, 3)),
        "empty_1d": jnp.array([], dtype=jnp.int32),
        "cube": jnp.arange(8).reshape(2, 2, 2),
        "long": jnp.arange(2000.0),
    }
    out = {"repr_" + name: repr(a) for name, a in arrays.items()}
    with jnp.printoptions(precision=2, suppress=True):
        out["opts_repr"] = repr(f32[0])
    return out


if __name__ == "__main__":
    print(run())
