"""The blocks' internal signals recorded as extremes (``record(internals='extremes')``, the
default) against the same signals recorded value by value (``internals='values'``, whose
values ``test_emission.py`` checks bit by bit against the term-by-term reference).

For every internal signal the counts, zeros, extremes, whole-number flag and overflow and
underflow counts must be equal, with no value built (the events carry extremes, not values);
every other signal (inputs, outputs, coefficients) must be recorded identically.
"""

from __future__ import annotations

import numpy as np
import pytest

import fixsim as fx
from fixsim import fi
from fixsim._core._typetable import signal_listening
from fixsim.signal import FIR, FIRDecimator, FIRInterpolator, SOSFilter

from .test_emission import FIXED_TYPES, SOS, SOS_TYPES, SPLITS, _frames, _taps, _x

INTERNAL = ("preadd", "product", "acc", "state", "section")


def _seen(event) -> None:
    _seen.events.append(event)


_seen.events = []
_seen.takes_extremes = True
_seen.reads_stored = True


def _record(make, frames, internals: str):
    blk = make()
    outs = []
    with fx.tool.record(internals=internals) as rec:
        for f in frames:
            outs.append(blk(f))
    return rec, outs


def _fields(s):
    return (s.count, s.nan_count, s.inf_count, s.zeros, s.min, s.max, s.whole, s.overflows,
            s.underflows, s.numerictype)


def check_extremes(make, frames, extremes_only: bool = True):
    """Record with both settings; compare as described in the module notes (with
    *extremes_only* False, a frame with values that are not all finite may build them)."""
    rv, out_v = _record(make, frames, "values")
    re_, out_e = _record(make, frames, "extremes")
    for a, b in zip(out_v, out_e, strict=True):
        assert np.array_equal(np.asarray(a.int if isinstance(a, fi) else a),
                              np.asarray(b.int if isinstance(b, fi) else b), equal_nan=True)
    assert rv.names == re_.names
    internal = [n for n in rv.names if n.rsplit(".", 1)[1] in INTERNAL]
    for name in rv.names:
        sv, se = rv[name], re_[name]
        if name in internal:
            assert se.detail == "extremes", name
            assert _fields(se) == _fields(sv), name
        else:
            assert se == sv, name
            assert se.detail == "full", name
    # the block built no values for them: a listener taking extremes sees none
    blk = make()
    _seen.events = []
    with signal_listening(_seen):
        for f in frames:
            blk(f)
    ext = {e.name for e in _seen.events if e.extremes is not None}
    assert ext == set(internal)
    assert all(e.values is None for e in _seen.events if e.extremes is not None)
    if extremes_only:
        assert not any(e.values is not None for e in _seen.events
                       if e.name.rsplit(".", 1)[1] in INTERNAL)
    return re_


@pytest.mark.parametrize("form", ["direct", "transposed", "symmetric", "antisymmetric"])
@pytest.mark.parametrize("nt", [1, 2, 7, 12])
@pytest.mark.parametrize("split", SPLITS)
def test_fir_double(form, nt, split):
    h = _taps(form, nt)
    check_extremes(lambda: FIR(h, name="f", form=form), _frames(_x(), split))


@pytest.mark.parametrize("form", ["direct", "transposed", "symmetric", "antisymmetric"])
@pytest.mark.parametrize("nt", [1, 6, 9])
@pytest.mark.parametrize("kw", FIXED_TYPES)
@pytest.mark.parametrize("split", SPLITS)
def test_fir_fixed(form, nt, kw, split):
    h = _taps(form, nt)
    kw = dict(kw)
    if form not in ("symmetric", "antisymmetric"):
        kw.pop("preadd_type", None)
    rec = check_extremes(lambda: FIR(h, name="f", form=form, coef_type="sfix12_En10", **kw),
                         _frames(fi(_x(), 1, 12, 11), split))
    if kw and nt > 1:
        assert rec["f.acc"].overflows + rec["f.product"].overflows > 0


def test_fir_whole_numbers_and_zeros():
    """Integer samples and coefficients: every product and sum is whole; zero samples give
    zero products (the whole-number flag and the zero count, not only the extremes)."""
    x = np.array([0, 3, -2, 0, 0, 5, 1, -7, 0, 4] * 7, dtype=float)
    rec = check_extremes(lambda: FIR([2.0, -1.0, 0.0, 3.0], name="f"), [x[:13], x[13:]])
    assert rec["f.product"].whole and rec["f.acc"].whole
    assert rec["f.product"].zeros > 0
    x[5] = 0.5
    rec = check_extremes(lambda: FIR([2.0, -1.0, 0.0, 3.0], name="f"), [x])
    assert not rec["f.product"].whole


@pytest.mark.parametrize("kw", FIXED_TYPES[1:] + [{}])
@pytest.mark.parametrize("split", SPLITS)
def test_fir_decimator(kw, split):
    kw = {k: v for k, v in kw.items() if k != "preadd_type"}
    h = _taps("direct", 11)
    check_extremes(lambda: FIRDecimator(3, h, name="d", coef_type="sfix12_En10", **kw),
                   _frames(fi(_x(), 1, 12, 11), split))
    check_extremes(lambda: FIRDecimator(3, h, name="d"), _frames(_x(), split))


@pytest.mark.parametrize("factor", [1, 3, 5])
@pytest.mark.parametrize("split", SPLITS)
def test_fir_interpolator(factor, split):
    h = _taps("direct", 11)
    kw = {"product_type": "sfix12_En10", "acc_type": "sfix14_En10"}
    check_extremes(lambda: FIRInterpolator(factor, h, name="i", coef_type="sfix12_En10", **kw),
                   _frames(fi(_x(), 1, 12, 11), split))
    check_extremes(lambda: FIRInterpolator(factor, h, name="i"), _frames(_x(), split))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("split", [[10, 51], [61]])
def test_nonfinite_double(split):
    """A frame with inf or NaN: its values are built (the compiled pass needs finite ones)
    and summarised into the same 'extremes' statistic, NaNs and infinities counted."""
    x = _x()
    x[[3, 20, 21]] = [np.inf, -np.inf, np.nan]
    rec = check_extremes(lambda: FIR(_taps("antisymmetric", 8), name="f", form="antisymmetric"),
                         _frames(x, split), extremes_only=False)
    assert rec["f.acc"].nan_count > 0 and rec["f.product"].inf_count > 0
    rec = check_extremes(lambda: SOSFilter(SOS, name="s", form="df2t"), _frames(x, split),
                         extremes_only=False)
    assert rec["s.state"].nan_count > 0


@pytest.mark.parametrize("form", ["df1", "df2t"])
@pytest.mark.parametrize("split", SPLITS)
def test_sos_double(form, split):
    check_extremes(lambda: SOSFilter(SOS, name="s", form=form), _frames(_x(), split))


@pytest.mark.parametrize("form", ["df1", "df2t"])
@pytest.mark.parametrize("kw", SOS_TYPES)
@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("nsec", [1, 3])
def test_sos_fixed(form, kw, split, nsec):
    check_extremes(lambda: SOSFilter(SOS[:nsec], name="s", form=form, **kw),
                   _frames(fi(_x(), 1, 12, 11), split))


def test_another_listener_gets_values():
    """While a listener that does not take extremes is active (verify's), the blocks build
    every value, so a recorder beside it records them in full."""
    blk = FIR(_taps("direct", 5), name="f")
    events = []
    with fx.tool.record() as rec, signal_listening(events.append):
        blk(_x())
    assert rec["f.product"].detail == "full"
    assert all(e.extremes is None and e.values is not None for e in events)
