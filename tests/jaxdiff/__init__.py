"""The JAX differential suite: funcgrad.numpy, lax, nn and scipy.special called on edge
values next to JAX's (eagerly, and under funcgrad's jit), every difference either in the
registry of known ones (known.py, each with its reason) or reported as new.

`python -m tests.jaxdiff [--x64] [--sections unary,binary] [--no-jit]` runs the tables
(cases.py) and prints the differences, new ones first; tests/test_jax_differential.py runs
a subset in CI. Needs JAX (the `test` extra); funcgrad itself does not."""
