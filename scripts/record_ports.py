"""Run every program in tests/ports/ under JAX and record its results as test data for
tests/test_ports.py (tests/data/ports.json). The tests never import JAX: they run the same
source after an import swap (`import jax` -> `import funcgrad as jax`, ...) and compare.

Re-run after adding or changing a program (CPU JAX 0.10.x; the `bench` extra installs it):

    pip install "jax[cpu]==0.10.*"
    python scripts/record_ports.py              # every program; rewrites tests/data/ports.json
    python scripts/record_ports.py vae gmm_em   # only these (the others are kept)

A program is a module with `run() -> dict` of named results. Each result (an array, a number,
or a string) is stored with its dtype and shape: whole when it has at most FULL_LIMIT elements,
otherwise as a strided sample
plus the sum and the sum of absolute values. float32/float16 values are written with the
shortest decimal that reads back to the same value. What the program prints (stdout, with
`jax.debug.print` output flushed by `jax.effects_barrier()` inside the program) is recorded
too. Each program runs twice and must give identical results (the data must be
deterministic).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import math
import os
import sys

import numpy as np

FULL_LIMIT = 256
SAMPLES = 64

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir)
PORTS = os.path.join(ROOT, "tests", "ports")
OUT = os.path.join(ROOT, "tests", "data", "ports.json")


def _number(x, dtype):
    """One element as JSON: ints and bools exact; floats as the shortest decimal of their own
    precision (float32 0.1 is 0.1, not 0.10000000149011612)."""
    if dtype.kind == "b":
        return bool(x)
    if dtype.kind in "iu":
        return int(x)
    x = dtype.type(x)
    if not math.isfinite(float(x)):
        return str(float(x))                  # "nan", "inf", "-inf": JSON has no such numbers
    return float(str(x))


def encode(value) -> dict:
    """A program's result -> {"dtype", "shape", and "data" or "sample"/"sum"/"abs_sum"}, or
    {"str"} for a string (a printed tree structure, key paths)."""
    if isinstance(value, str):
        return {"str": value}
    a = np.asarray(value)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"record_ports: results must be numeric arrays or strings, got "
                        f"{a.dtype}")
    entry = {"dtype": str(a.dtype), "shape": list(a.shape)}
    flat = a.reshape(-1)
    if flat.size <= FULL_LIMIT:
        entry["data"] = [_number(x, a.dtype) for x in flat]
    else:
        stride = -(-flat.size // SAMPLES)
        entry["stride"] = stride
        entry["sample"] = [_number(x, a.dtype) for x in flat[::stride]]
        entry["sum"] = float(flat.astype(np.float64).sum())
        entry["abs_sum"] = float(np.abs(flat.astype(np.float64)).sum())
    return entry


def load(name: str):
    path = os.path.join(PORTS, name + ".py")
    spec = importlib.util.spec_from_file_location(f"ports_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def record(name: str) -> dict:
    import jax

    outputs = []
    for _ in range(2):
        module = load(name)
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            results = module.run()
            jax.effects_barrier()
        entry = {"values": {k: encode(v) for k, v in results.items()}}
        if buf.getvalue():
            entry["stdout"] = buf.getvalue()
        outputs.append(entry)
    if outputs[0] != outputs[1]:
        raise RuntimeError(f"record_ports: {name} is not deterministic (two runs differ)")
    return outputs[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="programs to record (default: all)")
    args = parser.parse_args(argv)
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    if jax.config.jax_enable_x64:
        sys.exit("record_ports: run with x64 off (JAX's default); unset JAX_ENABLE_X64")
    available = sorted(f[:-3] for f in os.listdir(PORTS) if f.endswith(".py"))
    names = args.names or available
    unknown = sorted(set(names) - set(available))
    if unknown:
        sys.exit(f"record_ports: no program named {unknown} in {PORTS}")
    data = {"jax_version": jax.__version__, "programs": {}}
    if args.names and os.path.exists(OUT):
        with open(OUT) as f:
            data["programs"] = json.load(f)["programs"]
        data["jax_version"] = jax.__version__
    for name in names:
        print(f"recording {name}", file=sys.stderr)
        data["programs"][name] = record(name)
    data["programs"] = {k: data["programs"][k] for k in sorted(data["programs"])
                        if k in available}
    with open(OUT, "w") as f:
        json.dump(data, f, separators=(",", ":"), sort_keys=False)
        f.write("\n")
    print(f"wrote {len(data['programs'])} programs to {os.path.normpath(OUT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
