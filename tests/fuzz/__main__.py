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
    ap.add_argument("--batch-size", type=int, default=16,
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
    args = ap.parse_args(argv)

    # Fuzz programs are all new: compile them into a private, throw-away cache.
    os.environ.setdefault("FUNCGRAD_CACHE_DIR", tempfile.mkdtemp(prefix="funcgrad-fuzz-"))
    os.environ.setdefault("POCL_CACHE_DIR", tempfile.mkdtemp(prefix="pocl-fuzz-"))
    warnings.simplefilter("ignore")

    from .runner import Config, run_fuzz
    backends = tuple(b.strip() for b in args.backends.split(",") if b.strip())
    backends = tuple(b for b in backends if _available(b))
    cfg = Config(minutes=args.minutes, seed=args.seed, backends=backends,
                 batch_size=args.batch_size, opencl_share=args.opencl_share,
                 grad_share=args.grad_share, shrink_seconds=args.shrink_seconds,
                 threads_every=args.threads_every,
                 findings_path=Path(args.findings) if args.findings else None)
    print(f"fuzzing {cfg.minutes} min on {', '.join(backends)} (seed {cfg.seed})", flush=True)
    summary = run_fuzz(cfg)
    print("summary:", json.dumps(summary, indent=1, default=str), flush=True)
    return 1 if summary["new"] else 0


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
