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
# # iVAE identifiability (Khemakhem et al. 2020)
#
# Five Gaussian sources whose variances change with an observed auxiliary variable u (40
# segments), linearly mixed. An iVAE (prior p(z|u)) and a VAE with the same networks and a fixed
# N(0, I) prior are trained on the same data; the mean correlation coefficient (MCC, best
# one-to-one matching of |Pearson r|) between posterior means and the true sources measures
# identification up to permutation and pointwise maps. The raw observations are the floor.
# One dot per seed, bar = mean over seeds (said in the footnote). Colours: the methods' fixed
# palette colours. Drawn from the check table `ivae`.

# %% tags=["parameters"]
tables = '{"theory": ["results/smoke/theory/ivae.parquet"]}'
pdf = "figures/theory-ivae.pdf"
png = "figures/theory-ivae.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import numpy as np

from disentangle.figures import style
from disentangle.io import read_parquet

style.apply()
df = read_parquet(json.loads(tables)["theory"][0])
prov = json.loads(provenance)
order = ["ivae", "vae", "raw observations"]
stats = df.groupby("model").value.agg(["mean", "std", "count"]).reindex(order).reset_index()
stats

# %%
fig, axes = style.subplots(1)
ax = axes[0]
colors = {
    "ivae": style.color("method", "ivae"),
    "vae": style.color("method", "vae"),
    "raw observations": style.color("family", "raw"),
}
labels = {"ivae": "iVAE", "vae": "VAE", "raw observations": "raw x"}
for i, model in enumerate(order):
    s = df[df.model == model]
    ax.bar(i, s.value.mean(), color=colors[model], alpha=0.35, width=0.6, lw=0)
    ax.scatter(np.full(len(s), i), s.value, color=colors[model], s=14, zorder=3)
ax.set_xticks(range(len(order)), [labels[m] for m in order])
ax.set(ylabel="MCC with the true sources", ylim=(0, 1))
n_seeds = df.seed.nunique()
prov["note"] = (
    f"{n_seeds} seeds, {int(df.train_steps.iloc[0])} steps, "
    f"{int(df.mixing_layers.iloc[0])} mixing layer(s)"
)
seeds = f"{n_seeds} seed{'s' if n_seeds != 1 else ''}"
style.footnote(
    fig,
    prov
    | {
        "note": f"dots: one seed each; bars: mean over {seeds}\n"
        f"{int(df.train_steps.iloc[0])} training steps, "
        f"{int(df.mixing_layers.iloc[0])} mixing layer"
        f"{'s' if int(df.mixing_layers.iloc[0]) != 1 else ''}"
    },
)
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, stats, prov)
