"""One look for every panel: fixed sizes and fonts, colour-blind-safe palettes, checked export.

Notebooks call ``apply()`` once, lay the panel out with ``subplots``, draw, then
``save(fig, pdf, png, provenance)``. ``save`` checks the figure first (``check_figure``: width, font
sizes, legends over data), strips the creation date so that the same data give byte-identical
files, and writes the provenance (preset, config hash, experiments) into the PDF and PNG metadata.

Sizes are in inches and points: a panel is one column (``COLUMN_WIDTH``) or the full text width
(``TEXT_WIDTH``) wide, and no text is smaller than ``MIN_FONT_PT``. Colours are fixed per meaning
(``PALETTES``) from the Okabe–Ito and Paul Tol sets, so that an architecture, a metric or a method
has the same colour in every panel; ordered series (task counts, σ, D) take ``sequential(n)``.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.axis  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.collections import (  # noqa: E402
    Collection,
    LineCollection,
    PolyCollection,
    QuadMesh,
)
from matplotlib.figure import FigureBase  # noqa: E402
from matplotlib.layout_engine import ConstrainedLayoutEngine  # noqa: E402
from matplotlib.legend import Legend  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter, NullLocator  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from disentangle.io import read_parquet  # noqa: E402

# ---------------------------------------------------------------------------------------------
# sizes and fonts

COLUMN_WIDTH = 3.4  # inches: one column of the paper
TEXT_WIDTH = 7.0  # inches: the full text width, the widest a figure may be
ROW_HEIGHT = 2.1  # inches: one row of panels in ``subplots``
MIN_FONT_PT = 6  # no text in a figure is smaller
FONT = {"tick": 7, "legend": 7, "label": 8, "title": 8, "annotation": 6.5, "footnote": 6}
LETTER_PT = 9  # the bold panel letters a, b, c
PANEL_SIZE = (COLUMN_WIDTH, 2.6)  # one panel, one column wide

# ---------------------------------------------------------------------------------------------
# colours: one fixed palette per meaning

# Okabe & Ito (2008), "Color Universal Design"
OKABE_ITO = {
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "black": "#000000",
}
# Paul Tol's "bright" and "muted" qualitative schemes (personal.sron.nl/~pault)
TOL_BRIGHT = {
    "blue": "#4477AA",
    "cyan": "#66CCEE",
    "green": "#228833",
    "yellow": "#CCBB44",
    "red": "#EE6677",
    "purple": "#AA3377",
    "grey": "#BBBBBB",
}
TOL_MUTED = {
    "indigo": "#332288",
    "cyan": "#88CCEE",
    "teal": "#44AA99",
    "green": "#117733",
    "olive": "#999933",
    "sand": "#DDCC77",
    "rose": "#CC6677",
    "wine": "#882255",
    "purple": "#AA4499",
    "grey": "#DDDDDD",
}
_OI, _TB, _TM = OKABE_ITO, TOL_BRIGHT, TOL_MUTED

PALETTES: dict[str, dict] = {
    "architecture": {
        "leaky_rnn": _OI["blue"],
        "nonleaky_rnn": _OI["sky_blue"],
        "lstm": _OI["vermillion"],
        "gru": _OI["bluish_green"],
        "gpt2": _OI["reddish_purple"],
    },
    "metric": {"id_r2": _OI["blue"], "ood_r2": _OI["orange"]},
    # the authors' quadrants (analyze.py): Q1 (+,+), Q2 (−,+), Q3 (−,−), Q4 (+,−); 0: none
    "quadrant": {
        1: _OI["orange"],
        2: _OI["bluish_green"],
        3: _OI["blue"],
        4: _OI["reddish_purple"],
        0: "#999999",
    },
    "method": {
        "vae": _TB["blue"],
        "beta_vae": _TB["red"],
        "annealed_vae": _TB["green"],
        "beta_tcvae": _TB["purple"],
        "factor_vae": _TB["cyan"],
        "ivae": _TB["yellow"],
        "infogan": "#555555",
    },
    "loss": {"bce": _OI["blue"], "mse": _OI["sky_blue"], "ddm": _OI["vermillion"]},
    "mixing": {
        "relu": _OI["blue"],
        "quadratic": _OI["vermillion"],
        "linear": _OI["bluish_green"],
        "tanh": _OI["reddish_purple"],
    },
    # the comparison baselines (vae_mtl_comparison, r2_vs_setting)
    "family": {
        "raw": "#4D4D4D",
        "multi-task": _TM["indigo"],
        "multi-task (top-D PCs)": _TM["cyan"],
        "generative": _TM["rose"],
        "generative, raw f(x*)": _TM["sand"],
        "random linear code": "#BBBBBB",
        "untrained": _TM["wine"],
        "integrator": _TM["purple"],
        "bayes": _TM["green"],
    },
}
# the series names the notebooks use, mapped to the palette that colours them
_SERIES_PALETTE = {
    "metric": "metric",
    "architecture": "architecture",
    "quadrant": "quadrant",
    "method": "method",
    "loss": "loss",
    "encoder": "mixing",
    "mixing": "mixing",
    "family": "family",
}
# unordered series without a fixed palette cycle through these (Okabe–Ito, yellow last)
CATEGORICAL = [
    _OI["blue"],
    _OI["orange"],
    _OI["bluish_green"],
    _OI["vermillion"],
    _OI["reddish_purple"],
    _OI["sky_blue"],
    _OI["black"],
    _OI["yellow"],
]
SEQUENTIAL_CMAP = "viridis"
SEQUENTIAL_RANGE = (0.0, 0.85)  # viridis past ~0.85 is too pale a yellow on white


def color(meaning: str, key):
    """The fixed colour of ``key`` in the palette for ``meaning`` (e.g. ``color("metric",
    "ood_r2")``); a KeyError names both when either is unknown."""
    if meaning not in PALETTES:
        raise KeyError(
            f"no palette for meaning {meaning!r} (asked for key {key!r}); "
            f"palettes: {', '.join(PALETTES)}"
        )
    palette = PALETTES[meaning]
    if key not in palette:
        raise KeyError(
            f"no colour for key {key!r} in the {meaning!r} palette; "
            f"known keys: {', '.join(map(str, palette))}"
        )
    return palette[key]


def sequential(n: int) -> list[str]:
    """``n`` colours, dark to light, of a colour-blind-safe sequential map (viridis cut before its
    palest yellow) for ordered series: task counts, σ, D."""
    if n <= 0:
        return []
    cmap = matplotlib.colormaps[SEQUENTIAL_CMAP]
    lo, hi = SEQUENTIAL_RANGE
    points = [0.4 * (lo + hi)] if n == 1 else np.linspace(lo, hi, n)
    return [matplotlib.colors.to_hex(cmap(p)) for p in points]


# the old names, aliases of the palettes
ARCHITECTURE_COLORS = PALETTES["architecture"]
METRIC_COLORS = PALETTES["metric"]
QUADRANT_COLORS = PALETTES["quadrant"]

# ---------------------------------------------------------------------------------------------
# labels

METRIC_LABELS = {"id_r2": "in distribution", "ood_r2": "out of distribution"}
ARCHITECTURE_LABELS = {
    "leaky_rnn": "leaky RNN",
    "nonleaky_rnn": "non-leaky RNN",
    "lstm": "LSTM",
    "gru": "GRU",
    "gpt2": "GPT-2",
}
REFERENCE_STYLE = {"color": "0.35", "lw": 0.9, "zorder": 0}
# reference lines: one grey dash style per kind (``reference_line``)
REFERENCE_KINDS = {
    "reference": {"color": "0.35", "ls": "--"},
    "ceiling": {"color": "0.2", "ls": ":"},
    "chance": {"color": "0.5", "ls": "-."},
    "theory": {"color": "0.2", "ls": (0, (5, 1.5, 1, 1.5, 1, 1.5))},
}
# the disentanglement scores the comparison panels draw, with short labels
SCORE_LABELS = {
    "mig.discrete_mig": "MIG",
    "dci.disentanglement": "DCI D",
    "dci.completeness": "DCI C",
    "dci.informativeness_test": "DCI I",
    "sap.SAP_score": "SAP",
    "modularity_explicitness.modularity_score": "modularity",
    "modularity_explicitness.explicitness_score_test": "explicitness",
    "irs.IRS": "IRS",
    "mcc.mcc": "MCC",
    "beta_vae.eval_accuracy": "BetaVAE",
    "factor_vae.eval_accuracy": "FactorVAE",
    "ood_r2": "OOD r²",
    "id_r2": "ID r²",
}
METHOD_LABELS = {
    "vae": "VAE",
    "beta_vae": "β-VAE",
    "annealed_vae": "AnnealedVAE",
    "beta_tcvae": "β-TCVAE",
    "factor_vae": "FactorVAE",
    "ivae": "iVAE",
    "infogan": "InfoGAN",
}
HYPER_LABELS = {"beta": "β", "c_max": "C", "gamma": "γ"}
AXIS_LABELS = {
    "n_tasks": "number of tasks",
    "noise_sd": "noise σ per step",
    "frequency": "encoder frequency ω (rad per unit latent)",
    "stimulus_steps": "trial duration (steps)",
    "correlation": "latent correlation ρ",
    "dim": "latent dimension D",
}
METRIC_AXIS = {"ood_r2": "OOD r²", "id_r2": "ID r²"}
LEGEND_TITLES = {
    "n_tasks": "tasks",
    "noise_sd": "σ",
    "dim": "D",
    "correlation": "ρ",
    "frequency": "ω",
    "boundaries": "boundaries",
    "noise": "noise",
}
SERIES_LABELS = {
    "metric": METRIC_LABELS,
    "architecture": ARCHITECTURE_LABELS,
    "encoder": {"relu": "ReLU mixing", "quadratic": "quadratic mixing"},
    "loss": {"bce": "fixed RT", "mse": "fixed RT (tanh/MSE)", "ddm": "free RT"},
    "method": METHOD_LABELS,
    "noise": {
        "gaussian": "Gaussian (paper)",
        "anisotropic": "anisotropic (2σ on x₂)",
        "autocorrelated": "autocorrelated (AR 0.7)",
        "gumbel": "Gumbel (heavy-tailed)",
        "input": "after the encoder (σ/2 per channel)",
        "units": "in the units (σ/2 per unit)",
    },
    "boundaries": {
        "even": "lines (paper)",
        "random": "random lines",
        "curved": "curved (hyperbolas)",
        "concentric": "concentric circles",
    },
}
SERIES_LABELS["mixing"] = SERIES_LABELS["encoder"]
_ARCH_ORDER = list(ARCHITECTURE_LABELS)


def series_order(level):
    """Sort key that puts architectures in the paper's order and numbers in numeric order."""
    if level in _ARCH_ORDER:
        return (0, _ARCH_ORDER.index(level), "")
    if isinstance(level, numbers.Real):
        return (1, float(level), "")
    return (2, 0.0, str(level))


def series_label(series: str, level) -> str:
    return SERIES_LABELS.get(series, {}).get(
        level, f"{level:g}" if isinstance(level, float) else str(level)
    )


def series_colors(series: str, levels: list) -> dict:
    """Colours of a series' levels: the fixed palette of its meaning (metric, architecture, loss,
    encoder/mixing, method, family, quadrant) when it has every level, ``sequential`` for numbers
    (the smallest darkest, whatever order ``levels`` come in), else the Okabe–Ito colours."""
    levels = list(levels)
    fixed = PALETTES.get(_SERIES_PALETTE.get(series, ""))
    if fixed and all(level in fixed for level in levels):
        return {level: fixed[level] for level in levels}
    numeric = all(
        isinstance(level, numbers.Real) and not isinstance(level, bool) for level in levels
    )
    if numeric:
        distinct = sorted(set(levels))
        shade = dict(zip(distinct, sequential(len(distinct)), strict=True))
        return {level: shade[level] for level in levels}
    if len(levels) <= len(CATEGORICAL):
        return dict(zip(levels, CATEGORICAL, strict=False))
    return dict(zip(levels, sns.color_palette("husl", len(levels)), strict=True))


# ---------------------------------------------------------------------------------------------
# tables


def read_tables(tables: str | dict, kind: str) -> pd.DataFrame:
    """One DataFrame from every table of ``kind`` a panel was given (the notebooks' ``tables``
    parameter, JSON or already parsed); empty when the panel has none of that kind."""
    paths = json.loads(tables) if isinstance(tables, str) else tables
    frames = [read_parquet(p) for p in paths.get(kind, [])]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


#: how a panel names a generative model that failed its health check (disentangle.generative.health)
UNHEALTHY_LABEL = "failed its health check: left out of the claims"


def unhealthy_models(tables: str | dict) -> set[str]:
    """The models with a failed check in the panel's ``generative_health`` tables (none when the
    panel has none); the claims leave the same models out (``disentangle.claims``)."""
    health = read_tables(tables, "generative_health")
    if health.empty:
        return set()
    return set(health.loc[~health["healthy"].astype(bool), "model"])


# ---------------------------------------------------------------------------------------------
# theme and layout


def apply() -> None:
    """Set the seaborn theme and matplotlib defaults shared by all panels, fonts from ``FONT``."""
    sns.set_theme(
        context="paper",
        style="ticks",
        font="DejaVu Sans",
        rc={
            "figure.dpi": 150,
            "savefig.dpi": 300,
            "savefig.pad_inches": 0.02,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
            "pdf.fonttype": 42,
            "svg.hashsalt": "disentangle",
        },
    )
    matplotlib.rcParams.update(
        {
            "font.size": FONT["label"],
            "xtick.labelsize": FONT["tick"],
            "ytick.labelsize": FONT["tick"],
            "legend.fontsize": FONT["legend"],
            "legend.title_fontsize": FONT["legend"],
            "axes.labelsize": FONT["label"],
            "axes.titlesize": FONT["title"],
            "figure.titlesize": FONT["title"],
            "figure.labelsize": FONT["label"],
        }
    )


def subplots(
    n: int,
    *,
    ncols: int = 3,
    width: float | None = None,
    height: float | None = None,
    letters: bool = True,
    sharex=False,
    sharey=False,
    **kw,
):
    """A figure with ``n`` panels, wrapped into rows of at most ``ncols``; returns ``(fig, axes)``
    with ``axes`` a flat list of the ``n`` visible axes (the grid's extra cells are hidden).

    ``width`` (inches) defaults to ``COLUMN_WIDTH`` for one panel and ``TEXT_WIDTH`` otherwise and
    is never wider than ``TEXT_WIDTH``; ``height`` is the whole figure's, ``ROW_HEIGHT`` per row
    unless given. The layout is constrained (pass ``layout=`` to change it); ``letters`` writes a,
    b, c… beside the panels (only when there are several). Other keywords go to ``plt.subplots``.
    """
    if n < 1:
        raise ValueError(f"subplots needs at least one panel, got n={n}")
    ncols = max(1, min(int(ncols), n))
    nrows = math.ceil(n / ncols)
    if width is None:
        width = COLUMN_WIDTH if n == 1 else TEXT_WIDTH
    width = min(float(width), TEXT_WIDTH)
    height = ROW_HEIGHT * nrows if height is None else float(height)
    kw.setdefault("layout", "constrained")
    fig, grid = plt.subplots(
        nrows, ncols, figsize=(width, height), sharex=sharex, sharey=sharey, squeeze=False, **kw
    )
    cells = list(grid.flat)
    axes, extra = cells[:n], cells[n:]
    for ax in extra:
        ax.set_visible(False)
    if letters and n > 1:
        panel_letters(axes)
    return fig, axes


def panel_letters(axes, *, start: str = "a") -> list:
    """Bold letters a, b, c… just above each axes' top-left corner, outside the data; returns the
    text artists."""
    texts = []
    for i, ax in enumerate(axes):
        texts.append(
            ax.annotate(
                chr(ord(start) + i),
                xy=(0, 1),
                xycoords="axes fraction",
                xytext=(-14, 5),
                textcoords="offset points",
                ha="right",
                va="bottom",
                fontsize=LETTER_PT,
                fontweight="bold",
                annotation_clip=False,
                gid="panel-letter",
            )
        )
    return texts


def _figure_of(fig_or_ax) -> FigureBase:
    return fig_or_ax if isinstance(fig_or_ax, FigureBase) else fig_or_ax.figure


def legend_outside(
    fig_or_ax, handles=None, labels=None, *, where="below", ncol=None, title=None
) -> Legend:
    """One legend outside every axes: below the figure (``where="below"``) or right of it
    (``"right"``), each label once; returns the legend.

    Without ``handles`` it collects the labelled artists of every axes of the figure (of the one
    axes when given one) and removes those axes' own legends.
    """
    if where not in ("below", "right"):
        raise ValueError(f"legend_outside: where must be 'below' or 'right', not {where!r}")
    fig = _figure_of(fig_or_ax)
    if handles is None:
        source = [fig_or_ax] if not isinstance(fig_or_ax, FigureBase) else fig.axes
        handles, labels = [], []
        for ax in source:
            h, lab = ax.get_legend_handles_labels()
            handles += h
            labels += lab
            if ax.get_legend() is not None:
                ax.get_legend().remove()
    elif labels is None:
        labels = [h.get_label() for h in handles]
    seen: dict[str, object] = {}
    for h, lab in zip(handles, labels, strict=True):
        if lab and not str(lab).startswith("_") and lab not in seen:
            seen[lab] = h
    handles, labels = list(seen.values()), list(seen)
    if ncol is None:
        ncol = min(len(labels), 4) if where == "below" else 1
    ncol = max(1, ncol)
    common = {"ncol": ncol, "title": title, "frameon": False}
    if isinstance(fig.get_layout_engine(), ConstrainedLayoutEngine):
        loc = "outside lower center" if where == "below" else "outside right upper"
        return fig.legend(handles, labels, loc=loc, **common)
    # no layout engine: anchor beside everything already drawn (tick and axis labels included)
    renderer = fig.canvas.get_renderer()
    boxes = [ax.get_tightbbox(renderer) for ax in fig.axes if ax.get_visible()]
    boxes = [b for b in boxes if b is not None]
    inv = fig.transFigure.inverted()
    if where == "below":
        y0 = min((inv.transform((0, b.y0))[1] for b in boxes), default=0.0)
        anchor, loc = (0.5, y0 - 0.01), "upper center"
    else:
        x1 = max((inv.transform((b.x1, 0))[0] for b in boxes), default=1.0)
        anchor, loc = (x1 + 0.01, 1.0), "upper left"
    return fig.legend(
        handles, labels, loc=loc, bbox_to_anchor=anchor, bbox_transform=fig.transFigure, **common
    )


# ---------------------------------------------------------------------------------------------
# marks


def reference_line(ax, *, y=None, x=None, label: str, kind: str = "reference") -> Line2D:
    """A horizontal (``y``) or vertical (``x``) grey line with a legend entry ``label`` (never a
    text on the data); ``kind`` picks the dash: reference ``--``, ceiling ``:``, chance ``-.``,
    theory dash-dot-dot."""
    if (x is None) == (y is None):
        raise ValueError("reference_line takes exactly one of x= or y=")
    if kind not in REFERENCE_KINDS:
        raise KeyError(f"no reference-line kind {kind!r}; kinds: {', '.join(REFERENCE_KINDS)}")
    look = {**REFERENCE_KINDS[kind], "lw": REFERENCE_STYLE["lw"], "zorder": 0.5, "label": label}
    return ax.axhline(y, **look) if y is not None else ax.axvline(x, **look)


def band(ax, x, lo, hi, color, label, alpha=0.2):
    """A shaded range from ``lo`` to ``hi`` in the series colour, with a legend entry."""
    return ax.fill_between(x, lo, hi, color=color, alpha=alpha, lw=0, label=label)


BAR_NOTE = "points: median; bars: interquartile range"


def describe_bars(n_units, unit: str = "networks") -> str:
    """What a ``median_iqr`` point and bar summarise, for a caption or footnote: "median over 5
    networks; bars: interquartile range" (one unit: "value of 1 network; no spread to show")."""
    n = int(n_units)
    if n == 1:
        one = unit[:-1] if unit.endswith("s") and not unit.endswith("ss") else unit
        return f"value of 1 {one}; no spread to show"
    return f"median over {n} {unit}; bars: interquartile range"


def median_iqr(ax, x, stats, color, label=None) -> None:
    """The panels' point: a median with an interquartile bar (``stats``: median, q25, q75 columns,
    as ``summary.quantile_summary`` gives them), against ``x``."""
    ax.errorbar(
        x,
        stats["median"],
        yerr=[stats["median"] - stats.q25, stats.q75 - stats["median"]],
        marker="o",
        ms=3.5,
        capsize=2,
        lw=1.2,
        color=color,
        label=label,
    )


# ---------------------------------------------------------------------------------------------
# axes

R2_FLOOR = -0.25  # r² panels never reach lower; values below are drawn by ``edge_markers``


def r2_axis(ax, values, *, floor: float = R2_FLOOR, top: float = 1.02) -> np.ndarray:
    """The one y-range of r² panels: from ``max(floor, min(values) − 0.05)`` to ``top``; returns
    the values this range cannot show (draw those below with ``edge_markers``)."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    bottom = max(floor, float(v.min()) - 0.05) if v.size else floor
    ax.set_ylim(bottom, top)
    return v[(v < bottom) | (v > top)]


def edge_markers(ax, x, y, *, floor: float, color) -> Line2D:
    """Values of ``y`` below ``floor`` as downward triangles on the floor, each with its value
    printed small beside it; returns the legend handle "below the axis (value printed)"."""
    x = np.broadcast_to(np.asarray(x, dtype=object), np.shape(y))
    y = np.asarray(y, dtype=float)
    for xi, yi in zip(np.ravel(x), np.ravel(y), strict=True):
        if not (np.isfinite(yi) and yi < floor):
            continue
        ax.plot([xi], [floor], marker="v", ms=4, color=color, ls="none", clip_on=False, zorder=3)
        ax.annotate(
            f"{yi:.2g}",
            xy=(xi, floor),
            xytext=(3, 2),
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize=FONT["annotation"],
            color=color,
            annotation_clip=False,
        )
    return Line2D(
        [], [], marker="v", ms=4, color=color, ls="none", label="below the axis (value printed)"
    )


def log_axis(ax, values, which: str = "x") -> None:
    """A log axis with ticks exactly at ``values``, labelled as plain numbers (2, 8, 0.25, not
    10⁰), minor ticks off. Call it after plotting (seaborn resets the scale)."""
    if which not in ("x", "y"):
        raise ValueError(f"log_axis: which must be 'x' or 'y', not {which!r}")
    v = np.asarray(values, dtype=float).ravel()
    ticks = sorted({float(t) for t in v[np.isfinite(v) & (v > 0)]})
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(FuncFormatter(lambda t, _pos: f"{t:g}"))
    axis.set_minor_locator(NullLocator())
    axis.set_minor_formatter(NullFormatter())


def mosaic(
    ax,
    tiles,
    ncols: int,
    *,
    gap: float = 0.15,
    scale: str = "shared",
    cmap="gray_r",
    vmin=None,
    vmax=None,
    titles=None,
):
    """2-D ``tiles`` laid out on a grid of ``ncols`` columns with white gaps (``gap`` × a tile's
    size); ``scale="shared"`` puts every tile on one colour range, ``"per_tile"`` each on its own
    [min, max]. Ticks off; returns the image."""
    if scale not in ("shared", "per_tile"):
        raise ValueError(f"mosaic: scale must be 'shared' or 'per_tile', not {scale!r}")
    tiles = [np.asarray(t, dtype=float) for t in tiles]
    if not tiles or any(t.ndim != 2 for t in tiles):
        raise ValueError("mosaic needs at least one tile, each a 2-D array")
    if scale == "per_tile":
        scaled = []
        for t in tiles:
            finite = t[np.isfinite(t)]
            lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
            scaled.append((t - lo) / (hi - lo) if hi > lo else np.where(np.isfinite(t), 0.5, t))
        tiles, vmin, vmax = scaled, 0.0, 1.0
    ncols = max(1, min(int(ncols), len(tiles)))
    nrows = math.ceil(len(tiles) / ncols)
    h = max(t.shape[0] for t in tiles)
    w = max(t.shape[1] for t in tiles)
    g = max(1, round(gap * max(h, w)))
    canvas = np.full((nrows * h + (nrows - 1) * g, ncols * w + (ncols - 1) * g), np.nan)
    for i, t in enumerate(tiles):
        r, c = divmod(i, ncols)
        canvas[r * (h + g) : r * (h + g) + t.shape[0], c * (w + g) : c * (w + g) + t.shape[1]] = t
    cm = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
    cm = cm.with_extremes(bad="white")
    image = ax.imshow(canvas, cmap=cm, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[:].set_visible(False)
    for i, title in enumerate(titles or []):
        r, c = divmod(i, ncols)
        ax.text(
            c * (w + g) + (w - 1) / 2,
            r * (h + g) - 0.5,
            title,
            ha="center",
            va="bottom",
            fontsize=FONT["annotation"],
        )
    return image


def signed_heatmap(
    ax, matrix, *, label: str, percentile=98, cmap="RdBu_r", xticklabels=None, yticklabels=None
):
    """A signed matrix on a diverging map with symmetric limits ±(``percentile`` of its finite
    absolute values), so that one outlier does not wash the rest out; values beyond saturate.
    Adds a colour bar labelled ``label``; returns ``(image, colorbar)``."""
    m = np.asarray(matrix, dtype=float)
    finite = np.abs(m[np.isfinite(m)])
    lim = float(np.percentile(finite, percentile)) if finite.size else 1.0
    if not lim > 0:
        lim = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    cm = matplotlib.colormaps[cmap] if isinstance(cmap, str) else cmap
    cm = cm.with_extremes(bad="0.85")
    image = ax.imshow(m, cmap=cm, vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
    over = finite.size and finite.max() > lim
    cbar = ax.figure.colorbar(image, ax=ax, extend="both" if over else "neither")
    cbar.set_label(label)
    if xticklabels is not None:
        ax.set_xticks(range(len(xticklabels)), labels=list(xticklabels))
    if yticklabels is not None:
        ax.set_yticks(range(len(yticklabels)), labels=list(yticklabels))
    return image, cbar


# ---------------------------------------------------------------------------------------------
# checks and export


class FigureCheckError(ValueError):
    """A figure failed ``check_figure`` while ``DISENTANGLE_FIGURE_CHECKS=strict``."""


def _visible_texts(artist):
    """Every text that would be drawn, walking only through visible artists (tick labels: only the
    ticks in view)."""
    if not artist.get_visible():
        return
    if isinstance(artist, Text):
        if artist.get_text().strip():
            yield artist
    if isinstance(artist, matplotlib.axis.Axis):
        yield from (t for t in (artist.label, artist.offsetText) if t.get_visible())
        for t in artist.get_majorticklabels() + artist.get_minorticklabels():
            if t.get_visible() and t.get_text().strip():
                yield t
        return
    for child in artist.get_children():
        yield from _visible_texts(child)


_LINE_OR_POLY = (LineCollection, PolyCollection)


def _data_points(ax) -> np.ndarray:
    """Display coordinates of the data an axes draws (line vertices, scatter offsets, collection
    vertices), only those inside the axes."""
    chunks = []
    for line in ax.lines:
        if line.get_visible():
            xy = np.asarray(line.get_xydata(), dtype=float)
            if xy.size:
                chunks.append(line.get_transform().transform(xy))
    for coll in ax.collections:
        if not coll.get_visible() or not isinstance(coll, Collection):
            continue
        if isinstance(coll, QuadMesh):
            xy = np.asarray(coll.get_coordinates(), dtype=float).reshape(-1, 2)
            chunks.append(coll.get_transform().transform(xy))
            continue
        offsets = np.asarray(coll.get_offsets(), dtype=float)
        if offsets.size and len(coll.get_paths()) and not isinstance(coll, _LINE_OR_POLY):
            chunks.append(coll.get_offset_transform().transform(offsets))
        else:
            trans = coll.get_transform()
            for path in coll.get_paths():
                if len(path.vertices):
                    chunks.append(trans.transform(np.asarray(path.vertices, dtype=float)))
    if not chunks:
        return np.empty((0, 2))
    pts = np.concatenate(chunks)
    pts = pts[np.isfinite(pts).all(axis=1)]
    return pts[_in_box(pts, ax.bbox)]


def _in_box(pts: np.ndarray, box) -> np.ndarray:
    x, y = pts[:, 0], pts[:, 1]
    return (x >= box.x0) & (x <= box.x1) & (y >= box.y0) & (y <= box.y1)


def _legend_overlaps(legend, axes, renderer) -> bool:
    box = legend.get_window_extent(renderer)
    for ax in axes:
        pts = _data_points(ax)
        if _in_box(pts, box).any():
            return True
        for patch in ax.patches:
            if isinstance(patch, Patch) and patch.get_visible():
                ext = Bbox.intersection(patch.get_window_extent(renderer), ax.bbox)
                if ext is not None and ext.width > 0 and ext.height > 0 and ext.overlaps(box):
                    return True
    return False


def check_figure(fig) -> list[str]:
    """What would make ``fig`` unfit for the paper, one sentence each (none: fit): wider than
    ``TEXT_WIDTH`` once saved with a tight bounding box, visible text smaller than
    ``MIN_FONT_PT``, a legend on top of plotted data."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    problems = []
    pad = matplotlib.rcParams["savefig.pad_inches"]
    pad = float(pad) if isinstance(pad, numbers.Real) else 0.0
    width = fig.get_tightbbox(renderer).width + 2 * pad
    if width > TEXT_WIDTH + 0.05:
        problems.append(
            f"the saved figure is {width:.2f} in wide, wider than the text width "
            f"({TEXT_WIDTH:g} in)"
        )
    small: dict[tuple[str, float], int] = {}
    for text in _visible_texts(fig):
        size = text.get_fontsize()
        if size < MIN_FONT_PT - 1e-9:
            key = (text.get_text().strip().replace("\n", " ")[:40], float(size))
            small[key] = small.get(key, 0) + 1
    for (name, size), count in list(small.items())[:12]:
        times = f" ({count} times)" if count > 1 else ""
        problems.append(
            f"the text '{name}'{times} is {size:g} pt, smaller than the minimum {MIN_FONT_PT:g} pt"
        )
    if len(small) > 12:
        problems.append(f"{len(small) - 12} more texts are smaller than {MIN_FONT_PT:g} pt")
    axes = [ax for ax in fig.get_axes() if ax.get_visible()]
    legends = [ax.get_legend() for ax in axes] + list(fig.legends)
    for legend in legends:
        if legend is None or not legend.get_visible():
            continue
        if _legend_overlaps(legend, axes, renderer):
            names = [t.get_text() for t in legend.get_texts()][:3]
            problems.append(
                f"the legend ({', '.join(names)}{', …' if len(legend.get_texts()) > 3 else ''}) "
                "sits on top of plotted data; move it outside the axes (legend_outside)"
            )
    return problems


def pin_legends(fig) -> None:
    """Fix each figure-level legend at its drawn place, in figure coordinates (the figure must
    have been drawn, and its layout frozen: ``footnote`` does both)."""
    renderer = fig.canvas.get_renderer()
    to_figure = fig.transFigure.inverted()
    for legend in fig.legends:
        box = legend.get_window_extent(renderer).transformed(to_figure)
        legend.set_bbox_to_anchor(box, transform=fig.transFigure)
        legend.set_loc("center")


def footnote(fig, provenance: dict) -> None:
    """A small grey line in the corner saying which preset and settings made the panel."""
    text = f"preset: {provenance.get('preset', '?')}"
    if "note" in provenance:
        text += f" · {provenance['note']}"
    # below everything already drawn (tick labels, axis labels and legends outside the axes
    # included): run the layout engine once, then freeze it, and pin the figure's legends where
    # that layout put them, so that the tight-box save (which re-anchors a legend placed
    # "outside" the constrained layout to the saved box's edge) cannot move one onto the footnote
    if fig.get_layout_engine() is not None or fig.legends:
        fig.canvas.draw()
        fig.set_layout_engine("none")
        pin_legends(fig)
    bottom = fig.get_tightbbox(fig.canvas.get_renderer()).y0 / fig.get_figheight()
    fig.text(
        0.99, bottom - 0.01, text, ha="right", va="top", fontsize=FONT["footnote"], color="0.5"
    )


def save(fig, pdf: str, png: str, provenance: dict) -> None:
    """Check ``fig`` (``check_figure``), then write it as PDF and PNG with provenance metadata
    and no timestamps. Problems are warnings, or a ``FigureCheckError`` (nothing written) when
    the environment sets ``DISENTANGLE_FIGURE_CHECKS=strict``."""
    problems = check_figure(fig)
    if problems:
        if os.environ.get("DISENTANGLE_FIGURE_CHECKS", "").strip().lower() == "strict":
            raise FigureCheckError(
                f"figure {pdf} fails its checks:\n" + "\n".join(f"- {p}" for p in problems)
            )
        for problem in problems:
            warnings.warn(f"{Path(pdf).name}: {problem}", stacklevel=2)
    blob = json.dumps(provenance, sort_keys=True)
    for path in (pdf, png):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(
        pdf,
        bbox_inches="tight",
        metadata={
            "CreationDate": None,
            "ModDate": None,
            "Creator": "disentangle",
            "Producer": "matplotlib",
            "Subject": f"preset {provenance.get('preset')}",
            "Keywords": blob,
        },
    )
    fig.savefig(png, bbox_inches="tight", metadata={"Software": "disentangle", "Description": blob})
    plt.close(fig)
    from disentangle.provenance import write_sidecar

    write_sidecar(pdf, None, figure=provenance)  # figures/<panel>.pdf.provenance.json


def write_summary(path: str, claim: str, table, provenance: dict) -> None:
    """The panel's measured values beside the paper's claim, as a small HTML page for the report.

    ``table`` is a DataFrame of the numbers the panel draws (e.g. medians and IQRs per x/series).
    """
    import html

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    body = table.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0)
    note = html.escape(provenance.get("note", ""))
    Path(path).write_text(
        "<html><body>"
        f"<p><b>Paper:</b> {html.escape(claim) or 'not stated'}</p>"
        f"<p><b>This run</b> (preset {html.escape(str(provenance.get('preset')))}; {note}):</p>"
        f"{body}</body></html>\n"
    )
