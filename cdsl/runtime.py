"""The runtime library: helpers too big to compile into every module, built once per
machine and compiler into the compile cache and shared by the modules that call them.

The float32 GEMM kernels (`helpers.sgemmdk_f32` and its kin) are a few hundred lines of
register-blocked vector code: inlined into a module they were a quarter to a third of its
compile time (gcc spent ~0.15 s of a 0.5 s build of an MLP step on them), and they are the
same in every module. A module rendered with `Module.external_helpers` naming them declares
them instead (`extern` prototypes under this library's symbol names) and calls them out of
line: each call runs a whole tile sweep, so the call itself costs nothing measurable.

Symbols are `fgrt<digest>_<helper>`, the digest taken over the library's source: a module
built against one version of the kernels names that version's symbols, so it can never
bind to different code (it fails to load and is rebuilt instead). `compile.load` loads this
library with `RTLD_GLOBAL` before it loads a module whose source names the prefix; the
dynamic loader then resolves the module's calls at `dlopen` (cffi opens with `RTLD_NOW`:
an unresolved symbol is an error at load, never a crash at the call).

Where the library comes from: a package may ship it prebuilt (`add_prebuilt`: funcgrad
compiles `source()` into its eager-kernel extension at install time, so that a first run
compiles only the program); a prebuilt file is used when it exports every symbol of this
version. Otherwise it is compiled like any module, through the verified cache.

It also holds the thread count of parallel loops (`team` / `set_team`, per thread): a
module rendered with `dialect(...)` sizes every OpenMP region by `team()` through a
`num_threads` clause, not by libgomp's per-thread default (the ICV). The ICV belongs to the
whole process: PyTorch's CPU wheel shares the system libgomp and both sets it
(`torch.set_num_threads`) and reads it for its own ops, so a caller that steered its
regions through `omp_set_num_threads` changed PyTorch's thread count and had its own
changed by PyTorch (issue 15)."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import threading

from . import ast as A
from . import helpers

# The helpers that live here (name as the lowering calls it, with its type suffix): the
# direct kernel, and every packed-panel kernel with its two packing routines (the 512-bit
# and the 256-bit ones, at every instruction-set level: the lowering picks one by the CPU's
# vector width, `helpers.PACKED_TILES`).
HELPERS = ("sgemmdk_f32",) + tuple(name for tile in helpers.PACKED_TILES
                                   for name in (tile.kernel, tile.pack, tile.panels))

_lock = threading.Lock()
_state: dict = {}
_prebuilt: list = []       # callables returning the path of a prebuilt library, or None


def add_prebuilt(finder) -> None:
    """Register `finder()`, which returns the path of a shared library built from
    `source()` (or None): `ensure_loaded` tries it before compiling the library."""
    _prebuilt.append(finder)


def _definitions() -> tuple:
    return tuple(helpers._make(name, name.rsplit("_", 1)[1]) for name in HELPERS)


# The team size of the calling thread's parallel loops: set_team(n) with n >= 1 (0: none
# set, libgomp's own default). Thread-local, as libgomp's ICV is: two Python threads may run
# programs with different plans at once.
#
# `spread`, called by every thread of a team as its parallel region starts: a worker that
# finds itself on the CPU of the thread that forked the region moves to another CPU of its
# affinity mask (and gets its mask back, so the kernel may move it again later). On a
# virtual machine the kernel wakes a sleeping worker onto the waker's CPU when the other
# vCPU is idle (an idle vCPU looks preempted to the guest), and two threads sharing one
# CPU -- one of them spinning at the region's barrier -- then stay there: a C program
# alternating 25 us regions of 2 threads with 10 us serial gaps took 220 us a region with
# both threads on one CPU in 199-200 of 200 regions, 38 us with this check (AMD Zen 5 VM,
# 2 vCPUs, 2026-12-04); the MLP step with two threads in the benchmark's process, 2.8-3.0
# ms against 2.0 on one thread and 1.1 when its two threads ran on two CPUs. The check is
# a read of the CPU number (glibc's rseq area); the move, two system calls, happens only
# when stacked. `team` notes the forking thread's CPU.
_TEAM_C = """
static _Thread_local int {p}team_n;
static int {p}fork_cpu = -1;
static long {p}moves_n;
/* glibc's functions under names of our own (<sched.h> declares them only with
   _GNU_SOURCE, and with a cpu_set_t a translation unit including it would conflict with) */
extern int {p}getcpu(void) __asm__("sched_getcpu");
extern int {p}getaffinity(int, size_t, void *) __asm__("sched_getaffinity");
extern int {p}setaffinity(int, size_t, const void *) __asm__("sched_setaffinity");

/* The thread a fork left in a child process (`in_child`): its libgomp thread pool is the
   parent's, whose worker threads do not exist in the child, and a region of more than one
   thread forked from it waits for them forever (a multiprocessing.Pool worker of a parent
   that had run a two-thread program hung in its first one). That thread's regions run on
   one thread; threads the child starts later have pools of their own. */
static _Thread_local int {p}forked;

static int {p}sized(int n) {{
  if ({p}forked)
    return 1;
  n = n > 0 ? n : omp_get_max_threads();
  if (n > 1)
    __atomic_store_n(&{p}fork_cpu, {p}getcpu(), __ATOMIC_RELAXED);
  return n;
}}

int {p}team(void) {{
  return {p}sized({p}team_n);
}}

/* The team of a loop marked big (`For.big_team`: a dynamically scheduled loop with work
   enough that waiting for a slowed thread's last chunk costs little): set_big_team(n),
   else the team. */
static _Thread_local int {p}big_n;

int {p}team_big(void) {{
  return {p}sized({p}big_n > 0 ? {p}big_n : {p}team_n);
}}

void {p}set_team(int n) {{
  {p}team_n = n;
  {p}big_n = 0;
}}

void {p}set_big_team(int n) {{
  {p}big_n = n;
}}

static void {p}wjoin(void);
static _Thread_local int {p}wjoined;

void {p}spread(void) {{
  int t = omp_get_thread_num();
  if (t == 0)
    return;
  if (!{p}wjoined)
    {p}wjoin();
  int home = __atomic_load_n(&{p}fork_cpu, __ATOMIC_RELAXED);
  if (home < 0 || {p}getcpu() != home)
    return;
  unsigned long mask[16] = {{0}}, one[16] = {{0}};
  if ({p}getaffinity(0, sizeof mask, mask) != 0)
    return;
  int others = 0;
  for (int c = 0; c < 1024; ++c)
    others += c != home && ((mask[c / 64] >> (c % 64)) & 1);
  if (others == 0)
    return;
  int k = (t - 1) % others;       /* worker t: the t-th CPU of the mask other than home */
  for (int c = 0; c < 1024; ++c) {{
    if (c == home || !((mask[c / 64] >> (c % 64)) & 1))
      continue;
    if (k-- == 0) {{
      one[c / 64] = 1UL << (c % 64);
      break;
    }}
  }}
  if ({p}setaffinity(0, sizeof one, one) == 0) {{
    {p}setaffinity(0, sizeof mask, mask);
    __atomic_add_fetch(&{p}moves_n, 1, __ATOMIC_RELAXED);
  }}
}}

/* The end of a region: every thread calls it after its share of the loop, with a counter
   the region shares (0 at the fork). Workers count themselves done; the forking thread
   waits for them here, spinning and then yielding its CPU, for up to FINISH_S, and only
   then goes on to libgomp's barrier, which sleeps after a short spin. A forking thread
   that slept there was woken by the last worker onto that worker's CPU (the other vCPU,
   idle, looks preempted), where the worker then spun waiting for the next region: the two
   threads shared one CPU from then on. The benchmark's masked_log_softmax with two
   threads ran in blocks of calls at 2.2-2.8 ms, its forking thread sleeping and migrating
   three times a call; with this wait, 0.38-0.42 ms (one thread: 0.52; AMD Zen 5 VM,
   2026-12-04). */
#define FINISH_S 1e-3
extern int {p}yield(void) __asm__("sched_yield");

void {p}finish(int *done) {{
  int n = omp_get_num_threads();
  if (n < 2)
    return;
  if (omp_get_thread_num() != 0) {{
    __atomic_add_fetch(done, 1, __ATOMIC_RELEASE);
    return;
  }}
  double t0 = 0;
  for (int i = 0; __atomic_load_n(done, __ATOMIC_ACQUIRE) < n - 1; ++i) {{
    if (i < 256) {{
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#elif defined(__aarch64__)
      __asm__ __volatile__("yield");
#endif
      continue;
    }}
    double t = omp_get_wtime();
    if (t0 == 0)
      t0 = t;
    else if (t - t0 > FINISH_S)
      return;
    {p}yield();
  }}
}}

long {p}moves(void) {{
  return __atomic_load_n(&{p}moves_n, __ATOMIC_RELAXED);
}}

/* The CPU time of the worker threads of this library's teams (`workers_ns`). A worker
   joins the registry at its first region (`spread`) with its thread CPU clock, and leaves
   it when it exits (a thread-specific key's destructor adds its final time to `retired`).
   A thread's clock counts its running time up to the read, where the process's clock
   takes in another thread's running time only at the scheduler's ticks (every 4 ms at
   CONFIG_HZ=250): two threads computing read as 1.00x the wall time over 2 ms windows in
   the median (AMD Zen 5 VM, 2026-12-04), so a plan saw a team's calls cost one thread's
   CPU. The calling thread's own clock plus this sum is the team's CPU time, without the
   threads of other libraries (another framework's pool spinning) the process clock has. */
struct {p}timespec {{ long sec, nsec; }};
extern int {p}clock_gettime(int, struct {p}timespec *) __asm__("clock_gettime");
extern unsigned long {p}self(void) __asm__("pthread_self");
extern int {p}cpuclock(unsigned long, int *) __asm__("pthread_getcpuclockid");
extern int {p}once(int *, void (*)(void)) __asm__("pthread_once");
extern int {p}key_create(unsigned *, void (*)(void *)) __asm__("pthread_key_create");
extern int {p}setspecific(unsigned, const void *) __asm__("pthread_setspecific");
#define {p}MAXW 256
static int {p}wclock[{p}MAXW];
static int {p}wn;
static int64_t {p}wretired;
static char {p}wlock;
static int {p}wonce;
static unsigned {p}wkey;
static int {p}wkey_ok;

static int64_t {p}clock_ns(int clock) {{
  struct {p}timespec t;
  if ({p}clock_gettime(clock, &t) != 0)
    return 0;
  return (int64_t)t.sec * 1000000000 + t.nsec;
}}

static void {p}wtake(void) {{
  while (__atomic_test_and_set(&{p}wlock, __ATOMIC_ACQUIRE))
    ;
}}

static void {p}wgive(void) {{
  __atomic_clear(&{p}wlock, __ATOMIC_RELEASE);
}}

static void {p}wleave(void *arg) {{
  int clock = (int)(long)arg;
  {p}wtake();
  for (int i = 0; i < {p}wn; ++i)
    if ({p}wclock[i] == clock) {{
      {p}wretired += {p}clock_ns(3);   /* CLOCK_THREAD_CPUTIME_ID: this thread's */
      {p}wclock[i] = {p}wclock[--{p}wn];
      break;
    }}
  {p}wgive();
}}

static void {p}wkey_make(void) {{
  {p}wkey_ok = {p}key_create(&{p}wkey, {p}wleave) == 0;
}}

static void {p}wjoin(void) {{
  {p}wjoined = 1;
  int clock;
  {p}once(&{p}wonce, {p}wkey_make);
  /* a thread clock id is never 0 (its low bits are 6), so the key's value is non-null */
  if (!{p}wkey_ok || {p}cpuclock({p}self(), &clock) != 0)
    return;
  {p}wtake();
  int added = {p}wn < {p}MAXW;
  if (added)
    {p}wclock[{p}wn++] = clock;
  {p}wgive();
  if (added)
    {p}setspecific({p}wkey, (void *)(long)clock);
}}

/* In a forked child: one-thread regions on the forking thread (`forked`), and the worker
   registry emptied -- the parent's workers do not exist here, and a parent thread that held
   the registry's lock at the fork would have left it held forever. */
static void {p}in_child(void) {{
  {p}forked = 1;
  {p}fork_cpu = -1;
  {p}wn = 0;
  {p}wretired = 0;
  __atomic_clear(&{p}wlock, __ATOMIC_RELAXED);
}}

extern int {p}atfork(void (*)(void), void (*)(void), void (*)(void)) __asm__("pthread_atfork");

__attribute__((constructor)) static void {p}on_load(void) {{
  {p}atfork(0, 0, {p}in_child);
}}

int64_t {p}workers_ns(void) {{
  {p}wtake();
  int64_t ns = {p}wretired;
  for (int i = 0; i < {p}wn; ++i)
    ns += {p}clock_ns({p}wclock[i]);
  {p}wgive();
  return ns;
}}
"""
_TEAM_CDEF = ("int {p}team(void);\nvoid {p}set_team(int);\nint {p}team_big(void);\n"
              "void {p}set_big_team(int);\nlong {p}moves(void);\n"
              "void {p}finish(int *);\nint64_t {p}workers_ns(void);")


def _render(prefix: str) -> str:
    from .render import C99, render
    fns = tuple(A.Function(prefix + f.name, f.params, f.body, f.ret_type,
                           attributes=f.attributes) for f in _definitions())
    return render(A.Module(fns), C99) + _TEAM_C.format(p=prefix)


def source() -> str:
    """The library's C source, for a package that builds it ahead of time."""
    return _render(prefix())


def prefix() -> str:
    """`fgrt<digest>_`: the symbol prefix of this version of the library."""
    p = _state.get("prefix")
    if p is None:
        digest = hashlib.sha256(_render("").encode()).hexdigest()[:10]
        p = _state["prefix"] = f"fgrt{digest}_"
    return p


def symbols() -> dict:
    """{helper name: the symbol a module calls it by}."""
    p = prefix()
    return {name: p + name for name in HELPERS}


@functools.cache
def dialect(base):
    """`base` (an OpenMP dialect) with its parallel loops sized by this library's `team()`,
    the calling thread's count set by `set_team`, instead of libgomp's ICV. A module
    rendered with it names the library's prefix, so `compile.load` loads the library
    first."""
    return dataclasses.replace(base, team_size=prefix() + "team",
                               team_size_big=prefix() + "team_big",
                               region_start=prefix() + "spread",
                               region_end=prefix() + "finish", outline_regions=True)


def team_setter():
    """`set_team(n)`, which sets the calling thread's team size for modules rendered with
    `dialect` (the prebuilt eager kernels among them, which carry this library): n >= 1
    threads, or 0 for libgomp's default. Loads the library if needed."""
    return getattr(library(), prefix() + "set_team")


def big_team_setter():
    """`set_big_team(n)`: the calling thread's team for loops marked `big_team`, until the
    next `set_team` (which makes it the team again). Loads the library if needed."""
    return getattr(library(), prefix() + "set_big_team")


def moves() -> int:
    """How many times a worker thread moved off its region's forking CPU (`spread`) in
    this process, or 0 where the library is not loaded."""
    if not _state.get("loaded"):
        return 0
    return int(getattr(library(), prefix() + "moves")())


def workers_clock():
    """`workers_ns()`: the CPU time, in ns, of the worker threads of every team this
    library sized (their thread clocks, exact up to the call, and the final times of the
    workers that exited). Loads the library if needed."""
    return getattr(library(), prefix() + "workers_ns")


def ensure_loaded() -> None:
    """Build (or fetch from the cache) and load the library with its symbols global, once
    per process. Raises what `compile.load` raises."""
    if _state.get("loaded"):
        return
    from . import compile as C
    with _lock:
        if _state.get("loaded"):
            return
        lib = _load_prebuilt()
        _state["library"] = lib if lib is not None else C._load_global(source(), _cdef())
        _state["loaded"] = True


def _cdef() -> str:
    from .render import C99, declaration
    return "\n".join(declaration(A.Function(symbols()[f.name], f.params, (), f.ret_type), C99)
                      for f in _definitions()) + "\n" + _TEAM_CDEF.format(p=prefix())


def _open(path: str, global_symbols: bool):
    """(ffi, functions) of the library at `path`, or None when it lacks a symbol of this
    version (a build of other kernels) or does not load."""
    from . import compile as C
    try:
        return C._dlopen(_cdef(), path, global_symbols)
    except (OSError, AttributeError):
        return None


def provides(path: str) -> bool:
    """Whether the shared library at `path` holds this version of the runtime library."""
    return _open(path, False) is not None


def _load_prebuilt():
    from . import compile as C
    for finder in _prebuilt:
        path = finder()
        opened = _open(path, True) if path else None
        if opened is not None:
            return C.Library(*opened, path, "prebuilt", True)
    return None


def origin() -> str:
    """Where the loaded library came from: "prebuilt", "cache", or "" if not loaded."""
    lib = _state.get("library")
    if lib is None:
        return ""
    return "prebuilt" if lib.key == "prebuilt" else "cache"


def library():
    """The loaded runtime `Library` (loading it if needed)."""
    ensure_loaded()
    return _state["library"]
