"""The code passes the project's ruff rule set ([tool.ruff.lint] in pyproject.toml: pyflakes,
pycodestyle, bugbear, pyupgrade). ruff comes with the `test` extra."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["funcgrad", "cdsl", "opencl", "bench", "scripts", "examples", "tests"]


def test_ruff_is_clean():
    pytest.importorskip("ruff")
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache",
                           "--output-format", "concise", *PATHS], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
