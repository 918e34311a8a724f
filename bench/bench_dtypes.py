"""Complex and bfloat16 on the C backend against NumPy (and JAX where it is installed).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench_dtypes.py [--reps N]
        [--threads N]

Rows (issue 13):
- complex64 matmul 1024^3: funcgrad's jit (OpenBLAS cgemm through the generated C) against
  NumPy's `a @ b` (the same OpenBLAS family); GFLOP/s counts 8 real flops per complex
  multiply-add. Target: >= 90% of NumPy's GFLOP/s.
- a complex64 elementwise chain (1e6 elements), compiled into one fused loop, against NumPy
  (one ufunc call per operation) and jax.jit.
- the float32 benchmark chain tanh(x) * z + exp(-x * x) * 0.5 (1e6 elements) in bfloat16
  and float16 against NumPy (ml_dtypes' ufuncs for bfloat16): both compute each operation
  in float and round it, and give the same bits.
- bfloat16 matmul 1024^3 (bfloat16 operands, float32 accumulation, bfloat16 result)
  against funcgrad's own float32 matmul. Target: >= 1.5x the float32 GFLOP/s, which needs
  bfloat16 dot-product instructions (avx512_bf16); the line `cpu bf16 dot instructions`
  says whether this CPU has them.

Each row is timed in interleaved rounds (every variant once per round, so drifting load on
a shared machine hits all alike); medians and 95th percentiles of the per-call time. The
header prints the BLAS kernel OpenBLAS chose (threadpoolctl), the thread count and the load
average: the development machine is shared with other agents, so absolute times drift;
compare ratios within one run.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _early_threads(argv):
    """--threads must reach the environment before NumPy loads its OpenBLAS."""
    for i, a in enumerate(argv):
        value = a.split("=", 1)[1] if a.startswith("--threads=") else (
            argv[i + 1] if a == "--threads" and i + 1 < len(argv) else None)
        if value:
            os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = value


if __name__ == "__main__":
    _early_threads(sys.argv[1:])

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import blas_report  # noqa: E402


def _p95(xs):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]


def _time_rounds(variants: dict, reps: int) -> dict:
    """{name: [seconds per call]}; `variants` maps names to zero-argument callables that
    return a result to block on. One warm-up call each, then `reps` interleaved rounds."""
    for fn in variants.values():
        fn()
    times = {k: [] for k in variants}
    for _ in range(reps):
        for k, fn in variants.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return times


def _row(label, times, flops=None, base=None):
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        line = f"  {label:<28} {k:<22} median {med[k] * 1e3:9.3f} ms   p95 {_p95(v) * 1e3:9.3f} ms"
        if flops:
            line += f"   {flops / med[k] / 1e9:8.1f} GFLOP/s"
        if base and k != base:
            line += f"   {med[base] / med[k]:5.2f}x {base}"
        print(line)
    return med


def _blocker(x):
    return np.asarray(x)


def _header(threads):
    import funcgrad as fg
    print(f"funcgrad bench_dtypes  python {sys.version.split()[0]}  numpy {np.__version__}")
    print(f"  threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(unset)')} "
          f"(requested {threads}); load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs (machine shared with other agents)")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(var):
            print(f"  WARNING: {var}={os.environ[var]} forces an OpenBLAS kernel; unset it")
    blas_report()
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line
                    break
    except OSError:
        pass
    print(f"  cpu bf16 dot instructions (avx512_bf16): {'yes' if 'avx512_bf16' in flags else 'no'}")
    print(f"  funcgrad backend: {fg.default_backend()}")


def bench_complex_matmul(reps):
    import funcgrad as fg
    n = 1024
    rng = np.random.default_rng(0)
    a = (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))).astype(np.complex64)
    b = (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))).astype(np.complex64)
    f = fg.jit(lambda x, y: x @ y)
    xa, xb = fg.device_put(a), fg.device_put(b)
    out = np.asarray(f(xa, xb))
    ref = a @ b
    err = np.abs(out - ref).max() / np.abs(ref).max()
    assert err < 1e-5, err
    times = _time_rounds({"funcgrad (C, cgemm)": lambda: f(xa, xb).block_until_ready(),
                          "numpy": lambda: a @ b}, reps)
    med = _row("complex64 matmul 1024^3", times, flops=8 * n ** 3, base="numpy")
    print(f"  -> funcgrad / NumPy GFLOP/s: {med['numpy'] / med['funcgrad (C, cgemm)']:.2f} "
          f"(target >= 0.90); max rel err vs NumPy {err:.1e}")


def _chain_np(z, w):
    return (z * w + 1.0) / (w - 0.5j) + np.exp(z) * np.conj(w)


def bench_complex_chain(reps):
    import funcgrad as fg
    import funcgrad.numpy as fnp
    n = 1_000_000
    rng = np.random.default_rng(1)
    z = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    w = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)

    def chain(z, w):
        return (z * w + 1.0) / (w - 0.5j) + fnp.exp(z) * fnp.conj(w)
    f = fg.jit(chain)
    fz, fw = fg.device_put(z), fg.device_put(w)
    ref = _chain_np(z.astype(np.complex128), w.astype(np.complex128))
    out = np.asarray(f(fz, fw))
    err = np.abs(out - ref).max() / np.abs(ref).max()
    assert err < 1e-5, err
    variants = {"funcgrad (C, fused)": lambda: f(fz, fw).block_until_ready(),
                "numpy": lambda: _chain_np(z, w)}
    try:
        import jax
        import jax.numpy as jnp

        def jchain(z, w):
            return (z * w + 1.0) / (w - 0.5j) + jnp.exp(z) * jnp.conj(w)
        jf = jax.jit(jchain)
        jz, jw = jax.device_put(z), jax.device_put(w)
        jerr = np.abs(np.asarray(jf(jz, jw)) - ref).max() / np.abs(ref).max()
        assert jerr < 1e-5, jerr
        variants["jax.jit"] = lambda: jf(jz, jw).block_until_ready()
    except ImportError:
        print("  (JAX not installed: no JAX column)")
    times = _time_rounds(variants, reps)
    _row("complex64 chain 1e6", times, base="numpy")
    print(f"  -> chain: (z*w + 1) / (w - 0.5j) + exp(z) * conj(w); max rel err vs complex128 "
          f"{err:.1e}")


def bench_16bit_chain(reps):
    import ml_dtypes

    import funcgrad as fg
    import funcgrad.numpy as fnp
    n = 1_000_000
    rng = np.random.default_rng(3)
    f = fg.jit(lambda x, z: fnp.tanh(x) * z + fnp.exp(-x * x) * 0.5)
    for dt in (np.dtype(ml_dtypes.bfloat16), np.dtype(np.float16)):
        x = rng.standard_normal(n).astype(dt)
        z = rng.standard_normal(n).astype(dt)
        half = dt.type(0.5)

        def np_chain(x=x, z=z, half=half):
            return np.tanh(x) * z + np.exp(-x * x) * half
        fx, fz = fg.device_put(x), fg.device_put(z)
        same = np.array_equal(np.asarray(f(fx, fz)).view(np.uint16),
                              np_chain().view(np.uint16))
        times = _time_rounds({"funcgrad (C, fused)":
                              lambda fx=fx, fz=fz: f(fx, fz).block_until_ready(),
                              "numpy": np_chain}, reps)
        _row(f"{dt.name} chain 1e6", times, base="numpy")
        print(f"  -> same bits as NumPy: {same}")


def bench_bf16_matmul(reps):
    import ml_dtypes

    import funcgrad as fg
    n = 1024
    rng = np.random.default_rng(2)
    a32 = rng.standard_normal((n, n)).astype(np.float32)
    b32 = rng.standard_normal((n, n)).astype(np.float32)
    bf = np.dtype(ml_dtypes.bfloat16)
    a16, b16 = a32.astype(bf), b32.astype(bf)
    f = fg.jit(lambda x, y: x @ y)
    x16, y16 = fg.device_put(a16), fg.device_put(b16)
    x32, y32 = fg.device_put(a32), fg.device_put(b32)
    out = np.asarray(f(x16, y16))
    assert out.dtype == bf, out.dtype
    ref = (a16.astype(np.float32) @ b16.astype(np.float32))
    err = np.abs(out.astype(np.float32) - ref).max() / np.abs(ref).max()
    assert err < 1e-2, err
    times = _time_rounds({"funcgrad bfloat16": lambda: f(x16, y16).block_until_ready(),
                          "funcgrad float32": lambda: f(x32, y32).block_until_ready()}, reps)
    med = _row("bfloat16 matmul 1024^3", times, flops=2 * n ** 3, base="funcgrad float32")
    print(f"  -> bfloat16 / float32 GFLOP/s: "
          f"{med['funcgrad float32'] / med['funcgrad bfloat16']:.2f} (target >= 1.5)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=15, help="timed rounds per row")
    ap.add_argument("--threads", type=int, default=None,
                    help="OMP_NUM_THREADS/OPENBLAS_NUM_THREADS (set before funcgrad loads)")
    args = ap.parse_args(argv)
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    _header(args.threads)
    bench_complex_matmul(args.reps)
    bench_complex_chain(args.reps)
    bench_16bit_chain(args.reps)
    bench_bf16_matmul(args.reps)
    print("after the runs:")
    blas_report()


if __name__ == "__main__":
    main()
