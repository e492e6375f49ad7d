"""The task data a generative model trains on: f(x*) standardised with the training split's
statistics (``disentangle.comparison.standardise``, ``jobs.generative.task_data``), why (a VAE on
the raw, low-variance f(x*) collapses, standardised it does not) and the config key that picks
it."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from disentangle.comparison import standardise
from disentangle.config import ConfigError, expand_generative
from disentangle.generative.health import HealthData, health_rows
from disentangle.generative.sources import ArraySource
from disentangle.generative.train import load_generative, train_generative
from disentangle.jobs.generative import model_columns, model_observations


def test_standardise_uses_the_reference_statistics_and_centres_a_constant_unit():
    rng = np.random.default_rng(0)
    reference = rng.normal([1.0, -2.0, 0.5], [0.01, 3.0, 0.0], size=(5000, 3))
    z = standardise(reference, reference)
    assert z.dtype == np.float32
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(0), [1, 1, 0], atol=1e-5)
    # another sample is mapped with the reference's mean and sd, not its own
    other = np.array([[1.01, 1.0, 0.7]])
    mean, sd = reference.mean(0), reference.std(0)
    want = [(1.01 - mean[0]) / sd[0], (1.0 - mean[1]) / sd[1], 0.7 - mean[2]]
    np.testing.assert_allclose(standardise(other, reference)[0], want, rtol=1e-5)


def low_variance_observations(n=2000, seed=0):
    """40 units that are a smooth function of 2 latents with the task data's scale: total
    variance about 0.04, i.e. ~0.001 per unit (the default encoder's f(x*))."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-0.5, 0.5, size=(n, 2))
    w = rng.normal(size=(2, 40))
    obs = 0.03 * np.tanh(x @ w) + 0.2
    return obs.astype(np.float32), x


def trained_health(tmp_path, obs, name):
    spec = {"method": "beta_vae", "seed": 0, "beta": 1.0, "lr": 1e-3, "n_latent": 2}
    out = tmp_path / f"{name}.pt"
    train_generative(
        spec, ArraySource(obs), str(out), str(out) + ".ckpt", 1500, batch_size=64,
        log=lambda _m: None, threads=1, log_every=100,
    )  # fmt: skip
    model, obj = load_generative(str(out))
    data = HealthData(torch.from_numpy(obs[:1000]), None, None)
    return {r["check"]: r for r in health_rows(model, obj, obj["history"], data, name=name)}


def test_a_vae_collapses_on_raw_low_variance_data_and_trains_on_standardised_data(tmp_path):
    obs, _ = low_variance_observations()
    raw = trained_health(tmp_path, obs, "raw")
    fixed = trained_health(tmp_path, standardise(obs, obs), "standardised")
    # raw: the fixed decoder variance (0.1) dwarfs the data's; no latent is worth its KL
    assert raw["active_latents"]["value"] == 0
    assert raw["reconstruction_vs_mean_image"]["value"] > 0.95
    # standardised: both latents carry the data and the reconstruction beats the mean
    assert fixed["active_latents"]["value"] >= 1
    assert fixed["reconstruction_vs_mean_image"]["value"] < 0.5


GENERATIVE = {
    "generative": {
        "models": {
            "tv": {"method": "beta_vae", "dataset": "task", "steps": 10, "seeds": [0]},
            "tr": {
                "method": "beta_vae",
                "dataset": "task",
                "observations": "raw",
                "steps": 10,
                "seeds": [0],
            },  # fmt: skip
            "dv": {"method": "beta_vae", "dataset": "dsprites", "steps": 10, "seeds": [0]},
        }
    }
}


def test_task_models_default_to_standardised_and_dsprites_models_carry_no_key():
    models, _ = expand_generative(GENERATIVE)
    assert models["tv-s0"]["observations"] == "standardised"
    assert models["tr-s0"]["observations"] == "raw"
    assert "observations" not in models["dv-s0"]  # a dSprites model's spec is unchanged
    assert model_columns(models["tv-s0"], 0)["observations"] == "standardised"
    assert model_columns(models["dv-s0"], 0)["observations"] == "frames"
    # a resolved spec written before the key existed was trained on raw f(x*)
    old = {k: v for k, v in models["tv-s0"].items() if k != "observations"}
    assert model_observations(old) == "raw"


def test_observations_on_a_dsprites_model_is_rejected_naming_the_key():
    config = copy.deepcopy(GENERATIVE)
    config["generative"]["models"]["dv"]["observations"] = "raw"
    with pytest.raises(ConfigError, match=r"generative\.models\.dv\.observations"):
        expand_generative(config)


def test_history_rows_are_tidy_and_skip_non_numbers():
    from disentangle.jobs.generative import history_rows

    history = [
        {"step": 100, "discriminator_loss": 0.5, "mi_continuous": -1.9, "phase": "warm"},
        {"step": 200, "discriminator_loss": 0.7, "mi_continuous": -1.2, "nan_guard": True},
    ]
    rows = history_rows(history)
    assert rows == [
        {"step": 100, "quantity": "discriminator_loss", "value": 0.5},
        {"step": 100, "quantity": "mi_continuous", "value": -1.9},
        {"step": 200, "quantity": "discriminator_loss", "value": 0.7},
        {"step": 200, "quantity": "mi_continuous", "value": -1.2},
    ]
