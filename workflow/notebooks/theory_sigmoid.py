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
# The theorem reads μ linearly from the logits Z of a sigmoid read-out because Φ⁻¹(σ(z)) ≈ κz:
# μ̂ = κ·σ/√t·(CᵀC)⁻¹Cᵀ(Z + b). Top left: the least-squares slope a of Φ(a·z + b) ≈ logistic(z)
# fitted on [−T, T] (the authors' MATLAB fit): near the slope match √(π/8) for small ranges, near
# 1/1.70 for wide ones. Top middle: the worst-case error of Φ(κz) against the logistic for the
# candidate constants and the minimax κ (footnote: both with their values) — the poster's 2√3/π is
# the tanh (slope-2 logistic) value and an order of magnitude worse for a logistic read-out.
# Top right: the paper's check 5 — an affine decoder fitted to the logits of the Bayes-optimal
# classifier under the uniform prior (the task's σ and T), r² of x* against the number of tasks,
# beside the Bayes ceiling. The summary states, from the table, where the κ-formula works.
#
# Bottom: where the κ-formula holds. The same D = 2 task (N evenly spaced boundaries) over the
# posterior width σ/√t (the task's σ with t = 1..20 samples, and t = 1 with larger σ; the r² of
# every read-out depends on σ/√t alone). Bottom left: the theorem's own setting, μ from the exact
# flat-prior logits logit Φ(z); bottom middle: the task, x* from the uniform-prior Bayes logits.
# Solid black: the fitted affine decoder; colours: the κ-formula for each candidate κ; dashed grey:
# the formula with the least-squares κ (fitted on training trials); r² below −1 is drawn at −1
# (open triangles). Bottom right: that least-squares κ against the candidates. At the task's
# width (dotted line) the exact logits grow like z²/2 and every fixed-κ formula fails; where the
# posterior is wide the logits stay moderate and the formula approaches the fitted decoder.
# r² = 1 − mse/(1/12) on held-out trials.

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
import numpy as np
import pandas as pd

from disentangle.figures import style
from disentangle.io import read_parquet

style.apply()
frames = [read_parquet(p) for p in json.loads(tables)["theory"]]
sig = next(f for f in frames if f.check.iloc[0] == "sigmoid")
lin = next(f for f in frames if f.check.iloc[0] == "linear_decoder")
prov = json.loads(provenance)
opts = json.loads(options)
TOLERANCE = float(opts.get("tolerance", 0.05))  # "the formula works": r² within this of fitted
R2_FLOOR = -1.0  # r² below this is drawn at the floor
fit = sig[(sig.part == "fit") & (sig.metric == "a")]
kappas = (
    sig[(sig.part == "kappa") & (sig.target == "logistic")]
    .pivot_table(index="kappa_name", columns="metric", values="value")
    .sort_values("max_abs_err")
)
candidates = [k for k in kappas.index if k != "minimax"]  # the named constants of the table
uni = lin[lin.part == "uniform_prior"].assign(width=lambda d: d.sigma / np.sqrt(d.steps))
# check 5 proper: the (σ, t) swept over the most task counts; the sweep: the N shared by all (σ, t)
tasks_per_setting = uni[uni.n_tasks > 0].groupby(["sigma", "steps"]).n_tasks.agg(set)
check_sigma, check_steps = max(tasks_per_setting.index, key=lambda k: len(tasks_per_setting[k]))
sweep_n = max(set.intersection(*tasks_per_setting))
check_width = check_sigma / np.sqrt(check_steps)
check5 = uni[
    (uni.sigma == check_sigma)
    & (uni.steps == check_steps)
    & (uni.prior == "uniform")
    & (uni.target == "x_star")
    & (uni.metric == "r2")
]
r2 = uni[(uni.metric == "r2") & uni.n_tasks.isin([0, sweep_n])]
wide = (
    r2.pivot_table(index=["prior", "target", "width"], columns="decoder", values="value")
    .reset_index()
    .sort_values(["prior", "target", "width"])
)
logits = uni[(uni.n_tasks == sweep_n) & (uni.decoder == "none")].pivot_table(
    index=["prior", "width"], columns="metric", values="value"
)
best = (
    uni[(uni.n_tasks == sweep_n) & (uni.decoder == "best") & (uni.metric == "r2")]
    .pivot_table(index="width", columns=["prior", "target"], values="kappa")
    .sort_index()
)
kappas

# %%
SETTINGS = {  # (prior of the logits, target): panel title
    ("flat", "mu"): "theorem: μ from flat-prior logits",
    ("uniform", "x_star"): "task: x* from Bayes (uniform) logits",
}


def regime(prior: str, target: str, name: str) -> pd.Series:
    """Widths σ/√t where the κ-formula ``name`` comes within TOLERANCE of the fitted r²."""
    w = wide[(wide.prior == prior) & (wide.target == target)]
    return w.width[w[name] >= w["lstsq"] - TOLERANCE]


def describe(prior: str, target: str) -> str:
    """The regime of every candidate κ in words, from the table."""
    w = wide[(wide.prior == prior) & (wide.target == target)].set_index("width")
    at_task = w.iloc[np.abs(w.index - check_width).argmin()]
    parts, small = [], []
    for name in candidates:
        ok = regime(prior, target, name)
        gap = (w["lstsq"] - w[name]).min()
        if ok.empty:
            parts.append(f"κ = {name}: never (smallest gap {gap:.2f})")
            continue
        contiguous = w.index[(w.index >= ok.min()) & (w.index <= ok.max())].size == ok.size
        span = (
            f"σ/√t ≥ {ok.min():.3g}"
            if ok.max() == w.index.max()
            else (f"σ/√t in [{ok.min():.3g}, {ok.max():.3g}]")
        )
        parts.append(f"κ = {name}: {span}{'' if contiguous else ' (not contiguous)'}")
        small += list(ok)
    worst = min(at_task[n] for n in candidates)
    best_at = max(at_task[n] for n in candidates)
    spread = logits.loc[prior].iloc[np.abs(logits.loc[prior].index - check_width).argmin()]
    kappa_task = best[(prior, target)].iloc[np.abs(best.index - check_width).argmin()]
    where = "."
    if small:  # how large the logits are where the formula works
        typical = logits.loc[prior].loc[logits.loc[prior].index.isin(small), "median_abs_logit"]
        where = f"; there the median |Z| is at most {typical.max():.1f}."
    return (
        f"{SETTINGS[(prior, target)]} (N = {sweep_n}): the κ-formula comes within {TOLERANCE:g} of "
        f"the fitted decoder's r² for " + "; ".join(parts) + where + " At the task's σ/√t = "
        f"{check_width:.3g} (σ = {check_sigma:g}, T = {check_steps}; median |Z| "
        f"{spread.median_abs_logit:.1f}, max {spread.max_abs_logit:.0f}) the κ-formula r² is "
        f"{worst:.2f} to {best_at:.2f} against the fitted {at_task['lstsq']:.3f}; least-squares κ "
        f"there {kappa_task:.3f}."
    )


statements = {key: describe(*key) for key in SETTINGS}
for text in statements.values():
    print(text)

# %%
fig, axes = plt.subplots(2, 3, figsize=(7.4, 5.0))
ax = axes[0, 0]
ax.plot(fit.range, fit.value, marker="o", ms=3, color="k")
for name in ("sqrt(pi/8)", "1/1.70", "sqrt(3)/pi"):
    ax.axhline(kappas.loc[name, "kappa"], ls=":", lw=0.8, color="0.5")
    ax.text(fit.range.max(), kappas.loc[name, "kappa"], name, fontsize=5, va="bottom", ha="right")
ax.set(xscale="log", xlabel="fit range T", ylabel="fitted slope a")
ax = axes[0, 1]
ax.barh(kappas.index, kappas.max_abs_err, color=style.METRIC_COLORS["ood_r2"])
ax.set(xscale="log", xlabel="max |Φ(κz) − logistic(z)|")
ax.tick_params(axis="y", labelsize=6)
ax = axes[0, 2]
lsq = check5[check5.decoder == "lstsq"].sort_values("n_tasks")
ceiling = check5[check5.decoder == "posterior_mean"].value.iloc[0]
ax.plot(
    lsq.n_tasks,
    lsq.value,
    marker="o",
    ms=3,
    color=style.METRIC_COLORS["id_r2"],
    label="fitted affine from Bayes logits",
)
ax.axhline(ceiling, ls="-", **style.REFERENCE_STYLE)
ax.text(lsq.n_tasks.min(), ceiling, f"posterior mean {ceiling:.3f}", fontsize=5, va="bottom")
ax.set(
    xscale="log",
    xlabel="number of tasks",
    ylabel="r² of x*",
)
ax.set_title(f"check 5: σ = {check_sigma:g}, T = {check_steps}", fontsize=6.5)
ax.set_xticks(lsq.n_tasks, [str(n) for n in lsq.n_tasks])
ax.minorticks_off()
ax.legend(fontsize=5, loc="lower right")

colors = style.series_colors("kappa", candidates)
widths = wide.width.unique()


def width_axis(ax) -> None:
    """Log σ/√t axis with plain tick labels, and the task's width as a dotted line."""
    ticks = [t for t in (0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6) if widths.min() <= t <= widths.max()]
    ax.set_xscale("log")
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("posterior sd σ/√t")
    ax.axvline(check_width, ls=":", **style.REFERENCE_STYLE)
    ax.text(check_width, 1.0, " task", transform=ax.get_xaxis_transform(), fontsize=5, va="top")


def draw_r2(ax, y, **kw) -> None:
    """r² against σ/√t; values below R2_FLOOR drawn at the floor as open triangles."""
    x = y.index.to_numpy()
    v = y.to_numpy()
    ax.plot(x, np.maximum(v, R2_FLOOR), **kw)
    low = v < R2_FLOOR
    if low.any():
        ax.scatter(
            x[low],
            np.full(low.sum(), R2_FLOOR),
            marker="v",
            s=14,
            facecolors="none",
            edgecolors=kw.get("color", "k"),
            lw=0.8,
            zorder=4,
        )


for ax, (prior, target) in zip(axes[1, :2], SETTINGS, strict=True):
    w = wide[(wide.prior == prior) & (wide.target == target)].set_index("width")
    for name in candidates:
        draw_r2(ax, w[name], marker="o", ms=2.5, lw=1, color=colors[name], label=f"κ = {name}")
    draw_r2(ax, w["best"], ls="--", lw=1, color="0.5", label="least-squares κ")
    draw_r2(ax, w["lstsq"], marker="s", ms=3, lw=1.4, color="k", label="fitted affine")
    if target == "x_star":
        ceil = wide[(wide.prior == "uniform") & (wide.target == target)].set_index("width")
        ax.plot(ceil.index, ceil["posterior_mean"], lw=0.8, color="0.35", label="posterior mean")
    width_axis(ax)
    ax.set(ylim=(R2_FLOOR - 0.08, 1.04), ylabel="r² of " + ("μ" if target == "mu" else "x*"))
    ax.set_title(SETTINGS[(prior, target)], fontsize=6.5)
axes[1, 0].legend(fontsize=5, loc="lower right", bbox_to_anchor=(1.0, 0.06))
axes[1, 1].legend(
    *[h[-1:] for h in axes[1, 1].get_legend_handles_labels()], fontsize=5, loc="lower right"
)
ax = axes[1, 2]
for (prior, target), label in SETTINGS.items():
    ax.plot(
        best.index,
        best[(prior, target)],
        marker="o",
        ms=2.5,
        lw=1,
        ls="-" if prior == "flat" else "--",
        color="k",
        label=label.split(":")[0],
    )
for name in candidates:
    if kappas.loc[name, "kappa"] < 1:
        ax.axhline(kappas.loc[name, "kappa"], lw=0.8, color=colors[name])
        ax.text(widths.max(), kappas.loc[name, "kappa"], name, fontsize=5, va="bottom", ha="right")
width_axis(ax)
ax.set(ylabel="least-squares κ of the formula")
ax.set_title("best constant per width", fontsize=6.5)
ax.legend(fontsize=5, loc="lower right")
fig.tight_layout()

# the minimax κ and 1/1.70 are two rows of the table: each label is printed with its own value
minimax, classic = kappas.loc["minimax"], kappas.loc["1/1.70"]
prov["note"] = (
    f"minimax κ = {minimax.kappa:.4f} (max error {minimax.max_abs_err:.4f}), "
    f"κ = 1/1.70 = {classic.kappa:.4f} ({classic.max_abs_err:.4f}); "
    f"2√3/π error {kappas.loc['2*sqrt(3)/pi', 'max_abs_err']:.3f}"
)
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
sweep = wide.melt(
    id_vars=["prior", "target", "width"], var_name="decoder", value_name="r2"
).dropna()
table = pd.concat(
    [
        fit[["range", "value"]].rename(columns={"value": "fitted_a"}).assign(part="fit"),
        kappas.reset_index().assign(part="kappa"),
        lsq[["n_tasks", "value"]]
        .rename(columns={"value": "r2_linear_from_logits"})
        .assign(part="check5"),
        sweep.assign(part="kappa_formula_vs_fitted"),
    ],
    ignore_index=True,
)
style.write_summary(summary, claim, table, prov | {"note": " ".join(statements.values())})
