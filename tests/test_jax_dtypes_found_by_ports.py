"""Dtype differences from JAX found by new JAX ports (tests/ports/, session of 2026-12-05):
each test holds JAX 0.10.2's result for a small case, eagerly and under `jit`, on every
test backend; `x64` turns 64-bit types on for the test, as JAX's
`jax.config.update("jax_enable_x64", True)`."""
from __future__ import annotations

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp


def _same(got, want, dtype):
    assert got.dtype == np.dtype(dtype), (got.dtype, dtype)
    np.testing.assert_array_equal(got, want)


def test_ranks_are_the_default_int(run, x64):
    # JAX sums the mask of singular values above the threshold: the default int (int64
    # under x64); funcgrad cast the rank to int32. A vector's rank stays int32 in JAX.
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    r, r_batch, r_vec, r_lstsq, r_fit = run(lambda a: (
        fnp.linalg.matrix_rank(a), fnp.linalg.matrix_rank(fnp.stack([a, a * 0])),
        fnp.linalg.matrix_rank(a[0]), fnp.linalg.lstsq(a, fnp.ones(3))[2],
        fnp.polyfit(a[:, 0], a[:, 1], 1, full=True)[2]), a)
    _same(r, 2, np.int64)
    _same(r_batch, [2, 0], np.int64)
    _same(r_vec, 1, np.int32)
    _same(r_lstsq, 2, np.int64)
    _same(r_fit, 2, np.int64)


def test_ranks_without_x64_are_int32(run):
    a = np.array([[1.0, 2.0], [2.0, 4.0]], np.float32)
    r, r_lstsq = run(lambda a: (fnp.linalg.matrix_rank(a), fnp.linalg.lstsq(a, fnp.ones(2))[2]),
                     a)
    _same(r, 1, np.int32)
    _same(r_lstsq, 1, np.int32)


def test_histogram_counts_are_the_default_int(run, x64):
    # JAX counts histogram2d/histogramdd with bincount (the default int: int64 under x64);
    # funcgrad counted in int32. histogram's counts are floats (the sample's inexact type).
    x = np.array([0.1, 0.5, 0.9], np.float32)
    y = np.array([0.2, 0.3, 0.8], np.float32)
    h1, h2, hd, h2w, h2d = run(lambda x, y: (
        fnp.histogram(x, 2)[0], fnp.histogram2d(x, y, 2)[0],
        fnp.histogramdd(fnp.stack([x, y], 1), 2)[0],
        fnp.histogram2d(x, y, 2, weights=fnp.array([1, 2, 3]))[0],
        fnp.histogram2d(x, y, 2, density=True)[0]), x, y)
    _same(h1, [1, 2], np.float32)
    _same(h2, [[1, 0], [1, 1]], np.int64)
    _same(hd, [[1, 0], [1, 1]], np.int64)
    _same(h2w, [[1, 0], [2, 3]], np.float32)
    assert h2d.dtype == np.float32
    np.testing.assert_allclose(h2d, [[2.7777779, 0], [2.777778, 2.777778]], rtol=1e-6)


def test_histogramdd_promotes_sample_and_weights_together(run):
    # JAX: int32 points with float16 weights promote to float16 (the counts and edges);
    # funcgrad took the edges' float32 and gave float32 counts
    x = np.array([1, 2, 3], np.int32)
    w = np.array([1, 2, 3], np.float16)
    h2, e, hd = run(lambda x, w: (*fnp.histogram2d(x, x, 2, weights=w)[:2],
                                  fnp.histogramdd(fnp.stack([x, x], 1), 2, weights=w)[0]), x, w)
    _same(h2, [[1, 0], [0, 5]], np.float16)
    _same(hd, [[1, 0], [0, 5]], np.float16)
    _same(e, [1, 2, 3], np.float16)


def test_vander_keeps_the_input_dtype(run, x64):
    # JAX raises x to powers of x's own dtype: uint8 wraps (200**2 is 64) and int32 stays
    # int32 under x64; funcgrad took int32/int64 powers and widened (40000)
    u8 = np.array([200, 3], np.uint8)
    a, b = run(lambda x: (fnp.vander(x, 3), fnp.vander(x, 3, increasing=True)), u8)
    _same(a, [[64, 200, 1], [9, 3, 1]], np.uint8)
    _same(b, [[1, 200, 64], [1, 3, 9]], np.uint8)
    c = run(lambda x: fnp.vander(x), np.array([2, 3], np.int32))
    _same(c, [[2, 1], [3, 1]], np.int32)
    d = run(lambda x: fnp.vander(x, 3), np.array([2, 3], np.float16))
    _same(d, [[4, 2, 1], [9, 3, 1]], np.float16)


def test_vector_norm_of_integers(run):
    # JAX: ord=1 sums |x| (sum's integer type), ord=+-inf keep x's dtype, the 2-norm is the
    # default float; funcgrad promoted to float32 first
    x = np.array([[1, -2, 3], [0, 4, -1]], np.int8)
    n1, ninf, nminf, n1k, n2, n1u, ninfb = run(lambda x: (
        fnp.linalg.vector_norm(x, ord=1), fnp.linalg.vector_norm(x, ord=fnp.inf, axis=1),
        fnp.linalg.vector_norm(x, ord=-fnp.inf, axis=(0, 1)),
        fnp.linalg.vector_norm(x, ord=1, axis=0, keepdims=True), fnp.linalg.vector_norm(x),
        fnp.linalg.vector_norm(fnp.abs(x).astype(fnp.uint8), ord=1, axis=1),
        fnp.linalg.vector_norm(x != 0, ord=fnp.inf, axis=1)), x)
    _same(n1, 11, np.int32)
    _same(ninf, [3, 4], np.int8)
    _same(nminf, 0, np.int8)
    _same(n1k, [[1, 6, 4]], np.int32)
    assert n2.dtype == np.float32 and np.isclose(n2, np.sqrt(31))
    _same(n1u, [6, 5], np.uint32)
    _same(ninfb, [True, True], np.bool_)
    # norm promotes first (float32 in JAX, x64 or not)
    m1 = run(lambda x: fnp.linalg.norm(x, ord=1, axis=1), x)
    _same(m1, [6, 5], np.float32)


def test_vector_norm_of_integers_under_x64(run, x64):
    x = np.array([1, -2, 3], np.int32)
    n2, n1, ninf, m2 = run(lambda x: (
        fnp.linalg.vector_norm(x), fnp.linalg.vector_norm(x, ord=1),
        fnp.linalg.vector_norm(x, ord=fnp.inf), fnp.linalg.norm(x)), x)
    assert n2.dtype == np.float64 and np.isclose(n2, np.sqrt(14))
    _same(n1, 6, np.int64)
    _same(ninf, 3, np.int32)
    assert m2.dtype == np.float32


def test_interp_promotes_fp_on_its_own(run):
    # JAX: x and xp promote to an inexact type together, fp alone (int32 fp is float32):
    # float16 x with int32 fp gives float32; funcgrad promoted all three together (float16)
    x16 = np.array([0.5, -1, 3], np.float16)
    a, b, c, d = run(lambda x: (
        fnp.interp(x, fnp.array([0, 1, 2]), fnp.array([0, 10, 5])),
        fnp.interp(x, fnp.array([0, 1, 2], fnp.float16), fnp.array([0, 10, 5], fnp.float16),
                   left=-1.5, right=7),
        fnp.interp(x.astype(fnp.int32), fnp.array([0, 1, 2], fnp.float16),
                   fnp.array([0, 10, 5], fnp.float16), period=2),
        fnp.interp(x, fnp.array([0, 1, 2], fnp.float16), fnp.array([0, 10, 5], fnp.float16),
                   left=fnp.array(-1, fnp.int32), right=fnp.array(9.0, fnp.float32))), x16)
    _same(a, [5, 0, 5], np.float32)
    _same(b, [5, -1.5, 7], np.float16)
    _same(c, [5, 10, 10], np.float16)
    # an array left/right promotes with the result (and raised TypeError in funcgrad)
    _same(d, [5, -1, 9], np.float32)


def test_interp_under_x64(run, x64):
    # int64 fp (the default int) is float64; int32 fp stays float32, as JAX's
    x = np.array([0.5, -1, 3], np.float32)
    a, b = run(lambda x: (fnp.interp(x, fnp.array([0, 1, 2], fnp.float32), fnp.array([0, 10, 5])),
                          fnp.interp(x, fnp.array([0, 1, 2], fnp.float32),
                                     fnp.array([0, 10, 5], fnp.int32))), x)
    _same(a, [5, 0, 5], np.float64)
    _same(b, [5, 0, 5], np.float32)


def test_ufunc_reduce_adds_in_the_dtype_asked_for(run):
    # JAX: add.reduce(x, dtype=uint8) is sum(x, dtype=uint8), wrapping (200 + 100 = 44);
    # funcgrad cast x to uint8 and then summed with sum's default widening (uint32 300)
    a = np.array([[200, 100, 7], [3, 255, 1]], np.uint8)
    r, r0, m, k, i16, acc, cacc = run(lambda a: (
        fnp.add.reduce(a, dtype=fnp.uint8), fnp.add.reduce(a),
        fnp.multiply.reduce(a, axis=1, dtype=fnp.uint8),
        fnp.add.reduce(a, axis=1, dtype=fnp.uint8, keepdims=True),
        fnp.add.reduce(a, axis=None, dtype=fnp.int16),
        fnp.add.accumulate(a, axis=1, dtype=fnp.uint8),
        fnp.multiply.accumulate(a, axis=1, dtype=fnp.int16)), a)
    _same(r, [203, 99, 8], np.uint8)
    _same(r0, [203, 355, 8], np.uint32)
    _same(m, [224, 253], np.uint8)
    _same(k, [[51], [3]], np.uint8)
    _same(i16, 566, np.int16)
    _same(acc, [[200, 44, 51], [3, 2, 3]], np.uint8)
    _same(cacc, [[200, 20000, 8928], [3, 765, 765]], np.int16)


def test_ufunc_reduceat_keeps_the_input_dtype(run):
    # JAX reduces each slice in a's dtype (uint8 wraps: 200 + 100 = 44; funcgrad uint32
    # 300), and a lone element is itself (logical_and.reduceat gives 7, not True)
    a = np.array([[200, 100, 7], [3, 255, 1]], np.uint8)
    s, la = run(lambda a: (fnp.add.reduceat(a, np.array([0, 2]), axis=1),
                           fnp.logical_and.reduceat(a, np.array([0, 2]), axis=1)), a)
    _same(s, [[44, 7], [2, 1]], np.uint8)
    _same(la, [[1, 7], [1, 1]], np.uint8)


def test_ufunc_folds_carry_the_functions_result_type(run):
    # JAX's scan fold without dtype= carries func's type on two elements: logaddexp of
    # uint8 is float32 (funcgrad cast every step back to uint8: 7.0025 became 7);
    # logical_and.accumulate of uint8 is bool; a dtype= given to logical_and.reduce is the
    # result's
    a = np.array([[200, 100, 7], [3, 255, 1]], np.uint8)
    le, lacc, lall = run(lambda a: (
        fnp.logaddexp.reduce(a), fnp.logical_and.accumulate(a, axis=1),
        fnp.logical_and.reduce(a != 1, dtype=fnp.uint8)), a)
    assert le.dtype == np.float32
    np.testing.assert_allclose(le, [200, 255, 7.0024757], rtol=1e-6)
    _same(lacc, [[True, True, True], [True, True, True]], np.bool_)
    _same(lall, [1, 1, 0], np.uint8)


def test_powers_past_int32(run):
    # A Python int exponent beyond int32 is integer_pow's (static) exponent in JAX, by
    # repeated squaring: 1.0 ** 2**40 is 1, 2.0 ** 2**31 inf, int32 3 ** 2**31 wraps to 1;
    # funcgrad's eager repeated squaring converted |y| to an int32 array (OverflowError)
    from funcgrad import lax
    x = np.array([1.0, -1.0, 2.0, 0.5, 1.0000001], np.float32)
    a, b, c, d, e = run(lambda x: (x ** (2**40), fnp.power(x, 2**31), lax.integer_pow(x, 2**100),
                                   x ** -(2**40), fnp.array([3, -1, 0, 2]) ** (2**31)), x)
    inf = np.inf
    _same(a, [1, 1, inf, 0, inf], np.float32)
    _same(b, [1, 1, inf, 0, inf], np.float32)
    _same(c, [1, 1, inf, 0, inf], np.float32)
    _same(d, [1, 1, 0, inf, 0], np.float32)
    _same(e, [1, 1, 0, 0], np.int32)
    g = run(fg.grad(lambda x: x ** (2**40)), np.float32(1.0))
    _same(g, 2.0 ** 40, np.float32)


def test_initializers_default_to_the_default_float(run, x64):
    # JAX's initializers take dtype=None: the default float when called (float64 under
    # x64), and draw it from the key bit for bit; funcgrad's default was float32
    from funcgrad.nn import initializers as I
    g, n, u, h, z, c, g32 = run(lambda k: (
        I.glorot_normal()(k, (2, 3)), I.normal()(k, (2,)), I.uniform()(k, (2,)),
        I.he_uniform()(k, (2, 2)), I.zeros(k, (2,)), I.constant(0.3)(k, (2,)),
        I.glorot_normal(dtype=fnp.float32)(k, (2, 3))), fg.random.PRNGKey(0))
    _same(g, [[-0.14117812758262016, -0.533121282763364, 1.1436436340486191],
              [0.12884771644652343, 0.055493464306543706, -0.2548395411144789]], np.float64)
    _same(n, [-0.0020584213947964338, -0.00784765776446741], np.float64)
    _same(u, [0.004184571117163864, 0.002162954546055114], np.float64)
    _same(h, [[-0.2824728510062632, -0.9827813739229705],
              [1.6119208250205792, 0.2580774192140736]], np.float64)
    _same(z, [0, 0], np.float64)
    _same(c, [0.3, 0.3], np.float64)
    _same(g32, np.array([[1.046842336654663, 1.2329133749008179, -0.29671576619148254],
                         [-0.05394943431019783, 0.12079361826181412, -0.65617436170578]],
                        np.float32), np.float32)


def test_stax_parameters_follow_x64(x64):
    # stax's default W_init/b_init are initializers built at import: their dtype must be
    # decided when they are called (JAX: float64 under x64)
    from funcgrad import stax
    init, _ = stax.Dense(2)
    _, (w, b) = init(fg.random.PRNGKey(0), (-1, 3))
    _same(np.asarray(w), [[1.1727685618114183, -0.3290744468166388],
                          [0.28437327610220936, 1.3421706209367434],
                          [-0.3928198061729892, -0.25377080092304444]], np.float64)
    _same(np.asarray(b), [-0.01400884102827668, 0.014321449977776875], np.float64)


def test_vecdot_sums_in_the_operands_type(run, x64):
    # JAX's vecdot is a dot_general: int32 stays int32 under x64 and int8 wraps in int8;
    # funcgrad summed the products with sum's widening (int64; int8's 200 + 1 = 201)
    i32 = np.array([[100, 1, 0], [3, 2, 1]], np.int32)
    a, b, c = run(lambda x: (fnp.vecdot(x, fnp.array([2, 1, 1], fnp.int32)),
                             fnp.linalg.vecdot(x.astype(fnp.int8), fnp.array([2, 1, 1], fnp.int8)),
                             fnp.vecdot(x, x, preferred_element_type=fnp.int64)), i32)
    _same(a, [201, 9], np.int32)
    _same(b, [-55, 9], np.int8)
    _same(c, [10001, 14], np.int64)
