"""Table-driven property tests over tests/specs.py: agreement with NumPy, gradients against
finite differences, vmap against a Python loop, jit against eager; plus rule coverage."""
from __future__ import annotations

import contextlib
import functools

import os

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from conftest import _test_backends
from specs import INDIRECT, ROWS, Spec

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import core
from funcgrad.prims import control
from funcgrad.testing import broadcast_shapes, check_grads
from funcgrad.testing import shapes as shapes_st
from funcgrad.tree import tree_leaves, tree_map

pytestmark = pytest.mark.core

ROW_IDS = [s.name for s in ROWS]
# FUNCGRAD_HYPOTHESIS_SCALE=10 runs ten times the examples (a deeper, slower search).
SCALE = float(os.environ.get("FUNCGRAD_HYPOTHESIS_SCALE", "1"))


def n_examples(k: int) -> int:
    return max(1, int(k * SCALE))


# ---------------------------------------------------------------------------------------
# Drawing examples


def _shape_strategy(spec: Spec):
    n = spec.nargs
    if n == 0:
        return st.just(())
    if spec.shapes == "same":
        return shapes_st(min_dims=spec.min_dims).map(lambda s: (s,) * n)
    if spec.shapes == "bcast":
        return broadcast_shapes(n)
    return spec.shapes


def _values(arg, dtype, shape):
    if arg.kind == "bool":
        return hnp.arrays(np.bool_, shape, elements=st.booleans())
    if arg.kind == "int":
        return hnp.arrays(np.int32, shape, elements=st.integers(int(arg.lo), int(arg.hi)))
    dt = np.dtype(dtype)
    if dt.kind != "f":
        if dt.kind == "b":
            return hnp.arrays(dt, shape, elements=st.booleans())
        return hnp.arrays(dt, shape, elements=st.integers(int(arg.lo), int(arg.hi)))
    elems = st.floats(_inward(arg.lo, dt, 1), _inward(arg.hi, dt, -1), width=8 * dt.itemsize,
                      allow_nan=False,
                      allow_infinity=False)
    if arg.ok is not None:
        elems = elems.filter(arg.ok)
    return hnp.arrays(dt, shape, elements=elems)


def _inward(v, dt, direction):
    """`v` rounded to `dt`, towards the inside of the domain."""
    r = dt.type(v)
    if (direction > 0 and float(r) < v) or (direction < 0 and float(r) > v):
        r = np.nextafter(r, dt.type(direction * np.inf))
    return float(r)


@st.composite
def examples(draw, spec: Spec, batch=None):
    """(numpy args, params) for `spec`; with `batch=(size,)`, also per-arg in_axes and the
    args carry the batch axis there."""
    dtype = draw(st.sampled_from(spec.dtypes))
    shps = draw(_shape_strategy(spec))
    params = draw(spec.params(shps)) if spec.params is not None else {}
    if batch is None:
        args = tuple(draw(_values(a, dtype, s)) for a, s in zip(spec.args, shps))
        if spec.prep is not None:
            args = tuple(spec.prep(*args))
        return args, params
    size = batch
    axes = []
    args = []
    for _ in zip(spec.args, shps):
        ax = draw(st.sampled_from([0, None, -1]))
        axes.append(ax)
    if all(ax is None for ax in axes):
        axes[0] = 0
    per_example = []
    for _ in range(size):
        ex = tuple(draw(_values(a, dtype, s)) for a, s in zip(spec.args, shps))
        if spec.prep is not None:
            ex = tuple(spec.prep(*ex))
        per_example.append(ex)
    for i, ax in enumerate(axes):
        if ax is None:
            args.append(per_example[0][i])
        else:
            args.append(np.stack([ex[i] for ex in per_example], axis=ax))
    return tuple(args), params, tuple(axes)


def _to_fg(args):
    return tuple(fnp.asarray(a) for a in args)


def _wide(args) -> bool:
    return any(np.asarray(a).dtype.itemsize == 8 and np.asarray(a).dtype.kind in "fiu"
               for a in tree_leaves(args))


def _mode(args):
    """64-bit examples run in JAX's x64 mode (64-bit types are off by default); 32-bit ones
    in the default mode, so both modes are exercised."""
    return fg.config.enable_x64(True) if _wide(args) else contextlib.nullcontext()


def _assert_close(actual, expected, spec: Spec, what: str, check_dtype=True):
    a_leaves = tree_leaves(actual)
    e_leaves = tree_leaves(expected)
    assert len(a_leaves) == len(e_leaves), f"{spec.name} {what}: {actual} vs {expected}"
    for a, e in zip(a_leaves, e_leaves):
        a_np, e_np = np.asarray(a), np.asarray(e)
        assert a_np.shape == e_np.shape, (
            f"{spec.name} {what}: shape {a_np.shape} != {e_np.shape}")
        if check_dtype and spec.check_dtype:
            assert a_np.dtype.kind == e_np.dtype.kind, (
                f"{spec.name} {what}: dtype {a_np.dtype} vs {e_np.dtype}")
        if a_np.dtype.kind in "biu":
            np.testing.assert_array_equal(a_np, e_np, err_msg=f"{spec.name} {what}")
        else:
            np.testing.assert_allclose(a_np.astype(np.float64), e_np.astype(np.float64),
                                       rtol=spec.rtol, atol=spec.atol,
                                       err_msg=f"{spec.name} {what}")


def _spec_examples(spec, **kw):
    return examples(spec, **kw)


# ---------------------------------------------------------------------------------------
# (a) agreement with NumPy


@pytest.mark.parametrize("spec", ROWS, ids=ROW_IDS)
def test_matches_numpy(spec):
    @settings(max_examples=n_examples(12))
    @given(examples(spec))
    def run(ex):
        args, params = ex
        with _mode(args):
            out = spec.fun(*_to_fg(args), **params)
        expected = spec.ref(*args, **params)
        _assert_close(out, expected, spec, "vs NumPy")
        no_f32 = all(np.asarray(x).dtype != np.float32 for x in args)
        for a, e in zip(tree_leaves(out), tree_leaves(expected)):
            if np.asarray(e).dtype == np.float64 and spec.check_dtype and no_f32:
                # float64 inputs are never downcast.
                assert np.asarray(a).dtype == np.float64, spec.name

    run()


# ---------------------------------------------------------------------------------------
# (b) derivatives against finite differences


def _float_positions(spec, args):
    return [i for i, (a, x) in enumerate(zip(spec.args, args))
            if a.kind == "float" and np.asarray(x).dtype.kind == "f"]


def _partial(spec, args, params):
    """`spec.fun` as a function of its float arguments only."""
    pos = _float_positions(spec, args)

    def f(*fl):
        full = list(_to_fg(args))
        for i, v in zip(pos, fl):
            full[i] = v
        return spec.fun(*full, **params)

    return f, [args[i] for i in pos]


GRAD_ROWS = [s for s in ROWS if s.order > 0 and s.nargs > 0]


@pytest.mark.parametrize("spec", GRAD_ROWS, ids=[s.name for s in GRAD_ROWS])
def test_grads(spec):
    @settings(max_examples=n_examples(6))
    @given(examples(spec))
    def run(ex):
        args, params = ex
        f, fl = _partial(spec, args, params)
        if not fl:
            return
        with fg.config.enable_x64(True):      # derivatives checked in float64
            check_grads(f, [np.asarray(x, np.float64) for x in fl], order=spec.order,
                        modes=spec.modes, atol=spec.grad_tol, rtol=spec.grad_tol)

    run()


# ---------------------------------------------------------------------------------------
# (c) vmap equals a Python loop


VMAP_ROWS = [s for s in ROWS if s.vmap and s.nargs > 0]


def _slice(x, ax, b):
    return x if ax is None else np.take(x, b, axis=ax)


@pytest.mark.parametrize("spec", VMAP_ROWS, ids=[s.name for s in VMAP_ROWS])
def test_vmap_matches_loop(spec):
    size = 2

    @settings(max_examples=n_examples(8))
    @given(examples(spec, batch=size))
    def run(ex):
        args, params, axes = ex
        f = lambda *a: spec.fun(*a, **params)
        with _mode(args):
            out = fg.vmap(f, in_axes=axes)(*_to_fg(args))
            loop = [f(*_to_fg(tuple(_slice(x, ax, b) for x, ax in zip(args, axes))))
                    for b in range(size)]
        expected = tree_map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *loop)
        _assert_close(out, expected, spec, f"vmap in_axes={axes}", check_dtype=False)

    run()


# ---------------------------------------------------------------------------------------
# (d) jit equals eager


@pytest.mark.parametrize("spec", ROWS, ids=ROW_IDS)
def test_jit_matches_eager(spec):
    @settings(max_examples=n_examples(5))
    @given(examples(spec))
    def run(ex):
        args, params = ex
        f = lambda *a: spec.fun(*a, **params)
        with _mode(args):
            eager = f(*_to_fg(args))
            jitted = fg.jit(f)(*_to_fg(args))
        _assert_close(jitted, eager, spec, "jit vs eager")
        for a, e in zip(tree_leaves(jitted), tree_leaves(eager)):
            assert a.dtype == e.dtype and a.shape == e.shape, spec.name

    run()


# ---------------------------------------------------------------------------------------
# Coverage of the rule registries and of the table


LINEAR = {"add", "sub", "neg", "mul", "div", "convert_element_type", "reduce_sum",
          "broadcast_in_dim", "reshape", "transpose", "squeeze", "expand_dims", "rev",
          "slice", "pad", "concatenate", "dynamic_slice", "dynamic_update_slice", "gather",
          "scatter", "select", "cumsum", "reduce_window", "dot_general",
          "conv_general_dilated", "jit", "remat", "scan", "cond", "custom_lin",
          "pool_gather", "pool_scatter"}
NO_JVP = {"custom_lin": "the linear half of custom_vjp: only ever transposed, by design"}
NO_BATCH = {"iota": "no operands", "const": "no operands",
            "custom_lin": "only appears inside a linearized program that is transposed"}


def test_every_primitive_has_its_rules():
    missing = []
    for name, p in sorted(core.all_primitives.items()):
        if p not in core.shape_rules:
            missing.append(f"{name}: shape rule")
        if p not in core.impl_rules and p not in control.array_impls:
            missing.append(f"{name}: impl")
        if p not in core.jvp_rules and name not in NO_JVP:
            missing.append(f"{name}: jvp rule")
        if p not in core.batch_rules and name not in NO_BATCH:
            missing.append(f"{name}: batching rule")
        if name in LINEAR and p not in core.transpose_rules:
            missing.append(f"{name}: transpose rule")
    assert not missing, "primitives lacking rules:\n  " + "\n  ".join(missing)


def test_linear_list_names_real_primitives():
    assert LINEAR <= set(core.all_primitives), LINEAR - set(core.all_primitives)


def test_every_primitive_has_a_spec_row():
    claimed = {p for s in ROWS for p in s.prims}
    unknown = claimed - set(core.all_primitives)
    assert not unknown, f"spec rows claim unknown primitives {unknown}"
    uncovered = set(core.all_primitives) - claimed - set(INDIRECT)
    assert not uncovered, f"primitives with no spec row (add one, or list in INDIRECT): " \
                          f"{sorted(uncovered)}"


def _prims_in(program, acc):
    for eqn in program.eqns:
        acc.add(eqn.prim.name)
        for v in eqn.params.values():
            vs = v if isinstance(v, tuple) else (v,)
            for p in vs:
                p = getattr(p, "program", p)
                if hasattr(p, "eqns"):
                    _prims_in(p, acc)
    return acc


class _Covered(Exception):
    """A row's programs have used every primitive it claims: more examples cannot change
    the verdict of test_row_really_uses_its_primitives."""


@pytest.mark.parametrize("spec", [s for s in ROWS if s.prims],
                         ids=[s.name for s in ROWS if s.prims])
def test_row_really_uses_its_primitives(spec):
    used: set[str] = set()

    # Up to 10 examples (the same derandomized ones as always), stopping at the first that
    # completes the claimed set: most rows show all their primitives in the first example.
    @settings(max_examples=10, derandomize=True, phases=[Phase.generate])
    @given(examples(spec))
    def run(ex):
        args, params = ex
        with _mode(args):
            closed = fg.make_ir(lambda *a: spec.fun(*a, **params))(*_to_fg(args))
        _prims_in(closed.program, used)
        if set(spec.prims) <= used:
            raise _Covered

    with contextlib.suppress(_Covered):
        run()
    assert set(spec.prims) <= used, (
        f"{spec.name} claims {spec.prims} but its IR uses only {sorted(used)}")


# ---------------------------------------------------------------------------------------
# Every compiled backend equals the reference (one drawn example per row and backend)

# The compiled backends check the table's rows in batches jitted as one program each (below):
# a cold C build costs about a second per program and a PoCL build more, so one program per
# row made these the suite's slowest tests. Every row's equations are lowered in the batch as
# they are alone (each equation compiles or runs as a host step on its own merits). (The
# reference backend is what they are compared with; jit on it against eager is
# test_jit_matches_eager.)
COMPILED_BACKENDS = ("c", "opencl")


def _drawn_example(spec):
    """One derandomized example of `spec` (the same in every run)."""
    drawn = []

    @settings(max_examples=1, derandomize=True)
    @given(examples(spec))
    def draw(ex):
        drawn.append(ex)

    draw()
    return drawn[0]


_BATCH = 16


@functools.cache
def _row_batches():
    """The table's rows with their drawn examples, in groups that compile as one program
    each. A group holds rows of one x64 mode."""
    groups: dict = {False: [], True: []}
    for spec in ROWS:
        args, params = _drawn_example(spec)
        groups[_wide(args)].append((spec, args, params))
    out = []
    for wide, rows in groups.items():
        for i in range(0, len(rows), _BATCH):
            out.append((wide, rows[i:i + _BATCH]))
    return out


@functools.cache
def _reference_outputs(batch):
    """Each row of batch `batch` jitted alone on the reference backend (shared by the
    compiled backends)."""
    wide, rows = _row_batches()[batch]
    with fg.config.enable_x64(wide):
        return [fg.jit(lambda *a, s=spec, p=params: s.fun(*a, **p),
                       backend="reference")(*_to_fg(args)) for spec, args, params in rows]


_COMPILED_PARAMS = [pytest.param(b, marks=pytest.mark.cbackend if b == "c"
                                 else pytest.mark.opencl)
                    for b in COMPILED_BACKENDS if b in _test_backends()]


@pytest.mark.parametrize("backend", _COMPILED_PARAMS)
@pytest.mark.parametrize("batch", range(-(-len(ROWS) // _BATCH) + 2))
def test_compiled_backend_matches_reference_in_batches(batch, backend):
    """Every row of the table on each compiled backend against the reference, the rows of a
    batch jitted together as one program; on a failure each row of the batch runs alone, so
    the message names the rows that disagree."""
    batches = _row_batches()
    if batch >= len(batches):
        pytest.skip("fewer batches than the upper bound")
    wide, rows = batches[batch]

    def together(*flat):
        outs, i = [], 0
        for spec, args, params in rows:
            outs.append(spec.fun(*flat[i:i + len(args)], **params))
            i += len(args)
        return outs

    refs = _reference_outputs(batch)
    with fg.config.enable_x64(wide):
        flat = [a for _, args, _ in rows for a in _to_fg(args)]
        try:
            outs = fg.jit(together, backend=backend)(*flat)
            for (spec, _, _), out, ref in zip(rows, outs, refs):
                _assert_close(out, ref, spec, f"{backend} backend vs reference")
            return
        except Exception:   # noqa: BLE001 -- find the rows that fail, one by one
            pass
        failed = []
        for (spec, args, params), ref in zip(rows, refs):
            try:
                out = fg.jit(lambda *a: spec.fun(*a, **params), backend=backend)(
                    *_to_fg(args))
                _assert_close(out, ref, spec, f"{backend} backend vs reference")
            except Exception as e:   # noqa: BLE001 -- reported below
                failed.append(f"{spec.name}: {type(e).__name__}: {e}")
        assert failed, "the batch failed together but every row passes alone"
        pytest.fail(f"{backend} disagrees with the reference:\n" + "\n".join(failed))
