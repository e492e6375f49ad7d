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
# # Multi-task networks vs the β-VAE family on the same data, with the same metrics
#
# Data: the multi-task task's latents x* ~ U(−½, ½)^D and their observations f(x*) through the
# frozen mixing MLP. The generative models are trained on f(x*) with each unit standardised
# (D latents; the unscaled variant, on which they collapse, is drawn beside them); the multi-task
# networks (trained on the noisy evidence stream to solve N classification tasks) are scored on
# their final hidden state; the raw observations f(x*) are the baseline. Scores: the paper's OOD
# r² (ridge decoder, held-out quadrant) and dlib's disentanglement metrics (x* binned into 10
# levels). One facet per score, three per row, the codes as rows (labelled on the left of each
# row of facets); colour: the kind of code (the "family" palette), hollow: a generative model that
# failed its health check. Points: mean ± sd over seeds. The OOD r² facet follows the r² panels'
# range rule (down to −0.25 at most; a mean below it is drawn as ◂ on the edge with its value).
# Drawn from the `generative_scores` and `disentanglement` tables.
#
# Equal code size: several of these metrics reward a large code by itself, so the rows are
# grouped by code size. The networks are drawn twice: their full H-unit state and its top-D
# principal components (the VAEs' code size). Each group carries its floor: random, fully
# entangled linear codes x* A of the same size (grey band: the range over draws, dashed: their
# median; hatched: at or below the floor). A score inside the hatched area does not separate a
# disentangled code from an entangled one of that size.

# %% tags=["parameters"]
tables = (
    '{"generative_scores": ["results/smoke/generative/scores/task_vae-beta1-s0.parquet"],'
    ' "disentanglement": ["results/smoke/metrics/rnn_main/disentanglement.parquet"]}'
)
pdf = "figures/vae-mtl-comparison.pdf"
png = "figures/vae-mtl-comparison.png"
provenance = '{"preset": "smoke"}'
summary = "results/smoke/summaries/panel.html"
claim = ""
options = "{}"

# %%
import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch, Rectangle

from disentangle.figures import style

# the families of the `disentanglement` table (disentangle.comparison.PCS_FAMILY, FLOOR_FAMILY;
# that module imports torch, which the panels leave out)
PCS_FAMILY, FLOOR_FAMILY = "multi-task (top-D PCs)", "random linear code"

style.apply()
paths = json.loads(tables)
gen = style.read_tables(paths, "generative_scores")
net = style.read_tables(paths, "disentanglement")
unhealthy = style.unhealthy_models(paths)
prov = json.loads(provenance)
scores = [
    "ood_r2",
    "mig.discrete_mig",
    "dci.disentanglement",
    "dci.informativeness_test",
    "sap.SAP_score",
    "mcc.mcc",
]
dim, hidden = int(net.dim.iloc[0]), int(net[net.family == "multi-task"].code_size.iloc[0])
n_obs = int(net[net.family == "raw"].code_size.iloc[0])


def gen_label(r):
    hyper = style.HYPER_LABELS.get(r.swept, r.swept)
    value = f" {hyper}={r.swept_value:g}" if r.swept else ""
    raw = ", raw f(x*)" if r.observations == "raw" else ""
    return style.METHOD_LABELS.get(r.method, r.method) + value + raw


def net_label(df, suffix=""):
    arch = df.architecture.map(style.ARCHITECTURE_LABELS).fillna(df.architecture)
    return arch + ", N=" + df.n_tasks.astype(str) + suffix


# the task VAEs' codes have n_latent = D units (config: generative.models.task_*.hyper); they
# train on standardised f(x*), and the raw variant (unscaled f(x*)) is drawn beside them
if "observations" not in gen.columns:  # tables written before the column existed: raw f(x*)
    gen = gen.assign(observations="raw")
RAW_GEN = "generative, raw f(x*)"
gen = gen.assign(
    label=gen.apply(gen_label, axis=1),
    kind=np.where(gen.observations == "raw", RAW_GEN, "generative"),
    group=gen.method.map(lambda m: style.METHOD_LABELS.get(m, m))
    + np.where(gen.observations == "raw", ", raw f(x*)", ""),
    code_size=dim,
)
raw = net[net.family == "raw"].assign(label="raw f(x*)", kind="raw", group="raw f(x*)")
nets = net[net.family.isin(["multi-task", PCS_FAMILY])]
nets = nets[nets.n_tasks.isin([nets.n_tasks.min(), nets.n_tasks.max()])]
full = nets[nets.family == "multi-task"]
full = full.assign(label=net_label(full), kind="multi-task", group="multi-task, full state")
pcs = nets[nets.family == PCS_FAMILY]
pcs = pcs.assign(label=net_label(pcs, ", top-D PCs"), kind=PCS_FAMILY, group=PCS_FAMILY)
floor = net[net.family == FLOOR_FAMILY]
floor = floor.assign(
    label=floor.code_size.map(lambda m: f"random linear code, {m} units"),
    kind=FLOOR_FAMILY,
    group=FLOOR_FAMILY,
)
# the same floor scored in several experiments' tables counts once
floor = floor.drop_duplicates(["code_size", "seed", "metric", "value"])
gen = gen.assign(healthy=~gen.model.isin(unhealthy))
both = pd.concat([raw, full, pcs, gen, floor], ignore_index=True)
both = both.assign(healthy=both.healthy.fillna(True).astype(bool))
both = both[both.metric.isin(scores)]
stats = (
    both.groupby(["kind", "label", "metric"])
    .agg(
        mean=("value", "mean"),
        std=("value", "std"),
        count=("value", "count"),
        healthy=("healthy", "all"),
    )
    .reset_index()
)
floors = floor[floor.metric.isin(scores)].groupby(["code_size", "metric"]).value
floors = floors.agg(["min", "median", "max"])
stats

# %%
# rows grouped by code size: a header row, then the codes of that size
blocks = [
    (f"{dim} units (= D)", dim, [*sorted(gen.label.unique()), *sorted(pcs.label.unique())]),
    (f"{hidden} units (network state)", hidden, sorted(full.label.unique())),
    (f"{n_obs} units (raw observations)", n_obs, ["raw f(x*)"]),
]
rows, spans = [], []
for title, size, labels in blocks:
    if not labels:
        continue
    rows.append(("header", title))
    spans.append((size, len(rows) - 0.5, len(rows) + len(labels) - 0.5))
    rows += [("row", label) for label in labels]
y_of = {label: i for i, (what, label) in enumerate(rows) if what == "row"}
kinds_drawn = ["raw", "multi-task", PCS_FAMILY, "generative", RAW_GEN]
kind_color = {k: style.color("family", k) for k in kinds_drawn}
floor_color = style.color("family", FLOOR_FAMILY)
median_look = {k: style.REFERENCE_KINDS["reference"][k] for k in ("color", "ls")}
kind_label = {
    "multi-task": "multi-task network, full state",
    PCS_FAMILY: "multi-task network, top-D PCs",
    "generative": "β-VAE family (task VAEs, standardised f(x*))",
    RAW_GEN: "β-VAE family on raw, unscaled f(x*)",
    "raw": "raw observations f(x*)",
}


def r2_xaxis(ax, values):
    """style.r2_axis's range rule on the x axis (values below R2_FLOOR drawn by edge markers)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    left = max(style.R2_FLOOR, float(v.min()) - 0.05) if v.size else style.R2_FLOOR
    ax.set_xlim(left, 1.02)
    return left


ncols = min(3, len(scores))
n_grid_rows = -(-len(scores) // ncols)
fig, axes = style.subplots(
    len(scores), ncols=ncols, sharey=True, height=n_grid_rows * (0.16 * len(rows) + 0.7)
)
below = []
for ax, metric in zip(axes, scores, strict=True):
    s = stats[(stats.metric == metric) & (stats.kind != FLOOR_FAMILY)]
    s = s[s.label.isin(y_of)]
    if metric.endswith("r2"):
        low = r2_xaxis(ax, s["mean"] - s["std"].fillna(0))  # the bars too, down to the floor
    else:
        low = min(0.0, float(np.nanmin(s["mean"])) - 0.05) if len(s) else 0.0
        ax.set_xlim(low, 1.02)
    for size, top, bottom in spans:
        if (size, metric) not in floors.index:
            continue
        f = floors.loc[(size, metric)]
        height = bottom - top
        f_min = max(f["min"], low)
        ax.add_patch(
            Rectangle(
                (low, top),
                f_min - low,
                height,
                fill=False,
                hatch="////",
                ec=floor_color,
                lw=0,
                zorder=0,
            )
        )
        ax.add_patch(
            Rectangle(
                (f_min, top), f["max"] - f_min, height, color=floor_color, alpha=0.5, lw=0, zorder=0
            )
        )
        ax.plot(
            [f["median"]] * 2,
            [top, bottom],
            lw=style.REFERENCE_STYLE["lw"],
            zorder=1,
            **median_look,
        )
    y = s.label.map(y_of).to_numpy()
    x = s["mean"].to_numpy()
    shown = ~(x < low)  # NaN: nothing to draw, no edge marker
    colours = np.array([kind_color[k] for k in s.kind], dtype=object)
    ok = s.healthy.to_numpy(dtype=bool)
    for colour in dict.fromkeys(colours):
        pick = (colours == colour) & shown
        ax.errorbar(
            x[pick],
            y[pick],
            xerr=s["std"].fillna(0).to_numpy()[pick],
            fmt="none",
            ecolor=colour,
            lw=0.8,
            zorder=2,
        )
    ax.scatter(x[ok & shown], y[ok & shown], c=list(colours[ok & shown]), s=14, zorder=3)
    ax.scatter(
        x[~ok & shown],
        y[~ok & shown],
        s=14,
        zorder=3,
        facecolors="none",
        lw=1,
        edgecolors=list(colours[~ok & shown]),
    )
    for xi, yi, colour in zip(x[~shown], y[~shown], colours[~shown], strict=True):
        # below the r² floor: a marker on the axis edge with the value printed
        ax.plot([low], [yi], marker="<", ms=4, color=colour, ls="none", clip_on=False, zorder=3)
        ax.annotate(
            f"{xi:.2g}",
            xy=(low, yi),
            xytext=(4, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            color=colour,
            fontsize=style.FONT["annotation"],
        )
        below.append(colour)
    ax.set_title(style.SCORE_LABELS[metric])
for i, ax in enumerate(axes):
    ax.set_yticks(np.arange(len(rows)), [label for _, label in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.tick_params(axis="y", length=0)
    if i % ncols == 0:
        for tick, (what, _) in zip(ax.get_yticklabels(), rows, strict=True):
            if what == "header":
                tick.set_fontweight("bold")
kinds = [k for k in kind_label if k in set(both.kind)]
handles = [
    plt.Line2D([], [], marker="o", ls="", color=kind_color[k], ms=4, label=kind_label[k])
    for k in kinds
]
if not stats.healthy.all():
    handles.append(
        plt.Line2D(
            [],
            [],
            marker="o",
            ls="",
            mfc="none",
            mec=style.OKABE_ITO["black"],
            ms=4,
            label=f"hollow: {style.UNHEALTHY_LABEL}",
        )
    )
if below:
    handles.append(
        plt.Line2D(
            [],
            [],
            marker="<",
            ls="",
            color=style.OKABE_ITO["black"],
            ms=4,
            label=f"r² below {style.R2_FLOOR:g} (value printed)",
        )
    )
handles += [
    Patch(
        color=floor_color, alpha=0.5, label="floor: random linear codes of x*, same size (range)"
    ),
    plt.Line2D([], [], lw=style.REFERENCE_STYLE["lw"], label="floor: median", **median_look),
    Patch(fill=False, hatch="////", ec=floor_color, label="at or below the floor"),
]
style.legend_outside(
    fig, handles, ncol=2, title="points: mean over seeds; bars: ± 1 SD over seeds (none: one seed)"
)
prov["note"] = (
    f"networks: {int(full.train_batches.max())} batches; generative: "
    f"{int(gen.train_steps.max())} steps; floors: "
    f"{floor.groupby('code_size').seed.nunique().min()} draws per code size"
)
style.footnote(fig, prov)
style.save(fig, pdf, png, prov)


# %%
# the summary: per metric, the median of each family (the tables' `family` values; networks per
# architecture and N, generative models per method)
def detail(r):
    if r.kind in ("generative", RAW_GEN):
        return r.group
    if r.kind not in ("multi-task", PCS_FAMILY):
        return ""
    return f"{style.ARCHITECTURE_LABELS.get(r.architecture, r.architecture)}, N={r.n_tasks:.0f}"


fam = both.assign(detail=both.apply(detail, axis=1))
medians = fam.pivot_table(
    index=["family", "detail", "code_size"], columns="metric", values="value", aggfunc="median"
)
medians = medians.rename(columns=style.SCORE_LABELS)[[style.SCORE_LABELS[m] for m in scores]]
counts = fam.groupby(["family", "detail", "code_size", "metric"]).value.count()
counts = counts.groupby(level=["family", "detail", "code_size"]).max()
medians.insert(0, "codes", counts)
medians.columns.name = None
rank = {f: i for i, f in enumerate(["generative", PCS_FAMILY, "multi-task", "raw", FLOOR_FAMILY])}
medians = medians.reset_index()
medians = medians.sort_values(
    ["code_size", "family", "detail"], key=lambda c: c.map(rank) if c.name == "family" else c
)
medians
# %%
style.write_summary(summary, claim, medians, prov)
