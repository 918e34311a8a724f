"""Each example in examples/ runs end to end in smoke mode (a few training steps, no plot) and
prints its final metric as a last `RESULT name=value` line."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("tqdm")
pytest.importorskip("matplotlib")

EXAMPLES_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "examples")
EXAMPLES = sorted(f for f in os.listdir(EXAMPLES_DIR)
                  if f.endswith(".py") and not f.startswith("_"))
RESULT_LINE = re.compile(r"^RESULT( [A-Za-z_]+=[-+0-9.eE]+)+$")


def test_every_model_family_has_an_example():
    expected = {"linear_regression.py", "logistic_regression.py", "mlp.py", "cnn.py",
                "rnn.py", "transformer.py", "autoencoder.py", "gan.py"}
    assert expected <= set(EXAMPLES)


@pytest.mark.parametrize("script", EXAMPLES)
def test_example_smoke(script):
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES_DIR, script), "--smoke"],
                          check=False, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MPLBACKEND": "Agg"})
    assert proc.returncode == 0, f"{script} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}"
    lines = proc.stdout.strip().splitlines()
    assert lines and RESULT_LINE.match(lines[-1]), \
        f"{script} did not end with a RESULT line:\n{proc.stdout}"
