"""In-place updates, funcgrad against JAX, medians of 30 calls in ms, in one process.

    python bench/bench_loop_updates.py

Until session 2026-12-06 17:06 funcgrad copied the whole array for every update: a loop's
carry was written into its other buffer every trip (1.9-3.5 ms here against JAX's
0.09-0.17), a donated argument updated by `.at[]` was copied whole, and each of a chain of
`.at[]` sets on a computed value copied it. Now (backends/c.py, `_in_place_updates`,
`_updates_of_temporaries`, `_updates_an_argument`) an update writes its row or window into
the buffer it updates wherever nothing reads the old value afterwards. The groups:

- loops: `fori_loop`/`while_loop`/`scan` carries updated by `.at[]` or
  `dynamic_update_slice`, through a `cond`, a nested loop or a reshape (a column), and two
  forms that stay copies in both funcgrad and XLA (the old value read after the update);
  `where row` is a masked select, `where(arange(n) == i, r, a)`, that XLA turns into an
  update, as funcgrad does since session 2026-12-06 23:00 (lowering/mask_updates.py: 3.57
  ms against JAX's 0.100 before, 0.063 against 0.102 after; one thread, CPU 1, Zen 4).
- chains: a heat-equation step whose four boundary sets follow a stencil.
- donated: a replay buffer's row insert and a KV cache's write under
  `jit(..., donate_argnums=0)`, called with the previous call's result.
"""
import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

if __package__ in (None, ""):          # `python bench/bench_loop_updates.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import median_ms as _median_ms  # noqa: E402


def loops(np_, lax_):
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
        "pass-through": lambda x, r: lax_.fori_loop(
            0, 64, lambda i, c: (c[0] + c[1][i, 0], c[1]), (0.0, x))[0],
        "while through": lambda x, r: lax_.while_loop(
            lambda c: c[0] < 64, lambda c: (c[0] + 1, c[1] + c[2][c[0], 0], c[2]),
            (0, 0.0, x))[1],
        "cond update": lambda x, r: lax_.fori_loop(0, 64, lambda i, a: lax_.cond(
            i % 2 == 0, lambda a: a.at[i].set(r), lambda a: a, a), x),
        "nested fori": lambda x, r: lax_.fori_loop(0, 8, lambda i, a: lax_.fori_loop(
            0, 8, lambda j, b: b.at[i * 8 + j].set(r * j), a), x),
        "column": lambda x, r: lax_.fori_loop(0, 64, lambda i, a: a.at[:, i].set(r[:512]), x),
        "scan stack": lambda x, r: lax_.scan(lambda c, i: (c, r * i), 0.0,
                                             np_.arange(64.0))[1],
        "read after*": lambda x, r: lax_.scan(lambda a, i: (a.at[i].set(r), a[i].sum()), x,
                                              np_.arange(64))[1],
        "where row": lambda x, r: lax_.fori_loop(0, 64, lambda i, a: np_.where(
            (np_.arange(a.shape[0]) == i)[:, None], r, a), x),
    }


def heat_step(np_):
    def step(u):
        un = u + 0.1 * (np_.roll(u, 1, 0) + np_.roll(u, -1, 0) + np_.roll(u, 1, 1)
                        + np_.roll(u, -1, 1) - 4 * u)
        un = un.at[0, :].set(0.0)
        un = un.at[-1, :].set(0.0)
        un = un.at[:, 0].set(0.0)
        return un.at[:, -1].set(0.0)
    return step


def _donated_ms(api, block, update, state, args):
    """Median ms of `state = update(state, *args(k))` calls (the previous result donated)."""
    f = api.jit(update, donate_argnums=0)
    box = [state]

    def call(k):
        box[0] = f(box[0], *args(k))
        return box[0]
    for k in range(3):
        block(call(k))
    times = []
    for k in range(50):
        t0 = time.perf_counter()
        block(call(k))
        times.append(time.perf_counter() - t0)
    return np.median(times) * 1e3


def main():
    fgb, jb = fg.block_until_ready, jax.block_until_ready
    x = np.random.default_rng(0).standard_normal((512, 1024)).astype(np.float32)
    row = np.ones((1024,), np.float32)
    print("loops, (512, 1024) float32 carry, 64 trips (* also a copy in XLA)")
    for (name, f), g in zip(loops(fnp, lax).items(), loops(jnp, jax.lax).values()):
        a = _median_ms(fg.jit(f), (fnp.asarray(x), fnp.asarray(row)), fgb)
        b = _median_ms(jax.jit(g), (jnp.asarray(x), jnp.asarray(row)), jb)
        print(f"  {name:13s} funcgrad {a:7.3f} ms  jax {b:7.3f} ms", flush=True)
    u = np.random.default_rng(1).random((1024, 1024)).astype(np.float32)
    a = _median_ms(fg.jit(heat_step(fnp)), (fnp.asarray(u),), fgb)
    b = _median_ms(jax.jit(heat_step(jnp)), (jnp.asarray(u),), jb)
    print(f"chains: heat step with 4 boundary sets, 1024 x 1024: funcgrad {a:.3f} ms  "
          f"jax {b:.3f} ms", flush=True)
    buf = np.random.default_rng(2).standard_normal((100000, 128)).astype(np.float32)
    cache = np.random.default_rng(3).standard_normal((8, 4096, 256)).astype(np.float32)
    key = np.ones((8, 1, 256), np.float32)
    print("donated (jit(..., donate_argnums=0), fed its own result)")
    for name, update, state, args in (
            ("row insert, (100000, 128)", lambda b, r, i: b.at[i].set(r), buf,
             lambda k: (row[:128], k % 100000)),
            ("KV write, (8, 4096, 256)",
             lambda c, k, p: lax.dynamic_update_slice(c, k, (0, p, 0)), cache,
             lambda k: (key, k % 4096))):
        a = _donated_ms(fg, fgb, update, fnp.asarray(state), args)
        jupdate = update if "insert" in name else \
            (lambda c, k, p: jax.lax.dynamic_update_slice(c, k, (0, p, 0)))
        b = _donated_ms(jax, jb, jupdate, jnp.asarray(state), args)
        print(f"  {name:26s} funcgrad {a:7.3f} ms  jax {b:7.3f} ms", flush=True)


if __name__ == "__main__":
    main()
