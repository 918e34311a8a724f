"""A workload's step in fresh processes, one after another: what a user sees from the first
call of a new process on, the thread plans' first measurements included; checkouts side by
side, alternately.

    python -m bench.bench_fresh_process [--workload mlp_step] [--steps 700] [--runs 6]
        [--threads 2] [--trees old=/path/to/old/checkout,new=.]

Each run is a new Python process per tree (`OMP_NUM_THREADS` = `OPENBLAS_NUM_THREADS` =
--threads, OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset) that builds the workload from
bench/workloads*.py of its tree, calls its funcgrad step --steps times back to back and
reports the p50 of the first 100 steps and of the last 200, the cores it kept busy (process
CPU time / wall time) and every answer its programs' thread plans gave (`threads.Plan`: the
median one-thread and full-team times it measured, and whether it kept the team). One such
process per tree and round, trees in a rotated order, --runs rounds.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def _worker(workload: str, steps: int) -> dict:
    sys.path.insert(0, os.getcwd())
    from bench import workloads as W
    from funcgrad.backends import threads as T

    answers = []
    decide = T.Plan.decide

    def logged(plan):
        one = T._median(plan.one) if len(plan.one) >= T.SAMPLES else None
        many = T._median(plan.many) if len(plan.many) >= T.SAMPLES else None
        out = decide(plan)
        if one is not None and many is not None:
            answers.append((round(one * 1e3, 2), round(many * 1e3, 2), out))
        return out

    T.Plan.decide = logged
    wl = W.WORKLOADS[workload]
    run, _ = wl.builders["funcgrad"](wl.make_data(True))
    times = []
    c0 = time.process_time()
    for _ in range(steps):
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    cpu = time.process_time() - c0
    return {"first": statistics.median(times[:100]) * 1e3,
            "last": statistics.median(times[-200:]) * 1e3,
            "cores": cpu / sum(times), "answers": answers}


def _spawn(tree: str, workload: str, steps: int, threads: int) -> dict:
    env = dict(os.environ)
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(k, None)
    env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               PYTHONPATH=tree)
    # (run as a script: an older tree's bench/ may not have this file)
    cmd = [sys.executable, os.path.abspath(__file__), "--_worker",
           "--workload", workload, "--steps", str(steps)]
    out = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workload", default="mlp_step")
    ap.add_argument("--steps", type=int, default=700)
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--trees", default="this=.",
                    help="LABEL=PATH,... (checkouts with funcgrad and bench/)")
    ap.add_argument("--_worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._worker:
        print(json.dumps(_worker(args.workload, args.steps)))
        return 0
    trees = [t.split("=", 1) for t in args.trees.split(",")]
    trees = [(label, os.path.abspath(path)) for label, path in trees]
    print(f"{args.workload}, {args.threads} threads, {args.steps} steps a process "
          f"(p50 of the first 100 and of the last 200 steps, ms)")
    for r in range(args.runs):
        order = trees[r % len(trees):] + trees[:r % len(trees)]
        for label, path in order:
            res = _spawn(path, args.workload, args.steps, args.threads)
            plans = "; ".join(f"{one} vs {many} -> {'team' if kept else 'one'}"
                              for one, many, kept in res["answers"])
            print(f"round {r + 1} {label:>8}: first {res['first']:6.2f}  last "
                  f"{res['last']:6.2f}  cores {res['cores']:.2f}  plans: {plans}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
