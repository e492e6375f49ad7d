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
# # Angle between the latents' read-out axes (Fig. 3c, S12)
#
# For every network a ridge decoder Linear(H → D) is fitted on its final hidden states; column j
# of its weight is the read-out axis of x*_j, and the angle between two columns is 90° for an
# orthogonal (disentangled) code (dashed line). Points: median; bars: interquartile range over
# networks (and axis pairs when D > 2) at the configured penalty; series sit slightly apart along
# x so that their bars do not hide each other. The shading (in the series' colour) spans the
# medians over the penalty sweep, showing the angle does not hinge on the penalty (the
# minimum-norm decoder would give meaningless 0°/180° on these rank-deficient states;
# docs/replication.md, "Decisions"). One legend below the plots says what points, bars and
# shading are.
#
# With the option `ideal` (Fig. S12), two more plots (four in all, laid out 2 × 2): the same
# statistics for the ideal code C·μ of the same networks' boundaries (`ideal_deg`,
# `disentangle.analysis.geometry.ideal_code_decoder`: the same ridge decoder on the logits the
# theory's optimal network holds), and every trained angle against its ideal-code prediction, pair
# by pair (square axes, dashed identity line; the legend gives each architecture's correlation r).
# Where N ≥ D the prediction is defined by C (filled markers); where N < D the code holds only C's
# row space and the decoder's remaining axes are set by the penalty (open markers).

# %% tags=["parameters"]
tables = '{"angles": ["results/smoke/metrics/rnn_main/angles.parquet"]}'
pdf = "figures/fig3c.pdf"
png = "figures/fig3c.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = '{"x": "n_tasks", "log_x": true, "series": "architecture"}'

# %%
import json

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from disentangle.figures import style
from disentangle.figures.summary import per_group_count, quantile_summary

style.apply()
opts = {
    "series": None,
    "log_x": False,
    "facet": None,
    "title": None,
    "ideal": False,
    **json.loads(options),
}
df = style.read_tables(tables, "angles")
prov = json.loads(provenance)
x, series, facet = opts["x"], opts["series"], opts["facet"]
keys = [k for k in (facet, series, x) if k]
chosen = quantile_summary(df[df.selected], keys)
sweep = df.groupby([*keys, "penalty"]).value.median().groupby(keys).agg(["min", "max"])
if opts["ideal"]:
    if "ideal_deg" not in df:
        raise ValueError("option ideal: the angles tables have no ideal_deg column (rerun angles)")
    # The ideal code depends on the boundaries (kind, D, N, seed) only, not on the architecture:
    # one row per network's axis pair, whichever architectures share those boundaries.
    pair = ["boundaries", "dim", "n_tasks", "seed", "axis_i", "axis_j"]
    ideal_rows = df[df.selected].drop_duplicates(pair)
    ideal = quantile_summary(ideal_rows, [k for k in (series, x) if k], value="ideal_deg")
    paired = df[df.selected].assign(full=lambda d: d.n_tasks >= d.dim)
    fit = paired.groupby(keys).apply(
        lambda g: pd.Series(
            {
                "r_ideal": g.value.corr(g.ideal_deg) if len(g) > 2 else np.nan,
                "median_abs_diff": (g.value - g.ideal_deg).abs().median(),
                "ideal_median": g.ideal_deg.median(),
            }
        ),
        include_groups=False,
    )
    chosen = chosen.merge(fit.reset_index(), on=keys)
chosen

# %%
facets = sorted(df[facet].unique(), key=style.series_order) if facet else [None]
n_axes = len(facets) + (2 if opts["ideal"] else 0)
ncols = 2 if n_axes == 4 else 3  # four plots as 2 × 2, otherwise rows of at most three
nrows = -(-n_axes // ncols)
height = style.PANEL_SIZE[1] + 0.5 if n_axes == 1 else 2.5 * nrows + 0.5
fig, axes = style.subplots(n_axes, ncols=ncols, height=height)
n_shared = len(facets) + (1 if opts["ideal"] else 0)  # the axes that plot angle against x
for i, ax in enumerate(axes[1:n_shared], start=1):
    ax.sharey(axes[0])
    if i % ncols:
        ax.tick_params(labelleft=False)
levels_all = sorted(df[series].unique(), key=style.series_order) if series else [None]
colors = style.series_colors(series, levels_all) if series else {None: style.OKABE_ITO["black"]}
x_values = np.sort(df[x].unique()).astype(float)


def level_label(level):
    """Legend label of a series level: "3 tasks" for task counts, else the series' label."""
    if series == "n_tasks":
        return f"{level:g} task" + ("" if level == 1 else "s")
    return style.series_label(series, level)


def dodge(xs, i, n):
    """Shift series ``i`` of ``n`` a little sideways so that their bars do not overlap."""
    offset = (i - (n - 1) / 2) * 0.05
    if opts["log_x"]:
        return xs * np.exp(offset)
    step = np.diff(x_values).min() if len(x_values) > 1 else 1.0
    return xs + offset * step


handles = {}  # legend label -> handle, one legend for the whole figure


def draw_series(ax, stats, band=None):
    """Median and IQR per series level against x; with ``band``, the penalty sweep's range."""
    levels = sorted(stats[series].unique(), key=style.series_order) if series else [None]
    for i, s_level in enumerate(levels):
        s = stats if s_level is None else stats[stats[series] == s_level]
        shade = None
        if band is not None:
            b = band if s_level is None else band.xs(s_level, level=series)
            bx = b.index.to_numpy(dtype=float)
            shade = style.band(ax, bx, b["min"], b["max"], colors[s_level], label=None, alpha=0.18)
        label = level_label(s_level) if series else "median"
        style.median_iqr(ax, dodge(s[x].to_numpy(dtype=float), i, len(levels)), s, colors[s_level])
        bar = ax.containers[-1]
        handles.setdefault(label, (shade, bar) if shade is not None else bar)


def decorate(ax, title=None):
    handles.setdefault(
        "90° (orthogonal axes)", style.reference_line(ax, y=90, label="90° (orthogonal axes)")
    )
    if opts["log_x"]:
        style.log_axis(ax, x_values, "x")
    else:
        ax.set_xticks(x_values, [f"{v:g}" for v in x_values])
    ax.set_xlabel(style.AXIS_LABELS.get(x, x))
    if title:
        ax.set_title(title)


for ax, level in zip(axes, facets, strict=False):
    part = chosen if level is None else chosen[chosen[facet] == level]
    band = sweep if level is None else sweep.xs(level, level=facet)
    draw_series(ax, part, band)
    decorate(ax, None if level is None else style.series_label(facet, level))
for i, ax in enumerate(axes[:n_shared]):
    if i % ncols == 0:
        ax.set_ylabel("angle between read-out axes (°)")
summary_lines = []
if opts["ideal"]:
    ax = axes[len(facets)]
    draw_series(ax, ideal)
    decorate(ax, "ideal code C·μ, same boundaries")
    ax = axes[-1]
    markers = dict(zip(facets, "os^vD", strict=False))
    scatter_handles = {}
    for level in facets:
        part = paired if level is None else paired[paired[facet] == level]
        full, short = part[part.full], part[~part.full]
        point_colors = [colors[v] for v in full[series]] if series else colors[None]
        ax.scatter(
            short.ideal_deg,
            short.value,
            s=5,
            marker=markers[level],
            facecolors="none",
            edgecolors=[colors[v] for v in short[series]] if series else colors[None],
            lw=0.4,
            alpha=0.6,
        )
        ax.scatter(full.ideal_deg, full.value, s=6, marker=markers[level], c=point_colors, lw=0)
        r = full.value.corr(full.ideal_deg)
        name = style.series_label(facet, level) if facet else "trained"
        summary_lines.append(f"{name}: r = {r:.2f}")
        label = f"{name} pairs, N ≥ D (r = {r:.2f})"
        scatter_handles[label] = Line2D(
            [], [], marker=markers[level], ls="none", ms=4, color=style.OKABE_ITO["black"]
        )
    scatter_handles["open: N < D (axes set by the penalty)"] = Line2D(
        [],
        [],
        marker=markers[facets[0]],
        ls="none",
        ms=4,
        markerfacecolor="none",
        markeredgecolor=style.OKABE_ITO["black"],
    )
    lo = min(paired.value.min(), paired.ideal_deg.min())
    hi = max(paired.value.max(), paired.ideal_deg.max())
    pad = 0.04 * (hi - lo)
    ax.set(xlim=(lo - pad, hi + pad), ylim=(lo - pad, hi + pad))
    look = {**style.REFERENCE_KINDS["reference"], "lw": style.REFERENCE_STYLE["lw"], "zorder": 0.5}
    scatter_handles["trained = ideal"] = ax.plot([lo, hi], [lo, hi], **look)[0]
    ax.set(xlabel="ideal-code angle (°)", ylabel="trained angle (°)")
    ax.set_aspect("equal", adjustable="box")
    ax.set_title("per axis pair: trained vs ideal code")
    handles.update(scatter_handles)
if opts["title"]:
    fig.suptitle(opts["title"])
seeds = per_group_count(df, "seed")
networks = f"{seeds} network" + ("" if seeds == "1" else "s")
pairs = " (× axis pairs when D > 2)" if df.dim.max() > 2 else ""
penalty = df[df.selected].penalty.iloc[0]
penalties = ", ".join(f"{p:g}" for p in sorted(df.penalty.unique()))
sep = "\n" if n_axes == 1 else "; "
if seeds == "1":  # one network per point: the spread is over its axis pairs, if any
    points = "points: 1 network" + (", median over its axis pairs when D > 2" if pairs else "")
else:
    points = f"points: median over {networks}{pairs}"
legend_title = (
    f"{points}{sep}bars: interquartile range\n"
    f"shading: range of the medians over the ridge{sep if n_axes == 1 else ' '}"
    f"penalties ({penalties})"
)
fig.canvas.draw()  # the constrained layout places the axes; then freeze it, so that the
fig.set_layout_engine("none")  # legend and the footnote below it go under everything drawn
style.legend_outside(
    fig,
    list(handles.values()),
    list(handles),
    ncol=2,
    title=legend_title,
)
prov["note"] = f"ridge penalty {penalty:g} (shading: {penalties}), {seeds} seed" + (
    "" if seeds == "1" else "s"
)
if opts["ideal"]:
    prov["note"] += "; per-pair r with the ideal code, N ≥ D: " + ", ".join(summary_lines)
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, chosen, prov)
