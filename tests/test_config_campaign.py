"""The malformed-config campaign (issue 24, "Wrong results pass silently"): each attempt is a small
mutation of the real quick config (config/config.yaml) or a config file with a YAML defect, and
each must stop at validation with a ``ConfigError`` that names the offending key.

``python tests/test_config_campaign.py`` prints the table "attempt → outcome" (markdown): every
attempt and the first line of its error message.
"""

from __future__ import annotations

import copy
import math
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))  # conftest, when run as a script

from conftest import REPO, copy_repo  # noqa: E402
from disentangle.config import ConfigError, check_yaml_files, load_and_check  # noqa: E402

SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
NOTEBOOKS = REPO / "workflow/notebooks"
BASE_TEXT = (REPO / "config/config.yaml").read_text()
BASE = yaml.safe_load(BASE_TEXT)
NAN, INF = math.nan, math.inf


def check(config: dict) -> None:
    """What workflow/rules/common.smk does with the merged config."""
    load_and_check(config, SCHEMA, notebook_dir=NOTEBOOKS, root=REPO)


def _walk(config: dict, dotted: str):
    """The parent node and last key of ``dotted`` (``a.b[2].c``; list indices in brackets)."""
    parts = []
    for part in dotted.split("."):
        name, *indices = re.split(r"\[(\d+)\]", part)
        parts += ([name] if name else []) + [int(i) for i in indices if i != ""]
    node = config
    for key in parts[:-1]:
        node = node[key]
    return node, parts[-1]


def setting(dotted: str, value) -> Callable:
    def mutate(config, tmp):
        node, last = _walk(config, dotted)
        node[last] = value

    return mutate


def deleting(dotted: str) -> Callable:
    def mutate(config, tmp):
        node, last = _walk(config, dotted)
        del node[last]

    return mutate


def duplicate_claim(config, tmp):
    claims = config["panels"]["fig3a"]["claims"]
    claims.append(copy.deepcopy(claims[0]))


def dsprites_file(content: bytes | None, name: str = "dsprites.npz") -> Callable:
    """dsprites.source npz with a path to a file the test writes (or to none, ``content=None``)."""

    def mutate(config, tmp):
        path = Path(tmp) / name
        if content is not None:
            path.write_bytes(content)
        config["dsprites"] = {"source": "npz", "path": str(path)}

    return mutate


def npz_without_latents() -> bytes:
    import io

    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, imgs=np.zeros((1, 2, 2), dtype=np.uint8))
    return buf.getvalue()


@dataclass(frozen=True)
class Attempt:
    description: str  # what the attempt does, as the table shows it
    key: str  # what the error message must name
    mutate: Callable | None = None  # (config, tmp dir) -> None, a mutation of the quick config
    yaml_text: str | None = None  # or: a config file's text, checked by check_yaml_files

    def run(self, tmp: Path) -> None:
        if self.yaml_text is not None:
            path = Path(tmp) / "overlay.yaml"
            path.write_text(self.yaml_text)
            check_yaml_files([REPO / "config/config.yaml", path])
        else:
            config = copy.deepcopy(BASE)
            self.mutate(config, tmp)
            check(config)


A = Attempt
ATTEMPTS = [
    # non-finite numbers, anywhere
    A("task.noise_sd: .nan", "experiments.rnn_main.task.noise_sd",
      setting("experiments.rnn_main.task", {"noise_sd": NAN})),
    A("defaults task.noise_sd: .inf", "defaults.task.noise_sd",
      setting("defaults.task.noise_sd", INF)),
    A("defaults task.noise_sd: -.inf", "defaults.task.noise_sd",
      setting("defaults.task.noise_sd", -INF)),
    A("training.lr: .nan", "defaults.training.lr", setting("defaults.training.lr", NAN)),
    A("metrics.ood.adam.lr: .nan", "metrics.ood.adam.lr", setting("metrics.ood.adam.lr", NAN)),
    A("metrics.angles.penalty: .inf", "metrics.angles.penalty",
      setting("metrics.angles.penalty", INF)),
    A("a .nan inside penalty_sweep", "metrics.angles.penalty_sweep[1]",
      setting("metrics.angles.penalty_sweep", [0.001, NAN])),
    A("task.correlation: .nan", "experiments.rnn_main.task.correlation",
      setting("experiments.rnn_main.task", {"correlation": NAN})),
    A("a .nan in a sweep", "experiments.rnn_noise.sweep.task.noise_sd[1]",
      setting("experiments.rnn_noise.sweep", {"task.noise_sd": [0.1, NAN]})),
    A("a generative lr: .nan", "generative.models.beta_vae.hyper.lr",
      setting("generative.models.beta_vae.hyper.lr", NAN)),
    A("a claim's target: .nan", "panels.fig3a.claims[1].target",
      setting("panels.fig3a.claims[1].target", NAN)),
    A("comparison.traversal.limit: .inf", "comparison.traversal.limit",
      setting("comparison.traversal.limit", INF)),
    # floats (and booleans) where integers belong
    A("hidden_size: 64.0", "defaults.hidden_size", setting("defaults.hidden_size", 64.0)),
    A("hidden_size: true", "defaults.hidden_size", setting("defaults.hidden_size", True)),
    A("hidden_size: 1e9 (YAML 1.1 reads a string)", "defaults.hidden_size",
      setting("defaults.hidden_size", "1e9")),
    A("training.n_batches: 3000.0", "experiments.rnn_main.training.n_batches",
      setting("experiments.rnn_main.training.n_batches", 3000.0)),
    A("metrics.ood.adam.n_batches: 3000.0", "metrics.ood.adam.n_batches",
      setting("metrics.ood.adam.n_batches", 3000.0)),
    A("metrics.ood.adam.batch_size: 16.0", "metrics.ood.adam.batch_size",
      setting("metrics.ood.adam.batch_size", 16.0)),
    A("n_tasks containing 3.5", "defaults.n_tasks[1]", setting("defaults.n_tasks", [2, 3.5])),
    A("n_tasks containing 24.0", "experiments.rnn_noise.n_tasks[2]",
      setting("experiments.rnn_noise.n_tasks", [3, 6, 24.0])),
    A("a seed 1.0", "experiments.rnn_main.seeds[1]",
      setting("experiments.rnn_main.seeds", [0, 1.0])),
    A("evaluation.n_train: 16384.0", "evaluation.n_train", setting("evaluation.n_train", 16384.0)),
    A("analysis.n_tasks: 24.0", "analysis.n_tasks", setting("analysis.n_tasks", 24.0)),
    A("generative steps: 2000.0", "generative.models.beta_vae.steps",
      setting("generative.models.beta_vae.steps", 2000.0)),
    A("threads: 2.0", "threads", setting("threads", 2.0)),
    A("a swept hidden_size 128.0", "experiments.rnn_main.sweep.hidden_size[1]",
      setting("experiments.rnn_main.sweep", {"hidden_size": [64, 128.0]})),
    # out of range
    A("hidden_size: 1e9 (a float)", "defaults.hidden_size", setting("defaults.hidden_size", 1e9)),
    A("hidden_size: 1000000000", "defaults.hidden_size",
      setting("defaults.hidden_size", 1000000000)),
    A("hidden_size: 0", "experiments.gru.hidden_size", setting("experiments.gru.hidden_size", 0)),
    A("hidden_size: -64", "defaults.hidden_size", setting("defaults.hidden_size", -64)),
    A("training.lr: 0", "defaults.training.lr", setting("defaults.training.lr", 0)),
    A("training.lr: -0.001", "defaults.training.lr", setting("defaults.training.lr", -0.001)),
    A("training.n_batches: 10^8", "defaults.training.n_batches",
      setting("defaults.training.n_batches", 10**8)),
    A("training.batch_size: 0", "defaults.training.batch_size",
      setting("defaults.training.batch_size", 0)),
    A("training.batch_size: 100000", "defaults.training.batch_size",
      setting("defaults.training.batch_size", 100000)),
    A("n_tasks containing 0", "defaults.n_tasks[0]", setting("defaults.n_tasks", [0, 2])),
    A("n_tasks containing 2000", "defaults.n_tasks[1]", setting("defaults.n_tasks", [2, 2000])),
    A("n_tasks: []", "defaults.n_tasks", setting("defaults.n_tasks", [])),
    A("task.noise_sd: -0.1", "defaults.task.noise_sd", setting("defaults.task.noise_sd", -0.1)),
    A("task.correlation: 1.5", "experiments.rnn_main.task.correlation",
      setting("experiments.rnn_main.task", {"correlation": 1.5})),
    A("task.correlation: -1", "defaults.task.correlation",
      setting("defaults.task.correlation", -1.0)),
    A("a swept correlation 1.5", "experiments.rnn_corr.sweep.task.correlation[1]",
      setting("experiments.rnn_corr.sweep", {"task.correlation": [0.0, 1.5]})),
    A("negative β (fixed)", "generative.models.beta_tcvae.hyper.beta",
      setting("generative.models.beta_tcvae.hyper", {"lr": 0.001, "beta": -6})),
    A("negative β (swept)", "generative.models.beta_vae.sweep.beta[1]",
      setting("generative.models.beta_vae.sweep", {"beta": [1, -4]})),
    A("an Adam β2 of 1.5 (a probability)", "generative.models.infogan.hyper.betas[1]",
      setting("generative.models.infogan.hyper", {"betas": [0.5, 1.5]})),
    A("metrics.ood.ridge.penalty: -1", "metrics.ood.ridge.penalty",
      setting("metrics.ood.ridge.penalty", -1)),
    A("theory.sizes.r2_time: 10^12", "theory.sizes.r2_time",
      setting("theory.sizes.r2_time", 10**12)),
    A("evaluation.seed: 2^40", "evaluation.seed", setting("evaluation.seed", 2**40)),
    A("threads: 0", "threads", setting("threads", 0)),
    # seeds
    A("seeds: []", "experiments.rnn_main.seeds", setting("experiments.rnn_main.seeds", [])),
    A("seeds: [1, 1]", "experiments.rnn_main.seeds", setting("experiments.rnn_main.seeds", [1, 1])),
    A("seeds: [-1]", "experiments.rnn_main.seeds[0]",
      setting("experiments.rnn_main.seeds", [-1])),
    A("101 seeds", "defaults.seeds", setting("defaults.seeds", list(range(101)))),
    A("generative seeds: [0, 0]", "generative.models.task_vae.seeds",
      setting("generative.models.task_vae.seeds", [0, 0])),
    # sweeps whose values collide
    A("sweep values [0.1, 0.1]", "experiments.rnn_noise.sweep.task.noise_sd",
      setting("experiments.rnn_noise.sweep", {"task.noise_sd": [0.1, 0.1]})),
    A("sweep values printing alike", "experiments.rnn_noise.sweep.task.noise_sd",
      setting("experiments.rnn_noise.sweep", {"task.noise_sd": [0.1, 0.1000001]})),
    # unknown keys and values
    A("unknown top-level key", "experimnts", setting("experimnts", {})),
    A("unknown experiment key", "experiments.rnn_main.hidden",
      setting("experiments.rnn_main.hidden", 64)),
    A("unknown task key", "experiments.rnn_main.task.noise",
      setting("experiments.rnn_main.task", {"noise": 0.3})),
    A("experiment name with a dash", "experiments.rnn-new",
      setting("experiments.rnn-new", {"n_tasks": [2]})),
    A("architecture 'transformer'", "experiments.rnn_main.architecture",
      setting("experiments.rnn_main.architecture", "transformer")),
    A("device 'tpu'", "device", setting("device", "tpu")),
    A("metrics.ood.decoder 'lasso'", "metrics.ood.decoder",
      setting("metrics.ood.decoder", "lasso")),
    A("preset missing", "preset", deleting("preset")),
    A("preset with a slash", "preset", setting("preset", "quick/../x")),
    A("analysis missing", "analysis", deleting("analysis")),
    A("defaults.task.stimulus_steps missing", "experiments.rnn_main.task.stimulus_steps",
      deleting("defaults.task.stimulus_steps")),
    A("task.dim 3 with even boundaries", "experiments.rnn_main.task.boundaries",
      setting("experiments.rnn_main.task", {"dim": 3})),
    A("a generative hyperparameter the method lacks", "generative.models.beta_vae",
      setting("generative.models.beta_vae.hyper", {"lr": 0.001, "gamma": 10})),
    # panels and claims
    A("unknown panel table kind", "panels.fig3a.tables.ood_rr",
      setting("panels.fig3a.tables", {"ood_rr": ["rnn_main"]})),
    A("panel naming a missing experiment", "panels.fig3a.tables.ood_r2",
      setting("panels.fig3a.tables", {"ood_r2": ["rnn_missing"]})),
    A("panel naming a missing generative model", "panels.vae-traversals.tables.traversals",
      setting("panels.vae-traversals.tables", {"traversals": ["beta_vea"]})),
    A("panel section 'appendix'", "panels.fig3a.section",
      setting("panels.fig3a.section", "appendix")),
    A("panel notebook missing", "panels.fig3a.notebook",
      setting("panels.fig3a.notebook", "missing_notebook")),
    A("duplicate claim id", "panels.fig3a.claims[6].id", duplicate_claim),
    A("bad claim test", "panels.fig3a.claims[0].test",
      setting("panels.fig3a.claims[0].test", "significance")),
    A("claim reading a table the panel lacks", "panels.fig3a.claims[0]",
      setting("panels.fig3a.claims[0].table", "angles")),
    # names the workflow looks up
    A("comparison.task_experiment missing", "comparison.task_experiment",
      setting("comparison.task_experiment", "rnn_missing")),
    A("comparison.networks naming a missing experiment", "comparison.networks[1]",
      setting("comparison.networks", ["rnn_main", "rnn_missing"])),
    A("analysis.n_tasks no analysed network has", "analysis.n_tasks",
      setting("analysis.n_tasks", 5)),
    A("analysis.seed no analysed network has", "analysis.seed", setting("analysis.seed", 7)),
    # dsprites
    A("dsprites missing", "dsprites", deleting("dsprites")),
    A("dsprites source 'download'", "dsprites.source", setting("dsprites.source", "download")),
    A("dsprites npz without a path", "dsprites.path",
      setting("dsprites", {"source": "npz", "path": None})),
    A("dsprites npz with a missing file", "dsprites.path", dsprites_file(None)),
    A("dsprites npz with a file that is not an .npz", "dsprites.path",
      dsprites_file(b"not a zip")),
    A("dsprites npz without the latents arrays", "dsprites.path",
      dsprites_file(npz_without_latents())),
    A("dsprites procedural with a path", "dsprites.path",
      setting("dsprites", {"source": "procedural", "path": "dsprites.npz"})),
    # the files themselves
    A("duplicate top-level key in a file", "overlay.yaml:4: duplicate key 'defaults'",
      yaml_text="preset: dup\ndefaults:\n  hidden_size: 32\ndefaults:\n  seeds: [0]\n"),
    A("duplicate nested key in a file", "overlay.yaml:4: duplicate key 'n_batches'",
      yaml_text="defaults:\n  training:\n    n_batches: 10\n    n_batches: 20\n"),
    A("duplicate experiment in a file", "overlay.yaml:5: duplicate key 'rnn_main'",
      yaml_text="experiments:\n  rnn_main:\n    seeds: [0]\n  gpt2: {seeds: [0]}\n"
      "  rnn_main:\n    training: {n_batches: 10}\n"),
    A("YAML syntax error: unclosed bracket", "overlay.yaml:2:",
      yaml_text="defaults:\n  training: {n_batches: [1, 2}\n"),
    A("YAML syntax error: bad indentation", "overlay.yaml:3:",
      yaml_text="defaults:\n  hidden_size: 32\n seeds: [0]\n"),
    A("YAML syntax error: a tab", "overlay.yaml:2:",
      yaml_text="defaults:\n\thidden_size: 32\n"),
]  # fmt: skip


def outcome(attempt: Attempt, tmp: Path) -> str:
    """The first line of the error (the one problem, or the first of several)."""
    try:
        attempt.run(tmp)
    except ConfigError as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        first = lines[1] if lines[0] == "invalid configuration:" and len(lines) > 1 else lines[0]
        return first.removeprefix("invalid configuration: ")
    return "ACCEPTED (no error)"


def test_the_campaign_has_at_least_50_attempts():
    assert len(ATTEMPTS) >= 50
    assert len({a.description for a in ATTEMPTS}) == len(ATTEMPTS)


def test_the_quick_config_itself_passes(tmp_path):
    check(copy.deepcopy(BASE))
    check_yaml_files(
        [REPO / "config" / name for name in ("config.yaml", "smoke.yaml", "paper.yaml")]
    )


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[a.description for a in ATTEMPTS])
def test_malformed_config_is_rejected_naming_the_key(attempt, tmp_path):
    with pytest.raises(ConfigError) as err:
        attempt.run(tmp_path)
    message = str(err.value)
    assert attempt.key in message, message
    if attempt.yaml_text is None:
        assert f"'{attempt.key}" in message, message  # as a dotted path, at the start of a key
    assert "Traceback" not in message


def test_duplicate_key_in_the_real_config_is_named_with_its_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(BASE_TEXT + "\npreset: other\n")
    line = BASE_TEXT.count("\n") + 2
    with pytest.raises(ConfigError, match=rf"config.yaml:{line}: duplicate key 'preset'"):
        check_yaml_files([path])


SNAKEMAKE_CASES = {
    "noise_sd_nan": (
        "experiments:\n  rnn_main:\n    task: {noise_sd: .nan}\n",
        "config key 'experiments.rnn_main.task.noise_sd' = nan: expected a finite number",
    ),
    "hidden_size_float": (
        "defaults:\n  hidden_size: 64.0\n",
        "config key 'defaults.hidden_size' = 64.0: expected integer, got float",
    ),
    "dsprites_missing_file": (
        "dsprites: {source: npz, path: data/missing_dsprites.npz}\n",
        "config key 'dsprites.path' = 'data/missing_dsprites.npz'",
    ),
}


def test_snakemake_stops_with_one_line_naming_the_key(tmp_path):
    """Dry runs with a bad overlay, in a throwaway copy: Snakemake stops at parse time and the
    problem is one line of its output, with no Python traceback (the three run side by side)."""
    work = copy_repo(tmp_path / "repo")
    runs = {}
    for name, (overlay, _) in SNAKEMAKE_CASES.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"preset: {name}\n{overlay}")
        runs[name] = subprocess.Popen(
            [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--configfile", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=work,
        )
    for name, proc in runs.items():
        output, _ = proc.communicate(timeout=300)
        expected = SNAKEMAKE_CASES[name][1]
        assert proc.returncode != 0, output
        assert len([line for line in output.splitlines() if expected in line]) == 1, output
        assert "Traceback (most recent call last)" not in output, output
        assert not (work / "results" / name).exists()


def table() -> str:
    rows = ["| # | attempt | outcome (first line of the error) |", "|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for i, attempt in enumerate(ATTEMPTS, 1):
            text = outcome(attempt, Path(tmp)).replace("|", "\\|")
            text = text.replace(str(tmp), "<tmp>").replace(str(REPO), ".")
            rows.append(f"| {i} | {attempt.description} | `{text}` |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
