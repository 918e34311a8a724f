"""The C backend's convolution and pooling kernels against the reference backend.

The direct convolution kernel (funcgrad/lowering/gemm.py) tiles MR output positions by NR
features with remainder tiles, pads/dilates the input into a scratch copy when it must,
packs the filter when its features are not contiguous, writes a scratch output when the
output's features are not contiguous, splits long reductions into blocks and loops over
feature/batch groups; the window kernels (funcgrad/lowering/codegen.py) unroll small
windows, tile or overlap, and loop over big ones. Each case below runs forward and both
gradients in one compiled program; the sizes are chosen to reach every one of those paths.
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import _test_backends
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.backends import c as cbackend
from funcgrad.lowering import codegen, gemm

pytestmark = [pytest.mark.cbackend,
              pytest.mark.skipif(not cbackend.available(), reason="no C compiler")]

RNG = np.random.default_rng(0)


def _close(got, want, rtol, atol):
    """Elementwise closeness; atol is relative to the largest finite |value| (long float32
    sums are accurate to the sum's scale, not to each small element's)."""
    for g, w in zip(fg.tree.tree_leaves(got), fg.tree.tree_leaves(want)):
        w = np.asarray(w, np.float64)
        finite = np.abs(w[np.isfinite(w)])
        scale = max(1.0, float(finite.max())) if finite.size else 1.0
        np.testing.assert_allclose(np.asarray(g, np.float64), w, rtol=rtol,
                                   atol=atol * scale, equal_nan=True)


def _conv_and_grads(x, w, **kw):
    f = lambda x, w: lax.conv_general_dilated(x, w, **kw)
    y = fg.jit(f, backend="reference")(x, w)
    ct = RNG.standard_normal(y.shape).astype(x.dtype)

    def fwd_bwd(x, w):
        y, vjp = fg.vjp(f, x, w)
        return (y,) + tuple(vjp(ct))
    return fwd_bwd


# (x shape, w shape, keyword arguments of conv_general_dilated). M = batch * output
# positions is rarely a multiple of the 6-row tile; the feature counts cover full 16-wide
# tiles, a remainder tile, and features fewer than one tile (F = 1 in the input gradient of
# a one-channel convolution).
CONV_CASES = {
    "nhwc_same_3x3": ((3, 9, 7, 5), (3, 3, 5, 37),
                      {"window_strides": (1, 1), "padding": "SAME",
                           "dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
    "nhwc_one_channel": ((2, 8, 8, 1), (3, 3, 1, 16),
                         {"window_strides": (1, 1), "padding": "SAME",
                              "dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
    "nchw_strided_asymmetric": ((2, 3, 11, 10), (5, 3, 3, 2),
                                {"window_strides": (2, 3), "padding": ((1, 2), (0, 1))}),
    "negative_padding_rhs_dilation": ((2, 13, 4), (3, 4, 6),
                                      {"window_strides": (2,), "padding": ((-1, 2),),
                                           "rhs_dilation": (2,),
                                           "dimension_numbers": ("NWC", "WIO", "NWC")}),
    "lhs_dilation": ((2, 7, 6), (3, 6, 20),
                     {"window_strides": (1,), "padding": ((2, 1),), "lhs_dilation": (2,),
                          "dimension_numbers": ("NWC", "WIO", "NWC")}),
    "conv3d_ndhwc": ((2, 5, 4, 6, 3), (2, 3, 2, 3, 18),
                     {"window_strides": (1, 2, 1), "padding": "SAME",
                          "dimension_numbers": ("NDHWC", "DHWIO", "NDHWC")}),
    # Input dilation (the input gradient of a strided convolution) runs one kernel per
    # output phase, each over the taps that meet input values: no products with zeros.
    "strided_nhwc_phases": ((2, 9, 8, 3), (3, 3, 3, 20),
                            {"window_strides": (2, 2), "padding": "SAME",
                             "dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
    "input_and_filter_dilation_nchw": ((2, 3, 5, 6), (4, 3, 3, 2),
                                       {"window_strides": (1, 2), "padding": ((2, 1), (0, 2)),
                                        "lhs_dilation": (2, 3), "rhs_dilation": (2, 1)}),
    # 1-tap filter, input dilation 3, stride 2: some phases meet no input value (zeros)
    "phases_without_taps": ((2, 5, 3), (1, 3, 4),
                            {"window_strides": (2,), "padding": ((1, 1),),
                             "lhs_dilation": (3,),
                             "dimension_numbers": ("NWC", "WIO", "NWC")}),
    "feature_groups": ((2, 6, 6, 6), (3, 3, 2, 9),
                       {"window_strides": (1, 1), "padding": "SAME", "feature_group_count": 3,
                            "dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
    # depthwise NHWC: the tile's vectors run over the channels (groups); 21 = 16 + 5
    "depthwise_nhwc": ((3, 7, 6, 21), (3, 3, 1, 21),
                       {"window_strides": (1, 1), "padding": "SAME", "feature_group_count": 21,
                        "dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
    "depthwise_nchw": ((2, 4, 7, 7), (4, 1, 3, 3),
                       {"window_strides": (2, 2), "padding": "SAME", "feature_group_count": 4}),
    "size_one": ((1, 1, 1, 1), (1, 1, 1, 1),
                 {"window_strides": (1, 1), "padding": "SAME",
                      "dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
    # The filter gradient reduces over batch x positions = 12544 steps: split into blocks
    # of the batch (the last block partial), accumulating into the output.
    "filter_gradient_blocks": ((16, 28, 28, 3), (3, 3, 3, 32),
                               {"window_strides": (1, 1), "padding": "SAME",
                                    "dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
}


@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_conv_forward_and_gradients_match_reference(case):
    xs, ws, kw = CONV_CASES[case]
    x = RNG.standard_normal(xs).astype(np.float32)
    w = RNG.standard_normal(ws).astype(np.float32)
    f = _conv_and_grads(x, w, **kw)
    _close(fg.jit(f, backend="c")(x, w), fg.jit(f, backend="reference")(x, w), 2e-5, 2e-5)


@pytest.mark.cbackend
def test_big_convolutions_take_chunks_on_the_big_team(monkeypatch):
    """A convolution of at least `BIG_TEAM_MIN` multiply-adds takes its tiles in dynamic
    chunks on the big team (every usable core under load); smaller ones keep the static
    split on the team. Run on a team of one thread and a big team of two, the big loop
    gives the bits of the static one."""
    from funcgrad.backends import threads as T
    f = lambda x, w: lax.conv_general_dilated(x, w, (1,), ((2, 2),),      # noqa: E731
                                              dimension_numbers=("NWC", "WIO", "NWC"))
    big = fg.jit(f, backend="c").lower(np.zeros((64, 1000, 32), np.float32),
                                       np.zeros((5, 32, 64), np.float32)).source
    assert big.count("team_big()") == 1 and "schedule(dynamic," in big       # 2^29.3
    x = RNG.standard_normal((8, 500, 32)).astype(np.float32)
    w = RNG.standard_normal((5, 32, 64)).astype(np.float32)
    static = fg.jit(f, backend="c")
    assert "team_big()" not in static.lower(x, w).source and \
        "num_threads(" in static.lower(x, w).source                          # parallel
    want = np.asarray(static(x, w))
    monkeypatch.setattr(gemm, "BIG_TEAM_MIN", 1)
    chunked = fg.jit(f, backend="c")
    src = chunked.lower(x, w).source
    assert src.count("team_big()") == 1 and "schedule(dynamic," in src
    monkeypatch.setattr(T._policy, "team", 1)
    monkeypatch.setattr(T._policy, "big", 2)
    monkeypatch.setattr(T._policy, "fixed", None)
    monkeypatch.setattr(T._policy, "next", float("inf"))
    got = np.asarray(chunked(x, w))
    assert (T._tls.team, T._tls.big) == (1, 2)
    np.testing.assert_array_equal(got, want)
    _close([got], [np.asarray(fg.jit(f, backend="reference")(x, w))], 2e-5, 2e-5)
    T._policy.next = 0.0


def test_conv_float64_and_batch_groups():
    # batch_group_count appears in the filter gradient of a grouped convolution; float64
    # runs the same kernel with fma() and half-width tiles.
    x = RNG.standard_normal((4, 7, 7, 6))
    w = RNG.standard_normal((3, 3, 6, 4))
    kw = {"window_strides": (1, 1), "padding": "VALID", "batch_group_count": 2,
              "dimension_numbers": ("NHWC", "HWIO", "NHWC")}
    with fg.enable_x64():
        f = lambda x, w: lax.conv_general_dilated(x, w, **kw)
        got = fg.jit(f, backend="c")(x, w)
        assert got.dtype == np.float64
        _close(got, fg.jit(f, backend="reference")(x, w), 1e-12, 1e-12)
        xs, ws, kw = CONV_CASES["nchw_strided_asymmetric"]
        x, w = RNG.standard_normal(xs), RNG.standard_normal(ws)
        g = _conv_and_grads(x, w, **kw)
        _close(fg.jit(g, backend="c")(x, w), fg.jit(g, backend="reference")(x, w), 1e-12,
               1e-12)


def test_conv_batch_size_read_at_run_time():
    # The second batch size compiles size-generic code (the batch a run-time value): the
    # tile loops, row clamping and blocks must follow it; a third size reuses that module.
    w = RNG.standard_normal((3, 3, 4, 24)).astype(np.float32)
    kw = {"window_strides": (1, 1), "padding": "SAME", "dimension_numbers": ("NHWC", "HWIO",
                                                                        "NHWC")}
    f = lambda x, w: fg.grad(
        lambda x, w: fnp.sum(lax.conv_general_dilated(x, w, **kw) ** 2), (0, 1))(x, w)
    step = fg.jit(f, backend="c")
    for n in (5, 3, 7):
        x = RNG.standard_normal((n, 6, 5, 4)).astype(np.float32)
        _close(step(x, w), fg.jit(f, backend="reference")(x, w), 2e-5, 1e-4)


def test_depthwise_convolutions_vectorise_over_channels():
    xs, ws, kw = CONV_CASES["depthwise_nhwc"]
    x, w = np.zeros(xs, np.float32), np.zeros(ws, np.float32)
    src = fg.jit(_conv_and_grads(x, w, **kw), backend="c").lower(x, w).source
    # forward, input and filter gradients: no loop over the 21 groups
    assert src.count("conv_general_dilated") == 3 and "int64_t cg = 0" not in src


def test_conv_source_is_a_direct_kernel():
    """A register tile of CONV_MR positions: a full tile of features is `nr_main` (two or,
    with CONV_WIDE_TILES, four SIMD vectors) wide, one vector accumulator per (row, vector)
    with CONV_VECTOR_TILES; a partial tile of features not a multiple of a quarter SIMD
    register (here 3) has one scalar fmaf() accumulator per (row, feature); one of a
    quarter register (here a vector of 4) is in vectors. (This test once assumed 16
    features make a partial tile, true with AVX-512 only: it failed on AMD Zen 3, AVX2,
    where 16 features are a full tile of two 8-float vectors.)"""
    f = lambda x, w: lax.conv_general_dilated(x, w, (1, 1), "SAME",
                                              dimension_numbers=("NHWC", "HWIO", "NHWC"))
    x = np.zeros((2, 8, 8, 4), np.float32)
    mr = gemm.CONV_MR
    src = fg.jit(f, backend="c").lower(x, np.zeros((3, 3, 4, 3), np.float32)).source
    assert "fmaf(" in src and "cblas_sgemm" not in src
    assert f"ca{mr - 1}_2" in src and "ca0_3" not in src
    vector, wide = gemm._conv_flags()
    width = gemm._simd_width(np.float32)
    if vector and width >= 4:
        src = fg.jit(f, backend="c").lower(x, np.zeros((3, 3, 4, 4), np.float32)).source
        assert "fmaf(" not in src and "fgv_f32x4 " in src
        assert f"ca{mr - 1}_0" in src and "ca0_1" not in src
    nr_main = (4 if wide else 2) * width
    src = fg.jit(f, backend="c").lower(x, np.zeros((3, 3, 4, nr_main), np.float32)).source
    assert "cblas_sgemm" not in src
    ncol = nr_main // width if vector else nr_main
    assert f"ca{mr - 1}_{ncol - 1}" in src and f"ca0_{ncol}" not in src
    assert ("fgv_f32x" in src) == vector


def test_feature_parts_cover_the_remainder_in_vector_widths():
    w16 = gemm._vector_widths(16, 4)
    assert w16 == (16, 8, 4) and gemm._vector_widths(8, 4) == (8, 4)       # 128 bits at least
    assert gemm._vector_widths(8, 8) == (8, 4, 2) and gemm._vector_widths(4, 4) == (4,)
    assert gemm._feature_parts(64, 46, w16) == [(64, 32), (96, 8), (104, 4), (108, 2)]
    assert gemm._feature_parts(0, 32, w16) == [(0, 32)]
    assert gemm._feature_parts(0, 3, w16) == [(0, 3)]
    assert gemm._feature_parts(5, 46, ()) == [(5, 46)]          # scalar tiles: one
    assert [gemm._tile_width(n, w16) for n in (32, 48, 8, 4, 2, 6)] == [16, 16, 8, 4, 1, 1]
    for simd, itemsize in ((4, 4), (8, 4), (16, 4), (4, 8), (8, 8)):
        widths = gemm._vector_widths(simd, itemsize)
        for n in range(1, 4 * simd):         # (what is left after the full wide tiles)
            parts = gemm._feature_parts(10, n, widths)
            assert [p[0] for p in parts] == [10 + sum(p[1] for p in parts[:i])
                                            for i in range(len(parts))]
            assert sum(p[1] for p in parts) == n
            for _, k in parts:
                w = gemm._tile_width(k, widths)
                assert k // w <= 3 and (w > 1 or k < widths[-1])


@pytest.mark.parametrize("simd", [16, 8])
def test_remainder_tiles_compile_at_every_vector_width(simd, monkeypatch):
    """Remainders of 2 and 3 mod 4 at AVX2's width (8 floats): no 2-float vectors, which
    the C dialect has no FMA for (the bits against scalar tiles)."""
    if gemm.cpu_level() not in ("v3", "v4"):
        pytest.skip("vector tiles need FMA (x86-64-v3)")
    if simd == 16 and gemm.cpu_level() != "v4":
        # (the 512-bit FMA builtins need AVX-512: on AMD Zen 3 this case failed to compile)
        pytest.skip("512-bit tiles need AVX-512 (x86-64-v4)")
    monkeypatch.setattr(gemm, "_simd_width", lambda dt: simd * 4 // np.dtype(dt).itemsize)
    monkeypatch.setattr(gemm, "CONV_WIDE_TILES", False)
    xs, ws, kw = (2, 5, 5, 3), (3, 3, 3, 2 * simd + 14), {
        "window_strides": (1, 1), "padding": "SAME",
        "dimension_numbers": ("NHWC", "HWIO", "NHWC")}
    x = RNG.standard_normal(xs).astype(np.float32)
    w = RNG.standard_normal(ws).astype(np.float32)
    f = _conv_and_grads(x, w, **kw)
    got = {}
    for vector in (False, True):
        monkeypatch.setattr(gemm, "CONV_VECTOR_TILES", vector)
        jf = fg.jit(lambda x, w: f(x, w), backend="c")
        got[vector] = [np.asarray(a) for a in jf(x, w)]
    for a, b in zip(got[False], got[True]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("wide", [False, True])
def test_remainder_features_are_in_vectors_with_wide_tiles(wide, monkeypatch):
    """The CNN's 32-feature convolutions on an Intel Xeon, where wide tiles are 64
    features: all of the features were remainder, a tile of scalar fmaf() accumulators
    that gcc does not vectorise with its SLP vectoriser off (39 ms for the input
    gradient that takes 3.6 in vectors)."""
    if gemm.cpu_level() not in ("v3", "v4"):
        pytest.skip("vector tiles need FMA (x86-64-v3)")
    monkeypatch.setattr(gemm, "CONV_WIDE_TILES", wide)
    f = lambda x, w: lax.conv_general_dilated(x, w, (1, 1), "SAME",
                                              dimension_numbers=("NHWC", "HWIO", "NHWC"))
    x = np.zeros((2, 8, 8, 4), np.float32)
    src = fg.jit(lambda x, w: f(x, w), backend="c").lower(
        x, np.zeros((3, 3, 4, 32), np.float32)).source
    assert "fmaf(" not in src and "fgv_f32x" in src


# ------------------------------------------- input dilation with non-finite filter values
#
# XLA (and the reference) multiply every tap by the dilated, padded input, its zeros
# included: a non-finite weight on a dilation's zero gives 0 * inf = NaN. The C kernel's
# phases skip those products, then add the NaN back (gemm._skipped_tap_nans).

def _with_nonfinite(a, rng, frac=0.12):
    a = a.copy()
    u = rng.random(a.shape)
    a[u < frac / 2] = np.inf
    a[(u >= frac / 2) & (u < frac * 3 / 4)] = -np.inf
    a[(u >= frac * 3 / 4) & (u < frac)] = np.nan
    return a


def _assert_same_nonfinite(got, want):
    """Equal NaN positions and infinities, close finite values."""
    for g, w in zip(fg.tree.tree_leaves(got), fg.tree.tree_leaves(want)):
        g, w = np.asarray(g, np.float64), np.asarray(w, np.float64)
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
    _close(got, want, 1e-4, 1e-4)


def test_lhs_dilated_conv_with_infinite_weights_fuzz_reproducer():
    # tests/fuzz/FINDINGS.md, seed 456 #2 (the fuzzer's values, as float32): C jit
    # gave [-inf, -inf, 0.1825, -1.929].
    inf = np.inf
    x = np.array([[[[1.0, 1.5, 0.5, 0.0]], [[-1.0, 0.5, -0.5, 1.5]]]], np.float32)
    w = np.array([[[[1.1342745e+38, -0.38339102, 1.0, 1.0524582],
                    [0.5601549, 1.8931849, 1.1038742, 1.0]],
                   [[0.43593502, 3.4028235e+38, -0.0, 1.4786336],
                    [0.58846563, 0.831353, -1.2581574, 2.0]]],
                  [[[1.1754944e-38, 0.16638853, 1.0879353, -1.1292219],
                    [0.005191524, 1.1342745e+38, -inf, -0.40397444]],
                   [[-1.3387443, 0.1851205, -0.5764116, -1.0],
                    [-3.4028235e+38, -0.20792206, -1.7057303, -0.3532348]]],
                  [[[-0.015227168, -inf, -0.0, -0.21651174],
                    [3.4028235e+38, 4e-45, -1e-45, 1.1278632]],
                   [[0.22706257, 1.2308148, -0.94143987, 0.09421154],
                    [1.3164362, -inf, -0.0, -0.9213848]]]], np.float32)
    f = lambda x, w: lax.conv_general_dilated(
        x, w, (1, 2), ((2, 0), (1, 1)), lhs_dilation=(2, 2), rhs_dilation=(2, 1),
        dimension_numbers=("NHWC", "HWIO", "NHWC"), feature_group_count=2)
    got = np.asarray(fg.jit(f, backend="c")(x, w)).ravel()
    want = np.asarray(fg.jit(f, backend="reference")(x, w)).ravel()
    np.testing.assert_array_equal(np.isnan(got), [False, True, True, False])
    _assert_same_nonfinite(got, want)


# (x shape, w shape, keyword arguments): holes inside the input, padding off the input's
# grid, phases reading no tap, negative padding, groups, batch groups, features not
# innermost (NCHW: a scratch output).
NONFINITE_CASES = {
    "1d_holes": ((2, 4, 3), (3, 3, 4),
                 {"window_strides": (1,), "padding": ((0, 0),), "lhs_dilation": (2,),
                  "dimension_numbers": ("NWC", "WIO", "NWC")}),
    "1d_padding_off_grid_strided": ((2, 3, 2), (2, 2, 3),
                                    {"window_strides": (2,), "padding": ((3, 1),),
                                     "lhs_dilation": (3,),
                                     "dimension_numbers": ("NWC", "WIO", "NWC")}),
    "1d_phases_without_taps": ((2, 5, 3), (1, 3, 4),
                               {"window_strides": (2,), "padding": ((1, 1),),
                                "lhs_dilation": (3,),
                                "dimension_numbers": ("NWC", "WIO", "NWC")}),
    "1d_negative_padding_rhs_dilation_groups": ((2, 6, 4), (3, 2, 6),
                                                {"window_strides": (1,),
                                                 "padding": ((-1, 2),),
                                                 "lhs_dilation": (2,), "rhs_dilation": (2,),
                                                 "feature_group_count": 2,
                                                 "dimension_numbers": ("NWC", "WIO",
                                                                       "NWC")}),
    "2d_nhwc_groups": ((2, 4, 5, 4), (3, 2, 2, 6),
                       {"window_strides": (1, 2), "padding": ((2, 0), (1, 1)),
                        "lhs_dilation": (2, 2), "rhs_dilation": (2, 1),
                        "feature_group_count": 2,
                        "dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
    "2d_nchw_one_axis_dilated": ((2, 3, 5, 4), (4, 3, 3, 2),
                                 {"window_strides": (2, 1), "padding": ((1, 2), (0, 3)),
                                  "lhs_dilation": (1, 3), "rhs_dilation": (1, 2)}),
    "2d_batch_groups": ((4, 3, 4, 2), (2, 3, 2, 6),
                        {"window_strides": (1, 1), "padding": ((1, 1), (2, -1)),
                         "lhs_dilation": (3, 2), "batch_group_count": 2,
                         "dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
}


@pytest.mark.parametrize("case", sorted(NONFINITE_CASES))
def test_lhs_dilated_conv_with_nonfinite_values_matches_reference(case):
    xs, ws, kw = NONFINITE_CASES[case]
    rng = np.random.default_rng(1)
    f = fg.jit(lambda x, w: lax.conv_general_dilated(x, w, **kw), backend="c")
    ref = fg.jit(lambda x, w: lax.conv_general_dilated(x, w, **kw), backend="reference")
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    for xv, wv in [(x, _with_nonfinite(w, rng)), (_with_nonfinite(x, rng), w),
                   (_with_nonfinite(x, rng), _with_nonfinite(w, rng))]:
        _assert_same_nonfinite(f(xv, wv), ref(xv, wv))


@st.composite
def _dilated_conv_cases(draw):
    nsp = draw(st.integers(1, 2))
    G = draw(st.sampled_from([1, 2, 3]))
    B = draw(st.sampled_from([1, 2])) if G == 1 else 1
    ks = [draw(st.integers(1, 3)) for _ in range(nsp)]
    ld = [draw(st.integers(1, 3)) for _ in range(nsp)]
    rd = [draw(st.integers(1, 2)) for _ in range(nsp)]
    isp = [draw(st.integers(1, 5)) for _ in range(nsp)]
    pads = []
    for d in range(nsp):
        lo, hi = draw(st.integers(-1, 3)), draw(st.integers(-1, 3))
        # keep the output non-empty
        short = (ks[d] - 1) * rd[d] + 1 - ((isp[d] - 1) * ld[d] + 1 + lo + hi)
        pads.append((lo, hi + max(short, 0)))
    sp = "HW"[2 - nsp:]
    nchw = draw(st.booleans())
    dn = ("NC" + sp, "OI" + sp, "NC" + sp) if nchw else ("N" + sp + "C", sp + "IO",
                                                          "N" + sp + "C")
    cg, fg_ = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    n = draw(st.integers(1, 2)) * B
    xs = (n, cg * G, *isp) if nchw else (n, *isp, cg * G)
    ws = (fg_ * G * B, cg, *ks) if nchw else (*ks, cg, fg_ * G * B)
    kw = {"window_strides": tuple(draw(st.integers(1, 3)) for _ in range(nsp)),
          "padding": tuple(pads), "lhs_dilation": tuple(ld), "rhs_dilation": tuple(rd),
          "dimension_numbers": dn, "feature_group_count": G, "batch_group_count": B}
    return xs, ws, kw, draw(st.integers(0, 2 ** 16))


@given(_dilated_conv_cases())
def test_dilated_conv_with_nonfinite_values_matches_reference_hypothesis(case):
    xs, ws, kw, seed = case
    rng = np.random.default_rng(seed)
    x = _with_nonfinite(rng.standard_normal(xs).astype(np.float32), rng, 0.06)
    w = _with_nonfinite(rng.standard_normal(ws).astype(np.float32), rng)
    f = lambda x, w: lax.conv_general_dilated(x, w, **kw)
    _assert_same_nonfinite(fg.jit(f, backend="c")(x, w), fg.jit(f, backend="reference")(x, w))


@pytest.mark.parametrize("case", ["strided_nhwc_phases", "nchw_strided_asymmetric"])
def test_strided_conv_gradients_with_infinite_weights_match_reference(case):
    # The input gradient of a strided convolution is an input-dilated one: its phases skip
    # the zeros between the cotangent's values, where the reference meets 0 * inf.
    xs, ws, kw = CONV_CASES[case]
    rng = np.random.default_rng(2)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    w.flat[rng.choice(w.size, 3, replace=False)] = [np.inf, -np.inf, np.nan]
    f = _conv_and_grads(x, w, **kw)
    got = fg.jit(f, backend="c")(x, w)
    _assert_same_nonfinite(got, fg.jit(f, backend="reference")(x, w))
    assert np.isnan(got[1]).any()
    # the phases still skip the zeros: no tile reads them
    assert "phase 1 mod 2" in fg.jit(f, backend="c").lower(x, w).source


# ----------------------------------------------------------------------------- pooling

def _pool_fns(kind, wd, ws, pad):
    init, op = {"max": (-np.inf, lax.max), "min": (np.inf, lax.min),
                "sum": (0.0, lax.add)}[kind]
    return lambda x: lax.reduce_window(x, init, op, wd, ws, pad)


POOL_CASES = {
    # 2x2 stride 2 tiles the input: pool_scatter writes every cell once, no zeroing pass
    "tiles_nhwc": ((3, 8, 6, 19), "max", (1, 2, 2, 1), (1, 2, 2, 1), "VALID"),
    # odd size: the last row and column belong to no window
    "odd_size": ((2, 5, 7, 3), "max", (1, 2, 2, 1), (1, 2, 2, 1), "VALID"),
    # overlapping windows with padding on both sides
    "overlap_same": ((2, 9, 9, 5), "max", (1, 3, 3, 1), (1, 2, 2, 1), "SAME"),
    # the window on the innermost axis (NCHW), overlapping there: no vectorised loop
    "nchw_overlap_last": ((2, 3, 7, 9), "min", (1, 1, 3, 2), (1, 1, 1, 1),
                          ((0, 0), (0, 0), (1, 2), (0, 1))),
    # 81 cells: the window is a loop nest, not unrolled
    "big_window": ((2, 12, 12, 3), "max", (1, 9, 9, 1), (1, 3, 3, 1), "SAME"),
    "big_window_sum": ((2, 10, 10, 2), "sum", (1, 9, 9, 1), (1, 1, 1, 1), "SAME"),
    "sum_1d": ((3, 10, 4), "sum", (1, 3, 1), (1, 2, 1), "SAME"),
    "size_one": ((1, 1, 1, 1), "max", (1, 1, 1, 1), (1, 1, 1, 1), "VALID"),
}


@pytest.mark.parametrize("case", sorted(POOL_CASES))
def test_pooling_forward_and_derivatives_match_reference(case):
    shape, kind, wd, ws, pad = POOL_CASES[case]
    x = RNG.standard_normal(shape).astype(np.float32)
    if kind != "sum":
        x[x > 1.5] = np.nan          # NaN propagates forward and counts as -inf/+inf
        x[x < -1.5] = -np.inf
    f = _pool_fns(kind, wd, ws, pad)
    y = fg.jit(f, backend="reference")(x)
    ct = RNG.standard_normal(y.shape).astype(np.float32)
    g = lambda x: (f(x), fg.vjp(f, x)[1](ct)[0],
                   fg.jvp(f, (x,), (fnp.cos(x) + 2.0,))[1])
    _close(fg.jit(g, backend="c")(x), fg.jit(g, backend="reference")(x), 1e-5, 1e-5)


def _window_sum_transpose_by_definition(ct, in_shape, wd, ws, pad):
    """Each window's cotangent added into every operand cell of the window (NumPy loops)."""
    out = np.zeros(in_shape, np.float64)
    for o in np.ndindex(ct.shape):
        for k in np.ndindex(*wd):
            cell = tuple(i * s + kk - lo for i, s, kk, (lo, _) in zip(o, ws, k, pad))
            if all(0 <= c < d for c, d in zip(cell, in_shape)):
                out[cell] += ct[o]
    return out


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_window_sum_gradient_where_windows_tile_the_operand(data):
    # Average pooling's gradient (window == stride) is the cotangent repeated over each
    # window and cut to the operand: remainders past the last window, padding on either
    # side (negative: cells before the first window), 1-3 axes, against the transpose
    # taken by definition, in float64, on every backend.
    nd = data.draw(st.integers(1, 3))
    shape = tuple(data.draw(st.integers(1, 7)) for _ in range(nd))
    wd = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    pad = tuple((data.draw(st.integers(-2, 3)), data.draw(st.integers(-2, 3))) for _ in range(nd))
    if any(d + lo + hi < w or d + lo < 0 for d, w, (lo, hi) in zip(shape, wd, pad)):
        return
    x = RNG.standard_normal(shape)
    f = lambda v: lax.reduce_window(v, 0.0, lax.add, wd, wd, pad)  # noqa: E731
    with fg.enable_x64():
        y, pull = fg.vjp(f, x)
        ct = RNG.standard_normal(np.shape(y))
        want = _window_sum_transpose_by_definition(ct, shape, wd, wd, pad)
        np.testing.assert_allclose(np.asarray(pull(ct)[0]), want, rtol=1e-14, atol=0)
        for where in _test_backends():
            got = fg.jit(lambda c: fg.vjp(f, x)[1](c)[0], backend=where)(ct)
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-14, atol=0)


@pytest.mark.parametrize("kind", ["sum", "max"])
def test_negative_window_padding_cuts_cells_off(kind):
    # Regression: the reference backend (np.pad) raised "index can't contain negative
    # values" for a negative padding amount, which XLA, JAX and the C backend take as cells
    # cut off the operand's edge.
    x = np.arange(10.0, dtype=np.float32)
    f = _pool_fns(kind, (2,), (2,), ((-1, 1),))
    g = fg.grad(lambda v: fnp.sum(f(v) * fnp.arange(1.0, 6.0)))
    cut = np.append(x[1:], 0.0 if kind == "sum" else -np.inf).reshape(5, 2)
    want = cut.sum(1) if kind == "sum" else cut.max(1)
    wgrad = np.zeros(10, np.float32)
    for k in range(5):
        cells = [1 + 2 * k, 2 + 2 * k] if kind == "sum" else [1 + 2 * k + int(cut[k].argmax())]
        for c in cells:
            if c < 10:
                wgrad[c] += k + 1
    for where in _test_backends():
        np.testing.assert_array_equal(np.asarray(fg.jit(f, backend=where)(x)), want)
        np.testing.assert_array_equal(np.asarray(fg.jit(g, backend=where)(x)), wgrad)


def test_average_pooling_gradient_is_a_broadcast():
    # Regression (speed): the gradient of NCHW 2 x 2 average pooling summed windows over
    # the dilated cotangent, finding each cell's one term by division and remainder tests
    # and computing the fused cotangent four times: (64, 32, 28, 28) 7.3 ms, JAX 5.6;
    # repeated over the windows it is 0.35 ms.
    x = RNG.standard_normal((2, 3, 9, 8)).astype(np.float32)
    pool = lambda v: lax.reduce_window(v, 0.0, lax.add, (1, 1, 2, 2), (1, 1, 2, 2),  # noqa
                                       "VALID") / 4
    g = fg.grad(lambda v: fnp.sum(fnp.tanh(pool(v))))
    src = fg.jit(g, backend="c").lower(x).source
    assert "% 2" not in src and "reduce_window -> f32[2,3,9,8]" not in src
    want = np.zeros_like(x)
    t = 1 - np.tanh(x[:, :, :8].reshape(2, 3, 4, 2, 4, 2).mean(axis=(3, 5))) ** 2
    want[:, :, :8] = np.repeat(np.repeat(t / 4, 2, axis=2), 2, axis=3)
    np.testing.assert_allclose(np.asarray(fg.jit(g, backend="c")(x)), want, rtol=1e-5,
                               atol=1e-7)


@pytest.mark.parametrize("wd", [(1, 2, 2, 1), (1, 9, 9, 1)])
@pytest.mark.parametrize("where", ["c", "opencl"])
def test_max_pool_derivative_of_a_window_without_numbers_goes_to_its_first_cell(wd, where):
    # Regression: a window whose cells are all -inf or NaN sent its cotangent nowhere in
    # the C and OpenCL kernels; the reference (like XLA's select-and-scatter) sends it to
    # cell 0.
    if where not in _test_backends():
        pytest.skip(f"no {where} backend here")
    x = np.full((1, 18, 18, 2), -np.inf, np.float32)
    x[0, 0, 1, 0] = np.nan
    x[0, 12, 12, 1] = 3.0
    f = _pool_fns("max", wd, wd, "VALID")
    y = fg.jit(f, backend="reference")(x)
    ct = np.arange(np.prod(y.shape), dtype=np.float32).reshape(y.shape) + 1
    g = lambda x: (fg.vjp(f, x)[1](ct)[0],
                   fg.jvp(f, (x,), (fnp.ones_like(x) * 2 + x * 0,))[1])
    got, want = fg.jit(g, backend=where)(x), fg.jit(g, backend="reference")(x)
    _close(got, want, 0, 0)
    assert np.asarray(got[0])[0, 0, 0, 0] == ct[0, 0, 0, 0]


def test_reshape_max_pooling_and_its_gradient():
    # JAX users' other pooling idiom: a reduction over the window axes of a reshape. The
    # reduction is unrolled and the reshapes map indices axis group by axis group.
    x = RNG.standard_normal((3, 10, 14, 6)).astype(np.float32)
    x[0, 1, 2, 3] = np.nan

    def pool(x):
        n, h, w, c = x.shape
        return fnp.max(x.reshape(n, h // 2, 2, w // 2, 2, c), axis=(2, 4))

    def f(x):
        g = fg.grad(lambda x: fnp.sum(pool(fnp.maximum(x, 0.0)) ** 2))(fnp.nan_to_num(x))
        return pool(x), g, fnp.min(x.reshape(3, 5, 2, 7, 2, 6), axis=(1, 3)), \
            fnp.sum(x.reshape(3, 2, 5, 84) * 2.0, axis=(0, 2)).reshape(4, 42)[:, ::5]

    _close(fg.jit(f, backend="c")(x), fg.jit(f, backend="reference")(x), 1e-5, 1e-5)
    src = fg.jit(pool, backend="c").lower(x).source
    assert "/ 2" not in src.split("reduce_max")[1]      # no flat index decomposition


def test_window_kernels_vectorise_over_channels():
    x = np.zeros((2, 8, 8, 16), np.float32)
    f = _pool_fns("max", (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    src = fg.jit(lambda x: fg.grad(lambda x: fnp.sum(f(x) ** 2))(x),
                 backend="c").lower(x).source
    for part in src.split("/* ")[1:]:
        if part.startswith(("reduce_window", "pool_scatter")):
            assert "#pragma omp simd" in part, part[:200]
    assert codegen._UNROLL_CELLS >= 4


# --------------------------------------------- wide tiles on AVX-512 (gemm.CONV_WIDE_TILES)

WIDE_CASES = {
    # no full tile: 46 features are a remainder on every CPU, written (AVX-512, wide tiles)
    # as tiles of 32, 8 and 4 features in vectors and 2 scalar ones
    "nhwc_46": ((2, 7, 7, 5), (3, 3, 5, 46),
                {"window_strides": (1, 1), "padding": "SAME",
                 "dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
    # a full 64-feature tile plus a remainder of 6; strided, as the benchmarks' conv2d_s2
    "nhwc_strided_70": ((2, 9, 9, 8), (3, 3, 8, 70),
                        {"window_strides": (2, 2), "padding": ((1, 1), (1, 1)),
                         "dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
    # two full tiles; 1-D, its filter gradient k-blocked over the positions of each batch row
    "nwc_128": ((8, 40, 16), (5, 16, 128),
                {"window_strides": (1,), "padding": "SAME",
                 "dimension_numbers": ("NWC", "WIO", "NWC")}),
    "groups_64": ((2, 6, 6, 4), (3, 3, 2, 128),
                  {"window_strides": (1, 1), "padding": "SAME", "feature_group_count": 2,
                   "dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
}


@pytest.mark.parametrize("case", sorted(WIDE_CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wide_conv_tiles_give_the_same_bits_as_narrow_ones(case, dtype, monkeypatch):
    """Four vectors of features per tile, compiled with 512-bit vectors, add each output's
    products in the same order as the two-vector tiles: the same bits, forward and both
    gradients (and close to the reference)."""
    xs, ws, kw = WIDE_CASES[case]
    x = RNG.standard_normal(xs).astype(dtype)
    w = RNG.standard_normal(ws).astype(dtype)
    with fg.enable_x64(dtype == np.float64):
        f = _conv_and_grads(x, w, **kw)
        got = {}
        for wide in (False, True):
            monkeypatch.setattr(gemm, "CONV_WIDE_TILES", wide)
            got[wide] = [np.asarray(a) for a in fg.jit(f, backend="c")(x, w)]
        assert got[True][0].dtype == dtype
        for a, b in zip(got[False], got[True]):
            np.testing.assert_array_equal(a, b)
        tol = 2e-5 if dtype == np.float32 else 1e-12
        _close(got[True], fg.jit(f, backend="reference")(x, w), tol, tol)


@pytest.mark.parametrize("case", sorted(WIDE_CASES))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("wide", [False, True])
def test_vector_conv_tiles_give_the_same_bits_as_scalar_ones(case, dtype, wide, monkeypatch):
    """Full tiles in vector types (lane by lane `acc + x * w`, contracted by the function's
    attribute) give the bits of scalar fmaf() tiles, forward and both gradients (the
    filter gradient's k blocks reload partial sums into vectors)."""
    if gemm.cpu_level() not in ("v3", "v4"):
        pytest.skip("vector tiles need FMA (x86-64-v3)")
    xs, ws, kw = WIDE_CASES[case]
    x = RNG.standard_normal(xs).astype(dtype)
    w = RNG.standard_normal(ws).astype(dtype)
    monkeypatch.setattr(gemm, "CONV_WIDE_TILES", wide)
    with fg.enable_x64(dtype == np.float64):
        f = _conv_and_grads(x, w, **kw)
        got = {}
        for vector in (False, True):
            monkeypatch.setattr(gemm, "CONV_VECTOR_TILES", vector)
            # (a new function: jit(f) again would share the first trace, made under the
            # other setting)
            jf = fg.jit(lambda x, w: f(x, w), backend="c")
            assert ("fgv_" in jf.lower(x, w).source) is vector
            got[vector] = [np.asarray(a) for a in jf(x, w)]
        for a, b in zip(got[False], got[True]):
            np.testing.assert_array_equal(a, b)


# Filter gradients whose batch index spans more than a k block (`gemm._k_block`): the
# blocked axis is an inner one (positions; in 2-D the rows, the batch looping around them).
INNER_BLOCK_CASES = {
    "nwc": ((4, 1000, 8), (5, 8, 16), {"window_strides": (1,), "padding": "SAME",
                                       "dimension_numbers": ("NWC", "WIO", "NWC")}),
    "nhwc": ((4, 30, 30, 8), (3, 3, 8, 16), {"window_strides": (1, 1), "padding": "SAME",
                                             "dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
    # the rows blocked, the batch and the depth looping around them
    "ndhwc": ((2, 10, 22, 22, 4), (3, 3, 3, 4, 8),
              {"window_strides": (1, 1, 1), "padding": "SAME",
               "dimension_numbers": ("NDHWC", "DHWIO", "NDHWC")}),
}


def test_k_block_takes_the_outermost_axis_whose_block_fits():
    # (extent, x stride, w stride) of the 1-D filter gradient above: a batch row is 96 KiB
    axes = [(4, 1004 * 8, 1000 * 16), (1000, 8, 16)]
    assert gemm._k_block(axes, 4) == (1, gemm._CONV_BLOCK_BYTES // ((8 + 16) * 4))
    assert gemm._k_block([(64, 100, 200), (50, 2, 4)], 4) == (0, gemm._CONV_BLOCK_BYTES // 1200)
    assert gemm._k_block([(2, 1 << 20, 0)], 4) == (0, 1)      # nothing fits: one index


@pytest.mark.parametrize("case", sorted(INNER_BLOCK_CASES))
def test_filter_gradient_blocked_on_an_inner_axis(case, monkeypatch):
    """Blocking an inner k axis (the batch looping around the blocks) sums every output in
    the order of blocking the batch (partial sums go through memory unrounded): the same
    bits, close to the reference."""
    xs, ws, kw = INNER_BLOCK_CASES[case]
    x = RNG.standard_normal(xs).astype(np.float32)
    w = RNG.standard_normal(ws).astype(np.float32)
    f = _conv_and_grads(x, w, **kw)
    got, src = {}, {}
    for inner in (True, False):
        monkeypatch.setattr(gemm, "_CONV_BLOCK_INNER", inner)
        jf = fg.jit(lambda x, w: f(x, w), backend="c")
        src[inner] = jf.lower(x, w).source
        got[inner] = [np.asarray(a) for a in jf(x, w)]
    assert src[True] != src[False] and "ckb" in src[True]
    for a, b in zip(got[True], got[False]):
        np.testing.assert_array_equal(a, b)
    _close(got[True], fg.jit(f, backend="reference")(x, w), 2e-5, 2e-5)


@pytest.mark.parametrize("backend", ["reference", "c"])
def test_gradients_of_a_convolution_with_an_empty_output(backend):
    """VALID with a dilated window wider than the input: the output is empty (JAX's shape
    (1, 0, 3, 3, 3)), and both gradients are zeros. The reference backend's filter
    gradient, a convolution with the empty cotangent as its kernel, dilated it into a
    negative window and NumPy raised (found by the k-block hypothesis test below)."""
    x = np.ones((1, 3, 3, 3, 1), np.float32)
    w = np.ones((3, 1, 1, 1, 3), np.float32)
    kw = {"window_strides": (2, 1, 1), "padding": "VALID", "rhs_dilation": (2, 1, 1),
          "dimension_numbers": ("NDHWC", "DHWIO", "NDHWC")}

    def loss(x, w):
        return lax.conv_general_dilated(x, w, **kw).sum()
    y = fg.jit(lambda x, w: lax.conv_general_dilated(x, w, **kw), backend=backend)(x, w)
    assert y.shape == (1, 0, 3, 3, 3)
    gx, gw = fg.jit(fg.grad(loss, argnums=(0, 1)), backend=backend)(x, w)
    np.testing.assert_array_equal(np.asarray(gx), np.zeros_like(x))
    np.testing.assert_array_equal(np.asarray(gw), np.zeros_like(w))


@st.composite
def _blocked_filter_gradient_cases(draw):
    """1-, 2- and 3-D convolutions (strides, dilation, groups, both layouts) for filter
    gradients swept in k blocks far smaller than the real ones (see the test)."""
    nsp = draw(st.integers(1, 3))
    isp = {1: [draw(st.integers(20, 60))],
           2: [draw(st.integers(5, 12)) for _ in range(2)],
           3: [draw(st.integers(3, 6)) for _ in range(3)]}[nsp]
    n = draw(st.integers(1, 3))
    G = draw(st.sampled_from([1, 2]))
    cg, fg_ = draw(st.integers(1, 4)), draw(st.sampled_from([3, 8, 16, 20]))
    ks = [draw(st.integers(1, 3)) for _ in range(nsp)]
    sp = "DHW"[3 - nsp:]
    nchw = draw(st.booleans())
    dn = ("NC" + sp, "OI" + sp, "NC" + sp) if nchw else ("N" + sp + "C", sp + "IO",
                                                          "N" + sp + "C")
    xs = (n, cg * G, *isp) if nchw else (n, *isp, cg * G)
    ws = (fg_ * G, cg, *ks) if nchw else (*ks, cg, fg_ * G)
    kw = {"window_strides": tuple(draw(st.integers(1, 2)) for _ in range(nsp)),
          "padding": draw(st.sampled_from(["SAME", "VALID"])),
          "rhs_dilation": tuple(draw(st.integers(1, 2)) for _ in range(nsp)),
          "dimension_numbers": dn, "feature_group_count": G}
    block = draw(st.sampled_from([64, 256, 1024]))
    return xs, ws, kw, block, draw(st.integers(0, 2 ** 16))


@settings(max_examples=15, deadline=None)
@given(_blocked_filter_gradient_cases())
def test_filter_gradients_in_small_k_blocks_hypothesis(case):
    """With the block trigger and size cut to a few hundred bytes, small filter gradients
    are k-blocked on every axis position (the batch, a row, a column, with partial last
    blocks): the bits of blocking the outermost axis, close to the reference."""
    xs, ws, kw, block, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    f = lambda x, w: lax.conv_general_dilated(x, w, **kw)
    y = fg.jit(f, backend="reference")(x, w)
    ct = rng.standard_normal(y.shape).astype(np.float32)

    def filter_grad(x, w):
        return fg.vjp(lambda w: f(x, w), w)[1](ct)[0]
    saved = gemm._CONV_BLOCK_TRIGGER, gemm._CONV_BLOCK_BYTES, gemm._CONV_BLOCK_INNER
    got = {}
    try:
        gemm._CONV_BLOCK_TRIGGER, gemm._CONV_BLOCK_BYTES = 256, block
        for inner in (True, False):
            gemm._CONV_BLOCK_INNER = inner
            got[inner] = np.asarray(fg.jit(lambda x, w: filter_grad(x, w), backend="c")(x, w))
    finally:
        gemm._CONV_BLOCK_TRIGGER, gemm._CONV_BLOCK_BYTES, gemm._CONV_BLOCK_INNER = saved
    np.testing.assert_array_equal(got[True], got[False])
    _close(got[True], fg.jit(filter_grad, backend="reference")(x, w), 2e-5, 2e-5)


def test_vector_conv_tiles_fuse_explicitly_and_share_their_function(monkeypatch):
    """Vector tiles call the FMA instruction's builtin (no contraction left to gcc), so the
    convolution's function needs no attributes."""
    if gemm.cpu_level() not in ("v3", "v4"):
        pytest.skip("vector tiles need FMA (x86-64-v3)")
    monkeypatch.setattr(gemm, "CONV_WIDE_TILES", False)
    monkeypatch.setattr(gemm, "CONV_VECTOR_TILES", True)
    x = np.zeros((2, 8, 8, 4), np.float32)
    w = np.zeros((3, 3, 4, 64), np.float32)
    # (sin: libm's; float32 tanh is cdsl's own helper now, whose polynomials call fmaf)
    f = lambda x, w: fnp.sin(lax.conv_general_dilated(
        x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) * 2.0 + 1.0)
    src = fg.jit(f, backend="c").lower(x, w).source
    assert "__builtin_ia32_vfmadd" in src and "fmaf(" not in src
    assert "optimize(" not in src and "prefer-vector-width" not in src


@pytest.mark.parametrize("vector", [False, True])
def test_wide_conv_tiles_are_alone_in_a_512_bit_function(vector, monkeypatch):
    monkeypatch.setattr(gemm, "CONV_WIDE_TILES", True)
    monkeypatch.setattr(gemm, "CONV_VECTOR_TILES", vector)
    x = np.zeros((2, 8, 8, 4), np.float32)
    w = np.zeros((3, 3, 4, 64), np.float32)
    f = lambda x, w: fnp.tanh(lax.conv_general_dilated(
        x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")) + 1.0)
    src = fg.jit(f, backend="c").lower(x, w).source
    nr = 4 if vector else 4 * gemm._simd_width(np.float32)   # accumulators per row
    assert f"ca{gemm.CONV_MR - 1}_{nr - 1}" in src and f"ca0_{nr}" not in src
    assert src.count(gemm.CONV_WIDE_ATTRIBUTE) == 1
    # the function with the attribute holds the convolution and nothing else
    after = src.split(gemm.CONV_WIDE_ATTRIBUTE + " void ")[1].split("\n}\n")[0]
    assert "conv_general_dilated" in after and "tanh" not in after
    assert src.count("conv_general_dilated") == 1


@pytest.mark.parametrize("vendor,family,level,wide", [
    ("GenuineIntel", "6", "v4", True),        # two 512-bit FMA units
    ("AuthenticAMD", "25", "v4", False),      # Zen 4: a 512-bit FMA in two 256-bit halves
    ("AuthenticAMD", "26", "v4", True),       # Zen 5 (full-width datapath)
    ("GenuineIntel", "6", "v3", False),       # no AVX-512
])
def test_wide_conv_tiles_only_where_they_pay(vendor, family, level, wide, monkeypatch):
    monkeypatch.setattr(gemm, "cpu_info", lambda: {"vendor_id": vendor,
                                                   "cpu family": family})
    monkeypatch.setattr(gemm, "cpu_level", lambda: level)
    assert gemm._wide_conv_tiles_pay() is wide

