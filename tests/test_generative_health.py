"""Health checks of trained generative models (``disentangle.generative.health``): every check
passes a small working model and flags a constructed failure."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from disentangle.generative import build_model
from disentangle.generative.health import (
    GAN_DISCRIMINATOR_LOSS_MIN,
    HEALTH_COLUMNS,
    HealthData,
    health_rows,
    health_table,
    is_healthy,
    sample_health_data,
)
from disentangle.generative.infogan import information_bound_limits
from disentangle.generative.sources import ArraySource
from disentangle.generative.synthetic import make_ivae_dataset
from disentangle.generative.train import load_generative, train_generative

SHARED = {"lr": 1e-3, "decoder_variance": 0.01, "n_latent": 5}

# The issue-28 InfoGAN on dSprites (2000 steps, logged every 100): the discriminator won at once.
COLLAPSED_D = [0.537, 0.0047, 0.0024, 0.0020, 0.0017, 0.0015, 0.0014, 0.0014, 0.0012, 0.0011]
COLLAPSED_D += [0.0010, 0.0010, 0.0010, 0.0010, 0.0009, 0.0009, 0.0009, 0.0008, 0.0008, 0.0008]
COLLAPSED_G = [2.20, 5.55, 6.09, 6.28, 6.43, 6.49, 6.56, 6.56, 6.74, 6.78]
COLLAPSED_G += [6.96, 6.94, 6.95, 6.95, 7.02, 7.07, 7.10, 7.12, 7.15, 7.20]
COLLAPSED_HISTORY = [
    {"step": 100 * (i + 1), "discriminator_loss": d, "generator_loss": g, "mi_continuous": -1.97}
    for i, (d, g) in enumerate(zip(COLLAPSED_D, COLLAPSED_G, strict=True))
]


def checks(rows: list[dict]) -> dict[str, dict]:
    return {r["check"]: r for r in rows}


def train(tmp_path, spec: dict, source, n_steps: int, batch_size: int = 64):
    """Train a small model quietly; return it (eval mode) and its file's dict."""
    out = tmp_path / f"{spec['method']}.pt"
    train_generative(
        spec, source, str(out), str(out) + ".ckpt", n_steps, batch_size=batch_size,
        log=lambda _m: None, threads=1, log_every=20,
    )  # fmt: skip
    return load_generative(str(out))


@pytest.fixture(scope="module")
def ivae_data():
    """The iVAE synthetic set, linear mixing (the quickest identifiable case), 2000 points."""
    data = make_ivae_dataset(0, n_layers=1, n_segments=10, points_per_segment=200)
    source = ArraySource(data.x, data.u)
    sample = HealthData(torch.from_numpy(data.x), torch.from_numpy(data.u), data.s)
    return source, sample


@pytest.fixture(scope="module")
def ring():
    """Vectors from a noisy ring (θ uniform, radius 1 ± 0.1) and an independent Gaussian, mixed
    linearly into 8-D: no rotation makes the ring's two coordinates independent, so q(z) keeps a
    dependence the FactorVAE discriminator can see (correlated Gaussians would not: a VAE simply
    rotates them apart)."""
    rng = np.random.default_rng(0)
    theta = rng.uniform(0.0, 2.0 * math.pi, 2000)
    radius = 1.0 + 0.1 * rng.standard_normal(2000)
    s = np.c_[radius * np.cos(theta), radius * np.sin(theta), rng.standard_normal(2000)]
    x = (s @ rng.standard_normal((3, 8))).astype(np.float32)
    return ArraySource(x), HealthData(torch.from_numpy(x))


def test_vae_checks_pass_a_trained_vae_and_flag_an_encoder_that_outputs_the_prior(
    tmp_path, ivae_data
):
    source, sample = ivae_data
    model, info = train(tmp_path, {"method": "vae", "seed": 0, **SHARED}, source, 300)
    rows = health_rows(model, info, info["history"], sample)
    by = checks(rows)
    assert is_healthy(rows), [r for r in rows if not r["healthy"]]
    assert by["active_latents"]["value"] == 5 and by["active_latents_kl"]["value"] == 5
    assert by["reconstruction_vs_mean_image"]["value"] < 0.1  # measured 0.001
    assert {f"kl_latent[{j}]" for j in range(5)} <= set(by)
    # posterior collapse: the encoder's heads output the prior N(0, I) for every x
    with torch.no_grad():
        for head in (model.encoder.mean, model.encoder.logvar):
            head.weight.zero_()
            head.bias.zero_()
    by = checks(health_rows(model, info, info["history"], sample))
    assert by["active_latents"]["value"] == 0 and not by["active_latents"]["healthy"]
    assert by["active_latents_kl"]["value"] == 0 and not by["active_latents_kl"]["healthy"]
    # decoding one z for every x cannot beat the mean image
    assert by["reconstruction_vs_mean_image"]["value"] >= 1.0
    assert not by["reconstruction_vs_mean_image"]["healthy"]
    assert "collapse" in by["active_latents"]["reason"]
    assert by["kl_latent[0]"]["healthy"]  # informational rows never carry the verdict


def test_annealed_vae_capacity_reached_and_never_reached(tmp_path, ivae_data):
    source, sample = ivae_data
    spec = {"method": "annealed_vae", "seed": 0, "c_max": 5.0, "iteration_threshold": 150}
    model, info = train(tmp_path, {**spec, **SHARED}, source, 300)
    by = checks(health_rows(model, info, info["history"], sample))
    assert by["capacity_schedule"]["value"] == 2.0 and by["capacity_schedule"]["healthy"]
    assert by["capacity_reached"]["healthy"]
    assert by["capacity_reached"]["value"] == pytest.approx(1.0, abs=0.1)  # measured 1.004
    # dlib's schedule (iteration_threshold 1e5) in a 300-step run: C ends near 0
    (tmp_path / "slow").mkdir()
    slow, slow_info = train(
        tmp_path / "slow", {**spec, **SHARED, "iteration_threshold": 100000}, source, 300
    )
    by = checks(health_rows(slow, slow_info, slow_info["history"], sample))
    assert not by["capacity_schedule"]["healthy"] and by["capacity_schedule"]["value"] < 0.01
    assert not by["capacity_reached"]["healthy"] and by["capacity_reached"]["value"] < 0.2
    # a history whose KL stalls below its target
    stalled = [{**r, "kl": 1.0} for r in info["history"]]
    assert not checks(health_rows(model, info, stalled, sample))["capacity_reached"]["healthy"]


def test_factor_vae_discriminator_accuracy(tmp_path, ring):
    source, sample = ring
    spec = {
        "method": "factor_vae", "seed": 0, "n_latent": 3, "lr": 1e-3, "decoder_variance": 0.01,
        "gamma": 10.0, "discriminator_hidden": [64, 64], "discriminator_lr": 1e-3,
    }  # fmt: skip
    model, info = train(tmp_path, spec, source, 300)
    by = checks(health_rows(model, info, info["history"], sample))
    assert by["discriminator_accuracy"]["healthy"], by["discriminator_accuracy"]  # measured 0.60
    # a discriminator that says nothing (equal logits): chance, no TC signal
    with torch.no_grad():
        last = model.discriminator.net.net[-1]
        last.weight.zero_()
        last.bias.zero_()
    row = checks(health_rows(model, info, info["history"], sample))["discriminator_accuracy"]
    assert row["value"] == pytest.approx(0.5) and not row["healthy"]
    assert "chance" in row["reason"]


def test_ivae_mcc_passes_a_trained_ivae_and_flags_an_untrained_one(tmp_path, ivae_data):
    source, sample = ivae_data
    spec = {"method": "ivae", "seed": 0, "n_latent": 5, "lr": 1e-3}
    model, info = train(tmp_path, spec, source, 1000)
    by = checks(health_rows(model, info, info["history"], sample))
    assert by["mcc"]["healthy"], by["mcc"]  # measured 0.81 at 800 steps
    fresh = build_model(spec, (5,), n_aux=10).eval()
    by = checks(health_rows(fresh, {"method": "ivae", "info": {"n_steps": 1}}, [], sample))
    assert not by["mcc"]["healthy"] and by["mcc"]["value"] < 0.6  # measured 0.38
    with pytest.raises(ValueError, match="truth"):
        health_rows(model, info, info["history"], HealthData(sample.x, sample.u))


def test_infogan_checks_pass_a_working_gan_and_flag_a_collapsed_one(tmp_path, ivae_data):
    source, sample = ivae_data
    model, info = train(tmp_path, {"method": "infogan", "seed": 0}, source, 300)
    rows = health_rows(model, info, info["history"], sample)
    by = checks(rows)
    assert is_healthy(rows), [r for r in rows if not r["healthy"]]
    assert by["mi_continuous_fraction"]["value"] > 0.5  # measured 0.97 at 400 steps
    assert by["traversal_codes_moving"]["value"] == 5
    # the issue-28 history: the discriminator won, the generator diverged, the codes are noise
    collapsed = info | {"info": {**info["info"], "n_steps": 2000}}
    by = checks(health_rows(model, collapsed, COLLAPSED_HISTORY, sample))
    assert not by["discriminator_loss_tail"]["healthy"]
    assert by["discriminator_loss_tail"]["value"] < GAN_DISCRIMINATOR_LOSS_MIN
    assert not by["generator_loss_tail"]["healthy"] and by["generator_loss_tail"]["value"] > 7
    assert not by["mi_continuous_fraction"]["healthy"]
    assert abs(by["mi_continuous_fraction"]["value"]) < 0.02  # −1.97 is chance for 5 codes
    # a generator that ignores its codes: zero the code columns of its first layer
    with torch.no_grad():
        first = model.synthesis.net[0]
        first.weight[:, model.n_noise : model.n_noise + model.n_continuous] = 0.0
    by = checks(health_rows(model, info, info["history"], sample))
    assert by["traversal_codes_moving"]["value"] == 0
    assert not by["traversal_codes_moving"]["healthy"]


def test_information_bound_limits_match_the_bound():
    limits = information_bound_limits(5, (3, 4))
    per_code = math.log(2) - 0.5 * math.log(2 * math.pi)
    assert limits["continuous_max"] == pytest.approx(5 * per_code)
    assert limits["continuous_chance"] == pytest.approx(-1.9623, abs=1e-4)  # the issue: −1.97
    assert limits["categorical_max"] == pytest.approx(math.log(12))
    assert information_bound_limits(2, (), q_fixed_std=False)["continuous_max"] == math.inf


def test_dispatch_table_and_errors(ivae_data):
    _, sample = ivae_data
    model = build_model({"method": "beta_vae", "seed": 0, **SHARED}, (5,)).eval()
    rows = health_rows(model, {"method": "beta_vae", "spec": {"seed": 3}}, [{"step": 7}], sample)
    table = health_table(rows)
    assert tuple(table.columns) == HEALTH_COLUMNS
    assert set(table["model"]) == {"beta_vae-s3"}
    assert table["healthy"].dtype == bool
    with pytest.raises(ValueError, match="method"):
        health_rows(model, {"method": "pca"}, [{"step": 1}], sample)
    with pytest.raises(ValueError, match="steps"):
        health_rows(model, {"method": "beta_vae"}, [], sample)
    drawn = sample_health_data(ArraySource(sample.x.numpy()), n=50, seed=1)
    assert drawn.x.shape == (50, 5) and drawn.u is None
