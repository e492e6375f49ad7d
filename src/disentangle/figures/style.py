"""One look for every panel: seaborn theme, fixed colours, deterministic PDF/PNG export.

Notebooks call ``apply()`` once, draw, then ``save(fig, pdf, png, provenance)``. ``save`` strips the
creation date so that the same data give byte-identical files, and writes the provenance (preset,
config hash, experiments) into the PDF and PNG metadata.
"""

from __future__ import annotations

import json
import numbers
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from disentangle.io import read_parquet  # noqa: E402

PANEL_SIZE = (3.4, 2.8)  # inches: one column of the paper
METRIC_COLORS = {"id_r2": "#4c72b0", "ood_r2": "#dd8452"}
METRIC_LABELS = {"id_r2": "in distribution", "ood_r2": "out of distribution"}
ARCHITECTURE_COLORS = {
    "leaky_rnn": "#4c72b0",
    "nonleaky_rnn": "#55a868",
    "lstm": "#c44e52",
    "gru": "#8172b3",
    "gpt2": "#dd8452",
}
ARCHITECTURE_LABELS = {
    "leaky_rnn": "leaky RNN",
    "nonleaky_rnn": "non-leaky RNN",
    "lstm": "LSTM",
    "gru": "GRU",
    "gpt2": "GPT-2",
}
REFERENCE_STYLE = {"color": "0.35", "lw": 0.9, "zorder": 0}
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
# the authors' quadrant colours (analyze.py): Q1 (+,+), Q2 (−,+), Q3 (−,−), Q4 (+,−)
QUADRANT_COLORS = {1: "gold", 2: "limegreen", 3: "dodgerblue", 4: "lightcoral", 0: "0.6"}
AXIS_LABELS = {
    "n_tasks": "number of tasks",
    "noise_sd": "noise σ per step",
    "stimulus_steps": "trial duration (steps)",
    "correlation": "latent correlation ρ",
    "dim": "latent dimension D",
}
METRIC_AXIS = {"ood_r2": "OOD r²", "id_r2": "ID r²"}
LEGEND_TITLES = {"n_tasks": "tasks", "noise_sd": "σ", "dim": "D", "correlation": "ρ"}
SERIES_LABELS = {
    "metric": METRIC_LABELS,
    "architecture": ARCHITECTURE_LABELS,
    "encoder": {"relu": "ReLU mixing", "quadratic": "quadratic mixing"},
    "loss": {"bce": "fixed RT", "mse": "fixed RT (tanh/MSE)", "ddm": "free RT"},
}
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
    """Fixed colours for metrics and architectures, an ordered palette for numeric series."""
    fixed = {"metric": METRIC_COLORS, "architecture": ARCHITECTURE_COLORS}.get(series)
    if fixed and all(level in fixed for level in levels):
        return {level: fixed[level] for level in levels}
    numeric = all(isinstance(level, numbers.Real) for level in levels)
    palette = sns.color_palette("viridis" if numeric else "deep", max(len(levels), 1))
    if numeric and len(levels) > 1:
        palette = sns.color_palette("viridis", len(levels) + 1)[: len(levels)]
    return dict(zip(levels, palette, strict=True))


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


def apply() -> None:
    """Set the seaborn theme and matplotlib defaults shared by all panels."""
    sns.set_theme(
        context="paper",
        style="ticks",
        font="DejaVu Sans",
        rc={
            "figure.dpi": 150,
            "savefig.dpi": 300,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
            "pdf.fonttype": 42,
            "svg.hashsalt": "disentangle",
        },
    )


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


def footnote(fig, provenance: dict) -> None:
    """A small grey line in the corner saying which preset and settings made the panel."""
    text = f"preset: {provenance.get('preset', '?')}"
    if "note" in provenance:
        text += f" · {provenance['note']}"
    # below everything already drawn (tick labels and axis labels included)
    bottom = fig.get_tightbbox(fig.canvas.get_renderer()).y0 / fig.get_figheight()
    fig.text(0.99, bottom - 0.01, text, ha="right", va="top", fontsize=5, color="0.5")


def save(fig, pdf: str, png: str, provenance: dict) -> None:
    """Write ``fig`` as PDF and PNG with provenance metadata and no timestamps."""
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
