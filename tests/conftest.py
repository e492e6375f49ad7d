"""Shared fixtures: a tiny experiment and its ingredients; a fixed thread count."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import torch

from disentangle.data.ingredients import write_ingredients
from disentangle.experiment import ExperimentSpec

REPO = Path(__file__).resolve().parents[1]
# What a copy of the repository for a workflow run leaves out: environments, results, outputs.
REPO_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "venv",
    "results",
    ".snakemake",
    "__pycache__",
    "*.egg-info",
    ".pytest_cache",
    ".ruff_cache",
    "*.pdf",
    "*.png",
    "report.html",
)

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


def copy_repo(dest: Path) -> Path:
    """A clean copy of the repository at ``dest`` (no results, figures or environments)."""
    shutil.copytree(REPO, dest, ignore=REPO_IGNORE)
    return dest


def train_command(experiment: str, spec: str, ingredients: Path, out: Path, ckpt: Path) -> list:
    """The training rule's command line, one CPU thread."""
    return [sys.executable, "-u", "-m", "disentangle", "train", "--experiment", experiment,
            "--spec", spec, "--ingredients", str(ingredients), "--out", str(out),
            "--checkpoint", str(ckpt), "--device", "cpu", "--threads", "1"]  # fmt: skip


def assert_same_weights(a_path: Path, b_path: Path) -> tuple[dict, dict]:
    """Two model files hold bit-identical weights; returns both, for further checks."""
    a = torch.load(a_path, weights_only=False)
    b = torch.load(b_path, weights_only=False)
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    return a, b
