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
# latent-dimension sweeps), RNN (o) and GPT-2 (s), coloured by their D. Dash-dotted: a 1/√N
# reference through the largest D's curve at the most tasks. One legend, below the plot.

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


fig, axes = style.subplots(1, height=3.3)
ax = axes[0]
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
            zorder=3,
        )
for arch, marker in markers.items():
    ax.scatter(
        [],
        [],
        marker=marker,
        facecolor="none",
        edgecolor=style.OKABE_ITO["black"],
        label=style.ARCHITECTURE_LABELS[arch] + " (trained)",
    )
n = np.array(sorted(curve.n_tasks.unique()), dtype=float)
ref = curve[(curve.dim == max(dims))].set_index("n_tasks").dev
anchor = ref.index.max()
ax.plot(
    n,
    ref[anchor] * np.sqrt(anchor / n),
    **style.REFERENCE_KINDS["theory"],
    lw=style.REFERENCE_STYLE["lw"],
    label="∝ 1/√N",
)
ax.set(xlabel="number of tasks N", ylabel="median |90° − angle| (°)")
style.log_axis(ax, [t for t in n if t != 9], "x")  # 9 crowds 12
shown = np.concatenate([curve.dev.to_numpy(), measured.dev.to_numpy(dtype=float)])
lo, hi = np.nanmin(shown), np.nanmax(shown)
style.log_axis(ax, [t for t in (0.5, 1, 2, 3, 5, 10, 20, 40, 80) if lo / 2 <= t <= hi * 2], "y")
style.legend_outside(fig, ncol=3)
n_draws = theory.draw.nunique()
n_nets = (
    nets[["architecture", "dim", "n_tasks", "seed"]].drop_duplicates().shape[0] if len(nets) else 0
)
prov["note"] = f"{n_draws} random C per (D, N)"
style.footnote(
    fig,
    prov
    | {
        "note": f"lines: median over {n_draws} random C × factor pairs per (D, N)\n"
        "markers: median over the factor pairs of the trained networks\n"
        f"at one (D, N), colour = their D ({n_nets} networks in all)\n"
        f"∝ 1/√N: through the D = {max(dims)} line at N = {anchor}"
    },
)
style.save(fig, pdf, png, prov)
table = curve.pivot_table(index="n_tasks", columns="dim", values="dev").reset_index()
table.columns = [str(c) if c == "n_tasks" else f"D={c}" for c in table.columns]
if len(measured):
    table = pd.concat([table, measured.rename(columns={"dev": "trained_median_dev"})])
style.write_summary(summary, claim, table, prov)
