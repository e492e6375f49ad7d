"""Summaries that panels draw, computed from the tidy results tables."""

from __future__ import annotations

import pandas as pd


def quantile_summary(df: pd.DataFrame, by: list[str], value: str = "value") -> pd.DataFrame:
    """Median and interquartile range of ``value`` per group, pooling everything else (networks ×
    folds × fits, as the paper's ``np.percentile(..., axis=(1, 2, 3))``)."""
    grouped = df.groupby(by, sort=True)[value]
    out = pd.DataFrame(
        {
            "median": grouped.median(),
            "q25": grouped.quantile(0.25),
            "q75": grouped.quantile(0.75),
            "n": grouped.size(),
        }
    )
    return out.reset_index()


def single_value(df: pd.DataFrame, column: str):
    """The one value ``column`` takes in ``df``; a ValueError if it takes several."""
    values = df[column].unique()
    if len(values) != 1:
        raise ValueError(
            f"column {column!r} takes several values {list(values)}; "
            "split the table before plotting"
        )
    return values[0]


def per_group_count(df: pd.DataFrame, column: str, by: str = "experiment") -> str:
    """How many distinct ``column`` values each ``by`` group holds, as the panels' notes print
    it: "3", or "2-3" when the groups differ (e.g. seeds: a panel of 3-seed and 2-seed series)."""
    if column not in df or df.empty:
        raise ValueError(f"per_group_count: no {column!r} values in the table")
    counts = df.groupby(by)[column].nunique() if by in df else pd.Series([df[column].nunique()])
    lo, hi = int(counts.min()), int(counts.max())
    return f"{lo}" if lo == hi else f"{lo}-{hi}"
