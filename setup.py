"""Build script: metadata lives in pyproject.toml. Builds the prebuilt eager kernels
(`funcgrad._eager_kernels`, cffi out-of-line API mode) from funcgrad's own lowering."""
from setuptools import setup

setup(cffi_modules=["funcgrad/_eager_build.py:ffibuilder"])
