"""A multilayer perceptron built with stax, trained with Adam on scikit-learn's 8x8 digits.

    python examples/mlp.py [--epochs 30] [--seed 0] [--smoke]
"""
import numpy as np
from _common import parse_args, report_classifier, train_classifier

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import datasets, optimizers, random, stax


def main():
    args = parse_args(__doc__.splitlines()[0], epochs=30, batch_size=64, lr=3e-3, hidden=256)
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

    steps_per_epoch = len(y_train) // args.batch_size
    schedule = optimizers.polynomial_decay(args.lr, epochs * steps_per_epoch, args.lr / 10)
    opt_init, opt_update, get_params = optimizers.adam(schedule)

    def loss(params, x, y):
        log_probs = apply_fun(params, x)
        return -fnp.mean(fnp.take_along_axis(log_probs, y[:, None], axis=1))

    @fg.jit
    def train_step(i, opt_state, x, y):
        value, grads = fg.value_and_grad(loss)(get_params(opt_state), x, y)
        return opt_update(i, grads, opt_state), value

    predict = fg.jit(apply_fun)

    def accuracy(params, x, y):
        return float(np.mean(np.argmax(predict(params, x), axis=1) == y))

    _, losses, accs = train_classifier(
        "mlp", args, key, opt_init(params), train_step,
        lambda opt_state: accuracy(get_params(opt_state), x_test, y_test),
        (x_train, y_train), epochs)
    report_classifier("mlp", args, losses, accs)

if __name__ == "__main__":
    main()
