"""A dense autoencoder compressing scikit-learn's 8x8 digits to a small code, compared with
PCA (computed with NumPy's SVD) at the same code size.

    python examples/autoencoder.py [--latent 8] [--epochs 60] [--seed 0] [--smoke]
"""
import numpy as np
from _common import figure, parse_args, plot_curve, save, show_images
from tqdm import tqdm

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import datasets, optimizers, random, stax


def pca_test_mse(x_train, x_test, k):
    """Test reconstruction MSE of the best rank-k affine projection fitted on x_train."""
    mean = x_train.mean(axis=0)
    _, _, vt = np.linalg.svd(x_train - mean, full_matrices=False)
    basis = vt[:k]
    recon = (x_test - mean) @ basis.T @ basis + mean
    return float(np.mean((recon - x_test) ** 2)), recon


def main():
    args = parse_args(__doc__.splitlines()[0], epochs=60, batch_size=64, lr=2e-3, latent=8,
                      hidden=256)
    epochs = 2 if args.smoke else args.epochs
    (x_train, _), (x_test, _) = datasets.load_digits()
    x_train = x_train.reshape(len(x_train), -1)
    x_test = x_test.reshape(len(x_test), -1)

    encoder = stax.serial(stax.Dense(args.hidden), stax.Relu, stax.Dense(args.hidden), stax.Relu,
                          stax.Dense(args.latent))
    decoder = stax.serial(stax.Dense(args.hidden), stax.Relu, stax.Dense(args.hidden), stax.Relu,
                          stax.Dense(64), stax.Sigmoid)
    init_fun, apply_fun = stax.serial(encoder, decoder)
    key, init_key = random.split(random.PRNGKey(args.seed))
    _, params = init_fun(init_key, (-1, 64))

    steps_per_epoch = len(x_train) // args.batch_size
    schedule = optimizers.polynomial_decay(args.lr, epochs * steps_per_epoch, args.lr / 20)
    opt_init, opt_update, get_params = optimizers.adam(schedule)

    def loss(params, x):
        return fnp.mean((apply_fun(params, x) - x) ** 2)

    @fg.jit
    def train_step(i, opt_state, x):
        value, grads = fg.value_and_grad(loss)(get_params(opt_state), x)
        return opt_update(i, grads, opt_state), value

    test_loss = fg.jit(loss)

    opt_state = opt_init(params)
    losses, test_mses = [], []
    with tqdm(total=epochs * steps_per_epoch, desc="autoencoder", disable=args.smoke) as bar:
        for _ in range(epochs):
            key, shuffle_key = random.split(key)
            for x in datasets.batches(shuffle_key, x_train, args.batch_size, drop_last=True):
                opt_state, value = train_step(len(losses), opt_state, x)
                losses.append(float(value))
                bar.update()
            test_mses.append(float(test_loss(get_params(opt_state), x_test)))
            bar.set_postfix(loss=f"{losses[-1]:.4f}", test_mse=f"{test_mses[-1]:.4f}")

    pca_mse, pca_recon = pca_test_mse(x_train, x_test, args.latent)
    ae_mse = test_mses[-1]
    print(f"test reconstruction MSE with a {args.latent}-dim code: "
          f"autoencoder {ae_mse:.5f}, PCA {pca_mse:.5f}")
    if not args.smoke:
        ae_recon = np.asarray(fg.jit(apply_fun)(get_params(opt_state), x_test[:10]))
        fig, (ax_loss, ax_img) = figure(2, width=6)
        plot_curve(ax_loss, losses, "MSE", log=True)
        ax_loss.lines[-1].set_label("training MSE")
        ax_loss.axhline(pca_mse, color="k", ls="--", label=f"PCA test ({args.latent} dims)")
        ax_loss.plot(np.arange(1, epochs + 1) * steps_per_epoch, test_mses, label="test MSE")
        ax_loss.legend()
        rows = np.concatenate([x_test[:10], ae_recon, pca_recon[:10]]).reshape(-1, 8, 8)
        show_images(ax_img, np.clip(rows, 0, 1),
                    "test digits / autoencoder / PCA reconstructions")
        save(fig, "autoencoder")
    print(f"RESULT test_mse={ae_mse:.5f} pca_mse={pca_mse:.5f}")


if __name__ == "__main__":
    main()
