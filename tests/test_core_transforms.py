"""Transforms and their compositions, compared with hand-derived or NumPy values, and the
transform algebra: `f == jit(f)`, `grad(jit(f)) == jit(grad(f))`, `vmap(f) == loop`."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.testing import arrays, check_grads

pytestmark = pytest.mark.core


def close(a, b, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=rtol, atol=atol)


def tree_close(a, b, rtol=1e-5, atol=1e-6):
    la, ta = fg.tree.tree_flatten(a)
    lb, tb = fg.tree.tree_flatten(b)
    assert ta == tb, f"{ta} != {tb}"
    for x, y in zip(la, lb):
        close(x, y, rtol, atol)


def f_scalar(x):
    return fnp.sum(fnp.sin(x) * x ** 2)


def df_scalar(x):  # d/dx sum(sin(x) x^2)
    return np.cos(x) * x ** 2 + 2 * x * np.sin(x)


def d2f_diag(x):
    return -np.sin(x) * x ** 2 + 4 * x * np.cos(x) + 2 * np.sin(x)


X = np.array([0.3, -1.2, 2.0], np.float32)


# ---------------------------------------------------------------------------------------
# The composition matrix


def test_grad():
    close(fg.grad(f_scalar)(X), df_scalar(X))


def test_grad_of_grad():
    g2 = fg.grad(lambda x: fg.grad(lambda y: fnp.sin(y) * y ** 2)(x))
    for x in (0.3, -1.2, 2.0):
        close(g2(x), d2f_diag(x), rtol=1e-4)


def test_grad_grad_grad():
    close(fg.grad(fg.grad(fg.grad(fnp.exp)))(0.5), np.exp(0.5), rtol=1e-5)
    close(fg.grad(fg.grad(fg.grad(fnp.sin)))(0.5), -np.cos(0.5), rtol=1e-5)


def test_vmap_of_grad():
    out = fg.vmap(fg.grad(lambda x: fnp.sin(x) * x ** 2))(X)
    close(out, df_scalar(X))


def test_grad_of_vmap():
    out = fg.grad(lambda x: fnp.sum(fg.vmap(lambda y: fnp.sin(y) * y ** 2)(x)))(X)
    close(out, df_scalar(X))


def test_jacfwd_jacrev_hessian():
    A = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], np.float32)

    def f(x):
        return fnp.tanh(A @ x)

    x = np.array([0.1, 0.2, -0.3], np.float32)
    t = np.tanh(A @ x)
    J = (1 - t ** 2)[:, None] * A
    close(fg.jacfwd(f)(x), J, rtol=1e-5)
    close(fg.jacrev(f)(x), J, rtol=1e-5)
    close(fg.jacfwd(fg.jacrev(f_scalar))(X), np.diag(d2f_diag(X)), rtol=1e-4, atol=1e-5)
    close(fg.jacrev(fg.jacfwd(f_scalar))(X), np.diag(d2f_diag(X)), rtol=1e-4, atol=1e-5)
    close(fg.hessian(f_scalar)(X), np.diag(d2f_diag(X)), rtol=1e-4, atol=1e-5)
    # a quadratic form: hessian = A + A^T
    M = np.array([[1.0, 2.0], [0.5, 3.0]], np.float32)
    close(fg.hessian(lambda v: v @ M @ v)(np.ones(2, np.float32)), M + M.T)


def test_jacobian_pytree_and_argnums():
    def f(x, y):
        return {"a": x * y, "b": fnp.sum(x)}

    x = np.array([1.0, 2.0], np.float32)
    y = np.array([3.0, 4.0], np.float32)
    j = fg.jacrev(f, argnums=(0, 1))(x, y)  # JAX: output tree of per-argnum tuples
    close(j["a"][0], np.diag(y))
    close(j["a"][1], np.diag(x))
    close(j["b"][0], np.ones(2))
    close(j["b"][1], np.zeros(2))
    jf = fg.jacfwd(f, argnums=1)(x, y)
    close(jf["a"], np.diag(x))
    close(jf["b"], np.zeros(2))


@pytest.mark.parametrize("outer", ["jit_grad", "grad_jit", "vmap_jit", "jit_vmap",
                                   "jit_vmap_grad", "vmap_jacrev", "grad_jit_grad"])
def test_jit_compositions(outer):
    g = lambda x: fnp.sin(x) * x ** 2
    if outer == "jit_grad":
        out = np.stack([fg.jit(fg.grad(g))(x) for x in X])
        want = df_scalar(X)
    elif outer == "grad_jit":
        out = np.stack([fg.grad(fg.jit(g))(x) for x in X])
        want = df_scalar(X)
    elif outer == "vmap_jit":
        out, want = fg.vmap(fg.jit(g))(X), np.sin(X) * X ** 2
    elif outer == "jit_vmap":
        out, want = fg.jit(fg.vmap(g))(X), np.sin(X) * X ** 2
    elif outer == "jit_vmap_grad":
        out, want = fg.jit(fg.vmap(fg.grad(g)))(X), df_scalar(X)
    elif outer == "vmap_jacrev":
        out = fg.vmap(fg.jacrev(lambda v: fnp.sin(v) * v[0]))(np.stack([X, X + 1]))
        want = []
        for v in (X, X + 1):
            J = np.diag(np.cos(v) * v[0])
            J[:, 0] += np.sin(v)
            want.append(J)
        want = np.stack(want)
    else:
        out = np.stack([fg.grad(fg.jit(fg.grad(g)))(x) for x in X])
        want = d2f_diag(X)
    close(out, want, rtol=1e-4, atol=1e-5)


def test_linearize():
    y, f_jvp = fg.linearize(f_scalar, X)
    close(y, np.sum(np.sin(X) * X ** 2))
    t = np.array([1.0, 0.0, 2.0], np.float32)
    close(f_jvp(t), df_scalar(X) @ t, rtol=1e-5)
    close(f_jvp(2 * t), 2 * (df_scalar(X) @ t), rtol=1e-5)
    # linearize agrees with jvp
    _, jt = fg.jvp(f_scalar, (X,), (t,))
    close(f_jvp(t), jt)


def test_jvp_vjp_with_pytrees():
    Params = namedtuple("Params", "w b")

    def f(p, x):
        return {"out": fnp.tanh(p.w * x + p.b), "sq": (p.w ** 2, [x])}

    p = Params(np.float32(0.5), np.array([1.0, -1.0], np.float32))
    x = np.array([2.0, 3.0], np.float32)
    tp = Params(np.float32(1.0), np.array([0.0, 1.0], np.float32))
    tx = np.array([1.0, 0.0], np.float32)
    out, t_out = fg.jvp(f, (p, x), (tp, tx))
    z = 0.5 * x + p.b
    dz = 1.0 * x + 0.5 * tx + tp.b
    close(out["out"], np.tanh(z))
    close(t_out["out"], (1 - np.tanh(z) ** 2) * dz, rtol=1e-5)
    close(t_out["sq"][0], 2 * 0.5 * 1.0)
    close(t_out["sq"][1][0], tx)

    _, f_vjp = fg.vjp(f, p, x)
    ct = {"out": np.ones(2, np.float32), "sq": (np.float32(1.0), [np.zeros(2, np.float32)])}
    gp, gx = f_vjp(ct)
    assert isinstance(gp, Params)
    dt = 1 - np.tanh(z) ** 2
    close(gp.w, np.sum(dt * x) + 2 * 0.5, rtol=1e-5)
    close(gp.b, dt)
    close(gx, dt * 0.5)


def test_vjp_has_aux_and_jvp_has_aux():
    _, f_vjp, aux = fg.vjp(lambda x: (fnp.sin(x), {"n": x.shape[0]}), X, has_aux=True)
    assert aux == {"n": 3}
    close(f_vjp(np.ones(3, np.float32))[0], np.cos(X))
    _, t, aux = fg.jvp(lambda x: (x * 2, "aux"), (X,), (np.ones(3, np.float32),),
                         has_aux=True)
    assert aux == "aux"
    close(t, 2 * np.ones(3))


def test_value_and_grad_argnums_and_has_aux():
    def f(x, y, z):
        return fnp.sum(x * y) + z ** 2, {"y": y}

    x = np.array([1.0, 2.0], np.float32)
    y = np.array([3.0, 5.0], np.float32)
    (v, aux), g = fg.value_and_grad(f, has_aux=True)(x, y, 2.0)
    close(v, 13 + 4)
    close(aux["y"], y)
    close(g, y)
    (v, aux), (gx, gz) = fg.value_and_grad(f, argnums=(0, 2), has_aux=True)(x, y, 2.0)
    close(gx, y)
    close(gz, 4.0)
    g, aux = fg.grad(f, argnums=1, has_aux=True)(x, y, 2.0)
    close(g, x)
    gy, = fg.grad(lambda *a: f(*a)[0], argnums=(1,))(x, y, 2.0)
    close(gy, x)
    # negative argnums count from the end
    close(fg.grad(lambda *a: f(*a)[0], argnums=-1)(x, y, 2.0), 4.0)


def test_grad_with_pytree_argument():
    params = {"w": np.array([1.0, 2.0], np.float32), "b": (np.float32(0.5), None)}

    def loss(p):
        return fnp.sum(p["w"] ** 2) + p["b"][0] * 3.0

    g = fg.grad(loss)(params)
    assert set(g) == {"w", "b"} and g["b"][1] is None
    close(g["w"], 2 * params["w"])
    close(g["b"][0], 3.0)


def test_convert_element_type_grad(x64):
    x = np.array([1.5, -2.0], np.float64)
    g = fg.grad(lambda v: fnp.sum(v.astype(np.float32) ** 2))(x)
    assert g.dtype == np.float64
    close(g, 2 * x)
    _, t = fg.jvp(lambda v: v.astype(np.float64) * 3.0, (np.float32(2.0),), (np.float32(1.0),))
    assert t.dtype == np.float64
    close(t, 3.0)
    # an integer cast stops the derivative
    close(fg.grad(lambda v: v.astype(np.int32).astype(np.float32) * v)(2.5), 2.0)


# ---------------------------------------------------------------------------------------
# custom_jvp / custom_vjp / checkpoint / stop_gradient


@fg.custom_jvp
def safe_log1pexp(x):
    return fnp.log1p(fnp.exp(x))


@safe_log1pexp.defjvp
def _safe_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return safe_log1pexp(x), t * lax.logistic(x) * 1.0


@fg.custom_jvp
def f_with_marked_rule(x):
    return fnp.sin(x)


@f_with_marked_rule.defjvp
def _marked(primals, tangents):
    (x,), (t,) = primals, tangents
    return fnp.sin(x), t * 100.0  # deliberately not the true derivative


def test_custom_jvp_rule_is_used_everywhere():
    x = np.float32(0.3)
    close(fg.grad(f_with_marked_rule)(x), 100.0)
    close(fg.jvp(f_with_marked_rule, (x,), (np.float32(1.0),))[1], 100.0)
    close(fg.jit(fg.grad(f_with_marked_rule))(x), 100.0)
    close(fg.grad(fg.jit(f_with_marked_rule))(x), 100.0)
    close(fg.vmap(fg.grad(f_with_marked_rule))(X), np.full(3, 100.0))
    close(fg.grad(lambda v: fnp.sum(fg.vmap(f_with_marked_rule)(v)))(X), np.full(3, 100.0))
    close(fg.vmap(f_with_marked_rule)(X), np.sin(X))
    close(fg.jit(f_with_marked_rule)(x), np.sin(x))
    close(f_with_marked_rule(x), np.sin(x))


def test_custom_jvp_values():
    x = np.array([-3.0, 0.0, 40.0], np.float32)
    g = fg.vmap(fg.grad(safe_log1pexp))(x)
    close(g, 1 / (1 + np.exp(-x.astype(np.float64))), rtol=1e-5)
    check_grads(safe_log1pexp, (np.array([0.2, -0.7]),), order=2)


@fg.custom_vjp
def clip_gradient(x):
    return x * 1.0


def _cg_fwd(x):
    return x * 1.0, None


def _cg_bwd(_, g):
    return (fnp.clip(g, -1.0, 1.0),)


clip_gradient.defvjp(_cg_fwd, _cg_bwd)


def test_custom_vjp():
    f = lambda x: fnp.sum(clip_gradient(x) * 5.0)
    close(fg.grad(f)(X), np.ones(3))
    close(fg.jit(fg.grad(f))(X), np.ones(3))
    close(fg.grad(fg.jit(f))(X), np.ones(3))
    close(fg.vmap(fg.grad(lambda x: clip_gradient(x) * 0.5))(X), np.full(3, 0.5))
    per_ex = fg.vmap(fg.grad(lambda x: clip_gradient(x) * 3.0))(X)
    close(per_ex, np.ones(3))
    close(fg.vmap(clip_gradient)(X), X)
    close(clip_gradient(X), X)


def test_custom_vjp_with_residuals_and_nondiff():
    @fg.custom_vjp
    def f(x, y):
        return fnp.sin(x) * y

    def fwd(x, y):
        return fnp.sin(x) * y, (fnp.cos(x), fnp.sin(x), y)

    def bwd(res, g):
        c, s, y = res
        return (g * c * y, g * s)

    f.defvjp(fwd, bwd)
    gx, gy = fg.grad(lambda a, b: fnp.sum(f(a, b)), argnums=(0, 1))(X, X + 1)
    close(gx, np.cos(X) * (X + 1))
    close(gy, np.sin(X))


def test_jvp_of_custom_vjp_raises_clear_error():
    with pytest.raises(TypeError, match="custom_vjp"):
        fg.jvp(clip_gradient, (X,), (np.ones(3, np.float32),))
    with pytest.raises(TypeError, match="custom_vjp"):
        fg.jacfwd(lambda x: clip_gradient(x))(X)


def test_checkpoint_grad_equals_plain():
    def block(x):
        return fnp.sin(fnp.cos(x) * x) * fnp.exp(-x)

    def loss(x, remat):
        b = fg.checkpoint(block) if remat else block
        return fnp.sum(b(b(x)))

    g_plain = fg.grad(loss)(X, False)
    g_remat = fg.grad(loss)(X, True)
    close(g_remat, g_plain, rtol=1e-6)
    close(fg.jit(fg.grad(loss), static_argnums=1)(X, True), g_plain, rtol=1e-5)
    close(fg.vmap(fg.grad(lambda x: loss(x, True)))(X[:, None]),
          np.stack([fg.grad(lambda x: loss(x, False))(X[i:i + 1]) for i in range(3)]),
          rtol=1e-5)
    check_grads(lambda x: loss(x, True), (X.astype(np.float64),), order=2)
    # the rematerialised program recomputes the forward inside the backward pass
    ir = str(fg.make_ir(fg.grad(lambda x: loss(x, True)))(X))
    assert "remat" in ir


def test_checkpoint_jvp_leaves_an_integer_arguments_tangent_out():
    """Fuzz seed 20261962: the JVP of `checkpoint(jit(f))(x, 3)` with f = x ** s was NaN
    at negative x. checkpoint's JVP gave every input a tangent, the integer 3's an
    instantiated zero, and pow's exponent term log(x) * x**y * 0 is NaN for x < 0; only
    the tangents that are not symbolic zeros are inputs now (jit's rule already did
    that). jvp, grad, jacfwd and vmap, eagerly and under jit."""
    x = np.array([-0.68, 0.59, -1.2], np.float32)
    v = np.array([0.64, 2.1, -2.5], np.float32)
    g = fg.checkpoint(fg.jit(lambda a, s: a ** s))
    want = 3 * x ** 2
    close(fg.jvp(lambda a: g(a, 3), (x,), (v,))[1], want * v)
    close(fg.jit(lambda a, t: fg.jvp(lambda a: g(a, 3), (a,), (t,))[1])(x, v), want * v)
    close(fg.grad(lambda a: fnp.sum(g(a, 3)))(x), want)
    close(fg.jit(fg.grad(lambda a: fnp.sum(g(a, 3))))(x), want)
    close(fg.jacfwd(lambda a: g(a, 3))(x).diagonal(), want)
    close(fg.vmap(fg.grad(lambda a: g(a, 3)))(x), want)


def test_stop_gradient():
    f = lambda x: fnp.sum(x * fg.stop_gradient(x))
    close(fg.grad(f)(X), X)
    close(fg.grad(lambda x: fnp.sum(lax.stop_gradient(x ** 2)))(X), np.zeros(3))
    close(fg.vmap(fg.grad(lambda x: x * fg.stop_gradient(x)))(X), X)
    close(fg.jit(fg.grad(f))(X), X)
    close(fg.grad(fg.grad(lambda x: x * fg.stop_gradient(x ** 2)))(2.0), 0.0)
    tree = fg.stop_gradient({"a": fnp.ones(2), "b": (fnp.zeros(1),)})
    assert set(tree) == {"a", "b"}


# ---------------------------------------------------------------------------------------
# Control flow


def _scan_fun(c0, xs):
    def body(c, x):
        c = c * fnp.cos(x) + x ** 2
        return c, fnp.sin(c) * x
    c, ys = lax.scan(body, c0, xs)
    return fnp.sum(c) + fnp.sum(ys)


def _scan_ref(c0, xs):
    c, total = c0, 0.0
    for x in xs:
        c = c * np.cos(x) + x ** 2
        total = total + np.sum(np.sin(c) * x)
    return np.sum(c) + total


def test_scan_value_grads_and_batching():
    c0 = np.array([0.5, -0.2], np.float64)
    xs = np.array([[0.1, 0.2], [0.3, -0.4], [1.0, 0.5]], np.float64)
    close(_scan_fun(c0, xs), _scan_ref(c0, xs))
    check_grads(_scan_fun, (c0, xs), order=2)
    # reverse scan and pytree carries
    def f(c, xs):
        (a, b), ys = lax.scan(lambda c, x: ((c[0] + x, c[1] * x), c[0] * c[1]), c, xs,
                              reverse=True)
        return a + b + fnp.sum(ys)
    check_grads(f, ((0.3, 1.2), np.array([0.5, 2.0, -1.0])), order=2)
    # vmap over the init and over xs, compared with a loop
    cs = np.stack([c0, c0 + 1.0, c0 * 2])
    out = fg.vmap(_scan_fun, in_axes=(0, None))(cs, xs)
    close(out, [_scan_ref(c, xs) for c in cs])
    xss = np.stack([xs, xs * 0.5])
    out = fg.vmap(_scan_fun, in_axes=(None, 0))(c0, xss)
    close(out, [_scan_ref(c0, x) for x in xss])
    g = fg.vmap(fg.grad(_scan_fun), in_axes=(0, None))(cs, xs)
    close(g, np.stack([fg.grad(_scan_fun)(c, xs) for c in cs]))
    close(fg.jit(fg.grad(_scan_fun))(c0, xs), fg.grad(_scan_fun)(c0, xs))


def test_cond_and_switch():
    def f(p, x):
        return lax.cond(p > 0, lambda v: fnp.sin(v) * p, lambda v: fnp.cos(v) - p, x)

    x = np.array([0.3, 1.0], np.float64)
    close(f(1.5, x), np.sin(x) * 1.5)
    close(f(-1.5, x), np.cos(x) + 1.5)
    check_grads(lambda p, v: f(p, v), (1.5, x), order=2)
    check_grads(lambda p, v: f(p, v), (-1.5, x), order=2)
    close(fg.jit(f)(-1.5, x), np.cos(x) + 1.5)
    # batched predicate: each example takes its own branch
    ps = np.array([1.0, -2.0, 3.0])
    out = fg.vmap(f, in_axes=(0, None))(ps, x)
    close(out, np.stack([f(p, x) for p in ps]))
    g = fg.vmap(fg.grad(lambda p, v: fnp.sum(f(p, v)), argnums=(0, 1)), in_axes=(0, None))(
        ps, x)
    for i, p in enumerate(ps):
        gi = fg.grad(lambda p, v: fnp.sum(f(p, v)), argnums=(0, 1))(p, x)
        close(g[0][i], gi[0])
        close(g[1][i], gi[1])

    branches = [lambda v: v * 2.0, lambda v: fnp.sin(v), lambda v: v ** 3]

    def s(i, v):
        return lax.switch(i, branches, v)

    for i, want in [(0, 2 * x), (1, np.sin(x)), (2, x ** 3), (7, x ** 3), (-3, 2 * x)]:
        close(s(i, x), want)
        close(fg.jit(s)(i, x), want)
    out = fg.vmap(s, in_axes=(0, None))(np.array([0, 1, 2], np.int32), x)
    close(out, np.stack([2 * x, np.sin(x), x ** 3]))
    check_grads(lambda v: s(1, v), (x,), order=2)
    close(fg.grad(lambda v: fnp.sum(s(2, v)))(x), 3 * x ** 2)


def test_while_loop_and_fori_loop():
    def f(x):
        def body(s):
            i, v = s
            return i + 1, v * 1.5 + fnp.sin(v)
        return lax.while_loop(lambda s: s[0] < 4, body, (0, x))[1]

    def ref(x):
        for _ in range(4):
            x = x * 1.5 + np.sin(x)
        return x

    x = np.array([0.2, -0.5])
    close(f(x), ref(x))
    close(fg.jit(f)(x), ref(x))
    check_grads(f, (x,), order=2, modes=("fwd",))
    close(fg.jacfwd(f)(x), np.diag(fg.vmap(fg.jacfwd(lambda v: f(v[None])[0]))(x)))

    # vmap with a batched predicate: the loop runs until every example is done
    def count(n):
        return lax.while_loop(lambda s: s[0] < n, lambda s: (s[0] + 1, s[1] * 2.0),
                              (0, 1.0))[1]

    ns = np.array([0, 3, 1, 5], np.int32)
    close(fg.vmap(count)(ns), 2.0 ** ns)
    close(fg.jit(fg.vmap(count))(ns), 2.0 ** ns)

    # fori_loop with static bounds is a scan: reverse mode works
    def g(x):
        return lax.fori_loop(0, 3, lambda i, v: v * fnp.cos(v) + i, x)

    def g_ref(x):
        for i in range(3):
            x = x * np.cos(x) + i
        return x

    close(g(x), g_ref(x))
    check_grads(g, (x,), order=2)
    # traced bounds: a while loop; forward mode only
    h = fg.jit(lambda n, v: lax.fori_loop(0, n, lambda i, w: w * 2.0, v))
    close(h(3, x), x * 8)
    close(fg.jvp(lambda v: h(3, v), (x,), (np.ones(2),))[1], np.full(2, 8.0))


def test_reverse_mode_through_while_loop_points_to_scan():
    def f(x):
        return lax.while_loop(lambda s: s[0] < 3, lambda s: (s[0] + 1, s[1] * 2.0), (0, x))[1]

    with pytest.raises(Exception, match="scan") as e:
        fg.grad(f)(1.0)
    assert "while" in str(e.value)


# ---------------------------------------------------------------------------------------
# Transform algebra (hypothesis-drawn inputs)


def _composite(x):
    return fnp.sum(fnp.tanh(x) * fnp.exp(-x ** 2)
                   + fnp.cumsum(fnp.ravel(x)).reshape(x.shape) * 0.1) + fnp.max(x)


@settings(max_examples=15)
@given(arrays(np.float32, min_value=-2, max_value=2))
def test_algebra_jit_equals_eager(x):
    close(fg.jit(_composite)(x), _composite(x), rtol=1e-5, atol=1e-5)


@settings(max_examples=15)
@given(arrays(np.float32, min_value=-2, max_value=2))
def test_algebra_grad_jit_commute(x):
    close(fg.grad(fg.jit(_composite))(x), fg.jit(fg.grad(_composite))(x), rtol=1e-5,
          atol=1e-6)
    close(fg.grad(_composite)(x), fg.jit(fg.grad(_composite))(x), rtol=1e-5, atol=1e-6)


@settings(max_examples=15)
@given(st.integers(1, 4).flatmap(
    lambda b: arrays(np.float32, shape=st.tuples(st.just(b), st.integers(1, 3)),
                     min_value=-2, max_value=2)))
def test_algebra_vmap_equals_loop(xs):
    f = lambda v: fnp.tanh(v) * fnp.sum(v) + fg.grad(_composite)(v)
    close(fg.vmap(f)(xs), np.stack([np.asarray(f(x)) for x in xs]), rtol=1e-5, atol=1e-6)
    close(fg.vmap(f, in_axes=1, out_axes=1)(xs.T), np.stack([np.asarray(f(x)) for x in xs]).T,
          rtol=1e-5, atol=1e-6)


def test_vmap_in_axes_out_axes_and_none():
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    y = np.float32(2.0)
    out = fg.vmap(lambda a, b: a * b, in_axes=(1, None))(x, y)
    close(out, x.T * 2)
    out = fg.vmap(lambda a: a * 2, in_axes=0, out_axes=1)(x)
    close(out, (x * 2).T)
    out = fg.vmap(lambda d: d["a"] + d["b"], in_axes=({"a": 0, "b": None},))(
        {"a": x, "b": np.ones(3, np.float32)})
    close(out, x + 1)
    out = fg.vmap(lambda a: (a, 3.0), out_axes=(0, None))(x)
    close(out[0], x)
    close(out[1], 3.0)
    nested = fg.vmap(fg.vmap(lambda a, b: a * b, in_axes=(0, None)), in_axes=(None, 0))(
        np.arange(3.0), np.arange(2.0))
    close(nested, np.outer(np.arange(2.0), np.arange(3.0)))


def test_scan_passes_scalar_slices_through():
    # the body returns its scanned scalar unchanged: ys is xs
    c, ys = lax.scan(lambda c, x: (c + 1, x), 0, fnp.asarray([1.5, 2.5, 3.5]))
    assert int(c) == 3
    close(ys, [1.5, 2.5, 3.5])
    c, ys = lax.scan(lambda c, x: (c, (x, x * 2)), 0.0, np.arange(3.0, dtype=np.float32))
    close(ys[0], [0.0, 1.0, 2.0])


def test_lax_map_with_batch_size_vmaps_batches_as_jax():
    # JAX 0.10.2 scans over batches of batch_size, each vmap(f), then vmaps the remainder
    # (f traced twice when the size does not divide the length); funcgrad mapped one
    # element at a time. A callback with vmap_method="expand_dims" sees the batches.
    seen = []

    def cb(v):
        seen.append(np.shape(v))
        return np.asarray(v) * 2

    def f(v):
        return fg.pure_callback(cb, fg.ShapeDtypeStruct(v.shape, v.dtype), v,
                                vmap_method="expand_dims")

    xs = fnp.arange(7.0)
    for run in (lambda x: lax.map(f, x, batch_size=3),
                fg.jit(lambda x: lax.map(f, x, batch_size=3))):
        seen.clear()
        close(run(xs), 2 * np.arange(7.0))
        assert sorted(seen) == [(1,), (3,), (3,)]
    for batch_size, shapes in ((0, [(7,)]), (7, [(7,)]), (12, [(7,)]), (None, [()] * 7)):
        seen.clear()
        close(lax.map(f, xs, batch_size=batch_size), 2 * np.arange(7.0))
        assert seen == shapes, batch_size
    # traces: batch_size=3 of 10 traces f for the batches and for the remainder (JAX's
    # docstring: "inner shape" printed twice); 5 of 10 and 0 trace it once
    for batch_size, want in ((3, 2), (5, 1), (0, 1), (12, 1)):
        traced = []
        ys = lax.map(lambda v: (traced.append(v.shape), {"a": v + 1, "b": v.sum()})[1],
                     fnp.ones((10, 3, 4)), batch_size=batch_size)
        assert len(traced) == want and all(t == (3, 4) for t in traced), batch_size
        assert ys["a"].shape == (10, 3, 4) and ys["b"].shape == (10,)
    g = fg.grad(lambda x: lax.map(lambda v: v ** 3, x, batch_size=3).sum())(xs)
    close(g, 3 * np.arange(7.0) ** 2)
    assert lax.map(lambda v: v, fnp.zeros((0, 2)), batch_size=3).shape == (0, 2)


def test_lax_map_batch_size_is_keyword_only_and_checked():
    xs = fnp.arange(5.0)
    with pytest.raises(TypeError):
        lax.map(lambda v: v, xs, 2)                   # keyword-only in JAX
    with pytest.raises(TypeError):
        lax.map(lambda v: v, xs, batch_size=2.0)
    with pytest.raises(ValueError, match="batch_size must be >= 0"):
        lax.map(lambda v: v, xs, batch_size=-2)
    with pytest.raises(ValueError, match="inconsistent leading sizes"):
        lax.map(lambda v: v[0] + v[1], (xs, fnp.arange(4.0)), batch_size=2)


def test_numpy_float64_data_in_a_scan_carry_without_x64():
    """64-bit types off (the default): a float64 NumPy input is float32, so a Python-float
    carry and float64 data meet as float32 (no f32 -> f64 carry error)."""
    c, ys = lax.scan(lambda c, v: (c * v + 1.0, c), 0.5, np.array([1.0, 2.0]))
    assert c.dtype == np.float32 and ys.dtype == np.float32
    close(c, 4.0)


def test_loops_promote_weakly_typed_carry_as_jax(x64):
    # JAX promotes a weakly-typed (Python scalar) carry to the dtype the body produces
    c, ys = lax.scan(lambda c, v: (c * v + 1.0, c), 0.5, np.array([1.0, 2.0]))
    assert c.dtype == np.float64 and ys.dtype == np.float64
    close(c, 4.0)
    c, _ = lax.scan(lambda c, v: (c + v, None), 0, fnp.asarray([1.5, 2.0]))
    assert c.dtype == np.float64        # (x64 mode: Python floats are float64)
    close(c, 3.5)
    assert lax.while_loop(lambda c: c < 3, lambda c: c + 1.5, 0).dtype == np.float64
    close(fg.jit(lambda n: lax.fori_loop(0, n, lambda i, c: c + 1.5, 0))(3), 4.5)
    close(fg.grad(lambda x: lax.scan(lambda c, v: (c * v, None), 1.0, x)[0])(
        np.array([2.0, 3.0])), [3.0, 2.0])
    # a strongly typed carry is not promoted: the type change is an error
    with pytest.raises(TypeError, match="carry"):
        lax.scan(lambda c, v: (c * v, None), fnp.float32(1.0), np.array([2.0, 3.0]))
    with pytest.raises(TypeError, match="carry"):
        lax.scan(lambda c, x: (c.astype(np.int32), x), 0.0, fnp.ones(3))


@pytest.mark.parametrize("backend", ["reference", "c"])
def test_jvp_through_a_piecewise_constant_op_is_a_symbolic_zero(backend):
    # fuzz seed 20261214 #2: jvp of std(round(mean(x)) ** 2) gave NaN: round's zero tangent
    # reached sqrt's rule as an array, 0 / (2 * sqrt(0)). JAX's tangent there is a
    # symbolic zero that no later rule computes with: 0 (and grad was already 0).
    x = np.array([-1.71, -0.68, -0.92, 1.41, 0.75, 0.98, -1.54], np.float32)
    v = np.ones_like(x)

    def f(x):
        return fnp.std(fnp.round(fnp.mean(x, axis=0)) ** 2, keepdims=True)

    def g(x):
        return fnp.sqrt(fnp.floor(x) * 0.0) + fnp.linalg.norm(fnp.sign(x) * 0.0)

    with fg.config.override("backend", backend):
        for fn in (f, g):
            out, t = fg.jvp(fn, (x,), (v,))
            assert np.all(np.asarray(t) == 0.0), (fn.__name__, t)
            _, t = fg.jit(lambda x, v, fn=fn: fg.jvp(fn, (x,), (v,)), backend=backend)(x, v)
            assert np.all(np.asarray(t) == 0.0), (fn.__name__, t)
            assert np.all(np.asarray(fg.grad(lambda x, fn=fn: fnp.sum(fn(x)))(x)) == 0.0)
    # a tangent that is really there still goes through: d sqrt(x * x) = sign(x) * v
    _, t = fg.jvp(lambda x: fnp.sqrt(x * x), (x,), (v,))
    np.testing.assert_allclose(np.asarray(t), np.sign(x), rtol=1e-6)


def test_grad_of_vmapped_cond_flows_only_through_the_taken_branch():
    """Fuzz run 20261803 #3. Under vmap a batched predicate runs every branch and selects;
    as in JAX (its issue 1052), branch k sees its operands through select(index == k, x,
    stop_gradient(x)), so an example's derivative does not pass through a branch it did
    not take. std of one element (derivative NaN) in the untaken branch gave NaN for
    every example; JAX 0.10.2 gives [[2.], [nan]] (the second example takes std)."""
    x5 = fnp.asarray(np.array([[0.3], [0.7]], np.float32))
    p = fnp.asarray(np.array([True, False]))

    def f(x5):
        def g(p, x):
            return lax.cond(p, lambda x: x * 2.0, lambda x: fnp.std(x, keepdims=True), x)
        return fnp.sum(fg.vmap(g)(p, x5))
    g = np.asarray(fg.grad(f)(x5))
    assert g[0, 0] == 2.0 and np.isnan(g[1, 0])
    g = np.asarray(fg.jit(fg.grad(f))(x5))
    assert g[0, 0] == 2.0 and np.isnan(g[1, 0])
