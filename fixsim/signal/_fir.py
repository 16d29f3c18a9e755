"""FIR filter block (direct, transposed, symmetric and antisymmetric form), in double and in
fixed point."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np
from scipy import signal as _sps

from .._core._fi import fi, make_fi
from .._core._interval import Interval, _overflow_ints, _round_frac
from .._core._modes import Overflow, Rounding
from .._core._numerictype import MAX_WORD_LENGTH, numerictype
from .._core._quantize import storage_kind
from .._core._rules import growth_bits, ideal_mul
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
    fraction_values,
    holds,
    interval_hull,
    interval_type,
    pick_type,
    probe,
    quantize_values,
    range_of,
    real_array,
    report,
    table_is_double,
    width,
)

_kf = lazy("fixsim._kernels._filters")
_ke = lazy("fixsim._kernels._emit")

__all__ = ["FIR"]

# float64 holds every integer of magnitude <= 2**53 exactly
_FLOAT_EXACT = 1 << 53
_INT64_LIMIT = 1 << 63
_FORMS = ("direct", "transposed", "symmetric", "antisymmetric")
# relative tolerance of the (anti)symmetry check on float coefficients
_SYM_TOL = 1e-9


class FIR(Block):
    """FIR filter ``y[n] = sum_k h[k] x[n-k]``, in double or in fixed point, streaming.

    Parameters
    ----------
    coefs : array_like or fi
        Impulse response ``h`` (1-D). A fi keeps its type unless *coef_type* is given.
    name : str
        Block name: the block's signals are named ``"<name>.<signal>"``: ``coef``, ``in``,
        ``preadd`` (symmetric forms), ``product``, ``acc`` and ``out`` (see Notes).
    coef_type, input_type, preadd_type, product_type, acc_type, output_type : numerictype or str
        Types of the internal signals (optional). Defaults (MATLAB ``dsp.FIRFilter`` full
        precision): coefficients signed 16-bit with best-precision scaling; input: the input
        fi's type; pre-adder (symmetric forms): the input type with one more bit (signed for
        the antisymmetric form); product: ``input x coef`` full precision (``W = Wx + Wc``,
        ``F = Fx + Fc``; the pre-adder replaces the input in the symmetric forms); accumulator:
        the product type grown by ``ceil(log2(number of products))`` bits (exact); output: the
        accumulator type.
    rounding, overflow : str
        Modes of every cast of the block (coefficients, input, pre-adder, products,
        accumulator, output). Stochastic rounding is not supported.
    form : {'direct', 'transposed', 'symmetric', 'antisymmetric'}
        Direct form: each output sums the cast products of taps ``0, 1, ..., N-1`` in that
        order, each product cast to the accumulator type and each partial sum cast to the
        accumulator type. Transposed form: register ``z[k]`` (accumulator type) holds
        ``cast(h[k] x[n] + z[k+1])``, and ``y[n] = cast(h[0] x[n] + z[1])``. Symmetric
        (``h[k] == h[N-1-k]``) and antisymmetric (``h[k] == -h[N-1-k]``) forms, as MATLAB's
        'Direct form symmetric' / 'antisymmetric': for ``k = 0 .. N//2 - 1`` the pre-adder
        ``cast_pre(x[n-k] +- x[n-N+1+k])`` is multiplied by ``h[k]``; for odd ``N`` the
        symmetric form adds the middle tap ``h[(N-1)/2] cast_pre(x[n-(N-1)/2])`` last (the
        antisymmetric form's middle coefficient is 0 and is dropped). Products and partial
        sums are cast as in the direct form. Only the first half of the coefficients is
        quantized and stored; the second half mirrors it exactly. With exact
        (full-precision) types every form gives the same bits; with narrower types they
        differ, as in hardware.
    types : fixsim.TypeTable, optional
        A type table: an explicit type argument wins, then the table's fixed type for
        ``"<name>.<signal>"``, else the full-precision default. When the table sets every
        signal of the block to ``'double'`` (``T.as_double()``), the block runs in double mode
        even for a fi input (returning float64).

    Notes
    -----
    *Double mode* (any input that is not a fi): ``sum_k h[k] x[n-k]`` in float64 with the
    unquantized coefficients, summed in increasing ``k`` (a numba loop), so that a signal
    streamed in frames gives bit-identical results to one call; it matches
    ``scipy.signal.lfilter(coefs, 1, x)`` to float precision (whose own frame-by-frame
    results, with ``zi``, are not bit-identical to one call).

    *Fixed mode* (a fi input): the result is a fi of the output type. When the pre-adder,
    product and accumulator types hold every exact value (the defaults do), the filter is an
    exact integer convolution followed by one cast into the output type: float64
    (``sum|h| * max|x| <= 2**53`` in stored integers), a numba int64 kernel when it is below
    ``2**63``, Python ints beyond. Otherwise a per-sample numba kernel does every cast; it needs
    ``width(x) + width(h) <= 64`` (the pre-adder's width in the symmetric forms) and
    pre-adder/accumulator/product types of at most 63 bits (``ValueError`` otherwise).

    *Signals* (reported to the fixed-point tool while it records, in both modes): ``coef``
    (the coefficients before their cast), ``in`` (the input), ``preadd`` (pre-adder sums),
    ``product`` (every tap product), ``acc`` (every partial sum in the form's summation order)
    and ``out`` (the accumulator before the output cast), each signal as one event per frame
    holding every tap's values, tap after tap in summation order (frames of more than 65536
    values per signal in several events). The values are those of exact arithmetic on the
    quantized coefficients and input; the overflow counts are those of the actual casts.

    *Interval input* (:class:`fixsim.tool.Interval`): returns the output's worst-case range
    (the same bound for every sample) and reports the derived ranges of ``coef``, ``in``,
    ``preadd``, ``product``, ``acc`` and ``out``, for a run from reset (the zero history
    included: products, pre-adder sums and transposed registers take 0 at first). A typed
    Interval (a fi in the run) stands for a fixed run: the quantized coefficients, the input
    cast into ``input_type``, every cast of the form (pre-adder, products, accumulator) and
    the output cast, with the block's rounding and overflow; an untyped one (or an
    all-``'double'`` table) for a double run: the designed coefficients and float64's
    rounding. Where nothing rounds, the bounds are the exact worst case (see
    :meth:`worst_case_output_range`).

    State: the last ``ntaps - 1`` input samples (and the transposed registers on the
    per-sample path), so a signal split into frames at any points gives the same result as one
    call. The first fixed call fixes the input type; call :meth:`reset` to change it.

    Examples
    --------
    >>> import numpy as np
    >>> from fixsim import fi
    >>> from fixsim.signal import FIR
    >>> f = FIR([0.25, 0.5, 0.25], coef_type='sfix16_En15', output_type='sfix16_En14')
    >>> f(fi([1.0, 0.0, 0.0, 0.5], 1, 16, 14)).data
    array([0.25 , 0.5  , 0.25 , 0.125])
    """

    #: frames of at least this many products run a loop compiled for the block's (rounding,
    #: overflow) pair (once per machine); shorter ones share one loop for every mode
    SPECIALISE_MIN = 200_000

    def __init__(self, coefs, *, name: str = "fir", coef_type: TypeLike = None,
                 input_type: TypeLike = None, preadd_type: TypeLike = None,
                 product_type: TypeLike = None, acc_type: TypeLike = None,
                 output_type: TypeLike = None, rounding: str | Rounding = "nearest",
                 overflow: str | Overflow = "saturate", form: str = "direct",
                 types=None) -> None:
        blk = f"{type(self).__name__} {name!r}"
        self.name = block_name(name, blk)
        self._blk = blk
        self.rounding, self.overflow = block_modes(rounding, overflow, blk)
        if form not in _FORMS:
            raise ValueError(f"{blk}: form={form!r} is not valid; valid: "
                             f"{', '.join(repr(f) for f in _FORMS)}.")
        self.form = form
        self.type_table = check_table(types, blk)
        raw = coefs.data if isinstance(coefs, fi) else real_array(coefs, "coefs", blk)
        raw = np.atleast_1d(np.array(raw, dtype=np.float64))
        if raw.ndim != 1 or raw.size == 0:
            raise ValueError(f"{blk}: coefs must be a non-empty 1-D array (got shape "
                             f"{raw.shape}).")
        if not np.all(np.isfinite(raw)):
            raise ValueError(f"{blk}: coefs must be finite.")
        self.coefs = raw
        self.ntaps = raw.size

        def typ(arg, sig):
            return pick_type(as_type(arg, f"{sig}_type", blk), types, f"{self.name}.{sig}", blk)

        self.coef_type_arg = typ(coef_type, "coef")
        self.input_type = pick_type(as_type(input_type, "input_type", blk), types,
                                    f"{self.name}.in", blk)
        self.preadd_type = typ(preadd_type, "preadd")
        self.product_type = typ(product_type, "product")
        self.acc_type = typ(acc_type, "acc")
        self.output_type = pick_type(as_type(output_type, "output_type", blk), types,
                                     f"{self.name}.out", blk)
        self._table_double = table_is_double(types, self.name)
        self._sign = {"symmetric": 1, "antisymmetric": -1}.get(form, 0)
        self._quantize_coefs(coefs, raw)
        self.reset()

    # -- coefficients -------------------------------------------------------------------------
    def _quantize_coefs(self, coefs, raw: np.ndarray) -> None:
        blk = self._blk
        probe_name = f"{self.name}.coef"
        cin = coefs.ravel() if isinstance(coefs, fi) else raw
        if not self._sign:
            self.quantized_coefs, self._coef_counts = quantize_values(
                cin, self.coef_type_arg, self.rounding, self.overflow, probe_name)
            self.coef_type = self.quantized_coefs.numerictype
            return
        sign, nt = self._sign, self.ntaps
        scale = float(np.max(np.abs(raw))) if raw.size else 0.0
        if np.any(np.abs(raw - sign * raw[::-1]) > _SYM_TOL * scale):
            k = int(np.argmax(np.abs(raw - sign * raw[::-1])))
            raise ValueError(f"{blk}: form={self.form!r} needs h[k] == "
                             f"{'' if sign > 0 else '-'}h[N-1-k]; h[{k}]={raw[k]!r} and "
                             f"h[{nt - 1 - k}]={raw[nt - 1 - k]!r} differ. Use form='direct'.")
        half = (nt + 1) // 2
        q, self._coef_counts = quantize_values(cin[:half], self.coef_type_arg, self.rounding,
                                               self.overflow, probe_name)
        Tc = q.numerictype
        hq = [int(v) for v in np.ravel(fi_stored(q))]
        if sign < 0 and nt % 2 == 1:
            hq[-1] = 0  # the antisymmetric middle coefficient is zero (checked above)
        mirror = [sign * v for v in hq[: nt // 2]][::-1]
        if any(not (Tc.int_min <= v <= Tc.int_max) for v in mirror):
            raise ValueError(f"{blk}: the antisymmetric mirror of a coefficient at the most "
                             f"negative value of {Tc} does not fit {Tc}; choose a wider "
                             "coef_type.")
        self.quantized_coefs = fi.from_int(hq + mirror, Tc).removefimath()
        self.coef_type = Tc

    # -- types --------------------------------------------------------------------------------
    def types(self, input_type: TypeLike = None) -> dict[str, numerictype]:
        """The block's types for an input of type *input_type* (or the one in use).

        Returns
        -------
        dict
            ``{'coef', 'input', 'product', 'acc', 'out'}`` to numerictype, and ``'preadd'`` in
            the symmetric forms.
        """
        Tin = self.input_type or as_type(input_type, "input_type", self._blk) or self._tin
        if Tin is None:
            raise ValueError(f"{self._blk}: the input type is not known yet; pass input_type.")
        Tc = self.coef_type
        t = {"coef": Tc, "input": Tin}
        if self._sign:
            E = self.preadd_type or numerictype(
                Tin.signed or self._sign < 0, min(Tin.word_length + 1 + (
                    1 if (self._sign < 0 and not Tin.signed) else 0), MAX_WORD_LENGTH),
                Tin.fraction_length)
            t["preadd"] = E
            mul_in = E
        else:
            mul_in = Tin
        P = self.product_type or ideal_mul(mul_in, Tc)
        A = self.acc_type or numerictype(
            P.signed, min(P.word_length + growth_bits(self.n_products), MAX_WORD_LENGTH),
            P.fraction_length)
        t.update(product=P, acc=A, out=self.output_type or A)
        return t

    @property
    def n_products(self) -> int:
        """Products summed per output (``ceil(N/2)`` symmetric, ``N//2`` antisymmetric)."""
        if self._sign > 0:
            return (self.ntaps + 1) // 2
        if self._sign < 0:
            return max(1, self.ntaps // 2)
        return self.ntaps

    def _plan(self, Tin: numerictype) -> None:
        """Fix the types for input type *Tin* and choose the computation path."""
        t = self.types(Tin)
        for what in ("product", "acc", "out", "preadd"):
            if what in t:
                check_wrap_sm(t[what], self.overflow, what, self._blk)
        if self.input_type is not None:
            check_wrap_sm(t["input"], self.overflow, "input", self._blk)
        self._t = t
        self._tin = Tin
        Tc, P, A, Tx = t["coef"], t["product"], t["acc"], t["input"]
        h = fi_stored(self.quantized_coefs)
        self._h = h
        hv = [int(v) for v in h]
        sat_sym = self.overflow == Overflow.SAT_SYM
        xlo, xhi = Tx.int_min, Tx.int_max
        f_exact = Tx.fraction_length + Tc.fraction_length
        ok_ideal = Tx.word_length + Tc.word_length <= MAX_WORD_LENGTH
        # the products of the form, each with its multiplicand's range (stored integers at
        # fraction f_in): direct/transposed: every tap times x; symmetric: the half taps times
        # the pre-adder (and the middle tap times x, cast into the pre-adder type)
        if self._sign:
            E = t["preadd"]
            plo, phi = ((2 * xlo, 2 * xhi) if self._sign > 0 else (xlo - xhi, xhi - xlo))
            pre_exact = holds(E, plo, phi, Tx.fraction_length, sat_sym) and holds(
                E, xlo, xhi, Tx.fraction_length, sat_sym)
            k = E.fraction_length - Tx.fraction_length
            rng = (plo << k, phi << k) if pre_exact else (E.int_min, E.int_max)
            mid = (xlo << k, xhi << k) if pre_exact else (E.int_min, E.int_max)
            half = self.ntaps // 2
            terms = [(hv[i], *rng) for i in range(half)]
            if self._sign > 0 and self.ntaps % 2:
                terms.append((hv[half], *mid))
            f_in, w_in = E.fraction_length, width(E)
        else:
            pre_exact = True
            terms = [(c, xlo, xhi) for c in hv]
            f_in, w_in = Tx.fraction_length, width(Tx)
        f_prod = f_in + Tc.fraction_length
        pmin = [min(c * a, c * b) for c, a, b in terms] or [0]  # (no terms: N = 1, antisym.)
        pmax = [max(c * a, c * b) for c, a, b in terms] or [0]
        prod_exact = ok_ideal and holds(P, min(pmin), max(pmax), f_prod, sat_sym)
        # every partial sum (in any order) is a subset sum: within [sum of negative parts,
        # sum of positive parts]
        slo = sum(min(0, v) for v in pmin)
        shi = sum(max(0, v) for v in pmax)
        acc_exact = holds(A, slo, shi, f_prod, sat_sym)
        self._fast = pre_exact and prod_exact and acc_exact
        # the exact-convolution bound (the full h, at fraction f_exact): every partial sum of
        # sum_k h[k] x[n-k] has magnitude <= sum|h| * max|x|
        self._bound = sum(abs(c) for c in hv) * max(abs(xlo), abs(xhi))
        self._exact_type = numerictype(True, max(2, min(self._bound.bit_length() + 1,
                                                        MAX_WORD_LENGTH)), f_exact)
        bad = [f"{w}={width(T)}" for w, T in (("product", P), ("acc", A)) if width(T) > 63]
        if self._sign:
            if width(t["preadd"]) > 63:
                bad.append(f"preadd={width(t['preadd'])}")
            if width(Tx) > 62:
                bad.append(f"input={width(Tx)}")
        if w_in + width(Tc) > 64:
            bad.append(f"{'preadd' if self._sign else 'input'}+coef={w_in + width(Tc)}")
        self._kernel_ok = not bad and storage_kind(Tx) == "i64" and storage_kind(Tc) == "i64"
        if not self._fast and not self._kernel_ok:
            raise ValueError(
                f"{self._blk}: with a product or accumulator type that does not hold every "
                f"exact value, the filter runs a per-sample int64 loop, which needs "
                f"width(input) + width(coef) <= 64 and product/accumulator widths <= 63 "
                f"(got {', '.join(bad) or 'storage wider than int64'}). Choose narrower types, "
                "or full-precision product and accumulator types.")
        self._zb = None
        if self._kernel_ok:
            rows = [_kf.type_row(P.word_length, P.signed), _kf.type_row(A.word_length, A.signed)]
            E = t.get("preadd", P)
            rows.append(_kf.type_row(E.word_length, E.signed) if self._sign else rows[0])
            self._tp = np.array(rows, dtype=np.int64)
            self._sh = np.array([f_prod - P.fraction_length, P.fraction_length - A.fraction_length,
                                 Tx.fraction_length - (E.fraction_length if self._sign else 0)],
                                dtype=np.int64)
            self._h64 = np.ascontiguousarray(h, dtype=np.int64)
            self._z = np.zeros(self.ntaps, dtype=np.int64)
            # the direct form's counts from a per-frame proof (see fir_direct_counts)
            self._zb = (_kf.zero_bounds(self._sh, int(self.rounding))
                        if not self._sign and _kf.counts_by_proof(
                            self._sh, int(self.rounding), int(self.overflow)) else None)
        kind = storage_kind(Tx)
        # the fused path: the exact convolution and the output cast in one kernel (int64
        # stored input and output, a cast by at most 62 bits either way, sums exact in float64
        # or int64)
        To = t["out"]
        self._d_out = f_exact - To.fraction_length
        self._fused = (self._fast and kind == "i64" and h.dtype == np.int64
                       and storage_kind(To) == "i64" and width(To) <= 63
                       and -62 <= self._d_out <= 62 and self._bound < _INT64_LIMIT)
        if self._fused:
            hr = np.ascontiguousarray(h[::-1])
            self._hr = hr.astype(np.float64) if self._bound <= _FLOAT_EXACT else hr
            self._tp_out = np.array([_kf.type_row(To.word_length, To.signed)], dtype=np.int64)
        self._hist = np.zeros(self.ntaps - 1, dtype={"i64": np.int64, "u64": np.uint64}.get(
            kind, object))

    # -- state --------------------------------------------------------------------------------
    def _reset_state(self) -> None:
        self._zi = np.zeros(self.ntaps - 1, dtype=np.float64)
        self._phase = 0

    def _positions(self, n: int) -> tuple[int, int, int]:
        """``(start, step, count)``: the outputs of a frame of *n* new samples, as positions
        ``start + j step`` in the history-extended frame (FIR: every new sample)."""
        return self.ntaps - 1, 1, n

    def _advance(self, n: int) -> None:
        """Move the phase on by *n* input samples (decimators)."""

    # -- filtering ----------------------------------------------------------------------------
    def _filt_double(self, xv: np.ndarray) -> np.ndarray:
        ext = np.concatenate([self._zi, xv])
        start, step, cnt = self._positions(xv.size)
        y = np.empty(cnt)
        if step == 1:
            _kf.fir_f64(ext, self.coefs, y)
        else:
            _kf.fir_f64_strided(ext, self.coefs, start, step, y)
        if self.ntaps > 1:
            self._zi = ext[-(self.ntaps - 1):].copy()
        self._advance(xv.size)
        if signals_active():
            self._emit("double", ext, start, step, cnt, self.coefs, xv, y, y, {})
        return y

    def _filt_fixed(self, x: fi) -> fi:
        Tx_in = x.numerictype
        if self._tin is None:
            self._plan(self.input_type or Tx_in)
        t = self._t
        Tx = t["input"]
        ints = fi_stored(x)
        x_in = x
        if self.input_type is not None:
            if cast_changes(Tx_in, Tx, self.overflow):
                ints, *_ = cast_counted(ints, Tx_in, Tx, self.rounding, self.overflow,
                                        f"{self.name}.in")
        elif Tx_in != Tx:
            raise ValueError(f"{self._blk}: the input type changed from {Tx} to {Tx_in}; cast "
                             "the input, give input_type, or call reset().")
        report(f"{self.name}.coef", t["coef"], *self._coef_counts)
        n = ints.shape[0]
        nt = self.ntaps
        start, step, cnt_out = self._positions(n)
        if (self._fused and cnt_out and ints.dtype == np.int64
                and self._hist.dtype == np.int64 and not signals_active()):
            return self._filt_fused(ints, start, step, cnt_out)
        ext = np.concatenate([self._hist, ints]) if nt > 1 else ints
        counts = {}
        if cnt_out == 0:
            acc = np.zeros(0, dtype=np.int64)
            src = t["acc"]
        elif self._fast:
            acc = self._exact_conv(ext, start, step, cnt_out)
            src = self._exact_type
        else:
            acc = np.empty(cnt_out, dtype=np.int64)
            cnt = np.zeros((3, 2), dtype=np.int64)
            rm, om, c = int(self.rounding), int(self.overflow), counting()
            spec = cnt_out * self.ntaps >= self.SPECIALISE_MIN
            e64 = np.ascontiguousarray(ext, dtype=np.int64)
            if self._sign:
                _kf.kernel("fir_symmetric", rm, om, c, spec, self._sh)(
                    e64, self._h64, self._sign, self._tp, self._sh, start, step, rm, om, acc, cnt)
            elif self.form == "direct":
                if c and self._zb is not None and _kf.fir_direct_counts(
                        e64, self._h64, self._tp, self._sh, start, step, cnt_out, rm, om,
                        self._zb, cnt):
                    c = False  # no cast overflows in this frame; underflows counted
                _kf.kernel("fir_direct", rm, om, c, spec, self._sh[:2])(
                    e64, self._h64, self._tp, self._sh, start, step, rm, om, acc, cnt)
            else:
                _kf.kernel("fir_transposed", rm, om, c, spec,
                                 self._sh[:2])(
                    np.ascontiguousarray(ints, dtype=np.int64), self._h64, self._tp, self._sh,
                    rm, om, self._z, acc, cnt)
            counts = {"product": cnt[0], "acc": cnt[1], "preadd": cnt[2]}
            src = t["acc"]
        npr = cnt_out * self.n_products
        if self._sign:
            c = counts.get("preadd", (0, 0))
            report(f"{self.name}.preadd", t["preadd"], npr, int(c[0]), int(c[1]))
        c = counts.get("product", (0, 0))
        report(f"{self.name}.product", t["product"], npr, int(c[0]), int(c[1]))
        c = counts.get("acc", (0, 0))
        report(f"{self.name}.acc", t["acc"], 2 * npr - cnt_out, int(c[0]), int(c[1]))
        if nt > 1:
            self._hist = ext[-(nt - 1):].copy()
        self._advance(n)
        out, no, nu = cast_counted(acc, src, t["out"], self.rounding, self.overflow,
                                   f"{self.name}.out")
        y = make_fi(out, t["out"])
        if signals_active():
            fx_ = Tx.fraction_length
            xe = np.asarray(ext, dtype=np.float64) * 2.0 ** -fx_
            xv = x_in.data
            accv = np.asarray(acc, dtype=np.float64) * 2.0 ** -src.fraction_length
            counts["out"] = (no, nu)
            self._emit("fixed", xe, start, step, cnt_out, self.quantized_coefs.data, xv, accv,
                       y, counts)
        return y

    def _filt_fused(self, ints: np.ndarray, start: int, step: int, count: int) -> fi:
        """The full-precision frame in one kernel: the exact convolution of the history and
        *ints* (int64 stored integers) fused with the output cast (see
        :func:`fixsim._kernels._filters.fir_exact`); no history-extended, float64 or
        accumulator array is built. Bit-identical to :meth:`_exact_conv` followed by the output
        cast (the same exact sums, the same single-value cast)."""
        t = self._t
        rm, om = int(self.rounding), int(self.overflow)
        spec = count * self.ntaps >= self.SPECIALISE_MIN
        kern = _kf.kernel("fir_exact", rm, om, counting(), spec, (self._d_out,))
        x = np.ascontiguousarray(ints)
        out = np.empty(count, dtype=np.int64)
        no, nu = _kf.fir_exact_split(kern, self._hist, x, self._hr, start, step, self._d_out,
                                     self._tp_out, rm, om, out, _kf.SPLIT_MIN)
        npr = count * self.n_products
        if self._sign:
            report(f"{self.name}.preadd", t["preadd"], npr, 0, 0)
        report(f"{self.name}.product", t["product"], npr, 0, 0)
        report(f"{self.name}.acc", t["acc"], 2 * npr - count, 0, 0)
        H = self.ntaps - 1
        if H:
            n = x.shape[0]
            self._hist = (x[n - H:].copy() if n >= H
                          else np.concatenate([self._hist[n:], x]))
        self._advance(x.shape[0])
        report(f"{self.name}.out", t["out"], count, no, nu)
        return make_fi(out, t["out"])

    def _exact_conv(self, ext: np.ndarray, start: int, step: int, count: int) -> np.ndarray:
        """Exact ``sum_k h[k] ext[m - k]`` at ``m = start + j step`` (stored integers).

        Every partial sum is bounded by ``B = sum|h| * max|x|`` (stored integers):
        ``B <= 2**53`` makes float64 exact whatever the summation order (a vectorised numba
        reduction); ``B < 2**63`` keeps the numba int64 kernel exact; beyond, Python ints.
        """
        h = self._h
        B = self._bound
        if ext.dtype != object and h.dtype != object and B <= _FLOAT_EXACT:
            y = np.empty(count, dtype=np.int64)  # the exact integer sums, converted on store
            _kf.dot_exact_split(_kf.dot_exact_f64, ext.astype(np.float64),
                                h[::-1].astype(np.float64), start, step, y)
            return y
        if ext.dtype == np.int64 and h.dtype == np.int64 and B < _INT64_LIMIT:
            y = np.empty(count, dtype=np.int64)
            _kf.dot_exact_split(_kf.dot_exact_i64, ext, np.ascontiguousarray(h[::-1]), start,
                                step, y)
            return y
        eo = np.array([int(v) for v in ext], dtype=object)
        ho = [int(v) for v in h]
        nt = len(ho)
        return np.array([sum(ho[k] * eo[m - k] for k in range(nt))
                         for m in range(start, start + step * count, step)], dtype=object)

    # -- signals ------------------------------------------------------------------------------
    def _term_order(self) -> list[int]:
        """Tap (or tap-pair) indices in the form's summation order."""
        if self._sign:
            order = list(range(self.ntaps // 2))
            if self._sign > 0 and self.ntaps % 2:
                order.append(self.ntaps // 2)
            return order
        if self.form == "transposed":
            return list(range(self.ntaps))[::-1]  # registers accumulate from the last tap
        return list(range(self.ntaps))

    def _emit_terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(ks, offs, pairs, resets)`` of :func:`fixsim._kernels._emit.tap_sums` for the
        form's terms in summation order (computed once)."""
        key = (self.form, self.ntaps, self._sign)
        cached = getattr(self, "_emit_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        order = self._term_order()
        nt = self.ntaps
        ks = np.array(order, dtype=np.int64)
        pairs = np.array([nt - 1 - k if (self._sign and k < nt // 2) else -1
                          for k in order], dtype=np.int64)
        resets = np.zeros(len(order), dtype=np.int64)
        resets[:1] = 1
        terms = (ks, ks, pairs, resets)
        self._emit_cache = (key, terms)
        return terms

    def _emit(self, mode: str, xe, start, step, count, hv, xv, accv, output, counts) -> None:
        """Report the block's signals for one frame (only called while someone listens).

        One event per signal and frame: the pre-adder sums, products and partial sums of
        every term (in the form's summation order, term after term) come from one compiled
        loop (:func:`fixsim._kernels._emit.tap_sums`, the same float64 operations as the
        term-by-term numpy sums); a frame with more than ``_EMIT_CHUNK`` values per signal is
        reported in several events (of whole terms). The counts of each cast go with the last
        event of its signal.
        """
        name, t = self.name, self._t if mode == "fixed" else {}

        def T(k, explicit):
            return t.get(k, explicit)

        def cnt(k):
            return counts.get(k, (0, 0))

        # the cast's result: the quantized coefficients in fixed mode, the coefficients
        # themselves in double mode (regression: verify compared the fixed coefficients with
        # the default quantization, not with the double ones)
        probe(f"{name}.coef", self.coefs,
              self.quantized_coefs if mode == "fixed" else self.coefs,
              T("coef", self.coef_type if mode == "fixed" else self.coef_type_arg), mode,
              *self._coef_counts[1:])
        probe(f"{name}.in", xv, xv, T("input", self.input_type), mode)
        ks, offs, pairs, resets = self._emit_terms()
        emit_tap_sums(name, self._sign, xe, hv, ks, offs, pairs, resets, start, step, count,
                      mode, T("preadd", self.preadd_type), T("product", self.product_type),
                      T("acc", self.acc_type), cnt("preadd"), cnt("product"), cnt("acc"),
                      self.rounding, self.overflow)
        probe(f"{name}.out", accv, output, T("out", self.output_type), mode, *cnt("out"))

    # -- analysis -----------------------------------------------------------------------------
    def _coef_fractions(self, quantized: bool) -> list[Fraction]:
        if quantized:
            return fraction_values(fi_stored(self.quantized_coefs),
                                   self.coef_type.fraction_length)
        return [Fraction(float(v)) for v in self.coefs]

    def worst_case_output_range(self, lo: float, hi: float, *,
                                quantized: bool = True) -> tuple[float, float]:
        """Exact bounds of the accumulator (output before its cast) for inputs in ``[lo, hi]``.

        The minimum and maximum of ``sum_{k<=n} h[k] x[n-k]`` over every input sequence with
        values in ``[lo, hi]`` and every ``n >= 0`` from reset (a filter starting from zeros
        only sees the first ``n + 1`` taps): the extremes over the prefixes of
        ``sum_k min(h[k] lo, h[k] hi)`` and ``sum_k max(h[k] lo, h[k] hi)``. For ``lo <= 0 <=
        hi`` this is ``sum`` over all taps (the ``sum|h| * max|x|`` bound, exactly). Computed
        in exact rational arithmetic, then rounded to float (outward).

        Parameters
        ----------
        lo, hi : float or Fraction
            Input bounds (real-world values).
        quantized : bool
            Use the quantized coefficients (default) or the original ones.

        Returns
        -------
        (float, float)
        """
        flo, fhi = exact_bounds(lo, hi, self._blk)
        best_lo, best_hi = _prefix_extremes(
            [(c, flo, fhi) for c in self._coef_fractions(quantized)])
        return _down(best_lo), _up(best_hi)

    def _filt_interval(self, x: Interval) -> Interval:
        lo, hi = interval_hull(x, self._blk)
        count = self._interval_count(x.size)
        name = self.name
        # the run this Interval stands for: a fixed run for a typed Interval (a fi in the run)
        # unless the block's table is all 'double'; a double run otherwise (regression: an
        # untyped Interval, a float array in the run, was filtered with the quantized
        # coefficients, though the double run filters with the designed ones)
        Tx = interval_type(x)
        fixed = Tx is not None and not self._table_double
        hq = self._coef_fractions(fixed)  # the coefficients the run filters with
        # the coefficient signal's range is what arrives at its cast, the designed
        # coefficients (regression: a fixed table reported the quantized ones, which a
        # recording of the fixed run does not contain)
        hd = self._coef_fractions(False)
        range_of(f"{name}.coef", _down(min(min(hq), min(hd))), _up(max(max(hq), max(hd))))
        range_of(f"{name}.in", lo, hi)
        sigs = ["product", "acc", "out"] + (["preadd"] if self._sign else [])
        if not (np.isfinite(lo) and np.isfinite(hi)):
            why = x.reason or "the input range is unbounded"
            for s in sigs:
                range_of(f"{name}.{s}", -np.inf, np.inf, why)
            return Interval(np.full(count, -np.inf), np.full(count, np.inf), reason=why)
        xr = (Fraction(lo), Fraction(hi))
        t = None
        if fixed:
            t = self.types(Tx)
            if self.input_type is not None and cast_changes(Tx, t["input"],
                                                            self.overflow):
                # the fixed run casts the input into input_type first (regression: the
                # derived ranges filtered the uncast range)
                xr = _cast_iv(xr, t["input"], self.rounding, self.overflow)
        r = self._run_ranges(hq, xr, t)
        for s in sigs:  # (no terms, an antisymmetric single tap: 0)
            slo, shi = r.get(s, (0, 0))
            range_of(f"{name}.{s}", _down(slo), _up(shi))
        ylo, yhi = r["y"]
        return Interval(np.full(count, _down(ylo)), np.full(count, _up(yhi)))

    def _run_ranges(self, h: list[Fraction], x: tuple, t: dict | None) -> dict:
        """The ranges of the block's signals in a run from reset on inputs in *x* (after the
        input cast) with coefficients *h*: a fixed run with types *t*, a double run for None.

        ``preadd``, ``product`` and ``acc`` hold the values the block reports (exact sums on
        the coefficients and the cast input, computed in float64) and, in a fixed run, the
        values of the kernel's casts (pre-adder, product and accumulator registers); ``out``
        what arrives at the output cast (a double run sums in tap order; a fixed run sums as
        its form, cast by cast) and ``y`` the block's output (``out`` cast into the output
        type in a fixed run). Values are Fractions or floats (the float64 ones)."""
        xf = (float(x[0]), float(x[1]))
        hf = [float(c) for c in h]
        runs = [self._form_ranges(_EXACT, h, x), self._form_ranges(_FLOAT, hf, xf)]
        if t is None:
            # the double kernels sum h[k] x[n-k] in tap order from 0.0
            out = _hull(self._tap_order_out(_EXACT, h, x), self._tap_order_out(_FLOAT, hf, xf))
            y = out
        else:
            kern = _Kernel(t, self.rounding, self.overflow)
            runs.append(self._form_ranges(kern, h, x))
            out = runs[-1]["out"]
            y = _cast_iv(out, t["out"], self.rounding, self.overflow)
        res = {"out": out, "y": y}
        for s in ("preadd", "product", "acc"):
            ivs = [iv for r in runs for iv in r[s]]
            if ivs:
                res[s] = _hull(*ivs)
        # the accumulator holds the output (before its cast) too, and every product (each is
        # cast into the accumulator type before it is added; the recording reports them)
        res["acc"] = _hull(res["acc"], out) if "acc" in res else out
        if "product" in res:
            res["acc"] = _hull(res["acc"], res["product"])
        return res

    def _tap_order_out(self, ar, h, x) -> tuple:
        """The output before its cast, summed in tap order from reset (the double kernels)."""
        return _prefix_chain(ar, [ar.mul(c, x)[2] for c in h], [], [])

    def _form_ranges(self, ar, h, x) -> dict:
        """:func:`_form_ranges` of this block's form (see :meth:`_run_ranges`)."""
        return _form_ranges(ar, h, x, self.form, self._sign)

    def _interval_count(self, n: int) -> int:
        """Outputs of a frame of *n* samples (without moving the phase)."""
        return n

    def freqz(self, worN: int | Sequence[float] | np.ndarray = 512, *, quantized: bool = True,
              fs: float = 2 * np.pi) -> tuple[np.ndarray, np.ndarray]:
        """Frequency response of the (quantized) coefficients, via ``scipy.signal.freqz``.

        Returns
        -------
        (w, h) : numpy.ndarray
        """
        b = self.quantized_coefs.data if quantized else self.coefs
        return _sps.freqz(b, 1.0, worN=worN, fs=fs)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, ntaps={self.ntaps}, "
                f"form={self.form!r}, coef_type={self.coef_type}, rounding='{self.rounding}', "
                f"overflow='{self.overflow}')")


# -- exact range helpers -------------------------------------------------------------------------
def _prefix_extremes(terms) -> tuple[Fraction, Fraction]:
    """Extremes over the prefixes ``K >= 1`` of ``sum_{i<K} [c_i a_i, c_i b_i]`` (each term an
    interval ``c [a, b]``): the range of every partial sum in that order, from reset."""
    smin = smax = Fraction(0)
    best_lo = best_hi = None
    for c, a, b in terms:
        smin += min(c * a, c * b)
        smax += max(c * a, c * b)
        best_lo = smin if best_lo is None else min(best_lo, smin)
        best_hi = smax if best_hi is None else max(best_hi, smax)
    if best_lo is None:
        return Fraction(0), Fraction(0)
    return best_lo, best_hi


def _down(v: Fraction | float) -> float:
    """The largest float not above *v*."""
    if isinstance(v, float):
        return v
    f = float(v)
    return f if Fraction(f) <= v else float(np.nextafter(f, -np.inf))


def _up(v: Fraction | float) -> float:
    """The smallest float not below *v*."""
    if isinstance(v, float):
        return v
    f = float(v)
    return f if Fraction(f) >= v else float(np.nextafter(f, np.inf))


# -- ranges of a run from reset -----------------------------------------------------------------
# Each arithmetic below computes one kind of run on intervals ``(lo, hi)``: the exact sums the
# blocks report (Fractions), the same sums in float64 (the double kernels and the reported
# values: every operation is monotone, so the float64 results at the bounds bound them), and
# the fixed kernels' casts (pre-adder, product, accumulator; each cast applied to the bounds
# with the block's rounding and overflow: every rounding mode is monotone, saturation too, and
# an interval beyond the type under wrap or sat_zero gives what those modes give, see
# fixsim._core._interval._overflow_ints). ``pre`` returns ``(arriving, stored)`` for a
# pre-adder sum, ``mul`` ``(exact product, stored product, into the accumulator)``, ``add``
# ``(sum arriving at the accumulator cast, stored)``.
def _hull(*ivs) -> tuple:
    return min(v[0] for v in ivs), max(v[1] for v in ivs)


def _cast_iv(iv, T: numerictype, rounding: Rounding, overflow: Overflow) -> tuple:
    """The range ``(lo, hi)`` (Fractions) of the cast of the values in *iv* into *T*."""
    scale = Fraction(2) ** T.fraction_length
    a = _round_frac(Fraction(iv[0]) * scale, rounding, True)
    b = _round_frac(Fraction(iv[1]) * scale, rounding, False)
    a, b = _overflow_ints(a, b, T.int_min, T.int_max, overflow, T.signed)
    return Fraction(a) / scale, Fraction(b) / scale


def _mul_iv(c, m) -> tuple:
    a, b = c * m[0], c * m[1]
    return (a, b) if a <= b else (b, a)


def _pre_iv(sign: int, a, b) -> tuple:
    return (a[0] + b[0], a[1] + b[1]) if sign > 0 else (a[0] - b[1], a[1] - b[0])


class _Exact:
    """Exact arithmetic (the values the blocks report, on Fractions)."""

    zero = (Fraction(0), Fraction(0))

    def pre(self, sign, a, b):
        v = _pre_iv(sign, a, b)
        return v, v

    def single(self, a):
        return a, a

    def mul(self, c, m):
        p = _mul_iv(c, m)
        return p, p, p

    def add(self, s, t):
        v = (s[0] + t[0], s[1] + t[1])
        return v, v


class _Float(_Exact):
    """float64 arithmetic (floats: each operation rounds, monotonically)."""

    zero = (0.0, 0.0)


class _Kernel(_Exact):
    """The fixed kernels: the pre-adder sum cast into the pre-adder type, the product into
    the product type then the accumulator type, every partial sum into the accumulator
    type (Fractions)."""

    def __init__(self, t: dict, rounding: Rounding, overflow: Overflow) -> None:
        self.t, self.rm, self.om = t, rounding, overflow

    def _cast(self, iv, what: str):
        return _cast_iv(iv, self.t[what], self.rm, self.om)

    def pre(self, sign, a, b):
        v = _pre_iv(sign, a, b)
        return v, self._cast(v, "preadd")

    def single(self, a):
        return a, self._cast(a, "preadd")

    def mul(self, c, m):
        v = _mul_iv(c, m)
        p = self._cast(v, "product")
        return v, p, self._cast(p, "acc")

    def add(self, s, t):
        v = (s[0] + t[0], s[1] + t[1])
        return v, self._cast(v, "acc")


_EXACT = _Exact()
_FLOAT = _Float()


def _prefix_chain(ar, terms, acc: list, outs: list | None = None) -> tuple:
    """Run the sum of *terms* (intervals entering the accumulator) in order from 0 with *ar*:
    every partial sum (arriving and stored) goes to *acc*, every stored one to *outs* (a
    filter from reset outputs every prefix: its zero history ends the sum early). Returns the
    hull of the stored partial sums (0 without terms)."""
    s = ar.zero
    states = []
    for e in terms:
        pre, s = ar.add(s, e)
        acc += [pre, s]
        states.append(s)
    if outs is not None:
        outs += states
    return _hull(*states) if states else ar.zero


def _form_ranges(ar, h, x, form: str, sign: int) -> dict:
    """The ranges of an FIR's signals in one arithmetic *ar*, from reset, for input values in
    *x* (after the input cast) and coefficients *h* (as *ar* takes them): ``{'preadd',
    'product', 'acc'}`` to lists of intervals, ``'out'`` to the output before its cast as the
    form sums it.

    From reset the history is zero: at sample ``n`` the taps ``k > n`` see 0, so products
    (and pre-adder sums) take 0 as well as their steady-state range, and every sum stops
    early. Direct form: the outputs and partial sums are the prefix sums of the taps.
    Transposed form: register ``z[k]`` holds ``h[k] x[n] + z[k+1]`` with ``z[k+1]`` zero (reset)
    or a register value, ``y = z[0]``: the sums over taps ``k .. m``; the reported partial
    sums (taps from the last) are those and 0. Symmetric forms: at sample ``n`` the pair ``k``
    sees both samples (``k >= N-1-n``), only ``x[n-k]`` (``k <= n < N-1-k``), or none
    (``k > n``); the middle tap (symmetric, odd ``N``) sees ``x`` from ``n >= (N-1)/2``. So every
    partial sum is a prefix of ``t`` single terms then double ones (any ``t``), and the output
    (every pair seen, then the middle) or a prefix of single terms (the middle not yet):
    ``A_K`` (``K`` single terms) and ``B_K`` (the hull over ``t < K``, ``B_K = A_{K-1} | B_{K-1}``
    plus the double term ``K-1``), exact for monotone arithmetic."""
    nt = len(h)
    zero = ar.zero
    pre_ivs: list = []
    prod_ivs: list = []
    acc_ivs: list = []

    def term(c, m, can_zero: bool):
        v, p, e = ar.mul(c, m)
        prod_ivs.extend((v, p))
        if can_zero:
            prod_ivs.append(zero)
        return e

    if sign:
        half = nt // 2
        mid = sign > 0 and nt % 2 == 1
        sa, ss = ar.single(x)  # a pair seeing one sample, or the middle tap
        da, ds = ar.pre(sign, x, x)
        if half:
            pre_ivs += [sa, ss, da, ds]
        elif mid:
            pre_ivs += [sa, ss]
        if half + mid >= 2:
            pre_ivs.append(zero)
        a_k, b_k = zero, None
        outs = []
        for k in range(half):
            es = term(h[k], ss, k >= 1)
            ed = term(h[k], ds, k >= 1)
            pre_b, b_new = ar.add(a_k if b_k is None else _hull(a_k, b_k), ed)
            pre_a, a_k = ar.add(a_k, es)
            b_k = b_new
            acc_ivs += [pre_a, a_k, pre_b, b_k]
            outs.append(a_k)
        full = a_k if b_k is None else _hull(a_k, b_k)
        if mid:
            pre_m, full = ar.add(full, term(h[half], ss, half >= 1))
            acc_ivs += [pre_m, full]
        if half or mid:
            outs.append(full)
        out = _hull(*outs) if outs else zero
    elif form == "transposed":
        z = None
        for j in reversed(range(nt)):
            pre_z, z = ar.add(zero if z is None else _hull(zero, z), term(h[j], x, j >= 1))
            acc_ivs += [pre_z, z]
        if nt >= 2:
            acc_ivs.append(zero)
        out = z
    else:
        out = _prefix_chain(ar, [term(c, x, k >= 1) for k, c in enumerate(h)], acc_ivs)
    return {"preadd": pre_ivs, "product": prod_ivs, "acc": acc_ivs, "out": out}


# -- signal values -------------------------------------------------------------------------------
#: values per signal and event at most (a longer frame is reported in several events)
_EMIT_CHUNK = 1 << 16


def _finite_terms(xe: np.ndarray, hv: np.ndarray, ks: np.ndarray, sign: int) -> bool:
    """Whether every pre-adder sum, product and running sum of the terms is finite: finite
    samples and coefficients, and ``2 max|x| sum|h|`` far below the float64 range."""
    with np.errstate(over="ignore", invalid="ignore"):
        mx = float(np.max(np.abs(xe))) if xe.size else 0.0
        hs = float(np.sum(np.abs(hv[ks])))
        return bool(np.isfinite(mx) and np.isfinite(hs) and 2.0 * mx * hs < 2.0 ** 1000)


def emit_tap_sums(name: str, sign: int, xe, hv, ks, offs, pairs, resets, start: int, step: int,
                  count: int, mode: str, Tpre, Tprod, Tacc, cpre, cprod, cacc,
                  rounding: Rounding | None = None, overflow: Overflow | None = None) -> None:
    """Report the ``preadd`` (when *sign*), ``product`` and ``acc`` values of a sum of taps
    (see :func:`fixsim._kernels._emit.tap_sums` for the terms), one event per signal (or per
    chunk of whole terms), the counts *cpre*, *cprod*, *cacc* with the last one; in fixed
    mode with the casts' *rounding* and *overflow* (the events carry no output)."""
    modes = ({"rounding": rounding, "overflow": overflow} if mode == "fixed" else {})
    nterms = ks.shape[0]
    if nterms == 0:
        return
    xe = np.ascontiguousarray(xe, dtype=np.float64)
    hv = np.ascontiguousarray(hv, dtype=np.float64)
    # the recorder may keep only extremes of these signals: then no value is handed over
    extremes = extremes_suffice()
    got = {"preadd": None, "product": None, "acc": None} if extremes else None
    if extremes and (count == 0 or _finite_terms(xe, hv, ks, sign)):
        ex = _ke.new_extremes(3)
        if count:  # fold them in one compiled pass, building no values
            run, pb, tb = np.empty(count), np.empty(count), np.empty(count)
            _ke.tap_extremes(xe, hv, ks, offs, pairs, resets, float(sign or 1), start, step,
                             count, bool(sign), run, pb, tb, ex)
        n = nterms * count
        got = {k: _ke.extremes_of(ex, i, 2 * n if k == "acc" else n)
               for i, k in enumerate(got)}
    else:  # the values (for the extremes too when some are not finite)
        per = max(1, _EMIT_CHUNK // max(count, 1))
        run = np.empty(count)
        zero = (0, 0)
        for i0 in range(0, nterms, per):
            i1 = min(nterms, i0 + per)
            m = (i1 - i0) * count
            pre = np.empty(m if sign else 0)
            prod = np.empty(m)
            acc = np.empty(m)
            _ke.tap_sums(xe, hv, ks, offs, pairs, resets, float(sign or 1), start, step, count,
                         i0, i1, run, pre, prod, acc)
            # the accumulator's values: every product (each is cast into the accumulator
            # type before it is added) and every running sum (regression: a product beyond
            # the partial sums' range overflowed the proposed accumulator type)
            acc = np.concatenate([prod, acc])
            if extremes:
                for k, v in (("preadd", pre), ("product", prod), ("acc", acc)):
                    got[k] = merge_extremes(got[k], _ke.extremes_of_values(v))
                continue
            fin = i1 == nterms
            if sign:
                emit_signal(f"{name}.preadd", pre, None, Tpre, mode, *(cpre if fin else zero),
                            **modes)
            emit_signal(f"{name}.product", prod, None, Tprod, mode, *(cprod if fin else zero),
                        **modes)
            emit_signal(f"{name}.acc", acc, None, Tacc, mode, *(cacc if fin else zero),
                        **modes)
    if extremes:
        if sign:
            emit_extremes(f"{name}.preadd", got["preadd"], Tpre, mode, *cpre, **modes)
        emit_extremes(f"{name}.product", got["product"], Tprod, mode, *cprod, **modes)
        emit_extremes(f"{name}.acc", got["acc"], Tacc, mode, *cacc, **modes)
