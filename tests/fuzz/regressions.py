"""Shrunk fuzz findings kept as regression tests (tests/test_fuzz.py runs each one).

Each value is a standalone reproducer printed by the fuzzer (see FINDINGS.md): it raises
while funcgrad disagrees with the oracle and runs silently once the bug is fixed.
"""
from __future__ import annotations

REPROS: dict[str, str] = {}
