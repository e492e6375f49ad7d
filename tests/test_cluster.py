"""The SLURM profile: its dry run, and the workflow through a real single-node SLURM cluster.

The dry-run tests need only snakemake-executor-plugin-slurm. The ``cluster`` tests start a
cluster once per session from Debian's packages (tests/cluster/local_slurm.py; apt-get installs
them when missing) and stop it in a finalizer, also when a test fails. Without root, apt or
working daemons they skip and say why: ``python -m pytest -m cluster tests/test_cluster.py``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml
from cluster.local_slurm import ClusterUnavailable, LocalSlurm, start_cluster

from conftest import REPO, assert_same_weights, copy_repo, tiny_experiment, train_command
from disentangle.data.ingredients import write_ingredients

# profiles/slurm with the test cluster's partition, sizes and status command layered on top;
# `none` keeps profiles/default (which would override both) out.
PROFILES = (
    "--profile",
    "profiles/slurm",
    "--profile",
    "profiles/slurm-local",
    "--workflow-profile",
    "none",
)
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+)")
GPU_RULES = ("train", "train_generative")  # profiles/slurm(-local) give these a GPU


def snakemake(cwd: Path, env: dict, *args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def scheduled_jobs(output: str) -> Counter:
    """Job counts per rule from a dry run's 'Job stats' table."""
    table = output.split("Job stats:")[1].split("total")[0]
    return Counter(
        {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}
    )


def job_resources(output: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, resources) of every job a dry run prints."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        resources = re.search(r"^\s+resources: (.*)$", block, re.M)
        if rule and resources:
            pairs = (item.split("=", 1) for item in resources.group(1).split(", "))
            jobs.append((rule.group(1), dict(pairs)))
    return jobs


def profile(name: str) -> dict:
    return yaml.safe_load((REPO / "profiles" / name / "config.yaml").read_text())


@pytest.fixture(scope="module")
def paper_dry_run() -> str:
    """`snakemake -n -F --workflow-profile profiles/slurm` on the paper preset (no SLURM needed;
    -F lists every job whatever results exist)."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    args = ("-n", "-F", "--workflow-profile", "profiles/slurm", "--configfile", "config/paper.yaml")
    proc = snakemake(REPO, dict(os.environ), *args, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def test_slurm_profile_gives_every_training_job_a_gpu(paper_dry_run):
    """Every training job of the paper preset asks for one GPU, a long, attempt-scaled run time
    and the pre-timeout USR1; no other job asks for a GPU (the other device rules declare gpu=1
    for local runs, and the profile sets them to gpu=0: no --gpus); every job names partition and
    account."""
    jobs = job_resources(paper_dry_run)
    counts = scheduled_jobs(paper_dry_run)
    assert len(jobs) == sum(counts.values())
    training = [res for rule, res in jobs if rule in GPU_RULES]
    assert len(training) == sum(counts[rule] for rule in GPU_RULES) >= 30
    for res in training:
        assert res.get("gpu") == "1" or "gpu" in res.get("gres", ""), res
        assert int(res["runtime"]) >= 360 and int(res["mem_mb"]) >= 8000, res
        assert "--signal=USR1@" in res["slurm_extra"], res
    for rule, res in jobs:
        assert "slurm_partition" in res and "slurm_account" in res and "runtime" in res, rule
        if rule not in GPU_RULES:
            assert res.get("gpu", "0") == "0" and "gres" not in res, (rule, res)
    cluster = profile("slurm")
    assert cluster["executor"] == "slurm" and cluster["jobs"] >= 4 and cluster["cores"] >= 64
    assert cluster["retries"] >= 1 and cluster["rerun-incomplete"] is True
    for rule in GPU_RULES:
        assert "attempt" in str(cluster["set-resources"][rule]["runtime"]), rule


def shell_jobs(output: str) -> list[tuple[str, dict[str, str], str]]:
    """(rule, resources, shell command) of every job a ``-n -p`` dry run prints."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", output):
        rule = re.match(r"(?:local)?rule (\w+):", block)
        resources = re.search(r"^\s+resources: (.*)$", block, re.M)
        shell = re.search(r"^Shell command: (.*)$", block, re.M)
        if rule:
            pairs = (
                (item.split("=", 1) for item in resources.group(1).split(", ")) if resources else ()
            )
            jobs.append((rule.group(1), dict(pairs), shell.group(1) if shell else ""))
    return jobs


def test_every_gpu_job_is_told_its_device():
    """Every job the SLURM profile gives a GPU passes --device to its command (a GPU held by a job
    that trains on the CPU is wasted: train_generative did until issue 26), and every job that
    passes --device declares the gpu resource (which bounds them in a local run)."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    args = ("-n", "-p", "-F", "--workflow-profile", "profiles/slurm", "--profile", "profiles/paper")
    proc = snakemake(REPO, dict(os.environ), *args, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = shell_jobs(proc.stdout + proc.stderr)
    gpu_jobs = [(rule, cmd) for rule, res, cmd in jobs if res.get("gpu", "0") != "0"]
    assert {rule for rule, _ in gpu_jobs} == set(GPU_RULES)
    for rule, cmd in gpu_jobs:
        assert re.search(r" --device \S+", cmd), (rule, cmd[:300])
    device_rules = {rule for rule, _, cmd in jobs if " --device " in cmd}
    assert device_rules >= set(GPU_RULES) | {"ood_generalisation", "dynamics", "traversals"}
    for rule, res, cmd in jobs:
        if " --device " in cmd:
            assert "gpu" in res, (rule, res)


def test_local_profile_mirrors_the_cluster_profile():
    """profiles/slurm-local replaces the resource blocks whole: it must cover the same rules,
    with the same GPU request and signal, so that the cluster tests exercise the real settings;
    and it must not repeat keys it should inherit."""
    cluster, local = profile("slurm"), profile("slurm-local")
    assert set(local["set-resources"]) == set(cluster["set-resources"])
    for rule, res in cluster["set-resources"].items():
        mine = local["set-resources"][rule]
        assert mine.get("gpu") == res.get("gpu") and ("gres" in mine) == ("gres" in res), rule
        if rule in GPU_RULES:
            assert mine["slurm_extra"] == res["slurm_extra"], rule
            assert "attempt" in str(mine["runtime"]), rule
        else:  # the other device rules: only their GPU count is set (to none)
            assert res == mine == {"gpu": 0}, rule
    assert "slurm_account" not in local["default-resources"]
    assert local["slurm-status-command"] == "squeue"
    inherited = {"executor", "jobs", "cores", "retries", "rerun-incomplete", "keep-going"}
    assert not inherited & set(local)


@pytest.fixture(scope="session")
def slurm(request) -> LocalSlurm:
    """A running single-node cluster for the whole session; stopped (jobs cancelled, daemons
    ended, files removed) by a finalizer however the tests end."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    try:
        cluster = start_cluster()
    except ClusterUnavailable as err:
        if os.environ.get("DISENTANGLE_REQUIRE_CLUSTER"):  # set by .ci/run in CI
            pytest.fail(f"DISENTANGLE_REQUIRE_CLUSTER is set but the cluster did not start: {err}")
        pytest.skip(f"cannot start a local SLURM cluster: {err}")
    request.addfinalizer(cluster.stop)
    print(f"\nSLURM cluster up in {cluster.start_seconds:.1f} s ({cluster.base})")
    return cluster


def rule_of(job: dict[str, str]) -> str:
    """The rule a plugin-submitted job ran: its comment is rule_<name>[_wildcards_<values>]."""
    return job["Comment"].removeprefix("rule_").split("_wildcards_")[0]


def run_through_slurm(slurm: LocalSlurm, work: Path, *args: str) -> tuple[Counter, Counter]:
    """Run Snakemake with the SLURM profiles in ``work``; check that every job it submitted
    completed in SLURM (a failed and retried job would leave a FAILED one), that each rule ran
    all in SLURM or all locally, and that every training job held a GPU. Returns the job counts
    per rule of the dry run and of the submissions."""
    dry = snakemake(work, slurm.env, "-n", *PROFILES, *args, timeout=300)
    assert dry.returncode == 0, dry.stderr[-3000:]
    expected = scheduled_jobs(dry.stdout + dry.stderr)

    t0 = time.monotonic()
    run = snakemake(work, slurm.env, *PROFILES, *args, timeout=3600)
    wall = time.monotonic() - t0
    log = run.stdout + run.stderr
    assert run.returncode == 0, log[-4000:] + "\n" + slurm.logs_tail()

    ids = SUBMITTED.findall(log)
    known = {job["JobId"]: job for job in slurm.jobs()}
    ours = [known[i] for i in ids]
    assert {job["JobState"] for job in ours} == {"COMPLETED"}
    assert {job["Partition"] for job in ours} == {slurm.partition}
    submitted = Counter(rule_of(job) for job in ours)
    for rule, count in submitted.items():
        assert count == expected[rule], rule
    for job in ours:
        if rule_of(job) in GPU_RULES:
            assert "gpu:1" in job.get("TresPerJob", ""), job
    print(f"\n{len(ids)} of {sum(expected.values())} jobs through SLURM in {wall:.0f} s:", end=" ")
    print(dict(submitted))

    again = snakemake(work, slurm.env, "-n", *PROFILES, *args, timeout=300)
    assert "Nothing to be done" in again.stdout + again.stderr
    return expected, submitted


@pytest.mark.cluster
def test_one_panel_through_slurm(slurm, tmp_path_factory):
    """Fig. 3a of the smoke preset: ingredients, training (with a GPU), OOD metric with its
    baselines, and panel, each a SLURM job but the panel, which may be a local rule."""
    work = copy_repo(tmp_path_factory.mktemp("slurm-wf") / "repo")
    targets = ("figures/smoke/fig3a.pdf", "figures/smoke/fig3a.png")
    expected, submitted = run_through_slurm(
        slurm, work, *targets, "--configfile", "config/smoke.yaml"
    )
    assert expected == {
        "ingredients": 1,
        "train": 1,
        "ood_generalisation": 1,
        "panel": 1,
    }
    for rule in ("ingredients", "train", "ood_generalisation"):
        assert submitted[rule] == 1, rule
    for target in targets:
        assert (work / target).stat().st_size > 5000, target


@pytest.mark.cluster
@pytest.mark.slow  # ~140 jobs, one sbatch and two Snakemake start-ups each: 15-25 min on 2 cores
def test_smoke_preset_through_slurm(slurm, tmp_path_factory):
    """Every panel of the smoke preset, with all training and every other non-local rule
    submitted through profiles/slurm to SLURM."""
    work = copy_repo(tmp_path_factory.mktemp("slurm-wf") / "repo")
    expected, submitted = run_through_slurm(slurm, work, "--configfile", "config/smoke.yaml")
    assert expected["train"] >= 10 and submitted["train"] == expected["train"]
    assert submitted["train_generative"] == expected["train_generative"]
    local = expected["panel"] + expected["panel_claims"] + expected["claims_ledger"] + 1  # + all
    assert sum(submitted.values()) >= sum(expected.values()) - local

    panels = yaml.safe_load((work / "config/config.yaml").read_text())["panels"]
    assert len(panels) >= 19
    for panel in panels:
        for ext in ("pdf", "png"):
            fig = work / "figures" / f"{panel}.{ext}"
            assert fig.exists() and fig.stat().st_size > 5000, fig


def sbatch_train(spec: str, ingredients: Path, out: Path, ckpt: Path) -> str:
    """The training rule's command line, for ``sbatch --wrap``."""
    args = train_command("killme", spec, ingredients, out, ckpt)
    return "OMP_NUM_THREADS=1 exec " + shlex.join(args)


@pytest.mark.cluster
def test_scancel_mid_training_then_resume(slurm, tmp_path):
    """scancel a training job after its first checkpoint: it checkpoints on SIGTERM, the
    resubmitted job resumes from that step and ends with the weights of an uninterrupted run
    (submitted alongside)."""
    exp = tiny_experiment(
        "killme",
        training={"n_batches": 4000, "batch_size": 8, "checkpoint_every": 100, "log_every": 100},
    )
    spec = json.dumps(exp.to_dict())
    ing = tmp_path / "ing.pt"
    write_ingredients(exp, str(ing), 256, 64, 0)
    model, ckpt = tmp_path / "m.pt", tmp_path / "m.ckpt"
    ref = slurm.sbatch(
        sbatch_train(spec, ing, tmp_path / "ref.pt", tmp_path / "ref.ckpt"),
        tmp_path / "ref.log",
        cwd=REPO,
    )
    first = slurm.sbatch(sbatch_train(spec, ing, model, ckpt), tmp_path / "first.log", cwd=REPO)

    deadline = time.monotonic() + 180
    while not ckpt.exists() and time.monotonic() < deadline:
        assert slurm.state(first) in ("PENDING", "RUNNING"), slurm.job(first)
        time.sleep(0.05)
    assert ckpt.exists(), "no checkpoint before the deadline\n" + slurm.logs_tail()
    cancel = slurm.run("scancel", first)
    assert cancel.returncode == 0, cancel.stderr
    state = slurm.wait_for_state(first, {"CANCELLED", "COMPLETED", "FAILED"}, 60)
    assert state == "CANCELLED", (tmp_path / "first.log").read_text()[-2000:]
    assert not model.exists() and ckpt.exists()
    first_log = (tmp_path / "first.log").read_text()
    assert "resuming" not in first_log
    # scancel sends SIGTERM (SIGKILL KillWait = 5 s later): the trainer checkpoints where it is
    saved = re.search(r"checkpoint saved at step (\d+)", first_log)
    assert saved, first_log[-2000:]

    second = slurm.sbatch(sbatch_train(spec, ing, model, ckpt), tmp_path / "second.log", cwd=REPO)
    for job in (second, ref):
        state = slurm.wait_for_state(job, {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"}, 600)
        assert state == "COMPLETED", (job, slurm.job(job), slurm.logs_tail())

    log = (tmp_path / "second.log").read_text()
    found = re.search(r"resuming killme from checkpoint at step (\d+)/4000", log)
    assert found, log[-2000:]
    step = int(found.group(1))
    assert 0 < step < 4000 and step == int(saved.group(1))
    print(f"\nscancelled job resumed at step {step}/4000")
    assert "resuming" not in (tmp_path / "ref.log").read_text()
    assert not ckpt.exists()  # the finished job removes its checkpoint

    a, b = assert_same_weights(model, tmp_path / "ref.pt")
    assert a["history"] == b["history"]
