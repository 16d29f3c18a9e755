"""The command line runs as a new user would run it: in a subprocess and in-process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from fractions import Fraction

import numpy as np
import pytest

import fixsim as fx
from fixsim.cli import main

ALG = textwrap.dedent("""\
    import numpy as np
    import fixsim as fx

    T = fx.TypeTable({"x": "sfix16_En15", "blk.y": "sfix16_En15"})

    def gain(x, T):
        return T["blk.y"](T.x(x) * 3)
    """)


def run_cli(*args, cwd=None, timeout=600):
    return subprocess.run([sys.executable, "-m", "fixsim", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=cwd)


@pytest.fixture()
def user_alg(tmp_path):
    (tmp_path / "alg.py").write_text(ALG)
    rng = np.random.default_rng(5)
    x = rng.uniform(-0.5, 0.5, (3, 200))
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "types.json").write_text(
        fx.TypeTable({"x": "sfix16_En15", "blk.y": "sfix16_En15"}).to_json())
    return tmp_path, x


def best_type(lo: float, hi: float, W: int = 16) -> str:
    """The best-precision signed W-bit type covering [lo, hi], by exhaustive search."""
    for F in range(60, -60, -1):
        if Fraction(-(2 ** (W - 1)), 2 ** F) <= Fraction(lo) and \
                Fraction(hi) <= Fraction(2 ** (W - 1) - 1, 2 ** F):
            return str(fx.numerictype(True, W, F))
    raise AssertionError


def test_demo_runs_the_whole_flow_in_a_subprocess(tmp_path):
    out = tmp_path / "demo"
    r = run_cli("demo", "--example", "eq", "--out", str(out), "--frames", "2", "--no-progress")
    assert r.returncode == 0, r.stderr
    html = out / "report.html"
    assert f"Report: {html}" in r.stdout
    for name in ("report.html", "report.json", "report.csv", "report.md", "fixsim_types.vhd",
                 "fixsim_types.sv", "fixsim_types_hls.h", "fixsim_types.h", "types.json",
                 "recording.json", "proposal.json", "derived.json"):
        assert (out / name).is_file(), name
    data = json.loads((out / "report.json").read_text())
    assert data["has_verification"] and data["has_derived"] and data["has_recording"]
    T = fx.TypeTable.from_json((out / "types.json").read_text())
    assert {s["name"]: s["proposed"]["name"] for s in data["signals"]} == \
        {n: str(T.type_of(n)) for n in T.names}
    # the exports are what the hardware tools accept
    sub = subprocess.run(["ghdl", "-a", "--std=08", "fixsim_types.vhd"], cwd=out,
                         capture_output=True, text=True)
    assert sub.returncode == 0, sub.stderr


def test_python_dash_m_and_the_console_script_are_the_same_cli():
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"fixsim {fx.__version__}"


def test_tour_prints_the_bits():
    r = run_cli("tour")
    assert r.returncode == 0, r.stderr
    assert "stored 25736" in r.stdout and "0110010010001000" in r.stdout


def test_no_command_prints_help_and_fails():
    r = run_cli()
    assert r.returncode == 2 and "demo" in r.stdout and "propose" in r.stdout


@pytest.mark.parametrize("cmd", [[], ["demo"], ["propose"], ["report"], ["verify"], ["export"],
                                 ["tour"]])
def test_help_everywhere(cmd, capsys):
    assert main([*cmd, "--help"]) == 0
    assert "usage: fixsim" in capsys.readouterr().out


def test_propose_on_a_user_function_in_process(user_alg, capsys):
    d, x = user_alg
    out = d / "out"
    rc = main(["propose", f"{d / 'alg.py'}:gain", "--inputs", str(d / "x.npy"), "--types",
               str(d / "types.json"), "--out", str(out), "--no-progress", "--format",
               "json,md,vhdl,c,types"])
    assert rc == 0, capsys.readouterr().err
    data = json.loads((out / "report.json").read_text())
    rows = {s["name"]: s for s in data["signals"]}
    # simulated ranges and proposed types recomputed here from the raw inputs
    assert rows["x"]["sim_min"] == x.min() and rows["x"]["sim_max"] == x.max()
    y = x * 3
    assert rows["blk.y"]["sim_min"] == y.min() and rows["blk.y"]["sim_max"] == y.max()
    assert rows["x"]["proposed"]["name"] == best_type(x.min(), x.max())
    assert rows["blk.y"]["proposed"]["name"] == best_type(y.min(), y.max())
    # the current type sfix16_En15 cannot hold 3x: recorded overflows are counted
    want = int(np.sum((y > 1 - 2 ** -15) | (y < -1)))
    assert want > 0 and rows["blk.y"]["overflows_recorded"] == want
    kinds = {(w["kind"], w["signal"]) for w in data["warnings"]}
    assert ("current_saturates", "blk.y") in kinds
    # the proposed type holds the range: not an overflow risk of the proposal
    assert rows["blk.y"]["overflows"] == 0 and data["summary"]["overflow_risks"] == 0
    assert sorted(os.listdir(out)) == ["fixsim_types.h", "fixsim_types.vhd", "report.json",
                                       "report.md", "types.json"]
    text = capsys.readouterr().out
    assert "blk.y" in text and "Worst SQNR" in text


def test_propose_module_target_with_default_table_and_locks(user_alg, monkeypatch):
    d, _ = user_alg
    monkeypatch.chdir(d)
    (d / "locks.json").write_text(fx.TypeTable({"x": "sfix16_En14"}).to_json())
    r = run_cli("propose", "alg:gain", "--inputs", "x.npy", "--locks", "locks.json",
                "--format", "json", "--margin", "50", "--no-progress", cwd=d)
    assert r.returncode == 0, r.stderr
    rows = {s["name"]: s for s in json.loads((d / "fixsim-report" / "report.json").read_text())
            ["signals"]}
    assert rows["x"]["locked"] and rows["x"]["proposed"]["name"] == "sfix16_En14"
    assert rows["blk.y"]["range_max"] == float(Fraction(rows["blk.y"]["sim_max"]) * Fraction(3, 2))


MODEL = textwrap.dedent("""\
    from fixsim.signal import Gain, Model

    model = Model("m")
    model.input("x")
    model.add(Gain(2.5, name="g"), "x")
    model.output("y", "g")
    """)


def test_propose_and_verify_a_block_model(user_alg, capsys):
    d, x = user_alg
    (d / "mdl.py").write_text(MODEL)
    out = d / "m"
    assert main(["propose", f"{d / 'mdl.py'}:model", "--inputs", str(d / "x.npy"), "--out",
                 str(out), "--format", "json,types", "-q"]) == 0, capsys.readouterr().err
    rows = {s["name"]: s for s in json.loads((out / "report.json").read_text())["signals"]}
    assert rows["x"]["current"]["name"] == "sfix16_En15"  # the model's full-precision table
    assert (rows["g.out"]["sim_min"], rows["g.out"]["sim_max"]) == (2.5 * x.min(), 2.5 * x.max())
    assert rows["g.out"]["proposed"]["name"] == best_type(2.5 * x.min(), 2.5 * x.max())
    assert main(["verify", f"{d / 'mdl.py'}:model", "--inputs", str(d / "x.npy"), "--types",
                 str(out / "types.json"), "-q"]) == 0


def test_npz_inputs_are_frames_in_file_order(user_alg):
    d, x = user_alg
    np.savez(d / "frames.npz", a=x[0], b=x[1][:50])
    assert main(["propose", f"{d / 'alg.py'}:gain", "--inputs", str(d / "frames.npz"),
                 "--out", str(d / "z"), "--format", "json", "-q", "--no-verify"]) == 0
    rows = {s["name"]: s for s in json.loads((d / "z" / "report.json").read_text())["signals"]}
    assert rows["x"]["count"] == 250
    both = np.concatenate([x[0], x[1][:50]])
    assert (rows["x"]["sim_min"], rows["x"]["sim_max"]) == (both.min(), both.max())


def test_usage_errors_exit_2(user_alg, capsys):
    d, _ = user_alg
    assert main(["propose", f"{d / 'alg.py'}:gain"]) == 2  # no --inputs
    assert main(["demo", "--example", "radar"]) == 2
    assert main(["propose", f"{d / 'alg.py'}:gain", "--inputs", str(d / "x.npy"), "--format",
                 "pdf"]) == 2
    assert "'pdf' is not a format" in capsys.readouterr().err
    assert main(["propose", f"{d / 'alg.py'}:gain", "--inputs", str(d / "x.npy"), "--source",
                 "derived"]) == 2
    assert "--input-range" in capsys.readouterr().err
    assert main(["propose", "nocolon", "--inputs", str(d / "x.npy")]) == 2
    (d / "notable.py").write_text("def f(x, T):\n    return T.x(x)\n")
    assert main(["propose", f"{d / 'notable.py'}:f", "--inputs", str(d / "x.npy")]) == 2
    assert "no type table" in capsys.readouterr().err
    (d / "onetable.py").write_text("import fixsim as fx\nMY = fx.TypeTable({'x': 'sfix8_En7'})\n"
                                   "def f(x, T):\n    return T.x(x)\n")
    assert main(["propose", f"{d / 'onetable.py'}:f", "--inputs", str(d / "x.npy"), "-q",
                 "--format", "json", "--out", str(d / "one")]) == 0
    data = json.loads((d / "one" / "report.json").read_text())
    assert data["signals"][0]["current"]["name"] == "sfix8_En7"


def test_failures_exit_1_with_a_clear_message(user_alg, capsys):
    d, _ = user_alg
    assert main(["propose", "no_such_module_xyz:f", "--inputs", str(d / "x.npy")]) == 1
    assert "cannot import module 'no_such_module_xyz'" in capsys.readouterr().err
    assert main(["propose", f"{d / 'alg.py'}:nope", "--inputs", str(d / "x.npy")]) == 1
    assert "has no attribute 'nope'" in capsys.readouterr().err
    (d / "x.txt").write_text("1 2 3")
    assert main(["propose", f"{d / 'alg.py'}:gain", "--inputs", str(d / "x.txt")]) == 1
    assert "must be a .npy or .npz" in capsys.readouterr().err
    assert main(["propose", f"{d / 'alg.py'}:gain", "--inputs", str(d / "missing.npy")]) == 1
    assert "does not exist" in capsys.readouterr().err
    # an error inside the user's algorithm names its type
    (d / "bad.py").write_text("def f(x, T):\n    return T.nosuch(x)\n")
    assert main(["propose", f"{d / 'bad.py'}:f", "--inputs", str(d / "x.npy"), "--types",
                 str(d / "types.json"), "--out", str(d / "o")]) == 1
    err = capsys.readouterr().err
    assert "UnknownSignalError" in err and "nosuch" in err and "--traceback" in err


FLAKY = textwrap.dedent("""\
    import numpy as np
    import fixsim as fx

    T = fx.TypeTable({"x": "sfix16_En15", "z": "sfix16_En15", "s": "sfix16_En15"})

    def f(x, T):
        y = T.x(x)
        if isinstance(y, fx.fi):   # probes z only in fixed point: verify cannot pair it
            T.z(y)
        return T.s(np.sin(y) if isinstance(y, np.ndarray) else np.sin(np.asarray(y)))
    """)


def test_failed_derive_and_verify_are_reported_and_exit_1(user_alg, capsys):
    d, _ = user_alg
    (d / "flaky.py").write_text(FLAKY)
    out = d / "f"
    rc = main(["propose", f"{d / 'flaky.py'}:f", "--inputs", str(d / "x.npy"),
               "--input-range", "-1", "1", "--out", str(out), "--format", "json"])
    cap = capsys.readouterr()
    assert rc == 1
    assert "error: derive failed" in cap.err and "error: verify failed" in cap.err
    data = json.loads((out / "report.json").read_text())  # the report is written all the same
    kinds = [w["kind"] for w in data["warnings"]]
    assert kinds[:2] == ["derive_failed", "verify_failed"]
    assert not data["has_derived"] and not data["has_verification"]
    assert data["settings"]["source"] == "simulation"


def test_report_rerenders_without_resimulating(user_alg, capsys):
    d, _ = user_alg
    out = d / "out"
    assert main(["propose", f"{d / 'alg.py'}:gain", "--inputs", str(d / "x.npy"), "--types",
                 str(d / "types.json"), "--out", str(out), "-q", "--format", "json"]) == 0
    before = json.loads((out / "report.json").read_text())
    out2 = d / "again"
    assert main(["report", str(out / "report.json"), "--out", str(out2), "--format",
                 "html,json,csv,sv"]) == 0
    assert json.loads((out2 / "report.json").read_text()) == before
    assert (out2 / "report.html").read_text().count('class="plot hist"') == 2
    assert "typedef logic signed [15:0] blk_y_t;" in (out2 / "fixsim_types.sv").read_text()
    assert "Report:" in capsys.readouterr().out


def test_report_from_saved_proposal_recording_and_derived_ranges(user_alg):
    d, _ = user_alg
    out = d / "out"
    assert main(["propose", f"{d / 'alg.py'}:gain", "--inputs", str(d / "x.npy"), "--types",
                 str(d / "types.json"), "--input-range", "-0.5", "0.5", "--out", str(out),
                 "-q", "--format", "json,data"]) == 0
    assert sorted(os.listdir(out)) == ["derived.json", "proposal.json", "recording.json",
                                       "report.json"]
    first = json.loads((out / "report.json").read_text())
    again = d / "again"
    assert main(["report", str(out / "proposal.json"), "--recording", str(out / "recording.json"),
                 "--derived", str(out / "derived.json"), "--out", str(again), "--format",
                 "json", "-q"]) == 0
    second = json.loads((again / "report.json").read_text())
    keep = ("name", "sim_min", "sim_max", "derived_min", "derived_max", "proposed", "current",
            "hist_bins", "hist_counts", "range_min", "range_max", "percent_range_used")
    assert [{k: s[k] for k in keep} for s in second["signals"]] == \
        [{k: s[k] for k in keep} for s in first["signals"]]
    assert first["has_derived"] and second["has_derived"]
    assert first["signals"][1]["derived_max"] == 1.5  # 3 * 0.5, derived by interval analysis


def test_report_from_a_saved_recording_proposes_first(user_alg):
    d, x = user_alg
    T = fx.TypeTable.from_json((d / "types.json").read_text())
    with fx.tool.record() as rec:
        for frame in x:
            T["blk.y"](T.x(frame) * 3)
    rec.save(d / "rec.json")
    assert main(["report", str(d / "rec.json"), "--types", str(d / "types.json"), "-w", "12",
                 "--format", "json", "-q"]) == 0
    rows = {s["name"]: s for s in json.loads((d / "report.json").read_text())["signals"]}
    assert rows["x"]["proposed"]["name"] == best_type(x.min(), x.max(), 12)
    assert main(["report", str(d / "types.json")]) == 1  # a type table is not a report


def test_verify_passes_and_fails(user_alg, capsys):
    d, _ = user_alg
    good = fx.TypeTable({"x": "sfix16_En15", "blk.y": "sfix16_En14"})
    (d / "good.json").write_text(good.to_json())
    args = ["verify", f"{d / 'alg.py'}:gain", "--inputs", str(d / "x.npy"), "--types"]
    assert main([*args, str(d / "good.json"), "--json", str(d / "v.json")]) == 0
    rows = json.loads((d / "v.json").read_text())["rows"]
    assert {r["name"] for r in rows} >= {"x", "blk.y"}
    assert "verification passed" in capsys.readouterr().out
    assert main([*args, str(d / "types.json")]) == 1  # sfix16_En15 cannot hold 3x: overflows
    assert "verification failed" in capsys.readouterr().err
    assert main([*args, str(d / "types.json"), "--allow-overflow"]) == 0
    assert main([*args, str(d / "good.json"), "--min-sqnr", "200"]) == 1
    assert "SQNR below 200" in capsys.readouterr().err


def test_export_command(user_alg):
    d, _ = user_alg
    assert main(["export", str(d / "types.json"), "--format", "vhdl,c,ac", "--out",
                 str(d / "e"), "-q"]) == 0
    assert sorted(os.listdir(d / "e")) == ["fixsim_types.h", "fixsim_types.vhd",
                                           "fixsim_types_ac.h"]
    assert "sfixed(0 downto -15)" in (d / "e" / "fixsim_types.vhd").read_text()


# -- networks: fixsim demo --example mlp, fixsim propose model.onnx ------------------------------
def _digits_split():
    """The demo's data, recomputed here: digits / 16, 75/25 stratified (random_state 0)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    return train_test_split((d.data / 16.0).astype(np.float32), d.target, test_size=0.25,
                            random_state=0, stratify=d.target)


def _ort_logits(model_path, x):
    import onnxruntime as ort
    s = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    return s.run(None, {s.get_inputs()[0].name: x.astype(np.float32)})[0]


def test_demo_mlp_writes_report_model_and_accuracy(tmp_path):
    r = run_cli("demo", "--example", "mlp", "--out", str(tmp_path / "d"), "--no-progress")
    assert r.returncode == 0, r.stderr
    d = tmp_path / "d"
    for f in ("report.html", "report.json", "types.json", "fixsim_types.vhd", "accuracy.md",
              "accuracy.json", "digits_mlp.onnx"):
        assert (d / f).is_file(), f
    acc = json.loads((d / "accuracy.json").read_text())
    assert acc["samples"] == 450
    # double accuracy: onnxruntime's float run of the written model on the test split
    _, Xte, _, yte = _digits_split()
    assert acc["accuracy"]["double"] == np.mean(_ort_logits(d / "digits_mlp.onnx",
                                                            Xte).argmax(1) == yte)
    modes = set(acc["accuracy"])
    assert modes == {"double", "fixed 16-bit", "fixed 8-bit", "int8 (onnxruntime)",
                     "int8 (tflite)", "int8 (pytorch-fbgemm)"}
    # the proposed 16-bit types keep accuracy within one point of double
    assert acc["accuracy"]["double"] - acc["accuracy"]["fixed 16-bit"] <= 0.01
    # the written 16-bit table is the one whose accuracy is reported
    net = fx.nn.load_onnx(str(d / "digits_mlp.onnx"))
    T16 = fx.TypeTable.from_json((d / "types.json").read_text())
    assert acc["accuracy"]["fixed 16-bit"] == np.mean(net(Xte, types=T16).data.argmax(1)
                                                      == yte)
    assert set(acc["layer_sqnr_db"]["fixed 8-bit"]) == set(net.layers)
    assert "top-1 accuracy" in r.stdout and "fixed 8-bit" in r.stdout


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory):
    from fixsim._demo import digits_mlp
    d = tmp_path_factory.mktemp("net")
    model, calib, Xte, yte = digits_mlp()
    (d / "model.onnx").write_bytes(model.SerializeToString())
    np.savez(d / "calib.npz", x=calib)
    np.savez(d / "test.npz", x=Xte, y=yte)
    return d, Xte, yte


def test_propose_onnx_model_with_calib_and_test(onnx_model):
    d, Xte, yte = onnx_model
    out = d / "out"
    assert main(["propose", str(d / "model.onnx"), "--calib", str(d / "calib.npz"), "--test",
                 str(d / "test.npz"), "-w", "12", "--runtimes", "tflite,onnxruntime",
                 "--observer", "histogram", "--out", str(out), "-q",
                 "--format", "json,types"]) == 0
    acc = json.loads((out / "accuracy.json").read_text())
    assert acc["samples"] == len(yte)
    assert acc["accuracy"]["double"] == np.mean(_ort_logits(d / "model.onnx",
                                                            Xte).argmax(1) == yte)
    assert {"int8 (tflite)", "int8 (onnxruntime)", "fixed 12-bit"} <= set(acc["accuracy"])
    T = fx.TypeTable.from_json((out / "types.json").read_text())
    assert {t.word_length for _, t in T.items()} == {12}
    report = json.loads((out / "report.json").read_text())
    assert {s["name"] for s in report["signals"]} >= {"fc0.acc", "relu0.out", "fc2.out"}


def test_propose_onnx_without_labels_reports_sqnr_only(onnx_model):
    d, _, _ = onnx_model
    out = d / "out2"
    assert main(["propose", str(d / "model.onnx"), "--calib", str(d / "calib.npz"),
                 "--out", str(out), "-q", "--format", "json"]) == 0
    acc = json.loads((out / "accuracy.json").read_text())
    assert acc["accuracy"] == {} and "fixed 16-bit" in acc["layer_sqnr_db"]


def test_propose_onnx_errors(onnx_model, tmp_path):
    d, _, _ = onnx_model
    m = str(d / "model.onnx")
    assert main(["propose", m, "-q"]) == 2                               # no --calib
    assert main(["propose", m, "--calib", str(d / "calib.npz"), "--runtimes", "gemmlowp",
                 "-q"]) == 2
    assert main(["propose", m, "--calib", str(d / "calib.npz"), "--types", "t.json",
                 "-q"]) == 2
    assert main(["propose", m, "--calib", str(tmp_path / "missing.npz"), "-q"]) == 1
    np.savez(tmp_path / "nolabels.npz", x=np.zeros((3, 64)))
    assert main(["propose", m, "--calib", str(d / "calib.npz"), "--test",
                 str(tmp_path / "nolabels.npz"), "-q"]) == 1
    np.save(tmp_path / "flat.npy", np.zeros(64))
    assert main(["propose", m, "--calib", str(tmp_path / "flat.npy"), "-q"]) == 1
    assert main(["propose", str(tmp_path / "none.onnx"), "--calib", str(d / "calib.npz"),
                 "-q"]) == 1


def test_propose_on_a_saved_block_model(user_alg, capsys):
    """A model saved with Model.save is a TARGET by its path (the issue's 'saved block
    model'); a file that is not a saved model is a clear error, exit code 1."""
    from fixsim.signal import Gain, Model

    d, x = user_alg
    model = Model("m")
    model.input("x")
    model.add(Gain(2.5, name="g"), "x")
    model.output("y", "g")
    model.save(d / "m.fxmodel")
    assert isinstance(Model.load(d / "m.fxmodel"), Model)
    out = d / "saved"
    assert main(["propose", str(d / "m.fxmodel"), "--inputs", str(d / "x.npy"), "--out",
                 str(out), "--format", "json", "-q"]) == 0, capsys.readouterr().err
    rows = {s["name"]: s for s in json.loads((out / "report.json").read_text())["signals"]}
    assert (rows["g.out"]["sim_min"], rows["g.out"]["sim_max"]) == (2.5 * x.min(), 2.5 * x.max())
    (d / "junk.fxmodel").write_bytes(b"not a model")
    assert main(["propose", str(d / "junk.fxmodel"), "--inputs", str(d / "x.npy"), "-q"]) == 1
    assert "not a saved fixsim model" in capsys.readouterr().err
