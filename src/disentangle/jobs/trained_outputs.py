"""The ``trained-outputs`` job: Theorem 3.1, part 1, on an experiment's trained networks
(``disentangle.analysis.trained_outputs``), as a tidy table."""

from __future__ import annotations

import argparse
import sys

from disentangle.jobs.arguments import add_analysis_parser, json_argument


def run(args: argparse.Namespace) -> None:
    from disentangle.analysis.trained_outputs import trained_output_rows
    from disentangle.data.ingredients import load_ingredients
    from disentangle.io import atomic_parquet
    from disentangle.jobs.ensemble import job_device
    from disentangle.jobs.tables import with_columns
    from disentangle.training import load_trained

    settings, context = json_argument(args.settings), json_argument(args.context)
    device, device_columns = job_device(args.device, args.threads)
    exp, model, readout, encoder, obj = load_trained(args.model, device)
    ingredients = load_ingredients(args.ingredients)
    evaluation = ingredients["evaluation"]
    n = int(settings.get("n_trials", evaluation["x_test"].shape[0]))
    rows = trained_output_rows(
        model,
        readout,
        encoder,
        exp.task,
        [tuple(m) for m in obj["members"]],
        ingredients["boundaries"],
        evaluation["x_test"][:n],
        evaluation["noise_test"][:n],
        [int(t) for t in settings["steps"]],
    )
    df = with_columns(rows, {**exp.columns(), **context}, trailing=device_columns)
    atomic_parquet(df, args.out)
    summary = df.groupby(["metric", "steps"])["value"].median().unstack()
    print(f"median over networks:\n{summary}", file=sys.stderr)


def add_parser(sub) -> None:
    add_analysis_parser(
        sub, "trained-outputs", "trained outputs vs the Bayes-optimal outputs (Thm 3.1)", run,
        ["out"],
    )  # fmt: skip
