"""Bit operations on ``fi``: MATLAB semantics on the two's complement bits of stored integers.

Every function here works on the ``W``-bit two's complement *pattern* of the stored integers
(``W`` = word length, 1..65535), never on real-world values, and never through float:

* logic: :func:`bitand`, :func:`bitor`, :func:`bitxor`, :func:`bitcmp`;
* single bits and slices: :func:`bitget`, :func:`bitset`, :func:`getlsb`, :func:`getmsb`,
  :func:`bitsliceget`, :func:`bitandreduce`, :func:`bitorreduce`, :func:`bitxorreduce`;
* building words: :func:`bitconcat`, :func:`bitreplicate`;
* shifts and rotations: :func:`bitshift` (obeys the fimath's overflow action, rounds to floor),
  :func:`bitsll`, :func:`bitsrl`, :func:`bitsra`, :func:`bitrol`, :func:`bitror` (ignore the
  fimath);
* :func:`reinterpretcast` (same bits, another numerictype of the same word length).

Bit positions count from 1 at the least significant bit, as in MATLAB.

Shift and rotate counts
-----------------------
MATLAB asks for "a non-negative integer-valued scalar" for ``bitsll``, ``bitsrl``, ``bitsra``,
``bitrol`` and ``bitror``, and any integer scalar for ``bitshift``; it states no upper bound.
fixsim follows that and defines every count, so that no count is undefined behaviour:

* ``bitsll``, ``bitsrl``, ``bitsra``: ``k >= 0``; ``k >= W`` shifts every bit out (0, or -1 for
  ``bitsra`` of a negative signed value), as a hardware shifter wider than the word does.
* ``bitrol``, ``bitror``: ``k >= 0``, taken modulo ``W``.
* ``bitshift``: any integer (``k < 0`` shifts right); it is exactly ``a * 2**k`` cast back to
  ``a``'s type with floor rounding and the fimath's overflow action.
* ``bitget``/``bitset`` bit positions: ``1..W``; ``bitsliceget`` and the reductions:
  ``W >= lidx >= ridx >= 1``.

A count must be an integer: a Python or numpy integer, an integral float, or a fi with an
integral value (MATLAB accepts ``fi(2)``); bools, fractions and non-integral values raise.
Negative counts raise ``ValueError`` naming the argument.

Storage: int64 arrays for ``W <= 64`` (uint64 for unsigned 64-bit words), object arrays of
Python ints beyond. Internally the unsigned patterns live in int64 for ``W <= 63``, uint64 for
``W == 64`` and Python ints beyond, so that no shift ever exceeds the container.
"""

from __future__ import annotations

import numbers
from fractions import Fraction

import numpy as np

from ._arith import cast_ints, resolve_fimath
from ._convert import integer_dtype_type, short_repr
from ._fi import _as_type, fi, make_fi
from ._modes import Rounding
from ._numerictype import MAX_WORD_LENGTH, numerictype
from ._quantize import as_storage

__all__ = [
    "bitand", "bitor", "bitxor", "bitcmp",
    "bitget", "bitset", "getlsb", "getmsb",
    "bitsliceget", "bitconcat", "bitreplicate",
    "bitandreduce", "bitorreduce", "bitxorreduce",
    "bitshift", "bitsll", "bitsrl", "bitsra", "bitrol", "bitror",
    "reinterpretcast",
]

_UFIX1 = numerictype(False, 1, 0)


# ---------------------------------------------------------------------------------------------
# containers for unsigned W-bit patterns
# ---------------------------------------------------------------------------------------------
def _cont_dtype(width: int) -> np.dtype:
    """The dtype that holds every unsigned ``width``-bit pattern exactly."""
    if width <= 63:
        return np.dtype(np.int64)
    if width == 64:
        return np.dtype(np.uint64)
    return np.dtype(object)


def _to_cont(p: np.ndarray, width: int) -> np.ndarray:
    """Convert non-negative patterns (< 2**width, any integer dtype) to ``width``'s container."""
    dt = _cont_dtype(width)
    if p.dtype == dt:
        return p
    # object -> int64/uint64 is exact here: every pattern fits the target container
    return p.astype(dt)


def _shift_amounts(s, like: np.ndarray):
    """Shift amounts (int or int array) in a dtype that numpy shifts *like* by exactly."""
    if isinstance(s, np.ndarray):
        if like.dtype == object:
            return s.astype(object)
        return s.astype(like.dtype)
    if like.dtype == np.uint64:
        return np.uint64(s)
    return int(s)


def _mask(width: int, like: np.ndarray):
    """``2**width - 1`` as a scalar that combines with *like* without promotion."""
    m = (1 << width) - 1
    return np.uint64(m) if like.dtype == np.uint64 else m


def _flat(a: fi) -> np.ndarray:
    """a's stored integers as a 1-d array (numpy turns 0-d results into scalars; 1-d
    arrays stay arrays, and every result is reshaped at the end)."""
    return a._int.reshape(-1)


def _patterns(a: fi) -> np.ndarray:
    """The unsigned W-bit patterns of a's stored integers, in W's container, flattened."""
    T = a._type
    w = T.word_length
    ints = _flat(a)
    if ints.dtype == object:  # Python ints: & works on their infinite two's complement
        return ints & ((1 << w) - 1)
    if ints.dtype == np.uint64:
        return ints
    if w == 64:  # signed 64-bit: the two's complement pattern is the uint64 view
        return ints.view(np.uint64)
    if T.signed:
        return ints & ((1 << w) - 1)
    return ints


def _from_patterns(p: np.ndarray, T: numerictype) -> np.ndarray:
    """Stored integers of *T* from unsigned W-bit patterns held in W's container."""
    w = T.word_length
    if w <= 63:
        if T.signed:
            sb = 1 << (w - 1)
            return (p ^ sb) - sb
        return p
    if w == 64:
        return p.view(np.int64) if T.signed else p
    if not T.signed:
        return p
    sb = 1 << (w - 1)
    return (p ^ sb) - sb


# ---------------------------------------------------------------------------------------------
# argument checking
# ---------------------------------------------------------------------------------------------
def _short(value) -> str:
    return short_repr(value, 80)


def _show(v) -> str:
    """A number for an error message (a Fraction that a float holds exactly shows as one)."""
    if isinstance(v, Fraction):
        return repr(float(v)) if Fraction(float(v)) == v else str(v)
    return _short(v)


def _as_fi(x, fn: str, arg: str) -> fi:
    """A fi operand; numpy integer and bool arrays become fi of their built-in type."""
    if isinstance(x, fi):
        return x
    if isinstance(x, np.ndarray | np.generic):
        T = integer_dtype_type(x.dtype)
        if T is not None:
            arr = np.asarray(x)
            return make_fi(as_storage(arr.astype(np.int64) if arr.dtype == bool else arr, T),
                           T, None)
    raise TypeError(
        f"{fn}: {arg} must be a fi (or a numpy integer array), got {type(x).__name__} "
        f"{_short(x)}; valid: fi objects, e.g. fi(v, s, w, f) or fi.from_int(ints, T). "
        "Bit operations act on stored bits, so a real number has no bits until it has a type.")


def _integer_values(value, fn: str, arg: str) -> np.ndarray:
    """*value* as an array of exact Python ints (object dtype), any shape; raises if any
    element is not an integer."""
    if isinstance(value, fi):
        ex = value.exact()
        arr = np.empty(np.shape(ex), dtype=object)
        if arr.ndim == 0:
            arr[()] = ex
        else:
            arr[...] = ex
    elif isinstance(value, bool | np.bool_):
        raise TypeError(f"{fn}: {arg} must be an integer, got bool {value!r}; valid: an "
                        "integer (Python or numpy int, integral float, or integral fi).")
    else:
        try:
            arr = np.asarray(value)
        except Exception:  # pragma: no cover - defensive
            raise TypeError(f"{fn}: {arg} must be an integer, got {type(value).__name__} "
                            f"{_short(value)}.") from None
    kind = arr.dtype.kind
    if kind in "iu":
        return arr.astype(object)
    if kind == "b":
        raise TypeError(f"{fn}: {arg} must be an integer, got a bool array {_short(value)}; "
                        "valid: integers.")
    if kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.floor(arr))
        if np.any(bad):
            idx = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{fn}: {arg}{_at(arr, idx)}={arr.ravel()[idx].item()!r} is not "
                             "a whole number; valid: integers.")
        out = np.empty(arr.shape, dtype=object)
        out.ravel()[:] = [int(v) for v in arr.ravel()]  # ravel of a fresh array is a view
        return out
    if kind == "O":
        flat = arr.ravel()
        vals = []
        for i, v in enumerate(flat):
            if isinstance(v, bool | np.bool_) or not isinstance(v, numbers.Real):
                raise TypeError(f"{fn}: {arg}{_at(arr, i)} must be an integer, got "
                                f"{type(v).__name__} {_short(v)}; valid: integers.")
            if isinstance(v, numbers.Integral):
                vals.append(int(v))
                continue
            fr = Fraction(v) if not isinstance(v, float) or np.isfinite(v) else None
            if fr is None or fr.denominator != 1:
                raise ValueError(f"{fn}: {arg}{_at(arr, i)}={_show(v)} is not a whole "
                                 "number; valid: integers.")
            vals.append(int(fr))
        out = np.empty(len(vals), dtype=object)
        out[:] = vals
        return out.reshape(arr.shape)
    raise TypeError(f"{fn}: {arg} must be an integer, got {type(value).__name__} "
                    f"{_short(value)} (dtype {arr.dtype}); valid: integers.")


def _at(arr: np.ndarray, flat_index: int) -> str:
    """'' for a scalar, else '[i, j]' naming the element."""
    if arr.ndim == 0:
        return ""
    idx = np.unravel_index(flat_index, arr.shape)
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def _check_range(vals: np.ndarray, lo: int | None, hi: int | None, fn: str, arg: str,
                 valid: str) -> None:
    flat = vals.ravel()
    for i, v in enumerate(flat):
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ValueError(f"{fn}: {arg}{_at(vals, i)}={v} is out of range; valid: {valid}.")


def _int_array(value, fn: str, arg: str, lo: int, hi: int, valid: str) -> np.ndarray:
    """An int64 array (any shape) of integers in ``lo..hi``."""
    vals = _integer_values(value, fn, arg)
    _check_range(vals, lo, hi, fn, arg, valid)
    return vals.astype(np.int64)


def _int_scalar(value, fn: str, arg: str, lo: int | None, hi: int | None, valid: str) -> int:
    """One integer in ``lo..hi`` (None: unbounded)."""
    vals = _integer_values(value, fn, arg)
    if vals.size != 1:
        raise ValueError(f"{fn}: {arg} must be a scalar integer, got an array of shape "
                         f"{vals.shape}; valid: one integer ({valid}).")
    v = int(vals.ravel()[0])
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ValueError(f"{fn}: {arg}={v} is out of range; valid: {valid}.")
    return v


def _broadcast(fn: str, named: dict[str, np.ndarray]) -> tuple:
    """Broadcast the named arrays; a clear error names them and their shapes."""
    try:
        shape = np.broadcast_shapes(*(np.shape(v) for v in named.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in named.items())
        raise ValueError(f"{fn}: shapes do not match ({shapes}); valid: equal shapes, or "
                         "scalars (numpy broadcasting).") from None
    return shape, [np.broadcast_to(v, shape).ravel() for v in named.values()]


def _local(operands, fn: str):
    """The local fimath the result carries (two different local fimaths are an error)."""
    return resolve_fimath(operands, fn)[1]


def _bit_range(T: numerictype) -> str:
    w = T.word_length
    return f"1..{w} (1 is the LSB of the {w}-bit word of {T})"


# ---------------------------------------------------------------------------------------------
# bitwise logic
# ---------------------------------------------------------------------------------------------
def _logic(a, b, fn: str, op) -> fi:
    a = _as_fi(a, fn, "a")
    b = _as_fi(b, fn, "b")
    if a._type != b._type:
        raise ValueError(
            f"{fn}: the numerictypes of a ({a._type}) and b ({b._type}) must be identical; "
            "valid: two fi of one type. Cast one with .cast(T) to change its value, or "
            "fx.reinterpretcast(x, T) to keep its bits.")
    local = _local((a, b), fn)
    shape, (ia, ib) = _broadcast(fn, {"a": a._int, "b": b._int})
    # two's complement: the bitwise ops on sign-extended values give sign-extended results,
    # so they apply to int64, uint64 and Python ints alike
    out = op(ia, ib)
    return make_fi(out.reshape(shape), a._type, local)


def bitand(a: fi, b: fi) -> fi:
    """Bitwise AND of the stored bits of two fi of one numerictype.

    Parameters
    ----------
    a, b : fi
        Operands with identical numerictypes (numpy integer arrays are taken as fi of their
        built-in type). Shapes broadcast.

    Returns
    -------
    fi
        Same numerictype; carries the local fimath of the operands.

    Raises
    ------
    ValueError
        If the numerictypes differ, the local fimaths differ, or the shapes do not broadcast.

    Examples
    --------
    >>> import fixsim as fx
    >>> a = fx.fi.from_int(0b1100, 'ufix4'); b = fx.fi.from_int(0b1010, 'ufix4')
    >>> fx.bitand(a, b).bin
    '1000'
    """
    return _logic(a, b, "bitand", np.bitwise_and)


def bitor(a: fi, b: fi) -> fi:
    """Bitwise OR of the stored bits of two fi of one numerictype.

    Parameters
    ----------
    a, b : fi
        Operands with identical numerictypes; shapes broadcast.

    Returns
    -------
    fi
        Same numerictype; carries the local fimath of the operands.

    Raises
    ------
    ValueError
        If the numerictypes or local fimaths differ, or the shapes do not broadcast.

    Examples
    --------
    >>> import fixsim as fx
    >>> a = fx.fi.from_int(0b1100, 'ufix4'); b = fx.fi.from_int(0b1010, 'ufix4')
    >>> fx.bitor(a, b).bin
    '1110'
    """
    return _logic(a, b, "bitor", np.bitwise_or)


def bitxor(a: fi, b: fi) -> fi:
    """Bitwise exclusive OR of the stored bits of two fi of one numerictype.

    Parameters
    ----------
    a, b : fi
        Operands with identical numerictypes; shapes broadcast.

    Returns
    -------
    fi
        Same numerictype; carries the local fimath of the operands.

    Raises
    ------
    ValueError
        If the numerictypes or local fimaths differ, or the shapes do not broadcast.

    Examples
    --------
    >>> import fixsim as fx
    >>> a = fx.fi.from_int(0b1100, 'ufix4'); b = fx.fi.from_int(0b1010, 'ufix4')
    >>> fx.bitxor(a, b).bin
    '0110'
    """
    return _logic(a, b, "bitxor", np.bitwise_xor)


def bitcmp(a: fi) -> fi:
    """Bitwise complement of the stored bits (every one of the W bits flips).

    Parameters
    ----------
    a : fi

    Returns
    -------
    fi
        Same numerictype and local fimath. For a signed type the stored integer becomes
        ``-v - 1``; for an unsigned type ``2**W - 1 - v``.

    Examples
    --------
    >>> import fixsim as fx
    >>> fx.bitcmp(fx.fi.from_int(0b0101, 'ufix4')).bin
    '1010'
    >>> int(fx.bitcmp(fx.fi.from_int(5, 'sfix8')).int)
    -6
    """
    a = _as_fi(a, "bitcmp", "a")
    T = a._type
    ints = _flat(a)
    if T.signed or ints.dtype == np.uint64:
        out = np.invert(ints)  # ~v == -v - 1 (signed); full-width complement (uint64)
    else:
        out = np.bitwise_xor(ints, (1 << T.word_length) - 1)
    return make_fi(out.reshape(a.shape), T, a._fimath)


# ---------------------------------------------------------------------------------------------
# single bits
# ---------------------------------------------------------------------------------------------
def bitget(a: fi, bit) -> fi:
    """The bit at position *bit* (1 = LSB) of each stored integer.

    Parameters
    ----------
    a : fi
    bit : int, array_like of int, or fi
        Positions in ``1..W``; broadcasts with ``a`` (a scalar ``a`` with a vector of
        positions gives one bit per position, as in MATLAB).

    Returns
    -------
    fi
        Unsigned, word length 1, fraction length 0 (``ufix1``); a's local fimath.

    Raises
    ------
    ValueError
        If a position is outside ``1..W`` or the shapes do not broadcast.

    Examples
    --------
    >>> import fixsim as fx, numpy as np
    >>> a = fx.fi(np.pi); a.bin
    '0110010010001000'
    >>> fx.bitget(a, [15, 3, 8, 2]).int.tolist()
    [1, 0, 1, 0]
    """
    fn = "bitget"
    a = _as_fi(a, fn, "a")
    T = a._type
    pos = _int_array(bit, fn, "bit", 1, T.word_length, _bit_range(T))
    if pos.ndim == 0:
        shape, ints, pos = a.shape, _flat(a), int(pos)
    else:
        shape, (ints, pos) = _broadcast(fn, {"a": a._int, "bit": pos})
    s = _shift_amounts(pos - 1, ints)
    out = (ints >> s) & (np.uint64(1) if ints.dtype == np.uint64 else 1)
    return make_fi(_to_cont(out, 1).reshape(shape), _UFIX1, a._fimath)


def getlsb(a: fi) -> fi:
    """The least significant bit of each stored integer, as ``ufix1``.

    Examples
    --------
    >>> import fixsim as fx
    >>> fx.getlsb(fx.fi.from_int([4, 5], 'ufix4')).int.tolist()
    [0, 1]
    """
    return bitget(_as_fi(a, "getlsb", "a"), 1)


def getmsb(a: fi) -> fi:
    """The most significant bit (the sign bit of a signed type) of each stored integer, as
    ``ufix1``.

    Examples
    --------
    >>> import fixsim as fx
    >>> fx.getmsb(fx.fi.from_int([-1, 1], 'sfix8')).int.tolist()
    [1, 0]
    """
    a = _as_fi(a, "getmsb", "a")
    return bitget(a, a._type.word_length)


def _truthy(v, fn: str, arg: str) -> np.ndarray:
    """*v* as a bool array: nonzero sets the bit (MATLAB ``bitset``)."""
    if isinstance(v, fi):
        return np.asarray(v._int != 0)
    arr = np.asarray(v)
    kind = arr.dtype.kind
    if kind in "biu":
        return arr != 0
    if kind == "f":
        if np.any(np.isnan(arr)):
            raise ValueError(f"{fn}: {arg} contains NaN; valid: 0 or 1 (any nonzero sets the "
                             "bit).")
        return arr != 0
    if kind == "O":
        flat = arr.ravel()
        for i, x in enumerate(flat):
            if not isinstance(x, numbers.Real):
                raise TypeError(f"{fn}: {arg}{_at(arr, i)} must be a number, got "
                                f"{type(x).__name__} {_short(x)}; valid: 0 or 1.")
        return np.array([x != 0 for x in flat], dtype=bool).reshape(arr.shape)
    raise TypeError(f"{fn}: {arg} must be 0 or 1 (numbers), got {type(v).__name__} "
                    f"{_short(v)}; valid: 0 or 1 (any nonzero sets the bit).")


def bitset(a: fi, bit, v=1) -> fi:
    """Set the bit at position *bit* (1 = LSB) to *v*.

    Parameters
    ----------
    a : fi
    bit : int, array_like of int, or fi
        Positions in ``1..W``.
    v : number or array_like, default 1
        The bit value: 0 clears the bit, any nonzero value sets it (MATLAB). ``a``, ``bit``
        and ``v`` broadcast together.

    Returns
    -------
    fi
        Same numerictype and local fimath as ``a``. Setting the MSB of a signed type makes
        the value negative (the bits are two's complement).

    Raises
    ------
    ValueError
        If a position is outside ``1..W`` or the shapes do not broadcast.

    Examples
    --------
    >>> import fixsim as fx, numpy as np
    >>> fx.bitset(fx.fi(5, 0, 4, 0), 4).bin
    '1101'
    >>> fx.bitset(fx.fi(np.pi), [15, 3, 8, 2]).bin.tolist()[1]
    '0110010010001100'
    """
    fn = "bitset"
    a = _as_fi(a, fn, "a")
    T = a._type
    pos = _int_array(bit, fn, "bit", 1, T.word_length, _bit_range(T))
    on = _truthy(v, fn, "v")
    if pos.ndim == 0 and on.ndim == 0:  # one position, one value: no broadcasting needed
        p = _patterns(a)
        m = 1 << (int(pos) - 1)
        m = np.uint64(m) if p.dtype == np.uint64 else m
        out = p | m if on else p & ~m
        return make_fi(_from_patterns(out, T).reshape(a.shape), T, a._fimath)
    shape, (p, pos, on) = _broadcast(fn, {"a": _patterns(a).reshape(a.shape), "bit": pos,
                                          "v": on})
    if p.dtype == object:
        m = np.left_shift(1, (pos - 1).astype(object))
    else:
        m = np.ones(p.shape, dtype=p.dtype) << _shift_amounts(pos - 1, p)
    out = np.where(on, p | m, p & ~m)
    return make_fi(_from_patterns(out, T).reshape(shape), T, a._fimath)


# ---------------------------------------------------------------------------------------------
# slices and reductions
# ---------------------------------------------------------------------------------------------
def _slice_args(a: fi, lidx, ridx, fn: str) -> tuple[int, int]:
    w = a._type.word_length
    rule = f"a.word_length >= lidx >= ridx >= 1, here {w} >= lidx >= ridx >= 1"
    lidx = w if lidx is None else _int_scalar(lidx, fn, "lidx", 1, w, f"1..{w} ({rule})")
    ridx = 1 if ridx is None else _int_scalar(ridx, fn, "ridx", 1, lidx,
                                              f"1..{lidx} ({rule}, lidx={lidx})")
    return lidx, ridx


def _slice(a: fi, lidx: int, ridx: int) -> np.ndarray:
    """Bits lidx..ridx of a's patterns, as non-negative values in the slice's container
    (flattened)."""
    p = _patterns(a)
    n = lidx - ridx + 1
    if ridx > 1:
        p = p >> _shift_amounts(ridx - 1, p)
    if n < a._type.word_length:
        p = p & _mask(n, p)
    return _to_cont(p, n)


def bitsliceget(a: fi, lidx=None, ridx=None) -> fi:
    """The consecutive bits from position *lidx* down to *ridx* (1 = LSB).

    Parameters
    ----------
    a : fi
    lidx : int, optional
        The slice's most significant position; default ``W`` (the whole word).
    ridx : int, optional
        The slice's least significant position; default 1. ``W >= lidx >= ridx >= 1``.

    Returns
    -------
    fi
        Unsigned, word length ``lidx - ridx + 1``, fraction length 0 (no scaling); a's local
        fimath.

    Raises
    ------
    ValueError
        If the positions break ``W >= lidx >= ridx >= 1``.

    Examples
    --------
    >>> import fixsim as fx
    >>> a = fx.fi(85, 0, 8, 0); a.bin
    '01010101'
    >>> fx.bitsliceget(a, 6).bin, fx.bitsliceget(a, 6, 2).bin
    ('010101', '01010')
    """
    fn = "bitsliceget"
    a = _as_fi(a, fn, "a")
    lidx, ridx = _slice_args(a, lidx, ridx, fn)
    R = numerictype(False, lidx - ridx + 1, 0)
    return make_fi(_slice(a, lidx, ridx).reshape(a.shape), R, a._fimath)


def _reduce(a, lidx, ridx, fn: str, kind: str) -> fi:
    a = _as_fi(a, fn, "a")
    lidx, ridx = _slice_args(a, lidx, ridx, fn)
    n = lidx - ridx + 1
    s = _slice(a, lidx, ridx)
    if kind == "and":
        out = s == _mask(n, s)
    elif kind == "or":
        out = s != 0
    elif s.dtype == object:
        out = np.array([int(x).bit_count() & 1 for x in s], dtype=np.int64)
    else:
        out = np.bitwise_count(s) & 1
    return make_fi(np.asarray(out).astype(np.int64).reshape(a.shape), _UFIX1, a._fimath)


def bitandreduce(a: fi, lidx=None, ridx=None) -> fi:
    """AND of the bits ``lidx..ridx`` (default: the whole word): 1 when all of them are 1.

    Parameters
    ----------
    a : fi
    lidx, ridx : int, optional
        As for :func:`bitsliceget`: ``W >= lidx >= ridx >= 1``.

    Returns
    -------
    fi
        ``ufix1``; a's local fimath.

    Examples
    --------
    >>> import fixsim as fx
    >>> fx.bitandreduce(fx.fi([12, 4, 8, 15], 0, 8, 0), 4).int.tolist()
    [0, 0, 0, 1]
    """
    return _reduce(a, lidx, ridx, "bitandreduce", "and")


def bitorreduce(a: fi, lidx=None, ridx=None) -> fi:
    """OR of the bits ``lidx..ridx`` (default: the whole word): 1 when any of them is 1.

    Parameters
    ----------
    a : fi
    lidx, ridx : int, optional
        As for :func:`bitsliceget`.

    Returns
    -------
    fi
        ``ufix1``; a's local fimath.

    Examples
    --------
    >>> import fixsim as fx
    >>> fx.bitorreduce(fx.fi(73, 0, 8, 0)).int
    np.int64(1)
    """
    return _reduce(a, lidx, ridx, "bitorreduce", "or")


def bitxorreduce(a: fi, lidx=None, ridx=None) -> fi:
    """XOR of the bits ``lidx..ridx`` (default: the whole word): their parity.

    Parameters
    ----------
    a : fi
    lidx, ridx : int, optional
        As for :func:`bitsliceget`.

    Returns
    -------
    fi
        ``ufix1``; a's local fimath.

    Examples
    --------
    >>> import fixsim as fx
    >>> fx.bitxorreduce(fx.fi(73, 0, 8, 0)).int  # 01001001 has three ones
    np.int64(1)
    """
    return _reduce(a, lidx, ridx, "bitxorreduce", "xor")


# ---------------------------------------------------------------------------------------------
# building words
# ---------------------------------------------------------------------------------------------
def _concat_type(width: int, fn: str, what: str) -> numerictype:
    if width > MAX_WORD_LENGTH:
        raise ValueError(f"{fn}: the result would have {width} bits ({what}); valid: at most "
                         f"{MAX_WORD_LENGTH} bits.")
    return numerictype(False, width, 0)


def bitconcat(a: fi, *more: fi) -> fi:
    """Concatenate the bits of fi operands (the first is the most significant).

    ``bitconcat(a, b, ...)`` concatenates elementwise (shapes broadcast); ``bitconcat(a)``
    with one array argument concatenates its elements, first element most significant
    (C order for more than one dimension; MATLAB's column-major order differs there).
    A Python list or tuple of operands, ``bitconcat([a, b])``, is ``bitconcat(a, b)``.

    Parameters
    ----------
    a, *more : fi
        Any numerictypes; sign and scaling are ignored, only the bits count.

    Returns
    -------
    fi
        Unsigned, word length the sum of the operands' word lengths, fraction length 0; the
        operands' local fimath.

    Raises
    ------
    ValueError
        If the result would exceed 65535 bits, a single argument is empty, or the shapes do
        not broadcast.

    Examples
    --------
    >>> import fixsim as fx
    >>> y = fx.bitconcat(fx.fi([1, 2, 5, 7], 0, 4, 0)); y.bin, str(y.numerictype)
    ('0001001001010111', 'ufix16')
    >>> fx.bitconcat(fx.fi(5, 0, 4, 0), fx.fi(10, 0, 4, 0)).bin
    '01011010'
    """
    fn = "bitconcat"
    if not more and isinstance(a, list | tuple):
        if not a:
            raise ValueError(f"{fn}: a is an empty {type(a).__name__}; valid: one fi array, "
                             "or fi operands.")
        return bitconcat(*a)  # bitconcat([a, b]) is bitconcat(a, b)
    if not more:
        a = _as_fi(a, fn, "a")
        n = a.size
        if n == 0:
            raise ValueError(f"{fn}: a is empty (shape {a.shape}); valid: at least one "
                             "element to concatenate.")
        w = a._type.word_length
        R = _concat_type(n * w, fn, f"{n} elements of {w} bits")
        p = _patterns(a)
        if R.word_length <= 64:
            p = _to_cont(p, R.word_length)
            shifts = _shift_amounts(np.arange(n - 1, -1, -1, dtype=np.int64) * w, p)
            acc = np.bitwise_or.reduce(p << shifts)
            out = np.array(acc, dtype=p.dtype)
        else:
            acc = 0
            for x in p.tolist():
                acc = (acc << w) | int(x)
            out = np.empty((), dtype=object)
            out[()] = acc
        return make_fi(out, R, a._fimath)
    ops = [_as_fi(x, fn, "a" if i == 0 else f"argument {i + 1}")
           for i, x in enumerate((a, *more))]
    widths = [x._type.word_length for x in ops]
    R = _concat_type(sum(widths), fn, " + ".join(str(w) for w in widths) + " bits")
    local = _local(ops, fn)
    names = {("a" if i == 0 else f"argument {i + 1}"): _patterns(x).reshape(x.shape)
             for i, x in enumerate(ops)}
    shape, pats = _broadcast(fn, names)
    acc = _to_cont(pats[0], R.word_length)
    for w, p in zip(widths[1:], pats[1:], strict=True):
        acc = (acc << _shift_amounts(w, acc)) | _to_cont(p, R.word_length)
    return make_fi(acc.reshape(shape), R, local)


def bitreplicate(a: fi, n) -> fi:
    """Concatenate the bits of each element with itself *n* times.

    Parameters
    ----------
    a : fi
    n : int
        Number of copies, ``n >= 1``; ``n * W`` at most 65535.

    Returns
    -------
    fi
        Unsigned, word length ``n * W``, fraction length 0 (sign and scaling ignored); a's
        local fimath.

    Examples
    --------
    >>> import fixsim as fx
    >>> fx.bitreplicate(fx.fi(5, 0, 4, 0), 3).bin
    '010101010101'
    """
    fn = "bitreplicate"
    a = _as_fi(a, fn, "a")
    w = a._type.word_length
    hi = MAX_WORD_LENGTH // w
    n = _int_scalar(n, fn, "n", 1, hi, f"1..{hi} (n * word length {w} <= {MAX_WORD_LENGTH})")
    R = numerictype(False, n * w, 0)
    # p < 2**w, so p * (1 + 2**w + ... + 2**((n-1)w)) places n copies without carries
    rep = sum(1 << (w * i) for i in range(n))
    p = _to_cont(_patterns(a), R.word_length)
    out = p * (np.uint64(rep) if p.dtype == np.uint64 else rep)
    return make_fi(out.reshape(a.shape), R, a._fimath)


# ---------------------------------------------------------------------------------------------
# shifts and rotations
# ---------------------------------------------------------------------------------------------
def bitshift(a: fi, k) -> fi:
    """Arithmetic shift: ``a * 2**k`` cast back to a's numerictype.

    The cast obeys the fimath's overflow action (local fimath, else the current default) and
    always rounds to floor, as MATLAB's ``bitshift``: with ``saturate`` the sign is kept, with
    ``wrap`` bits leave the top; ``k < 0`` shifts right, bringing in copies of the sign bit.
    Overflow and underflow counts go to the quantization hook (``fx.count_quantization``,
    the fixed-point tool), as for every cast.

    Parameters
    ----------
    a : fi
    k : int
        Any integer (a scalar): positive shifts left, negative shifts right.

    Returns
    -------
    fi
        Same numerictype and local fimath.

    Examples
    --------
    >>> import fixsim as fx
    >>> a = fx.fi(3, 1, 16, 0)
    >>> fx.bitshift(a, 13).bin, fx.bitshift(a, 14).bin
    ('0110000000000000', '0111111111111111')
    >>> fx.bitshift(fx.fi(3, 1, 16, 0, overflow='wrap'), 14).bin
    '1100000000000000'
    """
    fn = "bitshift"
    a = _as_fi(a, fn, "a")
    k = _int_scalar(k, fn, "k", None, None, "any integer")
    T = a._type
    w = T.word_length
    # beyond +-(W+1) every count gives the same stored result and the same counts:
    # nonzero values overflow (wrap: 0) when k > W, and floor to 0 or -1 when k < -W
    k = max(-(w + 1), min(w + 1, k))
    src = numerictype(T.signed, w, T.fraction_length - k)
    ints = cast_ints(a._int, src, T, a.fimath, fn, fn, rounding=Rounding.FLOOR)
    return make_fi(ints.reshape(a.shape), T, a._fimath)


def _shift_count(k, fn: str, what: str) -> int:
    return _int_scalar(k, fn, "k", 0, None,
                       f"an integer k >= 0 (the number of bits to {what}); "
                       "use bitshift for signed counts")


def bitsll(a: fi, k) -> fi:
    """Logical shift left by *k* bits: zeros enter at the LSB, bits leave at the MSB.

    Ignores the fimath (no overflow handling, no counts). ``k >= W`` gives 0.

    Parameters
    ----------
    a : fi
    k : int
        ``k >= 0``.

    Returns
    -------
    fi
        Same numerictype and local fimath.

    Examples
    --------
    >>> import fixsim as fx
    >>> a = fx.fi(10, 0, 4, 0)
    >>> fx.bitsll(a, 1).bin, fx.bitsll(a, 2).bin
    ('0100', '1000')
    """
    fn = "bitsll"
    a = _as_fi(a, fn, "a")
    k = _shift_count(k, fn, "shift")
    T = a._type
    w = T.word_length
    p = _patterns(a)
    if k >= w:
        out = p & _mask(0, p)  # zeros, in p's dtype
    elif k:
        out = (p & _mask(w - k, p)) << _shift_amounts(k, p)
    else:
        out = p
    return make_fi(_from_patterns(out, T).reshape(a.shape), T, a._fimath)


def bitsrl(a: fi, k) -> fi:
    """Logical shift right by *k* bits: zeros enter at the MSB, even for signed types.

    Ignores the fimath. ``k >= W`` gives 0.

    Parameters
    ----------
    a : fi
    k : int
        ``k >= 0``.

    Returns
    -------
    fi
        Same numerictype and local fimath.

    Examples
    --------
    >>> import fixsim as fx
    >>> fx.bitsrl(fx.fi(-8, 1, 4, 0), 1).bin
    '0100'
    """
    fn = "bitsrl"
    a = _as_fi(a, fn, "a")
    k = _shift_count(k, fn, "shift")
    T = a._type
    w = T.word_length
    p = _patterns(a)
    if k >= w:
        out = p & _mask(0, p)
    elif k:
        out = p >> _shift_amounts(k, p)
    else:
        out = p
    return make_fi(_from_patterns(out, T).reshape(a.shape), T, a._fimath)


def bitsra(a: fi, k) -> fi:
    """Arithmetic shift right by *k* bits: copies of the MSB enter for signed types, zeros
    for unsigned ones (floor division by ``2**k`` of the stored integer).

    Ignores the fimath. ``k >= W`` gives 0, or -1 for a negative signed value.

    Parameters
    ----------
    a : fi
    k : int
        ``k >= 0``.

    Returns
    -------
    fi
        Same numerictype and local fimath.

    Examples
    --------
    >>> import fixsim as fx
    >>> fx.bitsra(fx.fi(-8, 1, 4, 0), 1).bin
    '1100'
    """
    fn = "bitsra"
    a = _as_fi(a, fn, "a")
    k = _shift_count(k, fn, "shift")
    T = a._type
    w = T.word_length
    ints = _flat(a)
    if T.signed:
        out = ints >> _shift_amounts(min(k, w - 1), ints)  # >> (W-1) already gives 0 or -1
    elif k >= w:
        out = ints & _mask(0, ints)
    else:
        out = ints >> _shift_amounts(k, ints)
    return make_fi(out.reshape(a.shape), T, a._fimath)


def _rotl(a: fi, r: int) -> fi:
    T = a._type
    w = T.word_length
    p = _patterns(a)
    if r == 0:
        return make_fi(a._int.copy(), T, a._fimath)
    hi = (p & _mask(w - r, p)) << _shift_amounts(r, p)
    lo = p >> _shift_amounts(w - r, p)
    return make_fi(_from_patterns(hi | lo, T).reshape(a.shape), T, a._fimath)


def bitrol(a: fi, k) -> fi:
    """Rotate the W stored bits left by *k*: bits leaving the MSB re-enter at the LSB.

    Ignores the fimath. ``k`` is taken modulo ``W``.

    Parameters
    ----------
    a : fi
    k : int
        ``k >= 0``.

    Returns
    -------
    fi
        Same numerictype and local fimath.

    Examples
    --------
    >>> import fixsim as fx
    >>> fx.bitrol(fx.fi([1, 2, 5, 7], 0, 4, 0), 1).bin.tolist()
    ['0010', '0100', '1010', '1110']
    """
    fn = "bitrol"
    a = _as_fi(a, fn, "a")
    k = _shift_count(k, fn, "rotate")
    return _rotl(a, k % a._type.word_length)


def bitror(a: fi, k) -> fi:
    """Rotate the W stored bits right by *k*: bits leaving the LSB re-enter at the MSB.

    Ignores the fimath. ``k`` is taken modulo ``W``.

    Parameters
    ----------
    a : fi
    k : int
        ``k >= 0``.

    Returns
    -------
    fi
        Same numerictype and local fimath.

    Examples
    --------
    >>> import fixsim as fx
    >>> fx.bitror(fx.fi([1, 2, 5, 7], 0, 4, 0), 1).bin.tolist()
    ['1000', '0001', '1010', '1011']
    """
    fn = "bitror"
    a = _as_fi(a, fn, "a")
    k = _shift_count(k, fn, "rotate")
    w = a._type.word_length
    return _rotl(a, (w - k % w) % w)


# ---------------------------------------------------------------------------------------------
# reinterpretation
# ---------------------------------------------------------------------------------------------
def reinterpretcast(a, T) -> fi:
    """The same stored bits read as numerictype *T* (no quantization, no counts).

    Parameters
    ----------
    a : fi or numpy integer array
        A numpy integer array is taken as its built-in type (``int8`` is ``sfix8``).
    T : numerictype or str
        The new type; its word length must equal a's.

    Returns
    -------
    fi
        Type *T*, a's local fimath.

    Raises
    ------
    ValueError
        If the word lengths differ.

    Examples
    --------
    >>> import fixsim as fx, numpy as np
    >>> a = fx.fi([-1, np.pi / 4], 1, 8, 7)
    >>> c = fx.reinterpretcast(a, fx.numerictype(0, 8, 0))
    >>> c.int.tolist(), c.bin.tolist() == a.bin.tolist()
    ([128, 101], True)
    """
    fn = "reinterpretcast"
    a = _as_fi(a, fn, "a")
    T = _as_type(T, fn)
    if T.word_length != a._type.word_length:
        raise ValueError(
            f"{fn}: the word length of T ({T}, {T.word_length} bits) must equal that of a "
            f"({a._type}, {a._type.word_length} bits); valid: a numerictype with word length "
            f"{a._type.word_length}. Use bitsliceget or bitconcat to change the word length.")
    return make_fi(_from_patterns(_patterns(a), T).reshape(a.shape), T, a._fimath)
