"""``detail='extremes'`` statistics and ``record(internals=...)``: what a recording keeps of
the signals inside blocks, how such statistics merge, save and load, and what ``propose`` makes
of them. (That the blocks' extremes equal their values' is ``tests/signal/
test_emission_extremes.py``.)"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import signal

import fixsim as fx
from fixsim import numerictype
from fixsim.signal import FIR, SOSFilter
from fixsim.tool import Recording, SignalStats
from fixsim.tool._policies import type_metrics

floats = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def _extremes_of(values) -> SignalStats:
    """Independent: the extremes statistic of *values* built from Python numbers."""
    s = SignalStats("x", "extremes")
    v = [float(x) for x in values]
    s.count = len(v)
    s.zeros = sum(x == 0.0 for x in v)
    if v:
        s.min, s.max = min(v) + 0.0, max(v) + 0.0
    s.whole = all(x == math.floor(x) for x in v)
    return s


@settings(max_examples=200, deadline=None)
@given(st.lists(floats, max_size=30), st.lists(floats, max_size=30), st.booleans())
def test_extremes_merge_equals_one_pass(a, b, full_first):
    """An 'extremes' statistic merged with anything is 'extremes' (exact, commutative), and
    equals the one-pass extremes of all the values."""
    sa = SignalStats("x", "full" if full_first else "extremes").update(a)
    sb = SignalStats("x", "extremes").update(b)
    ab, ba = sa.merge(sb), sb.merge(sa)
    assert ab == ba
    assert ab.detail == "extremes"
    assert ab == _extremes_of(a + b)
    assert SignalStats("x", "extremes").update(a + b) == ab


def test_extremes_refuse_histograms_and_sums_by_name():
    s = SignalStats("fir.acc", "extremes").update([0.5, -2.0])
    for what in ("log2_histogram", "fine_histogram", "fine_bins", "mean", "std", "rms",
                 "exact_sum"):
        with pytest.raises(ValueError, match=r"'fir\.acc'.*detail='extremes'.*internals='values'"):
            getattr(s, what)
    assert (s.min, s.max, s.max_abs, s.count, s.zeros, s.whole) == (-2.0, 0.5, 2.0, 2, 0, False)
    assert "mean" not in repr(s)


def test_extremes_save_and_load():
    s = SignalStats("a", "extremes").update([0.25, -3.0, 0.0], 2, 1, "sfix8_En4")
    d = s.to_dict()
    assert d["fine_pos"] is None and d["fine_neg"] is None
    assert d["sum_units_2^-1074"] is None
    t = SignalStats.from_dict(d)
    assert t == s and t.detail == "extremes"
    with pytest.raises(ValueError, match="fine_pos and fine_neg must both"):
        SignalStats.from_dict({**d, "fine_pos": []})
    with pytest.raises(ValueError, match="no sums either"):
        SignalStats.from_dict({**d, "sum_units_2^-1074": "0", "sum_squares_units_2^-2148": "0"})


def _fir_run(internals=None):
    h = signal.firwin(9, 0.3)
    T = fx.TypeTable({"f.product": "sfix18_En16", "f.acc": "sfix20_En16"})
    blk = FIR(h, name="f", types=T)
    x = fx.fi(np.random.default_rng(5).uniform(-1, 1, 300), 1, 16, 15)
    kw = {} if internals is None else {"internals": internals}
    with fx.tool.record(**kw) as rec:
        blk(x[:100])
        blk(x[100:])
    return rec, T


def test_record_default_is_extremes_and_round_trips(tmp_path):
    rec, _ = _fir_run()
    assert rec.internals == "extremes"
    assert [rec[n].detail for n in rec.names] == ["full", "full", "extremes", "extremes",
                                                  "full"]
    p = tmp_path / "rec.json"
    rec.save(p)
    back = Recording.load(p)
    assert back == rec and back.internals == "extremes"
    assert back["f.acc"].detail == "extremes"
    rv, _ = _fir_run("values")
    assert rv.internals == "values" and rv["f.acc"].detail == "full"
    assert rv != rec
    m = rv.merge(rec)
    assert m == rec.merge(rv)
    assert m.internals == "extremes" and m["f.acc"].detail == "extremes"
    assert m["f.acc"].count == 2 * rec["f.acc"].count


def test_record_internals_errors():
    with pytest.raises(ValueError, match=r"record: internals='all' is not one of"):
        fx.tool.record(internals="all")
    with pytest.raises(ValueError, match=r"record: internals='values' differs"):
        fx.tool.record(Recording(), internals="values")
    with pytest.raises(ValueError, match=r"collect: internals='x'"):
        fx.tool.collect(lambda x, T: x, [np.zeros(3)], None, internals="x")
    with pytest.raises(ValueError, match=r"Recording: internals=3"):
        Recording(internals=3)


def test_collect_internals_and_workers():
    """collect(internals=...) reaches every worker: the same recording with 1 and 2."""
    frames = np.random.default_rng(1).uniform(-1, 1, (4, 64))
    one = fx.tool.collect(_fir_frame, frames, None)
    two = fx.tool.collect(_fir_frame, frames, None, workers=2)
    assert one == two and one["g.acc"].detail == "extremes"
    vals = fx.tool.collect(_fir_frame, frames, None, internals="values", workers=2)
    assert vals["g.acc"].detail == "full"
    assert vals["g.acc"].min == one["g.acc"].min and vals["g.acc"].max == one["g.acc"].max


def _fir_frame(x, T):
    return FIR([0.5, -0.25, 0.125], name="g")(x)


def test_propose_covers_extremes_and_reports_what_it_knows():
    """minmax on 'extremes' internals: the proposed type holds [min, max] with best
    precision; expected overflows 0, no SQNR estimate (no sums), verify confirms."""
    rec, T = _fir_run()
    p = fx.tool.propose(rec, T, word_length=16)
    for name in ("f.product", "f.acc"):
        s, pt = rec[name], p[name]
        Tp = pt.proposed
        assert Fraction(Tp.exact_min) <= Fraction(s.min) and Fraction(s.max) <= Tp.exact_max
        finer = numerictype(Tp.signed, Tp.word_length, Tp.fraction_length + 1)
        assert not (Fraction(finer.exact_min) <= Fraction(s.min)
                    and Fraction(s.max) <= finer.exact_max)
        assert pt.overflows == 0 and pt.clip_fraction == 0.0
        assert pt.sqnr_db is None


def test_type_metrics_from_extremes():
    T = numerictype(True, 8, 4)  # [-8, 7.9375], LSB 1/16
    s = SignalStats("x", "extremes").update([0.01, -0.02, 0.0])
    m = type_metrics(s, T)
    assert (m["overflows"], m["underflows"], m["sqnr_db"]) == (0, 2, None)  # all below LSB/2
    s = SignalStats("x", "extremes").update([0.01, 3.0, -9.0])
    m = type_metrics(s, T)
    assert m["overflows"] is None and m["underflows"] is None and m["clip_fraction"] is None
    s = SignalStats("x", "extremes").update([1.0, -3.0, 0.0])
    m = type_metrics(s, T)
    assert (m["overflows"], m["underflows"], m["clip_fraction"]) == (0, 0, 0.0)
    assert m["percent_range_used"] == pytest.approx(100 * 3 / 8)


def test_sos_internals_recorded_as_extremes():
    blk = SOSFilter(signal.butter(4, 0.2, output="sos"), name="s")
    with fx.tool.record() as rec:
        blk(np.random.default_rng(2).uniform(-1, 1, 500))
    assert {n: rec[n].detail for n in rec.names} == {
        "s.num_coef": "full", "s.den_coef": "full", "s.in": "full", "s.product": "extremes",
        "s.acc": "extremes", "s.state": "extremes", "s.section": "extremes", "s.out": "full"}


def test_recording_keeps_the_blocks_ties(tmp_path):
    """A block that casts several signals with one type reports them (SignalEvent.tied); the
    recording keeps the groups through save/load and merge, and propose types each group
    with one type even from a plain table (regression: SOSFilter cast its input with the
    section type while propose sized 'in' and 'section' apart)."""
    blk = SOSFilter([[0.25, 0, 0, 1, 0, 0]], name="bq")
    x = np.linspace(-1.9, 1.9, 101)
    with fx.tool.record() as rec:
        blk(x)
    assert rec.tied == [("bq.in", "bq.section")]
    p = tmp_path / "r.json"
    rec.save(p)
    assert Recording.load(p).tied == rec.tied
    assert rec.merge(Recording()).tied == rec.tied == Recording().merge(rec).tied
    T = fx.TypeTable({n: "double" for n in rec.names})
    prop = fx.tool.propose(rec, T, word_length=16)
    assert prop["bq.in"].proposed == prop["bq.section"].proposed == numerictype(True, 16, 14)
    with pytest.raises(ValueError, match="'tied' must be a list"):
        Recording.from_dict({**rec.to_dict(), "tied": "bq.in"})


@pytest.mark.parametrize("policy", ["percentile", "mse", "kl"])
def test_histogram_policies_cover_extremes_with_minmax(policy):
    """A clipping policy needs a histogram: block internals recorded as extremes are covered
    (minmax, said in the rationale), the other signals clipped as asked; asking for the policy
    on such a signal by override is an error naming it."""
    rec, T = _fir_run()
    p = fx.tool.propose(rec, T, word_length=12, policy=policy)
    mm = fx.tool.propose(rec, T, word_length=12)
    for name in ("f.product", "f.acc"):
        assert p[name].policy == "minmax" and "recorded as extremes" in p[name].rationale
        assert p[name].proposed == mm[name].proposed
    assert p["f.in"].policy == policy
    with pytest.raises(ValueError, match=r"overrides\['f.acc'\].*detail='extremes'"):
        fx.tool.propose(rec, T, word_length=12, overrides={"f.acc": {"policy": policy}})


def test_report_of_a_recording_with_extremes():
    """Regression: building a report raised on a signal recorded as extremes (it asked for
    the log2 histogram); such a signal has an empty histogram in the report."""
    rec, T = _fir_run()
    p = fx.tool.propose(rec, T, word_length=16)
    r = fx.report.Report.build(p, rec)
    assert r["f.acc"]["hist_bins"] == [] and r["f.acc"]["count"] == rec["f.acc"].count
    assert r["f.in"]["hist_bins"] == sorted(rec["f.in"].log2_histogram)
