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
