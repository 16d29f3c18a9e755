"""The report's numbers are the tool's numbers (and a recomputation's), in every format."""

from __future__ import annotations

import csv
import io
import json
import math
from fractions import Fraction

import numpy as np
import pytest

import fixsim as fx
from fixsim.report import REPORT_SCHEMA, Report

from .conftest import FakeDerived, algorithm, frames


@pytest.fixture(scope="module")
def report(flow):
    return Report.build(flow["proposal"], flow["rec"], flow["verification"], flow["derived"],
                        current=flow["T"], title="test flow")


def test_json_numbers_equal_the_proposal_recording_and_verification(flow, report):
    p, rec, v = flow["proposal"], flow["rec"], flow["verification"]
    data = json.loads(report.to_json())
    assert data["schema"] == REPORT_SCHEMA == "fixsim.Report/1"
    assert [s["name"] for s in data["signals"]] == list(p)
    for s in data["signals"]:
        e = p[s["name"]]
        assert (s["sim_min"], s["sim_max"]) == e.simulated
        assert (s["range_min"], s["range_max"]) == (float(e.range_used[0]),
                                                   float(e.range_used[1]))
        assert s["proposed"]["name"] == str(e.proposed)
        assert s["current"]["name"] == str(e.current)
        assert s["percent_range_used"] == e.percent_range_used
        assert s["clip_fraction"] == e.clip_fraction
        assert s["sqnr_db_estimated"] == e.sqnr_db
        st = rec[s["name"]]
        assert dict(zip(s["hist_bins"], s["hist_counts"], strict=True)) == st.log2_histogram
        assert s["count"] == st.count and s["zeros"] == st.zeros
        vs = v[s["name"]]
        assert s["overflows_verified"] == vs.overflows == s["overflows"]
        assert s["underflows_verified"] == vs.underflows == s["underflows"]
        assert s["sqnr_db_verified"] == vs.sqnr_db == s["sqnr_db"]
        assert len(s["error"]) == min(vs.error.size, 2048)
    assert data["types"] == p.types.to_dict()
    assert fx.TypeTable.from_dict(data["types"]) == p.types
    assert data["outputs"][0]["sqnr_db"] == v.output_sqnr_db


def test_numbers_match_an_independent_recomputation(flow, report):
    """Simulated extremes from the raw inputs; SQNR of x from an exact Fraction quantizer."""
    x = np.concatenate(flow["frames"])
    s = report["x"]
    assert s["sim_min"] == float(x.min()) and s["sim_max"] == float(x.max())
    t = fx.numerictype.parse(s["proposed"]["name"])
    F = t.fraction_length
    sig = err = Fraction(0)
    for val in x.tolist():
        y = Fraction(val) * 2 ** F
        q = math.floor(y + Fraction(1, 2))                     # nearest, ties toward +inf
        q = max(t.int_min, min(t.int_max, q))                  # saturate
        e = Fraction(q, 2 ** F) - Fraction(val)
        sig += Fraction(val) ** 2
        err += e * e
    want = 10 * math.log10(sig / err)
    assert math.isclose(s["sqnr_db"], want, rel_tol=1e-12)
    # the proposed window in log2 units is (-F, W - F - 1) for a signed type
    assert s["proposed_window"] == [-F, t.word_length - F - 1]
    # total bits: the sum of the proposed word lengths, by hand
    assert report.summary["total_bits_proposed"] == 16 * 4
    assert report.summary["total_bits_current"] == 16 + 32 + 16 + 16


def test_summary_and_warnings(report):
    summ = report.summary
    assert summ["signals"] == 4 and summ["blocks"] == 3
    worst = min(report.signals, key=lambda s: s["sqnr_db"])
    assert summ["worst_sqnr_db"] == worst["sqnr_db"]
    assert summ["worst_sqnr_signal"] == worst["name"]
    kinds = {(w["kind"], w["signal"]) for w in report.warnings}
    assert ("never_exercised", "unused.sig") in kinds
    assert ("unbounded", "fir.y") in kinds
    # a derived worst case of 27 exceeds the proposed type of fir.acc (a few units)
    assert ("derived_exceeds_type", "fir.acc") in kinds
    assert "fir.acc" in summ["overflow_risk_signals"] and "fir.y" in summ["overflow_risk_signals"]
    msg = next(w["message"] for w in report.warnings if w["kind"] == "unbounded")
    assert "feedback without a bound" in msg


def test_saturating_and_underflow_warnings_come_from_verification():
    T = fx.TypeTable({"x": "sfix16_En14", "fir.acc": "sfix32_En28", "fir.y": "sfix16_En14",
                      "gain.y": "sfix16_En12"})
    data = frames(seed=3, n=2, size=300)
    rec = fx.tool.collect(algorithm, data, T.as_double())
    p = fx.tool.propose(rec, T, word_length=16)
    # verify with a gain type too narrow (saturates) and an input type too coarse (underflows)
    narrow = p.types.copy()
    narrow["gain.y"] = "sfix8_En6"
    narrow["x"] = "sfix4_En1"
    v = fx.tool.verify(algorithm, data, narrow)
    r = Report.build(p, rec, v)
    kinds = {(w["kind"], w["signal"]) for w in r.warnings}
    assert ("saturating", "gain.y") in kinds
    assert ("underflow", "x") in kinds
    assert r["gain.y"]["overflows"] == v["gain.y"].overflows > 0
    assert r["x"]["underflows"] == v["x"].underflows > 0


def test_save_load_rerenders_the_same(tmp_path, report):
    path = tmp_path / "r.json"
    report.save(path)
    again = Report.load(path)
    assert again.data == report.data
    assert again.to_markdown() == report.to_markdown()
    assert again.to_csv() == report.to_csv()


def test_csv_rows_carry_the_same_numbers(report):
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [r["name"] for r in rows] == [s["name"] for s in report.signals]
    for r, s in zip(rows, report.signals, strict=True):
        assert float(r["sim_min"]) == s["sim_min"] and float(r["sim_max"]) == s["sim_max"]
        assert r["proposed"] == s["proposed"]["name"]
        assert r["proposed_q"] == s["proposed"]["q"] and r["proposed_hls"] == s["proposed"]["hls"]
        assert float(r["sqnr_db"]) == s["sqnr_db"]
        assert int(r["overflows"]) == s["overflows"]
        assert r["block"] == s["block"]


def test_markdown_and_terminal(report):
    md = report.to_markdown()
    assert md.startswith("# test flow")
    for s in report.signals:
        assert f"| {s['name']} |" in md
        assert s["proposed"]["hls"] in md
    text = report.to_terminal(width=160)
    for s in report.signals:
        assert s["name"] in text and s["proposed"]["name"] in text
    assert "Worst SQNR" in text and "never exercised" in text


def test_types_are_written_three_ways(report):
    s = report["gain.y"]
    t = fx.numerictype.parse(s["proposed"]["name"])
    assert s["proposed"]["q"] == f"Q{t.word_length - t.fraction_length - 1}.{t.fraction_length}"
    assert s["proposed"]["hls"] == f"ap_fixed<{t.word_length},{t.word_length - t.fraction_length}>"
    assert report["fir.acc"]["block"] == "fir" and report["x"]["block"] == ""


def test_write_all_formats(tmp_path, report):
    paths = report.write(tmp_path / "out")
    assert sorted(paths) == ["csv", "html", "json", "md"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count('class="plot hist"') == len(report.signals)
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    with pytest.raises(ValueError, match="format 'pdf'"):
        report.write(tmp_path, ["pdf"])


def test_report_without_recording_or_verification(flow):
    r = Report.build(flow["proposal"])
    s = r["x"]
    assert s["hist_bins"] == [] and s["verified"] is False
    assert s["sqnr_db"] == flow["proposal"]["x"].sqnr_db  # the estimate
    assert "~" in r.to_markdown()
    assert "<img" in r.to_html()


def test_bad_input_is_named():
    with pytest.raises(TypeError, match="proposal must be a fixsim.tool.Proposal"):
        Report.build({"x": 1})
    with pytest.raises(ValueError, match="unsupported schema"):
        Report({"schema": "nope"})
    T = fx.TypeTable({"x": "double"})
    with fx.tool.record() as rec:
        T.x([1.0, -1.0])
    p = fx.tool.propose(rec, T)
    with pytest.raises(TypeError, match="recording must be"):
        Report.build(p, recording=42)
    d = {"x": FakeDerived(-1.0, 1.0)}
    assert Report.build(p, derived=d)["x"]["derived_min"] == -1.0
    with pytest.raises(ValueError, match="notes must be dicts"):
        Report.build(p, notes=["oops"])
    r = Report.build(p, notes=[{"kind": "verify_failed", "message": "verify failed: X"}])
    assert r.warnings[0] == {"kind": "verify_failed", "signal": None,
                             "message": "verify failed: X"}


def test_infinite_sqnr_is_json_safe():
    T = fx.TypeTable({"x": "sfix16_En8"})
    p = fx.tool.propose(fx.tool.collect(lambda x, T: T.x(x), [np.array([0.5, -1.0])], T), T)
    v = fx.tool.verify(lambda x, T: T.x(x), [np.array([0.5, -1.0])], p.types)
    r = Report.build(p, verification=v)
    text = r.to_json()
    assert "Infinity" not in text and json.loads(text)["signals"][0]["sqnr_db"] == "inf"
    assert "inf" in r.to_markdown()


def test_signal_names_are_escaped_in_html():
    name = 'blk.<script>alert("x")</script>&y'
    T = fx.TypeTable({name: "double"})
    rec = fx.tool.collect(lambda x, T: T[name](x), [np.array([0.5, -0.25])], T)
    r = Report.build(fx.tool.propose(rec, T), rec)
    html = r.to_html()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;y" in html
    # the embedded JSON escapes < > & and still parses to the same name
    start = html.index('id="fixsim-report-data">') + len('id="fixsim-report-data">')
    embedded = json.loads(html[start:html.index("</script>", start)])
    assert embedded["signals"][0]["name"] == name
