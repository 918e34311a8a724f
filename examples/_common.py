"""Shared plumbing for the examples: command-line flags, the output folder and plots.

Every example takes `--seed`, `--smoke` (a few steps, no plot, for the tests) and its own
`--epochs` or `--steps`, trains in a `funcgrad.jit`-compiled loop, prints its final metric as
the last line (`RESULT name=value`) and, outside smoke mode, writes `examples/out/<name>.png`.
"""
from __future__ import annotations

import argparse
import os

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def parse_args(description: str, *, epochs: int | None = None, steps: int | None = None,
               **extra) -> argparse.Namespace:
    """Flags common to every example; `extra` maps further flag names to their defaults (a
    tuple: the allowed values, the first being the default)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--smoke", action="store_true",
                        help="a few steps only, no quality bar and no plot (for tests)")
    if epochs is not None:
        parser.add_argument("--epochs", type=int, default=epochs, help="training epochs")
    if steps is not None:
        parser.add_argument("--steps", type=int, default=steps, help="training steps")
    for name, default in extra.items():
        flag = f"--{name.replace('_', '-')}"
        if isinstance(default, tuple):      # the choices, the first being the default
            parser.add_argument(flag, choices=default, default=default[0])
        else:
            parser.add_argument(flag, type=type(default), default=default)
    return parser.parse_args()


def figure(ncols: int = 1, width: float = 5.0, height: float = 4.0):
    """A matplotlib figure with `ncols` axes side by side, on the non-interactive backend."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)
    return fig, list(axes[0])


def plot_curve(ax, values, label: str, xlabel: str = "step", log: bool = False):
    ax.plot(range(1, len(values) + 1), values, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(label)
    if log:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)


def show_images(ax, images, title: str, ncols: int = 10):
    """Tile (n, h, w) grey images into one grid on `ax`."""
    import numpy as np
    images = np.asarray(images)
    n, h, w = images.shape
    nrows = -(-n // ncols)
    grid = np.zeros((nrows * (h + 1), ncols * (w + 1)))
    for i, img in enumerate(images):
        r, c = divmod(i, ncols)
        grid[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = img
    ax.imshow(grid, cmap="gray_r", vmin=0, vmax=1)
    ax.set_title(title)
    ax.axis("off")


def save(fig, name: str) -> str:
    """Save `fig` as examples/out/<name>.png and return the path."""
    import matplotlib.pyplot as plt
    os.makedirs(OUT_DIR, exist_ok=True)
    path = os.path.join(OUT_DIR, f"{name}.png")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"wrote {os.path.relpath(path)}")
    return path


def train_classifier(name, args, key, opt_state, train_step, accuracy, train_data, epochs,
                     step_keys: bool = False):
    """The classifiers' training loop: per epoch a shuffled pass over `train_data` in
    batches of `args.batch_size` (the ragged last batch is dropped), `train_step(i,
    opt_state, x, y[, key])` per batch (with a fresh key when `step_keys`, e.g. for
    dropout), then `accuracy(opt_state)` on the test set. Returns (opt_state, losses,
    per-epoch test accuracies)."""
    from tqdm import tqdm

    from funcgrad import datasets, random
    steps = epochs * (len(train_data[1]) // args.batch_size)
    losses, accs = [], []
    with tqdm(total=steps, desc=name, disable=args.smoke) as bar:
        for _ in range(epochs):
            key, shuffle_key = random.split(key)
            for x, y in datasets.batches(shuffle_key, train_data, args.batch_size,
                                         drop_last=True):
                extra = ()
                if step_keys:
                    key, step_key = random.split(key)
                    extra = (step_key,)
                opt_state, value = train_step(len(losses), opt_state, x, y, *extra)
                losses.append(float(value))
                bar.update()
            accs.append(float(accuracy(opt_state)))
            bar.set_postfix(loss=f"{losses[-1]:.3f}", test_acc=f"{accs[-1]:.3f}")
    return opt_state, losses, accs


def report_classifier(name, args, losses, accs):
    """Plot the loss and test-accuracy curves (outside smoke mode) and print the result."""
    if not args.smoke:
        fig, (ax_loss, ax_acc) = figure(2)
        plot_curve(ax_loss, losses, "training loss", log=True)
        plot_curve(ax_acc, accs, "test accuracy", xlabel="epoch")
        save(fig, name)
    print(f"RESULT test_accuracy={accs[-1]:.4f}")
