"""Job functions behind the command line: one module per job, each with an ``add_parser`` that
registers its subcommand(s) (``python -m disentangle <command>``) and a ``run(args)`` (or one
``run_<command>`` per subcommand). Helpers the jobs share: ``arguments`` (JSON settings, the
analyses' flags), ``tables`` (``with_columns``) and ``ensemble`` (``load_trained_ensemble``).

| module | subcommands |
|---|---|
| ``train`` | ``ingredients``, ``train`` |
| ``ood`` | ``ood``, ``angles``, ``sparsity`` |
| ``analysis`` | ``dynamics``, ``tuning``, ``examples`` |
| ``generative`` | ``train-generative``, ``score-generative``, ``traversals`` |
| ``theory`` | ``theory`` |
| ``timings`` | ``timings`` |
| ``baselines`` | ``baselines`` |
| ``claims`` | ``claims``, ``ledger``, ``publish-results`` |
| ``comparison`` | ``floors``, ``score-networks`` |
| ``index`` | ``index``, ``built`` |
| ``gallery`` | ``gallery`` |
| ``contact_sheet`` | ``contact-sheet`` |
| ``trained_outputs`` | ``trained-outputs`` |
"""

from __future__ import annotations

from disentangle.jobs import (
    analysis,
    baselines,
    claims,
    comparison,
    contact_sheet,
    gallery,
    generative,
    index,
    ood,
    theory,
    timings,
    train,
    trained_outputs,
)

# in the order `python -m disentangle --help` lists their subcommands
JOBS = (
    train,
    ood,
    analysis,
    generative,
    theory,
    timings,
    baselines,
    claims,
    comparison,
    index,
    gallery,
    contact_sheet,
    trained_outputs,
)


def add_parsers(sub) -> None:
    """Register every job's subcommand on the CLI's subparsers."""
    for job in JOBS:
        job.add_parser(sub)
