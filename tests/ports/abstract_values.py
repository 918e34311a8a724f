"""Abstract values as library code inspects them (JAX's "key concepts" and `eval_shape`
docs): `jax.typeof` of arrays, weakly typed scalars and tracers inside `jit`, printed with
`str` (`float32[2,3]`, `~float32[]` for a weak type) and `str_short()`; `eval_shape` of a
function over a pytree of `ShapeDtypeStruct`s and arrays, and shape checks written against
the printed types."""
import jax
import jax.numpy as jnp

seen = []


@jax.jit
def layer(x, w):
    seen.append(str(jax.typeof(x)) + " " + str(jax.typeof(w)))
    return jnp.tanh(x @ w)


def run():
    x = jnp.ones((2, 3))
    w = jnp.full((3, 4), 0.5)
    layer(x, w)
    layer(x.astype(jnp.bfloat16), w.astype(jnp.bfloat16))
    values = [x, jnp.asarray(2.0) * 1, 2.0, jnp.arange(3, dtype=jnp.int8), jnp.zeros((), bool)]
    shapes = jax.eval_shape(
        lambda p, v: {"h": layer(v, p["w"]), "n": jnp.sum(v, dtype=jnp.int32)},
        {"w": jax.ShapeDtypeStruct((3, 4), jnp.float32)}, jnp.ones((5, 3)))
    return {
        "typeof_str": " | ".join(str(jax.typeof(v)) for v in values),
        "typeof_short": " | ".join(jax.typeof(v).str_short() for v in values),
        "traced": " | ".join(seen),
        "eval_shape": str(shapes["h"].shape) + " " + str(shapes["h"].dtype) + " "
                      + str(shapes["n"].dtype),
        "weak": jnp.array([jax.typeof(v).weak_type for v in values]),
    }


if __name__ == "__main__":
    print(run())
