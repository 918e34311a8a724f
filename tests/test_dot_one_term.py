"""A dot_general whose contraction has one term runs as a product of broadcasts
(`passes.dots_of_one_term`): the same values as the one rounded product a GEMM gives, for
every layout of batch, free and size-1 contracting axes."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.lowering import passes

DTYPES = [np.float32, np.float64, np.int32, np.float16]


def _optimized_prims(f, *args):
    closed = fg.make_jaxpr(f)(*args)
    return [e.prim.name for e in passes.optimize(closed.program).eqns]


@st.composite
def one_term_dots(draw):
    """Operands and dimension numbers of a dot whose contracting axes all have size 1."""
    nb, nl, nr, nc = (draw(st.integers(0, 2)), draw(st.integers(0, 2)),
                      draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    sizes = st.integers(1, 5)
    batch = [draw(sizes) for _ in range(nb)]
    lfree, rfree = [draw(sizes) for _ in range(nl)], [draw(sizes) for _ in range(nr)]
    # each operand's axes (kind, index) in a drawn order
    lax_ = [("b", i) for i in range(nb)] + [("f", i) for i in range(nl)] + \
        [("c", i) for i in range(nc)]
    rax = [("b", i) for i in range(nb)] + [("f", i) for i in range(nr)] + \
        [("c", i) for i in range(nc)]
    lax_, rax = draw(st.permutations(lax_)), draw(st.permutations(rax))

    def shape(axes, free):
        return tuple(batch[i] if k == "b" else free[i] if k == "f" else 1 for k, i in axes)
    dn = ((tuple(lax_.index(("c", i)) for i in range(nc)),
           tuple(rax.index(("c", i)) for i in range(nc))),
          (tuple(lax_.index(("b", i)) for i in range(nb)),
           tuple(rax.index(("b", i)) for i in range(nb))))
    return shape(lax_, lfree), shape(rax, rfree), dn, draw(st.sampled_from(DTYPES))


def _numpy_dot(a, b, dn):
    (lc, rc), (lb, rb) = dn
    letters = iter("abcdefghijklmnop")
    la, ra = [None] * a.ndim, [None] * b.ndim
    for x, y in zip(lc, rc):
        la[x] = ra[y] = next(letters)
    for x, y in zip(lb, rb):
        la[x] = ra[y] = next(letters)
    for i in range(a.ndim):
        la[i] = la[i] or next(letters)
    for i in range(b.ndim):
        ra[i] = ra[i] or next(letters)
    out = [la[i] for i in lb] + [la[i] for i in range(a.ndim) if i not in lc + lb] + \
        [ra[i] for i in range(b.ndim) if i not in rc + rb]
    wide = np.float64 if a.dtype.kind == "f" else np.int64
    r = np.einsum(f"{''.join(la)},{''.join(ra)}->{''.join(out)}", a.astype(wide),
                  b.astype(wide))
    return r.astype(a.dtype)


@settings(max_examples=60, deadline=None)
@given(one_term_dots(), st.integers(0, 2**31 - 1))
def test_one_term_dots_match_the_rounded_product(case, seed):
    lshape, rshape, dn, dt = case
    rng = np.random.default_rng(seed)
    a = (rng.standard_normal(lshape) * 8).astype(dt)
    b = (rng.standard_normal(rshape) * 8).astype(dt)

    def f(a, b):
        return lax.dot_general(a, b, dn)
    with fg.config.enable_x64(True):          # (float64 operands stay float64)
        assert "dot_general" not in _optimized_prims(f, a, b)
        want = _numpy_dot(a, b, dn)
        for backend in ("c", "reference"):
            got = np.asarray(fg.jit(f, backend=backend)(a, b))
            assert got.shape == want.shape and got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


def test_nonfinite_factors_give_the_products_ieee_value():
    a = np.array([[np.inf], [0.0], [np.nan], [-2.0]], np.float32)
    b = np.array([[0.0, 3.0, -np.inf]], np.float32)
    got = np.asarray(fg.jit(lambda a, b: a @ b)(a, b))
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(got, a * b)


def test_a_negative_zero_product_sums_to_positive_zero():
    """A one-term dot is a sum of one product, which starts at 0 in NumPy, BLAS and the
    reference backend: -1.5 * 0.0 gives +0.0, so signbit is False and a reciprocal +inf
    (fuzz run 78: `signbit(x @ w)` with K = 1 was True on the C backend)."""
    x = np.array([[-1.5], [2.0], [-0.0]], np.float32)
    w = np.array([[0.0, -0.0, 3.0]], np.float32)
    want = np.signbit(x @ w)
    for backend in ("c", "reference"):
        got = np.asarray(fg.jit(lambda x, w: fnp.signbit(x @ w), backend=backend)(x, w))
        np.testing.assert_array_equal(got, want, err_msg=backend)
        inv = np.asarray(fg.jit(lambda x, w: 1 / (x @ w), backend=backend)(x, w))
        assert inv[0, 0] == np.inf and inv[0, 1] == np.inf, (backend, inv)


def test_per_example_gradients_fuse_their_outer_products():
    """vmap(grad) of a dense layer: each example's weight gradient is an outer product, and
    the transpose after it joins the same map (no dot is left in the backward pass)."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((12, 5)).astype(np.float32)
    x = rng.standard_normal((30, 12)).astype(np.float32)
    y = rng.standard_normal((30, 5)).astype(np.float32)

    def loss(w, x, y):
        return fnp.mean((fnp.tanh(x[None] @ w) - y[None]) ** 2)
    g = fg.vmap(fg.grad(loss), in_axes=(None, 0, 0))
    prims = _optimized_prims(g, w, x, y)
    assert prims.count("dot_general") == 1      # the forward product only
    got = np.asarray(fg.jit(g)(w, x, y))
    want = np.stack([np.asarray(fg.grad(loss)(w, x[i], y[i])) for i in range(30)])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    ref = np.asarray(fg.jit(g, backend="reference")(w, x, y))
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dt", [np.complex64, np.bool_])
def test_other_types_keep_the_dot(dt):
    a = np.ones((3, 1), dt)
    b = np.ones((1, 4), dt)
    assert "dot_general" in _optimized_prims(lambda a, b: a @ b, a, b)


@pytest.mark.parametrize("dt", [np.float32, np.int32, np.float16])
def test_one_variable_on_both_sides(backend, dt):
    """`x @ x.T` with K = 1, `einsum('i,j->ij', v, v)`: one variable as both operands. The
    rewrite placed each operand on lhs's axes when it was lhs by identity, so both were
    (outer(v, v) gave [[1,1,1],[4,4,4],[9,9,9]] under jit on C and OpenCL; found probing
    against JAX, 2026-12-07)."""
    v = np.array([1, 2, 3], dt)
    m = np.arange(6).reshape(2, 3).astype(dt)
    cases = [
        (lambda v, m: fnp.einsum("i,j->ij", v, v), np.outer(v, v)),
        (lambda v, m: v[:, None] @ v[:, None].T, np.outer(v, v)),
        (lambda v, m: fnp.tensordot(v, v, 0), np.outer(v, v)),
        (lambda v, m: fg.vmap(lambda r: fnp.einsum("i,j->ij", r, r))(m),
         np.einsum("bi,bj->bij", m, m)),
        (lambda v, m: fnp.einsum("ij,kj,lj->ikl", m[:, :1], m[:, :1], m[:, :1]),
         np.einsum("ij,kj,lj->ikl", m[:, :1], m[:, :1], m[:, :1])),
        (lambda v, m: m[:, :, None] @ fnp.swapaxes(m[:, :, None], 1, 2),
         m[:, :, None] @ np.swapaxes(m[:, :, None], 1, 2)),
    ]
    for f, want in cases:
        got = fg.jit(f)(v, m)
        np.testing.assert_array_equal(np.asarray(got, np.float64), want.astype(np.float64))
    if dt == np.float32:
        g = fg.jit(fg.grad(lambda x: ((x @ x.T) ** 2).sum()))(v[:, None])
        np.testing.assert_allclose(np.asarray(g), 4 * (v[:, None] @ v[None, :] @ v[:, None]),
                                   rtol=1e-6)
