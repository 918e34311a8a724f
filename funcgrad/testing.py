"""funcgrad.testing: numerical gradient checking and hypothesis strategies for users' own
property-based tests.

`check_grads(f, args, order)` compares `jvp` against central finite differences and `vjp`
against `jvp` through the inner-product identity `<u, J v> = <J^T u, v>`, recursively up to
`order`. Differences are taken in float64 (inputs are promoted) so they are accurate.

Complex inputs and outputs are checked as JAX's are: differences in complex128 along random
complex directions, and the pairing `<a, b> = Re(sum(a * b))` (no conjugation), for which
JAX's vjp (a plain transpose) is the adjoint of its jvp.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np

from . import api, config
from . import numpy as fnp
from .tree import tree_flatten, tree_leaves, tree_map

__all__ = ["check_grads", "check_jvp", "check_vjp", "numerical_jvp", "shapes", "arrays",
           "broadcast_shapes", "float_dtypes", "assert_allclose"]

_rng = np.random.default_rng(0)


def _is_complex(a) -> bool:
    return np.issubdtype(a.dtype, np.complexfloating)


def _wide(a):
    """`a` as float64, or complex128 when complex: the precision differences are taken in."""
    a = np.asarray(a)
    return a.astype(np.complex128 if _is_complex(a) else np.float64)


def _f64(x):
    a = np.asarray(x)
    if _is_complex(a):
        return fnp.asarray(a.astype(np.complex128))
    return fnp.asarray(a.astype(np.float64) if np.issubdtype(a.dtype, np.floating) else a)


def _rand_like(x):
    a = np.asarray(x)
    r = _rng.standard_normal(a.shape)
    if _is_complex(a):
        r = r + 1j * _rng.standard_normal(a.shape)
    return fnp.asarray(r.astype(a.dtype))


def _inner(xs, ys) -> float:
    # Re(sum(a * b)): the real bilinear pairing under which vjp transposes jvp (for real
    # arrays the usual dot product).
    return float(sum(np.real(np.sum(_wide(a) * _wide(b)))
                     for a, b in zip(tree_leaves(xs), tree_leaves(ys))))


def _tols(outs, atol, rtol):
    dts = [np.asarray(o).dtype for o in tree_leaves(outs)]
    low = any(d in (np.float32, np.float16, np.complex64) for d in dts)
    return (atol if atol is not None else (2e-3 if low else 1e-6),
            rtol if rtol is not None else (2e-3 if low else 1e-5))


def assert_allclose(actual, expected, atol=1e-6, rtol=1e-5, err_msg=""):
    """Leafwise `np.testing.assert_allclose` over two pytrees."""
    a_leaves, a_tree = tree_flatten(actual)
    e_leaves, e_tree = tree_flatten(expected)
    if a_tree != e_tree:
        raise AssertionError(f"{err_msg}: structures differ: {a_tree} vs {e_tree}")
    for a, e in zip(a_leaves, e_leaves):
        np.testing.assert_allclose(_wide(a), _wide(e), atol=atol, rtol=rtol, err_msg=err_msg)


def numerical_jvp(f: Callable, primals, tangents, eps: float = 1e-6):
    """Central-difference directional derivative of `f` at `primals` along `tangents`
    (complex primals move along complex tangents; the difference is complex128 where an
    output is complex)."""
    plus = tuple(tree_map(lambda p, t: p + eps * t, p, t) for p, t in zip(primals, tangents))
    minus = tuple(tree_map(lambda p, t: p - eps * t, p, t) for p, t in zip(primals, tangents))
    fp, fm = f(*plus), f(*minus)
    return tree_map(lambda a, b: (_wide(a) - _wide(b)) / (2 * eps), fp, fm)


def check_jvp(f: Callable, primals, atol=None, rtol=None, eps: float = 1e-6, err_msg=""):
    """`jvp(f)` agrees with central differences along a random direction."""
    tangents = tuple(tree_map(_rand_like, p) for p in primals)
    out, t_out = api.jvp(f, primals, tangents)
    t_num = numerical_jvp(f, primals, tangents, eps)
    atol, rtol = _tols(out, atol, rtol)
    assert_allclose(t_out, t_num, atol=atol, rtol=rtol,
                    err_msg=f"{err_msg} jvp vs finite differences")


def check_vjp(f: Callable, primals, atol=None, rtol=None, eps: float = 1e-6, err_msg=""):
    """`vjp(f)` agrees with `jvp(f)` through `<u, J v> == <J^T u, v>` and with finite
    differences."""
    out, f_vjp = api.vjp(f, *primals)
    u = tree_map(_rand_like, out)
    ct = f_vjp(u)
    v = tuple(tree_map(_rand_like, p) for p in primals)
    jv_num = numerical_jvp(f, primals, v, eps)
    lhs = _inner(u, jv_num)
    rhs = _inner(ct, v)
    atol, rtol = _tols(out, atol, rtol)
    scale = max(1.0, abs(lhs), abs(rhs))
    if not abs(lhs - rhs) <= atol * scale + rtol * scale:
        raise AssertionError(f"{err_msg} vjp check failed: <u, J v> = {lhs!r} (finite "
                             f"differences) but <J^T u, v> = {rhs!r}")


def check_grads(f: Callable, args: Sequence, order: int = 2, modes=("fwd", "rev"),
                atol=None, rtol=None, eps: float = 1e-6, use_float64: bool = True) -> None:
    """Check `f`'s derivatives up to `order` in forward (`"fwd"`) and reverse (`"rev"`)
    mode against finite differences; raises AssertionError on a mismatch. With
    `use_float64` (default) the inputs are promoted to float64 (complex ones to complex128)
    and the check runs with 64-bit types on (`config.enable_x64`), so the differences are
    accurate."""
    if use_float64:
        with config.enable_x64(True):
            return _check_grads(f, tuple(tree_map(_f64, a) for a in args), order, modes,
                                atol, rtol, eps)
    return _check_grads(f, tuple(args), order, modes, atol, rtol, eps)


def _check_grads(f, args, order, modes, atol, rtol, eps) -> None:
    for mode in modes:
        if mode not in ("fwd", "rev"):
            raise ValueError(f"check_grads: unknown mode {mode!r}; use 'fwd' and/or 'rev'")

    def _check(fun, primals, k):
        if "fwd" in modes:
            check_jvp(fun, primals, atol, rtol, eps, err_msg=f"order {k}:")
        if "rev" in modes:
            check_vjp(fun, primals, atol, rtol, eps, err_msg=f"order {k}:")
        if k >= order:
            return
        if "fwd" in modes:
            v = tuple(tree_map(_rand_like, p) for p in primals)
            _check(lambda *p: api.jvp(fun, p, v)[1], primals, k + 1)
        if "rev" in modes:
            out = fun(*primals)
            u = tree_map(_rand_like, out)
            _check(lambda *p: api.vjp(fun, *p)[1](u), primals, k + 1)

    _check(f, args, 1)


# ---------------------------------------------------------------------------------------
# hypothesis strategies


float_dtypes = (np.float32, np.float64)


def shapes(min_dims: int = 0, max_dims: int = 3, min_side: int = 1, max_side: int = 4):
    """A hypothesis strategy for array shapes."""
    from hypothesis.extra import numpy as hnp
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=max_side)


def broadcast_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 3,
                     max_side: int = 4):
    """A strategy for tuples of mutually broadcastable shapes."""
    from hypothesis.extra import numpy as hnp
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims,
                                             max_dims=max_dims, max_side=max_side).map(
        lambda bs: bs.input_shapes)


def arrays(dtype=np.float32, shape=None, min_value: float = -3.0, max_value: float = 3.0,
           allow_nan: bool = False, allow_infinity: bool = False):
    """A strategy for funcgrad Arrays of `dtype` with values in [min_value, max_value]."""
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
    dt = np.dtype(dtype)
    shape = shapes() if shape is None else shape
    if np.issubdtype(dt, np.complexfloating):
        elems = st.complex_numbers(max_magnitude=max(abs(min_value), abs(max_value)),
                                   allow_nan=allow_nan, allow_infinity=allow_infinity,
                                   width=8 * dt.itemsize)
    elif np.issubdtype(dt, np.floating):
        elems = st.floats(_inward(min_value, dt, 1), _inward(max_value, dt, -1),
                          allow_nan=allow_nan, allow_infinity=allow_infinity,
                          width=8 * min(dt.itemsize, 8))
    elif np.issubdtype(dt, np.integer):
        elems = st.integers(int(max(min_value, np.iinfo(dt).min)),
                            int(min(max_value, np.iinfo(dt).max)))
    else:
        elems = st.booleans()
    return hnp.arrays(dt, shape, elements=elems).map(fnp.asarray)


def _inward(v: float, dt, direction: int) -> float:
    """`v` rounded to `dt` towards the inside of the range (hypothesis wants bounds that the
    float width represents exactly, e.g. 0.1 is not a float32)."""
    r = dt.type(v)
    if (direction > 0 and float(r) < v) or (direction < 0 and float(r) > v):
        r = np.nextafter(r, dt.type(direction * np.inf))
    return float(r)


def _product(*xs):
    return itertools.product(*xs)
