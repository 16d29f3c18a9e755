"""Generate the full-int8 TFLite models the nn tests run through the TFLite interpreter.

Two small Keras networks are trained for a few epochs on scikit-learn's bundled digits (no
download) and converted by ``tf.lite.TFLiteConverter`` to full-integer int8 (int8 input and
output, per-channel weights, int32 biases) with a representative dataset:

* ``digits_mlp_int8.tflite``: Dense(32, relu) -> Dense(16, relu6) -> Dense(10);
* ``digits_mlp_int8_float_io.tflite``: the same MLP with float32 input and output
  (QUANTIZE first, DEQUANTIZE last);
* ``digits_pool_int8.tflite``: Conv2D(6, relu) -> AveragePooling2D(2) -> Conv2D(8, relu)
  -> AveragePooling2D(3, stride 1, same) -> GlobalAveragePooling2D -> Dense(10);
* ``digits_softmax_int8.tflite``: Dense(10) -> Softmax (TFLite's integer softmax);
* ``digits_cnn_int8.tflite``: Conv2D(8, 3x3, same, relu) -> DepthwiseConv2D(3x3, valid,
  relu6) -> MaxPool(2) -> Conv2D(12, 3x3, stride 2, same, relu) -> Flatten -> Dense(24, relu)
  -> Dense(10).

Run ``python tests/data/nn/make_tflite_models.py`` (needs tensorflow-cpu; about 20 s). The
tests only need the committed ``.tflite`` files and the interpreter.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits

HERE = os.path.dirname(os.path.abspath(__file__))


def _data():
    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    return X, d.target.astype(np.int64)


def _mlp():
    return tf.keras.Sequential([
        tf.keras.Input((64,)),
        tf.keras.layers.Dense(32, activation="relu"),
        tf.keras.layers.Dense(16, activation="relu6"),
        tf.keras.layers.Dense(10),
    ])


def _cnn():
    L = tf.keras.layers
    return tf.keras.Sequential([
        tf.keras.Input((8, 8, 1)),
        L.Conv2D(8, 3, padding="same", activation="relu"),
        L.DepthwiseConv2D(3, padding="valid", activation="relu6"),
        L.MaxPooling2D(2),
        L.Conv2D(12, 3, strides=2, padding="same", activation="relu"),
        L.Flatten(),
        L.Dense(24, activation="relu"),
        L.Dense(10),
    ])


def _pool():
    L = tf.keras.layers
    return tf.keras.Sequential([
        tf.keras.Input((8, 8, 1)),
        L.Conv2D(6, 3, padding="same", activation="relu"),
        L.AveragePooling2D(2),
        L.Conv2D(8, 3, padding="same", activation="relu"),
        L.AveragePooling2D(3, strides=1, padding="same"),
        L.GlobalAveragePooling2D(),
        L.Dense(10),
    ])


def _softmax():
    return tf.keras.Sequential([
        tf.keras.Input((64,)),
        tf.keras.layers.Dense(10),
        tf.keras.layers.Softmax(),
    ])


def _convert(model, calib: np.ndarray, path: str, int_io: bool = True) -> None:
    def rep():
        for i in range(0, len(calib), 8):
            yield [calib[i:i + 8]]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if int_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    blob = conv.convert()
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    with os.fdopen(fd, "wb") as f:
        f.write(blob)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def main() -> None:
    tf.keras.utils.set_random_seed(0)
    X, y = _data()
    Xtr, ytr = X[:1300], y[:1300]
    for name, make, shape in (("digits_softmax_int8", _softmax, (-1, 64)),
                              ("digits_mlp_int8", _mlp, (-1, 64)),
                              ("digits_cnn_int8", _cnn, (-1, 8, 8, 1)),
                              ("digits_pool_int8", _pool, (-1, 8, 8, 1))):
        m = make()
        m.compile("adam", tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
        m.fit(Xtr.reshape(shape), ytr, epochs=15, batch_size=32, verbose=0)
        _convert(m, Xtr[:256].reshape(shape), os.path.join(HERE, f"{name}.tflite"))
        if name == "digits_mlp_int8":
            # the same network with float input and output: QUANTIZE ... DEQUANTIZE
            _convert(m, Xtr[:256].reshape(shape),
                     os.path.join(HERE, "digits_mlp_int8_float_io.tflite"), int_io=False)
        print(name, os.path.getsize(os.path.join(HERE, f"{name}.tflite")), "bytes")


if __name__ == "__main__":
    main()
