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
# give meaningless 0°/180° on these rank-deficient states; REPLICATION.md "Decisions").

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

from disentangle.figures import style
from disentangle.figures.summary import per_group_count, quantile_summary

style.apply()
opts = {"series": None, "log_x": False, "facet": None, "title": None, **json.loads(options)}
df = style.read_tables(tables, "angles")
prov = json.loads(provenance)
x, series, facet = opts["x"], opts["series"], opts["facet"]
keys = [k for k in (facet, series, x) if k]
chosen = quantile_summary(df[df.selected], keys)
sweep = df.groupby([*keys, "penalty"]).value.median().groupby(keys).agg(["min", "max"])
chosen

# %%
facets = sorted(df[facet].unique(), key=style.series_order) if facet else [None]
fig, axes = plt.subplots(
    1, len(facets), figsize=(style.PANEL_SIZE[0] * len(facets), 2.8), sharey=True, squeeze=False
)
for ax, level in zip(axes[0], facets, strict=True):
    part = chosen if level is None else chosen[chosen[facet] == level]
    band = sweep if level is None else sweep.xs(level, level=facet)
    levels = sorted(part[series].unique(), key=style.series_order) if series else [None]
    colors = style.series_colors(series or "metric", levels) if series else {None: "k"}
    for s_level in levels:
        s = part if s_level is None else part[part[series] == s_level]
        b = band if s_level is None else band.xs(s_level, level=series)
        ax.fill_between(b.index.to_numpy(dtype=float), b["min"], b["max"], color="0.85", lw=0)
        label = style.series_label(series, s_level) if series else None
        style.median_iqr(ax, s[x], s, colors[s_level], label)
    ax.axhline(90, ls="--", **style.REFERENCE_STYLE)
    if opts["log_x"]:
        ax.set_xscale("log")
        xs = np.sort(df[x].unique())
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
        ax.minorticks_off()
    ax.set_xlabel(style.AXIS_LABELS.get(x, x))
    if level is not None:
        ax.set_title(style.series_label(facet, level), fontsize=9)
    if series:
        ax.legend(fontsize=6, title=style.LEGEND_TITLES.get(series), title_fontsize=6)
axes[0, 0].set_ylabel("angle between read-out axes (°)")
if opts["title"]:
    fig.suptitle(opts["title"], fontsize=9)
fig.tight_layout()
penalty = df[df.selected].penalty.iloc[0]
penalties = ", ".join(f"{p:g}" for p in sorted(df.penalty.unique()))
prov["note"] = f"ridge penalty {penalty:g} (band: {penalties}), {per_group_count(df, 'seed')} seeds"
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, chosen, prov)
