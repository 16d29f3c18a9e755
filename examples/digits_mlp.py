"""Digits MLP: train, export to ONNX, then run in double, fixed point (8/16 bits) and int8.

scikit-learn's bundled digits (no download) train a (64, 32) ReLU MLP; the weights are written
to ONNX with onnx.helper; fixsim loads the model, records every layer's ranges on calibration
data, proposes 16- and 8-bit power-of-two types, and quantizes it to integer-only int8 (each
runtime's requantizer). It prints the accuracy per mode and the per-layer SQNR against double,
and writes ``digits_mlp_report.md``.

Run: ``python examples/digits_mlp.py`` (about 5 s).
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

import fixsim as fx
from fixsim import nn


def export_mlp(clf: MLPClassifier, path: str) -> None:
    """Write the trained MLP as MatMul/Add/Relu ONNX."""
    nodes, inits, prev = [], [], "x"
    L = len(clf.coefs_)
    for i, (W, b) in enumerate(zip(clf.coefs_, clf.intercepts_, strict=True)):
        inits += [numpy_helper.from_array(W.astype(np.float32), f"W{i}"),
                  numpy_helper.from_array(b.astype(np.float32), f"b{i}")]
        nodes.append(helper.make_node("MatMul", [prev, f"W{i}"], [f"mm{i}"], name=f"fc{i}"))
        out = "logits" if i == L - 1 else f"z{i}"
        nodes.append(helper.make_node("Add", [f"mm{i}", f"b{i}"], [out], name=f"fc{i}_add"))
        if i < L - 1:
            nodes.append(helper.make_node("Relu", [out], [f"a{i}"], name=f"relu{i}"))
            prev = f"a{i}"
    graph = helper.make_graph(
        nodes, "digits_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)


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
    clf = MLPClassifier((64, 32), activation="relu", max_iter=300, random_state=0)
    clf.fit(Xtr, ytr)
    export_mlp(clf, "digits_mlp.onnx")

    net = nn.load_onnx("digits_mlp.onnx")
    calib = Xtr[:512]
    rows = [("double", nn.accuracy(net(Xte), yte))]

    # fixed point: record every signal's range in double, propose types, run fixed
    T = net.type_table("double")
    with fx.tool.record() as rec:
        net(calib, types=T)
    sq = {}
    for W in (16, 8):
        types = fx.tool.propose(rec, T, word_length=W).types
        rows.append((f"fixed {W}-bit", nn.accuracy(net(Xte, types=types), yte)))
        sq[W] = nn.layer_sqnr(net, Xte, types)
        if W == 16:
            fixed16 = types

    # integer-only int8, calibrated by fixsim (histogram L2 search), per runtime
    qnet = nn.quantize(net, calib, observer="histogram", per_channel=True)
    for rt in nn.RUNTIMES:
        rows.append((f"int8 ({rt})", nn.accuracy(qnet(Xte, runtime=rt), yte)))

    print(f"digits MLP, {len(yte)} test images")
    for name, acc in rows:
        print(f"  {name:<32} accuracy {acc:.4f}")
    print("per-layer SQNR against double (dB):")
    for layer in sq[16]:
        print(f"  {layer:<10} 16-bit {sq[16][layer]:7.1f}   8-bit {sq[8][layer]:7.1f}")

    lines = ["# Digits MLP: double, fixed point and int8", "", "| mode | accuracy |",
             "|---|---|"] + [f"| {n} | {a:.4f} |" for n, a in rows]
    lines += ["", "| layer | SQNR 16-bit (dB) | SQNR 8-bit (dB) |", "|---|---|---|"]
    lines += [f"| {k} | {sq[16][k]:.1f} | {sq[8][k]:.1f} |" for k in sq[16]]
    lines += ["", "## 16-bit types", "", "```json", fixed16.to_json(), "```", ""]
    write_atomic("digits_mlp_report.md", "\n".join(lines))
    print("wrote digits_mlp_report.md")
    # the 16-bit design keeps accuracy within a point of double
    assert rows[1][1] >= rows[0][1] - 0.01, rows


if __name__ == "__main__":
    main()
