"""funcgrad's differential program fuzzer.

Hypothesis generates well-typed programs of 2-20 operations over `funcgrad.numpy`, `lax`
and `funcgrad.nn` (elementwise math, integer and bitwise ops, reductions, shape and
indexing ops, `.at[]`, linear algebra, convolution and pooling, sorting, cumulative ops,
`scan`/`cond`/`switch`/`while_loop`/`fori_loop` with generated bodies, GRU/LSTM cells and
attention), on shapes of rank 0-4 with sizes 0, 1, vector remainders and OpenMP-split
sizes, in float16/float32/float64 (float64 under JAX's x64 mode) with int32 and bool values
and NaN, +-Inf, -0.0, subnormal, huge and tiny inputs. Each program gets a random transform
stack (`checkpoint`, nested `jit` with static scalar arguments or donation, `vmap` with
random axes, `grad`, `value_and_grad`, `jvp`, `vjp`).

Every batch of programs (about 25, at most 48: one C compile serves the whole batch) runs
eagerly and under `jit` on `reference`, `c` and `opencl` (the jitted batch again at new
sizes, the size-generic path, for half the batches; OpenCL gets the first entries of a
batch and at most a share of the time). Results are compared with
a NumPy float64 oracle that follows JAX's semantics where JAX and NumPy differ: values
within tolerances measured by perturbed oracle runs (each op errs by what an accurate
implementation may), NaN/Inf positions exactly, dtypes by JAX's promotion rules,
derivatives against float64 central differences (<g, v> for random directions). What the
oracle cannot know is left unchecked: the sign of a NaN, results of accumulations whose
partial sums may overflow, and everything computed from a value that lost all accuracy.
Every 8th batch is also called from 8 threads at once, cold and warm. A disagreement is
shrunk by hypothesis (same backend, mode, kind and failing op), cut to the failing output,
and printed as a standalone reproducer.

Modules:
- `values`: symbolic shapes (dims per instance), JAX's dtype promotion, input values, the
  one input-creation helper (`make_input`) and the x64 switch (`x64_scope`).
- `program`: programs as data, their Python source (`render`) and the NumPy oracle
  (`evaluate`, with perturbed runs that measure each output's sensitivity).
- `ops`, `ops_array`, `ops_control`, `ops_linalg`: the op table (generator, source, oracle,
  error model).
- `generate`: the hypothesis strategies; `check`: transform stacks, expected results
  (including float64 central differences) and comparison.
- `batch`: many programs compiled as one jitted function, run eagerly and jitted at three
  sizes on a backend; `runner`: the fuzz loop, shrinking, findings; `repro`: standalone
  reproducers; `known`: the open-bug table; `threads`: calls from 8 threads at once;
  `sample`: fixed samples for tests; `regressions`: kept reproducers.

Long mode: `python -m tests.fuzz --minutes 30 [--jobs N]` (see `--help`); its summary
gives the distinct programs, programs x backends x modes checked, gradient checks,
disagreements (new / known bug / deliberate semantics), programs per minute per backend
and mode, and the seconds per phase (oracle, first call, call at new sizes, C compiler,
shrinking, threads). CI mode:
`tests/test_fuzz.py`. Findings are appended to `tests/fuzz/FINDINGS.md`; kept reproducers
live in `regressions.py`.
"""
