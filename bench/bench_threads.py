"""funcgrad's threads on a shared CPU: variants side by side, interleaved, with and without a
busy neighbour.

    python -m bench.bench_threads [--workloads cnn_step,mlp_step,mnist1d_step]
        [--trees before=/path/to/old/checkout,after=.] [--threads 1,2] [--busy 0,1]
        [--budget S] [--examples cnn] [--example-args="--smoke"] [--output PATH] [--json PATH]

A variant is a funcgrad checkout (`--trees LABEL=PATH[:VAR=VALUE...]`, default: this one,
extra environment variables after colons) run with 1 or 2 threads (`OMP_NUM_THREADS` and
`OPENBLAS_NUM_THREADS` = n; one thread is also pinned to the least busy CPU the spinners
leave free, as `python -m bench` pins it). For each load setting (`--busy`: N spinning
processes pinned to the last N CPUs, bench/busy.py) every variant of a workload runs in its
own long-lived worker process (built, compiled and called twice first), and the driver
visits the workers in rounds, in an order rotated from round to round, each visit timing a
block of consecutive calls (~0.25 s) after a 100 ms pause (idle threads of the previous
worker go to sleep). So drifting background load hits every variant alike and ratios are
read within one run. Reported per variant: p50, p95, p95/p50, the cores its process kept
busy (CPU time / wall time, spinning included) and the cores other processes (not the
workers, not the spinners) kept busy meanwhile, from /proc/stat.

`--examples` runs `python examples/<name>.py <args>` per variant instead, one untimed run
each first (fills the compile cache), then alternating runs: wall time and CPU time
(user + system, from getrusage of the child).

The workers import funcgrad and the workloads (bench/workloads*.py) from their tree, with
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset and a private FUNCGRAD_CACHE_DIR per run.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
OPENBLAS_FORCING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
BLOCK_SECONDS = 0.25
GAP_SECONDS = 0.1


# ================================================================================ worker

def _worker(name, quick):
    """Build workload `name` for funcgrad, then serve `{"n": k}` requests on stdin: time
    k calls (after one untimed call) and answer one `@@{json}` line."""
    from bench import workloads as W
    wl = W.WORKLOADS[name]
    data = wl.make_data(quick)
    run, _ = wl.builders["funcgrad"](data)
    run()
    t0 = time.perf_counter()
    run()
    first = time.perf_counter() - t0
    try:
        from funcgrad.backends import threads
    except ImportError:
        threads = None
    _reply({"ready": True, "second_call": first})
    for line in sys.stdin:
        req = json.loads(line)
        if req.get("quit"):
            break
        if req.get("plans"):
            _reply({"plans": _plans()})
            continue
        ca = time.process_time()
        run()
        times = []
        c0, w0 = time.process_time(), time.perf_counter()
        for _ in range(int(req["n"])):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        _reply({"times": times, "cpu": time.process_time() - c0,
                "wall": time.perf_counter() - w0, "cpu_all": time.process_time() - ca,
                "info": threads.info() if threads is not None else None})


def _plans():
    """{program name: [its per-program thread decisions]} (funcgrad.backends.threads.Plan;
    absent from older trees)."""
    import gc
    try:
        from funcgrad.backends.c import Executable
    except ImportError:
        return {}
    out = {}
    for o in gc.get_objects():
        plan = getattr(o, "_thread_plan", None) if isinstance(o, Executable) else None
        if plan is not None and plan.calls:
            out.setdefault(o.name, []).append(
                "measuring" if plan.parallel is None else
                "parallel" if plan.parallel else "one thread")
    return out


def _reply(obj):
    sys.stdout.write("@@" + json.dumps(obj) + "\n")
    sys.stdout.flush()


# ================================================================================ driver

def _busy_seconds():
    """Busy CPU seconds of the whole machine so far (/proc/stat), or None."""
    try:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def parse_trees(text):
    """'a=PATH:VAR=V,b=PATH' -> [(label, path, {VAR: V})]."""
    out = []
    for item in [t for t in text.split(",") if t.strip()]:
        label, _, rest = item.partition("=")
        path, *envs = rest.split(":")
        env = {}
        for e in envs:
            k, _, v = e.partition("=")
            env[k] = v
        path = os.path.abspath(path or ".")
        if not os.path.isdir(os.path.join(path, "funcgrad")):
            raise SystemExit(f"--trees {item!r}: {path} holds no funcgrad checkout")
        out.append((label.strip(), path, env))
    return out


def _env(tree, threads, extra, cache):
    env = dict(os.environ)
    for k in OPENBLAS_FORCING:
        env.pop(k, None)
    n = str(threads)
    env.update(OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, MKL_NUM_THREADS=n,
               FUNCGRAD_BACKEND="c", FUNCGRAD_CACHE_DIR=cache, MPLBACKEND="Agg",
               PYTHONPATH=tree)
    env.update(extra)
    return env


def _pin_args(threads, cpu):
    return ["taskset", "-c", str(cpu)] if threads == 1 and cpu is not None else []


class Worker:
    """One long-lived worker process for (variant, workload)."""

    def __init__(self, label, tree, threads, extra, name, quick, cache, cpu):
        self.label, self.threads = label, threads
        cmd = [*_pin_args(threads, cpu), sys.executable, os.path.abspath(__file__),
               "--_worker", name] + (["--quick"] if quick else [])
        self.proc = subprocess.Popen(cmd, cwd=tree, env=_env(tree, threads, extra, cache),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.times, self.cpu, self.wall, self.other, self.infos = [], 0.0, 0.0, [], []
        self.ready = self._read()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith("@@"):
                return json.loads(line[2:])
        raise RuntimeError(f"worker {self.label} exited (rc={self.proc.wait()})")

    def block(self, n):
        self.proc.stdin.write(json.dumps({"n": n}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def plans(self):
        self.proc.stdin.write(json.dumps({"plans": True}) + "\n")
        self.proc.stdin.flush()
        return self._read().get("plans", {})

    def close(self):
        try:
            self.proc.stdin.write(json.dumps({"quit": True}) + "\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def _teams(infos):
    """'2' or '1-2': the team sizes the thread policy chose after each block."""
    teams = sorted({i["team"] for i in infos if i})
    if not teams:
        return ""
    return str(teams[0]) if len(teams) == 1 else f"{teams[0]}-{teams[-1]}"


def _wait_idle(opts, spin):
    """(other processes' cores, the least busy free CPU), after waiting up to
    `--wait-idle` seconds for the others to use under 0.3 cores."""
    from bench.run import background_cores
    t0 = time.perf_counter()
    bg, cpu = background_cores(0.5, exclude=spin)
    while (opts.wait_idle and bg is not None and bg > 0.3
           and time.perf_counter() - t0 < opts.wait_idle):
        bg, cpu = background_cores(1.0, exclude=spin)
    return bg, cpu


def _spinner_cores(spinners):
    return spinners.load if spinners.load is not None else float(len(spinners.cpus))


def run_workload(name, variants, busy, opts, cache):
    """Time every variant of workload `name` under `busy` spinning cores, interleaved."""
    from bench.busy import Spinners, busy_cpus
    spin = busy_cpus(busy)
    bg, cpu = _wait_idle(opts, spin)
    rows = []
    with Spinners(busy) as spinners:
        workers = []
        try:
            for label, tree, threads, extra in variants:
                workers.append(Worker(label, tree, threads, extra, name, opts.quick, cache,
                                      cpu))
            per_call = max(w.ready["second_call"] for w in workers)
            n = max(1, min(50, int(BLOCK_SECONDS / max(per_call, 1e-6))))
            t_end = time.perf_counter() + opts.budget
            r = 0
            while (r < opts.min_rounds or time.perf_counter() < t_end) and r < opts.max_rounds:
                order = workers[r % len(workers):] + workers[:r % len(workers)]
                for w in order:
                    time.sleep(GAP_SECONDS)
                    b0, t0 = _busy_seconds(), time.perf_counter()
                    res = w.block(n)
                    b1, dt = _busy_seconds(), time.perf_counter() - t0
                    w.times += res["times"]
                    w.infos.append(res.get("info"))
                    w.cpu += res["cpu"]
                    w.wall += res["wall"]
                    if b0 is not None and b1 is not None and dt > 0:
                        # machine busy time during the request, less the worker's own and
                        # the spinners' (about one core each)
                        w.other.append(max(0.0, (b1 - b0 - res["cpu_all"]) / dt - len(spin)))
                r += 1
            for w in workers:
                w.plans_seen = w.plans()
        finally:
            for w in workers:
                w.close()
    for w in workers:
        t = sorted(w.times)
        rows.append({
            "workload": name, "busy": busy, "variant": w.label, "threads": w.threads,
            "p50": statistics.median(t), "p95": t[min(len(t) - 1, int(0.95 * len(t)))],
            "n": len(t), "cores_used": w.cpu / w.wall if w.wall else None,
            "other": statistics.mean(w.other) if w.other else None,
            "background_before": bg, "spinners": _spinner_cores(spinners) if busy else 0.0,
            "teams": _teams(w.infos), "info": w.infos[-1] if w.infos else None,
            "plans": getattr(w, "plans_seen", None)})
    return rows


def run_example(name, variants, busy, opts, cache):
    """Wall and CPU time of `python examples/<name>.py` per variant under `busy` cores."""
    from bench.busy import Spinners, busy_cpus
    spin = busy_cpus(busy)
    _, cpu = _wait_idle(opts, spin)
    args = shlex.split(opts.example_args)
    res = {v[0]: {"wall": [], "cpu": [], "other": [], "result": None} for v in variants}

    def once(label, tree, threads, extra):
        cmd = [*_pin_args(threads, cpu), sys.executable,
               os.path.join(tree, "examples", name + ".py"), *args]
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        b0, t0 = _busy_seconds(), time.perf_counter()
        p = subprocess.run(cmd, cwd=tree, env=_env(tree, threads, extra, cache),
                           capture_output=True, text=True, check=False, timeout=1800)
        wall = time.perf_counter() - t0
        b1 = _busy_seconds()
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        if p.returncode != 0:
            raise RuntimeError(f"{name} ({label}) failed: {p.stderr[-2000:]}")
        result = next((ln for ln in reversed(p.stdout.splitlines())
                       if ln.startswith("RESULT")), None)
        other = None if b0 is None or b1 is None else max(
            0.0, (b1 - b0 - cpu_s) / wall - len(spin))
        return wall, cpu_s, other, result

    with Spinners(busy) as spinners:
        for v in variants:
            once(*v)                       # fills the compile cache
        for r in range(opts.example_repeat):
            order = variants[r % len(variants):] + variants[:r % len(variants)]
            for v in order:
                wall, cpu_s, other, result = once(*v)
                d = res[v[0]]
                d["wall"].append(wall)
                d["cpu"].append(cpu_s)
                if other is not None:
                    d["other"].append(other)
                d["result"] = result
    rows = []
    for label, _tree, threads, _extra in variants:
        d = res[label]
        rows.append({"example": name, "busy": busy, "variant": label, "threads": threads,
                     "wall": statistics.median(d["wall"]), "cpu": statistics.median(d["cpu"]),
                     "walls": d["wall"], "other": statistics.mean(d["other"])
                     if d["other"] else None, "result": d["result"],
                     "spinners": _spinner_cores(spinners) if busy else 0.0})
    return rows


# ================================================================================ report

def _ms(t):
    return f"{t * 1e3:.2f}" if t < 1.0 else f"{t * 1e3:.0f}"


def report(rows, ex_rows, trees, head):
    out = [head, ""]
    if rows:
        out += ["| workload | busy cores | variant | p50 ms | p95 ms | p95/p50 | cores used | "
                "other procs | team | p50 vs " + trees[0][0] + " | p50 vs own 1-thread idle |",
                "|---|---|---|---|---|---|---|---|---|---|---|"]
        idx = {(r["workload"], r["busy"], r["variant"]): r for r in rows}
        for r in rows:
            tree = r["variant"].rsplit("/", 1)[0]
            ref = idx.get((r["workload"], r["busy"], f"{trees[0][0]}/{r['threads']}"))
            own1 = idx.get((r["workload"], 0, f"{tree}/1"))
            vs_ref = f"{r['p50'] / ref['p50']:.2f}" if ref and ref is not r else ""
            vs_own = f"{r['p50'] / own1['p50']:.2f}" if own1 and own1 is not r else ""
            other = "" if r["other"] is None else f"{r['other']:.2f}"
            out.append(
                f"| {r['workload']} | {r['busy']} | {r['variant']} | {_ms(r['p50'])} | "
                f"{_ms(r['p95'])} | {r['p95'] / r['p50']:.2f} | {r['cores_used']:.2f} | "
                f"{other} | {r['teams']} | {vs_ref} | {vs_own} |")
        out.append("")
    if ex_rows:
        out += ["| example | busy cores | variant | wall s (median) | CPU s | CPU / wall | "
                "other procs | wall vs " + trees[0][0] + " | walls | RESULT |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        idx = {(r["example"], r["busy"], r["variant"]): r for r in ex_rows}
        for r in ex_rows:
            ref = idx.get((r["example"], r["busy"], f"{trees[0][0]}/{r['threads']}"))
            vs_ref = f"{r['wall'] / ref['wall']:.2f}" if ref and ref is not r else ""
            other = "" if r["other"] is None else f"{r['other']:.2f}"
            walls = " ".join(f"{w:.1f}" for w in r["walls"])
            out.append(f"| {r['example']} | {r['busy']} | {r['variant']} | {r['wall']:.2f} | "
                       f"{r['cpu']:.2f} | {r['cpu'] / r['wall']:.2f} | {other} | {vs_ref} | "
                       f"{walls} | {r['result'] or ''} |")
        out.append("")
    return "\n".join(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="cnn_step,mlp_step,mnist1d_step")
    p.add_argument("--trees", default="this=.", help="LABEL=PATH[:VAR=VALUE...],...")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--busy", default="0,1")
    p.add_argument("--budget", type=float, default=12.0,
                   help="seconds of timing per workload and load setting (all variants)")
    p.add_argument("--min-rounds", type=int, default=4)
    p.add_argument("--max-rounds", type=int, default=200)
    p.add_argument("--quick", action="store_true", help="the workloads' small data")
    p.add_argument("--wait-idle", type=float, default=0.0, metavar="S",
                   help="before each workload wait up to S seconds for other processes to "
                        "use < 0.3 cores")
    p.add_argument("--examples", default="", help="comma-separated examples/<name>.py "
                                                  "to time instead of workloads")
    p.add_argument("--example-args", default="", help="arguments of each example run")
    p.add_argument("--example-repeat", type=int, default=3)
    p.add_argument("--output", help="also write the markdown report here")
    p.add_argument("--json", help="also dump the raw rows here")
    p.add_argument("--_worker", help=argparse.SUPPRESS)
    opts = p.parse_args(argv)
    if opts._worker:
        _worker(opts._worker, opts.quick)
        return 0
    if __package__ in (None, ""):
        sys.path.insert(0, REPO)
    trees = parse_trees(opts.trees)
    threads = [int(t) for t in opts.threads.split(",") if t.strip()]
    loads = [int(b) for b in opts.busy.split(",") if b.strip()]
    variants = [(f"{label}/{th}", path, th, env) for th in threads
                for label, path, env in trees]
    cmd = "python -m bench.bench_threads " + " ".join(shlex.quote(a) for a in
                                                     (argv or sys.argv[1:]))
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load0 = os.getloadavg()
    print(f"# {cmd}  ({date}); load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}",
          flush=True)
    rows, ex_rows = [], []
    with tempfile.TemporaryDirectory(prefix="fg-bench-threads-") as cache:
        for busy in loads:
            if opts.examples:
                for name in [e for e in opts.examples.split(",") if e]:
                    got = run_example(name, variants, busy, opts, cache)
                    ex_rows += got
                    for r in got:
                        print(f"[busy {busy}] {name} {r['variant']}: wall {r['wall']:.2f} s, "
                              f"cpu {r['cpu']:.2f} s, other {r['other']}", flush=True)
            else:
                for name in [w for w in opts.workloads.split(",") if w]:
                    got = run_workload(name, variants, busy, opts, cache)
                    rows += got
                    for r in got:
                        print(f"[busy {busy}] {name} {r['variant']}: p50 {_ms(r['p50'])} ms, "
                              f"p95 {_ms(r['p95'])} ms, cores {r['cores_used']:.2f}, other "
                              f"{r['other'] if r['other'] is None else round(r['other'], 2)}"
                              f", team {r['teams'] or '?'}, plans {r['plans']}", flush=True)
    load1 = os.getloadavg()
    head = (f"`{cmd}` ({date}); load average before {load0[0]:.2f} {load0[1]:.2f} "
            f"{load0[2]:.2f}, after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}; trees: " +
            ", ".join(f"{label} = {path}" + "".join(f" {k}={v}" for k, v in env.items())
                      for label, path, env in trees))
    text = report(rows, ex_rows, trees, head)
    print()
    print(text)
    if opts.output:
        with open(opts.output, "w") as f:
            f.write(text + "\n")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"rows": rows, "examples": ex_rows, "head": head}, f, indent=1)
    return 0


if __name__ == "__main__":
    if __package__ in (None, "") and "--_worker" not in sys.argv:
        sys.path.insert(0, REPO)
    sys.exit(main())
