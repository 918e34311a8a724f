"""funcgrad's direct float32 GEMM kernel (`gemm.direct_gemm_fits`, `cdsl.helpers.sgemmdk_f32`)
against OpenBLAS on the same jitted `lax.dot_general`, in one process.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench_direct_gemm.py
        [--rounds N]

One thread, the process pinned to one CPU. Each row builds the same jitted dot twice, once
with the direct kernel and once with OpenBLAS (the module switch `gemm.DIRECT_GEMM`, and for
the shapes the rule leaves to OpenBLAS the kernel forced on), and times them in alternating
blocks of 5 calls, so that this machine's drift hits both alike: medians, and the ratio
direct / OpenBLAS. The first rows are shapes the rule picks (the GRU step's input
projection, its weight gradients, a small batch's forward GEMMs); the last ones shapes it
leaves to OpenBLAS, to show why.
"""
from __future__ import annotations

import argparse
import os
import sys

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "FUNCGRAD_NUM_THREADS"):
    os.environ[_v] = "1"

import time  # noqa: E402

import numpy as np  # noqa: E402

NN, TN = (((1,), (0,)), ((), ())), (((0,), (0,)), ((), ()))
# (name, lhs shape, rhs shape, dimension numbers)
SHAPES = [
    ("GRU dWh = H^T @ G (1792x128 transposed, 1792x384)", (1792, 128), (1792, 384), TN),
    ("GRU dWx = X^T @ G, X^T copied (28x1792 @ 1792x384)", (28, 1792), (1792, 384), NN),
    ("GRU input projection (1792x28 @ 28x384)", (1792, 28), (28, 384), NN),
    ("GRU step h @ Wh (64x128 @ 128x384)", (64, 128), (128, 384), NN),
    ("MLP forward (128x784 @ 784x512)", (128, 784), (784, 512), NN),
    ("small batch (8x256 @ 256x1024)", (8, 256), (256, 1024), NN),
    ("not picked: 1792x128 @ 128x384", (1792, 128), (128, 384), NN),
    ("not picked: 784x128 transposed @ 128x512", (128, 784), (128, 512), TN),
    ("not picked: 2000x48 transposed @ 48x1024", (48, 2000), (48, 1024), TN),
]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=30, help="alternating blocks per row")
    args = ap.parse_args(argv)
    try:
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    except (AttributeError, OSError):
        pass
    import funcgrad as fg
    from funcgrad import lax
    from funcgrad.backends import get_backend
    from funcgrad.lowering import gemm
    if gemm._simd_width(np.float32) != 16:
        sys.exit("the direct kernel runs only where the CPU has 512-bit vectors")
    be = get_backend("c")
    fits = gemm.direct_gemm_fits
    rng = np.random.default_rng(0)
    print(f"one thread; load average {os.getloadavg()[0]:.2f}")
    print("| GEMM | picked | OpenBLAS | direct | direct GFLOP/s | direct / OpenBLAS |")
    print("|---|---|---|---|---|---|")
    for name, ls, rs, dn in SHAPES:
        a = fg.device_put(rng.standard_normal(ls).astype(np.float32))
        b = fg.device_put(rng.standard_normal(rs).astype(np.float32))
        (lc, _), _ = dn
        flops = 2.0 * np.prod(ls) * np.prod(rs) / ls[lc[0]]
        picked = None
        runs = {}
        for direct in (False, True):
            gemm.DIRECT_GEMM = direct
            gemm.direct_gemm_fits = fits if not direct else (lambda *s: True)
            be._families.clear()
            be._executables.clear()
            f = fg.jit(lambda x, y, dn=dn: lax.dot_general(x, y, dn))
            src = f.lower(a, b).source
            assert ("sgemmdk_f32(" in src) == direct, name
            for _ in range(5):
                fg.block_until_ready(f(a, b))
            runs[direct] = f
        gemm.DIRECT_GEMM, gemm.direct_gemm_fits = True, fits
        M = ls[1] if dn is TN else ls[0]
        picked = fits(np.float32, gemm.TRANS if dn is TN else gemm.NO_TRANS, gemm.NO_TRANS,
                      M, rs[1], ls[lc[0]])
        ts = {False: [], True: []}
        for _ in range(args.rounds):
            for direct, f in runs.items():
                for _ in range(5):
                    t = time.perf_counter()
                    fg.block_until_ready(f(a, b))
                    ts[direct].append(time.perf_counter() - t)
        blas, mine = np.median(ts[False]), np.median(ts[True])
        print(f"| {name} | {'yes' if picked else 'no'} | {blas * 1e6:.0f} us | "
              f"{mine * 1e6:.0f} us | {flops / mine / 1e9:.0f} | {mine / blas:.2f} |")
    be._families.clear()
    be._executables.clear()


if __name__ == "__main__":
    main()
