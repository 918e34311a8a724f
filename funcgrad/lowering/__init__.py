"""Lowering: IR passes, fusion planning and the rules that turn IR into cdsl nodes."""
