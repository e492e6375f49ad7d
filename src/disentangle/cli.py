"""Command-line entry points that the workflow's rules call (``python -m disentangle <command>``).

Every command takes its settings as JSON (the rule's ``params``), so Snakemake reruns a job when a
setting it depends on changes, and writes its outputs atomically. This module parses the command
line and dispatches; each command lives in a module of ``disentangle.jobs`` (which lists them).
"""

from __future__ import annotations

import argparse


def build_parser() -> argparse.ArgumentParser:
    """The parser of every subcommand, as the jobs register them (``disentangle.jobs.JOBS``)."""
    from disentangle.jobs import add_parsers

    parser = argparse.ArgumentParser(prog="disentangle", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    from disentangle.runtime import tune_allocator

    tune_allocator()  # keep freed tensors' pages in the process (disentangle.runtime)
    from disentangle.integrity import IntegrityError

    try:
        args.func(args)
    except IntegrityError as err:  # a damaged input: one line that says what to do, no traceback
        raise SystemExit(f"{args.command}: {err}") from None


if __name__ == "__main__":
    main()
