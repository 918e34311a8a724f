"""Contention for `python -m bench --busy N`: N processes, each pinned to one of the last N
usable CPUs, spinning in a Python loop for as long as a workload is timed.

`Spinners(n)` is a context manager: on entry it starts the processes and waits until each
has pinned itself and started spinning; on exit it stops them and records how many cores
they kept busy (their CPU time over their lifetime). The spinners run at the same priority
as the benchmark, as another user's job would.

Run as a script (`python -S bench/busy.py CPU`), this file is one spinner.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time


def usable_cpus():
    """The CPUs this process may run on, sorted."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def busy_cpus(n):
    """The last `n` usable CPUs: the ones `--busy n` keeps busy."""
    cpus = usable_cpus()
    if n < 0:
        raise ValueError(f"--busy {n}: the number of busy cores cannot be negative")
    if n >= len(cpus):
        raise ValueError(f"--busy {n} leaves no free core: this process may use "
                         f"{len(cpus)} CPU(s) ({cpus}); use at most {len(cpus) - 1}")
    return cpus[len(cpus) - n:] if n else []


def _cpu_seconds(pid):
    """User + system CPU seconds of process `pid` (from /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


class Spinners:
    """N spinning processes pinned to the last N usable CPUs (see the module docstring)."""

    def __init__(self, n):
        self.cpus = busy_cpus(n)
        self.procs = []
        self.load = None          # cores kept busy, measured when they stop
        self._t0 = None
        self._cpu0 = []

    def __enter__(self):
        try:
            for cpu in self.cpus:
                p = subprocess.Popen([sys.executable, "-S", os.path.abspath(__file__),
                                      str(cpu)], stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
                self.procs.append(p)
            for p, cpu in zip(self.procs, self.cpus):
                # the spinner writes one byte once pinned, then spins
                if p.stdout.read(1) != b"x":
                    raise RuntimeError(f"the spinning process for CPU {cpu} did not start "
                                       f"(exit code {p.poll()})")
        except BaseException:
            self._stop()
            raise
        # from here on: the spinning, not the interpreter's start-up
        self._cpu0 = [_cpu_seconds(p.pid) for p in self.procs]
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        wall = time.perf_counter() - self._t0 if self._t0 is not None else 0.0
        cpu = [_cpu_seconds(p.pid) for p in self.procs]
        self._stop()
        if self.procs and wall > 0 and None not in cpu + self._cpu0:
            self.load = (sum(cpu) - sum(self._cpu0)) / wall
        return False

    def _stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
        for p in self.procs:
            p.wait()
            if p.stdout:
                p.stdout.close()

    def describe(self):
        """'1 core busy (CPU 1, measured 0.99 cores)' or 'no added load'."""
        if not self.cpus:
            return "no added load"
        n = len(self.cpus)
        s = (f"{n} core{'s' if n > 1 else ''} busy (spinning process{'es' if n > 1 else ''}"
             f" pinned to CPU {', '.join(map(str, self.cpus))}")
        if self.load is not None:
            s += f"; measured {self.load:.2f} cores"
        return s + ")"


def _spin(cpu):
    os.sched_setaffinity(0, {cpu})
    sys.stdout.buffer.write(b"x")
    sys.stdout.buffer.flush()
    while True:
        pass


if __name__ == "__main__":
    _spin(int(sys.argv[1]))
