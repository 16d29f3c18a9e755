"""Compiled numba kernels on plain integer and float arrays (no fi objects, no policy)."""
