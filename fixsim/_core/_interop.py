"""Conversion between ``fi`` and fxpmath's ``Fxp`` (an optional dependency).

Only the stored integers cross the boundary: no value goes through float, so every word length
fxpmath can hold (object arrays of Python ints for ``n_word >= 64``) converts exactly in both
directions. They are public as ``fi.from_fxp`` and ``fi.to_fxp``; fxpmath is imported only
when one of them is called.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ._fi import fi, make_fi
from ._fimath import fimath
from ._modes import Overflow, Rounding
from ._numerictype import numerictype
from ._quantize import as_storage

__all__: list[str] = []

_INSTALL_HINT = ('fixsim\'s fxpmath interop needs the optional fxpmath package; install it '
                 'with: pip install "fixsim[fxpmath]"')

# fxpmath rounding name -> fixsim Rounding (fxpmath 0.4.10 canonical names and aliases; its
# 'trunc' is numpy.trunc, i.e. toward zero, and 'bit_trunc' is two's complement truncation).
_FROM_FXP_ROUNDING: dict[str, Rounding] = {
    "trunc": Rounding.ZERO,
    "fix": Rounding.ZERO,
    "floor": Rounding.FLOOR,
    "bit_trunc": Rounding.FLOOR,
    "ceil": Rounding.CEIL,
    "around": Rounding.CONVERGENT,
    "nearest_posinf": Rounding.NEAREST,
    "nearest_neginf": Rounding.HALF_DOWN,
    "nearest_zero": Rounding.HALF_ZERO,
    "nearest_away": Rounding.ROUND,
}

# fixsim Rounding -> fxpmath names, best first (older fxpmath releases lack the nearest_* ones).
_TO_FXP_ROUNDING: dict[Rounding, tuple[str, ...]] = {
    Rounding.FLOOR: ("floor",),
    Rounding.CEIL: ("ceil",),
    Rounding.ZERO: ("trunc", "fix"),
    Rounding.CONVERGENT: ("around",),
    Rounding.NEAREST: ("nearest_posinf",),
    Rounding.ROUND: ("nearest_away",),
    Rounding.HALF_DOWN: ("nearest_neginf",),
    Rounding.HALF_ZERO: ("nearest_zero",),
}

_FROM_FXP_OVERFLOW = {"saturate": Overflow.SATURATE, "wrap": Overflow.WRAP}
_TO_FXP_OVERFLOW = {Overflow.SATURATE: "saturate", Overflow.WRAP: "wrap"}


def _import_fxp():
    try:
        from fxpmath import Fxp
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return Fxp


def _fxp_rounding_names() -> set[str]:
    """Rounding names the installed fxpmath accepts (its canonical list)."""
    try:
        from fxpmath.objects import Config
        return set(Config()._rounding_list)
    except Exception:  # pragma: no cover - very old or restructured fxpmath
        return {"trunc", "around", "floor", "ceil", "fix"}


def _power_of_two_exponent(scale) -> int | None:
    """``k`` with ``scale == 2**k`` exactly, else None."""
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real):
        return None
    s = float(scale)
    if not (math.isfinite(s) and s > 0):
        return None
    m, e = math.frexp(s)
    return e - 1 if m == 0.5 else None


def from_fxp(x, *, keep_modes: bool = True) -> fi:
    """Convert an fxpmath ``Fxp`` to a :class:`fi` with the same stored integers.

    Parameters
    ----------
    x : fxpmath.Fxp
        A real (not complex) Fxp, of any shape and word length.
    keep_modes : bool, default True
        Give the result a local :class:`fimath` with the Fxp's rounding and overflow modes
        (see the table below). With ``False`` the result has no local fimath and follows the
        fimath in force, like any other fi.

    Returns
    -------
    fi
        ``numerictype(x.signed, x.n_word, x.n_frac)``; ``result.int`` equals ``x.val``
        element for element (``x.val`` is int64/uint64 for ``n_word < 64`` and an object
        array of Python ints from 64 bits up; both are taken exactly, never through float).

    Raises
    ------
    ImportError
        If fxpmath is not installed (``pip install "fixsim[fxpmath]"``).
    TypeError
        If *x* is not an Fxp, or is complex (fixsim has no complex fi).
    ValueError
        If *x* uses a scale other than a power of two, or a nonzero bias (slope-bias scaling
        is not supported), if its rounding or overflow mode has no fixsim equivalent while
        ``keep_modes`` is true, or if a stored integer is out of range for its own word.

    Notes
    -----
    Modes (fxpmath ``config.rounding`` / ``config.overflow`` -> fixsim):

    ==================================  ===============================
    fxpmath                             fixsim
    ==================================  ===============================
    ``'trunc'`` (default), ``'fix'``   ``'zero'`` (numpy.trunc: toward zero)
    ``'floor'``, ``'bit_trunc'``        ``'floor'``
    ``'ceil'``                          ``'ceil'``
    ``'around'``                        ``'convergent'`` (numpy.around: ties to even)
    ``'nearest_posinf'``                ``'nearest'``
    ``'nearest_neginf'``                ``'half_down'``
    ``'nearest_zero'``                  ``'half_zero'``
    ``'nearest_away'``                  ``'round'``
    ``'saturate'`` / ``'wrap'``         ``'saturate'`` / ``'wrap'``
    ==================================  ===============================

    What does not map: complex Fxp; non-power-of-two ``scale`` and nonzero ``bias``; fxpmath's
    result-sizing policy (``op_sizing``, ``op_method``, ``shifting``, ``const_op_sizing``,
    ``op_out`` and the like: fixsim follows the fimath's MATLAB or HLS rules instead);
    ``status`` flags and callbacks. A power-of-two ``scale = 2**k`` with zero bias is folded
    into the fraction length (``n_frac - k``).
    """
    Fxp = _import_fxp()
    if not isinstance(x, Fxp):
        raise TypeError(f"from_fxp: expected an fxpmath.Fxp, got {type(x).__name__}.")
    val = np.asarray(x.val)
    if np.iscomplexobj(val) or x.vdtype is complex:
        raise TypeError("from_fxp: complex Fxp values are not supported; convert the real and "
                        "imaginary parts separately (Fxp(x.real, ...), Fxp(x.imag, ...)).")
    frac = int(x.n_frac)
    scale = getattr(x, "scale", 1)
    bias = getattr(x, "bias", 0)
    if getattr(x, "scaled", False) or scale != 1 or bias != 0:
        k = _power_of_two_exponent(scale)
        if k is None or bias != 0:
            raise ValueError(
                f"from_fxp: the Fxp uses scale={scale!r}, bias={bias!r}; fixsim supports "
                "binary-point scaling only (a power-of-two scale with zero bias).")
        frac -= k
    T = numerictype(bool(x.signed), int(x.n_word), frac)
    F = None
    if keep_modes:
        rname, oname = x.config.rounding, x.config.overflow
        rounding = _FROM_FXP_ROUNDING.get(rname)
        overflow = _FROM_FXP_OVERFLOW.get(oname)
        if rounding is None or overflow is None:
            bad = f"rounding={rname!r}" if rounding is None else f"overflow={oname!r}"
            raise ValueError(
                f"from_fxp: fxpmath {bad} has no fixsim equivalent; pass keep_modes=False "
                "and set the modes on the fi (fi(a, rounding=..., overflow=...)).")
        F = fimath(rounding=rounding, overflow=overflow)
    if val.dtype == object:
        ints = np.empty(val.shape, dtype=object)
        ints.ravel()[:] = [_as_int(v) for v in val.ravel()]
    elif val.dtype.kind in "iu":
        ints = val
    else:
        raise TypeError(f"from_fxp: unexpected Fxp storage dtype {val.dtype}; expected "
                        "integers.")
    if ints.size:
        lo, hi = int(ints.min()), int(ints.max())
        if lo < T.int_min or hi > T.int_max:
            bad = lo if lo < T.int_min else hi
            raise ValueError(f"from_fxp: stored integer {bad} is out of range for {T} "
                             f"({T.int_min}..{T.int_max}).")
    return make_fi(as_storage(ints, T).copy(), T, F)


def _as_int(v) -> int:
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, float) and v.is_integer():
        return int(v)
    raise ValueError(f"from_fxp: stored value {v!r} is not an integer.")


def to_fxp(a: fi, *, rounding: str | None = None, overflow: str | None = None):
    """Convert a :class:`fi` to an fxpmath ``Fxp`` with the same stored integers.

    Parameters
    ----------
    a : fi
    rounding, overflow : str, optional
        fxpmath mode names for the new Fxp. By default they are mapped from ``a.fimath`` (its
        local fimath, else the fimath in force); see the table in :func:`from_fxp`. fixsim's
        ``'zero'`` maps to fxpmath's ``'trunc'``.

    Returns
    -------
    fxpmath.Fxp
        ``Fxp(signed=a.signed, n_word=a.word_length, n_frac=a.fraction_length)`` holding
        ``a.int`` as its raw values (set with ``raw=True``: no float round trip, so word
        lengths beyond 64 bits are exact; fxpmath stores them as Python ints).

    Raises
    ------
    ImportError
        If fxpmath is not installed (``pip install "fixsim[fxpmath]"``).
    ValueError
        If a mode has no fxpmath equivalent and no override is given: rounding
        ``'convergent_odd'`` and ``'stochastic'`` (and, with fxpmath releases that lack the
        ``nearest_*`` modes, ``'nearest'``, ``'round'``, ``'half_down'``, ``'half_zero'``);
        overflow ``'sat_zero'``, ``'sat_sym'`` and ``'wrap_sm'``.

    Notes
    -----
    What does not map: the product/sum modes and word lengths, ``cast_before_sum`` and
    ``rules`` of the fimath (fxpmath sizes results by its own ``op_sizing`` policy), and
    word lengths above what fxpmath's own arithmetic supports (it converts, but fxpmath's
    operations on such words are fxpmath's business).
    """
    Fxp = _import_fxp()
    if not isinstance(a, fi):
        raise TypeError(f"to_fxp: expected a fixsim fi, got {type(a).__name__}.")
    F = a.fimath
    names = _fxp_rounding_names()
    if rounding is None:
        rounding = next((n for n in _TO_FXP_ROUNDING.get(F.rounding, ()) if n in names), None)
        if rounding is None:
            raise ValueError(
                f"to_fxp: rounding '{F.rounding}' has no equivalent in the installed fxpmath "
                f"(valid: {', '.join(sorted(names))}); pass rounding=<fxpmath name> to choose "
                "the Fxp's mode explicitly.")
    if overflow is None:
        overflow = _TO_FXP_OVERFLOW.get(F.overflow)
        if overflow is None:
            raise ValueError(
                f"to_fxp: overflow '{F.overflow}' has no fxpmath equivalent (valid: saturate, "
                "wrap); pass overflow=<fxpmath name> to choose the Fxp's mode explicitly.")
    T = a.numerictype
    ints = a._int
    if T.word_length < 64 and ints.size:
        # fxpmath's own raw path is exact here (int64 in, int64/uint64 out)
        return Fxp(np.array(ints, dtype=np.int64, copy=True), signed=T.signed,
                   n_word=T.word_length, n_frac=T.fraction_length, rounding=rounding,
                   overflow=overflow, raw=True)
    # From 64 bits up fxpmath stores Python ints in object arrays, but its raw path
    # (utils.int_array) rebuilds them with np.array(list(map(int, ...))), which turns a mix of
    # values >= 2**63 and smaller ones into float64 and loses bits. Store them directly.
    out = Fxp(None, signed=T.signed, n_word=T.word_length, n_frac=T.fraction_length,
              rounding=rounding, overflow=overflow)
    if T.word_length >= 64:
        raw = np.empty(ints.shape, dtype=object)
        raw.ravel()[:] = [int(v) for v in ints.ravel()]
    else:
        raw = np.array(ints, dtype=np.int64 if T.signed else np.uint64, copy=True)
    out.val = raw
    out.real = out.get_val()
    out.imag = 0
    out._update_dtype()
    return out
