"""Data-parallel training of the MLP of mlp.py (stax Dense/Relu, Adam, 8x8 digits) over MPI.

    mpirun -n 2 python examples/distributed_mlp.py [--epochs 30] [--seed 0] [--smoke]
    python examples/distributed_mlp.py        # one process: the same code, the same bar

Every process holds the parameters (process 0's, broadcast at the start) and takes its
slice of each global batch of 64 examples (`distributed.shard`). One `spmd` step computes
the local gradients, averages them over the processes with `pmean` (one allreduce for the
whole gradient pytree) and applies Adam, so every process keeps the same parameters and N
processes follow the same trajectory as one process on the whole batches. The test set is
split too: each process counts its correct answers and an allreduce adds them up. Only
process 0 shows the progress bar, writes the plot and prints the RESULT line.
"""
import time

import numpy as np
from _common import figure, parse_args, plot_curve, save

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import datasets, distributed, optimizers, random, stax


def train_data_parallel(name, args, key, opt_state, step, correct_count, train_data, test_data,
                        epochs, step_keys=False):
    """Per epoch: the same shuffled global batches on every process (one key), each
    process's shard of them through `step(i, opt_state, x, y[, key])` (a distributed.spmd
    function returning the new state and the mean loss over the processes), then the test
    accuracy from every process's `correct_count(opt_state, x, y)` on its shard of the
    test set. Returns (opt_state, losses, accuracies), the same on every process."""
    from tqdm import tqdm
    rank, count = distributed.process_index(), distributed.process_count()
    steps = epochs * (len(train_data[1]) // args.batch_size)
    x_test, y_test = distributed.shard(test_data, even=False)
    losses, accs = [], []
    with tqdm(total=steps, desc=f"{name} on {count} process(es)",
              disable=args.smoke or rank != 0) as bar:
        for _ in range(epochs):
            key, shuffle_key = random.split(key)
            for xb, yb in datasets.batches(shuffle_key, train_data, args.batch_size,
                                           drop_last=True):
                # This process's part of the global batch (unless the iterator already
                # split it by process).
                x, y = distributed.shard((xb, yb)) if len(yb) == args.batch_size else (xb, yb)
                extra = ()
                if step_keys:
                    # Distinct dropout masks on every process.
                    key, step_key = random.split(key)
                    extra = (random.fold_in(step_key, rank),)
                opt_state, value = step(len(losses), opt_state, x, y, *extra)
                losses.append(float(value))
                bar.update()
            right = distributed.allreduce(np.array([correct_count(opt_state, x_test, y_test),
                                                    len(y_test)], np.int64))
            accs.append(float(right[0]) / float(right[1]))
            bar.set_postfix(loss=f"{losses[-1]:.3f}", test_acc=f"{accs[-1]:.3f}")
    return opt_state, losses, accs


def report(name, args, losses, accs, seconds):
    """Process 0 plots the curves (outside smoke mode) and prints the result lines."""
    if distributed.process_index() != 0:
        return
    print(f"trained {len(losses)} steps in {seconds:.1f}s on "
          f"{distributed.process_count()} process(es)")
    if not args.smoke:
        fig, (ax_loss, ax_acc) = figure(2)
        plot_curve(ax_loss, losses, "training loss", log=True)
        plot_curve(ax_acc, accs, "test accuracy", xlabel="epoch")
        save(fig, name)
    print(f"RESULT test_accuracy={accs[-1]:.4f}", flush=True)


def main():
    args = parse_args(__doc__.splitlines()[0], epochs=30, batch_size=64, lr=3e-3, hidden=256)
    distributed.initialize()
    epochs = 1 if args.smoke else args.epochs
    (x_train, y_train), (x_test, y_test) = datasets.load_digits()
    if args.smoke:
        x_train, y_train = x_train[:256], y_train[:256]

    init_fun, apply_fun = stax.serial(
        stax.Flatten,
        stax.Dense(args.hidden), stax.Relu,
        stax.Dense(args.hidden), stax.Relu,
        stax.Dense(10), stax.LogSoftmax)
    key, init_key = random.split(random.PRNGKey(args.seed))
    _, params = init_fun(init_key, (-1, 8, 8, 1))
    params = distributed.broadcast(params, root=0)

    steps_per_epoch = len(y_train) // args.batch_size
    schedule = optimizers.polynomial_decay(args.lr, epochs * steps_per_epoch, args.lr / 10)
    opt_init, opt_update, get_params = optimizers.adam(schedule)

    def loss(params, x, y):
        log_probs = apply_fun(params, x)
        return -fnp.mean(fnp.take_along_axis(log_probs, y[:, None], axis=1))

    @distributed.spmd
    def train_step(i, opt_state, x, y):
        value, grads = fg.value_and_grad(loss)(get_params(opt_state), x, y)
        value, grads = distributed.pmean((value, grads), "batch")   # one allreduce
        return opt_update(i, grads, opt_state), value

    predict = fg.jit(apply_fun)

    def correct_count(opt_state, x, y):
        return int(np.sum(np.argmax(predict(get_params(opt_state), x), axis=1) == y))

    start = time.time()
    _, losses, accs = train_data_parallel(
        "distributed_mlp", args, key, opt_init(params), train_step, correct_count,
        (x_train, y_train), (x_test, y_test), epochs)
    report("distributed_mlp", args, losses, accs, time.time() - start)
    distributed.shutdown()


if __name__ == "__main__":
    main()
