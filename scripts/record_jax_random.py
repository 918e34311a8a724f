"""Record `jax.random`'s outputs once, as test data for tests/test_random_jax.py.

The tests never import JAX: they replay every case recorded here with `funcgrad.random` and
compare with JAX's numbers (bit for bit, or within a few ulps where JAX's result goes through
XLA's own transcendental functions; the test file says which).

Re-run (CPU JAX 0.10.x, the project's `bench` extra installs it):

    pip install "jax[cpu]==0.10.*"
    python scripts/record_jax_random.py          # rewrites tests/data/jax_random.json

Each case is plain data: the function name, the key (a seed for `random.PRNGKey`, a seed for
the typed `random.key`, or either followed by a path of split/fold_in steps), the positional
and keyword arguments, whether JAX ran with `jax_enable_x64`, an optional `vmap` count (the
function mapped over `split(key, n)`), and JAX's output. Arrays of up to `FULL_LIMIT` elements
are stored whole; larger ones as a SHA-256 of their bytes plus a strided sample.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys

import numpy as np

FULL_LIMIT = 4096
SAMPLE_COUNT = 257
BIG = 70_001          # > 2**16 elements: exercises the counter layout beyond small arrays

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "tests", "data",
                   "jax_random.json")


# --- argument encoding (shared format with tests/test_random_jax.py) ---------------------

def arr(values, dtype):
    return {"array": np.asarray(values, dtype).tolist(), "dtype": str(np.dtype(dtype))}


def scalar(value, dtype):
    return {"scalar": np.asarray(value, dtype).item(), "dtype": str(np.dtype(dtype))}


def dt(name):
    return {"dtype": name}


def shape(*dims):
    return {"tuple": list(dims)}


def decode(v, jnp):
    """Encoded argument -> the JAX-side value."""
    if isinstance(v, dict):
        if "array" in v:
            return jnp.asarray(np.asarray(v["array"], v["dtype"]))
        if "scalar" in v:
            return np.asarray(v["scalar"], v["dtype"])[()]
        if "dtype" in v:
            return np.dtype(v["dtype"])
        if "tuple" in v:
            return tuple(v["tuple"])
        if "pytype" in v:
            return {"float": float, "int": int}[v["pytype"]]
        return {k: decode(x, jnp) for k, x in v.items()}
    if isinstance(v, list):
        return [decode(x, jnp) for x in v]
    return v


# --- the cases ------------------------------------------------------------------------------

def case(fn, key=None, *args, x64=False, vmap=None, **kwargs):
    c = {"fn": fn, "key": key, "args": list(args), "kwargs": kwargs, "x64": x64}
    if vmap is not None:
        c["vmap"] = vmap
    return c


def seed(s, *path):
    return {"seed": s, "path": [list(p) for p in path]}


def typed(s, *path):
    return {"typed": s, "path": [list(p) for p in path]}


def cases():
    out = []
    add = out.append
    seeds = [0, 1, 42, 2 ** 31 - 1]
    shapes = [shape(), shape(1), shape(7), shape(3, 5), shape(2, 3, 4), shape(BIG)]

    # keys
    for s in [0, 1, 42, -1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5,
              -2 ** 31, -2 ** 31 - 1]:
        add(case("PRNGKey", None, s))
        add(case("PRNGKey", None, s, x64=True))
    add(case("PRNGKey", None, scalar(2 ** 32 - 1, "uint32")))
    add(case("PRNGKey", None, scalar(-7, "int32")))
    add(case("PRNGKey", None, scalar(2 ** 40 + 3, "int64"), x64=True))
    add(case("PRNGKey", None, scalar(-5, "int64"), x64=True))
    for s in [0, 42, -3]:
        add(case("key_data", typed(s)))
    for s in seeds:
        for num in [1, 2, 3, 5, 16, shape(2, 3)]:
            add(case("split", seed(s), num))
    add(case("split", seed(7)))
    add(case("split", seed(7), 0))
    add(case("split", typed(7), 4))
    add(case("split", typed(7, ("split", 3, 2)), 2))
    for d in [0, 1, 7, 2 ** 31 - 1, 2 ** 31 + 5, 2 ** 32 - 1, scalar(-1, "int32"),
              scalar(123456, "uint32"), -1, 2 ** 32]:
        add(case("fold_in", seed(0), d))
    add(case("fold_in", seed(42, ("split", 4, 3)), 99))
    add(case("fold_in", typed(5), 3))
    add(case("fold_in", seed(3), 2 ** 40, x64=True))

    # bits
    for s in seeds[:2]:
        for sh in shapes:
            add(case("bits", seed(s), sh))
    for d in ["uint8", "uint16", "uint32"]:
        add(case("bits", seed(5), shape(3, 7), dt(d)))
    add(case("bits", seed(5), shape(9), dt("uint64"), x64=True))
    add(case("bits", seed(5), shape(BIG), x64=True))
    add(case("bits", typed(11, ("fold_in", 3)), shape(6)))
    add(case("bits", seed(2), shape(4), vmap=3))

    # uniform
    for s in seeds:
        for sh in shapes:
            add(case("uniform", seed(s), sh))
    add(case("uniform", seed(3), shape(4000), minval=-1.3, maxval=2.6))
    add(case("uniform", seed(3), shape(4000), minval=1e6, maxval=1e6 + 0.37))
    add(case("uniform", seed(3), shape(BIG), minval=-0.05, maxval=0.05))
    add(case("uniform", seed(4), shape(3, 4), minval=arr([[-1.0], [0.5], [2.0]], "float32"),
             maxval=arr([1.0, 2.0, 3.0, 4.5], "float32")))
    add(case("uniform", seed(4), shape(5), minval=-3, maxval=5))
    add(case("uniform", seed(4), shape(5), minval=2.0, maxval=2.0))
    add(case("uniform", seed(8), shape(6), dt("float16")))
    add(case("uniform", seed(8), shape(BIG), dt("float16")))
    add(case("uniform", seed(9), shape(2, 3), dt("float32"), 0.0, 10.0))
    add(case("uniform", typed(9), shape(5)))
    add(case("uniform", seed(10), shape(3), vmap=4, minval=-2.0, maxval=0.7))
    for sh in [shape(), shape(7), shape(BIG)]:
        add(case("uniform", seed(6), sh, dt("float64"), x64=True))
    add(case("uniform", seed(6), shape(4000), dt("float64"), -1.3, 2.6, x64=True))
    add(case("uniform", seed(6), shape(9), x64=True))
    add(case("uniform", seed(6), shape(9), dt("float32"), x64=True))

    # normal
    for s in seeds:
        for sh in shapes:
            add(case("normal", seed(s), sh))
    add(case("normal", seed(12), shape(1000, 1000)))
    add(case("normal", seed(12), shape(0, 3)))
    add(case("normal", seed(12), shape(9), dt("float16")))
    add(case("normal", typed(12), shape(3, 3)))
    add(case("normal", seed(13), shape(2), vmap=5))
    for sh in [shape(), shape(7), shape(BIG)]:
        add(case("normal", seed(6), sh, dt("float64"), x64=True))

    # truncated_normal
    for lo, hi in [(-2.0, 2.0), (-1.0, 3.0), (0.0, float("inf")), (-float("inf"), 0.5),
                   (1.5, 4.0), (-0.1, 0.1)]:
        add(case("truncated_normal", seed(14), lo, hi, shape(500)))
    add(case("truncated_normal", seed(15), arr([-1.0, 0.0, 0.5], "float32"),
             arr([[1.0], [2.0]], "float32")))
    add(case("truncated_normal", seed(15), -2.0, 2.0, shape(BIG)))
    add(case("truncated_normal", seed(16), -2.0, 2.0, shape(300), dt("float64"), x64=True))

    # bernoulli / rademacher
    add(case("bernoulli", seed(17), 0.5, shape(100)))
    add(case("bernoulli", seed(17), 0.3, shape(BIG)))
    add(case("bernoulli", seed(17)))
    add(case("bernoulli", seed(18), arr([0.0, 0.2, 0.9, 1.0], "float32"), shape(3, 4)))
    add(case("bernoulli", seed(18), arr([0.1, 0.6], "float32")))
    add(case("bernoulli", seed(18), 1e-8, shape(1000), mode="high"))
    add(case("bernoulli", seed(19), scalar(0.25, "float64"), shape(50), x64=True))
    add(case("rademacher", seed(20), shape(40)))
    add(case("rademacher", seed(20), shape(3, 5), dt("float32")))

    # randint
    for lo, hi in [(0, 10), (-3, 5), (0, 2 ** 31 - 1), (-2 ** 31, 2 ** 31 - 1), (5, 5),
                   (7, 3), (0, 1000003)]:
        add(case("randint", seed(21), shape(64), lo, hi))
    add(case("randint", seed(21), shape(), 0, 100))
    add(case("randint", seed(22), shape(BIG), -1000, 1000))
    add(case("randint", seed(22), shape(3, 4), arr([[0], [10], [-5]], "int32"),
             arr([5, 20, 30, 100], "int32")))
    for d, lo, hi in [("int8", -128, 128), ("uint8", 0, 256), ("int16", -7, 300),
                      ("uint16", 0, 65536), ("uint32", 5, 2 ** 31 - 1), ("int32", 3, 9)]:
        add(case("randint", seed(23), shape(40), lo, hi, dt(d)))
    add(case("randint", seed(24), shape(5), 0, 10, vmap=3))
    add(case("randint", seed(25), shape(40), -2 ** 40, 2 ** 40, x64=True))
    add(case("randint", seed(25), shape(40), 0, 10, x64=True))
    add(case("randint", seed(25), shape(40), 0, 10, dt("int32"), x64=True))
    add(case("randint", seed(25), shape(40), 0, 2 ** 62, dt("uint64"), x64=True))

    # permutation / choice
    for n in [0, 1, 2, 10, 100, 2000]:
        add(case("permutation", seed(26), n))
    add(case("permutation", seed(27), arr(np.arange(7) * 1.5, "float32")))
    add(case("permutation", seed(27), arr(np.arange(15).reshape(5, 3), "int32")))
    add(case("permutation", seed(27), arr(np.arange(15).reshape(5, 3), "int32"), axis=1))
    add(case("permutation", seed(27), arr(np.arange(15).reshape(5, 3), "int32"), axis=1,
             independent=True))
    add(case("permutation", seed(27), arr(np.arange(24).reshape(4, 6), "int32"), 0, True))
    add(case("permutation", seed(28), 10, vmap=3))
    add(case("permutation", seed(26), 10, x64=True))
    add(case("choice", seed(29), 10, shape(3)))
    add(case("choice", seed(29), 10))
    add(case("choice", seed(29), arr(np.arange(12).reshape(6, 2), "float32"), shape(4)))
    add(case("choice", seed(29), arr(np.arange(12).reshape(2, 6), "float32"), shape(4),
             axis=1))
    add(case("choice", seed(30), 10, shape(5), False))
    add(case("choice", seed(30), 2000, shape(7), False))
    add(case("choice", seed(30), arr(np.arange(8) * 2, "int32"), shape(2, 2), False))
    add(case("choice", seed(31), 4, shape(20), True, arr([0.1, 0.2, 0.3, 0.4], "float32")))
    add(case("choice", seed(31), 5, shape(3), False,
             arr([0.1, 0.0, 0.3, 0.4, 0.2], "float32")))
    add(case("choice", seed(31), 4, shape(20), True, arr([0.1, 0.2, 0.3, 0.4], "float64"),
             x64=True))

    # categorical / gumbel and the other transforms of one uniform
    logits = arr([[0.1, -1.0, 2.0, 0.3], [1.0, 1.0, 1.0, 1.0], [-3.0, 0.0, 3.0, 0.5]],
                 "float32")
    add(case("categorical", seed(32), arr([0.5, -1.0, 2.0, 0.0, 1.0], "float32"),
             shape=shape(25)))
    add(case("categorical", seed(32), logits))
    add(case("categorical", seed(32), logits, 0))
    add(case("categorical", seed(32), logits, shape=shape(6, 3)))
    add(case("categorical", seed(32), logits, replace=False, shape=shape(2, 3)))
    add(case("categorical", seed(32), logits, vmap=3))
    for fn in ["gumbel", "exponential", "laplace", "logistic", "cauchy"]:
        for sh in [shape(), shape(7), shape(3, 4), shape(BIG)]:
            add(case(fn, seed(33), sh))
        add(case(fn, seed(34), shape(9), dt("float64"), x64=True))
    add(case("gumbel", seed(35), shape(50), mode="high"))

    # lognormal, multivariate_normal, orthogonal
    add(case("lognormal", seed(36), shape=shape(20)))
    add(case("lognormal", seed(36), 0.5, shape(3, 4)))
    add(case("lognormal", seed(36), arr([0.1, 1.0, 2.0], "float32")))
    cov = np.array([[2.0, 0.3, -0.4], [0.3, 1.0, 0.2], [-0.4, 0.2, 0.7]])
    add(case("multivariate_normal", seed(37), arr([1.0, -2.0, 0.5], "float32"),
             arr(cov, "float32"), shape(6)))
    add(case("multivariate_normal", seed(37), arr([0.0, 1.0], "float32"),
             arr([[1.0, 0.9], [0.9, 1.0]], "float32")))
    add(case("multivariate_normal", seed(37), arr([1.0, -2.0, 0.5], "float64"),
             arr(cov, "float64"), shape(4), x64=True))
    add(case("orthogonal", seed(38), 4))
    add(case("orthogonal", seed(38), 3, shape(2)))
    add(case("orthogonal", seed(38), 3, m=5))
    add(case("orthogonal", seed(38), 5, m=2))

    # gamma family, poisson
    add(case("gamma", seed(39), 1.0, shape(20)))
    add(case("gamma", seed(39), 0.5, shape(20)))
    add(case("gamma", seed(39), 3.0, shape(3, 4)))
    add(case("gamma", seed(39), 0.01, shape(10)))
    add(case("gamma", seed(39), arr([0.3, 1.0, 2.5, 10.0, 100.0], "float32")))
    add(case("gamma", seed(39), 2.0, shape(2000)))
    add(case("gamma", seed(40), 1.7, shape(3), vmap=3))
    add(case("gamma", seed(41), 2.5, shape(12), dt("float64"), x64=True))
    add(case("loggamma", seed(42), 0.1, shape(10)))
    add(case("loggamma", seed(42), arr([0.5, 4.0], "float32")))
    add(case("beta", seed(43), 2.0, 3.0, shape(20)))
    add(case("beta", seed(43), 0.5, 0.5, shape(20)))
    add(case("beta", seed(43), arr([0.2, 1.0, 5.0], "float32"), 2.0))
    add(case("dirichlet", seed(44), arr([1.0, 2.0, 3.0], "float32")))
    add(case("dirichlet", seed(44), arr([0.5, 0.5, 0.5, 0.5], "float32"), shape(5)))
    add(case("dirichlet", seed(44), arr([[1.0, 1.0], [10.0, 0.1]], "float32")))
    add(case("t", seed(45), 3.0, shape(20)))
    add(case("t", seed(45), arr([1.0, 5.0, 30.0], "float32")))
    add(case("chisquare", seed(46), 4.0, shape(10)))
    add(case("pareto", seed(47), 3.0, shape(10)))
    add(case("poisson", seed(48), 3.0, shape(30)))
    add(case("poisson", seed(48), 50.0, shape(30)))
    add(case("poisson", seed(48), arr([0.0, 0.5, 5.0, 12.0, 100.0, 1000.0], "float32")))
    add(case("poisson", seed(48), 9.9, shape(2000)))
    add(case("poisson", seed(48), 3.0, shape(8), dt("int64"), x64=True))

    # typed keys through transforms
    add(case("normal", typed(49, ("split", 2, 1), ("fold_in", 12)), shape(4)))
    add(case("randint", typed(49), shape(6), 0, 9, vmap=2))
    return out


# --- running them under JAX -----------------------------------------------------------------

def _derive_key(spec, jax):
    if spec is None:
        return None
    k = jax.random.PRNGKey(spec["seed"]) if "seed" in spec else jax.random.key(spec["typed"])
    for step in spec["path"]:
        if step[0] == "split":
            k = jax.random.split(k, step[1])[step[2]]
        elif step[0] == "fold_in":
            k = jax.random.fold_in(k, step[1])
        else:
            raise ValueError(f"unknown key step {step}")
    return k


def _encode_output(x, jax):
    typed = jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)
    if typed:
        x = jax.random.key_data(x)
    a = np.asarray(x)
    out = {"dtype": str(a.dtype), "shape": list(a.shape), "typed_key": bool(typed)}
    flat = a.reshape(-1)
    if flat.size <= FULL_LIMIT:
        out["values"] = flat.tolist()
    else:
        out["sha256"] = hashlib.sha256(np.ascontiguousarray(flat).tobytes()).hexdigest()
        idx = np.unique(np.linspace(0, flat.size - 1, SAMPLE_COUNT).astype(np.int64))
        out["sample_index"] = idx.tolist()
        out["sample"] = flat[idx].tolist()
    return out


def run_case(c, jax, jnp):
    jax.config.update("jax_enable_x64", bool(c["x64"]))
    key = _derive_key(c["key"], jax)
    args = decode(c["args"], jnp)
    kwargs = decode(c["kwargs"], jnp)
    fn = c["fn"]
    try:
        if fn == "PRNGKey":
            res = jax.random.PRNGKey(*args)
        elif fn == "key_data":
            res = jax.random.key_data(key)
        else:
            f = getattr(jax.random, fn)
            if "vmap" in c:
                keys = jax.random.split(key, c["vmap"])
                res = jax.vmap(lambda k: f(k, *args, **kwargs))(keys)
            else:
                res = f(key, *args, **kwargs)
        return _encode_output(res, jax)
    except (TypeError, ValueError, OverflowError) as e:
        return {"error": type(e).__name__, "message": str(e)[:200]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=OUT)
    ns = parser.parse_args(argv)
    import jax
    import jax.numpy as jnp
    if not jax.__version__.startswith("0.10."):
        print(f"warning: recording with JAX {jax.__version__}, the tests expect 0.10.x",
              file=sys.stderr)
    records = []
    ids = {}
    for c in cases():
        base = c["fn"]
        ids[base] = ids.get(base, 0) + 1
        c = dict(c, id=f"{base}-{ids[base]}")
        c["jax"] = run_case(c, jax, jnp)
        records.append(c)
    doc = {
        "jax_version": jax.__version__,
        "threefry_partitionable": bool(jax.config.jax_threefry_partitionable),
        "default_prng_impl": str(jax.config.jax_default_prng_impl),
        "cases": records,
    }
    os.makedirs(os.path.dirname(os.path.abspath(ns.out)), exist_ok=True)
    with open(ns.out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    n_err = sum("error" in r["jax"] for r in records)
    print(f"wrote {len(records)} cases ({n_err} recorded errors) to {os.path.relpath(ns.out)}; "
          f"{os.path.getsize(ns.out) / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
