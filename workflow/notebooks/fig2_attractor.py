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
# # Fig. 2 (attractor): state-space trajectories and fixed points of the leaky RNN
#
# Noise-free trials of one trained network (N = 24 by default) in the first three principal
# components of its states, coloured by the quadrant of x*; black dots: the distinct fixed points
# of the network with the input held at [cue, f(0)] (Adam on |F(h) − h|², merged within 0.5).
# A 2-D continuous attractor shows up as a sheet of fixed points spanned by the trajectories' end
# points. Drawn from the `trajectories` and `fixed_points` tables.

# %% tags=["parameters"]
tables = (
    '{"trajectories": ["results/smoke/analysis/rnn_main/trajectories.parquet"],'
    ' "fixed_points": ["results/smoke/analysis/rnn_main/fixed_points.parquet"]}'
)
pdf = "figures/fig2-attractor.pdf"
png = "figures/fig2-attractor.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import matplotlib.pyplot as plt
import pandas as pd

from disentangle.figures import style
from disentangle.io import read_parquet

style.apply()
paths = json.loads(tables)
traj = read_parquet(paths["trajectories"][0])
fixed = read_parquet(paths["fixed_points"][0])
prov = json.loads(provenance)

# %%
fig = plt.figure(figsize=(3.6, 3.2))
ax = fig.add_subplot(projection="3d")
for _, trial in traj.groupby("trial"):
    q = int(trial.quadrant.iloc[0])
    ax.plot(trial.pc1, trial.pc2, trial.pc3, color=style.QUADRANT_COLORS[q], lw=0.8)
ax.scatter(fixed.pc1, fixed.pc2, fixed.pc3, color="k", s=6, depthshade=False, label="fixed points")
variance = [traj[f"pc{c}_variance"].iloc[0] for c in (1, 2, 3)]
ax.set_xlabel(f"PC1 ({variance[0]:.0%})", fontsize=7)
ax.set_ylabel(f"PC2 ({variance[1]:.0%})", fontsize=7)
ax.set_zlabel(f"PC3 ({variance[2]:.0%})", fontsize=7)
ax.tick_params(labelsize=5)
ax.legend(fontsize=6, loc="upper left")
n_tasks, seed = int(traj.n_tasks.iloc[0]), int(traj.seed.iloc[0])
ax.set_title(
    f"{style.ARCHITECTURE_LABELS.get(traj.architecture.iloc[0])}, N = {n_tasks}", fontsize=9
)
prov["note"] = f"seed {seed}, {len(fixed)} distinct fixed points"
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
table = pd.DataFrame(
    {
        "n_tasks": [n_tasks],
        "seed": [seed],
        "fixed_points": [len(fixed)],
        "pc1_var": [variance[0]],
        "pc2_var": [variance[1]],
        "pc3_var": [variance[2]],
        "median_speed": [fixed.speed.median()],
    }
)
style.write_summary(summary, claim, table, prov)
