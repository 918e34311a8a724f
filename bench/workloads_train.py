"""Small training steps fed a fresh NumPy batch every step, as a training loop over a dataset
in memory is written: the per-step overhead (converting the arguments, flattening the
optimizer-state pytree, wrapping the outputs) is a large part of such a step.

- `mnist1d_step`: an MNIST-1D-sized 1-D CNN (inputs of length 40, batch 100) trained with
  Adam: stax + `optimizers.adam` in funcgrad and JAX (`jax.example_libraries`), an
  `nn.Sequential` + `torch.optim.Adam` in PyTorch.
- `gru_step`: a GRU (hidden 128) over the 28 rows of 28x28 images, batch 64, its cell
  written for `lax.scan` as JAX users write it, trained with Adam; PyTorch uses `nn.GRU`.
- `tiny_step`: an MLP 16-32-10 (tanh) on batches of 32, trained with Adam: so little
  arithmetic that the step is almost all per-call overhead (arguments, the optimizer
  state's pytree, outputs).
- `tiny_step_donated`: the same with the optimizer state donated (JAX's advice for a
  training state; funcgrad's donated calls took the slow path until 2026-12-06: 178 us).

The datasets are synthetic (generated once from a fixed seed, float32), cut into batches
before timing; step k uses batch k mod (number of batches). Every framework starts from the
same parameters, so after the same number of steps they hold the same state (checked after
two steps against the NumPy version).
"""
from __future__ import annotations

import numpy as np

from bench.common import (
    NumpyAdam,
    Workload,
    _fg,
    _jax,
    _leaves_np,
    _rng,
    _torch_threads,
    from_torch_dense_after_flatten,
    from_torch_filter,
    jit_train_loop,
    np_conv,
    np_conv_back,
    np_log_softmax_xent,
    to_torch_dense_after_flatten,
    to_torch_filter,
    torch_load,
    torch_train_loop,
)
from bench.workloads_conv import check_stax_params

ADAM_LR = 1e-3


def _uniform(rng, shape, k):
    return rng.uniform(-k, k, shape).astype(np.float32)


def _batches(x, y_onehot, labels, batch):
    """[(x, one-hot y, int64 labels)] per batch: contiguous NumPy slices of the dataset."""
    n = x.shape[0] // batch
    return [(x[i * batch:(i + 1) * batch], y_onehot[i * batch:(i + 1) * batch],
             labels[i * batch:(i + 1) * batch]) for i in range(n)]


# ----------------------------------------------------------------------------- mnist1d_step

M1_N, M1_L, M1_B, M1_C, M1_K = 4000, 40, 100, 32, 5
M1_DN = ("NWC", "WIO", "NWC")


def mnist1d_data(quick):
    """An MNIST-1D-like dataset: each class is a smooth random template of 30 points placed
    at a random offset in a length-40 signal, scaled, plus noise."""
    rng = _rng()
    templates = np.cumsum(rng.standard_normal((10, 30)), axis=1)
    templates /= np.abs(templates).max(axis=1, keepdims=True)
    labels = rng.integers(0, 10, M1_N)
    x = 0.1 * rng.standard_normal((M1_N, M1_L))
    offsets = rng.integers(0, M1_L - 30 + 1, M1_N)
    scales = rng.uniform(0.7, 1.3, M1_N)
    for i in range(M1_N):
        x[i, offsets[i]:offsets[i] + 30] += scales[i] * templates[labels[i]]
    x = x.astype(np.float32)
    y = np.eye(10, dtype=np.float32)[labels]
    C, K = M1_C, M1_K
    params = [
        (_uniform(rng, (K, 1, C), 1 / np.sqrt(K)), _uniform(rng, (1, 1, C), 1 / np.sqrt(K))),
        (),
        (_uniform(rng, (K, C, C), 1 / np.sqrt(K * C)),
         _uniform(rng, (1, 1, C), 1 / np.sqrt(K * C))),
        (), (),
        (_uniform(rng, (M1_L * C, 10), 1 / np.sqrt(M1_L * C)),
         _uniform(rng, (10,), 1 / np.sqrt(M1_L * C))),
        (),
    ]
    return {"params": params, "batches": _batches(x, y, labels.astype(np.int64), M1_B)}


def _mnist1d_model(stax):
    return stax.serial(
        stax.GeneralConv(M1_DN, M1_C, (M1_K,), padding="SAME"), stax.Relu,
        stax.GeneralConv(M1_DN, M1_C, (M1_K,), padding="SAME"), stax.Relu,
        stax.Flatten, stax.Dense(10), stax.LogSoftmax)


def _adam_update(api, np_, predict, optimizers, add_channel, donate=False):
    """(opt_init, get_params, update): one Adam step on `loss(params, batch)`, as in JAX's
    example_libraries examples (`update(i, opt_state, batch)` under jit); `donate`: the
    optimizer state is donated (`donate_argnums=1`, as JAX's documentation advises for a
    training state: its buffers are reused for the new state)."""
    opt_init, opt_update, get_params = optimizers.adam(ADAM_LR)

    def loss(params, batch):
        inputs, targets = batch
        if add_channel:
            inputs = inputs[..., None]
        return -np_.mean(np_.sum(predict(params, inputs) * targets, axis=1))

    def update(i, opt_state, batch):
        params = get_params(opt_state)
        value, grads = api.value_and_grad(loss)(params, batch)
        return opt_update(i, grads, opt_state), value
    return opt_init, get_params, api.jit(update, donate_argnums=(1,) if donate else ())


def _stax_adam_builders(model, in_shape, add_channel, donate=False):
    """The funcgrad and JAX builders of a stax model's jitted Adam step: `model(stax)` gives
    (init_fun, apply_fun); the data's parameters are checked against init_fun's shapes for
    inputs of `in_shape` (with a channel axis added to the batches when `add_channel`);
    `donate`: see `_adam_update`."""
    def jitted(api, np_, stax, optimizers, key, d):
        init_fun, predict = model(stax)
        check_stax_params(init_fun, key, in_shape, d["params"])
        opt_init, get_params, update = _adam_update(api, np_, predict, optimizers,
                                                    add_channel, donate)
        batches = [(x, y) for x, y, _ in d["batches"]]
        return jit_train_loop(api, update, opt_init(api.device_put(d["params"])),
                              get_params, batches)

    def funcgrad_builder(d):
        fg, fnp, _, _ = _fg()
        from funcgrad import optimizers, stax
        return jitted(fg, fnp, stax, optimizers, fg.random.PRNGKey(0), d)

    def jax_builder(d):
        jax, jnp, _, _ = _jax()
        from jax.example_libraries import optimizers, stax
        return jitted(jax, jnp, stax, optimizers, jax.random.PRNGKey(0), d)
    return funcgrad_builder, jax_builder


mnist1d_funcgrad, mnist1d_jax = _stax_adam_builders(_mnist1d_model, (M1_B, M1_L, 1), True)


def mnist1d_numpy(d):
    flat = [a for layer in d["params"] for a in layer]
    adam = NumpyAdam(flat, ADAM_LR)
    state = {"i": 0}
    pads = ((M1_K // 2, M1_K // 2),)

    def run():
        x, y, _ = d["batches"][state["i"] % len(d["batches"])]
        state["i"] += 1
        w1, b1, w2, b2, w3, b3 = adam.params
        a1, s1 = np_conv(x[..., None], w1, pads=pads)
        h1 = np.maximum(a1 + b1, 0)
        a2, s2 = np_conv(h1, w2, pads=pads)
        h2 = np.maximum(a2 + b2, 0)
        f = h2.reshape(h2.shape[0], -1)
        loss, dz = np_log_softmax_xent(f @ w3 + b3, y)
        da2 = (dz @ w3.T).reshape(h2.shape) * (h2 > 0)
        dh1, dw2 = np_conv_back(da2, w2, s2)
        da1 = dh1 * (h1 > 0)
        _, dw1 = np_conv_back(da1, w1, s1, need_dx=False)
        grads = [dw1, da1.sum(axis=(0, 1), keepdims=True), dw2,
                 da2.sum(axis=(0, 1), keepdims=True), f.T @ dz, dz.sum(0)]
        return adam.step(grads) + [loss]
    return run, _leaves_np


def mnist1d_torch(d):
    torch = _torch_threads()
    import torch.nn.functional as F
    from torch import nn
    C, K, L = M1_C, M1_K, M1_L
    model = nn.Sequential(
        nn.Unflatten(1, (1, L)),                     # (B, 40) -> (B, 1, 40)
        nn.Conv1d(1, C, K, padding=K // 2), nn.ReLU(),
        nn.Conv1d(C, C, K, padding=K // 2), nn.ReLU(),
        nn.Flatten(), nn.Linear(L * C, 10))
    (w1, b1), _, (w2, b2), _, _, (w3, b3), _ = d["params"]
    torch_load(torch, model.parameters(), [
        to_torch_filter(w1), b1.reshape(-1), to_torch_filter(w2), b2.reshape(-1),
        to_torch_dense_after_flatten(w3, (L,), C), b3])
    opt = torch.optim.Adam(model.parameters(), lr=ADAM_LR)

    def to_numpy_params(t):
        c1w, c1b, c2w, c2b, lw, lb = t
        return [from_torch_filter(c1w), c1b.reshape(1, 1, -1), from_torch_filter(c2w),
                c2b.reshape(1, 1, -1), from_torch_dense_after_flatten(lw, (L,), C), lb]
    batches = [(x, labels) for x, _, labels in d["batches"]]
    return torch_train_loop(torch, model, opt, F.cross_entropy, batches, to_numpy_params)


# ----------------------------------------------------------------------------- tiny_step

T_N, T_I, T_H, T_B = 640, 16, 32, 32


def tiny_data(quick):
    rng = _rng()
    labels = rng.integers(0, 10, T_N)
    means = rng.standard_normal((10, T_I))
    x = (means[labels] + 0.5 * rng.standard_normal((T_N, T_I))).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[labels]
    params = [(_uniform(rng, (T_I, T_H), 1 / np.sqrt(T_I)),
               _uniform(rng, (T_H,), 1 / np.sqrt(T_I))), (),
              (_uniform(rng, (T_H, 10), 1 / np.sqrt(T_H)),
               _uniform(rng, (10,), 1 / np.sqrt(T_H))), ()]
    return {"params": params, "batches": _batches(x, y, labels.astype(np.int64), T_B)}


def _tiny_model(stax):
    return stax.serial(stax.Dense(T_H), stax.Tanh, stax.Dense(10), stax.LogSoftmax)


tiny_funcgrad, tiny_jax = _stax_adam_builders(_tiny_model, (T_B, T_I), False)
tiny_donated_funcgrad, tiny_donated_jax = _stax_adam_builders(_tiny_model, (T_B, T_I), False,
                                                              donate=True)


def tiny_numpy(d):
    (w1, b1), _, (w2, b2), _ = d["params"]
    adam = NumpyAdam([w1, b1, w2, b2], ADAM_LR)
    state = {"i": 0}

    def run():
        x, y, _ = d["batches"][state["i"] % len(d["batches"])]
        state["i"] += 1
        w1, b1, w2, b2 = adam.params
        h = np.tanh(x @ w1 + b1)
        loss, dz = np_log_softmax_xent(h @ w2 + b2, y)
        da = (dz @ w2.T) * (1 - h * h)
        return adam.step([x.T @ da, da.sum(0), h.T @ dz, dz.sum(0)]) + [loss]
    return run, _leaves_np


def tiny_torch(d):
    torch = _torch_threads()
    import torch.nn.functional as F
    from torch import nn
    model = nn.Sequential(nn.Linear(T_I, T_H), nn.Tanh(), nn.Linear(T_H, 10))
    (w1, b1), _, (w2, b2), _ = d["params"]
    torch_load(torch, model.parameters(), [w1.T, b1, w2.T, b2])
    opt = torch.optim.Adam(model.parameters(), lr=ADAM_LR)

    def to_numpy_params(t):
        lw1, lb1, lw2, lb2 = t
        return [lw1.T, lb1, lw2.T, lb2]
    batches = [(x, labels) for x, _, labels in d["batches"]]
    return torch_train_loop(torch, model, opt, F.cross_entropy, batches, to_numpy_params)


# ----------------------------------------------------------------------------- gru_step

GRU_N, GRU_T, GRU_I, GRU_H, GRU_B = 1024, 28, 28, 128, 64


def gru_data(quick):
    """Synthetic 28x28 "images" (a per-class mean pattern plus noise), read row by row."""
    rng = _rng()
    means = rng.random((10, GRU_T, GRU_I))
    labels = rng.integers(0, 10, GRU_N)
    x = np.clip(means[labels] + 0.3 * rng.standard_normal((GRU_N, GRU_T, GRU_I)), 0, 1)
    x = x.astype(np.float32)
    y = np.eye(10, dtype=np.float32)[labels]
    H, k = GRU_H, 1 / np.sqrt(GRU_H)
    params = ((_uniform(rng, (GRU_I, 3 * H), k), _uniform(rng, (H, 3 * H), k),
               _uniform(rng, (3 * H,), k), _uniform(rng, (3 * H,), k)),
              (_uniform(rng, (H, 10), k), _uniform(rng, (10,), k)))
    return {"params": params, "batches": _batches(x, y, labels.astype(np.int64), GRU_B)}


def _gru_predict(np_, lax_, nn_):
    """Log-probabilities of a GRU classifier of (batch, time, features) inputs; the gates are
    PyTorch's (r, z, n) with separate input and hidden biases."""
    def predict(params, images):
        (wi, wh, bi, bh), (wo, bo) = params

        def cell(h, x):
            r_i, z_i, n_i = np_.split(x @ wi + bi, 3, axis=-1)
            r_h, z_h, n_h = np_.split(h @ wh + bh, 3, axis=-1)
            r = nn_.sigmoid(r_i + r_h)
            z = nn_.sigmoid(z_i + z_h)
            n = np_.tanh(n_i + r * n_h)
            return (1 - z) * n + z * h, None

        h0 = np_.zeros((images.shape[0], wh.shape[0]), images.dtype)
        h, _ = lax_.scan(cell, h0, np_.swapaxes(images, 0, 1))
        return nn_.log_softmax(h @ wo + bo)
    return predict


def _gru_jitted(api, np_, lax_, nn_, optimizers, d):
    predict = _gru_predict(np_, lax_, nn_)
    opt_init, get_params, update = _adam_update(api, np_, predict, optimizers, False)
    batches = [(x, y) for x, y, _ in d["batches"]]
    return jit_train_loop(api, update, opt_init(api.device_put(d["params"])),
                          get_params, batches)


def gru_funcgrad(d):
    fg, fnp, lax, nn = _fg()
    from funcgrad import optimizers
    return _gru_jitted(fg, fnp, lax, nn, optimizers, d)


def gru_jax(d):
    jax, jnp, lax, nn = _jax()
    from jax.example_libraries import optimizers
    return _gru_jitted(jax, jnp, lax, nn, optimizers, d)


def _sigmoid(x):
    return (1 / (1 + np.exp(-x))).astype(np.float32)


def gru_numpy(d):
    (wi, wh, bi, bh), (wo, bo) = d["params"]
    adam = NumpyAdam([wi, wh, bi, bh, wo, bo], ADAM_LR)
    state = {"i": 0}
    T, H = GRU_T, GRU_H

    def run():
        x, y, _ = d["batches"][state["i"] % len(d["batches"])]
        state["i"] += 1
        wi, wh, bi, bh, wo, bo = adam.params
        B = x.shape[0]
        xs = np.ascontiguousarray(x.transpose(1, 0, 2))            # (T, B, I)
        gi = (xs.reshape(T * B, -1) @ wi + bi).reshape(T, B, 3 * H)
        hs = np.zeros((T + 1, B, H), np.float32)
        r, z, n, hn = (np.empty((T, B, H), np.float32) for _ in range(4))
        for t in range(T):
            gh = hs[t] @ wh + bh
            r[t] = _sigmoid(gi[t, :, :H] + gh[:, :H])
            z[t] = _sigmoid(gi[t, :, H:2 * H] + gh[:, H:2 * H])
            hn[t] = gh[:, 2 * H:]
            n[t] = np.tanh(gi[t, :, 2 * H:] + r[t] * hn[t])
            hs[t + 1] = (1 - z[t]) * n[t] + z[t] * hs[t]
        loss, dlogits = np_log_softmax_xent(hs[T] @ wo + bo, y)
        dwo, dbo = hs[T].T @ dlogits, dlogits.sum(0)
        dh = dlogits @ wo.T
        dgi = np.empty((T, B, 3 * H), np.float32)
        dgh = np.empty((T, B, 3 * H), np.float32)
        for t in range(T - 1, -1, -1):
            dn = dh * (1 - z[t])
            dzt = dh * (hs[t] - n[t])
            dan = dn * (1 - n[t] * n[t])
            dar = dan * hn[t] * r[t] * (1 - r[t])
            daz = dzt * z[t] * (1 - z[t])
            dgi[t, :, :H], dgi[t, :, H:2 * H], dgi[t, :, 2 * H:] = dar, daz, dan
            dgh[t, :, :H], dgh[t, :, H:2 * H], dgh[t, :, 2 * H:] = dar, daz, dan * r[t]
            dh = dh * z[t] + dgh[t] @ wh.T
        dgi2, dgh2 = dgi.reshape(T * B, -1), dgh.reshape(T * B, -1)
        grads = [xs.reshape(T * B, -1).T @ dgi2, hs[:-1].reshape(T * B, H).T @ dgh2,
                 dgi2.sum(0), dgh2.sum(0), dwo, dbo]
        return adam.step(grads) + [loss]
    return run, _leaves_np


def gru_torch(d):
    torch = _torch_threads()
    import torch.nn.functional as F
    from torch import nn

    class GRUClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(GRU_I, GRU_H, batch_first=True)
            self.out = nn.Linear(GRU_H, 10)

        def forward(self, x):
            _, h = self.gru(x)
            return self.out(h[-1])

    model = GRUClassifier()
    (wi, wh, bi, bh), (wo, bo) = d["params"]
    torch_load(torch, model.parameters(), [wi.T, wh.T, bi, bh, wo.T, bo])
    opt = torch.optim.Adam(model.parameters(), lr=ADAM_LR)

    def to_numpy_params(t):
        w_ih, w_hh, b_ih, b_hh, w_out, b_out = t
        return [w_ih.T, w_hh.T, b_ih, b_hh, w_out.T, b_out]
    batches = [(x, labels) for x, _, labels in d["batches"]]
    return torch_train_loop(torch, model, opt, F.cross_entropy, batches, to_numpy_params)


WORKLOADS = {
    "mnist1d_step": Workload(
        "mnist1d_step", "MNIST-1D-sized 1-D CNN (conv32 k5, relu, conv32 k5, relu, dense10; "
        "input 40, batch 100), Adam step on a fresh NumPy batch", mnist1d_data,
        {"funcgrad": mnist1d_funcgrad, "numpy": mnist1d_numpy, "jax": mnist1d_jax,
         "torch": mnist1d_torch},
        tol=1e-3, stateful=True),
    "tiny_step": Workload(
        "tiny_step", "MLP 16-32-10 (tanh), batch 32, Adam step on a fresh NumPy batch: "
        "almost all per-call overhead", tiny_data,
        {"funcgrad": tiny_funcgrad, "numpy": tiny_numpy, "jax": tiny_jax, "torch": tiny_torch},
        tol=1e-3, stateful=True),
    "tiny_step_donated": Workload(
        "tiny_step_donated", "tiny_step with the optimizer state donated (`jit(update, "
        "donate_argnums=1)`, as JAX's documentation writes a training step)", tiny_data,
        {"funcgrad": tiny_donated_funcgrad, "numpy": tiny_numpy, "jax": tiny_donated_jax},
        tol=1e-3, stateful=True),
    "gru_step": Workload(
        "gru_step", "GRU (hidden 128) over 28 rows of 28, batch 64, lax.scan cell, Adam step "
        "on a fresh NumPy batch (PyTorch: nn.GRU)", gru_data,
        {"funcgrad": gru_funcgrad, "numpy": gru_numpy, "jax": gru_jax, "torch": gru_torch},
        tol=1e-3, stateful=True),
}
