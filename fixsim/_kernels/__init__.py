"""Compiled numba kernels on plain integer and float arrays (no fi objects, no policy).

``_core`` reaches them through :func:`lazy`, so that ``import fixsim`` does not import numba:
the first operation that needs a kernel pays for it (and small operations never do).
"""

from __future__ import annotations

import importlib
import os


class lazy:  # noqa: N801 - used like a module
    """A module imported on first attribute access; attributes are then cached here."""

    def __init__(self, name: str):
        self.__dict__["_lazy_name"] = name

    def __getattr__(self, attr: str):
        module = importlib.import_module(self.__dict__["_lazy_name"])
        value = getattr(module, attr)
        self.__dict__[attr] = value
        return value


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1
