"""Integrity of what the workflow writes and loads: SHA-256 sidecars checked on every load,
``weights_only`` torch files that cannot run code, and training that stops on a NaN loss."""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import REPO, tiny_experiment, train_command
from disentangle.data.ingredients import load_ingredients, write_ingredients
from disentangle.generative.sources import ArraySource
from disentangle.generative.train import load_generative, train_generative
from disentangle.integrity import IntegrityError, sha256_file, sidecar_path, verify
from disentangle.io import atomic_parquet, atomic_torch_save, load_torch, read_parquet, unlink
from disentangle.training import NonFiniteLoss, load_trained, train_ensemble

REBUILD = "delete it and rerun snakemake to rebuild it"
MISMATCH = "SHA-256 mismatch (file changed, truncated or corrupted since it was written)"


def quiet(_msg: str) -> None:
    pass


def flip_byte(path: Path) -> None:
    """Invert one byte in the middle of the file (inside tensor data for a torch file, where the
    zip format itself would not notice)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DAMAGE = {"flip": flip_byte, "truncate": truncate}


@pytest.fixture(scope="module")
def artefacts(tmp_path_factory):
    """One of each loaded file kind, written by the real writers: ingredients, a model, a
    generative model and a parquet table (each with its loader)."""
    root = tmp_path_factory.mktemp("artefacts")
    exp = tiny_experiment(
        training={"n_batches": 20, "batch_size": 8, "checkpoint_every": 40, "log_every": 10}
    )
    write_ingredients(exp, str(root / "ingredients.pt"), 128, 64, 0)
    train_ensemble(
        exp,
        str(root / "ingredients.pt"),
        str(root / "model.pt"),
        str(root / "model.ckpt"),
        device="cpu",
        log=quiet,
    )
    source = ArraySource(np.random.default_rng(0).normal(size=(64, 6)).astype(np.float32))
    spec = {"method": "vae", "n_latent": 2, "seed": 0}
    train_generative(spec, source, str(root / "gen.pt"), str(root / "gen.ckpt"), 5, 8, log=quiet)
    atomic_parquet(pd.DataFrame({"a": np.arange(200), "b": np.linspace(0, 1, 200)}), root / "t.pq")
    return root


LOADERS = {
    "ingredients.pt": load_ingredients,
    "model.pt": load_trained,
    "gen.pt": load_generative,
    "t.pq": read_parquet,
}


def test_sidecar_is_sha256sum_format(artefacts):
    for name in LOADERS:
        line = sidecar_path(artefacts / name).read_text()
        assert line == f"{sha256_file(artefacts / name)}  {name}\n"
        assert verify(artefacts / name) == line[:64]
    check = subprocess.run(
        ["sha256sum", "-c", *(f"{name}.sha256" for name in LOADERS)],
        cwd=artefacts,
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert not list(artefacts.glob(".*.tmp"))  # no temporary file left behind


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("name", sorted(LOADERS))
def test_damaged_file_is_refused_on_load(artefacts, tmp_path, name, damage):
    """A flipped byte or a truncated file is detected before any of it is used."""
    path = tmp_path / name
    path.write_bytes((artefacts / name).read_bytes())
    sidecar_path(path).write_bytes(sidecar_path(artefacts / name).read_bytes())
    LOADERS[name](str(path))  # intact: loads
    DAMAGE[damage](path)
    with pytest.raises(IntegrityError) as err:
        LOADERS[name](str(path))
    assert str(err.value) == f"{path}: {MISMATCH}; {REBUILD}"


@pytest.mark.parametrize("name", sorted(LOADERS))
def test_file_without_sidecar_is_refused(artefacts, tmp_path, name):
    """A file from an older version (no sidecar) is not trusted: rebuild it."""
    path = tmp_path / name
    path.write_bytes((artefacts / name).read_bytes())
    with pytest.raises(IntegrityError, match="no SHA-256 sidecar") as err:
        LOADERS[name](str(path))
    assert str(err.value).startswith(f"{path}: ") and str(err.value).endswith(REBUILD)


def test_loaded_files_record_their_digest(artefacts):
    digest = sha256_file(artefacts / "ingredients.pt")
    assert load_ingredients(str(artefacts / "ingredients.pt"))["sha256"] == digest
    *_, obj = load_trained(str(artefacts / "model.pt"))
    assert obj["sha256"] == sha256_file(artefacts / "model.pt")
    # the model names the exact ingredients it was trained on, in the file and in its provenance
    want = {"path": str(artefacts / "ingredients.pt"), "sha256": digest}
    assert obj["info"]["inputs"] == {"ingredients": want}
    assert isinstance(obj["info"]["torch"], str)
    prov = json.loads((artefacts / "model.pt.provenance.json").read_text())
    assert prov["inputs"] == {"ingredients": want}
    assert obj["info"]["guard"].endswith(digest[:16])


class RunsCode:
    """Unpickling this calls ``Path.touch`` on its marker: what a malicious file would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("with_sidecar", [True, False])
def test_pickled_code_is_refused_by_every_loader(tmp_path, with_sidecar):
    """A .pt file whose unpickling would run code is refused and the code does not run, even
    with a matching sidecar (whoever can write the file can write its sidecar)."""
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.pt"
    for fmt, load in [
        ("disentangle.ingredients/1", load_ingredients),
        ("disentangle.model/1", load_trained),
        ("disentangle.generative/1", load_generative),
        ("disentangle.checkpoint/1", load_torch),
    ]:
        payload = {"format": fmt, "model": RunsCode(marker)}
        if with_sidecar:
            atomic_torch_save(payload, evil)
        else:
            unlink(evil)
            torch.save(payload, evil)
        want = "weights_only=True" if with_sidecar else "no SHA-256 sidecar"
        with pytest.raises(IntegrityError, match=want):
            load(str(evil))
        assert not marker.exists()
    # as a checkpoint: ignored, training starts afresh, the code never runs
    exp = tiny_experiment(
        training={"n_batches": 10, "batch_size": 8, "checkpoint_every": 40, "log_every": 10}
    )
    write_ingredients(exp, str(tmp_path / "i.pt"), 64, 32, 0)
    messages: list[str] = []
    r = train_ensemble(
        exp, str(tmp_path / "i.pt"), str(tmp_path / "m.pt"), str(evil), "cpu", log=messages.append
    )
    assert r["info"]["resumed_from"] == 0 and not marker.exists()
    assert any(m.startswith(f"checkpoint {evil} is unreadable") for m in messages)


@pytest.mark.parametrize("damage", ["flip", "truncate", "no sidecar"])
def test_damaged_checkpoint_restarts_from_scratch(tiny, tmp_path, damage):
    """A damaged checkpoint is never resumed from: one log line, a fresh start, and the weights
    of a run that never had a checkpoint."""
    exp, ing = tiny
    ref = train_ensemble(
        exp, str(ing), str(tmp_path / "ref.pt"), str(tmp_path / "ref.ckpt"), "cpu", log=quiet
    )
    ckpt = tmp_path / "run.ckpt"
    train_ensemble(
        exp, str(ing), str(tmp_path / "m.pt"), str(ckpt), "cpu", log=quiet, stop_after=80
    )
    assert load_torch(ckpt)["step"] == 80
    if damage == "no sidecar":
        sidecar_path(ckpt).unlink()
    else:
        DAMAGE[damage](ckpt)
    messages: list[str] = []
    r = train_ensemble(exp, str(ing), str(tmp_path / "m.pt"), str(ckpt), "cpu", log=messages.append)
    about = [m for m in messages if str(ckpt) in m]
    reason = "no SHA-256 sidecar" if damage == "no sidecar" else MISMATCH
    assert len(about) == 1 and about[0].startswith(f"checkpoint {ckpt} is unreadable ({reason}")
    assert about[0].endswith("starting afresh from step 0")
    assert not any("resuming" in m for m in messages) and r["info"]["resumed_from"] == 0
    for key in ref["model"]:
        assert torch.equal(ref["model"][key], r["model"][key]), key
    assert ref["history"] == r["history"]
    assert not ckpt.exists() and not sidecar_path(ckpt).exists()  # cleaned up with its sidecar


def test_damaged_generative_checkpoint_restarts_from_scratch(tmp_path):
    source = ArraySource(np.random.default_rng(1).normal(size=(64, 6)).astype(np.float32))
    spec = {"method": "beta_vae", "beta": 2, "n_latent": 2, "seed": 0}
    kw = {"batch_size": 8, "checkpoint_every": 5}
    ref = train_generative(spec, source, str(tmp_path / "r.pt"), str(tmp_path / "r.c"), 12, **kw)
    ckpt = tmp_path / "g.ckpt"
    train_generative(spec, source, str(tmp_path / "g.pt"), str(ckpt), 12, stop_after=6, **kw)
    flip_byte(ckpt)
    messages: list[str] = []
    r = train_generative(
        spec, source, str(tmp_path / "g.pt"), str(ckpt), 12, log=messages.append, **kw
    )
    assert any(m.startswith(f"checkpoint {ckpt} is unreadable ({MISMATCH}") for m in messages)
    assert r["info"]["resumed_from"] == 0
    assert all(torch.equal(ref["model"][k], r["model"][k]) for k in ref["model"])


def test_nan_loss_stops_training_without_a_model(tmp_path):
    exp = tiny_experiment("diverges", task={"noise_sd": math.nan})
    write_ingredients(exp, str(tmp_path / "i.pt"), 64, 32, 0)
    out = tmp_path / "m.pt"
    with pytest.raises(NonFiniteLoss) as err:
        train_ensemble(exp, str(tmp_path / "i.pt"), str(out), str(tmp_path / "c"), "cpu", log=quiet)
    assert err.value.code == (
        "diverges: non-finite loss (NaN or inf) by step 20 (in steps 1-20) for member(s) "
        "(n_tasks=2, seed=0), (n_tasks=2, seed=1), (n_tasks=6, seed=0), (n_tasks=6, seed=1); "
        "stopping without writing the model file"
    )
    assert not out.exists() and not sidecar_path(out).exists()
    assert not (tmp_path / "c").exists()  # no checkpoint of a diverged run either


def test_nan_loss_exits_nonzero_with_one_line(tmp_path):
    """Through the command line: exit status 1, the message as the last line, no model file."""
    exp = tiny_experiment("diverges", task={"noise_sd": math.nan})
    ing, out = tmp_path / "i.pt", tmp_path / "m.pt"
    write_ingredients(exp, str(ing), 64, 32, 0)
    command = train_command("diverges", json.dumps(exp.to_dict()), ing, out, tmp_path / "c")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("diverges: non-finite loss (NaN or inf) by step 20")
    assert "Traceback" not in run.stderr and not out.exists()


def test_generative_nan_stops_at_that_step(tmp_path):
    x = np.full((64, 6), 1e30, dtype=np.float32)  # finite, but its squared error overflows
    out = tmp_path / "g.pt"
    with pytest.raises(NonFiniteLoss, match=r"^vae \(seed 0\): non-finite loss, .* at step 1;"):
        train_generative(
            {"method": "vae", "n_latent": 2, "seed": 0},
            ArraySource(x),
            str(out),
            str(tmp_path / "g.ckpt"),
            10,
            8,
            log=quiet,
        )
    assert not out.exists()


def test_failed_write_leaves_nothing(tmp_path):
    """A writer that fails leaves neither the file nor a sidecar (nor temporary files)."""

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot save")

    with pytest.raises(RuntimeError, match="cannot save"):
        atomic_torch_save({"x": Unpicklable()}, tmp_path / "f.pt")
    assert list(tmp_path.iterdir()) == []


def test_command_line_reports_a_damaged_input_in_one_line(tmp_path):
    """A job whose input table was altered after it was written stops with one line naming the
    file and what to do, not a traceback, and writes nothing."""
    import subprocess
    import sys

    import pandas as pd

    from disentangle.io import atomic_parquet

    table = tmp_path / "theory.parquet"
    atomic_parquet(pd.DataFrame({"metric": ["kappa"], "value": [0.5876]}), table)
    data = bytearray(table.read_bytes())
    data[len(data) // 2] ^= 0xFF
    table.write_bytes(bytes(data))
    out = tmp_path / "claims.csv"
    claims = (
        '[{"id": "x", "statement": "s", "test": "threshold", "table": "theory", "threshold": 0}]'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "disentangle", "claims", "--panel", "p", "--section", "theory",
         "--claims", claims, "--tables", f'{{"theory": ["{table}"]}}', "--out", str(out),
         "--html", str(tmp_path / "claims.html")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert f"{table}: SHA-256 mismatch" in proc.stderr and "rerun snakemake" in proc.stderr
    assert not out.exists()
