"""A small flow (record, propose, verify) shared by the report tests."""

from __future__ import annotations

import numpy as np
import pytest

import fixsim as fx

H = [0.125, -0.25, 0.5, 1.0, 0.5, -0.25, 0.125]


def algorithm(x, T):
    """A FIR then a gain, written with type-table casts."""
    x = T.x(x)
    acc = T["fir.acc"](np.convolve(np.asarray(x, dtype=float), H)[: len(x)])
    y = T["fir.y"](acc)
    return T["gain.y"](np.asarray(y, dtype=float) * 3.0)


def frames(seed=0, n=4, size=500, scale=0.9):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-scale, scale, size) for _ in range(n)]


class FakeDerived:
    """Stand-in for fx.tool.derive's result (duck-typed: .lo, .hi, .bounded, .reason)."""

    def __init__(self, lo, hi, reason=None):
        self.lo, self.hi, self.reason = lo, hi, reason
        self.bounded = bool(np.isfinite(lo) and np.isfinite(hi))


@pytest.fixture(scope="module")
def flow():
    T = fx.TypeTable({"x": "sfix16_En14", "fir.acc": "sfix32_En28", "fir.y": "sfix16_En14",
                      "gain.y": "sfix16_En12", "unused.sig": "sfix8_En4"})
    data = frames()
    rec = fx.tool.collect(algorithm, data, T.as_double())
    p = fx.tool.propose(rec, T, word_length=16, margin=10)
    v = fx.tool.verify(algorithm, data, p.types)
    derived = {"x": FakeDerived(-0.9, 0.9), "fir.acc": FakeDerived(-27.0, 27.0),
               "fir.y": FakeDerived(-np.inf, np.inf, "feedback without a bound"),
               "gain.y": FakeDerived(-8.1, 8.1)}
    return {"T": T, "frames": data, "rec": rec, "proposal": p, "verification": v,
            "derived": derived}
