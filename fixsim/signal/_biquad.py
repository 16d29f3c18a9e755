"""Biquad cascades (second-order sections), direct form I and direct form II transposed, in
double and in fixed point (as MATLAB's ``dsp.SOSFilter`` / ``dsp.BiquadFilter``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
from scipy import signal as _sps

from .._core._fi import fi, make_fi
from .._core._interval import Interval, cast_pairs
from .._core._modes import Overflow, Rounding
from .._core._numerictype import numerictype
from .._core._quantize import storage_kind
from .._core._rules import ideal_mul
from .._core._typetable import (
    emit_extremes,
    emit_signal,
    extremes_suffice,
    merge_extremes,
    signals_active,
)
from .._kernels import lazy
from ._block import (
    Block,
    TypeLike,
    as_type,
    block_modes,
    block_name,
    cast_changes,
    cast_counted,
    check_table,
    check_wrap_sm,
    counting,
    exact_bounds,
    fi_stored,
    interval_hull,
    interval_type,
    pick_type,
    probe,
    quantize_values,
    range_of,
    report,
    table_is_double,
    width,
)

_kf = lazy("fixsim._kernels._filters")
_ke = lazy("fixsim._kernels._emit")

__all__ = ["SOSFilter", "Biquad"]

#: values per signal and event at most (a longer frame is reported in several events)
_EMIT_CHUNK = 1 << 16

_SOSFREQZ = getattr(_sps, "freqz_sos", None) or _sps.sosfreqz


def _pair(value, argument: str, blk: str, types=None, signal: str = "",
          signals: tuple[str, str] | None = None) -> tuple[numerictype | None, numerictype | None]:
    """A type argument given once for both, or as ``(numerator, denominator)``; missing ones
    come from the type table: the entries named in *signals* (numerator, denominator) when the
    table has them, else the ``signal`` entry (one type for both)."""
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ValueError(f"{blk}: {argument} must be one type or a (numerator, "
                             f"denominator) pair, got {value!r}.")
        pair = as_type(value[0], argument, blk), as_type(value[1], argument, blk)
    else:
        t = as_type(value, argument, blk)
        pair = t, t
    names = [signal, signal]
    if signals is not None and types is not None:
        names = [sg if sg in types else signal for sg in signals]
    return (pick_type(pair[0], types, names[0], blk), pick_type(pair[1], types, names[1], blk))


def _finite_sections(sos: np.ndarray, U: np.ndarray, Y: np.ndarray) -> bool:
    """Whether every product, sum and state of the sections is finite: finite coefficients,
    inputs and outputs, and ``16 max|coef| max(|U|, |Y|)`` far below the float64 range."""
    with np.errstate(over="ignore", invalid="ignore"):
        c = float(np.max(np.abs(sos)))
        v = max(float(np.max(np.abs(U))), float(np.max(np.abs(Y))))
        return bool(np.isfinite(c) and np.isfinite(v) and 16.0 * c * v < 2.0 ** 1000)


class SOSFilter(Block):
    """A cascade of second-order sections (biquads), in double or in fixed point, streaming.

    Parameters
    ----------
    sos : array_like, shape (L, 6)
        Sections ``[b0, b1, b2, 1, a1, a2]`` as ``scipy.signal`` returns them
        (``butter(..., output='sos')``); ``a0`` must be 1. Gains belong in the ``b``.
    name : str
        Block name: the signals are named ``"<name>.<signal>"``: ``num_coef``, ``den_coef``,
        ``in`` (input to section type), ``product``, ``acc``, ``state`` (df2t), ``section``
        (every section's output before its cast) and ``out``.
    form : {'df2t', 'df1'}
        Direct form II transposed (MATLAB's default) or direct form I.
    coef_type, product_type : numerictype, str or (numerator, denominator) pair, optional
        Coefficient types (default: signed 16-bit, best precision, chosen separately for the
        numerator ``b`` and the denominator ``a1, a2`` of all sections); product types
        (default: full precision, ``section x coef``).
    acc_type : numerictype or str, optional
        Accumulator (default: exact for the sum of a section's five products: the wider
        fraction length of the two product types and 3 more integer bits than the wider one).
    state_type : numerictype or str, optional
        The df2t state registers (default: the accumulator type). Not used by df1, whose state
        is the section's own input and output samples.
    section_type : numerictype or str, optional
        Section input/output (section-to-section) type; the input is cast to it first, and each
        section's output is cast to it, fed back and passed on (default: the input type).
    output_type : numerictype or str, optional
        The cast of the last section's output (default: the section type).
    rounding, overflow : str
        Modes of every cast of the block. Stochastic rounding is not supported.
    types : fixsim.TypeTable, optional
        A type table: explicit type arguments win, then the table's fixed types for
        ``"<name>.coef"`` (or ``.num_coef``/``.den_coef``), ``.product``, ``.acc``,
        ``.state``, ``.section`` and ``.out``, else
        the defaults. When it sets every signal of the block to ``'double'``, the block runs in
        double mode even for a fi input.

    Notes
    -----
    *Double mode* (any input that is not a fi): ``scipy.signal.sosfilt`` with the original
    coefficients and carried state (bit-identical to one call).

    *Fixed mode* (a fi input): a per-sample numba loop on int64 stored integers, every cast
    exact in fixsim's rounding and overflow semantics. Section ``s`` with input ``u`` and
    output ``y`` (section type); ``P(c v)`` is the product cast to its product type and then to
    the accumulator type, and every partial sum is cast to the accumulator type:

    * df1: ``acc = P(b0 u[n]) + P(b1 u[n-1]) + P(b2 u[n-2]) - P(a1 y[n-1]) - P(a2 y[n-2])``,
      added left to right, ``y[n] = cast(acc)``.
    * df2t: ``y = cast(P(b0 u) + z1)``; ``z1 = cast_state((P(b1 u) + z2) - P(a1 y))``;
      ``z2 = cast_state(P(b2 u) - P(a2 y))`` (the states are cast to the accumulator type
      before they are added).

    The loop needs every type to be at most 63 bits wide (64 for signed) and
    ``width(section) + width(coef) <= 64``, so that every product and sum is exact in int64;
    otherwise ``ValueError``. Frames of at least :attr:`SPECIALISE_MIN` sample-sections run a
    loop compiled for the block's (rounding, overflow) pair (compiled once per machine);
    shorter ones share one loop for every mode.

    *Signals* (reported to the fixed-point tool while it records, in both modes):
    ``num_coef``, ``den_coef`` (numerator and denominator coefficients, each with its type),
    ``in`` (the input before its cast to the section type), ``product`` (the exact products),
    ``acc``, ``state`` (df2t), ``section`` and ``out``, each signal as one event per frame
    holding every section's values, section after section (frames of more than 65536 products
    in several events of whole sections).
    Products are the exact values arriving at the product casts; the ``acc``, ``state`` and
    ``section`` values are the sums of those exact products (before the accumulator's own
    rounding); the overflow counts are those of the actual casts.

    *Interval input* (``fx.tool.derive``): in double mode (an untyped Interval, or a table
    setting the block to ``'double'``) every section's output range is the linear bound of
    the designed sections up to it (see :meth:`worst_case_output_range`). In fixed mode (a
    typed Interval) the input is cast into the section type, and the quantized sections'
    linear bound is widened by the worst case of every rounding of the loop (each one's error
    interval through ``1/A`` of its section and the sections after it, standard fixed-point
    IIR error analysis); every cast is checked against those bounds, and a section where one
    may overflow has its output anywhere in the section type (see ``_section_bounds``). The
    output Interval is the output cast of the last section's range (a wrapping output type
    whose range the bound leaves: the whole type). An unstable cascade is unbounded.

    Examples
    --------
    >>> from scipy import signal
    >>> from fixsim import fi
    >>> from fixsim.signal import SOSFilter
    >>> sos = signal.butter(4, 0.2, output='sos')
    >>> f = SOSFilter(sos, section_type='sfix16_En14', acc_type='sfix40_En30')
    >>> print(f(fi([1.0, 0.0, 0.0], 1, 16, 14)).numerictype)
    sfix16_En14
    """

    #: frames of at least this many samples x sections run a mode-specialised loop
    SPECIALISE_MIN = 20_000
    #: Signals one type must serve: the input is cast with the section type (regression: a
    #: proposal sized ``in`` and ``section`` apart, and the input overflowed the section type
    #: when the filter attenuates). ``Model.type_table`` declares them tied, and so does a
    #: recording (``Recording.tied``); ``fx.tool.propose`` gives them one type.
    tied_signals = (("in", "section"),)

    def __init__(self, sos, *, name: str = "sos", form: str = "df2t",
                 coef_type=None, state_type: TypeLike = None, product_type=None,
                 acc_type: TypeLike = None, output_type: TypeLike = None,
                 section_type: TypeLike = None, rounding: str | Rounding = "nearest",
                 overflow: str | Overflow = "saturate", types=None) -> None:
        blk = f"SOSFilter {name!r}"
        self._blk = blk
        self.name = block_name(name, blk)
        self.rounding, self.overflow = block_modes(rounding, overflow, blk)
        if form not in ("df1", "df2t"):
            raise ValueError(f"{blk}: form={form!r} is not valid; valid: 'df1', 'df2t'.")
        self.form = form
        sos = np.atleast_2d(np.asarray(sos, dtype=np.float64))
        if sos.ndim != 2 or sos.shape[1] != 6 or sos.shape[0] == 0:
            raise ValueError(f"{blk}: sos must have shape (n_sections, 6), got {sos.shape}.")
        if not np.all(np.isfinite(sos)):
            raise ValueError(f"{blk}: sos must be finite.")
        if not np.all(sos[:, 3] == 1.0):
            raise ValueError(f"{blk}: sos[:, 3] (a0) must be 1 in every section; divide each "
                             "section by its a0.")
        self.sos = sos
        self.type_table = check_table(types, blk)
        self.n_sections = sos.shape[0]
        n = self.name

        def one(arg, argument, sig):
            return pick_type(as_type(arg, argument, blk), types, f"{n}.{sig}", blk)

        cb, ca = _pair(coef_type, "coef_type", blk, types, f"{n}.coef",
                       (f"{n}.num_coef", f"{n}.den_coef"))
        self.product_type_arg = _pair(product_type, "product_type", blk, types, f"{n}.product")
        self.acc_type = one(acc_type, "acc_type", "acc")
        self.state_type = one(state_type, "state_type", "state")
        self.output_type = one(output_type, "output_type", "out")
        self.section_type = one(section_type, "section_type", "section")
        self._table_double = table_is_double(types, n)
        qb, nb_ = quantize_values(sos[:, 0:3].ravel(), cb, self.rounding, self.overflow,
                                  f"{n}.num_coef")
        qa, na_ = quantize_values(sos[:, 4:6].ravel(), ca, self.rounding, self.overflow,
                                  f"{n}.den_coef")
        self.num_coef_type = qb.numerictype
        self.den_coef_type = qa.numerictype
        self._coef_counts = [(qb.numerictype, nb_), (qa.numerictype, na_)]
        L = self.n_sections
        self._b = np.ascontiguousarray(np.asarray(fi_stored(qb)).reshape(L, 3))
        a = np.zeros((L, 3), dtype=fi_stored(qa).dtype)
        a[:, 1:] = np.asarray(fi_stored(qa)).reshape(L, 2)
        self._a = a
        qs = np.empty((L, 6))
        qs[:, 0:3] = qb.data.reshape(L, 3)
        qs[:, 3] = 1.0
        qs[:, 4:6] = qa.data.reshape(L, 2)
        self.quantized_sos = qs
        self.reset()

    # -- types --------------------------------------------------------------------------------
    def types(self, input_type: TypeLike = None) -> dict[str, numerictype]:
        """The block's types for an input of type *input_type* (or the one in use).

        Returns
        -------
        dict
            ``input, section, num_coef, den_coef, num_product, den_product, acc, state, out``.
        """
        Tin = as_type(input_type, "input_type", self._blk) or self._tin
        if Tin is None:
            raise ValueError(f"{self._blk}: the input type is not known yet; pass input_type.")
        S = self.section_type or Tin
        Pn = self.product_type_arg[0] or ideal_mul(S, self.num_coef_type)
        Pd = self.product_type_arg[1] or ideal_mul(S, self.den_coef_type)
        if self.acc_type is not None:
            A = self.acc_type
        else:
            f = max(Pn.fraction_length, Pd.fraction_length)
            mag = max(Pn.integer_length - Pn.signed, Pd.integer_length - Pd.signed)
            A = numerictype(True, mag + 1 + 3 + f, f)  # five terms: ceil(log2 5) = 3 bits
        Z = self.state_type or A
        Y = self.output_type or S
        return {"input": Tin, "section": S, "num_coef": self.num_coef_type,
                "den_coef": self.den_coef_type, "num_product": Pn, "den_product": Pd,
                "acc": A, "state": Z, "out": Y}

    def _plan(self, Tin: numerictype) -> None:
        t = self.types(Tin)
        for what in ("section", "num_product", "den_product", "acc", "state", "out"):
            check_wrap_sm(t[what], self.overflow, what.replace("_", " "), self._blk)
        S, Pn, Pd, A, Z = t["section"], t["num_product"], t["den_product"], t["acc"], t["state"]
        Tb, Ta = t["num_coef"], t["den_coef"]
        bad = [f"{w} {T} ({width(T)} bits)" for w, T in
               (("section", S), ("numerator product", Pn), ("denominator product", Pd),
                ("accumulator", A), ("state", Z)) if width(T) > 63]
        for w, T in (("numerator", Tb), ("denominator", Ta)):
            if width(S) + width(T) > 64:
                bad.append(f"section x {w} coefficient ({width(S)} + {width(T)} bits)")
        if bad or storage_kind(Tb) != "i64" or storage_kind(Ta) != "i64":
            raise ValueError(
                f"{self._blk}: the fixed-point loop runs on int64 and needs types of at most 63 "
                "bits (two's complement width) and width(section) + width(coef) <= 64; too "
                f"wide: {', '.join(bad) or 'coefficients'}. Choose narrower types.")
        self._t = t
        self._tin = Tin
        self._tp = np.array([_kf.type_row(T.word_length, T.signed) for T in (Pn, Pd, A, Z, S)],
                            dtype=np.int64)
        Fs, Fa = S.fraction_length, A.fraction_length
        self._sh = np.array([Fs + Tb.fraction_length - Pn.fraction_length,
                             Fs + Ta.fraction_length - Pd.fraction_length,
                             Pn.fraction_length - Fa, Pd.fraction_length - Fa,
                             Fa - Z.fraction_length, Z.fraction_length - Fa, Fa - Fs],
                            dtype=np.int64)
        self._b64 = self._b.astype(np.int64)
        self._a64 = self._a.astype(np.int64)
        self._inrange = self._casts_in_range() if self.form == "df1" else ()
        self._st = np.zeros((self.n_sections, 4 if self.form == "df1" else 2), dtype=np.int64)

    def _casts_in_range(self) -> tuple[bool, ...]:
        """Which casts of the df1 loop can never overflow, whatever the input: (numerator
        products, denominator products, numerator and denominator products into the
        accumulator, partial sums, section output).

        Interval arithmetic on stored integers: the section values (input and fed-back
        outputs) lie in the section type; a product lies within the coefficient bounds times
        those; a cast by ``d > 0`` gives a value in ``[lo >> d, (hi >> d) + 1]`` whatever the
        rounding, by ``d <= 0`` the value shifted; a cast that may overflow gives a value in
        its type's range; a partial sum lies within the sum of its terms' bounds. A cast whose
        rounded value always lies in its type (under ``sat_sym``, above the most negative
        value) is left alone by every overflow mode, so the specialised loop drops its
        overflow step: the same bits, and no overflow to count.
        """
        t = self._t
        S, Pn, Pd, A = t["section"], t["num_product"], t["den_product"], t["acc"]
        sh = [int(v) for v in self._sh]
        sym = self.overflow == Overflow.SAT_SYM

        def fits(T, lo, hi):
            tmin = T.int_min + (1 if (sym and T.signed) else 0)
            return tmin <= lo and hi <= T.int_max

        def cast(lo, hi, d, T):
            lo, hi = (lo >> d, (hi >> d) + 1) if d > 0 else (lo << -d, hi << -d)
            ok = fits(T, lo, hi)
            return ok, ((lo, hi) if ok else (T.int_min, T.int_max))

        def product(c, lo, hi):
            vals = [int(c.min()) * lo, int(c.min()) * hi, int(c.max()) * lo, int(c.max()) * hi]
            return min(vals), max(vals)

        slo, shi = S.int_min, S.int_max
        xn, pn = cast(*product(self._b64, slo, shi), sh[0], Pn)
        xd, pd = cast(*product(self._a64[:, 1:], slo, shi), sh[1], Pd)
        xna, tn = cast(*pn, sh[2], A)
        xda, td = cast(*pd, sh[3], A)
        # every partial sum adds a prefix of the three numerator terms and subtracts the two
        # denominator terms (so within [-td[1], -td[0]]): within the sums of the bounds
        lo = 3 * min(tn[0], 0) + 2 * min(-td[1], 0)
        hi = 3 * max(tn[1], 0) + 2 * max(-td[0], 0)
        xs = fits(A, lo, hi)
        alo, ahi = (lo, hi) if xs else (A.int_min, A.int_max)
        xy, _ = cast(alo, ahi, sh[6], S)
        return xn, xd, xna, xda, xs, xy

    # -- state --------------------------------------------------------------------------------
    def _reset_state(self) -> None:
        self._zi = np.zeros((self.n_sections, 2), dtype=np.float64)
        # the last two section inputs and outputs, for the signal values while recording
        self._prev = np.zeros((self.n_sections, 4), dtype=np.float64)

    # -- filtering ----------------------------------------------------------------------------
    def _filt_double(self, xv: np.ndarray) -> np.ndarray:
        if xv.size == 0:
            return np.zeros(0)
        if signals_active():
            zi0 = self._zi.copy()
        y, self._zi = _sps.sosfilt(self.sos, xv, zi=self._zi)
        if signals_active():
            U = np.empty((xv.size, self.n_sections))
            Y = np.empty_like(U)
            u = xv
            L = self.n_sections
            for s in range(L):
                U[:, s] = u
                # the cascade's output is the last section's (the same loop, the same
                # operations on the same values): no need to run that section again
                u = y if s == L - 1 else _sps.sosfilt(self.sos[s:s + 1], u,
                                                      zi=zi0[s:s + 1])[0]
                Y[:, s] = u
            self._emit("double", self.sos, xv, U, Y, y, {})
        return y

    def _filt_fixed(self, x: fi) -> fi:
        Tx = x.numerictype
        if self._tin is None:
            self._plan(Tx)
        elif Tx != self._tin:
            raise ValueError(f"{self._blk}: the input type changed from {self._tin} to {Tx}; "
                             "cast the input, or call reset().")
        t = self._t
        for (T, counts), sig in zip(self._coef_counts, ("num_coef", "den_coef"), strict=True):
            report(f"{self.name}.{sig}", T, *counts)
        S = t["section"]
        # a cast that cannot change the values is skipped, reporting the same (empty) counts
        if not cast_changes(Tx, S, self.overflow):
            u, cin = fi_stored(x), [0, 0]
            report(f"{self.name}.in", S, u.size, 0, 0)
        else:
            u, *cin = cast_counted(fi_stored(x), Tx, S, self.rounding, self.overflow,
                                   f"{self.name}.in")
        n = u.shape[0]
        L = self.n_sections
        out = np.empty(n, dtype=np.int64)
        cnt = np.zeros((4, 2), dtype=np.int64)
        recording = signals_active()
        if recording:
            # run section by section to see every section's input and output
            U = np.empty((n, L), dtype=np.int64)
            Y = np.empty((n, L), dtype=np.int64)
            v = np.ascontiguousarray(u, dtype=np.int64)
            for s in range(L):
                U[:, s] = v
                w = np.empty(n, dtype=np.int64)
                if n:
                    # contiguous one-section copies: numba compiles a slower loop for the
                    # strided ('A' layout) type a slice has (regression: 2.3 times the time
                    # of the whole cascade while recording)
                    st = self._st[s:s + 1].copy()
                    self._run(v, self._b64[s:s + 1].copy(), self._a64[s:s + 1].copy(), st, w,
                              cnt, n * L)
                    self._st[s] = st[0]
                Y[:, s] = w
                v = w
            out[:] = v
        elif n:
            self._run(np.ascontiguousarray(u, dtype=np.int64), self._b64, self._a64, self._st,
                      out, cnt)
        nl = n * L
        n_acc = 9 if self.form == "df1" else 11
        report(f"{self.name}.product", t["num_product"], 5 * nl, int(cnt[0, 0]),
               int(cnt[0, 1]))
        report(f"{self.name}.acc", t["acc"], n_acc * nl, int(cnt[1, 0]), int(cnt[1, 1]))
        if self.form == "df2t":
            report(f"{self.name}.state", t["state"], 2 * nl, int(cnt[2, 0]), int(cnt[2, 1]))
        report(f"{self.name}.section", S, nl, int(cnt[3, 0]), int(cnt[3, 1]))
        if not cast_changes(S, t["out"], self.overflow):
            y, no, nu = out, 0, 0
            report(f"{self.name}.out", S, n, 0, 0)
        else:
            y, no, nu = cast_counted(out, S, t["out"], self.rounding, self.overflow,
                                     f"{self.name}.out")
        result = make_fi(y, t["out"])
        if recording:
            sc = 2.0 ** -S.fraction_length
            counts = {"in": tuple(cin), "product": cnt[0], "acc": cnt[1], "state": cnt[2],
                      "section": cnt[3], "out": (no, nu)}
            self._emit("fixed", self.quantized_sos, x.data, U * sc, Y * sc, result, counts)
        return result

    def _run(self, u, b, a, st, out, cnt, work: int | None = None) -> None:
        """The fixed-point kernel over sections *b*, *a* with state *st* (in place).

        *work* (default: samples x sections of this call) decides whether the
        mode-specialised loop runs (the same bits either way): running the cascade section by
        section passes the whole cascade's, so that it takes the same loop as one call.
        """
        rm, om = int(self.rounding), int(self.overflow)
        if work is None:
            work = u.shape[0] * b.shape[0]
        spec = work >= self.SPECIALISE_MIN
        kern = _kf.kernel("sos_df1" if self.form == "df1" else "sos_df2t", rm, om, counting(),
                          spec, self._sh, self._inrange)
        kern(u, b, a, self._tp, self._sh, rm, om, st, out, cnt)

    # -- signals ------------------------------------------------------------------------------
    def _emit(self, mode, sos, xin, U, Y, output, counts) -> None:
        """Report the block's signals for one frame from the section inputs *U* and outputs
        *Y* (real values, shape (n, L)) and the sections *sos* (only while recording).

        Every section's products, partial sums, states and section values come from one
        compiled loop (``fixsim._kernels._emit.sos_df1_values`` / ``sos_df2t_values``: the
        same float64 operations as the former per-section numpy expressions), reported as one
        event per signal (section after section; at most ``_EMIT_CHUNK`` products per event),
        the counts of each cast with the last event of its signal.
        """
        name = self.name
        t = self._t if mode == "fixed" else {}
        zero = (0, 0)

        def c(k):
            return tuple(int(v) for v in counts.get(k, zero))

        Tb = t.get("num_coef", self.num_coef_type)
        Ta = t.get("den_coef", self.den_coef_type)
        # numerator and denominator coefficients have their own types (MATLAB's
        # dsp.BiquadFilter), so they are two signals: one name cannot hold counts against two
        # types (regression: recording an SOSFilter with default types raised).
        # arriving: the designed coefficients; the cast's result: the coefficients the frame
        # ran with, *sos* (quantized in fixed mode; regression: verify saw no coefficient
        # error because the designed values were reported as the result too)
        probe(f"{name}.num_coef", self.sos[:, 0:3].ravel(), np.ravel(sos[:, 0:3]), Tb, mode,
              *self._coef_counts[0][1][1:])
        probe(f"{name}.den_coef", self.sos[:, 4:6].ravel(), np.ravel(sos[:, 4:6]), Ta, mode,
              *self._coef_counts[1][1][1:])
        # the input is cast with the section type: one type for both (tied)
        probe(f"{name}.in", xin, U[:, 0] if U.size else U, t.get("section", self.section_type),
              mode, *c("in"), tied=(f"{name}.in", f"{name}.section"))
        n, L = U.shape
        Tp = t.get("num_product", self.product_type_arg[0])
        TA = t.get("acc", self.acc_type)
        TZ = t.get("state", self.state_type)
        TS = t.get("section", self.section_type)
        df1 = self.form == "df1"
        n_acc = 5 if df1 else 4
        U = np.ascontiguousarray(U, dtype=np.float64)
        Y = np.ascontiguousarray(Y, dtype=np.float64)
        sos = np.ascontiguousarray(sos, dtype=np.float64)
        modes = ({"rounding": self.rounding, "overflow": self.overflow}
                 if mode == "fixed" else {})  # the events carry no output: verify casts
        # the recorder may keep only extremes of these signals: then no value is handed over
        extremes = extremes_suffice()
        keys = ("product", "acc", "section") if df1 else ("product", "acc", "state", "section")
        got = dict.fromkeys(keys) if extremes else None
        if extremes and (n == 0 or _finite_sections(sos, U, Y)):
            ex = _ke.new_extremes(len(keys))
            if n:  # fold them in one compiled pass, building no values
                if df1:
                    _ke.sos_df1_extremes(sos, U, Y, self._prev, ex)
                else:
                    _ke.sos_df2t_extremes(sos, U, Y, self._prev, ex)
            m = n * L
            sizes = {"product": 5 * m, "acc": (5 + n_acc) * m, "state": 2 * m, "section": m}
            got = {k: _ke.extremes_of(ex, i, sizes[k]) for i, k in enumerate(keys)}
        else:  # the values (for the extremes too when some are not finite)
            per = max(1, _EMIT_CHUNK // max(5 * n, 1))
            for s0 in range(0, L, per):
                s1 = min(L, s0 + per)
                m = (s1 - s0) * n
                prod, acc, sec = np.empty(5 * m), np.empty(n_acc * m), np.empty(m)
                state = None
                if df1:
                    if n:
                        _ke.sos_df1_values(sos, U, Y, self._prev, s0, s1, prod, acc, sec)
                else:
                    state = np.empty(2 * m)
                    if n:
                        _ke.sos_df2t_values(sos, U, Y, self._prev, s0, s1, prod, acc, state,
                                            sec)
                # the accumulator's values: every product (each is cast into the
                # accumulator type before it is added) and every sum (regression: a product
                # beyond the sums' range overflowed the proposed accumulator type)
                acc = np.concatenate([prod, acc])
                if extremes:
                    vals = {"product": prod, "acc": acc, "state": state, "section": sec}
                    for k in keys:
                        got[k] = merge_extremes(got[k], _ke.extremes_of_values(vals[k]))
                    continue
                fin = s1 == L
                emit_signal(f"{name}.product", prod, None, Tp, mode,
                            *(c("product") if fin else zero), **modes)
                emit_signal(f"{name}.acc", acc, None, TA, mode, *(c("acc") if fin else zero),
                            **modes)
                if not df1:
                    emit_signal(f"{name}.state", state, None, TZ, mode,
                                *(c("state") if fin else zero), **modes)
                emit_signal(f"{name}.section", sec, Y[:, s0:s1].T.reshape(-1), TS, mode,
                            *(c("section") if fin else zero))
        if extremes:
            for k, T in zip(keys, (Tp, TA, TZ, TS) if not df1 else (Tp, TA, TS), strict=True):
                emit_extremes(f"{name}.{k}", got[k], T, mode, *c(k),
                              **(modes if k != "section" else {}))
        last = Y[:, -1] if L else np.zeros(0)
        probe(f"{name}.out", last, output, t.get("out", self.output_type), mode, *c("out"))

    # -- analysis -----------------------------------------------------------------------------
    def freqz(self, worN: int | Sequence[float] | np.ndarray = 512, *, quantized: bool = True,
              fs: float = 2 * np.pi) -> tuple[np.ndarray, np.ndarray]:
        """Frequency response of the quantized (default) or original sections, via
        ``scipy.signal.sosfreqz``: ``quantized=True`` is the response the fixed-point
        coefficients really have (coefficient quantization moves poles and zeros).

        Returns
        -------
        (w, h) : numpy.ndarray
        """
        return _SOSFREQZ(self.quantized_sos if quantized else self.sos, worN=worN, fs=fs)

    def impulse_response(self, n: int, *, quantized: bool = True) -> np.ndarray:
        """The first *n* samples of the impulse response (double precision)."""
        x = np.zeros(int(n))
        if n:
            x[0] = 1.0
        return _sps.sosfilt(self.quantized_sos if quantized else self.sos, x)

    def l1_norm(self, *, quantized: bool = True, sections: int | None = None) -> float:
        """An upper bound of ``sum_n |h[n]|`` of the cascade (of its first *sections*), tight
        to a relative ``1e-9`` (see :func:`impulse_bound`); ``inf`` when unstable."""
        sos = self.quantized_sos if quantized else self.sos
        return impulse_bound(sos[:sections])[2]

    def worst_case_output_range(self, lo: float, hi: float, *, quantized: bool = True,
                                sections: int | None = None) -> tuple[float, float]:
        """Bounds of the output (before the output cast) for inputs in ``[lo, hi]``.

        ``y[n] = sum_{k<=n} h[k] x[n-k]`` from reset, for the impulse response ``h`` of the
        (quantized) cascade (of its first *sections*): its extremes over ``n`` are those of
        the prefix sums of ``min(h[k] lo, h[k] hi)`` and ``max(h[k] lo, h[k] hi)``. The first
        terms are summed explicitly and the rest is bounded from a state-space model (see
        :func:`impulse_bound`), so the result is a guaranteed bound of the linear model
        (fixed-point rounding noise and limit cycles are not included: the derived
        ranges of an Interval input in fixed mode add them), tight to a relative
        ``1e-9``; for ``lo <= 0 <= hi`` it is ``max(|lo|, |hi|)`` times the l1 norm of ``h``.
        An unstable cascade gives ``(-inf, inf)``.

        Returns
        -------
        (float, float)
        """
        flo, fhi = (float(v) for v in exact_bounds(lo, hi, self._blk))
        sos = self.quantized_sos if quantized else self.sos
        return _range_from(sos[:sections], flo, fhi)

    def _filt_interval(self, x: Interval) -> Interval:
        lo, hi = interval_hull(x, self._blk)
        name = self.name
        n = x.size
        # the run is double when the table sets the block to 'double' or the input is not a
        # fi (an untyped Interval): then it filters with the designed coefficients
        # (regression: an untyped input in a block without a double table was bounded with
        # the quantized ones, whose l1 norm can be below the designed one)
        Tx = interval_type(x)
        fixed = not self._table_double and Tx is not None
        sos = self.quantized_sos if fixed else self.sos
        # the coefficient signals' ranges are what arrives at their casts, the designed
        # coefficients, and the ones the filter runs with (regression: a fixed table reported
        # only the quantized ones, which a recording of the fixed run does not contain)
        for sig, cols in (("num_coef", slice(0, 3)), ("den_coef", slice(4, 6))):
            both = np.concatenate([np.ravel(sos[:, cols]), np.ravel(self.sos[:, cols])])
            range_of(f"{name}.{sig}", float(both.min()), float(both.max()))
        range_of(f"{name}.in", lo, hi)
        sigs = ["product", "acc", "section", "out"] + (["state"] if self.form == "df2t" else [])

        def unbounded(why):
            for sg in sigs:
                range_of(f"{name}.{sg}", -math.inf, math.inf, why)
            return Interval(np.full(n, -np.inf), np.full(n, np.inf), reason=why)

        if not (math.isfinite(lo) and math.isfinite(hi)):
            return unbounded(x.reason or "the input range is unbounded")
        t = self.types(Tx) if fixed else None
        try:
            bounds = self._section_bounds(sos, lo, hi, t)
        except _Unstable as e:
            return unbounded(f"section {e.args[0]} of the cascade is unstable (a pole on or "
                             "outside |z| = 1)")
        prod, acc, state, sec = (_Hull() for _ in range(4))
        for (ulo, uhi), (ylo, yhi), (slo, shi), row in zip(*bounds, sos, strict=True):
            p, a, z = _recorded_sums(row, (ulo, uhi), (ylo, yhi), self.form == "df1")
            prod.add(*p)
            acc.add(*a)
            acc.add(*p)  # every product is cast into the accumulator type too
            state.add(*z)
            sec.add(slo, shi)
            # the last partial sum of df1 and the first sum of df2t are the section sums
            acc.add(slo, shi)
        range_of(f"{name}.product", *prod.get())
        range_of(f"{name}.acc", *acc.get())
        if self.form == "df2t":
            range_of(f"{name}.state", *state.get())
        range_of(f"{name}.section", *sec.get())
        ylo, yhi = bounds[1][-1]
        range_of(f"{name}.out", ylo, yhi)
        if fixed and cast_changes(t["section"], t["out"], self.overflow):
            # the output cast: where the bound leaves the output type's range the cast
            # overflows (a wrapping type: anywhere in its range; sat_zero: 0 too)
            olo, ohi = cast_pairs(np.array([ylo]), np.array([yhi]), t["out"], self.rounding,
                                  self.overflow)
            ylo, yhi = float(olo[0]), float(ohi[0])
        return Interval(np.full(n, ylo), np.full(n, yhi))

    def _section_bounds(self, sos: np.ndarray, lo: float, hi: float, t: dict | None):
        """Per section: the ranges of its input, of its output and of its section sum (the
        exact sum of its five products), for block inputs in ``[lo, hi]`` from reset.

        *t* None: double mode, the linear model (:func:`_range_from` of the sections up to
        each one). Fixed mode (the block's types *t*): the input cast into the section type,
        then the standard error analysis of the fixed-point loop: every rounding moves a
        value by an amount within an interval (one LSB of its type at most, in a direction
        that depends on the rounding mode: :func:`_round_error`), so section ``s`` computes
        ``y = B/A u + 1/A e`` with ``e[n]`` the sum of its roundings at sample ``n``, within
        the sum of their intervals (:meth:`_section_error`), and each section's ``e`` reaches
        every later section's output through ``1/A_s`` and the sections after ``s``: the
        output range is the linear range plus, for every section's error interval, the range
        of that path (again :func:`_range_from`); the section sum (before the section's own
        roundings) gets ``(1/A - 1) e`` of its own section. Those bounds hold while no cast
        overflows; every cast of the section is checked against them by interval arithmetic
        (:meth:`_casts_fit`). A section where some cast may overflow has an output anywhere
        in the section type (its cast's range), and the analysis starts again after it from
        that range (the model's noise sources restart there too).

        Raises ``_Unstable(section)`` for an unstable cascade.
        """
        L = sos.shape[0]
        ins, outs, secs = [], [], []
        if t is None:
            u = (lo, hi)
            for s in range(L):
                y = _range_from(sos[:s + 1], lo, hi)
                if not (math.isfinite(y[0]) and math.isfinite(y[1])):
                    raise _Unstable(s)
                ins.append(u)
                outs.append(y)
                secs.append(y)
                u = y
            return ins, outs, secs
        S = t["section"]
        Tin = t["input"]
        if cast_changes(Tin, S, self.overflow):
            clo, chi = cast_pairs(np.array([lo]), np.array([hi]), S, self.rounding,
                                  self.overflow)
            u = (float(clo[0]), float(chi[0]))
        else:
            u = (lo, hi)
        seg0, seg_in = 0, u      # the model's first section and its input range
        noise: list[tuple[int, float, float]] = []
        for s in range(L):
            row = sos[s]
            ylo, yhi = _range_from(sos[seg0:s + 1], *seg_in)
            if not (math.isfinite(ylo) and math.isfinite(yhi)):
                raise _Unstable(s)
            slo, shi = ylo, yhi
            e = self._section_error(t, row)
            for k, elo, ehi in [*noise, (s, *e)]:
                if elo == 0.0 and ehi == 0.0:
                    continue
                g = np.vstack([_inverse_den(sos[k]), sos[k + 1:s + 1]])
                nlo, nhi = _range_from(g, elo, ehi)
                ylo, yhi = ylo + nlo, yhi + nhi
                if k < s:
                    slo, shi = slo + nlo, shi + nhi
                else:
                    nlo, nhi = _range_from(_inverse_den(row, minus_one=True), elo, ehi)
                    slo, shi = slo + nlo, shi + nhi
            # the section outputs are values of the section type: the bound rounded inward
            ylo, yhi = _grid_in(ylo, yhi, S.fraction_length)
            if math.isfinite(ylo) and math.isfinite(yhi) and \
                    _fits(S, ylo, yhi, self.overflow) and \
                    self._casts_fit(t, row, u, (ylo, yhi), e):
                noise.append((s, *e))
            else:
                # a cast may overflow: the output is somewhere in the section type
                smin = -S.max if (self.overflow == Overflow.SAT_SYM and S.signed) else S.min
                ylo, yhi = float(smin), float(S.max)
                slo, shi = _sum_bound(row, u, (ylo, yhi))
                seg0, seg_in, noise = s + 1, (ylo, yhi), []
            ins.append(u)
            outs.append((ylo, yhi))
            secs.append((slo, shi))
            u = (ylo, yhi)
        return ins, outs, secs

    def _section_error(self, t: dict, row) -> tuple[float, float]:
        """The interval of the sum of one section's rounding errors that reach its output at
        one sample, ``y[n] - (b u - a y)[n]`` (see :meth:`_section_bounds`): every
        product's two casts (product type, accumulator; none for a zero coefficient), the
        section cast and, in df2t, the two state casts and their casts back into the
        accumulator (none for a state that stays 0). The partial sums are not rounded."""
        S, Pn, Pd, A, Z = (t[k] for k in ("section", "num_product", "den_product", "acc",
                                          "state"))
        r = self.rounding
        Fs, Fa = S.fraction_length, A.fraction_length
        Fb, Fd = t["num_coef"].fraction_length, t["den_coef"].fraction_length
        pn = _add(_round_error(r, Fs + Fb, Pn.fraction_length),
                  _round_error(r, Pn.fraction_length, Fa))
        pd = _neg(_add(_round_error(r, Fs + Fd, Pd.fraction_length),
                       _round_error(r, Pd.fraction_length, Fa)))
        b0, b1, b2, _, a1, a2 = (float(v) for v in row)
        e = _round_error(r, Fa, Fs)
        for c, ec in ((b0, pn), (b1, pn), (b2, pn), (a1, pd), (a2, pd)):
            if c != 0.0:
                e = _add(e, ec)
        if self.form == "df2t":
            zs = _add(_round_error(r, Fa, Z.fraction_length),
                      _round_error(r, Z.fraction_length, Fa))
            z2 = b2 != 0.0 or a2 != 0.0
            z1 = z2 or b1 != 0.0 or a1 != 0.0
            for active in (z1, z2):
                if active:
                    e = _add(e, zs)
        return e

    def _casts_fit(self, t: dict, row, u, y, e) -> bool:
        """Whether no cast of a section can overflow when its inputs lie in *u* and its
        outputs in *y* (the model's bound, *e* its error interval): interval arithmetic on
        the values arriving at every cast, each rounding widening to its type's grid (the
        delayed samples and the states start at 0)."""
        S, Pn, Pd, A, Z = (t[k] for k in ("section", "num_product", "den_product", "acc",
                                          "state"))
        ov = self.overflow
        Fa = A.fraction_length
        b0, b1, b2, _, a1, a2 = (float(v) for v in row)
        u0, y0 = _hull0(u), _hull0(y)
        ok = True

        def cast(iv, T):
            nonlocal ok
            iv = _grid_out(*iv, T.fraction_length)
            ok = ok and _fits(T, *iv, ov)
            return iv

        def num(c, iv):
            return cast(cast(_mul(c, iv), Pn), A) if c != 0.0 else (0.0, 0.0)

        def den(c, iv):
            return _neg(cast(cast(_mul(c, iv), Pd), A)) if c != 0.0 else (0.0, 0.0)

        eo = _round_error(self.rounding, Fa, S.fraction_length)
        # the value arriving at the section cast: the output before that cast's rounding
        last = (y[0] - eo[1], y[1] - eo[0])
        if self.form == "df1":
            terms = [num(b0, u), num(b1, u0), num(b2, u0), den(a1, y0), den(a2, y0)]
            acc = terms[0]
            for k, tm in enumerate(terms[1:]):
                acc = _add(acc, tm)
                if k == 3:
                    acc = (max(acc[0], last[0]), min(acc[1], last[1]))
                cast(acc, A)
        else:
            z2 = cast(cast(_add(num(b2, u), den(a2, y)), A), Z)
            z2a = cast(_hull0(z2), A)
            w = cast(_add(num(b1, u), z2a), A)
            z1 = cast(cast(_add(w, den(a1, y)), A), Z)
            z1a = cast(_hull0(z1), A)
            w = _add(num(b0, u), z1a)
            cast((max(w[0], last[0]), min(w[1], last[1])), A)
        return ok

    def __repr__(self) -> str:
        return (f"SOSFilter(name={self.name!r}, sections={self.n_sections}, form={self.form!r}, "
                f"rounding='{self.rounding}', overflow='{self.overflow}')")


Biquad = SOSFilter


# -- interval helpers of the derived ranges -----------------------------------------------------
class _Unstable(Exception):
    """An unstable section (its index in ``args[0]``)."""


class _Hull:
    """The hull of the ranges added (empty: ``(0, 0)``)."""

    def __init__(self) -> None:
        self.lo, self.hi = math.inf, -math.inf

    def add(self, lo: float, hi: float) -> None:
        self.lo, self.hi = min(self.lo, lo), max(self.hi, hi)

    def get(self) -> tuple[float, float]:
        return (self.lo, self.hi) if self.lo <= self.hi else (0.0, 0.0)


def _dn(v: float) -> float:
    return math.nextafter(v, -math.inf)


def _up(v: float) -> float:
    return math.nextafter(v, math.inf)


def _add(a, b) -> tuple[float, float]:
    """``a + b`` of two intervals, widened outward by one ulp (float rounding)."""
    lo, hi = a[0] + b[0], a[1] + b[1]
    return (lo if lo == a[0] or lo == b[0] else _dn(lo)), \
        (hi if hi == a[1] or hi == b[1] else _up(hi))


def _neg(a) -> tuple[float, float]:
    return -a[1], -a[0]


def _mul(c: float, a) -> tuple[float, float]:
    """``c * a`` (a number times an interval), widened outward by one ulp."""
    p, q = c * a[0], c * a[1]
    return _dn(min(p, q)), _up(max(p, q))


def _hull0(a) -> tuple[float, float]:
    """*a* and 0 (a delayed sample or a state, 0 from reset)."""
    return min(a[0], 0.0), max(a[1], 0.0)


def _grid_out(lo: float, hi: float, F: int) -> tuple[float, float]:
    """The smallest range of values on the grid ``2**-F`` holding every rounding of a value
    in ``[lo, hi]`` (whatever the mode)."""
    if math.isfinite(lo):
        lo = math.ldexp(math.floor(math.ldexp(lo, F)), -F)
    if math.isfinite(hi):
        hi = math.ldexp(math.ceil(math.ldexp(hi, F)), -F)
    return lo, hi


def _grid_in(lo: float, hi: float, F: int) -> tuple[float, float]:
    """``[lo, hi]`` narrowed to the values of the grid ``2**-F`` inside it (unchanged when
    none is)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return lo, hi
    a = math.ldexp(math.ceil(math.ldexp(lo, F)), -F)
    b = math.ldexp(math.floor(math.ldexp(hi, F)), -F)
    return (a, b) if a <= b else (lo, hi)


def _fits(T: numerictype, lo: float, hi: float, overflow: Overflow) -> bool:
    """Whether every value in ``[lo, hi]`` lies in *T*'s range and no overflow mode moves it
    (``sat_sym`` moves the most negative value). Exact comparisons."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return False
    tmin = -T.exact_max if (overflow == Overflow.SAT_SYM and T.signed) else T.exact_min
    return tmin <= Fraction(lo) and Fraction(hi) <= T.exact_max


def _round_error(mode: Rounding, f_src: int, f_dst: int) -> tuple[float, float]:
    """The interval of ``Q(v) - v`` for a value *v* on the grid ``2**-f_src`` rounded to the
    grid ``q = 2**-f_dst`` by *mode* (``(0, 0)`` when nothing is dropped): floor
    ``[-(q - d), 0]``, ceil ``[0, q - d]``, toward zero ``[-(q - d), q - d]``, nearest with
    ties up ``[-q/2 + d, q/2]``, ties down ``[-q/2, q/2 - d]``, the other nearest modes
    ``[-q/2, q/2]``, for the source grid step ``d``."""
    if f_src <= f_dst:
        return 0.0, 0.0
    q = math.ldexp(1.0, -f_dst)
    d = math.ldexp(1.0, -f_src)
    h = q / 2
    if mode == Rounding.FLOOR:
        return -(q - d), 0.0
    if mode == Rounding.CEIL:
        return 0.0, q - d
    if mode == Rounding.ZERO:
        return -(q - d), q - d
    if mode == Rounding.NEAREST:
        return -h + d, h
    if mode == Rounding.HALF_DOWN:
        return -h, h - d
    return -h, h


def _inverse_den(row, minus_one: bool = False) -> np.ndarray:
    """The section ``1 / A(z)`` of a section's denominator (``1 / A(z) - 1`` with
    *minus_one*), the path of an error injected into its output."""
    _, _, _, _, a1, a2 = (float(v) for v in row)
    if minus_one:
        return np.array([[0.0, -a1, -a2, 1.0, a1, a2]])
    return np.array([[1.0, 0.0, 0.0, 1.0, a1, a2]])


def _sum_bound(row, u, y) -> tuple[float, float]:
    """A bound of the section sum ``b0 u + b1 u1 + b2 u2 - a1 y1 - a2 y2`` for samples in
    *u* and *y* (the delayed ones possibly 0, from reset)."""
    b0, b1, b2, _, a1, a2 = (float(v) for v in row)
    u0, y0 = _hull0(u), _hull0(y)
    acc = _mul(b0, u)
    for c, iv in ((b1, u0), (b2, u0), (-a1, y0), (-a2, y0)):
        acc = _add(acc, _mul(c, iv))
    return acc


def _recorded_sums(row, u, y, df1: bool):
    """Bounds of the products, the partial sums and (df2t) the states one section reports
    while recording (float64 values computed from its input samples in *u* and its outputs
    in *y*: see ``fixsim._kernels._emit``), widened by a relative ``1e-12`` of the sums of
    magnitudes for the float rounding of those sums; ``(prod, acc, state)``."""
    b0, b1, b2, _, a1, a2 = (float(v) for v in row)
    u0, y0 = _hull0(u), _hull0(y)
    mag = (abs(b0) + abs(b1) + abs(b2)) * max(abs(u[0]), abs(u[1])) + \
        (abs(a1) + abs(a2)) * max(abs(y[0]), abs(y[1]))
    pad = 1e-12 * mag
    acc, state = _Hull(), _Hull()
    if df1:
        prods = [_mul(b0, u), _mul(b1, u0), _mul(b2, u0), _mul(-a1, y0), _mul(-a2, y0)]
        r = prods[0]
        acc.add(*r)
        for p in prods[1:]:
            r = _add(r, p)
            acc.add(*r)
    else:
        prods = [_mul(b0, u), _mul(b1, u), _mul(a1, y), _mul(b2, u), _mul(a2, y)]
        z2 = _add(prods[3], _neg(prods[4]))
        mm = _add(prods[1], _hull0(z2))
        z1 = _add(mm, _neg(prods[2]))
        for iv in (mm, z1, z2):
            acc.add(*iv)
        for iv in (z1, z2):
            state.add(*iv)
    prod = _Hull()
    for p in prods:
        prod.add(*p)

    def padded(h):
        lo, hi = h.get()
        return lo - pad, hi + pad

    return padded(prod), padded(acc), padded(state)


# -- impulse-response bounds ---------------------------------------------------------------------
_MARGIN = 1e-9  # relative margin covering float rounding in the explicit terms


def _cascade_ss(sos: np.ndarray):
    """State-space ``(A, B, C, D)`` of a cascade of sections (each in direct form II)."""
    A = np.zeros((0, 0))
    B = np.zeros((0, 1))
    C = np.zeros((1, 0))
    D = np.ones((1, 1))
    for b0, b1, b2, _, a1, a2 in sos:
        As = np.array([[-a1, -a2], [1.0, 0.0]])
        Bs = np.array([[1.0], [0.0]])
        Cs = np.array([[b1 - b0 * a1, b2 - b0 * a2]])
        Ds = np.array([[b0]])
        m = A.shape[0]
        A2 = np.zeros((m + 2, m + 2))
        A2[:m, :m] = A
        A2[m:, :m] = Bs @ C
        A2[m:, m:] = As
        B = np.vstack([B, Bs @ D])
        C = np.hstack([Ds @ C, Cs])
        D = Ds @ D
        A = A2
    return A, B, C, D


def impulse_bound(sos: np.ndarray, tol: float = 1e-12, nmax: int = 1 << 22):
    """``(h, tail, l1)``: the first terms ``h`` of the cascade's impulse response, a bound
    ``tail >= sum_{n >= len(h)} |h[n]|``, and ``l1 = (sum|h| + tail) (1 + 1e-9)``.

    The tail bound: with the state-space model ``(A, B, C, D)`` (``h[n] = C A^(n-1) B``), a
    power ``K`` with ``||A^K||_inf <= 1/2`` and ``s = A^(N-1) B``,
    ``sum_{n>=N} |h[n]| <= 2 * sum_{i<K} ||C A^i||_1 * ||s||_inf``. ``N`` doubles until the
    tail is below ``tol`` times the sum. An unstable cascade (``||A^K||`` never shrinks) gives
    ``l1 = inf``.
    """
    sos = np.atleast_2d(np.asarray(sos, dtype=np.float64))
    if sos.shape[0] == 0:
        return np.ones(1), 0.0, 1.0
    A, B, C, _ = _cascade_ss(sos)
    P = A.copy()
    K = 1
    while np.abs(P).sum(axis=1).max() > 0.5:
        if K >= nmax:
            return np.zeros(0), math.inf, math.inf
        with np.errstate(over="ignore", invalid="ignore"):
            P = P @ P
        K *= 2
        if not np.all(np.isfinite(P)):
            return np.zeros(0), math.inf, math.inf
    row = C.copy()
    SK = 0.0
    for _ in range(K):
        SK += float(np.abs(row).sum())
        row = row @ A
    N = 256
    x = np.zeros(N)
    while True:
        x = np.zeros(N)
        x[0] = 1.0
        h = _sps.sosfilt(sos, x)
        s = np.linalg.matrix_power(A, N - 1) @ B
        tail = 2.0 * SK * float(np.abs(s).max())
        total = float(np.abs(h).sum())
        if tail <= tol * max(total, 1e-300) or N >= nmax:
            break
        N *= 2
    return h, tail, (total + tail) * (1.0 + _MARGIN)


def _range_from(sos: np.ndarray, lo: float, hi: float) -> tuple[float, float]:
    """Guaranteed ``(min, max)`` of the cascade's output from reset for inputs in [lo, hi]."""
    h, tail, l1 = impulse_bound(sos)
    if not math.isfinite(l1):
        return -math.inf, math.inf
    M = max(abs(lo), abs(hi))
    mn = np.cumsum(np.minimum(h * lo, h * hi))
    mx = np.cumsum(np.maximum(h * lo, h * hi))
    pad = _MARGIN * l1 * M
    lo_b = min(float(mn.min()), float(mn[-1]) - tail * M) - pad
    hi_b = max(float(mx.max()), float(mx[-1]) + tail * M) + pad
    return lo_b, hi_b
