"""Softmax over an empty axis, as attention code meets it with a zero-length key sequence
(an empty cache at the first decoding step, an empty batch): `jax.nn.softmax`,
`log_softmax` and their gradient return an empty result, and `dot_product_attention` with
no keys returns zeros, in JAX."""
import jax
import jax.numpy as jnp


def run():
    empty = jnp.zeros((2, 0))
    q = jnp.ones((1, 2, 1, 4))
    kv = jnp.ones((1, 0, 1, 4))
    return {
        "softmax_shape": jnp.array(jax.nn.softmax(empty).shape),
        "log_softmax_shape": jnp.array(jax.nn.log_softmax(empty).shape),
        "softmax_axis0_shape": jnp.array(jax.nn.softmax(jnp.zeros((0, 3)), axis=0).shape),
        "softmax_grad_shape": jnp.array(jax.grad(lambda t: jnp.sum(jax.nn.softmax(t)))(
            empty).shape),
        "attention_no_keys": jax.nn.dot_product_attention(q, kv, kv),
    }


if __name__ == "__main__":
    print(run())
