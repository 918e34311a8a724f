"""funcgrad.distributed and the collective primitives.

In this process (no MPI): collectives over named vmap axes against NumPy, their gradients
(per-member gradients equal the gradient of the sum over members, checked numerically),
the world of one process, the psum fusion pass (with a stand-in two-process transport) and
the errors of misuse. Under `mpiexec` (skipped, with the reason, when mpi4py or mpiexec is
missing): the scripts in tests/distributed/ with 2 and 3 processes (every collective
against NumPy, gradients against central differences across processes, data-parallel
training equal to one process's, misuse and failures ending with the expected error within
a bounded time).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad import distributed as dist
from funcgrad.distributed import runtime
from funcgrad.prims import collectives

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(ROOT, "tests", "distributed")

pytestmark = pytest.mark.core


@pytest.fixture
def world_of_one():
    """A world of one process (no MPI), left again after the test."""
    dist.shutdown()
    world = dist.initialize(use_mpi=False)
    try:
        yield world
    finally:
        dist.shutdown()


class TwoProcessStandIn(runtime.LocalWorld):
    """A transport of size 2 whose other process holds the same values as this one:
    enough to trace and run spmd programs with their collectives in one process."""

    size = 2

    def __init__(self):
        self.checks = []
        self.in_place = 0

    def allreduce(self, arrays, op):
        return [np.asarray(a) * 2 if op == "sum" else np.array(a) for a in arrays]

    def allreduce_in_place(self, buf, op, operands=()):
        self.in_place += 1
        super().allreduce_in_place(buf, op, operands)

    def check_program(self, info):
        self.checks.append(info)


@pytest.fixture
def two_standin():
    dist.shutdown()
    world = TwoProcessStandIn()
    runtime._state["world"] = world
    collectives.set_transport(world)
    try:
        yield world
    finally:
        runtime._state["world"] = None
        collectives.set_transport(None)


# ---------------------------------------------------------------------------------------
# Named vmap axes


X = np.arange(24, dtype=np.float32).reshape(4, 2, 3) / 7 - 1


def _named(f):
    return fg.vmap(f, axis_name="i")


def test_named_axis_collectives_match_numpy():
    close = np.testing.assert_allclose
    close(_named(lambda v: dist.psum(v, "i"))(X), np.broadcast_to(X.sum(0), X.shape),
          rtol=1e-6)
    close(_named(lambda v: dist.pmean(v, "i"))(X), np.broadcast_to(X.mean(0), X.shape),
          rtol=1e-6)
    close(_named(lambda v: dist.pmax(v, "i"))(X), np.broadcast_to(X.max(0), X.shape))
    close(_named(lambda v: dist.pmin(v, "i"))(X), np.broadcast_to(X.min(0), X.shape))
    close(_named(lambda v: dist.all_gather(v, "i"))(X), np.broadcast_to(X, (4,) + X.shape))
    close(_named(lambda v: dist.all_gather(v, "i", axis=2))(X)[1], np.moveaxis(X, 0, 2))
    close(_named(lambda v: dist.all_gather(v, "i", tiled=True))(X)[3],
          X.reshape(8, 3))
    close(_named(lambda v: dist.axis_index("i"))(X), np.arange(4))
    perm = [(0, 2), (2, 1), (1, 0)]               # member 3 receives nothing: zeros
    want = np.zeros_like(X)
    for s, d in perm:
        want[d] = X[s]
    close(_named(lambda v: dist.ppermute(v, "i", perm))(X), want)
    ys = np.arange(4 * 4 * 3, dtype=np.float32).reshape(4, 4, 3)
    close(_named(lambda v: dist.psum_scatter(v, "i"))(ys), ys.sum(0), rtol=1e-6)
    zs = np.arange(4 * 3 * 8, dtype=np.float32).reshape(4, 3, 8)
    close(_named(lambda v: dist.psum_scatter(v, "i", scatter_dimension=1, tiled=True))(zs),
          np.stack([zs.sum(0)[:, 2 * i:2 * i + 2] for i in range(4)]), rtol=1e-6)
    assert list(np.asarray(_named(lambda v: dist.psum(1, "i"))(X))) == [4] * 4
    # An operand that is not batched is the same on every member.
    close(_named(lambda v: dist.psum(fnp.ones(3), "i") + 0 * v)(X), np.full(X.shape, 4.0))
    close(fg.jit(_named(lambda v: dist.pmean({"a": v, "b": v * 2}, "i")["b"]))(X),
          np.broadcast_to(2 * X.mean(0), X.shape), rtol=1e-6)


def test_nested_named_axes_and_shadowing():
    xs = np.arange(6, dtype=np.float32).reshape(2, 3)
    inner = fg.vmap(fg.vmap(lambda v: dist.psum(v, "i"), axis_name="j"), axis_name="i")
    np.testing.assert_allclose(inner(xs), np.broadcast_to(xs.sum(0), xs.shape))
    both = fg.vmap(fg.vmap(lambda v: dist.psum(v, ("i", "j")), axis_name="j"), axis_name="i")
    np.testing.assert_allclose(both(xs), np.full(xs.shape, xs.sum()))
    shadow = fg.vmap(fg.vmap(lambda v: dist.axis_index("i"), axis_name="i"), axis_name="i")
    np.testing.assert_array_equal(shadow(xs), np.broadcast_to(np.arange(3), xs.shape))


@pytest.mark.parametrize("name", ["psum", "pmean", "pmax", "all_gather", "psum_scatter",
                                  "ppermute"])
def test_named_axis_gradients_are_those_of_the_sum_over_members(name, x64):
    """grad on each member of a collective-using function equals the gradient of the sum
    over members of the outputs (pmap's semantics), which check_grads verifies
    numerically in both modes."""
    from funcgrad.testing import check_grads
    fns = {
        "psum": lambda v: fnp.sum(fnp.sin(dist.psum(v * v, "i"))),
        "pmean": lambda v: fnp.sum(dist.pmean(fnp.tanh(v), "i") ** 2),
        "pmax": lambda v: fnp.sum(dist.pmax(v, "i") * fnp.cos(v)),
        "all_gather": lambda v: fnp.sum(fnp.sin(dist.all_gather(v, "i")) *
                                        fnp.arange(24.0).reshape(4, 2, 3)),
        "psum_scatter": lambda v: fnp.sum(fnp.exp(dist.psum_scatter(
            fnp.concatenate([v, v], 0), "i", tiled=True))),
        "ppermute": lambda v: fnp.sum(dist.ppermute(v * v, "i", [(0, 1), (1, 2), (2, 3),
                                                                  (3, 0)]) * fnp.sin(v)),
    }
    f = fns[name]
    xs = X.astype(np.float64)

    def total(x):
        return fnp.sum(fg.vmap(f, axis_name="i")(x))

    check_grads(total, (xs,), order=1, modes=("fwd", "rev"))
    per_member = fg.vmap(fg.grad(f), axis_name="i")(xs)
    np.testing.assert_allclose(per_member, fg.grad(total)(xs), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("wrap", ["jit", "checkpoint", "scan", "cond", "jit_grad"])
def test_collectives_inside_programs_nested_in_the_vmap(wrap):
    """vmap(jit(f), axis_name=...) and friends: a nested program's collectives reduce over
    the vmapped axis as they do without the nesting (JAX's semantics)."""
    f = lambda v: v - dist.pmean(v, "i") + dist.axis_index("i") * dist.pmax(v, "i")
    nested = {
        "jit": fg.jit(f),
        "checkpoint": fg.checkpoint(f),
        "scan": lambda v: lax.scan(lambda c, _: (f(c), None), v, None, length=2)[0],
        "cond": lambda v: lax.cond(True, f, lambda u: u, v),
        "jit_grad": fg.jit(fg.grad(lambda v: fnp.sum(f(v) ** 2))),
    }[wrap]
    plain = {"scan": lambda v: f(f(v)),
             "cond": f,
             "jit_grad": fg.grad(lambda v: fnp.sum(f(v) ** 2))}.get(wrap, f)
    want = fg.vmap(plain, axis_name="i")(X)
    np.testing.assert_allclose(fg.vmap(nested, axis_name="i")(X), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fg.jit(fg.vmap(nested, axis_name="i"))(X), want, rtol=1e-5,
                               atol=1e-6)


def test_a_jit_traced_under_a_named_vmap_is_not_reused_outside_it():
    g = fg.jit(lambda v: dist.psum(v, "i"))
    np.testing.assert_allclose(fg.vmap(g, axis_name="i")(X),
                               np.broadcast_to(X.sum(0), X.shape), rtol=1e-6)
    with pytest.raises(NameError, match="unbound axis name 'i'"):
        g(X[0])


def test_misuse_errors_name_the_problem():
    with pytest.raises(NameError, match="unbound axis name 'k'"):
        dist.psum(fnp.ones(3), "k")
    with pytest.raises(NameError, match="the names bound here are \\['i'\\]"):
        _named(lambda v: dist.pmean(v, "k"))(X)
    with pytest.raises(NotImplementedError, match="axis_index_groups"):
        _named(lambda v: dist.psum(v, "i", axis_index_groups=[[0, 1]]))(X)
    # (a psum of booleans counts, in int32, as JAX's: it raised here)
    counts = _named(lambda v: dist.psum(v > 0, "i"))(X)
    assert counts.dtype == np.int32
    np.testing.assert_array_equal(counts, np.broadcast_to(np.sum(np.asarray(X) > 0, 0),
                                                          np.shape(counts)))
    with pytest.raises(ValueError, match="not a permutation"):
        _named(lambda v: dist.ppermute(v, "i", [(0, 1), (1, 1)]))(X)
    with pytest.raises(ValueError, match="outside the axis of size 4"):
        _named(lambda v: dist.ppermute(v, "i", [(0, 4)]))(X)
    with pytest.raises(TypeError, match="must equal the axis size 4"):
        _named(lambda v: dist.psum_scatter(v, "i"))(X)
    with pytest.raises(TypeError, match="axis name must be"):
        dist.spmd(lambda v: v, axis_name=["a"])


# ---------------------------------------------------------------------------------------
# The process group in this process


def test_spmd_needs_initialize():
    dist.shutdown()
    f = dist.spmd(lambda v: dist.psum(v, "batch"))
    with pytest.raises(dist.DistributedError, match="initialize\\(\\) first"):
        f(np.ones(3, np.float32))
    assert dist.process_index() == 0 and dist.process_count() == 1
    assert not dist.is_initialized()


def test_world_of_one(world_of_one):
    assert not runtime.launched_by_mpi()
    assert dist.initialize() is world_of_one                 # idempotent
    assert (dist.process_index(), dist.process_count()) == (0, 1)
    assert sys.excepthook is sys.__excepthook__ or runtime._state["hooks"] is None
    x = np.arange(6, dtype=np.float32).reshape(2, 3)

    def f(x):
        return (dist.psum(x, "batch"), dist.pmean(x, "batch"), dist.pmax(x, "batch"),
                dist.all_gather(x, "batch"), dist.all_gather(x, "batch", tiled=True),
                dist.psum_scatter(x[None], "batch"), dist.ppermute(x, "batch", [(0, 0)]),
                dist.ppermute(x, "batch", []), dist.axis_index("batch"),
                dist.psum(1, "batch"))

    step = dist.spmd(f)
    out = step(x)
    for got, want in zip(out, [x, x, x, x[None], x, x, x, 0 * x, 0, 1]):
        np.testing.assert_allclose(got, want)
    assert "psum" not in step.lower(x).ir and "program_check" not in step.lower(x).ir
    dist.barrier()
    np.testing.assert_allclose(dist.allreduce({"a": x})["a"], x)
    np.testing.assert_allclose(dist.allreduce(fnp.arange(3), "mean"), [0.0, 1.0, 2.0])
    np.testing.assert_allclose(dist.broadcast(x), x)
    np.testing.assert_allclose(dist.allgather(x), x[None])
    np.testing.assert_array_equal(dist.shard(np.arange(5)), np.arange(5))
    with pytest.raises(ValueError, match="root=1"):
        dist.broadcast(x, root=1)
    with pytest.raises(ValueError, match="op must be one of"):
        dist.allreduce(x, "prod")
    with pytest.raises(TypeError, match="outside jit"):
        fg.jit(lambda v: dist.allreduce(v))(x)


def test_write_once_writes_on_process_zero(tmp_path):
    dist.shutdown()
    calls = []
    assert runtime.write_once(lambda: calls.append(1) or "done") == "done"   # no world
    dist.initialize(use_mpi=False)
    try:
        assert runtime.write_once(lambda: calls.append(2)) is None
    finally:
        dist.shutdown()
    assert calls == [1, 2]


def test_shard_splits_a_global_batch(monkeypatch):
    batch = {"x": np.arange(12).reshape(6, 2), "y": np.arange(6)}
    monkeypatch.setattr(dist, "process_count", lambda: 3)
    monkeypatch.setattr(dist, "process_index", lambda: 1)
    part = dist.shard(batch)
    np.testing.assert_array_equal(part["y"], [2, 3])
    np.testing.assert_array_equal(part["x"], batch["x"][2:4])
    np.testing.assert_array_equal(dist.shard(np.arange(12).reshape(2, 6), axis=1),
                                  np.arange(12).reshape(2, 6)[:, 2:4])
    with pytest.raises(ValueError, match="does not split evenly over 3"):
        dist.shard(np.arange(7))
    np.testing.assert_array_equal(dist.shard(np.arange(7), even=False), [3, 4])
    with pytest.raises(ValueError, match="disagree"):
        dist.shard({"a": np.ones(6), "b": np.ones(3)})


def test_missing_mpi4py_under_a_launcher_says_how_to_install(monkeypatch):
    dist.shutdown()
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match="distributed"):
        dist.initialize()
    assert not dist.is_initialized()


def test_spmd_program_is_checked_and_psums_fused(two_standin):
    """With more than one process, spmd's program starts with the program check and the
    gradient's leaf-by-leaf pmeans become one psum (one allreduce)."""
    params = {"w": np.ones((3, 2), np.float32), "b": np.zeros(2, np.float32)}
    x = np.arange(12, dtype=np.float32).reshape(4, 3)

    def loss(p, x):
        return fnp.sum(fnp.tanh(x @ p["w"] + p["b"]) ** 2)

    @dist.spmd
    def step(p, x):
        grads = fg.grad(loss)(p, x)
        g = fg.tree.map(lambda leaf: dist.pmean(leaf, "batch"), grads)
        return g, dist.psum(loss(p, x), "batch")

    text = step.lower(params, x).ir
    assert text.count("psum[") == 1 and text.count("program_check") == 1, text
    assert text.index("program_check") < text.index("psum[")
    g, total = step(params, x)
    # The stand-in's other process holds the same data: pmean(g) = g, psum(l) = 2 l.
    want = fg.grad(loss)(params, x)
    np.testing.assert_allclose(g["w"], want["w"], rtol=1e-5)
    np.testing.assert_allclose(total, 2 * loss(params, x), rtol=1e-5)
    assert len(two_standin.checks) == 1
    info = two_standin.checks[0]
    assert info.signature == "(f32[2], f32[3,2], f32[4,3])" and len(info.digest) == 64
    unfused = dist.spmd(step.fun, fuse=False, overlap_bytes=0)
    assert unfused.lower(params, x).ir.count("psum[") == 3


def test_profiled_spmd_program_runs(two_standin, monkeypatch, capsys):
    """FUNCGRAD_PROFILE=1 labelled every host step by its first output; the program check
    has none, so every spmd program raised IndexError under the profiler."""
    from funcgrad.backends import c as cb
    monkeypatch.setattr(cb, "_PROFILE", True)
    x = np.arange(6, dtype=np.float32)
    step = dist.spmd(lambda v: dist.psum(v * 2, "batch"))
    with fg.config.override("backend", "c"):
        np.testing.assert_allclose(step(x), 4 * x)
    assert "host step program_check" in cb.profile_report()


def test_spmd_starts_reducing_gradients_while_the_backward_pass_goes_on(two_standin):
    """With buckets of one array, each gradient's reduction starts as soon as the backward
    pass has computed it (before the first layer's gradient exists) and finishes where the
    results are needed; the results are those of one psum."""
    rng = np.random.RandomState(0)
    params = [(rng.randn(5, 4).astype(np.float32), np.zeros(4, np.float32)),
              (rng.randn(4, 3).astype(np.float32), np.zeros(3, np.float32))]
    x = rng.randn(6, 5).astype(np.float32)

    def loss(p, x):
        (w1, b1), (w2, b2) = p
        return fnp.sum(fnp.tanh(fnp.tanh(x @ w1 + b1) @ w2 + b2) ** 2)

    def step(p, x):
        g = dist.pmean(fg.grad(loss)(p, x), "batch")
        return [(w - 0.1 * gw, b - 0.1 * gb) for (w, b), (gw, gb) in zip(p, g)]

    overlapped = dist.spmd(step, overlap_bytes=1)
    text = overlapped.lower(params, x).ir
    assert text.count("psum_start") == 4 and text.count("psum_done") == 4, text
    assert "psum[" not in text
    lines = text.splitlines()
    first_start = next(i for i, line in enumerate(lines) if "psum_start" in line)
    last_dot = max(i for i, line in enumerate(lines) if "dot_general" in line)
    assert first_start < last_dot, text     # w2's reduction starts before dw1 is computed
    plain = dist.spmd(step, overlap_bytes=0)
    assert "psum_start" not in plain.lower(params, x).ir
    for a, b in zip(fg.tree.leaves(overlapped(params, x)), fg.tree.leaves(plain(params, x))):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    # Transforms of the compiled program see the pair as a psum.
    g = fg.grad(lambda p: fnp.sum(overlapped(p, x)[0][0]))(params)
    g0 = fg.grad(lambda p: fnp.sum(plain(p, x)[0][0]))(params)
    for a, b in zip(fg.tree.leaves(g), fg.tree.leaves(g0)):
        np.testing.assert_allclose(a, b, rtol=1e-5)


def _rng_params():
    rng = np.random.RandomState(0)
    w = [rng.randn(5, 4).astype(np.float32), rng.randn(4).astype(np.float32),
         rng.randn(4, 3).astype(np.float32)]
    return w, rng.randn(6, 5).astype(np.float32)


def _mlp_loss(w, x):
    return fnp.sum(fnp.tanh(fnp.tanh(x @ w[0] + w[1]) @ w[2]) ** 2)


def _used_after(w, x):
    h = x @ w[0]                       # a GEMM's buffer, read again after the psum
    return dist.psum(h, "batch")[0] * h


# name: (function of (w, x), how many of its reductions run in place)
_IN_PLACE_CASES = {
    "pmean of gradients, then SGD": (lambda w, x: [
        a - 0.1 * g for a, g in zip(w, dist.pmean(fg.grad(_mlp_loss)(w, x), "batch"))], 1),
    "psum of gradients returned": (
        lambda w, x: dist.psum(fg.grad(_mlp_loss)(w, x), "batch"), 1),
    "pmax and pmin": (lambda w, x: (dist.pmax([a * 2 for a in w], "batch"),
                                    dist.pmin([fnp.sin(a) for a in w], "batch")), 2),
    "float32, float16 and int32": (lambda w, x: dist.psum(
        [w[0] * 2, (w[1] * 2).astype(fnp.float16), (x * 3).astype(fnp.int32)], "batch"), 0),
    "float16 only": (lambda w, x: dist.psum([(a * 2).astype(fnp.float16) for a in w],
                                            "batch"), 0),
    "program inputs": (lambda w, x: dist.psum(w, "batch"), 0),
    "operand also returned": (lambda w, x: (dist.psum(w[0] * 2, "batch"), w[0] * 2), 0),
    "operand read after the psum": (_used_after, 0),
}


@pytest.mark.parametrize("case", list(_IN_PLACE_CASES))
def test_psum_in_place_on_the_programs_buffers(two_standin, monkeypatch, case):
    """A psum/pmax/pmin of values the C program computes (distinct buffers of one dtype
    that is its own wire dtype, read by nothing after it) runs in place on one block of
    the program's memory, with the copying path's results: results used further (the block
    is in the arena) or returned (the block is allocated with the outputs), under grad.
    Program inputs, mixed dtypes, float16 and operands used later keep the copying path."""
    from funcgrad.backends import c as cb
    from funcgrad.backends import get_backend
    fun, expected = _IN_PLACE_CASES[case]
    w, x = _rng_params()
    results = {}
    for in_place in (True, False):
        monkeypatch.setattr(cb, "IN_PLACE_REDUCTIONS", in_place)
        step = dist.spmd(fun, backend="c")
        exe = get_backend("c").executable(step.lower(w, x).program, "step")
        assert exe.in_place_reductions == (expected if in_place else 0)
        before = two_standin.in_place
        results[in_place] = [np.asarray(r) for r in fg.tree.leaves(step(w, x))]
        second = step([2 * a for a in w], x)            # the first results are kept
        assert two_standin.in_place - before == (2 * expected if in_place else 0)
        del second
    for a, b in zip(results[True], results[False]):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_psum_in_place_keeps_results_and_donation(two_standin):
    """Results a caller keeps are not overwritten by the next call (a returned result's
    block is allocated per call); a donated input still holds the updated parameters."""
    w, x = _rng_params()
    fun = _IN_PLACE_CASES["psum of gradients returned"][0]
    step = dist.spmd(fun, backend="c")
    first = step(w, x)
    kept = [np.array(a) for a in first]
    for _ in range(3):
        step([3 * a for a in w], x)
    for a, b in zip(first, kept):
        np.testing.assert_array_equal(a, b)
    sgd = _IN_PLACE_CASES["pmean of gradients, then SGD"][0]
    want = dist.spmd(sgd, backend="c")(w, x)
    donated = dist.spmd(sgd, backend="c", donate_argnums=0)
    got = donated(fg.device_put(w), x)
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


def test_fuse_psums_keeps_dependences():
    """A psum whose operand depends on another psum is not merged with it; equations that
    need a pending psum's result wait with it; independent work moves before it."""
    from funcgrad.core import ShapedArray
    from funcgrad.ir import Eqn, Program, Var
    from funcgrad.prims import elementwise as ew
    a = ShapedArray((3,), np.float32)
    x, y = Var(a), Var(a)
    s1, s2, m, s3, n, s4 = (Var(a) for _ in range(6))

    def ps(i, o):
        return Eqn(collectives.psum_p, [i], {"axis_name": "batch"}, [o])
    prog = Program([], [x, y], [
        ps(x, s1),                                   # group 1
        Eqn(ew.mul_p, [s1, s1], {}, [m]),            # depends on s1: deferred
        ps(y, s2),                                   # joins group 1
        Eqn(ew.neg_p, [y], {}, [n]),                 # independent: moves first
        ps(m, s3),                                   # depends on the group: a new group
        ps(n, s4),                                   # joins group 2
    ], [s2, s3, s4])
    out = dist.fuse_psums(prog)
    kinds = [(e.prim.name, len(e.inputs)) for e in out.eqns]
    assert kinds == [("neg", 1), ("psum", 2), ("mul", 2), ("psum", 2)], kinds
    assert out.eqns[1].outputs == [s1, s2] and out.eqns[3].outputs == [s3, s4]


def test_lax_binds_the_collectives():
    lax = fg.lax
    if not hasattr(lax, "pmean"):
        pytest.skip("funcgrad.lax does not bind the collectives yet")
    for name in ("psum", "pmean", "pmax", "pmin", "all_gather", "psum_scatter", "ppermute",
                 "axis_index"):
        assert getattr(lax, name) is getattr(dist, name), name


# ---------------------------------------------------------------------------------------
# Several processes (mpiexec)


def _find_mpiexec():
    """(mpiexec, its extra flags, is it MPICH) or (None, why not)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return None, "mpi4py is not installed (pip install -e '.[distributed]')"
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    exe = here if os.access(here, os.X_OK) else shutil.which("mpiexec") or \
        shutil.which("mpirun")
    if exe is None:
        return None, "no mpiexec (pip install -e '.[distributed]' brings MPICH's)"
    try:
        version = subprocess.run([exe, "--version"], capture_output=True, text=True,
                                 timeout=30, stdin=subprocess.DEVNULL, check=False).stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"{exe} --version failed: {e}"
    if "open mpi" in version.lower() or "open-mpi" in version.lower():
        # Open MPI refuses root and more processes than cores unless told.
        return (exe, ["--oversubscribe", "--allow-run-as-root"], False), ""
    return (exe, [], True), ""


_MPI, _WHY_NOT = _find_mpiexec()
needs_mpi = pytest.mark.skipif(_MPI is None, reason=_WHY_NOT)


def _mpirun(n, script, *args, timeout=120, launcher_flags=(), **env_extra):
    exe, flags, _ = _MPI
    env = dict(os.environ)
    for k in [k for k in env if k.startswith(("PMI_", "OMPI_", "PMIX_"))]:
        del env[k]
    env.update(PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", FUNCGRAD_DISTRIBUTED_TIMEOUT="60",
               OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env.update(env_extra)
    cmd = [exe, *flags, *launcher_flags, "-n", str(n), sys.executable,
           os.path.join(SCRIPTS, script), *args]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        pytest.fail(f"{' '.join(cmd)} hung for more than {timeout} s:\n{out[-3000:]}")
    return proc, time.monotonic() - start


def _ok_lines(proc, word, n):
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    # (The processes' lines may interleave on the launcher's stdout.)
    found = sorted(int(r) for r in re.findall(word + r" (\d+)", proc.stdout))
    assert found == list(range(n)), out[-4000:]


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_collectives_across_processes(n):
    """Every collective against NumPy (2 processes, and 3 oversubscribed on 2 cores),
    gradients and JVPs against central differences of the sum over processes."""
    proc, _ = _mpirun(n, "collectives.py", FUNCGRAD_BACKEND="reference")
    _ok_lines(proc, "COLLECTIVES OK", n)


@needs_mpi
def test_data_parallel_training_equals_one_process():
    proc, _ = _mpirun(2, "train.py")
    _ok_lines(proc, "TRAIN OK", 2)


@needs_mpi
def test_processes_running_different_programs_get_clear_errors():
    proc, _ = _mpirun(2, "faults.py", "misuse", FUNCGRAD_BACKEND="reference")
    _ok_lines(proc, "MISUSE OK", 2)
    assert "process 1 called it with (f32[5])" in proc.stdout
    assert "-    b:f32[4] = mul a 2.0:f32[]" in proc.stdout


@needs_mpi
def test_a_raising_process_stops_all():
    proc, took = _mpirun(2, "faults.py", "raise", FUNCGRAD_BACKEND="reference")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "process 1 fails on purpose" in out and "aborting all 2 processes" in out, out
    assert "finished all steps" not in out
    assert took < 60, took


@needs_mpi
def test_a_killed_process_stops_all():
    proc, took = _mpirun(2, "faults.py", "kill", FUNCGRAD_BACKEND="reference")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "finished all steps" not in out
    assert took < 60, took


@needs_mpi
def test_a_process_leaving_early_makes_the_others_time_out():
    """The launcher usually stops everyone when a process exits; without that (MPICH's
    -disable-auto-cleanup, or a peer that hangs), the deadline on every wait does."""
    if not _MPI[2]:
        pytest.skip("needs MPICH's -disable-auto-cleanup")
    proc, took = _mpirun(2, "faults.py", "exit", launcher_flags=["-disable-auto-cleanup"],
                         FUNCGRAD_BACKEND="reference", FUNCGRAD_DISTRIBUTED_TIMEOUT="4")
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "CollectiveTimeoutError" in out and "waited 4 s" in out, out
    assert "aborting all 2 processes" in out
    assert took < 60, took


def test_bench_cost_model():
    """The ring-allreduce model of bench/bench_distributed.py and docs/distributed.md."""
    sys.path.insert(0, ROOT)
    from bench.bench_distributed import efficiency_table, ring_seconds
    assert ring_seconds(2, 1e9, 0.0, 1e9) == pytest.approx(1.0)        # n/B at p=2
    assert ring_seconds(4, 0, 1e-5, 1e9) == pytest.approx(6e-5)        # 2(p-1) latencies
    assert ring_seconds(1000, 1e9, 0.0, 1e9) == pytest.approx(2 * 999 / 1000)
    table = efficiency_table(0.01, 4e6, 50e-6, 1e9, procs=(8, 256))
    assert 0 < table[256][1] < table[8][1] < 1
