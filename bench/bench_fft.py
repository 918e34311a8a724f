"""FFT of complex64 vectors: funcgrad (our C kernel, called directly, eagerly through
`funcgrad.numpy.fft.fft` and jitted on the C backend) against NumPy's pocketfft and JAX
(XLA's DUCC FFT on CPU), for a power of two (2^20), a product of small primes
(3*5*7*11*13 = 15015: radix 3 and 5 plus our generic odd-prime butterflies) and a prime
(65537: Bluestein with a 2^18 convolution).

    python bench/bench_fft.py [--sizes 1048576,15015,65537] [--repeats 30] [--threads 1]

Each framework's call is timed in interleaved rounds (one call of each per round, the order
rotated), so background load hits all alike; reported: median and p95 per call, and the
ratio of medians to NumPy. Every result is first checked against NumPy's complex128
transform. JAX is imported only if installed (its column is skipped otherwise).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def _frameworks(x, threads):
    """name -> zero-argument callable returning a materialised result."""
    import numpy as np
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import funcgrad as fg
    import funcgrad.numpy as fnp
    from funcgrad.prims import fft_kernel

    xf = fg.device_put(x)
    jitted = fg.jit(fnp.fft.fft, backend="c")
    runs = {
        "numpy": lambda: np.fft.fft(x),
        "funcgrad kernel": lambda: fft_kernel.c2c(x),
        "funcgrad eager": lambda: fg.block_until_ready(fnp.fft.fft(xf)),
        "funcgrad jit": lambda: fg.block_until_ready(jitted(xf)),
    }
    try:
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                              f"intra_op_parallelism_threads={threads}")
        import jax
        import jax.numpy as jnp
    except ImportError:
        print("jax is not installed: no JAX column", file=sys.stderr)
    else:
        xj = jax.device_put(x)
        jfft = jax.jit(jnp.fft.fft)
        runs["jax jit"] = lambda: jfft(xj).block_until_ready()
    return runs


def _percentile(xs, q):
    import numpy as np
    return float(np.percentile(np.asarray(xs), q))


def bench(n, repeats, threads):
    import numpy as np
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    runs = _frameworks(x, threads)
    want = np.fft.fft(x.astype(np.complex128))
    scale = float(np.max(np.abs(want)))
    for name, run in runs.items():
        got = np.asarray(run())
        err = float(np.max(np.abs(got - want))) / scale
        assert got.dtype == np.complex64 and err < 1e-5, (name, got.dtype, err)
        run()
    names = list(runs)
    times = {k: [] for k in names}
    for r in range(repeats):
        for k in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            runs[k]()
            times[k].append(time.perf_counter() - t0)
    base = _percentile(times["numpy"], 50)
    rows = []
    for k in names:
        p50, p95 = _percentile(times[k], 50), _percentile(times[k], 95)
        rows.append((k, p50, p95, base / p50))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1048576,15015,65537")
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for NumPy/OpenBLAS/XLA (our kernel is single-threaded)")
    args = ap.parse_args(argv)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    for n in (int(s) for s in args.sizes.split(",")):
        print(f"\nFFT of {n} complex64 ({args.repeats} interleaved rounds)")
        print(f"{'':18s} {'median ms':>10s} {'p95 ms':>10s} {'numpy/this':>11s}")
        for k, p50, p95, ratio in bench(n, args.repeats, args.threads):
            print(f"{k:18s} {p50 * 1e3:10.3f} {p95 * 1e3:10.3f} {ratio:11.2f}x")


if __name__ == "__main__":
    main()
