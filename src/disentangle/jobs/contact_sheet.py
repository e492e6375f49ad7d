"""The ``contact-sheet`` job: one preset's whole replication at a glance, as a PDF and an HTML page.

``python -m disentangle contact-sheet --preset <p> --panels <JSON> --claims results/<p>/claims.csv
--out-pdf figures/<p>/contact-sheet.pdf --out-html figures/<p>/contact-sheet.html <PNG>...``

``--panels`` is the config's panels in config order, as a JSON list of ``{"id", "section",
"caption"}`` (the rule's params); the positional arguments are the panels' PNGs
(``figures/<p>/<panel>.png``), matched to the panels by file name. Every panel is shown in config
order with its id, section, the first sentence of its caption (``gallery.first_sentence``), its PNG
and its claims' verdicts from the run's ledger (holds / fails / inconclusive, and the ids of the
failing claims). A PNG that is missing or unreadable stops the job with its name, before anything
is written.

The PDF (matplotlib ``PdfPages``, A4 portrait) opens with the preset, the git commit the panels
were drawn at (read from each panel's provenance sidecar, ``<panel>.pdf.provenance.json``), the
ledger's totals and a table of contents with each panel's page and verdicts; then a few panels a
page (``--columns`` × ``--rows``), each image at its own aspect ratio. It carries no timestamps,
so that two builds from the same inputs are byte-identical. The HTML is one self-contained page
beside the PNGs (images referenced relatively), with the same contents, verdicts coloured.
"""

from __future__ import annotations

import argparse
import csv
import html
import json
import math
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

VERDICTS = ("holds", "fails", "inconclusive")
COLOURS = {"holds": "#1b7837", "fails": "#b2182b", "inconclusive": "#666666"}
A4 = (8.27, 11.69)  # inches, portrait
MARGIN = 0.45
GREY = "#555555"


@dataclass
class Panel:
    """One panel of the sheet: what the config says of it, its PNG and its claims' verdicts."""

    id: str
    section: str
    sentence: str
    png: Path
    counts: dict[str, int] = field(default_factory=dict)
    failing: list[str] = field(default_factory=list)
    in_ledger: bool = False
    drawn_at: tuple[str | None, bool | None] = (None, None)
    page: int = 0

    @property
    def n_claims(self) -> int:
        return sum(self.counts.values())


def read_ledger(path: str | Path) -> list[dict[str, str]]:
    """The ledger's rows (``claims.LEDGER_COLUMNS``; panel, claim and verdict are the ones used)."""
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            columns = set(reader.fieldnames or ())
    except OSError as err:
        raise SystemExit(f"contact-sheet: cannot read the claims ledger {path} ({err})") from None
    missing = {"panel", "claim", "verdict"} - columns
    if missing:
        raise SystemExit(
            f"contact-sheet: the claims ledger {path} lacks column(s) {', '.join(sorted(missing))}"
        )
    return rows


def read_png(path: Path):
    """The image as an RGBA array; a missing or unreadable file is an error that names it."""
    import numpy as np
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.load()
            array = np.asarray(image.convert("RGBA"))
    except Exception as err:  # noqa: BLE001 - name the file, whatever the reader says
        raise SystemExit(
            f"contact-sheet: cannot read panel PNG {path} ({type(err).__name__}: {err})"
        ) from None
    if array.size == 0:
        raise SystemExit(f"contact-sheet: panel PNG {path} is empty")
    return array


def drawn_at(png: Path) -> tuple[str | None, bool | None]:
    """The commit (and dirty flag) in the panel's provenance sidecar, (None, None) without one."""
    sidecar = png.with_name(f"{png.stem}.pdf.provenance.json")
    try:
        data = json.loads(sidecar.read_text())
    except (OSError, ValueError):
        return None, None
    return data.get("git_commit"), data.get("git_dirty")


def collect(panels: list[dict], pngs: list[str], ledger: list[dict[str, str]]) -> list[Panel]:
    """The sheet's panels in config order, each with its PNG (by file name) and verdicts."""
    from disentangle.jobs.gallery import first_sentence

    by_name: dict[str, Path] = {}
    for png in pngs:
        by_name.setdefault(Path(png).stem, Path(png))
    ids = [entry["id"] for entry in panels]
    unmatched = [p for p in ids if p not in by_name]
    if unmatched:
        raise SystemExit(
            "contact-sheet: no PNG given for panel(s) "
            + ", ".join(unmatched)
            + " (pass figures/<preset>/<panel>.png of every panel)"
        )
    missing = [str(by_name[p]) for p in ids if not by_name[p].is_file()]
    if missing:
        raise SystemExit(f"contact-sheet: panel PNG missing: {', '.join(missing)}")
    result = []
    for entry in panels:
        panel = Panel(
            id=entry["id"],
            section=entry.get("section", ""),
            sentence=first_sentence(entry.get("caption", "") or ""),
            png=by_name[entry["id"]],
            counts=dict.fromkeys(VERDICTS, 0),
        )
        for row in ledger:
            if row["panel"] != panel.id:
                continue
            panel.in_ledger = True
            verdict = row["verdict"]
            panel.counts[verdict] = panel.counts.get(verdict, 0) + 1
            if verdict == "fails":
                panel.failing.append(row["claim"])
        panel.drawn_at = drawn_at(panel.png)
        result.append(panel)
    return result


def totals(panels: list[Panel]) -> dict[str, int]:
    counts = dict.fromkeys(VERDICTS, 0)
    for panel in panels:
        for verdict, n in panel.counts.items():
            counts[verdict] = counts.get(verdict, 0) + n
    return counts


def commit_text(commit: str | None, dirty: bool | None) -> str:
    text = f"commit {commit[:12]}" if commit else "an unrecorded commit"
    return text + (" with uncommitted changes" if dirty else "")


def provenance_groups(panels: list[Panel]) -> list[tuple[str, list[str]]]:
    """[(commit text, [panel ids])], one group per commit the panels were drawn at."""
    groups: dict[str, list[str]] = {}
    for panel in panels:
        groups.setdefault(commit_text(*panel.drawn_at), []).append(panel.id)
    return list(groups.items())


def provenance_line(panels: list[Panel]) -> str:
    """The commit(s) the panels were drawn at: the most common one with a count, the others with
    the panels drawn at them."""
    groups = sorted(provenance_groups(panels), key=lambda g: -len(g[1]))  # stable: config order
    if len(groups) == 1:
        return f"Panels drawn at {groups[0][0]}."
    (main, ids), rest = groups[0], groups[1:]
    others = "; ".join(f"{c}: {', '.join(i)}" for c, i in rest)
    return f"Panels drawn at {main} ({len(ids)} of {len(panels)}); the others at {others}."


# --- PDF ---------------------------------------------------------------------------------------


class Page:
    """An A4 figure with text placed in inches from the top-left corner."""

    def __init__(self):
        import matplotlib.pyplot as plt

        self.fig = plt.figure(figsize=A4)

    def text(self, x: float, y: float, s: str, size: float = 7, **kwargs):
        w, h = A4
        kwargs.setdefault("va", "top")
        kwargs.setdefault("ha", "left")
        return self.fig.text(x / w, 1 - y / h, s, fontsize=size, **kwargs)

    def verdicts(self, x: float, y: float, counts: dict[str, int], size: float = 7, step=0.8):
        """The counts of each verdict, coloured, at fixed offsets (so that columns line up)."""
        for i, (verdict, n) in enumerate(counts.items()):
            colour = COLOURS.get(verdict, GREY)
            weight = "bold" if n and verdict == "fails" else "normal"
            self.text(x + i * step, y, f"{verdict} {n}", size, color=colour, fontweight=weight)

    def footer(self, preset: str, number: int, pages: int):
        self.text(
            A4[0] / 2,
            A4[1] - MARGIN / 2,
            f"contact sheet · preset {preset} · page {number} of {pages}",
            6,
            color=GREY,
            ha="center",
            va="center",
        )


def wrap(text: str, width_in: float, size: float, max_lines: int | None = None) -> list[str]:
    """``text`` in lines that fit ``width_in`` inches at ``size`` pt (an average glyph ~0.5 em)."""
    chars = max(10, int(width_in * 72 / (size * 0.5)))
    lines = textwrap.wrap(text, chars) or [""]
    if max_lines and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: chars - 1].rstrip() + "…"
    return lines


def line_height(size: float) -> float:
    return size * 1.3 / 72


def layout(n_panels: int, per_page: int, first_rows: int, later_rows: int):
    """The contents pages' row chunks and each panel's page number (1-based)."""
    chunks = [first_rows]
    while sum(chunks) < n_panels:
        chunks.append(later_rows)
    contents = len(chunks)
    pages = [contents + 1 + i // per_page for i in range(n_panels)]
    return chunks, pages


def contents_pages(preset, ledger_name, panels, chunks, n_pages) -> list[Page]:
    """The first page(s): preset, commit, the ledger's totals, and the table of contents."""
    pages = []
    start = 0
    x0 = MARGIN
    row = line_height(7) + 0.02
    for number, rows in enumerate(chunks, 1):
        page = Page()
        y = MARGIN
        if number == 1:
            page.text(x0, y, f"Contact sheet: preset {preset}", 16, fontweight="bold")
            y += 0.4
            intro = (
                f"All {len(panels)} panels of the preset in config order (config/config.yaml), "
                f"each with the first sentence of its caption and the verdicts of its claims "
                f"from the ledger {ledger_name}."
            )
            for line in wrap(intro, A4[0] - 2 * MARGIN, 8):
                page.text(x0, y, line, 8)
                y += line_height(8)
            y += 0.08
            for line in wrap(provenance_line(panels), A4[0] - 2 * MARGIN, 8):
                page.text(x0, y, line, 8)
                y += line_height(8)
            y += 0.12
            total = totals(panels)
            without = [p.id for p in panels if not p.in_ledger]
            page.text(x0, y, f"Claims: {sum(total.values())}", 10, fontweight="bold")
            page.verdicts(x0 + 1.1, y, total, 10, step=1.1)
            y += line_height(10)
            if without:
                for line in wrap(f"Not in the ledger: {', '.join(without)}", A4[0] - 2 * MARGIN, 7):
                    page.text(x0, y, line, 7, color=GREY)
                    y += line_height(7)
            y += 0.2
            page.text(x0, y, "Contents", 10, fontweight="bold")
            y += line_height(10) + 0.04
        columns = (
            (0.0, "panel"),
            (1.75, "section"),
            (2.4, "page"),
            (2.8, "holds"),
            (3.3, "fails"),
            (3.8, "inconcl."),
            (4.4, "failing claims"),
        )
        for dx, name in columns:
            page.text(x0 + dx, y, name, 7, fontweight="bold")
        y += row
        for panel in panels[start : start + rows]:
            colour = "black" if panel.in_ledger else GREY
            page.text(x0, y, panel.id, 7)
            page.text(x0 + 1.75, y, panel.section, 7, color=GREY)
            page.text(x0 + 2.4, y, str(panel.page), 7)
            for dx, verdict in zip((2.8, 3.3, 3.8), VERDICTS, strict=True):
                n = panel.counts.get(verdict, 0)
                shown = str(n) if panel.in_ledger else "–"
                page.text(x0 + dx, y, shown, 7, color=COLOURS[verdict] if n else colour)
            failing = ", ".join(panel.failing)
            page.text(
                x0 + 4.4,
                y,
                wrap(failing, A4[0] - 2 * MARGIN - 4.4, 7, 1)[0],
                7,
                color=COLOURS["fails"],
            )
            y += row
        start += rows
        page.footer(preset, number, n_pages)
        pages.append(page)
    return pages


def write_pdf(path, preset, ledger_name, panels, images, columns, rows) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    per_page = columns * rows
    chunks, numbers = layout(len(panels), per_page, first_rows=40, later_rows=70)
    for panel, number in zip(panels, numbers, strict=True):
        panel.page = number
    n_pages = len(chunks) + math.ceil(len(panels) / per_page)
    gap_x, gap_y = 0.3, 0.3
    cell_w = (A4[0] - 2 * MARGIN - (columns - 1) * gap_x) / columns
    cell_h = (A4[1] - 2 * MARGIN - 0.15 - (rows - 1) * gap_y) / rows
    with PdfPages(path, metadata={"CreationDate": None, "ModDate": None}) as pdf:
        for page in contents_pages(preset, ledger_name, panels, chunks, n_pages):
            pdf.savefig(page.fig)
            plt.close(page.fig)
        for start in range(0, len(panels), per_page):
            page = Page()
            for i, panel in enumerate(panels[start : start + per_page]):
                x = MARGIN + (i % columns) * (cell_w + gap_x)
                y = MARGIN + (i // columns) * (cell_h + gap_y)
                draw_cell(page, panel, images[panel.id], x, y, cell_w, cell_h)
            page.footer(preset, panels[start].page, n_pages)
            pdf.savefig(page.fig, dpi=200)
            plt.close(page.fig)


def draw_cell(page: Page, panel: Panel, image, x: float, y: float, w: float, h: float) -> None:
    """One panel in the box (x, y, w, h), inches from the top-left: its text, then its image in
    the rest of the box at its own aspect ratio (anchored at the top)."""
    bottom = y + h
    page.text(x, y, panel.id, 9, fontweight="bold")
    commit, dirty = panel.drawn_at
    drawn = f" · drawn at {commit[:12]}{' (dirty)' if dirty else ''}" if commit else ""
    page.text(x + w, y + 0.02, panel.section + drawn, 6.5, color=GREY, ha="right")
    y += line_height(9) + 0.03
    for line in wrap(panel.sentence, w, 6.5, max_lines=4):
        page.text(x, y, line, 6.5)
        y += line_height(6.5)
    y += 0.03
    if panel.in_ledger:
        page.verdicts(x, y, panel.counts, 7, step=0.75)
    else:
        page.text(x, y, "no claims in the ledger", 7, color=GREY)
    y += line_height(7)
    if panel.failing:
        for line in wrap("failing: " + ", ".join(panel.failing), w, 6.5, max_lines=2):
            page.text(x, y, line, 6.5, color=COLOURS["fails"])
            y += line_height(6.5)
    y += 0.06
    W, H = A4
    ax = page.fig.add_axes((x / W, 1 - bottom / H, w / W, max(bottom - y, 0.2) / H))
    ax.imshow(image, interpolation="antialiased")
    ax.set_aspect("equal", adjustable="box")
    ax.set_anchor("N")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("#cccccc")
        spine.set_linewidth(0.5)


# --- HTML --------------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.4; }
h1 { margin-bottom: 0.2rem; }
.muted { color: #555; }
.holds { color: #1b7837; } .fails { color: #b2182b; } .inconclusive { color: #666666; }
.fails.some { font-weight: bold; }
table.contents { border-collapse: collapse; font-size: 0.9rem; }
table.contents td, table.contents th { padding: 0.15rem 0.6rem; text-align: left;
                                       border-bottom: 1px solid #eee; }
table.contents td.n { text-align: right; }
section.panel { border-top: 1px solid #ccc; margin-top: 2rem; padding-top: 0.5rem; }
section.panel h2 { margin: 0.2rem 0; }
section.panel h2 small { font-weight: normal; color: #555; font-size: 0.8rem; }
section.panel img { max-width: 100%; height: auto; border: 1px solid #ddd; }
.verdicts span { margin-right: 1rem; }
"""


def verdict_spans(counts: dict[str, int]) -> str:
    return "".join(
        f'<span class="{html.escape(v)}{" some" if n else ""}">{html.escape(v)} {n}</span>'
        for v, n in counts.items()
    )


def html_text(preset: str, ledger_name: str, panels: list[Panel], out_dir: Path) -> str:
    esc = html.escape
    total = totals(panels)
    rows = []
    for panel in panels:
        cells = (
            "".join(f'<td class="n {v}">{panel.counts.get(v, 0)}</td>' for v in VERDICTS)
            if panel.in_ledger
            else '<td class="n muted" colspan="3">not in the ledger</td>'
        )
        rows.append(
            f'<tr><td><a href="#{esc(panel.id)}">{esc(panel.id)}</a></td>'
            f'<td class="muted">{esc(panel.section)}</td>{cells}'
            f'<td class="fails">{esc(", ".join(panel.failing))}</td></tr>'
        )
    sections = []
    for panel in panels:
        src = Path(os.path.relpath(panel.png, out_dir)).as_posix()
        verdicts = (
            verdict_spans(panel.counts)
            if panel.in_ledger
            else '<span class="muted">no claims in the ledger</span>'
        )
        failing = (
            f'<p class="fails">failing: {esc(", ".join(panel.failing))}</p>'
            if panel.failing
            else ""
        )
        sections.append(
            f'<section class="panel" id="{esc(panel.id)}">\n'
            f"<h2>{esc(panel.id)} <small>{esc(panel.section)} · drawn at "
            f"{esc(commit_text(*panel.drawn_at))}</small></h2>\n"
            f'<p class="caption">{esc(panel.sentence)}</p>\n'
            f'<p class="verdicts">{verdicts}</p>\n{failing}'
            f'<a href="{esc(src)}"><img src="{esc(src)}" alt="panel {esc(panel.id)}"></a>\n'
            "</section>"
        )
    head = "".join(f"<th>{h}</th>" for h in ("panel", "section", *VERDICTS, "failing claims"))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>Contact sheet: preset {esc(preset)}</title>\n<style>{STYLE}</style>\n"
        "</head>\n<body>\n"
        f"<h1>Contact sheet: preset <code>{esc(preset)}</code></h1>\n"
        f'<p class="muted">All {len(panels)} panels of the preset in config order, each with the'
        " first sentence of its caption and the verdicts of its claims from the ledger"
        f" <code>{esc(ledger_name)}</code>. {esc(provenance_line(panels))}</p>\n"
        f'<p class="verdicts"><b>Claims: {sum(total.values())}</b> '
        f"{verdict_spans(total)}</p>\n"
        '<nav>\n<h2>Contents</h2>\n<table class="contents">\n'
        f"<tr>{head}</tr>\n"
        + "\n".join(rows)
        + "\n</table>\n</nav>\n"
        + "\n".join(sections)
        + "\n</body>\n</html>\n"
    )


# --- the job -----------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> None:
    from disentangle.io import atomic_write
    from disentangle.jobs.arguments import json_argument

    config_panels = json_argument(args.panels)
    if not isinstance(config_panels, list) or not all(
        isinstance(p, dict) and "id" in p for p in config_panels
    ):
        raise SystemExit('contact-sheet: --panels must be a JSON list of {"id", ...} objects')
    if args.columns < 1 or args.rows < 1:
        raise SystemExit("contact-sheet: --columns and --rows must be at least 1")
    panels = collect(config_panels, args.pngs, read_ledger(args.claims))
    images = {panel.id: read_png(panel.png) for panel in panels}  # every PNG before any write
    ledger_name = Path(args.claims).as_posix()
    atomic_write(
        args.out_pdf,
        lambda tmp: write_pdf(
            tmp, args.preset, ledger_name, panels, images, args.columns, args.rows
        ),
    )
    text = html_text(args.preset, ledger_name, panels, Path(args.out_html).parent)
    atomic_write(args.out_html, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def add_parser(sub) -> None:
    p = sub.add_parser(
        "contact-sheet", help="one preset's panels and verdicts at a glance (PDF and HTML)"
    )
    p.add_argument("pngs", nargs="*", help="the panels' PNGs (figures/<preset>/<panel>.png)")
    p.add_argument("--preset", required=True)
    p.add_argument(
        "--panels",
        required=True,
        help='the config\'s panels in config order (JSON list of {"id", "section", "caption"})',
    )
    p.add_argument("--claims", required=True, help="the run's ledger (results/<preset>/claims.csv)")
    p.add_argument("--out-pdf", required=True)
    p.add_argument("--out-html", required=True, help="written beside the PNGs, which it links")
    p.add_argument("--columns", type=int, default=2, help="panels side by side on a PDF page")
    p.add_argument("--rows", type=int, default=3, help="rows of panels on a PDF page")
    p.set_defaults(func=run)
