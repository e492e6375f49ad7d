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
from pathlib import Path
from typing import Any

import yaml

from disentangle.experiment import ExperimentSpec

OPTIONAL_EXPERIMENT_KEYS = {"description"}


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


def resolve_experiments(config: dict, schema: dict) -> dict[str, dict]:
    """Every experiment with the defaults merged in, checked for completeness and consistency."""
    problems: list[str] = []
    resolved = {}
    for name, entry in config["experiments"].items():
        merged = deep_merge(config["defaults"], entry or {})
        problems += _missing(merged, schema["$defs"]["experiment"], schema, ["experiments", name])
        resolved[name] = merged
    if problems:
        raise ConfigError("\n".join(problems))
    for name, merged in resolved.items():
        try:
            ExperimentSpec.from_dict(name, {k: v for k, v in merged.items()})
        except (TypeError, ValueError) as err:
            problems.append(f"experiment '{name}' (defaults merged): {err}")
    for panel, entry in config["panels"].items():
        for exp in entry["experiments"]:
            if exp not in resolved:
                problems.append(
                    f"config key 'panels.{panel}.experiments' names {exp!r}, which is "
                    f"not an experiment; expected one of: {', '.join(sorted(resolved))}"
                )
    if problems:
        raise ConfigError("\n".join(problems))
    return resolved


def load_and_check(
    config: dict, schema_path: str | Path, notebook_dir: str | Path | None = None
) -> dict[str, dict]:
    """Validate ``config`` against the schema, resolve and check experiments and panels.

    Returns the resolved experiments. Raises ``ConfigError`` listing every problem.
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


def experiment_spec(resolved: dict[str, dict], name: str) -> ExperimentSpec:
    return ExperimentSpec.from_dict(name, resolved[name])


def training_spec_json(resolved: dict[str, dict], name: str) -> dict:
    """What a training job depends on (the experiment without its free-text description)."""
    return {k: v for k, v in resolved[name].items() if k not in OPTIONAL_EXPERIMENT_KEYS}
