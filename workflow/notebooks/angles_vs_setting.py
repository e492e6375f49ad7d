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
# orthogonal (disentangled) code. Points: median; bars: interquartile range over networks (and
# axis pairs when D > 2) at the configured penalty. The grey band spans the medians over the
# penalty sweep, showing the angle does not hinge on the penalty (the minimum-norm decoder would
# give meaningless 0°/180° on these rank-deficient states; docs/replication.md, "Decisions").
#
# With the option `ideal` (Fig. S12), two more axes: the same statistics for the ideal code C·μ of
# the same networks' boundaries (`ideal_deg`, `disentangle.analysis.geometry.ideal_code_decoder`:
# the same ridge decoder on the logits the theory's optimal network holds), and every trained
# angle against its ideal-code prediction, pair by pair. Where N ≥ D the prediction is defined by
# C; where N < D the code holds only C's row space and the decoder's remaining axes are set by the
# penalty (grey).

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

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

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
fig, axes = plt.subplots(1, n_axes, figsize=(style.PANEL_SIZE[0] * n_axes, 2.8), squeeze=False)
for ax in axes[0, 1 : len(facets) + (1 if opts["ideal"] else 0)]:
    ax.sharey(axes[0, 0])
    ax.tick_params(labelleft=False)
levels_all = sorted(df[series].unique(), key=style.series_order) if series else [None]
colors = style.series_colors(series or "metric", levels_all) if series else {None: "k"}


def draw_series(ax, stats, band=None):
    """Median and IQR per series level against x; with ``band``, the penalty sweep's range."""
    for s_level in sorted(stats[series].unique(), key=style.series_order) if series else [None]:
        s = stats if s_level is None else stats[stats[series] == s_level]
        if band is not None:
            b = band if s_level is None else band.xs(s_level, level=series)
            ax.fill_between(b.index.to_numpy(dtype=float), b["min"], b["max"], color="0.85", lw=0)
        label = style.series_label(series, s_level) if series else None
        style.median_iqr(ax, s[x], s, colors[s_level], label)


def decorate(ax, title=None):
    ax.axhline(90, ls="--", **style.REFERENCE_STYLE)
    if opts["log_x"]:
        ax.set_xscale("log")
        xs = np.sort(df[x].unique())
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
        ax.minorticks_off()
    ax.set_xlabel(style.AXIS_LABELS.get(x, x))
    if title:
        ax.set_title(title, fontsize=9)
    if series:
        ax.legend(fontsize=6, title=style.LEGEND_TITLES.get(series), title_fontsize=6)


for ax, level in zip(axes[0], facets, strict=False):
    part = chosen if level is None else chosen[chosen[facet] == level]
    band = sweep if level is None else sweep.xs(level, level=facet)
    draw_series(ax, part, band)
    decorate(ax, None if level is None else style.series_label(facet, level))
if opts["ideal"]:
    ax = axes[0, len(facets)]
    draw_series(ax, ideal)
    decorate(ax, "ideal code C·μ, same boundaries")
    ax = axes[0, -1]
    markers = dict(zip(facets, "os^vD", strict=False))
    summary_lines = []
    for level in facets:
        part = paired if level is None else paired[paired[facet] == level]
        full, short = part[part.full], part[~part.full]
        ax.scatter(short.ideal_deg, short.value, s=4, marker=markers[level], color="0.8", lw=0)
        ax.scatter(
            full.ideal_deg,
            full.value,
            s=6,
            marker=markers[level],
            c=[colors[v] for v in full[series]] if series else "k",
            lw=0,
        )
        if facet:
            label = style.series_label(facet, level)
            ax.scatter([], [], s=12, marker=markers[level], color="0.3", label=label)
        r = full.value.corr(full.ideal_deg)
        name = style.series_label(facet, level) if facet else "trained"
        summary_lines.append(f"{name}: r = {r:.2f}")
    lo = min(paired.value.min(), paired.ideal_deg.min())
    hi = max(paired.value.max(), paired.ideal_deg.max())
    ax.plot([lo, hi], [lo, hi], ls="--", **style.REFERENCE_STYLE)
    ax.set(xlabel="ideal-code angle (°)", ylabel="trained angle (°)")
    ax.set_title("per axis pair, N ≥ D (grey: N < D)", fontsize=9)
    ax.text(0.03, 0.97, "\n".join(summary_lines), transform=ax.transAxes, va="top", fontsize=6)
    if facet:
        ax.legend(fontsize=6, markerscale=2)
axes[0, 0].set_ylabel("angle between read-out axes (°)")
if opts["title"]:
    fig.suptitle(opts["title"], fontsize=9)
fig.tight_layout()
penalty = df[df.selected].penalty.iloc[0]
penalties = ", ".join(f"{p:g}" for p in sorted(df.penalty.unique()))
prov["note"] = f"ridge penalty {penalty:g} (band: {penalties}), {per_group_count(df, 'seed')} seeds"
if opts["ideal"]:
    prov["note"] += "; per-pair r with the ideal code, N ≥ D: " + ", ".join(summary_lines)
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, chosen, prov)
