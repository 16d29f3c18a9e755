"""Quantization: any exact input (float, integer, Fraction, stored integers) into a numerictype.

Storage: words of up to 64 bits live in int64 arrays (uint64 for unsigned 64-bit words); wider
words live in object arrays of Python ints. The int64 path runs the numba kernels of
``fixsim._kernels._quantize``; the object path is exact Python-int arithmetic on whole arrays.
Float64 arrays quantized into 65 to 128 bits go through the two-limb kernels of
``fixsim._kernels._wide`` instead (:class:`WideLimbs`), which a fi may keep unbuilt until its
stored integers are read.
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator
from fractions import Fraction

import numpy as np

from .._kernels import lazy
from . import _probe
from ._modes import Overflow, Rounding
from ._numerictype import numerictype
from ._scalar import quantize_dyadic

_ew = lazy("fixsim._kernels._elementwise")
fq = lazy("fixsim._kernels._fastq")
kq = lazy("fixsim._kernels._quantize")
kw = lazy("fixsim._kernels._wide")

__all__ = ["storage_kind", "quantize_array", "requantize", "to_float", "scales_exactly",
           "as_storage", "NONFINITE", "stochastic_words", "set_stochastic_seed", "WideLimbs"]

NONFINITE = {"raise": 0, "matlab": 1}

_rng = np.random.default_rng(0)


def _generator(seed, where: str) -> np.random.Generator:
    """``numpy.random.default_rng(seed)``, with an error naming *where* and the seed
    (regression: numpy's bare SeedSequence errors named neither)."""
    if isinstance(seed, np.random.Generator):
        return seed
    try:
        return np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise TypeError(f"{where}: seed must be None, a non-negative integer (or a sequence of "
                        f"them) or a numpy.random.Generator, got {type(seed).__name__} "
                        f"{seed!r}.") from None


def set_stochastic_seed(seed: int | None) -> None:
    """Reseed the generator that stochastic rounding draws from when no ``seed`` is given."""
    global _rng
    _rng = _generator(seed, "set_stochastic_seed")


def stochastic_stream_base() -> int:
    """A 63-bit number drawn from the default stochastic-rounding generator (the base of
    :func:`stochastic_stream` generators)."""
    return int(_rng.integers(0, 2**63))


@contextlib.contextmanager
def stochastic_stream(base: int, index: int) -> Iterator[None]:
    """Draw default stochastic rounding from ``default_rng((base, index))`` inside the
    block (``collect`` gives each item its own stream, so the draws do not depend on which
    process runs the item), then from the generator before it again."""
    global _rng
    saved = _rng
    _rng = np.random.default_rng((base, index))
    try:
        yield
    finally:
        _rng = saved


def stochastic_words(n: int, seed) -> np.ndarray:
    """``n`` random 64-bit words for stochastic rounding (from *seed* or the module generator)."""
    gen = _rng if seed is None else _generator(seed, "stochastic rounding")
    return gen.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)


def storage_kind(T: numerictype) -> str:
    """'i64' (int64), 'u64' (uint64, unsigned 64-bit words) or 'obj' (Python ints)."""
    w = T.word_length
    if w <= 63 or (w == 64 and T.signed):
        return "i64"
    if w == 64:
        return "u64"
    return "obj"


def as_storage(ints: np.ndarray, T: numerictype) -> np.ndarray:
    """Convert exact integer values (any integer or object dtype) to *T*'s storage dtype."""
    kind = storage_kind(T)
    if kind == "obj":
        return _to_object(ints)
    if kind == "u64":
        if ints.dtype == object:
            return np.array([int(v) & 0xFFFFFFFFFFFFFFFF for v in ints.ravel()],
                            dtype=np.uint64).reshape(ints.shape)
        return ints.astype(np.uint64)
    if ints.dtype == object:
        return np.array([int(v) for v in ints.ravel()], dtype=np.int64).reshape(ints.shape)
    return ints.astype(np.int64, copy=False)


def _to_object(ints: np.ndarray) -> np.ndarray:
    """An object array of Python ints (numpy integer scalars would overflow silently)."""
    if ints.dtype == object:
        out = np.empty(ints.shape, dtype=object)
        out.ravel()[:] = [int(v) for v in ints.ravel()]
        return out
    return ints.astype(object)


# -- words of 65 to 128 bits as two limbs ---------------------------------------------------
class WideLimbs:
    """Stored integers of a 65- to 128-bit word held as two 64-bit limbs, not yet built as an
    object array of Python ints.

    The value of each element is ``hi * 2**64 + lo`` with ``hi`` an int64 array (read as
    unsigned for an unsigned 128-bit word) and ``lo`` a uint64 array of the same shape. A fi
    keeps one in its deferred slot (``fi._lz``, with ``fi._i`` None) until something reads its
    stored integers: ``fi._int`` then builds the object array once (:meth:`to_object`). The
    reads that need no Python ints run on the limbs: :meth:`to_float` and :meth:`requantize`
    into a word of at most 64 bits.

    Parameters
    ----------
    hi : numpy.ndarray of int64
    lo : numpy.ndarray of uint64
        The limbs (C-contiguous, equal shapes).
    T : numerictype
        The type of the stored integers (65 to 128 bits).
    """

    __slots__ = ("hi", "lo", "T")

    def __init__(self, hi: np.ndarray, lo: np.ndarray, T: numerictype):
        self.hi = hi
        self.lo = lo
        self.T = T

    @property
    def shape(self) -> tuple:
        """The array shape."""
        return self.hi.shape

    def _unsigned128(self) -> bool:
        return not self.T.signed and self.T.word_length == 128

    def to_object(self) -> np.ndarray:
        """The stored integers as an object array of Python ints (exact).

        Returns
        -------
        numpy.ndarray of object
        """
        hi, lo = self.hi, self.lo
        low = lo.view(np.int64)
        if self._unsigned128():
            wide = (hi != 0) | (low < 0)  # at least 2**63
        else:
            wide = hi != (low >> 63)  # beyond int64
        if not wide.any():
            return low.astype(object)
        # one Python int per element is the floor of the cost: convert each element once
        out = np.empty(hi.shape, dtype=object)
        narrow = ~wide
        out[narrow] = low[narrow].astype(object)
        h = hi[wide]
        if self._unsigned128():
            h = h.view(np.uint64)
        out[wide] = (h.astype(object) << 64) | lo[wide].astype(object)
        return out

    def to_float(self) -> np.ndarray:
        """Real-world values as float64, correctly rounded (as :func:`to_float`).

        Returns
        -------
        numpy.ndarray of float64
        """
        F = self.T.fraction_length
        if not -895 <= F <= 1022:  # results can leave the normal range: the exact path
            return to_float(self.to_object(), self.T)
        out = np.empty(self.hi.size, dtype=np.float64)
        kw.limbs_to_float(self.hi.reshape(-1), self.lo.reshape(-1), F, self._unsigned128(),
                          out)
        return out.reshape(self.hi.shape)

    def requantize(self, T: numerictype, rounding: Rounding, overflow: Overflow,
                   method: str = "cast"):
        """Requantize into *T* straight from the limbs, where that applies.

        Parameters
        ----------
        T : numerictype
            The target type.
        rounding : Rounding
        overflow : Overflow
        method : str
            Name for error messages.

        Returns
        -------
        tuple or None
            ``(storage ints, n_overflow, n_underflow)`` exactly as :func:`requantize` of the
            stored integers gives, or None where the limb kernel does not apply (a target
            wider than 64 bits, stochastic rounding, an unsigned 128-bit source, fewer than
            two elements).
        """
        if (storage_kind(T) == "obj" or rounding == Rounding.STOCHASTIC or self._unsigned128()
                or self.hi.size < 2):
            return None
        _check_modes(T, overflow, method)
        out = np.empty(self.hi.size, dtype=np.int64)
        n_ovf, n_unf = kw.requantize_limbs(
            self.hi.reshape(-1), self.lo.reshape(-1), self.T.fraction_length - T.fraction_length,
            T.word_length, T.signed, int(rounding), int(overflow), out)
        return _finish_storage(out, T, self.hi.shape), int(n_ovf), int(n_unf)


def _float_limbs(flat: np.ndarray, T: numerictype, rounding: Rounding, overflow: Overflow,
                 shape) -> tuple | None:
    """Quantize finite float64 values into a 65- to 128-bit word as limbs.

    Returns ``(WideLimbs, n_overflow, n_underflow)``, or None when a value is NaN or infinite
    (the caller then takes the exact object path, which handles them).
    """
    buf = np.empty(2 * flat.size, dtype=np.int64)  # one block: measurably cheaper than two
    hi = buf[:flat.size]
    lo = buf[flat.size:].view(np.uint64)
    F = T.fraction_length
    if -960 <= F <= 960 and (T.signed or T.word_length < 128):
        # the mode-specialised loop; anything it flags sends the whole array to the next one
        kernel = kw.float_limbs_kernel(int(rounding), int(overflow), _probe.active(), F < 0)
        flagged, n_ovf, n_unf = kernel(flat, 2.0 ** F, T.word_length, T.signed, hi, lo)
        if not flagged:
            return WideLimbs(hi.reshape(shape), lo.reshape(shape), T), int(n_ovf), int(n_unf)
    n_ovf, n_unf, bad = kw.quantize_f64_limbs(flat.view(np.int64), T.fraction_length,
                                              T.word_length, T.signed, int(rounding),
                                              int(overflow), hi, lo)
    if bad >= 0:
        return None
    return WideLimbs(hi.reshape(shape), lo.reshape(shape), T), int(n_ovf), int(n_unf)


def _bounds(T: numerictype):
    return T.int_min, T.int_max


# -- the exact object-array path --------------------------------------------------------------
def _increment_obj(rounding: Rounding, q, gt, eq, nz, rand_up):
    """Vectorised 0/1 increment on object/bool arrays (see ``_kernels._quantize._increment``)."""
    neg = q < 0
    if rounding == Rounding.FLOOR:
        return np.zeros(q.shape, dtype=bool)
    if rounding == Rounding.CEIL:
        return nz
    if rounding == Rounding.ZERO:
        return nz & neg
    if rounding == Rounding.STOCHASTIC:
        return nz & rand_up
    if rounding == Rounding.NEAREST:
        tie_up = np.ones(q.shape, dtype=bool)
    elif rounding == Rounding.ROUND:
        tie_up = ~neg
    elif rounding == Rounding.HALF_DOWN:
        tie_up = np.zeros(q.shape, dtype=bool)
    elif rounding == Rounding.HALF_ZERO:
        tie_up = neg
    elif rounding == Rounding.CONVERGENT:
        tie_up = (q & 1) == 1
    else:
        tie_up = (q & 1) == 0
    return gt | (eq & tie_up)


def _overflow_obj(n, sbit, T: numerictype, overflow: Overflow):
    """Apply the overflow mode to exact Python ints. Returns (result, overflowed mask)."""
    lo, hi = _bounds(T)
    above = n > hi
    below = n < lo
    ovf = above | below
    if overflow == Overflow.SAT_SYM and T.signed:
        at_min = n == lo
        out = np.where(above, hi, np.where(below | at_min, lo + 1, n))
        return out, ovf | at_min
    if not ovf.any():
        return n, ovf
    if overflow in (Overflow.SATURATE, Overflow.SAT_SYM):
        out = np.where(above, hi, np.where(below, lo, n))
    elif overflow == Overflow.SAT_ZERO:
        out = np.where(ovf, 0, n)
    else:
        w = T.word_length
        mask = (1 << w) - 1
        r = n & mask
        if overflow == Overflow.WRAP_SM:
            top = (r >> (w - 1)) & 1
            r = np.where(top != sbit, (~r) & mask, r)
            r = (r & (mask >> 1)) | (sbit << (w - 1))
        if T.signed:
            r = np.where(r >> (w - 1) != 0, r - (1 << w), r)
        out = np.where(ovf, r, n)
    return out.astype(object), ovf


def requantize_obj(v: np.ndarray, d: int, T: numerictype, rounding: Rounding,
                   overflow: Overflow, seed=None):
    """Exact requantization of Python-int stored values ``v`` by ``d = Fsrc - Fdst``.

    Returns ``(ints (object), n_overflow, n_underflow)``.
    """
    v = _to_object(np.asarray(v))
    if v.size == 0:
        return v.copy(), 0, 0
    if d > 0:
        q = v >> d
        r = v & ((1 << d) - 1)
        h = 1 << (d - 1)
        gt, eq, nz = r > h, r == h, r != 0
        rand_up = None
        if rounding == Rounding.STOCHASTIC:
            words = stochastic_words(v.size, seed).reshape(v.shape)
            if d <= 64:
                rand_up = (words.astype(object) >> (64 - d)) < r
            else:  # scale the remainder to 64 bits (probability exact to 2**-64)
                rand_up = words.astype(object) < (r >> (d - 64))
        inc = _increment_obj(rounding, q, gt, eq, nz, rand_up)
        n = q + inc.astype(object)
        sbit = (q >> T.word_length) & 1
    else:
        n = v << (-d)
        sbit = (n >> T.word_length) & 1
    n = n.astype(object)
    out, ovf = _overflow_obj(n, sbit, T, overflow)
    n_unf = int(np.count_nonzero((~ovf) & (out == 0) & (v != 0)))
    return out, int(np.count_nonzero(ovf)), n_unf


def _float_parts(x: np.ndarray):
    """Split finite float64 values into (int64 mantissa, int64 exponent): x = m * 2**e."""
    m, e = np.frexp(x)
    mi = (m * 9007199254740992.0).astype(np.int64)
    return mi, e.astype(np.int64) - 53


def _floats_to_obj(x: np.ndarray, F: int):
    """Exact stored integers ``v`` and shift ``d`` with ``x * 2**F == v * 2**-d``."""
    mi, e = _float_parts(x)
    s = e + F
    nz = mi != 0
    smin = int(s[nz].min()) if nz.any() else 0
    # zeros carry frexp's exponent 0; give them no shift (a negative one would raise)
    shift = np.where(nz, s - smin, 0)
    v = mi.astype(object) << shift.astype(object)
    return v, -smin


# -- public entry points ----------------------------------------------------------------------
def _check_modes(T: numerictype, overflow: Overflow, method: str):
    if overflow == Overflow.WRAP_SM and not T.signed:
        raise ValueError(
            f"{method}: overflow='wrap_sm' (sign-magnitude wrap) is defined for signed types "
            f"only, and the target {T} is unsigned; use 'wrap' or 'saturate'."
        )


def _finish_storage(out: np.ndarray, T: numerictype, shape) -> np.ndarray:
    kind = storage_kind(T)
    if kind == "u64" and out.dtype == np.int64:
        out = out.view(np.uint64)
    elif kind != "obj" and out.dtype == object:
        out = as_storage(out, T)
    return out.reshape(shape)


def _raise_nonfinite(status: int, index: int, x: np.ndarray, method: str, overflow: Overflow):
    what = "NaN" if status == kq.BAD_NAN else f"{float(x[index])!r}"
    flat_index = index
    if status == kq.BAD_NAN:
        raise ValueError(
            f"{method}: value at flat index {flat_index} is NaN, which has no fixed-point "
            "value. Remove it, or pass nonfinite='matlab' to map NaN to 0 as MATLAB does."
        )
    raise ValueError(
        f"{method}: value at flat index {flat_index} is {what}, which overflows under "
        f"overflow='{overflow}'. Use overflow='saturate' to clamp it, or nonfinite='matlab' to "
        "map it to 0 as MATLAB does under wrap."
    )


_FAST_BOUNDS: dict = {}


def _fast_bounds(T: numerictype):
    b = _FAST_BOUNDS.get(T)
    if b is None:
        b = _FAST_BOUNDS[T] = fq.bounds(T.word_length, T.signed)
    return b


def _fast_float(flat: np.ndarray, T: numerictype, rounding: Rounding, overflow: Overflow,
                nf: int, method: str):
    """The mode-specialised float kernel, with the elements it flags redone by the general
    kernel. Returns ``(int64 out, n_overflow, n_underflow)``, or None where it does not apply
    (stochastic rounding, |F| > 960, unsigned 64-bit or wider targets)."""
    F = T.fraction_length
    if rounding == Rounding.STOCHASTIC or not -960 <= F <= 960 or storage_kind(T) != "i64":
        return None
    lo, hi, lo_f, hi_f, mask, sb = _fast_bounds(T)
    out = np.empty(flat.size, dtype=np.int64)
    kernel = fq.float_kernel(int(rounding), int(overflow), _probe.active(), F < 0,
                             T.word_length - T.signed)
    any_bad, n_ovf, n_unf = kernel(flat, 2.0 ** F, T.word_length, T.signed, lo, hi, lo_f, hi_f,
                                 mask, sb, out)
    if any_bad:
        idx = fq.flagged(flat, F, int(overflow))
        sub = flat[idx]
        sub_out = np.empty(idx.size, dtype=np.int64)
        o, u, status, bad = kq.quantize_f64(sub, F, T.word_length, T.signed, int(rounding),
                                            int(overflow), nf, np.empty(0, dtype=np.uint64),
                                            sub_out)
        if status != kq.OK:
            _raise_nonfinite(status, int(idx[bad]), flat, method, overflow)
        out[idx] = sub_out
        n_ovf += o
        n_unf += u
    return out, int(n_ovf), int(n_unf)


def _single(num: int, shift: int, T: numerictype, rounding: Rounding, overflow: Overflow,
            seed, shape):
    """One element in pure Python (no kernel call): ``(storage, n_overflow, n_underflow)``."""
    word = int(stochastic_words(1, seed)[0]) if rounding == Rounding.STOCHASTIC else None
    n, o, u = quantize_dyadic(num, shift, T.word_length, T.fraction_length, T.signed,
                              rounding, overflow, word)
    out = np.empty(1, dtype=object)
    out[0] = n
    return _finish_storage(out, T, shape), o, u


def quantize_float(x: np.ndarray, T: numerictype, rounding: Rounding, overflow: Overflow,
                   nonfinite: str = "raise", seed=None, method: str = "fi", lazy: bool = False):
    """Quantize a float array exactly. Returns ``(storage ints, n_overflow, n_underflow)``.

    With ``lazy=True`` a 65- to 128-bit result may come back as :class:`WideLimbs` instead of
    an object array (its stored integers are then built on first read).
    """
    _check_modes(T, overflow, method)
    shape = x.shape
    flat = np.ascontiguousarray(x, dtype=np.float64).ravel()
    nf = NONFINITE[nonfinite]
    if flat.size == 1 and np.isfinite(flat[0]):
        num, den = float(flat[0]).as_integer_ratio()
        return _single(num, den.bit_length() - 1, T, rounding, overflow, seed, shape)
    fast = _fast_float(flat, T, rounding, overflow, nf, method)
    if fast is not None:
        out, n_ovf, n_unf = fast
        return _finish_storage(out, T, shape), n_ovf, n_unf
    if storage_kind(T) != "obj":
        words = (stochastic_words(flat.size, seed) if rounding == Rounding.STOCHASTIC
                 else np.empty(0, dtype=np.uint64))
        out = np.empty(flat.size, dtype=np.int64)
        n_ovf, n_unf, status, bad = kq.quantize_f64(
            flat, T.fraction_length, T.word_length, T.signed, int(rounding), int(overflow),
            nf, words, out)
        if status != kq.OK:
            _raise_nonfinite(status, bad, flat, method, overflow)
        return _finish_storage(out, T, shape), int(n_ovf), int(n_unf)
    if T.word_length <= 128 and rounding != Rounding.STOCHASTIC and flat.size > 1:
        # 65 to 128 bits: two limbs per value (None if a value is not finite)
        res = _float_limbs(flat, T, rounding, overflow, shape)
        if res is not None:
            limbs, n_ovf, n_unf = res
            return (limbs if lazy else limbs.to_object()), n_ovf, n_unf
    # wide words: exact Python ints
    finite = np.isfinite(flat)
    out = np.empty(flat.size, dtype=object)
    n_ovf = 0
    if not finite.all():
        bad = np.flatnonzero(~finite)
        for i in bad:
            xi = flat[i]
            if np.isnan(xi):
                if nf == 0:
                    _raise_nonfinite(kq.BAD_NAN, i, flat, method, overflow)
                out[i] = 0
                continue
            if overflow == Overflow.SAT_ZERO:
                out[i] = 0
            elif overflow in (Overflow.SATURATE, Overflow.SAT_SYM):
                lo = T.int_min + (1 if (overflow == Overflow.SAT_SYM and T.signed) else 0)
                out[i] = T.int_max if xi > 0 else lo
            elif nf == 1:
                out[i] = 0
            else:
                _raise_nonfinite(kq.BAD_INF, i, flat, method, overflow)
            n_ovf += 1
    n_unf = 0
    if finite.any():
        v, d = _floats_to_obj(flat[finite], T.fraction_length)
        res, o, u = requantize_obj(v, d, T, rounding, overflow, seed)
        out[finite] = res
        n_ovf += o
        n_unf += u
    return out.reshape(shape), n_ovf, n_unf


def requantize(ints: np.ndarray, src: numerictype, T: numerictype, rounding: Rounding,
               overflow: Overflow, seed=None, method: str = "cast"):
    """Requantize stored integers of type *src* into *T*.

    Returns ``(storage ints, n_overflow, n_underflow)``.
    """
    _check_modes(T, overflow, method)
    d = src.fraction_length - T.fraction_length
    shape = ints.shape
    if ints.size == 1:
        return _single(int(ints.ravel()[0]), src.fraction_length, T, rounding, overflow, seed,
                       shape)
    if (ints.dtype == np.int64 and storage_kind(T) == "i64"
            and rounding != Rounding.STOCHASTIC and -62 <= d <= 62):
        flat = np.ascontiguousarray(ints).ravel()
        out = np.empty(flat.size, dtype=np.int64)
        lo, hi, _, _, mask, sb = _fast_bounds(T)
        count = _probe.active()
        if d > 0:
            kernel = fq.shift_kernel(int(rounding), int(overflow), count)
            n_ovf, n_unf = kernel(flat, d, T.word_length, T.signed, lo, hi, mask, sb, out)
        else:
            kernel = fq.lshift_kernel(int(overflow), count)
            n_ovf, n_unf = kernel(flat, -d, T.word_length, T.signed, lo, hi, mask, sb, out)
        return out.reshape(shape), int(n_ovf), int(n_unf)
    if ints.dtype == np.int64 and storage_kind(T) != "obj":
        flat = np.ascontiguousarray(ints).ravel()
        words = (stochastic_words(flat.size, seed) if rounding == Rounding.STOCHASTIC
                 else np.empty(0, dtype=np.uint64))
        out = np.empty(flat.size, dtype=np.int64)
        n_ovf, n_unf = kq.requantize_i64(flat, d, T.word_length, T.signed, int(rounding),
                                         int(overflow), words, out)
        return _finish_storage(out, T, shape), int(n_ovf), int(n_unf)
    out, n_ovf, n_unf = requantize_obj(ints.ravel(), d, T, rounding, overflow, seed)
    return _finish_storage(out, T, shape), n_ovf, n_unf


def requantize_product(a: np.ndarray, b: np.ndarray, src_fraction_length: int,
                       T: numerictype, rounding: Rounding, overflow: Overflow,
                       method: str = "cast"):
    """Requantize the elementwise products ``a * b`` (stored integers at fraction length
    *src_fraction_length*) into *T* in one fused pass, without building the products.

    *a* and *b* are equal-shape int64 arrays, or *b* has one element (it multiplies every
    element of *a*), whose products the caller knows fit int64.
    Returns ``(storage ints, n_overflow, n_underflow)`` exactly as :func:`requantize` of the
    products would, or None where the fused kernel does not apply (then build the products and
    call :func:`requantize`).
    """
    return requantize_combined(a, b, fq.MUL, 0, 0, src_fraction_length, T, rounding, overflow,
                               method)


def combined_applies(src_fraction_length: int, T: numerictype, rounding: Rounding,
                     size: int) -> bool:
    """Whether :func:`requantize_combined` handles *size* values at *src_fraction_length* into
    *T* with *rounding* (else it returns None)."""
    d = src_fraction_length - T.fraction_length
    return (storage_kind(T) == "i64" and rounding != Rounding.STOCHASTIC and -62 <= d <= 62
            and size > 1)


def requantize_combined(a: np.ndarray, b: np.ndarray, op: int, ka: int, kb: int,
                        src_fraction_length: int, T: numerictype, rounding: Rounding,
                        overflow: Overflow, method: str = "cast"):
    """:func:`requantize_product` for any operation of
    :func:`fixsim._kernels._fastq.combine_kernel`: the products ``a * b`` (*op* ``MUL``), or
    ``a * 2**ka + b * 2**kb`` (``ADD``) or ``a * 2**ka - b * 2**kb`` (``SUB``), with
    ``ka, kb >= 0``, whose values the caller knows fit int64."""
    if not combined_applies(src_fraction_length, T, rounding, a.size):
        return None
    d = src_fraction_length - T.fraction_length
    _check_modes(T, overflow, method)
    shape = a.shape
    fa = np.ascontiguousarray(a).reshape(-1)
    fb = np.ascontiguousarray(b).reshape(-1)
    out = np.empty(fa.size, dtype=np.int64)
    lo, hi, _, _, mask, sb = _fast_bounds(T)
    kernel = fq.combine_kernel(int(rounding), int(overflow), _probe.active(), op)
    n_ovf, n_unf = kernel(fa, fb, ka, kb, d, T.word_length, T.signed, lo, hi, mask, sb, out)
    return out.reshape(shape), int(n_ovf), int(n_unf)


def _quantize_exact_scalar(value: Fraction, T: numerictype, rounding: Rounding,
                           overflow: Overflow, seed):
    """One exact rational into *T* (used for Fractions and other exact numbers)."""
    y = value * (Fraction(1 << T.fraction_length) if T.fraction_length >= 0
                 else Fraction(1, 1 << -T.fraction_length))
    num, den = y.numerator, y.denominator
    # express as v * 2**-d with an exact remainder decision: scale to a dyadic with 2 guard
    # comparisons: q = floor(y); compare remainder with one half exactly.
    q, rem = divmod(num, den)
    gt, eq, nz = 2 * rem > den, 2 * rem == den, rem != 0
    rand_up = None
    if rounding == Rounding.STOCHASTIC:
        word = int(stochastic_words(1, seed)[0])
        rand_up = np.array(word * den < rem * (1 << 64))
    inc = _increment_obj(rounding, np.array(q, dtype=object), np.array(gt), np.array(eq),
                         np.array(nz), rand_up)
    n = np.array(q + int(inc), dtype=object)
    sbit = np.array((q >> T.word_length) & 1, dtype=object)
    out, ovf = _overflow_obj(n.reshape(1), sbit.reshape(1), T, overflow)
    o = int(ovf[0])
    r = int(out[0])
    return r, o, int(o == 0 and r == 0 and value != 0)


def quantize_array(values: np.ndarray, T: numerictype, rounding: Rounding, overflow: Overflow,
                   nonfinite: str = "raise", seed=None, method: str = "fi",
                   operation: str = "quantize", lazy: bool = False):
    """Quantize any numeric numpy array exactly into *T*; reports counts to the probe hook.

    Returns the storage array, or with ``lazy=True`` possibly a :class:`WideLimbs` for a 65- to
    128-bit type (see :func:`quantize_float`).
    """
    _check_modes(T, overflow, method)
    kind = values.dtype.kind
    if kind == "f" and values.dtype.itemsize <= 8:
        out, o, u = quantize_float(values, T, rounding, overflow, nonfinite, seed, method,
                                   lazy)
    elif kind == "b":
        out, o, u = requantize(values.astype(np.int64), numerictype(False, 1, 0), T, rounding,
                               overflow, seed, method)
    elif kind in "iu":
        if values.dtype == np.uint64 and values.size and values.max() > np.iinfo(np.int64).max:
            src_ints = values.astype(object)
        else:
            src_ints = values.astype(np.int64)
        out, o, u = requantize(src_ints, numerictype(True, 65, 0), T, rounding, overflow,
                               seed, method)
    elif kind == "O" or kind == "f":
        out, o, u = _quantize_objects(values, T, rounding, overflow, nonfinite, seed, method)
    elif kind == "c":
        raise TypeError(f"{method}: complex values are not supported (got dtype "
                        f"{values.dtype}); quantize the real and imaginary parts separately.")
    else:
        raise TypeError(f"{method}: cannot quantize values of dtype {values.dtype}; valid: "
                        "float, integer, bool, or objects that are Python ints, floats or "
                        "Fractions.")
    _probe.report(T, values.size, o, u, operation)
    return out


def _quantize_objects(values, T, rounding, overflow, nonfinite, seed, method):
    flat = values.ravel()
    if seed is not None and not isinstance(seed, np.random.Generator):
        # one generator for the whole array: reseeding per element would give every element
        # the same random word (all round the same way)
        seed = _generator(seed, "stochastic rounding")
    if all(type(v) is int or isinstance(v, np.integer) for v in flat):
        ints = np.empty(flat.size, dtype=object)
        ints[:] = [int(v) for v in flat]
        return requantize(ints.reshape(values.shape), numerictype(True, 65, 0), T, rounding,
                          overflow, seed, method)
    out = np.empty(flat.size, dtype=object)
    n_ovf = n_unf = 0
    for i, v in enumerate(flat):
        if isinstance(v, bool | np.bool_):
            v = int(v)
        if isinstance(v, float | np.floating) and not isinstance(v, numbers.Rational):
            fv = float(v) if not isinstance(v, np.longdouble) else None
            if fv is not None:
                r, o, u = quantize_float(np.array([fv]), T, rounding, overflow, nonfinite,
                                         seed, method)
                out[i] = int(r[0])
                n_ovf += o
                n_unf += u
                continue
            v = Fraction(*v.as_integer_ratio())
        if isinstance(v, numbers.Rational):
            r, o, u = _quantize_exact_scalar(Fraction(v), T, rounding, overflow, seed)
        elif isinstance(v, numbers.Number) and not isinstance(v, numbers.Real):
            raise TypeError(f"{method}: complex value {v!r} at flat index {i} is not "
                            "supported; quantize real and imaginary parts separately.")
        else:
            try:
                fr = Fraction(v)
            except (TypeError, ValueError):
                raise TypeError(
                    f"{method}: value {v!r} at flat index {i} is not a number; valid: "
                    "floats, integers, bools, Fractions, Decimals."
                ) from None
            r, o, u = _quantize_exact_scalar(fr, T, rounding, overflow, seed)
        out[i] = r
        n_ovf += o
        n_unf += u
    return _finish_storage(out, T, values.shape), n_ovf, n_unf


def scales_exactly(T: numerictype) -> bool:
    """Whether every stored integer of *T* times ``2**-F`` is an exact, normal (or zero)
    float64: at most 53 bits and ``|F| <= 1000``."""
    return T.word_length <= 53 and -1000 <= T.fraction_length <= 1000


def to_float(ints: np.ndarray, T: numerictype) -> np.ndarray:
    """Real-world values ``ints * 2**-F`` as float64 (correctly rounded)."""
    if ints.dtype == np.int64 and scales_exactly(T):
        # every stored integer is a double and the scaled value is normal: one exact product
        flat = np.ascontiguousarray(ints).reshape(-1)
        out = np.empty(flat.size, dtype=np.float64)
        _ew.scale_to_float(flat, 2.0 ** -T.fraction_length, out)
        return out.reshape(ints.shape)
    if ints.dtype == np.int64:
        flat = np.ascontiguousarray(ints).ravel()
        out = np.empty(flat.size, dtype=np.float64)
        kq.to_float(flat, T.fraction_length, out)
        return out.reshape(ints.shape)
    if ints.dtype == np.uint64:
        flat = np.ascontiguousarray(ints).ravel()
        out = np.empty(flat.size, dtype=np.float64)
        kq.to_float_u64(flat, T.fraction_length, out)
        return out.reshape(ints.shape)
    f = T.fraction_length
    flat = ints.ravel()
    out = np.empty(flat.size, dtype=np.float64)
    for i, v in enumerate(flat):
        out[i] = _int_to_float(int(v), f)
    return out.reshape(ints.shape)


def _int_to_float(v: int, f: int) -> float:
    """``v * 2**-f`` correctly rounded (Python's int division is), +-inf past the range."""
    try:
        return v / (1 << f) if f >= 0 else float(v << -f)
    except OverflowError:
        return float("inf") if v > 0 else float("-inf")
