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
# # r² of the optimal estimator against evidence time and noise
#
# Lines: the unbiased-estimator ceiling r² = 1 − 12σ²/n after n noisy samples (paper Eq. 7) and
# the Bayes-optimal r² under the uniform prior (a truncated-normal posterior mean, by quadrature).
# Open circles: Monte Carlo of the running-mean observer (theory table `r2_time`). Filled points:
# trained networks' OOD r² (median over networks × folds × fits) — free-RT networks of different
# durations (left) and fixed-RT networks at different noise levels (right, the most tasks).

# %% tags=["parameters"]
tables = (
    '{"theory": ["results/smoke/theory/r2_time.parquet"],'
    ' "ood_r2": ["results/smoke/metrics/rnn_duration-stimulus_steps5/ood_r2.parquet"]}'
)
pdf = "figures/theory-r2-time.pdf"
png = "figures/theory-r2-time.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import matplotlib.pyplot as plt

from disentangle.figures import style
from disentangle.io import read_parquet

style.apply()
paths = json.loads(tables)
theory = read_parquet(paths["theory"][0])
theory = theory[(theory.metric == "r2") & (theory.timing == "fixed")]
nets = style.read_tables(paths, "ood_r2")
nets = nets[nets.metric == "ood_r2"]
prov = json.loads(provenance)


def lines(ax, part, x):
    for (estimator, method), s in part.groupby(["estimator", "method"]):
        s = s.sort_values(x)
        if method == "monte_carlo":
            ax.scatter(
                s[x],
                s.value,
                s=12,
                facecolor="none",
                edgecolor="0.3",
                zorder=3,
                label=f"Monte Carlo ({estimator})",
            )
        else:
            ax.plot(
                s[x],
                s.value,
                lw=1.2,
                label={"mle": "1 − 12σ²/n", "bayes": "Bayes, uniform prior"}[estimator],
                color={"mle": "0.2", "bayes": "#4c72b0"}[estimator],
            )


fig, (ax, ax2) = plt.subplots(1, 2, figsize=(6.4, 2.7), sharey=True)
lines(ax, theory[theory.sigma == 0.2], "n_samples")
free = nets[nets.loss == "ddm"]
if len(free):
    med = free.groupby("stimulus_steps").value.median()
    ax.scatter(
        med.index,
        med.values,
        color=style.METRIC_COLORS["ood_r2"],
        s=16,
        zorder=4,
        label="trained, free RT",
    )
ax.set(xscale="log", xlabel="samples n (σ = 0.2)", ylabel="r²", ylim=(0.5, 1.0))
ax.legend(fontsize=5, loc="lower right")
lines(ax2, theory[theory.n_samples == 20], "sigma")
fixed = nets[(nets.loss == "bce") & (nets.stimulus_steps == 20)]
if len(fixed):
    fixed = fixed[fixed.n_tasks == fixed.n_tasks.max()]
    med = fixed.groupby("noise_sd").value.median()
    ax2.scatter(
        med.index,
        med.values,
        color=style.METRIC_COLORS["ood_r2"],
        s=16,
        zorder=4,
        label=f"trained, N = {int(fixed.n_tasks.max())}",
    )
ax2.set(xlabel="noise σ (n = 20)")
ax2.legend(fontsize=5, loc="lower left")
fig.tight_layout()
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
table = theory.pivot_table(
    index=["sigma", "n_samples"], columns=["estimator", "method"], values="value"
).reset_index()
table.columns = ["_".join(str(p) for p in c if p) for c in table.columns]
style.write_summary(summary, claim, table, prov)
