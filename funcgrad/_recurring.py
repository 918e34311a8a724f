"""Library functions that compile when they recur, as JAX's are `jit`-decorated.

A library function made of many primitives (a random draw, an integer `remainder`) runs
eagerly one dispatch per primitive: 20-200 dispatches of ~10 us. JAX jits such functions,
so each eager call is one compiled call, after a compile on the first call of a shape.
`compile_when_recurring` does the same with a threshold: the first calls with a signature
run eagerly (building a program costs 25-100 ms, more than a few eager calls), later ones,
or a first call on large operands, run the jitted function.

The signature: arrays (funcgrad, NumPy, typed keys: anything with a shape and a dtype) are
the program's inputs; every other argument (shapes, dtypes, Python numbers, modes) is
static and keyed bit for bit (`ir.fingerprint`'s values: 0.0 and -0.0 apart). A call with a
static that cannot be keyed, or whose function reads a concrete value of an array (a
`ConcretizationTypeError` under `jit`), runs eagerly, the latter for good.
"""
from __future__ import annotations

import functools
import inspect
import math
import time

import numpy as np

from . import core, ir
from .core import Tracer
from .lru import LRU


# What building a program costs, estimated from its eager calls: a fixed part (lowering
# and rendering a small program, a disk-cache hit) and about twice an eager call (both
# grow with the number of operations: a resize of ~100 operations runs eagerly in ~60 ms
# and builds in ~130 ms). `build_estimate` is the ski-rental budget of `eager_seconds`.
BUILD_SECONDS = 0.025


def build_estimate(calls: int, spent: float) -> float:
    return BUILD_SECONDS + 2.0 * spent / max(calls, 1)


def compile_when_recurring(fn, eager_calls=lambda: math.inf, size_at_once=lambda: math.inf,
                           arrays=(core.Array, np.ndarray), eager_seconds=None):
    """`fn` wrapped: outside a trace, a call with a signature already called eagerly
    `eager_calls()` times, or for `eager_seconds(calls, seconds)` in all (`build_estimate`:
    the ski-rental rule, compile once running eagerly has cost what building would), or
    whose arrays (or `shape` argument) reach `size_at_once()` elements, runs `jit(fn)`
    with the statics bound. `arrays`: the argument types that are inputs."""
    sig = inspect.signature(fn)
    seen = LRU(lambda: 256)          # (statics, operand types) -> (eager calls, seconds)
    jitted = LRU(lambda: 64)         # statics -> the jitted function, or False: stays eager

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if core.dynamic_trace_active():
            return fn(*args, **kwargs)
        try:
            bound = sig.bind(*args, **kwargs)
        except TypeError:
            return fn(*args, **kwargs)        # (its own error message)
        names, dyn, statics, size = [], [], [], 0
        # where each eager primitive is a build, compile from the first call, with Python
        # floats as (weak) inputs: a loop over scalar values must not build a program each
        whole = _eager_builds_each_op([v for v in bound.arguments.values()
                                       if isinstance(v, core.Array) and
                                       not isinstance(v, Tracer)])
        for name, v in bound.arguments.items():
            if isinstance(v, Tracer):
                return fn(*args, **kwargs)
            if isinstance(v, arrays) or (whole and type(v) in (float, complex)):
                names.append(name)
                dyn.append(v)
                size = max(size, math.prod(np.shape(v)))
            else:
                try:
                    statics.append((name, ir._print_value(v)))
                except ir._Unprintable:
                    return fn(*args, **kwargs)
                if name == "shape" and isinstance(v, tuple) and \
                        all(isinstance(d, int) for d in v):
                    size = max(size, math.prod(v))
        skey = (tuple(statics), tuple(names))
        j = jitted.get(skey)
        if j is False:
            return fn(*args, **kwargs)
        tkey = (skey, tuple((type(v), np.shape(v), str(getattr(v, "dtype", "")),
                             getattr(v, "weak_type", False)) for v in dyn))
        calls, spent = seen.get(tkey, (0, 0.0))
        if whole:
            calls = math.inf
        if calls < eager_calls() and size < size_at_once() and \
                (eager_seconds is None or calls == 0 or spent < eager_seconds(calls, spent)):
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            seen.put(tkey, (calls + 1, spent + time.perf_counter() - t0))
            return out
        if j is None:
            from .api import jit
            fixed = {k: v for k, v in bound.arguments.items() if k not in names}

            def call(*vals):
                return fn(**fixed, **dict(zip(names, vals)))
            call.__name__ = fn.__name__
            j = jit(call)
            jitted.put(skey, j)
        try:
            return j(*dyn)
        except core.CONCRETE_VALUE_ERRORS:
            jitted.put(skey, False)           # it reads an array's value: stays eager
            return fn(*args, **kwargs)
    return wrapper


def _eager_builds_each_op(arrays) -> bool:
    """Whether running eagerly on `arrays` would build a program per primitive (OpenCL): a
    function of 100 primitives (a cumulative max's scan) took 47 s on its first eager call
    on PoCL, against one build of ~0.4 s for the whole function."""
    return getattr(core.eager_backend(arrays), "eager_builds_each_op", False)


def compile_when_it_pays(fn):
    """`compile_when_recurring` with the ski-rental rule alone (`build_estimate`): for
    library functions that JAX jits (image resampling, the floor divisions)."""
    return compile_when_recurring(fn, eager_seconds=build_estimate)
