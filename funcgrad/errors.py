"""JAX's error classes (`jax.errors`), with JAX's hierarchy: what funcgrad raises when a
traced value is used as a Python value, a boolean mask is traced, or a tracer leaks, so that
a ported program's `except jax.errors.X` clauses catch what they catch in JAX."""

from .core import (ConcretizationTypeError, JAXIndexError, JAXTypeError, KeyReuseError,
                   NonConcreteBooleanIndexError, TracerArrayConversionError,
                   TracerBoolConversionError, TracerIntegerConversionError,
                   UnexpectedTracerError)

__all__ = [
    "ConcretizationTypeError", "JAXIndexError", "JAXTypeError", "KeyReuseError",
    "NonConcreteBooleanIndexError", "TracerArrayConversionError", "TracerBoolConversionError",
    "TracerIntegerConversionError", "UnexpectedTracerError",
]
