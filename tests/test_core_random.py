"""funcgrad.random: splittable counter-based keys; reproducibility across eager, jit and
vmap; distributions (loose statistical checks on 10k samples)."""
from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import random
from conftest import count_eager

pytestmark = pytest.mark.core

N = 10_000


def a(x):
    return np.asarray(x)


def test_same_key_same_numbers_eager_jit_vmap():
    key = random.PRNGKey(42)
    x1 = a(random.normal(key, (5,)))
    x2 = a(random.normal(key, (5,)))
    np.testing.assert_array_equal(x1, x2)
    xj = a(fg.jit(lambda k: random.normal(k, (5,)))(key))
    np.testing.assert_allclose(xj, x1, rtol=1e-6)
    keys = random.split(key, 4)
    loop = np.stack([a(random.uniform(k, (3,))) for k in keys])
    vm = a(fg.vmap(lambda k: random.uniform(k, (3,)))(keys))
    np.testing.assert_allclose(vm, loop, rtol=1e-6)
    vj = a(fg.jit(fg.vmap(lambda k: random.uniform(k, (3,))))(keys))
    np.testing.assert_allclose(vj, loop, rtol=1e-6)
    assert random.PRNGKey(0).shape == (2,)
    np.testing.assert_array_equal(a(random.PRNGKey(7)), a(random.PRNGKey(7)))


def test_split_and_fold_in_independence():
    key = random.PRNGKey(0)
    k1, k2 = random.split(key)
    assert not np.array_equal(a(k1), a(k2))
    assert not np.array_equal(a(k1), a(key))
    u1, u2 = a(random.uniform(k1, (N,))), a(random.uniform(k2, (N,)))
    assert abs(np.corrcoef(u1, u2)[0, 1]) < 0.05
    ks = a(random.split(key, 10))
    assert ks.shape == (10, 2) and len({tuple(k) for k in ks}) == 10
    np.testing.assert_array_equal(a(random.split(key, 10)), ks)
    f = [a(random.fold_in(key, i)) for i in range(5)]
    assert len({tuple(k) for k in f}) == 5
    np.testing.assert_array_equal(a(random.fold_in(key, 3)), f[3])
    v1 = a(random.normal(random.fold_in(key, 1), (N,)))
    v2 = a(random.normal(random.fold_in(key, 2), (N,)))
    assert abs(np.corrcoef(v1, v2)[0, 1]) < 0.05
    # different seeds, different streams
    assert not np.array_equal(a(random.uniform(random.PRNGKey(1), (8,))),
                              a(random.uniform(random.PRNGKey(2), (8,))))


def test_uniform_range_and_moments():
    u = a(random.uniform(random.PRNGKey(1), (N,)))
    assert u.dtype == np.float32
    assert u.min() >= 0.0 and u.max() < 1.0
    assert abs(u.mean() - 0.5) < 0.02 and abs(u.var() - 1 / 12) < 0.01
    v = a(random.uniform(random.PRNGKey(2), (N,), minval=-3.0, maxval=-1.0))
    assert v.min() >= -3.0 and v.max() < -1.0 and abs(v.mean() + 2.0) < 0.05
    hist, _ = np.histogram(u, bins=10, range=(0, 1))
    assert hist.min() > 0.8 * N / 10
    with fg.config.enable_x64():
        assert a(random.uniform(random.PRNGKey(0), (3,), dtype=np.float64)).dtype == np.float64
    with pytest.warns(UserWarning, match="truncated to dtype float32"):
        assert a(random.uniform(random.PRNGKey(0), (3,), dtype=np.float64)).dtype == np.float32


def test_normal_mean_std():
    x = a(random.normal(random.PRNGKey(3), (N,)))
    assert x.dtype == np.float32 and np.all(np.isfinite(x))
    assert abs(x.mean()) < 0.05 and abs(x.std() - 1.0) < 0.05
    assert abs(np.mean(np.abs(x) < 1.0) - 0.6827) < 0.02


def test_bernoulli():
    b = a(random.bernoulli(random.PRNGKey(4), 0.3, (N,)))
    assert b.dtype == np.bool_
    assert abs(b.mean() - 0.3) < 0.02
    p = np.array([0.0, 1.0, 0.5], np.float32)
    bb = a(random.bernoulli(random.PRNGKey(5), p, (N, 3)))
    assert bb[:, 0].sum() == 0 and bb[:, 1].all() and abs(bb[:, 2].mean() - 0.5) < 0.03


def test_categorical_frequencies():
    probs = np.array([0.1, 0.2, 0.7])
    c = a(random.categorical(random.PRNGKey(6), np.log(probs), shape=(N,)))
    assert c.min() >= 0 and c.max() <= 2
    freq = np.bincount(c, minlength=3) / N
    np.testing.assert_allclose(freq, probs, atol=0.02)
    logits = np.log(np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]) + 1e-12)
    rows = a(random.categorical(random.PRNGKey(7), logits))
    assert rows.shape == (2,) and rows[1] == 2 and rows[0] in (0, 1)


def test_randint_bounds():
    r = a(random.randint(random.PRNGKey(8), (N,), -3, 5))
    assert r.dtype == np.int32
    assert r.min() == -3 and r.max() == 4
    freq = np.bincount(r + 3) / N
    np.testing.assert_allclose(freq, np.full(8, 1 / 8), atol=0.02)


def test_permutation_is_a_permutation():
    p = a(random.permutation(random.PRNGKey(9), 20))
    assert sorted(p.tolist()) == list(range(20))
    assert p.tolist() != list(range(20))
    x = np.arange(12.0).reshape(6, 2)
    px = a(random.permutation(random.PRNGKey(10), x))
    assert px.shape == (6, 2)
    assert sorted(map(tuple, px.tolist())) == sorted(map(tuple, x.tolist()))


def test_truncated_normal_within_bounds():
    t = a(random.truncated_normal(random.PRNGKey(11), -1.0, 2.0, (N,)))
    assert t.min() >= -1.0 and t.max() <= 2.0
    # mean of N(0, 1) truncated to [-1, 2]: (phi(-1) - phi(2)) / (Phi(2) - Phi(-1))
    phi = lambda z: np.exp(-z * z / 2) / np.sqrt(2 * np.pi)
    from math import erf
    Phi = lambda z: 0.5 * (1 + erf(z / np.sqrt(2)))
    mean = (phi(-1.0) - phi(2.0)) / (Phi(2.0) - Phi(-1.0))
    assert abs(t.mean() - mean) < 0.03


def test_keys_under_grad_and_jit_of_sampling_function():
    def loss(w, key):
        noise = random.normal(key, w.shape)
        return fnp.sum((w + 0.1 * noise) ** 2)

    key = random.PRNGKey(12)
    w = fnp.ones(3)
    g = fg.grad(loss)(w, key)
    noise = a(random.normal(key, (3,)))
    np.testing.assert_allclose(a(g), 2 * (1 + 0.1 * noise), rtol=1e-5)
    np.testing.assert_allclose(a(fg.jit(fg.grad(loss))(w, key)), a(g), rtol=1e-5)


def test_eager_draws_run_threefry_compiled(monkeypatch):
    """Eagerly, Threefry's ~200 operations run as one compiled call (JAX jits its random
    functions the same way) once a shape has been drawn a few times, not one dispatch each: a normal
    draw dispatches a few dozen primitives, not hundreds, and gives the same bits as the
    first (eager) draw and as under jit."""
    from funcgrad.backends import c as cbackend
    if not cbackend.available():
        pytest.skip("no C compiler")
    key = random.PRNGKey(5)
    with fg.config.override("backend", "c"):
        eager = random.normal(key, (7, 3))      # a shape's first draws run eagerly,
        for _ in range(random.EAGER_CALLS):     # later ones compile
            random.normal(key, (7, 3))
        again, counted = count_eager(lambda: random.normal(key, (7, 3)), monkeypatch)
        split = random.split(key, 4)
    assert len(counted) < 80, counted        # (the jitted calls take the fast path)
    np.testing.assert_array_equal(np.asarray(eager), np.asarray(again))
    np.testing.assert_array_equal(
        np.asarray(eager), np.asarray(fg.jit(lambda k: random.normal(k, (7, 3)))(key)))
    np.testing.assert_array_equal(
        np.asarray(split), np.asarray(fg.jit(lambda k: random.split(k, 4))(key)))


_DRAWS = {
    "split": lambda k: random.split(k, 3),
    "fold_in": lambda k: random.fold_in(k, 7),
    "bits": lambda k: random.bits(k, (5,)),
    "uniform": lambda k: random.uniform(k, (4, 3), minval=-2.0, maxval=3.0),
    "normal": lambda k: random.normal(k, (6,)),
    "randint": lambda k: random.randint(k, (9,), 0, 10),
    "bernoulli": lambda k: random.bernoulli(k, 0.3, (8,)),
    "permutation": lambda k: random.permutation(k, 10),
    "choice": lambda k: random.choice(k, 10, (4,), replace=False),
    "choice_p": lambda k: random.choice(k, 5, (6,), p=fnp.array([0.1, 0.2, 0.3, 0.2, 0.2])),
    "categorical": lambda k: random.categorical(k, fnp.array([0.0, 1.0, -1.0]), shape=(5,)),
    "gamma": lambda k: random.gamma(k, fnp.array([0.5, 2.0, 7.0])),
    "poisson": lambda k: random.poisson(k, 3.0, (5,)),
    "truncated_normal": lambda k: random.truncated_normal(k, -1.0, 2.0, (5,)),
    "dirichlet": lambda k: random.dirichlet(k, fnp.array([1.0, 2.0, 0.5])),
    "typed_key": lambda k: random.normal(random.wrap_key_data(k), (3,)),
}


@pytest.mark.parametrize("name", sorted(_DRAWS))
def test_a_recurring_draw_compiles_to_the_same_values(name, monkeypatch):
    """A public draw compiles whole once it recurs (`random._draw_compiled`, as JAX jits
    its random functions): its values are the eager draw's (integers and keys bit for bit,
    floats to the last few bits: compiled transcendental functions may round apart)."""
    draw = _DRAWS[name]
    key = random.PRNGKey(3)
    monkeypatch.setattr(random, "EAGER_DRAWS", 10 ** 6)
    eager = [np.asarray(x) for x in fg.tree_util.tree_leaves(draw(key))]
    monkeypatch.setattr(random, "EAGER_DRAWS", 0)
    compiled = [np.asarray(x) for x in fg.tree_util.tree_leaves(draw(key))]
    for e, c in zip(eager, compiled):
        assert e.dtype == c.dtype and e.shape == c.shape
        if np.issubdtype(e.dtype, np.floating):
            np.testing.assert_allclose(c, e, rtol=2e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(c, e)


def test_a_recurring_draw_runs_as_one_compiled_call(monkeypatch):
    from funcgrad.backends import c as cbackend
    if not cbackend.available():
        pytest.skip("no C compiler")
    key = random.PRNGKey(1)
    with fg.config.override("backend", "c"):
        for _ in range(random.EAGER_DRAWS + 1):
            random.uniform(key, (3,), minval=1.0)
        _, counted = count_eager(lambda: random.uniform(key, (3,), minval=1.0), monkeypatch)
    assert counted == [], counted             # (the jitted call takes the fast path)


def test_draws_with_statics_that_differ_only_in_bits_do_not_share(monkeypatch):
    """0.0 == -0.0 in Python: a draw keyed on `==` would reuse the program for the other."""
    monkeypatch.setattr(random, "EAGER_DRAWS", 0)
    key = random.PRNGKey(0)
    a = np.asarray(random.uniform(key, (64,), minval=0.0, maxval=0.0))
    b = np.asarray(random.uniform(key, (64,), minval=-0.0, maxval=-0.0))
    monkeypatch.setattr(random, "EAGER_DRAWS", 10 ** 6)
    want_b = np.asarray(random.uniform(key, (64,), minval=-0.0, maxval=-0.0))
    np.testing.assert_array_equal(np.signbit(a), np.zeros(64, bool))
    np.testing.assert_array_equal(np.signbit(b), np.signbit(want_b))
