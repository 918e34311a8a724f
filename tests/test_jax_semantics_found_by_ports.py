"""Differences from JAX found by new JAX ports (tests/ports/, session of 2026-12-01): each
test holds JAX 0.10.2's result for a small case, eagerly and under `jit`, on every test
backend."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax


def test_the_derivative_of_abs_at_zero_is_one(run):
    # JAX: select(x >= 0, g, -g), so +1 at +0.0 and -0.0 (and -1 at NaN); sign(x) gave 0,
    # and an L1 penalty on weights that start at zero never moved them
    x = np.array([0.0, -0.0, 1.0, -2.0, np.nan], np.float32)
    g = run(fg.grad(lambda x: fnp.sum(fnp.abs(x))), x)
    np.testing.assert_array_equal(g, [1, 1, 1, -1, -1])
    t = run(lambda x: fg.jvp(fnp.abs, (x,), (np.full(5, 2.0, np.float32),))[1], x)
    np.testing.assert_array_equal(t, [2, 2, 2, -2, -2])


def test_a_scatter_max_tie_shares_its_tangent(run):
    # JAX divides the tangent among the tied winners (the operand and the updates equal to
    # the result); a sum moved max(1, 1) at twice the rate of its inputs
    idx = np.array([0, 0, 1])
    u = np.array([1.0, 1.0, -1.0], np.float32)
    t = run(lambda u: fg.jvp(lambda u: fnp.zeros(2).at[idx].max(u), (u,), (fnp.ones(3),))[1], u)
    np.testing.assert_array_equal(t, [1, 0])
    g = run(fg.grad(lambda u: fnp.sum(fnp.zeros(3).at[np.array([0, 0, 2])].max(u))), u)
    np.testing.assert_array_equal(g, [0.5, 0.5, 0])
    gx, gu = run(fg.grad(lambda x, u: fnp.sum(x.at[np.array([0, 0, 2])].min(u)), argnums=(0, 1)),
                 np.array([1.0, 5.0, -1.0], np.float32), u)
    np.testing.assert_allclose(gx, [1 / 3, 1, 0.5], rtol=1e-6)
    np.testing.assert_allclose(gu, [1 / 3, 1 / 3, 0.5], rtol=1e-6)


def test_a_fori_loop_without_trips_returns_arrays():
    # JAX traces the body of a zero-trip loop: the carry comes back as Arrays of the
    # body's types, not as the Python scalars passed in
    for lo, hi in ((0, 0), (5, 2)):
        r = lax.fori_loop(lo, hi, lambda i, c: (c[0] + i, c[1] * 2.0), (0, 1.5))
        assert all(isinstance(v, fg.Array) for v in r)
        assert [v.dtype for v in r] == [np.int32, np.float32]
        assert [float(v) for v in r] == [0.0, 1.5]
    assert float(fg.jit(lambda x: lax.fori_loop(3, 3, lambda i, a: a * x, x))(2.0)) == 2.0
    assert float(fg.grad(lambda x: lax.fori_loop(0, 0, lambda i, a: a * x, x))(2.0)) == 1.0


def test_diff_of_a_mask_is_where_neighbours_differ(run):
    m = np.array([True, False, False, True])
    d1, d2 = run(lambda m: (fnp.diff(m), fnp.diff(m, n=2)), m)
    assert d1.dtype == bool and d1.tolist() == [True, False, True]
    assert d2.tolist() == [True, True]


def test_at_get_with_mode_fill(run):
    x = np.arange(5.0, dtype=np.float32)
    a, b = run(lambda x: (x.at[np.array([[1, 2], [4, 7]])].get(mode="fill", fill_value=-1.0),
                          x.at[np.array([-1, -6, 5])].get(mode="fill")), x)
    np.testing.assert_array_equal(a, [[1, 2], [4, -1]])
    np.testing.assert_array_equal(b, [4, np.nan, np.nan])
    y = np.arange(12, dtype=np.int32).reshape(3, 4)
    c = run(lambda y: y.at[np.array([0, 3]), 1:].get(mode="fill"), y)
    np.testing.assert_array_equal(c, [[1, 2, 3], [np.iinfo(np.int32).min] * 3])
    g = run(fg.grad(lambda x: x.at[np.array([1, 9, 1])].get(mode="fill", fill_value=0.).sum()),
            x)
    np.testing.assert_array_equal(g, [0, 2, 0, 0, 0])
    # under another mode (or none) JAX 0.10 ignores fill_value (funcgrad raised TypeError)
    for mode in (None, "clip", "promise_in_bounds"):
        np.testing.assert_array_equal(
            fnp.arange(10).at[np.array([0, 12])].get(mode=mode, fill_value=-5), [0, 9])


def test_round_of_integers_to_tens_raises_instead_of_returning_them():
    # NumPy rounds to tens, JAX raises; funcgrad returned the input unchanged
    with pytest.raises(NotImplementedError, match="round: integer arrays"):
        fnp.round(fnp.array([15, 25, -15, 14]), -1)
    np.testing.assert_array_equal(np.asarray(fnp.round(fnp.array([15, 25]), 0)), [15, 25])


def test_round_with_decimals_of_float16_scales_in_float32_and_past_precision_is_a_no_op():
    # JAX 0.10.2: float16 round(65504, 2) is 65504 (scaled in float32; in float16, as NumPy
    # scales, it overflowed to inf), and float32 round(1.5, 39) is 1.5 (the factor 1e39
    # overflowed to inf)
    for f in (lambda x, d: fnp.round(x, d), fg.jit(fnp.round, static_argnums=1)):
        assert float(f(np.float16(65504), 2)) == 65504.0
        assert f(np.float16(65504), 2).dtype == fnp.float16
        assert float(f(np.float32(1.5), 39)) == 1.5
        np.testing.assert_array_equal(np.asarray(f(np.array([1.2345, -2.5], np.float16), 3)),
                                      np.array([1.234, -2.5], np.float16))


def test_a_derivative_of_gamma_draws_in_their_shape_parameter_is_jax_s():
    # a derivative through the rejection loop holds the accepted proposal fixed: jvp gave
    # 0.977 where JAX's implicit reparameterisation gives 0.966, silently; grad raised an
    # error about while_loop. It then raised, naming the missing rule; now the rule is
    # JAX's (lax.random_gamma_grad, tests/test_igamma.py), and stop_gradient still works.
    k = fg.random.PRNGKey(0)
    a = np.float32(2.0)
    _, t = fg.jvp(lambda a: fg.random.gamma(k, a, (3,)), (a,), (np.float32(1.0),))
    np.testing.assert_allclose(np.asarray(t), [0.9656762, 1.0179105, 0.8033617], rtol=2e-5)
    draws = np.asarray(fg.random.gamma(k, a, (3,)))
    np.testing.assert_allclose(draws, [1.5897877, 1.7599413, 1.1290071], rtol=1e-6)  # JAX's
    g = fg.jit(fg.grad(lambda a: fg.random.gamma(k, lax.stop_gradient(a), (3,)).sum() * a))(a)
    np.testing.assert_allclose(float(g), draws.sum(), rtol=1e-6)
    scale = fg.grad(lambda s: (s * fg.random.gamma(k, a, (3,))).sum())(np.float32(1.5))
    np.testing.assert_allclose(float(scale), draws.sum(), rtol=1e-6)


# --- found by the ports of 2026-12-02 --------------------------------------------------------

def test_view_reinterprets_bits(run):
    # JAX's Array.view is a bitcast; funcgrad's converted the values (view(int32) of
    # [1., 2.] gave [1, 2])
    x = np.array([1.0, 2.0], np.float32)
    a, b, c = run(lambda x: (x.view(fnp.int32), x.view(fnp.uint16),
                             x.view(fnp.uint8).view(fnp.float32)), x)
    np.testing.assert_array_equal(a, [1065353216, 1073741824])
    np.testing.assert_array_equal(b, [0, 16256, 0, 16384])
    np.testing.assert_array_equal(c, x)


def test_shift_right_logical_of_negative_signed_integers_fills_zeros(run):
    # JAX: the bits shifted as unsigned, shift_right_logical(int32(-17), 28) == 15;
    # funcgrad shifted arithmetically (-1)
    x = np.array([-17, -1, 0, 1, 2147483647], np.int32)
    out = run(lambda x: (lax.shift_right_logical(x, 28), lax.shift_right_arithmetic(x, 28),
                         lax.shift_right_logical(x.astype(np.int8), np.int8(4))), x)
    np.testing.assert_array_equal(out[0], [15, 15, 0, 0, 7])
    np.testing.assert_array_equal(out[1], [-1, -1, 0, 0, 7])
    np.testing.assert_array_equal(out[2], [14, 15, 0, 0, 15])


def test_bitcast_convert_type(run):
    # missing (AttributeError); JAX's values
    f = np.array([1.0, -2.0, 0.1, np.inf, -0.0, 1e-45, 3.4028235e38], np.float32)
    u, i, back = run(lambda f: (lax.bitcast_convert_type(f, fnp.uint32),
                                lax.bitcast_convert_type(f, fnp.int32),
                                lax.bitcast_convert_type(
                                    lax.bitcast_convert_type(f, fnp.uint32), fnp.float32)), f)
    np.testing.assert_array_equal(u, [1065353216, 3221225472, 1036831949, 2139095040,
                                      2147483648, 1, 2139095039])
    np.testing.assert_array_equal(i, u.view(np.int32))
    np.testing.assert_array_equal(back.view(np.uint32), u)
    u8 = np.array([[0, 0, 128, 63], [0, 0, 0, 192]], np.uint8)
    g, h = run(lambda u8: (lax.bitcast_convert_type(u8, fnp.float32),
                           lax.bitcast_convert_type(fnp.float32(1.5), fnp.uint16)), u8)
    np.testing.assert_array_equal(g, [1.0, -2.0])
    np.testing.assert_array_equal(h, [0, 16320])
    hb = np.array([0x3C00, 0xC000, 0x7C00, 0x0001], np.uint16)
    half = run(lambda b: lax.bitcast_convert_type(b, fnp.float16), hb)
    np.testing.assert_array_equal(half.view(np.uint16), hb)
    # the fast inverse square root: the bit trick carries no derivative, as in JAX
    x = np.array([0.25, 1.0, 10.0], np.float32)

    def rsqrt(x):
        i = np.int32(0x5F3759DF) - (lax.bitcast_convert_type(x, fnp.int32) >> 1)
        y = lax.bitcast_convert_type(i, fnp.float32)
        return y * (1.5 - 0.5 * x * y * y)
    np.testing.assert_allclose(run(rsqrt, x), [1.996614, 0.9983072, 0.3156858], rtol=1e-6)
    np.testing.assert_allclose(run(fg.grad(lambda x: rsqrt(x).sum()), x),
                               [-3.608124, -0.4510155, -0.01746005], rtol=1e-5)


def test_correlate_conjugates_a_complex_second_argument(run):
    # NumPy's and JAX's c[k] = sum_n a[n+k] conj(v[n]); funcgrad did not conjugate
    a = np.array([1j, 2.0, 1.0], np.complex64)
    v = np.array([1.0, 1j], np.complex64)
    full, same = run(lambda a, v: (fnp.correlate(a, v, mode="full"),
                                   fnp.correlate(v, a, mode="same")), a, v)
    np.testing.assert_allclose(full, [1, -1j, 2 - 1j, 1])
    np.testing.assert_allclose(same, [2 + 1j, 1j, 1])


def test_histogram2d_counts_are_integers(run):
    # JAX counts with bincount: int32 without weights (funcgrad gave float32, NumPy's)
    x = np.array([0.0, 1.0, 1.0], np.float32)
    y = np.array([0.0, 0.0, 1.0], np.float32)
    h, hw, hd = run(lambda x, y: (fnp.histogram2d(x, y, bins=2)[0],
                                  fnp.histogram2d(x, y, bins=2, weights=fnp.ones(3))[0],
                                  fnp.histogram2d(x, y, bins=2, density=True)[0]), x, y)
    assert h.dtype == np.int32 and h.tolist() == [[1, 0], [1, 1]]
    assert hw.dtype == np.float32 and hd.dtype == np.float32
    np.testing.assert_allclose(hd, [[4 / 3, 0], [4 / 3, 4 / 3]], rtol=1e-6)


def test_tanh_derivative_rounds_as_jax_in_bfloat16(run):
    # JAX differentiates tanh as (g + g*y) * (1 - y); funcgrad's g * (1 - y*y) rounded
    # differently in bfloat16 (and cancels near saturation)
    x = np.array([0.3, 0.9, 0.99, -0.7, 2.5], np.float32).astype(fnp.bfloat16)
    g = run(fg.vmap(fg.grad(fnp.tanh)), x)
    np.testing.assert_array_equal(g.astype(np.float32),
                                  np.array([0.914062, 0.488281, 0.425781, 0.636719, 0.0233154],
                                           np.float32).astype(fnp.bfloat16).astype(np.float32))
    g = run(fg.vmap(fg.grad(fnp.arctanh)), np.array([0.999, -0.9999, 0.5], np.float32))
    np.testing.assert_allclose(g, [500.25653, 4999.4204, 1.3333334], rtol=2e-6)


def test_scipy_special_functions_jax_has(run):
    # polygamma, zeta, i0e, i1e, i0, i1, rel_entr, kl_div, factorial were missing
    from funcgrad.scipy import special as sp
    a = np.array([0.3, 1.0, 2.5, 7.0, 30.0], np.float32)
    pg1, pg2, z = run(lambda a: (sp.polygamma(1, a), sp.polygamma(2, a), sp.zeta(2.0, a)), a)
    np.testing.assert_allclose(pg1, [12.245364, 1.644934, 0.490358, 0.153545, 0.033895],
                               rtol=2e-6)
    np.testing.assert_allclose(pg2, [-75.27254, -2.404114, -0.2362041, -0.02353048,
                                     -0.001148766], rtol=2e-6)
    np.testing.assert_allclose(z, pg1, rtol=1e-6)
    np.testing.assert_allclose(run(fg.grad(lambda v: sp.polygamma(1, v)), np.float32(2.5)),
                               -0.2362041, rtol=2e-6)
    b = np.array([0.0, 0.5, 2.0, 10.0, -3.0], np.float32)
    i0e, i1e, i0 = run(lambda b: (sp.i0e(b), sp.i1e(b), sp.i0(b[:3])), b)
    np.testing.assert_allclose(i0e, [1.0, 0.645035, 0.308508, 0.127833, 0.243], rtol=1e-5)
    np.testing.assert_allclose(i1e, [0.0, 0.156421, 0.215269, 0.121263, -0.196827], rtol=1e-5)
    np.testing.assert_allclose(i0, [1.0, 1.063483, 2.279585], rtol=1e-5)
    p = np.array([0.0, 0.2, 0.5, 0.3], np.float32)
    q = np.array([0.1, 0.0, 0.25, 0.3], np.float32)
    r, k, f = run(lambda p, q: (sp.rel_entr(p, q), sp.kl_div(p[[0, 2]], q[[0, 2]]),
                                sp.factorial(fnp.array([0.0, 5.0, -1.0]))), p, q)
    np.testing.assert_allclose(r, [0.0, np.inf, 0.3465736, 0.0], rtol=1e-6)
    np.testing.assert_allclose(k, [0.1, 0.096574], rtol=1e-5)
    np.testing.assert_allclose(f, [1.0, 120.0, 0.0], rtol=1e-5)


def test_checkpoint_policies_are_callables_checkpoint_accepts():
    # jax.checkpoint_policies.nothing_saveable and friends (funcgrad recomputes everything
    # whatever the policy, so results do not change)
    from funcgrad.ad import checkpoint_policies as cp

    def f(x):
        return fnp.sin(x) * x
    for policy in (cp.nothing_saveable, cp.everything_saveable, cp.dots_saveable,
                   cp.dots_with_no_batch_dims_saveable, cp.save_only_these_names("a"),
                   cp.save_from_both_policies(cp.dots_saveable, cp.nothing_saveable)):
        g = fg.grad(lambda x: fg.checkpoint(f, policy=policy)(x))(np.float32(0.5))
        np.testing.assert_allclose(float(g), np.sin(0.5) + 0.5 * np.cos(0.5), rtol=1e-6)


def test_grad_of_a_vector_dot_under_jit(run):
    # the transpose of a 1-D dot by the literal seed of grad was a dot_general of a scalar
    # literal, which the C and OpenCL lowerings rejected ('Lit' object has no attribute 'id')
    w = np.array([1.0, -2.0, 0.5], np.float32)
    x = np.array([0.5, 1.0, 2.0], np.float32)
    np.testing.assert_array_equal(run(fg.grad(lambda x: fnp.dot(x, w)), x), w)
    np.testing.assert_array_equal(run(fg.grad(lambda x: fnp.vdot(x, x)), x), 2 * x)
    g = run(fg.grad(lambda x: fnp.real(fnp.vdot(x * (1 + 1j), w.astype(np.complex64)))), x)
    np.testing.assert_array_equal(g, w)
    np.testing.assert_array_equal(
        run(lambda x: lax.dot_general(np.float32(2.0), x, (((), ()), ((), ()))), x), 2 * x)


def test_view_of_complex_arrays(run):
    # JAX views a complex64 as (real, imag) float32 pairs; funcgrad's view was astype
    z = np.array([1 + 2j, -3j], np.complex64)
    f, u = run(lambda z: (z.view(fnp.float32), z.view(fnp.uint32)), z)
    np.testing.assert_array_equal(f, [1, 2, -0.0, -3])
    np.testing.assert_array_equal(u, z.view(np.uint32))
    back = run(lambda f: f.view(fnp.complex64), np.array([1, 2, 3, 4], np.float32))
    np.testing.assert_array_equal(back, [1 + 2j, 3 + 4j])


def test_partition_orders_nan_as_the_largest(run):
    # JAX's partition and argpartition keep NaN above every number (as sort does); funcgrad
    # took NaN as the smallest for the lower part and the largest for the upper one, so
    # partition lost values and repeated the NaN ([nan, 1, nan, 3] for [3, nan, 2, 1])
    x = np.array([3.0, np.nan, 2.0, 1.0, np.inf, -np.inf], np.float32)
    p1, p3, a1, a4 = run(lambda x: (fnp.partition(x, 1), fnp.partition(x, 3),
                                    fnp.argpartition(x, 1), fnp.argpartition(x, 4)), x)
    np.testing.assert_array_equal(p1, [-np.inf, 1, np.nan, np.inf, 3, 2])
    np.testing.assert_array_equal(p3, [-np.inf, 1, 2, 3, np.nan, np.inf])
    np.testing.assert_array_equal(a1, [5, 3, 0, 1, 2, 4])
    np.testing.assert_array_equal(a4, [5, 3, 2, 0, 4, 1])


def test_python_ints_wrap_into_small_integer_types():
    # JAX converts a weak Python int as int32 and casts it with wraparound (uint8 * 300
    # multiplies by 44); funcgrad raised OverflowError. Beyond int32 both raise.
    u8 = fnp.array([1, 2], fnp.uint8)
    for f in (lambda u: u * 300, lambda u: u + -1):
        for g in (f, fg.jit(f)):
            out = g(u8)
            assert out.dtype == np.uint8
    np.testing.assert_array_equal(np.asarray(u8 * 300), [44, 88])
    np.testing.assert_array_equal(np.asarray(u8 + -1), [0, 1])
    np.testing.assert_array_equal(np.asarray(fnp.array([1], fnp.int16) + 70000), [4465])
    with pytest.raises(OverflowError):
        fnp.array([1], fnp.int8) + 2 ** 33


def test_array_of_a_python_scalar_is_weakly_typed():
    # JAX: jnp.array(3.0) is weak (float16 array * jnp.array(3.0) stays float16); funcgrad
    # made it strong (float32)
    assert fnp.array(3.0).weak_type and fnp.array(300).weak_type
    assert not fnp.array(3.0, dtype=fnp.float32).weak_type and not fnp.array([3.0]).weak_type
    assert (fnp.ones(2, fnp.float16) * fnp.array(3.0)).dtype == np.float16
    np.testing.assert_array_equal(np.asarray(fnp.array([1, 2], fnp.uint8) * fnp.array(300)),
                                  [44, 88])


def test_lax_reduce_precision_and_nextafter(run):
    # missing (AttributeError); XLA's ReducePrecision bit for bit: ties to even, overflow to
    # inf, below the reduced type's smallest normal flushed to zero, NaN kept
    x = np.array([1.0001, 70000.0, 65519.0, 6e-5, -1e-8, np.nan, 2.5, 0.1], np.float32)
    h, b, e43 = run(lambda x: (lax.reduce_precision(x, exponent_bits=5, mantissa_bits=10),
                               lax.reduce_precision(x, 8, 7), lax.reduce_precision(x, 4, 3)), x)
    # JAX's values: 6e-5 is below float16's smallest normal (6.1e-5), so it flushes to 0
    np.testing.assert_array_equal(h, [1.0, np.inf, 65504.0, 0.0, -0.0, np.nan, 2.5,
                                      0.0999755859375])
    assert np.signbit(h[4])
    np.testing.assert_array_equal(b, x.astype(fnp.bfloat16).astype(np.float32))
    np.testing.assert_array_equal(e43, [1.0, np.inf, np.inf, 0.0, -0.0, np.nan, 2.5,
                                        0.1015625])
    g = run(fg.grad(lambda v: lax.reduce_precision(v * 3.0, 5, 10)), np.float32(1.0001))
    assert float(g) == 3.0
    n = run(lambda x: lax.nextafter(x, np.float32(2.0)), np.float32(1.0))
    assert float(n) == float(np.nextafter(np.float32(1.0), np.float32(2.0)))


def test_interp_bincount_histogram_as_jax(run):
    # interp of complex fp dropped the imaginary parts; bincount counted -1 in the last bin
    # (JAX clips negatives to the first); histogram of integer data counted in int32 (JAX
    # promotes the data to float: float32 counts)
    out = run(lambda x: fnp.interp(x, fnp.array([0.0, 1.0]), fnp.array([1.0 + 1j, 2.0]),
                                   left=0.0, right=5j), np.array([0.5, 2.0, -1.0], np.float32))
    np.testing.assert_array_equal(out, [1.5 + 0.5j, 5j, 0])
    b = run(lambda x: fnp.bincount(x, length=5), np.array([-1, -1, 1, 3, 10], np.int32))
    np.testing.assert_array_equal(b, [2, 1, 0, 1, 0])
    h, hw = run(lambda a: (fnp.histogram(a, bins=2)[0],
                           fnp.histogram(a, bins=2, weights=fnp.array([1, 2, 3, 4]))[0]),
                np.array([0, 1, 2, 3], np.int32))
    assert h.dtype == np.float32 and h.tolist() == [2, 2]
    assert hw.dtype == np.float32 and hw.tolist() == [3, 7]


def test_frexp_and_ldexp_are_exact(run):
    # frexp took log2, which rounds across a power of two (7.9999995 gave 0.49999997 * 2**4,
    # outside [0.5, 1)), and gave (nan, 2**31 - 1) at inf where JAX and NumPy give (inf, 0);
    # ldexp went through exp2 (0.75 * 2**128 overflowed to inf)
    x = np.array([np.nextafter(np.float32(8), 0), 3.0, -np.inf, 0.0, np.nan], np.float32)
    m, e = run(fnp.frexp, x)
    np.testing.assert_array_equal(m, [np.nextafter(np.float32(1), 0), 0.75, -np.inf, 0.0,
                                      np.nan])
    np.testing.assert_array_equal(e, [3, 2, 0, 0, 0])
    r = run(fnp.ldexp, np.array([0.75, 1.0, 3.0], np.float32), np.array([128, -149, 2]))
    np.testing.assert_array_equal(r, np.ldexp(np.array([0.75, 1.0, 3.0], np.float32),
                                              [128, -149, 2]))


def test_special_function_edges_as_jax(run):
    # xlogy(0, nan) and entr(nan) are NaN (funcgrad gave 0 and -inf); entr's derivative at
    # 0 is +inf (funcgrad's where-guard gave 0); logsumexp of nothing is -inf (raised)
    from funcgrad.scipy import special as sp
    a, b, c = run(lambda x: (sp.xlogy(fnp.zeros(2), x), sp.xlog1py(fnp.zeros(2), x),
                             sp.entr(fnp.concatenate([x, fnp.array([0.0, 0.5, -1.0])]))),
                  np.array([np.nan, 2.0], np.float32))
    np.testing.assert_array_equal(a, [np.nan, 0])
    np.testing.assert_array_equal(b, [np.nan, 0])
    np.testing.assert_allclose(c, [np.nan, -2 * np.log(2), 0, 0.5 * np.log(2), -np.inf],
                               rtol=1e-6)
    g = run(fg.vmap(fg.grad(sp.entr)), np.array([0.0, 0.5], np.float32))
    np.testing.assert_allclose(g, [np.inf, -(1 + np.log(0.5))], rtol=1e-6)
    e = run(lambda x: (sp.logsumexp(x), fg.nn.logsumexp(fnp.zeros((2, 0)) + x.sum(), axis=1)),
            np.zeros(0, np.float32))
    assert float(e[0]) == -np.inf and e[1].tolist() == [-np.inf, -np.inf]


def test_full_with_an_array_fill_value_and_a_dtype_broadcasts(run):
    # JAX broadcasts an array fill value whatever the dtype argument; funcgrad raised in
    # full(..., dtype=) and full_like (and so in nn.initializers.constant(array))
    v = np.array([1.0, 2.0], np.float32)
    a, b, c = run(lambda v: (fnp.full((2, 2), v, dtype=fnp.int32),
                             fnp.full_like(fnp.zeros((2, 2), fnp.int8), v),
                             fg.nn.initializers.constant(v)(fg.random.PRNGKey(0), (2, 2))), v)
    assert a.dtype == np.int32 and a.tolist() == [[1, 2], [1, 2]]
    assert b.dtype == np.int8 and b.tolist() == [[1, 2], [1, 2]]
    assert c.dtype == np.float32 and c.tolist() == [[1, 2], [1, 2]]


# --- found by the second batch of ports of 2026-12-02 ----------------------------------------

def test_vmap_passes_unmapped_arguments_through_unchanged():
    # JAX hands an in_axes=None leaf to the function as it was passed: a Python int stays
    # an int (random.split(key, n_steps), jnp.zeros(n)); funcgrad made it an Array, and
    # random.split raised "shape must be a tuple of non-negative integers"
    seen = []

    def f(x, n, s):
        seen.append((type(n), type(s)))
        return fnp.zeros(n) + x

    out = fg.vmap(f, in_axes=(0, None, None))(fnp.ones(3), 2, "tag")
    assert seen == [(int, str)] and out.shape == (3, 2)
    keys = fg.vmap(lambda k, n: fg.random.split(k, n), in_axes=(0, None))(
        fg.random.split(fg.random.PRNGKey(0), 2), 4)
    assert keys.shape == (2, 4, 2)
    np.testing.assert_array_equal(np.asarray(keys[1]),
                                  np.asarray(fg.random.split(fg.random.split(
                                      fg.random.PRNGKey(0), 2)[1], 4)))
    g = fg.grad(lambda s: fg.vmap(lambda x, c: x * c, in_axes=(0, None))(fnp.ones(3), s).sum())
    assert float(g(2.5)) == 3.0


def test_pad_has_every_mode_and_checks_its_keywords(run):
    # 'linear_ramp', 'maximum', 'minimum', 'mean', 'median', 'empty' and a callable mode
    # raised NotImplementedError, and reflect_type='odd' was ignored silently (the even
    # reflection came back); JAX's values
    v = np.array([1.0, 2.0, 4.0, 3.0], np.float32)
    out = run(lambda v: (fnp.pad(v, (3, 2), mode="linear_ramp", end_values=(10.0, -2.0)),
                         fnp.pad(v, (1, 2), mode="maximum", stat_length=2),
                         fnp.pad(v, 2, mode="mean"),
                         fnp.pad(v, (2, 1), mode="minimum", stat_length=(3, 1)),
                         fnp.pad(v, 1, mode="median"),
                         fnp.pad(v, (2, 2), mode="reflect", reflect_type="odd"),
                         fnp.pad(v, 3, mode="symmetric", reflect_type="odd"),
                         fnp.pad(v, (7, 6), mode="reflect", reflect_type="odd"),
                         fnp.pad(v, 1, mode="empty")), v)
    np.testing.assert_allclose(out[0], [10, 7, 4, 1, 2, 4, 3, 0.5, -2], rtol=1e-6)
    np.testing.assert_array_equal(out[1], [2, 1, 2, 4, 3, 4, 4])
    np.testing.assert_array_equal(out[2], [2.5, 2.5, 1, 2, 4, 3, 2.5, 2.5])
    np.testing.assert_array_equal(out[3], [1, 1, 1, 2, 4, 3, 3])
    np.testing.assert_array_equal(out[4], [2.5, 1, 2, 4, 3, 2.5])
    np.testing.assert_array_equal(out[5], [-2, 0, 1, 2, 4, 3, 2, 4])
    np.testing.assert_array_equal(out[6], [-2, 0, 1, 1, 2, 4, 3, 3, 2, 4])
    np.testing.assert_array_equal(out[7], [-4, -3, -2, 0, -1, -2, 0, 1, 2, 4, 3, 2, 4, 5, 6,
                                           8, 7])
    np.testing.assert_array_equal(out[8], [0, 1, 2, 4, 3, 0])
    # integer statistics are rounded half to even before the cast (median of [1, 2] is 2)
    i = run(lambda x: (fnp.pad(x, (2, 2), mode="median", stat_length=2),
                       fnp.pad(x, 2, mode="mean"),
                       fnp.pad(x[:3], (3, 2), mode="linear_ramp", end_values=(-4, 10))),
            np.array([1, 2, 3, 4], np.int32))
    assert i[0].tolist() == [2, 2, 1, 2, 3, 4, 4, 4] and i[0].dtype == np.int32
    assert i[1].tolist() == [2, 2, 1, 2, 3, 4, 2, 2]
    assert i[2].tolist() == [-4, -3, -1, 1, 2, 3, 6, 10]
    m = run(lambda m: fnp.pad(m, ((1, 2), (2, 1)), mode="symmetric", reflect_type="odd"),
            np.array([[1.0, 2.0], [3.0, 4.0]], np.float32))
    np.testing.assert_array_equal(m, [[0, 1, 1, 2, 2], [0, 1, 1, 2, 2], [2, 3, 3, 4, 4],
                                      [2, 3, 3, 4, 4], [4, 5, 5, 6, 6]])

    def custom(row, width, iaxis, kwargs):
        return row.at[:width[0]].set(kwargs["before"]).at[len(row) - width[1]:].set(-1.0)
    c = fnp.pad(fnp.array([2.0, 3.0, 4.0]), 2, custom, before=-10.0)
    np.testing.assert_array_equal(np.asarray(c), [-10, -10, 2, 3, 4, -1, -1])
    with pytest.raises(ValueError, match="unsupported keyword"):
        fnp.pad(fnp.ones(3), 1, mode="edge", stat_length=2)
    with pytest.raises(ValueError, match="unsupported keyword"):
        fnp.pad(fnp.ones(3), 1, mode="constant", reflect_type="odd")


def test_at_updates_with_mode_clip_clamp_their_indices(run):
    # JAX: mode='clip' moves an out-of-bounds update onto the nearest element (each axis
    # clamped, after negative indices wrap); funcgrad raised NotImplementedError
    x = np.array([0.0, 1.0, 2.0, 3.0], np.float32)
    a, b, c = run(lambda x: (x.at[np.array([-9, 7, 2])].add(np.array([1.0, 2.0, 3.0]),
                                                            mode="clip"),
                             fnp.zeros((2, 3)).at[np.array([5, -5]), np.array([1, 9])].set(
                                 np.array([1.0, 2.0]), mode="clip"),
                             x.at[np.array([12, -20])].set(np.array([7.0, 8.0]), mode="clip")),
                x)
    np.testing.assert_array_equal(a, [1, 1, 5, 5])
    np.testing.assert_array_equal(b, [[0, 0, 2], [0, 1, 0]])
    np.testing.assert_array_equal(c, [8, 1, 2, 7])
    d = run(lambda x: x.at[np.array([5])].power(2.0, mode="clip"), x[1:])
    np.testing.assert_array_equal(d, [1, 2, 9])
    g = run(fg.grad(lambda u: fnp.sum(fnp.zeros(3).at[np.array([0, 8, 9])].add(u, mode="clip")
                                      * np.array([1.0, 2.0, 3.0], np.float32))),
            np.ones(3, np.float32))
    np.testing.assert_array_equal(g, [1, 3, 3])


def test_linspace_to_integers_rounds_down_and_logspace_keeps_fractional_exponents(run):
    # JAX (and NumPy 2) floor linspace's values for an integer dtype; funcgrad truncated
    # toward zero ([-4, -2, 0] for [-4, -3, -1]). logspace(..., dtype=int32) rounded the
    # exponents, giving [1, 1, 10] where JAX gives [1, 3, 10].
    assert np.asarray(fnp.linspace(-4, 1, 3, endpoint=False, dtype=fnp.int32)).tolist() == \
        [-4, -3, -1]
    assert np.asarray(fnp.linspace(-7.5, 3, 5, dtype=fnp.int32)).tolist() == [-8, -5, -3, 0, 3]
    assert np.asarray(fnp.logspace(0, 1, 3, dtype=fnp.int32)).tolist() == [1, 3, 10]
    assert np.asarray(fnp.linspace(0, 1, 3, dtype=bool)).tolist() == [False, True, True]


def test_reduce_window_with_any_computation_operands_and_init(run):
    # JAX's reduce_window takes any associative, commutative computation, a pytree of
    # operands and any init value; funcgrad raised TypeError ("computation must be
    # lax.add, lax.max or lax.min") or NotImplementedError (an init that is not the
    # identity). XLA's CPU backend skips padding and base-dilation holes, so the init enters
    # each window once: JAX's values.
    x = np.array([1.0, -4.0, 2.0, -0.5, 3.0, -3.5], np.float32)
    out = run(lambda x: (
        lax.reduce_window(x, 0.0, lambda p, q: fnp.maximum(fnp.abs(p), fnp.abs(q)), (3,),
                          (1,), "SAME"),
        lax.reduce_window(x, 1.0, lax.add, (3,), (1,), "SAME"),
        lax.reduce_window(x, 10.0, lax.max, (2,), (1,), "VALID", base_dilation=(2,)),
        lax.reduce_window(x, 0.5, lax.mul, (2,), (2,), ((1, 1),), window_dilation=(2,)),
        lax.reduce_window(fnp.arange(12.0).reshape(3, 4), 2.0, lax.mul, (2, 2), (1, 2),
                          ((0, 1), (1, 0)))), x)
    np.testing.assert_array_equal(out[0], [4, 4, 4, 3, 3.5, 3.5])
    np.testing.assert_array_equal(out[1], [-2, 0, -1.5, 5.5, 0, 0.5])
    np.testing.assert_array_equal(out[2], [10] * 10)
    np.testing.assert_array_equal(out[3], [-2, 1, 0.875])
    np.testing.assert_array_equal(out[4], [[0, 120], [64, 5400], [16, 180]])

    def comp(a, b):
        (va, ia), (vb, ib) = a, b
        pick = (va > vb) | ((va == vb) & (ia < ib))
        return fnp.where(pick, va, vb), fnp.where(pick, ia, ib)
    v, i = run(lambda x: lax.reduce_window((x, fnp.arange(6)), (-fnp.inf, fnp.int32(0)), comp,
                                           (3,), (1,), "VALID"), x)
    np.testing.assert_array_equal(v, [2, 2, 3, 3])
    assert i.dtype == np.int32 and i.tolist() == [2, 2, 4, 4]


def test_einsum_takes_numpy_s_sublist_form(run):
    # jnp.einsum(a, [0, 1], b, [1, 2], [2, 0]) (NumPy's and JAX's interleaved form) raised
    # AttributeError ('ArrayImpl' object has no attribute 'replace')
    a = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    b = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    out = run(lambda a, b: (fnp.einsum(a, [0, 1], b, [1, 2], [2, 0]),
                            fnp.einsum(a, [0, 1], b, [1, 2]),
                            fnp.einsum(a, [Ellipsis, 1], b, [1, 2], [Ellipsis, 2]),
                            fnp.einsum(a, [1, 0])), a, b)
    np.testing.assert_array_equal(out[0], (a @ b).T)
    np.testing.assert_array_equal(out[1], a @ b)
    np.testing.assert_array_equal(out[2], a @ b)
    np.testing.assert_array_equal(out[3], a.T)      # implicit output: labels in order
    with pytest.raises(TypeError, match="sublist labels"):
        fnp.einsum(a, [0, "x"])



def test_binomial_and_multinomial_draw_jax_s_values():
    # funcgrad split the key between its two samplers, drew the inversion sampler's
    # uniforms from the other half of each split, and kept BTRS's first acceptance, so a
    # key gave other draws than JAX's ([3, 6, 4, 3, 6] for JAX's [0, 1, 4, 3, 6]); an
    # infinite count gave NaN where JAX gives inf
    k = fg.random.PRNGKey(3)
    np.testing.assert_array_equal(np.asarray(fg.random.binomial(k, 10, 0.3, (5,))),
                                  [0, 1, 4, 3, 6])
    np.testing.assert_array_equal(np.asarray(fg.random.multinomial(k, 10, fnp.array(
        [0.2, 0.3, 0.5]))), [1, 3, 6])
    key = fg.random.PRNGKey(11)
    np.testing.assert_array_equal(np.asarray(fg.random.binomial(
        key, fnp.array([20.0, 200.0, 3.0, 50.0]), fnp.array([0.3, 0.3, 0.9, 0.6]))),
        [5, 57, 2, 29])
    np.testing.assert_array_equal(np.asarray(fg.random.multinomial(
        key, 10, fnp.array([0.2, 0.3, 0.5]))), [3, 3, 4])
    assert float(fg.random.binomial(key, np.inf, 0.5)) == np.inf


def test_normal_with_a_complex_dtype():
    # JAX: (re + 1j * im) / sqrt(2) from split(key); funcgrad raised TypeError ("data type
    # 'c4' not understood": complex64 was narrowed as if it were a 64-bit type)
    k = fg.random.PRNGKey(3)
    z = fg.random.normal(k, (2,), dtype=fnp.complex64)
    assert z.dtype == np.complex64
    np.testing.assert_allclose(np.asarray(z), [-1.6817402 - 1.3740652j,
                                               -1.206442 + 0.07411618j], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(fg.jit(
        lambda k: fg.random.normal(k, (2,), dtype=fnp.complex64))(k)), np.asarray(z),
        rtol=1e-6)


def test_make_jaxpr_result_has_jax_s_attribute_names():
    # code that walks a jaxpr (`make_jaxpr(f)(x).jaxpr.eqns`, `eqn.primitive.name`,
    # `eqn.invars`) raised AttributeError ('ClosedProgram' object has no attribute 'jaxpr');
    # the programs themselves are funcgrad's, not JAX's
    closed = fg.make_jaxpr(lambda v: fnp.sin(v) * 2)(fnp.ones(3))
    assert closed.jaxpr is closed.program and closed.eqns == closed.jaxpr.eqns
    assert [e.primitive.name for e in closed.jaxpr.eqns] == ["sin", "mul"]
    first = closed.jaxpr.eqns[0]
    assert first.invars == closed.jaxpr.invars and first.outvars[0] is first.outputs[0]
    assert closed.literals == closed.consts == []
    assert closed.jaxpr.outvars[0].aval.shape == (3,)


def test_unravel_index_clips_out_of_range_indices(run):
    # JAX: an index in [-size, 0) counts from the end, others out of range clip to the
    # first or last element; funcgrad wrapped them modulo the size (7 in a (2, 3) array gave
    # (0, 1) where JAX gives (1, 2))
    r, c = run(lambda i: fnp.unravel_index(i, (2, 3)),
               np.array([0, 5, 7, -1, -6, -7, 100], np.int32))
    assert r.tolist() == [0, 1, 1, 1, 0, 0, 1] and c.tolist() == [0, 2, 2, 2, 0, 0, 2]


def test_insert_takes_index_arrays_and_slices(run):
    # jnp.insert took one int only: an index array raised TypeError, a scalar value along
    # an axis raised in reshape; JAX's values
    v = np.array([0.0, 0.0, 1.0, 2.0, 0.0, 3.0, 0.0], np.float32)
    x = np.array([[3.0, -1.0, 2.0], [0.0, 5.0, -4.0]], np.float32)
    out = run(lambda v, x: (fnp.insert(v, fnp.array([1, 3]), fnp.array([9.0, 8.0])),
                            fnp.insert(v, fnp.array([3, 1, 3, -1, 99]),
                                       fnp.array([9.0, 8.0, 7.0, 6.0, 5.0])),
                            fnp.insert(x, 1, 7.0, axis=1),
                            fnp.insert(x, 1, fnp.array([7.0, 6.0]), axis=1),
                            fnp.insert(x, slice(0, 3, 2), -1.0, axis=1),
                            fnp.insert(x, 2, fnp.array([7, 6, 5]), axis=0)), v, x)
    assert out[0].tolist() == [0, 9, 0, 1, 8, 2, 0, 3, 0]
    assert out[1].tolist() == [0, 8, 0, 1, 9, 7, 2, 0, 3, 6, 0, 5]
    assert out[2].tolist() == [[3, 7, -1, 2], [0, 7, 5, -4]]
    assert out[3].tolist() == [[3, 7, -1, 2], [0, 6, 5, -4]]
    assert out[4].tolist() == [[-1, 3, -1, -1, 2], [-1, 0, 5, -1, -4]]
    assert out[5].tolist() == [[3, -1, 2], [0, 5, -4], [7, 6, 5]]


def test_unwrap_of_integers_with_an_integer_period_stays_integer(run):
    # JAX promotes p with period: int32 input and period=8 give int32 (funcgrad: float32)
    a, b = run(lambda p: (fnp.unwrap(p, period=8), fnp.unwrap(p, period=7)),
               np.array([0, 5, 9, 2, 7], np.int32))
    assert a.dtype == np.int32 and a.tolist() == [0, -3, 1, 2, -1]
    assert b.tolist() == [0, -2, 1, 1, -1]


def test_conv_transpose_defaults_to_channels_last(run):
    # JAX's conv_transpose without dimension_numbers is NHC/HIO, NHWC/HWIO (unlike
    # conv_general_dilated); funcgrad read NCH/OIH and raised on a channels-last call
    x = np.arange(8.0, dtype=np.float32).reshape(1, 4, 2)
    w = np.arange(6.0, dtype=np.float32).reshape(3, 2, 1) / 10
    out = run(lambda x, w: lax.conv_transpose(x, w, (2,), "SAME"), x, w)
    assert out.shape == (1, 8, 1)
    np.testing.assert_allclose(out.ravel(), [0.5, 0.3, 2.4, 1.3, 4.4, 2.3, 6.4, 3.3], rtol=1e-6)
    x2 = np.arange(18.0, dtype=np.float32).reshape(1, 3, 3, 2)
    w2 = np.arange(16.0, dtype=np.float32).reshape(2, 2, 2, 2) / 10
    out2 = run(lambda x, w: lax.conv_transpose(x, w, (1, 1), "VALID"), x2, w2)
    assert out2.shape == (1, 4, 4, 2)
    np.testing.assert_allclose(out2.sum(), 925.2, rtol=1e-6)


def test_integer_dot_with_a_wider_preferred_type_accumulates_in_it(run):
    # JAX: int8 [1, 2] . [100, 100] with preferred_element_type=int32 is 300; funcgrad
    # multiplied and summed in int8 and cast the wrapped 44
    a = np.array([1, 2], np.int8)
    b = np.array([100, 100], np.int8)
    d, m, f = run(lambda a, b: (lax.dot(a, b, preferred_element_type=np.int32),
                                fnp.matmul(a[None], b[:, None], preferred_element_type=np.int32),
                                fnp.dot(a, b, preferred_element_type=np.float32)), a, b)
    assert d.dtype == np.int32 and int(d) == 300
    assert m.tolist() == [[300]] and f.dtype == np.float32 and float(f) == 300.0


def test_arange_computes_in_its_dtype_as_jax():
    # JAX converts start and step to the dtype before start + step * i (arange(0.5, 5, 1.5,
    # dtype=int32) is [0, 1, 2]); funcgrad computed in float and truncated ([0, 1, 3, 4] for
    # arange(0, 5, 1.5, dtype=int32), where JAX gives [0, 1, 2, 3]); a NumPy int8 argument
    # gives int8, as in JAX
    assert np.asarray(fnp.arange(0, 5, 1.5, dtype=fnp.int32)).tolist() == [0, 1, 2, 3]
    assert np.asarray(fnp.arange(0.5, 5, 1.5, dtype=fnp.int32)).tolist() == [0, 1, 2]
    assert np.asarray(fnp.arange(-1, 3, 0.7, dtype=fnp.int32)).tolist() == [-1] * 6
    assert fnp.arange(np.int8(5)).dtype == np.int8
    h = fnp.arange(0, 100, 0.3, dtype=fnp.float16)     # in float32, then rounded
    want = (np.float32(0.3) * np.arange(334, dtype=np.float32)).astype(np.float16)
    np.testing.assert_array_equal(np.asarray(h), want)
    with pytest.raises(ValueError, match="complex"):
        fnp.arange(1j)


def test_a_scalar_boolean_index_adds_an_axis(run):
    # NumPy's and JAX's x[True] is x[None] and x[False] an empty new axis, and a scalar
    # bool broadcasts with other advanced indices as an index of shape (1,) or (0,);
    # funcgrad raised IndexError (a Python bool) or ValueError (a 0-d bool array)
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    out = run(lambda x: (x[True], x[False], x[True, 1], x[..., fnp.array(False)],
                         x[fnp.array(True)], x[True, fnp.array([0, 1])],
                         x[:, True, fnp.array([0, 2])]), x)
    assert [o.shape for o in out] == [(1, 2, 3), (0, 2, 3), (1, 3), (2, 3, 0), (1, 2, 3),
                                      (2, 3), (2, 2)]
    assert out[2].tolist() == [[3, 4, 5]] and out[6].tolist() == [[0, 2], [3, 5]]
    s = run(lambda x: (x.at[fnp.array(True)].set(1.0), x.at[False].set(1.0),
                       x.at[True, 1].add(5.0)), x)
    assert s[0].tolist() == [[1] * 3] * 2 and s[1].tolist() == x.tolist()
    assert s[2].tolist() == [[0, 1, 2], [8, 9, 10]]


def test_ordered_dicts_and_defaultdicts_are_pytree_nodes():
    # JAX registers both (an OrderedDict keeps its order, a defaultdict sorts its keys and
    # keeps its factory); funcgrad took them for leaves, so tree_map passed whole dicts to
    # the function and tree_reduce raised TypeError
    import collections
    tree = {"o": collections.OrderedDict([("y", 5), ("x", 6)]),
            "d": collections.defaultdict(list, {"q": 7, "p": 8})}
    assert fg.tree.leaves(tree) == [8, 7, 5, 6]
    assert str(fg.tree.structure(tree)) == (
        "PyTreeDef({'d': CustomNode(defaultdict[(<class 'list'>, ('p', 'q'))], [*, *]), "
        "'o': CustomNode(OrderedDict[('y', 'x')], [*, *])})")
    paths = [fg.tree_util.keystr(p) for p, _ in fg.tree_util.tree_flatten_with_path(tree)[0]]
    assert paths == ["['d']['p']", "['d']['q']", "['o']['y']", "['o']['x']"]
    doubled = fg.tree.map(lambda v: v * 2, tree)
    assert type(doubled["o"]) is collections.OrderedDict and list(doubled["o"]) == ["y", "x"]
    assert doubled["d"].default_factory is list and dict(doubled["d"]) == {"p": 16, "q": 14}
    g = fg.grad(lambda d: d["a"] * d["b"])(collections.OrderedDict(b=2.0, a=3.0))
    assert type(g) is collections.OrderedDict and dict(g) == {"b": 3.0, "a": 2.0}


def test_the_gradient_of_a_python_float_is_weakly_typed():
    # JAX: grad keeps the argument's weak type, so float16 * grad(f)(2.0) stays float16;
    # funcgrad's gradient was a strong float32 and widened it
    g = fg.grad(lambda a: a ** 2)(3.0)
    assert g.weak_type and float(g) == 6.0
    assert (fnp.ones(2, fnp.float16) * g).dtype == np.float16
    assert fg.jit(fg.grad(lambda a: a ** 2))(3.0).weak_type
    _, (ga, gb) = fg.value_and_grad(lambda a, b: a * b, argnums=(0, 1))(2.0, fnp.float32(3.0))
    assert ga.weak_type and not gb.weak_type
    assert not fg.grad(lambda a: (a ** 2).sum())(fnp.ones(2)).weak_type


# --- found by the third batch of ports of 2026-12-02 -----------------------------------------

def test_repeat_with_total_repeat_length(run):
    # JAX: the output has exactly total_repeat_length entries (cut off, or padded with the
    # element after the last block), and `repeats` may then be traced; funcgrad ignored it
    # (shape (5,) for sum(repeats) == 5 and total_repeat_length=7)
    x = np.array([1, 2, 3], np.int32)
    out = run(lambda x, r: (fnp.repeat(x, r, total_repeat_length=7),
                            fnp.repeat(x, r, total_repeat_length=4),
                            fnp.repeat(x, r[::-1], total_repeat_length=7),
                            fnp.repeat(x, 2, total_repeat_length=4),
                            fnp.repeat(x, r, total_repeat_length=0)),
              x, np.array([2, 0, 3], np.int32))
    assert out[0].tolist() == [1, 1, 3, 3, 3, 3, 3] and out[1].tolist() == [1, 1, 3, 3]
    assert out[2].tolist() == [1, 1, 1, 3, 3, 3, 3] and out[3].tolist() == [1, 1, 2, 2]
    assert out[4].shape == (0,)
    m = run(lambda m, r: fnp.repeat(m, r, axis=1, total_repeat_length=5),
            np.arange(6.0, dtype=np.float32).reshape(2, 3), np.array([1, 2, 1], np.int32))
    assert m.tolist() == [[0, 1, 1, 2, 2], [3, 4, 4, 5, 5]]
    assert np.asarray(fnp.repeat(fnp.asarray(5), 3, total_repeat_length=2)).tolist() == [5, 5]
    with pytest.raises(fg.ConcretizationTypeError, match="total_repeat_length"):
        fg.jit(lambda r: fnp.repeat(fnp.arange(3), r))(fnp.array([1, 2, 1]))


def test_block_gives_scalars_and_low_rank_blocks_leading_axes(run):
    # NumPy and JAX: every block gets leading axes up to the nesting depth (a scalar in a
    # 2-deep list is a (1, 1) block); funcgrad raised ("zero-dimensional arrays cannot be
    # concatenated") and ignored depth for deeper nesting
    out = run(lambda e: (fnp.block([[e, fnp.zeros((2, 1))], [fnp.ones((1, 2)), 5.0]]),
                         fnp.block([[1.0, 2.0], [3.0, 4.0]]),
                         fnp.block([[[1.0, 2.0]], [[3.0, 4.0]]])), np.eye(2, dtype=np.float32))
    assert out[0].tolist() == [[1, 0, 0], [0, 1, 0], [1, 1, 5]]
    assert out[1].tolist() == [[1, 2], [3, 4]]
    assert out[2].shape == (2, 1, 2)
    with pytest.raises(ValueError, match="depths"):
        fnp.block([[1.0], 2.0])
    with pytest.raises(ValueError, match="tuples"):
        fnp.block((1.0, 2.0))


def test_cholesky_of_a_matrix_that_is_not_positive_definite(run):
    # JAX 0.10: NaN on and below the diagonal, zeros above (lax.linalg.cholesky takes the
    # lower triangle of the failed factor); funcgrad's factor was NaN everywhere
    m = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]], np.float32)
    from funcgrad.scipy import linalg as sl
    low, up, sp = run(lambda a: (fnp.linalg.cholesky(-a), fnp.linalg.cholesky(-a, upper=True),
                                 sl.cholesky(fnp.stack([a, -a]))), m)
    nan_low = np.where(np.tri(3) > 0, np.nan, 0.0)
    np.testing.assert_array_equal(low, nan_low)
    np.testing.assert_array_equal(up, nan_low.T)
    np.testing.assert_array_equal(sp[1], nan_low.T)
    np.testing.assert_allclose(sp[0], np.linalg.cholesky(m).T, rtol=1e-6)


def test_binary_functions_are_ufuncs_with_jax_s_methods(run):
    # jnp.add, jnp.maximum, ... are jnp.ufunc objects in JAX (reduce, accumulate, outer, at,
    # reduceat); funcgrad's were plain functions ('function' object has no attribute
    # 'reduce'). JAX 0.10.2's values:
    m = np.arange(12, dtype=np.int32).reshape(3, 4)
    out = run(lambda m: (fnp.add.reduce(m), fnp.add.reduce(m, axis=(0, 1)),
                         fnp.maximum.reduce(m, axis=1, initial=-1, where=m % 3 == 0),
                         fnp.logical_or.reduce(m > 9, axis=0),
                         fnp.bitwise_xor.reduce(m, axis=0),
                         fnp.add.accumulate(m, axis=1)[2],
                         fnp.maximum.accumulate(fnp.array([3, 1, 4, 1, 5])),
                         fnp.subtract.outer(fnp.arange(3), fnp.arange(2)),
                         fnp.add.at(fnp.zeros(5, fnp.int32), fnp.array([0, 1, 1, 4]), 1,
                                    inplace=False),
                         fnp.negative.at(fnp.arange(4), fnp.array([0, 0, 2]), inplace=False),
                         fnp.add.reduceat(fnp.arange(8), fnp.array([0, 4, 1, 5])),
                         fnp.logaddexp.accumulate(fnp.zeros(3))), m)
    assert out[0].tolist() == [12, 15, 18, 21] and int(out[1]) == 66
    assert out[2].tolist() == [3, 6, 9] and out[3].tolist() == [False, False, True, True]
    assert out[4].tolist() == [12, 13, 14, 15] and out[5].tolist() == [8, 17, 27, 38]
    assert out[6].tolist() == [3, 3, 4, 4, 5]
    assert out[7].tolist() == [[0, -1], [1, 0], [2, 1]]
    assert out[8].tolist() == [1, 2, 0, 0, 1] and out[9].tolist() == [0, 1, -2, 3]
    assert out[10].tolist() == [6, 4, 10, 18]
    np.testing.assert_allclose(out[11], [0.0, np.log(2), np.log(3)], rtol=1e-6)
    assert isinstance(fnp.multiply, fnp.ufunc) and fnp.multiply.identity == 1
    assert fnp.maximum.identity is None and fnp.bitwise_and.identity == -1
    with pytest.raises(ValueError, match="initial"):
        fnp.maximum.reduce(m, where=m > 2)
    with pytest.raises(ValueError, match="inplace=False"):
        fnp.add.at(fnp.zeros(3), 0, 1.0)


def test_at_subtract_apply_and_repeated_divide_and_power(run):
    # JAX: .at[].subtract and .at[].apply exist (AttributeError here); .at[].divide is a true
    # division (an integer array gives floats: funcgrad gave [0 0 2 3 4]) and .at[].power
    # raises to the product of a repeated index's exponents (funcgrad: to one of them)
    out = run(lambda x: (x.at[fnp.array([1, 1, 3])].subtract(2.0),
                         x.at[fnp.array([1, 1, 7])].apply(lambda v: v * 10 + 1),
                         x.at[fnp.array([2, 2])].power(2.0),
                         x.astype(fnp.int32).at[1].divide(2),
                         x.astype(fnp.int32).at[fnp.array([1, 1, 7])].subtract(3, mode="clip"),
                         x.reshape(1, 5).at[:, 1:3].apply(lambda v: v * 2)),
              np.arange(5.0, dtype=np.float32))
    assert out[0].tolist() == [0, -3, 2, 1, 4] and out[1].tolist() == [0, 111, 2, 3, 4]
    assert out[2].tolist() == [0, 1, 16, 3, 4]
    assert out[3].dtype == np.float32 and out[3].tolist() == [0, 0.5, 2, 3, 4]
    assert out[4].tolist() == [0, -5, 2, 3, 1] and out[5].tolist() == [[0, 2, 4, 3, 4]]


def test_checkpoint_name_from_jax_ad_checkpoint():
    # `from jax.ad_checkpoint import checkpoint_name` (the remat docs) had no funcgrad
    # module to swap to; names only steer what a policy saves, never the values
    from funcgrad.ad_checkpoint import checkpoint_name, checkpoint_policies

    def block(x, w):
        h = checkpoint_name(fnp.sin(x @ w), "hidden")
        return fnp.sum(fnp.cos(h) * h)

    f = fg.checkpoint(block, policy=checkpoint_policies.save_only_these_names("hidden"))
    x, w = fnp.array([1.0, 2.0]), fnp.array([[0.3, -0.1], [0.2, 0.4]])
    np.testing.assert_allclose(fg.grad(f, argnums=1)(x, w), fg.grad(block, argnums=1)(x, w),
                               rtol=1e-6)
    tree = {"a": fnp.ones(2)}
    assert checkpoint_name(tree, "t") is tree
    with pytest.raises(TypeError, match="string"):
        checkpoint_name(x, 3)


def test_array_of_a_list_promotes_numpy_scalars_with_jax_s_lattice():
    # JAX: jnp.array of a list promotes its leaves by JAX's lattice (NumPy values strong,
    # Python scalars weak); funcgrad used NumPy's promotion, so [np.float16(1.5), 2] was
    # float32 (JAX: float16), [np.int8(1), 3] int32 (int8), and a bfloat16 scalar next to a
    # float16 one raised TypeError (JAX: float32)
    import ml_dtypes
    bf = ml_dtypes.bfloat16
    cases = [([np.float16(1.5), 2], np.float16), ([np.int8(1), 3], np.int8),
             ([bf(1.5), 2.0], bf), ([bf(1.5), np.float16(2)], np.float32),
             ([bf(1.5), np.int32(2)], bf), ([[1, bf(2.5)]], bf), ([np.int16(1), True], np.int16),
             ([np.int8(1), np.uint8(3)], np.int16), ([np.float64(1.5), 2], np.float32),
             ((np.float32(1), 2), np.float32), ([1, 2.5], np.float32)]
    for value, want in cases:
        x = fnp.array(value)
        assert x.dtype == np.dtype(want) and not x.weak_type, (value, x.dtype)
    assert np.asarray(fnp.asarray([np.float16(1.5), 2])).tolist() == [1.5, 2.0]
    with pytest.raises(OverflowError):
        fnp.array([np.int8(1), 300])


def test_jax_typing_names():
    # `from jax.typing import ArrayLike, DTypeLike` (JAX's annotation convention) had no
    # funcgrad module to swap to
    import typing

    from funcgrad.typing import ArrayLike, DTypeLike
    assert fg.Array in typing.get_args(ArrayLike) and float in typing.get_args(ArrayLike)
    assert np.dtype in typing.get_args(DTypeLike) and str in typing.get_args(DTypeLike)


def test_bfloat16_samplers_round_as_xla(run):
    # XLA computes bfloat16 erf_inv in float32 and rounds once (funcgrad evaluated the
    # float64 polynomial in bfloat16 steps), and computes uniform's u * (max - min) + min
    # operation by operation in bfloat16 (funcgrad fused it into one rounding, as XLA does
    # for float16/32). JAX 0.10.2's values:
    from funcgrad import random
    key = random.PRNGKey(3)
    bf = fnp.bfloat16
    u = random.uniform(key, (6,), bf, minval=-0.953125, maxval=0.953125)
    assert np.asarray(u.astype(fnp.float32)).tolist() == [
        -0.015625, 0.5078125, 0.703125, -0.59375, 0.34375, -0.20703125]
    t = random.truncated_normal(key, -2.0, 2.0, (6,), bf)
    assert np.asarray(t.astype(fnp.float32)).tolist() == [
        -0.01953125, 0.6875, 1.046875, -0.828125, 0.4453125, -0.26171875]
    e = run(lambda x: lax.erf_inv(x.astype(bf)).astype(fnp.float32),
            np.array([-0.9, -0.3, 0.05, 0.5, 0.99], np.float32))
    assert e.tolist() == [-1.15625, -0.2734375, 0.04443359375, 0.4765625, 1.78125]


def test_bfloat16_attention_logits_stay_float32(run):
    # JAX's dot_product_attention computes the logits of bfloat16 inputs with
    # preferred_element_type=float32; funcgrad rounded them to bfloat16 first
    base = np.arange(24.0, dtype=np.float32).reshape(1, 3, 2, 4)
    q, k, v = base / 7 - 1.3, base[:, ::-1] / 5 - 2.1, base / 3 - 4
    bf = fnp.bfloat16
    out = run(lambda q, k, v: fg.nn.dot_product_attention(
        q.astype(bf), k.astype(bf), v.astype(bf)).astype(fnp.float32), q, k, v)
    assert out.ravel().tolist() == [
        1.25, 1.578125, 1.9140625, 2.25, 2.09375, 2.421875, 2.75, 3.09375, -1.6640625,
        -1.328125, -0.9921875, -0.6640625, -2.28125, -1.9296875, -1.6015625, -1.2734375,
        -3.9375, -3.609375, -3.265625, -2.9375, -2.65625, -2.3125, -1.9921875, -1.65625]


def test_scipy_special_counting_functions(run):
    # jax.scipy.special's beta, comb, poch, gammasgn and loggamma were missing
    # (AttributeError); JAX 0.10.2's values
    from funcgrad.scipy import special
    x = np.array([-2.5, -2.0, -1.5, -0.5, -0.0, 0.0, 0.5, 10.0, np.nan], np.float32)
    sg, lg = run(lambda x: (special.gammasgn(x), special.loggamma(x)), x)
    np.testing.assert_array_equal(sg, [-1, np.nan, 1, -1, -1, 1, 1, 1, np.nan])
    assert np.isnan(lg[:6]).all() and np.isnan(lg[-1])
    np.testing.assert_allclose(lg[6:8], [0.5723649, 12.801827], rtol=1e-6)
    b, p, c, r = run(lambda a, z: (special.beta(a, a[::-1]), special.poch(z, z[::-1] - 1.0),
                                   special.comb(a + 4.0, a), special.comb(a, 2.0,
                                                                          repetition=True)),
                     np.array([0.5, 2.0, -1.5, 3.0], np.float32),
                     np.array([1.0, 2.5, -1.5, 3.0], np.float32))
    np.testing.assert_allclose(b, [1.0666666, 1.3333333, 1.3333333, 1.0666666], rtol=1e-5)
    np.testing.assert_allclose(p, [2.0, np.inf, np.inf, 1.0], rtol=1e-5)
    np.testing.assert_allclose(c, [2.4609396, 15.000008, 0.0, 34.999977], rtol=1e-5)
    np.testing.assert_allclose(r, [0.0, 3.000002, 0.0, 6.000003], rtol=1e-5)
    with pytest.raises(ValueError, match="complex"):
        special.beta(1j, 1.0)


def test_scipy_special_boxcox(run):
    # jax.scipy.special.boxcox and boxcox1p were missing; JAX 0.10.2's values
    from funcgrad.scipy import special
    x = np.array([0.5, 1.0, 2.0, 10.0], np.float32)
    lam = np.array([0.0, 1e-4, 0.5, -1.0], np.float32)
    b, b1 = run(lambda x, lam: (special.boxcox(x, lam), special.boxcox1p(x, lam)), x, lam)
    np.testing.assert_allclose(b, [-0.6931472, 0.0, 0.8284271, 0.9], rtol=1e-6)
    np.testing.assert_allclose(b1, [0.4054651, 0.6931712, 1.4641016, 0.9090909], rtol=1e-6)


def test_reshape_in_fortran_order_and_more_array_methods(run):
    # JAX's reshape takes order='F' (funcgrad raised NotImplementedError), and jax.Array
    # has searchsorted, compress, choose, argpartition and tobytes methods (AttributeError)
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    f, g, s, c, ch = run(lambda x: (x.reshape(2, 6, order="F"),
                                    fnp.reshape(x, (-1, 3), order="F"),
                                    x[0].searchsorted(fnp.array([0.5, 2.0]), side="right"),
                                    x.compress(fnp.array([True, False, True]), axis=0),
                                    fnp.array([0, 1, 1]).choose([fnp.arange(3),
                                                                 10 + fnp.arange(3)])), x)
    np.testing.assert_array_equal(f, x.reshape(2, 6, order="F"))
    np.testing.assert_array_equal(g, x.reshape(-1, 3, order="F"))
    assert s.tolist() == [1, 3] and c.tolist() == [x[0].tolist(), x[2].tolist()]
    assert ch.tolist() == [0, 11, 12]
    assert fnp.asarray(x).tobytes() == x.tobytes()
    part = fnp.array([5, 1, 4, 2]).argpartition(1)
    assert sorted(np.asarray(part)[:2].tolist()) == [1, 3]
    with pytest.raises(NotImplementedError, match="order='A'"):
        fnp.reshape(x, (12,), order="A")


def test_scipy_linalg_special_matrices():
    # jax.scipy.linalg's hilbert, invhilbert, pascal, invpascal, dft, hadamard, helmert,
    # leslie, companion, convolution_matrix, fiedler and fiedler_companion were missing
    from funcgrad.scipy import linalg as sl
    np.testing.assert_allclose(sl.hilbert(3) @ sl.invhilbert(3), np.eye(3), atol=1e-4)
    assert np.asarray(sl.pascal(4)).tolist()[3] == [1, 4, 10, 20]
    np.testing.assert_allclose(sl.pascal(4) @ sl.invpascal(4), np.eye(4), atol=1e-5)
    np.testing.assert_allclose(sl.pascal(3, "upper") @ sl.invpascal(3, "upper"), np.eye(3))
    x = np.arange(5.0, dtype=np.float32)
    np.testing.assert_allclose(sl.dft(5) @ x, np.fft.fft(x), atol=1e-5)
    assert sl.hadamard(4).dtype == np.int32 and int(fnp.sum(sl.hadamard(4))) == 4
    h = sl.helmert(4, full=True)
    np.testing.assert_allclose(h @ h.T, np.eye(4), atol=1e-6)
    assert np.asarray(sl.leslie(fnp.array([0.0, 2.0]), fnp.array([0.5]))).tolist() == [
        [0, 2], [0.5, 0]]
    assert np.asarray(sl.companion(fnp.array([2.0, -4.0, 6.0]))).tolist() == [[2, -3], [1, 0]]
    k = np.array([1.0, 0.5, -0.25], np.float32)
    for mode in ("full", "same", "valid"):
        np.testing.assert_allclose(sl.convolution_matrix(k, 5, mode) @ x,
                                   np.convolve(x, k, mode), rtol=1e-6)
    assert np.asarray(sl.fiedler(fnp.array([1.0, 4.0]))).tolist() == [[0, 3], [3, 0]]
    assert np.asarray(sl.fiedler_companion(fnp.array([1.0, -2.0, 5.0, -3.0]))).tolist() == [
        [2, -5, 1], [1, 0, 0], [0, 3, 0]]
    with pytest.raises(ValueError, match="power of 2"):
        sl.hadamard(6)


def test_treedef_node_data_of_a_dict_lists_its_keys():
    # JAX: (dict, ['a', 'b']); funcgrad gave the keys as a tuple
    assert fg.tree_util.tree_structure({"b": 1, "a": 2}).node_data() == (dict, ["a", "b"])
    assert fg.tree_util.tree_structure([1, 2]).node_data() == (list, None)


def test_square_power_and_fabs_of_booleans_and_integers(run):
    # JAX promotes booleans to int32 in square and power (funcgrad raised TypeError), and
    # fabs gives floats for integer and boolean input (funcgrad kept int8/bool)
    b = np.array([True, False])
    sq, pw, pb, fa, fb = run(lambda b, i: (fnp.square(b), fnp.power(b, 2), fnp.power(b, b),
                                           fnp.fabs(i), fnp.fabs(b)),
                             b, np.array([1, -2], np.int8))
    assert sq.dtype == np.int32 and sq.tolist() == [1, 0]
    assert pw.dtype == np.int32 and pw.tolist() == [1, 0] and pb.tolist() == [1, 1]
    assert fa.dtype == np.float32 and fa.tolist() == [1.0, 2.0] and fb.dtype == np.float32
    with pytest.raises(TypeError, match="complex"):
        fnp.fabs(fnp.array([1j]))


def test_binomial_draws_in_the_dtype_of_p_and_casts_to_dtype():
    # JAX's binomial and multinomial compute in the (inexact) dtype of their parameters and
    # only cast the counts to `dtype`; funcgrad drew the uniforms in `dtype`, so a float16
    # request gave other counts ([2, 3, 1, 2, 2] for JAX's [5, 5, 4, 4, 4])
    from funcgrad import random
    key = random.PRNGKey(5)
    b = random.binomial(key, 10.0, 0.3, (5,), fnp.float16)
    assert b.dtype == np.float16 and np.asarray(b).tolist() == [5, 5, 4, 4, 4]
    bb = random.binomial(key, 40.0, 0.6, (4,), fnp.bfloat16)
    assert np.asarray(bb.astype(fnp.float32)).tolist() == [29, 23, 20, 27]
    m = random.multinomial(key, 10.0, fnp.array([0.2, 0.3, 0.5]), dtype=fnp.float16)
    assert m.dtype == np.float16 and np.asarray(m).tolist() == [1, 6, 3]
    h = random.binomial(key, 10.0, fnp.array([0.3, 0.7], fnp.float16), (2,))
    assert h.dtype == np.float32 and np.asarray(h).tolist() == [2, 7]


def test_relu6_of_integers_gives_floats():
    # JAX's relu6 is min(max(x, 0), 6.): integer input gives a weakly typed float32;
    # funcgrad kept int32
    out = fg.nn.relu6(fnp.array([-1, 1, 7]))
    assert out.dtype == np.float32 and out.weak_type and np.asarray(out).tolist() == [0, 1, 6]
    assert fg.nn.relu6(fnp.array([1.0, 7.0], fnp.float16)).dtype == np.float16


def test_setdiff1d_assume_unique_keeps_the_order_of_ar1(run):
    # NumPy and JAX: with assume_unique=True the result is ar1's values not in ar2 in
    # their order ([5, 3]); funcgrad sorted them ([3, 5])
    out, padded = run(lambda a, b: (fnp.setdiff1d(a, b, assume_unique=True, size=2),
                                    fnp.setdiff1d(a, b, assume_unique=True, size=4,
                                                  fill_value=-1)),
                      np.array([5, 1, 3], np.int32), np.array([1], np.int32))
    assert out.tolist() == [5, 3] and padded.tolist() == [5, 3, -1, -1]


def test_ix_refuses_boolean_masks_clearly():
    # JAX raises NotImplementedError; funcgrad's reshape of a mask raised a confusing
    # IndexError later ("too many indices")
    with pytest.raises(NotImplementedError, match="ix_: argument 0 is a boolean mask"):
        fnp.ix_(fnp.array([True, False]), fnp.array([0]))
    with pytest.raises(ValueError, match="1-D"):
        fnp.ix_(fnp.ones((2, 2), fnp.int32))


def test_vector_norm_over_a_tuple_of_axes_is_a_vector_norm(run):
    # JAX (and the array API): the axes are one vector; funcgrad computed the matrix
    # 2-norm for a pair of axes (9.5255 for sqrt(91) = 9.5394)
    r = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], np.float32)
    x = np.arange(24.0, dtype=np.float32).reshape(2, 3, 4) - 7
    a, b, c = run(lambda r, x: (fnp.linalg.vector_norm(r, axis=(0, 1)),
                                fnp.linalg.vector_norm(x, ord=1, axis=(0, 2)),
                                fnp.linalg.vector_norm(x, ord=fnp.inf, axis=(2, 0),
                                                       keepdims=True)), r, x)
    np.testing.assert_allclose(a, np.sqrt(91.0), rtol=1e-6)
    assert b.tolist() == [48.0, 48.0, 68.0] and c.shape == (1, 3, 1)


def test_scipy_stats_nbinom_betabinom_gumbel_and_sem(run):
    # jax.scipy.stats.nbinom, betabinom, gumbel_r, gumbel_l and sem were missing
    # (AttributeError); JAX 0.10.2's values
    from funcgrad.scipy import stats
    k = np.array([0.0, 2.0, 5.0], np.float32)
    nb, bb, gr, gl, se = run(lambda k: (stats.nbinom.logpmf(k, 2.5, 0.4),
                                        stats.betabinom.logpmf(k, 7.0, 2.0, 3.0),
                                        stats.gumbel_r.logpdf(k, 1.0, 2.0),
                                        stats.gumbel_l.cdf(k, 1.0, 2.0),
                                        stats.sem(k)), k)
    np.testing.assert_allclose(nb, [-2.2907271, -1.8364701, -2.3826647], rtol=1e-5)
    np.testing.assert_allclose(bb, [-2.2155740, -1.6559567, -2.2155747], rtol=1e-5)
    np.testing.assert_allclose(gr, [-1.8418684, -1.7996778, -2.8284824], rtol=1e-5)
    np.testing.assert_allclose(gl, [0.4547608, 0.8077043, 0.9993820], rtol=1e-5)
    np.testing.assert_allclose(se, 1.4529663, rtol=1e-5)
    assert np.isnan(float(stats.gumbel_r.logpdf(1.0, 0.0, 0.0)))
    assert float(stats.betabinom.logpmf(9.0, 7.0, 2.0, 3.0)) == -np.inf


def test_variance_scaling_fan_geo_avg_and_complex_dtypes():
    # JAX's variance_scaling has mode="fan_geo_avg" and complex uniform/truncated_normal
    # draws; funcgrad raised ValueError for both. JAX 0.10.2's values
    from funcgrad import random
    from funcgrad.nn import initializers as init
    key = random.PRNGKey(3)
    u = init.variance_scaling(1.0, "fan_in", "uniform", dtype=fnp.complex64)(key, (2, 2))
    assert u.dtype == np.complex64
    np.testing.assert_allclose(np.asarray(u).ravel(), [0.09200792 + 0.01516265j,
                                                       -0.20256302 - 0.05437543j,
                                                       -0.55422348 + 0.06640312j,
                                                       -0.29821497 - 0.28073114j], rtol=1e-5)
    t = init.variance_scaling(2.0, "fan_avg", "truncated_normal", dtype=fnp.complex64)(
        key, (3, 2))
    np.testing.assert_allclose(np.asarray(t).real.ravel()[:3],
                               [0.08573189, -0.19042432, -0.56299776], rtol=1e-5)
    g = init.variance_scaling(1.0, "fan_geo_avg", "normal")(key, (3, 4))
    np.testing.assert_allclose(np.asarray(g)[0], [-0.77705216, 0.82708627, 0.20551486,
                                                  1.05882847], rtol=1e-5)


def test_scipy_stats_truncnorm(run):
    # jax.scipy.stats.truncnorm was missing (AttributeError); JAX 0.10.2's values, far
    # tails included
    from funcgrad.scipy import stats
    x = np.array([-3.0, -0.2, 0.7, 2.5], np.float32)
    lp, c, ls = run(lambda x: (stats.truncnorm.logpdf(x, -1.0, 2.0),
                               stats.truncnorm.cdf(x, -1.0, 2.0),
                               stats.truncnorm.logsf(fnp.array([6.5, 7.0]), 6.0, 9.0)), x)
    np.testing.assert_allclose(lp, [-np.inf, -0.73877215, -0.96377218, -np.inf], rtol=1e-5)
    np.testing.assert_allclose(c, [0.0, 0.32016462, 0.73220748, 1.0], rtol=1e-5)
    np.testing.assert_allclose(ls, [-3.2013817, -6.647541], rtol=1e-5)
    assert np.isnan(float(stats.truncnorm.logpdf(0.0, 1.0, 1.0)))


def test_scipy_stats_gennorm_vonmises_wrapcauchy(run):
    # jax.scipy.stats.gennorm, vonmises and wrapcauchy were missing; JAX 0.10.2's values
    from funcgrad.scipy import stats
    x = np.array([-2.0, 0.3, 3.0], np.float32)
    g, gc, v, w = run(lambda x: (stats.gennorm.logpdf(x, 1.5), stats.gennorm.cdf(x, 1.5),
                                 stats.vonmises.logpdf(x, 4.0),
                                 stats.wrapcauchy.logpdf(x, 0.3)), x)
    np.testing.assert_allclose(g, [-3.4192603, -0.75514996, -5.7869854], rtol=1e-5)
    np.testing.assert_allclose(gc, [0.014119625, 0.65577775, 0.99888128], rtol=1e-5)
    np.testing.assert_allclose(v, [-5.9274373, -0.44150379, -8.2228203], rtol=1e-5)
    np.testing.assert_allclose(w, [-np.inf, -1.2720847, -2.453357], rtol=1e-5)
    assert np.isnan(float(stats.vonmises.logpdf(0.0, 0.0)))
    assert np.isnan(float(stats.wrapcauchy.logpdf(1.0, 1.0)))


def test_numpy_result_type_canonicalizes_as_jax():
    # jnp.result_type is jax.dtypes.result_type (session of 2026-12-02): with 64-bit types
    # off, NumPy float64/int64 scalars, arrays and dtypes give float32/int32, int8 with
    # uint64 is int32, None is the default float and the Python type int is weak. funcgrad's
    # gave float64, int64, float32 (int8 with uint64), object and int32 (int with int8).
    cases = [((np.float64(1.0),), "float32"), ((np.int64(1),), "int32"),
             ((np.float64,), "float32"), (("float64",), "float32"),
             ((np.int8, np.uint64), "int32"), ((np.uint64,), "uint32"),
             ((np.array([1.0]),), "float32"), ((None,), "float32"), ((float,), "float32"),
             ((int, fnp.int8), "int8"), ((np.complex128,), "complex64"),
             ((fnp.ones(2, fnp.float16), 2.0), "float16"), ((fnp.int8, 300), "int8"),
             ((fnp.ones(2, fnp.float16), np.float64(2.0)), "float32")]
    for args, expected in cases:
        assert str(fnp.result_type(*args)) == expected, args
        assert fnp.result_type(*args) == fg.dtypes.result_type(*args), args
    with fg.enable_x64():
        assert fnp.result_type(np.float64(1.0)) == np.float64
        assert fnp.result_type(np.int8, np.uint64) == np.float64


def test_numpy_promote_types_keeps_64_bit_inputs_as_jax():
    # JAX's jnp.promote_types joins dtypes without canonicalizing a 64-bit input (float32
    # with float64 is float64 even with 64-bit types off); funcgrad's gave float32.
    cases = [(np.float32, np.float64, "float64"), (np.int32, np.int64, "int64"),
             (np.int8, np.uint64, "float64"), (np.int64, np.uint64, "float64"),
             (np.bool_, np.uint64, "uint64"), (np.float64, np.complex64, "complex128"),
             (np.int64, np.float16, "float16"), (np.complex64, np.uint64, "complex64"),
             (np.uint32, np.int32, "int32"), ("bfloat16", np.float16, "float32"),
             (np.int8, np.uint8, "int16")]
    for a, b, expected in cases:
        assert str(fnp.promote_types(a, b)) == expected, (a, b)
        assert str(fnp.promote_types(b, a)) == expected, (b, a)


def test_bfloat16_linspace_has_jax_bits(run):
    # JAX computes start * (1 - t) + stop * t with t = i / div, each operation rounded to
    # bfloat16; funcgrad's start + i * step was several bfloat16 ulps away (-0.63671875 for
    # -0.640625 below). Recorded from JAX 0.10.2.
    got = run(lambda: fnp.linspace(-1.0, 1.0, 12, dtype=fnp.bfloat16))
    np.testing.assert_array_equal(
        got.astype(np.float32),
        [-1.0, -0.8203125, -0.640625, -0.453125, -0.2734375, -0.091796875, 0.09375,
         0.2734375, 0.453125, 0.6328125, 0.8203125, 1.0])
    got = run(lambda: fnp.linspace(0.1, 7.3, 9, endpoint=False, dtype=fnp.bfloat16))
    np.testing.assert_array_equal(
        got.astype(np.float32),
        [0.10009765625, 0.90234375, 1.703125, 2.5, 3.3125, 4.09375, 4.90625, 5.71875, 6.5])


def test_associative_scan_takes_a_negative_axis(run):
    # JAX's associative_scan(fn, x, axis=-1) scans the last axis (a running log-sum-exp
    # over logits); funcgrad raised "concatenate: dimension -1 out of range".
    x = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    got = run(lambda v: lax.associative_scan(fnp.add, v, axis=-1), x)
    np.testing.assert_array_equal(got, [[0, 1, 3, 6], [4, 9, 15, 22], [8, 17, 27, 38]])
    got = run(lambda v: lax.associative_scan(fnp.logaddexp, v, axis=-1), x)
    np.testing.assert_allclose(got, np.logaddexp.accumulate(x, axis=1), rtol=1e-6)
    with pytest.raises(ValueError, match="out of bounds"):
        lax.associative_scan(fnp.add, fnp.asarray(x), axis=2)


def test_full_converts_an_out_of_range_scalar_as_xla():
    # JAX's jnp.full/full_like/lax.full convert a scalar fill as XLA's convert does: an
    # integer wraps (a sentinel of all ones: jnp.full(n, -1, uint8) is 255), a float into
    # an integer type saturates and NaN gives 0. funcgrad raised OverflowError (for -1,
    # 300, 2**40 and 1e10) or ValueError (NaN). Recorded from JAX 0.10.2.
    cases = [(lambda: fnp.full((2,), -1, dtype=fnp.uint8), [255, 255]),
             (lambda: fnp.full((2,), 300, dtype=fnp.uint8), [44, 44]),
             (lambda: fnp.full((2,), 2 ** 40, fnp.int32), [0, 0]),
             (lambda: lax.full((2,), 2 ** 33 + 5, fnp.int32), [5, 5]),
             (lambda: fnp.full((2,), 1e10, fnp.int32), [2 ** 31 - 1] * 2),
             (lambda: fnp.full((2,), -3.7, fnp.uint8), [0, 0]),
             (lambda: fnp.full((1,), np.nan, fnp.int32), [0]),
             (lambda: fnp.full_like(fnp.ones(2, fnp.uint8), -1), [255, 255]),
             (lambda: fnp.full((2,), np.int64(-2), fnp.uint16), [65534, 65534]),
             (lambda: fnp.full((1,), 16777217.0, fnp.int32), [16777217]),
             (lambda: fnp.full((1,), -np.inf, fnp.int8), [-128])]
    for make, expected in cases:
        for f in (make, fg.jit(make)):
            got = f()
            assert not got.weak_type
            np.testing.assert_array_equal(np.asarray(got), expected)


def test_trapezoid_of_integers_and_bools_is_in_float(run):
    # JAX 0.10.2: trapezoid(uint8 [0, 3, 200, 255]) is 330.5 (the samples are converted to
    # float32 first); funcgrad added them in uint8 (200 + 255 wrapped to 199): 202.5
    u8 = np.array([0, 3, 200, 255], np.uint8)
    assert run(fnp.trapezoid, u8).tolist() == 330.5
    assert run(fnp.trapezoid, np.array([True, False, True, True])).tolist() == 2.0
    assert run(lambda y, x: fnp.trapezoid(y, x), u8, np.arange(4)).tolist() == 330.5
    y = np.array([[0.3, 1.7, 2.2, 5.1], [1.0, -2.0, 0.5, 0.25]], np.float32)
    np.testing.assert_allclose(run(lambda v: fnp.trapezoid(v, dx=0.3), y),
                               [1.98, -0.2625], rtol=1e-6)
    np.testing.assert_allclose(run(lambda v: fnp.trapezoid(v, axis=0), y),
                               [0.65, -0.15, 1.35, 2.675], rtol=1e-6)


def test_modf_and_cumulative_sum_dtypes(run):
    # JAX 0.10.2: modf of integers and bools is float32; cumulative_sum promotes narrow
    # integers as sum does (uint8 -> uint32, int8 -> int32), cumsum and cumulative_prod do
    # not. funcgrad kept int32 for modf (bool: TypeError) and wrapped cumulative_sum in uint8.
    frac, whole = run(fnp.modf, np.array([1, -2], np.int32))
    assert frac.dtype == whole.dtype == np.float32 and whole.tolist() == [1.0, -2.0]
    assert run(fnp.modf, np.array([True]))[0].dtype == np.float32
    u8 = np.array([0, 3, 200, 255], np.uint8)
    out = run(fnp.cumulative_sum, u8)
    assert out.dtype == np.uint32 and out.tolist() == [0, 3, 203, 458]
    assert run(fnp.cumulative_sum, np.array([-128, -1], np.int8)).tolist() == [-128, -129]
    assert run(fnp.cumsum, u8).dtype == np.uint8
    assert run(fnp.cumulative_prod, u8).dtype == np.uint8


def test_uint32_set_ops_and_gathers_fill_with_its_largest_value():
    # an out-of-bounds gather of uint32 fills with 4294967295 (JAX); funcgrad built that
    # fill from a Python int and raised OverflowError, so unique, bincount and take failed
    u32 = fnp.asarray(np.array([0, 1, 40000, 7], np.uint32))
    assert np.asarray(fnp.unique(u32)).tolist() == [0, 1, 7, 40000]
    assert np.asarray(fnp.take(u32, fnp.array([0, 9]))).tolist() == [0, 2 ** 32 - 1]
    assert fnp.bincount(u32).shape == (40001,)
    assert np.asarray(fnp.bincount(fnp.asarray(np.array([3, 255], np.uint8))))[255] == 1


def test_gcd_and_lcm_refuse_floats_and_bools():
    # JAX 0.10.2: ValueError "Arguments to jax.numpy.gcd must be integers."; funcgrad ran
    # Euclid's loop on floats, which never ends for inf or NaN (the call hung)
    for f in (fnp.gcd, fnp.lcm):
        for bad in (np.array([4.0, np.inf], np.float32), np.array([True, False])):
            with pytest.raises(ValueError, match="must be integers"):
                f(bad, bad)
    assert np.asarray(fnp.gcd(np.array([12, -18], np.int8), np.array([-18, 12], np.int8))
                      ).tolist() == [6, 6]
    assert int(fnp.gcd(np.int8(-128), np.int8(0))) == -128          # as JAX: abs wraps
    assert np.asarray(fnp.lcm(fnp.array([4], fnp.uint8), 6)).tolist() == [12]


# --- found by the ports of 2026-12-04 (narrow_int_loops, treedef_utilities,
# batched_linalg_grads) ---------------------------------------------------------------------

def test_fori_loop_index_is_a_weak_int_with_static_bounds(run):
    # JAX scans from the Python int int(lower): the index is weak, so an int8 carry stays
    # int8 (funcgrad raised "the carry changed type from i8[3] to i32[3]"), and int16 bounds
    # do not make (i + 1) * 20000 wrap in int16 (funcgrad gave -11072, JAX 120000)
    out = run(lambda z: lax.fori_loop(0, 5, lambda i, c: c + i, z), np.zeros(3, np.int8))
    assert out.dtype == np.int8 and out.tolist() == [10, 10, 10]
    out = run(lambda: lax.fori_loop(fnp.asarray(0, fnp.int16), fnp.asarray(3, fnp.int16),
                                    lambda i, c: c + (i + 1) * 20000, 0))
    assert out.dtype == np.int32 and int(out) == 120000
    out = run(lambda: lax.fori_loop(np.int16(2), np.int16(9), lambda i, c: c + i, np.int16(0)))
    assert out.dtype == np.int16 and int(out) == 35
    out = run(lambda z: lax.fori_loop(0, 4, lambda i, c: c + i, z, unroll=2),
              np.zeros(2, np.uint8))
    assert out.dtype == np.uint8 and out.tolist() == [6, 6]


def test_fori_loop_index_has_the_traced_bounds_type():
    # traced bounds: a while_loop whose index has the bounds' type, weak if they are
    f = fg.jit(lambda n: lax.fori_loop(0, n, lambda i, c: c + i, fnp.zeros(3, fnp.int8)))
    out = f(5)
    assert out.dtype == np.int8 and np.asarray(out).tolist() == [10, 10, 10]
    g = fg.jit(lambda n: lax.fori_loop(np.int16(0), n, lambda i, c: c + i, np.int16(0)))
    out = g(np.int16(5))
    assert out.dtype == np.int16 and int(out) == 10


def test_treedef_is_leaf_of_an_empty_container():
    # JAX: num_nodes == 1 ("a single node"): None, [], (), {} are leaves there too
    s = fg.tree.structure
    assert [fg.tree_util.treedef_is_leaf(s(z)) for z in (None, [], (), {}, 1.0, [1.0], [[]])] \
        == [True, True, True, True, True, False, False]


def test_slogdet_by_qr(backend):
    # method="qr" raised ValueError; JAX computes it from R's diagonal and Q's sign
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4, 4)).astype(np.float32)
    with fg.config.override("backend", backend):
        for method in ("qr", "lu"):
            s, ld = fg.jit(lambda a: fnp.linalg.slogdet(a, method=method))(a)
            ws, wl = np.linalg.slogdet(a.astype(np.float64))
            np.testing.assert_array_equal(np.asarray(s), ws)
            np.testing.assert_allclose(np.asarray(ld), wl, rtol=1e-5, atol=1e-5)
        g = fg.grad(lambda x: fnp.linalg.slogdet(x, method="qr")[1])(a[0])
        np.testing.assert_allclose(np.asarray(g), np.linalg.inv(a[0].astype(np.float64)).T,
                                   rtol=1e-4, atol=1e-4)
    with pytest.raises(NotImplementedError, match="complex"):
        fnp.linalg.slogdet(a.astype(np.complex64), method="qr")


def test_vectorize_excludes_a_keyword_by_name():
    # JAX accepts keyword names in `excluded` (keywords are passed through unmapped);
    # funcgrad raised NotImplementedError
    f = fnp.vectorize(lambda a, b: a * b["s"], excluded={"b"})
    np.testing.assert_array_equal(np.asarray(f(fnp.arange(3.0), b={"s": 2.0})), [0, 2, 4])
    with pytest.raises(TypeError, match="excluded"):
        fnp.vectorize(lambda a: a, excluded={1.5})


def test_custom_vjp_cotangent_of_a_shared_input_under_vmap_is_summed(run):
    # grad of a weight through vmap(lambda x: f(w, x)) with a custom_vjp f was per example:
    # shape (2, 2) where JAX gives the sum over the batch, shape (2,) -- with no error
    @fg.custom_vjp
    def f(w, x):
        return w * x
    f.defvjp(lambda w, x: (w * x, x), lambda x, g: (g * x, fnp.zeros_like(x)))

    @fg.custom_gradient
    def h(w, x):
        return w * x, lambda ct: (ct * x, ct * w)

    xs = np.array([[1.0, 2.0], [0.5, -1.0]], np.float32)
    w = np.array([1.0, -2.0], np.float32)
    for fn in (f, h):
        g = run(fg.grad(lambda w, xs: fnp.sum(fg.vmap(lambda xi: fn(w, xi))(xs))), w, xs)
        np.testing.assert_array_equal(g, [1.5, 1.0])
        j = run(fg.jacrev(lambda w, xs: fg.vmap(lambda xi: fn(w, xi))(xs)), w, xs)
        np.testing.assert_array_equal(j, [[[1, 0], [0, 2]], [[0.5, 0], [0, -1]]])
        g2 = run(fg.grad(lambda w, xs: fnp.sum(fg.vmap(fg.vmap(lambda xi: fn(w, xi)))(
            xs[None]))), w, xs)
        np.testing.assert_array_equal(g2, [1.5, 1.0])


def test_variance_scaling_rounds_as_jax_and_takes_explicit_axes_of_a_vector():
    # JAX computes the scale in the weights' dtype (sqrt of the rounded variance): bfloat16
    # draws differed by an ulp; and a 1-D shape is refused only with the default in_axis
    from funcgrad.nn import initializers
    key = fg.random.PRNGKey(0)
    got = initializers.variance_scaling(1.0, "fan_in", "uniform")(key, (5, 2), fnp.bfloat16)
    assert got.dtype == fnp.bfloat16
    np.testing.assert_array_equal(  # JAX 0.10.2's values
        np.asarray(got, np.float32).ravel(),
        [0.23046875, 0.109375, -0.53515625, -0.4609375, 0.328125, -0.376953125,
         -0.0242919921875, 0.765625, -0.1826171875, 0.5234375])
    v = initializers.variance_scaling(1.0, "fan_avg", "uniform", in_axis=0, out_axis=())(
        key, (4,))
    np.testing.assert_array_equal(np.asarray(v), np.array(
        [0.980789303779602, 1.048516035079956, -0.3674309551715851, -0.0686439648270607],
        np.float32))
    with pytest.raises(ValueError, match="default in_axis"):
        initializers.variance_scaling(1.0, "fan_in", "uniform")(key, (4,))


def test_sparse_sigmoid_and_celu_follow_jax_at_their_kinks(run):
    # JAX: sparse_sigmoid = 0.5 * clip(x + 1, 0, 2), whose tie rule gives the derivative
    # 0.25 at x = +-1 (a select gave 0); celu = max(x, 0) + alpha * expm1(min(x, 0) / alpha),
    # +0.0 at -0.0
    x = np.array([-1.0, 1.0, 0.5, -2.0], np.float32)
    d = run(fg.vmap(fg.grad(fg.nn.sparse_sigmoid)), x)
    np.testing.assert_array_equal(d, [0.25, 0.25, 0.5, 0.0])
    c = run(fg.nn.celu, np.array([-0.0, 0.0, -1.0], np.float32))
    assert not np.signbit(c[0]) and c[1] == 0 and np.isclose(c[2], np.expm1(-1.0))


def test_the_derivative_of_cbrt_at_zero_is_inf(run):
    # JAX's rule g / 3 * cbrt(x)^-2 gives +inf at +-0; the composition gave 0 * inf = NaN
    x = np.array([0.0, -0.0, 8.0, -8.0], np.float32)
    d = run(fg.vmap(fg.grad(fnp.cbrt)), x)
    np.testing.assert_allclose(d, [np.inf, np.inf, 1 / 12, 1 / 12], rtol=1e-6)


def test_a_reductions_initial_is_converted_to_its_computation_type(run):
    # JAX converts `initial` to the reduction's computation dtype: an int8 max with
    # initial=300 starts from 44 (funcgrad promoted to int32 and gave 300), a float initial
    # of an integer sum or max is truncated (funcgrad gave float32 results), a float32 one
    # of a float16 sum is added in float32 and the result stays float16, a bool min keeps
    # bool; an array initial is an error
    a8 = np.array([[1, -5], [3, 2]], np.int8)
    out = run(lambda a: fnp.max(a, initial=300), a8)
    assert out.dtype == np.int8 and int(out) == 44
    out = run(lambda a: fnp.max(a, axis=0, initial=2.7), a8)
    assert out.dtype == np.int8 and out.tolist() == [3, 2]
    out = run(lambda a: fnp.sum(a, initial=np.float32(1.5)), a8)
    assert out.dtype == np.int32 and int(out) == 2
    out = run(lambda a: fnp.prod(a, axis=1, initial=np.float32(2.5)), a8)
    assert out.dtype == np.int32 and out.tolist() == [-10, 12]
    out = run(lambda a: fnp.sum(a, initial=np.float32(0.1)), np.array([1.5, 2.5], np.float16))
    assert out.dtype == np.float16 and float(out) == 4.1015625
    out = run(lambda a: fnp.min(a, initial=-3), np.array([True, False]))
    assert out.dtype == np.bool_ and not bool(out)
    with pytest.raises(ValueError, match="scalar"):
        fnp.max(a8, initial=np.array([1, 2]))


def test_tril_and_triu_indices_are_of_the_default_int(x64):
    # JAX's are int64 under x64 (funcgrad's were int32 whatever the mode)
    assert fnp.tril_indices(3)[0].dtype == np.int64
    assert fnp.triu_indices(3, 1, 4)[1].dtype == np.int64
    assert fnp.triu_indices_from(np.ones((2, 2)))[0].dtype == np.int64


def test_argpartition_indices_are_int32(x64):
    # JAX's come from lax.top_k: int32 under x64 too (funcgrad's were int64 there)
    for x in (np.array([5.0, 1, 4, 2]), np.array([5, 1, 4, 2])):
        out = fnp.argpartition(x, 2)
        assert out.dtype == np.int32 and sorted(np.asarray(out)[:3].tolist()) == [1, 2, 3]


def test_a_loop_carry_takes_the_bodys_weak_type():
    # JAX's final carry takes the body's flag: scan from a weak 0.0 adding a float32 x
    # ends strongly typed (funcgrad kept it weak, so `carry * float16_array` was float16
    # where JAX's is float32); a weak int carry promoted to float ends strong too
    c, _ = lax.scan(lambda c, x: (c + x, c), 0.0, fnp.arange(3.0))
    assert not c.weak_type and (c * fnp.ones(2, fnp.float16)).dtype == np.float32
    c = lax.while_loop(lambda c: c < 5.0, lambda c: c + fnp.float32(1.0), 0.0)
    assert not c.weak_type
    c = lax.fori_loop(0, 3, lambda i, c: c + 0.5, 1)
    assert c.dtype == np.float32 and not c.weak_type and float(c) == 2.5
    c = lax.while_loop(lambda c: c < 10, lambda c: c + 3, 0)      # weak in, weak out
    assert c.weak_type and int(c) == 12


def test_the_gradient_of_a_scatter_set_goes_to_the_update_that_landed(run):
    # with repeated indices only the last update at a position is kept, and JAX's
    # transpose gives the cotangent to it alone; every duplicate got it before
    v = np.arange(8.0, dtype=np.float32)
    u = np.array([1.0, 2.0, 3.0], np.float32)
    g = run(fg.grad(lambda u: fnp.sum(fnp.asarray(v).at[np.array([1, 1, 4])].set(u) * v)), u)
    np.testing.assert_array_equal(g, [0, 1, 4])
    j = run(fg.jacrev(lambda u: fnp.asarray(v).at[np.array([1, 1])].set(u)), u[:2])
    np.testing.assert_array_equal(j[1], [0, 1])
    x2 = np.arange(12.0, dtype=np.float32).reshape(4, 3)
    g = run(fg.grad(lambda r: fnp.sum(fnp.asarray(x2).at[np.array([2, 0, 2])].set(r) ** 2)),
            np.ones((3, 3), np.float32))
    np.testing.assert_array_equal(g, [[0, 0, 0], [2, 2, 2], [2, 2, 2]])


def test_scipy_cholesky_reads_one_triangle(backend):
    # JAX and SciPy read the upper triangle (lower with lower=True); funcgrad symmetrised
    # the input and gave another factor for a matrix filled in one triangle
    from funcgrad.scipy import linalg as jsl
    a = np.array([[4.0, 2.0], [0.0, 3.0]], np.float32)
    with fg.config.override("backend", backend):
        np.testing.assert_allclose(np.asarray(jsl.cholesky(a)), [[2, 1], [0, np.sqrt(2)]],
                                   rtol=1e-6)
        np.testing.assert_allclose(np.asarray(jsl.cholesky(a.T, lower=True)),
                                   [[2, 0], [1, np.sqrt(2)]], rtol=1e-6)
        x = jsl.cho_solve(jsl.cho_factor(a), np.ones(2, np.float32))
        np.testing.assert_allclose(np.asarray(x), [0.125, 0.25], rtol=1e-6)
        g = fg.grad(lambda m: fnp.sum(jsl.cholesky(m)))(np.array([[4.0, 1.0], [1.0, 3.0]],
                                                                 np.float32))
        assert float(g[1, 0]) == 0.0          # the lower triangle is not read


def test_logaddexp_derivatives_at_infinities():
    # both weights were 1 wherever the result is infinite: (-inf, -inf) has no derivative
    # (NaN, as JAX's), and logaddexp(inf, 1) moves with its first operand alone (JAX gives
    # (1, e) there, funcgrad gave (1, 1))
    inf = np.float32(np.inf)
    d = fg.grad(fnp.logaddexp, argnums=(0, 1))
    assert all(np.isnan(float(v)) for v in d(-inf, -inf))
    assert [float(v) for v in d(inf, np.float32(1.0))] == [1.0, 0.0]
    assert [float(v) for v in d(inf, inf)] == [0.5, 0.5]
    assert [float(v) for v in d(np.float32(0.0), -inf)] == [1.0, 0.0]


def test_float_updates_into_an_integer_array_are_computed_promoted():
    # JAX promotes, scatters, and casts the result back once (with a FutureWarning);
    # funcgrad cast each update first, which differs wherever updates meet
    with pytest.warns(FutureWarning, match="scatter inputs have incompatible types"):
        out = fnp.zeros(3, fnp.int32).at[np.array([1, 1])].add(np.array([0.6, 0.6]))
    assert out.dtype == np.int32 and np.asarray(out).tolist() == [0, 1, 0]
    with pytest.warns(FutureWarning):
        out = fnp.ones(3, fnp.int32).at[np.array([0, 0, 2, 2, 2])].multiply(1.5)
    assert np.asarray(out).tolist() == [2, 1, 3]
    with pytest.warns(FutureWarning):
        out = fnp.zeros((3, 2), fnp.int32).at[np.array([1, 1])].add(0.6)
    assert np.asarray(out).tolist() == [[0, 0], [1, 1], [0, 0]]
    out = fnp.zeros(3, fnp.int8).at[1].add(300)           # a weak int: no warning
    assert out.dtype == np.int8 and int(out[1]) == 44


def test_the_derivative_of_arccosh_at_minus_one_is_plus_inf(run):
    # 1/sqrt(x^2 - 1) is +inf at x = +-1 (JAX: rsqrt(x*x - 1)); funcgrad's (x - 1)(x + 1)
    # was -0 at x = -1, so -inf (found by a sweep of every jnp function's gradient against
    # JAX's at 0, +-1, +-0.5, +-40 and at ties)
    x = np.array([-1.0, 1.0, 2.0, -2.0, 0.5], np.float32)
    g = run(fg.vmap(fg.grad(fnp.arccosh)), x)
    np.testing.assert_allclose(g, [np.inf, np.inf, 3 ** -0.5, 3 ** -0.5, np.nan], rtol=1e-6)


def test_arccosh_and_arcsinh_derivatives_where_x_squared_overflows(run):
    # 1/sqrt(x^2 -+ 1) is ~1/|x| for huge |x|; JAX's rsqrt of x^2 -+ 1 is 0 once x^2
    # overflows (|x| > 1.8e19 in float32), and funcgrad's was: arccosh(cosh(c)^2 + 1.25)
    # in a scan lost its gradient at every step past the overflow (the fuzzer, run 91).
    # Within range the formulas are JAX's, bit for bit (1.5, 3); at +-inf 0, NaN stays NaN
    x = np.array([1.5, 3.0, 1e19, 1e20, -3e37, 3e38, np.inf, -np.inf, np.nan], np.float32)
    x64 = np.abs(x.astype(np.float64))
    with np.errstate(all="ignore"):
        want_h = np.where(np.isinf(x64), 0.0, 1 / np.sqrt(x64 ** 2 - 1))
        want_s = np.where(np.isinf(x64), 0.0, 1 / np.sqrt(x64 ** 2 + 1))
    got_h = run(fg.vmap(fg.grad(fnp.arccosh)), np.abs(x))
    got_s = run(fg.vmap(fg.grad(fnp.arcsinh)), x)
    np.testing.assert_allclose(got_h, want_h, rtol=3e-7)
    np.testing.assert_allclose(got_s, want_s, rtol=3e-7)
    assert got_s[0] == np.float32(1) / np.sqrt(np.float32(3.25))       # rsqrt(x^2 + 1)
    assert got_h[1] == np.float32(1) / np.sqrt(np.float32(8.0))        # rsqrt(x^2 - 1)


def test_scan_of_arccosh_of_cosh_squared_has_its_gradient_past_the_overflow():
    # the program the fuzzer found (run 91), reduced: the carry doubles at every step,
    # cosh(c)^2 overflows float32 from c ~ 44.4, the masked-in outputs stay finite
    def f(c0, xs):
        def body(c, x):
            c = fnp.arccosh(fnp.cosh(c) ** 2 + 1.25)
            return c, c
        ys = fg.lax.scan(body, c0, xs)[1]
        return fnp.sum(fnp.where(ys < 60.0, ys, 0.0))

    c0 = np.array([0.3, 1.1, 1.4], np.float32)
    xs = np.zeros(6, np.float32)
    for be in ("reference", "c"):
        with fg.config.override("backend", be):
            g = np.asarray(fg.jit(fg.grad(f))(c0, xs), np.float64)
        c, want = c0.astype(np.float64), np.zeros(3)
        dc = np.ones(3)
        for _ in range(6):
            y = np.cosh(c) ** 2 + 1.25
            dc = dc * 2 * np.cosh(c) * np.sinh(c) / np.sqrt(y * y - 1)
            c = np.arccosh(y)
            want += np.where(c < 60.0, dc, 0.0)
        np.testing.assert_allclose(g, want, rtol=1e-4, err_msg=be)


def test_gammainc_derivative_in_a_for_small_a(run):
    # dP/da -> -E1(x) as a -> 0; on the series funcgrad computed -digamma(a) - 1/a, which
    # cancels in float32 (digamma(1e-8) = -1e8 - 0.58): 7.2 at (1e-8, 1) for JAX's -0.219
    from funcgrad.scipy import special as sp
    a = np.array([1e-8, 1e-8, 1e-6, 1e-4, 0.01], np.float32)
    x = np.array([1.0, 0.5, 0.5, 1e-8, 0.3], np.float32)
    want = [-0.21938393, -0.5597736, -0.559775, -17.8118, -0.908748]     # JAX 0.10.2
    np.testing.assert_allclose(run(fg.vmap(fg.grad(sp.gammainc)), a, x), want, rtol=2e-5)
    np.testing.assert_allclose(run(fg.vmap(fg.grad(sp.gammaincc)), a, x), -np.array(want),
                               rtol=2e-5)


def test_kl_div_derivatives_at_a_zero_probability(run):
    # JAX's kl_div is rel_entr(p, q) - p + q: at p = 0 its derivatives are -1 and 1;
    # funcgrad's `where(p == 0, q, ...)` gave 0 for d/dp
    from funcgrad.scipy import special as sp
    p = np.array([0.0, 0.0, 0.5], np.float32)
    q = np.array([0.5, 2.0, 0.25], np.float32)
    gp, gq = run(fg.vmap(fg.grad(sp.kl_div, argnums=(0, 1))), p, q)
    np.testing.assert_allclose(gp, [-1, -1, np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(gq, [1, 1, -1], rtol=1e-6)


def test_cummax_gradient_splits_ties_as_jax(run):
    # JAX differentiates cummax/cummin through lax.associative_scan's odd/even tree, where
    # a tie halves the tangent; funcgrad's doubling scan split ties otherwise, and its
    # -inf padding took 3/4 of x[0]'s share when x[0] = -inf (found by a gradient sweep)
    w = np.array([1.0, 2.0, 3.0, 4.0, 5.0], np.float32)
    g = run(fg.grad(lambda x: fnp.sum(lax.cummax(x) * w)), np.zeros(5, np.float32))
    np.testing.assert_allclose(g, [4.375, 3.375, 3.125, 1.625, 2.5])          # JAX 0.10.2
    x = np.array([-np.inf, 2.0, 3.0], np.float32)
    np.testing.assert_array_equal(run(fg.grad(lambda x: fnp.sum(lax.cummax(x))), x), [1, 1, 1])
    g = run(fg.grad(lambda x: fnp.sum(lax.cummin(x, reverse=True) * w[:3])),
            np.zeros(3, np.float32))
    np.testing.assert_allclose(g, [0.5, 1.25, 4.25])                          # JAX 0.10.2
    g = run(fg.grad(lambda x: fnp.sum(lax.associative_scan(fnp.maximum, x) * w[:4])),
            np.ones(4, np.float32))
    np.testing.assert_allclose(g, [3.75, 2.75, 2.5, 1.0])                     # JAX 0.10.2


def test_logsumexp_leaves_out_terms_of_weight_zero(run):
    # JAX sets a to -inf where b == 0: an infinite a there gave 0 * inf = NaN in the sum,
    # and its derivative NaN (found by a sweep against JAX)
    x = np.array([[np.inf, 1.0, 2.0], [-np.inf, -np.inf, 0.5]], np.float32)
    b = np.array([[0.0, 1.0, 1.0], [2.0, 0.0, 1.0]], np.float32)
    out = run(lambda x: fg.nn.logsumexp(x, axis=-1, b=b), x)
    np.testing.assert_allclose(out, [np.log(np.e + np.e ** 2), 0.5], rtol=1e-6)
    g = run(fg.grad(lambda x: fnp.sum(fg.nn.logsumexp(x, axis=-1, b=b))), x)
    np.testing.assert_allclose(g, [[0, 1 / (1 + np.e), np.e / (1 + np.e)], [0, 0, 1]],
                               rtol=1e-6)


def test_an_argument_donated_by_keyword_is_donated():
    # JAX resolves donate_argnums/donate_argnames through the signature, so `b` passed by
    # keyword is donated (deleted); funcgrad donated positional arguments only
    for f in (fg.jit(lambda a, b: a + b, donate_argnums=1),
              fg.jit(lambda a, b: a + b, donate_argnames="b")):
        a, b = fnp.ones(3), fnp.ones(3) * 2
        np.testing.assert_array_equal(np.asarray(f(a, b=b)), [3, 3, 3])
        assert b.is_deleted() and not a.is_deleted()


def test_a_seed_outside_int64_raises_overflow_error():
    # JAX converts the seed to a C long, with or without x64; 2**64 gave the key [0, 0]
    from funcgrad import random
    for seed in (2 ** 63, 2 ** 64, -2 ** 63 - 1):
        with pytest.raises(OverflowError, match="64-bit"):
            random.PRNGKey(seed)
    np.testing.assert_array_equal(np.asarray(random.PRNGKey(-2 ** 63)), [0, 0])


def test_64_bit_arrays_used_after_the_x64_context():
    # JAX: an operation of several operands gives 32 bits once x64 is off again (a
    # one-operand function keeps the 64-bit type), and a 64-bit index still indexes;
    # funcgrad kept float64 for `ref + 1` and raised for `x[idx]` (int64 < int32)
    with fg.enable_x64(True):
        ref = fnp.linspace(0.0, 1.0, 3)
        idx = fnp.arange(3)
        u = fnp.arange(3, dtype=fnp.uint64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert (ref + 1).dtype == np.float32 and (ref * ref).dtype == np.float32
        assert fnp.where(True, ref, 0).dtype == np.float32 and (idx + 1).dtype == np.int32
        assert fnp.sqrt(ref).dtype == np.float64 and fnp.asarray(ref).dtype == np.float64
        for i in (idx, u):
            np.testing.assert_array_equal(np.asarray(fnp.arange(3.0)[i]), [0, 1, 2])
            np.testing.assert_array_equal(np.asarray(fnp.take(fnp.arange(3.0), i)), [0, 1, 2])
            np.testing.assert_array_equal(np.asarray(fnp.zeros(3).at[i].add(1.0)), [1, 1, 1])


def test_creation_functions_take_a_device():
    # JAX's creation functions take device= (and out_sharding=); a single-device program
    # naming its device raised TypeError
    d = fg.devices()[0]
    for x in (fnp.zeros(3, device=d), fnp.ones(3, device=d), fnp.full(3, 0.5, device=d),
              fnp.arange(3.0, device=d), fnp.linspace(0, 1, 3, device=d),
              fnp.asarray([1.0, 2.0, 3.0], device=d), fnp.array([1.0, 2, 3], device=d),
              fnp.zeros_like(fnp.ones(3), device=d), fnp.eye(3, device=d)[0],
              fnp.astype(fnp.ones(3, fnp.int32), fnp.float32, device=d)):
        assert x.shape == (3,) and d in x.devices()
    out = fg.jit(lambda x: fnp.zeros_like(x, device=d) + fnp.ones(3, device=d))(fnp.ones(3))
    np.testing.assert_array_equal(np.asarray(out), [1, 1, 1])


def test_an_unstable_descending_argsort_gives_ties_last_index_first(run):
    # JAX's argsort(stable=False, descending=True) reverses the ascending order, so equal
    # elements come last index first; funcgrad sorted them stably (found by the ports
    # helper, 2026-12-07). The stable descending order keeps them first index first.
    x = np.array([1, 1, 0, 1], np.int32)
    unstable = run(lambda x: fnp.argsort(x, stable=False, descending=True), x)
    np.testing.assert_array_equal(unstable, [3, 1, 0, 2])
    stable = run(lambda x: fnp.argsort(x, descending=True), x)
    np.testing.assert_array_equal(stable, [0, 1, 3, 2])
    m = np.array([[2.0, np.nan, 2.0], [0.0, 0.0, -1.0]], np.float32)
    np.testing.assert_array_equal(
        run(lambda m: fnp.argsort(m, axis=1, stable=False, descending=True), m),
        [[1, 2, 0], [1, 0, 2]])


def test_cond_and_switch_results_have_branch_zero_s_weak_type(run):
    # JAX: a cond/switch result has branch 0's type, its weak flag included (cond's false
    # branch), whichever branch runs. funcgrad joined the branches' flags under jit and
    # took the running branch's eagerly, so `cond(...) + float16 array` was float16 or
    # float32 by the predicate's value (found by the ports helper, 2026-12-07).
    h = np.ones(2, np.float16)
    weak, strong = (lambda h: 1.0), (lambda h: fnp.float32(2))
    for p in (True, False):
        assert run(lambda p, h: lax.cond(p, weak, strong, h) + h, p, h).dtype == np.float32
        assert run(lambda p, h: lax.cond(p, strong, weak, h) + h, p, h).dtype == np.float16
    for i in (0, 1, 5):
        assert run(lambda i, h: lax.switch(i, [weak, strong], h) + h, i, h).dtype == np.float16
        assert run(lambda i, h: lax.switch(i, [strong, weak], h) + h, i, h).dtype == np.float32


def test_an_explicit_at_mode_applies_to_a_static_integer_index(run):
    # JAX: `.at[5].set(v, mode='drop')` drops and mode='clip' clamps; funcgrad raised
    # IndexError for a Python int out of range whatever the mode (without a mode it still
    # raises, as NumPy's indexing: docs/porting-from-jax.md). Found by the ports helper,
    # 2026-12-07.
    z = np.zeros(3, np.float32)
    np.testing.assert_array_equal(run(lambda z: z.at[5].set(1.0, mode="drop"), z), [0, 0, 0])
    np.testing.assert_array_equal(run(lambda z: z.at[5].set(1.0, mode="clip"), z), [0, 0, 1])
    np.testing.assert_array_equal(run(lambda z: z.at[-7].add(1.0, mode="clip"), z), [1, 0, 0])
    np.testing.assert_array_equal(run(lambda z: z.at[-1].add(1.0, mode="drop"), z), [0, 0, 1])
    np.testing.assert_array_equal(run(lambda z: z.at[4].max(2.0, mode="clip"), z), [0, 0, 2])
    np.testing.assert_array_equal(
        run(lambda z: (z + 1).at[4].apply(lambda v: v * 5, mode="clip"), z), [1, 1, 5])
    assert run(lambda z: (z + 2).at[5].get(mode="clip"), z) == 2
    m = np.zeros((2, 3), np.float32)
    np.testing.assert_array_equal(run(lambda m: m.at[0, 5].set(1.0, mode="drop"), m), m)
    np.testing.assert_array_equal(run(lambda m: m.at[7].set(1.0, mode="clip"), m),
                                  [[0, 0, 0], [1, 1, 1]])
    with pytest.raises(IndexError, match="out of bounds for axis 0 with size 3"):
        fnp.zeros(3).at[5].set(1.0)


def test_indices_of_no_dimensions_is_empty():
    # jnp.indices(()) is an empty int32 array of shape (0,), as NumPy's; funcgrad raised
    # "stack: need at least one array to stack"
    r = fnp.indices(())
    assert r.shape == (0,) and r.dtype == np.int32
    assert fnp.indices((), sparse=True) == ()


def test_an_integer_index_out_of_range_names_the_axis_it_indexes():
    # NumPy names axis 1 for a[0, 5] on a (2, 3) array; funcgrad named the axis in the
    # result after the first integer had dropped axis 0
    for index in ((0, 5), (None, 1, 5), (Ellipsis, 5)):
        with pytest.raises(IndexError, match="axis 1 with size 3"):
            fnp.zeros((2, 3))[index]


def test_solve_s_mismatch_error_and_reduce_window_s_operand_keyword():
    # the error printed (n,) for a vector b whatever its length; reduce_window's first
    # parameter was `x`, so JAX's `reduce_window(operand=...)` raised TypeError
    with pytest.raises(ValueError, match=r"b \(3,\) do not match"):
        fnp.linalg.solve(np.eye(4, dtype=np.float32), np.ones(3, np.float32))
    x = fnp.arange(9.0).reshape(3, 3)
    out = lax.reduce_window(operand=x, init_value=-np.inf, computation=lax.max,
                            window_dimensions=(2, 2), window_strides=(1, 1), padding="VALID")
    np.testing.assert_array_equal(out, [[4, 5], [7, 8]])


@pytest.mark.parametrize("name", ["clamp", "take", "take_along_axis", "at_get_fill", "unique",
                                  "delete", "top_k", "conv", "convolve", "correlate", "diag",
                                  "reduce", "dynamic_update_slice"])
def test_weak_types_that_jax_keeps_or_drops(run, name):
    # JAX 0.10.2's weak flags for a weak float32 operand w (arange * 0.5), seen through the
    # dtype of `f(w) + float16 array`: float16 where the result is weak, float32 where it
    # is strong. funcgrad had the other flag for each of these (found by the ports helper's
    # scan of 203 functions, 2026-12-07); the ones still different are listed in
    # docs/porting-from-jax.md, "Dtypes".
    strong_update = name == "dynamic_update_slice"
    fns = {
        "clamp": lambda w: lax.clamp(0.0, w, 1.0),
        "take": lambda w: fnp.take(w, fnp.array([0, 2, 1])),
        "take_along_axis": lambda w: fnp.take_along_axis(w, fnp.array([0, 1, 5]), axis=0,
                                                         mode="fill"),
        "at_get_fill": lambda w: w.at[fnp.array([0, 1, 7])].get(mode="fill", fill_value=0.0),
        "unique": lambda w: fnp.unique(w, size=3),
        "delete": lambda w: fnp.concatenate([fnp.delete(w, 1), w[:1]]),
        "top_k": lambda w: lax.top_k(w, 3)[0],
        "conv": lambda w: lax.conv_general_dilated(w.reshape(1, 1, 3), w.reshape(1, 1, 3),
                                                   (1,), "SAME")[0, 0],
        "convolve": lambda w: fnp.convolve(w, w, mode="same"),
        "correlate": lambda w: fnp.correlate(w, w, mode="same"),
        "diag": lambda w: fnp.diag(w)[0],
        "reduce": lambda w: lax.reduce(w, 0.0, lax.add, (0,)),
        "dynamic_update_slice": lambda w: lax.dynamic_update_slice(
            w, fnp.ones(1, fnp.float32), (0,)),
    }
    h = np.ones(3, np.float16)
    out = run(lambda h: fns[name](fnp.arange(3) * 0.5) + h, h)
    assert out.dtype == (np.float32 if strong_update else np.float16)


def test_bincount_checks_its_input_as_jax():
    # funcgrad flattened a 2-D x, OR-ed boolean weights into a bool result ([False, True,
    # False] where JAX raises) and raised an IndexError not naming bincount for float x
    np.testing.assert_array_equal(fnp.bincount(fnp.array([True, False])), [1, 1])
    with pytest.raises(ValueError, match="bincount: x must be 1-D"):
        fnp.bincount(fnp.array([[1, 2]]))
    with pytest.raises(TypeError, match="bincount: x must have an integer type"):
        fnp.bincount(fnp.array([1.0]))
    with pytest.raises(TypeError, match="bincount: boolean weights"):
        fnp.bincount(fnp.array([1, 2]), weights=fnp.array([True, False]))
    np.testing.assert_array_equal(
        fnp.bincount(fnp.array([1, 2, 2]), weights=fnp.array([0.5, 1.0, 2.0])), [0, 0.5, 3])


def test_the_truth_value_of_an_array_of_several_elements_is_a_value_error():
    # NumPy and JAX raise ValueError ("... is ambiguous"); funcgrad raised TypeError, which
    # a ported `except ValueError` did not catch
    with pytest.raises(ValueError, match="more than one element is ambiguous"):
        bool(fnp.array([1, 2]))
    with pytest.raises(ValueError, match="empty array is ambiguous"):
        bool(fnp.zeros((0,)))
    assert bool(fnp.array([3])) and not bool(fnp.array(0))


def test_unravel_of_a_tree_of_one_dtype_takes_any_dtype():
    # JAX's unravel reshapes the parts of a tree whose leaves share a dtype whatever the
    # vector's dtype (int32 parts for an int32 vector); a mixed tree needs the flat dtype.
    # funcgrad raised TypeError for both (found probing JAX 0.10.2, 2026-12-07).
    from funcgrad.flatten_util import ravel_pytree
    _, unravel = ravel_pytree({"a": np.float32([1.5, 2.5]), "b": np.float32(3.0)})
    for v, dt in ((np.int32([1, 2, 3]), np.int32), (np.float16([1, 2, 3]), np.float16)):
        for out in (unravel(v), fg.jit(unravel)(v)):
            assert out["a"].dtype == dt and out["b"].dtype == dt and out["b"].shape == ()
            np.testing.assert_array_equal(np.asarray(out["a"]), [1, 2])
    _, unravel = ravel_pytree({"a": np.float32([1.5, 2.5]), "b": np.int32(3)})
    out = unravel(np.float32([1, 2, 3]))
    assert out["a"].dtype == np.float32 and out["b"].dtype == np.int32
    with pytest.raises(TypeError, match="unravel: given an array of dtype int32"):
        unravel(np.int32([1, 2, 3]))


def test_vmap_returns_an_unmapped_output_as_given():
    # JAX returns an output that never met the mapped axis with out_axes=None as the
    # function gave it (a Python float stays a float, a NumPy array an ndarray);
    # funcgrad made every output an Array
    r = fg.vmap(lambda x: (2.0, 3, np.ones(2), x), out_axes=(None, None, None, 0))(np.ones(3))
    assert type(r[0]) is float and type(r[1]) is int and type(r[2]) is np.ndarray
    assert r[3].shape == (3,)
    assert fg.vmap(lambda x: 2.0)(np.ones(3)).shape == (3,)        # out_axes=0 broadcasts
    assert float(fg.grad(lambda y: fg.vmap(lambda x: y * 2, out_axes=None)(
        np.ones(3)))(1.0)) == 2.0


def test_error_classes_a_ported_except_clause_catches():
    # JAX 0.10.2's classes: ValueError for a convolution's feature mismatch, RuntimeError
    # for an unknown padding string, TypeError for int ** -1, ConcretizationTypeError for
    # bincount of a traced input without length; funcgrad raised TypeError, ValueError,
    # ValueError, ValueError. The new classes keep NumPy's too.
    x, w = np.ones((1, 3, 5, 5), np.float32), np.ones((2, 4, 3, 3), np.float32)
    with pytest.raises(ValueError, match="lhs feature dim 3 must equal"):
        lax.conv_general_dilated(x, w, (1, 1), "SAME")
    with pytest.raises(TypeError):
        lax.conv_general_dilated(x, w, (1, 1), "SAME")
    for cls in (RuntimeError, ValueError):
        with pytest.raises(cls, match="unknown padding 'SAMEX'"):
            lax.conv_general_dilated(x, w[:, :3], (1, 1), "SAMEX")
    for cls in (TypeError, ValueError):
        with pytest.raises(cls, match="integers to negative integer powers"):
            fnp.array([2, 3]) ** -1
    with pytest.raises(fg.errors.ConcretizationTypeError, match="bincount: .*pass length="):
        fg.jit(fnp.bincount)(fnp.array([1, 2]))


def test_rollaxis_with_a_negative_start_is_numpy_s():
    # start=-1 is before the last axis (start + ndim), not after it: rollaxis(x, -1, -2)
    # of a (2, 3, 4) array is (2, 4, 3); funcgrad gave (2, 3, 4) (found probing JAX)
    for shape in ((2, 3, 4), (2, 3, 4, 5)):
        x = np.arange(np.prod(shape)).reshape(shape)
        for axis in range(-len(shape), len(shape)):
            for start in range(-len(shape), len(shape) + 1):
                np.testing.assert_array_equal(fnp.rollaxis(x, axis, start),
                                              np.rollaxis(x, axis, start))


def test_complex_logsumexp_keeps_the_phase(run):
    # JAX shifts by the largest real part and takes the log of the complex sum; funcgrad
    # took log|sum|, so the imaginary part was the largest element's (and with b, NaN)
    from funcgrad.scipy.special import logsumexp
    c = np.array([1 + 2j, 1 - 1j, -1 + 0j], np.complex64)
    want = np.log(np.sum(np.exp(c.astype(np.complex128))))
    np.testing.assert_allclose(run(logsumexp, c), want, rtol=1e-5)
    b = np.array([1.0, -2.0, 3.0], np.float32)
    want_b = np.log(np.sum(b * np.exp(c.astype(np.complex128))))
    np.testing.assert_allclose(run(lambda c: logsumexp(c, b=b), c), want_b, rtol=1e-5)
    mag, sign = run(lambda c: logsumexp(c, b=b, return_sign=True), c)
    assert mag.dtype == np.float32 and sign.dtype == np.complex64
    np.testing.assert_allclose(mag, want_b.real, rtol=1e-5)
    np.testing.assert_allclose(sign, np.exp(1j * want_b.imag), rtol=1e-5)


def test_roll_broadcasts_shift_and_axis_and_ediff1d_casts_its_ends():
    # NumPy's and JAX's roll pair a tuple of shifts with one axis (adding them up);
    # funcgrad raised ValueError. ediff1d casts to_begin/to_end to the differences' dtype
    # (JAX); funcgrad promoted. int ** np.int32(-1) raises as int ** -1 (it wrapped).
    x = np.arange(24).reshape(2, 3, 4)
    for shift, axis in (((1, 2), 1), (np.array([1, 2]), 0), (3, (0, 2)), ((1, -2), (2, 2)),
                        ((1, 2), None)):
        np.testing.assert_array_equal(fnp.roll(x, shift, axis), np.roll(x, shift, axis))
    out = fnp.ediff1d(np.arange(4, dtype=np.int32), to_end=2.5)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [1, 1, 1, 2])
    out = fnp.ediff1d(np.arange(4, dtype=np.int8), to_begin=np.int32(300))
    assert out.dtype == np.int8 and int(out[0]) == 44
    with pytest.raises(TypeError, match="negative integer powers"):
        fnp.power(fnp.array([1, 2, 3]), np.int32(-1))
    np.testing.assert_array_equal(fnp.power(fnp.array([1, 2, 3]), np.int32(2)), [1, 4, 9])


# --- crashes where JAX runs, left from earlier probes (2026-12-07) ----------------------------

def test_complex_logaddexp_and_cumlogsumexp(run):
    # funcgrad raised a dtype TypeError (a float32 constant added to complex); JAX factors
    # out the operand with the larger real part and wraps the phase into [-pi, pi]
    a = np.array([1 + 2j, 3 - 1j, -2 + 3j, 0.5 + 3.1j], np.complex64)
    b = np.array([1 + 2j, 2 + 2.5j, 4 - 3j, 0.5 + 3.1j], np.complex64)
    want = np.log(np.exp(a.astype(np.complex128)) + np.exp(b.astype(np.complex128)))
    got = run(fnp.logaddexp, a, b)
    assert got.dtype == np.complex64
    np.testing.assert_allclose(got.real, want.real, rtol=1e-5)
    np.testing.assert_allclose(np.exp(1j * got.imag), np.exp(1j * want.imag), atol=1e-5)
    assert np.all(np.abs(got.imag) <= np.pi + 1e-6)
    got = run(lax.cumlogsumexp, a)
    want = np.log(np.cumsum(np.exp(a.astype(np.complex128))))
    np.testing.assert_allclose(np.exp(got), np.exp(want), rtol=1e-5)


def test_lax_pow_takes_an_integer_exponent_and_rint_a_complex(run):
    # JAX's lax.pow raises a float (or complex) to an integer array; funcgrad asked for
    # equal dtypes. rint of a complex rounds each part (it raised).
    x = np.array([2.0, -2.0, 0.0, 1.5], np.float32)
    n = np.array([3, 3, -1, -2], np.int8)
    np.testing.assert_allclose(run(lax.pow, x, n), [8.0, -8.0, np.inf, 1 / 2.25], rtol=1e-6)
    assert float(fg.grad(lambda x: lax.pow(x, np.int32(3)))(2.0)) == 12.0
    with pytest.raises(TypeError):
        lax.pow(np.array([2]), np.array([3]))         # an integer base, as JAX
    z = np.array([1.5 + 2.5j, -0.5 - 3.7j, 2.49 + 0.51j], np.complex64)
    np.testing.assert_array_equal(run(fnp.rint, z), np.rint(z))


def test_norm_of_an_empty_axis_and_pinv_with_one_rtol_per_matrix(run):
    # JAX's max-based norms are 0 over an empty axis (funcgrad's max raised); pinv takes an
    # rtol per matrix of a batch (funcgrad called float() on it)
    e = np.zeros((0,), np.float32)
    assert float(run(lambda v: fnp.linalg.norm(v, np.inf), e)) == 0.0
    m = np.zeros((0, 3), np.float32)
    for o in (np.inf, 1, 2, "nuc", "fro"):
        assert float(run(lambda v, o=o: fnp.linalg.norm(v, o), m)) == 0.0, o
    rng = np.random.default_rng(1)
    q1, q2 = (np.linalg.qr(rng.normal(size=(2, 3, 3)))[0][i] for i in range(2))
    a = (q1 * np.array([2.0, 1.0, 0.05])) @ q2   # singular values 2, 1 and 0.05
    a = np.stack([a, a]).astype(np.float32)
    rtol = np.array([1e-6, 0.1], np.float32)      # the second drops 0.05 (< 0.1 * 2)
    got = run(fnp.linalg.pinv, a, rtol)
    for i in range(2):
        np.testing.assert_allclose(got[i], np.linalg.pinv(a[i], rcond=rtol[i]), atol=1e-4)
    assert not np.allclose(got[1], np.linalg.pinv(a[1], rcond=1e-6), atol=1e-2)


# --- found by the transforms probes of 2026-12-07 ----------------------------------------------

def test_checkpoint_and_custom_rules_called_eagerly_see_arrays():
    # Called on host values (no transform), checkpoint, custom_jvp and custom_vjp called
    # `fun` on them as they were: NumPy float64 computed in float64, a Python float stayed a
    # Python float, and `.at` did not exist. JAX converts them to arrays first.
    out = fg.checkpoint(lambda v: v * 0.1)(np.ones(2))
    assert out.dtype == np.float32
    out = fg.checkpoint(lambda v: v / 3)(1.0)
    assert out.dtype == np.float32 and out.weak_type
    np.testing.assert_array_equal(fg.checkpoint(lambda v: v.at[0].set(1.0))(np.zeros(2)),
                                  [1.0, 0.0])
    f = fg.custom_jvp(lambda v: v * 0.1)
    f.defjvp(lambda p, t: (f(*p), t[0] * 0.1))
    assert f(np.ones(2)).dtype == np.float32
    g = fg.custom_vjp(lambda v: v * 0.1)
    g.defvjp(lambda v: (g(v), None), lambda r, ct: (ct * 0.1,))
    assert g(np.ones(2)).dtype == np.float32
    from funcgrad.ad_checkpoint import checkpoint_name
    assert checkpoint_name(np.ones(2), "a").dtype == np.float32


def test_custom_rules_take_keyword_arguments_and_defaults():
    # JAX binds keyword arguments and defaults through the signature; funcgrad's __call__
    # took positional arguments only (TypeError), and left an unpassed default out of the
    # primals (IndexError in the rule, a structure mismatch for bwd).
    f = fg.custom_jvp(lambda a, b=2.0: a * b)
    f.defjvp(lambda p, t: (f(*p), t[0] * p[1] + t[1] * p[0]))
    assert float(fg.grad(lambda v: f(v, b=3.0))(1.0)) == 3.0
    assert float(fg.grad(lambda v: f(v))(1.0)) == 2.0
    assert float(fg.grad(lambda v: f(1.5, b=v))(4.0)) == 1.5
    import functools
    assert float(fg.grad(functools.partial(f, b=5.0))(1.0)) == 5.0
    g = fg.custom_vjp(lambda a, b=2.0: a * b)
    g.defvjp(lambda a, b: (a * b, (a, b)), lambda r, ct: (ct * r[1], ct * r[0]))
    assert float(fg.grad(lambda v: g(v))(1.0)) == 2.0
    assert float(fg.jit(fg.grad(lambda v: g(v, b=4.0)))(1.0)) == 4.0
    with pytest.raises(TypeError, match="custom_jvp"):
        f(1.0, c=2.0)
    # a bwd returning a list is taken as the tuple (JAX's)
    h = fg.custom_vjp(lambda a: a * 2)
    h.defvjp(lambda a: (a * 2, None), lambda r, ct: [ct * 5])
    assert float(fg.grad(h)(1.0)) == 5.0


def test_device_put_of_a_python_scalar_is_weakly_typed():
    # device_put(1.0) made a strong float32 (NumPy's float64 converted), so float16 + it
    # became float32; JAX keeps Python scalars weak through device_put
    assert (fnp.ones(2, fnp.float16) + fg.device_put(1.0)).dtype == np.float16
    x = fg.device_put({"a": 1, "b": [2.0]})
    assert x["a"].weak_type and x["b"][0].weak_type
    assert (fnp.ones(2, fnp.int8) + x["a"]).dtype == np.int8


def test_a_static_argnum_passed_by_keyword_is_static():
    # JAX infers static_argnames from static_argnums through the signature; funcgrad traced
    # the keyword argument (TracerBoolConversionError on `if n`, a traced reshape size)
    f = fg.jit(lambda a, n: a * 2 if n else a, static_argnums=1)
    np.testing.assert_array_equal(f(np.ones(2, np.float32), n=True), [2.0, 2.0])
    np.testing.assert_array_equal(f(np.ones(2, np.float32), n=False), [1.0, 1.0])
    g = fg.jit(lambda a, n: a.reshape(n, -1), static_argnums=(1,))
    assert g(np.ones(4, np.float32), n=2).shape == (2, 2)


def test_linear_transpose_of_a_nonlinear_function_raises():
    # the VJP at zero of a*a is 0: funcgrad returned zeros where JAX's transpose rules
    # reject the product of two linear values
    x = np.arange(3.0, dtype=np.float32)
    for f in (lambda a: a * a, lambda a: fnp.sin(a), lambda a: 1.0 / a, lambda a: a @ a):
        with pytest.raises(TypeError, match="not linear"):
            fg.linear_transpose(f, np.ones(3, np.float32))
    (ct,) = fg.linear_transpose(lambda a: 2.0 * a + a[::-1] / 4.0, np.ones(3, np.float32))(x)
    np.testing.assert_allclose(ct, 2.0 * x + x[::-1] / 4.0)


def test_setdiff1d_keeps_the_first_arrays_dtype():
    # JAX returns values of ar1 in ar1's dtype (compared in the promoted one); funcgrad
    # returned the promoted dtype
    for size in (None, 3):
        out = fnp.setdiff1d(fnp.array([1, 2, 3], fnp.int8), fnp.array([3.0, 4.0]), size=size)
        assert out.dtype == np.int8
        np.testing.assert_array_equal(out, [1, 2, 0][:2 if size is None else 3])


def test_multi_key_sorts_of_empty_operands(run):
    # lexsort and lax.sort with num_keys > 1 raised on zero-size operands (reshape, stack)
    z = np.zeros((2, 0), np.float32)
    a, b = run(lambda z: lax.sort((z, z), num_keys=2, dimension=0), z)
    assert a.shape == b.shape == (2, 0)
    out = run(lambda v: fnp.lexsort((v, v)), np.zeros(0, np.float32))
    assert out.shape == (0,) and out.dtype == np.int32


def test_power_by_a_numpy_integer_scalar_keeps_the_base_dtype(run):
    # JAX takes any concrete operator.index-able exponent (a NumPy integer, a Python bool)
    # to integer_pow, so the base's dtype stays; funcgrad promoted with a NumPy integer
    # (uint8 ** np.int8(3) was int16, int16 ** np.int32(3) int32)
    for base, n, dt in ((np.array([1, 2], np.uint8), np.int8(3), np.uint8),
                        (np.array([1, 2], np.int16), np.int32(3), np.int16),
                        (np.array([1.5, 2], np.float16), np.int64(2), np.float16),
                        (np.array([1, 2], np.int32), True, np.int32)):
        out = run(lambda a, n=n: a ** n, base)
        assert out.dtype == dt, (base.dtype, n, out.dtype)
        np.testing.assert_array_equal(out, base.astype(np.float64) ** int(n))
    assert (fnp.array([True]) ** np.int8(3)).dtype == np.int32
