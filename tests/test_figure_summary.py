"""The summaries the panels print, on tables with known answers."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from conftest import REPO
from disentangle.figures.summary import per_group_count, quantile_summary, single_value


def test_quantile_summary_pools_within_groups():
    df = pd.DataFrame({"n_tasks": [2] * 5 + [24] * 4, "value": [1, 2, 3, 4, 5, 10, 20, 30, 40]})
    out = quantile_summary(df, ["n_tasks"]).set_index("n_tasks")
    assert out.loc[2, "median"] == 3 and out.loc[2, "q25"] == 2 and out.loc[2, "q75"] == 4
    assert out.loc[24, "median"] == 25 and out.loc[24, "n"] == 4


def test_per_group_count_reports_a_range_when_series_differ():
    three = pd.DataFrame({"experiment": "rnn_main", "seed": [0, 1, 2, 0, 1, 2]})
    two = pd.DataFrame({"experiment": "lstm", "seed": [0, 1, 1]})
    assert per_group_count(three, "seed") == "3"
    assert per_group_count(pd.concat([three, two]), "seed") == "2-3"
    # without an experiment column: the table's own count
    assert per_group_count(pd.DataFrame({"seed": [4, 4, 7]}), "seed") == "2"
    with pytest.raises(ValueError, match="'fold'"):
        per_group_count(three, "fold")


def test_single_value_refuses_a_mixed_column():
    assert single_value(pd.DataFrame({"decoder": ["adam", "adam"]}), "decoder") == "adam"
    with pytest.raises(ValueError, match="'decoder' takes several values"):
        single_value(pd.DataFrame({"decoder": ["adam", "ridge"]}), "decoder")


SAVE_A_PANEL = """
import sys
import matplotlib.pyplot as plt
from disentangle.figures import style
style.apply()
fig, ax = plt.subplots()
ax.plot([0, 1], [0, 1])
style.save(fig, sys.argv[1] + "/p.pdf", sys.argv[1] + "/p.png", {"preset": "test"})
print("torch" in sys.modules)
"""


def test_a_panel_is_saved_without_loading_torch(tmp_path):
    """Drawing and saving a panel, provenance sidecar included, never imports torch: it cost each
    of the 30 panel jobs ~3.5 s of its ~14 s on the 2-vCPU host. The figure's sidecar still
    records the commit and every package version (torch's from the installed metadata)."""
    run = subprocess.run(
        [sys.executable, "-c", SAVE_A_PANEL, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "src")},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False", "saving a panel imported torch"
    assert (tmp_path / "p.pdf").stat().st_size > 1000 and (tmp_path / "p.png").exists()
    sidecar = json.loads((tmp_path / "p.pdf.provenance.json").read_text())
    assert sidecar["figure"] == {"preset": "test"}
    assert sidecar["packages"]["torch"] and sidecar["packages"]["matplotlib"]
    assert "determinism" not in sidecar and "device" not in sidecar


def test_no_notebook_imports_torch():
    """Every project import of the panel notebooks loads without torch (the r² panels' theory
    overlay pulled it in through the metrics package: 2-3 s of each of 9 panel jobs). One known
    exception: the two sparsity panels seed their jitter with ``disentangle.seeding``, which
    imports torch; making that import lazy would edit a file every training job depends on and
    so retrain every network of a user's existing results, for 5 s of panel time."""
    lines = sorted(
        {
            line.strip()
            for notebook in (REPO / "workflow/notebooks").glob("*.py")
            for line in notebook.read_text().splitlines()
            if line.startswith(("from disentangle", "import disentangle", "import torch"))
            and line.strip() != "from disentangle.seeding import derive_seed"
        }
    )
    assert any("import reference" in line for line in lines)
    code = "\n".join([*lines, "import sys", "print('torch' in sys.modules)"])
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO / "src")},
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False", f"one of {lines} imported torch"
