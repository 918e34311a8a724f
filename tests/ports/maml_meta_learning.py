"""Model-agnostic meta-learning (MAML) on sine-wave regression, as the JAX MAML tutorials
write it: a small tanh MLP whose parameters are a list of dicts (a pytree) initialised with
`random.normal` over split keys, tasks (amplitude, phase) drawn with `random.uniform` and
their support/query points sampled under `vmap`, inner adaptation as a Python loop of SGD
steps with `jax.grad` and `jax.tree_util.tree_map`, the meta-loss differentiated through
the inner loop (second-order MAML) and averaged over a batch of tasks with `vmap`,
first-order MAML via `lax.stop_gradient` on the inner gradients, a hand-written Adam
outer optimizer (`tree_map` over several trees, bias correction), the outer step under
`jit` with `jax.value_and_grad(has_aux=True)`, meta-training losses over steps, adapted
predictions on a grid, global gradient norms from `jax.tree_util.tree_leaves`, a
Hessian-vector product as `jvp` of `grad`, the cosine between first- and second-order
meta-gradients (`ravel_pytree`), and a `lax.scan` inner loop compared with the unrolled
one."""
import jax
import jax.numpy as jnp
from jax import lax, random
from jax.flatten_util import ravel_pytree
from jax.tree_util import tree_leaves, tree_map

SIZES = (1, 32, 32, 1)
INNER_LR = 0.05
N_SUPPORT = 10
N_QUERY = 10
N_TASKS = 4


def init_mlp(key, sizes=SIZES):
    params = []
    keys = random.split(key, len(sizes) - 1)
    for k, (n_in, n_out) in zip(keys, zip(sizes[:-1], sizes[1:])):
        wk, bk = random.split(k)
        params.append({"w": random.normal(wk, (n_in, n_out)) * jnp.sqrt(1.0 / n_in),
                       "b": 0.1 * random.normal(bk, (n_out,))})
    return params


def mlp(params, x):
    h = x
    for layer in params[:-1]:
        h = jnp.tanh(h @ layer["w"] + layer["b"])
    return h @ params[-1]["w"] + params[-1]["b"]


def mse(params, x, y):
    return jnp.mean((mlp(params, x) - y) ** 2)


def sample_tasks(key, n):
    ka, kp = random.split(key)
    amp = random.uniform(ka, (n,), minval=0.1, maxval=5.0)
    phase = random.uniform(kp, (n,), minval=0.0, maxval=jnp.pi)
    return amp, phase


def sample_points(key, amp, phase, n):
    x = random.uniform(key, (n, 1), minval=-5.0, maxval=5.0)
    return x, amp * jnp.sin(x + phase)


def inner_update(params, x, y, steps, first_order=False):
    for _ in range(steps):
        g = jax.grad(mse)(params, x, y)
        if first_order:
            g = tree_map(lax.stop_gradient, g)
        params = tree_map(lambda p, d: p - INNER_LR * d, params, g)
    return params


def inner_update_scan(params, x, y, steps):
    def step(p, _):
        g = jax.grad(mse)(p, x, y)
        return tree_map(lambda a, d: a - INNER_LR * d, p, g), mse(p, x, y)

    return lax.scan(step, params, None, length=steps)


def maml_loss(params, xs, ys, xq, yq, steps=1, first_order=False):
    adapted = inner_update(params, xs, ys, steps, first_order)
    return mse(adapted, xq, yq)


def batch_maml_loss(params, batch, steps=1, first_order=False):
    xs, ys, xq, yq = batch
    losses = jax.vmap(lambda a, b, c, d: maml_loss(params, a, b, c, d, steps, first_order))(
        xs, ys, xq, yq)
    return jnp.mean(losses), losses


def make_batch(key, n_tasks=N_TASKS):
    kt, ks, kq = random.split(key, 3)
    amp, phase = sample_tasks(kt, n_tasks)
    xs, ys = jax.vmap(lambda k, a, p: sample_points(k, a, p, N_SUPPORT))(
        random.split(ks, n_tasks), amp, phase)
    xq, yq = jax.vmap(lambda k, a, p: sample_points(k, a, p, N_QUERY))(
        random.split(kq, n_tasks), amp, phase)
    return (xs, ys, xq, yq)


def adam_init(params):
    zeros = tree_map(jnp.zeros_like, params)
    return {"m": zeros, "v": zeros, "t": jnp.array(0, dtype=jnp.int32)}


def adam_update(params, grads, state, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    t = state["t"] + 1
    m = tree_map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = tree_map(lambda v, g: b2 * v + (1 - b2) * jnp.square(g), state["v"], grads)
    mhat = tree_map(lambda m: m / (1 - b1 ** t), m)
    vhat = tree_map(lambda v: v / (1 - b2 ** t), v)
    params = tree_map(lambda p, a, b: p - lr * a / (jnp.sqrt(b) + eps), params, mhat, vhat)
    return params, {"m": m, "v": v, "t": t}


def global_norm(tree):
    return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in tree_leaves(tree)))


@jax.jit
def outer_step(params, state, batch):
    (loss, per_task), grads = jax.value_and_grad(batch_maml_loss, has_aux=True)(params, batch)
    params, state = adam_update(params, grads, state, lr=3e-3)
    return params, state, loss, per_task, global_norm(grads)


def run():
    key = random.PRNGKey(0)
    k_init, k_train, k_eval = random.split(key, 3)
    params = init_mlp(k_init)
    n_params = sum(x.size for x in tree_leaves(params))

    state = adam_init(params)
    losses, norms = [], []
    for k in random.split(k_train, 8):
        params, state, loss, per_task, gnorm = outer_step(params, state, make_batch(k))
        losses.append(loss)
        norms.append(gnorm)

    batch = make_batch(k_eval)
    xs, ys, xq, yq = batch
    # second- and first-order meta-gradients (two inner steps)
    g2 = jax.grad(lambda p: batch_maml_loss(p, batch, steps=2)[0])(params)
    g1 = jax.grad(lambda p: batch_maml_loss(p, batch, steps=2, first_order=True)[0])(params)
    flat2, unravel = ravel_pytree(g2)
    flat1, _ = ravel_pytree(g1)
    cosine = jnp.dot(flat1, flat2) / (jnp.linalg.norm(flat1) * jnp.linalg.norm(flat2))

    # adapt to the first eval task, predict on a grid
    grid = jnp.linspace(-5.0, 5.0, 21)[:, None]
    pre = mlp(params, grid)[:, 0]
    adapted = inner_update(params, xs[0], ys[0], steps=3)
    post = mlp(adapted, grid)[:, 0]
    adapt_curve = jnp.stack([mse(inner_update(params, xs[0], ys[0], s), xq[0], yq[0])
                             for s in range(4)])
    scanned, scan_losses = inner_update_scan(params, xs[0], ys[0], 3)
    scan_vs_loop = jnp.allclose(ravel_pytree(scanned)[0], ravel_pytree(adapted)[0], atol=1e-5)

    # Hessian-vector product of the support loss: jvp of grad, against a tangent from g2
    v = tree_map(lambda g: g / global_norm(g2), g2)
    _, hvp = jax.jvp(lambda p: jax.grad(mse)(p, xs[0], ys[0]), (params,), (v,))
    vhv = sum(jnp.vdot(a, b) for a, b in zip(tree_leaves(v), tree_leaves(hvp)))
    unraveled = unravel(flat2)

    return {
        "n_params": jnp.int32(n_params),
        "meta_losses": jnp.stack(losses),
        "meta_grad_norms": jnp.stack(norms),
        "last_per_task": per_task,
        "adam_step": state["t"],
        "first_layer_w": params[0]["w"][0],
        "last_bias": params[-1]["b"],
        "eval_grad_norm_2nd": global_norm(g2),
        "eval_grad_norm_1st": global_norm(g1),
        "fo_so_cosine": cosine,
        "pre_adapt_pred": pre,
        "post_adapt_pred": post,
        "adapt_curve": adapt_curve,
        "scan_support_losses": scan_losses,
        "scan_vs_loop": scan_vs_loop,
        "hvp_first_layer_b": hvp[0]["b"][:8],
        "vhv": vhv,
        "unravel_roundtrip": jnp.array_equal(unraveled[1]["w"], g2[1]["w"]),
        "treedef": str(jax.tree_util.tree_structure(params)),
    }


if __name__ == "__main__":
    print(run())
