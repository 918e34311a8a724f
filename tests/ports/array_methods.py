"""The `jax.Array` methods and attributes NumPy-style code calls: `reshape`/`ravel` with
`order="F"`, `.T`/`.mT`, `real`/`imag`/`conj` of real arrays, `clip` with `min`/`max`
keywords, `round(decimals)`, `nbytes`/`itemsize`/`size`/`ndim`, `squeeze` of
one axis, `swapaxes`, `std(ddof=)`/`var(correction=)`, `argmax(keepdims=)`, `cumsum(dtype=)`,
`sort(axis=)`/`argsort(descending=)`, `nonzero(size=, fill_value=)`, `searchsorted`, `take`
with `mode="wrap"`, `dot`, `trace(offset=)`, `diagonal`, `ptp`, `compress`, `choose`, `tobytes`, `any`/`all` with `where`,
`prod(initial=)`, `mean(where=)`, `repeat`, `flatten`, `copy`, `astype` of Python types,
`view`, `tolist`, `len`/`iter`, `operator.index` and `range` of 0-d integer arrays,
`bool()` of 0-d arrays, arithmetic with reflected operators and in-place style rebinding
(`x += 1`), `divmod`, `@`, `abs()`, `-x`, `~` of bools, `round()` and `float()`/`int()`/
`complex()` of 0-d arrays, and comparisons against Python scalars."""
import operator

import jax.numpy as jnp


def run():
    x = jnp.arange(12.0).reshape(3, 4)
    c = jnp.array([1 + 2j, -3j])
    b = jnp.array([True, False, True])
    i = jnp.array(3)
    y = jnp.array([1.0, 2.0])
    y += 1
    y *= 2
    q, r = divmod(jnp.array([7, -7]), 3)
    return {
        "reshape_f": x.reshape(2, 6, order="F"),
        "ravel_f": x.ravel(order="F"),
        "reshape_tuple": x.reshape((4, 3)),
        "reshape_minus1": x.reshape(-1, 2)[:, 1],
        "transpose_args": jnp.arange(24).reshape(2, 3, 4).transpose(2, 0, 1)[1],
        "T_1d": jnp.arange(3).T,
        "mT": jnp.arange(24).reshape(2, 3, 4).mT[1],
        "real_of_real": x.real[0],
        "imag_of_real": x.imag[0],
        "conj": jnp.stack([c.conj().real, c.conj().imag]),
        "clip_kw": x.clip(min=2.0, max=9.0),
        "clip_max_only": x.clip(max=5.0)[2],
        "round": (x / 7).round(2),
        "sizes": jnp.array([x.nbytes, x.itemsize, x.size, x.ndim, jnp.ones((2, 3),
                                                                           jnp.int8).nbytes]),
        "squeeze_axis": jnp.array(jnp.ones((1, 3, 1)).squeeze(axis=2).shape),
        "swapaxes": jnp.arange(24).reshape(2, 3, 4).swapaxes(0, 2)[:, :, 1],
        "std_ddof": x.std(ddof=1, axis=0),
        "var_correction": x.var(correction=1, axis=1),
        "argmax_keepdims": x.argmax(axis=1, keepdims=True),
        "cumsum_dtype": b.cumsum(dtype=jnp.int8),
        "sort_axis0": (-x).sort(axis=0),
        "argsort_desc": jnp.array([3, 1, 2, 1]).argsort(descending=True),
        "nonzero_size": (x % 5 == 0).nonzero(size=4, fill_value=-1)[1],
        "searchsorted": jnp.array([1.0, 3.0, 5.0]).searchsorted(jnp.array([0.0, 3.0, 4.0]),
                                                                side="right"),
        "take_wrap": x.take(jnp.array([0, 13, -1]), mode="wrap"),
        "dot": x.dot(jnp.ones(4)),
        "trace_offset": x.trace(offset=1),
        "diagonal": x.diagonal(offset=-1),
        "ptp": x.ptp(axis=0),
        "any_where": (x > 10).any(axis=1, where=x < 11),
        "all_where": (x > 0).all(axis=0, where=x > 3),
        "prod_initial": x[0, 1:].prod(initial=2.0),
        "mean_where": x.mean(axis=1, where=x > 5),
        "repeat": jnp.arange(3).repeat(2),
        "flatten": x.flatten()[::5],
        "copy": x.copy()[1],
        "astype_int": (x / 3).astype(int),
        "astype_bool": jnp.array([0.0, 0.5]).astype(bool),
        "astype_float": jnp.array([1, 2]).astype(float),
        "view_int32": jnp.array([1.0, -2.0]).view(jnp.int32),
        "compress": x.compress(jnp.array([True, False, True]), axis=0),
        "choose": jnp.array([0, 1, 1]).choose([jnp.arange(3), 10 + jnp.arange(3)]),
        "tobytes_len": jnp.array(len(x.tobytes())),
        "tolist_len": jnp.array([len(x.tolist()), len(x), sum(1 for _ in x)]),
        "index": jnp.array([operator.index(i), len(range(i)), [10, 20, 30, 40][i]]),
        "bool_0d": jnp.array([bool(jnp.array(0.5)), bool(jnp.array(0))]),
        "scalars": jnp.array([float(jnp.array(2.5)), int(jnp.array(7.9)), round(jnp.array(2.5)),
                              complex(jnp.array(1.5)).real]),
        "inplace": y,
        "divmod_q": q,
        "divmod_r": r,
        "matmul": x @ jnp.arange(4.0),
        "rmatmul": jnp.arange(3.0) @ x,
        "abs_neg_invert": jnp.stack([abs(-x[0]), -x[1], (~b).astype(jnp.float32).repeat(1)[
            jnp.array([0, 1, 2, 0])]]),
        "reflected": jnp.stack([2 - x[0], 2 / (x[0] + 1), 2 ** x[0], 7 % (x[0] + 1),
                                7 // (x[0] + 1)]),
        "compare_scalar": jnp.stack([x[0] > 1, 1 < x[0], x[0] == 2.0, 3 != x[0]]),
    }


if __name__ == "__main__":
    print(run())
