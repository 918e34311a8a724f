"""Benchmark harness: funcgrad (C backend) vs NumPy, JAX (CPU, jit) and PyTorch (eager).

    python -m bench [--workloads a,b] [--repeat N] [--threads 1|2|both] [--quick] [--write]

Method
- One fresh worker process per (workload, thread setting). Inside it every available
  framework is built from the same NumPy data, run twice (the first call, including any
  trace/compile, is recorded separately), cross-checked once against the NumPy result,
  and then timed in interleaved rounds: each round times one sample of every framework, in an
  order rotated from round to round, so drifting background load hits all alike.
- A sample is `time.perf_counter()` around one call that returns a materialised result
  (`block_until_ready` for funcgrad and JAX). `dispatch` times 2000 calls per sample and
  reports per-call time. Reported: median and min over samples; ratios are funcgrad's
  median / the other framework's median (< 1: funcgrad is faster). "busy" is process CPU time
  / wall time during the samples (how many cores the framework kept busy, spinning included).
- Worker processes get `OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` removed (they force the AVX2
  kernel on the development machine), `OMP_NUM_THREADS`, `OPENBLAS_NUM_THREADS`,
  `MKL_NUM_THREADS` = the thread setting, `torch.set_num_threads(n)`, and for one thread
  XLA's `--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1` plus pinning to
  the least busy CPU (`--no-pin` to skip; XLA otherwise keeps ~1.5 cores busy). The OpenBLAS
  kernel that actually ran (threadpoolctl) is reported.
- With two threads every visit to a framework starts after a 150 ms sleep (`--gap-ms`), so
  the previous framework's idle worker threads have stopped spinning, and blocks of several
  samples start with one untimed call. Other processes' CPU use is measured from /proc/stat
  before and during each workload and flagged when above 0.25 cores (this 2-core machine is
  shared; 2-thread results are only meaningful when it is otherwise idle; `--wait-idle S`).
- `first_call` runs fresh processes: funcgrad with a new empty FUNCGRAD_CACHE_DIR ("cold"),
  funcgrad again with that same directory ("warm"), and JAX; interleaved, repeated. "first" is
  the time of the first call of the jitted MLP step (trace + compile + run) after import and
  data placement; import time and the whole process wall time are reported beside it.

JAX, PyTorch and threadpoolctl are optional (import-guarded); a missing one is reported.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import shlex
import resource
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

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "bench", "RESULTS.md")
OPENBLAS_FORCING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
OTHERS = ("numpy", "jax", "torch")
# Sleep before each visit to a framework in the 2-thread runs. OpenBLAS's idle worker threads
# spin for 2^28 TSC ticks (~0.1 s) before sleeping, libgomp's for ~300k iterations; a
# framework timed while another one's pool still spins loses one of the two cores, and a
# spinning barrier on an oversubscribed core costs a scheduler slice: 10-50x slowdowns.
AUTO_GAP_MS = 150.0
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


def worker(name, frameworks, rounds, budget_s, gap_s, sample_s, quick):
    import numpy as np  # noqa: F401
    res = {"workload": name, "load_before": os.getloadavg(), "frameworks": {},
           "env": {k: os.environ.get(k) for k in
                   ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "XLA_FLAGS",
                    "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "FUNCGRAD_BACKEND")}}
    wl = W.WORKLOADS[name]
    data = wl.make_data(quick)
    runs, ref = {}, None
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
            cal = [t3 - t2]
            for _ in range(2):
                t4 = time.perf_counter()
                run()
                cal.append(time.perf_counter() - t4)
            r.update(status="ok", build_s=t1 - t0, first_s=(t2 - t1) / wl.inner,
                     second_s=min(cal) / wl.inner)
            got = to_np(out)
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
            if gap_s:
                time.sleep(gap_s)
            try:
                if blocks[fw] > 1:
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
        r["median"] = statistics.median(s)
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


def background_cores(seconds=1.0):
    """(cores kept busy by other processes over the next `seconds` while this one sleeps,
    the least busy usable CPU meanwhile)."""
    a, ca = _sys_busy(), _cpu_busy()
    time.sleep(seconds)
    b, cb = _sys_busy(), _cpu_busy()
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(cb)
    per = {c: cb[c] - ca.get(c, 0.0) for c in cb if c in usable}
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


def run_first_call(threads, opts):
    env = _worker_env(threads, opts.keep_openblas_env)
    reps = opts.repeat or (1 if opts.quick else 3)
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


# ------------------------------------------------------------------------------- formatting

def fmt_t(t):
    if t is None:
        return "—"
    if t < 1e-3:
        return f"{t * 1e6:.2f} µs"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def fmt_r(x):
    return "—" if x is None else f"{x:.2f}"


def _cell(r):
    if r is None:
        return "—"
    st = r.get("status")
    if st == "unavailable":
        return "n/a"
    if st == "error":
        return "**ERROR**"
    if "median" not in r:
        return "—"
    return fmt_t(r["median"])


def _med(res, fw):
    r = res.get("frameworks", {}).get(fw)
    if r and r.get("status") == "ok" and r.get("median"):
        return r["median"]
    return None


def _ratio(res, fw):
    a, b = _med(res, "funcgrad"), _med(res, fw)
    return a / b if a and b else None


def _extra(res):
    s = _extra_metrics(res)
    bg = res.get("background_cores")
    if res.get("noisy"):
        s = (s + "; " if s else "") + f"⚠ other processes used {bg:.1f} cores meanwhile"
    return s


def _extra_metrics(res):
    name = res["workload"]
    fr = res.get("frameworks", {})
    bits = []
    if name == "matmul":
        g = {fw: fr[fw]["metrics"]["GFLOP/s"] for fw in fr if "metrics" in fr[fw]}
        bits = [f"{fw} {v:.0f}" for fw, v in g.items()]
        s = "GFLOP/s: " + ", ".join(bits)
        if "funcgrad" in g and "numpy" in g:
            s += f"; fg/np GFLOP/s = {g['funcgrad'] / g['numpy']:.2f}"
        return s
    if name == "elementwise":
        for fw in fr:
            m = fr[fw].get("metrics")
            if m:
                bits.append(f"{fw} {m['GB/s']:.1f} GB/s ({m['%floor']:.0f}%)")
        return "vs 3.05 ms floor: " + ", ".join(bits)
    if name == "first_call":
        f = fr.get("funcgrad_warm", {})
        c = fr.get("funcgrad_cold", {})
        j = fr.get("jax", {})
        for lbl, r in (("cold", c), ("warm", f), ("jax", j)):
            if r.get("status") == "ok":
                bits.append(f"{lbl}: import {fmt_t(r['import'])}, 2nd call "
                            f"{fmt_t(r['second'])}, process {fmt_t(r['process'])}")
        return "; ".join(bits)
    return ""


def _check(res):
    fr = res.get("frameworks", {})
    out = []
    for fw in ("funcgrad", "jax", "torch"):
        c = fr.get(fw, {}).get("check")
        if c:
            out.append(f"{fw} {'ok' if c['ok'] else 'FAIL'} {c['rel_err']:.1e}")
    return ", ".join(out)


def table(results, threads):
    pinned = any(r.get("pinned_cpu") is not None for r in results)
    lines = [f"**threads = {threads}** (OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = {threads}"
             f"{'; each worker pinned to one CPU' if pinned else ''}; medians; ratio = "
             "funcgrad / other, < 1 means funcgrad is faster)", "",
             "| workload | funcgrad | numpy | jax | torch | fg/np | fg/jax | fg/torch | "
             "notes | check vs numpy (rel err) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for res in results:
        fr = res.get("frameworks", {})
        if res["workload"] == "first_call":
            cells = [f"cold {_cell(fr.get('funcgrad_cold'))} / warm "
                     f"{_cell(fr.get('funcgrad_warm'))}", "—", _cell(fr.get("jax")), "—"]
            jx = _med(res, "jax")
            rat = ["—", (f"cold {fmt_r(_med(res, 'funcgrad_cold') / jx)}"
                         if jx and _med(res, "funcgrad_cold") else "—"), "—"]
        else:
            cells = [_cell(fr.get(fw)) for fw in ("funcgrad", *OTHERS)]
            rat = [fmt_r(_ratio(res, fw)) for fw in OTHERS]
        lines.append(f"| {res['workload']} | " + " | ".join(cells + rat) +
                     f" | {_extra(res)} | {_check(res)} |")
    return "\n".join(lines)


def detail_table(results):
    lines = ["| threads | workload | framework | median | min | samples | busy (cores) | "
             "first call | load avg before → after | other processes (cores) before / "
             "during |", "|---|---|---|---|---|---|---|---|---|---|"]
    for res in results:
        lb, la = res.get("load_before"), res.get("load_after")
        load = f"{lb[0]:.2f} → {la[0]:.2f}" if lb and la else ""
        bb, bd = res.get("background_before"), res.get("background_cores")
        load += " | " + (f"{bb:.2f}" if bb is not None else "?") + " / " + (
            f"{bd:.2f}" if bd is not None else "?")
        for fw, r in res.get("frameworks", {}).items():
            if r.get("status") != "ok":
                continue
            busy = f"{r['busy']:.2f}" if "busy" in r else "—"
            first = fmt_t(r.get("first_s")) if "first_s" in r else "—"
            lines.append(f"| {res['threads']} | {res['workload']} | {fw} | "
                         f"{fmt_t(r.get('median'))} | {fmt_t(r.get('min'))} | "
                         f"{r.get('n', '')} | {busy} | {first} | {load} |")
    return "\n".join(lines)


def pools_text(results):
    seen = {}
    for res in results:
        for p in res.get("pools", []):
            key = (res["threads"], p.get("filepath"), p.get("prefix"))
            seen[key] = p
    lines = ["| threads | library | kernel (architecture) | threads in pool | version |",
             "|---|---|---|---|---|"]
    for (th, path, prefix), p in sorted(seen.items(), key=lambda kv: str(kv[0])):
        if "error" in p:
            lines.append(f"| {th} | {p['error']} | | | |")
            continue
        lib = os.path.basename(path or "") or prefix
        owner = ""
        if path and "numpy" in path:
            owner = " (numpy)"
        elif path and "scipy_openblas32" in path:
            owner = " (funcgrad)"
        elif path and "torch" in path:
            owner = " (torch)"
        elif prefix == "libgomp" and path and path.startswith("/usr"):
            owner = " (funcgrad's OpenMP)"
        lines.append(f"| {th} | {lib}{owner} | {p.get('architecture') or '—'} | "
                     f"{p.get('num_threads')} | {p.get('version') or '—'} |")
    return "\n".join(lines)


def failures(results):
    out = []
    for res in results:
        if res.get("error"):
            out.append(f"- {res['workload']} (threads={res['threads']}): {res['error']}\n"
                       f"  ```\n{_indent(res.get('output', ''))}\n  ```")
        for fw, r in res.get("frameworks", {}).items():
            if r.get("status") == "error":
                repro = (f"python -m bench --workloads {res['workload']} "
                         f"--threads {res['threads']} --quick")
                where = f" at `{r['where']}`" if r.get("where") else ""
                out.append(f"- **{fw}** in `{res['workload']}` (threads={res['threads']}): "
                           f"`{r['error']}`{where}; repro: `{repro}`")
                if r.get("crash") and r.get("traceback", "").strip():
                    out.append(f"  worker output (tail):\n  ```\n{_indent(r['traceback'])}\n  ```")
            c = r.get("check")
            if c and not c["ok"]:
                out.append(f"- **{fw}** in `{res['workload']}` (threads={res['threads']}): "
                           f"result differs from NumPy: rel err {c['rel_err']:.2e} > tol "
                           f"{c.get('tol')} {c.get('why') or ''}")
    return out


def _indent(s):
    return "\n".join("  " + ln for ln in s.strip().splitlines()[-25:])


def unavailable(results):
    miss = {}
    for res in results:
        for fw, r in res.get("frameworks", {}).items():
            if r.get("status") == "unavailable":
                miss[fw] = r["error"]
    return [f"- {fw} not available ({e}): its columns are n/a" for fw, e in miss.items()]


# ------------------------------------------------------------------------------- targets

def targets(results):
    """[(target, {threads: (value text, met or None)})]"""
    by = {}
    for res in results:
        by[(res["threads"], res["workload"])] = res
    ths = sorted({res["threads"] for res in results})
    rows = []

    def add(label, fn, wl):
        vals = {}
        for th in ths:
            fr = by.get((th, wl), {}).get("frameworks", {})
            bad = [k for k, r in fr.items() if k.startswith("funcgrad")
                   and r.get("status") == "error"]
            try:
                vals[th] = ("funcgrad failed", False) if bad else fn(th)
            except (KeyError, TypeError, ZeroDivisionError):
                vals[th] = ("—", None)
            bg = by.get((th, wl), {}).get("background_cores")
            if by.get((th, wl), {}).get("noisy") and vals[th][1] is not None:
                vals[th] = (vals[th][0] + f" ⚠ (other processes used {bg:.1f} cores)",
                            vals[th][1])
        rows.append((label, vals))

    def get(th, wl):
        return by.get((th, wl), {"frameworks": {}, "workload": wl})

    def ratio_target(wl, fw, limit):
        def fn(th):
            r = _ratio(get(th, wl), fw)
            return ("—", None) if r is None else (f"{r:.2f}×", r <= limit)
        return fn

    add("MLP step ≤ 0.75× JAX", ratio_target("mlp_step", "jax", 0.75), "mlp_step")
    add("MLP step ≤ 0.9× NumPy", ratio_target("mlp_step", "numpy", 0.9), "mlp_step")
    add("CNN step ≤ 0.9× JAX", ratio_target("cnn_step", "jax", 0.9), "cnn_step")

    def ew_speedup(th):
        r = _ratio(get(th, "elementwise"), "jax")
        return ("—", None) if r is None else (f"{1 / r:.1f}× faster", 1 / r >= 4)
    add("elementwise ≥ 4× faster than JAX", ew_speedup, "elementwise")

    def ew_floor(th):
        m = _med(get(th, "elementwise"), "funcgrad")
        return ("—", None) if m is None else (
            f"{100 * W.BANDWIDTH_FLOOR_S / m:.0f}%", W.BANDWIDTH_FLOOR_S / m >= 0.7)
    add("elementwise ≥ 70% of the 3.05 ms bandwidth floor", ew_floor, "elementwise")

    def mm(th):
        r = _ratio(get(th, "matmul"), "numpy")
        return ("—", None) if r is None else (f"{100 / r:.0f}%", 1 / r >= 0.9)
    add("matmul ≥ 90% of NumPy's GFLOP/s", mm, "matmul")

    def disp(th):
        m = _med(get(th, "dispatch"), "funcgrad")
        return ("—", None) if m is None else (fmt_t(m), m <= 3e-6)
    add("dispatch ≤ 3 µs", disp, "dispatch")

    def cold(th):
        res = get(th, "first_call")
        a, b = _med(res, "funcgrad_cold"), _med(res, "jax")
        return ("—", None) if not (a and b) else (f"{fmt_t(a)} vs {fmt_t(b)}", a <= b)
    add("first call cold ≤ JAX's", cold, "first_call")

    def warm(th):
        m = _med(get(th, "first_call"), "funcgrad_warm")
        return ("—", None) if m is None else (fmt_t(m), m <= 0.05)
    add("first call warm ≤ 50 ms", warm, "first_call")
    add("RNN ≤ 0.9× JAX", ratio_target("rnn", "jax", 0.9), "rnn")
    add("RNN ≤ NumPy BPTT", ratio_target("rnn", "numpy", 1.0), "rnn")
    add("log_softmax ≤ PyTorch", ratio_target("log_softmax", "torch", 1.0), "log_softmax")
    return ths, rows


def targets_table(results):
    ths, rows = targets(results)
    head = "| target | " + " | ".join(f"threads = {t}" for t in ths) + " |"
    lines = [head, "|---|" + "---|" * len(ths)]
    for label, vals in rows:
        cells = []
        for t in ths:
            txt, ok = vals[t]
            cells.append(f"{txt} — {'met' if ok else 'NOT met'}" if ok is not None
                         else f"{txt} (no data)")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def machine_text(info, load0, load1, versions):
    env = info.get("parent_env", {})
    forced = ", ".join(f"{k}={env[k]}" for k in OPENBLAS_FORCING if env.get(k))
    lines = [
        f"- CPU: {info.get('cpu', '?')}, {info.get('cores')} logical cores "
        f"({info.get('affinity', '?')} usable), AVX-512: {info.get('avx512f')}, "
        f"{info.get('memory_gib', '?')} GiB RAM",
        f"- OS: {info['platform']}; Python {info['python']}",
        "- Versions: " + (", ".join(f"{k} {v}" for k, v in versions.items()) or "?"),
        f"- funcgrad source: git {info.get('git') or '?'}",
        f"- Load average (1/5/15 min): before {_load(load0)}, after {_load(load1)}",
        ("- The benchmark processes ran with " + " and ".join(OPENBLAS_FORCING) +
         " unset" + (f" (the parent environment has {forced})" if forced else "") +
         "; OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = MKL_NUM_THREADS = the thread setting."),
    ]
    return "\n".join(lines)


def _load(x):
    return "/".join(f"{v:.2f}" for v in x) if x else "?"


def report(results, info, load0, load1, cmd, date, opts):
    versions = {}
    for res in results:
        versions.update(res.get("versions", {}))
    parts = [f"Command: `{cmd}`", f"Date: {date}", "", "### Machine", "",
             machine_text(info, load0, load1, versions), ""]
    ths = sorted({r["threads"] for r in results})
    for th in ths:
        parts += [table([r for r in results if r["threads"] == th], th), ""]
    parts += ["### Targets (from the issue)", "", targets_table(results), ""]
    parts += ["### BLAS / OpenMP thread pools seen by threadpoolctl in the workers", "",
              pools_text([r for r in results if r.get("pools")]), ""]
    parts += ["### Details (min, samples, busy cores, first call incl. trace/compile, load)",
              "", detail_table(results), ""]
    f = failures(results)
    u = unavailable(results)
    parts += ["### funcgrad failures and check failures", ""]
    parts += f if f else ["None."]
    if u:
        parts += [""] + u
    return "\n".join(parts) + "\n"


def write_results(text):
    keep = ""
    if os.path.exists(RESULTS):
        with open(RESULTS) as f:
            old = f.read()
        i = old.find("\n## Analysis\n")
        if i >= 0:
            keep = old[i:]
    head = ("# funcgrad benchmark results\n\n"
            "Written by `python -m bench --write` (bench/run.py describes the method). "
            "Everything above the `## Analysis` heading is regenerated on each `--write`; "
            "the analysis below it is kept.\n\n## Latest full run\n\n")
    with open(RESULTS, "w") as f:
        f.write(head + text + (keep if keep else
                               "\n## Analysis\n\n(to be written by the lead)\n"))


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
    p.add_argument("--quick", action="store_true", help="smaller time budget (~2 minutes)")
    p.add_argument("--write", action="store_true", help="rewrite bench/RESULTS.md")
    p.add_argument("--frameworks", default="funcgrad,numpy,jax,torch")
    p.add_argument("--gap-ms", type=float, default=None,
                   help="sleep before each visit to a framework, letting the previous "
                        f"framework's spinning threads park (default {AUTO_GAP_MS:.0f} with "
                        "2 threads, 0 with 1)")
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
                             opts._gap, opts._sample, opts.quick)
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
    info = machine_info()
    cmd = "python -m bench " + " ".join(shlex.quote(a) for a in argv)
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load0 = os.getloadavg()
    print(f"# {cmd}  ({date})")
    print("\n".join(ln for ln in machine_text(info, load0, None, {}).splitlines()
                    if not ln.endswith("?")), flush=True)
    results = []
    t_all = time.perf_counter()
    for th in threads:
        for name in names:
            t0 = time.perf_counter()
            bg, cpu = background_cores(0.5)
            while (opts.wait_idle and bg is not None and bg > 0.3
                   and time.perf_counter() - t0 < opts.wait_idle):
                bg, cpu = background_cores(1.0)
            # one thread: pin the worker to the least busy CPU (XLA sizes its pools from
            # the affinity mask; its thread flags alone leave ~1.5 cores busy)
            opts.cpu = cpu if th == 1 and opts.pin else None
            res = (run_first_call(th, opts) if name == "first_call"
                   else run_workload(name, th, opts))
            res["background_before"] = bg
            res["pinned_cpu"] = opts.cpu
            ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 2
            during = res.get("background_cores")
            res["noisy"] = during is not None and during > ncpu - th + NOISY
            results.append(res)
            fr = res.get("frameworks", {})
            summary = ", ".join(f"{fw} {_cell(r)}" for fw, r in fr.items())
            if _check(res):
                summary += f"; check vs numpy: {_check(res)}"
            if res.get("noisy"):
                summary += f"; other processes used {res['background_cores']:.1f} cores"
            print(f"[threads={th}] {name:<12} {summary}  ({time.perf_counter() - t0:.0f} s)",
                  flush=True)
    load1 = os.getloadavg()
    text = report(results, info, load0, load1, cmd, date, opts)
    print()
    print(text)
    print(f"total {time.perf_counter() - t_all:.0f} s")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"info": info, "results": results}, f, indent=1)
    if opts.write:
        write_results(text)
        print(f"wrote {os.path.relpath(RESULTS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
