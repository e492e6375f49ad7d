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
# Ŷ_i = Φ(√t·(c_iᵀμ − b_i)/(σ‖c_i‖)) are inverted as μ = (CᵀC)⁻¹Cᵀ(σ/√t·diag‖c_i‖·Φ⁻¹(Ŷ) + b).
# Left: the largest error |μ̂ − μ| over draws against N/D, per D: at machine precision once
# N ≥ D; for N < D only the projection of μ onto C's row space is recovered (its error stays at
# machine precision while the error against μ is O(1)). Drawn from the theory table
# `reconstruction` (regime "bounded": probit arguments |z| ≲ 4, where float64 Φ⁻¹ is exact).

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

style.apply()
df = pd.read_parquet(json.loads(tables)["theory"][0])
prov = json.loads(provenance)
bounded = df[df.regime == "bounded"]
worst = (
    bounded[bounded.metric.isin(["err_mu", "err_projection"])]
    .groupby(["metric", "dim", "n_tasks"])
    .value.max()
    .reset_index()
)
worst["ratio"] = worst.n_tasks / worst.dim
worst

# %%
fig, ax = plt.subplots(figsize=style.PANEL_SIZE)
floor = 1e-17
markers = {"err_mu": ("o", "vs μ"), "err_projection": ("x", "vs projection of μ on row(C)")}
dims = sorted(worst.dim.unique())
colors = style.series_colors("dim", dims)
for metric, (marker, label) in markers.items():
    for d in dims:
        s = worst[(worst.metric == metric) & (worst.dim == d)]
        ax.scatter(
            s.ratio,
            np.maximum(s.value, floor),
            marker=marker,
            s=12,
            color=colors[d],
            label=f"D = {d}" if metric == "err_mu" else None,
        )
    ax.scatter([], [], marker=marker, color="0.4", label=label)
ax.axvline(1, **style.REFERENCE_STYLE)
ax.set(xscale="log", yscale="log", xlabel="N / D", ylabel="max |μ̂ − μ| over draws")
ax.legend(fontsize=5, ncol=2, loc="center right")
full = worst[(worst.metric == "err_mu") & (worst.n_tasks >= worst.dim)].value.max()
deficient = worst[(worst.metric == "err_mu") & (worst.n_tasks < worst.dim)].value.median()
proj = worst[worst.metric == "err_projection"].value.max()
prov["note"] = f"N ≥ D: max error {full:.1e}; N < D: median {deficient:.2f} (projection {proj:.1e})"
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
table = pd.DataFrame(
    {
        "case": [
            "N >= D, error vs mu (max)",
            "N < D, error vs mu (median)",
            "any N, error vs row-space projection (max)",
            "paper regime: share of saturated outputs (max)",
        ],
        "value": [
            full,
            deficient,
            proj,
            df[(df.regime == "task") & (df.metric == "saturated_fraction")].value.max(),
        ],
    }
)
style.write_summary(summary, claim, table, prov)
