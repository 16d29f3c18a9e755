"""TFLite's elementwise int8 operators (ADD, CONCATENATION, PAD, PADV2, LOGISTIC, TANH) in
fixsim against the real TFLite interpreter (tensorflow-cpu).

Small Keras networks (fixed seeds, untrained) are converted here to full int8 with a
representative dataset of digits images, loaded with ``nn.load_tflite`` and run on the
1,797 digits images plus 500 random int8 inputs: every output and every intermediate integer
tensor must equal the interpreter's, under both resolvers:

* the default resolver (XNNPACK delegate)  <->  ``runtime='tflite-xnnpack'``;
* ``BUILTIN_REF`` (TFLite's reference kernels)  <->  ``runtime='tflite-reference'``.

Where the converter's models cannot reach a case (scale ratios, rounding ties), the scales of
a one-operator model are rewritten in its flatbuffer and every possible input (all 256 values,
all 65,536 pairs for ADD) is compared.
"""

from __future__ import annotations

import warnings

import flatbuffers
import numpy as np
import pytest
import tensorflow as tf
from sklearn.datasets import load_digits
from tensorflow.lite.python import schema_py_generated as S

from fixsim import nn

L = tf.keras.layers
RESOLVERS = {"AUTO": "tflite-xnnpack", "BUILTIN_REF": "tflite-reference"}


def _digits() -> np.ndarray:
    return (load_digits().data / 16.0).astype(np.float32)


def _convert(model, calib) -> bytes:
    calib = calib if isinstance(calib, list) else [calib]

    def rep():
        for i in range(0, len(calib[0]), 16):
            yield [c[i:i + 16] for c in calib]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return conv.convert()


def _residual():
    """ZeroPadding2D before a VALID conv (the converter folds it into the conv), a residual
    Add of two conv branches followed by a ReLU (fused into the ADD), an identity shortcut
    Add, and an asymmetric ZeroPadding2D before a strided VALID conv (a PAD)."""
    x = tf.keras.Input((8, 8, 1))
    h = L.Conv2D(4, 3, activation="relu")(L.ZeroPadding2D(1)(x))
    a = L.Conv2D(4, 3, padding="same")(h)
    b = L.Conv2D(4, 1)(h)
    h = L.Activation("relu")(L.Add()([a, b]))
    h = L.Add()([h, L.Conv2D(4, 1)(h)])
    h = L.Conv2D(6, 3, strides=2)(L.ZeroPadding2D(((1, 0), (2, 1)))(h))
    return tf.keras.Model(x, L.Dense(10)(L.Flatten()(h)))


def _concat():
    """Two conv branches (ReLU and linear) concatenated, then that with a third branch and
    the input itself."""
    x = tf.keras.Input((8, 8, 1))
    a = L.Conv2D(3, 3, padding="same", activation="relu")(x)
    b = L.Conv2D(5, 3, padding="same")(x)
    c = L.Concatenate()([a, b])
    h = L.Concatenate()([c, L.Conv2D(4, 1)(b), x])
    return tf.keras.Model(x, L.Dense(10)(L.Flatten()(L.Conv2D(6, 3, strides=2)(h))))


def _activations():
    """Dense -> sigmoid -> Dense -> tanh -> Dense (LOGISTIC and TANH after FULLY_CONNECTED)."""
    x = tf.keras.Input((64,))
    h = L.Dense(16, activation="sigmoid")(x)
    h = L.Dense(16, activation="tanh")(h)
    return tf.keras.Model(x, L.Dense(10)(h))


def _padv2():
    """tf.pad with a nonzero constant (PADV2) before a VALID conv."""
    x = tf.keras.Input((8, 8, 1))
    h = L.Lambda(lambda t: tf.pad(t, [[0, 0], [1, 2], [0, 1], [0, 0]],
                                  constant_values=0.5))(x)
    return tf.keras.Model(x, L.Dense(10)(L.Flatten()(L.Conv2D(3, 3, strides=2)(h))))


def _two_inputs(layer):
    a, b = tf.keras.Input((16,)), tf.keras.Input((16,))
    return tf.keras.Model([a, b], layer()([a, b]))


def _one_input(activation):
    x = tf.keras.Input((16,))
    return tf.keras.Model(x, L.Activation(activation)(x))


_MODELS = {"residual": (_residual, (-1, 8, 8, 1)), "concat": (_concat, (-1, 8, 8, 1)),
           "activations": (_activations, (-1, 64)), "padv2": (_padv2, (-1, 8, 8, 1))}
_OPS = {"residual": {"ADD", "PAD"}, "concat": {"CONCATENATION"},
        "activations": {"LOGISTIC", "TANH"}, "padv2": {"PADV2"}}


@pytest.fixture(scope="module")
def models():
    """name -> (tflite bytes, int8 inputs: digits then 500 random)."""
    X = _digits()
    rng = np.random.default_rng(5)
    out = {}
    for name, (make, shape) in _MODELS.items():
        tf.keras.utils.set_random_seed(0)
        blob = _convert(make(), X[:256].reshape(shape))
        s, z = _input_details(blob)[0]["quantization"]
        xq = np.clip(np.round(X / s) + z, -128, 127).astype(np.int8).reshape(shape)
        noise = rng.integers(-128, 128, (500,) + xq.shape[1:]).astype(np.int8)
        out[name] = blob, np.concatenate([xq, noise])
    return out


def _interpreter(blob: bytes, resolver: str = "AUTO"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tf.lite.Interpreter(
            model_content=blob, experimental_preserve_all_tensors=True,
            experimental_op_resolver_type=getattr(tf.lite.experimental.OpResolverType,
                                                  resolver))


def _input_details(blob: bytes):
    return _interpreter(blob).get_input_details()


def interpret(blob: bytes, xs, resolver: str):
    """Run the interpreter on the inputs *xs* (in the model's input order); return (output,
    {tensor name: value} of every tensor it kept)."""
    it = _interpreter(blob, resolver)
    details = it.get_input_details()
    for d, x in zip(details, xs, strict=True):
        it.resize_tensor_input(d["index"], x.shape)
    it.allocate_tensors()
    for d, x in zip(details, xs, strict=True):
        it.set_tensor(d["index"], x)
    it.invoke()
    tensors = {}
    for d in it.get_tensor_details():
        try:
            tensors[d["name"]] = it.get_tensor(d["index"])
        except ValueError:  # a tensor the interpreter did not keep
            continue
    return it.get_tensor(it.get_output_details()[0]["index"]), tensors


def _opcodes(blob: bytes) -> set[str]:
    m = S.ModelT.InitFromPackedBuf(bytearray(blob), 0)
    names = {v: k for k, v in vars(S.BuiltinOperator).items() if not k.startswith("_")}
    return {names[max(oc.builtinCode, oc.deprecatedBuiltinCode)] for oc in m.operatorCodes}


@pytest.mark.parametrize("resolver", list(RESOLVERS))
@pytest.mark.parametrize("name", list(_MODELS))
def test_models_match_the_interpreter(models, name, resolver):
    """Every output and intermediate integer tensor equal, 2,297 inputs, both resolvers."""
    blob, xq = models[name]
    assert _OPS[name] <= _opcodes(blob)
    net = nn.load_tflite(blob)
    ref, tensors = interpret(blob, [xq], resolver)
    got = net(xq, runtime=RESOLVERS[resolver])
    assert got.dtype == ref.dtype == np.int8
    assert np.array_equal(got, ref)
    names = [n for node in net.nodes for n in node.outputs if n in tensors]
    assert len(names) >= 4
    env = net(xq, runtime=RESOLVERS[resolver], outputs=names)
    for n in names:
        assert env[n].dtype == tensors[n].dtype, n
        assert np.array_equal(env[n], tensors[n]), n


def test_residual_adds_have_different_input_scales(models):
    """The residual ADDs sum branches of different scales and zero points (one with a fused
    RELU), so the requantization of each input is exercised."""
    net = nn.load_tflite(models["residual"][0])
    adds = [n for n in net.nodes if n.op == "TFLiteAdd"]
    assert len(adds) == 2
    for n in adds:
        a = n.attrs
        assert a["sa"] != a["sb"] and a["sy"] not in (a["sa"], a["sb"])
    clamps = [n.attrs["activation"] for n in net.nodes
              if n.op == "IntClip" and n.name.startswith("add_")]
    assert clamps == ["RELU", "NONE"]


def test_concatenation_inputs_share_the_output_scale(models):
    """The converter gives a CONCATENATION's inputs (here two conv branches, the output of
    a third and the model input) the output's scale: TFLite's int8 kernel requires it."""
    blob = models["concat"][0]
    it = _interpreter(blob)
    det = {d["name"]: d["quantization"] for d in it.get_tensor_details()}
    net = nn.load_tflite(blob)
    for n in (n for n in net.nodes if n.op == "TFLiteConcat"):
        qs = {det[i] for i in n.inputs} | {det[net.node(n.name + "_act").outputs[0]]}
        assert len(qs) == 1


# -- every input value, rewritten scales -------------------------------------------------------
def _with_qparams(blob: bytes, qparams: dict) -> bytes:
    """The model with the first operator's tensors' (scale, zero point) replaced; *qparams*
    maps 'in0', 'in1', 'out' to (scale, zero point)."""
    m = S.ModelT.InitFromPackedBuf(bytearray(blob), 0)
    g = m.subgraphs[0]
    op = g.operators[0]
    where = {"out": int(op.outputs[0])}
    where.update({f"in{i}": int(t) for i, t in enumerate(op.inputs)})
    for k, (s, z) in qparams.items():
        q = g.tensors[where[k]].quantization
        q.scale, q.zeroPoint = [np.float32(s)], [int(z)]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


@pytest.fixture(scope="module")
def add_model():
    rng = np.random.default_rng(1)
    tf.keras.utils.set_random_seed(0)
    calib = [rng.uniform(-1, 3, (64, 16)).astype(np.float32),
             rng.uniform(-0.3, 0.2, (64, 16)).astype(np.float32)]
    return _convert(_two_inputs(L.Add), calib)


def _all_pairs(blob: bytes):
    """Inputs covering every (op input 0, op input 1) int8 pair, in model input order, and
    the pairs as (a, b) of the ADD's operands."""
    v = np.arange(-128, 128)
    A, B = (t.reshape(-1, 16).astype(np.int8) for t in np.meshgrid(v, v, indexing="ij"))
    m = S.ModelT.InitFromPackedBuf(bytearray(blob), 0)
    g = m.subgraphs[0]
    first = int(g.operators[0].inputs[0])
    xs = [A if int(t) == first else B for t in g.inputs]
    return xs, A, B


# (s_a, z_a, s_b, z_b, s_y, z_y): the converter's own; one where the reference kernel's double
# rounding and single rounding differ; ratios from 0.1 to 40; a ratio below 2^-10, which the
# XNNPACK delegate leaves to the builtin kernel
_ADD_CASES = [None,
              (0.04096667, -57, 0.0042944164, 50, 0.001986448, 20),
              (0.0019532356, 25, 0.015675472, -64, 0.017438024, -54),
              (0.0040400773, 73, 0.008072272, -30, 0.0018538876, -25),
              (0.091511235, -4, 0.08381358, -53, 0.028156579, 10),
              (0.0025521752, -113, 0.0033467764, -57, 0.031675927, -1),
              (0.0011353198, 81, 0.032138545, -44, 0.0119202845, -13),
              (0.0001, 3, 0.05, -7, 0.2, 5)]


@pytest.mark.parametrize("case", range(len(_ADD_CASES)))
def test_add_every_pair(add_model, case):
    """All 65,536 int8 pairs: XNNPACK's qs8 add (AUTO) and the reference kernel with double
    rounding (BUILTIN_REF); ``'tflite'`` is the single-rounding variant."""
    c = _ADD_CASES[case]
    blob = add_model if c is None else _with_qparams(
        add_model, {"in0": c[0:2], "in1": c[2:4], "out": c[4:6]})
    xs, A, B = _all_pairs(blob)
    net = nn.load_tflite(blob)
    feeds = dict(zip(net.inputs, xs, strict=True))
    for resolver, rt in RESOLVERS.items():
        ref, _ = interpret(blob, xs, resolver)
        assert np.array_equal(net(feeds, runtime=rt), ref), resolver
    if case == 1:  # the two roundings differ, and BUILTIN_REF is the double one
        single = net(feeds, runtime="tflite")
        assert not np.array_equal(single, net(feeds, runtime="tflite-reference"))


def test_add_xnnpack_rejects_large_ratios(add_model):
    """An input-to-output scale ratio of 2^8 or more: XNNPACK does not take the ADD and the
    interpreter's fallback is not modelled, so ``'tflite-xnnpack'`` says so; the reference
    kernel is still exact."""
    blob = _with_qparams(add_model, {"in0": (0.3, 3), "in1": (0.05, -7), "out": (0.001, 5)})
    xs, _, _ = _all_pairs(blob)
    net = nn.load_tflite(blob)
    feeds = dict(zip(net.inputs, xs, strict=True))
    ref, _ = interpret(blob, xs, "BUILTIN_REF")
    assert np.array_equal(net(feeds, runtime="tflite-reference"), ref)
    with pytest.raises(ValueError, match="add_0.*XNNPACK rejects ratios of 2\\^8"):
        net(feeds, runtime="tflite-xnnpack")
    with pytest.raises(ValueError, match="ADD runs under runtime 'tflite-xnnpack'"):
        net(feeds, runtime="onnxruntime")


@pytest.fixture(scope="module")
def lut_models():
    rng = np.random.default_rng(2)
    out = {}
    for act in ("sigmoid", "tanh"):
        tf.keras.utils.set_random_seed(0)
        out[act] = _convert(_one_input(act), rng.uniform(-4, 4, (64, 16)).astype(np.float32))
    return out


# input scales (zero point -1 or 1: the stored values 0 and -2 or 0 and 2 dequantize to -s
# and s) whose sigmoid or tanh lands on, or within float32 error of, a rounding tie; plus
# ordinary scales and zero points
_TIES = {"sigmoid": [2.441286, 2.3894026, 0.43648785, 0.42013526, 0.355252, 0.37139836,
                     1.3075886, 2.8127196],
         "tanh": [0.7930905, 0.61950207, 0.5441113, 0.40793598, 0.16154705, 0.68949306,
                  0.082215995, 0.3276485]}
_PLAIN = [(0.0469347, -22), (0.010549315, -101), (0.13441616, -52), (0.0048287185, -43),
          (0.09059851, 25), (0.0075128055, 97), (0.5, 0), (0.02318791, 45)]


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_lookup_every_value(lut_models, act):
    """All 256 int8 inputs of LOGISTIC and TANH at 32 input scales: both resolvers' tables.
    For LOGISTIC the two resolvers differ near rounding ties (TFLite's float32 table against
    XNNPACK's double-precision sigmoid with the zero point added before rounding), and each
    fixsim mode matches only its own."""
    v = np.arange(-128, 128).astype(np.int8).reshape(16, 16)
    cases = [(s, z) for s in _TIES[act] for z in (-1, 1)] + _PLAIN
    differ = 0
    for s, z in cases:
        blob = _with_qparams(lut_models[act], {"in0": (s, z)})
        net = nn.load_tflite(blob)
        assert net.nodes[0].op == "TFLiteLookup"
        got = {r: net(v, runtime=rt) for r, rt in RESOLVERS.items()}
        refs = {r: interpret(blob, [v], r)[0] for r in RESOLVERS}
        for r in RESOLVERS:
            assert np.array_equal(got[r], refs[r]), (act, s, z, r)
        differ += int((refs["AUTO"] != refs["BUILTIN_REF"]).sum())
        assert np.array_equal(net(v, runtime="tflite"), got["BUILTIN_REF"])
    if act == "sigmoid":
        assert differ >= 8
    else:
        assert differ == 0


# -- errors ----------------------------------------------------------------------------------
def test_concatenation_with_different_scales_is_refused(models):
    """TFLite's int8 CONCATENATION refuses inputs quantized unlike the output (the
    interpreter fails to prepare under both resolvers); load_tflite says so."""
    blob = _with_qparams(models["concat"][0], {})
    m = S.ModelT.InitFromPackedBuf(bytearray(blob), 0)
    g = m.subgraphs[0]
    cat = next(op for op in g.operators
               if m.operatorCodes[op.opcodeIndex].builtinCode
               == S.BuiltinOperator.CONCATENATION)
    g.tensors[int(cat.inputs[0])].quantization.scale = [np.float32(0.05)]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    with pytest.raises(nn.UnsupportedOperatorError,
                       match="'concatenation_2'.*requires them equal"):
        nn.load_tflite(bytes(b.Output()))


def test_lookup_needs_tflite_output_quantization(lut_models):
    blob = _with_qparams(lut_models["tanh"], {"out": (1 / 256, -128)})
    with pytest.raises(nn.UnsupportedOperatorError,
                       match="'tanh_0'.*TANH needs output scale 0.0078125 and zero point 0"):
        nn.load_tflite(blob)


def test_unsupported_operator_names_it_and_the_supported_list(add_model):
    m = S.ModelT.InitFromPackedBuf(bytearray(add_model), 0)
    for oc in m.operatorCodes:
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == S.BuiltinOperator.ADD:
            oc.builtinCode = oc.deprecatedBuiltinCode = S.BuiltinOperator.SQUARED_DIFFERENCE
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    with pytest.raises(nn.UnsupportedOperatorError,
                       match="'squared_difference_0'.*operator 'SQUARED_DIFFERENCE' is not "
                             "supported; supported: QUANTIZE.*ADD, CONCATENATION, PAD, "
                             "PADV2, LOGISTIC, TANH"):
        nn.load_tflite(bytes(b.Output()))
    for op in ("ADD", "CONCATENATION", "PAD", "PADV2", "LOGISTIC", "TANH"):
        assert op in nn.TFLITE_OPS
