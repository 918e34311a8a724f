"""funcgrad: a JAX-style array library. Pure functions over immutable arrays are traced into
an IR, transformed (grad, jvp, vjp, vmap, jit, ...) and run by a backend: the NumPy
`reference` interpreter, C compiled through cffi (`c`), or OpenCL (`opencl`).

`import funcgrad as fg` binds what `import jax` binds: the transforms, `fg.numpy`, `fg.lax`,
`fg.random`, `fg.nn`, `fg.scipy`, `fg.tree_util`, `fg.tree`, `fg.debug`, `fg.config`,
`fg.dtypes`, `fg.pure_callback`, device queries and the config context managers.
"""
from __future__ import annotations

import contextlib
import functools

from . import dtypes, errors, tree, tree_util
from .core import Array, ShapedArray, ConcretizationTypeError, UnexpectedTracerError
from .prims import (callbacks, control, elementwise, indexing, linalg, reductions,  # noqa: F401
                    special, structural, windows)
from .api import (grad, value_and_grad, vjp, jvp, linearize, jacfwd, jacrev, hessian, vmap,
                  jit, make_ir, eval_shape, custom_jvp, custom_vjp, checkpoint, remat,
                  block_until_ready, ShapeDtypeStruct)
from .prims.elementwise import stop_gradient
from .prims.callbacks import pure_callback
from . import numpy  # noqa: F401
from . import lax, random  # noqa: F401
from . import nn, scipy, debug, experimental, ops  # noqa: F401
from . import distributed  # noqa: F401  (no MPI is imported before initialize())
from . import export  # noqa: F401  (JAX binds jax.export; onnx is imported on first use)
from . import mixed_precision  # noqa: F401  (policies and loss scaling, as jmp)
from . import image  # noqa: F401  (jax.image)
from . import typing  # noqa: F401  (jax.typing, bound by `import jax` too)
from . import sharding  # noqa: F401  (jax.sharding: one device per array)
from . import stages  # noqa: F401  (jax.stages: ahead-of-time compilation)
from . import config
from .cache import FallbackWarning
from .devices import device_put, devices, default_backend, Device, copy_to_host_async
from .sharding import Shard

from .api import make_ir as make_jaxpr  # noqa: E402  (JAX's name, for ports)
from .dtypes import float0  # noqa: E402  (JAX's jax.float0: integer inputs' tangent dtype)
from .api import jacrev as jacobian  # noqa: E402
from .ad import checkpoint_policies  # noqa: E402  (jax.checkpoint_policies)

from ._version import __version__  # noqa: E402

__all__ = [
    "Array", "ConcretizationTypeError", "Device", "FallbackWarning", "ShapeDtypeStruct",
    "ShapedArray", "UnexpectedTracerError", "block_until_ready", "checkpoint",
    "checkpoint_policies",
    "clear_caches", "config", "copy_to_host_async", "custom_gradient", "custom_jvp",
    "custom_vjp", "debug", "distributed",
    "debug_infs", "debug_nans", "default_backend", "default_matmul_precision",
    "default_prng_impl", "device_count", "device_get",
    "device_put", "devices", "disable_jit", "dtypes", "effects_barrier", "enable_checks",
    "enable_x64", "ensure_compile_time_eval", "errors", "eval_shape", "experimental", "float0",
    "grad", "hessian",
    "host_count", "host_id", "host_ids", "jacfwd", "jacobian", "jacrev", "jit", "jvp", "lax",
    "linear_transpose", "linearize", "local_device_count", "local_devices", "log_compiles",
    "make_ir", "make_jaxpr", "named_call", "named_scope", "nn", "numpy",
    "numpy_dtype_promotion", "numpy_rank_promotion", "print_environment_info",
    "process_count", "process_index", "process_indices", "pure_callback", "random", "remat",
    "Shard", "scipy", "sharding", "stages", "stop_gradient", "tree", "tree_util", "typeof",
    "value_and_grad", "vjp", "vmap",
]

def device_get(x):
    """NumPy copies of every array leaf of `x` (JAX's `device_get`)."""
    import numpy as _np
    return tree_util.tree_map(lambda a: _np.asarray(a) if isinstance(a, Array) else a, x)


def clear_caches():
    """Forget compiled executables held in memory (the disk cache stays) and every jitted
    function's traces: each traces and compiles again at its next call, as after
    `jax.clear_caches()`."""
    from .api import clear_jit_caches
    from .backends import _backends
    clear_jit_caches()
    control.clear_derived()
    for b in list(_backends.values()):
        clear = getattr(b, "clear_caches", None)
        if clear is not None:
            clear()


def typeof(x) -> ShapedArray:
    """The abstract value (shape, dtype, weak type) of `x`; Python scalars are weakly typed,
    as in JAX."""
    from . import core
    return core.get_aval(x)


# ---------------------------------------------------------------------------------------
# Devices and processes: funcgrad runs in one process; a backend has one device (OpenCL:
# the devices of its platform).


def device_count(backend: str | None = None) -> int:
    """The number of devices of `backend` (default: the default backend)."""
    return len(devices(backend))


def local_device_count(backend: str | None = None) -> int:
    """The number of devices this process drives (all of them: one process)."""
    return len(devices(backend))


def local_devices(process_index: int | None = None, backend: str | None = None,
                  host_id: int | None = None) -> list:
    """The devices of this process (`process_index` other than 0 names no process)."""
    index = host_id if process_index is None else process_index
    if index not in (None, 0):
        raise ValueError(f"local_devices: process_index={index}, but funcgrad runs in one "
                         "process (index 0)")
    return devices(backend)


def process_index(backend: str | None = None) -> int:
    """This process's index among the processes of `funcgrad.distributed` (0 without
    `distributed.initialize()`)."""
    return distributed.runtime.process_index()


def process_count(backend: str | None = None) -> int:
    """The number of processes (`funcgrad.distributed`; 1 without `initialize()`)."""
    return distributed.runtime.process_count()


def process_indices(backend: str | None = None) -> list[int]:
    """The indices of all processes."""
    return list(range(process_count()))


host_id = process_index          # JAX's older names
host_count = process_count
host_ids = process_indices


def effects_barrier() -> None:
    """Wait until every host callback issued so far has run. funcgrad runs callbacks
    synchronously, in program order, so they all have: this returns at once."""


# ---------------------------------------------------------------------------------------
# Config context managers (JAX's `jax.disable_jit()`, `jax.enable_x64()`, ...)


def disable_jit(disable: bool = True):
    """Context manager: inside it, `jit`-decorated functions run eagerly, op by op, so that
    Python `print`, breakpoints and concrete values work (JAX's `jax.disable_jit`). Sets
    the config option `jax_disable_jit` for the duration of the block, process-wide."""
    return config.override("jax_disable_jit", bool(disable))


def enable_x64(new_val: bool = True):
    """Context manager: 64-bit types on (`new_val=False`: off) inside the block (the config
    option `jax_enable_x64`)."""
    return config.override("jax_enable_x64", bool(new_val))


def debug_nans(new_val: bool = True):
    """Context manager: raise FloatingPointError where an operation produces a NaN (the
    config option `jax_debug_nans`)."""
    return config.override("jax_debug_nans", bool(new_val))


def debug_infs(new_val: bool = True):
    """Context manager: the same as `debug_nans`, for infinities (`jax_debug_infs`)."""
    return config.override("jax_debug_infs", bool(new_val))


def log_compiles(new_val: bool = True):
    """Context manager: print every `jit` (re)trace inside the block (`jax_log_compiles`)."""
    return config.override("jax_log_compiles", bool(new_val))


def numpy_rank_promotion(new_val: str = "allow"):
    """Context manager: `jax_numpy_rank_promotion` ('allow', 'warn' or 'raise') inside the
    block."""
    return config.override("jax_numpy_rank_promotion", new_val)


def numpy_dtype_promotion(new_val: str = "standard"):
    """Context manager: `jax_numpy_dtype_promotion` ('standard' or 'strict') inside the
    block."""
    return config.override("jax_numpy_dtype_promotion", new_val)


def default_matmul_precision(new_val: str | None = None):
    """Context manager: `jax_default_matmul_precision` inside the block (JAX's values are
    validated; funcgrad computes in the operands' precision whatever the value)."""
    return config.override("jax_default_matmul_precision", new_val)


def default_prng_impl(new_val: str = "threefry2x32"):
    """Context manager: `jax_default_prng_impl` inside the block (only 'threefry2x32' is
    implemented; JAX's other PRNG names raise)."""
    return config.override("jax_default_prng_impl", new_val)


def enable_checks(new_val: bool = True):
    """Context manager: `jax_enable_checks` inside the block (the programs `jit` and
    `make_jaxpr` trace are checked for invariants)."""
    return config.override("jax_enable_checks", bool(new_val))


@contextlib.contextmanager
def ensure_compile_time_eval():
    """Context manager: inside it, operations on concrete values run eagerly even while a
    function is being traced by `jit` (instead of being staged into its program), so their
    results are concrete and usable in Python control flow (JAX's
    `jax.ensure_compile_time_eval`). Operations on traced values are still staged."""
    from . import core
    with core.new_dynamic(None):
        yield


@contextlib.contextmanager
def named_scope(name: str):
    """Context manager naming the operations traced inside it (JAX's `jax.named_scope`).
    funcgrad's IR keeps no name stack yet, so the name is checked and otherwise unused."""
    if not isinstance(name, str):
        raise TypeError(f"named_scope: the name must be a string, got {type(name).__name__}")
    yield


def named_call(fun, *, name: str | None = None):
    """`fun` with its operations traced inside `named_scope(name)` (default: fun's name)."""
    scope = name if name is not None else getattr(fun, "__name__", "named_call")

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        with named_scope(scope):
            return fun(*args, **kwargs)

    return wrapped


# ---------------------------------------------------------------------------------------
# Transforms defined from the core ones


def custom_gradient(fun):
    """Define a function and its gradient together (JAX's `jax.custom_gradient`): `fun`
    returns `(value, vjp_fn)` where `vjp_fn(g)` gives a tuple with one cotangent per
    positional argument. `vjp_fn` may close over values computed in `fun`. Reverse mode
    only (it is a `custom_vjp`); the backward pass re-runs `fun` to rebuild `vjp_fn`."""

    @custom_vjp
    def wrapped(*args):
        return fun(*args)[0]

    def fwd(*args):
        ans, _ = fun(*args)
        return ans, args

    def bwd(args, g):
        _, rule = fun(*args)
        cts = rule(g)
        if len(args) == 1 and not isinstance(cts, (tuple, list)):
            cts = (cts,)
        cts = tuple(cts)
        if len(cts) != len(args):
            raise TypeError(f"custom_gradient: the vjp function returned {len(cts)} "
                            f"cotangent(s) for {len(args)} argument(s); return a tuple with "
                            "one per positional argument")
        return cts

    wrapped.defvjp(fwd, bwd)
    return functools.wraps(fun)(wrapped) if hasattr(fun, "__name__") else wrapped


def linear_transpose(fun, *primals, reduce_axes=()):
    """The transpose of the linear function `fun` (JAX's `jax.linear_transpose`): `primals`
    (arrays or `ShapeDtypeStruct`s) give the input shapes and dtypes; the result maps an
    output cotangent to a tuple of input cotangents. `fun` must be linear: it is
    differentiated at zero, where its transpose is its vector-Jacobian product."""
    import numpy as _np

    def zero(x):
        return _np.zeros(x.shape, x.dtype) if hasattr(x, "shape") and hasattr(x, "dtype") \
            else _np.zeros_like(_np.asarray(x))

    zeros = tree_util.tree_map(zero, primals)
    _check_linear(fun, zeros)
    _, f_vjp = vjp(fun, *zeros)
    return f_vjp


# Primitives linear in each operand alone: an equation of one with two linear operands (a
# product of the inputs) is not linear (the divisor of `div` may not be linear at all).
_BILINEAR = frozenset(("mul", "dot_general", "conv_general_dilated"))


def _check_linear(fun, zeros) -> None:
    """Raise TypeError where `fun` is visibly not linear in its inputs (JAX's transpose
    rules reject such equations; the VJP at zero of a nonlinear function is a silent 0 or a
    wrong matrix). Checks `fun`'s own equations: those of nested programs (a loop body, a
    called function) are taken as linear."""
    from .core import to_array as core_to_array
    from .core import transpose_rules
    from .ir import Var, trace_to_program
    leaves, in_tree = tree_util.tree_flatten(zeros)

    def flat(*xs):
        out = fun(*tree_util.tree_unflatten(in_tree, list(xs)))
        return [core_to_array(o) for o in tree_util.tree_leaves(out)]

    program, _ = trace_to_program(flat, [core_to_array(x).aval for x in leaves])
    linear = {v.id for v in program.invars}
    name = getattr(fun, "__name__", repr(fun))
    for eqn in program.eqns:
        lin = [isinstance(a, Var) and a.id in linear for a in eqn.inputs]
        if not any(lin):
            continue
        p = eqn.prim.name
        if (eqn.prim not in transpose_rules or (p in _BILINEAR and sum(lin) > 1)
                or (p == "div" and lin[1])):
            raise TypeError(f"linear_transpose: {name} is not linear in its inputs (it "
                            f"applies {p} to them); linear_transpose takes linear "
                            "functions only: use vjp for the derivative of others")
        linear.update(v.id for v in eqn.outputs)


def print_environment_info(return_string: bool = False):
    """Versions of funcgrad, Python and NumPy and the available backends (JAX's
    `jax.print_environment_info`); returned as a string when `return_string`."""
    import platform
    import sys

    import numpy as _np
    from . import backends as _b
    text = "\n".join([f"funcgrad:    {__version__}", f"numpy:       {_np.__version__}",
                      f"python:      {sys.version.replace(chr(10), ' ')}",
                      f"platform:    {platform.platform()}",
                      f"backend:     {_b.default_backend_name()}"]) + "\n"
    if return_string:
        return text
    print(text, end="")
    return None
