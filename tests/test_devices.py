"""Devices: resolving and checking the configured one, the deterministic settings, Adam's kernel,
and the trainers and a job on every device this machine has (``cuda`` runs where a GPU is
visible and is skipped elsewhere, so a GPU machine's ``pytest`` exercises CUDA;
benchmarks/gpu_check.sh runs these and more on one).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import tiny_experiment
from disentangle.cli import main
from disentangle.data.ingredients import write_ingredients
from disentangle.generative.sources import ArraySource
from disentangle.generative.train import train_generative
from disentangle.models import gpt2
from disentangle.provenance import configure_determinism, device_columns
from disentangle.tasks.evidence import running_sum
from disentangle.training import (
    DeviceUnavailable,
    adam_implementation,
    make_adam,
    resolve_device,
    train_ensemble,
)

CUDA = torch.cuda.is_available()
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not CUDA, reason="no CUDA device visible")),
]


def quiet(_msg: str) -> None:
    pass


@pytest.fixture
def restore_determinism():
    """configure_determinism changes process-wide settings on CUDA: put them back after."""
    saved = (torch.are_deterministic_algorithms_enabled(), torch.backends.cudnn.benchmark)
    yield
    torch.use_deterministic_algorithms(saved[0])
    torch.backends.cudnn.benchmark = saved[1]


# --------------------------------------------------------------------------------------------
# resolve_device
# --------------------------------------------------------------------------------------------


def fake_gpus(monkeypatch, count: int, build: str | None = "12.4") -> None:
    monkeypatch.setattr(torch.version, "cuda", build)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: count)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)


def test_cpu_is_the_cpu():
    assert resolve_device("cpu") == torch.device("cpu")


def test_auto_says_why_it_runs_on_the_cpu(monkeypatch):
    messages: list[str] = []
    fake_gpus(monkeypatch, 0, build=None)
    assert resolve_device("auto", messages.append) == torch.device("cpu")
    assert len(messages) == 1 and "no CUDA support" in messages[0]
    messages.clear()
    fake_gpus(monkeypatch, 0, build="12.4")
    assert resolve_device("auto", messages.append) == torch.device("cpu")
    assert len(messages) == 1 and "sees no GPU" in messages[0]


def test_auto_takes_the_gpu_when_one_is_visible(monkeypatch):
    fake_gpus(monkeypatch, 2)
    assert resolve_device("auto", quiet) == torch.device("cuda", 0)


@pytest.mark.parametrize("build", [None, "12.4"])
def test_cuda_without_a_gpu_fails_loudly(monkeypatch, build):
    fake_gpus(monkeypatch, 0, build=build)
    with pytest.raises(DeviceUnavailable) as err:
        resolve_device("cuda")
    assert "\n" not in err.value.message and "'cuda' requested" in err.value.message


def test_cuda_index_is_checked_against_the_visible_gpus(monkeypatch):
    fake_gpus(monkeypatch, 2)
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("cuda") == torch.device("cuda", 0)
    with pytest.raises(DeviceUnavailable, match=r"only 2 GPU\(s\) are visible"):
        resolve_device("cuda:2")


def test_a_job_stops_with_one_line_when_its_device_is_missing(tiny, monkeypatch, capsys):
    """The exit status is 1 and the message one line, before any work."""
    fake_gpus(monkeypatch, 0, build=None)
    exp, ing = tiny
    with pytest.raises(SystemExit) as err:
        main(["baselines", "--experiment", exp.name, "--spec", json.dumps(exp.to_dict()),
              "--ingredients", str(ing), "--settings", "{}", "--out", "x.parquet",
              "--device", "cuda:0"])  # fmt: skip
    assert isinstance(err.value, DeviceUnavailable) and "no CUDA support" in str(err.value.code)


# --------------------------------------------------------------------------------------------
# Adam's kernel, the free-RT running sum, GPT-2's step key
# --------------------------------------------------------------------------------------------


def test_adam_kernel_is_chosen_from_the_device_up_front():
    """The old fallback (catch an error when constructing a fused Adam) never fell back: torch
    checks a fused optimiser's devices at its first step. Here the choice comes first, and a
    device without a fused kernel (meta) gets a working optimiser."""
    cpu = torch.nn.Parameter(torch.ones(3))
    assert adam_implementation([cpu]) == "fused"
    assert make_adam([cpu], 1e-3).defaults["fused"] is True
    meta = torch.nn.Parameter(torch.ones(3, device="meta"))
    assert adam_implementation([meta]) == "for-loop"
    opt = make_adam([meta], 1e-3)
    meta.grad = torch.ones(3, device="meta")
    opt.step()  # fused=True here would raise at this step
    assert adam_implementation([cpu, meta]) == "for-loop"  # several devices: the safe loop
    if CUDA:
        assert adam_implementation([torch.ones(1, device="cuda")]) == "fused"


@pytest.mark.parametrize("shape, dim", [((3, 50, 20, 6), 2), ((7, 22), 1), ((5, 4), 0)])
def test_running_sum_is_the_cpu_cumsum_bit_for_bit(shape, dim):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0)) * 0.3
    assert torch.equal(running_sum(x, dim), torch.cumsum(x, dim))
    assert torch.equal(running_sum(x.double(), dim), torch.cumsum(x.double(), dim))


def test_gpt2_step_key_hashed_on_the_host_matches_the_device_hash():
    for step in (0, 1, 7, 2**31 - 1, 2**31, 2**32 - 1, 10**9):
        on_device = gpt2._mix32_(gpt2._as_int32(torch.tensor(step & gpt2._M32)))
        assert gpt2._signed32(gpt2.mix32(step)) == int(on_device), step


# --------------------------------------------------------------------------------------------
# Deterministic settings and what the tables record
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_determinism_settings(device, restore_determinism):
    settings = configure_determinism(device)
    columns = device_columns(device)
    assert json.loads(columns["determinism"]) == settings
    assert columns["device"] == str(torch.device(device)) and columns["device_name"]
    if device == "cuda":
        assert settings["deterministic_algorithms"] and not settings["deterministic_warn_only"]
        assert settings["cublas_workspace_config"] in (":4096:8", ":16:8")
        assert not settings["tf32_matmul"] and not settings["tf32_cudnn"]
        assert not settings["cudnn_benchmark"] and settings["cudnn_deterministic"]
        assert columns["device_name"] == torch.cuda.get_device_name(0)
    else:  # the CPU is left as it is (its results stay what they were)
        assert settings["deterministic_algorithms"] is torch.are_deterministic_algorithms_enabled()


# --------------------------------------------------------------------------------------------
# The trainers and one job, on each device
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_ensemble_trainer_on(device, tiny, tmp_path, restore_determinism):
    """Two runs give the same weights bit for bit; a stopped and resumed run the uninterrupted
    one's; the model file records the device, its name and the Adam kernel."""
    exp, ing = tiny
    args = (exp, str(ing))
    a = train_ensemble(*args, str(tmp_path / "a.pt"), str(tmp_path / "ca.pt"), device, log=quiet)
    b = train_ensemble(*args, str(tmp_path / "b.pt"), str(tmp_path / "cb.pt"), device, log=quiet)
    ckpt = str(tmp_path / "cc.pt")
    assert (
        train_ensemble(*args, str(tmp_path / "c.pt"), ckpt, device, log=quiet, stop_after=40)
        is None
    )
    c = train_ensemble(*args, str(tmp_path / "c.pt"), ckpt, device, log=quiet)
    assert c["info"]["resumed_from"] == 40
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
        assert torch.equal(a["model"][key], c["model"][key]), key
    info = a["info"]
    assert torch.device(info["device"]).type == device and info["device_name"]
    assert info["adam"] == "fused"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("method", ["beta_vae", "factor_vae", "infogan"])
def test_generative_trainer_on(device, method, tmp_path, restore_determinism):
    data = np.random.default_rng(0).random((64, 8)).astype(np.float32)
    spec = {"method": method, "seed": 0}
    if method == "factor_vae":
        spec["discriminator_hidden"] = [16, 16]
    kw = {"batch_size": 8, "device": device, "log": quiet, "checkpoint_every": 5}
    runs = []
    for name in ("a", "b"):
        out = tmp_path / f"{name}.pt"
        runs.append(train_generative(spec, ArraySource(data), str(out), str(out) + ".c", 10, **kw))
    out = tmp_path / "c.pt"
    train_generative(spec, ArraySource(data), str(out), str(out) + ".c", 10, stop_after=5, **kw)
    runs.append(train_generative(spec, ArraySource(data), str(out), str(out) + ".c", 10, **kw))
    assert runs[2]["info"]["resumed_from"] == 5
    for key in runs[0]["model"]:
        assert torch.equal(runs[0]["model"][key], runs[1]["model"][key]), key
        assert torch.equal(runs[0]["model"][key], runs[2]["model"][key]), key
    assert torch.device(runs[0]["info"]["device"]).type == device


@pytest.mark.parametrize("device", DEVICES)
def test_ood_job_on(device, tmp_path, restore_determinism):
    """The OOD job on ``device`` writes the CPU's table up to float rounding (the same
    networks, read out on another device), with the device recorded."""
    training = {"n_batches": 40, "batch_size": 8, "checkpoint_every": 100, "log_every": 20}
    exp = tiny_experiment(seeds=[0], training=training)
    ing, model = tmp_path / "ing.pt", tmp_path / "model.pt"
    write_ingredients(exp, str(ing), 256, 128, 0)
    train_ensemble(exp, str(ing), str(model), str(tmp_path / "c.pt"), device="cpu", log=quiet)
    settings = {"decoder": "ridge", "n_fits": 1, "ridge": {"penalty": 1e-6}}
    tables = {}
    for dev in dict.fromkeys(["cpu", device]):
        out = tmp_path / f"ood-{dev}.parquet"
        main(["ood", "--model", str(model), "--ingredients", str(ing), "--settings",
              json.dumps(settings), "--out", str(out), "--device", dev])  # fmt: skip
        tables[dev] = pd.read_parquet(out)
    df = tables[device]
    assert {torch.device(d).type for d in df["device"]} == {device}
    keys = ["n_tasks", "seed", "fold", "fit", "metric"]
    cpu = tables["cpu"].sort_values(keys, ignore_index=True)
    np.testing.assert_allclose(
        df.sort_values(keys, ignore_index=True)["value"], cpu["value"], atol=1e-4
    )
    assert list(df.columns[:-3]) == list(cpu.columns[:-3])


def test_train_job_history_records_the_device(tiny, tmp_path):
    """The training curve's table ends with where the ensemble trained, as every model job's."""
    exp, ing = tiny
    history = tmp_path / "history.parquet"
    main(["train", "--experiment", exp.name, "--spec", json.dumps(exp.to_dict()),
          "--ingredients", str(ing), "--out", str(tmp_path / "m.pt"),
          "--checkpoint", str(tmp_path / "c.pt"), "--history", str(history),
          "--device", "cpu", "--threads", "1"])  # fmt: skip
    df = pd.read_parquet(history)
    assert list(df.columns[-3:]) == ["device", "device_name", "determinism"]
    assert set(df["device"]) == {"cpu"} and {"step", "metric", "value"} <= set(df.columns)
