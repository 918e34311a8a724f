"""The OpenCL backend agrees with the reference backend (and the C backend for training).

Every test needs an OpenCL platform (PoCL is enough) except the one that simulates its
absence in a subprocess. Programs are built once and binary-cached, so reruns are fast.
"""
from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax, nn, stax

opencl = pytest.importorskip("opencl")

pytestmark = [pytest.mark.opencl,
              pytest.mark.skipif(not opencl.available(), reason="no OpenCL platform")]

ROOT = Path(__file__).resolve().parents[1]


def both(f, *args, rtol=1e-5, atol=1e-6, ref="reference"):
    """Run `f` jitted on OpenCL and on `ref`; compare leaf by leaf; return OpenCL leaves."""
    out = fg.jit(f, backend="opencl")(*args)
    exp = fg.jit(f, backend=ref)(*args)
    lo, le = fg.tree.tree_leaves(out), fg.tree.tree_leaves(exp)
    assert len(lo) == len(le)
    for a, b in zip(lo, le):
        assert a.backend == "opencl"
        assert isinstance(a._value, opencl.DeviceBuffer)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)
    return lo


def both_cases(cases, rtol, atol):
    """Like `both` for several `(name, f, args)` cases jitted together as one program (one
    PoCL build instead of one per case: a build has a fixed cost of its own, on top of its
    kernels'). Each case gets its own parameters, so nothing is shared between cases that
    would not be shared when it runs alone; a mismatch names its case. Returns each case's
    OpenCL leaves."""
    def together(*flat):
        outs, i = [], 0
        for _, f, args in cases:
            outs.append(f(*flat[i:i + len(args)]))
            i += len(args)
        return outs

    flat = [a for _, _, args in cases for a in args]
    out = fg.jit(together, backend="opencl")(*flat)
    exp = fg.jit(together, backend="reference")(*flat)
    got = []
    for (name, _, _), o, e in zip(cases, out, exp):
        lo, le = fg.tree.tree_leaves(o), fg.tree.tree_leaves(e)
        assert len(lo) == len(le), name
        for a, b in zip(lo, le):
            assert a.backend == "opencl", name
            assert isinstance(a._value, opencl.DeviceBuffer), name
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol,
                                       err_msg=name)
        got.append(lo)
    return got


def rnd(*shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed + len(shape)).standard_normal(shape).astype(dtype)


# --- elementwise, broadcasting, reductions ---------------------------------------------


def test_fused_elementwise_with_transcendentals_nan_inf():
    x = np.array([-3.0, -1.0, -0.5, 0.0, 0.25, 1.0, 2.0, 30.0, np.nan, np.inf, -np.inf],
                 np.float32)
    x = np.tile(x, (3, 1))

    def f(x):
        a = jnp.exp(x) * jnp.sin(x) + jnp.tanh(x) - jnp.log1p(jnp.abs(x))
        b = jnp.sqrt(jnp.abs(x)) / (1.0 + x * x) + nn.sigmoid(x) ** 3
        c = jnp.where(x > 0, jnp.log(x), jnp.cos(x)) + jnp.maximum(x, 0.5) - jnp.minimum(x, 0)
        return a, b, c, jnp.isfinite(x), jnp.floor(jnp.clip(x, -9, 9) * 2.5).astype(jnp.int32)

    with np.errstate(all="ignore"):
        both(f, x, rtol=2e-5, atol=1e-6)


def test_broadcasting_and_integer_ops():
    x, y, z = rnd(3, 1, 5), rnd(4, 1), rnd(5)
    i = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    both_cases([("broadcast", lambda x, y, z: x + y * z - 2.0, (x, y, z)),
                ("int32", lambda i: (i // 3, i % 5, i * i - 7, jnp.abs(i), i << 2), (i,))],
               rtol=1e-5, atol=1e-6)


def test_reductions_over_axes():
    x = rnd(6, 7, 9)
    x[2, 3, 4] = np.nan

    def f(x):
        y = jnp.where(jnp.isnan(x), 0.0, x)
        return (jnp.sum(y, axis=0), jnp.sum(y, axis=(0, 2)), jnp.sum(y * 2, axis=2),
                jnp.max(x, axis=1), jnp.min(y, axis=(1, 2)), jnp.max(y), jnp.mean(y, axis=1),
                jnp.prod(y[:2, :2] + 1.5, axis=-1), jnp.max(x, axis=0))

    both(f, x, rtol=1e-5, atol=1e-5)


def test_full_sum_of_a_million_float32_is_accurate():
    x = (np.random.default_rng(3).random(1_000_000) + 0.5).astype(np.float32)
    out = fg.jit(lambda v: (jnp.sum(v), jnp.max(v)), backend="opencl")(x)
    exact = np.sum(x.astype(np.float64))
    assert abs(float(out[0]) - exact) <= 1e-5 * abs(exact)
    assert float(out[1]) == x.max()


def test_long_reductions_with_few_outputs():
    """Few outputs of long reductions: chunked on CPU devices, a local-memory tree on GPUs;
    leading, trailing and middle axes, fused operands, sum/max/min in float32 and int32."""
    x = rnd(9000, 3)
    y = rnd(40, 600, 5, seed=2)
    i = np.arange(-30000, 30000, dtype=np.int32).reshape(-1, 2) % 977

    def f(x, y, i):
        return (jnp.sum(x, axis=0), jnp.max(x * 2 + 1, axis=0), jnp.min(x, axis=0),
                jnp.sum(jnp.exp(y * 0.1), axis=(0, 1)), jnp.max(y, axis=(0, 1)),
                jnp.sum(y, axis=1)[:2], jnp.sum(x.T, axis=1), jnp.sum(i, axis=0),
                jnp.max(i, axis=0))

    both(f, x, y, i, rtol=1e-5, atol=1e-4)


# --- row groups: a softmax's reductions and maps as one kernel, one work item per row -----


def _layer_norm(a):
    m = jnp.mean(a, axis=-1, keepdims=True)
    return (a - m) / jnp.sqrt(jnp.var(a, axis=-1, keepdims=True) + 1e-5)


def _xent_grad(x, y):
    return fg.grad(lambda x: -jnp.mean(jnp.sum(nn.log_softmax(jnp.tanh(x) * 2.0) * y,
                                               axis=1)))(x)


def _kernels(f, *args):
    return fg.jit(f, backend="opencl").lower(*args).source.count("__kernel")


def test_softmax_is_one_row_kernel():
    """A softmax (row max, exp, row sum, divide) is one kernel over the rows; before row
    groups it was four."""
    x = rnd(37, 300)
    src = fg.jit(nn.softmax, backend="opencl").lower(x).source
    assert src.count("__kernel") == 1 and "rows of reduce_max" in src
    assert _kernels(nn.log_softmax, x) == 1 and _kernels(_layer_norm, x) == 1
    y = np.eye(10, dtype=np.float32)[np.arange(37) % 10]
    assert _kernels(_xent_grad, rnd(37, 10), y) == 1
    # A consumer that reads another row's reduction cannot share the row loop.
    g = lambda a: a - jnp.max(a, axis=1)[::-1][:, None]  # noqa: E731
    assert "rows of" not in fg.jit(g, backend="opencl").lower(x).source
    both(g, x)


def test_row_groups_match_the_reference():
    """Row-fused programs against the reference: row counts and lengths that are not
    multiples of the work-group size, rows of length 1, 0 rows, NaN and -inf rows, float64
    and float16, and the softmax cross-entropy gradient."""
    x = rnd(257, 300)
    x[3, 5] = np.nan
    x[7, :] = -np.inf
    y = np.eye(10, dtype=np.float32)[np.arange(37) % 10]
    cases = []
    for name, a in (("257x300", x), ("37x1", rnd(37, 1)), ("0x5", rnd(0, 5)),
                    ("2x3x5", rnd(2, 3, 5)), ("f64", rnd(33, 17, dtype=np.float64))):
        cases += [(f"softmax {name}", nn.softmax, (a,)),
                  (f"log_softmax {name}", nn.log_softmax, (a,)),
                  (f"layer_norm {name}", _layer_norm, (a,))]
    cases += [("xent grad 37x10", _xent_grad, (rnd(37, 10), y)),
              ("xent grad 37x1", _xent_grad, (rnd(37, 1), np.ones((37, 1), np.float32)))]
    with np.errstate(all="ignore"):
        both_cases(cases, rtol=1e-5, atol=1e-6)
    h = rnd(19, 33).astype(np.float16)
    both(nn.log_softmax, h, rtol=2e-3, atol=2e-3)
    # each case alone is one row kernel where it has at least two rows
    assert _kernels(nn.softmax, x) == 1 and _kernels(nn.softmax, rnd(37, 1)) == 1
    assert _kernels(nn.log_softmax, h) == 1


def test_few_long_rows_keep_their_split_reductions():
    """A reduction that is split over work items (few outputs, long rows) does not join a
    row group: one work item per row would leave the device idle."""
    x = rnd(3, 20000)
    src = fg.jit(nn.softmax, backend="opencl").lower(x).source
    assert "rows of" not in src and ("reduce_chunks" in src or "reduce_tree" in src)
    both(nn.softmax, x)


# --- matmul, convolution, pooling -------------------------------------------------------


@pytest.fixture(params=["vec", "rows", "tiled"])
def matmul_variant(request, monkeypatch):
    """Every matmul kernel: "vec" (vector-type register blocks, the CPU default), "rows"
    (the driver vectorises across work items) and "tiled" (local memory, the GPU
    default)."""
    monkeypatch.setenv("FUNCGRAD_OPENCL_MATMUL", request.param)
    return request.param


def test_matmul_plain_batched_transposed(matmul_variant):
    a, b = rnd(37, 29), rnd(29, 41)
    p, q = rnd(3, 17, 5), rnd(3, 5, 19)
    both_cases([
        ("300x70 @ 70x270", lambda a, b: a @ b, (rnd(300, 70), rnd(70, 270))),
        ("a.T @ b", lambda a, b: a.T @ b, (rnd(40, 100), rnd(40, 90))),
        ("37x29 @ 29x41", lambda a, b: a @ b, (a, b)),
        ("a.T @ a + b @ b.T", lambda a, b: a.T @ a + (b @ b.T)[:29, :29], (a, b)),
        ("batched matmul", lambda p, q: jnp.matmul(p, q), (p, q)),
        ("batched einsums", lambda p, q: (jnp.einsum("bki,bkj->bij", q, q),
                                          jnp.einsum("bij,jb->bi", p, p[:, 0, :].T)), (p, q)),
        ("einsum ijk,kjl->il", lambda p: jnp.einsum("ijk,kjl->il", p, p.transpose(2, 1, 0)),
         (p,)),
    ], rtol=1e-4, atol=1e-4)


ODD_SIZES = [(1, 1, 1), (7, 3, 5), (8, 16, 32), (9, 17, 33), (37, 29, 48), (65, 130, 16),
             (130, 70, 784 // 7), (300, 5, 10), (513, 64, 96)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vec_matmul_odd_sizes(monkeypatch, dtype, request):
    """The CPU vector kernel over sizes that are not multiples of its blocks (rows past M,
    panels past N, N not a multiple of the vector width), in float32 and float64; every
    size is its own matmul of one program."""
    dev = opencl.default_device()
    if dtype == np.float64:
        if not dev.has_fp64:
            pytest.skip("device lacks cl_khr_fp64")
        request.getfixturevalue("x64")
    monkeypatch.setenv("FUNCGRAD_OPENCL_MATMUL", "vec")
    args = [(rnd(m, k, dtype=dtype), rnd(k, n, seed=1, dtype=dtype)) for m, k, n in ODD_SIZES]
    tol = 1e-4 if dtype == np.float32 else 1e-10
    outs = both_cases([(f"{m}x{k} @ {k}x{n}", lambda a, b: a @ b, ab)
                       for (m, k, n), ab in zip(ODD_SIZES, args)], rtol=tol, atol=tol)
    for (m, k, n), (a, b), out in zip(ODD_SIZES, args, outs):
        assert out[0].dtype == dtype, (m, k, n)
        np.testing.assert_allclose(np.asarray(out[0]), a @ b, rtol=tol, atol=tol,
                                   err_msg=f"{m}x{k} @ {k}x{n}")


@pytest.mark.parametrize("width", [4, 8])
def test_vec_matmul_narrower_vectors(monkeypatch, width):
    """Devices with AVX2/SSE-width vectors get smaller register blocks; same results."""
    monkeypatch.setenv("FUNCGRAD_OPENCL_MATMUL", "vec")
    monkeypatch.setattr(opencl.default_device(), "vector_width_float", width)
    a, b = rnd(45, 70), rnd(70, 50, seed=2)
    both(lambda a, b: (a @ b, a @ b[:, :48], (a.T[:, :9]).T @ b), a, b, rtol=1e-4,
         atol=1e-4)


def test_vec_matmul_transposed_and_batched(monkeypatch):
    monkeypatch.setenv("FUNCGRAD_OPENCL_MATMUL", "vec")
    a, b = rnd(45, 70), rnd(70, 50, seed=2)
    p, q = rnd(5, 19, 23), rnd(5, 23, 40, seed=3)
    both_cases([
        ("transposed", lambda a, b: (a.T.T @ b, (b.T @ a.T).T, a @ a.T, b.T @ b), (a, b)),
        ("batched", lambda p, q: (jnp.matmul(p, q), jnp.einsum("bij,bkj->bik", p, p),
                                  jnp.einsum("bki,bkj->bij", q, q)), (p, q)),
    ], rtol=1e-4, atol=1e-4)


CONVS = [
    (("NHWC", "HWIO", "NHWC"), (1, 1), "SAME"),
    (("NHWC", "HWIO", "NHWC"), (2, 2), "VALID"),
    (("NCHW", "OIHW", "NCHW"), (2, 1), "SAME"),
    (("NCHW", "OIHW", "NCHW"), (1, 1), "VALID"),
]


def test_conv(matmul_variant):
    """Each layout, stride and padding of CONVS with each matmul kernel (one program per
    kernel, a convolution per case)."""
    cases = []
    for dn, strides, padding in CONVS:
        if dn[0] == "NHWC":
            x, w = rnd(2, 9, 8, 3), rnd(3, 3, 3, 4, seed=1)
        else:
            x, w = rnd(2, 3, 9, 8), rnd(4, 3, 3, 3, seed=1)
        cases.append((f"{dn[0]} strides {strides} {padding}",
                      lambda x, w, dn=dn, s=strides, p=padding: lax.conv_general_dilated(
                          x, w, s, p, dimension_numbers=dn), (x, w)))
    both_cases(cases, rtol=1e-4, atol=1e-4)


def test_pooling_and_its_gradient():
    x = rnd(2, 8, 8, 3)
    _, apply_max = stax.MaxPool((2, 2), strides=(2, 2))
    _, apply_avg = stax.AvgPool((3, 3), strides=(2, 2), padding="SAME")
    both_cases([
        ("pools", lambda x: (apply_max((), x), apply_avg((), x),
                             lax.reduce_window(x, "max", (1, 3, 3, 1), (1, 2, 2, 1), "SAME")),
         (x,)),
        ("gradient", fg.grad(lambda x: jnp.sum(apply_max((), x) ** 2) + jnp.sum(
            lax.reduce_window(x, "max", (1, 3, 3, 1), (1, 2, 2, 1), "SAME"))), (x,)),
    ], rtol=1e-5, atol=1e-5)


def test_pooling_layouts_and_gradients():
    """Windows over the trailing axis (NCHW) and not (NHWC, channels looped in a work
    item), with padding, and the max-pool gradient's scatter in both layouts."""
    x = rnd(2, 3, 9, 8)
    y = rnd(2, 9, 8, 5, seed=1)

    def f(x, y):
        a = lax.reduce_window(x, "max", (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
        b = lax.reduce_window(x, "sum", (1, 1, 3, 3), (1, 1, 2, 1), "SAME")
        d = lax.reduce_window(y, "min", (1, 3, 2, 1), (1, 2, 2, 1), "SAME")
        return a, b, d

    g = fg.grad(lambda x, y: jnp.sum(
        lax.reduce_window(x, "max", (1, 1, 2, 2), (1, 1, 2, 2), "VALID") ** 2) + jnp.sum(
        lax.reduce_window(y, "max", (1, 2, 2, 1), (1, 2, 2, 1), "VALID") * 3), argnums=(0, 1))
    both_cases([("windows", f, (x, y)), ("max-pool gradients", g, (x, y))],
               rtol=1e-5, atol=1e-5)


def test_gather_and_indexing():
    x = rnd(10, 6)
    idx = np.array([3, 0, 9, 3], np.int32)
    both(lambda x, i: (x[i], x[:, 1:5:2], x[::-1, -1], jnp.take(x, i, axis=1),
                       x.at[i].add(1.0), jnp.concatenate([x, x[:2]], 0),
                       jnp.pad(x, ((1, 0), (0, 2)))), x, idx)


def test_scan_rnn():
    wx, wh, xs, h0 = rnd(4, 8), rnd(8, 8, seed=1) * 0.3, rnd(5, 3, 4, seed=2), rnd(3, 8)

    def rnn(wx, wh, xs, h0):
        def step(h, x):
            h = jnp.tanh(x @ wx + h @ wh)
            return h, jnp.sum(h, axis=1)
        return lax.scan(step, h0, xs)

    both(rnn, wx, wh, xs, h0, rtol=1e-4, atol=1e-5)
    both(fg.grad(lambda wh: jnp.sum(rnn(wx, wh, xs, h0)[1] ** 2)), wh, rtol=1e-4, atol=1e-4)
    both_cases([("fori_loop", lambda x: lax.fori_loop(0, 4, lambda i, v: v * 0.5 + i, x), (h0,)),
                ("cond", lambda x: lax.cond(jnp.sum(x) > 0, jnp.sin, jnp.cos, x), (h0,))],
               rtol=1e-5, atol=1e-6)


def _step_kinds(f, *args):
    from funcgrad.backends import get_backend
    low = fg.jit(f, backend="opencl").lower(*args)
    exe = get_backend("opencl").executable(low.program, None, low.name)
    return [k for k, *_ in exe.steps]


def test_scan_runs_as_a_device_loop():
    """A scan whose body is kernels runs as one step of its program that enqueues the body's
    kernels per iteration (x_i and y_i addressed in the stacked arrays): forward and
    reverse, several carries, ys that are the old or new carry or the x itself (copied),
    integer carries, length 1, and scans that keep the host loop (a literal carry, a body
    with a host step, a nested scan)."""
    wx, wh, xs, h0 = rnd(4, 8), rnd(8, 8, seed=1) * 0.3, rnd(7, 3, 4, seed=2), rnd(3, 8)

    def rnn(wx, wh, xs, h0, reverse=False):
        def step(h, x):
            h = jnp.tanh(x @ wx + h @ wh)
            return h, jnp.sum(nn.softmax(h), axis=1)
        return lax.scan(step, h0, xs, reverse=reverse)

    def several(xs, h0):
        def step(c, x):
            h, n, acc = c
            new = h * 0.9 + jnp.sum(x) * 0.1
            return (new, n + 1, acc + x[0]), (h, new, x, n)
        return lax.scan(step, (h0, jnp.int32(0), jnp.zeros(4, jnp.float32)), xs)

    assert "scan" in _step_kinds(rnn, wx, wh, xs, h0) and \
        "host" not in _step_kinds(rnn, wx, wh, xs, h0)
    assert "scan" in _step_kinds(several, xs, h0) and "host" not in _step_kinds(several, xs, h0)
    both_cases([("rnn", rnn, (wx, wh, xs, h0)),
                ("rnn reverse", lambda *a: rnn(*a, reverse=True), (wx, wh, xs, h0)),
                ("several", several, (xs, h0)),
                ("length 1", several, (xs[:1], h0)),
                ("grad", fg.grad(lambda wh: jnp.sum(rnn(wx, wh, xs, h0)[1] ** 2)), (wh,))],
               rtol=1e-4, atol=1e-5)

    def host_body(xs):   # sort has no device lowering: the body keeps the host loop
        return lax.scan(lambda c, x: (c + jnp.sort(x)[0], c), jnp.float32(0), xs[:, 0])

    def nested(xs, h0):   # the outer body holds a scan; the inner one is a device loop
        def step(h, x):
            h2, ys = lax.scan(lambda g, r: (g * 0.5 + r[0], g), h, x)
            return h2, ys
        return lax.scan(step, h0, xs)

    assert "host" in _step_kinds(host_body, xs)
    both_cases([("host body", host_body, (xs,)), ("nested", nested, (xs, h0[0]))],
               rtol=1e-5, atol=1e-6)


def test_cond_branch_returning_one_value_twice():
    """Fuzzer finding (2026-12-01 00:39 #2, reduced): a cond branch that returns one value
    as two outputs hands back one DeviceBuffer for both; the first output's last use
    released it while the second was still to be read ("DeviceBuffer(2, 3) float32 was
    released"). The same for a while loop whose body returns one value as two carries."""
    def f(x):
        a, b = lax.cond(jnp.sum(x) > 0, lambda x: (jnp.sin(x),) * 2,
                        lambda x: (jnp.cos(x),) * 2, x)
        c = jnp.sum(a)                                  # the last use of a
        return lax.cond(c > 0, jnp.tanh, jnp.exp, b)    # b is read after it

    def g(x):
        a, b = lax.fori_loop(0, 2, lambda i, ab: (jnp.sin(ab[0]),) * 2, (x, x + 1.0))
        return lax.cond(jnp.sum(a) > 0, jnp.tanh, jnp.exp, b)

    x = np.arange(6, dtype=np.float32).reshape(2, 3) / 7
    both_cases([("cond", f, (x,)), ("fori_loop", g, (x,))], rtol=1e-5, atol=1e-6)


# --- gradients and training -------------------------------------------------------------


def _mlp_init(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((m, n)).astype(np.float32) / np.sqrt(m),
             np.zeros(n, np.float32)) for m, n in itertools.pairwise(sizes)]


def _mlp_loss(params, x, y):
    h = x
    for w, b in params[:-1]:
        h = nn.relu(h @ w + b)
    w, b = params[-1]
    logits = h @ w + b
    return -jnp.mean(jnp.sum(nn.log_softmax(logits) * y, axis=1))


def _data(n=32, d=12, k=4, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype(np.float32)
    y = np.eye(k, dtype=np.float32)[rng.integers(0, k, n)]
    return x, y


def test_grad_of_mlp_loss():
    params = _mlp_init([12, 16, 4])
    x, y = _data()
    both(fg.grad(_mlp_loss), params, x, y, rtol=1e-4, atol=1e-5)


def test_jitted_training_step_matches_c_backend():
    params = _mlp_init([12, 16, 16, 4])
    x, y = _data()

    def step(params, x, y):
        loss, g = fg.value_and_grad(_mlp_loss)(params, x, y)
        return [(w - 0.1 * gw, b - 0.1 * gb) for (w, b), (gw, gb) in zip(params, g)], loss

    results = {}
    for name in ("opencl", "c"):
        f = fg.jit(step, backend=name)
        p = params
        losses = []
        for _ in range(8):
            p, loss = f(p, x, y)
            losses.append(float(loss))
        results[name] = (p, losses)
    p_ocl, losses = results["opencl"]
    assert losses[-1] < losses[0]
    np.testing.assert_allclose(losses, results["c"][1], rtol=1e-4)
    for a, b in zip(fg.tree.tree_leaves(p_ocl), fg.tree.tree_leaves(results["c"][0])):
        assert isinstance(a._value, opencl.DeviceBuffer)   # params stayed on the device
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=1e-5)


# --- placement and transfers -------------------------------------------------------------


def test_device_put_round_trip_and_devices():
    devs = fg.devices("opencl")
    assert devs and devs[0].platform == "opencl"
    x = rnd(5, 3)
    d = fg.device_put(x, devs[0])
    assert d.backend == "opencl" and isinstance(d._value, opencl.DeviceBuffer)
    assert d.shape == (5, 3) and d.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(d), x)
    tree = fg.device_put({"a": x, "b": [1.5, np.arange(3)]}, "opencl")
    assert all(leaf.backend == "opencl" for leaf in fg.tree.tree_leaves(tree))
    np.testing.assert_array_equal(np.asarray(tree["b"][1]), np.arange(3))
    assert fg.device_put(d, devs[0]) is d
    # a scalar stays 0-d on the device (np.ascontiguousarray made its buffer 1-d: np.asarray
    # of it had shape (1,)), and a Python scalar stays weakly typed, as JAX's
    for v in (1.5, np.float32(1.5), jnp.asarray(1.5)):
        s = fg.device_put(v, "opencl")
        assert s.shape == () and np.asarray(s).shape == () and float(s) == 1.5, v
    assert fg.device_put(1.5, "opencl").weak_type
    assert (jnp.ones(2, jnp.float16) + fg.device_put(1.0, "opencl")).dtype == np.float16


def test_buffers_stay_on_device_between_jitted_calls():
    f = fg.jit(lambda a, b: (a * 2 + b, jnp.sum(a)), backend="opencl")
    a = fg.device_put(rnd(64), "opencl")
    b = rnd(64)
    before = opencl.pool_stats(a._value.device)
    for _ in range(3):
        a, s = f(a, b)
        assert isinstance(a._value, opencl.DeviceBuffer)
        assert isinstance(s._value, opencl.DeviceBuffer)
    after = opencl.pool_stats(a._value.device)
    assert after.reuses > before.reuses
    np.testing.assert_allclose(np.asarray(a), rnd(64) * 8 + b * 7, rtol=1e-5)


def test_mixed_host_and_device_inputs_eager_and_jit():
    d = fg.device_put(rnd(4, 5), "opencl")
    h = rnd(4, 5, seed=5)
    ref = rnd(4, 5) + h * 2.0
    e = d + h * 2.0       # host product (default backend), then added on the device
    assert e.backend == "opencl"
    np.testing.assert_allclose(np.asarray(e), ref, rtol=1e-6)
    j = fg.jit(lambda a, b, c: a + b * c, backend="opencl")(d, h, 2.0)
    np.testing.assert_allclose(np.asarray(j), ref, rtol=1e-6)
    s = jnp.sum(jnp.exp(d), axis=0)   # eager ops on device arrays
    assert s.backend == "opencl"
    np.testing.assert_allclose(np.asarray(s), np.exp(rnd(4, 5)).sum(0), rtol=1e-5)


def test_missing_platform_gives_clear_error(tmp_path):
    empty = tmp_path / "vendors"
    empty.mkdir()
    code = textwrap.dedent("""
        import numpy as np
        import funcgrad as fg
        print("imported")
        try:
            fg.jit(lambda x: x + 1, backend="opencl")(np.ones(3, np.float32))
        except Exception as err:
            print(type(err).__name__, "|", err)
    """)
    env = dict(os.environ, OCL_ICD_VENDORS=str(empty), OPENCL_VENDOR_PATH=str(empty))
    res = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True,
                         text=True, env=env, cwd=ROOT, timeout=120)
    assert "imported" in res.stdout, res.stderr
    assert "OpenCLUnavailableError" in res.stdout, res.stdout + res.stderr
    assert "pocl-opencl-icd" in res.stdout


@pytest.mark.parametrize("fn", ["ceil", "floor", "trunc", "rint", "round", "exp", "exp2",
                                "expm1", "sinh", "tanh"])
def test_a_nan_known_when_the_kernel_compiles_is_stored(fn):
    """PoCL folds these builtins of a NaN known at compile time into nothing and dropped
    the store: with a mean over a zero-length axis (0 / 0 once the empty loops fold), the
    output kept whatever the pooled buffer held (stale integers; fuzz seed 20261943)."""
    f = getattr(jnp, fn)
    stale = fg.jit(lambda x: x.astype(jnp.float32) * 3.0 + 7.0, backend="opencl")
    for _ in range(3):      # leave non-NaN data in pooled buffers of the output's size
        stale(np.arange(5, dtype=np.int32)).block_until_ready()
    out = fg.jit(lambda e: f(jnp.mean(e, axis=1)), backend="opencl")(
        np.zeros((5, 0), np.float32))
    assert np.all(np.isnan(np.asarray(out))), np.asarray(out)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_saturates_to_one(dtype, request):
    """PoCL's float tanh gave 0.99999994 for every x >= 9.011 (correctly rounded: 1), so
    the gradient 1 - tanh^2 of a saturated tanh was 1.2e-7 instead of 0: times sec^2 of
    a tan near pi/2, arctanh(0.875 * tanh(|tan x|)) had a wrong gradient (fuzz seed 88)."""
    if dtype == np.float64 and not opencl.default_device().has_fp64:
        pytest.skip("no fp64 on this device")
    if dtype == np.float64:
        request.getfixturevalue("x64")
    x = np.concatenate([np.linspace(-40, 40, 4001), [np.inf, -np.inf, np.nan, -0.0]])
    x = x.astype(dtype)
    y = np.asarray(fg.jit(jnp.tanh, backend="opencl")(x))
    exact = np.tanh(x.astype(np.float64)).astype(dtype)
    ulps = np.abs(y.view(np.int32 if dtype == np.float32 else np.int64).astype(np.int64) -
                  exact.view(np.int32 if dtype == np.float32 else np.int64))
    assert np.array_equal(np.isnan(y), np.isnan(exact))
    assert np.all(y[np.abs(x) > 20] == np.sign(x[np.abs(x) > 20]))
    assert ulps[~np.isnan(x)].max() <= 4
    if dtype == np.float32:
        xs = np.array([1.5667636, 1.5735584, 1.583978, 1.4546951, 0.3, -1.2], dtype)

        def loss(x):
            return jnp.sum(jnp.arctanh(jnp.tanh(jnp.abs(jnp.tan(x))) * 0.875))
        g = np.asarray(fg.jit(fg.grad(loss), backend="opencl")(xs))
        ref = np.asarray(fg.jit(fg.grad(loss), backend="reference")(xs))
        np.testing.assert_allclose(g, ref, rtol=1e-3, atol=1e-4)


def _erf(v, complement=False):
    import math
    f = np.frompyfunc(math.erfc if complement else math.erf, 1, 1)
    return f(v).astype(np.float64)


# (funcgrad function, float64 reference): the device's math library against correctly
# rounded float32 values
_UNARY_ULPS = {
    "exp": (jnp.exp, np.exp), "expm1": (jnp.expm1, np.expm1), "log": (jnp.log, np.log),
    "log1p": (jnp.log1p, np.log1p), "log2": (jnp.log2, np.log2), "log10": (jnp.log10, np.log10),
    "exp2": (jnp.exp2, np.exp2), "sinh": (jnp.sinh, np.sinh), "cosh": (jnp.cosh, np.cosh),
    "tanh": (jnp.tanh, np.tanh), "sin": (jnp.sin, np.sin), "cos": (jnp.cos, np.cos),
    "tan": (jnp.tan, np.tan), "arctan": (jnp.arctan, np.arctan),
    "arcsinh": (jnp.arcsinh, np.arcsinh), "arccosh": (jnp.arccosh, np.arccosh),
    "arctanh": (jnp.arctanh, np.arctanh), "sqrt": (jnp.sqrt, np.sqrt),
    "cbrt": (jnp.cbrt, np.cbrt), "rsqrt": (lax.rsqrt, lambda v: 1 / np.sqrt(v)),
    "erf": (lax.erf, _erf), "erfc": (lax.erfc, lambda v: _erf(v, True)),
    "sigmoid": (nn.sigmoid, lambda v: 1 / (1 + np.exp(-v))),
    "softplus": (nn.softplus, lambda v: np.logaddexp(0.0, v)),
}


@pytest.mark.parametrize("name", sorted(_UNARY_ULPS))
def test_unary_math_within_a_few_ulps(name):
    """Every unary function on the device within 4 ulps of the correctly rounded float32
    value over [-100, 100] and the special values, in the same class (NaN, +-inf), and
    exactly +-1 or 0 where that is the correctly rounded value (derivatives computed from
    the output, 1 - tanh^2 and s(1 - s), are 0 only then: see test_tanh_saturates_to_one)."""
    f, ref = _UNARY_ULPS[name]
    x = np.concatenate([np.linspace(-100, 100, 8001), np.linspace(-10, 10, 8001),
                        [0.0, -0.0, np.inf, -np.inf, np.nan, 88.7, 89.0, -87.0, -104.0,
                         1e-30, -1e-30, 1e30, -1e30, 0.5, -0.5, 1.0, -1.0]]).astype(np.float32)
    with np.errstate(all="ignore"):
        exact = ref(x.astype(np.float64)).astype(np.float32)
    y = np.asarray(fg.jit(f, backend="opencl")(x))
    assert np.array_equal(np.isnan(y), np.isnan(exact)), x[np.isnan(y) != np.isnan(exact)][:5]
    inf = np.isinf(exact) | np.isinf(y)
    assert np.array_equal(y[inf], exact[inf]), x[inf][y[inf] != exact[inf]][:5]
    fin = np.isfinite(exact) & np.isfinite(y)

    def ordered(a):   # float bits as integers that order like the floats
        i = a.view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)
    ulps = np.abs(ordered(y[fin]) - ordered(exact[fin]))
    assert ulps.max() <= 4, (x[fin][np.argmax(ulps)], ulps.max())
    if name in ("tanh", "sigmoid", "erf", "erfc"):
        sat = (np.abs(exact) == 1) | (exact == 0)
        assert np.array_equal(y[sat], exact[sat]), x[sat][y[sat] != exact[sat]][:5]


def test_map_group_is_one_kernel_and_falls_back_when_a_member_reads_elsewhere():
    def adam(p, m, v, g):
        m2 = 0.9 * m + 0.1 * g
        v2 = 0.999 * v + 0.001 * g * g
        return p - 0.01 * m2 / (jnp.sqrt(v2) + 1e-8), m2, v2
    r = np.random.default_rng(3)
    args = [r.standard_normal((33, 17)).astype(np.float32) for _ in range(4)]
    args[2] = np.abs(args[2])
    both(adam, *args)
    src = fg.jit(adam, backend="opencl").lower(*args).source
    assert src.count("__kernel") == 1, src

    def shifted(x):
        a = jnp.sin(x) * 3.0
        return a, a.T * 2.0 + x, x > a
    both(shifted, r.standard_normal((16, 16)).astype(np.float32))


def test_placement_api_of_an_opencl_array():
    """x.devices(), x.is_ready(), x.copy_to_host_async() (JAX's Array API) on a device
    array: the device is the OpenCL one, readiness asks the queue, the async copy is read
    back by np.asarray, and the buffer has no host address."""
    dev = fg.devices("opencl")[0]
    n = 1 << 20
    x = fg.device_put(np.arange(n, dtype=np.float32), dev)
    assert x.devices() == {dev} and x.sharding.device_set == {dev}
    f = fg.jit(lambda a: jnp.sin(a) * 3 + 1, backend="opencl")
    y = f(x)
    assert y.device == dev
    y.block_until_ready()
    assert y.is_ready()
    y = f(x)
    deadline = time.monotonic() + 30
    while not y.is_ready():           # polling ends without a wait (one marker, kept)
        assert time.monotonic() < deadline, "is_ready() never turned true"
        time.sleep(1e-3)
    want = np.sin(np.arange(n, dtype=np.float32)) * 3 + 1
    y = f(x)
    y.copy_to_host_async()
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-5, atol=1e-5)
    assert float(y[1]) == pytest.approx(want[1], rel=1e-6)
    assert y.is_ready()
    with pytest.raises(NotImplementedError, match="OpenCL buffer"):
        y.unsafe_buffer_pointer()
    z = y.to_device("c")
    assert z.device.platform == "c"
    np.testing.assert_allclose(np.asarray(z), want, rtol=1e-5, atol=1e-5)
    y.delete()
    with pytest.raises(RuntimeError, match="deleted"):
        np.asarray(y)


def test_a_row_group_reading_a_padded_value_builds_on_opencl():
    # The C dialect chooses a padded cell by blending its bits (`bsel_f32`, which uses
    # __builtin_memcpy); the row groups OpenCL borrows from the C lowering used the C
    # emitter, and the kernel did not build (fuzz seed 20262001)
    def f(x, v):
        w = jnp.pad(v, (0, 3))[:, None]
        e = jnp.exp(x - jnp.max(x, axis=1, keepdims=True)) * w
        return e / jnp.sum(e, axis=1, keepdims=True), jnp.sum(e * w, axis=1)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((8, 16)).astype(np.float32)
    v = rng.standard_normal(5).astype(np.float32)
    both(f, x, v)
    src = fg.jit(f, backend="opencl").lower(x, v).source
    assert "bsel_" not in src.split("__kernel", 1)[1]
