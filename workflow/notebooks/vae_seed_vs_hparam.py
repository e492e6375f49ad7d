# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Random seed vs hyperparameter (the Locatello et al. question)
#
# For each score: the spread due to the random seed (standard deviation across seeds at a fixed
# hyperparameter, averaged over hyperparameters) beside the spread due to the hyperparameter
# (standard deviation across hyperparameter values of the seed-averaged score), over the models of
# the listed sweeps that have more than one seed. Locatello et al. found seeds and
# hyperparameters matter about as much. One pair of bars per score (averaged over the sweeps);
# models that failed their health check are left out. Drawn from the `generative_scores` and
# `generative_health` tables.

# %% tags=["parameters"]
tables = '{"generative_scores": ["results/smoke/generative/scores/beta_vae-beta1-s0.parquet"]}'
pdf = "figures/vae-seed-vs-hparam.pdf"
png = "figures/vae-seed-vs-hparam.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import numpy as np
import pandas as pd

from disentangle.figures import style

style.apply()
df = style.read_tables(tables, "generative_scores")
unhealthy = style.unhealthy_models(tables)
prov = json.loads(provenance)
scores = [
    "mig.discrete_mig",
    "dci.disentanglement",
    "sap.SAP_score",
    "modularity_explicitness.modularity_score",
    "irs.IRS",
    "mcc.mcc",
    "beta_vae.eval_accuracy",
    "factor_vae.eval_accuracy",
]
left_out = sorted(unhealthy & set(df.model))  # as in the claims: only models that trained
df = df[df.metric.isin(scores) & ~df.model.isin(unhealthy)]
rows = []
for (group, metric), part in df.groupby(["group", "metric"]):
    by_value = part.groupby("swept_value").value
    if by_value.size().max() < 2:
        continue
    rows.append(
        {
            "group": group,
            "metric": metric,
            "seed_sd": float(by_value.std(ddof=1).mean()),
            "hyper_sd": float(by_value.mean().std(ddof=1))
            if by_value.ngroups > 1
            else float("nan"),
        }
    )
spread = pd.DataFrame(rows)
spread

# %%
fig, (ax,) = style.subplots(1, height=2.6)
colors = style.series_colors("spread", ["seed_sd", "hyper_sd"])
n_sweeps = spread.group.nunique() if len(spread) else 0
if len(spread):
    agg = (
        spread.groupby("metric")[["seed_sd", "hyper_sd"]]
        .mean()
        .reindex([m for m in scores if m in set(spread.metric)])
    )
    x = np.arange(len(agg))
    ax.bar(
        x - 0.2,
        agg.seed_sd,
        width=0.4,
        color=colors["seed_sd"],
        label="across seeds (at a fixed value, mean over values)",
    )
    ax.bar(
        x + 0.2,
        agg.hyper_sd,
        width=0.4,
        color=colors["hyper_sd"],
        label="across hyperparameter values (of the seed means)",
    )
    ax.set_xticks(x, [style.SCORE_LABELS[m] for m in agg.index], rotation=45, ha="right")
    style.legend_outside(
        fig,
        ncol=1,
        title="standard deviation of the score"
        + (f", mean over {n_sweeps} sweeps" if n_sweeps > 1 else ""),
    )
else:
    ax.text(
        0.5,
        0.5,
        "no sweep with more than one seed",
        ha="center",
        va="center",
        transform=ax.transAxes,
    )
ax.set_ylabel("SD of the score")
prov["note"] = f"sweeps: {', '.join(sorted(spread.group.unique())) if len(spread) else 'none'}"
if left_out:
    prov["note"] += f"; left out, failed health check: {', '.join(left_out)}"
# the footnote counts the models left out (the summary's note names them)
short = prov["note"].split(";")[0]
if left_out:
    short += (
        f"; {len(left_out)} model{'s' if len(left_out) != 1 else ''} left out (failed health check)"
    )
style.footnote(fig, {**prov, "note": short})
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, spread, prov)
