"""Configuration validation: shipped presets are valid, bad ones fail naming the key."""

from __future__ import annotations

import copy
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from conftest import REPO
from disentangle.config import ConfigError, deep_merge, load_and_check
from disentangle.models import ARCHITECTURES

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
BASE = yaml.safe_load((REPO / "config/config.yaml").read_text())


def check(config):
    return load_and_check(config, SCHEMA, REPO / "workflow/notebooks").experiments


@pytest.mark.parametrize("overlay", [None, "smoke.yaml", "paper.yaml"])
def test_shipped_presets_are_valid(overlay):
    config = (
        BASE
        if overlay is None
        else deep_merge(BASE, yaml.safe_load((REPO / "config" / overlay).read_text()))
    )
    experiments = check(config)
    assert "rnn_main" in experiments
    assert experiments["rnn_main"]["task"]["noise_sd"] == 0.2


def test_overlay_changes_only_what_it_names():
    smoke = deep_merge(BASE, yaml.safe_load((REPO / "config/smoke.yaml").read_text()))
    exp = check(smoke)["rnn_main"]
    assert exp["training"]["n_batches"] == 300
    assert exp["training"]["lr"] == BASE["defaults"]["training"]["lr"]  # kept from the base


def bad(path: str, value):
    """A copy of the base config with the dotted ``path`` set to ``value``."""
    config = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node = config
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return config


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("defaults.architecture", "transformer9000", "defaults.architecture"),
        ("defaults.n_tasks", [0], "defaults.n_tasks[0]"),
        ("defaults.task.noise_sd", -0.1, "defaults.task.noise_sd"),
        ("defaults.training.n_batchs", 10, "defaults.training.n_batchs' is not a known key"),
        ("experiments.rnn_main.seeds", [1, 1], "experiments.rnn_main.seeds"),
        ("metrics.ood.decoder", "lasso", "metrics.ood.decoder"),
        ("device", "tpu", "device"),
        ("panels.fig3a.tables", {"ood_r2": ["nope"]}, "panels.fig3a.tables.ood_r2' names 'nope'"),
        ("panels.fig3a.tables", {"ood_rr": ["rnn_main"]}, "panels.fig3a.tables"),
        ("experiments.rnn_main.task", {"dim": 3}, "'even' needs task.dim = 2"),
        ("experiments.rnn_main.sweep", {"task.noise_sd": [0.1, -0.2]}, "rnn_main-noise_sd-0.2"),
        ("experiments.rnn_main.sweep", {"task.noise_sdd": [0.1]}, "task.noise_sdd' is not a known"),
        ("panels.fig3a.notebook", "missing_notebook", "missing_notebook.py does not exist"),
    ],
)
def test_bad_config_names_the_key(path, value, message):
    with pytest.raises(ConfigError) as err:
        check(bad(path, value))
    assert message in str(err.value)


def test_missing_key_after_merge_is_reported():
    config = copy.deepcopy(BASE)
    del config["defaults"]["task"]["stimulus_steps"]
    with pytest.raises(ConfigError, match=r"experiments.rnn_main.task.stimulus_steps' is missing"):
        check(config)


def test_schema_lists_every_registered_architecture():
    schema = yaml.safe_load(SCHEMA.read_text())
    assert set(schema["$defs"]["experiment"]["properties"]["architecture"]["enum"]) == set(
        ARCHITECTURES
    )


def test_snakemake_rejects_bad_config_before_any_job(tmp_path):
    """The Snakefile validates at parse time: a typo stops a real (non-dry) run with a message
    naming the key, and nothing is built."""
    overlay = tmp_path / "bad.yaml"
    overlay.write_text("preset: badcheck\ndefaults:\n  training:\n    n_batchs: 10\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--cores",
            "1",
            "--configfile",
            str(overlay),
            "--directory",
            str(REPO),
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert proc.returncode != 0
    assert "defaults.training.n_batchs' is not a known key" in proc.stdout + proc.stderr
    assert not (REPO / "results" / "badcheck").exists()


def test_sweep_expands_into_one_experiment_per_value():
    config = bad("experiments.noisy", {"sweep": {"task.noise_sd": [0.1, 0.4]}, "n_tasks": [3]})
    config["panels"]["fig3a"]["tables"] = {"ood_r2": ["noisy"]}
    resolved = load_and_check(config, SCHEMA, REPO / "workflow/notebooks")
    assert resolved.groups["noisy"] == ["noisy-noise_sd0.1", "noisy-noise_sd0.4"]
    assert resolved.experiments["noisy-noise_sd0.4"]["task"]["noise_sd"] == 0.4
    assert resolved.experiments["noisy-noise_sd0.4"]["n_tasks"] == [3]
    assert "sweep" not in resolved.experiments["noisy-noise_sd0.1"]
    assert resolved.panels["fig3a"]["ood_r2"] == ["noisy-noise_sd0.1", "noisy-noise_sd0.4"]
    assert resolved.group_of("noisy-noise_sd0.1") == "noisy"


def test_smoke_preset_stays_small():
    """Every experiment of the smoke preset trains briefly and sweeps at most two values, so CI
    stays fast; a new experiment with its own budget must be shrunk in config/smoke.yaml too."""
    smoke = deep_merge(BASE, yaml.safe_load((REPO / "config/smoke.yaml").read_text()))
    resolved = load_and_check(smoke, SCHEMA, REPO / "workflow/notebooks")
    for name, exp in resolved.experiments.items():
        assert exp["training"]["n_batches"] <= 500, name
        assert len(exp["n_tasks"]) * len(exp["seeds"]) <= 4, name
    for group, names in resolved.groups.items():
        assert len(names) <= 2, group
    for name, model in resolved.generative.items():
        assert model["steps"] <= 200, name
    assert smoke["comparison"]["n_points"] <= 1000


def test_generative_models_expand_and_bad_hyperparameters_are_named():
    resolved = load_and_check(BASE, SCHEMA, REPO / "workflow/notebooks")
    assert resolved.generative_groups["beta_vae"] == [
        "beta_vae-beta1-s0",
        "beta_vae-beta1-s1",
        "beta_vae-beta4-s0",
        "beta_vae-beta4-s1",
    ]
    model = resolved.generative["beta_vae-beta4-s1"]
    assert model["spec"] == {"method": "beta_vae", "seed": 1, "beta": 4, "lr": 0.001}
    config = copy.deepcopy(BASE)
    config["generative"]["models"]["beta_vae"]["sweep"] = {"betta": [1, 2]}
    with pytest.raises(ConfigError, match="beta_vae has no hyperparameter 'betta'"):
        check(config)


def test_figure_index_is_generated_from_the_config():
    """figures/README.md is what `python -m disentangle index` writes from the config: one row per
    panel in config order with its caption, notebook, tables and claims (a hand-kept index had
    drifted: six panels missing, five captions or table lists stale)."""
    from disentangle.jobs.index import index_text

    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    text = index_text(config)
    assert (REPO / "figures/README.md").read_text() == text, "run `python -m disentangle index`"
    rows = [line.split("`")[1] for line in text.splitlines() if line.startswith("| `")]
    assert rows == list(config["panels"])


def test_published_results_are_generated_from_the_ledger():
    """docs/results.md and the README's results block are what `publish-results` generates from
    the published ledger (docs/results/<preset>/claims.csv): no verdict is typed by hand."""
    from disentangle.cli import main

    ledgers = sorted((REPO / "docs/results").glob("*/claims.csv"))
    assert len(ledgers) == 1, ledgers
    main(["publish-results", "--check", "--root", str(REPO)])  # SystemExit when stale
    ledger = pd.read_csv(ledgers[0])
    assert set(ledger.verdict) <= {"holds", "fails", "inconclusive"}
    readme = (REPO / "README.md").read_text()
    block = readme[readme.index("<!-- results:begin") : readme.index("<!-- results:end")]
    assert f"{len(ledger)} claims" in block
    lines = block.splitlines()
    for _, row in ledger[ledger.verdict == "fails"].iterrows():  # every failing claim is named
        if row.section == "beyond":  # on its panel's line, with the panel's other claims
            line = next(x for x in lines if x.startswith(f"- `{row.panel}` ("))
            assert row.claim in line, (row.claim, line)
        else:
            assert f"`{row.panel}` {row.claim}" in block


def test_dsprites_npz_path_is_resolved_against_the_repository_root(tmp_path):
    """`dsprites: {source: npz, path: ...}` names the user's own copy of the original archive; a
    relative path is resolved against the repository root and checked before any job runs."""
    import numpy as np

    (tmp_path / "data").mkdir()
    arrays = {"imgs": np.zeros((1, 2, 2), np.uint8), "latents_classes": np.zeros((1, 6), int)}
    np.savez(tmp_path / "data/dsprites.npz", latents_values=np.zeros((1, 6)), **arrays)
    config = bad("dsprites", {"source": "npz", "path": "data/dsprites.npz"})
    resolved = load_and_check(config, SCHEMA, REPO / "workflow/notebooks", root=tmp_path)
    assert resolved.dsprites == {"source": "npz", "path": str(tmp_path / "data/dsprites.npz")}
    with pytest.raises(ConfigError, match=r"config key 'dsprites.path' = 'data/dsprites.npz'"):
        load_and_check(config, SCHEMA, root=tmp_path / "elsewhere")
    assert load_and_check(BASE, SCHEMA).dsprites == {"source": "procedural", "path": None}


def test_every_integer_in_the_schema_has_an_upper_bound():
    """A size typed with one zero too many (or 1e9 for 1e3) fails validation, not a job."""
    schema = yaml.safe_load(SCHEMA.read_text())
    unbounded = []

    def walk(node, where):
        if isinstance(node, dict):
            if node.get("type") == "integer" and "maximum" not in node:
                unbounded.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(schema, "#")
    assert unbounded == []


def test_yaml_files_with_a_repeated_key_are_rejected_with_the_line(tmp_path):
    from disentangle.config import check_yaml_files

    check_yaml_files([REPO / "config/config.yaml", REPO / "config/smoke.yaml"])
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("defaults:\n  seeds: [0]\nmetrics: {}\ndefaults:\n  hidden_size: 32\n")
    with pytest.raises(ConfigError) as err:
        check_yaml_files([REPO / "config/config.yaml", overlay])
    assert str(err.value) == (
        f"{overlay}:4: duplicate key 'defaults' (first at line 1; YAML keeps only the last, "
        "dropping the first block)"
    )


def test_every_caption_and_claim_is_valid_restructured_text():
    """The report renders each panel's caption and claim as reStructuredText: a stray |…| (a
    substitution reference) or *…* is an error there. Checked here, without the smoke run that
    the report test needs."""
    import docutils.core
    import docutils.nodes

    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    settings = {"report_level": 5, "halt_level": 5, "warning_stream": False}
    for panel, entry in config["panels"].items():
        for key in ("caption", "claim"):
            tree = docutils.core.publish_doctree(entry.get(key, ""), settings_overrides=settings)
            messages = [*tree.findall(docutils.nodes.system_message), *tree.transform_messages]
            errors = [m.astext() for m in messages if m["level"] >= 3]
            assert not errors, (panel, key, errors)
