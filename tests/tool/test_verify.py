"""verify: fixed against double per signal; the record -> propose -> verify flow on a DSP chain."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.signal as ss

from fixsim import fi, numerictype
from fixsim._core._typetable import TypeTable
from fixsim.tool import Recording, SignalStats, Verification, collect, propose, verify

H = ss.firwin(31, 0.2)
B, A = ss.butter(2, 0.1)
NAMES = ["x", "fir.acc", "fir.y", "iir.y", "out"]


def chain(x, T):
    """A FIR then a biquad, written with type-table casts (frame by frame, no state)."""
    x = T.x(x)
    acc = T["fir.acc"](np.convolve(np.asarray(x, dtype=np.float64), H)[:len(x)])
    y1 = T["fir.y"](acc)
    y2 = T["iir.y"](ss.lfilter(B, A, np.asarray(y1, dtype=np.float64)))
    return T.out(y2 * 0.5)


def _frames(n=8, size=400, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, size) * rng.uniform(0.2, 1.0) for _ in range(n)]


def _sqnr(d: np.ndarray, e: np.ndarray) -> float:
    num = sum((Fraction(v) ** 2 for v in d.tolist()), Fraction(0))
    den = sum((Fraction(v) ** 2 for v in e.tolist()), Fraction(0))
    return 10 * math.log10(float(num / den))


def test_record_propose_verify_on_a_dsp_chain():
    T = TypeTable({n: "double" for n in NAMES})
    frames = _frames()
    rec = collect(chain, frames, T)
    p = propose(rec, T, word_length=16)
    Tf = p.types
    assert all(isinstance(Tf.type_of(n), numerictype) for n in NAMES)
    v = verify(chain, frames, Tf)
    assert isinstance(v, Verification) and list(v) == NAMES
    assert v.overflows == 0 and all(v[n].overflows == 0 for n in NAMES)
    assert all(v[n].first_overflow is None for n in NAMES)
    # recompute the output's and an internal signal's SQNR from the two runs here
    fixed = [chain(f, Tf) for f in frames]
    double = [chain(f, T) for f in frames]
    d = np.concatenate(double)
    e = np.concatenate([a.data for a in fixed]) - d
    assert v.output_sqnr_db == _sqnr(d, e) == v.outputs["output"].sqnr_db
    assert v.outputs["output"].max_abs_error == float(np.max(np.abs(e)))
    xs = [fi(f, Tf.type_of("x")) for f in frames]
    y1f = np.concatenate([fi(np.convolve(x.data, H)[:x.size], Tf.type_of("fir.acc"))
                          .cast(Tf.type_of("fir.y")).data for x in xs])
    y1d = np.concatenate([np.convolve(f, H)[:f.size] for f in frames])
    assert v["fir.y"].sqnr_db == _sqnr(y1d, y1f - y1d)
    assert v["fir.y"].count == y1d.size and 60 < v["fir.y"].sqnr_db < 100
    assert v.fixed["out"].numerictype == str(Tf.type_of("out"))
    assert v.double["out"].count == d.size and v.double["out"].overflows == 0


def test_overflow_counts_and_first_sample():
    T = TypeTable({"x": "sfix8_En6", "y": "double"})  # [-2, 2): some inputs overflow

    def fn(x, T):
        return T.y(T.x(x))

    frames = [np.array([0.5, 1.0, -0.25]), np.array([0.1, 2.5, -3.0, 1e-4, 0.0]),
              np.array([5.0])]
    v = verify(fn, frames, T, max_samples=4)
    flat = np.concatenate(frames)
    assert v["x"].overflows == int(np.sum((flat >= 2) | (flat < -2))) == 3
    assert v["x"].first_overflow == 4 and v["x"].underflows == 1
    assert v["x"].first_underflow == 6
    assert v["x"].error.size == 4 and v["x"].count == flat.size
    q = np.clip(np.floor(flat * 64 + 0.5), -128, 127) / 64  # nearest, saturate
    np.testing.assert_array_equal(v["x"].error, (q - flat)[:4])
    assert v["x"].max_abs_error == float(np.max(np.abs(q - flat)))
    assert v["x"].rms_error == pytest.approx(float(np.sqrt(np.mean((q - flat) ** 2))),
                                             rel=1e-15)
    assert v["y"].numerictype is None and v["y"].overflows == 0
    rows = v.to_rows()
    assert [r["name"] for r in rows] == ["x", "y", "output"]
    assert rows[0]["overflows"] == 3 and rows[2]["kind"] == "output"
    assert "3 overflows" in repr(v)
    d = json.loads(json.dumps(v.to_dict()))
    assert d["schema"] == "fixsim.Verification/1" and d["rows"][0]["overflows"] == 3
    assert d["errors"]["x"] == v["x"].error.tolist()
    assert Recording.from_dict(d["fixed"]) == v.fixed


def test_mismatched_runs_and_bad_inputs():
    T = TypeTable({"x": "sfix8_En6", "y": "sfix8_En6"})

    def only_fixed(x, T):
        x = T.x(x)
        return T.y(x) if isinstance(x, fi) else x

    with pytest.raises(ValueError, match="signal 'y' was probed only in the fixed run"):
        verify(only_fixed, [np.zeros(3)], T)
    with pytest.raises(ValueError, match="inputs is a 0-D array"):
        verify(chain, np.array(1.0), T)
    with pytest.raises(TypeError, match="T_fixed must be a TypeTable"):
        verify(chain, [np.zeros(4)], None)
    with pytest.raises(TypeError, match="fn must be callable"):
        verify(3, [np.zeros(4)], T)
    # regression (independent review): no inputs gave an empty verification, 0 overflows
    for empty in ([], iter(()), np.zeros((0, 4))):
        with pytest.raises(ValueError, match="verify: inputs is empty"):
            verify(chain, empty, T)


def test_reference_table_or_reference_algorithm():
    """``reference=``: a TypeTable is the reference table (as T_double); a callable is a
    golden double model run in place of fn for the double run."""
    T = TypeTable({"x": "sfix16_En14", "y": "sfix16_En13"})
    x = np.linspace(-1, 1, 257)

    def gain(v, T):
        return T.y(T.x(v) * 1.5)

    base = verify(gain, [x], T)
    same = verify(gain, [x], T, reference=T.as_double())
    for name in ("x", "y"):
        assert same[name].max_abs_error == base[name].max_abs_error
        assert same[name].sqnr_db == base[name].sqnr_db
    # a golden model that differs from the algorithm: the errors are against it
    def golden(v, T):
        return T.y(T.x(v) * 1.5 + 0.001)

    g = verify(gain, [x], T, reference=golden)
    yf = np.asarray(fi(x, 1, 16, 14) * 1.5, dtype=np.float64)
    yf = np.asarray(fi(yf, 1, 16, 13), dtype=np.float64)
    e = yf - (x * 1.5 + 0.001)
    assert g["y"].max_abs_error == float(np.max(np.abs(e)))
    assert g["x"].max_abs_error == base["x"].max_abs_error
    with pytest.raises(TypeError, match="as T_double or as reference=, not both"):
        verify(gain, [x], T, T.as_double(), reference=T.as_double())
    with pytest.raises(TypeError, match="reference must be a TypeTable .* got int"):
        verify(gain, [x], T, reference=3)


def test_sqnr_of_a_ratio_beyond_the_float_range():
    # regression: sqnr_db took log10(float(ratio)), which raised OverflowError above 1.8e308
    # and ValueError (log of 0.0) below the subnormals; the ratio is exact, and so is its size
    from fixsim.tool._verify import SignalVerification

    one, tiny = SignalStats().update([1.0]), SignalStats().update([1e-200])
    big = SignalVerification("x", None, count=1, reference=one, error_stats=tiny)
    small = SignalVerification("x", None, count=1, reference=tiny, error_stats=one)
    q = Fraction(1e-200) ** -2  # the exact ratio (above 1e399)
    exact = 10 * (math.log10(q.numerator) - math.log10(q.denominator))
    assert math.isclose(big.sqnr_db, exact, rel_tol=1e-12) and big.sqnr_db > 3990
    assert math.isclose(small.sqnr_db, -exact, rel_tol=1e-12)
