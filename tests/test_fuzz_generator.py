"""Properties of the fuzzer's program generator (tests/fuzz/generate.py and the ops)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_recurrent_cells_take_their_operands_in_the_programs_float_dtype(cell, data):
    # A float32 sequence (log10 of int32 rows) scanned by a bfloat16 LSTM promoted the carry
    # to float32, which scan rejects as JAX's does: the generator made a program JAX cannot
    # run and the fuzzer reported the TypeError as a crash (run of seed 20261211).
    from fuzz.generate import Builder
    from fuzz.ops import OPS
    from fuzz.values import Type
    b = Builder(data.draw, "bfloat16", False, "value")
    dims = (b.new_dim(allow_zero=False), b.new_dim(allow_zero=False),
            b.new_dim(allow_zero=False))
    for dtype in ("float32", "float16", "bfloat16"):
        b.new_input(Type(dims, dtype))
    OPS[cell].gen(b, cell)
    (op,) = [op for op in b.ops if op.name == cell]
    for name in op.args[:2] + (op.args[5:] if cell == "lstm" else ()):
        assert b.types[name].dtype == "bfloat16", (cell, name, b.types[name])


@pytest.mark.parametrize("mode", ["value", "grad"])
@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_programs_pickle_with_their_dim_sizes(mode, data):
    # FUNCGRAD_FUZZ_DUMP pickles a finding's program: a pad's, tile's or concatenation's
    # derived dim held a lambda of the generator, so no such finding could be dumped.
    import pickle

    from fuzz.generate import programs
    prog = data.draw(programs("float32", False, mode))
    back = pickle.loads(pickle.dumps(prog))
    assert back.dims.ids == prog.dims.ids
    for d in prog.dims.ids:
        assert back.dims.all_sizes(d) == prog.dims.all_sizes(d)
    assert [op.name for op in back.ops] == [op.name for op in prog.ops]


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_clip_spelled_as_lax_clamp_only_without_promotion(data):
    # lax.clamp(-0.5, int32 x, 0.5) raises (lax does not promote), in JAX as in funcgrad:
    # the generator spelled an int32 argmax's clip that way and the fuzzer reported the
    # TypeError as a crash (seed 20261941)
    from fuzz.generate import Builder, Reject
    from fuzz.ops import OPS
    from fuzz.values import Type
    b = Builder(data.draw, "float32", False, "value")
    b.new_input(Type((b.new_dim(allow_zero=False),), "int32"))
    for _ in range(4):
        try:
            OPS["clip"].gen(b, "clip")
        except Reject:
            pass
    for op in b.ops:
        if op.params.get("lax"):
            assert b.types[op.args[0]].dtype == op.params["cdt"], op


@pytest.mark.parametrize("name", ["inv", "solve", "det", "slogdet", "cholesky"])
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_linalg_ops_take_square_float32_or_float64_matrices_of_size_1_to_20(name, data):
    # JAX's CPU LAPACK has no 16-bit routines, and a matrix of size 0 has no max|x| to
    # shift by (tests/fuzz/ops_linalg.py)
    from fuzz.generate import Builder, Reject
    from fuzz.ops import OPS
    b = Builder(data.draw, data.draw(st.sampled_from(["float32", "float64", "float16"])),
                data.draw(st.booleans()), data.draw(st.sampled_from(["value", "grad"])))
    try:
        OPS[name].gen(b, name)
    except Reject:
        return
    (op,) = b.ops
    t = b.types[op.args[0]]
    assert t.dtype in ("float32", "float64") and t.dims[-1] == t.dims[-2], t
    assert all(1 <= s <= 20 for s in b.dims.all_sizes(t.dims[-1])), t
    if b.grad:
        assert op.params.get("form", "shift") == "shift" and not op.params.get("neg"), op


def test_linalg_error_model_admits_an_accurate_inverse_and_not_a_wrong_one():
    # the norm-wise bound of ops_linalg: float32 inv of a shifted matrix (cond_2 <= 3) as
    # LAPACK computes it is inside, one a thousandth off is not
    import numpy as np
    from fuzz.ops import OPS
    from fuzz.program import Op
    from fuzz.values import Type
    x = np.random.default_rng(0).standard_normal((2, 8, 8)).astype(np.float32)
    p = {"form": "shift", "alpha": 2, "perm": "roll", "k": 1}
    t = Type((1, 2, 2), "float32")
    op = Op("inv", ("x",), p, ("v",), (t,))
    exact = OPS["inv"].ref([x.astype(np.float64)], p, op, None, {})
    a = x + (np.abs(x).max(axis=(-2, -1), keepdims=True) * 16 + 1) * np.roll(
        np.eye(8, dtype=np.float32), 1, axis=0)
    got = np.linalg.inv(a).astype(np.float64)
    err = OPS["inv"].err([x.astype(np.float64)], exact, op, t, None)
    assert np.all(np.abs(got - exact) <= err)
    assert np.any(np.abs(got * 1.001 - exact) > 4 * err)


UPDATES = ("at", "dynamic_update_slice", "where_row")


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_a_loop_body_may_end_with_an_update_of_its_carry(data):
    # Loop bodies end, now and then, with `carry.at[...]`, a dynamic_update_slice of the
    # carry, a window of the carry moved within it or a where of one row of it: the forms
    # the C backend updates in place (backends.c.Executable._in_place_updates, after
    # lowering/mask_updates.py for the where), which random bodies never made.
    from fuzz.generate import Builder, Reject
    from fuzz.ops import OPS
    from fuzz.ops_control import _update_carry
    from fuzz.values import Type
    b = Builder(data.draw, "float32", False, data.draw(st.sampled_from(["value", "grad"])))
    c = b.child()
    v = "carry"
    c.types[v] = Type((b.new_dim(allow_zero=False), b.new_dim()), "float32", False)
    c.pool.append(v)
    try:
        _update_carry(c, v)
    except Reject:
        return
    last = c.ops[-1]
    if last.name == "cond":               # a cond of updates of the carry, or of it
        assert last.args[1] == v and c.types[last.outs[0]] == c.types[v]
        for prog in (last.params["true"], last.params["false"]):
            assert prog.ops == [] or prog.ops[-1].name in UPDATES
        return
    assert last.name in UPDATES and last.args[0] == v
    OPS[last.name]                        # (an op the renderer knows)
    assert c.types[last.outs[0]] == c.types[v]
    assert "pick" not in vars(c)          # the operand override is gone
    if len(c.ops) == 2 and c.ops[0].name == "dynamic_slice":   # a window moved within it
        assert c.ops[0].name == "dynamic_slice" and c.ops[0].args[0] == v
        assert last.args[1] == c.ops[0].outs[0]


def test_the_where_row_oracle_wraps_a_narrow_typed_arange():
    # `fnp.arange(300, dtype=int8) == i` wraps past 127 as funcgrad and JAX do: an int8
    # index of -64 matches row 192 (the oracle compared unwrapped rows; seed 20262010)
    import numpy as np
    from fuzz.ops_array import _where_row_ref

    import funcgrad as fg
    import funcgrad.numpy as fnp

    class Op:
        types = [type("T", (), {"dtype": "float32"})()]
    x, v = np.zeros(300, np.float32), np.ones(300, np.float32)
    for typed, hits in ((True, [192]), (False, [])):
        out = _where_row_ref([x, v, np.int8(-64)], {"axis": 0, "typed": typed}, Op(), None,
                             None)
        assert list(np.flatnonzero(out)) == hits
    got = fg.jit(lambda x, v, i: fnp.where(fnp.arange(300, dtype=i.dtype) == i, v, x))(
        x, v, np.int8(-64))
    assert list(np.flatnonzero(np.asarray(got))) == [192]


def test_the_tensordot_oracle_keeps_nan_from_zero_times_nonfinite():
    """Fuzz run 115: NumPy's tensordot (BLAS) gave 0 for 0 * NaN in a one-term
    contraction, and the oracle flagged funcgrad's NaN, which JAX gives too."""
    import numpy as np

    from tests.fuzz import ops_array as A
    x = np.array([0.0])
    y = np.array([[np.nan, 1.0, np.inf]])
    want = np.array([np.nan, 0.0, np.nan])
    got = A._tensordot_ref([x, y], {"kind": "tensordot1", "cdt": "float64"}, None, None, None)
    np.testing.assert_array_equal(got, want)
    got = A._tensordot_ref([x, y[0, :1]], {"kind": "inner", "cdt": "float64"}, None, None, None)
    assert np.isnan(got)
    rng = np.random.default_rng(0)
    for kind, xs, ys, ref in (
            ("tensordot1", (3, 4), (4, 5), lambda u, v: np.tensordot(u, v, 1)),
            ("tensordot2", (3, 4), (3, 4, 2), lambda u, v: np.tensordot(u, v, 2)),
            ("inner", (3, 4), (5, 4), np.inner), ("inner", (4,), (4,), np.inner),
            ("vdot", (2, 3), (2, 3), np.vdot), ("outer", (2, 3), (4,), np.outer)):
        u, v = rng.standard_normal(xs), rng.standard_normal(ys)
        got = A._tensordot_ref([u, v], {"kind": kind, "cdt": "float64"}, None, None, None)
        np.testing.assert_allclose(got, ref(u, v), rtol=1e-12, atol=1e-12)
