"""The multi-task networks' side of the networks-vs-VAEs comparison (``disentangle.comparison``):

- ``floors``: the random linear codes of x* of each compared code size, scored with every metric
  on the comparison's scoring sample. They depend only on the task (its sample of x*) and the
  code sizes, so experiments with the same task and hidden size share one table (the workflow
  computes it once, for the first of them).
- ``score-networks``: every metric of an ensemble's final states (full state and top-D principal
  components) and of the raw observations, with the floors appended from ``--floors`` (or computed
  here without it).

The floors table records the key of the sample it was scored on (``floor_key``: the task, the
scoring settings and the code sizes); ``score-networks`` refuses a floors table whose key is not
its own, so a table made for another task or other settings is never appended.
"""

from __future__ import annotations

import argparse
import hashlib
import json

from disentangle.jobs.arguments import json_argument

FLOOR_SETTINGS = ("n_points", "n_bins", "dci_estimators", "ood_penalty", "floor_draws")
FLOOR_COLUMNS = ["n_tasks", "seed", "metric", "value", "family", "code_size"]
#: the seed of the scoring sample's generator. Not a named stream of ``disentangle.seeding``: a
#: derived seed would draw another sample and change every comparison table, so the draws keep
#: the seed they were first made with (0), named here.
SCORING_SAMPLE_SEED = 0


def floor_settings(settings: dict) -> dict:
    """The comparison settings the floors depend on (``floor_draws`` defaulted)."""
    from disentangle.comparison import FLOOR_DRAWS

    out = {k: settings[k] for k in FLOOR_SETTINGS if k in settings}
    out.setdefault("floor_draws", FLOOR_DRAWS)
    return out


def floor_sizes(exp) -> tuple[int, int, int]:
    """Code sizes the floors cover: the latents' D, the networks' H, the observations' width."""
    from disentangle.tasks.encoder import ENCODER_WIDTHS

    return exp.task.dim, exp.hidden_size, ENCODER_WIDTHS[-1]


def floor_key(exp, settings: dict) -> str:
    """SHA-256 (16 hex digits) of what the floors depend on."""
    what = {
        "task": exp.task.to_dict(),
        "settings": floor_settings(settings),
        "sizes": floor_sizes(exp),
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def scoring_sample(exp, n: int):
    """The comparison's scoring sample of the task: x*, noise, then the test x*, noise."""
    import torch

    from disentangle.tasks.evidence import sample_trials

    g = torch.Generator().manual_seed(SCORING_SAMPLE_SEED)
    x, noise = sample_trials(exp.task, g, (n,))
    x_test, noise_test = sample_trials(exp.task, g, (n,))
    return x, noise, x_test, noise_test


def compute_floors(exp, settings: dict) -> list[dict]:
    """Floor rows (``FLOOR_COLUMNS``) of ``exp``'s task on its scoring sample."""
    from disentangle.comparison import discretise, floor_rows

    s = floor_settings(settings)
    x, _, x_test, _ = scoring_sample(exp, int(s["n_points"]))
    labels = discretise(x.numpy(), int(s["n_bins"]))
    rows = floor_rows(
        x.numpy(),
        x_test.numpy(),
        labels,
        floor_sizes(exp),
        int(s["dci_estimators"]),
        float(s["ood_penalty"]),
        int(s["floor_draws"]),
    )
    return [{"n_tasks": 0, **r} for r in rows]


def read_floors(path: str, key: str) -> list[dict]:
    """The rows of a floors table, after checking that it was scored for ``key``."""
    from disentangle.io import read_parquet

    df = read_parquet(path)
    found = sorted(set(df["floor_key"])) if "floor_key" in df else []
    if found != [key]:
        raise SystemExit(
            f"{path}: floors scored for sample key {found or 'none'}, this experiment's is {key!r}"
            " (another task, code size or comparison setting): rebuild it"
        )
    return df[FLOOR_COLUMNS].to_dict("records")


def run_floors(args: argparse.Namespace) -> None:
    from disentangle.experiment import ExperimentSpec
    from disentangle.io import atomic_parquet
    from disentangle.jobs.tables import with_columns

    settings, context = json_argument(args.settings), json_argument(args.context)
    exp = ExperimentSpec.from_dict(args.experiment, json_argument(args.spec))
    rows = compute_floors(exp, settings)
    key = floor_key(exp, settings)
    df = with_columns(rows, {**exp.columns(), "dataset": "task", **context, "floor_key": key})
    atomic_parquet(df, args.out)


def run_score_networks(args: argparse.Namespace) -> None:
    import torch

    from disentangle.comparison import (
        PCS_FAMILY,
        code_rows,
        discretise,
        sample_metric_rows,
        task_ood_rows,
        top_pcs,
    )
    from disentangle.io import atomic_parquet
    from disentangle.jobs.ensemble import load_trained_ensemble
    from disentangle.jobs.generative import task_data
    from disentangle.jobs.tables import with_columns
    from disentangle.metrics.ood import final_states
    from disentangle.progress import Progress

    settings, context = json_argument(args.settings), json_argument(args.context)
    trained = load_trained_ensemble(args.model, args.ingredients, args.device, args.threads)
    exp, model, encoder, members = trained.spec, trained.model, trained.encoder, trained.members
    key = floor_key(exp, settings)
    floors = read_floors(args.floors, key) if args.floors else None  # checked before any work
    n = int(settings["n_points"])
    x, noise, x_test, noise_test = scoring_sample(exp, n)
    with torch.no_grad():
        states = final_states(model, encoder, exp.task, x, noise).cpu().numpy()
        states_test = final_states(model, encoder, exp.task, x_test, noise_test).cpu().numpy()
    labels = discretise(x.numpy(), int(settings["n_bins"]))
    estimators, penalty = int(settings["dci_estimators"]), float(settings["ood_penalty"])
    counts = [n for n, _ in members]
    scored = {min(counts), max(counts)} if settings["network_tasks"] == "extremes" else set(counts)
    chosen = [i for i, (n_tasks, _) in enumerate(members) if n_tasks in scored]
    progress = Progress("scoring networks (full states, then top-D PCs)", 2 * len(chosen))
    rows = []
    for i, (n_tasks, seed) in enumerate(members):
        if i not in chosen:
            continue
        progress.update(chosen.index(i))
        member = sample_metric_rows(states[i], labels, x.numpy(), seed, estimators)
        member += task_ood_rows(states[i], x.numpy(), states_test[i], x_test.numpy(), penalty)
        rows += [{"n_tasks": n_tasks, "seed": seed, **r} for r in member]
    # the raw observations of the first network's encoder, noise-free, as the baseline
    obs, xr = task_data(settings, args.ingredients, "eval")
    obs_test, xr_test = task_data(settings, args.ingredients, "eval_test")
    labels_raw = discretise(xr, int(settings["n_bins"]))
    raw = sample_metric_rows(obs.astype("float64"), labels_raw, xr, 0, estimators)
    raw += task_ood_rows(obs, xr, obs_test, xr_test, penalty)
    rows += [{"n_tasks": 0, "seed": 0, "family": "raw", **r} for r in raw]
    # equal code size (disentangle.comparison): each scored state's top-D principal components
    # (PCA fitted on the scoring sample), and the floors: random linear codes of x* of each size
    hidden, dim = states.shape[-1], exp.task.dim
    for row in rows:
        row.setdefault("family", "multi-task")
        row["code_size"] = hidden if row["family"] == "multi-task" else obs.shape[1]
    for i, (n_tasks, seed) in enumerate(members):
        if i not in chosen:
            continue
        progress.update(len(chosen) + chosen.index(i))
        pcs, pcs_test = top_pcs(states[i], states_test[i], dim)
        member = code_rows(
            pcs, labels, x.numpy(), pcs_test, x_test.numpy(), seed, estimators, penalty
        )
        rows += [
            {"n_tasks": n_tasks, "seed": seed, **r, "family": PCS_FAMILY, "code_size": dim}
            for r in member
        ]
    progress.update(progress.total)
    rows += floors if floors is not None else compute_floors(exp, settings)
    columns = {**exp.columns(), "dataset": "task", **context}
    df = with_columns(rows, columns, trailing=trained.device_columns)
    atomic_parquet(df, args.out)


def add_parser(sub) -> None:
    p = sub.add_parser("floors", help="the random-linear-code floors of the comparison's metrics")
    p.add_argument("--experiment", required=True)
    p.add_argument("--spec", required=True, help="resolved experiment config (JSON)")
    p.add_argument("--settings", required=True, help="config['comparison'] (JSON)")
    p.add_argument("--context", default="{}", help="extra columns for every row (JSON)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=run_floors)

    p = sub.add_parser("score-networks", help="disentanglement metrics of multi-task networks")
    p.add_argument("--model", required=True)
    p.add_argument("--ingredients", required=True)
    p.add_argument("--settings", required=True, help="config['comparison'] (JSON)")
    p.add_argument("--context", default="{}", help="extra columns for every row (JSON)")
    p.add_argument("--floors", default=None, help="floors table of this task (else computed here)")
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=run_score_networks)
