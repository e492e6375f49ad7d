# Configuration checks and helpers shared by every stage. The config is validated here, at parse
# time, so a bad key stops the run before any job is scheduled.
import functools
import json
import os
import re
import shlex
import sys
from pathlib import Path

from disentangle.config import (
    TABLES,
    ConfigError,
    check_yaml_files,
    load_and_check,
    training_spec_json,
)
from disentangle.import_graph import narrowing_cut, package_files

try:
    # duplicate keys (Snakemake's YAML loader keeps the last silently) in every config file read:
    # config/config.yaml, each --configfile and the ones a --profile names
    check_yaml_files(workflow.configfiles)
    RESOLVED = load_and_check(
        config,
        Path(workflow.current_basedir) / "../schemas/config.schema.yaml",
        notebook_dir=Path(workflow.current_basedir) / "../notebooks",
    )
except ConfigError as err:
    raise WorkflowError(str(err)) from None

PRESET = config["preset"]
EXPERIMENTS = RESOLVED.experiments
SRC = Path(workflow.basedir) / "src" / "disentangle"
# Jobs call `python -m disentangle ...`: put the interpreter running Snakemake (the environment
# that has the package) first on PATH, so that `.venv/bin/snakemake` works without activation, and
# this repository's src/ on PYTHONPATH, so that jobs import this checkout's package in any
# environment (a --sdm conda environment, which holds only the dependencies, or a venv).
os.environ.update(PATH=os.pathsep.join([str(Path(sys.executable).parent), os.getenv("PATH", "")]))
os.environ.update(
    PYTHONPATH=os.pathsep.join(p for p in (str(SRC.parent), os.getenv("PYTHONPATH")) if p)
)
# The jobs' conda environment (used with --sdm conda; ignored otherwise). Relative to the rule
# files, which is how Snakemake resolves a rule's `conda:` path.
JOB_ENV = "../envs/disentangle.yaml"


wildcard_constraints:
    preset=re.escape(PRESET),
    experiment="|".join(map(re.escape, EXPERIMENTS)),
    panel="|".join(map(re.escape, config["panels"])),
    check="[a-z0-9_]+",
    gmodel="|".join(map(re.escape, RESOLVED.generative)) or "no-generative-models",


# Scheduling: the multi-task networks' chain and the theory checks (priority PAPER_FIRST) run
# before the generative models (priority 0) whenever both are ready, so that a full run draws the
# paper's panels first instead of spending its first hour on dSprites and InfoGAN.
PAPER_FIRST = 10

# GPUs a job that runs a model holds, for the jobs that pass --device; 1 unless the configured
# device is the CPU. A local run bounds them with `--resources gpu=1` (docs/cluster.md); without
# it, `--cores all` would start every such job on cuda:0 at once. profiles/slurm sets the resource
# for each of them: the trainers get a GPU node, the analyses none (CPU nodes, where
# `device=auto` picks the CPU).
DEVICE_GPUS = 0 if config["device"] == "cpu" else 1


def notebook_path(name):
    """A panel notebook, from the workflow's own folder (whatever the working directory)."""
    return str(Path(workflow.basedir) / "workflow" / "notebooks" / f"{name}.py")


# Which code each rule depends on, so that editing a file a job uses reruns that job and nothing
# else. One policy, derived from the imports (disentangle.import_graph): a rule depends on the
# package files that its job's function (RULE_JOBS) imports, transitively, lazy imports inside the
# function included; a panel on what its notebook imports. The command-line dispatch (cli.py,
# jobs/__init__.py) is no dependency. io.py and integrity.py (checksummed reads and writes) are
# always among them. Deliberately narrower (disentangle.import_graph.narrowing_cut): a job of an
# experiment depends on its own architecture's model file, not on the other architectures'; a
# theory check on the kind of check it is (the closed-form theory package or the trained-model
# studies), not on the other kind. tests/test_rule_sources.py checks the table and the policy.
RULE_JOBS = {
    "ingredients": "jobs/train.py:run_ingredients",
    "train": "jobs/train.py:run_train",
    "ood_generalisation": "jobs/ood.py:run_ood",
    "decoder_angles": "jobs/ood.py:run_angles",
    "sparsity": "jobs/ood.py:run_sparsity",
    "trained_outputs": "jobs/trained_outputs.py:run",
    "dynamics": "jobs/analysis.py:run_dynamics",
    "tuning": "jobs/analysis.py:run_tuning",
    "examples": "jobs/analysis.py:run_examples",
    "theory_check": "jobs/theory.py:run",
    "train_generative": "jobs/generative.py:run_train",
    "score_generative": "jobs/generative.py:run_score",
    "traversals": "jobs/generative.py:run_traversals",
    "generative_health": "jobs/generative.py:run_health",
    "generative_history": "jobs/generative.py:run_history",
    "floors": "jobs/comparison.py:run_floors",
    "score_networks": "jobs/comparison.py:run_score_networks",
    "panel_claims": "jobs/claims.py:run_panel",
    "claims_ledger": "jobs/claims.py:run_ledger",
    "contact_sheet": "jobs/contact_sheet.py:run",
    "panel": "the panel's notebook",
}
ALWAYS_SOURCES = ("io.py", "integrity.py")


def code_cuts(wildcards):
    """The import edges a job of these wildcards does not depend on (see RULE_JOBS)."""
    experiment = getattr(wildcards, "experiment", None)
    architecture = EXPERIMENTS[experiment]["architecture"] if experiment else None
    return narrowing_cut(architecture, getattr(wildcards, "check", None))


@functools.cache
def _code_files(entry, cut):
    files = {*package_files([entry], cut, root=SRC), *ALWAYS_SOURCES}
    return [str(SRC / f) for f in sorted(files)]


def code_sources(name):
    """The package files that the rule called ``name`` depends on (RULE_JOBS), as an input
    function."""
    if name not in RULE_JOBS:
        raise WorkflowError(f"code_sources({name!r}): not in RULE_JOBS (workflow/rules/common.smk)")

    def files(wildcards):
        if name == "panel":
            entry = notebook_path(config["panels"][wildcards.panel]["notebook"])
        else:
            entry = RULE_JOBS[name]
        return _code_files(entry, code_cuts(wildcards))

    return files


def spec_json(wildcards):
    return json.dumps(training_spec_json(RESOLVED, wildcards.experiment), sort_keys=True)


def table_context(wildcards):
    """Columns every results row carries: preset, the experiment's group (its config entry)."""
    return json.dumps(
        {"preset": wildcards.preset, "group": RESOLVED.group_of(wildcards.experiment)}
    )


# Report categories: one per panel section (config: panels.<id>.section).
SECTION_TITLES = {
    "paper": "Paper and poster panels",
    "theory": "Theory checks",
    "methods": "Disentanglement methods",
    "beyond": "Beyond the paper",
}


def panel_category(wildcards):
    return SECTION_TITLES[config["panels"][wildcards.panel]["section"]]


def all_panels(section=None):
    """figures/<preset>/<panel>.{pdf,png} of every panel, or of the panels of one ``section``."""
    panels = [p for p, e in config["panels"].items() if section in (None, e["section"])]
    claims = [f"results/{PRESET}/claims/{p}.csv" for p in panels] if section else []
    return expand(f"figures/{PRESET}/{{panel}}.{{ext}}", panel=panels, ext=["pdf", "png"]) + claims


def panel_tables(wildcards):
    """{table kind: [paths]} that a panel's notebook reads."""
    return {
        kind: [TABLES[kind].format(preset=PRESET, experiment=e) for e in names]
        for kind, names in RESOLVED.panels[wildcards.panel].items()
    }


# The settings, beyond the experiments' own, that each table kind depends on.
TABLE_SETTINGS = {
    "ood_r2": ("metrics", "ood"),
    "ood_r2_ridge": ("metrics", "ood"),
    "angles": ("metrics", "angles"),
    "sparsity": ("metrics", "sparsity"),
    "trajectories": ("analysis",),
    "fixed_points": ("analysis",),
    "spectrum": ("analysis",),
    "tuning": ("analysis",),
    "task_example": ("analysis",),
    "encoder_example": ("analysis",),
    "theory": ("theory",),
    "generative_scores": ("comparison",),
    "traversals": ("comparison",),
    "generative_health": ("comparison",),
    "generative_history": ("generative",),
    "disentanglement": ("comparison",),
    "baselines": ("metrics", "ood"),
    "trained_outputs": ("metrics", "trained_outputs"),
}


def panel_provenance(wildcards):
    """What a panel was made from; it goes into the figure's metadata and footnote. Only the
    settings its tables depend on, so that an unrelated change does not redraw the panel."""
    kinds = RESOLVED.panels[wildcards.panel]
    everything = {e for names in kinds.values() for e in names}
    names = sorted(e for e in everything if e in EXPERIMENTS)
    models = {m: RESOLVED.generative[m] for m in sorted(everything) if m in RESOLVED.generative}
    settings = {}
    for kind in kinds:
        node = config
        for key in TABLE_SETTINGS.get(kind, ()):
            node = node[key]
        settings[".".join(TABLE_SETTINGS.get(kind, (kind,)))] = node
    evaluated = ("ood_r2", "ood_r2_ridge", "angles", "baselines", "trained_outputs")
    if any(kind in evaluated for kind in kinds):
        settings["evaluation"] = config["evaluation"]
    return json.dumps(
        {
            "panel": wildcards.panel,
            "preset": PRESET,
            "experiments": {e: training_spec_json(RESOLVED, e) for e in names},
            "generative_models": models,
            "settings": settings,
        },
        sort_keys=True,
    )


# The generative models (generative.smk).
GENERATIVE = RESOLVED.generative
TASK_INGREDIENTS = f"results/{PRESET}/data/{config['comparison']['task_experiment']}.pt"


def generative_inputs(wildcards):
    """A model trained or scored on the task data needs the task experiment's encoder f; one on
    dSprites read from the user's archive (config ``dsprites.source: npz``) needs that file."""
    if GENERATIVE[wildcards.gmodel]["dataset"] == "task":
        return {"ingredients": TASK_INGREDIENTS}
    if RESOLVED.dsprites["source"] == "npz":
        return {"dsprites": RESOLVED.dsprites["path"]}
    return {}


def dsprites_args(wildcards):
    """The dSprites source of a model trained or scored on dSprites (quoted shell arguments)."""
    if GENERATIVE[wildcards.gmodel]["dataset"] != "dsprites":
        return ""
    if RESOLVED.dsprites["source"] == "procedural":
        return "--dsprites-source procedural"
    return f"--dsprites-source npz --dsprites-path {shlex.quote(RESOLVED.dsprites['path'])}"


def ingredients_arg(wildcards, input):
    return (
        f"--ingredients {shlex.quote(input.ingredients)}" if "ingredients" in input.keys() else ""
    )


def comparison_settings(*keys, task_only=False):
    """The ``comparison`` settings that a job reads, and only those (JSON): editing a scoring key
    must not retrain a generative model. With ``task_only`` a model on dSprites gets none (the
    keys only shape the task data)."""

    def settings(wildcards):
        if task_only and GENERATIVE[wildcards.gmodel]["dataset"] != "task":
            return "{}"
        chosen = {k: config["comparison"][k] for k in keys if k in config["comparison"]}
        return json.dumps(chosen, sort_keys=True)

    return settings


def generative_spec(wildcards):
    return json.dumps(GENERATIVE[wildcards.gmodel], sort_keys=True)


# what the floors depend on (disentangle.jobs.comparison.FLOOR_SETTINGS)
FLOOR_KEYS = ("n_points", "n_bins", "dci_estimators", "ood_penalty", "floor_draws")


def floor_owner(experiment):
    """The experiment whose floors table ``experiment`` uses: the first comparison network (then
    any experiment) with the same task and hidden size, so equal floors are computed once."""
    spec = training_spec_json(RESOLVED, experiment)
    same = lambda e: {k: training_spec_json(RESOLVED, e)[k] for k in ("task", "hidden_size")}
    want = {k: spec[k] for k in ("task", "hidden_size")}
    for e in [*config["comparison"]["networks"], *EXPERIMENTS]:
        if e in EXPERIMENTS and same(e) == want:
            return e
    return experiment


# A panel of another preset, or a panel path without a preset folder (the layout before
# December 2026): stop while the DAG is built, with the command that builds it.
def other_preset_hint(wildcards):
    where = getattr(wildcards, "other", None)
    asked = f"figures/{where}/{wildcards.panel}.{wildcards.ext}" if where else None
    if where is None:
        raise WorkflowError(
            f"figures/{wildcards.panel}.{wildcards.ext}: panels are built per preset, under"
            f" figures/<preset>/: ask for figures/{PRESET}/{wildcards.panel}.{wildcards.ext}"
        )
    raise WorkflowError(
        f"{asked} belongs to preset {where!r} but this run is preset {PRESET!r}: run"
        f" `snakemake --profile profiles/{where} {asked}` (profiles/<preset> selects a preset"
        " in any argument order)"
    )
