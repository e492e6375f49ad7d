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
# hyperparameters matter about as much. Drawn from the `generative_scores` tables.

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

import matplotlib.pyplot as plt
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
fig, ax = plt.subplots(figsize=(4.6, 2.6))
if len(spread):
    agg = (
        spread.groupby("metric")[["seed_sd", "hyper_sd"]]
        .mean()
        .reindex([m for m in scores if m in set(spread.metric)])
    )
    x = np.arange(len(agg))
    ax.bar(x - 0.2, agg.seed_sd, width=0.4, label="across seeds", color="#4c72b0")
    ax.bar(x + 0.2, agg.hyper_sd, width=0.4, label="across hyperparameters", color="#dd8452")
    ax.set_xticks(x, [style.SCORE_LABELS[m] for m in agg.index], rotation=45, fontsize=6)
    ax.legend(fontsize=6)
ax.set_ylabel("standard deviation of the score")
prov["note"] = f"sweeps: {', '.join(sorted(spread.group.unique())) if len(spread) else 'none'}"
if left_out:
    prov["note"] += f"; left out, failed health check: {', '.join(left_out)}"
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, spread, prov)
