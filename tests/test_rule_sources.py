"""The workflow's code dependencies (workflow/rules/common.smk: RULE_JOBS, code_sources): every rule
that runs the package names the job function its command dispatches to, and the files derived from
the imports (disentangle.import_graph) are the ones that job runs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from disentangle.cli import build_parser
from disentangle.import_graph import narrowing_cut, package_files

REPO = Path(__file__).resolve().parents[1]
RULES = REPO / "workflow" / "rules"


def rule_jobs() -> dict[str, str]:
    text = (RULES / "common.smk").read_text()
    start = text.index("RULE_JOBS = {")
    end = text.index("}", start) + 1
    return ast.literal_eval(text[start:end].split("=", 1)[1].strip())


def rule_blocks() -> dict[str, str]:
    """{rule name: its text} of every rule in workflow/rules/*.smk."""
    blocks = {}
    for path in sorted(RULES.glob("*.smk")):
        parts = re.split(r"^rule (\w+):\n", path.read_text(), flags=re.M)
        blocks.update(dict(zip(parts[1::2], parts[2::2], strict=True)))
    return blocks


def command_functions() -> dict[str, object]:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    return {name: p.get_default("func") for name, p in sub.choices.items()}


def test_every_rule_that_runs_the_package_names_its_job():
    jobs, functions = rule_jobs(), command_functions()
    checked = set()
    for rule, text in rule_blocks().items():
        command = re.search(r"-m disentangle ([a-z-]+)", text)
        named = re.search(r'code_sources\("(\w+)"\)', text)
        if command is None:
            continue
        assert named and named.group(1) == rule, f"rule {rule}: code=code_sources({rule!r})"
        func = functions[command.group(1)]
        module = func.__module__.removeprefix("disentangle.").replace(".", "/")
        assert jobs[rule] == f"{module}.py:{func.__name__}", rule
        checked.add(rule)
    assert 'code_sources("panel")' in rule_blocks()["panel"]
    assert checked | {"panel"} == set(jobs)


@pytest.mark.parametrize("entry", [e for e in rule_jobs().values() if ":" in e])
def test_every_job_entry_resolves(entry):
    files = package_files([entry])
    assert entry.split(":")[0] in files
    assert "cli.py" not in files and "jobs/__init__.py" not in files


def test_training_depends_on_its_own_architecture_only():
    entry = rule_jobs()["train"]
    rnn = package_files([entry], narrowing_cut("leaky_rnn"))
    assert {"training.py", "models/recurrent.py", "models/readout.py", "tasks/evidence.py"} <= set(
        rnn
    )
    assert "models/gpt2.py" not in rnn
    assert not [f for f in rnn if f.startswith(("generative/", "figures/", "analysis/"))]
    gpt = package_files([entry], narrowing_cut("gpt2"))
    assert "models/gpt2.py" in gpt and "models/recurrent.py" not in gpt
    # analyses that dispatch on the network's type are narrowed the same way
    angles = package_files([rule_jobs()["decoder_angles"]], narrowing_cut("lstm"))
    assert "analysis/geometry.py" in angles and "models/gpt2.py" not in angles


def test_a_panel_depends_on_what_its_notebook_imports():
    files = package_files([str(REPO / "workflow" / "notebooks" / "angles_vs_setting.py")])
    assert "figures/style.py" in files and "figures/__init__.py" in files
    assert not [f for f in files if f.startswith(("generative/", "models/", "training"))]


def test_theory_checks_depend_on_their_kind_only():
    entry = rule_jobs()["theory_check"]
    closed = package_files([entry], narrowing_cut(check="orthogonality"))
    assert "theory/orthogonality.py" in closed and "theory_checks.py" in closed
    assert "generative_studies.py" not in closed
    assert not [f for f in closed if f.startswith("generative/")]
    study = package_files([entry], narrowing_cut(check="ivae"))
    assert {"generative_studies.py", "generative/ivae.py", "theory_checks.py"} <= set(study)
    assert not [f for f in study if f.startswith("theory/")]


def test_package_init_run_by_a_submodule_import_is_not_followed(tmp_path):
    """``from pkg.sub.a import x`` runs pkg/sub/__init__.py (a dependency) but uses a.py only."""
    pkg = tmp_path / "disentangle"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from disentangle.sub import a, b\n")
    (pkg / "sub" / "a.py").write_text("X = 1\n")
    (pkg / "sub" / "b.py").write_text("import disentangle.c\n")
    (pkg / "c.py").write_text("")
    (pkg / "job.py").write_text(
        "import json\n\ndef helper():\n    from disentangle.c import y\n\n"
        "def run():\n    from disentangle.sub.a import X\n    helper()\n\n"
        "def other():\n    from disentangle.sub import b\n"
    )
    assert package_files(["job.py:run"], root=pkg) == [
        "c.py",
        "job.py",
        "sub/__init__.py",
        "sub/a.py",
    ]
    assert package_files(["job.py:other"], root=pkg) == [
        "c.py",
        "job.py",
        "sub/__init__.py",
        "sub/b.py",
    ]
    assert package_files(["job.py:other"], cut={("*", "c.py")}, root=pkg) == [
        "job.py",
        "sub/__init__.py",
        "sub/b.py",
    ]


def test_imports_in_blocks_count_and_type_checking_ones_do_not(tmp_path):
    pkg = tmp_path / "disentangle"
    pkg.mkdir()
    for name in ("__init__", "a", "b", "c"):
        (pkg / f"{name}.py").write_text("")
    (pkg / "job.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import disentangle.c\n\n"
        "def run():\n    try:\n        import disentangle.a\n    except ImportError:\n"
        "        with open('x'):\n            from disentangle import b\n"
    )
    assert package_files(["job.py:run"], root=pkg) == ["a.py", "b.py", "job.py"]
