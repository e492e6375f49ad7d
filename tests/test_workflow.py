"""The smoke DAG end to end, in a temporary copy of the repository."""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from conftest import REPO, copy_repo

pytestmark = pytest.mark.workflow


def snakemake(cwd, *args, timeout=1800):
    # A guard against a hung run, not a speed check (benchmarks/ measures speed; CI's
    # `--durations` lists how long the smoke DAG took). 900 s failed once on a host that shared
    # its 2 cores with a quick-preset run.
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def scheduled_jobs(output: str) -> dict[str, int]:
    """Job counts from a dry run's 'Job stats' table."""
    table = output.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


@pytest.fixture(scope="module")
def smoke_copy(tmp_path_factory):
    return copy_repo(tmp_path_factory.mktemp("wf") / "repo")


def test_one_panel_schedules_only_its_chain(smoke_copy):
    # --profile takes one value: the preset can be chosen before or after the targets
    dry = snakemake(smoke_copy, "--profile", "profiles/smoke", "-n", "figures/smoke/fig3a.pdf")
    assert dry.returncode == 0, dry.stderr
    jobs = scheduled_jobs(dry.stdout + dry.stderr)
    assert jobs == {
        "ingredients": 1,
        "train": 1,
        "ood_generalisation": 1,  # with the baselines table, in the same process
        "panel": 1,
    }


# docs/replication.md, "Panels": the paper's and poster's panels.
PAPER_PANELS = {
    "fig2-task", "fig2-encoder", "fig2-attractor", "fig2-eigenvalues", "fig3a", "fig3b", "fig3c",
    "fig4-tuning-rnn", "fig4-tuning-gpt", "fig5a", "fig5b-rnn", "fig5b-gpt", "fig5c", "fig5c-mse",
    "figS1",
    "figS3b", "figS5c", "figS6a", "figS6b", "figS12-angles",
}  # fmt: skip


def test_section_targets_partition_the_panels(smoke_copy):
    """paper_panels, theory_panels, methods_panels and beyond_panels ask for every panel exactly
    once between them, paper_panels for exactly the specification's list, and without any
    generative model."""
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    sections: dict[str, set[str]] = {}
    for panel, entry in config["panels"].items():
        sections.setdefault(entry["section"], set()).add(panel)
    assert sections["paper"] == PAPER_PANELS
    assert set(sections) == {"paper", "theory", "methods", "beyond"}
    for section, panels in sections.items():
        target = f"{section}_panels"
        # -F: every job of the target, whatever the copy already holds
        dry = snakemake(smoke_copy, "-n", "-F", target, "--configfile", "config/smoke.yaml")
        assert dry.returncode == 0, dry.stderr
        jobs = scheduled_jobs(dry.stdout + dry.stderr)
        assert jobs["panel"] == len(panels), section
        assert jobs[target] == 1
        if section == "paper":
            assert not {"train_generative", "score_generative", "theory_check"} & set(jobs)
        if section == "methods":
            assert jobs["train_generative"] == jobs["score_generative"] > 0


def test_smoke_dag_builds_every_panel(smoke_copy, monkeypatch):
    # every panel passes the style module's checks (width, font sizes, legends over data):
    # strict makes a failing check fail its panel job, and with it this test
    monkeypatch.setenv("DISENTANGLE_FIGURE_CHECKS", "strict")
    run = snakemake(smoke_copy, "--cores", "2", "--configfile", "config/smoke.yaml")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    # priorities: the multi-task chain goes first, so a panel is drawn before any generative
    # model starts training
    started = re.findall(r"^(?:local)?rule (\w+):$", run.stdout + run.stderr, re.M)
    assert started.index("panel") < started.index("train_generative"), started[:40]
    panels = yaml.safe_load((smoke_copy / "config/config.yaml").read_text())["panels"]
    assert len(panels) >= 19
    for panel in panels:
        for ext in ("pdf", "png"):
            fig = smoke_copy / "figures" / "smoke" / f"{panel}.{ext}"
            assert fig.exists() and fig.stat().st_size > 5000, fig
    # the contact sheet: every panel of the preset on a few pages, and its HTML page
    sheet = (smoke_copy / "figures/smoke/contact-sheet.html").read_text()
    assert all(f"{panel}.png" in sheet for panel in panels)
    assert (smoke_copy / "figures/smoke/contact-sheet.pdf").stat().st_size > 10000
    pdf = (smoke_copy / "figures/smoke/fig3a.pdf").read_bytes()
    assert b"preset smoke" in pdf  # provenance in the PDF metadata
    assert b"CreationDate" not in pdf  # no timestamp: same data, same bytes
    assert (smoke_copy / "results/smoke/notebooks/fig3a.ipynb").exists()

    table = pd.read_parquet(smoke_copy / "results/smoke/metrics/rnn_main/ood_r2.parquet")
    expected = {
        "experiment",
        "architecture",
        "n_tasks",
        "seed",
        "fold",
        "held_out",
        "fit",
        "metric",
        "value",
        "decoder",
        "preset",
        "noise_sd",
        "spec_hash",
    }
    assert expected <= set(table.columns)
    # 2 task counts × 2 seeds × 4 quadrants × 2 fits × {ood, id}
    assert len(table) == 2 * 2 * 4 * 2 * 2
    assert set(table.metric) == {"ood_r2", "id_r2"}
    assert table.value.max() <= 1.0
    medians = table.groupby("metric").value.median()
    assert medians["id_r2"] > 0.6  # even 300 batches learn a decodable code
    assert medians["id_r2"] > medians["ood_r2"]
    assert (table.preset == "smoke").all() and (table.decoder == "adam").all()
    # the same job reads the same networks out with the closed-form ridge decoder (Fig. 3b's
    # right half): one row for every row of the configured decoder
    ridge = pd.read_parquet(smoke_copy / "results/smoke/metrics/rnn_main/ood_r2_ridge.parquet")
    keys = ["n_tasks", "seed", "fold", "fit", "metric"]
    assert (ridge.decoder == "ridge").all()
    pd.testing.assert_frame_equal(
        ridge[keys].sort_values(keys, ignore_index=True),
        table[keys].sort_values(keys, ignore_index=True),
    )
    assert ridge.groupby("metric").value.median()["id_r2"] > 0.6

    # every angle comes with its ideal-code prediction (Fig. S12): exactly 90° for the paper's
    # evenly spaced 2-D boundaries (but for the evaluation trials' sample covariance of x*:
    # measured 89.98), scattered around 90° for random ones (measured sd 25°)
    angles = pd.read_parquet(smoke_copy / "results/smoke/metrics/rnn_main/angles.parquet")
    assert angles.ideal_deg.tolist() == pytest.approx([90.0] * len(angles), abs=0.1)
    angles = pd.read_parquet(smoke_copy / "results/smoke/metrics/gpt2_dim-dim6/angles.parquet")
    assert angles.ideal_deg.notna().all() and angles.ideal_deg.std() > 5
    assert "r = " in (smoke_copy / "results/smoke/summaries/figS12-angles.html").read_text()

    history = pd.read_parquet(smoke_copy / "results/smoke/models/rnn_main.history.parquet")
    final = history[(history.step == 300) & (history.metric == "accuracy")]
    assert len(final) == 4 and final.value.min() > 0.6
    assert not (smoke_copy / "results/smoke/checkpoints/rnn_main.ckpt").exists()
    log = (smoke_copy / "results/smoke/logs/train/rnn_main.log").read_text()
    assert "steps/s" in log and "ETA" in log

    # every job but `all` left a benchmark file, and `timings` sums them
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", run.stdout + run.stderr)
    assert done, "no completion line in the snakemake output"
    total_jobs = int(done[-1][1])
    timings = subprocess.run(
        [sys.executable, "-m", "disentangle", "timings", "results/smoke", "--out", "jobs.csv"],
        cwd=smoke_copy,
        capture_output=True,
        text=True,
    )
    assert timings.returncode == 0, timings.stderr
    jobs = pd.read_csv(smoke_copy / "jobs.csv")
    assert len(jobs) == total_jobs - 1
    assert {"train", "ingredients", "ood_generalisation", "panel", "train_generative"} <= set(
        jobs.rule
    )
    assert (jobs.s > 0).all() and f"{len(jobs)} jobs" in timings.stdout

    # the claims ledger: every panel's claims evaluated, with a verdict each
    ledger = pd.read_csv(smoke_copy / "results/smoke/claims.csv")
    config = yaml.safe_load((smoke_copy / "config/config.yaml").read_text())
    assert set(ledger.panel) == set(config["panels"])
    assert set(ledger.verdict) <= {"holds", "fails", "inconclusive"}
    # one or two networks per condition in the smoke preset: no sampled claim holds on fewer
    # than three units (deterministic checks have no interval and are exempt)
    sampled = ledger[~ledger.note.fillna("").str.contains("deterministic")]
    held = sampled[sampled.verdict == "holds"]
    assert (held.n_a >= 3).all() and ((held.n_b >= 3) | (held.n_b == 0)).all()
    md = (smoke_copy / "results/smoke/CLAIMS.md").read_text()
    assert all(f"`{panel}`" in md for panel in config["panels"])
    base = pd.read_parquet(smoke_copy / "results/smoke/metrics/rnn_main/baselines.parquet")
    assert set(base.baseline) == {"raw_input", "integrator", "untrained", "bayes"}
    ridge_raw = base[(base.baseline == "raw_input") & (base.decoder == "ridge")]
    assert ridge_raw[ridge_raw.metric == "ood_r2"].value.median() > 0.95  # f is nearly affine

    again = snakemake(smoke_copy, "-n", "--configfile", "config/smoke.yaml")
    assert "Nothing to be done" in again.stdout + again.stderr


def test_report_gathers_every_panel_by_section(smoke_copy):
    if not (smoke_copy / "figures/smoke/fig3a.pdf").exists():
        pytest.skip("needs the smoke run of test_smoke_dag_builds_every_panel")
    run = snakemake(smoke_copy, "--report", "report.html", "--configfile", "config/smoke.yaml")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    text = (smoke_copy / "report.html").read_text()
    config = yaml.safe_load((smoke_copy / "config/config.yaml").read_text())
    for title in ("Paper and poster panels", "Theory checks", "Disentanglement methods"):
        assert title in text, title
    for panel in config["panels"]:
        assert f"{panel}.pdf" in text and f"{panel}.html" in text, panel
    # every figure's caption states the claim, and every caption is valid reStructuredText
    assert text.count("What the paper claims") == len(config["panels"])
    assert "ERROR/" not in run.stdout + run.stderr, run.stderr[-3000:]


def test_changed_setting_reruns_only_what_depends_on_it(smoke_copy):
    if not (smoke_copy / "figures/smoke/fig3a.pdf").exists():
        pytest.skip("needs the smoke run of test_smoke_dag_builds_every_panel")
    overlay = smoke_copy / "more_fits.yaml"
    overlay.write_text("metrics:\n  ood:\n    n_fits: 3\n")
    dry = snakemake(smoke_copy, "-n", "--configfile", "config/smoke.yaml", str(overlay))
    jobs = scheduled_jobs(dry.stdout + dry.stderr)
    assert "train" not in jobs and "ingredients" not in jobs
    config = yaml.safe_load((smoke_copy / "config/config.yaml").read_text())
    with_ood = [
        p for p, entry in config["panels"].items() if {"ood_r2", "baselines"} & set(entry["tables"])
    ]
    assert jobs.get("panel") == jobs.get("panel_claims") == len(with_ood) < len(config["panels"])
    assert jobs.get("ood_generalisation") >= 1  # it writes the baselines table too
    assert set(jobs) == {
        "ood_generalisation",
        "panel",
        "panel_claims",
        "claims_ledger",
        "contact_sheet",
        "all",
    }


def test_scoring_setting_reruns_scoring_not_training(smoke_copy):
    """Each rule's params carry only the settings it reads: a scoring-only comparison key reruns
    the scoring jobs and the panels that draw them, never a training job."""
    if not (smoke_copy / "figures/smoke/fig3a.pdf").exists():
        pytest.skip("needs the smoke run of test_smoke_dag_builds_every_panel")
    overlay = smoke_copy / "more_trees.yaml"
    overlay.write_text("comparison:\n  dci_estimators: 3\n")
    dry = snakemake(smoke_copy, "-n", "--configfile", "config/smoke.yaml", str(overlay))
    jobs = scheduled_jobs(dry.stdout + dry.stderr)
    assert not {"train", "train_generative", "ingredients"} & set(jobs), jobs
    assert jobs.get("score_generative", 0) > 0 and jobs.get("score_networks", 0) > 0
    assert jobs.get("floors") == 1
    overlay.write_text("comparison:\n  traversal: {steps: 5, limit: 2.0}\n")
    dry = snakemake(smoke_copy, "-n", "--configfile", "config/smoke.yaml", str(overlay))
    jobs = scheduled_jobs(dry.stdout + dry.stderr)
    assert "traversals" in jobs and not {"train_generative", "score_generative"} & set(jobs)


def test_shell_metacharacters_in_config_values_run_nothing(smoke_copy):
    """Config values reach the jobs' shell commands only quoted: a panel's free-text claim full
    of shell syntax is drawn as text and runs nothing; a generative sweep value with a command
    in it (the injection once found in three rules) is either refused by validation, naming
    the key, or passed as one argument."""
    import shlex

    if not (smoke_copy / "figures/smoke/fig3a.pdf").exists():
        pytest.skip("needs the smoke run of test_smoke_dag_builds_every_panel")
    evil = '\'; touch PWNED1; echo "$(touch PWNED2)" `touch PWNED3` && touch PWNED4 #'
    overlay = smoke_copy / "evil.yaml"
    overlay.write_text(yaml.safe_dump({"panels": {"fig2-task": {"claim": evil}}}))
    run = snakemake(
        smoke_copy, "--cores", "1", "figures/smoke/fig2-task.pdf", "--configfile",
        "config/smoke.yaml", str(overlay),
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    summary = (smoke_copy / "results/smoke/summaries/fig2-task.html").read_text()
    assert "PWNED1" in summary  # the claim arrived as text
    # leave the copy as the other tests expect it: the panel drawn with the shipped claim again
    again = snakemake(
        smoke_copy, "--cores", "1", "figures/smoke/fig2-task.pdf", "--configfile",
        "config/smoke.yaml",
    )  # fmt: skip
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    value = "bernoulli --help;touch PWNED5;echo"
    overlay.write_text(
        yaml.safe_dump({"generative": {"models": {"beta_vae": {"sweep": {"likelihood": [value]}}}}})
    )
    dry = snakemake(smoke_copy, "-n", "-p", "-F", "methods_panels", "--configfile",
                    "config/smoke.yaml", str(overlay))  # fmt: skip
    out = dry.stdout + dry.stderr
    if dry.returncode != 0:
        assert "generative.models.beta_vae" in out and "Traceback" not in out, out[-2000:]
    else:
        commands = [line for line in out.splitlines() if "disentangle train-generative" in line]
        assert commands
        for line in commands:
            if "PWNED5" in line:
                assert any("PWNED5" in word and ";" in word for word in shlex.split(line))
    assert not list(smoke_copy.glob("PWNED*")), "a config value ran as a command"


def test_floor_keys_are_the_floors_settings():
    from disentangle.jobs.comparison import FLOOR_SETTINGS

    text = (REPO / "workflow/rules/common.smk").read_text()
    assert f"FLOOR_KEYS = {FLOOR_SETTINGS!r}".replace("'", '"') in text


def test_runs_from_another_working_directory(tmp_path):
    """`snakemake -s <repo>/Snakefile -d <elsewhere>`: the workflow finds its config, schema,
    notebooks and package from its own folder and writes results and figures to <elsewhere>."""
    work = tmp_path / "elsewhere"
    run = snakemake(
        tmp_path, "-s", str(REPO / "Snakefile"), "-d", str(work), "--cores", "1",
        "figures/smoke/fig2-task.pdf", "--configfile", str(REPO / "config/smoke.yaml"),
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (work / "figures/smoke/fig2-task.pdf").stat().st_size > 5000
    assert (work / "results/smoke/notebooks/fig2-task.ipynb").exists()
    # the report of this partial build (what `make report` runs): the panels built so far
    built = subprocess.run(
        [sys.executable, "-m", "disentangle", "built", "--preset", "smoke", "--root", str(work),
         "--config", str(REPO / "config/config.yaml")],
        capture_output=True, text=True, check=True, cwd=work,
    ).stdout.split()  # fmt: skip
    assert built[0] == "figures/smoke/fig2-task.pdf"
    report = snakemake(
        tmp_path, "-s", str(REPO / "Snakefile"), "-d", str(work), "--report", "report.html",
        *built, "--configfile", str(REPO / "config/smoke.yaml"),
    )  # fmt: skip
    assert report.returncode == 0, report.stdout[-3000:] + report.stderr[-3000:]
    assert "fig2-task.pdf" in (work / "report.html").read_text()


def test_snakemake_lint_is_clean():
    """`snakemake --lint` finds nothing: every rule has a log, a conda environment (for
    --sdm conda) and no function shares a file with rules."""
    proc = snakemake(REPO, "--lint", timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert not re.findall(r"^Lints for", out, re.M), out[-3000:]


def test_job_environment_lists_the_package_dependencies():
    """workflow/envs/disentangle.yaml (the rules' conda environment) holds every runtime
    dependency of pyproject.toml under its conda-forge name, and every rule that runs a command
    names it."""
    import tomllib

    env = yaml.safe_load((REPO / "workflow/envs/disentangle.yaml").read_text())
    assert env["channels"][0] == "conda-forge"
    conda = {re.split(r"[<>=]", d)[0] for d in env["dependencies"] if isinstance(d, str)}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    renamed = {"torch": "pytorch", "matplotlib": "matplotlib-base", "seaborn": "seaborn-base"}
    needed = {re.split(r"[<>=\[]", d)[0] for d in project} - {"snakemake"}
    assert {renamed.get(n, n) for n in needed} <= conda, needed
    for path in sorted((REPO / "workflow/rules").glob("*.smk")):
        for block in re.split(r"(?m)^(?=rule \w+:)", path.read_text())[1:]:
            if "    shell:" in block:
                assert "    conda:\n        JOB_ENV" in block, (path.name, block.split(":")[0])


DETERMINISM_TARGETS = [
    "figures/smoke/fig3a.pdf",
    "figures/smoke/figS6a.pdf",
    "figures/smoke/fig2-eigenvalues.pdf",
    "figures/smoke/theory-locatello.pdf",
    "figures/smoke/vae-mtl-comparison.pdf",
]


def test_second_copy_gives_byte_identical_tables_and_figures(smoke_copy, tmp_path):
    """Same commit, same config, a second copy: every results table and figure the targets need
    is byte-identical (SOURCE_DATE_EPOCH-free PDFs, no timestamps anywhere, seeded everything)."""
    if not (smoke_copy / "figures/smoke/fig3a.pdf").exists():
        pytest.skip("needs the smoke run of test_smoke_dag_builds_every_panel")
    second = copy_repo(tmp_path / "repo")
    run = snakemake(
        second, "--cores", "2", *DETERMINISM_TARGETS, "--configfile", "config/smoke.yaml"
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    compared = 0
    for path in sorted(second.glob("results/smoke/**/*.parquet")) + sorted(
        second.glob("figures/smoke/*.p*")
    ):
        if path.name.endswith(".provenance.json"):
            continue
        first = smoke_copy / path.relative_to(second)
        assert first.read_bytes() == path.read_bytes(), path.relative_to(second)
        compared += 1
    assert compared >= 20


def test_presets_do_not_shadow_each_other(smoke_copy):
    """After the smoke preset is built, asking for a panel of the default (quick) preset builds
    that preset's chain and draws its own panel beside the smoke one; both keep their provenance,
    the smoke build stays complete, and a panel of a preset the run is not configured for, or
    one without a preset folder, stops with a one-line hint before any job."""
    import json

    if not (smoke_copy / "figures/smoke/fig3a.pdf").exists():
        pytest.skip("needs the smoke run of test_smoke_dag_builds_every_panel")
    target = "figures/quick/fig2-task.pdf"
    dry = snakemake(smoke_copy, "-n", target)
    assert scheduled_jobs(dry.stdout + dry.stderr) == {"ingredients": 1, "examples": 1, "panel": 1}
    run = snakemake(smoke_copy, "--cores", "2", target)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    for preset in ("smoke", "quick"):
        sidecar = smoke_copy / f"figures/{preset}/fig2-task.pdf.provenance.json"
        assert json.loads(sidecar.read_text())["figure"]["preset"] == preset
        assert f"preset {preset}".encode() in (sidecar.parent / "fig2-task.pdf").read_bytes()
    again = snakemake(smoke_copy, "-n", "--profile", "profiles/smoke")
    assert "Nothing to be done" in again.stdout + again.stderr
    for asked, hint in (
        ("figures/paper/fig3a.pdf", "run `snakemake --profile profiles/paper figures/paper/"),
        ("figures/fig3a.pdf", "ask for figures/quick/fig3a.pdf"),
    ):
        wrong = snakemake(smoke_copy, "-n", asked)
        assert wrong.returncode != 0 and hint in wrong.stdout + wrong.stderr, asked
