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
# D is coloured on a discrete colour bar; marker kinds, the N = D reference and the two routes are
# in one legend below the plots.

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

import matplotlib
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


def power_axis(ax, lo: float, hi: float, step: int = 3) -> None:
    """A log y axis with ticks at every ``step``-th power of ten in [lo, hi], written 10ⁿ."""
    ticks = [10.0**e for e in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1)]
    style.log_axis(ax, ticks[::step], "y")
    ax.yaxis.set_major_formatter(matplotlib.ticker.LogFormatterSciNotation())
    ax.set_ylim(lo, hi)


BLACK = style.OKABE_ITO["black"]
fig, axes = style.subplots(2, height=2.6)
ax = axes[0]
floor = 1e-17  # no error in the table is below it (smallest: ~2e-17)
markers = {
    "err_mu": ("o", "error vs μ"),
    "err_projection": ("x", "error vs μ's projection on row(C)"),
}
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
            )
for marker, label in markers.values():
    ax.scatter([], [], marker=marker, color=BLACK, label=label)
ax.scatter([], [], marker="o", facecolors="none", edgecolors=BLACK, label="task regime (open)")
style.reference_line(ax, x=1, label="N = D", kind="reference")
ax.set(xlabel="N / D", ylabel="max |μ̂ − μ| over draws")
style.log_axis(
    ax,
    [t for t in (0.1, 0.2, 0.5, 1, 2, 5) if worst.ratio.min() / 2 <= t <= worst.ratio.max() * 1.5],
    "x",
)
power_axis(ax, floor, 10 ** np.ceil(np.log10(worst.value.max()) + 0.5))
cmap = matplotlib.colors.ListedColormap([colors[d] for d in dims])
bar = fig.colorbar(
    matplotlib.cm.ScalarMappable(
        norm=matplotlib.colors.BoundaryNorm(np.arange(len(dims) + 1), len(dims)), cmap=cmap
    ),
    ax=ax,
    ticks=np.arange(len(dims)) + 0.5,
    fraction=0.05,
    pad=0.02,
)
bar.ax.set_yticklabels([str(d) for d in dims])
bar.set_label("latent dimension D")
bar.ax.minorticks_off()
ax = axes[1]
route_colors = style.series_colors("route", ["log", "probability"])
routes = {
    "err_mu_probability": ("x", route_colors["probability"], "Φ⁻¹ of the float64 Ŷ"),
    "err_mu": ("o", route_colors["log"], "Φ⁻¹ from log Ŷ (the check)"),
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
    xlabel=f"samples t (σ = {', '.join(f'{v:g}' for v in sorted(full_task.sigma.unique()))})",
    ylabel="|μ̂ − μ| per draw, N ≥ D",
)
power_axis(
    ax,
    floor,
    10 ** np.ceil(np.log10(full_task[list(routes)].to_numpy().max()) + 0.5),
)
ax.set_title("task regime")
style.legend_outside(fig, ncol=3)

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
n_draws = df.groupby(["regime", "dim", "n_tasks"]).draw.nunique().max()
style.footnote(
    fig,
    prov
    | {
        "note": f"{prov['note']}\na: largest error over {n_draws} draw"
        f"{'s' if n_draws != 1 else ''} of C, b per (regime, D, N), colour = D; "
        "b: one point per draw with N ≥ D, task regime"
    },
)
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
