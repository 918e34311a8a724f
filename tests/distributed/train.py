"""Run under `mpiexec -n N` by tests/test_distributed.py: 20 steps of data-parallel Adam on
a small MLP, each process on its shard of every global batch, against one process training
on the whole batches (computed by every process locally). Prints `TRAIN OK <rank> <size>
<max difference>`.

    mpiexec -n 2 python tests/distributed/train.py
"""
import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import distributed as dist
from funcgrad import optimizers, random, stax

dist.initialize()
R, N = dist.process_index(), dist.process_count()
STEPS, BATCH = 20, 24                          # 24 rows split over 1, 2 or 3 processes

rng = np.random.RandomState(0)
xs = rng.standard_normal((STEPS, BATCH, 8)).astype(np.float32)
ys = rng.randint(0, 4, (STEPS, BATCH)).astype(np.int32)

init_fun, apply_fun = stax.serial(stax.Dense(16), stax.Tanh, stax.Dense(4), stax.LogSoftmax)
# Each process initialises differently; the broadcast gives every one process 0's start.
_, params = init_fun(random.PRNGKey(R), (-1, 8))
params = dist.broadcast(params, root=0)
opt_init, opt_update, get_params = optimizers.adam(1e-2)


def loss(p, x, y):
    return -fnp.mean(fnp.take_along_axis(apply_fun(p, x), y[:, None], axis=1))


@dist.spmd
def step(i, state, x, y):
    grads = dist.pmean(fg.grad(loss)(get_params(state), x, y), "batch")
    return opt_update(i, grads, state)


@fg.jit
def reference_step(i, state, x, y):
    return opt_update(i, fg.grad(loss)(get_params(state), x, y), state)


state = ref = opt_init(params)
for i in range(STEPS):
    x, y = dist.shard((xs[i], ys[i]))
    state = step(i, state, x, y)
    ref = reference_step(i, ref, xs[i], ys[i])

got = fg.tree.leaves(get_params(state))
want = fg.tree.leaves(get_params(ref))
diff = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in zip(got, want))
assert diff < 2e-5, f"process {R}: data-parallel parameters differ from one process's by {diff}"
gathered = dist.allgather(got)
spread = max(float(np.max(np.abs(np.asarray(g) - np.asarray(g)[0]))) for g in gathered)
assert spread == 0.0, f"process {R}: the processes' parameters differ by {spread}"
assert step.trace_count == 1, step.trace_count
dist.shutdown()
print(f"TRAIN OK {R} {N} {diff:.2e}", flush=True)
