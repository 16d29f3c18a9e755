"""fixsim.nn benchmark: the digits CNN on 450 images, in one process.

Usage::

    python benchmarks/bench_nn.py            # about 30 s
    python benchmarks/bench_nn.py --repeat 3 # fewer repeats

Trains the CNN of ``examples/digits_cnn.py`` (numpy, a few seconds), quantizes it with
onnxruntime's ``quantize_static`` (QDQ, per-channel int8), and times, as the best of N runs
after a warm-up call:

* onnxruntime's own int8 run of the quantized model (one thread, and its default threads);
* fixsim's integer-only run of the same quantized model (``runtime='onnxruntime'``), after
  checking that its integers equal onnxruntime's on every image;
* fixsim's int8 run of the network it quantized itself, with each runtime's requantizer;
* fixsim double and fixed-point (16-bit proposed types) simulation;
* calibration throughput: recording every signal (``fx.tool.record``), and ``nn.quantize``
  with the min/max and histogram observers;
* the TFLite interpreter (default resolver, one thread) on the full-int8 TFLite CNN of
  tests/data/nn/ against fixsim running the same model (``nn.load_tflite``), after checking
  0 integer mismatches (needs tensorflow-cpu; said so when it is missing).

Ratios are ``fixsim / onnxruntime`` (below 1: fixsim is faster).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "examples"))

import digits_cnn  # noqa: E402  (examples/digits_cnn.py: training and ONNX export)

import fixsim as fx  # noqa: E402
from fixsim import nn  # noqa: E402


def best(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import CalibrationDataReader, QuantType, quantize_static
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    Xtr, Xte, ytr, yte = train_test_split(X, d.target, test_size=0.25, random_state=0,
                                          stratify=d.target)
    params = digits_cnn.train(Xtr.astype(np.float64), ytr)
    tmp = tempfile.mkdtemp()
    fpath, qpath = os.path.join(tmp, "cnn.onnx"), os.path.join(tmp, "cnn_int8.onnx")
    digits_cnn.export_cnn(params, fpath)
    Xtr4, Xte4 = Xtr.reshape(-1, 1, 8, 8), Xte.reshape(-1, 1, 8, 8)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{"x": Xtr4[i:i + 64]} for i in range(0, 512, 64)])

        def get_next(self):
            return next(self.it, None)

    quantize_static(fpath, qpath, Reader(), per_channel=True,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    qm = onnx.load(qpath)
    out = qm.graph.output[0].name
    last = next(n.input[0] for n in qm.graph.node if out in n.output)
    qm.graph.output.append(onnx.helper.make_empty_tensor_value_info(last))
    rows = []

    def session(threads):
        so = ort.SessionOptions()
        if threads:
            so.intra_op_num_threads = threads
        return ort.InferenceSession(qm.SerializeToString(), so,
                                    providers=["CPUExecutionProvider"])

    s1, sd = session(1), session(0)
    ort_q = s1.run([last], {"x": Xte4})[0]
    t_ort1 = best(lambda: s1.run([last], {"x": Xte4}), args.repeat)
    t_ortd = best(lambda: sd.run([last], {"x": Xte4}), args.repeat)

    qnet = nn.load_onnx(qpath)
    fx_q = qnet(Xte4, outputs=last)
    mism = int((fx_q != ort_q).sum())
    t_fx = best(lambda: qnet(Xte4, outputs=last), args.repeat)
    rows.append(("int8, onnxruntime's quantized model (runtime='onnxruntime')", t_fx))

    net = nn.load_onnx(fpath)
    own = nn.quantize(net, Xtr4[:512])
    for rt in nn.RUNTIMES:
        rows.append((f"int8, fixsim-quantized, runtime={rt!r}",
                     best(lambda rt=rt: own(Xte4, runtime=rt), args.repeat)))
    rows.append(("double", best(lambda: net(Xte4), args.repeat)))
    T = net.type_table()
    with fx.tool.record() as rec:
        net(Xtr4[:512], types=T)
    T16 = fx.tool.propose(rec, T, word_length=16).types
    rows.append(("fixed point, 16-bit proposed types", best(lambda: net(Xte4, types=T16),
                                                           args.repeat)))

    def record_all():
        with fx.tool.record():
            net(Xtr4, types=T)
    t_rec = best(record_all, max(1, args.repeat // 2))
    t_qmm = best(lambda: nn.quantize(net, Xtr4, observer="minmax"), max(1, args.repeat // 2))
    t_qh = best(lambda: nn.quantize(net, Xtr4, observer="histogram"), max(1, args.repeat // 2))

    print(f"digits CNN int8 inference, {len(Xte4)} images (best of {args.repeat})")
    print(f"fixsim vs onnxruntime integer outputs: {mism} mismatches of {ort_q.size}\n")
    print("| run | time (ms) | fixsim / onnxruntime (1 thread) | fixsim / onnxruntime "
          "(default threads) |")
    print("|---|---|---|---|")
    print(f"| onnxruntime int8, 1 thread | {t_ort1 * 1e3:.2f} | 1.00 | |")
    print(f"| onnxruntime int8, default threads | {t_ortd * 1e3:.2f} | | 1.00 |")
    for name, t in rows:
        print(f"| fixsim {name} | {t * 1e3:.2f} | {t / t_ort1:.2f} | {t / t_ortd:.2f} |")
    n = len(Xtr4)
    print(f"\ncalibration on {n} images: record every signal {n / t_rec:,.0f} images/s; "
          f"quantize (minmax) {n / t_qmm:,.0f} images/s; quantize (histogram) "
          f"{n / t_qh:,.0f} images/s")
    bench_tflite(Xte, args.repeat)


def bench_tflite(X: np.ndarray, repeat: int) -> None:
    """The TFLite interpreter against fixsim on tests/data/nn/digits_cnn_int8.tflite."""
    try:
        import tensorflow as tf
    except ImportError:
        print("\nTFLite: tensorflow is not installed, the TFLite rows are not measured "
              "(pip install tensorflow-cpu).")
        return
    import warnings

    path = os.path.join(os.path.dirname(HERE), "tests", "data", "nn", "digits_cnn_int8.tflite")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        it = tf.lite.Interpreter(model_path=path, num_threads=1)
    inp = it.get_input_details()[0]
    s, z = inp["quantization"]
    xq = np.clip(np.round(X / s) + z, -128, 127).astype(np.int8).reshape(-1, 8, 8, 1)
    it.resize_tensor_input(inp["index"], xq.shape)
    it.allocate_tensors()
    oi = it.get_output_details()[0]["index"]

    def run_tfl():
        it.set_tensor(inp["index"], xq)
        it.invoke()
        return it.get_tensor(oi)

    ref = run_tfl()
    net = nn.load_tflite(path)
    mism = int((net(xq) != ref).sum())
    t_tfl = best(run_tfl, repeat)
    t_fx = best(lambda: net(xq), repeat)
    print(f"\nTFLite full-int8 CNN ({path.split(os.sep)[-1]}), {len(xq)} images: "
          f"{mism} mismatches of {ref.size}")
    print("| run | time (ms) | / TFLite interpreter |")
    print("|---|---|---|")
    print(f"| TFLite interpreter (XNNPACK, 1 thread) | {t_tfl * 1e3:.2f} | 1.00 |")
    print(f"| fixsim, runtime='tflite-xnnpack' | {t_fx * 1e3:.2f} | {t_fx / t_tfl:.2f} |")


if __name__ == "__main__":
    main()
