"""How the jobs shape their tidy tables: measurement rows with constant leading columns."""

from __future__ import annotations

import pandas as pd


def with_columns(rows: list[dict], columns: dict, trailing: dict | None = None) -> pd.DataFrame:
    """The ``rows`` as a DataFrame with ``columns`` (name → one value for every row) inserted first,
    in their order. A job passes ``{**exp.columns(), **context}`` for an experiment's table: its
    settings, then the rule's context (preset, group, ...). ``trailing`` columns (the same kind)
    go last, after the rows' own: a job that ran a model appends where it ran
    (``provenance.device_columns``), so every other column keeps its place."""
    df = pd.DataFrame(rows)
    for i, (key, value) in enumerate(columns.items()):
        df.insert(i, key, value)
    for key, value in (trailing or {}).items():
        df[key] = value
    return df
