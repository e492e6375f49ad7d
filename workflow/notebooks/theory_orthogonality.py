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
# # Orthogonality as N ≫ D: theory beside the trained networks
#
# With random unit boundary normals, the read-out direction of factor j in logit space is column
# j of C, and the angle between two columns concentrates at 90° like 1/√N. Lines: the median
# |90° − angle| over random C (theory table `orthogonality`) against N, one per D. Points: the same
# quantity for the decoders of trained networks (ridge read-out axes, the `angles` tables of the
# latent-dimension sweeps), RNN (o) and GPT-2 (s).

# %% tags=["parameters"]
tables = (
    '{"theory": ["results/smoke/theory/orthogonality.parquet"],'
    ' "angles": ["results/smoke/metrics/rnn_dim-dim2/angles.parquet"]}'
)
pdf = "figures/theory-orthogonality.pdf"
png = "figures/theory-orthogonality.png"
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
paths = json.loads(tables)
prov = json.loads(provenance)
theory = read_parquet(paths["theory"][0])
theory = theory[theory.boundaries == "random"]
theory["dev"] = (theory.value - 90).abs()
curve = theory.groupby(["dim", "n_tasks"]).dev.median().reset_index()
nets = style.read_tables(paths, "angles")
if len(nets):
    nets = nets[nets.selected].assign(dev=lambda d: (d.value - 90).abs())
    measured = nets.groupby(["architecture", "dim", "n_tasks"]).dev.median().reset_index()
else:
    measured = pd.DataFrame(columns=["architecture", "dim", "n_tasks", "dev"])
curve

# %%
fig, ax = plt.subplots(figsize=(3.8, 2.9))
dims = sorted(curve.dim.unique())
colors = style.series_colors("dim", dims)
for d in dims:
    s = curve[curve.dim == d]
    ax.plot(s.n_tasks, s.dev, color=colors[d], lw=1.2, label=f"D = {d}")
markers = {"leaky_rnn": "o", "gpt2": "s"}
for r in measured.itertuples():
    if r.dim in colors:
        ax.scatter(
            r.n_tasks,
            r.dev,
            marker=markers.get(r.architecture, "^"),
            s=16,
            facecolor="none",
            edgecolor=colors[r.dim],
            lw=1,
        )
for arch, marker in markers.items():
    ax.scatter(
        [],
        [],
        marker=marker,
        facecolor="none",
        edgecolor="0.3",
        label=style.ARCHITECTURE_LABELS[arch] + " (trained)",
    )
n = np.array(sorted(curve.n_tasks.unique()), dtype=float)
ref = curve[(curve.dim == max(dims))].set_index("n_tasks").dev
anchor = ref.index.max()
ax.plot(n, ref[anchor] * np.sqrt(anchor / n), ls=":", color="0.4", lw=0.8, label="∝ 1/√N")
ax.set(xscale="log", yscale="log", xlabel="number of tasks N", ylabel="median |90° − angle|")
ticks = [2, 3, 6, 12, 24, 48, 96]
ax.set_xticks(ticks, [str(t) for t in ticks])
ax.minorticks_off()
ax.legend(fontsize=5, ncol=2)
prov["note"] = f"{theory.draw.nunique()} random C per (D, N)"
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
table = curve.pivot_table(index="n_tasks", columns="dim", values="dev").reset_index()
table.columns = [str(c) if c == "n_tasks" else f"D={c}" for c in table.columns]
if len(measured):
    table = pd.concat([table, measured.rename(columns={"dev": "trained_median_dev"})])
style.write_summary(summary, claim, table, prov)
