"""The differential program fuzzer in CI (see tests/fuzz/): a fixed-seed run bounded by
`FUNCGRAD_FUZZ_SECONDS` (default 120) on every available backend, jitted fuzz programs
called cold and warm from 8 threads, the kept regressions, and checks that the fuzzer
itself catches a planted bug and that its JAX-semantics oracles say what JAX says."""
from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

from conftest import _test_backends
from fuzz import regressions
from fuzz.batch import Batch
from fuzz.runner import Config, Fuzzer
from fuzz.sample import sample_entries
from fuzz.threads import run_threads

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _private_cache():
    """Fuzz programs are all new: compile them into a throw-away cache, not the shared one."""
    old = {k: os.environ.get(k) for k in ("FUNCGRAD_CACHE_DIR", "POCL_CACHE_DIR")}
    os.environ["FUNCGRAD_CACHE_DIR"] = tempfile.mkdtemp(prefix="funcgrad-fuzz-")
    os.environ["POCL_CACHE_DIR"] = tempfile.mkdtemp(prefix="pocl-fuzz-")
    yield
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _report(findings) -> str:
    parts = []
    for f in findings:
        parts.append(f"--- {f.title} ({f.failure.backend}/{f.failure.mode}, "
                     f"{f.entry.stack.describe()}): {f.failure.detail}\n{f.repro}")
    return "\n".join(parts)


def test_fuzz_fixed_seed():
    """A bounded fixed-seed fuzz run: every disagreement fails, with its reproducer."""
    seconds = float(os.environ.get("FUNCGRAD_FUZZ_SECONDS", "120"))
    cfg = Config(minutes=seconds / 60, seed=20261130, backends=tuple(_test_backends()),
                 batch_size=8, shrink_seconds=min(60.0, seconds / 2), progress_every=1e9)
    fz = Fuzzer(cfg)
    summary = fz.run()
    assert fz.errors == 0, "the fuzzer itself failed (see the captured output)"
    assert summary["batches"] > 0
    assert not fz.findings, f"{len(fz.findings)} disagreement(s):\n{_report(fz.findings)}"


@pytest.mark.parametrize("backend", _test_backends())
def test_fuzz_threads(backend):
    """Cold and warm jitted fuzz programs called from 8 threads at once agree with the
    oracle."""
    entries = sample_entries(seed=7, n=6 if backend != "opencl" else 3)
    problems = run_threads(Batch(entries, 0), backend, n_threads=8, warm_rounds=2)
    assert not problems, "\n".join(problems[:10])


@pytest.mark.parametrize("name", sorted(regressions.REPROS))
def test_fuzz_regression(name):
    """Each kept reproducer (shrunk fuzz finding) runs without raising."""
    src = regressions.REPROS[name]
    if "'opencl'" in src and "opencl" not in _test_backends():
        pytest.skip("needs the opencl backend")
    if "'c'" in src and "c" not in _test_backends():
        pytest.skip("needs the c backend")
    import funcgrad
    prev = funcgrad.config.read("backend")
    try:
        exec(compile(src, f"<regression {name}>", "exec"), {})
    finally:
        funcgrad.config.update("backend", prev)


def test_fuzzer_catches_a_planted_bug(monkeypatch):
    """Entries that use fnp.expm1 and agree with the oracle disagree once fnp.expm1 is made
    wrong by one part in a thousand."""
    import funcgrad.numpy as fnp
    entries = [e for e in sample_entries(seed=3, n=40, mode="value", with_op="expm1")
               if "expm1" in e.prog.op_names()][:6]
    bad = {f.index for f in Batch(entries, 0).run("reference", "eager")}
    entries = [e for k, e in enumerate(entries) if k not in bad]
    assert entries, "no program with expm1 that agrees with the oracle"
    real = fnp.expm1
    monkeypatch.setattr(fnp, "expm1", lambda x: real(x) * 1.001)
    planted = Batch(entries, 0).run("reference", "eager")
    assert {f.index for f in planted if f.kind == "value"}, planted


def test_oracles_follow_jax_semantics():
    """Spot checks of the oracle where JAX's documented semantics differ from NumPy's."""
    from fuzz.ops import _jax_floor_divide, _jax_remainder, float_to_int, _shift_left
    from fuzz.ops_array import _clamp_index, _jax_argsort
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(_jax_floor_divide(np.array([1.0, -1.0, 7.0]),
                                                        np.array([0.1, np.inf, 2.0])),
                                      [9.0, -1.0, 3.0])
        assert np.isnan(_jax_floor_divide(np.array([1.0]), np.array([0.0]))[0])
        np.testing.assert_array_equal(_jax_remainder(np.array([-1.0, 5.0]),
                                                     np.array([np.inf, -3.0])), [np.inf, -1.0])
    np.testing.assert_array_equal(float_to_int(np.array([np.nan, np.inf, -np.inf, 2.9e9, -2.7]),
                                               "int32"), [0, 2**31 - 1, -2**31, 2**31 - 1, -2])
    np.testing.assert_array_equal(_shift_left(np.array([1, 1, 1]), np.array([3, 32, -1])),
                                  [8, 0, 0])
    np.testing.assert_array_equal(_clamp_index(np.array([-1, -9, 7, 2]), 4), [3, 0, 3, 2])
    np.testing.assert_array_equal(_jax_argsort(np.array([1.0, 2.0, 1.0, np.nan]), -1, True),
                                  [3, 1, 0, 2])
