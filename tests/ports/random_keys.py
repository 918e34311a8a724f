"""PRNG keys as JAX's "pseudorandom numbers" guide handles them: typed keys
(`random.key`) split into shaped batches (`split(key, (2, 3))`), indexed, reshaped,
stacked and passed through `jit`, `vmap` and `lax.scan` as pytree leaves, `key_data`/
`wrap_key_data` round trips, `fold_in` with large and negative data, `random.clone`,
`key_impl`, keys of `PRNGKey` (raw uint32[2]) batched with `vmap`; and samplers in other
dtypes (bfloat16/float16 `uniform` and `normal`, uint8/int16 `randint` with bounds beyond
the dtype, `bits` of uint8/uint16), `uniform` with broadcast array bounds, and `randint`
with `minval > maxval`."""
import jax
import jax.numpy as jnp
from jax import lax, random


def run():
    key = random.key(123)
    grid = random.split(key, (2, 3))
    raw = random.PRNGKey(9)
    stacked = grid[jnp.array([0, 1]), jnp.array([1, 2])]

    @jax.jit
    def draw(k):
        k1, k2 = random.split(k)
        return random.normal(k1, (2,)), k2

    def step(k, _):
        k, sub = random.split(k)
        return k, random.uniform(sub)

    final, seq = lax.scan(step, key, None, length=4)
    return {
        "grid_shape": jnp.array(grid.shape),
        "grid_data": random.key_data(grid),
        "grid_index": random.key_data(grid[1, 0]),
        "grid_reshape": random.key_data(grid.reshape(6)[4]),
        "stacked": random.key_data(stacked),
        "jit_draw": draw(key)[0],
        "jit_key_out": random.key_data(draw(key)[1]),
        "vmap_typed": jax.vmap(lambda k: random.uniform(k, (2,)))(grid.reshape(-1)),
        "vmap_raw": jax.vmap(lambda k: random.normal(k))(random.split(raw, 3)),
        "scan_keys": seq,
        "scan_final": random.key_data(final),
        "wrap_roundtrip": random.uniform(random.wrap_key_data(random.key_data(grid[0, 0]))),
        "fold_in_large": random.key_data(random.fold_in(key, 2 ** 31 + 5)),
        "fold_in_uint32": random.key_data(random.fold_in(key, jnp.uint32(4000000000))),
        "clone": random.key_data(random.clone(key)),
        "key_impl": str(random.key_impl(key)),
        "key_dtype": str(key.dtype),
        "key_shape": jnp.array(grid[0].shape),
        "uniform_bf16": random.uniform(key, (4,), dtype=jnp.bfloat16).astype(jnp.float32),
        "normal_f16": random.normal(key, (4,), dtype=jnp.float16).astype(jnp.float32),
        "uniform_bounds": random.uniform(raw, (2, 3), minval=jnp.array([0.0, 10.0, -1.0]),
                                         maxval=jnp.array([1.0, 20.0, 1.0])),
        "randint_uint8_wide": random.randint(raw, (6,), -10, 300, dtype=jnp.uint8),
        "randint_int16": random.randint(key, (6,), -40000, 40000, dtype=jnp.int16),
        "randint_empty_range": random.randint(raw, (4,), 5, 2),
        "randint_array_bounds": random.randint(key, (3,), jnp.array([0, 10, 100]),
                                               jnp.array([2, 20, 1000])),
        "bits_uint8": random.bits(key, (5,), dtype=jnp.uint8),
        "bits_uint16": random.bits(raw, (3,), dtype=jnp.uint16),
    }


if __name__ == "__main__":
    print(run())
