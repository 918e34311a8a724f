"""Every funcgrad.numpy function that NumPy also has, called on complex (and, as a control,
float) arrays: it either raises or agrees with NumPy. Nothing silently drops an imaginary
part or computes a different function.

The sweep is by name, so a function added later is covered without a new row. It calls each
function with the first one or two arrays of its signature that NumPy accepts; functions
whose NumPy result is not a value to compare are listed in `NOT_COMPARABLE` with the reason.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import funcgrad.numpy as fnp

NOT_COMPARABLE = {
    "empty_like": "uninitialised values",
    "array_repr": "text, formatted differently",
    "array_str": "text, formatted differently",
    "unique_values": "NumPy 2.3+ leaves the order unspecified",
    # NumPy mutates its argument in place and returns None; funcgrad's are functional.
    "copyto": "in place", "place": "in place", "put": "in place", "putmask": "in place",
    "fill_diagonal": "in place", "put_along_axis": "in place",
}


def _inputs(dtype):
    rng = np.random.default_rng(0)
    shape = (3, 4)
    if np.dtype(dtype).kind == "c":
        return [(rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)
                for _ in range(2)]
    return [rng.standard_normal(shape).astype(dtype) for _ in range(2)]


def _leaves(x):
    if isinstance(x, tuple | list):
        return [leaf for item in x for leaf in _leaves(item)]
    return [np.asarray(x)]


def _mismatch(got, expected) -> str | None:
    """Why `got` (funcgrad's result) differs from NumPy's, or None."""
    g_leaves, e_leaves = _leaves(got), _leaves(expected)
    if len(g_leaves) != len(e_leaves):
        return f"{len(g_leaves)} results, NumPy {len(e_leaves)}"
    for g, e in zip(g_leaves, e_leaves):
        if e.dtype == object or g.dtype == object:
            continue
        if g.shape != e.shape:
            return f"shape {g.shape}, NumPy {e.shape}"
        if e.dtype.kind == "c" and g.dtype.kind != "c" and np.any(e.imag != 0):
            return f"dtype {g.dtype} dropped NumPy's imaginary part ({e.dtype})"
        if {e.dtype.kind, g.dtype.kind} & set("fc") or "bfloat16" in (e.dtype.name, g.dtype.name):
            same = np.allclose(g.astype(np.complex128), e.astype(np.complex128), rtol=2e-3,
                               atol=2e-3, equal_nan=True)
        else:
            same = np.array_equal(g, e)
        if not same:
            return f"values differ:\n{g}\nNumPy:\n{e}"
    return None


def _functions():
    """(name, funcgrad function, NumPy function) for every public function both have."""
    for name in sorted(dir(fnp)):
        f, ref = getattr(fnp, name), getattr(np, name, None)
        if not (name.startswith("_") or name in NOT_COMPARABLE or isinstance(f, type) or
                not callable(f) or not callable(ref) or isinstance(ref, type)):
            yield name, f, ref


def _sweep(dtype):
    xs = _inputs(dtype)
    failures, compared = [], 0
    for name, f, ref in _functions():
        for k in (1, 2):
            try:
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    expected = ref(*[x.copy() for x in xs[:k]])
            except Exception:
                continue                    # NumPy does not take k arrays: try k + 1
            if expected is None:
                break
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    got = f(*[fnp.asarray(x.copy()) for x in xs[:k]])
            except Exception:
                break                       # raising is allowed: never silently wrong
            compared += 1
            why = _mismatch(got, expected)
            if why:
                failures.append(f"fnp.{name} with {k} {np.dtype(dtype)} array(s): {why}")
            break
    return failures, compared


@pytest.mark.parametrize("dtype", ["complex64", "float32"])
def test_every_numpy_function_raises_or_agrees_with_numpy(dtype):
    failures, compared = _sweep(dtype)
    assert compared > 150, compared          # the sweep really compares the namespace
    assert not failures, "\n\n".join(failures)


def _traceable(dtype):
    """(name, k) of the functions that run eagerly on k arrays of `dtype` and trace under
    `jit` (a function may refuse to be traced, e.g. data-dependent output shapes)."""
    import funcgrad as fg
    xs = [fnp.asarray(x) for x in _inputs(dtype)]
    found = []
    for name, f, _ref in _functions():
        for k in (1, 2):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    f(*xs[:k])
                    fg.make_jaxpr(f)(*xs[:k])
            except Exception:
                continue
            found.append((name, k))
            break
    return found


@pytest.mark.parametrize("dtype", ["complex64", "bfloat16"])
def test_every_numpy_function_compiled_matches_eager(dtype):
    """All the functions in ONE jitted program (one compile) on the default backend, each
    result against the same function run eagerly."""
    import funcgrad as fg
    if dtype == "bfloat16":
        dtype = fnp.bfloat16
    cases = _traceable(dtype)
    assert len(cases) > 150, len(cases)
    xs = [fnp.asarray(x) for x in _inputs(dtype)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        compiled = fg.jit(lambda a, b: [getattr(fnp, n)(*(a, b)[:k]) for n, k in cases])(*xs)
        failures = []
        for (name, k), got in zip(cases, compiled):
            why = _mismatch(got, getattr(fnp, name)(*xs[:k]))
            if why:
                failures.append(f"jit(fnp.{name}) with {k} {np.dtype(dtype)} array(s): {why}")
    assert not failures, "\n\n".join(failures)
