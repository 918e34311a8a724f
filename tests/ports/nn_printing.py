"""`jax.nn` activations and losses at the edges users hit (large and tiny logits, -inf
masks, zero inputs) with their gradients, `logsumexp` with `b=` and `return_sign`,
`one_hot` of out-of-range labels, `jnp.where`-guarded gradients (the "NaN gradient"
sharp bit), and printing arrays the way scripts print progress: `print(x)`, `repr`,
f-string format specs on scalar arrays, `.item()`, `.tolist()`, dtypes and shapes."""
import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp


def safe_log(x):
    safe = jnp.where(x > 0, x, 1.0)
    return jnp.where(x > 0, jnp.log(safe), 0.0)


def cross_entropy(logits, labels, n_classes):
    return -jnp.sum(jax.nn.one_hot(labels, n_classes) * jax.nn.log_softmax(logits), axis=-1)


def run():
    x = jnp.array([-100.0, -20.0, -1.0, 0.0, 1e-3, 1.0, 20.0, 100.0])
    logits = jnp.array([[1000.0, 0.0, -1000.0], [-jnp.inf, 0.0, 1.0], [0.0, 0.0, 0.0]])
    acts = {name: getattr(jax.nn, name) for name in
            ["relu", "relu6", "sigmoid", "log_sigmoid", "softplus", "silu", "gelu", "elu",
             "leaky_relu", "celu", "selu", "hard_tanh", "hard_sigmoid", "soft_sign", "mish",
             "squareplus"]}
    out = {f"{n}": f(x) for n, f in acts.items()}
    out.update({f"grad_{n}": jax.vmap(jax.grad(f))(x) for n, f in acts.items()})
    out["gelu_exact"] = jax.nn.gelu(x, approximate=False)
    out["softmax"] = jax.nn.softmax(logits)
    out["log_softmax"] = jax.nn.log_softmax(logits)
    out["softmax_grad"] = jax.grad(lambda l: jax.nn.softmax(l)[0])(logits[0])
    lse, sign = logsumexp(jnp.array([1.0, 2.0, 3.0]), b=jnp.array([1.0, -2.0, 0.5]),
                          return_sign=True)
    out["lse_signed"] = jnp.stack([lse, sign])
    out["lse_inf_rows"] = logsumexp(jnp.array([[-jnp.inf, -jnp.inf], [jnp.inf, 0.0]]), axis=1)
    out["one_hot_oob"] = jax.nn.one_hot(jnp.array([0, 2, 3, -1]), 3)
    out["cross_entropy"] = cross_entropy(logits[jnp.array([0, 2])], jnp.array([1, 2]), 3)
    out["safe_log_grad"] = jax.grad(lambda v: jnp.sum(safe_log(v)))(jnp.array([0.0, 2.0, -1.0]))
    out["norm_grad_zero"] = jax.grad(lambda v: jnp.linalg.norm(v))(jnp.zeros(3))
    out["sqrt_grad_zero"] = jax.grad(jnp.sqrt)(0.0)
    out["xlogx_where"] = jax.grad(lambda v: jnp.sum(jnp.where(v > 0, v * jnp.log(v), 0.0)))(
        jnp.array([0.0, 0.5]))
    out["standardize"] = jax.nn.standardize(jnp.arange(6.0).reshape(2, 3), axis=1)
    out["glu"] = jax.nn.glu(jnp.arange(8.0).reshape(2, 4) - 4)

    loss = jnp.float32(0.123456789)
    ints = jnp.arange(5)
    print(jnp.arange(3.0))
    print(ints)
    print(jnp.array([[1.5, -2.25], [1e-3, 100.0]]))
    print(jnp.array([True, False]))
    print(repr(ints))
    print(repr(jnp.array([0.5, 1.0])))
    print(f"step 3: loss={jnp.mean(x[3:6]):.4f}, acc={jnp.array(0.75):.1%}")
    print(f"{jnp.sum(ints)} {jnp.sum(ints):5d} {loss:.3e}")
    print(ints.dtype, x.shape, x.ndim, x.size, jnp.zeros((2, 0)).shape)
    print(jnp.max(x).item(), ints.tolist(), type(ints.sum().item()).__name__)
    print(jnp.array(3.5), jnp.array(2, dtype=jnp.int8), jnp.float32(2.5))
    print(jnp.array([jnp.nan, jnp.inf, -jnp.inf]))
    return out


if __name__ == "__main__":
    print(run())
