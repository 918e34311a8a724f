"""What every benchmark workload module shares: the `Workload` record, the lazy imports of
the frameworks, data helpers, and NumPy reference pieces (im2col convolution, softmax
cross-entropy, batch norm, Adam) used by the hand-written NumPy versions that every other
framework is cross-checked against.

JAX and PyTorch are imported inside the helpers only: they are benchmark extras, never
runtime dependencies of funcgrad.
"""
from __future__ import annotations

import itertools
import os
import time

import numpy as np

FRAMEWORKS = ("funcgrad", "numpy", "jax", "torch")
LR = 0.01


class Workload:
    """One benchmark: `make_data(quick)` builds NumPy inputs shared by every framework;
    `builders[framework](data)` returns `(run, to_numpy)` where `run()` executes one
    repetition and returns its materialised result and `to_numpy(result)` gives the list of
    NumPy arrays that is cross-checked.

    `reference(data)`, when given, returns those arrays for the check without a timed NumPy
    column (for workloads NumPy has no counterpart to, e.g. the cost of a jitted call).
    `stateful` workloads carry their state from call to call as a training loop does; they
    are cross-checked on the result of the second call, taken before any further call."""

    def __init__(self, name, title, make_data, builders, *, tol=1e-3, inner=1, metrics=None,
                 check_all=True, reference=None, stateful=False):
        self.name = name
        self.title = title
        self.make_data = make_data
        self.builders = builders      # framework -> builder(data) -> (run, to_numpy)
        self.tol = tol                # max |err| / max |ref| per output, vs NumPy
        self.inner = inner            # calls per timed sample (per-call time = sample/inner)
        self.metrics = metrics        # (framework, seconds per call) -> {name: value}
        self.check_all = check_all
        self.reference = reference    # data -> [np.ndarray] (check only, not timed)
        self.stateful = stateful


# ----------------------------------------------------------------------------- frameworks

def _fg():
    import funcgrad as fg
    import funcgrad.numpy as fnp
    from funcgrad import lax, nn
    return fg, fnp, lax, nn


def _jax():
    import jax
    import jax.numpy as jnp
    from jax import lax, nn
    return jax, jnp, lax, nn


def _fg_put(fg, tree):
    return fg.device_put(tree)


def _jax_put(jax, tree):
    return jax.device_put(tree)


def _leaves_np(out):
    """Flatten nested tuples/lists of arrays into a list of NumPy arrays."""
    if isinstance(out, (list, tuple)):
        res = []
        for o in out:
            res.extend(_leaves_np(o))
        return res
    if hasattr(out, "detach"):           # torch tensor
        return [out.detach().cpu().numpy()]
    return [np.asarray(out)]


def _torch_threads():
    import torch
    n = os.environ.get("OMP_NUM_THREADS")
    if n:
        torch.set_num_threads(int(n))
    return torch


def _rng():
    return np.random.default_rng(0)


def _randn(rng, shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


# ----------------------------------------------------------------------------- layouts
# funcgrad, JAX and NumPy use channels-last (NWC / NHWC, filters WIO / HWIO); PyTorch users
# write channels-first (NCW / NCHW, filters OIW / OIHW). Conversions happen outside timing.

def to_torch_input(x):
    """Channels-last array -> channels-first copy."""
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def from_torch_input(x):
    return np.ascontiguousarray(np.moveaxis(x, 1, -1))


def to_torch_filter(w):
    """(*window, I, O) -> (O, I, *window)."""
    nd = w.ndim - 2
    return np.ascontiguousarray(w.transpose(nd + 1, nd, *range(nd)))


def from_torch_filter(w):
    """(O, I, *window) -> (*window, I, O)."""
    nd = w.ndim - 2
    return np.ascontiguousarray(w.transpose(*range(2, nd + 2), 1, 0))


def to_torch_dense_after_flatten(w, spatial, channels):
    """Dense weight (prod(spatial)*C, O) that reads a channels-last flatten -> torch Linear
    weight (O, C*prod(spatial)) that reads the channels-first flatten of nn.Flatten."""
    o = w.shape[-1]
    nd = len(spatial)
    w = w.reshape(*spatial, channels, o)
    return np.ascontiguousarray(w.transpose(nd + 1, nd, *range(nd)).reshape(o, -1))


def from_torch_dense_after_flatten(w, spatial, channels):
    o = w.shape[0]
    nd = len(spatial)
    w = w.reshape(o, channels, *spatial)
    return np.ascontiguousarray(w.transpose(*range(2, nd + 2), 1, 0).reshape(-1, o))


# ----------------------------------------------------------------------------- NumPy pieces

def np_conv(x, w, strides=None, pads=None):
    """Convolution by im2col: x (N, *spatial, C), w (*window, C, O), `pads` a (lo, hi) pair
    per spatial dimension. Returns (out, saved) with `saved` what `np_conv_back` needs."""
    nd = x.ndim - 2
    window, (C, O) = w.shape[:nd], w.shape[nd:]
    strides = tuple(strides or (1,) * nd)
    pads = tuple(pads or ((0, 0),) * nd)
    xp = np.pad(x, ((0, 0), *pads, (0, 0))) if any(lo or hi for lo, hi in pads) else x
    win = np.lib.stride_tricks.sliding_window_view(xp, window, axis=tuple(range(1, nd + 1)))
    win = win[(slice(None),) + tuple(slice(None, None, s) for s in strides)]
    out_sp = win.shape[1:nd + 1]
    # (N, *out, C, *window) -> (N, *out, *window, C): the row order of w.reshape(-1, O)
    perm = (0, *range(1, nd + 1), *range(nd + 2, 2 * nd + 2), nd + 1)
    cols = np.ascontiguousarray(win.transpose(perm)).reshape(-1, int(np.prod(window)) * C)
    out = (cols @ w.reshape(-1, O)).reshape(x.shape[0], *out_sp, O)
    return out, (cols, x.shape, xp.shape, strides, pads)


def np_conv_back(dout, w, saved, need_dx=True):
    """(dx or None, dw) of `np_conv` for the output cotangent `dout`."""
    cols, _, xp_shape, strides, pads = saved
    nd = len(strides)
    window, O = w.shape[:nd], w.shape[-1]
    d2 = dout.reshape(-1, O)
    dw = (cols.T @ d2).reshape(w.shape)
    if not need_dx:
        return None, dw
    out_sp = dout.shape[1:nd + 1]
    dcols = (d2 @ w.reshape(-1, O).T).reshape(dout.shape[0], *out_sp, *window, -1)
    dxp = np.zeros(xp_shape, dout.dtype)
    for offs in itertools.product(*(range(k) for k in window)):
        dst = tuple(slice(o, o + (m - 1) * s + 1, s) for o, m, s in zip(offs, out_sp, strides))
        src = (slice(None),) * (nd + 1) + offs
        dxp[(slice(None), *dst)] += dcols[src]
    crop = tuple(slice(lo, n - hi) for (lo, hi), n in zip(pads, xp_shape[1:nd + 1]))
    return dxp[(slice(None), *crop)], dw


def np_pool2(x):
    """2x2 max pooling with stride 2 on NHWC by reshaping; returns (out, saved)."""
    N, H, W, C = x.shape
    r = x.reshape(N, H // 2, 2, W // 2, 2, C)
    out = r.max(axis=(2, 4))
    return out, (r, out)


def np_pool2_back(dout, saved):
    """Gradient of `np_pool2` (ties share the gradient, as JAX's max reduction does not;
    random float inputs have no ties)."""
    r, out = saved
    mask = r == out[:, :, None, :, None, :]
    N, h, _, w, _, C = r.shape
    return (mask * dout[:, :, None, :, None, :]).reshape(N, 2 * h, 2 * w, C)


def np_log_softmax_xent(z, y):
    """(loss, dloss/dz) of -mean(sum(y * log_softmax(z), -1)) for one-hot rows y."""
    s = z - z.max(axis=-1, keepdims=True)
    e = np.exp(s)
    tot = e.sum(axis=-1, keepdims=True)
    logp = s - np.log(tot)
    B = np.float32(z.shape[0])
    loss = -np.sum(y * logp, dtype=np.float32) / B
    dz = (e / tot * y.sum(axis=-1, keepdims=True) - y) / B
    return np.float32(loss), dz.astype(np.float32)


def np_batchnorm(x, gamma, beta, axes, eps=1e-5):
    """Batch normalisation with the batch's own (biased) statistics; returns (out, saved)."""
    mu = x.mean(axis=axes, keepdims=True)
    var = (x * x).mean(axis=axes, keepdims=True) - mu * mu
    inv = (1.0 / np.sqrt(var + np.float32(eps))).astype(x.dtype)
    xhat = (x - mu) * inv
    return gamma * xhat + beta, (xhat, inv, gamma, axes)


def np_batchnorm_back(dout, saved):
    """(dx, dgamma, dbeta) of `np_batchnorm`."""
    xhat, inv, gamma, axes = saved
    m = np.float32(np.prod([xhat.shape[a] for a in axes]))
    dgamma = (dout * xhat).sum(axis=axes)
    dbeta = dout.sum(axis=axes)
    dxhat = dout * gamma
    dx = inv / m * (m * dxhat - dxhat.sum(axis=axes, keepdims=True)
                    - xhat * (dxhat * xhat).sum(axis=axes, keepdims=True))
    return dx, dgamma, dbeta


class NumpyAdam:
    """Adam over a flat list of arrays, with JAX's `example_libraries.optimizers.adam` (and
    torch.optim.Adam's) update: bias-corrected moments, eps added to sqrt(v_hat)."""

    def __init__(self, params, lr, b1=0.9, b2=0.999, eps=1e-8):
        self.params = [p.copy() for p in params]
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.lr, self.b1, self.b2, self.eps = (np.float32(a) for a in (lr, b1, b2, eps))
        self.i = 0

    def step(self, grads):
        one = np.float32(1)
        c1 = one - self.b1 ** np.float32(self.i + 1)
        c2 = one - self.b2 ** np.float32(self.i + 1)
        new = []
        for k, (p, g) in enumerate(zip(self.params, grads)):
            self.m[k] = (one - self.b1) * g + self.b1 * self.m[k]
            self.v[k] = (one - self.b2) * (g * g) + self.b2 * self.v[k]
            new.append(p - self.lr * (self.m[k] / c1) / (np.sqrt(self.v[k] / c2) + self.eps))
        self.params = new
        self.i += 1
        return new


# ----------------------------------------------------------------------------- training loops

def jit_train_loop(api, update, opt_state, get_params, batches):
    """`(run, to_numpy)` of a training loop as JAX's example_libraries examples write it:
    `opt_state, loss = update(i, opt_state, batch)` with a Python int step `i` and the next
    batch of `batches` (NumPy arrays for a loop fed from a dataset: converting them is part
    of every step). `api` is funcgrad or jax; `run()` blocks on the new state and loss."""
    state = {"opt": opt_state, "i": 0}

    def run():
        i = state["i"]
        state["opt"], loss = update(i, state["opt"], batches[i % len(batches)])
        state["i"] = i + 1
        return api.block_until_ready((state["opt"], loss))

    def to_numpy(out):
        opt_state, loss = out
        return _leaves_np(list(get_params(opt_state))) + [np.asarray(loss)]
    return run, to_numpy


def torch_train_loop(torch, model, opt, loss_fn, batches, to_numpy_params):
    """`(run, to_numpy)` of a PyTorch training loop as its tutorials write it: zero_grad,
    forward, loss, backward, optimizer step, on the next `(inputs, labels)` of `batches`
    (NumPy arrays, wrapped with torch.from_numpy each step). `to_numpy_params(params)` maps
    copies of `model.parameters()` to the funcgrad/JAX layout for the check."""
    state = {"i": 0}

    def run():
        x, labels = batches[state["i"] % len(batches)]
        state["i"] += 1
        opt.zero_grad()
        loss = loss_fn(model(torch.from_numpy(x)), torch.from_numpy(labels))
        loss.backward()
        opt.step()
        return loss

    def to_numpy(loss):
        # copies: the optimizer updates the parameters in place on the next step
        params = [p.detach().numpy().copy() for p in model.parameters()]
        return to_numpy_params(params) + [loss.detach().numpy()]
    return run, to_numpy


def torch_load(torch, params, arrays):
    """Copy NumPy `arrays` into the torch `params` (same order, same shapes)."""
    with torch.no_grad():
        for p, a in zip(params, arrays, strict=True):
            if tuple(p.shape) != a.shape:
                raise ValueError(f"torch parameter of shape {tuple(p.shape)} given an array "
                                 f"of shape {a.shape}")
            p.copy_(torch.from_numpy(np.ascontiguousarray(a)))


def blas_report():
    """Print the OpenBLAS libraries loaded in this process (NumPy's, and funcgrad's once a
    GEMM ran): version, kernel and threads, as threadpoolctl sees them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            print(f"  BLAS: {info.get('internal_api')} {info.get('version')} "
                  f"kernel={info.get('architecture')} threads={info.get('num_threads')} "
                  f"({os.path.basename(info.get('filepath', ''))})")


def median_ms(f, args, block, n=30):
    """Median of `n` timed calls `block(f(*args))` in ms, after 3 untimed ones (the
    scripts' side-by-side timings: bench_loop_updates.py, bench_idiom_survey.py)."""
    for _ in range(3):
        block(f(*args))
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        block(f(*args))
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1e3
