"""Run under `mpiexec -n N` by tests/test_distributed.py: misuse and failures must end with
a clear error, never a hang.

    mpiexec -n 2 python tests/distributed/faults.py MODE

MODE `raise`: process 1 raises in the middle of training; `kill`: process 1 is killed
(SIGKILL); `exit`: process 1 leaves early without an error (the others time out; run with
a short FUNCGRAD_DISTRIBUTED_TIMEOUT); `misuse`: programs that differ between processes
(shapes, code, a retrace on one process only) and an unknown axis name raise the expected
errors on every process, which then go on working (prints `MISUSE OK <rank>`).
"""
import os
import signal
import sys

import numpy as np

import funcgrad.numpy as fnp
from funcgrad import distributed as dist

mode = sys.argv[1]
dist.initialize()
R, N = dist.process_index(), dist.process_count()
step = dist.spmd(lambda x: dist.psum(fnp.sin(x), "batch"))
x = np.ones(4, np.float32)

if mode in ("raise", "kill", "exit"):
    for i in range(6):
        if R == 1 and i == 3:
            print(f"process {R}: failing now ({mode})", flush=True)
            if mode == "raise":
                raise RuntimeError("process 1 fails on purpose")
            if mode == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(0)
        step(x)
    print(f"process {R}: finished all steps", flush=True)   # only reachable if not stopped
    sys.exit(0)

assert mode == "misuse", mode


def expect(exc_type, fn, *needles):
    try:
        fn()
    except exc_type as e:
        text = str(e)
        missing = [n for n in needles if n not in text]
        assert not missing, f"process {R}: {missing} not in the message:\n{text}"
        print(f"process {R}: {exc_type.__name__} as expected:\n{text}", flush=True)
        return
    raise AssertionError(f"process {R}: {exc_type.__name__} was not raised")


# Different shapes on the first call.
expect(dist.ProgramMismatchError, lambda: step(np.ones(4 + R, np.float32)),
       "different programs", "f32[4]", "f32[5]")
# Different code, same shapes: the difference in the IR is shown.
scale = 2.0 + R
expect(dist.ProgramMismatchError,
       lambda: dist.spmd(lambda v: dist.psum(v * scale, "batch"))(x),
       "differ", "mul")
# One process retraces (a new shape) while the others reuse their compiled program.
step(x)
expect(dist.ProgramMismatchError, lambda: step(np.ones(4 if R == 0 else 6, np.float32)),
       "different programs")
# An axis name bound by nothing.
expect(NameError, lambda: dist.spmd(lambda v: dist.psum(v, "model"))(x),
       "unbound axis name 'model'", "spmd")
# The world still works after these errors.
np.testing.assert_allclose(step(x), N * np.sin(x), rtol=1e-6)
dist.shutdown()
print(f"MISUSE OK {R}", flush=True)
