"""funcgrad's on-disk compile cache as a user sees it, and how funcgrad says it degraded.

The cache (`$FUNCGRAD_CACHE_DIR`, default `~/.cache/funcgrad`) holds compiled C modules
(`c/`) and OpenCL program binaries (`opencl/`); its rules (private to the user, every
entry checked before it is loaded, usable read-only, bounded by
`FUNCGRAD_CACHE_MAX_BYTES`, least recently used entries evicted) live in `cdsl.compile`.

    python -m funcgrad.cache info     # location, entries, bytes, limit, prebuilt kernels
    python -m funcgrad.cache clear    # delete every cached module and binary
    python -m funcgrad.cache prune    # apply the size limit and remove stale temp files now

`FallbackWarning` is the one warning category for "this runs on a slower path than it
could": C compilation unavailable (jit runs on the reference backend), prebuilt eager
kernels missing or stale. Each cause is reported once per process.
"""
from __future__ import annotations

import argparse

from cdsl import compile as _cc


class FallbackWarning(RuntimeWarning):
    """funcgrad runs something on a slower path than asked for; the message names the cause
    and the fix."""


def warn_fallback(key, message: str) -> None:
    """Emit a `FallbackWarning` once per process for `key`."""
    _cc.warn_once(key, message, FallbackWarning)


def info() -> dict:
    """The cache's location, its entries and bytes per kind, its size limit, the compiler
    funcgrad would use and the state of the prebuilt eager kernels."""
    out = _cc.cache_info()
    identity, why = _cc.compiler_state()
    out["compiler"] = identity.splitlines()[0] if identity else f"unavailable: {why}"
    from ..lowering import eager
    out["eager_kernels"] = eager.status()
    return out


def clear() -> None:
    """Delete every cached C module and OpenCL binary (this process's loaded modules stay
    usable)."""
    _cc.clear_cache(kinds=_cc.CACHE_SUBDIRS)
    try:
        from opencl import programs
    except ImportError:
        return
    programs.clear_program_memo()


def _mib(n: int) -> str:
    return f"{n / 2 ** 20:.1f} MiB"


def _print_info(data: dict) -> None:
    limit = data["max_bytes"]
    print(f"cache:    {data['root']}")
    for kind, k in data["kinds"].items():
        print(f"  {kind + ':':8}{k['entries']:6d} entries  {_mib(k['bytes']):>12}  {k['path']}")
    print(f"total:    {data['entries']} entries, {_mib(data['bytes'])} of "
          f"{_mib(limit) if limit else 'unlimited'} ({_cc.MAX_BYTES_ENV})")
    print(f"compiler: {data['compiler']}")
    ek = data["eager_kernels"]
    state = ("not built" if ek["loaded"] is None else
             "current" if ek["current"] else
             f"STALE (rebuild: pip install -e .; {len(ek['missing'])} kernels missing"
             + ("" if ek.get("runtime") else ", GEMM runtime library missing") + ")")
    print(f"eager kernels: {ek['loaded'] or '-'} ({state}); CPU level {ek['cpu_level']}, "
          f"built: {', '.join(ek['built']) or 'none'}")


def main(argv=None) -> int:
    """`python -m funcgrad.cache info|clear|prune`."""
    parser = argparse.ArgumentParser(prog="python -m funcgrad.cache",
                                     description="Inspect or clear funcgrad's compile cache.")
    parser.add_argument("command", choices=("info", "clear", "prune"))
    args = parser.parse_args(argv)
    if args.command == "info":
        _print_info(info())
    elif args.command == "clear":
        before = _cc.cache_info()
        clear()
        print(f"cleared {before['root']}: {before['entries']} entries, "
              f"{_mib(before['bytes'])}")
    else:
        r = _cc.prune_cache()
        print(f"pruned: {r['entries_removed']} entries ({_mib(r['bytes_removed'])}), "
              f"{r['temp_removed']} stale temporary files")
    return 0

