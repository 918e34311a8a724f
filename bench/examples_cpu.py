"""CPU time against wall time of the examples with one thread and with two.

    python -m bench.examples_cpu [--examples cnn,rnn] [--repeat N] [--smoke] [--busy N]
                                 [--output PATH]

The target it reports (issue 15): no example uses more CPU time with 2 threads than with 1
unless it runs at least 1.3x faster. Each example runs as users run it
(`python examples/<name>.py`, default flags; `--smoke` for a few steps) in a fresh process
with OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = 1 or 2 and the C backend.
One untimed run per example first fills the compile cache, so both settings start from the
same warm cache (and funcgrad's bytecode is written first, as `pip install` writes an
installed package's: with PYTHONDONTWRITEBYTECODE set, as on the development machine, every
run would compile every module again, ~1 s of each run that no user pays and that thins the
share of the run a second thread can speed up); then the 1- and 2-thread runs alternate,
`--repeat` times (default 3), and the medians are reported: wall time (the process's),
CPU time (user + system of the process and its children, from getrusage), and the final
`RESULT` line of each setting. With `--busy N`, N spinning processes pinned to the last N
CPUs run meanwhile (bench/busy.py).

Each example runs under a small launcher (`_LAUNCHER`: it imports NumPy, notes the threads
that exist then, runs the script as `__main__` and reports every thread's CPU time at exit),
so the report can say how much of the CPU time NumPy's own OpenBLAS pool took, and how
much the other worker threads alive at exit took (funcgrad's OpenMP team). That pool is
not funcgrad's: its worker threads start at `import numpy` when OPENBLAS_NUM_THREADS > 1
and busy-wait after each BLAS call (OpenBLAS's THREAD_TIMEOUT, 2^28 cycles, ~0.1 s on the
development machine; 0.1 s of CPU for `import numpy` alone, measured), in every process
that imports NumPy with two threads, funcgrad or not. The target is judged on the whole
process, and again without that pool.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

if __package__ in (None, ""):          # `python bench/examples_cpu.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "bench"

from bench.busy import Spinners, busy_cpus

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES_DIR = os.path.join(REPO, "examples")
SPEEDUP_FOR_MORE_CPU = 1.3

# Runs an example as `python examples/<name>.py` would (argv, sys.path[0], `__main__`), and
# at exit writes {"threads": {tid: cpu seconds}, "main": tid, "numpy_pool": [tids]} as JSON
# to the file named by FUNCGRAD_EXAMPLES_CPU_OUT. The example's first statement is
# `import numpy` in any case; the threads that exist right after it, other than the main
# one, are NumPy's OpenBLAS pool.
_LAUNCHER = r"""
import atexit, json, os, runpy, sys, threading
import numpy
_main = threading.get_native_id()
_pool = [int(t) for t in os.listdir("/proc/self/task") if int(t) != _main]
def _report():
    tck = os.sysconf("SC_CLK_TCK")
    cpu = {}
    for t in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{t}/stat") as f:
                v = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu[t] = (int(v[11]) + int(v[12])) / tck
    with open(os.environ["FUNCGRAD_EXAMPLES_CPU_OUT"], "w") as f:
        json.dump({"threads": cpu, "main": _main, "numpy_pool": _pool}, f)
atexit.register(_report)
script = sys.argv[1]
sys.argv = sys.argv[1:]
sys.path[0] = os.path.dirname(os.path.abspath(script))
runpy.run_path(script, run_name="__main__")
"""


def examples():
    return sorted(f[:-3] for f in os.listdir(EXAMPLES_DIR)
                  if f.endswith(".py") and not f.startswith("_"))


def _env(threads):
    env = dict(os.environ)
    n = str(threads)
    env.update(OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, MKL_NUM_THREADS=n,
               FUNCGRAD_BACKEND="c", MPLBACKEND="Agg")
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def numpy_pool_cpu(report) -> float:
    """CPU seconds of NumPy's OpenBLAS threads in a launcher report (see `_LAUNCHER`)."""
    return sum(report["threads"].get(str(t), 0.0) for t in report["numpy_pool"])


def other_threads_cpu(report) -> float:
    """CPU seconds of the threads alive at exit other than the main one and NumPy's pool:
    funcgrad's OpenMP workers (and any other library's)."""
    skip = {str(report["main"])} | {str(t) for t in report["numpy_pool"]}
    return sum(v for t, v in report["threads"].items() if t not in skip)


def run_example(name, threads, smoke, timeout=900):
    """One run: {"wall", "cpu", "numpy_pool", "result"} or {"error"}."""
    cmd = [sys.executable, "-c", _LAUNCHER, os.path.join(EXAMPLES_DIR, name + ".py")] + (
        ["--smoke"] if smoke else [])
    fd, out = tempfile.mkstemp(prefix="examples_cpu_", suffix=".json")
    os.close(fd)
    env = dict(_env(threads), FUNCGRAD_EXAMPLES_CPU_OUT=out)
    try:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        try:
            p = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True,
                               timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return {"error": f"timed out after {timeout} s"}
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            return {"error": f"exit code {p.returncode}: {p.stderr.strip()[-300:]}"}
        with open(out) as f:
            report = json.load(f)
    finally:
        os.unlink(out)
    lines = p.stdout.strip().splitlines()
    return {"wall": wall, "cpu": (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime),
            "numpy_pool": numpy_pool_cpu(report), "others": other_threads_cpu(report),
            "result": lines[-1] if lines and lines[-1].startswith("RESULT") else "?"}


def measure(name, repeat, smoke):
    """{threads: {"wall", "cpu", "result", "n"} or {"error"}} for one example."""
    warm = run_example(name, 1, smoke)
    if "error" in warm:
        return {1: warm, 2: warm}
    runs = {1: [], 2: []}
    for k in range(repeat):
        for th in ((1, 2) if k % 2 == 0 else (2, 1)):
            r = run_example(name, th, smoke)
            if "error" in r:
                return {1: r, 2: r}
            runs[th].append(r)
    return {th: {"wall": statistics.median(r["wall"] for r in rs),
                 "cpu": statistics.median(r["cpu"] for r in rs),
                 "numpy_pool": statistics.median(r["numpy_pool"] for r in rs),
                 "others": statistics.median(r["others"] for r in rs),
                 "result": rs[-1]["result"], "n": len(rs)} for th, rs in runs.items()}


def judge(m, without_numpy_pool=False):
    """(text, met) for the target on one example's measurements; with `without_numpy_pool`,
    on its CPU time less NumPy's OpenBLAS pool's."""
    a, b = m[1], m[2]
    if "error" in a or "error" in b:
        return f"failed: {a.get('error') or b.get('error')}", False
    speedup = a["wall"] / b["wall"]

    def cpu(r):
        return r["cpu"] - (r.get("numpy_pool", 0.0) if without_numpy_pool else 0.0)
    more_cpu = cpu(b) / cpu(a)
    met = more_cpu <= 1.0 or speedup >= SPEEDUP_FOR_MORE_CPU
    return f"{speedup:.2f}× faster, {more_cpu:.2f}× the CPU time", met


def table(measured):
    lines = [("| example | threads = 1: wall / CPU | threads = 2: wall / CPU (NumPy's "
              "OpenBLAS pool; other worker threads) | 2 vs 1 | "
              f"target (more CPU only if ≥ {SPEEDUP_FOR_MORE_CPU}× faster) | "
              "CPU less NumPy's pool: 2 vs 1, target | RESULT |"),
             "|---|---|---|---|---|---|---|"]
    for name, m in measured.items():
        txt, met = judge(m)
        txt_own, met_own = judge(m, without_numpy_pool=True)
        cells = []
        for th in (1, 2):
            r = m[th]
            pool = (f" ({r['numpy_pool']:.2f} s; {r['others']:.2f} s)"
                    if th == 2 and "error" not in r else "")
            cells.append("—" if "error" in r else f"{r['wall']:.2f} s / {r['cpu']:.2f} s{pool}")
        results = [m[th].get("result", "—") for th in (1, 2)]
        res = results[0] if results[0] == results[1] else " / ".join(results)
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {txt} | "
                     f"{'met' if met else 'NOT met'} | {txt_own.split(', ')[1]}, "
                     f"{'met' if met_own else 'NOT met'} | {res} |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.examples_cpu",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--examples", default=",".join(examples()),
                   help="comma-separated subset of: " + ", ".join(examples()))
    p.add_argument("--repeat", type=int, default=3, help="timed runs per setting (default 3)")
    p.add_argument("--smoke", action="store_true", help="run the examples with --smoke")
    p.add_argument("--busy", type=int, default=0, metavar="N",
                   help="keep N cores busy with spinning processes meanwhile")
    p.add_argument("--output", metavar="PATH", help="also write the markdown table to PATH")
    opts = p.parse_args(argv)
    names = [n for n in opts.examples.split(",") if n]
    bad = [n for n in names if n not in examples()]
    if bad:
        sys.exit(f"unknown example(s) {bad}; choose from {examples()}")
    try:
        busy_cpus(opts.busy)
    except ValueError as e:
        sys.exit(str(e))
    if opts.repeat < 1:
        sys.exit("--repeat must be at least 1")
    cmd = "python -m bench.examples_cpu " + " ".join(argv if argv is not None else sys.argv[1:])
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    from bench.run import _compile_bytecode
    _compile_bytecode()
    measured = {}
    with Spinners(opts.busy) as spinners:
        for name in names:
            measured[name] = measure(name, opts.repeat, opts.smoke)
            print(f"{name:<20} {judge(measured[name])[0]}; less NumPy's OpenBLAS pool: "
                  f"{judge(measured[name], without_numpy_pool=True)[0]}", flush=True)
    text = (f"Command: `{cmd}`\nDate: {date}\nLoad added: {spinners.describe()}; load average "
            f"after: {'/'.join(f'{v:.2f}' for v in os.getloadavg())}\n\n"
            f"{table(measured)}\n")
    print()
    print(text)
    if opts.output:
        with open(opts.output, "w") as f:
            f.write(text)
        print(f"wrote {opts.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
