"""Independent review of fixsim.report: every reported number against the tool's objects AND
a recomputation from the raw data (Fractions where exact), format agreement (JSON, CSV,
Markdown, HTML), escaping, nothing dropped, the hardware exports (ghdl, verilator, g++, gcc)
and the demo's own files.

Bugs found are written as strict xfail reproducers at the end of the file.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
import shutil
import subprocess
import sys
from fractions import Fraction
from html.parser import HTMLParser

import numpy as np
import pytest

import fixsim as fx
from fixsim.report import Report, export

# --------------------------------------------------------------------------------------------
# tools: fail clearly (never skip) when one is missing; CI installs them
# --------------------------------------------------------------------------------------------


def tool(name):
    path = shutil.which(name)
    assert path, f"{name} is not installed (CI installs it; install it to run these tests)"
    return path


def run(cmd, cwd):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{cmd} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


INF = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def num(v):
    """A JSON number of the report (infinities and NaN are strings)."""
    return INF.get(v, v) if isinstance(v, str) else v


# --------------------------------------------------------------------------------------------
# a small DSP chain: FIR (taps exact in 16 bits) -> locked cast -> gain -> weird name -> double
# --------------------------------------------------------------------------------------------

H = [0.125, -0.25, 0.5, 1.0, 0.5, -0.25, 0.125]
WEIRD = 'we<i>rd,"n|a\'me'
NAMES = ["x", "fir.acc", "fir.y", "gain.y", WEIRD, "q.r", "d"]


def chain(x, T):
    x = T.x(x)
    acc = T["fir.acc"](np.convolve(x, H)[: len(x)])
    y = T["fir.y"](acc)
    g = T["gain.y"](y * 3.0)
    w = T[WEIRD](g * 0.25)
    T["q.r"](x * 0.1 / (x - x + 1))            # x - x holds 0 on intervals: unbounded
    return T.d(w)


@pytest.fixture(scope="module")
def dsp(tmp_path_factory):
    T = fx.TypeTable({"x": "sfix16_En14", "fir.acc": "sfix32_En28", "fir.y": "sfix16_En14",
                      "gain.y": "sfix16_En12", WEIRD: "sfix16_En14", "q.r": "sfix16_En14",
                      "d": "double", "unused.sig": "sfix8_En4"}, locked=["fir.y"])
    rng = np.random.default_rng(0)
    frames = [rng.uniform(-0.9, 0.9, 300) for _ in range(3)]
    rec = fx.tool.collect(chain, frames, T.override("scaled_double"))
    der = fx.tool.derive(chain, (-0.9, 0.9), T.as_double(), like=frames[0])
    p = fx.tool.propose(rec, T, word_length=16, derived=der, source="union",
                        design={"q.r": (-0.1, 0.1)})
    v = fx.tool.verify(chain, frames, p.types)
    r = Report.build(p, rec, v, der, current=T, title="review <DSP> & co")
    out = tmp_path_factory.mktemp("dsp_report")
    paths = r.write(out)
    files = {k: open(path, encoding="utf-8").read() for k, path in paths.items()}
    return dict(T=T, frames=frames, rec=rec, der=der, p=p, v=v, r=r, out=out, files=files,
                data=json.loads(files["json"]))


# --- an exact model of the chain ------------------------------------------------------------


def q_nearest_sat(val: Fraction, t):
    """fixsim's default cast: round to nearest (ties toward +inf), then saturate."""
    F = t.fraction_length
    k = math.floor(val * Fraction(2) ** F + Fraction(1, 2))
    over = k < t.int_min or k > t.int_max
    k = max(t.int_min, min(t.int_max, k))
    return Fraction(k) / Fraction(2) ** F, over


def nt(d, name):
    return fx.numerictype.parse(d[name]["proposed"]["name"])


def model_streams(dsp):
    """Double values (as the double run computes them) and exact fixed values per signal."""
    types = {n: nt(dsp["r"], n) for n in ["x", "fir.acc", "fir.y", "gain.y", WEIRD, "d"]}
    dbl = {n: [] for n in types}
    fix = {n: [] for n in types}
    ovf = {n: [] for n in types}
    unf = {n: [] for n in types}

    def cast(name, vals):
        outv = []
        for val in vals:
            q, o = q_nearest_sat(val, types[name])
            fix[name].append(q)
            ovf[name].append(o)
            unf[name].append(val != 0 and q == 0)
            outv.append(q)
        return outv

    Hf = [Fraction(h) for h in H]
    for fr in dsp["frames"]:
        n = len(fr)
        acc_d = np.convolve(fr, H)[:n]
        y_d = acc_d
        g_d = y_d * 3.0
        w_d = g_d * 0.25
        for name, arr in (("x", fr), ("fir.acc", acc_d), ("fir.y", y_d), ("gain.y", g_d),
                          (WEIRD, w_d), ("d", w_d)):
            dbl[name].extend(Fraction(float(a)) for a in arr)
        xq = cast("x", [Fraction(float(a)) for a in fr])
        acc = [sum(Hf[k] * xq[i - k] for k in range(len(H)) if i - k >= 0) for i in range(n)]
        accq = cast("fir.acc", acc)
        yq = cast("fir.y", accq)
        gq = cast("gain.y", [3 * a for a in yq])
        wq = cast(WEIRD, [a / 4 for a in gq])
        cast("d", wq)
    return types, dbl, fix, ovf, unf


@pytest.fixture(scope="module")
def model(dsp):
    return model_streams(dsp)


# --------------------------------------------------------------------------------------------
# 1. the JSON against the Python objects, and against the recomputation
# --------------------------------------------------------------------------------------------


def test_json_signals_are_the_proposal_in_order_and_match_the_objects(dsp):
    data, p, rec, v, der = dsp["data"], dsp["p"], dsp["rec"], dsp["v"], dsp["der"]
    assert [s["name"] for s in data["signals"]] == list(p) == NAMES
    assert data["never_exercised"] == ["unused.sig"]
    for s in data["signals"]:
        n, e, st = s["name"], p[s["name"]], rec[s["name"]]
        assert (s["sim_min"], s["sim_max"]) == tuple(e.simulated) == (st.min, st.max)
        assert (num(s["derived_min"]), num(s["derived_max"])) == (der[n].lo, der[n].hi)
        assert s["derived_bounded"] is der[n].bounded and s["derived_reason"] == der[n].reason
        assert (s["range_min"], s["range_max"]) == tuple(float(b) for b in e.range_used)
        assert s["locked"] == e.locked and s["source"] == e.source and s["policy"] == e.policy
        assert s["rationale"] == e.rationale
        t = e.proposed
        pr = s["proposed"]
        assert pr["name"] == str(t)
        assert (pr["signed"], pr["word_length"], pr["fraction_length"]) == (
            t.signed, t.word_length, t.fraction_length)
        assert (pr["min"], pr["max"]) == tuple(float(b) for b in e.representable)
        assert pr["lsb"] == float(e.lsb) == 2.0 ** -t.fraction_length
        assert s["percent_range_used"] == e.percent_range_used
        assert s["clip_fraction"] == e.clip_fraction
        assert s["overflows_estimated"] == e.overflows
        assert s["underflows_estimated"] == e.underflows
        assert num(s["sqnr_db_estimated"]) == e.sqnr_db
        assert s["count"] == st.count and s["zeros"] == st.zeros and s["nan_count"] == 0
        assert dict(zip(s["hist_bins"], s["hist_counts"], strict=True)) == st.log2_histogram
        assert s["overflows_recorded"] == st.overflows
        assert s["underflows_recorded"] == st.underflows
        sv = v[n]
        assert s["verified"] is True
        assert s["overflows_verified"] == sv.overflows == s["overflows"]
        assert s["underflows_verified"] == sv.underflows == s["underflows"]
        assert num(s["sqnr_db_verified"]) == sv.sqnr_db == num(s["sqnr_db"])
        assert s["max_abs_error"] == sv.max_abs_error and s["rms_error"] == sv.rms_error
        err = np.asarray(sv.error, dtype=float)[:2048]
        assert len(s["error"]) == err.size
        # 7 significant digits (documented)
        assert np.allclose(s["error"], err, rtol=1e-6, atol=0)
        W, F = t.word_length, t.fraction_length
        assert s["proposed_window"] == [-F, W - F - (1 if t.signed else 0)]
    assert data["types"] == p.types.to_dict()
    assert fx.TypeTable.from_dict(data["types"]) == p.types
    out = data["outputs"][0]
    assert out["name"] == "output" and num(out["sqnr_db"]) == v.output_sqnr_db
    assert out["count"] == 900 and out["overflows"] == v.outputs["output"].overflows


def test_types_and_lsb_and_windows_recomputed(dsp):
    """Best precision at 16 bits covering the union range, recomputed by hand."""
    r = dsp["r"]
    for name in NAMES:
        s = r[name]
        lo, hi = Fraction(s["range_min"]), Fraction(s["range_max"])
        # the largest F with [-2^(15-F), 2^(15-F) - 2^-F] covering [lo, hi]
        best = None
        for F in range(-8, 40):
            tmin, tmax = -Fraction(2) ** (15 - F), Fraction(2) ** (15 - F) - Fraction(2) ** -F
            if tmin <= lo and hi <= tmax:
                best = F
        t = nt(r, name)
        if s["locked"]:
            assert str(t) == "sfix16_En14" == s["current"]["name"]
            continue
        assert t.signed and t.word_length == 16 and t.fraction_length == best, name
        pr = s["proposed"]
        assert Fraction(pr["min"]) == -Fraction(2) ** (15 - best)
        assert Fraction(pr["max"]) == Fraction(2) ** (15 - best) - Fraction(2) ** -best
        assert pr["q"] == f"Q{15 - best}.{best}" and pr["hls"] == f"ap_fixed<16,{16 - best}>"


def test_simulated_and_derived_ranges_recomputed_from_raw_data(dsp):
    r, fr = dsp["r"], dsp["frames"]
    x = np.concatenate(fr)
    acc = np.concatenate([np.convolve(f, H)[: len(f)] for f in fr])
    sims = {"x": x, "fir.acc": acc, "fir.y": acc, "gain.y": acc * 3.0,
            WEIRD: acc * 3.0 * 0.25, "d": acc * 3.0 * 0.25, "q.r": x * 0.1}
    for name, vals in sims.items():
        assert (r[name]["sim_min"], r[name]["sim_max"]) == (vals.min(), vals.max()), name
        assert r[name]["count"] == vals.size
        # log2 histogram: bin k holds 2**(k-1) <= |x| < 2**k
        k = np.floor(np.log2(np.abs(vals))).astype(int) + 1
        bins, counts = np.unique(k, return_counts=True)
        assert r[name]["hist_bins"] == bins.tolist() and r[name]["hist_counts"] == counts.tolist()
    # derived: sum|h| * 0.9 for the FIR, then the gains; exact or one float outward
    exact = {"x": Fraction(0.9), "fir.acc": Fraction(11, 4) * Fraction(0.9)}
    exact["fir.y"] = exact["fir.acc"]
    exact["gain.y"] = 3 * exact["fir.acc"]
    exact[WEIRD] = exact["d"] = exact["gain.y"] / 4
    for name, b in exact.items():
        hi, lo = Fraction(r[name]["derived_max"]), Fraction(r[name]["derived_min"])
        assert hi >= b and lo <= -b
        assert hi - b <= 4 * Fraction(math.ulp(float(b))) and -b - lo <= 4 * Fraction(
            math.ulp(float(b))), name
    assert r["q.r"]["derived_min"] == "-inf" and r["q.r"]["derived_max"] == "inf"
    assert r["q.r"]["derived_bounded"] is False and "holds 0" in r["q.r"]["derived_reason"]
    assert (r["q.r"]["design_min"], r["q.r"]["design_max"]) == (-0.1, 0.1)


def test_proposal_estimates_recomputed_exactly(dsp):
    """percent of range used, over/underflow counts, clip fraction and SQNR estimate."""
    r, fr = dsp["r"], dsp["frames"]
    x = np.concatenate(fr)
    acc = np.concatenate([np.convolve(f, H)[: len(f)] for f in fr])
    sims = {"x": x, "fir.acc": acc, "fir.y": acc, "gain.y": acc * 3.0,
            WEIRD: acc * 3.0 * 0.25, "d": acc * 3.0 * 0.25, "q.r": x * 0.1}
    for name, vals in sims.items():
        s = r[name]
        t = nt(r, name)
        tmin, tmax = Fraction(s["proposed"]["min"]), Fraction(s["proposed"]["max"])
        mn, mx = Fraction(float(vals.min())), Fraction(float(vals.max()))
        terms = []
        if mx > 0:
            terms.append(mx / tmax)
        if mn < 0 and tmin < 0:
            terms.append(mn / tmin)
        assert math.isclose(s["percent_range_used"], float(100 * max(terms)), rel_tol=1e-15)
        over = int(np.sum(vals > float(tmax)) + np.sum(vals < float(tmin)))
        assert s["overflows_estimated"] == over, name
        lsb = 2.0 ** -t.fraction_length
        assert s["underflows_estimated"] == int(np.sum((vals != 0) & (np.abs(vals) < lsb / 2)))
        N = vals.size
        if over == 0:
            assert s["clip_fraction"] == 0.0
            ms = sum(Fraction(float(a)) ** 2 for a in vals) / N
            want = 10 * math.log10(ms / (Fraction(lsb) ** 2 / 12))
            assert math.isclose(s["sqnr_db_estimated"], want, abs_tol=1e-9), name
        else:
            # estimated from the fine histogram (16 bins per octave): off by at most the
            # values in the fine bin holding the threshold [1.9375, 2)
            slack = int(np.sum((np.abs(vals) >= 1.9375) & (np.abs(vals) < 2.0)))
            assert abs(s["clip_fraction"] * N - over) <= max(slack, 1e-9)
            assert s["sqnr_db_estimated"] < 60     # the clipping dominates


def test_verification_numbers_recomputed_with_an_exact_model(dsp, model):
    """max|e|, RMS e, SQNR, overflow/underflow counts and first overflow from Fractions."""
    types, dbl, fix, ovf, unf = model
    r, v = dsp["r"], dsp["v"]
    for name in types:
        e = [f - d for f, d in zip(fix[name], dbl[name], strict=True)]
        s = r[name]
        assert s["count"] == len(e) == v[name].count
        mae = max(abs(a) for a in e)
        assert math.isclose(s["max_abs_error"], float(mae), rel_tol=1e-12), name
        rms = math.sqrt(sum(a * a for a in e) / len(e))
        assert math.isclose(s["rms_error"], rms, rel_tol=1e-9), name
        sq = 10 * math.log10(sum(d * d for d in dbl[name]) / sum(a * a for a in e))
        assert math.isclose(num(s["sqnr_db_verified"]), sq, abs_tol=1e-9), name
        assert s["overflows_verified"] == sum(ovf[name]), name
        assert s["underflows_verified"] == sum(unf[name]), name
        first = next((i for i, o in enumerate(ovf[name]) if o), None)
        assert v[name].first_overflow == first, name
    assert r["fir.y"]["overflows_verified"] == 1           # the locked, too narrow type
    out = dsp["data"]["outputs"][0]
    e = [f - d for f, d in zip(fix["d"], dbl["d"], strict=True)]
    assert math.isclose(out["max_abs_error"], float(max(abs(a) for a in e)), rel_tol=1e-12)


def test_summary_and_warnings_recomputed(dsp):
    data = dsp["data"]
    summ = data["summary"]
    sig = data["signals"]
    assert summ["signals"] == 7 and summ["fixed_signals"] == 7
    assert summ["blocks"] == len({s["name"].split(".")[0] if "." in s["name"] else ""
                                  for s in sig})
    assert summ["total_bits_proposed"] == sum(s["proposed"]["word_length"] for s in sig)
    assert summ["total_bits_current"] == 16 + 32 + 16 + 16 + 16 + 16     # 'd' is double
    sq = {s["name"]: num(s["sqnr_db_verified"]) for s in sig}
    assert summ["worst_sqnr_db"] == min(sq.values())
    assert sq[summ["worst_sqnr_signal"]] == summ["worst_sqnr_db"]
    kinds = {(w["kind"], w["signal"]) for w in data["warnings"]}
    assert ("never_exercised", "unused.sig") in kinds
    assert ("unbounded", "q.r") in kinds
    assert ("saturating", "fir.y") in kinds and ("current_saturates", "fir.y") in kinds
    assert ("derived_exceeds_type", "fir.y") in kinds
    risky = sorted({w["signal"] for w in data["warnings"]
                    if w["kind"] in ("saturating", "derived_exceeds_type", "unbounded")})
    assert sorted(summ["overflow_risk_signals"]) == risky and summ["overflow_risks"] == len(risky)
    assert summ["warnings"] == len(data["warnings"])
    # recorded overflows of the current (locked) fir.y type: values above 2 - 2^-14 etc.
    acc = np.concatenate([np.convolve(f, H)[: len(f)] for f in dsp["frames"]])
    assert data["signals"][2]["overflows_recorded"] == int(np.sum(acc > 2 - 2.0 ** -14)
                                                            + np.sum(acc < -2))


# --------------------------------------------------------------------------------------------
# formats agree with each other
# --------------------------------------------------------------------------------------------

CSV_FLOATS = ["sim_min", "sim_max", "derived_min", "derived_max", "design_min", "design_max",
              "range_min", "range_max", "percent_range_used", "clip_fraction", "sqnr_db",
              "sqnr_db_verified", "sqnr_db_estimated", "max_abs_error"]
CSV_INTS = ["overflows", "underflows", "overflows_recorded", "underflows_recorded",
            "overflows_verified", "underflows_verified", "count"]


def test_csv_equals_json_at_full_precision_and_names_roundtrip(dsp):
    rows = list(csv.DictReader(io.StringIO(dsp["files"]["csv"])))
    sig = dsp["data"]["signals"]
    assert [row["name"] for row in rows] == [s["name"] for s in sig]
    for row, s in zip(rows, sig, strict=True):
        for col in CSV_FLOATS:
            want = num(s[col])
            if want is None:
                assert row[col] == "", (s["name"], col)
            else:
                assert float(row[col]) == want, (s["name"], col)
        for col in CSV_INTS:
            assert int(row[col]) == s[col], (s["name"], col)
        assert row["proposed"] == s["proposed"]["name"]
        assert row["proposed_q"] == s["proposed"]["q"]
        assert row["proposed_hls"] == s["proposed"]["hls"]
        assert int(row["word_length"]) == s["proposed"]["word_length"]
        assert int(row["fraction_length"]) == s["proposed"]["fraction_length"]
        assert row["current"] == s["current"]["name"]
        assert row["block"] == s["block"] and row["rationale"] == s["rationale"]
        assert row["locked"] == str(s["locked"])


def md_table(text):
    lines = [ln for ln in text.splitlines() if ln.startswith("| ")]
    head = next(i for i, ln in enumerate(lines) if ln.startswith("| Signal |"))
    rows = []
    for ln in lines[head + 1:]:
        # the cells as text: Markdown backslash escapes, then HTML entities (&lt; ...)
        cells = [html.unescape(re.sub(r"\\(.)", r"\1", c.strip()))
                 for c in re.split(r"(?<!\\)\|", ln.strip())[1:-1]]
        rows.append(cells)
    return lines[head], rows


def close6(text, value):
    """A value printed with 6 significant digits."""
    if isinstance(value, str) or math.isinf(value):
        return text == str(num(value)) or text == value
    return float(text) == float(f"{value:.6g}")


def test_markdown_has_every_signal_with_the_json_numbers(dsp):
    head, rows = md_table(dsp["files"]["md"])
    sig = dsp["data"]["signals"]
    assert [row[0] for row in rows] == [s["name"] for s in sig]
    for row, s in zip(rows, sig, strict=True):
        (name, block, smin, smax, dmin, dmax, design, cur, prop, pct, ovf, unf, sq) = row
        assert block == s["block"]
        assert close6(smin, s["sim_min"]) and close6(smax, s["sim_max"])
        assert close6(dmin, s["derived_min"]) and close6(dmax, s["derived_max"])
        assert prop == " / ".join([s["proposed"]["name"], s["proposed"]["q"],
                                   s["proposed"]["hls"]])
        assert cur.split(" / ")[0] == s["current"]["name"]
        assert math.isclose(float(pct), s["percent_range_used"], rel_tol=5e-4)
        assert int(ovf) == s["overflows"] and int(unf) == s["underflows"]
        assert abs(float(sq) - num(s["sqnr_db"])) <= 0.05
        if s["design_min"] is not None:
            assert design == f"[{s['design_min']}, {s['design_max']}]"
    text = dsp["files"]["md"]
    for w in dsp["data"]["warnings"]:
        assert f"**{w['kind']}**" in text
    assert "unused.sig" in text


class _Table(HTMLParser):
    """Rows of the sortable table: [(data-name, [(data-v, text), ...])]; the embedded JSON."""

    def __init__(self):
        super().__init__()
        self.rows, self.cell, self.in_tbody, self.script, self.json = [], None, False, False, ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tbody":
            self.in_tbody = True
        elif tag == "tr" and self.in_tbody and "data-name" in a:
            self.rows.append((a["data-name"], []))
        elif tag == "td" and self.in_tbody and self.rows:
            self.cell = [a.get("data-v"), ""]
        elif tag == "script" and a.get("id") == "fixsim-report-data":
            self.script = True

    def handle_endtag(self, tag):
        if tag == "td" and self.cell is not None:
            self.rows[-1][1].append(tuple(self.cell))
            self.cell = None
        elif tag == "tbody":
            self.in_tbody = False
        elif tag == "script":
            self.script = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[1] += data
        if self.script:
            self.json += data


@pytest.fixture(scope="module")
def html_table(dsp):
    t = _Table()
    t.feed(dsp["files"]["html"])
    return t


def strip_errors(d):
    d = json.loads(json.dumps(d))
    for s in d["signals"]:
        s.pop("error", None)
    for o in d["outputs"]:
        o.pop("error", None)
    return d


def test_html_table_and_embedded_json_equal_the_json(dsp, html_table):
    sig = dsp["data"]["signals"]
    assert [n for n, _ in html_table.rows] == [s["name"] for s in sig]
    for (name, cells), s in zip(html_table.rows, sig, strict=True):
        assert cells[0] == (s["name"], s["name"])              # escaped, unescapes back
        for k, key in ((2, "sim_min"), (3, "sim_max"), (4, "derived_min"), (5, "derived_max")):
            dv, txt = cells[k]
            assert num(dv) == num(s[key]) or float(dv) == num(s[key])
            assert close6(txt, s[key]), (name, key, txt)
        assert "".join(cells[8][1]) == s["proposed"]["name"] + s["proposed"]["q"] + \
            s["proposed"]["hls"]
        assert float(cells[9][0]) == s["percent_range_used"]
        assert int(cells[10][0]) == s["overflows"] and int(cells[11][0]) == s["underflows"]
        assert float(cells[12][0]) == num(s["sqnr_db"])
    emb = json.loads(html_table.json)
    want = strip_errors(dsp["data"])
    assert {k: emb[k] for k in want} == want or emb == want
    page = dsp["files"]["html"]
    assert "<title>review &lt;DSP&gt; &amp; co</title>" in page
    assert "review <DSP>" not in page
    assert "http://" not in page.replace("http://www.w3.org", "")


def test_report_reloads_and_rerenders_identically(dsp, tmp_path):
    again = Report.load(dsp["out"] / "report.json")
    assert again.to_csv() == dsp["files"]["csv"]
    assert again.to_markdown() == dsp["files"]["md"]
    assert again.to_dict() == dsp["data"]


# --------------------------------------------------------------------------------------------
# nothing silently dropped: locked double, inherit, never exercised
# --------------------------------------------------------------------------------------------


def test_locked_double_and_inherit_entries_are_kept_in_every_format(tmp_path):
    T = fx.TypeTable({"x": "sfix16_En14", "dbl": "double", "inh": "inherit",
                      "y": "sfix16_En12", "never": "sfix8"}, locked=["dbl"])

    def alg(x, T):
        x = T.x(x)
        T.dbl(x * 0.5)
        T.inh(x * 0.25)
        return T.y(x * 2)

    frames = [np.linspace(-0.9, 0.9, 64)]
    rec = fx.tool.collect(alg, frames, T.as_double())
    p = fx.tool.propose(rec, T, word_length=16)
    v = fx.tool.verify(alg, frames, p.types)
    r = Report.build(p, rec, v, current=T)
    assert [s["name"] for s in r.signals] == ["x", "dbl", "inh", "y"]
    assert r["dbl"]["proposed"] == {"name": "double", "fixed": False} == r["dbl"]["current"]
    assert r["inh"]["current"] == {"name": "inherit", "fixed": False}
    assert r["inh"]["proposed"]["name"] == "sfix16_En17"       # 0.225 needs 17 fraction bits
    assert r.summary["fixed_signals"] == 3 and r.summary["signals"] == 4
    assert r.summary["total_bits_current"] == 32 and r.summary["total_bits_proposed"] == 48
    assert r.data["never_exercised"] == ["never"]
    rows = list(csv.DictReader(io.StringIO(r.to_csv())))
    assert [row["name"] for row in rows] == ["x", "dbl", "inh", "y"]
    assert rows[1]["proposed"] == "double" and rows[1]["word_length"] == ""
    _, mrows = md_table(r.to_markdown())
    assert [m[0] for m in mrows] == ["x", "dbl", "inh", "y"] and mrows[1][8] == "double"
    for fmt in ("vhdl", "sv", "hls", "c"):
        text = export(p, fmt)
        assert "dbl: double (not fixed point; no declaration)" in text, fmt
        assert "dbl_t" not in text


# --------------------------------------------------------------------------------------------
# 2. exports: compile, and every declaration equals the proposal
# --------------------------------------------------------------------------------------------


def ident(name):
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9_]", "_", name)).strip("_")


@pytest.fixture(scope="module")
def exports(dsp, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports")
    p = dsp["p"]
    files = {"vhdl": "fixsim_types.vhd", "sv": "fixsim_types.sv", "hls": "types_hls.h",
             "c": "types.h", "json": "types.json"}
    texts = {fmt: export(p, fmt, out / f) for fmt, f in files.items()}
    types = {n: nt(dsp["r"], n) for n in NAMES}
    # the never-exercised entry stays in the proposed table with its current type
    assert str(p.types["unused.sig"].type) == "sfix8_En4"
    types["unused.sig"] = fx.numerictype.parse("sfix8_En4")
    return out, texts, types


def test_identifiers_follow_the_documented_mapping(exports):
    _, texts, types = exports
    sv = re.findall(r"typedef logic (signed )?\[(\d+):0\] (\w+);", texts["sv"])
    assert [i for _, _, i in sv] == [ident(n) + "_t" for n in types]
    assert [bool(sg) for sg, _, _ in sv] == [t.signed for t in types.values()]
    assert [int(w) + 1 for _, w, _ in sv] == [t.word_length for t in types.values()]
    assert "we_i_rd_n_a_me_t" in texts["vhdl"] and "fir_acc_t" in texts["c"]
    assert fx.TypeTable.from_json(texts["json"]) == fx.TypeTable.from_dict(
        json.loads(texts["json"]))


def test_vhdl_analyses_and_elaborated_bounds_equal_the_proposal(exports):
    out, texts, types = exports
    ghdl = tool("ghdl")
    checks = []
    for n, t in types.items():
        i = ident(n) + "_t"
        W, F = t.word_length, t.fraction_length
        kind = "sfixed" if t.signed else "ufixed"
        assert f"subtype {i} is {kind}({W - F - 1} downto {-F});" in texts["vhdl"]
        checks.append(f"    assert {i}'high = {W - F - 1} and {i}'low = {-F} "
                      f"report \"{i}\" severity failure;")
        checks.append(f"    assert {i}'length = {W} report \"{i} len\" severity failure;")
    tb = ("library ieee;\nuse ieee.fixed_pkg.all;\nuse work.fixsim_types.all;\n"
          "entity tb is end entity;\narchitecture a of tb is\nbegin\n  process begin\n"
          + "\n".join(checks) + "\n    report \"ALL OK\";\n    wait;\n  end process;\n"
          "end architecture;\n")
    (out / "tb.vhd").write_text(tb)
    run([ghdl, "-a", "--std=08", "fixsim_types.vhd"], out)
    run([ghdl, "-a", "--std=08", "tb.vhd"], out)
    run([ghdl, "-e", "--std=08", "tb"], out)
    r = subprocess.run([ghdl, "-r", "--std=08", "tb"], cwd=out, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and "ALL OK" in r.stdout + r.stderr, r.stdout + r.stderr


def test_systemverilog_lints_and_elaboration_checks_width_sign_and_fl(exports):
    out, texts, types = exports
    verilator = tool("verilator")
    lines = ["module top;", "  import fixsim_types::*;"]
    for k, (n, t) in enumerate(types.items()):
        i = ident(n)
        W, F = t.word_length, t.fraction_length
        sign = "x_t'(-1) < 0" if t.signed else "!(x_t'(-1) < 0)"
        lines += [f"  if ($bits({i}_t) != {W}) begin : w{k} $error(\"{i} width\"); end",
                  f"  if (!({sign.replace('x_t', i + '_t')})) begin : s{k} "
                  f"$error(\"{i} sign\"); end",
                  f"  if ({i.upper()}_WL != {W} || {i.upper()}_FL != {F}) begin : f{k} "
                  f"$error(\"{i} wl/fl\"); end"]
    lines.append("endmodule")
    (out / "top.sv").write_text("\n".join(lines) + "\n")
    run([verilator, "--lint-only", "-Wall", "fixsim_types.sv", "top.sv"], out)
    # not vacuous: a wrong expectation fails
    (out / "top.sv").write_text("\n".join(lines).replace("!= 16)", "!= 17)", 1) + "\n")
    bad = subprocess.run([verilator, "--lint-only", "fixsim_types.sv", "top.sv"], cwd=out,
                         capture_output=True, text=True)
    assert bad.returncode != 0


AP_STANDIN = """\
#ifndef AP_FIXED_STANDIN
#define AP_FIXED_STANDIN
enum ap_q_mode { AP_RND, AP_RND_ZERO, AP_RND_MIN_INF, AP_RND_INF, AP_RND_CONV, AP_TRN,
                 AP_TRN_ZERO };
enum ap_o_mode { AP_SAT, AP_SAT_ZERO, AP_SAT_SYM, AP_WRAP, AP_WRAP_SM };
template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP, int N = 0>
struct ap_fixed {};
template <int W, int I, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP, int N = 0>
struct ap_ufixed {};
#endif
"""


def test_hls_header_compiles_and_each_typedef_is_the_proposal(exports):
    out, texts, types = exports
    gxx = tool("g++")
    (out / "ap_fixed.h").write_text(AP_STANDIN)
    asserts = []
    for n, t in types.items():
        W, F = t.word_length, t.fraction_length
        tmpl = "ap_fixed" if t.signed else "ap_ufixed"
        asserts.append(f"static_assert(std::is_same<{ident(n)}_t, {tmpl}<{W}, {W - F}, AP_RND,"
                       f" AP_SAT> >::value, \"{ident(n)}\");")
    (out / "check.cpp").write_text("#include <type_traits>\n#include \"types_hls.h\"\n"
                                   + "\n".join(asserts) + "\nint main() { return 0; }\n")
    run([gxx, "-std=c++11", "-fsyntax-only", "-Wall", "-Werror", "-I.", "check.cpp"], out)


def test_c_header_compiles_and_macros_equal_the_proposal(exports):
    out, texts, types = exports
    gcc = tool("gcc")
    body = []
    for n in types:
        i, I_ = ident(n), ident(n).upper()
        body.append(f'  printf("{i} %d %d %d %d %lld %lld %.17g\\n", (int)sizeof({i}_t), '
                    f"(int)(({i}_t)-1 < 0), {I_}_WL, {I_}_FL, (long long){I_}_INT_MIN, "
                    f"(long long){I_}_INT_MAX, {I_}_SCALE);")
        body.append(f'  printf("rt {i} %.17g %.17g\\n", {i}_to_double({i}_from_double(0.3)), '
                    f"{i}_to_double({i}_sat((int64_t)1 << 40)));")
    src = ('#include <stdio.h>\n#include "types.h"\nint main(void) {\n' + "\n".join(body)
           + "\n  return 0;\n}\n")
    (out / "m.c").write_text(src)
    run([gcc, "-std=c99", "-Wall", "-Wextra", "-Werror", "m.c", "-o", "m", "-lm"], out)
    lines = run(["./m"], out).splitlines()
    got = {ln.split()[0]: ln.split()[1:] for ln in lines if not ln.startswith("rt ")}
    rt = {ln.split()[1]: ln.split()[2:] for ln in lines if ln.startswith("rt ")}
    for n, t in types.items():
        size, signed, W, F, imin, imax, scale = got[ident(n)]
        W_, F_ = t.word_length, t.fraction_length
        assert int(size) * 8 == next(b for b in (8, 16, 32, 64) if b >= W_)
        assert bool(int(signed)) == t.signed
        assert (int(W), int(F)) == (W_, F_)
        assert (int(imin), int(imax)) == (t.int_min, t.int_max)
        assert float(scale) == 2.0 ** F_
        q, _ = q_nearest_sat(Fraction(0.3), t)
        assert float(rt[ident(n)][0]) == float(q)
        assert float(rt[ident(n)][1]) == float(Fraction(t.int_max) / 2 ** F_)


def test_exports_of_awkward_names_compile_in_every_language(tmp_path):
    names = ["a-", "_a", "a-_b", "1x", "signal", "A_B", "a.b", "gain.\u00e9", "end", "\u00e9",
             "__", "a_b", "module", "int", "for.loop"]
    T = fx.TypeTable({n: fx.numerictype(i % 2 == 0, 4 + i, i - 3) for i, n in enumerate(names)})
    export(T, "vhdl", tmp_path / "fixsim_types.vhd")
    export(T, "sv", tmp_path / "fixsim_types.sv")
    export(T, "hls", tmp_path / "types_hls.h")
    export(T, "c", tmp_path / "types.h")
    run([tool("ghdl"), "-a", "--std=08", "fixsim_types.vhd"], tmp_path)
    (tmp_path / "top.sv").write_text("module top;\n  import fixsim_types::*;\nendmodule\n")
    run([tool("verilator"), "--lint-only", "-Wall", "fixsim_types.sv", "top.sv"], tmp_path)
    (tmp_path / "ap_fixed.h").write_text(AP_STANDIN)
    (tmp_path / "h.cpp").write_text('#include "types_hls.h"\n')
    run([tool("g++"), "-std=c++11", "-fsyntax-only", "-Wall", "-Werror", "-I.", "h.cpp"],
        tmp_path)
    (tmp_path / "c.c").write_text('#include "types.h"\nint main(void) { return 0; }\n')
    run([tool("gcc"), "-std=c99", "-Wall", "-Wextra", "-Werror", "-c", "c.c"], tmp_path)
    # one declaration per signal, every identifier distinct (VHDL: case-insensitively)
    vh = re.findall(r"subtype (\w+) is", (tmp_path / "fixsim_types.vhd").read_text())
    assert len(vh) == len(names) == len({i.lower() for i in vh})
    for f, pat in (("fixsim_types.sv", r"typedef logic (?:signed )?\[\d+:0\] (\w+);"),
                   ("types.h", r"typedef u?int\d+_t (\w+);")):
        ids = re.findall(pat, (tmp_path / f).read_text())
        assert len(ids) == len(set(ids)) == len(names), f


# --------------------------------------------------------------------------------------------
# atomic writing and clear errors
# --------------------------------------------------------------------------------------------


def test_writes_fail_clearly_and_leave_no_temporary_files(dsp, tmp_path):
    r = dsp["r"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError):
        r.write(tmp_path / "file" / "sub")
    with pytest.raises(ValueError, match="'pdf'"):
        r.write(tmp_path / "fmt", formats=("json", "pdf"))
    assert not (tmp_path / "fmt").exists() or not list((tmp_path / "fmt").iterdir())
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export(dsp["p"], "vhdl", tmp_path / "nope" / "t.vhd")
    # a target that cannot be replaced: the old content stays, no temporary file is left
    (tmp_path / "blocked" / "t.vhd").mkdir(parents=True)
    with pytest.raises(IsADirectoryError):
        export(dsp["p"], "vhdl", tmp_path / "blocked" / "t.vhd")
    assert sorted(p.name for p in (tmp_path / "blocked").iterdir()) == ["t.vhd"]
    (tmp_path / "rep" / "report.json").mkdir(parents=True)
    with pytest.raises(IsADirectoryError):
        r.write(tmp_path / "rep")
    assert not [p for p in (tmp_path / "rep").iterdir() if p.name.endswith(".tmp")]
    # an existing file is replaced whole
    target = tmp_path / "ok.sv"
    target.write_text("old content " * 1000)
    export(dsp["p"], "sv", target)
    assert target.read_text() == export(dsp["p"], "sv")


# --------------------------------------------------------------------------------------------
# a small ONNX network
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def onnx_flow(tmp_path_factory):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from fixsim import nn

    rng = np.random.default_rng(1)
    W0 = (rng.integers(-8, 8, (4, 3)) / 8).astype(np.float32)
    b0 = np.array([0.25, -0.125, 0.0], np.float32)
    W1 = (rng.integers(-8, 8, (3, 2)) / 8).astype(np.float32)
    b1 = np.array([-0.25, 0.375], np.float32)
    inits = [numpy_helper.from_array(W0, "W0"), numpy_helper.from_array(b0, "b0"),
             numpy_helper.from_array(W1, "W1"), numpy_helper.from_array(b1, "b1")]
    mk = helper.make_node
    nodes = [mk("MatMul", ["x", "W0"], ["m0"], name="fc0"),
             mk("Add", ["m0", "b0"], ["z0"], name="fc0_add"),
             mk("Relu", ["z0"], ["a0"], name="relu0"),
             mk("MatMul", ["a0", "W1"], ["m1"], name="fc1"),
             mk("Add", ["m1", "b1"], ["y"], name="fc1_add")]
    g = helper.make_graph(nodes, "tiny",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
                          inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(m)
    out = tmp_path_factory.mktemp("onnx")
    onnx.save(m, str(out / "tiny.onnx"))
    net = nn.load_onnx(str(out / "tiny.onnx"))
    T = net.type_table("double")
    batches = [rng.uniform(-1, 1, (16, 4)) for _ in range(3)]
    rec = fx.tool.collect(net, batches, T)
    der = fx.tool.derive(net, (-1, 1), T, shape=(16, 4))
    p = fx.tool.propose(rec, T, word_length=16, derived=der, source="union")
    v = fx.tool.verify(net, batches, p.types, T)
    r = Report.build(p, rec, v, der, current=T, title="tiny")
    paths = r.write(out / "report")
    return dict(net=net, T=T, batches=batches, W=(W0, b0, W1, b1), rec=rec, der=der, p=p, v=v,
                r=r, out=out, data=json.loads(open(paths["json"]).read()),
                csv=open(paths["csv"]).read(), md=open(paths["md"]).read())


def test_onnx_report_has_every_layer_signal_and_raw_ranges(onnx_flow):
    f = onnx_flow
    names = [s["name"] for s in f["data"]["signals"]]
    assert set(names) == set(f["net"].signals()) == set(f["p"])
    W0, b0, W1, b1 = f["W"]
    x = np.concatenate(f["batches"])
    r = f["r"]
    assert (r["input"]["sim_min"], r["input"]["sim_max"]) == (x.min(), x.max())
    for name, arr in (("fc0.weight", W0), ("fc0.bias", b0), ("fc1.weight", W1),
                      ("fc1.bias", b1)):
        assert (r[name]["sim_min"], r[name]["sim_max"]) == (float(arr.min()), float(arr.max()))
        assert (r[name]["derived_min"], r[name]["derived_max"]) == (float(arr.min()),
                                                                    float(arr.max()))
    z0 = x @ W0.astype(float) + b0
    a0 = np.maximum(z0, 0)
    z1 = a0 @ W1.astype(float) + b1
    for name, arr in (("fc0.out", z0), ("relu0.out", a0), ("fc1.out", z1)):
        assert math.isclose(r[name]["sim_min"], arr.min(), abs_tol=1e-12)
        assert math.isclose(r[name]["sim_max"], arr.max(), abs_tol=1e-12)
    # derived: exact interval bounds of x @ W0 + b0 over x in [-1, 1]^4 (all on a 2^-3 grid)
    hi0 = np.abs(W0).sum(0) + b0
    lo0 = -np.abs(W0).sum(0) + b0
    assert (r["fc0.out"]["derived_min"], r["fc0.out"]["derived_max"]) == (lo0.min(), hi0.max())
    assert (r["relu0.out"]["derived_min"], r["relu0.out"]["derived_max"]) == (
        max(lo0.min(), 0.0), hi0.max())
    a_hi = np.maximum(hi0, 0)
    a_lo = np.maximum(lo0, 0)
    hi1 = (np.where(W1 > 0, W1 * a_hi[:, None], W1 * a_lo[:, None])).sum(0) + b1
    lo1 = (np.where(W1 > 0, W1 * a_lo[:, None], W1 * a_hi[:, None])).sum(0) + b1
    assert (r["fc1.out"]["derived_min"], r["fc1.out"]["derived_max"]) == (lo1.min(), hi1.max())


def test_onnx_verification_recomputed_for_input_and_weights(onnx_flow):
    f = onnx_flow
    r = f["r"]
    t = nt(r, "input")
    x = np.concatenate(f["batches"]).ravel()
    sig = err = Fraction(0)
    mae = Fraction(0)
    for val in x.tolist():
        q, _ = q_nearest_sat(Fraction(val), t)
        e = q - Fraction(val)
        sig += Fraction(val) ** 2
        err += e * e
        mae = max(mae, abs(e))
    assert math.isclose(r["input"]["sqnr_db"], 10 * math.log10(sig / err), abs_tol=1e-9)
    assert math.isclose(r["input"]["max_abs_error"], float(mae), rel_tol=1e-12)
    # weights on a 2^-3 grid are exact in 16 bits: no error, SQNR inf in every format
    for name in ("fc0.weight", "fc1.weight", "fc0.bias", "fc1.bias"):
        assert r[name]["max_abs_error"] == 0.0 and r[name]["sqnr_db"] == "inf"
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(f["csv"]))}
    assert rows["fc0.weight"]["sqnr_db"] == "inf"
    _, mrows = md_table(f["md"])
    assert {m[0]: m[12] for m in mrows}["fc0.weight"] == "inf"
    assert [m[0] for m in mrows] == [s["name"] for s in f["data"]["signals"]]


def test_onnx_exports_compile_with_reserved_and_dotted_names(onnx_flow, tmp_path):
    p = onnx_flow["p"]
    export(p, "vhdl", tmp_path / "fixsim_types.vhd")
    export(p, "sv", tmp_path / "fixsim_types.sv")
    run([tool("ghdl"), "-a", "--std=08", "fixsim_types.vhd"], tmp_path)
    (tmp_path / "top.sv").write_text("module top;\n  import fixsim_types::*;\n"
                                     "  if ($bits(sig_input_t) != 16) begin : c "
                                     "$error(\"w\"); end\nendmodule\n")
    run([tool("verilator"), "--lint-only", "-Wall", "fixsim_types.sv", "top.sv"], tmp_path)
    vh = (tmp_path / "fixsim_types.vhd").read_text()
    for n in p:
        t = p[n].proposed
        W, F = t.word_length, t.fraction_length
        i = ident(n) + "_t"                 # 'input' is reserved in SystemVerilog only
        kind = "sfixed" if t.signed else "ufixed"
        assert f"subtype {i} is {kind}({W - F - 1} downto {-F});" in vh


# --------------------------------------------------------------------------------------------
# 3. fixsim demo: the report against its own recording / proposal / derived files
# --------------------------------------------------------------------------------------------


def test_demo_report_matches_its_saved_recording_proposal_and_derived(tmp_path):
    run([sys.executable, "-m", "fixsim", "demo", "--out", str(tmp_path / "d"), "--quiet"],
        tmp_path)
    d = tmp_path / "d"
    rep = json.loads((d / "report.json").read_text())
    p = fx.tool.Proposal.load(d / "proposal.json")
    rec = fx.tool.Recording.load(d / "recording.json")
    der = fx.tool.DerivedRanges.load(d / "derived.json")
    types = fx.TypeTable.from_json((d / "types.json").read_text())
    assert [s["name"] for s in rep["signals"]] == list(p) and len(p) == 17
    assert fx.TypeTable.from_dict(rep["types"]) == types == p.types
    for s in rep["signals"]:
        n, e, st = s["name"], p[s["name"]], rec[s["name"]]
        assert (s["sim_min"], s["sim_max"]) == tuple(e.simulated) == (st.min, st.max)
        if n in der:
            assert (num(s["derived_min"]), num(s["derived_max"])) == (der[n].lo, der[n].hi)
        else:
            assert s["derived_min"] is None and s["derived_max"] is None
        assert s["proposed"]["name"] == str(e.proposed) == str(types[n].type)
        t = e.proposed
        assert s["proposed"]["lsb"] == 2.0 ** -t.fraction_length
        assert (s["range_min"], s["range_max"]) == tuple(float(b) for b in e.range_used)
        assert s["percent_range_used"] == e.percent_range_used
        assert s["clip_fraction"] == e.clip_fraction
        assert s["overflows_estimated"] == e.overflows
        assert num(s["sqnr_db_estimated"]) == e.sqnr_db
        assert s["count"] == st.count and s["overflows_recorded"] == st.overflows
        assert dict(zip(s["hist_bins"], s["hist_counts"], strict=True)) == st.log2_histogram
        # percent of range used recomputed from the saved extremes
        tmin, tmax = Fraction(s["proposed"]["min"]), Fraction(s["proposed"]["max"])
        terms = [Fraction(st.max) / tmax] if st.max > 0 else []
        if st.min < 0 and tmin < 0:
            terms.append(Fraction(st.min) / tmin)
        assert math.isclose(s["percent_range_used"], float(100 * max(terms)), rel_tol=1e-15)
    rows = list(csv.DictReader(io.StringIO((d / "report.csv").read_text())))
    assert [row["name"] for row in rows] == list(p)
    for row, s in zip(rows, rep["signals"], strict=True):
        assert float(row["sim_max"]) == s["sim_max"] and row["proposed"] == s["proposed"]["name"]
    for fname, pat in (("fixsim_types.vhd", r"subtype (\w+)_t is [su]fixed\((-?\d+) downto "
                                            r"(-?\d+)\)"),):
        decl = re.findall(pat, (d / fname).read_text())
        assert len(decl) == 17
        by_id = {i: (hi, lo) for i, hi, lo in decl}
        assert set(by_id) == {ident(n) for n in p}
        for n in p:
            i = ident(n)
            hi, lo = by_id[i]
            t = p[n].proposed
            assert i == ident(n) and int(lo) == -t.fraction_length
            assert int(hi) == t.word_length - t.fraction_length - 1
    run([tool("ghdl"), "-a", "--std=08", "fixsim_types.vhd"], d)


# --------------------------------------------------------------------------------------------
# bugs: strict xfail reproducers
# --------------------------------------------------------------------------------------------


def _md_first_column(names):
    T = fx.TypeTable({n: "double" for n in names})

    def alg(x, T):
        for n in names:
            T[n](x)
        return x

    rec = fx.tool.collect(alg, [np.array([0.5, -0.25])], T)
    text = Report.build(fx.tool.propose(rec, T, word_length=8), rec).to_markdown()
    table = "\n".join(ln for ln in text.splitlines() if ln.startswith("|"))
    table = table[table.index("| Signal |"):]
    from markdown_it import MarkdownIt  # rich's dependency (the cli extra, in the test extra)
    rendered = MarkdownIt("commonmark").enable("table").render(table)

    class P(HTMLParser):
        def __init__(self):
            super().__init__()
            self.col, self.cells = None, []

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                self.col = -1
            elif tag == "td":
                self.col += 1
                if self.col == 0:
                    self.cells.append("")
            elif self.col == 0:
                self.cells[-1] += f"[element {tag}]"   # the name became markup

        def handle_data(self, data):
            if self.col == 0 and self.cells:
                self.cells[-1] += data

    pp = P()
    pp.feed(rendered)
    return [c.strip() for c in pp.cells], rendered  # without the newline after </td>


def test_bug_markdown_passes_html_in_signal_names_through():
    """Regression (was a strict xfail, fixed): a signal name with '<' was not escaped in the Markdown table: 'a<i>b' rendered as 'a' + an <i> element + 'b'."""
    cells, rendered = _md_first_column(["a<i>b", "ok.sig"])
    assert cells == ["a<i>b", "ok.sig"], (cells, rendered)


def test_bug_markdown_does_not_escape_emphasis_and_backslash_in_signal_names():
    """Regression (was a strict xfail, fixed): Markdown metacharacters of a signal name were not escaped: 'p*q*' rendered as 'p' + emphasis 'q', and 'x\\|y' as 'x|y'."""
    cells, rendered = _md_first_column(["p*q*", "x\\|y"])
    assert cells == ["p*q*", "x\\|y"], (cells, rendered)


def test_html_sqnr_and_percent_shown_with_their_documented_digits(dsp, html_table):
    """Found at review: docs/report.md said every number has 6 significant digits, but the
    % range column has 4 and SQNR one decimal (95.4 for 95.3758); the docs now say so, and
    the exact values are in data-v and the embedded JSON."""
    for (name, cells), s in zip(html_table.rows, dsp["data"]["signals"], strict=True):
        pct = s["percent_range_used"]
        if pct is not None:
            assert float(cells[9][1]) == float(f"{pct:.4g}"), (name, cells[9])
        q = num(s["sqnr_db"])
        if q is not None and not math.isinf(q):
            assert float(cells[12][1].lstrip("~")) == round(q, 1), (name, cells[12])


def test_bug_unbounded_warning_claims_simulation_backs_a_design_range_type(dsp):
    """Regression (was a strict xfail, fixed): the 'unbounded' warning of a signal whose type comes from a design range said 'only the simulated range backs its type'."""
    w = next(w for w in dsp["data"]["warnings"] if w["kind"] == "unbounded")
    assert dsp["r"]["q.r"]["source"] == "design"
    assert "only the simulated range backs" not in w["message"], w["message"]
