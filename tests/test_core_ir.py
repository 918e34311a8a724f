"""The printed IR (golden files; regenerate with FUNCGRAD_UPDATE_GOLDEN=1) and jit's cache:
retracing, static arguments and donation."""
from __future__ import annotations


import numpy as np
import pytest

import funcgrad as fg
import goldens
from goldens import check_golden
import funcgrad.numpy as fnp
from funcgrad import lax

pytestmark = pytest.mark.core

GOLDEN = goldens.ROOT / "ir"


def _mlp(params, x):
    w, b = params
    return fnp.sum(fnp.tanh(x @ w + b) ** 2, axis=-1)


def _scan_cumsum(c, xs):
    return lax.scan(lambda c, x: (c + x, c * x), c, xs)


def _cond(p, x):
    return lax.cond(p > 0, lambda v: v * 2.0, fnp.sin, x)


PROGRAMS = {
    "mlp_layer": (_mlp, ((np.ones((3, 2), np.float32), np.zeros(2, np.float32)),
                         np.ones((4, 3), np.float32))),
    "grad_sin_times_x": (fg.grad(lambda x: fnp.sum(fnp.sin(x) * x)),
                         (np.ones(3, np.float32),)),
    "scan_carry_and_ys": (_scan_cumsum, (np.float32(0.0), np.ones(3, np.float32))),
    "cond_branches": (_cond, (np.float32(1.0), np.ones(2, np.float32))),
    "vmap_dot": (fg.vmap(lambda a, b: fnp.dot(a, b), in_axes=(0, None)),
                 (np.ones((5, 3), np.float32), np.ones(3, np.float32))),
}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_printed_ir_matches_golden(name):
    fun, args = PROGRAMS[name]
    text = str(fg.make_ir(fun)(*args)) + "\n"
    check_golden(GOLDEN / f"{name}.txt", text, f"printed IR of {name}")


def test_ir_is_deterministic_and_evaluates():
    fun, args = PROGRAMS["mlp_layer"]
    a = str(fg.make_ir(fun)(*args))
    b = str(fg.make_ir(fun)(*args))
    assert a == b
    closed = fg.make_ir(fun)(*args)
    from funcgrad.ir import eval_program
    leaves = fg.tree.tree_leaves(args)
    out = eval_program(closed.program, closed.consts, [fnp.asarray(x) for x in leaves])
    np.testing.assert_allclose(np.asarray(out[0]), np.asarray(fun(*args)), rtol=1e-6)


def test_make_ir_static_argnums():
    text = str(fg.make_ir(lambda x, n: x * n, static_argnums=1)(np.ones(2, np.float32), 3))
    assert "mul" in text and "3" in text
    assert text.count(":f32[2]") >= 2


# ---------------------------------------------------------------------------------------
# jit caching


def test_jit_does_not_retrace_same_signature():
    f = fg.jit(lambda x, y: x * y + 1.0)
    x = fnp.ones((2, 3))
    for _ in range(3):
        f(x, x)
    assert f.trace_count == 1
    f(fnp.zeros((2, 3)), fnp.full((2, 3), 5.0, dtype=np.float32))
    assert f.trace_count == 1
    f(np.ones((2, 3), np.float32), x)  # NumPy arrays of the same type: same signature
    assert f.trace_count == 1


def test_jit_retraces_on_new_shape_dtype_static_or_structure():
    f = fg.jit(lambda x, n: x * n, static_argnums=1)
    f(fnp.ones(3), 2)
    assert f.trace_count == 1
    f(fnp.ones(4), 2)
    assert f.trace_count == 2
    f(fnp.ones(4, dtype=np.float16), 2)
    assert f.trace_count == 3
    f(fnp.ones(4), 3)
    assert f.trace_count == 4
    np.testing.assert_allclose(np.asarray(f(fnp.ones(4), 3)), 3.0)
    assert f.trace_count == 4
    g = fg.jit(lambda t: t[0] + t[1])
    g((fnp.ones(2), fnp.ones(2)))
    g([fnp.ones(2), fnp.ones(2)])
    assert g.trace_count == 2
    h = fg.jit(lambda x, *, scale: x * scale, static_argnames="scale")
    h(fnp.ones(2), scale=2.0)
    h(fnp.ones(2), scale=2.0)
    h(fnp.ones(2), scale=3.0)
    assert h.trace_count == 2


def test_unhashable_static_arg_is_a_clear_error():
    f = fg.jit(lambda x, cfg: x * len(cfg), static_argnums=1)
    with pytest.raises(TypeError) as e:
        f(fnp.ones(2), [1, 2])
    msg = str(e.value)
    assert "hashable" in msg and "static" in msg and "list" in msg
    assert np.allclose(np.asarray(f(fnp.ones(2), (1, 2))), 2.0)


def test_donated_array_cannot_be_used_afterwards():
    f = fg.jit(lambda x: x * 2.0, donate_argnums=0)
    x = fnp.ones(3)
    y = f(x)
    np.testing.assert_allclose(np.asarray(y), 2.0)
    assert x.is_deleted()
    with pytest.raises(RuntimeError, match="donated"):
        np.asarray(x)
    with pytest.raises(RuntimeError, match="donated"):
        x + 1.0
    with pytest.raises(RuntimeError, match="donated"):
        f(x)
    assert "deleted" in repr(x)
    # non-donated arguments stay usable
    g = fg.jit(lambda a, b: a + b, donate_argnums=(1,))
    a, b = fnp.ones(2), fnp.ones(2)
    g(a, b)
    assert not a.is_deleted() and b.is_deleted()
    np.testing.assert_allclose(np.asarray(a), 1.0)
