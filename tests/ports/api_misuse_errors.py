"""Misused APIs and the exception class JAX raises for each, caught the way a program that
validates its inputs catches them (each case names JAX's class; anything else propagates
and fails the program): pytree structure mismatches in `jax.tree.map` and
`tree_unflatten`, `scan`/`while_loop`/`fori_loop` carries that change shape or dtype,
`cond` with a non-scalar predicate, `switch` with a float index, `grad` with bad
`argnums`, `vmap` with `in_axes` of the wrong length, `reshape` with two -1s, `split` into
unequal parts, bad `transpose` axes, repeated reduction axes, `squeeze` of a non-unit axis,
`moveaxis` with repeated axes, ragged lists, `None` as an array, unknown `pad` modes, bad
`einsum` subscripts, non-square `inv`, mismatched `solve`, `.at[]` updates of the wrong
shape, `dynamic_slice` sizes larger than the operand, and `take(mode="raise")` under
`jit`."""
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
    x = jnp.arange(6.0)
    m = jnp.arange(6.0).reshape(2, 3)
    leaves, treedef = jax.tree.flatten({"a": 1, "b": (2, 3)})
    return {
        "tree_map_keys": outcome(ValueError, lambda: jax.tree.map(
            lambda a, b: a + b, {"a": 1.0}, {"b": 2.0})),
        "tree_map_lengths": outcome(ValueError, lambda: jax.tree.map(
            lambda a, b: a + b, [1.0, 2.0], [1.0])),
        "tree_map_none": outcome(ValueError, lambda: jax.tree.map(
            lambda a, b: a + b, [1.0, None], [1.0, 2.0])),
        "tree_unflatten_count": outcome(ValueError, lambda: jax.tree.unflatten(
            treedef, leaves[:2])),
        "scan_carry_shape": outcome(TypeError, lambda: lax.scan(
            lambda c, v: (jnp.append(c, v), v), jnp.zeros(1), x)),
        "scan_carry_dtype": outcome(TypeError, lambda: lax.scan(
            lambda c, v: (c + v, v), jnp.int32(0), x)),
        "while_carry_dtype": outcome(TypeError, lambda: lax.while_loop(
            lambda c: c < 3, lambda c: c + 1.5, 0)),
        "fori_carry_shape": outcome(TypeError, lambda: lax.fori_loop(
            0, 3, lambda i, c: jnp.stack([c, c]), jnp.ones(2))),
        "cond_vector_pred": outcome(TypeError, lambda: lax.cond(
            jnp.array([True, False]), lambda: 1.0, lambda: 2.0)),
        "switch_float_index": outcome(TypeError, lambda: lax.switch(
            1.0, [lambda: 1.0, lambda: 2.0])),
        "switch_clamps": outcome(TypeError, lambda: lax.switch(
            7, [lambda: 1.0, lambda: 2.0])),
        "grad_argnums": outcome(TypeError, lambda: jax.grad(lambda a, b: a * b,
                                                             argnums=2)(1.0, 2.0)),
        "vmap_in_axes_len": outcome(ValueError, lambda: jax.vmap(
            lambda a, b: a + b, in_axes=(0, 0, 0))(x, x)),
        "vmap_no_mapped": outcome(ValueError, lambda: jax.vmap(
            lambda a: a, in_axes=None)(x)),
        "reshape_two_unknown": outcome(TypeError, lambda: x.reshape(-1, -1)),
        "split_unequal": outcome(ValueError, lambda: jnp.split(x, 4)),
        "array_split_unequal": outcome(ValueError, lambda: jnp.array_split(x, 4)),
        "transpose_axes": outcome(TypeError, lambda: jnp.transpose(m, (0, 0))),
        "sum_repeated_axes": outcome(ValueError, lambda: jnp.sum(m, axis=(0, 0))),
        "squeeze_non_unit": outcome(ValueError, lambda: jnp.squeeze(m, axis=0)),
        "moveaxis_repeated": outcome(TypeError, lambda: jnp.moveaxis(m, (0, 0), (1, 0))),
        "ragged_list": outcome(ValueError, lambda: jnp.array([[1.0, 2.0], [3.0]])),
        "none_array": outcome(ValueError, lambda: jnp.asarray(None)),
        "none_in_list": outcome(ValueError, lambda: jnp.array([1.0, None])),
        "pad_mode": outcome(NotImplementedError, lambda: jnp.pad(x, 1, mode="mirror")),
        "einsum_subscripts": outcome(ValueError, lambda: jnp.einsum("ij,jk", m)),
        "inv_non_square": outcome(ValueError, lambda: jnp.linalg.inv(m)),
        "solve_shapes": outcome(ValueError, lambda: jnp.linalg.solve(jnp.eye(3), jnp.ones(4))),
        "at_set_shape": outcome(ValueError, lambda: x.at[:2].set(jnp.ones(3))),
        "at_set_broadcast": outcome(ValueError, lambda: m.at[0].set(jnp.array([1.0, 2.0, 3.0]))),
        "dynamic_slice_too_big": outcome(TypeError, lambda: lax.dynamic_slice(x, (0,), (8,))),
        "take_raise_jit": outcome(NotImplementedError, jax.jit(
            lambda v: jnp.take(v, jnp.array([1, 9]), mode="raise")), x),
        "one_hot_float_classes": outcome(TypeError, lambda: jax.nn.one_hot(
            jnp.array([0, 1]), 2.5)),
        "unknown_dtype": outcome(TypeError, lambda: jnp.zeros(3, dtype="float128")),
        "reshape_order": outcome(ValueError, lambda: x.reshape(2, 3, order="F")),
        "concatenate_empty": outcome(ValueError, lambda: jnp.concatenate([])),
        "stack_empty": outcome(ValueError, lambda: jnp.stack([])),
        "argmax_empty": outcome(ValueError, lambda: jnp.argmax(jnp.zeros(0))),
        "max_empty": outcome(ValueError, lambda: jnp.max(jnp.zeros(0))),
        "max_empty_initial": outcome(ValueError, lambda: jnp.max(jnp.zeros(0), initial=-1.0)),
    }
