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
    from disentangle.io import atomic_parquet, unlink
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
    unlink(args.checkpoint)  # every artefact is written: drop the checkpoint (and its sidecar)


def cmd_ood(args: argparse.Namespace) -> None:
    import torch

    from disentangle.data.ingredients import load_ingredients
    from disentangle.io import atomic_parquet
    from disentangle.metrics.ood import ood_by_decoder
    from disentangle.training import load_trained, resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    settings, context = _json(args.settings), _json(args.context)
    exp, model, _, encoder, obj = load_trained(args.model, resolve_device(args.device))
    evaluation = load_ingredients(args.ingredients)["evaluation"]
    # the configured decoder to --out; the closed-form ridge decoder on the same states to
    # --out-ridge (the same rows when the configured decoder is ridge)
    outputs = [(settings["decoder"], args.out)]
    if args.out_ridge:
        outputs.append(("ridge", args.out_ridge))
    members = [tuple(m) for m in obj["members"]]
    decoders = [decoder for decoder, _ in outputs]
    tables = ood_by_decoder(model, encoder, exp.task, members, evaluation, settings, decoders)
    for decoder, out in outputs:
        df = tidy(tables[decoder], exp, {"decoder": decoder, **context})
        atomic_parquet(df, out)
        summary = df.groupby(["n_tasks", "metric"])["value"].median().unstack()
        print(f"median r² per task count ({decoder} decoder):\n{summary}", file=sys.stderr)


def _load(args: argparse.Namespace):
    """Threads, the trained ensemble and the experiment's evaluation trials."""
    import torch

    from disentangle.data.ingredients import load_ingredients
    from disentangle.training import load_trained, resolve_device

    if args.threads:
        torch.set_num_threads(args.threads)
    exp, model, _, encoder, obj = load_trained(args.model, resolve_device(args.device))
    ingredients = load_ingredients(args.ingredients)
    return exp, model, encoder, [tuple(m) for m in obj["members"]], ingredients


def cmd_angles(args: argparse.Namespace) -> None:
    from disentangle.analysis.tables import angle_table
    from disentangle.io import atomic_parquet

    settings, context = _json(args.settings), _json(args.context)
    exp, model, encoder, members, ingredients = _load(args)
    table = angle_table(
        model,
        encoder,
        exp.task,
        members,
        ingredients["evaluation"],
        settings["penalty"],
        settings["penalty_sweep"],
        ingredients["boundaries"],
    )
    df = tidy(table.to_dict("records"), exp, {"decoder": "ridge", **context})
    atomic_parquet(df, args.out)
    chosen = df[df.selected].groupby("n_tasks")["value"].median()
    print(
        f"median angle (deg) per task count at penalty {settings['penalty']}:\n{chosen}",
        file=sys.stderr,
    )


def cmd_sparsity(args: argparse.Namespace) -> None:
    from disentangle.analysis.tables import sparsity_table
    from disentangle.io import atomic_parquet

    settings, context = _json(args.settings), _json(args.context)
    exp, model, encoder, members, _ = _load(args)
    table = sparsity_table(
        model, encoder, exp.task, members, int(settings["n_stimuli"]), int(settings["seed"])
    )
    atomic_parquet(tidy(table.to_dict("records"), exp, context), args.out)


def cmd_dynamics(args: argparse.Namespace) -> None:
    from disentangle.analysis.tables import dynamics_tables, pick_member
    from disentangle.io import atomic_parquet

    settings, context = _json(args.settings), _json(args.context)
    exp, model, encoder, members, _ = _load(args)
    k = pick_member(members, int(settings["n_tasks"]), int(settings["seed"]))
    n_tasks, seed = members[k]
    tables = dynamics_tables(
        model,
        encoder,
        exp.task,
        k,
        int(settings["seed"]),
        n_trials=int(settings["n_trials"]),
        n_starts=int(settings["fixed_points"]["n_starts"]),
        n_iters=int(settings["fixed_points"]["n_iters"]),
    )
    member = {"n_tasks": n_tasks, "seed": seed, **context}
    for table, out in zip(
        tables, (args.trajectories, args.fixed_points, args.spectrum), strict=True
    ):
        atomic_parquet(tidy(table.to_dict("records"), exp, member), out)
    print(
        f"network N={n_tasks} seed={seed}: {len(tables[1])} distinct fixed points; "
        f"top eigenvalues (real) {tables[2][tables[2]['rank'] < 3].real.round(3).tolist()}",
        file=sys.stderr,
    )


def cmd_tuning(args: argparse.Namespace) -> None:
    from disentangle.analysis.tables import pick_member, tuning_table
    from disentangle.io import atomic_parquet

    settings, context = _json(args.settings), _json(args.context)
    exp, model, encoder, members, _ = _load(args)
    k = pick_member(members, int(settings["n_tasks"]), int(settings["seed"]))
    table = tuning_table(model, encoder, exp.task, k, int(settings["tuning_grid"]))
    n_tasks, seed = members[k]
    atomic_parquet(
        tidy(table.to_dict("records"), exp, {"n_tasks": n_tasks, "seed": seed, **context}), args.out
    )


def cmd_examples(args: argparse.Namespace) -> None:
    from disentangle.analysis.tables import (
        encoder_example_table,
        pick_member,
        task_example_table,
    )
    from disentangle.data.ingredients import load_ingredients
    from disentangle.experiment import ExperimentSpec
    from disentangle.io import atomic_parquet

    settings, context = _json(args.settings), _json(args.context)
    ingredients = load_ingredients(args.ingredients)
    exp = ExperimentSpec.from_dict(ingredients["experiment"], ingredients["spec"])
    members = [tuple(m) for m in ingredients["members"]]
    k = pick_member(members, int(settings["n_tasks"]), int(settings["seed"]))
    n_tasks, seed = members[k]
    member = {"n_tasks": n_tasks, "seed": seed, **context}
    task = task_example_table(exp.task, n_tasks, seed)
    atomic_parquet(tidy(task.to_dict("records"), exp, member), args.task)
    enc = encoder_example_table(exp.task, ingredients["encoders"][k], seed)
    atomic_parquet(tidy(enc.to_dict("records"), exp, member), args.encoder)


def cmd_theory(args: argparse.Namespace) -> None:
    import torch

    from disentangle.checks import build_check
    from disentangle.io import atomic_parquet

    torch.set_num_threads(1)  # small float64 linear algebra and tiny models: one thread is fastest
    table = build_check(args.check, args.seed, args.size)
    table.insert(0, "check", args.check)
    for key, value in _json(args.context).items():
        table.insert(0, key, value)
    atomic_parquet(table, args.out)


def _generative_source(
    dataset: str,
    settings: dict,
    ingredients_path: str | None,
    dsprites_source: str = "procedural",
    dsprites_path: str | None = None,
):
    """The data a generative model trains on: dSprites frames (rendered, or read from the user's
    copy of DeepMind's file: ``--dsprites-source npz --dsprites-path``), or the task's
    observations (the dSprites options do not apply to them and are ignored)."""
    from disentangle.generative.sources import ArraySource, DSpritesSource

    if dataset == "dsprites":
        return DSpritesSource(dsprites_source, dsprites_path)
    obs, x = _task_data(settings, ingredients_path, "train")
    return ArraySource(obs)


def _task_data(settings: dict, ingredients_path: str, split: str):
    """f(x*) and x* of the comparison's task data (train and eval splits use different seeds)."""
    from disentangle.comparison import task_observations
    from disentangle.data.ingredients import load_ingredients
    from disentangle.experiment import ExperimentSpec

    ingredients = load_ingredients(ingredients_path)
    exp = ExperimentSpec.from_dict(ingredients["experiment"], ingredients["spec"])
    seed = {"train": 0, "eval": 1, "eval_test": 2}[split]
    return task_observations(
        ingredients["encoders"][0], exp.task.dim, int(settings["n_points"]), seed, exp.task.encoder
    )


def cmd_train_generative(args: argparse.Namespace) -> None:
    from disentangle.generative.train import train_generative

    model = _json(args.model_spec)
    source = _generative_source(
        model["dataset"],
        _json(args.settings),
        args.ingredients,
        args.dsprites_source,
        args.dsprites_path,
    )
    result = train_generative(
        model["spec"],
        source,
        args.out,
        args.checkpoint,
        model["steps"],
        batch_size=args.batch_size,
        threads=args.threads,
        cleanup=True,
    )
    if result is None:
        sys.exit(3)


def cmd_score_generative(args: argparse.Namespace) -> None:
    import torch

    from disentangle.comparison import discretise, dsprites_rows, sample_metric_rows, task_ood_rows
    from disentangle.generative.train import load_generative, represent
    from disentangle.io import atomic_parquet

    torch.set_num_threads(args.threads or 1)
    settings, info, context = _json(args.settings), _json(args.model_spec), _json(args.context)
    model, _ = load_generative(args.model)
    seed = int(info["spec"]["seed"])
    if info["dataset"] == "dsprites":
        source = _generative_source(
            "dsprites", settings, args.ingredients, args.dsprites_source, args.dsprites_path
        )
        rows = dsprites_rows(
            model,
            int(settings["n_points"]),
            seed,
            int(settings["dci_estimators"]),
            settings["intervention"],
            source=source,
        )
    else:
        obs, x = _task_data(settings, args.ingredients, "eval")
        obs_test, x_test = _task_data(settings, args.ingredients, "eval_test")
        codes, codes_test = represent(model, obs), represent(model, obs_test)
        labels = discretise(x, int(settings["n_bins"]))
        rows = sample_metric_rows(codes, labels, x, seed, int(settings["dci_estimators"]))
        rows += task_ood_rows(codes, x, codes_test, x_test, float(settings["ood_penalty"]))
    meta = {
        "model": args.name,
        "group": info["group"],
        "family": "generative",
        "method": info["spec"]["method"],
        "dataset": info["dataset"],
        "seed": seed,
        "swept": info["swept"] or "",
        "swept_value": info["swept_value"],
        "train_steps": info["steps"],
        **context,
    }
    atomic_parquet(_with_columns(rows, meta), args.out)


def cmd_traversals(args: argparse.Namespace) -> None:
    import numpy as np

    from disentangle.comparison import traversal_table
    from disentangle.generative.train import load_generative
    from disentangle.io import atomic_parquet

    settings, info = _json(args.settings), _json(args.model_spec)
    model, _ = load_generative(args.model)
    base = np.array([0, 5, 0, 16, 16])  # a large square in the middle of the frame
    table = traversal_table(
        model, base, int(settings["traversal"]["steps"]), float(settings["traversal"]["limit"])
    )
    meta = {
        "model": args.name,
        "group": info["group"],
        "method": info["spec"]["method"],
        "seed": int(info["spec"]["seed"]),
        "swept": info["swept"] or "",
        "swept_value": info["swept_value"],
        **_json(args.context),
    }
    atomic_parquet(_with_columns(table.to_dict("records"), meta), args.out)


def cmd_timings(args: argparse.Namespace) -> None:
    from disentangle.timings import read_benchmarks, report

    jobs = read_benchmarks(args.results)
    print(f"{args.results}: {report(jobs, args.cores, args.top)}")
    if args.out:
        jobs.to_csv(args.out, index=False)


def _with_columns(rows: list[dict], meta: dict) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for i, (key, value) in enumerate(meta.items()):
        df.insert(i, key, value)
    return df


def _analysis_parser(sub, name: str, helptext: str, func, outputs: list[str]):
    p = sub.add_parser(name, help=helptext)
    p.add_argument("--model", required=name != "examples")
    p.add_argument("--ingredients", required=True)
    p.add_argument("--settings", required=True, help="the analysis settings (JSON)")
    p.add_argument("--context", default="{}", help="extra columns for every row (JSON)")
    for out in outputs:
        p.add_argument(f"--{out.replace('_', '-')}", dest=out, required=True)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=func)


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
    p.add_argument("--out", required=True, help="the configured decoder's rows (parquet)")
    p.add_argument("--out-ridge", help="also the closed-form ridge decoder's rows (parquet)")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.set_defaults(func=cmd_ood)

    _analysis_parser(sub, "angles", "angles between decoder read-out axes", cmd_angles, ["out"])
    _analysis_parser(sub, "sparsity", "lifetime sparseness per network", cmd_sparsity, ["out"])
    _analysis_parser(
        sub,
        "dynamics",
        "PCA, fixed points and Jacobian spectra of one network",
        cmd_dynamics,
        ["trajectories", "fixed_points", "spectrum"],
    )
    _analysis_parser(
        sub, "tuning", "single-unit responses on the stimulus grid", cmd_tuning, ["out"]
    )
    _analysis_parser(
        sub,
        "examples",
        "the task and the mixing encoder, illustrated",
        cmd_examples,
        ["task", "encoder"],
    )

    p = sub.add_parser("train-generative", help="train one generative model")
    p.add_argument("--name", required=True)
    p.add_argument("--model-spec", required=True, help="the resolved generative model (JSON)")
    p.add_argument("--settings", required=True, help="config['comparison'] (JSON)")
    p.add_argument("--ingredients", help="the task experiment's ingredients (task data only)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--out", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--dsprites-source", choices=("procedural", "npz"), default="procedural")
    p.add_argument("--dsprites-path", help="DeepMind's dSprites .npz (with --dsprites-source npz)")
    p.set_defaults(func=cmd_train_generative)
    for command, func, helptext in (
        ("score-generative", cmd_score_generative, "disentanglement metrics of a model"),
        ("traversals", cmd_traversals, "latent traversals of a dSprites model"),
    ):
        p = sub.add_parser(command, help=helptext)
        p.add_argument("--name", required=True)
        p.add_argument("--model", required=True)
        p.add_argument("--model-spec", required=True)
        p.add_argument("--settings", required=True)
        p.add_argument("--ingredients")
        p.add_argument("--context", default="{}")
        p.add_argument("--out", required=True)
        p.add_argument("--threads", type=int, default=None)
        if command == "score-generative":
            p.add_argument("--dsprites-source", choices=("procedural", "npz"), default="procedural")
            p.add_argument("--dsprites-path", help="DeepMind's dSprites .npz (with npz)")
        p.set_defaults(func=func)
    p = sub.add_parser("theory", help="one closed-form theory check as a tidy table")
    p.add_argument("--check", required=True, help="a key of disentangle.checks.CHECKS")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=0, help="draws / trials (unused by 'sigmoid')")
    p.add_argument("--context", default="{}")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_theory)

    p = sub.add_parser("timings", help="job-minutes per rule from a run's benchmark files")
    p.add_argument("results", help="results/<preset> of a finished (or partial) run")
    p.add_argument("--cores", type=int, default=2, help="cores the run had (for utilisation)")
    p.add_argument("--top", type=int, default=10, help="how many of the slowest jobs to list")
    p.add_argument("--out", help="also write the per-job table (CSV)")
    p.set_defaults(func=cmd_timings)

    from disentangle.jobs import add_parsers

    add_parsers(sub)  # the jobs that live in disentangle.jobs

    args = parser.parse_args(argv)
    from disentangle.runtime import tune_allocator

    tune_allocator()  # keep freed tensors' pages in the process (disentangle.runtime)
    from disentangle.integrity import IntegrityError

    try:
        args.func(args)
    except IntegrityError as err:  # a damaged input: one line that says what to do, no traceback
        raise SystemExit(f"{args.command}: {err}") from None


if __name__ == "__main__":
    main()
