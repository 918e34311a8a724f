"""`jax.nn` beyond the common activations: `one_hot` with `axis` and integer `dtype`,
exact and tanh-approximate `gelu`, `glu`, `softmax`/`log_softmax` with `where=` (and their
gradients), `standardize` with `where=` and `epsilon`, `dot_product_attention` with a bias,
a mask and `is_causal`, `celu`/`selu`/`elu`/`silu`/`mish`/`squareplus`/`sparse_plus`/
`hard_*`, `log1mexp`, `logmeanexp`, and `jax.nn.initializers` with fixed keys
(`orthogonal`, `variance_scaling` in each mode and distribution, `glorot_normal`,
`he_uniform`, `lecun_uniform`, `truncated_normal`, `constant`, `uniform`, `normal`,
`delta_orthogonal`)."""
import jax
import jax.numpy as jnp
from jax import random
from jax.nn import initializers


def run():
    key = random.PRNGKey(2)
    kq, kk, kv, kb = random.split(key, 4)
    x = jnp.array([-3.0, -1.0, -0.1, 0.0, 0.4, 2.0, 6.0])
    logits = jnp.array([[1.0, 2.0, 3.0, 4.0], [0.5, -1.0, 2.0, 0.0]])
    mask = jnp.array([[True, True, False, True], [False, True, True, False]])
    q = random.normal(kq, (2, 5, 2, 4))
    k = random.normal(kk, (2, 5, 2, 4))
    v = random.normal(kv, (2, 5, 2, 4))
    bias = 0.1 * random.normal(kb, (1, 2, 5, 5))
    amask = jnp.tril(jnp.ones((5, 5), dtype=bool))[None, None]
    inits = {}
    for name, init in [
        ("orthogonal", initializers.orthogonal()),
        ("orthogonal_scaled", initializers.orthogonal(scale=2.0, column_axis=0)),
        ("vs_fan_avg_uniform", initializers.variance_scaling(1.0, "fan_avg", "uniform")),
        ("vs_fan_out_normal", initializers.variance_scaling(2.0, "fan_out", "normal")),
        ("vs_fan_in_trunc", initializers.variance_scaling(1.0, "fan_in", "truncated_normal")),
        ("glorot_normal", initializers.glorot_normal()),
        ("he_uniform", initializers.he_uniform()),
        ("lecun_uniform", initializers.lecun_uniform()),
        ("truncated_normal", initializers.truncated_normal(stddev=0.5)),
        ("uniform", initializers.uniform(scale=0.1)),
        ("normal", initializers.normal(stddev=0.2)),
    ]:
        inits[name] = init(random.PRNGKey(9), (4, 3))
    conv = initializers.he_normal(in_axis=-2, out_axis=-1)(random.PRNGKey(4), (3, 3, 2, 4))
    ortho = inits["orthogonal"]
    return {
        "one_hot_axis0": jax.nn.one_hot(jnp.array([0, 2, -1, 3]), 3, axis=0),
        "one_hot_int": jax.nn.one_hot(jnp.array([[1, 0], [2, 5]]), 3, dtype=jnp.int32),
        "gelu_exact": jax.nn.gelu(x, approximate=False),
        "gelu_tanh": jax.nn.gelu(x),
        "gelu_exact_grad": jax.vmap(jax.grad(lambda u: jax.nn.gelu(u, approximate=False)))(x),
        "glu": jax.nn.glu(logits),
        "glu_axis0": jax.nn.glu(logits, axis=0),
        "softmax_where": jax.nn.softmax(logits, where=mask),
        "log_softmax_where": jax.nn.log_softmax(logits, where=mask),
        "softmax_where_grad": jax.grad(lambda z: jnp.sum(
            jax.nn.softmax(z, where=mask) * jnp.arange(4.0)))(logits),
        "softmax_axis0": jax.nn.softmax(logits, axis=0),
        "standardize": jax.nn.standardize(logits, axis=-1),
        "standardize_where": jax.nn.standardize(logits, axis=-1, where=mask, epsilon=1e-3),
        "standardize_mean_var": jax.nn.standardize(logits, axis=1, mean=jnp.zeros((2, 1)),
                                                   variance=jnp.ones((2, 1))),
        "attention": jax.nn.dot_product_attention(q, k, v),
        "attention_bias_mask": jax.nn.dot_product_attention(q, k, v, bias=bias, mask=amask),
        "attention_causal": jax.nn.dot_product_attention(q, k, v, is_causal=True),
        "attention_scale": jax.nn.dot_product_attention(q, k, v, scale=0.1)[0, 0],
        "attention_grad": jax.grad(lambda qq: jnp.sum(jax.nn.dot_product_attention(
            qq, k, v, is_causal=True) ** 2))(q)[0, :, 0],
        "celu": jax.nn.celu(x, alpha=0.5),
        "selu": jax.nn.selu(x),
        "elu": jax.nn.elu(x, alpha=2.0),
        "silu": jax.nn.silu(x),
        "mish": jax.nn.mish(x),
        "squareplus": jax.nn.squareplus(x, b=2.0),
        "sparse_plus": jax.nn.sparse_plus(x),
        "sparse_sigmoid": jax.nn.sparse_sigmoid(x),
        "hard_tanh": jax.nn.hard_tanh(x),
        "hard_sigmoid": jax.nn.hard_sigmoid(x),
        "hard_silu": jax.nn.hard_silu(x),
        "relu6": jax.nn.relu6(x),
        "relu6_grad": jax.vmap(jax.grad(jax.nn.relu6))(jnp.array([0.0, 3.0, 6.0, 7.0])),
        "leaky_relu": jax.nn.leaky_relu(x, negative_slope=0.2),
        "log1mexp": jax.nn.log1mexp(jnp.array([1e-3, 0.5, 1.0, 10.0])),
        "logmeanexp": jax.nn.logmeanexp(logits, axis=1),
        "soft_sign": jax.nn.soft_sign(x),
        "log_sigmoid_grad": jax.vmap(jax.grad(jax.nn.log_sigmoid))(x),
        **inits,
        "orthogonal_check": ortho.T @ ortho,
        "he_normal_conv": conv[:, :, 0, 0],
        "delta_orthogonal": initializers.delta_orthogonal()(random.PRNGKey(1), (3, 3, 2, 2))[1,
                                                                                        1],
        "constant": initializers.constant(0.3)(key, (2, 2), jnp.float16),
        "zeros_ones": initializers.zeros(key, (2,)) + initializers.ones(key, (2,)),
    }


if __name__ == "__main__":
    print(run())
