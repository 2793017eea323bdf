"""Every script in examples/ runs to completion (with TINYGRAD_NN_FAST=1: small settings)."""

import os
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    env = {**os.environ, "TINYGRAD_NN_FAST": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip(), "an example should show the user something"


def test_cli_demo_prints_the_gradients():
    proc = subprocess.run([sys.executable, "-m", "tinygrad_nn", "demo"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "dL/da = +6.0000" in proc.stdout  # f*b = -2 * -3
