"""propose (minmax policy): MATLAB's proposal arithmetic, whole numbers, signedness, locks."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from fixsim import numerictype
from fixsim._core._typetable import TypeTable
from fixsim.tool import Proposal, Recording, SignalStats, propose, record


def _rec(**signals) -> Recording:
    return Recording({n: SignalStats(n).update(v) for n, v in signals.items()})


def test_matlab_safety_margin_arithmetic():
    # MATLAB: a simulation range of [-8, 8] with a 50% safety margin is proposed to cover
    # [-12, 12]; at 16 bits the best-precision type covering it is sfix16_En11.
    p = propose(_rec(x=[-8.0, 0.5, 8.0]), word_length=16, margin=50)
    x = p["x"]
    assert x.range_used == (Fraction(-12), Fraction(12))
    assert x.simulated == (-8.0, 8.0)
    assert x.proposed == numerictype(1, 16, 11)
    assert x.proposed.min <= -12 and x.proposed.max >= 12
    assert numerictype(1, 16, 12).max < 12  # one more fraction bit would not cover it
    assert "covering [-12, 12]" in x.rationale and "50% margin" in x.rationale


@given(st.floats(-1e6, 1e6, allow_nan=False).filter(lambda v: v != 0),
       st.floats(-1e6, 1e6, allow_nan=False), st.integers(2, 40),
       st.sampled_from([0, 10, 12.5, 50, 100]))
@example(a=3.0, b=0.0, w=2, margin=0)  # 3 + 2**-20 is above ufix2's max: needs ufix2_E1
def test_best_precision_covers_the_widened_range(a, b, w, margin):
    lo, hi = min(a, b), max(a, b) + 0.5 ** 20  # not whole numbers
    p = propose(_rec(s=[lo, hi]), word_length=w, margin=margin)["s"]
    T = p.proposed
    k = 1 + Fraction(str(margin)) / 100
    assert p.range_used == (Fraction(lo) * k, Fraction(hi) * k)
    assert T.signed == (lo < 0) and T.word_length == w
    assert T.exact_min <= p.range_used[0] and p.range_used[1] <= T.exact_max
    finer = T.replace(fraction_length=T.fraction_length + 1)
    assert not (finer.exact_min <= p.range_used[0] and p.range_used[1] <= finer.exact_max)


def test_whole_numbers_get_fraction_length_zero():
    p = propose(_rec(n=[0.0, 3.0, -5.0], big=[1e6, 2.0], z=[0.0, 0.0]), word_length=16)
    assert p["n"].proposed == numerictype(1, 16, 0)
    assert "whole numbers" in p["n"].rationale
    assert p["big"].proposed == numerictype(0, 16, -4)  # best precision is already < 0
    assert p["z"].proposed == numerictype(0, 16, 0)


def test_signedness_from_range_or_forced():
    p = propose(_rec(u=[0.25, 0.75]), word_length=8)
    assert p["u"].proposed == numerictype(0, 8, 8)
    assert propose(_rec(u=[0.25, 0.75]), word_length=8, signed=True)["u"].proposed == \
        numerictype(1, 8, 7)
    with pytest.raises(ValueError, match=r"signal 'v' has negative values \(min -0.5\) and "
                                         r"signed=False"):
        propose(_rec(v=[-0.5, 0.25]), signed=False)


def test_locked_entries_keep_their_type_and_types_table():
    T = TypeTable({"x": "sfix16_En14", "acc": {"type": "sfix32_En20", "rounding": "floor"},
                   "y": "double"}, locked=["x"]).override("scaled_double")
    with record() as rec:
        T.y(T.acc(T.x(np.array([0.5, -1.5, 3.25]))) * 3)
    p = propose(rec, T, word_length=16)
    assert isinstance(p, Proposal) and list(p) == ["x", "acc", "y"]
    assert p["x"].locked and p["x"].proposed == p["x"].current == numerictype(1, 16, 14)
    assert p["acc"].current == numerictype(1, 32, 20)
    assert p["acc"].proposed == numerictype(1, 16, 13)
    assert p["y"].current == "double" and p["y"].proposed == numerictype(1, 16, 11)
    types = p.types
    assert types.overrides == {} and types.locked == {"x"}
    assert types.type_of("acc") == numerictype(1, 16, 13)
    assert str(types.entry("acc").rounding) == "floor"
    assert T.type_of("acc") == numerictype(1, 32, 20)  # the input table is unchanged
    assert "acc: sfix32_En20 -> sfix16_En13" in repr(p)


def test_errors_name_the_signal():
    with pytest.raises(ValueError, match="the recording is empty"):
        propose(Recording())
    with pytest.raises(ValueError, match=r"signal 'n' has no finite recorded values"):
        propose(_rec(n=[np.nan]))
    with pytest.raises(ValueError, match=r"signal 'i' recorded 1 infinite value"):
        propose(_rec(i=[1.0, np.inf]))
    with pytest.raises(ValueError, match="word_length must be an integer in 1..65535"):
        propose(_rec(x=[1.0]), word_length=0)
    with pytest.raises(ValueError, match="margin must be >= 0"):
        propose(_rec(x=[1.0]), margin=-5)
    with pytest.raises(KeyError, match="Proposal has no signal 'q'"):
        propose(_rec(x=[1.0]))["q"]
