"""Build script: metadata lives in pyproject.toml. Builds the prebuilt eager kernels
(`funcgrad._eager_kernels_<level>`, cffi out-of-line API mode) from funcgrad's own lowering,
one module per instruction-set level (see funcgrad/_eager_build.py). They are optional
extensions: without a C compiler the install still succeeds."""
import os
import platform

from setuptools import setup
from setuptools.command.build_ext import build_ext


class ParallelBuildExt(build_ext):
    """Compile the per-level modules concurrently (each is one large translation unit)."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = os.cpu_count() or 1


_X86 = platform.machine().lower() in ("x86_64", "amd64")
_LEVELS = ("base", "v3", "v4") if _X86 else ("base",)

setup(
    cffi_modules=[f"funcgrad/_eager_build.py:ffibuilder_{level}" for level in _LEVELS],
    cmdclass={"build_ext": ParallelBuildExt},
)
