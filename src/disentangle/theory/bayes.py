"""Bayes-optimal estimates under the task's uniform prior x* ~ U(−½, ½)^D (docs/replication.md,
"Theory checks").

Given the running mean μ of t samples with noise sd σ, the posterior of x* is a product of normals
N(μ_j, s²), s = σ/√t, truncated to [−½, ½]. Its mean (the Bayes estimate of x*) and variance are the
truncated-normal moments. The Bayes-optimal output of task i is the posterior mass of the half-space
c_iᵀx > b_i; for D = 2 it is computed here by one-dimensional Gauss–Legendre quadrature over one
coordinate with the other integrated in closed form, and returned as log-odds so that nothing rounds
to 0 or 1 (default: order-8 panels no wider than ⅔ of a posterior sd on [−½, ½]; against a 128 × 24
rule the log-odds agree to ~1e-15 relative at σ = 0.2, T = 20 and σ = 0.6, T = 1).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from disentangle.theory.closed_form import (
    as_f64,
    normal_cdf,
    normal_mass,
    normal_pdf,
    posterior_sd,
)

LOW, HIGH = -0.5, 0.5


def truncated_normal_moments(
    mean: torch.Tensor, sd: float | torch.Tensor, low: float = LOW, high: float = HIGH
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of N(mean, sd²) truncated to [low, high], elementwise (closed form via Φ
    and φ, stable in both tails)."""
    m, s = as_f64(mean, "mean"), as_f64(sd, "sd")
    if (s <= 0).any():
        raise ValueError(f"sd = {sd}: expected > 0")
    if not low < high:
        raise ValueError(f"truncation [{low}, {high}]: expected low < high")
    a, b = (low - m) / s, (high - m) / s
    mass = normal_mass(a, b).clamp_min(torch.finfo(torch.float64).tiny)
    pa, pb = normal_pdf(a), normal_pdf(b)
    ratio = (pa - pb) / mass
    mean_out = m + s * ratio
    # a·φ(a) with a = ±inf is 0; the products are finite for finite a, b.
    var = s * s * (1.0 + (a * pa - b * pb) / mass - ratio * ratio)
    return mean_out.clamp(low, high), var.clamp_min(0.0)


def uniform_prior_posterior_mean(
    mu: torch.Tensor, sigma: float, t: float | torch.Tensor
) -> torch.Tensor:
    """Bayes estimate E[x* | μ(t)] under x* ~ U(−½, ½)^D: the truncated-normal mean per
    coordinate (the estimator behind the Bayes values of docs/replication.md, "Theory checks")."""
    return truncated_normal_moments(mu, posterior_sd(sigma, t))[0]


def _gauss_legendre(n_panels: int, order: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes and weights of a composite Gauss–Legendre rule on [LOW, HIGH]."""
    x, w = np.polynomial.legendre.leggauss(order)
    width = (HIGH - LOW) / n_panels
    starts = LOW + width * np.arange(n_panels)
    nodes = (starts[:, None] + (x[None, :] + 1.0) * width / 2.0).ravel()
    weights = np.tile(w * width / 2.0, n_panels)
    return torch.from_numpy(nodes), torch.from_numpy(weights)


def uniform_prior_logits_2d(
    mu: torch.Tensor,
    c: torch.Tensor,
    b: torch.Tensor,
    sigma: float,
    t: float,
    n_panels: int | None = None,
    order: int = 8,
) -> torch.Tensor:
    """Log-odds log P(c_iᵀx* > b_i | μ) − log P(c_iᵀx* < b_i | μ) under x* ~ U(−½, ½)², for μ (M, 2)
    → (M, N): the logits of the Bayes-optimal classifier of the paper's task (check 5).

    Per task the coordinate with the larger |c_ij| is integrated in closed form (a truncated-normal
    tail mass), the other by composite Gauss–Legendre quadrature; both masses are kept separately.
    """
    mu, c, b = as_f64(mu, "mu"), as_f64(c, "C"), as_f64(b, "b")
    if mu.ndim != 2 or mu.shape[1] != 2 or c.ndim != 2 or c.shape[1] != 2:
        raise ValueError(
            f"mu {tuple(mu.shape)} and C {tuple(c.shape)}: expected (M, 2) and (N, 2) (D = 2 only)"
        )
    if b.shape != (c.shape[0],):
        raise ValueError(f"b has shape {tuple(b.shape)}: expected ({c.shape[0]},)")
    s = float(posterior_sd(sigma, t))
    if n_panels is None:  # panels no wider than 2/3 of a posterior sd: ~1e-15 relative accuracy
        n_panels = max(8, math.ceil(1.5 / s))
    if n_panels < 1 or order < 1:
        raise ValueError(f"n_panels = {n_panels}, order = {order}: expected both >= 1")
    tiny = torch.finfo(torch.float64).tiny
    nodes, weights = _gauss_legendre(n_panels, order)  # (Q,)
    inner = c.abs().argmax(dim=1)  # (N,) coordinate integrated in closed form
    outer = 1 - inner
    rows = torch.arange(c.shape[0])
    c_in, c_out = c[rows, inner], c[rows, outer]  # (N,)
    m_in, m_out = mu[:, inner], mu[:, outer]  # (M, N)
    # density of the outer coordinate at the nodes, truncated-normal (M, N, Q)
    z_out = (nodes - m_out[..., None]) / s
    norm_out = normal_mass((LOW - m_out) / s, (HIGH - m_out) / s).clamp_min(tiny)
    dens = normal_pdf(z_out) / (s * norm_out[..., None])
    # threshold on the inner coordinate: c_in·x_in > b − c_out·x_out
    v = (b[:, None] - c_out[:, None] * nodes) / c_in[:, None]  # (N, Q)
    lo_std = ((LOW - m_in) / s)[..., None]  # (M, N, 1)
    hi_std = ((HIGH - m_in) / s)[..., None]
    v_std = ((v - m_in[..., None]) / s).clamp(lo_std, hi_std)  # (M, N, Q)
    # Φ(u) − Φ(l) as Φ(−l) − Φ(−u) when l > 0, so that upper-tail masses keep their precision;
    # only the two node-dependent Φ values are evaluated per node.
    cdf_v, sf_v = normal_cdf(v_std), normal_cdf(-v_std)
    cdf_lo, sf_lo = normal_cdf(lo_std), normal_cdf(-lo_std)
    cdf_hi, sf_hi = normal_cdf(hi_std), normal_cdf(-hi_std)
    norm_in = normal_mass(lo_std, hi_std).clamp_min(tiny)
    above = torch.where(v_std > 0, sf_v - sf_hi, cdf_hi - cdf_v).clamp_min(0.0) / norm_in
    below = torch.where(lo_std > 0, sf_lo - sf_v, cdf_v - cdf_lo).clamp_min(0.0) / norm_in
    positive = (c_in > 0)[:, None]
    p1 = torch.where(positive, above, below)
    p0 = torch.where(positive, below, above)
    mass1 = (dens * p1 * weights).sum(dim=-1).clamp_min(tiny)
    mass0 = (dens * p0 * weights).sum(dim=-1).clamp_min(tiny)
    return torch.log(mass1) - torch.log(mass0)
