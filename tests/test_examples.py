"""Every script in examples/ runs to completion (with TINYGRAD_NN_FAST=1: small settings)."""

import os
import pathlib
import subprocess
import sys
from xml.etree import ElementTree

import pytest

EXAMPLES = sorted((pathlib.Path(__file__).parent.parent / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    env = {**os.environ, "TINYGRAD_NN_FAST": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip(), "an example should show the user something"


def test_demo_runs_the_chapter_and_writes_the_graphs(tmp_path):
    env = {**os.environ, "TINYGRAD_NN_FAST": "1"}
    proc = subprocess.run([sys.executable, "-m", "tinygrad_nn", "demo", "--out", "graphs"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "x = [1 1]  ->  h = 0.99995  ->  1" in proc.stdout       # sigmoid(10) for AND
    assert "cost J = 2.146359815024" in proc.stdout                  # the course's debug network
    assert "(below 1e-9)" in proc.stdout
    assert "held-out test" in proc.stdout
    for name in ("neuron.svg", "mlp.svg"):
        root = ElementTree.parse(tmp_path / "graphs" / name).getroot()
        assert root.tag.endswith("svg")


def test_graph_command_writes_an_svg(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "tinygrad_nn", "graph", "expression", "-o", "e.svg"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "d = a*b" in (tmp_path / "e.svg").read_text()
