"""Command-line entry points that the workflow's rules call (``python -m disentangle <command>``).

Every command takes its settings as JSON (the rule's ``params``), so Snakemake reruns a job when a
setting it depends on changes, and writes its outputs atomically.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd


def _json(text: str) -> dict:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise SystemExit(f"invalid JSON argument ({err}): {text[:200]!r}") from None


def tidy(rows: list[dict], exp, context: dict) -> pd.DataFrame:
    """Measurement rows with the experiment's settings and ``context`` as leading columns."""
    df = pd.DataFrame(rows)
    meta = {**exp.columns(), **context}
    for i, (key, value) in enumerate(meta.items()):
        df.insert(i, key, value)
    return df


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
        cleanup=False,
    )
    if result is None:
        sys.exit(3)  # interrupted on purpose: no final artefact
    if args.history:
        curve = pd.DataFrame(result["history"]).melt(
            id_vars=["step", "n_tasks", "seed"], var_name="metric", value_name="value"
        )
        atomic_parquet(tidy(curve.to_dict("records"), exp, _json(args.context)), args.history)
    Path(args.checkpoint).unlink(missing_ok=True)  # every artefact is written: drop the checkpoint


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
    df = tidy(rows, exp, {"decoder": settings["decoder"], **context})
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
    p.add_argument("--context", default="{}", help="extra columns for the history (JSON)")
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
