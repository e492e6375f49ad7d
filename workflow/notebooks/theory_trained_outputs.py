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
# # Theorem 3.1 on trained networks: outputs and the posterior mean over time
#
# (a) r² of the trained networks' decision-step outputs against the Bayes-optimal outputs
# Φ(√t·Cm_t/σ), after t stimulus steps (the networks were trained at T; shorter t asks them for
# their answer early), one series per number of tasks. (b) r² of the posterior mean m_t
# reconstructed from those outputs by the theorem's closed form μ = (CᵀC)⁻¹Cᵀ(σ/√t)Φ⁻¹(Ŷ), with the
# same closed form applied to the Bayes outputs (exact for N ≥ D) as the reference. Points: median
# over networks; bars: interquartile range (`trained_outputs` tables).

# %% tags=["parameters"]
tables = '{"trained_outputs": ["results/smoke/metrics/rnn_main/trained_outputs.parquet"]}'
pdf = "figures/theory-trained-outputs.pdf"
png = "figures/theory-trained-outputs.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import numpy as np

from disentangle.figures import style
from disentangle.figures.summary import quantile_summary

style.apply()
prov = json.loads(provenance)
df = style.read_tables(tables, "trained_outputs")
stats = quantile_summary(df, ["metric", "n_tasks", "steps"])
stats

# %%
fig, (ax_a, ax_b) = style.subplots(2, height=2.6)
levels = sorted(df.n_tasks.unique())
colors = style.series_colors("n_tasks", levels)
steps = sorted(df.steps.unique())
shown = []
for ax, metric in ((ax_a, "output_r2"), (ax_b, "mu_r2")):
    for n in levels:
        s = stats[(stats.metric == metric) & (stats.n_tasks == n)]
        style.median_iqr(ax, s.steps, s, colors[n], label=style.series_label("n_tasks", n))
        shown += [s.q25.to_numpy(), s.q75.to_numpy()]
bayes = stats[stats.metric == "mu_r2_bayes"].groupby("steps")["median"].median()
ax_b.plot(
    bayes.index,
    bayes.to_numpy(),
    **style.REFERENCE_KINDS["theory"],
    lw=style.REFERENCE_STYLE["lw"],
    label="closed form on the Bayes outputs",
)
shown.append(bayes.to_numpy())
trained_t = int(df.stimulus_steps.iloc[0])
for ax in (ax_a, ax_b):
    style.log_axis(ax, steps, "x")
    ax.set_xlabel("stimulus steps t before the decision")
ax_a.set_ylabel("r² of outputs vs Bayes outputs")
ax_b.set_ylabel("r² of μ from the outputs vs mₜ")
below = []
for ax in (ax_a, ax_b):
    below += list(style.r2_axis(ax, np.concatenate(shown)))
style.reference_line(ax_a, x=trained_t, label=f"trained duration T = {trained_t}", kind="reference")
style.legend_outside(fig, ncol=3, title=style.LEGEND_TITLES["n_tasks"])
n_nets = df[["n_tasks", "seed"]].drop_duplicates().groupby("n_tasks").size().max()
style.footnote(
    fig,
    prov
    | {
        "note": f"{style.describe_bars(n_nets)} per (N, t); outputs read at the decision step "
        "after t stimulus steps\n"
        + (f"{len(below)} values below the axes" if below else "flat-prior Bayes outputs")
    },
)
style.save(fig, pdf, png, prov)
table = stats.pivot_table(index=["metric", "n_tasks"], columns="steps", values="median")
table.columns = [f"t={c}" for c in table.columns]
style.write_summary(summary, claim, table.reset_index(), prov)
