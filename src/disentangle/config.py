"""Validating and resolving the workflow configuration.

The Snakefile calls ``load_and_check`` before any job is scheduled. A bad config stops the run
with a ``ConfigError`` that names every bad key (as a dotted path, e.g.
``experiments.rnn_main.n_tasks[0]``) and says what was expected.

Resolution: an experiment is ``config['defaults']`` deep-merged with its own entry (mappings merge
key by key, lists and scalars replace), so an overlay such as ``config/smoke.yaml`` changes only
what it names.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from disentangle.experiment import ExperimentSpec

OPTIONAL_EXPERIMENT_KEYS = {"description", "sweep"}

# Every table a panel can ask for, and where the workflow writes it. The rules that make them use
# these same templates, so a panel's inputs and a rule's outputs cannot drift apart.
TABLES = {
    "ood_r2": "results/{preset}/metrics/{experiment}/ood_r2.parquet",
    # the same networks and folds read out by the closed-form ridge decoder (a reference beside the
    # configured decoder; made by the same job)
    "ood_r2_ridge": "results/{preset}/metrics/{experiment}/ood_r2_ridge.parquet",
    "angles": "results/{preset}/metrics/{experiment}/angles.parquet",
    "sparsity": "results/{preset}/metrics/{experiment}/sparsity.parquet",
    "history": "results/{preset}/models/{experiment}.history.parquet",
    "trajectories": "results/{preset}/analysis/{experiment}/trajectories.parquet",
    "fixed_points": "results/{preset}/analysis/{experiment}/fixed_points.parquet",
    "spectrum": "results/{preset}/analysis/{experiment}/spectrum.parquet",
    "tuning": "results/{preset}/analysis/{experiment}/tuning.parquet",
    "task_example": "results/{preset}/examples/{experiment}/task.parquet",
    "encoder_example": "results/{preset}/examples/{experiment}/encoder.parquet",
    # closed-form theory checks; the "experiment" is the check's name (disentangle.checks.CHECKS)
    "theory": "results/{preset}/theory/{experiment}.parquet",
    # the β-VAE family and the comparison; "experiment" is a generative model's expanded name
    "generative_scores": "results/{preset}/generative/scores/{experiment}.parquet",
    "traversals": "results/{preset}/generative/traversals/{experiment}.parquet",
    # the multi-task networks scored with the same disentanglement metrics
    "disentanglement": "results/{preset}/metrics/{experiment}/disentanglement.parquet",
    # what the same decoders reach without a trained network (disentangle.metrics.baselines);
    # every panel that reads ood_r2 reads its experiments' baselines too
    "baselines": "results/{preset}/metrics/{experiment}/baselines.parquet",
}
GENERATIVE_KINDS = {"generative_scores", "traversals"}


class ConfigError(ValueError):
    """The configuration is invalid; the message lists every problem found."""


def deep_merge(base: dict, override: dict) -> dict:
    """``override`` merged into a copy of ``base``: dicts recursively, the rest replaced."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _path(parts) -> str:
    text = ""
    for p in parts:
        text += f"[{p}]" if isinstance(p, int) else (f".{p}" if text else str(p))
    return text or "<top level>"


def _describe(error, schema_root: dict) -> list[str]:
    """One readable line per problem in a jsonschema ValidationError."""
    where = _path(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - allowed)
        if allowed:
            return [
                f"config key '{_path([*error.absolute_path, k])}' is not a known key; "
                f"expected one of: {', '.join(sorted(allowed))}"
                for k in extra
            ]
    if error.validator == "required":
        return [f"config key '{where}': {error.message}"]
    if error.validator == "enum":
        return [
            f"config key '{where}' = {error.instance!r}: expected one of "
            f"{', '.join(map(repr, error.validator_value))}"
        ]
    if error.validator == "propertyNames":
        return [
            f"config key '{where}': the name {error.instance!r} is not allowed ({error.message})"
        ]
    return [f"config key '{where}' = {error.instance!r}: {error.message}"]


def validate_schema(config: dict, schema: dict) -> list[str]:
    """All schema violations of ``config`` as readable lines (empty when valid)."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    problems: list[str] = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.path))):
        leaves = [error]
        if error.context:  # anyOf/oneOf: report the most specific causes
            leaves = [e for e in error.context if not e.context] or leaves
        for leaf in leaves:
            problems.extend(_describe(leaf, schema))
    return problems


def _missing(instance: Any, schema: dict, root: dict, path: list) -> list[str]:
    """Keys of ``schema`` (resolving local $refs) that ``instance`` lacks, recursively."""
    if "$ref" in schema:
        name = schema["$ref"].split("/")[-1]
        schema = root["$defs"][name]
    if not isinstance(instance, dict) or "properties" not in schema:
        return []
    out = []
    for key, sub in schema["properties"].items():
        if key in OPTIONAL_EXPERIMENT_KEYS:
            continue
        if key not in instance:
            out.append(
                f"config key '{_path([*path, key])}' is missing (set it in `defaults` "
                "or in the experiment)"
            )
        else:
            out.extend(_missing(instance[key], sub, root, [*path, key]))
    return out


def _set_dotted(d: dict, dotted: str, value) -> dict:
    out = copy.deepcopy(d)
    *parents, last = dotted.split(".")
    node = out
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return out


def _format_value(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def expand_sweep(name: str, merged: dict) -> dict[str, dict]:
    """An experiment with ``sweep: {dotted.key: [v1, v2, ...]}`` becomes one experiment per value,
    named ``<name>-<leaf><value>`` (e.g. ``rnn_noise-noise_sd0.4``); without a sweep, itself."""
    sweep = merged.pop("sweep", None)
    if not sweep:
        return {name: merged}
    (key, values), *rest = sweep.items()
    if rest:
        raise ConfigError(f"config key 'experiments.{name}.sweep': one swept key at a time")
    leaf = key.split(".")[-1]
    return {f"{name}-{leaf}{_format_value(v)}": _set_dotted(merged, key, v) for v in values}


@dataclass
class Resolved:
    """The checked configuration: experiments after merging defaults and expanding sweeps."""

    experiments: dict[str, dict]  # expanded name -> full experiment settings
    groups: dict[str, list[str]]  # config entry name -> its expanded names
    panels: dict[str, dict[str, list[str]]]  # panel -> table kind -> expanded experiment names
    generative: dict[str, dict] = None  # expanded generative model name -> spec, dataset, steps
    generative_groups: dict[str, list[str]] = None

    def group_of(self, name: str) -> str:
        return next(g for g, names in self.groups.items() if name in names)


def expand_generative(config: dict) -> tuple[dict[str, dict], dict[str, list[str]]]:
    """Generative model entries → one model per (swept hyperparameter value, seed), named
    ``<entry>-<hp><value>-s<seed>`` (or ``<entry>-s<seed>`` without a sweep)."""
    from disentangle.generative import hyperparameters

    models, groups = {}, {}
    for name, entry in config.get("generative", {}).get("models", {}).items():
        allowed = hyperparameters(entry["method"])
        fixed = dict(entry.get("hyper", {}))
        sweep = entry.get("sweep", {})
        for key in [*fixed, *sweep]:
            if key not in allowed:
                raise ConfigError(
                    f"config key 'generative.models.{name}': {entry['method']} has no "
                    f"hyperparameter {key!r}; expected one of: {', '.join(sorted(allowed))}"
                )
        (hp, values), *rest = sweep.items() if sweep else [(None, [None])]
        if rest:
            raise ConfigError(f"config key 'generative.models.{name}.sweep': one key at a time")
        groups[name] = []
        for value in values:
            for seed in entry["seeds"]:
                label = f"-{hp}{_format_value(value)}" if hp else ""
                full = f"{name}{label}-s{seed}"
                hyper = {**fixed, **({hp: value} if hp else {})}
                models[full] = {
                    "spec": {"method": entry["method"], "seed": int(seed), **hyper},
                    "dataset": entry["dataset"],
                    "steps": int(entry["steps"]),
                    "group": name,
                    "swept": hp,
                    "swept_value": value,
                }
                groups[name].append(full)
    return models, groups


def resolve_experiments(config: dict, schema: dict) -> Resolved:
    """Every experiment with the defaults merged in and sweeps expanded, checked for completeness
    and consistency; every panel's table requests resolved to experiment names."""
    import jsonschema

    problems: list[str] = []
    experiments, groups = {}, {}
    exp_schema = {**schema["$defs"]["experiment"], "$defs": schema["$defs"]}
    for name, entry in config["experiments"].items():
        merged = deep_merge(config["defaults"], entry or {})
        try:
            expanded = expand_sweep(name, merged)
        except ConfigError as err:
            problems.append(str(err))
            continue
        groups[name] = list(expanded)
        for full, settings in expanded.items():
            problems += _missing(
                settings, schema["$defs"]["experiment"], schema, ["experiments", full]
            )
            for error in jsonschema.Draft202012Validator(exp_schema).iter_errors(settings):
                problems.extend(f"experiment '{full}': {line}" for line in _describe(error, schema))
            experiments[full] = settings
    if problems:
        raise ConfigError("\n".join(problems))
    for name, settings in experiments.items():
        try:
            ExperimentSpec.from_dict(name, settings)
        except (TypeError, ValueError) as err:
            problems.append(f"experiment '{name}' (defaults merged): {err}")
    try:
        generative, generative_groups = expand_generative(config)
    except ConfigError as err:
        raise ConfigError(str(err)) from None
    panels: dict[str, dict[str, list[str]]] = {}
    for panel, entry in config["panels"].items():
        panels[panel] = {}
        for kind, names in entry["tables"].items():
            resolved_names = []
            for exp in names:
                if kind in GENERATIVE_KINDS:
                    if exp in generative_groups:
                        resolved_names += generative_groups[exp]
                    elif exp in generative:
                        resolved_names.append(exp)
                    else:
                        problems.append(
                            f"config key 'panels.{panel}.tables.{kind}' names {exp!r}, which is "
                            "not a generative model; expected one of: "
                            f"{', '.join(sorted(generative_groups))}"
                        )
                elif kind == "theory":
                    from disentangle.checks import CHECKS as THEORY

                    if exp not in THEORY:
                        problems.append(
                            f"config key 'panels.{panel}.tables.theory' names {exp!r}; expected "
                            f"one of the theory checks: {', '.join(sorted(THEORY))}"
                        )
                    resolved_names.append(exp)
                elif exp in groups:
                    resolved_names += groups[exp]
                elif exp in experiments:
                    resolved_names.append(exp)
                else:
                    problems.append(
                        f"config key 'panels.{panel}.tables.{kind}' names {exp!r}, which is not "
                        f"an experiment; expected one of: {', '.join(sorted(groups))}"
                    )
            panels[panel][kind] = resolved_names
        if "ood_r2" in panels[panel] and "baselines" not in panels[panel]:
            panels[panel]["baselines"] = list(panels[panel]["ood_r2"])
        problems += _claim_problems(panel, entry, panels[panel])
    task_exp = config.get("comparison", {}).get("task_experiment")
    if task_exp is not None and task_exp not in experiments:
        problems.append(
            f"config key 'comparison.task_experiment' = {task_exp!r}: expected an experiment"
        )
    if problems:
        raise ConfigError("\n".join(problems))
    return Resolved(experiments, groups, panels, generative, generative_groups)


def _claim_problems(panel: str, entry: dict, kinds: dict[str, list[str]]) -> list[str]:
    """Each of the panel's claims parses and reads only tables the panel has."""
    from disentangle.claims import Claim, ClaimError

    problems, seen = [], set()
    for i, item in enumerate(entry.get("claims") or []):
        where = f"panels.{panel}.claims[{i}]"
        try:
            claim = Claim.from_dict(item, f"config key '{where}'")
        except ClaimError as err:
            problems.append(str(err))
            continue
        if claim.id in seen:
            problems.append(f"config key '{where}.id' = {claim.id!r}: used twice in the panel")
        seen.add(claim.id)
        for kind in sorted(claim.tables - set(kinds)):
            problems.append(
                f"config key '{where}' reads table {kind!r}, which the panel does not have; "
                f"expected one of: {', '.join(sorted(kinds))}"
            )
    return problems


def load_and_check(
    config: dict, schema_path: str | Path, notebook_dir: str | Path | None = None
) -> Resolved:
    """Validate ``config`` against the schema, resolve and check experiments and panels.

    Raises ``ConfigError`` listing every problem.
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    problems = validate_schema(config, schema)
    if problems:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems))
    try:
        resolved = resolve_experiments(config, schema)
    except ConfigError as err:
        raise ConfigError("invalid configuration:\n  " + str(err).replace("\n", "\n  ")) from None
    if notebook_dir is not None:
        missing = [
            f"config key 'panels.{p}.notebook': {Path(notebook_dir) / (e['notebook'] + '.py')}"
            " does not exist"
            for p, e in config["panels"].items()
            if not (Path(notebook_dir) / f"{e['notebook']}.py").exists()
        ]
        if missing:
            raise ConfigError("invalid configuration:\n  " + "\n  ".join(missing))
    return resolved


def training_spec_json(resolved: Resolved, name: str) -> dict:
    """What a training job depends on (the experiment without its free-text description)."""
    settings = resolved.experiments[name]
    return {k: v for k, v in settings.items() if k not in OPTIONAL_EXPERIMENT_KEYS}


def experiment_spec(resolved: Resolved, name: str) -> ExperimentSpec:
    return ExperimentSpec.from_dict(name, training_spec_json(resolved, name))
