"""The errors JAX's "sharp bits" and `jax.errors` pages show, caught the way their examples
catch them (each case names the class JAX raises; anything else propagates and fails the
program): Python control flow on traced values (`TracerBoolConversionError`), `int()`/
`float()`/`range()`/list indexing with tracers (`ConcretizationTypeError`,
`TracerIntegerConversionError`), NumPy conversion of a tracer
(`TracerArrayConversionError`), boolean masks under `jit` and `vmap`
(`NonConcreteBooleanIndexError`), shapes from traced values, leaked tracers
(`UnexpectedTracerError`), in-place item assignment, `grad` of integer inputs and of
non-scalar outputs, reverse mode through `while_loop`, `cond` branch mismatches, `vmap`
size mismatches, unhashable static arguments, `lax` dtype mismatches, `reshape`,
broadcasting, `concatenate` and `matmul` shape errors, negative shapes, and what JAX does
not raise for (a traced out-of-bounds index clamps, division by zero gives inf)."""
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


def outcome(error, f, *args):
    try:
        out = f(*args)
    except error:
        return "raised " + error.__name__
    return "ok " + str(jax.tree.map(lambda v: np.asarray(v).tolist(), out))


def run():
    x = jnp.array([1.0, -2.0, 3.0])
    leaked = []

    def leak(v):
        leaked.append(v)
        return v

    jax.jit(leak)(1.0)
    errors = jax.errors
    return {
        "if_tracer": outcome(errors.TracerBoolConversionError,
                             jax.jit(lambda v: v if v > 0 else -v), 1.0),
        "if_tracer_base": outcome(errors.ConcretizationTypeError,
                                  jax.jit(lambda v: v * 2 if bool(v.sum()) else v), x),
        "if_tracer_type": outcome(TypeError, jax.jit(lambda v: 1 if v.any() else 0), x),
        "int_tracer": outcome(errors.ConcretizationTypeError, jax.jit(lambda v: int(v)), 2.0),
        "float_tracer": outcome(errors.ConcretizationTypeError, jax.jit(lambda v: float(v)),
                                2.0),
        "index_tracer": outcome(errors.TracerIntegerConversionError,
                                jax.jit(lambda v, i: [10, 20, 30][i]), x, 1),
        "range_tracer": outcome(errors.TracerIntegerConversionError,
                                jax.jit(lambda n: sum(range(n))), 4),
        "numpy_tracer": outcome(errors.TracerArrayConversionError,
                                jax.jit(lambda v: np.sin(np.asarray(v))), x),
        "arange_tracer": outcome(errors.ConcretizationTypeError,
                                 jax.jit(lambda n: jnp.sum(jnp.arange(n))), 4),
        "ones_tracer": outcome(TypeError, jax.jit(lambda n: jnp.ones(n)), 3),
        "bool_mask": outcome(errors.NonConcreteBooleanIndexError,
                             jax.jit(lambda v: v[v > 0]), x),
        "bool_mask_vmap": outcome(IndexError, jax.vmap(lambda v: jnp.sum(v[v > 0])),
                                  jnp.ones((2, 3))),
        "bool_mask_eager": outcome(IndexError, lambda v: v[v > 0], x),
        "nonzero_jit": outcome(errors.ConcretizationTypeError,
                               jax.jit(lambda v: jnp.nonzero(v > 0)), x),
        "leaked": outcome(errors.UnexpectedTracerError, lambda: leaked[0] + 1),
        "item_assign": outcome(TypeError, lambda v: v.__setitem__(0, 5.0), x),
        "grad_int": outcome(TypeError, jax.grad(lambda v: v * 2), 3),
        "grad_vector_out": outcome(TypeError, jax.grad(lambda v: v * 2), x),
        "grad_while": outcome(ValueError, jax.grad(lambda v: lax.while_loop(
            lambda c: c < 10.0, lambda c: c * 2.0, v)), 1.5),
        "jvp_while": outcome(ValueError, lambda v: jax.jvp(lambda c: lax.while_loop(
            lambda s: s < 10.0, lambda s: s * 2.0, c), (v,), (1.0,)), 1.5),
        "cond_shapes": outcome(TypeError, lambda p: lax.cond(
            p, lambda: jnp.ones(2), lambda: jnp.ones(3)), True),
        "cond_dtypes": outcome(TypeError, lambda p: lax.cond(
            p, lambda: 1.0, lambda: jnp.int32(1)), True),
        "vmap_sizes": outcome(ValueError, jax.vmap(lambda a, b: a + b), x, jnp.ones(4)),
        "vmap_axis": outcome(ValueError, jax.vmap(lambda a: a, in_axes=1), x),
        "static_unhashable": outcome(ValueError, jax.jit(lambda v, s: v * len(s),
                                                         static_argnums=1), x, [1, 2]),
        "lax_dtypes": outcome(TypeError, lax.add, jnp.int32(1), jnp.float32(2.0)),
        "reshape_size": outcome(TypeError, lambda v: v.reshape(2, 2), x),
        "broadcast_add": outcome(TypeError, lambda v: v + jnp.ones(4), x),
        "broadcast_lax": outcome(TypeError, lax.add, x, jnp.ones(4)),
        "broadcast_where": outcome(ValueError, lambda v: jnp.where(v > 0, v, jnp.ones(4)), x),
        "broadcast_to": outcome(ValueError, lambda v: jnp.broadcast_to(v, (4,)), x),
        "concat_ndim": outcome(TypeError, lambda v: jnp.concatenate([v, jnp.ones((2, 2))]), x),
        "concat_0d": outcome(ValueError, lambda: jnp.concatenate([jnp.float32(1),
                                                                  jnp.float32(2)])),
        "stack_shapes": outcome(ValueError, lambda v: jnp.stack([v, jnp.ones(2)]), x),
        "matmul_shapes": outcome(TypeError, lambda v: v @ jnp.ones((4, 2)), x),
        "dot_shapes": outcome(TypeError, lambda v: jnp.dot(v, jnp.ones(4)), x),
        "matmul_0d": outcome(ValueError, lambda v: jnp.matmul(jnp.float32(2.0), v), x),
        "einsum_sizes": outcome(ValueError, lambda v: jnp.einsum("i,i->", v, jnp.ones(4)), x),
        "negative_shape": outcome(TypeError, lambda: jnp.zeros((2, -1))),
        "float_shape": outcome(TypeError, lambda: jnp.zeros((2.0, 3))),
        "axis_out_of_range": outcome(ValueError, lambda v: jnp.sum(v, axis=1), x),
        "astype_str": outcome(TypeError, lambda v: v.astype(str), x),
        "key_as_int": outcome(TypeError, lambda: jax.random.normal(0, (2,))),
        "repeat_traced": outcome(errors.ConcretizationTypeError,
                                 jax.jit(lambda v, r: jnp.repeat(v, r)), x, 2),
        "repeat_total": outcome(TypeError, jax.jit(
            lambda v, r: jnp.repeat(v, r, total_repeat_length=4)), x, jnp.array([1, 2, 1])),
        "dynamic_slice_size": outcome(TypeError, jax.jit(
            lambda v, n: lax.dynamic_slice(v, (0,), (n,))), x, 2),
        "traced_oob_index": outcome(IndexError, jax.jit(lambda v, i: v[i]), x, 10),
        "traced_oob_negative": outcome(IndexError, jax.jit(lambda v, i: v[i]), x, -10),
        "traced_oob_update": outcome(IndexError, jax.jit(lambda v, i: v.at[i].set(0.0)), x, 7),
        "divide_zero": outcome(FloatingPointError, lambda v: v / 0.0, x),
        "log_negative": outcome(FloatingPointError, lambda v: jnp.log(v), x),
    }
