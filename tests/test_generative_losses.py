"""Loss terms of the VAE family and InfoGAN on hand-computable cases."""

from __future__ import annotations

import math

import pytest
import torch

from disentangle.generative import build_model
from disentangle.generative.infogan import mutual_information_bound
from disentangle.generative.losses import (
    annealed_capacity,
    bernoulli_reconstruction,
    gaussian_reconstruction,
    kl_normal,
    kl_standard_normal,
    permute_dims,
    reparameterize,
    total_correlation,
)
from disentangle.generative.vae import AnnealedVAE


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_kl_standard_normal_closed_form():
    # μ = (1, 0), σ² = (1, 2): ½[(1 + 1 − 0 − 1) + (0 + 2 − log 2 − 1)] = 1 − ½ log 2
    mean = torch.tensor([[1.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)]])
    assert float(kl_standard_normal(mean, logvar)[0]) == pytest.approx(1 - 0.5 * math.log(2), 1e-6)
    assert float(kl_standard_normal(torch.zeros(3, 4), torch.zeros(3, 4)).abs().max()) == 0.0
    # against torch.distributions on random values, per example
    g = gen(0)
    mean, logvar = torch.randn(5, 3, generator=g), torch.randn(5, 3, generator=g)
    q = torch.distributions.Normal(mean, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(5, 3), torch.ones(5, 3))
    want = torch.distributions.kl_divergence(q, p).sum(dim=1)
    torch.testing.assert_close(kl_standard_normal(mean, logvar), want)


def test_kl_normal_general_prior():
    g = gen(1)
    m, lv, pm, plv = (torch.randn(6, 4, generator=g) for _ in range(4))
    q = torch.distributions.Normal(m, (0.5 * lv).exp())
    p = torch.distributions.Normal(pm, (0.5 * plv).exp())
    want = torch.distributions.kl_divergence(q, p).sum(dim=1)
    torch.testing.assert_close(kl_normal(m, lv, pm, plv), want)
    zeros = torch.zeros(6, 4)
    torch.testing.assert_close(kl_normal(m, lv, zeros, zeros), kl_standard_normal(m, lv))


def test_bernoulli_reconstruction_hand_values():
    # zero logits: log 2 nats per pixel, summed over 64×64 pixels, whatever the image
    x = (torch.rand(3, 1, 64, 64, generator=gen(2)) > 0.5).float()
    assert float(bernoulli_reconstruction(torch.zeros_like(x), x)) == pytest.approx(
        4096 * math.log(2), rel=1e-6
    )
    # p = sigmoid(log 3) = 3/4: −log ¾ for an on pixel, −log ¼ for an off pixel; batch mean
    logits = torch.full((2, 2), math.log(3.0))
    x = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    want = 0.5 * (2 * -math.log(0.75) + (-math.log(0.75) - math.log(0.25)))
    assert float(bernoulli_reconstruction(logits, x)) == pytest.approx(want, rel=1e-6)


def test_gaussian_reconstruction_is_the_nll():
    g = gen(3)
    x, mean = torch.randn(4, 7, generator=g), torch.randn(4, 7, generator=g)
    var = 0.1
    want = -torch.distributions.Normal(mean, math.sqrt(var)).log_prob(x).sum(dim=1).mean()
    assert float(gaussian_reconstruction(mean, x, var)) == pytest.approx(float(want), rel=1e-5)
    with pytest.raises(ValueError, match="variance"):
        gaussian_reconstruction(mean, x, 0.0)


def test_annealed_capacity_schedule():
    assert annealed_capacity(0, 25.0, 100000) == 0.0
    assert annealed_capacity(50000, 25.0, 100000) == pytest.approx(12.5)
    assert annealed_capacity(100000, 25.0, 100000) == pytest.approx(25.0)
    assert annealed_capacity(300000, 25.0, 100000) == pytest.approx(25.0)
    model = AnnealedVAE((10,), generator=gen(0), gamma=1000.0, c_max=10.0, iteration_threshold=100)
    kl = torch.tensor(7.0)
    reg, logs = model.regularizer(kl, None, None, None, 20, gen(0))
    assert logs["capacity"] == pytest.approx(2.0)
    assert float(reg) == pytest.approx(1000.0 * 5.0)  # γ·|7 − 2|
    reg, _ = model.regularizer(kl, None, None, None, 1000, gen(0))
    assert float(reg) == pytest.approx(1000.0 * 3.0)  # capacity capped at 10


def _codes(correlated: bool, m: int = 1024, d: int = 2, sigma: float = 0.3, seed: int = 4):
    g = gen(seed)
    if correlated:  # every latent = a shared N(0, 1) draw + N(0, 0.1²)
        mean = torch.randn(m, 1, generator=g) + 0.1 * torch.randn(m, d, generator=g)
    else:
        mean = torch.randn(m, d, generator=g)
    logvar = torch.full((m, d), 2 * math.log(sigma))
    return reparameterize(mean, logvar, g), mean, logvar


def test_total_correlation_independent_vs_correlated():
    z, mean, logvar = _codes(correlated=False)
    tc_ind = float(total_correlation(z, mean, logvar, normalise=True))
    z, mean, logvar = _codes(correlated=True)
    tc_cor = float(total_correlation(z, mean, logvar, normalise=True))
    # the aggregate posterior is ≈ N(0, 1·1ᵀ + (0.01 + σ²)·I): TC = ½(Σ log Σ_ii − log det Σ)
    cov = torch.ones(2, 2) + (0.01 + 0.09) * torch.eye(2)
    closed = 0.5 * float(torch.log(torch.diag(cov)).sum() - torch.logdet(cov))
    assert abs(tc_ind) < 0.05  # measured 0.017
    assert tc_cor == pytest.approx(closed, rel=0.1)  # measured 0.855 vs 0.876
    assert tc_cor > 10 * abs(tc_ind)


def test_total_correlation_dlib_drops_log_batch_constants():
    z, mean, logvar = _codes(correlated=True, m=300, d=5)
    dlib = float(total_correlation(z, mean, logvar))
    normalised = float(total_correlation(z, mean, logvar, normalise=True))
    assert normalised - dlib == pytest.approx(4 * math.log(300), rel=1e-5)


def test_beta_tcvae_with_beta_one_is_the_vae_loss():
    x = (torch.rand(8, 12, generator=gen(5)) > 0.5).float()
    vae = build_model({"method": "vae", "seed": 3}, (12,))
    tcvae = build_model({"method": "beta_tcvae", "beta": 1.0, "seed": 3}, (12,))
    strong = build_model({"method": "beta_tcvae", "beta": 5.0, "seed": 3}, (12,))
    with torch.no_grad():
        lv, logs_v = vae.losses(x, None, 0, gen(9))
        lt, logs_t = tcvae.losses(x, None, 0, gen(9))
        ls, logs_s = strong.losses(x, None, 0, gen(9))
    assert float(lt["vae"]) == pytest.approx(float(lv["vae"]), abs=1e-5)
    # and β = 5 adds exactly 4·TC (the same draws, hence the same TC estimate)
    assert logs_s["tc"] == pytest.approx(logs_t["tc"], abs=1e-5)
    assert float(ls["vae"]) - float(lv["vae"]) == pytest.approx(4 * logs_t["tc"], abs=1e-3)


def test_beta_vae_scales_the_kl():
    x = torch.randn(8, 12, generator=gen(6))
    one = build_model({"method": "beta_vae", "beta": 1.0, "seed": 0}, (12,))
    four = build_model({"method": "beta_vae", "beta": 4.0, "seed": 0}, (12,))
    with torch.no_grad():
        l1, logs = one.losses(x, None, 0, gen(1))
        l4, _ = four.losses(x, None, 0, gen(1))
    assert float(l4["vae"]) - float(l1["vae"]) == pytest.approx(3 * logs["kl"], rel=1e-5)


def test_permute_dims_keeps_marginals_and_breaks_dependence():
    g = gen(7)
    shared = torch.randn(2000, 1, generator=g)
    z = torch.cat([shared, shared + 0.1 * torch.randn(2000, 1, generator=g), -shared], dim=1)
    zp = permute_dims(z, gen(8))
    for j in range(3):  # each column holds exactly the same values
        torch.testing.assert_close(zp[:, j].sort().values, z[:, j].sort().values)
    assert not torch.equal(zp[:, 0], z[:, 0])
    corr = torch.corrcoef(zp.T)
    assert torch.corrcoef(z.T)[0, 1] > 0.99
    assert corr[0, 1].abs() < 0.06 and corr[0, 2].abs() < 0.06  # 3σ for 2000 points ≈ 0.067
    # the columns are shuffled independently: not one shared permutation
    assert not torch.equal(torch.argsort(zp[:, 0]), torch.argsort(zp[:, 2]).flip(0))


def test_infogan_information_bound():
    # Q recovers the categorical code exactly: the bound reaches H(c) = log K (0 for log Q)
    c_cat = torch.tensor([[0, 2], [1, 0], [2, 1]])
    logits = [
        100.0 * torch.nn.functional.one_hot(c_cat[:, 0], 3).float(),
        100.0 * torch.nn.functional.one_hot(c_cat[:, 1], 4).float(),
    ]
    c_cont = torch.tensor([[0.5], [-0.5], [0.0]])
    cont, cat = mutual_information_bound(
        c_cont.clone(), torch.zeros(3, 1), logits, c_cont, c_cat, (3, 4)
    )
    assert float(cat) == pytest.approx(math.log(3) + math.log(4), abs=1e-6)
    # unit-variance Gaussian Q centred on c: log N(0; 0, 1) + log 2 per code
    assert float(cont) == pytest.approx(-0.5 * math.log(2 * math.pi) + math.log(2), abs=1e-6)
    # uniform Q: the categorical bound is 0 (no information)
    flat = [torch.zeros(3, 3), torch.zeros(3, 4)]
    _, cat0 = mutual_information_bound(c_cont, torch.zeros(3, 1), flat, c_cont, c_cat, (3, 4))
    assert float(cat0) == pytest.approx(0.0, abs=1e-6)
