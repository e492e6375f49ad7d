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
# Lines: the unbiased-estimator bound r² = 1 − 12σ²/n after n noisy samples (paper Eq. 7,
# dash-dotted) and the Bayes-optimal r² under the uniform prior (a truncated-normal posterior mean,
# by quadrature). Open circles: Monte Carlo of the running-mean and Bayes observers, in the colour
# of their curve (theory table `r2_time`). Filled points: trained networks' OOD r², median over
# networks × folds × fits with interquartile bars — free-RT networks of different durations (left)
# and fixed-RT networks at different noise levels (right, the most tasks), in the loss palette's
# colours. One r² range (style.r2_axis) for both plots; one legend below them.

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

from disentangle.figures import style
from disentangle.io import read_parquet

style.apply()
paths = json.loads(tables)
theory = read_parquet(paths["theory"][0])
theory = theory[(theory.metric == "r2") & (theory.timing == "fixed")]
nets = style.read_tables(paths, "ood_r2")
nets = nets[nets.metric == "ood_r2"]
prov = json.loads(provenance)


CURVES = {  # estimator: (legend label, colour)
    "mle": ("unbiased bound 1 − 12σ²/n", style.REFERENCE_KINDS["theory"]["color"]),
    "bayes": ("Bayes posterior mean, uniform prior", style.color("family", "bayes")),
}
shown = []  # every r² drawn, for the one y-range rule


def lines(ax, part, x):
    for (estimator, method), s in part.groupby(["estimator", "method"]):
        s = s.sort_values(x)
        label, color = CURVES[estimator]
        shown.extend(s.value)
        if method == "monte_carlo":
            ax.scatter(
                s[x],
                s.value,
                s=14,
                facecolor="none",
                edgecolor=color,
                lw=0.8,
                zorder=3,
                label=f"Monte Carlo of the {'running mean' if estimator == 'mle' else 'Bayes'}"
                " observer",
            )
        else:
            look = style.REFERENCE_KINDS["theory"] if estimator == "mle" else {"color": color}
            ax.plot(s[x], s.value, **{"lw": 1.2, **look}, label=label)


def trained(ax, nets, x, color, label):
    """Median and IQR of the trained networks' OOD r² per ``x``; returns the networks counted."""
    stats = nets.groupby(x).value.quantile([0.25, 0.5, 0.75]).unstack()
    stats.columns = ["q25", "median", "q75"]
    style.median_iqr(ax, stats.index, stats, color, label=label)
    shown.extend(stats["median"])
    shown.extend(stats.q25)
    return nets.drop_duplicates(["experiment", "n_tasks", "seed"]).shape[0]


fig, (ax, ax2) = style.subplots(2, width=style.TEXT_WIDTH, height=2.4, sharey=True)
lines(ax, theory[theory.sigma == 0.2], "n_samples")
counts = []
free = nets[nets.loss == "ddm"]
if len(free):
    counts.append(
        trained(ax, free, "stimulus_steps", style.color("loss", "ddm"), "trained, free RT")
    )
ax.set(xlabel="samples n (σ = 0.2)", ylabel="r²")
style.log_axis(ax, [t for t in (1, 2, 5, 10, 20, 40) if t <= theory.n_samples.max()], "x")
lines(ax2, theory[theory.n_samples == 20], "sigma")
fixed = nets[(nets.loss == "bce") & (nets.stimulus_steps == 20)]
if len(fixed):
    fixed = fixed[fixed.n_tasks == fixed.n_tasks.max()]
    counts.append(
        trained(
            ax2,
            fixed,
            "noise_sd",
            style.color("loss", "bce"),
            f"trained, fixed RT, N = {int(fixed.n_tasks.max())}",
        )
    )
ax2.set(xlabel="noise σ (n = 20)")
below = style.r2_axis(ax, shown)
handles = []
if below.size:  # medians under the floor: triangles on it, value printed
    for a, part, x, key in ((ax, free, "stimulus_steps", "ddm"), (ax2, fixed, "noise_sd", "bce")):
        if len(part):
            med = part.groupby(x).value.median()
            floor = a.get_ylim()[0]
            handles.append(
                style.edge_markers(
                    a, med.index, med.values, floor=floor, color=style.color("loss", key)
                )
            )
legend = style.legend_outside(fig, ncol=3)
if handles:
    legend.remove()
    hs, ls = [], []
    for a in (ax, ax2):
        h, lab = a.get_legend_handles_labels()
        hs, ls = hs + h, ls + lab
    legend = style.legend_outside(fig, hs + handles, ls + [h.get_label() for h in handles], ncol=3)
n_nets = sum(counts)
style.footnote(
    fig,
    prov
    | {
        "note": "trained: median over networks × folds × decoder fits per point; "
        f"bars: interquartile range ({n_nets} network{'s' if n_nets != 1 else ''} in all)"
    },
)
style.save(fig, pdf, png, prov)
table = theory.pivot_table(
    index=["sigma", "n_samples"], columns=["estimator", "method"], values="value"
).reset_index()
table.columns = ["_".join(str(p) for p in c if p) for c in table.columns]
style.write_summary(summary, claim, table, prov)
