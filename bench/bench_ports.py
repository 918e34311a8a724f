"""The JAX programs of tests/ports (written as JAX's tutorials write them), run whole under
funcgrad (imports swapped, as the port tests do) and under JAX, each in a fresh process:
the first call of `run()` (tracing, compiling, the disk cache warm for funcgrad if an
earlier run filled it) and the warm time (the fastest of the next `--repeats` calls).

    python bench/bench_ports.py [--ports a,b,...] [--repeats 3] [--json out.json]

It finds where a program we did not write is slow: a warm ratio far above 1 points at a
path that runs operation by operation (an eager loop, a draw, a composite function) where
JAX runs one compiled call. Printed: one row per port and the geometric mean of the warm
ratios. JAX is needed (`pip install -e .[bench]`); without it only funcgrad's column runs.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PORTS = ROOT / "tests" / "ports"


def _time_one(lib: str, name: str, repeats: int) -> list[float]:
    """[first call, fastest warm call] of port `name` under `lib` ('funcgrad' or 'jax'),
    in this process."""
    src = (PORTS / f"{name}.py").read_text()
    if lib == "funcgrad":
        sys.path.insert(0, str(ROOT / "tests"))
        sys.path.insert(0, str(ROOT))
        from test_ports import swap_imports
        src = swap_imports(src)
        import funcgrad as block_lib
    else:
        import jax as block_lib
    module = types.ModuleType("port_" + name)       # (registered: dataclasses look it up)
    sys.modules[module.__name__] = module
    exec(compile(src, f"{name}.py", "exec"), module.__dict__)  # noqa: S102 (our programs)
    mod = module.__dict__

    def call():
        with contextlib.redirect_stdout(io.StringIO()):
            block_lib.block_until_ready(mod["run"]())

    t = time.perf_counter()
    call()
    first = time.perf_counter() - t
    warm = []
    for _ in range(repeats):
        t = time.perf_counter()
        call()
        warm.append(time.perf_counter() - t)
    return [first, min(warm)]


def _measure(lib: str, name: str, repeats: int) -> list[float] | None:
    env = dict(os.environ)
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    proc = subprocess.run([sys.executable, __file__, "--one", lib, name,
                           "--repeats", str(repeats)], capture_output=True, text=True,
                          timeout=900, env=env)
    if proc.returncode != 0:
        print(f"{name} under {lib} failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ports", default="", help="comma-separated port names (default: all)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", default="", help="also write the figures here")
    ap.add_argument("--one", nargs=2, metavar=("LIB", "PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        print(json.dumps(_time_one(args.one[0], args.one[1], args.repeats)))
        return 0
    names = [n for n in args.ports.split(",") if n] or \
        sorted(p.stem for p in PORTS.glob("*.py"))
    try:
        import importlib.util
        have_jax = importlib.util.find_spec("jax") is not None
    except ImportError:
        have_jax = False
    libs = ["funcgrad"] + (["jax"] if have_jax else [])
    print(f"# ports: {len(names)}, warm = fastest of {args.repeats} calls after the first; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'port':28s} {'fg first':>9s} {'fg warm':>9s} {'jax first':>10s} "
          f"{'jax warm':>9s} {'warm fg/jax':>12s}")
    rows, ratios = {}, []
    for name in names:
        res = {lib: _measure(lib, name, args.repeats) for lib in libs}
        rows[name] = res
        f, j = res.get("funcgrad"), res.get("jax")
        cells = [f"{f[0]:9.3f} {f[1]:9.4f}" if f else f"{'-':>9s} {'-':>9s}",
                 f"{j[0]:10.3f} {j[1]:9.4f}" if j else f"{'-':>10s} {'-':>9s}"]
        ratio = f[1] / j[1] if f and j and j[1] > 0 else None
        if ratio is not None:
            ratios.append(ratio)
        print(f"{name:28s} {cells[0]} {cells[1]} "
              f"{'' if ratio is None else f'{ratio:12.2f}'}", flush=True)
    if ratios:
        geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        print(f"# geometric mean of the warm ratios (fg/jax) over {len(ratios)} ports: "
              f"{geo:.2f}; above 2: {sum(r > 2 for r in ratios)}, below 1: "
              f"{sum(r < 1 for r in ratios)}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
