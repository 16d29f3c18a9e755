"""The blocks' signal emission (what the fixed-point tool records) against the term-by-term
numpy emission it replaced: every value bit-identical, every recording equal.

The reference functions below are the former ``_emit`` methods of ``FIR``, ``SOSFilter`` and
``FIRInterpolator`` (one event per tap, per section and per term), kept verbatim as the slow
reference. A twin block runs them in place of its own ``_emit``; the two recordings must be
equal (exact statistics and overflow counts), and the values of each signal, concatenated in
event order, bit-identical.
"""

from __future__ import annotations

import types

import numpy as np
import pytest
from scipy import signal

import fixsim as fx
from fixsim import fi
from fixsim._core._typetable import signal_listening
from fixsim.signal import FIR, NCO, FIRDecimator, FIRInterpolator, SOSFilter, _biquad, _fir
from fixsim.signal._block import probe
from fixsim.tool import Recording, SignalStats


# -- the former emission, verbatim (the slow reference) ----------------------------------------
def ref_fir_emit(self, mode: str, xe, start, step, count, hv, xv, accv, output, counts) -> None:
    """``FIR._emit`` before the compiled emission: two or three events per tap."""
    name, t = self.name, self._t if mode == "fixed" else {}

    def T(k, explicit):
        return t.get(k, explicit)

    def cnt(k):
        return counts.get(k, (0, 0))

    probe(f"{name}.coef", self.coefs, self.quantized_coefs,
          T("coef", self.coef_type if mode == "fixed" else self.coef_type_arg), mode,
          *self._coef_counts[1:])
    probe(f"{name}.in", xv, xv, T("input", self.input_type), mode)
    nt = self.ntaps
    last = step * (count - 1) + 1 if count else 0

    def at(k):  # x[m - k] at every output position m
        return xe[start - k: start - k + last: step] if count else np.zeros(0)

    order = self._term_order()
    run = np.zeros(count)
    for i, k in enumerate(order):
        fin = i == len(order) - 1
        if self._sign:
            if k < nt // 2:
                pre = at(k) + self._sign * at(nt - 1 - k)
            else:
                pre = at(k)
            c = cnt("preadd") if fin else (0, 0)
            probe(f"{name}.preadd", pre, None, T("preadd", self.preadd_type), mode, *c)
            term = hv[k] * pre
        else:
            term = hv[k] * at(k)
        c = cnt("product") if fin else (0, 0)
        probe(f"{name}.product", term, None, T("product", self.product_type), mode, *c)
        # every product is cast into the accumulator type too (a later fix: the accumulator
        # reports the products with its running sums)
        probe(f"{name}.acc", term, None, T("acc", self.acc_type), mode)
        run = run + term
        c = cnt("acc") if fin else (0, 0)
        probe(f"{name}.acc", run, None, T("acc", self.acc_type), mode, *c)
    probe(f"{name}.out", accv, output, T("out", self.output_type), mode, *cnt("out"))


def ref_interp_emit(self, mode, ext, hv, xin, accv, output, counts) -> None:
    """``FIRInterpolator._emit_interp`` before the compiled emission."""
    name, t = self.name, (self._t if mode == "fixed" else {})
    zero = (0, 0)
    L, nb = self.factor, self._nhist
    n = ext.shape[0] - nb
    probe(f"{name}.coef", self.coefs, self.quantized_coefs,
          t.get("coef", self.coef_type), mode, *self._coef_counts[1:])
    probe(f"{name}.in", xin, xin, t.get("input", self.input_type), mode)
    for p in range(min(L, self.ntaps)):
        run = np.zeros(n)
        ks = list(range(p, self.ntaps, L))
        for j, k in enumerate(ks):
            term = hv[k] * ext[nb - j: nb - j + n]
            fin = p == min(L, self.ntaps) - 1 and j == len(ks) - 1
            probe(f"{name}.product", term, None, t.get("product", self.product_type), mode,
                  *(tuple(counts.get("product", zero)) if fin else zero))
            probe(f"{name}.acc", term, None, t.get("acc", self.acc_type), mode)
            run = run + term
            probe(f"{name}.acc", run, None, t.get("acc", self.acc_type), mode,
                  *(tuple(counts.get("acc", zero)) if fin else zero))
    probe(f"{name}.out", accv, output, t.get("out", self.output_type), mode,
          *counts.get("out", zero))


def ref_sos_emit(self, mode, sos, xin, U, Y, output, counts) -> None:
    """``SOSFilter._emit`` before the compiled emission: ~11 events per section."""
    name = self.name
    t = self._t if mode == "fixed" else {}
    zero = (0, 0)

    def c(k):
        return tuple(int(v) for v in counts.get(k, zero))

    Tb = t.get("num_coef", self.num_coef_type)
    Ta = t.get("den_coef", self.den_coef_type)
    probe(f"{name}.num_coef", self.sos[:, 0:3].ravel(), None, Tb, mode,
          *self._coef_counts[0][1][1:])
    probe(f"{name}.den_coef", self.sos[:, 4:6].ravel(), None, Ta, mode,
          *self._coef_counts[1][1][1:])
    probe(f"{name}.in", xin, U[:, 0] if U.size else U, t.get("section", self.section_type),
          mode, *c("in"), tied=(f"{name}.in", f"{name}.section"))  # (a later fix)
    n, L = U.shape
    Tp = t.get("num_product", self.product_type_arg[0])
    TA = t.get("acc", self.acc_type)
    TZ = t.get("state", self.state_type)
    TS = t.get("section", self.section_type)
    prev = self._prev
    for s in range(L):
        b0, b1, b2, _, a1, a2 = sos[s]
        u = U[:, s]
        y = Y[:, s]
        u1 = np.concatenate([[prev[s, 0]], u[:-1]]) if n else u
        u2 = np.concatenate([[prev[s, 1], prev[s, 0]], u[:-2]])[:n] if n else u
        y1 = np.concatenate([[prev[s, 2]], y[:-1]]) if n else y
        y2 = np.concatenate([[prev[s, 3], prev[s, 2]], y[:-2]])[:n] if n else y
        fin = s == L - 1
        if self.form == "df1":
            terms = [b0 * u, b1 * u1, b2 * u2, -a1 * y1, -a2 * y2]
            run = np.zeros(n)
            for k, term in enumerate(terms):
                probe(f"{name}.product", term, None, Tp, mode,
                      *(c("product") if fin and k == 4 else zero))
                probe(f"{name}.acc", term, None, TA, mode)
                run = run + term
                probe(f"{name}.acc", run, None, TA, mode,
                      *(c("acc") if fin and k == 4 else zero))
            sec = run
        else:
            z2 = b2 * u - a2 * y
            z2p = np.concatenate([[b2 * prev[s, 0] - a2 * prev[s, 2]], z2[:-1]]) if n \
                else z2
            z1 = b1 * u + z2p - a1 * y
            for k, term in enumerate([b0 * u, b1 * u, a1 * y, b2 * u, a2 * y]):
                probe(f"{name}.product", term, None, Tp, mode,
                      *(c("product") if fin and k == 4 else zero))
                probe(f"{name}.acc", term, None, TA, mode)
            sec = y - 0.0 if n == 0 else b0 * u + (z1 - b1 * u - z2p + a1 * y) * 0 + (
                np.concatenate([[b1 * prev[s, 0] + (b2 * prev[s, 1] - a2 * prev[s, 3])
                                 - a1 * prev[s, 2]], z1[:-1]]))
            for k, v in enumerate([sec, b1 * u + z2p, z1, z2]):
                probe(f"{name}.acc", v, None, TA, mode,
                      *(c("acc") if fin and k == 3 else zero))
            probe(f"{name}.state", np.concatenate([z1, z2]), None, TZ, mode,
                  *(c("state") if fin else zero))
        probe(f"{name}.section", sec, y, TS, mode, *(c("section") if fin else zero))
        if n >= 2:
            prev[s] = [u[-1], u[-2], y[-1], y[-2]]
        elif n == 1:
            prev[s] = [u[-1], prev[s, 0], y[-1], prev[s, 2]]
    last = Y[:, -1] if L else np.zeros(0)
    probe(f"{name}.out", last, output, t.get("out", self.output_type), mode, *c("out"))


# -- running and comparing ---------------------------------------------------------------------
def _run(blk, frames):
    """Run *blk* from reset over *frames*, recording; ``(recording, events, outputs)``."""
    blk.reset()
    events = []
    outs = []
    with fx.tool.record(internals="values") as rec, signal_listening(events.append):
        for f in frames:
            outs.append(blk(f))
    return rec, events, outs


def _by_name(events):
    """Per signal: the concatenated values, the summed counts, the event count and types."""
    out = {}
    for e in events:
        vals, o, u, n, ts = out.get(e.name, ([], 0, 0, 0, set()))
        vals.append(np.asarray(e.values, dtype=np.float64).ravel())
        ts.add(str(e.numerictype))
        out[e.name] = (vals, o + e.overflows, u + e.underflows, n + 1, ts)
    return {k: (np.concatenate(v[0]) if v[0] else np.zeros(0), *v[1:]) for k, v in out.items()}


def _stats_of(events) -> Recording:
    """A recording built by feeding the events' values into :class:`SignalStats`."""
    stats: dict[str, SignalStats] = {}
    tied = []
    for e in events:
        s = stats.setdefault(e.name, SignalStats(e.name))
        s.update(e.values, e.overflows, e.underflows, e.numerictype)
        if e.tied is not None and e.tied not in tied:
            tied.append(e.tied)
    rec = Recording(stats, internals="values")
    rec.tied = tied
    return rec


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit-identical values, except that any NaN equals any NaN: which operand's NaN an
    operation passes on (its sign and payload) depends on the operand order the compiler picks
    for a commutative operation; the statistics only count NaNs."""
    if a.shape != b.shape:
        return False
    na, nb_ = np.isnan(a), np.isnan(b)
    return bool(np.array_equal(na, nb_)) and a[~na].tobytes() == b[~nb_].tobytes()


def check_same(make, frames, ref_method: str, ref_fn, *, fewer: bool = True):
    """Run a block made by *make* with its own emission and a twin with *ref_fn* in place of
    method *ref_method*: equal outputs, recordings and bit-identical values per signal."""
    new = make()
    old = make()
    setattr(old, ref_method, types.MethodType(ref_fn, old))
    rec_new, ev_new, out_new = _run(new, frames)
    rec_old, ev_old, out_old = _run(old, frames)
    for a, b in zip(out_new, out_old, strict=True):
        if isinstance(a, fi):
            assert a.numerictype == b.numerictype
            assert np.array_equal(a.int, b.int)
        else:
            assert _same_bits(np.asarray(a), np.asarray(b))
    assert rec_new == rec_old
    assert rec_new == _stats_of(ev_old)
    assert rec_new.names == rec_old.names
    got, want = _by_name(ev_new), _by_name(ev_old)
    assert list(got) == list(want)  # the same signals, first reported in the same order
    for name in want:
        g, w = got[name], want[name]
        if name.endswith(".acc"):  # the products, then the sums: another order, same values
            # (+ 0.0: sorting leaves -0.0 and 0.0 in either order)
            assert _same_bits(np.sort(g[0]) + 0.0, np.sort(w[0]) + 0.0), name
        else:
            assert _same_bits(g[0], w[0]), name
        assert g[1:3] == w[1:3], name  # overflow and underflow totals
        assert g[4] == w[4], name  # types
        if fewer:
            assert g[3] <= len(frames), name  # one event per frame
    return rec_new, ev_new


SPLITS = [[61], [1, 0, 2, 3, 17, 38], [5] * 12 + [1]]


def _frames(x, split):
    out, i = [], 0
    for n in split:
        out.append(x[i:i + n])
        i += n
    return out


def _x(n=61, seed=0):
    rng = np.random.default_rng(seed)
    return np.clip(rng.standard_normal(n) * 0.6, -1, 0.999)


# -- FIR ---------------------------------------------------------------------------------------
def _taps(form, nt):
    h = signal.firwin(nt, 0.3) * 1.7
    if form == "antisymmetric":
        h = np.linspace(-0.9, 0.6, nt) ** 3
        h = h - h[::-1]
        if nt % 2:
            h[nt // 2] = 0.0
    return h


@pytest.mark.parametrize("form", ["direct", "transposed", "symmetric", "antisymmetric"])
@pytest.mark.parametrize("nt", [1, 2, 7, 12])
@pytest.mark.parametrize("split", SPLITS)
def test_fir_double(form, nt, split):
    h = _taps(form, nt)
    frames = _frames(_x(), split)
    check_same(lambda: FIR(h, name="f", form=form), frames, "_emit", ref_fir_emit)


FIXED_TYPES = [
    {},  # full precision (the exact path)
    {"product_type": "sfix9_En9", "acc_type": "sfix11_En10", "preadd_type": "sfix10_En9",
     "output_type": "sfix10_En8"},  # narrow: overflows and rounding (the per-sample path)
]


@pytest.mark.parametrize("form", ["direct", "transposed", "symmetric", "antisymmetric"])
@pytest.mark.parametrize("nt", [1, 6, 9])
@pytest.mark.parametrize("kw", FIXED_TYPES)
@pytest.mark.parametrize("split", SPLITS)
def test_fir_fixed(form, nt, kw, split):
    h = _taps(form, nt)
    kw = dict(kw)
    if form not in ("symmetric", "antisymmetric"):
        kw.pop("preadd_type", None)
    frames = _frames(fi(_x(), 1, 12, 11), split)
    rec, _ = check_same(lambda: FIR(h, name="f", form=form, coef_type="sfix12_En10",
                                    **kw), frames, "_emit", ref_fir_emit)
    if kw and nt > 1:
        assert rec["f.acc"].overflows + rec["f.product"].overflows > 0


@pytest.mark.parametrize("kw", FIXED_TYPES[1:] + [{}])
@pytest.mark.parametrize("split", SPLITS)
def test_fir_decimator(kw, split):
    kw = {k: v for k, v in kw.items() if k != "preadd_type"}
    h = _taps("direct", 11)
    frames = _frames(fi(_x(), 1, 12, 11), split)
    check_same(lambda: FIRDecimator(3, h, name="d", coef_type="sfix12_En10", **kw), frames,
               "_emit", ref_fir_emit)
    check_same(lambda: FIRDecimator(3, h, name="d"), _frames(_x(), split), "_emit",
               ref_fir_emit)


@pytest.mark.parametrize("factor", [1, 3, 5, 13])
@pytest.mark.parametrize("split", SPLITS)
def test_fir_interpolator(factor, split):
    h = _taps("direct", 11)
    kw = {"product_type": "sfix12_En10", "acc_type": "sfix14_En10"}
    check_same(lambda: FIRInterpolator(factor, h, name="i", coef_type="sfix12_En10", **kw),
               _frames(fi(_x(), 1, 12, 11), split), "_emit_interp", ref_interp_emit)
    check_same(lambda: FIRInterpolator(factor, h, name="i"), _frames(_x(), split),
               "_emit_interp", ref_interp_emit)


def test_fir_chunked_events(monkeypatch):
    """A frame longer than the chunk is reported in several events of whole taps: the same
    values and recording."""
    monkeypatch.setattr(_fir, "_EMIT_CHUNK", 50)
    h = _taps("symmetric", 9)
    frames = _frames(fi(_x(), 1, 12, 11), [61])
    kw = FIXED_TYPES[1]
    _, ev = check_same(lambda: FIR(h, name="f", form="symmetric", coef_type="sfix12_En10",
                                   **kw), frames, "_emit", ref_fir_emit, fewer=False)
    assert sum(e.name == "f.product" for e in ev) == 5  # 5 terms, one per 61-sample event


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_fir_nonfinite_double():
    """inf and NaN go through the same operations (inf - inf = NaN included)."""
    x = _x()
    x[[3, 20, 21]] = [np.inf, -np.inf, np.nan]
    check_same(lambda: FIR(_taps("antisymmetric", 8), name="f", form="antisymmetric"),
               _frames(x, [10, 51]), "_emit", ref_fir_emit)


# -- SOSFilter -------------------------------------------------------------------------------------
SOS = signal.butter(5, 0.15, output="sos")  # three sections
SOS_TYPES = [
    {},
    {"section_type": "sfix12_En10", "acc_type": "sfix13_En10", "product_type": "sfix11_En11",
     "state_type": "sfix14_En11", "output_type": "sfix10_En8"},  # narrow: overflows
]


@pytest.mark.parametrize("form", ["df1", "df2t"])
@pytest.mark.parametrize("split", SPLITS)
def test_sos_double(form, split):
    check_same(lambda: SOSFilter(SOS, name="s", form=form), _frames(_x() * 0.9, split),
               "_emit", ref_sos_emit)


@pytest.mark.parametrize("form", ["df1", "df2t"])
@pytest.mark.parametrize("kw", SOS_TYPES)
@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("nsec", [1, 3])
def test_sos_fixed(form, kw, split, nsec):
    kw = {k: v for k, v in kw.items() if not (k == "state_type" and form == "df1")}
    frames = _frames(fi(_x() * 0.9, 1, 12, 11), split)
    rec, _ = check_same(lambda: SOSFilter(SOS[3 - nsec:] * [4, 4, 4, 1, 1, 1], name="s", form=form,
                                          **kw), frames, "_emit", ref_sos_emit)
    if kw:
        assert sum(rec[f"s.{k}"].overflows for k in ("product", "acc", "section")) > 0


def test_sos_chunked_events(monkeypatch):
    monkeypatch.setattr(_biquad, "_EMIT_CHUNK", 5 * 61)  # one section per event
    for form in ("df1", "df2t"):
        _, ev = check_same(lambda form=form: SOSFilter(SOS, name="s", form=form, **SOS_TYPES[1]),
                           _frames(fi(_x() * 0.9, 1, 12, 11), [61]), "_emit", ref_sos_emit,
                           fewer=False)
        assert sum(e.name == "s.section" for e in ev) == 3


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_sos_nonfinite_double():
    x = _x() * 0.9
    x[[4, 30]] = [np.inf, np.nan]
    for form in ("df1", "df2t"):
        check_same(lambda form=form: SOSFilter(SOS, name="s", form=form), _frames(x, [2, 59]),
                   "_emit", ref_sos_emit)


@pytest.mark.parametrize("split", SPLITS)
def test_sosfilt_cascade_is_its_sections(split):
    """The double mode takes the cascade's output as its last section's output (instead of
    running that section again): ``sosfilt`` of the cascade gives the bits of its sections run
    one after the other, frame by frame with carried state."""
    x = _x() * 0.9
    zi = np.zeros((SOS.shape[0], 2))
    zs = np.zeros((SOS.shape[0], 2))
    for f in _frames(x, split):
        if f.size == 0:  # the block returns before filtering
            continue
        y, zi = signal.sosfilt(SOS, f, zi=zi)
        u = f
        for s in range(SOS.shape[0]):
            u, zs[s:s + 1] = signal.sosfilt(SOS[s:s + 1], u, zi=zs[s:s + 1])
        assert _same_bits(y, u)


# -- NCO ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("W, Q, lut", [(16, 8, "quarter"), (24, 14, "full"), (20, 16, "quarter"),
                                       (24, 18, "quarter")])
@pytest.mark.parametrize("split", [[3, 1000, 0, 1, 20000], [5000]])
def test_nco_ideal_values(W, Q, lut, split):
    """The ideal sine and cosine the fixed NCO reports (from a cached table for short
    addresses): bit-identical to the expression evaluated per sample."""
    nco = NCO(12345, accumulator_word_length=W, quantizer_bits=Q, lut=lut, waveform="sincos",
              dither_bits=2, name="lo")
    for n in split:
        events = []
        with signal_listening(events.append):
            nco(n)
        by = {e.name: e for e in events}
        ph = np.round(by["lo.phase"].values * 2.0 ** W).astype(np.uint64)
        q = (ph >> np.uint64(W - Q)).astype(np.float64)
        for nm, shift in (("sin", 0.0), ("cos", 0.25)):
            want = np.sin(2 * np.pi * (q / 2.0 ** Q + shift))
            assert _same_bits(by[f"lo.{nm}"].values, want)
