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
# # Multi-task networks vs the β-VAE family on the same data, with the same metrics
#
# Data: the multi-task task's latents x* ~ U(−½, ½)² and their observations f(x*) through the
# frozen mixing MLP. The generative models are trained on f(x*) (two latents); the multi-task
# networks (trained on the noisy evidence stream to solve N classification tasks) are scored on
# their final hidden state; the raw observations f(x*) are the baseline. Scores: the paper's OOD
# r² (ridge decoder, held-out quadrant) and dlib's disentanglement metrics (x* binned into 10
# levels). Points: mean ± sd over seeds. Drawn from the `generative_scores` and
# `disentanglement` tables.

# %% tags=["parameters"]
tables = (
    '{"generative_scores": ["results/smoke/generative/scores/task_vae-beta1-s0.parquet"],'
    ' "disentanglement": ["results/smoke/metrics/rnn_main/disentanglement.parquet"]}'
)
pdf = "figures/vae-mtl-comparison.pdf"
png = "figures/vae-mtl-comparison.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from disentangle.figures import style

style.apply()
paths = json.loads(tables)
gen = style.read_tables(paths, "generative_scores")
net = style.read_tables(paths, "disentanglement")
prov = json.loads(provenance)
scores = [
    "ood_r2",
    "mig.discrete_mig",
    "dci.disentanglement",
    "dci.informativeness_test",
    "sap.SAP_score",
    "mcc.mcc",
]


def gen_label(r):
    hyper = style.HYPER_LABELS.get(r.swept, r.swept)
    value = f" {hyper}={r.swept_value:g}" if r.swept else ""
    return style.METHOD_LABELS.get(r.method, r.method) + value


gen["label"] = gen.apply(gen_label, axis=1)
gen["kind"] = "generative"
raw = net[net.family == "raw"].assign(label="raw f(x*)", kind="raw")
nets = net[net.family == "multi-task"]
nets = nets.assign(
    label=nets.architecture.map(style.ARCHITECTURE_LABELS) + ", N=" + nets.n_tasks.astype(str),
    kind="multi-task",
)
nets = nets[nets.n_tasks.isin([nets.n_tasks.min(), nets.n_tasks.max()])]
both = pd.concat([raw, nets, gen], ignore_index=True)
both = both[both.metric.isin(scores)]
stats = both.groupby(["kind", "label", "metric"]).value.agg(["mean", "std", "count"]).reset_index()
stats

# %%
labels = list(
    dict.fromkeys([*raw.label, *sorted(nets.label.unique()), *sorted(gen.label.unique())])
)
kind_color = {"raw": "0.5", "multi-task": "#4c72b0", "generative": "#dd8452"}
fig, axes = plt.subplots(
    1, len(scores), figsize=(1.5 * len(scores) + 1.5, 0.22 * len(labels) + 1), sharey=True
)
for ax, metric in zip(axes, scores, strict=True):
    s = stats[stats.metric == metric].set_index("label").reindex(labels)
    y = np.arange(len(labels))
    ax.errorbar(s["mean"], y, xerr=s["std"].fillna(0), fmt="none", ecolor="0.6", lw=0.8)
    ax.scatter(
        s["mean"], y, c=[kind_color.get(k, "k") for k in s.kind.fillna("raw")], s=14, zorder=3
    )
    ax.set_title(style.SCORE_LABELS[metric], fontsize=7)
    ax.set_xlim(min(0, float(np.nanmin(s["mean"])) - 0.05), 1)
    ax.tick_params(axis="x", labelsize=5)
axes[0].set_yticks(np.arange(len(labels)), labels, fontsize=6)
axes[0].invert_yaxis()
fig.tight_layout()
prov["note"] = (
    f"networks: {int(nets.train_batches.max())} batches; generative: "
    f"{int(gen.train_steps.max())} steps"
)
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, stats, prov)
