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


# ------------------------------------------------------------- second survey (idioms 15-32)

@case("multi-head attention einsum fwd+bwd (8,128,256), 8 heads")
def _mha(np_, m):
    heads, b, t, d = 8, 8, 128, 256

    def split(y):
        return y.reshape(b, t, heads, d // heads).transpose(0, 2, 1, 3)

    def loss(w, x):
        wq, wk, wv, wo = w
        q, k, v = split(x @ wq), split(x @ wk), split(x @ wv)
        s = np_.einsum("bhqd,bhkd->bhqk", q, k) / np.sqrt(d // heads).astype(np.float32)
        p = m.nn.softmax(s, axis=-1)
        o = np_.einsum("bhqk,bhkd->bhqd", p, v).transpose(0, 2, 1, 3).reshape(b, t, d)
        return np_.sum((o @ wo) ** 2)
    return m.grad(loss), (tuple(rand(d, d) * 0.06 for _ in range(4)), rand(b, t, d))


@case("rbf kernel via broadcast (x[:,None]-y[None])**2 (512,512,32)")
def _rbf_broadcast(np_, m):
    def kern(x, y):
        return np_.exp(-np_.sum((x[:, None, :] - y[None, :, :]) ** 2, axis=-1) / 64.0)
    return kern, (rand(512, 32), rand(512, 32))


@case("pairwise sqdist x@y.T form + grad (2048,64)x(2048,64)")
def _sqdist_matmul(np_, m):
    def loss(x, y):
        d2 = (np_.sum(x * x, 1)[:, None] - 2.0 * x @ y.T + np_.sum(y * y, 1)[None, :])
        return np_.sum(np_.exp(-np_.maximum(d2, 0.0) / 128.0))
    return m.grad(loss), (rand(2048, 64), rand(2048, 64))


@case("k-means step: dist, argmin, one_hot, means (16384,32), k=64")
def _kmeans(np_, m):
    def step(x, c):
        d = np_.sum(x * x, 1)[:, None] - 2.0 * x @ c.T + np_.sum(c * c, 1)[None, :]
        a = np_.argmin(d, axis=1)
        oh = m.nn.one_hot(a, c.shape[0])
        return (oh.T @ x) / np_.maximum(oh.sum(0), 1.0)[:, None], a
    return step, (rand(16384, 32), rand(64, 32))


@case("autoregressive token fill fori_loop where(arange==t) (32,128), V=512")
def _token_fill(np_, m):
    length = 128

    def fill(emb, w, tokens):
        def body(t, tokens):
            nxt = np_.argmax(emb[tokens[:, t - 1]] @ w, axis=-1).astype(tokens.dtype)
            return np_.where(np_.arange(length)[None, :] == t, nxt[:, None], tokens)
        return m.lax.fori_loop(1, length, body, tokens)
    tok = np.zeros((32, length), np.int32)
    tok[:, 0] = RNG.integers(0, 512, 32)
    return fill, (rand(512, 64), rand(64, 512), tok)


@case("column softmax (axis 0) + grad (1024, 1024)")
def _col_softmax(np_, m):
    return m.grad(lambda x, w: np_.sum(m.nn.softmax(x, axis=0) * w)), (rand(1024, 1024),
                                                                       rand(1024, 1024))


@case("logsumexp axis -1 + grad (4096, 1000)")
def _logsumexp(np_, m):
    return (m.grad(lambda x, w: np_.sum(m.scipy.special.logsumexp(x, axis=-1) * w)),
            (rand(4096, 1000), rand(4096)))


@case("conv1d conv_general_dilated NWC k5 fwd+bwd (16,512,64)->64")
def _conv1d(np_, m):
    def loss(w, x):
        y = m.lax.conv_general_dilated(x, w, (1,), "SAME",
                                       dimension_numbers=("NWC", "WIO", "NWC"))
        return np_.sum(np_.tanh(y))
    return m.grad(loss, argnums=(0, 1)), (rand(5, 64, 64) * 0.05, rand(16, 512, 64))


@case("vmap jnp.convolve mode=same (256, 4096) * k9")
def _convolve(np_, m):
    return (lambda x, k: m.vmap(lambda s: np_.convolve(s, k, mode="same"))(x),
            (rand(256, 4096), rand(9)))


@case("gaussian blur separable depthwise conv (16,128,128,3) k7")
def _blur(np_, m):
    g = np.exp(-0.5 * (np.arange(7) - 3.0) ** 2 / 1.5 ** 2)
    g = (g / g.sum()).astype(np.float32)
    kh = np.tile(g[:, None, None, None], (1, 1, 1, 3))       # (7,1,1,C) HWIO, depthwise
    kw = np.tile(g[None, :, None, None], (1, 1, 1, 3))       # (1,7,1,C)

    def blur(x, kh, kw):
        dn = ("NHWC", "HWIO", "NHWC")
        y = m.lax.conv_general_dilated(x, kh, (1, 1), "SAME", dimension_numbers=dn,
                                       feature_group_count=3)
        return m.lax.conv_general_dilated(y, kw, (1, 1), "SAME", dimension_numbers=dn,
                                          feature_group_count=3)
    return blur, (rand(16, 128, 128, 3), kh, kw)


@case("n-body lax.scan 200 steps, 64 particles pairwise forces")
def _nbody(np_, m):
    def sim(pos, vel):
        def step(state, _):
            pos, vel = state
            d = pos[None, :, :] - pos[:, None, :]
            r2 = np_.sum(d * d, axis=-1) + 0.5
            acc = np_.sum(d * (r2 ** -1.5)[:, :, None], axis=1) / 64.0
            vel = vel + 0.01 * acc
            pos = pos + 0.01 * vel
            return (pos, vel), np_.sum(vel * vel)
        (pos, vel), ke = m.lax.scan(step, (pos, vel), None, length=200)
        return pos, ke
    return sim, (rand(64, 3), rand(64, 3) * 0.1)


@case("per-row lax.top_k k=8 then gather (4096, 1000)")
def _topk(np_, m):
    def f(x, y):
        v, i = m.lax.top_k(x, 8)
        return v, i, np_.take_along_axis(y, i, axis=1)
    return f, (rand(4096, 1000), rand(4096, 1000))


@case("jnp.polyval degree 7 on 1e6")
def _polyval(np_, m):
    return (lambda c, x: np_.polyval(c, x)), (rand(8) * 0.5, rand(1000000) * 0.5)


@case("Horner fori_loop degree 7 on 1e6")
def _horner(np_, m):
    def f(c, x):
        return m.lax.fori_loop(0, 8, lambda i, acc: acc * x + c[i], np_.zeros_like(x))
    return f, (rand(8) * 0.5, rand(1000000) * 0.5)


@case("Horner fori_loop unroll=True degree 7 on 1e6")
def _horner_unrolled(np_, m):
    def f(c, x):
        return m.lax.fori_loop(0, 8, lambda i, acc: acc * x + c[i], np_.zeros_like(x),
                               unroll=True)
    return f, (rand(8) * 0.5, rand(1000000) * 0.5)


@case("batch stats mean/var/std axis 0 + grad (8192, 256)")
def _batch_stats(np_, m):
    def loss(x):
        return (np_.sum(np_.mean(x, 0) ** 2) + np_.sum(np_.var(x, 0))
                + np_.sum(np_.std(x, 0)))
    return m.value_and_grad(loss), (rand(8192, 256),)


@case("vmap euler-angle rotation build + apply (1e5 items)")
def _vmap_rot(np_, m):
    def rot(a, p):
        cx, cy, cz = np_.cos(a[0]), np_.cos(a[1]), np_.cos(a[2])
        sx, sy, sz = np_.sin(a[0]), np_.sin(a[1]), np_.sin(a[2])
        rx = np_.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
        ry = np_.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
        rz = np_.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
        return rz @ ry @ rx @ p
    return m.vmap(rot), (rand(100000, 3), rand(100000, 3))


@case("cosine similarity matrix linalg.norm + grad (1024,128)x(1024,128)")
def _cosine(np_, m):
    def loss(x, y):
        xn = x / np_.linalg.norm(x, axis=1, keepdims=True)
        yn = y / np_.linalg.norm(y, axis=1, keepdims=True)
        return np_.sum((xn @ yn.T) ** 2)
    return m.grad(loss), (rand(1024, 128), rand(1024, 128))


@case("adam update tree_map over dict of 6 params (~0.4M)")
def _adam(np_, m):
    shapes = {"w1": (512, 512), "b1": (512,), "w2": (512, 256), "b2": (256,),
              "w3": (256, 10), "b3": (10,)}

    def make():
        return {k: rand(*s) for k, s in shapes.items()}

    def adam(p, g, mu, nu, t):
        tm = m.tree_util.tree_map
        mu = tm(lambda a, b: 0.9 * a + 0.1 * b, mu, g)
        nu = tm(lambda a, b: 0.999 * a + 0.001 * b * b, nu, g)
        mh = tm(lambda a: a / (1 - 0.9 ** t), mu)
        nh = tm(lambda a: a / (1 - 0.999 ** t), nu)
        p = tm(lambda w, a, b: w - 1e-3 * a / (np_.sqrt(b) + 1e-8), p, mh, nh)
        return p, mu, nu
    nu0 = {k: np.abs(v) for k, v in make().items()}
    return adam, (make(), make(), make(), nu0, np.float32(10.0))


@case("masked mean sum(x*mask)/sum(mask) + grad (4096, 1024) bool mask")
def _masked_mean(np_, m):
    def f(x, mask):
        return np_.sum(x * mask) / np_.sum(mask)
    return (m.value_and_grad(f), (rand(4096, 1024), RNG.random((4096, 1024)) < 0.3))


def check(name, got, want):
    """Print a MISMATCH line when funcgrad's outputs differ from JAX's (floats: within
    rtol 1e-4 and atol 1e-4 * max|want|, per output; integers and bools: exactly)."""
    got = [np.asarray(x) for x in fg.tree_util.tree_leaves(got)]
    want = [np.asarray(x) for x in jax.tree_util.tree_leaves(want)]
    if len(got) != len(want):
        print(f"  MISMATCH {name}: {len(got)} outputs, jax has {len(want)}")
        return
    for i, (a, b) in enumerate(zip(got, want)):
        if a.shape != b.shape:
            print(f"  MISMATCH {name} output {i}: shape {a.shape}, jax {b.shape}")
        elif not np.issubdtype(b.dtype, np.floating):
            if not np.array_equal(a, b):
                d = np.abs(a.astype(np.int64) - b.astype(np.int64))
                print(f"  MISMATCH {name} output {i}: {int(np.sum(d != 0))} of {b.size} "
                      f"elements differ, max abs diff {int(d.max())}")
        else:
            scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-30)
            if not np.allclose(a, b, rtol=1e-4, atol=1e-4 * scale):
                print(f"  MISMATCH {name} output {i}: max abs diff "
                      f"{float(np.max(np.abs(a - b))):.3g} (max |jax| {scale:.3g})")


def main(filters):
    global RNG
    for name, make in CASES.items():
        if filters and not any(s in name for s in filters):
            continue
        RNG = np.random.default_rng(0)      # the same data for both frameworks
        f, args = make(fnp, fg)
        RNG = np.random.default_rng(0)
        g, jargs = make(jnp, jax)
        want = jax.jit(g)(*jargs)
        try:
            check(name, fg.jit(f)(*args), want)
            a = median_ms(fg.jit(f), args, fg.block_until_ready, 20)
        except Exception as e:          # (a survey: report and go on)
            a = float("nan")
            print(f"  funcgrad: {type(e).__name__}: {str(e)[:200]}")
        b = median_ms(jax.jit(g), jargs, jax.block_until_ready, 20)
        print(f"{name:66s} funcgrad {a:8.3f}  jax {b:8.3f}  ratio {a / b:5.2f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
