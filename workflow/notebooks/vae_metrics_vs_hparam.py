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
# # Disentanglement scores against the regularisation strength, per method (dSprites)
#
# One panel per method: each score (dlib's definitions) against the method's swept
# hyperparameter (β for β-VAE and β-TCVAE, the capacity C for AnnealedVAE, γ for FactorVAE).
# Small dots: one model (seed); line: mean over seeds. The β-VAE paper's claim is that β > 1
# disentangles better than β = 1. Drawn from the `generative_scores` tables.

# %% tags=["parameters"]
tables = '{"generative_scores": ["results/smoke/generative/scores/beta_vae-beta1-s0.parquet"]}'
pdf = "figures/vae-metric-vs-hparam.pdf"
png = "figures/vae-metric-vs-hparam.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import matplotlib.pyplot as plt

from disentangle.figures import style

style.apply()
df = style.read_tables(tables, "generative_scores")
prov = json.loads(provenance)
scores = [
    "mig.discrete_mig",
    "dci.disentanglement",
    "sap.SAP_score",
    "mcc.mcc",
    "beta_vae.eval_accuracy",
    "factor_vae.eval_accuracy",
]
df = df[df.metric.isin(scores) & (df.swept != "")]
means = df.groupby(["method", "swept", "swept_value", "metric"]).value.agg(["mean", "std", "count"])
means = means.reset_index()
means

# %%
methods = sorted(df.method.unique(), key=list(style.METHOD_LABELS).index)
fig, axes = plt.subplots(
    1, len(methods), figsize=(2.4 * len(methods), 2.6), sharey=True, squeeze=False
)
colors = dict(zip(scores, style.sns.color_palette("deep", len(scores)), strict=True))
for ax, method in zip(axes[0], methods, strict=True):
    part = df[df.method == method]
    for metric in scores:
        s = part[part.metric == metric]
        if s.empty:
            continue
        ax.scatter(s.swept_value, s.value, s=6, color=colors[metric], alpha=0.6)
        m = s.groupby("swept_value").value.mean()
        ax.plot(
            m.index,
            m.values,
            color=colors[metric],
            lw=1,
            marker="o",
            ms=2,
            label=style.SCORE_LABELS[metric],
        )
    hyper = part.swept.iloc[0]
    if part.swept_value.nunique() > 1 and part.swept_value.min() > 0:
        ax.set_xscale("log")
    ax.set(xlabel=style.HYPER_LABELS.get(hyper, hyper), ylim=(0, 1))
    ax.set_title(style.METHOD_LABELS.get(method, method), fontsize=8)
axes[0, 0].set_ylabel("score")
axes[0, -1].legend(fontsize=5, loc="upper right")
fig.tight_layout()
prov["note"] = f"{df.seed.nunique()} seeds, {int(df.train_steps.max())} steps"
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, means, prov)
