"""Compiled numba kernels on plain integer and float arrays (no fi objects, no policy).

``_core`` reaches them through :func:`lazy`, so that ``import fixsim`` does not import numba:
the first operation that needs a kernel pays for it (and small operations never do).
"""

from __future__ import annotations

import importlib
import os
import sys


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


_POOL_INHERITED = [False]


def _after_fork_in_child() -> None:
    # numba's thread pool (GNU OpenMP on Linux) cannot run in a process forked after it
    # started: numba terminates such a child at its first parallel kernel
    parallel = sys.modules.get("numba.np.ufunc.parallel")
    if parallel is not None and getattr(parallel, "_is_initialized", False):
        _POOL_INHERITED[0] = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def thread_pool_usable() -> bool:
    """False in a process forked from one whose numba thread pool had started (parallel
    kernels must then run their serial twins). ``import fixsim`` registers the fork hook that
    tells; a pool started by a parent that had not imported fixsim is not seen."""
    return not _POOL_INHERITED[0]
