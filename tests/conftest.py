"""Shared fixtures: a tiny experiment and its ingredients; a fixed thread count."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from disentangle.data.ingredients import write_ingredients
from disentangle.experiment import ExperimentSpec

REPO = Path(__file__).resolve().parents[1]

torch.set_num_threads(1)  # bitwise comparisons below assume a fixed thread count


def tiny_experiment(name: str = "tiny", **overrides) -> ExperimentSpec:
    spec = {
        "hidden_size": 16,
        "n_tasks": [2, 6],
        "seeds": [0, 1],
        "training": {"n_batches": 120, "batch_size": 8, "checkpoint_every": 40, "log_every": 20},
    }
    spec.update(overrides)
    return ExperimentSpec.from_dict(name, spec)


@pytest.fixture
def tiny(tmp_path):
    """A 4-network experiment with its ingredients file written to a temporary folder."""
    exp = tiny_experiment()
    path = tmp_path / "ingredients.pt"
    write_ingredients(exp, str(path), n_train=512, n_test=256, eval_seed=0)
    return exp, path
