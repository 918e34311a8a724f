"""Data-parallel training of the CNN of cnn.py (conv + max pooling + BatchNorm + Dropout) over
MPI processes, on scikit-learn's 8x8 digits.

    mpirun -n 2 python examples/distributed_cnn.py [--epochs 15] [--seed 0] [--smoke]
    python examples/distributed_cnn.py        # one process

As in distributed_mlp.py: process 0's parameters are broadcast, each process takes its
shard of every global batch of 64, one `spmd` step averages the gradients with `pmean` and
applies Adam. BatchNorm normalises with the statistics of the local batch (as PyTorch's DDP
does by default), and each process draws its own dropout masks (the step key folded with
the process index); only process 0 reports.
"""
import time

import numpy as np
from _common import parse_args
from cnn import make_net
from distributed_mlp import report, train_data_parallel

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import datasets, distributed, optimizers, random


def main():
    args = parse_args(__doc__.splitlines()[0], epochs=15, batch_size=64, lr=3e-3, width=32)
    distributed.initialize()
    epochs = 1 if args.smoke else args.epochs
    (x_train, y_train), (x_test, y_test) = datasets.load_digits()
    if args.smoke:
        x_train, y_train = x_train[:256], y_train[:256]

    init_fun, train_apply = make_net("train", args.width)
    _, test_apply = make_net("test", args.width)
    key, init_key = random.split(random.PRNGKey(args.seed))
    _, params = init_fun(init_key, (-1, 8, 8, 1))
    params = distributed.broadcast(params, root=0)

    total_steps = epochs * (len(y_train) // args.batch_size)
    schedule = optimizers.polynomial_decay(args.lr, total_steps, args.lr / 20)
    opt_init, opt_update, get_params = optimizers.adam(schedule)

    def loss(params, x, y, rng):
        log_probs = train_apply(params, x, rng=rng)
        return -fnp.mean(fnp.take_along_axis(log_probs, y[:, None], axis=1))

    @distributed.spmd
    def train_step(i, opt_state, x, y, rng):
        value, grads = fg.value_and_grad(loss)(get_params(opt_state), x, y, rng)
        value, grads = distributed.pmean((value, grads), "batch")   # one allreduce
        return opt_update(i, grads, opt_state), value

    predict = fg.jit(test_apply)

    def correct_count(opt_state, x, y):
        return int(np.sum(np.argmax(predict(get_params(opt_state), x), axis=1) == y))

    start = time.time()
    _, losses, accs = train_data_parallel(
        "distributed_cnn", args, key, opt_init(params), train_step, correct_count,
        (x_train, y_train), (x_test, y_test), epochs, step_keys=True)
    report("distributed_cnn", args, losses, accs, time.time() - start)
    distributed.shutdown()


if __name__ == "__main__":
    main()
