"""The Backend protocol: what the frontend (core, api, devices) may ask of a backend.

Every backend subclasses `Backend` and overrides what it has; the defaults describe a
backend that runs on the host, has one device, generates no source and has no fast path.
The frontend calls these methods directly, never probes with `hasattr`.
"""
from __future__ import annotations


class Device:
    """A place arrays live: a backend plus, for OpenCL, the device within it."""

    def __init__(self, backend: str, id: int = 0, handle=None):
        self.platform = backend
        self.id = id
        self.handle = handle

    @property
    def device_kind(self) -> str:
        if self.handle is not None:
            return getattr(self.handle, "name", str(self.handle))
        return {"c": "cpu (C backend)", "reference": "cpu (NumPy reference)"}[self.platform]

    def __repr__(self):
        return f"Device({self.platform}:{self.id} {self.device_kind})"

    def __eq__(self, other):
        return isinstance(other, Device) and (self.platform, self.id) == (other.platform,
                                                                          other.id)

    def __hash__(self):
        return hash((self.platform, self.id))


class Backend:
    """Base class of the backends (`reference`, `c`, `opencl`)."""

    name: str = "?"

    # --- running ------------------------------------------------------------------------
    def execute_primitive(self, prim, arrays, params, out_avals):
        """Run one primitive eagerly on `arrays` (Arrays of this backend); returns the
        output Array (a list for multiple-result primitives)."""
        raise NotImplementedError(f"backend {self.name!r} cannot run primitives eagerly")

    def execute_program(self, program, args, name="f", donate=()):
        """Run a const-free program (compiling it first if the backend compiles) on `args`;
        returns the list of output Arrays. `donate[i]` lets output buffers reuse input i."""
        raise NotImplementedError(f"backend {self.name!r} cannot run programs")

    # Whether each primitive run eagerly is a program this backend builds for its shapes and
    # dtypes (OpenCL: a kernel build of ~0.3 s on PoCL): then a library function of many
    # primitives (`funcgrad._recurring`) compiles as one program from its first eager call.
    eager_builds_each_op = False

    # Whether this backend's arrays are host NumPy arrays (`ArrayImpl(value, aval)` with no
    # backend): then its `fast_runner` returns host arrays; otherwise the values it returns
    # are this backend's and jit wraps them as `ArrayImpl(value, aval, backend)`.
    host_arrays = True

    def compile(self, program, name="f") -> None:
        """Compile `program` ahead of time, as its first `execute_program` would (a backend
        that interprets has nothing to do)."""

    def fast_runner(self, program, consts, name="f"):
        """A function `(list of input Arrays) -> list of output values` running `program`
        with `consts` prepended (jit's dispatch fast path), or None when the backend has no
        such path (then jit calls `execute_program`). The inputs are funcgrad arrays of any
        backend (host arrays, or device arrays that the runner must move); the outputs are
        read-only host arrays, or this backend's values when `host_arrays` is False."""
        return None

    # --- data ---------------------------------------------------------------------------
    def to_host(self, value):
        """The NumPy array for a value this backend holds."""
        return value

    def block_until_ready(self, value) -> None:
        """Wait for the computation producing `value` (host backends compute eagerly)."""

    def is_ready(self, value) -> bool:
        """Whether the computation producing `value` has finished, without waiting."""
        return True

    def copy_to_host_async(self, value):
        """Start copying `value` to host memory; returns a function that waits for the copy
        and returns the read-only NumPy array, or None when `value` is in host memory."""
        return None

    def device_of(self, value):
        """The Device holding `value`."""
        return (self.devices() or [Device(self.name, 0)])[0]

    def devices(self) -> list:
        """The devices of this backend; empty means one host device (the frontend names
        it)."""
        return []

    def device_put(self, x, device=None):
        """`x` (an Array or array-like) as an Array on `device`, or None to let the
        frontend make a host Array."""
        return None

    # --- inspection and caches ----------------------------------------------------------
    def optimize(self, program):
        """The program as this backend lowers it (after its IR passes)."""
        return program

    def render_source(self, program, name="f") -> str | None:
        """The generated source for `program`, or None for a backend that interprets."""
        return None

    def clear_caches(self) -> None:
        """Forget compiled programs held in memory (disk caches stay)."""


__all__ = ["Backend", "Device"]
