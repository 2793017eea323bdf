"""The benchmarks race like against like: each peer's training step must compute what
tinygrad_nn's computes, step after step, not only at step 0 (which the benchmarks check before
timing). These tests run a few steps of each engine and time nothing. A peer that is not
installed is skipped; CI installs them all."""

from __future__ import annotations

import argparse
import os
import shutil

import numpy as np
import pytest

from benchmarks import accuracy, before_after, higher_order, joins, per_op, scalar, tensor

# float32 engines differ in summation order; autograd also mixes float64 into its float32 backward
RTOL = {"float32": 1e-4, "float64": 1e-10}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 32])
@pytest.mark.parametrize("peer", ["tinygrad_nn-replay", "numpy", "torch", "autograd"])
def test_tensor_training_steps_match_each_peer(peer: str, n: int, dtype: str):
    if peer in ("torch", "autograd"):
        pytest.importorskip(peer)
    mine, my_first = tensor.ENGINES["tinygrad_nn"](dtype, n)
    theirs, their_first = tensor.ENGINES[peer](dtype, n)
    # each step returns the loss before its update: four steps cover three SGD updates
    ours = [my_first] + [mine() for _ in range(4)]
    expected = [their_first] + [theirs() for _ in range(4)]
    np.testing.assert_allclose(ours, expected, rtol=RTOL[dtype])
    assert ours[-1] < ours[0]  # and training does something


def test_scalar_training_steps_match_micrograd():
    pytest.importorskip("micrograd")
    ours = scalar.train_steps("tinygrad_nn", 3)["losses"]
    theirs = scalar.train_steps("micrograd", 3)["losses"]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    assert ours[-1] < ours[0]


def test_scalar_training_steps_replayed_from_a_tape_match_rebuilt_ones():
    ours = scalar.train_steps("tinygrad_nn", 3)["losses"]
    replayed = scalar.train_steps(scalar.REPLAY, 3)["losses"]
    assert replayed == ours  # the same ops in the same order: bit for bit


def test_chain_benchmark_gradient_is_the_product_of_the_factors():
    result = scalar.chain("tinygrad_nn", 2_000)
    # y = (...((x c + d) c + d)...) with 1,000 multiplications by c: dy/dx = c**1000
    assert result["error"] is None
    assert result["grad"] == pytest.approx(1.0000001 ** 1000, rel=1e-12)


def test_accuracy_race_starts_from_the_same_loss_in_both_engines():
    pytest.importorskip("torch")
    data = accuracy.digits()
    first = accuracy.orders(len(data[0]))()[:accuracy.BATCH]
    losses = [accuracy.ENGINES[engine](data, first)[2] for engine in ("tinygrad_nn", "torch")]
    assert losses[0] == pytest.approx(losses[1], rel=1e-6)


@pytest.mark.parametrize("dtype", higher_order.DTYPES)
@pytest.mark.parametrize("peer", ["torch", "autograd"])
def test_higher_order_gradient_and_hvp_match_each_peer(peer: str, dtype: str):
    pytest.importorskip(peer)
    ours = higher_order.results_of(higher_order.ENGINES["tinygrad_nn"](dtype), dtype)
    theirs = higher_order.results_of(higher_order.ENGINES[peer](dtype), dtype)
    for name in ("gradient", "hvp"):
        assert higher_order.disagreement(ours[name], theirs[name]) <= higher_order.RTOL[dtype]


def test_before_after_worker_imports_the_tree_it_is_given(tmp_path):
    """The before/after comparison must time the tree it names, not whatever is installed."""
    tree = tmp_path / "tree"
    shutil.copytree(os.path.join(before_after.HARNESS, "tinygrad_nn"), tree / "tinygrad_nn")
    args = argparse.Namespace(steps={"overhead": 0}, number=10, repeats=1, clock="cpu")
    box = before_after.sandbox(str(tree))
    try:
        result = before_after.run_worker(box, str(tree), "overhead", "tinygrad_nn", args)
    finally:
        shutil.rmtree(box)
    assert result["tinygrad_nn"].startswith(os.path.realpath(tree) + os.sep)
    assert all(len(s) == 1 for s in result["samples"].values())


@pytest.mark.parametrize("name", ["gelu", "einsum bij,bjk->bik", "var(axis=-1)"])
def test_per_op_benchmark_times_each_op_beside_torch(name: str):
    """measure() checks that both libraries compute the same forward before timing them."""
    torch = pytest.importorskip("torch")
    result = per_op.measure(name, torch, repeats=1, target=0.001)
    assert result["tinygrad_nn"]["median"] > 0 and result["torch"]["median"] > 0


def test_per_op_benchmark_runs_without_torch():
    result = per_op.measure("sin", None, repeats=1, target=0.001)
    assert "torch" not in result and result["tinygrad_nn"]["median"] > 0


@pytest.mark.parametrize("kind", ["stack", "concatenate"])
def test_the_joins_benchmark_computes_torchs_gradients_and_the_loops(kind):
    pytest.importorskip("torch")
    mine = joins.ours(kind, 300)()
    np.testing.assert_array_equal(mine, joins.theirs(kind, 300)())
    np.testing.assert_array_equal(mine, joins.ours("loop", 300)())
