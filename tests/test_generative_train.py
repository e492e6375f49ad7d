"""The generative training loop: checkpoint/resume, short real runs, loading and ``represent``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from disentangle.data.dsprites import render, sample_factors
from disentangle.generative.sources import ArraySource, DSpritesSource
from disentangle.generative.synthetic import make_ivae_dataset
from disentangle.generative.train import (
    MODEL_FORMAT,
    data_rng,
    factor_representation,
    load_generative,
    represent,
    train_generative,
)
from disentangle.io import atomic_torch_save

QUIET = {"log": lambda msg: None}
SMALL_DISC = {"discriminator_hidden": [32, 32]}


@pytest.fixture(scope="module")
def vectors():
    d = make_ivae_dataset(0, n_segments=10, points_per_segment=100)
    return d, ArraySource(d.x, d.u)


@pytest.fixture(scope="module")
def frames():
    return ArraySource(render(sample_factors(32, np.random.default_rng(0)))[:, None])


def same_state(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def run(tmp_path, spec, source, n_steps, name="m", **kw):
    out, ckpt = tmp_path / f"{name}.pt", tmp_path / f"{name}.ckpt"
    kw = {"batch_size": 16, "log_every": 10, "checkpoint_every": 10, **QUIET, **kw}
    return train_generative(spec, source, str(out), str(ckpt), n_steps, **kw), out, ckpt


@pytest.mark.parametrize(
    "spec, data",
    [
        ({"method": "factor_vae", "n_latent": 4, "seed": 1, **SMALL_DISC}, "vectors"),
        ({"method": "ivae", "n_latent": 5, "seed": 2}, "vectors"),
        ({"method": "infogan", "categories": [3], "seed": 3}, "vectors"),
        ({"method": "beta_tcvae", "beta": 6, "seed": 4}, "frames"),
    ],
)
def test_resume_gives_the_uninterrupted_weights(tmp_path, request, spec, data):
    source = request.getfixturevalue(data)
    source = source[1] if isinstance(source, tuple) else source
    n = 40 if data == "vectors" else 14
    full, _, _ = run(tmp_path, spec, source, n, "full", batch_size=8)
    stopped, out, ckpt = run(tmp_path, spec, source, n, "part", batch_size=8, stop_after=7)
    assert stopped is None and ckpt.exists() and not out.exists()
    messages = []
    resumed, _, _ = run(tmp_path, spec, source, n, "part", batch_size=8, log=messages.append)
    assert any("resuming" in m and "step 7/" in m for m in messages)
    assert resumed["info"]["resumed_from"] == 7 and not ckpt.exists()
    assert same_state(full["model"], resumed["model"])
    assert full["history"] == resumed["history"]
    changed = run(tmp_path, {**spec, "seed": spec["seed"] + 10}, source, n, "other", batch_size=8)
    assert not same_state(full["model"], changed[0]["model"])


def test_truncated_or_foreign_checkpoint_restarts_clean(tmp_path, vectors):
    _, source = vectors
    spec = {"method": "beta_vae", "beta": 2, "n_latent": 3, "seed": 0}
    full, _, _ = run(tmp_path, spec, source, 30, "full")
    run(tmp_path, spec, source, 30, "bad", stop_after=20)
    ckpt = tmp_path / "bad.ckpt"
    ckpt.write_bytes(ckpt.read_bytes()[:100])  # a job killed while writing, by a non-atomic writer
    messages = []
    again, _, _ = run(tmp_path, spec, source, 30, "bad", log=messages.append)
    assert any("unreadable" in m for m in messages) and again["info"]["resumed_from"] == 0
    assert same_state(full["model"], again["model"])
    # a checkpoint of other settings (β = 8) is not resumed
    run(tmp_path, {**spec, "beta": 8}, source, 30, "foreign", stop_after=20)
    messages = []
    again, _, _ = run(tmp_path, spec, source, 30, "foreign", log=messages.append)
    assert any("other settings" in m for m in messages) and again["info"]["resumed_from"] == 0
    assert same_state(full["model"], again["model"])


def test_data_stream_is_keyed_by_seed_and_step():
    a = DSpritesSource().sample(4, data_rng(0, 5))[0]
    assert torch.equal(a, DSpritesSource().sample(4, data_rng(0, 5))[0])
    assert not torch.equal(a, DSpritesSource().sample(4, data_rng(0, 6))[0])
    assert a.shape == (4, 1, 64, 64) and set(a.unique().tolist()) <= {0.0, 1.0}


def first_last(history: list[dict], key: str) -> tuple[float, float]:
    return history[0][key], history[-1][key]


@pytest.mark.parametrize(
    "spec",
    [
        {"method": "vae", "lr": 1e-3},
        {"method": "annealed_vae", "lr": 1e-3, "c_max": 3, "iteration_threshold": 20},
        {"method": "beta_tcvae", "lr": 1e-3, "beta": 6},
        {"method": "factor_vae", "lr": 1e-3, "gamma": 10, **SMALL_DISC},
        {"method": "ivae", "lr": 1e-3},
    ],
)
def test_short_run_on_vectors_lowers_the_loss(tmp_path, vectors, spec):
    result, _, _ = run(tmp_path, {**spec, "n_latent": 5, "seed": 0}, vectors[1], 200, log_every=20)
    first, last = first_last(result["history"], "loss")
    assert last < 0.7 * first  # measured: vae 10.4 → 6.1, ivae 8.7 → 3.0
    rec0, rec1 = first_last(result["history"], "reconstruction")
    assert rec1 < 0.7 * rec0
    if spec["method"] == "annealed_vae":  # the KL is pulled to the capacity c_max = 3
        assert abs(result["history"][-1]["kl"] - 3.0) < 0.5  # measured 2.9


def test_short_run_on_frames_lowers_the_loss(tmp_path, frames):
    result, out, _ = run(tmp_path, {"method": "beta_vae", "lr": 1e-3, "seed": 0}, frames, 40)
    first, last = first_last(result["history"], "reconstruction")
    assert first > 2000 and last < 0.5 * first  # 4096·log 2 = 2839 at the start; measured ~700
    assert result["format"] == MODEL_FORMAT and out.exists()


def test_infogan_learns_to_recover_its_codes(tmp_path, vectors):
    spec = {"method": "infogan", "seed": 0}
    result, _, _ = run(tmp_path, spec, vectors[1], 200, batch_size=32, log_every=20)
    first, last = first_last(result["history"], "mi_continuous")
    # 5 codes: the bound is at most 5·(log 2 − ½ log 2π) = −1.13 nats; chance level ≈ −2.0
    assert first < -1.7 and last > first + 0.4  # measured −1.88 → −1.21
    assert np.isfinite(first_last(result["history"], "discriminator_loss")).all()


def test_load_and_represent(tmp_path, vectors):
    d, source = vectors
    spec = {"method": "ivae", "n_latent": 5, "seed": 0}
    result, out, _ = run(tmp_path, spec, source, 20)
    model, obj = load_generative(str(out))
    assert obj["spec"] == spec and not model.training
    codes = represent(model, d.x[:50], d.u[:50])
    assert codes.shape == (50, 5) and codes.dtype == np.float64
    chunked = represent(model, torch.from_numpy(d.x[:50]), d.u[:50], batch_size=7)
    np.testing.assert_allclose(chunked, codes, rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        direct = model.encode(torch.from_numpy(d.x[:50]), torch.from_numpy(d.u[:50]))[0]
    np.testing.assert_allclose(codes, direct.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="observations"):
        represent(model, d.x[:5, :3], d.u[:5])
    with pytest.raises(ValueError, match="not a generative model file"):
        atomic_torch_save({"format": "other"}, tmp_path / "x.pt")  # with its SHA-256 sidecar
        load_generative(str(tmp_path / "x.pt"))


def test_factor_representation_renders_then_encodes(tmp_path, frames):
    result, out, _ = run(tmp_path, {"method": "beta_vae", "seed": 0}, frames, 2)
    model, _ = load_generative(str(out))
    factors = sample_factors(9, np.random.default_rng(1))
    codes = factor_representation(model)(factors)
    assert codes.shape == (9, 10)
    want = represent(model, render(factors)[:, None].astype(np.float32))
    np.testing.assert_allclose(codes, want, rtol=1e-6)
