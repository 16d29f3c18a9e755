"""The ``fixsim`` command line (also ``python -m fixsim``).

Only ``demo`` exists so far: a short bit-exact tour of the numeric core. The range-proposal
flow (``propose``, ``report``, ``verify``) is planned (see the design).
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _demo(_args: argparse.Namespace) -> int:
    import numpy as np

    import fixsim as fx
    from fixsim import fi, numerictype

    a = fi(np.pi, 1, 16, 13)
    print(f"fi(pi, 1, 16, 13)       -> {a.data!r}  stored {a.int}  bin {a.bin}  ({a.numerictype})")
    p = a * a
    print(f"a * a (full precision)  -> {p.data!r}  ({p.numerictype})")
    T = numerictype(True, 16, 12)
    for rounding, overflow in (("nearest", "saturate"), ("floor", "wrap")):
        c = p.cast(T, rounding=rounding, overflow=overflow)
        print(f"cast to {T} {rounding}/{overflow:<8} -> {c.data!r}  stored {c.int}")
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    print(f"ties {x.tolist()}")
    for mode in ("nearest", "round", "convergent", "floor", "ceil", "zero"):
        print(f"  {mode:<10} -> {fi(x, 1, 8, 0, rounding=mode).int.tolist()}")
    with fx.count_quantization() as counts:
        fi(np.linspace(-3, 3, 13), 1, 8, 6)
    print(f"quantizing linspace(-3, 3, 13) to sfix8_En6: {counts.overflows} overflows")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    from fixsim import __version__

    parser = argparse.ArgumentParser(prog="fixsim",
                                     description="Bit-accurate fixed-point simulation.")
    parser.add_argument("--version", action="version", version=f"fixsim {__version__}")
    sub = parser.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="a short bit-exact tour of fi")
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
