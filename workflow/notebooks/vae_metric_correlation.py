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
# # How much do the disentanglement scores agree? (Locatello et al. 2019, Fig. 4)
#
# Spearman rank correlation between the scores, across every trained dSprites model (all
# methods, hyperparameters and seeds). Drawn from the `generative_scores` tables.

# %% tags=["parameters"]
tables = '{"generative_scores": ["results/smoke/generative/scores/beta_vae-beta1-s0.parquet"]}'
pdf = "figures/vae-metric-correlation.pdf"
png = "figures/vae-metric-correlation.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import matplotlib.pyplot as plt
import numpy as np

from disentangle.figures import style

style.apply()
df = style.read_tables(tables, "generative_scores")
unhealthy = style.unhealthy_models(tables)
prov = json.loads(provenance)
left_out = sorted(unhealthy & set(df.model))  # as in the claims: only models that trained
df = df[~df.model.isin(unhealthy)]
scores = [m for m in style.SCORE_LABELS if m in set(df.metric)]
wide = df[df.metric.isin(scores)].pivot_table(index="model", columns="metric", values="value")
wide = wide[scores]
corr = wide.rank().corr()
corr.index = corr.columns = [style.SCORE_LABELS[m] for m in scores]
corr

# %%
fig, ax = plt.subplots(figsize=(4.2, 3.6))
im = ax.imshow(corr.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1)
ax.set_xticks(range(len(corr)), corr.columns, rotation=90, fontsize=6)
ax.set_yticks(range(len(corr)), corr.index, fontsize=6)
for i in range(len(corr)):
    for j in range(len(corr)):
        v = corr.iloc[i, j]
        if np.isfinite(v):
            ax.text(
                j,
                i,
                f"{v:.1f}",
                ha="center",
                va="center",
                fontsize=4.5,
                color="w" if abs(v) > 0.6 else "k",
            )
fig.colorbar(im, ax=ax, fraction=0.046, label="Spearman ρ")
prov["note"] = f"{len(wide)} models ({', '.join(sorted(df.method.unique()))})"
if left_out:
    prov["note"] += f"; left out, failed health check: {', '.join(left_out)}"
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, corr.reset_index(names="score"), prov)
