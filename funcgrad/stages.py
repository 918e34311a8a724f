"""The stages of ahead-of-time compilation (`jax.stages`): `jit(f).trace(*args)` gives a
Traced, `.lower()` a Lowered, `.compile()` a Compiled function."""
from .api import ArgInfo, Compiled, Lowered, Traced

__all__ = ["ArgInfo", "Compiled", "Lowered", "Traced"]
