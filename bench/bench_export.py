"""Exported models vs funcgrad and PyTorch: latency of one inference (a script, not a test).

    python bench/bench_export.py [--reps N] [--quick] [--threads 1] [--output PATH]

For the MLP 784-512-512-10 and the CNN conv3x3x32-pool-conv3x3x64-pool-dense10 on 28x28x1
(the parameters of `bench.workloads`: the same models as the training-step benchmarks,
forward only, log-softmax outputs) at batch 1 and 64, the median wall time of one call of:

- `export C`: `funcgrad.export.to_c`, compiled with `cc -O3 -march=native -ffp-contract=fast
  -std=c99` into a shared library (single-threaded by construction; -ffp-contract=fast gives
  back the fused multiply-adds that `jit`'s gnu11 mode has and ISO C99 mode turns off) and
  called through ctypes (about 1 us of the time is the ctypes call);
- `jit C`: `funcgrad.jit` on the C backend, inputs already funcgrad arrays;
- `onnxruntime`: `funcgrad.export.to_onnx`'s model (dynamic batch: one model for both batch
  sizes), all graph optimisations;
- `torch eager`: the same forward pass written with torch.nn.functional, under no_grad.

Every framework runs with `--threads` threads (default 1: the exported C is
single-threaded; OMP_NUM_THREADS is set before funcgrad and torch are imported). Outputs are
cross-checked against `jit`. Also reported: the exported .c file's size and its compile
time at -O2 and at -O3 -march=native, with the weights embedded and in a blob file, and the
size of the ONNX model.
"""
from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _parse(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=200, help="timed calls per cell (median)")
    ap.add_argument("--quick", action="store_true",
                    help="20 timed calls per cell instead of --reps (a smoke run)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--output", help="also write the table (markdown) to this file")
    return ap.parse_args(argv)


ARGS = _parse(sys.argv[1:] if __name__ == "__main__" else [])
os.environ.setdefault("OMP_NUM_THREADS", str(ARGS.threads))
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(ARGS.threads))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from bench import workloads as W
from funcgrad import lax, nn
from funcgrad.export import to_c, to_onnx


def mlp_forward(params):
    (w1, b1), (w2, b2), (w3, b3) = params

    def f(x):
        h = nn.relu(x @ w1 + b1)
        h = nn.relu(h @ w2 + b2)
        return nn.log_softmax(h @ w3 + b3)
    f.__name__ = "mlp"
    return f


def cnn_forward(params):
    (w1, b1), (w2, b2), (w3, b3) = params
    dn = ("NHWC", "HWIO", "NHWC")

    def conv(x, w, b):
        return lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=dn) + b

    def pool(x):
        return lax.reduce_window(x, -fnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def f(x):
        h = pool(nn.relu(conv(x, w1, b1)))
        h = pool(nn.relu(conv(h, w2, b2)))
        return nn.log_softmax(h.reshape((h.shape[0], -1)) @ w3 + b3)
    f.__name__ = "cnn"
    return f


def torch_forward(kind, params):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(ARGS.threads)
    if kind == "mlp":
        (w1, b1), (w2, b2), (w3, b3) = [tuple(torch.from_numpy(a) for a in p) for p in params]

        def f(x):
            with torch.no_grad():
                h = torch.relu(x @ w1 + b1)
                h = torch.relu(h @ w2 + b2)
                return torch.log_softmax(h @ w3 + b3, dim=-1)
        return f, lambda x: torch.from_numpy(x)
    (w1, b1), (w2, b2), (w3, b3) = params
    t1 = torch.from_numpy(w1.transpose(3, 2, 0, 1).copy())
    t2 = torch.from_numpy(w2.transpose(3, 2, 0, 1).copy())
    tb1, tb2 = torch.from_numpy(b1), torch.from_numpy(b2)
    t3, tb3 = torch.from_numpy(w3), torch.from_numpy(b3)

    def g(x):
        with torch.no_grad():
            h = F.max_pool2d(torch.relu(F.conv2d(x, t1, tb1, padding=1)), 2)
            h = F.max_pool2d(torch.relu(F.conv2d(h, t2, tb2, padding=1)), 2)
            h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)
            return torch.log_softmax(h @ t3 + tb3, dim=-1)
    return g, lambda x: torch.from_numpy(x.transpose(0, 3, 1, 2).copy())


def _median_time(fn, reps, warmup=3):
    for _ in range(warmup):
        out = fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


class _CModel:
    """An exported model compiled into a shared library, called through ctypes."""

    def __init__(self, f, x, workdir, name, flags):
        out = to_c(f, x, directory=workdir, name=name)
        self.source_bytes = os.path.getsize(out.source)
        lib = os.path.join(workdir, f"lib{name}.so")
        cc = shutil.which("cc")
        t0 = time.perf_counter()
        subprocess.run([cc, *flags, "-std=c99", "-shared", "-fPIC", out.source, "-o", lib,
                        "-lm"], check=True)
        self.compile_s = time.perf_counter() - t0
        self.lib = ctypes.CDLL(lib)
        assert getattr(self.lib, f"{name}_init")(None) == 0
        self.fn = getattr(self.lib, name)
        self.out_shape = tuple(int(d) for d in out.outputs[0].aval.shape)
        self.x = np.ascontiguousarray(x)
        self.y = np.empty(self.out_shape, np.float32)
        self.px = self.x.ctypes.data_as(ctypes.c_void_p)
        self.py = self.y.ctypes.data_as(ctypes.c_void_p)

    def __call__(self):
        if self.fn(self.px, self.py) != 0:
            raise RuntimeError("exported model failed")
        return self.y


def _compile_time(f, x, flags, workdir, name, weights="embed"):
    out = to_c(f, x, directory=workdir, name=name, weights=weights)
    cc = shutil.which("cc")
    t0 = time.perf_counter()
    subprocess.run([cc, *flags, "-std=c99", "-c", out.source, "-o",
                    os.path.join(workdir, name + ".o")], check=True)
    return time.perf_counter() - t0


def main():
    import onnxruntime as ort
    reps = 20 if ARGS.quick else ARGS.reps
    rows, sizes = [], []
    workdir = tempfile.mkdtemp(prefix="bench_export_")
    fast = ["-O3", "-march=native", "-ffp-contract=fast"]
    for kind, make, forward in (("mlp", W.mlp_data, mlp_forward), ("cnn", W.cnn_data,
                                                                      cnn_forward)):
        data = make(False)
        f = forward(data["params"])
        tf, to_torch = torch_forward(kind, data["params"])
        model = to_onnx(f, data["x"][:64])
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = ARGS.threads
        opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(model.SerializeToString(), opts,
                                    providers=["CPUExecutionProvider"])
        onnx_bytes = len(model.SerializeToString())
        for batch in (1, 64):
            x = np.ascontiguousarray(data["x"][:batch])
            cm = _CModel(f, x, workdir, f"{kind}{batch}", fast)
            jf = fg.jit(f)
            xa = fg.device_put(x)
            xt = to_torch(x)
            t_c, y_c = _median_time(cm, reps)
            t_jit, y_jit = _median_time(lambda jf=jf, xa=xa: fg.block_until_ready(jf(xa)), reps)
            t_ort, y_ort = _median_time(lambda s=sess, x=x: s.run(None, {"in0": x})[0], reps)
            t_torch, y_torch = _median_time(lambda tf=tf, xt=xt: tf(xt), reps)
            ref = np.asarray(y_jit)
            err = max(float(np.max(np.abs(np.asarray(y) - ref))) for y in
                      (y_c, y_ort, y_torch.numpy()))
            rows.append((f"{kind} b{batch}", t_c, t_jit, t_ort, t_torch, err))
            if batch == 64:
                o2 = _compile_time(f, x, ["-O2"], workdir, f"{kind}_o2")
                blob = _compile_time(f, x, ["-O2"], workdir, f"{kind}_blob", "blob")
                sizes.append((kind, cm.source_bytes, o2, cm.compile_s, blob, onnx_bytes))
    lines = [(f"Latency of one inference, median of {reps} calls, {ARGS.threads} thread(s); "
              "export C: cc -O3 -march=native -ffp-contract=fast, called via ctypes."), "",
             ("| model | export C (us) | jit C (us) | onnxruntime (us) | torch eager (us) "
              "| export C / jit | max abs diff vs jit |"),
             "|---|---|---|---|---|---|---|"]
    for name, tc, tj, to, tt, err in rows:
        lines.append(f"| {name} | {tc * 1e6:.1f} | {tj * 1e6:.1f} | {to * 1e6:.1f} | "
                     f"{tt * 1e6:.1f} | {tc / tj:.2f} | {err:.1e} |")
    lines += ["", ("| model (batch 64) | .c size (KB) | cc -O2 (s) | cc -O3 -march=native (s) "
                   "| cc -O2, weights in a blob (s) | .onnx size (KB) |"),
              "|---|---|---|---|---|---|"]
    for kind, nbytes, o2, o3, blob, onnx_bytes in sizes:
        lines.append(f"| {kind} | {nbytes / 1024:.0f} | {o2:.2f} | {o3:.2f} | {blob:.2f} | "
                     f"{onnx_bytes / 1024:.0f} |")
    text = "\n".join(lines)
    print(text)
    if ARGS.output:
        Path(ARGS.output).write_text(text + "\n")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
