"""Tensor code written with `jnp.einsum`, as JAX users write attention, bilinear forms and
tensor contractions: multi-head attention scores and outputs, a bilinear layer, batched
traces and diagonals (repeated indices), ellipsis broadcasting on both sides, implicit
output ordering (no '->'), operands given as sublists, `optimize=` paths ('greedy',
'optimal', False) on a chain of five contractions, `jnp.einsum_path`, outer products
into rank-4 tensors, a Tucker reconstruction, integer and mixed-dtype einsums with
`preferred_element_type`, `jnp.tensordot`/`inner`/`outer`/`kron`/`vdot`/`matmul` with
broadcasting, and gradients through an einsum network."""
import jax
import jax.numpy as jnp
from jax import random


def mha(x, wq, wk, wv, wo):
    q = jnp.einsum("btd,dhk->bhtk", x, wq)
    k = jnp.einsum("bsd,dhk->bhsk", x, wk)
    v = jnp.einsum("bsd,dhk->bhsk", x, wv)
    scores = jnp.einsum("bhtk,bhsk->bhts", q, k) / jnp.sqrt(q.shape[-1])
    attn = jax.nn.softmax(scores, axis=-1)
    return jnp.einsum("bhts,bhsk,hkd->btd", attn, v, wo)


def run():
    key = random.PRNGKey(31)
    ks = random.split(key, 12)
    x = random.normal(ks[0], (2, 4, 6))
    wq, wk, wv = (random.normal(k, (6, 2, 3)) * 0.4 for k in ks[1:4])
    wo = random.normal(ks[4], (2, 3, 6)) * 0.4
    u = random.normal(ks[5], (3, 4))
    w = random.normal(ks[6], (4, 5, 2))
    z = random.normal(ks[7], (3, 5))
    sq = random.normal(ks[8], (2, 3, 3))
    a = random.normal(ks[9], (4, 5))
    b = random.normal(ks[10], (5, 6))
    c = random.normal(ks[11], (6, 3))
    d = jnp.arange(12.0).reshape(3, 4) / 10.0
    e = jnp.arange(8.0).reshape(4, 2) / 5.0
    core = random.normal(random.fold_in(key, 1), (2, 3, 2))
    f0, f1, f2 = (random.normal(random.fold_in(key, i), (n, r)) for i, (n, r) in
                  zip((2, 3, 4), ((4, 2), (5, 3), (3, 2))))
    chain = (a, b, c, d, e)
    path, path_info = jnp.einsum_path("ij,jk,kl,lm,mn->in", *chain, optimize="greedy")
    i8 = jnp.arange(6, dtype=jnp.int8).reshape(2, 3)
    return {
        "mha": mha(x, wq, wk, wv, wo),
        "mha_grad_wq": jax.grad(lambda q: jnp.sum(mha(x, q, wk, wv, wo) ** 2))(wq),
        "bilinear": jnp.einsum("bi,ijo,bj->bo", u, w[:, :, :], jnp.ones((3, 5))),
        "bilinear2": jnp.einsum("bi,ijo,bj->bo", u, w, z),
        "batched_trace": jnp.einsum("bii->b", sq),
        "batched_diag": jnp.einsum("bii->bi", sq),
        "trace_all": jnp.einsum("bii", sq),
        "ellipsis_matmul": jnp.einsum("...ij,...jk->...ik", sq, sq),
        "ellipsis_left": jnp.einsum("i...->...", sq),
        "ellipsis_broadcast": jnp.einsum("...i,i->...", x, jnp.arange(6.0)),
        "implicit": jnp.einsum("ji,kj", a, d),
        "implicit_transpose": jnp.einsum("ba", a),
        "sublists": jnp.einsum(a, [0, 1], b, [1, 2], [2, 0]),
        "chain_greedy": jnp.einsum("ij,jk,kl,lm,mn->in", *chain, optimize="greedy"),
        "chain_optimal": jnp.einsum("ij,jk,kl,lm,mn->in", *chain, optimize="optimal"),
        "chain_none": jnp.einsum("ij,jk,kl,lm,mn->in", *chain, optimize=False),
        "path_len": jnp.array(len(path) - 1),
        "outer4": jnp.einsum("i,j,k,l->ijkl", jnp.arange(2.0), jnp.arange(3.0) + 1,
                             jnp.arange(2.0) - 1, jnp.arange(2.0) + 2),
        "tucker": jnp.einsum("abc,ia,jb,kc->ijk", core, f0, f1, f2),
        "hadamard_sum": jnp.einsum("ij,ij->", a, a),
        "repeated_out": jnp.einsum("ij,ij->ij", a, a),
        "int8_einsum": jnp.einsum("ij,kj->ik", i8, i8),
        "int8_preferred": jnp.einsum("ij,kj->ik", i8, i8, preferred_element_type=jnp.int32),
        "mixed_dtype": jnp.einsum("ij,j->i", i8, jnp.array([0.5, 1.0, -1.0])),
        "bf16_preferred": jnp.einsum("ij,jk->ik", a.astype(jnp.bfloat16), b.astype(jnp.bfloat16),
                                     preferred_element_type=jnp.float32),
        "tensordot_int": jnp.tensordot(sq, sq[0], axes=1),
        "tensordot_pairs": jnp.tensordot(x, wq, axes=([2], [0])),
        "inner": jnp.inner(a, b.T),
        "outer": jnp.outer(jnp.arange(3.0), jnp.arange(4.0)),
        "kron": jnp.kron(jnp.eye(2), jnp.array([[1.0, 2.0], [3.0, 4.0]])),
        "vdot": jnp.vdot(a, a),
        "matmul_broadcast": jnp.matmul(sq[:, None], sq[None, :1]),
        "matmul_vec": jnp.matmul(sq, jnp.arange(3.0)),
        "einsum_grad": jax.grad(lambda p: jnp.einsum("ij,jk,kl->", p, b, c))(a),
    }


if __name__ == "__main__":
    print(run())
