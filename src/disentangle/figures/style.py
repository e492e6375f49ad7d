"""One look for every panel: seaborn theme, fixed colours, deterministic PDF/PNG export.

Notebooks call ``apply()`` once, draw, then ``save(fig, pdf, png, provenance)``. ``save`` strips the
creation date so that the same data give byte-identical files, and writes the provenance (preset,
config hash, experiments) into the PDF and PNG metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

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
REFERENCE_STYLE = {"color": "0.35", "lw": 0.9, "zorder": 0}


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
