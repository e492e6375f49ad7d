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
# Two methods per row; the x axis is logarithmic with ticks at the swept values. Small dots: one
# model (seed); line: mean over the seeds that passed their health check; ×: a model that failed
# it (left out of the means). Colours: the scores. The β-VAE paper's claim is that β > 1
# disentangles better than β = 1. Drawn from the `generative_scores` and `generative_health`
# tables.

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
df = df[df.metric.isin(scores) & (df.swept != "")].assign(
    healthy=lambda d: ~d.model.isin(unhealthy)
)
# the means (lines) are over the models that passed their health check, as the claims are
means = df[df.healthy].groupby(["method", "swept", "swept_value", "metric"]).value
means = means.agg(["mean", "std", "count"])
means = means.reset_index()
means

# %%
methods = sorted(df.method.unique(), key=list(style.METHOD_LABELS).index)
fig, axes = style.subplots(len(methods), ncols=2, height=2.0 * -(-len(methods) // 2), sharey=True)
colors = style.series_colors("score", scores)
for ax, method in zip(axes, methods, strict=True):
    part = df[df.method == method]
    for metric in scores:
        s = part[part.metric == metric]
        if s.empty:
            continue
        ok, bad = s[s.healthy], s[~s.healthy]
        ax.scatter(ok.swept_value, ok.value, s=6, color=colors[metric], alpha=0.6, lw=0)
        ax.scatter(bad.swept_value, bad.value, s=14, marker="x", color=colors[metric], lw=0.8)
        m = ok.groupby("swept_value").value.mean()
        ax.plot(
            m.index,
            m.values,
            color=colors[metric],
            lw=1,
            marker="o",
            ms=2.5,
            label=style.SCORE_LABELS[metric],
        )
    hyper = part.swept.iloc[0]
    swept = part.swept_value.unique()
    if (swept > 0).all():
        style.log_axis(ax, swept)  # ticks exactly at the swept values
        if len(swept) == 1:  # one value: centre it
            ax.set_xlim(swept[0] / 2, swept[0] * 2)
    else:
        ax.set_xticks(sorted(swept))
    ax.set(xlabel=style.HYPER_LABELS.get(hyper, hyper), ylim=(0, 1))
    ax.set_title(style.METHOD_LABELS.get(method, method))
for i, ax in enumerate(axes):
    if i % 2 == 0:
        ax.set_ylabel("score")
handles, labels = [], []
for ax in axes:
    for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
        if lab not in labels:
            handles.append(h)
            labels.append(lab)
neutral = style.OKABE_ITO["black"]
handles.append(plt.Line2D([], [], marker="o", ls="", ms=2.5, color=neutral, alpha=0.6))
labels.append("one model (seed)")
if (~df.healthy).any():
    handles.append(plt.Line2D([], [], marker="x", ls="", color=neutral))
    labels.append(style.UNHEALTHY_LABEL)
n_seeds = df.seed.nunique()
style.legend_outside(
    fig,
    handles,
    labels,
    ncol=4,
    title="lines: mean over the seeds that passed their health check "
    f"(of {n_seeds} seed{'s' if n_seeds != 1 else ''})",
)
prov["note"] = f"{n_seeds} seed{'s' if n_seeds != 1 else ''}, {int(df.train_steps.max())} steps"
if unhealthy & set(df.model):
    prov["note"] += f"; failed health check: {', '.join(sorted(unhealthy & set(df.model)))}"
# the footnote counts the failed models (the summary's note names them)
n_failed = len(unhealthy & set(df.model))
short = f"{n_seeds} seed{'s' if n_seeds != 1 else ''}, {int(df.train_steps.max())} steps"
if n_failed:
    short += f"; {n_failed} model{'s' if n_failed != 1 else ''} failed the health check (×)"
style.footnote(fig, {**prov, "note": short})
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, means, prov)
