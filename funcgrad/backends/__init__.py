"""Backends: where concrete arrays live and how primitives and programs run.

`reference` interprets every primitive with NumPy (the semantic oracle). `c` and `opencl`
compile programs (see funcgrad.backends.c / .opencl). The default comes from
`FUNCGRAD_BACKEND` or `funcgrad.config.update("backend", name)`, else it is `c` whenever
its module imports (cffi is a dependency).

The `c` backend is handed out guarded (`GuardedCBackend`): where C cannot be compiled (no
compiler, a broken one, no writable directory: `cdsl.CompilerUnavailable`), what the disk
cache holds and the prebuilt eager kernels still run, and a program that would need
compiling runs op by op on the reference path after one `FallbackWarning` naming the
cause and the fix. A `CompileError` from bad generated code is a bug and still raises.
"""
from __future__ import annotations

import numpy as np

from .. import config, core
from ..core import ArrayImpl, ShapedArray
from .base import Backend
from .reference import ReferenceBackend, running_backend

_backends: dict[str, object] = {}
_config = {"backend": None}
KNOWN = ("reference", "c", "opencl")


def default_backend_name() -> str:
    # (config.read: FUNCGRAD_BACKEND and JAX's platform names, cpu -> c, gpu -> opencl)
    name = _config["backend"] or config.read("backend") or _preferred_default()
    if name not in KNOWN:
        raise ValueError(f"unknown backend {name!r}; choose one of {KNOWN}")
    return name


def _preferred_default() -> str:
    return "c" if _c_importable() else "reference"


_c_ok: list = []


def _c_importable() -> bool:
    """Whether the `c` backend can be used at all. A C compiler is not required: without
    one it runs cached modules and prebuilt kernels and falls back per program."""
    if not _c_ok:
        try:
            from . import c  # noqa: F401
            _c_ok.append(True)
        except ImportError:
            _c_ok.append(False)
    return _c_ok[0]


def set_default_backend(name: str | None) -> None:
    if name is not None and name not in KNOWN:
        raise ValueError(f"unknown backend {name!r}; choose one of {KNOWN}")
    _config["backend"] = name


_default: list = [None, None]      # [what the default depends on, the default backend]


def get_backend(name: str | None = None):
    """The backend called `name`; None means the default one (the interpreting backend
    while a program runs on the reference backend)."""
    if name is None:
        running = running_backend()
        if running is not None:
            return running
        # (every eager operation on host arrays asks: the answer is kept until an option
        # changes; FUNCGRAD_BACKEND is read then, as JAX reads JAX_PLATFORMS once)
        key = (config.generation(), _config["backend"])
        if _default[0] == key:
            return _default[1]
        b = get_backend(default_backend_name())
        _default[:] = [key, b]
        return b
    b = _backends.get(name)
    if b is None:
        if name == "reference":
            b = ReferenceBackend()
        elif name == "c":
            from .c import CBackend
            b = GuardedCBackend(CBackend())
        elif name == "opencl":
            from .opencl import OpenCLBackend
            b = OpenCLBackend()
        else:
            raise ValueError(f"unknown backend {name!r}; choose one of {KNOWN}")
        _backends[name] = b
    return b


def backend_of(arrays, prim=None):
    """The backend that runs an eager op: that of the committed (device) operands, else the
    default. Host arrays (and Python scalars) follow the other operands. While the reference
    backend interprets a program, everything in it runs there."""
    running = running_backend()
    if running is not None:
        return running
    found = None
    for a in arrays:
        b = a._backend
        if b is not None:
            if found is not None and found is not b:
                raise ValueError(
                    f"{prim.name if prim else 'operation'}: operands live on different "
                    f"backends ({found.name} and {b.name}); move them with "
                    "funcgrad.device_put(x, device) first")
            found = b
    return found if found is not None else get_backend(None)


core.register_backends(backend_of, get_backend)


def device_put_host(x) -> ArrayImpl:
    v = np.asarray(x)
    return ArrayImpl(v, ShapedArray(v.shape, v.dtype, False))


class GuardedCBackend(Backend):
    """The `c` backend with a way out when C cannot be compiled here: a program whose
    compilation raises `cdsl.CompilerUnavailable` runs on the reference path instead (and
    is not tried again), after one `FallbackWarning` per cause. Everything else is the
    wrapped backend's."""

    name = "c"
    _MAX_REMEMBERED = 1024

    def __init__(self, inner):
        self.inner = inner
        self._uncompilable: dict[int, object] = {}

    def __getattr__(self, attr):
        return getattr(self.inner, attr)

    # The protocol's methods that Backend defines are delegated explicitly (__getattr__
    # only sees names the class does not have).
    def execute_primitive(self, prim, arrays, params, out_avals):
        return self.inner.execute_primitive(prim, arrays, params, out_avals)

    def to_host(self, value):
        return self.inner.to_host(value)

    def block_until_ready(self, value) -> None:
        self.inner.block_until_ready(value)

    def devices(self) -> list:
        return self.inner.devices()

    def device_put(self, x, device=None):
        return self.inner.device_put(x, device)

    def optimize(self, program):
        return self.inner.optimize(program)

    def _known_uncompilable(self, program) -> bool:
        hit = self._uncompilable.get(id(program))
        return hit is not None and hit is program

    def _fall_back(self, program, name, err) -> None:
        from ..cache import warn_fallback
        if len(self._uncompilable) >= self._MAX_REMEMBERED:
            self._uncompilable.clear()
        self._uncompilable[id(program)] = program
        warn_fallback(("c-unavailable", err.cause),
                      f"funcgrad: C compilation is unavailable here: {err.cause}. "
                      f"jit({name}) and every other program missing from the compile cache "
                      "run op by op on the reference path (much slower); cached programs "
                      f"still run compiled. Fix: {err.fix}.")

    def execute_program(self, program, args, name="f", donate=()):
        from cdsl import CompilerUnavailable
        if not self._known_uncompilable(program):
            try:
                return self.inner.execute_program(program, args, name, donate)
            except CompilerUnavailable as err:
                self._fall_back(program, name, err)
        return get_backend("reference").execute_program(program, args, name, donate)

    def compile(self, program, name="f") -> None:
        from cdsl import CompilerUnavailable
        if not self._known_uncompilable(program):
            try:
                self.inner.compile(program, name)
            except CompilerUnavailable as err:
                self._fall_back(program, name, err)

    def is_ready(self, value) -> bool:
        return self.inner.is_ready(value)

    def copy_to_host_async(self, value):
        return self.inner.copy_to_host_async(value)

    def device_of(self, value):
        return self.inner.device_of(value)

    def fast_runner(self, program, consts, name="f"):
        """The wrapped backend's runner, or one that evaluates `program` op by op when it
        cannot be compiled here."""
        from cdsl import CompilerUnavailable
        if not self._known_uncompilable(program):
            try:
                return self.inner.fast_runner(program, consts, name)
            except CompilerUnavailable as err:
                self._fall_back(program, name, err)
        ref = get_backend("reference")
        consts = list(consts)
        out_avals = program.out_avals

        def runner(arrays):
            outs = ref.execute_program(program, consts + list(arrays), name)
            res = []
            for o, a in zip(outs, out_avals):
                v = o._host_value() if isinstance(o, ArrayImpl) else np.asarray(o)
                if v.dtype != a.dtype:
                    v = v.astype(a.dtype)
                if v.flags.writeable:
                    v.flags.writeable = False
                res.append(v)
            return res

        return runner

    def render_source(self, program, name="f"):
        """The generated C (rendered without compiling when no compiler is usable)."""
        from cdsl import CompilerUnavailable
        try:
            return self.inner.render_source(program, name)
        except CompilerUnavailable:
            from .c import Executable
            from .compiled import kernel_name
            return Executable(program, kernel_name(name), compile=False).source

    def clear_caches(self):
        """Forget compiled programs, and which programs could not be compiled (a compiler
        installed meanwhile is tried again)."""
        self._uncompilable.clear()
        self.inner.clear_caches()

