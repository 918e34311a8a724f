"""Idioms users write, funcgrad against JAX in one process (medians of 20 calls, ms): a
survey of programs outside the benchmark's workloads, looking for the next 10x gap
(session 2026-12-06 17:06 found none among these; the in-place updates it fixed are in
bench_loop_updates.py).

    OMP_NUM_THREADS=1 taskset -c 0 python bench/bench_idiom_survey.py [name filter ...]
"""
import os
import sys

import jax
import jax.image
import jax.nn
import jax.numpy as jnp
import jax.random
import numpy as np

import funcgrad as fg
import funcgrad.image
import funcgrad.nn
import funcgrad.numpy as fnp
import funcgrad.random

if __package__ in (None, ""):          # `python bench/bench_idiom_survey.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import median_ms  # noqa: E402

RNG = np.random.default_rng(0)
CASES = {}


def rand(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def case(name):
    def deco(fn):
        CASES[name] = fn
        return fn
    return deco


@case("per-example grads (vmap grad, MLP 64-128-10, batch 256)")
def _per_example(np_, m):
    def loss(p, x, y):
        h = np_.tanh(x @ p[0])
        return np_.sum((h @ p[1] - y) ** 2)
    return (lambda p, x, y: m.vmap(m.grad(loss), in_axes=(None, 0, 0))(p, x, y),
            ((rand(64, 128), rand(128, 10)), rand(256, 64), rand(256, 10)))


@case("dropout mask + grad (1e6)")
def _dropout(np_, m):
    def loss(x, key):
        keep = m.random.bernoulli(key, 0.9, x.shape)
        return np_.sum(np_.where(keep, x / 0.9, 0.0) ** 2)
    return m.grad(loss), (rand(1000, 1000), m.random.PRNGKey(0))


@case("conv_transpose 2x up fwd+bwd (32,16,16,64)->(32,32,32,32)")
def _conv_transpose(np_, m):
    def loss(w, x):
        y = m.lax.conv_transpose(x, w, (2, 2), "SAME",
                                 dimension_numbers=("NHWC", "HWOI", "NHWC"))
        return np_.sum(y * y)
    return m.grad(loss, argnums=(0, 1)), (rand(3, 3, 32, 64), rand(32, 16, 16, 64))


@case("embedding lookup + grad (vocab 20000 x 256, 64x128 ids)")
def _embedding(np_, m):
    ids = RNG.integers(0, 20000, (64, 128)).astype(np.int32)
    return m.grad(lambda e, ids: np_.sum(np_.tanh(e[ids]))), (rand(20000, 256), ids)


@case("layernorm fwd+bwd (4096, 512)")
def _layernorm(np_, m):
    def loss(x, g):
        mu = np_.mean(x, -1, keepdims=True)
        v = np_.var(x, -1, keepdims=True)
        return np_.sum(((x - mu) / np_.sqrt(v + 1e-5) * g) ** 2)
    return m.grad(loss, argnums=(0, 1)), (rand(4096, 512), rand(512))


@case("xent take_along_axis + grad (4096, 1000)")
def _xent(np_, m):
    def loss(x, y):
        lp = m.nn.log_softmax(x)
        return -np_.mean(np_.take_along_axis(lp, y[:, None], axis=1))
    return m.grad(loss), (rand(4096, 1000), RNG.integers(0, 1000, 4096).astype(np.int32))


@case("cumsum + grad over axis 1 (1024, 1024)")
def _cumsum(np_, m):
    return m.grad(lambda x: np_.sum(np_.cumsum(x, axis=1) ** 2)), (rand(1024, 1024),)


@case("gelu mlp fwd+bwd (512, 1024)x(1024,4096)")
def _gelu(np_, m):
    return m.grad(lambda w, x: np_.sum(m.nn.gelu(x @ w))), (rand(1024, 4096) * 0.03,
                                                             rand(512, 1024))


@case("scan GRU-ish 100 steps (64, 128)")
def _gru(np_, m):
    u = rand(128, 384) * 0.1

    def loss(w, xs):
        def step(h, x):
            z, r, n = np_.split(x @ w + h @ u, 3, axis=-1)
            s = m.nn.sigmoid(z)
            return (1 - s) * h + s * np_.tanh(n * m.nn.sigmoid(r)), None
        h, _ = m.lax.scan(step, np_.zeros((64, 128), np.float32), xs)
        return np_.sum(h)
    return m.grad(loss), (rand(128, 384) * 0.1, rand(100, 64, 128))


@case("batched small solve (10000, 4, 4)")
def _solve(np_, m):
    a = rand(10000, 4, 4) + 4 * np.eye(4, dtype=np.float32)
    return (lambda a, b: np_.linalg.solve(a, b)), (a, rand(10000, 4, 1))


@case("sort + argsort rows (4096, 256)")
def _sort(np_, m):
    return (lambda x: (np_.sort(x, axis=1), np_.argsort(x, axis=1))), (rand(4096, 256),)


@case("segment sum as one_hot matmul (10000 -> 100 segments, 64 features)")
def _segments(np_, m):
    s = RNG.integers(0, 100, 10000).astype(np.int32)
    return (lambda x, s: m.nn.one_hot(s, 100).T @ x), (rand(10000, 64), s)


@case("at[].add scatter (1e5 updates into 1000x64)")
def _scatter_add(np_, m):
    s = RNG.integers(0, 1000, 100000).astype(np.int32)
    return (lambda x, s: np_.zeros((1000, 64), np.float32).at[s].add(x)), (rand(100000, 64),
                                                                          s)


@case("bilinear resize (32,64,64,16)->(32,128,128,16)")
def _resize(np_, m):
    return (lambda x: m.image.resize(x, (32, 128, 128, 16), "bilinear")), (rand(32, 64, 64,
                                                                                 16),)


def main(filters):
    for name, make in CASES.items():
        if filters and not any(s in name for s in filters):
            continue
        f, args = make(fnp, fg)
        try:
            a = median_ms(fg.jit(f), args, fg.block_until_ready, 20)
        except Exception as e:          # (a survey: report and go on)
            a = float("nan")
            print(f"  funcgrad: {type(e).__name__}: {str(e)[:200]}")
        g, jargs = make(jnp, jax)
        b = median_ms(jax.jit(g), jargs, jax.block_until_ready, 20)
        print(f"{name:66s} funcgrad {a:8.3f}  jax {b:8.3f}  ratio {a / b:5.2f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
