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
# # Linear decodability with a sigmoid read-out: the logistic ≈ probit constant
#
# The theorem reads μ linearly from the logits Z of a sigmoid read-out because Φ⁻¹(σ(z)) ≈ κz.
# Left: the least-squares slope a of Φ(a·z + b) ≈ logistic(z) fitted on [−T, T] (the authors'
# MATLAB fit): 0.625 for small ranges, 0.589 = 1/1.70 for wide ones. Middle: the worst-case error
# of Φ(κz) against the logistic for the candidate constants — the poster's 2√3/π is the tanh
# (slope-2 logistic) value and is 14× worse than 1/1.70 for a logistic read-out. Right: the
# paper's check 5 — a linear decoder of x* from the logits of the Bayes-optimal classifier under
# the uniform prior (σ = 0.2, T = 20), against the number of tasks, beside the Bayes ceiling.

# %% tags=["parameters"]
tables = (
    '{"theory": ["results/smoke/theory/sigmoid.parquet",'
    ' "results/smoke/theory/linear_decoder.parquet"]}'
)
pdf = "figures/theory-sigmoid.pdf"
png = "figures/theory-sigmoid.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import matplotlib.pyplot as plt
import pandas as pd

from disentangle.figures import style

style.apply()
frames = [pd.read_parquet(p) for p in json.loads(tables)["theory"]]
sig = next(f for f in frames if f.check.iloc[0] == "sigmoid")
lin = next(f for f in frames if f.check.iloc[0] == "linear_decoder")
prov = json.loads(provenance)
fit = sig[(sig.part == "fit") & (sig.metric == "a")]
kappas = (
    sig[(sig.part == "kappa") & (sig.target == "logistic")]
    .pivot_table(index="kappa_name", columns="metric", values="value")
    .sort_values("max_abs_err")
)
check5 = lin[
    (lin.part == "uniform_prior")
    & (lin.prior == "uniform")
    & (lin.target == "x_star")
    & (lin.metric == "r2")
]
kappas

# %%
fig, axes = plt.subplots(1, 3, figsize=(7.4, 2.5))
ax = axes[0]
ax.plot(fit.range, fit.value, marker="o", ms=3, color="k")
for name in ("sqrt(pi/8)", "1/1.70", "sqrt(3)/pi"):
    ax.axhline(kappas.loc[name, "kappa"], ls=":", lw=0.8, color="0.5")
    ax.text(fit.range.max(), kappas.loc[name, "kappa"], name, fontsize=5, va="bottom", ha="right")
ax.set(xscale="log", xlabel="fit range T", ylabel="fitted slope a")
ax = axes[1]
ax.barh(kappas.index, kappas.max_abs_err, color=style.METRIC_COLORS["ood_r2"])
ax.set(xscale="log", xlabel="max |Φ(κz) − logistic(z)|")
ax.tick_params(axis="y", labelsize=6)
ax = axes[2]
lsq = check5[check5.decoder == "lstsq"].sort_values("n_tasks")
ceiling = check5[check5.decoder == "posterior_mean"].value.iloc[0]
ax.plot(
    lsq.n_tasks,
    lsq.value,
    marker="o",
    ms=3,
    color=style.METRIC_COLORS["id_r2"],
    label="linear from Bayes logits",
)
ax.axhline(ceiling, ls="-", **style.REFERENCE_STYLE)
ax.text(lsq.n_tasks.min(), ceiling, f"posterior mean {ceiling:.3f}", fontsize=5, va="bottom")
ax.set(xscale="log", xlabel="number of tasks", ylabel="r² of x*")
ax.set_xticks(lsq.n_tasks, [str(n) for n in lsq.n_tasks])
ax.minorticks_off()
ax.legend(fontsize=5, loc="lower right")
fig.tight_layout()
prov["note"] = (
    f"best κ {kappas.max_abs_err.idxmin()} = {kappas.kappa.iloc[0]:.4f}; "
    f"2√3/π error {kappas.loc['2*sqrt(3)/pi', 'max_abs_err']:.3f}"
)
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
table = pd.concat(
    [
        fit[["range", "value"]].rename(columns={"value": "fitted_a"}).assign(part="fit"),
        kappas.reset_index().assign(part="kappa"),
        lsq[["n_tasks", "value"]]
        .rename(columns={"value": "r2_linear_from_logits"})
        .assign(part="check5"),
    ],
    ignore_index=True,
)
style.write_summary(summary, claim, table, prov)
