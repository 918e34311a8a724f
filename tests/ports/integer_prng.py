"""Integer and bit-level code as users write it in JAX: xorshift32 and a PCG-style
generator in uint32 (`lax.scan` and `fori_loop`, multiplication that wraps, logical
shifts), floats from random bits through `lax.bitcast_convert_type` (the exponent trick),
the fast inverse square root, `lax.population_count`, `lax.clz`, `jnp.bitwise_count`,
rotations, `lax.shift_right_logical` against `shift_right_arithmetic` on negatives,
`jnp.bitwise_*` and `jnp.invert`, int32 overflow that wraps, `jnp.packbits`/
`unpackbits`, and hashing a grid with integer mixing."""
import jax
import jax.numpy as jnp
from jax import lax


def xorshift32(state):
    state = state ^ (state << 13)
    state = state ^ (state >> 17)
    state = state ^ (state << 5)
    return state


def pcg_step(state):
    state = state * jnp.uint32(747796405) + jnp.uint32(2891336453)
    word = ((state >> ((state >> 28) + 4)) ^ state) * jnp.uint32(277803737)
    return state, (word >> 22) ^ word


def bits_to_unit_float(bits):
    mantissa = (bits >> 9) | jnp.uint32(0x3F800000)
    return lax.bitcast_convert_type(mantissa, jnp.float32) - 1.0


def fast_inv_sqrt(x):
    i = lax.bitcast_convert_type(x, jnp.int32)
    i = jnp.int32(0x5F3759DF) - (i >> 1)
    y = lax.bitcast_convert_type(i, jnp.float32)
    return y * (1.5 - 0.5 * x * y * y)


def rotl(x, r):
    return (x << r) | (x >> (32 - r))


def hash2d(ix, iy):
    h = ix.astype(jnp.uint32) * jnp.uint32(0x8DA6B343) ^ iy.astype(jnp.uint32) * jnp.uint32(
        0xD8163841)
    h = (h ^ (h >> 15)) * jnp.uint32(0x2C1B3C6D)
    h = (h ^ (h >> 12)) * jnp.uint32(0x297A2D39)
    return h ^ (h >> 15)


def run():
    seeds = jnp.array([1, 2463534242, 123456789, 4294967295], dtype=jnp.uint32)

    def scan_body(s, _):
        s = xorshift32(s)
        return s, s

    _, stream = lax.scan(scan_body, seeds, None, length=6)
    pcg_state, pcg_words = jax.jit(lambda s: lax.scan(
        lambda c, _: pcg_step(c), s, None, length=5))(jnp.array([42, 54], dtype=jnp.uint32))
    fori = lax.fori_loop(0, 100, lambda i, s: xorshift32(s), seeds)
    xs = jnp.array([0.25, 1.0, 2.0, 10.0, 1e6])
    neg = jnp.array([-17, -1, 0, 1, 2147483647], dtype=jnp.int32)
    u = jnp.array([0, 1, 255, 0x80000000, 0xFFFFFFFF], dtype=jnp.uint32)
    ix, iy = jnp.meshgrid(jnp.arange(3), jnp.arange(4), indexing="ij")
    f = jnp.array([1.0, -2.0, 0.1, jnp.inf], dtype=jnp.float32)
    return {
        "xorshift_stream": stream,
        "xorshift_fori": fori,
        "pcg_words": pcg_words,
        "pcg_state": pcg_state,
        "unit_floats": bits_to_unit_float(stream[-1]),
        "float_bits": lax.bitcast_convert_type(f, jnp.uint32),
        "float_bits_int": lax.bitcast_convert_type(f, jnp.int32),
        "bitcast_to_u16": lax.bitcast_convert_type(jnp.float32(1.5), jnp.uint16),
        "bitcast_from_u8": lax.bitcast_convert_type(
            jnp.array([[0, 0, 128, 63], [0, 0, 0, 192]], dtype=jnp.uint8), jnp.float32),
        "view_int": jnp.array([1.0, 2.0], dtype=jnp.float32).view(jnp.int32),
        "fast_inv_sqrt": fast_inv_sqrt(xs),
        "fast_inv_sqrt_grad": jax.grad(lambda v: jnp.sum(fast_inv_sqrt(v)))(xs),
        "popcount": lax.population_count(u),
        "popcount_neg": lax.population_count(neg),
        "bitwise_count": jnp.bitwise_count(neg),
        "clz": lax.clz(u),
        "clz_int": lax.clz(neg),
        "rotl": rotl(u, 7),
        "shift_logical": lax.shift_right_logical(neg, 28),
        "shift_arith": lax.shift_right_arithmetic(neg, 28),
        "shift_operator": neg >> 2,
        "shift_left_overflow": neg << 1,
        "shift_by_32": lax.shift_left(jnp.uint32(1), jnp.uint32(32)),
        "shift_right_by_40": lax.shift_right_logical(u, jnp.uint32(40)),
        "bitwise_and": jnp.bitwise_and(u, jnp.uint32(0xF0F0F0F0)),
        "bitwise_or": jnp.bitwise_or(neg, 0x100),
        "bitwise_xor": jnp.bitwise_xor(u, u >> 1),
        "bitwise_not": jnp.bitwise_not(neg),
        "invert_bool": jnp.invert(jnp.array([True, False])),
        "int32_wrap": neg * 3 + jnp.int32(2147483647),
        "int32_neg_min": -jnp.array([-2147483648, 5], dtype=jnp.int32),
        "uint32_mul_wrap": u * jnp.uint32(3),
        "uint32_sub_wrap": jnp.uint32(3) - u,
        "uint32_to_float": u.astype(jnp.float32),
        "int_to_uint8": neg.astype(jnp.uint8),
        "packbits": jnp.packbits(jnp.array([1, 0, 1, 1, 0, 0, 0, 1, 1, 1], dtype=jnp.uint8)),
        "packbits_little": jnp.packbits(jnp.array([1, 0, 1, 1, 0], dtype=jnp.uint8),
                                        bitorder="little"),
        "unpackbits": jnp.unpackbits(jnp.array([5, 200], dtype=jnp.uint8)),
        "unpackbits_count": jnp.unpackbits(jnp.array([255], dtype=jnp.uint8), count=3),
        "hash_grid": hash2d(ix, iy),
        "hash_uniform_mean": jnp.mean(bits_to_unit_float(hash2d(ix, iy))),
        "gcd_lcm": jnp.stack([jnp.gcd(jnp.array([12, -18, 0, 7]), jnp.array([8, 12, 5, 0])),
                              jnp.lcm(jnp.array([4, -6, 0, 7]), jnp.array([6, 4, 5, 3]))]),
        "left_shift_uint8": jnp.left_shift(jnp.array([1, 128, 255], dtype=jnp.uint8), 1),
    }


if __name__ == "__main__":
    print(run())
