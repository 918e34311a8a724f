"""What `pip install` builds: the prebuilt eager kernels are optional (an install without a
C compiler succeeds, and funcgrad then warns and runs eager ops with NumPy), one module per
instruction-set level, none of them built for the build machine's own CPU."""
from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_build_without_a_compiler_succeeds_without_the_kernels(tmp_path):
    env = dict(os.environ, CC=str(tmp_path / "no" / "cc"), PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "setup.py", "-q", "build_ext",
                        "-b", str(tmp_path / "lib"), "-t", str(tmp_path / "tmp")],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert "_eager_kernels_base" in r.stderr and "failed" in r.stderr
    built = [f for _, _, fs in os.walk(tmp_path / "lib") for f in fs if f.endswith(".so")]
    assert built == []


def test_levels_never_target_the_build_machine():
    from funcgrad import _eager_build as b
    x86, arm = b.levels("x86_64"), b.levels("aarch64")
    assert sorted(x86) == ["base", "v3", "v4"] and list(arm) == ["base"]
    assert x86["base"][0] == "-march=x86-64" and arm["base"] == []
    flags = b.COMMON_FLAGS + [f for v in x86.values() for f in v]
    assert not [f for f in flags if "native" in f]


def test_eager_source_compiles_at_every_level():
    """The prebuilt eager kernels' one source compiles at each level setup.py builds. Its
    loops written in vectors (cdsl.vector_helpers) had their parallel bodies outlined
    outside the AVX-512 guard, so the base and x86-64-v3 builds failed (optional modules:
    `pip install` succeeded without them) and every CPU without AVX-512 ran eager ops with
    NumPy, with other bits than jitted code (found on AMD Zen 3)."""
    import platform
    import pytest
    from cdsl import compile as cc
    from cdsl import runtime
    from funcgrad import _eager_build as b
    from funcgrad.lowering.eager import source_and_cdef
    cmd = cc.compiler_command()
    if "clang" in " ".join(cmd) or platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the levels are x86-64's, checked with GCC")
    source = source_and_cdef()[0] + "\n" + runtime.source()
    assert "_ZGVeN16v_" in source
    for level, flags in b.levels().items():
        r = subprocess.run([*cmd, *b.COMMON_FLAGS, *flags, *cc.workaround_flags(cmd),
                            "-fsyntax-only", "-x", "c", "-"], input=source,
                           capture_output=True, text=True, timeout=300, check=False)
        assert r.returncode == 0, (level, r.stderr[-2000:])
