"""Assertion helpers for users' own tests."""

from __future__ import annotations

import numpy as np

from ._core._fi import fi

__all__ = ["assert_fi_identical"]


def assert_fi_identical(actual, desired, *, check_fimath: bool = False) -> None:
    """Assert that two fi have the same numerictype, shape and stored integers.

    Parameters
    ----------
    actual, desired : fi
    check_fimath : bool, default False
        Also require the same local fimath (or both none).

    Raises
    ------
    AssertionError
        Naming the first difference: the types, the shapes, or the first differing element
        with both stored integers.
    """
    for name, x in (("actual", actual), ("desired", desired)):
        if not isinstance(x, fi):
            raise AssertionError(f"{name} is a {type(x).__name__}, not a fi")
    if actual.numerictype != desired.numerictype:
        raise AssertionError(f"numerictypes differ: {actual.numerictype} != "
                             f"{desired.numerictype}")
    if actual.shape != desired.shape:
        raise AssertionError(f"shapes differ: {actual.shape} != {desired.shape}")
    if check_fimath and actual.local_fimath != desired.local_fimath:
        raise AssertionError(f"local fimaths differ: {actual.local_fimath!r} != "
                             f"{desired.local_fimath!r}")
    a = np.asarray(actual._int).ravel()
    d = np.asarray(desired._int).ravel()
    for i in range(a.size):
        if int(a[i]) != int(d[i]):
            idx = np.unravel_index(i, actual.shape) if actual.shape else ()
            raise AssertionError(
                f"stored integers differ at index {tuple(int(j) for j in idx)}: "
                f"{int(a[i])} != {int(d[i])} (type {actual.numerictype}); "
                f"{int(np.count_nonzero([int(x) != int(y) for x, y in zip(a, d, strict=True)]))}"
                f" of {a.size} elements differ")
