"""The network-training chain of an experiment: ``ingredients`` (every network's mixing encoder f
and boundaries, and the evaluation trials) and ``train`` (the ensemble, and its training curve)."""

from __future__ import annotations

import argparse
import sys

from disentangle.jobs.arguments import json_argument


def run_ingredients(args: argparse.Namespace) -> None:
    from disentangle.data.ingredients import write_ingredients
    from disentangle.experiment import ExperimentSpec

    exp = ExperimentSpec.from_dict(args.experiment, json_argument(args.spec))
    ev = json_argument(args.evaluation)
    write_ingredients(exp, args.out, int(ev["n_train"]), int(ev["n_test"]), int(ev["seed"]))


def run_train(args: argparse.Namespace) -> None:
    import pandas as pd

    from disentangle.experiment import ExperimentSpec
    from disentangle.io import atomic_parquet, unlink
    from disentangle.jobs.tables import with_columns
    from disentangle.provenance import device_columns
    from disentangle.training import train_ensemble

    exp = ExperimentSpec.from_dict(args.experiment, json_argument(args.spec))
    result = train_ensemble(
        exp,
        args.ingredients,
        args.out,
        args.checkpoint,
        device=args.device,
        threads=args.threads,
        stop_after=args.stop_after,
        cleanup=False,
    )
    if result is None:
        sys.exit(3)  # interrupted on purpose: no final artefact
    if args.history:
        curve = pd.DataFrame(result["history"]).melt(
            id_vars=["step", "n_tasks", "seed"], var_name="metric", value_name="value"
        )
        columns = {**exp.columns(), **json_argument(args.context)}
        trailing = device_columns(result["info"]["device"])  # where it trained
        atomic_parquet(with_columns(curve.to_dict("records"), columns, trailing), args.history)
    unlink(args.checkpoint)  # every artefact is written: drop the checkpoint (and its sidecar)


def add_parser(sub) -> None:
    p = sub.add_parser("ingredients", help="encoders, boundaries and evaluation trials")
    p.add_argument("--experiment", required=True)
    p.add_argument("--spec", required=True, help="resolved experiment config (JSON)")
    p.add_argument("--evaluation", required=True, help="evaluation-set settings (JSON)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=run_ingredients)

    p = sub.add_parser("train", help="train one experiment's ensemble")
    p.add_argument("--experiment", required=True)
    p.add_argument("--spec", required=True)
    p.add_argument("--ingredients", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--checkpoint", required=True, help="undeclared path for periodic checkpoints")
    p.add_argument("--history", help="tidy training-curve table (parquet)")
    p.add_argument("--context", default="{}", help="extra columns for the history (JSON)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--stop-after", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run_train)
