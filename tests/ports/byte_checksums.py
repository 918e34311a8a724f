"""Checksums and hashes over byte buffers, as data-integrity code written with
`jax.numpy` computes them: a mod-256 sum with `jnp.sum(dtype=jnp.uint8)` (wrapping), the
same with `astype` and `%`, Fletcher-16 and Adler-32 with `cumsum` in wider integer types
and `lax.scan` over bytes, an 8-bit XOR (LRC) with `jnp.bitwise_xor.reduce`, CRC-32 by a
256-entry table built with `lax.fori_loop` and consumed by `lax.scan`, FNV-1a in uint32
(multiplication that wraps), a parity bit from `jnp.bitwise_count`, Luhn check digits with
`jnp.where` and `//`, `jnp.packbits`/`unpackbits` round trips, bytes reinterpreted as
little-endian uint32 words with `lax.bitcast_convert_type`, and `jnp.add.accumulate` /
`jnp.multiply.outer` on uint8."""
import jax.numpy as jnp
from jax import lax


def crc_table():
    def entry(n):
        def bit(i, c):
            return jnp.where(c & 1, jnp.uint32(0xEDB88320) ^ (c >> 1), c >> 1)
        return lax.fori_loop(0, 8, bit, n.astype(jnp.uint32))
    return jnp.stack([entry(jnp.uint32(n)) for n in range(256)])


def crc32(data, table):
    def step(c, b):
        return table[(c ^ b.astype(jnp.uint32)) & 0xFF] ^ (c >> 8), None
    c, _ = lax.scan(step, jnp.uint32(0xFFFFFFFF), data)
    return c ^ jnp.uint32(0xFFFFFFFF)


def fnv1a(data):
    def step(h, b):
        return (h ^ b.astype(jnp.uint32)) * jnp.uint32(16777619), None
    return lax.scan(step, jnp.uint32(2166136261), data)[0]


def fletcher16(data):
    s1 = jnp.cumsum(data.astype(jnp.uint32)) % 255
    s2 = jnp.sum(s1) % 255
    return (s2 << 8) | s1[-1]


def adler32(data):
    def step(c, b):
        a, s = c
        a = (a + b.astype(jnp.uint32)) % 65521
        return (a, (s + a) % 65521), None
    (a, s), _ = lax.scan(step, (jnp.uint32(1), jnp.uint32(0)), data)
    return (s << 16) | a


def luhn_check_digit(digits):
    rev = digits[::-1]
    doubled = jnp.where(jnp.arange(rev.size) % 2 == 0, rev * 2, rev)
    doubled = jnp.where(doubled > 9, doubled - 9, doubled)
    return (10 - jnp.sum(doubled) % 10) % 10


def run():
    text = jnp.array(list(b"The quick brown fox jumps over the lazy dog"), dtype=jnp.uint8)
    table = crc_table()
    words = lax.bitcast_convert_type(text[:40].reshape(10, 4), jnp.uint32)
    bits = jnp.unpackbits(text[:4])
    account = jnp.array([7, 9, 9, 2, 7, 3, 9, 8, 7, 1])
    return {
        "sum_mod256": jnp.sum(text, dtype=jnp.uint8),
        "sum_mod256_manual": (jnp.sum(text.astype(jnp.uint32)) % 256).astype(jnp.uint8),
        "sum_default_dtype": jnp.sum(text),
        "xor_lrc": jnp.bitwise_xor.reduce(text),
        "add_reduce_mod256": jnp.add.reduce(text, dtype=jnp.uint8),
        "add_reduce_int8": jnp.add.reduce(text.astype(jnp.int8), dtype=jnp.int8),
        "multiply_reduce_u8": jnp.multiply.reduce(text[:5], dtype=jnp.uint8),
        "or_reduce": jnp.bitwise_or.reduce(text[:8]),
        "crc_table_head": table[:6],
        "crc32": crc32(text, table),
        "crc32_empty_prefix": crc32(text[:1], table),
        "fnv1a": fnv1a(text),
        "fletcher16": fletcher16(text),
        "adler32": adler32(text),
        "parity": jnp.sum(jnp.bitwise_count(text)) % 2,
        "popcounts": jnp.bitwise_count(text[:10]),
        "luhn": luhn_check_digit(account),
        "bits": bits,
        "packbits_roundtrip": jnp.packbits(bits),
        "packbits_little": jnp.packbits(bits, bitorder="little"),
        "words": words[:4],
        "accumulate_u8": jnp.add.accumulate(text[:8]),
        "outer_u8": jnp.multiply.outer(text[:3], text[:3]),
        "cumsum_u8": jnp.cumsum(text[:8]),
        "cumsum_u8_wide": jnp.cumsum(text[:8], dtype=jnp.uint16),
        "dtypes": " ".join(str(a.dtype) for a in (
            jnp.sum(text, dtype=jnp.uint8), jnp.sum(text), jnp.bitwise_xor.reduce(text),
            crc32(text, table), fletcher16(text), jnp.bitwise_count(text),
            jnp.add.accumulate(text), jnp.multiply.outer(text[:2], text[:2]), jnp.cumsum(text),
            jnp.mean(text), jnp.packbits(bits), words)),
    }


if __name__ == "__main__":
    print(run())
