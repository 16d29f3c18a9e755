"""Fused elementwise kernels, through the public arithmetic, against Python-int references."""

import numpy as np
import pytest

from fixsim import fi, numerictype


@pytest.mark.parametrize("wa, fa, wb, fb", [(16, 12, 16, 10), (31, 0, 20, 20), (40, 3, 61, 0),
                                             (8, -4, 8, 9), (1, 0, 62, 61)])
@pytest.mark.parametrize("subtract", [False, True])
def test_fused_aligned_add_matches_python_ints(wa, fa, wb, fb, subtract):
    rng = np.random.default_rng(wa + wb)
    ta, tb = numerictype(True, wa, fa), numerictype(True, wb, fb)
    n = 1000  # above the fused-path threshold
    ia = rng.integers(ta.int_min, ta.int_max, n, endpoint=True)
    ib = rng.integers(tb.int_min, tb.int_max, n, endpoint=True)
    ia[:2], ib[:2] = [ta.int_min, ta.int_max], [tb.int_max, tb.int_min]
    a, b = fi.from_int(ia, ta), fi.from_int(ib, tb)
    c = a - b if subtract else a + b
    f = max(fa, fb)
    expected = [(int(x) << (f - fa)) + (-1 if subtract else 1) * (int(y) << (f - fb))
                for x, y in zip(ia, ib, strict=True)]
    assert c.fraction_length == f
    assert [int(v) for v in c.int] == expected


def test_to_float_is_exact_for_short_words():
    T = numerictype(True, 53, 60)
    ints = np.array([T.int_min, T.int_max, 1, -1, 0], dtype=np.int64)
    got = fi.from_int(ints, T).data
    assert got.tolist() == [int(v) / 2**60 for v in ints]


@pytest.mark.parametrize("wa, wb", [(16, 16), (32, 31), (40, 23), (1, 62)])
def test_compiled_multiply_matches_python_ints(wa, wb):
    rng = np.random.default_rng(wa * wb)
    ta, tb = numerictype(True, wa, 3), numerictype(True, wb, 5)
    ia = rng.integers(ta.int_min, ta.int_max, 500, endpoint=True)
    ib = rng.integers(tb.int_min, tb.int_max, 500, endpoint=True)
    ia[:2], ib[:2] = [ta.int_min, ta.int_max], [tb.int_min, tb.int_min]
    c = fi.from_int(ia, ta) * fi.from_int(ib, tb)
    assert c.numerictype == numerictype(True, wa + wb, 8)
    assert [int(v) for v in c.int] == [int(x) * int(y) for x, y in zip(ia, ib, strict=True)]
