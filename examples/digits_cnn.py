"""Digits CNN: train a tiny CNN with numpy, export to ONNX, then run it in double, fixed point
(8/16 bits) and integer-only int8, and compare with onnxruntime's own int8 quantization.

Network (8x8 images): Conv 3x3 (8 filters, pad 1) -> ReLU -> MaxPool 2 -> Flatten -> Gemm 32
-> ReLU -> Gemm 10, trained by plain numpy minibatch SGD with momentum on scikit-learn's
bundled digits (no download). Prints the accuracy per mode and the per-layer SQNR against
double, and writes ``digits_cnn_report.md``.

Run: ``python examples/digits_cnn.py`` (about 10 s).
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import fixsim as fx
from fixsim import nn


def im2col(x: np.ndarray) -> np.ndarray:
    """(N, 8, 8) images -> (N*64, 9) 3x3 patches with zero padding 1."""
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    v = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(1, 2))
    return v.reshape(-1, 9)


def forward(p, x):
    N = x.shape[0]
    cols = im2col(x)
    c = cols @ p["w1"].reshape(8, 9).T + p["b1"]                 # (N*64, 8)
    r = np.maximum(c, 0).reshape(N, 4, 2, 4, 2, 8)               # rows, cols split for pool
    pooled = r.max(axis=(2, 4))                                  # (N, 4, 4, 8)
    f = pooled.transpose(0, 3, 1, 2).reshape(N, -1)              # NCHW flatten order
    h = f @ p["w3"].T + p["b3"]
    a = np.maximum(h, 0)
    z = a @ p["w4"].T + p["b4"]
    return z, (cols, c, r, pooled, f, h, a)


def train(X, y, epochs=30, lr=0.05, seed=0):
    rng = np.random.default_rng(seed)
    p = {"w1": rng.normal(0, 0.4, (8, 1, 3, 3)), "b1": np.zeros(8),
         "w3": rng.normal(0, 0.1, (32, 128)), "b3": np.zeros(32),
         "w4": rng.normal(0, 0.2, (10, 32)), "b4": np.zeros(10)}
    vel = {k: np.zeros_like(v) for k, v in p.items()}
    imgs = X.reshape(-1, 8, 8)
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for s in range(0, len(X), 32):
            idx = order[s:s + 32]
            xb, yb = imgs[idx], y[idx]
            N = len(idx)
            z, (cols, c, r, pooled, f, h, a) = forward(p, xb)
            e = np.exp(z - z.max(axis=1, keepdims=True))
            g = e / e.sum(axis=1, keepdims=True)
            g[np.arange(N), yb] -= 1
            g /= N
            grads = {"w4": g.T @ a, "b4": g.sum(0)}
            da = g @ p["w4"]
            dh = da * (h > 0)
            grads["w3"], grads["b3"] = dh.T @ f, dh.sum(0)
            df = dh @ p["w3"]
            dpool = df.reshape(N, 8, 4, 4).transpose(0, 2, 3, 1)      # (N, 4, 4, 8)
            mask = r == pooled[:, :, None, :, None, :]
            dr = mask * dpool[:, :, None, :, None, :]
            dc = (dr.reshape(N * 64, 8)) * (c > 0)
            grads["w1"] = (dc.T @ cols).reshape(8, 1, 3, 3)
            grads["b1"] = dc.sum(0)
            for k in p:
                vel[k] = 0.9 * vel[k] - lr * grads[k]
                p[k] += vel[k]
    return p


def export_cnn(p, path: str) -> None:
    f32 = {k: v.astype(np.float32) for k, v in p.items()}
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2],
                         strides=[2, 2]),
        helper.make_node("Flatten", ["p1"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["h3"], name="fc3", transB=1),
        helper.make_node("Relu", ["h3"], ["a3"], name="relu3"),
        helper.make_node("Gemm", ["a3", "w4", "b4"], ["logits"], name="fc4", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "digits_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 10])],
        [numpy_helper.from_array(v, k) for k, v in f32.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


def ort_int8_accuracy(path: str, calib: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
    """onnxruntime's own quantize_static (QDQ, per-channel, MinMax) and int8 run."""
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": calib[i:i + 64]} for i in range(0, len(calib), 64)])

        def get_next(self):
            return next(self.it, None)

    qpath = path.replace(".onnx", "_int8.onnx")
    quantize_static(path, qpath, Reader(), per_channel=True, activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8)
    sess = ort.InferenceSession(qpath, providers=["CPUExecutionProvider"])
    return nn.accuracy(sess.run(None, {"x": X})[0], y)


def write_atomic(path: str, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main() -> None:
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    Xtr, Xte, ytr, yte = train_test_split(X, digits.target, test_size=0.25, random_state=0,
                                          stratify=digits.target)
    params = train(Xtr.astype(np.float64), ytr)
    export_cnn(params, "digits_cnn.onnx")
    Xtr4, Xte4 = Xtr.reshape(-1, 1, 8, 8), Xte.reshape(-1, 1, 8, 8)
    calib = Xtr4[:512]

    net = nn.load_onnx("digits_cnn.onnx")
    rows = [("double", nn.accuracy(net(Xte4), yte))]
    T = net.type_table("double")
    with fx.tool.record() as rec:
        net(calib, types=T)
    sq = {}
    for W in (16, 8):
        types = fx.tool.propose(rec, T, word_length=W).types
        rows.append((f"fixed {W}-bit", nn.accuracy(net(Xte4, types=types), yte)))
        sq[W] = nn.layer_sqnr(net, Xte4, types)
        if W == 16:
            fixed16 = types
    qnet = nn.quantize(net, calib, observer="minmax", per_channel=True)
    for rt in nn.RUNTIMES:
        rows.append((f"int8 ({rt})", nn.accuracy(qnet(Xte4, runtime=rt), yte)))
    rows.append(("int8 (onnxruntime's own quantize_static)",
                 ort_int8_accuracy("digits_cnn.onnx", calib, Xte4, yte)))

    print(f"digits CNN, {len(yte)} test images")
    for name, acc in rows:
        print(f"  {name:<42} accuracy {acc:.4f}")
    print("per-layer SQNR against double (dB):")
    for layer in sq[16]:
        print(f"  {layer:<10} 16-bit {sq[16][layer]:7.1f}   8-bit {sq[8][layer]:7.1f}")
    lines = ["# Digits CNN: double, fixed point and int8", "", "| mode | accuracy |",
             "|---|---|"] + [f"| {n} | {a:.4f} |" for n, a in rows]
    lines += ["", "| layer | SQNR 16-bit (dB) | SQNR 8-bit (dB) |", "|---|---|---|"]
    lines += [f"| {k} | {sq[16][k]:.1f} | {sq[8][k]:.1f} |" for k in sq[16]]
    lines += ["", "## 16-bit types", "", "```json", fixed16.to_json(), "```", ""]
    write_atomic("digits_cnn_report.md", "\n".join(lines))
    print("wrote digits_cnn_report.md")
    assert rows[1][1] >= rows[0][1] - 0.01, rows


if __name__ == "__main__":
    main()
