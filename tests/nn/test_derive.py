"""Interval bound propagation: derived ranges are sound (every simulated value inside) and,
for a first linear layer, tight (equal to the exact corner bound up to the stated widening)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fixsim as fx
import fixsim.nn as nn
from fixsim._core._interval import range_listening

from .models import cnn

rng = np.random.default_rng(7)


def _nets():
    W1, b1 = rng.normal(0, 1, (6, 5)), rng.normal(0, 1, 5)
    mlp = nn.Sequential([nn.Dense(W1, b1, name="fc1"), nn.LeakyReLU(0.2, name="lk"),
                         nn.Dense(rng.normal(0, 1, (5, 3)), name="fc2"),
                         nn.Clip(-1.0, 2.0, name="cl"), nn.Tanh(name="th")])
    return mlp, W1, b1


MLP, W1, B1 = _nets()


@settings(max_examples=20)
@given(st.integers(0, 2 ** 31))
def test_ranges_are_sound(seed):
    r = np.random.default_rng(seed)
    for net, shape in ((MLP, (1, 6)), (nn.load_onnx(cnn()), (1, 1, 8, 8))):
        lo = r.uniform(-2, 0, shape)
        hi = lo + r.uniform(0, 2, shape)
        d = nn.derive_ranges(net, lo, hi)
        x = lo + (hi - lo) * r.uniform(0, 1, (200,) + shape[1:])
        x[:4] = lo[0]  # the corners lo and hi themselves
        x[4:8] = hi[0]
        T = net.type_table()
        with fx.tool.record() as rec:
            net(x, types=T)
        for name, (a, b) in d.items():
            s = rec[name]
            assert a <= float(s.min) and float(s.max) <= b, name
        assert set(d) == set(rec)


def test_first_layer_bound_is_tight():
    lo, hi = -np.ones((1, 6)), 2 * np.ones((1, 6))
    d = nn.derive_ranges(MLP, lo, hi)
    exact_hi = max(sum(max(Fraction(float(W1[i, j])) * Fraction(v) for v in (-1, 2))
                       for i in range(6)) + Fraction(float(B1[j])) for j in range(5))
    exact_lo = min(sum(min(Fraction(float(W1[i, j])) * Fraction(v) for v in (-1, 2))
                       for i in range(6)) + Fraction(float(B1[j])) for j in range(5))
    a, b = d["fc1.acc"]
    assert Fraction(a) <= exact_lo and exact_hi <= Fraction(b)
    assert float(exact_lo) - a < 1e-12 and b - float(exact_hi) < 1e-12


def test_ranges_are_reported_and_errors():
    events = []
    with range_listening(events.append):
        d = nn.derive_ranges(MLP, -1.0, 1.0, shape=(1, 6))
    assert {e.name for e in events} == set(d)
    with pytest.raises(ValueError, match="batch axis"):
        nn.derive_ranges(MLP, -1.0, 1.0)
    with pytest.raises(ValueError, match="lo <= hi"):
        nn.derive_ranges(MLP, 1.0, -1.0, shape=(1, 6))
