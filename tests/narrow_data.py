"""Inputs of the bfloat16/float16 tests of the C and OpenCL backends
(tests/test_c_complex_bf16.py, tests/test_opencl_complex.py): special values first, then
random ones, and float32/float64/int32 operands next to ties of the narrow rounding."""
from __future__ import annotations

import numpy as np


def narrow_data(dt, special):
    """(x, y, f32, f64, i32): x and y of dtype `dt` beginning with `special` (y reversed),
    f32 beginning with `special`, f64 just above bfloat16 ties, i32 with rounding cases."""
    rng = np.random.default_rng(2)
    special = np.asarray(special, np.float32)
    n = 256 - len(special)
    with np.errstate(over="ignore"):      # 3e38 is inf in float16
        x = np.concatenate([special, rng.standard_normal(n).astype(np.float32) * 10]).astype(dt)
        y = np.concatenate([special[::-1], rng.standard_normal(n).astype(np.float32)]).astype(dt)
    f32 = (rng.standard_normal(256) * 1e3).astype(np.float32)
    f32[:len(special)] = special
    f32[len(special):len(special) + 4] = [1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.3961e38, -1.0001]
    # a double just above a bfloat16 tie: ml_dtypes rounds through float32 (to the tie, then
    # to even), and so do the C and OpenCL code
    f64 = f32.astype(np.float64) * (1 + 2 ** -30)
    i32 = rng.integers(-(1 << 25), 1 << 25, 256).astype(np.int32)
    i32[:2] = [(1 << 24) + (1 << 16) + 1, 0x1008001]
    return x, y, f32, f64, i32
