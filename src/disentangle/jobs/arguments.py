"""Argument helpers shared by the jobs' subcommands: JSON settings, and the flags every analysis of
a trained ensemble takes."""

from __future__ import annotations

import json


def json_argument(text: str) -> dict:
    """A JSON argument (a rule's ``params``); invalid JSON stops the job with one line."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise SystemExit(f"invalid JSON argument ({err}): {text[:200]!r}") from None


def add_analysis_parser(sub, name: str, helptext: str, func, outputs: list[str]) -> None:
    """The subcommand of an analysis of a trained ensemble: ``--model`` (not for ``examples``,
    which reads the ingredients alone), ``--ingredients``, ``--settings``, ``--context``, one flag
    per output (``fixed_points`` → ``--fixed-points``), ``--device`` and ``--threads``."""
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
