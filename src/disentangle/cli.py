"""Command-line entry points that the workflow's rules call (``python -m disentangle <command>``).

Every command takes its settings as JSON (the rule's ``params``), so Snakemake reruns a job when a
setting it depends on changes, and writes its outputs atomically.
"""

from __future__ import annotations

import argparse
import json
import sys

import pandas as pd


def _json(text: str) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise SystemExit(f"invalid JSON argument ({err}): {text[:200]!r}") from None


def cmd_ingredients(args: argparse.Namespace) -> None:
    from disentangle.data.ingredients import write_ingredients
    from disentangle.experiment import ExperimentSpec

    exp = ExperimentSpec.from_dict(args.experiment, _json(args.spec))
    ev = _json(args.evaluation)
    write_ingredients(exp, args.out, int(ev["n_train"]), int(ev["n_test"]), int(ev["seed"]))


def cmd_train(args: argparse.Namespace) -> None:
    from disentangle.experiment import ExperimentSpec
    from disentangle.io import atomic_parquet
    from disentangle.training import train_ensemble

    exp = ExperimentSpec.from_dict(args.experiment, _json(args.spec))
    result = train_ensemble(
        exp,
        args.ingredients,
        args.out,
        args.checkpoint,
        device=args.device,
        threads=args.threads,
        stop_after=args.stop_after,
    )
    if result is None:
        sys.exit(3)  # interrupted on purpose: no final artefact
    if args.history:
        history = pd.DataFrame(result["history"])
        history.insert(0, "architecture", exp.architecture)
        history.insert(0, "experiment", exp.name)
        atomic_parquet(history, args.history)


def cmd_ood(args: argparse.Namespace) -> None:
    import torch

    from disentangle.data.ingredients import load_ingredients
    from disentangle.io import atomic_parquet
    from disentangle.metrics.ood import ood_generalisation
    from disentangle.training import load_trained, resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    settings, context = _json(args.settings), _json(args.context)
    exp, model, _, encoder, obj = load_trained(args.model, resolve_device(args.device))
    evaluation = load_ingredients(args.ingredients)["evaluation"]
    rows = ood_generalisation(
        model, encoder, exp.task, [tuple(m) for m in obj["members"]], evaluation, settings
    )
    df = pd.DataFrame(rows)
    meta = {
        "experiment": exp.name,
        "architecture": exp.architecture,
        "dim": exp.task.dim,
        "noise_sd": exp.task.noise_sd,
        "stimulus_steps": exp.task.stimulus_steps,
        "train_batches": exp.training.n_batches,
        "decoder": settings["decoder"],
        "spec_hash": exp.digest(),
        **context,
    }
    for i, (key, value) in enumerate(meta.items()):
        df.insert(i, key, value)
    atomic_parquet(df, args.out)
    summary = df.groupby(["n_tasks", "metric"])["value"].median().unstack()
    print(f"median r² per task count ({settings['decoder']} decoder):\n{summary}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="disentangle", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingredients", help="encoders, boundaries and evaluation trials")
    p.add_argument("--experiment", required=True)
    p.add_argument("--spec", required=True, help="resolved experiment config (JSON)")
    p.add_argument("--evaluation", required=True, help="evaluation-set settings (JSON)")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_ingredients)

    p = sub.add_parser("train", help="train one experiment's ensemble")
    p.add_argument("--experiment", required=True)
    p.add_argument("--spec", required=True)
    p.add_argument("--ingredients", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--checkpoint", required=True, help="undeclared path for periodic checkpoints")
    p.add_argument("--history", help="tidy training-curve table (parquet)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--stop-after", type=int, default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("ood", help="OOD and ID regression r² of a trained ensemble")
    p.add_argument("--model", required=True)
    p.add_argument("--ingredients", required=True)
    p.add_argument("--settings", required=True, help="config['metrics']['ood'] (JSON)")
    p.add_argument("--context", default="{}", help="extra columns for every row (JSON)")
    p.add_argument("--out", required=True)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=cmd_ood)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
