"""Convolution workloads written the way each framework's users write them: a CNN built with
stax (Conv / BatchNorm / Relu / MaxPool / Flatten / Dense) against PyTorch's `nn.Sequential`
in training mode, and forward / forward+backward microbenchmarks of a 1-D convolution and of
a stride-2 2-D convolution.

funcgrad and JAX share one source per model (the helpers take the framework's stax / lax /
optimizers modules). PyTorch runs channels-first (NCW / NCHW), the layout of its
documentation and tutorials (channels_last is an opt-in memory format); the layout
conversions happen outside the timing, and results are converted back for the check.
"""
from __future__ import annotations

import numpy as np

from bench.common import (
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
    from_torch_dense_after_flatten,
    from_torch_filter,
    from_torch_input,
    jit_train_loop,
    np_batchnorm,
    np_batchnorm_back,
    np_conv,
    np_conv_back,
    np_log_softmax_xent,
    np_pool2,
    np_pool2_back,
    to_torch_dense_after_flatten,
    to_torch_filter,
    to_torch_input,
    torch_load,
    torch_train_loop,
)

# ----------------------------------------------------------------------------- cnn_step_stax
# conv32-BN-relu-pool-conv64-BN-relu-pool-dense10 on 28x28x1, batch 64, SGD; the training
# state (the optimizer state / the module's parameters) carries from step to step.

STAX_B = 64


def stax_cnn_data(quick):
    rng = _rng()
    p = [
        (_randn(rng, (3, 3, 1, 32), np.sqrt(2.0 / 9)), _randn(rng, (1, 1, 1, 32), 0.01)),
        (_randn(rng, (32,), 0.1), 1.0 + _randn(rng, (32,), 0.1)),          # (beta, gamma)
        (), (),
        (_randn(rng, (3, 3, 32, 64), np.sqrt(2.0 / (9 * 32))), _randn(rng, (1, 1, 1, 64), 0.01)),
        (_randn(rng, (64,), 0.1), 1.0 + _randn(rng, (64,), 0.1)),
        (), (), (),
        (_randn(rng, (7 * 7 * 64, 10), np.sqrt(1.0 / (7 * 7 * 64))), _randn(rng, (10,), 0.01)),
        (),
    ]
    x = rng.random((STAX_B, 28, 28, 1), dtype=np.float32)
    labels = rng.integers(0, 10, STAX_B)
    return {"params": p, "x": x, "y": np.eye(10, dtype=np.float32)[labels],
            "labels": labels.astype(np.int64)}


def _stax_cnn(stax):
    return stax.serial(
        stax.Conv(32, (3, 3), padding="SAME"), stax.BatchNorm(), stax.Relu,
        stax.MaxPool((2, 2), strides=(2, 2)),
        stax.Conv(64, (3, 3), padding="SAME"), stax.BatchNorm(), stax.Relu,
        stax.MaxPool((2, 2), strides=(2, 2)),
        stax.Flatten, stax.Dense(10), stax.LogSoftmax)


def _shapes(tree):
    if isinstance(tree, (list, tuple)):
        return tuple(_shapes(t) for t in tree)
    return tuple(np.shape(tree))


def check_stax_params(init_fun, rng, input_shape, params):
    """The benchmark's parameters must have exactly the structure stax's init_fun builds."""
    _, ref = init_fun(rng, input_shape)
    if _shapes(ref) != _shapes(params):
        raise ValueError(f"benchmark parameter shapes {_shapes(params)} do not match those "
                         f"of stax's init_fun {_shapes(ref)}")


def _stax_cnn_step(api, np_, stax, optimizers):
    """(init_fun, opt_init, get_params, update) of the stax CNN trained with
    optimizers.sgd, written as JAX's example_libraries examples write a training step."""
    init_fun, predict = _stax_cnn(stax)
    opt_init, opt_update, get_params = optimizers.sgd(LR)

    def loss(params, batch):
        inputs, targets = batch
        return -np_.mean(np_.sum(predict(params, inputs) * targets, axis=1))

    @api.jit
    def update(i, opt_state, batch):
        params = get_params(opt_state)
        value, grads = api.value_and_grad(loss)(params, batch)
        return opt_update(i, grads, opt_state), value
    return init_fun, opt_init, get_params, update


def _stax_cnn_run(api, np_, stax, optimizers, d, key):
    init_fun, opt_init, get_params, update = _stax_cnn_step(api, np_, stax, optimizers)
    check_stax_params(init_fun, key, d["x"].shape, d["params"])
    batch = api.device_put((d["x"], d["y"]))        # one batch, placed once (as cnn_step)
    return jit_train_loop(api, update, opt_init(api.device_put(d["params"])), get_params,
                          [batch])


def stax_cnn_funcgrad(d):
    fg, fnp, _, _ = _fg()
    from funcgrad import optimizers, stax
    return _stax_cnn_run(fg, fnp, stax, optimizers, d, fg.random.PRNGKey(0))


def stax_cnn_jax(d):
    jax, jnp, _, _ = _jax()
    from jax.example_libraries import optimizers, stax
    return _stax_cnn_run(jax, jnp, stax, optimizers, d, jax.random.PRNGKey(0))


def stax_cnn_numpy(d):
    flat = [a.copy() for layer in d["params"] for a in layer]
    x, y = d["x"], d["y"]
    lr = np.float32(LR)
    axes = (0, 1, 2)

    def run():
        w1, b1, be1, g1, w2, b2, be2, g2, w3, b3 = flat
        a1, s1 = np_conv(x, w1, pads=((1, 1), (1, 1)))
        n1, sb1 = np_batchnorm(a1 + b1, g1, be1, axes)
        r1 = np.maximum(n1, 0)
        p1, sp1 = np_pool2(r1)
        a2, s2 = np_conv(p1, w2, pads=((1, 1), (1, 1)))
        n2, sb2 = np_batchnorm(a2 + b2, g2, be2, axes)
        r2 = np.maximum(n2, 0)
        p2, sp2 = np_pool2(r2)
        f = p2.reshape(p2.shape[0], -1)
        loss, dz = np_log_softmax_xent(f @ w3 + b3, y)
        dw3, db3 = f.T @ dz, dz.sum(0)
        dn2 = np_pool2_back((dz @ w3.T).reshape(p2.shape), sp2) * (n2 > 0)
        da2, dg2, dbe2 = np_batchnorm_back(dn2, sb2)
        dp1, dw2 = np_conv_back(da2, w2, s2)
        dn1 = np_pool2_back(dp1, sp1) * (n1 > 0)
        da1, dg1, dbe1 = np_batchnorm_back(dn1, sb1)
        _, dw1 = np_conv_back(da1, w1, s1, need_dx=False)
        grads = [dw1, da1.sum(axis=axes, keepdims=True), dbe1, dg1,
                 dw2, da2.sum(axis=axes, keepdims=True), dbe2, dg2, dw3, db3]
        flat[:] = [p - lr * g for p, g in zip(flat, grads)]
        return list(flat) + [loss]
    return run, _leaves_np


def stax_cnn_torch(d):
    torch = _torch_threads()
    import torch.nn.functional as F
    from torch import nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(7 * 7 * 64, 10))
    (w1, b1), (be1, g1), _, _, (w2, b2), (be2, g2), _, _, _, (w3, b3), _ = d["params"]
    torch_load(torch, model.parameters(), [
        to_torch_filter(w1), b1.reshape(-1), g1, be1, to_torch_filter(w2), b2.reshape(-1),
        g2, be2, to_torch_dense_after_flatten(w3, (7, 7), 64), b3])
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=LR)

    def to_numpy_params(t):
        c1w, c1b, g1_, be1_, c2w, c2b, g2_, be2_, lw, lb = t
        return [from_torch_filter(c1w), c1b.reshape(1, 1, 1, -1), be1_, g1_,
                from_torch_filter(c2w), c2b.reshape(1, 1, 1, -1), be2_, g2_,
                from_torch_dense_after_flatten(lw, (7, 7), 64), lb]
    return torch_train_loop(torch, model, opt, F.cross_entropy,
                            [(to_torch_input(d["x"]), d["labels"])], to_numpy_params)


# ----------------------------------------------------------------------------- conv micro
# conv1d: N=64, L=1000, C=32 -> 64, K=5, SAME.  conv2d_s2: N=64, 32x32x32 -> 64, 3x3,
# stride 2, padding 1 on each side (PyTorch's padding=1; 'SAME' would pad (0, 1)).
# "_grad": the forward output and the gradients w.r.t. input and filter for a given output
# cotangent (jax.vjp / torch.autograd.grad).

CONV_CASES = {
    "conv1d": {"x": (64, 1000, 32), "w": (5, 32, 64), "strides": (1,), "pads": ((2, 2),),
               "dn": ("NWC", "WIO", "NWC")},
    "conv2d_s2": {"x": (64, 32, 32, 32), "w": (3, 3, 32, 64), "strides": (2, 2),
                  "pads": ((1, 1), (1, 1)), "dn": ("NHWC", "HWIO", "NHWC")},
}


def conv_data(case):
    def make(quick):
        c = CONV_CASES[case]
        rng = _rng()
        x = _randn(rng, c["x"])
        w = _randn(rng, c["w"], 1.0 / np.sqrt(np.prod(c["w"][:-1])))
        out, _ = np_conv(x, w, c["strides"], c["pads"])
        return {"x": x, "w": w, "ct": _randn(rng, out.shape), "case": case}
    return make


def _conv_fns(api, lax, case):
    c = CONV_CASES[case]

    def conv(x, w):
        return lax.conv_general_dilated(x, w, c["strides"], c["pads"],
                                        dimension_numbers=c["dn"])

    def conv_grad(x, w, ct):
        y, vjp = api.vjp(conv, x, w)
        dx, dw = vjp(ct)
        return y, dx, dw
    return api.jit(conv), api.jit(conv_grad)


def conv_builder(fw, grad):
    """Builder of the forward (`grad=False`) or forward+backward workload for framework fw."""
    def build_jitted(d):
        if fw == "funcgrad":
            api, _, lax, _ = _fg()
            put = _fg_put
        else:
            api, _, lax, _ = _jax()
            put = _jax_put
        fwd, fwd_bwd = _conv_fns(api, lax, d["case"])
        x, w, ct = put(api, (d["x"], d["w"], d["ct"]))
        if grad:
            return (lambda: api.block_until_ready(fwd_bwd(x, w, ct))), _leaves_np
        return (lambda: api.block_until_ready(fwd(x, w))), _leaves_np

    def build_numpy(d):
        c = CONV_CASES[d["case"]]
        x, w, ct = d["x"], d["w"], d["ct"]

        def run():
            y, saved = np_conv(x, w, c["strides"], c["pads"])
            if not grad:
                return y
            dx, dw = np_conv_back(ct, w, saved)
            return y, dx, dw
        return run, _leaves_np

    def build_torch(d):
        torch = _torch_threads()
        import torch.nn.functional as F
        c = CONV_CASES[d["case"]]
        conv = F.conv1d if len(c["strides"]) == 1 else F.conv2d
        pad = tuple(lo for lo, _ in c["pads"])
        x = torch.from_numpy(to_torch_input(d["x"])).requires_grad_(grad)
        w = torch.from_numpy(to_torch_filter(d["w"])).requires_grad_(grad)
        ct = torch.from_numpy(to_torch_input(d["ct"]))

        def run():
            if not grad:
                with torch.no_grad():
                    return conv(x, w, stride=c["strides"], padding=pad)
            y = conv(x, w, stride=c["strides"], padding=pad)
            dx, dw = torch.autograd.grad(y, (x, w), ct)
            return y, dx, dw

        def to_numpy(out):
            if not grad:
                return [from_torch_input(out.numpy())]
            y, dx, dw = (t.detach().numpy() for t in out)
            return [from_torch_input(y), from_torch_input(dx), from_torch_filter(dw)]
        return run, to_numpy

    return {"funcgrad": build_jitted, "jax": build_jitted, "numpy": build_numpy,
            "torch": build_torch}[fw]


def conv_flops(case, grad):
    """Multiply-adds x 2 of the forward convolution; x 3 with the backward pass (one
    product of the same size for the input gradient, one for the filter gradient)."""
    c = CONV_CASES[case]
    out_sp = [(n + lo + hi - k) // s + 1 for n, k, s, (lo, hi)
              in zip(c["x"][1:-1], c["w"][:-2], c["strides"], c["pads"])]
    out = c["x"][0] * int(np.prod(out_sp)) * c["w"][-1]
    flops = 2.0 * out * np.prod(c["w"][:-1])
    return flops * (3 if grad else 1)


def _conv_workload(case, grad, title):
    name = case + ("_grad" if grad else "")
    flops = conv_flops(case, grad)
    return Workload(
        name, title, conv_data(case),
        {fw: conv_builder(fw, grad) for fw in ("funcgrad", "numpy", "jax", "torch")},
        tol=1e-4, metrics=lambda fw, t: {"GFLOP/s": flops / t / 1e9})


# ----------------------------------------------------------------------------- pool3x3_grad
# 3x3 max pooling, stride 1, SAME padding (Inception's and DenseNet's pool, and what
# `nn.max_pool(x, (3, 3), strides=1, padding="SAME")` does), forward and backward. Its
# padded cells once made funcgrad's loop scalar: 160 ms forward against JAX's 19 (issue
# 15). funcgrad and JAX: `lax.reduce_window` and `vjp`; PyTorch: `F.max_pool2d(x, 3, 1, 1)`
# and autograd, NCHW; NumPy: a window view of the input padded with -inf.

POOL_X = (32, 32, 32, 64)


def pool_data(quick):
    rng = _rng()
    shape = (4, 16, 16, 16) if quick else POOL_X
    return {"x": _randn(rng, shape), "ct": _randn(rng, shape)}


def _pool_jitted(fw):
    def build(d):
        api, _, lax, _ = _fg() if fw == "funcgrad" else _jax()
        put = _fg_put if fw == "funcgrad" else _jax_put

        def pool(x):
            return lax.reduce_window(x, -np.inf, lax.max, (1, 3, 3, 1), (1, 1, 1, 1), "SAME")

        @api.jit
        def fwd_bwd(x, ct):
            y, vjp = api.vjp(pool, x)
            return y, vjp(ct)[0]
        x, ct = put(api, (d["x"], d["ct"]))
        return (lambda: api.block_until_ready(fwd_bwd(x, ct))), _leaves_np
    return build


def pool_numpy(d):
    x, ct = d["x"], d["ct"]
    n, h, w, c = x.shape

    def run():
        xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
        win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))
        win = win.reshape(n, h, w, c, 9)
        arg = win.argmax(axis=-1)                  # the first maximum (no ties here)
        y = np.take_along_axis(win, arg[..., None], -1)[..., 0]
        dxp = np.zeros_like(xp)
        ii, jj = np.divmod(arg, 3)
        nn_, hh, ww, cc = np.indices(arg.shape, sparse=True)
        np.add.at(dxp, (nn_, hh + ii, ww + jj, cc), ct)
        return y, dxp[:, 1:-1, 1:-1]
    return run, _leaves_np


def pool_torch(d):
    torch = _torch_threads()
    import torch.nn.functional as F
    x = torch.from_numpy(to_torch_input(d["x"])).requires_grad_(True)
    ct = torch.from_numpy(to_torch_input(d["ct"]))

    def run():
        y = F.max_pool2d(x, 3, 1, 1)
        (dx,) = torch.autograd.grad(y, (x,), ct)
        return y, dx

    def to_numpy(out):
        return [from_torch_input(t.detach().numpy()) for t in out]
    return run, to_numpy


WORKLOADS = {
    "pool3x3_grad": Workload(
        "pool3x3_grad", f"3x3 max pool, stride 1, SAME padding, forward + grad, NHWC "
        f"{POOL_X} (PyTorch: F.max_pool2d(x, 3, 1, 1), NCHW)", pool_data,
        {"funcgrad": _pool_jitted("funcgrad"), "numpy": pool_numpy,
         "jax": _pool_jitted("jax"), "torch": pool_torch}, tol=1e-6),
    "cnn_step_stax": Workload(
        "cnn_step_stax", "stax CNN conv32-BN-relu-pool-conv64-BN-relu-pool-dense10, SGD "
        "step, batch 64 (PyTorch: nn.Sequential, train mode, optim.SGD)", stax_cnn_data,
        {"funcgrad": stax_cnn_funcgrad, "numpy": stax_cnn_numpy, "jax": stax_cnn_jax,
         "torch": stax_cnn_torch},
        tol=1e-3, stateful=True),
    "conv1d": _conv_workload("conv1d", False, "conv1d forward, N=64 L=1000 C=32->64 K=5"),
    "conv1d_grad": _conv_workload(
        "conv1d", True, "conv1d forward + grad w.r.t. input and filter, N=64 L=1000 "
        "C=32->64 K=5"),
    "conv2d_s2": _conv_workload(
        "conv2d_s2", False, "conv2d stride 2 forward, N=64 32x32x32 -> 64, 3x3, pad 1"),
    "conv2d_s2_grad": _conv_workload(
        "conv2d_s2", True, "conv2d stride 2 forward + grad w.r.t. input and filter, N=64 "
        "32x32x32 -> 64, 3x3, pad 1"),
}
