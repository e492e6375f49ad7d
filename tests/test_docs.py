"""The documentation: no machine paths or private notes in the repository, a short README, links
and code names that resolve, the replication notes' section titles (code cites them), the worked
examples, the measured-runs data, and the ``gallery`` command."""

from __future__ import annotations

import argparse
import csv
import hashlib
import importlib
import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from disentangle.config import deep_merge, load_and_check
from disentangle.jobs import gallery

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow/schemas/config.schema.yaml"
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# Patterns built from pieces so that this file does not match them itself.
NOTES_PATH = re.compile(r"(?:\.\./|/wor" + r"k/)shared\b")
MACHINE_PATH = re.compile(r"(?<![\w.~-])/(?:wor" + r"k|ro" + r"ot|ho" + r"me|Us" + r"ers)/")
PRIVATE_NOTES = "REPLICATION" + ".md"
# Tracked files allowed to contain one of the patterns, with the reason. None at present.
PATH_EXCEPTIONS: dict[str, str] = {}

REPLICATION_SECTIONS = [
    "Task",
    "Models",
    "Training",
    "OOD regression metric",
    "Decoder-axis angles",
    "Sparsity, dynamics and tuning",
    "Theory checks",
    "Generative models",
    "Disentanglement metrics",
    "Baselines and claims",
    "Deviations from the authors' code",
    "Decisions",
    "Numerical pitfalls",
    "Panels",
]


def repository_texts():
    """(path, text) of every tracked or new, not ignored, text file of the repository."""
    out = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        capture_output=True,
        check=True,
    ).stdout
    for name in sorted(set(out.decode().split("\0")) - {""}):
        path = REPO / name
        if not path.is_file():
            continue  # deleted in the working tree
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary
        try:
            yield name, data.decode("utf-8")
        except UnicodeDecodeError:
            continue


def test_docs_no_machine_paths_or_private_notes():
    """No file of the repository points at a machine path or at notes outside the repository."""
    found = []
    for name, text in repository_texts():
        if name in PATH_EXCEPTIONS:
            continue
        for pattern in (NOTES_PATH, MACHINE_PATH):
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{name}:{line}: {match.group(0)!r}")
    assert not found, "\n".join(found)


def test_docs_no_file_cites_private_notes():
    """Code and docs cite docs/replication.md, not the notes it was written from."""
    found = [name for name, text in repository_texts() if PRIVATE_NOTES in text]
    assert not found, found


def test_readme_is_short():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; move detail into docs/"


LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def test_docs_relative_links_resolve():
    broken = []
    for doc in DOCS:
        for target in LINK.findall(doc.read_text()):
            if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
                continue  # a URL or an anchor in the same page
            path = (doc.parent / target.split("#")[0]).resolve()
            if not path.exists():
                broken.append(f"{doc.relative_to(REPO)}: {target}")
    assert not broken, "\n".join(broken)


CODE = re.compile(r"`([^`\s]+)`")
REPO_PATH = re.compile(r"^(?:src|workflow|tests|benchmarks|config|profiles|docs)/[\w./-]+$")


def resolves(dotted: str) -> bool:
    """``disentangle.a.b.c``: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module = ".".join(parts[:cut])
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            obj = importlib.import_module(module)
            for attr in parts[cut:]:
                if not hasattr(obj, attr):
                    return False
                obj = getattr(obj, attr)
            return True
    return False


def test_docs_code_names_exist():
    """Every `disentangle.<module>[.<name>]` and every repository path in backticks in the
    README and docs/ exists, so that the docs follow the code when a module moves."""
    missing = []
    for doc in DOCS:
        if doc.name == "results.md":
            continue  # generated from the ledger
        for token in CODE.findall(doc.read_text()):
            token = token.rstrip(".,;:")
            if re.fullmatch(r"disentangle(\.\w+)+", token):
                if not resolves(token):
                    missing.append(f"{doc.relative_to(REPO)}: {token}")
            elif REPO_PATH.match(token) and not (REPO / token).exists():
                missing.append(f"{doc.relative_to(REPO)}: {token}")
    assert not missing, "\n".join(missing)


def test_docs_replication_section_titles():
    """Docstrings cite docs/replication.md by these section titles: keep them, in this order."""
    text = (REPO / "docs/replication.md").read_text()
    titles = [line[3:].strip() for line in text.splitlines() if line.startswith("## ")]
    assert titles == REPLICATION_SECTIONS


def test_docs_extending_example_is_a_valid_config():
    """docs/extending.md's first example works as written: an experiment, a sweep, two panels
    and a claim are config entries only."""
    text = (REPO / "docs/extending.md").read_text()
    example = yaml.safe_load(text.split("```yaml")[1].split("```")[0])
    base = yaml.safe_load((REPO / "config/config.yaml").read_text())
    resolved = load_and_check(deep_merge(base, example), SCHEMA, REPO / "workflow/notebooks")
    widths = [f"rnn_hidden-hidden_size{h}" for h in (16, 32, 64, 128)]
    assert resolved.groups["rnn_hidden"] == widths
    assert resolved.experiments["rnn_noisy"]["task"]["noise_sd"] == 0.4
    assert resolved.panels["width"]["ood_r2"] == widths


def read_csv(name: str) -> list[dict]:
    with open(REPO / "benchmarks/runs" / name, newline="") as f:
        return list(csv.DictReader(f))


def test_docs_measured_runs_are_consistent():
    """benchmarks/runs/: every row names a known run and every run a known host; the panel
    timings cover every configured panel."""
    runs = read_csv("runs.csv")
    ids = [r["run_id"] for r in runs]
    assert len(ids) == len(set(ids)), "duplicate run_id in runs.csv"
    hosts = {r["host"] for r in read_csv("hosts.csv")}
    assert {r["host"] for r in runs if r["host"]} <= hosts
    for name in (
        "train_throughput.csv",
        "generative_step.csv",
        "allocator.csv",
        "metric_time.csv",
        "paper_estimate.csv",
        "workflow_runs.csv",
        "workflow_rules.csv",
        "fig3a_r2.csv",
    ):
        unknown = {r["run_id"] for r in read_csv(name)} - set(ids)
        assert not unknown, f"{name}: run_id not in runs.csv: {sorted(unknown)}"
    for name in ("step_profile.csv", "experiments.csv"):
        assert {r["host"] for r in read_csv(name) if r["host"]} <= hosts, name
    panels = yaml.safe_load((REPO / "config/config.yaml").read_text())["panels"]
    assert [r["panel"] for r in read_csv("panel_times.csv")] == list(panels)


def test_docs_repository_gallery_is_current():
    """Once the gallery has been generated, the README's block, the copied PNGs and the
    manifest agree; before that the README has the markers for it."""
    readme = (REPO / "README.md").read_text()
    assert gallery.GALLERY_BEGIN in readme and gallery.GALLERY_END in readme
    if not (REPO / gallery.MANIFEST).exists():
        pytest.skip("no gallery yet: run `python -m disentangle gallery --preset quick`")
    gallery_cli("--check", "--root", str(REPO))


# --- the gallery command, on a small repository of its own ---------------------------------


def gallery_cli(*argv: str) -> None:
    parser = argparse.ArgumentParser(prog="disentangle")
    sub = parser.add_subparsers(dest="command", required=True)
    gallery.add_parser(sub)
    args = parser.parse_args(["gallery", *argv])
    args.func(args)


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


CAPTIONS = {
    "fig1a": "Fig. 1a. Out-of-distribution r² against N, e.g. for the RNN. Second sentence.",
    "fig1b": "Fig. 1 (b). A | pipe in the first sentence. More.",
    "other": "Not in the gallery.",
}


@pytest.fixture
def tiny_repo(tmp_path):
    """A repository with a config of three panels, two built PNGs and a README with markers."""
    (tmp_path / "config").mkdir()
    panels = {p: {"section": "paper", "caption": c} for p, c in CAPTIONS.items()}
    (tmp_path / "config/config.yaml").write_text(yaml.safe_dump({"panels": panels}))
    figures = tmp_path / "figures/quick"
    figures.mkdir(parents=True)
    for panel in ("fig1a", "fig1b"):
        (figures / f"{panel}.png").write_bytes(b"\x89PNG\r\n\x1a\n" + panel.encode())
    (tmp_path / "README.md").write_text(
        f"# Title\n\n## Gallery\n\n{gallery.GALLERY_BEGIN}\nplaceholder\n{gallery.GALLERY_END}\n"
        "\n## After\n"
    )
    (tmp_path / ".gitignore").write_text("figures/\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "tiny")
    return tmp_path


def test_gallery_copies_panels_and_writes_manifest_and_block(tiny_repo):
    gallery_cli("--preset", "quick", "--panels", "fig1a,fig1b", "--root", str(tiny_repo))
    out = tiny_repo / "docs/gallery"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["preset"] == "quick"
    assert manifest["commit"] == git(tiny_repo, "rev-parse", "HEAD")
    assert manifest["dirty"] is False  # figures/ is ignored; docs/gallery is written afterwards
    assert [p["id"] for p in manifest["panels"]] == ["fig1a", "fig1b"]
    for entry in manifest["panels"]:
        png = (out / f"{entry['id']}.png").read_bytes()
        assert png == (tiny_repo / "figures/quick" / f"{entry['id']}.png").read_bytes()
        assert entry["sha256"] == hashlib.sha256(png).hexdigest()
        assert entry["source"] == f"figures/quick/{entry['id']}.png"

    readme = (tiny_repo / "README.md").read_text()
    block = readme.split(gallery.GALLERY_BEGIN)[1].split(gallery.GALLERY_END)[0]
    assert "placeholder" not in block
    assert "![fig1a](docs/gallery/fig1a.png)" in block
    assert "![fig1b](docs/gallery/fig1b.png)" in block
    # the caption's label and first sentence only ("e.g." does not end it); pipes escaped
    assert "Fig. 1a. Out-of-distribution r² against N, e.g. for the RNN." in block
    assert "Second sentence" not in block
    assert "Fig. 1 (b). A \\| pipe in the first sentence." in block
    assert "Not in the gallery" not in block
    assert all(entry["drawn_at"] is None for entry in manifest["panels"])  # no sidecars here
    assert f"preset `quick` drawn at commit `{manifest['commit'][:12]}`," in block
    assert readme.startswith("# Title") and readme.endswith("\n## After\n")

    gallery_cli("--check", "--root", str(tiny_repo))  # current: passes


def test_gallery_check_fails_when_stale(tiny_repo):
    root = str(tiny_repo)
    gallery_cli("--preset", "quick", "--panels", "fig1a,fig1b", "--root", root)
    readme_path = tiny_repo / "README.md"
    good = readme_path.read_text()

    readme_path.write_text(good.replace("Out-of-distribution", "In-distribution"))
    with pytest.raises(SystemExit, match="gallery block does not match"):
        gallery_cli("--check", "--root", root)
    readme_path.write_text(good)

    png = tiny_repo / "docs/gallery/fig1b.png"
    png.write_bytes(png.read_bytes() + b"changed")
    with pytest.raises(SystemExit, match="fig1b.png is not the image"):
        gallery_cli("--check", "--root", root)

    # a caption edited in the config makes the block stale too
    gallery_cli("--preset", "quick", "--panels", "fig1a,fig1b", "--root", root)
    config = tiny_repo / "config/config.yaml"
    config.write_text(config.read_text().replace("Out-of-distribution", "OOD"))
    with pytest.raises(SystemExit, match="stale gallery"):
        gallery_cli("--check", "--root", root)


def test_gallery_reruns_record_dirty_tree_and_drop_old_panels(tiny_repo):
    root = str(tiny_repo)
    gallery_cli("--preset", "quick", "--panels", "fig1a,fig1b", "--root", root)
    gallery_cli("--preset", "quick", "--panels", "fig1b", "--root", root)  # README now edited
    manifest = json.loads((tiny_repo / "docs/gallery/manifest.json").read_text())
    assert manifest["dirty"] is True
    assert [p["id"] for p in manifest["panels"]] == ["fig1b"]
    assert not (tiny_repo / "docs/gallery/fig1a.png").exists()
    assert "with uncommitted changes" in (tiny_repo / "README.md").read_text()
    gallery_cli("--check", "--root", root)


def test_gallery_names_the_commit_that_drew_the_panels(tiny_repo):
    """A panel's provenance sidecar records the commit that drew it (another clone's, say): the
    gallery names that commit, grouped when the panels differ."""
    root = str(tiny_repo)
    figures = tiny_repo / "figures/quick"
    drawn = {"fig1a": ("a" * 40, False), "fig1b": ("a" * 40, True)}
    for panel, (commit, dirty) in drawn.items():
        sidecar = {"git_commit": commit, "git_dirty": dirty, "figure": {"panel": panel}}
        (figures / f"{panel}.pdf.provenance.json").write_text(json.dumps(sidecar))
    gallery_cli("--preset", "quick", "--panels", "fig1a,fig1b", "--root", root)
    manifest = json.loads((tiny_repo / "docs/gallery/manifest.json").read_text())
    assert manifest["commit"] == git(tiny_repo, "rev-parse", "HEAD")  # the repository's own
    assert manifest["panels"][1]["drawn_at"] == {"commit": "a" * 40, "dirty": True}
    readme = (tiny_repo / "README.md").read_text()
    assert (
        "drawn at commit `aaaaaaaaaaaa` (`fig1a`); commit `aaaaaaaaaaaa` with uncommitted"
        " changes (`fig1b`)," in readme
    )
    gallery_cli("--check", "--root", root)

    (figures / "fig1b.pdf.provenance.json").unlink()  # no sidecar: the repository's commit
    gallery_cli("--preset", "quick", "--panels", "fig1b", "--root", root)
    head = git(tiny_repo, "rev-parse", "HEAD")[:12]
    assert (
        f"drawn at commit `{head}` with uncommitted changes,"
        in (tiny_repo / "README.md").read_text()
    )


def test_gallery_refuses_missing_panels_and_readmes_without_markers(tiny_repo):
    root = str(tiny_repo)
    with pytest.raises(SystemExit, match="not built yet.*snakemake --profile profiles/smoke"):
        gallery_cli("--preset", "smoke", "--panels", "fig1a", "--root", root)
    with pytest.raises(SystemExit, match="no such panel"):
        gallery_cli("--preset", "quick", "--panels", "fig9", "--root", root)
    with pytest.raises(SystemExit, match="manifest.json is missing"):
        gallery_cli("--check", "--root", root)
    (tiny_repo / "README.md").write_text("# no markers\n")
    with pytest.raises(SystemExit, match="no gallery block"):
        gallery_cli("--preset", "quick", "--panels", "fig1a", "--root", root)
    assert not (tiny_repo / "docs/gallery").exists()  # nothing written
