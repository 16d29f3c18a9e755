"""Every script in examples/ runs to completion as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parents[1] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


@pytest.mark.parametrize(
    "path",
    EXAMPLES or [None],
    ids=[p.name for p in EXAMPLES] or ["no-examples-found"],
)
def test_example_runs(path: Path | None, tmp_path: Path) -> None:
    if path is None:
        pytest.fail(f"no example scripts found in {EXAMPLES_DIR} (expected at least quickstart.py)")
    env = dict(os.environ, MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (
        f"{path.name} exited with {result.returncode}\n"
        f"--- stdout (tail) ---\n{_tail(result.stdout)}\n"
        f"--- stderr (tail) ---\n{_tail(result.stderr)}"
    )
