"""Job functions behind the command line: one module per job, each with an ``add_parser`` that
registers its subcommand (``python -m disentangle <command>``) and a ``run(args)``."""

from __future__ import annotations

from disentangle.jobs import baselines, claims, comparison, index

JOBS = (baselines, claims, comparison, index)


def add_parsers(sub) -> None:
    """Register every job's subcommand on the CLI's subparsers."""
    for job in JOBS:
        job.add_parser(sub)
