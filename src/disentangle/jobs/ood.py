"""The tables of a trained ensemble's read-out: ``ood`` (OOD and ID regression r², the paper's
generalisation metric), ``angles`` (the angles between the decoder's read-out axes) and
``sparsity`` (the hidden units' lifetime sparseness)."""

from __future__ import annotations

import argparse
import sys
import time

from disentangle.jobs.arguments import add_analysis_parser, json_argument

#: the log line that gives the seconds the baselines took inside an ``ood`` job
BASELINE_SECONDS = "baselines table computed and written, seconds:"


def run_ood(args: argparse.Namespace) -> None:
    from disentangle.io import atomic_parquet
    from disentangle.jobs.ensemble import load_trained_ensemble
    from disentangle.jobs.tables import with_columns
    from disentangle.metrics.ood import ood_by_decoder

    settings, context = json_argument(args.settings), json_argument(args.context)
    trained = load_trained_ensemble(args.model, args.ingredients, args.device, args.threads)
    exp = trained.spec
    # the configured decoder to --out; the closed-form ridge decoder on the same states to
    # --out-ridge (the same rows when the configured decoder is ridge)
    outputs = [(settings["decoder"], args.out)]
    if args.out_ridge:
        outputs.append(("ridge", args.out_ridge))
    decoders = [decoder for decoder, _ in outputs]
    tables = ood_by_decoder(
        trained.model,
        trained.encoder,
        exp.task,
        trained.members,
        trained.ingredients["evaluation"],
        settings,
        decoders,
    )
    for decoder, out in outputs:
        columns = {**exp.columns(), "decoder": decoder, **context}
        df = with_columns(tables[decoder], columns, trailing=trained.device_columns)
        atomic_parquet(df, out)
        summary = df.groupby(["n_tasks", "metric"])["value"].median().unstack()
        print(f"median r² per task count ({decoder} decoder):\n{summary}", file=sys.stderr)
    if args.out_baselines:
        # the same process: the ingredients are loaded once (benchmarks/baseline_cost.py reads
        # the seconds this line prints)
        from disentangle.jobs.baselines import baseline_table, write_baselines

        start = time.perf_counter()
        device = next(trained.model.parameters()).device
        df = baseline_table(
            exp, trained.ingredients, settings, context, device, trained.device_columns
        )
        write_baselines(df, args.out_baselines)
        print(f"{BASELINE_SECONDS} {time.perf_counter() - start:.2f}", file=sys.stderr)


def run_angles(args: argparse.Namespace) -> None:
    from disentangle.analysis.table_builders import angle_table
    from disentangle.io import atomic_parquet
    from disentangle.jobs.ensemble import load_trained_ensemble
    from disentangle.jobs.tables import with_columns

    settings, context = json_argument(args.settings), json_argument(args.context)
    trained = load_trained_ensemble(args.model, args.ingredients, args.device, args.threads)
    exp = trained.spec
    table = angle_table(
        trained.model,
        trained.encoder,
        exp.task,
        trained.members,
        trained.ingredients["evaluation"],
        settings["penalty"],
        settings["penalty_sweep"],
        trained.ingredients["boundaries"],
    )
    columns = {**exp.columns(), "decoder": "ridge", **context}
    df = with_columns(table.to_dict("records"), columns, trailing=trained.device_columns)
    atomic_parquet(df, args.out)
    chosen = df[df.selected].groupby("n_tasks")["value"].median()
    print(
        f"median angle (deg) per task count at penalty {settings['penalty']}:\n{chosen}",
        file=sys.stderr,
    )


def run_sparsity(args: argparse.Namespace) -> None:
    from disentangle.analysis.table_builders import sparsity_table
    from disentangle.io import atomic_parquet
    from disentangle.jobs.ensemble import load_trained_ensemble
    from disentangle.jobs.tables import with_columns

    settings, context = json_argument(args.settings), json_argument(args.context)
    trained = load_trained_ensemble(args.model, args.ingredients, args.device, args.threads)
    exp = trained.spec
    table = sparsity_table(
        trained.model,
        trained.encoder,
        exp.task,
        trained.members,
        int(settings["n_stimuli"]),
        int(settings["seed"]),
    )
    columns = {**exp.columns(), **context}
    df = with_columns(table.to_dict("records"), columns, trailing=trained.device_columns)
    atomic_parquet(df, args.out)


def add_parser(sub) -> None:
    p = sub.add_parser("ood", help="OOD and ID regression r² of a trained ensemble")
    p.add_argument("--model", required=True)
    p.add_argument("--ingredients", required=True)
    p.add_argument("--settings", required=True, help="config['metrics']['ood'] (JSON)")
    p.add_argument("--context", default="{}", help="extra columns for every row (JSON)")
    p.add_argument("--out", required=True, help="the configured decoder's rows (parquet)")
    p.add_argument("--out-ridge", help="also the closed-form ridge decoder's rows (parquet)")
    p.add_argument(
        "--out-baselines", help="also the experiment's baselines table (parquet; jobs/baselines.py)"
    )
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=run_ood)

    add_analysis_parser(sub, "angles", "angles between decoder read-out axes", run_angles, ["out"])
    add_analysis_parser(sub, "sparsity", "lifetime sparseness per network", run_sparsity, ["out"])
