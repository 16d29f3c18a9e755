"""The ``fi`` class: an array of fixed-point numbers (stored integers plus a numerictype)."""

from __future__ import annotations

import numbers
from fractions import Fraction

import numpy as np

from . import _probe
from ._convert import as_value_array, best_fraction_length, integer_dtype_type
from ._fimath import current_fimath, default_fimath, fimath
from ._modes import Overflow, Rounding, parse_overflow, parse_rounding
from ._numerictype import check_length, numerictype
from ._quantize import (
    NONFINITE,
    WideLimbs,
    as_storage,
    quantize_array,
    requantize,
    to_float,
)

__all__ = ["fi", "make_fi"]

_FIMATH_KEYS = ("product_mode", "sum_mode", "product_word_length", "product_fraction_length",
                "sum_word_length", "sum_fraction_length", "cast_before_sum", "rules",
                "max_product_word_length", "max_sum_word_length")


def make_fi(ints: np.ndarray, T: numerictype, F: fimath | None = None) -> fi:
    """Wrap stored integers that are already in *T*'s storage dtype and range (no checks
    beyond making a numpy scalar or a Python int a 0-d array of that dtype)."""
    if type(ints) is not np.ndarray:
        # (regression: np.sign of a 0-d fi and np.choose with a scalar index stored a scalar,
        # whose .int raised)
        ints = as_storage(np.asarray(ints), T)
    obj = object.__new__(fi)
    obj._i = ints
    obj._type = T
    obj._fimath = F
    return obj


def _owned(ints: np.ndarray, source) -> np.ndarray:
    """*ints*, copied when it shares memory with the caller's *source* array (regression:
    ``fi.from_int(x, T)`` and ``fi(x)`` of an int64 array kept *x* itself as their stored
    integers, so writes went both ways and the caller could put out-of-range integers in)."""
    if isinstance(source, np.ndarray) and np.may_share_memory(ints, source):
        return ints.copy()
    return ints


def _as_type(value, method: str) -> numerictype:
    if isinstance(value, numerictype):
        return value
    if isinstance(value, str):
        try:
            return numerictype.parse(value)
        except ValueError as exc:  # name the method (regression: the bare parse error)
            raise ValueError(f"{method}: {exc}") from None
    raise TypeError(f"{method}: expected a numerictype or a type name such as 'sfix16_En12', "
                    f"got {type(value).__name__} {value!r}.")


class fi:  # noqa: N801 - MATLAB's name
    """A fixed-point array: stored integers, a :class:`numerictype`, and an optional local
    :class:`fimath`.

    Construction follows MATLAB's ``fi``::

        fi(v)                       signed, 16 bits, best-precision fraction length
        fi(v, s)                    signedness s, 16 bits, best precision
        fi(v, s, w)                 best precision for word length w
        fi(v, s, w, f)              binary point at f
        fi(v, T)                    a numerictype (or a name such as 'sfix16_En12')
        fi(v, T, F)  fi(v, s, w, f, F)  with a local fimath
        fi(v, ..., rounding='floor', overflow='wrap')   local fimath with these modes

    Values are quantized exactly (no double rounding) with the local fimath's rounding and
    overflow when one is given, else nearest and saturate (MATLAB ignores the global fimath
    here too). NaN raises, and +-inf saturates under saturating modes and raises otherwise,
    unless ``nonfinite='matlab'``. ``seed`` makes stochastic rounding reproducible.

    A fi built from a fi, or from a numpy integer array, keeps the source's type unless a
    type is given. Use :meth:`from_int` for raw stored integers and :meth:`cast` to
    requantize.
    """

    # ``_i`` holds the stored integers. It is None only while they are deferred: ``_v`` then
    # holds a scalar's stored integer as a Python int (the scalar fast path's results, see
    # _arith._scalar), else ``_lz`` holds a deferred elementwise product (_arith, a tuple of
    # the operands' arrays) or the two 64-bit limbs of a 65- to 128-bit quantization result
    # (_quantize.WideLimbs). Everything reads them through the ``_int`` property, which
    # materialises the array once; ``shape``, ``data`` and ``cast`` read limbs directly.
    __slots__ = ("_i", "_v", "_lz", "_type", "_fimath", "__weakref__")
    __array_priority__ = 1000

    def __init__(self, value=None, *args, signed=None, word_length=None, fraction_length=None,
                 numerictype=None, fimath=None, rounding=None, overflow=None,
                 nonfinite: str = "raise", seed=None, **fimath_props):
        method = "fi"
        T, s, w, f, F = _parse_args(args, method)
        if numerictype is not None:
            T = _as_type(numerictype, method)
        if fimath is not None:
            F = _check_fimath(fimath, method)
        if T is not None:
            s = T.signed if s is None else s
            w = T.word_length if w is None else w
            f = T.fraction_length if f is None else f
        if signed is not None:
            s = signed
        if word_length is not None:
            w = word_length
        if fraction_length is not None:
            f = fraction_length
        unknown = set(fimath_props) - set(_FIMATH_KEYS)
        if unknown:
            raise TypeError(f"fi: unexpected keyword argument(s) {sorted(unknown)}; valid "
                            f"fimath properties: rounding, overflow, {', '.join(_FIMATH_KEYS)}.")
        if rounding is not None or overflow is not None or fimath_props:
            base = F if F is not None else default_fimath()
            changes = dict(fimath_props)
            if rounding is not None:
                changes["rounding"] = parse_rounding(rounding, where=method)
            if overflow is not None:
                changes["overflow"] = parse_overflow(overflow, where=method)
            F = base.replace(**changes)
        if nonfinite not in NONFINITE:
            raise ValueError(f"fi: nonfinite={nonfinite!r} is not valid; valid: 'raise', "
                             "'matlab'.")
        rmode = F.rounding if F is not None else Rounding.NEAREST
        omode = F.overflow if F is not None else Overflow.SATURATE

        if isinstance(value, fi):
            src = value
            if F is None:
                F = src._fimath
            if s is None and w is None and f is None:
                self._set(src._int.copy(), src._type, F)
                return
            s = src.signed if s is None else s
            w = src.word_length if w is None else w
            if f is None:
                f = _best_from_fi(src, bool(s), w)
            T = _make_type(s, w, f)
            ints, o, u = requantize(src._int, src._type, T, rmode, omode, seed, method)
            _probe.report(T, ints.size, o, u, "fi")
            self._set(ints, T, F)
            return

        arr = np.empty((0,), dtype=np.float64) if value is None else as_value_array(value)
        if s is None and w is None and f is None and isinstance(value, np.ndarray | np.generic):
            Tint = integer_dtype_type(arr.dtype)
            if Tint is not None:
                self._set(_owned(as_storage(arr, Tint), value), Tint, F)
                return
        s = True if s is None else s
        w = 16 if w is None else w
        if f is None:
            w = check_length(w, "word_length", minimum=1, maximum=65535, method=method)
            f = best_fraction_length(arr, bool(s), w, method)
        T = _make_type(s, w, f)
        ints = quantize_array(arr, T, rmode, omode, nonfinite, seed, method, "fi", lazy=True)
        if isinstance(ints, np.ndarray):
            ints = _owned(ints, value)
        if type(ints) is WideLimbs:  # built as Python ints on first read (_int)
            self._i = None
            self._v = None
            self._lz = ints
            self._type = T
            self._fimath = F
            return
        self._set(ints, T, F)

    def _set(self, ints, T, F):
        self._i = ints
        self._type = T
        self._fimath = F

    @property
    def _int(self) -> np.ndarray:
        """The stored integers as an array (materialised on first read when deferred)."""
        ints = self._i
        if ints is None:
            ints = self._materialize()
        return ints

    @_int.setter
    def _int(self, ints: np.ndarray) -> None:
        self._i = ints

    def _limbs(self) -> WideLimbs | None:
        """The limbs of a deferred 65- to 128-bit result, else None."""
        if self._i is None and self._v is None:
            lz = self._lz
            if type(lz) is WideLimbs:
                return lz
        return None

    def _shaped(self) -> np.ndarray:
        """An array with the stored integers' shape (the limbs while they are deferred)."""
        ints = self._i
        if ints is None:
            lz = self._limbs()
            ints = lz.hi if lz is not None else self._int
        return ints

    def _floats(self) -> np.ndarray:
        """Real-world values as float64 (from the limbs while they are deferred)."""
        lz = self._limbs()
        return lz.to_float() if lz is not None else to_float(self._int, self._type)

    def _materialize(self) -> np.ndarray:
        v = self._v
        ints = np.array(v, dtype=np.int64) if v is not None else _arith.settle(self)
        self._i = ints
        return ints

    # -- alternative constructors --------------------------------------------------------------
    @classmethod
    def from_int(cls, stored, T, fimath: fimath | None = None) -> fi:
        """Build a fi from raw stored integers (no quantization).

        Parameters
        ----------
        stored : int or array_like of int
            Stored integers; each must lie in ``[T.int_min, T.int_max]``.
        T : numerictype or str
        fimath : fimath, optional
            Local fimath.
        """
        T = _as_type(T, "fi.from_int")
        arr = as_value_array(stored, "fi.from_int")
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
                raise ValueError("fi.from_int: stored values must be whole numbers; use fi(v, T)"
                                 " to quantize real values.")
            arr = np.array([int(v) for v in arr.ravel()], dtype=object).reshape(arr.shape)
        elif arr.dtype == object:
            for v in arr.ravel():
                if not isinstance(v, numbers.Integral):
                    raise ValueError(f"fi.from_int: stored value {v!r} is not an integer.")
        if arr.size:
            lo, hi = (int(arr.min()), int(arr.max()))
            if lo < T.int_min or hi > T.int_max:
                bad = lo if lo < T.int_min else hi
                raise ValueError(
                    f"fi.from_int: stored integer {bad} is out of range for {T}; valid: "
                    f"{T.int_min}..{T.int_max}. Use fx.reinterpretcast or a cast to wrap.")
        return make_fi(_owned(as_storage(arr, T), stored), T, _check_fimath(
            fimath, "fi.from_int") if fimath is not None else None)

    # -- requantization ---------------------------------------------------------------------------
    def cast(self, T, rounding=None, overflow=None, *, seed=None) -> fi:
        """Requantize into type *T*: the one explicit requantization verb.

        Rounding and overflow default to those of the fimath in force for this fi (its local
        fimath, else the current default: nearest and saturate unless changed). The result
        keeps this fi's local fimath.
        """
        T = _as_type(T, "fi.cast")
        F = self.fimath
        r = F.rounding if rounding is None else parse_rounding(rounding, where="fi.cast")
        o = F.overflow if overflow is None else parse_overflow(overflow, where="fi.cast")
        if self._i is None and self._v is None:  # deferred: product fused / limbs read directly
            ints, no, nu = _arith.cast_deferred(self, T, r, o, seed, "fi.cast")
        else:
            ints, no, nu = requantize(self._int, self._type, T, r, o, seed, "fi.cast")
        _probe.report(T, ints.size, no, nu, "cast")
        return make_fi(ints, T, self._fimath)

    # -- properties -------------------------------------------------------------------------------
    @property
    def numerictype(self) -> numerictype:
        """The data type."""
        return self._type

    @property
    def fimath(self) -> fimath:
        """The fimath in force: the local one, else the current default."""
        return self._fimath if self._fimath is not None else current_fimath()

    @property
    def local_fimath(self) -> fimath | None:
        """The local fimath, or None."""
        return self._fimath

    @property
    def isfimathlocal(self) -> bool:
        """Whether this fi has a local fimath."""
        return self._fimath is not None

    def setfimath(self, F: fimath) -> fi:
        """A copy sharing the stored integers, with local fimath *F* (no requantization)."""
        return make_fi(self._int, self._type, _check_fimath(F, "fi.setfimath"))

    def removefimath(self) -> fi:
        """A copy sharing the stored integers, with no local fimath."""
        return make_fi(self._int, self._type, None)

    signed = property(lambda self: self._type.signed, doc="True for signed types.")
    word_length = property(lambda self: self._type.word_length, doc="Word length in bits.")
    fraction_length = property(lambda self: self._type.fraction_length,
                               doc="Fraction length in bits.")

    @property
    def int(self):
        """Stored integers (read-only): int64 (uint64 for unsigned 64-bit) for W <= 64,
        Python ints in an object array beyond. A scalar fi gives a scalar."""
        v = self._int.view()
        v.flags.writeable = False
        return v[()] if v.ndim == 0 else v

    @property
    def data(self):
        """Real-world values as float64 (correctly rounded). A scalar fi gives a float."""
        out = self._floats()
        return float(out[()]) if out.ndim == 0 else out

    double = data

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and np.dtype(dtype).kind in "iub":
            # an implicit integer conversion (np.asarray(a, dtype=int), an index array) of
            # whole values only, saturated as np.astype does (regression: the float values were
            # truncated and wrapped silently, so np.take(x, a) indexed with 0.125 -> 0)
            if self._type.fraction_length > 0 and np.dtype(dtype).kind != "b":
                raise TypeError(f"fi: implicit conversion of {self._type} values to "
                                f"{np.dtype(dtype)} would round them; convert explicitly with "
                                "np.astype(a, dtype) (MATLAB's int8(a): round, saturate) or use "
                                "a.int for the stored integers.")
            return _dispatch.as_integer_dtype(self, np.dtype(dtype))
        out = self._floats()  # a fresh array: no second copy for dtype=float64
        if dtype is not None and np.dtype(dtype) != out.dtype:
            out = out.astype(dtype)
        return out

    def exact(self):
        """Exact real-world values as ``fractions.Fraction`` (a scalar, or an object array)."""
        scale = self._type.exact_eps
        flat = [Fraction(int(v)) * scale for v in self._int.ravel()]
        if self._int.ndim == 0:
            return flat[0]
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out.reshape(self._int.shape)

    # -- strings ----------------------------------------------------------------------------------
    def _patterns(self):
        w = self._type.word_length
        mask = (1 << w) - 1
        return [int(v) & mask for v in self._int.ravel()]

    def _strings(self, fmt):
        out = [fmt(p) for p in self._patterns()]
        if self._int.ndim == 0:
            return out[0]
        return np.array(out, dtype=str).reshape(self._int.shape)

    @property
    def bin(self):
        """Two's complement bits of the stored integers, W characters each."""
        w = self._type.word_length
        return self._strings(lambda p: format(p, f"0{w}b"))

    @property
    def hex(self):
        """Stored bits in lower-case hexadecimal, ``ceil(W/4)`` digits."""
        n = -(-self._type.word_length // 4)
        return self._strings(lambda p: format(p, f"0{n}x"))

    @property
    def oct(self):
        """Stored bits in octal, ``ceil(W/3)`` digits."""
        n = -(-self._type.word_length // 3)
        return self._strings(lambda p: format(p, f"0{n}o"))

    @property
    def dec(self):
        """Stored bits as an unsigned decimal (MATLAB ``dec``)."""
        return self._strings(str)

    @property
    def sdec(self):
        """Stored integers as signed decimals (MATLAB ``sdec``)."""
        out = [str(int(v)) for v in self._int.ravel()]
        if self._int.ndim == 0:
            return out[0]
        return np.array(out, dtype=str).reshape(self._int.shape)

    def _value_text(self) -> str:
        if self._type.word_length <= 53 or self._int.dtype != object:
            data = to_float(self._int, self._type)
            return np.array2string(data, separator=", ", floatmode="unique",
                                   threshold=200) if data.ndim else repr(float(data))
        ex = self.exact()
        if self._int.ndim == 0:
            return str(ex)
        return np.array2string(ex, separator=", ", threshold=200,
                               formatter={"object": str})

    def __repr__(self) -> str:
        extra = f", fimath={self._fimath!r}" if self._fimath is not None else ""
        return f"fi({self._value_text()}, '{self._type}'{extra})"

    def __str__(self) -> str:
        T = self._type
        lines = [self._value_text(),
                 "      DataTypeMode: Fixed-point: binary point scaling",
                 f"        Signedness: {'Signed' if T.signed else 'Unsigned'}",
                 f"        WordLength: {T.word_length}",
                 f"    FractionLength: {T.fraction_length}"]
        if self._fimath is not None:
            F = self._fimath
            lines += [f"    RoundingMethod: {F.rounding}", f"    OverflowAction: {F.overflow}",
                      f"       ProductMode: {F.product_mode}", f"           SumMode: {F.sum_mode}"]
        return "\n".join(lines)

    # -- array shape ------------------------------------------------------------------------------
    shape = property(lambda self: self._shaped().shape)
    ndim = property(lambda self: self._shaped().ndim)
    size = property(lambda self: self._shaped().size)

    def __len__(self) -> int:
        arr = self._shaped()
        if arr.ndim == 0:
            raise TypeError("len() of a scalar fi")
        return arr.shape[0]

    def __iter__(self):
        if self._int.ndim == 0:
            raise TypeError("iteration over a scalar fi")
        for i in range(self._int.shape[0]):
            yield self[i]

    def __getitem__(self, index) -> fi:
        if isinstance(index, fi):
            raise IndexError("fi: index with integers or booleans, not a fi (use .int).")
        ints = self._int[index]
        if not isinstance(ints, np.ndarray):
            ints = np.array(ints, dtype=self._int.dtype)
        return make_fi(ints, self._type, self._fimath)

    def __setitem__(self, index, value) -> None:
        """Assign; *value* is quantized into this fi's type with its fimath's modes."""
        if _arith._PENDING:  # products deferred on this array must see the old values
            _arith.settle_all()
        F = self.fimath
        T = self._type
        if isinstance(value, fi):
            ints, o, u = requantize(value._int, value._type, T, F.rounding, F.overflow, None,
                                    "fi.__setitem__")
        else:
            arr = as_value_array(value, "fi.__setitem__")
            ints = quantize_array(arr, T, F.rounding, F.overflow, "raise", None,
                                  "fi.__setitem__", "assign")
            o = u = None
        if o is not None:
            _probe.report(T, ints.size, o, u, "assign")
        if self._int.dtype == object and ints.dtype != object:
            ints = ints.astype(object)
        if ints.ndim == 0:
            # one element: its scalar (regression: a 0-d object array was stored *as* the
            # element of a wide fi, whose stored integers then held an array)
            ints = ints[()]
        self._int[index] = ints

    @property
    def T(self) -> fi:  # noqa: N802 - numpy's name
        """Transpose."""
        return make_fi(self._int.T, self._type, self._fimath)

    def transpose(self, *axes) -> fi:
        """Permute the axes (as ``numpy.ndarray.transpose``)."""
        return make_fi(self._int.transpose(*axes), self._type, self._fimath)

    def reshape(self, *shape, order="C") -> fi:
        """Same values, new shape."""
        return make_fi(self._int.reshape(*shape, order=order), self._type, self._fimath)

    def ravel(self, order="C") -> fi:
        """Flattened (a view where possible)."""
        return make_fi(self._int.ravel(order=order), self._type, self._fimath)

    def flatten(self, order="C") -> fi:
        """Flattened copy."""
        return make_fi(self._int.flatten(order=order), self._type, self._fimath)

    def squeeze(self, axis=None) -> fi:
        """Remove axes of length one."""
        return make_fi(self._int.squeeze(axis=axis), self._type, self._fimath)

    def copy(self) -> fi:
        """A copy with its own stored integers."""
        return make_fi(self._int.copy(), self._type, self._fimath)

    __copy__ = copy

    def __deepcopy__(self, memo) -> fi:
        return self.copy()

    def __reduce__(self):
        return (_rebuild, (self._int, self._type, self._fimath))

    __hash__ = None  # mutable

    # -- scalar conversions -------------------------------------------------------------------
    def _scalar(self, what: str):
        if self._int.size != 1:
            raise TypeError(f"only a one-element fi can be converted to a Python {what}")
        return int(self._int.ravel()[0])

    def __float__(self) -> float:
        return float(to_float(np.asarray(self._scalar("float"), dtype=object).reshape(()),
                              self._type))

    def __int__(self) -> int:
        """The real-world value truncated toward zero (Python's ``int(x)`` rule)."""
        return int(Fraction(self._scalar("int")) * self._type.exact_eps)

    def __bool__(self) -> bool:
        if self._int.size != 1:
            raise ValueError("the truth value of a fi with more than one element is ambiguous;"
                             " use .any() or .all()")
        return bool(self._scalar("bool") != 0)

    # -- arithmetic (see _arith) -----------------------------------------------------------------
    def __add__(self, other):
        if type(other) is fi:  # scalar fast path first (see _arith._scalar)
            out = _scalar_add(self, other)
            if out is not None:
                return out
        if _defers(other):
            return NotImplemented
        return _arith.add(self, other)

    def __radd__(self, other):
        return _arith.add(other, self)

    def __sub__(self, other):
        if type(other) is fi:
            out = _scalar_sub(self, other)
            if out is not None:
                return out
        if _defers(other):
            return NotImplemented
        return _arith.subtract(self, other)

    def __rsub__(self, other):
        return _arith.subtract(other, self)

    def __mul__(self, other):
        if type(other) is fi:
            out = _scalar_mul(self, other)
            if out is not None:
                return out
        if _defers(other):
            return NotImplemented
        return _arith.multiply(self, other)

    def __rmul__(self, other):
        return _arith.multiply(other, self)

    def __truediv__(self, other):
        if _defers(other):
            return NotImplemented
        return _arith.rdivide(self, other)

    def __rtruediv__(self, other):
        return _arith.rdivide(other, self)

    def __matmul__(self, other):
        if _defers(other):
            return NotImplemented
        return _dispatch.call_function(np.matmul, (self, other), {})

    def __rmatmul__(self, other):
        return _dispatch.call_function(np.matmul, (other, self), {})

    def __neg__(self):
        return _arith.negate(self)

    def __pos__(self):
        return self.copy()

    def __abs__(self):
        return _arith.absolute(self)

    def __eq__(self, other):
        if _not_a_value(other):
            return np.zeros(self.shape, dtype=bool)
        return _arith.compare(self, other, "eq")

    def __ne__(self, other):
        if _not_a_value(other):
            return np.ones(self.shape, dtype=bool)
        return _arith.compare(self, other, "ne")

    def __lt__(self, other):
        if _defers(other):
            return NotImplemented
        return _arith.compare(self, other, "lt")

    def __le__(self, other):
        if _defers(other):
            return NotImplemented
        return _arith.compare(self, other, "le")

    def __gt__(self, other):
        if _defers(other):
            return NotImplemented
        return _arith.compare(self, other, "gt")

    def __ge__(self, other):
        if _defers(other):
            return NotImplemented
        return _arith.compare(self, other, "ge")

    def __floordiv__(self, other):
        raise TypeError("fi: // is not defined for fixed point; use a / b (MATLAB rdivide), "
                        "fx.divide(T, a, b), or floor() of a quotient.")

    __rfloordiv__ = __floordiv__

    def __pow__(self, other):
        if isinstance(other, int) and not isinstance(other, bool) and other >= 1:
            out = self
            for _ in range(other - 1):
                out = _arith.multiply(out, self)
            return out
        raise TypeError(f"fi: ** needs a positive Python int exponent, got {other!r}; use "
                        "repeated multiplication or a.data for other powers.")

    # bitwise operators act on the stored bits, as fx.bitand/bitor/bitxor/bitcmp
    def __and__(self, other):
        return _bitops.bitand(self, other)

    def __rand__(self, other):
        return _bitops.bitand(other, self)

    def __or__(self, other):
        return _bitops.bitor(self, other)

    def __ror__(self, other):
        return _bitops.bitor(other, self)

    def __xor__(self, other):
        return _bitops.bitxor(self, other)

    def __rxor__(self, other):
        return _bitops.bitxor(other, self)

    def __invert__(self):
        return _bitops.bitcmp(self)

    def __lshift__(self, k):
        return _bitops.bitsll(self, k)

    def __rshift__(self, k):
        return _bitops.bitsra(self, k)

    # -- numpy protocol (see _dispatch) ------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if any(_defers(x) for x in inputs):
            return NotImplemented
        return _dispatch.array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        if any(getattr(t, "_fi_defers", False) for t in types):
            return NotImplemented
        return _dispatch.call_function(func, args, kwargs)

    # -- reductions as methods (numpy style; see fx.sum etc.) ---------------------------------
    def sum(self, axis=None, **kwargs) -> fi:
        """Full-precision sum (``fx.sum``): ``ceil(log2 N)`` more integer bits."""
        return _reductions.sum(self, axis, **kwargs)

    def cumsum(self, axis=None) -> fi:
        """Running sums (``fx.cumsum``)."""
        return _reductions.cumsum(self, axis)

    def prod(self, axis=None, **kwargs) -> fi:
        """Full-precision product (``fx.prod``)."""
        return _reductions.prod(self, axis, **kwargs)

    def mean(self, axis=None, **kwargs) -> fi:
        """Mean in this fi's type (``fx.mean``, MATLAB ``mean``)."""
        return _reductions.mean(self, axis, **kwargs)

    def max(self, axis=None, **kwargs) -> fi:
        """Largest value (``fx.max``)."""
        return _reductions.max(self, axis, **kwargs)

    def min(self, axis=None, **kwargs) -> fi:
        """Smallest value (``fx.min``)."""
        return _reductions.min(self, axis, **kwargs)

    def dot(self, other) -> fi:
        """Inner product (``fx.dot``)."""
        return _reductions.dot(self, other)

    def any(self, axis=None):
        """Whether any value is nonzero."""
        return np.any(self._int != 0, axis=axis)

    def all(self, axis=None):
        """Whether every value is nonzero."""
        return np.all(self._int != 0, axis=axis)


def _not_a_value(other) -> bool:
    """Whether *other* holds no number at all (None, a string, any other object), which
    equals no fi element: ``==`` is then elementwise False and ``!=`` True, as for numpy
    arrays (regression: they raised TypeError, so ``fi(1.5) in [None, 1.5]`` raised)."""
    return not isinstance(other, numbers.Number | np.ndarray | np.generic | list | tuple
                          | fi) and not _defers(other) \
        and not hasattr(other, "__array__") and not hasattr(other, "__array_interface__")


def _defers(other) -> bool:
    """Whether *other* computes mixed operations with fi itself (fixsim's Interval, the value
    domain of static range analysis, treats a fi as the point interval of its values)."""
    return getattr(type(other), "_fi_defers", False)


def _rebuild(ints, T, F):
    return make_fi(ints, T, F)


def _check_fimath(F, method: str):
    if not isinstance(F, fimath):
        raise TypeError(f"{method}: fimath must be a fixsim.fimath, got {type(F).__name__}.")
    return F


def _make_type(s, w, f) -> numerictype:
    """``numerictype(s, w, f)`` (inside ``fi.__init__`` the name is an argument)."""
    return numerictype(s, w, f)


def _parse_args(args, method: str):
    """MATLAB positional forms after the value: (T[, F]), (F), (s[, w[, f]][, F])."""
    T = s = w = f = F = None
    if not args:
        return T, s, w, f, F
    first = args[0]
    if isinstance(first, numerictype | str) and not isinstance(first, bool):
        T = _as_type(first, method)
        rest = args[1:]
        if rest:
            F = _check_fimath(rest[0], method)
        if len(rest) > 1:
            raise TypeError(f"{method}: too many positional arguments after the numerictype.")
        return T, s, w, f, F
    if isinstance(first, fimath):
        if len(args) > 1:
            raise TypeError(f"{method}: nothing may follow the fimath argument.")
        return T, s, w, f, first
    pos = list(args)
    if pos and isinstance(pos[-1], fimath):
        F = pos.pop()
    if len(pos) > 3:
        raise TypeError(
            f"{method}: too many positional arguments; forms: fi(v), fi(v, s), fi(v, s, w), "
            "fi(v, s, w, f), fi(v, T), fi(v, T, F), fi(v, s, w, f, F). Slope-bias scaling is "
            "not supported.")
    s = pos[0] if len(pos) > 0 else None
    w = pos[1] if len(pos) > 1 else None
    f = pos[2] if len(pos) > 2 else None
    return T, s, w, f, F


def _best_from_fi(src: fi, signed: bool, w: int) -> int:
    """Best-precision fraction length at word length *w* for the exact values of *src*
    (only its largest and smallest values matter)."""
    ints = src._int
    if ints.size == 0:
        return w - (1 if signed else 0)
    scale = src._type.exact_eps
    exact = np.empty(2, dtype=object)
    exact[:] = [Fraction(int(ints.max())) * scale, Fraction(int(ints.min())) * scale]
    return best_fraction_length(exact, signed, w)


from . import _arith, _bitops, _dispatch, _reductions  # noqa: E402  (they import fi)

_scalar_add = _arith._scalar_add
_scalar_sub = _arith._scalar_sub
_scalar_mul = _arith._scalar_mul
