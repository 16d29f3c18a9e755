"""fixsim's TFLite integer modes against the real TFLite interpreter (tensorflow-cpu).

The models in tests/data/nn/ are full-int8 TFLite models that TensorFlow's converter produced
from small Keras networks (tests/data/nn/make_tflite_models.py). fixsim loads each one with
its own scales, zero points, weights and biases (``nn.load_tflite``), and every integer the
interpreter produces (outputs, and every intermediate tensor where the interpreter keeps
them) must equal fixsim's, on all 1,797 digits images:

* the default resolver (XNNPACK delegate)  <->  ``runtime='tflite-xnnpack'`` (the default);
* ``BUILTIN_REF`` (TFLite's reference kernels)  <->  ``runtime='tflite-reference'``.
"""

from __future__ import annotations

import os
import warnings

import flatbuffers
import numpy as np
import pytest
import tensorflow as tf
from sklearn.datasets import load_digits
from tensorflow.lite.python import schema_py_generated as S

from fixsim import nn

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "nn")
MLP = os.path.join(DATA, "digits_mlp_int8.tflite")
CNN = os.path.join(DATA, "digits_cnn_int8.tflite")
MLP_FLOAT_IO = os.path.join(DATA, "digits_mlp_int8_float_io.tflite")
POOL = os.path.join(DATA, "digits_pool_int8.tflite")  # AVERAGE_POOL_2D (valid, same), MEAN
SOFTMAX = os.path.join(DATA, "digits_softmax_int8.tflite")  # FULLY_CONNECTED -> SOFTMAX
RESOLVERS = {"AUTO": "tflite-xnnpack", "BUILTIN_REF": "tflite-reference"}


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return (d.data / 16.0).astype(np.float32), d.target


def interpret(model, x: np.ndarray, resolver: str):
    """Run the TFLite interpreter on *x*; return (output, {tensor name: value})."""
    kw = {"model_path": model} if isinstance(model, str) else {"model_content": model}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = tf.lite.Interpreter(
            **kw, experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=getattr(tf.lite.experimental.OpResolverType,
                                                  resolver))
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    it.resize_tensor_input(inp["index"], x.shape)
    it.allocate_tensors()
    it.set_tensor(inp["index"], x)
    it.invoke()
    tensors = {}
    for d in it.get_tensor_details():
        try:
            tensors[d["name"]] = it.get_tensor(d["index"])
        except ValueError:  # a tensor the interpreter did not keep
            continue
    return it.get_tensor(out["index"]), tensors


def int8_input(net, X: np.ndarray, shape) -> np.ndarray:
    """The int8 input the interpreter takes: the digits quantized with the model's input
    scale and zero point (plain numpy; both sides then get the same integers)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = tf.lite.Interpreter(model_path=net)
    s, z = it.get_input_details()[0]["quantization"]
    return np.clip(np.round(X / s) + z, -128, 127).astype(np.int8).reshape(shape)


@pytest.mark.parametrize("resolver", list(RESOLVERS))
@pytest.mark.parametrize("model,shape", [(MLP, (-1, 64)), (CNN, (-1, 8, 8, 1)),
                                         (POOL, (-1, 8, 8, 1))], ids=["mlp", "cnn", "pool"])
def test_outputs_and_intermediates_match_the_interpreter(digits, model, shape, resolver):
    X, _ = digits
    net = nn.load_tflite(model)
    xq = int8_input(model, X, shape)
    ref, tensors = interpret(model, xq, resolver)
    got = net(xq, runtime=RESOLVERS[resolver])
    assert got.dtype == ref.dtype == np.int8
    assert got.shape == ref.shape == (len(X), 10)
    assert np.array_equal(got, ref)
    # every intermediate integer tensor the interpreter kept, by its TFLite name
    names = [n for node in net.nodes for n in node.outputs if n in tensors]
    assert len(names) >= 3
    env = net(xq, runtime=RESOLVERS[resolver], outputs=names)
    for n in names:
        assert np.array_equal(env[n], tensors[n]), n


def test_default_runtime_of_a_tflite_model_is_the_default_interpreter(digits):
    X, _ = digits
    net = nn.load_tflite(CNN)
    assert net.default_runtime == "tflite-xnnpack"
    xq = int8_input(CNN, X, (-1, 8, 8, 1))
    ref, _ = interpret(CNN, xq, "AUTO")
    assert np.array_equal(net(xq), ref)


def test_the_resolvers_really_differ(digits):
    """The two interpreter resolvers disagree on the CNN, and each fixsim mode matches only
    its own: a mode that silently fell back to another could not pass both tests."""
    X, _ = digits
    net = nn.load_tflite(CNN)
    xq = int8_input(CNN, X, (-1, 8, 8, 1))
    auto, _ = interpret(CNN, xq, "AUTO")
    ref, _ = interpret(CNN, xq, "BUILTIN_REF")
    assert not np.array_equal(auto, ref)
    assert not np.array_equal(net(xq, runtime="tflite-reference"), auto)
    assert not np.array_equal(net(xq, runtime="tflite-xnnpack"), ref)


def test_loaded_parameters_are_the_models(digits):
    """Scales, zero points, weights and biases come from the flatbuffer unchanged."""
    net = nn.load_tflite(CNN)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = tf.lite.Interpreter(model_path=CNN)
    it.allocate_tensors()
    det = {d["name"]: d for d in it.get_tensor_details()}
    conv = net.node("conv_2d_0")
    wname = [d for d in det if d.endswith("conv2d_1/convolution")][0]
    qp = det[wname]["quantization_parameters"]
    assert np.array_equal(net.params[conv.inputs[4]], qp["scales"].astype(np.float32))
    w = it.get_tensor(det[wname]["index"])            # (O, H, W, I)
    assert np.array_equal(net.params[conv.inputs[3]], np.transpose(w, (0, 3, 1, 2)))
    out_q = det[net.node("conv_2d_0_act").outputs[0]]["quantization"]
    assert float(net.params[conv.inputs[6]]) == np.float32(out_q[0])
    assert int(net.params[conv.inputs[7]]) == out_q[1]


@pytest.mark.parametrize("resolver", list(RESOLVERS))
def test_float_input_quantize_and_dequantize(digits, resolver):
    """A model with float input and output: QUANTIZE, the integer layers, DEQUANTIZE."""
    X, _ = digits
    rng = np.random.default_rng(3)
    Xf = np.concatenate([X, rng.uniform(-0.5, 1.2, (500, 64)).astype(np.float32)])
    net = nn.load_tflite(MLP_FLOAT_IO)
    ref, tensors = interpret(MLP_FLOAT_IO, Xf, resolver)
    rt = RESOLVERS[resolver]
    q = net.nodes[0].outputs[0]
    assert net.nodes[0].op == "QuantizeLinear"
    assert np.array_equal(net(Xf, runtime=rt, outputs=q), tensors[q])
    got = net(Xf, runtime=rt)
    assert got.dtype == ref.dtype == np.float32
    assert np.array_equal(got, ref)


def _with_input_scale(path: str, scale: float, zero_point: int) -> bytes:
    """The model with its QUANTIZE output's scale and zero point replaced (repacked)."""
    with open(path, "rb") as f:
        m = S.ModelT.InitFromPackedBuf(bytearray(f.read()), 0)
    t = m.subgraphs[0].tensors[m.subgraphs[0].operators[0].outputs[0]]
    t.quantization.scale = [scale]
    t.quantization.zeroPoint = [zero_point]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_input_quantize_ties_per_resolver():
    """Exact ties ``x / s = k + 1/2``: the reference QUANTIZE divides and rounds half away
    from zero (``'tflite-reference'``); the XNNPACK delegate multiplies by the float32
    reciprocal ``1/s`` and rounds half to even (``'tflite-xnnpack'``), so where ``x (1/s)``
    is not the tie itself it rounds that product."""
    s, z = np.float32(0.0123456), 3
    blob = _with_input_scale(MLP_FLOAT_IO, float(s), z)
    k = np.arange(-150, 150) + 0.5
    x = (k * np.float64(s)).astype(np.float32)
    tie = (x / s).astype(np.float32) == k            # keep the exact float32 ties
    x, k = x[tie], k[tie]
    assert len(x) > 100
    X = np.repeat(x[:, None], 64, axis=1)
    net = nn.load_tflite(blob)
    q = net.nodes[0].outputs[0]
    expect = {  # the two rounding rules, written out on the tie values k
        "BUILTIN_REF": np.clip(np.sign(k) * np.floor(np.abs(k) + 0.5) + z, -128, 127),
        "AUTO": np.clip(np.rint((x * (np.float32(1) / s)).astype(np.float32)) + z, -128, 127),
    }
    assert not np.array_equal(expect["AUTO"], expect["BUILTIN_REF"])
    for resolver, rt in RESOLVERS.items():
        _, tensors = interpret(blob, X, resolver)
        assert np.array_equal(tensors[q][:, 0], expect[resolver].astype(np.int8)), resolver
        assert np.array_equal(net(X, runtime=rt, outputs=q), tensors[q]), resolver


@pytest.mark.parametrize("act,lo,hi", [("NONE", -128, 127), ("RELU", -100, 127),
                                       ("RELU6", -100, 100), ("RELU_N1_TO_1", -128, -67)])
def test_fused_activation_ranges(act, lo, hi):
    """``zp + round_half_away(r / s)`` for the real bounds r, within [-128, 127]: with
    s = float32(0.03) and zp = -100, 6/s rounds to 200 and 1/s = 33.3 to 33."""
    from fixsim.nn._tflite import activation_range
    assert activation_range(act, float(np.float32(0.03)), -100, np.int8) == (lo, hi)


@pytest.mark.parametrize("resolver", list(RESOLVERS))
def test_softmax(digits, resolver):
    """TFLite's integer softmax (gemmlowp fixed-point exp, sum in Q12.19, Newton-Raphson
    reciprocal), on the digits and on random int8 inputs (large and small differences,
    entries below diff_min)."""
    X, _ = digits
    xq = int8_input(SOFTMAX, X, (-1, 64))
    rng = np.random.default_rng(11)
    xq = np.concatenate([xq, rng.integers(-128, 128, (3000, 64)).astype(np.int8)])
    net = nn.load_tflite(SOFTMAX)
    assert net.nodes[-1].op == "TFLiteSoftmax"
    ref, tensors = interpret(SOFTMAX, xq, resolver)
    got = net(xq, runtime=RESOLVERS[resolver])
    assert np.array_equal(got, ref)
    assert len(np.unique(ref)) > 100  # the outputs span the range, not a few saturated codes
    logits = net.nodes[-1].inputs[0]
    assert np.array_equal(net(xq, outputs=logits), tensors[logits])


def _with_opcode(path: str, old: str, new: str) -> bytes:
    with open(path, "rb") as f:
        m = S.ModelT.InitFromPackedBuf(bytearray(f.read()), 0)
    for oc in m.operatorCodes:
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == getattr(S.BuiltinOperator, old):
            oc.builtinCode = oc.deprecatedBuiltinCode = getattr(S.BuiltinOperator, new)
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_unsupported_operator_names_it():
    blob = _with_opcode(SOFTMAX, "SOFTMAX", "HARD_SWISH")
    with pytest.raises(nn.UnsupportedOperatorError,
                       match="'hard_swish_1'.*operator 'HARD_SWISH'.*supported: QUANTIZE"):
        nn.load_tflite(blob)


def test_mean_needs_a_tflite_runtime():
    net = nn.load_tflite(POOL)
    assert any(n.op == "TFLiteMean" for n in net.nodes)
    with pytest.raises(ValueError, match="MEAN runs under runtime 'tflite-xnnpack'"):
        net(np.zeros((1, 8, 8, 1), np.int8), runtime="onnxruntime")


def test_bad_arguments():
    with pytest.raises(FileNotFoundError, match="no such file"):
        nn.load_tflite(os.path.join(DATA, "missing.tflite"))
    with pytest.raises(TypeError, match="path must be a file path or bytes"):
        nn.load_tflite(3)
    with pytest.raises(ValueError, match="runtime='tflite-x'.*valid"):
        nn.load_tflite(MLP)(np.zeros((1, 64), np.int8), runtime="tflite-x")
