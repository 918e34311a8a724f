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
