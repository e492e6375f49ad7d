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
# network (jittered), the line joins the medians.

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

import matplotlib.pyplot as plt
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
fig, ax = plt.subplots(figsize=style.PANEL_SIZE)
levels = sorted(df[series].unique(), key=style.series_order)
colors = style.series_colors(series, levels)
rng = np.random.default_rng(derive_seed("figure-jitter", 0) % 2**32)
for i, level in enumerate(levels):
    s = df[df[series] == level]
    xs = s[x].to_numpy(dtype=float)
    offset = (i - (len(levels) - 1) / 2) * 0.06
    jitter = offset + rng.uniform(-0.02, 0.02, len(xs))
    xs = xs * np.exp(jitter) if opts["log_x"] else xs + jitter * 4
    ax.scatter(xs, s.value, s=8, color=colors[level], alpha=0.8)
    med = s.groupby(x).value.median()
    ax.plot(
        med.index, med.values, color=colors[level], lw=1, label=style.series_label(series, level)
    )
if opts["log_x"]:
    ax.set_xscale("log")
    ticks = np.sort(df[x].unique())
    ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
    ax.minorticks_off()
ax.set(xlabel=style.AXIS_LABELS.get(x, x), ylabel="sparsity (%)", ylim=(0, 100))
ax.legend(fontsize=6, title=style.LEGEND_TITLES.get(series), title_fontsize=6)
prov["note"] = f"{per_group_count(df, 'seed')} seeds"
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
table = df.groupby([series, x]).value.agg(["median", "min", "max", "count"]).reset_index()
style.write_summary(summary, claim, table, prov)
