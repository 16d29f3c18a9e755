"""ONNX import: :func:`load_onnx` reads a float or quantized (QDQ or QOperator) ONNX model.

Loading rewrites the graph the way the runtimes do before they run it:

* An ``Identity`` of an initializer is that constant. BatchNormalization after a Conv or Gemm
  (its only consumer) is folded into that layer's weights and bias; ``MatMul`` of a 2-D input
  by a constant followed by ``Add`` of a constant vector becomes one ``Gemm`` (float graphs
  only: these are float rewrites and change nothing beyond float rounding; a MatMul of a
  higher-rank input, ``nn.Linear`` on a sequence, stays MatMul + Add).
* QDQ graphs (``DequantizeLinear -> op -> QuantizeLinear``): groups that ONNX Runtime's CPU
  graph optimizer fuses into integer kernels are fused the same way, so that integer execution
  reproduces its outputs exactly: Conv -> QLinearConv, MatMul -> QLinearMatMul, Gemm -> QGemm
  (with an int32 bias from a DequantizeLinear), AveragePool -> QLinearAveragePool,
  GlobalAveragePool -> QLinearGlobalAveragePool, Add and Mul (both inputs and the output 8-bit
  per tensor) -> com.microsoft QLinearAdd and QLinearMul, MaxPool/Flatten/Reshape/Transpose
  on a tensor whose Q has the same scale and zero point as its DQ -> the same operator on the
  integers.
  Every other float operator between DQ and Q runs in float32.
  On x86, as in onnxruntime there, a group is fused only when its DQ inputs and Q output have
  one 8-bit type, and Conv/MatMul/Gemm only with uint8 activations, counting an int8 Q -> DQ
  pair as uint8 when onnxruntime rewrites it (the Q's output is not a graph output and feeds
  one DQ with at most one consumer). Exposing a Q output as a graph output therefore changes
  which groups are fused, in onnxruntime and here alike.
"""

from __future__ import annotations

import math
import os
import platform
from collections import Counter

import numpy as np

from ._network import (
    QUANTIZED_OPS,
    REDUCE_OPS,
    SUPPORTED_OPS,
    Network,
    Node,
    UnsupportedOperatorError,
    check_window_attrs,
)

__all__ = ["load_onnx"]

_EXTRA_OPS = ("Constant",)

# onnxruntime's QDQIsInt8Allowed(): int8 activations in fused Conv/MatMul/Gemm except on x86
_ORT_INT8_ALLOWED = platform.machine().lower() not in (
    "x86_64", "amd64", "i386", "i686", "x86")


def _sanitize(names: list[str], ops: list[str]) -> list[str]:
    out, seen = [], Counter()
    for i, (n, op) in enumerate(zip(names, ops, strict=True)):
        base = (n or "").strip().replace(".", "_") or f"{op}_{i}"
        seen[base] += 1
        out.append(base if seen[base] == 1 else f"{base}_{seen[base]}")
    return out


def load_onnx(path) -> Network:
    """Load an ONNX model (a path, bytes, or an ``onnx.ModelProto``) as a :class:`Network`.

    Parameters
    ----------
    path : str, os.PathLike, bytes or onnx.ModelProto

    Returns
    -------
    Network
        Layers are named after the ONNX node names (dots replaced by ``_``; unnamed nodes
        become ``'<op>_<index>'``).

    Raises
    ------
    UnsupportedOperatorError
        An operator outside :data:`fixsim.nn.SUPPORTED_OPS` and
        :data:`fixsim.nn.QUANTIZED_OPS`; the message names the operator, the node and the
        supported operators.
    """
    import onnx
    from google.protobuf.message import Error as ProtobufError
    from onnx import helper, numpy_helper

    if isinstance(path, onnx.ModelProto):
        model = path
        source = "the onnx.ModelProto given"
    elif isinstance(path, bytes | bytearray):
        source = f"the {len(path)} bytes given"
        if not path:
            raise ValueError("load_onnx: the 0 bytes given are not an ONNX model (empty); pass "
                             "the bytes of an .onnx file, its path or an onnx.ModelProto.")
        try:
            model = onnx.load_from_string(bytes(path))
        except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
            raise ValueError(f"load_onnx: the {len(path)} bytes given are not a serialized "
                             f"ONNX model ({type(exc).__name__}: {exc}); pass the bytes of an "
                             ".onnx file, its path or an onnx.ModelProto.") from exc
    elif isinstance(path, str | os.PathLike):
        p = os.fspath(path)
        if not os.path.exists(p):
            raise FileNotFoundError(f"load_onnx: no such file: {p!r}.")
        size = os.path.getsize(p) if os.path.isfile(p) else None
        source = f"the file {p!r}"
        if size == 0:
            raise ValueError(f"load_onnx: the file {p!r} is not an ONNX model (0 bytes: the "
                             "file is empty).")
        try:
            model = onnx.load(p)
        except ProtobufError as exc:
            raise ValueError(f"load_onnx: the file {p!r} ({size} bytes) is not a serialized "
                             f"ONNX model ({type(exc).__name__}: {exc}); pass an .onnx file, "
                             "its bytes or an onnx.ModelProto.") from exc
    else:
        raise TypeError(f"load_onnx: path must be a file path, bytes or an onnx.ModelProto, "
                        f"got {type(path).__name__}.")
    if not model.HasField("graph"):
        raise ValueError(f"load_onnx: {source}: not an ONNX model (it holds no graph).")
    g = model.graph
    params = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    init_names = set(params)
    inputs = [i.name for i in g.input if i.name not in init_names]
    outputs = [o.name for o in g.output]
    graph_nodes = _fold_batch_flatten(list(g.node), params, set(outputs))
    graph_nodes = _expand_gelu(graph_nodes, params)
    names = _sanitize([n.name for n in graph_nodes], [n.op_type for n in graph_nodes])
    nodes: list[Node] = []
    supported = SUPPORTED_OPS + QUANTIZED_OPS
    opsets = {("" if o.domain == "ai.onnx" else o.domain): o.version for o in model.opset_import}
    produced_later = {o for n in graph_nodes for o in n.output if o}
    defined = set(params) | {i.name for i in g.input}  # (with the rewrites' constants)
    for n, name in zip(graph_nodes, names, strict=True):
        for t in n.input:
            if t and t not in defined:
                why = ("is produced only by a later node (the nodes are not in topological "
                       "order)" if t in produced_later else
                       "is not defined: no graph input, initializer or node output has that "
                       "name")
                raise ValueError(f"load_onnx: node {name!r} ({n.op_type}) reads tensor {t!r}, "
                                 f"which {why}.")
        defined.update(o for o in n.output if o)
        _check_attribute_types(n, name, opsets)
        attrs = {}
        for at in n.attribute:
            v = helper.get_attribute_value(at)
            if isinstance(v, bytes):
                v = v.decode()
            elif isinstance(v, onnx.TensorProto):
                v = numpy_helper.to_array(v)
            attrs[at.name] = v
        if n.op_type == "Constant":
            val = attrs.get("value")
            if val is None:
                for key in ("value_float", "value_int", "value_floats", "value_ints"):
                    if key in attrs:
                        val = np.asarray(attrs[key])
                        break
            if val is None:
                raise UnsupportedOperatorError(
                    f"node {name!r}: a Constant without a tensor/float/int value is not "
                    "supported.")
            params[n.output[0]] = np.asarray(val)
            continue
        if n.op_type not in supported:
            raise UnsupportedOperatorError(
                f"node {name!r}: operator {n.op_type!r} (domain {n.domain or 'ai.onnx'!r}) "
                f"is not supported; supported: {', '.join(supported)}.")
        if n.op_type == "QLinearAveragePool" and attrs.get("ceil_mode", 0):
            # refused when the model loads, not on its first run
            raise UnsupportedOperatorError(
                f"node {name!r}: {n.op_type} with ceil_mode=1 is not supported; valid: 0.")
        node = Node(n.op_type, name, list(n.input), list(n.output), attrs)
        if n.op_type in _WINDOW_OPS:
            check_window_attrs(node, "load_onnx: node")
        nodes.append(node)
    missing = [o for o in outputs if o not in defined]
    if missing:
        raise ValueError(f"load_onnx: graph output(s) {missing} are not defined: no graph "
                         "input, initializer or node output has that name.")
    net = Network(nodes, params, inputs, outputs, g.name or "network",
                  input_shapes=_declared_shapes(g, init_names))
    _fold_constant_identity(net)
    _fold_batchnorm(net)
    if net.quantized:
        _fuse_qdq(net)
    else:
        _fuse_matmul_add(net)
    _prune(net)
    return net


def _expand_gelu(nodes: list, params: dict) -> list:
    """Rewrite each ``Gelu`` node (opset 20; PyTorch's ``dynamo=True`` export of ``nn.GELU``)
    into the operators PyTorch's legacy exporter gives for it, which fixsim runs in double, in
    fixed point (Erf and Tanh from lookup tables, the rest exact) and in range analysis:
    ``approximate='none'``: ``(x * (erf(x / sqrt 2) + 1)) * 0.5``; ``'tanh'``:
    ``(x * (tanh(sqrt(2/pi) (x + 0.044715 x^3)) + 1)) * 0.5``. The new nodes are named
    ``<gelu>/<step>`` and their constants ``<gelu>/<name>`` (float32, as the model's)."""
    from onnx import helper

    out = []
    for i, n in enumerate(nodes):
        if n.op_type != "Gelu" or n.domain not in ("", "ai.onnx"):
            out.append(n)
            continue
        approx = "none"
        for at in n.attribute:
            if at.name == "approximate":
                approx = helper.get_attribute_value(at)
                approx = approx.decode() if isinstance(approx, bytes) else approx
        if approx not in ("none", "tanh"):
            raise ValueError(f"load_onnx: node {n.name or i!r} (Gelu): approximate="
                             f"{approx!r} is not valid; valid: 'none', 'tanh'.")
        base = n.name or f"Gelu_{i}"
        x, y = n.input[0], n.output[0]

        def c(key: str, v: float, base=base) -> str:
            params[f"{base}/{key}"] = np.float32(v)
            return f"{base}/{key}"

        def node(op: str, ins: list, step: str, base=base) -> str:
            t = f"{base}/{step}_output"
            out.append(helper.make_node(op, ins, [t], name=f"{base}/{step}"))
            return t
        if approx == "none":
            g = node("Div", [x, c("sqrt2", math.sqrt(2.0))], "Div")
            g = node("Erf", [g], "Erf")
        else:
            g = node("Mul", [x, x], "Mul_sq")
            g = node("Mul", [g, x], "Mul_cube")
            g = node("Mul", [g, c("k", 0.044715)], "Mul_k")
            g = node("Add", [x, g], "Add_x")
            g = node("Mul", [g, c("sqrt_2_over_pi", math.sqrt(2.0 / math.pi))], "Mul_s")
            g = node("Tanh", [g], "Tanh")
        g = node("Add", [g, c("one", 1.0)], "Add_one")
        g = node("Mul", [x, g], "Mul_x")
        out.append(helper.make_node("Mul", [g, c("half", 0.5)], [y], name=f"{base}/Mul_half"))
    return out


def _fold_batch_flatten(nodes: list, params: dict, graph_outputs: set) -> list:
    """Rewrite PyTorch's dynamic-batch flatten, ``x.view(x.size(0), -1)`` exported with a
    dynamic batch axis, into ``Flatten(axis=1)``: the subgraph ``Shape(X) -> Gather(0, axis 0)
    -> Unsqueeze(axes [0]) -> Concat(with [-1], axis 0)`` feeding ``Reshape(X, .)`` computes
    the shape ``[batch, -1]`` of X itself, which is what Flatten(axis=1) gives (onnxruntime
    folds it the same way). The subgraph's nodes are dropped when nothing else reads them;
    any other use of ``Shape`` is left alone (and refused as unsupported)."""
    from onnx import helper, numpy_helper

    producer = {o: n for n in nodes for o in n.output if o}
    readers: dict[str, int] = {}
    for n in nodes:
        for t in n.input:
            readers[t] = readers.get(t, 0) + 1

    def const(t: str):
        if t in params:
            return np.asarray(params[t])
        c = producer.get(t)
        if c is not None and c.op_type == "Constant":
            for at in c.attribute:
                if at.name == "value":
                    return numpy_helper.to_array(at.t)
                if at.name in ("value_int", "value_ints"):
                    return np.asarray(helper.get_attribute_value(at))
        return None

    def attr(n, key, default=None):
        for at in n.attribute:
            if at.name == key:
                return helper.get_attribute_value(at)
        return default

    def single_use(t: str) -> bool:
        return readers.get(t, 0) == 1 and t not in graph_outputs

    drop: set[int] = set()
    out = []
    for n in nodes:
        if n.op_type != "Reshape" or len(n.input) < 2:
            out.append(n)
            continue
        x, shape_t = n.input[0], n.input[1]
        cat = producer.get(shape_t)
        ok = (cat is not None and cat.op_type == "Concat" and attr(cat, "axis") == 0
              and len(cat.input) == 2 and single_use(shape_t))
        if ok:
            minus = const(cat.input[1])
            uns = producer.get(cat.input[0])
            ok = (minus is not None and minus.reshape(-1).tolist() == [-1]
                  and uns is not None and uns.op_type == "Unsqueeze"
                  and single_use(cat.input[0]))
        if ok:
            axes = attr(uns, "axes")
            if axes is None and len(uns.input) > 1:
                a = const(uns.input[1])
                axes = None if a is None else a.reshape(-1).tolist()
            gat = producer.get(uns.input[0])
            ok = (list(axes or []) == [0] and gat is not None and gat.op_type == "Gather"
                  and attr(gat, "axis", 0) == 0 and single_use(uns.input[0]))
        if ok:
            idx = const(gat.input[1])
            shp = producer.get(gat.input[0])
            ok = (idx is not None and idx.reshape(-1).tolist() == [0] and idx.ndim == 0
                  and shp is not None and shp.op_type == "Shape" and shp.input[0] == x
                  and attr(shp, "start", 0) == 0 and attr(shp, "end") is None
                  and single_use(gat.input[0]))
        if not ok:
            out.append(n)
            continue
        drop.update(id(m) for m in (cat, uns, gat, shp))
        for t in (cat.input[1], uns.input[1] if len(uns.input) > 1 else "", gat.input[1]):
            c = producer.get(t)
            if c is not None and c.op_type == "Constant" and single_use(t):
                drop.add(id(c))
        out.append(helper.make_node("Flatten", [x], list(n.output), name=n.name, axis=1))
    return [n for n in out if id(n) not in drop]


_WINDOW_OPS = ("Conv", "ConvInteger", "QLinearConv", "MaxPool", "AveragePool",
               "QLinearAveragePool")


def _check_attribute_types(n, name: str, opsets: dict) -> None:
    """Each attribute of node *n* against the type its operator's ONNX schema declares (as
    onnxruntime checks a model): a ValueError naming the node, the attribute, its value and
    the type expected. Operators without a registered schema (com.microsoft) are skipped."""
    import onnx
    from onnx import helper

    domain = "" if n.domain in ("", "ai.onnx") else n.domain
    try:
        schema = onnx.defs.get_schema(n.op_type, opsets.get(domain, onnx.defs.onnx_opset_version()),
                                      domain)
    except onnx.defs.SchemaError:
        return
    for at in n.attribute:
        spec = schema.attributes.get(at.name)
        if spec is None:
            continue
        want = int(spec.type.value if hasattr(spec.type, "value") else spec.type)
        if want in (0, int(at.type)):
            continue
        try:
            v = helper.get_attribute_value(at)
            v = v.decode() if isinstance(v, bytes) else v
            shown = repr(v) if len(repr(v)) <= 60 else repr(v)[:57] + "..."
        except Exception:  # noqa: BLE001 - an attribute without a readable value
            shown = "?"
        names = onnx.AttributeProto.AttributeType.Name
        raise ValueError(f"load_onnx: node {name!r} ({n.op_type}): attribute {at.name!r}="
                         f"{shown} has type {names(at.type)}; valid: type {names(want)} "
                         f"(the {n.op_type} schema's).")


def _declared_shapes(g, init_names) -> dict:
    """Each graph input's declared shape: per dimension its int value, its symbolic name, or
    None (unknown); inputs without a declared shape are left out (not checked)."""
    out = {}
    for vi in g.input:
        if vi.name in init_names or not vi.type.HasField("tensor_type") \
                or not vi.type.tensor_type.HasField("shape"):
            continue
        dims = []
        for d in vi.type.tensor_type.shape.dim:
            if d.HasField("dim_value") and d.dim_value > 0:
                dims.append(int(d.dim_value))
            else:
                dims.append(d.dim_param or None)
        out[vi.name] = tuple(dims)
    return out


# -- rewrites -------------------------------------------------------------------------------------
def _consumers(net: Network) -> dict[str, list[Node]]:
    c: dict[str, list[Node]] = {}
    for n in net.nodes:
        for i in n.inputs:
            c.setdefault(i, []).append(n)
    return c


def _producer(net: Network) -> dict[str, Node]:
    return {o: n for n in net.nodes for o in n.outputs}


def _fold_constant_identity(net: Network) -> None:
    """An Identity of a constant is that constant (as onnxruntime's constant folding makes
    it): exporters emit ``%1.running_var = Identity(%1.weight)`` for duplicated initializers
    (a BatchNorm1d with its default statistics); the consumers then read a constant, so that
    BatchNormalization is folded, a weight is a weight in every mode, and the interval
    analysis sees a constant. Kept when its output is a graph output."""
    for n in list(net.nodes):
        if n.op == "Identity" and len(n.inputs) == 1 and n.inputs[0] in net.params \
                and len(n.outputs) == 1 and n.outputs[0] and n.outputs[0] not in net.outputs:
            net.params[n.outputs[0]] = net.params[n.inputs[0]]
            net.nodes.remove(n)


def _fold_batchnorm(net: Network) -> None:
    cons, prod = _consumers(net), _producer(net)
    for bn in list(net.nodes):
        if bn.op != "BatchNormalization" or len([o for o in bn.outputs if o]) != 1:
            continue
        src = prod.get(bn.inputs[0])
        if src is None or src.op not in ("Conv", "Gemm") or len(cons.get(bn.inputs[0], [])) != 1 \
                or bn.inputs[0] in net.outputs:
            continue
        if not all(i in net.params for i in bn.inputs[1:5]) \
                or not all(i in net.params for i in src.inputs[1:] if i):
            continue
        if src.op == "Gemm" and (src.attrs.get("alpha", 1.0) != 1.0
                                 or src.attrs.get("beta", 1.0) != 1.0
                                 or src.attrs.get("transA", 0)):
            continue
        gm, bt, mean, var = (net.params[i].astype(np.float64) for i in bn.inputs[1:5])
        s = gm / np.sqrt(var + bn.attrs.get("epsilon", 1e-5))
        w = net.params[src.inputs[1]].astype(np.float64)
        M = s.size
        if src.op == "Conv":
            w2 = w * s.reshape((-1,) + (1,) * (w.ndim - 1))
        else:
            w2 = w * s[:, None] if src.attrs.get("transB", 0) else w * s[None, :]
        b = net.params[src.inputs[2]].astype(np.float64) \
            if len(src.inputs) > 2 and src.inputs[2] else np.zeros(M)
        b2 = (b - mean) * s + bt
        wname, bname = f"{src.name}.folded_weight", f"{src.name}.folded_bias"
        net.params[wname] = w2
        net.params[bname] = b2
        src.inputs = [src.inputs[0], wname, bname]
        src.outputs = list(bn.outputs[:1])
        net.nodes.remove(bn)


_SAME_RANK = ("Conv", "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "Erf", "HardSigmoid",
              "HardSwish", "MaxPool", "AveragePool", "GlobalAveragePool", "BatchNormalization",
              "Transpose", "Softmax", "LogSoftmax", "Identity", "Dropout")


def _ranks(net: Network) -> dict[str, int | None]:
    """The rank of every tensor of a float graph, as far as the declared input shapes and the
    operators tell (None: unknown)."""
    r: dict[str, int | None] = {k: np.ndim(v) for k, v in net.params.items()}
    for k in net.inputs:
        dims = net.input_shapes.get(k)
        r[k] = None if dims is None else len(dims)
    for n in net.nodes:
        ins = [r.get(i) if i else None for i in n.inputs]
        out: int | None = None
        if n.op == "Gemm" or n.op == "Flatten":
            out = 2
        elif n.op == "MatMul" and len(ins) == 2 and None not in ins:
            a, b = ins
            out = 0 if a == b == 1 else b - 1 if a == 1 else a - 1 if b == 1 else max(a, b)
        elif n.op in ("Add", "Sub", "Mul", "Div") and ins and None not in ins:
            out = max(ins)
        elif n.op in REDUCE_OPS and ins and ins[0] is not None:
            if n.attrs.get("keepdims", 1):
                out = ins[0]
            else:
                axes = n.attrs.get("axes")
                if axes is None and len(n.inputs) > 1 and n.inputs[1] in net.params:
                    axes = np.asarray(net.params[n.inputs[1]]).ravel().tolist()
                if axes:  # (no axes: all, or none with noop_with_empty_axes)
                    out = ins[0] - len(set(axes))
                elif not n.attrs.get("noop_with_empty_axes", 0):
                    out = 0
                else:
                    out = ins[0]
        elif n.op in _SAME_RANK and ins:
            out = ins[0]
        elif n.op == "Concat":
            out = next((k for k in ins if k is not None), None)
        elif n.op == "Reshape" and len(n.inputs) > 1 and n.inputs[1] in net.params:
            out = int(np.size(net.params[n.inputs[1]]))
        for o in n.outputs:
            if o:
                r[o] = out
    return r


def _fuse_matmul_add(net: Network) -> None:
    """MatMul by a constant (K, M) matrix then Add of a constant (M,) vector -> Gemm, when the
    MatMul's input is 2-D (or of unknown rank: a graph input without a declared shape).
    Gemm takes only (N, K) inputs, so a MatMul of a (B, S, K) input (``nn.Linear`` on a
    sequence) stays MatMul + Add (regression: it became a Gemm that refused the model's own
    input)."""
    cons = _consumers(net)
    ranks = _ranks(net)
    for mm in list(net.nodes):
        if mm.op != "MatMul" or mm.inputs[1] not in net.params \
                or net.params[mm.inputs[1]].ndim != 2 or ranks.get(mm.inputs[0]) not in (2, None):
            continue
        users = cons.get(mm.outputs[0], [])
        if len(users) != 1 or users[0].op != "Add" or mm.outputs[0] in net.outputs:
            continue
        add = users[0]
        other = add.inputs[1] if add.inputs[0] == mm.outputs[0] else add.inputs[0]
        if other not in net.params or net.params[other].ndim != 1 \
                or net.params[other].size != net.params[mm.inputs[1]].shape[1]:
            continue
        mm.op = "Gemm"
        mm.inputs = [mm.inputs[0], mm.inputs[1], other]
        mm.outputs = list(add.outputs)
        mm.attrs = {}
        net.nodes.remove(add)


def _scalar_eq(a, b) -> bool:
    return a is not None and b is not None and np.array_equal(np.asarray(a), np.asarray(b)) \
        and np.asarray(a).dtype == np.asarray(b).dtype


def _fuse_qdq(net: Network) -> None:
    """Fuse DQ -> op -> Q groups into integer operators, as ONNX Runtime's optimizer does."""
    P = net.params
    cons, prod = _consumers(net), _producer(net)

    def dq_of(t):
        n = prod.get(t)
        return n if n is not None and n.op == "DequantizeLinear" else None

    def only_q(t):
        users = cons.get(t, [])
        if len(users) != 1 or users[0].op != "QuantizeLinear" or t in net.outputs:
            return None
        return users[0]

    def zp(n, k):
        return n.inputs[k] if len(n.inputs) > k and n.inputs[k] else None

    # onnxruntime on x86 does not run int8 activations in QLinearConv/QLinearMatMul/QGemm
    # (QDQIsInt8Allowed() is false there). Its QDQS8ToU8Transformer first rewrites an int8
    # Q -> DQ pair to uint8 (the same integers shifted by 128), but only when the Q's output is
    # not a graph output and has exactly one consumer edge: a DQ that itself has at most one
    # consumer (ORT duplicates a DQ per consumer, giving the Q several edges). Groups whose types
    # then disagree, or whose activation is still int8, are not fused and run in float (issue 6).
    converted: set[str] = set()
    if not _ORT_INT8_ALLOWED:
        for q in net.nodes:
            zq = P.get(zp(q, 2)) if zp(q, 2) else None
            if q.op != "QuantizeLinear" or zq is None or np.asarray(zq).dtype != np.int8 \
                    or q.inputs[1] not in P or q.outputs[0] in net.outputs:
                continue
            users = cons.get(q.outputs[0], [])
            if len(users) == 1 and users[0].op == "DequantizeLinear" \
                    and len(cons.get(users[0].outputs[0], [])) <= 1:
                converted.add(q.outputs[0])

    def qtype(n):
        """The 8-bit type onnxruntime sees at a DQ input / Q output (None: not constant)."""
        z = zp(n, 2)
        if z is None:
            return np.dtype(np.uint8)
        if z not in P:
            return None
        dt = np.asarray(P[z]).dtype
        t = n.inputs[0] if n.op == "DequantizeLinear" else n.outputs[0]
        return np.dtype(np.uint8) if dt == np.int8 and t in converted else dt

    def same_type(*ns):
        return len({qtype(n) for n in ns}) == 1

    new_nodes = []
    removed = set()
    for n in net.nodes:
        if id(n) in removed:
            continue
        if n.op in ("Conv", "MatMul", "Gemm"):
            dx, dw = dq_of(n.inputs[0]), dq_of(n.inputs[1])
            q = only_q(n.outputs[0])
            bias = n.inputs[2] if len(n.inputs) > 2 and n.inputs[2] else None
            db = dq_of(bias) if bias else None
            ok = dx is not None and dw is not None and q is not None \
                and (bias is None or (db is not None and db.inputs[0] in P
                                      and P[db.inputs[0]].dtype == np.int32))
            if ok:
                tx, tw = qtype(dx), qtype(dw)
                ok = tx is not None and same_type(dx, q) and not (
                    tx == np.int8 and (not _ORT_INT8_ALLOWED or tw != tx))
            if ok and n.op == "Gemm":
                a = n.attrs
                ok = a.get("alpha", 1.0) == 1.0 and a.get("beta", 1.0) == 1.0 \
                    and not a.get("transA", 0)
            if ok and n.op == "MatMul":
                ok = dw.inputs[0] in P and P[dw.inputs[0]].ndim == 2
            if ok:
                xin = [dx.inputs[0], dx.inputs[1], zp(dx, 2) or ""]
                win = [dw.inputs[0], dw.inputs[1], zp(dw, 2) or ""]
                yin = [q.inputs[1], zp(q, 2) or ""]
                if n.op == "Conv":
                    fused = Node("QLinearConv", n.name, xin + win + yin
                                 + ([db.inputs[0]] if db else []), list(q.outputs),
                                 dict(n.attrs))
                elif n.op == "MatMul":
                    fused = Node("QLinearMatMul", n.name, xin + win + yin, list(q.outputs))
                else:
                    fused = Node("QGemm", n.name, xin + win + [db.inputs[0] if db else ""]
                                 + yin, list(q.outputs),
                                 {"transB": n.attrs.get("transB", 0)})
                new_nodes.append(fused)
                removed.add(id(q))
                continue
        if n.op in ("AveragePool", "GlobalAveragePool", "Sigmoid", "LeakyRelu"):
            dx = dq_of(n.inputs[0])
            q = only_q(n.outputs[0])
            if dx is not None and q is not None and qtype(dx) is not None \
                    and same_type(dx, q):
                if n.attrs.get("ceil_mode", 0):  # QLinearAveragePool: floor mode only
                    raise UnsupportedOperatorError(
                        f"node {n.name!r}: a quantized AveragePool (QLinearAveragePool) with "
                        "ceil_mode=1 is not supported; valid: 0.")
                new_nodes.append(Node("QLinear" + n.op, n.name,
                                      [dx.inputs[0], dx.inputs[1], zp(dx, 2) or "",
                                       q.inputs[1], zp(q, 2) or ""], list(q.outputs),
                                      dict(n.attrs)))
                removed.add(id(q))
                continue
        if n.op in ("Add", "Mul") and len(n.inputs) == 2:
            da, db = dq_of(n.inputs[0]), dq_of(n.inputs[1])
            q = only_q(n.outputs[0])
            if da is not None and db is not None and q is not None \
                    and _per_tensor_8bit(P, [da, db], q) and same_type(da, db, q):
                new_nodes.append(Node("QLinear" + n.op, n.name,
                                      [da.inputs[0], da.inputs[1], zp(da, 2),
                                       db.inputs[0], db.inputs[1], zp(db, 2),
                                       q.inputs[1], zp(q, 2)], list(q.outputs)))
                removed.add(id(q))
                continue
        if n.op in ("MaxPool", "Flatten", "Reshape", "Transpose", "Relu"):
            dx = dq_of(n.inputs[0])
            q = only_q(n.outputs[0])
            if dx is not None and q is not None and _scalar_eq(P.get(dx.inputs[1]),
                                                               P.get(q.inputs[1])) \
                    and _scalar_eq(P.get(zp(dx, 2)), P.get(zp(q, 2))):
                if n.op == "Relu":
                    new_nodes.append(Node("IntRelu", n.name, [dx.inputs[0], zp(dx, 2)],
                                          list(q.outputs)))
                else:
                    new_nodes.append(Node(n.op, n.name, [dx.inputs[0]] + n.inputs[1:],
                                          list(q.outputs), dict(n.attrs)))
                removed.add(id(q))
                continue
        new_nodes.append(n)
    net.nodes = new_nodes


def _per_tensor_8bit(P: dict, dqs: list, q) -> bool:
    """onnxruntime's QDQ binary-operator selector: every scale and zero point a constant
    scalar, and the inputs and the output of one 8-bit type."""
    dts = set()
    for n in list(dqs) + [q]:
        s = P.get(n.inputs[1])
        z = P.get(n.inputs[2]) if len(n.inputs) > 2 and n.inputs[2] else None
        if s is None or z is None or np.asarray(s).size != 1 or np.asarray(z).size != 1:
            return False
        dts.add(np.asarray(z).dtype)
    return len(dts) == 1 and dts.pop() in (np.dtype(np.int8), np.dtype(np.uint8))


def _prune(net: Network) -> None:
    """Drop nodes whose outputs nothing uses (DQ nodes left behind by fusion)."""
    while True:
        used = set(net.outputs)
        for n in net.nodes:
            used.update(n.inputs)
        keep = [n for n in net.nodes if any(o in used for o in n.outputs)]
        if len(keep) == len(net.nodes):
            return
        net.nodes = keep
