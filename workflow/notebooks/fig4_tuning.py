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
# a: the tuning maps of single units, one small map per unit: its response to each of the 8 × 8
# noise-free stimuli (x₁, x₂) ∈ [−½, ½]², x₁ left to right and x₂ bottom to top in every map.
# RNN: final-step rates; GPT-2: the last token's attention value vectors (8 heads × 8 dims = 64
# units). Shown are the 16 units whose response varies most over the grid (largest variance over
# the 64 stimuli), in that order, each titled with its unit index; every map has its own colour
# scale, from the unit's smallest (dark) to its largest response (bright), so that the shape of
# each unit's tuning shows whatever its magnitude.
#
# b: every unit's Pearson correlation with x₁ against its correlation with x₂, both computed here
# over the 64 grid stimuli (filled: the units shown in a; units with a flat response have none and
# are left out). On this grid x₁ and x₂ are uncorrelated, so r₁² + r₂² is the share of a unit's
# variance that a plane a·x₁ + b·x₂ + c explains: a unit whose response is linear in the latents
# lies on the unit circle (dash-dotted), and its angle says how it mixes them. Smooth, monotone,
# mixed but linear tuning, as in a linearly decodable (abstract) code, puts the units near the
# circle at all angles. Drawn from the `tuning` table; the summary reports the table's own
# correlations (`corr_x1`, `corr_x2`: of the tuning curves averaged over the other latent).

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
from matplotlib.lines import Line2D

from disentangle.figures import style
from disentangle.io import read_parquet

style.apply()
df = read_parquet(json.loads(tables)["tuning"][0])
prov = json.loads(provenance)
x1s, x2s = np.sort(df.x1.unique()), np.sort(df.x2.unique())
units = np.sort(df.unit.unique())

# %%
N_SHOWN = 16  # the units drawn as tuning maps: those with the largest variance over the grid
cube = df.pivot_table(index=["x1", "x2"], columns="unit", values="rate").reindex(columns=units)
variance = cube.var(axis=0)
shown = variance.sort_values(ascending=False, kind="stable").index[:N_SHOWN].to_numpy()


def tuning_map(unit):
    """The unit's responses as an image: x₁ along columns, x₂ increasing upwards."""
    grid = cube[unit].unstack("x2").reindex(index=x1s, columns=x2s).to_numpy()  # (x1, x2)
    return grid.T[::-1]


# every unit's correlation with x₁ and with x₂ over the grid's stimuli (NaN for a flat response)
stim = cube.index.to_frame(index=False)
responses = cube.to_numpy(dtype=float)
centred = responses - responses.mean(axis=0)
grid_corr = {}
for name in ("x1", "x2"):
    g = stim[name].to_numpy(dtype=float)
    g = g - g.mean()
    denom = np.sqrt((g**2).sum() * (centred**2).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        grid_corr[name] = np.where(denom > 0, (g @ centred) / denom, np.nan)
grid_corr = pd.DataFrame(grid_corr, index=units)
corr = (
    df.groupby("unit")[["corr_x1", "corr_x2"]].first().reindex(units)
)  # the table's, for the summary

quantity = df.quantity.iloc[0]
arch_key = df.architecture.iloc[0]
arch = style.ARCHITECTURE_LABELS.get(arch_key, arch_key)
unit_color = style.PALETTES["architecture"].get(arch_key, style.CATEGORICAL[0])

fig = plt.figure(figsize=(style.TEXT_WIDTH, 3.5), layout="constrained")
grid = fig.add_gridspec(1, 2, width_ratios=[1.25, 1])
ax = fig.add_subplot(grid[0, 0])
ncols = int(np.ceil(np.sqrt(len(shown))))
image = style.mosaic(
    ax,
    [tuning_map(u) for u in shown],
    ncols,
    gap=0.4,
    scale="per_tile",
    cmap=style.SEQUENTIAL_CMAP,
    titles=[f"unit {u}" for u in shown],
)
ax.set_xlabel("x₁ in each map: −½ (left) to ½ (right)")
ax.set_ylabel("x₂ in each map: −½ (bottom) to ½ (top)")
cbar = fig.colorbar(image, ax=ax, shrink=0.7, ticks=[0, 1])
cbar.ax.set_yticklabels(["unit's min", "unit's max"])
cbar.set_label(f"{quantity}, scaled per unit")
ax.set_title(f"{len(shown)} of {len(units)} units with the most variable response", pad=12)

axs = fig.add_subplot(grid[0, 1])
theta = np.linspace(0, 2 * np.pi, 361)
look = {**style.REFERENCE_KINDS["theory"], "lw": style.REFERENCE_STYLE["lw"], "zorder": 0.5}
circle = axs.plot(np.cos(theta), np.sin(theta), **look)[0]
is_shown = grid_corr.index.isin(shown)
finite = grid_corr.notna().all(axis=1)
others = grid_corr[~is_shown & finite]
picked = grid_corr[is_shown & finite]
axs.scatter(others.x1, others.x2, s=12, facecolors="none", edgecolors=unit_color, lw=0.6, zorder=2)
axs.scatter(picked.x1, picked.x2, s=14, color=unit_color, lw=0, zorder=3)
axs.set(
    xlim=(-1.05, 1.05),
    ylim=(-1.05, 1.05),
    xticks=[-1, -0.5, 0, 0.5, 1],
    yticks=[-1, -0.5, 0, 0.5, 1],
    xlabel="correlation with x₁ (r₁)",
    ylabel="correlation with x₂ (r₂)",
)
axs.set_aspect("equal", adjustable="box")
axs.set_title("each unit over the 8 × 8 grid")
style.panel_letters([ax, axs])
n_flat = int((~finite).sum())
handles = [
    Line2D([], [], marker="o", ls="none", ms=4, color=unit_color),
    Line2D([], [], marker="o", ls="none", ms=4, markerfacecolor="none", markeredgecolor=unit_color),
    circle,
]
labels = [
    f"units shown in a ({len(picked)})",
    f"other units ({len(others)})" + (f"; {n_flat} flat, left out" if n_flat else ""),
    "r₁² + r₂² = 1: response linear in (x₁, x₂)",
]
fig.suptitle(f"{arch}, N = {int(df.n_tasks.iloc[0])} tasks")
fig.canvas.draw()  # the constrained layout places the axes; then freeze it, so that the
fig.set_layout_engine("none")  # legend and the footnote below it go under everything drawn
style.legend_outside(fig, handles, labels, ncol=3)
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
