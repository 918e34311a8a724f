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
import cmd
import linecache
import logging
import pprint
import string
import sys

import numpy as np

from . import core
from .prims.callbacks import DebugEffect, OrderedDebugEffect
from .prims.callbacks import debug_callback as _debug_callback
from .tree_util import tree_flatten as _tree_flatten
from .tree_util import tree_unflatten as _tree_unflatten

__all__ = ["DebugEffect", "OrderedDebugEffect", "breakpoint", "callback", "log", "print"]

_logger = logging.getLogger("funcgrad.debug")


def _is_dynamic(x) -> bool:
    return isinstance(x, (core.Array, np.ndarray, np.generic, bool, int, float, complex))


class _FlatCallback:
    """Calls `fn(*args, **kwargs)` from the flat array operands of a callback equation: the
    other leaves (static) are stored, the pytree structure rebuilds the arguments."""

    def __init__(self, fn, in_tree, static, name, staged=False):
        self.fn = fn
        self.in_tree = in_tree
        self.static = static          # {leaf position: value}
        self.__name__ = name
        self.staged = staged          # staged into a program (jit, scan, ...)

    def __call__(self, *dyn):
        if self.staged:
            # As in JAX, a staged callback sees the program's values as plain arrays:
            # jit(lambda y: debug.print("{}", (y,)))(2.0) prints Array(2., dtype=float32),
            # without the weak_type=True the traced argument has (eagerly it stays).
            dyn = [core.ArrayImpl(x._host_value(), core.ShapedArray(x.shape, x.dtype, False))
                   if isinstance(x, core.ArrayImpl) and x.weak_type else x for x in dyn]
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
    _debug_callback(_FlatCallback(fn, in_tree, static, name, core.dynamic_trace_active()),
                    *dyn, effect=effect)


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


# ---------------------------------------------------------------------------------------
# breakpoint


class _Frame:
    """A Python frame seen from the debugger: its location, globals and locals (the array
    locals replaced by their values when the program runs)."""

    def __init__(self, frame):
        self.filename = frame.f_code.co_filename
        self.lineno = frame.f_lineno
        self.function = frame.f_code.co_name
        self.globals = frame.f_globals
        self.static = {k: v for k, v in frame.f_locals.items() if not _is_dynamic(v)}
        self.dynamic = [k for k, v in frame.f_locals.items() if _is_dynamic(v)]
        self.values = [frame.f_locals[k] for k in self.dynamic]
        self.locals: dict = {}


class _Debugger(cmd.Cmd):
    """A small text debugger over captured frames (JAX's `jdb` commands): `p EXPR`,
    `pp EXPR`, `u`/`up`, `d`/`down`, `l`/`list`, `w`/`where`, `c`/`continue`, `q`/`quit`;
    any other line is evaluated as an expression."""

    prompt = "(fgdb) "

    def __init__(self, frames, stdin=None, stdout=None):
        super().__init__(stdin=stdin, stdout=stdout)
        self.use_rawinput = stdin is None
        self.frames = frames
        self.index = 0
        self.intro = "Entering fgdb:"

    def _eval(self, expr):
        f = self.frames[self.index]
        return eval(expr, dict(f.globals), dict(f.locals))

    def _show(self, expr, fmt):
        try:
            builtins.print(fmt(self._eval(expr)), file=self.stdout)
        except Exception as e:  # noqa: BLE001 -- a user's typo is reported, not raised
            builtins.print(f"*** {type(e).__name__}: {e}", file=self.stdout)

    def default(self, line):
        self._show(line, repr)

    def do_p(self, arg):
        """p EXPR: print the value of EXPR."""
        self._show(arg, repr)

    def do_pp(self, arg):
        """pp EXPR: pretty-print the value of EXPR."""
        self._show(arg, pprint.pformat)

    def do_up(self, _):
        """u(p): move to the calling frame."""
        if self.index + 1 < len(self.frames):
            self.index += 1
        self.do_list("")

    def do_down(self, _):
        """d(own): move to the called frame."""
        if self.index > 0:
            self.index -= 1
        self.do_list("")

    def do_list(self, _):
        """l(ist): the source around the current line."""
        f = self.frames[self.index]
        builtins.print(f"> {f.filename}({f.lineno}){f.function}()", file=self.stdout)
        for n in range(max(1, f.lineno - 2), f.lineno + 3):
            text = linecache.getline(f.filename, n).rstrip()
            if text:
                mark = "->" if n == f.lineno else "  "
                builtins.print(f"{n:4d} {mark} {text}", file=self.stdout)

    def do_where(self, _):
        """w(here): the captured frames, innermost last."""
        for k, f in reversed(list(enumerate(self.frames))):
            mark = ">" if k == self.index else " "
            builtins.print(f"{mark} {f.filename}({f.lineno}){f.function}()", file=self.stdout)

    def do_continue(self, _):
        """c(ontinue): leave the debugger and let the program run on."""
        return True

    def do_quit(self, _):
        """q(uit): stop the program (raises in the caller of the transformed function)."""
        raise KeyboardInterrupt("funcgrad.debug.breakpoint: quit")

    def do_EOF(self, _):
        return True

    do_u, do_d, do_l, do_w, do_c, do_q = do_up, do_down, do_list, do_where, do_continue, do_quit


def breakpoint(*, backend=None, filter_frames: bool = True, num_frames: int | None = None,
               ordered: bool = False, token=None, **kwargs):
    """Stop in an interactive debugger when the program reaches this point (JAX's
    `jax.debug.breakpoint`), eagerly, under `jit`, in loop bodies (every iteration) and under
    `vmap` (once per element). The caller's local variables hold their values at run time;
    `num_frames` outer frames are captured too (`u`/`d` move between them). Commands: `p`,
    `pp`, `u`, `d`, `l`, `w`, `c`, `q`; other lines are evaluated. Reads `sys.stdin`.
    `backend`, `filter_frames`, `ordered` and `token` are accepted for JAX compatibility."""
    frame = sys._getframe(1)
    frames = []
    limit = 1 if num_frames is None else int(num_frames)
    while frame is not None and len(frames) < builtins.max(limit, 1):
        frames.append(_Frame(frame))
        frame = frame.f_back
    counts = [len(f.values) for f in frames]
    values = [v for f in frames for v in f.values]

    def enter(*vals):
        it = iter(vals)
        for f, n in zip(frames, counts):
            f.locals = dict(f.static)
            f.locals.update(zip(f.dynamic, [next(it) for _ in range(n)]))
        _Debugger(frames, stdin=sys.stdin, stdout=sys.stdout).cmdloop()

    enter.__name__ = "breakpoint"
    _debug_callback(enter, *values, effect=OrderedDebugEffect() if ordered else DebugEffect())
