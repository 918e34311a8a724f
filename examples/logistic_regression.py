"""Multinomial logistic regression (one linear layer + softmax) on scikit-learn's 8x8 digits,
written with plain `funcgrad.numpy` and a hand-written gradient step.

    python examples/logistic_regression.py [--steps 600] [--seed 0] [--smoke]
"""
import numpy as np
from _common import figure, parse_args, plot_curve, save
from tqdm import tqdm

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import datasets, nn, random
from funcgrad.tree import tree_map


def predict(params, x):
    w, b = params
    return nn.log_softmax(x @ w + b, axis=-1)


def loss(params, x, y, l2):
    log_probs = predict(params, x)
    nll = -fnp.mean(fnp.sum(log_probs * nn.one_hot(y, 10), axis=-1))
    return nll + l2 * fnp.sum(params[0] ** 2)


def main():
    args = parse_args(__doc__.splitlines()[0], steps=600, batch_size=128, lr=0.5, l2=1e-4)
    steps = 10 if args.smoke else args.steps
    (x_train, y_train), (x_test, y_test) = datasets.load_digits()
    x_train = x_train.reshape(len(x_train), -1)
    x_test = x_test.reshape(len(x_test), -1)

    key, init_key = random.split(random.PRNGKey(args.seed))
    params = (0.01 * random.normal(init_key, (64, 10)), fnp.zeros(10))

    @fg.jit
    def step(params, x, y):
        value, grads = fg.value_and_grad(loss)(params, x, y, args.l2)
        return tree_map(lambda p, g: p - args.lr * g, params, grads), value

    predict_jit = fg.jit(predict)

    def accuracy(params, x, y):
        return float(np.mean(np.argmax(predict_jit(params, x), axis=1) == y))

    losses, test_accs = [], []
    with tqdm(total=steps, desc="logistic regression", disable=args.smoke) as bar:
        while len(losses) < steps:
            key, shuffle_key = random.split(key)
            for x, y in datasets.batches(shuffle_key, (x_train, y_train), args.batch_size,
                                         drop_last=True):
                params, value = step(params, x, y)
                losses.append(float(value))
                bar.update()
                if len(losses) == steps:
                    break
            test_accs.append(accuracy(params, x_test, y_test))
            bar.set_postfix(loss=f"{losses[-1]:.3f}", test_acc=f"{test_accs[-1]:.3f}")

    print(f"train accuracy {accuracy(params, x_train, y_train):.4f}")
    if not args.smoke:
        fig, (ax_loss, ax_acc, ax_w) = figure(3, width=4.5)
        plot_curve(ax_loss, losses, "training loss", log=True)
        plot_curve(ax_acc, test_accs, "test accuracy", xlabel="epoch")
        w = np.asarray(params[0]).T.reshape(10, 8, 8)
        ax_w.imshow(np.concatenate(list(w), axis=1), cmap="RdBu")
        ax_w.set_title("weights per class (0..9)")
        ax_w.axis("off")
        save(fig, "logistic_regression")
    print(f"RESULT test_accuracy={test_accs[-1]:.4f}")


if __name__ == "__main__":
    main()
