"""The joining and splitting ops (tinygrad_nn/ops/joins.py): reference rows, PyTorch spellings and hand-worked cases."""

from __future__ import annotations

from typing import Any

from opcase import OpCase

# rows of test_ops_values.REFERENCES: each op's numpy reference, inputs inside its domain
REFERENCES: list[OpCase] = []


def torch_spellings(torch: Any, F: Any) -> dict:
    """Each op of this group (by its name in tinygrad_nn.testing.OPS) spelled in torch."""
    return {}
