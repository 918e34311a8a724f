"""64-bit integers, floats and random numbers, as code that needs them turns on
`jax.enable_x64(True)`: int64 arithmetic past 2**31 (products, `cumsum`, `prod`, wrap-around
at 2**63), uint64 bit manipulation (splitmix64 written with shifts and xors, `lax.shift_right_logical`,
`population_count`, `clz`), the float64 bit trick through `lax.bitcast_convert_type`
(a double-precision fast inverse square root refined by Newton steps), `floor_divide`/
`remainder`/`lax.rem` on int64 negatives, Python ints beyond int32 and their promotion with
int32/uint32/float32 arrays, `jnp.iinfo`/`finfo` of the 64-bit types, `jax.random` in x64
mode (`uniform`/`normal` in float64, `randint` with int64 bounds, `bits` of uint64,
`permutation`, `choice`, `exponential`), and sums that only float64 accumulates exactly."""
import jax
import jax.numpy as jnp
from jax import lax, random


def splitmix64(state, n):
    def step(s, _):
        s = s + jnp.uint64(0x9E3779B97F4A7C15)
        z = s
        z = (z ^ (z >> jnp.uint64(30))) * jnp.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> jnp.uint64(27))) * jnp.uint64(0x94D049BB133111EB)
        z = z ^ (z >> jnp.uint64(31))
        return s, z
    return lax.scan(step, state, None, length=n)


def fast_rsqrt64(x):
    i = lax.bitcast_convert_type(x, jnp.int64)
    i = jnp.int64(0x5FE6EB50C7B537A9) - (i >> 1)
    y = lax.bitcast_convert_type(i, jnp.float64)
    first = y
    for _ in range(3):
        y = y * (1.5 - 0.5 * x * y * y)
    return first, y


def run():
    with jax.enable_x64(True):
        big = jnp.array([2 ** 31 - 1, 2 ** 33, -(2 ** 40), 3_000_000_007])
        ints = jnp.arange(1, 21)
        wrap = jnp.array([2 ** 62, 2 ** 63 - 1], dtype=jnp.int64)
        _, stream = splitmix64(jnp.uint64(12345), 6)
        u = jnp.array([1, 2 ** 40, 2 ** 64 - 1, 0xF0F0F0F0F0F0F0F0], dtype=jnp.uint64)
        rs_first, rs = fast_rsqrt64(jnp.array([0.25, 2.0, 1e10, 1e-300]))
        neg = jnp.array([-7, 7, -(2 ** 40) - 3, 2 ** 40 + 3])
        den = jnp.array([2, -2, 1000, -1000])

        key = random.PRNGKey(2024)
        k1, k2, k3, k4, k5, k6 = random.split(key, 6)
        unif = random.uniform(k1, (8,))
        norm = random.normal(k2, (8,))
        rint = random.randint(k3, (6,), -(2 ** 40), 2 ** 40)
        bits = random.bits(k4, (4,))
        perm = random.permutation(k5, 10)
        pick = random.choice(k6, jnp.arange(100) * 2 ** 35, (5,), replace=False)
        expo = random.exponential(k1, (4,))

        i32 = jnp.asarray(7, jnp.int32)
        harmonic = jnp.sum(1.0 / jnp.arange(1.0, 100001.0))
        tenths = lax.fori_loop(0, 10, lambda i, s: s + 0.1, 0.0) - 1.0
        one_plus = (jnp.float64(1.0) + 1e-12) - 1.0
        return {
            "big": big,
            "big_dtype": str(big.dtype),
            "big_squared": big * big // 7,
            "cumsum": jnp.cumsum(ints ** 7),
            "prod": jnp.prod(ints),
            "wrap": wrap + wrap,
            "int64_neg_min": -jnp.array([-(2 ** 63)], jnp.int64),
            "splitmix_hi": (stream >> jnp.uint64(32)).astype(jnp.uint32),
            "splitmix_lo": stream.astype(jnp.uint32),
            "u64_shift": lax.shift_right_logical(u, jnp.uint64(40)),
            "u64_popcount": lax.population_count(u),
            "u64_clz": lax.clz(u),
            "u64_not_hi": (~u >> jnp.uint64(48)),
            "u64_to_f64": u.astype(jnp.float64),
            "rsqrt_first": rs_first,
            "rsqrt": rs,
            "floordiv": jnp.floor_divide(neg, den),
            "remainder": jnp.remainder(neg, den),
            "lax_rem": lax.rem(neg, den),
            "lax_div": lax.div(neg, den),
            "divmod_q": jnp.divmod(neg, 3)[0],
            "promote": " ".join(str(x.dtype) for x in (
                i32 + 2 ** 40, jnp.arange(2, dtype=jnp.uint32) + i32,
                jnp.arange(2, dtype=jnp.uint64) + jnp.asarray(1, jnp.int64),
                jnp.arange(2, dtype=jnp.uint64) * 2, jnp.ones(2, jnp.float32) + jnp.arange(2),
                jnp.ones(2, jnp.float32) * 2 ** 40, jnp.asarray(3, jnp.int8) * 2,
                jnp.array(2 ** 40) / 3, jnp.array([1, 2]).astype(float),
                jnp.true_divide(i32, i32), jnp.sqrt(jnp.arange(2)),
                jnp.asarray(1, jnp.float16) + 1.0, jnp.asarray(1, jnp.complex64) + 1.0,
                jnp.array(1 + 2j))),
            "int32_plus_pyint": jnp.stack([i32 + 2 ** 40, i32 - 2 ** 35 + 1, i32 * (2 ** 33 + 1)]),
            "int32_plus_big": i32 + jnp.array([2 ** 40 + 5, -(2 ** 35)]).astype(jnp.int32),
            "f32_times_big": jnp.ones(2, jnp.float32) * 2 ** 40 + 1.0,
            "iinfo": jnp.array([jnp.iinfo(jnp.int64).min, jnp.iinfo(jnp.int64).max]),
            "iinfo_u64_bits": jnp.iinfo(jnp.uint64).bits,
            "finfo_eps": jnp.array([jnp.finfo(jnp.float64).eps, jnp.finfo(jnp.float64).tiny,
                                    float(jnp.finfo(jnp.float64).max)]),
            "random_dtypes": " ".join(str(x.dtype) for x in (unif, norm, rint, bits, perm, pick,
                                                             expo)),
            "unif": unif,
            "norm": norm,
            "rint": rint,
            "bits_hi": (bits >> jnp.uint64(32)).astype(jnp.uint32),
            "bits_lo": bits.astype(jnp.uint32),
            "perm": perm,
            "pick": pick,
            "expo": expo,
            "harmonic": harmonic,
            "tenths": tenths,
            "one_plus": one_plus,
            "float32_one_plus": (jnp.float32(1.0) + jnp.float32(1e-12)) - jnp.float32(1.0),
        }


if __name__ == "__main__":
    print(run())
