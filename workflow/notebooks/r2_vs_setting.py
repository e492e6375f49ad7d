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
# # Decoding r² against one setting, one series per another setting
#
# The shared notebook of the r² panels (Fig. 3a, 3b, 5a, 5b, 5c, S1, S3b, S5c). A linear decoder
# reads the latent x* from a network's final hidden state; out of distribution (OOD) it is fitted
# on all held-out regions but one and tested on that one (quadrants for D = 2, half-spaces
# x_j < 0 for D > 2); in distribution (ID) it is fitted on everything. Points: median; bars:
# interquartile range over networks × held-out regions × decoder fits (the paper's pooling).
# Reference lines: the bound 1 − 12σ²/T of an unbiased estimator from T noisy samples (the Bayes
# posterior mean under the uniform prior can exceed it), and the paper's dashed 0.9 line.
# Baselines (grey and purple lines, from the `baselines` table the workflow computes for the same
# experiments, decoders and folds): the decoder on the noiseless observations f(x*), on the time
# average of the noisy inputs (a linear integrator), on untrained networks of the same
# architecture, and the Bayes-optimal observer of the latent evidence. A baseline below the axes
# says so in its legend entry. The panel's `options` (from the config) say
# what goes on the x axis, what the series are and which theory overlay applies; `reference`
# names a second table of the same networks read out by another decoder (`ood_r2_ridge`: the
# closed-form ridge decoder), drawn the same way in a second axes on the same y scale.
#
# This notebook only reads the tidy tables the workflow produced and draws them.

# %% tags=["parameters"]
tables = '{"ood_r2": ["results/smoke/metrics/rnn_main/ood_r2.parquet"]}'
pdf = "figures/fig3a.pdf"
png = "figures/fig3a.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = '{"x": "n_tasks", "series": "metric", "metrics": ["id_r2", "ood_r2"], "log_x": true}'

# %%
import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from disentangle.figures import reference, style
from disentangle.figures.summary import per_group_count, quantile_summary

style.apply()
opts = {
    "series": None,
    "metrics": ["ood_r2"],
    "log_x": False,
    "x_scale": 1.0,
    "xlabel": None,
    "title": None,
    "theory": "ceiling",
    "paper_line": True,
    "ylim": None,
    "reference": None,
    **json.loads(options),
}
df = style.read_tables(tables, "ood_r2")
df = df[df.metric.isin(opts["metrics"])].copy()
prov = json.loads(provenance)
series = opts["series"] or "metric"
stats = quantile_summary(df, [series, opts["x"]])
ref = pd.DataFrame()
if opts["reference"]:
    ref = style.read_tables(tables, opts["reference"])
    ref = ref[ref.metric.isin(opts["metrics"])].copy()
    if ref.empty:
        raise ValueError(f"options.reference = {opts['reference']!r}: the panel has no such rows")
    ref_stats = quantile_summary(ref, [series, opts["x"]])
base = style.read_tables(tables, "baselines")
if not base.empty:
    base = base[base.metric == "ood_r2"] if "ood_r2" in opts["metrics"] else base.iloc[:0]
BASELINES = {
    "raw_input": {"color": "0.2", "ls": (0, (1, 1.2)), "label": "decoder on f(x*), no noise"},
    "integrator": {"color": "#762a83", "ls": "--", "label": "linear integrator of the inputs"},
    "untrained": {"color": "0.55", "ls": "-.", "label": "untrained network"},
    "bayes": {"color": "#1b7837", "ls": (0, (4, 1, 1, 1)), "label": "Bayes observer"},
}
stats

# %%
# One axes; with a reference decoder, a second one beside it on the same y scale.
n_axes = 2 if not ref.empty else 1
fig, axes = plt.subplots(
    1,
    n_axes,
    figsize=(style.PANEL_SIZE[0] * (1 + 0.75 * (n_axes - 1)), style.PANEL_SIZE[1]),
    sharey=True,
    squeeze=False,
)
axes = list(axes[0])
levels = list(dict.fromkeys(sorted(df[series].unique(), key=style.series_order)))
colors = style.series_colors(series, levels)
xs = np.sort(df[opts["x"]].unique())
span = (np.log(xs.max() / xs.min()) if opts["log_x"] else xs.max() - xs.min()) or 1.0
first = df.iloc[0]


def draw(ax, stats):
    """Median and IQR per series against x, then the theory overlay and the paper's 0.9 line."""
    for i, level in enumerate(levels):
        s = stats[stats[series] == level]
        dodge = (i - (len(levels) - 1) / 2) * 0.012 * span
        x = s[opts["x"]].to_numpy(dtype=float)
        x = x * np.exp(dodge) if opts["log_x"] else x + dodge
        style.median_iqr(
            ax, x * opts["x_scale"], s, colors[level], style.series_label(series, level)
        )
    # Theory overlays, computed in closed form from the settings recorded in the table.
    if opts["theory"] == "ceiling":
        for (sd, steps), _ in df.groupby(["noise_sd", "stimulus_steps"]):
            c = reference.ceiling(sd, steps)
            ax.axhline(c, ls="-", **style.REFERENCE_STYLE)
            ax.text(
                0.02,
                c,
                f"unbiased bound 1−12σ²/T = {c:.3f}",
                va="bottom",
                fontsize=6,
                color="0.35",
                transform=ax.get_yaxis_transform(),
            )
    elif opts["theory"] == "ceiling_curve":
        dense = np.linspace(df[opts["x"]].min(), df[opts["x"]].max(), 200)
        if opts["x"] == "noise_sd":
            curve = [reference.ceiling(v, int(first.stimulus_steps)) for v in dense]
        else:  # stimulus_steps
            curve = [reference.ceiling(float(first.noise_sd), v) for v in dense]
        ax.plot(
            dense * opts["x_scale"],
            curve,
            color="0.35",
            lw=1,
            zorder=0,
            label="unbiased bound 1 − 12σ²/T",
        )
    elif opts["theory"] == "rank":
        dims = np.sort(df.dim.unique())
        for level in levels:
            curve = [
                reference.rank_ceiling(
                    int(level), d, float(first.noise_sd), int(first.stimulus_steps)
                )
                for d in dims
            ]
            ax.plot(dims * opts["x_scale"], curve, ls=":", lw=1, color=colors[level], zorder=0)
        ax.plot([], [], ls=":", color="0.35", label="min(1, N/D)·ceiling")
    if opts["paper_line"]:
        ax.axhline(0.9, ls="--", **style.REFERENCE_STYLE)
        ax.text(
            0.98,
            0.9,
            "0.9 (paper)",
            ha="right",
            va="top",
            fontsize=6,
            color="0.35",
            transform=ax.get_yaxis_transform(),
        )
    if opts["log_x"]:
        ax.set_xscale("log")
        ax.set_xticks(xs * opts["x_scale"], [f"{v:g}" for v in xs * opts["x_scale"]])
        ax.minorticks_off()
    ax.set_xlabel(opts["xlabel"] or style.AXIS_LABELS.get(opts["x"], opts["x"]))


def baseline_medians(b, name):
    """Median of a baseline against x; a constant across the task counts for the baselines that
    do not depend on them (all but the untrained networks)."""
    if opts["x"] == "n_tasks" and name != "untrained":
        return pd.Series({x: float(b.value.median()) for x in xs})
    return b.groupby(opts["x"])["value"].median().sort_index()


def draw_baselines(ax, decoder):
    """Each baseline's median OOD r² against x: one line per series level where the baseline
    differs between levels (the untrained network per architecture, f(x*) per encoder), one
    line for all of them where it does not (the same encoders and trials)."""
    rows = []
    bottom = ax.get_ylim()[0]
    per_level = series in base.columns and series not in ("n_tasks", "metric")
    for name, look in BASELINES.items():
        b = base[(base.baseline == name) & base.decoder.isin([decoder, "none"])]
        if b.empty:
            continue
        parts = {None: b}
        if per_level:
            split = {level: part for level, part in b.groupby(series)}
            meds = [baseline_medians(part, name) for part in split.values()]
            if any(not np.allclose(m.to_numpy(), meds[0].to_numpy()) for m in meds[1:]):
                parts = split
        label = look["label"] + (f" ({decoder})" if name != "bayes" else "")
        for i, (level, part) in enumerate(parts.items()):
            med = baseline_medians(part, name)
            text = label + (f", min {med.min():.2f} below the axes" if med.min() < bottom else "")
            color = look["color"] if level is None else colors.get(level, look["color"])
            x = med.index.to_numpy(dtype=float) * opts["x_scale"]
            ax.plot(x, med.to_numpy(), color=color, ls=look["ls"], lw=1.0 if level is None else 0.8,
                    zorder=1, label=text if i == 0 else None)  # fmt: skip
            rows += [
                {"series": f"baseline: {name}", **({series: level} if level is not None else {}),
                 "decoder": decoder, opts["x"]: x0, "median": v}
                for x0, v in zip(med.index, med.to_numpy(), strict=True)
            ]  # fmt: skip
    return rows


def decoders(table):
    return "/".join(sorted(table.decoder.unique()))


draw(axes[0], stats)
lo = min(0.5, float(stats.q25.min()) - 0.05)
if not ref.empty:
    draw(axes[1], ref_stats)
    lo = min(lo, float(ref_stats.q25.min()) - 0.05)
    role = "the paper's protocol" if decoders(df) == "adam" else "configured"
    axes[0].set_title(f"{decoders(df)} decoder ({role})", fontsize=7)
    axes[1].set_title(f"{decoders(ref)} decoder, same states", fontsize=7)
ax = axes[0]
ax.set_ylim(*(opts["ylim"] or (lo, 1.0)))
baseline_rows = []
if not base.empty:
    baseline_rows += draw_baselines(axes[0], decoders(df))
    if not ref.empty:
        baseline_rows += draw_baselines(axes[1], decoders(ref))
ax.set_ylabel("r²" if len(opts["metrics"]) > 1 else style.METRIC_AXIS[opts["metrics"][0]])
if opts["title"] and n_axes == 1:
    ax.set_title(opts["title"], fontsize=9)
elif opts["title"]:
    fig.suptitle(opts["title"], fontsize=9)
axes[-1].legend(
    loc="lower right", fontsize=6, title=style.LEGEND_TITLES.get(series), title_fontsize=6
)
prov["note"] = (
    f"{per_group_count(df, 'seed')} seeds × {per_group_count(df, 'fold')} folds × "
    f"{per_group_count(df, 'fit')} fits, "
    f"{'/'.join(str(b) for b in sorted(df.train_batches.unique()))} batches, "
    f"{decoders(df)} decoder" + (f" (right: {decoders(ref)} decoder)" if not ref.empty else "")
)
if not ref.empty:  # the summary lists both decoders' medians, one row per decoder × group
    stats = pd.concat(
        [stats.assign(decoder=decoders(df)), ref_stats.assign(decoder=decoders(ref))],
        ignore_index=True,
    )
if baseline_rows:  # the baselines' medians in the summary beside the networks'
    stats = pd.concat([stats, pd.DataFrame(baseline_rows)], ignore_index=True)
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)
style.write_summary(summary, claim, stats, prov)
