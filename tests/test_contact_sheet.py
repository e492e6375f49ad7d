"""The contact sheet (disentangle.jobs.contact_sheet): every panel of a preset in config order with
its caption's first sentence, its PNG and its claims' verdicts, as a deterministic PDF and an HTML
page."""

from __future__ import annotations

import csv
import json
import re

import pytest

from disentangle.claims import LEDGER_COLUMNS
from disentangle.cli import main

PANELS = [
    {"id": "fig3a", "section": "paper", "caption": "Fig. 3a. Wide panel, e.g. r² vs tasks. More."},
    {"id": "theory-tall", "section": "theory", "caption": "Tall panel. Second sentence."},
    {"id": "vae-square", "section": "methods", "caption": "Square panel without claims."},
]
VERDICTS = [  # (panel, claim, verdict)
    ("fig3a", "ood-rises", "holds"),
    ("fig3a", "id-high", "fails"),
    ("fig3a", "gap-shrinks", "inconclusive"),
    ("theory-tall", "exact", "holds"),
    ("theory-tall", "bound-tight", "fails"),
    ("theory-tall", "orthogonal", "fails"),
]


@pytest.fixture
def sheet(tmp_path):
    """A preset's figures/ with three small PNGs (different aspect ratios) and a ledger."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = tmp_path / "figures" / "toy"
    figures.mkdir(parents=True)
    for entry, size in zip(PANELS, [(4, 1.5), (1.5, 3), (2, 2)], strict=True):
        fig, ax = plt.subplots(figsize=size)
        ax.plot([0, 1], [0, 1])
        fig.savefig(figures / f"{entry['id']}.png", dpi=40)
        plt.close(fig)
    (figures / "fig3a.pdf.provenance.json").write_text(
        json.dumps({"git_commit": "0123456789abcdef", "git_dirty": False})
    )
    ledger = tmp_path / "claims.csv"
    with open(ledger, "w", newline="") as f:
        writer = csv.DictWriter(f, LEDGER_COLUMNS)
        writer.writeheader()
        for panel, claim, verdict in VERDICTS:
            row = dict.fromkeys(LEDGER_COLUMNS, "")
            row.update(panel=panel, claim=claim, verdict=verdict, section="x", value=0.5)
            writer.writerow(row)
    return tmp_path, figures, ledger


def build(tmp_path, figures, ledger, name="contact-sheet", pngs=None, extra=()):
    pdf, page = figures / f"{name}.pdf", figures / f"{name}.html"
    pngs = pngs or [str(figures / f"{p['id']}.png") for p in reversed(PANELS)]
    main(
        [
            "contact-sheet",
            "--preset",
            "toy",
            "--panels",
            json.dumps(PANELS),
            "--claims",
            str(ledger),
            "--out-pdf",
            str(pdf),
            "--out-html",
            str(page),
            *extra,
            *pngs,
        ]
    )
    return pdf, page


def pdf_pages(path) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", path.read_bytes()))


def test_pdf_pages_and_determinism(sheet):
    pdf, _ = build(*sheet)
    assert pdf_pages(pdf) == 2  # contents, then up to 6 panels a page
    again, _ = build(*sheet, name="again")
    assert pdf.read_bytes() == again.read_bytes()
    assert b"CreationDate" not in pdf.read_bytes()
    two_a_page, _ = build(*sheet, name="rows", extra=["--columns", "1", "--rows", "2"])
    assert pdf_pages(two_a_page) == 1 + 2


def test_html_lists_panels_in_config_order_with_verdicts(sheet):
    _, page = build(*sheet)
    text = page.read_text()
    sections = re.findall(r'<section class="panel" id="([^"]+)">(.*?)</section>', text, re.S)
    assert [s[0] for s in sections] == [p["id"] for p in PANELS]
    body = dict(sections)
    assert "holds 1" in body["fig3a"] and "fails 1" in body["fig3a"]
    assert "inconclusive 1" in body["fig3a"] and "failing: id-high" in body["fig3a"]
    assert "holds 1" in body["theory-tall"] and "fails 2" in body["theory-tall"]
    assert "failing: bound-tight, orthogonal" in body["theory-tall"]
    assert "no claims in the ledger" in body["vae-square"]
    assert "Fig. 3a. Wide panel, e.g. r² vs tasks." in body["fig3a"]
    assert "Second sentence" not in body["theory-tall"]
    assert 'src="fig3a.png"' in body["fig3a"]  # relative: the page sits beside the PNGs
    assert "0123456789ab" in body["fig3a"] and "unrecorded" in body["vae-square"]
    contents = text.split("<nav>")[1].split("</nav>")[0]
    assert [m for m in re.findall(r'href="#([^"]+)"', contents)] == [p["id"] for p in PANELS]
    assert "Claims: 6" in text and 'class="fails some">fails 3<' in text


def test_a_missing_png_is_named(sheet):
    tmp_path, figures, ledger = sheet
    (figures / "theory-tall.png").unlink()
    with pytest.raises(SystemExit, match=r"theory-tall\.png"):
        build(tmp_path, figures, ledger)
    assert not (figures / "contact-sheet.pdf").exists()


def test_an_unreadable_png_is_named(sheet):
    tmp_path, figures, ledger = sheet
    (figures / "vae-square.png").write_bytes(b"not a png")
    with pytest.raises(SystemExit, match=r"vae-square\.png"):
        build(tmp_path, figures, ledger)


def test_a_panel_without_a_png_argument_is_named(sheet):
    tmp_path, figures, ledger = sheet
    pngs = [str(figures / "fig3a.png"), str(figures / "vae-square.png")]
    with pytest.raises(SystemExit, match="theory-tall"):
        build(tmp_path, figures, ledger, pngs=pngs)
