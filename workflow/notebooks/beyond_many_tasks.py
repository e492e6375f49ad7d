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
# # Many tasks, trained: orthogonality and generalisation at N ≫ D
#
# (a) The median |90° − angle| between the decoder's read-out axes (ridge decoders, the `angles`
# tables: one value per factor pair and network) against N, for trained leaky RNNs (o) and GPT-2
# (s) on random boundary normals, coloured by D; lines: the same quantity for random boundary
# matrices C (theory table `orthogonality`), the curve the theorem predicts, for the same D.
# (b) The same networks' OOD r² against N (median and interquartile range over networks ×
# held-out regions × decoder fits), one colour per D, a marker per architecture; dashed and
# dash-dotted: the linear integrator and the untrained networks (median over their rows, same
# decoder) at each D.

# %% tags=["parameters"]
tables = (
    '{"theory": ["results/smoke/theory/orthogonality.parquet"],'
    ' "angles": ["results/smoke/metrics/beyond_many_rnn-dim2/angles.parquet"],'
    ' "ood_r2": ["results/smoke/metrics/beyond_many_rnn-dim2/ood_r2.parquet"],'
    ' "baselines": ["results/smoke/metrics/beyond_many_rnn-dim2/baselines.parquet"]}'
)
pdf = "figures/beyond-many-tasks.pdf"
png = "figures/beyond-many-tasks.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from disentangle.figures import style
from disentangle.figures.summary import quantile_summary
from disentangle.io import read_parquet

style.apply()
paths = json.loads(tables)
prov = json.loads(provenance)
nets = style.read_tables(paths, "angles")
nets = nets[nets.selected].assign(dev=lambda d: (d.value - 90).abs())
measured = nets.groupby(["architecture", "dim", "n_tasks"]).dev.median().reset_index()
dims = sorted(measured.dim.unique())
theory = read_parquet(paths["theory"][0])
theory = theory[(theory.boundaries == "random") & theory.dim.isin(dims)]
theory["dev"] = (theory.value - 90).abs()
curve = theory.groupby(["dim", "n_tasks"]).dev.median().reset_index()
ood = style.read_tables(paths, "ood_r2")
ood = ood[ood.metric == "ood_r2"]
stats = quantile_summary(ood, ["architecture", "dim", "n_tasks"])
base = style.read_tables(paths, "baselines")
base = base[(base.metric == "ood_r2") & (base.decoder == "adam")]
references = base.groupby(["baseline", "dim"]).value.median().unstack("dim")
measured

# %%
fig, (ax_a, ax_b) = style.subplots(2, height=2.6)
colors = style.series_colors("dim", dims)
markers = {"leaky_rnn": "o", "gpt2": "s"}
archs = [a for a in markers if a in set(measured.architecture)]
for d in dims:
    s = curve[curve.dim == d]
    ax_a.plot(s.n_tasks, s.dev, color=colors[d], lw=1.2)
for r in measured.itertuples():
    ax_a.scatter(
        r.n_tasks,
        r.dev,
        marker=markers[r.architecture],
        s=18,
        facecolor="none",
        edgecolor=colors[r.dim],
        lw=1,
        zorder=3,
    )
n_all = sorted(set(curve.n_tasks) | set(measured.n_tasks))
style.log_axis(ax_a, [n for n in n_all if n >= min(measured.n_tasks)], "x")
shown = np.concatenate([curve.dev.to_numpy(), measured.dev.to_numpy(dtype=float)])
lo, hi = np.nanmin(shown), np.nanmax(shown)
style.log_axis(ax_a, [t for t in (0.5, 1, 2, 5, 10, 20, 40, 80) if lo / 2 <= t <= hi * 2], "y")
ax_a.set(xlabel="number of tasks N", ylabel="median |90° − angle| (°)")

offsets = {a: 0.96 + 0.08 * i for i, a in enumerate(archs)}  # side by side on the log axis
for (arch, d), s in stats.groupby(["architecture", "dim"]):
    ax_b.errorbar(
        s.n_tasks * offsets[arch],
        s["median"],
        yerr=[s["median"] - s.q25, s.q75 - s["median"]],
        marker=markers[arch],
        ms=3.5,
        mfc="none",
        capsize=2,
        lw=1.1,
        color=colors[d],
    )
kinds = {"integrator": "--", "untrained": "-."}
for name, ls in kinds.items():
    if name in references.index:
        for d in dims:
            value = references.loc[name].get(d)
            if value is not None and np.isfinite(value):
                ax_b.axhline(value, color=colors[d], ls=ls, lw=0.9, zorder=0.5)
style.r2_axis(ax_b, np.concatenate([stats["median"], references.to_numpy().ravel()]))
floor = ax_b.get_ylim()[0]
below_axis = []  # medians under the r² floor: a marker on the floor with the value printed
for (arch, d), s in stats.groupby(["architecture", "dim"]):
    low = s[s["median"] < floor]
    if len(low):
        style.edge_markers(ax_b, low.n_tasks * offsets[arch], low["median"], floor=floor,
                           color=colors[d])  # fmt: skip
        below_axis += low["median"].tolist()
hidden_refs = [v for v in references.to_numpy().ravel() if np.isfinite(v) and v < floor]
style.log_axis(ax_b, sorted(stats.n_tasks.unique()), "x")
ax_b.set(xlabel="number of tasks N", ylabel="OOD r²")

handles = [Line2D([], [], color=colors[d], lw=1.2, label=f"D = {d}") for d in dims]
handles += [
    Line2D(
        [], [], ls="none", marker=markers[a], mfc="none", color=style.OKABE_ITO["black"], label=lab
    )
    for a in archs
    for lab in [style.ARCHITECTURE_LABELS[a] + " (trained)"]
]
handles += [Line2D([], [], color=style.OKABE_ITO["black"], lw=1.2, label="random C (theory), in a")]
handles += [
    Line2D([], [], color=style.OKABE_ITO["black"], ls=ls, lw=0.9, label=f"{name} baseline, in b")
    for name, ls in kinds.items()
    if name in references.index
]
style.legend_outside(fig, handles, ncol=3)
n_nets = nets[["architecture", "dim", "n_tasks", "seed"]].drop_duplicates().shape[0]
below = ""
if below_axis:
    below += f"; medians below the axis: marked on it, lowest {min(below_axis):.2f}"
if hidden_refs:
    below += f"; baselines below the axis (not drawn): lowest {min(hidden_refs):.2f}"
style.footnote(
    fig,
    prov
    | {
        "note": f"a: markers: median over the factor pairs of each (D, N)'s trained networks "
        f"({n_nets} networks in all); lines: median over {theory.draw.nunique()} random C\n"
        f"b: {style.BAR_NOTE} over networks × held-out regions × decoder fits{below}"
    },
)
style.save(fig, pdf, png, prov)
table = pd.concat(
    [
        measured.assign(quantity="median |90 - angle| (deg)", value=measured.dev).drop(
            columns="dev"
        ),
        stats.assign(quantity="OOD r2 median", value=stats["median"])[
            ["architecture", "dim", "n_tasks", "quantity", "value"]
        ],
    ]
)
style.write_summary(summary, claim, table, prov)
