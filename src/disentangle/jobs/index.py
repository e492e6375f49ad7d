"""The ``index`` job: write figures/README.md, the panel index, from the config (every panel in
config order with its caption, notebook, tables and claims), so it cannot drift from it."""

from __future__ import annotations

import argparse
from pathlib import Path

HEADER = """# Figure panels

Generated from `config/config.yaml` by `python -m disentangle index`; do not edit (a test fails
when it is stale). Every panel is drawn per preset, as `figures/<preset>/<panel>.pdf` and `.png`
(`snakemake figures/quick/fig3a.pdf`; another preset with `--profile profiles/<preset>`), by a
papermill-executed notebook in `workflow/notebooks/` from the tidy tables the workflow produced.
The executed notebook is kept under `results/<preset>/notebooks/<panel>.ipynb`, the numbers it
drew under `results/<preset>/summaries/<panel>.html`, and the verdicts of its claims under
`results/<preset>/claims/<panel>.csv` (all panels: `results/<preset>/CLAIMS.md`); the PDF/PNG
metadata and the grey footnote record the preset and the settings the panel came from.

| panel | what it shows | notebook | tables (kind: experiments) | claims checked |
|---|---|---|---|---|
"""


def index_text(config: dict) -> str:
    """The index's Markdown for a loaded config."""
    lines = []
    for panel, entry in config["panels"].items():
        caption = " ".join(entry.get("caption", "").split()).replace("|", "\\|")
        tables = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in entry["tables"].items())
        claims = ", ".join(c["id"] for c in entry.get("claims") or []) or "none"
        lines.append(f"| `{panel}` | {caption} | `{entry['notebook']}.py` | {tables} | {claims} |")
    return HEADER + "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> None:
    import yaml

    root = Path(args.root)
    config = yaml.safe_load((root / "config" / "config.yaml").read_text())
    text = index_text(config)
    out = root / "figures" / "README.md"
    if args.check:
        if not out.exists() or out.read_text() != text:
            raise SystemExit(f"{out} is stale: run `python -m disentangle index`")
        return
    out.write_text(text)


def built_targets(root: Path, preset: str, panels: list[str]) -> list[str]:
    """The report targets of a partial build: each panel of ``preset`` whose PDF exists, and its
    claims table where that exists too (config order)."""
    found = []
    for panel in panels:
        pdf = f"figures/{preset}/{panel}.pdf"
        if (root / pdf).exists():
            found.append(pdf)
            claims = f"results/{preset}/claims/{panel}.csv"
            if (root / claims).exists():
                found.append(claims)
    return found


def run_built(args: argparse.Namespace) -> None:
    import yaml

    root = Path(args.root)
    config = yaml.safe_load(Path(args.config or root / "config" / "config.yaml").read_text())
    found = built_targets(root, args.preset, list(config["panels"]))
    if not found:
        raise SystemExit(
            f"no panel of preset {args.preset!r} is built yet (figures/{args.preset}/ is empty):"
            " build one first, e.g. `snakemake figures/quick/fig3a.pdf`"
        )
    print("\n".join(found))


def add_parser(sub) -> None:
    p = sub.add_parser("index", help="write figures/README.md (the panel index) from the config")
    p.add_argument("--root", default=".", help="the repository (default: here)")
    p.add_argument("--check", action="store_true", help="fail if figures/README.md is stale")
    p.set_defaults(func=run)

    p = sub.add_parser("built", help="the panels (and claims) of a preset built so far")
    p.add_argument("--preset", default="quick")
    p.add_argument("--root", default=".", help="the working directory of the run (default: here)")
    p.add_argument("--config", default=None, help="config.yaml (default: <root>/config/)")
    p.set_defaults(func=run_built)
