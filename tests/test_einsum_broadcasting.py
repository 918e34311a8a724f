"""`jnp.einsum` broadcasts a label of size 1 against the same label of size n, as NumPy's
einsum and JAX's do: named labels, `...` standing for batch dimensions of different ranks
(right-aligned), a size-1 label that is contracted (summed) against a size-n one, outer
products and three operands; eagerly, under jit and vmap, with gradients. Sizes that differ
and are not 1 raise a ValueError naming einsum, the subscripts, the label and both shapes.
Before the fix every broadcasting case reached dot_general's "batch dimensions differ"
TypeError (or a contraction-size error)."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad.testing import check_grads


def _rand(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# (subscripts, operand shapes): every case but the one marked has a label of size 1 in one
# operand and of another size in another
CASES = [
    # named labels
    ("ij,ij->ij", [(1, 4), (3, 4)]),
    ("ij,ij->ij", [(3, 4), (3, 1)]),
    ("ij,ij->i", [(3, 1), (3, 4)]),
    ("ij,ij->", [(1, 1), (3, 4)]),
    ("bij,bjk->bik", [(1, 2, 3), (4, 3, 2)]),
    ("bij,bjk->bki", [(4, 2, 3), (1, 3, 2)]),
    ("ij,ij", [(1, 4), (3, 4)]),                      # implicit output
    # a size-1 label contracted against a size-n one: sum_j a[i, 0] * b[j, k]
    ("ij,jk->ik", [(3, 1), (4, 2)]),
    ("ij,jk->ik", [(3, 4), (1, 2)]),
    ("ij,jk", [(3, 1), (4, 2)]),
    ("bij,bjk->ik", [(1, 3, 4), (5, 4, 2)]),
    # ellipsis: different ranks and sizes, right-aligned
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...ij,...jk->...ik", [(3, 4), (5, 4, 2)]),       # ranks differ only: no size 1
    ("...ij,...jk->...ik", [(2, 3, 4), (6, 1, 4, 2)]),
    ("...ij,...jk->...ik", [(1, 3, 1), (6, 1, 4, 2)]),
    ("...i,...i->...", [(1, 4), (3, 4)]),
    ("...j,j->...", [(2, 1, 3, 4), (1,)]),
    ("i...j,j...->i...", [(2, 1, 4), (4, 3)]),
    ("...i,...i", [(2, 1, 4), (3, 1)]),
    ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)]),
    # outer products
    ("ai,bi->abi", [(2, 1), (3, 4)]),
    ("...i,...j->...ij", [(1, 3), (4, 2)]),
    ("ij,kj->ikj", [(2, 1), (3, 4)]),
    # three operands
    ("bi,bi,bi->b", [(1, 4), (3, 4), (3, 1)]),
    ("ij,jk,kl->il", [(3, 4), (1, 2), (2, 5)]),
    ("ij,jk,kl->il", [(3, 1), (4, 1), (2, 5)]),
    ("...i,...i,...i->...", [(2, 1, 4), (3, 1), (1,)]),
    # a repeated label (diagonal) of size 1 broadcast against size n
    ("ii,i->i", [(1, 1), (3,)]),
    # size 0 broadcast with size 1
    ("ij,ij->ij", [(1, 4), (0, 4)]),
]

IDS = [f"{s}-{'_'.join('x'.join(map(str, sh)) for sh in shapes)}" for s, shapes in CASES]


def _operands(shapes):
    return [_rand(sh, seed) for seed, sh in enumerate(shapes)]


def _check(got, want):
    got = np.asarray(got)
    assert got.shape == want.shape
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("subscripts,shapes", CASES, ids=IDS)
def test_einsum_broadcasts_like_numpy(subscripts, shapes):
    ops = _operands(shapes)
    want = np.einsum(subscripts, *[o.astype(np.float64) for o in ops])
    _check(fnp.einsum(subscripts, *ops), want)
    _check(fg.jit(lambda *xs: fnp.einsum(subscripts, *xs))(*ops), want)


@pytest.mark.parametrize("subscripts,shapes", CASES, ids=IDS)
def test_einsum_broadcasts_under_vmap(subscripts, shapes):
    ops = _operands(shapes)
    stacked = np.stack([ops[0], 2.0 * ops[0] - 1.0])
    got = fg.vmap(lambda x: fnp.einsum(subscripts, x, *ops[1:]))(stacked)
    want = np.stack([np.einsum(subscripts, x.astype(np.float64),
                               *[o.astype(np.float64) for o in ops[1:]]) for x in stacked])
    _check(got, want)


def test_sublist_form_broadcasts():
    a, b = _rand((1, 4), 0), _rand((3, 4), 1)
    _check(fnp.einsum(a, [0, 1], b, [0, 1], [0, 1]), np.einsum(a, [0, 1], b, [0, 1], [0, 1]))
    _check(fnp.einsum(a, [Ellipsis, 1], b, [Ellipsis, 1], [Ellipsis]),
           np.einsum(a, [Ellipsis, 1], b, [Ellipsis, 1], [Ellipsis]))


def test_contracted_size1_label_is_summed_against_the_other_operand():
    # NumPy: 'ij,jk->ik' with j of size 1 in a and 4 in b is a[i, 0] * sum_j b[j, k]
    a = np.array([[1.0], [2.0], [3.0]], np.float32)
    b = np.arange(8.0, dtype=np.float32).reshape(4, 2)
    want = a[:, :1] * b.sum(0)
    np.testing.assert_array_equal(fnp.einsum("ij,jk->ik", a, b), want)
    np.testing.assert_array_equal(fnp.einsum("jk,ij->ik", b, a), want)


def test_the_issue_examples():
    out = fnp.einsum("ij,ij->ij", fnp.ones((1, 4)), fnp.ones((3, 4)))
    np.testing.assert_array_equal(out, np.ones((3, 4), np.float32))
    out = fnp.einsum("...ij,...jk->...ik", fnp.ones((2, 1, 3, 4)), fnp.ones((5, 4, 2)))
    np.testing.assert_array_equal(out, np.full((2, 5, 3, 2), 4.0, np.float32))


GRAD_CASES = [
    ("ij,ij->ij", [(1, 4), (3, 4)]),
    ("ij,ij->i", [(3, 1), (3, 4)]),
    ("ij,jk->ik", [(3, 1), (4, 2)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...j,j->...", [(2, 1, 3, 4), (1,)]),
    ("...i,...j->...ij", [(1, 3), (4, 2)]),
    ("bi,bi,bi->b", [(1, 4), (3, 4), (3, 1)]),
]


@pytest.mark.parametrize("subscripts,shapes", GRAD_CASES,
                         ids=[s for s, _ in GRAD_CASES])
def test_einsum_broadcast_gradients_match_finite_differences(subscripts, shapes):
    ops = _operands(shapes)
    check_grads(lambda *xs: fnp.einsum(subscripts, *xs), ops, order=2, modes=("fwd", "rev"))
    check_grads(fg.jit(lambda *xs: fnp.tanh(fnp.einsum(subscripts, *xs))), ops, order=1,
                modes=("rev",))


def test_gradient_of_a_broadcast_operand_sums_over_the_broadcast_dimension():
    a, m = _rand((1, 4), 0), _rand((3, 4), 1)
    g = fg.grad(lambda s: fnp.sum(fnp.einsum("ij,ij->ij", s, m)))(a)
    assert g.shape == (1, 4)
    np.testing.assert_allclose(g, m.sum(0, keepdims=True), rtol=1e-6)
    x, b = _rand((2, 1, 3, 4), 2), _rand((5, 4, 2), 3)
    g = fg.grad(lambda s: fnp.sum(fnp.einsum("...ij,...jk->...ik", s, b)))(x)
    assert g.shape == (2, 1, 3, 4)
    want = np.broadcast_to(b.sum((0, 2)), (2, 1, 3, 4))    # d/dx[..., i, j] = sum_{n,k} b
    np.testing.assert_allclose(g, want, rtol=1e-5)


@pytest.mark.parametrize("subscripts,shapes,label,clash", [
    ("ij,ij->ij", [(2, 4), (3, 4)], "'i'", (0, 1)),
    ("i,i->", [(3,), (4,)], "'i'", (0, 1)),
    ("ij,jk->ik", [(3, 2), (4, 2)], "'j'", (0, 1)),
    ("bi,bi,bi->b", [(3, 4), (3, 1), (2, 5)], "'b'", (0, 2)),
    ("...ij,...jk->...ik", [(2, 3, 3, 4), (5, 4, 2)], "'...'", (0, 1)),
])
def test_sizes_that_differ_and_are_not_1_raise(subscripts, shapes, label, clash):
    ops = [np.ones(sh, np.float32) for sh in shapes]
    with pytest.raises(ValueError) as info:
        fnp.einsum(subscripts, *ops)
    msg = str(info.value)
    assert msg.startswith("einsum:")
    assert repr(subscripts) in msg
    assert f"label {label}" in msg
    i, j = clash
    assert f"operand {i} of shape {shapes[i]}" in msg
    assert f"operand {j} of shape {shapes[j]}" in msg
    with pytest.raises(ValueError, match="einsum"):
        fg.jit(lambda *xs: fnp.einsum(subscripts, *xs))(*ops)


def test_repeated_label_sizes_still_checked():
    # NumPy raises for 'ii' over a (1, 3) operand: a repeated index does not broadcast
    with pytest.raises(ValueError, match="repeated"):
        fnp.einsum("ii", np.ones((1, 3), np.float32))


def test_no_broadcast_keeps_the_dot_general_lowering():
    a, b = _rand((3, 4), 0), _rand((4, 2), 1)
    jaxpr = str(fg.make_jaxpr(lambda x, y: fnp.einsum("ij,jk->ik", x, y))(a, b))
    assert "dot_general" in jaxpr
    assert "squeeze" not in jaxpr and "reduce_sum" not in jaxpr
    # broadcasting squeezes the size-1 axis and still contracts with one dot_general
    c = _rand((1, 4), 2)
    jaxpr = str(fg.make_jaxpr(lambda x, y: fnp.einsum("ij,ij->ij", x, y))(c, a))
    assert jaxpr.count("dot_general") == 1 and "squeeze" in jaxpr


def test_operands_with_the_same_one_letter_spec_all_contract():
    # the pairwise loop chose "the other operands" by string identity, and one-letter specs
    # are the same interned string: 'i,i,i->' gave 15 (sum x[i]**2 * sum x) instead of 9
    x = np.arange(3.0, dtype=np.float32)
    for sub in ("i,i,i->", "i,i,i->i", "i,i,i,i->"):
        ops = (x,) * sub.split("->")[0].count("i")
        _check(fnp.einsum(sub, *ops), np.einsum(sub, *ops))
