"""Tests of the `opencl` runtime with hand-written OpenCL C reference kernels.

The kernels here are test fixtures only; funcgrad's real kernels come from the lowering.
Every test needs a platform except the ones that simulate its absence.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import opencl
from opencl.programs import _digest

pytestmark = pytest.mark.opencl

ROOT = Path(__file__).resolve().parents[1]

VECTOR_ADD = """
__kernel void vector_add(__global const float *a, __global const float *b,
                         __global float *c, const long n) {
    const long i = get_global_id(0);
    if (i < n) c[i] = a[i] + b[i];
}
"""

TREE_SUM = """
__kernel void partial_sum(__global const float *x, const long n,
                          __global float *out, __local float *scratch) {
    const size_t lid = get_local_id(0);
    float acc = 0.0f;
    for (long i = get_global_id(0); i < n; i += get_global_size(0)) acc += x[i];
    scratch[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t s = get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) out[get_group_id(0)] = scratch[0];
}
"""

TILED_MATMUL = """
__kernel void matmul(const int M, const int N, const int K,
                     __global const float *A, __global const float *B, __global float *C) {
    const int lc = get_local_id(0), lr = get_local_id(1);
    const int col = get_global_id(0), row = get_global_id(1);
    __local float As[TS][TS];
    __local float Bs[TS][TS];
    float acc = 0.0f;
    for (int t = 0; t < K; t += TS) {
        const int ac = t + lc, br = t + lr;
        As[lr][lc] = (row < M && ac < K) ? A[row * K + ac] : 0.0f;
        Bs[lr][lc] = (br < K && col < N) ? B[br * N + col] : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < TS; ++k) acc += As[lr][k] * Bs[k][lc];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (row < M && col < N) C[row * N + col] = acc;
}
"""


def _round_up(n: int, m: int) -> int:
    return -(-n // m) * m


def _subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _run_python(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT, env=_subprocess_env(**env), capture_output=True, text=True, timeout=60,
        check=False,
    )


@pytest.fixture
def device() -> opencl.Device:
    err = opencl.platform_error()
    if err is not None:
        pytest.skip(f"no OpenCL platform: {err}")
    return opencl.default_device()


@pytest.fixture
def cache_env(tmp_path, monkeypatch, device):
    monkeypatch.setenv("FUNCGRAD_CACHE_DIR", str(tmp_path))
    opencl.clear_program_memo()
    opencl.reset_build_stats()
    yield tmp_path / "opencl"
    opencl.clear_program_memo()


def _matmul(device, a, b):
    ts = opencl.preferred_matmul_tile(device)
    prog = opencl.build_program(TILED_MATMUL, device, options=[f"-DTS={ts}"])
    (m, k), (_, n) = a.shape, b.shape
    da, db = opencl.to_device(a, device), opencl.to_device(b, device)
    dc = opencl.empty((m, n), np.float32, device)
    launch = prog.kernel("matmul")
    gsize = (_round_up(n, ts), _round_up(m, ts))

    def run():
        launch(gsize, (ts, ts), np.int32(m), np.int32(n), np.int32(k), da, db, dc)
        return dc

    return run


def test_import_without_pyopencl_and_clear_error():
    res = _run_python(
        """
        import sys
        sys.modules["pyopencl"] = None
        import opencl
        assert "pyopencl" not in [m for m, v in sys.modules.items() if v is not None]
        assert not opencl.available()
        err = opencl.platform_error()
        assert isinstance(err, opencl.OpenCLUnavailableError)
        assert isinstance(err, RuntimeError)
        for call in (opencl.devices, opencl.default_device,
                     lambda: opencl.to_device([1.0, 2.0]),
                     lambda: opencl.build_program("__kernel void k() {}")):
            try:
                call()
            except opencl.OpenCLUnavailableError as e:
                msg = str(e)
            else:
                raise AssertionError("no error")
            assert "pip install pyopencl" in msg, msg
            assert "apt-get install pocl-opencl-icd" in msg, msg
        print("OK")
        """
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "OK"


def test_no_platform_error_message(tmp_path):
    pytest.importorskip("pyopencl")
    res = _run_python(
        """
        import opencl
        err = opencl.platform_error()
        print("AVAILABLE" if err is None else str(err))
        """,
        OCL_ICD_VENDORS=str(tmp_path),
    )
    assert res.returncode == 0, res.stderr
    if res.stdout.strip() == "AVAILABLE":
        pytest.skip("this OpenCL loader ignores OCL_ICD_VENDORS")
    assert "no OpenCL platform" in res.stdout
    assert "pip install pyopencl" in res.stdout and "pocl-opencl-icd" in res.stdout


def test_import_does_not_import_pyopencl():
    res = _run_python("import sys, opencl; print('pyopencl' in sys.modules)")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "False"


def test_device_info_and_tile_sizes(device):
    assert device in opencl.devices()
    assert device.name and device.platform_name and device.driver_version
    assert device.has_fp64 == ("cl_khr_fp64" in device.extensions)
    assert device.local_mem_size > 0 and device.max_work_group_size > 0
    assert device.compute_units > 0 and device.global_mem_size > 0
    assert device.context is device.context
    assert device.queue is device.queue
    ts = opencl.preferred_matmul_tile(device)
    assert ts in (1, 2, 4, 8, 16)
    assert ts * ts <= device.max_work_group_size
    assert 2 * ts * ts * 4 <= device.local_mem_size
    wg = opencl.preferred_work_group_size(device)
    assert wg & (wg - 1) == 0 and wg <= device.max_work_group_size


def test_device_selection_env(device, monkeypatch):
    monkeypatch.setenv(opencl.DEVICE_ENV, device.spec)
    assert opencl.default_device() is device
    monkeypatch.setenv(opencl.DEVICE_ENV, device.name[:8].upper())
    assert opencl.default_device().name.lower().startswith(device.name[:8].lower())
    monkeypatch.setenv(opencl.DEVICE_ENV, "99:99")
    with pytest.raises(opencl.OpenCLUnavailableError, match="no OpenCL device matches"):
        opencl.default_device()
    monkeypatch.setenv(opencl.DEVICE_ENV, "no-such-device-xyz")
    with pytest.raises(opencl.OpenCLUnavailableError, match=device.spec):
        opencl.default_device()
    monkeypatch.delenv(opencl.DEVICE_ENV)
    gpus = [d for d in opencl.devices() if d.is_gpu]
    assert opencl.default_device() is (gpus[0] if gpus else opencl.devices()[0])


def test_vector_add(device, cache_env):
    prog = opencl.build_program(VECTOR_ADD, device)
    add = prog.kernel("vector_add")
    assert prog.kernel("vector_add") is add
    assert opencl.build_program(VECTOR_ADD, device) is prog
    assert opencl.build_stats()["memo_hits"] == 1
    n = 1003
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(n, np.float32), rng.standard_normal(n, np.float32)
    da, db, dc = opencl.to_device(a, device), opencl.to_device(b, device), opencl.empty(n)
    event = add(_round_up(n, 64), 64, da, db, dc, np.int64(n))
    assert event is not None
    assert dc.block_until_ready() is dc
    np.testing.assert_array_equal(dc.to_host(), a + b)
    np.testing.assert_array_equal(np.asarray(dc), a + b)


def test_enqueue_checked_args(device, cache_env):
    prog = opencl.build_program(VECTOR_ADD, device)
    n = 1000
    a, b = np.arange(n, dtype=np.float32), np.ones(n, np.float32)
    da, db, dc = opencl.to_device(a, device), opencl.to_device(b, device), opencl.empty(
        n, np.float32, device)
    prog.kernel("vector_add").enqueue_checked_args(
        (1024,), (64,), [da.buffer, db.buffer, dc.buffer, np.int64(n)])
    np.testing.assert_array_equal(dc.to_host(), a + b)


def test_work_group_tree_reduction(device, cache_env):
    wg = opencl.preferred_work_group_size(device)
    prog = opencl.build_program(TREE_SUM, device)
    partial = prog.kernel("partial_sum")
    n = 1_000_003
    x = np.random.default_rng(1).random(n, dtype=np.float32)
    groups = 64
    dx = opencl.to_device(x, device)
    dparts = opencl.empty(groups, np.float32, device)
    dtotal = opencl.empty(1, np.float32, device)
    scratch = opencl.local_memory(wg * 4)
    partial(groups * wg, wg, dx, np.int64(n), dparts, scratch)
    partial(wg, wg, dparts, np.int64(groups), dtotal, scratch)
    total = dtotal.to_host()[0]
    assert total == pytest.approx(x.astype(np.float64).sum(), rel=1e-5)


def test_tiled_matmul_odd_shapes(device, cache_env):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((100, 70), np.float32)
    b = rng.standard_normal((70, 90), np.float32)
    out = _matmul(device, a, b)().to_host()
    np.testing.assert_allclose(out, a @ b, rtol=1e-4, atol=1e-4)


def test_tiled_matmul_1024_throughput(device, cache_env):
    n = 1024
    rng = np.random.default_rng(3)
    a = rng.standard_normal((n, n), np.float32)
    b = rng.standard_normal((n, n), np.float32)
    run = _matmul(device, a, b)
    run().block_until_ready()
    reps = 3
    start = time.perf_counter()
    for _ in range(reps):
        c = run()
    c.block_until_ready()
    seconds = (time.perf_counter() - start) / reps
    gflops = 2 * n**3 / seconds / 1e9
    print(f"\ntiled matmul {n}^3 TS={opencl.preferred_matmul_tile(device)} on "
          f"{device.name}: {seconds * 1e3:.1f} ms, {gflops:.1f} GFLOP/s")
    np.testing.assert_allclose(c.to_host(), a @ b, rtol=1e-3, atol=1e-3)


_CACHE_PROBE = """
import json, time
import opencl
opencl.default_device().queue
start = time.perf_counter()
prog = opencl.build_program({src!r})
built = time.perf_counter() - start
print(json.dumps({{"stats": opencl.build_stats(), "from_cache": prog.from_cache,
                   "seconds": built}}))
"""


def test_binary_cache_hit_in_new_process(device, cache_env):
    src = f"{VECTOR_ADD}\n// cache probe {time.time_ns()}\n"
    code = _CACHE_PROBE.format(src=src)
    env = {"FUNCGRAD_CACHE_DIR": str(cache_env.parent), "POCL_KERNEL_CACHE": "0"}
    runs = []
    for _ in range(2):
        res = _run_python(code, **env)
        assert res.returncode == 0, res.stderr
        runs.append(json.loads(res.stdout.strip().splitlines()[-1]))
    cold, warm = runs
    assert cold["stats"].get("source_builds") == 1 and not cold["from_cache"]
    assert cold["stats"].get("cache_writes") == 1
    assert warm["stats"].get("binary_loads") == 1 and warm["from_cache"]
    assert warm["stats"].get("source_builds", 0) == 0
    assert warm["seconds"] < cold["seconds"]
    print(f"\ncold build {cold['seconds'] * 1e3:.0f} ms, cached {warm['seconds'] * 1e3:.1f} ms")
    mode = stat.S_IMODE(cache_env.stat().st_mode)
    assert mode == 0o700
    assert len(list(cache_env.glob("*.bin"))) == 1
    assert len(list(cache_env.glob("*.sha256"))) == 1


def _corrupt_and_rebuild(device, cache_env, corrupt):
    prog = opencl.build_program(VECTOR_ADD, device)
    bin_path, sha_path, _ = opencl.BinaryCache().paths(prog.key)
    assert bin_path.exists() and sha_path.exists()
    corrupt(prog.key, bin_path, sha_path)
    opencl.clear_program_memo()
    opencl.reset_build_stats()
    rebuilt = opencl.build_program(VECTOR_ADD, device)
    assert not rebuilt.from_cache
    x = opencl.to_device(np.arange(8, dtype=np.float32), device)
    y = opencl.empty(8, np.float32, device)
    rebuilt.kernel("vector_add")(8, None, x, x, y, np.int64(8))
    np.testing.assert_array_equal(y.to_host(), 2 * np.arange(8, dtype=np.float32))
    opencl.clear_program_memo()
    again = opencl.build_program(VECTOR_ADD, device)
    assert again.from_cache
    return opencl.build_stats()


def test_corrupted_binary_is_rebuilt(device, cache_env):
    def flip_bytes(key, bin_path, sha_path):
        data = bytearray(bin_path.read_bytes())
        data[len(data) // 2] ^= 0xFF
        bin_path.write_bytes(bytes(data))

    stats = _corrupt_and_rebuild(device, cache_env, flip_bytes)
    assert stats["binary_corrupt"] == 1 and stats["source_builds"] == 1


def test_rejected_binary_is_rebuilt(device, cache_env):
    def foreign_binary(key, bin_path, sha_path):
        junk = b"not an OpenCL binary" * 64
        bin_path.write_bytes(junk)
        sha_path.write_text(_digest(key, junk))

    stats = _corrupt_and_rebuild(device, cache_env, foreign_binary)
    assert stats["binary_rejected"] == 1 and stats["source_builds"] == 1


def test_build_error_has_log_and_source_path(device, cache_env):
    bad = "__kernel void broken(__global float *x) { x[0] = undefined_name; }"
    with pytest.raises(opencl.OpenCLBuildError) as info:
        opencl.build_program(bad, device)
    err = info.value
    assert "undefined_name" in err.log
    assert err.source_path and Path(err.source_path).read_text() == bad
    assert err.source_path in str(err) and "build log" in str(err)


def test_buffer_pool_reuses_in_a_loop(device):
    pool = opencl.buffer_pool(device)
    pool.trim()
    shapes = [(257, 3), (1000,), (31, 31)]
    before = pool.stats()
    for step in range(20):
        bufs = [opencl.empty(s, np.float32, device) for s in shapes]
        if step % 2:
            for b in bufs:
                b.release()
        del bufs
    after = pool.stats()
    assert after.allocations - before.allocations == len(shapes)
    assert after.reuses - before.reuses == len(shapes) * 19
    assert after.live_buffers == before.live_buffers
    pool.trim()
    assert pool.stats().pooled_bytes == 0


def test_a_buffer_beyond_the_device_raises_a_clear_memory_error(device):
    # (pyopencl's own error was "LogicError: create_buffer failed: INVALID_BUFFER_SIZE")
    size = 2 * max(device.max_mem_alloc_size, device.global_mem_size)
    shape = (size // 4,)
    with pytest.raises(MemoryError, match=r"OpenCL: cannot allocate .* GiB .*largest "
                                          r"allocation.*backend='c'"):
        opencl.empty(shape, np.float32, device)
    assert opencl.empty((4,), np.float32, device).shape == (4,)   # the pool still works


def test_release_is_idempotent_and_final(device):
    buf = opencl.to_device(np.ones(4, np.float32), device)
    buf.release()
    buf.release()
    assert buf.released
    with pytest.raises(RuntimeError, match="released"):
        buf.to_host()


def test_bucket_sizes():
    for n in [0, 1, 63, 64, 65, 1000, 1024, 1025, 4097, 10**6, 3 * 2**20 + 7]:
        size = opencl.bucket_size(n)
        assert size >= max(n, opencl.buffers.MIN_BUCKET)
        assert size <= max(opencl.buffers.MIN_BUCKET, n * 1.25 + 64)
    assert opencl.bucket_size(1000) == opencl.bucket_size(1010)


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int64, np.uint8, np.bool_])
def test_transfers_roundtrip(device, dtype):
    x = (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype)
    buf = opencl.to_device(x, device)
    x[...] = 0
    out = buf.to_host()
    assert out.dtype == dtype and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype))
    np.testing.assert_array_equal(buf.copy().to_host(), out)
    assert opencl.to_device(np.zeros((0, 5), dtype), device).to_host().shape == (0, 5)
    assert opencl.to_device(np.array(3, dtype), device).to_host() == np.array(3, dtype)


def test_float64_requires_fp64(device, monkeypatch, cache_env):
    if device.has_fp64:
        np.testing.assert_array_equal(opencl.to_device(np.ones(3), device).to_host(), 1.0)
    monkeypatch.setattr(device, "has_fp64", False)
    with pytest.raises(opencl.OpenCLDtypeError) as info:
        opencl.to_device(np.ones(3, np.float64), device)
    assert "float64" in str(info.value) and device.name in str(info.value)
    with pytest.raises(opencl.OpenCLDtypeError, match="float64"):
        opencl.empty(3, np.float64, device)
    add = opencl.build_program(VECTOR_ADD, device).kernel("vector_add")
    x = opencl.empty(4, np.float32, device)
    with pytest.raises(opencl.OpenCLDtypeError, match="float64"):
        add(4, None, x, x, x, np.float64(4))
    with pytest.raises(opencl.OpenCLDtypeError, match="complex128.*complex64"):
        opencl.to_device(np.ones(3, np.complex128), device)


def test_complex_and_bfloat16_buffers_round_trip(device, cache_env):
    import ml_dtypes
    for x in (np.array([1 + 2j, -3.5j], np.complex64),
              np.array([1.5, -2.25, np.inf], ml_dtypes.bfloat16)):
        out = opencl.to_device(x, device).to_host()
        assert out.dtype == x.dtype
        np.testing.assert_array_equal(out, x)
    with pytest.raises(opencl.OpenCLDtypeError, match="cannot live"):
        opencl.to_device(np.array(["a"]), device)


def test_launch_argument_errors(device, cache_env):
    add = opencl.build_program(VECTOR_ADD, device).kernel("vector_add")
    x = opencl.empty(4, np.float32, device)
    with pytest.raises(TypeError, match="np.int64"):
        add(4, None, x, x, x, 4)
    with pytest.raises(TypeError, match="takes 4 arguments"):
        add(4, None, x, x)
    with pytest.raises(ValueError, match="multiple of local_size"):
        add(10, 4, x, x, x, np.int64(4))
    with pytest.raises(KeyError, match="vector_add"):
        add.program.kernel("missing")


def test_reshape_view_shares_memory(device):
    pool = opencl.buffer_pool(device)
    x = np.arange(12, dtype=np.float32)
    base = opencl.to_device(x, device)
    live = pool.stats().live_buffers
    view = base.reshape((3, 4))
    assert view.buffer is base.buffer and view.shape == (3, 4)
    np.testing.assert_array_equal(view.to_host(), x.reshape(3, 4))
    del base
    assert pool.stats().live_buffers == live
    np.testing.assert_array_equal(view.reshape(12).to_host(), x)
    view.release()
    assert view.released and pool.stats().live_buffers == live - 1
    with pytest.raises(ValueError, match="cannot reshape"):
        opencl.empty(5, np.float32, device).reshape((2, 3))


def test_cache_dir_writable_by_others_is_not_loaded(device, cache_env):
    opencl.build_program(VECTOR_ADD, device)
    os.chmod(cache_env, 0o777)
    opencl.clear_program_memo()
    opencl.reset_build_stats()
    assert not opencl.build_program(VECTOR_ADD, device).from_cache
    assert opencl.build_stats().get("binary_loads", 0) == 0
    assert stat.S_IMODE(cache_env.stat().st_mode) == 0o700
    opencl.clear_program_memo()
    assert opencl.build_program(VECTOR_ADD, device).from_cache


_FORK_PROBE = """
    import os, time
    import numpy as np
    import funcgrad as fg
    import opencl
    fg.config.update("backend", "opencl")
    f = fg.jit(lambda x: (x * 2.0).sum())
    if {run_first}:
        print("parent", float(f(np.ones(64, np.float32))), flush=True)
    else:
        opencl.devices()
    pid = os.fork()
    if pid == 0:
        try:
            f(np.ones(64, np.float32) * 3)
            print("child ran", flush=True)
        except opencl.runtime.OpenCLForkError as e:
            print("child error:", str(e).replace(chr(10), " "), flush=True)
        os._exit(0)
    for _ in range(200):
        if os.waitpid(pid, os.WNOHANG)[0]:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        print("child hung")
    print("parent", float(f(np.ones(64, np.float32) * 3)))
"""


@pytest.mark.parametrize("run_first", [True, False])
def test_a_forked_child_gets_an_error_not_a_hang(device, run_first):
    """A child forked from a process that had listed the OpenCL devices (or run a
    program) inherits the driver's state without its threads: its first command never
    finished, and a `multiprocessing` worker hung. It now raises OpenCLForkError, which
    says what to do, and the parent goes on."""
    out = _run_python(_FORK_PROBE.format(run_first=run_first))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(ln.startswith("child error:") and "forked" in ln and "spawn" in ln
               for ln in lines), out.stdout
    assert lines[-1] == "parent 384.0", out.stdout
