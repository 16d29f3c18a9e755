"""The network examples run to completion in under 30 s and report every mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name", ["digits_mlp.py", "digits_cnn.py"])
def test_example_runs_fast_and_reports(name, tmp_path):
    r = subprocess.run([sys.executable, str(EXAMPLES / name)], cwd=tmp_path, timeout=30,
                       capture_output=True, text=True, env=dict(os.environ, MPLBACKEND="Agg"))
    assert r.returncode == 0, r.stderr[-3000:]
    for mode in ("double", "fixed 16-bit", "fixed 8-bit", "int8 (onnxruntime)",
                 "int8 (tflite)", "int8 (pytorch-fbgemm)"):
        assert mode in r.stdout
    report = tmp_path / name.replace(".py", "_report.md")
    text = report.read_text()
    assert "| fixed 16-bit |" in text and "SQNR" in text and "sfix" in text
