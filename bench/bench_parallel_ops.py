"""The ops that session 2026-12-06 14:15 took off one thread or vectorised, timed in one
process at a given thread count (`cpu_threads`): medians over 0.5 s per op, in ms.

    python bench/bench_parallel_ops.py THREADS

For a before/after, run it with `PYTHONPATH` at each source tree, one process per (tree,
threads), alternating (bench/RESULTS.md, that session's analysis, has the figures). The
last case times an average pool jitted after a max pool written as another lambda of the
same structure: the two once shared a size-generic family.
"""
import sys
import time

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax


def _arr(rng, *shape):
    return fnp.asarray(rng.standard_normal(shape).astype(np.float32))


def _max_pool_3x3(x):
    return lax.reduce_window(x, -np.inf, lax.max, (1, 3, 3, 1), (1, 1, 1, 1), "SAME")


def _sum_pool_3x3(x):
    return lax.reduce_window(x, 0.0, lax.add, (1, 3, 3, 1), (1, 1, 1, 1), "SAME")


def cases(rng):
    x = _arr(rng, 2048, 1024)
    mats3 = fnp.asarray((rng.standard_normal((100000, 3, 3)) + 4 * np.eye(3)).astype(np.float32))
    mats8 = _arr(rng, 2000, 8, 8)
    img = _arr(rng, 32, 64, 64, 32)
    return {
        "top_k 1024x1024 k=10": (lambda x: lax.top_k(x, 10), _arr(rng, 1024, 1024)),
        "inv 100000x3x3": (fnp.linalg.inv, mats3),
        "sort rows 2048x1024": (lambda x: fnp.sort(x, axis=-1), x),
        "qr 2000x8x8": (lambda x: fnp.linalg.qr(x)[1], mats8),
        "eigh 2000x8x8": (lambda x: fnp.linalg.eigh(x + fnp.swapaxes(x, -1, -2))[0], mats8),
        "fft rows 2048x1024": (lambda x: fnp.fft.fft(x, axis=-1), x),
        "maxpool 3x3 s1 SAME": (_max_pool_3x3, img),
        "maxpool 3x3 s1 SAME grad": (fg.grad(lambda x: fnp.sum(_max_pool_3x3(x) ** 2)), img),
        "sumpool 3x3 s1 SAME grad": (fg.grad(lambda x: fnp.sum(_sum_pool_3x3(x) ** 2)), img),
        "avg pool jitted after a max pool": (
            lambda x: lax.reduce_window(x, 0.0, lax.add, (1, 3, 3, 1), (1, 1, 1, 1), "SAME"),
            img),
    }


def main():
    fg.config.update("cpu_threads", int(sys.argv[1]) if len(sys.argv) > 1 else 1)
    todo = cases(np.random.default_rng(0))
    img = todo["maxpool 3x3 s1 SAME"][1]
    # another lambda of the same structure as the last case, jitted first
    fg.jit(lambda x: lax.reduce_window(x, -np.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1),
                                       "VALID"))(img)
    for name, (f, x) in todo.items():
        run = fg.jit(f)
        for _ in range(3):
            fg.block_until_ready(run(x))
        times = []
        end = time.perf_counter() + 0.5
        while time.perf_counter() < end or len(times) < 5:
            t0 = time.perf_counter()
            fg.block_until_ready(run(x))
            times.append(time.perf_counter() - t0)
        print(f"{name}\t{np.median(times) * 1e3:.3f}", flush=True)


if __name__ == "__main__":
    main()
