"""`python -m tests.jaxdiff [--x64] [--sections a,b] [--no-jit] [--all]`: run the case tables
against JAX and print every difference, the ones not in the registry (new) first, then the
known ones with their reasons, the registry entries that matched nothing (stale), and a
summary line. Exit status 1 if a difference is new."""
from __future__ import annotations

import argparse
import os
import re
import sys
import time

os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")


def main(argv=None) -> int:
    from . import cases as case_tables
    from .harness import show
    from .run import run

    ap = argparse.ArgumentParser(prog="python -m tests.jaxdiff", description=__doc__)
    ap.add_argument("--x64", action="store_true", help="64-bit types on in both libraries")
    ap.add_argument("--sections", default="",
                    help="comma-separated sections (default: all): "
                         + ",".join(case_tables.SECTIONS))
    ap.add_argument("--no-jit", action="store_true", help="skip the funcgrad jit runs")
    ap.add_argument("--cases", default="", help="only cases whose name contains this")
    ap.add_argument("--quiet-known", action="store_true",
                    help="one line per known difference, without the values")
    args = ap.parse_args(argv)
    sections = [s for s in args.sections.split(",") if s] or None
    unknown = set(sections or ()) - set(case_tables.SECTIONS)
    if unknown:
        ap.error(f"unknown sections {sorted(unknown)}; known: {list(case_tables.SECTIONS)}")

    t0 = time.perf_counter()
    report = run(sections, x64=args.x64, jit=not args.no_jit,
                 select=(lambda c: args.cases in c.name) if args.cases else None)

    def details(d):
        runs = d.runs
        first, second = ("jax", "fg") if d.against == "jax" else ("fg", "fgjit")
        print(f"      {first:5}: {show(runs[0])}")
        print(f"      {second:5}: {show(runs[1])}")

    from .known import SUSPECTED
    for d in report.new:
        print(f"NEW   {d.describe()}")
        for pattern, what in SUSPECTED.items():
            if re.fullmatch(pattern, d.case):
                print(f"      (suspected funcgrad bug, see known.SUSPECTED: {what})")
        details(d)
    for d, entry in report.known:
        print(f"known {d.describe()}\n      -> {entry.category}: {entry.reason}")
        if not args.quiet_known:
            details(d)
    for entry in report.stale:
        print(f"STALE registry entry matched nothing: {entry.label()}")
    n_diff = len(report.new) + len(report.known)
    print(f"=== {report.n_cases} cases, {n_diff} differences: {len(report.known)} known, "
          f"{len(report.new)} new; {len(report.stale)} stale registry entries; "
          f"x64={args.x64} jit={not args.no_jit} ({time.perf_counter() - t0:.0f} s)")
    return 1 if report.new else 0


if __name__ == "__main__":
    sys.exit(main())
