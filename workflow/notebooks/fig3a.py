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
# # Fig. 3a: OOD and in-distribution r² against the number of tasks (leaky RNN)
#
# A linear decoder reads the latent x* from the network's final hidden state. Out of distribution
# (OOD), it is fitted on three quadrants and tested on the fourth; in distribution (ID), fitted on
# all four. Points are the median, bars the interquartile range over networks × held-out
# quadrants × decoder fits (the paper's aggregation). Lines: the information ceiling
# 1 − 12σ²/T of an unbiased estimator from T noisy samples (REPLICATION.md 4.2), the meaningful
# reference, and the paper's dashed 0.9 line ("good abstraction").
#
# This notebook only reads the tidy table the workflow produced and draws it.

# %% tags=["parameters"]
tables = '["results/smoke/metrics/rnn_main/ood_r2.parquet"]'
pdf = "figures/fig3a.pdf"
png = "figures/fig3a.png"
provenance = '{"preset": "smoke"}'

# %%
import json

import matplotlib.pyplot as plt
import pandas as pd

from disentangle.figures import style
from disentangle.figures.summary import quantile_summary, single_value
from disentangle.metrics.ood import information_ceiling

style.apply()
df = pd.concat([pd.read_parquet(p) for p in json.loads(tables)], ignore_index=True)
prov = json.loads(provenance)
stats = quantile_summary(df, ["metric", "n_tasks"])
stats

# %%
noise_sd = float(single_value(df, "noise_sd"))
steps = int(single_value(df, "stimulus_steps"))
ceiling = information_ceiling(noise_sd, steps)
prov["note"] = (
    f"{df.seed.nunique()} seeds × {df.fold.nunique()} folds × {df.fit.nunique()} fits, "
    f"{int(single_value(df, 'train_batches'))} batches, "
    f"{single_value(df, 'decoder')} decoder"
)

fig, ax = plt.subplots(figsize=style.PANEL_SIZE)
for metric in ("id_r2", "ood_r2"):
    s = stats[stats.metric == metric]
    ax.errorbar(
        s.n_tasks,
        s["median"],
        yerr=[s["median"] - s.q25, s.q75 - s["median"]],
        marker="o",
        ms=4,
        capsize=2,
        lw=1.2,
        color=style.METRIC_COLORS[metric],
        label=style.METRIC_LABELS[metric],
    )
ax.axhline(ceiling, ls="-", **style.REFERENCE_STYLE)
ax.text(
    0.02,
    ceiling,
    f"ceiling 1−12σ²/T = {ceiling:.3f}",
    va="bottom",
    fontsize=6,
    color="0.35",
    transform=ax.get_yaxis_transform(),
)
ax.text(
    0.98,
    0.9,
    "0.9 (paper's line)",
    ha="right",
    va="top",
    fontsize=6,
    color="0.35",
    transform=ax.get_yaxis_transform(),
)
ax.axhline(0.9, ls="--", **style.REFERENCE_STYLE)
ax.set_xscale("log")
ticks = sorted(df.n_tasks.unique())
ax.set_xticks(ticks, [str(t) for t in ticks])
ax.minorticks_off()
ax.set_xlabel("number of tasks")
ax.set_ylabel("r²")
lo = min(0.5, float(stats.q25.min()) - 0.05)
ax.set_ylim(lo, 1.0)
ax.set_title("leaky RNN", fontsize=9)
ax.legend(loc="lower right", fontsize=7)
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
