"""Benchmark workloads: the same math written for funcgrad, NumPy, JAX and PyTorch.

Each workload has `make_data(quick)` (NumPy float32 arrays from a fixed seed, shared by every
framework) and one builder per framework. A builder takes the data and returns
`(run, to_numpy)`: `run()` executes one repetition and returns its materialised result
(`block_until_ready` for funcgrad and JAX; NumPy and PyTorch eager are synchronous), and
`to_numpy(result)` turns that result into a list of NumPy arrays for the correctness
cross-check against the NumPy version.

JAX and PyTorch are imported inside their builders only: they are benchmark extras, never
runtime dependencies of funcgrad. funcgrad and JAX share one source for each model (the
`_mlp`, `_cnn`, `_rnn` helpers take the framework's numpy / lax / nn modules), so they run
literally the same program.

This module holds the original workloads and the registry (`WORKLOADS`, `ORDER`); the
stax CNN and the convolution microbenchmarks are in `workloads_conv.py`, the training steps
fed NumPy batches in `workloads_train.py`, the call costs by argument kind in
`workloads_calls.py`, loops to a tolerance and branches in scans in `workloads_control.py`,
the idioms around models (accuracy, softmax over 10 classes, batches of 3x3 matrices) in
`workloads_idioms.py`, and the shared pieces in `common.py`.
"""
from __future__ import annotations

import functools
import os
import time

import numpy as np

from bench import workloads_calls, workloads_control, workloads_conv, workloads_idioms, \
    workloads_train
from bench.common import (  # noqa: F401
    FRAMEWORKS,
    LR,
    Workload,
    _fg,
    _fg_put,
    _jax,
    _jax_put,
    _leaves_np,
    _randn,
    _rng,
    _torch_threads,
)

# ----------------------------------------------------------------------------- mlp_step

def mlp_data(quick):
    rng = _rng()
    sizes = [784, 512, 512, 10]
    params = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        params.append((_randn(rng, (i, o), np.sqrt(2.0 / i)), _randn(rng, (o,), 0.01)))
    x = rng.random((128, 784), dtype=np.float32)
    labels = rng.integers(0, 10, 128)
    y = np.eye(10, dtype=np.float32)[labels]
    return {"params": params, "x": x, "y": y}


def _mlp(np_, nn_, grad, linear=False):
    """The MLP SGD step; `linear`: PyTorch's nn.Linear layout, weights [out, in] and
    `h @ W.T + b` (see mlp_step_linear)."""
    def dense(h, w, b):
        return (h @ w.T if linear else h @ w) + b

    def loss(params, x, y):
        (w1, b1), (w2, b2), (w3, b3) = params
        h = nn_.relu(dense(x, w1, b1))
        h = nn_.relu(dense(h, w2, b2))
        logits = dense(h, w3, b3)
        return -np_.mean(np_.sum(y * nn_.log_softmax(logits), axis=-1))

    def step(params, x, y):
        g = grad(loss)(params, x, y)
        return [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, g)]
    return step


def mlp_funcgrad(d, linear=False):
    fg, fnp, _, nn = _fg()
    step = fg.jit(_mlp(fnp, nn, fg.grad, linear))
    params, x, y = _fg_put(fg, (d["params"], d["x"], d["y"]))
    return (lambda: fg.block_until_ready(step(params, x, y))), _leaves_np


def mlp_jax(d, linear=False):
    jax, jnp, _, nn = _jax()
    step = jax.jit(_mlp(jnp, nn, jax.grad, linear))
    params, x, y = _jax_put(jax, (d["params"], d["x"], d["y"]))
    return (lambda: jax.block_until_ready(step(params, x, y))), _leaves_np


def mlp_numpy(d):
    params, x, y = d["params"], d["x"], d["y"]

    def step():
        (w1, b1), (w2, b2), (w3, b3) = params
        B = x.shape[0]
        a1 = x @ w1 + b1
        h1 = np.maximum(a1, 0)
        a2 = h1 @ w2 + b2
        h2 = np.maximum(a2, 0)
        z = h2 @ w3 + b3
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        dz = (p * y.sum(axis=1, keepdims=True) - y) / np.float32(B)
        dw3 = h2.T @ dz
        db3 = dz.sum(0)
        da2 = (dz @ w3.T) * (a2 > 0)
        dw2 = h1.T @ da2
        db2 = da2.sum(0)
        da1 = (da2 @ w2.T) * (a1 > 0)
        dw1 = x.T @ da1
        db1 = da1.sum(0)
        lr = np.float32(LR)
        return [(w1 - lr * dw1, b1 - lr * db1), (w2 - lr * dw2, b2 - lr * db2),
                (w3 - lr * dw3, b3 - lr * db3)]
    return step, _leaves_np


def mlp_torch(d, linear=False):
    torch = _torch_threads()
    params = [tuple(torch.tensor(a, requires_grad=True) for a in wb) for wb in d["params"]]
    flat = [t for wb in params for t in wb]
    x, y = torch.from_numpy(d["x"]), torch.from_numpy(d["y"])
    # nn.Linear's layout runs F.linear, what nn.Linear calls
    dense = torch.nn.functional.linear if linear else (lambda h, w, b: h @ w + b)

    def step():
        (w1, b1), (w2, b2), (w3, b3) = params
        h = torch.relu(dense(x, w1, b1))
        h = torch.relu(dense(h, w2, b2))
        logits = dense(h, w3, b3)
        loss = -(y * torch.log_softmax(logits, dim=-1)).sum(-1).mean()
        gs = torch.autograd.grad(loss, flat)
        with torch.no_grad():
            new = [p - LR * g for p, g in zip(flat, gs)]
        return [(new[0], new[1]), (new[2], new[3]), (new[4], new[5])]
    return step, _leaves_np


# ------------------------------------------------------------------------ mlp_step_linear
# The same MLP step with PyTorch's nn.Linear layout, as code ported from PyTorch writes it:
# weights [out, in] and `h @ W.T + b` (JAX and funcgrad run the same function; PyTorch
# uses F.linear, what nn.Linear calls).

def mlp_linear_data(quick):
    d = mlp_data(quick)
    d["params"] = [(np.ascontiguousarray(w.T), b) for w, b in d["params"]]
    return d


def mlp_linear_numpy(d):
    # mlp_numpy's hand-written backward on transposed views: `x @ w.T`, as NumPy code with
    # this layout reads
    step, to_np = mlp_numpy(dict(d, params=[(w.T, b) for w, b in d["params"]]))
    return (lambda: [(w.T, b) for w, b in step()]), to_np


# ----------------------------------------------------------------------------- cnn_step

def cnn_data(quick):
    rng = _rng()
    B = 64
    params = [
        (_randn(rng, (3, 3, 1, 32), np.sqrt(2.0 / 9)), _randn(rng, (32,), 0.01)),
        (_randn(rng, (3, 3, 32, 64), np.sqrt(2.0 / (9 * 32))), _randn(rng, (64,), 0.01)),
        (_randn(rng, (7 * 7 * 64, 10), np.sqrt(1.0 / (7 * 7 * 64))), _randn(rng, (10,), 0.01)),
    ]
    x = rng.random((B, 28, 28, 1), dtype=np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, B)]
    return {"params": params, "x": x, "y": y}


def _cnn(np_, lax_, nn_, grad, pool="reduce_window"):
    """The CNN SGD step; `pool` is the 2x2 max-pooling idiom: "reduce_window"
    (`lax.reduce_window`) or "reshape" (`max(x.reshape(n, h//2, 2, w//2, 2, c), (2, 4))`)."""
    dn = ("NHWC", "HWIO", "NHWC")

    def conv(x, w, b):
        return lax_.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=dn) + b

    def pool_reduce_window(x):
        return lax_.reduce_window(x, -np_.inf, lax_.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")

    def pool_reshape(x):
        n, h, w, c = x.shape
        return np_.max(x.reshape(n, h // 2, 2, w // 2, 2, c), axis=(2, 4))

    pool = {"reduce_window": pool_reduce_window, "reshape": pool_reshape}[pool]

    def loss(params, x, y):
        (w1, b1), (w2, b2), (w3, b3) = params
        h = pool(nn_.relu(conv(x, w1, b1)))
        h = pool(nn_.relu(conv(h, w2, b2)))
        h = h.reshape((h.shape[0], -1))
        logits = h @ w3 + b3
        return -np_.mean(np_.sum(y * nn_.log_softmax(logits), axis=-1))

    def step(params, x, y):
        g = grad(loss)(params, x, y)
        return [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, g)]
    return step


def cnn_funcgrad(d, pool="reduce_window"):
    fg, fnp, lax, nn = _fg()
    step = fg.jit(_cnn(fnp, lax, nn, fg.grad, pool))
    params, x, y = _fg_put(fg, (d["params"], d["x"], d["y"]))
    return (lambda: fg.block_until_ready(step(params, x, y))), _leaves_np


def cnn_jax(d, pool="reduce_window"):
    jax, jnp, lax, nn = _jax()
    step = jax.jit(_cnn(jnp, lax, nn, jax.grad, pool))
    params, x, y = _jax_put(jax, (d["params"], d["x"], d["y"]))
    return (lambda: jax.block_until_ready(step(params, x, y))), _leaves_np


def _np_conv3x3(x, w, b):
    """SAME 3x3 conv, NHWC x HWIO, by im2col; returns (out, cols)."""
    N, H, W, C = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))  # N,H,W,C,3,3
    cols = np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3)).reshape(N * H * W, 9 * C)
    out = cols @ w.reshape(9 * C, -1) + b
    return out.reshape(N, H, W, -1), cols


def _np_conv3x3_back(dout, cols, w, x_shape, need_dx):
    N, H, W, C = x_shape
    O = w.shape[-1]
    d2 = dout.reshape(-1, O)
    dw = (cols.T @ d2).reshape(w.shape)
    db = d2.sum(0)
    dx = None
    if need_dx:
        dcols = (d2 @ w.reshape(9 * C, O).T).reshape(N, H, W, 3, 3, C)
        dxp = np.zeros((N, H + 2, W + 2, C), np.float32)
        for i in range(3):
            for j in range(3):
                dxp[:, i:i + H, j:j + W, :] += dcols[:, :, :, i, j, :]
        dx = dxp[:, 1:-1, 1:-1, :]
    return dw, db, dx


def _np_pool(x):
    N, H, W, C = x.shape
    r = x.reshape(N, H // 2, 2, W // 2, 2, C)
    return r.max(axis=(2, 4)), r


def _np_pool_back(dout, r, out):
    mask = r == out[:, :, None, :, None, :]
    N, h, _, w, _, C = r.shape
    return (mask * dout[:, :, None, :, None, :]).reshape(N, 2 * h, 2 * w, C)


def cnn_numpy(d):
    params, x, y = d["params"], d["x"], d["y"]

    def step():
        (w1, b1), (w2, b2), (w3, b3) = params
        B = x.shape[0]
        a1, c1 = _np_conv3x3(x, w1, b1)
        r1 = np.maximum(a1, 0)
        p1, rr1 = _np_pool(r1)
        a2, c2 = _np_conv3x3(p1, w2, b2)
        r2 = np.maximum(a2, 0)
        p2, rr2 = _np_pool(r2)
        f = p2.reshape(B, -1)
        z = f @ w3 + b3
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        dz = (p * y.sum(axis=1, keepdims=True) - y) / np.float32(B)
        dw3 = f.T @ dz
        db3 = dz.sum(0)
        dp2 = (dz @ w3.T).reshape(p2.shape)
        da2 = _np_pool_back(dp2, rr2, p2) * (a2 > 0)
        dw2, db2, dp1 = _np_conv3x3_back(da2, c2, w2, p1.shape, True)
        da1 = _np_pool_back(dp1, rr1, p1) * (a1 > 0)
        dw1, db1, _ = _np_conv3x3_back(da1, c1, w1, x.shape, False)
        lr = np.float32(LR)
        return [(w1 - lr * dw1, b1 - lr * db1), (w2 - lr * dw2, b2 - lr * db2),
                (w3 - lr * dw3, b3 - lr * db3)]
    return step, _leaves_np


def cnn_torch(d):
    torch = _torch_threads()
    import torch.nn.functional as F
    (w1, b1), (w2, b2), (w3, b3) = d["params"]
    # conv weights HWIO -> OIHW, input NHWC -> NCHW (layout conversion outside the timing)
    t = [torch.tensor(w1.transpose(3, 2, 0, 1).copy(), requires_grad=True),
         torch.tensor(b1, requires_grad=True),
         torch.tensor(w2.transpose(3, 2, 0, 1).copy(), requires_grad=True),
         torch.tensor(b2, requires_grad=True),
         torch.tensor(w3, requires_grad=True), torch.tensor(b3, requires_grad=True)]
    x = torch.from_numpy(d["x"].transpose(0, 3, 1, 2).copy())
    y = torch.from_numpy(d["y"])

    def step():
        h = F.max_pool2d(torch.relu(F.conv2d(x, t[0], t[1], padding=1)), 2)
        h = F.max_pool2d(torch.relu(F.conv2d(h, t[2], t[3], padding=1)), 2)
        h = h.permute(0, 2, 3, 1).reshape(h.shape[0], -1)   # flatten in NHWC order
        logits = h @ t[4] + t[5]
        loss = -(y * torch.log_softmax(logits, dim=-1)).sum(-1).mean()
        gs = torch.autograd.grad(loss, t)
        with torch.no_grad():
            return [p - LR * g for p, g in zip(t, gs)]

    def to_numpy(new):
        n = [a.detach().numpy() for a in new]
        return [n[0].transpose(2, 3, 1, 0), n[1], n[2].transpose(2, 3, 1, 0), n[3], n[4], n[5]]
    return step, to_numpy


# ----------------------------------------------------------------------------- elementwise

ELEMENTWISE_N = 10_000_000
ELEMENTWISE_BYTES = 3 * 4 * ELEMENTWISE_N      # read x, z; write out
BANDWIDTH_FLOOR_S = 3.05e-3


def ew_data(quick):
    rng = _rng()
    return {"x": _randn(rng, ELEMENTWISE_N), "z": _randn(rng, ELEMENTWISE_N)}


def _ew(np_):
    return lambda x, z: np_.tanh(x) * z + np_.exp(-x * x) * 0.5


def ew_funcgrad(d):
    fg, fnp, _, _ = _fg()
    f = fg.jit(_ew(fnp))
    x, z = _fg_put(fg, (d["x"], d["z"]))
    return (lambda: fg.block_until_ready(f(x, z))), _leaves_np


def ew_jax(d):
    jax, jnp, _, _ = _jax()
    f = jax.jit(_ew(jnp))
    x, z = _jax_put(jax, (d["x"], d["z"]))
    return (lambda: jax.block_until_ready(f(x, z))), _leaves_np


def ew_numpy(d):
    x, z = d["x"], d["z"]
    half = np.float32(0.5)
    return (lambda: np.tanh(x) * z + np.exp(-x * x) * half), _leaves_np


def ew_torch(d):
    torch = _torch_threads()
    x, z = torch.from_numpy(d["x"]), torch.from_numpy(d["z"])
    return (lambda: torch.tanh(x) * z + torch.exp(-x * x) * 0.5), _leaves_np


_FLOOR_HERE = {}


def streaming_floor_s(threads: int | None = None, reps: int = 25) -> float:
    """This machine's floor for the elementwise workload's traffic, measured: the fastest of
    `reps` runs of `np.add(x, z, out=o)` over the same 1e7 float32 arrays (an output
    written before, so no page faults), split into `threads` equal slices run on that many
    Python threads (NumPy lets go of the GIL in the loop). BANDWIDTH_FLOOR_S is one
    machine's copy bandwidth (the AMD Zen 5 VM of PERF-NOTES, 39 GB/s on one core); a
    Zen 4 VM streams ~28 GB/s from one core, so a constant floor asks a one-thread run
    there for more than its memory gives. Measured once per process and thread count."""
    import concurrent.futures
    n = threads or int(os.environ.get("OMP_NUM_THREADS") or 1)
    if n in _FLOOR_HERE:
        return _FLOOR_HERE[n]
    rng = _rng()
    x, z = _randn(rng, ELEMENTWISE_N), _randn(rng, ELEMENTWISE_N)
    o = np.empty_like(x)
    np.add(x, z, out=o)
    cuts = np.linspace(0, ELEMENTWISE_N, n + 1).astype(int)
    parts = [(x[a:b], z[a:b], o[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    best = float("inf")
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        for _ in range(reps):
            t0 = time.perf_counter()
            list(pool.map(lambda p: np.add(p[0], p[1], out=p[2]), parts))
            best = min(best, time.perf_counter() - t0)
    _FLOOR_HERE[n] = best
    return best


def ew_metrics(fw, t):
    here = streaming_floor_s()
    return {"GB/s": ELEMENTWISE_BYTES / t / 1e9, "%floor": 100.0 * BANDWIDTH_FLOOR_S / t,
            "floor_here_s": here, "%floor_here": 100.0 * here / t}


# ----------------------------------------------------------------------------- matmul

MM_N = 1024


def mm_data(quick):
    rng = _rng()
    return {"a": _randn(rng, (MM_N, MM_N)), "b": _randn(rng, (MM_N, MM_N))}


def mm_funcgrad(d):
    fg, _, _, _ = _fg()
    f = fg.jit(lambda a, b: a @ b)
    a, b = _fg_put(fg, (d["a"], d["b"]))
    return (lambda: fg.block_until_ready(f(a, b))), _leaves_np


def mm_jax(d):
    jax, _, _, _ = _jax()
    f = jax.jit(lambda a, b: a @ b)
    a, b = _jax_put(jax, (d["a"], d["b"]))
    return (lambda: jax.block_until_ready(f(a, b))), _leaves_np


def mm_numpy(d):
    a, b = d["a"], d["b"]
    return (lambda: a @ b), _leaves_np


def mm_torch(d):
    torch = _torch_threads()
    a, b = torch.from_numpy(d["a"]), torch.from_numpy(d["b"])
    return (lambda: a @ b), _leaves_np


def mm_metrics(fw, t):
    return {"GFLOP/s": 2.0 * MM_N ** 3 / t / 1e9}


# ----------------------------------------------------------------------------- dispatch

DISPATCH_INNER = 2000


def dispatch_data(quick):
    return {"x": np.arange(10, dtype=np.float32)}


def dispatch_funcgrad(d):
    fg, _, _, _ = _fg()
    f = fg.jit(lambda x: x + 1)
    x = _fg_put(fg, d["x"])
    n = DISPATCH_INNER

    def run():
        for _ in range(n):
            r = f(x).block_until_ready()
        return r
    return run, _leaves_np


def dispatch_jax(d):
    jax, _, _, _ = _jax()
    f = jax.jit(lambda x: x + 1)
    x = _jax_put(jax, d["x"])
    n = DISPATCH_INNER

    def run():
        for _ in range(n):
            r = f(x).block_until_ready()
        return r
    return run, _leaves_np


def dispatch_numpy(d):
    x = d["x"]
    n = DISPATCH_INNER

    def run():
        for _ in range(n):
            r = x + 1
        return r
    return run, _leaves_np


def dispatch_torch(d):
    torch = _torch_threads()
    x = torch.from_numpy(d["x"])
    n = DISPATCH_INNER

    def run():
        for _ in range(n):
            r = x + 1
        return r
    return run, _leaves_np


# ----------------------------------------------------------------------------- log_softmax

def ls_data(quick):
    return {"x": _randn(_rng(), (4096, 1000), 3.0)}


def ls_funcgrad(d):
    fg, _, _, nn = _fg()
    f = fg.jit(nn.log_softmax)
    x = _fg_put(fg, d["x"])
    return (lambda: fg.block_until_ready(f(x))), _leaves_np


def ls_jax(d):
    jax, _, _, nn = _jax()
    f = jax.jit(nn.log_softmax)
    x = _jax_put(jax, d["x"])
    return (lambda: jax.block_until_ready(f(x))), _leaves_np


def ls_numpy(d):
    x = d["x"]

    def run():
        s = x - x.max(axis=-1, keepdims=True)
        return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))
    return run, _leaves_np


def ls_torch(d):
    torch = _torch_threads()
    x = torch.from_numpy(d["x"])
    return (lambda: torch.log_softmax(x, dim=-1)), _leaves_np


# ----------------------------------------------------------------------------- masked_softmax
# Causal attention's softmax: half the scores masked to -1e9, whose exp underflows (glibc's
# vector exp is 15-25x slower per such element unless the code works around it).

MS_SHAPE = (16, 4, 128, 128)


def ms_data(quick):
    s = _randn(_rng(), MS_SHAPE, 2.0)
    return {"s": s, "mask": np.tril(np.ones(MS_SHAPE[-2:], bool))}


def _ms(np_, nn_, log=False):
    """The masked softmax (`log`: log_softmax, see masked_log_softmax)."""
    softmax = nn_.log_softmax if log else nn_.softmax
    return lambda s, mask: softmax(np_.where(mask, s, -1e9), axis=-1)


def ms_funcgrad(d, log=False):
    fg, fnp, _, nn = _fg()
    f = fg.jit(_ms(fnp, nn, log))
    s, mask = _fg_put(fg, (d["s"], d["mask"]))
    return (lambda: fg.block_until_ready(f(s, mask))), _leaves_np


def ms_jax(d, log=False):
    jax, jnp, _, nn = _jax()
    f = jax.jit(_ms(jnp, nn, log))
    s, mask = _jax_put(jax, (d["s"], d["mask"]))
    return (lambda: jax.block_until_ready(f(s, mask))), _leaves_np


def ms_numpy(d):
    s, mask = d["s"], d["mask"]

    def run():
        z = np.where(mask, s, np.float32(-1e9))
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return run, _leaves_np


def ms_torch(d):
    torch = _torch_threads()
    s, mask = torch.from_numpy(d["s"]), torch.from_numpy(d["mask"])
    return (lambda: s.masked_fill(~mask, float("-inf")).softmax(dim=-1)), _leaves_np


# ----------------------------------------------------------------------------- masked_log_softmax
# A language model's loss over a masked set (the same causal mask): log_softmax's sum of
# exps is a reduction, whose loop once called glibc's vector exp, slow on every masked
# element.

def mls_numpy(d):
    s, mask = d["s"], d["mask"]

    def run():
        z = np.where(mask, s, np.float32(-1e9))
        z = z - z.max(axis=-1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return run, _leaves_np


def mls_torch(d):
    torch = _torch_threads()
    s, mask = torch.from_numpy(d["s"]), torch.from_numpy(d["mask"])
    return (lambda: s.masked_fill(~mask, -1e9).log_softmax(dim=-1)), _leaves_np


# ----------------------------------------------------------------------------- entropy
# The entropy of sparse probabilities, written as users write it: half the p are 0, whose
# log glibc's vector log hands to its scalar routine.

ENT_SHAPE = (1024, 4096)


def ent_data(quick):
    rng = _rng()
    p = rng.random(ENT_SHAPE, dtype=np.float32)
    p[rng.random(ENT_SHAPE) < 0.5] = 0.0
    return {"p": p / p.sum(axis=-1, keepdims=True)}


def _ent(np_):
    return lambda p: -np_.sum(np_.where(p > 0, p * np_.log(p), 0.0), axis=-1)


def ent_funcgrad(d):
    fg, fnp, _, _ = _fg()
    f = fg.jit(_ent(fnp))
    (p,) = _fg_put(fg, (d["p"],))
    return (lambda: fg.block_until_ready(f(p))), _leaves_np


def ent_jax(d):
    jax, jnp, _, _ = _jax()
    f = jax.jit(_ent(jnp))
    (p,) = _jax_put(jax, (d["p"],))
    return (lambda: jax.block_until_ready(f(p))), _leaves_np


def ent_numpy(d):
    p = d["p"]

    def run():
        with np.errstate(divide="ignore", invalid="ignore"):
            return -np.sum(np.where(p > 0, p * np.log(p), np.float32(0)), axis=-1)
    return run, _leaves_np


def ent_torch(d):
    torch = _torch_threads()
    p = torch.from_numpy(d["p"])
    # (PyTorch's own elementwise entropy, -p log p with 0 at 0)
    return (lambda: torch.special.entr(p).sum(dim=-1)), _leaves_np


# ----------------------------------------------------------------------------- top_k

TOPK_SHAPE, TOPK_K = (1024, 1024), 10


def topk_data(quick):
    return {"x": _rng().normal(size=TOPK_SHAPE).astype(np.float32)}


def topk_funcgrad(d):
    fg, _, lax, _ = _fg()
    f = fg.jit(lambda x: lax.top_k(x, TOPK_K))
    (x,) = _fg_put(fg, (d["x"],))
    return (lambda: fg.block_until_ready(f(x))), _leaves_np


def topk_jax(d):
    jax, _, lax, _ = _jax()
    f = jax.jit(lambda x: lax.top_k(x, TOPK_K))
    (x,) = _jax_put(jax, (d["x"],))
    return (lambda: jax.block_until_ready(f(x))), _leaves_np


def topk_numpy(d):
    x = d["x"]

    def run():
        # the k largest by argpartition, then sorted (ties do not occur in normal samples)
        part = np.argpartition(-x, TOPK_K - 1, axis=-1)[:, :TOPK_K]
        order = np.argsort(-np.take_along_axis(x, part, -1), axis=-1, kind="stable")
        idx = np.take_along_axis(part, order, -1)
        return np.take_along_axis(x, idx, -1), idx.astype(np.int32)
    return run, _leaves_np


def topk_torch(d):
    torch = _torch_threads()
    x = torch.from_numpy(d["x"])

    def run():
        vals, idx = torch.topk(x, TOPK_K, dim=-1)
        return vals, idx.to(torch.int32)
    return run, _leaves_np


# ----------------------------------------------------------------------------- rnn

RNN_T, RNN_B, RNN_H, RNN_I = 100, 32, 256, 256


def rnn_data(quick):
    rng = _rng()
    return {
        "params": (_randn(rng, (RNN_I, RNN_H), 1.0 / np.sqrt(RNN_I)),
                   _randn(rng, (RNN_H, RNN_H), 0.9 / np.sqrt(RNN_H)),
                   _randn(rng, (RNN_H,), 0.1)),
        "xs": _randn(rng, (RNN_T, RNN_B, RNN_I)),
        "h0": np.zeros((RNN_B, RNN_H), np.float32),
    }


def _rnn(np_, lax_, value_and_grad):
    """loss = sum(h_T ** 2) of an Elman RNN h_t = tanh(x_t Wx + h_{t-1} Wh + b);
    returns (loss, (dWx, dWh, db))."""
    def loss(params, xs, h0):
        wx, wh, b = params

        def cell(h, x):
            return np_.tanh(x @ wx + h @ wh + b), None
        hT, _ = lax_.scan(cell, h0, xs)
        return np_.sum(hT * hT)
    return value_and_grad(loss)


def rnn_funcgrad(d):
    fg, fnp, lax, _ = _fg()
    f = fg.jit(_rnn(fnp, lax, fg.value_and_grad))
    params, xs, h0 = _fg_put(fg, (d["params"], d["xs"], d["h0"]))
    return (lambda: fg.block_until_ready(f(params, xs, h0))), _leaves_np


def rnn_jax(d):
    jax, jnp, lax, _ = _jax()
    f = jax.jit(_rnn(jnp, lax, jax.value_and_grad))
    params, xs, h0 = _jax_put(jax, (d["params"], d["xs"], d["h0"]))
    return (lambda: jax.block_until_ready(f(params, xs, h0))), _leaves_np


def rnn_numpy(d):
    (wx, wh, b), xs, h0 = d["params"], d["xs"], d["h0"]
    T, B, I = xs.shape
    H = wh.shape[0]
    x2 = xs.reshape(T * B, I)

    def run():
        # forward: the input projection for all steps in one GEMM
        xw = (x2 @ wx).reshape(T, B, H) + b
        hs = np.empty((T + 1, B, H), np.float32)
        hs[0] = h0
        for t in range(T):
            np.tanh(xw[t] + hs[t] @ wh, out=hs[t + 1])
        loss = np.sum(hs[T] * hs[T], dtype=np.float32)
        # backward through time; weight gradients as two GEMMs over all steps
        da = np.empty((T, B, H), np.float32)
        dh = 2 * hs[T]
        for t in range(T - 1, -1, -1):
            h = hs[t + 1]
            da[t] = dh * (1 - h * h)
            dh = da[t] @ wh.T
        da2 = da.reshape(T * B, H)
        dwx = x2.T @ da2
        dwh = hs[:-1].reshape(T * B, H).T @ da2
        db = da2.sum(0)
        return loss, (dwx, dwh, db)
    return run, _leaves_np


def rnn_torch(d):
    torch = _torch_threads()
    ps = [torch.tensor(a, requires_grad=True) for a in d["params"]]
    xs, h0 = torch.from_numpy(d["xs"]), torch.from_numpy(d["h0"])

    def run():
        wx, wh, b = ps
        h = h0
        for t in range(xs.shape[0]):
            h = torch.tanh(xs[t] @ wx + h @ wh + b)
        loss = (h * h).sum()
        gs = torch.autograd.grad(loss, ps)
        return loss.detach(), gs
    return run, _leaves_np


# ----------------------------------------------------------------------------- first_call
# (measured by bench.run in fresh processes; the step is mlp_step's)

def first_call_child(fw):
    """Run in a fresh process: import the framework, place the MLP data, then time the first
    call of the jitted MLP step (trace + compile + run) and a second call. Returns a dict."""
    import time
    t0 = time.perf_counter()
    if fw == "funcgrad":
        fg, fnp, _, nn = _fg()
        t1 = time.perf_counter()
        d = mlp_data(False)
        params, x, y = _fg_put(fg, (d["params"], d["x"], d["y"]))
        step = fg.jit(_mlp(fnp, nn, fg.grad))
        block = fg.block_until_ready
    else:
        jax, jnp, _, nn = _jax()
        t1 = time.perf_counter()
        d = mlp_data(False)
        params, x, y = _jax_put(jax, (d["params"], d["x"], d["y"]))
        step = jax.jit(_mlp(jnp, nn, jax.grad))
        block = jax.block_until_ready
    block(params)
    t2 = time.perf_counter()
    block(step(params, x, y))
    t3 = time.perf_counter()
    block(step(params, x, y))
    t4 = time.perf_counter()
    return {"import": t1 - t0, "setup": t2 - t1, "first": t3 - t2, "second": t4 - t3}


# ----------------------------------------------------------------------------- registry

WORKLOADS = {
    "mlp_step": Workload(
        "mlp_step", "MLP 784-512-512-10 SGD step, batch 128", mlp_data,
        {"funcgrad": mlp_funcgrad, "numpy": mlp_numpy, "jax": mlp_jax, "torch": mlp_torch}),
    "mlp_step_linear": Workload(
        "mlp_step_linear", "MLP 784-512-512-10 SGD step, batch 128, PyTorch's nn.Linear "
        "layout (weights [out, in], h @ W.T + b; PyTorch: F.linear)", mlp_linear_data,
        {"funcgrad": functools.partial(mlp_funcgrad, linear=True), "numpy": mlp_linear_numpy,
         "jax": functools.partial(mlp_jax, linear=True),
         "torch": functools.partial(mlp_torch, linear=True)}),
    "cnn_step": Workload(
        "cnn_step", "CNN conv32-pool-conv64-pool-dense10 SGD step, batch 64, pooling by "
        "lax.reduce_window", cnn_data,
        {"funcgrad": cnn_funcgrad, "numpy": cnn_numpy, "jax": cnn_jax, "torch": cnn_torch}),
    "cnn_step_reshape": Workload(
        "cnn_step_reshape", "the same CNN step, pooling as max(x.reshape(n, h/2, 2, w/2, 2, "
        "c), axis=(2, 4)) (PyTorch: F.max_pool2d, NCHW)", cnn_data,
        {"funcgrad": functools.partial(cnn_funcgrad, pool="reshape"), "numpy": cnn_numpy,
         "jax": functools.partial(cnn_jax, pool="reshape"), "torch": cnn_torch}),
    "elementwise": Workload(
        "elementwise", "tanh(x)*z + exp(-x*x)*0.5, 1e7 float32", ew_data,
        {"funcgrad": ew_funcgrad, "numpy": ew_numpy, "jax": ew_jax, "torch": ew_torch},
        tol=1e-5, metrics=ew_metrics),
    "matmul": Workload(
        "matmul", "1024^3 float32 matmul", mm_data,
        {"funcgrad": mm_funcgrad, "numpy": mm_numpy, "jax": mm_jax, "torch": mm_torch},
        tol=1e-4, metrics=mm_metrics),
    "dispatch": Workload(
        "dispatch", "x + 1 on 10 floats, per call (a device array argument)", dispatch_data,
        {"funcgrad": dispatch_funcgrad, "numpy": dispatch_numpy, "jax": dispatch_jax,
         "torch": dispatch_torch},
        tol=0.0, inner=DISPATCH_INNER),
    "log_softmax": Workload(
        "log_softmax", "log_softmax on (4096, 1000) float32", ls_data,
        {"funcgrad": ls_funcgrad, "numpy": ls_numpy, "jax": ls_jax, "torch": ls_torch},
        tol=1e-5),
    "masked_softmax": Workload(
        "masked_softmax", "causal-masked softmax on (16, 4, 128, 128) float32 scores "
        "(the masked half is -1e9; PyTorch: masked_fill with -inf)", ms_data,
        {"funcgrad": ms_funcgrad, "numpy": ms_numpy, "jax": ms_jax, "torch": ms_torch},
        tol=1e-5),
    "masked_log_softmax": Workload(
        "masked_log_softmax", "causal-masked log_softmax on (16, 4, 128, 128) float32 "
        "scores (the masked half is -1e9)", ms_data,
        {"funcgrad": functools.partial(ms_funcgrad, log=True), "numpy": mls_numpy,
         "jax": functools.partial(ms_jax, log=True), "torch": mls_torch},
        tol=1e-5),
    "entropy": Workload(
        "entropy", "-sum(where(p > 0, p * log(p), 0), axis=-1) on (1024, 4096) float32 "
        "probabilities, half of them 0", ent_data,
        {"funcgrad": ent_funcgrad, "numpy": ent_numpy, "jax": ent_jax, "torch": ent_torch},
        tol=1e-5),
    "top_k": Workload(
        "top_k", f"lax.top_k(x, {TOPK_K}) over {TOPK_SHAPE} float32 rows (NumPy: "
        "argpartition then argsort; PyTorch: torch.topk)", topk_data,
        {"funcgrad": topk_funcgrad, "numpy": topk_numpy, "jax": topk_jax,
         "torch": topk_torch}, tol=0.0),
    "rnn": Workload(
        "rnn", "Elman RNN fwd+bwd, T=100 B=32 H=256 I=256", rnn_data,
        {"funcgrad": rnn_funcgrad, "numpy": rnn_numpy, "jax": rnn_jax, "torch": rnn_torch},
        tol=1e-3),
}
WORKLOADS.update(workloads_conv.WORKLOADS)
WORKLOADS.update(workloads_train.WORKLOADS)
WORKLOADS.update(workloads_calls.WORKLOADS)
WORKLOADS.update(workloads_control.WORKLOADS)
WORKLOADS.update(workloads_idioms.WORKLOADS)

# the order of the tables; "first_call" is measured by bench.run in fresh processes
ORDER = ["mlp_step", "mlp_step_linear", "cnn_step", "cnn_step_reshape", "cnn_step_stax",
         "mnist1d_step", "tiny_step", "tiny_step_donated", "gru_step", "conv1d", "conv1d_grad",
         "conv2d_s2", "conv2d_s2_grad", "pool3x3_grad", "elementwise", "matmul", "dispatch",
         "call_numpy_arg", "call_float_arg", "call_kwarg", "call_static_arg", "block_pytree",
         "log_softmax", "masked_softmax", "masked_log_softmax", "entropy", "top_k", "rnn",
         "while_newton", "scan_cond", "accuracy", "softmax10", "bmm3", "inv3", "gp_nll_grad",
         "first_call"]
if set(ORDER) != set(WORKLOADS) | {"first_call"}:
    raise RuntimeError(f"bench.workloads.ORDER {ORDER} does not list exactly the workloads "
                       f"{sorted(WORKLOADS)} and first_call")
