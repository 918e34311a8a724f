"""The cost of one jitted call by the kind of its arguments, funcgrad against JAX: a jitted
`x + 1` on 10 float32 values called with a NumPy array, with a Python float as the second
operand, with a keyword argument, with a static argument; and `block_until_ready` on a pytree
of 12 arrays that are ready. (`dispatch` in bench/workloads.py is the call with a device
array.) Each sample times 2000 calls; the reported time is per call.

NumPy and PyTorch have no counterpart (no jit), so these workloads have no NumPy or PyTorch
column; the results are checked against the NumPy value of the same expression.
"""
from __future__ import annotations

import numpy as np

from bench.common import Workload, _fg, _jax, _leaves_np

CALLS = 2000
N_LEAVES = 12


def calls_data(quick):
    return {"x": np.arange(10, dtype=np.float32)}


def _api(fw):
    return _fg()[0] if fw == "funcgrad" else _jax()[0]


def _timed_calls(call):
    def run():
        for _ in range(CALLS):
            r = call()
        return r
    return run


def numpy_arg(fw):
    def build(d):
        api = _api(fw)
        f = api.jit(lambda x: x + 1)
        x = d["x"]                                   # a NumPy array, converted each call
        return _timed_calls(lambda: f(x).block_until_ready()), _leaves_np
    return build


def float_arg(fw):
    def build(d):
        api = _api(fw)
        f = api.jit(lambda x, s: x + s)
        x = api.device_put(d["x"])
        return _timed_calls(lambda: f(x, 1.0).block_until_ready()), _leaves_np
    return build


def kwarg(fw):
    def build(d):
        api = _api(fw)
        f = api.jit(lambda x: x + 1)
        x = api.device_put(d["x"])
        return _timed_calls(lambda: f(x=x).block_until_ready()), _leaves_np
    return build


def static_arg(fw):
    def build(d):
        api = _api(fw)
        f = api.jit(lambda x, s: x + s, static_argnums=1)
        x = api.device_put(d["x"])
        return _timed_calls(lambda: f(x, 1.0).block_until_ready()), _leaves_np
    return build


def block_pytree(fw):
    def build(d):
        api = _api(fw)
        # shaped like the parameters of a 6-layer MLP: [(w, b)] * 6
        make = api.jit(lambda x: [(x + 2 * i, x + (2 * i + 1)) for i in range(N_LEAVES // 2)])
        tree = api.block_until_ready(make(api.device_put(d["x"])))
        return _timed_calls(lambda: api.block_until_ready(tree)), _leaves_np
    return build


def _plus_one(d):
    return [d["x"] + np.float32(1)]


def _tree_ref(d):
    return [d["x"] + np.float32(i) for i in range(N_LEAVES)]


def _calls_workload(name, title, maker, reference):
    return Workload(name, title, calls_data, {fw: maker(fw) for fw in ("funcgrad", "jax")},
                    tol=0.0, inner=CALLS, reference=reference)


WORKLOADS = {
    "call_numpy_arg": _calls_workload(
        "call_numpy_arg", "jit(x + 1) on 10 floats called with a NumPy array, per call",
        numpy_arg, _plus_one),
    "call_float_arg": _calls_workload(
        "call_float_arg", "jit(lambda x, s: x + s) called with (array, Python float 1.0), "
        "per call", float_arg, _plus_one),
    "call_kwarg": _calls_workload(
        "call_kwarg", "jit(x + 1) called as f(x=array), per call", kwarg, _plus_one),
    "call_static_arg": _calls_workload(
        "call_static_arg", "jit(lambda x, s: x + s, static_argnums=1) called with "
        "(array, 1.0), per call", static_arg, _plus_one),
    "block_pytree": _calls_workload(
        "block_pytree", f"block_until_ready on [(w, b)] * {N_LEAVES // 2} ready arrays, per call",
        block_pytree, _tree_ref),
}
