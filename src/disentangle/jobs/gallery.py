"""The ``gallery`` job: copy a few panels of one preset into docs/gallery/ and write the README's
gallery block from them, so that the front page shows real panels and says where they came from.

``python -m disentangle gallery --preset quick`` copies ``figures/<preset>/<panel>.png`` to
``docs/gallery/<panel>.png`` and writes ``docs/gallery/manifest.json``: the preset, the panels, the
repository's git commit (``git rev-parse HEAD``) and whether its working tree had uncommitted
changes, and per panel its PNG's SHA-256 and the commit that drew it, read from the panel's
provenance sidecar (``figures/<preset>/<panel>.pdf.provenance.json``) where there is one. It then
rewrites the README between the gallery markers: each image with the first sentence of its caption
(config ``panels.<id>.caption``) and one line naming the preset and the commit the panels were
drawn at (the repository's commit for a panel without a sidecar). ``--check`` regenerates the block
from the manifest and fails if the README, or a copied PNG, differs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
from pathlib import Path

GALLERY_BEGIN = "<!-- gallery:begin -->"
GALLERY_END = "<!-- gallery:end -->"
DEFAULT_PANELS = ("fig3a", "fig3b", "fig5c", "vae-mtl-comparison")
GALLERY_DIR = Path("docs") / "gallery"
MANIFEST = GALLERY_DIR / "manifest.json"

# A caption's label ("Fig. 3a.", "Fig. 2 (task).", "Fig. 5c, variant.") is kept with the sentence
# that follows it; a sentence ends at a full stop followed by a space, except after these words.
_LABEL = re.compile(r"^Fig\. [^.]*\.\s+")
_NOT_AN_END = ("e.g", "i.e", "vs", "cf", "al", "Fig", "Eq", "approx")


def first_sentence(caption: str) -> str:
    """The caption's label (if any) and its first sentence, on one line."""
    text = " ".join(caption.split())
    label = ""
    match = _LABEL.match(text)
    if match:
        label, text = match.group(0), text[match.end() :]
    for end in re.finditer(r"\.(\s|$)", text):
        words = text[: end.start()].split()
        if not words or words[-1].lstrip("([") not in _NOT_AN_END:
            return label + text[: end.start() + 1]
    return label + text


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git_state(root: Path) -> tuple[str | None, bool | None]:
    """The commit checked out at ``root`` and whether tracked or untracked files differ from it
    (ignored files, such as figures/, do not count); (None, None) outside a git repository."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
        ).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        dirty = bool(git("status", "--porcelain").strip())
    except (OSError, subprocess.CalledProcessError):
        return None, None
    return commit, dirty


def drawn_at(root: Path, preset: str, panel: str) -> dict | None:
    """The commit (and dirty flag) recorded in a panel's provenance sidecar, if it has one."""
    sidecar = root / "figures" / preset / f"{panel}.pdf.provenance.json"
    if not sidecar.exists():
        return None
    data = json.loads(sidecar.read_text())
    return {"commit": data.get("git_commit"), "dirty": data.get("git_dirty")}


def _commit_text(commit: str | None, dirty: bool | None) -> str:
    text = f"commit `{commit[:12]}`" if commit else "an unrecorded commit"
    return text + (" with uncommitted changes" if dirty else "")


def provenance_line(manifest: dict) -> str:
    """Where the panels came from: the commit they were drawn at (from their sidecars, else the
    repository's), one group per commit when they differ."""
    groups: dict[tuple, list[str]] = {}
    for entry in manifest["panels"]:
        source = entry.get("drawn_at") or manifest
        key = (source.get("commit"), bool(source.get("dirty")))
        groups.setdefault(key, []).append(entry["id"])
    if len(groups) == 1:
        where = "at " + _commit_text(*next(iter(groups)))
    else:
        where = "at " + "; ".join(
            f"{_commit_text(*key)} ({', '.join(f'`{p}`' for p in panels)})"
            for key, panels in groups.items()
        )
    preset = manifest["preset"]
    return (
        f"Panels of preset `{preset}` drawn {where}, copied from `figures/{preset}/` by"
        f" `python -m disentangle gallery --preset {preset}`"
        f" ([manifest]({MANIFEST.as_posix()}) with their SHA-256)."
    )


def gallery_block(manifest: dict, captions: dict[str, str]) -> str:
    """The README's gallery (between the markers) for a manifest: a two-column table of the
    images with their captions' first sentences, then the line that says where they came from."""
    panels = [p["id"] for p in manifest["panels"]]
    lines = ["| | |", "|:-:|:-:|"]
    for i in range(0, len(panels), 2):
        pair = panels[i : i + 2] + [None] * (2 - len(panels[i : i + 2]))
        images = [f"![{p}]({GALLERY_DIR.as_posix()}/{p}.png)" if p else "" for p in pair]
        texts = [first_sentence(captions.get(p, "")).replace("|", "\\|") if p else "" for p in pair]
        lines.append(f"| {images[0]} | {images[1]} |")
        lines.append(f"| {texts[0]} | {texts[1]} |")
    lines += ["", provenance_line(manifest)]
    return "\n".join(lines)


def replace_block(readme: str, block: str) -> str:
    pattern = re.compile(re.escape(GALLERY_BEGIN) + ".*?" + re.escape(GALLERY_END), re.S)
    if not pattern.search(readme):
        raise SystemExit(f"README.md has no gallery block ({GALLERY_BEGIN} ... {GALLERY_END})")
    return pattern.sub(lambda _: f"{GALLERY_BEGIN}\n{block}\n{GALLERY_END}", readme)


def captions_of(root: Path) -> dict[str, str]:
    import yaml

    panels = yaml.safe_load((root / "config" / "config.yaml").read_text())["panels"]
    return {panel: entry.get("caption", "") for panel, entry in panels.items()}


def check(root: Path) -> None:
    """Fail (SystemExit) if the README block or a copied PNG does not match the manifest."""
    manifest_path = root / MANIFEST
    if not manifest_path.exists():
        raise SystemExit(f"{manifest_path} is missing: run `python -m disentangle gallery`")
    manifest = json.loads(manifest_path.read_text())
    problems = []
    for entry in manifest["panels"]:
        png = root / GALLERY_DIR / f"{entry['id']}.png"
        if not png.exists():
            problems.append(f"{png} is missing")
        elif sha256(png) != entry["sha256"]:
            problems.append(f"{png} is not the image the manifest records")
    listed = {f"{entry['id']}.png" for entry in manifest["panels"]}
    problems += [
        f"{png} is not in the manifest"
        for png in sorted((root / GALLERY_DIR).glob("*.png"))
        if png.name not in listed
    ]
    readme_path = root / "README.md"
    readme = readme_path.read_text()
    if replace_block(readme, gallery_block(manifest, captions_of(root))) != readme:
        problems.append(f"{readme_path}'s gallery block does not match {manifest_path}")
    if problems:
        raise SystemExit(
            "stale gallery: "
            + "; ".join(problems)
            + f"; regenerate it with `python -m disentangle gallery --preset {manifest['preset']}`"
        )


def run(args: argparse.Namespace) -> None:
    root = Path(args.root)
    if args.check:
        check(root)
        return
    preset = args.preset
    panels = [p.strip() for p in args.panels.split(",") if p.strip()]
    if not panels or len(set(panels)) != len(panels):
        raise SystemExit(f"gallery: --panels must name distinct panels, got {args.panels!r}")
    captions = captions_of(root)
    unknown = [p for p in panels if p not in captions]
    if unknown:
        raise SystemExit(f"gallery: no such panel in config/config.yaml: {', '.join(unknown)}")
    sources = {p: root / "figures" / preset / f"{p}.png" for p in panels}
    missing = [str(path) for path in sources.values() if not path.exists()]
    if missing:
        targets = " ".join(f"figures/{preset}/{p}.png" for p in panels)
        raise SystemExit(
            f"gallery: not built yet: {', '.join(missing)}; build them with"
            f" `snakemake --profile profiles/{preset} {targets}`"
        )
    readme_path = root / "README.md"
    readme = readme_path.read_text()
    replace_block(readme, "")  # no markers: stop before anything is written
    commit, dirty = git_state(root)  # before the copies below make the tree dirty
    out = root / GALLERY_DIR
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        if old.stem not in panels:
            old.unlink()
    entries = []
    for panel, source in sources.items():
        data = source.read_bytes()
        (out / f"{panel}.png").write_bytes(data)
        entries.append(
            {
                "id": panel,
                "source": f"figures/{preset}/{panel}.png",
                "sha256": hashlib.sha256(data).hexdigest(),
                "drawn_at": drawn_at(root, preset, panel),
            }
        )
    manifest = {"preset": preset, "commit": commit, "dirty": dirty, "panels": entries}
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    readme_path.write_text(replace_block(readme, gallery_block(manifest, captions)))


def add_parser(sub) -> None:
    p = sub.add_parser(
        "gallery", help="copy a preset's panels into docs/gallery and the README's gallery"
    )
    p.add_argument("--preset", default="quick", help="whose figures/<preset>/ to copy")
    p.add_argument(
        "--panels",
        default=",".join(DEFAULT_PANELS),
        help=f"comma-separated panel ids (default: {','.join(DEFAULT_PANELS)})",
    )
    p.add_argument("--root", default=".", help="the repository (default: here)")
    p.add_argument(
        "--check", action="store_true", help="fail if the README or docs/gallery is stale"
    )
    p.set_defaults(func=run)
