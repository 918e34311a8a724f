"""Control flow users write: a `lax.while_loop` that iterates to a tolerance (Newton's method
for square roots of 1024 floats), and a `lax.scan` whose body branches with `lax.cond` (an
RNN of 200 steps that renormalises its state when its norm passes a bound). JAX and
funcgrad jit them whole; NumPy and PyTorch users write the same loops in Python (PyTorch
has no eager while_loop; `torch.cond` exists only under `torch.compile`/export).
"""
from __future__ import annotations

import numpy as np

from bench.common import Workload, _fg, _jax, _leaves_np, _rng, _torch_threads

NEWTON_N, NEWTON_TOL, NEWTON_MAX = 1024, 1e-6, 50
SCAN_T, SCAN_H = 200, 64


# ----------------------------------------------------------------------------- while

def newton_data(quick):
    return {"a": np.linspace(0.5, 1000.0, NEWTON_N, dtype=np.float32)}


def _newton(jnp, lax):
    def sqrt_newton(a):
        def cond(state):
            x, i = state
            return (jnp.max(jnp.abs(x * x - a) / a) > NEWTON_TOL) & (i < NEWTON_MAX)

        def body(state):
            x, i = state
            return 0.5 * (x + a / x), i + 1
        return lax.while_loop(cond, body, (a, 0))
    return sqrt_newton


def newton_funcgrad(d):
    fg, fnp, lax, _ = _fg()
    f = fg.jit(_newton(fnp, lax))
    a = fg.device_put(d["a"])
    return (lambda: fg.block_until_ready(f(a))), _leaves_np


def newton_jax(d):
    jax, jnp, lax, _ = _jax()
    f = jax.jit(_newton(jnp, lax))
    a = jax.device_put(d["a"])
    return (lambda: jax.block_until_ready(f(a))), _leaves_np


def newton_numpy(d):
    a = d["a"]

    def run():
        x, i = a, 0
        while np.max(np.abs(x * x - a) / a) > NEWTON_TOL and i < NEWTON_MAX:
            x, i = np.float32(0.5) * (x + a / x), i + 1
        return x, np.int32(i)
    return run, _leaves_np


def newton_torch(d):
    torch = _torch_threads()
    a = torch.from_numpy(d["a"])

    def run():
        x, i = a, 0
        while torch.max(torch.abs(x * x - a) / a).item() > NEWTON_TOL and i < NEWTON_MAX:
            x, i = 0.5 * (x + a / x), i + 1
        return x, torch.tensor(i, dtype=torch.int32)
    return run, _leaves_np


# ----------------------------------------------------------------------------- scan + cond

def scan_cond_data(quick):
    rng = _rng()
    return {"W": (rng.standard_normal((SCAN_H, SCAN_H)) * 0.4).astype(np.float32),
            "xs": rng.standard_normal((SCAN_T, SCAN_H)).astype(np.float32)}


def _scan_cond(jnp, lax):
    def run(W, xs):
        def step(h, x):
            h = h @ W + x
            n = jnp.sqrt(jnp.sum(h * h))
            h = lax.cond(n > 8.0, lambda v: v * (8.0 / n), lambda v: v, h)
            return h, n
        return lax.scan(step, jnp.zeros(SCAN_H, jnp.float32), xs)
    return run


def scan_cond_funcgrad(d):
    fg, fnp, lax, _ = _fg()
    f = fg.jit(_scan_cond(fnp, lax))
    W, xs = fg.device_put((d["W"], d["xs"]))
    return (lambda: fg.block_until_ready(f(W, xs))), _leaves_np


def scan_cond_jax(d):
    jax, jnp, lax, _ = _jax()
    f = jax.jit(_scan_cond(jnp, lax))
    W, xs = jax.device_put((d["W"], d["xs"]))
    return (lambda: jax.block_until_ready(f(W, xs))), _leaves_np


def scan_cond_numpy(d):
    W, xs = d["W"], d["xs"]

    def run():
        h = np.zeros(SCAN_H, np.float32)
        norms = np.empty(SCAN_T, np.float32)
        for t in range(SCAN_T):
            h = h @ W + xs[t]
            n = np.sqrt(np.sum(h * h))
            if n > 8.0:
                h = h * (np.float32(8.0) / n)
            norms[t] = n
        return h, norms
    return run, _leaves_np


def scan_cond_torch(d):
    torch = _torch_threads()
    W, xs = torch.from_numpy(d["W"]), torch.from_numpy(d["xs"])

    def run():
        h = torch.zeros(SCAN_H)
        norms = []
        for t in range(SCAN_T):
            h = h @ W + xs[t]
            n = torch.sqrt(torch.sum(h * h))
            if n.item() > 8.0:
                h = h * (8.0 / n)
            norms.append(n)
        return h, torch.stack(norms)
    return run, _leaves_np


WORKLOADS = {
    "while_newton": Workload(
        "while_newton", f"Newton sqrt of {NEWTON_N} floats to a tolerance, lax.while_loop "
        "(NumPy/PyTorch: a Python while loop)", newton_data,
        {"funcgrad": newton_funcgrad, "numpy": newton_numpy, "jax": newton_jax,
         "torch": newton_torch}, tol=1e-5),
    "scan_cond": Workload(
        "scan_cond", f"RNN h @ W + x of {SCAN_T} steps, H={SCAN_H}, renormalised by lax.cond "
        "in the scan body (NumPy/PyTorch: a Python loop with an if)", scan_cond_data,
        {"funcgrad": scan_cond_funcgrad, "numpy": scan_cond_numpy, "jax": scan_cond_jax,
         "torch": scan_cond_torch}, tol=1e-4),
}
