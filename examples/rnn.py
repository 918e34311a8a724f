"""A recurrent classifier (stax.GRU or stax.LSTM) reading each 8x8 digit row by row, as a
sequence of 8 steps of 8 pixels, and classifying it from the last hidden state.

    python examples/rnn.py [--cell gru|lstm] [--epochs 40] [--seed 0] [--smoke]
"""
import numpy as np
from _common import parse_args, report_classifier, train_classifier

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import datasets, optimizers, random, stax


def last_step():
    """A parameterless layer keeping the last time step of a (batch, time, hidden) input."""
    def init_fun(rng, input_shape):
        return (input_shape[0], input_shape[2]), ()

    def apply_fun(params, inputs, **kwargs):
        return inputs[:, -1]
    return init_fun, apply_fun


def main():
    args = parse_args(__doc__.splitlines()[0], epochs=40, batch_size=64, lr=3e-3, hidden=128,
                      cell="gru")
    epochs = 1 if args.smoke else args.epochs
    (x_train, y_train), (x_test, y_test) = datasets.load_digits()
    x_train, x_test = x_train[..., 0], x_test[..., 0]       # (n, 8 rows = time, 8 pixels)
    if args.smoke:
        x_train, y_train = x_train[:256], y_train[:256]

    cell = {"gru": stax.GRU, "lstm": stax.LSTM}[args.cell]
    init_fun, apply_fun = stax.serial(
        cell(args.hidden), last_step(),
        stax.Dense(10), stax.LogSoftmax)
    key, init_key = random.split(random.PRNGKey(args.seed))
    _, params = init_fun(init_key, (-1, 8, 8))

    steps_per_epoch = len(y_train) // args.batch_size
    schedule = optimizers.polynomial_decay(args.lr, epochs * steps_per_epoch, args.lr / 10)
    opt_init, opt_update, get_params = optimizers.adam(schedule)

    def loss(params, x, y):
        log_probs = apply_fun(params, x)
        return -fnp.mean(fnp.take_along_axis(log_probs, y[:, None], axis=1))

    @fg.jit
    def train_step(i, opt_state, x, y):
        value, grads = fg.value_and_grad(loss)(get_params(opt_state), x, y)
        grads = optimizers.clip_grads(grads, 1.0)
        return opt_update(i, grads, opt_state), value

    predict = fg.jit(apply_fun)

    def accuracy(params, x, y):
        return float(np.mean(np.argmax(predict(params, x), axis=1) == y))

    _, losses, accs = train_classifier(
        args.cell, args, key, opt_init(params), train_step,
        lambda opt_state: accuracy(get_params(opt_state), x_test, y_test),
        (x_train, y_train), epochs)
    report_classifier("rnn", args, losses, accs)

if __name__ == "__main__":
    main()
