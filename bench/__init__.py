"""funcgrad's benchmark harness: `python -m bench --help`.

Compares funcgrad (C backend) with NumPy and, when installed, JAX (CPU, jit) and PyTorch
(eager). JAX, PyTorch and threadpoolctl are benchmark-only extras (`pip install -e .[bench]`),
never runtime dependencies of funcgrad. See bench/run.py for the method and bench/RESULTS.md
for the latest full run.
"""
