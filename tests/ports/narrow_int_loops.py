"""Loops over narrow integer and half-precision state, as JAX's control-flow docs write them:
`lax.fori_loop` whose loop index meets an int8/uint8/int16/bfloat16 carry (the index of a
loop with Python-int bounds is weakly typed, so `carry + i` keeps the carry's dtype), bounds
given as NumPy scalars or int16 arrays, a `fori_loop` under `jit` with a traced trip count,
`lax.while_loop` carrying int8 counters that wrap around, `lax.scan` over uint8 bytes (a
checksum), `lax.switch` with an index past either end (clamped), a `cond` on an integer
predicate, and `fori_loop` with `unroll`."""
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax


def byte_checksum(data):
    """Fletcher-16 over uint8 data, the two sums kept in uint8 arithmetic mod 256."""
    def step(carry, byte):
        s1, s2 = carry
        s1 = s1 + byte
        s2 = s2 + s1
        return (s1, s2), s1

    (s1, s2), trace = lax.scan(step, (jnp.uint8(0), jnp.uint8(0)), data)
    return s1, s2, trace


def halve_and_step(c):
    # i / 2 is a weak float: the bfloat16 carry stays bfloat16
    return lax.fori_loop(0, 3, lambda i, c: c * 0.5 + i / 2, c)


@jax.jit
def histogram_steps(n):
    # a traced trip count: a while_loop inside; the int8 counts stay int8
    def body(i, counts):
        return counts.at[i % 4].add(jnp.int8(1)) + i

    return lax.fori_loop(0, n, body, jnp.zeros(4, jnp.int8))


def run():
    i8 = jnp.array([120, -3, 7], dtype=jnp.int8)
    u8 = jnp.array([250, 4, 0], dtype=jnp.uint8)
    bf = jnp.array([1.0, -2.5], dtype=jnp.bfloat16)
    data = jnp.asarray(np.arange(0, 250, 7) % 256, dtype=jnp.uint8)
    s1, s2, trace = byte_checksum(data)

    def sw(i, v):
        return lax.switch(i, [lambda a: a + 1, lambda a: a * 10, lambda a: -a], v)

    def wrap_count(c):
        return c[0] > 0

    return {
        # Python-int bounds: the index is a weak int32, so the carry keeps its narrow dtype
        "fori_int8_carry": lax.fori_loop(0, 5, lambda i, c: c + i, i8),
        "fori_uint8_carry": lax.fori_loop(0, 4, lambda i, c: c + i, u8),
        "fori_bf16_carry": halve_and_step(bf).astype(jnp.float32),
        "fori_bf16_carry_dtype": str(halve_and_step(bf).dtype),
        "fori_f16_index_scale": lax.fori_loop(
            1, 4, lambda i, c: c * i, jnp.array([0.5, 3.0], dtype=jnp.float16)),
        # int16 array bounds: static, so the index is a weak int32 as well
        "fori_int16_bounds": lax.fori_loop(jnp.asarray(0, jnp.int16), jnp.asarray(4, jnp.int16),
                                           lambda i, c: c + i, jnp.zeros(2, jnp.int8)),
        "fori_int16_bounds_product": lax.fori_loop(
            jnp.asarray(0, jnp.int16), jnp.asarray(3, jnp.int16),
            lambda i, c: c + (i + 1) * 20000, 0),
        # NumPy scalar bounds
        "fori_numpy_int16_bounds": lax.fori_loop(np.int16(2), np.int16(9), lambda i, c: c + i,
                                                 np.int16(0)),
        "fori_numpy_int8_squares": lax.fori_loop(np.int8(0), np.int8(20),
                                                 lambda i, c: c + i * i, np.int8(0)),
        "fori_traced_trip_count": histogram_steps(6),
        "fori_unroll_uint8": lax.fori_loop(0, 7, lambda i, c: c * 3 + i, jnp.uint8(1), unroll=3),
        "fori_no_trips": lax.fori_loop(5, 2, lambda i, c: c + i, jnp.int16(7)),
        # while_loop carrying narrow ints
        "while_int8_wraps": lax.while_loop(
            wrap_count, lambda c: (c[0] + jnp.int8(50), c[1] + 1), (jnp.int8(1), 0))[1],
        "while_uint8_underflow": lax.while_loop(lambda c: c < 250, lambda c: c - jnp.uint8(3),
                                                jnp.uint8(5)),
        "while_bool_and_int16": lax.while_loop(
            lambda c: ~c[0], lambda c: (c[1] > 4, c[1] + jnp.int16(1)),
            (jnp.array(False), jnp.int16(0)))[1],
        "scan_checksum_s1": s1,
        "scan_checksum_s2": s2,
        "scan_checksum_trace": trace,
        "scan_int8_products": lax.scan(lambda c, x: (c * x, c), jnp.int8(1),
                                       jnp.array([3, 5, 7, 11], jnp.int8))[1],
        # lax.switch clamps its index into range
        "switch_high": sw(7, 1.0),
        "switch_negative": sw(-3, 1.0),
        "switch_uint8_index": sw(jnp.uint8(200), 2.0),
        "switch_vmapped_indices": jax.vmap(sw)(jnp.array([2, 0, 5, -1]), jnp.arange(4.0)),
        "switch_grad_clamped": jax.grad(lambda v: sw(5, v) * v)(3.0),
        "cond_int_predicate": lax.cond(jnp.int8(3), lambda: jnp.int8(1), lambda: jnp.int8(2)),
    }


if __name__ == "__main__":
    print(run())
