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


# -- fraction-length mode, sources, policies, metrics, JSON (issue 4) -----------------------------
class _Derived:
    """A derived range as fx.tool.derive reports it (duck-typed: lo, hi, bounded, reason)."""

    def __init__(self, lo, hi, reason=None):
        self.lo, self.hi, self.reason = lo, hi, reason
        self.bounded = bool(np.isfinite(lo) and np.isfinite(hi))


@given(st.floats(-1e6, 1e6, allow_nan=False), st.floats(-1e6, 1e6, allow_nan=False),
       st.integers(-20, 30))
def test_fraction_length_gives_the_smallest_covering_word(a, b, F):
    lo, hi = min(a, b, 0.5 ** 30), max(a, b, 0.5 ** 30)  # not whole numbers
    p = propose(_rec(s=[lo, hi, 0.5 ** 30]), fraction_length=F)["s"]
    T = p.proposed
    assert T.fraction_length == F and T.signed == (lo < 0)
    assert T.exact_min <= Fraction(lo) and Fraction(hi) <= T.exact_max
    if T.word_length > 1:
        shorter = T.replace(word_length=T.word_length - 1)
        assert not (shorter.exact_min <= Fraction(lo) and Fraction(hi) <= shorter.exact_max)
    assert "smallest word length at fraction length" in p.rationale


def test_word_and_fraction_length_must_cover():
    p = propose(_rec(x=[-1.5, 1.0]), word_length=8, fraction_length=5)
    assert p["x"].proposed == numerictype(1, 8, 5)
    with pytest.raises(ValueError, match=r"signal 'x': no 8-bit type with fraction length 7 "
                                         r"holds the simulation range \[-1.5, 1\].*raise "
                                         r"word_length"):
        propose(_rec(x=[-1.5, 1.0]), word_length=8, fraction_length=7)
    with pytest.raises(ValueError, match=r"signal 'x': no signed 1-bit type holds the positive"):
        propose(_rec(x=[-1.5, 1.0]), word_length=1)


def test_derived_design_and_union_sources():
    rec = _rec(a=[-1.0, 0.5], b=[0.0, 3.0])
    der = {"a": _Derived(-2.0, 1.0), "b": _Derived(-0.5, 2.0), "c": _Derived(0.0, 7.0)}
    p = propose(der, word_length=8)
    assert list(p) == ["a", "b", "c"] and p["a"].source == "derived"
    assert p["a"].proposed == numerictype(1, 8, 6) and p["a"].derived == (-2.0, 1.0)
    assert p["a"].simulated is None and p["a"].clip_fraction is None
    u = propose(rec, word_length=8, derived=der)
    assert u.settings["source"] == "union" and list(u) == ["a", "b", "c"]
    assert u["b"].range_used == (Fraction(-0.5), Fraction(3)) and u["b"].source == "union"
    assert u["b"].proposed == numerictype(1, 8, 5) and u["c"].source == "derived"
    assert u["a"].clip_fraction == 0.0 and u["a"].overflows == 0  # metrics on recorded data
    d = propose(rec, word_length=8, design={"b": (-4, 4)}, margin=50)
    assert d["b"].source == "design" and d["b"].range_used == (Fraction(-4), Fraction(4))
    assert d["b"].proposed == numerictype(1, 8, 4)  # no margin on design ranges
    assert d["a"].range_used == (Fraction(-3, 2), Fraction(3, 4))  # margin elsewhere
    only = propose(design={"z": (0, 0.75)}, word_length=4)
    assert only["z"].proposed == numerictype(0, 4, 4) and only.settings["source"] == "design"


def test_source_errors_name_the_signal():
    rec = _rec(a=[-1.0, 0.5])
    der = {"a": _Derived(-np.inf, np.inf, reason="division by an interval holding 0")}
    with pytest.raises(ValueError, match=r"signal 'a' has an unbounded derived range "
                                         r"\(division by an interval holding 0\); give it a "
                                         r"design range"):
        propose(der)
    assert propose(der, design={"a": (-1, 1)})["a"].source == "design"
    with pytest.raises(KeyError, match=r"design names signal 'aa'.*Did you mean 'a'"):
        propose(rec, design={"aa": (0, 1)})
    with pytest.raises(KeyError, match=r"overrides names signal 'q'"):
        propose(rec, overrides={"q": {"word_length": 8}})
    T = TypeTable({"a": "sfix16_En14"}, locked=["a"])
    with pytest.raises(ValueError, match=r"signal 'a' is locked in the type table and also "
                                         r"has an override"):
        propose(rec, T, overrides={"a": {"word_length": 8}})
    with pytest.raises(ValueError, match=r"policy 'percentile' clips recorded ranges, and the "
                                         r"range of signal 'a' comes from 'derived'"):
        propose({"a": _Derived(-1.0, 1.0)}, policy="percentile")
    with pytest.raises(ValueError, match="policy 'bogus' is not valid"):
        propose(rec, policy="bogus")
    with pytest.raises(ValueError, match="source 'sim' is not valid"):
        propose(rec, source="sim")
    with pytest.raises(ValueError, match="source='union' needs both"):
        propose(rec, source="union")
    with pytest.raises(TypeError, match="ranges must be a Recording or derived ranges"):
        propose([1, 2])
    with pytest.raises(ValueError, match="design range of signal 'a' has min 2 > max 1"):
        propose(rec, design={"a": (2, 1)})


def _heavy(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(20000)
    x[:3] = [40.0, -35.0, 50.0]  # rare outliers
    return x


def test_percentile_policy_clips_the_outliers():
    x = _heavy()
    rec = _rec(x=x)
    mm = propose(rec, word_length=8)["x"]
    pc = propose(rec, word_length=8, policy="percentile", percentile=99.9)["x"]
    assert pc.policy == "percentile" and "99.9th percentile" in pc.rationale
    assert pc.proposed.fraction_length > mm.proposed.fraction_length
    T = pc.proposed
    exact = int(np.sum((x > T.max) | (x < T.min)))
    # estimate: exact up to the values in the fine bins holding T.max and -T.min
    straddle = 0
    for edge in (T.max, -T.min):
        m, e = np.frexp(edge)
        j = int((2 * m - 1) * 16)
        lo, hi = np.ldexp(1 + j / 16, e - 1), np.ldexp(1 + (j + 1) / 16, e - 1)
        straddle += int(np.sum((np.abs(x) >= lo) & (np.abs(x) < hi)))
    assert abs(pc.overflows - exact) <= straddle and exact >= 3
    assert pc.clip_fraction == pc.overflows / x.size or abs(
        pc.clip_fraction * x.size - pc.overflows) <= 0.5
    assert mm.clip_fraction == 0.0 and mm.overflows == 0


def test_mse_and_kl_policies_on_heavy_tails():
    rec = _rec(x=_heavy(1))
    mm = propose(rec, word_length=6)["x"]
    mse = propose(rec, word_length=6, policy="mse")["x"]
    kl = propose(rec, word_length=6, policy="kl")["x"]
    assert mse.proposed.fraction_length > mm.proposed.fraction_length
    assert "minimum estimated clipping + rounding error" in mse.rationale
    assert mse.sqnr_db > mm.sqnr_db  # the estimate it minimised
    assert kl.proposed.fraction_length > mm.proposed.fraction_length
    assert "KL calibration, 32 levels" in kl.rationale
    assert propose(rec, word_length=24, policy="kl")["x"].proposed == \
        propose(rec, word_length=24)["x"].proposed  # enough levels: nothing clipped
    with pytest.raises(ValueError, match="policy 'mse' needs a word length"):
        propose(rec, fraction_length=4, policy="mse")


def test_metrics_are_recomputable():
    x = np.random.default_rng(3).uniform(-3.0, 1.0, 4000)
    p = propose(_rec(x=x), word_length=10)["x"]
    T = p.proposed
    assert T == numerictype(1, 10, 7)
    assert p.percent_range_used == 100 * max(x.max() / T.max, x.min() / T.min)
    power = sum(Fraction(v) ** 2 for v in x.tolist()) / x.size
    assert p.sqnr_db == pytest.approx(10 * np.log10(float(power) / (T.eps ** 2 / 12)),
                                      rel=1e-12)
    assert p.lsb == 2.0 ** -7 and p.representable == (-4.0, 4.0 - 2.0 ** -7)
    assert p.overflows == 0 and p.underflows == int(np.sum(np.abs(x) < 2.0 ** -8))


def test_overrides_per_signal():
    rec = _rec(a=[-1.0, 0.7], b=[0.1, 0.2], c=[-3.0, 3.0])
    p = propose(rec, word_length=16, overrides={"a": {"word_length": 8}, "b": "ufix4_En4",
                                                 "c": {"signed": True, "margin": 100}})
    assert p["a"].proposed == numerictype(1, 8, 7)
    assert p["b"].proposed == numerictype(0, 4, 4) and p["b"].source == "override"
    assert p["c"].range_used == (Fraction(-6), Fraction(6))
    assert p.types.type_of("b") == numerictype(0, 4, 4)
    with pytest.raises(ValueError, match=r"override of signal 'a' has unknown keys \['wl'\]"):
        propose(rec, overrides={"a": {"wl": 8}})


def test_json_round_trip_and_rows(tmp_path):
    import os

    T = TypeTable({"x": "sfix16_En14", "acc": "sfix32_En20", "y": "double"}, locked=["x"])
    with record() as rec:
        T.y(T.acc(T.x(np.array([0.5, -1.5, 3.25, 0.0]))) * 3)
    p = propose(rec, T, word_length=12, margin=12.5, design={"y": (-10, 10)})
    path = tmp_path / "proposal.json"
    p.save(path)
    assert sorted(os.listdir(tmp_path)) == ["proposal.json"]
    back = Proposal.load(path)
    assert back == p and list(back) == list(p) and back.types == p.types
    assert back["acc"].range_used == p["acc"].range_used
    assert back.settings == p.settings and back.settings["margin"] == 12.5
    rows = p.to_rows()
    assert [r["name"] for r in rows] == ["x", "acc", "y"]
    r = rows[1]
    assert r["proposed"] == str(p["acc"].proposed) and r["word_length"] == 12
    assert r["range_min"] == float(p["acc"].range_used[0]) and r["locked"] is False
    assert rows[0]["locked"] is True and rows[2]["source"] == "design"
    assert all(isinstance(v, str | int | float | bool | type(None)) for v in r.values())
    with pytest.raises(ValueError, match="unsupported schema"):
        Proposal.from_json('{"schema": "fixsim.Proposal/0"}')


def test_fraction_length_too_fine_for_any_word():
    with pytest.raises(ValueError, match=r"signal 'x': covering \[-3, 5\] at fraction length "
                                         r"70000 needs about 70003 bits, above the limit"):
        propose(_rec(x=[-3.0, 5.0, 0.5]), fraction_length=70000)


def test_all_zero_signal_round_trips():
    p = propose(_rec(z=[0.0, 0.0, -0.0]), word_length=8)
    assert p["z"].proposed == numerictype(0, 8, 0) and p["z"].sqnr_db is None
    assert Proposal.from_json(p.to_json()) == p
