"""How arrays print, as scripts and notebooks show them: `str`/`repr` of every common
dtype (bool, int8, uint8, int32, float16, bfloat16, float32, complex64), 0-d arrays, empty
arrays, 3-D arrays, long arrays that NumPy summarises with `...`, `jnp.printoptions`
(precision, suppress, threshold, edgeitems) as a context manager, `jnp.array_str`/
from `jax.eval_shape`, of dtypes and of `jnp.finfo`, and `jax.debug.print` with format
specs on arrays inside `jit` and `vmap`."""
import jax
import jax.numpy as jnp


def run():
    out = {}
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
        "empty": jnp.zeros((0, 3)),
        "cube": jnp.arange(8).reshape(2, 2, 2),
        "long": jnp.arange(2000.0),
        "weak": jnp.asarray(2.0),
    }
    for name, a in arrays.items():
        out["str_" + name] = str(a)
    with jnp.printoptions(precision=2, suppress=True):
        out["opts_precision"] = str(f32)
    with jnp.printoptions(threshold=5, edgeitems=2):
        out["opts_threshold"] = str(jnp.arange(10))
    out["after_opts"] = str(f32[0])
    out["array_str"] = jnp.array_str(f32, precision=1)
    out["format_scalar"] = f"{jnp.float32(2.0) * jnp.ones(()):.3f} {jnp.array(7):03d}"
    out["eval_shape"] = repr(jax.eval_shape(lambda x: x @ x.T, jax.ShapeDtypeStruct((3, 4),
                                                                                    jnp.float32)))
    out["dtype_repr"] = repr(jnp.arange(3.0).dtype) + " " + str(jnp.dtype(jnp.bfloat16))
    out["finfo"] = str(jnp.finfo(jnp.float16).eps) + " " + str(jnp.iinfo(jnp.int8).min)

    @jax.jit
    def step(x, i):
        jax.debug.print("step {i}: x={x}", x=x, i=i, ordered=True)
        jax.debug.print("mean={m:.3f} max={mx:.1e}", m=jnp.mean(x), mx=jnp.max(x),
                        ordered=True)
        jax.debug.print("{}", x.astype(jnp.int32), ordered=True)
        return x * 2

    step(jnp.array([0.5, 1.25, -3.0]), 3)
    jax.vmap(lambda v: jax.debug.print("row {v}", v=v))(jnp.arange(6).reshape(3, 2))
    jax.effects_barrier()
    print(jnp.array([[1.0, 2.0], [3.0, 4.0]]))
    print(jnp.arange(1000).reshape(10, 100))
    print(jnp.array([1e-8, 1.0]), jnp.array([1e8, 1.0]), jnp.array([0.5, 100.0]))
    print(jnp.array([1.0, 2.0, 3.0], dtype=jnp.float16))
    return out


if __name__ == "__main__":
    print(run())
