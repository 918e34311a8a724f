"""Benchmark harness: funcgrad (C backend) vs NumPy, JAX (CPU, jit) and PyTorch (eager).

    python -m bench [--workloads a,b] [--repeat N] [--threads 1|2|both] [--busy N[,M]]
                    [--quick] [--write | --output PATH]

Method
- One fresh worker process per (workload, thread setting, load). Inside it every available
  framework is built from the same NumPy data, run twice (the first call, including any
  trace/compile, is recorded separately), cross-checked once against the NumPy result (the
  result of the second call, converted before any further call: training-loop workloads
  carry their state from call to call, as a training loop does), and then timed in
  interleaved rounds: each round times one sample of every framework, in an order rotated
  from round to round, so drifting background load hits all alike.
- A sample is `time.perf_counter()` around one call that returns a materialised result
  (`block_until_ready` for funcgrad and JAX). `dispatch` and the `call_*` / `block_pytree`
  workloads time 2000 calls per sample and report per-call time. Reported: p50 (the median)
  and p95 of the samples, and their min; ratios are funcgrad's p50 / the other framework's
  p50 (< 1: funcgrad is faster). "busy" is process CPU time / wall time during the samples
  (how many cores the framework kept busy, spinning included).
- Worker processes get `OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` removed (they force the AVX2
  kernel on the development machine), `OMP_NUM_THREADS`, `OPENBLAS_NUM_THREADS`,
  `MKL_NUM_THREADS` = the thread setting, `torch.set_num_threads(n)`, and for one thread
  XLA's `--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1` plus pinning to
  the least busy CPU that `--busy` leaves free (`--no-pin` to skip; XLA otherwise keeps ~1.5
  cores busy). The OpenBLAS kernel that actually ran (threadpoolctl) is reported.
- Contention (`--busy N`): while each workload runs, N processes pinned to the last N usable
  CPUs spin (bench/busy.py); the report names the CPUs and the load they measured. With
  `--busy 0,1` every workload runs without and with that load, and the report compares
  funcgrad under load with JAX under the same load and with its own 1-thread time without
  load.
- With two threads every visit to a framework starts after a 150 ms gap (`--gap-ms`), so
  the previous framework's idle worker threads have stopped spinning, then runs untimed
  for 5 ms (`AFTER_GAP_S`: the calls after a pause are slow in every framework here) before
  its samples. The gap is a busy wait (`GAP_SPIN`; `--gap-sleep` sleeps instead): after a
  sleep this VM's vCPU ran slow for longer than the settling calls. Without a gap, blocks
  of several samples start with one untimed call.
  Before its timing, every framework gets untimed calls up to funcgrad's
  `threads.MEASURE_CALLS` (at most 3 s of them, `SETTLE_S`): funcgrad's thread plans time
  those first calls, half of them on one thread (`settle_calls` in the JSON). Other
  processes' CPU use is measured from /proc/stat before and during each workload and
  flagged when above 0.25 cores beyond what the thread setting and `--busy` leave idle
  (this 2-core machine is shared; 2-thread results are only meaningful when it is
  otherwise idle; `--wait-idle S`).
- `first_call` runs fresh processes: funcgrad with a new empty FUNCGRAD_CACHE_DIR ("cold"),
  funcgrad again with that same directory ("warm"), and JAX; interleaved, repeated. "first" is
  the time of the first call of the jitted MLP step (trace + compile + run) after import and
  data placement; import time and the whole process wall time are reported beside it.
  funcgrad's bytecode is compiled first, as `pip install` compiles an installed package's
  (a checkout run with PYTHONDONTWRITEBYTECODE would otherwise recompile every module in
  every fresh process).

JAX, PyTorch and threadpoolctl are optional (import-guarded); a missing one is reported.
The workloads are in bench/workloads*.py, the report's format in bench/report.py.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

if __package__ in (None, ""):          # `python bench/run.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "bench"

from bench import workloads as W
from bench.busy import Spinners, busy_cpus
from bench.common import _torch_threads
from bench.report import (
    OPENBLAS_FORCING,
    RESULTS,
    _cell,
    _check,
    machine_text,
    report,
    setting_label,
    write_results,
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Sleep before each visit to a framework in the 2-thread runs. OpenBLAS's idle worker threads
# spin for 2^28 TSC ticks (~0.1 s) before sleeping, libgomp's for ~300k iterations; a
# framework timed while another one's pool still spins loses one of the two cores, and a
# spinning barrier on an oversubscribed core costs a scheduler slice: 10-50x slowdowns.
AUTO_GAP_MS = 150.0
# With more than one thread, funcgrad's thread plans time each program's first
# `threads.MEASURE_CALLS` calls, half of them on one thread, before they settle on a team
# (funcgrad.backends.threads.Plan). Timing from the third call on put those calls in the
# samples: quick runs' two-thread p50s (a few samples) and full runs' p95s measured partly
# one-thread steps. Every framework gets untimed calls up to that count before its timing
# (at most SETTLE_S seconds of them), so the samples measure the steady state a training
# loop runs in; the first calls are reported apart (`first_s`, and the `first_call`
# workload).
SETTLE_S = 3.0
# After each gap, every framework runs untimed for this long before its samples: the calls
# after a 150 ms sleep are slow in every framework here, and recover in 2-4 ms (one thread
# on CPU 1, medians of 30 pauses: scan_cond's calls 1-3 after it 84, 72, 71 us, by 2.6 ms
# 45, steady 44; tiny_step's 142-162 us at first, 77-79 by 2-4 ms). Without it the
# two-thread samples (gaps) measured a pause's aftermath the one-thread ones (no gaps) did
# not: with gaps at one thread, tiny_step's p50 was 144 us against 82, JAX's 230 against 141.
AFTER_GAP_S = 0.005
# The gap is a busy wait of the worker's own thread, not a sleep: on this VM a vCPU that
# halts (a sleeping process) runs slow for a while after it wakes, in every framework, and
# 5 ms of settling calls did not recover it (a jitted `x + s` on 10 floats, one process
# per setting, 20 visits of 2000 calls, medians by 200-call chunk: after 150 ms sleeps
# 4.9-6.0 us a call in every chunk of some processes, after 150 ms of spinning 3.7-3.9,
# gap-free 3.6-3.7; another CPU busy or not). The idle worker threads of the framework
# visited before still park during it: their spin ends by its own count, whatever this
# thread does meanwhile. `--gap-sleep` restores the sleep.
GAP_SPIN = True
# A result is marked noisy when other processes kept more than (cores - threads + NOISY)
# cores busy during its timed rounds.
NOISY = 0.25


# =============================================================================== worker side

def _versions():
    v = {"python": platform.python_version()}
    import numpy
    v["numpy"] = numpy.__version__
    for mod, attr in (("funcgrad", "__version__"), ("jax", "__version__"),
                      ("jaxlib", "__version__"), ("torch", "__version__"),
                      ("threadpoolctl", "__version__")):
        m = sys.modules.get(mod)
        if m is not None:
            v[mod] = getattr(m, attr, "?")
    return v


def _pools():
    """threadpoolctl's view of the loaded BLAS / OpenMP libraries."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"error": "threadpoolctl not installed"}]
    out = []
    for p in threadpool_info():
        out.append({k: p.get(k) for k in ("internal_api", "prefix", "filepath", "architecture",
                                           "num_threads", "version", "threading_layer")})
    try:
        if "torch" in sys.modules:
            import torch
            out.append({"internal_api": "torch", "prefix": "torch.get_num_threads()",
                        "num_threads": torch.get_num_threads(),
                        "filepath": "torch intra-op pool"})
    except Exception:
        pass
    return out


def _settle(run, inner, threads) -> int:
    """Untimed calls of `run` until the programs' thread plans have measured (see
    SETTLE_S); returns how many ran."""
    if threads <= 1:
        return 0
    from funcgrad.backends.threads import MEASURE_CALLS
    want = -(-(MEASURE_CALLS + 1) // max(1, inner)) - 4    # (4 calls ran already)
    t0, n = time.perf_counter(), 0
    while n < want and time.perf_counter() - t0 < SETTLE_S:
        run()
        n += 1
    return n


def _available(fw):
    if fw in ("funcgrad", "numpy"):
        return None
    try:
        __import__(fw)
    except Exception as e:           # not installed (benchmark-only extra) or broken
        return f"{type(e).__name__}: {e}"
    return None


def _compare(got, ref):
    """Largest |got - ref| / max|ref| over the outputs (float64 arithmetic)."""
    import numpy as np
    if len(got) != len(ref):
        return float("inf"), f"{len(got)} outputs vs {len(ref)}"
    worst = 0.0
    for g, r in zip(got, ref):
        g = np.asarray(g, np.float64)
        r = np.asarray(r, np.float64)
        if g.shape != r.shape:
            return float("inf"), f"shape {g.shape} vs {r.shape}"
        scale = max(float(np.max(np.abs(r))) if r.size else 0.0, 1e-30)
        e = float(np.max(np.abs(g - r))) / scale if r.size else 0.0
        if not np.isfinite(e):
            return float("inf"), "non-finite values"
        worst = max(worst, e)
    return worst, None


def _err(e):
    tb = traceback.format_exc()
    frames = [ln.strip() for ln in tb.splitlines() if ln.strip().startswith("File ")]
    return {"error": f"{type(e).__name__}: {e}"[:500], "where": frames[-1] if frames else "",
            "traceback": tb[-6000:]}


def _gap(seconds, spin):
    """Wait `seconds` before a framework's visit: spinning on this thread (`GAP_SPIN`) or
    asleep."""
    if not spin:
        time.sleep(seconds)
        return
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def worker(name, frameworks, rounds, budget_s, gap_s, sample_s, quick, gap_spin=GAP_SPIN):
    import numpy as np  # noqa: F401
    res = {"workload": name, "load_before": os.getloadavg(), "frameworks": {},
           "env": {k: os.environ.get(k) for k in
                   ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "XLA_FLAGS",
                    "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "FUNCGRAD_BACKEND")}}
    wl = W.WORKLOADS[name]
    data = wl.make_data(quick)
    runs = {}
    # the NumPy version's result is the reference when it runs; else the workload's own
    ref = wl.reference(data) if wl.reference else None
    order = ["numpy"] + [f for f in frameworks if f != "numpy"]
    for fw in order:
        if fw not in frameworks or fw not in wl.builders:
            continue
        r = res["frameworks"][fw] = {}
        why = _available(fw)
        if why:
            r["status"] = "unavailable"
            r["error"] = why
            continue
        try:
            t0 = time.perf_counter()
            run, to_np = wl.builders[fw](data)
            t1 = time.perf_counter()
            out = run()
            t2 = time.perf_counter()
            out = run()
            t3 = time.perf_counter()
            # converted before the next call: a stateful run (a PyTorch optimizer step)
            # updates in place what the previous call returned
            got = to_np(out)
            cal = [t3 - t2]
            for _ in range(2):
                t4 = time.perf_counter()
                run()
                cal.append(time.perf_counter() - t4)
            settle = _settle(run, wl.inner, int(os.environ.get("OMP_NUM_THREADS") or 1))
            r.update(status="ok", build_s=t1 - t0, first_s=(t2 - t1) / wl.inner,
                     second_s=min(cal) / wl.inner, settle_calls=settle)
            if fw == "numpy":
                ref = got
                r["check"] = {"rel_err": 0.0, "ok": True, "ref": True}
            elif ref is not None:
                e, why = _compare(got, ref)
                r["check"] = {"rel_err": e, "ok": why is None and e <= wl.tol, "tol": wl.tol,
                              "why": why}
            del out, got
            runs[fw] = run
        except Exception as e:
            r.update(status="error", **_err(e))
    if "funcgrad" in runs:
        import funcgrad
        res["funcgrad_backend"] = funcgrad.default_backend()
    # interleaved timing rounds: each round visits every framework (order rotated each
    # round); a visit sleeps `gap_s` (so the previous framework's spinning worker threads
    # park), runs one untimed settling call when the block has several samples, then times
    # `block` samples.
    samples = {fw: [] for fw in runs}
    busy = {fw: [] for fw in runs}
    blocks = {fw: _block(res["frameworks"][fw]["second_s"] * wl.inner, sample_s)
              for fw in runs}
    names = list(runs)
    start = time.perf_counter()
    stat0, cpu0 = _sys_busy(), time.process_time()
    k = 0
    while names and k < rounds:
        for i in range(len(names)):
            fw = names[(i + k) % len(names)]
            if fw not in runs:
                continue
            if fw == "torch":
                # every framework runs in this one process, and PyTorch shares the system
                # libgomp with funcgrad (and XLA's and NumPy's builds may load others):
                # give PyTorch the count its own process would have kept before each
                # visit, as its docs set it. (funcgrad no longer sets the thread's OpenMP
                # default, which PyTorch reads; it did until 2026-12-03, when PyTorch's
                # two-thread figures were partly one-thread figures without this.)
                _torch_threads()
            if gap_s:
                _gap(gap_s, gap_spin)
            try:
                if gap_s:
                    # untimed calls for AFTER_GAP_S first: the steady state a training loop
                    # runs in, which the gap-free one-thread setting times
                    settle_end = time.perf_counter() + AFTER_GAP_S
                    runs[fw]()
                    while time.perf_counter() < settle_end:
                        runs[fw]()
                elif blocks[fw] > 1:
                    runs[fw]()
                for _ in range(blocks[fw]):
                    c0, t0 = time.process_time(), time.perf_counter()
                    runs[fw]()
                    t1, c1 = time.perf_counter(), time.process_time()
                    samples[fw].append((t1 - t0) / wl.inner)
                    busy[fw].append((c1 - c0) / max(t1 - t0, 1e-9))
            except Exception as e:
                res["frameworks"][fw].update(status="error", **_err(e))
                del runs[fw]
                continue
        names = [n for n in names if n in runs]
        k += 1
        if budget_s and k >= 3 and time.perf_counter() - start > budget_s:
            break
    wall = time.perf_counter() - start
    stat1, cpu1 = _sys_busy(), time.process_time()
    if stat0 is not None and stat1 is not None and wall > 0:
        res["background_cores"] = max(0.0, (stat1 - stat0 - (cpu1 - cpu0)) / wall)
    res["rounds"] = k
    res["timing_s"] = time.perf_counter() - start
    for fw, s in samples.items():
        if not s or fw not in runs:
            continue
        r = res["frameworks"][fw]
        r["median"] = statistics.median(s)            # = p50
        r["p95"] = _percentile(s, 95)
        r["min"] = min(s)
        r["n"] = len(s)
        r["block"] = blocks[fw]
        r["samples"] = [float(f"{x:.4g}") for x in s]
        r["busy"] = statistics.median(busy[fw])
        if wl.metrics:
            r["metrics"] = wl.metrics(fw, r["median"])
    res["pools"] = _pools()
    res["versions"] = _versions()
    res["load_after"] = os.getloadavg()
    return res


def _percentile(samples, q):
    """The q-th percentile, linearly interpolated between the order statistics."""
    s = sorted(samples)
    if len(s) == 1:
        return s[0]
    pos = (len(s) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _block(t, sample_s):
    """Samples per visit: enough to fill about `sample_s` seconds, 1 to 10."""
    if t <= 0:
        return 1
    return max(1, min(10, int(sample_s / t)))


def _sys_busy():
    """CPU seconds all processes have spent busy so far (from /proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _cpu_busy():
    """{cpu index: busy CPU seconds so far} from /proc/stat's per-CPU lines."""
    out = {}
    try:
        with open("/proc/stat") as f:
            for ln in f:
                if ln.startswith("cpu") and ln[3].isdigit():
                    name, *v = ln.split()
                    v = [int(x) for x in v]
                    out[int(name[3:])] = (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    return out


def background_cores(seconds=1.0, exclude=()):
    """(cores kept busy by other processes over the next `seconds` while this one sleeps,
    the least busy usable CPU not in `exclude` meanwhile)."""
    a, ca = _sys_busy(), _cpu_busy()
    time.sleep(seconds)
    b, cb = _sys_busy(), _cpu_busy()
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(cb)
    per = {c: cb[c] - ca.get(c, 0.0) for c in cb if c in usable and c not in exclude}
    idle_cpu = min(per, key=per.get) if per else None
    return (None if a is None or b is None else max(0.0, (b - a) / seconds)), idle_cpu


def first_call_child(fw):
    return W.first_call_child(fw)


# =============================================================================== driver side

def _worker_env(threads, keep_openblas):
    env = dict(os.environ)
    if not keep_openblas:
        for k in OPENBLAS_FORCING:
            env.pop(k, None)
    n = str(threads)
    env.update(OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, MKL_NUM_THREADS=n,
               FUNCGRAD_BACKEND="c", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="2",
               PYTHONFAULTHANDLER="1")
    xla = env.get("XLA_FLAGS", "")
    if threads == 1:
        xla = (xla + " --xla_cpu_multi_thread_eigen=false "
               "intra_op_parallelism_threads=1").strip()
    if xla:
        env["XLA_FLAGS"] = xla
    env["PYTHONPATH"] = REPO + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _spawn(args, env, timeout):
    """Run `python -m bench.run <args> --_out FILE`; returns (json or None, rc, output tail)."""
    fd, path = tempfile.mkstemp(prefix="fgbench-", suffix=".json")
    os.close(fd)
    cmd = [sys.executable, "-m", "bench.run", *args, "--_out", path]
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, env=env, cwd=REPO, check=False, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        rc, out = p.returncode, p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        rc, out = "timeout", (e.stdout or b"").decode(errors="replace")
    wall = time.perf_counter() - t0
    data = None
    try:
        with open(path) as f:
            txt = f.read()
        if txt:
            data = json.loads(txt)
    except (OSError, ValueError):
        data = None
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass
    if data is not None:
        data["_wall"] = wall
    return data, rc, out[-4000:]


def _rc_text(rc):
    if isinstance(rc, int) and rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            pass
    return f"rc={rc}"


def run_workload(name, threads, opts):
    env = _worker_env(threads, opts.keep_openblas_env)
    rounds = opts.repeat or (4 if opts.quick else 25)
    budget = 0 if opts.repeat else (2.0 if opts.quick else 15.0)
    gap = opts.gap_ms if opts.gap_ms is not None else (AUTO_GAP_MS if threads > 1 else 0.0)
    args = ["--_worker", name, "--_rounds", str(rounds), "--_budget", str(budget),
            "--_gap", str(gap / 1000.0), "--_sample", str(0.03 if opts.quick else 0.05),
            "--frameworks", ",".join(opts.frameworks)]
    if opts.gap_sleep:
        args.append("--_gap_sleep")
    if opts.cpu is not None:
        args += ["--_cpu", str(opts.cpu)]
    if opts.quick:
        args.append("--quick")
    data, rc, out = _spawn(args, env, timeout=300)
    if data is None and "funcgrad" in opts.frameworks:
        # the worker died (a crash in native code?): record it, rerun without funcgrad
        crash = {"status": "error", "error": f"worker process died ({_rc_text(rc)})",
                 "where": "", "traceback": out, "crash": True}
        others = [f for f in opts.frameworks if f != "funcgrad"]
        args[args.index("--frameworks") + 1] = ",".join(others)
        data, rc2, out2 = _spawn(args, env, timeout=300)
        if data is None:
            data = {"workload": name, "frameworks": {}, "error": f"worker died (rc={rc2})",
                    "output": out2}
        data["frameworks"]["funcgrad"] = crash
    elif data is None:
        data = {"workload": name, "frameworks": {}, "error": f"worker died (rc={rc})",
                "output": out}
    if opts.verbose and out.strip():
        print(out)
    data["threads"] = threads
    return data


def _compile_bytecode():
    """Write the bytecode of funcgrad and cdsl, as `pip install` does for an installed
    package (JAX's is in site-packages). A source checkout run with PYTHONDONTWRITEBYTECODE
    set (as on the development machine) would otherwise recompile every module in each
    fresh process, ~0.5 s that no installed user pays."""
    import compileall

    import cdsl
    import funcgrad
    for mod in (funcgrad, cdsl):
        compileall.compile_dir(os.path.dirname(mod.__file__), quiet=2)


def run_first_call(threads, opts):
    _compile_bytecode()
    env = _worker_env(threads, opts.keep_openblas_env)
    # 5 fresh processes each (3 until 2026-12-06: the warm first call's median at two
    # threads was 54 ms in one full run, 41 ms (minimum 32.5) in a run of it alone)
    reps = opts.repeat or (1 if opts.quick else 5)
    fws = [f for f in ("funcgrad", "jax") if f in opts.frameworks]
    jax_missing = None
    if "jax" in fws and importlib.util.find_spec("jax") is None:
        fws.remove("jax")
        jax_missing = "ModuleNotFoundError: No module named 'jax'"
    res = {"workload": "first_call", "threads": threads, "load_before": os.getloadavg(),
           "frameworks": {}}
    runs = {"funcgrad_cold": [], "funcgrad_warm": [], "jax": []}
    errors = {}
    t_start, stat0 = time.perf_counter(), _sys_busy()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    for _ in range(reps):
        cache = tempfile.mkdtemp(prefix="fgbench-cache-")
        try:
            for kind in ("funcgrad_cold", "funcgrad_warm", "jax"):
                fw = "jax" if kind == "jax" else "funcgrad"
                if fw not in fws or kind in errors:
                    continue
                e = dict(env, FUNCGRAD_CACHE_DIR=cache)
                args = ["--_first-call-child", fw]
                if opts.cpu is not None:
                    args += ["--_cpu", str(opts.cpu)]
                data, rc, out = _spawn(args, e, timeout=300)
                if data is None or "error" in data:
                    errors[kind] = {"status": "error",
                                    "error": (data or {}).get("error",
                                                              f"process died (rc={rc})"),
                                    "where": (data or {}).get("where", ""),
                                    "traceback": (data or {}).get("traceback", out)}
                    continue
                runs[kind].append(data)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
    for kind, lst in runs.items():
        if kind in errors:
            res["frameworks"][kind] = errors[kind]
        elif lst:
            med = {k: statistics.median(d[k] for d in lst)
                   for k in ("import", "setup", "first", "second", "_wall")}
            res["frameworks"][kind] = {"status": "ok", "median": med["first"],
                                       "min": min(d["first"] for d in lst), "n": len(lst),
                                       "import": med["import"], "setup": med["setup"],
                                       "second": med["second"], "process": med["_wall"]}
        elif kind == "jax" and jax_missing:
            res["frameworks"][kind] = {"status": "unavailable", "error": jax_missing}
    stat1, ru1 = _sys_busy(), resource.getrusage(resource.RUSAGE_CHILDREN)
    child = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    if stat0 is not None and stat1 is not None:
        wall = time.perf_counter() - t_start
        res["background_cores"] = max(0.0, (stat1 - stat0 - child) / wall)
    res["load_after"] = os.getloadavg()
    return res


# ------------------------------------------------------------------------------- machine

def machine_info():
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cores": os.cpu_count()}
    try:
        info["affinity"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            for ln in f:
                if ln.startswith("model name"):
                    info["cpu"] = ln.split(":", 1)[1].strip()
                    break
        with open("/proc/cpuinfo") as f:
            flags = next((ln for ln in f if ln.startswith("flags")), "")
        info["avx512f"] = " avx512f " in flags + " "
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        info["memory_gib"] = round(kb / 2 ** 20, 1)
    except (OSError, ValueError, IndexError):
        pass
    info["parent_env"] = {k: os.environ.get(k) for k in
                          (*OPENBLAS_FORCING, "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                           "OMP_WAIT_POLICY", "XLA_FLAGS")}
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=REPO, capture_output=True, text=True).stdout.split("\n")
        dirty = [ln[3:] for ln in dirty if ln.strip() and not ln[3:].startswith("bench/")]
        info["git"] = head + (f" + uncommitted changes in {len(dirty)} file(s): "
                              + ", ".join(dirty[:8]) if dirty else "")
    except OSError:
        pass
    return info


# ------------------------------------------------------------------------------- main

def parse(argv):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--workloads", default=",".join(W.ORDER),
                   help="comma-separated subset of: " + ", ".join(W.ORDER))
    p.add_argument("--repeat", type=int, default=0,
                   help="interleaved rounds per workload; a round times a block of 1-10 "
                        "consecutive samples of each framework (default: up to 25 rounds, "
                        "stopped after a 15 s time budget; 4 rounds / 2 s with --quick); "
                        "for first_call, the number of cold/warm/JAX process triples "
                        "(default 3, 1 with --quick)")
    p.add_argument("--threads", default="both", choices=("1", "2", "both"),
                   help="thread setting of the benchmark processes (default: both)")
    p.add_argument("--quick", action="store_true",
                   help="smaller time budget per workload (about 2 s of timing instead of "
                        "15 s; the builds and first calls take as long)")
    p.add_argument("--busy", default="0", metavar="N[,M...]",
                   help="contention: keep N cores busy with spinning processes pinned to "
                        "the last N usable CPUs while each workload runs; a list "
                        "(e.g. 0,1) runs every setting (default 0)")
    p.add_argument("--write", action="store_true", help="rewrite bench/RESULTS.md")
    p.add_argument("--output", metavar="PATH",
                   help="write the markdown report to PATH (in the layout of --write, "
                        "keeping an `## Analysis` section PATH already has) instead of "
                        "bench/RESULTS.md")
    p.add_argument("--frameworks", default="funcgrad,numpy,jax,torch")
    p.add_argument("--gap-ms", type=float, default=None,
                   help="wait before each visit to a framework, letting the previous "
                        f"framework's spinning threads park (default {AUTO_GAP_MS:.0f} with "
                        "2 threads, 0 with 1)")
    p.add_argument("--gap-sleep", action="store_true",
                   help="sleep through the gap instead of spinning (see GAP_SPIN)")
    p.add_argument("--wait-idle", type=float, default=0.0, metavar="S",
                   help="before each workload wait up to S seconds for other processes to "
                        "use < 0.3 cores (the background load is reported either way)")
    p.add_argument("--keep-openblas-env", action="store_true",
                   help="do not unset OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (for comparison)")
    p.add_argument("--no-pin", dest="pin", action="store_false",
                   help="with --threads 1, do not pin the worker processes to one CPU")
    p.add_argument("--json", help="also dump the raw results to this file")
    p.add_argument("-v", "--verbose", action="store_true", help="show worker output")
    p.add_argument("--_worker", help=argparse.SUPPRESS)
    p.add_argument("--_first-call-child", dest="first_call_child", help=argparse.SUPPRESS)
    p.add_argument("--_out", help=argparse.SUPPRESS)
    p.add_argument("--_cpu", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--_rounds", type=int, default=10, help=argparse.SUPPRESS)
    p.add_argument("--_budget", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--_gap", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--_gap_sleep", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--_sample", type=float, default=0.05, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    opts = parse(argv)
    opts.frameworks = [f for f in opts.frameworks.split(",") if f]
    if opts._worker or opts.first_call_child:
        if opts._cpu is not None:
            os.sched_setaffinity(0, {opts._cpu})
        try:
            if opts._worker:
                res = worker(opts._worker, opts.frameworks, opts._rounds, opts._budget,
                             opts._gap, opts._sample, opts.quick, not opts._gap_sleep)
            else:
                res = first_call_child(opts.first_call_child)
        except Exception as e:
            res = _err(e)
        with open(opts._out, "w") as f:
            json.dump(res, f)
        return 0

    names = [n for n in opts.workloads.split(",") if n]
    bad = [n for n in names if n not in W.ORDER]
    if bad:
        sys.exit(f"unknown workload(s) {bad}; choose from {W.ORDER}")
    names = [n for n in W.ORDER if n in names]
    threads = [1, 2] if opts.threads == "both" else [int(opts.threads)]
    try:
        loads = sorted({int(b) for b in opts.busy.split(",") if b.strip()}) or [0]
    except ValueError:
        sys.exit(f"--busy {opts.busy!r}: give a number of cores to keep busy, or a "
                 "comma-separated list such as 0,1")
    for n in loads:
        try:
            busy_cpus(n)
        except ValueError as e:
            sys.exit(str(e))
    if opts.write and opts.output:
        sys.exit("--write and --output both name where the report goes; give one")
    for flag, path in (("--output", opts.output), ("--json", opts.json)):
        # checked now rather than after a run of many minutes
        if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            sys.exit(f"{flag} {path}: the directory {os.path.dirname(os.path.abspath(path))} "
                     "does not exist")
    info = machine_info()
    cmd = "python -m bench " + " ".join(shlex.quote(a) for a in argv)
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load0 = os.getloadavg()
    print(f"# {cmd}  ({date})")
    print("\n".join(ln for ln in machine_text(info, load0, None, {}).splitlines()
                    if not ln.endswith("?")), flush=True)
    results = []
    t_all = time.perf_counter()
    for busy in loads:
        for th in threads:
            for name in names:
                t0 = time.perf_counter()
                res = run_one(name, th, busy, opts)
                results.append(res)
                fr = res.get("frameworks", {})
                summary = ", ".join(f"{fw} {_cell(r)}" for fw, r in fr.items())
                if _check(res):
                    summary += f"; check vs numpy: {_check(res)}"
                if res.get("noisy"):
                    summary += (f"; other processes used {res['other_cores']:.1f} cores")
                print(f"[{setting_label((busy, th))}] {name:<16} {summary}  "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
    load1 = os.getloadavg()
    text = report(results, info, load0, load1, cmd, date)
    print()
    print(text)
    print(f"total {time.perf_counter() - t_all:.0f} s")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"info": info, "results": results}, f, indent=1)
    if opts.write or opts.output:
        path = opts.output or RESULTS
        write_results(text, path)
        print(f"wrote {os.path.relpath(path)}")
    return 0


def run_one(name, threads, busy, opts):
    """Run one workload with `threads` threads while `busy` cores spin; returns its result
    with the load and the background measurements added."""
    t0 = time.perf_counter()
    spin = busy_cpus(busy)
    bg, cpu = background_cores(0.5, exclude=spin)
    while (opts.wait_idle and bg is not None and bg > 0.3
           and time.perf_counter() - t0 < opts.wait_idle):
        bg, cpu = background_cores(1.0, exclude=spin)
    # one thread: pin the worker to the least busy CPU the spinners leave free (XLA sizes
    # its pools from the affinity mask; its thread flags alone leave ~1.5 cores busy)
    opts.cpu = cpu if threads == 1 and opts.pin else None
    with Spinners(busy) as spinners:
        res = (run_first_call(threads, opts) if name == "first_call"
               else run_workload(name, threads, opts))
    res.update(busy=busy, busy_cpus=spinners.cpus, busy_load=spinners.load,
               background_before=bg, pinned_cpu=opts.cpu)
    ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2
    during = res.get("background_cores")
    if during is not None:
        # the spinners are expected load; what is left is other processes
        other = max(0.0, during - (spinners.load if spinners.load is not None else busy))
        res["other_cores"] = other
        res["noisy"] = other > max(ncpu - threads - busy, 0) + NOISY
    else:
        res["noisy"] = False
    return res


if __name__ == "__main__":
    sys.exit(main())
