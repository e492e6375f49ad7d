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
# Black squares: the fitted affine decoder; colours: the κ-formula for each candidate κ (the same
# colour per constant in every plot, names written as math); light blue: the formula with the
# least-squares κ (fitted on training trials); the r² axis follows style.r2_axis and r² below it
# is drawn as triangles on its floor (the lowest value in the footnote). Bottom right: that
# least-squares κ against the candidates (dotted). At the task's width (dash-dotted reference
# line) the exact logits grow like z²/2 and every fixed-κ formula fails; where the
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

import numpy as np
import pandas as pd
from matplotlib import transforms
from matplotlib.lines import Line2D

from disentangle.figures import style
from disentangle.io import read_parquet

style.apply()
frames = [read_parquet(p) for p in json.loads(tables)["theory"]]
sig = next(f for f in frames if f.check.iloc[0] == "sigmoid")
lin = next(f for f in frames if f.check.iloc[0] == "linear_decoder")
prov = json.loads(provenance)
opts = json.loads(options)
TOLERANCE = float(opts.get("tolerance", 0.05))  # "the formula works": r² within this of fitted
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


# the table's constant names (kept as they are) written as math in the figure
MATH = {
    "sqrt(pi/8)": "√(π/8)",
    "1/1.70": "1/1.70",
    "sqrt(3)/pi": "√3/π",
    "2*sqrt(3)/pi": "2√3/π",
    "minimax": "minimax",
    "lsq": "least squares",
}
KAPPA_ORDER = ["1/1.70", "sqrt(pi/8)", "sqrt(3)/pi", "2*sqrt(3)/pi", "minimax"]
named = [k for k in KAPPA_ORDER if k in kappas.index] + [
    k for k in kappas.index if k not in KAPPA_ORDER
]
colors = style.series_colors("kappa", named)  # one colour per constant in every plot
BLACK = style.OKABE_ITO["black"]
LSQ_KAPPA = style.OKABE_ITO["sky_blue"]
shown = []  # every r² drawn in d, e (one y-range rule)

fig, axes = style.subplots(6, height=4.6)
ax = axes[0]
ax.plot(fit.range, fit.value, marker="o", ms=3, color=BLACK)
for name in ("sqrt(pi/8)", "1/1.70", "sqrt(3)/pi"):
    ax.axhline(kappas.loc[name, "kappa"], ls=":", lw=0.9, color=colors[name])
ax.set(xlabel="fit range T", ylabel="fitted slope a")
style.log_axis(ax, fit.range, "x")
ax = axes[1]
ax.barh(
    [MATH.get(k, k) for k in kappas.index],
    kappas.max_abs_err,
    color=[colors[k] for k in kappas.index],
)
ax.set(xlabel="max |Φ(κz) − logistic(z)|")
style.log_axis(
    ax,
    [
        t
        for t in (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5)
        if kappas.max_abs_err.min() / 2 <= t <= kappas.max_abs_err.max() * 2
    ],
    "x",
)
ax = axes[2]
lsq = check5[check5.decoder == "lstsq"].sort_values("n_tasks")
ceiling = check5[check5.decoder == "posterior_mean"].value.iloc[0]
ax.plot(
    lsq.n_tasks, lsq.value, marker="s", ms=3, lw=1.4, color=BLACK, label="fitted affine decoder"
)
style.reference_line(ax, y=ceiling, label="posterior mean (Bayes ceiling)", kind="ceiling")
ax.set(xlabel="number of tasks", ylabel="r² of x*")
style.log_axis(ax, lsq.n_tasks, "x")
low5 = style.r2_axis(ax, [*lsq.value, ceiling])
ax.set_title(f"check 5: σ = {check_sigma:g}, T = {check_steps}")

widths = wide.width.unique()


def width_axis(ax) -> None:
    """Log σ/√t axis with plain tick labels, and the task's width as a reference line."""
    ticks = [t for t in (0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6) if widths.min() <= t <= widths.max()]
    style.log_axis(ax, ticks, "x")
    ax.set_xlabel("posterior sd σ/√t")
    style.reference_line(
        ax, x=check_width, label=f"the task's σ/√t = {check_width:.3g}", kind="chance"
    )


def draw_r2(ax, y, dodge: float = 0.0, **kw) -> None:
    """r² against σ/√t; values below the r² axis become triangles on its floor (drawn after
    style.r2_axis), dodged sideways by ``dodge`` points so that series stay apart."""
    x = y.index.to_numpy()
    v = y.to_numpy()
    shown.append((ax, x, v, dodge, kw.get("color", BLACK)))
    ax.plot(x, v, **kw)


def floor_markers(ax) -> Line2D | None:
    """style.edge_markers' triangles for the r² below the axis of ``ax``, without a printed value
    per point (dozens overlap here): the lowest value drawn goes into the footnote."""
    floor = ax.get_ylim()[0]
    handle = None
    for a, x, v, dodge, color in shown:
        low = v < floor
        if a is not ax or not low.any():
            continue
        shift = transforms.offset_copy(ax.transData, fig=fig, x=dodge, y=0, units="points")
        ax.plot(
            x[low],
            np.full(low.sum(), floor),
            marker="v",
            ms=4,
            ls="none",
            color=color,
            clip_on=False,
            zorder=3,
            transform=shift,
        )
        handle = Line2D(
            [],
            [],
            marker="v",
            ms=4,
            ls="none",
            color=BLACK,
            label="r² below the axis (on its floor)",
        )
    return handle


floor_handles = []
for ax, (prior, target) in zip(axes[3:5], SETTINGS, strict=True):
    w = wide[(wide.prior == prior) & (wide.target == target)].set_index("width")
    for i, name in enumerate(candidates):
        draw_r2(
            ax,
            w[name],
            dodge=2.5 * (i - (len(candidates) - 1) / 2),
            marker="o",
            ms=2.5,
            lw=1,
            color=colors[name],
            label=f"κ = {MATH[name]}",
        )
    draw_r2(ax, w["best"], lw=1, color=LSQ_KAPPA, label="κ-formula, least-squares κ")
    draw_r2(ax, w["lstsq"], marker="s", ms=3, lw=1.4, color=BLACK, label="fitted affine decoder")
    if target == "x_star":
        ceil = wide[(wide.prior == "uniform") & (wide.target == target)].set_index("width")
        ax.plot(
            ceil.index,
            ceil["posterior_mean"],
            **style.REFERENCE_KINDS["ceiling"],
            lw=style.REFERENCE_STYLE["lw"],
            label="posterior mean (Bayes ceiling)",
        )
        shown.append((ax, ceil.index.to_numpy(), ceil["posterior_mean"].to_numpy(), 0.0, BLACK))
    width_axis(ax)
    ax.set(ylabel="r² of " + ("μ" if target == "mu" else "x*"))
    ax.set_title(SETTINGS[(prior, target)])
lowest = np.inf
for ax in axes[3:5]:
    values = np.concatenate([v for a, _, v, _, _ in shown if a is ax])
    style.r2_axis(ax, values)
    lowest = min(lowest, np.nanmin(values))
    handle = floor_markers(ax)
    if handle is not None:
        floor_handles = [handle]
ax = axes[5]
for (prior, target), label in SETTINGS.items():
    ax.plot(
        best.index,
        best[(prior, target)],
        marker="o" if prior == "flat" else "s",
        ms=2.5,
        lw=1,
        ls="-" if prior == "flat" else "--",
        color=LSQ_KAPPA,
        label=f"least-squares κ, {label.split(':')[0]}",
    )
for name in candidates:
    if kappas.loc[name, "kappa"] < 1:
        ax.axhline(kappas.loc[name, "kappa"], ls=":", lw=0.9, color=colors[name])
width_axis(ax)
ax.set(ylabel="least-squares κ of the formula")
ax.set_title("best constant per width")
handles, labels = [], []
for ax in axes:
    h, lab = ax.get_legend_handles_labels()
    handles, labels = handles + h, labels + lab
handles += floor_handles
labels += [h.get_label() for h in floor_handles]
style.legend_outside(fig, handles, labels, ncol=3)

# the minimax κ and 1/1.70 are two rows of the table: each label is printed with its own value
minimax, classic = kappas.loc["minimax"], kappas.loc["1/1.70"]
prov["note"] = (
    f"minimax κ = {minimax.kappa:.4f} (max error {minimax.max_abs_err:.4f}), "
    f"κ = 1/1.70 = {classic.kappa:.4f} ({classic.max_abs_err:.4f}); "
    f"2√3/π error {kappas.loc['2*sqrt(3)/pi', 'max_abs_err']:.3f}"
)
style.footnote(
    fig,
    prov
    | {
        "note": prov["note"]
        + f"\na: dotted = the named κ; d, e: r² on held-out trials, lowest drawn {lowest:.1f}; "
        "f: dotted = the named κ below 1"
    },
)
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
