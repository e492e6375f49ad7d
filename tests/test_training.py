"""Ensemble training: members train as if alone, killed jobs resume to the same numbers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import torch

from conftest import REPO, assert_same_weights, tiny_experiment, train_command
from disentangle.data.ingredients import write_ingredients
from disentangle.integrity import sidecar_path
from disentangle.training import train_ensemble


def quiet(_msg: str) -> None:
    pass


def member_params(result: dict, index: int) -> dict[str, torch.Tensor]:
    """Member ``index``'s trained weights, read-out cut to its own task count."""
    n_tasks = result["members"][index][0]
    out = {k: v[index] for k, v in result["model"].items()}
    out["readout_w"] = result["readout"]["weight"][index, :, :n_tasks]
    out["readout_b"] = result["readout"]["bias"][index, :n_tasks]
    return out


def test_member_trains_as_if_alone(tmp_path):
    """A network trained inside an ensemble ends with the weights it gets when trained alone."""
    ens = tiny_experiment("ens", n_tasks=[2, 6], seeds=[0, 1])
    alone = tiny_experiment("alone", n_tasks=[6], seeds=[1])
    for exp in (ens, alone):
        write_ingredients(exp, str(tmp_path / f"{exp.name}.pt"), 256, 64, 0)
    r_ens = train_ensemble(
        ens,
        str(tmp_path / "ens.pt"),
        str(tmp_path / "m_ens.pt"),
        str(tmp_path / "c_ens.pt"),
        device="cpu",
        log=quiet,
    )
    r_alone = train_ensemble(
        alone,
        str(tmp_path / "alone.pt"),
        str(tmp_path / "m_alone.pt"),
        str(tmp_path / "c_alone.pt"),
        device="cpu",
        log=quiet,
    )
    index = r_ens["members"].index((6, 1))
    a, b = member_params(r_ens, index), member_params(r_alone, 0)
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6, rtol=1e-5), key
    # the trained weights moved away from the initialisation, so the comparison is not vacuous
    hist_ens = [h for h in r_ens["history"] if (h["n_tasks"], h["seed"]) == (6, 1)]
    assert [h["step"] for h in hist_ens] == [h["step"] for h in r_alone["history"]]
    for h1, h2 in zip(hist_ens, r_alone["history"], strict=True):
        assert abs(h1["loss"] - h2["loss"]) < 1e-6
        assert abs(h1["accuracy"] - h2["accuracy"]) < 1e-6


def test_training_learns_the_task(tmp_path):
    exp = tiny_experiment(
        "learn",
        hidden_size=64,
        n_tasks=[2],
        seeds=[0],
        training={"n_batches": 800, "batch_size": 16, "log_every": 100, "checkpoint_every": 1000},
    )
    write_ingredients(exp, str(tmp_path / "i.pt"), 256, 64, 0)
    r = train_ensemble(
        exp,
        str(tmp_path / "i.pt"),
        str(tmp_path / "m.pt"),
        str(tmp_path / "c.pt"),
        device="cpu",
        log=quiet,
    )
    first, last = r["history"][0], r["history"][-1]
    assert first["accuracy"] < 0.8 and last["accuracy"] > 0.88  # chance is 0.5, Bayes ≈ 0.95
    assert last["loss"] < first["loss"]
    # BCE with target 0.5 on 21 of 22 steps cannot go below ln 2 · 21/22
    assert last["loss"] > 0.6931 * 21 / 22


def test_resume_after_interruption_gives_uninterrupted_result(tiny, tmp_path):
    exp, ing = tiny
    full = train_ensemble(
        exp, str(ing), str(tmp_path / "full.pt"), str(tmp_path / "c1.pt"), device="cpu", log=quiet
    )
    assert not (tmp_path / "c1.pt").exists()  # the final artefact supersedes the checkpoint
    messages: list[str] = []
    stopped = train_ensemble(
        exp,
        str(ing),
        str(tmp_path / "part.pt"),
        str(tmp_path / "c2.pt"),
        device="cpu",
        log=messages.append,
        stop_after=50,
    )
    assert stopped is None and not (tmp_path / "part.pt").exists()
    resumed = train_ensemble(
        exp,
        str(ing),
        str(tmp_path / "part.pt"),
        str(tmp_path / "c2.pt"),
        device="cpu",
        log=messages.append,
    )
    assert any("resuming tiny from checkpoint at step 50" in m for m in messages)
    for key in full["model"]:
        assert torch.equal(full["model"][key], resumed["model"][key]), key
    assert full["history"] == resumed["history"]


def test_foreign_or_truncated_checkpoint_restarts_clean(tiny, tmp_path):
    exp, ing = tiny
    full = train_ensemble(
        exp, str(ing), str(tmp_path / "full.pt"), str(tmp_path / "c1.pt"), device="cpu", log=quiet
    )
    ckpt = tmp_path / "c2.pt"
    ckpt.write_bytes(b"PK\x03\x04 truncated garbage")
    messages: list[str] = []
    r = train_ensemble(
        exp, str(ing), str(tmp_path / "b.pt"), str(ckpt), device="cpu", log=messages.append
    )
    assert any("unreadable" in m for m in messages)
    assert torch.equal(r["model"]["w_rec"], full["model"]["w_rec"])
    # a checkpoint from other settings (different learning rate) is not resumed
    other = tiny_experiment(
        training={
            "n_batches": 120,
            "batch_size": 8,
            "checkpoint_every": 40,
            "log_every": 20,
            "lr": 0.01,
        }
    )
    train_ensemble(
        other, str(ing), str(tmp_path / "o.pt"), str(ckpt), device="cpu", log=quiet, stop_after=40
    )
    messages.clear()
    r = train_ensemble(
        exp, str(ing), str(tmp_path / "b2.pt"), str(ckpt), device="cpu", log=messages.append
    )
    assert any("belongs to other settings" in m for m in messages)
    assert torch.equal(r["model"]["w_rec"], full["model"]["w_rec"])


def test_killed_process_resumes(tmp_path):
    """SIGKILL a real training process after its first checkpoint; the rerun resumes from it and
    ends with the same weights as an uninterrupted run."""
    exp = tiny_experiment(
        "killme",
        training={"n_batches": 1000, "batch_size": 8, "checkpoint_every": 100, "log_every": 100},
    )
    spec = json.dumps(exp.to_dict())
    ing = tmp_path / "ing.pt"
    write_ingredients(exp, str(ing), 256, 64, 0)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def command(out, ckpt):
        return train_command("killme", spec, ing, out, ckpt)

    ckpt = tmp_path / "ckpt.pt"
    proc = subprocess.Popen(
        command(tmp_path / "m.pt", ckpt), env=env, cwd=REPO, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 120
    # the SHA-256 sidecar is renamed into place right after the checkpoint: wait for it, so that
    # the kill cannot fall between the two renames (a checkpoint without it is not resumed)
    while not sidecar_path(ckpt).exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert ckpt.exists(), "no checkpoint appeared before the process ended"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "m.pt").exists()
    rerun = subprocess.run(
        command(tmp_path / "m.pt", ckpt),
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "resuming killme from checkpoint at step" in rerun.stderr
    step = int(rerun.stderr.split("checkpoint at step ")[1].split("/")[0])
    assert 0 < step < 1000
    subprocess.run(
        command(tmp_path / "ref.pt", tmp_path / "ref.ckpt"),
        env=env,
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    a, b = assert_same_weights(tmp_path / "m.pt", tmp_path / "ref.pt")
    assert a["history"] == b["history"]


def test_sigterm_checkpoints_exits_75_and_resumes(tmp_path):
    """SIGTERM (scancel, or SLURM's time limit; SIGUSR1 alike) makes the trainer save a
    checkpoint at the next step and exit with 75 (retry); the rerun resumes and ends with the
    uninterrupted run's weights."""
    exp = tiny_experiment(
        "preempt",
        training={"n_batches": 1500, "batch_size": 8, "checkpoint_every": 100000, "log_every": 100},
    )
    spec = json.dumps(exp.to_dict())
    ing = tmp_path / "ing.pt"
    write_ingredients(exp, str(ing), 256, 64, 0)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def command(out, ckpt):
        return train_command("preempt", spec, ing, out, ckpt)

    ckpt, log = tmp_path / "ckpt.pt", tmp_path / "log.txt"
    with open(log, "w") as stderr:
        proc = subprocess.Popen(
            command(tmp_path / "m.pt", ckpt), env=env, cwd=REPO, stderr=stderr, text=True
        )
        deadline = time.time() + 120
        while "step 100/" not in log.read_text() and time.time() < deadline:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=60) == 75
    assert ckpt.exists() and not (tmp_path / "m.pt").exists()
    assert "signal 15 received: checkpoint saved at step" in log.read_text()
    rerun = subprocess.run(
        command(tmp_path / "m.pt", ckpt),
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "resuming preempt from checkpoint at step" in rerun.stderr
    subprocess.run(
        command(tmp_path / "ref.pt", tmp_path / "ref.ckpt"),
        env=env,
        cwd=REPO,
        capture_output=True,
        check=True,
    )
    assert_same_weights(tmp_path / "m.pt", tmp_path / "ref.pt")
