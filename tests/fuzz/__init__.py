"""funcgrad's differential program fuzzer.

Hypothesis generates well-typed programs of 2-20 operations over `funcgrad.numpy`, `lax`
and `funcgrad.nn` (elementwise math, integer and bitwise ops, reductions, shape and
indexing ops, `.at[]`, linear algebra, convolution and pooling, sorting, cumulative ops,
`scan`/`cond`/`switch`/`while_loop`/`fori_loop` with generated bodies, GRU/LSTM cells and
attention), on shapes of rank 0-4 with sizes 0, 1, vector remainders and OpenMP-split
sizes, in float16/float32/float64 with int32 and bool values and NaN, +-Inf, -0.0,
subnormal, huge and tiny inputs. Each program gets a random transform stack (`checkpoint`,
nested `jit` with static scalar arguments or donation, `vmap` with random axes, `grad`,
`value_and_grad`, `jvp`, `vjp`).

Modules:
- `values`: symbolic shapes (dims per instance), JAX's dtype promotion, input values, the
  one input-creation helper (`make_input`) and the x64 switch (`x64_scope`).
- `program`: programs as data, their Python source (`render`) and the NumPy oracle
  (`evaluate`, with perturbed runs that measure each output's sensitivity).
- `ops`, `ops_array`, `ops_control`: the op table (generator, source, oracle, error model).
- `generate`: the hypothesis strategies; `check`: transform stacks, expected results
  (including float64 central differences) and comparison.
- `batch`: many programs compiled as one jitted function, run eagerly and jitted at three
  sizes on a backend; `runner`: the fuzz loop, shrinking, findings; `repro`: standalone
  reproducers; `known`: the known-bug table; `threads`: calls from 8 threads at once.

Long mode: `python -m tests.fuzz --minutes 30`. CI mode: `tests/test_fuzz.py`. Findings
are appended to `tests/fuzz/FINDINGS.md`; kept reproducers live in `regressions.py`.
"""
