"""Biquad cascades (second-order sections), direct form I and direct form II transposed, in
double and in fixed point (as MATLAB's ``dsp.SOSFilter`` / ``dsp.BiquadFilter``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
from scipy import signal as _sps

from .._core._fi import fi, make_fi
from .._core._modes import Overflow, Rounding
from .._core._numerictype import numerictype
from .._core._quantize import storage_kind
from .._core._rules import ideal_mul
from .._kernels import lazy
from ._block import (
    Block,
    TypeLike,
    as_type,
    block_modes,
    check_wrap_sm,
    fi_stored,
    named_cast,
    quantize_values,
    report,
    width,
)

_kf = lazy("fixsim._kernels._filters")

__all__ = ["SOSFilter", "Biquad"]

_SOSFREQZ = getattr(_sps, "freqz_sos", None) or _sps.sosfreqz


def _pair(value, argument: str, blk: str) -> tuple[numerictype | None, numerictype | None]:
    """A type argument given once for both, or as ``(numerator, denominator)``."""
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ValueError(f"{blk}: {argument} must be one type or a (numerator, "
                             f"denominator) pair, got {value!r}.")
        return as_type(value[0], argument, blk), as_type(value[1], argument, blk)
    t = as_type(value, argument, blk)
    return t, t


class SOSFilter(Block):
    """A cascade of second-order sections (biquads), in double or in fixed point, streaming.

    Parameters
    ----------
    sos : array_like, shape (L, 6)
        Sections ``[b0, b1, b2, 1, a1, a2]`` as ``scipy.signal`` returns them
        (``butter(..., output='sos')``); ``a0`` must be 1. Gains belong in the ``b``.
    name : str
        Block name: the quantizations are named ``"<name>.<signal>"`` for ``coef``, ``in``
        (input to section type), ``product``, ``acc``, ``state`` (df2t), ``section`` (every
        section's output) and ``out``.
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
    otherwise ``ValueError``.

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

    def __init__(self, sos, *, name: str = "sos", form: str = "df2t",
                 coef_type=None, state_type: TypeLike = None, product_type=None,
                 acc_type: TypeLike = None, output_type: TypeLike = None,
                 section_type: TypeLike = None, rounding: str | Rounding = "nearest",
                 overflow: str | Overflow = "saturate") -> None:
        blk = f"SOSFilter {name!r}"
        self._blk = blk
        self.name = str(name)
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
        self.n_sections = sos.shape[0]
        cb, ca = _pair(coef_type, "coef_type", blk)
        self.product_type_arg = _pair(product_type, "product_type", blk)
        self.acc_type = as_type(acc_type, "acc_type", blk)
        self.state_type = as_type(state_type, "state_type", blk)
        self.output_type = as_type(output_type, "output_type", blk)
        self.section_type = as_type(section_type, "section_type", blk)
        probe = f"{self.name}.coef"
        qb, nb_ = quantize_values(sos[:, 0:3].ravel(), cb, self.rounding, self.overflow, probe)
        qa, na_ = quantize_values(sos[:, 4:6].ravel(), ca, self.rounding, self.overflow, probe)
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
        self._st = np.zeros((self.n_sections, 4 if self.form == "df1" else 2), dtype=np.int64)

    # -- state --------------------------------------------------------------------------------
    def _reset_state(self) -> None:
        self._zi = np.zeros((self.n_sections, 2), dtype=np.float64)

    # -- filtering ----------------------------------------------------------------------------
    def _filt_double(self, xv: np.ndarray) -> np.ndarray:
        if xv.size == 0:
            return np.zeros(0)
        y, self._zi = _sps.sosfilt(self.sos, xv, zi=self._zi)
        return y

    def _filt_fixed(self, x: fi) -> fi:
        Tx = x.numerictype
        if self._tin is None:
            self._plan(Tx)
        elif Tx != self._tin:
            raise ValueError(f"{self._blk}: the input type changed from {self._tin} to {Tx}; "
                             "cast the input, or call reset().")
        t = self._t
        for T, counts in self._coef_counts:
            report(f"{self.name}.coef", T, *counts)
        S = t["section"]
        u = named_cast(fi_stored(x), Tx, S, self.rounding, self.overflow, f"{self.name}.in")
        n = u.shape[0]
        out = np.empty(n, dtype=np.int64)
        cnt = np.zeros((4, 2), dtype=np.int64)
        if n:
            kern = _kf.sos_df1 if self.form == "df1" else _kf.sos_df2t
            kern(np.ascontiguousarray(u, dtype=np.int64), self._b64, self._a64, self._tp,
                 self._sh, int(self.rounding), int(self.overflow), self._st, out, cnt)
        nl = n * self.n_sections
        n_acc = 9 if self.form == "df1" else 11
        report(f"{self.name}.product", t["num_product"], 5 * nl, int(cnt[0, 0]),
               int(cnt[0, 1]))
        report(f"{self.name}.acc", t["acc"], n_acc * nl, int(cnt[1, 0]), int(cnt[1, 1]))
        if self.form == "df2t":
            report(f"{self.name}.state", t["state"], 2 * nl, int(cnt[2, 0]), int(cnt[2, 1]))
        report(f"{self.name}.section", S, nl, int(cnt[3, 0]), int(cnt[3, 1]))
        y = named_cast(out, S, t["out"], self.rounding, self.overflow, f"{self.name}.out")
        return make_fi(y, t["out"])

    # -- analysis -----------------------------------------------------------------------------
    def freqz(self, worN: int | Sequence[float] | np.ndarray = 512, *, quantized: bool = True,
              fs: float = 2 * np.pi) -> tuple[np.ndarray, np.ndarray]:
        """Frequency response of the quantized (or original) sections, via
        ``scipy.signal.sosfreqz``.

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

    def worst_case_output_range(self, lo: float, hi: float, *, quantized: bool = True,
                                tol: float = 1e-12) -> tuple[float, float]:
        """Bounds of the output (before the output cast) for inputs in ``[lo, hi]``.

        The extremes over ``n`` of ``sum_{k<=n} min(h[k] lo, h[k] hi)`` and of the same sum of
        ``max``, for the impulse response ``h`` of the (quantized) cascade in double precision
        (from reset), summed until the tail is below
        ``tol`` relative to the sum of ``|h|`` (a linear model: the fixed-point rounding noise
        and limit cycles are not included). An unstable cascade gives ``(-inf, inf)``.

        Returns
        -------
        (float, float)
        """
        flo, fhi = float(Fraction(lo)), float(Fraction(hi))
        if flo > fhi:
            raise ValueError(f"{self._blk}: lo={lo} is above hi={hi}.")
        sos = self.quantized_sos if quantized else self.sos
        r = 0.0
        for s in sos:
            poles = np.roots(s[3:6])
            if poles.size:
                r = max(r, float(np.max(np.abs(poles))))
        if r >= 1.0:
            return -math.inf, math.inf
        # the tail after n samples decays as r**n (times a polynomial factor for repeated poles)
        n = 64 if r == 0.0 else int(min(max(64, 4 * math.log(tol) / math.log(r)), 1 << 22))
        h = self.impulse_response(n, quantized=quantized)
        # from reset, y[n] only sees h[0..n]: the extremes over the prefixes
        lo_sum = float(np.min(np.cumsum(np.minimum(h * flo, h * fhi))))
        hi_sum = float(np.max(np.cumsum(np.maximum(h * flo, h * fhi))))
        return lo_sum, hi_sum

    def __repr__(self) -> str:
        return (f"SOSFilter(name={self.name!r}, sections={self.n_sections}, form={self.form!r}, "
                f"rounding='{self.rounding}', overflow='{self.overflow}')")


Biquad = SOSFilter
