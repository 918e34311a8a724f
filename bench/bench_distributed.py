"""Data-parallel scaling of funcgrad.distributed, and the bandwidth of its fused allreduce.

    python bench/bench_distributed.py [--quick] [--procs 1,2] [--output PATH]

Starts itself under `mpiexec -n P` for each process count P (one OpenMP thread per
process) and measures, with the global batch fixed:
- time per global batch of the MLP step (784-512-512-10, batch 128) and the CNN step (two
  3x3 convolutions + pooling, 28x28, batch 64) of bench/workloads.py, written as
  data-parallel `spmd` steps (local gradient, `pmean`, SGD): throughput at P processes
  relative to one (target >= 1.8x at 2 processes on the 2-core machine);
- funcgrad's fused gradient allreduce over the MLP's six gradient arrays (2.7 MB) against a
  raw mpi4py `Allreduce` of the same bytes in one buffer (target >= 90% of its
  bandwidth), interleaved rep by rep: `spmd(lambda g: psum(g, "batch"))` of arrays passed
  in (the copying path: they are copied into the fused buffer), and a psum of arrays the
  program computes (`psum(g * 0.5)`, the training step's case: the C backend places them
  side by side and reduces them in place), timed as that call minus the same `jit` without
  the psum; and the raw Allreduce's latency and bandwidth from 4 B to 16 MB (the inputs of
  the cost model in docs/distributed.md);
- the cost model's predicted efficiency at 8 to 256 processes (ring allreduce:
  2(p-1) latencies + 2(p-1)/p of the gradient bytes over the bandwidth) with the
  bandwidth and latency measured here and with a 10 Gb/s Ethernet network.
It also isolates the computation: the same step without the gradient `pmean` (a plain
`jit`), on each process's share of the batch with all processes running at once, and with
one process alone on half the batch; their ratio bounds the speedup any communication could
reach. Medians over repeated timed runs (p50 and p95 reported) and the load average before
each launch; every process times the same synchronised steps, process 0 reports.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

LR = 0.01


def _timeit(fn, reps, inner, barrier):
    """[seconds per call] over `reps` timed runs of `inner` calls, after a warm-up; runs
    start together on every process."""
    return _interleaved({"": fn}, reps, inner, barrier)[""]


def _interleaved(fns, reps, inner, barrier):
    """{name: [seconds per call]}: each rep times `inner` calls of every function in turn
    (so all of them see the same disturbances), after a warm-up; runs start together on
    every process."""
    for fn in fns.values():
        for _ in range(3):
            fn()
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            barrier()
            t = time.perf_counter()
            for _ in range(inner):
                fn()
            times[name].append((time.perf_counter() - t) / inner)
    return times


def _stats(times):
    return {"p50": float(np.median(times)), "p95": float(np.percentile(times, 95))}


def _losses():
    """The losses of bench/workloads.py's MLP and CNN steps (the same models and data)."""
    import funcgrad.numpy as fnp
    from funcgrad import lax, nn
    dn = ("NHWC", "HWIO", "NHWC")

    def mlp(params, x, y):
        (w1, b1), (w2, b2), (w3, b3) = params
        h = nn.relu(x @ w1 + b1)
        h = nn.relu(h @ w2 + b2)
        return -fnp.mean(fnp.sum(y * nn.log_softmax(h @ w3 + b3), axis=-1))

    def conv_pool(x, w, b):
        h = nn.relu(lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=dn) + b)
        return lax.reduce_window(h, -fnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def cnn(params, x, y):
        (w1, b1), (w2, b2), (w3, b3) = params
        h = conv_pool(conv_pool(x, w1, b1), w2, b2)
        logits = h.reshape((h.shape[0], -1)) @ w3 + b3
        return -fnp.mean(fnp.sum(y * nn.log_softmax(logits), axis=-1))

    return {"mlp": mlp, "cnn": cnn}


def _step_workload(name, quick):
    """(spmd step, params, local x, local y): the workload's SGD step as a data-parallel
    step, each process on its shard of the global batch."""
    import funcgrad as fg
    from bench import workloads
    from funcgrad import distributed as dist
    data = workloads.mlp_data(quick) if name == "mlp" else workloads.cnn_data(quick)
    local_loss = _losses()[name]

    @dist.spmd
    def step(params, x, y):
        grads = dist.pmean(fg.grad(local_loss)(params, x, y), "batch")
        return [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, grads)]

    @fg.jit
    def local_step(params, x, y):
        grads = fg.grad(local_loss)(params, x, y)
        return [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, grads)]

    params = fg.device_put(dist.broadcast(data["params"]))
    x, y = fg.device_put(dist.shard((data["x"], data["y"])))
    return step, local_step, params, x, y


def _timeline(world, step, args, steps):
    """Where a multi-process step's time goes, from timestamps of every process (the
    processes of one machine share CLOCK_MONOTONIC): the computation up to the gradient
    allreduce (the later process's), how much earlier the other process got there (time it
    waits), the allreduce after both got there, and the rest of the step after it. ms, p50
    and p95 over `steps` steps; process 0's dict, None elsewhere."""
    from mpi4py import MPI
    ns = time.perf_counter_ns
    events = []
    start, finish = world.allreduce_start, world.allreduce_finish
    in_place = getattr(world, "allreduce_in_place", None)

    def timed_start(arrays, op):
        events.append((0, ns()))
        return start(arrays, op)

    def timed_finish(token):
        res = finish(token)
        events.append((1, ns()))
        return res

    def timed_in_place(buf, op, operands=()):
        events.append((0, ns()))
        in_place(buf, op, operands)
        events.append((1, ns()))
    world.allreduce_start, world.allreduce_finish = timed_start, timed_finish
    if in_place is not None:
        world.allreduce_in_place = timed_in_place
    try:
        for _ in range(3):
            step()
        world.barrier()
        events.clear()
        bounds = []
        for _ in range(steps):
            t0 = ns()
            step()
            bounds.append((t0, ns()))
    finally:
        del world.allreduce_start, world.allreduce_finish
        if in_place is not None:
            del world.allreduce_in_place
    rows = []
    for t0, t1 in bounds:
        inside = [(k, t) for k, t in events if t0 <= t <= t1]
        rows.append((t0, min(t for k, t in inside if k == 0),
                     max(t for k, t in inside if k == 1), t1))
    everyone = MPI.COMM_WORLD.gather(np.array(rows, np.int64), root=0)
    if world.rank:
        return None
    r = np.stack(everyone) / 1e6                        # (process, step, 4) in ms
    arrive = r[:, :, 1]
    parts = {"compute to the allreduce (later process)": (arrive - r[:, :, 0]).max(0),
             "arrival gap between the processes": arrive.max(0) - arrive.min(0),
             "allreduce after both arrived": r[:, :, 2].min(0) - arrive.max(0),
             "after the allreduce to the step's end": (r[:, :, 3] - r[:, :, 2]).max(0),
             "whole step (process 0)": r[0, :, 3] - r[0, :, 0]}
    return {k: _stats(v / 1e3) for k, v in parts.items()}


def worker(args):
    """One process of a measurement (under mpiexec)."""
    import funcgrad as fg
    from funcgrad import distributed as dist
    world = dist.initialize()
    rank, size = world.rank, world.size
    barrier = dist.barrier
    reps, inner = (5, 10) if args.quick else (15, 20)
    out = {"procs": size, "steps": {}, "local": {}, "half_alone": {}, "allreduce": {}}
    for name in () if args.allreduce_only else ("mlp", "cnn"):
        step, local_step, params, x, y = _step_workload(name, args.quick)

        def run(step=step, params=params, x=x, y=y):
            fg.block_until_ready(step(params, x, y))
        out["steps"][name] = _stats(_timeit(run, reps, inner, barrier))
        def run_local(local_step=local_step, params=params, x=x, y=y):
            fg.block_until_ready(local_step(params, x, y))
        # The computation alone: the step without the pmean, every process at once.
        out["local"][name] = _stats(_timeit(run_local, reps, inner, barrier))
        if size > 1 and args.timeline:
            out.setdefault("timeline", {})[name] = _timeline(world, run, args,
                                                             reps * inner // 2)
        if size == 1:
            half = x.shape[0] // 2
            out["half_alone"][name] = _stats(_timeit(
                lambda run_local=run_local, x=x[:half], y=y[:half]: run_local(x=x, y=y),
                reps, inner, barrier))

    # The fused gradient allreduce against a raw Allreduce of the same bytes, interleaved.
    from bench import workloads
    grads = [(np.asarray(w), np.asarray(b)) for w, b in workloads.mlp_data(args.quick)["params"]]
    nbytes = sum(w.nbytes + b.nbytes for w, b in grads)
    fg_grads = fg.device_put(grads)
    fused = dist.spmd(lambda g: dist.psum(g, "batch"))
    computed = dist.spmd(lambda g: dist.psum(_halved(g), "batch"))
    alone = fg.jit(_halved)
    timed = {"funcgrad_fused": lambda: fg.block_until_ready(fused(fg_grads)),
             "funcgrad_computed": lambda: fg.block_until_ready(computed(fg_grads)),
             "computation_alone": lambda: fg.block_until_ready(alone(fg_grads))}
    if world.uses_mpi:
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
        send = np.ones(nbytes // 4, np.float32)
        recv = np.empty_like(send)
        # The same bytes out of place (the reference) and in place (MPI_IN_PLACE); and, as
        # the in-place psum's own reference, an in-place Allreduce of a buffer NumPy has
        # just computed (minus that computation): MPI moves freshly written memory slower.
        timed["mpi4py_same_bytes"] = lambda: comm.Allreduce(send, recv)
        timed["mpi4py_in_place"] = lambda: comm.Allreduce(MPI.IN_PLACE, recv)
        fresh = np.empty_like(send)
        timed["numpy_computed"] = lambda: np.multiply(send, 0.5, out=fresh)
        timed["mpi4py_computed"] = lambda: comm.Allreduce(
            MPI.IN_PLACE, np.multiply(send, 0.5, out=fresh))
    times = _interleaved(timed, reps * (1 if args.quick else 2), inner, barrier)
    # The in-place psum: a call minus the same computation without it, rep by rep.
    times["funcgrad_in_place"] = np.subtract(times["funcgrad_computed"],
                                             times["computation_alone"])
    if world.uses_mpi:
        times["mpi4py_computed"] = np.subtract(times["mpi4py_computed"],
                                               times["numpy_computed"])
    ar = out["allreduce"]
    for k in ("funcgrad_fused", "funcgrad_in_place"):
        ar[k] = {"bytes": nbytes, **_stats(times[k])}
        if world.uses_mpi:
            # Raw out-of-place time over ours in each rep (both saw the same disturbances).
            ar[k]["vs_raw"] = _stats(np.divide(times["mpi4py_same_bytes"], times[k]))
    ar["computation_alone"] = _stats(times["computation_alone"])
    if world.uses_mpi:
        for k in ("mpi4py_in_place", "mpi4py_same_bytes", "mpi4py_computed"):
            ar[k] = _stats(times[k])
        raw = {}
        for n in ([1, 1 << 10, 1 << 16, 1 << 20, nbytes // 4, 1 << 22] if not args.quick
                  else [1, 1 << 16, nbytes // 4]):
            send = np.ones(n, np.float32)
            recv = np.empty_like(send)
            raw[str(n * 4)] = _stats(_timeit(lambda s=send, r=recv: comm.Allreduce(s, r),
                                             reps, inner, comm.Barrier))
        ar["mpi4py_raw"] = raw
    if rank == 0:
        with open(args.json, "w") as f:
            json.dump(out, f)
    dist.shutdown()


def _halved(grads):
    """Gradients computed in the program (one elementwise pass) for the in-place psum."""
    import funcgrad as fg
    return fg.tree.map(lambda a: a * 0.5, grads)


def _mpiexec():
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if os.access(here, os.X_OK):
        return here
    import shutil
    exe = shutil.which("mpiexec") or shutil.which("mpirun")
    if exe is None:
        sys.exit("bench_distributed: no mpiexec; pip install -e '.[distributed]'")
    return exe


def _launch(procs, args):
    exe = _mpiexec()
    flags = []
    version = subprocess.run([exe, "--version"], capture_output=True, text=True,
                             check=False).stdout.lower()
    if "open mpi" in version:
        flags = ["--oversubscribe", "--allow-run-as-root", "--bind-to", "none"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=ROOT + os.pathsep +
               os.environ.get("PYTHONPATH", ""))
    env.setdefault("FUNCGRAD_BACKEND", "c")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "out.json")
        cmd = [exe, *flags, "-n", str(procs), sys.executable, os.path.abspath(__file__),
               "--worker", "--json", path] + (["--quick"] if args.quick else []) + \
            (["--timeline"] if args.timeline else []) + \
            (["--allreduce-only"] if args.allreduce_only else [])
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False,
                              timeout=1800)
        if proc.returncode != 0:
            sys.exit(f"bench_distributed: {' '.join(cmd)} failed:\n{proc.stdout}\n"
                     f"{proc.stderr[-4000:]}")
        with open(path) as f:
            return dict(json.load(f), load=load)


def ring_seconds(p, nbytes, latency, bandwidth):
    """Ring allreduce of `nbytes` over p processes: 2(p-1) steps of one latency plus
    nbytes/p over the link bandwidth (reduce-scatter, then all-gather)."""
    return 2 * (p - 1) * latency + 2 * (p - 1) / p * nbytes / bandwidth


def efficiency_table(compute, nbytes, latency, bandwidth, procs=(8, 16, 32, 64, 128, 256)):
    """{p: (step seconds, parallel efficiency)} for weak scaling (per-process batch and
    compute fixed) with the allreduce not overlapped."""
    table = {}
    for p in procs:
        t = compute + ring_seconds(p, nbytes, latency, bandwidth)
        table[p] = (t, compute / t)
    return table


def _fit_alpha_beta(raw):
    """Latency (s) and bandwidth (B/s) of the raw 2-process Allreduce: the 4-byte time,
    and the bytes over the time of the largest message beyond that latency."""
    sizes = sorted(int(k) for k in raw)
    alpha = raw[str(sizes[0])]["p50"]
    big = sizes[-1]
    # A 2-process ring moves nbytes each way: 2(p-1)/p * n / B = n / B.
    beta = big / max(raw[str(big)]["p50"] - 2 * alpha, 1e-9)
    return alpha, beta


def report(results, args):
    loads = ", ".join(f"{r['load']:.2f}" for r in results if r.get("load") is not None)
    lines = ["# funcgrad.distributed benchmark", "",
             f"machine: {os.cpu_count()} cores; one thread per process; global batch fixed; "
             f"load average before each launch: {loads}"]
    names = list(results[0]["steps"])
    if names:
        lines += ["", "| step | procs | ms per global batch (p50) | p95 | throughput vs 1 |",
                  "|---|---|---|---|---|"]
    base = {name: results[0]["steps"][name]["p50"] for name in names}
    for r in results:
        for name in names:
            s = r["steps"][name]
            lines.append(f"| {name} | {r['procs']} | {s['p50'] * 1e3:.2f} | "
                         f"{s['p95'] * 1e3:.2f} | {base[name] / s['p50']:.2f}x |")
    one = results[0]
    if one.get("half_alone"):
        lines += ["", "## The computation alone (no pmean; ms per process, p50 / p95)", "",
                  "| step | 1 process, whole batch | 1 process alone, half batch | "
                  + " | ".join(f"{r['procs']} processes at once, 1/{r['procs']} each"
                               for r in results[1:])
                  + " | speedup bound (whole / half alone) |",
                  "|---|---|---|" + "---|" * len(results[1:]) + "---|"]
        for name in names:
            cells = [one["local"][name], one["half_alone"][name]] + \
                [r["local"][name] for r in results[1:]]
            lines.append(f"| {name} | " + " | ".join(
                f"{c['p50'] * 1e3:.2f} / {c['p95'] * 1e3:.2f}" for c in cells) +
                f" | {one['local'][name]['p50'] / one['half_alone'][name]['p50']:.2f}x |")
    for r in results:
        for name, parts in (r.get("timeline") or {}).items():
            if parts is None:
                continue
            lines += ["", f"## Where the time of a {name} step goes ({r['procs']} processes, "
                      "ms)", "", "| part | p50 | p95 |", "|---|---|---|"]
            lines += [f"| {k} | {v['p50'] * 1e3:.2f} | {v['p95'] * 1e3:.2f} |"
                      for k, v in parts.items()]
    multi = [r for r in results if "mpi4py_raw" in r["allreduce"]]
    if multi:
        r = multi[-1]
        ar = r["allreduce"]
        raw = ar["mpi4py_raw"]
        same = ar["mpi4py_same_bytes"]
        lines += ["", f"## Allreduce ({r['procs']} processes)", "",
                  "The rows from `same bytes` on were timed interleaved, rep by rep; `vs raw` "
                  "is the raw out-of-place time over funcgrad's (ratio of the p50s, then the "
                  "median of the per-rep ratios).", "",
                  "| what | bytes | us (p50) | p95 | GB/s | vs raw |", "|---|---|---|---|---|---|"]

        def row(what, nbytes, st, vs=""):
            lines.append(f"| {what} | {nbytes} | {st['p50'] * 1e6:.1f} | {st['p95'] * 1e6:.1f}"
                         f" | {nbytes / st['p50'] / 1e9:.2f} | {vs} |")
        for k in sorted(raw, key=int):
            row("mpi4py Allreduce", int(k), raw[k])
        nbytes = ar["funcgrad_fused"]["bytes"]
        row("mpi4py Allreduce, same bytes, out of place", nbytes, same)
        row("mpi4py Allreduce, same bytes, MPI_IN_PLACE", nbytes, ar["mpi4py_in_place"])
        row("mpi4py Allreduce, MPI_IN_PLACE, of a buffer NumPy just computed (minus the "
            "computation)", nbytes, ar["mpi4py_computed"],
            f"{same['p50'] / ar['mpi4py_computed']['p50'] * 100:.0f}%")
        for key, what in (("funcgrad_fused", "funcgrad psum of the 6 arrays passed in "
                           "(copied into the fused buffer)"),
                          ("funcgrad_in_place", "funcgrad psum of the 6 arrays computed in "
                           "the program (in place; call minus the computation alone)")):
            st = ar[key]
            row(what, nbytes, st, f"{same['p50'] / st['p50'] * 100:.0f}% "
                f"({st['vs_raw']['p50'] * 100:.0f}%)")
    if multi and names:
        alpha, beta = _fit_alpha_beta(raw)
        compute = {name: results[0]["steps"][name]["p50"] for name in ("mlp", "cnn")}
        grad_bytes = {"mlp": nbytes, "cnn": _cnn_grad_bytes()}
        lines += ["", "## Predicted weak-scaling efficiency (ring allreduce, no overlap)", "",
                  (f"measured here: latency {alpha * 1e6:.1f} us, bandwidth "
                   f"{beta / 1e9:.2f} GB/s; 10 GbE: 50 us, 1.1 GB/s"), "",
                  "| step | network | " + " | ".join(f"p={p}" for p in (8, 16, 32, 64, 128, 256))
                  + " |", "|---|---|" + "---|" * 6]
        for name in ("mlp", "cnn"):
            for net, (a, b) in (("measured", (alpha, beta)), ("10GbE", (50e-6, 1.1e9))):
                t = efficiency_table(compute[name], grad_bytes[name], a, b)
                lines.append(f"| {name} | {net} | " +
                             " | ".join(f"{e * 100:.0f}%" for _, e in t.values()) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text)
            f.write("\n```json\n" + json.dumps(results, indent=1) + "\n```\n")


def _cnn_grad_bytes() -> int:
    from bench import workloads
    return sum(np.asarray(w).nbytes + np.asarray(b).nbytes
               for w, b in workloads.cnn_data(True)["params"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and sizes")
    parser.add_argument("--procs", default="1,2", help="process counts, e.g. 1,2,4")
    parser.add_argument("--output", help="also write the report (markdown + JSON) here")
    parser.add_argument("--timeline", action="store_true",
                        help="also time the parts of the multi-process steps")
    parser.add_argument("--allreduce-only", action="store_true",
                        help="only the allreduce measurements (2 processes; no steps)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    procs = [int(p) for p in args.procs.split(",")]
    if args.allreduce_only:
        procs = [max(procs)]
    elif procs[0] != 1:
        procs = [1] + procs
    results = [_launch(p, args) for p in procs]
    report(results, args)


if __name__ == "__main__":
    main()
