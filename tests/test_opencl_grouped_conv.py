"""Grouped convolutions on OpenCL agree with the reference backend.

The OpenCL convolution once ignored feature_group_count and batch_group_count (its im2col
read C input channels where the filter holds C / groups, and the batch of a batch-grouped
convolution as the output's), so grouped and depthwise convolutions, and the gradients of
any grouped convolution (whose filter transpose is batch-grouped), came out wrong or read
past their buffers. PoCL takes many seconds to build a program, so every case runs in one
program: the forward values are the aux output of one `value_and_grad`.
"""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

opencl = pytest.importorskip("opencl")

pytestmark = [pytest.mark.opencl,
              pytest.mark.skipif(not opencl.available(), reason="no OpenCL platform")]

# (x shape, w shape, keyword arguments of conv_general_dilated)
CASES = {
    "nhwc_groups2_strided_dilated": (
        (2, 7, 6, 4), (3, 2, 2, 6),
        {"window_strides": (2, 1), "padding": ((1, 1), (0, 2)), "rhs_dilation": (1, 2),
         "dimension_numbers": ("NHWC", "HWIO", "NHWC"), "feature_group_count": 2}),
    "nchw_groups3_input_dilated": (
        (2, 6, 5, 4), (6, 2, 2, 3),
        {"window_strides": (1, 2), "padding": ((1, 0), (2, 1)), "lhs_dilation": (2, 1),
         "dimension_numbers": ("NCHW", "OIHW", "NCHW"), "feature_group_count": 3}),
    # groups == channels: one filter per input channel
    "nhwc_depthwise": (
        (2, 5, 5, 5), (3, 3, 1, 5),
        {"window_strides": (1, 1), "padding": "SAME",
         "dimension_numbers": ("NHWC", "HWIO", "NHWC"), "feature_group_count": 5}),
    # depthwise with channel multiplier 2, the output in yet another layout
    "nchw_depthwise_x2_to_nhwc": (
        (1, 3, 6, 5), (6, 1, 3, 2),
        {"window_strides": (2, 1), "padding": "VALID",
         "dimension_numbers": ("NCHW", "OIHW", "NHWC"), "feature_group_count": 3}),
    "nchw_batch_groups2": (
        (4, 3, 5, 5), (4, 3, 2, 2),
        {"window_strides": (1, 1), "padding": ((0, 1), (1, 0)),
         "dimension_numbers": ("NCHW", "OIHW", "NCHW"), "batch_group_count": 2}),
}
# float16 runs through the other matmul path (weights packed into a matrix first).
HALF_CASES = ("nhwc_groups2_strided_dilated",)


def _inputs():
    rng = np.random.default_rng(9)
    xs, ws = [], []
    for xsh, wsh, _ in CASES.values():
        xs.append(rng.standard_normal(xsh).astype(np.float32))
        ws.append(rng.standard_normal(wsh).astype(np.float32))
    half = [a.astype(np.float16) for name in HALF_CASES
            for a in (xs[list(CASES).index(name)], ws[list(CASES).index(name)])]
    return xs, ws, half


def _loss(xs, ws, half):
    """sum over the cases of sum(sin(conv)); aux: every convolution's value."""
    outs = [lax.conv_general_dilated(x, w, **kw) for x, w, (_, _, kw) in
            zip(xs, ws, CASES.values())]
    halves = [lax.conv_general_dilated(half[2 * k], half[2 * k + 1], **CASES[name][2])
              for k, name in enumerate(HALF_CASES)]
    loss = sum(fnp.sum(fnp.sin(o)) for o in outs)
    return loss, (outs, halves)


@pytest.fixture(scope="module")
def results():
    args = _inputs()
    step = fg.value_and_grad(_loss, argnums=(0, 1), has_aux=True)
    got = fg.jit(step, backend="opencl")(*args)
    want = fg.jit(step, backend="reference")(*args)
    return got, want


def _close(a, b, rtol, what):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, what
    scale = 1.0 + np.max(np.abs(b), initial=0.0)
    np.testing.assert_allclose(a, b, rtol=0, atol=rtol * scale, err_msg=what)


def test_cases_are_grouped():
    # The cases exercise what they claim: groups and batch groups with more than one
    # feature per group and with one (depthwise), and no empty output.
    for name, (xsh, wsh, kw) in CASES.items():
        out = fg.eval_shape(lambda x, w, kw=kw: lax.conv_general_dilated(x, w, **kw),
                            fg.ShapeDtypeStruct(xsh, np.float32),
                            fg.ShapeDtypeStruct(wsh, np.float32))
        groups = kw.get("feature_group_count", 1) * kw.get("batch_group_count", 1)
        assert groups > 1 and all(out.shape), (name, out.shape)
    lhs, rhs, _ = CASES["nhwc_depthwise"][2]["dimension_numbers"]
    assert CASES["nhwc_depthwise"][0][lhs.index("C")] == \
        CASES["nhwc_depthwise"][2]["feature_group_count"]
    assert CASES["nhwc_depthwise"][1][rhs.index("I")] == 1


@pytest.mark.parametrize("name", list(CASES))
def test_forward(results, name):
    (_, (outs, _)), _ = results[0]
    (_, (want, _)), _ = results[1]
    k = list(CASES).index(name)
    assert outs[k].backend == "opencl"
    _close(outs[k], want[k], 2e-5, name)


@pytest.mark.parametrize("name", HALF_CASES)
def test_forward_float16(results, name):
    (_, (_, halves)), _ = results[0]
    (_, (_, want)), _ = results[1]
    k = HALF_CASES.index(name)
    assert halves[k].dtype == np.float16
    _close(halves[k], want[k], 1e-2, name)


@pytest.mark.parametrize("name", list(CASES))
def test_gradients(results, name):
    # The input gradient of a feature-grouped convolution is feature-grouped, its filter
    # gradient batch-grouped; a batch-grouped one's are the other way round.
    (loss, _), (gx, gw) = results[0]
    (want_loss, _), (wx, ww) = results[1]
    _close(loss, want_loss, 1e-5, "loss")
    k = list(CASES).index(name)
    _close(gx[k], wx[k], 5e-5, f"{name}: d/dx")
    _close(gw[k], ww[k], 5e-5, f"{name}: d/dw")
