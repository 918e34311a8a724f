"""Getting a funcgrad function out of Python: `to_onnx` (an ONNX model for any serving
stack), `to_c` (one dependency-free C99 file and its header) and `to_dot` / `render`
(pictures of the computation). See docs/export.md.

`onnx` and `onnxruntime` are optional (the `export` extra), imported only by `to_onnx`.
"""
from .c import CExport, to_c
from .graph import render, to_dot, to_svg
from .onnx import to_onnx
from .program import BatchDim, ExportError, ExportProgram, trace

__all__ = ["BatchDim", "CExport", "ExportError", "ExportProgram", "render", "to_c", "to_dot",
           "to_onnx", "to_svg", "trace"]
