"""A small convolutional network (conv + max pooling + BatchNorm + Dropout, built with stax)
classifying scikit-learn's 8x8 handwritten digits.

    python examples/cnn.py [--epochs 15] [--seed 0] [--smoke]

stax's BatchNorm, like JAX's, keeps no running statistics: it normalises with the statistics of
the batch it sees, so the test set is evaluated in one large batch. Dropout needs a `mode`, so
the network is built twice, for training and for testing; both share one set of parameters.
"""
import time

import numpy as np
from _common import parse_args, report_classifier, train_classifier

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import datasets, optimizers, random, stax


def conv_block(channels):
    return [stax.Conv(channels, (3, 3), padding="SAME"), stax.BatchNorm(), stax.Relu]


def make_net(mode, width):
    """The classifier; `mode` ('train' or 'test') only switches Dropout."""
    return stax.serial(
        *conv_block(width), *conv_block(width),
        stax.MaxPool((2, 2), strides=(2, 2)),                        # 8x8 -> 4x4
        *conv_block(2 * width),
        stax.MaxPool((2, 2), strides=(2, 2)),                        # 4x4 -> 2x2
        stax.Flatten,
        stax.Dropout(0.7, mode=mode),               # stax's rate is the KEEP probability
        stax.Dense(10), stax.LogSoftmax)


def main():
    args = parse_args(__doc__.splitlines()[0], epochs=15, batch_size=64, lr=3e-3, width=32)
    epochs = 1 if args.smoke else args.epochs
    (x_train, y_train), (x_test, y_test) = datasets.load_digits()
    if args.smoke:
        x_train, y_train = x_train[:256], y_train[:256]

    init_fun, train_apply = make_net("train", args.width)
    _, test_apply = make_net("test", args.width)
    key, init_key = random.split(random.PRNGKey(args.seed))
    _, params = init_fun(init_key, (-1, 8, 8, 1))

    steps_per_epoch = len(y_train) // args.batch_size
    total_steps = epochs * steps_per_epoch
    schedule = optimizers.polynomial_decay(args.lr, total_steps, args.lr / 20)
    opt_init, opt_update, get_params = optimizers.adam(schedule)

    def loss(params, x, y, rng):
        log_probs = train_apply(params, x, rng=rng)
        return -fnp.mean(fnp.take_along_axis(log_probs, y[:, None], axis=1))

    @fg.jit
    def train_step(i, opt_state, x, y, rng):
        value, grads = fg.value_and_grad(loss)(get_params(opt_state), x, y, rng)
        return opt_update(i, grads, opt_state), value

    predict = fg.jit(test_apply)

    def accuracy(params, x, y):
        return np.mean(np.argmax(predict(params, x), axis=1) == y)

    start = time.time()
    _, losses, accs = train_classifier(
        "cnn", args, key, opt_init(params), train_step,
        lambda opt_state: accuracy(get_params(opt_state), x_test, y_test),
        (x_train, y_train), epochs, step_keys=True)
    print(f"trained {len(losses)} steps in {time.time() - start:.1f}s")
    report_classifier("cnn", args, losses, accs)

if __name__ == "__main__":
    main()
