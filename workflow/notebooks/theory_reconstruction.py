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
# # Theorem 3.1 / B.6: trilateration recovers the posterior mean from the optimal outputs
#
# For random boundaries C (N × D) and offsets b, the Bayes-optimal outputs
# Ŷ_i = Φ(√t·(c_iᵀμ − b_i)/(σ‖c_i‖)) are inverted as μ = (CᵀC)⁻¹Cᵀ(σ/√t·diag‖c_i‖·Φ⁻¹(Ŷ) + b),
# with Φ⁻¹ computed in log space (from log Ŷ, inverting the smaller tail). Left: the largest
# error |μ̂ − μ| over draws against N/D, per D, both regimes of the theory table `reconstruction`
# (filled: "bounded", probit arguments |z| ≲ 4; open: "task", the paper's σ = 0.2 with t = 1..20
# samples): at machine precision once N ≥ D; for N < D only the projection of μ onto C's row
# space is recovered (its error stays at machine precision while the error against μ is O(1)).
# Right: the task regime, N ≥ D, per draw against the number of samples t: Φ⁻¹ of the float64
# probability Ŷ fails once |z| passes ≈ 8.2 (Ŷ rounds to 1), the log-space route stays exact.

# %% tags=["parameters"]
tables = '{"theory": ["results/smoke/theory/reconstruction.parquet"]}'
pdf = "figures/theory-reconstruction.pdf"
png = "figures/theory-reconstruction.png"
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
from disentangle.io import read_parquet

style.apply()
df = read_parquet(json.loads(tables)["theory"][0])
prov = json.loads(provenance)
worst = (
    df[df.metric.isin(["err_mu", "err_projection"])]
    .groupby(["regime", "metric", "dim", "n_tasks"])
    .value.max()
    .reset_index()
)
worst["ratio"] = worst.n_tasks / worst.dim
draws = df.pivot_table(
    index=["regime", "rows", "dim", "n_tasks", "draw", "sigma", "steps"],
    columns="metric",
    values="value",
).reset_index()
full_task = draws[(draws.regime == "task") & (draws.n_tasks >= draws.dim)]
worst

# %%
fig, axes = plt.subplots(1, 2, figsize=(7.0, 2.8))
ax = axes[0]
floor = 1e-17
markers = {"err_mu": ("o", "vs μ"), "err_projection": ("x", "vs projection of μ on row(C)")}
dims = sorted(worst.dim.unique())
colors = style.series_colors("dim", dims)
for regime, fill in (("bounded", True), ("task", False)):
    for metric, (marker, _) in markers.items():
        for d in dims:
            s = worst[(worst.regime == regime) & (worst.metric == metric) & (worst.dim == d)]
            face = colors[d] if fill or marker == "x" else "none"
            ax.scatter(
                s.ratio,
                np.maximum(s.value, floor),
                marker=marker,
                s=12,
                facecolors=face,
                edgecolors=colors[d],
                lw=0.7,
                label=f"D = {d}" if metric == "err_mu" and fill else None,
            )
for marker, label in markers.values():
    ax.scatter([], [], marker=marker, color="0.4", label=label)
ax.scatter([], [], marker="o", facecolors="none", edgecolors="0.4", label="task regime (open)")
ax.axvline(1, **style.REFERENCE_STYLE)
ax.set(xscale="log", yscale="log", xlabel="N / D", ylabel="max |μ̂ − μ| over draws")
ax.legend(fontsize=5, ncol=2, loc="center right")
ax = axes[1]
routes = {
    "err_mu_probability": ("x", "0.45", "Φ⁻¹ of float64 Ŷ"),
    "err_mu": ("o", style.METRIC_COLORS["id_r2"], "Φ⁻¹ from log Ŷ (the check)"),
}
for metric, (marker, color, label) in routes.items():
    ax.scatter(
        full_task.steps,
        np.maximum(full_task[metric], floor),
        marker=marker,
        s=8,
        lw=0.7,
        color=color,
        alpha=0.6,
        label=label,
    )
ax.set(
    yscale="log",
    xlabel=f"samples t (σ = {', '.join(f'{v:g}' for v in sorted(full_task.sigma.unique()))})",
    ylabel="|μ̂ − μ| per draw, N ≥ D",
)
ax.set_title("task regime", fontsize=6.5)
ax.legend(fontsize=5, loc="center right")
fig.tight_layout()

full = (
    worst[(worst.metric == "err_mu") & (worst.n_tasks >= worst.dim)].groupby("regime").value.max()
)
deficient = worst[(worst.metric == "err_mu") & (worst.n_tasks < worst.dim)].value.median()
proj = worst[worst.metric == "err_projection"].value.max()
naive = full_task.err_mu_probability.max()
failing = full_task[full_task.err_mu_probability > 1e-6]
prov["note"] = (
    f"N ≥ D: max error {full.max():.1e} (task regime {full.get('task', np.nan):.1e}, where "
    f"Φ⁻¹ of float64 Ŷ errs up to {naive:.1e}); N < D: median {deficient:.2f} "
    f"(projection {proj:.1e})"
)
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
table = pd.DataFrame(
    {
        "case": [
            "N >= D, error vs mu (max), bounded regime",
            "N >= D, error vs mu (max), task regime (log-space route)",
            "N >= D, error vs mu (max), task regime, float64-probability route",
            "task regime: smallest max |z| where the probability route errs > 1e-6",
            "N < D, error vs mu (median)",
            "any N, error vs row-space projection (max)",
            "task regime: share of saturated outputs (max)",
            "task regime: max |z|",
        ],
        "value": [
            full.get("bounded", np.nan),
            full.get("task", np.nan),
            naive,
            failing.max_abs_z.min() if len(failing) else np.nan,
            deficient,
            proj,
            draws[draws.regime == "task"].saturated_fraction.max(),
            draws[draws.regime == "task"].max_abs_z.max(),
        ],
    }
)
style.write_summary(summary, claim, table, prov)
