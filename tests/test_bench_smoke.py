"""The benchmark suite (`python -m bench`) in miniature: every workload builds, runs through
the harness's own worker and agrees with its NumPy version; the contention helper pins and
stops its spinners; the report shows p50 / p95 and judges the load targets. funcgrad and
NumPy only (JAX and PyTorch are benchmark extras, not needed here)."""
from __future__ import annotations

import os
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:                 # `bench` is a top-level folder, not installed
    sys.path.insert(0, ROOT)

from bench import report as R
from bench import run as bench_run
from bench import workloads as W
from bench.busy import Spinners, busy_cpus, usable_cpus


def test_registry_lists_every_workload_once_with_a_check():
    assert sorted(W.ORDER) == sorted([*W.WORKLOADS, "first_call"])
    for name, wl in W.WORKLOADS.items():
        assert wl.name == name
        assert "funcgrad" in wl.builders, name
        assert "numpy" in wl.builders or wl.reference is not None, (
            f"{name} has nothing to check funcgrad against")


@pytest.fixture
def one_thread():
    """BLAS and OpenMP pools limited to one thread (when threadpoolctl, which scikit-learn
    brings, is there): spinning pools on a shared machine make the smoke test crawl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1):
        yield


@pytest.mark.parametrize("name", [n for n in W.ORDER if n != "first_call"])
def test_workload_builds_and_agrees_with_numpy(name, one_thread):
    # the check the worker makes: the result of the second call of each framework (a
    # training-loop workload has taken two steps by then)
    wl = W.WORKLOADS[name]
    data = wl.make_data(True)
    if "numpy" in wl.builders:
        run, to_np = wl.builders["numpy"](data)
        run()
        ref = to_np(run())
    else:
        ref = wl.reference(data)
    run, to_np = wl.builders["funcgrad"](data)
    run()
    got = to_np(run())
    err, why = bench_run._compare(got, ref)
    assert why is None and err <= wl.tol, (name, err, why)


def test_worker_times_and_checks_a_training_loop(one_thread):
    # through the harness's worker: p50 / p95 recorded, and the check of a stateful
    # workload made on the second step's state before the calibration calls move it on
    res = bench_run.worker("mnist1d_step", ["funcgrad", "numpy"], rounds=2, budget_s=0.0,
                           gap_s=0.0, sample_s=0.0, quick=True)
    for fw in ("funcgrad", "numpy"):
        r = res["frameworks"][fw]
        assert r["status"] == "ok", r.get("traceback", r)
        assert r["n"] == 2 and 0 < r["min"] <= r["median"] <= r["p95"]
    assert res["frameworks"]["funcgrad"]["check"]["ok"]


def test_a_training_loop_moves_on_every_call():
    wl = W.WORKLOADS["mnist1d_step"]
    run, to_np = wl.builders["numpy"](wl.make_data(True))
    run()
    second = [a.copy() for a in to_np(run())]
    third = to_np(run())
    assert any(abs(a - b).max() > 0 for a, b in zip(second, third))


def test_percentile_interpolates():
    assert bench_run._percentile([3.0], 95) == 3.0
    assert bench_run._percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert bench_run._percentile(list(map(float, range(1, 21))), 95) == pytest.approx(19.05)


@pytest.mark.skipif(len(usable_cpus()) < 2, reason="needs two usable CPUs")
def test_spinners_are_pinned_to_the_last_cores_and_stopped():
    last = usable_cpus()[-1]
    with Spinners(1) as sp:
        assert sp.cpus == [last]
        (proc,) = sp.procs
        assert os.sched_getaffinity(proc.pid) == {last}
        assert proc.poll() is None
        time.sleep(0.3)                  # long enough for /proc to count CPU ticks
    assert proc.poll() is not None
    assert sp.load is not None and sp.load > 0
    assert f"CPU {last}" in sp.describe()


def test_busy_refuses_to_leave_no_free_core():
    n = len(usable_cpus())
    with pytest.raises(ValueError, match=f"--busy {n} leaves no free core"):
        busy_cpus(n)
    with pytest.raises(ValueError, match="negative"):
        busy_cpus(-1)
    assert busy_cpus(0) == []


def _fake(workload, busy, threads, fg, jax, p95=None):
    def fw(t):
        return {"status": "ok", "median": t, "p95": p95 or t * 1.1, "min": t * 0.9, "n": 5}
    return {"workload": workload, "threads": threads, "busy": busy,
            "busy_cpus": [1] if busy else [], "busy_load": 0.98 if busy else None,
            "frameworks": {"funcgrad": fw(fg), "jax": fw(jax)}}


def test_report_shows_p50_p95_and_judges_the_load_targets():
    results = [
        _fake("mlp_step", 0, 1, 2.0e-3, 2.5e-3),
        _fake("gru_step", 0, 1, 10e-3, 10e-3, p95=20e-3),     # p95 = 2 x p50: NOT met
        _fake("mlp_step", 1, 2, 2.1e-3, 2.2e-3),              # 1.05x own, 0.95x JAX: met
        _fake("gru_step", 1, 2, 12e-3, 11e-3),                # 1.2x own, 1.09x JAX: NOT met
    ]
    info = {"platform": "test", "python": "3", "cores": 2}
    text = R.report(results, info, None, None, "python -m bench", "today")
    assert "| mlp_step | 2.00 / 2.20 ms |" in text
    assert "1 spinning process pinned to CPU 1" in text
    _, rows = R.targets(results)
    rows = dict(rows)
    spread = rows["funcgrad p95 ≤ 1.5× p50, every workload"]
    assert spread[(0, 1)][1] is False and "gru_step" in spread[(0, 1)][0]
    assert spread[(1, 2)][1] is True
    vs_jax = rows["under load: every workload ≤ 1× JAX (same load)"]
    assert vs_jax[(0, 1)][1] is None
    assert vs_jax[(1, 2)][1] is False and "above 1: gru_step" in vs_jax[(1, 2)][0]
    vs_self = rows["under load: every workload ≤ 1.15× funcgrad's own 1-thread time "
                   "without load"]
    assert vs_self[(1, 2)][1] is False and "1.20×" in vs_self[(1, 2)][0]
    assert "mlp_step" not in vs_self[(1, 2)][0].split("above")[1]


def test_the_elementwise_floor_is_measured_here_and_judged_beside_the_constant():
    # the floor is np.add over the same arrays on this machine (a constant measured on
    # another machine asked more of a one-thread run than its memory gives)
    here = W.streaming_floor_s(1, reps=3)
    assert 0 < here < 1.0 and W.streaming_floor_s(1) == here      # measured once
    res = _fake("elementwise", 0, 1, 8e-3, 30e-3)
    for fw in ("funcgrad", "jax"):
        res["frameworks"][fw]["metrics"] = W.ew_metrics(fw, res["frameworks"][fw]["median"])
    m = res["frameworks"]["funcgrad"]["metrics"]
    assert m["%floor_here"] == pytest.approx(100 * here / 8e-3)
    rows = dict(R.targets([res])[1])
    text, met = rows["elementwise ≥ 70% of this machine's floor (np.add of the same "
                     "arrays, same threads)"][(0, 1)]
    assert text.startswith(f"{100 * here / 8e-3:.0f}% of ") and met == (here / 8e-3 >= 0.7)
    assert "this machine's floor" in R._extra_metrics(res)


def test_output_option_keeps_the_analysis(tmp_path):
    out = tmp_path / "results.md"
    out.write_text("old table\n\n## Analysis\n\nkept words\n")
    R.write_results("new table\n", str(out))
    text = out.read_text()
    assert "new table" in text and "kept words" in text and "old table" not in text


def test_examples_cpu_target():
    from bench.examples_cpu import judge

    def m(wall2, cpu2):
        return {1: {"wall": 2.0, "cpu": 2.0}, 2: {"wall": wall2, "cpu": cpu2}}
    assert judge(m(1.9, 2.5))[1] is False           # more CPU, only 1.05x faster
    assert judge(m(1.5, 2.5))[1] is True            # more CPU, 1.33x faster
    assert judge(m(2.2, 1.9))[1] is True            # slower but no more CPU
    assert judge({1: {"error": "exit code 1"}, 2: {"error": "exit code 1"}})[1] is False
    # NumPy's OpenBLAS pool's CPU time left out: 2.5 - 0.6 = 1.9 s, less than one thread's
    with_pool = {1: {"wall": 2.0, "cpu": 2.0, "numpy_pool": 0.0},
                 2: {"wall": 1.9, "cpu": 2.5, "numpy_pool": 0.6}}
    assert judge(with_pool)[1] is False
    assert judge(with_pool, without_numpy_pool=True)[1] is True


def test_examples_cpu_launcher_runs_a_script_as_main_and_reports_its_threads(tmp_path):
    import json
    import subprocess
    import sys

    from bench.examples_cpu import _LAUNCHER, numpy_pool_cpu, other_threads_cpu
    script = tmp_path / "ex.py"
    script.write_text("import sys, threading\n"
                      "t = threading.Thread(target=lambda: sum(range(10**6)))\n"
                      "t.start(); t.join()\n"
                      "if __name__ == '__main__':\n"
                      "    print('RESULT', sys.argv[1:], sys.path[0])\n")
    out = tmp_path / "cpu.json"
    env = dict(os.environ, FUNCGRAD_EXAMPLES_CPU_OUT=str(out), OPENBLAS_NUM_THREADS="2")
    p = subprocess.run([sys.executable, "-c", _LAUNCHER, str(script), "--smoke"], env=env,
                       capture_output=True, text=True, check=True)
    assert p.stdout.strip() == f"RESULT ['--smoke'] {tmp_path}"
    report = json.loads(out.read_text())
    assert str(os.getpid()) not in report["threads"] and str(report["main"]) in report["threads"]
    assert all(v >= 0 for v in report["threads"].values())
    total = sum(report["threads"].values())
    assert 0.0 <= numpy_pool_cpu(report) + other_threads_cpu(report) <= total


def test_ports_benchmark_times_a_port_under_funcgrad():
    from bench import bench_ports
    first, warm = bench_ports._time_one("funcgrad", "pytrees", 1)
    assert first > 0 and warm > 0


def test_fresh_process_benchmark_runs_a_tree_and_reports_its_plans(capsys):
    from bench import bench_fresh_process as B
    assert B.main(["--workload", "tiny_step", "--steps", "210", "--runs", "1",
                   "--threads", "2", "--trees", f"this={ROOT}"]) == 0
    out = capsys.readouterr().out
    line = [x for x in out.splitlines() if x.startswith("round 1")][0]
    assert "this:" in line and "first" in line and "last" in line and "plans:" in line
