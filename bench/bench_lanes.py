"""Interleaved A/B of the lanes lowerings' switches in one process: rows moved into and out
of tiles by transposes (`codegen.TILE_SHUFFLE`) and reductions alone over short rows in
lanes (`c.LONE_ROW_LANES`), each program compiled afresh for every round and switch, the
same bits checked between them; JAX's time beside it where JAX is installed.

    taskset -c 0 env FUNCGRAD_NUM_THREADS=1 OMP_NUM_THREADS=1 python -m bench.bench_lanes

prints, per program, the least of the rounds' medians with the switch on and off (the
host's speed drifts over minutes on a shared VM: the least of interleaved rounds is what
compares)."""
from __future__ import annotations

import argparse
import time

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import nn
from funcgrad.backends import c as cbackend
from funcgrad.lowering import codegen


def _layer_norm(np_, x):
    m = np_.mean(x, -1, keepdims=True)
    return (x - m) / np_.sqrt(np_.var(x, -1, keepdims=True) + 1e-5)


def _programs(np_, nn_):
    """name -> (function of the framework's numpy and nn modules, input shapes)."""
    return {
        "accuracy (96000, 10)": (lambda x, y: np_.mean((np_.argmax(x, -1) == y).astype(
            np_.float32)), ((96000, 10), "labels")),
        "argmax (48000, 20)": (lambda x: np_.argmax(x, -1), ((48000, 20),)),
        "argmax (30000, 32)": (lambda x: np_.argmax(x, -1), ((30000, 32),)),
        "softmax (96000, 10)": (lambda x: nn_.softmax(x, axis=-1), ((96000, 10),)),
        "log_softmax (96000, 10)": (lambda x: nn_.log_softmax(x, axis=-1), ((96000, 10),)),
        "layer norm (30000, 33)": (lambda x: _layer_norm(np_, x), ((30000, 33),)),
        "max alone (96000, 10)": (lambda x: np_.max(x, -1), ((96000, 10),)),
        "sum alone (96000, 10)": (lambda x: np_.sum(x, -1), ((96000, 10),)),
    }


def _args(shapes, rng):
    out = []
    for s in shapes:
        if s == "labels":
            out.append(rng.integers(0, 10, out[0].shape[0]).astype(np.int32))
        else:
            out.append((3 * rng.standard_normal(s)).astype(np.float32))
    return out


def _median_us(f, args, n):
    f(*args).block_until_ready()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        f(*args).block_until_ready()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)) * 1e6


def _switch(on: bool):
    codegen.TILE_SHUFFLE = on
    cbackend.LONE_ROW_LANES = on


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--calls", type=int, default=300, help="timed calls per round")
    a = p.parse_args(argv)
    rng = np.random.default_rng(0)
    progs = _programs(fnp, nn)
    data = {k: _args(shapes, rng) for k, (_, shapes) in progs.items()}
    best = {k: {True: [], False: []} for k in progs}
    for _ in range(a.rounds):
        for on in (True, False):
            _switch(on)
            for k, (f, _) in progs.items():
                fg.clear_caches()
                jf = fg.jit(lambda *x, f=f: f(*x))     # (a new function each time)
                args = [fg.device_put(x) for x in data[k]]
                best[k][on].append(_median_us(jf, args, a.calls))
                out = np.asarray(jf(*args)).reshape(-1)
                ref = best[k].setdefault("bits", out)
                assert np.array_equal(out.view(np.uint8), ref.view(np.uint8)), k
    _switch(True)
    jax_us = {}
    try:
        import jax
        import jax.numpy as jnp
        jprogs = _programs(jnp, jax.nn)
        for k, (f, _) in jprogs.items():
            jf = jax.jit(f)
            args = [jax.device_put(x) for x in data[k]]
            jax_us[k] = min(_median_us(jf, args, a.calls) for _ in range(a.rounds))
    except ImportError:
        pass
    print(f"{'program (float32)':28s} {'on':>9s} {'off':>9s} {'on/off':>7s} {'JAX':>9s}")
    for k in progs:
        on, off = min(best[k][True]), min(best[k][False])
        j = f"{jax_us[k]:9.1f}" if k in jax_us else f"{'-':>9s}"
        print(f"{k:28s} {on:9.1f} {off:9.1f} {on / off:7.2f} {j}   (us)")


if __name__ == "__main__":
    main()
