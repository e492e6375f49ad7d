"""An experiment's OOD r² baselines (``disentangle.metrics.baselines``) as a tidy table beside its
networks' ``ood_r2`` table. The workflow writes it from the ``ood`` job (``jobs/ood.py``,
``--out-baselines``: one process, the ingredients loaded once); the ``baselines`` command computes
it alone, without a trained network."""

from __future__ import annotations

import argparse
import json
import sys


def baseline_table(exp, ingredients: dict, settings: dict, context: dict, device, device_columns):
    """The experiment's baselines table (``disentangle.metrics.baselines``) from its spec and
    ingredients: the networks at their initial weights, the same encoders, trials and decoders
    (the configured one and the closed-form ridge) as its ``ood_r2`` tables. The workflow computes
    it inside the ``ood`` job (``--out-baselines``), which has the ingredients loaded already."""
    from disentangle.jobs.tables import with_columns
    from disentangle.metrics.baselines import baseline_rows
    from disentangle.training import build_ensemble

    model, _, _, _ = build_ensemble(exp, ingredients)  # the networks at their initial weights
    model = model.to(device).eval()
    members = [tuple(m) for m in ingredients["members"]]
    decoders = list(dict.fromkeys([settings["decoder"], "ridge"]))
    rows = baseline_rows(
        model,
        ingredients["encoders"],
        exp.task,
        members,
        ingredients["evaluation"],
        settings,
        decoders,
    )
    return with_columns(rows, {**exp.columns(), **context}, trailing=device_columns)


def write_baselines(df, out: str) -> None:
    """Write the table (checksummed) and print each baseline's median OOD r²."""
    from disentangle.io import atomic_parquet

    atomic_parquet(df, out)
    ood = df[df["metric"] == "ood_r2"]
    summary = ood.groupby(["baseline", "decoder"])["value"].median()
    print(f"median OOD r² of each baseline:\n{summary}", file=sys.stderr)


def run(args: argparse.Namespace) -> None:
    from disentangle.data.ingredients import load_ingredients
    from disentangle.experiment import ExperimentSpec
    from disentangle.jobs.ensemble import job_device

    device, device_columns = job_device(args.device, args.threads)
    settings, context = json.loads(args.settings), json.loads(args.context)
    exp = ExperimentSpec.from_dict(args.experiment, json.loads(args.spec))
    ingredients = load_ingredients(args.ingredients)
    df = baseline_table(exp, ingredients, settings, context, device, device_columns)
    write_baselines(df, args.out)


def add_parser(sub) -> None:
    p = sub.add_parser("baselines", help="OOD r² baselines of an experiment (no trained network)")
    p.add_argument("--experiment", required=True)
    p.add_argument("--spec", required=True, help="resolved experiment config (JSON)")
    p.add_argument("--ingredients", required=True)
    p.add_argument("--settings", required=True, help="config['metrics']['ood'] (JSON)")
    p.add_argument("--context", default="{}", help="extra columns for every row (JSON)")
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=run)
