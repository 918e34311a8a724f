"""In-place updates inside loops, funcgrad against JAX, medians of 30 calls in ms. Until
session 2026-12-06 17:06 funcgrad's loops wrote the whole carry into its other buffer every
trip (1.9-3.5 ms here against JAX's 0.09-0.17); a carry updated by a scatter or a
dynamic_update_slice now takes the update in its own buffer
(`backends.c.Executable._in_place_updates`).

    python bench/bench_loop_updates.py
"""
import time

import jax
import jax.numpy as jnp
import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax


def variants(np_, lax_):
    def dus(i, a, r):
        return lax_.dynamic_update_slice(a, (r * i)[None], (i, 0))
    return {
        "at.set row": lambda x, r: lax_.fori_loop(0, 64, lambda i, a: a.at[i].set(r * i), x),
        "dus row": lambda x, r: lax_.fori_loop(0, 64, lambda i, a: dus(i, a, r), x),
        "at.add row": lambda x, r: lax_.fori_loop(0, 64, lambda i, a: a.at[i].add(r), x),
        "recurrence": lambda x, r: lax_.fori_loop(
            1, 64, lambda i, a: a.at[i].set(a[i - 1] * 0.5 + r), x),
        "while fill": lambda x, r: lax_.while_loop(
            lambda c: c[0] < 64, lambda c: (c[0] + 1, c[1].at[c[0]].set(r * c[0])),
            (0, x))[1],
        "scan stack": lambda x, r: lax_.scan(lambda c, i: (c, r * i), 0.0,
                                             np_.arange(64.0))[1],
    }


def _median_ms(f, args, block):
    for _ in range(3):
        block(f(*args))
    times = []
    for _ in range(30):
        t0 = time.perf_counter()
        block(f(*args))
        times.append(time.perf_counter() - t0)
    return np.median(times) * 1e3


def main():
    x = np.random.default_rng(0).standard_normal((512, 1024)).astype(np.float32)
    row = np.ones((1024,), np.float32)
    for (name, f), g in zip(variants(fnp, lax).items(), variants(jnp, jax.lax).values()):
        a = _median_ms(fg.jit(f), (fnp.asarray(x), fnp.asarray(row)), fg.block_until_ready)
        b = _median_ms(jax.jit(g), (jnp.asarray(x), jnp.asarray(row)), jax.block_until_ready)
        print(f"{name:12s} funcgrad {a:.3f} ms  jax {b:.3f} ms", flush=True)


if __name__ == "__main__":
    main()
