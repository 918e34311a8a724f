"""Reading Python scalars out of arrays, as logging and bookkeeping code does:
`x.item()` and NumPy's `x.item(i)`, `x.item(i, j)` and `x.item((i, j))`, `x.tolist()` of 0-d and 2-D arrays, and
`jnp.asarray(x).item()` on integer, bool and float16 arrays."""
import jax.numpy as jnp


def run():
    x = jnp.arange(12.0).reshape(3, 4)
    return {
        "item_0d": jnp.array(jnp.sum(x).item()),
        "item_flat": jnp.array(x.item(5)),
        "item_pair": jnp.array(x.item(2, 1)),
        "item_tuple": jnp.array(x.item((1, 3))),
        "item_types": " ".join(type(v.item()).__name__ for v in (
            jnp.array(3), jnp.array(True), jnp.array(2.5, jnp.float16))),
        "tolist_0d": jnp.array(jnp.array(4.5).tolist()),
        "tolist_2d": jnp.array(x[:2, :2].tolist()),
    }


if __name__ == "__main__":
    print(run())
