"""The bundled examples of ``fixsim demo``, and the whole flow they run.

Two algorithms written once, with type-table casts, so that the same code runs in double, in
fixed point and on intervals:

* ``ddc``: a digital down-converter. A real IF input is mixed to baseband by an NCO's cosine
  and sine (a 64-entry table), each branch is decimated by a 3-stage CIC (written as three
  8-sample moving sums followed by decimation by 8; the CIC gain ``8**3`` is removed by a
  shift), then a 15-tap compensation FIR. Signals: ``adc.x``, ``nco.cos``, ``nco.sin``,
  ``mix.i``, ``mix.q``, ``cic.i1..3``, ``cic.q1..3``, ``cic.i``, ``cic.q``, ``cfir.acc_i``,
  ``cfir.acc_q``, ``out.i``, ``out.q``.
* ``eq``: a three-band FIR equaliser: low, band and high pass FIRs (31 taps), a gain per band,
  and their sum. Signals: ``in.x``, ``band<k>.acc``, ``band<k>.y``, ``band<k>.g``,
  ``mix.acc``, ``out.y``.

Each frame is processed on its own (the filters start at rest), so frames may be recorded and
verified in any order. The starting types are a designer's first guess (16 bits, mostly
``sfix16_En15``): some overflow, which the report shows.

:func:`run_flow` runs record (with a ``scaled_double`` override, so the recording also counts
the overflows of the starting types), derive, propose, verify, then writes the report and the
type exports.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence

import numpy as np

from ._atomic import write_atomic
from ._core._typetable import TypeTable

__all__ = ["EXAMPLES", "Example", "run_flow", "FlowResult", "digits_mlp", "run_network_flow",
           "NETWORK_EXAMPLES"]

_FRAME = 2048


# -- ddc -------------------------------------------------------------------------------------------
_R, _STAGES, _L, _K = 8, 3, 64, 13  # decimation, CIC stages, NCO table length and step
_NCO_COS = np.cos(2 * np.pi * np.arange(_L) / _L)
_NCO_SIN = -np.sin(2 * np.pi * np.arange(_L) / _L)
for _t in (_NCO_COS, _NCO_SIN):  # cos(pi/2) is 6e-17 in floating point: the table holds 0
    _t[np.abs(_t) < 1e-12] = 0.0
_BOX = np.ones(_R)
_CFIR = np.array([-0.0078125, 0.0234375, -0.046875, 0.0546875, -0.0390625, -0.09375,
                  0.296875, 0.625, 0.296875, -0.09375, -0.0390625, 0.0546875, -0.046875,
                  0.0234375, -0.0078125])  # a CIC droop compensator, coefficients in Q0.7


def ddc(x, T):
    """Digital down-converter: NCO mixer, 3-stage CIC decimating by 8, compensation FIR."""
    x = T["adc.x"](x)
    phase = (np.arange(len(x)) * _K) % _L
    c = T["nco.cos"](_NCO_COS[phase])
    s = T["nco.sin"](_NCO_SIN[phase])
    out = []
    for b, lo in (("i", c), ("q", s)):
        v = T[f"mix.{b}"](x * lo)
        for k in range(1, _STAGES + 1):
            v = T[f"cic.{b}{k}"](np.convolve(v, _BOX)[: len(x)])
        v = T[f"cic.{b}"](v[_R - 1:: _R] * (1.0 / _R ** _STAGES))
        acc = T[f"cfir.acc_{b}"](np.convolve(v, _CFIR)[: len(v)])
        out.append(T[f"out.{b}"](acc))
    return out[0], out[1]


def ddc_types() -> TypeTable:
    t = {"adc.x": "sfix16_En15", "nco.cos": "sfix16_En15", "nco.sin": "sfix16_En15",
         "mix.i": "sfix16_En15", "mix.q": "sfix16_En15"}
    for b in "iq":
        for k in range(1, _STAGES + 1):
            t[f"cic.{b}{k}"] = "sfix16_En12"
        t[f"cic.{b}"] = "sfix16_En15"
        t[f"cfir.acc_{b}"] = "sfix32_En30"
        t[f"out.{b}"] = "sfix16_En15"
    return TypeTable(t, rounding="nearest", overflow="saturate")


def ddc_inputs(frames: int = 8, seed: int = 1) -> list[np.ndarray]:
    """An IF tone near the NCO frequency, a weaker interferer and noise, 0.9 full scale."""
    rng = np.random.default_rng(seed)
    n = np.arange(frames * _FRAME)
    f0 = _K / _L + 0.0021
    x = (0.6 * np.cos(2 * np.pi * f0 * n + 0.3) + 0.2 * np.cos(2 * np.pi * 0.31 * n)
         + 0.05 * rng.standard_normal(n.size))
    x = np.clip(x, -0.95, 0.95)
    return [x[i * _FRAME:(i + 1) * _FRAME] for i in range(frames)]


# -- eq --------------------------------------------------------------------------------------------
def _eq_bands() -> list[np.ndarray]:
    from scipy.signal import firwin

    return [firwin(31, 0.15), firwin(31, [0.15, 0.4], pass_zero=False),
            firwin(31, 0.4, pass_zero=False)]


_EQ_BANDS = None
_EQ_GAINS = (1.8, 0.6, 1.3)


def eq(x, T):
    """Three-band FIR equaliser: low/band/high pass, a gain per band, summed."""
    global _EQ_BANDS
    if _EQ_BANDS is None:
        _EQ_BANDS = _eq_bands()
    x = T["in.x"](x)
    total = None
    for k, (h, g) in enumerate(zip(_EQ_BANDS, _EQ_GAINS, strict=True)):
        acc = T[f"band{k}.acc"](np.convolve(x, h)[: len(x)])
        y = T[f"band{k}.y"](acc)
        yg = T[f"band{k}.g"](y * g)
        total = yg if total is None else total + yg
    return T["out.y"](T["mix.acc"](total))


def eq_types() -> TypeTable:
    t = {"in.x": "sfix16_En15", "mix.acc": "sfix16_En14", "out.y": "sfix16_En15"}
    for k in range(3):
        t[f"band{k}.acc"] = "sfix32_En30"
        t[f"band{k}.y"] = "sfix16_En15"
        t[f"band{k}.g"] = "sfix16_En15"
    return TypeTable(t, rounding="nearest", overflow="saturate")


def eq_inputs(frames: int = 8, seed: int = 2) -> list[np.ndarray]:
    """Music-like test frames: a chirp, tones and noise at 0.8 full scale."""
    rng = np.random.default_rng(seed)
    n = np.arange(_FRAME)
    out = []
    for i in range(frames):
        chirp = np.cos(2 * np.pi * (0.01 + 0.2 * i / frames) * n * (1 + n / (4 * _FRAME)))
        tones = 0.3 * np.sin(2 * np.pi * 0.05 * n) + 0.2 * np.sin(2 * np.pi * 0.3 * n + i)
        x = 0.5 * chirp + tones + 0.05 * rng.standard_normal(n.size)
        out.append(np.clip(0.8 * x / np.max(np.abs(x)), -0.8, 0.8))
    return out


# -- the flow --------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Example:
    """A bundled example: the algorithm, its starting types, inputs and proposal options."""

    name: str
    title: str
    fn: Callable
    types: Callable[[], TypeTable]
    inputs: Callable[..., list]
    input_range: tuple[float, float]
    overrides: dict


EXAMPLES = {
    "ddc": Example("ddc", "Digital down-converter (NCO mixer, CIC decimator, compensation FIR)",
                   ddc, ddc_types, ddc_inputs, (-0.95, 0.95),
                   {"cfir.acc_i": {"word_length": 32}, "cfir.acc_q": {"word_length": 32}}),
    "eq": Example("eq", "Three-band FIR equaliser", eq, eq_types, eq_inputs, (-0.8, 0.8),
                  {f"band{k}.acc": {"word_length": 32} for k in range(3)}),
}


@dataclasses.dataclass
class FlowResult:
    """What :func:`run_flow` produced."""

    recording: object
    derived: object
    proposal: object
    verification: object
    report: object
    files: dict[str, str]
    #: Steps that failed and were skipped (``{'step': 'derive', 'error': '...'}``): the
    #: report says so and the command line exits with 1.
    failures: list = dataclasses.field(default_factory=list)
    #: For a network: top-1 accuracy per mode and per-layer SQNR
    #: (:class:`fixsim.nn.NetworkVerification`), else None.
    accuracy: object = None


#: Export formats written by the flow: format -> file name.
EXPORT_FILES = {"vhdl": "fixsim_types.vhd", "systemverilog": "fixsim_types.sv",
                "hls": "fixsim_types_hls.h", "ac": "fixsim_types_ac.h", "c": "fixsim_types.h",
                "json": "types.json"}
DEFAULT_EXPORTS = ("vhdl", "systemverilog", "hls", "c", "json")


def run_flow(fn: Callable, inputs: Sequence, T: TypeTable, out: str | os.PathLike, *,
             title: str, word_length: int | None = 16, fraction_length: int | None = None,
             margin: float = 0, policy: str = "minmax", percentile: float = 99.99,
             source: str | None = None, input_range: tuple[float, float] | None = None,
             design: dict | None = None,
             overrides: dict | None = None, verify: bool = True, progress: bool = False,
             report_formats: Sequence[str] = ("html", "json", "csv", "md"),
             export_formats: Sequence[str] = DEFAULT_EXPORTS, save_data: bool = True,
             log: Callable[[str], None] = print) -> FlowResult:
    """Record, derive, propose, verify, report and export.

    *T* holds the starting types (its locked signals are kept). The recording runs under a
    ``scaled_double`` override: values are recorded in double and the overflows of *T*'s
    fixed types are counted. With *save_data*, the recording, the proposal and the derived
    ranges are saved as ``recording.json``, ``proposal.json`` and ``derived.json``. Derived
    ranges are computed when *input_range* is given
    (``fx.tool.derive`` on the first input's shape). *design* maps signal names to
    ``(min, max)`` design ranges (they take precedence). Files go to *out* (created).

    A failure of ``derive`` or ``verify`` (an operation interval analysis does not support,
    signals probed differently in double and fixed) does not stop the flow: the step is
    skipped, the report carries a ``derive_failed``/``verify_failed`` warning, and the
    result lists it in ``failures``. Recording and proposing errors propagate.
    """
    from . import tool
    from .report import Report, export

    os.makedirs(out, exist_ok=True)
    inputs = list(inputs)
    log(f"recording {len(inputs)} frame(s) ...")
    rec = tool.collect(fn, inputs, T.override("scaled_double"), progress=progress)
    derived = None
    failures: list[dict] = []
    if source is None:
        source = "simulation"
    if input_range is not None:
        log(f"deriving ranges for inputs in [{input_range[0]}, {input_range[1]}] ...")
        try:
            derived = tool.derive(fn, tuple(input_range), T.as_double(), like=inputs[0])
        except Exception as exc:  # noqa: BLE001 - reported, in the report and the exit code
            msg = f"{type(exc).__name__}: {exc}"
            failures.append({"step": "derive", "error": msg})
            log(f"derive failed ({msg}); continuing with simulated ranges only")
            if source in ("derived", "union"):
                source = "simulation"
    shown = (f"word length {word_length or 16}" if fraction_length is None
             else f"fraction length {fraction_length}"
             + (f", word length {word_length}" if word_length else ""))
    log(f"proposing types ({shown}, margin {margin}%, policy {policy}, source {source}) ...")
    proposal = tool.propose(rec, T, word_length=word_length, fraction_length=fraction_length,
                            margin=margin, policy=policy, percentile=percentile,
                            source=source, derived=derived, design=design or None,
                            overrides=overrides or None)
    verification = None
    if verify:
        log("verifying the proposed types against double ...")
        try:
            verification = tool.verify(fn, inputs, proposal.types, progress=progress)
        except Exception as exc:  # noqa: BLE001 - reported, in the report and the exit code
            msg = f"{type(exc).__name__}: {exc}"
            failures.append({"step": "verify", "error": msg})
            log(f"verify failed ({msg}); the report has no verification")
    notes = [{"kind": f"{f['step']}_failed", "signal": None,
              "message": f"{f['step']} failed: {f['error']}"} for f in failures]
    report = Report.build(proposal, rec, verification, derived, title=title, current=T,
                          notes=notes)
    files = {f"report.{k}": v for k, v in report.write(out, report_formats).items()}
    if save_data:  # the saved ranges: `fixsim report proposal.json --recording ...` re-renders
        for key, obj in (("recording", rec), ("proposal", proposal), ("derived", derived)):
            if obj is not None:
                path = os.path.join(os.fspath(out), f"{key}.json")
                obj.save(path)
                files[key] = path
    for fmt in export_formats:
        path = os.path.join(os.fspath(out), EXPORT_FILES[fmt])
        export(proposal.types, fmt, path)
        files["types" if fmt == "json" else fmt] = path
    return FlowResult(rec, derived, proposal, verification, report, files, failures)


# -- networks --------------------------------------------------------------------------------------
#: Network examples of ``fixsim demo``: name -> title.
NETWORK_EXAMPLES = {"mlp": "Digits MLP (64-64-32-10, ReLU): fixed point and int8"}


def digits_mlp(seed: int = 0):
    """Train the digits MLP and export it to ONNX.

    scikit-learn's bundled digits (no download), scaled to [0, 1], split 75/25 (stratified,
    ``random_state=0``); a (64, 32) ReLU ``MLPClassifier`` (seeded, about 2 s), written as
    MatMul/Add/Relu ONNX with ``onnx.helper``.

    Returns
    -------
    model : onnx.ModelProto
    calib : numpy.ndarray
        512 training images (calibration).
    x_test, y_test : numpy.ndarray
        The 450 test images and their labels.
    """
    import warnings

    import onnx
    from onnx import TensorProto, helper, numpy_helper
    from sklearn.datasets import load_digits
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    Xtr, Xte, ytr, yte = train_test_split(X, d.target, test_size=0.25, random_state=0,
                                          stratify=d.target)
    clf = MLPClassifier((64, 32), activation="relu", max_iter=300, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(Xtr, ytr)
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
    return model, Xtr[:512], Xte, yte


_write_text = _write_bytes = write_atomic  # (names kept for the CLI)


def run_network_flow(net, calib, out: str | os.PathLike, *, x_test=None, y_test=None,
                     title: str, word_length: int | None = 16,
                     compare_word_lengths: Sequence[int] | None = None,
                     observer: str = "minmax", runtimes: Sequence[str] = ("onnxruntime",),
                     batch_size: int = 256, log: Callable[[str], None] = print,
                     **flow) -> FlowResult:
    """The whole flow on a float network, then its accuracy in fixed point and int8.

    :func:`run_flow` records every signal of *net* (``fixsim.nn.Network``) on the
    calibration batches, proposes *word_length*-bit types, verifies them per signal and
    writes the report and exports into *out*. Then, on the labelled test set (*x_test*,
    *y_test*; the calibration set when not given, without accuracy if unlabelled), the
    network runs in double, with the types proposed at each of *compare_word_lengths*
    (default: *word_length*, 16 and 8), and
    quantized to int8 by :func:`fixsim.nn.quantize` (*observer*, per channel) under each of
    *runtimes*: the top-1 accuracy per mode and every layer's SQNR against double go to
    ``accuracy.md`` and ``accuracy.json`` in *out* (and to ``FlowResult.accuracy``).
    """
    import json

    from . import nn, tool

    X = np.asarray(calib)
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(f"run_network_flow: calib must hold samples along its first axis, "
                         f"got shape {X.shape}.")
    batches = [X[i:i + batch_size] for i in range(0, len(X), batch_size)]
    T = net.type_table("double")
    result = run_flow(net, batches, T, out, title=title, word_length=word_length, log=log,
                      **flow)
    tables = {}
    if compare_word_lengths is None:
        compare_word_lengths = list(dict.fromkeys([w for w in (word_length, 16, 8) if w]))
    source = flow.get("source") or "simulation"
    if result.derived is None and source in ("derived", "union"):
        source = "simulation"
    for W in compare_word_lengths:
        if W == word_length and flow.get("fraction_length") is None:
            tables[f"fixed {W}-bit"] = result.proposal.types
        else:  # the same ranges and policy, another word length
            tables[f"fixed {W}-bit"] = tool.propose(
                result.recording, T, word_length=W, source=source, derived=result.derived,
                margin=flow.get("margin", 0), policy=flow.get("policy", "minmax"),
                percentile=flow.get("percentile", 99.99)).types
    log(f"quantizing to int8 ({observer} observer, per channel) ...")
    qnet = nn.quantize(net, X, observer=observer, per_channel=True)
    xt = X if x_test is None else np.asarray(x_test)
    yt = None if y_test is None else np.asarray(y_test)
    log(f"verifying accuracy on {len(xt)} samples ...")
    acc = nn.verify(net, xt, yt, types=tables, quantized=qnet, runtimes=list(runtimes),
                    batch_size=batch_size)
    md = f"# {title}: accuracy and per-layer SQNR\n\n" + acc.to_markdown()
    path_md = os.path.join(os.fspath(out), "accuracy.md")
    _write_text(path_md, md)
    path_js = os.path.join(os.fspath(out), "accuracy.json")
    _write_text(path_js, json.dumps({"samples": acc.samples, "accuracy": acc.accuracy,
                                     "layer_sqnr_db": {m: {k: (None if not np.isfinite(v)
                                                              else v) for k, v in d.items()}
                                                       for m, d in acc.layer_sqnr.items()}},
                                    indent=2))
    result.files["accuracy.md"] = path_md
    result.files["accuracy.json"] = path_js
    result.accuracy = acc
    return result
