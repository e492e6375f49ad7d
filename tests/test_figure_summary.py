"""The summaries the panels print, on tables with known answers."""

from __future__ import annotations

import pandas as pd
import pytest

from disentangle.figures.summary import per_group_count, quantile_summary, single_value


def test_quantile_summary_pools_within_groups():
    df = pd.DataFrame({"n_tasks": [2] * 5 + [24] * 4, "value": [1, 2, 3, 4, 5, 10, 20, 30, 40]})
    out = quantile_summary(df, ["n_tasks"]).set_index("n_tasks")
    assert out.loc[2, "median"] == 3 and out.loc[2, "q25"] == 2 and out.loc[2, "q75"] == 4
    assert out.loc[24, "median"] == 25 and out.loc[24, "n"] == 4


def test_per_group_count_reports_a_range_when_series_differ():
    three = pd.DataFrame({"experiment": "rnn_main", "seed": [0, 1, 2, 0, 1, 2]})
    two = pd.DataFrame({"experiment": "lstm", "seed": [0, 1, 1]})
    assert per_group_count(three, "seed") == "3"
    assert per_group_count(pd.concat([three, two]), "seed") == "2-3"
    # without an experiment column: the table's own count
    assert per_group_count(pd.DataFrame({"seed": [4, 4, 7]}), "seed") == "2"
    with pytest.raises(ValueError, match="'fold'"):
        per_group_count(three, "fold")


def test_single_value_refuses_a_mixed_column():
    assert single_value(pd.DataFrame({"decoder": ["adam", "adam"]}), "decoder") == "adam"
    with pytest.raises(ValueError, match="'decoder' takes several values"):
        single_value(pd.DataFrame({"decoder": ["adam", "ridge"]}), "decoder")
