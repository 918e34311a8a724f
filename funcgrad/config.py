"""funcgrad's configuration: named options with defaults, environment variables and
validation, read by the layers above (a leaf module: it imports nothing of funcgrad).

`funcgrad.config.update(name, value)` sets an option, `funcgrad.config.read(name)` (or the
attribute `funcgrad.config.<name>`) reads it. JAX's option names are accepted where
funcgrad has the same switch (`jax_platform_name`, `jax_log_compiles`).

| option | default | environment | meaning |
|---|---|---|---|
| `backend` | `c` (without a C compiler it still runs cached modules and the prebuilt eager kernels; a program it cannot compile runs on `reference` after one `FallbackWarning`) | `FUNCGRAD_BACKEND` | the default backend |
| `log_compiles` | off | `FUNCGRAD_LOG_COMPILES` | print every `jit` (re)trace |
| `jit_cache_size` | 64 | `FUNCGRAD_JIT_CACHE_SIZE` | input signatures each jitted function keeps (least recently used dropped) |
| `executable_cache_size` | 128 | `FUNCGRAD_EXECUTABLE_CACHE_SIZE` | compiled programs each backend keeps in memory (least recently used dropped) |
| `enable_x64` (`jax_enable_x64`) | off | `FUNCGRAD_ENABLE_X64`, `JAX_ENABLE_X64` | 64-bit types, as JAX's x64 mode (off: float64/int64/uint64 inputs and requests become 32-bit; Python floats are float32) |
| `disable_jit` (`jax_disable_jit`) | off | `FUNCGRAD_DISABLE_JIT`, `JAX_DISABLE_JIT` | run jit-decorated functions eagerly |
| `debug_nans` (`jax_debug_nans`) | off | `FUNCGRAD_DEBUG_NANS`, `JAX_DEBUG_NANS` | raise `FloatingPointError` at the operation that produced a nan |
| `debug_infs` (`jax_debug_infs`) | off | `FUNCGRAD_DEBUG_INFS`, `JAX_DEBUG_INFS` | the same for inf |
| `cpu_threads` | automatic: the cores this process may use (affinity mask, cgroup quota, `OMP_NUM_THREADS` as a cap) less those other processes keep busy | `FUNCGRAD_NUM_THREADS` | a fixed number of threads for compiled C code (`0` or `auto`: automatic) |
"""
from __future__ import annotations

import contextlib
import os
from typing import Any
from collections.abc import Callable

__all__ = ["update", "read", "override", "enable_x64", "disable_x64", "generation",
           "on_update", "Option", "options"]


class Option:
    """One configuration option: its default, environment variable and validator."""

    def __init__(self, name: str, default: Any, env: str | None, parse: Callable[[Any], Any],
                 doc: str, aliases: tuple[str, ...] = ()):
        self.name = name
        self.default = default
        self.env = env
        self.parse = parse
        self.doc = doc
        self.aliases = aliases
        self.value = None          # None: not set by update(); the environment or default
        self.hooks: list[Callable[[Any], None]] = []

    def get(self):
        return self.effective(self.value)

    def effective(self, value):
        """The option's value when set to `value` (None: the environment's, else the
        default)."""
        if value is not None:
            return value
        envs = (self.env,) if isinstance(self.env, str) else (self.env or ())
        for env in envs:
            raw = os.environ.get(env)
            if raw not in (None, ""):
                return self.parse_from(raw, f"environment variable {env}")
        return self.default

    def parse_from(self, raw, source: str):
        """`raw` parsed, or a ValueError naming the option and where the value came from."""
        try:
            return self.parse(raw)
        except (TypeError, ValueError) as e:
            raise ValueError(f"funcgrad.config: option {self.name!r} ({source}): {e}") from None


def _flag(v) -> bool:
    if isinstance(v, str):
        low = v.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"expected a boolean (1/0, true/false, yes/no, on/off), got {v!r}")
    return bool(v)


def _positive_int(v) -> int:
    n = int(v)
    if n < 1:
        raise ValueError(f"expected a positive integer, got {v!r}")
    return n


def _thread_count(v):
    if isinstance(v, str) and v.strip().lower() in ("auto", "0"):
        return None
    try:
        if isinstance(v, float) and not v.is_integer():
            raise ValueError
        n = int(v)
    except (TypeError, ValueError):
        raise ValueError(f"expected a number of threads (1, 2, ...) or 'auto', "
                         f"got {v!r}") from None
    if n < 0:
        raise ValueError(f"expected a number of threads (1, 2, ...) or 'auto', "
                         f"got {v!r}")
    return n or None


def _backend_name(v):
    if v is None:
        return None
    name = str(v).lower()
    # JAX's platform names: funcgrad's CPU backends are 'c' (compiled) and 'reference'.
    return {"cpu": "c", "gpu": "opencl"}.get(name, name)


options: dict[str, Option] = {}
_aliases: dict[str, str] = {}


def _define(option: Option) -> Option:
    options[option.name] = option
    for a in option.aliases:
        _aliases[a] = option.name
    return option


_define(Option("backend", None, "FUNCGRAD_BACKEND", _backend_name,
               "the default backend ('c', 'reference' or 'opencl')",
               aliases=("funcgrad_backend", "jax_platform_name", "jax_platforms")))
_define(Option("log_compiles", False, "FUNCGRAD_LOG_COMPILES", _flag,
               "print the signature of every jit (re)trace", aliases=("jax_log_compiles",)))
_define(Option("jit_cache_size", 64, "FUNCGRAD_JIT_CACHE_SIZE", _positive_int,
               "input signatures each jitted function keeps"))
_define(Option("executable_cache_size", 128, "FUNCGRAD_EXECUTABLE_CACHE_SIZE",
               _positive_int, "compiled programs each backend keeps in memory"))


_define(Option("enable_x64", False, ("FUNCGRAD_ENABLE_X64", "JAX_ENABLE_X64"), _flag,
               "64-bit types (float64, int64, uint64); off: they become their 32-bit types",
               aliases=("jax_enable_x64",)))
_define(Option("disable_jit", False, ("FUNCGRAD_DISABLE_JIT", "JAX_DISABLE_JIT"), _flag,
               "run jit-decorated functions eagerly (for debugging)",
               aliases=("jax_disable_jit",)))
_define(Option("debug_nans", False, ("FUNCGRAD_DEBUG_NANS", "JAX_DEBUG_NANS"), _flag,
               "raise FloatingPointError where an operation produces nan",
               aliases=("jax_debug_nans",)))
_define(Option("debug_infs", False, ("FUNCGRAD_DEBUG_INFS", "JAX_DEBUG_INFS"), _flag,
               "raise FloatingPointError where an operation produces inf",
               aliases=("jax_debug_infs",)))
_define(Option("cpu_threads", None, "FUNCGRAD_NUM_THREADS", _thread_count,
               "threads for compiled C code (None: sized by the free cores, automatically)"))


def _option(name: str) -> Option:
    opt = options.get(_aliases.get(name, name))
    if opt is None:
        raise KeyError(f"funcgrad.config: unknown option {name!r}; known options: "
                       f"{', '.join(sorted(options))} (and JAX's names "
                       f"{', '.join(sorted(_aliases))})")
    return opt


_generation = [0]


def generation() -> int:
    """A counter bumped by every `update`: caches that depend on options (the jit dispatch
    fast path) compare it to know when to start over."""
    return _generation[0]


def update(name: str, value) -> None:
    """Set option `name` (funcgrad's or JAX's name) to `value`; None restores the default
    (or the environment variable's value)."""
    opt = _option(name)
    new = None if value is None else opt.parse_from(value, f"config.update({name!r}, ...)")
    for hook in opt.hooks:
        hook(opt.effective(new))
    opt.value = new
    _generation[0] += 1


def read(name: str):
    """The current value of option `name`."""
    return _option(name).get()


@contextlib.contextmanager
def override(name: str, value):
    """Set option `name` for the duration of a `with` block (process-wide), then restore
    it."""
    opt = _option(name)
    prev = opt.value
    update(name, value)
    try:
        yield
    finally:
        for hook in opt.hooks:
            hook(opt.effective(prev))
        opt.value = prev
        _generation[0] += 1


def enable_x64(new_val: bool = True):
    """A context manager turning 64-bit types on (or off) in a `with` block (JAX's
    `jax.experimental.enable_x64`)."""
    return override("enable_x64", new_val)


def disable_x64():
    """A context manager turning 64-bit types off in a `with` block."""
    return override("enable_x64", False)


def on_update(name: str, hook: Callable[[Any], None]) -> None:
    """Call `hook(value)` before option `name` changes, with the value it will have (the
    hook may raise to refuse it)."""
    _option(name).hooks.append(hook)


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return read(name)
    except KeyError as e:
        raise AttributeError(str(e)) from None
