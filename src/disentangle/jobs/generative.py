"""The generative models' jobs (``disentangle.generative``): ``train-generative`` (one model),
``score-generative`` (its disentanglement metrics), ``generative-health`` (did it train: the
checks of ``disentangle.generative.health``) and ``traversals`` (latent traversals of a
dSprites model); and the data a model trains or is scored on (``generative_source``,
``task_data``): dSprites, or the task's observations f(x*)."""

from __future__ import annotations

import argparse
import sys

from disentangle.jobs.arguments import json_argument

#: the seed of each split of the task data (``disentangle.comparison.task_observations``)
TASK_DATA_SEEDS = {"train": 0, "eval": 1, "eval_test": 2}


def generative_source(
    dataset: str,
    settings: dict,
    ingredients_path: str | None,
    dsprites_source: str = "procedural",
    dsprites_path: str | None = None,
    observations: str = "raw",
):
    """The data a generative model trains on: dSprites frames (rendered, or read from the user's
    copy of DeepMind's file: ``--dsprites-source npz --dsprites-path``), or the task's
    observations, ``standardised`` or ``raw`` (the dSprites options do not apply to them and are
    ignored)."""
    from disentangle.generative.sources import ArraySource, DSpritesSource

    if dataset == "dsprites":
        return DSpritesSource(dsprites_source, dsprites_path)
    obs, x = task_data(settings, ingredients_path, "train", observations)
    return ArraySource(obs)


#: how task observations reach a generative model (config ``generative.models.*.observations``)
OBSERVATIONS = ("standardised", "raw")


def task_data(settings: dict, ingredients_path: str, split: str, observations: str = "raw"):
    """f(x*) and x* of the comparison's task data (train and eval splits use different seeds).
    ``observations="standardised"`` z-scores each unit with the *train* split's mean and sd
    (``disentangle.comparison.standardise``), the same map for every split."""
    from disentangle.comparison import standardise, task_observations
    from disentangle.data.ingredients import load_ingredients
    from disentangle.experiment import ExperimentSpec

    if observations not in OBSERVATIONS:
        raise ValueError(f"observations = {observations!r}: expected one of {OBSERVATIONS}")
    ingredients = load_ingredients(ingredients_path)
    exp = ExperimentSpec.from_dict(ingredients["experiment"], ingredients["spec"])

    def split_data(name):
        return task_observations(
            ingredients["encoders"][0],
            exp.task.dim,
            int(settings["n_points"]),
            TASK_DATA_SEEDS[name],
            exp.task.encoder,
        )

    obs, x = split_data(split)
    if observations == "standardised":
        reference = obs if split == "train" else split_data("train")[0]
        obs = standardise(obs, reference)
    return obs, x


def run_train(args: argparse.Namespace) -> None:
    from disentangle.generative.train import train_generative

    model = json_argument(args.model_spec)
    source = generative_source(
        model["dataset"],
        json_argument(args.settings),
        args.ingredients,
        args.dsprites_source,
        args.dsprites_path,
        model_observations(model),
    )
    result = train_generative(
        model["spec"],
        source,
        args.out,
        args.checkpoint,
        model["steps"],
        batch_size=args.batch_size,
        device=args.device,
        threads=args.threads,
        cleanup=True,
    )
    if result is None:
        sys.exit(3)


def model_observations(info: dict) -> str:
    """How a resolved model's task observations are scaled (``disentangle.config``: a task-data
    model always carries the key; a resolved spec without it predates the key: raw)."""
    return info.get("observations", "raw") if info["dataset"] == "task" else "raw"


def model_columns(info: dict, seed: int) -> dict:
    """The columns every table of one generative model carries: its config entry and run."""
    return {
        "group": info["group"],
        "family": "generative",
        "method": info["spec"]["method"],
        "dataset": info["dataset"],
        # task data: standardised or raw f(x*); dSprites frames: "frames"
        "observations": model_observations(info) if info["dataset"] == "task" else "frames",
        "seed": seed,
        "swept": info["swept"] or "",
        "swept_value": info["swept_value"],
        "train_steps": info["steps"],
    }


def run_score(args: argparse.Namespace) -> None:
    import torch

    from disentangle.comparison import discretise, dsprites_rows, sample_metric_rows, task_ood_rows
    from disentangle.generative.train import load_generative, represent
    from disentangle.io import atomic_parquet
    from disentangle.jobs.ensemble import job_device
    from disentangle.jobs.tables import with_columns

    torch.set_num_threads(args.threads or 1)
    device, device_columns = job_device(args.device)
    settings, info = json_argument(args.settings), json_argument(args.model_spec)
    context = json_argument(args.context)
    model, _ = load_generative(args.model, device)
    seed = int(info["spec"]["seed"])
    if info["dataset"] == "dsprites":
        source = generative_source(
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
        obs, x = task_data(settings, args.ingredients, "eval", model_observations(info))
        obs_test, x_test = task_data(
            settings, args.ingredients, "eval_test", model_observations(info)
        )
        codes, codes_test = represent(model, obs), represent(model, obs_test)
        labels = discretise(x, int(settings["n_bins"]))
        rows = sample_metric_rows(codes, labels, x, seed, int(settings["dci_estimators"]))
        rows += task_ood_rows(codes, x, codes_test, x_test, float(settings["ood_penalty"]))
    meta = {"model": args.name, **model_columns(info, seed), **context}
    atomic_parquet(with_columns(rows, meta, trailing=device_columns), args.out)


def run_traversals(args: argparse.Namespace) -> None:
    import numpy as np

    from disentangle.comparison import traversal_table
    from disentangle.generative.train import load_generative
    from disentangle.io import atomic_parquet
    from disentangle.jobs.ensemble import job_device
    from disentangle.jobs.tables import with_columns

    device, device_columns = job_device(args.device, args.threads)
    settings, info = json_argument(args.settings), json_argument(args.model_spec)
    model, _ = load_generative(args.model, device)
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
        **json_argument(args.context),
    }
    df = with_columns(table.to_dict("records"), meta, trailing=device_columns)
    atomic_parquet(df, args.out)


def run_health(args: argparse.Namespace) -> None:
    """The health table of one trained model (``disentangle.generative.health``): its checks on
    ``comparison.health_points`` draws of its own training data and on its training history."""
    import torch

    from disentangle.generative.health import health_rows, sample_health_data
    from disentangle.generative.train import load_generative
    from disentangle.io import atomic_parquet
    from disentangle.jobs.tables import with_columns

    torch.set_num_threads(args.threads or 1)
    settings, info = json_argument(args.settings), json_argument(args.model_spec)
    model, obj = load_generative(args.model)
    seed = int(info["spec"]["seed"])
    source = generative_source(
        info["dataset"],
        settings,
        args.ingredients,
        args.dsprites_source,
        args.dsprites_path,
        model_observations(info),
    )
    data = sample_health_data(source, int(settings["health_points"]), seed)
    rows = health_rows(model, obj, obj["history"], data, name=args.name, seed=seed)
    meta = {**model_columns(info, seed), **json_argument(args.context)}
    atomic_parquet(with_columns(rows, meta), args.out)  # the rows carry "model" already


def history_rows(history: list[dict]) -> list[dict]:
    """A model's training history (``train_generative``'s log: one dict per logged step) as tidy
    rows: step, quantity, value; non-numeric entries are left out."""
    rows = []
    for entry in history:
        step = int(entry["step"])
        for key, value in sorted(entry.items()):
            if key == "step" or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            rows.append({"step": step, "quantity": key, "value": float(value)})
    return rows


def run_history(args: argparse.Namespace) -> None:
    """The training history of one trained model, as a table (``generative_history``)."""
    from disentangle.generative.train import load_generative
    from disentangle.io import atomic_parquet
    from disentangle.jobs.tables import with_columns

    info = json_argument(args.model_spec)
    _, obj = load_generative(args.model)
    seed = int(info["spec"]["seed"])
    rows = history_rows(obj["history"])
    if not rows:
        raise SystemExit(f"{args.model}: the model file holds no training history")
    meta = {"model": args.name, **model_columns(info, seed), **json_argument(args.context)}
    atomic_parquet(with_columns(rows, meta), args.out)


def add_parser(sub) -> None:
    p = sub.add_parser("train-generative", help="train one generative model")
    p.add_argument("--name", required=True)
    p.add_argument("--model-spec", required=True, help="the resolved generative model (JSON)")
    p.add_argument("--settings", required=True, help="config['comparison'] (JSON)")
    p.add_argument("--ingredients", help="the task experiment's ingredients (task data only)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--out", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--dsprites-source", choices=("procedural", "npz"), default="procedural")
    p.add_argument("--dsprites-path", help="DeepMind's dSprites .npz (with --dsprites-source npz)")
    p.set_defaults(func=run_train)
    for command, func, helptext in (
        ("score-generative", run_score, "disentanglement metrics of a model"),
        ("traversals", run_traversals, "latent traversals of a dSprites model"),
        ("generative-health", run_health, "health checks of a trained model"),
        ("generative-history", run_history, "the training history of a model, as a table"),
    ):
        p = sub.add_parser(command, help=helptext)
        p.add_argument("--name", required=True)
        p.add_argument("--model", required=True)
        p.add_argument("--model-spec", required=True)
        p.add_argument("--settings", required=True)
        p.add_argument("--ingredients")
        p.add_argument("--context", default="{}")
        p.add_argument("--out", required=True)
        p.add_argument("--device", default="auto")
        p.add_argument("--threads", type=int, default=None)
        if command in ("score-generative", "generative-health"):
            p.add_argument("--dsprites-source", choices=("procedural", "npz"), default="procedural")
            p.add_argument("--dsprites-path", help="DeepMind's dSprites .npz (with npz)")
        p.set_defaults(func=func)
