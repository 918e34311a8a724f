"""`python -m tests.fuzz --minutes N [--seed S] [--backends reference,c,opencl]`: the long
fuzz run. Prints a running count (programs x backends, disagreements), every shrunk
disagreement as a standalone reproducer (also appended to tests/fuzz/FINDINGS.md), and a
summary with programs per minute per backend."""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backends", default="reference,c,opencl")
    ap.add_argument("--batch-size", type=int, default=48,
                    help="most programs compiled together in one jitted function")
    ap.add_argument("--opencl-share", type=float, default=0.3,
                    help="largest fraction of the run's time spent on OpenCL")
    ap.add_argument("--grad-share", type=float, default=0.35,
                    help="fraction of batches that check derivatives")
    ap.add_argument("--shrink-seconds", type=float, default=240.0)
    ap.add_argument("--threads-every", type=int, default=8,
                    help="every n-th batch is also called from 8 threads (0: never)")
    ap.add_argument("--findings", default=str(Path(__file__).with_name("FINDINGS.md")),
                    help="file the reproducers are appended to ('' for none)")
    ap.add_argument("--dtypes", default="",
                    help="float dtypes of the programs with weights, e.g. "
                         "'float32:6,bfloat16:2' (default: float32:6, float64:2, "
                         "float16:2, bfloat16:2)")
    ap.add_argument("--jobs", type=int, default=1,
                    help="worker processes fuzzing at once (worker k explores its own "
                         "hypothesis seeds); their summaries are merged")
    ap.add_argument("--boost", default="",
                    help="ops drawn more often, with factors, e.g. 'while_loop:6,cond:4' "
                         "(to aim a run at one part of the backends)")
    ap.add_argument("--big-forms", action="store_true",
                    help="lower the C lowering's size thresholds to 0, so that the small "
                         "arrays of fuzz programs take the code of big ones (the lanes' "
                         "transposed tiles and lone reductions: codegen.SHUFFLE_MIN, "
                         "c.LONE_LANES_MIN; GEMMs on BLAS and the direct and packed "
                         "kernels, not loop nests, and split over threads: "
                         "gemm.SMALL_GEMM, gemm.GEMM_SPLIT_MIN; every float32 GEMM outside "
                         "a loop packed on every call on 512-bit CPUs: "
                         "gemm.PACKED_PER_CALL_ALL; convolutions over threads, and "
                         "big GEMMs and convolutions in dynamic chunks on the big team: "
                         "gemm.CONV_PARALLEL_MIN, gemm.BIG_TEAM_MIN; sorts and "
                         "batched linear "
                         "algebra over threads: sort_c.PARALLEL_SORT_MIN, "
                         "linalg_c.PARALLEL_MATRICES_MIN); a reproducer needs the same "
                         "settings")
    ap.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--summary-json", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    # Fuzz programs are all new: compile them into a private, throw-away cache.
    os.environ.setdefault("FUNCGRAD_CACHE_DIR", tempfile.mkdtemp(prefix="funcgrad-fuzz-"))
    os.environ.setdefault("POCL_CACHE_DIR", tempfile.mkdtemp(prefix="pocl-fuzz-"))
    warnings.simplefilter("ignore")

    if args.boost:
        # read by generate.op_menu, here and in the worker processes
        os.environ["FUNCGRAD_FUZZ_BOOST"] = args.boost
    if args.jobs > 1:
        return _run_jobs(args, argv if argv is not None else sys.argv[1:])
    if args.big_forms:
        from funcgrad.backends import c as cbackend
        from funcgrad.lowering import codegen, gemm, linalg_c, sort_c
        codegen.SHUFFLE_MIN = 0
        cbackend.LONE_LANES_MIN = 0
        gemm.SMALL_GEMM = False
        gemm.GEMM_SPLIT_MIN = 0
        gemm.PACKED_PER_CALL_ALL = True
        gemm.CONV_PARALLEL_MIN = 0
        gemm.BIG_TEAM_MIN = 0
        sort_c.PARALLEL_SORT_MIN = 0
        linalg_c.PARALLEL_MATRICES_MIN = 0

    from .runner import Config, run_fuzz
    backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    backends = tuple(b for b in backends if _available(b))
    cfg = Config(minutes=args.minutes, seed=args.seed, backends=backends,
                 batch_size=args.batch_size, opencl_share=args.opencl_share,
                 grad_share=args.grad_share, shrink_seconds=args.shrink_seconds,
                 threads_every=args.threads_every, worker=args.worker,
                 findings_path=Path(args.findings) if args.findings else None)
    if args.dtypes:
        cfg.dtypes = _dtype_weights(args.dtypes)
    print(f"fuzzing {cfg.minutes} min on {', '.join(backends)} (seed {cfg.seed})"
          + (", size thresholds at 0 (--big-forms)" if args.big_forms else ""), flush=True)
    summary = run_fuzz(cfg)
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(summary, default=str))
    print_summary(summary, full=not args.summary_json)
    return 1 if summary["new"] else 0


def _dtype_weights(text: str) -> tuple:
    """'float32:6,bfloat16' -> (("float32", 6), ("bfloat16", 1))."""
    out = []
    for part in text.split(","):
        name, _, w = part.strip().partition(":")
        out.append((name, int(w or 1)))
    return tuple(out)


def print_summary(summary: dict, full: bool = True) -> None:
    """The headline numbers, then (if `full`) the whole summary as JSON."""
    d = summary["disagreements"]
    print(f"programs: {summary['programs']} distinct, "
          f"{summary['programs_x_backends_x_modes']} programs x backends x modes checked "
          f"(+{sum(v for k, v in summary['checked'].items() if k.endswith('new sizes'))} "
          f"jitted again at new sizes); gradient checks: {summary['gradient_checks']}; "
          f"disagreements: {d['new']} new, {d['known_bug']} known bugs, "
          f"{d['deliberate_semantics']} deliberate semantics; "
          f"{summary['programs_per_minute']} programs per minute", flush=True)
    print("programs per minute by backend and mode: " + ", ".join(
        f"{k} {v}" for k, v in summary["checked_per_minute"].items()), flush=True)
    if full:
        print("summary:", json.dumps(summary, indent=1, default=str), flush=True)


def _run_jobs(args, argv) -> int:
    """Run `args.jobs` workers (this module, one process each) and merge their summaries."""
    import subprocess
    import threading
    tmp = Path(tempfile.mkdtemp(prefix="fuzz-jobs-"))
    rest = []
    skip = False
    for a in argv:       # the worker's own --jobs / --worker / --summary-json follow
        if skip:
            skip = False
            continue
        if a in ("--jobs", "--worker", "--summary-json"):
            skip = True
            continue
        if a.startswith(("--jobs=", "--worker=", "--summary-json=")):
            continue
        rest.append(a)
    procs = []
    for k in range(args.jobs):
        cmd = [sys.executable, "-m", "tests.fuzz", *rest, "--worker", str(k),
               "--summary-json", str(tmp / f"w{k}.json")]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, cwd=Path(__file__).parents[2]))

    def pump(k, p):
        for line in p.stdout:
            print(f"[w{k}] {line}", end="", flush=True)
    pumps = [threading.Thread(target=pump, args=(k, p)) for k, p in enumerate(procs)]
    for t in pumps:
        t.start()
    rcs = [p.wait() for p in procs]
    for t in pumps:
        t.join()
    parts = []
    for k in range(args.jobs):
        f = tmp / f"w{k}.json"
        if f.exists():
            parts.append(json.loads(f.read_text()))
        else:
            print(f"worker {k} left no summary (exit status {rcs[k]})", flush=True)
    if not parts:
        return 2
    summary = merge_summaries(parts)
    print_summary(summary)
    return 1 if summary["new"] or any(rc not in (0, 1) for rc in rcs) else 0


def merge_summaries(parts: list) -> dict:
    """One summary for workers that ran at the same time: counts add up, the run's length
    is the longest worker's, and the rates are recomputed from the sums."""
    def add(a, b):
        if isinstance(a, dict) and isinstance(b, dict):
            return {k: add(a[k], b[k]) if k in a and k in b else a.get(k, b.get(k))
                    for k in {**a, **b}}
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a + b
        return a
    out = parts[0]
    for p in parts[1:]:
        out = add(out, p)
    minutes = max(p["minutes"] for p in parts)
    out["minutes"] = minutes
    out["workers"] = len(parts)
    out["programs_per_minute"] = round(out["programs"] / max(minutes, 1e-9), 1)
    out["checked_per_minute"] = {k: round(v / max(minutes, 1e-9), 1)
                                 for k, v in out["checked"].items()}
    out.pop("runs_per_minute", None)     # per-worker rates do not add up
    return out


def _available(name: str) -> bool:
    if name == "reference":
        return True
    try:
        if name == "c":
            from funcgrad.backends import c as mod
        else:
            from funcgrad.backends import opencl as mod
        ok = bool(mod.available())
    except Exception:   # noqa: BLE001 -- no compiler / no platform: skip the backend
        ok = False
    if not ok:
        print(f"backend {name!r} is not available here; skipped", file=sys.stderr)
    return ok


if __name__ == "__main__":
    sys.exit(main())
