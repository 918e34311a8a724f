"""The GEMMs of the MLP and GRU training steps, funcgrad against JAX, one shape at a time.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench_gemm_shapes.py
        [--blocks N]

One thread (OMP/OpenBLAS/MKL = 1, XLA's single-threaded Eigen, the process pinned to one
CPU). Each row is a jitted `lax.dot_general` of one shape and layout, funcgrad's C backend
(scipy-openblas32's sgemm, or funcgrad's own kernel where `gemm.direct_gemm_fits` picks it)
against `jax.jit`, timed in interleaved blocks (a block of calls of one, then of the
other), so that this machine's drift hits both alike; medians of the per-call time and the
ratio of the per-block times. The shapes are the MLP step's (784-512-512-10, batch 128)
forward, weight-gradient and input-gradient GEMMs and the GRU step's (hidden 128, batch 64,
28 steps) per-step forward and backward GEMMs, its stacked weight gradients and its input
projection. It answers where the MLP and GRU steps' time against JAX goes when both spend
most of it in GEMMs.
"""
from __future__ import annotations

import argparse
import os
import sys

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_cpu_multi_thread_eigen=false"
                           " intra_op_parallelism_threads=1").strip()

import time  # noqa: E402

import numpy as np  # noqa: E402

NN, TN, NT = (((1,), (0,)), ((), ())), (((0,), (0,)), ((), ())), (((1,), (1,)), ((), ()))
# (name, lhs shape, rhs shape, dimension numbers)
SHAPES = [
    ("MLP forward x @ W1 (128x784 @ 784x512)", (128, 784), (784, 512), NN),
    ("MLP dW1 = x^T @ d (128x784, 128x512)", (128, 784), (128, 512), TN),
    ("MLP dh = d @ W2^T (128x512, 512x512)", (128, 512), (512, 512), NT),
    ("GRU step h @ Wh (64x128 @ 128x384)", (64, 128), (128, 384), NN),
    ("GRU step dh = g @ Wh^T (64x384, 128x384)", (64, 384), (128, 384), NT),
    ("GRU dWh = H^T @ G over 28 steps (1792x128, 1792x384)", (1792, 128), (1792, 384), TN),
    ("GRU input projection x @ Wx (1792x28 @ 28x384)", (1792, 28), (28, 384), NN),
    ("GRU dWx = X^T @ G, X^T copied (28x1792 @ 1792x384)", (28, 1792), (1792, 384), NN),
]


def _flops(ls, rs, dn):
    (lc, _), _ = dn
    k = ls[lc[0]]
    return 2.0 * np.prod(ls) * np.prod(rs) / k


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blocks", type=int, default=15, help="interleaved blocks per row")
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    try:
        import jax
    except ImportError:
        sys.exit("needs JAX: pip install jax jaxlib (a benchmark extra)")
    import funcgrad as fg
    from funcgrad import lax
    try:
        from threadpoolctl import threadpool_info
        kernels = sorted({i.get("architecture") or "?" for i in threadpool_info()
                          if i.get("internal_api") == "openblas"})
    except ImportError:
        kernels = ["(threadpoolctl not installed)"]
    print(f"one thread; OpenBLAS kernels: {', '.join(kernels)}; "
          f"load average {os.getloadavg()[0]:.2f}")
    print("| GEMM | funcgrad | JAX | funcgrad GFLOP/s | JAX GFLOP/s | fg/JAX |")
    print("|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for name, ls, rs, dn in SHAPES:
        a = rng.random(ls, dtype=np.float32)
        b = rng.random(rs, dtype=np.float32)
        ff = fg.jit(lambda a, b, dn=dn: lax.dot_general(a, b, dn))
        jf = jax.jit(lambda a, b, dn=dn: jax.lax.dot_general(a, b, dn))
        fa, fb = fg.device_put(a), fg.device_put(b)
        ja, jb = jax.device_put(a), jax.device_put(b)
        np.testing.assert_allclose(np.asarray(ff(fa, fb)), np.asarray(jf(ja, jb)),
                                   rtol=1e-4, atol=1e-3)
        flops = _flops(ls, rs, dn)
        n = max(1, int(3e8 / flops))
        tf, tj = [], []
        for _ in range(args.blocks):
            t0 = time.perf_counter()
            for _ in range(n):
                ff(fa, fb).block_until_ready()
            t1 = time.perf_counter()
            for _ in range(n):
                jf(ja, jb).block_until_ready()
            t2 = time.perf_counter()
            tf.append((t1 - t0) / n)
            tj.append((t2 - t1) / n)
        mf, mj = float(np.median(tf)), float(np.median(tj))
        ratio = float(np.median(np.array(tf) / np.array(tj)))
        print(f"| {name} | {mf * 1e6:.0f} us | {mj * 1e6:.0f} us | {flops / mf / 1e9:.0f} | "
              f"{flops / mj / 1e9:.0f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
