"""How the jobs shape their tidy tables: measurement rows with constant leading columns."""

from __future__ import annotations

import pandas as pd


def with_columns(rows: list[dict], columns: dict) -> pd.DataFrame:
    """The ``rows`` as a DataFrame with ``columns`` (name → one value for every row) inserted first,
    in their order. A job passes ``{**exp.columns(), **context}`` for an experiment's table: its
    settings, then the rule's context (preset, group, ...)."""
    df = pd.DataFrame(rows)
    for i, (key, value) in enumerate(columns.items()):
        df.insert(i, key, value)
    return df
