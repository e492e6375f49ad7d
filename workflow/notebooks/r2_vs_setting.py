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
# interquartile range over networks × held-out regions × decoder fits (the paper's pooling); the
# legend's title says how many values each point pools (`style.describe_bars`). Colours: ID/OOD
# from the metric palette, architectures, mixing encoders and losses from theirs, task counts N
# from the sequential map (`style.series_colors`).
#
# The y axis follows the one rule of every r² panel (`style.r2_axis`): from just below the lowest
# network quartile (never below r² = −0.25) to 1; the config's `ylim` option is no longer used.
# Nothing below that floor is dropped silently: a network median there is a filled triangle on
# the floor with its value printed (`style.edge_markers`); a baseline there is a hollow triangle
# on the floor at each x where it is under, and its legend entry gives its lowest value.
# Reference lines (grey, named in the legend): the bound 1 − 12σ²/T of an unbiased estimator from
# T noisy samples (the Bayes posterior mean under the uniform prior can exceed it; for Fig. 5b
# the rank bound min(1, N/D)·(1 − 12σ²/T), dotted in each N's colour), and the paper's dashed
# 0.9 line. Baselines (thin lines in the baseline palette, from the `baselines` table the
# workflow computes for the same experiments, decoders and folds): the same decoder on the
# noiseless observations f(x*), on the time average of the noisy inputs (a linear integrator), on
# untrained networks of the same architecture, and the Bayes-optimal observer of the latent
# evidence. A baseline that differs between the series' levels (the untrained network per
# architecture, f(x*) per encoder) is drawn once per level in that level's colour ("…, per
# architecture" in the legend). Everything is named in one legend below the plot. The panel's
# `options` (from the config) say what goes on the x axis, what the series are and which theory
# overlay applies; `reference` names a second table of the same networks read out by another
# decoder (`ood_r2_ridge`: the closed-form ridge decoder), drawn the same way in a second axes on
# the same y scale, each axes titled with its decoder.
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
from matplotlib.lines import Line2D

from disentangle.figures import reference, style
from disentangle.figures.summary import per_group_count, quantile_summary
from disentangle.tasks.spec import OMITTED_DEFAULTS

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
    "ylim": None,  # accepted from older configs and ignored: one y rule (style.r2_axis)
    "reference": None,
    # ticks labelled with the encoders' nonlinearity index (the baselines table's
    # `nonlinearity_index` rows, median over encoder seeds) under each x
    "index_ticks": False,
    **json.loads(options),
}
prov = json.loads(provenance)
series = opts["series"] or "metric"


def with_defaults(frame):
    """A task setting that experiments leave out at its default (``OMITTED_DEFAULTS``: the noise
    kind, the fourier frequency) is that default in their rows, so they join the series."""
    frame = frame.copy()
    for key, default in OMITTED_DEFAULTS.items():
        if key in (series, opts["x"]) and len(frame):
            frame[key] = frame[key].fillna(default) if key in frame else default
    return frame


df = with_defaults(style.read_tables(tables, "ood_r2"))
df = df[df.metric.isin(opts["metrics"])].copy()
stats = quantile_summary(df, [series, opts["x"]])
ref = pd.DataFrame()
if opts["reference"]:
    ref = with_defaults(style.read_tables(tables, opts["reference"]))
    ref = ref[ref.metric.isin(opts["metrics"])].copy()
    if ref.empty:
        raise ValueError(f"options.reference = {opts['reference']!r}: the panel has no such rows")
    ref_stats = quantile_summary(ref, [series, opts["x"]])
base = with_defaults(style.read_tables(tables, "baselines"))
nonlinearity = {}
if opts["index_ticks"]:
    rows = base[base.metric == "nonlinearity_index"] if not base.empty else base
    if rows.empty:
        raise ValueError(
            "options.index_ticks: the panel's baselines have no nonlinearity_index rows"
        )
    nonlinearity = rows.groupby(opts["x"])["value"].median().to_dict()
if not base.empty:
    base = base[base.metric == "ood_r2"] if "ood_r2" in opts["metrics"] else base.iloc[:0]
# The baselines: a colour from the baseline ("family") palette and a dash pattern of their own
# (the grey reference lines keep "--" and ":").
BASELINES = {
    "raw_input": {"family": "raw", "ls": (0, (3, 1, 1, 1, 1, 1)), "label": "noiseless input f(x*)"},
    "integrator": {"family": "integrator", "ls": (0, (5, 1.5)), "label": "linear integrator"},
    "untrained": {"family": "untrained", "ls": (0, (4, 1.5, 1, 1.5)), "label": "untrained network"},
    "bayes": {"family": "bayes", "ls": "-", "label": "Bayes observer"},
}
stats

# %%
# One axes; with a reference decoder, a second one beside it on the same y scale.
n_axes = 2 if not ref.empty else 1
fig, axes = style.subplots(n_axes, ncols=2, sharey=True, letters=False)
levels = list(dict.fromkeys(sorted(df[series].unique(), key=style.series_order)))
colors = style.series_colors(series, levels)
xs = np.sort(df[opts["x"]].unique())
span = (np.log(xs.max() / xs.min()) if opts["log_x"] else xs.max() - xs.min()) or 1.0
first = df.iloc[0]
SERIES_TITLE = {"architecture": "architecture", "encoder": "mixing", "loss": "loss"}
below_floor = []  # the edge-marker legend handle, once anything is drawn below the floor
BELOW = {"marker": "v", "ms": 4, "mfc": "none", "mew": 0.9, "ls": "none", "clip_on": False}
lowest = {}  # per baseline: its lowest median, where it runs under the floor
printed = {}  # per (axes, x setting): how many values edge_markers printed there
xs_drawn = xs * opts["x_scale"]


def level_label(level):
    """A series level's legend entry: task counts as N = 3, the rest by the style's names."""
    if series == "n_tasks":
        return f"N = {int(level)}"
    return style.series_label(series, level)


def mark_below(ax, x, y, color):
    """Values under the axes' floor as triangles with their value (style.edge_markers)."""
    y = np.asarray(y, dtype=float)
    floor = ax.get_ylim()[0]
    if (y < floor).any():
        first_text = len(ax.texts)
        handle = style.edge_markers(ax, x, y, floor=floor, color=color)
        # The printed values of several series at one x go one above the other, not on top.
        for text in ax.texts[first_text:]:
            x0 = text.xy[0]
            far = np.abs(np.log(xs_drawn / x0) if opts["log_x"] else xs_drawn - x0)
            key = (id(ax), int(np.argmin(far)))  # the setting this value belongs to
            level = printed[key] = printed.get(key, -1) + 1
            text.xyann = (text.xyann[0], text.xyann[1] + 8 * level)
        handle.set_color(style.REFERENCE_KINDS["reference"]["color"])  # the entry is generic
        handle.set_label("median below axis")  # its value is printed beside it
        below_floor[:] = [handle]


def draw(ax, stats):
    """Median and IQR per series against x (medians under the floor as edge markers), then the
    theory overlay and the paper's 0.9 line, each a legend entry."""
    handles = []
    for i, level in enumerate(levels):
        s = stats[stats[series] == level]
        dodge = (i - (len(levels) - 1) / 2) * 0.012 * span
        x = s[opts["x"]].to_numpy(dtype=float)
        x = (x * np.exp(dodge) if opts["log_x"] else x + dodge) * opts["x_scale"]
        style.median_iqr(ax, x, s, colors[level], level_label(level))
        handles.append(ax.containers[-1])
        mark_below(ax, x, s["median"], colors[level])
    # Theory overlays, computed in closed form from the settings recorded in the table.
    theory = []
    if opts["theory"] == "ceiling":
        # the bound is the Gaussian-noise-on-x* one: other noise kinds' rows do not draw it
        gaussian = df[df.noise.fillna("gaussian") == "gaussian"] if "noise" in df else df
        label = "bound 1 − 12σ²/T" + (" (Gaussian noise)" if len(gaussian) < len(df) else "")
        for (sd, steps), _ in gaussian.groupby(["noise_sd", "stimulus_steps"]):
            c = reference.ceiling(sd, steps)
            theory.append(style.reference_line(ax, y=c, kind="ceiling", label=label))
    elif opts["theory"] == "ceiling_curve":
        dense = np.linspace(df[opts["x"]].min(), df[opts["x"]].max(), 200)
        if opts["x"] == "noise_sd":
            curve = [reference.ceiling(v, int(first.stimulus_steps)) for v in dense]
        else:  # stimulus_steps
            curve = [reference.ceiling(float(first.noise_sd), v) for v in dense]
        look = style.REFERENCE_KINDS["ceiling"]
        theory += ax.plot(
            dense * opts["x_scale"],
            curve,
            **look,
            lw=style.REFERENCE_STYLE["lw"],
            zorder=0.5,
            label="bound 1 − 12σ²/T",
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
            ax.plot(dims * opts["x_scale"], curve, ls=":", lw=1, color=colors[level], zorder=0.5)
        theory += ax.plot(
            [], [], **style.REFERENCE_KINDS["ceiling"], lw=1, label="min(1, N/D)·(1 − 12σ²/T)"
        )
    if opts["paper_line"]:
        theory.append(style.reference_line(ax, y=0.9, kind="reference", label="0.9 (paper)"))
    if opts["log_x"]:
        style.log_axis(ax, xs * opts["x_scale"], "x")
    elif nonlinearity:  # each setting with its encoders' nonlinearity index under it
        ax.set_xticks(
            xs * opts["x_scale"],
            [f"{v * opts['x_scale']:g}\n{nonlinearity[v]:.2f}" for v in xs],
        )
    else:  # ticks at the settings drawn (D = 2, 6, 10; σ = 0.1, 0.2, …)
        ax.set_xticks(xs * opts["x_scale"], [f"{v:g}" for v in xs * opts["x_scale"]])
    label = opts["xlabel"] or style.AXIS_LABELS.get(opts["x"], opts["x"])
    if nonlinearity:
        label += "\n(under each: nonlinearity index of f)"
    ax.set_xlabel(label)
    return handles, theory


def baseline_medians(b, name):
    """Median of a baseline against x; a constant across the task counts for the baselines that
    do not depend on them (all but the untrained networks)."""
    if opts["x"] == "n_tasks" and name != "untrained":
        return pd.Series({x: float(b.value.median()) for x in xs})
    return b.groupby(opts["x"])["value"].median().sort_index()


def draw_baselines(ax, decoder, handles):
    """Each baseline's median OOD r² against x: one line per series level where the baseline
    differs between levels (the untrained network per architecture, f(x*) per encoder), one
    line for all of them where it does not (the same encoders and trials). Where a baseline
    runs under the floor, hollow triangles on the floor mark its x, in its colour, and its
    legend entry gives its lowest value (printed values would collide between levels)."""
    rows = []
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
        own = style.color("family", look["family"])
        for level, part in parts.items():
            med = baseline_medians(part, name)
            color = own if level is None else colors.get(level, own)
            x = med.index.to_numpy(dtype=float) * opts["x_scale"]
            y = med.to_numpy()
            ax.plot(x, y, color=color, ls=look["ls"], lw=1.0 if level is None else 0.8, zorder=1)
            under = y < ax.get_ylim()[0]
            if under.any():  # hollow triangles on the floor; the legend entry gives the lowest
                ax.plot(x[under], np.full(under.sum(), ax.get_ylim()[0]), **BELOW, color=color)
                lowest[name] = min(lowest.get(name, np.inf), float(y.min()))
            rows += [
                {"series": f"baseline: {name}", **({series: level} if level is not None else {}),
                 "decoder": decoder, opts["x"]: x0, "median": v}
                for x0, v in zip(med.index, med.to_numpy(), strict=True)
            ]  # fmt: skip
        label = look["label"]
        if None not in parts:  # one line per level, each in its level's colour
            label += f", per {SERIES_TITLE.get(series, series)}"
        handles[name] = (label, Line2D([], [], color=own, ls=look["ls"], lw=1.0))
    return rows


def decoders(table):
    return "/".join(sorted(table.decoder.unique()))


def bars_title(counts):
    """What a point and its bar summarise (style.describe_bars), with a range where the groups
    pool different numbers of values."""
    lo, hi = int(np.min(counts)), int(np.max(counts))
    text = style.describe_bars(lo, "r² values")
    if hi != lo:
        text = f"median over {lo}–{hi} r² values; bars: interquartile range"
    return text + "\n(networks × held-out regions × decoder fits)"


# The one y range of the r² panels, from the networks' medians and quartiles (both decoders).
shown = [stats[["median", "q25", "q75"]].to_numpy()]
if not ref.empty:
    shown.append(ref_stats[["median", "q25", "q75"]].to_numpy())
style.r2_axis(axes[0], np.concatenate([v.ravel() for v in shown]))
for other in axes[1:]:
    other.set_ylim(axes[0].get_ylim())
series_handles, theory_handles = draw(axes[0], stats)
if not ref.empty:
    draw(axes[1], ref_stats)
    role = "the paper's protocol" if decoders(df) == "adam" else "configured"
    axes[0].set_title(f"{decoders(df)} decoder ({role})")
    axes[1].set_title(f"{decoders(ref)} decoder, same states")
ax = axes[0]
baseline_rows, baseline_handles = [], {}
if not base.empty:
    baseline_rows += draw_baselines(axes[0], decoders(df), baseline_handles)
    if not ref.empty:
        baseline_rows += draw_baselines(axes[1], decoders(ref), baseline_handles)
ax.set_ylabel("r²" if len(opts["metrics"]) > 1 else style.METRIC_AXIS[opts["metrics"][0]])
if opts["title"] and n_axes == 1:
    ax.set_title(opts["title"])
elif opts["title"]:
    fig.suptitle(opts["title"])
for name, (label, handle) in baseline_handles.items():
    if name in lowest:
        label += f" (min {lowest[name]:.2g})".replace("-", "−")
    handle.set_label(label)
below_baseline = []  # the hollow-triangle entry, once a baseline runs under the floor
if lowest:
    grey = style.REFERENCE_KINDS["reference"]["color"]
    below_baseline.append(Line2D([], [], **BELOW, color=grey, label="baseline below axis"))
handles = (
    series_handles
    + [h for _, h in baseline_handles.values()]
    + theory_handles
    + below_floor
    + below_baseline
)
counts = [stats.n.to_numpy()] + ([ref_stats.n.to_numpy()] if not ref.empty else [])
# One legend below the plots, with as many columns as fit the figure's width (two for one plot,
# three for two at most; shorter handles and column gaps than the default let two columns fit one
# plot's width). The figure is made tall enough for any legend first, then cut to the plots'
# height plus the legend's (two plots side by side get a panel's height, for the −0.25 to 1
# range that a network below zero can set).
plot_height = style.ROW_HEIGHT if n_axes == 1 else style.PANEL_SIZE[1]
fig.set_figheight(plot_height + 4)
for ncol in range(2 if n_axes == 1 else 3, 0, -1):
    with plt.rc_context({"legend.handlelength": 1.6, "legend.columnspacing": 1.2}):
        legend = style.legend_outside(
            fig,
            handles,
            [h.get_label() for h in handles],
            ncol=ncol,
            title=bars_title(np.concatenate(counts)),
        )
    fig.canvas.draw()
    if ncol == 1 or legend.get_window_extent().width <= fig.bbox.width:
        break
    legend.remove()
fig.set_figheight(plot_height + legend.get_window_extent().height / fig.dpi + 0.05)
fig.canvas.draw()
# Freeze that layout and pin the legend to the figure as drawn: the tight-box save would re-run
# the layout and anchor the legend to the bottom of the saved box, on top of the footnote.
fig.set_layout_engine("none")
legend.set_bbox_to_anchor((0, 0, 1, 1), transform=fig.transFigure)


def counted(column, noun):
    """'3 seeds', '2-3 seeds', '1 seed'."""
    n = per_group_count(df, column)
    return f"{n} {noun}" + ("" if n == "1" else "s")


prov["note"] = (
    f"{counted('seed', 'seed')} × {counted('fold', 'fold')} × {counted('fit', 'fit')}, "
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
