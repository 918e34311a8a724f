"""Idioms around the models rather than in them, found slow by sweeps of programs users
write: a classifier's accuracy (argmax over 10 classes), softmax over 10 classes,
batches of 3x3 matrices (rotations and per-point transforms: their products and
inverses), and a Gaussian process's marginal likelihood and its gradient (a Cholesky
factorisation and triangular solves of a small matrix in every step of a fit). Each is
written as its framework's documentation writes it (PyTorch: argmax, softmax, torch.bmm,
torch.linalg.inv, torch.linalg.cholesky and torch.cholesky_solve with autograd)."""
from __future__ import annotations

import numpy as np

from bench.common import Workload, _fg, _fg_put, _jax, _jax_put, _leaves_np, _randn, _rng, \
    _torch_threads

N_ROWS, N_CLASSES = 96000, 10
N_MATS = 100000


def cls_data(quick):
    rng = _rng()
    n = N_ROWS // 8 if quick else N_ROWS
    return {"x": _randn(rng, (n, N_CLASSES), 3.0),
            "y": rng.integers(0, N_CLASSES, n).astype(np.int32)}


def _accuracy(np_, x, y):
    return np_.mean((np_.argmax(x, axis=-1) == y).astype(np_.float32))


def acc_funcgrad(d):
    fg, fnp, _, _ = _fg()
    f = fg.jit(lambda x, y: _accuracy(fnp, x, y))
    x, y = _fg_put(fg, (d["x"], d["y"]))
    return (lambda: fg.block_until_ready(f(x, y))), _leaves_np


def acc_jax(d):
    jax, jnp, _, _ = _jax()
    f = jax.jit(lambda x, y: _accuracy(jnp, x, y))
    x, y = _jax_put(jax, (d["x"], d["y"]))
    return (lambda: jax.block_until_ready(f(x, y))), _leaves_np


def acc_numpy(d):
    return (lambda: _accuracy(np, d["x"], d["y"])), _leaves_np


def acc_torch(d):
    torch = _torch_threads()
    x, y = torch.from_numpy(d["x"]), torch.from_numpy(d["y"])
    return (lambda: (x.argmax(dim=-1) == y).float().mean()), _leaves_np


def sm_funcgrad(d):
    fg, _, _, nn = _fg()
    f = fg.jit(lambda x: nn.softmax(x, axis=-1))
    x = _fg_put(fg, d["x"])
    return (lambda: fg.block_until_ready(f(x))), _leaves_np


def sm_jax(d):
    jax, _, _, nn = _jax()
    f = jax.jit(lambda x: nn.softmax(x, axis=-1))
    x = _jax_put(jax, d["x"])
    return (lambda: jax.block_until_ready(f(x))), _leaves_np


def sm_numpy(d):
    x = d["x"]

    def run():
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return run, _leaves_np


def sm_torch(d):
    torch = _torch_threads()
    x = torch.from_numpy(d["x"])
    return (lambda: torch.softmax(x, dim=-1)), _leaves_np


def mats_data(quick):
    rng = _rng()
    n = N_MATS // 8 if quick else N_MATS
    eye = np.eye(3, dtype=np.float32)
    return {"a": _randn(rng, (n, 3, 3)) + 4 * eye, "b": _randn(rng, (n, 3, 3))}


def _mats(fw, op):
    def build(d):
        if fw == "numpy":
            a, b = d["a"], d["b"]
            return ((lambda: a @ b) if op == "matmul" else (lambda: np.linalg.inv(a))), \
                _leaves_np
        if fw == "torch":
            torch = _torch_threads()
            a, b = torch.from_numpy(d["a"]), torch.from_numpy(d["b"])
            return ((lambda: torch.bmm(a, b)) if op == "matmul" else
                    (lambda: torch.linalg.inv(a))), _leaves_np
        api, np_, _, _ = _fg() if fw == "funcgrad" else _jax()
        put = _fg_put if fw == "funcgrad" else _jax_put
        f = api.jit((lambda a, b: a @ b) if op == "matmul" else
                    (lambda a, b: np_.linalg.inv(a)))
        a, b = put(api, (d["a"], d["b"]))
        return (lambda: api.block_until_ready(f(a, b))), _leaves_np
    return build


GP_N, GP_D = 64, 2


def gp_data(quick):
    rng = _rng()
    x = _randn(rng, (GP_N, GP_D))
    y = (np.sin(3 * x[:, 0]) + 0.1 * rng.standard_normal(GP_N)).astype(np.float32)
    return {"x": x, "y": y, "theta": np.array([0.0, -1.0], np.float32)}


def _gp_nll(np_, cholesky, cho_solve):
    """The negative log marginal likelihood of y under an RBF kernel with log lengthscale
    theta[0] and log noise theta[1] (the constant term left out)."""
    def nll(theta, x, y):
        d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
        k = np_.exp(-0.5 * d2 / np_.exp(2 * theta[0])) + \
            np_.exp(2 * theta[1]) * np_.eye(x.shape[0], dtype=x.dtype)
        L = cholesky(k)
        alpha = cho_solve(L, y)
        return 0.5 * (y * alpha).sum() + np_.log(np_.diagonal(L)).sum()
    return nll


def _gp(fw):
    def build(d):
        if fw == "numpy":
            return _gp_numpy(d)
        if fw == "torch":
            torch = _torch_threads()
            nll = _gp_nll(torch, torch.linalg.cholesky,
                          lambda L, y: torch.cholesky_solve(y[:, None], L)[:, 0])
            x, y = torch.from_numpy(d["x"]), torch.from_numpy(d["y"])

            def run():
                theta = torch.from_numpy(d["theta"]).requires_grad_()
                value = nll(theta, x, y)
                value.backward()
                return value.detach(), theta.grad
            return run, _leaves_np
        api, np_, _, _ = _fg() if fw == "funcgrad" else _jax()
        put = _fg_put if fw == "funcgrad" else _jax_put
        sl = api.scipy.linalg
        nll = _gp_nll(np_, np_.linalg.cholesky,
                      lambda L, y: sl.cho_solve((L, True), y))
        f = api.jit(api.value_and_grad(nll))
        theta, x, y = put(api, (d["theta"], d["x"], d["y"]))
        return (lambda: api.block_until_ready(f(theta, x, y))), _leaves_np
    return build


def _gp_numpy(d):
    """The value and its gradient by hand: d/dtheta_i = 0.5 tr((K^-1 - a a^T) dK/dtheta_i)."""
    x, y, theta = d["x"], d["y"], d["theta"]

    def run():
        d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
        rbf = np.exp(-0.5 * d2 / np.exp(2 * theta[0]))
        noise = np.exp(2 * theta[1])
        k = rbf + noise * np.eye(GP_N, dtype=np.float32)
        L = np.linalg.cholesky(k)
        kinv = np.linalg.inv(k)
        alpha = kinv @ y
        value = 0.5 * (y @ alpha) + np.log(np.diagonal(L)).sum()
        w = kinv - np.outer(alpha, alpha)
        grads = np.array([0.5 * (w * (rbf * d2 / np.exp(2 * theta[0]))).sum(),
                          0.5 * np.trace(w) * 2 * noise], np.float32)
        return np.float32(value), grads
    return run, _leaves_np


_FWS = ("funcgrad", "numpy", "jax", "torch")

WORKLOADS = {
    "accuracy": Workload(
        "accuracy", f"mean(argmax(logits, -1) == labels), ({N_ROWS}, {N_CLASSES}) float32 "
        "logits", cls_data,
        {"funcgrad": acc_funcgrad, "numpy": acc_numpy, "jax": acc_jax, "torch": acc_torch},
        tol=0.0),
    "softmax10": Workload(
        "softmax10", f"softmax over ({N_ROWS}, {N_CLASSES}) float32", cls_data,
        {"funcgrad": sm_funcgrad, "numpy": sm_numpy, "jax": sm_jax, "torch": sm_torch},
        tol=1e-5),
    "bmm3": Workload(
        "bmm3", f"({N_MATS}, 3, 3) @ ({N_MATS}, 3, 3) float32 (PyTorch: torch.bmm)",
        mats_data, {fw: _mats(fw, "matmul") for fw in _FWS}, tol=1e-5),
    "inv3": Workload(
        "inv3", f"linalg.inv of ({N_MATS}, 3, 3) float32 (diagonally dominant)",
        mats_data, {fw: _mats(fw, "inv") for fw in _FWS}, tol=1e-4),
    "gp_nll_grad": Workload(
        "gp_nll_grad", f"Gaussian-process negative log marginal likelihood and its gradient, "
        f"{GP_N} points: RBF kernel, cholesky, cho_solve (NumPy: the gradient by hand)",
        gp_data, {fw: _gp(fw) for fw in _FWS}, tol=1e-3),
}
