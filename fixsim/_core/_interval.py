"""Intervals: the value domain that static range analysis (``fx.tool.derive``) runs on.

An :class:`Interval` is an array of closed real intervals ``[lo, hi]`` (float64 bounds,
possibly infinite). It lives in ``_core`` so that DSP blocks and network layers can recognise
an interval input and return their own worst-case bound without importing the tool
(DESIGN §2). Blocks report the derived range of each internal signal with
:func:`report_range`; the tool listens with :class:`range_listening`.

Soundness and rounding
----------------------
Every bound contains every *real* result of the operation for every choice of real operands
inside the operand intervals. Bounds are float64; each float operation is rounded *outward*
in the exact sense: an error-free transformation (Knuth's TwoSum for sums, Dekker's
TwoProduct for products, the exact division residual for quotients) gives the sign of the
rounding error, and a lower bound moves one ulp down (``np.nextafter`` toward -inf) only when
the rounded result lies above the exact one (upper bounds likewise). So a bound is exact
whenever the exact result is a float (``[-1, 1] * 0.5`` is exactly ``[-0.5, 0.5]``, which
matters when a range sits on a power of two) and is otherwise the neighbouring float outward.
Where the transformations' preconditions fail (operands or results beyond ``2**990``,
products or quotients or their operands below ``2**-900`` in magnitude, overflow) the bound
moves outward unconditionally, which is always sound; a product or quotient that underflows
to 0 keeps the sign of its operands. Reductions (``sum``, ``@``, ``convolve``) add the
directed-rounded terms pairwise (a tree), each addition rounded outward.

Arithmetic is the classic interval arithmetic: every occurrence of a variable varies
independently (``x - x`` is ``[lo - hi, hi - lo]``, not 0), so bounds are guaranteed, and
exact for expressions in which each input element appears once (an FIR, a matrix product
with a point matrix). ``x * x`` of the same object and ``x ** n`` are computed as powers
(``[0, max**2]`` when the interval holds 0).

A division by an interval that contains 0 gives ``[-inf, inf]`` with a ``reason`` saying so;
nothing is guessed. Comparisons give *truth intervals*: ``[1, 1]`` certainly true, ``[0, 0]``
certainly false, ``[0, 1]`` undecided; ``np.where`` with such a condition takes the union
(hull) of both branches where undecided.
"""

from __future__ import annotations

import contextvars
import dataclasses
import math
import numbers
import operator
from collections.abc import Callable
from fractions import Fraction

import numpy as np

from ._modes import Overflow, Rounding

__all__ = ["Interval", "RangeEvent", "report_range", "range_listening", "ranges_active",
           "as_interval", "cast_interval", "HANDLED_UFUNCS", "HANDLED_FUNCTIONS"]

_INF = np.inf
_MAX = float(np.finfo(np.float64).max)
_BIG = 2.0 ** 990     # TwoProduct's splitting cannot overflow below this magnitude
_TINY = 2.0 ** -900   # products/quotients above this magnitude cannot underflow in the EFTs
_SPLIT = 134217729.0  # 2**27 + 1, Veltkamp's splitter for binary64
_CHUNK = 1 << 19      # elements per block of term products (memory bound of @ and convolve)


# == directed rounding by error-free transformations =============================================
def _dn(x):
    with np.errstate(over="ignore"):
        return np.nextafter(x, -_INF)


def _up(x):
    with np.errstate(over="ignore"):
        return np.nextafter(x, _INF)


def _lower(v, err):
    """The largest float <= the exact value ``v + err`` (err: sign of the rounding error;
    NaN means unknown, and the bound then moves down unconditionally)."""
    return np.where(err >= 0, v, _dn(v))


def _upper(v, err):
    """The smallest float >= the exact value (see :func:`_lower`)."""
    return np.where(err <= 0, v, _up(v))


def _add_err(a, b):
    """``s = fl(a + b)`` and the exact error ``a + b - s`` (TwoSum; NaN where s is not
    finite, i.e. an infinite operand or an overflow)."""
    with np.errstate(over="ignore", invalid="ignore"):
        s = np.add(a, b)
        bb = s - a
        err = (a - (s - bb)) + (b - bb)
    return s, np.where(np.isfinite(s), err, np.nan)


def _split(a):
    c = _SPLIT * a
    hi = c - (c - a)
    return hi, a - hi


def _mul_raw(a, b):
    """``p = fl(a * b)`` and Dekker's error term (exact under the preconditions)."""
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        p = np.multiply(a, b)
        ah, al = _split(a)
        bh, bl = _split(b)
        err = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, err


def _mul_err(a, b):
    """``p = fl(a * b)`` (0 for ``0 * inf``: the real product of 0 and any real is 0) and the
    sign-carrying error ``a * b - p`` (NaN where unknown)."""
    p, err = _mul_raw(a, b)
    aa, ab = np.abs(a), np.abs(b)
    with np.errstate(invalid="ignore"):
        ap = np.abs(p)
        safe = (aa <= _BIG) & (ab <= _BIG) & (ap >= _TINY) & (ap <= _BIG)
    err = np.where(safe, err, np.nan)
    # an underflow to 0 of a nonzero product: the exact value has the operands' sign
    err = np.where(p == 0, np.sign(a) * np.sign(b), err)
    zero = (a == 0) | (b == 0)
    return np.where(zero, 0.0, p), np.where(zero, 0.0, err)


def _div_err(a, b):
    """``q = fl(a / b)`` for ``b != 0`` and the sign of ``a / b - q`` (NaN where unknown).

    ``a / inf`` is 0 exactly (the limit at an infinite bound). The residual
    ``r = a - q * b`` is exactly representable when nothing underflows, and TwoProduct gives
    it exactly; the quotient's error ``r / b`` has the sign of ``r * b``.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        q = np.divide(a, b)
        p, e = _mul_raw(q, b)
        r = (a - p) - e
        aq, ab, aa = np.abs(q), np.abs(b), np.abs(a)
        safe = ((aq >= _TINY) & (aq <= _BIG) & (ab >= _TINY) & (ab <= _BIG) & (aa >= _TINY)
                & (np.abs(p) <= _BIG))
        err = np.where(safe, r * np.sign(b), np.nan)
    # an underflow to 0 of a nonzero quotient: the exact value has the operands' sign
    err = np.where(q == 0, np.sign(a) * np.sign(b), err)
    exact0 = (a == 0) | (np.isinf(b) & np.isfinite(a))
    return np.where(exact0, 0.0, q), np.where(exact0, 0.0, err)


def _add_lo(a, b):
    return _lower(*_add_err(a, b))


def _add_hi(a, b):
    return _upper(*_add_err(a, b))


# == exact conversions ============================================================================
def _frac_bounds(value: Fraction) -> tuple[float, float]:
    """The tightest float bounds ``(lo, hi)`` of an exact rational."""
    try:
        f = float(value)
    except OverflowError:
        return (_MAX, _INF) if value > 0 else (-_INF, -_MAX)
    ff = Fraction(f)
    if ff == value:
        return f, f
    if ff < value:
        return f, float(_up(f))
    return float(_dn(f)), f


def _object_bounds(arr: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    lo = np.empty(arr.shape, dtype=np.float64)
    hi = np.empty(arr.shape, dtype=np.float64)
    for idx, v in np.ndenumerate(arr):
        lo[idx], hi[idx] = _frac_bounds(_exact(v, where))
    return lo, hi


def _exact(v, where: str) -> Fraction:
    if isinstance(v, bool | np.bool_):
        return Fraction(int(v))
    if isinstance(v, numbers.Rational):
        return Fraction(v.numerator, v.denominator)
    if isinstance(v, float | np.floating):
        if not math.isfinite(v):
            raise ValueError(f"{where}: the value {v!r} is not a finite real number; an "
                             "Interval operand must be real (give an unbounded Interval "
                             "explicitly, Interval(-np.inf, np.inf), if that is meant).")
        return Fraction(float(v))
    if isinstance(v, np.integer):
        return Fraction(int(v))
    try:
        import decimal
        if isinstance(v, decimal.Decimal):
            if not v.is_finite():
                raise ValueError(f"{where}: the value {v!r} is not a finite real number.")
            return Fraction(v)
    except ImportError:  # pragma: no cover
        pass
    raise TypeError(f"{where}: cannot use {type(v).__name__} {v!r} as an interval operand; "
                    "valid: an Interval, a fi, numbers, or numpy arrays of real numbers.")


def _fi_bounds(x) -> tuple[np.ndarray, np.ndarray]:
    """A fi's exact values as tight float bounds (a point where float64 holds them)."""
    T = x.numerictype
    W, F = T.word_length, T.fraction_length
    ints = np.asarray(x.int)
    if W <= 53 and F <= 1022 and W - F <= 1023 and ints.dtype.kind in "iu":
        v = np.ldexp(ints.astype(np.float64), -F)
        return v, v.copy()
    scale = Fraction(1, 2 ** F) if F >= 0 else Fraction(2 ** -F)
    lo = np.empty(ints.shape, dtype=np.float64)
    hi = np.empty(ints.shape, dtype=np.float64)
    for idx, v in np.ndenumerate(ints):
        lo[idx], hi[idx] = _frac_bounds(int(v) * scale)
    return lo, hi


def _is_fi(x) -> bool:
    from ._fi import fi
    return isinstance(x, fi)


def as_interval(x, where: str = "Interval", *, allow_inf: bool = False) -> Interval:
    """*x* as an :class:`Interval`: an Interval unchanged; a ``fi``, a number or an array of
    real numbers as the point interval of its exact values (the tightest float bounds when a
    value is not a float, such as a 60-bit ``fi`` or ``Fraction(1, 3)``).

    Parameters
    ----------
    x : Interval, fi, number or array_like
    where : str
        The operation's name, for error messages.
    allow_inf : bool
        Accept infinite numbers as points (``np.clip(x, -np.inf, 1)``); otherwise an
        infinite or NaN number raises ``ValueError``.
    """
    if isinstance(x, Interval):
        return x
    if _is_fi(x):
        lo, hi = _fi_bounds(x)
        iv = Interval._raw(lo, hi, None)
        iv._fi = (x.numerictype, x._fimath)  # it stands for this fi (see _interval_fi)
        return iv
    if isinstance(x, str | bytes) or x is None:
        raise TypeError(f"{where}: cannot use {type(x).__name__} {x!r} as an interval operand;"
                        " valid: an Interval, a fi, numbers, or numpy arrays of real numbers.")
    if isinstance(x, list | tuple) and any(isinstance(v, Interval) or _is_fi(v) for v in x):
        return concatenate([as_interval(v, where, allow_inf=allow_inf)[None] for v in x])
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: cannot use {type(x).__name__} as an interval operand: "
                        f"{exc}") from None
    kind = arr.dtype.kind
    if kind == "f":
        arr = arr.astype(np.float64, copy=False)
        bad = np.isnan(arr) if allow_inf else ~np.isfinite(arr)
        if bad.any():
            v = arr[bad].ravel()[0]
            raise ValueError(f"{where}: the operand holds {v!r}, which is not a finite real "
                             "number; give an unbounded Interval explicitly, "
                             "Interval(-np.inf, np.inf), if that is meant.")
        # separate copies: bounds never alias each other or the caller's array (setitem)
        return Interval._raw(arr.copy(), arr.copy(), None)
    if kind == "b":
        v = arr.astype(np.float64)
        return Interval._raw(v, v.copy(), None)
    if kind in "iu":
        if bool(np.all((arr >= -(2 ** 53)) & (arr <= 2 ** 53))):
            v = arr.astype(np.float64)
            return Interval._raw(v, v.copy(), None)
        lo, hi = _object_bounds(arr.astype(object), where)
        return Interval._raw(lo, hi, None)
    if kind == "O":
        lo, hi = _object_bounds(arr, where)
        return Interval._raw(lo, hi, None)
    raise TypeError(f"{where}: cannot use an array of dtype {arr.dtype} as an interval operand;"
                    " valid: real numbers (float, integer, bool, Fraction).")


# == the Interval class ===========================================================================

#: functions of other libraries that convert their input to an array, and what to use instead
_REPLACEMENTS = {"sosfilt": "fixsim.signal.sosfilt (the same call; it also takes an "
                            "Interval) or the fixsim.signal.SOSFilter block",
                 "lfilter": "fixsim.signal.lfilter (the same call; it also takes an Interval) "
                            "or the fixsim.signal.SOSFilter block",
                 "filtfilt": "a forward fixsim.signal.sosfilt (filtfilt is not causal)"}


def _foreign_caller_hint() -> str:
    """When a library function (scipy's, say) is converting an Interval to an array: which
    function it is, and the interval-aware replacement if fixsim has one."""
    import sys

    f = sys._getframe(2)
    for _ in range(12):
        if f is None:
            break
        mod = f.f_globals.get("__name__", "")
        if mod.startswith("scipy."):
            name = f.f_code.co_name
            # the outermost scipy frame names the function the algorithm called
            while f.f_back is not None and f.f_back.f_globals.get(
                    "__name__", "").startswith("scipy."):
                f = f.f_back
                mod, name = f.f_globals.get("__name__", ""), f.f_code.co_name
            use = _REPLACEMENTS.get(name)
            where = f"{mod.rsplit('.', 1)[0] if mod.count('.') > 1 else mod}.{name}"
            if use:
                return f" {where} cannot run on an Interval (it converts its input to an " \
                       f"array): use {use}."
            return f" ({where} converts its input to an array, so it cannot run on an " \
                   "Interval: write that step with numpy operations or fixsim blocks.)"
        f = f.f_back
    return ""

class Interval:
    """An array of closed real intervals ``[lo, hi]``: the value domain of ``derive``.

    Parameters
    ----------
    lo, hi : array_like
        Lower and upper bounds (broadcast together; float64). ``hi`` defaults to ``lo`` (a
        point interval). ``lo <= hi`` must hold elementwise; bounds may be infinite
        (``lo = -inf`` and ``hi = inf`` mean unbounded below and above).
    reason : str, optional
        Why the interval is unbounded, when it is (for reports).

    Notes
    -----
    numpy operations on Intervals are computed by interval arithmetic with outward rounding
    (see the module notes): the ufuncs in :data:`HANDLED_UFUNCS` and the functions in
    :data:`HANDLED_FUNCTIONS`; anything else raises ``TypeError`` naming the function.
    Operands may be Intervals, ``fi`` values (the point interval of their exact values),
    numpy arrays and Python numbers. An Interval never converts to a float array silently
    (``np.asarray(iv)`` raises); use ``.lo`` and ``.hi``.

    Examples
    --------
    >>> import numpy as np
    >>> from fixsim.tool import Interval
    >>> x = Interval(-1, 1)
    >>> y = np.convolve(Interval.full(8, -1, 1), [0.5, -0.25, 0.125])
    >>> y.hull()
    (-0.875, 0.875)
    >>> 0.5 * x + 1
    Interval(0.5, 1.5)
    """

    __array_priority__ = 1000
    __hash__ = None  # elementwise ==
    _fi_defers = True  # fi's operators and numpy protocol leave mixed operations to Interval
    #: (numerictype, local fimath) of the fi this interval stands for in a fixed-point run,
    #: or None (a real-valued signal); operations on typed intervals follow fi's result types
    #: and overflow (see fixsim._core._interval_fi)
    _fi = None

    def __init__(self, lo, hi=None, *, reason: str | None = None):
        lo_a = _bound_array(lo, "lo")
        hi_a = lo_a if hi is None else _bound_array(hi, "hi")
        try:
            lo_a, hi_a = np.broadcast_arrays(lo_a, hi_a)
        except ValueError:
            raise ValueError(f"Interval: lo of shape {lo_a.shape} and hi of shape "
                             f"{hi_a.shape} do not broadcast together.") from None
        if np.isnan(lo_a).any() or np.isnan(hi_a).any():
            raise ValueError("Interval: bounds must not be NaN.")
        bad = lo_a > hi_a
        if bad.any():
            i = np.argwhere(bad)[0] if bad.ndim else ()
            raise ValueError(f"Interval: lo must be <= hi elementwise; at index {tuple(i)} "
                             f"lo={float(lo_a[tuple(i)])!r} > hi={float(hi_a[tuple(i)])!r}.")
        if (lo_a == _INF).any() or (hi_a == -_INF).any():
            raise ValueError("Interval: lo = +inf or hi = -inf is not an interval of reals.")
        self.lo = np.array(lo_a)
        self.hi = np.array(hi_a)
        self.reason = reason if not self.bounded else None

    @classmethod
    def _raw(cls, lo: np.ndarray, hi: np.ndarray, reason: str | None) -> Interval:
        """Build without checks (internal: bounds already valid float64 arrays)."""
        self = object.__new__(cls)
        self.lo = lo
        self.hi = hi
        self.reason = reason
        return self

    @classmethod
    def full(cls, shape, lo: float, hi: float, *, reason: str | None = None) -> Interval:
        """An Interval of *shape* whose every element is ``[lo, hi]``."""
        return cls(np.full(shape, lo, dtype=np.float64), np.full(shape, hi, dtype=np.float64),
                   reason=reason)

    @classmethod
    def point(cls, x) -> Interval:
        """The point interval of *x*'s exact values (a fi, numbers or an array)."""
        return as_interval(x, "Interval.point")

    @classmethod
    def unbounded(cls, shape=(), reason: str | None = None) -> Interval:
        """``[-inf, inf]`` everywhere, with the reason."""
        return cls.full(shape, -_INF, _INF, reason=reason)

    # -- array attributes ---------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.lo.shape

    @property
    def ndim(self) -> int:
        return self.lo.ndim

    @property
    def size(self) -> int:
        return self.lo.size

    def __len__(self) -> int:
        return len(self.lo)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    @property
    def bounded(self) -> bool:
        """Whether every bound is finite."""
        return bool(np.isfinite(self.lo).all() and np.isfinite(self.hi).all())

    @property
    def is_point(self) -> bool:
        """Whether every element is a single value (``lo == hi``)."""
        return bool((self.lo == self.hi).all())

    def hull(self) -> tuple[float, float]:
        """``(min lo, max hi)`` over all elements."""
        if self.lo.size == 0:
            raise ValueError("Interval.hull: empty interval array.")
        return float(self.lo.min()), float(self.hi.max())

    def contains(self, values) -> np.ndarray:
        """Elementwise ``lo <= values <= hi`` (float values, broadcast)."""
        v = np.asarray(values, dtype=np.float64)
        return (self.lo <= v) & (v <= self.hi)

    def __repr__(self) -> str:
        why = f", reason={self.reason!r}" if self.reason else ""
        if self.lo.ndim == 0:
            return f"Interval({float(self.lo)!r}, {float(self.hi)!r}{why})"
        if not self.lo.size:
            return f"<Interval shape={self.shape} (empty)>"
        lo, hi = self.hull()
        return f"<Interval shape={self.shape} hull=[{lo!r}, {hi!r}]{why}>"

    # -- no silent conversion -------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("An Interval has no single value to convert to a numpy array; use "
                        "iv.lo and iv.hi (the bounds). Inside an algorithm analysed by "
                        "derive, build arrays with np.zeros_like(x) on the Interval input "
                        f"instead of np.zeros(n).{_foreign_caller_hint()}")

    def __float__(self):
        raise TypeError("An Interval cannot be converted to float; use .lo / .hi.")

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError("the truth value of an Interval with more than one element is "
                             "ambiguous; use np.where")
        t, f = _truth(self)
        if bool(t.all()):
            return True
        if bool(f.all()):
            return False
        raise ValueError(f"the truth value of {self!r} is undecided over the interval (it "
                         "holds both zero and nonzero values); branch with np.where(cond, a, "
                         "b), which takes both branches where undecided.")

    # -- indexing -------------------------------------------------------------------------------
    def __getitem__(self, key) -> Interval:
        if isinstance(key, Interval) or (isinstance(key, tuple)
                                         and any(isinstance(k, Interval) for k in key)):
            raise TypeError("Interval: an Interval cannot be used as an index; use "
                            "np.where(cond, a, b) for a condition on intervals.")
        return _same_type(Interval._raw(self.lo[key], self.hi[key], self.reason), self)

    def __setitem__(self, key, value) -> None:
        v = as_interval(value, "Interval.__setitem__")
        if self._fi is not None:  # fi's subscripted assignment casts into the array's type
            from ._interval_fi import fit
            v = fit(v, *self._fi)
        if np.may_share_memory(self.lo, self.hi):  # a point interval's shared bounds
            self.hi = self.hi.copy()
        self.lo[key] = v.lo
        self.hi[key] = v.hi
        self.reason = _why(self, v) if not self.bounded else None

    # -- arithmetic operators --------------------------------------------------------------------
    def __add__(self, other):
        return _op(add, operator.add, self, other)

    def __radd__(self, other):
        return _op(add, operator.add, other, self)

    def __sub__(self, other):
        return _op(subtract, operator.sub, self, other)

    def __rsub__(self, other):
        return _op(subtract, operator.sub, other, self)

    def __mul__(self, other):
        return _op(multiply, operator.mul, self, other)

    def __rmul__(self, other):
        return _op(multiply, operator.mul, other, self)

    def __truediv__(self, other):
        return _op(divide, operator.truediv, self, other)

    def __rtruediv__(self, other):
        return _op(divide, operator.truediv, other, self)

    def __matmul__(self, other):
        return _op(matmul, operator.matmul, self, other)

    def __rmatmul__(self, other):
        return _op(matmul, operator.matmul, other, self)

    def __pow__(self, n):
        return _op(power, operator.pow, self, n)

    def __neg__(self):
        return _op(negative, operator.neg, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return _op(absolute, operator.abs, self)

    def __lt__(self, other):
        return less(self, other)

    def __le__(self, other):
        return less_equal(self, other)

    def __gt__(self, other):
        return less(other, self)

    def __ge__(self, other):
        return less_equal(other, self)

    def __eq__(self, other):
        return equal(self, other)

    def __ne__(self, other):
        return logical_not(equal(self, other))

    def __and__(self, other):
        return logical_and(self, other)

    __rand__ = __and__

    def __or__(self, other):
        return logical_or(self, other)

    __ror__ = __or__

    def __invert__(self):
        return logical_not(self)

    # -- array methods ---------------------------------------------------------------------------
    def sum(self, axis=None, keepdims: bool = False) -> Interval:
        """Sum over *axis* (see ``np.sum``)."""
        return _op(sum_, np.sum, self, axis=axis, keepdims=keepdims)

    def cumsum(self, axis=None) -> Interval:
        """Running sums (see ``np.cumsum``)."""
        return _op(cumsum, np.cumsum, self, axis=axis)

    def mean(self, axis=None, keepdims: bool = False) -> Interval:
        """Mean over *axis*."""
        return _op(mean, np.mean, self, axis=axis, keepdims=keepdims)

    def max(self, axis=None, keepdims: bool = False) -> Interval:
        """Largest element over *axis* (bounds: the largest lo and the largest hi)."""
        return _op(amax, np.max, self, axis=axis, keepdims=keepdims)

    def min(self, axis=None, keepdims: bool = False) -> Interval:
        """Smallest element over *axis*."""
        return _op(amin, np.min, self, axis=axis, keepdims=keepdims)

    def dot(self, other) -> Interval:
        """``np.dot(self, other)``."""
        return _op(dot, np.dot, self, other)

    def reshape(self, *shape, order: str = "C") -> Interval:
        """Reshaped view (see ``np.reshape``)."""
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        return _shape_op(self, lambda a: a.reshape(shape, order=order))

    def transpose(self, *axes) -> Interval:
        """Transposed view (see ``np.transpose``)."""
        if len(axes) == 1 and isinstance(axes[0], tuple | list):
            axes = tuple(axes[0])
        return _shape_op(self, lambda a: a.transpose(*axes))

    @property
    def T(self) -> Interval:  # noqa: N802 - numpy's name
        return self.transpose()

    def ravel(self) -> Interval:
        return _shape_op(self, np.ravel)

    def flatten(self) -> Interval:
        return _shape_op(self, lambda a: a.flatten())

    def squeeze(self, axis=None) -> Interval:
        return _shape_op(self, lambda a: a.squeeze(axis))

    def copy(self) -> Interval:
        return _same_type(Interval._raw(self.lo.copy(), self.hi.copy(), self.reason), self)

    # -- numpy protocol -------------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = f"numpy.{ufunc.__name__}"
        out = kwargs.pop("out", None)
        if out is not None and not (isinstance(out, tuple) and all(o is None for o in out)):
            raise TypeError(f"{name}: out= is not supported on Interval; use the result.")
        if method == "__call__":
            impl = HANDLED_UFUNCS.get(ufunc)
            if impl is None:
                raise _unsupported(name)
            if kwargs:
                raise TypeError(f"{name}: keyword argument(s) {sorted(kwargs)} are not "
                                "supported on Interval.")
            return _op(impl, ufunc, *inputs)
        if method == "reduce" and ufunc in _REDUCE:
            (a,) = inputs
            axis = kwargs.pop("axis", 0)
            keepdims = kwargs.pop("keepdims", False)
            _reject(f"{name}.reduce", kwargs)
            return _op(_REDUCE[ufunc], ufunc.reduce, a, axis=axis, keepdims=keepdims)
        if method == "accumulate" and ufunc is np.add:
            (a,) = inputs
            axis = kwargs.pop("axis", 0)
            _reject(f"{name}.accumulate", kwargs)
            return _op(cumsum, ufunc.accumulate, a, axis=axis)
        raise TypeError(f"{name}.{method} is not supported on Interval; supported: "
                        "np.add.reduce (sum), np.maximum.reduce, np.minimum.reduce, "
                        "np.add.accumulate (cumsum), and calls of the handled ufuncs.")

    def __array_function__(self, func, types, args, kwargs):
        impl = HANDLED_FUNCTIONS.get(func)
        if impl is None:
            mod = getattr(func, "__module__", None) or "numpy"
            raise _unsupported(f"{mod}.{getattr(func, '__name__', repr(func))}")
        return _op(impl, func, *args, _condition=func is np.where, **kwargs)


def _op(impl, fn, *args, _condition: bool = False, **kwargs):
    """``impl(*args, **kwargs)``, the real range; where an operand stands for a fi, the range
    of what fi's *fn* gives (its result type and overflow; see ``_interval_fi``)."""
    result = impl(*args, **kwargs)
    from ._interval_fi import any_typed, fi_result
    if any_typed(args, kwargs):
        return fi_result(result, impl, fn, args, kwargs, condition=_condition)
    return result


def _same_type(out: Interval, x: Interval) -> Interval:
    """*out* (the same values as *x*, moved or copied) standing for the same fi type."""
    out._fi = x._fi
    return out


def _bound_array(v, what: str) -> np.ndarray:
    if isinstance(v, Interval):
        raise TypeError(f"Interval: {what} must be numbers, not an Interval.")
    try:
        return np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Interval: {what} must be real numbers (array_like of float), got "
                        f"{type(v).__name__}: {exc}") from None


def _unsupported(name: str) -> TypeError:
    return TypeError(
        f"{name} is not supported on Interval: static range analysis has no sound interval "
        "rule for it here. Supported: + - * / ** @, abs, negative, square, maximum, minimum, "
        "clip, where, comparisons, sum, cumsum, mean, max, min, dot, matmul, convolve, "
        "correlate, diff, and shape functions (reshape, transpose, concatenate, stack, ...). "
        "A block with its own worst-case bound can report_range() its signals instead.")


def _reject(name: str, kwargs: dict) -> None:
    bad = sorted(k for k, v in kwargs.items() if v is not None and v is not np._NoValue)
    if bad:
        raise TypeError(f"{name}: argument(s) {', '.join(bad)} are not supported on Interval.")


def _why(*xs) -> str | None:
    """The reasons carried by the operands, joined (None if none)."""
    seen: list[str] = []
    for x in xs:
        r = getattr(x, "reason", None)
        if r and r not in seen:
            seen.append(r)
    return "; ".join(seen) if seen else None


def _make(lo, hi, *operands, reason: str | None = None) -> Interval:
    lo = np.asarray(lo, dtype=np.float64)
    hi = np.asarray(hi, dtype=np.float64)
    bounded = np.isfinite(lo).all() and np.isfinite(hi).all()
    why = None
    if not bounded:
        why = "; ".join(r for r in (_why(*operands), reason) if r) or None
    return Interval._raw(lo, hi, why)


def _shape_op(x: Interval, fn) -> Interval:
    return _same_type(Interval._raw(fn(x.lo), fn(x.hi), x.reason), x)


def _both(a, b, where: str, allow_inf: bool = False) -> tuple[Interval, Interval]:
    return as_interval(a, where, allow_inf=allow_inf), as_interval(b, where, allow_inf=allow_inf)


# == elementwise arithmetic =======================================================================
def add(a, b) -> Interval:
    """``a + b``."""
    a, b = _both(a, b, "add")
    return _make(_add_lo(a.lo, b.lo), _add_hi(a.hi, b.hi), a, b)


def subtract(a, b) -> Interval:
    """``a - b``."""
    a, b = _both(a, b, "subtract")
    return _make(_add_lo(a.lo, -b.hi), _add_hi(a.hi, -b.lo), a, b)


def negative(a) -> Interval:
    """``-a``."""
    a = as_interval(a, "negative")
    return Interval._raw(-a.hi, -a.lo, a.reason)


def positive(a) -> Interval:
    return as_interval(a, "positive")


def _mul_bounds(alo, ahi, blo, bhi):
    """Elementwise interval product bounds (corner products, outward)."""
    if alo is ahi or blo is bhi:  # a point operand: two products
        if blo is bhi:
            alo, ahi, blo, bhi = blo, bhi, alo, ahi
        neg = alo < 0  # a >= 0: [a*blo, a*bhi]; a < 0: [a*bhi, a*blo]
        lo = _lower(*_mul_err(alo, np.where(neg, bhi, blo)))
        hi = _upper(*_mul_err(alo, np.where(neg, blo, bhi)))
        return lo, hi
    lows, highs = [], []
    for x in (alo, ahi):
        for y in (blo, bhi):
            p, e = _mul_err(x, y)
            lows.append(_lower(p, e))
            highs.append(_upper(p, e))
    lo = np.minimum(np.minimum(lows[0], lows[1]), np.minimum(lows[2], lows[3]))
    hi = np.maximum(np.maximum(highs[0], highs[1]), np.maximum(highs[2], highs[3]))
    return lo, hi


def _point_arrays(x: Interval):
    """``(lo, hi)`` with ``hi is lo`` when *x* is a point (enables the two-product path)."""
    if x.lo is x.hi or (x.lo.shape == x.hi.shape and np.array_equal(x.lo, x.hi)):
        return x.lo, x.lo
    return x.lo, x.hi


def multiply(a, b) -> Interval:
    """``a * b`` (``x * x`` of the same Interval is the square)."""
    if a is b and isinstance(a, Interval):
        return square(a)
    a, b = _both(a, b, "multiply")
    alo, ahi = _point_arrays(a)
    blo, bhi = _point_arrays(b)
    lo, hi = _mul_bounds(alo, ahi, blo, bhi)
    return _make(lo, hi, a, b)


def _pow_nonneg(v, n: int, down: bool):
    out = v
    for _ in range(n - 1):
        p, e = _mul_err(out, v)
        out = _lower(p, e) if down else _upper(p, e)
        if down:
            out = np.maximum(out, 0.0)
    return out


def power(a, n) -> Interval:
    """``a ** n`` for a positive Python int exponent."""
    if isinstance(n, Interval) or not isinstance(n, numbers.Integral) or isinstance(n, bool) \
            or n < 1:
        raise TypeError(f"power: Interval ** n needs a positive integer exponent n, got {n!r}.")
    a = as_interval(a, "power")
    n = int(n)
    if n == 1:
        return a
    if n % 2 == 0:
        m = absolute(a)
        return _make(_pow_nonneg(m.lo, n, True), _pow_nonneg(m.hi, n, False), a)
    # odd: monotone
    lo = np.where(a.lo >= 0, _pow_nonneg(np.abs(a.lo), n, True),
                  -_pow_nonneg(np.abs(a.lo), n, False))
    hi = np.where(a.hi >= 0, _pow_nonneg(np.abs(a.hi), n, False),
                  -_pow_nonneg(np.abs(a.hi), n, True))
    return _make(lo, hi, a)


def square(a) -> Interval:
    """``a ** 2`` (``[0, max(lo**2, hi**2)]`` when the interval holds 0)."""
    return power(a, 2)


def _power_ufunc(a, b) -> Interval:
    if isinstance(b, Interval) or _is_fi(b):
        raise TypeError("power: only Interval ** (positive int) is supported.")
    nb = np.asarray(b)
    if nb.ndim != 0 or nb.dtype.kind not in "iu":
        raise TypeError(f"power: Interval ** n needs a positive integer scalar n, got {b!r}.")
    return power(a, int(nb))


def divide(a, b) -> Interval:
    """``a / b``; where ``b`` holds 0 the result is ``[-inf, inf]`` with a reason."""
    a, b = _both(a, b, "divide")
    alo, ahi = np.broadcast_arrays(a.lo, a.hi)
    blo, bhi = np.broadcast_arrays(b.lo, b.hi)
    alo, ahi, blo, bhi = np.broadcast_arrays(alo, ahi, blo, bhi)
    zero = (blo <= 0) & (bhi >= 0)
    neg = bhi < 0
    # b < 0: a / b = (-a) / (-b) with -b > 0
    nlo = np.where(neg, -ahi, alo)
    nhi = np.where(neg, -alo, ahi)
    dlo = np.where(neg, -bhi, blo)
    dhi = np.where(neg, -blo, bhi)
    dlo = np.where(zero, 1.0, dlo)  # placeholders, replaced below
    dhi = np.where(zero, 1.0, dhi)
    # b > 0: lo = nlo / (nlo >= 0 ? dhi : dlo); hi = nhi / (nhi >= 0 ? dlo : dhi)
    q, e = _div_err(nlo, np.where(nlo >= 0, dhi, dlo))
    lo = _lower(q, e)
    q, e = _div_err(nhi, np.where(nhi >= 0, dlo, dhi))
    hi = _upper(q, e)
    reason = None
    if zero.any():
        lo = np.where(zero, -_INF, lo)
        hi = np.where(zero, _INF, hi)
        zlo, zhi = float(blo[zero].min()), float(bhi[zero].max())
        reason = (f"division by an interval containing 0 (the divisor's range "
                  f"[{zlo!r}, {zhi!r}] holds 0)")
    return _make(lo, hi, a, b, reason=reason)


def absolute(a) -> Interval:
    """``abs(a)``."""
    a = as_interval(a, "absolute")
    lo = np.where(a.lo >= 0, a.lo, np.where(a.hi <= 0, -a.hi, 0.0))
    hi = np.maximum(-a.lo, a.hi)
    return _make(lo, hi, a)


def maximum(a, b) -> Interval:
    """Elementwise maximum."""
    a, b = _both(a, b, "maximum", allow_inf=True)
    return _make(np.maximum(a.lo, b.lo), np.maximum(a.hi, b.hi), a, b)


def minimum(a, b) -> Interval:
    """Elementwise minimum."""
    a, b = _both(a, b, "minimum", allow_inf=True)
    return _make(np.minimum(a.lo, b.lo), np.minimum(a.hi, b.hi), a, b)


def clip(a, a_min=None, a_max=None, out=None, **kwargs) -> Interval:
    """``np.clip``: ``minimum(maximum(a, a_min), a_max)`` (None: no bound)."""
    if out is not None:
        raise TypeError("numpy.clip: out= is not supported on Interval.")
    a_min = kwargs.pop("min", a_min)
    a_max = kwargs.pop("max", a_max)
    _reject("numpy.clip", kwargs)
    r = as_interval(a, "clip")
    if a_min is not None:
        r = maximum(r, a_min)
    if a_max is not None:
        r = minimum(r, a_max)
    return r


# == comparisons and truth intervals ==============================================================
def _truth(x: Interval):
    """``(certainly true, certainly false)`` of *x*'s truthiness (nonzero)."""
    return (x.lo > 0) | (x.hi < 0), (x.lo == 0) & (x.hi == 0)


def _truth_of(c, where: str):
    if isinstance(c, Interval):
        return _truth(c)
    if _is_fi(c):
        t = np.asarray(c.int) != 0
        return t, ~t
    t = np.asarray(c).astype(bool)
    return t, ~t


def _truth_interval(true, false) -> Interval:
    t = np.asarray(true, dtype=np.float64)
    return Interval._raw(t, np.where(np.asarray(false), 0.0, 1.0), None)


def less(a, b) -> Interval:
    """Truth interval of ``a < b``."""
    a, b = _both(a, b, "less", allow_inf=True)
    return _truth_interval(a.hi < b.lo, a.lo >= b.hi)


def less_equal(a, b) -> Interval:
    """Truth interval of ``a <= b``."""
    a, b = _both(a, b, "less_equal", allow_inf=True)
    return _truth_interval(a.hi <= b.lo, a.lo > b.hi)


def greater(a, b) -> Interval:
    return less(b, a)


def greater_equal(a, b) -> Interval:
    return less_equal(b, a)


def equal(a, b) -> Interval:
    """Truth interval of ``a == b``."""
    a, b = _both(a, b, "equal", allow_inf=True)
    sure = (a.lo == a.hi) & (b.lo == b.hi) & (a.lo == b.lo)
    return _truth_interval(sure, (a.hi < b.lo) | (b.hi < a.lo))


def not_equal(a, b) -> Interval:
    return logical_not(equal(a, b))


def logical_not(a) -> Interval:
    t, f = _truth_of(a, "logical_not")
    return _truth_interval(f, t)


def logical_and(a, b) -> Interval:
    ta, fa = _truth_of(a, "logical_and")
    tb, fb = _truth_of(b, "logical_and")
    return _truth_interval(ta & tb, fa | fb)


def logical_or(a, b) -> Interval:
    ta, fa = _truth_of(a, "logical_or")
    tb, fb = _truth_of(b, "logical_or")
    return _truth_interval(ta | tb, fa & fb)


def where(condition, x=None, y=None) -> Interval:
    """``np.where(condition, x, y)``; an undecided condition gives the hull of both."""
    if x is None or y is None:
        raise TypeError("numpy.where: only the three-argument form np.where(cond, x, y) is "
                        "supported on Interval.")
    x, y = _both(x, y, "where")
    t, f = _truth_of(condition, "where")
    lo = np.where(t, x.lo, np.where(f, y.lo, np.minimum(x.lo, y.lo)))
    hi = np.where(t, x.hi, np.where(f, y.hi, np.maximum(x.hi, y.hi)))
    return _make(lo, hi, x, y)


# == reductions ===================================================================================
def _axes(axis, ndim: int, where: str) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
    out = []
    for ax in axes:
        if not isinstance(ax, numbers.Integral) or not -ndim <= ax < max(ndim, 1):
            raise ValueError(f"{where}: axis {axis!r} is out of range for {ndim} dimensions.")
        out.append(int(ax) % max(ndim, 1))
    return tuple(out)


def _tree(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Directed pairwise sums over the last axis."""
    n = lo.shape[-1]
    if n == 0:
        z = np.zeros(lo.shape[:-1])
        return z, z.copy()
    while n > 1:
        if n % 2:
            pad = [(0, 0)] * (lo.ndim - 1) + [(0, 1)]
            lo = np.pad(lo, pad)
            hi = np.pad(hi, pad)
        lo = _add_lo(lo[..., 0::2], lo[..., 1::2])
        hi = _add_hi(hi[..., 0::2], hi[..., 1::2])
        n = lo.shape[-1]
    return lo[..., 0], hi[..., 0]


def _reduce_setup(a, axis, where):
    a = as_interval(a, where)
    axes = _axes(axis, a.ndim, where)
    lo, hi = np.broadcast_arrays(a.lo, a.hi)
    if a.ndim == 0:
        return a, axes, lo.reshape(1), hi.reshape(1)
    dest = tuple(range(a.ndim - len(axes), a.ndim))
    lo = np.moveaxis(lo, axes, dest)
    hi = np.moveaxis(hi, axes, dest)
    keep = lo.shape[:a.ndim - len(axes)]
    return a, axes, lo.reshape(keep + (-1,)), hi.reshape(keep + (-1,))


def _keep(v: np.ndarray, axes, ndim: int, keepdims: bool) -> np.ndarray:
    if keepdims:
        for ax in sorted(axes):
            v = np.expand_dims(v, ax)
    return v


def sum_(a, axis=None, dtype=None, out=None, keepdims=False, initial=np._NoValue,
         where=np._NoValue) -> Interval:
    """``np.sum`` over *axis* (pairwise, each addition rounded outward)."""
    _reject("numpy.sum", {"dtype": dtype, "out": out, "initial": initial, "where": where})
    a, axes, lo, hi = _reduce_setup(a, axis, "sum")
    lo, hi = _tree(lo, hi)
    return _make(_keep(lo, axes, a.ndim, keepdims), _keep(hi, axes, a.ndim, keepdims), a)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=np._NoValue) -> Interval:
    """``np.mean``: the sum divided by the element count."""
    _reject("numpy.mean", {"dtype": dtype, "out": out, "where": where})
    a = as_interval(a, "mean")
    axes = _axes(axis, a.ndim, "mean")
    n = int(np.prod([a.shape[ax] for ax in axes])) if a.ndim else 1
    if n == 0:
        raise ValueError("numpy.mean: the mean of an empty Interval is undefined.")
    return divide(sum_(a, axis=axis, keepdims=keepdims), n)


def _extreme(a, axis, keepdims, fn, where):
    a = as_interval(a, where)
    if a.size == 0:
        raise ValueError(f"{where}: zero-size Interval has no {where}.")
    return _make(fn(a.lo, axis=axis, keepdims=keepdims), fn(a.hi, axis=axis, keepdims=keepdims),
                 a)


def amax(a, axis=None, out=None, keepdims=False, initial=np._NoValue,
         where=np._NoValue) -> Interval:
    """``np.max``: bounds are the largest lo and the largest hi."""
    _reject("numpy.max", {"out": out, "initial": initial, "where": where})
    return _extreme(a, axis, keepdims, np.max, "max")


def amin(a, axis=None, out=None, keepdims=False, initial=np._NoValue,
         where=np._NoValue) -> Interval:
    """``np.min``: bounds are the smallest lo and the smallest hi."""
    _reject("numpy.min", {"out": out, "initial": initial, "where": where})
    return _extreme(a, axis, keepdims, np.min, "min")


def cumsum(a, axis=None, dtype=None, out=None) -> Interval:
    """``np.cumsum`` (a parallel prefix; every addition rounded outward)."""
    _reject("numpy.cumsum", {"dtype": dtype, "out": out})
    a = as_interval(a, "cumsum")
    lo, hi = np.broadcast_arrays(a.lo, a.hi)
    if axis is None:
        lo, hi, ax = lo.ravel(), hi.ravel(), 0
    else:
        (ax,) = _axes(axis, a.ndim, "cumsum")
    lo = np.moveaxis(np.array(lo, dtype=np.float64), ax, -1)
    hi = np.moveaxis(np.array(hi, dtype=np.float64), ax, -1)
    n = lo.shape[-1] if lo.ndim else 0
    k = 1
    while k < n:
        new_lo, new_hi = lo.copy(), hi.copy()
        new_lo[..., k:] = _add_lo(lo[..., k:], lo[..., :-k])
        new_hi[..., k:] = _add_hi(hi[..., k:], hi[..., :-k])
        lo, hi = new_lo, new_hi
        k *= 2
    return _make(np.moveaxis(lo, -1, ax), np.moveaxis(hi, -1, ax), a)


def diff(a, n=1, axis=-1, prepend=np._NoValue, append=np._NoValue) -> Interval:
    """``np.diff`` (``a[1:] - a[:-1]`` repeated *n* times)."""
    _reject("numpy.diff", {"prepend": prepend, "append": append})
    a = as_interval(a, "diff")
    (ax,) = _axes(axis, a.ndim, "diff")
    for _ in range(int(n)):
        hi_idx = [slice(None)] * a.ndim
        lo_idx = [slice(None)] * a.ndim
        hi_idx[ax] = slice(1, None)
        lo_idx[ax] = slice(None, -1)
        a = subtract(a[tuple(hi_idx)], a[tuple(lo_idx)])
    return a


# == products over an index: matmul, dot, convolve ================================================
def _contract(alo, ahi, blo, bhi, a_point: bool, b_point: bool):
    """Directed sums over the last axis of the elementwise interval products."""
    plo, phi = _mul_bounds(alo, alo if a_point else ahi, blo, blo if b_point else bhi)
    return _tree(plo, phi)


def matmul(a, b) -> Interval:
    """``a @ b``: each output is the directed sum of its exact term bounds (for a point
    matrix this is the center-radius result ``A mid(x) +- |A| rad(x)``)."""
    a, b = _both(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul: operands must not be scalars (use *).")
    alo, ahi = np.broadcast_arrays(a.lo, a.hi)
    blo, bhi = np.broadcast_arrays(b.lo, b.hi)
    a1, b1 = a.ndim == 1, b.ndim == 1
    if a1:
        alo, ahi = alo[None, :], ahi[None, :]
    if b1:
        blo, bhi = blo[:, None], bhi[:, None]
    if alo.shape[-1] != blo.shape[-2]:
        raise ValueError(f"matmul: inner dimensions differ: {a.shape} @ {b.shape}.")
    ap, bp = a.is_point, b.is_point
    # terms[..., i, j, k] = a[..., i, k] * b[..., k, j]
    bt_lo = np.swapaxes(blo, -1, -2)[..., None, :, :]
    bt_hi = np.swapaxes(bhi, -1, -2)[..., None, :, :]
    m, k = alo.shape[-2], alo.shape[-1]
    n = blo.shape[-1]
    step = max(1, _CHUNK // max(1, k * n))
    outs_lo, outs_hi = [], []
    for i0 in range(0, m, step):
        sl = (Ellipsis, slice(i0, i0 + step), slice(None))
        xl = alo[sl][..., :, None, :]
        xh = ahi[sl][..., :, None, :]
        xl, xh, yl, yh = np.broadcast_arrays(xl, xh, bt_lo, bt_hi)
        lo, hi = _contract(xl, xh, yl, yh, ap, bp)
        outs_lo.append(lo)
        outs_hi.append(hi)
    lo = np.concatenate(outs_lo, axis=-2) if m else np.zeros(alo.shape[:-1] + (n,))
    hi = np.concatenate(outs_hi, axis=-2) if m else np.zeros(alo.shape[:-1] + (n,))
    if a1:
        lo, hi = lo[..., 0, :], hi[..., 0, :]
    if b1:
        lo, hi = lo[..., 0], hi[..., 0]
    return _make(lo, hi, a, b)


def dot(a, b, out=None) -> Interval:
    """``np.dot`` for scalars, vectors and matrices."""
    if out is not None:
        raise TypeError("numpy.dot: out= is not supported on Interval.")
    a, b = _both(a, b, "dot")
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if a.ndim > 2 or b.ndim > 2:
        raise TypeError("numpy.dot: operands of more than 2 dimensions are not supported on "
                        "Interval; use np.matmul or np.tensordot on 2-D views.")
    return matmul(a, b)


def vdot(a, b) -> Interval:
    """``np.vdot``: the dot product of the flattened operands."""
    a, b = _both(a, b, "vdot")
    return matmul(a.ravel(), b.ravel())


def inner(a, b) -> Interval:
    """``np.inner`` for vectors and matrices (sum over the last axes)."""
    a, b = _both(a, b, "inner")
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    return matmul(a, b.T if b.ndim == 2 else b)


def convolve(a, v, mode: str = "full") -> Interval:
    """``np.convolve``: each output is the directed sum of its exact term bounds."""
    a, v = _both(a, v, "convolve")
    if a.ndim > 1 or v.ndim > 1:
        raise ValueError("convolve: operands must be 1-D.")
    a, v = a.ravel(), v.ravel()
    if a.size == 0 or v.size == 0:
        raise ValueError("convolve: operands must not be empty.")
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"convolve: mode {mode!r} is not valid; valid: 'full', 'same', "
                         "'valid'.")
    long_, short = (a, v) if a.size >= v.size else (v, a)
    ls, ll = short.size, long_.size
    l_point, s_point = long_.is_point, short.is_point
    pad = (ls - 1, ls - 1)
    wl = np.lib.stride_tricks.sliding_window_view(
        np.pad(np.broadcast_to(long_.lo, (ll,)), pad), ls)
    wh = wl if l_point else np.lib.stride_tricks.sliding_window_view(
        np.pad(np.broadcast_to(long_.hi, (ll,)), pad), ls)
    srl = np.ascontiguousarray(np.broadcast_to(short.lo, (ls,))[::-1])
    srh = srl if s_point else np.ascontiguousarray(np.broadcast_to(short.hi, (ls,))[::-1])
    nout = ll + ls - 1
    step = max(1, _CHUNK // ls)
    outs_lo, outs_hi = [], []
    for i0 in range(0, nout, step):
        xl = wl[i0:i0 + step]
        xh = xl if l_point else wh[i0:i0 + step]
        yl = np.broadcast_to(srl, xl.shape)
        yh = yl if s_point else np.broadcast_to(srh, xl.shape)
        lo, hi = _tree(*_mul_bounds(xl, xh, yl, yh))
        outs_lo.append(lo)
        outs_hi.append(hi)
    lo, hi = np.concatenate(outs_lo), np.concatenate(outs_hi)
    if mode == "same":
        start = (ls - 1) // 2
        lo, hi = lo[start:start + ll], hi[start:start + ll]
    elif mode == "valid":
        lo, hi = lo[ls - 1:ll], hi[ls - 1:ll]
    return _make(lo, hi, a, v)


def correlate(a, v, mode: str = "valid") -> Interval:
    """``np.correlate`` for real operands: ``convolve(a, v[::-1], mode)``."""
    a, v = _both(a, v, "correlate")
    if a.ndim > 1 or v.ndim > 1:
        raise ValueError("correlate: operands must be 1-D.")
    if mode == "same" and v.size > a.size:
        raise TypeError("numpy.correlate: mode 'same' with the second operand longer than the "
                        "first is not supported on Interval.")
    return convolve(a.ravel(), v.ravel()[::-1], mode)


# == shape functions ==============================================================================
def _shape_fn(np_fn, name: str):
    def impl(a, *args, **kwargs):
        a = as_interval(a, name)
        return _shape_op(a, lambda arr: np_fn(arr, *args, **kwargs))
    impl.__name__ = name
    return impl


def _join(np_fn, name: str):
    def impl(arrays, *args, **kwargs):
        if isinstance(arrays, Interval):
            arrays = list(arrays)
        items = [as_interval(x, name) for x in arrays]
        los = [np.broadcast_to(x.lo, np.broadcast_shapes(x.lo.shape, x.hi.shape)) for x in items]
        his = [np.broadcast_to(x.hi, np.broadcast_shapes(x.lo.shape, x.hi.shape)) for x in items]
        return _make(np_fn(los, *args, **kwargs), np_fn(his, *args, **kwargs), *items)
    impl.__name__ = name
    return impl


concatenate = _join(np.concatenate, "concatenate")


def _like(fill):
    def impl(a, dtype=None, order="K", subok=True, shape=None, *args, **kwargs):
        a = as_interval(a, "zeros_like")
        v = np.full(a.shape if shape is None else shape, fill, dtype=np.float64)
        return Interval._raw(v, v.copy(), None)
    return impl


def _full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None):
    a = as_interval(a, "full_like")
    f = as_interval(fill_value, "full_like")
    shp = a.shape if shape is None else shape
    return _make(np.broadcast_to(f.lo, shp).copy(), np.broadcast_to(f.hi, shp).copy(), f)


def _pad(a, pad_width, mode="constant", **kwargs):
    if mode != "constant":
        raise TypeError(f"numpy.pad: mode {mode!r} is not supported on Interval; valid: "
                        "'constant'.")
    a = as_interval(a, "pad")
    c = kwargs.pop("constant_values", 0)
    _reject("numpy.pad", kwargs)
    cv = as_interval(c, "pad")
    if cv.size != 1:
        raise TypeError("numpy.pad: only a scalar constant_values is supported on Interval.")
    lo = np.pad(np.broadcast_to(a.lo, a.shape), pad_width, constant_values=float(cv.lo))
    hi = np.pad(np.broadcast_to(a.hi, a.shape), pad_width, constant_values=float(cv.hi))
    return _make(lo, hi, a, cv)


def _shape(a):
    return as_interval(a, "shape").shape


def _ndim(a):
    return as_interval(a, "ndim").ndim


def _size(a, axis=None):
    a = as_interval(a, "size")
    return a.size if axis is None else a.shape[axis]


def _copy(a, *args, **kwargs):
    return as_interval(a, "copy").copy()


def _broadcast_arrays(*args, **kwargs):
    items = [as_interval(x, "broadcast_arrays") for x in args]
    shape = np.broadcast_shapes(*(x.shape for x in items))
    return tuple(Interval._raw(np.broadcast_to(x.lo, shape), np.broadcast_to(x.hi, shape),
                               x.reason) for x in items)


#: ufunc -> implementation (anything else raises TypeError naming it)
HANDLED_UFUNCS: dict = {
    np.add: add, np.subtract: subtract, np.multiply: multiply, np.divide: divide,
    np.negative: negative, np.positive: positive, np.absolute: absolute, np.fabs: absolute,
    np.square: square, np.power: _power_ufunc, np.maximum: maximum, np.minimum: minimum,
    np.fmax: maximum, np.fmin: minimum, np.matmul: matmul,
    np.less: less, np.less_equal: less_equal, np.greater: greater,
    np.greater_equal: greater_equal, np.equal: equal, np.not_equal: not_equal,
    np.logical_and: logical_and, np.logical_or: logical_or, np.logical_not: logical_not,
}

_REDUCE = {np.add: sum_, np.maximum: amax, np.minimum: amin}

#: numpy function -> implementation (anything else raises TypeError naming it)
HANDLED_FUNCTIONS: dict = {
    np.sum: sum_, np.cumsum: cumsum, np.mean: mean, np.max: amax, np.min: amin,
    np.amax: amax, np.amin: amin, np.diff: diff,
    np.dot: dot, np.vdot: vdot, np.inner: inner, np.convolve: convolve,
    np.correlate: correlate, np.clip: clip, np.where: where,
    np.concatenate: concatenate, np.stack: _join(np.stack, "stack"),
    np.hstack: _join(np.hstack, "hstack"), np.vstack: _join(np.vstack, "vstack"),
    np.column_stack: _join(np.column_stack, "column_stack"),
    np.reshape: _shape_fn(np.reshape, "reshape"),
    np.transpose: _shape_fn(np.transpose, "transpose"),
    np.ravel: _shape_fn(np.ravel, "ravel"), np.squeeze: _shape_fn(np.squeeze, "squeeze"),
    np.expand_dims: _shape_fn(np.expand_dims, "expand_dims"),
    np.flip: _shape_fn(np.flip, "flip"), np.fliplr: _shape_fn(np.fliplr, "fliplr"),
    np.flipud: _shape_fn(np.flipud, "flipud"), np.roll: _shape_fn(np.roll, "roll"),
    np.moveaxis: _shape_fn(np.moveaxis, "moveaxis"),
    np.swapaxes: _shape_fn(np.swapaxes, "swapaxes"),
    np.broadcast_to: _shape_fn(np.broadcast_to, "broadcast_to"),
    np.atleast_1d: _shape_fn(np.atleast_1d, "atleast_1d"),
    np.atleast_2d: _shape_fn(np.atleast_2d, "atleast_2d"),
    np.tile: _shape_fn(np.tile, "tile"), np.repeat: _shape_fn(np.repeat, "repeat"),
    np.take: _shape_fn(np.take, "take"), np.pad: _pad,
    np.broadcast_arrays: _broadcast_arrays,
    np.copy: _copy, np.shape: _shape, np.ndim: _ndim, np.size: _size,
    np.zeros_like: _like(0.0), np.ones_like: _like(1.0), np.empty_like: _like(0.0),
    np.full_like: _full_like,
}


# == named casts of intervals (TypeTable.cast) ====================================================
def _round_frac(y: Fraction, mode: Rounding, down: bool) -> int:
    """*y* rounded to an integer by *mode* (stochastic: floor for a lower bound, ceil for an
    upper one, the extremes it can reach)."""
    fl = math.floor(y)
    d = y - fl
    if mode == Rounding.FLOOR:
        return fl
    if mode == Rounding.CEIL:
        return fl + (d > 0)
    if mode == Rounding.ZERO:
        return fl + (d > 0 and y < 0)
    if mode == Rounding.STOCHASTIC:
        return fl if down else fl + (d > 0)
    half = Fraction(1, 2)
    tie = d == half
    up = d > half
    if mode == Rounding.NEAREST:
        up = up or tie
    elif mode == Rounding.ROUND:
        up = up or (tie and fl >= 0)
    elif mode == Rounding.CONVERGENT:
        up = up or (tie and fl % 2 == 1)
    elif mode == Rounding.HALF_ZERO:
        up = up or (tie and fl < 0)
    elif mode == Rounding.CONVERGENT_ODD:
        up = up or (tie and fl % 2 == 0)
    # HALF_DOWN: ties stay down
    return fl + up


def _overflow_ints(qlo: int | None, qhi: int | None, imin: int, imax: int, overflow: Overflow,
                   signed: bool) -> tuple[int, int]:
    """The stored-integer range of the cast of ``[qlo, qhi]`` (None: unbounded side)."""
    if overflow == Overflow.SAT_SYM and signed:
        imin = -imax  # the most negative stored value saturates to -imax as well
    below = qlo is None or qlo < imin
    above = qhi is None or qhi > imax
    lo_c = imin if below else qlo
    hi_c = imax if above else qhi
    if not (below or above):
        return lo_c, hi_c
    if overflow in (Overflow.SATURATE, Overflow.SAT_SYM):
        if lo_c > hi_c:  # entirely out of range on one side
            return (hi_c, hi_c) if not below else (lo_c, lo_c)
        return lo_c, hi_c
    if overflow == Overflow.SAT_ZERO:
        nonempty = lo_c <= hi_c and not (qlo is not None and qlo > imax) \
            and not (qhi is not None and qhi < imin)
        if not nonempty:
            return 0, 0
        return min(lo_c, 0), max(hi_c, 0)
    return (-imax if overflow == Overflow.SAT_SYM else imin), imax  # wraps: the full range


def _cast_bounds_exact(lo: float, hi: float, T, rounding: Rounding, overflow: Overflow):
    F = T.fraction_length
    scale = Fraction(2) ** F
    qlo = None if math.isinf(lo) else _round_frac(Fraction(lo) * scale, rounding, True)
    qhi = None if math.isinf(hi) else _round_frac(Fraction(hi) * scale, rounding, False)
    a, b = _overflow_ints(qlo, qhi, T.int_min, T.int_max, overflow, T.signed)
    inv = 1 / scale
    return _frac_bounds(a * inv)[0], _frac_bounds(b * inv)[1]


def cast_interval(name: str, x: Interval, T, rounding: Rounding, overflow: Overflow, *,
                  inherit: bool = False) -> Interval:
    """A named cast of an Interval (``TypeTable.cast``): report the range arriving at signal
    *name* (the range it needs) and return the range of the cast's output.

    *T* is the fixed type, or None for ``'double'``/``'inherit'`` entries (the same range;
    *inherit*: an ``'inherit'`` entry, whose output is its input, a fi still). In a
    fixed type the output range is the bounds rounded by *rounding* (every rounding mode is
    monotone, so the rounded bounds bound the rounded values; stochastic rounding may go
    either way) and clipped by saturation, or the full type range under wrap when the
    interval exceeds the type.
    """
    if ranges_active() and x.size:
        lo, hi = x.hull()
        report_range(name, lo, hi, x.reason if not x.bounded else None)
    if T is None:
        if inherit or x._fi is None:
            return x
        return Interval._raw(x.lo, x.hi, x.reason)  # a float array in the run: no fi type
    lo_a, hi_a = np.broadcast_arrays(x.lo, x.hi)
    out_lo, out_hi = cast_pairs(lo_a, hi_a, T, rounding, overflow)
    out = _make(out_lo, out_hi, x)
    # the run's cast returns a fi of type T keeping the fimath of a fi input
    out._fi = (T, x._fi[1] if x._fi is not None else None)
    return out


def cast_pairs(lo: np.ndarray, hi: np.ndarray, T, rounding: Rounding, overflow: Overflow
               ) -> tuple[np.ndarray, np.ndarray]:
    """The bounds of the cast of each ``[lo, hi]`` (same-shape arrays) to fixed type *T*."""
    # the exact per-pair rule runs once per distinct (lo, hi) pair (an Interval.full input,
    # and most filter outputs, hold few distinct pairs)
    pairs = np.stack([np.ravel(lo), np.ravel(hi)], axis=1)
    uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
    res = np.array([_cast_bounds_exact(float(a), float(b), T, rounding, overflow)
                    for a, b in uniq], dtype=np.float64).reshape(-1, 2)
    inverse = np.asarray(inverse).ravel()
    return res[inverse, 0].reshape(np.shape(lo)), res[inverse, 1].reshape(np.shape(lo))


# == derived-range reporting (the hook blocks call) ===============================================
@dataclasses.dataclass(frozen=True)
class RangeEvent:
    """A derived range reported for a named signal."""

    name: str
    lo: float
    hi: float
    reason: str | None = None


_range_hooks: contextvars.ContextVar[tuple[Callable[[RangeEvent], None], ...]] = \
    contextvars.ContextVar("fixsim_range_hooks", default=())


def ranges_active() -> bool:
    """Whether static range analysis is listening."""
    return bool(_range_hooks.get())


def report_range(name: str, lo: float, hi: float, reason: str | None = None) -> None:
    """Report the derived range ``[lo, hi]`` of signal *name* (infinite bounds: unbounded,
    with *reason*). Does nothing when nobody listens."""
    hooks = _range_hooks.get()
    if not hooks:
        return
    event = RangeEvent(name, float(lo), float(hi), reason)
    for fn in hooks:
        fn(event)


class ranges_silenced:  # noqa: N801 - used like a function
    """Context manager: no derived-range listener hears the block (a run on stand-in values
    that static range analysis makes for itself, such as a block's zero-valued proxies)."""

    def __init__(self):
        self._token: contextvars.Token | None = None

    def __enter__(self) -> ranges_silenced:
        self._token = _range_hooks.set(())
        return self

    def __exit__(self, *exc) -> None:
        _range_hooks.reset(self._token)


class range_listening:  # noqa: N801 - used like a function
    """Context manager adding *fn* as a derived-range listener for the block."""

    def __init__(self, fn: Callable[[RangeEvent], None]):
        self._fn = fn
        self._token: contextvars.Token | None = None

    def __enter__(self) -> range_listening:
        self._token = _range_hooks.set(_range_hooks.get() + (self._fn,))
        return self

    def __exit__(self, *exc) -> None:
        _range_hooks.reset(self._token)
