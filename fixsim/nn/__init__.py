"""Networks in double, fixed point and integer-only affine arithmetic (``fixsim.nn``).

    load_onnx                     an ONNX model (float, QDQ or QOperator) as a Network
    load_tflite (from_tflite)     a full-integer TFLite model with its own scales, zero points,
    TFLITE_OPS                    weights and biases, as an integer-only Network
    Network, Node                 the graph: ``net(x)`` (double), ``net(x, types=T)`` (fixed
                                  point through a TypeTable), ``qnet(x, runtime=...)`` (integer)
    Sequential, Dense, Conv, ...  a sequential network from numpy weights
    quantize                      post-training int8 quantization with fixsim's observers
    requantize, quantize_multiplier, multiply_by_quantized_multiplier, quantize_linear,
    dequantize_linear, RUNTIMES   the int8 runtimes' integer arithmetic, by name
    MinMaxObserver, MovingAverageMinMaxObserver, PercentileObserver, HistogramObserver,
    EntropyObserver               calibration observers (per tensor or per channel)
    LookupTable                   fixed-point sigmoid/tanh/erf tables
    derive_ranges                 sound signal ranges by interval bound propagation
    accuracy, sqnr, layer_sqnr    comparisons against double
    verify, NetworkVerification   top-1 accuracy per mode and per-layer SQNR against double

See docs/nn.md.
"""

from __future__ import annotations

from ._builder import (
    AvgPool,
    BatchNorm,
    Clip,
    Conv,
    Dense,
    Flatten,
    GlobalAvgPool,
    LeakyReLU,
    MaxPool,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from ._derive import derive_ranges
from ._fixed import LookupTable
from ._metrics import accuracy, layer_sqnr, sqnr
from ._network import (
    QUANTIZED_OPS,
    SUPPORTED_OPS,
    Network,
    Node,
    UnsupportedOperatorError,
)
from ._observers import (
    EntropyObserver,
    HistogramObserver,
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    PercentileObserver,
    calculate_qparams,
)
from ._onnx import load_onnx
from ._ptq import OBSERVERS, quantize
from ._requant import (
    RUNTIMES,
    dequantize_linear,
    multiply_by_quantized_multiplier,
    qrange,
    quantize_linear,
    quantize_multiplier,
    requantize,
)
from ._tflite import TFLITE_OPS, load_tflite
from ._verify import NetworkVerification, verify

#: Same as :func:`load_tflite`.
from_tflite = load_tflite

__all__ = [
    "load_onnx", "load_tflite", "from_tflite", "TFLITE_OPS", "Network", "Node", "SUPPORTED_OPS",
    "QUANTIZED_OPS", "UnsupportedOperatorError",
    "RUNTIMES", "requantize", "quantize_multiplier", "multiply_by_quantized_multiplier",
    "quantize_linear", "dequantize_linear", "qrange", "LookupTable",
    "Sequential", "Dense", "Conv", "ReLU", "LeakyReLU", "Clip", "Sigmoid", "Tanh", "MaxPool",
    "AvgPool", "GlobalAvgPool", "Flatten", "Softmax", "BatchNorm",
    "MinMaxObserver", "MovingAverageMinMaxObserver", "PercentileObserver", "HistogramObserver",
    "EntropyObserver", "calculate_qparams", "quantize", "OBSERVERS",
    "accuracy", "sqnr", "layer_sqnr", "derive_ranges", "verify", "NetworkVerification",
]
