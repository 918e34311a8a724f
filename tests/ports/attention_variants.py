"""Attention and initialisation as current transformer code calls `jax.nn`: grouped-query
attention (fewer key/value heads than query heads), `dot_product_attention` with
`query_seq_lengths`/`key_value_seq_lengths` padding, `local_window_size` (sliding
windows, symmetric and as a (left, right) pair) with and without `is_causal`,
`return_residual=True`, unbatched (3-D) inputs, bfloat16 inputs, a boolean mask
broadcast over heads, and gradients through it; rotary position embeddings written with
`jnp.split`/`concatenate`; and `jax.nn.initializers` with `in_axis`/`out_axis` tuples and
`batch_axis` (attention projection kernels of shape (embed, heads, head_dim)),
`orthogonal` on a 3-D shape, `lecun_normal` in bfloat16, and `truncated_normal` with
`lower`/`upper`."""
import jax
import jax.numpy as jnp
from jax import random
from jax.nn import initializers


def rotary(x, positions):
    half = x.shape[-1] // 2
    freqs = 1.0 / (10000 ** (jnp.arange(half) / half))
    angles = positions[:, None] * freqs[None, :]
    sin, cos = jnp.sin(angles)[:, None, :], jnp.cos(angles)[:, None, :]
    x1, x2 = jnp.split(x, 2, axis=-1)
    return jnp.concatenate([x1 * cos - x2 * sin, x1 * sin + x2 * cos], axis=-1)


def run():
    key = random.PRNGKey(21)
    kq, kk, kv, ki = random.split(key, 4)
    q = random.normal(kq, (2, 6, 4, 8))
    k = random.normal(kk, (2, 6, 2, 8))
    v = random.normal(kv, (2, 6, 2, 8))
    qlen = jnp.array([6, 4])
    kvlen = jnp.array([5, 3])
    head_mask = jnp.array([[True, True, False, True, True, True]])[None, None]
    pos = jnp.arange(6.0)
    out, resid = jax.nn.dot_product_attention(q, k, v, return_residual=True)
    init_keys = random.split(ki, 6)
    qkv_kernel = initializers.variance_scaling(1.0, "fan_in", "normal", in_axis=0,
                                               out_axis=(1, 2))(init_keys[0], (16, 4, 8))
    out_kernel = initializers.lecun_normal(in_axis=(0, 1), out_axis=2)(init_keys[1], (4, 8,
                                                                                      16))
    batched = initializers.glorot_uniform(batch_axis=0)(init_keys[2], (3, 5, 7))
    ortho3 = initializers.orthogonal()(init_keys[3], (2, 4, 6))
    return {
        "gqa": out,
        "gqa_residual": resid,
        "seq_lengths": jax.nn.dot_product_attention(q, k, v, query_seq_lengths=qlen,
                                                    key_value_seq_lengths=kvlen),
        "local_window": jax.nn.dot_product_attention(q, k, v, local_window_size=1),
        "local_window_pair_causal": jax.nn.dot_product_attention(
            q, k, v, local_window_size=(2, 0), is_causal=True),
        "mask_broadcast": jax.nn.dot_product_attention(q, k, v, mask=head_mask),
        "unbatched": jax.nn.dot_product_attention(q[0], k[0], v[0], is_causal=True),
        "bf16": jax.nn.dot_product_attention(q.astype(jnp.bfloat16), k.astype(jnp.bfloat16),
                                             v.astype(jnp.bfloat16)).astype(jnp.float32),
        "grad_kv_lengths": jax.grad(lambda vv: jnp.sum(jax.nn.dot_product_attention(
            q, k, vv, key_value_seq_lengths=kvlen, is_causal=True) ** 2))(v)[1],
        "rotary": rotary(q[0], pos),
        "rotary_attention": jax.nn.dot_product_attention(rotary(q[0], pos), rotary(k[0], pos),
                                                         v[0], is_causal=True),
        "qkv_kernel_std": jnp.std(qkv_kernel) + jnp.zeros(1),
        "qkv_kernel": qkv_kernel[0],
        "out_kernel": out_kernel[:, :, 0],
        "batch_axis": batched[1],
        "orthogonal_3d": ortho3.reshape(8, 6) @ ortho3.reshape(8, 6).T,
        "orthogonal_values": ortho3[1],
        "lecun_bf16": initializers.lecun_normal(dtype=jnp.bfloat16)(init_keys[4], (3, 4)
                                                                    ).astype(jnp.float32),
        "truncated_bounds": initializers.truncated_normal(stddev=2.0, lower=-1.0, upper=0.5)(
            init_keys[5], (2, 5)),
    }


if __name__ == "__main__":
    print(run())
