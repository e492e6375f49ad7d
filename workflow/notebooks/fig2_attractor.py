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
# Noise-free trials of one trained network (N = 24 by default) projected on the first principal
# components of its states, coloured by the quadrant of x* (colour-blind-safe quadrant palette,
# named in the legend); open circles mark where each trajectory starts, filled triangles where it
# ends; black crosses are the distinct fixed points of the network with the input held at
# [cue, f(0)] (Adam on |F(h) − h|², merged within 0.5). (a) PC1 against PC2; (b) PC3 against PC2
# on the same scale (equal units on every axis), a side view that shows how thin the sheet is.
# The axis labels give each PC's share of the state variance. A 2-D continuous attractor shows up
# as a sheet of fixed points spanned by the trajectories' end points. Drawn from the
# `trajectories` and `fixed_points` tables.

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

import pandas as pd
from matplotlib.lines import Line2D

from disentangle.figures import style
from disentangle.io import read_parquet

style.apply()
paths = json.loads(tables)
traj = read_parquet(paths["trajectories"][0])
fixed = read_parquet(paths["fixed_points"][0])
prov = json.loads(provenance)

# %%
QUADRANT_NAMES = {
    1: "Q1: x₁ > 0, x₂ > 0",
    2: "Q2: x₁ < 0, x₂ > 0",
    3: "Q3: x₁ < 0, x₂ < 0",
    4: "Q4: x₁ > 0, x₂ < 0",
    0: "on an axis",
}
black = style.OKABE_ITO["black"]
variance = [traj[f"pc{c}_variance"].iloc[0] for c in (1, 2, 3)]
n_tasks, seed = int(traj.n_tasks.iloc[0]), int(traj.seed.iloc[0])


def limits(column, at_least=0.0):
    """The range of one PC over trajectories and fixed points, 5 % padded and widened
    symmetrically to ``at_least``, for equal-scale axes."""
    values = pd.concat([traj[column], fixed[column]])
    lo, hi = float(values.min()), float(values.max())
    pad = 0.05 * (hi - lo) or 0.5
    lo, hi = lo - pad, hi + pad
    grow = max(0.0, at_least - (hi - lo)) / 2
    return lo - grow, hi + grow


# (a) PC1–PC2 and (b) PC3–PC2 on one PC2 range, every axis on the same scale: the widths are in
# proportion to the PC ranges (the side view at least a quarter of PC1's, so never a sliver), and
# equal aspect widens the limits (never the boxes), by the same amount in both plots
x1, y2 = limits("pc1"), limits("pc2")
x3 = limits("pc3", at_least=0.25 * (x1[1] - x1[0]))
fig, (ax, side) = style.subplots(
    2,
    ncols=2,
    width=style.TEXT_WIDTH * 0.8,
    height=3.0,
    gridspec_kw={"width_ratios": [x1[1] - x1[0], x3[1] - x3[0]]},
)
quadrants = sorted(traj.quadrant.unique(), key=lambda q: (q == 0, q))
for _, trial in traj.sort_values("step").groupby("trial"):
    c = style.color("quadrant", int(trial.quadrant.iloc[0]))
    first, last = trial.iloc[0], trial.iloc[-1]
    for a, x in ((ax, "pc1"), (side, "pc3")):
        a.plot(trial[x], trial.pc2, color=c, lw=0.8, zorder=1)
        a.plot(first[x], first.pc2, "o", ms=4, mfc="none", mec=c, mew=0.8, zorder=2)
        a.plot(last[x], last.pc2, "^", ms=4.5, color=c, mec=black, mew=0.4, zorder=3)
for a, x in ((ax, "pc1"), (side, "pc3")):
    a.plot(fixed[x], fixed.pc2, "x", ms=4, mew=0.9, color=black, ls="none", zorder=4)
ax.set(xlim=x1, ylim=y2)
side.set(xlim=x3, ylim=y2)
side.tick_params(labelleft=False)
for a in (ax, side):
    a.set_aspect("equal", adjustable="datalim")
ax.set(xlabel=f"PC1 ({variance[0]:.0%} of variance)", ylabel=f"PC2 ({variance[1]:.0%})")
side.set(xlabel=f"PC3 ({variance[2]:.0%})")
ax.set_title(f"{style.ARCHITECTURE_LABELS.get(traj.architecture.iloc[0])}, N = {n_tasks}")
side.set_title("side view")
handles = [
    Line2D([], [], color=style.color("quadrant", int(q)), lw=1.2, label=QUADRANT_NAMES[int(q)])
    for q in quadrants
]
handles += [
    Line2D([], [], marker="o", ms=4, mfc="none", mec=black, ls="none", label="start"),
    Line2D([], [], marker="^", ms=4.5, color=black, ls="none", label="end"),
    Line2D([], [], marker="x", ms=4, mew=0.9, color=black, ls="none", label="fixed points"),
]
style.legend_outside(fig, handles, where="right", title="quadrant of x*")
fig.canvas.draw()  # lay the legend out before the footnote goes below it
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
