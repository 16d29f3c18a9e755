"""Rounding and overflow modes, named in hardware vocabulary.

The enum values are the integer codes that the numba kernels receive; they are part of the
private kernel interface and must stay in step with :mod:`fixsim._kernels._codes`.
"""

from __future__ import annotations

import difflib
import enum

__all__ = ["Rounding", "Overflow", "parse_rounding", "parse_overflow"]


class Rounding(enum.IntEnum):
    """How a value between two representable numbers is mapped to one of them.

    ``y = x * 2**F`` is the value at the target LSB; a *tie* is ``frac(y) == 1/2``.
    """

    FLOOR = 0  #: toward -inf (two's complement truncation; HLS ``TRN``)
    CEIL = 1  #: toward +inf
    ZERO = 2  #: toward zero (MATLAB ``fix``; HLS ``TRN_ZERO``)
    NEAREST = 3  #: nearest, ties toward +inf (MATLAB default; HLS ``RND``)
    ROUND = 4  #: nearest, ties away from zero (HLS ``RND_INF``)
    CONVERGENT = 5  #: nearest, ties to even (HLS ``RND_CONV``)
    HALF_DOWN = 6  #: nearest, ties toward -inf (HLS ``RND_MIN_INF``)
    HALF_ZERO = 7  #: nearest, ties toward zero (HLS ``RND_ZERO``)
    CONVERGENT_ODD = 8  #: nearest, ties to odd (HLS ``RND_CONV_ODD``)
    STOCHASTIC = 9  #: up with probability frac(y), from a seeded generator

    def __str__(self) -> str:
        return self.name.lower()


class Overflow(enum.IntEnum):
    """What happens to a value outside the representable range."""

    SATURATE = 0  #: clamp to [min, max]
    WRAP = 1  #: keep the low W bits (two's complement modulo 2**W)
    SAT_ZERO = 2  #: an out-of-range value becomes 0
    SAT_SYM = 3  #: signed: clamp to [-max, max]; the most negative value becomes -max
    WRAP_SM = 4  #: sign-magnitude wrap as ap_fixed defines it (signed types only)

    def __str__(self) -> str:
        return self.name.lower()


_ROUNDING_ALIASES: dict[str, Rounding] = {
    "floor": Rounding.FLOOR,
    "trn": Rounding.FLOOR,
    "ceil": Rounding.CEIL,
    "ceiling": Rounding.CEIL,
    "zero": Rounding.ZERO,
    "fix": Rounding.ZERO,
    "trn_zero": Rounding.ZERO,
    "nearest": Rounding.NEAREST,
    "rnd": Rounding.NEAREST,
    "round": Rounding.ROUND,
    "rnd_inf": Rounding.ROUND,
    "convergent": Rounding.CONVERGENT,
    "rnd_conv": Rounding.CONVERGENT,
    "half_down": Rounding.HALF_DOWN,
    "rnd_min_inf": Rounding.HALF_DOWN,
    "half_zero": Rounding.HALF_ZERO,
    "rnd_zero": Rounding.HALF_ZERO,
    "convergent_odd": Rounding.CONVERGENT_ODD,
    "rnd_conv_odd": Rounding.CONVERGENT_ODD,
    "stochastic": Rounding.STOCHASTIC,
}

_OVERFLOW_ALIASES: dict[str, Overflow] = {
    "saturate": Overflow.SATURATE,
    "sat": Overflow.SATURATE,
    "wrap": Overflow.WRAP,
    "sat_zero": Overflow.SAT_ZERO,
    "sat_sym": Overflow.SAT_SYM,
    "wrap_sm": Overflow.WRAP_SM,
}


def _normalise(name: str) -> str:
    key = name.strip().lower().replace("-", "_")
    for prefix in ("ap_", "ac_"):
        if key.startswith(prefix):
            key = key[len(prefix):]
            break
    return key


def _parse(value, enum_cls, aliases: dict, argument: str, where: str | None = None):
    pre = f"{where}: " if where else ""
    if isinstance(value, enum_cls):
        return value
    if isinstance(value, str):
        found = aliases.get(_normalise(value))
        if found is not None:
            return found
        close = difflib.get_close_matches(_normalise(value), list(aliases), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"{pre}{argument}={value!r} is not a known {enum_cls.__name__.lower()} mode.{hint} "
            f"Valid names: {', '.join(sorted(aliases))} "
            "(case-insensitive; AP_/AC_ prefixes allowed)."
        )
    raise TypeError(
        f"{pre}{argument} must be a string or fixsim.{enum_cls.__name__}, got "
        f"{type(value).__name__} {value!r}."
    )


def parse_rounding(value, argument: str = "rounding", where: str | None = None) -> Rounding:
    """Return the :class:`Rounding` named by *value* (a name, an alias or the enum itself);
    errors name *where* (the function or block) and *argument*."""
    return _parse(value, Rounding, _ROUNDING_ALIASES, argument, where)


def parse_overflow(value, argument: str = "overflow", where: str | None = None) -> Overflow:
    """Return the :class:`Overflow` named by *value* (a name, an alias or the enum itself);
    errors name *where* (the function or block) and *argument*."""
    return _parse(value, Overflow, _OVERFLOW_ALIASES, argument, where)
