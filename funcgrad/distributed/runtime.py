"""The process group: MPI's world through mpi4py, or a world of one process when no MPI
launcher started this one; the transport that runs the collective primitives on host
buffers; deadlines on every wait; the program checks; stopping every process when one
fails.

Every collective is non-blocking MPI (`Iallreduce`, `Iallgather`, ...) waited on by
polling against a deadline (`timeout`, default 300 s, `FUNCGRAD_DISTRIBUTED_TIMEOUT`), so a
process whose peers died, raised or run another program gets a `CollectiveTimeoutError`
instead of hanging. An exception that leaves a process of a multi-process world calls
`MPI_Abort` (through `sys.excepthook`), which makes the launcher stop every process.
"""
from __future__ import annotations

import difflib
import os
import sys
import threading
import time

import numpy as np

from ..prims.collectives import DistributedError, set_transport, wire_dtype

DEFAULT_TIMEOUT = 300.0
TIMEOUT_ENV = "FUNCGRAD_DISTRIBUTED_TIMEOUT"
BUCKET_ENV = "FUNCGRAD_DISTRIBUTED_BUCKET_BYTES"
DEFAULT_BUCKET_BYTES = 4 << 20

# Variables set by MPI launchers (MPICH/Hydra, Intel MPI and PMI-2 launchers such as Slurm's
# srun: PMI_*; Open MPI: OMPI_*; PMIx launchers: PMIX_RANK).
_LAUNCHER_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")
_LAUNCHER_VARS = _LAUNCHER_SIZE_VARS + ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK")


class CollectiveTimeoutError(DistributedError):
    """A collective (or barrier) did not complete within the deadline."""


class ProgramMismatchError(DistributedError):
    """Processes ran different programs (or different collectives) at the same point."""


# ---------------------------------------------------------------------------------------
# Packing: several arrays reduced as one buffer per dtype

def _groups(arrays):
    """{wire dtype: [indices]} in first-seen order."""
    groups: dict = {}
    for i, a in enumerate(arrays):
        groups.setdefault(wire_dtype(a.dtype), []).append(i)
    return groups


def _pack(arrays, idx, wire):
    total = sum(arrays[i].size for i in idx)
    buf = np.empty(total, wire)
    off = 0
    for i in idx:
        a = arrays[i]
        buf[off:off + a.size] = a.reshape(-1)     # (converts float16/bool on the way)
        off += a.size
    return buf


def _unpack(buf, arrays, idx, outs):
    off = 0
    for i in idx:
        a = arrays[i]
        part = buf[off:off + a.size].reshape(a.shape)
        # Views of the reduced buffer: no copy unless the wire type differs.
        outs[i] = part if part.dtype == a.dtype else part.astype(a.dtype)
        off += a.size


def _buckets(n: int, itemsize: int, bucket_bytes: int):
    step = max(1, bucket_bytes // max(itemsize, 1))
    return [(s, min(n, s + step)) for s in range(0, n, step)] or [(0, 0)]


class _FusedBuffers:
    """The fused buffers of the allreduces, reused from step to step instead of allocated
    anew: a buffer is handed out again once nothing but this pool refers to it, that is
    once its reduction is finished and every result (a view of it) is gone, so results a
    caller keeps are never overwritten. At most `per_size` buffers are kept per dtype and
    size (a caller keeping every step's results gets new ones beyond that)."""

    def __init__(self, per_size: int = 2, max_bytes: int = 1 << 30):
        self._kept: dict = {}
        self._bytes = 0
        self.per_size = per_size
        self.max_bytes = max_bytes

    def get(self, dtype, n: int) -> np.ndarray:
        """A 1-d buffer of `n` elements of `dtype` that nothing else refers to."""
        kept = self._kept.setdefault((dtype, n), [])
        for buf in kept:
            # Each view of `buf` (a result, or a message in flight) adds a reference.
            if sys.getrefcount(buf) == _UNUSED_REFS:
                return buf
        buf = np.empty(n, dtype)
        if len(kept) < self.per_size and self._bytes + buf.nbytes <= self.max_bytes:
            kept.append(buf)
            self._bytes += buf.nbytes
        return buf


def _references_of_an_unused_buffer() -> int:
    """sys.getrefcount of a kept buffer nothing else refers to, seen from the loop of
    `_FusedBuffers.get` (the list, the loop variable and the argument; measured, as the
    interpreter may not count a loop variable)."""
    kept = [np.empty(0)]
    for buf in kept:
        return sys.getrefcount(buf)
    return 0


_UNUSED_REFS = _references_of_an_unused_buffer()


# ---------------------------------------------------------------------------------------
# A world of one process (no MPI)


class LocalWorld:
    """The process group of a process started without an MPI launcher: one member."""

    rank = 0
    size = 1
    uses_mpi = False

    def allreduce(self, arrays, op):
        return [np.array(a, copy=True) for a in arrays]

    def allreduce_in_place(self, buf, op, operands=()):
        """`allreduce` of `buf` written back into it (a transport without an in-place
        reduction of its own; with one member the result is `buf` itself)."""
        result = self.allreduce([buf], op)[0]
        if result is not buf:
            np.copyto(buf, result)

    def allreduce_start(self, arrays, op):
        self._started = getattr(self, "_started", {})
        token = len(self._started)
        self._started[token] = self.allreduce(arrays, op)
        return token

    def allreduce_finish(self, token):
        return self._started.pop(token)

    def allgather(self, x):
        return np.array(x, copy=True)[None]

    def reduce_scatter(self, blocks, op):
        return np.array(blocks[0], copy=True)

    def ppermute(self, x, perm):
        return np.array(x, copy=True) if (0, 0) in perm else np.zeros_like(x)

    def broadcast(self, arrays, root):
        return [np.array(a, copy=True) for a in arrays]

    def check_program(self, info):
        pass

    def check_signature(self, name, signature):
        pass

    def barrier(self):
        pass

    def close(self):
        pass


# ---------------------------------------------------------------------------------------
# MPI


class MPIWorld:
    """MPI's world: the collectives of programs run on a duplicate of COMM_WORLD, the
    program checks on another, so a check never matches a data message."""

    uses_mpi = True

    def __init__(self, MPI, timeout: float, bucket_bytes: int):
        self.MPI = MPI
        world = MPI.COMM_WORLD
        self.rank = world.Get_rank()
        self.size = world.Get_size()
        self.comm = world.Dup()
        self.check_comm = world.Dup()
        self.timeout = timeout
        self.bucket_bytes = bucket_bytes
        self._ops = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}
        self._pending = None          # (request, buffer, info) of a started program check
        self._inflight: dict = {}     # token -> an allreduce started by allreduce_start
        self._next_token = 0
        self._plans: dict = {}        # (shapes, dtypes) -> the layout of the fused buffers
        self._digests: dict = {}      # program digest -> the words its check reduces
        self._fused = _FusedBuffers()
        self._lock = threading.RLock()
        # How many allreduces took each path: "in_place" on a compiled program's own
        # buffers (`allreduce_in_place`), "copied" through the fused buffers.
        self.allreduce_counts = {"in_place": 0, "copied": 0}

    # --- waiting -------------------------------------------------------------------------

    def _wait(self, requests, what: str) -> None:
        """Wait for `requests` by polling until the deadline, giving the core away between
        polls (`sched_yield`), and after `_YIELD_S` sleeping between them (backing off to
        1 ms). With one process per core nothing else is waiting for the core and a yield
        returns at once; on a loaded machine it lets the others run. (On the 2-core machine
        with other processes running, spinning for the first 0.2 ms before yielding, as
        this did before, made the 2.7 MB fused allreduce 1.3x slower than yielding at once,
        and spinning for 5 ms 1.45x slower than for 0.2 ms: interleaved A/B runs.)"""
        testall = self.MPI.Request.Testall
        if testall(requests):
            return
        start = time.monotonic()
        deadline = start + self.timeout
        while not testall(requests):
            now = time.monotonic()
            waited = now - start
            if waited < _YIELD_S:
                _yield_core()
                continue
            if now > deadline:
                raise CollectiveTimeoutError(
                    f"funcgrad.distributed: process {self.rank} of {self.size} waited "
                    f"{waited:.0f} s for {what} without the other processes joining. "
                    "Another process has died, raised, is stuck, or runs a different "
                    "program or a different number of steps. (The deadline is "
                    f"{self.timeout:g} s: initialize(timeout=...) or {TIMEOUT_ENV}.)")
            time.sleep(min(1e-3, waited / 100))

    # --- program checks ------------------------------------------------------------------

    def check_program(self, info) -> None:
        """Start comparing `info.digest` across processes (an Iallreduce of the digest and
        its negation with MAX, on the check communicator); the next collective finishes the
        comparison before it sends anything."""
        with self._lock:
            self._finish_check()
            words = self._digests.get(info.digest)
            if words is None:
                words = _digest_words(info.digest)
                if len(self._digests) >= _MAX_PLANS:
                    self._digests.clear()
                words = self._digests[info.digest] = words + [-w for w in words]
            buf = np.array(words, np.int64)
            req = self.check_comm.Iallreduce(self.MPI.IN_PLACE, buf, op=self.MPI.MAX)
            self._pending = (req, buf, info)

    def check_signature(self, name: str, signature: str) -> None:
        """Compare a collective's signature outside a program (eager use) right away."""
        from ..prims.collectives import ProgramInfo
        self.check_program(ProgramInfo(name, signature, ""))
        self._finish_check()

    def _finish_check(self) -> None:
        pending = self._pending
        if pending is None:
            return
        self._pending = None
        req, buf, info = pending
        self._wait([req], f"the program check of {info.name}")
        n = len(buf) // 2
        if all(buf[i] == -buf[n + i] for i in range(n)):
            return
        # They differ: every process sees it (the reduced maximum and minimum disagree) and
        # gathers the descriptions to name the difference.
        described = self.check_comm.allgather((info.digest, info.signature, info.text))
        raise ProgramMismatchError(_mismatch_message(info.name, described, self.rank))

    # --- collectives ---------------------------------------------------------------------

    def allreduce(self, arrays, op):
        """Reduce `arrays` elementwise over the processes (see `allreduce_start`)."""
        with self._lock:
            return self.allreduce_finish(self.allreduce_start(arrays, op))

    def allreduce_start(self, arrays, op) -> int:
        """Start reducing `arrays` elementwise over the processes: they are copied into one
        fused buffer per wire dtype (reused from step to step, see `_FusedBuffers`), which
        is reduced in place (`MPI_IN_PLACE`), in messages of at most `bucket_bytes`; the
        results are views of it. One in-place message rather than one message per array
        from its own buffer into a new one: between two processes of one machine an
        out-of-place `Allreduce` of 2.7 MB took 1.2-1.3 ms, an in-place one 0.7-0.8 ms and
        the copy in 0.1-0.25 ms, and each further message costs a synchronisation of the
        processes. The messages go one after the other (concurrent collectives on one
        machine compete for the same memory bandwidth); the first is posted now. Returns
        the token `allreduce_finish` takes."""
        with self._lock:
            self._finish_check()
            arrays = [np.asarray(a) for a in arrays]
            messages, jobs = [], []
            for wire, idx, offsets, total, buckets in self._plan(arrays):
                buf = self._fused.get(wire, total)
                for i, off in zip(idx, offsets):
                    a = arrays[i]
                    # (converts float16/bool on the way)
                    np.copyto(buf[off:off + a.size], np.ravel(a), casting="unsafe")
                for s, e in buckets:
                    messages.append(buf[s:e])
                jobs.append((buf, idx, offsets))
            token = self._next_token
            self._next_token = (self._next_token + 1) % (1 << 31)   # an int32 token
            self.allreduce_counts["copied"] += 1
            mop = self._ops[op]
            first = self.comm.Iallreduce(self.MPI.IN_PLACE, messages[0], op=mop) \
                if messages else None
            # The fused buffers stay referenced (so they are not handed out again) until
            # the reduction is finished, and afterwards while any result is alive.
            self._inflight[token] = (first, messages, mop, jobs, arrays, op)
            return token

    def _plan(self, arrays):
        """[(wire dtype, indices, offsets, total size, buckets)] for arrays of these shapes
        and dtypes, computed once per list of them."""
        key = tuple((a.shape, a.dtype) for a in arrays)
        plan = self._plans.get(key)
        if plan is None:
            plan = []
            for wire, idx in _groups(arrays).items():
                offsets, total = [], 0
                for i in idx:
                    offsets.append(total)
                    total += arrays[i].size
                plan.append((wire, idx, offsets, total,
                             _buckets(total, wire.itemsize, self.bucket_bytes)))
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            self._plans[key] = plan
        return plan

    def allreduce_finish(self, token: int):
        """Wait for the reduction `token` started (posting its further messages in turn)
        and return its results (views of the fused buffers)."""
        with self._lock:
            entry = self._inflight.pop(token, None)
            if entry is None:
                raise DistributedError(f"funcgrad.distributed: no allreduce in flight with "
                                       f"token {token} (internal: finished twice?)")
            request, messages, mop, jobs, arrays, op = entry
            self._finish_messages(request, messages, mop, _Lazy(_describe_allreduce, op,
                                                                 arrays))
            outs = [None] * len(arrays)
            for buf, idx, offsets in jobs:
                for i, off in zip(idx, offsets):
                    a = arrays[i]
                    part = buf[off:off + a.size].reshape(a.shape)
                    outs[i] = part if part.dtype == a.dtype else part.astype(a.dtype)
            return outs

    def _finish_messages(self, request, messages, mop, what) -> None:
        """Wait for `request` (the first message's), then post and wait for each further
        message in turn."""
        for k, message in enumerate(messages):
            if k:
                request = self.comm.Iallreduce(self.MPI.IN_PLACE, message, op=mop)
            self._wait([request], what)

    def allreduce_in_place(self, buf, op, operands=()) -> None:
        """Reduce the 1-d contiguous `buf` (of a wire dtype) elementwise over the processes,
        in place, in messages of at most `bucket_bytes`: the C backend's path for a
        reduction whose operands it placed side by side in one block of its memory, with
        no copy into a fused buffer and none out of it. `operands` (arrays or avals) name
        what is reduced in a timeout's message."""
        with self._lock:
            self._finish_check()
            self.allreduce_counts["in_place"] += 1
            mop = self._ops[op]
            messages = [buf[s:e] for s, e in _buckets(buf.size, buf.itemsize,
                                                       self.bucket_bytes)]
            first = self.comm.Iallreduce(self.MPI.IN_PLACE, messages[0], op=mop)
            self._finish_messages(first, messages, mop, _Lazy(_describe_allreduce, op,
                                                              operands))

    def allgather(self, x):
        with self._lock:
            self._finish_check()
            wire = wire_dtype(x.dtype)
            send = np.ascontiguousarray(x, wire)
            out = np.empty((self.size,) + x.shape, wire)
            self._wait([self.comm.Iallgather(send, out)], f"an all_gather of {_describe([x])}")
            return out if wire == x.dtype else out.astype(x.dtype)

    def reduce_scatter(self, blocks, op):
        with self._lock:
            self._finish_check()
            wire = wire_dtype(blocks.dtype)
            send = np.ascontiguousarray(blocks, wire)
            out = np.empty(blocks.shape[1:], wire)
            self._wait([self.comm.Ireduce_scatter_block(send, out, op=self._ops[op])],
                       f"a psum_scatter of {_describe([blocks])}")
            return out if wire == blocks.dtype else out.astype(blocks.dtype)

    def ppermute(self, x, perm):
        with self._lock:
            self._finish_check()
            wire = wire_dtype(x.dtype)
            send = np.ascontiguousarray(x, wire)
            out = np.zeros(x.shape, wire)
            reqs = []
            for s, d in perm:
                if s == self.rank and d == self.rank:
                    out[...] = send
                elif s == self.rank:
                    reqs.append(self.comm.Isend(send, dest=d, tag=_PPERMUTE_TAG))
                elif d == self.rank:
                    reqs.append(self.comm.Irecv(out, source=s, tag=_PPERMUTE_TAG))
            self._wait(reqs, f"a ppermute of {_describe([x])}")
            return out if wire == x.dtype else out.astype(x.dtype)

    def broadcast(self, arrays, root):
        """Process `root`'s `arrays` on every process (one Ibcast per dtype)."""
        with self._lock:
            self._finish_check()
            arrays = [np.asarray(a) for a in arrays]
            outs = [None] * len(arrays)
            reqs, jobs = [], []
            for wire, idx in _groups(arrays).items():
                buf = _pack(arrays, idx, wire)
                for s, e in _buckets(buf.size, buf.itemsize, self.bucket_bytes):
                    reqs.append(self.comm.Ibcast(buf[s:e], root=root))
                jobs.append((buf, idx))
            self._wait(reqs, f"a broadcast from process {root} of {_describe(arrays)}")
            for buf, idx in jobs:
                _unpack(buf, arrays, idx, outs)
            return outs

    def barrier(self):
        with self._lock:
            self._finish_check()
            self._wait([self.comm.Ibarrier()], "a barrier")

    def close(self):
        with self._lock:
            pending, self._pending = self._pending, None
            if pending is not None:
                self._wait([pending[0]], "the last program check")
            for c in (self.comm, self.check_comm):
                c.Free()


_PPERMUTE_TAG = 0x6667
_MAX_PLANS = 256
_yield_core = getattr(os, "sched_yield", lambda: None)
_YIELD_S = 5e-3


def _digest_words(digest: str) -> list[int]:
    # Two 62-bit words of the SHA-256 (negation stays in int64).
    return [int(digest[:16], 16) >> 2, int(digest[16:32], 16) >> 2]


class _Lazy:
    """A description formatted only when an error message needs it."""

    __slots__ = ("args", "fn")

    def __init__(self, fn, *args):
        self.fn = fn
        self.args = args

    def __str__(self):
        return self.fn(*self.args)


def _describe_allreduce(op, arrays) -> str:
    return f"an allreduce ({op}) of {_describe(arrays)}"


def _describe(arrays) -> str:
    parts = [f"{a.dtype.name}{list(a.shape)}" for a in arrays[:4]]
    more = f" and {len(arrays) - 4} more" if len(arrays) > 4 else ""
    return ", ".join(parts) + more


def _mismatch_message(name, described, rank) -> str:
    """Which processes differ from process 0, and how: the input types, else the first
    lines where the programs differ."""
    ref_digest, ref_sig, ref_text = described[0]
    lines = [(f"funcgrad.distributed: the processes run different programs in {name} (seen "
              f"by process {rank}); every process must trace the same program, with the same "
              "shapes and dtypes, before the first collective.")]
    for r, (digest, sig, text) in enumerate(described[1:], 1):
        if digest == ref_digest:
            continue
        if sig != ref_sig:
            lines.append(f"  process 0 called it with {ref_sig}")
            lines.append(f"  process {r} called it with {sig}")
        else:
            diff = list(difflib.unified_diff(ref_text.splitlines(), text.splitlines(),
                                             "process 0", f"process {r}", n=1, lineterm=""))
            lines.append(f"  the programs of process 0 and process {r} differ:")
            lines.extend("    " + d for d in diff[:24])
            if len(diff) > 24:
                lines.append(f"    ... ({len(diff) - 24} more lines)")
        break
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# The world of this process

_state = {"world": None, "hooks": None}
_init_lock = threading.Lock()


# glibc's mallopt parameters (malloc.h) and the most it accepts for the mmap threshold on a
# 64-bit system (HEAP_MAX_SIZE / 2).
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MAX_MMAP_THRESHOLD = 32 << 20
_MALLOC_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


def keep_freed_buffers() -> bool:
    """Make glibc keep freed buffers of up to 32 MiB for reuse instead of unmapping them.

    By default glibc serves every allocation above its (adaptive) mmap threshold with fresh
    pages and unmaps them on free, so each training step's gradients and each allreduce's
    results live in memory the process has never touched. MPICH's transfer of a large
    message between processes of one machine costs about 3x more from and into such
    buffers than from reused ones (measured with mpi4py alone, 2 processes, 2.68 MB:
    `Allreduce` into a new NumPy array each call against the same array; equal once the
    threshold is raised), which made the fused gradient allreduce reach 71% of a raw
    `Allreduce` into a preallocated buffer. Raising the mmap threshold (and the trim
    threshold with it) keeps such buffers in the heap, where the next step reuses them.
    Done once, when a multi-process world starts; a process that sets glibc's own
    variables (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`, `GLIBC_TUNABLES`) keeps
    its choice. Returns whether the thresholds were changed (False off glibc)."""
    if any(v in os.environ for v in _MALLOC_ENV):
        return False
    try:
        import ctypes
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False                     # not glibc (musl, macOS): nothing to tune
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok = mallopt(_M_MMAP_THRESHOLD, _MAX_MMAP_THRESHOLD) == 1
    return mallopt(_M_TRIM_THRESHOLD, 2 * _MAX_MMAP_THRESHOLD) == 1 and ok


def launched_by_mpi() -> bool:
    """Whether an MPI launcher (mpirun/mpiexec/srun) started this process."""
    return any(os.environ.get(v) for v in _LAUNCHER_VARS)


def _launcher_size() -> int:
    for v in _LAUNCHER_SIZE_VARS:
        try:
            return int(os.environ[v])
        except (KeyError, ValueError):
            continue
    return 1


def initialize(timeout: float | None = None, *, use_mpi: bool | None = None,
               bucket_bytes: int | None = None, abort_on_error: bool = True):
    """Join the process group (idempotent: later calls return the same world).

    Under an MPI launcher (`mpirun -n N python train.py`, with a hostfile across machines)
    it reads MPI's world through mpi4py; started without one it is a world of one process
    and needs no MPI at all (`use_mpi=True` forces MPI, `False` forbids it). `timeout`
    bounds every collective's wait (default `FUNCGRAD_DISTRIBUTED_TIMEOUT` or 300 s);
    `bucket_bytes` bounds the buffers of one allreduce message (default 4 MiB). With
    `abort_on_error` (the default) an exception that leaves any process of a multi-process
    world aborts all of them (MPI_Abort) instead of leaving the others waiting."""
    with _init_lock:
        world = _state["world"]
        if world is not None:
            return world
        if timeout is None:
            timeout = float(os.environ.get(TIMEOUT_ENV, DEFAULT_TIMEOUT))
        if timeout <= 0:
            raise ValueError(f"initialize: timeout must be positive, got {timeout}")
        if bucket_bytes is None:
            bucket_bytes = int(os.environ.get(BUCKET_ENV, DEFAULT_BUCKET_BYTES))
        if use_mpi is None:
            use_mpi = launched_by_mpi()
        if use_mpi:
            try:
                from mpi4py import MPI
            except ImportError as e:
                raise ImportError(
                    "funcgrad.distributed: this process was started by an MPI launcher "
                    f"({_launcher_size()} processes) but mpi4py is not installed: pip install "
                    "-e '.[distributed]' (mpi4py and the mpich wheel, which brings mpiexec)"
                ) from e
            world = MPIWorld(MPI, float(timeout), int(bucket_bytes))
            if world.size > 1:
                keep_freed_buffers()
        else:
            world = LocalWorld()
        _state["world"] = world
        set_transport(world)
        if abort_on_error and world.size > 1:
            _install_abort_hooks(world)
        return world


def shutdown() -> None:
    """Leave the process group: wait for the last program check, free the communicators,
    restore the exception hooks. `initialize()` may be called again afterwards."""
    with _init_lock:
        world = _state["world"]
        if world is None:
            return
        _state["world"] = None
        set_transport(None)
        _remove_abort_hooks()
        world.close()


def world():
    """This process's world, or None before `initialize()`."""
    return _state["world"]


def require(what: str):
    """The world, or a clear error naming `what` needs `initialize()`."""
    w = _state["world"]
    if w is None:
        raise DistributedError(f"{what} needs funcgrad.distributed.initialize() first (it "
                               "reads the MPI world, or makes a world of one process)")
    return w


def is_initialized() -> bool:
    """Whether `initialize()` has been called (and `shutdown()` not since)."""
    return _state["world"] is not None


def process_index() -> int:
    """This process's index in the world (0 before `initialize()`, as JAX)."""
    w = _state["world"]
    return 0 if w is None else w.rank


def process_count() -> int:
    """The number of processes in the world (1 before `initialize()`, as JAX)."""
    w = _state["world"]
    return 1 if w is None else w.size


def barrier() -> None:
    """Wait until every process gets here (bounded by the timeout)."""
    require("barrier()").barrier()


def write_once(write, what: str = "a file"):
    """Run `write()` on process 0 only, then wait until it is done on every process (a
    barrier), so all of them can read what it wrote; without several processes (or before
    `initialize()`), just run it. For `io.save` under `mpirun`: one writer, every reader."""
    w = _state["world"]
    if w is None or w.size == 1:
        return write()
    result = write() if w.rank == 0 else None
    w._wait([w.comm.Ibarrier()], f"process 0 to finish writing {what}")
    return result


# ---------------------------------------------------------------------------------------
# Stopping every process when one fails


_ABORT_GRACE_S = 1.0


def _install_abort_hooks(world) -> None:
    prev_sys, prev_thread = sys.excepthook, threading.excepthook

    def report_and_abort(kind):
        try:
            sys.stderr.write(
                f"funcgrad.distributed: process {world.rank} of {world.size} stopped with "
                f"{kind}; aborting all {world.size} processes (MPI_Abort)\n")
            sys.stderr.flush()
            sys.stdout.flush()
            # The launcher stops forwarding output once it sees the abort: give it a moment
            # to pass on the traceback and this message (on a loaded machine they were lost).
            time.sleep(_ABORT_GRACE_S)
        finally:
            world.MPI.COMM_WORLD.Abort(1)

    def excepthook(exc_type, exc, tb):
        prev_sys(exc_type, exc, tb)
        report_and_abort(exc_type.__name__)

    def thread_excepthook(args):
        prev_thread(args)
        if args.exc_type is not SystemExit:
            report_and_abort(f"{args.exc_type.__name__} in thread {args.thread.name}")

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
    _state["hooks"] = (prev_sys, prev_thread, excepthook, thread_excepthook)


def _remove_abort_hooks() -> None:
    hooks = _state["hooks"]
    if hooks is None:
        return
    prev_sys, prev_thread, mine_sys, mine_thread = hooks
    if sys.excepthook is mine_sys:
        sys.excepthook = prev_sys
    if threading.excepthook is mine_thread:
        threading.excepthook = prev_thread
    _state["hooks"] = None
