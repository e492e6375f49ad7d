"""The OOD r² baselines equal their closed forms on constructed cases (metrics.baselines)."""

from __future__ import annotations

import math

import pytest
import torch

from disentangle.metrics.baselines import (
    bayes_estimate,
    bayes_rows,
    integrated_features,
    raw_features,
)
from disentangle.metrics.ood import ood_rows
from disentangle.theory.ceilings import bayes_r2_quadrature

RIDGE = {"decoder": "ridge", "n_fits": 1, "ridge": {"penalty": 0.0}}


class LinearEncoder:
    """K linear maps f_k(x) = x A_k (a noiseless linear f): (K, ..., D) → (K, ..., F)."""

    def __init__(self, k: int, dim: int, width: int, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.a = torch.randn((k, dim, width), generator=g)

    def __call__(self, x):
        k, *middle, d = x.shape
        return (x.reshape(k, -1, d) @ self.a).reshape(k, *middle, -1)


def trials(n: int, steps: int, sd: float, seed: int):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((n, 2), generator=g) - 0.5
    return x, sd * torch.randn((n, steps, 2), generator=g)


def ood(rows):
    values = torch.tensor([r["value"] for r in rows if r["metric"] == "ood_r2"])
    return float(values.mean()), float(values.std() / math.sqrt(len(values)))


def test_raw_input_of_a_linear_encoder_is_perfectly_decodable():
    enc = LinearEncoder(k=2, dim=2, width=40)
    x_tr, _ = trials(4000, 1, 0.0, 1)
    x_te, _ = trials(2000, 1, 0.0, 2)
    rows = ood_rows(raw_features(enc, x_tr, 2), x_tr, raw_features(enc, x_te, 2), x_te,
                    [(0, 0), (0, 1)], RIDGE)  # fmt: skip
    assert min(r["value"] for r in rows) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("sd, steps", [(0.2, 20), (0.3, 10)])
def test_integrator_of_a_linear_encoder_matches_its_closed_form(sd, steps):
    # A linear f commutes with the time average, so a linear read-out of the integrated inputs is
    # a linear read-out of the evidence's sample mean x̄ = x* + e, e ~ N(0, s²), s² = σ²/T. The
    # unbiased x̄ has r² = 1 − c with c = 12σ²/T (paper Eq. 7); the least-squares decoder shrinks
    # it towards 0 and reaches, in distribution, 1 − c/(1 + c) = 1/(1 + c).
    c = 12 * sd**2 / steps
    enc = LinearEncoder(k=1, dim=2, width=40)
    x_tr, n_tr = trials(20000, steps, sd, 3)
    x_te, n_te = trials(20000, steps, sd, 4)
    rows = ood_rows(integrated_features(enc, x_tr, n_tr, 1), x_tr,
                    integrated_features(enc, x_te, n_te, 1), x_te, [(0, 0)], RIDGE)  # fmt: skip
    idd = torch.tensor([r["value"] for r in rows if r["metric"] == "id_r2"])
    # every test region is a quadrant of 5000 trials: its r² has a sampling error of ~2c/√5000
    assert float(idd.mean()) == pytest.approx(1 / (1 + c), abs=3 * 2 * c / math.sqrt(5000))
    mean, _ = ood(rows)
    # held out, the decoder extrapolates; at the task's noise (c = 0.024) it stays at the bound
    assert abs(mean - (1 - c)) < (0.003 if c < 0.05 else 0.03)


def test_bayes_observer_beats_the_unbiased_bound_and_matches_quadrature():
    sd, steps = 0.6, 5
    x, noise = trials(40000, steps, sd, 5)
    est = bayes_estimate(x, noise, sd)
    rows = bayes_rows(x, est, seeds=[0])
    r2 = 1.0 - float(((est - x) ** 2).mean()) * 12
    assert r2 == pytest.approx(bayes_r2_quadrature(sd, steps), abs=0.01)
    assert r2 > 1.0 - 12 * sd**2 / steps + 0.02  # the prior helps where the noise is large
    assert {r["metric"] for r in rows} == {"ood_r2", "id_r2"}
    assert {r["n_tasks"] for r in rows} == {0}


def test_nonlinearity_index_known_cases():
    """0 for an affine map, 1 for a map that is orthogonal to every affine function of x, the
    known share for a mixture: f = (x1, x1² − 1/12) on U(−½, ½) has a quadratic part of variance
    1/180 beside x1's 1/12, so 1 − R² = (1/180) / (1/12 + 1/180) = 1/16."""
    from disentangle.metrics.baselines import nonlinearity_index

    g = torch.Generator().manual_seed(0)
    x = torch.rand((200_000, 2), generator=g) - 0.5
    affine = (x @ torch.randn((2, 5), generator=g) + 0.3)[None]
    assert float(nonlinearity_index(affine, x)[0]) < 1e-10
    even = torch.stack([x[:, 0].abs() - 0.25, x[:, 1].abs() - 0.25], dim=1)[None]
    assert abs(float(nonlinearity_index(even, x)[0]) - 1.0) < 0.01
    mixed = torch.stack([x[:, 0], x[:, 0] ** 2 - 1 / 12], dim=1)[None]
    assert abs(float(nonlinearity_index(mixed, x)[0]) - 1 / 16) < 0.002
