"""The command line runs as a new user would run it."""

import subprocess
import sys


def test_demo_runs_and_prints_the_bits():
    out = subprocess.run([sys.executable, "-m", "fixsim", "demo"], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "stored 25736" in out.stdout and "0110010010001000" in out.stdout


def test_no_command_prints_help_and_fails():
    out = subprocess.run([sys.executable, "-m", "fixsim"], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 2 and "demo" in out.stdout
