"""funcgrad's version, in a leaf module so that any layer may read it (pyproject.toml
repeats it)."""
__version__ = "0.1.0"
