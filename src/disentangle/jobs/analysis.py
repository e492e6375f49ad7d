"""Analyses of one network of an experiment (config ``analysis``: which task count and seed):
``dynamics`` (PCA trajectories, fixed points, Jacobian spectra), ``tuning`` (single-unit responses
on the stimulus grid), and ``examples`` (the task and the mixing encoder, illustrated; from the
ingredients alone)."""

from __future__ import annotations

import argparse
import sys

from disentangle.jobs.arguments import add_analysis_parser, json_argument


def run_dynamics(args: argparse.Namespace) -> None:
    from disentangle.analysis.table_builders import dynamics_tables, pick_member
    from disentangle.io import atomic_parquet
    from disentangle.jobs.ensemble import load_trained_ensemble
    from disentangle.jobs.tables import with_columns

    settings, context = json_argument(args.settings), json_argument(args.context)
    trained = load_trained_ensemble(args.model, args.ingredients, args.device, args.threads)
    exp, members = trained.spec, trained.members
    k = pick_member(members, int(settings["n_tasks"]), int(settings["seed"]))
    n_tasks, seed = members[k]
    tables = dynamics_tables(
        trained.model,
        trained.encoder,
        exp.task,
        k,
        int(settings["seed"]),
        n_trials=int(settings["n_trials"]),
        n_starts=int(settings["fixed_points"]["n_starts"]),
        n_iters=int(settings["fixed_points"]["n_iters"]),
    )
    columns = {**exp.columns(), "n_tasks": n_tasks, "seed": seed, **context}
    for table, out in zip(
        tables, (args.trajectories, args.fixed_points, args.spectrum), strict=True
    ):
        df = with_columns(table.to_dict("records"), columns, trailing=trained.device_columns)
        atomic_parquet(df, out)
    print(
        f"network N={n_tasks} seed={seed}: {len(tables[1])} distinct fixed points; "
        f"top eigenvalues (real) {tables[2][tables[2]['rank'] < 3].real.round(3).tolist()}",
        file=sys.stderr,
    )


def run_tuning(args: argparse.Namespace) -> None:
    from disentangle.analysis.table_builders import pick_member, tuning_table
    from disentangle.io import atomic_parquet
    from disentangle.jobs.ensemble import load_trained_ensemble
    from disentangle.jobs.tables import with_columns

    settings, context = json_argument(args.settings), json_argument(args.context)
    trained = load_trained_ensemble(args.model, args.ingredients, args.device, args.threads)
    exp, members = trained.spec, trained.members
    k = pick_member(members, int(settings["n_tasks"]), int(settings["seed"]))
    table = tuning_table(trained.model, trained.encoder, exp.task, k, int(settings["tuning_grid"]))
    n_tasks, seed = members[k]
    columns = {**exp.columns(), "n_tasks": n_tasks, "seed": seed, **context}
    df = with_columns(table.to_dict("records"), columns, trailing=trained.device_columns)
    atomic_parquet(df, args.out)


def run_examples(args: argparse.Namespace) -> None:
    from disentangle.analysis.table_builders import (
        encoder_example_table,
        pick_member,
        task_example_table,
    )
    from disentangle.data.ingredients import load_ingredients
    from disentangle.experiment import ExperimentSpec
    from disentangle.io import atomic_parquet
    from disentangle.jobs.tables import with_columns

    settings, context = json_argument(args.settings), json_argument(args.context)
    ingredients = load_ingredients(args.ingredients)
    exp = ExperimentSpec.from_dict(ingredients["experiment"], ingredients["spec"])
    members = [tuple(m) for m in ingredients["members"]]
    k = pick_member(members, int(settings["n_tasks"]), int(settings["seed"]))
    n_tasks, seed = members[k]
    columns = {**exp.columns(), "n_tasks": n_tasks, "seed": seed, **context}
    task = task_example_table(exp.task, n_tasks, seed)
    atomic_parquet(with_columns(task.to_dict("records"), columns), args.task)
    enc = encoder_example_table(exp.task, ingredients["encoders"][k], seed)
    atomic_parquet(with_columns(enc.to_dict("records"), columns), args.encoder)


def add_parser(sub) -> None:
    add_analysis_parser(
        sub,
        "dynamics",
        "PCA, fixed points and Jacobian spectra of one network",
        run_dynamics,
        ["trajectories", "fixed_points", "spectrum"],
    )
    add_analysis_parser(
        sub, "tuning", "single-unit responses on the stimulus grid", run_tuning, ["out"]
    )
    add_analysis_parser(
        sub,
        "examples",
        "the task and the mixing encoder, illustrated",
        run_examples,
        ["task", "encoder"],
    )
