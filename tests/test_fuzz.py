"""The differential program fuzzer in CI (see tests/fuzz/): a fixed-seed run of
`FUNCGRAD_FUZZ_BATCHES` batches (default 10, at most `FUNCGRAD_FUZZ_SECONDS`) on every
available backend, jitted fuzz programs called cold and warm from 8 threads, the kept
regressions, and checks that the fuzzer itself catches planted bugs and that its
JAX-semantics oracles say what JAX says."""
from __future__ import annotations

import dataclasses
import os

import ml_dtypes
import numpy as np
import pytest
from conftest import _test_backends
from fuzz import regressions
from fuzz.batch import Batch
from fuzz.program import Input
from fuzz.runner import Config, Fuzzer
from fuzz.sample import sample_entries
from fuzz.threads import run_threads


@dataclasses.dataclass
class _Given(Input):
    """A program input whose value is fixed (instead of drawn for each instance)."""
    value: np.ndarray | None = None

    def values(self, dims, inst):
        return self.value


pytestmark = pytest.mark.slow


# The fixed-seed runs here compile the same programs at every run, so they share the
# compile cache with the rest of the suite (until 2026-12-07 each run compiled ~50 modules
# into a new temporary cache, ~60 s of gcc per run, and left it behind in /tmp). The long
# runs of `python -m tests.fuzz`, whose programs are new, keep a private cache.


def _report(findings) -> str:
    parts = []
    for f in findings:
        parts.append(f"--- {f.title} ({f.failure.backend}/{f.failure.mode}, "
                     f"{f.entry.stack.describe()}): {f.failure.detail}\n{f.repro}")
    return "\n".join(parts)


def test_fuzz_fixed_seed():
    """A bounded fixed-seed fuzz run on every available backend, eagerly and jitted, half of
    the batches checking derivatives: every new disagreement fails, with its reproducer
    (known open bugs, tests/fuzz/known.py, are reported but do not fail)."""
    # A fixed number of batches with a fixed OpenCL schedule, so every run checks the same
    # programs (the time bound is a safety net on a slow machine).
    # Ten batches: hypothesis draws its simplest batches first (4 batches hold 4 programs,
    # 6 hold 13, 10 hold 39), so fewer batches would check far fewer programs. OpenCL runs
    # in every 5th batch (PoCL builds dominate the run's time; the OpenCL suites cover the
    # backend row by row). Longer runs:
    # FUNCGRAD_FUZZ_BATCHES / FUNCGRAD_FUZZ_SECONDS, or `python -m tests.fuzz`.
    seconds = float(os.environ.get("FUNCGRAD_FUZZ_SECONDS", "110"))
    batches = int(os.environ.get("FUNCGRAD_FUZZ_BATCHES", "10"))
    cfg = Config(minutes=seconds / 60, seed=20261130, backends=tuple(_test_backends()),
                 batch_size=8, grad_share=0.5, shrink_seconds=30.0, opencl_max_entries=2,
                 opencl_every=5, max_batches=batches, threads_every=0, progress_every=1e9)
    fz = Fuzzer(cfg)
    summary = fz.run()
    assert fz.errors == 0, "the fuzzer itself failed (see the captured output)"
    assert summary["batches"] > 0
    known = [f for f in fz.findings if f.known]
    if known or fz.known_hits:
        print(f"known open bugs hit: {dict(fz.known_hits)}; shrunk: "
              f"{[f.known for f in known]}")
    new = [f for f in fz.findings if not f.known]
    assert not new, f"{len(new)} disagreement(s):\n{_report(new)}"
    for be in cfg.backends:
        assert summary["runs"][be]["jit"] > 0, summary["runs"]


@pytest.mark.parametrize("backend", _test_backends())
def test_fuzz_threads(backend):
    """Cold and warm jitted fuzz programs called from 8 threads at once agree with the
    oracle."""
    entries = sample_entries(seed=7, n=6 if backend != "opencl" else 2)
    # With the automatic OpenMP team and the per-program thread plan, as users run it. (A
    # failure here that ends in "also single-threaded" is not a race: the same call
    # disagrees with the oracle from one thread too.)
    problems = run_threads(Batch(entries, 0), backend, n_threads=8, warm_rounds=2)
    assert not problems, "\n".join(problems[:10])


def _run_repro(src: str, name: str) -> None:
    if "'opencl'" in src and "opencl" not in _test_backends():
        pytest.skip("needs the opencl backend")
    if "'c'" in src and "c" not in _test_backends():
        pytest.skip("needs the c backend")
    import funcgrad
    prev = funcgrad.config.read("backend")
    try:
        exec(compile(src, f"<regression {name}>", "exec"), {})  # noqa: S102 -- a reproducer
    finally:
        funcgrad.config.update("backend", prev)


@pytest.mark.parametrize("name", sorted(regressions.REPROS))
def test_fuzz_regression(name):
    """Each kept reproducer (shrunk fuzz finding) runs without raising."""
    _run_repro(regressions.REPROS[name], name)


@pytest.mark.parametrize("name", sorted(regressions.OPEN))
@pytest.mark.xfail(strict=True, reason="open bug (tests/fuzz/known.py): once this passes, "
                   "move the reproducer from regressions.OPEN to regressions.REPROS")
def test_fuzz_open_bug(name):
    """Reproducers of open frontend bugs still fail."""
    _run_repro(regressions.OPEN[name], name)


def _agreeing(entries, backend="reference", mode="eager"):
    """The entries that agree with the oracle (before a bug is planted)."""
    bad = {f.index for f in Batch(entries, 0).run(backend, mode, insts=[0])}
    return [e for k, e in enumerate(entries) if k not in bad]


def _backend_or_skip(backend):
    if backend not in _test_backends():
        pytest.skip(f"backend {backend!r} is not available here")


@pytest.mark.parametrize("backend,mode", [("reference", "eager"), ("c", "jit"),
                                          ("opencl", "jit")])
def test_fuzzer_catches_a_planted_bug(monkeypatch, backend, mode):
    """Entries that use fnp.expm1 and agree with the oracle disagree once fnp.expm1 is made
    wrong by one part in a thousand: eagerly, and when the batch is jitted on C and OpenCL
    (results of compiled programs are compared, not only eager ones)."""
    _backend_or_skip(backend)
    import funcgrad.numpy as fnp
    entries = _agreeing(sample_entries(seed=3, n=4, only=("expm1",)))
    assert entries, "no program with expm1 that agrees with the oracle"
    real = fnp.expm1
    monkeypatch.setattr(fnp, "expm1", lambda x: real(x) * 1.001)
    planted = Batch(entries, 0).run(backend, mode, insts=[0])
    assert {f.index for f in planted if f.kind == "value"}, planted


@pytest.mark.parametrize("backend,mode", [("reference", "eager"), ("c", "jit")])
def test_fuzzer_catches_a_planted_derivative_bug(monkeypatch, backend, mode):
    """Derivative entries (grad, value_and_grad, jvp, vjp) through sin agree with float64
    central differences until sin's JVP rule is made wrong by one percent."""
    _backend_or_skip(backend)
    from funcgrad import core
    from funcgrad.prims.elementwise import sin_p
    entries = [e for e in sample_entries(seed=5, n=6, mode="grad", only=("sin",))
               if e.stack.deriv is not None]
    entries = _agreeing(entries)
    assert entries, "no derivative entry with sin that agrees with the oracle"
    real = core.jvp_rules[sin_p]

    def wrong(primals, tangents, **params):
        ans, t = real(primals, tangents, **params)
        return ans, t * 1.01
    monkeypatch.setitem(core.jvp_rules, sin_p, wrong)
    planted = Batch(entries, 0).run(backend, mode, insts=[0])
    assert {f.index for f in planted if f.kind == "grad"}, planted


def test_threads_catch_a_planted_bug(monkeypatch):
    """run_threads compares what every thread gets: a planted bug shows in cold and warm
    calls."""
    import funcgrad.numpy as fnp
    entries = _agreeing(sample_entries(seed=3, n=4, only=("expm1",)))
    assert entries, "no program with expm1 that agrees with the oracle"
    real = fnp.expm1
    monkeypatch.setattr(fnp, "expm1", lambda x: real(x) * 1.001)
    problems = run_threads(Batch(entries, 0), "reference", n_threads=4, warm_rounds=1)
    assert any(p.startswith("cold") for p in problems), problems
    assert any(p.startswith("warm") for p in problems), problems


def test_oracles_follow_jax_semantics():
    """Spot checks of the oracle where JAX's documented semantics differ from NumPy's."""
    from fuzz.ops import _float_remainder, _jax_floor_divide, _shift_left, float_to_int
    from fuzz.ops_array import _clamp_index, _jax_argsort
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(_jax_floor_divide(np.array([1.0, -1.0, 7.0]),
                                                        np.array([0.1, np.inf, 2.0])),
                                      [9.0, -1.0, 3.0])
        # funcgrad follows NumPy for a zero divisor (tests/test_semantics.py)
        np.testing.assert_array_equal(_jax_floor_divide(np.array([1.0, -2.0, 0.0]),
                                                        np.array([0.0, 0.0, -0.0])),
                                      [np.inf, -np.inf, np.nan])
        np.testing.assert_array_equal(_float_remainder(np.array([-1.0, 5.0]),
                                                       np.array([np.inf, -3.0])),
                                      [np.inf, -1.0])
    np.testing.assert_array_equal(float_to_int(np.array([np.nan, np.inf, -np.inf, 2.9e9, -2.7]),
                                               "int32"), [0, 2**31 - 1, -2**31, 2**31 - 1, -2])
    np.testing.assert_array_equal(_shift_left(np.array([1, 1, 1]), np.array([3, 32, -1])),
                                  [8, 0, 0])
    np.testing.assert_array_equal(_clamp_index(np.array([-1, -9, 7, 2]), 4), [3, 0, 3, 2])
    np.testing.assert_array_equal(_jax_argsort(np.array([1.0, 2.0, 1.0, np.nan]), -1, True),
                                  [3, 1, 0, 2])
    # entr(+-0.0) is -0.0 in JAX and funcgrad, +0.0 in SciPy (seed 20261943)
    from fuzz.ops import _entr
    e = _entr(np.array([0.0, -0.0, 0.5, -1.0]))
    assert np.all(np.signbit(e[:2])) and e[2] > 0 and e[3] == -np.inf
    # digamma next to a negative pole: SciPy's psi(-0.9997757194319339) is 3.6e-13 off
    # (mpmath: -4458.27765315716078), beyond the 16-ulp bound (seed 20261950)
    from fuzz.ops import _psi
    p = _psi(np.array([-0.9997757194319339, -2.5, -3.0, 0.0, 1.5]))
    assert abs(p[0] - -4458.27765315716078) <= 4e-15 * 4458.3
    np.testing.assert_allclose(p[[1, 4]], [1.1031566406452432, 0.03648997397857652],
                               rtol=1e-15)
    assert np.isnan(p[2]) and p[3] == -np.inf
    # lax.switch wraps an int64 index to int32 before clamping it (JAX 0.10, seed 99)
    from fuzz.ops_control import switch_index
    assert [switch_index(i, 3) for i in (-2252774253, -1, 1, 7, 2**32 + 1)] == [2, 0, 1, 2, 1]
    # jnp.nanmean rounds the sum to float16 before dividing (seed 88): inf, where jnp.mean
    # (and nanvar's own mean) divide in float32
    from fuzz.ops import _reduce_ref
    from fuzz.program import Type
    x = np.full(16384, -15.67, np.float16).astype(np.float64)
    t16 = Type((), "float16")
    assert _reduce_ref("nanmean", x, (0,), {"keepdims": False}, t16) == -np.inf
    assert abs(_reduce_ref("mean", x, (0,), {"keepdims": False}, t16) + 15.67) < 0.01
    var = _reduce_ref("nanvar", x + np.arange(16384) % 2, (0,), {"ddof": 0, "keepdims": False},
                      t16)
    assert abs(var - 0.25) < 1e-3
    # nanargmax of a NaN scalar (each lane of a vmapped nanargmax over a vector) is -1 in
    # JAX 0.10.2, like an all-NaN lane (run 20261602 #2: the oracle said 0)
    ti = Type((), "int32")
    p = {"axis": None, "keepdims": False}
    assert _reduce_ref("nanargmax", np.float64(np.nan), (), p, ti) == -1
    assert _reduce_ref("nanargmax", np.float64(2.0), (), p, ti) == 0
    assert _reduce_ref("argmax", np.float64(np.nan), (), p, ti) == 0


def test_oracle_marks_unreliable_elements():
    """What the oracle leaves unchecked: the sign of a NaN (opposite in consecutive
    perturbed runs), accumulations whose terms overflow the dtype, and values that lost
    every accurate digit (NaN in perturbed runs, so what depends on them is unstable)."""
    from fuzz.program import Lit, Perturb, acc_overflow
    out = np.array([np.nan, 1.0, 2.0])
    a = Perturb(1, nan_sign=1.0).apply(out, 0.0)
    b = Perturb(2, nan_sign=-1.0).apply(out, 0.0)
    assert np.signbit(a[0]) != np.signbit(b[0]) and np.array_equal(a[1:], out[1:])
    err = acc_overflow(np.ones(2), np.array([1e30, 1e39]), "float32")
    assert err[0] == 1.0 and np.isnan(err[1])
    anything = Perturb(3).apply(np.array([5.0, np.nan]), np.array([np.nan, np.nan]))
    assert np.isnan(anything[0]) and np.isinf(anything[1])
    p = Perturb(4, base={"v": np.array([1.0, 0.5])})
    moved = p.drift("v", np.array([1.1, -0.5]))
    assert moved[0] == 1.1 and np.isnan(moved[1])
    assert Lit(-1.5).src() == "(-1.5)" and Lit(2).src() == "2"


def test_anything_keeps_a_propagated_nan_unstable():
    """A NaN that reached a perturbed run only from an input that was itself 'any result
    possible' stays NaN (unstable): 0583864 turned it into 0.0, which looked stable and made
    a legitimate inf - inf NaN of C's float32 matmul a reported disagreement (CI)."""
    from fuzz.program import Perturb
    p = Perturb(0, base={"v": np.array([1.0, np.nan, 2.0])})
    out = p.apply(np.array([np.nan, np.nan, 2.0]), np.full(3, np.nan), "v")
    assert np.isnan(out[0]) and np.isinf(out[1]) and np.isnan(out[2])


def test_central_difference_sees_a_tie_hidden_by_a_crossing():
    """Seed 88: two sorted values tie exactly while a third crosses them within one step
    of the central difference; at t = -2h..2h the tied slot lies on one straight line, so
    the large step alone called the tie smooth and expected the tangent of one of the
    tied elements (funcgrad, like JAX, takes the stable order's). The small step sees it."""
    from fuzz.check import FD_H, FD_STEPS, _central_difference
    x = np.array([-0.76003164, -0.76003164, -0.7600242], np.float64)   # values
    v = np.array([0.2913852, -0.1338061, 1.6619536], np.float64)       # directions
    vals = {t: np.sort(x + t * FD_H * v)[1] for t in FD_STEPS}
    line = [vals[t] - (x[0] + t * FD_H * v[0]) for t in (-2, -1, 0, 1, 2)]
    assert np.allclose(line, 0.0, atol=1e-15)   # the large step alone sees a straight line
    _, smooth, _ = _central_difference(vals)
    assert not smooth
    # a smooth function stays smooth
    vals = {t: np.sin(0.3 + t * FD_H) for t in FD_STEPS}
    dc, smooth, _ = _central_difference(vals)
    assert smooth and abs(dc - np.cos(0.3)) < 1e-9


def test_a_sort_position_holding_an_exact_tie_has_no_tangent_to_compare():
    """Seed 20261908: sort(tanh(sqrt(x * x + 0.25)), descending=True) of x and -x ties
    exactly, and a third value crossed the tie within the small step too, so position
    2629 looked smooth with one tied element's slope while funcgrad (and JAX, whose
    descending sort reverses ties) carried the other's. In finite-difference runs the
    positions of an exact tie are NaN (unchecked), in sort and across top_k's cut."""
    import types
    from fuzz.ops_array import _sort_ref, _topk_ref
    from fuzz.program import Ctx
    from fuzz.values import Dims
    x = np.array([0.5, 0.8, 0.2, 0.8, 0.1])
    op = types.SimpleNamespace(args=("x",))
    exact, plain = Ctx(Dims(), 0, None, exact=True), Ctx(Dims(), 0, None)
    for desc in (False, True):
        got = _sort_ref([x], {"axis": -1, "descending": desc}, op, exact, {})
        want = np.sort(x)[::-1] if desc else np.sort(x)
        tied = np.isin(want, [0.8])
        assert np.isnan(got[tied]).all() and np.array_equal(got[~tied], want[~tied])
        assert np.array_equal(_sort_ref([x], {"axis": -1, "descending": desc}, op, plain,
                                        {}), want)          # values are still compared
    vals, _ = _topk_ref([x], {"k": 1}, op, exact, {})      # the tie straddles the cut
    assert np.isnan(vals).all()
    vals, _ = _topk_ref([x], {"k": 2}, op, exact, {})      # both tied values kept
    assert np.isnan(vals).all()
    vals, _ = _topk_ref([x], {"k": 3}, op, exact, {})
    assert np.isnan(vals[:2]).all() and vals[2] == 0.5
    vals, _ = _topk_ref([x], {"k": 1}, op, plain, {})
    assert vals.tolist() == [0.8]


def test_copysign_by_an_undefined_sort_position_is_undefined():
    """Seed 20261973 (long run): copysign(erf(x), sort(sign(x), descending=True)). Every
    sorted sign ties with another, so the finite-difference runs mark each position NaN
    (above), and copysign read the NaNs' sign bit as the sign: the oracle's difference was
    -0.53 where funcgrad's and JAX's derivative, and float64 differences of the program,
    give 0.0078. copysign by such a NaN is NaN now, in finite-difference runs only."""
    import types
    from fuzz.ops import OPS
    from fuzz.program import Ctx
    from fuzz.values import Dims
    op = types.SimpleNamespace(args=("a", "b"), outs=("c",))
    a = np.array([0.3, -0.5, 0.7])
    b = np.array([np.nan, -1.0, 1.0])
    exact, plain = Ctx(Dims(), 0, None, exact=True), Ctx(Dims(), 0, None)
    p = {"cdt": "float64"}
    got = OPS["copysign"].ref([a, b], p, op, exact, {})
    assert np.isnan(got[0]) and got[1:].tolist() == [-0.5, 0.7]
    assert OPS["copysign"].ref([a, b], p, op, plain, {}).tolist()[0] == 0.3


def test_a_central_difference_is_trusted_only_to_its_truncation_error():
    """Seed 20261909: the float64 tangent of x^2 / (logsumexp(cosh(x^2)^2)^2 + 0.5) was
    compared to a central difference off by 1.2e-4 relative (its h^2 term), within
    GRAD_RTOL's 1e-6 of nothing; JAX and funcgrad agree to 3e-13. The tolerance now adds
    |dc1 - dc2|, which bounds that term."""
    from fuzz.check import FD_H, FD_STEPS, GRAD_RTOL, _central_difference, _truncation

    # flat (f'' = 0) where the tangent is taken, but a large third derivative
    def f(x):
        return x + 1e5 * x ** 3

    def df(x):
        return 1 + 3e5 * x ** 2

    x0, d = 0.0, 1.3
    vals = {t: f(x0 + t * FD_H * d) for t in FD_STEPS}
    dc1, smooth, _ = _central_difference(vals)
    exact = df(x0) * d
    assert smooth
    err = abs(dc1 - exact)
    assert err > GRAD_RTOL["float64"] * abs(exact)       # the old tolerance fails
    assert err <= _truncation(vals) <= 4 * err            # the bound holds, and is tight


def test_a_gradient_whose_loss_overflows_at_a_step_is_not_compared():
    """Review of 8df1800: the finite-difference helper returned two values where the loss
    is non-finite at a step and three elsewhere, so such a case raised ValueError (an
    oracle error) instead of leaving the gradient unchecked. exp of a float64 just under
    its overflow threshold overflows one step away. (Since seed 20261925 the elements that
    are not smooth along the direction leave the loss first: here both, so the loss is 0
    and its gradient is compared with 0, and 709.7 beside them stays in.)"""
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type
    d = Dims()
    t = Type((d.new([2] * 8),), "float64")
    for x, kept in (([709.78271, 709.78271], [False, False]),  # exp: 1.8e308, inf 1e-5 on
                    ([709.78271, 709.7], [False, True])):
        prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=np.array(x))],
                       [Op("exp", ("x0",), {}, ("out",), (t,))], ["out"], d, "float64",
                       types={"x0": t, "out": t})
        e = Entry(prog, Stack((), None, "grad"), 0)
        case = build_case(e, 0, e.seed)
        assert case.aux["m"][0].tolist() == kept
        assert case.expect.dcs[0] is not None and (case.expect.dcs[0] == 0.0) == (not any(kept))


def test_comparison_of_a_lost_value_is_unstable():
    """Seed 88: a NaN marking a value that lost all accuracy made a perturbed run's
    `less_equal` False, equal to the base run's result, so the element looked stable and a
    right answer was reported as wrong. Non-float results of such operands now differ from
    the base run in one of two consecutive runs."""
    from types import SimpleNamespace

    from fuzz.program import Perturb
    base = {"v": np.array([1.0, 2.0, np.nan]), "w": np.array([0.5, 3.0, 1.0])}
    args = [np.array([np.nan, 2.0, np.nan]), base["w"]]
    outs = []
    for sign in (1.0, -1.0):
        p = Perturb(0, nan_sign=sign, base=base)
        lost = p.lost_in(SimpleNamespace(name="less_equal", args=("v", "w")), args)
        assert lost.tolist() == [True, False, False]   # the base's own NaN is not lost
        outs.append(p.unsettle(np.array([False, True, False]), lost))
    assert {bool(o[0]) for o in outs} == {True, False}
    assert all(o[1] and not o[2] for o in outs)
    # a non-elementwise op (argmax of the lane) is unsettled throughout, integers by +-1
    p = Perturb(0, nan_sign=-1.0, base=base)
    lost = p.lost_in(SimpleNamespace(name="argmax", args=("v",)), args[:1])
    assert lost is True
    assert p.unsettle(np.array([3, 4]), lost).tolist() == [2, 3]


def test_std_error_covers_its_inputs_errors_in_the_worst_direction():
    """Seed 88: std over two nearly equal sines (ddof=1) moves ~200 ulps when the sines
    move one ulp in opposite directions, which the random perturbations missed one time
    in eight. The error bound now includes |input drift| / sqrt(n - ddof)."""
    from types import SimpleNamespace

    from fuzz.ops import OPS
    from fuzz.program import Ctx, Perturb, Type
    base = np.array([0.99254566, 0.9966806])
    moved = base + np.array([6e-8, -6e-8])
    op = SimpleNamespace(name="std", args=("x",), params={"axis": None, "ddof": 1,
                                                          "keepdims": False})
    ctx = Ctx(None, 0, Perturb(0, base={"x": base}))
    t = Type((), "float32")
    out = np.std(moved, ddof=1)
    err = float(np.asarray(OPS["std"].err([moved], np.asarray(out), op, t, ctx)))
    assert err >= abs(np.std(moved, ddof=1) - np.std(base, ddof=1))
    # without a base run (the oracle's own value) only the op's own rounding counts
    own = float(np.asarray(OPS["std"].err([moved], np.asarray(out), op, t, Ctx(None, 0, None))))
    assert own < err


def test_variance_of_equal_values_allows_for_the_means_rounding():
    """Seed 20261946 (open since): the variance of equal values is 0, but the computed
    mean rounds, so every deviation is that rounding (up to growth(n) ulps): float64
    nanvar of 193 copies of 1.8799578209533117 gave 4.9e-30 (the eager kernel's order),
    against a bound of 3.0e-30. The bound now has the mean's error squared."""
    from types import SimpleNamespace

    from fuzz.ops import OPS
    from fuzz.program import Ctx, Type
    x = np.full(193, 1.8799578209533117)
    op = SimpleNamespace(name="nanvar", args=("x",), params={"axis": None, "ddof": 0,
                                                             "keepdims": False})
    err = float(np.asarray(OPS["nanvar"].err([x], np.asarray(0.0), op, Type((), "float64"),
                                            Ctx(None, 0, None))))
    assert err >= 4.93e-30
    # still a tight bound on a spread row: ~1e-16 relative
    y = np.linspace(1.0, 3.0, 193)
    v = float(np.var(y))
    e2 = float(np.asarray(OPS["nanvar"].err([y], np.asarray(v), op, Type((), "float64"),
                                           Ctx(None, 0, None))))
    assert e2 < 1e-13 * v


def test_a_propagated_nan_stays_nan_inside_a_loop_body():
    """Seed 88: a value marked "anything" (NaN in the perturbed runs: a float32 sum whose
    terms overflow) reached cosh inside a fori_loop body, where the oracle has no base
    value; its NaN error (proportional to the NaN value) was taken for "anything" again
    and became 0.0, which looked stable, so funcgrad's NaN (as JAX's) was reported."""
    from fuzz.check import value_expect
    from fuzz.program import Ctx, Lit, Op, Perturb, Program, evaluate
    from fuzz.values import Dims, Type
    d = Dims()
    n = d.new([3] * 8)
    f32 = "float32"
    body = Program("loop", [], [Op("cosh", ("v2",), {}, ("v3",), (Type((), f32),))], ["v3"],
                   d, f32, args=[("i", Type((), "int32")), ("c", Type((), f32))],
                   types={"v3": Type((), f32)})
    ops = [Op("sum", ("x",), {"axis": None, "keepdims": False}, ("v1",), (Type((), f32),)),
           Op("multiply", ("v1", Lit(0.0)), {"spell": "{0} * {1}", "cdt": f32}, ("v2",),
              (Type((), f32),)),
           Op("fori_loop", ("v2",), {"body": body, "kind": "fori", "lo": 0, "hi": 2},
              ("v4",), (Type((), f32),))]
    prog = Program("p", [], ops, ["v4"], d, f32,
                   types={o.outs[0]: o.types[0] for o in ops} | {"x": Type((n,), f32)})
    x = {"x": np.array([3e38, 3e38, -3e38])}
    env = dict(x)
    base = evaluate(prog, env, Ctx(d, 0, None))[0]
    assert base == 1.0
    runs = [evaluate(prog, dict(x), Ctx(d, 0, Perturb(s, nan_sign=(-1.0) ** s, base=env)))[0]
            for s in range(3)]
    assert all(np.isnan(r) for r in runs)
    assert not value_expect(base, runs, f32).stable


def test_an_oversized_input_is_refused_not_allocated():
    """Shrinking a seed-99 finding produced an input of 1.6e9 elements (a dim pinned after
    its type was size-checked); allocating it got the fuzz run killed by the OOM killer.
    The generator now rejects such programs, and building the values refuses them."""
    from fuzz.program import Input, OracleError
    from fuzz.values import Dims, Type
    d = Dims()
    a, b = d.new([40000] * 8), d.new([40000] * 8)
    with pytest.raises(OracleError, match="too large"):
        Input("x0", Type((a, b), "float32"), "normal", 0).values(d, 0)


def test_a_tangent_past_the_dtype_range_is_not_compared():
    """Seed 123: the jvp of expm1(0.5 - rad2deg(x)) had a float64 central difference of
    -5.5e38, past float32's largest value, where funcgrad (as JAX) gives -inf; such
    tangent elements are not compared."""
    from fuzz.check import tangent_in_range
    dc = np.array([-5.53e38, 1e38, 3.0, -np.inf])
    assert tangent_in_range(dc, "float32").tolist() == [False, False, True, False]
    assert tangent_in_range(np.array([1e38]), "float64").tolist() == [True]
    assert tangent_in_range(np.array([2e4, 1e4]), "float16").tolist() == [False, True]


def test_nan_to_num_of_a_lost_value_is_unstable():
    """Seed 123: nan_to_num turned the NaN marking an einsum that may overflow ("any
    result") into -2.0 in every perturbed run, which looked stable next to the base run's
    finite value, so funcgrad's (and JAX's) -3.4e38 was reported."""
    from fuzz.program import Ctx, Op, Perturb, Program, evaluate
    from fuzz.values import Dims, Type
    d = Dims()
    n = d.new([2] * 8)
    t = Type((n,), "float32")
    op = Op("nan_to_num", ("x",), {"nan": -2.0}, ("v",), (t,))
    prog = Program("p", [], [op], ["v"], d, "float32", types={"x": t, "v": t})
    base = {"x": np.array([1.0, 2.0])}
    run = evaluate(prog, {"x": np.array([np.nan, 2.0])},
                   Ctx(d, 0, Perturb(0, base={"x": base["x"], "v": base["x"]})))[0]
    assert np.isnan(run[0]) and run[1] == 2.0


def test_an_rnn_gate_that_may_go_either_way_is_unstable():
    """Seed 123: an LSTM gate input summed terms of 1e35 that cancel (3.7e4 in float32 in
    one order, -1.7e13 in another): the gate saturates either way, and the reference
    backend and JAX took different sides. The oracle now perturbs the gates' inputs by
    their rounding bound, and a row whose gate may be on either side is unstable."""
    from fuzz.ops_control import _gate_lost
    g = np.array([[3.7e4, -6.3e34, 7.2e35], [3.0, -2.0, 1.0]])
    gerr = np.array([[1e29], [1e-6]])
    assert _gate_lost(g, gerr).tolist() == [[True], [False]]
    # a small error bound is left to the random perturbations
    assert not _gate_lost(np.array([[0.01]]), np.array([[0.02]])).any()


def test_a_nan_state_of_an_rnn_takes_each_perturbed_runs_nan_sign():
    """Seed 20261908: a NaN input row made a GRU's state NaN, and copysign read that NaN's
    sign. The cell's error bound was NaN there too, which Perturb.apply reads as "any
    result" and turns into 0.0; the next steps made it a small negative number in every
    perturbed run, the sign of the base run's NaN, so the sign looked stable and was
    compared. A NaN state now stays NaN with each run's own NaN sign."""
    import types
    from fuzz.ops_control import _rnn_ref
    from fuzz.program import Ctx, Perturb
    from fuzz.values import Dims, Type
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((3, 2, 2)).astype(np.float32)
    xs[0, 0, 1] = np.nan                             # row 0 of the first step
    h0 = rng.standard_normal((2, 2)).astype(np.float32)
    w = rng.standard_normal((2, 6)).astype(np.float32)
    b = rng.standard_normal(6).astype(np.float32)
    for cell, k in (("gru", 3), ("lstm", 4)):
        wx = rng.standard_normal((2, 2 * k)).astype(np.float32) if cell == "lstm" else w
        wh = rng.standard_normal((2, 2 * k)).astype(np.float32) if cell == "lstm" else w
        bias = rng.standard_normal(2 * k).astype(np.float32) if cell == "lstm" else b
        a = [xs, h0, wx, wh, bias] + ([h0.copy()] if cell == "lstm" else [])
        op = types.SimpleNamespace(types=[Type((2, 2), "float32")], params={})
        signs = set()
        # (consecutive runs give NaNs opposite signs, and the random runs each NaN its own:
        # both signs show within a few runs)
        for s in range(1, 7):
            pert = Perturb(s, base={}, nan_sign=(-1.0) ** s)
            stacked = _rnn_ref(cell)(a, {"H": 2}, op, Ctx(Dims(), 0, pert), {})[-1]
            assert np.isnan(stacked[-1, 0]).all(), (cell, stacked[-1])
            signs.add(bool(np.signbit(stacked[-1, 0, 0])))
        assert signs == {True, False}, cell


def test_a_lost_value_stays_unstable_where_the_base_run_is_nan():
    """Seed 456: a product that underflows to -0.0 in one order (exactly -4.6e-13) was
    marked "any result" (NaN in the perturbed runs), but pow(-4.6e-13, 1e-40) is NaN in the
    base run too, so the marker looked like a stable NaN and funcgrad's (and JAX's) -inf
    was reported. Where a lost operand meets a base NaN the run now takes another class."""
    from fuzz.program import Ctx, Lit, Op, Perturb, Program, evaluate
    from fuzz.values import Dims, Type
    d = Dims()
    n = d.new([2] * 8)
    t = Type((n,), "float32")
    op = Op("power", ("x", Lit(1e-40)), {"spell": "{0} ** {1}", "cdt": "float32"}, ("v",),
            (t,))
    prog = Program("p", [], [op], ["v"], d, "float32", types={"x": t, "v": t})
    x = np.array([-4.6e-13, -2.0])
    base_env = {"x": x}
    base = evaluate(prog, base_env, Ctx(d, 0, None))[0]
    assert np.isnan(base).all()
    run = evaluate(prog, {"x": np.array([np.nan, -2.0])}, Ctx(d, 0, Perturb(0, base=base_env)))[0]
    assert run[0] == 0.0 and np.isnan(run[1])


def test_anything_at_a_base_nan_stays_unstable_downstream():
    """Seed 1515 (rerun): a float32 GRU step whose gate sums products past float32's range
    (here -1e50 and +2e50, with an infinite recurrent weight) is +inf in the oracle and in C
    eagerly (z = sigmoid(inf - inf), h NaN) but -inf with C's jitted FMA dot (z = 0,
    h = tanh(-2)): the error model marks h "any result", which a perturbed run writes as 0.0
    where the base run's h is NaN. log2(x1 - floor(h)) with x1 < 0 maps that 0.0 back to
    NaN, so the element looked stable and C's 0.0 was reported. A number where the base run
    has NaN is now a lost operand, like a NaN where it has a number."""

    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    f32 = np.float32
    vals = [np.array([[[1e30, 1e30]]], f32),                    # xs: T = B = 1, I = 2
            np.array([[-1e-38]], f32),                          # h0 (and x1 below)
            np.array([[0.0, -1e20, 0.0], [0.0, 2e20, 0.0]], f32),
            np.array([[0.0, np.inf, 0.0]], f32),                # gh_z = -inf
            np.array([0.0, 0.0, -2.0], f32)]
    d = Dims()
    dim = {n: d.new([n] * 8) for n in (1, 2, 3)}
    types = {f"x{i}": Type(tuple(dim[n] for n in v.shape), "float32")
             for i, v in enumerate(vals)}
    th, ts = Type((dim[1], dim[1]), "float32"), Type((dim[1],) * 3, "float32")
    types.update(h=th, hs=ts, fl=ts, df=ts, out=ts)
    ops = [Op("gru", ("x0", "x1", "x2", "x3", "x4"), {"H": 1, "name": "gru0"}, ("h", "hs"),
              (th, ts)),
           Op("floor", ("hs",), {}, ("fl",), (ts,)),
           Op("subtract", ("x1", "fl"), {"spell": "{0} - {1}", "cdt": "float32"}, ("df",),
              (ts,)),
           Op("log2", ("df",), {}, ("out",), (ts,))]
    inputs = [_Given(f"x{i}", types[f"x{i}"], "normal", i, value=v) for i, v in enumerate(vals)]
    for out in ("hs", "out"):
        prog = Program("prog_0", inputs, ops if out == "out" else ops[:1], [out], d,
                       "float32", types=types)
        e = Entry(prog, Stack((("jit",),), None, None), 0)
        expect = build_case(e, 0, e.seed).expect[0]
        assert np.isnan(expect.value).all()
        assert not expect.stable.any(), out


def test_prod_with_an_infinite_factor_and_an_underflow_is_unstable():
    """Seed 456: prod([-0.032, 1.4e-45, inf, -1.2e-38]) is +inf exactly but NaN in float32
    (JAX too): the small factors underflow to -0 first. An infinite factor now counts as a
    large one in the prod error model, so the element is "any result"."""
    from types import SimpleNamespace

    from fuzz.ops import OPS
    from fuzz.program import Type
    x = np.array([-3.2110091e-02, 1.4012985e-45, np.inf, -1.1754944e-38])
    op = SimpleNamespace(name="prod", args=("x",), params={"axis": None, "keepdims": False})
    err = OPS["prod"].err([x], np.asarray(np.inf), op, Type((), "float32"), None)
    assert np.isnan(err)


def test_a_loss_whose_terms_may_overflow_is_not_compared():
    """Seed 456: value_and_grad of a loss summing a cumprod near 3e38 is 2.8e38 in float64
    but inf in float32 (a partial sum overflows, in JAX too); such a loss value is not
    compared (its gradient still is)."""
    from fuzz.check import loss_in_range
    assert not loss_in_range(4e38, "float32") and loss_in_range(1e37, "float32")
    assert loss_in_range(4e38, "float64") and not loss_in_range(4e4, "float16")


def test_an_index_computed_from_a_lost_value_differs_from_the_base_run():
    """Seed 789: a GRU whose gates may go either way is NaN ("lost") in every perturbed
    run; top_k of a lane of NaNs gave indices 0..4, unsettled one step to -1..3, and the
    base run's index 0 at position 1 (3 at position 3) looked stable, so the 1-ulp
    difference of saturated tanh outputs (0.99999994 against 1.0, JAX's too) was reported.
    Integer and bool results of a lost operand now differ from the base run's own value."""
    from fuzz.program import Ctx, Op, Perturb, Program, evaluate
    from fuzz.values import Dims, Type
    d = Dims()
    n, k = d.new([8] * 8), d.new([5] * 8)
    tx, tv, ti = Type((n,), "float32"), Type((k,), "float32"), Type((k,), "int32")
    op = Op("top_k", ("x",), {"k": 5}, ("v", "i"), (tv, ti))
    prog = Program("p", [], [op], ["i"], d, "float32", types={"x": tx, "v": tv, "i": ti})
    base_env = {"x": np.array([1.0, -0.61, -0.9, 1.0, -0.057, -1.0, 1.82, -0.99])}
    base = evaluate(prog, base_env, Ctx(d, 0, None))[0]
    assert base.tolist() == [6, 0, 3, 4, 1]
    for s in range(3):
        run = evaluate(prog, {"x": np.full(8, np.nan)},
                       Ctx(d, 0, Perturb(s, nan_sign=(-1.0) ** s, base=base_env)))[0]
        assert (run != base).all(), run
        assert ((run >= -1) & (run < 8)).all()      # still valid indices
    # a bool result is the base run's negated
    p = Perturb(0, base={"m": np.array([True, False, True])})
    assert p.unsettle(np.array([True, True, True]), np.array([True, True, False]),
                      "m").tolist() == [False, True, True]


def test_attention_with_a_maximum_tied_within_the_scores_rounding_is_unstable():
    """Seed 789: float64 scores of 2e80 whose row maximum is three keys apart by 1e25,
    far below the scores' rounding (NumPy: a three-way tie; JAX and funcgrad: one-hot),
    with |v| up to 1e300: the linear error bound overflowed to inf, which Perturb.apply
    takes as no error, so NumPy's mean of the three v rows looked exact. The bound is now
    capped by the spread of v's rows (the output is a convex combination of them); a row
    whose maximum wins by more than the rounding plus exp's underflow range is exact."""
    from types import SimpleNamespace

    from fuzz.ops_control import _attention_err, _attention_ref
    from fuzz.program import Ctx, Perturb, Type
    from fuzz.values import Dims
    t = Type((), "float64")
    op = SimpleNamespace(types=(t,), params={"causal": False, "D": 2})
    q = np.array([[[-2.4273021e25, 2.79371624e80]]])
    k = np.array([[[-0.5, 1.5], [1.0, 1.5], [0.0, 1.5], [-1.0, 0.5]]])
    v = np.array([[[-2e-284, -4.9e-76], [1.5e41, -3.7e158], [2.6e99, -5.8e126],
                   [-1e-200, 1.1e300]]])

    def attend(k):
        out = _attention_ref([q, k, v], op.params, op, Ctx(Dims(), 0, None), {})
        return out, np.broadcast_to(_attention_err([q, k, v], out, op, t, None), out.shape)
    out, err = attend(k)
    # keys 0..2 tie in float64 (in exact arithmetic key 0 wins by 1.2e25): any mix of them
    np.testing.assert_allclose(out[0, 0], v[0, :3].mean(axis=0))
    assert np.isfinite(err).all() and (err >= np.abs(out)).all()
    # a perturbed run moves it by more than a quarter of itself: what follows is unstable
    p = Perturb(0, base={"o": out})
    assert np.isnan(p.drift("o", p.apply(out, err, "o"))).all()
    # with a lone maximum (by 1.4e80) the weights are one-hot in any rounding: exact
    k[0, 0, 1] = 3.0
    out, err = attend(k)
    np.testing.assert_array_equal(out[0, 0], v[0, 0])
    assert (err <= 1e-15 * np.abs(out)).all()


def test_erfc_oracle_is_accurate_in_the_tail():
    """Seed 20261201 #1: erfc(16.99041810600572) is 1.4151850318038705e-127 (funcgrad, C's
    erfc, 0.03 ulps from mpmath); SciPy's erfc, the oracle's reference, gave ...8313e-127,
    191 ulps off (JAX's is as far): it computes exp(-x^2) from a rounded x^2, an error of
    up to ~x^2 / 2 ulps. The oracle now takes erfcx(x) * exp(-x^2) with x^2 split exactly."""
    from fuzz.ops import _erfc
    # correctly rounded values (mpmath at 50 digits)
    exact = {16.99041810600572: 1.4151850318038705e-127,
             24.123492258058047: 4.305578660099433e-255,
             14.752641172733906: 1.152203232705983e-96,
             0.608300989564794: 0.3896415984963343, 2.5: 0.0004069520174449589,
             26.5: 2.2109076642637343e-307, -1.5: 1.9661051464753108,
             0.25: 0.7236736098317631}
    x = np.array(list(exact))
    want = np.array(list(exact.values()))
    got = _erfc(x)
    ulps = np.abs(got - want) / np.spacing(want)
    assert (ulps <= 8).all() and (ulps[x > 10] <= 2).all(), ulps   # SciPy's: 191, 94, 65
    np.testing.assert_array_equal(_erfc(np.array([np.inf, -np.inf, 40.0, 0.0, np.nan])),
                                  [0.0, 2.0, 0.0, 1.0, np.nan])


def test_quantile_oracle_follows_jax_between_equal_infinities():
    """Seed 20261201 #2, #3: the oracle took np.quantile, whose lerp (low + (high - low) * w,
    or high - (high - low) * (1 - w) from w = 0.5) is NaN between two equal infinities and
    between a finite value and an infinity on the finite value's side; jnp.quantile (and
    funcgrad) compute low * (1 - w) + high * w, which is the infinity there and NaN only
    where the position lands exactly on an infinity (a weight of 0; seed 123 #1)."""
    from fuzz.ops import _quantile_ref
    from fuzz.program import Type

    def quantile(x, q, axis=-1, keepdims=False, dtype="float32", fn="quantile"):
        op = type("Op", (), {"types": (Type((), dtype),)})()
        return _quantile_ref([np.asarray(x, np.float64)],
                             {"q": q, "axis": axis, "keepdims": keepdims, "fn": fn}, op, None,
                             None)
    inf = np.inf
    for q in (0.25, 0.5, 0.9):
        assert quantile([-inf] * 4, q) == -inf          # JAX 0.10: -inf; NumPy: nan
    assert quantile([inf, inf, 1.0, 2.0], 0.9) == inf
    assert quantile([inf, 1.553802490234375], 0.9, fn="percentile") == inf   # #2's row
    assert quantile([-inf, 1.0], 0.25) == -inf
    assert quantile([-inf] + [inf] * 6, 0.25) == inf    # the reproducer's column (#3)
    assert np.isnan(quantile([-inf, 1.0, 2.0], 0.0))      # lands on -inf: -inf * 1 + 1 * 0
    assert np.isnan(quantile([1.0, 2.0, inf], 1.0, fn="percentile"))
    assert np.isnan(quantile([1.0, np.nan, 2.0], 0.5))
    x = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_allclose(quantile(x, 0.9, axis=1, keepdims=True),
                               np.quantile(x, 0.9, axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(quantile(x, 0.25, axis=None, dtype="float64"),
                               np.quantile(x, 0.25))
    assert quantile(x, 0.5, axis=None, keepdims=True).shape == (1, 1, 1)
    # a 0-d operand goes through the same formula (seed 20261302: vmap of a quantile of
    # scalars; JAX gives -inf * 1 + -inf * 0 = NaN, the oracle returned -inf)
    assert np.isnan(quantile(np.array(-inf), 0.5, axis=None))
    assert quantile(np.array(-0.25), 0.5, axis=None) == -0.25
    assert quantile(np.array(-0.25), 0.5, axis=None).shape == ()


def test_top_k_oracle_takes_an_operand_with_no_elements():
    """Seed 20261921: the oracle of `lax.top_k` reshaped its sort keys to (-1, 0) for an
    operand whose last axis has no elements and raised, so the program was dropped as a
    fuzzer error instead of compared; funcgrad returns empty values and indices (as JAX)."""
    from fuzz.ops_array import _topk_ref
    from fuzz.program import Type

    from funcgrad import lax

    op = type("Op", (), {"types": (Type((), "float32"),)})()
    for shape in ((3, 0), (0, 4), (0,), (2, 0, 5)):
        x = np.zeros(shape, np.float32)
        vals, idx = _topk_ref([x], {"k": 0}, op, None, None)
        assert vals.shape == idx.shape == shape[:-1] + (0,)
        got = lax.top_k(x, 0)
        assert got[0].shape == got[1].shape == vals.shape


def test_sign_oracle_keeps_the_sign_of_zero():
    # seed 20261302: signbit(sign(-0.0)) is True in JAX and funcgrad (lax.sign(-0.0) is
    # -0.0); NumPy's sign gives 0.0, and the oracle said False
    from fuzz import ops
    ref = next(r for r in ops._UNARY if r[0] == "sign")[2]
    got = ref(np.array([-0.0, 0.0, -3.0, 2.0, np.nan]))
    np.testing.assert_array_equal(np.signbit(got[:4]), [True, False, True, False])
    np.testing.assert_array_equal(got[2:4], [-1.0, 1.0])
    assert np.isnan(got[4])


def test_an_equality_of_values_whose_error_intervals_overlap_is_unstable():
    """Seed 20261214 (long run): x == hypot(x, 0.1) in float16 at x = 2.671875, where JAX's
    hypot (max * sqrt(1 + (min/max)**2) in the dtype) and funcgrad's give x and the
    correctly rounded 2.673828 is 1 ulp away. The perturbed runs moved hypot by its 4 ulps,
    never exactly onto x, so `==` stayed False in every run and funcgrad's True was
    reported. A comparison whose operands' perturbations reach their base distance now
    differs from the base run there; comparisons of exact values stay checked."""

    from fuzz.batch import Batch
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Lit, Op, Program
    from fuzz.values import Dims, Type

    x = np.array([[-2.41015625, -1.2470703125], [2.671875, 2.63671875]], np.float16)
    d = Dims()
    t = Type((d.new([2] * 8), d.new([2] * 8)), "float16")
    tb = t.with_(dtype="bool")
    hypot = Op("hypot", ("x0", Lit(0.1)), {"spell": "fnp.hypot({0}, {1})", "cdt": "float16"},
               ("h",), (t,))
    floor = Op("floor", ("x0",), {}, ("f",), (t,))

    def entry(name, a, b, pre):
        spell = {"equal": "{0} == {1}", "not_equal": "{0} != {1}"}[name]
        prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=x)],
                       pre + [Op(name, (a, b), {"spell": spell, "cdt": "float16"}, ("c",),
                                 (tb,))], ["c"], d, "float16",
                       types={"x0": t, "h": t, "f": t, "c": tb})
        return Entry(prog, Stack((), None, None), 0)
    for name in ("equal", "not_equal"):
        e = entry(name, "x0", "h", [hypot])
        ve = build_case(e, 0, e.seed).expect[0]
        assert (ve.value == (name == "not_equal")).all()
        # hypot(x, 0.1) is within hypot's error of x in the second row, not in the first
        assert ve.stable.tolist() == [[True, True], [False, False]], ve.stable
        found = Batch([e], 0).run("reference", "eager", insts=[0])
        assert not found, [f.failure.detail for f in found]
        # exact operands: an input, floor of it, a value with itself
        for a, b, pre in (("x0", "x0", []), ("x0", "f", [floor]), ("h", "h", [hypot])):
            ve = build_case(entry(name, a, b, pre), 0, 0).expect[0]
            assert ve.stable.all(), (name, a, b)


def test_an_order_of_values_whose_error_intervals_overlap_is_unstable():
    """argmax and argsort of hypot(x, 0.1) at float16 values 1 ulp apart (2.671875 and
    2.673828; JAX's hypot gives x at the first, the correctly rounded 2.673828 is 1 ulp
    above): the perturbed runs move each by hypot's error, and where they happened to err
    the same way the order stayed the base run's, so the result was checked for 11 of 40
    seeds and a correct answer could be reported. Where two elements' moves reach their
    base distance (Perturb.order_within_reach) the argmax, the sorted positions between
    them and top_k's indices now differ from the base run; an exact tie of inputs (or of
    an exact op) keeps the first occurrence and the stable order, checked."""

    from fuzz.batch import Batch
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Lit, Op, Program
    from fuzz.values import Dims, Type

    # row 0: a near tie after hypot; row 1: far apart; row 2: a tie of inputs, which
    # hypot moves (so it may go either way) and floor keeps (an exact tie)
    x = np.array([[2.671875, 2.673828125, -0.5], [-2.41015625, 1.2470703125, 0.5],
                  [1.5, -1.0, 1.5]], np.float16)
    d = Dims()
    r, c = d.new([3] * 8), d.new([3] * 8)
    t = Type((r, c), "float16")
    ti, tr, tk = Type((r, c), "int32"), Type((r,), "int32"), Type((r, d.new([2] * 8)), "int32")
    tv = tk.with_(dtype="float16")
    hypot = Op("hypot", ("x0", Lit(0.1)), {"spell": "fnp.hypot({0}, {1})", "cdt": "float16"},
               ("h",), (t,))
    floor = Op("floor", ("x0",), {}, ("h",), (t,))

    def entry(name, pre, seed):
        if name == "top_k":
            op = Op("top_k", ("h",), {"k": 2}, ("v", "o"), (tv, tk))
        elif name == "argsort":
            op = Op("argsort", ("h",), {"axis": 1, "descending": False}, ("o",), (ti,))
        else:
            op = Op(name, ("h",), {"axis": 1, "keepdims": False}, ("o",), (tr,))
        types = {"x0": t, "h": t, "o": op.types[-1], "v": tv}
        prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=x)], [pre, op], ["o"],
                       d, "float16", types=types)
        return Entry(prog, Stack((), None, None), seed)
    want = {"argmax": [[False], [True], [False]], "argmin": [[True], [True], [True]],
            "argsort": [[True, False, False], [True] * 3, [True, False, False]],
            "top_k": [[False, False], [True] * 2, [False, False]]}
    for name, stable in want.items():
        for seed in range(40):
            e = entry(name, hypot, seed)
            ve = build_case(e, 0, seed).expect[0]
            assert ve.stable.reshape(3, -1).tolist() == stable, (name, seed, ve.stable)
        found = Batch([e], 0).run("reference", "eager", insts=[0])
        assert not found, [f.failure.detail for f in found]
        # exact values (floor of the inputs: row 2 ties 1.5 and 1.5) stay checked
        ve = build_case(entry(name, floor, 0), 0, 0).expect[0]
        assert ve.stable.all(), name
        if name in ("argmax", "argsort"):
            first = {"argmax": [0, 1, 0], "argsort": [[2, 0, 1], [0, 2, 1], [1, 0, 2]]}
            assert ve.value.tolist() == first[name]


def _scalar_chain(ops, dtype, deriv, seed=0, dims=(), c=None):
    """An entry of one input `x0` (dims from `dims`: sizes per dim) through `ops`, a list of
    (name, args, params, out dims) with args naming earlier values or Lits."""
    from fuzz.check import Entry, Stack
    from fuzz.program import Input, Op, Program
    from fuzz.values import Dims, Type
    d = Dims()
    ids = {k: d.new([n] * 8) for k, n in enumerate(dims)}
    t0 = Type(tuple(ids.values()), dtype)
    types, body = {"x0": t0}, []
    for k, (name, args, params, odims) in enumerate(ops):
        t = Type(tuple(ids[i] for i in odims), dtype)
        types[f"v{k}"] = t
        body.append(Op(name, args, params, (f"v{k}",), (t,)))
    prog = Program("prog_0", [Input("x0", t0, "grad", seed)], body, [f"v{len(ops) - 1}"], d,
                   dtype, x64=dtype == "float64", types=types)
    return Entry(prog, Stack((), None, deriv), seed)


@pytest.mark.parametrize("deriv", ["grad", "jvp", "value_and_grad", "vjp"])
def test_a_central_difference_does_not_resolve_below_its_values_rounding(deriv):
    """Seed 1515 #2: exp2(logaddexp2(x, 100)) is 2**x + 2**100 = 1.3e30, whose float64
    central difference reads 0.0 (the change, about 0.5 * 2e-5, is far below an ulp of
    1.3e30): funcgrad's derivative, 0.504 * v (mpmath, JAX too), was reported against a
    tolerance of 1e-7. A central difference is now known only to FD_ULPS ulps of the values
    it differences over the step (fd_noise), for gradients and tangents alike."""
    from fuzz.batch import Batch
    from fuzz.program import Lit
    e = _scalar_chain([("logaddexp2", ("x0", Lit(100.0)),
                        {"spell": "fnp.logaddexp2({0}, {1})", "cdt": "float32"}, ()),
                       ("exp2", ("v0",), {}, ())], "float32", deriv)
    found = Batch([e], 0).run("reference", "eager", insts=[0])
    assert not found, [f.detail for f in found]
    from fuzz.check import FD_H, FD_ULPS, fd_noise
    assert fd_noise(2.0 ** 100) == FD_ULPS * 2.0 ** 48 / FD_H     # 4 ulps of 2**100 over h


def test_a_tangent_near_a_saturated_tanh_is_known_to_its_values_rounding():
    """Seed 1515 #3: the float64 jvp of tanh(sum(nanmin(x)) + c) near tanh = 1 is about
    1e-7, and funcgrad's tangent is exact to 1e-16 (mpmath); the central difference of
    values near 1.0 is off by up to ~1e-11 (an ulp of 1.0 over the step), and was off by
    1.5e-12 against a tolerance of 1.2e-12. The tangent's tolerance now includes fd_noise."""
    from fuzz.batch import Batch
    from fuzz.check import build_case
    from fuzz.program import Lit

    def entry(seed, c):
        return _scalar_chain([("nanmin", ("x0",), {"axis": 0, "keepdims": False}, (1,)),
                              ("sum", ("v0",), {"axis": None, "keepdims": False}, ()),
                              ("add", ("v1", Lit(c)), {"spell": "{0} + {1}",
                                                       "cdt": "float64"}, ()),
                              ("tanh", ("v2",), {}, ())], "float64", "jvp", seed, dims=(3, 4))
    for seed in (11, 12, 24):        # the old tolerance failed each of these
        x = entry(seed, 0.0).prog.inputs[0].values(entry(seed, 0.0).prog.dims, 0)
        k = np.argmin(x, axis=0)
        c = 8.3 - float(np.sum(x[k, range(4)]))
        e = entry(seed, c)
        found = Batch([e], 0).run("reference", "eager", insts=[0])
        assert not found, [f.detail for f in found]
        case = build_case(e, 0, e.seed)
        v = case.aux["v"][0]
        z = float(np.sum(x[k, range(4)])) + c
        exact = float(np.sum(v[k, range(4)])) / np.cosh(z) ** 2
        tangent = case.expect[1][0]
        assert 1e-13 < abs(float(tangent.value) - exact) <= float(tangent.tol), \
            (float(tangent.value), exact, float(tangent.tol))


def test_logsumexp_error_model_covers_rounding_in_half_precision():
    """Seed 777 #1: logsumexp of the bfloat16 row [-1.03, -2.22, -1.05, -1.69] is 0.0013
    exactly, but JAX and funcgrad (every backend, eager and jitted) compute
    m + log(sum(exp(x - m))) in bfloat16: log(sum) = 1.0341 rounds to 1.03125 = -m, and the
    result is 0.0. The error model took float32's eps for every step (only the sum
    accumulates in float32) and allowed 2.5e-5; it now adds the dtype's rounding of
    x - m, exp, the sum and log(sum)."""
    from types import SimpleNamespace

    import ml_dtypes

    import funcgrad.nn
    import funcgrad.numpy as fnp
    from fuzz.ops import OPS
    from fuzz.program import Type
    bf = ml_dtypes.bfloat16
    x = np.array([-1.03125, -2.21875, -1.046875, -1.6875])
    m = x.max()
    exact = float(np.log(np.sum(np.exp(x - m))) + m)            # 0.0013194798107956096
    # JAX's steps, each rounded to bfloat16 (the sum accumulated in float32)
    e = np.exp((x - m).astype(bf).astype(np.float32)).astype(bf).astype(np.float32)
    s = np.float32(np.sum(e)).astype(bf).astype(np.float32)
    steps = float((np.log(s).astype(bf).astype(np.float32) + np.float32(m)).astype(bf))
    assert steps == 0.0
    assert float(np.asarray(funcgrad.nn.logsumexp(fnp.asarray(x.astype(bf))))) == 0.0
    op = SimpleNamespace(name="logsumexp", args=("x",), params={"axis": -1, "keepdims": False})

    def err(dtype):
        return float(OPS["logsumexp"].err([x], np.asarray(exact), op, Type((), dtype), None))
    assert abs(steps - exact) <= err("bfloat16") and abs(steps - exact) <= err("float16")
    assert err("float32") < 1e-5            # float32 and float64 keep their bound


def test_a_value_that_lost_all_accuracy_in_a_loop_body_is_unstable():
    """Seed 20261214 (long run): a reverse scan whose body carries c = sinc(c) and stacks
    fmin(0.0, c), from c = 2.4526925 in float32. The carry reaches 1.0, then sinc(1.0):
    3.9e-17 in float64, -2.8e-08 in funcgrad and JAX (sin(pi x) / (pi x), pi x rounded),
    both within sinc's error of 2e-6 (relative to |x| + 1). The perturbed runs moved it by
    that error, but fmin(0.0, c) shows only a downward move, and the oracle had no base
    run's values inside a body to see that the carry had lost all accuracy (as it does at
    the top level), so rows where every run erred upwards were checked with tolerance
    1.2e-38 and funcgrad's -2.8e-08 reported. Bodies now measure against the base run's
    values of the same iteration; a well-conditioned carry (cos) stays checked."""

    from fuzz.batch import Batch
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    f32 = "float32"
    d = Dims()
    n = d.new([17] * 8)
    ts, tx = Type((), f32), Type((n,), f32)

    def entry(fn, seed):
        body = Program("body1", [], [
            Op(fn, ("c",), {}, ("v2",), (ts,)),
            Op("fmin", ("x", "c"), {"spell": "fnp.fmin({0}, {1})", "cdt": f32}, ("v3",),
               (ts,))], ["v2", "v3"], d, f32, args=[("c", ts), ("x", ts)],
            types={"v2": ts, "v3": ts})
        scan = Op("scan", ("x0", "x1"), {"body": body, "reverse": True, "length": None},
                  ("v4", "v5"), (ts, tx))
        inputs = [_Given("x0", ts, "normal", 0, value=np.array(2.4526925, np.float32)),
                  _Given("x1", tx, "normal", 0, value=np.zeros(17, np.float32))]
        prog = Program("prog_0", inputs, [scan], ["v5"], d, f32,
                       types={"x0": ts, "x1": tx, "v4": ts, "v5": tx})
        return Entry(prog, Stack((), None, None), seed)

    for seed in range(8):
        ve = build_case(entry("sinc", seed), 0, seed).expect[0]
        # steps 0-6 (rows 16-10) are accurate; from step 7 on (sinc(0.99999744) = 2.6e-6)
        # the carry loses all accuracy; rows 7, 5, 3, 1 take fmin(0.0, sinc(1.0))
        assert not ve.stable[1:8:2].any() and ve.stable[10:].all(), (seed, ve.stable)
        ve = build_case(entry("cos", seed), 0, seed).expect[0]
        assert ve.stable.all(), (seed, ve.stable)
    found = Batch([entry("sinc", 0)], 0).run("reference", "eager", insts=[0])
    assert not found, [str(f)[:300] for f in found]


def test_sinc_where_pi_x_overflows_is_nan_as_jax_computes_it():
    """Seed 20261930 (long run): nanvar(reciprocal(sinc(x)), ddof=1) over a float32 row
    holding 1.1e38, 3.4e38 and -inf. JAX and funcgrad compute sin(pi x) / (pi x) with pi x
    in the dtype: it overflows, sin(inf) is NaN, and nanvar skips those elements. The
    float64 oracle gave sinc a finite ~1e-39 there, whose reciprocal's inf made the
    variance NaN, and its perturbed runs agreed (sinc(-inf), a NaN in the base run, is
    "anything" and became 0.0, whose reciprocal is inf again): a stable NaN, reported
    against funcgrad's finite value. The oracle's sinc is NaN where pi x overflows now."""

    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    d = Dims()
    r, n, one = d.new([1] * 8), d.new([8] * 8), d.new([1] * 8)
    t, tv = Type((r, n), "float32"), Type((r, one), "float32")
    row = np.array([[0.73, 1.1342745e38, 0.32, -np.inf, 3.4028235e38, 2.15, 0.5, 1.0]],
                   np.float32)
    ops = [Op("sinc", ("x0",), {}, ("a",), (t,)), Op("reciprocal", ("a",), {}, ("b",), (t,)),
           Op("nanvar", ("b",), {"axis": -1, "keepdims": True, "ddof": 1}, ("v",), (tv,))]
    prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=row)], ops, ["v"], d,
                   "float32", types={"x0": t, "a": t, "b": t, "v": tv})
    entry = Entry(prog, Stack((), None, None), 0)
    with np.errstate(all="ignore"):
        pix = np.float32(np.pi) * row
        assert np.isinf(pix[0, 1]) and np.isinf(pix[0, 4])
        import funcgrad.numpy as fnp
        want = np.asarray(fnp.sinc(row))           # funcgrad's (the default backend)
    assert np.isnan(want[0, [1, 3, 4]]).all()
    for seed in range(3):
        ve = build_case(entry, 0, seed).expect[0]
        assert not (ve.stable[0, 0] and np.isnan(ve.value[0, 0])), (ve.value, ve.stable)
    found = Batch([entry], 0).run("reference", "eager", insts=[0])
    assert not found, [str(f)[:300] for f in found]


def test_a_step_function_crossed_in_a_finite_difference_is_unchecked():
    """Seed 20261952 (long run): the vjp of rint(sinh(x)) with sinh(x) near -1.1e14. rint's
    derivative is 0 off its steps (JAX's, funcgrad's), but a central difference moving
    1e14 by many steps samples the staircase evenly, so it looked smooth and measured the
    staircase's mean slope (-9.5e14) against funcgrad's 0. A step function's value in a
    finite-difference run that moved off the base run's value is unchecked now; values
    between its steps keep their derivative, 0."""
    from fuzz.check import Entry, Stack
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    d = Dims()
    n = d.new([6] * 8)
    t = Type((n,), "float32")
    x = np.array([-33.1, -20.4, 0.3, 1.7, -32.6, 2.2], np.float32)
    ops = [Op("sinh", ("x0",), {}, ("a",), (t,)), Op("rint", ("a",), {}, ("b",), (t,))]
    prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=x)], ops, ["b"], d,
                   "float32", types={"x0": t, "a": t, "b": t})
    for deriv in ("vjp", "grad"):
        entry = Entry(prog, Stack((), None, deriv), 0)
        for seed in range(3):
            found = Batch([entry], seed).run("reference", "eager", insts=[0])
            assert not found, [str(f)[:300] for f in found]


def test_the_zero_cummin_keeps_at_a_tie_is_implementation_defined():
    """Seed 20261937 (long run): (-inf) // tanh(cummin(trunc(x))) in bfloat16. trunc gives
    zeros of both signs, and at a tie of +0 and -0 funcgrad's cummin keeps the earlier one
    while NumPy's minimum.accumulate (the oracle) takes the later: the division by it gave
    infinities of the other sign at 80 elements, all counted stable. Which zero a tie gives
    is implementation-defined (JAX's lax.cummin does a third thing), so every other
    perturbed run now keeps the running value at a tie: the sign-dependent elements are
    unstable, and funcgrad's reciprocal of the cummin is not reported."""
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    d = Dims()
    n, c = d.new([6] * 8), d.new([2] * 8)
    t = Type((n, c), "float32")
    # trunc makes the zeros (an exact operation: no perturbation reaches their signs)
    col = np.array([[0.3, 1.0], [-0.3, 2.0], [0.2, -0.5], [-0.1, 3.0], [5.0, -0.25],
                    [0.4, 0.5]], np.float32)
    ops = [Op("trunc", ("x0",), {}, ("z",), (t,)),
           Op("cummax", ("z",), {"fn": "cummin", "axis": 0, "reverse": False}, ("a",), (t,)),
           Op("reciprocal", ("a",), {}, ("b",), (t,))]
    prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=col)], ops, ["b"], d,
                   "float32", types={"x0": t, "z": t, "a": t, "b": t})
    entry = Entry(prog, Stack((), None, None), 0)
    # where NumPy's running minimum and one keeping ties differ in the zero's sign: the
    # first column's is +0 -0 +0 -0 -0 +0 against +0 throughout, the second's last is +0
    # against -0
    differ = np.zeros(col.shape, bool)
    differ[[1, 3, 4], 0] = True
    differ[5, 1] = True
    for seed in range(3):
        ve = build_case(entry, 0, seed).expect[0]
        assert not ve.stable[differ].any(), ve.stable
        assert ve.stable[0].all(), ve.stable
    found = Batch([entry], 0).run("reference", "eager", insts=[0])
    assert not found, [str(f)[:300] for f in found]



def test_top_k_of_nans_whose_sign_a_run_changed_is_unstable():
    """Seed 20261937 (long run): lax.top_k(log10(x), 6) over bfloat16 rows with negative
    values, its indices then compared (logical_xor). NumPy's log10 of a negative number is
    +NaN, funcgrad's -NaN, and top_k orders NaNs by their sign (+NaN first, -NaN last), so
    the index at every position of such a lane depends on an undefined sign. The perturbed
    run whose NaNs were all -NaN had funcgrad's order, but the oracle then put the base
    run's order (rotated where neighbouring values are within reach) back at those
    positions, and four elements looked stable: funcgrad's right answer was reported. Now
    a position whose index this run moved already keeps it, and the reach of values is
    worked out in top_k's own (total) order."""
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    # two of the run's rows: NaNs, zeros (-inf) and log10s a bfloat16 ulp or two apart
    x = np.array([[1.138760152359091e-38, -8.287235173297127e-37, -1.1754943508222875e-38,
                   6.083183265505338e-37, 0.0, 2.975470075518915e-38, 0.0, 0.0,
                   1.3870833339702993e-36],
                  [-0.0, 5.0840130673063935e-37, -5.84808439534088e-37, 1.504632769052528e-36,
                   1.35916534313827e-38, -1.6071211827648462e-38, -5.201562502388622e-37,
                   9.110081218872728e-38, 0.0]], np.float32).astype(ml_dtypes.bfloat16)
    d = Dims()
    r, n, k, one = d.new([2] * 8), d.new([9] * 8), d.new([6] * 8), d.new([1] * 8)
    t, tv, ti = Type((r, n), "bfloat16"), Type((r, k), "bfloat16"), Type((r, k), "int32")
    tw, tb = Type((one, k), "int32"), Type((r, k), "bool")
    w = np.array([[-1, 0, 0, 0, 0, 0]], np.int32)
    ops = [Op("log10", ("x0",), {}, ("a",), (t,)),
           Op("top_k", ("a",), {"k": 6}, ("v", "i"), (tv, ti)),
           Op("logical_xor", ("i", "w"), {"spell": "fnp.logical_xor({0}, {1})",
                                          "cdt": "int32"}, ("o",), (tb,))]
    prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=x),
                              _Given("w", tw, "small", 0, value=w)], ops, ["o"], d,
                   "bfloat16", types={"x0": t, "a": t, "v": tv, "i": ti, "w": tw, "o": tb})
    entry = Entry(prog, Stack((), None, None), 0)
    from fuzz.ops_array import _xla_total_order_desc
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.log10(x.astype(np.float64))
    # (NumPy's own log10 of a negative is +NaN on the AMD Zen 3 VM this was found on and
    # -NaN on a Zen 5 one, by its vector path: both signs are built explicitly below)
    plus, minus = (_xla_total_order_desc(np.where(np.isnan(a), np.copysign(np.nan, s), a))[:, :6]
                   for s in (1.0, -1.0))
    differ = (plus != 0) != (minus != 0)      # the xor with w differs by the NaNs' sign
    assert differ.sum() >= 2, (plus, minus)
    for seed in range(3):
        ve = build_case(entry, 0, seed).expect[0]
        assert not ve.stable[differ].any(), (ve.stable, differ)
    found = Batch([entry], 0).run("reference", "eager", insts=[0])
    assert not found, [str(f)[:300] for f in found]


def test_digamma_next_to_a_pole_is_not_compared():
    """Seed 424242 (the special functions' first run): digamma(logit(x)) in bfloat16.
    logit(0.2695) is -0.99700, which rounds to -0.99609 (digamma -256); funcgrad computes
    logit in bfloat16 steps and gets -1.0, one ulp away, where digamma has a pole (NaN).
    The oracle's perturbed runs moved the argument by its error bound but never onto the
    pole itself, so the NaN looked wrong. An argument within a few ulps of a pole of
    digamma or lgamma now gives "any value"."""
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    x = np.array([[0.269531, 0.119629, 0.75, 0.875]], np.float32).astype(ml_dtypes.bfloat16)
    d = Dims()
    r, n = d.new([1] * 8), d.new([4] * 8)
    t = Type((r, n), "bfloat16")
    import funcgrad.scipy.special as fss
    got = np.asarray(fss.digamma(fss.logit(x)))
    assert np.isnan(got[0, :2]).all() and np.isfinite(got[0, 2:]).all(), got
    for name in ("digamma", "lgamma"):
        ops = [Op("logit", ("x0",), {}, ("a",), (t,)), Op(name, ("a",), {}, ("b",), (t,))]
        prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=x)], ops, ["b"], d,
                       "bfloat16", types={"x0": t, "a": t, "b": t})
        entry = Entry(prog, Stack((), None, None), 0)
        for seed in range(3):
            ve = build_case(entry, 0, seed).expect[0]
            assert not ve.stable[0, :2].any(), (name, ve.value, ve.stable)
            assert ve.stable[0, 2:].all(), (name, ve.value, ve.stable)
        found = Batch([entry], 0).run("reference", "eager", insts=[0])
        assert not found, [str(f)[:300] for f in found]


def test_any_of_a_lane_that_may_round_to_zero_is_unstable():
    """Seed 20261938: any(gelu(x), axis=1) in float16 over a lane of +-6e-8 (and zeros).
    gelu there is about 3e-8, half the smallest subnormal: the float64 oracle rounds it
    up to 6e-8, funcgrad's 0.5 * x rounds to 0 first. Each element's error reaches 0, so
    the lane's any() may be False; the oracle's alternative flipped every such element,
    which turned the zeros nonzero and kept any() True in every run. Now the alternative
    is the lane with every such element zero (or, where that is the base run's result,
    nonzero)."""
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    x = np.array([[6e-8, -6e-8, 6e-8], [6e-8, 0.0, -0.0], [0.5, -3.0, 1e-4]],
                 np.float16).T[None]
    d = Dims()
    a, b, one = d.new([1] * 8), d.new([3] * 8), d.new([1] * 8)
    t, to = Type((a, b, b), "float16"), Type((a, one, b), "bool")
    ops = [Op("gelu", ("x0",), {}, ("g",), (t,)),
           Op("any", ("g",), {"axis": 1, "keepdims": True}, ("o",), (to,))]
    prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=x)], ops, ["o"], d,
                   "float16", types={"x0": t, "g": t, "o": to})
    entry = Entry(prog, Stack((), None, None), 0)
    for seed in range(3):
        ve = build_case(entry, 0, seed).expect[0]
        assert ve.stable.tolist() == [[[False, False, True]]], ve.stable
    found = Batch([entry], 0).run("reference", "eager", insts=[0])
    assert not found, [str(f)[:300] for f in found]


def test_power_of_a_negative_base_with_a_float_exponent_is_singular():
    """Seed 20261938: grad of (-2) ** (0 * x). The exponent's derivative x ** y * log(x)
    is NaN at a negative base (JAX's too), and the chain rule's NaN * 0 stays NaN, where
    the central difference through an exponent that does not move is 0.0."""
    from fuzz.check import Entry, Stack
    from fuzz.program import Lit, Op, Program
    from fuzz.values import Dims, Type

    d = Dims()
    t = Type((d.new([3] * 8),), "float32")
    mul = {"spell": "{0} * {1}", "cdt": "float32"}
    ops = [Op("multiply", (Lit(0.0), "x0"), mul, ("e",), (t,)),
           Op("power", (Lit(-2), "e"), {"spell": "{0} ** {1}", "cdt": "float32"}, ("o",),
              (t,))]
    prog = Program("prog_0", [_Given("x0", t, "normal", 0,
                                     value=np.array([0.5, -1.0, 2.0], np.float32))],
                   ops, ["o"], d, "float32", types={"x0": t, "e": t, "o": t})
    import funcgrad as fg
    import funcgrad.numpy as fnp
    g = fg.grad(lambda v: fnp.sum((-2) ** (0.0 * v)))(np.ones(3, np.float32))
    assert np.isnan(np.asarray(g)).all()
    entry = Entry(prog, Stack((), None, "grad"), 0)
    found = Batch([entry], 0).run("reference", "eager", insts=[0])
    assert not found, [str(f)[:300] for f in found]


def test_jvp_through_a_saturated_tanh_has_the_entering_tangents_floor():
    """Seed 20261938: the tangent of arccos(0.875 * tanh(tan(x))) at x = 1.697864 in
    float32. tan(x) = -7.83, tanh of it is -0.9999997 in float32, and 1 - tanh^2 =
    5.96e-7 is 6% below sech^2 (JAX computes it the same way); tan's slope of 62 enters
    it, and the output's tangent was 10% off, past the floor of 16 ulps per unit of
    direction. The floor now scales with the largest tangent entering a tanh, sigmoid,
    GRU or LSTM."""
    from fuzz.check import Entry, Stack
    from fuzz.program import Lit, Op, Program
    from fuzz.values import Dims, Type

    d = Dims()
    t = Type((d.new([2] * 8),), "float32")
    mul = {"spell": "{0} * {1}", "cdt": "float32"}
    ops = [Op("tan", ("x0",), {}, ("a",), (t,)), Op("tanh", ("a",), {}, ("b",), (t,)),
           Op("multiply", ("b", Lit(0.875)), mul, ("c",), (t,)),
           Op("arccos", ("c",), {}, ("o",), (t,))]
    prog = Program("prog_0", [_Given("x0", t, "normal", 0,
                                     value=np.array([1.697864, 1.6977], np.float32))],
                   ops, ["o"], d, "float32", types={"x0": t, "a": t, "b": t, "c": t, "o": t})
    for seed in range(4):
        entry = Entry(prog, Stack((), None, "jvp"), seed)
        found = Batch([entry], 0).run("reference", "eager", insts=[0])
        assert not found, [str(f)[:300] for f in found]


def test_finite_difference_runs_take_the_base_runs_branch():
    """Seed 20261938: a cond on sum(maximum(v * v, v * v + 0.25)) > 0 with v = sort(pad(x,
    mode='wrap')), whose true branch returns sin(silu(x) ** 2) and whose false branch its
    cummax. The wrap padding repeats every value, and the finite-difference runs mark a
    sort's exact ties unchecked with NaN (_ties_undefined): the sum was NaN, NaN > 0 is
    False, and those runs took the false branch, so the gradient expected was cummax's
    (-4.45 where funcgrad's, the true branch's, is -0.85). A finite-difference run whose
    predicate differs from the base run's now leaves the cond's outputs unchecked."""
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Lit, Op, Program
    from fuzz.values import Dims, Type

    x = np.array([[-0.3086845], [-0.81647706], [0.59748375], [0.58903885], [-1.10031974],
                  [-1.3864187], [0.53332961], [0.8614561]], np.float32)
    d = Dims()
    n, one, r, c, flat = (d.new([k] * 8) for k in (8, 1, 11, 3, 33))
    t, tp, tf = Type((n, one), "float32"), Type((r, c), "float32"), Type((flat,), "float32")
    ts, tb = Type((), "float32"), Type((), "bool")
    f32 = {"cdt": "float32"}
    true_b = Program("branch22", [], [], ["o20"], d, "float32", args=[("o20", t), ("o21", tf)],
                     types={"o20": t, "o21": tf})
    false_b = Program("branch32", [], [Op("cummax", ("o23",), {"fn": "cummax", "axis": 0,
                                                                 "reverse": False},
                                          ("v31",), (t,))],
                      ["v31"], d, "float32", args=[("o23", t), ("o24", tf)],
                      types={"o23": t, "o24": tf, "v31": t})
    ops = [Op("silu", ("x0",), {}, ("v2",), (t,)),
           Op("pad", ("x0",), {"mode": "wrap", "widths": ((2, 1), (1, 1))}, ("v3",), (tp,)),
           Op("sort", ("v3",), {"axis": None, "descending": False}, ("v7",), (tf,)),
           Op("multiply", ("v2", "v2"), {"spell": "{0} * {1}", **f32}, ("v8",), (t,)),
           Op("sin", ("v8",), {}, ("v11",), (t,)),
           Op("multiply", ("v7", "v7"), {"spell": "{0} * {1}", **f32}, ("v12",), (tf,)),
           Op("add", ("v12", Lit(0.25)), {"spell": "{0} + {1}", **f32}, ("v13",), (tf,)),
           Op("maximum", ("v12", "v13"), {"spell": "fnp.maximum({0}, {1})", **f32}, ("v16",),
              (tf,)),
           Op("sum", ("v16",), {"axis": None, "keepdims": False}, ("v18",), (ts,)),
           Op("greater", ("v18", Lit(0.0)), {"spell": "{0} > {1}", **f32}, ("v19",), (tb,)),
           Op("cond", ("v19", "v11", "v12"), {"true": true_b, "false": false_b}, ("v33",),
              (t,))]
    types = {"x0": t, "v2": t, "v3": tp, "v7": tf, "v8": t, "v11": t, "v12": tf, "v13": tf,
             "v16": tf, "v18": ts, "v19": tb, "v33": t}
    prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=x)], ops, ["v33"], d,
                   "float32", types=types)
    for deriv in ("grad", "jvp"):
        entry = Entry(prog, Stack((), None, deriv), 0)
        build_case(entry, 0, 0)
        found = Batch([entry], 0).run("reference", "eager", insts=[0])
        assert not found, [str(f)[:300] for f in found]


def test_lgamma_of_minus_infinity_is_plus_infinity():
    """Seed 20261939: lax.lgamma(-inf) is +inf in funcgrad, as C's lgamma, XLA's and JAX's;
    SciPy's gammaln, the oracle, gives -inf."""
    from fuzz.check import Entry, Stack
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    d = Dims()
    t = Type((d.new([3] * 8),), "float32")
    prog = Program("prog_0", [_Given("x0", t, "normal", 0,
                                     value=np.array([-np.inf, 2.5, -0.5], np.float32))],
                   [Op("lgamma", ("x0",), {}, ("o",), (t,))], ["o"], d, "float32",
                   types={"x0": t, "o": t})
    entry = Entry(prog, Stack((), None, None), 0)
    found = Batch([entry], 0).run("reference", "eager", insts=[0])
    assert not found, [str(f)[:300] for f in found]

def test_logistic_below_the_normal_range_is_a_subnormal():
    """Seed 20261933 (long run): silu(log1p(x) * -17) at -710.74 in float64. SciPy's expit,
    the oracle's logistic until then, is 1 / (1 + exp(710.74)) = 0 there, so silu's expected
    value was -0.0; funcgrad's stable logistic (exp(x) / (1 + exp(x)) below 0) gives the
    subnormal 2.1e-309 and silu -1.5e-306, the right value, 70 times the smallest normal
    the tolerance allows. The oracle computes the logistic in that stable form now."""
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    d = Dims()
    t = Type((d.new([8] * 8),), "float64")
    row = np.array([-710.7409694158073, -709.5, -720.0, 0.5, 3.0, -2.0, 0.0, -745.0])
    prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=row)],
                   [Op("silu", ("x0",), {}, ("out",), (t,))], ["out"], d, "float64",
                   types={"x0": t, "out": t}, x64=True)
    entry = Entry(prog, Stack((), None, None), 0)
    want = row * np.exp(row) / (1 + np.exp(row))     # (exp(x) is tiny: 1 + it is 1)
    assert want[0] < -1e-306 and want[2] < 0 and want[7] < 0
    for seed in range(3):
        ve = build_case(entry, 0, seed).expect[0]
        assert ve.stable.all(), ve.stable
        np.testing.assert_allclose(ve.value, want, rtol=1e-15, atol=0)
    found = Batch([entry], 0).run("reference", "eager", insts=[0])
    assert not found, [str(f)[:300] for f in found]


def test_scatter_multiply_whose_partial_products_may_overflow_is_unstable():
    """Seed 20261929 (long run): `v.at[:, i].multiply(u)` with four updates reaching one
    element, 4.18e7 * 6.0e21 * -0.0606 * 3.64e14 * 1.54e-7. The oracle multiplies in
    float64 (-8.5e35, a float32 number); float32 in update order overflows at the fourth
    factor and gives -inf, as JAX does and both funcgrad backends did. An element that some
    order's partial product takes out of the normal range (above the largest float or
    below the smallest normal) is unstable now; one whose products stay in range, and one
    with a single update, is still checked."""

    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    f32 = "float32"
    d = Dims()
    n, m = d.new([4] * 8), d.new([6] * 8)
    tx, tu, ti = Type((n,), f32), Type((m,), f32), Type((m,), "int32")
    at = Op("at", ("x0", "x1", "x2"), {"method": "multiply", "axis": 0, "kind": "array",
                                       "slice": None}, ("v3",), (tx,))
    u = np.array([6.0022642e21, -0.0606, 3.6447062e14, 1.5375623e-07, 1e-30, 3.0],
                 np.float32)
    inputs = [_Given("x0", tx, "normal", 0,
                    value=np.array([4.1836836e7, 2.0, 1e-10, -1.0], np.float32)),
              _Given("x1", tu, "normal", 0, value=u),
              _Given("x2", ti, "index", 0, kind="index", bound=n,
                    value=np.array([0, 0, 0, 0, 2, 1], np.int32))]
    prog = Program("prog_0", inputs, [at], ["v3"], d, f32,
                   types={"x0": tx, "x1": tu, "x2": ti, "v3": tx})
    entry = Entry(prog, Stack((), None, None), 0)
    acc = np.float32(4.1836836e7)
    with np.errstate(over="ignore"):
        for v in u[:4]:
            acc = np.float32(acc * v)
    assert acc == -np.inf
    for seed in range(4):
        ve = build_case(entry, 0, seed).expect[0]
        # element 0: overflows in update order; element 2: 1e-10 * 1e-30 is subnormal in
        # float32 but a single update (one rounding); 1 and 3 keep a few ulps
        assert not ve.stable[0] and ve.stable[1:].all(), ve.stable
        assert ve.tol[1] < 1e-4 and ve.tol[2] < 1e-14, ve.tol
    found = Batch([entry], 0).run("reference", "eager", insts=[0])
    assert not found, [str(f)[:300] for f in found]


def test_scatter_add_error_model_covers_repeated_indices():
    """Seed 20261214 (long run) 11:54 #2: `cbrt(x).at[:, i].add(u)` with i repeating an
    index: 1.13e-07 + -1.0 + 1.0 is 1.19e-07 in float32 in any order (JAX and funcgrad add in
    update order), but the error model scaled with the result (tolerance 6.8e-13). An
    element that k updates reach is now a (k + 1)-term sum: (k + 1) eps (|base| +
    sum |updates|); an element with one update keeps its tight bound."""

    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    f32 = "float32"
    d = Dims()
    n, m = d.new([4] * 8), d.new([3] * 8)
    tx, tu, ti = Type((n,), f32), Type((m,), f32), Type((m,), "int32")
    at = Op("at", ("x0", "x1", "x2"), {"method": "add", "axis": 0, "kind": "array",
                                       "slice": None}, ("v3",), (tx,))
    inputs = [_Given("x0", tx, "normal", 0,
                    value=np.array([1.1311175e-07, 2.0, 3.0, -1.0], np.float32)),
              _Given("x1", tu, "normal", 0, value=np.array([-0.5, 0.5, 0.25], np.float32)),
              _Given("x2", ti, "index", 0, kind="index", bound=n,
                    value=np.array([0, 0, 1], np.int32))]
    prog = Program("prog_0", inputs, [at], ["v3"], d, f32,
                   types={"x0": tx, "x1": tu, "x2": ti, "v3": tx})
    entry = Entry(prog, Stack((), None, None), 0)
    # the float32 sum in update order (JAX's and funcgrad's)
    got = np.float32(np.float32(np.float32(1.1311175e-07) - np.float32(0.5)) + np.float32(0.5))
    assert got == np.float32(1.1920929e-07)
    for seed in range(4):
        ve = build_case(entry, 0, seed).expect[0]
        assert ve.stable.all()
        assert abs(float(got) - ve.value[0]) <= ve.tol[0], ve.tol
        # one update (2.0 + 0.25) and none keep the old bound (a few ulps, times the
        # spread factor)
        assert ve.tol[1] < 1e-5 and ve.tol[2] < 1.5e-5 and ve.tol[3] < 5e-6, ve.tol
    found = Batch([entry], 0).run("reference", "eager", insts=[0])
    assert not found, [str(f)[:300] for f in found]


def _overflow_entry(x, seed, stack, tail):
    """An entry: a reverse scan of 17 steps c -> c * c + 0.5 from the float32 carry `x`
    (shape (n, 1)), its stacked carries through `tail` ("log2": log2(v * v + 0.25) as in
    seed 20261302 #2; "log_sigmoid": log_sigmoid(v), the squares of #1)."""
    from fuzz.check import Entry
    from fuzz.program import Lit, Op, Program
    from fuzz.values import Dims, Type

    f32 = "float32"
    d = Dims()
    n, k, one = d.new([x.shape[0]] * 8), d.new([17] * 8), d.new([1] * 8)
    tc, ty = Type((n, one), f32), Type((k, n, one), f32)

    def binop(name, a, b, out, t):
        spell = {"add": "{0} + {1}", "multiply": "{0} * {1}"}[name]
        return Op(name, (a, b), {"spell": spell, "cdt": f32}, (out,), (t,))

    body = Program("body1", [], [binop("multiply", "c", "c", "v2", tc),
                                 binop("add", "v2", Lit(0.5), "v3", tc)],
                   ["v3", "v3"], d, f32, args=[("c", tc)], types={"v2": tc, "v3": tc})
    ops = [Op("scan", ("x0",), {"body": body, "reverse": True, "length": 17},
              ("v4", "v5"), (tc, ty))]
    types = {"x0": tc, "v4": tc, "v5": ty}
    if tail == "log2":
        ops += [binop("multiply", "v5", "v5", "v6", ty), binop("add", "v6", Lit(0.25), "v7", ty),
                Op("log2", ("v7",), {}, ("v8",), (ty,))]
    else:
        ops += [Op("log_sigmoid", ("v5",), {}, ("v8",), (ty,))]
    types.update({v: ty for v in ("v6", "v7", "v8")})
    prog = Program("prog_0", [_Given("x0", tc, "normal", 0, value=x)], ops, ["v8"], d, f32,
                   types=types)
    return Entry(prog, stack, seed)


@pytest.mark.parametrize("tail,vmap", [("log2", False), ("log_sigmoid", True)])
def test_a_tangent_through_a_float32_overflow_may_be_nonfinite(tail, vmap):
    """Seed 20261302 #2: a reverse scan iterates c -> c * c + 0.5 on float32 and its stacked
    carries v go through log2(v * v + 0.25). Where v = 1.6e19, v * v = 2.5e38 is finite but
    the tangent's 2 v dv = 1.3e41 is not: funcgrad and JAX 0.10.2 give -inf where the
    float64 central difference is -726.8. #1 (vmap+jvp): log_sigmoid of a carry squared
    past float32's range is 0 with tangent sigmoid(-inf) * inf = NaN in both, where the
    central difference is 0.0. Elements that such a value reaches may now be non-finite
    (check.overflowed); finite tangents there, and every other element, are still
    compared."""
    from fuzz.batch import Batch
    from fuzz.check import Stack, build_case
    x = np.linspace(-1.2, 1.2, 64, dtype=np.float32).reshape(64, 1)
    vm = {"in_axes": (1,), "out_axes": -1, "size": 2, "outer": False} if vmap else None
    e = _overflow_entry(x, 0, Stack((), vm, "jvp"), tail)
    tangent = build_case(e, 0, e.seed).expect[1][0]
    ok = tangent.stable & tangent.nonfinite_ok
    assert ok.any() and (tangent.stable & ~tangent.nonfinite_ok).any()
    found = Batch([e], 0).run("reference", "eager", insts=[0])
    assert not found, [f.detail for f in found]


def test_a_tangent_through_std_of_a_constant_slice_may_be_nonfinite():
    """Seed 20261913 #1: nanstd over an axis of length 1 (a constant slice: std 0, where
    sqrt's derivative is infinite) has tangent 0 * inf = NaN in JAX 0.10.2 and funcgrad,
    where the central difference is 0.0. The outputs of an op at such a singular point
    (ops.SINGULAR) may now be non-finite in a jvp; a NaN planted where nothing is singular
    is still reported (test below)."""
    from fuzz.batch import Batch
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type
    d = Dims()
    one, n = d.new([1] * 8), d.new([9] * 8)
    t, r = Type((one, n), "float64"), Type((one, n), "float64")
    x = np.linspace(-1.5, 1.5, 9).reshape(1, 9)
    prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=x)],
                   [Op("nanstd", ("x0",), {"axis": -2, "keepdims": True, "ddof": 0},
                       ("out",), (r,))], ["out"], d, "float64",
                   types={"x0": t, "out": r}, x64=True)
    e = Entry(prog, Stack((), None, "jvp"), 0)
    tangent = build_case(e, 0, e.seed).expect[1][0]
    assert tangent.nonfinite_ok is not None and tangent.nonfinite_ok.all()
    found = Batch([e], 0).run("reference", "eager", insts=[0])
    assert not found, [f.detail for f in found]


def test_a_nonfinite_tangent_with_every_value_in_range_is_still_reported(monkeypatch):
    """The rule above excuses only elements an out-of-range value reaches: with the carries
    kept in range (17 steps' worth of squares from |x| <= 0.6), a planted NaN in log's JVP
    rule is reported, and so is one where the overflow does not reach (the first rows)."""
    from fuzz.batch import Batch
    from fuzz.check import Stack

    from funcgrad import core
    from funcgrad.prims.elementwise import log_p
    real = core.jvp_rules[log_p]

    def wrong(primals, tangents, **params):
        ans, t = real(primals, tangents, **params)
        return ans, t * np.float32(np.nan)
    small = np.linspace(-0.6, 0.6, 8, dtype=np.float32).reshape(8, 1)
    big = np.linspace(-1.2, 1.2, 64, dtype=np.float32).reshape(64, 1)
    for x in (small, big):
        e = _overflow_entry(x, 0, Stack((), None, "jvp"), "log2")
        assert not Batch([e], 0).run("reference", "eager", insts=[0])
        with monkeypatch.context() as m:
            m.setitem(core.jvp_rules, log_p, wrong)
            found = Batch([e], 0).run("reference", "eager", insts=[0])
        assert {f.kind for f in found} == {"grad"}, [f.detail for f in found]


def test_integer_product_oracle_wraps_as_the_result_type():
    # seed 20261302: with x64 on, an int32 product is int64 (NumPy's and JAX's default
    # int) and wraps at 64 bits; the oracle wrapped it at 32 and expected 0 where funcgrad,
    # NumPy and JAX give -1600748192553500672.
    from fuzz import ops
    rng = np.random.default_rng(0)
    x = rng.integers(-2**31, 2**31, (3, 49)).astype(np.int64)
    with np.errstate(over="ignore"):
        want64 = np.prod(x, axis=1)
    np.testing.assert_array_equal(ops._int_prod(x, (1,), False, wide=True), want64)
    want32 = np.prod(x.astype(np.int32), axis=1, dtype=np.int32)
    np.testing.assert_array_equal(ops._int_prod(x, (1,), False), want32.astype(np.int64))


def test_while_loop_source_counts_in_int32_with_x64_on(monkeypatch):
    # seed 20261401: the generator types a while loop's counter as int32, but its source
    # started it at a bare 0, which is int64 with x64 on; a body returning `fmod(i, 3)` into
    # an int32 carry then changed the carry's type, and funcgrad (as JAX) raised TypeError.
    import funcgrad as fg
    import funcgrad.numpy as fnp
    from fuzz import ops_control
    from funcgrad import lax

    class Body:
        name = "loop1"
    monkeypatch.setattr(ops_control, "_body_src", lambda body, ind: [
        f"{ind}def loop1(i, v):", f"{ind}    return (fnp.fmod(i, 3),)"])
    pre, expr = ops_control._loop_src(
        ["x"], {"body": Body(), "kind": "while", "n": 2, "bound": None}, None, "")
    env = {"fnp": fnp, "lax": lax, "x": np.asarray(5, np.int32)}
    with fg.config.override("jax_enable_x64", True):
        exec("\n".join(pre), env)
        out = eval(expr, env)
    assert out.dtype == np.int32 and int(out) == 1


def test_cumprod_oracle_leaves_inf_times_an_underflowed_product_open():
    # seed 20261401: jnp.cumprod's partial products in another order than NumPy's may
    # underflow to 0 before meeting an infinite operand: NaN there, where the sequential
    # inf * 6e-8 is inf (funcgrad's doubling scan gave NaN at 318 elements of a float16
    # cumprod). The oracle leaves those elements open (a NaN error) and checks the rest.
    from fuzz import ops_array

    class Op:
        params = {"fn": "cumprod", "axis": 0}

    class T:
        dtype = "float16"
    def _cum_err_of(values):
        x = np.array(values, np.float16)
        with np.errstate(all="ignore"):
            out = np.cumprod(x.astype(np.float64))
        return ops_array._cum_err([x], out, Op(), T(), None)
    err = _cum_err_of([0.5, 0.9, np.inf, 0.496, 5.96e-08, 5.96e-08, 0.7])
    # from position 4 on, 0.496 * 5.96e-08 underflows float16 in a tree's order
    assert not np.isnan(err[:4]).any() and np.isnan(err[4:]).all(), err
    finite = _cum_err_of([0.5, 0.9, 0.8, 0.496, 5.96e-08, 5.96e-08, 0.7])
    assert not np.isnan(finite).any(), finite      # no infinity: checked as before


@pytest.mark.parametrize("name", ["minimum", "maximum", "add", "less"])
def test_lax_spellings_only_get_operands_of_the_result_dtype(name):
    # seed 20261505: beside a fori_loop's weakly typed int32 index the generator spelled
    # `lax.min(i, 0.1)`, a TypeError in JAX as in funcgrad (lax functions do not promote).
    from fuzz.generate import Builder, Reject
    from fuzz.ops import OPS
    from fuzz.values import I32, WEAK_FLOAT, WEAK_INT, Type
    from hypothesis import given, settings
    from hypothesis import strategies as st

    seen = []

    @settings(max_examples=300, deadline=None, database=None)
    @given(st.data())
    def check(data):
        b = Builder(data.draw, "float32", False, "value")
        b.types["i"] = Type((), I32, weak=True)
        b.pool.append("i")
        try:
            OPS[name].gen(b, name)
        except Reject:
            return
        for op in b.ops:
            if op.params["spell"].startswith("lax."):
                seen.append(op)
                for a in op.args:
                    dt = (WEAK_INT if isinstance(a.value, int) else WEAK_FLOAT) \
                        if not isinstance(a, str) else b.types[a].dtype
                    assert dt in (WEAK_INT, WEAK_FLOAT, op.params["cdt"]), (op, b.types)
    check()
    assert seen, "no lax spelling generated"


def test_a_subnormal_result_is_a_subnormal_spacing_off():
    """Seed 20261601: deg2rad of float16 values whose results are subnormal, then astype
    float32. JAX and funcgrad multiply by float16(pi/180) and round: 1 ulp (2^-24) from the
    correctly rounded value. The oracle's errors were relative (2 ulps of 4.8e-7 is 9e-10),
    so every perturbation rounded away, the float32 output looked exact and funcgrad's
    value was reported. An op's error is now at least its ulps of subnormal spacing."""
    from fuzz.batch import Batch
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    import funcgrad.numpy as fnp

    # funcgrad's and JAX's results (-9 and 16 subnormal spacings) are 1 spacing from the
    # correctly rounded ones (-8 and 15)
    x = np.array([-2.9027e-05, 5.2929e-05, 1e-3, 0.0], np.float16)
    d = Dims()
    t16 = Type((d.new([4] * 8),), "float16")
    t32 = t16.with_(dtype="float32")
    prog = Program("prog_0", [_Given("x0", t16, "normal", 0, value=x)],
                   [Op("deg2rad", ("x0",), {}, ("r",), (t16,)),
                    Op("astype", ("r",), {"dtype": "float32"}, ("o",), (t32,))],
                   ["o"], d, "float16", types={"x0": t16, "r": t16, "o": t32})
    e = Entry(prog, Stack((), None, None), 0)
    ve = build_case(e, 0, e.seed).expect[0]
    got = np.asarray(fnp.deg2rad(x).astype(np.float32), np.float64)
    sub = float(np.finfo(np.float16).smallest_subnormal)
    assert np.abs(got[:2] - ve.value[:2]).max() == sub       # the case: 1 spacing off
    assert (np.abs(got - ve.value) <= ve.tol).all(), (got, ve.value, ve.tol)
    assert ve.tol[3] < sub                                   # an exact 0 stays exact
    found = Batch([e], 0).run("reference", "jit", insts=[0])
    assert not found, [f.failure.detail for f in found]


def test_errors_that_cancel_in_every_sampled_run_leave_the_element_unchecked():
    """Seed 20261601: x - tanh(x) in float64. The subtraction's error (relative to its
    operands) is as large as tanh's, so where their random signs were opposite in all
    three perturbed runs (1 element in 8) and in the same-sign corners (where they cancel
    too) the tolerance came out 40x below tanh's 4 ulps, and C's vectorised tanh, 1.5 ulps
    off, was reported. A corner where consecutive ops err in opposite directions now shows
    such an element moving, so it is not compared; every element compared has a tolerance
    of at least tanh's error."""
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    x = np.array([0.18708570051303516, 0.5, -0.3, 0.9, -0.7, 0.25, 1.1, -0.05])
    d = Dims()
    t = Type((d.new([8] * 8),), "float64")
    prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=x)],
                   [Op("tanh", ("x0",), {}, ("t",), (t,)),
                    Op("subtract", ("x0", "t"), {"spell": "fnp.subtract({0}, {1})",
                                                 "cdt": "float64"}, ("o",), (t,))],
                   ["o"], d, "float64", types={"x0": t, "t": t, "o": t})
    tanh_err = 4 * np.finfo(np.float64).eps * np.abs(np.tanh(x))
    unchecked = 0
    for seed in range(8):
        ve = build_case(Entry(prog, Stack((), None, None), seed), 0, seed).expect[0]
        assert (ve.tol[ve.stable] >= tanh_err[ve.stable]).all(), (seed, ve.tol, ve.stable)
        unchecked += int((~ve.stable).sum())
    assert 0 < unchecked < 8 * 8 / 2, unchecked      # about one in eight


def test_integer_product_oracle_with_an_empty_kept_axis():
    # seed 20261602: prod over axis 2 of an int32 (1, 0, 3) crashed the oracle (a reshape
    # to (1, 0, -1) cannot infer -1); the product of nothing kept is an empty result, of an
    # empty reduced axis 1
    from fuzz.ops import _int_prod
    x = np.ones((1, 0, 3), np.int32)
    assert _int_prod(x, (2,), False).shape == (1, 0)
    assert _int_prod(x, (2,), True).shape == (1, 0, 1)
    np.testing.assert_array_equal(_int_prod(np.zeros((2, 0), np.int32), (1,), False), [1, 1])
    np.testing.assert_array_equal(_int_prod(np.arange(1, 7).reshape(2, 3), (1,), False),
                                  [6, 120])


def test_fuzzer_checks_segment_reductions(monkeypatch):
    """Entries with funcgrad.ops.segment_sum/max/min agree with the oracle (ids outside
    [0, num_segments) dropped, negative ones too; empty segments hold the identity) and
    disagree once segment_max reads every id one segment later."""
    import funcgrad as fg
    entries = _agreeing(sample_entries(seed=1, n=6, only=("segment",)))
    kinds = {o.params["kind"] for e in entries for o in e.prog.ops if o.name == "segment"}
    assert kinds == {"sum", "max", "min"}, kinds
    real = fg.ops.segment_max
    monkeypatch.setattr(fg.ops, "segment_max", lambda d, ids, num_segments=None, **k:
                        real(d, ids + 1, num_segments=num_segments, **k))
    planted = Batch(entries, 0).run("reference", "eager", insts=[0])
    with_max = {k for k, e in enumerate(entries)
                if any(o.name == "segment" and o.params["kind"] == "max" for o in e.prog.ops)}
    assert with_max and with_max <= {f.index for f in planted}


def test_count_nonzero_of_a_value_within_its_error_of_zero_is_unstable():
    """Seed 20261922 (long run): argmin over the batch of count_nonzero of a
    causal-attention output that is 0 by exact cancellation (p * 1.5 + p * -1.5), where the
    C backend's float32 GEMM leaves an FMA residue of -1.49e-08. The perturbed runs lost
    the 0, and the uniform unsettle stepped every count towards 0 alike, so argmin kept
    the base run's order and funcgrad's answer was reported. A lane of count_nonzero, any
    or all holding an element that may count either way (lost, or within its drift or own
    error bound of 0) now takes the base run's result with those elements flipped; lanes
    of exact values stay checked, and so does an argmin they decide."""

    from fuzz.batch import Batch
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Lit, Op, Program
    from fuzz.values import Dims, Type

    d = Dims()
    rows, cols = d.new([2] * 8), d.new([2] * 8)
    t = Type((rows, cols), "float32")
    pre = [Op("floor", ("x0",), {}, ("f",), (t,)),
           Op("exp", ("x0",), {"spell": "fnp.exp({0})", "cdt": "float32"}, ("e1",), (t,)),
           Op("exp", ("f",), {"spell": "fnp.exp({0})", "cdt": "float32"}, ("e2",), (t,)),
           Op("subtract", ("e1", "e2"), {"spell": "{0} - {1}", "cdt": "float32"}, ("s",),
              (t,))]
    tb = t.with_(dtype="bool")
    ti = Type((), "int32")

    def entry(x, a, ops):
        """exp(x) - exp(floor(x)) is exactly 0 at an integer x, within its error bound of 0,
        and exactly 0 with no error where both exps underflow (x = -200.5)."""
        types = {"x0": t, "f": t, "e1": t, "e2": t, "s": t, "c": tb, "m": ti}
        for name in ("count_nonzero", "any", "all"):
            types["n_" + name] = Type((rows,), "int32" if name == "count_nonzero" else "bool")
        ops = ops + [Op(name, (a,), {"axis": 1, "keepdims": False}, ("n_" + name,),
                        (types["n_" + name],)) for name in ("count_nonzero", "any", "all")]
        ops += [Op("argmin", ("n_count_nonzero",), {"axis": 0, "keepdims": False}, ("m",),
                   (ti,)),
                Op("equal", (a, Lit(0.0)), {"spell": "{0} == {1}", "cdt": "float32"}, ("c",),
                   (tb,))]
        outs = ["n_count_nonzero", "n_any", "n_all", "m", "c"]
        prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=x)], ops, outs, d,
                       "float32", types=types)
        return Entry(prog, Stack((), None, None), 0)

    x = np.array([[1.0, 1.5], [-200.5, 1.5]], np.float32)
    e = entry(x, "s", pre)
    ve = build_case(e, 0, e.seed).expect
    assert [v.value.tolist() for v in ve[:4]] == [[1, 1], [True, True], [False, False], 0]
    # row 0 may count its 0 either way, row 1 may not; any of row 0 has its 1.76 anyway
    for v, want in zip(ve[:3], ([False, True], [True, True], [False, True])):
        assert v.stable.tolist() == want, v.stable
    assert not ve[3].stable           # 2 > 1 in row 0 makes argmin 1
    assert ve[4].stable.tolist() == [[False, True], [True, True]], ve[4].stable
    found = Batch([e], 0).run("reference", "eager", insts=[0])
    assert not found, [f.failure.detail for f in found]
    # exact values decide: no 0 within reach in either row, or an exact floor
    for x, a, ops in ((np.array([[-200.5, 1.5], [-200.5, 1.5]], np.float32), "s", pre),
                      (np.array([[1.0, 1.5], [-200.5, 0.0]], np.float32), "f", pre[:1])):
        ve = build_case(entry(x, a, ops), 0, 0).expect
        assert all(np.all(v.stable) for v in ve), [v.stable for v in ve]


def test_an_order_among_nans_is_unstable():
    """Seed 20261924 (long run): lax.top_k of softplus(arccos(x)) with every x outside
    [-1, 1]. The C backend's vectorised acos gives -NaN and its scalar tail +NaN, and
    top_k orders NaNs by their sign (XLA's total order): index 8 came first. The oracle
    gave every NaN of a run one sign, so the index order never changed and was checked.
    The sign of a NaN is undefined element by element too: in the random runs each NaN
    now takes its own, and an order among NaNs is unstable; an order of numbers is not."""

    from fuzz.batch import Batch
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    d = Dims()
    n = d.new([9] * 8)
    t = Type((n,), "float32")
    k = d.new([5] * 3)
    tv, ti = Type((k,), "float32"), Type((k,), "int32")

    def entry(x):
        ops = [Op("arccos", ("x0",), {"spell": "fnp.arccos({0})", "cdt": "float32"}, ("a",),
                  (t,)),
               Op("top_k", ("a",), {"k": 5}, ("v", "i"), (tv, ti))]
        prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=x)], ops, ["i"], d,
                       "float32", types={"x0": t, "a": t, "v": tv, "i": ti})
        return Entry(prog, Stack((), None, None), 0)

    e = entry(np.array([3, 25, 14, 7, 23, 10, 30, 17, 35], np.float32))
    ve = build_case(e, 0, e.seed).expect[0]
    assert ve.value.tolist() == [0, 1, 2, 3, 4] and not ve.stable.any(), ve.stable
    found = Batch([e], 0).run("c", "jit", insts=[0])
    assert not found, [f.failure.detail for f in found]
    # numbers keep their order: arccos of distinct values in [-1, 1]
    ve = build_case(entry(np.linspace(-0.9, 0.9, 9).astype(np.float32)), 0, 0).expect[0]
    assert ve.value.tolist() == [0, 1, 2, 3, 4] and ve.stable.all(), ve.stable


def test_attention_with_an_infinite_value_under_a_weight_that_may_be_zero_is_anything():
    """Seed 20261924 (long run): float64 attention whose two top scores (2.8e253) tie
    within their rounding, over a value row holding +inf. NumPy's weights are 0.5 / 0.5
    and the output inf; funcgrad's reference backend rounded the tie one-hot, and 0 * inf
    gave NaN. The error model bounded the output by the spread of v's finite values and
    kept inf as checked. Where a weight may be exactly 0 or not and its row of v holds an
    infinity, the output is now anything (unstable); with small scores it stays inf."""

    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    d = Dims()
    one = [d.new([1] * 8) for _ in range(3)]
    two = d.new([2] * 8)
    tq, tk = Type((one[0], one[1], one[2]), "float64"), Type((one[0], two, one[2]), "float64")

    def entry(scale):
        q = np.array([[[scale]]])
        k = np.array([[[scale], [scale]]])
        v = np.array([[[np.inf], [1.0]]])
        given = [_Given("q", tq, "normal", 0, value=q), _Given("k", tk, "normal", 0, value=k),
                 _Given("v", tk, "normal", 0, value=v)]
        op = Op("attention", ("q", "k", "v"), {"causal": False, "D": 1}, ("o",), (tq,))
        prog = Program("prog_0", given, [op], ["o"], d, "float64",
                       types={"q": tq, "k": tk, "v": tk, "o": tq})
        return Entry(prog, Stack((), None, None), 0)

    ve = build_case(entry(1e127), 0, 0).expect[0]
    assert np.isinf(ve.value).all() and not ve.stable.any(), (ve.value, ve.stable)
    ve = build_case(entry(1.0), 0, 0).expect[0]
    assert np.isinf(ve.value).all() and ve.stable.all(), (ve.value, ve.stable)


def test_a_kink_of_one_element_leaves_the_loss_of_a_gradient_check():
    """Seed 20261925 (long run): a float64 loss over 32768 elements of fmax(x, x**2) (with
    fmod, sin, cos of it), where one x was 1.0000089: the tie of fmax at x = 1 lay within
    a step of the central difference. The loss's smoothness test weighs a kink against the
    slope of the whole sum: the step changed its slope by 3 in 8700, under the test's
    2e-3, and the central difference then missed funcgrad's gradient (JAX's to 1e-13) by
    3x the tolerance. Elements that are not smooth along the direction now leave the loss
    (its mask) before the central difference, so the rest is still compared."""
    from fuzz.batch import Batch
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type
    d = Dims()
    t = Type((d.new([64] * 8),), "float64")
    x = np.linspace(1.5, 2.5, 64)
    x[7] = 1.0                                 # fmax(x, x * x) has its tie here
    ops = [Op("multiply", ("x0", "x0"), {"spell": "{0} * {1}", "cdt": "float64"}, ("sq",),
              (t,)),
           Op("fmax", ("x0", "sq"), {"spell": "fnp.fmax({0}, {1})", "cdt": "float64"},
              ("out",), (t,))]
    prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=x)], ops, ["out"], d,
                   "float64", types={"x0": t, "sq": t, "out": t}, x64=True)
    e = Entry(prog, Stack((), None, "grad"), 0)
    case = build_case(e, 0, e.seed)
    m = case.aux["m"][0]
    assert not m[7] and m.sum() == 63
    assert case.expect.dcs[0] is not None       # the other 63 are checked
    found = Batch([e], 0).run("reference", "jit", insts=[0])
    assert not found, [vars(f) for f in found]


def test_errors_of_two_ops_an_even_number_of_ops_apart_do_not_cancel_in_every_corner():
    """Seed 20261926 (long run): x2 - nanmax(log10(x0)) in float16, with other ops between
    log10 and the subtraction. Their errors (4 ulps of log10's 0.28, 2 of the difference's
    operands) cancel in the same-sign corners, and in the "alt" corner too when the two
    ops are an even number of ops apart; the random runs that cancelled as well left a
    tolerance of 1.9e-4, and funcgrad's log10 (JAX's: 0.280029 for 0.280273) 2.4e-4 off
    was reported. Corners that give the ops the signs of the bits of their order make any
    two ops err in opposite directions in one of them: every element compared now has a
    tolerance of at least log10's error."""
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type
    d = Dims()
    a, c = d.new([2] * 8), d.new([3] * 8)
    t0, t2, ts = Type((a,), "float16"), Type((a, c), "float16"), Type((), "float16")
    ops = [Op("log10", ("x0",), {"spell": "fnp.log10({0})", "cdt": "float16"}, ("l",), (t0,)),
           Op("floor", ("x2",), {}, ("f",), (t2,)),          # (an op between)
           Op("nanmax", ("l",), {"axis": None, "keepdims": False}, ("m",), (ts,)),
           Op("fmin", ("m", "x2"), {"spell": "fnp.fmin({0}, {1})", "cdt": "float16"}, ("n",),
              (t2,)),
           Op("subtract", ("n", "m"), {"spell": "{0} - {1}", "cdt": "float16"}, ("o",),
              (t2,))]
    x0 = np.array([1.906, 0.608], np.float16)
    x2 = np.array([[0.2164, 0.1, 0.25], [0.2, 0.2164, 0.15]], np.float16)
    prog = Program("prog_0", [_Given("x0", t0, "normal", 0, value=x0),
                              _Given("x2", t2, "normal", 0, value=x2)],
                   ops, ["o"], d, "float16",
                   types={"x0": t0, "x2": t2, "l": t0, "f": t2, "m": ts, "n": t2, "o": t2})
    log10_err = 4 * 2.0 ** -11 * np.log10(1.906)
    for seed in range(16):
        ve = build_case(Entry(prog, Stack((), None, None), seed), 0, seed).expect[0]
        assert (ve.tol[ve.stable] >= log10_err).all(), (seed, ve.tol, ve.stable)


def test_remainder_and_floor_divide_oracles_give_numpys_signs_of_zero():
    """Seed 20261940: atan2(r, r) of r = floor(mean(x)) % x in float16. funcgrad's `%` is
    NumPy's bit for bit, so 0.0 % -0.005 is -0.0 and atan2(-0.0, -0.0) is -pi; the oracle
    was JAX's fmod-based formula, whose zero keeps the dividend's sign (+0.0, so 0.0)."""
    from fuzz.check import Entry, Stack
    from fuzz.ops import _float_remainder, _jax_floor_divide
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    with np.errstate(all="ignore"):
        x = np.array([0.0, -3.0, 3.0, -0.0, 0.0, 7.0])
        y = np.array([-3.0, 1.0, -1.0, 3.0, 3.0, -0.5])
        r = _float_remainder(x, y)
        np.testing.assert_array_equal(np.signbit(r), [True, False, True, False, False, True])
        q = _jax_floor_divide(x, y)
        np.testing.assert_array_equal(np.signbit(q), [True, True, True, True, False, True])
    d = Dims()
    t = Type((d.new([6] * 8),), "float16")
    ops = [Op("remainder", ("x0", "x1"), {"spell": "fnp.remainder({0}, {1})",
                                          "cdt": "float16"}, ("r",), (t,)),
           Op("arctan2", ("r", "r"), {"spell": "fnp.arctan2({0}, {1})", "cdt": "float16"},
              ("o",), (t,))]
    prog = Program("prog_0", [_Given("x0", t, "normal", 0, value=x.astype(np.float16)),
                              _Given("x1", t, "normal", 1, value=y.astype(np.float16))],
                   ops, ["o"], d, "float16", types={"x0": t, "x1": t, "r": t, "o": t})
    found = Batch([Entry(prog, Stack((), None, None), 0)], 0).run("reference", "eager",
                                                                   insts=[0])
    assert not found, [str(f)[:300] for f in found]


def test_accumulations_allow_a_subnormal_spacing_per_term():
    """Seed 20261947 (long run): a float32 convolution's output of -2.5876e-41 (subnormal)
    came out -2.5878e-41 on the C backend's jit, its last bit from another order of the
    sums, and a matmul by 1.7e26 after it moved 1.2e-15 by 2e-19, 3,000 times the
    tolerance: the accumulations' error bounds were relative only (~1e-47 there). A product
    or partial sum in the subnormal range is rounded to the subnormal spacing, so each
    term may add one (`acc_subnormal`), and the result's own rounding another."""
    import types

    from fuzz import ops_array as OA
    from fuzz.program import SUBNORMAL
    t = types.SimpleNamespace(dtype="float32")
    a = np.array([[-2.5876377e-41, -7.1775393e-38]], np.float32)
    b = np.array([[1.6552743e26], [-4.2508986e22]], np.float32)
    out = (a.astype(np.float64) @ b.astype(np.float64)).astype(np.float32)
    err = OA._matmul_err([a, b], out, None, t, None)
    assert err[0, 0] < 1e-20                   # still far below the value's own size
    tiny = np.array([[-2.5876377e-41, 1.4e-45]], np.float32)
    one = np.ones((2, 1), np.float32)
    err = OA._matmul_err([tiny, one], tiny @ one, None, t, None)
    assert err[0, 0] >= 2 * float(SUBNORMAL["float32"]), err
    # an exact zero stays exact
    zero = np.zeros((1, 2), np.float32)
    assert OA._matmul_err([zero, one], zero @ one, None, t, None)[0, 0] == 0.0


def test_products_that_underflow_leave_the_sign_of_a_zero_sum_open():
    """Seed 20261958 (long run): a float64 NWC convolution of operands near 1e-308 has
    products below float64's range. The oracle's magnitude sum underflowed to 0, so the
    bound was exact and the expected +0.0 (NumPy's rounded products added); the C backend's
    fused multiply-adds give -0.0 (the exact sum's sign; JAX gives -0.0 for 15 of the 64
    outputs), and reciprocal() then -inf against +inf. Outputs with products of nonzero
    operands get subnormal spacings of error (`_dot_err`'s count): either sign of zero;
    an output whose products are all exact zeros stays exact."""
    import types

    from fuzz import ops_array as OA
    from fuzz.program import SUBNORMAL
    t = types.SimpleNamespace(dtype="float64")
    x = np.array([[[-3.9e-308], [2.1e-308], [0.0]]])          # NWC: 1 x 3 x 1
    w = np.array([[[1.1e-306]], [[-1.3e-308]]])                  # WIO: 2 x 1 x 1
    op = types.SimpleNamespace(params={"strides": (1,), "pads": ((0, 0),), "lhs_dil": (1,),
                                       "rhs_dil": (1,), "dn": ("NWC", "WIO", "NWC"),
                                       "groups": 1})
    out = OA._conv_ref([x, w], op.params, op, None, None)
    assert (out == 0).all()
    err = OA._conv_err([x, w], out, op, t, None)
    assert err[0, 0, 0] >= 2 * float(SUBNORMAL["float64"]), err
    zero = np.zeros_like(x)
    assert (OA._conv_err([zero, w], out, op, t, None) == 0).all()
    a, b = np.array([[1e-200, -1e-200]]), np.array([[1e-200], [1e-200]])
    assert OA._matmul_err([a, b], a @ b, None, t, None)[0, 0] > 0
    assert OA._matmul_err([a * 0, b], a @ b * 0, None, t, None)[0, 0] == 0


def test_a_sort_lane_holding_an_overflowing_sum_is_anything_downstream():
    """Fuzz run 47 (seed 20261947, finding 2): log10(argsort(v5, descending=True)) of a
    bfloat16 einsum whose sums meet an infinity and a finite product past float32's range
    (1e30 * 1e30). In float64 the lane is [inf, -inf, inf, inf, -inf]; funcgrad and JAX
    accumulate in float32, where that product is inf and the sum inf - inf = NaN:
    [inf, nan, inf, inf, nan], and the NaNs sort first. The einsum's error model gives
    those elements a NaN error ("any result"), and the perturbed runs lost them, but the
    argsort's result was only stepped one index towards 0 (every lane of the output
    alike), and log10 of a stepped index >= 2 stays finite: funcgrad's index 0 at the
    base run's index 3 (log10 -inf against 0.48) was reported. A lane holding a lost
    element is now "anything" in the run, its positions' indices marked (Perturb.lose), so
    that a float computed from them is NaN; the other lanes keep their order and stay
    checked (they were stepped too before). Also top_k's indices and take_along_axis of
    the argsort."""
    from fuzz.check import Entry, Stack, build_case
    from fuzz.program import Op, Program
    from fuzz.values import Dims, Type

    big = 1e30      # (first: funcgrad's reference sums in order, with FMAs)
    x3 = np.array([[[big, np.inf], [0.0, 0.5]]], np.float32).astype(ml_dtypes.bfloat16)
    x4 = np.array([[[1.0, big, 1.0, 1.0, big],
                    [1.0, -1.0, 2.0, 3.0, -2.0]]], np.float32).astype(ml_dtypes.bfloat16)
    d = Dims()
    one, two, five = d.new([1] * 8), d.new([2] * 8), d.new([5] * 8)
    t3, t4 = Type((one, two, two), "bfloat16"), Type((one, two, five), "bfloat16")
    t5, ti, tl = (Type((one, two, five), dt) for dt in ("bfloat16", "int32", "float32"))
    einsum = Op("einsum", ("x3", "x4"), {"spec": "...ij,...jk->...ik", "cdt": "bfloat16"},
                ("v5",), (t5,))
    types = {"x3": t3, "x4": t4, "v5": t5, "v6": ti, "v7": t5, "v15": tl}

    def entry(ops, out):
        prog = Program("prog_0", [_Given("x3", t3, "normal", 0, value=x3),
                                  _Given("x4", t4, "normal", 1, value=x4)],
                       [einsum, *ops], [out], d, "bfloat16", types=types)
        return Entry(prog, Stack((("jit",),), None, None), 0)

    argsort = Op("argsort", ("v5",), {"axis": -1, "descending": True}, ("v6",), (ti,))
    log10 = Op("log10", ("v6",), {}, ("v15",), (tl,))
    e = entry([argsort, log10], "v15")
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(build_case(e, 0, 0).expect[0].value[0],
                                   np.log10([[0, 2, 3, 1, 4], [3, 2, 0, 1, 4]]), rtol=1e-6)
    for seed in range(4):
        ve = build_case(e, 0, seed).expect[0]
        assert not ve.stable[0, 0].any(), ve.stable     # the lane that may be anything
        assert ve.stable[0, 1].all(), ve.stable         # its neighbour, exact in any order
        assert (ve.tol[0, 1] < 1e-5).all(), ve.tol         # (not stepped: not chaotic)
    for mode in ("eager", "jit"):
        found = Batch([e], 0).run("reference", mode, insts=[0])
        assert not found, [str(f)[:300] for f in found]
    # the indices themselves, top_k's, and what take_along_axis gathers with them
    top_k = Op("top_k", ("v5",), {"k": 5}, ("v8", "v9"), (t5, ti))
    gather = Op("take_along_axis", ("v5", "v6"), {"axis": -1}, ("v7",), (t5,))
    types.update(v8=t5, v9=ti)
    for ops, out in (([argsort], "v6"), ([top_k], "v9"), ([argsort, gather], "v7")):
        ve = build_case(entry(ops, out), 0, 0).expect[0]
        assert not ve.stable[0, 0].any() and ve.stable[0, 1].all(), (out, ve.stable)


_INDEX_OPS = ("gather", "at", "segment", "take_along_axis", "dynamic_slice",
              "dynamic_update_slice")


def test_index_inputs_take_every_integer_type():
    """Index inputs were int32 only, so the fuzzer could not see a bug of another index
    type (int8(-5) on an axis of 300 read element 0; a uint64 index of 2^63 + 5 read element
    0 on C and OpenCL). Over a few seeds they now take the narrow and unsigned types too,
    into axes longer than int8 and uint8 can index, some with the type's extremes; each
    input's values are of its type and within the op's span."""
    from fuzz.values import LONG_SIZES, NP, index_range

    seen, long_axes, extremes = set(), 0, 0
    for seed in range(3):
        for e in sample_entries(seed, 8, only=_INDEX_OPS):
            for inp in e.prog.inputs:
                if inp.kind != "index":
                    continue
                seen.add(inp.type.dtype)
                v = inp.values(e.prog.dims, 0)
                assert v.dtype == NP[inp.type.dtype], (v.dtype, inp.type.dtype)
                lo, hi = index_range(inp.type.dtype, inp.span)
                assert all(lo <= int(x) <= hi for x in v.reshape(-1)), (inp, v)
                long_axes += e.prog.dims.size(inp.bound, 0) in LONG_SIZES
                extremes += inp.extremes
    assert {"int32", "int8", "uint8", "int16", "uint16", "uint32"} <= seen, seen
    assert long_axes and extremes, (long_axes, extremes)


def test_64_bit_index_inputs_only_with_64_bit_types_on():
    from hypothesis import given, settings
    from hypothesis import seed as hseed
    from hypothesis import strategies as st

    from fuzz.generate import Builder
    from fuzz.values import INDEX_DTYPES

    seen = {True: set(), False: set()}

    @settings(max_examples=300, database=None, deadline=None)
    @hseed(5)
    @given(st.data(), st.booleans())
    def draw(data, x64):
        seen[x64].add(Builder(data.draw, "float64", x64, "value").index_dtype())

    draw()
    assert seen[False] == set(INDEX_DTYPES), seen
    assert seen[True] == set(INDEX_DTYPES) | {"int64", "uint64"}, seen


def _index_entry(ops, inputs, outs, types, fdtype="float32", x64=False):
    from fuzz.check import Entry, Stack
    from fuzz.program import Program
    from fuzz.values import Dims
    prog = Program("prog_0", inputs, ops, outs, types.pop("_dims", Dims()), fdtype, x64,
                   types=types)
    return Entry(prog, Stack((), None, None), 0)


def test_a_narrow_index_on_a_longer_axis_and_a_uint64_extreme_are_checked():
    """x[i] with int8 indices into an axis of 300 (-128 is element 172: counted from the end
    after widening, not in int8) and lax.dynamic_slice at a traced uint64 start of 2^63 + 5
    (clamped to the end; C and OpenCL read element 0 before 5a538b8): the oracle's values,
    the reproducer constructing each index with its type, and no disagreement on reference
    and C. segment_sum with int8 ids and 300 segments drops the negative ids (the oracle;
    funcgrad sums them into segment 44, an open bug: regressions.OPEN)."""
    from fuzz.batch import Failure
    from fuzz.check import args_only_case, build_case
    from fuzz.program import Op
    from fuzz.repro import repro_source
    from fuzz.values import Dims, Type, x64_scope

    d = Dims()
    n, m, k = d.new([300] * 3), d.new([4] * 3), d.new([5] * 3)
    tx, ti = Type((n,), "float32"), Type((m,), "int8")
    tu, ts = Type((k,), "float32"), Type((k,), "int8")
    gather = Op("gather", ("x0", "x1"), {"axis": 0}, ("v2",), (tx.with_(dims=(m,)),))
    inputs = [_Given("x0", tx, "normal", 0, value=np.arange(300, dtype=np.float32)),
              _Given("x1", ti, "index", 0, kind="index", bound=n,
                     value=np.array([-128, -5, 127, 0], np.int8))]
    e = _index_entry([gather], inputs, ["v2"], {"x0": tx, "x1": ti, "v2": gather.types[0],
                                                "_dims": d})
    np.testing.assert_array_equal(build_case(e, 0, 0).expect[0].value, [172, 295, 127, 0])
    seg = Op("segment", ("x3", "x4"), {"kind": "sum", "num_segments": 300}, ("v5",), (tx,))
    inputs = [_Given("x3", tu, "normal", 0, value=np.arange(1, 6, dtype=np.float32)),
              _Given("x4", ts, "index", 0, kind="index", bound=n,
                     value=np.array([-128, -1, 127, 43, 0], np.int8))]
    es = _index_entry([seg], inputs, ["v5"], {"x3": tu, "x4": ts, "v5": tx, "_dims": d})
    want = np.zeros(300)
    want[127], want[43], want[0] = 3.0, 4.0, 5.0
    np.testing.assert_array_equal(build_case(es, 0, 0).expect[0].value, want)

    d = Dims()
    n = d.new([10] * 3)
    t64, tst = Type((n,), "float64"), Type((), "uint64")
    ds = Op("dynamic_slice", ("x0", "x1"), {"starts": None, "sizes": (2,)}, ("v2",),
            (Type((d.new([2] * 3),), "float64"),))
    inputs = [_Given("x0", t64, "normal", 0, value=np.arange(10.0)),
              _Given("x1", tst, "index", 0, kind="index", bound=n,
                     value=np.array(2**63 + 5, np.uint64))]
    e64 = _index_entry([ds], inputs, ["v2"], {"x0": t64, "x1": tst, "v2": ds.types[0],
                                              "_dims": d}, "float64", x64=True)
    with x64_scope(True):
        np.testing.assert_array_equal(build_case(e64, 0, 0).expect[0].value, [8.0, 9.0])
        src = repro_source(e64, args_only_case(e64, 0), Failure(0, "c", "jit", 0, "value", ""))
    assert "lax.dynamic_slice(x0, (x1,), (2,))" in src, src
    assert "np.array(9223372036854775813, dtype=np.uint64)" in src, src
    src = repro_source(e, args_only_case(e, 0), Failure(0, "c", "jit", 0, "value", ""))
    assert "np.array([-128, -5, 127, 0], dtype=np.int8)" in src, src
    for be in ("reference", "c"):
        if be not in _test_backends():
            continue
        for entry in (e, e64):
            for mode in ("eager", "jit"):
                found = Batch([entry], 0).run(be, mode, insts=[0])
                assert not found, (be, mode, [str(f)[:300] for f in found])


def test_a_nan_from_an_infinity_explores_both_ends_of_a_top_k_lane():
    """Fuzz seed 777001: sin(sin(-inf)) is NaN, -NaN in the float64 oracle and in JAX but
    +NaN on funcgrad's reference backend (NumPy's float32 sin of a NaN), and lax.top_k
    orders NaNs by their sign. sin's error at an infinity is NaN ("anything"), which the
    perturbed runs made 0.0: it sorted below the lane's values, as the base run's -NaN
    does, so the first top_k position looked stable and the reference backend's +NaN
    first was reported. The perturbed value is now an infinity of the run's NaN sign."""
    from fuzz.check import value_expect
    from fuzz.program import Ctx, Op, Perturb, Program, evaluate
    from fuzz.values import Dims, Type
    d = Dims()
    n, k = d.new([3] * 8), d.new([2] * 8)
    f32 = "float32"
    types = {"x": Type((n,), f32), "v1": Type((n,), f32), "v2": Type((n,), f32),
             "v3": Type((k,), f32), "v4": Type((k,), "int32")}
    ops = [Op("sin", ("x",), {}, ("v1",), (types["v1"],)),
           Op("sin", ("v1",), {}, ("v2",), (types["v2"],)),
           Op("top_k", ("v2",), {"k": 2}, ("v3", "v4"), (types["v3"], types["v4"]))]
    prog = Program("p", [], ops, ["v3"], d, f32, types=types)
    x = {"x": np.array([1.95516836643219, 1.0743838548660278, -np.inf])}
    env = dict(x)
    base = evaluate(prog, env, Ctx(d, 0, None))[0]
    runs = [evaluate(prog, dict(x), Ctx(d, 0, Perturb(s, nan_sign=(-1.0) ** s, base=env)))[0]
            for s in range(3)]
    assert not value_expect(base, runs, f32).stable[0]


def test_log_ndtr_upper_tail_allows_its_arguments_rounding():
    """Seed 20261967 (long run): log_ndtr of a float64 value near 32.3, where it is
    log1p(-ndtr(-x)), about -6.2e-231, differed from SciPy's by 2.1e-13 relatively against
    a bound of 8 ulps: ndtr's argument rounding in its lower tail (see the ndtr test
    below). The oracle allows it for x > 0 now; funcgrad's values stay within it."""
    import types

    import scipy.special as sps

    import funcgrad as fg
    from fuzz import ops as O
    op = O.OPS["log_ndtr"]
    t = types.SimpleNamespace(dtype="float64")
    x = np.array([32.3, 30.0, 25.0, -3.0, -30.0, 0.5])
    want = sps.log_ndtr(x)
    err = op.err([x], want, None, t, None)
    assert (err[:3] > 1000 * np.spacing(np.abs(want[:3]))).all(), err
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(err[3:], eps * np.abs(want[3:]) * [8, 8, 8 + 1.0], rtol=1e-12)
    with fg.config.enable_x64(True):
        for f in (fg.scipy.special.log_ndtr, fg.jit(fg.scipy.special.log_ndtr)):
            got = np.asarray(f(x))
            assert (np.abs(got - want) <= err).all(), (got - want) / np.spacing(want)


def test_cumprod_through_the_subnormal_range_allows_its_rounding():
    """Seed 20261970: a float32 row (4.2e-45, -0.49, -0.35, ...) multiplied in order is 0
    at its third element (the partial product -2.1e-45 rounds to -1.4e-45, times -0.35 to
    0), while the exact product 7.3e-46 rounds to 1.4e-45; a heaviside after it was NaN
    (heaviside(0, nan)) against the oracle's 1. A partial product in the subnormal range
    is rounded to the subnormal spacing, an absolute error the later factors scale: the
    oracle allows it now, so that element is unstable (its error exceeds its value);
    rows that stay normal keep the relative bound."""
    import types

    import funcgrad as fg
    from fuzz import ops as O
    op = O.OPS["cumsum"]
    t = types.SimpleNamespace(dtype="float32")
    x = np.array([[4.2038954e-45, -0.49169806, -0.35456914, 4.2038954e-45, 1.1342745e+38],
                  [0.5, -2.0, 3.0, 0.25, 1.5]], np.float32)
    for reverse in (False, True):
        node = types.SimpleNamespace(params={"fn": "cumprod", "axis": -1, "reverse": reverse})
        xs = x[:, ::-1] if reverse else x
        want = np.cumprod(xs.astype(np.float64), axis=-1)
        want = want[:, ::-1] if reverse else want
        want = want.astype(np.float32).astype(np.float64)      # the oracle's value
        err = op.err([x], want, node, t, None)
        got = np.asarray(fg.numpy.cumprod(xs, axis=-1), np.float64)
        got = got[:, ::-1] if reverse else got
        if not reverse:
            assert got[0, 2] == 0.0 and want[0, 2] != 0
            assert err[0, 2] > abs(want[0, 2])
        eps = float(np.finfo(np.float32).eps)
        np.testing.assert_allclose(err[1], (np.arange(1, 6) + 2) * eps * np.abs(want[1]) if
                                   not reverse else (np.arange(5, 0, -1) + 2) * eps *
                                   np.abs(want[1]), rtol=1e-6)
        assert np.where(np.isnan(err), True, np.abs(got - want) <= err).all()  # NaN: any


def test_ndtr_lower_tail_allows_its_arguments_rounding():
    """Seed 20261961 (long run): ndtr of float64 values near -36 differed from SciPy's by
    2e-13 relatively against a bound of 8 ulps. Both round the argument x * sqrt(1/2)
    (funcgrad divided by sqrt(2), rounding it differently; now a product, as SciPy and
    JAX), and erfc turns that rounding into a relative error of about x^2 ulps: SciPy's
    own value is 1,353 ulps from mpmath's at x = -36.7. The oracle allows it in the
    lower tail, not in the upper one; funcgrad's values there stay within it."""
    import types

    import scipy.special as sps

    import funcgrad as fg
    from fuzz import ops as O
    op = O.OPS["ndtr"]
    t = types.SimpleNamespace(dtype="float64")
    x = np.array([-36.7, -34.7, -32.2375, -3.0, 0.5, 4.0])
    want = sps.ndtr(x)
    err = op.err([x], want, None, t, None)
    assert (err[:3] > 1000 * np.spacing(want[:3])).all(), err
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(err[3:], eps * want[3:] * [8 + 36, 8, 8], rtol=1e-12)
    with fg.config.enable_x64(True):
        for f in (fg.scipy.special.ndtr, fg.jit(fg.scipy.special.ndtr)):
            got = np.asarray(f(x))
            assert (np.abs(got - want) <= err).all(), (got - want) / np.spacing(want)


def test_median_may_overflow_where_the_two_middle_values_sum_does():
    """Seed 20261961 (long run): the median of 16 float32 values whose two middle ones are
    near 1.7e38 is inf in funcgrad, JAX and NumPy (the two are added in float32, then
    halved); the oracle took the median in float64, finite. Seed 20261983: the same for an
    odd count, where JAX (and funcgrad) add the middle value to itself: the median of
    bfloat16 [x, 3.39e38, 3.39e38] is inf, and so is JAX's of float32 [1.7e38, 1.72e38,
    1.8e38]; the oracle had kept the middle value. float16 keeps the finite median
    (funcgrad adds it in float32, where JAX's float16 sum overflows)."""
    import types

    import ml_dtypes

    import funcgrad as fg
    import funcgrad.numpy as fnp
    from fuzz import ops as O
    x = np.array([[1.7e38, 1.72e38, 1.8e38, -2.0], [1.7e38, 1.72e38, 3.0, 2.0]])
    p = {"keepdims": False}
    for dt, want in (("float32", [np.inf, 8.5e37]), ("float16", [1.71e38, 8.5e37])):
        got = O._reduce_ref("median", x, (1,), p, types.SimpleNamespace(dtype=dt))
        np.testing.assert_allclose(got, want, rtol=1e-6)
    odd = O._reduce_ref("median", x[:, :3], (1,), p, types.SimpleNamespace(dtype="float32"))
    np.testing.assert_array_equal(odd, [np.inf, 1.7e38])
    x32 = x.astype(np.float32)
    got = np.asarray(fg.jit(lambda v: fnp.median(v, axis=1))(x32))
    assert got[0] == np.inf and np.isfinite(got[1])
    got = np.asarray(fg.jit(lambda v: fnp.median(v, axis=1))(x32[:, :3]))
    assert got[0] == np.inf and got[1] == np.float32(1.7e38)
    bmax = float(ml_dtypes.finfo(ml_dtypes.bfloat16).max)
    xb = np.array([[1.0, bmax, bmax], [bmax, 1.0, 2.0]], ml_dtypes.bfloat16)
    want = O._reduce_ref("median", xb, (1,), p, types.SimpleNamespace(dtype="bfloat16"))
    np.testing.assert_array_equal(np.asarray(want, np.float64), [np.inf, 2.0])
    got = np.asarray(fnp.median(xb, axis=1)).astype(np.float64)
    np.testing.assert_array_equal(got, [np.inf, 2.0])


def test_bfloat16_special_functions_need_finfo_of_ml_dtypes():
    """Seed 20261984 (long run, with ml_dtypes 0.6.0 installed for a trial): ndtri of
    bfloat16 raised "data type bfloat16 not inexact" from np.finfo, which handles
    ml_dtypes' types from 0.7 on (pyproject asks for ml_dtypes>=0.7)."""
    import ml_dtypes

    import funcgrad as fg
    assert np.finfo(ml_dtypes.bfloat16).eps == 2.0 ** -7
    x = np.array([0.1, 0.5, 0.9], ml_dtypes.bfloat16)
    got = np.asarray(fg.scipy.special.ndtri(x)).astype(np.float64)
    want = np.asarray(fg.scipy.special.ndtri(x.astype(np.float32))).astype(np.float64)
    np.testing.assert_allclose(got, want, rtol=2 ** -7)


def test_fori_loop_bodies_get_a_strong_int32_index(monkeypatch):
    """Seed 20261962 (long run): a generated `lax.fori_loop(0, 3, step, carry)` whose body
    returned exp2(i) crashed with x64 on: the index is a weak int64 there (JAX's too), so
    exp2(i) is float64 against the float32 carry the generator typed the body for (JAX
    raises the same TypeError). The step now hands the body its index as a strong int32,
    the type the generator gives it, as while_loop's counter is an int32."""
    import types

    import funcgrad as fg
    import funcgrad.numpy as fnp
    from fuzz import ops_control as OC
    monkeypatch.setattr(OC, "_body_src", lambda body, ind: [])
    body = types.SimpleNamespace(name="loop9")
    pre, src = OC._loop_src(["v1"], {"body": body, "kind": "fori", "lo": 0, "hi": 3}, None,
                            "")
    assert src == "lax.fori_loop(0, 3, loop9_step, v1)", src
    assert pre == ["def loop9_step(i, v):",
                   "    return loop9(fnp.asarray(i, fnp.int32), v)[0]"], pre

    def loop9(i, v):
        return (fnp.exp2(i),)

    def loop9_step(i, v):
        return loop9(fnp.asarray(i, fnp.int32), v)[0]
    with fg.config.enable_x64(True):
        out = fg.lax.fori_loop(0, 3, loop9_step, fnp.float32(1.0))
        assert out.dtype == np.float32 and float(out) == 4.0


def test_where_row_oracle_wraps_arange_in_the_declared_index_dtype():
    """Seed 20262034 (long run): `where(arange(300, dtype=i.dtype) == i, v, x)` with an int8
    input i = -27 takes row 229 (arange wraps); the oracle cast arange to the dtype of i's
    oracle value, int64, matched no row and reported funcgrad's right answer. The oracle
    now casts to the index's declared dtype, which the generator records."""
    from fuzz.ops_array import _where_row_ref
    from fuzz.values import Type

    class _Op:
        types = (Type((), "float32"),)

    x, v = np.zeros(300), np.ones(300)
    for idx in (np.int8(-27), np.array(-27), np.array(-27.0)):
        out = _where_row_ref([x, v, idx], {"axis": 0, "typed": True, "idx_dtype": "int8"},
                             _Op(), None, None)
        assert list(np.flatnonzero(out)) == [229], idx
    ops = [o for e in sample_entries(seed=2, n=4, only=("where_row",)) for o in e.prog.ops
           if o.name == "where_row"]
    assert ops and all("idx_dtype" in o.params for o in ops)
