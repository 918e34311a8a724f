"""funcgrad beside PyTorch in one process and one thread, and a step called after a pause.

    python -m bench.bench_shared_process [--tree PATH] [--steps N] [--gaps 0,0.15]

Three measurements, each printed as one line (medians over `--steps` calls):

1. PyTorch's CNN step (`bench/workloads.py`'s cnn_torch) right after a funcgrad MLP step
   that runs on one thread (`cpu_threads` = 1: what a plan that measured no speedup
   picks), with `torch.set_num_threads(2)` set once, as PyTorch's docs set it. PyTorch's
   CPU wheel shares the system libgomp; a funcgrad that sets the thread's OpenMP default
   team size hands its one thread to PyTorch's next op.
2. funcgrad's MLP step fixed at two threads after `torch.set_num_threads(1)`: the cores it
   keeps busy (CPU time / wall time of the process).
3. funcgrad's MLP step with its automatic thread plan, called back to back and with a
   sleep of each `--gaps` seconds between calls: the plan's timed one- and two-thread
   calls (wall ms and cores) and what it chose. On a VM whose idle virtual CPU the host
   takes back, the second thread of a step that follows a pause may not get a core.

`--tree` runs the funcgrad (and the workloads) of another checkout, for before/after
comparisons: run it once per tree, alternately. Needs torch (the bench extra).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time


def _timed(fn, steps, warm=5):
    for _ in range(warm):
        fn()
    ts, cs = [], []
    for _ in range(steps):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        t1, c1 = time.perf_counter(), time.process_time()
        ts.append(t1 - t0)
        cs.append((c1 - c0) / max(t1 - t0, 1e-9))
    return statistics.median(ts) * 1e3, statistics.median(cs)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tree", default=os.path.dirname(os.path.dirname(os.path.abspath(
        __file__))))
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--gaps", default="0,0.15")
    a = p.parse_args(argv)
    sys.path.insert(0, os.path.abspath(a.tree))
    import bench.workloads as W
    import funcgrad as fg
    from funcgrad.backends import threads
    print(f"funcgrad from {os.path.dirname(fg.__file__)}")
    _after_pauses(a, W, threads)       # first: before PyTorch's threads share the process

    import torch
    print(f"torch {torch.__version__}")
    d = W.mlp_data(False)
    fg_step, _ = W.mlp_funcgrad(d)
    torch_step, _ = W.cnn_torch(W.cnn_data(False))
    torch.set_num_threads(2)

    fg.config.update("cpu_threads", 1)

    def both():
        fg_step()
        c0, t0 = time.process_time(), time.perf_counter()
        torch_step()
        return time.perf_counter() - t0, time.process_time() - c0
    for _ in range(5):
        both()
    runs = [both() for _ in range(a.steps)]
    ms = statistics.median(t for t, _ in runs) * 1e3
    cores = statistics.median(c / t for t, c in runs)
    print(f"1. PyTorch CNN step after a one-thread funcgrad step: {ms:.2f} ms, "
          f"{cores:.2f} cores")

    torch.set_num_threads(1)
    fg.config.update("cpu_threads", 2)
    ms, cores = _timed(fg_step, a.steps)
    print(f"2. funcgrad MLP step at two threads after torch.set_num_threads(1): {ms:.2f} ms, "
          f"{cores:.2f} cores")
    torch.set_num_threads(2)


def _after_pauses(a, W, threads):
    log = []
    done = threads.done

    def logged(plan, token):
        team, t0, c0, _ = token
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        log.append((team, dt * 1e3, dc / max(dt, 1e-9)))
        return done(plan, token)
    threads.done = logged
    try:
        step, _ = W.mlp_funcgrad(W.mlp_data(False))
        for gap in (float(g) for g in a.gaps.split(",")):
            log.clear()
            threads._policy.epoch += 1     # every plan measures again
            for _ in range(threads.MEASURE_CALLS + 4):
                step()
                if gap:
                    time.sleep(gap)
            side = {n: [(t, c) for team, t, c in log if (team > 1) == (n > 1)] for n in (1, 2)}
            text = "; ".join(
                f"{n} thread{'s' * (n > 1)} " + ", ".join(f"{t:.2f} ms/{c:.2f}" for t, c in v)
                for n, v in side.items())
            print(f"3. MLP step, {gap:g} s between calls: timed calls (ms/cores) {text}")
    finally:
        threads.done = done


if __name__ == "__main__":
    main()
