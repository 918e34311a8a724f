"""Primitive definitions, one family per module (elementwise, structural, reductions,
indexing, linalg, windows, control); each primitive's rules sit in one block."""
