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
# # Lifetime sparseness of the hidden units (Fig. S6)
#
# Per network: the Vinje–Gallant lifetime sparseness of each unit over 1000 noise-free stimuli at
# the last stimulus step, averaged over units, in percent (the authors' sparsity.py). One dot per
# network (spread a little along x so that the series do not overlap), the line joins the medians
# over networks; one legend below the plot.

# %% tags=["parameters"]
tables = '{"sparsity": ["results/smoke/metrics/rnn_main/sparsity.parquet"]}'
pdf = "figures/figS6a.pdf"
png = "figures/figS6a.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = '{"x": "n_tasks", "log_x": true, "series": "architecture"}'

# %%
import json

import numpy as np

from disentangle.figures import style
from disentangle.figures.summary import per_group_count
from disentangle.seeding import derive_seed

style.apply()
opts = {"log_x": False, **json.loads(options)}
df = style.read_tables(tables, "sparsity")
df = df[df.metric == "sparsity_pct"]
prov = json.loads(provenance)
x, series = opts["x"], opts["series"]
df.groupby([series, x]).value.describe()

# %%
fig, (ax,) = style.subplots(1, height=style.PANEL_SIZE[1])
levels = sorted(df[series].unique(), key=style.series_order)
colors = style.series_colors(series, levels)
rng = np.random.default_rng(derive_seed("figure-jitter", 0) % 2**32)
for i, level in enumerate(levels):
    s = df[df[series] == level]
    xs = s[x].to_numpy(dtype=float)
    offset = (i - (len(levels) - 1) / 2) * 0.06
    jitter = offset + rng.uniform(-0.02, 0.02, len(xs))
    xs = xs * np.exp(jitter) if opts["log_x"] else xs + jitter * 4
    ax.scatter(xs, s.value, s=8, color=colors[level], alpha=0.8, lw=0)
    med = s.groupby(x).value.median()
    ax.plot(
        med.index,
        med.values,
        color=colors[level],
        lw=1.2,
        label=style.series_label(series, level),
    )
x_values = np.sort(df[x].unique())
if opts["log_x"]:
    style.log_axis(ax, x_values, "x")
else:
    ax.set_xticks(x_values, [f"{v:g}" for v in x_values])
ax.set(xlabel=style.AXIS_LABELS.get(x, x), ylabel="lifetime sparseness (%)", ylim=(0, 100))
seeds = per_group_count(df, "seed")
lines = "lines join them" if seeds == "1" else f"lines: median over {seeds} networks"
series_title = style.LEGEND_TITLES.get(series, series.replace("_", " "))
fig.canvas.draw()  # the constrained layout places the axes; then freeze it, so that the
fig.set_layout_engine("none")  # legend and the footnote below it go under everything drawn
style.legend_outside(
    fig,
    ncol=min(len(levels), 4),
    title=f"dots: one network each; {lines}\n{series_title}:",
)
prov["note"] = f"{seeds} seed" + ("" if seeds == "1" else "s")
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
table = df.groupby([series, x]).value.agg(["median", "min", "max", "count"]).reset_index()
style.write_summary(summary, claim, table, prov)
