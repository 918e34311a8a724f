"""Lowering is enforced: every primitive either compiles into the C backend's loop nests,
reductions, GEMMs and window kernels, or is listed below as a host step with its reason.

A primitive that loses its C lowering (or a new one added without it) would otherwise run
silently in NumPy under `jit`: still right, but slow and untested as compiled code. These
tests fail until it is lowered or listed here.
"""
from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import funcgrad as fg
from funcgrad import core
from funcgrad.backends import c as cbackend
from funcgrad.backends import get_backend
from funcgrad.lowering import fusion
from funcgrad.prims import elementwise as ew
from funcgrad.prims import indexing as ix
from funcgrad.prims import linalg as la
from funcgrad.prims import windows as win

pytestmark = pytest.mark.skipif(not cbackend.available(), reason="no C compiler")

# Primitives that are not compiled into C loops, and why. Keep the reasons true.
HOST_STEPS = {
    # Control flow: the bodies are compiled; a scan, while loop or cond whose bodies compile
    # entirely becomes C control flow, otherwise Python drives the compiled bodies.
    "cond": "C if/else or drives compiled branches",
    "scan": "C loop or drives a compiled body",
    "while": "C loop or drives compiled cond/body programs",
    # Calls are inlined by passes.optimize before lowering (checked below).
    "jit": "inlined", "remat": "inlined", "custom_jvp_call": "inlined",
    "custom_vjp_call": "inlined",
    "custom_lin": "exists only while differentiating (never in a lowered program)",
    "const": "a program constant, not a computation",
    "program_check": "a host-side check of the program's inputs",
    # LAPACK (funcgrad/prims/lapack.py runs the library routine on the host buffers).
    "cholesky": "LAPACK", "eigh": "LAPACK", "lu": "LAPACK", "qr": "LAPACK", "svd": "LAPACK",
    "eig": "LAPACK geev (a host step under jit on every backend)",
    "triangular_solve": "LAPACK/BLAS trsm",
    # Our C FFT kernel (funcgrad/prims/fft_kernel.py), called on the host buffers.
    "fft": "our C FFT kernel on host buffers",
    # NumPy on the host buffers: no C loop lowering yet.
    "sort": "NumPy sort (no C sort kernel yet)", "cumsum": "NumPy cumsum (no C scan kernel)",
    "top_k": "our prebuilt C heap kernel on host buffers (lowering/eager.run_top_k)",
    # Python callbacks run Python by definition; collectives call MPI on host buffers.
    "pure_callback": "Python", "io_callback": "Python", "debug_callback": "Python",
    "psum": "MPI", "psum_start": "MPI", "psum_done": "MPI", "pmax": "MPI", "pmin": "MPI",
    "all_gather": "MPI", "psum_scatter": "MPI", "ppermute": "MPI", "axis_index": "MPI rank",
}
INLINED = {"jit", "remat", "custom_jvp_call", "custom_vjp_call"}


def _lowered_primitives() -> set:
    """The primitives the C lowering compiles (fusion.classify never says 'host')."""
    return (fusion.INLINABLE | fusion.REDUCTIONS |
            {win.reduce_window_p, win.pool_gather_p, win.pool_scatter_p, ix.scatter_p,
             la.dot_general_p, la.conv_general_dilated_p})


def _unlisted(lowered: set) -> list[str]:
    return sorted(name for name, p in core.all_primitives.items()
                  if p not in lowered and name not in HOST_STEPS)


def test_every_primitive_is_lowered_or_listed():
    assert _unlisted(_lowered_primitives()) == []
    # The list names only primitives that exist and are really not lowered.
    lowered_names = {p.name for p in _lowered_primitives()}
    assert set(HOST_STEPS) <= set(core.all_primitives)
    assert not set(HOST_STEPS) & lowered_names


def test_a_primitive_losing_its_lowering_is_caught():
    """The planted bug: sqrt without its C expression must be reported."""
    assert _unlisted(_lowered_primitives() - {ew.sqrt_p}) == ["sqrt"]


def test_every_elementwise_primitive_has_a_c_expression():
    """Each elementwise primitive renders to C for every dtype its rows use: its lowering
    spec is one the code generator knows (an unknown kind raises here, not at a user's)."""
    known = {"op", "call", "select", "convert", "identity", "sign", "integer_pow"}
    for p, spec in ew.lowering_exprs.items():
        assert spec is not None and spec[0] in known, (p.name, spec)
        assert p in fusion.ELEMENTWISE


@pytest.fixture
def host_steps(monkeypatch):
    """Records, for each program the C backend lowers, the primitives of its host steps."""
    inner = get_backend("c").inner
    seen: list = []
    orig = type(inner).executable

    def spy(self, program, name="f"):
        exe = orig(self, program, name)
        seen.append([s[0] for k, s in exe.steps if k == "host"])
        return exe

    monkeypatch.setattr(type(inner), "executable", spy)
    get_backend("c").clear_caches()
    return seen


def test_spec_rows_compile_without_unlisted_host_steps(host_steps):
    """One drawn example of every primitive-table row (tests/specs.py), jitted on C: its
    host steps are all listed above, and no call survives inlining."""
    import test_core_primitives as tcp
    from specs import ROWS

    bad = collections.defaultdict(list)
    for spec in ROWS:
        @settings(max_examples=1, derandomize=True, deadline=None,
                  suppress_health_check=list(HealthCheck))
        @given(tcp.examples(spec))
        def run(ex):
            args, params = ex
            f = lambda *a: spec.fun(*a, **params)
            host_steps.clear()
            with tcp._mode(args), warnings.catch_warnings():
                warnings.simplefilter("error", fg.FallbackWarning)
                fg.jit(f, backend="c")(*tcp._to_fg(args))
            for eqns in host_steps:
                for e in eqns:
                    if e.prim.name in INLINED or e.prim.name not in HOST_STEPS:
                        bad[e.prim.name].append(spec.name)
        run()
    assert not bad, dict(bad)


def test_calls_are_inlined_before_lowering():
    """jit, checkpoint and custom_jvp/custom_vjp calls leave no call in the lowered program."""
    @fg.custom_jvp
    def softplus(x):
        return fg.numpy.logaddexp(x, 0.0)

    softplus.defjvp(lambda p, t: (softplus(p[0]), t[0] * fg.nn.sigmoid(p[0])))

    def f(x):
        return fg.checkpoint(lambda y: fg.jit(softplus)(y) * 2.0)(x)

    lowered = fg.jit(f).lower(np.ones(3, np.float32))
    before = {e.prim.name for e in lowered.program.eqns}
    assert "remat" in before or "jit" in before, before
    names = {e.prim.name for e in lowered.optimized_program().eqns}
    assert not names & INLINED, names
