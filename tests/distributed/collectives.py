"""Run under `mpiexec -n N` by tests/test_distributed.py: every collective against NumPy
(on the C and reference backends, with OpenCL when asked), composed with vmap, scan, cond
and nested jit; gradients and JVPs through the collectives against central differences of
the sum over processes; the eager allreduce/allgather/broadcast/shard. Prints
`COLLECTIVES OK <rank> <size>` at the end.

    mpiexec -n 2 python tests/distributed/collectives.py [--opencl]
"""
import sys

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import distributed as dist
from funcgrad import lax as _lax

# The collectives as funcgrad.lax binds them (funcgrad.distributed exports the same
# functions), and lax's control flow.
lax = dist if not hasattr(_lax, "pmean") else _lax
scan, cond = _lax.scan, _lax.cond

try:
    fg.config.update("jax_enable_x64", True)
except KeyError:
    pass            # this funcgrad keeps 64-bit inputs as they are
dist.initialize()
R, N = dist.process_index(), dist.process_count()
AX = "batch"


def close(a, b, what, tol=1e-6):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol,
                               err_msg=f"process {R}: {what}")


def local_value(k, shape=(2, 3), dtype=np.float64):
    """Process k's operand: distinct on every process, known to all."""
    base = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    return (np.sin(base * (k + 1)) * 10 + k).astype(dtype)


def check_forward(backend):
    x = local_value(R)
    xs = np.stack([local_value(k) for k in range(N)])
    ring = [(k, (k + 1) % N) for k in range(N)]
    half = [(0, N - 1)]                       # one pair: the others receive zeros

    def f(x):
        return {
            "psum": lax.psum(x, AX), "pmean": lax.pmean(x, AX), "pmax": lax.pmax(x, AX),
            "pmin": lax.pmin(x, AX), "gather": lax.all_gather(x, AX),
            "gather1": lax.all_gather(x, AX, axis=1),
            "gather_tiled": lax.all_gather(x, AX, axis=1, tiled=True),
            "index": lax.axis_index(AX), "ring": lax.ppermute(x, AX, ring),
            "half": lax.ppermute(x, AX, half), "size": lax.psum(1, AX),
            "tree": lax.psum({"a": x, "b": (x[0], x.astype(np.int32))}, AX),
        }

    out = dist.spmd(f, backend=backend)(x)
    close(out["psum"], xs.sum(0), f"psum [{backend}]")
    close(out["pmean"], xs.mean(0), "pmean")
    close(out["pmax"], xs.max(0), "pmax")
    close(out["pmin"], xs.min(0), "pmin")
    close(out["gather"], xs, "all_gather")
    close(out["gather1"], np.moveaxis(xs, 0, 1), "all_gather axis=1")
    close(out["gather_tiled"], np.concatenate(list(xs), 1), "all_gather tiled")
    assert int(out["index"]) == R and int(out["size"]) == N, (out["index"], out["size"])
    close(out["ring"], xs[(R - 1) % N], "ppermute ring")
    close(out["half"], xs[0] if R == N - 1 else np.zeros_like(x), "ppermute partial")
    close(out["tree"]["a"], xs.sum(0), "psum of a pytree")
    close(out["tree"]["b"][0], xs[:, 0].sum(0), "psum of a pytree")
    assert out["tree"]["b"][1].dtype == np.int32
    close(out["tree"]["b"][1], xs.astype(np.int32).sum(0), "psum of int32")

    # A scalar keeps its shape (np.ascontiguousarray made it 1-d: its all_gather was (N, 1),
    # its ppermute and one-element psum_scatter (1,)).
    g, p, s1 = dist.spmd(lambda s, v: (lax.all_gather(s, AX), lax.ppermute(s, AX, ring),
                                       lax.psum_scatter(v, AX)), backend=backend)(
        np.float64(R + 0.5), np.arange(N, dtype=np.float64))
    assert (np.shape(g), np.shape(p), np.shape(s1)) == ((N,), (), ()), (g, p, s1)
    close(g, np.arange(N) + 0.5, "all_gather of a scalar")
    close(p, (R - 1) % N + 0.5, "ppermute of a scalar")
    close(s1, N * R, "psum_scatter to a scalar")

    y = np.stack([local_value(R, (3,)) + j for j in range(N)])      # (N, 3)
    ys = np.stack([np.stack([local_value(k, (3,)) + j for j in range(N)]) for k in range(N)])
    sc = dist.spmd(lambda y: lax.psum_scatter(y, AX), backend=backend)(y)
    close(sc, ys.sum(0)[R], "psum_scatter")
    yt = y.reshape(-1)                                               # (N*3,)
    sct = dist.spmd(lambda y: lax.psum_scatter(y, AX, tiled=True), backend=backend)(yt)
    close(sct, ys.sum(0)[R], "psum_scatter tiled")


def check_composition():
    x = local_value(R)
    xs = np.stack([local_value(k) for k in range(N)])
    # vmap of a process collective: each batch element reduced over the processes.
    out = dist.spmd(fg.vmap(lambda v: lax.psum(v, AX)))(x)
    close(out, xs.sum(0), "vmap(psum over processes)")
    g = dist.spmd(fg.vmap(lambda v: lax.all_gather(v, AX), in_axes=1))(x)
    close(g, np.moveaxis(xs, 2, 0), "vmap(all_gather)")
    # A named vmap axis and the processes together.
    both = dist.spmd(fg.vmap(lambda v: lax.psum(v, (AX, "i")), axis_name="i"))(x)
    close(both, np.broadcast_to(xs.sum((0, 1)), x.shape), "psum over (processes, vmap axis)")
    idx = dist.spmd(fg.vmap(lambda v: lax.axis_index("i") * N + lax.axis_index(AX),
                            axis_name="i"))(x)
    close(idx, np.arange(2) * N + R, "axis_index of two axes")

    # scan whose body reduces across processes; cond choosing a collective.
    def scanned(x):
        def body(c, row):
            s = lax.psum(row, AX)
            return c + s, lax.pmax(row * c.sum(), AX)
        return scan(body, fnp.zeros(3, x.dtype), x)

    c, ys = dist.spmd(scanned)(x)
    c_ref, ys_ref = np.zeros(3), []
    for i in range(2):
        prev = c_ref.copy()
        c_ref = c_ref + xs[:, i].sum(0)
        ys_ref.append(np.max(xs[:, i] * prev.sum(), 0))
    close(c, c_ref, "scan carry with psum")
    close(ys, np.stack(ys_ref), "scan outputs with pmax")
    chosen = dist.spmd(lambda x, flag: cond(flag, lambda v: lax.psum(v, AX),
                                                lambda v: lax.pmin(v, AX), x))
    close(chosen(x, True), xs.sum(0), "cond true branch")
    close(chosen(x, False), xs.min(0), "cond false branch")
    # A jitted helper called inside spmd, and fused leaf-by-leaf pmeans.
    helper = fg.jit(lambda v: lax.pmean(v * 2, AX))
    close(dist.spmd(lambda v: helper(v) + 1)(x), xs.mean(0) * 2 + 1, "jit inside spmd")
    tree = {"w": x, "b": x[0], "n": x[:, 0]}
    step = dist.spmd(lambda t: fg.tree.map(lambda leaf: lax.pmean(leaf, AX), t))
    text = step.lower(tree).ir
    assert text.count("psum[") == 1, text
    res = step(tree)
    close(res["w"], xs.mean(0), "fused pmean w")
    close(res["n"], xs[:, :, 0].mean(0), "fused pmean n")
    # Reductions started early (one bucket per gradient) give the same step.
    w = [np.linspace(-1, 1, 6).reshape(3, 2), np.linspace(0, 1, 2)]

    def sgd(w, x):
        g = fg.grad(lambda w: fnp.sum(fnp.tanh(x[:, :3] @ w[0] + w[1]) ** 2))(w)
        g = lax.pmean(g, AX)
        return [a - 0.1 * b for a, b in zip(w, g)]
    early = dist.spmd(sgd, overlap_bytes=1)
    assert "psum_start" in early.lower(w, x).ir
    for a, b in zip(early(w, x), dist.spmd(sgd, overlap_bytes=0)(w, x)):
        close(a, b, "reductions started early")


def check_kept_results():
    """The allreduce reduces in one fused buffer, reused from call to call: results a
    caller keeps must not change when the next call reuses it, and the buffer is reused
    once they are gone."""
    x = local_value(R, (3, 4), np.float32)
    xs = np.stack([local_value(k, (3, 4), np.float32) for k in range(N)])
    step = dist.spmd(lambda t: lax.psum(t, AX), backend="c")
    first = step({"a": x, "b": x[0]})
    second = step({"a": 2 * x, "b": 2 * x[0]})
    close(first["a"], xs.sum(0), "a kept psum result after the next call", 1e-5)
    close(first["b"], xs[:, 0].sum(0), "a kept psum result after the next call", 1e-5)
    close(second["a"], 2 * xs.sum(0), "the next call's psum", 1e-5)
    e1 = dist.allreduce(x)
    e2 = dist.allreduce(3 * x)
    close(e1, xs.sum(0), "a kept eager allreduce result after the next call", 1e-5)
    close(e2, 3 * xs.sum(0), "the next eager allreduce", 1e-5)
    world = dist.initialize()
    if N > 1:
        del first, second, e1, e2
        kept = world._fused._kept[(np.dtype(np.float32), 16)]
        for _ in range(3):
            out = np.asarray(step({"a": x, "b": x[0]})["a"])
            assert any(np.shares_memory(out, k) for k in kept), \
                f"process {R}: the fused buffer was not reused"
            del out


def check_in_place():
    """Reductions of values the C program computes run in place on its own buffers (no
    copy into the fused buffer): the results equal NumPy's and the copying path's (sum,
    mean, max, min of arrays of several shapes, under grad, results returned or used
    further, inside cond); a pytree with a float16 or int32 leaf beside float32 ones, and
    program inputs, take the copying path."""
    from funcgrad.backends import c as cb
    world = dist.initialize()
    ws = [[local_value(k, s, np.float32) / 10 for s in ((5, 4), (4,), (4, 3))]
          for k in range(N)]
    w = ws[R]
    x = local_value(0, (6, 5), np.float32) / 10

    def loss(w, x):
        return fnp.sum(fnp.tanh(fnp.tanh(x @ w[0] + w[1]) @ w[2]) ** 2)

    funcs = {   # name: (function, reductions in place per call, NumPy's result or None)
        "psum": (lambda w, x: lax.psum([a * 2 for a in w], AX), 1,
                 [2 * sum(v[i] for v in ws) for i in range(3)]),
        "pmean": (lambda w, x: lax.pmean([fnp.sin(a) for a in w], AX), 1,
                  [np.mean([np.sin(v[i]) for v in ws], 0) for i in range(3)]),
        "pmax": (lambda w, x: lax.pmax([a - 1 for a in w], AX), 1,
                 [np.max([v[i] - 1 for v in ws], 0) for i in range(3)]),
        "pmin": (lambda w, x: lax.pmin([a * 3 for a in w], AX), 1,
                 [np.min([v[i] * 3 for v in ws], 0) for i in range(3)]),
        "sgd": (lambda w, x: [a - 0.1 * g for a, g in zip(
            w, lax.pmean(fg.grad(loss)(w, x), AX))], 1, None),
        "grad returned": (lambda w, x: lax.psum(fg.grad(loss)(w, x), AX), 1, None),
        "in cond": (lambda w, x: cond(x[0, 0] > -100, lambda v: lax.psum(v * 2, AX),
                                      lambda v: v, w[0]), 1, [2 * sum(v[0] for v in ws)]),
        "mixed": (lambda w, x: lax.psum({"f": w[0] * 2, "h": (w[1] * 2).astype(np.float16),
                                         "i": (w[2] * 10).astype(np.int32)}, AX), 0,
                  None),
        "inputs": (lambda w, x: lax.psum(w, AX), 0, [sum(v[i] for v in ws)
                                                      for i in range(3)]),
    }
    for name, (fun, expected, want) in funcs.items():
        got = {}
        for in_place in (True, False):
            cb.IN_PLACE_REDUCTIONS = in_place
            counts = dict(world.allreduce_counts) if N > 1 else None
            got[in_place] = [np.asarray(r) for r in
                             fg.tree.leaves(dist.spmd(fun, backend="c")(w, x))]
            if N > 1:
                n_in_place = world.allreduce_counts["in_place"] - counts["in_place"]
                assert n_in_place == (expected if in_place else 0), \
                    (name, in_place, n_in_place, R)
        cb.IN_PLACE_REDUCTIONS = True
        for a, b in zip(got[True], got[False]):
            assert a.dtype == b.dtype, (name, a.dtype, b.dtype)
            np.testing.assert_array_equal(a, b, err_msg=f"process {R}: {name} in place")
        if want is not None:
            for a, b in zip(got[True], want):
                close(a, b, f"{name} in place", 1e-5)


def global_sum(v):
    """The sum over processes of a float (eager allreduce)."""
    return float(dist.allreduce(np.asarray(v, np.float64))[()] if N > 1 else v)


def check_gradients():
    """grad on each process = the derivative of the sum over processes of the outputs;
    compared along a random direction (different on each process) with central
    differences of that sum, and the same for jvp."""
    rng = np.random.RandomState(100 + R)
    x = local_value(R) / 10
    direction = rng.standard_normal(x.shape)
    ring = [(k, (k + 1) % N) for k in range(N)]
    funcs = {
        "psum": lambda v: fnp.sum(fnp.sin(lax.psum(v * v, AX))),
        "pmean": lambda v: fnp.sum(lax.pmean(fnp.tanh(v), AX) ** 2),
        "pmax": lambda v: fnp.sum(lax.pmax(v, AX) * fnp.cos(v)),
        "pmin": lambda v: fnp.sum(lax.pmin(v ** 3, AX)),
        "all_gather": lambda v: fnp.sum(fnp.sin(lax.all_gather(v, AX)) *
                                        fnp.arange(N * 6.0).reshape(N, 2, 3)),
        "all_gather_tiled": lambda v: fnp.sum(
            lax.all_gather(v, AX, axis=1, tiled=True) ** 2 * lax.axis_index(AX)),
        "psum_scatter": lambda v: fnp.sum(fnp.exp(lax.psum_scatter(
            fnp.concatenate([v] * N, 0)[:N], AX))),
        "ppermute": lambda v: fnp.sum(lax.ppermute(v * v, AX, ring) * fnp.sin(v)),
        "scan": lambda v: fnp.sum(scan(lambda c, r: (c * lax.psum(r, AX), c), fnp.ones(3, v.dtype),
                                           v)[0]),
    }
    eps = 1e-5
    for name, fun in funcs.items():
        value = dist.spmd(fun)
        grad = dist.spmd(fg.grad(fun))(x)
        lhs = global_sum(np.sum(np.asarray(grad) * direction))
        fd = (global_sum(value(x + eps * direction)) -
              global_sum(value(x - eps * direction))) / (2 * eps)
        assert abs(lhs - fd) <= 1e-5 * max(1.0, abs(fd)), (name, R, lhs, fd)
        _, tangent = dist.spmd(lambda v, t, fun=fun: fg.jvp(fun, (v,), (t,)))(x, direction)
        assert abs(global_sum(tangent) - fd) <= 1e-5 * max(1.0, abs(fd)), (name, R, tangent)
    # The data-parallel idiom: pmean of local gradients is the gradient of the mean loss.
    w = np.linspace(-1, 1, 3)
    loss = lambda w, x: fnp.mean((x @ w) ** 2)
    g = dist.spmd(lambda w, x: lax.pmean(fg.grad(loss)(w, x), AX))(w, x)
    allx = np.concatenate([local_value(k) / 10 for k in range(N)])
    close(g, 2 * allx.T @ (allx @ w) / len(allx), "pmean of local gradients")


def check_eager():
    x = local_value(R)
    xs = np.stack([local_value(k) for k in range(N)])
    out = dist.allreduce({"x": x, "f": fnp.asarray(x, np.float32), "i": np.int32(R)})
    close(out["x"], xs.sum(0), "allreduce sum")
    assert isinstance(out["f"], fg.Array) and out["f"].dtype == np.float32
    assert int(out["i"]) == N * (N - 1) // 2
    close(dist.allreduce(x, "mean"), xs.mean(0), "allreduce mean")
    close(dist.allreduce(x, "max"), xs.max(0), "allreduce max")
    close(dist.allreduce(x, "min"), xs.min(0), "allreduce min")
    close(dist.allgather(x), xs, "allgather")
    assert np.shape(dist.allgather(np.float32(R))) == (N,), "allgather of a scalar"
    b = dist.broadcast({"p": x if R == 0 else np.zeros_like(x)}, root=0)
    close(b["p"], xs[0], "broadcast")
    close(dist.broadcast(x, root=N - 1), xs[N - 1], "broadcast from the last process")
    batch = np.arange(4 * N * 2).reshape(4 * N, 2)
    close(dist.shard(batch), batch[4 * R:4 * R + 4], "shard")
    dist.barrier()
    # One writer, every reader.
    import os
    import tempfile

    from funcgrad.distributed.runtime import write_once
    path = os.path.join(tempfile.gettempdir(), f"fg_write_once_{os.getppid()}.npy")
    write_once(lambda: np.save(path, xs[0] + R), "the test file")
    close(np.load(path), xs[0], "written once by process 0, read by all")
    dist.barrier()
    if R == 0:
        os.remove(path)


backends = ["c", "reference"] + (["opencl"] if "--opencl" in sys.argv else [])
for b in backends:
    check_forward(b)
check_composition()
check_kept_results()
check_in_place()
check_gradients()
check_eager()
dist.shutdown()
print(f"COLLECTIVES OK {R} {N}", flush=True)
