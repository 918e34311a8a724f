#!/usr/bin/env bash
# Installs what the test suite needs on a fresh machine, then runs it.
#   bash scripts/test.sh [extra pytest args]
# - pip installs funcgrad in editable mode with the test, OpenCL, docs and (when it
#   installs) distributed extras;
# - when no OpenCL platform is present and we may use apt-get, installs Debian's PoCL
#   (pocl-opencl-icd; PyPI's pyopencl[pocl] does not build kernels on every CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# One editable install with every extra: each `pip install -e` builds the prebuilt eager
# kernels again (~60 CPU-s, before any test runs). MPI for tests/test_distributed.py (the
# distributed extra: mpi4py + the mpich wheel, which brings mpiexec) is optional: if the
# install with it fails, install without it and those tests skip.
if ! $PY -m pip install -q --disable-pip-version-check -e ".[test,opencl,docs,distributed]"
then
  echo "funcgrad: the install with the distributed extra failed; installing without it" \
       "(mpi4py/mpich missing: distributed tests will be skipped)"
  $PY -m pip install -q --disable-pip-version-check -e ".[test,opencl,docs]"
fi

has_opencl() {
  $PY - <<'PYEOF' 2>/dev/null
import sys
try:
    import pyopencl as cl
    sys.exit(0 if any(p.get_devices() for p in cl.get_platforms()) else 1)
except Exception:
    sys.exit(1)
PYEOF
}

if ! has_opencl; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "funcgrad: no OpenCL platform found; installing PoCL (pocl-opencl-icd)"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        pocl-opencl-icd ocl-icd-libopencl1 >/dev/null) || echo "funcgrad: PoCL install failed; OpenCL tests will be skipped"
  else
    echo "funcgrad: no OpenCL platform and no root apt-get; OpenCL tests will be skipped"
  fi
fi

# Under pytest-xdist the long test files go first (tests/conftest.py, LONG_FILES); since
# 3.6 xdist reorders files by their number of tests unless told not to.
ORDER=()
if $PY -c "import sys, xdist; sys.exit(tuple(map(int, xdist.__version__.split('.')[:2])) < (3, 6))" \
    2>/dev/null; then
  ORDER=(--no-loadscope-reorder)
fi

exec $PY -m pytest -q ${ORDER[@]+"${ORDER[@]}"} "$@"
