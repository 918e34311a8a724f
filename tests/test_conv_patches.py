"""`lax.conv_general_dilated_patches` against patches gathered by hand in NumPy: every
window of the padded, dilated input, flattened as (input feature, window position) in the
filter's spatial order, JAX's layout (checked against JAX 0.10.2 when it was written:
NCHW, NHWC with HWIO and OIHW filters, 1-D and 3-D, strides, both dilations, SAME and
explicit padding, bfloat16/float16/int32), and its gradient by finite differences."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

import funcgrad as fg
from funcgrad import lax
from funcgrad.testing import check_grads


def _patches(x, filter_shape, strides, padding, lhs_dilation, rhs_dilation, dn):
    """The patches, computed in canonical (N, C, spatial...) order by explicit loops."""
    dims = lax.conv_dimension_numbers(x.shape, (1, 1) + tuple(filter_shape), dn)
    lhs_spec, rhs_spec, out_spec = dims
    nsp = x.ndim - 2
    x = np.transpose(x, lhs_spec)                    # N, C, spatial (rhs's spatial order)
    # the filter's spatial order is rhs_spec's; lhs_spec[2:] lists lhs's axes in that order
    ld = tuple(lhs_dilation or (1,) * nsp)
    rd = tuple(rhs_dilation or (1,) * nsp)
    if ld != (1,) * nsp:
        dil = np.zeros(x.shape[:2] + tuple((s - 1) * d + 1 for s, d in zip(x.shape[2:], ld)),
                       x.dtype)
        dil[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in ld)] = x
        x = dil
    window = tuple((k - 1) * d + 1 for k, d in zip(filter_shape, rd))
    if isinstance(padding, str):
        padding = lax.padtype_to_pads(x.shape[2:], window, strides, padding)
    x = np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in padding])
    out_sp = [(s - w) // st + 1 for s, w, st in zip(x.shape[2:], window, strides)]
    n, c = x.shape[:2]
    size = int(np.prod(filter_shape))
    out = np.zeros((n, c * size, *out_sp), x.dtype)
    for pos in itertools.product(*map(range, out_sp)):
        for p, k in enumerate(itertools.product(*map(range, filter_shape))):
            idx = tuple(o * st + kk * d for o, st, kk, d in zip(pos, strides, k, rd))
            out[(slice(None), slice(p, None, size)) + pos] = x[(slice(None), slice(None))
                                                               + idx]
    return np.transpose(out, np.argsort(out_spec))


CASES = [
    # lhs shape, filter_shape, strides, padding, lhs_dilation, rhs_dilation, dimension_numbers
    ((2, 3, 8, 7), (3, 2), (1, 1), "VALID", None, None, None),
    ((2, 3, 8, 7), (3, 3), (2, 1), "SAME", None, (1, 2), None),
    ((2, 8, 7, 4), (3, 2), (1, 2), [(1, 0), (2, 1)], (2, 1), None, ("NHWC", "HWIO", "NHWC")),
    ((2, 8, 7, 4), (2, 3), (1, 1), "SAME", None, None, ("NHWC", "OIHW", "NCHW")),
    ((1, 5, 9), (4,), (2,), "VALID", None, None, None),
    ((2, 5, 4, 3, 2), (2, 2, 3), (1, 2, 1), "SAME", None, None, ("NDHWC", "DHWIO", "NDHWC")),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[6]}")
def test_patches_are_the_windows(backend, case):
    shape, fs, st, pad, ld, rd, dn = case
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    want = _patches(x, fs, st, pad, ld, rd, dn)
    f = lambda v: lax.conv_general_dilated_patches(v, fs, st, pad, ld, rd, dn)
    for got in (f(x), fg.jit(f)(x)) if backend != "opencl" else (fg.jit(f)(x),):
        assert got.shape == want.shape and got.dtype == np.float32
        np.testing.assert_array_equal(np.asarray(got), want)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "int32"])
def test_patches_keep_the_dtype(dtype):
    import ml_dtypes
    dt = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
    x = (np.random.default_rng(1).standard_normal((1, 2, 4, 5)) * 4).astype(dt)
    got = lax.conv_general_dilated_patches(x, (2, 3), (1, 1), "SAME")
    assert got.dtype == dt
    want = _patches(x.astype(np.float32), (2, 3), (1, 1), "SAME", None, None, None)
    np.testing.assert_array_equal(np.asarray(got).astype(np.float32), want)


def test_patches_gradient():
    x = np.random.default_rng(2).standard_normal((1, 2, 5, 4))
    with fg.config.enable_x64(True):
        check_grads(lambda v: lax.conv_general_dilated_patches(v, (2, 2), (2, 1), "SAME",
                                                               rhs_dilation=(1, 2)),
                    (x,), order=2, modes=("fwd", "rev"))


def test_patches_filter_shape_error_names_the_fix():
    with pytest.raises(ValueError, match="conv_general_dilated_patches: filter_shape"):
        lax.conv_general_dilated_patches(np.zeros((1, 2, 4, 4), np.float32), (2,), (1, 1),
                                         "VALID")


LOCAL_CASES = [
    ((2, 3, 6, 5), (3, 2), (1, 1), "VALID", None, None, None, 4),
    ((2, 6, 5, 4), (3, 2), (1, 2), [(1, 0), (2, 1)], (2, 1), None, ("NHWC", "HWIO", "NHWC"), 3),
    ((2, 6, 5, 4), (2, 3), (1, 1), "SAME", None, (2, 1), ("NHWC", "WHIO", "CWNH"), 5),
    ((1, 5, 9), (4,), (2,), "VALID", None, None, None, 2),
]


@pytest.mark.parametrize("case", LOCAL_CASES, ids=lambda c: f"{c[0]}-{c[6]}")
def test_local_convolution_applies_a_filter_per_position(backend, case):
    """`conv_general_dilated_local`: out[n, o, pos] = sum_i patches[n, i, pos] *
    rhs[o, i, pos], each in its own layout (rhs's spatial axes are output positions)."""
    shape, fs, st, pad, ld, rd, dn, n_out = case
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(np.float32)
    lhs_spec, rhs_spec, out_spec = lax.conv_dimension_numbers(shape, (1, 1) + fs, dn)
    patches = np.transpose(_patches(x, fs, st, pad, ld, rd, dn), out_spec)   # N, I, pos...
    wshape = [0] * len(shape)
    wshape[rhs_spec[0]], wshape[rhs_spec[1]] = n_out, patches.shape[1]
    for axis, size in zip(rhs_spec[2:], patches.shape[2:]):
        wshape[axis] = size
    w = rng.standard_normal(wshape).astype(np.float32)
    want = np.einsum("ni...,oi...->no...", patches.astype(np.float64),
                     np.transpose(w, rhs_spec).astype(np.float64))
    want = np.transpose(want, np.argsort(out_spec))
    f = fg.jit(lambda v, k: lax.conv_general_dilated_local(v, k, st, pad, fs, ld, rd, dn))
    got = f(x, w)
    assert got.shape == want.shape
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)
