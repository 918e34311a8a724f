"""Golden files of whole lowered programs, one per compiled backend (issue 10): what a reader
of `jit(f).lower(...).source` sees. A change to the lowering that changes the generated text
fails here; if it was intended, regenerate with FUNCGRAD_UPDATE_GOLDEN=1 and review the
diff (it is the diff of the code every user runs).

The OpenCL lowering sizes some kernels from the device (work-group size, vector width, the
matmul variant), so its golden program is a softmax cross-entropy gradient (maps and
reductions, no matmul or convolution) and is compared only on a CPU device with fp64 and
256-item work-groups (PoCL on any x86 or ARM machine)."""
from __future__ import annotations


import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn

import goldens
from goldens import check_golden

GOLDEN = goldens.ROOT / "programs"


def _check(name, text):
    check_golden(GOLDEN / name, text, f"the generated code of {name}")


def _mlp_step(p, x, y):
    def loss(p):
        h = nn.relu(x @ p[0] + p[1])
        return -fnp.mean(fnp.sum(nn.log_softmax(h @ p[2] + p[3]) * y, axis=1))
    return [w - 0.1 * g for w, g in zip(p, fg.grad(loss)(p))]


def _xent_grad(x, y):
    return fg.grad(lambda x: -fnp.mean(fnp.sum(nn.log_softmax(fnp.tanh(x) * 2.0) * y,
                                                axis=1)))(x)


def _data():
    r = np.random.default_rng(0)
    p = [r.standard_normal(s).astype(np.float32) for s in ((8, 16), (16,), (16, 4), (4,))]
    x = r.standard_normal((5, 8)).astype(np.float32)
    y = np.eye(4, dtype=np.float32)[[0, 1, 2, 3, 0]]
    return p, x, y


@pytest.mark.cbackend
def test_c_mlp_step_source():
    p, x, y = _data()
    low = fg.jit(_mlp_step, backend="c").lower(p, x, y)
    _check("mlp_step.c", low.source)
    got = fg.jit(_mlp_step, backend="c")(p, x, y)
    ref = fg.jit(_mlp_step, backend="reference")(p, x, y)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)


@pytest.mark.opencl
def test_opencl_softmax_xent_grad_source():
    opencl = pytest.importorskip("opencl")
    if not opencl.available():
        pytest.skip("no OpenCL platform")
    dev = opencl.resolve_device(None)
    if dev.is_gpu or not dev.has_fp64 or opencl.preferred_work_group_size(dev, 8) != 256:
        pytest.skip(f"the golden OpenCL program is for a CPU device with fp64 and 256-item "
                    f"work-groups, not {dev.name!r}")
    _, x, y = _data()
    x = np.ascontiguousarray(x[:, :4])
    low = fg.jit(_xent_grad, backend="opencl").lower(x, y)
    _check("softmax_xent_grad.cl", low.source)
    got = fg.jit(_xent_grad, backend="opencl")(x, y)
    ref = fg.jit(_xent_grad, backend="reference")(x, y)
    np.testing.assert_allclose(np.asarray(got), np.asarray(ref), rtol=1e-5, atol=1e-6)
