"""Validating and resolving the workflow configuration.

The Snakefile calls ``check_yaml_files`` on the config files and ``load_and_check`` on the merged
config before any job is scheduled. A bad config stops the run with a ``ConfigError`` that names
every bad key (as a dotted path, e.g. ``experiments.rnn_main.n_tasks[0]``) and says what was
expected, one line per problem (workflow/rules/common.smk stops the run with it).

What is checked, in order:

- ``check_yaml_files``: each file parses as YAML and no mapping repeats a key (Snakemake's YAML
  loader keeps the last of two equal keys, which silently drops a block);
- every number anywhere in the config is finite (``.nan``, ``.inf`` and ``-.inf`` are rejected:
  JSON-schema ``minimum``/``maximum`` let NaN through);
- the schema (workflow/schemas/config.schema.yaml), with integers strict: ``64.0`` is not an
  integer and neither is ``true``; every size has an upper bound there;
- each experiment after merging the defaults and expanding its sweep (schema again, then
  ``ExperimentSpec``), the generative models' hyperparameters per method, every name a panel,
  claim or ``comparison`` refers to, the ``analysis`` network (``analysis.n_tasks`` and
  ``analysis.seed`` must be a network of every experiment whose single-network analyses a panel
  reads: no silent fallback to another network), ``dsprites`` (an ``npz`` source names an
  existing dSprites archive), and the panels' notebooks.

Resolution: an experiment is ``config['defaults']`` deep-merged with its own entry (mappings merge
key by key, lists and scalars replace), so an overlay such as ``config/smoke.yaml`` changes only
what it names.
"""

from __future__ import annotations

import copy
import functools
import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from disentangle.experiment import ExperimentSpec
from disentangle.registry_names import THEORY_CHECKS as THEORY
from disentangle.registry_names import hyperparameters

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
    # theory checks; the "experiment" is the check's name (disentangle.theory_checks.CHECKS)
    "theory": "results/{preset}/theory/{experiment}.parquet",
    # the β-VAE family and the comparison; "experiment" is a generative model's expanded name
    "generative_scores": "results/{preset}/generative/scores/{experiment}.parquet",
    "traversals": "results/{preset}/generative/traversals/{experiment}.parquet",
    # whether each generative model trained (disentangle.generative.health): one row per check
    "generative_health": "results/{preset}/generative/health/{experiment}.parquet",
    # each generative model's training history, tidy: one row per (logged step, quantity)
    "generative_history": "results/{preset}/generative/history/{experiment}.parquet",
    # the multi-task networks scored with the same disentanglement metrics
    "disentanglement": "results/{preset}/metrics/{experiment}/disentanglement.parquet",
    # what the same decoders reach without a trained network (disentangle.metrics.baselines);
    # every panel that reads ood_r2 reads its experiments' baselines too
    "baselines": "results/{preset}/metrics/{experiment}/baselines.parquet",
    # Theorem 3.1 part 1 on the trained networks (disentangle.analysis.trained_outputs)
    "trained_outputs": "results/{preset}/metrics/{experiment}/trained_outputs.parquet",
}
GENERATIVE_KINDS = {"generative_scores", "traversals", "generative_health", "generative_history"}
# Tables made from one network of an experiment, the one config `analysis` names (n_tasks, seed).
ANALYSIS_KINDS = {
    "trajectories",
    "fixed_points",
    "spectrum",
    "tuning",
    "task_example",
    "encoder_example",
}
# Arrays that the original dSprites archive (dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz) holds
# and that a loader of it needs.
DSPRITES_MEMBERS = ("imgs.npy", "latents_classes.npy", "latents_values.npy")


class ConfigError(ValueError):
    """The configuration is invalid; the message lists every problem found."""


def _invalid(problems: list[str]) -> ConfigError:
    """One line for one problem; else a header and one indented line per problem."""
    if len(problems) == 1:
        return ConfigError(f"invalid configuration: {problems[0]}")
    return ConfigError("invalid configuration:\n  " + "\n  ".join(problems))


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


# --- the config files themselves -------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, except that a mapping may not repeat a key."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor`
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key; the safe loader rejects it below
                    continue
                if first is not None:
                    raise _DuplicateKey(key, key_node.start_mark, first)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


class _DuplicateKey(Exception):
    def __init__(self, key, mark, first):
        super().__init__(key)
        self.key, self.mark, self.first = key, mark, first


def check_yaml_files(paths) -> None:
    """Re-read each config file (``configfile:`` and every ``--configfile``) with a loader that
    rejects a repeated mapping key, which Snakemake's loader would silently resolve to the last
    one. Raises ``ConfigError`` with one line per file: ``file:line: duplicate key 'x'`` or
    ``file:line:col: YAML syntax error: ...`` (lines and columns from 1)."""
    problems, seen = [], set()
    for path in map(Path, paths):
        if path.resolve() in seen:
            continue
        seen.add(path.resolve())
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as err:
            problems.append(f"{path}: cannot read the config file ({err.strerror or err})")
            continue
        except UnicodeDecodeError as err:
            problems.append(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})")
            continue
        try:
            yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: constructs plain data only
        except _DuplicateKey as dup:
            problems.append(
                f"{path}:{dup.mark.line + 1}: duplicate key {dup.key!r} (first at line "
                f"{dup.first.line + 1}; YAML keeps only the last, dropping the first block)"
            )
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            what = err.problem or "unreadable YAML"
            what += f" ({err.context})" if err.context else ""
            problems.append(f"{where}: YAML syntax error: {what}")
        except yaml.YAMLError as err:
            problems.append(f"{path}: YAML syntax error: {' '.join(str(err).split())}")
    if problems:
        raise ConfigError("\n".join(problems))


# --- values ------------------------------------------------------------------------------------


def nonfinite_problems(node: Any, path: tuple = ()) -> list[tuple[tuple, str]]:
    """(path, line) for every NaN or infinite number anywhere in ``node``, recursively (the
    schema's ``minimum``/``maximum`` do not reject NaN)."""
    if isinstance(node, float) and not math.isfinite(node):
        return [(path, f"config key '{_path(path)}' = {node!r}: expected a finite number")]
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            out += nonfinite_problems(value, (*path, key))
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            out += nonfinite_problems(value, (*path, i))
    return out


@functools.cache
def _validator_class():
    """Draft 2020-12 with strict integers: a float is never an integer (``64.0``, ``1e9``), and,
    as in JSON-schema, a boolean is neither an integer nor a number."""
    import jsonschema

    base = jsonschema.Draft202012Validator
    checker = base.TYPE_CHECKER.redefine(
        "integer", lambda _, x: isinstance(x, int) and not isinstance(x, bool)
    )
    return jsonschema.validators.extend(base, type_checker=checker)


def _short(value, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 4] + " ..."


_BOUNDS = {
    "minimum": ">=",
    "maximum": "<=",
    "exclusiveMinimum": ">",
    "exclusiveMaximum": "<",
}


def _reason(error) -> str:
    """What the value should have been, for one failed schema keyword."""
    kind, want, value = error.validator, error.validator_value, error.instance
    if kind == "enum":
        return f"expected one of {', '.join(map(repr, want))}"
    if kind == "type":
        expected = " or ".join(want) if isinstance(want, list) else want
        got = "null" if value is None else type(value).__name__
        return f"expected {expected}, got {got}"
    if kind in _BOUNDS:
        return f"expected a value {_BOUNDS[kind]} {want}"
    if kind == "minItems":
        return f"expected at least {want} item(s)"
    if kind == "maxItems":
        return f"expected at most {want} items, got {len(value)}"
    if kind == "uniqueItems":
        seen, repeated = [], []
        for v in value:
            (repeated if v in seen else seen).append(v)
        return f"expected distinct values; repeated: {_short(repeated)}"
    if kind == "pattern":
        about = error.schema.get("description")
        return f"expected a string matching {want!r}" + (f" ({about})" if about else "")
    if kind == "const":
        return f"expected {want!r}"
    return error.message


def _alternatives(error) -> bool:
    """A oneOf/anyOf whose alternatives all failed on the value itself (not inside it)."""
    return (
        error.validator in ("oneOf", "anyOf")
        and bool(error.context)
        and all(not e.context and not e.relative_path for e in error.context)
    )


def _describe(error, schema_root: dict, prefix: tuple = ()) -> list[tuple[tuple, str]]:
    """(path, line) per problem in a jsonschema ValidationError; paths start with ``prefix``."""
    at = (*prefix, *error.absolute_path)
    where = _path(at)
    if "propertyNames" in error.relative_schema_path:  # a name, not a value, is wrong
        name = error.instance
        key = _path((*at, name))
        if error.validator == "enum":
            return [
                (
                    (*at, name),
                    f"config key '{key}' is not a known name here; expected one of: "
                    f"{', '.join(map(str, error.validator_value))}",
                )
            ]
        return [
            ((*at, name), f"config key '{key}': the name {name!r} is not allowed; {_reason(error)}")
        ]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - allowed)
        if allowed:
            return [
                (
                    (*at, k),
                    f"config key '{_path((*at, k))}' is not a known key; "
                    f"expected one of: {', '.join(sorted(allowed))}",
                )
                for k in extra
            ]
    if error.validator == "required" and isinstance(error.instance, dict):
        return [
            ((*at, k), f"config key '{_path((*at, k))}' is missing")
            for k in error.validator_value
            if k not in error.instance
        ]
    if _alternatives(error):  # every alternative failed at this very value: one line
        reasons = "; or ".join(dict.fromkeys(_reason(e) for e in error.context))
        return [(at, f"config key '{where}' = {_short(error.instance)}: {reasons}")]
    return [(at, f"config key '{where}' = {_short(error.instance)}: {_reason(error)}")]


def _schema_problems(
    instance, schema: dict, prefix: tuple = (), skip: set | None = None
) -> list[tuple[tuple, str]]:
    """(path, line) per schema violation, sorted by path; paths in ``skip`` (or under them) are
    left out (already reported, e.g. as non-finite)."""
    validator = _validator_class()(schema)
    out: list[tuple[tuple, str]] = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path))):
        leaves = [error]
        if error.context and not _alternatives(error):  # report the most specific causes
            leaves = [e for e in error.context if not e.context] or leaves
        for leaf in leaves:
            for at, line in _describe(leaf, schema, prefix):
                if skip and any(at[: len(s)] == s for s in skip):
                    continue
                if line not in (x for _, x in out):
                    out.append((at, line))
    return out


def validate_schema(config: dict, schema: dict) -> list[str]:
    """All schema violations of ``config`` as readable lines (empty when valid)."""
    return [line for _, line in _schema_problems(config, schema)]


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


def _expanded_names(where: str, prefix: str, values: list) -> list[str]:
    """``<prefix><value>`` per value; two values that print alike (e.g. 0.1 and 0.1000001 under
    ``:g``) would make one name for two settings, so they are an error."""
    names = [f"{prefix}{_format_value(v)}" for v in values]
    clash = sorted({n for n in names if names.count(n) > 1})
    if clash:
        raise ConfigError(
            f"config key '{where}': the values {values!r} give the same name(s) {clash}; "
            "use values that differ in their first 6 significant digits"
        )
    return names


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
    names = _expanded_names(f"experiments.{name}.sweep.{key}", f"{name}-{leaf}", values)
    return {full: _set_dotted(merged, key, v) for full, v in zip(names, values, strict=True)}


@dataclass
class Resolved:
    """The checked configuration: experiments after merging defaults and expanding sweeps."""

    experiments: dict[str, dict]  # expanded name -> full experiment settings
    groups: dict[str, list[str]]  # config entry name -> its expanded names
    panels: dict[str, dict[str, list[str]]]  # panel -> table kind -> expanded experiment names
    generative: dict[str, dict] = None  # expanded generative model name -> spec, dataset, steps
    generative_groups: dict[str, list[str]] = None
    # config `dsprites` with `path` absolute (resolved against the repository root) or None
    dsprites: dict = None

    def group_of(self, name: str) -> str:
        return next(g for g, names in self.groups.items() if name in names)


def expand_generative(
    config: dict, schema: dict | None = None
) -> tuple[dict[str, dict], dict[str, list[str]]]:
    """Generative model entries → one model per (swept hyperparameter value, seed), named
    ``<entry>-<hp><value>-s<seed>`` (or ``<entry>-s<seed>`` without a sweep). With the
    ``schema``, each swept value is checked against ``$defs/hyperparameters``."""
    hp_schemas = (schema or {}).get("$defs", {}).get("hyperparameters", {}).get("properties", {})
    models, groups, problems = {}, {}, []
    for name, entry in config.get("generative", {}).get("models", {}).items():
        where = f"generative.models.{name}"
        allowed = hyperparameters(entry["method"])
        fixed = dict(entry.get("hyper") or {})
        sweep = entry.get("sweep") or {}
        unknown = [k for k in [*fixed, *sweep] if k not in allowed]
        for key in unknown:
            problems.append(
                f"config key '{where}': {entry['method']} has no "
                f"hyperparameter {key!r}; expected one of: {', '.join(sorted(allowed))}"
            )
        observations = entry.get("observations")
        if entry["dataset"] != "task" and observations is not None:
            problems.append(
                f"config key '{where}.observations': applies to dataset 'task' only, not"
                f" {entry['dataset']!r}"
            )
        (hp, values), *rest = sweep.items() if sweep else [(None, [None])]
        if rest:
            problems.append(f"config key '{where}.sweep': one key at a time")
        if unknown or rest:
            continue
        if hp is not None and hp in hp_schemas:
            sub = {**hp_schemas[hp], "$defs": schema["$defs"]}
            for i, value in enumerate(values):
                at = ("generative", "models", name, "sweep", hp, i)
                problems += [line for _, line in _schema_problems(value, sub, at)]
        try:
            labels = _expanded_names(f"{where}.sweep.{hp}", f"-{hp}", values) if hp else [""]
        except ConfigError as err:
            problems.append(str(err))
            continue
        groups[name] = []
        for value, label in zip(values, labels, strict=True):
            for seed in entry["seeds"]:
                full = f"{name}{label}-s{seed}"
                hyper = {**fixed, **({hp: value} if hp else {})}
                models[full] = {
                    "spec": {"method": entry["method"], "seed": int(seed), **hyper},
                    "dataset": entry["dataset"],
                    # task data: how the observations reach the model (jobs.generative.task_data)
                    **(
                        {"observations": observations or "standardised"}
                        if entry["dataset"] == "task"
                        else {}
                    ),
                    "steps": int(entry["steps"]),
                    "group": name,
                    "swept": hp,
                    "swept_value": value,
                }
                groups[name].append(full)
    if problems:
        raise ConfigError("\n".join(problems))
    return models, groups


def _merged_problems(
    group: str, full: str, settings: dict, sweep: dict | None, exp_schema: dict
) -> list[str]:
    """Schema violations of one merged, expanded experiment. A violation at the swept key is
    reported at the sweep's value (``experiments.<group>.sweep.<key>[i]``)."""
    swept = None
    if sweep:
        (key, values), *_ = sweep.items()
        swept = tuple(key.split("."))
    out = []
    for at, line in _schema_problems(settings, exp_schema, ("experiments", full)):
        rel = at[2:]
        if swept is not None and rel[: len(swept)] == swept:
            value = settings
            for part in swept:
                value = value[part]
            index = next((i for i, v in enumerate(values) if v == value), None)
            key = _path(("experiments", group, "sweep", ".".join(swept)))
            if index is not None and "is not a known key" not in line:
                key += f"[{index}]"  # the value is wrong, not the swept key's name
            line = line.replace(f"config key '{_path(at)}'", f"config key '{key}'")
        out.append(f"{line} (experiment '{full}', defaults merged)")
    return out


def resolve_experiments(config: dict, schema: dict) -> Resolved:
    """Every experiment with the defaults merged in and sweeps expanded, checked for completeness
    and consistency; every panel's table requests resolved to experiment names."""
    problems: list[str] = []
    experiments, groups = {}, {}
    exp_schema = {**schema["$defs"]["experiment"], "$defs": schema["$defs"]}
    for name, entry in config["experiments"].items():
        merged = deep_merge(config["defaults"], entry or {})
        sweep = copy.deepcopy(merged.get("sweep"))
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
            problems += _merged_problems(name, full, settings, sweep, exp_schema)
            experiments[full] = settings
    if problems:
        raise ConfigError("\n".join(problems))
    for name, settings in experiments.items():
        group = next(g for g, names in groups.items() if name in names)
        try:
            ExperimentSpec.from_dict(name, settings)
        except (TypeError, ValueError) as err:
            # TaskSpec names the setting first ("task.dim = 3: ..."): point the key at it
            named = re.match(r"(task\.[a-z_]+)\b", str(err))
            key = f"experiments.{group}" + (f".{named.group(1)}" if named else "")
            problems.append(f"config key '{key}' (experiment '{name}', defaults merged): {err}")
    try:
        generative, generative_groups = expand_generative(config, schema)
    except ConfigError as err:
        problems.append(str(err))
        generative, generative_groups = {}, {}
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
    problems += _analysis_problems(config, experiments, panels)
    comparison = config.get("comparison") or {}
    task_exp = comparison.get("task_experiment")
    if task_exp is not None and task_exp not in experiments:
        problems.append(
            f"config key 'comparison.task_experiment' = {task_exp!r}: expected an experiment; "
            f"one of: {', '.join(sorted(experiments))}"
        )
    for i, net in enumerate(comparison.get("networks") or []):
        if net not in experiments:
            problems.append(
                f"config key 'comparison.networks[{i}]' = {net!r}: expected an experiment; "
                f"one of: {', '.join(sorted(experiments))}"
            )
    if problems:
        raise ConfigError("\n".join(problems))
    return Resolved(experiments, groups, panels, generative, generative_groups)


def _analysis_problems(config: dict, experiments: dict, panels: dict) -> list[str]:
    """The single-network analyses use the network (analysis.n_tasks, analysis.seed) of each
    experiment a panel reads them for; that network must exist (no fallback to another one)."""
    analysis = config["analysis"]
    n_tasks, seed = analysis["n_tasks"], analysis["seed"]
    problems, done = [], set()
    for panel, kinds in panels.items():
        for kind in sorted(ANALYSIS_KINDS & set(kinds)):
            for name in kinds[kind]:
                if name in done or name not in experiments:
                    continue
                done.add(name)
                exp = experiments[name]
                reader = f"experiment {name!r} (panel {panel!r}, table {kind!r})"
                if n_tasks not in exp["n_tasks"]:
                    problems.append(
                        f"config key 'analysis.n_tasks' = {n_tasks!r}: {reader} has no network "
                        f"with {n_tasks} tasks; expected one of its n_tasks {exp['n_tasks']}"
                    )
                if seed not in exp["seeds"]:
                    problems.append(
                        f"config key 'analysis.seed' = {seed!r}: {reader} has no network with "
                        f"seed {seed}; expected one of its seeds {exp['seeds']}"
                    )
    return problems


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


def repository_root(schema_path: str | Path) -> Path:
    """The repository that holds ``workflow/schemas/config.schema.yaml``."""
    return Path(schema_path).resolve().parents[2]


def resolve_dsprites(config: dict, root: str | Path) -> tuple[dict, list[str]]:
    """Config ``dsprites`` with a relative ``path`` resolved against ``root``, and the problems:
    ``procedural`` takes no path; ``npz`` needs ``path`` naming an existing zip archive (the
    original dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz) holding ``imgs``,
    ``latents_classes`` and ``latents_values`` (the arrays' shapes and contents are checked by the
    loader, ``disentangle.data.dsprites``). The workflow never downloads it."""
    entry = dict(config.get("dsprites") or {"source": "procedural", "path": None})
    source, path = entry.get("source"), entry.get("path")
    if source == "procedural":
        if path is not None:
            return entry, [
                f"config key 'dsprites.path' = {path!r}: expected null with dsprites.source "
                "'procedural' (set dsprites.source: npz to read a file)"
            ]
        return entry, []
    if not isinstance(path, str) or not path.strip():
        return entry, [
            f"config key 'dsprites.path' = {path!r}: dsprites.source 'npz' needs the path of "
            "the dSprites archive (dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz; relative "
            "to the repository root)"
        ]
    full = Path(path).expanduser()
    full = full if full.is_absolute() else Path(root) / full
    entry["path"] = str(full)
    if not full.is_file():
        return entry, [
            f"config key 'dsprites.path' = {path!r}: {full} does not exist or is not a file"
        ]
    try:
        with zipfile.ZipFile(full) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError) as err:
        return entry, [f"config key 'dsprites.path' = {path!r}: {full} is not an .npz ({err})"]
    lacking = [m.removesuffix(".npy") for m in DSPRITES_MEMBERS if m not in names]
    if lacking:
        return entry, [
            f"config key 'dsprites.path' = {path!r}: {full} lacks the array(s) {lacking} of "
            "the dSprites archive"
        ]
    return entry, []


def load_and_check(
    config: dict,
    schema_path: str | Path,
    notebook_dir: str | Path | None = None,
    root: str | Path | None = None,
) -> Resolved:
    """Validate ``config`` against the schema, resolve and check experiments and panels.

    ``root`` (relative ``dsprites.path`` is resolved against it) defaults to the repository that
    holds ``schema_path``. Raises ``ConfigError`` listing every problem.
    """
    schema = yaml.safe_load(Path(schema_path).read_text())
    if not isinstance(config, dict):
        raise _invalid([f"expected a mapping of config keys, got {config!r}"])
    nonfinite = nonfinite_problems(config)
    skip = {at for at, _ in nonfinite}
    problems = [line for _, line in nonfinite]
    problems += [line for _, line in _schema_problems(config, schema, skip=skip)]
    if problems:
        raise _invalid(problems)
    try:
        resolved = resolve_experiments(config, schema)
    except ConfigError as err:
        raise _invalid(str(err).splitlines()) from None
    resolved.dsprites, problems = resolve_dsprites(config, root or repository_root(schema_path))
    if notebook_dir is not None:
        problems += [
            f"config key 'panels.{p}.notebook': {Path(notebook_dir) / (e['notebook'] + '.py')}"
            " does not exist"
            for p, e in config["panels"].items()
            if not (Path(notebook_dir) / f"{e['notebook']}.py").exists()
        ]
    if problems:
        raise _invalid(problems)
    return resolved


def training_spec_json(resolved: Resolved, name: str) -> dict:
    """What a training job depends on (the experiment without its free-text description). Task
    settings at their ``OMITTED_DEFAULTS`` value (the fourier encoder's ``frequency`` at 0, the
    ``noise`` kind at Gaussian) are left out, as ``TaskSpec.to_dict`` leaves them out, so that the
    specs of every other experiment (and every job's params that hold them) are the same as
    before the keys existed; a value other than the default reaches ``TaskSpec`` and its checks."""
    settings = resolved.experiments[name]
    spec = {k: v for k, v in settings.items() if k not in OPTIONAL_EXPERIMENT_KEYS}
    if isinstance(spec.get("task"), dict):
        from disentangle.tasks.spec import without_omitted_defaults

        spec["task"] = without_omitted_defaults(spec["task"])
    return spec


def experiment_spec(resolved: Resolved, name: str) -> ExperimentSpec:
    return ExperimentSpec.from_dict(name, training_spec_json(resolved, name))
