"""The ``theory`` job: one check of ``disentangle.theory_checks`` (a closed-form check of the
paper's theory, or a small trained-model study) as a tidy table."""

from __future__ import annotations

import argparse

from disentangle.jobs.arguments import json_argument


def run(args: argparse.Namespace) -> None:
    import torch

    from disentangle.io import atomic_parquet
    from disentangle.theory_checks import build_check

    torch.set_num_threads(1)  # small float64 linear algebra and tiny models: one thread is fastest
    table = build_check(args.check, args.seed, args.size)
    table.insert(0, "check", args.check)
    for key, value in json_argument(args.context).items():
        table.insert(0, key, value)
    atomic_parquet(table, args.out)


def add_parser(sub) -> None:
    p = sub.add_parser("theory", help="one closed-form theory check as a tidy table")
    p.add_argument("--check", required=True, help="a key of disentangle.theory_checks.CHECKS")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=0, help="draws / trials (unused by 'sigmoid')")
    p.add_argument("--context", default="{}")
    p.add_argument("--out", required=True)
    p.set_defaults(func=run)
