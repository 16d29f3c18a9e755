"""fixsim's PyTorch requantizers and quantizers against torch's quantized engines.

torch's eager quantized ``Linear`` and ``Conv2d`` (fbgemm/x86 and qnnpack engines) run on
random quantized tensors with given scales and zero points; fixsim requantizes the exact
integer accumulators (computed here in float64 from the integers: every value is an integer
below 2**53, so exact) with ``runtime='pytorch-fbgemm'`` / ``'pytorch-qnnpack'`` and the
float bias, and the integers must be equal. ``quantize_linear(runtime='pytorch-fbgemm')``
must equal ``torch.quantize_per_tensor`` (its AVX2 kernel adds the zero point to the exact
product ``x (1/s)`` in a fused multiply-add: exact ties ``zp + x/s = k + 1/2`` show it).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.ao.nn.quantized as nnq

from fixsim import nn

warnings.filterwarnings("ignore", message=".*deprecated.*")

ENGINES = [("fbgemm", "pytorch-fbgemm"), ("x86", "pytorch-fbgemm"),
           ("qnnpack", "pytorch-qnnpack")]


@pytest.fixture
def engine(request):
    old = torch.backends.quantized.engine
    torch.backends.quantized.engine = request.param
    yield request.param
    torch.backends.quantized.engine = old


def _weights(rng, shape, per_channel: bool):
    w = torch.tensor(rng.normal(0, 0.3, shape), dtype=torch.float32)
    if per_channel:
        amax = w.reshape(shape[0], -1).abs().amax(1)
        s = (amax / 127.5).double()
        qw = torch.quantize_per_channel(w, s, torch.zeros(shape[0], dtype=torch.long), 0,
                                        torch.qint8)
        ws = qw.q_per_channel_scales().numpy().astype(np.float32)
    else:
        qw = torch.quantize_per_tensor(w, float(w.abs().max()) / 127.5, 0, torch.qint8)
        ws = np.array([qw.q_scale()], np.float32)
    return qw, qw.int_repr().numpy().astype(np.int64), ws


def _input(rng, shape, sx, zx, top):
    # activations in [0, top]: fbgemm's u8 x s8 kernels add pairs of products in int16
    # (vpmaddubsw) and saturate for full-range inputs, which is why PyTorch's x86 qconfig
    # uses reduce_range ([0, 127]); qnnpack has no such limit
    q = rng.integers(0, top + 1, shape)
    x = torch.tensor((q - zx) * sx, dtype=torch.float32)
    qx = torch.quantize_per_tensor(x, sx, zx, torch.quint8)
    return qx, qx.int_repr().numpy().astype(np.int64)


@pytest.mark.parametrize("engine,runtime", ENGINES, indirect=["engine"])
@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_quantized_linear(engine, runtime, per_channel, seed):
    if engine == "qnnpack" and per_channel:
        per_channel = False  # qnnpack's Linear quantizes weights per tensor
    rng = np.random.default_rng(seed)
    K, M = 48, 12
    qw, wi, ws = _weights(rng, (M, K), per_channel)
    b = rng.normal(0, 0.5, M).astype(np.float32)
    sx, zx = float(rng.uniform(0.005, 0.05)), int(rng.integers(0, 64))
    sy, zy = float(rng.uniform(0.02, 0.2)), int(rng.integers(0, 256))
    lin = nnq.Linear(K, M)
    lin.set_weight_bias(qw, torch.tensor(b))
    lin.scale, lin.zero_point = sy, zy
    top = 255 if engine == "qnnpack" else 127
    qx, xi = _input(rng, (300, K), sx, zx, top)
    ref = lin(qx).int_repr().numpy().astype(np.int64)
    acc = ((xi - zx).astype(np.float64) @ wi.T.astype(np.float64)).astype(np.int64)
    got = nn.requantize(acc, runtime=runtime, zero_point=zy, dtype="uint8", bias=b,
                        input_scale=sx, weight_scale=ws, output_scale=sy)
    assert np.array_equal(got, ref)


@pytest.mark.parametrize("engine,runtime", ENGINES, indirect=["engine"])
@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("seed", range(3))
def test_quantized_conv2d(engine, runtime, per_channel, seed):
    rng = np.random.default_rng(100 + seed)
    C, M, k = 3, 8, 3
    qw, wi, ws = _weights(rng, (M, C, k, k), per_channel)
    b = rng.normal(0, 0.5, M).astype(np.float32)
    sx, zx = float(rng.uniform(0.005, 0.05)), int(rng.integers(0, 64))
    sy, zy = float(rng.uniform(0.02, 0.2)), int(rng.integers(0, 256))
    conv = nnq.Conv2d(C, M, k, padding=1)
    conv.set_weight_bias(qw, torch.tensor(b))
    conv.scale, conv.zero_point = sy, zy
    top = 255 if engine == "qnnpack" else 127
    qx, xi = _input(rng, (6, C, 9, 9), sx, zx, top)
    ref = conv(qx).int_repr().numpy().astype(np.int64)
    acc = torch.nn.functional.conv2d(torch.tensor(xi - zx, dtype=torch.float64),
                                     torch.tensor(wi, dtype=torch.float64), padding=1)
    acc = acc.numpy().astype(np.int64)
    got = nn.requantize(acc, runtime=runtime, zero_point=zy, dtype="uint8", bias=b, axis=1,
                        input_scale=sx, weight_scale=ws, output_scale=sy)
    assert np.array_equal(got, ref)


def test_the_two_engines_differ_somewhere():
    """fbgemm's float bias and qnnpack's int32 bias give different integers on some inputs
    (so each test above really checks its own rule)."""
    rng = np.random.default_rng(7)
    acc = rng.integers(-20000, 20000, (2000, 4))
    kw = dict(zero_point=3, dtype="uint8", bias=rng.normal(0, 0.5, 4).astype(np.float32),
              input_scale=0.013, weight_scale=[0.0021, 0.0017, 0.003, 0.0011],
              output_scale=0.07)
    a = nn.requantize(acc, runtime="pytorch-fbgemm", **kw)
    b = nn.requantize(acc, runtime="pytorch-qnnpack", **kw)
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("seed", range(3))
def test_quantize_per_tensor(seed):
    rng = np.random.default_rng(seed)
    s, zp = float(rng.uniform(0.001, 0.1)), int(rng.integers(0, 256))
    x = rng.normal(0, 5, 20000).astype(np.float32)
    # exact ties of the zero-point-first rule: zp + x / s = k + 1/2
    k = np.arange(-100, 100) + 0.5
    ties = (k * np.float64(s)).astype(np.float32)
    x = np.concatenate([x, ties])
    ref = torch.quantize_per_tensor(torch.tensor(x), s, zp, torch.quint8).int_repr().numpy()
    got = nn.quantize_linear(x, s, zp, dtype="uint8", runtime="pytorch-fbgemm")
    assert np.array_equal(got, ref.astype(np.int64))
    # short arrays (fbgemm's scalar tail after the 8-wide vector loop)
    for n in (1, 3, 7):
        t = rng.choice(ties, n)
        ref = torch.quantize_per_tensor(torch.tensor(t), s, zp, torch.quint8).int_repr()
        got = nn.quantize_linear(t, s, zp, dtype="uint8", runtime="pytorch-fbgemm")
        assert np.array_equal(got, ref.numpy().astype(np.int64))
