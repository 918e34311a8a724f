"""Comparing generated text with a golden file under tests/golden/ (regenerate with
FUNCGRAD_UPDATE_GOLDEN=1, then review the diff)."""
from __future__ import annotations

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).parent / "golden"
UPDATE = os.environ.get("FUNCGRAD_UPDATE_GOLDEN", "") not in ("", "0")


def check_golden(path: pathlib.Path, text: str, what: str) -> None:
    """`text` must equal the file at `path` (`what` names it in the failure)."""
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    if not path.exists():
        pytest.fail(f"golden file {path} is missing; run with FUNCGRAD_UPDATE_GOLDEN=1 to "
                    "create it and review the diff")
    want = path.read_text()
    assert text == want, (f"{what} changed; if intended, regenerate with "
                          f"FUNCGRAD_UPDATE_GOLDEN=1 and review the diff.\n--- got:\n{text}"
                          f"--- want:\n{want}")
