"""Debugging inside transformed functions, as `jax.debug`: `print` and `log` format values
when the program runs (not when it is traced), `callback` calls any Python function with
them.

They work eagerly, under `jit` on every backend, inside `scan`/`cond`/`while_loop` bodies
(once per iteration), under `vmap` (once per batch element) and under `grad`/`jvp` (once,
with the primal values), as in JAX. The values reach the callback as funcgrad arrays on the
host; arguments that are not arrays or numbers (strings, objects) are passed as they are.
"""
from __future__ import annotations

import builtins
import logging
import string
import sys

import numpy as np

from . import core
from .prims.callbacks import DebugEffect, OrderedDebugEffect
from .prims.callbacks import debug_callback as _debug_callback
from .tree_util import tree_flatten as _tree_flatten
from .tree_util import tree_unflatten as _tree_unflatten

__all__ = ["DebugEffect", "OrderedDebugEffect", "callback", "log", "print"]

_logger = logging.getLogger("funcgrad.debug")


def _is_dynamic(x) -> bool:
    return isinstance(x, (core.Array, np.ndarray, np.generic, bool, int, float, complex))


class _FlatCallback:
    """Calls `fn(*args, **kwargs)` from the flat array operands of a callback equation: the
    other leaves (static) are stored, the pytree structure rebuilds the arguments."""

    def __init__(self, fn, in_tree, static, name):
        self.fn = fn
        self.in_tree = in_tree
        self.static = static          # {leaf position: value}
        self.__name__ = name

    def __call__(self, *dyn):
        it = iter(dyn)
        n = len(self.static) + len(dyn)
        leaves = [self.static[i] if i in self.static else next(it) for i in range(n)]
        args, kwargs = _tree_unflatten(self.in_tree, leaves)
        self.fn(*args, **kwargs)


def _stage(fn, args, kwargs, ordered, name):
    leaves, in_tree = _tree_flatten((args, kwargs))
    static = {i: x for i, x in enumerate(leaves) if not _is_dynamic(x)}
    dyn = [x for x in leaves if _is_dynamic(x)]
    effect = OrderedDebugEffect() if ordered else DebugEffect()
    _debug_callback(_FlatCallback(fn, in_tree, static, name), *dyn, effect=effect)


def callback(callback=None, *args, ordered: bool = False, partitioned: bool = False,
             **kwargs):
    """Call `callback(*args, **kwargs)` when the program runs, with the array arguments'
    values (funcgrad arrays). Returns None. As in JAX, `callback(ordered=True)` with no
    function returns the callback-taking form `f(callback, *args, **kwargs)`.
    `partitioned` is accepted for JAX compatibility (funcgrad has one device)."""
    def staged(fn, *c_args, **c_kwargs):
        if not builtins.callable(fn):
            raise TypeError(f"debug.callback: the first argument must be callable, got "
                            f"{type(fn).__name__}")
        _stage(fn, c_args, c_kwargs, ordered, getattr(fn, "__name__", "callback"))

    if callback is not None:
        staged(callback, *args, **kwargs)
        return None
    if args or kwargs:
        raise TypeError(f"debug.callback: the two-call form takes the callback and its "
                        f"arguments in the second call, got args={args} kwargs={kwargs}")
    return staged


class _FormatChecker(string.Formatter):
    """Checks a format string against its arguments at trace time (without formatting)."""

    def format_field(self, value, format_spec):
        return ""

    def check_unused_args(self, used_args, args, kwargs):
        unused = [a for i, a in enumerate(args) if i not in used_args]
        unused_kw = [k for k in kwargs if k not in used_args]
        if unused:
            raise ValueError(f"debug.print: unused positional arguments {unused}")
        if unused_kw:
            raise ValueError(f"debug.print: unused keyword arguments {unused_kw}; an f-string "
                             "(f\"{x}\") is formatted at trace time: pass a plain format "
                             "string and the values as arguments instead")


def _format(fmt, printoptions, has_fields, args, kwargs) -> str:
    if has_fields:
        with np.printoptions(**printoptions):
            return fmt.format(*args, **kwargs)
    return " ".join([fmt, *(str(a) for a in args)])


def _print_or_log(fmt, args, kwargs, ordered, skip_format_check, use_logging, what):
    if not isinstance(fmt, str):
        raise TypeError(f"debug.{what}: the format must be a string, got {type(fmt).__name__}")
    if not skip_format_check:
        _FormatChecker().format(fmt, *args, **kwargs)
    has_fields = any(field is not None for _, field, _, _ in string.Formatter().parse(fmt))
    if kwargs and not has_fields:
        raise ValueError(f"debug.{what}: keyword arguments {sorted(kwargs)} but no {{}} "
                         "field in the format string")
    printoptions = np.get_printoptions()

    def emit(*a, **k):
        msg = _format(fmt, printoptions, has_fields, a, k)
        if use_logging:
            _logger.info(msg)
        else:
            sys.stdout.write(msg + "\n")

    _stage(emit, args, kwargs, ordered, what)


def print(fmt: str | None = None, *args, ordered: bool = False, partitioned: bool = False,
          skip_format_check: bool = False, **kwargs):
    """Print `fmt.format(*args, **kwargs)` when the program runs (JAX's `jax.debug.print`):
    `debug.print("x = {x}", x=x)`. Not an f-string: those format at trace time. NumPy's
    print options at the call apply. `debug.print(ordered=True)` with no format returns the
    format-taking form. Prints on `sys.stdout`."""
    if fmt is not None:
        _print_or_log(fmt, args, kwargs, ordered, skip_format_check, False, "print")
        return None
    if args or kwargs:
        raise TypeError(f"debug.print: the two-call form takes the format and its arguments "
                        f"in the second call, got args={args} kwargs={kwargs}")
    return lambda f, *a, **k: _print_or_log(f, a, k, ordered, skip_format_check, False,
                                            "print")


def log(fmt: str | None = None, *args, ordered: bool = False, partitioned: bool = False,
        skip_format_check: bool = False, **kwargs):
    """Like `print`, but the message goes to the `funcgrad.debug` logger at INFO level."""
    if fmt is not None:
        _print_or_log(fmt, args, kwargs, ordered, skip_format_check, True, "log")
        return None
    if args or kwargs:
        raise TypeError(f"debug.log: the two-call form takes the format and its arguments "
                        f"in the second call, got args={args} kwargs={kwargs}")
    return lambda f, *a, **k: _print_or_log(f, a, k, ordered, skip_format_check, True, "log")
