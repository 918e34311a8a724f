"""How many threads compiled C code uses, and how its idle threads wait.

Compiled programs run their big loops with OpenMP (libgomp, `#pragma omp parallel for`) and
their GEMMs split over the same threads. On a machine shared with other processes two
libgomp defaults hurt (measured in issue 15): idle worker threads spin for ~300,000
iterations (milliseconds) after every parallel region, stealing the core another process
needs, and every region uses a team as large as the machine, so one worker that the
kernel descheduled in favour of a busy neighbour stalls the whole step (2-10x slower,
p95 many times the median). This module owns both decisions:

- Waiting. `configure_openmp()` (run when the C backend is imported, before any compiled
  module loads) loads libgomp with a short bounded spin (`GOMP_SPINCOUNT`, then sleep),
  unless the user set `OMP_WAIT_POLICY` or `GOMP_SPINCOUNT`: libgomp reads them once, when
  it initialises, so they are set only around that load and restored afterwards (child
  processes and other libraries see the user's environment).
- Team size. `prepare()` runs before compiled code; it gives the calling thread's team the
  size `team_size()` computes: the cores this process may use (the
  `sched_getaffinity` mask, the cgroup CPU quota, `OMP_NUM_THREADS` as a cap), less the
  cores other processes kept busy over the last ~100 ms (from `/proc/stat`, sampled at
  most every 100 ms), or exactly the count the user fixed with
  `funcgrad.config.update("cpu_threads", n)` / `FUNCGRAD_NUM_THREADS`. The size goes to
  cdsl's runtime library (`cdsl.runtime.team_setter`), per thread, and every compiled
  module and prebuilt eager kernel sizes its parallel regions by it (`num_threads(...)`),
  never to libgomp's own per-thread default (`omp_set_num_threads`): PyTorch shares the
  system libgomp and reads and sets that default, so funcgrad's choice became PyTorch's
  thread count, and PyTorch's funcgrad's (issue 15).
- The big team. A parallel loop marked `big_team` (cdsl's `For.big_team`: the dynamically
  scheduled chunks of a GEMM or a convolution of at least `gemm.BIG_TEAM_MIN`
  multiply-adds) runs on every usable core even while other processes keep some busy: its
  threads take chunks as they finish, so one that shares its CPU takes fewer, and the
  loop waits only for that thread's last chunk (1024^3 with one core busy: 16 ms with two
  threads against 20 with one, at 1.08x the CPU).
  `prepare` sets it beside the team (`set_big_team`); a program whose plan runs it on one
  thread runs its big loops on one thread too.
- Whether a program uses more than one thread at all. Each compiled program has a `Plan`:
  its first calls alternate between the full team and one thread, and it keeps the team
  only when that makes it at least `SPEEDUP_MIN` times faster at no more than `CPU_MAX`
  times the CPU time (the caller's and its workers', `cpu_clock`), so programs whose
  parallel loops are too small to pay for waking threads do not burn a second core.
  Which loops go parallel is decided by their work (the lowering's thresholds, and the rendered
  `if(...)` clause of cdsl's `Dialect.parallel_work`).

`info()` reports what was decided and why.
"""
from __future__ import annotations

import ctypes
import math
import os
import threading
import time
import warnings

from .. import config

__all__ = [
    "LoadMeter",
    "Plan",
    "available_cores",
    "cgroup_cpu_limit",
    "configure_openmp",
    "cores_from",
    "done",
    "info",
    "policy_team",
    "prepare",
    "team_size",
]

# Spin iterations an idle libgomp thread waits before sleeping in the kernel. One iteration
# (a `pause`) takes ~23 ns on the AMD Zen 5 VM of 2026-12-04 (~30 on Zen 3), so ~0.25 ms:
# long enough that the threads of a team stay awake across a step's parallel regions,
# short enough that an idle worker soon gives its core back (libgomp's default, 300,000
# iterations, is ~7-9 ms). It was 2000 (~50 us) until 2026-12-04: on these VMs waking a
# sleeping thread on an idle vCPU takes 20 to several hundred us, and once one thread of a
# pair slept the other overshot its spin at the next barrier too, so each region paid a
# wake-up or two and the pair stayed in that state: the MLP step with two threads took
# 2.7-2.9 ms (against 2.0 on one thread and 1.1 when it stays awake) in 5 of 6 rounds of a
# process that ran other frameworks between rounds; with 5000-30000 iterations, 1.1-1.3 ms
# in each round (`GOMP_SPINCOUNT=...`, the MLP step of `bench` alternating with NumPy, JAX
# and PyTorch after 150 ms pauses, 2 vCPUs otherwise idle).
SPIN_COUNT = 10000
# Other processes' load (in cores) that does not yet cost us a thread: below it the kernel
# scheduler still lets every thread of a team run.
LOAD_SLACK = 0.25
SAMPLE_SECONDS = 0.1
# A window longer than this in which this process used under ACTIVE_SHARE of a core
# measured other processes while we were idle (between training steps, or another process
# taking turns with us): they did not compete with us, so it is not counted.
IDLE_WINDOW = 0.5
ACTIVE_SHARE = 0.25
# Per program (`Plan`): calls run before measuring, timed calls per team size, the speedup
# a full team must bring to be kept (issue 15: no more CPU time unless >= 1.3x faster), and
# how long an answer holds.
WARMUP = 3
SAMPLES = 4
# Measured calls come in blocks of one team size: a block's first call follows a change of
# team (the other thread wakes from sleep, its caches are cold) and is not recorded, the
# other two are. Blocks alternate 1, n, n, 1, 1, n, ... until each side has SAMPLES times.
BLOCK = 3
MEASURE_CALLS = WARMUP + 2 * SAMPLES * BLOCK // (BLOCK - 1)
SPEEDUP_MIN = 1.3
# ... and the most CPU time it may cost, relative to one thread, unless the loop
# that calls it gets SPEEDUP_MIN faster too. A program that is 1.3x faster with two threads
# may still spend half a core more (its worker spinning between the parallel loops), and
# in a training loop that is mostly Python around small compiled steps the example as a
# whole then uses more CPU for no visible speedup (issue 15: the cnn example, 0.95x the
# time at 1.24x the CPU). The loop's speedup is estimated from the time between the
# program's calls (`Plan.gaps`): a step called back to back (the MLP benchmark: 5.0 ms
# with one thread, 3.6 ms with two at 1.4x the CPU) keeps its team; one that is half of
# a Python loop needs more than 1.3x on its own. The CPU time compared is that of the
# whole cycle, the call and what the process spends until the next call: a team's workers
# spin for up to SPIN_COUNT after the call returns, meanwhile the caller's own Python runs
# (the examples: with two threads their loops were 1.12-1.27x faster at 1.26-1.41x the
# CPU while each step's calls, counted alone, cost no more CPU than one thread's).
CPU_MAX = 1.1
# A team that costs more than CPU_MAX must make the loop faster by SPEEDUP_MIN with this
# margin to spare: a plan's medians of four calls move by several per cent between
# measurements, and a speedup measured at the bar is as often just under it. The
# transformer example's step: 5.85 ms with one thread, 4.51, 5.15 and 5.09 ms with two at
# 1.6-1.9x the CPU in three measurements of one run (AMD Zen 5 VM); a run whose
# measurement came out at 1.3x kept two threads and ran 1.20x faster at 1.31x the CPU.
CPU_MARGIN = 1.1
RECHECK_SECONDS = 30.0
# A program found not to pay with the full team is measured again after RETRY_SECONDS, then
# after RETRY_GROWTH times as long each time the answer stays (up to RECHECK_SECONDS: three
# extra measurements in the first half minute, each a dozen calls at mixed team sizes). On
# a virtual machine a vCPU may run slow for a while: the MLP step in fresh processes
# (bench/bench_fresh_process.py, AMD Zen 3 VM) measured 5.4-5.8 ms with two threads
# against 6.0-6.2 with one, at 1.2-1.7x the CPU, in 3 of 8 processes (the other 5:
# 3.5-4.5 ms), and each of those 3 kept one thread for its whole run.
# A team's answer comes back the same way: four calls a side are as easily wrong the other
# way. The transformer example (AMD EPYC Zen 3 VM, 2026-12-07): in one of three runs its
# training step measured 12.0-20.4 ms with one thread (10.4-13.3 in the other runs'
# measurements) against 8.2-10.2 with two, kept two threads for the whole run (the answer
# held for RECHECK_SECONDS, longer than the run) and used 35.2 s of CPU in 22.3 s, against
# 25.5-26.5 s of CPU in 24.4-25.6 s in the runs that kept one thread.
RETRY_SECONDS = 1.0
RETRY_GROWTH = 4.0
_USER_WAIT_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


# --- the cores this process may use --------------------------------------------------

def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _v2_limit(text: str | None) -> float | None:
    """Cores a cgroup-v2 `cpu.max` ("quota period" or "max period") pays for."""
    if not text:
        return None
    parts = text.split()
    if len(parts) < 2 or parts[0] == "max":
        return None
    try:
        quota, period = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    return quota / period if quota > 0 and period > 0 else None


def _v1_limit(quota: str | None, period: str | None) -> float | None:
    try:
        q, p = int((quota or "").strip()), int((period or "").strip())
    except ValueError:
        return None
    return q / p if q > 0 and p > 0 else None


def _ancestors(path: str):
    """`/a/b` -> `/a/b`, `/a`, `/`."""
    path = "/" + path.strip("/")
    while True:
        yield path
        if path == "/":
            return
        path = os.path.dirname(path)


def cgroup_cpu_limit(root: str = "/") -> float | None:
    """The CPU quota of this process's cgroup (and its ancestors), in cores, or None when
    there is none. Reads `proc/self/cgroup` and `proc/self/mountinfo` under `root` (cgroup
    v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`)."""
    cg = _read(os.path.join(root, "proc/self/cgroup")) or ""
    mounts = _read(os.path.join(root, "proc/self/mountinfo")) or ""
    limits = []
    for line in mounts.splitlines():
        # id parent major:minor mount-root mount-point options - fstype source super-opts
        left, _, right = line.partition(" - ")
        f, r = left.split(), right.split()
        if len(f) < 5 or len(r) < 3:
            continue
        mroot, mpoint, fstype = f[3], f[4], r[0]
        if fstype == "cgroup2":
            want = [ln.split(":", 2)[2] for ln in cg.splitlines() if ln.startswith("0::")]
        elif fstype == "cgroup" and "cpu" in r[2].split(","):
            want = [ln.split(":", 2)[2] for ln in cg.splitlines()
                    if len(ln.split(":", 2)) == 3 and "cpu" in ln.split(":", 2)[1].split(",")]
        else:
            continue
        for cgpath in want:
            # inside a container the mount's root is the container's own cgroup
            rel = cgpath
            if mroot != "/" and (cgpath + "/").startswith(mroot.rstrip("/") + "/"):
                rel = cgpath[len(mroot.rstrip("/")):]
            for p in _ancestors(rel):
                d = os.path.join(root, mpoint.lstrip("/"), p.lstrip("/"))
                if fstype == "cgroup2":
                    lim = _v2_limit(_read(os.path.join(d, "cpu.max")))
                else:
                    lim = _v1_limit(_read(os.path.join(d, "cpu.cfs_quota_us")),
                                    _read(os.path.join(d, "cpu.cfs_period_us")))
                if lim is not None:
                    limits.append(lim)
    return min(limits) if limits else None


def _affinity() -> list[int]:
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def _omp_cap() -> int | None:
    """The first number of `OMP_NUM_THREADS` (a cap on our teams), or None."""
    raw = os.environ.get("OMP_NUM_THREADS", "").split(",")[0].strip()
    try:
        n = int(raw)
    except ValueError:
        return None
    return n if n >= 1 else None


def cores_from(affinity: int, quota: float | None, omp_cap: int | None) -> int:
    """Cores a team may use before load is considered: the affinity mask's size, the whole
    cores the cgroup quota pays for (at least one) and the `OMP_NUM_THREADS` cap, whichever
    is least."""
    n = affinity
    if quota is not None:
        n = min(n, max(1, int(quota + 1e-9)))
    if omp_cap is not None:
        n = min(n, omp_cap)
    return max(1, n)


def machine_cores() -> int:
    """The cores this process may run on at all (affinity mask and cgroup quota; not
    OMP_NUM_THREADS, which sizes compute teams): e.g. for concurrent compiler processes."""
    return cores_from(len(_affinity()), _limits.quota, None)


def available_cores() -> int:
    """`cores_from` with this process's affinity mask, cgroup quota and OMP_NUM_THREADS."""
    return cores_from(len(_affinity()), _limits.quota, _omp_cap())


class _Limits:
    """The cgroup quota, read once (it is a file walk; it changes rarely)."""

    def __init__(self):
        self._quota = None
        self._read = False

    @property
    def quota(self):
        if not self._read:
            self._quota = cgroup_cpu_limit()
            self._read = True
        return self._quota


_limits = _Limits()


# --- the load other processes put on our cores --------------------------------------

def _proc_stat_busy(cpus, text: str | None = None) -> float | None:
    """Busy seconds so far of `cpus` from /proc/stat (user, system, irq, softirq, steal;
    `nice` too when this process is itself niced, as niced neighbours then compete)."""
    if text is None:
        text = _read("/proc/stat")
    if not text:
        return None
    want = {f"cpu{c}" for c in cpus}
    niced = _niceness() > 0
    total, seen = 0, 0
    for ln in text.splitlines():
        if not ln.startswith("cpu") or not ln[3:4].isdigit():
            continue
        name, *v = ln.split()
        if name not in want or len(v) < 4:
            continue
        v = [int(x) for x in v[:8]] + [0] * (8 - min(8, len(v)))
        user, nice, system, _idle, _iowait, irq, softirq, steal = v[:8]
        total += user + system + irq + softirq + steal + (nice if niced else 0)
        seen += 1
    if not seen:
        return None
    return total / _CLK_TCK


def _niceness() -> int:
    try:
        return os.getpriority(os.PRIO_PROCESS, 0)
    except (AttributeError, OSError):
        return 0


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _own_seconds() -> float:
    """CPU seconds of this process (all threads) and of its reaped children (compilers)."""
    t = os.times()
    return time.process_time() + t.children_user + t.children_system


class LoadMeter:
    """Cores other processes keep busy on our CPUs while we run: busy time of the CPUs in
    the affinity mask (/proc/stat) minus this process's own CPU time, per wall second,
    smoothed over successive windows of at least `SAMPLE_SECONDS` (long windows in which
    we were mostly idle are skipped, see IDLE_WINDOW). The readers are parameters so tests
    can drive it."""

    def __init__(self, cpus, busy=_proc_stat_busy, own=_own_seconds, clock=time.monotonic):
        self.cpus = list(cpus)
        self._busy, self._own, self._clock = busy, own, clock
        self.other: float = 0.0       # smoothed cores used by other processes
        self.last: float | None = None  # the last window's value
        self._start()

    def _start(self):
        self._t = self._clock()
        self._b = self._busy(self.cpus)
        self._o = self._own()

    def sample(self) -> float:
        """Close the current window (if it is long enough) and return the smoothed load."""
        t = self._clock()
        dt = t - self._t
        if dt < SAMPLE_SECONDS:
            return self.other
        b, o = self._busy(self.cpus), self._own()
        if b is None or self._b is None:
            self._t, self._b, self._o = t, b, o
            return self.other
        own = o - self._o
        if dt > IDLE_WINDOW and own < ACTIVE_SHARE * dt:
            self._t, self._b, self._o = t, b, o
            return self.other
        now = max(0.0, ((b - self._b) - own) / dt)
        now = min(now, float(len(self.cpus)))
        self.last = now
        # a window of a second or more stands on its own; short ones are averaged
        w = min(1.0, 0.5 + dt / 2.0)
        self.other = (1 - w) * self.other + w * now
        self._t, self._b, self._o = t, b, o
        return self.other


def policy_team(cores: int, other_load: float, fixed: int | None = None,
                cpus: int | None = None) -> int:
    """The team size for `cores` usable cores when other processes keep `other_load` of
    the `cpus` CPUs we may run on busy (default: as many CPUs as cores; more under a cgroup
    quota); `fixed` (the user's override) wins. Each CPU another process occupies beyond
    `LOAD_SLACK` costs one thread once fewer than `cores` are left: a thread sharing its
    core with a busy process runs at half speed and the parallel loop waits for it."""
    if fixed is not None:
        return fixed
    lost = max(0, math.ceil(other_load - LOAD_SLACK))
    free = (cores if cpus is None else cpus) - lost
    return max(1, min(cores, free))


# --- libgomp -------------------------------------------------------------------------

class _OpenMP:
    """The libgomp handle and what configuring it did."""

    def __init__(self):
        self.lib = None
        self.path = None
        self.wait = "not configured"
        self.error = None
        self._lock = threading.Lock()


_omp = _OpenMP()


def _libgomp_mapped(name: str) -> str | None:
    """The path of the library `name` if this process has loaded it already, else None.
    (Copies that other wheels vendor under other names, such as scikit-learn's or
    PyTorch's `libgomp-<hash>.so.1`, are separate libraries and do not count.)"""
    try:
        ctypes.CDLL(name, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:
        return None
    text = _read("/proc/self/maps") or ""
    for ln in text.splitlines():
        if "/" in ln and os.path.basename(ln).startswith("libgomp.so"):
            return ln[ln.index("/"):].strip()
    return name


def configure_openmp(spin_count: int = SPIN_COUNT):
    """Load libgomp so that its idle threads spin at most `spin_count` iterations, then
    sleep; leaves libgomp alone when the user set `OMP_WAIT_POLICY` or `GOMP_SPINCOUNT`.
    Idempotent; returns the library handle (None where libgomp is not found)."""
    with _omp._lock:
        if _omp.lib is not None or _omp.error is not None:
            return _omp.lib
        name = "libgomp.so.1"       # what gcc -fopenmp links (find_library would fork)
        user = {k: os.environ[k] for k in _USER_WAIT_VARS if os.environ.get(k)}
        loaded = _libgomp_mapped(name)
        saved = {}
        if user:
            _omp.wait = "the user's " + ", ".join(f"{k}={v}" for k, v in user.items())
        elif loaded:
            # too late: libgomp read its environment when something else loaded it
            _omp.wait = f"libgomp's default (it was loaded before funcgrad: {loaded})"
        else:
            saved = {"GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT")}
            os.environ["GOMP_SPINCOUNT"] = str(int(spin_count))
            _omp.wait = f"GOMP_SPINCOUNT={int(spin_count)} (bounded spin, then sleep)"
        try:
            _omp.lib = ctypes.CDLL(name)
            _omp.lib.omp_set_num_threads.argtypes = [ctypes.c_int]
            _omp.lib.omp_get_max_threads.restype = ctypes.c_int
            _omp.path = _libgomp_mapped(name) or name
        except (OSError, AttributeError) as e:
            _omp.lib, _omp.error = None, f"{name}: {e}"
            _omp.wait = "not configured (libgomp not found)"
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return _omp.lib


# --- the per-call decision -----------------------------------------------------------

class _Policy:
    """The current team size, recomputed at most every SAMPLE_SECONDS."""

    def __init__(self):
        self.team = 1
        self.big = 1               # the team of big loops (`For.big_team`)
        self.cores = 1
        self.fixed = None
        self.next = 0.0            # time.monotonic() of the next recomputation
        self.meter = None
        self.epoch = 0             # advanced every RECHECK_SECONDS: plans measure again
        self.recheck = 0.0
        self.warned = False
        self.lock = threading.Lock()


class _ThreadTeam(threading.local):
    """The team size and big team last set for this thread (the runtime library keeps them
    per thread). Only funcgrad sets them: another library sharing libgomp (PyTorch's
    `torch.set_num_threads` sets the thread's OpenMP default) does not change them, so
    they are set again only when they change."""
    team = 0
    big = 0


class _Setter:
    """The runtime library's `set_team` and `workers_ns`, loaded at the first call that
    needs them (None: not yet; False: the library cannot load, and no compiled module can
    run either)."""
    fn = None
    big = None
    workers = None


_policy = _Policy()
_tls = _ThreadTeam()
_setter = _Setter()
_monotonic = time.monotonic


def _fixed_threads():
    try:
        return config.read("cpu_threads")
    except ValueError as e:        # a bad FUNCGRAD_NUM_THREADS: say so once, run automatic
        if not _policy.warned:
            _policy.warned = True
            warnings.warn(f"FUNCGRAD_NUM_THREADS={os.environ.get('FUNCGRAD_NUM_THREADS')!r} "
                          f"ignored ({e}); the thread count is chosen automatically",
                          RuntimeWarning, stacklevel=2)
        return None


def _refresh():
    if not _policy.lock.acquire(blocking=False):
        return                     # another thread is recomputing; use the current value
    try:
        cpus = _affinity()
        _policy.fixed = _fixed_threads()
        _policy.cores = cores_from(len(cpus), _limits.quota, _omp_cap())
        other = 0.0
        if _policy.fixed is None and _policy.cores > 1:
            # (the load matters only to an automatic team of more than one thread)
            meter = _policy.meter
            if meter is None or meter.cpus != cpus:
                meter = _policy.meter = LoadMeter(cpus)
            other = meter.sample()
        _policy.team = policy_team(_policy.cores, other, _policy.fixed, cpus=len(cpus))
        _policy.big = _policy.fixed or max(_policy.team, _policy.cores)
        now = _monotonic()
        if now >= _policy.recheck:
            _policy.epoch += 1
            _policy.recheck = now + RECHECK_SECONDS
        _policy.next = now + SAMPLE_SECONDS
    finally:
        _policy.lock.release()


def team_size() -> int:
    """The OpenMP team size compiled code called now from this process gets."""
    if _monotonic() >= _policy.next:
        _refresh()
    return _policy.team


class Plan:
    """One compiled program's answer to "does a second thread pay?", measured on its own
    calls. While the automatic team has more than one thread, `prepare` runs the program's
    first calls with one thread and with the full team in the order 1, n, n, 1, 1, n, ...
    (after `WARMUP` untimed calls), `SAMPLES` of each; the program keeps the full team
    only when its median time
    with one thread is at least `SPEEDUP_MIN` times its median with the full team, and
    either its median CPU time with the team (`cpu_clock`), counted from the call's start
    to the next call's (`gap_cpu`: the workers' spin after the call), is at most `CPU_MAX` times
    the one-thread median or the caller's loop (the program's time plus the median time between
    two of its calls, `gaps`) gets `SPEEDUP_MIN` faster as well. Otherwise its parallel
    regions cost more CPU than they save in time (fork/join and idle spinning on small
    loops, or a step too small a part of its loop) and it runs on one thread. The answer
    is measured again after `RECHECK_SECONDS` (every answer given before the policy's
    `epoch` advanced), and sooner, after `retry_at`: RETRY_SECONDS after a new answer,
    RETRY_GROWTH times longer each time the same answer comes back (either answer: four
    calls a side are easily wrong, and a wrong answer should not hold for long).

    Several threads may call one program at once: the measuring state changes under
    `lock` (taken only while measuring; a decided plan is read without it)."""

    __slots__ = ("answered", "backoff", "calls", "epoch", "gap_cpu", "gaps", "last", "lock",
                 "many", "many_cpu", "one", "one_cpu", "parallel", "retry_at", "serial")

    def __init__(self):
        self.parallel: bool | None = None    # None: still measuring
        self.serial = False                  # decided: run on one thread
        self.epoch = -1                      # the policy epoch of the answer
        self.calls = 0
        self.one: list[float] = []           # wall times with one thread
        self.many: list[float] = []          # ... with the full team
        self.one_cpu: list[float] = []       # CPU times (`cpu_clock`) of the same calls
        self.many_cpu: list[float] = []
        self.gaps: list[float] = []          # time between a timed call and the next call
        self.gap_cpu = ([], [])              # CPU (`gap_clock`) in those gaps: one
        #                                      thread, team
        self.last = (0, 0.0, 0.0)            # (call number, perf_counter, gap_clock at
        #                                      its end)
        self.lock = threading.Lock()
        self.answered: bool | None = None    # the last answer, kept while measuring again
        self.retry_at = math.inf             # (monotonic) the answer is measured again
        self.backoff = RETRY_SECONDS         # ... and, if it stays, after this much longer

    def decide(self) -> bool | None:
        """Record the answer once both sides have SAMPLES times (call with `lock` held:
        another thread's `done` must not empty the lists between the check and the
        medians)."""
        if len(self.one) >= SAMPLES and len(self.many) >= SAMPLES:
            one, many = _median(self.one), _median(self.many)
            gap = _median(self.gaps) if self.gaps else 0.0
            faster = one >= SPEEDUP_MIN * many
            one_gap, many_gap = (_median(g) if g else 0.0 for g in self.gap_cpu)
            frugal = _median(self.many_cpu) + many_gap <= \
                CPU_MAX * (_median(self.one_cpu) + one_gap)
            loop_faster = gap + one >= SPEEDUP_MIN * CPU_MARGIN * (gap + many)
            parallel = faster and (frugal or loop_faster)
            if parallel != self.answered:        # a new answer: soon measured again
                self.backoff = RETRY_SECONDS
            self.parallel, self.answered = parallel, parallel
            self.serial = not parallel
            self.retry_at = time.monotonic() + self.backoff
            self.backoff = min(RETRY_GROWTH * self.backoff, RECHECK_SECONDS)
            self.epoch = _policy.epoch
            self.one, self.many, self.one_cpu, self.many_cpu = [], [], [], []
            self.gaps, self.gap_cpu = [], ([], [])
        return self.parallel


def _median(xs):
    xs = sorted(xs)
    k = len(xs) // 2
    return xs[k] if len(xs) % 2 else 0.5 * (xs[k - 1] + xs[k])


def prepare(plan: Plan | None = None, _clock=time.monotonic, _policy=_policy, _tls=_tls):
    """Call before running compiled code: sets the calling thread's team size (the
    automatic `team_size()`, or one thread for a program whose `plan` found that a second
    thread does not pay) and its big team (every usable core, or the user's count; one
    thread where the plan says so). It runs on every jitted call, so the common path is a clock read
    and a few comparisons (~0.2 us). Returns None, or a token to hand to
    `done(plan, token)` after the run while the plan measures."""
    now = _clock()
    if now >= _policy.next:
        _refresh()
    team, big = _policy.team, _policy.big
    token = None
    if plan is not None and _policy.fixed is None:
        if team > 1:
            if plan.epoch != _policy.epoch:      # measuring, or the answer expired
                team, token = _measure(plan, team, _policy.epoch)
            elif plan.serial:
                if now < plan.retry_at:
                    team = 1
                else:
                    team, token = _retry(plan, team, _policy.epoch, now)
            elif now >= plan.retry_at:           # a team's answer, due again
                team, token = _retry(plan, team, _policy.epoch, now)
            if team == 1:
                big = 1
        elif plan.serial:                    # (one thread for the team under load)
            big = 1
    if _tls.team != team or _tls.big != big:
        _apply(team, big)
    return token


def _retry(plan: Plan, team: int, epoch: int, now: float):
    """Measure an answer again once its `retry_at` has passed (checked again under the
    lock: another thread's call may have started the measurement already)."""
    with plan.lock:
        if plan.parallel is not None and plan.epoch == epoch and now >= plan.retry_at:
            plan.epoch = -1
            plan.retry_at = math.inf
    return _measure(plan, team, epoch)


def _measure(plan: Plan, team: int, epoch: int):
    with plan.lock:
        if plan.epoch == epoch:            # another thread's call decided meanwhile
            return (1 if plan.serial else team), None
        if plan.parallel is not None:      # the answer expired: measure again
            plan.parallel, plan.calls = None, 0
        plan.calls += 1
        k = plan.calls - WARMUP
    if k <= 0:
        return team, None
    # blocks of one team size in the order one, full, full, one, ...; a step whose time
    # alternates between calls (buffers reused every other call) has one slow and one fast
    # recorded call in every block, so it weighs on both sides alike
    block, pos = divmod(k - 1, BLOCK)
    if block % 4 in (0, 3):
        team = 1
    if pos == 0:                           # just switched teams: run it, do not record it
        return team, None
    t0, c0 = time.perf_counter(), cpu_clock(team)()
    g0 = c0 if team > 1 else gap_clock()        # (a team's call clock is the gap clock)
    with plan.lock:
        n, end, gap_end = plan.last
        if n == k - 1 and plan.parallel is None:   # the previous call was timed: the gap
            plan.gaps.append(max(0.0, t0 - end))    # is the caller's own work between them
            # (and its CPU, with the spin of the workers of that call, of the same team:
            # the previous call is in this one's block)
            plan.gap_cpu[team > 1].append(max(0.0, g0 - gap_end))
    return team, (team, t0, c0, k)


def cpu_clock(team: int):
    """The CPU clock a plan reads around a call run by `team` threads (`gap_clock` over
    the gap after it): for one thread the calling thread's own clock; for a team the calling
    thread's plus its workers' (`cdsl.runtime.workers_clock`: the thread clocks of every
    worker of the runtime library's teams). Not the process's clock, for two reasons:
    it counted, in a one-thread call, the workers of other programs' teams or of another
    library spinning meanwhile (the MLP example's eval step measured 2.7 ms of CPU in
    0.63 ms calls with one thread, AMD Zen 5 VM, and looked frugal with two); and it takes
    in another thread's time while that thread runs only at the scheduler's ticks (every
    4 ms at CONFIG_HZ=250), so a team's calls of a few ms read as about one thread's CPU
    (two threads computing, 2 ms windows: 1.00x the wall time in the median,
    bench/RESULTS.md, 2026-12-04 13:38) and plans kept teams that cost a second core."""
    if team <= 1:
        return time.thread_time
    if _setter.workers is None:
        from cdsl import compile as cc
        from cdsl import runtime
        try:
            _setter.workers = runtime.workers_clock()
        except (cc.CompilerUnavailable, cc.CompileError, OSError):
            _setter.workers = False    # no library: nothing compiled runs either
    return time.process_time if _setter.workers is False else _team_cpu


def _team_cpu() -> float:
    return time.thread_time() + 1e-9 * _setter.workers()


def gap_clock() -> float:
    """The CPU clock a plan reads over the gap between two of its calls, whichever team
    ran them: the calling thread's and every team worker's. The gap holds the caller's
    other work, other programs' calls among it, and after a team's call its workers'
    spin. Read on the calling thread's clock alone after a one-thread call, a gap that
    held another program's team calls cost half of what it cost after a team call (the
    cnn example's eval step, 30 ms apart: 30.4 ms of CPU against 59.8 ms), and a program
    1.8x faster with two threads at no more CPU looked costly."""
    return cpu_clock(2)()


def done(plan: Plan, token) -> None:
    """Record a measured run (`token` from `prepare`): its wall time and its CPU time (see
    `cpu_clock`)."""
    team, t0, c0, k = token
    end, cpu_end = time.perf_counter(), cpu_clock(team)()
    gap_end = cpu_end if team > 1 else gap_clock()
    dt, dc = end - t0, cpu_end - c0
    with plan.lock:
        (plan.one if team == 1 else plan.many).append(dt)
        (plan.one_cpu if team == 1 else plan.many_cpu).append(dc)
        plan.last = (k, end, gap_end)
        plan.decide()


def _apply(n: int, big: int | None = None):
    """Set the calling thread's team to `n` threads and its big team to `big` (default:
    `n`)."""
    big = n if big is None else big
    fn = _setter.fn
    if fn is None:
        from cdsl import compile as cc
        from cdsl import runtime
        try:
            fn = runtime.team_setter()
            _setter.big = runtime.big_team_setter()
        except (cc.CompilerUnavailable, cc.CompileError, OSError):
            fn = False               # no compiler and nothing cached: nothing compiled runs
        _setter.fn = fn
    if fn is not False:
        fn(n)                        # (the big team follows the team ...)
        if big != n:                 # ... unless set apart
            _setter.big(big)
    _tls.team, _tls.big = n, big


def _on_option(value):
    _policy.next = 0.0             # recompute at the next call


config.on_update("cpu_threads", _on_option)


def info() -> dict:
    """What the thread policy sees and decided: cores (affinity, cgroup quota,
    OMP_NUM_THREADS), other processes' load, the team size, the user's override, and how
    libgomp waits."""
    _refresh()
    meter = _policy.meter
    return {"affinity": len(_affinity()), "cgroup_quota": _limits.quota,
            "omp_num_threads": _omp_cap(), "cores": _policy.cores,
            "other_load": None if meter is None else round(meter.other, 2),
            "team": _policy.team, "big_team": _policy.big, "fixed": _policy.fixed,
            "wait": _omp.wait,
            "libgomp": _omp.path or _omp.error}
