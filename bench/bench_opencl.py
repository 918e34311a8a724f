"""OpenCL backend vs C backend on the bench workloads (a script, not a test).

    python bench/bench_opencl.py [--reps N] [--quick] [--calls N]

Runs the MLP 784-512-512-10 SGD step (batch 128), the CNN step
(conv3x3x32-pool-conv3x3x64-pool-dense10, batch 64, 28x28x1) and a 1024^3 matmul with
`jit(..., backend=...)` on inputs already placed on each backend, and prints the median
wall time per call (after warm-up: build and first launch excluded) and the OpenCL / C
ratio. The models and data are those of `bench.workloads`, so the numbers line up with
bench/RESULTS.md. On PoCL the "device" is the same CPU, so the ratio measures the
generated OpenCL code plus launch overhead, not a GPU. Like `python -m bench`, it runs with
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (they force a slower OpenBLAS kernel for the C
side) and prints the BLAS kernel that ran.

Then the per-call cost (issue 15's < 20 us target): a jitted `x + 1` on 10 float32 values
resident on the OpenCL device, N calls (default 3000) without waiting and N with
`block_until_ready`, median and p95, beside a bare pyopencl enqueue of an equivalent kernel
(the floor PoCL sets) and funcgrad's own host time (the enqueue replaced by a no-op).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import funcgrad as fg
import funcgrad.numpy as fnp
from bench import workloads as W
from funcgrad import lax, nn


def _cases():
    mlp = W._mlp(fnp, nn, fg.grad)
    cnn = W._cnn(fnp, lax, nn, fg.grad)
    return [
        ("mlp_step 784-512-512-10 b128", mlp, W.mlp_data,
         lambda d: (d["params"], d["x"], d["y"])),
        ("cnn_step conv32-pool-conv64-pool-d10 b64", cnn, W.cnn_data,
         lambda d: (d["params"], d["x"], d["y"])),
        ("matmul 1024^3", lambda a, b: a @ b, W.mm_data, lambda d: (d["a"], d["b"])),
    ]


_FLOPS = {"matmul 1024^3": 2 * 1024 ** 3}


def _time(fn, args, reps, warmup=2):
    out = None
    for _ in range(warmup):
        out = fg.block_until_ready(fn(*args))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fg.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


_FORCING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def _without_openblas_forcing():
    """Re-run this script with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset: they force a
    slower OpenBLAS kernel on the C side (the same rule as `python -m bench`)."""
    if any(k in os.environ for k in _FORCING):
        env = {k: v for k, v in os.environ.items() if k not in _FORCING}
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def _blas_kernels() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    return ", ".join(f"{os.path.basename(i.get('filepath') or '?')}: "
                     f"{i.get('architecture')} x{i.get('num_threads')}"
                     for i in threadpool_info() if i.get("user_api") == "blas")


def _percentiles(ts):
    ts = np.asarray(ts) * 1e6
    return f"median {np.median(ts):5.1f} us, p95 {np.percentile(ts, 95):5.1f} us"


def _per_call(n):
    """The per-call rows: (label, times in seconds)."""
    import opencl.programs as programs
    import pyopencl as cl
    f = fg.jit(lambda x: x + 1, backend="opencl")
    x = fg.device_put(np.arange(10, dtype=np.float32), "opencl")

    def timed(call, block):
        for _ in range(300):
            call()
        fg.block_until_ready(call())
        ts = []
        for _ in range(n):
            t0 = time.perf_counter()
            y = call()
            if block:
                fg.block_until_ready(y)
            ts.append(time.perf_counter() - t0)
        fg.block_until_ready(call())
        return ts

    rows = [("funcgrad jit, no wait", timed(lambda: f(x), False)),
            ("funcgrad jit, block_until_ready", timed(lambda: f(x), True))]
    real = programs.Kernel.enqueue_checked_args
    programs.Kernel.enqueue_checked_args = lambda self, g, l, a: None
    try:
        rows.append(("funcgrad host side only (enqueue a no-op)", timed(lambda: f(x), False)))
    finally:
        programs.Kernel.enqueue_checked_args = real
    import opencl
    dev = opencl.default_device()
    prg = cl.Program(dev.context, "__kernel void k(__global const float *a, "
                     "__global float *b) { int i = get_global_id(0); "
                     "if (i < 10) b[i] = a[i] + 1.0f; }").build()
    a = cl.Buffer(dev.context, cl.mem_flags.READ_WRITE, 40)
    b = cl.Buffer(dev.context, cl.mem_flags.READ_WRITE, 40)
    k = prg.k

    def bare():
        k.set_args(a, b)
        return cl.enqueue_nd_range_kernel(dev.queue, k, (10,), None)
    for block in (False, True):
        ts = []
        for i in range(n + 300):
            t0 = time.perf_counter()
            ev = bare()
            if block:
                ev.wait()
            if i >= 300:
                ts.append(time.perf_counter() - t0)
        dev.queue.finish()
        rows.append((f"bare pyopencl set_args + enqueue{', wait' if block else ''}", ts))
    return rows


def main(argv=None):
    _without_openblas_forcing()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="3 repetitions")
    ap.add_argument("--calls", type=int, default=3000, help="calls per per-call row")
    args = ap.parse_args(argv)
    reps = 3 if args.quick else args.reps
    import opencl
    dev = opencl.default_device()
    print(f"OpenCL device: {dev.describe()}")
    print(f"median of {reps} calls after 2 warm-up calls; inputs resident on each backend\n")
    rows = []
    for title, f, make, pick in _cases():
        data = pick(make(False))
        res = {}
        for backend in ("opencl", "c"):
            placed = fg.device_put(data, backend)
            jf = fg.jit(f, backend=backend)
            t0 = time.perf_counter()
            fg.block_until_ready(jf(*placed))
            first = time.perf_counter() - t0
            med, out = _time(jf, placed, reps)
            res[backend] = (med, first, [np.asarray(x) for x in fg.tree.tree_leaves(out)])
        err = max(float(np.max(np.abs(a - b)) / max(1e-30, float(np.max(np.abs(b)))))
                  for a, b in zip(res["opencl"][2], res["c"][2]))
        rows.append((title, res["opencl"][0], res["c"][0], res["opencl"][1], err))
    w = max(len(r[0]) for r in rows)
    print(f"{'workload':<{w}}  {'opencl ms':>10}  {'c ms':>9}  {'ocl/c':>6}  "
          f"{'ocl 1st call s':>14}  {'max rel err':>11}")
    for title, t_ocl, t_c, first, err in rows:
        print(f"{title:<{w}}  {t_ocl * 1e3:>10.2f}  {t_c * 1e3:>9.2f}  {t_ocl / t_c:>6.2f}  "
              f"{first:>14.2f}  {err:>11.1e}")
    for title, t_ocl, t_c, _, _ in rows:
        if title in _FLOPS:
            g_ocl, g_c = _FLOPS[title] / t_ocl / 1e9, _FLOPS[title] / t_c / 1e9
            print(f"{title}: opencl {g_ocl:.0f} GFLOP/s, c {g_c:.0f} GFLOP/s "
                  f"({100 * g_ocl / g_c:.0f}% of c)")
    print(f"BLAS kernels (threadpoolctl): {_blas_kernels()}; OPENBLAS_CORETYPE/L2_SIZE unset")
    print(f"\nper call, jit(lambda x: x + 1) on 10 float32 values on the device, {args.calls} "
          f"calls (load average before: {os.getloadavg()[0]:.2f}):")
    for label, ts in _per_call(args.calls):
        print(f"  {label:<44} {_percentiles(ts)}")


if __name__ == "__main__":
    main()
