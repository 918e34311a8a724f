"""Tracebacks without funcgrad's own frames, as JAX shows them.

An exception that leaves a public entry point (`jit`, `grad`, `vmap`, ...) carries a
traceback whose funcgrad-internal frames are removed, so the user's lines (the call and the
line of the traced function that failed) come first; a note says so. The config option
`jax_traceback_filtering` (`funcgrad.config.update("jax_traceback_filtering", "off")`, or
the environment variable `FUNCGRAD_TRACEBACK_FILTERING=off` / JAX's
`JAX_TRACEBACK_FILTERING=off`) keeps every frame; JAX's other values (`auto`,
`tracebackhide`, `remove_frames`, `quiet_remove_frames`) all remove them, with the note.
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
import types

from . import config

__all__ = ["api_boundary", "boundary", "entered", "filtered", "filtering_enabled",
           "filter_traceback"]

_EXTRA_DIRS = ("cdsl", "opencl")
_NOTE = ("--- funcgrad-internal frames were removed from this traceback; set "
         "FUNCGRAD_TRACEBACK_FILTERING=off (or funcgrad.config.update("
         "'jax_traceback_filtering', 'off')) to see them.")


def _internal_dirs() -> tuple[str, ...]:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    dirs = [os.path.join(root, "funcgrad") + os.sep]
    dirs += [os.path.join(root, d) + os.sep for d in _EXTRA_DIRS]
    return tuple(dirs)


_INTERNAL = _internal_dirs()


def filtering_enabled() -> bool:
    """Whether tracebacks lose funcgrad's frames (`jax_traceback_filtering` is not 'off')."""
    try:
        return config.read("traceback_filtering") != "off"
    except ValueError:
        return True     # a bad environment value must not hide the exception being raised


def _is_internal(frame) -> bool:
    return frame.f_code.co_filename.startswith(_INTERNAL)


def filter_traceback(tb):
    """`tb` without its funcgrad-internal frames (None when every frame is internal)."""
    kept = []
    while tb is not None:
        if not _is_internal(tb.tb_frame):
            kept.append(tb)
        tb = tb.tb_next
    new = None
    for t in reversed(kept):
        new = types.TracebackType(new, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return new


class _Depth(threading.local):
    def __init__(self):
        self.n = 0


_depth = _Depth()


def entered() -> bool:
    """Whether an API boundary is already active in this thread (only the outermost one
    filters)."""
    return _depth.n > 0


@contextlib.contextmanager
def boundary():
    _depth.n += 1
    try:
        yield
    finally:
        _depth.n -= 1


def filtered(e: BaseException):
    """`e`'s traceback without funcgrad's frames (and a note saying so), or None to leave it
    as it is (filtering off, or nothing but funcgrad frames)."""
    if not filtering_enabled():
        return None
    tb = filter_traceback(e.__traceback__)
    if tb is not None and _NOTE not in getattr(e, "__notes__", ()):
        e.add_note(_NOTE)
    return tb


def api_boundary(fun):
    """Decorate a public entry point: exceptions leaving the outermost one get a filtered
    traceback."""
    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        if _depth.n:
            return fun(*args, **kwargs)
        with boundary():
            try:
                return fun(*args, **kwargs)
            except Exception as e:
                tb = filtered(e)
                if tb is None:
                    raise
                raise e.with_traceback(tb)   # noqa: B904 (the same exception, a shorter traceback; this line is the one funcgrad frame left)
    return wrapped
