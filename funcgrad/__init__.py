"""funcgrad: a JAX-style array library. Pure functions over immutable arrays are traced into
an IR, transformed (grad, jvp, vjp, vmap, jit, ...) and run by a backend: the NumPy
`reference` interpreter, C compiled through cffi (`c`), or OpenCL (`opencl`)."""
from __future__ import annotations

from . import dtypes, tree
from .core import Array, ShapedArray, ConcretizationTypeError, UnexpectedTracerError
from .prims import (control, elementwise, indexing, linalg, reductions,  # noqa: F401
                    special, structural, windows)
from .api import (grad, value_and_grad, vjp, jvp, linearize, jacfwd, jacrev, hessian, vmap,
                  jit, make_ir, eval_shape, custom_jvp, custom_vjp, checkpoint, remat,
                  block_until_ready)
from .prims.elementwise import stop_gradient
from . import numpy  # noqa: F401
from . import lax, random  # noqa: F401
from . import config
from .cache import FallbackWarning
from .devices import device_put, devices, default_backend, Device

from .api import make_ir as make_jaxpr  # noqa: E402  (JAX's name, for ports)
from .api import jacrev as jacobian  # noqa: E402


def device_get(x):
    """NumPy copies of every array leaf of `x` (JAX's `device_get`)."""
    import numpy as _np
    return tree.tree_map(lambda a: _np.asarray(a) if isinstance(a, Array) else a, x)


def clear_caches():
    """Forget compiled executables held in memory (the disk cache stays)."""
    from .backends import _backends
    for b in list(_backends.values()):
        clear = getattr(b, "clear_caches", None)
        if clear is not None:
            clear()


ShapeDtypeStruct = ShapedArray

__version__ = "0.1.0"

__all__ = [
    "Array", "ShapedArray", "ConcretizationTypeError", "UnexpectedTracerError", "grad",
    "value_and_grad", "vjp", "jvp", "linearize", "jacfwd", "jacrev", "hessian", "vmap", "jit",
    "make_ir", "eval_shape", "custom_jvp", "custom_vjp", "checkpoint", "remat",
    "stop_gradient", "device_put", "devices", "default_backend", "config", "Device",
    "block_until_ready", "numpy", "lax", "random", "tree", "dtypes", "make_jaxpr", "jacobian",
    "device_get", "clear_caches", "ShapeDtypeStruct", "FallbackWarning",
]
