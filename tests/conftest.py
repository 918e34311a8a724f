"""Shared test configuration: the hypothesis profile, pytest markers, the `backend` fixture,
and the rule that `core` tests run on the NumPy reference backend."""
from __future__ import annotations

import contextlib
import gc
import os
import types

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "funcgrad",
    max_examples=15,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "funcgrad"))

# The cyclic garbage collector's first threshold: 10,000 allocations, not Python's 700. A
# test worker holds ~0.8-1 million objects (the programs, traces and executables in
# funcgrad's and JAX's bounded caches), and at Python's thresholds each of its ~35 full
# collections over tests/test_ports.py walked all of them: 18.7 s of the file's 75 s
# (2026-12-07, Zen 3 VM; 20.2 s of 90.5 s after the executables dropped their syntax
# trees). At 10,000: 3 full collections, 6.4 s of GC in 66 s. (A program that builds as
# many programs as the suite can do the same; funcgrad leaves the interpreter's settings
# to the application.)
gc.set_threshold(10_000, 10, 10)

_MARKERS = {
    "core": "NumPy-only core tests",
    "cbackend": "tests that need the C backend (a C compiler)",
    "opencl": "tests that need an OpenCL platform",
    "slow": "longer tests",
}


# A monkeypatched lowering setting (a module constant of funcgrad.lowering, funcgrad.backends
# or cdsl) must reach the next compilation. A function jitted again keeps its traced
# programs, and a program already built keeps its executable whatever the settings: a test
# that compared a function's results under two settings, jitting the same function under
# each, ran the first setting's executable twice and could not fail (the wide and narrow
# convolution tiles, 2026-12-07). So every such patch, and its undoing, forgets the compiled
# programs held in memory (`funcgrad.clear_caches`; the disk cache is keyed by the source).
_LOWERING_PACKAGES = ("funcgrad.lowering", "funcgrad.backends", "cdsl")


def _is_lowering(target) -> bool:
    """Whether `target` (a module, or a dotted path to an attribute) is in the lowering."""
    if isinstance(target, types.ModuleType):
        target = target.__name__
    return isinstance(target, str) and target.startswith(_LOWERING_PACKAGES)


_plain_setattr = pytest.MonkeyPatch.setattr
_plain_undo = pytest.MonkeyPatch.undo


def _setattr(self, target, *args, **kwargs):
    _plain_setattr(self, target, *args, **kwargs)
    if _is_lowering(target):
        import funcgrad
        funcgrad.clear_caches()
        self._funcgrad_lowering = True


def _undo(self):
    _plain_undo(self)
    if getattr(self, "_funcgrad_lowering", False):
        import funcgrad
        funcgrad.clear_caches()
        self._funcgrad_lowering = False


pytest.MonkeyPatch.setattr = _setattr
pytest.MonkeyPatch.undo = _undo


def pytest_configure(config):
    known = {line.split(":")[0].strip() for line in config.getini("markers")}
    for name, doc in _MARKERS.items():
        if name not in known:
            config.addinivalue_line("markers", f"{name}: {doc}")


# The test files that take longest on a cold compile cache, longest first (CPU seconds of
# a cold run, 2026-11-30: test_core_primitives ~180, test_opencl_backend ~135, test_fuzz
# ~90, test_examples ~75, down to ~17 for the last ones). Under `-n 2 --dist loadfile` each
# worker takes the next whole file when it is nearly done with its last, so the wall time
# is best when the long files start first and the short ones fill the end. pytest-xdist's
# own order (files with the most tests first) starts long files with few tests (test_fuzz,
# test_examples, test_opencl_backend) late: replaying a cold run's per-file times through
# the scheduler, its workers end up to ~25 s apart, with this order within a second.
# scripts/test.sh passes --no-loadscope-reorder, so the scheduler keeps the order set here.
# Files not listed follow in their usual order.
LONG_FILES = (
    "test_core_primitives.py", "test_opencl_backend.py", "test_fuzz.py", "test_examples.py",
    "test_semantics.py", "test_random_jax.py", "test_jit_regressions.py", "test_linalg.py",
    "test_scipy.py", "test_lowering_enforced.py", "test_conv_kernels.py",
    "test_bench_smoke.py", "test_cbackend.py", "test_ports.py", "test_opencl_grouped_conv.py",
    "test_callbacks.py", "test_distributed.py", "test_cache_trust.py", "test_docs.py",
    "test_opencl_runtime.py", "test_export_c.py", "test_export_onnx.py",
)


# Eager OpenCL. Called eagerly, each primitive is a one-equation program built for its
# shapes and dtypes: a PoCL build of ~0.2 s, per primitive, shape and dtype (Zen 4, PoCL
# 3.1). The tests of JAX's semantics that run a function eagerly and under jit on every
# backend spent ~400 of the suite's ~1950 CPU seconds (cold caches) building eager OpenCL
# kernels: the same lowering, one equation at a time, as the jitted runs on OpenCL that stay
# (the cold suite on two workers: 1021 s with them, 862 s without; 2026-12-06).
# So on OpenCL those tests run under jit only (the tests whose `run` or `path` parameter is
# "eager" with the `backend` "opencl" are deselected, and `checks_eager()` says whether a
# test's own eager call runs); eager OpenCL keeps tests/test_opencl_backend's eager tests
# and the fuzzer's eager OpenCL runs. FUNCGRAD_TEST_EAGER_OPENCL=1 runs them all.
EAGER_OPENCL = os.environ.get("FUNCGRAD_TEST_EAGER_OPENCL", "0") == "1"


def _eager_on_opencl(item) -> bool:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return params.get("backend") == "opencl" and \
        params.get("run", params.get("path")) == "eager"


def checks_eager() -> bool:
    """Whether a test that runs its function eagerly and under jit on the current default
    backend runs the eager call too (not on OpenCL, unless EAGER_OPENCL)."""
    return EAGER_OPENCL or _current_backend_setting() != "opencl"


def pytest_collection_modifyitems(config, items):
    """Eager OpenCL tests deselected (EAGER_OPENCL above). Under pytest-xdist, the long files
    first (LONG_FILES); the tests of a file keep their order. Every worker sorts the same
    collection the same way, as xdist requires. A run in one process keeps pytest's
    order."""
    if not EAGER_OPENCL:
        dropped = [item for item in items if _eager_on_opencl(item)]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if not _eager_on_opencl(item)]
    if not hasattr(config, "workerinput"):
        return
    rank = {name: i for i, name in enumerate(LONG_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONG_FILES)))


def _backend_available(name: str) -> bool:
    if name == "reference":
        return True
    try:
        if name == "c":
            from funcgrad.backends import c
        elif name == "opencl":
            from funcgrad.backends import opencl as c
        else:
            return False
        return bool(c.available())
    except Exception:  # noqa: BLE001 -- no module, compiler or platform: skip the backend
        return False


def _test_backends() -> list[str]:
    env = os.environ.get("FUNCGRAD_TEST_BACKENDS")
    if env:
        return [b.strip() for b in env.split(",") if b.strip()]
    return ["reference"] + [b for b in ("c", "opencl") if _backend_available(b)]


def _set_backend(name):
    import funcgrad
    funcgrad.config.update("backend", name)


def _current_backend_setting():
    from funcgrad import backends
    return backends._config["backend"]


_BACKEND_MARKS = {"c": [pytest.mark.cbackend], "opencl": [pytest.mark.opencl]}


@pytest.fixture(params=[pytest.param(b, marks=_BACKEND_MARKS.get(b, []))
                        for b in _test_backends()])
def backend(request):
    """Each backend under test in turn, as the default backend; restored afterwards."""
    name = request.param
    if not _backend_available(name):
        pytest.skip(f"backend {name!r} is not available here")
    prev = _current_backend_setting()
    _set_backend(name)
    try:
        yield name
    finally:
        _set_backend(prev)


@pytest.fixture(autouse=True)
def _core_tests_use_reference(request):
    """`core` tests check the frontend against NumPy: they run on the reference backend
    unless they ask for the `backend` fixture."""
    if request.node.get_closest_marker("core") is None or "backend" in request.fixturenames:
        yield
        return
    prev = _current_backend_setting()
    _set_backend("reference")
    try:
        yield
    finally:
        _set_backend(prev)


@pytest.fixture
def x64():
    """Tests that need 64-bit dtypes ask for this fixture: JAX's x64 mode on for the test
    (64-bit types are off by default, as in JAX)."""
    import funcgrad
    with funcgrad.config.enable_x64(True):
        yield


@pytest.fixture(params=["eager", "jit"])
def run(request, backend):
    """`run(f, *args)`: f called on the args as funcgrad arrays, eagerly and under `jit`, on
    every test backend, its results as NumPy arrays (the tests of JAX's semantics)."""
    import funcgrad as fg
    import funcgrad.numpy as fnp

    def call(f, *args):
        with fg.config.override("backend", backend):
            g = fg.jit(f) if request.param == "jit" else f
            return fg.tree.map(np.asarray, g(*[fnp.asarray(a) for a in args]))
    return call


@pytest.fixture(scope="module")
def jax():
    """JAX itself, for tests that compare with it (skipped where it is not installed)."""
    return pytest.importorskip("jax")


@contextlib.contextmanager
def x64_both(jax, on):
    """64-bit types on (or off) in JAX and funcgrad for the block (`from conftest import
    x64_both`)."""
    import funcgrad
    prev = bool(jax.config.jax_enable_x64)
    jax.config.update("jax_enable_x64", on)
    try:
        with funcgrad.config.enable_x64(on):
            yield
    finally:
        jax.config.update("jax_enable_x64", prev)


def count_eager(fn, monkeypatch):
    """(fn(), the names of the primitives it ran eagerly, one by one): a compiled call runs
    none. Undoes the test's monkeypatches when done."""
    from funcgrad import core
    seen = []
    orig = core.EvalTrace.process_primitive

    def spy(self, primitive, tracers, params):
        seen.append(primitive.name)
        return orig(self, primitive, tracers, params)
    monkeypatch.setattr(core.EvalTrace, "process_primitive", spy)
    try:
        out = fn()
    finally:
        monkeypatch.undo()
    return out, seen
