"""cdsl: a small typed C AST, one renderer with two dialects (C99 and OpenCL C), and
compilation of C through cffi with a safe disk cache. It imports nothing of funcgrad."""
from .ast import (Assign, BinOp, Block, Call, Cast, Comment, Const, CType, Decl, Expr,
                  ExprStmt, For, Function, If, Load, Module, ParallelIndex, Param, PtrType,
                  Return, Select, Stmt, Store, UnOp, Var, bool_, ctype_from_numpy, f16, f32,
                  f64, i8, i16, i32, i64, u8, u16, u32, u64, void)
from .compile import CompileError, Library, cache_dir, clear_cache, load, module_key
from .render import C99, OPENCL, Dialect, declaration, render

__all__ = [
    "Assign", "BinOp", "Block", "Call", "Cast", "Comment", "Const", "CType", "Decl", "Expr",
    "ExprStmt", "For", "Function", "If", "Load", "Module", "ParallelIndex", "Param",
    "PtrType", "Return", "Select", "Stmt", "Store", "UnOp", "Var", "bool_",
    "ctype_from_numpy", "f16", "f32", "f64", "i8", "i16", "i32", "i64", "u8", "u16", "u32",
    "u64", "void", "CompileError", "Library", "cache_dir", "clear_cache", "load",
    "module_key", "C99", "OPENCL", "Dialect", "declaration", "render",
]
