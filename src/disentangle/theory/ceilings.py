"""Information ceilings of the decoding r² against evidence time and noise (paper Eq. 7, Fig. 5a/c;
docs/replication.md, "Theory checks": r² against time and noise).

r² = 1 − mse/(1/12) for estimates of x* ~ U(−½, ½)^D from n noisy samples (noise sd σ):
- ``mle``: the running mean (unbiased, mse σ²/n): analytic ceiling 1 − 12σ²/n
  (``disentangle.metrics.ood.information_ceiling``) and a Monte Carlo of the running-mean observer;
- ``bayes``: the posterior mean under the uniform prior (a truncated-normal mean per coordinate), by
  Monte Carlo and by exact one-dimensional quadrature of E[Var(x* | μ)].
Fixed RT uses n = T samples; free RT n = T + 1 (the decision step still delivers a sample, as in
the authors' Fig5a.py), which is how their free-RT theory line 1 − 0.48/(T + 1) is to be read
(docs/replication.md, "Deviations from the authors' code": free-reaction-time evaluation offset).
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from disentangle.prior import VAR_U, information_ceiling
from disentangle.seeding import generator
from disentangle.theory.bayes import HIGH, LOW, truncated_normal_moments
from disentangle.theory.closed_form import F64, normal_mass

TIMINGS = {"fixed": 0, "free": 1}  # extra samples beyond the T stimulus steps


def bayes_r2_quadrature(sigma: float, n_samples: int, n_grid: int = 20001) -> float:
    """Exact r² of the uniform-prior posterior mean: 1 − 12·∫ p(μ)·Var(x* | μ) dμ with
    p(μ) = Φ((½ − μ)/s) − Φ((−½ − μ)/s), s = σ/√n (trapezoid rule on [−½ − 10s, ½ + 10s])."""
    if sigma <= 0 or n_samples < 1:
        raise ValueError(f"sigma = {sigma}, n_samples = {n_samples}: expected > 0 and >= 1")
    s = sigma / math.sqrt(n_samples)
    mu = torch.linspace(LOW - 10 * s, HIGH + 10 * s, n_grid, dtype=F64)
    density = normal_mass((LOW - mu) / s, (HIGH - mu) / s)
    _, var = truncated_normal_moments(mu, s)
    return 1.0 - float(torch.trapezoid(density * var, mu)) / VAR_U


def _mc_r2(sq_err: torch.Tensor) -> tuple[float, float]:
    """r² and its standard error from per-coordinate squared errors."""
    n = sq_err.numel()
    return 1.0 - float(sq_err.mean()) / VAR_U, float(sq_err.std()) / math.sqrt(n) / VAR_U


def r2_time_table(
    seed: int,
    n_trials: int,
    sigmas: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.6),
    steps: tuple[int, ...] = (1, 2, 5, 10, 20, 21, 40),
    dim: int = 2,
) -> pd.DataFrame:
    """Tidy r² ceilings for every (σ, T, timing): estimator mle (analytic, monte_carlo) and bayes
    (monte_carlo, quadrature); metric r2, plus r2_se for Monte Carlo rows. ``n_trials`` trials of
    ``dim`` coordinates each; one noise sequence per σ serves all T (running means)."""
    if n_trials < 2 or dim < 1:
        raise ValueError(f"n_trials = {n_trials}, dim = {dim}: expected >= 2 and >= 1")
    if any(s <= 0 for s in sigmas) or any(t < 1 for t in steps):
        raise ValueError(f"sigmas = {sigmas}, steps = {steps}: expected σ > 0 and T >= 1")
    rows = []
    max_n = max(steps) + max(TIMINGS.values())
    for sigma in sigmas:
        g = generator("theory-r2-time", seed, str(sigma))
        x = torch.rand((n_trials, dim), generator=g, dtype=F64) - 0.5
        noise = sigma * torch.randn((max_n, n_trials, dim), generator=g, dtype=F64)
        running = x + noise.cumsum(dim=0) / torch.arange(1, max_n + 1, dtype=F64)[:, None, None]
        for t in steps:
            for timing, extra in TIMINGS.items():
                n = t + extra
                mu = running[n - 1]
                posterior, _ = truncated_normal_moments(mu, sigma / math.sqrt(n))
                mle_r2, mle_se = _mc_r2((mu - x) ** 2)
                bayes_r2, bayes_se = _mc_r2((posterior - x) ** 2)
                measured = [
                    ("mle", "analytic", "r2", information_ceiling(sigma, n)),
                    ("mle", "monte_carlo", "r2", mle_r2),
                    ("mle", "monte_carlo", "r2_se", mle_se),
                    ("bayes", "quadrature", "r2", bayes_r2_quadrature(sigma, n)),
                    ("bayes", "monte_carlo", "r2", bayes_r2),
                    ("bayes", "monte_carlo", "r2_se", bayes_se),
                ]
                base = {"sigma": sigma, "steps": t, "timing": timing, "n_samples": n}
                rows += [
                    base | {"estimator": e, "method": m, "metric": k, "value": v}
                    for e, m, k, v in measured
                ]
    return pd.DataFrame(rows)
