"""Linear regression on synthetic data by full-batch gradient descent, recovering the weights
that generated it.

    python examples/linear_regression.py [--steps 300] [--seed 0] [--smoke]

The data is y = x @ w_true + b_true + noise; the script prints the largest error of the
learned weights against the true ones (and against NumPy's least-squares solution).
"""
import numpy as np
from _common import figure, parse_args, plot_curve, save
from tqdm import tqdm

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import random
from funcgrad.tree import tree_map


def make_data(key, n, dim, noise):
    k_w, k_x, k_noise = random.split(key, 3)
    w_true = random.normal(k_w, (dim,))
    b_true = 0.5
    x = random.normal(k_x, (n, dim))
    y = x @ w_true + b_true + noise * random.normal(k_noise, (n,))
    return x, y, (w_true, b_true)


def loss(params, x, y):
    w, b = params
    return fnp.mean((x @ w + b - y) ** 2)


def main():
    args = parse_args(__doc__.splitlines()[0], steps=300, n=2000, dim=8, noise=0.1, lr=0.2)
    steps = 20 if args.smoke else args.steps
    x, y, (w_true, b_true) = make_data(random.PRNGKey(args.seed), args.n, args.dim, args.noise)

    @fg.jit
    def step(params, x, y):
        value, grads = fg.value_and_grad(loss)(params, x, y)
        return tree_map(lambda p, g: p - args.lr * g, params, grads), value

    params = (fnp.zeros(args.dim), fnp.zeros(()))
    losses = []
    for _ in tqdm(range(steps), desc="linear regression", disable=args.smoke):
        params, value = step(params, x, y)
        losses.append(float(value))

    w, b = (np.asarray(p) for p in params)
    w_true = np.asarray(w_true)
    # (funcgrad's own least squares: NumPy's would wake NumPy's OpenBLAS thread pool, a
    # second core spent for nothing in a program that otherwise runs on one)
    design = fnp.concatenate([x, fnp.ones((args.n, 1), x.dtype)], axis=1)
    lstsq = np.asarray(fnp.linalg.lstsq(design, y)[0])
    err_true = max(np.max(np.abs(w - w_true)), abs(float(b) - b_true))
    err_lstsq = np.max(np.abs(np.append(w, b) - lstsq))
    print(f"final loss {losses[-1]:.5f} (noise variance {args.noise ** 2:.5f})")
    print(f"max |learned - true| = {err_true:.2e}, max |learned - lstsq| = {err_lstsq:.2e}")

    if not args.smoke:
        fig, (ax_loss, ax_w) = figure(2)
        plot_curve(ax_loss, losses, "mean squared error", log=True)
        idx = np.arange(args.dim)
        ax_w.bar(idx - 0.2, w_true, 0.4, label="true")
        ax_w.bar(idx + 0.2, w, 0.4, label="learned")
        ax_w.set_xlabel("weight index")
        ax_w.legend()
        save(fig, "linear_regression")
    print(f"RESULT max_weight_error={err_true:.2e}")


if __name__ == "__main__":
    main()
