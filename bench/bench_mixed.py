"""bfloat16 mixed-precision training steps against float32: funcgrad, JAX and PyTorch.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/bench_mixed.py [--threads 1]
        [--quick] [--rounds N] [--budget S]

The issue-13 benchmark row "the MLP and CNN training steps in bfloat16 mixed precision
against float32, JAX's bfloat16 and PyTorch's autocast". The models and data are those of
`bench/workloads.py`'s `mlp_step` (MLP 784-512-512-10, batch 128) and `cnn_step`
(conv32-pool-conv64-pool-dense10, batch 64, 2x2 max pooling by `lax.reduce_window`): one
value-and-gradient plus SGD update per call. Six variants of each step:

- funcgrad float32 and JAX float32: `jit` of the same source (the `_step` below);
- funcgrad bfloat16: `funcgrad.mixed_precision.get_policy("p=f32,c=bf16,o=f32")`, the
  params and inputs cast to bfloat16 inside the jitted step, the logits cast back to float32
  and the loss, gradients and update in float32;
- JAX bfloat16: the same recipe written by hand the way `jmp`'s documentation spells it
  (`jax.tree_util.tree_map` of `.astype(jnp.bfloat16)` over the floating-point leaves), since
  `jmp` is not installed;
- PyTorch float32 (eager autograd, `F.linear` / `F.conv2d`), and PyTorch bfloat16 with the
  forward pass and the loss under `torch.autocast(device_type="cpu", dtype=torch.bfloat16)`
  and the backward pass outside it, as PyTorch's AMP examples write it.

Before timing, every variant takes a few SGD steps from the same float32 parameters, and its
loss at the last step is compared with funcgrad float32's (relative error printed; bf16
variants must agree within bfloat16 tolerance, float32 ones within float32 rounding).

Each workload is timed in interleaved rounds (every variant once per round, the order
rotated, so drifting load on the shared machine hits all alike) until `--rounds` rounds or
the `--budget` seconds are spent; reported: median (p50) and p95 per step and the ratios of
medians. One thread by default (OMP/OpenBLAS/MKL threads, XLA's intra-op pool and torch's
pool set before any framework loads; with one thread the process is pinned to the least
busy CPU, `--no-pin` to skip). `--profile` adds the C backend's per-step profile of funcgrad's
bfloat16 step (FUNCGRAD_PROFILE=1, which also slows the timed steps a little). JAX and PyTorch
are imported lazily; a missing one drops its columns. The header prints the load average, the
BLAS kernel and whether the CPU and PyTorch have native bfloat16 arithmetic: compare ratios
within one run, not absolute times across runs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _early_threads(argv):
    """The thread setting must reach the environment before NumPy loads OpenBLAS and before
    XLA builds its thread pool."""
    n = "1"
    for i, a in enumerate(argv):
        if a.startswith("--threads="):
            n = a.split("=", 1)[1]
        elif a == "--threads" and i + 1 < len(argv):
            n = argv[i + 1]
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = n
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if n == "1":
        xla = os.environ.get("XLA_FLAGS", "")
        if "intra_op_parallelism_threads" not in xla:
            os.environ["XLA_FLAGS"] = (xla + " --xla_cpu_multi_thread_eigen=false "
                                       "intra_op_parallelism_threads=1").strip()


if __name__ == "__main__":
    _early_threads(sys.argv[1:])

import numpy as np  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:                  # `bench` is a top-level folder, not installed
    sys.path.insert(0, ROOT)

PINNED = None
if __name__ == "__main__" and os.environ["OMP_NUM_THREADS"] == "1" \
        and "--no-pin" not in sys.argv and hasattr(os, "sched_setaffinity"):
    # one thread: pin to the least busy CPU before JAX loads (XLA sizes its pools from the
    # affinity mask; its thread flags alone leave ~1.5 cores busy), as bench/run.py does
    from bench.run import background_cores
    PINNED = background_cores(0.5)[1]
    if PINNED is not None:
        os.sched_setaffinity(0, {PINNED})

from bench.common import LR, blas_report  # noqa: E402
from bench.workloads import cnn_data, mlp_data  # noqa: E402

CHECK_STEPS = 3          # SGD steps taken before the losses are compared
TOL_F32 = 1e-4           # loss rel err of a float32 variant vs funcgrad float32
TOL_BF16 = 2e-2          # ... of a bfloat16 variant (8-bit significand: 2**-8 = 0.4% per op)


# ----------------------------------------------------------------------------- models
# funcgrad and JAX run one source: each function takes the framework's numpy / lax / nn.

def _mlp_logits(np_, lax_, nn_):
    def logits(params, x):
        (w1, b1), (w2, b2), (w3, b3) = params
        h = nn_.relu(x @ w1 + b1)
        h = nn_.relu(h @ w2 + b2)
        return h @ w3 + b3
    return logits


def _cnn_logits(np_, lax_, nn_):
    dn = ("NHWC", "HWIO", "NHWC")

    def conv(x, w, b):
        return lax_.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=dn) + b

    def pool(x):
        # -inf in the operand's dtype: a float32 init value would not match bfloat16 x
        init = np.array(-np.inf, x.dtype)
        return lax_.reduce_window(x, init, lax_.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def logits(params, x):
        (w1, b1), (w2, b2), (w3, b3) = params
        h = pool(nn_.relu(conv(x, w1, b1)))
        h = pool(nn_.relu(conv(h, w2, b2)))
        h = h.reshape((h.shape[0], -1))
        return h @ w3 + b3
    return logits


def _step(np_, nn_, value_and_grad, logits, to_compute, to_output):
    """One SGD step returning (new params, loss). `to_compute` casts the params and the
    input to the compute dtype, `to_output` casts the logits back (identity for float32):
    the loss, the gradients of the float32 params and the update stay float32."""
    def loss(params, x, y):
        z = to_output(logits(to_compute(params), to_compute(x)))
        return -np_.mean(np_.sum(y * nn_.log_softmax(z), axis=-1))

    def step(params, x, y):
        value, g = value_and_grad(loss)(params, x, y)
        new = [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, g)]
        return new, value
    return step


# ----------------------------------------------------------------------------- variants
# Each builder returns (run, steps): run() executes one timed step (from the initial params,
# as bench/workloads' mlp_step does) and returns a materialised result; steps(k) takes k
# steps, feeding the params back, and returns the last step's loss as a Python float.

def _iterate(step, params, x, y, k, to_float):
    loss = None
    for _ in range(k):
        params, loss = step(params, x, y)
    return to_float(loss)


def funcgrad_variants(model, d):
    import funcgrad as fg
    import funcgrad.numpy as fnp
    from funcgrad import lax, nn
    from funcgrad import mixed_precision as mp

    logits = model(fnp, lax, nn)
    policy = mp.get_policy("p=f32,c=bf16,o=f32")
    params, x, y = fg.device_put((d["params"], d["x"], d["y"]))
    out = {}
    for name, cc, co in (("funcgrad f32", None, None),
                         ("funcgrad bf16", policy.cast_to_compute, policy.cast_to_output)):
        ident = (lambda t: t)
        step = fg.jit(_step(fnp, nn, fg.value_and_grad, logits, cc or ident, co or ident))

        def run(step=step):
            return fg.block_until_ready(step(params, x, y))
        out[name] = (run, lambda k, step=step: _iterate(step, params, x, y, k, float),
                     step)
    return out


def jax_variants(model, d):
    try:
        import jax
        import jax.numpy as jnp
        from jax import lax, nn
    except ImportError:
        return {}

    def cast(dtype):
        # jmp's Policy.cast_to_compute / cast_to_output, written out: floating-point leaves
        # only (labels, keys and integer inputs pass through)
        def f(tree):
            return jax.tree_util.tree_map(
                lambda a: a.astype(dtype) if jnp.issubdtype(a.dtype, jnp.floating) else a,
                tree)
        return f

    logits = model(jnp, lax, nn)
    params, x, y = jax.device_put((d["params"], d["x"], d["y"]))
    out = {}
    for name, cc, co in (("jax f32", None, None),
                         ("jax bf16", cast(jnp.bfloat16), cast(jnp.float32))):
        ident = (lambda t: t)
        step = jax.jit(_step(jnp, nn, jax.value_and_grad, logits, cc or ident, co or ident))

        def run(step=step):
            return jax.block_until_ready(step(params, x, y))
        out[name] = (run, lambda k, step=step: _iterate(step, params, x, y, k, float), None)
    return out


def _torch():
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    return torch


def _torch_forward_mlp(torch, F, ts, x):
    # weights stored (out, in) as nn.Linear keeps them: F.linear is addmm, which autocast
    # runs in bfloat16 bias included
    h = torch.relu(F.linear(x, ts[0], ts[1]))
    h = torch.relu(F.linear(h, ts[2], ts[3]))
    return F.linear(h, ts[4], ts[5])


def _torch_forward_cnn(torch, F, ts, x):
    h = F.max_pool2d(torch.relu(F.conv2d(x, ts[0], ts[1], padding=1)), 2)
    h = F.max_pool2d(torch.relu(F.conv2d(h, ts[2], ts[3], padding=1)), 2)
    h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)     # flatten in NHWC order, as JAX
    return F.linear(h, ts[4], ts[5])


def torch_variants(kind, d):
    torch = _torch()
    if torch is None:
        return {}
    import contextlib

    import torch.nn.functional as F
    (w1, b1), (w2, b2), (w3, b3) = d["params"]
    if kind == "mlp":
        arrays = [w1.T, b1, w2.T, b2, w3.T, b3]
        x_np = d["x"]
        forward = _torch_forward_mlp
    else:     # conv weights HWIO -> OIHW, input NHWC -> NCHW (outside the timing)
        arrays = [w1.transpose(3, 2, 0, 1), b1, w2.transpose(3, 2, 0, 1), b2, w3.T, b3]
        x_np = d["x"].transpose(0, 3, 1, 2)
        forward = _torch_forward_cnn
    init = [torch.tensor(np.ascontiguousarray(a)) for a in arrays]
    x = torch.from_numpy(np.ascontiguousarray(x_np))
    y = torch.from_numpy(d["y"])

    def make_step(autocast):
        def step(ts):
            ts = [t.detach().requires_grad_(True) for t in ts]
            ctx = (torch.autocast(device_type="cpu", dtype=torch.bfloat16) if autocast
                   else contextlib.nullcontext())
            with ctx:
                logits = forward(torch, F, ts, x)
                loss = -(y * torch.log_softmax(logits, dim=-1)).sum(-1).mean()
            gs = torch.autograd.grad(loss, ts)           # backward outside autocast
            with torch.no_grad():
                return [t - LR * g for t, g in zip(ts, gs)], loss.detach()
        return step

    def steps(step, k):
        ts, loss = init, None
        for _ in range(k):
            ts, loss = step(ts)
        return float(loss)

    out = {}
    for name, ac in (("torch f32", False), ("torch autocast bf16", True)):
        step = make_step(ac)
        out[name] = ((lambda step=step: step(init)),
                     (lambda k, step=step: steps(step, k)), None)
    return out


# ----------------------------------------------------------------------------- timing

def _p95(xs):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))]


def _time_rounds(runs, rounds, budget_s, min_rounds=3):
    """{name: [seconds per step]}: one warm-up call each, then interleaved rounds (the order
    rotated every round) until `rounds` rounds or, after `min_rounds`, `budget_s` seconds."""
    for run in runs.values():
        run()
    names = list(runs)
    times = {k: [] for k in names}
    t_start = time.perf_counter()
    for r in range(rounds):
        for k in names[r % len(names):] + names[:r % len(names)]:
            t0 = time.perf_counter()
            runs[k]()
            times[k].append(time.perf_counter() - t0)
        if r + 1 >= min_rounds and time.perf_counter() - t_start > budget_s:
            break
    return times


def _header(args):
    import funcgrad as fg
    load = os.getloadavg()
    print(f"funcgrad bench_mixed  python {sys.version.split()[0]}  numpy {np.__version__}  "
          f"funcgrad backend {fg.default_backend()}")
    versions = []
    for mod in ("jax", "torch"):
        try:
            versions.append(f"{mod} {__import__(mod).__version__}")
        except ImportError:
            versions.append(f"{mod} not installed (no column)")
    print("  " + ", ".join(versions))
    print(f"  threads {os.environ.get('OMP_NUM_THREADS')} (OMP/OpenBLAS/MKL; XLA_FLAGS="
          f"{os.environ.get('XLA_FLAGS', '')!r}); pinned to CPU {PINNED}")
    print(f"  load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} "
          f"CPUs (shared machine: absolute times drift, compare ratios within this run)")
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(var):
            print(f"  WARNING: {var}={os.environ[var]} forces an OpenBLAS kernel; unset it")
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((ln for ln in f if ln.startswith("flags")), "")
    except OSError:
        pass
    print(f"  cpu bf16 dot instructions (avx512_bf16): "
          f"{'yes' if 'avx512_bf16' in flags else 'no'}")
    torch = _torch()
    if torch is not None:
        # without native bf16 support oneDNN is not used for bf16 and autocast's matmuls
        # and convolutions take slow fallback kernels
        try:
            native = torch.ops.mkldnn._is_mkldnn_bf16_supported()
        except (AttributeError, RuntimeError):
            native = "unknown"
        print(f"  torch oneDNN bf16 support (torch.ops.mkldnn._is_mkldnn_bf16_supported): "
              f"{native}")
    blas_report()


WORKLOADS = {
    "mlp": ("MLP 784-512-512-10 SGD step, batch 128", _mlp_logits, mlp_data),
    "cnn": ("CNN conv32-pool-conv64-pool-dense10 SGD step, batch 64", _cnn_logits, cnn_data),
}


def bench(kind, args):
    title, model, make_data = WORKLOADS[kind]
    d = make_data(args.quick)
    print(f"\n## {title}")
    variants = {}
    variants.update(funcgrad_variants(model, d))
    variants.update(jax_variants(model, d))
    variants.update(torch_variants(kind, d))

    # correctness: the loss after CHECK_STEPS steps, against funcgrad float32's
    t0 = time.perf_counter()
    losses = {k: v[1](CHECK_STEPS) for k, v in variants.items()}
    ref = losses["funcgrad f32"]
    errs = {k: abs(v - ref) / abs(ref) for k, v in losses.items()}
    bad = [k for k in variants if errs[k] > (TOL_BF16 if "bf16" in k else TOL_F32)]
    print(f"loss after {CHECK_STEPS} SGD steps (vs funcgrad f32 {ref:.6f}; compiles "
          f"included {time.perf_counter() - t0:.1f} s): "
          + ", ".join(f"{k} {errs[k]:.1e}" for k in variants))
    if bad:
        raise SystemExit(f"bench_mixed {kind}: loss of {bad} differs from funcgrad float32 "
                         f"beyond tolerance ({ {k: losses[k] for k in bad} } vs {ref})")

    runs = {k: v[0] for k, v in variants.items()}
    rounds = args.rounds or (5 if args.quick else 40)
    budget = args.budget if args.budget is not None else (5.0 if args.quick else 35.0)
    times = _time_rounds(runs, rounds, budget)
    med = {k: statistics.median(v) for k, v in times.items()}
    n = len(next(iter(times.values())))
    print(f"\n{n} interleaved rounds; load average now {os.getloadavg()[0]:.2f}\n")
    print("| variant | p50 ms | p95 ms | loss rel err vs funcgrad f32 |")
    print("|---|---:|---:|---:|")
    for k in variants:
        print(f"| {k} | {med[k] * 1e3:.2f} | {_p95(times[k]) * 1e3:.2f} | {errs[k]:.1e} |")
    ratios = [("funcgrad bf16 / f32", "funcgrad bf16", "funcgrad f32"),
              ("JAX bf16 / f32", "jax bf16", "jax f32"),
              ("torch autocast / f32", "torch autocast bf16", "torch f32"),
              ("funcgrad bf16 / JAX bf16", "funcgrad bf16", "jax bf16"),
              ("funcgrad bf16 / torch autocast", "funcgrad bf16", "torch autocast bf16"),
              ("funcgrad f32 / JAX f32", "funcgrad f32", "jax f32"),
              ("funcgrad f32 / torch f32", "funcgrad f32", "torch f32")]
    print("\n| ratio of p50 (< 1: the first is faster) | value |")
    print("|---|---:|")
    for label, a, b in ratios:
        if a in med and b in med:
            print(f"| {label} | {med[a] / med[b]:.2f} |")
    return variants


def _profile(kind, variants):
    """Where funcgrad's bfloat16 step spends its time: the C backend's per-step profile
    (FUNCGRAD_PROFILE=1 must be set before funcgrad is imported)."""
    from funcgrad.backends import c as cb
    cb.profile_times.clear()
    run = variants["funcgrad bf16"][0]
    for _ in range(5):
        run()
    print(f"\nFUNCGRAD_PROFILE, {kind} bf16 step, 5 calls:")
    print(cb.profile_report())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1,
                    help="threads for every framework (read before they load; default 1)")
    ap.add_argument("--quick", action="store_true", help="a few rounds per workload")
    ap.add_argument("--rounds", type=int, default=None,
                    help="most timed rounds per workload (default 40; --quick 5)")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds of timed rounds per workload (default 35; --quick 5)")
    ap.add_argument("--no-pin", action="store_true",
                    help="with one thread, do not pin the process to the least busy CPU")
    ap.add_argument("--workloads", default="mlp,cnn", help="comma list of mlp, cnn")
    ap.add_argument("--profile", action="store_true",
                    help="after timing, print the C backend's per-step profile of funcgrad's "
                         "bfloat16 step (sets FUNCGRAD_PROFILE=1)")
    args = ap.parse_args(argv)
    if args.profile:
        os.environ["FUNCGRAD_PROFILE"] = "1"
    kinds = [k.strip() for k in args.workloads.split(",") if k.strip()]
    for k in kinds:
        if k not in WORKLOADS:
            ap.error(f"unknown workload {k!r}; choose from {', '.join(WORKLOADS)}")
    t0 = time.perf_counter()
    _header(args)
    for kind in kinds:
        variants = bench(kind, args)
        if args.profile:
            _profile(kind, variants)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")
    blas_report()


if __name__ == "__main__":
    main()
