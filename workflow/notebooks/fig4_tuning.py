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
# # Fig. 4: single-unit tuning on the stimulus grid
#
# Left: the response of every unit (64 tiles of 8 × 8 units) to each of the 8 × 8 noise-free
# stimuli (x1, x2) ∈ [−½, ½]²: tile (i, j) shows all units' responses to stimulus (x1_i, x2_j).
# RNN: final-step rates; GPT-2: the last token's attention value vectors (8 heads × 8 dims). Right:
# each unit's correlation with x1 (averaging over x2) and with x2 — smooth, monotone, mixed
# but linear tuning is what a linearly decodable (abstract) code looks like. Drawn from the
# `tuning` table.

# %% tags=["parameters"]
tables = '{"tuning": ["results/smoke/analysis/rnn_main/tuning.parquet"]}'
pdf = "figures/fig4-tuning-rnn.pdf"
png = "figures/fig4-tuning-rnn.png"
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
from disentangle.io import read_parquet

style.apply()
df = read_parquet(json.loads(tables)["tuning"][0])
prov = json.loads(provenance)
x1s, x2s = np.sort(df.x1.unique()), np.sort(df.x2.unique())
units = np.sort(df.unit.unique())
side = int(np.ceil(np.sqrt(len(units))))

# %%
mosaic = np.full((len(x2s) * side, len(x1s) * side), np.nan)
cube = df.pivot_table(index=["x1", "x2"], columns="unit", values="rate")
for i, v1 in enumerate(x1s):
    for j, v2 in enumerate(x2s):
        tile = np.full(side * side, np.nan)
        tile[: len(units)] = cube.loc[(v1, v2)].to_numpy()
        row = (len(x2s) - 1 - j) * side  # x2 increases upwards
        mosaic[row : row + side, i * side : (i + 1) * side] = tile.reshape(side, side)
corr = df.groupby("unit")[["corr_x1", "corr_x2"]].first().reindex(units)

fig = plt.figure(figsize=(6.6, 3.0))
grid = fig.add_gridspec(2, 2, width_ratios=[2.2, 1], wspace=0.3, hspace=0.45)
ax = fig.add_subplot(grid[:, 0])
quantity = df.quantity.iloc[0]
cmap = "viridis" if quantity == "rate" else "RdBu_r"
lim = np.nanmax(np.abs(mosaic))
im = ax.imshow(
    mosaic,
    cmap=cmap,
    vmin=0 if quantity == "rate" else -lim,
    vmax=lim,
    extent=(-0.5 - 1 / 14, 0.5 + 1 / 14, -0.5 - 1 / 14, 0.5 + 1 / 14),
)
ax.set(xlabel="x₁", ylabel="x₂")
fig.colorbar(im, ax=ax, fraction=0.04, label=quantity)
for r, name in enumerate(("corr_x1", "corr_x2")):
    axc = fig.add_subplot(grid[r, 1])
    values = np.full(side * side, np.nan)
    values[: len(units)] = corr[name].to_numpy()
    imc = axc.imshow(values.reshape(side, side), cmap="RdBu_r", vmin=-1, vmax=1)
    axc.set_title(f"corr. with x{r + 1}", fontsize=7)
    axc.set_xticks([])
    axc.set_yticks([])
fig.colorbar(imc, ax=fig.axes[-2:], fraction=0.05)
arch = style.ARCHITECTURE_LABELS.get(df.architecture.iloc[0], df.architecture.iloc[0])
fig.suptitle(f"{arch}, N = {int(df.n_tasks.iloc[0])}", fontsize=9)
prov["note"] = f"seed {int(df.seed.iloc[0])}; {quantity}"
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
strong = (corr[["corr_x1", "corr_x2"]].abs() > 0.8).any(axis=1).mean()
table = pd.DataFrame(
    {
        "units": [len(units)],
        "mean_abs_corr_x1": [corr.corr_x1.abs().mean()],
        "mean_abs_corr_x2": [corr.corr_x2.abs().mean()],
        "share_units_abs_corr_above_0.8": [strong],
    }
)
style.write_summary(summary, claim, table, prov)
