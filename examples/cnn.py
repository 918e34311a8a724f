"""A small convolutional network (conv + max pooling + BatchNorm + Dropout, built with stax)
classifying scikit-learn's 8x8 handwritten digits.

    python examples/cnn.py [--epochs 15] [--seed 0] [--precision float32|bfloat16|float16]
                           [--smoke]

stax's BatchNorm, like JAX's, keeps no running statistics: it normalises with the statistics of
the batch it sees, so the test set is evaluated in one large batch. Dropout needs a `mode`, so
the network is built twice, for training and for testing; both share one set of parameters.

`--precision bfloat16` (or float16) trains in mixed precision (`funcgrad.mixed_precision`):
parameters and Adam's state stay float32, the network computes in the reduced type and its
log-probabilities come back float32. float16 adds dynamic loss scaling; a step whose
gradients overflow is skipped.
"""
import time

import numpy as np
from _common import parse_args, report_classifier, train_classifier

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import datasets, optimizers, random, stax
from funcgrad import mixed_precision as mp


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


def make_training(precision, width, opt_update, get_params):
    """The network under the policy "params float32, compute `precision`, outputs float32"
    and its jitted steps: returns (policy, init_fun, train_step, predict, loss_scale).

    `train_step(i, (opt_state, loss_scale), x, y, rng) -> ((opt_state, loss_scale), loss)`;
    with float16 the loss is scaled (a `DynamicLossScale`) and a step whose gradients are
    not finite leaves the parameters as they were."""
    policy = mp.get_policy(f"params=float32,compute={precision},output=float32")
    init_fun, train_apply = policy.wrap_layer(make_net("train", width))
    predict = fg.jit(policy.wrap(make_net("test", width)[1]))
    # float16 gradients underflow: scale the loss (bfloat16 has float32's exponent range).
    loss_scale = mp.DynamicLossScale() if precision == "float16" else mp.NoOpLossScale()

    def loss(params, x, y, rng, scale):
        log_probs = train_apply(params, x, rng=rng)
        value = -fnp.mean(fnp.take_along_axis(log_probs, y[:, None], axis=1))
        return scale.scale(value), value

    @fg.jit
    def train_step(i, state, x, y, rng):
        opt_state, scale = state
        grads, value = fg.grad(loss, has_aux=True)(get_params(opt_state), x, y, rng, scale)
        grads = scale.unscale(grads)
        if isinstance(scale, mp.NoOpLossScale):
            return (opt_update(i, grads, opt_state), scale), value
        finite = mp.all_finite(grads)
        opt_state = mp.select_tree(finite, opt_update(i, grads, opt_state), opt_state)
        return (opt_state, scale.adjust(finite)), value
    return policy, init_fun, train_step, predict, loss_scale


def main():
    args = parse_args(__doc__.splitlines()[0], epochs=15, batch_size=64, lr=3e-3, width=32,
                      precision=("float32", "bfloat16", "float16"))
    epochs = 1 if args.smoke else args.epochs
    (x_train, y_train), (x_test, y_test) = datasets.load_digits()
    if args.smoke:
        x_train, y_train = x_train[:256], y_train[:256]

    steps_per_epoch = len(y_train) // args.batch_size
    total_steps = epochs * steps_per_epoch
    schedule = optimizers.polynomial_decay(args.lr, total_steps, args.lr / 20)
    opt_init, opt_update, get_params = optimizers.adam(schedule)
    policy, init_fun, train_step, predict, loss_scale = make_training(
        args.precision, args.width, opt_update, get_params)
    key, init_key = random.split(random.PRNGKey(args.seed))
    _, params = init_fun(init_key, (-1, 8, 8, 1))

    def accuracy(params, x, y):
        return np.mean(np.argmax(predict(params, x), axis=1) == y)

    start = time.time()
    name = "cnn" if args.precision == "float32" else f"cnn_{args.precision}"
    (_, loss_scale), losses, accs = train_classifier(
        name, args, key, (opt_init(params), loss_scale), train_step,
        lambda state: accuracy(get_params(state[0]), x_test, y_test),
        (x_train, y_train), epochs, step_keys=True)
    print(f"trained {len(losses)} steps in {time.time() - start:.1f}s "
          f"(policy {policy}, {loss_scale})")
    report_classifier(name, args, losses, accs)


if __name__ == "__main__":
    main()
