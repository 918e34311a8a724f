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
| `numpy_rank_promotion` (`jax_numpy_rank_promotion`) | `allow` | `FUNCGRAD_NUMPY_RANK_PROMOTION`, `JAX_NUMPY_RANK_PROMOTION` | `allow`, `warn` or `raise` on implicit rank promotion in `funcgrad.numpy` elementwise operations (operands of different non-zero ranks), as JAX |
| `numpy_dtype_promotion` (`jax_numpy_dtype_promotion`) | `standard` | `FUNCGRAD_NUMPY_DTYPE_PROMOTION`, `JAX_NUMPY_DTYPE_PROMOTION` | `strict`: `TypePromotionError` where a `funcgrad.numpy` elementwise operation would promote between different dtypes, as JAX |
| `default_matmul_precision` (`jax_default_matmul_precision`) | None | `FUNCGRAD_DEFAULT_MATMUL_PRECISION`, `JAX_DEFAULT_MATMUL_PRECISION` | JAX's values are accepted and validated; funcgrad computes every matmul and convolution in its operands' precision on every backend, so no value changes a result (as XLA on CPU, where float32 stays float32) |
| `default_prng_impl` (`jax_default_prng_impl`) | `threefry2x32` | `FUNCGRAD_DEFAULT_PRNG_IMPL`, `JAX_DEFAULT_PRNG_IMPL` | the PRNG of `funcgrad.random`: only `threefry2x32` is implemented; JAX's other names raise |
| `enable_checks` (`jax_enable_checks`) | off | `FUNCGRAD_ENABLE_CHECKS`, `JAX_ENABLE_CHECKS` | check the invariants of every program `jit` and `make_jaxpr` trace (variables defined once and before use, each equation's output types equal its primitive's shape rule); slower |
| `traceback_filtering` (`jax_traceback_filtering`) | `auto` | `FUNCGRAD_TRACEBACK_FILTERING`, `JAX_TRACEBACK_FILTERING` | `off` keeps funcgrad's internal frames in tracebacks; JAX's other values (`auto`, `tracebackhide`, `remove_frames`, `quiet_remove_frames`) remove them |
| `compilation_cache_dir` (`jax_compilation_cache_dir`) | None: `$FUNCGRAD_CACHE_DIR`, else `~/.cache/funcgrad` | (`FUNCGRAD_CACHE_DIR`) | the compile cache's directory; setting it sets `FUNCGRAD_CACHE_DIR` in this process (what the compilers read on every compilation), None restores it |
"""
from __future__ import annotations

import contextlib
import os
import sys
import warnings
from typing import Any
from collections.abc import Callable

import numpy as np

__all__ = ["update", "read", "override", "enable_x64", "disable_x64", "generation",
           "on_update", "Option", "options", "TypePromotionError", "check_numpy_promotion",
           "trace_context"]


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


def _choice(name: str, values: tuple, optional: bool = False):
    """A parser accepting one of `values` (JAX's enum option `name`), as JAX spells them."""
    def parse(v):
        if optional and v is None:
            return None
        if isinstance(v, str) and v in values:
            return v
        allowed = ("None or one of " if optional else "one of ") + ", ".join(map(repr, values))
        raise ValueError(f"{name} must be {allowed}; got {v!r}")
    return parse


_define(Option("numpy_rank_promotion", "allow",
               ("FUNCGRAD_NUMPY_RANK_PROMOTION", "JAX_NUMPY_RANK_PROMOTION"),
               _choice("jax_numpy_rank_promotion", ("allow", "warn", "raise")),
               "implicit rank promotion in funcgrad.numpy: 'allow', 'warn' or 'raise'",
               aliases=("jax_numpy_rank_promotion",)))
_define(Option("numpy_dtype_promotion", "standard",
               ("FUNCGRAD_NUMPY_DTYPE_PROMOTION", "JAX_NUMPY_DTYPE_PROMOTION"),
               _choice("jax_numpy_dtype_promotion", ("standard", "strict")),
               "implicit dtype promotion in funcgrad.numpy: 'standard' or 'strict'",
               aliases=("jax_numpy_dtype_promotion",)))

# JAX's legacy precision names and its dot-algorithm presets (jax.lax.DotAlgorithmPreset).
MATMUL_PRECISIONS = (
    "default", "high", "highest", "bfloat16", "tensorfloat32", "float32",
    "ANY_F8_ANY_F8_F32", "ANY_F8_ANY_F8_F32_FAST_ACCUM", "ANY_F8_ANY_F8_ANY",
    "ANY_F8_ANY_F8_ANY_FAST_ACCUM", "F16_F16_F16", "F16_F16_F32", "BF16_BF16_BF16",
    "BF16_BF16_F32", "BF16_BF16_F32_X3", "BF16_BF16_F32_X6", "BF16_BF16_F32_X9",
    "TF32_TF32_F32", "TF32_TF32_F32_X3", "F32_F32_F32", "F64_F64_F64")
_define(Option("default_matmul_precision", None,
               ("FUNCGRAD_DEFAULT_MATMUL_PRECISION", "JAX_DEFAULT_MATMUL_PRECISION"),
               _choice("jax_default_matmul_precision", MATMUL_PRECISIONS, optional=True),
               "the default precision of matmuls and convolutions (JAX's values; funcgrad "
               "computes in the operands' precision whatever the value)",
               aliases=("jax_default_matmul_precision",)))

_JAX_PRNG_IMPLS = ("threefry2x32", "threefry4x32", "rbg", "unsafe_rbg", "philox2x32",
                   "philox4x32")


def _prng_impl(v):
    if v == "threefry2x32":
        return v
    if isinstance(v, str) and v in _JAX_PRNG_IMPLS:
        raise ValueError(f"jax_default_prng_impl={v!r} is a PRNG of JAX's that funcgrad does "
                         "not implement; funcgrad.random has only 'threefry2x32' (JAX's "
                         "default, bit-compatible with it)")
    raise ValueError(f"jax_default_prng_impl must be one of {', '.join(map(repr, _JAX_PRNG_IMPLS))}"
                     f" (funcgrad implements 'threefry2x32'); got {v!r}")


_define(Option("default_prng_impl", "threefry2x32",
               ("FUNCGRAD_DEFAULT_PRNG_IMPL", "JAX_DEFAULT_PRNG_IMPL"), _prng_impl,
               "the PRNG implementation of funcgrad.random (only 'threefry2x32')",
               aliases=("jax_default_prng_impl",)))
_define(Option("enable_checks", False, ("FUNCGRAD_ENABLE_CHECKS", "JAX_ENABLE_CHECKS"), _flag,
               "check the invariants of every program jit and make_jaxpr trace (slower)",
               aliases=("jax_enable_checks",)))

TRACEBACK_FILTERING = ("off", "tracebackhide", "remove_frames", "quiet_remove_frames", "auto")


def _traceback_filtering(v):
    if isinstance(v, str):
        low = v.strip().lower()
        if low in TRACEBACK_FILTERING:
            return low
        # funcgrad's older spellings of the environment variable
        if low in ("0", "false", "no"):
            return "off"
        if low in ("1", "true", "yes", "on"):
            return "auto"
    raise ValueError(f"jax_traceback_filtering must be one of "
                     f"{', '.join(map(repr, TRACEBACK_FILTERING))}; got {v!r}")


_define(Option("traceback_filtering", "auto",
               ("FUNCGRAD_TRACEBACK_FILTERING", "JAX_TRACEBACK_FILTERING"),
               _traceback_filtering,
               "'off' keeps funcgrad's internal frames in tracebacks; JAX's other values remove "
               "them", aliases=("jax_traceback_filtering",)))


def _directory(v) -> str:
    if not isinstance(v, (str, os.PathLike)) or not os.fspath(v):
        raise ValueError(f"expected a directory path, got {v!r}")
    return os.fspath(v)


# The compilers read FUNCGRAD_CACHE_DIR on every compilation (cdsl.compile.cache_root), so
# the option acts by setting it; the value the process started with comes back on None.
_CACHE_ENV = "FUNCGRAD_CACHE_DIR"
_cache_env_saved: list = []


def _set_cache_dir(value) -> None:
    if value is not None:
        if not _cache_env_saved:
            _cache_env_saved.append(os.environ.get(_CACHE_ENV))
        os.environ[_CACHE_ENV] = value
    elif _cache_env_saved:
        original = _cache_env_saved.pop()
        if original is None:
            os.environ.pop(_CACHE_ENV, None)
        else:
            os.environ[_CACHE_ENV] = original


_define(Option("compilation_cache_dir", None, None, _directory,
               "the compile cache's directory (sets FUNCGRAD_CACHE_DIR in this process; None "
               "restores it)", aliases=("jax_compilation_cache_dir",)))


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


on_update("compilation_cache_dir", _set_cache_dir)


# ---------------------------------------------------------------------------------------
# JAX's numpy promotion options: the checks `funcgrad.numpy` runs where its elementwise
# operations promote operands (kept here, with the options, so that config stays a leaf).


class TypePromotionError(ValueError):
    """An implicit dtype promotion refused by `jax_numpy_dtype_promotion='strict'` (JAX's
    `jax.dtypes.TypePromotionError`)."""


# (rank mode, dtype mode), read on every elementwise operation: kept current by hooks.
_promotion = [options["numpy_rank_promotion"].get(), options["numpy_dtype_promotion"].get()]
on_update("numpy_rank_promotion", lambda v: _promotion.__setitem__(0, v))
on_update("numpy_dtype_promotion", lambda v: _promotion.__setitem__(1, v))

# bool < integer < float: a weak (Python scalar) operand of a lower kind may join a strong
# one in strict mode (f32 array + 2 is allowed, i32 array + 2.0 is not), as in JAX.
_KIND_ORDER = {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3, "V": 2}


def _strict_ok(typed) -> bool:
    strong = {np.dtype(d) for d, weak in typed if not weak}
    weak = [np.dtype(d) for d, w in typed if w]
    if len(strong) > 1:
        return False
    if not strong:
        return all(d.kind != "b" for d in weak) or all(d.kind == "b" for d in weak)
    (s,) = strong
    for d in weak:
        if d.kind == "b" and s.kind != "b":
            return False
        if d.kind != "b" and (s.kind == "b" or _KIND_ORDER[d.kind] > _KIND_ORDER[s.kind]):
            return False
    return True


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _user_stacklevel() -> int:
    """The `stacklevel` of a warning issued here that names the first frame outside
    funcgrad (the user's line), however deep inside funcgrad it is raised."""
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(
            _PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def check_numpy_promotion(name: str, typed, operands) -> None:
    """Apply `jax_numpy_rank_promotion` and `jax_numpy_dtype_promotion` to the `operands`
    (arrays or Python scalars) of the `funcgrad.numpy` operation `name`: `typed` holds their
    `(dtype, weak_type)` pairs. Warns or raises as JAX does; returns at once at the
    defaults."""
    rank_mode, dtype_mode = _promotion
    if rank_mode != "allow" and len(operands) > 1:
        shapes = [np.shape(a) for a in operands]
        ranks = {len(s) for s in shapes if len(s)}
        if len(ranks) > 1:
            shown = " ".join(str(tuple(s)) for s in shapes)
            if rank_mode == "raise":
                raise ValueError(
                    f"{name}: operands could not be broadcast together with shapes {shown} "
                    "because jax_numpy_rank_promotion='raise' forbids implicit rank "
                    "promotion; add the missing leading axes explicitly (x[None], "
                    "reshape or expand_dims), or set funcgrad.config.update("
                    "'jax_numpy_rank_promotion', 'allow')")
            warnings.warn(
                f"Following NumPy automatic rank promotion for {name} on shapes {shown}. "
                "Set the jax_numpy_rank_promotion config option to 'allow' to disable this "
                "warning.", UserWarning, stacklevel=_user_stacklevel())
    if dtype_mode == "strict" and len(typed) > 1 and not _strict_ok(typed):
        shown = ", ".join(np.dtype(d).name + (" (weakly typed)" if w else "")
                          for d, w in typed)
        raise TypePromotionError(
            f"{name}: input dtypes ({shown}) have no implicit promotion path when "
            "jax_numpy_dtype_promotion='strict'; cast the inputs to the dtype you want "
            "(x.astype(...)), or set funcgrad.config.update('jax_numpy_dtype_promotion', "
            "'standard')")


def trace_context() -> tuple:
    """The option values that change what a function traces to (besides 64-bit types):
    part of the key under which `jit` keeps a traced program, as JAX's
    `include_in_jit_key` options."""
    return (_promotion[0], _promotion[1], _precision[0])


_precision = [options["default_matmul_precision"].get()]
on_update("default_matmul_precision", lambda v: _precision.__setitem__(0, v))


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    try:
        return read(name)
    except KeyError as e:
        raise AttributeError(str(e)) from None
