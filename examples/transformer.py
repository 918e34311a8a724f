"""A small transformer encoder (token + positional embeddings, pre-LayerNorm blocks of
stax.MultiHeadSelfAttention and an MLP) learning to reverse or sort short integer sequences.

    python examples/transformer.py [--task sort|reverse] [--steps 1500] [--seed 0] [--smoke]

Each training step draws a fresh batch of random sequences inside the jitted step; the metric
is the per-token accuracy on a fixed held-out set.
"""
import numpy as np
from _common import figure, parse_args, plot_curve, save
from tqdm import tqdm

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import optimizers, random, stax


def PositionalEmbedding(init_scale=1.0):
    """Adds a learned (seq_len, features) embedding to (batch, seq_len, features) inputs."""
    def init_fun(rng, input_shape):
        return input_shape, init_scale * random.normal(rng, tuple(input_shape[1:]))

    def apply_fun(params, inputs, **kwargs):
        return inputs + params
    return init_fun, apply_fun


def Residual(*layers):
    """x + layers(x)."""
    return stax.serial(stax.FanOut(2), stax.parallel(stax.Identity, stax.serial(*layers)),
                       stax.FanInSum)


def TransformerBlock(num_heads, mlp_dim):
    def make(input_shape):
        features = input_shape[-1]
        return stax.serial(
            Residual(stax.LayerNorm(), stax.MultiHeadSelfAttention(num_heads)),
            Residual(stax.LayerNorm(), stax.Dense(mlp_dim), stax.Gelu, stax.Dense(features)))
    return stax.shape_dependent(make)


def make_batch(key, task, batch_size, seq_len, vocab):
    tokens = random.randint(key, (batch_size, seq_len), 0, vocab)
    targets = tokens[:, ::-1] if task == "reverse" else fnp.sort(tokens, axis=1)
    return tokens, targets


def main():
    args = parse_args(__doc__.splitlines()[0], steps=1500, batch_size=128, lr=1e-3,
                      seq_len=8, vocab=10, features=64, heads=4, layers=2, task="sort")
    steps = 10 if args.smoke else args.steps
    init_fun, apply_fun = stax.serial(
        stax.Embedding(args.vocab, args.features), PositionalEmbedding(),
        *[TransformerBlock(args.heads, 2 * args.features) for _ in range(args.layers)],
        stax.LayerNorm(), stax.Dense(args.vocab), stax.LogSoftmax)
    key, init_key, test_key = random.split(random.PRNGKey(args.seed), 3)
    _, params = init_fun(init_key, (-1, args.seq_len))
    x_test, y_test = make_batch(test_key, args.task, 1000, args.seq_len, args.vocab)

    warmup = max(steps // 10, 1)
    schedule = optimizers.piecewise_constant(
        [warmup, steps // 2, 3 * steps // 4], [args.lr / 10, args.lr, args.lr / 3, args.lr / 10])
    opt_init, opt_update, get_params = optimizers.adam(schedule)

    def loss(params, x, y):
        log_probs = apply_fun(params, x)
        return -fnp.mean(fnp.take_along_axis(log_probs, y[..., None], axis=-1))

    @fg.jit
    def train_step(i, opt_state, key):
        x, y = make_batch(key, args.task, args.batch_size, args.seq_len, args.vocab)
        value, grads = fg.value_and_grad(loss)(get_params(opt_state), x, y)
        return opt_update(i, grads, opt_state), value

    predict = fg.jit(apply_fun)

    def token_accuracy(params):
        return float(np.mean(np.argmax(predict(params, x_test), axis=-1) == np.asarray(y_test)))

    opt_state = opt_init(params)
    losses, test_accs = [], []
    eval_every = max(steps // 30, 1)
    with tqdm(total=steps, desc=f"transformer ({args.task})", disable=args.smoke) as bar:
        for i in range(steps):
            key, step_key = random.split(key)
            opt_state, value = train_step(i, opt_state, step_key)
            losses.append(float(value))
            bar.update()
            if (i + 1) % eval_every == 0 or i + 1 == steps:
                test_accs.append(token_accuracy(get_params(opt_state)))
                bar.set_postfix(loss=f"{losses[-1]:.3f}", test_acc=f"{test_accs[-1]:.3f}")

    params = get_params(opt_state)
    pred = np.argmax(predict(params, x_test[:3]), axis=-1)
    for x, y, p in zip(np.asarray(x_test[:3]), np.asarray(y_test[:3]), pred):
        print(f"input {x}  target {y}  predicted {p}")
    if not args.smoke:
        fig, (ax_loss, ax_acc) = figure(2)
        plot_curve(ax_loss, losses, "training loss", log=True)
        plot_curve(ax_acc, test_accs, "test token accuracy", xlabel=f"x{eval_every} steps")
        save(fig, "transformer")
    print(f"RESULT test_token_accuracy={test_accs[-1]:.4f}")


if __name__ == "__main__":
    main()
