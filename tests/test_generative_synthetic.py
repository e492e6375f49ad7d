"""The iVAE synthetic data set, and (slow) iVAE against VAE on it, scored by MCC."""

from __future__ import annotations

import numpy as np
import pytest

from disentangle.generative.sources import ArraySource
from disentangle.generative.synthetic import (
    condition_threshold,
    make_ivae_dataset,
    mix,
    mixing_activation,
    normalised_matrices,
)
from disentangle.generative.train import load_generative, represent, train_generative
from disentangle.metrics.mcc import mcc


@pytest.fixture(scope="module")
def data():
    return make_ivae_dataset(0)  # 5 sources, 40 segments × 1000 points, 3 layers, xtanh


def test_layout(data):
    assert data.x.shape == data.s.shape == (40000, 5)
    assert data.u.shape == (40000, 40) and data.x.dtype == np.float32
    np.testing.assert_array_equal(data.u.sum(axis=1), 1.0)
    np.testing.assert_array_equal(data.u.argmax(axis=1), data.segment)
    np.testing.assert_array_equal(np.bincount(data.segment), np.full(40, 1000))
    assert len(data.mixing) == 3 and all(a.shape == (5, 5) for a in data.mixing)


def test_per_segment_source_statistics(data):
    assert data.stds.shape == (40, 5)
    assert data.stds.min() >= 0.5 and data.stds.max() <= 3.0
    assert data.stds.min() < 0.6 and data.stds.max() > 2.9  # 200 draws of U[0.5, 3]
    std = np.stack([data.s[data.segment == j].std(axis=0) for j in range(40)])
    rel = np.abs(std / data.stds - 1.0)
    # the sample std of 1000 normal points has a relative sd of 1/√2000 = 2.2 %
    assert rel.mean() < 0.03 and rel.max() < 0.1
    mean = np.stack([data.s[data.segment == j].mean(axis=0) for j in range(40)])
    assert np.all(np.abs(mean) < 4.5 * data.stds / np.sqrt(1000))  # zero-mean sources
    # independent within a segment: |corr| of 1000 points stays below ~4/√1000
    corr = np.corrcoef(data.s[data.segment == 3].T)
    assert np.abs(corr[np.triu_indices(5, 1)]).max() < 0.13


def test_mixing_is_well_conditioned(data):
    fresh = np.linalg.cond(normalised_matrices(5, 5, 4000, np.random.default_rng(99)))
    for a, threshold in zip(data.mixing, data.condition_thresholds, strict=True):
        np.testing.assert_allclose(np.linalg.norm(a, axis=0), 1.0, rtol=1e-12)
        assert np.linalg.cond(a) < threshold
        # the threshold is the 25th percentile of such draws
        assert abs((fresh < threshold).mean() - 0.25) < 0.03
    assert condition_threshold(5, 5, np.random.default_rng(1)) == pytest.approx(
        data.condition_thresholds[0], rel=0.1
    )
    np.testing.assert_allclose(data.x, mix(data.s, data.mixing, "xtanh"), rtol=1e-5, atol=1e-5)


def test_linear_mixing_is_invertible():
    d = make_ivae_dataset(1, n_segments=4, points_per_segment=50, n_layers=1)
    (a,) = d.mixing
    np.testing.assert_allclose(d.x, d.s @ a.T, rtol=1e-5, atol=1e-5)
    s_hat = np.linalg.solve(a, d.x.T.astype(np.float64)).T
    np.testing.assert_allclose(s_hat, d.s, atol=1e-4)


def test_activations_and_options():
    h = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(mixing_activation(h, "xtanh"), np.tanh(h) + 0.1 * h)
    np.testing.assert_allclose(mixing_activation(h, "leaky_relu"), np.where(h > 0, h, 0.2 * h))
    wide = make_ivae_dataset(2, n_segments=3, points_per_segment=10, obs_dim=8, noise_std=0.1)
    assert wide.x.shape == (30, 8) and wide.mixing[0].shape == (8, 5)
    assert wide.mixing[1].shape == (8, 8)
    with pytest.raises(ValueError, match="obs_dim"):
        make_ivae_dataset(0, obs_dim=3)
    with pytest.raises(ValueError, match="activation"):
        make_ivae_dataset(0, activation="relu")
    with pytest.raises(ValueError, match="n_segments"):
        make_ivae_dataset(0, n_segments=0)


def test_seeding():
    a = make_ivae_dataset(5, n_segments=5, points_per_segment=20)
    b = make_ivae_dataset(5, n_segments=5, points_per_segment=20)
    c = make_ivae_dataset(6, n_segments=5, points_per_segment=20)
    more = make_ivae_dataset(5, n_segments=5, points_per_segment=40)
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.allclose(a.mixing[0], c.mixing[0])
    for m1, m2 in zip(a.mixing, more.mixing, strict=True):  # f does not depend on the size
        np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(a.stds, more.stds)


IVAE_STEPS = 6000  # ≈ 10 epochs of 40,000 points at batch 64; ~25 s per model on one core
SHARED = {"n_latent": 5, "lr": 1e-3, "decoder_variance": 0.01}


@pytest.mark.slow  # 3 seeds × 2 models × 6000 steps: about 2.5 minutes on one core
def test_ivae_beats_vae_on_linear_mixing(tmp_path):
    """iVAE > VAE ≈ raw x in MCC (posterior means, Pearson), on every seed."""
    scores = {"ivae": [], "vae": [], "raw": []}
    for seed in (0, 1, 2):
        d = make_ivae_dataset(seed, n_layers=1)
        source = ArraySource(d.x, d.u)
        scores["raw"].append(mcc(d.x, d.s)["mcc"])
        for method in ("ivae", "vae"):
            out = tmp_path / f"{method}{seed}.pt"
            spec = {"method": method, "seed": seed, **SHARED}
            train_generative(
                spec, source, str(out), str(out) + ".ckpt", IVAE_STEPS, log=lambda m: None
            )
            model, _ = load_generative(str(out))
            scores[method].append(mcc(represent(model, d.x, d.u), d.s)["mcc"])
    for name, values in scores.items():
        print(f"MCC {name}: {np.mean(values):.3f} ± {np.std(values, ddof=1):.3f} {values}")
    ivae, vae, raw = (np.array(scores[k]) for k in ("ivae", "vae", "raw"))
    assert np.all(ivae > vae + 0.05) and np.all(ivae > raw + 0.05)
    assert ivae.mean() > 0.75  # measured ≈ 0.80 on seeds 0 and 1
