"""Networks are just algorithms to the fixed-point tool: fx.tool.collect, propose, verify and
derive work on a Network (called as ``net(x, T)``) unchanged."""

from __future__ import annotations

import numpy as np

import fixsim as fx
from fixsim import nn

from .models import mlp_digits


def test_collect_propose_verify_derive_on_a_network():
    m, (Xtr, Xte, _, yte) = mlp_digits()
    net = nn.load_onnx(m)
    T = net.type_table()
    rec = fx.tool.collect(net, np.array_split(Xtr, 4), T)
    assert sorted(rec) == sorted(net.signals())
    T16 = fx.tool.propose(rec, T, word_length=16).types
    v = fx.tool.verify(net, np.array_split(Xte, 3), T16, T)
    assert "fc2.out" in str(v)
    # 16 bits from the calibration ranges: within a point of double
    assert nn.accuracy(net(Xte, T16), yte) >= nn.accuracy(net(Xte), yte) - 0.01
    d = fx.tool.derive(net, (0.0, 1.0), T, shape=(1, 64))
    mine = nn.derive_ranges(net, 0.0, 1.0, shape=(1, 64))
    assert sorted(d) == sorted(mine) == sorted(net.signals())
    for name, (lo, hi) in mine.items():
        assert (d[name].lo, d[name].hi) == (lo, hi), name
    # the derived range holds every simulated value (inputs are in [0, 1])
    for name, (lo, hi) in mine.items():
        assert lo <= float(rec[name].min) and float(rec[name].max) <= hi, name
