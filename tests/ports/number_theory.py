"""Elementary number theory in integer arithmetic, as JAX exercises and hashing code write
it: a sieve of Eratosthenes under `jit` (`fori_loop` over candidate primes, strided
masks), `jnp.gcd`/`jnp.lcm` with negatives, zeros and narrow types, the extended Euclidean
algorithm and a Collatz stopping time in `lax.while_loop` under `vmap` (per-element trip
counts), modular exponentiation by repeated squaring on uint32 (Fermat tests and modular
inverses), Euler's totient from a gcd table, divisor sums and perfect numbers, an
integer square root by Newton's method with `floor_divide`, Fibonacci numbers modulo m
with `jnp.linalg.matrix_power` on int32 matrices and the Pisano period found with
`argmax`, the Chinese remainder theorem, base-b digits with `//` and `%`, partitions
counted by a coin-change table built with `.at[].add`, Pascal's triangle mod 2 by `scan`,
and floor/trunc division (`//`, `%`, `lax.div`, `lax.rem`, `jnp.fmod`, `divmod`) on
negative and extreme operands."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax, vmap


@partial(jax.jit, static_argnums=0)
def sieve(n):
    is_prime = jnp.ones(n, dtype=bool).at[:2].set(False)
    idx = jnp.arange(n)

    def body(p, mask):
        strike = (idx >= p * p) & (idx % p == 0) & mask[p]
        return mask & ~strike
    return lax.fori_loop(2, int(n ** 0.5) + 1, body, is_prime)


def ext_gcd(a, b):
    def cond(c):
        return c[1] != 0

    def body(c):
        r0, r1, s0, s1, t0, t1 = c
        q = r0 // r1
        return r1, r0 - q * r1, s1, s0 - q * s1, t1, t0 - q * t1
    r, _, s, _, t, _ = lax.while_loop(cond, body, (a, b, 1, 0, 0, 1))
    return jnp.stack([r, s, t])


def collatz_steps(n):
    def body(c):
        m, k = c
        return jnp.where(m % 2 == 0, m // 2, 3 * m + 1), k + 1
    return lax.while_loop(lambda c: c[0] != 1, body, (n, 0))[1]


def powmod(base, exp, mod):
    base = base.astype(jnp.uint32) % mod
    exp = exp.astype(jnp.uint32)

    def body(c):
        result, b, e = c
        result = jnp.where(e & 1, (result * b) % mod, result)
        return result, (b * b) % mod, e >> 1
    return lax.while_loop(lambda c: c[2] > 0, body, (jnp.uint32(1), base, exp))[0]


def isqrt(n):
    def body(c):
        x, _ = c
        y = (x + n // x) // 2
        return y, x
    x, _ = lax.while_loop(lambda c: c[0] < c[1], body, (n, n + 1))
    return x


def partitions(n, parts):
    ways = jnp.zeros(n + 1, jnp.int32).at[0].set(1)
    for c in parts:
        for i in range(c, n + 1):
            ways = ways.at[i].add(ways[i - c])
    return ways


def run():
    primes_mask = sieve(60)
    primes = jnp.nonzero(primes_mask, size=17, fill_value=-1)[0]

    a = jnp.array([12, -18, 0, 0, 17, 2 ** 20, -7])
    b = jnp.array([18, 12, 5, 0, -51, 3 ** 12, -21])
    u8a = jnp.array([200, 12, 255], jnp.uint8)
    u8b = jnp.array([150, 18, 17], jnp.uint8)

    pairs = jnp.array([[240, 46], [17, 5], [1071, 462], [3, 7], [101, 13]])
    egcd = vmap(lambda p: ext_gcd(p[0], p[1]))(pairs)
    steps = vmap(collatz_steps)(jnp.arange(1, 28))

    p_test = jnp.array([97, 91, 561, 65521, 65519])
    fermat2 = vmap(lambda p: powmod(jnp.uint32(2), p - 1, p.astype(jnp.uint32)))(p_test)
    inv7 = powmod(jnp.uint32(7), jnp.uint32(65519), jnp.uint32(65521))

    n = jnp.arange(1, 31)
    totient = jnp.sum((jnp.gcd(n[:, None], n[None, :]) == 1) & (n[None, :] <= n[:, None]),
                      axis=1)
    divides = (n[:, None] % n[None, :] == 0) & (n[None, :] < n[:, None])
    sigma = jnp.sum(jnp.where(divides, n[None, :], 0), axis=1)

    roots = vmap(isqrt)(jnp.array([1, 2, 15, 16, 17, 99, 10 ** 6, 2 ** 30 + 12345, 2 ** 31 - 2]))

    fib_m = jnp.array([[1, 1], [1, 0]], dtype=jnp.int32)
    fibs = jnp.stack([jnp.linalg.matrix_power(fib_m, k)[0, 1] for k in range(1, 25)])

    def fib_mod(m):
        def step(c, _):
            x, y = c
            return (y, (x + y) % m), (y, (x + y) % m)
        _, (xs, ys) = lax.scan(step, (jnp.int32(0), jnp.int32(1)), None, length=130)
        back = (xs == 0) & (ys == 1)
        return jnp.argmax(back) + 1
    pisano = vmap(fib_mod)(jnp.array([2, 3, 5, 7, 10, 11]))

    mods = jnp.array([3, 5, 7])
    rems = jnp.array([2, 3, 2])
    cand = jnp.arange(105)
    crt = jnp.argmax(jnp.all(cand[:, None] % mods[None, :] == rems[None, :], axis=1))

    num = jnp.array([0, 7, 255, 1000, 65535])
    digits = jnp.stack([(num // 3 ** k) % 3 for k in range(11)], axis=1)
    digit_sum10 = jnp.sum(jnp.stack([(num // 10 ** k) % 10 for k in range(6)]), axis=0)

    def pascal_row(row, _):
        nxt = row ^ jnp.concatenate([jnp.zeros(1, row.dtype), row[:-1]])
        return nxt, nxt
    _, tri = lax.scan(pascal_row, jnp.zeros(16, jnp.uint8).at[0].set(1), None, length=15)

    x = jnp.array([-7, 7, -7, 7, -2 ** 31, -2 ** 31, 2 ** 31 - 1, 0])
    y = jnp.array([2, -2, -2, 2, -1, 3, -7, -3])
    xf = jnp.array([-7.5, 7.5, -0.0, 5.0])
    yf = jnp.array([2.0, -2.0, 3.0, -0.0])
    return {
        "primes": primes,
        "prime_count": jnp.sum(primes_mask),
        "gcd": jnp.gcd(a, b),
        "lcm": jnp.lcm(a, b),
        "gcd_u8": jnp.gcd(u8a, u8b),
        "lcm_u8": jnp.lcm(u8a, u8b),
        "lcm_i8_wraps": jnp.lcm(jnp.array([100], jnp.int8), jnp.array([3], jnp.int8)),
        "ext_gcd": egcd,
        "bezout_check": egcd[:, 1] * pairs[:, 0] + egcd[:, 2] * pairs[:, 1] - egcd[:, 0],
        "collatz": steps,
        "fermat2": fermat2,
        "inv7": inv7,
        "inv7_check": (inv7 * 7) % 65521,
        "totient": totient,
        "sigma": sigma,
        "perfect": jnp.nonzero(sigma == n, size=3)[0] + 1,
        "isqrt": roots,
        "fibs": fibs,
        "pisano": pisano,
        "crt": crt,
        "base3_digits": digits,
        "digit_sum10": digit_sum10,
        "partitions": partitions(20, range(1, 21)),
        "partitions_odd": partitions(20, range(1, 21, 2)),
        "pascal_mod2": tri,
        "floordiv": x // y,
        "mod": x % y,
        "lax_div": lax.div(x, y),
        "lax_rem": lax.rem(x, y),
        "fmod": jnp.fmod(x, y),
        "divmod": jnp.stack(jnp.divmod(x, y)),
        "float_floordiv": xf // yf,
        "float_mod": jnp.remainder(xf, yf),
        "float_fmod": jnp.fmod(xf, yf),
        "float_divmod": jnp.stack(jnp.divmod(xf, yf)),
        "jit_floordiv": jax.jit(lambda u, v: jnp.stack([u // v, u % v]))(x[:4], 3),
    }


if __name__ == "__main__":
    print(run())
