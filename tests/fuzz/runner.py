"""The fuzz loop: hypothesis generates batches, every batch runs on the chosen backends
(eagerly and under jit), and the first new disagreement is shrunk by hypothesis to a
minimal program, printed as a standalone reproducer and appended to FINDINGS.md.

One hypothesis run explores until it finds a new disagreement (or the time is up); while it
shrinks, only the failing backend and mode run, and only a failure of the same kind counts.
The smallest failing batch seen is kept, so a shrink cut short by its time budget still
reports a reduced program. Later failures whose program contains all the ops of an earlier
finding's minimal program (same backend, mode, kind and failing op) count as that finding.
"""
from __future__ import annotations

import collections
import dataclasses
import os
import sys
import time
import traceback
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hseed
from hypothesis import strategies as st
from hypothesis.errors import Flaky, HypothesisException

from .batch import Batch, Failure, module_source
from .check import Entry, slice_entry, stacks
from .generate import programs
from .known import KNOWN, classify
from .repro import repro_source
from .threads import run_threads
from .values import BF16, F16, F32, F64, HALF, x64_active

FINDINGS = Path(__file__).with_name("FINDINGS.md")
_COIN = st.integers(0, 99)


@dataclasses.dataclass
class Config:
    minutes: float = 2.0
    seed: int = 0
    backends: tuple = ("reference", "c", "opencl")
    # Entries per batch: they follow each other while a coin says so (stop_percent: the
    # chance to stop after each), at most batch_size. One C compile serves a whole batch
    # (about 2 s of fixed cost plus a fraction of a second per entry), so batches are large.
    batch_size: int = 48
    stop_percent: int = 4
    opencl_share: float = 0.3         # at most this fraction of the time goes to OpenCL
    # Eager OpenCL builds a kernel per op and shape (~0.5 s each on PoCL): only this share
    # of the OpenCL batches (value-mode ones) also run eagerly there.
    opencl_eager_share: float = 0.25
    opencl_max_entries: int = 4       # OpenCL runs this many entries of each batch
    opencl_every: int = 0             # if set: OpenCL runs every n-th batch (not by time)
    max_batches: int | None = None    # stop after this many batches (or at the deadline)
    grad_share: float = 0.35          # batches whose entries check derivatives
    dtypes: tuple = ((F32, 6), (F64, 2), (F16, 2), (BF16, 2))
    shrink_seconds: float = 240.0
    examples_per_run: int = 30        # batches per hypothesis run (see Fuzzer.explore)
    max_rss_gb: float = 8.0           # a shrink stops when the process grows past this
    threads_every: int = 8            # every n-th batch is also called from 8 threads
    threads_entries: int = 3          # ... its first entries, on the first compiled backend
    generic_share: float = 0.5        # jitted batches that also run at instances 1 and 2
    min_ops: int = 2
    max_ops: int = 20
    findings_path: Path | None = None
    worker: int = 0                   # worker k of a --jobs run explores its own seeds
    log = sys.stdout
    progress_every: float = 30.0


@dataclasses.dataclass
class Finding:
    title: str
    failure: Failure
    entry: Entry
    repro: str
    ops: set
    producer: str
    known: str | None
    standalone: bool
    count: int = 1


def _dump_entry(e: Entry, f: Failure, k: int) -> None:
    """With FUNCGRAD_FUZZ_DUMP=<dir>, pickle the shrunk entry and its failure there
    (finding-<pid>-<k>.pkl), for debugging the oracle or funcgrad on the program itself:
    `e, f = pickle.load(open(path, 'rb'))`, then `Batch([e], 0).case(f.inst)`."""
    d = os.environ.get("FUNCGRAD_FUZZ_DUMP")
    if not d:
        return
    import pickle
    os.makedirs(d, exist_ok=True)
    try:
        data = pickle.dumps((e, f))
    except Exception as err:   # noqa: BLE001 (a debugging aid must not stop the run)
        print(f"fuzz: could not pickle finding {k}: {err}")
        return
    with open(os.path.join(d, f"finding-{os.getpid()}-{k}.pkl"), "wb") as fh:
        fh.write(data)


class _StopShrink(BaseException):
    """Raised through hypothesis when a shrink's time budget is spent."""


class _TimeUp(BaseException):
    """Raised through hypothesis when the session's time is up."""


_KIND_ERRORS: dict[str, type] = {}


def _disagreement(kind: str) -> type:
    # One exception class per kind: hypothesis keeps shrinking towards the same kind.
    if kind not in _KIND_ERRORS:
        _KIND_ERRORS[kind] = type(f"Disagreement_{kind}", (AssertionError,), {})
    return _KIND_ERRORS[kind]


def _producer(entry: Entry, f: Failure) -> str:
    """The op that computed the failing output (for value-like failures)."""
    if not f.mismatches or entry.stack.deriv is not None:
        return ""
    path = f.mismatches[0].path
    try:
        j = int(path.split("[")[1].split("]")[0])
    except (IndexError, ValueError):
        return ""
    out = entry.prog.outputs[j] if j < len(entry.prog.outputs) else None
    for op in entry.prog.ops:
        if out in op.outs:
            return op.name
    return ""


def _light(f: Failure) -> Failure:
    """`f` without the expected and actual arrays of its mismatches."""
    return dataclasses.replace(f, mismatches=[dataclasses.replace(m, expected=None, got=None)
                                              for m in f.mismatches])


def _tag(entries, f: Failure) -> str:
    """What identifies the bug behind a failure beyond its kind: the exception (type and
    message without numbers) of a crash, else the op that computed the failing output."""
    if f.kind == "crash":
        return _crash_key(f.detail)
    if f.index < 0 or f.index >= len(entries):
        return ""
    return _producer(entries[f.index], f)


def _entry_key(e: Entry) -> tuple:
    from .check import entry_source
    p = e.prog
    ins = tuple((i.name, i.style, i.seed, i.kind, i.oob, i.unique, i.bound) for i in p.inputs)
    dims = tuple(tuple(p.dims.all_sizes(d)) for d in p.dims.ids)
    return ("\n".join(entry_source(e, 0)), ins, dims, e.seed)


def _crash_key(detail: str) -> str:
    """The exception type and its message with numbers and names of values removed."""
    import re
    head = detail.split("\n")[0][:120]
    return re.sub(r"[0-9]+|'[^']*'|\([^)]*\)", "_", head)


class Fuzzer:
    """State of one fuzz session (see the module docstring)."""

    def __init__(self, cfg: Config):
        self.cfg = cfg
        self.t0 = time.perf_counter()
        self.deadline = self.t0 + cfg.minutes * 60
        self.stats = collections.Counter()
        self.stacks = collections.Counter()     # (backend, mode, transform) -> entries run
        self.checks = collections.Counter()     # (backend, mode, what) -> checks made
        self.known_hits = collections.Counter()   # known bug -> failures not shrunk
        self.time_by_backend = collections.Counter()
        self.phases = collections.Counter()     # (backend, mode, phase) -> seconds
        self.findings: list[Finding] = []
        self.focus: tuple | None = None
        self.best = None
        self.shrink_t0 = 0.0
        self.last_progress = self.t0
        self.errors = 0
        self.memo: dict = {}
        self._ocl_eager_credit = 0.0
        self._generic_credit = 0.0
        self._cap = cfg.batch_size

    # -- strategies ----------------------------------------------------------------------
    def batch_strategy(self):
        cfg = self.cfg
        dts = [d for d, w in cfg.dtypes for _ in range(w)]

        @st.composite
        def batch(draw):
            fdtype = draw(st.sampled_from(dts))
            mode = "grad" if draw(st.integers(0, 99)) < 100 * cfg.grad_share else "value"
            if mode == "grad" and fdtype in HALF:
                fdtype = F32
            x64 = x64_active(fdtype)
            ents = []
            # Entries follow each other while a coin says so (about 100 / stop_percent on
            # average, at most batch_size), so shrinking deletes whole entries cheaply, as
            # hypothesis's own lists do; while shrinking only the failing entry runs
            # (memoised).
            cap = self._entry_cap()
            while len(ents) < cap and (not ents or
                                                  draw(_COIN) >= cfg.stop_percent):
                k = len(ents)
                p = draw(programs(fdtype, x64, mode, name=f"prog_{k}", min_ops=cfg.min_ops,
                                  max_ops=cfg.max_ops))
                ents.append(Entry(p, draw(stacks(p, mode)), draw(st.integers(0, 2**20))))
            return ents, draw(st.integers(0, 2**20))
        return batch()

    def _entry_cap(self) -> int:
        """Most entries of the next batch: batch_size, or fewer near the deadline (a batch
        is not interrupted, and a big one takes minutes: a run should end on time). While
        shrinking the cap stays as it was, so that hypothesis replays the same batch."""
        if self.focus is None:
            cap = self.cfg.batch_size
            if self.stats["entries"]:
                per_entry = self.stats["check_seconds"] / self.stats["entries"]
                left = self.deadline - time.perf_counter()
                cap = max(1, min(cap, int(left / max(per_entry, 1e-3))))
            self._cap = cap
        return self._cap

    # -- running -------------------------------------------------------------------------
    def _backends_for_batch(self) -> list[str]:
        out = []
        total = sum(self.time_by_backend.values()) + 1e-9
        for be in self.cfg.backends:
            if be == "opencl" and len(self.cfg.backends) > 1:
                if self.cfg.opencl_every:
                    # a fixed schedule (reproducible runs) instead of the time share
                    if self.stats["batches"] % self.cfg.opencl_every:
                        continue
                elif self.time_by_backend["opencl"] > self.cfg.opencl_share * total:
                    continue
            out.append(be)
        return out

    def check(self, entries, seed, focus=None) -> list[Failure]:
        b = Batch(entries, seed, expect=focus is None or focus[2] != "crash")
        failures = []
        if focus:
            runs = [(focus[0], focus[1])]
        else:
            runs = []
            grad = any(e.stack.deriv is not None for e in entries)
            for be in self._backends_for_batch():
                for m in ("eager", "jit"):
                    if be == "opencl" and m == "eager" and len(self.cfg.backends) > 1:
                        self._ocl_eager_credit += self.cfg.opencl_eager_share
                        if grad or self._ocl_eager_credit < 1.0:
                            continue
                        self._ocl_eager_credit -= 1.0
                    runs.append((be, m))
        # The size-generic path (instances 1 and 2 of a jitted batch) costs a second
        # compile on C: it runs for a share of the batches.
        generic = True
        if focus is None:
            self._generic_credit += self.cfg.generic_share
            generic = self._generic_credit >= 1.0
            if generic:
                self._generic_credit -= 1.0
        if focus is None and b.expect:
            # The oracle's expected results, once per batch and instance (every backend and
            # mode compares against the same ones).
            t = time.perf_counter()
            try:
                for inst in (b.instances() if generic else [0]):
                    b.case(inst)
            except Exception:   # noqa: BLE001 -- a fuzzer bug: report, skip the batch
                self.errors += 1
                self.log(f"fuzzer error in the oracle:\n{traceback.format_exc(limit=-8)}")
                return []
            finally:
                self.phases[("oracle", "", "expected results")] += time.perf_counter() - t
        ocl = None
        for be, mode in runs:
            t = time.perf_counter()
            bb = b
            if be == "opencl" and focus is None and len(entries) > self.cfg.opencl_max_entries:
                # PoCL builds every kernel with LLVM (seconds each): OpenCL runs the first
                # entries of a batch only.
                if ocl is None:
                    ocl = b.sub(list(range(self.cfg.opencl_max_entries)))
                bb = ocl
            bb.checks.clear()
            bb.timings.clear()
            if focus is not None and focus[3] is not None:
                insts = [focus[3]]
            else:
                insts = None if generic else [0]
            try:
                fs = bb.run(be, mode, insts=insts)
            except Exception:   # noqa: BLE001 -- a fuzzer bug: report, keep going
                self.errors += 1
                self.log(f"fuzzer error on {be}/{mode}:\n{traceback.format_exc(limit=-8)}")
                fs = []
            dt = time.perf_counter() - t
            if focus is None:
                n = len(bb.entries)
                self.time_by_backend[be] += dt
                if mode == "jit":
                    self.stats[("programs", be)] += n
                self.stats[("runs", be, mode)] += n
                if mode == "jit" and generic and len(bb.instances()) > 1:
                    self.stats[("runs", be, "jit at new sizes")] += n
                self.stats[("seconds", be, mode)] += dt
                for e in bb.entries:
                    for feat in set(e.stack.describe().split("+")):
                        self.stacks[(be, mode, feat)] += 1
                for what, k in bb.checks.items():
                    self.checks[(be, mode, what)] += k
                for what, sec in bb.timings.items():
                    self.phases[(be, mode, what)] += sec
            failures.extend(fs)
        return failures

    def check_threads(self, entries, seed) -> None:
        """Call the first entries' jitted functions from 8 threads at once, cold and warm
        (threads.run_threads); every problem is a finding (not shrunk: it may need the
        threads)."""
        backend = next((b for b in self.cfg.backends if b == "c"), self.cfg.backends[0])
        b = Batch(entries[:self.cfg.threads_entries], seed)
        t = time.perf_counter()
        try:
            problems = run_threads(b, backend, n_threads=8, warm_rounds=2)
        except Exception:   # noqa: BLE001 -- a fuzzer bug: report, keep going
            self.errors += 1
            self.log(f"fuzzer error in the threads check:\n{traceback.format_exc(limit=-8)}")
            return
        self.stats[("threads", backend)] += len(b.entries)
        self.time_by_backend[backend] += time.perf_counter() - t
        self.stats["threads_seconds"] += time.perf_counter() - t
        if not problems:
            return
        # Entries that disagree single-threaded are someone else's finding.
        alone = {f.index for f in b.run(backend, "jit", insts=[0])}
        mine = [p for p in problems if not any(f"entry {k}:" in p for k in alone)]
        if not mine:
            return
        f = Failure(0, backend, "threads", 0, "threads", mine[0][:600])
        e = b.entries[0]
        src = "\n".join(module_source(b.entries).splitlines())
        fnd = Finding(f"threads on {backend}: {len(mine)} problem(s)", f, e,
                      f"# called from 8 threads at once (tests/fuzz/threads.py)\n{src}",
                      e.prog.op_names(), "", None, False)
        self.findings.append(fnd)
        self.log(f"== finding {len(self.findings)} [NEW] {fnd.title}\n" + "\n".join(mine[:5]))
        if self.cfg.findings_path is not None:
            append_finding(self.cfg.findings_path, fnd, len(self.findings), self._run_name())

    def _run_name(self) -> str:
        c = self.cfg
        return f"`--minutes {c.minutes:g} --seed {c.seed}` on {', '.join(c.backends)}"

    def log(self, msg: str) -> None:
        print(msg, file=self.cfg.log, flush=True)

    def _duplicate(self, f: Failure, entries) -> Finding | None:
        if f.index < 0:
            return None
        e = entries[f.index]
        ops = e.prog.op_names()
        prod = _producer(e, f)
        for d in self.findings:
            df = d.failure
            if df.kind != f.kind or not d.ops <= ops:
                continue
            if f.kind == "crash":
                # the same exception from the same ops, on any backend or mode
                if _crash_key(df.detail) == _crash_key(f.detail):
                    return d
                continue
            if f.kind == "dtype":
                # dtypes are decided while tracing, the same on every backend and mode
                if d.producer == prod and df.detail == f.detail:
                    return d
                continue
            if df.backend == f.backend and df.mode == f.mode and \
                    (not d.producer or d.producer == prod):
                return d
        return None

    def _known_unshrunk(self, entries, f: Failure) -> str | None:
        if f.index < 0:
            return None
        e = entries[f.index]
        ops = e.prog.op_names()
        for k in KNOWN:
            if k.ops is None and k.matches(ops, f.kind, f.backend, f.mode, f.detail,
                                           _producer(e, f)):
                return k.name
        return None

    def _size(self, entries, f: Failure) -> tuple:
        e = entries[f.index] if f.index >= 0 else None
        return (e.prog.size() if e else 10**6, len(e.prog.inputs) if e else 0)

    def explore(self, hyp_seed: int) -> None:
        """One hypothesis run: explore until a new disagreement is found and shrunk."""
        cfg = self.cfg

        # Hypothesis caps its first min(max_examples // 10, 50) examples at a few times the
        # simplest example's size: with a huge max_examples a run spends its first 50
        # batches on one-entry toy programs. Short runs (fresh seeds) keep that to a few.
        @settings(max_examples=cfg.examples_per_run, database=None, deadline=None,
                  derandomize=False,
                  phases=[Phase.generate, Phase.shrink], report_multiple_bugs=False,
                  suppress_health_check=list(HealthCheck), print_blob=False)
        @hseed(hyp_seed)
        @given(self.batch_strategy())
        def test(drawn):
            entries, bseed = drawn
            now = time.perf_counter()
            if self.focus is None:
                if now > self.deadline or (self.cfg.max_batches is not None and
                                           self.stats["batches"] >= self.cfg.max_batches):
                    raise _TimeUp()
                self.stats["batches"] += 1
                self.stats["entries"] += len(entries)
                self.stats["generate_seconds"] += now - self._t_last
                t_check = time.perf_counter()
                failures = self.check(entries, bseed)
                self.stats["check_seconds"] += time.perf_counter() - t_check
                if self.cfg.threads_every and self.stats["batches"] % self.cfg.threads_every == 0:
                    self.check_threads(entries, bseed)
                self._maybe_progress()
            else:
                if now - self.shrink_t0 > cfg.shrink_seconds:
                    raise _StopShrink()
                if _rss_gb() > cfg.max_rss_gb:
                    # (a run was once killed by the OOM killer while shrinking)
                    self.log(f"  shrink stopped: {_rss_gb():.1f} GB resident")
                    raise _StopShrink()
                self.shrink_steps += 1
                failures = []
                for i, e in enumerate(entries):
                    key = _entry_key(e)
                    if key not in self.memo:
                        self.shrink_checks += 1
                        # the memo keeps what identifies a failure, not its arrays
                        self.memo[key] = [_light(f) for f in self.check([e], bseed,
                                                                        self.focus)]
                    failures.extend(dataclasses.replace(f, index=i) for f in self.memo[key])
            self._t_last = time.perf_counter()
            new = []
            for f in failures:
                dup = self._duplicate(f, entries)
                if dup is not None:
                    if self.focus is None:
                        dup.count += 1
                        self.stats[("duplicate", dup.title)] += 1
                    continue
                new.append(f)
            if self.focus is None:
                # A failure that a known bug's entry matches as it is (no condition on the
                # minimal program) is counted under that bug without shrinking it.
                still = []
                for f in new:
                    k = self._known_unshrunk(entries, f)
                    if k is None:
                        still.append(f)
                    else:
                        self.known_hits[k] += 1
                new = still
            if self.focus is not None:
                # Only the same bug counts while shrinking: same backend, mode and kind, and
                # the same failing op (or exception), so the shrinker cannot slide from one
                # disagreement to another one that a smaller program happens to show.
                new = [f for f in new if (f.backend, f.mode, f.kind) == self.focus[:3]
                       and _tag(entries, f) == self.focus[4]]
            if not new:
                return
            f = min(new, key=lambda x: self._size(entries, x))
            if self.focus is None:
                self.focus = (f.backend, f.mode, f.kind, f.inst, _tag(entries, f))
                self.shrink_t0 = time.perf_counter()
                self.shrink_steps = self.shrink_checks = 0
                self.best = None
                # Entries are checked one by one while shrinking; seed the memo with this
                # batch's results so that only entries hypothesis changes run again.
                self.memo = {}
                for i, e in enumerate(entries):
                    self.memo[_entry_key(e)] = [
                        dataclasses.replace(x, index=0) for x in failures
                        if x.index == i and (x.backend, x.mode, x.kind, x.inst) ==
                        self.focus[:4]]
                self.log(f"  disagreement ({f.backend}/{f.mode}/{f.kind}): "
                         f"{f.detail[:160]} -- shrinking")
            size = self._size(entries, f)
            if self.best is None or size < self.best[0]:
                self.best = (size, entries, bseed, f)
            raise _disagreement(f.kind)(f.detail)

        self._t_last = time.perf_counter()
        try:
            test()
        except _TimeUp:
            pass
        except (_StopShrink, AssertionError, Flaky, HypothesisException):
            if self.best is not None:
                self._record(*self.best[1:])
        except Exception:   # noqa: BLE001 -- a fuzzer bug: report and start a new run
            self.errors += 1
            self.log(f"fuzzer error:\n{traceback.format_exc(limit=-8)}")
            if self.best is not None:
                self._record(*self.best[1:])
        finally:
            if self.focus is not None:
                self.stats["shrink_seconds"] += time.perf_counter() - self.shrink_t0
            self.focus = None
            self.best = None

    def _maybe_progress(self) -> None:
        now = time.perf_counter()
        if now - self.last_progress >= self.cfg.progress_every:
            self.last_progress = now
            self.log(self.progress_line())

    def progress_line(self) -> str:
        el = time.perf_counter() - self.t0
        per = ", ".join(f"{be} jit {self.stats[('runs', be, 'jit')]} / eager "
                        f"{self.stats[('runs', be, 'eager')]}" for be in self.cfg.backends)
        grads = sum(n for (be, m, w), n in self.checks.items() if w == "grad directions")
        return (f"[{el / 60:5.1f} min, {_rss_gb():.1f} GB] batches {self.stats['batches']}, "
                f"programs x backends: "
                f"{per}; gradient checks {grads}; disagreements {len(self.findings)} "
                f"(+{sum(f.count - 1 for f in self.findings)} repeats, "
                f"{sum(self.known_hits.values())} known-bug hits)")

    # -- findings ------------------------------------------------------------------------
    def _reduce(self, e: Entry, bseed: int, f: Failure, tag: str):
        """The failing entry cut down to fewer outputs, if it still fails the same way:
        the failing output alone (value-like failures), else each output alone. Hypothesis
        deletes ops one draw at a time; cutting whole dead subprograms is one check."""
        n = len(e.prog.outputs)
        if n <= 1:
            return e, f
        prod = _producer(e, f)
        if prod and f.mismatches:
            j = int(f.mismatches[0].path.split("[")[1].split("]")[0])
            cands = [[j]]
        else:
            # later outputs come from later (often bigger) ops: try them first
            cands = [[k] for k in reversed(range(n))][:8]
        for keep in cands:
            e2 = slice_entry(e, keep)
            if e2 is e:
                continue
            try:
                fs = Batch([e2], bseed, expect=f.kind != "crash").run(f.backend, f.mode,
                                                                       insts=[f.inst])
            except Exception:   # noqa: BLE001, S112 -- keep the unreduced entry
                continue
            same = [x for x in fs if x.kind == f.kind and _tag([e2], x) == tag]
            if same:
                return e2, dataclasses.replace(same[0], index=0)
        return e, f

    def _record(self, entries, bseed, f: Failure) -> None:
        if f.index < 0:
            e = entries[0]
        else:
            e = entries[f.index]
            e, f = self._reduce(e, bseed, f, _tag(entries, f))
        b = Batch([e], bseed)
        b.cases = {}
        standalone = False
        case = None
        try:
            fs = b.run(f.backend, f.mode, insts=[f.inst])
            standalone = any(x.kind == f.kind for x in fs)
            same = [x for x in fs if x.kind == f.kind]
            if same:
                f = dataclasses.replace(same[0], index=f.index)
            case = b.case(f.inst)[0]
        except Exception:   # noqa: BLE001
            case = None
        ops = e.prog.op_names()
        prod = _producer(e, f)
        known = classify(ops, f.kind, f.backend, f.mode, f.detail, prod)
        if case is not None:
            repro = repro_source(e, case, dataclasses.replace(f, index=0))
        else:
            repro = "# (could not rebuild the case)\n"
        title = f"{f.kind} on {f.backend}/{f.mode}: " + (prod or "+".join(sorted(ops))[:80])
        fnd = Finding(title, f, e, repro, ops, prod, known.name if known else None, standalone)
        self.findings.append(fnd)
        tag = f"known: {known.name}" if known else "NEW"
        self.log(f"== finding {len(self.findings)} [{tag}] {title}\n{f.detail}\n"
                 f"shrink: {getattr(self, 'shrink_steps', 0)} steps, "
                 f"{getattr(self, 'shrink_checks', 0)} checks, "
                 f"{time.perf_counter() - self.shrink_t0:.0f} s, size {e.prog.size()}\n"
                 f"stack: {e.stack.describe()}, instance {f.inst}, standalone: {standalone}\n"
                 f"{repro}")
        if self.cfg.findings_path is not None:
            append_finding(self.cfg.findings_path, fnd, len(self.findings), self._run_name())
        _dump_entry(e, f, len(self.findings))

    # -- the loop ------------------------------------------------------------------------
    def run(self) -> dict:
        # every module compiled is also checked on the other branch of its conditions on
        # AVX-512, the branch this CPU never compiles (cdsl.compile.CHECK_OTHER_BRANCH)
        from cdsl import compile as cc
        saved, cc.CHECK_OTHER_BRANCH = cc.CHECK_OTHER_BRANCH, True
        try:
            k = 0
            while time.perf_counter() < self.deadline and (
                    self.cfg.max_batches is None
                    or self.stats["batches"] < self.cfg.max_batches):
                self.explore(self.cfg.seed * 100003 + self.cfg.worker * 7919 * 1009 + k)
                k += 1
        finally:
            cc.CHECK_OTHER_BRANCH = saved
        return self.summary()

    def summary(self) -> dict:
        el = time.perf_counter() - self.t0
        modes = ("eager", "jit", "jit at new sizes")
        checked = {f"{be}/{m}": self.stats[("runs", be, m)] for be in self.cfg.backends
                   for m in modes if self.stats[("runs", be, m)]}
        grads = sum(n for (be, m, w), n in self.checks.items() if w == "grad directions")
        known = [f for f in self.findings if f.known]
        deliberate = [f for f in known if _deliberate(f.known)]
        out = {"programs": self.stats["entries"],
               "programs_x_backends_x_modes": sum(v for k, v in checked.items()
                                                  if not k.endswith("new sizes")),
               "checked": checked,
               "gradient_checks": grads,
               "disagreements": {"new": sum(1 for f in self.findings if not f.known),
                                 "known_bug": len(known) - len(deliberate),
                                 "deliberate_semantics": len(deliberate),
                                 "known_bug_hits_not_shrunk": sum(self.known_hits.values()),
                                 "repeats": sum(f.count - 1 for f in self.findings)},
               "programs_per_minute": round(self.stats["entries"] / max(el / 60, 1e-9), 1),
               "checked_per_minute": {k: round(v / max(el / 60, 1e-9), 1)
                                      for k, v in checked.items()},
               "minutes": el / 60, "batches": self.stats["batches"],
               "generate_seconds": self.stats["generate_seconds"],
               "runs": {be: {m: self.stats[("runs", be, m)]
                             for m in ("eager", "jit", "jit at new sizes")}
                        for be in self.cfg.backends},
               "called_from_8_threads": {be: self.stats[("threads", be)]
                                         for be in self.cfg.backends
                                         if self.stats[("threads", be)]},
               "seconds": {be: self.time_by_backend[be] for be in self.cfg.backends},
               "transforms": _nested(self.stacks),
               "checks": _nested(self.checks),
               "known_bug_hits": dict(self.known_hits),
               "findings": len(self.findings),
               "new": sum(1 for f in self.findings if not f.known),
               "fuzzer_errors": self.errors}
        out["runs_per_minute"] = {
            be: {m: round(self.stats[("runs", be, m)] / (self.stats[("seconds", be, m)] / 60))
                 for m in ("eager", "jit") if self.stats[("seconds", be, m)]}
            for be in self.cfg.backends}
        out["seconds_by_phase"] = {f"{be}/{m}/{w}" if be != "oracle" else "oracle": round(v, 1)
                                   for (be, m, w), v in sorted(self.phases.items())}
        out["seconds_by_phase"]["shrinking"] = round(self.stats["shrink_seconds"], 1)
        out["seconds_by_phase"]["threads"] = round(self.stats["threads_seconds"], 1)
        return out


def _deliberate(name: str | None) -> bool:
    """Whether the known-bug entry `name` records a deliberate semantic difference from JAX
    (an entry with `deliberate=True`) rather than a bug."""
    return any(k.name == name and getattr(k, "deliberate", False) for k in KNOWN)


def _rss_gb() -> float:
    """This process's resident memory (Linux; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (OSError, ValueError, IndexError):
        return 0.0


def _nested(counter) -> dict:
    """{(backend, mode, key): n} as {backend: {mode: {key: n}}} (for the JSON summary)."""
    out: dict = {}
    for (be, mode, key), n in sorted(counter.items()):
        out.setdefault(be, {}).setdefault(mode, {})[key] = n
    return out


def append_finding(path: Path, fnd: Finding, n: int, run: str = "") -> None:
    """Append finding `n` of a run to the findings log (`run` heads the run's first)."""
    f = fnd.failure
    cls = f"known bug: {fnd.known}" if fnd.known else _classify_kind(f.kind)
    head = [f"\n## Run of {time.strftime('%Y-%m-%d %H:%M')}: {run}"] if n == 1 and run else []
    lines = head + [f"\n### {time.strftime('%Y-%m-%d %H:%M')} #{n}: {fnd.title}", "",
             (f"- where: backend `{f.backend}`, mode `{f.mode}`, instance {f.inst}, stack "
              f"`{fnd.entry.stack.describe()}`, dtype {fnd.entry.prog.fdtype}"),
             f"- classification: {cls}",
             f"- reproduces standalone: {fnd.standalone}",
             f"- detail: {f.detail[:600]}", "", "```python", fnd.repro.rstrip(), "```", ""]
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines))


def _classify_kind(kind: str) -> str:
    return {"value": "wrong value", "nan": "wrong value (NaN/Inf position)",
            "precision": "precision (beyond the error model; check before filing)",
            "dtype": "wrong dtype (JAX promotion)", "shape": "wrong shape",
            "grad": "wrong derivative", "crash": "crash (exception where JAX gives a value)",
            "structure": "wrong output structure",
            "donation": "donated buffer still readable",
            "threads": "wrong result or crash only when called from 8 threads at once"
            }.get(kind, kind)


def run_fuzz(cfg: Config) -> dict:
    """Run a fuzz session with `cfg`; returns the summary."""
    if "FUNCGRAD_CACHE_DIR" not in os.environ:
        import tempfile
        os.environ["FUNCGRAD_CACHE_DIR"] = tempfile.mkdtemp(prefix="funcgrad-fuzz-")
    fz = Fuzzer(cfg)
    summary = fz.run()
    fz.log(fz.progress_line())
    return summary


__all__ = ["Config", "Finding", "Fuzzer", "append_finding", "run_fuzz"]
