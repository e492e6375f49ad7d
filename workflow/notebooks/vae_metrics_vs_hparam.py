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
unhealthy = style.unhealthy_models(tables)
prov = json.loads(provenance)
scores = [
    "mig.discrete_mig",
    "dci.disentanglement",
    "sap.SAP_score",
    "mcc.mcc",
    "beta_vae.eval_accuracy",
    "factor_vae.eval_accuracy",
]
df = df[df.metric.isin(scores) & (df.swept != "")].assign(healthy=lambda d: ~d.model.isin(unhealthy))
# the means (lines) are over the models that passed their health check, as the claims are
means = df[df.healthy].groupby(["method", "swept", "swept_value", "metric"]).value
means = means.agg(["mean", "std", "count"])
means = means.reset_index()
means

# %%
methods = sorted(df.method.unique(), key=list(style.METHOD_LABELS).index)
n_cols = min(2, len(methods))
n_rows = -(-len(methods) // n_cols)
fig, axes = plt.subplots(
    n_rows, n_cols, figsize=(3.4 * n_cols, 2.2 * n_rows), sharey=True, squeeze=False
)
for ax in axes.flat[len(methods) :]:
    ax.set_visible(False)
colors = dict(zip(scores, style.sns.color_palette("deep", len(scores)), strict=True))
for ax, method in zip(axes.flat, methods, strict=False):
    part = df[df.method == method]
    for metric in scores:
        s = part[part.metric == metric]
        if s.empty:
            continue
        ok, bad = s[s.healthy], s[~s.healthy]
        ax.scatter(ok.swept_value, ok.value, s=6, color=colors[metric], alpha=0.6)
        ax.scatter(bad.swept_value, bad.value, s=14, marker="x", color=colors[metric], lw=0.8)
        m = ok.groupby("swept_value").value.mean()
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
    ax.set_title(style.METHOD_LABELS.get(method, method))
for ax in axes[:, 0]:
    ax.set_ylabel("score")
handles, labels = axes.flat[0].get_legend_handles_labels()
for ax in axes.flat[1 : len(methods)]:
    for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
        if lab not in labels:
            handles.append(h)
            labels.append(lab)
labels = [f"{lab} (mean over seeds)" if i == 0 else lab for i, lab in enumerate(labels)]
if df.healthy.any() and (~df.healthy).any():
    handles.append(plt.Line2D([], [], marker="x", ls="", color="0.3"))
    labels.append(f"× {style.UNHEALTHY_LABEL}")
fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3)
fig.tight_layout()
prov["note"] = f"{df.seed.nunique()} seeds, {int(df.train_steps.max())} steps"
if unhealthy & set(df.model):
    prov["note"] += f"; failed health check: {', '.join(sorted(unhealthy & set(df.model)))}"
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, means, prov)
