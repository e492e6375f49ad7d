"""Checks of the theorem's read-outs (REPLICATION.md 4.3, checks 1 and 5) as tidy tables.

- ``reconstruction_table``: trilateration μ = C⁺(σ/√t·diag(‖c_i‖)·Φ⁻¹(Ŷ) + b) recovers μ from the
  exact optimal outputs at float64 precision when rank C = D, and exactly the projection of μ onto
  C's row space when N < D. Regime ``bounded`` keeps the probit arguments moderate (|z| ≲ 4, where
  Φ⁻¹ of a float64 probability is accurate to ~1e-12); regime ``task`` uses the paper's task
  (x* ~ U(−½, ½)^D, σ = 0.2, b = 0), where outputs saturate to exactly 0 or 1 and μ is only bounded.
- ``linear_decoder_table``: the linear read-out from logits, μ ≈ C⁺[(κσ/√t)·diag(‖c_i‖)·Z + b],
  for the candidate κ and the least-squares best κ (flat prior); and the paper's check 5, a linear
  decoder of μ and x* from the logits of the Bayes-optimal classifier under the uniform prior
  (D = 2, evenly spaced boundaries, σ = 0.2, T = 20), r² = 1 − mse/(1/12).
"""

from __future__ import annotations

import math

import pandas as pd
import torch

from disentangle.prior import VAR_U
from disentangle.seeding import generator
from disentangle.tasks import boundary_normals
from disentangle.theory.bayes import uniform_prior_logits_2d, uniform_prior_posterior_mean
from disentangle.theory.closed_form import (
    F64,
    matrix_rank_and_condition,
    optimal_outputs,
    optimal_probits,
    probit_logits,
    reconstruct_mu,
    row_space_projection,
    trilaterate,
)
from disentangle.theory.sigmoid import KAPPAS

REGIMES = ("bounded", "task")
ROW_KINDS = ("unit", "raw")


def _draw_problem(kind: str, regime: str, dim: int, n: int, n_points: int, g: torch.Generator):
    """One random (C, b, σ, t, μ) for ``reconstruction_table``."""
    c = torch.randn((n, dim), generator=g, dtype=F64)
    if kind == "unit":
        c = c / c.norm(dim=1, keepdim=True)
    else:  # un-normalised rows with norms spread over two decades
        c = c * 10.0 ** (2.0 * torch.rand((n, 1), generator=g, dtype=F64) - 1.0)
    if regime == "bounded":
        sigma = 0.05 + 0.95 * float(torch.rand((), generator=g, dtype=F64))
        t = int(torch.randint(1, 51, (), generator=g))
        s = sigma / math.sqrt(t)
        centre = torch.rand(dim, generator=g, dtype=F64) - 0.5
        mu = centre + 0.8 * s * torch.randn((n_points, dim), generator=g, dtype=F64)
        b = c @ centre + 0.5 * s * c.norm(dim=1) * torch.randn(n, generator=g, dtype=F64)
    else:
        sigma, t = 0.2, int(torch.randint(1, 21, (), generator=g))
        mu = torch.rand((n_points, dim), generator=g, dtype=F64) - 0.5
        b = torch.zeros(n, dtype=F64)
    return c, b, sigma, t, mu


def reconstruction_table(
    seed: int,
    n_draws: int,
    dims: tuple[int, ...] = tuple(range(2, 11)),
    extra_tasks: int = 2,
    n_points: int = 16,
) -> pd.DataFrame:
    """Errors of ``reconstruct_mu(optimal_outputs(μ))`` for N = 1..2D + ``extra_tasks`` random
    boundaries, unit and raw rows, both regimes, ``n_draws`` draws of (C, b, σ, t) with
    ``n_points`` μ each. Metrics: err_mu and err_projection (max abs error vs μ and vs its
    row-space projection), max_abs_z, saturated_fraction, rank, condition."""
    if n_draws < 1 or n_points < 1 or extra_tasks < 0 or any(d < 1 for d in dims):
        raise ValueError(
            f"n_draws = {n_draws}, n_points = {n_points}, extra_tasks = {extra_tasks}, dims = "
            f"{dims}: expected n_draws, n_points >= 1, extra_tasks >= 0, D >= 1"
        )
    rows = []
    for dim in dims:
        for n in range(1, 2 * dim + extra_tasks + 1):
            for kind in ROW_KINDS:
                for regime in REGIMES:
                    g = generator("theory-reconstruction", seed, dim, n, kind, regime)
                    for draw in range(n_draws):
                        c, b, sigma, t, mu = _draw_problem(kind, regime, dim, n, n_points, g)
                        y = optimal_outputs(mu, c, b, sigma, t)
                        est = reconstruct_mu(y, c, b, sigma, t)
                        rank, cond = matrix_rank_and_condition(c)
                        z = optimal_probits(mu, c, b, sigma, t)
                        measured = {
                            "err_mu": float((est - mu).abs().max()),
                            "err_projection": float(
                                (est - row_space_projection(mu, c)).abs().max()
                            ),
                            "max_abs_z": float(z.abs().max()),
                            "saturated_fraction": float(((y == 0) | (y == 1)).to(F64).mean()),
                            "rank": float(rank),
                            "condition": cond,
                        }
                        base = {
                            "regime": regime,
                            "rows": kind,
                            "dim": dim,
                            "n_tasks": n,
                            "draw": draw,
                            "sigma": sigma,
                            "steps": t,
                        }
                        rows += [base | {"metric": k, "value": v} for k, v in measured.items()]
    return pd.DataFrame(rows)


def best_kappa(c: torch.Tensor, b: torch.Tensor, logits: torch.Tensor, scale: float, mu):
    """Least-squares κ of the logit decoder μ ≈ C⁺[κ·scale·diag(‖c_i‖)·Z + b] (closed form, the
    decoder is affine in κ)."""
    slope = trilaterate(c, scale * c.norm(dim=1) * logits)
    offset = trilaterate(c, b.expand_as(logits))
    return float((slope * (mu - offset)).sum() / (slope * slope).sum())


def _errors(est: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    mse = float(((est - target) ** 2).mean())
    return {
        "max_abs_err": float((est - target).abs().max()),
        "rmse": math.sqrt(mse),
        "r2": 1.0 - mse / VAR_U,
    }


def _flat_prior_rows(seed, n, dims, task_factors, sigmas, steps) -> list[dict]:
    rows = []
    for dim in dims:
        for factor in task_factors:
            n_tasks = factor * dim
            for sigma in sigmas:
                for t in steps:
                    g = generator("theory-linear-decoder", seed, dim, n_tasks, str(sigma), t)
                    c = torch.randn((n_tasks, dim), generator=g, dtype=F64)
                    c = c / c.norm(dim=1, keepdim=True)
                    b = torch.zeros(n_tasks, dtype=F64)
                    s = sigma / math.sqrt(t)
                    x = torch.rand((n, dim), generator=g, dtype=F64) - 0.5
                    mu = x + s * torch.randn((n, dim), generator=g, dtype=F64)
                    probits = optimal_probits(mu, c, b, sigma, t)
                    logits = probit_logits(probits)
                    base = {
                        "part": "flat_prior",
                        "prior": "flat",
                        "dim": dim,
                        "n_tasks": n_tasks,
                        "sigma": sigma,
                        "steps": t,
                        "target": "mu",
                    }
                    spread = {
                        "max_abs_probit": float(probits.abs().max()),
                        "max_abs_logit": float(logits.abs().max()),
                    }
                    rows += [
                        base | {"decoder": "none", "kappa": math.nan, "metric": k, "value": v}
                        for k, v in spread.items()
                    ]
                    named = dict(KAPPAS) | {"best": best_kappa(c, b, logits, s, mu)}
                    for name, kappa in named.items():
                        est = trilaterate(c, kappa * s * c.norm(dim=1) * logits + b)
                        rows += [
                            base | {"decoder": name, "kappa": kappa, "metric": k, "value": v}
                            for k, v in _errors(est, mu).items()
                        ]
    return rows


def _fit_affine(features: torch.Tensor, target: torch.Tensor):
    """Least-squares affine map features (n, F) → target (n, D); returns a predictor."""
    ones = torch.ones((features.shape[0], 1), dtype=F64)
    w = torch.linalg.lstsq(torch.cat([features, ones], 1), target, driver="gelsd").solution
    return lambda f: torch.cat([f, torch.ones((f.shape[0], 1), dtype=F64)], 1) @ w


def _uniform_prior_rows(seed, n, n_tasks_list, sigma, t) -> list[dict]:
    rows = []
    s = sigma / math.sqrt(t)
    g = generator("theory-check5", seed)
    x = torch.rand((2, n, 2), generator=g, dtype=F64) - 0.5  # (train/test, n, D)
    mu = x + s * torch.randn((2, n, 2), generator=g, dtype=F64)
    kappa = KAPPAS["1/1.70"]
    posterior = uniform_prior_posterior_mean(mu[1], sigma, t)
    base = {"part": "uniform_prior", "dim": 2, "sigma": sigma, "steps": t}
    for target_name, target in (("x_star", x), ("mu", mu)):
        err = _errors(posterior, target[1])["r2"]
        rows.append(
            base
            | {"prior": "uniform", "n_tasks": 0, "decoder": "posterior_mean", "kappa": math.nan}
            | {"target": target_name, "metric": "r2", "value": err}
        )
    for n_tasks in n_tasks_list:
        c = boundary_normals(n_tasks, 2, "even", 0).to(F64)
        b = torch.zeros(n_tasks, dtype=F64)
        logits = {
            "uniform": torch.stack([uniform_prior_logits_2d(m, c, b, sigma, t) for m in mu]),
            "flat": probit_logits(optimal_probits(mu, c, b, sigma, t)),
        }
        for prior, z in logits.items():
            theory = trilaterate(c, kappa * s * c.norm(dim=1) * z[1] + b)
            for target_name, target in (("x_star", x), ("mu", mu)):
                fitted = _fit_affine(z[0], target[0])(z[1])
                for decoder, k, est in (("lstsq", math.nan, fitted), ("1/1.70", kappa, theory)):
                    rows.append(
                        base
                        | {"prior": prior, "n_tasks": n_tasks, "decoder": decoder, "kappa": k}
                        | {"target": target_name, "metric": "r2"}
                        | {"value": _errors(est, target[1])["r2"]}
                    )
    return rows


def linear_decoder_table(
    seed: int,
    n: int,
    dims: tuple[int, ...] = (2, 5),
    task_factors: tuple[int, ...] = (1, 2, 4),
    sigmas: tuple[float, ...] = (0.1, 0.2, 0.4),
    steps: tuple[int, ...] = (1, 5, 20),
    uniform_tasks: tuple[int, ...] = (2, 3, 6, 12, 24),
    check_sigma: float = 0.2,
    check_steps: int = 20,
) -> pd.DataFrame:
    """Tidy errors of the linear logit decoder. Part ``flat_prior``: per (D, N = factor·D, σ, t)
    and κ (``KAPPAS`` and the least-squares ``best``), max_abs_err, rmse and r² vs μ over ``n``
    trials (random unit rows, b = 0). Part ``uniform_prior`` (check 5, D = 2, even boundaries):
    r² of a fitted affine decoder (``lstsq``, ``n`` training and ``n`` test trials) and of the
    κ = 1/1.70 formula from the uniform-prior Bayes logits and the flat-prior logits, for targets
    x* and μ; the Bayes posterior mean (n_tasks = 0) is the reference ceiling."""
    if n < 2 or any(d < 1 for d in dims) or any(f < 1 for f in task_factors):
        raise ValueError(
            f"n = {n}, dims = {dims}, task_factors = {task_factors}: expected >= 2, 1, 1"
        )
    if any(k < 2 for k in uniform_tasks):
        raise ValueError(f"uniform_tasks = {uniform_tasks}: expected N >= 2 (full rank in D = 2)")
    rows = _flat_prior_rows(seed, n, dims, task_factors, sigmas, steps)
    rows += _uniform_prior_rows(seed, n, uniform_tasks, check_sigma, check_steps)
    return pd.DataFrame(rows)
