"""The markdown report of `python -m bench`: one table per setting (thread count x added
load) with p50 / p95 per framework, the targets of the issues, the BLAS / OpenMP pools, the
details per framework, and failures. `write_results` writes it above the `## Analysis`
heading of bench/RESULTS.md (or of another file), keeping the analysis below.

A result is the dict a worker returns (bench/run.py), plus `threads`, `busy` (cores kept
busy by spinning processes), `busy_cpus` and `busy_load` (cores they measured).
"""
from __future__ import annotations

import os

from bench import workloads as W

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "bench", "RESULTS.md")
OPENBLAS_FORCING = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
OTHERS = ("numpy", "jax", "torch")
P95_OVER_P50 = 1.5          # target: p95 <= 1.5 x p50
LOADED_VS_JAX = 1.0         # target under load: funcgrad <= 1.0 x JAX under the same load
LOADED_VS_SELF = 1.15       # ... and <= 1.15 x funcgrad's own 1-thread time without load


# ------------------------------------------------------------------------------- settings

def setting(res):
    """(cores busy, threads) of a result."""
    return res.get("busy", 0), res["threads"]


def settings_of(results):
    return sorted({setting(r) for r in results})


def setting_label(s):
    busy, th = s
    return f"threads = {th}" + (f", {busy} core{'s' if busy > 1 else ''} busy" if busy else "")


def load_text(results):
    """How the load was made for the results of one setting."""
    cpus = next((r.get("busy_cpus") for r in results if r.get("busy_cpus")), None)
    if not cpus:
        return ""
    loads = [r["busy_load"] for r in results if r.get("busy_load") is not None]
    n = len(cpus)
    s = (f"{n} spinning process{'es' if n > 1 else ''} pinned to CPU "
         f"{', '.join(map(str, cpus))} during each workload")
    if loads:
        s += f" (measured {min(loads):.2f}-{max(loads):.2f} cores)"
    return s


# ------------------------------------------------------------------------------- formatting

def fmt_t(t):
    if t is None:
        return "—"
    if t < 1e-3:
        return f"{t * 1e6:.2f} µs"
    if t < 1:
        return f"{t * 1e3:.2f} ms"
    return f"{t:.2f} s"


def fmt_pair(a, b):
    """'2.01 / 2.10 ms': two times in the unit of the first."""
    if b is None:
        return fmt_t(a)
    scale, unit = (1e6, "µs") if a < 1e-3 else (1e3, "ms") if a < 1 else (1.0, "s")
    return f"{a * scale:.2f} / {b * scale:.2f} {unit}"


def fmt_r(x):
    return "—" if x is None else f"{x:.2f}"


def _cell(r, p95=True):
    if r is None:
        return "—"
    st = r.get("status")
    if st == "unavailable":
        return "n/a"
    if st == "error":
        return "**ERROR**"
    if "median" not in r:
        return "—"
    return fmt_pair(r["median"], r.get("p95")) if p95 else fmt_t(r["median"])


def _med(res, fw):
    r = res.get("frameworks", {}).get(fw)
    if r and r.get("status") == "ok" and r.get("median"):
        return r["median"]
    return None


def _ratio(res, fw, mine="funcgrad"):
    a, b = _med(res, mine), _med(res, fw)
    return a / b if a and b else None


def _extra(res):
    s = _extra_metrics(res)
    if res.get("noisy"):
        s = (s + "; " if s else "") + f"⚠ other processes used {_other(res):.1f} cores meanwhile"
    return s


def _other(res):
    """Cores other processes kept busy during the timing, the --busy spinners excluded."""
    v = res.get("other_cores", res.get("background_cores"))
    return 0.0 if v is None else v


def _extra_metrics(res):
    name = res["workload"]
    fr = res.get("frameworks", {})
    bits = []
    gflops = {fw: fr[fw]["metrics"]["GFLOP/s"] for fw in fr
              if "GFLOP/s" in fr[fw].get("metrics", {})}
    if gflops:
        s = "GFLOP/s: " + ", ".join(f"{fw} {v:.0f}" for fw, v in gflops.items())
        if name == "matmul" and "funcgrad" in gflops and "numpy" in gflops:
            s += f"; fg/np GFLOP/s = {gflops['funcgrad'] / gflops['numpy']:.2f}"
        return s
    if name == "elementwise":
        here = None
        for fw in fr:
            m = fr[fw].get("metrics")
            if m:
                bits.append(f"{fw} {m['GB/s']:.1f} GB/s ({m['%floor']:.0f}%)")
                here = m.get("floor_here_s", here)
        s = "vs 3.05 ms floor: " + ", ".join(bits)
        if here is not None:
            s += f"; this machine's floor {fmt_t(here)}: " + ", ".join(
                f"{fw} {fr[fw]['metrics']['%floor_here']:.0f}%" for fw in fr
                if "%floor_here" in fr[fw].get("metrics", {}))
        return s
    if name == "first_call":
        for lbl, kind in (("cold", "funcgrad_cold"), ("warm", "funcgrad_warm"), ("jax", "jax")):
            r = fr.get(kind, {})
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


def table(results, s):
    _, threads = s
    pinned = sorted({r["pinned_cpu"] for r in results if r.get("pinned_cpu") is not None})
    load = load_text(results)
    head = (f"**{setting_label(s)}** (OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = {threads}"
            + (f"; each worker pinned to one CPU ({', '.join(map(str, pinned))})"
               if pinned else "")
            + (f"; load: {load}" if load else "")
            + "; p50 / p95 of the samples; ratio = funcgrad p50 / other p50, < 1 means "
              "funcgrad is faster; first_call: medians)")
    lines = [head, "",
             ("| workload | funcgrad | numpy | jax | torch | fg/np | fg/jax | fg/torch | "
              "notes | check vs numpy (rel err) |"),
             "|---|---|---|---|---|---|---|---|---|---|"]
    for res in results:
        fr = res.get("frameworks", {})
        if res["workload"] == "first_call":
            cells = [(f"cold {_cell(fr.get('funcgrad_cold'), False)} / warm "
                      f"{_cell(fr.get('funcgrad_warm'), False)}"), "—",
                     _cell(fr.get("jax"), False), "—"]
            rat = ["—", (f"cold {fmt_r(_ratio(res, 'jax', 'funcgrad_cold'))}"
                         if _ratio(res, "jax", "funcgrad_cold") else "—"), "—"]
        else:
            cells = [_cell(fr.get(fw)) for fw in ("funcgrad", *OTHERS)]
            rat = [fmt_r(_ratio(res, fw)) for fw in OTHERS]
        lines.append(f"| {res['workload']} | " + " | ".join(cells + rat) +
                     f" | {_extra(res)} | {_check(res)} |")
    return "\n".join(lines)


def detail_table(results):
    lines = [("| setting | workload | framework | p50 | p95 | p95/p50 | min | samples | "
              "busy (cores) | first call | load avg before → after | other processes "
              "(cores; during: --busy spinners excluded) before / during |"),
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for res in results:
        lb, la = res.get("load_before"), res.get("load_after")
        load = f"{lb[0]:.2f} → {la[0]:.2f}" if lb and la else ""
        bb, bd = res.get("background_before"), res.get("other_cores",
                                                        res.get("background_cores"))
        load += " | " + (f"{bb:.2f}" if bb is not None else "?") + " / " + (
            f"{bd:.2f}" if bd is not None else "?")
        for fw, r in res.get("frameworks", {}).items():
            if r.get("status") != "ok":
                continue
            busy = f"{r['busy']:.2f}" if "busy" in r else "—"
            first = fmt_t(r.get("first_s")) if "first_s" in r else "—"
            p95 = r.get("p95")
            spread = f"{p95 / r['median']:.2f}" if p95 and r.get("median") else "—"
            lines.append(f"| {setting_label(setting(res))} | {res['workload']} | {fw} | "
                         f"{fmt_t(r.get('median'))} | {fmt_t(p95)} | {spread} | "
                         f"{fmt_t(r.get('min'))} | {r.get('n', '')} | {busy} | {first} | "
                         f"{load} |")
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
        busy = f" --busy {res['busy']}" if res.get("busy") else ""
        where_run = f"threads={res['threads']}" + (f", busy={res['busy']}" if busy else "")
        if res.get("error"):
            out.append(f"- {res['workload']} ({where_run}): {res['error']}\n"
                       f"  ```\n{_indent(res.get('output', ''))}\n  ```")
        for fw, r in res.get("frameworks", {}).items():
            if r.get("status") == "error":
                repro = (f"python -m bench --workloads {res['workload']} "
                         f"--threads {res['threads']}{busy} --quick")
                where = f" at `{r['where']}`" if r.get("where") else ""
                out.append(f"- **{fw}** in `{res['workload']}` ({where_run}): "
                           f"`{r['error']}`{where}; repro: `{repro}`")
                if r.get("crash") and r.get("traceback", "").strip():
                    out.append(f"  worker output (tail):\n  ```\n{_indent(r['traceback'])}\n  ```")
            c = r.get("check")
            if c and not c["ok"]:
                out.append(f"- **{fw}** in `{res['workload']}` ({where_run}): "
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

def _fg_key(wl):
    """The funcgrad entry compared across settings: the cold first call for first_call."""
    return "funcgrad_cold" if wl == "first_call" else "funcgrad"


def _worst(items, limit, fmt="{:.2f}×"):
    """Cell for 'every workload <= limit': items = [(workload, ratio)]."""
    items = [(w, r) for w, r in items if r is not None]
    if not items:
        return ("—", None)
    w, r = max(items, key=lambda it: it[1])
    over = [x for x, v in items if v > limit]
    txt = f"worst {fmt.format(r)} ({w}) of {len(items)} workload{'s' if len(items) > 1 else ''}"
    if over:
        txt += f"; above {limit:g}: " + ", ".join(over[:5]) + (" …" if len(over) > 5 else "")
    return (txt, not over)


def targets(results):
    """(settings, [(target, {setting: (value text, met or None)})])"""
    by = {(setting(r), r["workload"]): r for r in results}
    sts = settings_of(results)
    rows = []

    def get(s, wl):
        return by.get((s, wl), {"frameworks": {}, "workload": wl})

    def add(label, fn, wl=None, loaded_only=False):
        if wl and not any((s, wl) in by for s in sts):
            return                    # the workload did not run
        vals = {}
        for s in sts:
            if loaded_only and not s[0]:
                vals[s] = ("— (no load)", None)
                continue
            res = get(s, wl) if wl else {}
            fr = res.get("frameworks", {})
            bad = [k for k, r in fr.items() if k.startswith("funcgrad")
                   and r.get("status") == "error"]
            try:
                vals[s] = ("funcgrad failed", False) if bad else fn(s)
            except (KeyError, TypeError, ZeroDivisionError):
                vals[s] = ("—", None)
            if res.get("noisy") and vals[s][1] is not None:
                vals[s] = (vals[s][0] + f" ⚠ (other processes used {_other(res):.1f} cores)",
                           vals[s][1])
        rows.append((label, vals))

    def ratio_target(wl, fw, limit):
        def fn(s):
            r = _ratio(get(s, wl), fw)
            return ("—", None) if r is None else (f"{r:.2f}×", r <= limit)
        return fn

    add("MLP step ≤ 0.75× JAX", ratio_target("mlp_step", "jax", 0.75), "mlp_step")
    add("MLP step ≤ 0.9× NumPy", ratio_target("mlp_step", "numpy", 0.9), "mlp_step")
    for wl, what in (("cnn_step", "CNN step (reduce_window pool)"),
                     ("cnn_step_reshape", "CNN step (reshape pool)"),
                     ("cnn_step_stax", "stax CNN step (BatchNorm)")):
        add(f"{what} ≤ 0.9× JAX", ratio_target(wl, "jax", 0.9), wl)
        add(f"{what} ≤ 0.9× PyTorch", ratio_target(wl, "torch", 0.9), wl)
    add("MNIST-1D CNN step, NumPy batches ≤ 0.9× JAX",
        ratio_target("mnist1d_step", "jax", 0.9), "mnist1d_step")
    add("GRU step, NumPy batches ≤ 0.9× JAX", ratio_target("gru_step", "jax", 0.9), "gru_step")
    add("tiny step (per-call overhead), NumPy batches ≤ 1× JAX",
        ratio_target("tiny_step", "jax", 1.0), "tiny_step")
    add("tiny step with its state donated ≤ 1× JAX",
        ratio_target("tiny_step_donated", "jax", 1.0), "tiny_step_donated")

    def ew_speedup(s):
        r = _ratio(get(s, "elementwise"), "jax")
        return ("—", None) if r is None else (f"{1 / r:.1f}× faster", 1 / r >= 4)
    add("elementwise ≥ 4× faster than JAX", ew_speedup, "elementwise")

    def ew_floor(s):
        m = _med(get(s, "elementwise"), "funcgrad")
        return ("—", None) if m is None else (
            f"{100 * W.BANDWIDTH_FLOOR_S / m:.0f}%", W.BANDWIDTH_FLOOR_S / m >= 0.7)
    add("elementwise ≥ 70% of the 3.05 ms bandwidth floor (Zen 5's copy)", ew_floor,
        "elementwise")

    def ew_floor_here(s):
        r = get(s, "elementwise")
        m = _med(r, "funcgrad")
        here = (((r or {}).get("frameworks", {}).get("funcgrad") or {}).get("metrics")
                or {}).get("floor_here_s")
        return ("—", None) if m is None or here is None else (
            f"{100 * here / m:.0f}% of {fmt_t(here)}", here / m >= 0.7)
    add("elementwise ≥ 70% of this machine's floor (np.add of the same arrays, same "
        "threads)", ew_floor_here, "elementwise")

    def mm(s):
        r = _ratio(get(s, "matmul"), "numpy")
        return ("—", None) if r is None else (f"{100 / r:.0f}%", 1 / r >= 0.9)
    add("matmul ≥ 90% of NumPy's GFLOP/s", mm, "matmul")

    def disp(s):
        m = _med(get(s, "dispatch"), "funcgrad")
        return ("—", None) if m is None else (fmt_t(m), m <= 3e-6)
    add("dispatch ≤ 3 µs", disp, "dispatch")

    def cold(s):
        res = get(s, "first_call")
        a, b = _med(res, "funcgrad_cold"), _med(res, "jax")
        return ("—", None) if not (a and b) else (f"{fmt_t(a)} vs {fmt_t(b)}", a <= b)
    add("first call cold ≤ JAX's", cold, "first_call")

    def warm(s):
        m = _med(get(s, "first_call"), "funcgrad_warm")
        return ("—", None) if m is None else (fmt_t(m), m <= 0.05)
    add("first call warm ≤ 50 ms", warm, "first_call")
    add("RNN ≤ 0.9× JAX", ratio_target("rnn", "jax", 0.9), "rnn")
    add("RNN ≤ NumPy BPTT", ratio_target("rnn", "numpy", 1.0), "rnn")
    add("log_softmax ≤ PyTorch", ratio_target("log_softmax", "torch", 1.0), "log_softmax")

    def spread(s):
        items = []
        for (s2, wl), res in by.items():
            r = res.get("frameworks", {}).get("funcgrad", {})
            if s2 == s and r.get("p95") and r.get("median"):
                items.append((wl, r["p95"] / r["median"]))
        return _worst(items, P95_OVER_P50)
    add(f"funcgrad p95 ≤ {P95_OVER_P50:g}× p50, every workload", spread)

    def loaded_vs_jax(s):
        return _worst([(wl, _ratio(res, "jax", _fg_key(wl))) for (s2, wl), res in by.items()
                       if s2 == s], LOADED_VS_JAX)
    add(f"under load: every workload ≤ {LOADED_VS_JAX:g}× JAX (same load)", loaded_vs_jax,
        loaded_only=True)

    def loaded_vs_self(s):
        if not any(s2 == (0, 1) for s2 in sts):
            return ("— (run with --busy 0,1 --threads both)", None)
        return _worst(self_ratios(by, s), LOADED_VS_SELF)
    add(f"under load: every workload ≤ {LOADED_VS_SELF:g}× funcgrad's own 1-thread time "
        "without load", loaded_vs_self, loaded_only=True)
    return sts, rows


def self_ratios(by, s):
    """[(workload, funcgrad p50 in setting s / funcgrad p50 with 1 thread and no load)]"""
    out = []
    for (s2, wl), res in by.items():
        if s2 != s:
            continue
        k = _fg_key(wl)
        base = _med(by.get(((0, 1), wl), {}), k)
        mine = _med(res, k)
        out.append((wl, mine / base if mine and base else None))
    return out


def targets_table(results):
    sts, rows = targets(results)
    head = "| target | " + " | ".join(setting_label(s) for s in sts) + " |"
    lines = [head, "|---|" + "---|" * len(sts)]
    for label, vals in rows:
        cells = []
        for s in sts:
            txt, ok = vals[s]
            cells.append(f"{txt} — {'met' if ok else 'NOT met'}" if ok is not None else txt)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load_table(results):
    """Under load, per workload: funcgrad against JAX under the same load and against its
    own 1-thread time without load. Empty when no setting had load."""
    by = {(setting(r), r["workload"]): r for r in results}
    loaded = [s for s in settings_of(results) if s[0]]
    if not loaded:
        return ""
    lines = ["| workload | " + " | ".join(f"{setting_label(s)}: fg/jax | fg / fg(threads = 1, "
                                          "no load)" for s in loaded) + " |",
             "|---|" + "---|---|" * len(loaded)]
    names = [wl for wl in W.ORDER if any((s, wl) in by for s in loaded)]
    for wl in names:
        cells = []
        for s in loaded:
            res = by.get((s, wl), {})
            cells.append(fmt_r(_ratio(res, "jax", _fg_key(wl))) if res else "—")
            base = _med(by.get(((0, 1), wl), {}), _fg_key(wl))
            mine = _med(res, _fg_key(wl)) if res else None
            cells.append(f"{mine / base:.2f}" if mine and base else "—")
        lines.append(f"| {wl} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------- report

def machine_text(info, load0, load1, versions):
    env = info.get("parent_env", {})
    forced = ", ".join(f"{k}={env[k]}" for k in OPENBLAS_FORCING if env.get(k))
    lines = [
        (f"- CPU: {info.get('cpu', '?')}, {info.get('cores')} logical cores "
         f"({info.get('affinity', '?')} usable), AVX-512: {info.get('avx512f')}, "
         f"{info.get('memory_gib', '?')} GiB RAM"),
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


def report(results, info, load0, load1, cmd, date):
    versions = {}
    for res in results:
        versions.update(res.get("versions", {}))
    parts = [f"Command: `{cmd}`", f"Date: {date}", "", "### Machine", "",
             machine_text(info, load0, load1, versions)]
    for s in settings_of(results):
        lt = load_text([r for r in results if setting(r) == s])
        if lt:
            parts.append(f"- Load added for {setting_label(s)} (`--busy {s[0]}`): {lt}")
    parts.append("")
    for s in settings_of(results):
        parts += [table([r for r in results if setting(r) == s], s), ""]
    parts += ["### Targets (from the issues)", "", targets_table(results), ""]
    lt = load_table(results)
    if lt:
        parts += ["### Under load, per workload", "", lt, ""]
    parts += ["### BLAS / OpenMP thread pools seen by threadpoolctl in the workers", "",
              pools_text([r for r in results if r.get("pools")]), ""]
    parts += [("### Details (p50, p95, min, samples, busy cores, first call incl. "
               "trace/compile, load)"), "", detail_table(results), ""]
    f = failures(results)
    u = unavailable(results)
    parts += ["### funcgrad failures and check failures", ""]
    parts += f if f else ["None."]
    if u:
        parts += [""] + u
    return "\n".join(parts) + "\n"


def write_results(text, path=RESULTS):
    """Write the report above the `## Analysis` heading of `path`, keeping the analysis."""
    keep = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
        i = old.find("\n## Analysis\n")
        if i >= 0:
            keep = old[i:]
    head = ("# funcgrad benchmark results\n\n"
            "Written by `python -m bench --write` (bench/run.py describes the method). "
            "Everything above the `## Analysis` heading is regenerated on each `--write`; "
            "the analysis below it is kept.\n\n## Latest full run\n\n")
    with open(path, "w") as f:
        f.write(head + text + (keep if keep else
                               "\n## Analysis\n\n(to be written by the lead)\n"))
